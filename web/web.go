// Package web is daiban's Chinese web console: server-rendered pages for
// agents, officers, supervisors and residents, mounted on the API's router.
// It knows HTTP, cookies and HTML; every rule stays in service. Pages need
// no script and no internet: the CSS and the small optional script are
// embedded in the binary.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/time/rate"

	"daiban/service"
)

// Options configure the console.
type Options struct {
	Logger *slog.Logger
	// PublicURL is the base of the status links printed on receipts; by
	// default the scheme and host of the request that prints them.
	PublicURL string
	// Secure marks the cookies Secure even when TLS ends at a proxy; they
	// are always Secure on a TLS request.
	Secure bool
	// PublicRate and PublicBurst limit residents' status lookups per client
	// address (per second); 0 means 5 per second with a burst of 20.
	PublicRate  float64
	PublicBurst int
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// console holds the handlers' dependencies.
type console struct {
	svc   *service.Service
	opts  Options
	log   *slog.Logger
	pages map[string]*template.Template
}

const (
	sessionCookie = "daiban_session"
	csrfCookie    = "daiban_csrf"
	csrfField     = "_csrf"
	actorKey      = "web_actor"
	tokenKey      = "web_token"
)

// Mount adds the console's routes to e: the sign-in, the role pages, the
// administration pages (admin.go), the printable form, the downloads, the
// public status page /q/ and /static/.
// It also renders errors on every route outside the API as Chinese pages.
func Mount(e *echo.Echo, svc *service.Service, o Options) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PublicRate == 0 {
		o.PublicRate, o.PublicBurst = 5, 20
	}
	w := &console{svc: svc, opts: o, log: o.Logger, pages: parsePages()}

	prev := e.HTTPErrorHandler
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if isAPIPath(c.Request().URL.Path) {
			prev(err, c)
			return
		}
		w.renderError(c, err)
	}

	csrfWith := func(secure bool) echo.MiddlewareFunc {
		return middleware.CSRFWithConfig(middleware.CSRFConfig{
			TokenLookup:    "form:" + csrfField,
			CookieName:     csrfCookie,
			CookiePath:     "/",
			CookieHTTPOnly: true,
			CookieSameSite: http.SameSiteLaxMode,
			CookieSecure:   secure,
			ErrorHandler:   func(error, echo.Context) error { return errCSRF },
		})
	}
	csrfPlain, csrfTLS := csrfWith(o.Secure), csrfWith(true)
	// Once signed in, the token is bound to the session (see sessionCSRF);
	// before, on the sign-in page, it is Echo's double-submit cookie.
	csrf := func(next echo.HandlerFunc) echo.HandlerFunc {
		plain, tls := csrfPlain(next), csrfTLS(next)
		return func(c echo.Context) error {
			if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" && c.Path() != "/login" {
				return sessionCSRF(c, ck.Value, next)
			}
			if c.IsTLS() {
				return tls(c)
			}
			return plain(c)
		}
	}
	noStore := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "no-store")
			return next(c)
		}
	}
	auth := w.requireSession
	page := []echo.MiddlewareFunc{noStore, csrf, auth}

	sub, _ := fs.Sub(staticFS, "static")
	static := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	e.GET("/static/*", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=86400")
		static.ServeHTTP(c.Response(), c.Request())
		return nil
	})

	e.GET("/login", w.loginPage, noStore, csrf)
	e.POST("/login", w.login, noStore, csrf)
	e.POST("/logout", w.logout, noStore, csrf)

	e.GET("/", w.home, page...)
	e.GET("/errands", w.errandList, page...)
	e.GET("/register", w.registerPage, page...)
	e.POST("/register", w.register, page...)
	e.GET("/errands/:id", w.errandPage, page...)
	e.GET("/errands/:id/print", w.printPage, page...)
	e.POST("/errands/:id/:action", w.transition, page...)
	e.GET("/reports", w.reportList, page...)
	e.GET("/reports/new", w.reportNewPage, page...)
	e.POST("/reports/new", w.submitReport, append([]echo.MiddlewareFunc{noStore, photoForm}, page[1:]...)...)
	e.GET("/reports/:id", w.reportPage, page...)
	e.GET("/reports/:id/photos/:n", w.reportPhoto, page...)
	e.POST("/reports/:id/:action", w.reportStep, page...)
	e.GET("/dashboard", w.dashboard, page...)
	e.GET("/stats/export", w.statsExport, page...)
	e.GET("/stats/reports/export", w.reportStatsExport, page...)
	e.GET("/warnings", w.warnings, page...)
	e.GET("/warnings/export", w.warningsExport, page...)
	e.GET("/ledger", w.ledger, page...)
	e.GET("/ledger/export", w.ledgerExport, page...)
	w.mountAdmin(e, page)
	e.GET(passwordPath, w.passwordPage, page...)
	e.POST(passwordPath, w.changePassword, page...)
	e.GET("/inbox", w.inbox, page...)
	e.POST("/inbox/:id/open", w.openMessage, page...)
	e.GET("/users", w.users, page...)
	e.POST("/users", w.createUser, page...)
	e.POST("/users/:id/reset-password", w.resetPassword, page...)
	e.POST("/users/:id/disable", w.setUserActive(false), page...)
	e.POST("/users/:id/enable", w.setUserActive(true), page...)
	e.GET("/users/:id/events", w.accountEvents, page...)

	limit := middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(o.PublicRate), Burst: o.PublicBurst, ExpiresIn: 3 * time.Minute,
		}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return c.RealIP(), nil },
		ErrorHandler:        func(c echo.Context, err error) error { return errTooMany },
		DenyHandler:         func(c echo.Context, _ string, _ error) error { return errTooMany },
	})
	receipts, reports := w.receiptLookup(), w.reportLookup()
	e.GET("/q", receipts.page(w), noStore, csrf)
	e.GET("/q/:receipt_no", receipts.page(w), noStore, limit, csrf)
	e.POST("/q", receipts.post(w), noStore, limit, csrf)
	e.POST("/q/:receipt_no/forget", receipts.forget(w), noStore, csrf)

	// 民情: the resident's form and the report's status page (sentiment.go).
	e.GET("/m", w.publicReportPage, noStore, csrf)
	e.POST("/m", w.reportSubmit, noStore, limit, photoForm, csrf)
	e.GET("/m/status", reports.page(w), noStore, csrf)
	e.GET("/m/status/:no", reports.page(w), noStore, limit, csrf)
	e.POST("/m/status", reports.post(w), noStore, limit, csrf)
	e.POST("/m/status/:no/forget", reports.forget(w), noStore, csrf)
}

