package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"daiban/internal/testdb"
)

// TestGracefulShutdown sends SIGTERM while a registration is in flight (its
// body still arriving, a few bytes at a time) and while an idle keep-alive
// connection is open: /readyz answers 503 at once (balancers take the
// server out), then the server stops taking new connections,
// closes the idle one, finishes the registration with 201, and exits 0 with
// "stopped cleanly"; the errand is in the database.
func TestGracefulShutdown(t *testing.T) {
	db := testdb.DSN(t)
	seed(t, db)
	srv := start(t, keyed(db))
	agent := newClient(srv.URL).login(t, "ag001", demoPassword)
	// An idle keep-alive connection: one request answered, then nothing.
	idle, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idleReader := bufio.NewReader(idle)
	io.WriteString(idle, "GET /healthz HTTP/1.1\r\nHost: daiban\r\n\r\n")
	if resp, err := http.ReadResponse(idleReader, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz on a keep-alive connection: %v", err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	body, _ := json.Marshal(map[string]any{
		"item_code": "SH01", "materials": workloadItems["SH01"], "channel": "walk_in", "note": "in flight at SIGTERM",
		"applicant": map[string]any{"name": "陈秀英", "id_number": idNumber(1), "phone": "13900000001", "address": "吴航街道"},
	})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/errands", pr)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+agent.token)
	type result struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := agent.http.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{status: resp.StatusCode, body: b, err: err}
	}()
	// Half the body, then SIGTERM while the server waits for the rest.
	half := len(body) / 2
	if _, err := pw.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	signalled := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// First out of rotation: /readyz answers 503 while the server still
	// takes connections (--drain-delay, 2 s by default).
	waitForLog(t, srv, "shutting down: /readyz answers 503")
	ready, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatalf("/readyz while draining: %v", err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while draining: %d, want 503", ready.StatusCode)
	}
	waitForLog(t, srv, "shutting down: finishing in-flight requests")

	// New connections are refused while the registration is still in flight.
	var refused error
	var refusedAfter time.Duration
	for time.Since(signalled) < 5*time.Second {
		c, err := net.DialTimeout("tcp", srv.Addr, time.Second)
		if err != nil {
			refused, refusedAfter = err, time.Since(signalled)
			break
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	if !errors.Is(refused, syscall.ECONNREFUSED) {
		t.Fatalf("a new connection after SIGTERM: %v, want connection refused", refused)
	}
	// The idle connection is closed, the in-flight one is not.
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idleReader.ReadByte(); err != io.EOF {
		t.Fatalf("the idle keep-alive connection after SIGTERM: %v, want it closed", err)
	}
	select {
	case r := <-done:
		t.Fatalf("the in-flight registration ended before its body was sent: %+v", r)
	case <-srv.done:
		t.Fatalf("the server exited with a request in flight:\n%s", srv.logs.String())
	default:
	}
	// The rest of the body, slowly.
	for i := half; i < len(body); i += 16 {
		if _, err := pw.Write(body[i:min(i+16, len(body))]); err != nil {
			t.Fatalf("the server stopped reading the in-flight body: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	pw.Close()
	r := <-done
	answered := time.Since(signalled)
	if r.err != nil || r.status != http.StatusCreated {
		t.Fatalf("the in-flight registration: %v %d %s", r.err, r.status, r.body)
	}
	var e errandReply
	if err := json.Unmarshal(r.body, &e); err != nil || e.ReceiptNo == "" {
		t.Fatalf("the in-flight registration answered %s", r.body)
	}
	<-srv.done
	if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, srv.logs.String())
	}
	if !strings.Contains(srv.logs.String(), `"msg":"stopped cleanly"`) {
		t.Fatalf("no \"stopped cleanly\" in the log:\n%s", srv.logs.String())
	}

	st, _ := openStore(t, db)
	defer st.Close()
	var n int64
	st.DB().Table("errands").Where("id = ? AND receipt_no = ?", e.ID, e.ReceiptNo).Count(&n)
	if n != 1 {
		t.Fatalf("the registration finished during shutdown is not in the database")
	}
	t.Logf("SIGTERM with a registration in flight: new connections refused after %v, the idle connection closed, the registration answered 201 (%s) %v after the signal, exit 0, stopped cleanly",
		refusedAfter.Round(time.Millisecond), e.ReceiptNo, answered.Round(time.Millisecond))
}

func waitForLog(t *testing.T, srv *server, msg string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(srv.logs.String(), msg) {
			return
		}
	}
	t.Fatalf("%q never appeared in the log:\n%s", msg, srv.logs.String())
}
