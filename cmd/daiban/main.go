// Command daiban runs the citizen-errand service and its maintenance tasks.
//
//	daiban [serve] [--addr :8080] [--db daiban.db] [--demo] [--pprof 127.0.0.1:6060]
//	daiban migrate | demo | verify-ledger | backup PATH
//	daiban user add | passwd | reset | disable | enable --username NAME
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"daiban"
	"daiban/api"
	"daiban/demo"
	"daiban/notify"
	"daiban/service"
	"daiban/store"
	"daiban/web"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// config is every setting, read once from flags and the environment.
type config struct {
	Addr            string
	DB              string
	Demo            bool
	DemoErrands     int
	DemoReports     int
	DemoSeed        uint64
	DemoCities      int
	SecretKey       string
	AdminPassword   string
	PublicURL       string
	PublicRate      float64
	PublicBurst     int
	TrustProxy      bool
	CORSOrigins     string
	LogFormat       string
	CityCode        string
	CityName        string
	ShutdownTimeout time.Duration
	// DrainDelay is how long /readyz answers 503 after SIGTERM, while the
	// server still serves, so that load balancers take it out first.
	DrainDelay time.Duration
	// DBPool sizes the connection pool (0: the store's default).
	DBPool    int
	PprofAddr string
	// HTTP server timeouts: how long a client may take to send the headers,
	// the whole request, to read the answer, and to keep an idle connection.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// Notifications: the SMS gateway (the log when no URL), webhook
	// endpoints on loopback, and how often a delivery is tried.
	SMSURL, SMSToken, SMSTemplate string
	WebhookLoopback               bool
	NotifyAttempts                int
	SMSMaxChars                   int
	NotifyBackoff                 time.Duration
	wake                          notify.Signal // made by serve: its steps wake its dispatcher
}

// devSecretKey encrypts the demo's ID numbers; anything real needs its own key.
const devSecretKey = "daiban-demo-only-secret-key-never-use-in-production"

