package main

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
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
	if code, out := cli(t, env, "verify-ledger", "--workers", "3"); code != 1 || !strings.Contains(out, "BROKEN: errand "+victim.ErrandID) {
		t.Fatalf("verify-ledger --workers 3 after tampering: %d %s", code, out)
	}
	if code, out := cli(t, env, "verify-ledger", "--under", "999999"); code != 1 || !strings.Contains(out, "no organisation has this division code") {
		t.Fatalf("verify-ledger --under an unknown code: %d %s", code, out)
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
		{map[string]string{"DAIBAN_DB_POOL": "lots"}, nil, "DAIBAN_DB_POOL"},
		{map[string]string{"DAIBAN_DB_POOL": "0"}, nil, "DAIBAN_DB_POOL"},
		{nil, []string{"--db-pool", "0"}, "--db-pool"},
		{nil, []string{"--db-pool", "-4"}, "--db-pool"},
		{nil, []string{"--drain-delay", "-1s"}, "--drain-delay"},
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

// TestBackupRestore backs up a live SQLite file (on every run) and finds
// everything in the copy; on PostgreSQL it also takes a pg_dump -Fc of a
// live database and restores it with pg_restore into a fresh one, as README
// tells operators to.
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
	check, err := service.New(restored.Stores(), service.Options{}).Verify(ctx, nil)
	if err != nil || check.Broken != nil || check.Errands != 201 {
		t.Errorf("the restored ledger: %+v %v", check, err)
	}
	if err := restored.CheckKey(ctx); err != nil {
		t.Errorf("the restored copy does not take its key: %v", err)
	}
	if code, _ := cli(t, env, "backup"); code != 2 {
		t.Errorf("backup without a path: %d", code)
	}
	if testdb.PostgresURL() != "" {
		t.Run("pg_dump and pg_restore", testDumpRestore)
	}
}

// TestUserCommands: an operator resets a password (printed once, to be
// changed at sign-in), sets one, disables and re-enables an account; each
// is checked by signing in through the service.
func TestUserCommands(t *testing.T) {
	dsn := testdb.DSN(t)
	env := map[string]string{"DAIBAN_DB": dsn, "DAIBAN_SECRET_KEY": string(testdb.SecretKey), "DAIBAN_LOG_FORMAT": "text"}
	if code, out := cli(t, env, "demo", "--demo-errands", "10"); code != 0 {
		t.Fatalf("demo: %d %s", code, out)
	}
	st := testdb.OpenDSN(t, dsn)
	svc := service.New(st.Stores(), service.Options{})
	ctx := context.Background()
	signIn := func(password string) (service.User, error) {
		_, _, u, err := svc.Login(ctx, "ag001", password, "127.0.0.1")
		return u, err
	}

	code, out := cli(t, env, "user", "reset", "--username", "ag001")
	if code != 0 || !strings.Contains(out, "new password of ag001") {
		t.Fatalf("user reset: %d %s", code, out)
	}
	password := strings.Fields(strings.SplitN(out, ": ", 2)[1])[0]
	if u, err := signIn(password); err != nil || !u.MustChangePassword {
		t.Fatalf("after the reset, %q signs in as %+v, %v; want must change", password, u, err)
	}
	if _, err := signIn("demo1234"); err == nil {
		t.Error("the old password still signs in")
	}

	env["DAIBAN_USER_PASSWORD"] = "short"
	if code, out := cli(t, env, "user", "passwd", "--username", "ag001"); code != 1 || !strings.Contains(out, "8 to 72 bytes") {
		t.Errorf("a short password: %d %s", code, out)
	}
	env["DAIBAN_USER_PASSWORD"] = "operator-set-pw"
	if code, out := cli(t, env, "user", "passwd", "--username", "ag001"); code != 0 || !strings.Contains(out, "set the password of ag001") {
		t.Fatalf("user passwd: %d %s", code, out)
	}
	if u, err := signIn("operator-set-pw"); err != nil || u.MustChangePassword {
		t.Fatalf("after passwd: %+v, %v", u, err)
	}

	if code, out := cli(t, env, "user", "disable", "--username", "ag001"); code != 0 || !strings.Contains(out, "disabled ag001") {
		t.Fatalf("user disable: %d %s", code, out)
	}
	if _, err := signIn("operator-set-pw"); !errors.Is(err, service.ErrAccountDisabled) {
		t.Errorf("a disabled user signs in: %v", err)
	}
	if code, out := cli(t, env, "user", "enable", "--username", "ag001"); code != 0 || !strings.Contains(out, "enabled ag001") {
		t.Fatalf("user enable: %d %s", code, out)
	}
	if _, err := signIn("operator-set-pw"); err != nil {
		t.Errorf("after enable: %v", err)
	}

	u, err := st.UserByUsername(ctx, "ag001")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.AccountEvents(ctx, u.ID, 10)
	var acts []string
	for _, e := range evs {
		acts = append(acts, string(e.Action)+" by "+e.ActorName)
	}
	if want := "enabled by 命令行 (daiban),disabled by 命令行 (daiban),password_changed by 命令行 (daiban),password_reset by 命令行 (daiban)"; err != nil || strings.Join(acts, ",") != want {
		t.Errorf("account events %q, %v; want %q", strings.Join(acts, ","), err, want)
	}

	if code, out := cli(t, env, "user", "disable", "--username", "nobody"); code != 1 || !strings.Contains(out, "not found") {
		t.Errorf("an unknown user: %d %s", code, out)
	}
	if code, out := cli(t, env, "user", "reset"); code != 2 || !strings.Contains(out, "--username is required") {
		t.Errorf("no username: %d %s", code, out)
	}
	if code, out := cli(t, env, "user", "frob"); code != 2 || !strings.Contains(out, "daiban user passwd") {
		t.Errorf("an unknown user command: %d %s", code, out)
	}
}

