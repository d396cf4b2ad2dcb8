package store_test

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"daiban/internal/testdb"
	"daiban/service"
	"daiban/store"
)

// TestLeanIntakeMigration upgrades a version-1 database holding an
// idempotency key, checks the key survives with the new indexes in place,
// then rolls back and migrates again, on each engine.
func TestLeanIntakeMigration(t *testing.T) {
	ctx := context.Background()
	st := openAt(t, "202611230001_initial")
	db := st.DB()
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	if err := db.Exec(`INSERT INTO idempotency_keys (key, request_hash, errand_id, snapshot, created_at) VALUES (?, ?, ?, ?, ?)`,
		"u1:first-try", "abc123", "e1", `{"id":"e1"}`, at).Error; err != nil {
		t.Fatal(err)
	}
	keyKept := func(when string) {
		t.Helper()
		var hash, snap string
		var created time.Time
		if err := db.Raw(`SELECT request_hash, snapshot, created_at FROM idempotency_keys WHERE key = ?`, "u1:first-try").Row().Scan(&hash, &snap, &created); err != nil {
			t.Fatalf("%s: the key is gone: %v", when, err)
		}
		if hash != "abc123" || snap != `{"id":"e1"}` || !created.Equal(at) {
			t.Errorf("%s: the key reads back as %q %q %v", when, hash, snap, created)
		}
	}
	schema := func(when string, wantLean bool) {
		t.Helper()
		holder, createdIndex, clustered := indexFacts(t, st)
		if strings.Contains(holder, "WHERE") != wantLean || (createdIndex == "") != wantLean {
			t.Errorf("%s: holder index %q, created_at index %q", when, holder, createdIndex)
		}
		if !st.Postgres() && clustered != wantLean {
			t.Errorf("%s: idempotency_keys WITHOUT ROWID = %v", when, clustered)
		}
	}
	schema("version 1", false)
	const leanIntake = "202612010001_lean_intake"
	if err := st.MigrateTo(ctx, leanIntake); err != nil {
		t.Fatal(err)
	}
	keyKept("after the migration")
	schema("after the migration", true)
	if err := st.RollbackLast(ctx); err != nil {
		t.Fatal(err)
	}
	keyKept("after the rollback")
	schema("after the rollback", false)
	if err := st.MigrateTo(ctx, leanIntake); err != nil {
		t.Fatal(err)
	}
	keyKept("migrated again")
	schema("migrated again", true)
}

