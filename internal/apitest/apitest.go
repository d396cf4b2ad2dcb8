// Package apitest runs the real HTTP stack on a real database for tests: a
// migrated store (SQLite file, or PostgreSQL when DAIBAN_TEST_POSTGRES is
// set), the service with a settable clock, the Echo router behind an
// httptest.Server, and a client that checks every request and response
// against openapi.yaml.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"golang.org/x/crypto/bcrypt"

	"daiban"
	"daiban/api"
	"daiban/internal/testdb"
	"daiban/service"
	"daiban/store"
	"daiban/web"
)

// Clock is a settable clock shared by the service under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Env is one test's running system.
type Env struct {
	T      testing.TB
	Store  *store.Store
	Svc    *service.Service
	API    *api.Server
	Server *httptest.Server
	Clock  *Clock
	Logs   *SyncBuffer // everything the server logged
	F      Fixture
	spec   routers.Router
	opts   Options
}

// Options tune New.
type Options struct {
	Start      time.Time // the clock's start; Monday 2026-03-02 09:00 Shanghai by default
	PublicRate float64   // per-client public lookups per second; high by default so tests are not throttled
	DSN        string    // a database to reuse; fresh by default
	CORS       []string  // origins allowed to call from a browser
	// TrustProxy takes the client address from X-Forwarded-For, so a test
	// can play several clients.
	TrustProxy bool
}

// SessionTTL is the token lifetime under test: long, so journeys that move
// the clock across weeks keep their sign-ins.
const SessionTTL = 60 * 24 * time.Hour

// DefaultStart is a Monday morning after the 2026 Spring Festival.
var DefaultStart = time.Date(2026, 3, 2, 9, 0, 0, 0, service.Shanghai)

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// Spec is the contract as a request router, loaded once.
func Spec() (routers.Router, error) {
	specOnce.Do(func() {
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.PlainBodyDecoder)
		for _, img := range []string{"image/jpeg", "image/png", "image/webp", "image/gif"} {
			openapi3filter.RegisterBodyDecoder(img, openapi3filter.FileBodyDecoder)
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(daiban.OpenAPI)
		if err != nil {
			specErr = fmt.Errorf("load openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = fmt.Errorf("openapi.yaml is not valid: %w", err)
			return
		}
		doc.Servers = nil // match any host: the test server's port is random
		specRouter, specErr = gorillamux.NewRouter(doc)
	})
	return specRouter, specErr
}

// New starts a system on a fresh database with the standard fixture.
func New(t testing.TB, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.PublicRate == 0 {
		o.PublicRate = 10000
	}
	spec, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	if o.DSN == "" {
		o.DSN = testdb.DSN(t)
	}
	st := testdb.OpenDSN(t, o.DSN)
	clock := &Clock{t: o.Start}
	svc := service.New(st.Stores(), service.Options{Now: clock.Now, PasswordCost: bcrypt.MinCost, SessionTTL: SessionTTL})
	logs := &SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	srv := api.New(svc, apiOptions(o, log, st))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	env := &Env{T: t, Store: st, Svc: svc, API: srv, Server: hs, Clock: clock, Logs: logs, spec: spec, opts: o}
	t.Cleanup(func() {
		if t.Failed() {
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, `"level":"ERROR"`) {
					t.Log("server:", line)
				}
			}
		}
	})
	env.F = newFixture(t, svc)
	return env
}

func apiOptions(o Options, log *slog.Logger, st *store.Store) api.Options {
	return api.Options{Logger: log, Ready: st.Ping, OpenAPI: daiban.OpenAPI, PublicRate: o.PublicRate, PublicBurst: int(o.PublicRate),
		CORSOrigins: o.CORS, TrustProxy: o.TrustProxy, Translate: store.Unavailable, PhotoForms: web.PhotoForms,
		WriteProbe: func(ctx context.Context) error { return st.ProbeWrite(ctx, time.Now()) }}
}

