package demo_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

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
	if sum.Orgs != 1+18+255 || len(d.Townships) != 18 || len(d.Villages) != 255 || len(d.Agents) != 598 || sum.Items != 42 {
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
	// The next registration continues after the demo's receipt numbers.
	var corrections, withdrawn int64
	st.DB().Table("events").Where("action = ?", "return").Count(&corrections)
	st.DB().Table("errands").Where("status = ?", "withdrawn").Count(&withdrawn)
	if corrections == 0 || withdrawn != int64(demo.WithdrawnFor(n)) {
		t.Errorf("%d corrections, %d withdrawn", corrections, withdrawn)
	}
}
