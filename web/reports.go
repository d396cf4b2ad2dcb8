package web

import (
	"errors"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

// The 民情 pages: the list of reports in the actor's scope, the intake
// form for grid inspectors, village agents and hotline operators, and a
// report's page with its timeline and the steps the actor may take.

// reportPhotoLimit is what an intake form may carry: six photos of 2 MB
// and the rest, as the API's report intake allows.
const reportPhotoLimit = service.MaxReportPhotos*service.MaxReportPhotoBytes + 1<<20

// takesReports reports whether the role registers reports.
func takesReports(r service.Role) bool {
	return r == service.RoleGridInspector || r == service.RoleAgent || r == service.RoleHotlineOperator
}

// seesReports reports whether the role has the 民情 pages at all.
func seesReports(r service.Role) bool {
	return r.HandlesReports() || r == service.RoleGridInspector || r == service.RoleSupervisor || r == service.RoleAdmin
}

// PhotoForms are the console's forms that may carry a report's photos,
// beyond the router's limit for forms of text (api.Options.PhotoForms).
var PhotoForms = []string{"/reports/new", "/m"}

// photoForm reads a report form with its photos, up to reportPhotoLimit,
// before the CSRF check reads its token: anything larger is refused as
// too large.
func photoForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if !strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
			return next(c)
		}
		if r.ContentLength > reportPhotoLimit {
			return echo.ErrStatusRequestEntityTooLarge
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, reportPhotoLimit)
		if err := r.ParseMultipartForm(4 << 20); err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return echo.ErrStatusRequestEntityTooLarge
			}
			return echo.ErrBadRequest
		}
		return next(c)
	}
}

// ---- the list

type reportRow struct {
	R    service.Report
	Warn string
}

type reportListData struct {
	Mine       bool
	Status     string
	Category   string
	Channel    string
	Overdue    bool
	Statuses   []service.ReportStatus
	Categories []service.ReportCategory
	Channels   []service.ReportChannel
	Rows       []reportRow
	Next       template.URL
	Clear      template.URL
	CanAdd     bool
	AddLabel   string
	HasQueue   bool // the organisation holds reports: a grid never does
}

// reportWarn colours an open report: red past due, yellow within a day of
// it (an hour for an urgent one).
func reportWarn(r service.Report, now time.Time) string {
	if !r.Status.Open() {
		return ""
	}
	if now.After(r.DueAt) {
		return "red"
	}
	soon := 24 * time.Hour
	if r.Urgency == service.UrgencyUrgent {
		soon = time.Hour
	}
	if r.DueAt.Sub(now) <= soon {
		return "yellow"
	}
	return ""
}

func addLabel(r service.Role) string {
	if r == service.RoleHotlineOperator {
		return "＋ 登记来电"
	}
	return "＋ 上报民情"
}

const reportPage = 50

