package web

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"daiban/report"
	"daiban/service"
)

type dashData struct {
	From, To, OrgID string
	Orgs            []orgChoice
	Quick           []navLink
	Rep             *service.StatsReport
	UnitTitle       string
	Units           template.HTML
	Trend           template.HTML
	TrendTitle      string
	Grades          template.HTML
	GradeRows       []gradeRow
	Export          template.URL // the query of the downloads, encoded
	Group           string       // the table's 分组: "" (unit), item, category or month
	GroupChoices    []groupChoice
	Table           *service.StatsReport // the rows of the 明细 table, grouped by Group
	TableTitle      string
	TableHead       string // the first column's heading
	Reports         *reportBlock
	RGroup          string // the 民情 table's 分组: org, category, channel, grid or month
	RGroupChoices   []groupChoice
}

// groupChoice is one 分组 of the dashboard's table.
type groupChoice struct {
	Value, Label string
}

// tableGroups are the dashboard table's groupings: by unit (the level under
// the scope, as the chart beside it), by item, category or month, as
// GET /stats/completion?group_by= offers them.
var tableGroups = []groupChoice{{"", "单位"}, {string(service.GroupItem), "事项"}, {string(service.GroupCategory), "类别"}, {string(service.GroupMonth), "月份"}}

type orgChoice struct {
	ID, Name string
	Indent   bool
}

type gradeRow struct {
	Grade int
	Label string
	Count int64
	Share *service.Hundredths
}

// groupUnder is the level a scope is broken down by: townships of a city,
// villages of a township, agents of a village.
func groupUnder(l service.Level) (service.GroupBy, string) {
	switch l {
	case service.LevelCity:
		return service.GroupTownship, "各乡镇(街道)办结率"
	case service.LevelTownship:
		return service.GroupVillage, "各村(社区)办结率"
	}
	return service.GroupAgent, "各代办员办结率"
}

// scopeChoices lists the organisations a dashboard may be scoped to: the
// actor's own and the level below it.
func (w *console) scopeChoices(c echo.Context, a service.Actor, withVillages bool) ([]orgChoice, error) {
	out := []orgChoice{{ID: a.OrgID, Name: a.OrgName}}
	if a.OrgLevel == service.LevelVillage {
		return out, nil
	}
	orgs, err := w.svc.Orgs(ctx(c), a, service.OrgFilter{Under: a.OrgPath, Limit: 500})
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		if o.ID == a.OrgID || (o.Level == service.LevelVillage && !withVillages && a.OrgLevel == service.LevelCity) {
			continue
		}
		out = append(out, orgChoice{ID: o.ID, Name: o.Name, Indent: o.Level == service.LevelVillage && a.OrgLevel == service.LevelCity})
	}
	return out, nil
}

