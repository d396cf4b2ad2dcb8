// Package api is daiban's HTTP interface: routing, middleware, binding,
// authentication and problem+json errors. The rules live in service.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"daiban/service"
)

// Options configure the HTTP layer.
type Options struct {
	Logger *slog.Logger
	// Ready reports whether the database answers (for /readyz).
	Ready func(ctx context.Context) error
	// Draining reports that the server is shutting down: /readyz answers
	// 503 so load balancers take it out of rotation while it still serves.
	Draining func() bool
	// WriteProbe commits one small write, so /readyz is red while the
	// database cannot write (a full disk answers service.ErrStorageFull).
	WriteProbe func(ctx context.Context) error
	// Translate turns the errors of the store that the store itself leaves
	// as they are into the domain's (a full disk into ErrStorageFull).
	Translate func(error) error
	// OpenAPI is the contract served at /openapi.yaml.
	OpenAPI []byte
	// PublicURL is the base of links printed on receipts; by default the
	// scheme and host of the request that prints them.
	PublicURL string
	// PublicRate and PublicBurst limit public lookups per client address
	// (per second); 0 means 5 per second with a burst of 20.
	PublicRate  float64
	PublicBurst int
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	// BodyLimit caps request bodies ("256K" by default).
	BodyLimit string
	// PhotoForms are the paths besides the API's report intake whose POSTs
	// may carry a report's photos (up to LargeBodyLimit): the console's
	// report forms, whose handlers set their own limits.
	PhotoForms []string
	// Registry collects the Prometheus metrics; a fresh one by default.
	Registry *prometheus.Registry
	// CORSOrigins may call the API from a browser; none by default.
	CORSOrigins []string
}

// Server is the HTTP handler with its dependencies.
type Server struct {
	svc  *service.Service
	opts Options
	log  *slog.Logger
	echo *echo.Echo
}

// New builds the whole HTTP interface over svc.
func New(svc *service.Service, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PublicRate == 0 {
		o.PublicRate, o.PublicBurst = 5, 20
	}
	if o.BodyLimit == "" {
		o.BodyLimit = "256K"
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Translate == nil {
		o.Translate = func(err error) error { return err }
	}
	s := &Server{svc: svc, opts: o, log: o.Logger, echo: echo.New()}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.Validator = newValidator()
	e.HTTPErrorHandler = errorHandler(o.Logger)
	e.IPExtractor = echo.ExtractIPDirect()
	if o.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	}
	s.routes()
	return s
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Echo exposes the router so other interfaces (the web console) can mount on it.
func (s *Server) Echo() *echo.Echo { return s.echo }

// Service is the domain the server fronts.
func (s *Server) Service() *service.Service { return s.svc }

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// routes is the whole route table.
func (s *Server) routes() {
	e := s.echo
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// Only a well-formed incoming request id is kept; it ends up in logs.
			if id := c.Request().Header.Get(echo.HeaderXRequestID); id != "" && !requestIDRE.MatchString(id) {
				c.Request().Header.Del(echo.HeaderXRequestID)
			}
			return next(c)
		}
	})
	e.Use(middleware.RequestID())
	e.Use(s.logRequests)
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ReferrerPolicy: "same-origin", ContentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
	}))
	e.Use(newHTTPMetrics(s.opts.Registry).middleware)
	e.Use(s.renderErrors)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.Error("panic", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err, "stack", string(stack))
			return err
		},
	}))
	// A report may carry six photos of 2 MB (base64: a third more); its
	// intake routes take that much, every other route BodyLimit.
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: s.opts.BodyLimit, Skipper: s.photoForm}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: LargeBodyLimit, Skipper: func(c echo.Context) bool { return !s.photoForm(c) }}))
	e.Use(checkText)
	if len(s.opts.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  s.opts.CORSOrigins,
			AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, "Idempotency-Key", "If-Match"},
			ExposeHeaders: []string{"ETag", echo.HeaderXRequestID, "Idempotent-Replayed", "Retry-After"},
			MaxAge:        600,
		}))
	}

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", metricsHandler(s.opts.Registry))
	e.GET("/openapi.yaml", s.openapi)

	v1 := e.Group("/api/v1")
	v1.POST("/auth/login", s.login)
	v1.GET("/catalog/categories", s.listCategories)
	v1.GET("/catalog/items", s.listItems)
	v1.GET("/catalog/items/:code", s.getItem)

	public := v1.Group("/public", middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(s.opts.PublicRate), Burst: s.opts.PublicBurst, ExpiresIn: 3 * time.Minute,
		}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return c.RealIP(), nil },
		ErrorHandler: func(c echo.Context, err error) error {
			return echo.NewHTTPError(http.StatusForbidden)
		},
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			return echo.NewHTTPError(http.StatusTooManyRequests)
		},
	}))
	public.GET("/receipts/:receipt_no", s.publicReceipt)
	public.POST("/reports", s.publicSubmitReport)
	public.GET("/reports/:no", s.publicReport)

	a := v1.Group("", s.authenticate)
	a.POST("/auth/logout", s.logout)
	a.GET("/auth/me", s.me)
	a.POST("/auth/password", s.changePassword)

	a.GET("/orgs", s.listOrgs)
	a.POST("/orgs", s.createOrg)
	a.GET("/orgs/:id", s.getOrg)
	a.GET("/orgs/:id/ledger", s.ledger)

	a.GET("/users", s.listUsers)
	a.POST("/users", s.createUser)
	a.POST("/users/:id/reset-password", s.resetPassword)
	a.POST("/users/:id/disable", s.setUserActive(false))
	a.POST("/users/:id/enable", s.setUserActive(true))
	a.GET("/users/:id/events", s.accountEvents)

	a.POST("/catalog/categories", s.createCategory)
	a.POST("/catalog/items", s.createItem)
	a.PATCH("/catalog/items/:code", s.patchItem)

	a.GET("/calendar/:year", s.getCalendar)
	a.PUT("/calendar/:year", s.putCalendar)

	a.POST("/errands", s.register)
	a.GET("/errands", s.listErrands)
	a.GET("/errands/:id", s.getErrand)
	a.GET("/errands/:id/events", s.errandEvents)
	a.GET("/errands/:id/form", s.errandForm)
	for _, act := range service.Actions {
		a.POST("/errands/:id/"+string(act), s.transition(act))
	}

	a.POST("/reports", s.submitReport)
	a.GET("/reports", s.listReports)
	a.GET("/reports/:id", s.getReport)
	a.GET("/reports/:id/events", s.reportEvents)
	a.GET("/reports/:id/photos/:n", s.reportPhoto)
	for _, act := range service.ReportActions {
		a.POST("/reports/:id/"+string(act), s.reportStep(act))
	}
	a.GET("/stats/reports", s.reportStats)
	a.GET("/supervision/report-warnings", s.reportWarnings)
	a.GET("/supervision/warnings", s.warnings)
	a.GET("/stats/completion", s.completionStats)
	a.GET("/admin/ledger-check", s.ledgerCheck)
	a.GET("/inbox", s.inbox)
	a.POST("/inbox/:id/read", s.markRead)
	a.GET("/webhooks", s.listWebhooks)
	a.POST("/webhooks", s.createWebhook)
	a.DELETE("/webhooks/:id", s.deleteWebhook)
	a.GET("/admin/outbox", s.listOutbox)
	a.POST("/admin/outbox/:id/replay", s.replayDelivery)
	a.GET("/admin/sms-template", s.getSMSTemplate)
	a.PUT("/admin/sms-template", s.putSMSTemplate)
}

