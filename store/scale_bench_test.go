package store_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
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
	now := time.Now()
	st := benchStore(b, now)
	cities, err := st.Orgs(ctx, service.OrgFilter{Level: service.LevelCity, Limit: 1})
	if err != nil || len(cities) == 0 {
		b.Fatalf("no city: %v", err)
	}
	townships, _ := st.Orgs(ctx, service.OrgFilter{Level: service.LevelTownship, Limit: 1})
	super := service.Actor{Role: service.RoleSupervisor, OrgID: cities[0].ID, OrgPath: cities[0].Path}
	svc := service.New(st.Stores(), service.Options{})
	twoYears := service.StatsRequest{From: service.DateOf(now.AddDate(-2, 0, 0)).String(), To: service.DateOf(now).String()}
	month := service.StatsRequest{From: service.DateOf(now.AddDate(0, -1, 0)).String(), To: service.DateOf(now).String()}
	// The sample the rollups are checked on: one township by village over
	// two years, and the city by month, recomputed from the errands.
	ref := testdb.Reference(st, func() time.Time { return now })
	for _, req := range []service.StatsRequest{with(twoYears, "village", townships[0].ID), with(twoYears, "month", "")} {
		fast, err := svc.Stats(ctx, super, req)
		if err != nil {
			b.Fatal(err)
		}
		slow, err := ref.Stats(ctx, super, req)
		if err != nil {
			b.Fatal(err)
		}
		if !reflect.DeepEqual(fast.Groups, slow.Groups) || !reflect.DeepEqual(fast.Totals, slow.Totals) {
			b.Fatalf("the rollups of %+v differ from a recomputation:\nrollups %+v\nerrands %+v", req, fast.Totals, slow.Totals)
		}
		b.Logf("rollups of %s by %s equal a recomputation: %d accepted in %d rows", req.OrgID, req.GroupBy, fast.Totals.Accepted, len(fast.Groups))
	}
	for _, c := range []struct {
		name string
		req  service.StatsRequest
	}{
		{"totals/2y", twoYears},
		{"township/2y", with(twoYears, "township", "")},
		{"village/2y", with(twoYears, "village", "")},
		{"item/2y", with(twoYears, "item", "")},
		{"agent/2y", with(twoYears, "agent", "")},
		{"category/2y", with(twoYears, "category", "")},
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

// BenchmarkReadsAtScale times, for the same database, everything else a
// page of the console asks for: the first page of every list and search
// as a city supervisor, a township officer and a village agent, the holder
// queues, the warnings list with its totals, the ledger of a month, and
// the public lookup. Each sub-benchmark also reports its slowest call.
//
//	DAIBAN_BENCH_DB='postgres://…/daiban_10m' go test ./store -run '^$' -bench ReadsAtScale -benchtime 30x
func BenchmarkReadsAtScale(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	st := benchStore(b, now)
	first := func(level service.Level, under string) service.Org {
		os, err := st.Orgs(ctx, service.OrgFilter{Level: level, Under: under, Limit: 1})
		if err != nil || len(os) == 0 {
			b.Fatalf("no %s under %q: %v", level, under, err)
		}
		return os[0]
	}
	city := first(service.LevelCity, "")
	town := first(service.LevelTownship, city.Path)
	village := first(service.LevelVillage, town.Path)
	actor := func(r service.Role, o service.Org) service.Actor {
		return service.Actor{Role: r, OrgID: o.ID, OrgPath: o.Path, OrgLevel: o.Level, OrgName: o.Name}
	}
	super, officer, agent := actor(service.RoleSupervisor, city), actor(service.RoleTownshipOfficer, town), actor(service.RoleAgent, village)
	cityOfficer := actor(service.RoleCityOfficer, city)
	svc := service.New(st.Stores(), service.Options{})
	// A searched errand: the newest of the village, read as the supervisor
	// (who sees the applicant unmasked).
	some, _, err := svc.Errands(ctx, super, service.ErrandQuery{OrgID: village.ID, Limit: 1})
	if err != nil || len(some) == 0 {
		b.Fatalf("no errand in %s: %v", village.Name, err)
	}
	e := some[0]
	open := service.OpenStatuses
	month := service.DateOf(now.AddDate(0, -1, 0)).String()
	lastMonth := now.AddDate(0, -1, 0).Format("2006-01")
	cases := []struct {
		name string
		fn   func() error
	}{
		{"list/supervisor", func() error { _, _, err := svc.Errands(ctx, super, service.ErrandQuery{Limit: 50}); return err }},
		{"list/township", func() error { _, _, err := svc.Errands(ctx, officer, service.ErrandQuery{Limit: 50}); return err }},
		{"list/agent", func() error { _, _, err := svc.Errands(ctx, agent, service.ErrandQuery{Limit: 50}); return err }},
		{"list/open-by-due", func() error {
			_, _, err := svc.Errands(ctx, super, service.ErrandQuery{Statuses: open, Order: service.ByDue, Limit: 50})
			return err
		}},
		{"list/overdue", func() error {
			_, _, err := svc.Errands(ctx, super, service.ErrandQuery{Overdue: true, Limit: 50})
			return err
		}},
		{"list/item", func() error {
			_, _, err := svc.Errands(ctx, super, service.ErrandQuery{ItemCode: e.ItemCode, Limit: 50})
			return err
		}},
		{"list/last-month", func() error {
			_, _, err := svc.Errands(ctx, super, service.ErrandQuery{From: month, Limit: 50})
			return err
		}},
		{"queue/township", func() error {
			_, _, err := svc.Errands(ctx, officer, service.ErrandQuery{HolderOrgID: town.ID, Statuses: open, Order: service.ByDue, Limit: 50})
			return err
		}},
		{"queue/city", func() error {
			_, _, err := svc.Errands(ctx, cityOfficer, service.ErrandQuery{HolderOrgID: city.ID, Statuses: open, Order: service.ByDue, Limit: 50})
			return err
		}},
		{"search/receipt", func() error {
			_, _, err := svc.Errands(ctx, super, service.ErrandQuery{ReceiptNo: e.ReceiptNo, Limit: 50})
			return err
		}},
		{"search/name", func() error {
			_, _, err := svc.Errands(ctx, super, service.ErrandQuery{Name: string([]rune(e.Applicant.Name)[:1]), Limit: 50})
			return err
		}},
		{"search/phone", func() error {
			_, _, err := svc.Errands(ctx, super, service.ErrandQuery{Phone: e.Applicant.Phone, Limit: 50})
			return err
		}},
		{"search/id-number", func() error {
			_, _, err := svc.Errands(ctx, super, service.ErrandQuery{IDNumber: e.Applicant.IDNumber, Limit: 50})
			return err
		}},
		{"warnings/supervisor", func() error { _, _, err := svc.Warnings(ctx, super, service.ErrandQuery{Limit: 50}); return err }},
		{"warnings/township", func() error { _, _, err := svc.Warnings(ctx, officer, service.ErrandQuery{Limit: 50}); return err }},
		{"warnings/totals", func() error { _, err := svc.CountWarnings(ctx, super, service.ErrandQuery{}); return err }},
		{"ledger/village-month", func() error {
			_, err := svc.Ledger(ctx, super, service.LedgerQuery{OrgID: village.ID, Month: lastMonth})
			return err
		}},
		{"lookup", func() error { _, err := svc.LookupReceipt(ctx, e.ReceiptNo, e.VerifyCode, "bench"); return err }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var slowest time.Duration
			for b.Loop() {
				began := time.Now()
				if err := c.fn(); err != nil {
					b.Fatal(err)
				}
				slowest = max(slowest, time.Since(began))
			}
			b.ReportMetric(float64(slowest)/1e6, "max-ms")
		})
	}
}

// benchStore opens the database DAIBAN_BENCH_DB names, or builds a
// 10,000-errand demo registered up to now in a temporary file.
func benchStore(b *testing.B, now time.Time) *store.Store {
	ctx := context.Background()
	dsn := os.Getenv("DAIBAN_BENCH_DB")
	if dsn == "" {
		st := testdb.OpenDSN(b, filepath.Join(b.TempDir(), "bench.db"))
		if _, _, err := demo.Load(ctx, st, demo.Options{Errands: 10000, Seed: 1, Now: now, PasswordCost: bcrypt.MinCost}); err != nil {
			b.Fatal(err)
		}
		return st
	}
	st, err := store.Open(ctx, dsn, store.Options{SecretKey: []byte("daiban-demo-only-secret-key-never-use-in-production")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func with(r service.StatsRequest, by, org string) service.StatsRequest {
	r.GroupBy, r.OrgID = by, org
	return r
}
