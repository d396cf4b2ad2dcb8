package main

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sync"
	"time"
)

// sample is one timed request (or one commit, in the SQLite baseline).
type sample struct {
	start time.Duration // since the run began
	dur   time.Duration
	op    string
	ok    bool
}

// recorder collects one worker's samples; workers never share one, so the
// hot path takes no lock.
type recorder struct {
	origin  time.Time
	samples []sample
	errs    *errorLog
}

// time runs f and records it under op; f reports success and, on failure,
// a short description for the error sample.
func (r *recorder) time(op string, f func() (ok bool, detail string)) bool {
	t0 := time.Now()
	ok, detail := f()
	r.samples = append(r.samples, sample{start: t0.Sub(r.origin), dur: time.Since(t0), op: op, ok: ok})
	if !ok {
		r.errs.add(op, detail)
	}
	return ok
}

// errorLog keeps a count per distinct error and the first few of them.
type errorLog struct {
	mu     sync.Mutex
	counts map[string]int
	order  []string
}

const maxErrorKinds = 12

// requestID matches the per-request id in problem bodies, which would make
// every error distinct.
var requestID = regexp.MustCompile(`"request_id":"[^"]*"`)

func (l *errorLog) add(op, detail string) {
	detail = requestID.ReplaceAllString(detail, `"request_id":"…"`)
	if len(detail) > 300 {
		detail = detail[:300] + "…"
	}
	key := op + ": " + detail
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[string]int{}
	}
	if _, seen := l.counts[key]; !seen {
		if len(l.order) >= maxErrorKinds {
			key = op + ": (other errors)"
		}
		if _, seen := l.counts[key]; !seen {
			l.order = append(l.order, key)
		}
	}
	l.counts[key]++
}

func (l *errorLog) samples() []ErrorSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]ErrorSample, 0, len(l.order))
	for _, k := range l.order {
		out = append(out, ErrorSample{Error: k, Count: l.counts[k]})
	}
	return out
}

// ErrorSample is one distinct error and how often it came.
type ErrorSample struct {
	Error string `json:"error"`
	Count int    `json:"count"`
}

// Stat summarises the samples of one operation (or of all of them).
type Stat struct {
	Op       string  `json:"op"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	PerSec   float64 `json:"per_sec"`
	MeanMs   float64 `json:"mean_ms"`
	P50Ms    float64 `json:"p50_ms"`
	P95Ms    float64 `json:"p95_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
}

// Result is one measured scenario.
type Result struct {
	Scenario   string        `json:"scenario"`
	Target     string        `json:"target"`
	Clients    int           `json:"clients"`
	Seconds    float64       `json:"seconds"`
	Total      Stat          `json:"total"`
	Ops        []Stat        `json:"ops,omitempty"` // per operation, when there are several
	Units      int           `json:"units,omitempty"`
	UnitName   string        `json:"unit_name,omitempty"` // e.g. "lifecycles" completed end to end
	RSSPeakMB  float64       `json:"rss_peak_mb,omitempty"`
	RSSHWMMB   float64       `json:"rss_hwm_mb,omitempty"`
	ServerCPU  float64       `json:"server_cpu_cores,omitempty"` // CPU the server used in the window, in cores
	ClientCPU  float64       `json:"client_cpu_cores,omitempty"` // CPU this tool used in the window, in cores
	ErrorsSeen []ErrorSample `json:"error_samples,omitempty"`
}

// percentile is the nearest-rank percentile (0 < p ≤ 100) of sorted
// durations: the smallest value with at least p% of the samples at or
// below it. Zero for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarise computes a Stat over the samples that started inside the window
// [from, to); the rate is per second of the window.
func summarise(op string, samples []sample, from, to time.Duration) Stat {
	var durs []time.Duration
	st := Stat{Op: op}
	var sum time.Duration
	for _, s := range samples {
		if s.start < from || s.start >= to || (op != "" && s.op != op) {
			continue
		}
		st.Requests++
		if !s.ok {
			st.Errors++
		}
		durs = append(durs, s.dur)
		sum += s.dur
	}
	if st.Requests == 0 {
		return st
	}
	slices.Sort(durs)
	st.PerSec = float64(st.Requests) / (to - from).Seconds()
	st.MeanMs = ms(sum / time.Duration(st.Requests))
	st.P50Ms = ms(percentile(durs, 50))
	st.P95Ms = ms(percentile(durs, 95))
	st.P99Ms = ms(percentile(durs, 99))
	st.MaxMs = ms(durs[len(durs)-1])
	return st
}

// workload is what each of the concurrent workers does in a loop: one
// iteration (one request, or a chain of them for a lifecycle). It returns
// how many whole units it finished (lifecycles), or an error that stops
// that worker for good.
type workload func(ctx context.Context, worker int, rec *recorder) (units int, err error)

// drive runs n workers for warmup+duration and summarises the samples that
// started after the warm-up. Workers stop starting iterations at the end;
// requests still in flight finish but started earlier, so they count.
func drive(ctx context.Context, name string, n int, warmup, duration time.Duration, w workload) (Result, error) {
	origin := time.Now()
	from, to := warmup, warmup+duration
	recs := make([]*recorder, n)
	errs := &errorLog{}
	units := make([]int, n)
	fatal := make([]error, n)
	ctx, cancel := context.WithTimeout(ctx, to+time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		recs[i] = &recorder{origin: origin, errs: errs, samples: make([]sample, 0, 4096)}
		wg.Go(func() {
			for time.Since(origin) < to && ctx.Err() == nil {
				began := time.Since(origin)
				u, err := w(ctx, i, recs[i])
				if err != nil {
					fatal[i] = err
					return
				}
				if began >= from {
					units[i] += u
				}
			}
		})
	}
	wg.Wait()
	for _, err := range fatal {
		if err != nil {
			return Result{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	var all []sample
	ops := map[string]bool{}
	var opOrder []string
	for _, r := range recs {
		for _, s := range r.samples {
			if !ops[s.op] {
				ops[s.op] = true
				opOrder = append(opOrder, s.op)
			}
		}
		all = append(all, r.samples...)
	}
	res := Result{Scenario: name, Clients: n, Seconds: duration.Seconds(), Total: summarise("", all, from, to), ErrorsSeen: errs.samples()}
	res.Total.Op = "all"
	if len(opOrder) > 1 {
		slices.Sort(opOrder)
		for _, op := range opOrder {
			if st := summarise(op, all, from, to); st.Requests > 0 {
				res.Ops = append(res.Ops, st)
			}
		}
	}
	for _, u := range units {
		res.Units += u
	}
	return res, nil
}
