package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"daiban/demo"
	"daiban/internal/testdb"
	"daiban/service"
	"daiban/store"
)

// BenchmarkStatsAtScale times the statistics a supervisor asks for most,
// over two years of errands. DAIBAN_BENCH_DB names a database filled by
// `daiban demo --demo-errands N` (SQLite path or postgres:// URL); without
// it a 10,000-errand demo is built in a temporary file.
//
//	DAIBAN_BENCH_DB=/tmp/m1.db go test ./store -run '^$' -bench StatsAtScale -benchtime 50x
func BenchmarkStatsAtScale(b *testing.B) {
	ctx := context.Background()
	dsn := os.Getenv("DAIBAN_BENCH_DB")
	now := time.Now()
	var st *store.Store
	if dsn == "" {
		st = testdb.OpenDSN(b, filepath.Join(b.TempDir(), "bench.db"))
		if _, _, err := demo.Load(ctx, st, demo.Options{Errands: 10000, Seed: 1, Now: now, PasswordCost: bcrypt.MinCost}); err != nil {
			b.Fatal(err)
		}
	} else {
		var err error
		if st, err = store.Open(ctx, dsn, store.Options{SecretKey: []byte("daiban-demo-only-secret-key-never-use-in-production")}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
	}
	cities, err := st.Orgs(ctx, service.OrgFilter{Level: service.LevelCity, Limit: 1})
	if err != nil || len(cities) == 0 {
		b.Fatalf("no city: %v", err)
	}
	townships, _ := st.Orgs(ctx, service.OrgFilter{Level: service.LevelTownship, Limit: 1})
	super := service.Actor{Role: service.RoleSupervisor, OrgID: cities[0].ID, OrgPath: cities[0].Path}
	svc := service.New(st.Stores(), service.Options{})
	twoYears := service.StatsRequest{From: service.DateOf(now.AddDate(-2, 0, 0)).String(), To: service.DateOf(now).String()}
	month := service.StatsRequest{From: service.DateOf(now.AddDate(0, -1, 0)).String(), To: service.DateOf(now).String()}
	for _, c := range []struct {
		name string
		req  service.StatsRequest
	}{
		{"totals/2y", twoYears},
		{"township/2y", with(twoYears, "township", "")},
		{"village/2y", with(twoYears, "village", "")},
		{"item/2y", with(twoYears, "item", "")},
		{"agent/2y", with(twoYears, "agent", "")},
		{"month/2y", with(twoYears, "month", "")},
		{"township/1m", with(month, "township", "")},
		{"one-township-by-village/2y", with(twoYears, "village", townships[0].ID)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := svc.Stats(ctx, super, c.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func with(r service.StatsRequest, by, org string) service.StatsRequest {
	r.GroupBy, r.OrgID = by, org
	return r
}
