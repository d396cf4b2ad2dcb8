package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/go-gormigrate/gormigrate/v2"

	"daiban/internal/testdb"
)

func TestMigrateAndRollback(t *testing.T) {
	st := testdb.Open(t)
	ctx := context.Background()
	v, err := st.Versions(ctx)
	if err != nil || v.Calendar != 1 || v.Catalog != 1 {
		t.Fatalf("versions = %+v, %v; want the calendar's and the catalogue's at 1", v, err)
	}
	years, err := st.CalendarYears(ctx)
	if err != nil || len(years) != 4 {
		t.Fatalf("calendar years = %d, %v; want 2024 to 2027", len(years), err)
	}
	for i := 0; ; i++ { // every migration, newest first
		err := st.RollbackLast(ctx)
		if errors.Is(err, gormigrate.ErrNoRunMigration) {
			if i < 3 {
				t.Fatalf("only %d migrations were rolled back", i)
			}
			break
		}
		if err != nil {
			t.Fatalf("rollback %d: %v", i+1, err)
		}
	}
	var tables []string
	st.DB().Raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'errands'`).Scan(&tables)
	if !st.Postgres() && len(tables) != 0 {
		t.Errorf("the errands table is still there after rolling back every migration")
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
}
