package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

// lookupFlow is a resident's status page, for a receipt (/q) or a 民情
// report (/m/status): the number comes in the address, the resident types
// the 6-digit code. The code travels in a form post, never in an address
// that a phone keeps in its history. A right code is kept in a cookie for
// that number's address only, and the post answers with a redirect to it
// (post, redirect, get): the page can then be refreshed and bookmarked on
// that phone, and 不再记住 forgets it.
type lookupFlow[T any] struct {
	base     string // the page's path: /q, /m/status
	param    string // the path parameter holding the number
	cookie   string // the cookie keeping a right code
	template string // the page's template
	title    string
	form     string // the form's name, for its field errors
	notFound string // the code of the one answer for an unknown number and a wrong code
	lookup   func(ctx context.Context, no, code, client string) (T, error)
	number   func(T) string
	show     func(c echo.Context, p *page, r T) error
	empty    any // the page's data before a lookup
}

const codeRemembered = 30 * 24 * time.Hour

func (f lookupFlow[T]) keep(w *console, c echo.Context, no, code string, keep time.Duration) {
	ck := &http.Cookie{
		Name: f.cookie, Value: code, Path: f.base + "/" + no, MaxAge: int(keep / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: w.opts.Secure || c.IsTLS(),
	}
	if keep <= 0 {
		ck.MaxAge, ck.Expires = -1, time.Unix(0, 0)
	}
	c.SetCookie(ck)
}

func (f lookupFlow[T]) newForm(w *console, c echo.Context, no string) *page {
	p := w.newPage(c, f.title)
	p.NoChrom = true
	p.Form = f.form
	p.Values = url.Values{"receipt_no": {no}}
	p.Data = f.empty
	return p
}

// page shows the form, or the status when this phone has the number's code.
func (f lookupFlow[T]) page(w *console) echo.HandlerFunc {
	return func(c echo.Context) error {
		no := strings.TrimSpace(c.Param(f.param))
		p := f.newForm(w, c, no)
		ck, err := c.Cookie(f.cookie)
		if no == "" || err != nil || ck.Value == "" {
			return w.render(c, http.StatusOK, f.template, p)
		}
		r, err := f.lookup(ctx(c), no, ck.Value, c.RealIP())
		if err != nil {
			// The code no longer opens this number: forget it and ask again.
			f.keep(w, c, no, "", 0)
			return f.fail(w, c, p, err)
		}
		return f.show(c, p, r)
	}
}

// post checks the typed code and, when it is right, remembers it and sends
// the phone to the number's own address.
func (f lookupFlow[T]) post(w *console) echo.HandlerFunc {
	return func(c echo.Context) error {
		no, code := strings.TrimSpace(c.FormValue("receipt_no")), strings.TrimSpace(c.FormValue("code"))
		p := f.newForm(w, c, no)
		p.Values.Set("code", code)
		var fe []service.FieldError
		if no == "" {
			fe = append(fe, service.NewFieldError("receipt_no", "required"))
		}
		if code == "" {
			fe = append(fe, service.NewFieldError("code", "required"))
		}
		if len(fe) > 0 {
			return f.fail(w, c, p, service.Invalid(fe...))
		}
		r, err := f.lookup(ctx(c), no, code, c.RealIP())
		if err != nil {
			return f.fail(w, c, p, err)
		}
		f.keep(w, c, f.number(r), code, codeRemembered)
		return c.Redirect(http.StatusSeeOther, f.base+"/"+f.number(r))
	}
}

// forget drops the remembered code of a number on this phone.
func (f lookupFlow[T]) forget(w *console) echo.HandlerFunc {
	return func(c echo.Context) error {
		no, err := service.ParseReceiptNo(c.Param(f.param))
		if err != nil {
			return errNotFound
		}
		f.keep(w, c, no, "", 0)
		return c.Redirect(http.StatusSeeOther, f.base+"/"+no)
	}
}

func (f lookupFlow[T]) fail(w *console, c echo.Context, p *page, err error) error {
	status, ok := formError(err, p)
	if !ok {
		return err
	}
	switch status {
	case http.StatusNotFound:
		// One answer for an unknown number and a wrong code, said once:
		// beside the code, with no banner repeating it.
		p.Errors = map[string]string{"code": service.ZhCode(f.notFound)}
		p.Alert = ""
	case http.StatusTooManyRequests:
		p.Alert = service.ZhCode("too_many_lookups")
	}
	return w.render(c, status, f.template, p)
}
