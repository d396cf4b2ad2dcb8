package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"daiban/internal/testdb"
	"daiban/notify"
	"daiban/service"
	"daiban/store"
)

// queued registers an endpoint at url and queues one message for it.
func queued(t *testing.T, st *store.Store, url string) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateWebhook(ctx, service.Webhook{ID: "hook-1", URL: url, Types: []string{"*"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	err := st.AddNotices(ctx, []service.Notice{{ID: "case-1.2.webhook", Channel: service.NoticeWebhook, CaseID: "case-1", CaseSeq: 2,
		Type: "errand.complete", Text: `{"specversion":"1.0","id":"case-1.2.webhook","source":"/t","type":"errand.complete"}`, At: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
}

func onlyDelivery(t *testing.T, st *store.Store) service.Delivery {
	t.Helper()
	ds, err := st.Outbox(context.Background(), service.OutboxFilter{Limit: 10})
	if err != nil || len(ds) != 1 {
		t.Fatalf("outbox %v %v", ds, err)
	}
	return ds[0]
}

// TestRedirectsAreNotFollowed: a receiver answering 302 has not accepted,
// and the address it points to is never called.
func TestRedirectsAreNotFollowed(t *testing.T) {
	st := testdb.Open(t)
	var elsewhere atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer target.Close()
	hook := httptest.NewServer(http.RedirectHandler(target.URL+"/stolen", http.StatusFound))
	defer hook.Close()
	queued(t, st, hook.URL)
	d := notify.New(st, nil, notify.Options{LoopbackHTTP: true, Backoff: time.Hour})
	if n, err := d.Round(context.Background()); n != 1 || err != nil {
		t.Fatalf("round: %d %v", n, err)
	}
	got := onlyDelivery(t, st)
	if got.Status != service.DeliveryPending || got.Attempts != 1 || !strings.Contains(got.LastError, "302") {
		t.Fatalf("after a redirect: %+v", got)
	}
	if elsewhere.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

// TestSlowReceiverTimesOut: a receiver that does not answer within the
// timeout counts as a failed try, and the round ends.
func TestSlowReceiverTimesOut(t *testing.T) {
	st := testdb.Open(t)
	release := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hook.Close()
	defer close(release)
	queued(t, st, hook.URL)
	d := notify.New(st, nil, notify.Options{LoopbackHTTP: true, Timeout: 300 * time.Millisecond, Backoff: time.Hour})
	done := make(chan error, 1)
	go func() { _, err := d.Round(context.Background()); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a silent receiver held the round")
	}
	if got := onlyDelivery(t, st); got.Status != service.DeliveryPending || !strings.Contains(got.LastError, "Timeout") {
		t.Fatalf("after a silent receiver: %+v", got)
	}
}

// TestPrivateAddressesAreRefused: whatever a name resolves to, the client
// does not connect to a loopback address unless allowed, nor ever to a
// private or link-local one.
func TestPrivateAddressesAreRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for _, url := range []string{srv.URL, "http://localhost" + port} {
		_, err := notify.NewClient(time.Second, false).Get(url)
		if err == nil || !strings.Contains(err.Error(), "private address") {
			t.Errorf("%s without loopback allowed: %v", url, err)
		}
		resp, err := notify.NewClient(time.Second, true).Get(url)
		if err != nil {
			t.Errorf("%s with loopback allowed: %v", url, err)
		} else {
			resp.Body.Close()
		}
	}
	for _, url := range []string{"http://10.0.0.1/", "http://192.168.0.1/", "http://169.254.169.254/latest/meta-data/"} {
		if _, err := notify.NewClient(time.Second, true).Get(url); err == nil || !strings.Contains(err.Error(), "private address") {
			t.Errorf("%s: %v", url, err)
		}
	}
}

// TestBackoffDoublesThenGivesUp: each failure pushes the next try further
// out, doubling, and the last allowed try leaves the delivery dead.
func TestBackoffDoublesThenGivesUp(t *testing.T) {
	st := testdb.Open(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer hook.Close()
	queued(t, st, hook.URL)
	now := time.Now()
	d := notify.New(st, nil, notify.Options{LoopbackHTTP: true, Backoff: time.Minute, MaxAttempts: 4, Now: func() time.Time { return now }})
	var waits []time.Duration
	for range 4 {
		if n, err := d.Round(context.Background()); n != 1 || err != nil {
			t.Fatalf("round: %d %v", n, err)
		}
		got := onlyDelivery(t, st)
		waits = append(waits, got.NextAt.Sub(now))
		now = got.NextAt
	}
	got := onlyDelivery(t, st)
	if got.Status != service.DeliveryDead || got.Attempts != 4 {
		t.Fatalf("after 4 failures: %+v", got)
	}
	// A fifth of each wait is random: 48–60 s, 96–120 s, 192–240 s.
	for i, lo := range []time.Duration{48 * time.Second, 96 * time.Second, 192 * time.Second} {
		if waits[i] < lo || waits[i] > lo*5/4 {
			t.Errorf("wait %d is %v, want %v to %v", i+1, waits[i], lo, lo*5/4)
		}
	}
	if n, _ := d.Round(context.Background()); n != 0 {
		t.Fatal("a dead delivery was tried again")
	}
}
