package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"daiban/internal/testdb"
)

// testDumpRestore fills a PostgreSQL database with the demo, dumps it with
// pg_dump -Fc while a store holds it open, restores the dump with pg_restore
// into a database created for it, and checks that daiban verify-ledger
// passes on the copy, that it takes the key, and that every table has as
// many rows as the original.
func testDumpRestore(t *testing.T) {
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (apt-get install -y postgresql-client): %v", tool, err)
		}
	}
	dsn := testdb.DSN(t)
	key := string(testdb.SecretKey)
	if code, out := cli(t, map[string]string{"DAIBAN_DB": dsn, "DAIBAN_SECRET_KEY": key}, "demo", "--demo-errands", "200"); code != 0 {
		t.Fatalf("demo: %s", out)
	}
	live := testdb.OpenDSN(t, dsn)

	// pg_dump and pg_restore take libpq URLs: no search_path, no pgx settings.
	src, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := src.Query().Get("search_path")
	libpq := func(u url.URL, db string) string {
		q := url.Values{}
		if m := u.Query().Get("sslmode"); m != "" {
			q.Set("sslmode", m)
		}
		u.RawQuery = q.Encode()
		if db != "" {
			u.Path = "/" + db
		}
		return u.String()
	}
	dump := filepath.Join(t.TempDir(), "daiban.dump")
	args := []string{"-Fc", "-d", libpq(*src, ""), "-f", dump}
	if schema != "" {
		args = append(args, "-n", schema) // the test's own schema in a shared database
	}
	if out, err := exec.Command("pg_dump", args...).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump %v: %v\n%s", args, err, out)
	}

	restored := fmt.Sprintf("restore_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	admin, err := sql.Open("pgx", libpq(*src, ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + restored + " WITH (FORCE)")
		admin.Close()
	})
	if _, err := admin.Exec("CREATE DATABASE " + restored); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pg_restore", "--exit-on-error", "-d", libpq(*src, restored), dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	dst := *src
	dst.Path = "/" + restored
	copyDSN := dst.String() // the same search_path, in the restored database

	code, out := cli(t, map[string]string{"DAIBAN_DB": copyDSN, "DAIBAN_SECRET_KEY": key}, "verify-ledger")
	if code != 0 || !strings.Contains(out, "ok: 201 errands") {
		t.Fatalf("verify-ledger on the restored copy: %d %s", code, out)
	}
	cp := testdb.OpenDSN(t, copyDSN)
	if err := cp.CheckKey(context.Background()); err != nil {
		t.Errorf("the restored copy does not take its key: %v", err)
	}
	var tables []string
	if err := live.DB().Raw(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	if len(tables) < 10 {
		t.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	var counts []string
	for _, table := range tables {
		var a, b int64
		if err := live.DB().Table(table).Count(&a).Error; err != nil {
			t.Fatal(err)
		}
		if err := cp.DB().Table(table).Count(&b).Error; err != nil {
			t.Fatalf("%s in the restored copy: %v", table, err)
		}
		if a != b {
			t.Errorf("%s: %d rows live, %d restored", table, a, b)
		}
		counts = append(counts, fmt.Sprintf("%s %d", table, a))
	}
	verdict := out[strings.Index(out, "ok: "):]
	verdict = verdict[:strings.IndexByte(verdict, '\n')]
	t.Logf("pg_dump -Fc and pg_restore into %s: verify-ledger %s; %d tables, rows equal: %s", restored, verdict, len(tables), strings.Join(counts, ", "))
}