// Twin starts a second instance on the same database, with its own store,
// service and HTTP server, as another process would be; requests to it go
// through the same checks against openapi.yaml.
func (e *Env) Twin() *Env {
	e.T.Helper()
	st := testdb.OpenDSN(e.T, e.opts.DSN)
	svc := service.New(st.Stores(), service.Options{Now: e.Clock.Now, PasswordCost: bcrypt.MinCost, SessionTTL: SessionTTL})
	srv := api.New(svc, apiOptions(e.opts, slog.New(slog.NewJSONHandler(e.Logs, nil)), st))
	hs := httptest.NewServer(srv)
	e.T.Cleanup(hs.Close)
	twin := *e
	twin.Store, twin.Svc, twin.API, twin.Server = st, svc, srv, hs
	return &twin
}

// SyncBuffer collects a server's output, safe for concurrent writes.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Response is a finished exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it cannot.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Problem decodes an error body.
func (r *Response) Problem(t testing.TB) api.Problem {
	t.Helper()
	var p api.Problem
	r.JSON(t, &p)
	return p
}

// Req describes one request.
type Req struct {
	Method string
	Path   string
	Token  string
	Body   any // marshalled as JSON unless it is a string or []byte
	Header map[string]string
	// Raw skips the request check, for tests that send bad requests on purpose.
	Raw bool
}

// Do sends r and checks the request (unless Raw) and always the response
// against openapi.yaml.
func (e *Env) Do(r Req) *Response {
	e.T.Helper()
	var body []byte
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = []byte(b)
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			e.T.Fatal(err)
		}
	}
	req, err := http.NewRequest(r.Method, e.Server.URL+r.Path, bytes.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	route, params, routeErr := e.spec.FindRoute(req)
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true},
	}
	if routeErr == nil && !r.Raw {
		check := req.Clone(context.Background())
		check.Body = io.NopCloser(bytes.NewReader(body))
		in.Request = check
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			e.T.Errorf("%s %s: request does not match openapi.yaml: %.1500s", r.Method, r.Path, err.Error())
		}
		in.Request = req
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	res := &Response{Status: resp.StatusCode, Header: resp.Header, Body: out}
	e.checkResponse(r, req, route, params, routeErr, res)
	return res
}

func (e *Env) checkResponse(r Req, req *http.Request, route *routers.Route, params map[string]string, routeErr error, res *Response) {
	e.T.Helper()
	ct := res.Header.Get("Content-Type")
	if res.Status >= 400 && !strings.HasPrefix(ct, "application/problem+json") {
		e.T.Errorf("%s %s: error %d is %q, not application/problem+json: %s", r.Method, r.Path, res.Status, ct, res.Body)
	}
	if routeErr != nil {
		// Unknown routes are part of the contract only through their problem answer.
		if res.Status != http.StatusNotFound && res.Status != http.StatusMethodNotAllowed {
			e.T.Errorf("%s %s is not in openapi.yaml (%v) but answered %d", r.Method, r.Path, routeErr, res.Status)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}}
	if strings.HasPrefix(ct, "application/vnd.openxmlformats") {
		in.Options.ExcludeResponseBody = true // a binary spreadsheet; its content is checked by parsing it
	}
	if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.Status, Header: res.Header, Body: io.NopCloser(bytes.NewReader(res.Body)),
		Options: in.Options,
	}); err != nil {
		e.T.Errorf("%s %s: %d response does not match openapi.yaml: %.1500s\nbody: %.600s", r.Method, r.Path, res.Status, err.Error(), res.Body)
	}
}

// Get is Do for a GET.
func (e *Env) Get(path, token string) *Response {
	e.T.Helper()
	return e.Do(Req{Method: http.MethodGet, Path: path, Token: token})
}

// Post is Do for a POST with a JSON body.
func (e *Env) Post(path, token string, body any) *Response {
	e.T.Helper()
	return e.Do(Req{Method: http.MethodPost, Path: path, Token: token, Body: body})
}

// Login signs a user in and returns the token.
func (e *Env) Login(username string) string {
	e.T.Helper()
	r := e.Post("/api/v1/auth/login", "", map[string]string{"username": username, "password": Password})
	if r.Status != http.StatusOK {
		e.T.Fatalf("login %s: %d %s", username, r.Status, r.Body)
	}
	var out struct {
		Token string `json:"token"`
	}
	r.JSON(e.T, &out)
	return out.Token
}

// Expect fails the test unless r has the wanted status.
func Expect(t testing.TB, r *Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
}
