package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"daiban/service"
)

// The workload: village agents register errands and officers move them
// along the whole lifecycle, every request with an Idempotency-Key, so a
// request whose answer was lost can be sent again.

// items the workload registers: one decided at the township, one at the city.
var workloadItems = map[string][]string{
	"SH01": {"参保登记表", "身份证", "户口簿"},
	"SH03": {"低保申请书", "身份证", "户口簿", "家庭收入证明"},
}

var calendar = service.NewCalendar(service.ShippedCalendars())

// idNumber is the i-th of a family of valid resident ID numbers (Changle,
// born 1950 onwards), each distinct.
func idNumber(i int) string {
	birth := service.MakeDate(1950, 1, 1) + service.Date(i%20000)
	body := fmt.Sprintf("350182%s%03d", strings.ReplaceAll(birth.String(), "-", ""), i%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for k, w := range weights {
		sum += int(body[k]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

// tracked is an errand as its worker knows it.
type tracked struct {
	id, receipt, code, note, item string
	idNumber, phone               string
	status, holderLevel           string
	version                       int
	due                           string
}

func (e *tracked) open() bool { return e.status != "delivered" && e.status != "withdrawn" }

func (e *tracked) update(r errandReply) {
	e.status, e.version, e.holderLevel, e.due = r.Status, r.Version, r.HolderOrg.Level, r.DueDate
}

// ack is one acknowledged (2xx) write: the errand, the step and the
// version it answered.
type ack struct {
	errandID, receipt, action string
	version                   int
}

// request is one write to send, or to send again with the same key and body.
type request struct {
	who    *client
	path   string
	action string // "register" or the transition
	key    string
	body   map[string]any
	errand *tracked // nil for a registration until it is answered
	reg    *tracked // the registration's errand-to-be
}

// worker is one client: an agent with the officers above its village.
type worker struct {
	n                      int
	agent, officer, city   *client
	rng                    *rand.Rand
	errands                []*tracked
	ops                    int
	pending                *request // sent, answer lost: send again after the restart
	acks                   []ack
	sent, acked, inDoubt   int
	resolved, hadCommitted int
	secrets                []string
	failures               []string
	onAck                  func() // called after each acknowledged write
}

func (w *worker) setBase(base string) {
	w.agent.base, w.officer.base, w.city.base = base, base, base
}

// next chooses the worker's next write.
func (w *worker) next() request {
	w.ops++
	key := fmt.Sprintf("w%d-op%d", w.n, w.ops)
	var open []*tracked
	for _, e := range w.errands {
		if e.open() {
			open = append(open, e)
		}
	}
	if len(open) < 3 || w.rng.IntN(4) == 0 {
		return w.registration(key)
	}
	e := open[w.rng.IntN(len(open))]
	body := map[string]any{"version": e.version}
	req := request{who: w.agent, key: key, body: body, errand: e}
	officer := w.officer
	if e.holderLevel == "city" {
		officer = w.city
	}
	p := w.rng.IntN(100)
	switch e.status {
	case "registered":
		req.action = "forward"
		if p < 8 {
			req.action, body["reason"] = "withdraw", "申请人撤回"
		}
	case "forwarded":
		req.action, req.who = "accept", officer
	case "processing":
		req.who = officer
		itemLevel := map[string]string{"SH01": "township", "SH03": "city"}[e.item]
		switch {
		case e.holderLevel != itemLevel:
			req.action = "forward"
		case p < 60:
			req.action, body["outcome"] = "complete", "approved"
		case p < 70:
			req.action, body["outcome"], body["reason"] = "complete", "refused", "不符合条件"
		case p < 82:
			req.action, body["missing_materials"] = "return", workloadItems[e.item][1:2]
		case p < 92:
			due, _ := service.ParseDate(e.due)
			req.action, body["due_date"], body["reason"] = "extend", calendar.AddWorkingDays(due, 3).String(), "需现场核查"
		default:
			req.action, body["reason"] = "withdraw", "申请人撤回"
		}
	case "correction":
		req.action = "resubmit"
	case "completed":
		req.action = "deliver"
		body["receipt_recovered"] = p >= 15
		if p < 15 {
			body["id_number"] = e.idNumber // a lost receipt: the resident shows the ID card
		}
		body["satisfaction"] = w.rng.IntN(6)
	}
	req.path = "/api/v1/errands/" + e.id + "/" + req.action
	return req
}

func (w *worker) registration(key string) request {
	i := w.n*100000 + w.ops
	item := "SH01"
	if w.rng.IntN(2) == 0 {
		item = "SH03"
	}
	e := &tracked{note: fmt.Sprintf("e2e %s", key), item: item, idNumber: idNumber(i), phone: fmt.Sprintf("139%08d", i)}
	w.secrets = append(w.secrets, e.idNumber, e.phone)
	return request{who: w.agent, path: "/api/v1/errands", action: "register", key: key, reg: e, body: map[string]any{
		"item_code": item, "materials": workloadItems[item], "channel": "walk_in", "note": e.note,
		"no_sms":    i%5 == 0, // a fifth of applicants decline text messages
		"applicant": map[string]any{"name": "陈秀英", "id_number": e.idNumber, "phone": e.phone, "address": "吴航街道"},
	}}
}

// send sends req and records the answer. It reports false when the answer
// was lost (the server is gone); the request then waits as pending.
func (w *worker) send(req request) bool {
	w.sent++
	r, err := req.who.do("POST", req.path, req.body, map[string]string{"Idempotency-Key": req.key})
	if err != nil {
		w.inDoubt++
		w.pending = &req
		return false
	}
	if w.record(req, r) {
		w.acked++
		if w.onAck != nil {
			w.onAck()
		}
	}
	return true
}

// record checks an answer and notes what it acknowledged; it reports
// whether the write was acknowledged.
func (w *worker) record(req request, r reply) bool {
	want := http.StatusOK
	if req.action == "register" {
		want = http.StatusCreated
	}
	if r.status == http.StatusConflict && r.code() == "idempotency_in_flight" {
		w.pending = &req // a twin still in flight: ask again later
		return false
	}
	if r.status != want {
		w.failures = append(w.failures, fmt.Sprintf("%s %s (key %s): %d %s", req.action, req.path, req.key, r.status, r.body))
		return false
	}
	var out errandReply
	if err := jsonDecode(r.body, &out); err != nil {
		w.failures = append(w.failures, fmt.Sprintf("%s: undecodable answer %s", req.action, r.body))
		return false
	}
	e := req.errand
	if req.action == "register" {
		e = req.reg
		if out.Note != e.note || out.VerifyCode == nil {
			w.failures = append(w.failures, fmt.Sprintf("registration %s answered another errand: %s", req.key, r.body))
			return false
		}
		e.id, e.receipt, e.code = out.ID, out.ReceiptNo, *out.VerifyCode
		w.secrets = append(w.secrets, `"`+e.code+`"`, "="+e.code)
		w.errands = append(w.errands, e)
	} else if out.ID != e.id || out.Version < 2 {
		w.failures = append(w.failures, fmt.Sprintf("%s on %s answered %s", req.action, e.id, r.body))
		return false
	}
	e.update(out)
	w.acks = append(w.acks, ack{errandID: out.ID, receipt: out.ReceiptNo, action: req.action, version: out.Version})
	return true
}

// resolve sends the request whose answer was lost once more, with the same
// key and body: the server answers what it did, or does it now.
func (w *worker) resolve() {
	req := w.pending
	if req == nil {
		return
	}
	w.pending = nil
	r, err := req.who.do("POST", req.path, req.body, map[string]string{"Idempotency-Key": req.key})
	if err != nil {
		w.failures = append(w.failures, fmt.Sprintf("resending %s after the restart: %v", req.key, err))
		return
	}
	if w.record(*req, r) {
		w.resolved++
		if r.header.Get("Idempotent-Replayed") == "true" {
			w.hadCommitted++
		}
	}
}

// run sends writes until stop is closed or the server goes away.
func (w *worker) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if !w.send(w.next()) {
			return
		}
		if w.pending != nil {
			return
		}
	}
}

// workers signs in n workers over two agents in two townships (workers
// share a user; their Idempotency-Keys carry the worker's number), each with
// its township's officer and a city officer. Signing in costs a bcrypt each,
// seconds under the race detector, so they sign in at once and only a few.
func workers(t testing.TB, base string, n int, seed uint64) []*worker {
	t.Helper()
	agentNames := []string{"ag001", "ag300"}
	users := loginAll(t, base, map[string]string{"admin": adminPassword, "city01": demoPassword, "ag001": demoPassword, "ag300": demoPassword})
	officerOf := map[string]string{}
	for _, name := range agentNames {
		agent := users[name]
		var me struct {
			OrgID string `json:"org_id"`
		}
		r, _ := agent.do("GET", "/api/v1/auth/me", nil, nil)
		r.decode(t, &me)
		var village struct {
			ParentID string `json:"parent_id"`
		}
		r, _ = agent.do("GET", "/api/v1/orgs/"+me.OrgID, nil, nil)
		r.decode(t, &village)
		var list struct {
			Items []struct {
				Username string `json:"username"`
			} `json:"items"`
		}
		r, _ = users["admin"].do("GET", "/api/v1/users?role=township_officer&org_id="+village.ParentID, nil, nil)
		r.decode(t, &list)
		if len(list.Items) == 0 {
			t.Fatalf("no township officer above %s: %s", name, r.body)
		}
		officerOf[name] = list.Items[0].Username
	}
	if officerOf[agentNames[0]] == officerOf[agentNames[1]] {
		t.Fatalf("%v share a township; pick agents further apart", agentNames)
	}
	officers := loginAll(t, base, map[string]string{officerOf[agentNames[0]]: demoPassword, officerOf[agentNames[1]]: demoPassword})
	var out []*worker
	for i := 0; i < n; i++ {
		name := agentNames[i%len(agentNames)]
		agent, officer, city := users[name], officers[officerOf[name]], users["city01"]
		// Each worker has its own connections.
		w := &worker{n: i, agent: agent.clone(), officer: officer.clone(), city: city.clone(), rng: rand.New(rand.NewPCG(seed, uint64(i)))}
		w.secrets = append(w.secrets, agent.token, officer.token, city.token)
		out = append(out, w)
	}
	return out
}

// loginAll signs the users in at the same time.
func loginAll(t testing.TB, base string, passwords map[string]string) map[string]*client {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]*client{}
	var errs []string
	for name, password := range passwords {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(base)
			r, err := c.do("POST", "/api/v1/auth/login", map[string]string{"username": name, "password": password}, nil)
			var tok struct {
				Token string `json:"token"`
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil || r.status != http.StatusOK || jsonDecode(r.body, &tok) != nil {
				errs = append(errs, fmt.Sprintf("login %s: %v %d %s", name, err, r.status, r.body))
				return
			}
			c.token = tok.Token
			out[name] = c
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(strings.Join(errs, "\n"))
	}
	return out
}

// allAcks gathers every worker's acknowledged writes.
func allAcks(ws []*worker) []ack {
	var out []ack
	for _, w := range ws {
		out = append(out, w.acks...)
	}
	return out
}

// failures gathers every worker's unexpected answers.
func failures(ws []*worker) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.failures...)
		w.failures = nil
	}
	slices.Sort(out)
	return out
}
