package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// newHTTPClient is tuned for n concurrent workers on one host: every worker
// keeps its own idle keep-alive connection, nothing is compressed, HTTP/1.1.
func newHTTPClient(n int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * n,
		MaxIdleConnsPerHost: 2 * n,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// api talks to one daiban server.
type api struct {
	base string
	http *http.Client
}

// response is what a call gives back: the status and, when asked for, the body.
type response struct {
	status int
	body   []byte
}

// call sends one request. body is marshalled as JSON when not nil; keep
// says whether to return the body (otherwise it is read and dropped, which
// keeps the connection reusable). A transport failure is returned as err.
func (a *api) call(ctx context.Context, method, path, token string, body any, keep bool, header map[string]string) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode}
	// Error bodies are always kept: they go into the error samples.
	if keep || resp.StatusCode >= 300 {
		r.body, err = io.ReadAll(resp.Body)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	return r, err
}

// timed is call under rec.time: a transport error or a status outside 2xx
// counts as an error, recorded with the status and the body.
func (a *api) timed(ctx context.Context, rec *recorder, op, method, path, token string, body any, keep bool, header map[string]string) (response, bool) {
	var r response
	ok := rec.time(op, func() (bool, string) {
		var err error
		r, err = a.call(ctx, method, path, token, body, keep, header)
		if err != nil {
			// Without the URL, so one failure is one kind however many receipts it hits.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
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
