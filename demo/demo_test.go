package demo_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"daiban/demo"
	"daiban/internal/testdb"
	"daiban/service"
)

func TestCompletedFor(t *testing.T) {
	if got := demo.CompletedFor(75620); got != 74077 {
		t.Fatalf("CompletedFor(75620) = %d, want Changle's 74077", got)
	}
	if r := service.Rate(int64(demo.CompletedFor(75620)), 75620); r.String() != "97.96" {
		t.Fatalf("rate %s", r)
	}
}

// The demo is a real history: exact completion, a verifying ledger, and
// rollups that agree with a recomputation.
func TestDemoLoad(t *testing.T) {
	st := testdb.Open(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, service.Shanghai)
	const n = 3000
	sum, d, err := demo.Load(ctx, st, demo.Options{Errands: n, Seed: 7, Now: now, PasswordCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Orgs != 1+18+255+972+41 || len(d.Townships) != 18 || len(d.Villages) != 255 || len(d.Agents) != 598 || sum.Items != 42 {
		t.Fatalf("deployment: %+v, %d townships, %d villages, %d agents", sum, len(d.Townships), len(d.Villages), len(d.Agents))
	}
	if sum.Errands != n+demo.WithdrawnFor(n) {
		t.Fatalf("%d errands, want %d", sum.Errands, n+demo.WithdrawnFor(n))
	}
	svc := service.New(st.Stores(), service.Options{Now: func() time.Time { return now }})
	super := service.Actor{Role: service.RoleSupervisor, OrgID: d.City.ID, OrgPath: d.City.Path}
	req := service.StatsRequest{From: service.DateOf(now.AddDate(-3, 0, 0)).String(), To: service.DateOf(now).String()}
	fast, err := svc.Stats(ctx, super, req)
	if err != nil {
		t.Fatal(err)
	}
	if fast.Totals.Accepted != n || fast.Totals.Completed != int64(demo.CompletedFor(n)) {
		t.Errorf("accepted %d, completed %d; want %d and %d", fast.Totals.Accepted, fast.Totals.Completed, n, demo.CompletedFor(n))
	}
	if f := fast.Totals; f.Refused == 0 || f.OverdueOpen == 0 || f.Rated == 0 || f.Recovered == f.Delivered || f.OnTime == f.Completed {
		t.Errorf("the demo lacks refusals, overdue cases, ratings, lost receipts or late completions: %+v", f.Counts)
	}
	for _, by := range append([]service.GroupBy{service.GroupNone}, service.GroupBys...) {
		req.GroupBy = string(by)
		fast, _ := svc.Stats(ctx, super, req)
		slow, err := testdb.Reference(st, func() time.Time { return now }).Stats(ctx, super, req)
		if err != nil {
			t.Fatal(err)
		}
		if fast.Totals.Counts != slow.Totals.Counts || len(fast.Groups) != len(slow.Groups) {
			t.Errorf("by %q: rollups %+v, recomputation %+v", by, fast.Totals.Counts, slow.Totals.Counts)
		}
	}
	check, err := svc.Verify(ctx, nil)
	if err != nil || check.Broken != nil || check.Errands != sum.Errands || check.Events != sum.Events {
		t.Errorf("ledger: %+v, %v", check, err)
	}
	verifyByParts(t, st.DB().Exec, svc, d, check)
	// The next registration continues after the demo's receipt numbers.
	var corrections, withdrawn int64
	st.DB().Table("events").Where("action = ?", "return").Count(&corrections)
	st.DB().Table("errands").Where("status = ?", "withdrawn").Count(&withdrawn)
	if corrections == 0 || withdrawn != int64(demo.WithdrawnFor(n)) {
		t.Errorf("%d corrections, %d withdrawn", corrections, withdrawn)
	}
}

// verifyByParts checks the ledger in parallel by township and for one
// township alone: the same totals as the whole check, one township's share
// alone, and a tampered event found by both the parallel check and its
// township's, not by another township's.
func verifyByParts(t *testing.T, exec func(string, ...any) *gorm.DB, svc *service.Service, d demo.Deployment, whole service.LedgerCheck) {
	t.Helper()
	ctx := context.Background()
	var seen []int
	par, err := svc.VerifyWith(ctx, service.VerifyOptions{Workers: 4}, func(checked, all int) { seen = append(seen, checked) })
	if err != nil || par.Broken != nil || par.Errands != whole.Errands || par.Events != whole.Events {
		t.Fatalf("in 4 parts: %+v, %v; whole: %+v", par, err, whole)
	}
	if len(seen) < 5 || seen[len(seen)-1] != whole.Errands {
		t.Errorf("progress %v", seen)
	}
	t1, t2 := d.Townships[0], d.Townships[1]
	one, err := svc.VerifyWith(ctx, service.VerifyOptions{Under: t1.Path}, nil)
	if err != nil || one.Broken != nil || one.Errands == 0 || one.Errands >= whole.Errands {
		t.Fatalf("one township: %+v, %v", one, err)
	}
	// Tamper with one event of the first township's.
	drop := "DROP TRIGGER events_no_update"
	if testdb.PostgresURL() != "" {
		drop = "ALTER TABLE events DISABLE TRIGGER events_no_update"
	}
	if err := exec(drop).Error; err != nil {
		t.Fatal(err)
	}
	lo, hi := service.PathRange(t1.Path)
	if err := exec(`UPDATE events SET note = 'changed' WHERE errand_id = (SELECT id FROM errands WHERE org_path >= ? AND org_path < ? ORDER BY id LIMIT 1) AND seq = 1`,
		lo, hi).Error; err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]service.VerifyOptions{"in parts": {Workers: 4}, "its township": {Under: t1.Path}} {
		if r, err := svc.VerifyWith(ctx, o, nil); err != nil || r.Broken == nil || r.Broken.Seq != 1 {
			t.Errorf("%s: the tampered event was not found: %+v, %v", name, r, err)
		}
	}
	if r, err := svc.VerifyWith(ctx, service.VerifyOptions{Under: t2.Path}, nil); err != nil || r.Broken != nil {
		t.Errorf("another township: %+v, %v", r, err)
	}
}

// TestProvinceDemo: several cities side by side, each with Changle's shape
// under its own code; every errand's steps are taken by its own city's
// officers; each city's supervisor sees its own errands only, and the
// ledger verifies.
func TestProvinceDemo(t *testing.T) {
	st := testdb.Open(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, service.Shanghai)
	const n, reports = 2000, 150
	sum, d, err := demo.Load(ctx, st, demo.Options{Errands: n, Reports: reports, Seed: 3, Now: now, PasswordCost: bcrypt.MinCost, Cities: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Cities) != 3 || sum.Orgs != 3*(1+18+255+972+41) || len(d.Agents) != 3*598 || len(d.Grids) != 3*972 || d.Cities[1].Code != "350102" {
		t.Fatalf("%d cities (%v), %d orgs, %d agents", len(d.Cities), d.Cities, sum.Orgs, len(d.Agents))
	}
	var usernames []string
	st.DB().Table("users").Where("username IN ?", []string{"ag001", "c02ag001", "c03supervisor", "supervisor", "c02wg972", "c03rx04", "c02bm-cg", "c03bm-pcs18"}).Pluck("username", &usernames)
	if len(usernames) != 8 {
		t.Fatalf("usernames %v", usernames)
	}
	// No event of one city's errand by another city's staff.
	var crossed int64
	st.DB().Raw(`SELECT COUNT(*) FROM events v JOIN errands e ON e.id = v.errand_id JOIN orgs o ON o.id = v.org_id
		WHERE substr(o.path, 1, 8) <> substr(e.org_path, 1, 8)`).Scan(&crossed)
	if crossed != 0 {
		t.Fatalf("%d steps taken by another city's staff", crossed)
	}
	st.DB().Raw(`SELECT COUNT(*) FROM report_events v JOIN reports r ON r.id = v.report_id JOIN orgs o ON o.id = v.org_id
		WHERE substr(o.path, 1, 8) <> substr(r.intake_path, 1, 8)`).Scan(&crossed)
	if crossed != 0 {
		t.Fatalf("%d report steps taken by another city's staff", crossed)
	}
	svc := service.New(st.Stores(), service.Options{Now: func() time.Time { return now }})
	req := service.StatsRequest{From: service.DateOf(now.AddDate(-3, 0, 0)).String(), To: service.DateOf(now).String()}
	var total, totalReports int64
	for _, c := range d.Cities {
		super := service.Actor{Role: service.RoleSupervisor, OrgID: c.ID, OrgPath: c.Path, OrgLevel: c.Level}
		rep, err := svc.Stats(ctx, super, req)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Totals.Accepted == 0 {
			t.Errorf("%s has no errands", c.Name)
		}
		total += rep.Totals.Accepted
		rs, err := svc.ReportStats(ctx, super, req)
		if err != nil {
			t.Fatal(err)
		}
		if rs.Totals.Accepted == 0 || rs.Totals.Closed == 0 {
			t.Errorf("%s has no reports: %+v", c.Name, rs.Totals.ReportCounts)
		}
		totalReports += rs.Totals.Accepted
	}
	if total != n || totalReports != reports {
		t.Errorf("the cities' totals add up to %d errands and %d reports, want %d and %d", total, totalReports, n, reports)
	}
	if check, err := svc.Verify(ctx, nil); err != nil || check.Broken != nil || check.Errands != sum.Errands {
		t.Errorf("ledger: %+v, %v", check, err)
	}
}
