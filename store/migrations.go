package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"daiban/service"
)

// Migrate brings the schema up to date. Migrations are versioned, frozen
// once released, and the same code runs on SQLite and PostgreSQL.
//
// On PostgreSQL a migration must not stop a province's service, so none
// holds a lock that blocks reads or writes for more than a second:
//   - each migration runs in a transaction of its own, with lock_timeout at
//     one second: a statement that cannot get its lock in that time (a long
//     report is reading the table) gives up instead of making every request
//     queue behind it, and Migrate tries that migration again after a pause;
//   - under that lock a migration only changes the catalogue: it adds a
//     column with a constant default, widens a varchar, creates a new table,
//     drops or renames an index; nothing that rewrites or scans a table;
//   - an index on an existing table is built before the migration's
//     transaction with CREATE INDEX CONCURRENTLY, which lets reads and
//     writes go on while it scans (migration.online).
//
// SQLite has one writer: there a migration holds the database for as long
// as it runs (an index on ten million errands takes about a minute), and an
// upgrade is planned like any other maintenance of one file.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrateTo(ctx, "")
}

// MigrateTo brings the schema up to the migration named id and no further
// (for operators and for tests of a migration).
func (s *Store) MigrateTo(ctx context.Context, id string) error {
	return s.migrateTo(ctx, id)
}

// RollbackLast undoes the newest migration (for operators and tests).
func (s *Store) RollbackLast(ctx context.Context) (err error) {
	ctx, release, err := s.takeMigrationLease(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, release()) }()
	return s.retryLocked(ctx, func() error { return s.migrator(ctx).RollbackLast() })
}

// A migration is gormigrate's with the indexes it builds on PostgreSQL
// before its transaction.
type migration struct {
	gormigrate.Migration
	online []onlineIndex
}

// onlineIndex is an index built with CREATE INDEX CONCURRENTLY: name and the
// rest of the statement after the name.
type onlineIndex struct{ name, def string }

func (s *Store) migrations() []migration {
	pg := s.postgres
	return []migration{
		{Migration: gormigrate.Migration{ID: "202611230001_initial", Migrate: migrateInitial(pg), Rollback: rollbackInitial}},
		{Migration: gormigrate.Migration{ID: "202612010001_lean_intake", Migrate: migrateLeanIntake(pg), Rollback: rollbackLeanIntake(pg)},
			online: []onlineIndex{{"idx_errands_holder_v2", holderIndexPartialDef}}},
		{Migration: gormigrate.Migration{ID: "202612010002_session_actor", Migrate: migrateSessionActor(pg), Rollback: rollbackSessionActor(pg)}},
		{Migration: gormigrate.Migration{ID: "202612010003_catalog_version", Migrate: migrateCatalogVersion, Rollback: rollbackCatalogVersion}},
		{Migration: gormigrate.Migration{ID: "202612050001_applicant_search", Migrate: migrateApplicantSearch(pg), Rollback: rollbackApplicantSearch},
			online: []onlineIndex{{"idx_errands_name", nameIndexPostgresDef}, {"idx_errands_phone", phoneIndexDef}}},
		{Migration: gormigrate.Migration{ID: "202612050002_account_changes", Migrate: migrateAccountChanges, Rollback: rollbackAccountChanges}},
		{Migration: gormigrate.Migration{ID: "202612050010_errand_urges", Migrate: migrateErrandUrges(pg), Rollback: rollbackErrandUrges}},
		{Migration: gormigrate.Migration{ID: "202612050011_event_changes", Migrate: migrateEventChanges, Rollback: rollbackEventChanges}},
		{Migration: gormigrate.Migration{ID: "202612050020_notifications", Migrate: migrateNotifications, Rollback: rollbackNotifications}},
		{Migration: gormigrate.Migration{ID: "202612060001_reports", Migrate: migrateReports(pg), Rollback: rollbackReports(pg)}},
		{Migration: gormigrate.Migration{ID: "202612060002_errand_lists", Migrate: migrateErrandLists(pg), Rollback: rollbackErrandLists(pg)},
			online: []onlineIndex{{"idx_errands_queue", queueIndexDef}, {"idx_errands_open_id", openIDIndexDef}, {"idx_errands_open_scope", openScopeIndexDef},
				{"idx_errands_city", cityIndexDef}, {"idx_errands_township", townshipIndexDef}}},
	}
}

// migrateTo runs the pending migrations up to target (all if "") one at a
// time, each in its own transaction.
func (s *Store) migrateTo(ctx context.Context, target string) (err error) {
	ms := s.migrations()
	if target != "" && !slices.ContainsFunc(ms, func(m migration) bool { return m.ID == target }) {
		return fmt.Errorf("migrate: no migration %q", target)
	}
	done, err := s.migrationsDone(ctx)
	if err != nil {
		return err
	}
	if !pending(ms, done, target) {
		return nil
	}
	ctx, release, err := s.takeMigrationLease(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, release()) }()
	// Another instance may have migrated while this one waited.
	if done, err = s.migrationsDone(ctx); err != nil {
		return err
	}
	// A database created by this run has no rows to scan: its indexes are
	// built plainly, without waiting (as CONCURRENTLY does) for every older
	// transaction on the server to end.
	fresh := !done[ms[0].ID]
	m := s.migrator(ctx)
	for _, mg := range ms {
		if !done[mg.ID] {
			if s.postgres {
				for _, ix := range mg.online {
					if err := s.buildIndexOnline(ctx, ix, !fresh); err != nil {
						return fmt.Errorf("migration %s: %w", mg.ID, err)
					}
				}
			}
			if err := s.retryLocked(ctx, func() error { return m.MigrateTo(mg.ID) }); err != nil {
				return fmt.Errorf("migration %s: %w", mg.ID, err)
			}
		}
		if mg.ID == target {
			break
		}
	}
	return nil
}

// pending reports whether a migration up to target (all if "") has not run.
func pending(ms []migration, done map[string]bool, target string) bool {
	for _, m := range ms {
		if !done[m.ID] {
			return true
		}
		if m.ID == target {
			break
		}
	}
	return false
}

// The migration lease makes instances that start at the same moment on one
// database migrate one after another: PostgreSQL runs two instances' DDL
// side by side, and the second's then fails (a table or column that exists,
// a deadlock between two builds of one index), stopping its start. The
// lease is a row, not an advisory lock, because a session's lock does not
// survive PgBouncer's transaction pooling; it expires, so an instance that
// dies holding it holds nobody up for longer than leaseTerm. Its holder
// renews it every leaseTerm/4 and stops migrating if it was taken over.
//
// On SQLite the write lock already serialises migrations; the same lease
// runs there too, and costs one row.
//
// leaseTerm and leaseWait (how often an instance asks again for a lease that
// is taken) are variables for the tests only.
var leaseTerm, leaseWait = time.Minute, 500 * time.Millisecond

