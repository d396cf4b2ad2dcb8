package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"daiban/internal/testdb"
)

// TestServeNeedsSecretKey: without DAIBAN_SECRET_KEY, and without --demo,
// `daiban serve` refuses to start with a message that says what to do, and
// touches no database; a short key is refused too, and so is a key other
// than the one the database was made with. Only --demo has a development key.
func TestServeNeedsSecretKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "never-created.db")
	code, out := command(t, environ(file), "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(out, "set DAIBAN_SECRET_KEY (at least 32 characters)") || !strings.Contains(out, "--demo") {
		t.Fatalf("serve without a key: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("serve without a key created the database file: %v", err)
	}
	t.Logf("without a key: exit 1, %s", lastLine(out))
	code, out = command(t, environ(file, "DAIBAN_SECRET_KEY=too-short"), "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(out, "at least 32 bytes") {
		t.Fatalf("serve with a short key: exit %d\n%s", code, out)
	}
	t.Logf("with a short key: exit 1, %s", lastLine(out))

	db := testdb.DSN(t)
	seed(t, db)
	code, out = command(t, environ(db, "DAIBAN_SECRET_KEY="+strings.Repeat("k", 40)), "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(out, "not the key this database was created with") {
		t.Fatalf("serve with another key: exit %d\n%s", code, out)
	}

	// --demo runs on its development key (and says nothing of it in the log).
	demo := start(t, environ(filepath.Join(dir, "demo.db"), "DAIBAN_ADMIN_PASSWORD="+adminPassword), "--demo", "--demo-errands", "0")
	if r, err := newClient(demo.URL).do("GET", "/readyz", nil, nil); err != nil || r.status != http.StatusOK {
		t.Fatalf("--demo without a key: %v %d", err, r.status)
	}
	if code := demo.stop(); code != 0 {
		t.Fatalf("--demo: exit %d\n%s", code, demo.logs.String())
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// TestSlowClientsAreCutOff: a slow-loris client trickling its headers is
// disconnected by the real binary once --read-header-timeout has passed,
// and one trickling its body once --read-timeout has, while other clients
// are served all along.
func TestSlowClientsAreCutOff(t *testing.T) {
	db := testdb.DSN(t)
	seed(t, db)
	srv := start(t, keyed(db), "--read-header-timeout", "500ms", "--read-timeout", "1500ms")
	for _, c := range []struct {
		name    string
		head    string
		trickle string
		limit   time.Duration
	}{
		{"headers", "GET /healthz HTTP/1.1\r\nHost: daiban\r\n", "X-Slow: a\r\n", 500 * time.Millisecond},
		{"body", "POST /api/v1/auth/login HTTP/1.1\r\nHost: daiban\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"username\":\"", "a", 1500 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			began := time.Now()
			if _, err := io.WriteString(conn, c.head); err != nil {
				t.Fatal(err)
			}
			// Trickle a little every 100 ms, far too slowly to ever finish.
			closed := make(chan time.Duration, 1)
			got := make(chan string, 1)
			go func() {
				b, _ := io.ReadAll(bufio.NewReader(conn))
				closed <- time.Since(began)
				got <- string(b)
			}()
			var cutAfter time.Duration
		trickle:
			for {
				select {
				case cutAfter = <-closed:
					break trickle
				case <-time.After(100 * time.Millisecond):
				}
				if time.Since(began) > c.limit+5*time.Second {
					t.Fatalf("still connected after %v with a limit of %v", time.Since(began), c.limit)
				}
				io.WriteString(conn, c.trickle) // fails once the server has hung up
				// Meanwhile others are served.
				if r, err := http.Get(srv.URL + "/healthz"); err != nil || r.StatusCode != http.StatusOK {
					t.Fatalf("a normal client while the slow one trickles: %v", err)
				} else {
					r.Body.Close()
				}
			}
			answer := <-got
			if cutAfter < c.limit-50*time.Millisecond {
				t.Errorf("cut off after %v, before the limit of %v", cutAfter, c.limit)
			}
			if strings.Contains(answer, "200 OK") {
				t.Errorf("the slow client was answered: %q", answer)
			}
			t.Logf("a client trickling its %s was disconnected after %v (limit %v); answer %q", c.name, cutAfter.Round(time.Millisecond), c.limit, firstLine(answer))
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// TestServeRuntimeDefaults reads the real binary's /metrics: it runs with
// the Go runtime's own processors and no soft memory limit unless the
// operator sets GOMAXPROCS or GOMEMLIMIT.
func TestServeRuntimeDefaults(t *testing.T) {
	dir := t.TempDir()
	for i, c := range []struct {
		env   []string
		procs int
		limit string
	}{
		{nil, runtime.NumCPU(), "9.223372036854776e+18"},
		{[]string{"GOMAXPROCS=1", "GOMEMLIMIT=200MiB"}, 1, "2.097152e+08"},
	} {
		env := environ(filepath.Join(dir, fmt.Sprintf("rt-%d.db", i)), append(c.env, "DAIBAN_ADMIN_PASSWORD="+adminPassword)...)
		s := start(t, env, "--demo", "--demo-errands", "0")
		r, err := newClient(s.URL).do("GET", "/metrics", nil, nil)
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("/metrics: %v %d", err, r.status)
		}
		procs := regexp.MustCompile(`(?m)^go_sched_gomaxprocs_threads (\d+)$`).FindSubmatch(r.body)
		limit := regexp.MustCompile(`(?m)^go_gc_gomemlimit_bytes (\S+)$`).FindSubmatch(r.body)
		if procs == nil || limit == nil {
			t.Fatalf("/metrics lacks go_sched_gomaxprocs_threads or go_gc_gomemlimit_bytes:\n%.2000s", r.body)
		}
		if got, _ := strconv.Atoi(string(procs[1])); got != c.procs {
			t.Errorf("env %v: %d processors, want %d", c.env, got, c.procs)
		}
		if got := string(limit[1]); got != c.limit {
			t.Errorf("env %v: memory limit %s, want %s", c.env, got, c.limit)
		}
		s.stop()
	}
}

// TestServeWriterMetrics reads the SQLite writer's group commit from the
// real binary's /metrics: every sign-in is a write, so the counters move.
func TestServeWriterMetrics(t *testing.T) {
	env := environ(filepath.Join(t.TempDir(), "writer.db"), "DAIBAN_ADMIN_PASSWORD="+adminPassword)
	s := start(t, env, "--demo", "--demo-errands", "0")
	defer s.stop()
	read := func() map[string]float64 {
		t.Helper()
		r, err := newClient(s.URL).do("GET", "/metrics", nil, nil)
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("/metrics: %v %d", err, r.status)
		}
		got := map[string]float64{}
		for _, m := range regexp.MustCompile(`(?m)^daiban_writer_(\w+) (\S+)$`).FindAllSubmatch(r.body, -1) {
			v, err := strconv.ParseFloat(string(m[2]), 64)
			if err != nil {
				t.Fatalf("daiban_writer_%s: %v", m[1], err)
			}
			got[string(m[1])] = v
		}
		return got
	}
	before := read()
	for _, name := range []string{"batches_total", "writes_total", "reruns_total", "busy_seconds_total", "commit_seconds_total", "largest_batch",
		"commit_duration_seconds_count", "commit_duration_seconds_sum", "batch_writes_count", "batch_writes_sum"} {
		if _, ok := before[name]; !ok {
			t.Fatalf("/metrics has no daiban_writer_%s: %v", name, before)
		}
	}
	const signIns = 3
	for range signIns {
		newClient(s.URL).login(t, "admin", adminPassword)
	}
	after := read()
	if d := after["writes_total"] - before["writes_total"]; d < signIns {
		t.Errorf("writes went up by %v after %d sign-ins", d, signIns)
	}
	if after["batches_total"] <= before["batches_total"] || after["busy_seconds_total"] <= before["busy_seconds_total"] ||
		after["commit_seconds_total"] <= before["commit_seconds_total"] || after["commit_seconds_total"] > after["busy_seconds_total"] {
		t.Errorf("the writer's batches and times did not add up: before %v, after %v", before, after)
	}
	if after["largest_batch"] < 1 || after["writes_total"] < after["batches_total"] {
		t.Errorf("largest batch %v, %v writes in %v batches", after["largest_batch"], after["writes_total"], after["batches_total"])
	}
	// Every sign-in commits, and nothing failed: the histograms saw each commit.
	commits := after["commit_duration_seconds_count"] - before["commit_duration_seconds_count"]
	if commits < 1 || commits != after["batch_writes_count"]-before["batch_writes_count"] ||
		commits > after["batches_total"]-before["batches_total"] ||
		after["batch_writes_sum"]-before["batch_writes_sum"] != after["writes_total"]-before["writes_total"] {
		t.Errorf("the commit histograms do not match the totals: before %v, after %v", before, after)
	}
}