// TestHelpOrgsHealthcheckProgress: daiban help lists every command; orgs
// prints the tree with the codes user add takes, and user add needs no
// ID-number key; the demo and verify-ledger report their progress;
// healthcheck passes on a server that answers /healthz and fails otherwise.
func TestHelpOrgsHealthcheckProgress(t *testing.T) {
	code, out := cli(t, nil, "help")
	for _, c := range []string{"serve", "demo", "migrate", "orgs", "user add", "user reset", "verify-ledger", "backup", "healthcheck", "8 to 72 bytes", "township_officer (township)"} {
		if code != 0 || !strings.Contains(out, c) {
			t.Errorf("daiban help (exit %d) lacks %q:\n%s", code, c, out)
		}
	}
	if code, out := cli(t, nil, "frobnicate"); code != 2 || !strings.Contains(out, "daiban help") {
		t.Errorf("an unknown command: %d %s", code, out)
	}

	db := filepath.Join(t.TempDir(), "d.db")
	env := map[string]string{"DAIBAN_DB": db, "DAIBAN_SECRET_KEY": string(testdb.SecretKey), "DAIBAN_LOG_FORMAT": "text"}
	code, out = cli(t, env, "demo", "--demo-errands", "12000")
	if code != 0 || strings.Count(out, "demo errands") < 2 || !strings.Contains(out, "written=12060 of=12060") {
		t.Fatalf("the demo's progress (exit %d):\n%s", code, out)
	}
	code, out = cli(t, env, "verify-ledger")
	if code != 0 || !strings.Contains(out, "verify-ledger: 12060 of 12060 errands checked") || strings.Count(out, "errands checked") < 5 {
		t.Errorf("verify-ledger's progress (exit %d):\n%s", code, out)
	}
	code, out = cli(t, map[string]string{"DAIBAN_DB": db}, "orgs", "--under", "350182100")
	if code != 0 || !strings.Contains(out, "350182100") || !strings.Contains(out, "township") || !strings.Contains(out, "village") || strings.Contains(out, "350182101 ") {
		t.Errorf("orgs --under a township:\n%s", out)
	}
	noKey := map[string]string{"DAIBAN_DB": db, "DAIBAN_USER_PASSWORD": "a-good-password"}
	if code, out := cli(t, noKey, "user", "add", "--username", "newagent", "--role", "agent", "--org", "350182100201", "--name", "新代办员"); code != 0 {
		t.Errorf("user add without DAIBAN_SECRET_KEY: %d %s", code, out)
	}

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	addr := strings.TrimPrefix(up.URL, "http://")
	if code, out := cli(t, nil, "healthcheck", "--addr", addr); code != 0 {
		t.Errorf("healthcheck of a live server: %d %s", code, out)
	}
	up.Close()
	if code, _ := cli(t, nil, "healthcheck", "--addr", addr); code != 1 {
		t.Errorf("healthcheck of a stopped server: exit %d, want 1", code)
	}
}
