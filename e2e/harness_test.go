// Package e2e tests the real daiban binary as operators run it: built once,
// started on a free port against a SQLite file or a fresh PostgreSQL schema
// (DAIBAN_TEST_POSTGRES), killed, restarted, stopped, and read back through
// its API, its commands and the raw database.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"daiban/internal/apitest"
	"daiban/internal/testdb"
	"daiban/service"
	"daiban/store"
)

// Secrets the binaries run with; the log checks look for them.
const (
	adminPassword = "e2e-admin-password-not-in-logs"
	demoPassword  = "demo1234"
)

var secretKey = string(testdb.SecretKey)

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary builds ./cmd/daiban once per test process, with the race detector
// when the tests run with it, so the server is checked for races too.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "daiban-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "daiban")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "daiban/cmd/daiban")
		cmd := exec.Command("go", args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// environ is the environment a binary runs with: only what it needs, so a
// developer's own DAIBAN_* settings never leak into a test.
func environ(db string, extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
		"DAIBAN_DB=" + db, "DAIBAN_LOG_FORMAT=json", "GORACE=halt_on_error=1"}
	return append(env, extra...)
}

func keyed(db string) []string {
	return environ(db, "DAIBAN_SECRET_KEY="+secretKey, "DAIBAN_ADMIN_PASSWORD="+adminPassword)
}

// command runs a daiban command to its end and returns its exit code and output.
func command(t testing.TB, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("daiban %s: %v\n%s", strings.Join(args, " "), err, out)
	return -1, ""
}

// seed fills an empty database with the demo deployment without errands:
// 274 organisations, 619 users, the 42 items. The passwords are then
// rehashed at bcrypt's lowest cost, as the API tests' fixture does: a
// sign-in at the real cost takes seconds under the race detector.
func seed(t testing.TB, db string) {
	t.Helper()
	if code, out := command(t, keyed(db), "demo", "--demo-errands", "0"); code != 0 {
		t.Fatalf("demo: exit %d\n%s", code, out)
	}
	st, _ := openStore(t, db)
	defer st.Close()
	for _, u := range []struct{ where, password string }{{"username <> 'admin'", demoPassword}, {"username = 'admin'", adminPassword}} {
		hash, err := bcrypt.GenerateFromPassword([]byte(u.password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.DB().Exec("UPDATE users SET password_hash = ? WHERE "+u.where, hash).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// verifyLedger runs `daiban verify-ledger` and returns the errands it checked.
func verifyLedger(t testing.TB, db string) string {
	t.Helper()
	code, out := command(t, keyed(db), "verify-ledger")
	if code != 0 || !strings.Contains(out, "every chain intact") {
		t.Fatalf("verify-ledger: exit %d\n%s", code, out)
	}
	return strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
}

// server is one running daiban process.
type server struct {
	t    testing.TB
	cmd  *exec.Cmd
	URL  string
	Addr string
	logs *apitest.SyncBuffer

	done    chan struct{}
	exitErr error
}

// start runs `daiban serve` on a free local port and waits until it is ready.
func start(t testing.TB, env []string, args ...string) *server {
	t.Helper()
	logs := &apitest.SyncBuffer{}
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = env
	cmd.Stdout = logs
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, logs: logs, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			logs.Write(append(line, '\n'))
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "daiban listening" {
				select {
				case addr <- rec.Addr:
				default:
				}
			}
		}
		io.Copy(logs, stderr)
		s.exitErr = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Kill()
			<-s.done
		}
		if out := s.logs.String(); strings.Contains(out, "DATA RACE") || strings.Contains(out, "panic:") {
			t.Errorf("the server reported a race or a panic:\n%s", out)
		}
	})
	select {
	case s.Addr = <-addr:
	case <-s.done:
		t.Fatalf("daiban serve exited before listening (%v):\n%s", s.exitErr, logs.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("daiban serve did not listen within 90 s:\n%s", logs.String())
	}
	s.URL = "http://" + s.Addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("daiban serve is not ready: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no cleanup, no flush, like a power cut
// for the process (the kernel keeps what was written).
func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// stop sends SIGTERM and waits for the exit; it returns the exit code.
func (s *server) stop() int {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.t.Fatalf("daiban did not stop within 60 s of SIGTERM:\n%s", s.logs.String())
	}
	return s.cmd.ProcessState.ExitCode()
}

// client talks JSON to one server as one user.
type client struct {
	base  string
	token string
	http  *http.Client
}

func newClient(base string) *client {
	return &client{base: base, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
}

// reply is a finished exchange.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d %s: %v", r.status, r.body, err)
	}
}

func (r reply) code() string {
	var p struct {
		Code string `json:"code"`
	}
	json.Unmarshal(r.body, &p)
	return p.Code
}

// do sends one request; err is a transport failure (the server is gone),
// whose outcome the client cannot know.
func (c *client) do(method, path string, body any, headers map[string]string) (reply, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: out}, nil
}

