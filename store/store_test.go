package store_test

import (
	"context"
	"testing"

	"daiban/internal/testdb"
)

func TestMigrateAndRollback(t *testing.T) {
	st := testdb.Open(t)
	ctx := context.Background()
	v, err := st.CalendarVersion(ctx)
	if err != nil || v != 1 {
		t.Fatalf("calendar version = %d, %v; want 1", v, err)
	}
	years, err := st.CalendarYears(ctx)
	if err != nil || len(years) != 4 {
		t.Fatalf("calendar years = %d, %v; want 2024 to 2027", len(years), err)
	}
	if err := st.RollbackLast(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
}
