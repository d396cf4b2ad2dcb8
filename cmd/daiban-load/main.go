// Command daiban-load drives a running daiban server over HTTP with N
// concurrent clients and reports throughput, latency percentiles and
// errors, beside baselines measured in the same run: the disk's raw
// durable SQLite commit rate and an Echo handler that answers fixed JSON.
//
//	daiban-load [run] --url http://127.0.0.1:8080 --clients 32 --duration 20s \
//	    --scenario register,lookup,lifecycle,stats,mixed [--baseline-db /tmp/base.db] [--pid PID]
//	daiban-load baseline --db /path/on/the/server's/disk/base.db [--clients 32]
//
// The public lookup scenario needs the server's per-client rate limit
// raised, as every worker comes from one address: serve with
// --public-rate 1000000. The scenarios expect the demo accounts
// (daiban serve --demo): agents ag001.., password demo1234, the supervisor.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	url         string
	clients     int
	duration    time.Duration
	warmup      time.Duration
	scenarios   []string
	baselineDB  string
	pid         int
	json        bool
	out         string
	pool        int
	password    string
	supervisor  string
	agents      int
	cities      int
	seed        uint64
	idempotency bool
	label       string
	pprofURL    string
	profileDir  string
	fixedInProc bool
	rounds      int
	webhooks    string // the admin's password: receive every step as a webhook while measuring
}

var allScenarios = []string{"register", "lookup", "lifecycle", "stats", "mixed"}

// Report is everything one run measured.
type Report struct {
	Started   time.Time `json:"started"`
	Label     string    `json:"label,omitempty"`
	URL       string    `json:"url,omitempty"`
	Clients   int       `json:"clients"`
	Duration  string    `json:"duration"`
	Warmup    string    `json:"warmup"`
	Baselines []Result  `json:"baselines,omitempty"`
	Results   []Result  `json:"results,omitempty"`
	Rounds    []Round   `json:"rounds,omitempty"`
	Ratios    []Ratio   `json:"ratios,omitempty"`
	Webhooks  *Webhooks `json:"webhooks,omitempty"`
}

// Ratio is one target of issue 6, computed from this run's figures; over
// rounds, the median round's value with the lowest and highest.
type Ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Target string  `json:"target"`
	Met    bool    `json:"met"`
	Min    float64 `json:"min,omitempty"`
	Max    float64 `json:"max,omitempty"`
	Rounds int     `json:"rounds,omitempty"`
}

func run(args []string, stdout, stderr io.Writer) int {
	mode := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	if mode == "fixed-json-server" {
		return runFixedServer(stdout)
	}
	if mode != "run" && mode != "baseline" {
		fmt.Fprintf(stderr, "unknown mode %q: use run (the default) or baseline\n", mode)
		return 2
	}
	fs := flag.NewFlagSet("daiban-load "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var scenario string
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the server under load")
	fs.IntVar(&o.clients, "clients", 32, "concurrent clients (each loops: request, wait for the answer, repeat)")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "measured time per scenario")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured time before each scenario's measurement")
	fs.StringVar(&scenario, "scenario", "register", "comma-separated: register, lookup, lifecycle, stats, mixed, or all")
	fs.StringVar(&o.baselineDB, "baseline-db", "", "also measure the baselines first, with this SQLite file (on the server's disk; it is deleted)")
	if mode == "baseline" {
		fs.StringVar(&o.baselineDB, "db", "", "SQLite file for the commit baseline, on the disk under test (it is deleted)")
	}
	fs.IntVar(&o.pid, "pid", 0, "the server's process id, to sample its memory (VmRSS, VmHWM)")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&o.out, "out", "", "also write the JSON report to this file")
	fs.IntVar(&o.pool, "pool", 2000, "receipts registered before the lookup scenario to look up")
	fs.StringVar(&o.password, "password", "demo1234", "password of the demo accounts")
	fs.StringVar(&o.supervisor, "supervisor", "supervisor", "the supervisor's username")
	fs.IntVar(&o.agents, "agents", 598, "agents ag001..agNNN to spread the clients over")
	fs.IntVar(&o.cities, "cities", 1, "spread the clients over this many cities of a province's demo (daiban demo --demo-cities), whose accounts after the first city's are prefixed c02, c03 …")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated applicants")
	fs.BoolVar(&o.idempotency, "idempotency", true, "send an Idempotency-Key with every registration, as a real client should")
	fs.StringVar(&o.webhooks, "webhooks", "", "the admin's password: register a receiver here for every step as a webhook and report the deliveries' latency (the server needs --webhook-loopback-http)")
	fs.StringVar(&o.label, "label", "", "a name for this run (e.g. sqlite or postgres), shown in the report")
	fs.StringVar(&o.pprofURL, "pprof-url", "", "the server's pprof listener (daiban serve --pprof); with --profile-dir, a CPU profile is taken during each scenario")
	fs.StringVar(&o.profileDir, "profile-dir", "", "where to write SCENARIO.pprof")
	fs.BoolVar(&o.fixedInProc, "fixed-in-process", false, "serve the fixed-JSON baseline from this process instead of a child process")
	if mode == "run" {
		fs.IntVar(&o.rounds, "rounds", 0, "measure register and lookup in this many rounds, each beside its baseline (needs --baseline-db); the targets take the median round")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if mode == "baseline" {
		if o.baselineDB == "" {
			fmt.Fprintln(stderr, "baseline needs --db PATH on the disk to measure")
			return 2
		}
	} else {
		for _, s := range strings.Split(scenario, ",") {
			s = strings.TrimSpace(s)
			switch {
			case s == "all":
				o.scenarios = append(o.scenarios, allScenarios...)
			case slices.Contains(allScenarios, s):
				o.scenarios = append(o.scenarios, s)
			default:
				fmt.Fprintf(stderr, "unknown scenario %q; use %s or all\n", s, strings.Join(allScenarios, ", "))
				return 2
			}
		}
	}
	if o.clients < 1 || o.duration <= 0 || o.warmup < 0 || o.agents < 1 || o.cities < 1 {
		fmt.Fprintln(stderr, "--clients, --agents and --cities must be positive, --duration too, --warmup not negative")
		return 2
	}
	if (o.pprofURL == "") != (o.profileDir == "") {
		fmt.Fprintln(stderr, "--pprof-url and --profile-dir go together")
		return 2
	}
	if o.rounds < 0 || o.rounds > 0 && (o.baselineDB == "" || len(rounded(o.scenarios)) == 0) {
		fmt.Fprintln(stderr, "--rounds needs --baseline-db and the register or lookup scenario")
		return 2
	}
	o.url = strings.TrimRight(o.url, "/")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := measure(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "daiban-load:", err)
		if len(rep.Baselines)+len(rep.Results) == 0 {
			return 1
		}
		fmt.Fprintln(stderr, "daiban-load: what was measured before that:")
		printReport(stderr, rep)
		return 1
	}
	if o.out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, "daiban-load:", err)
			return 1
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printReport(stdout, rep)
	}
	return 0
}

