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

// TestCrashRecovery runs the real binary under writes from several clients,
// kills it with SIGKILL at a random moment, restarts it on the same database
// and checks that nothing acknowledged was lost: every 2xx registration is
// there with its receipt number, every 2xx transition is in the errand's
// ledger at the version it answered, no errand is half-written, every chain
// verifies, no receipt number repeats, no retried registration was made
// twice, and the statistics rollups equal a recomputation. Requests whose
// answer the kill swallowed are sent again after the restart with the same
// Idempotency-Key and must succeed exactly once. Finally nothing the clients
// sent in secret (tokens, passwords, ID numbers, phones, codes) is in the
// server's output.
func TestCrashRecovery(t *testing.T) {
	const rounds, nWorkers = 4, 6
	db := testdb.DSN(t)
	seed(t, db)
	rngSeed := uint64(time.Now().UnixNano())
	t.Logf("engine %s, seed %d", testdb.Engine(), rngSeed)
	rng := rand.New(rand.NewPCG(rngSeed, 7))

	var logs strings.Builder
	srv := start(t, keyed(db))
	ws := workers(t, srv.URL, nWorkers, rngSeed)
	var totalSent, totalAcked, totalResent int
	for round := 1; round <= rounds; round++ {
		if round > 1 {
			srv = start(t, keyed(db))
		}
		resolved, committed := 0, 0
		for _, w := range ws {
			w.setBase(srv.URL)
			w.sent, w.acked, w.inDoubt, w.resolved, w.hadCommitted = 0, 0, 0, 0, 0
		}
		// First the requests the last crash left without an answer.
		for _, w := range ws {
			w.resolve()
			resolved += w.resolved
			committed += w.hadCommitted
		}
		if f := failures(ws); len(f) > 0 {
			t.Fatalf("round %d, resending after the restart:\n%s", round, strings.Join(f, "\n"))
		}
		checkThroughAPI(t, srv, ws)
		before := len(allAcks(ws))

		// The kill comes at a random moment 0.3 to 1.5 s after the first
		// write of the round is acknowledged, so every round kills a
		// server under load (a cold server, under the race detector, can
		// take a while to answer its first request).
		stop, flowing := make(chan struct{}), make(chan struct{})
		var once sync.Once
		var wg sync.WaitGroup
		for _, w := range ws {
			w.onAck = func() { once.Do(func() { close(flowing) }) }
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(stop)
			}()
		}
		select {
		case <-flowing:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: no write acknowledged within 30 s:\n%s", round, strings.Join(failures(ws), "\n"))
		}
		after := 300*time.Millisecond + time.Duration(rng.Int64N(int64(1200*time.Millisecond)))
		time.Sleep(after)
		srv.kill()
		close(stop)
		wg.Wait()
		logs.WriteString(srv.logs.String())
		if f := failures(ws); len(f) > 0 {
			t.Fatalf("round %d: unexpected answers:\n%s", round, strings.Join(f, "\n"))
		}

		sent, acked, doubt := 0, 0, 0
		for _, w := range ws {
			sent += w.sent
			acked += w.acked
			doubt += w.inDoubt
		}
		acks := allAcks(ws)
		found, errands, events := checkAfterCrash(t, db, acks)
		foundRound := found - before
		ackedRound := len(acks) - before
		totalSent += sent
		totalAcked += acked
		totalResent += resolved
		t.Logf("round %d (%s): resent the %d writes the last crash left unanswered (%d had committed, %d had not), all answered 2xx; "+
			"then killed %v after the first acknowledgement: sent %d, acknowledged %d, unanswered %d; found after the crash %d of %d acknowledged (all so far %d of %d); database %d errands, %d events",
			round, testdb.Engine(), resolved, committed, resolved-committed, after.Round(time.Millisecond), sent, acked, doubt, foundRound, ackedRound, found, len(acks), errands, events)
		if acked < 5 {
			t.Errorf("round %d: only %d writes acknowledged; the round proves little", round, acked)
		}
	}

	// A last restart settles the requests of the last crash, then a clean stop.
	srv = start(t, keyed(db))
	for _, w := range ws {
		w.setBase(srv.URL)
		w.resolved = 0
		w.resolve()
		totalResent += w.resolved
	}
	if f := failures(ws); len(f) > 0 {
		t.Fatalf("resending after the last restart:\n%s", strings.Join(f, "\n"))
	}
	checkThroughAPI(t, srv, ws)
	if code := srv.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, srv.logs.String())
	}
	logs.WriteString(srv.logs.String())
	found, errands, events := checkAfterCrash(t, db, allAcks(ws))
	if found != totalAcked+totalResent {
		t.Errorf("found %d writes, acknowledged %d and resent %d", found, totalAcked, totalResent)
	}
	t.Logf("in all (%s): %d writes sent, %d acknowledged at once, %d unanswered ones resent after restarts; all %d found; %d errands, %d events; %s",
		testdb.Engine(), totalSent, totalAcked, totalResent, found, errands, events, verifyLedger(t, db))

	secrets := map[string]string{"the admin password": adminPassword, "the demo password": demoPassword, "the secret key": secretKey}
	for _, w := range ws {
		for i, s := range w.secrets {
			secrets[fmt.Sprintf("worker %d secret %d", w.n, i)] = s
		}
	}
	checkLogs(t, logs.String(), secrets)
}

