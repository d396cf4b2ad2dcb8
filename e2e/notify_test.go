package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"daiban/internal/testdb"
	"daiban/service"
)

// receiver is a webhook endpoint: it checks every delivery's signature
// with the Standard Webhooks library and its body with the CloudEvents SDK,
// and keeps what it accepted, in order.
type receiver struct {
	t    testing.TB
	srv  *httptest.Server
	mode string // "ok", "fail-first" (500 the first time it sees a message), "never" (always 503)

	mu       sync.Mutex
	signer   *standardwebhooks.Webhook
	seen     map[string]int // message id → deliveries received
	accepted []delivered    // in the order accepted, duplicates included
	bad      []string
}

type delivered struct {
	id       string
	errandID string
	version  int
	typ      string
	eventAt  time.Time
	gotAt    time.Time
}

func newReceiver(t testing.TB, mode string) *receiver {
	r := &receiver{t: t, mode: mode, seen: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setSecret(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		r.t.Fatal(err)
	}
	r.signer = s
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	id := req.Header.Get("webhook-id")
	if r.signer == nil {
		r.bad = append(r.bad, "a delivery before the endpoint was registered")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if err := r.signer.Verify(body, req.Header); err != nil {
		r.bad = append(r.bad, fmt.Sprintf("%s: signature: %v", id, err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev event.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.bad = append(r.bad, fmt.Sprintf("%s: not a CloudEvent: %v", id, err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := ev.Validate(); err != nil || ev.ID() != id || ev.SpecVersion() != "1.0" {
		r.bad = append(r.bad, fmt.Sprintf("%s: CloudEvent %s: %v", id, ev.ID(), err))
	}
	var data struct {
		ErrandID  string `json:"errand_id"`
		Version   int    `json:"version"`
		Applicant string `json:"applicant"`
	}
	if err := ev.DataAs(&data); err != nil || data.ErrandID == "" {
		r.bad = append(r.bad, fmt.Sprintf("%s: data: %v", id, err))
	}
	if strings.Contains(string(body), "id_number") || strings.Contains(string(body), "phone") {
		r.bad = append(r.bad, id+": the payload carries a phone or an ID number")
	}
	r.seen[id]++
	switch {
	case r.mode == "never", r.mode == "fail-first" && r.seen[id] == 1:
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.accepted = append(r.accepted, delivered{id: id, errandID: data.ErrandID, version: data.Version, typ: ev.Type(), eventAt: ev.Time(), gotAt: time.Now()})
	w.WriteHeader(http.StatusNoContent)
}

// check asserts the accepted deliveries are exactly want (ids), each case's
// in order, and returns how many arrived more than once.
func (r *receiver) check(t *testing.T, name string, want map[string]bool) (dups int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		t.Errorf("%s refused deliveries:\n%s", name, strings.Join(r.bad[:min(len(r.bad), 10)], "\n"))
	}
	got := map[string]int{}
	last := map[string]int{}
	for _, d := range r.accepted {
		got[d.id]++
		if got[d.id] > 1 {
			dups++
			continue
		}
		if d.version <= last[d.errandID] {
			t.Errorf("%s: errand %s version %d after %d: a case's deliveries out of order", name, d.errandID, d.version, last[d.errandID])
		}
		last[d.errandID] = d.version
	}
	var missing, extra []string
	for id := range want {
		if got[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id := range got {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("%s: %d of %d committed steps never delivered (%v), %d delivered for no committed step (%v)",
			name, len(missing), len(want), missing[:min(len(missing), 5)], len(extra), extra[:min(len(extra), 5)])
	}
	return dups
}

// latencies are the times from each step to its first acceptance.
func (r *receiver) latencies() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []time.Duration
	for _, d := range r.accepted {
		if !seen[d.id] {
			seen[d.id] = true
			out = append(out, d.gotAt.Sub(d.eventAt))
		}
	}
	slices.Sort(out)
	return out
}

// smsGateway is an SMS provider's HTTP endpoint, keeping every text.
type smsGateway struct {
	srv   *httptest.Server
	mu    sync.Mutex
	texts map[string][]string // message id → texts received
	auth  []string
}

func newSMSGateway(t testing.TB) *smsGateway {
	g := &smsGateway{texts: map[string][]string{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m struct{ ID, Phone, Text, TemplateID string }
		json.NewDecoder(req.Body).Decode(&m)
		g.mu.Lock()
		g.texts[m.ID] = append(g.texts[m.ID], m.Phone+"|"+m.Text)
		g.auth = append(g.auth, req.Header.Get("Authorization"))
		g.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// committedSteps reads every step in the database since `since` and the
// SMS each completion should send.
func committedSteps(t *testing.T, db string, since time.Time) (steps map[string]bool, completes map[string]bool, sms map[string]string) {
	t.Helper()
	st, _ := openStore(t, db)
	defer st.Close()
	rows, err := st.DB().Raw(`SELECT v.errand_id, v.seq, v.action, v.at, e.no_sms, e.applicant_phone, e.receipt_no, e.item_name, o.name
		FROM events v JOIN errands e ON e.id = v.errand_id JOIN orgs o ON o.id = e.intake_org_id`).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	steps, completes, sms = map[string]bool{}, map[string]bool{}, map[string]string{}
	for rows.Next() {
		var id, action, phone, receipt, item, intake string
		var seq int
		var at time.Time
		var noSMS bool
		if err := rows.Scan(&id, &seq, &action, &at, &noSMS, &phone, &receipt, &item, &intake); err != nil {
			t.Fatal(err)
		}
		if at.Before(since) {
			continue
		}
		msg := fmt.Sprintf("%s.%d", id, seq)
		steps[msg+".webhook"] = true
		if action == "complete" {
			completes[msg+".webhook"] = true
			if !noSMS {
				sms[msg+".sms"] = phone + "|" + service.RenderSMS(service.DefaultCompletedSMS, intake, item, "http://daiban.test/q/"+receipt)
			}
		}
	}
	return steps, completes, sms
}

// waitDrained waits until the outbox has nothing pending.
func waitDrained(t *testing.T, admin *client) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r, err := admin.do("GET", "/api/v1/admin/outbox?status=pending&limit=500", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		r.decode(t, &page)
		if len(page.Items) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox still holds %d pending deliveries after 2 minutes: %s", len(page.Items), r.body[:min(len(r.body), 500)])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func addWebhook(t *testing.T, admin *client, url string, types ...string) string {
	t.Helper()
	r, err := admin.do("POST", "/api/v1/webhooks", map[string]any{"url": url, "types": types}, nil)
	if err != nil || r.status != http.StatusCreated {
		t.Fatalf("add webhook %s: %v %d %s", url, err, r.status, r.body)
	}
	var w struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	r.decode(t, &w)
	if !strings.HasPrefix(w.Secret, "whsec_") {
		t.Fatalf("no secret in the answer: %s", r.body)
	}
	r, _ = admin.do("GET", "/api/v1/webhooks", nil, nil)
	if strings.Contains(string(r.body), w.Secret) {
		t.Fatal("the secret is listed again after its creation")
	}
	return w.Secret
}

func notifyEnv(db string, sms *smsGateway) []string {
	return append(keyed(db), "DAIBAN_WEBHOOK_LOOPBACK_HTTP=true", "DAIBAN_SMS_URL="+sms.srv.URL, "DAIBAN_SMS_TOKEN=sms-token-e2e",
		"DAIBAN_PUBLIC_URL=http://daiban.test")
}

// TestNotifications runs the mixed workload with three webhook endpoints
// (one that accepts, one that fails each message once, one that always
// fails) and an SMS gateway, then checks that every committed step reached
// every endpoint once accepted, in order per case, signed, and that each
// completion's text reached the gateway exactly as expected.
func TestNotifications(t *testing.T) {
	db := testdb.DSN(t)
	seed(t, db)
	sms := newSMSGateway(t)
	good, flaky, down := newReceiver(t, "ok"), newReceiver(t, "fail-first"), newReceiver(t, "never")
	srv := start(t, notifyEnv(db, sms), "--notify-backoff", "100ms", "--notify-attempts", "3")
	admin := newClient(srv.URL).login(t, "admin", adminPassword)

	// Bad endpoints are refused, naming the field.
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": "http://example.com/hook", "types": []string{"*"}}, "url"},
		{map[string]any{"url": "https://10.1.2.3/hook", "types": []string{"*"}}, "url"},
		{map[string]any{"url": "https://[::1]:8443/hook", "types": []string{"*"}}, "url"},
		{map[string]any{"url": "not a url", "types": []string{"*"}}, "url"},
		{map[string]any{"url": "https://example.com/hook", "types": []string{"errand.nothing"}}, "types[0]"},
	} {
		r, _ := admin.do("POST", "/api/v1/webhooks", bad.body, nil)
		if r.status < 400 || r.status > 499 || !strings.Contains(string(r.body), `"`+bad.field+`"`) {
			t.Errorf("%v: %d %s; want a 4xx naming %s", bad.body, r.status, r.body, bad.field)
		}
	}
	since := time.Now().UTC().Add(-time.Second)
	good.setSecret(addWebhook(t, admin, good.srv.URL+"/hook", "*"))
	flaky.setSecret(addWebhook(t, admin, flaky.srv.URL+"/hook", "*"))
	down.setSecret(addWebhook(t, admin, down.srv.URL+"/hook", "errand.complete"))

	ws := workers(t, srv.URL, 4, uint64(time.Now().UnixNano()))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(stop) }()
	}
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	if f := failures(ws); len(f) > 0 {
		t.Fatalf("workload:\n%s", strings.Join(f, "\n"))
	}
	waitDrained(t, admin)

	steps, completes, wantSMS := committedSteps(t, db, since)
	if len(completes) == 0 {
		t.Fatalf("the workload completed nothing in %d steps", len(steps))
	}
	if dups := good.check(t, "the accepting endpoint", steps); dups != 0 {
		t.Errorf("the accepting endpoint got %d messages twice with one instance and no failure", dups)
	}
	flaky.check(t, "the endpoint failing each message once", steps)
	flaky.mu.Lock()
	for id, n := range flaky.seen {
		if n != 2 {
			t.Errorf("the failing-once endpoint saw %s %d times; want 2 (refused, then accepted)", id, n)
		}
	}
	flaky.mu.Unlock()

	// The endpoint that never accepts: every completion dead after 3 tries.
	r, _ := admin.do("GET", "/api/v1/admin/outbox?status=dead&limit=500", nil, nil)
	var dead struct {
		Items []struct {
			ID        string `json:"id"`
			MessageID string `json:"message_id"`
			Attempts  int    `json:"attempts"`
			LastError string `json:"last_error"`
		} `json:"items"`
	}
	r.decode(t, &dead)
	deadIDs := map[string]bool{}
	for _, d := range dead.Items {
		deadIDs[d.MessageID] = true
		if d.Attempts != 3 || !strings.Contains(d.LastError, "503") {
			t.Errorf("dead delivery %s: %d attempts, last error %q; want 3 and the 503", d.ID, d.Attempts, d.LastError)
		}
	}
	down.mu.Lock()
	for id := range completes {
		if !deadIDs[id] || down.seen[id] != 3 {
			t.Errorf("completion %s: dead %v after %d tries at the failing endpoint; want dead after 3", id, deadIDs[id], down.seen[id])
		}
	}
	if len(down.accepted) != 0 || len(down.seen) != len(completes) {
		t.Errorf("the failing endpoint saw %d messages; it subscribed to the %d completions only", len(down.seen), len(completes))
	}
	down.mu.Unlock()
	// An admin replays one: it is tried again (and dies again).
	if len(dead.Items) > 0 {
		r, _ := admin.do("POST", "/api/v1/admin/outbox/"+dead.Items[0].ID+"/replay", nil, nil)
		if r.status != http.StatusNoContent {
			t.Fatalf("replay: %d %s", r.status, r.body)
		}
		waitDrained(t, admin)
		down.mu.Lock()
		if n := down.seen[dead.Items[0].MessageID]; n != 6 {
			t.Errorf("after a replay the failing endpoint saw the message %d times; want 6", n)
		}
		down.mu.Unlock()
	}

	// The SMS gateway got each expected text once, and nothing else.
	sms.mu.Lock()
	for id, want := range wantSMS {
		if got := sms.texts[id]; len(got) != 1 || got[0] != want {
			t.Errorf("SMS %s: got %q, want %q once", id, got, want)
		}
	}
	for id := range sms.texts {
		if _, ok := wantSMS[id]; !ok {
			t.Errorf("SMS %s sent for no completion of an applicant who accepted texts", id)
		}
	}
	for _, a := range sms.auth {
		if a != "Bearer sms-token-e2e" {
			t.Errorf("the gateway got Authorization %q", a)
		}
	}
	if len(wantSMS) == 0 || len(wantSMS) == len(completes) {
		t.Errorf("%d texts for %d completions: the workload should have both kinds of applicant", len(wantSMS), len(completes))
	}
	sms.mu.Unlock()

	// The agents' inboxes hold 待送达 for their completions.
	inboxes := 0
	for _, name := range []string{"ag001", "ag300"} {
		c := newClient(srv.URL).login(t, name, demoPassword)
		r, _ := c.do("GET", "/api/v1/inbox?limit=500", nil, nil)
		var in struct {
			Items []struct {
				ID, Text string
			} `json:"items"`
			Unread int `json:"unread"`
		}
		r.decode(t, &in)
		n := 0
		for _, it := range in.Items {
			if strings.HasPrefix(it.Text, "待送达") {
				n++
			}
		}
		inboxes += n
		if in.Unread < n || len(in.Items) == 0 {
			t.Errorf("%s: %d unread of %d messages", name, in.Unread, len(in.Items))
			continue
		}
		r, _ = c.do("POST", "/api/v1/inbox/"+in.Items[0].ID+"/read", nil, nil)
		if r.status != http.StatusNoContent {
			t.Errorf("mark read: %d %s", r.status, r.body)
		}
		r, _ = c.do("GET", "/api/v1/inbox?limit=500", nil, nil)
		var after struct {
			Unread int `json:"unread"`
		}
		r.decode(t, &after)
		if after.Unread != in.Unread-1 {
			t.Errorf("%s: unread %d after reading one of %d", name, after.Unread, in.Unread)
		}
	}
	if inboxes != len(completes) {
		t.Errorf("%d 待送达 messages for %d completions", inboxes, len(completes))
	}

	lat := good.latencies()
	t.Logf("%s: %d steps, %d completions, %d texts; webhook latency from step to acceptance p50 %v, p99 %v, max %v",
		testdb.Engine(), len(steps), len(completes), len(wantSMS), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	mr, err := newClient(srv.URL).do("GET", "/metrics", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	metrics := string(mr.body)
	for _, m := range []string{`daiban_deliveries_total{channel="webhook"}`, `daiban_deliveries_total{channel="sms"}`, `daiban_delivery_failures_total{channel="webhook",dead="true"}`, "daiban_outbox_pending 0"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

// TestNotificationsSurviveKill kills the server three times while
// deliveries are in flight: after the last restart every committed step
// has reached the endpoint, and none that rolled back.
func TestNotificationsSurviveKill(t *testing.T) {
	db := testdb.DSN(t)
	seed(t, db)
	good := newReceiver(t, "ok")
	// No gateway: texts go to the log, as in the demo.
	env := append(keyed(db), "DAIBAN_WEBHOOK_LOOPBACK_HTTP=true", "DAIBAN_PUBLIC_URL=http://daiban.test")
	srv := start(t, env)
	var logs strings.Builder
	admin := newClient(srv.URL).login(t, "admin", adminPassword)
	since := time.Now().UTC().Add(-time.Second)
	good.setSecret(addWebhook(t, admin, good.srv.URL+"/hook", "*"))
	ws := workers(t, srv.URL, 4, uint64(time.Now().UnixNano()))
	for round := 1; round <= 3; round++ {
		if round > 1 {
			srv = start(t, env)
			for _, w := range ws {
				w.setBase(srv.URL)
				w.resolve()
			}
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, w := range ws {
			wg.Add(1)
			go func() { defer wg.Done(); w.run(stop) }()
		}
		time.Sleep(1500 * time.Millisecond)
		srv.kill()
		logs.WriteString(srv.logs.String())
		close(stop)
		wg.Wait()
		failures(ws) // answers lost to the kill are resolved after the restart
	}
	srv = start(t, env)
	for _, w := range ws {
		w.setBase(srv.URL)
		w.resolve()
	}
	if f := failures(ws); len(f) > 0 {
		t.Fatalf("after the last restart:\n%s", strings.Join(f, "\n"))
	}
	admin = newClient(srv.URL).login(t, "admin", adminPassword)
	waitDrained(t, admin)
	steps, _, wantSMS := committedSteps(t, db, since)
	dups := good.check(t, "the endpoint", steps)
	logs.WriteString(srv.logs.String())
	logged := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"SMS (log only)"`) {
			logged++
			if !strings.Contains(line, "已办结") || !strings.Contains(line, `"phone":"139****`) {
				t.Errorf("a logged text: %s", line)
			}
		}
	}
	// At least once each (a kill between logging and recording logs one again).
	if logged < len(wantSMS) || len(wantSMS) == 0 {
		t.Errorf("%d texts logged for %d completions that text", logged, len(wantSMS))
	}
	t.Logf("%s: %d committed steps delivered across 3 kills; %d delivered twice (a kill between sending and recording)", testdb.Engine(), len(steps), dups)
}

// TestNotificationsTwoInstances runs two servers on one database, both
// dispatching: no message reaches the endpoint twice.
func TestNotificationsTwoInstances(t *testing.T) {
	db := testdb.DSN(t)
	seed(t, db)
	sms := newSMSGateway(t)
	good := newReceiver(t, "ok")
	env := notifyEnv(db, sms)
	a, b := start(t, env), start(t, env)
	admin := newClient(a.URL).login(t, "admin", adminPassword)
	since := time.Now().UTC().Add(-time.Second)
	good.setSecret(addWebhook(t, admin, good.srv.URL+"/hook", "*"))
	ws := workers(t, a.URL, 4, uint64(time.Now().UnixNano()))
	for i, w := range ws {
		if i%2 == 1 {
			w.setBase(b.URL)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(stop) }()
	}
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	if f := failures(ws); len(f) > 0 {
		t.Fatalf("workload:\n%s", strings.Join(f, "\n"))
	}
	waitDrained(t, admin)
	steps, _, _ := committedSteps(t, db, since)
	if dups := good.check(t, "the endpoint", steps); dups != 0 {
		t.Errorf("%d messages sent by both instances", dups)
	}
	t.Logf("%s: %d steps through two instances, each delivered once", testdb.Engine(), len(steps))
}
