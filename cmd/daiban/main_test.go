package main

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"daiban/internal/testdb"
	"daiban/service"
	"daiban/store"
)

// cli runs the command in-process with the given environment.
func cli(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errs)
	return code, out.String() + errs.String()
}

func TestCommands(t *testing.T) {
	dsn := testdb.DSN(t)
	key := string(testdb.SecretKey)
	env := map[string]string{"DAIBAN_DB": dsn, "DAIBAN_SECRET_KEY": key, "DAIBAN_LOG_FORMAT": "text"}

	if code, out := cli(t, env, "migrate"); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %d %s", code, out)
	}
	// demo fills the empty database and creates the admin, printing the password once.
	code, out := cli(t, env, "demo", "--demo-errands", "300")
	if code != 0 || !strings.Contains(out, "created user admin with password") {
		t.Fatalf("demo: %d %s", code, out)
	}
	if code, out := cli(t, env, "demo", "--demo-errands", "300"); code != 0 || strings.Contains(out, "created user admin") {
		t.Fatalf("a second demo must leave the database alone: %d %s", code, out)
	}
	if code, out := cli(t, env, "verify-ledger"); code != 0 || !strings.Contains(out, "ok: 301 errands") {
		t.Fatalf("verify-ledger: %d %s", code, out)
	}

	env["DAIBAN_USER_PASSWORD"] = "a-good-password"
	code, out = cli(t, env, "user", "add", "--username", "zhang3", "--role", "township_officer", "--org", "350182100", "--name", "张三")
	if code != 0 || !strings.Contains(out, "created township_officer zhang3") {
		t.Fatalf("user add: %d %s", code, out)
	}
	if code, out := cli(t, env, "user", "add", "--username", "zhang4", "--role", "agent", "--org", "350182100", "--name", "张四"); code == 0 || !strings.Contains(out, "org_id") {
		t.Fatalf("an agent at a township was accepted: %d %s", code, out)
	}

	// Without the key, commands that read ID numbers refuse; with another key the database refuses.
	if code, out := cli(t, map[string]string{"DAIBAN_DB": dsn}, "verify-ledger"); code == 0 || !strings.Contains(out, "DAIBAN_SECRET_KEY") {
		t.Fatalf("verify-ledger without a key: %d %s", code, out)
	}
	if code, out := cli(t, map[string]string{"DAIBAN_DB": dsn, "DAIBAN_SECRET_KEY": strings.Repeat("k", 40)}, "verify-ledger"); code == 0 || !strings.Contains(out, "not the key") {
		t.Fatalf("verify-ledger with a wrong key: %d %s", code, out)
	}
	if code, out := cli(t, env, "frobnicate"); code != 2 || !strings.Contains(out, "unknown command") {
		t.Fatalf("unknown command: %d %s", code, out)
	}

	// Tamper with an event behind the service's back: verify-ledger fails and names it.
	st, err := store.Open(context.Background(), dsn, store.Options{SecretKey: testdb.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if testdb.PostgresURL() != "" {
		err = st.DB().Exec("ALTER TABLE events DISABLE TRIGGER events_no_update").Error
	} else {
		err = st.DB().Exec("DROP TRIGGER events_no_update").Error
	}
	if err != nil {
		t.Fatal(err)
	}
	// A demo load that did not finish is refused rather than served half-filled.
	if err := st.SetSetting(context.Background(), "demo", "loading"); err != nil {
		t.Fatal(err)
	}
	if code, out := cli(t, env, "demo"); code != 1 || !strings.Contains(out, "interrupted") {
		t.Fatalf("an interrupted demo: %d %s", code, out)
	}
	if err := st.SetSetting(context.Background(), "demo", "ready"); err != nil {
		t.Fatal(err)
	}
	var victim struct{ ErrandID string }
	st.DB().Raw("SELECT errand_id FROM events WHERE seq = 2 ORDER BY errand_id LIMIT 1").Scan(&victim)
	if err := st.DB().Exec("UPDATE events SET actor_name = '别人' WHERE errand_id = ? AND seq = 2", victim.ErrandID).Error; err != nil {
		t.Fatal(err)
	}
	if code, out := cli(t, env, "verify-ledger"); code != 1 || !strings.Contains(out, "BROKEN: errand "+victim.ErrandID) || !strings.Contains(out, "event 2") {
		t.Fatalf("verify-ledger after tampering: %d %s", code, out)
	}
}

// TestBadSettingsStopTheStart: a malformed setting, from a flag or the
// environment, stops the command with a message naming it, before any
// database is opened.
func TestBadSettingsStopTheStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "never.db")
	for _, c := range []struct {
		env  map[string]string
		args []string
		name string
	}{
		{map[string]string{"DAIBAN_PUBLIC_RATE": "5/s"}, nil, "DAIBAN_PUBLIC_RATE"},
		{map[string]string{"DAIBAN_PUBLIC_RATE": "0"}, nil, "DAIBAN_PUBLIC_RATE"},
		{map[string]string{"DAIBAN_TRUST_PROXY": "yes please"}, nil, "DAIBAN_TRUST_PROXY"},
		{map[string]string{"DAIBAN_LOG_FORMAT": "xml"}, nil, "DAIBAN_LOG_FORMAT"},
		{nil, []string{"--public-burst", "0"}, "--public-burst"},
	} {
		env := map[string]string{"DAIBAN_DB": db}
		maps.Copy(env, c.env)
		if code, out := cli(t, env, append([]string{"serve", "--demo"}, c.args...)...); code != 2 || !strings.Contains(out, c.name) {
			t.Errorf("env %v, args %v: exit %d, %q; want 2 and a message naming %s", c.env, c.args, code, out, c.name)
		}
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start left a database behind: %v", err)
	}
}

// TestBackupRestore backs up a live SQLite file (on every run: PostgreSQL is
// backed up with pg_dump, see README) and finds everything in the copy.
func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	db, copyPath := filepath.Join(dir, "live.db"), filepath.Join(dir, "copy.db")
	env := map[string]string{"DAIBAN_DB": db, "DAIBAN_SECRET_KEY": string(testdb.SecretKey)}
	if code, out := cli(t, env, "demo", "--demo-errands", "200"); code != 0 {
		t.Fatalf("demo: %s", out)
	}
	// Keep a store open, as a running server would, while the backup runs.
	live := testdb.OpenDSN(t, db)
	if code, out := cli(t, env, "backup", copyPath); code != 0 || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %d %s", code, out)
	}
	restored := testdb.OpenDSN(t, copyPath)
	ctx := context.Background()
	for _, table := range []string{"orgs", "users", "items", "errands", "events", "errand_stats", "settings"} {
		var a, b int64
		live.DB().Table(table).Count(&a)
		restored.DB().Table(table).Count(&b)
		if a != b || a == 0 {
			t.Errorf("%s: %d rows live, %d restored", table, a, b)
		}
	}
	check, err := service.New(restored.Stores(), service.Options{}).Verify(ctx)
	if err != nil || check.Broken != nil || check.Errands != 201 {
		t.Errorf("the restored ledger: %+v %v", check, err)
	}
	if err := restored.CheckKey(ctx); err != nil {
		t.Errorf("the restored copy does not take its key: %v", err)
	}
	if code, _ := cli(t, env, "backup"); code != 2 {
		t.Errorf("backup without a path: %d", code)
	}
}