func (w *console) reportList(c echo.Context) error {
	a := actor(c)
	if !seesReports(a.Role) {
		return service.ErrForbidden
	}
	q := c.QueryParams()
	d := reportListData{Mine: q.Get("mine") == "true", Status: q.Get("status"), Category: q.Get("category"), Channel: q.Get("channel"),
		Overdue: q.Get("overdue") == "1", Statuses: service.ReportStatuses, Categories: service.ReportCategories,
		Channels: service.ReportChannels, CanAdd: takesReports(a.Role), AddLabel: addLabel(a.Role),
		HasQueue: a.Role != service.RoleGridInspector}
	title := "民情件"
	if d.Mine {
		title = "本单位待办民情"
	}
	p := w.newPage(c, title)
	keep := url.Values{}
	for _, k := range []string{"mine", "status", "category", "channel", "overdue"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	clear := url.Values{}
	if d.Mine {
		clear.Set("mine", "true")
	}
	d.Clear = template.URL("/reports?" + clear.Encode())
	f := service.ReportFilter{Category: d.Category, Channel: service.ReportChannel(d.Channel), Overdue: d.Overdue,
		After: q.Get("after"), Limit: reportPage + 1}
	var fe []service.FieldError
	if d.Status != "" {
		if !slices.Contains(service.ReportStatuses, service.ReportStatus(d.Status)) {
			fe = append(fe, service.NewFieldError("status", "unknown_status", d.Status))
		}
		f.Status = []service.ReportStatus{service.ReportStatus(d.Status)}
	}
	if _, ok := service.ReportCategoryByCode(d.Category); d.Category != "" && !ok {
		fe = append(fe, service.NewFieldError("category", "unknown_report_category"))
	}
	if d.Channel != "" && !slices.Contains(service.ReportChannels, f.Channel) {
		fe = append(fe, service.NewFieldError("channel", "unknown_channel"))
	}
	var rs []service.Report
	var err error
	if fe != nil {
		err = service.Invalid(fe...)
	} else {
		rs, err = w.svc.Reports(ctx(c), a, f, d.Mine)
	}
	if err != nil {
		p.Form = "search"
		p.Values = q
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		p.Data = d
		return w.render(c, status, "reports", p)
	}
	if len(rs) > reportPage {
		rs = rs[:reportPage]
		keep.Set("after", rs[len(rs)-1].ID)
		d.Next = template.URL("/reports?" + keep.Encode())
	}
	now := w.svc.Now()
	for _, r := range rs {
		d.Rows = append(d.Rows, reportRow{R: r, Warn: reportWarn(r, now)})
	}
	p.Data = d
	return w.render(c, http.StatusOK, "reports", p)
}

// ---- intake

type reportNewData struct {
	Role       string
	Categories []service.ReportCategory
	Grids      []service.Org
	MaxPhotos  int
}

func (w *console) reportNewPage(c echo.Context) error {
	p := w.newPage(c, "")
	p.Form = "report"
	p.Values = url.Values{"urgency": {string(service.UrgencyOrdinary)}}
	return w.showReportForm(c, p, http.StatusOK)
}

func (w *console) showReportForm(c echo.Context, p *page, status int) error {
	a := actor(c)
	if !takesReports(a.Role) {
		return service.ErrForbidden
	}
	d := reportNewData{Role: string(a.Role), Categories: service.ReportCategories, MaxPhotos: service.MaxReportPhotos}
	p.Title = "上报民情"
	switch a.Role {
	case service.RoleAgent:
		gs, err := w.svc.Orgs(ctx(c), a, service.OrgFilter{ParentID: a.OrgID, Level: service.LevelGrid, Limit: 500})
		if err != nil {
			return err
		}
		d.Grids = gs
	case service.RoleHotlineOperator:
		p.Title = "登记热线来电"
		gs, err := w.svc.Orgs(ctx(c), a, service.OrgFilter{Under: a.OrgPath, Level: service.LevelGrid, Limit: 500})
		if err != nil {
			return err
		}
		d.Grids = gs
	}
	p.Data = d
	return w.render(c, status, "report_new", p)
}

func (w *console) submitReport(c echo.Context) error {
	a := actor(c)
	if !takesReports(a.Role) {
		return service.ErrForbidden
	}
	// The page's form is multipart; a post without photos may be plain.
	var form url.Values
	var files []*multipart.FileHeader
	if mf, err := c.MultipartForm(); err == nil {
		form, files = url.Values(mf.Value), mf.File["photos"]
	} else if errors.Is(err, http.ErrNotMultipart) {
		if form, err = c.FormParams(); err != nil {
			return err
		}
	} else {
		return echo.ErrBadRequest
	}
	in := service.ReportInput{Category: form.Get("category"), Urgency: service.Urgency(form.Get("urgency")),
		Text: form.Get("text"), Address: form.Get("address"), GridID: form.Get("grid_id"),
		Reporter: service.Reporter{Name: form.Get("reporter.name"), Phone: form.Get("reporter.phone"), Anonymous: form.Get("anonymous") == "on"}}
	var fe []service.FieldError
	lat, lng := strings.TrimSpace(form.Get("lat")), strings.TrimSpace(form.Get("lng"))
	if lat != "" || lng != "" {
		x, err1 := strconv.ParseFloat(lat, 64)
		y, err2 := strconv.ParseFloat(lng, 64)
		if err1 != nil || err2 != nil {
			fe = append(fe, service.NewFieldError("lat", "coordinates_range"))
		} else {
			in.Lat, in.Lng = &x, &y
		}
	}
	for _, fh := range files {
		if fh.Size == 0 {
			continue // an empty file input
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return err
		}
		in.Photos = append(in.Photos, b)
	}
	var r service.Report
	var err error
	if fe == nil {
		r, err = w.svc.SubmitReport(ctx(c), &a, in)
	} else {
		err = service.Invalid(fe...)
	}
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/reports/"+url.PathEscape(r.ID)+"?new=1")
	}
	p := w.newPage(c, "")
	p.Form = "report"
	delete(form, csrfField)
	p.Values = form
	status, ok := formError(err, p)
	if !ok {
		return err
	}
	if len(in.Photos) > 0 && p.Errors["photos"] == "" {
		// A browser cannot keep the chosen files; say so beside them.
		p.Errors["photos"] = "照片需要重新选择。"
	}
	return w.showReportForm(c, p, status)
}

// ---- one report

type reportData struct {
	R        service.Report
	Events   []service.ReportEvent
	Warn     string
	New      bool
	Code     string // the reporter's code, for whoever registered it
	Can      map[string]bool
	Any      bool
	Steps    []service.ReportAction
	Targets  []orgGroup
	Grades   []int
	Photos   []int
	Category string
}

type orgGroup struct {
	Label string
	Orgs  []service.Org
}

var reportDone = map[service.ReportAction]string{
	service.ReportDispatch: "已批转，接收单位的待办中会列出。",
	service.ReportSign:     "已签收，请在期限内办理并答复。",
	service.ReportSendBack: "已退回分派单位。",
	service.ReportAnswer:   "已答复，等待分派单位审核。",
	service.ReportAccept:   "答复已审核通过，请回访反映人。",
	service.ReportReject:   "答复已退回重办。",
	service.ReportClose:    "已回访办结。",
	service.ReportMerge:    "已作为重复件合并。",
	service.ReportExtend:   "延期申请已提交，等待分派单位审批。",
	service.ReportApprove:  "已批准延期。",
	service.ReportDeny:     "已不批准延期。",
	service.ReportUrge:     "已督办。",
}

