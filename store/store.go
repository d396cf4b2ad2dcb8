// Package store persists daiban's domain with GORM on SQLite (the default, a
// file next to the binary) or PostgreSQL (a postgres:// URL). It owns the
// schema, its migrations, every query and every transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"daiban/service"
)

// Options configure Open.
type Options struct {
	// SecretKey encrypts resident ID numbers at rest and keys their blind
	// index; at least 32 bytes.
	SecretKey []byte
	// MaxOpenConns sizes the connection pool (PostgreSQL: 20 by default;
	// SQLite: 4 readers by default, writes go through one connection of their own).
	MaxOpenConns int
	// BatchMax bounds how many SQLite writes share one commit (128 by default).
	BatchMax int
}

// Store persists the service's aggregates (see the interfaces in service).
type Store struct {
	db       *gorm.DB // the pool: reads, and on PostgreSQL writes too
	wdb      *gorm.DB // SQLite: the one connection that writes; PostgreSQL: db
	postgres bool
	writer   *writer    // SQLite only: group commit on wconn
	wconn    *sql.Conn  // SQLite only: the writer's connection of wdb
	rstmts   *stmtCache // the hot reads, on db
	wstmts   *stmtCache // the hot writes, on wdb
	crypt    *crypt

	closeOnce sync.Once
	closeErr  error
}

// IsPostgres reports whether dsn selects PostgreSQL.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// readers is how many SQLite connections serve reads by default: twice the
// cores of a small server, as a read waits on the disk now and then.
const readers = 4

// busyTimeoutMS is how long a SQLite connection waits for a lock.
const busyTimeoutMS = 5000

// SQLiteDSN is the connection string for a database file: WAL, foreign keys,
// a busy timeout, immediate write transactions, and a full sync on commit so
// nothing acknowledged is lost.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_journal_mode=WAL&_busy_timeout=" + strconv.Itoa(busyTimeoutMS) + "&_foreign_keys=on&_txlock=immediate&_synchronous=FULL"
}

// Open connects to dsn (a SQLite file path or a postgres:// URL) without
// migrating; call Migrate before use.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	c, err := newCrypt(o.SecretKey)
	if err != nil {
		return nil, err
	}
	s := &Store{crypt: c, postgres: IsPostgres(dsn)}
	conns := o.MaxOpenConns
	if s.postgres {
		if conns == 0 {
			conns = 20
		}
		if s.db, err = openGorm(ctx, postgres.Open(withTimezone(dsn)), conns); err != nil {
			return nil, err
		}
		s.wdb = s.db
		s.rstmts = newStmtCache(s.db, true)
		s.rstmts.unprepared = unprepared(dsn)
		s.wstmts = s.rstmts
		return s, nil
	}
	if conns == 0 {
		conns = readers
	}
	// Each reader's page cache holds the pages of the receipts being looked
	// up: four readers of 8 MiB did 0.28 of the fixed-JSON handler's rate
	// in the lookup benchmark, eight of SQLite's default 2 MiB 0.22.
	if s.db, err = openGorm(ctx, sqlite.Open(SQLiteDSN(dsn)+"&_cache_size=-8192"), conns); err != nil {
		return nil, err
	}
	// Writes go through a pool of their own. SQLite has one writer at a
	// time, so the group commit (writer.go) keeps one connection of it for
	// good, with its page cache; the other prepares the hot statements while
	// the writer's transaction is open (database/sql then prepares each once
	// on the writer's connection) and runs the odd maintenance statement.
	if s.wdb, err = openGorm(ctx, sqlite.Open(SQLiteDSN(dsn)), 2); err != nil {
		return nil, errors.Join(err, closeGorm(s.db))
	}
	wpool, err := s.wdb.DB()
	if err != nil {
		return nil, errors.Join(err, s.closePools())
	}
	if s.wconn, err = wpool.Conn(ctx); err != nil {
		return nil, errors.Join(err, s.closePools())
	}
	max := o.BatchMax
	if max == 0 {
		max = 128
	}
	s.rstmts, s.wstmts = newStmtCache(s.db, false), newStmtCache(s.wdb, false)
	s.writer = newWriter(func(ctx context.Context) *gorm.DB {
		tx := s.wdb.Session(&gorm.Session{NewDB: true, Context: ctx})
		tx.Statement.ConnPool = s.wconn
		return tx.Begin()
	}, max)
	return s, nil
}

// openGorm opens a pool of conns connections. GORM's own statement cache
// stays off: it prepares again in every transaction, and the hot
// statements have theirs (stmt.go).
func openGorm(ctx context.Context, d gorm.Dialector, conns int) (*gorm.DB, error) {
	db, err := gorm.Open(d, &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("reach database: %w", err), sqlDB.Close())
	}
	return db, nil
}

