package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// newHTTPClient is tuned for n concurrent workers on one host: every worker
// keeps its own keep-alive connection, HTTP/1.1, nothing compressed. It is
// fasthttp's client, which runs a request on its caller's goroutine: the
// standard client hands every request to two more goroutines per
// connection, and on this two-core machine those switches took CPU from
// the server under load (a quarter of the tool's own time).
func newHTTPClient(n int) *fasthttp.Client {
	return &fasthttp.Client{
		MaxConnsPerHost:               2 * n,
		MaxIdleConnDuration:           90 * time.Second,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		ReadTimeout:                   30 * time.Second,
		WriteTimeout:                  30 * time.Second,
	}
}

// api talks to one daiban server.
type api struct {
	base string
	http *fasthttp.Client
}

// response is what a call gives back: the status and, when asked for, the body.
type response struct {
	status int
	body   []byte
}

// call sends one request. body is marshalled as JSON when not nil; keep
// says whether to return the body. A transport failure is returned as err;
// a request still running when ctx ends finishes (they take milliseconds).
func (a *api) call(ctx context.Context, method, path, token string, body any, keep bool, header map[string]string) (response, error) {
	if err := ctx.Err(); err != nil {
		return response{}, err
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(a.base + path)
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(b)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if err := a.http.DoTimeout(req, resp, 30*time.Second); err != nil {
		return response{}, err
	}
	r := response{status: resp.StatusCode()}
	// Error bodies are always kept: they go into the error samples.
	if keep || r.status >= 300 {
		r.body = bytes.Clone(resp.Body())
	}
	return r, nil
}

// timed is call under rec.time: a transport error or a status outside 2xx
// counts as an error, recorded with the status and the body.
func (a *api) timed(ctx context.Context, rec *recorder, op, method, path, token string, body any, keep bool, header map[string]string) (response, bool) {
	var r response
	ok := rec.time(op, func() (bool, string) {
		var err error
		r, err = a.call(ctx, method, path, token, body, keep, header)
		if err != nil {
			return false, err.Error()
		}
		if r.status < 200 || r.status > 299 {
			return false, fmt.Sprintf("%d %s", r.status, strings.TrimSpace(string(r.body)))
		}
		return true, ""
	})
	return r, ok
}

// getJSON is a setup call: it must succeed, and decodes into out.
func (a *api) getJSON(ctx context.Context, path, token string, out any) error {
	return a.must(ctx, http.MethodGet, path, token, nil, out)
}

func (a *api) must(ctx context.Context, method, path, token string, body, out any) error {
	r, err := a.call(ctx, method, path, token, body, true, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if r.status < 200 || r.status > 299 {
		return fmt.Errorf("%s %s: %d %s", method, path, r.status, strings.TrimSpace(string(r.body)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return nil
}