const leaseTable = `CREATE TABLE IF NOT EXISTS migration_lease (id integer PRIMARY KEY, holder varchar(200) NOT NULL, expires_at timestamp NOT NULL)`

// takeMigrationLease waits until this instance holds the migration lease.
// The context it returns ends if the lease is lost; release gives it up.
func (s *Store) takeMigrationLease(ctx context.Context) (context.Context, func() error, error) {
	db := s.db.WithContext(ctx)
	if !db.Migrator().HasTable("migration_lease") {
		if err := db.Exec(leaseTable).Error; err != nil {
			// Two instances creating the table at once: PostgreSQL fails
			// the second's CREATE TABLE IF NOT EXISTS on its catalogue's keys.
			if !db.Migrator().HasTable("migration_lease") {
				return nil, nil, fmt.Errorf("create the migration lease: %w", err)
			}
		}
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%s pid %d %s", host, os.Getpid(), uuid.NewString()[:8])
	for {
		now := time.Now().UTC()
		res := db.Exec(`INSERT INTO migration_lease (id, holder, expires_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE migration_lease.expires_at < ?`, holder, now.Add(leaseTerm), now)
		if res.Error != nil {
			hint := ""
			if !s.postgres {
				hint = " (is another process writing?)"
			}
			return nil, nil, fmt.Errorf("take the migration lease%s: %w", hint, res.Error)
		}
		if res.RowsAffected == 1 {
			break
		}
		select {
		case <-ctx.Done():
			var other string
			s.db.Raw(`SELECT holder FROM migration_lease WHERE id = 1`).Scan(&other)
			return nil, nil, fmt.Errorf("waiting for the migration lease held by %q: %w", other, ctx.Err())
		case <-time.After(leaseWait):
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(leaseTerm / 4)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			res := s.db.Exec(`UPDATE migration_lease SET expires_at = ? WHERE id = 1 AND holder = ?`, time.Now().UTC().Add(leaseTerm), holder)
			// An error (SQLite busy under a long migration's write lock)
			// is tried again at the next tick; a lease taken over is not.
			if res.Error == nil && res.RowsAffected == 0 {
				cancel(errors.New("the migration lease expired and another instance took it over"))
				return
			}
		}
	}()
	release := func() error {
		close(stop)
		<-renewed
		cancel(nil)
		if err := s.db.Exec(`DELETE FROM migration_lease WHERE id = 1 AND holder = ?`, holder).Error; err != nil {
			return fmt.Errorf("release the migration lease: %w", err)
		}
		return nil
	}
	return ctx, release, nil
}

// migrationsDone reads the IDs of the migrations already run.
func (s *Store) migrationsDone(ctx context.Context) (map[string]bool, error) {
	db := s.db.WithContext(ctx)
	if !db.Migrator().HasTable(gormigrate.DefaultOptions.TableName) {
		return nil, nil
	}
	var ids []string
	if err := db.Table(gormigrate.DefaultOptions.TableName).Pluck(gormigrate.DefaultOptions.IDColumnName, &ids).Error; err != nil {
		return nil, fmt.Errorf("read the migrations run: %w", err)
	}
	done := make(map[string]bool, len(ids))
	for _, id := range ids {
		done[id] = true
	}
	return done, nil
}

// lockTries is how often a migration is tried when a lock it needs stays
// taken for longer than lock_timeout; a second apart.
const lockTries = 30

// retryLocked runs fn until it does not fail on PostgreSQL's lock_timeout,
// at most lockTries times.
func (s *Store) retryLocked(ctx context.Context, fn func() error) error {
	for try := 1; ; try++ {
		err := unpanic(fn)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "55P03" || try == lockTries {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// unpanic runs fn, turning a panic into an error. gormigrate does not check
// that its transaction began: when it cannot (SQLite's write lock held by
// another process past the busy timeout), it panics on the nil transaction.
func unpanic(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the migration's transaction did not begin (is another process writing?): %v", r)
		}
	}()
	return fn()
}

// buildIndexOnline builds an index without blocking writes (concurrently;
// plainly on a new database). An index left invalid by a build that did not
// finish (the process died) is dropped and built again; a valid one is left
// alone.
func (s *Store) buildIndexOnline(ctx context.Context, ix onlineIndex, concurrently bool) error {
	db := s.db.WithContext(ctx)
	var valid []bool
	if err := db.Raw(`SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.relname = ? AND c.relnamespace = current_schema()::regnamespace`, ix.name).Scan(&valid).Error; err != nil {
		return err
	}
	if len(valid) == 1 && valid[0] {
		return nil
	}
	if len(valid) == 1 {
		if err := db.Exec(`DROP INDEX CONCURRENTLY ` + ix.name).Error; err != nil {
			return fmt.Errorf("drop the invalid index %s: %w", ix.name, err)
		}
	}
	create := `CREATE INDEX `
	if concurrently {
		create += `CONCURRENTLY `
	}
	if err := db.Exec(create + ix.name + ` ` + ix.def).Error; err != nil {
		return fmt.Errorf("build index %s: %w", ix.name, err)
	}
	return nil
}

func (s *Store) migrator(ctx context.Context) *gormigrate.Gormigrate {
	opts := *gormigrate.DefaultOptions
	opts.UseTransaction = true
	ms := s.migrations()
	list := make([]*gormigrate.Migration, len(ms))
	for i := range ms {
		m := ms[i].Migration
		if s.postgres {
			migrate, rollback := m.Migrate, m.Rollback
			m.Migrate = func(tx *gorm.DB) error { return withLockTimeout(tx, migrate) }
			m.Rollback = func(tx *gorm.DB) error { return withLockTimeout(tx, rollback) }
		}
		list[i] = &m
	}
	return gormigrate.New(s.db.WithContext(ctx).Session(&gorm.Session{PrepareStmt: false}), &opts, list)
}

// withLockTimeout runs a migration's step with PostgreSQL's lock_timeout at
// one second for the rest of its transaction.
func withLockTimeout(tx *gorm.DB, fn func(*gorm.DB) error) error {
	if err := tx.Exec(`SET LOCAL lock_timeout = '1s'`).Error; err != nil {
		return err
	}
	return fn(tx)
}

// The v1 schema, frozen: later migrations change it with their own structs.
type m1Org struct {
	ID        string  `gorm:"type:varchar(36);primaryKey"`
	Code      string  `gorm:"type:varchar(12);not null;uniqueIndex"`
	Name      string  `gorm:"type:varchar(200);not null"`
	Level     string  `gorm:"type:varchar(10);not null"`
	ParentID  *string `gorm:"type:varchar(36);index"`
	Parent    *m1Org  `gorm:"foreignKey:ParentID"`
	Path      string  `gorm:"type:varchar(64);not null;uniqueIndex"`
	CreatedAt time.Time
}

func (m1Org) TableName() string { return "orgs" }

type m1User struct {
	ID           string `gorm:"type:varchar(36);primaryKey"`
	Username     string `gorm:"type:varchar(32);not null;uniqueIndex"`
	DisplayName  string `gorm:"type:varchar(160);not null"`
	Phone        string `gorm:"type:varchar(20);not null"`
	Role         string `gorm:"type:varchar(20);not null"`
	OrgID        string `gorm:"type:varchar(36);not null;index"`
	Org          m1Org  `gorm:"foreignKey:OrgID"`
	PasswordHash []byte `gorm:"not null"`
	Active       bool   `gorm:"not null"`
	CreatedAt    time.Time
}

func (m1User) TableName() string { return "users" }

type m1Session struct {
	TokenHash []byte `gorm:"primaryKey"`
	UserID    string `gorm:"type:varchar(36);not null;index"`
	User      m1User `gorm:"foreignKey:UserID;constraint:OnDelete:CASCADE"`
	CreatedAt time.Time
	ExpiresAt time.Time `gorm:"not null;index"`
}

func (m1Session) TableName() string { return "sessions" }

type m1Throttle struct {
	Key         string    `gorm:"type:varchar(300);primaryKey"`
	WindowStart time.Time `gorm:"not null;index"`
	Failures    int       `gorm:"not null"`
}

type m1LoginFailure struct {
	Throttle m1Throttle `gorm:"embedded"`
}

func (m1LoginFailure) TableName() string { return "login_failures" }

type m1LookupFailure struct {
	Throttle m1Throttle `gorm:"embedded"`
}

func (m1LookupFailure) TableName() string { return "lookup_failures" }

type m1Category struct {
	Code     string `gorm:"type:varchar(32);primaryKey"`
	Name     string `gorm:"type:varchar(80);not null"`
	Position int    `gorm:"not null"`
}

func (m1Category) TableName() string { return "categories" }

type m1Item struct {
	ID            string     `gorm:"type:varchar(36);primaryKey"`
	Code          string     `gorm:"type:varchar(20);not null;uniqueIndex"`
	Name          string     `gorm:"type:varchar(200);not null"`
	CategoryCode  string     `gorm:"type:varchar(32);not null;index"`
	Category      m1Category `gorm:"foreignKey:CategoryCode"`
	Level         string     `gorm:"type:varchar(10);not null"`
	Materials     string     `gorm:"type:text;not null"`
	FeeCents      int64      `gorm:"not null"`
	TimeLimitDays int        `gorm:"not null"`
	Active        bool       `gorm:"not null"`
	CreatedAt     time.Time
}

func (m1Item) TableName() string { return "items" }

type m1CalendarYear struct {
	Year      int    `gorm:"primaryKey;autoIncrement:false"`
	Note      string `gorm:"type:varchar(800);not null"`
	UpdatedAt time.Time
}

func (m1CalendarYear) TableName() string { return "calendar_years" }

type m1CalendarDay struct {
	Day  string `gorm:"type:varchar(10);primaryKey"`
	Year int    `gorm:"not null;index"`
	Kind string `gorm:"type:varchar(10);not null"`
	Name string `gorm:"type:varchar(80);not null"`
}

func (m1CalendarDay) TableName() string { return "calendar_days" }

type m1Counter struct {
	Name  string `gorm:"type:varchar(40);primaryKey"`
	Value int64  `gorm:"not null"`
}

func (m1Counter) TableName() string { return "counters" }

type m1Setting struct {
	Name  string `gorm:"type:varchar(40);primaryKey"`
	Value string `gorm:"type:varchar(200);not null"`
}

func (m1Setting) TableName() string { return "settings" }

type m1Errand struct {
	ID               string `gorm:"type:varchar(36);primaryKey;index:idx_errands_scope,priority:2;index:idx_errands_holder,priority:3"`
	ReceiptNo        string `gorm:"type:varchar(16);not null;uniqueIndex"`
	VerifyCode       string `gorm:"type:varchar(6);not null"`
	ItemID           string `gorm:"type:varchar(36);not null"`
	Item             m1Item `gorm:"foreignKey:ItemID"`
	ItemCode         string `gorm:"type:varchar(20);not null"`
	ItemName         string `gorm:"type:varchar(200);not null"`
	Category         string `gorm:"type:varchar(32);not null"`
	ItemLevel        string `gorm:"type:varchar(10);not null"`
	TimeLimitDays    int    `gorm:"not null"`
	ApplicantName    string `gorm:"type:varchar(160);not null"`
	ApplicantIDEnc   []byte `gorm:"not null"`
	ApplicantIDIndex []byte `gorm:"not null;index"`
	ApplicantPhone   string `gorm:"type:varchar(20);not null"`
	ApplicantAddress string `gorm:"type:varchar(500);not null"`
	Materials        string `gorm:"type:text;not null"`
	Channel          string `gorm:"type:varchar(12);not null"`
	Note             string `gorm:"type:text;not null"`
	IntakeOrgID      string `gorm:"type:varchar(36);not null"`
	IntakeOrg        m1Org  `gorm:"foreignKey:IntakeOrgID"`
	OrgPath          string `gorm:"type:varchar(64);not null;index:idx_errands_scope,priority:1"`
	AgentID          string `gorm:"type:varchar(36);not null"`
	Agent            m1User `gorm:"foreignKey:AgentID"`
	HolderOrgID      string `gorm:"type:varchar(36);not null;index:idx_errands_holder,priority:1"`
	HolderOrg        m1Org  `gorm:"foreignKey:HolderOrgID"`
	HolderLevel      string `gorm:"type:varchar(10);not null"`
	Status           string `gorm:"type:varchar(12);not null;index:idx_errands_holder,priority:2"`
	Outcome          string `gorm:"type:varchar(10);not null"`
	OutcomeReason    string `gorm:"type:text;not null"`
	ReturnedByOrgID  string `gorm:"type:varchar(36);not null"`
	ReturnedByLevel  string `gorm:"type:varchar(10);not null"`
	MissingMaterials string `gorm:"type:text;not null"`
	PausedAt         *time.Time
	PausedDays       int       `gorm:"not null"`
	Extensions       int       `gorm:"not null"`
	RegisteredAt     time.Time `gorm:"not null"`
	RegDay           int       `gorm:"not null"`
	DueAt            time.Time `gorm:"not null"`
	CompletedAt      *time.Time
	DeliveredAt      *time.Time
	WithdrawnAt      *time.Time
	WorkingDays      int    `gorm:"not null"`
	OnTime           bool   `gorm:"not null"`
	ReceiptRecovered bool   `gorm:"not null"`
	Satisfaction     int    `gorm:"not null"`
	Version          int    `gorm:"not null"`
	LastHash         string `gorm:"type:varchar(64);not null"`
	Timeline         string `gorm:"type:text;not null"`
}

func (m1Errand) TableName() string { return "errands" }

type m1Event struct {
	ErrandID         string   `gorm:"type:varchar(36);primaryKey"`
	Errand           m1Errand `gorm:"foreignKey:ErrandID"`
	Seq              int      `gorm:"primaryKey;autoIncrement:false"`
	Action           string   `gorm:"type:varchar(12);not null"`
	FromStatus       string   `gorm:"type:varchar(12);not null"`
	ToStatus         string   `gorm:"type:varchar(12);not null"`
	ActorID          string   `gorm:"type:varchar(36);not null"`
	ActorName        string   `gorm:"type:varchar(160);not null"`
	ActorRole        string   `gorm:"type:varchar(20);not null"`
	OrgID            string   `gorm:"type:varchar(36);not null"`
	At               time.Time
	Note             string `gorm:"type:text;not null"`
	ToOrgID          string `gorm:"type:varchar(36);not null"`
	MissingMaterials string `gorm:"type:text;not null"`
	Outcome          string `gorm:"type:varchar(10);not null"`
	Reason           string `gorm:"type:text;not null"`
	DueAt            *time.Time
	ReceiptRecovered *bool
	Satisfaction     int    `gorm:"not null"`
	PrevHash         string `gorm:"type:varchar(64);not null"`
	Hash             string `gorm:"type:varchar(64);not null"`
}

func (m1Event) TableName() string { return "events" }

type m1Idempotency struct {
	Key         string    `gorm:"type:varchar(200);primaryKey"`
	RequestHash string    `gorm:"type:varchar(64);not null"`
	ErrandID    string    `gorm:"type:varchar(36);not null"`
	Snapshot    string    `gorm:"type:text;not null"`
	CreatedAt   time.Time `gorm:"not null;index"`
}

func (m1Idempotency) TableName() string { return "idempotency_keys" }

// m1Stat is a rollup cell: the sum of service.Contribution over the errands
// registered in one period (a day or a month) for one key of a dimension.
type m1Stat struct {
	Dim         int    `gorm:"type:smallint;primaryKey;autoIncrement:false"`
	Grain       int    `gorm:"type:smallint;primaryKey;autoIncrement:false"`
	Period      int    `gorm:"primaryKey;autoIncrement:false"`
	OrgPath     string `gorm:"type:varchar(64);primaryKey"`
	ItemCode    string `gorm:"type:varchar(20);primaryKey"`
	AgentID     string `gorm:"type:varchar(36);primaryKey"`
	Accepted    int64  `gorm:"not null;default:0"`
	Completed   int64  `gorm:"not null;default:0"`
	Refused     int64  `gorm:"not null;default:0"`
	OnTime      int64  `gorm:"not null;default:0"`
	WorkingDays int64  `gorm:"not null;default:0"`
	Delivered   int64  `gorm:"not null;default:0"`
	Recovered   int64  `gorm:"not null;default:0"`
	Sat1        int64  `gorm:"not null;default:0"`
	Sat2        int64  `gorm:"not null;default:0"`
	Sat3        int64  `gorm:"not null;default:0"`
	Sat4        int64  `gorm:"not null;default:0"`
	Sat5        int64  `gorm:"not null;default:0"`
}

func (m1Stat) TableName() string { return "errand_stats" }

// clustered are the tables SQLite stores in their primary key's order
// (WITHOUT ROWID): an errand's events and a report's rollup cells are then
// read as one contiguous range instead of a row lookup each.
var clustered = map[string]bool{"events": true, "errand_stats": true}

var m1Tables = []any{
	&m1Org{}, &m1User{}, &m1Session{}, &m1LoginFailure{}, &m1LookupFailure{},
	&m1Category{}, &m1Item{}, &m1CalendarYear{}, &m1CalendarDay{}, &m1Counter{}, &m1Setting{},
	&m1Errand{}, &m1Event{}, &m1Idempotency{}, &m1Stat{},
}

func migrateInitial(postgres bool) gormigrate.MigrateFunc {
	return func(tx *gorm.DB) error {
		for _, t := range m1Tables {
			create := tx
			if name := t.(interface{ TableName() string }).TableName(); clustered[name] && !postgres {
				create = tx.Set("gorm:table_options", "WITHOUT ROWID")
			}
			if err := create.Migrator().CreateTable(t); err != nil {
				return err
			}
		}
		stmts := []string{
			// Open errands are few; warnings and overdue counts read only this
			// index, which carries every column those queries look at.
			`CREATE INDEX idx_errands_open ON errands (due_at, id, status, paused_at, org_path, reg_day, item_code, agent_id) WHERE status IN ('registered','forwarded','processing','correction')`,
		}
		if postgres {
			stmts = append(stmts,
				`CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$`,
				`CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only()`,
			)
		} else {
			stmts = append(stmts,
				`CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`,
				`CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`,
			)
		}
		if err := execAll(tx, stmts); err != nil {
			return err
		}
		cats := []m1Category{
			{"jisheng", "计生", 1}, {"guotu", "国土", 2}, {"linye", "林业", 3},
			{"sifa", "司法", 4}, {"shehui", "社会事务", 5}, {"dangyuan", "党员服务", 6},
		}
		if err := tx.Create(&cats).Error; err != nil {
			return err
		}
		if err := tx.Create(&[]m1Counter{{"receipt", 1}, {"calendar", 1}}).Error; err != nil {
			return err
		}
		for _, y := range service.ShippedCalendars() {
			if err := tx.Create(&m1CalendarYear{Year: y.Year, Note: y.Note, UpdatedAt: time.Now().UTC()}).Error; err != nil {
				return err
			}
			for _, d := range y.Days {
				if err := tx.Create(&m1CalendarDay{Day: d.Date.String(), Year: y.Year, Kind: string(d.Kind), Name: d.Name}).Error; err != nil {
					return err
				}
			}
		}
		return nil
	}
}

func rollbackInitial(tx *gorm.DB) error {
	for i := len(m1Tables) - 1; i >= 0; i-- {
		if err := tx.Migrator().DropTable(m1Tables[i]); err != nil {
			return err
		}
	}
	if tx.Dialector.Name() == "postgres" {
		return tx.Exec(`DROP FUNCTION IF EXISTS events_append_only()`).Error
	}
	return nil
}

// Migration 2 makes a registration touch fewer pages, which on SQLite is
// what its commits cost.
//
// The idempotency keys are stored in key order (SQLite: WITHOUT ROWID), so a
// key is one entry instead of a row plus an index entry, and lose their
// index on created_at: expiry scans a day's keys once an hour instead of every
// registration adding to it. A key also records the version of the errand
// its request left: a registration's (version 1) keeps no snapshot, as the
// errand it registered is rebuilt from the errand and its first event. The
// holder index covers only errands held above
// the villages, the officers' queues; an errand held by its village (just
// registered, returned, or decided) is found through the scope index.
type m2Idempotency struct {
	Key         string    `gorm:"type:varchar(200);primaryKey"`
	RequestHash string    `gorm:"type:varchar(64);not null"`
	ErrandID    string    `gorm:"type:varchar(36);not null"`
	Snapshot    string    `gorm:"type:text;not null"`
	Version     int       `gorm:"not null;default:0"`
	CreatedAt   time.Time `gorm:"not null"`
}

func (m2Idempotency) TableName() string { return "idempotency_keys_v2" }

const (
	holderIndexFull       = `CREATE INDEX idx_errands_holder ON errands (holder_org_id, status, id)`
	holderIndexPartialDef = `ON errands (holder_org_id, status, id) WHERE holder_level <> 'village'`
	holderIndexPartial    = `CREATE INDEX idx_errands_holder ` + holderIndexPartialDef
)

func migrateLeanIntake(postgres bool) gormigrate.MigrateFunc {
	return func(tx *gorm.DB) error {
		stmts := []string{`DROP INDEX idx_errands_holder`, holderIndexPartial}
		if postgres {
			// The partial index was built online as idx_errands_holder_v2.
			stmts = []string{`DROP INDEX idx_errands_holder`, `ALTER INDEX idx_errands_holder_v2 RENAME TO idx_errands_holder`,
				`DROP INDEX idx_idempotency_keys_created_at`,
				`ALTER TABLE idempotency_keys ADD COLUMN version integer NOT NULL DEFAULT 0`}
		} else {
			if err := tx.Set("gorm:table_options", "WITHOUT ROWID").Migrator().CreateTable(&m2Idempotency{}); err != nil {
				return err
			}
			stmts = append(stmts,
				`INSERT INTO idempotency_keys_v2 (key, request_hash, errand_id, snapshot, created_at)
					SELECT key, request_hash, errand_id, snapshot, created_at FROM idempotency_keys`,
				`DROP TABLE idempotency_keys`,
				`ALTER TABLE idempotency_keys_v2 RENAME TO idempotency_keys`)
		}
		return execAll(tx, stmts)
	}
}

func rollbackLeanIntake(postgres bool) gormigrate.RollbackFunc {
	return func(tx *gorm.DB) error {
		stmts := []string{`DROP INDEX idx_errands_holder`, holderIndexFull}
		if !postgres {
			if err := tx.Migrator().RenameTable("idempotency_keys", "idempotency_keys_v2"); err != nil {
				return err
			}
			if err := tx.Migrator().CreateTable(&m1Idempotency{}); err != nil {
				return err
			}
			if err := execAll(tx, []string{`INSERT INTO idempotency_keys (key, request_hash, errand_id, snapshot, created_at)
				SELECT key, request_hash, errand_id, snapshot, created_at FROM idempotency_keys_v2`, `DROP TABLE idempotency_keys_v2`}); err != nil {
				return err
			}
			return execAll(tx, stmts)
		}
		return execAll(tx, append(stmts, `CREATE INDEX idx_idempotency_keys_created_at ON idempotency_keys (created_at)`,
			`ALTER TABLE idempotency_keys DROP COLUMN version`))
	}
}

func execAll(tx *gorm.DB, stmts []string) error {
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}

// Migration 3 keeps a session's actor with it, so authenticating a request
// reads one row of one table instead of joining users and organisations
// (on SQLite, in token order: WITHOUT ROWID). Users and organisations never
// change once created, so the copy cannot go stale. The sessions of
// deactivated users are not carried over.
type m3Session struct {
	TokenHash   []byte `gorm:"primaryKey"`
	UserID      string `gorm:"type:varchar(36);not null;index:idx_sessions_user_id"`
	User        m1User `gorm:"foreignKey:UserID;constraint:OnDelete:CASCADE"`
	CreatedAt   time.Time
	ExpiresAt   time.Time `gorm:"not null;index:idx_sessions_expires_at"`
	Username    string    `gorm:"type:varchar(32);not null"`
	DisplayName string    `gorm:"type:varchar(160);not null"`
	Phone       string    `gorm:"type:varchar(20);not null"`
	Role        string    `gorm:"type:varchar(20);not null"`
	OrgID       string    `gorm:"type:varchar(36);not null"`
	OrgPath     string    `gorm:"type:varchar(64);not null"`
	OrgLevel    string    `gorm:"type:varchar(10);not null"`
	OrgName     string    `gorm:"type:varchar(200);not null"`
}

func (m3Session) TableName() string { return "sessions" }

const (
	sessionActorColumns = `username, display_name, phone, role, org_id, org_path, org_level, org_name`
	sessionActorOf      = `u.username, u.display_name, u.phone, u.role, u.org_id, o.path, o.level, o.name`
)

func migrateSessionActor(postgres bool) gormigrate.MigrateFunc {
	return func(tx *gorm.DB) error {
		if postgres {
			return execAll(tx, []string{
				`DELETE FROM sessions s USING users u WHERE u.id = s.user_id AND NOT u.active`,
				`ALTER TABLE sessions ADD COLUMN username varchar(32) NOT NULL DEFAULT '', ADD COLUMN display_name varchar(160) NOT NULL DEFAULT '',
					ADD COLUMN phone varchar(20) NOT NULL DEFAULT '', ADD COLUMN role varchar(20) NOT NULL DEFAULT '',
					ADD COLUMN org_id varchar(36) NOT NULL DEFAULT '', ADD COLUMN org_path varchar(64) NOT NULL DEFAULT '',
					ADD COLUMN org_level varchar(10) NOT NULL DEFAULT '', ADD COLUMN org_name varchar(200) NOT NULL DEFAULT ''`,
				`UPDATE sessions s SET (` + sessionActorColumns + `) = (SELECT ` + sessionActorOf + `
					FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = s.user_id)`,
			})
		}
		// SQLite rebuilds the table: the old one moves aside with its
		// indexes, whose names the new one takes.
		if err := execAll(tx, []string{`ALTER TABLE sessions RENAME TO sessions_v1`,
			`DROP INDEX idx_sessions_user_id`, `DROP INDEX idx_sessions_expires_at`}); err != nil {
			return err
		}
		if err := tx.Set("gorm:table_options", "WITHOUT ROWID").Migrator().CreateTable(&m3Session{}); err != nil {
			return err
		}
		return execAll(tx, []string{
			`INSERT INTO sessions (token_hash, user_id, created_at, expires_at, ` + sessionActorColumns + `)
				SELECT s.token_hash, s.user_id, s.created_at, s.expires_at, ` + sessionActorOf + `
				FROM sessions_v1 s JOIN users u ON u.id = s.user_id JOIN orgs o ON o.id = u.org_id WHERE u.active`,
			`DROP TABLE sessions_v1`,
		})
	}
}

func rollbackSessionActor(postgres bool) gormigrate.RollbackFunc {
	return func(tx *gorm.DB) error {
		if postgres {
			return execAll(tx, []string{`ALTER TABLE sessions DROP COLUMN username, DROP COLUMN display_name, DROP COLUMN phone,
				DROP COLUMN role, DROP COLUMN org_id, DROP COLUMN org_path, DROP COLUMN org_level, DROP COLUMN org_name`})
		}
		if err := execAll(tx, []string{`ALTER TABLE sessions RENAME TO sessions_v3`,
			`DROP INDEX idx_sessions_user_id`, `DROP INDEX idx_sessions_expires_at`}); err != nil {
			return err
		}
		if err := tx.Migrator().CreateTable(&m1Session{}); err != nil {
			return err
		}
		return execAll(tx, []string{
			`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) SELECT token_hash, user_id, created_at, expires_at FROM sessions_v3`,
			`DROP TABLE sessions_v3`,
		})
	}
}

// Migration 4 adds the catalogue's version, a counter every catalogue change
// bumps, so each instance may keep items it has read for as long as the
// counter stands (read with the calendar's on every registration).
func migrateCatalogVersion(tx *gorm.DB) error {
	return tx.Exec(`INSERT INTO counters (name, value) VALUES ('catalog', 1)`).Error
}

func rollbackCatalogVersion(tx *gorm.DB) error {
	return tx.Exec(`DELETE FROM counters WHERE name = 'catalog'`).Error
}

// Migration 5 indexes the applicant's name and phone for the errand search:
// a name is searched by its start, a range of the name index in byte order
// (on PostgreSQL the index is built COLLATE "C", as the query compares); a
// phone exactly. The organisation path follows in both, so a search in a
// village or township is decided inside the index, before any row is read.
func migrateApplicantSearch(postgres bool) gormigrate.MigrateFunc {
	return func(tx *gorm.DB) error {
		if postgres {
			return nil // both were built online (migration.online)
		}
		return execAll(tx, []string{`CREATE INDEX idx_errands_name ON errands (applicant_name, org_path)`,
			`CREATE INDEX idx_errands_phone ` + phoneIndexDef})
	}
}

const (
	nameIndexPostgresDef = `ON errands (applicant_name COLLATE "C", org_path)`
	phoneIndexDef        = `ON errands (applicant_phone, org_path)`
)

func rollbackApplicantSearch(tx *gorm.DB) error {
	return execAll(tx, []string{`DROP INDEX idx_errands_name`, `DROP INDEX idx_errands_phone`})
}

// Migration 7 counts the supervisors' 催办 on the errand, with the last
// one's time, for the holder's queue and the warnings list.
func migrateErrandUrges(postgres bool) gormigrate.MigrateFunc {
	return func(tx *gorm.DB) error {
		stamp := "datetime"
		if postgres {
			stamp = "timestamptz"
		}
		return execAll(tx, []string{
			`ALTER TABLE errands ADD COLUMN urges integer NOT NULL DEFAULT 0`,
			`ALTER TABLE errands ADD COLUMN urged_at ` + stamp,
		})
	}
}

func rollbackErrandUrges(tx *gorm.DB) error {
	return execAll(tx, []string{`ALTER TABLE errands DROP COLUMN urged_at`, `ALTER TABLE errands DROP COLUMN urges`})
}

// Migration 8 keeps what a correction changed on its event (JSON of the
// fields with their old and new values; empty for every other event).
func migrateEventChanges(tx *gorm.DB) error {
	return tx.Exec(`ALTER TABLE events ADD COLUMN changes text NOT NULL DEFAULT ''`).Error
}

func rollbackEventChanges(tx *gorm.DB) error {
	return tx.Exec(`ALTER TABLE events DROP COLUMN changes`).Error
}

// Migration 6 lets accounts change: a user (and each of their sessions)
// carries whether the password must be changed before anything else (set by
// an admin's reset), and every change to an account is appended to
// account_events with who made it.
type m6AccountEvent struct {
	ID        string    `gorm:"type:varchar(36);primaryKey"`
	UserID    string    `gorm:"type:varchar(36);not null;index:idx_account_events_user,priority:1"`
	User      m1User    `gorm:"foreignKey:UserID"`
	Action    string    `gorm:"type:varchar(20);not null"`
	ActorID   string    `gorm:"type:varchar(36);not null"`
	ActorName string    `gorm:"type:varchar(200);not null"`
	At        time.Time `gorm:"not null;index:idx_account_events_user,priority:2"`
}

func (m6AccountEvent) TableName() string { return "account_events" }

func migrateAccountChanges(tx *gorm.DB) error {
	if err := execAll(tx, []string{
		`ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false`,
		`ALTER TABLE sessions ADD COLUMN must_change_password boolean NOT NULL DEFAULT false`,
	}); err != nil {
		return err
	}
	return tx.Migrator().CreateTable(&m6AccountEvent{})
}

func rollbackAccountChanges(tx *gorm.DB) error {
	if err := tx.Migrator().DropTable(&m6AccountEvent{}); err != nil {
		return err
	}
	return execAll(tx, []string{
		`ALTER TABLE sessions DROP COLUMN must_change_password`,
		`ALTER TABLE users DROP COLUMN must_change_password`,
	})
}

// Migration 9 tells people when something happens: whether the applicant
// declined SMS, the outbox of deliveries (SMS and webhooks) written with
// the step that causes them, the staff inbox, and the webhook endpoints.
// New tables and a column with a constant default: nothing is rewritten.
type m9Outbox struct {
	ID        string    `gorm:"type:varchar(120);primaryKey"`
	MsgID     string    `gorm:"type:varchar(80);not null"`
	Channel   string    `gorm:"type:varchar(10);not null"`
	Target    string    `gorm:"type:varchar(40);not null;index:idx_outbox_case,priority:1"`
	CaseID    string    `gorm:"type:varchar(36);not null;index:idx_outbox_case,priority:2"`
	CaseSeq   int       `gorm:"not null;index:idx_outbox_case,priority:3"`
	Type      string    `gorm:"type:varchar(40);not null"`
	Body      string    `gorm:"type:text;not null"`
	Status    string    `gorm:"type:varchar(10);not null;index:idx_outbox_due,priority:1"`
	Attempts  int       `gorm:"not null"`
	NextAt    time.Time `gorm:"not null;index:idx_outbox_due,priority:2"`
	LastError string    `gorm:"type:text;not null"`
	CreatedAt time.Time `gorm:"not null;index"`
	SentAt    *time.Time
}

func (m9Outbox) TableName() string { return "outbox" }

type m9Inbox struct {
	ID        string    `gorm:"type:varchar(120);primaryKey"`
	UserID    string    `gorm:"type:varchar(36);not null;index:idx_inbox_user,priority:1"`
	OrgID     string    `gorm:"type:varchar(36);not null;index:idx_inbox_org,priority:1"`
	ErrandID  string    `gorm:"type:varchar(36);not null"`
	Type      string    `gorm:"type:varchar(40);not null"`
	Text      string    `gorm:"type:text;not null"`
	CreatedAt time.Time `gorm:"not null;index:idx_inbox_user,priority:2;index:idx_inbox_org,priority:2"`
	ReadAt    *time.Time
	ReadBy    string `gorm:"type:varchar(36);not null"`
}

func (m9Inbox) TableName() string { return "inbox" }

type m9Webhook struct {
	ID        string    `gorm:"type:varchar(36);primaryKey"`
	URL       string    `gorm:"type:varchar(500);not null"`
	Types     string    `gorm:"type:text;not null"`
	SecretEnc []byte    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
	CreatedBy string    `gorm:"type:varchar(36);not null"`
}

func (m9Webhook) TableName() string { return "webhook_endpoints" }

func migrateNotifications(tx *gorm.DB) error {
	if err := tx.Exec(`ALTER TABLE errands ADD COLUMN no_sms boolean NOT NULL DEFAULT false`).Error; err != nil {
		return err
	}
	return tx.Migrator().CreateTable(&m9Outbox{}, &m9Inbox{}, &m9Webhook{})
}

func rollbackNotifications(tx *gorm.DB) error {
	if err := tx.Migrator().DropTable(&m9Webhook{}, &m9Inbox{}, &m9Outbox{}); err != nil {
		return err
	}
	return tx.Exec(`ALTER TABLE errands DROP COLUMN no_sms`).Error
}

// Migration 10 keeps 民情 reports: the reports, their hash-chained events
// (append-only, like an errand's, and on SQLite in key order) and their
// photos. Grids and departments have longer codes than divisions (15 and
// 13 digits), so PostgreSQL widens orgs.code, which for a varchar changes
// only the catalogue; SQLite does not enforce the length. The reports name
// organisations without foreign keys: the paths beside the ids are what
// scopes them.
type m10Report struct {
	ID                string    `gorm:"type:varchar(36);primaryKey"`
	No                string    `gorm:"type:varchar(16);not null;uniqueIndex:idx_reports_no"`
	VerifyCode        string    `gorm:"type:varchar(6);not null"`
	Channel           string    `gorm:"type:varchar(10);not null"`
	Category          string    `gorm:"type:varchar(32);not null"`
	Urgency           string    `gorm:"type:varchar(10);not null"`
	Text              string    `gorm:"type:text;not null"`
	Address           string    `gorm:"type:varchar(500);not null"`
	GridID            string    `gorm:"type:varchar(36);not null"`
	GridPath          string    `gorm:"type:varchar(64);not null"`
	Lat               *float64  `gorm:"type:double precision"`
	Lng               *float64  `gorm:"type:double precision"`
	ReporterName      string    `gorm:"type:varchar(160);not null"`
	ReporterPhone     string    `gorm:"type:varchar(20);not null"`
	ReporterAnonymous bool      `gorm:"not null"`
	Photos            int       `gorm:"not null"`
	IntakeOrgID       string    `gorm:"type:varchar(36);not null"`
	IntakePath        string    `gorm:"type:varchar(64);not null"`
	CreatedBy         string    `gorm:"type:varchar(36);not null"`
	HolderOrgID       string    `gorm:"type:varchar(36);not null"`
	HolderPath        string    `gorm:"type:varchar(64);not null"`
	DispatcherID      string    `gorm:"type:varchar(36);not null"`
	DispatcherPath    string    `gorm:"type:varchar(64);not null"`
	HandlerOrgID      string    `gorm:"type:varchar(36);not null"`
	HandlerPath       string    `gorm:"type:varchar(64);not null"`
	Status            string    `gorm:"type:varchar(12);not null"`
	Version           int       `gorm:"not null"`
	RegisteredAt      time.Time `gorm:"not null"`
	RegisteredMonth   string    `gorm:"type:varchar(7);not null"` // YYYY-MM in Asia/Shanghai, for grouping by month
	DueAt             time.Time `gorm:"not null"`
	DispatchedAt      *time.Time
	ResponseDueAt     *time.Time
	Answer            string `gorm:"type:text;not null"`
	AnsweredAt        *time.Time
	ExtensionDays     int  `gorm:"not null"`
	Satisfaction      int  `gorm:"not null"`
	Unreachable       bool `gorm:"not null"`
	ClosedAt          *time.Time
	MergedInto        string    `gorm:"type:varchar(16);not null"`
	UpdatedAt         time.Time `gorm:"not null"`
	Responses         int       `gorm:"not null"`
	ResponsesOnTime   int       `gorm:"not null"`
	AnsweredOnTime    bool      `gorm:"not null"`
	HeadHash          string    `gorm:"type:varchar(64);not null"`
}

func (m10Report) TableName() string { return "reports" }

type m10ReportEvent struct {
	ReportID   string    `gorm:"type:varchar(36);primaryKey"`
	Report     m10Report `gorm:"foreignKey:ReportID"`
	Seq        int       `gorm:"primaryKey;autoIncrement:false"`
	Action     string    `gorm:"type:varchar(20);not null"`
	FromStatus string    `gorm:"type:varchar(12);not null"`
	ToStatus   string    `gorm:"type:varchar(12);not null"`
	ActorID    string    `gorm:"type:varchar(36);not null"`
	ActorName  string    `gorm:"type:varchar(160);not null"`
	ActorRole  string    `gorm:"type:varchar(20);not null"`
	OrgID      string    `gorm:"type:varchar(36);not null"`
	ToOrgID    string    `gorm:"type:varchar(36);not null"`
	At         time.Time `gorm:"not null"`
	Note       string    `gorm:"type:text;not null"`
	Grade      int       `gorm:"not null"`
	Days       int       `gorm:"not null"`
	DueAt      *time.Time
	PrevHash   string `gorm:"type:varchar(64);not null"`
	Hash       string `gorm:"type:varchar(64);not null"`
}

func (m10ReportEvent) TableName() string { return "report_events" }

type m10ReportPhoto struct {
	ReportID    string    `gorm:"type:varchar(36);primaryKey"`
	Report      m10Report `gorm:"foreignKey:ReportID"`
	N           int       `gorm:"primaryKey;autoIncrement:false"`
	ContentType string    `gorm:"type:varchar(100);not null"`
	Data        []byte    `gorm:"not null"`
}

func (m10ReportPhoto) TableName() string { return "report_photos" }

func migrateReports(postgres bool) gormigrate.MigrateFunc {
	return func(tx *gorm.DB) error {
		if err := tx.Migrator().CreateTable(&m10Report{}); err != nil {
			return err
		}
		events := tx
		if !postgres {
			events = tx.Set("gorm:table_options", "WITHOUT ROWID")
		}
		if err := events.Migrator().CreateTable(&m10ReportEvent{}); err != nil {
			return err
		}
		// Photos stay in rowid tables on SQLite: large rows do not belong
		// in a WITHOUT ROWID b-tree.
		if err := tx.Migrator().CreateTable(&m10ReportPhoto{}); err != nil {
			return err
		}
		stmts := []string{
			`CREATE INDEX idx_reports_scope ON reports (intake_path, id)`,
			`CREATE INDEX idx_reports_holder ON reports (holder_org_id, status)`,
			`CREATE INDEX idx_reports_handler ON reports (handler_path)`,
			`CREATE INDEX idx_reports_grid ON reports (grid_path)`,
			`CREATE INDEX idx_reports_dispatcher ON reports (dispatcher_path)`,
			`CREATE INDEX idx_reports_registered ON reports (registered_at)`,
		}
		if postgres {
			stmts = append(stmts,
				`ALTER TABLE orgs ALTER COLUMN code TYPE varchar(16)`,
				`CREATE FUNCTION report_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'report events are append-only'; END $$`,
				`CREATE TRIGGER report_events_no_update BEFORE UPDATE OR DELETE ON report_events FOR EACH ROW EXECUTE FUNCTION report_events_append_only()`,
			)
		} else {
			stmts = append(stmts,
				`CREATE TRIGGER report_events_no_update BEFORE UPDATE ON report_events BEGIN SELECT RAISE(ABORT, 'report events are append-only'); END`,
				`CREATE TRIGGER report_events_no_delete BEFORE DELETE ON report_events BEGIN SELECT RAISE(ABORT, 'report events are append-only'); END`,
			)
		}
		return execAll(tx, stmts)
	}
}

// rollbackReports drops the tables with their indexes and triggers; on
// PostgreSQL narrowing orgs.code back fails, as it should, once a longer
// code is stored.
func rollbackReports(postgres bool) gormigrate.RollbackFunc {
	return func(tx *gorm.DB) error {
		// Children first: SQLite checks the foreign keys of a dropped
		// table's rows, and GORM's DropTable cannot turn them off inside
		// the migration's transaction.
		stmts := []string{`DROP TABLE report_photos`, `DROP TABLE report_events`, `DROP TABLE reports`}
		if postgres {
			stmts = append(stmts, `DROP FUNCTION report_events_append_only()`, `ALTER TABLE orgs ALTER COLUMN code TYPE varchar(12)`)
		}
		return execAll(tx, stmts)
	}
}

// Migration 11 serves the lists and statistics of a province (measured at
// ten million errands, BENCHMARKS.md):
//   - a queue of a township or city in deadline order reads only its own
//     open errands, in that order (idx_errands_queue);
//   - on PostgreSQL, the overdue errands newest first walk only the open
//     errands, newest first, with the deadline and scope inside the index
//     (idx_errands_open_id), instead of every errand since the newest; and
//     the statistics count the open errands past due in their scope
//     (idx_errands_open_scope) instead of every one in the province. SQLite
//     serves one city, where neither read is slow, and every index of open
//     errands is another page its one writer writes per registration;
//   - on PostgreSQL, a city's or township's list newest first reads its own
//     index in id order (idx_errands_city, idx_errands_township) instead of
//     walking the province's newest errands until fifty are its own, which
//     took 40-80 ms once one city had registered the last 24,000;
//   - on PostgreSQL the planner keeps a finer histogram of the scope paths
//     (1,000 buckets instead of 100): a township is a third of a percent of
//     a province's errands, less than one bucket of 100, and was taken for
//     a fourteenth of what it holds. SET STATISTICS changes the catalogue
//     only; the ANALYZE after it reads a sample and blocks no reads or writes.
const (
	queueIndexDef     = `ON errands (holder_org_id, due_at, id) WHERE holder_level <> 'village' AND status IN ('registered','forwarded','processing','correction')`
	openIDIndexDef    = `ON errands (id, due_at, org_path, status, paused_at) WHERE status IN ('registered','forwarded','processing','correction')`
	openScopeIndexDef = `ON errands (org_path, due_at, status, paused_at, reg_day) WHERE status IN ('registered','forwarded','processing','correction')`
)

// cityIndexDef and townshipIndexDef put a city's and a township's errands
// in id order, for their lists newest first (the scope index has them in
// id order only within each village).
var (
	cityIndexDef     = fmt.Sprintf(`ON errands ((substr(org_path, 1, %d)), id)`, cityPathLen)
	townshipIndexDef = fmt.Sprintf(`ON errands ((substr(org_path, 1, %d)), id)`, townshipPathLen)
)

func migrateErrandLists(postgres bool) gormigrate.MigrateFunc {
	return func(tx *gorm.DB) error {
		if postgres { // the indexes were built online (migration.online)
			return execAll(tx, []string{`ALTER TABLE errands ALTER COLUMN org_path SET STATISTICS 1000`, `ANALYZE errands`})
		}
		return tx.Exec(`CREATE INDEX idx_errands_queue ` + queueIndexDef).Error
	}
}

func rollbackErrandLists(postgres bool) gormigrate.RollbackFunc {
	return func(tx *gorm.DB) error {
		stmts := []string{`DROP INDEX idx_errands_queue`}
		if postgres {
			stmts = append(stmts, `DROP INDEX idx_errands_open_id`, `DROP INDEX idx_errands_open_scope`,
				`DROP INDEX idx_errands_city`, `DROP INDEX idx_errands_township`,
				`ALTER TABLE errands ALTER COLUMN org_path SET STATISTICS -1`)
		}
		return execAll(tx, stmts)
	}
}