// indexFacts reads the holder index's definition, the created_at index's
// name (or "") and whether SQLite stores the keys in key order.
func indexFacts(t *testing.T, st *store.Store) (holder, createdIndex string, clustered bool) {
	t.Helper()
	db := st.DB()
	if st.Postgres() {
		db.Raw(`SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'idx_errands_holder'`).Scan(&holder)
		db.Raw(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'idx_idempotency_keys_created_at'`).Scan(&createdIndex)
		return holder, createdIndex, false
	}
	var table string
	db.Raw(`SELECT sql FROM sqlite_master WHERE name = 'idx_errands_holder'`).Scan(&holder)
	db.Raw(`SELECT name FROM sqlite_master WHERE name = 'idx_idempotency_keys_created_at'`).Scan(&createdIndex)
	db.Raw(`SELECT sql FROM sqlite_master WHERE name = 'idempotency_keys'`).Scan(&table)
	return holder, createdIndex, strings.Contains(table, "WITHOUT ROWID")
}

// TestSessionActorMigration upgrades sessions opened before migration 3:
// a live user's session authenticates as that user with the organisation,
// a deactivated user's is dropped; a rollback keeps the sessions.
func TestSessionActorMigration(t *testing.T) {
	ctx := context.Background()
	st := openAt(t, "202612010001_lean_intake")
	db := st.DB()
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO orgs (id, code, name, level, path, created_at) VALUES ('o1', '350182', '长乐市', 'city', '/350182/', ?)`, []any{now}},
		// No byte slice right after "(": GORM would spread it as an IN list.
		{`INSERT INTO users (id, username, display_name, phone, role, org_id, password_hash, active, created_at) VALUES
			('u1', 'city01', '市中心办事员', '0591-28888888', 'city_officer', 'o1', ?, ?, ?), ('u2', 'gone', '已停用', '13900000000', 'supervisor', 'o1', ?, ?, ?)`,
			[]any{[]byte("x"), true, now, []byte("x"), false, now}},
		{`INSERT INTO sessions (user_id, token_hash, created_at, expires_at) VALUES ('u1', ?, ?, ?), ('u2', ?, ?, ?)`,
			[]any{[]byte("token-1"), now, now.Add(time.Hour), []byte("token-2"), now, now.Add(time.Hour)}},
	} {
		if err := db.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := st.ActorBySession(ctx, []byte("token-1"), now)
	want := service.Actor{UserID: "u1", Username: "city01", Name: "市中心办事员", Phone: "0591-28888888", Role: service.RoleCityOfficer,
		OrgID: "o1", OrgPath: "/350182/", OrgLevel: service.LevelCity, OrgName: "长乐市"}
	if err != nil || a != want {
		t.Errorf("the carried-over session authenticates as %+v, %v; want %+v", a, err, want)
	}
	if _, err := st.ActorBySession(ctx, []byte("token-2"), now); err == nil {
		t.Error("a deactivated user's session still authenticates")
	}
	if _, err := st.ActorBySession(ctx, []byte("token-1"), now.Add(2*time.Hour)); err == nil {
		t.Error("an expired session still authenticates")
	}
	if err := st.RollbackLast(ctx); err != nil {
		t.Fatal(err)
	}
	var users []string
	db.Raw(`SELECT user_id FROM sessions`).Scan(&users)
	if len(users) != 1 || users[0] != "u1" {
		t.Errorf("sessions after the rollback: %v", users)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if a, err := st.ActorBySession(ctx, []byte("token-1"), now); err != nil || a != want {
		t.Errorf("migrated again: %+v, %v", a, err)
	}
}

// openAt opens a fresh database migrated only up to the migration id, closed
// when the test ends.
func openAt(t *testing.T, id string) *store.Store {
	t.Helper()
	st := openUnmigrated(t, testdb.DSN(t))
	if err := st.MigrateTo(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	return st
}

// openUnmigrated opens the store at dsn as it is, closed when the test ends.
func openUnmigrated(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn, store.Options{SecretKey: testdb.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestInstancesMigrateAtOnce starts three instances at the same moment on
// one database, first an empty one, then one left at an old version (so the
// indexes of the later migrations are built on a table that exists, online
// on PostgreSQL), as a deployment's replicas start together after an
// upgrade. Every instance's start succeeds and every migration ran once:
// the instances take turns, the later ones finding the work done.
func TestInstancesMigrateAtOnce(t *testing.T) {
	for _, from := range []string{"", "202612010003_catalog_version"} {
		t.Run("from "+cmp.Or(from, "nothing"), func(t *testing.T) {
			ctx := context.Background()
			dsn := testdb.DSN(t)
			first := openUnmigrated(t, dsn)
			if from != "" {
				if err := first.MigrateTo(ctx, from); err != nil {
					t.Fatal(err)
				}
			}
			stores := []*store.Store{first, openUnmigrated(t, dsn), openUnmigrated(t, dsn)}
			errs := make(chan error, len(stores))
			start := make(chan struct{})
			for _, st := range stores {
				go func() {
					<-start
					errs <- st.Migrate(ctx)
				}()
			}
			close(start)
			for range stores {
				if err := <-errs; err != nil {
					t.Errorf("an instance's migration: %v", err)
				}
			}
			var runs []struct {
				ID string
				N  int
			}
			if err := first.DB().Raw(`SELECT id, count(*) AS n FROM migrations GROUP BY id`).Scan(&runs).Error; err != nil {
				t.Fatal(err)
			}
			if len(runs) != len(store.MigrationIDs()) {
				t.Errorf("%d migrations recorded, want %d", len(runs), len(store.MigrationIDs()))
			}
			for _, r := range runs {
				if r.N != 1 {
					t.Errorf("migration %s recorded %d times", r.ID, r.N)
				}
			}
			if first.Postgres() {
				var invalid []string
				if err := first.DB().Raw(`SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
					WHERE c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid`).Scan(&invalid).Error; err != nil {
					t.Fatal(err)
				}
				if len(invalid) > 0 {
					t.Errorf("indexes left invalid: %v", invalid)
				}
			}
		})
	}
}

// TestMigrationLease has an instance start while another holds the
// migration lease: it waits, and its start fails naming the holder if that
// takes longer than the start may; once the other's lease has run out (it
// died), the instance takes the lease over and migrates. An instance whose
// lease is taken over while it migrates stops.
func TestMigrationLease(t *testing.T) {
	ctx := context.Background()
	st := openAt(t, "202612050002_account_changes")
	db := st.DB()
	if err := db.Exec(`INSERT INTO migration_lease (id, holder, expires_at) VALUES (1, 'host-b pid 7', ?)`, time.Now().UTC().Add(time.Hour)).Error; err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	err := st.Migrate(short)
	if err == nil || !strings.Contains(err.Error(), `held by "host-b pid 7"`) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a start while another holds the lease: %v", err)
	}
	if db.Migrator().HasColumn("errands", "urges") {
		t.Fatal("migrated without the lease")
	}
	if err := db.Exec(`UPDATE migration_lease SET expires_at = ?`, time.Now().UTC().Add(-time.Second)).Error; err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("a start after the other's lease ran out: %v", err)
	}
	if !db.Migrator().HasColumn("errands", "urges") {
		t.Error("not migrated after taking the lease over")
	}
	var left int64
	if err := db.Raw(`SELECT count(*) FROM migration_lease`).Scan(&left).Error; err != nil || left != 0 {
		t.Errorf("leases left after the migration: %d, %v", left, err)
	}

	store.ShortLease(t, 200*time.Millisecond, 10*time.Millisecond)
	leased, release, err := st.TakeMigrationLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`UPDATE migration_lease SET holder = 'host-c pid 9'`).Error; err != nil {
		t.Fatal(err)
	}
	select {
	case <-leased.Done():
		if cause := context.Cause(leased); !strings.Contains(cause.Error(), "took it over") {
			t.Errorf("the lease's end: %v", cause)
		}
	case <-time.After(5 * time.Second):
		t.Error("the migration went on after its lease was taken over")
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	var holder string
	if err := db.Raw(`SELECT holder FROM migration_lease`).Scan(&holder).Error; err != nil || holder != "host-c pid 9" {
		t.Errorf("releasing a lease taken over removed the other's: %q, %v", holder, err)
	}
}

// TestMigrationGivesWayToReaders upgrades a database while a long read
// holds the errands table. On PostgreSQL the migration's ALTER TABLE waits
// for that lock at most a second at a time (lock_timeout), so a write that
// comes meanwhile is not queued behind it for as long as the read lasts,
// and the migration goes through once the read ends. On SQLite a reader
// never holds up the writer: the migration goes through at once.
func TestMigrationGivesWayToReaders(t *testing.T) {
	ctx := context.Background()
	st := openAt(t, "202612050002_account_changes")
	db := st.DB()
	// A plain BEGIN: the store's own transactions on SQLite take the write
	// lock at once (BEGIN IMMEDIATE), and this one only reads.
	reader := begin(t, st, `BEGIN`)
	var n int64
	if err := reader.QueryRowContext(ctx, `SELECT count(*) FROM errands`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	migrated := make(chan error, 1)
	go func() { migrated <- st.Migrate(ctx) }()

	if st.Postgres() {
		// Wait until the migration is queued for its lock on errands.
		queued := false
		for range 200 {
			var waiting int64
			if err := db.Raw(`SELECT count(*) FROM pg_locks WHERE relation = 'errands'::regclass AND NOT granted`).Scan(&waiting).Error; err != nil {
				t.Fatal(err)
			}
			if queued = waiting > 0; queued {
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
		if !queued {
			t.Fatal("the migration never asked for its lock on errands")
		}
	}
	wrote := make(chan error, 1)
	go func() { wrote <- db.Exec(`UPDATE errands SET version = version WHERE id = 'none'`).Error }()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a write waited behind the migration for as long as the read ran")
	}
	if st.Postgres() {
		select {
		case err := <-migrated:
			t.Fatalf("the migration finished while a read held its table: %v", err)
		default:
		}
	}
	if _, err := reader.ExecContext(ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	if err := <-migrated; err != nil {
		t.Fatalf("the migration after the read ended: %v", err)
	}
	if !db.Migrator().HasColumn("errands", "urges") {
		t.Error("errands has no urges column after the migration")
	}
}

// TestIndexBuiltAgainIfInvalid gives the applicant search's migration a
// name index left invalid, as a concurrent build that died leaves it on
// PostgreSQL: the migration drops it and builds it again. On both engines
// the migration leaves the two search indexes in place.
func TestIndexBuiltAgainIfInvalid(t *testing.T) {
	ctx := context.Background()
	st := openAt(t, "202612010003_catalog_version")
	db := st.DB()
	if st.Postgres() {
		if err := db.Exec(`CREATE INDEX idx_errands_name ON errands (applicant_name)`).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_errands_name'::regclass`).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := st.MigrateTo(ctx, "202612050001_applicant_search"); err != nil {
		t.Fatal(err)
	}
	for _, ix := range []string{"idx_errands_name", "idx_errands_phone"} {
		if !db.Migrator().HasIndex("errands", ix) {
			t.Errorf("no index %s after the migration", ix)
		}
	}
	if st.Postgres() {
		var valid bool
		var def string
		if err := db.Raw(`SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indexrelid = 'idx_errands_name'::regclass`).Row().Scan(&valid, &def); err != nil {
			t.Fatal(err)
		}
		if !valid || !strings.Contains(def, `COLLATE "C"`) {
			t.Errorf("idx_errands_name after the migration: valid %v, %s", valid, def)
		}
	}
}

// TestMigrationWhileAnotherWrites starts a migration on SQLite while
// another connection holds the write lock past the busy timeout: the
// migration fails with an error, not a crash, and goes through once the
// lock is gone. (PostgreSQL has no such lock.)
func TestMigrationWhileAnotherWrites(t *testing.T) {
	ctx := context.Background()
	st := openAt(t, "202612050002_account_changes")
	if st.Postgres() {
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return
	}
	other := begin(t, st, `BEGIN IMMEDIATE`)
	err := st.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), "is another process writing?") {
		t.Fatalf("a migration under another's write lock: %v", err)
	}
	if _, err := other.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("the migration once the lock was gone: %v", err)
	}
	if !st.DB().Migrator().HasColumn("errands", "urges") {
		t.Error("errands has no urges column after the migration")
	}
}

// begin opens a connection of the store's own, outside it, and starts a
// transaction there with the statement given; the connection is closed
// when the test ends.
func begin(t *testing.T, st *store.Store, stmt string) *sql.Conn {
	t.Helper()
	pool, err := st.DB().DB()
	if err != nil {
		t.Fatal(err)
	}
	c, err := pool.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.ExecContext(context.Background(), stmt); err != nil {
		t.Fatal(err)
	}
	return c
}
