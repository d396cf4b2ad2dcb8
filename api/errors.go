package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/language"

	"daiban/service"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type           string         `json:"type"`
	Title          string         `json:"title"`
	Status         int            `json:"status"`
	Detail         string         `json:"detail"`
	Code           string         `json:"code"`
	Instance       string         `json:"instance,omitempty"`
	RequestID      string         `json:"request_id,omitempty"`
	Errors         []ProblemField `json:"errors,omitempty"`
	CurrentVersion *int           `json:"current_version,omitempty"`
	RetryAfter     *int           `json:"retry_after,omitempty"`
}

// ProblemField names one offending field. Code is the service's stable
// field error code; args are the values its message names, kept to say the
// message again in Chinese.
type ProblemField struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
	args    []string
}

// problemField is a service field error as a problem names it.
func problemField(fe service.FieldError) ProblemField {
	return ProblemField{Field: fe.Field, Code: fe.Code, Message: fe.Message, args: fe.Args}
}

// httpError is an error the HTTP layer itself raises (binding, routing).
type httpError struct {
	status int
	code   string
	detail string
	fields []ProblemField
}

func (e *httpError) Error() string { return e.code + ": " + e.detail }

func badRequest(code, detail string, fields ...ProblemField) error {
	return &httpError{status: http.StatusBadRequest, code: code, detail: detail, fields: fields}
}

// errorHandler renders every error as problem+json; anything unknown is a
// 500 whose details go to the log only.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := problemOf(err)
		c.Response().Header().Add("Vary", "Accept-Language")
		if prefersChinese(c.Request()) {
			inChinese(&p, err)
			c.Response().Header().Set("Content-Language", "zh-CN")
		}
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		p.Instance = c.Request().URL.Path
		if p.Status >= 500 {
			log.Error("request failed", "request_id", p.RequestID, "route", c.Path(), "method", c.Request().Method, "err", err)
		}
		if p.RetryAfter != nil {
			c.Response().Header().Set("Retry-After", strconv.Itoa(*p.RetryAfter))
		}
		if p.Status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="daiban"`)
		}
		writeProblem(c, p)
	}
}

func writeProblem(c echo.Context, p Problem) {
	body, _ := json.Marshal(p)
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	if c.Request().Method != http.MethodHead {
		c.Response().Write(body)
	}
}

func problemOf(err error) Problem {
	var se *service.Error
	var he *httpError
	var ee *echo.HTTPError
	switch {
	case errors.As(err, &se):
		p := newProblem(se.Kind.HTTPStatus(), se.Code, se.Detail)
		for _, f := range se.Fields {
			p.Errors = append(p.Errors, problemField(f))
		}
		if se.Code == "version_conflict" {
			v := se.Version
			p.CurrentVersion = &v
		}
		if se.RetryAfter > 0 {
			secs := int(math.Ceil(se.RetryAfter.Seconds()))
			p.RetryAfter = &secs
		}
		return p
	case errors.As(err, &he):
		p := newProblem(he.status, he.code, he.detail)
		p.Errors = he.fields
		return p
	case errors.As(err, &ee):
		switch ee.Code {
		case http.StatusNotFound:
			return newProblem(ee.Code, "route_not_found", "no such route")
		case http.StatusMethodNotAllowed:
			return newProblem(ee.Code, "method_not_allowed", "this route does not take that method")
		case http.StatusRequestEntityTooLarge:
			return newProblem(ee.Code, "body_too_large", "the request body is too large")
		case http.StatusTooManyRequests:
			p := newProblem(ee.Code, "rate_limited", "too many requests from this client; slow down")
			secs := 1
			p.RetryAfter = &secs
			return p
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest, http.StatusServiceUnavailable:
			return newProblem(ee.Code, codeOfStatus(ee.Code), http.StatusText(ee.Code))
		}
	}
	return newProblem(http.StatusInternalServerError, "internal", "something went wrong on our side; quote the request id when you report it")
}

// languages are what a problem can be written in, English first: the
// default for a client that says nothing.
var languages = language.NewMatcher([]language.Tag{language.English, language.Chinese})

// prefersChinese reports whether the client's Accept-Language puts Chinese
// before English.
func prefersChinese(r *http.Request) bool {
	h := r.Header.Get("Accept-Language")
	if h == "" {
		return false
	}
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil || len(tags) == 0 {
		return false
	}
	_, i, conf := languages.Match(tags...)
	return i == 1 && conf != language.No
}

// inChinese rewrites a problem's detail and field messages from the
// service's catalogue by their codes; codes, type and fields stay as they
// are, for programs.
func inChinese(p *Problem, err error) {
	var se *service.Error
	if errors.As(err, &se) {
		p.Detail = service.Zh(se)
	} else if zh := service.ZhCode(p.Code); zh != "" {
		p.Detail = zh
	}
	for i := range p.Errors {
		f := &p.Errors[i]
		f.Message = service.ZhField(service.FieldError{Field: f.Field, Code: f.Code, Args: f.args})
	}
}

func codeOfStatus(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "bad_request"
}

func newProblem(status int, code, detail string) Problem {
	return Problem{Type: "urn:daiban:problem:" + code, Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}