func newStmtCache(db *gorm.DB, postgres bool) *stmtCache {
	sqlDB, _ := db.DB() // openGorm got it already
	return &stmtCache{db: sqlDB, postgres: postgres}
}

// closePools closes the connection pools.
func (s *Store) closePools() error {
	err := closeGorm(s.db)
	if s.wdb != nil && s.wdb != s.db {
		err = errors.Join(err, closeGorm(s.wdb))
	}
	return err
}

func closeGorm(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// unprepared reports whether the URL asks pgx for no named prepared
// statements (default_query_exec_mode=exec or simple_protocol), as a
// transaction-pooling PgBouncer before 1.21 needs; the store then prepares
// none of its own either.
func unprepared(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	m := u.Query().Get("default_query_exec_mode")
	return m == "exec" || m == "simple_protocol"
}

// withTimezone pins the session zone to UTC so timestamps read back the same
// on every server.
func withTimezone(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	if q.Get("timezone") == "" {
		q.Set("timezone", "UTC")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Close stops the writer after its queued writes and closes the database;
// closing again does nothing. On SQLite it folds the WAL back into the main
// file, so that file alone is a whole copy.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.writer != nil {
			s.writer.close()
			errs = append(errs, s.wconn.Close(),
				s.wdb.Exec("PRAGMA optimize").Error,
				s.wdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error)
		}
		s.closeErr = errors.Join(append(errs, s.closePools())...)
	})
	return s.closeErr
}

// CheckKey records the secret key's fingerprint in a new database and, in
// one that has it, refuses a different key.
func (s *Store) CheckKey(ctx context.Context) error {
	fp := s.crypt.fingerprint()
	var stored []string
	if err := s.read(ctx).Table("settings").Where("name = ?", "key_fingerprint").Pluck("value", &stored).Error; err != nil {
		return err
	}
	if len(stored) == 0 {
		return s.write(ctx, func(tx *gorm.DB) error {
			return tx.Exec("INSERT INTO settings (name, value) VALUES (?, ?)", "key_fingerprint", fp).Error
		})
	}
	if stored[0] != fp {
		return errors.New("DAIBAN_SECRET_KEY is not the key this database was created with; ID numbers could not be read")
	}
	return nil
}

// Setting reads a named setting ("" when unset).
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v []string
	err := s.read(ctx).Table("settings").Where("name = ?", name).Pluck("value", &v).Error
	if err != nil || len(v) == 0 {
		return "", err
	}
	return v[0], nil
}

// SetSetting writes a named setting.
func (s *Store) SetSetting(ctx context.Context, name, value string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM settings WHERE name = ?", name).Error; err != nil {
			return err
		}
		return tx.Exec("INSERT INTO settings (name, value) VALUES (?, ?)", name, value).Error
	})
}

// Backup writes a consistent copy of a live SQLite database to path.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.postgres {
		return errors.New("back up PostgreSQL with pg_dump (see README)")
	}
	return s.db.WithContext(ctx).Exec("VACUUM INTO ?", path).Error
}

// Optimize refreshes the query planner's statistics where they have gone
// stale (SQLite's PRAGMA optimize; PostgreSQL's autovacuum does this itself).
func (s *Store) Optimize(ctx context.Context) error {
	if s.postgres {
		return nil
	}
	return s.wdb.WithContext(ctx).Exec("PRAGMA optimize").Error
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Postgres reports the engine.
func (s *Store) Postgres() bool { return s.postgres }

// DB exposes the connection pool for tests and tools that inspect the raw rows.
func (s *Store) DB() *gorm.DB { return s.db }

// write runs fn in a write transaction. On SQLite it joins the group commit:
// concurrent writes share one transaction and one sync, and one failure
// never fails the others (see writer). On PostgreSQL, which commits
// concurrent transactions side by side, each write has its own.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.writer != nil {
		return s.writer.do(ctx, fn)
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return call(fn, tx) })
}

// read returns a handle for reads bound to ctx.
func (s *Store) read(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// translate turns driver errors into the domain's.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return service.NotFound(what)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return &service.Error{Kind: service.KindConflict, Code: "duplicate", Detail: what + " already exists"}
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return &service.Error{Kind: service.KindInvalid, Code: "validation_failed", Detail: what + " refers to something that does not exist"}
	}
	return err
}

// utc normalises a time for storage: UTC, microseconds (what PostgreSQL keeps).
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func ptime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := utc(t)
	return &u
}

func unptime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// Stores hands the store to the service as its aggregates.
func (s *Store) Stores() service.Stores {
	return service.Stores{Accounts: s, Directory: s, Errands: s, Stats: s, Notify: s, Reports: s}
}