// isAPIPath tells the routes whose errors stay problem+json.
func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz" || p == "/metrics" || p == "/openapi.yaml"
}

var (
	errCSRF     = errors.New("csrf token missing or wrong")
	errTooMany  = errors.New("too many public lookups")
	errNotFound = errors.New("page not found")
)

// assets maps a static file to its URL with a content hash, so a new
// release is never hidden behind a cached stylesheet.
var assets = func() map[string]string {
	m := map[string]string{}
	entries, _ := staticFS.ReadDir("static")
	for _, en := range entries {
		b, _ := staticFS.ReadFile("static/" + en.Name())
		sum := sha256.Sum256(b)
		m[en.Name()] = "/static/" + en.Name() + "?v=" + hex.EncodeToString(sum[:4])
	}
	return m
}()

// counts prints numbers with thousands separators, as Chinese offices write them.
var counts = message.NewPrinter(language.Chinese)

var funcs = template.FuncMap{
	"asset": func(name string) string { return assets[name] },
	"date":  func(t time.Time) string { return fmtDate(t) },
	"time":  func(t time.Time) string { return fmtTime(t) },
	// The resident's pages write dates the way people do: 2026年12月11日.
	"cdate":      func(t time.Time) string { return service.DateOf(t).Chinese() },
	"ctime":      service.ChineseTime,
	"fee":        service.FeeLabel,
	"level":      service.LevelLabel,
	"channel":    service.ChannelLabel,
	"grade":      func(g int) string { return service.SatisfactionLabels[g] },
	"pct":        pct,
	"hund":       hund,
	"join":       func(s []string) string { return strings.Join(s, "、") },
	"query":      func(v url.Values) string { return v.Encode() },
	"add":        func(a, b int) int { return a + b },
	"add64":      func(a, b int64) int64 { return a + b },
	"count":      func(n int64) string { return counts.Sprintf("%d", n) }, // 1,234
	"outcome":    outcomeLabel,
	"fieldLabel": func(f string) string { return service.ChangeLabels[f] },
	"mask":       service.MaskName,
	"eventType":  service.EventTypeLabel,
	"maskPhone":  service.MaskPhone,
	"hasPrefix":  strings.HasPrefix,
	"category": func(code string) string {
		if c, ok := service.ReportCategoryByCode(code); ok {
			return c.Name
		}
		return code
	},
	"recovered": func(b *bool) string {
		if b != nil && *b {
			return "已收回"
		}
		return "遗失"
	},
}

