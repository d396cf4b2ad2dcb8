package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

// The session is the API's bearer token kept in an HttpOnly cookie: the
// server keeps nothing beyond the token's hashed row, and a revoked or
// expired token is refused on the next request.

// csrfToken is the anti-forgery token of a session: derived from its secret
// token, so a page's token works for that session only and cannot be
// planted from outside (a cookie set by a sibling site, say) or outlive a
// sign-out.
func csrfToken(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("daiban csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sessionCSRF hands the session's token to the page and refuses an unsafe
// request that does not carry it, or that the browser names cross-site.
func sessionCSRF(c echo.Context, session string, next echo.HandlerFunc) error {
	tok := csrfToken(session)
	c.Set("csrf", tok)
	switch c.Request().Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return next(c)
	}
	if c.Request().Header.Get("Sec-Fetch-Site") == "cross-site" || subtle.ConstantTimeCompare([]byte(c.FormValue(csrfField)), []byte(tok)) != 1 {
		return errCSRF
	}
	return next(c)
}

// setSessionCookie keeps the token until the browser closes: on a shared
// office PC closing the browser signs out, and the server ends the session
// when the token expires whatever the browser keeps.
func (w *console) setSessionCookie(c echo.Context, token string) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: w.opts.Secure || c.IsTLS(),
	})
}

func (w *console) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: w.opts.Secure || c.IsTLS(),
	})
}

// requireSession resolves the cookie into the acting user, or sends the
// browser to the sign-in page: with the "expired" notice when a cookie was
// there but no longer opens a session.
func (w *console) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			return c.Redirect(http.StatusSeeOther, loginURL(c, false))
		}
		a, err := w.svc.Authenticate(ctx(c), ck.Value)
		if err != nil {
			var se *service.Error
			if errors.As(err, &se) && se.Kind == service.KindUnauthenticated {
				w.clearSessionCookie(c)
				return c.Redirect(http.StatusSeeOther, loginURL(c, true))
			}
			return err
		}
		c.Set(actorKey, a)
		c.Set(tokenKey, ck.Value)
		// Signed in with a password an admin reset: nothing but changing it.
		if a.MustChangePassword && c.Path() != passwordPath {
			return c.Redirect(http.StatusSeeOther, passwordPath)
		}
		return next(c)
	}
}

// loginURL sends the browser to sign in and come back to where it was; a
// form post comes back to the page it was posted from.
func loginURL(c echo.Context, expired bool) string {
	q := url.Values{}
	if expired {
		q.Set("expired", "1")
	}
	next := c.Request().URL.RequestURI()
	if c.Request().Method != http.MethodGet {
		next = "/"
		if i := strings.LastIndex(c.Request().URL.Path, "/"); strings.HasPrefix(c.Request().URL.Path, "/errands/") && i > len("/errands/") {
			next = c.Request().URL.Path[:i]
		}
	}
	if next != "/" {
		q.Set("next", next)
	}
	if len(q) == 0 {
		return "/login"
	}
	return "/login?" + q.Encode()
}

// safeNext keeps a redirect target on this site: a path that starts with
// one "/", with no control character, whitespace or backslash anywhere
// (browsers drop tabs and newlines and read a backslash as "/", which turns
// "/\t/evil.example" into "//evil.example"), and that parses as a path
// with neither scheme nor host. Anything else goes home.
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || len(s) > 2000 || !utf8.ValidString(s) {
		return "/"
	}
	for _, r := range s {
		if r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "/"
		}
	}
	if u, err := url.Parse(s); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return s
}

type loginData struct {
	Next    string
	Expired bool
	Out     bool
}

func (w *console) loginPage(c echo.Context) error {
	p := w.newPage(c, "代办系统登录")
	p.NoChrom = true
	d := loginData{Next: safeNext(c.QueryParam("next")), Expired: c.QueryParam("expired") == "1", Out: c.QueryParam("out") == "1"}
	if d.Expired {
		p.Alert = "会话已过期，请重新登录。"
	}
	if d.Out {
		p.Flash = "您已安全退出。"
	}
	p.Data = d
	return w.render(c, http.StatusOK, "login", p)
}

func (w *console) login(c echo.Context) error {
	username, password := strings.TrimSpace(c.FormValue("username")), c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	token, _, u, err := w.svc.Login(ctx(c), username, password, c.RealIP())
	if err != nil {
		p := w.newPage(c, "代办系统登录")
		p.NoChrom = true
		p.Form = "login"
		p.Values = url.Values{"username": {username}}
		p.Data = loginData{Next: next}
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		return w.render(c, status, "login", p)
	}
	w.setSessionCookie(c, token)
	if u.MustChangePassword {
		next = passwordPath
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (w *console) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := w.svc.Logout(ctx(c), ck.Value); err != nil {
			return err
		}
	}
	w.clearSessionCookie(c)
	return c.Redirect(http.StatusSeeOther, "/login?out=1")
}

// home is each role's first page.
func (w *console) home(c echo.Context) error {
	switch actor(c).Role {
	case service.RoleAgent, service.RoleTownshipOfficer, service.RoleCityOfficer:
		return w.errandList(c)
	case service.RoleGridInspector, service.RoleHotlineOperator:
		return c.Redirect(http.StatusSeeOther, "/reports/new")
	case service.RoleDepartmentOfficer:
		return c.Redirect(http.StatusSeeOther, "/reports?mine=true")
	}
	return w.dashboard(c)
}
