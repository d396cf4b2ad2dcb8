package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts a 20 MB tmpfs for the test. CI runs as root, where the
// mount works; elsewhere the test is skipped, but never under CI=true.
func smallDisk(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must mount a small tmpfs for the full-disk test (run as root): %v %s", err, out)
		}
		t.Skipf("cannot mount a small tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes ballast into dir until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// TestFullDisk runs the server on a 20 MB file system and fills it. Writes
// and sign-ins answer 503 storage_full with Retry-After, reads still work,
// /readyz is red; once the ballast is removed, /readyz turns green by
// itself and writes go through again, and the ledger is whole.
func TestFullDisk(t *testing.T) {
	dir := smallDisk(t)
	db := filepath.Join(dir, "daiban.db")
	seed(t, db)
	srv := start(t, keyed(db))
	agent := newClient(srv.URL).login(t, "ag001", demoPassword)
	register := func(i int) reply {
		r, err := agent.do("POST", "/api/v1/errands", map[string]any{
			"item_code": "SH01", "materials": workloadItems["SH01"], "channel": "walk_in", "note": strings.Repeat("满", 400),
			"applicant": map[string]any{"name": "陈秀英", "id_number": idNumber(i), "phone": fmt.Sprintf("139%08d", i), "address": "吴航街道"},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := register(1); r.status != http.StatusCreated {
		t.Fatalf("register before the disk fills: %d %s", r.status, r.body)
	}

	ballast := fill(t, dir)
	answers := map[string]int{}
	for i := range 40 {
		var r reply
		var err error
		switch i % 4 {
		case 0, 1:
			r = register(100 + i)
		case 2:
			r, err = newClient(srv.URL).do("POST", "/api/v1/auth/login", map[string]string{"username": "ag002", "password": demoPassword}, nil)
		case 3:
			r, err = agent.do("GET", "/api/v1/errands", nil, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		answers[fmt.Sprintf("%d %s", r.status, r.code())]++
		switch {
		case i%4 == 3 && r.status != http.StatusOK:
			t.Errorf("a read on a full disk: %d %s", r.status, r.body)
		case i%4 != 3 && r.status != http.StatusCreated && r.status != http.StatusOK &&
			(r.status != http.StatusServiceUnavailable || r.code() != "storage_full" || r.header.Get("Retry-After") == ""):
			t.Errorf("a write on a full disk: %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
		}
	}
	ready, err := newClient(srv.URL).do("GET", "/readyz", nil, nil)
	if err != nil || ready.status != http.StatusServiceUnavailable || ready.code() != "storage_full" {
		t.Errorf("/readyz on a full disk: %d %s", ready.status, ready.body)
	}
	if answers["503 storage_full"] == 0 {
		t.Errorf("no write was refused as storage_full on a full disk: %v", answers)
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	polls := 0
	for deadline := time.Now().Add(60 * time.Second); ; polls++ {
		r, err := newClient(srv.URL).do("GET", "/readyz", nil, nil)
		if err == nil && r.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not turn green within 60 s of freeing the disk: %d %s\n%s", r.status, r.body, srv.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := range 5 {
		if r := register(200 + i); r.status != http.StatusCreated {
			t.Errorf("register after the disk was freed: %d %s", r.status, r.body)
		}
	}
	newClient(srv.URL).login(t, "ag002", demoPassword)
	if code := srv.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, srv.logs.String())
	}
	verifyLedger(t, db)
	if strings.Contains(srv.logs.String(), `"status":500`) {
		t.Errorf("a 500 in the log:\n%s", srv.logs.String())
	}
	t.Logf("on a full 20 MB disk: answers %v; /readyz %d %s; green again %d polls after freeing it; writes go through again", answers, ready.status, ready.code(), polls)
}
