// Package testdb opens a migrated store for tests: a temporary SQLite file,
// or, when DAIBAN_TEST_POSTGRES holds a URL, a fresh schema on that
// PostgreSQL so the same suites run on both engines. With
// DAIBAN_TEST_POSTGRES_DATABASES=1 each test gets a fresh database instead:
// through a transaction-pooling PgBouncer, which cannot keep a search_path
// per client, a database is the only namespace that holds.
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the admin connection that makes schemas

	"daiban/service"
	"daiban/store"
)

// SecretKey is the key tests encrypt ID numbers with.
var SecretKey = []byte("test-secret-key-of-at-least-32-bytes!!")

// PostgresURL is the server the suites also run on, or "".
func PostgresURL() string { return os.Getenv("DAIBAN_TEST_POSTGRES") }

var schemaSeq atomic.Int64

// DSN returns a fresh, empty database for one test: a file in t.TempDir(),
// or a new PostgreSQL schema (or database) dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	pg := PostgresURL()
	if pg == "" {
		return filepath.Join(t.TempDir(), "daiban.db")
	}
	name := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, schemaSeq.Add(1))
	admin, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if os.Getenv("DAIBAN_TEST_POSTGRES_DATABASES") == "1" {
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatalf("create database on %s: %v", pg, err)
		}
		t.Cleanup(func() {
			admin.Exec("DROP DATABASE " + name + " WITH (FORCE)")
			admin.Close()
		})
		u.Path = "/" + name
		return u.String()
	}
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema on %s: %v", pg, err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + name + " CASCADE")
		admin.Close()
	})
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a migrated store on a fresh database, closed when the test ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	return OpenDSN(t, DSN(t))
}

// OpenDSN opens and migrates the store at dsn, closed when the test ends.
func OpenDSN(t testing.TB, dsn string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, store.Options{SecretKey: SecretKey, MaxOpenConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

// Engine names the engine the suites run on, for test names and messages.
func Engine() string {
	if PostgresURL() != "" {
		return "postgres"
	}
	return "sqlite"
}

// IsPostgres reports whether dsn is a PostgreSQL URL.
func IsPostgres(dsn string) bool { return strings.HasPrefix(dsn, "postgres") }

// Reference is a service over st whose statistics are recomputed straight
// from the errands (store.Recompute) instead of read from the rollups: the
// reference the rollups are checked against.
func Reference(st *store.Store, now func() time.Time) *service.Service {
	stores := st.Stores()
	stores.Stats = recomputed{st}
	return service.New(stores, service.Options{Now: now})
}

type recomputed struct{ st *store.Store }

func (r recomputed) Stats(ctx context.Context, q service.StatsQuery) ([]service.StatsRow, error) {
	return r.st.Recompute(ctx, q)
}

// OverdueOpen is none: Recompute counts the overdue errands with the rest.
func (recomputed) OverdueOpen(context.Context, service.StatsQuery) ([]service.StatsRow, error) {
	return nil, nil
}
