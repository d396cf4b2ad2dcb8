package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"daiban/service"
)

// ExplainErrands is the query plan of the errands f selects, for tests of
// the indexes. On PostgreSQL sequential scans are priced out, as on a big
// table: a plan that still reads the whole table has no index to use.
func (s *Store) ExplainErrands(ctx context.Context, f service.ErrandFilter) (string, error) {
	return s.explain(ctx, s.filtered(ctx, f))
}

// ExplainPage is the plan of the page of errands f selects, in its order.
func (s *Store) ExplainPage(ctx context.Context, f service.ErrandFilter) (string, error) {
	return s.explain(ctx, s.page(ctx, f))
}

func (s *Store) explain(ctx context.Context, q *gorm.DB) (string, error) {
	var ids []string
	stmt := q.Session(&gorm.Session{DryRun: true}).Select("e.id").Find(&ids).Statement
	sqlDB, err := s.db.DB()
	if err != nil {
		return "", err
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	explain := "EXPLAIN QUERY PLAN "
	if s.postgres {
		explain = "EXPLAIN "
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return "", err
		}
	}
	rows, err := tx.QueryContext(ctx, explain+stmt.SQL.String(), stmt.Vars...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var plan strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprint(&plan, v, " ")
		}
		plan.WriteString("\n")
	}
	return plan.String(), rows.Err()
}

// MigrationIDs are the IDs of every migration, oldest first.
func MigrationIDs() []string {
	var s Store
	var ids []string
	for _, m := range s.migrations() {
		ids = append(ids, m.ID)
	}
	return ids
}

// ShortLease makes the migration lease's term and wait those given until
// the test ends.
func ShortLease(tb testing.TB, term, wait time.Duration) {
	oldTerm, oldWait := leaseTerm, leaseWait
	leaseTerm, leaseWait = term, wait
	tb.Cleanup(func() { leaseTerm, leaseWait = oldTerm, oldWait })
}

// TakeMigrationLease waits for the migration lease (see takeMigrationLease).
func (s *Store) TakeMigrationLease(ctx context.Context) (context.Context, func() error, error) {
	return s.takeMigrationLease(ctx)
}