func (w *console) dashboard(c echo.Context) error {
	a := actor(c)
	p := w.newPage(c, "办结情况统计")
	today := service.DateOf(w.svc.Now())
	ty, tm, _ := time.Unix(int64(today)*86400, 0).UTC().Date()
	monthStart := service.MakeDate(ty, tm, 1)
	// The first screen shows the last twelve months, this one included:
	// this month alone is mostly errands still within their time limit
	// (on the 5th a rate of a few percent says nothing), and a year's
	// window matches the trend beside it and never starts empty.
	yearStart := service.MakeDate(ty, tm-11, 1)
	d := dashData{From: c.QueryParam("from"), To: c.QueryParam("to"), OrgID: c.QueryParam("org_id"), Group: c.QueryParam("group"), GroupChoices: tableGroups,
		RGroup: c.QueryParam("rgroup"), RGroupChoices: reportGroups}
	if d.RGroup == "" {
		d.RGroup = string(service.ReportGroupOrg)
	}
	if d.From == "" && d.To == "" {
		d.From, d.To = yearStart.String(), today.String()
	}
	if d.OrgID == "" {
		d.OrgID = a.OrgID
	}
	lastStart := service.MakeDate(ty, tm-1, 1)
	quick := func(label string, from, to service.Date) navLink {
		v := url.Values{"from": {from.String()}, "to": {to.String()}, "org_id": {d.OrgID}}
		if d.Group != "" {
			v.Set("group", d.Group)
		}
		if d.RGroup != string(service.ReportGroupOrg) {
			v.Set("rgroup", d.RGroup)
		}
		return navLink{Href: "/dashboard?" + v.Encode(), Label: label, Active: d.From == from.String() && d.To == to.String()}
	}
	quarterStart := service.MakeDate(ty, tm-(tm-1)%3, 1)
	d.Quick = []navLink{quick("近12个月", yearStart, today), quick("本月", monthStart, today), quick("上月", lastStart, monthStart-1),
		quick("本季度", quarterStart, today), quick("今年", service.MakeDate(ty, 1, 1), today)}
	var err error
	if d.Orgs, err = w.scopeChoices(c, a, false); err != nil {
		return err
	}
	p.Values = url.Values{"from": {d.From}, "to": {d.To}, "org_id": {d.OrgID}, "group": {d.Group}, "rgroup": {d.RGroup}}
	p.Data = &d
	head := ""
	for _, g := range tableGroups {
		if g.Value == d.Group {
			head = g.Label
		}
	}
	if head == "" {
		p.Form = "period"
		status, _ := formError(service.BadParam("group", "unknown_ledger_group"), p)
		return w.render(c, status, "dashboard", p)
	}

	scope, err := w.svc.Org(ctx(c), a, d.OrgID)
	if err != nil {
		scope = service.Org{Level: a.OrgLevel}
	}
	gb, unitTitle := groupUnder(scope.Level)
	rep, err := w.svc.Stats(ctx(c), a, service.StatsRequest{From: d.From, To: d.To, OrgID: d.OrgID, GroupBy: string(gb)})
	if err != nil {
		p.Form = "period"
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		return w.render(c, status, "dashboard", p)
	}
	d.Rep = &rep
	d.UnitTitle = unitTitle + "（从低到高）"
	d.Table, d.TableHead, d.TableTitle = &rep, head, "分"+head+"明细"
	tableBy := gb
	if d.Group != "" {
		tableBy = service.GroupBy(d.Group)
		t, err := w.svc.Stats(ctx(c), a, service.StatsRequest{From: d.From, To: d.To, OrgID: d.OrgID, GroupBy: d.Group})
		if err != nil {
			return err
		}
		d.Table = &t
	}
	var bars []bar
	for _, g := range rep.Groups {
		b := bar{Label: g.Name, Text: "无受理"}
		if g.Name == "" {
			b.Label = g.Key
		}
		if g.CompletionRate != nil {
			b.Value = g.CompletionRate.Float()
			b.Text = pct(g.CompletionRate) + "（" + counts.Sprintf("%d", g.Completed) + "/" + counts.Sprintf("%d", g.Accepted) + "）"
		} else {
			b.Empty = true
		}
		bars = append(bars, b)
	}
	// Lowest rate first: what a supervisor looks for is who lags behind.
	sort.SliceStable(bars, func(i, j int) bool {
		if bars[i].Empty != bars[j].Empty {
			return !bars[i].Empty
		}
		return bars[i].Value < bars[j].Value
	})
	if len(bars) > 0 {
		d.Units = hbars(d.UnitTitle, bars, rateScale(bars))
	}

	// The trend covers the twelve months up to the end of the period.
	if to, err := service.ParseDate(rep.To.String()); err == nil {
		y, m, _ := time.Unix(int64(to)*86400, 0).UTC().Date()
		first := service.MakeDate(y, m-11, 1)
		trend, err := w.svc.Stats(ctx(c), a, service.StatsRequest{From: first.String(), To: to.String(), OrgID: d.OrgID, GroupBy: string(service.GroupMonth)})
		if err != nil {
			return err
		}
		byMonth := map[string]service.StatsGroup{}
		for _, g := range trend.Groups {
			byMonth[g.Key] = g
		}
		var pts []point
		for i := 0; i < 12; i++ {
			t := time.Date(y, m-11+time.Month(i), 1, 0, 0, 0, 0, time.UTC)
			key := t.Format("2006-01")
			pt := point{Label: strconv.Itoa(int(t.Month())) + "月"}
			if i == 0 || t.Month() == time.January {
				pt.Label = t.Format("06年1月")
			}
			if g, ok := byMonth[key]; ok {
				pt.Value = g.CompletionRate
				pt.Note = "受理 " + strconv.FormatInt(g.Accepted, 10) + " 件，办结 " + strconv.FormatInt(g.Completed, 10) + " 件"
			}
			pts = append(pts, pt)
		}
		d.TrendTitle = "近12个月办结率走势（按登记月份）"
		d.Trend = line(d.TrendTitle, pts)
	}

	var gbars []bar
	for g := 5; g >= 1; g-- {
		row := gradeRow{Grade: g, Label: service.SatisfactionLabels[g], Count: rep.Totals.Grades[g], Share: rep.Totals.GradeShares[g]}
		d.GradeRows = append(d.GradeRows, row)
		b := bar{Label: row.Label, Text: counts.Sprintf("%d", row.Count) + " 件"}
		if row.Share != nil {
			b.Value = row.Share.Float()
			b.Text += "（" + pct(row.Share) + "）"
		}
		gbars = append(gbars, b)
	}
	d.Grades = hbars("好差评满意度分布", gbars, scale{0, 100})
	if d.Reports, err = w.reportBlock(c, a, rep, d.OrgID, d.RGroup); err != nil {
		p.Form = "period"
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		return w.render(c, status, "dashboard", p)
	}
	// template.URL: a plain string here would be query-escaped whole, & and = included.
	d.Export = template.URL(url.Values{"from": {rep.From.String()}, "to": {rep.To.String()}, "org_id": {d.OrgID}, "group_by": {string(tableBy)}}.Encode())
	return w.render(c, http.StatusOK, "dashboard", p)
}