func measure(ctx context.Context, o options, log io.Writer) (Report, error) {
	rep := Report{Started: time.Now().UTC(), Label: o.label, Clients: o.clients, Duration: o.duration.String(), Warmup: o.warmup.String()}
	if o.baselineDB != "" && o.rounds == 0 {
		fmt.Fprintf(log, "baseline: durable single-row SQLite commits on %s for %s\n", o.baselineDB, o.duration)
		r, err := sqliteCommits(ctx, o.baselineDB, o.warmup, o.duration)
		if err != nil {
			return rep, err
		}
		rep.Baselines = append(rep.Baselines, r)
		fmt.Fprintf(log, "baseline: fixed JSON from an Echo handler, %d clients for %s\n", o.clients, o.duration)
		if r, err = fixedJSON(ctx, o.clients, o.warmup, o.duration, o.fixedInProc); err != nil {
			return rep, err
		}
		rep.Baselines = append(rep.Baselines, r)
	}
	if o.pid != 0 {
		if _, err := readStatus(o.pid); err != nil {
			return rep, fmt.Errorf("--pid %d: %w", o.pid, err)
		}
	}
	if len(o.scenarios) > 0 {
		rep.URL = o.url
		a := &api{base: o.url, http: newHTTPClient(o.clients)}
		fmt.Fprintf(log, "setup: signing in %d clients at %s\n", o.clients, o.url)
		w, err := setup(ctx, a, o)
		if err != nil {
			return rep, fmt.Errorf("setup: %w", err)
		}
		if slices.Contains(o.scenarios, "lookup") || slices.Contains(o.scenarios, "mixed") {
			fmt.Fprintf(log, "setup: registering %d errands to look up\n", o.pool)
			if err := w.fillPool(ctx, o.pool); err != nil {
				return rep, fmt.Errorf("setup: %w", err)
			}
		}
		var recv *receiver
		if o.webhooks != "" {
			if recv, err = startReceiver(); err != nil {
				return rep, err
			}
			if err := recv.subscribe(ctx, a, o.webhooks); err != nil {
				return rep, fmt.Errorf("setup: webhooks: %w", err)
			}
		}
		rest := o.scenarios
		if o.rounds > 0 {
			if rep.Rounds, err = roundsOf(ctx, o, w, log); err != nil {
				return rep, err
			}
			rest = slices.DeleteFunc(slices.Clone(rest), func(s string) bool { return slices.Contains(rounded(o.scenarios), s) })
		}
		for _, s := range rest {
			r, err := scenario(ctx, o, w, s, log)
			if err != nil {
				return rep, err
			}
			rep.Results = append(rep.Results, r)
			if err := ctx.Err(); err != nil {
				return rep, err
			}
		}
		if recv != nil {
			fmt.Fprintln(log, "webhooks: waiting for the outbox to drain")
			h := recv.settle(3*time.Second, 2*time.Minute)
			rep.Webhooks = &h
		}
	}
	if o.rounds > 0 {
		rep.Ratios = roundRatios(rep.Rounds)
	} else {
		rep.Ratios = ratios(rep)
	}
	return rep, nil
}

