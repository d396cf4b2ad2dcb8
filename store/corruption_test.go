package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"daiban/internal/testdb"
	"daiban/store"
)

// TestRolledBackSpillKeepsOthersCommits replays the sequence that destroyed
// a database under the former WAL write buffer: connection A spills pages of
// a large transaction into the WAL and rolls it back, connection B then
// commits, and A reads again. SQLite's own VFS keeps B's commit; the file
// must pass integrity_check and hold every committed row, on fresh
// connections and after reopening. It always runs on a SQLite file, also
// when the suites run on PostgreSQL.
func TestRolledBackSpillKeepsOthersCommits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "spill.db")
	st, err := store.Open(ctx, path, store.Options{SecretKey: testdb.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := st.DB().DB()
	if err != nil {
		t.Fatal(err)
	}
	conn := func() *sql.Conn {
		c, err := pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := conn(), conn()
	must := func(c *sql.Conn, q string, args ...any) {
		t.Helper()
		if _, err := c.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	must(a, "CREATE TABLE spill (id INTEGER PRIMARY KEY, who TEXT, data BLOB)")
	must(a, "PRAGMA wal_checkpoint(TRUNCATE)")

	// A: a transaction too large for a 10-page cache, rolled back.
	must(a, "PRAGMA cache_size = 10")
	txA, err := a.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	blob := bytes.Repeat([]byte{0xA5}, 3500)
	for i := range 120 {
		if _, err := txA.ExecContext(ctx, "INSERT INTO spill (who, data) VALUES ('a', ?)", append(blob[:0:0], append(blob, byte(i))...)); err != nil {
			t.Fatal(err)
		}
	}
	if err := txA.Rollback(); err != nil {
		t.Fatal(err)
	}

	// B: 60 rows, committed.
	txB, err := b.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		if _, err := txB.ExecContext(ctx, "INSERT INTO spill (who, data) VALUES ('b', ?)", blob); err != nil {
			t.Fatal(err)
		}
	}
	if err := txB.Commit(); err != nil {
		t.Fatal(err)
	}

	// A reads again.
	var n int
	if err := a.QueryRowContext(ctx, "SELECT count(*) FROM spill").Scan(&n); err != nil {
		t.Fatalf("A reads after B's commit: %v", err)
	}
	a.Close()
	b.Close()

	check := func(when string, db *sql.DB) {
		t.Helper()
		var ok string
		if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
			t.Fatalf("%s: integrity_check = %q, %v; want ok", when, ok, err)
		}
		var rows, bs int
		if err := db.QueryRowContext(ctx, "SELECT count(*), count(*) FILTER (WHERE who = 'b' AND length(data) = 3500) FROM spill").Scan(&rows, &bs); err != nil {
			t.Fatalf("%s: count: %v", when, err)
		}
		if rows != 60 || bs != 60 {
			t.Fatalf("%s: %d rows, %d of them B's; want B's 60 committed rows and nothing of A's", when, rows, bs)
		}
	}
	check("fresh connection", pool)
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	again, err := store.Open(ctx, path, store.Options{SecretKey: testdb.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	pool2, err := again.DB().DB()
	if err != nil {
		t.Fatal(err)
	}
	check("after reopening", pool2)
}