// statsExport sends the dashboard's figures as the API's CSV or XLSX.
func (w *console) statsExport(c echo.Context) error {
	format := c.QueryParam("format")
	if format != "csv" && format != "xlsx" {
		return service.BadParam("format", "unknown_download_format")
	}
	rep, err := w.svc.Stats(ctx(c), actor(c), service.StatsRequest{
		From: c.QueryParam("from"), To: c.QueryParam("to"), OrgID: c.QueryParam("org_id"), GroupBy: c.QueryParam("group_by"),
	})
	if err != nil {
		return err
	}
	return report.Stats(c.Response(), format, rep)
}

type warnData struct {
	Reports bool // the reader sees 民情 too: a tab leads to their warnings
	Rows    []warnRow
	Next    template.URL // the next page, path and query
	Totals  service.WarningCounts
	Orgs    []orgChoice // the townships (and villages) to narrow to
	OrgID   string
	CSV     template.URL // the downloads of the chosen scope
	XLSX    template.URL
	Here    string // this page, to come back to after 催办
	CanUrge bool
	Urged   string // the receipt just urged
}

type warnRow struct {
	errandRow
	DaysOverdue int
}

// warnings is 预警督办: every open errand overdue or due within a working
// day in the caller's scope, or one township's, soonest first, with how
// far each is overdue, a 催办 button for supervisors and the downloads.
func (w *console) warnings(c echo.Context) error {
	a := actor(c)
	if c.QueryParam("kind") == "reports" && seesReports(a.Role) {
		return w.reportWarnings(c)
	}
	p := w.newPage(c, "预警督办")
	d := warnData{OrgID: c.QueryParam("org_id"), CanUrge: a.Role == service.RoleSupervisor, Urged: c.QueryParam("urged"), Reports: seesReports(a.Role)}
	q := service.ErrandQuery{OrgID: d.OrgID, Cursor: c.QueryParam("cursor"), Limit: 200}
	ws, next, err := w.svc.Warnings(ctx(c), a, q)
	if err != nil {
		return err
	}
	if d.Totals, err = w.svc.CountWarnings(ctx(c), a, q); err != nil {
		return err
	}
	if d.Orgs, err = w.scopeChoices(c, a, false); err != nil {
		return err
	}
	for _, x := range ws {
		d.Rows = append(d.Rows, warnRow{errandRow: errandRow{E: x.Errand, Warn: x.Level}, DaysOverdue: x.DaysOverdue})
	}
	// Every link of the page keeps the chosen township.
	inScope := func(path, key, value string) string {
		v := url.Values{key: {value}}
		if d.OrgID != "" {
			v.Set("org_id", d.OrgID)
		}
		return path + "?" + v.Encode()
	}
	d.CSV = template.URL(inScope("/warnings/export", "format", "csv"))
	d.XLSX = template.URL(inScope("/warnings/export", "format", "xlsx"))
	d.Here = inScope("/warnings", "cursor", c.QueryParam("cursor"))
	if next != "" {
		d.Next = template.URL(inScope("/warnings", "cursor", next))
	}
	p.Values = url.Values{"org_id": {d.OrgID}}
	p.Data = d
	return w.render(c, http.StatusOK, "warnings", p)
}