// parsePages parses each page with the shared layout.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, en := range entries {
		name := en.Name()
		if name == "layout.html" {
			continue
		}
		t := template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name))
		out[strings.TrimSuffix(name, ".html")] = t
	}
	return out
}

// page is what every template gets.
type page struct {
	Title   string
	Actor   *service.Actor
	CSRF    string
	Nav     []navLink
	Admin   []navLink
	Flash   string // what just succeeded
	Alert   string // what went wrong as a whole
	Form    string // the form the errors and values below belong to
	Errors  map[string]string
	Values  url.Values
	Data    any
	NoChrom bool // the public pages: no menu
	Unread  int  // the signed-in person's unread inbox messages
}

type navLink struct {
	Href, Label string
	Active      bool
}

// Err is the message for field of form, if that form failed.
func (p *page) Err(form, field string) string {
	if p.Form != form {
		return ""
	}
	return p.Errors[field]
}

// Val is what was typed into field of form, kept after an error.
func (p *page) Val(form, field string) string {
	if p.Form != form || p.Values == nil {
		return ""
	}
	return p.Values.Get(field)
}

// Has reports whether value was among the ones sent for field of form.
func (p *page) Has(form, field, value string) bool {
	if p.Form != form || p.Values == nil {
		return false
	}
	for _, v := range p.Values[field] {
		if v == value {
			return true
		}
	}
	return false
}

// Failed reports whether form is the one that failed.
func (p *page) Failed(form string) bool {
	return p.Form == form && (len(p.Errors) > 0 || p.Alert != "")
}

func (w *console) newPage(c echo.Context, title string) *page {
	p := &page{Title: title}
	if tok, ok := c.Get("csrf").(string); ok {
		p.CSRF = tok
	}
	if a, ok := c.Get(actorKey).(service.Actor); ok {
		p.Actor = &a
		p.Nav = navFor(a, c.Request().URL)
		p.Admin = adminNav(a, c.Request().URL)
		// The count is a nicety of the header: a failure to read it leaves it out.
		p.Unread, _ = w.svc.Unread(c.Request().Context(), a)
	}
	return p
}

