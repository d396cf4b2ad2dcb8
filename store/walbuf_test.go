package store

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestWalbufGathersWrites commits a transaction of about a hundred pages and
// checks that its WAL frames reached the file in a few writes, not two per
// page.
func TestWalbufGathersWrites(t *testing.T) {
	db := openWalbuf(t, filepath.Join(t.TempDir(), "gather.db"), "FULL")
	if _, err := db.Exec(`CREATE TABLE g (body TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	in0, out0 := walbufCounts()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := tx.Exec(`INSERT INTO g VALUES (?)`, strings.Repeat("x", 3500)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	in, out := walbufCounts()
	if in-in0 < 200 {
		t.Fatalf("SQLite made %d WAL writes for about 100 pages, want at least 200", in-in0)
	}
	if out-out0 > 10 {
		t.Errorf("%d of SQLite's %d WAL writes reached the file one by one, want at most 10 gathered writes", out-out0, in-in0)
	}
}

// TestWalbufCommitVisible commits without any sync (synchronous=OFF), so
// only the commit frame ends the gathering, and reads every commit at once
// from another connection: a frame held back past its commit would be read
// as garbage or missing.
func TestWalbufCommitVisible(t *testing.T) {
	path := filepath.Join(t.TempDir(), "visible.db")
	w := openWalbuf(t, path, "OFF")
	r := openWalbuf(t, path, "FULL")
	if _, err := w.Exec(`CREATE TABLE v (n INTEGER NOT NULL, body TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 300; i++ {
		if _, err := w.Exec(`INSERT INTO v VALUES (?, ?)`, i, strings.Repeat(string(rune('a'+i%26)), 5000)); err != nil {
			t.Fatal(err)
		}
		var n, sum int
		var last string
		if err := r.QueryRow(`SELECT count(*), sum(n), (SELECT body FROM v ORDER BY n DESC LIMIT 1) FROM v`).Scan(&n, &sum, &last); err != nil {
			t.Fatalf("read after commit %d: %v", i, err)
		}
		if n != i || sum != i*(i+1)/2 || last != strings.Repeat(string(rune('a'+i%26)), 5000) {
			t.Fatalf("after commit %d another connection reads %d rows summing to %d", i, n, sum)
		}
	}
	var check string
	if err := r.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check: %q %v", check, err)
	}
}

func openWalbuf(t *testing.T, path, sync string) *sql.DB {
	t.Helper()
	db, err := sql.Open(sqliteDriver, strings.Replace(SQLiteDSN(path), "_synchronous=FULL", "_synchronous="+sync, 1))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}
