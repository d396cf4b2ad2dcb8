// Package store persists daiban's domain with GORM on SQLite (the default, a
// file next to the binary) or PostgreSQL (a postgres:// URL). It owns the
// schema, its migrations, every query and every transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
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
	// SQLite: 8 readers by default, writes go through one connection).
	MaxOpenConns int
	// BatchMax bounds how many SQLite writes share one commit (128 by default).
	BatchMax int
	Logger   *slog.Logger
}

// Store implements service.Store.
type Store struct {
	db           *gorm.DB
	sqlDB        *sql.DB
	postgres     bool
	writer       *writer       // SQLite only: group commit
	checkpointer *checkpointer // SQLite only: WAL checkpoints off the write path
	writerConn   *sql.Conn     // SQLite only: the writer's own connection
	writerDirect *directConn   // SQLite only: the writer's connection, for its hot statements
	readers      *directPool   // SQLite only: connections for the hot reads
	stmts        sync.Map      // query → *sql.Stmt, prepared on the pool
	crypt        *crypt
	log          *slog.Logger
	closeOnce    sync.Once
	closeErr     error
}

var _ service.Store = (*Store)(nil)

// IsPostgres reports whether dsn selects PostgreSQL.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// busyTimeoutMS is how long a SQLite connection waits for a lock.
const busyTimeoutMS = 5000

// directReaders is how many SQLite connections serve the hot reads: enough
// to keep both cores of a small server busy, each with its own page cache.
const directReaders = 4

// writerConnKey marks the context of the writer's transactions.
type writerConnKey struct{}

// SQLiteDSN is the connection string for a database file: WAL, foreign keys,
// a busy timeout, immediate write transactions, a full sync on commit so
// nothing acknowledged is lost, and the VFS that writes each transaction's
// WAL frames at once (walbuf.c). No per-connection mutex: database/sql, the
// writer and the direct readers' pool each lend a connection to one
// goroutine at a time, and SQLite otherwise locks it around every call,
// several hundred times a registration.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_journal_mode=WAL&_busy_timeout=" + strconv.Itoa(busyTimeoutMS) + "&_foreign_keys=on&_txlock=immediate&_synchronous=FULL&_mutex=no&vfs=" + walbufVFS
}

// Open connects to dsn (a SQLite file path or a postgres:// URL) without
// migrating; call Migrate before use.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c, err := newCrypt(o.SecretKey)
	if err != nil {
		return nil, err
	}
	cfg := &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		PrepareStmt:            true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	s := &Store{crypt: c, log: o.Logger, postgres: IsPostgres(dsn)}
	if s.postgres {
		s.db, err = gorm.Open(postgres.Open(withTimezone(dsn)), cfg)
	} else {
		s.db, err = gorm.Open(sqlite.Dialector{DriverName: sqliteDriver, DSN: SQLiteDSN(dsn)}, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	s.sqlDB = sqlDB
	conns := o.MaxOpenConns
	if conns == 0 {
		conns = 20
		if !s.postgres {
			conns = 8
		}
	}
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("reach database: %w", err)
	}
	if !s.postgres {
		max := o.BatchMax
		if max == 0 {
			max = 128
		}
		// The writer keeps one connection for itself: its statements are
		// prepared there once, and its pages stay in that connection's cache.
		wconn, err := sqlDB.Conn(ctx)
		if err != nil {
			sqlDB.Close()
			return nil, err
		}
		s.writerConn = wconn
		if err := wconn.Raw(func(dc any) error {
			s.writerDirect = newDirectConn(dc.(*sqlite3.SQLiteConn), false)
			return nil
		}); err != nil {
			sqlDB.Close()
			return nil, err
		}
		if s.readers, err = openDirectPool(SQLiteDSN(dsn), directReaders); err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("open database: %w", err)
		}
		s.writer = newWriter(func(ctx context.Context) (*sql.Tx, *gorm.DB, error) {
			raw, err := wconn.BeginTx(ctx, nil)
			if err != nil {
				return nil, nil, err
			}
			// The transaction's statements run on wconn, so the hot ones
			// may go straight to its handle (see exec).
			return raw, s.bind(context.WithValue(ctx, writerConnKey{}, s.writerDirect), raw), nil
		}, s.stmt, max)
		if err := <-s.writer.priority; err != nil {
			o.Logger.Info("the SQLite writer runs at normal priority: raising it needs root or CAP_SYS_NICE", "err", err)
		}
		s.checkpointer = newCheckpointer(sqlDB, s.writer, o.Logger, dsn+"-wal", walLimits{})
	}
	return s, nil
}

// sqliteDriver is mattn's driver with the connection settings its DSN
// cannot carry. Commits leave checkpoints to the checkpointer (see
// checkpoint.go); the automatic one is only a bound for a WAL that a
// long-lived reader keeps from starting over.
const sqliteDriver = "sqlite3_daiban"

var sqliteDrv = &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
	_, err := c.Exec("PRAGMA wal_autocheckpoint = 262144", nil)
	return err
}}

func init() { sql.Register(sqliteDriver, sqliteDrv) }

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
// closing again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.writer != nil {
			s.checkpointer.close() // before the writer: its rounds pause the writer
			s.writer.close()
			s.writerDirect.close()
			s.writerConn.Close()
			s.readers.close()
			s.db.Exec("PRAGMA optimize")
			// Fold the WAL back into the main file so a copy of it alone is whole.
			s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		}
		s.closeErr = s.sqlDB.Close()
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
	return s.read(ctx).Exec("VACUUM INTO ?", path).Error
}

// Optimize refreshes the query planner's statistics where they have gone
// stale (SQLite's PRAGMA optimize; PostgreSQL's autovacuum does this itself).
func (s *Store) Optimize(ctx context.Context) error {
	if s.postgres {
		return nil
	}
	return s.read(ctx).Exec("PRAGMA optimize").Error
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

// DB exposes the connection for tests and tools that inspect the raw rows.
func (s *Store) DB() *gorm.DB { return s.db }

// write runs fn in a write transaction. On SQLite it joins the group commit:
// concurrent writes share one transaction and one sync, and one failure
// never fails the others (see writer).
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.writer != nil {
		return s.writer.do(ctx, fn)
	}
	raw, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	if err := call(fn, tx); err != nil {
		raw.Rollback()
		return err
	}
	return raw.Commit()
}

// begin opens a transaction and a GORM handle bound to it. The raw
// transaction also runs the hot statements, which are prepared once per
// connection (see stmt) rather than once per transaction.
func (s *Store) begin(ctx context.Context) (*sql.Tx, *gorm.DB, error) {
	raw, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	return raw, s.bind(ctx, raw), nil
}

// bind is a GORM handle that runs its statements in raw.
func (s *Store) bind(ctx context.Context, raw *sql.Tx) *gorm.DB {
	tx := s.db.Session(&gorm.Session{NewDB: true, Context: ctx})
	tx.Statement.ConnPool = raw
	return tx
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
