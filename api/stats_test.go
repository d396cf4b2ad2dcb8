package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"daiban/internal/apitest"
	"daiban/internal/testdb"
	"daiban/report"
	"daiban/service"
)

type figures struct {
	Accepted          int64    `json:"accepted"`
	Completed         int64    `json:"completed"`
	CompletionRate    *float64 `json:"completion_rate"`
	Refused           int64    `json:"refused"`
	OnTime            int64    `json:"on_time"`
	OnTimeRate        *float64 `json:"on_time_rate"`
	OverdueOpen       int64    `json:"overdue_open"`
	Delivered         int64    `json:"delivered"`
	ReceiptsRecovered int64    `json:"receipts_recovered"`
	RecoveryRate      *float64 `json:"recovery_rate"`
	AvgWorkingDays    *float64 `json:"avg_working_days"`
	Satisfaction      struct {
		Rated  int64    `json:"rated"`
		Mean   *float64 `json:"mean"`
		Grades []struct {
			Grade int      `json:"grade"`
			Count int64    `json:"count"`
			Share *float64 `json:"share"`
		} `json:"grades"`
	} `json:"satisfaction"`
}

type statsReport struct {
	Totals figures `json:"totals"`
	Groups []struct {
		Key  string `json:"key"`
		Name string `json:"name"`
		figures
	} `json:"groups"`
}

func stats(t *testing.T, env *apitest.Env, token, query string) statsReport {
	t.Helper()
	r := env.Get("/api/v1/stats/completion?"+query, token)
	apitest.Expect(t, r, http.StatusOK)
	var rep statsReport
	r.JSON(t, &rep)
	return rep
}

func f(v float64) *float64 { return &v }