type reportWarnData struct {
	Rows []reportRow
	Next template.URL
}

// reportWarnings is the 民情 tab of 预警督办: open reports in scope with one
// working day or less left or past due, soonest first, a page at a time.
func (w *console) reportWarnings(c echo.Context) error {
	p := w.newPage(c, "预警督办")
	ws, next, err := w.svc.ReportWarnings(ctx(c), actor(c), c.QueryParam("cursor"), 200)
	if err != nil {
		return err
	}
	d := reportWarnData{}
	for _, x := range ws {
		d.Rows = append(d.Rows, reportRow{R: x.Report, Warn: x.Level})
	}
	if next != "" {
		d.Next = template.URL("/warnings?" + url.Values{"kind": {"reports"}, "cursor": {next}}.Encode())
	}
	p.Data = d
	return w.render(c, http.StatusOK, "report_warnings", p)
}

// warningsExport sends the whole warnings list of the chosen scope as the
// API's CSV or XLSX.
func (w *console) warningsExport(c echo.Context) error {
	format := c.QueryParam("format")
	if format != "csv" && format != "xlsx" {
		return service.BadParam("format", "unknown_download_format")
	}
	all, err := w.svc.AllWarnings(ctx(c), actor(c), service.ErrandQuery{OrgID: c.QueryParam("org_id")})
	if err != nil {
		return err
	}
	return report.Warnings(c.Response(), format, w.svc.Now(), all)
}

type ledgerData struct {
	Orgs     []orgChoice
	OrgID    string
	From, To string
	Ledger   *service.Ledger
	Export   template.URL // the query of the downloads, encoded
}

// ledger shows a registration ledger for a range of days (from, to), or a
// month (month=YYYY-MM, as links and bookmarks still say); the current
// month when neither is given.
func (w *console) ledger(c echo.Context) error {
	a := actor(c)
	p := w.newPage(c, "登记台账")
	q := ledgerQuery(c)
	if q.From == "" && q.To == "" && q.Month == "" {
		q.Month = w.svc.Now().In(service.Shanghai).Format("2006-01")
	}
	d := ledgerData{OrgID: q.OrgID, From: q.From, To: q.To}
	if d.OrgID == "" && a.OrgLevel != service.LevelCity {
		d.OrgID, q.OrgID = a.OrgID, a.OrgID
	}
	var err error
	if d.Orgs, err = w.scopeChoices(c, a, true); err != nil {
		return err
	}
	p.Values = url.Values{"org_id": {d.OrgID}, "from": {d.From}, "to": {d.To}}
	p.Data = &d
	if d.OrgID == "" {
		return w.render(c, http.StatusOK, "ledger", p)
	}
	l, err := w.svc.Ledger(ctx(c), a, q)
	if err != nil {
		p.Form = "ledger"
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		return w.render(c, status, "ledger", p)
	}
	d.Ledger = &l
	d.From, d.To = l.From.String(), l.To.String()
	d.Export = template.URL(url.Values{"org_id": {d.OrgID}, "from": {d.From}, "to": {d.To}}.Encode())
	p.Title = "登记台账：" + l.Org.Name + " " + l.From.Chinese() + "至" + l.To.Chinese()
	return w.render(c, http.StatusOK, "ledger", p)
}

func (w *console) ledgerExport(c echo.Context) error {
	format := c.QueryParam("format")
	if format != "csv" && format != "xlsx" {
		return service.BadParam("format", "unknown_download_format")
	}
	l, err := w.svc.Ledger(ctx(c), actor(c), ledgerQuery(c))
	if err != nil {
		return err
	}
	return report.Ledger(c.Response(), format, l)
}

// ledgerQuery reads the ledger's organisation and period from the page's
// query string.
func ledgerQuery(c echo.Context) service.LedgerQuery {
	return service.LedgerQuery{OrgID: c.QueryParam("org_id"), Month: c.QueryParam("month"), From: c.QueryParam("from"), To: c.QueryParam("to")}
}