// checkAfterCrash checks the database of a stopped server against every
// acknowledged write and returns how many it found.
func checkAfterCrash(t *testing.T, db string, acks []ack) (found int, errands, events int64) {
	t.Helper()
	verifyLedger(t, db)
	st, svc := openStore(t, db)
	defer st.Close()
	errands, events = checkIntegrity(t, st)

	var rows []struct {
		ID, ReceiptNo string
		Version       int
	}
	if err := st.DB().Raw(`SELECT id, receipt_no, version FROM errands`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	receipt := map[string]string{}
	for _, r := range rows {
		byID[r.ID], receipt[r.ID] = r.Version, r.ReceiptNo
	}
	var evs []struct {
		ErrandID string
		Seq      int
		Action   string
	}
	if err := st.DB().Raw(`SELECT errand_id, seq, action FROM events`).Scan(&evs).Error; err != nil {
		t.Fatal(err)
	}
	action := map[string]string{}
	for _, ev := range evs {
		action[fmt.Sprintf("%s/%d", ev.ErrandID, ev.Seq)] = ev.Action
	}
	for _, a := range acks {
		v, ok := byID[a.errandID]
		switch {
		case !ok:
			t.Errorf("acknowledged %s of %s is lost: the errand is not there", a.action, a.errandID)
		case a.action == "register" && receipt[a.errandID] != a.receipt:
			t.Errorf("errand %s was acknowledged with receipt %s but has %s", a.errandID, a.receipt, receipt[a.errandID])
		case v < a.version:
			t.Errorf("errand %s is at version %d, but %s was acknowledged at version %d", a.errandID, v, a.action, a.version)
		case action[fmt.Sprintf("%s/%d", a.errandID, a.version)] != a.action:
			t.Errorf("errand %s event %d is %q, but %s was acknowledged there", a.errandID, a.version, action[fmt.Sprintf("%s/%d", a.errandID, a.version)], a.action)
		default:
			found++
		}
	}
	// Every registration was sent with its own note: one errand per note
	// shows that no resent registration was made twice.
	var twice []string
	if err := st.DB().Raw(`SELECT note FROM errands GROUP BY note HAVING COUNT(*) > 1`).Scan(&twice).Error; err != nil {
		t.Fatal(err)
	}
	if len(twice) > 0 {
		t.Errorf("registrations made twice: %v", twice)
	}
	checkStats(t, st, svc)
	return found, errands, events
}

// checkThroughAPI reads every errand the workers know back through the
// restarted server: it is there, with its receipt number and the version
// last acknowledged.
func checkThroughAPI(t *testing.T, srv *server, ws []*worker) {
	t.Helper()
	for _, w := range ws {
		for _, e := range w.errands {
			r, err := w.agent.do("GET", "/api/v1/errands/"+e.id, nil, nil)
			if err != nil || r.status != http.StatusOK {
				t.Fatalf("GET errand %s after the restart: %v %d %s", e.id, err, r.status, r.body)
			}
			var got errandReply
			r.decode(t, &got)
			if got.ReceiptNo != e.receipt || got.Version != e.version || got.Status != e.status {
				t.Errorf("errand %s reads %s v%d %s, acknowledged %s v%d %s", e.id, got.ReceiptNo, got.Version, got.Status, e.receipt, e.version, e.status)
			}
		}
	}
}