func eq(a, b *float64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

// buildHistory registers and moves errands so the expected figures can be
// worked out by hand (see TestStatisticsExact). The clock ends on 20 March.
func buildHistory(t *testing.T, env *apitest.Env) map[string]errand {
	set := func(m time.Month, d, h, min int) {
		env.Clock.Set(time.Date(2026, m, d, h, min, 0, 0, service.Shanghai))
	}
	a1, a1b, a2 := env.Login("ag1a"), env.Login("ag1b"), env.Login("ag2a")
	tw1, tw2, city := env.Login("tw1"), env.Login("tw2"), env.Login("city")
	e := map[string]errand{}

	set(3, 1, 23, 59) // the last minute of Sunday 1 March
	e["e7"] = register(t, env, a1, env.F.ItemTownship)
	set(3, 2, 9, 0)
	for _, k := range []string{"e1", "e2", "e3"} {
		e[k] = register(t, env, a1, env.F.ItemTownship)
	}
	e["e4"] = register(t, env, a1b, env.F.ItemCity)
	e["e5"] = register(t, env, a2, env.F.ItemTownship)
	e["e6"] = register(t, env, a2, env.F.ItemTownship)
	for _, k := range []string{"e1", "e2", "e5", "e6"} {
		tok, off := a1, tw1
		if k >= "e5" {
			tok, off = a2, tw2
		}
		e[k] = step(t, env, off, step(t, env, tok, e[k], "forward", nil), "accept", nil)
	}
	e["e3"] = step(t, env, a1, e["e3"], "withdraw", map[string]any{"reason": "申请人撤回"})
	e["e4"] = step(t, env, city, step(t, env, tw1, step(t, env, tw1, step(t, env, a1b, e["e4"], "forward", nil), "accept", nil), "forward", nil), "accept", nil)

	set(3, 3, 0, 0) // midnight: Tuesday already
	e["e8"] = register(t, env, a1, env.F.ItemTownship)
	set(3, 3, 10, 0)
	e["e2"] = step(t, env, tw1, e["e2"], "complete", map[string]any{"outcome": "refused", "reason": "不符合条件"})
	e["e4"] = step(t, env, city, e["e4"], "return", map[string]any{"missing_materials": []string{"证明材料"}})
	set(3, 4, 10, 0)
	e["e1"] = step(t, env, tw1, e["e1"], "complete", map[string]any{"outcome": "approved"})
	set(3, 5, 10, 0)
	e["e1"] = step(t, env, a1, e["e1"], "deliver", map[string]any{"receipt_recovered": true, "satisfaction": 5})
	e["e2"] = step(t, env, a1, e["e2"], "deliver", map[string]any{"receipt_recovered": false, "id_number": apitest.ValidID, "satisfaction": 2})
	set(3, 11, 10, 0)
	e["e5"] = step(t, env, tw2, e["e5"], "complete", map[string]any{"outcome": "approved"}) // due 9 March: late
	set(3, 13, 10, 0)
	e["e4"] = step(t, env, city, step(t, env, a1b, e["e4"], "resubmit", nil), "accept", nil) // paused 8 working days
	set(3, 20, 10, 0)
	e["e4"] = step(t, env, city, e["e4"], "complete", map[string]any{"outcome": "approved"}) // due 26 March after the pause
	return e
}

func TestStatisticsExact(t *testing.T) {
	env := apitest.New(t)
	e := buildHistory(t, env)
	if e["e4"].DueDate != "2026-03-26" || e["e4"].OnTime == nil || !*e["e4"].OnTime || *e["e4"].WorkingDays != 6 {
		t.Fatalf("e4 = %+v: the correction pause should make it on time in 6 working days", e["e4"])
	}
	super := env.Login("super")
	day := "from=2026-03-02&to=2026-03-02"
	got := stats(t, env, super, day).Totals
	want := figures{Accepted: 5, Completed: 4, CompletionRate: f(80), Refused: 1, OnTime: 3, OnTimeRate: f(75), OverdueOpen: 1,
		Delivered: 2, ReceiptsRecovered: 1, RecoveryRate: f(50), AvgWorkingDays: f(4)}
	if got.Accepted != want.Accepted || got.Completed != want.Completed || !eq(got.CompletionRate, want.CompletionRate) ||
		got.Refused != want.Refused || got.OnTime != want.OnTime || !eq(got.OnTimeRate, want.OnTimeRate) ||
		got.OverdueOpen != want.OverdueOpen || got.Delivered != want.Delivered || got.ReceiptsRecovered != want.ReceiptsRecovered ||
		!eq(got.RecoveryRate, want.RecoveryRate) || !eq(got.AvgWorkingDays, want.AvgWorkingDays) {
		t.Errorf("totals of 2 March:\n got %+v\nwant %+v", got, want)
	}
	if s := got.Satisfaction; s.Rated != 2 || !eq(s.Mean, f(3.5)) || s.Grades[0].Grade != 5 || s.Grades[0].Count != 1 || !eq(s.Grades[0].Share, f(50)) || s.Grades[3].Count != 1 || s.Grades[1].Share == nil || *s.Grades[1].Share != 0 {
		t.Errorf("satisfaction = %+v", s)
	}

	groups := func(token, query string) map[string][2]int64 {
		m := map[string][2]int64{}
		for _, g := range stats(t, env, token, query).Groups {
			m[g.Key+" "+g.Name] = [2]int64{g.Accepted, g.Completed}
		}
		return m
	}
	for _, c := range []struct {
		by   string
		want map[string][2]int64
	}{
		{"township", map[string][2]int64{env.F.T1.Path + " 甲镇": {3, 3}, env.F.T2.Path + " 乙镇": {2, 1}}},
		{"village", map[string][2]int64{env.F.V1a.Path + " 甲一村": {2, 2}, env.F.V1b.Path + " 甲二村": {1, 1}, env.F.V2a.Path + " 乙一村": {2, 1}}},
		{"category", map[string][2]int64{"shehui 社会事务": {5, 4}}},
		{"item", map[string][2]int64{"TWN 新农合参保登记": {4, 3}, "CTY 最低生活保障申请": {1, 1}}},
		{"agent", map[string][2]int64{env.F.Users["ag1a"].ID + " 甲一代办员": {2, 2}, env.F.Users["ag1b"].ID + " 甲二代办员": {1, 1}, env.F.Users["ag2a"].ID + " 乙一代办员": {2, 1}}},
		{"month", map[string][2]int64{"2026-03 ": {5, 4}}},
	} {
		got := groups(super, day+"&group_by="+c.by)
		if len(got) != len(c.want) {
			t.Errorf("by %s: %v, want %v", c.by, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("by %s: %q = %v, want %v (all: %v)", c.by, k, got[k], v, got)
			}
		}
	}
	if g := stats(t, env, super, day+"&group_by=township").Groups; g[1].OverdueOpen != 1 || g[0].OverdueOpen != 0 {
		t.Errorf("overdue by township: %d, %d", g[0].OverdueOpen, g[1].OverdueOpen)
	}

	// Scope: a township officer sees the own subtree, an agent the own village.
	if n := stats(t, env, env.Login("tw1"), day).Totals.Accepted; n != 3 {
		t.Errorf("tw1 sees %d accepted, want 3", n)
	}
	if n := stats(t, env, env.Login("ag1a"), day).Totals.Accepted; n != 2 {
		t.Errorf("ag1a sees %d accepted, want 2", n)
	}
	if n := stats(t, env, env.Login("city"), day+"&org_id="+env.F.V2a.ID).Totals.Accepted; n != 2 {
		t.Errorf("the city sees %d accepted in 乙一村, want 2", n)
	}
	r := env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/stats/completion?" + day + "&org_id=" + env.F.T2.ID, Token: env.Login("tw1"), Raw: true})
	apitest.Expect(t, r, http.StatusNotFound)
	if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != "org_id" {
		t.Errorf("another township: %s", r.Body)
	}

	// Days are Shanghai days: 23:59 on 1 March and 00:00 on 3 March fall outside 2 March.
	if n := stats(t, env, super, "from=2026-03-01&to=2026-03-01").Totals.Accepted; n != 1 {
		t.Errorf("1 March: %d accepted, want 1", n)
	}
	if n := stats(t, env, super, "from=2026-03-03&to=2026-03-03").Totals.Accepted; n != 1 {
		t.Errorf("3 March: %d accepted, want 1", n)
	}
	// A period of ragged ends and whole months reads day and month rollups alike.
	wide := stats(t, env, super, "from=2026-02-15&to=2026-04-10&group_by=month")
	if wide.Totals.Accepted != 7 || len(wide.Groups) != 1 || wide.Groups[0].Key != "2026-03" {
		t.Errorf("15 Feb – 10 Apr: %+v", wide)
	}
	if n := stats(t, env, super, "from=2026-04-01&to=2026-04-30"); n.Totals.Accepted != 0 || n.Totals.CompletionRate != nil {
		t.Errorf("an empty month: %+v (rates must be null)", n.Totals)
	}

	// The fast path and the recomputation agree on every grouping and scope.
	for _, who := range []string{"super", "tw1", "ag1a"} {
		for _, by := range append([]service.GroupBy{service.GroupNone}, service.GroupBys...) {
			for _, period := range [][2]string{{"2026-03-02", "2026-03-02"}, {"2026-02-01", "2026-03-31"}, {"2026-01-01", "2026-12-31"}} {
				req := service.StatsRequest{From: period[0], To: period[1], GroupBy: string(by)}
				fast, err := env.Svc.Stats(context.Background(), env.F.Actor(who), req)
				if err != nil {
					t.Fatal(err)
				}
				slow, err := testdb.Reference(env.Store, env.Clock.Now).Stats(context.Background(), env.F.Actor(who), req)
				if err != nil {
					t.Fatal(err)
				}
				if !sameReport(fast, slow) {
					t.Errorf("%s %s %v: fast %+v %d groups\nslow %+v %d groups", who, by, period, fast.Totals.Counts, len(fast.Groups), slow.Totals.Counts, len(slow.Groups))
				}
			}
		}
	}
}

// sameReport compares everything but the org and period echo.
func sameReport(a, b service.StatsReport) bool {
	if a.Totals.Counts != b.Totals.Counts || len(a.Groups) != len(b.Groups) {
		return false
	}
	for i := range a.Groups {
		if a.Groups[i].Key != b.Groups[i].Key || a.Groups[i].Name != b.Groups[i].Name || a.Groups[i].Counts != b.Groups[i].Counts {
			return false
		}
	}
	return true
}

func TestStatisticsExports(t *testing.T) {
	env := apitest.New(t)
	buildHistory(t, env)
	super := env.Login("super")
	q := "from=2026-03-02&to=2026-03-02&group_by=township"
	rep := stats(t, env, super, q)

	r := env.Get("/api/v1/stats/completion?"+q+"&format=csv", super)
	apitest.Expect(t, r, http.StatusOK)
	if !bytes.HasPrefix(r.Body, []byte("\ufeff")) || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV without BOM or headers: %q %v", r.Body[:10], r.Header)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, "csv", rows, rep)

	r = env.Get("/api/v1/stats/completion?"+q+"&format=xlsx", super)
	apitest.Expect(t, r, http.StatusOK)
	book, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	sheet := book.GetSheetName(0)
	xrows, err := book.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, "xlsx", xrows, rep)
	if w, _ := book.GetColWidth(sheet, "B"); w < 8 {
		t.Errorf("column widths not set: %v", w)
	}

	for _, bad := range []struct{ query, field string }{
		{"from=2026-03-05&to=2026-03-01", "from"},
		{"from=2026-3-5&to=2026-03-10", "from"},
		{"from=2026-03-01", "to"},
		{"from=2020-01-01&to=2026-03-01", "to"},
		{"from=2026-03-01&to=2026-03-02&group_by=weather", "group_by"},
		{"from=2026-03-01&to=2026-03-02&format=pdf", "format"},
		{"from=%3Cb%3Eprobe%3C%2Fb%3E&to=2026-03-02", "from"},
	} {
		r := env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/stats/completion?" + bad.query, Token: super, Raw: true})
		apitest.Expect(t, r, http.StatusBadRequest)
		if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != bad.field {
			t.Errorf("%s: %s, want the field %s", bad.query, r.Body, bad.field)
		}
		// A problem names the parameter; it does not repeat what was sent.
		if strings.Contains(string(r.Body), "probe") {
			t.Errorf("%s: the problem echoes the input: %s", bad.query, r.Body)
		}
	}
}

