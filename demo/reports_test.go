package demo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"daiban/demo"
	"daiban/internal/testdb"
	"daiban/service"
	"daiban/store"
)

func TestReportsFor(t *testing.T) {
	if got := demo.ReportsFor(75620); got != 2000 {
		t.Fatalf("ReportsFor(75620) = %d, want 2000", got)
	}
	if got := demo.ReportsFor(0); got != 0 {
		t.Fatalf("ReportsFor(0) = %d", got)
	}
}

// The demo's 民情 side: Changle's 972 grids with an inspector each, the
// departments with their officers, the hotline; reports on every channel
// in every state, statistics that agree with a recomputation from the
// events, and every report's hash chain intact.
func TestDemoReports(t *testing.T) {
	st := testdb.Open(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, service.Shanghai)
	const n = 300
	sum, d, err := demo.Load(ctx, st, demo.Options{Errands: 200, Reports: n, Seed: 5, Now: now, PasswordCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	// The tree: 972 grids under the villages, 3 to 5 each, communities
	// more than villages; five city departments and two in each township.
	if len(d.Grids) != demo.ChangleGrids || len(d.Inspectors) != demo.ChangleGrids {
		t.Fatalf("%d grids, %d inspectors", len(d.Grids), len(d.Inspectors))
	}
	perVillage := map[string]int{}
	for i, g := range d.Grids {
		if g.Level != service.LevelGrid || len(g.Code) != 15 || !strings.HasSuffix(g.Name, "网格") || d.Inspectors[i].OrgID != g.ID {
			t.Fatalf("grid %+v, inspector %+v", g, d.Inspectors[i])
		}
		perVillage[g.ParentID]++
	}
	var community, village, communities, villages int
	for _, v := range d.Villages {
		k := perVillage[v.ID]
		if k < 3 || k > 5 {
			t.Errorf("%s has %d grids", v.Name, k)
		}
		if strings.HasSuffix(v.Name, "社区") {
			community, communities = community+k, communities+1
		} else {
			village, villages = village+k, villages+1
		}
	}
	if community*villages <= village*communities {
		t.Errorf("communities have %d grids over %d, villages %d over %d", community, communities, village, villages)
	}
	if len(d.Departments) != 5+2*18 || sum.Orgs != 1+18+255+972+41 {
		t.Fatalf("%d departments, %d orgs", len(d.Departments), sum.Orgs)
	}
	for _, dep := range d.Departments {
		want := 10
		if dep.ParentID != d.City.ID {
			want = 13
		}
		if dep.Level != service.LevelDepartment || len(dep.Code) != want || d.Officers[dep.ID].Role != service.RoleDepartmentOfficer {
			t.Errorf("department %+v, officer %+v", dep, d.Officers[dep.ID])
		}
	}
	var logins []string
	st.DB().Table("users").Where("username IN ?", []string{"wg001", "wg972", "rx01", "rx04", "bm-cg", "bm-ga", "bm-zz01", "bm-pcs18"}).Pluck("username", &logins)
	if len(logins) != 8 {
		t.Fatalf("demo logins %v", logins)
	}

	// The reports: every channel, every state, and the steps that make a
	// history: send-backs, rejections, extensions, urges, merges.
	if sum.Reports != n+demo.MergedFor(n) {
		t.Fatalf("%d reports, want %d", sum.Reports, n+demo.MergedFor(n))
	}
	countBy := func(q string) map[string]int {
		rows, err := st.DB().Raw(q).Rows()
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var k string
			var c int
			if err := rows.Scan(&k, &c); err != nil {
				t.Fatal(err)
			}
			out[k] = c
		}
		return out
	}
	byChannel := countBy(`SELECT channel, COUNT(*) FROM reports GROUP BY channel`)
	for _, c := range service.ReportChannels {
		if byChannel[string(c)] == 0 {
			t.Errorf("no %s report: %v", c, byChannel)
		}
	}
	if byChannel["grid"] <= byChannel["hotline"] || byChannel["hotline"] <= byChannel["web"] {
		t.Errorf("channels out of proportion: %v", byChannel)
	}
	byStatus := countBy(`SELECT status, COUNT(*) FROM reports GROUP BY status`)
	for _, s := range service.ReportStatuses {
		if byStatus[string(s)] == 0 {
			t.Errorf("no %s report: %v", s, byStatus)
		}
	}
	if byStatus["closed"] < n*8/10 || byStatus["merged"] != demo.MergedFor(n) {
		t.Errorf("states %v", byStatus)
	}
	byAction := countBy(`SELECT action, COUNT(*) FROM report_events GROUP BY action`)
	for _, a := range []service.ReportAction{service.ReportDispatch, service.ReportSign, service.ReportSendBack, service.ReportAnswer,
		service.ReportReject, service.ReportAccept, service.ReportClose, service.ReportMerge, service.ReportExtend, service.ReportUrge} {
		if byAction[string(a)] == 0 {
			t.Errorf("no %s step: %v", a, byAction)
		}
	}
	if byCat := countBy(`SELECT category, COUNT(*) FROM reports GROUP BY category`); len(byCat) != len(service.ReportCategories) {
		t.Errorf("categories %v", byCat)
	}
	// Departments and townships handle them.
	byLevel := countBy(`SELECT o.level, COUNT(*) FROM reports r JOIN orgs o ON o.id = r.handler_org_id GROUP BY o.level`)
	if byLevel["department"] == 0 || byLevel["township"] == 0 {
		t.Errorf("handled by %v", byLevel)
	}
	// Every text the answers sent went out.
	var pending int64
	st.DB().Table("outbox").Where("status = ?", "pending").Count(&pending)
	if pending != 0 {
		t.Errorf("%d texts still pending", pending)
	}

	svc := service.New(st.Stores(), service.Options{Now: func() time.Time { return now }})
	super := service.Actor{Role: service.RoleSupervisor, OrgID: d.City.ID, OrgPath: d.City.Path, OrgLevel: service.LevelCity}
	req := service.StatsRequest{From: service.DateOf(now.AddDate(-3, 0, 0)).String(), To: service.DateOf(now).String()}
	got, err := svc.ReportStats(ctx, super, req)
	if err != nil {
		t.Fatal(err)
	}
	want, events := recount(t, st, now)
	if got.Totals.ReportCounts != want {
		t.Errorf("statistics\n got %+v\nwant %+v", got.Totals.ReportCounts, want)
	}
	if events != sum.ReportEvents {
		t.Errorf("%d events in the chains, Load wrote %d", events, sum.ReportEvents)
	}
	f := got.Totals
	if want.Accepted != n || f.Unreachable == 0 || f.OverdueOpen == 0 || f.ClosedOnTime == f.Closed || f.ResponsesOnTime == f.Responses {
		t.Errorf("the demo lacks unreachable reporters, overdue or late reports: %+v", f.ReportCounts)
	}
	if sat := f.Grades[3] + f.Grades[4]; sat*10 < f.FollowedUp*8 {
		t.Errorf("grades %v: mostly 满意 and 非常满意 expected", f.Grades)
	}
	for _, by := range service.ReportGroupBys {
		req.GroupBy = string(by)
		r, err := svc.ReportStats(ctx, super, req)
		if err != nil || len(r.Groups) == 0 {
			t.Errorf("by %s: %d groups, %v", by, len(r.Groups), err)
		}
	}
}

// recount recomputes the report statistics of the whole history from the
// reports' states and their events, checking each event chain on the way.
func recount(t *testing.T, st *store.Store, now time.Time) (service.ReportCounts, int) {
	t.Helper()
	ctx := context.Background()
	var rows []struct {
		ID       string
		Status   string
		DueAt    time.Time
		HeadHash string
	}
	if err := st.DB().Raw(`SELECT id, status, due_at, head_hash FROM reports`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var c service.ReportCounts
	events := 0
	for _, r := range rows {
		evs, err := st.ReportEvents(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		events += len(evs)
		prev := ""
		for i, ev := range evs {
			if ev.Seq != i+1 || ev.PrevHash != prev || ev.ComputeHash() != ev.Hash {
				t.Fatalf("report %s: event %d (%s) breaks the chain", r.ID, ev.Seq, ev.Action)
			}
			prev = ev.Hash
		}
		if prev != r.HeadHash || len(evs) == 0 || string(evs[len(evs)-1].To) != r.Status {
			t.Fatalf("report %s: head %s, last event %s, status %s", r.ID, r.HeadHash, prev, r.Status)
		}
		if r.Status == string(service.ReportMerged) {
			continue
		}
		c.Accepted++
		var responseDue, answered time.Time
		for _, ev := range evs {
			switch ev.Action {
			case service.ReportDispatch:
				responseDue = ev.DueAt
			case service.ReportSign, service.ReportSendBack:
				c.Responses++
				if !ev.At.After(responseDue) {
					c.ResponsesOnTime++
				}
			case service.ReportAnswer:
				answered = ev.At
			case service.ReportClose:
				if ev.Grade == 0 {
					c.Unreachable++
				} else {
					c.FollowedUp++
					c.Grades[ev.Grade-1]++
					c.GradeSum += int64(ev.Grade)
				}
			}
		}
		switch {
		case r.Status == string(service.ReportClosed):
			c.Closed++
			if !answered.After(r.DueAt) {
				c.ClosedOnTime++
			}
		case r.DueAt.Before(now):
			c.OverdueOpen++
		}
	}
	return c, events
}

func ExampleReportsFor() {
	fmt.Println(demo.ReportsFor(75620), demo.MergedFor(demo.ReportsFor(75620)))
	// Output: 2000 50
}
