package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Webhooks are the deliveries a receiver run by the load tool took while
// the scenarios ran (--webhooks): the server's dispatcher under the load.
type Webhooks struct {
	Received   int     `json:"received"`
	Duplicates int     `json:"duplicates"`
	BadSigned  int     `json:"bad_signatures"`
	PerSecond  float64 `json:"per_second"` // unique deliveries over the time from the first to the last
	P50Ms      float64 `json:"p50_ms"`     // from the step (the CloudEvent's time) to its arrival
	P99Ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
}

// receiver is a webhook endpoint on a loopback port that checks each
// delivery's signature and notes when its step happened and when it came.
type receiver struct {
	srv    *http.Server
	url    string
	mu     sync.Mutex
	signer *standardwebhooks.Webhook
	seen   map[string]bool
	lat    []time.Duration
	first  time.Time
	last   time.Time
	dups   int
	bad    int
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{seen: map[string]bool{}, url: "http://" + ln.Addr().String() + "/hook"}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	now := time.Now()
	var ev struct {
		ID   string    `json:"id"`
		Time time.Time `json:"time"`
	}
	json.Unmarshal(body, &ev)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.signer == nil || r.signer.Verify(body, req.Header) != nil {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.seen[ev.ID] {
		r.dups++
	} else {
		r.seen[ev.ID] = true
		r.lat = append(r.lat, now.Sub(ev.Time))
		if r.first.IsZero() {
			r.first = now
		}
		r.last = now
	}
	w.WriteHeader(http.StatusNoContent)
}

// subscribe signs the admin in and registers the receiver for every step;
// the server must allow http to loopback (--webhook-loopback-http).
func (r *receiver) subscribe(ctx context.Context, a *api, adminPassword string) error {
	var tok struct {
		Token string `json:"token"`
	}
	if err := a.must(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": adminPassword}, &tok); err != nil {
		return err
	}
	var hook struct {
		Secret string `json:"secret"`
	}
	if err := a.must(ctx, http.MethodPost, "/api/v1/webhooks", tok.Token, map[string]any{"url": r.url, "types": []string{"*"}}, &hook); err != nil {
		return err
	}
	s, err := standardwebhooks.NewWebhook(hook.Secret)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.signer = s
	r.mu.Unlock()
	return nil
}

// settle waits until no delivery has come for quiet (at most limit), then
// stops the receiver and sums up.
func (r *receiver) settle(quiet, limit time.Duration) Webhooks {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		last := r.last
		r.mu.Unlock()
		if !last.IsZero() && time.Since(last) > quiet {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.srv.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Webhooks{Received: len(r.lat), Duplicates: r.dups, BadSigned: r.bad}
	if n := len(r.lat); n > 0 {
		slices.Sort(r.lat)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		out.P50Ms, out.P99Ms, out.MaxMs = ms(r.lat[n/2]), ms(r.lat[n*99/100]), ms(r.lat[n-1])
		if span := r.last.Sub(r.first).Seconds(); span > 0 {
			out.PerSecond = float64(n) / span
		}
	}
	return out
}

func printWebhooks(w io.Writer, h *Webhooks) {
	if h == nil {
		return
	}
	fmt.Fprintf(w, "\nwebhook deliveries: %d (%.0f/s), %d duplicates, %d badly signed; step to arrival p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		h.Received, h.PerSecond, h.Duplicates, h.BadSigned, h.P50Ms, h.P99Ms, h.MaxMs)
}