// commandsHelp is what `daiban help` prints.
const commandsHelp = `daiban — 便民代办 errands and their statistics

Usage: daiban COMMAND [flags]   (daiban COMMAND -h lists a command's flags)

Commands:
  serve            run the service (the default); --demo fills an empty database with the Changle demo
  demo             fill an empty database with the demo and exit
  migrate          bring the database's schema up to date and exit
  orgs             list the organisations with their division codes (--under CODE for one subtree)
  user add         create an account: --username --role --org CODE --name [--phone]; password from DAIBAN_USER_PASSWORD
  user passwd      set an account's password from DAIBAN_USER_PASSWORD (--username)
  user reset       make up a new password, shown once, to be changed at the next sign-in (--username)
  user disable     disable an account and end its sessions (--username)
  user enable      enable it again (--username)
  verify-ledger    recompute every errand's hash chain and report the first break
                   [--under CODE] one organisation's errands; [--workers N] N townships at once
  backup PATH      write a consistent copy of a SQLite database to PATH
  healthcheck      exit 0 if the server on --addr answers /healthz (for container health checks)
  help             this list

The database is --db (DAIBAN_DB): a SQLite file, or a postgres:// URL.
Roles and the level of organisation each needs: agent (village), township_officer (township),
city_officer, supervisor and admin (city). Passwords have 8 to 72 bytes.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	if cmd == "help" || cmd == "--help" || cmd == "-help" {
		fmt.Fprint(stdout, commandsHelp)
		return 0
	}
	if cmd == "user" {
		if len(args) == 0 || !userCommands[args[0]] {
			fmt.Fprintln(stderr, userUsage)
			return 2
		}
		cmd, args = "user "+args[0], args[1:]
	}
	fs := flag.NewFlagSet("daiban "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&cfg.Addr, "addr", env("DAIBAN_ADDR", ":8080"), "listen address (DAIBAN_ADDR)")
	fs.StringVar(&cfg.DB, "db", env("DAIBAN_DB", "daiban.db"), "SQLite file, or a postgres:// URL (DAIBAN_DB)")
	fs.BoolVar(&cfg.Demo, "demo", false, "fill an empty database with the Changle demo")
	fs.IntVar(&cfg.DemoErrands, "demo-errands", 75620, "accepted errands the demo generates")
	fs.IntVar(&cfg.DemoReports, "demo-reports", -1, "accepted 民情 reports the demo generates; -1 for one per 38 errands (2,000 for Changle's 75,620)")
	fs.Uint64Var(&cfg.DemoSeed, "demo-seed", 1, "random seed of the demo")
	fs.IntVar(&cfg.DemoCities, "demo-cities", 1, "county-level cities the demo generates side by side (a province's tree); Changle first")
	fs.StringVar(&cfg.PublicURL, "public-url", env("DAIBAN_PUBLIC_URL", ""), "base URL printed on receipts (DAIBAN_PUBLIC_URL)")
	// Settings from the environment are checked like flags: a malformed one
	// stops the start with its name rather than falling back silently.
	var bad []string
	rateDefault, err := strconv.ParseFloat(env("DAIBAN_PUBLIC_RATE", "5"), 64)
	if err != nil || rateDefault <= 0 {
		bad = append(bad, fmt.Sprintf("DAIBAN_PUBLIC_RATE=%q is not a positive number of lookups per second", getenv("DAIBAN_PUBLIC_RATE")))
	}
	fs.Float64Var(&cfg.PublicRate, "public-rate", rateDefault, "public lookups per second per client (DAIBAN_PUBLIC_RATE)")
	fs.IntVar(&cfg.PublicBurst, "public-burst", 20, "burst of public lookups per client")
	trustDefault, err := strconv.ParseBool(env("DAIBAN_TRUST_PROXY", "false"))
	if err != nil {
		bad = append(bad, fmt.Sprintf("DAIBAN_TRUST_PROXY=%q is neither true nor false", getenv("DAIBAN_TRUST_PROXY")))
	}
	fs.BoolVar(&cfg.TrustProxy, "trust-proxy", trustDefault, "take client addresses from X-Forwarded-For (DAIBAN_TRUST_PROXY)")
	fs.StringVar(&cfg.CORSOrigins, "cors-origins", env("DAIBAN_CORS_ORIGINS", ""), "comma-separated origins allowed to call the API from a browser; none by default (DAIBAN_CORS_ORIGINS)")
	fs.StringVar(&cfg.LogFormat, "log-format", env("DAIBAN_LOG_FORMAT", ""), "json or text; text on a terminal by default (DAIBAN_LOG_FORMAT)")
	fs.StringVar(&cfg.CityCode, "city-code", env("DAIBAN_CITY_CODE", demo.CityCode), "division code of the city created in an empty database")
	fs.StringVar(&cfg.CityName, "city-name", env("DAIBAN_CITY_NAME", demo.CityName), "name of the city created in an empty database")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long in-flight requests may finish on shutdown")
	fs.DurationVar(&cfg.DrainDelay, "drain-delay", 2*time.Second, "how long /readyz answers 503 after SIGTERM before the server stops taking connections (0: stop at once)")
	poolDefault := 0
	if v := getenv("DAIBAN_DB_POOL"); v != "" {
		if poolDefault, err = strconv.Atoi(v); err != nil || poolDefault < 1 {
			bad = append(bad, fmt.Sprintf("DAIBAN_DB_POOL=%q is not a positive number of connections", v))
		}
	}
	fs.IntVar(&cfg.DBPool, "db-pool", poolDefault, "database connections per process: on PostgreSQL 20 by default, on SQLite the readers, 4 by default (DAIBAN_DB_POOL)")
	fs.StringVar(&cfg.PprofAddr, "pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060); off by default")
	fs.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", 5*time.Second, "how long a client may take to send the request headers")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", 30*time.Second, "how long a client may take to send a whole request")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", 60*time.Second, "how long an answer may take to write")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection stays open")
	fs.StringVar(&cfg.SMSURL, "sms-url", env("DAIBAN_SMS_URL", ""), "the SMS gateway's URL; without one texts are only logged (DAIBAN_SMS_URL)")
	fs.StringVar(&cfg.SMSToken, "sms-token", env("DAIBAN_SMS_TOKEN", ""), "bearer token for the SMS gateway (DAIBAN_SMS_TOKEN)")
	fs.StringVar(&cfg.SMSTemplate, "sms-template", env("DAIBAN_SMS_TEMPLATE", ""), "the gateway's template id for the completion text (DAIBAN_SMS_TEMPLATE)")
	loopDefault, err := strconv.ParseBool(env("DAIBAN_WEBHOOK_LOOPBACK_HTTP", "false"))
	if err != nil {
		bad = append(bad, fmt.Sprintf("DAIBAN_WEBHOOK_LOOPBACK_HTTP=%q is neither true nor false", getenv("DAIBAN_WEBHOOK_LOOPBACK_HTTP")))
	}
	fs.BoolVar(&cfg.WebhookLoopback, "webhook-loopback-http", loopDefault, "allow http:// webhook endpoints on a loopback address (DAIBAN_WEBHOOK_LOOPBACK_HTTP)")
	fs.IntVar(&cfg.NotifyAttempts, "notify-attempts", 8, "tries of a delivery before it is dead")
	fs.IntVar(&cfg.SMSMaxChars, "sms-max-chars", 500, "the longest text the SMS gateway takes; a longer wording of the completion text is refused")
	fs.DurationVar(&cfg.NotifyBackoff, "notify-backoff", 10*time.Second, "wait after a delivery's first failed try, doubling after each (at most an hour)")
	var username, role, orgCode, displayName, phone, under string
	if cmd == "orgs" {
		fs.StringVar(&under, "under", "", "division code of the organisation whose subtree to list (default: all)")
	}
	workers := 1
	if cmd == "verify-ledger" {
		fs.StringVar(&under, "under", "", "division code of the organisation whose errands to check (default: all)")
		fs.IntVar(&workers, "workers", 1, "townships checked at once")
	}
	if strings.HasPrefix(cmd, "user ") {
		fs.StringVar(&username, "username", "", "login name")
	}
	if cmd == "user add" {
		fs.StringVar(&role, "role", "", "agent, township_officer, city_officer, supervisor or admin")
		fs.StringVar(&orgCode, "org", "", "division code of the user's organisation")
		fs.StringVar(&displayName, "name", "", "display name")
		fs.StringVar(&phone, "phone", "", "phone number")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "db-pool" && cfg.DBPool < 1 {
			bad = append(bad, fmt.Sprintf("--db-pool %d is not a positive number of connections", cfg.DBPool))
		}
	})
	if cfg.DrainDelay < 0 {
		bad = append(bad, "--drain-delay must not be negative")
	}
	if cfg.DemoCities < 1 {
		bad = append(bad, "--demo-cities must be at least 1")
	}
	if cfg.DemoReports < -1 {
		bad = append(bad, "--demo-reports must be -1 (proportional to the errands) or more")
	}
	if cfg.NotifyAttempts < 1 || cfg.NotifyBackoff <= 0 || cfg.SMSMaxChars < 70 {
		bad = append(bad, "--notify-attempts must be at least 1, --notify-backoff more than 0 and --sms-max-chars at least 70")
	}
	if cfg.PublicRate <= 0 || cfg.PublicBurst < 1 {
		bad = append(bad, "--public-rate must be more than 0 and --public-burst at least 1")
	}
	if f := cfg.LogFormat; f != "" && f != "json" && f != "text" {
		bad = append(bad, fmt.Sprintf("--log-format (DAIBAN_LOG_FORMAT) %q is neither json nor text", f))
	}
	if len(bad) > 0 {
		for _, b := range bad {
			fmt.Fprintln(stderr, "daiban: "+b)
		}
		return 2
	}
	cfg.SecretKey = getenv("DAIBAN_SECRET_KEY")
	cfg.AdminPassword = getenv("DAIBAN_ADMIN_PASSWORD")
	if cfg.SecretKey == "" && (cfg.Demo || cmd == "demo") {
		cfg.SecretKey = devSecretKey
	}
	log := newLogger(cfg.LogFormat, stderr)

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, log, stdout)
	case "migrate":
		err = withStore(ctx, cfg, false, func(*store.Store, *service.Service) error {
			fmt.Fprintln(stdout, "database is up to date")
			return nil
		})
	case "demo":
		cfg.Demo = true
		err = withStore(ctx, cfg, true, func(st *store.Store, svc *service.Service) error {
			return prepare(ctx, cfg, st, svc, log, stdout)
		})
	case "user add":
		// Accounts hold no ID numbers: no key needed.
		err = withStore(ctx, cfg, false, func(st *store.Store, svc *service.Service) error {
			return addUser(ctx, st, svc, getenv, stdout, username, role, orgCode, displayName, phone)
		})
	case "orgs":
		err = withStore(ctx, cfg, false, func(st *store.Store, _ *service.Service) error {
			return listOrgs(ctx, st, stdout, under)
		})
	case "healthcheck":
		err = healthcheck(ctx, cfg.Addr)
	case "user passwd", "user reset", "user disable", "user enable":
		if username == "" {
			fmt.Fprintln(stderr, "daiban "+cmd+": --username is required\n"+userUsage)
			return 2
		}
		err = withStore(ctx, cfg, false, func(_ *store.Store, svc *service.Service) error {
			return changeUser(ctx, svc, getenv, stdout, cmd, username)
		})
	case "verify-ledger":
		if workers < 1 {
			fmt.Fprintln(stderr, "--workers must be at least 1")
			return 2
		}
		err = withStore(ctx, cfg, true, func(_ *store.Store, svc *service.Service) error {
			o := service.VerifyOptions{Workers: workers}
			if under != "" {
				orgs, err := svc.Orgs(ctx, service.Actor{Role: service.RoleAdmin}, service.OrgFilter{Code: under, Limit: 1})
				if err != nil {
					return err
				}
				if len(orgs) == 0 {
					return fmt.Errorf("--under %s: no organisation has this division code; daiban orgs lists them", under)
				}
				o.Under = orgs[0].Path
			}
			r, err := svc.VerifyWith(ctx, o, func(errands, all int) {
				fmt.Fprintf(stderr, "verify-ledger: %d of %d errands checked\n", errands, all)
			})
			if err != nil {
				return err
			}
			if r.Broken != nil {
				kind, no := "errand", "receipt"
				if r.Broken.Report {
					kind, no = "report", "number"
				}
				fmt.Fprintf(stdout, "BROKEN: %s %s (%s %s), event %d: %s\n", kind, r.Broken.ErrandID, no, r.Broken.ReceiptNo, r.Broken.Seq, r.Broken.Problem)
				return errors.New("the event ledger has been tampered with")
			}
			fmt.Fprintf(stdout, "ok: %d errands, %d events, %d reports, %d report events, every chain intact\n", r.Errands, r.Events, r.Reports, r.ReportEvents)
			return nil
		})
	case "backup":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: daiban backup [--db FILE] PATH")
			return 2
		}
		err = withStore(ctx, cfg, false, func(st *store.Store, _ *service.Service) error {
			if err := st.Backup(ctx, fs.Arg(0)); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "backed up %s to %s\n", cfg.DB, fs.Arg(0))
			return nil
		})
	default:
		fmt.Fprintf(stderr, "unknown command %q; daiban help lists the commands\n", cmd)
		return 2
	}
	if err != nil {
		log.Error("daiban "+cmd+" failed", "err", err)
		return 1
	}
	return 0
}

// newLogger logs to stderr; the format follows the terminal that it is.
func newLogger(format string, stderr io.Writer) *slog.Logger {
	w := stderr
	if format == "" {
		format = "json"
		if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// withStore opens and migrates the database, then runs fn. needKey refuses
// to go on without a secret key (every command that reads ID numbers).
func withStore(ctx context.Context, cfg config, needKey bool, fn func(*store.Store, *service.Service) error) (err error) {
	key := cfg.SecretKey
	if key == "" {
		if needKey {
			return errors.New("set DAIBAN_SECRET_KEY (at least 32 characters) to encrypt resident ID numbers; only --demo has a built-in development key")
		}
		key = devSecretKey // migrate and backup read no sealed value
	}
	st, err := store.Open(ctx, cfg.DB, store.Options{SecretKey: []byte(key), MaxOpenConns: cfg.DBPool})
	if err != nil {
		return err
	}
	// Closing folds SQLite's WAL back into the file: its failure matters.
	defer func() {
		if cerr := st.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close database: %w", cerr))
		}
	}()
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if needKey {
		if err := st.CheckKey(ctx); err != nil {
			return err
		}
	}
	return fn(st, service.New(st.Stores(), service.Options{PublicURL: cfg.PublicURL, LoopbackHTTP: cfg.WebhookLoopback, Notified: cfg.wake.Notify, SMSMaxChars: cfg.SMSMaxChars}))
}

func serve(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	if cfg.PprofAddr != "" {
		stopPprof, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	cfg.wake = notify.NewSignal()
	return withStore(ctx, cfg, true, func(st *store.Store, svc *service.Service) error {
		if err := prepare(ctx, cfg, st, svc, log, stdout); err != nil {
			return err
		}
		// /metrics carries the runtime's and the process's own figures (heap,
		// collections, goroutines, processors, CPU, memory) and the SQLite
		// writer's beside the HTTP ones.
		metrics := prometheus.NewRegistry()
		metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		writerMetrics(metrics, st)
		var draining atomic.Bool
		apiServer := api.New(svc, api.Options{
			Logger: log, Ready: st.Ping, Draining: draining.Load, OpenAPI: daiban.OpenAPI, PublicURL: cfg.PublicURL,
			WriteProbe: func(ctx context.Context) error { return st.ProbeWrite(ctx, svc.Now()) }, Translate: store.Unavailable,
			PublicRate: cfg.PublicRate, PublicBurst: cfg.PublicBurst, TrustProxy: cfg.TrustProxy,
			CORSOrigins: splitList(cfg.CORSOrigins), Registry: metrics, PhotoForms: web.PhotoForms,
		})
		web.Mount(apiServer.Echo(), svc, web.Options{
			Logger: log, PublicURL: cfg.PublicURL, Secure: strings.HasPrefix(cfg.PublicURL, "https://"),
			PublicRate: cfg.PublicRate, PublicBurst: cfg.PublicBurst,
		})
		srv := &http.Server{
			Handler:           apiServer,
			ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
			WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout,
			MaxHeaderBytes: 64 << 10,
			ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		// Listen before logging, so the log names the real address (also for ":0").
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return err
		}
		go janitor(ctx, st, svc, log)
		var sms notify.Gateway = notify.LogGateway{Logger: log}
		if cfg.SMSURL != "" {
			sms = notify.HTTPGateway{URL: cfg.SMSURL, Token: cfg.SMSToken, TemplateID: cfg.SMSTemplate, Client: &http.Client{Timeout: 10 * time.Second}}
		}
		dispatcher := notify.New(st, sms, notify.Options{
			MaxAttempts: cfg.NotifyAttempts, Backoff: cfg.NotifyBackoff, LoopbackHTTP: cfg.WebhookLoopback,
			Logger: log, Digest: svc.Digest, Wake: cfg.wake,
		})
		metrics.MustRegister(dispatcher.Collectors()...)
		dctx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
		dispatched := make(chan struct{})
		go func() { dispatcher.Run(dctx); close(dispatched) }()
		defer func() { stopDispatch(); <-dispatched }()
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		log.Info("daiban listening", "addr", ln.Addr().String(), "db", redact(cfg.DB), "postgres", st.Postgres())
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		// First out of rotation: /readyz fails while everything else is
		// still served, and answers close their connections, so a balancer
		// checking every few hundred milliseconds sends nothing new here
		// before the listener closes.
		if cfg.DrainDelay > 0 {
			log.Info("shutting down: /readyz answers 503 while balancers take this instance out", "drain_delay", cfg.DrainDelay.String())
			draining.Store(true)
			srv.SetKeepAlivesEnabled(false)
			select {
			case err := <-errc:
				return err
			case <-time.After(cfg.DrainDelay):
			}
		}
		log.Info("shutting down: finishing in-flight requests")
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		log.Info("stopped cleanly")
		return nil
	})
}

// servePprof serves the runtime profiles on their own listener, never on the
// API's, and only on a loopback address: profiles show internals.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--pprof must listen on a loopback address, not %q", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Info("pprof listening", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// prepare makes an empty database usable: the demo or a bare city, then
// the first admin.
func prepare(ctx context.Context, cfg config, st *store.Store, svc *service.Service, log *slog.Logger, stdout io.Writer) error {
	empty, err := st.Empty(ctx)
	if err != nil {
		return err
	}
	if state, err := st.Setting(ctx, demo.StateSetting); err != nil {
		return err
	} else if state == "loading" {
		return errors.New("an earlier demo load was interrupted; delete the database (" + redact(cfg.DB) + " and its -wal and -shm files) and start again")
	}
	if empty && cfg.Demo {
		start := time.Now()
		reports := cfg.DemoReports
		if reports < 0 {
			reports = demo.ReportsFor(cfg.DemoErrands)
		}
		log.Info("generating the demo", "errands", cfg.DemoErrands, "reports", reports)
		tenth := 0
		sum, _, err := demo.Load(ctx, st, demo.Options{Errands: cfg.DemoErrands, Reports: reports, Seed: cfg.DemoSeed, Cities: cfg.DemoCities, Progress: func(done, all int) {
			// A line for every tenth written, and the last.
			if t := done * 10 / max(all, 1); t > tenth || done == all {
				tenth = t
				log.Info("demo errands", "written", done, "of", all)
			}
		}})
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		log.Info("demo ready", "orgs", sum.Orgs, "users", sum.Users, "items", sum.Items, "errands", sum.Errands, "events", sum.Events,
			"reports", sum.Reports, "report_events", sum.ReportEvents, "took", time.Since(start).Round(time.Millisecond).String())
	} else if empty {
		if _, err := svc.CreateOrg(ctx, service.Actor{Role: service.RoleAdmin}, service.OrgInput{Code: cfg.CityCode, Name: cfg.CityName, Level: service.LevelCity}); err != nil {
			return fmt.Errorf("create the city: %w", err)
		}
	} else if cfg.Demo {
		log.Info("the database is not empty; --demo leaves it as it is")
	}
	admins, err := st.Users(ctx, service.UserFilter{Role: service.RoleAdmin, Limit: 1})
	if err != nil || len(admins) > 0 {
		return err
	}
	cities, err := st.Orgs(ctx, service.OrgFilter{Level: service.LevelCity, Limit: 1})
	if err != nil {
		return err
	}
	if len(cities) == 0 {
		return errors.New("the database has organisations but no city")
	}
	password := cfg.AdminPassword
	if password == "" {
		raw := make([]byte, 12)
		rand.Read(raw)
		password = base64.RawURLEncoding.EncodeToString(raw)
		fmt.Fprintf(stdout, "created user admin with password %s (shown once; set DAIBAN_ADMIN_PASSWORD to choose it)\n", password)
	}
	_, err = svc.Bootstrap(ctx, service.UserInput{Username: "admin", Password: password, DisplayName: "系统管理员", Role: service.RoleAdmin, OrgID: cities[0].ID})
	return err
}

var userCommands = map[string]bool{"add": true, "passwd": true, "reset": true, "disable": true, "enable": true}

const userUsage = `usage:
  daiban user add --username NAME --role ROLE --org CODE --name DISPLAY [--phone PHONE]   (password from DAIBAN_USER_PASSWORD)
  daiban user passwd --username NAME    set the password to DAIBAN_USER_PASSWORD (no change required at sign-in)
  daiban user reset --username NAME     make up a password, print it once; it must be changed at the next sign-in
  daiban user disable --username NAME   disable the account and end its sessions
  daiban user enable --username NAME    re-enable it`

// changeUser carries out an operator's account change, recorded as done by
// the command line; each ends the user's sessions.
func changeUser(ctx context.Context, svc *service.Service, getenv func(string) string, stdout io.Writer, cmd, username string) error {
	switch cmd {
	case "user passwd":
		password := getenv("DAIBAN_USER_PASSWORD")
		if password == "" {
			return errors.New("set DAIBAN_USER_PASSWORD to the new password")
		}
		u, err := svc.SetPasswordByUsername(ctx, username, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "set the password of %s (%s); their sessions have ended\n", u.Username, u.DisplayName)
	case "user reset":
		u, password, err := svc.ResetPasswordByUsername(ctx, username)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new password of %s (%s): %s (shown once; it must be changed at the next sign-in)\n", u.Username, u.DisplayName, password)
	case "user disable", "user enable":
		u, err := svc.SetActiveByUsername(ctx, username, cmd == "user enable")
		if err != nil {
			return err
		}
		if u.Active {
			fmt.Fprintf(stdout, "enabled %s (%s)\n", u.Username, u.DisplayName)
		} else {
			fmt.Fprintf(stdout, "disabled %s (%s); their sessions have ended\n", u.Username, u.DisplayName)
		}
	}
	return nil
}

func addUser(ctx context.Context, st *store.Store, svc *service.Service, getenv func(string) string, stdout io.Writer, username, role, orgCode, name, phone string) error {
	password := getenv("DAIBAN_USER_PASSWORD")
	if password == "" {
		return errors.New("set DAIBAN_USER_PASSWORD to the new user's password")
	}
	orgs, err := st.Orgs(ctx, service.OrgFilter{Code: orgCode, Limit: 1})
	if err != nil {
		return err
	}
	if len(orgs) == 0 {
		return fmt.Errorf("no organisation with code %q", orgCode)
	}
	u, err := svc.Bootstrap(ctx, service.UserInput{Username: username, Password: password, DisplayName: name, Phone: phone, Role: service.Role(role), OrgID: orgs[0].ID})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %s (%s) in %s\n", u.Role, u.Username, u.DisplayName, orgs[0].Name)
	return nil
}

// janitor deletes what has expired: sessions, closed throttle windows and
// idempotency keys older than two days (they are kept at least 24 h), and
// keeps the planner's statistics fresh.
func janitor(ctx context.Context, st *store.Store, svc *service.Service, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := svc.Now()
		if _, err := st.DeleteExpiredSessions(ctx, now); err != nil {
			log.Warn("janitor: sessions", "err", err)
		}
		if err := st.DeleteStaleThrottles(ctx, now.Add(-2*time.Hour)); err != nil {
			log.Warn("janitor: throttles", "err", err)
		}
		if _, err := st.DeleteIdempotentBefore(ctx, now.Add(-48*time.Hour)); err != nil {
			log.Warn("janitor: idempotency keys", "err", err)
		}
		if err := st.Optimize(ctx); err != nil {
			log.Warn("janitor: optimize", "err", err)
		}
	}
}

// redact hides a database URL's password in logs.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				return dsn[:i+3+colon] + ":***" + dsn[at:]
			}
		}
	}
	return dsn
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// listOrgs prints the organisation tree with its division codes, the codes
// user add --org takes.
func listOrgs(ctx context.Context, st *store.Store, stdout io.Writer, under string) error {
	f := service.OrgFilter{Limit: 500}
	if under != "" {
		top, err := st.Orgs(ctx, service.OrgFilter{Code: under, Limit: 1})
		if err != nil {
			return err
		}
		if len(top) == 0 {
			return fmt.Errorf("--under: no organisation with code %q", under)
		}
		f.Under = top[0].Path
	}
	var all []service.Org
	for {
		page, err := st.Orgs(ctx, f)
		if err != nil {
			return err
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].Path
	}
	for _, o := range all {
		depth := strings.Count(strings.Trim(o.Path, "/"), "/")
		fmt.Fprintf(stdout, "%s%-12s %-8s %s\n", strings.Repeat("  ", depth), o.Code, o.Level, o.Name)
	}
	return nil
}

// healthcheck asks the server on addr for /healthz over loopback.
func healthcheck(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz answered %s", resp.Status)
	}
	return nil
}