// scenario measures one scenario against the server, sampling its memory
// and CPU, and profiling it when asked.
func scenario(ctx context.Context, o options, w *world, s string, log io.Writer) (Result, error) {
	fmt.Fprintf(log, "scenario %s: %d clients, %s warm-up, %s measured\n", s, o.clients, o.warmup, o.duration)
	prof := startProfile(ctx, o, s)
	mon := startSampler(o.pid, o.warmup)
	r, err := drive(ctx, s, o.clients, o.warmup, o.duration, w.workloadFor(s))
	merr := mon.done(&r)
	if perr := prof(); perr != nil {
		fmt.Fprintln(log, "warning: profile:", perr)
	}
	if err != nil {
		return r, err
	}
	if merr != nil {
		return r, fmt.Errorf("server process %d: %w", o.pid, merr)
	}
	if r.Total.Requests > 0 && r.Total.Errors == r.Total.Requests {
		return r, fmt.Errorf("scenario %s: every request failed, e.g. %v", s, r.ErrorsSeen[0].Error)
	}
	r.Target = o.url
	if s == "lifecycle" || s == "mixed" {
		r.UnitName = "lifecycles"
	}
	return r, nil
}

// roundsOf measures the paired scenarios in rounds (see measureRounds),
// with one fixed-JSON server for all of them.
func roundsOf(ctx context.Context, o options, w *world, log io.Writer) ([]Round, error) {
	var fixed *fixedServer
	if slices.Contains(o.scenarios, "lookup") {
		var err error
		if fixed, err = startFixed(ctx, o.fixedInProc); err != nil {
			return nil, err
		}
		defer fixed.stop()
	}
	return measureRounds(ctx, o.rounds, o.scenarios, func(ctx context.Context, name string) (Result, error) {
		switch name {
		case "sqlite-commit":
			return sqliteCommits(ctx, o.baselineDB, o.warmup, o.duration)
		case "fixed-json":
			return fixed.measure(ctx, o.clients, o.warmup, o.duration)
		}
		return scenario(ctx, o, w, name, log)
	}, log)
}

// startProfile fetches a CPU profile of the measured part of a scenario
// from the server's pprof listener; the returned func waits for it.
func startProfile(ctx context.Context, o options, scenario string) func() error {
	if o.pprofURL == "" {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() {
		select {
		case <-time.After(o.warmup):
		case <-ctx.Done():
			done <- ctx.Err()
			return
		}
		secs := max(1, int(o.duration.Seconds()))
		u := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimRight(o.pprofURL, "/"), secs)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			done <- fmt.Errorf("%s: %s", u, resp.Status)
			return
		}
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			done <- err
			return
		}
		name := scenario
		if o.label != "" {
			name = o.label + "-" + scenario
		}
		f, err := os.Create(filepath.Join(o.profileDir, name+".pprof"))
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		done <- errors.Join(err, f.Close())
	}()
	return func() error { return <-done }
}

func find(rs []Result, name string) *Result {
	for i := range rs {
		if rs[i].Scenario == name {
			return &rs[i]
		}
	}
	return nil
}

// ratios are the targets of issue 6 that this run's figures can decide.
func ratios(rep Report) []Ratio {
	var out []Ratio
	commit, fixed := find(rep.Baselines, "sqlite-commit"), find(rep.Baselines, "fixed-json")
	reg, look := find(rep.Results, "register"), find(rep.Results, "lookup")
	add := func(name string, v float64) {
		out = append(out, Ratio{Name: name, Value: v, Target: targets[name].text, Met: meets(name, v)})
	}
	if reg != nil && commit != nil && commit.Total.PerSec > 0 {
		add(registerTarget, reg.Total.PerSec/commit.Total.PerSec)
	}
	if reg != nil {
		add(p99Target, reg.Total.P99Ms)
	}
	if look != nil && fixed != nil && fixed.Total.PerSec > 0 {
		add(lookupTarget, look.Total.PerSec/fixed.Total.PerSec)
	}
	var peak float64
	for _, r := range rep.Results {
		peak = max(peak, r.RSSPeakMB)
	}
	if peak > 0 {
		add(rssTarget, peak)
	}
	return out
}

// The floors of the plain-store issue (16).
const (
	registerTarget = "register req/s ÷ raw SQLite commits/s"
	p99Target      = "register p99 (ms)"
	lookupTarget   = "lookup req/s ÷ fixed-JSON req/s"
	rssTarget      = "server peak RSS (MB)"
)

var targets = map[string]struct {
	text   string
	atMost bool
	bound  float64
}{
	registerTarget: {"≥ 0.80", false, 0.8},
	p99Target:      {"≤ 25", true, 25},
	lookupTarget:   {"≥ 0.25", false, 0.25},
	rssTarget:      {"≤ 150", true, 150},
}

// meets reports whether v meets the named target.
func meets(name string, v float64) bool {
	t := targets[name]
	if t.atMost {
		return v <= t.bound
	}
	return v >= t.bound
}