// login signs username in and keeps the token.
func (c *client) login(t testing.TB, username, password string) *client {
	t.Helper()
	r, err := c.do("POST", "/api/v1/auth/login", map[string]string{"username": username, "password": password}, nil)
	if err != nil || r.status != http.StatusOK {
		t.Fatalf("login %s: %v %d %s", username, err, r.status, r.body)
	}
	var out struct {
		Token string `json:"token"`
	}
	r.decode(t, &out)
	c.token = out.Token
	return c
}

// clone is a client for the same user with connections of its own.
func (c *client) clone() *client {
	n := newClient(c.base)
	n.token = c.token
	return n
}

func jsonDecode(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// errandReply is the part of an errand answer the tests read.
type errandReply struct {
	ID         string  `json:"id"`
	ReceiptNo  string  `json:"receipt_no"`
	VerifyCode *string `json:"verify_code"`
	Status     string  `json:"status"`
	Version    int     `json:"version"`
	DueDate    string  `json:"due_date"`
	Note       string  `json:"note"`
	Item       struct {
		Code  string `json:"code"`
		Level string `json:"level"`
	} `json:"item"`
	HolderOrg struct {
		ID    string `json:"id"`
		Level string `json:"level"`
	} `json:"holder_org"`
}

// openStore opens the database behind a stopped (or running) server.
func openStore(t testing.TB, db string) (*store.Store, *service.Service) {
	t.Helper()
	st := testdb.OpenDSN(t, db)
	return st, service.New(st.Stores(), service.Options{})
}

// supervisorActor is the city-wide reader, as the service sees it.
func supervisorActor(t testing.TB, st *store.Store) service.Actor {
	t.Helper()
	ctx := context.Background()
	u, err := st.UserByUsername(ctx, "supervisor")
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.Org(ctx, u.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	return service.Actor{UserID: u.ID, Username: u.Username, Name: u.DisplayName, Role: u.Role,
		OrgID: o.ID, OrgPath: o.Path, OrgLevel: o.Level, OrgName: o.Name}
}

// checkStats compares the statistics read from the rollups with a
// recomputation from the errands, for today's period, in every grouping.
func checkStats(t testing.TB, st *store.Store, svc *service.Service) service.Counts {
	t.Helper()
	ctx := context.Background()
	a := supervisorActor(t, st)
	today := service.DateOf(time.Now())
	var totals service.Counts
	for _, by := range append([]service.GroupBy{service.GroupNone}, service.GroupBys...) {
		req := service.StatsRequest{From: (today - 1).String(), To: (today + 1).String(), GroupBy: string(by)}
		fast, err := svc.Stats(ctx, a, req)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := testdb.Reference(st, time.Now).Stats(ctx, a, req)
		if err != nil {
			t.Fatal(err)
		}
		if fast.Totals.Counts != slow.Totals.Counts || len(fast.Groups) != len(slow.Groups) {
			t.Fatalf("statistics by %q: rollups %+v (%d groups), recomputed %+v (%d groups)", by,
				fast.Totals.Counts, len(fast.Groups), slow.Totals.Counts, len(slow.Groups))
		}
		for g := range fast.Groups {
			if fast.Groups[g].Key != slow.Groups[g].Key || fast.Groups[g].Counts != slow.Groups[g].Counts {
				t.Fatalf("statistics by %q, group %s: rollups %+v, recomputed %+v", by, fast.Groups[g].Key, fast.Groups[g].Counts, slow.Groups[g].Counts)
			}
		}
		totals = fast.Totals.Counts
	}
	return totals
}

// checkIntegrity checks what must hold of any database after any crash:
// SQLite's integrity_check ok, every errand whole (events 1..version, the
// last one its head hash), no receipt number twice, every remembered
// idempotent answer pointing at an errand that exists.
func checkIntegrity(t testing.TB, st *store.Store) (errands, events int64) {
	t.Helper()
	db := st.DB()
	if !st.Postgres() {
		var ok []string
		if err := db.Raw(`PRAGMA integrity_check`).Scan(&ok).Error; err != nil || len(ok) != 1 || ok[0] != "ok" {
			t.Fatalf("SQLite integrity_check: %v %v", ok, err)
		}
	}
	db.Table("errands").Count(&errands)
	db.Table("events").Count(&events)
	var dups []struct {
		ReceiptNo string
		N         int
	}
	if err := db.Raw(`SELECT receipt_no, COUNT(*) AS n FROM errands GROUP BY receipt_no HAVING COUNT(*) > 1`).Scan(&dups).Error; err != nil {
		t.Fatal(err)
	}
	if len(dups) > 0 {
		t.Errorf("receipt numbers given twice: %+v", dups)
	}
	var half []struct {
		ID      string
		Version int
		N       *int
		M       *int
	}
	if err := db.Raw(`SELECT e.id, e.version, x.n, x.m FROM errands e
		LEFT JOIN (SELECT errand_id, COUNT(*) AS n, MAX(seq) AS m FROM events GROUP BY errand_id) x ON x.errand_id = e.id
		WHERE x.n IS NULL OR x.n <> e.version OR x.m <> e.version`).Scan(&half).Error; err != nil {
		t.Fatal(err)
	}
	for _, h := range half {
		t.Errorf("errand %s is half-written: version %d, events %v, last seq %v", h.ID, h.Version, deref(h.N), deref(h.M))
	}
	var heads []string
	if err := db.Raw(`SELECT e.id FROM errands e JOIN events ev ON ev.errand_id = e.id AND ev.seq = e.version WHERE ev.hash <> e.last_hash`).Scan(&heads).Error; err != nil {
		t.Fatal(err)
	}
	if len(heads) > 0 {
		t.Errorf("errands whose head hash is not their last event's: %v", heads)
	}
	var orphans []string
	// A registration's key keeps no snapshot (its answer is rebuilt from the
	// errand); any other key without one was left half-written.
	if err := db.Raw(`SELECT k.key FROM idempotency_keys k LEFT JOIN errands e ON e.id = k.errand_id
		WHERE e.id IS NULL OR (k.snapshot = '' AND k.version <> 1)`).Scan(&orphans).Error; err != nil {
		t.Fatal(err)
	}
	if len(orphans) > 0 {
		t.Errorf("idempotency keys without a stored answer or errand: %v", orphans)
	}
	return errands, events
}

func deref(p *int) any {
	if p == nil {
		return "none"
	}
	return *p
}

// checkLogs fails if a server's output carries any of the secrets.
func checkLogs(t testing.TB, logs string, secrets map[string]string) {
	t.Helper()
	if !strings.Contains(logs, `"msg":"request"`) {
		t.Fatalf("no request was logged; the check would prove nothing:\n%.2000s", logs)
	}
	for what, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the server's output contains %s (%q)", what, s)
		}
	}
}