// checkText refuses, before any handler or the database sees them, text
// that is not UTF-8 or holds a NUL character, wherever the request carries
// it: path, query, headers, form. PostgreSQL refuses such text with an
// error, and no name, code or parameter of ours can hold it. A NUL in the
// path names nothing (404); anything else is a 400 naming the parameter.
// JSON bodies are checked as they are bound (bindJSON).
func checkText(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if strings.IndexByte(r.URL.Path, 0) >= 0 {
			return service.NotFound("page")
		}
		for i, name := range c.ParamNames() {
			if i < len(c.ParamValues()) && !goodText(c.ParamValues()[i]) {
				return badText(name, "path parameter")
			}
		}
		if !goodText(r.URL.Path) {
			return badText("path", "path")
		}
		if err := checkValues(r.URL.Query(), "query parameter"); err != nil {
			return err
		}
		for name, values := range r.Header {
			for _, v := range values {
				if !goodText(v) {
					return badText(name, "header")
				}
			}
		}
		if ct := r.Header.Get(echo.HeaderContentType); strings.HasPrefix(ct, echo.MIMEApplicationForm) {
			if err := r.ParseForm(); err != nil {
				return service.BadParam("body", "unreadable_form")
			}
			if err := checkValues(r.PostForm, "form field"); err != nil {
				return err
			}
		}
		return next(c)
	}
}

func checkValues(vs url.Values, what string) error {
	for k, values := range vs {
		if !goodText(k) {
			return badText(strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", ""), "?"), what+" name")
		}
		for _, v := range values {
			if !goodText(v) {
				return badText(k, what)
			}
		}
	}
	return nil
}

func goodText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

func badText(field, what string) error {
	return service.BadParam(field, "not_utf8_text", what, strconv.Quote(field))
}

// logRequests writes one structured line per request: never the query
// string, a body or a header, which may carry codes, tokens or ID numbers.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("method", c.Request().Method),
			slog.String("route", c.Path()),
			slog.Int("status", status),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int64("bytes", c.Response().Size),
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
		}
		if a, ok := c.Get(actorKey).(service.Actor); ok {
			attrs = append(attrs, slog.String("user", a.Username))
		}
		s.log.LogAttrs(c.Request().Context(), level, "request", attrs...)
		return nil
	}
}

// renderErrors writes a handler's error as its problem response (or the
// console's page) right away, so the metrics and the log see the status the
// client gets.
func (s *Server) renderErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := next(c); err != nil {
			c.Error(s.opts.Translate(err))
		}
		return nil
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	if s.opts.Draining != nil && s.opts.Draining() {
		return &httpError{status: http.StatusServiceUnavailable, code: "shutting_down", detail: "the server is shutting down; send requests to another instance"}
	}
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := s.opts.Ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			return &httpError{status: http.StatusServiceUnavailable, code: "database_unreachable", detail: "the database does not answer"}
		}
	}
	if s.opts.WriteProbe != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := s.opts.Translate(s.opts.WriteProbe(ctx)); errors.Is(err, service.ErrStorageFull) {
			s.log.Warn("not ready", "err", err)
			return err
		} else if err != nil {
			s.log.Warn("not ready", "err", err)
			return &httpError{status: http.StatusServiceUnavailable, code: "database_unwritable", detail: "the database does not take writes"}
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", s.opts.OpenAPI)
}

// LargeBodyLimit caps a report's intake: six photos of 2 MB in base64 and
// the rest.
const LargeBodyLimit = "17M"

// photoForm reports whether c posts a report's intake, which may carry
// photos: the API's or one of Options.PhotoForms.
func (s *Server) photoForm(c echo.Context) bool {
	r := c.Request()
	if r.Method != http.MethodPost {
		return false
	}
	p := r.URL.Path
	return p == "/api/v1/reports" || p == "/api/v1/public/reports" || slices.Contains(s.opts.PhotoForms, p)
}