// checkTable compares a parsed CSV or XLSX statistics table with the JSON report.
func checkTable(t *testing.T, format string, rows [][]string, rep statsReport) {
	t.Helper()
	if len(rows) != 2+len(rep.Groups) || strings.Join(rows[0], ",") != strings.Join(report.StatsHeaders, ",") {
		t.Fatalf("%s: %d rows, header %v", format, len(rows), rows[0])
	}
	col := func(name string) int {
		for i, h := range report.StatsHeaders {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	for i, g := range rep.Groups {
		row := rows[1+i]
		if row[1] != g.Name || row[col("受理件")] != strconv.FormatInt(g.Accepted, 10) || row[col("办结件")] != strconv.FormatInt(g.Completed, 10) {
			t.Errorf("%s row %d = %v, want %s %d %d", format, i, row, g.Name, g.Accepted, g.Completed)
		}
		rate, err := strconv.ParseFloat(row[col("办结率(%)")], 64)
		if err != nil || g.CompletionRate == nil || rate != *g.CompletionRate {
			t.Errorf("%s row %d rate %q, want %v", format, i, row[col("办结率(%)")], g.CompletionRate)
		}
	}
	total := rows[len(rows)-1]
	if total[0] != "合计" || total[col("受理件")] != strconv.FormatInt(rep.Totals.Accepted, 10) || total[col("超期未办结")] != strconv.FormatInt(rep.Totals.OverdueOpen, 10) {
		t.Errorf("%s totals row = %v", format, total)
	}
}

func TestLedgerExports(t *testing.T) {
	env := apitest.New(t)
	buildHistory(t, env)
	tw1 := env.Login("tw1")
	r := env.Get("/api/v1/orgs/"+env.F.V1a.ID+"/ledger?month=2026-03", tw1)
	apitest.Expect(t, r, http.StatusOK)
	var l struct {
		Items []struct {
			ReceiptNo        string  `json:"receipt_no"`
			ApplicantName    string  `json:"applicant_name"`
			Status           string  `json:"status"`
			ReceiptRecovered *bool   `json:"receipt_recovered"`
			DeliveredAt      *string `json:"delivered_at"`
		} `json:"items"`
	}
	r.JSON(t, &l)
	// 甲一村 registered e7 (1 March), e1, e2, e3 (2 March) and e8 (3 March), in that order.
	if len(l.Items) != 5 || l.Items[0].Status != "registered" || l.Items[3].Status != "withdrawn" || l.Items[1].ApplicantName != "张*丰" {
		t.Fatalf("ledger = %+v", l.Items)
	}
	if l.Items[2].ReceiptRecovered == nil || *l.Items[2].ReceiptRecovered || l.Items[2].DeliveredAt == nil {
		t.Errorf("e2's lost receipt: %+v", l.Items[2])
	}
	if strings.Contains(string(r.Body), apitest.ValidID) {
		t.Errorf("the ledger shows ID numbers")
	}
	r = env.Get("/api/v1/orgs/"+env.F.V1a.ID+"/ledger?month=2026-03&format=csv", tw1)
	apitest.Expect(t, r, http.StatusOK)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) != 6 || rows[0][0] != "回执编号" || rows[3][ledgerCol(t, "回执收回")] != "遗失" {
		t.Errorf("ledger CSV: %v %v", rows, err)
	}
	r = env.Get("/api/v1/orgs/"+env.F.V1a.ID+"/ledger?month=2026-03&format=xlsx", tw1)
	apitest.Expect(t, r, http.StatusOK)
	book, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	if xr, _ := book.GetRows(book.GetSheetName(0)); len(xr) != 6 || xr[1][0] != l.Items[0].ReceiptNo {
		t.Errorf("ledger XLSX rows: %v", xr)
	}
	apitest.Expect(t, env.Get("/api/v1/orgs/"+env.F.V1a.ID+"/ledger?month=2026-02", tw1), http.StatusOK)
	apitest.Expect(t, env.Get("/api/v1/orgs/"+env.F.V2a.ID+"/ledger?month=2026-03", tw1), http.StatusNotFound)
	apitest.Expect(t, env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/orgs/" + env.F.V1a.ID + "/ledger?month=March", Token: tw1, Raw: true}), http.StatusBadRequest)
}

func ledgerCol(t *testing.T, name string) int {
	t.Helper()
	for i, h := range report.LedgerHeaders {
		if h == name {
			return i
		}
	}
	t.Fatalf("no ledger column %s", name)
	return -1
}

// TestLedgerRange: from..to across months picks the registration days in
// Shanghai; the rows carry the result (准予/不予 and why) and the rating;
// the intake village's agent reads full names, the township and the
// supervisor masked ones; the XLSX times are date-time cells and the CSV
// times text.
func TestLedgerRange(t *testing.T) {
	env := apitest.New(t)
	e := buildHistory(t, env)
	a1 := env.Login("ag1a")
	env.Clock.Set(time.Date(2026, 4, 2, 10, 0, 0, 0, service.Shanghai))
	e["e9"] = register(t, env, a1, env.F.ItemTownship)

	type row struct {
		ReceiptNo         string  `json:"receipt_no"`
		ApplicantName     string  `json:"applicant_name"`
		OutcomeLabel      *string `json:"outcome_label"`
		OutcomeReason     *string `json:"outcome_reason"`
		Satisfaction      *int    `json:"satisfaction"`
		SatisfactionLabel *string `json:"satisfaction_label"`
	}
	var l struct {
		From  string  `json:"from"`
		To    string  `json:"to"`
		Month *string `json:"month"`
		Items []row   `json:"items"`
	}
	path := "/api/v1/orgs/" + env.F.V1a.ID + "/ledger?from=2026-03-02&to=2026-04-30"
	r := env.Get(path, a1)
	apitest.Expect(t, r, http.StatusOK)
	r.JSON(t, &l)
	var got []string
	for _, it := range l.Items {
		got = append(got, it.ReceiptNo)
	}
	// e7 was registered in the last minute of 1 March, Shanghai: outside.
	want := []string{e["e1"].ReceiptNo, e["e2"].ReceiptNo, e["e3"].ReceiptNo, e["e8"].ReceiptNo, e["e9"].ReceiptNo}
	if strings.Join(got, " ") != strings.Join(want, " ") || l.From != "2026-03-02" || l.To != "2026-04-30" || l.Month != nil {
		t.Fatalf("ledger 2 March..30 April = %v %s..%s %v, want %v", got, l.From, l.To, l.Month, want)
	}
	e1, e2, e3 := l.Items[0], l.Items[1], l.Items[2]
	if e1.ApplicantName != "张三丰" {
		t.Errorf("the intake village's agent reads %q, want the full name", e1.ApplicantName)
	}
	if e1.OutcomeLabel == nil || *e1.OutcomeLabel != "准予" || e1.OutcomeReason != nil || e1.Satisfaction == nil || *e1.Satisfaction != 5 || *e1.SatisfactionLabel != "非常满意" {
		t.Errorf("e1 approved and rated 5: %+v", e1)
	}
	if e2.OutcomeLabel == nil || *e2.OutcomeLabel != "不予" || e2.OutcomeReason == nil || *e2.OutcomeReason != "不符合条件" || *e2.SatisfactionLabel != "不满意" {
		t.Errorf("e2 refused and rated 2: %+v", e2)
	}
	if e3.OutcomeLabel != nil || e3.Satisfaction != nil {
		t.Errorf("e3 withdrawn: %+v", e3)
	}
	for _, who := range []string{"tw1", "super"} {
		var m struct{ Items []row }
		r := env.Get(path, env.Login(who))
		apitest.Expect(t, r, http.StatusOK)
		r.JSON(t, &m)
		if len(m.Items) != 5 || m.Items[0].ApplicantName != "张*丰" {
			t.Errorf("%s reads %+v, want masked names", who, m.Items)
		}
	}

	r = env.Get(path+"&format=csv", a1)
	apitest.Expect(t, r, http.StatusOK)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) != 6 {
		t.Fatalf("CSV: %v %v", rows, err)
	}
	if c := rows[1]; c[ledgerCol(t, "登记时间")] != "2026-03-02 09:00" || c[ledgerCol(t, "办结时间")] != "2026-03-04 10:00" ||
		c[ledgerCol(t, "办理结果")] != "准予" || c[ledgerCol(t, "满意度")] != "非常满意" || c[ledgerCol(t, "申请人")] != "张三丰" {
		t.Errorf("CSV e1 = %v", c)
	}
	if c := rows[2]; c[ledgerCol(t, "办理结果")] != "不予" || c[ledgerCol(t, "不予理由")] != "不符合条件" || c[ledgerCol(t, "满意度")] != "不满意" {
		t.Errorf("CSV e2 = %v", c)
	}

	r = env.Get(path+"&format=xlsx", a1)
	apitest.Expect(t, r, http.StatusOK)
	book, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	sheet := book.GetSheetName(0)
	for _, tc := range []struct {
		col  string
		row  int
		want time.Time
	}{
		{"登记时间", 2, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},
		{"办结时间", 2, time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)},
		{"送达时间", 2, time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)},
		{"登记时间", 6, time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC)},
	} {
		cell, _ := excelize.CoordinatesToCellName(ledgerCol(t, tc.col)+1, tc.row)
		typ, err := book.GetCellType(sheet, cell)
		if err != nil || (typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber) {
			t.Errorf("%s (%s) has type %v, want a number", cell, tc.col, typ)
		}
		raw, _ := book.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
		serial, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			t.Errorf("%s (%s) = %q, want a date serial", cell, tc.col, raw)
			continue
		}
		if at, err := excelize.ExcelDateToTime(serial, false); err != nil || !at.Round(time.Second).Equal(tc.want) {
			t.Errorf("%s (%s) = %v, want %v (the wall clock in Shanghai)", cell, tc.col, at, tc.want)
		}
		id, _ := book.GetCellStyle(sheet, cell)
		if st, err := book.GetStyle(id); err != nil || st.CustomNumFmt == nil || *st.CustomNumFmt != "yyyy-mm-dd hh:mm" {
			t.Errorf("%s (%s) style %+v, want the number format yyyy-mm-dd hh:mm", cell, tc.col, st)
		}
		if shown, _ := book.GetCellValue(sheet, cell); shown != tc.want.Format("2006-01-02 15:04") {
			t.Errorf("%s (%s) shows %q", cell, tc.col, shown)
		}
	}
	cell, _ := excelize.CoordinatesToCellName(ledgerCol(t, "办结时间")+1, 4)
	if v, _ := book.GetCellValue(sheet, cell); v != "" {
		t.Errorf("e3 (withdrawn) completion cell = %q, want empty", v)
	}
}

// TestLedgerBadRange: a bad or half range, a reversed one and one longer
// than a year are 400s naming the field.
func TestLedgerBadRange(t *testing.T) {
	env := apitest.New(t)
	tw1 := env.Login("tw1")
	for _, tc := range []struct{ query, field string }{
		{"from=2026-03-01", "to"},
		{"to=2026-03-01", "from"},
		{"from=2026-3-1&to=2026-03-31", "from"},
		{"from=2026-03-01&to=2026-02-31", "to"},
		{"from=2026-03-02&to=2026-03-01", "from"},
		{"from=2025-01-01&to=2026-01-02", "to"},
		{"month=2026-13", "month"},
		{"", "month"},
	} {
		r := env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/orgs/" + env.F.V1a.ID + "/ledger?" + tc.query, Token: tw1, Raw: true})
		apitest.Expect(t, r, http.StatusBadRequest)
		if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
			t.Errorf("%q: %s, want the field %s", tc.query, r.Body, tc.field)
		}
	}
	apitest.Expect(t, env.Get("/api/v1/orgs/"+env.F.V1a.ID+"/ledger?from=2025-01-01&to=2026-01-01", tw1), http.StatusOK)
}
