package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"daiban/internal/testdb"
)

// TestTwoInstances runs two servers on one database — a PostgreSQL schema,
// or one SQLite file shared by two processes (WAL, busy timeout) — and
// hammers both at once: the workload spread over both, the same
// idempotent registration and transition sent to both at the same moment,
// and rival transitions of one errand at one version through both. Then: no
// receipt number twice, each idempotency key made one errand and every
// retry got that answer, each rival pair had one winner and the winner's
// step is in the ledger, nothing acknowledged is missing, the statistics
// equal a recomputation, and a code-guessing client is locked out across
// both servers.
func TestTwoInstances(t *testing.T) {
	db := testdb.DSN(t)
	seed(t, db)
	a, b := start(t, keyed(db)), start(t, keyed(db))
	bases := []string{a.URL, b.URL}
	rngSeed := uint64(time.Now().UnixNano())
	t.Logf("engine %s, seed %d", testdb.Engine(), rngSeed)
	ws := workers(t, a.URL, 4, rngSeed)

	// 1. The workload, each request to either server at random, with
	// twins (one key, both servers at once) and rivals (two keys, one version).
	var wg sync.WaitGroup
	var mu sync.Mutex
	var twinRegs, twinSteps, rivals, rivalWins int
	var problems []string
	fail := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	// Each worker goes on for at least 2 s and until it has sent 60 writes,
	// 4 twin registrations, 4 twin steps and 4 rival pairs (a slow machine
	// under the race detector takes longer, not fewer); 60 s at most.
	began := time.Now()
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(rngSeed, uint64(100+w.n)))
			var regs, steps, pairs int
			for time.Since(began) < 2*time.Second || w.sent < 60 || regs < 4 || steps < 4 || pairs < 4 {
				if time.Since(began) > 60*time.Second {
					fail("worker %d: only %d writes, %d twin registrations, %d twin steps, %d rival pairs in 60 s", w.n, w.sent, regs, steps, pairs)
					return
				}
				req := w.next()
				switch p := rng.IntN(10); {
				case p < 2:
					// Twins: the same request and key to both servers at once.
					answers := twins(w, req, bases)
					if msg := sameAnswer(answers); msg != "" {
						fail("twins %s %s: %s", req.action, req.key, msg)
						continue
					}
					w.sent++
					if w.record(req, answers[0]) {
						w.acked++
					}
					mu.Lock()
					if req.action == "register" {
						twinRegs++
						regs++
					} else {
						twinSteps++
						steps++
					}
					mu.Unlock()
				case p < 3 && req.action != "register":
					// Rivals: the same step at the same version, two keys, both servers.
					answers := make([]reply, 2)
					var rw sync.WaitGroup
					for i := range answers {
						rw.Add(1)
						go func() {
							defer rw.Done()
							c := req.who.clone()
							c.base = bases[i]
							r, err := c.do("POST", req.path, req.body, map[string]string{"Idempotency-Key": fmt.Sprintf("%s-rival%d", req.key, i)})
							if err != nil {
								fail("rival %s: %v", req.key, err)
							}
							answers[i] = r
						}()
					}
					rw.Wait()
					ok, lost := 0, 0
					var win reply
					for _, r := range answers {
						switch {
						case r.status == http.StatusOK:
							ok++
							win = r
						case r.status == http.StatusConflict && (r.code() == "version_conflict" || r.code() == "invalid_transition"):
							lost++
						}
					}
					if ok != 1 || lost != 1 {
						fail("rivals %s on %s: %d won, %d lost: %d %s / %d %s", req.action, req.errand.id, ok, lost,
							answers[0].status, answers[0].body, answers[1].status, answers[1].body)
						continue
					}
					w.sent++
					if w.record(req, win) {
						w.acked++
					}
					mu.Lock()
					rivals++
					rivalWins += ok
					pairs++
					mu.Unlock()
				default:
					w.setBase(bases[rng.IntN(2)])
					if !w.send(req) {
						fail("%s %s: the server did not answer", req.action, req.key)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if f := append(problems, failures(ws)...); len(f) > 0 {
		t.Fatalf("under load on two servers:\n%s", strings.Join(f, "\n"))
	}
	sent, acked := 0, 0
	for _, w := range ws {
		sent += w.sent
		acked += w.acked
	}

	// 2. A guessing client alternating between the servers is held off
	// after five wrong codes for the receipt in all, and never sees the
	// errand, not even with the right code. (Each server also limits lookups per client address,
	// 20 at once; these 40 guesses stay within that, so every 429 here is
	// the lockout the servers share through the database.)
	target := ws[0].errands[0]
	guesser := []*client{newClient(a.URL), newClient(b.URL)}
	notFound, locked := 0, 0
	for i := 0; i < 40; i++ {
		guess := fmt.Sprintf("%06d", (i*7919+13)%1000000)
		if i == 20 {
			guess = target.code // the right code, once locked out
		} else if guess == target.code {
			continue
		}
		r, err := guesser[i%2].do("GET", "/api/v1/public/receipts/"+target.receipt+"?code="+guess, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.status == http.StatusOK || strings.Contains(string(r.body), "applicant_name") || strings.Contains(string(r.body), "timeline") {
			t.Fatalf("guess %d (%s) through server %d was answered with the errand: %d %s", i, guess, i%2, r.status, r.body)
		}
		switch {
		case i < 5 && r.status == http.StatusNotFound && r.code() == "receipt_not_found":
			notFound++
		case i >= 5 && r.status == http.StatusTooManyRequests && r.code() == "too_many_lookups" && r.header.Get("Retry-After") != "":
			locked++
		default:
			t.Errorf("guess %d through server %d: %d %s", i, i%2, r.status, r.body)
		}
	}

	// 3. The database after both servers stop cleanly.
	for _, s := range []*server{a, b} {
		if code := s.stop(); code != 0 {
			t.Fatalf("SIGTERM: exit %d\n%s", code, s.logs.String())
		}
	}
	found, errands, events := checkAfterCrash(t, db, allAcks(ws))
	if found != acked {
		t.Errorf("found %d of %d acknowledged writes", found, acked)
	}
	t.Logf("two servers on one %s database: %d writes sent, %d acknowledged, %d found; %d idempotent registrations and %d idempotent steps sent to both servers at once, each done once and answered alike; "+
		"%d rival pairs, %d winners, none lost; %d errands, %d events, no receipt number twice; 40 guesses over both servers: %d wrong-code answers, then %d locked out (the right code too)",
		testdb.Engine(), sent, acked, found, twinRegs, twinSteps, rivals, rivalWins, errands, events, notFound, locked)
	checkLogs(t, a.logs.String()+b.logs.String(), map[string]string{"the admin password": adminPassword, "the demo password": demoPassword,
		"the verify code": `"` + target.code + `"`, "a token": ws[0].agent.token})
}

// twins sends one request with one key to every server at the same moment;
// an answer that the key is still in flight is asked again.
func twins(w *worker, req request, bases []string) []reply {
	answers := make([]reply, len(bases))
	var wg sync.WaitGroup
	for i, base := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := req.who.clone()
			c.base = base
			for try := 0; try < 50; try++ {
				r, err := c.do("POST", req.path, req.body, map[string]string{"Idempotency-Key": req.key})
				if err != nil {
					answers[i] = reply{status: 599, body: []byte(err.Error())}
					return
				}
				answers[i] = r
				if r.status != http.StatusConflict || r.code() != "idempotency_in_flight" {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	return answers
}

// sameAnswer checks that twin answers are one success told alike, done once.
func sameAnswer(answers []reply) string {
	replayed := 0
	var first errandReply
	for i, r := range answers {
		if r.status != http.StatusOK && r.status != http.StatusCreated {
			return fmt.Sprintf("answer %d: %d %s", i, r.status, r.body)
		}
		var e errandReply
		if err := jsonDecode(r.body, &e); err != nil {
			return err.Error()
		}
		if i == 0 {
			first = e
		} else if e.ID != first.ID || e.ReceiptNo != first.ReceiptNo || e.Version != first.Version || e.Status != first.Status {
			return fmt.Sprintf("answers differ: %s / %s", answers[0].body, r.body)
		}
		if r.header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if replayed != len(answers)-1 {
		return fmt.Sprintf("%d of %d answers were replays; exactly one should have done the work", replayed, len(answers))
	}
	return ""
}
