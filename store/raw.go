package store

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// The statements on the write path of every registration and transition
// skip GORM's statement building: their SQL is made once per row type from
// GORM's own schema, prepared once per connection, and bound to each
// transaction.

// rowSQL writes whole rows of one type.
type rowSQL struct {
	table   string
	fields  []*schema.Field
	insert  string
	selects sync.Map // alias → column list
}

var (
	rowSQLs sync.Map // reflect.Type → *rowSQL
	schemas sync.Map // GORM's parsed schemas
)

func (s *Store) rowSQLOf(model any) *rowSQL {
	t := reflect.TypeOf(model)
	if v, ok := rowSQLs.Load(t); ok {
		return v.(*rowSQL)
	}
	sch, err := schema.Parse(model, &schemas, s.db.NamingStrategy)
	if err != nil {
		panic(err) // the row types are fixed; they parse or the package is broken
	}
	r := &rowSQL{table: sch.Table, fields: sch.Fields}
	cols := make([]string, len(sch.Fields))
	for i, f := range sch.Fields {
		cols[i] = f.DBName
	}
	r.insert = "INSERT INTO " + sch.Table + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	rowSQLs.Store(t, r)
	return r
}

// changes is the UPDATE of the columns that differ between the stored row
// and the new one, WHERE id = ? AND version = ? (the caller adds both):
// indexes over unchanged columns are then left alone. Each step of the
// lifecycle changes its own few columns, so few distinct statements arise.
func (r *rowSQL) changes(ctx context.Context, old, updated any) (string, []any) {
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(updated)
	var set []string
	var args []any
	for _, f := range r.fields {
		if f.DBName == "id" {
			continue
		}
		a, _ := f.ValueOf(ctx, ov)
		b, _ := f.ValueOf(ctx, nv)
		if reflect.DeepEqual(a, b) {
			continue
		}
		set = append(set, f.DBName+" = ?")
		args = append(args, b)
	}
	return "UPDATE " + r.table + " SET " + strings.Join(set, ", ") + " WHERE id = ? AND version = ?", args
}

// values lists row's columns in the order of the statements.
func (r *rowSQL) values(ctx context.Context, row any, skipID bool) []any {
	rv := reflect.ValueOf(row)
	out := make([]any, 0, len(r.fields)+2)
	for _, f := range r.fields {
		if skipID && f.DBName == "id" {
			continue
		}
		v, _ := f.ValueOf(ctx, rv)
		out = append(out, v)
	}
	return out
}

// stmt prepares query once on the pool; database/sql then prepares it once
// on each connection that runs it, and reuses it in later transactions.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := s.stmts.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := s.sqlDB.PrepareContext(ctx, s.rebind(query))
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// exec runs a prepared statement inside the transaction that tx is bound to.
// A statement of a transaction is never cut off halfway (the transaction
// ends as a whole), and a context without cancellation spares the driver a
// goroutine per statement that would watch for it.
func (s *Store) exec(ctx context.Context, tx *gorm.DB, query string, args ...any) (sql.Result, error) {
	if c, ok := tx.Statement.Context.Value(writerConnKey{}).(*directConn); ok {
		n, err := c.exec(query, args...)
		return directResult(n), s.translateRaw(err)
	}
	ctx = context.WithoutCancel(ctx)
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	raw, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil, errors.New("store: exec outside a transaction")
	}
	res, err := raw.StmtContext(ctx, st).ExecContext(ctx, args...)
	return res, s.translateRaw(err)
}

// directResult is the outcome of a statement run on a directConn.
type directResult int64

func (r directResult) LastInsertId() (int64, error) {
	return 0, errors.New("store: no insert ids from direct statements")
}
func (r directResult) RowsAffected() (int64, error) { return int64(r), nil }

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

// selectList is the column list of a row type, each prefixed with alias.
func (r *rowSQL) selectList(alias string) string {
	if v, ok := r.selects.Load(alias); ok {
		return v.(string)
	}
	cols := make([]string, len(r.fields))
	for i, f := range r.fields {
		cols[i] = alias + f.DBName
	}
	list := strings.Join(cols, ", ")
	r.selects.Store(alias, list)
	return list
}

// targets are pointers into row for Scan, in the order of selectList.
func (r *rowSQL) targets(ctx context.Context, row any) []any {
	rv := reflect.ValueOf(row)
	out := make([]any, len(r.fields))
	for i, f := range r.fields {
		out[i] = f.ReflectValueOf(ctx, rv).Addr().Interface()
	}
	return out
}

// txRow reads one row inside the write transaction tx, on the writer's
// own handle when tx is the writer's.
func (s *Store) txRow(ctx context.Context, tx *gorm.DB, query string, args []any, dest ...any) error {
	if c, ok := tx.Statement.Context.Value(writerConnKey{}).(*directConn); ok {
		return c.queryRow(query, args, dest...)
	}
	err := tx.Raw(query, args...).Row().Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return gorm.ErrRecordNotFound
	}
	return err
}

// queryRows runs a prepared query outside any transaction. It serves short
// indexed reads, which are not worth a driver goroutine watching for
// cancellation.
func (s *Store) queryRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs a prepared query for one row and scans it into dest;
// no row is gorm.ErrRecordNotFound, which translate maps to not found.
func (s *Store) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	if s.readers != nil {
		return s.readers.with(ctx, func(c *directConn) error { return c.queryRow(query, args, dest...) })
	}
	ctx = context.WithoutCancel(ctx)
	st, err := s.stmt(ctx, query)
	if err != nil {
		return err
	}
	err = st.QueryRowContext(ctx, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return gorm.ErrRecordNotFound
	}
	return err
}
