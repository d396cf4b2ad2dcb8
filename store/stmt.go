package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// The few statements that run on every registration, transition, sign-in
// and lookup skip GORM's statement building and are prepared once: this is
// the store's one statement cache. Everything else goes through GORM.

// stmtCache prepares each statement once on its pool; database/sql then
// prepares it once on each connection that runs it and reuses it there,
// also inside transactions (sql.Tx.StmtContext).
//
// Unprepared, it prepares nothing and the statements run as plain queries:
// behind a pooler in transaction mode (PgBouncer before 1.21) a connection
// of the pool is a different server session in each transaction, where a
// statement prepared in another does not exist.
type stmtCache struct {
	db         *sql.DB
	postgres   bool
	unprepared bool
	m          sync.Map // query → *sql.Stmt
}

// text is the query as the database takes it.
func (c *stmtCache) text(query string) string {
	if c.postgres {
		return rebind(query)
	}
	return query
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := c.m.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	q := query
	if c.postgres {
		q = rebind(query)
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// rebind turns ? placeholders into PostgreSQL's $n.
func rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exec runs a cached statement in the write transaction tx.
func (s *Store) exec(tx *gorm.DB, query string, args ...any) (sql.Result, error) {
	raw, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil, errors.New("store: exec outside a transaction")
	}
	ctx := tx.Statement.Context
	if s.wstmts.unprepared {
		res, err := raw.ExecContext(ctx, s.wstmts.text(query), args...)
		return res, s.translateRaw(err)
	}
	st, err := s.wstmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := raw.StmtContext(ctx, st).ExecContext(ctx, args...)
	return res, s.translateRaw(err)
}

// txRow reads one row with a cached statement in the write transaction tx.
func (s *Store) txRow(tx *gorm.DB, query string, args []any, dest ...any) error {
	raw, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return errors.New("store: txRow outside a transaction")
	}
	ctx := tx.Statement.Context
	if s.wstmts.unprepared {
		return noRow(raw.QueryRowContext(ctx, s.wstmts.text(query), args...).Scan(dest...))
	}
	st, err := s.wstmts.get(ctx, query)
	if err != nil {
		return err
	}
	return noRow(raw.StmtContext(ctx, st).QueryRowContext(ctx, args...).Scan(dest...))
}

// queryRow reads one row with a cached statement on the pool; no row is
// gorm.ErrRecordNotFound, which translate maps to not found. These reads
// are short and indexed, not worth a goroutine of the driver's watching
// for the request's cancellation.
func (s *Store) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	ctx = context.WithoutCancel(ctx)
	if s.rstmts.unprepared {
		return noRow(s.rstmts.db.QueryRowContext(ctx, s.rstmts.text(query), args...).Scan(dest...))
	}
	st, err := s.rstmts.get(ctx, query)
	if err != nil {
		return err
	}
	return noRow(st.QueryRowContext(ctx, args...).Scan(dest...))
}

// queryRows runs a cached statement on the pool.
func (s *Store) queryRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	if s.rstmts.unprepared {
		return s.rstmts.db.QueryContext(ctx, s.rstmts.text(query), args...)
	}
	st, err := s.rstmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func noRow(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return gorm.ErrRecordNotFound
	}
	return err
}

// translateRaw maps a driver error to GORM's (duplicate key, foreign key),
// which translate then maps to the domain's.
func (s *Store) translateRaw(err error) error {
	if err == nil {
		return nil
	}
	if t, ok := s.db.Dialector.(gorm.ErrorTranslator); ok {
		return t.Translate(err)
	}
	return err
}