// render writes a page with status.
func (w *console) render(c echo.Context, status int, name string, p *page) error {
	t, ok := w.pages[name]
	if !ok {
		return errors.New("no template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// navFor is the menu of a role.
func navFor(a service.Actor, u *url.URL) []navLink {
	var links []navLink
	switch a.Role {
	case service.RoleAgent:
		links = []navLink{{"/", "待办事项", false}, {"/register", "登记新事项", false}, {"/errands?tab=all", "本村办件", false},
			{"/reports", "民情", false}, {"/ledger", "登记台账", false}, {"/dashboard", "统计", false}}
	case service.RoleTownshipOfficer, service.RoleCityOfficer:
		links = []navLink{{"/", "待接收", false}, {"/errands?tab=processing", "办理中", false}, {"/errands?tab=all", "辖区办件", false},
			{"/reports", "民情", false}, {"/warnings", "预警督办", false}, {"/dashboard", "统计", false}, {"/ledger", "登记台账", false}}
	case service.RoleGridInspector:
		links = []navLink{{"/reports/new", "上报民情", false}, {"/reports", "本网格民情", false}}
	case service.RoleHotlineOperator:
		links = []navLink{{"/reports/new", "登记来电", false}, {"/reports?mine=true", "本单位待办", false}, {"/reports", "民情", false}}
	case service.RoleDepartmentOfficer:
		links = []navLink{{"/reports?mine=true", "本单位待办", false}, {"/reports", "民情", false}}
	default:
		links = []navLink{{"/dashboard", "统计", false}, {"/warnings", "预警督办", false}, {"/ledger", "登记台账", false},
			{"/errands?tab=all", "全部办件", false}, {"/reports", "民情", false}}
	}
	here := u.Path
	if t := u.Query().Get("tab"); t != "" {
		here += "?tab=" + t
	} else if u.Query().Get("mine") == "true" {
		here += "?mine=true"
	}
	for i := range links {
		links[i].Active = links[i].Href == here
	}
	return links
}

// renderError is the one place errors become Chinese pages: no stack
// trace, no JSON, the request id for anything unexpected.
func (w *console) renderError(c echo.Context, err error) {
	if c.Response().Committed {
		return
	}
	status, title, msg := http.StatusInternalServerError, "系统出错", "系统暂时出现问题，请稍后重试。如问题持续，请联系管理员并提供编号 "+c.Response().Header().Get(echo.HeaderXRequestID)+"。"
	var se *service.Error
	var he *echo.HTTPError
	switch {
	case errors.Is(err, errCSRF):
		status, title, msg = http.StatusForbidden, "页面已失效", "页面已过期或来源无法确认，为保护您的账号，本次提交未被处理。请返回上一页，刷新后重新提交。"
	case errors.Is(err, errTooMany):
		status, title, msg = http.StatusTooManyRequests, "查询过于频繁", "查询过于频繁，请稍后再试。"
		c.Response().Header().Set("Retry-After", "1")
	case errors.Is(err, errNotFound):
		status, title, msg = http.StatusNotFound, "页面不存在", "您要找的页面不存在，或者您无权查看。"
	case errors.As(err, &se):
		switch se.Kind {
		case service.KindNotFound:
			status, title, msg = http.StatusNotFound, "未找到", "您要找的办件或页面不存在，或者不在您的管辖范围内。"
		case service.KindForbidden:
			status, title, msg = http.StatusForbidden, "无权操作", "您的账号无权查看或办理此项。"
		case service.KindUnauthenticated:
			status, title, msg = http.StatusUnauthorized, "请先登录", "会话已过期，请重新登录。"
		case service.KindTooMany:
			status, title, msg = http.StatusTooManyRequests, "操作过于频繁", "操作过于频繁，请稍后再试。"
		case service.KindBadRequest, service.KindInvalid:
			status, title, msg = http.StatusBadRequest, "请求有误", "请求的参数有误："+translate(se)
		case service.KindConflict:
			status, title, msg = http.StatusConflict, "无法办理", translate(se)
		case service.KindUnavailable:
			status, title, msg = http.StatusServiceUnavailable, "暂时无法保存", "系统存储空间已满，本次操作未被保存。请稍后再试；如问题持续，请联系管理员。"
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(se.RetryAfter.Seconds())))
		}
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound:
			status, title, msg = http.StatusNotFound, "页面不存在", "您要找的页面不存在。请检查地址，或从首页进入。"
		case http.StatusMethodNotAllowed:
			status, title, msg = http.StatusMethodNotAllowed, "无法访问", "此页面不接受这种请求，请从首页进入。"
		case http.StatusRequestEntityTooLarge:
			status, title, msg = he.Code, "内容过多", "提交的内容过多，请精简后重试。"
		case http.StatusForbidden:
			status, title, msg = http.StatusForbidden, "页面已失效", "请求来源无法确认，本次提交未被处理。请返回上一页，刷新后重新提交。"
		case http.StatusTooManyRequests:
			status, title, msg = he.Code, "操作过于频繁", "操作过于频繁，请稍后再试。"
		case http.StatusBadRequest:
			status, title, msg = he.Code, "请求有误", "请求无法识别，请返回上一页重试。"
		}
	}
	if status >= 500 {
		w.log.Error("web request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "route", c.Path(), "method", c.Request().Method, "err", err)
	}
	p := w.newPage(c, title)
	p.Alert = msg
	p.Data = status
	c.Response().Header().Set("Cache-Control", "no-store")
	if rerr := w.render(c, status, "error", p); rerr != nil {
		w.log.Error("render error page", "err", rerr)
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextPlainCharsetUTF8)
		c.Response().WriteHeader(status)
		c.Response().Write([]byte(title + "：" + msg))
	}
}

// ctx is the request's context.
func ctx(c echo.Context) context.Context { return c.Request().Context() }

func actor(c echo.Context) service.Actor {
	a, _ := c.Get(actorKey).(service.Actor)
	return a
}