func (w *console) reportPage(c echo.Context) error {
	p := w.newPage(c, "民情件")
	if msg := reportDone[service.ReportAction(c.QueryParam("done"))]; msg != "" {
		p.Flash = msg
	}
	return w.showReport(c, p, http.StatusOK)
}

func (w *console) showReport(c echo.Context, p *page, status int) error {
	a := actor(c)
	r, err := w.svc.Report(ctx(c), a, c.Param("id"))
	if err != nil {
		return err
	}
	evs, err := w.svc.ReportEvents(ctx(c), a, r.ID)
	if err != nil {
		return err
	}
	d := reportData{R: r, Events: evs, Warn: reportWarn(r, w.svc.Now()), Can: map[string]bool{}, Grades: []int{5, 4, 3, 2, 1}}
	if cat, ok := service.ReportCategoryByCode(r.Category); ok {
		d.Category = cat.Name
	}
	if r.CreatedBy != "" && r.CreatedBy == a.UserID {
		d.Code = r.VerifyCode
		d.New = c.QueryParam("new") == "1"
	}
	for n := 1; n <= r.Photos; n++ {
		d.Photos = append(d.Photos, n)
	}
	d.Steps = a.ReportSteps(r)
	for _, act := range d.Steps {
		d.Can[string(act)] = true
		d.Any = true
	}
	if d.Can[string(service.ReportDispatch)] {
		d.Targets, err = w.dispatchTargets(c, a, r)
		if err != nil {
			return err
		}
	}
	p.Title = "民情件 " + r.No
	p.Data = d
	return w.render(c, status, "report", p)
}

// dispatchTargets are the organisations of the actor's city a report may
// be dispatched to, grouped: the city with its departments, then each
// township with its departments and villages. Grids and the holder are
// left out, as the service refuses them.
func (w *console) dispatchTargets(c echo.Context, a service.Actor, r service.Report) ([]orgGroup, error) {
	city := a.OrgPath[:min(len(a.OrgPath), service.PathLen(service.LevelCity))]
	var all []service.Org
	f := service.OrgFilter{Under: city, Limit: 500}
	for {
		os, err := w.svc.Orgs(ctx(c), a, f)
		if err != nil {
			return nil, err
		}
		all = append(all, os...)
		if len(os) < 500 {
			break
		}
		f.After = os[len(os)-1].Path
	}
	slices.SortFunc(all, func(x, y service.Org) int { return strings.Compare(x.Path, y.Path) })
	// The city's own group first, then one for each township, whether or
	// not the township itself may be chosen.
	groups := []orgGroup{{Label: "市级"}}
	at := map[string]int{} // a township's path → its group
	for _, o := range all {
		if o.Level == service.LevelTownship {
			at[o.Path] = len(groups)
			groups = append(groups, orgGroup{Label: o.Name})
		}
	}
	for _, o := range all {
		if o.Level == service.LevelGrid || o.ID == r.HolderOrgID {
			continue
		}
		g := 0
		for path, i := range at {
			if service.InSubtree(o.Path, path) {
				g = i
			}
		}
		groups[g].Orgs = append(groups[g].Orgs, o)
	}
	return slices.DeleteFunc(groups, func(g orgGroup) bool { return len(g.Orgs) == 0 }), nil
}

// reportStep takes one step from a form post; a stale version gets the
// fresh report and a message.
func (w *console) reportStep(c echo.Context) error {
	act := service.ReportAction(c.Param("action"))
	if !slices.Contains(service.ReportActions, act) {
		return errNotFound
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	version, _ := strconv.Atoi(form.Get("version"))
	in := service.ReportStepInput{Version: version, ToOrgID: form.Get("to_org_id"), Reason: form.Get("reason"),
		Answer: form.Get("answer"), MergeInto: strings.TrimSpace(form.Get("merge_into"))}
	if g := form.Get("grade"); g == "unreachable" {
		in.Unreachable = true
	} else if g != "" {
		in.Grade, _ = strconv.Atoi(g)
	}
	var fe []service.FieldError
	if s := strings.TrimSpace(form.Get("days")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			fe = append(fe, service.NewFieldError("days", "extension_days"))
		}
		in.Days = n
	}
	if fe == nil {
		_, err = w.svc.StepReport(ctx(c), actor(c), c.Param("id"), act, in)
	} else {
		err = service.Invalid(fe...)
	}
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/reports/"+url.PathEscape(c.Param("id"))+"?done="+string(act))
	}
	return w.stepFailed(c, "民情件", string(act), form, err, w.showReport)
}

// reportPhoto serves one of a report's photos to staff who see it.
func (w *console) reportPhoto(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 || n > service.MaxReportPhotos {
		return errNotFound
	}
	ph, err := w.svc.ReportPhoto(ctx(c), actor(c), c.Param("id"), n)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=3600")
	c.Response().Header().Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, ph.ContentType, ph.Data)
}
