package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"daiban/report"
	"daiban/service"
)

// 民情 reports: intake, the lifecycle, lists, photos, the public form and
// lookup, and the statistics.

type reporterRequest struct {
	Name      string `json:"name" validate:"max=40"`
	Phone     string `json:"phone" validate:"max=20"`
	Anonymous bool   `json:"anonymous"`
}

type reportRequest struct {
	Channel  string          `json:"channel" validate:"omitempty,oneof=web app"`
	Category string          `json:"category" validate:"required,max=20"`
	Urgency  string          `json:"urgency" validate:"omitempty,oneof=ordinary urgent"`
	Text     string          `json:"text" validate:"required,max=2000"`
	Address  string          `json:"address" validate:"max=200"`
	GridID   string          `json:"grid_id" validate:"max=36"`
	OrgID    string          `json:"org_id" validate:"max=36"`
	Lat      *float64        `json:"lat"`
	Lng      *float64        `json:"lng"`
	Reporter reporterRequest `json:"reporter"`
	// Photos are base64 (standard alphabet), at most six.
	Photos []string `json:"photos" validate:"max=6"`
}

// bindReport reads a report's intake, its photos decoded.
func bindReport(c echo.Context) (service.ReportInput, error) {
	var req reportRequest
	if _, err := bindJSON(c, &req); err != nil {
		return service.ReportInput{}, err
	}
	return req.input()
}

func (r reportRequest) input() (service.ReportInput, error) {
	in := service.ReportInput{
		Channel: service.ReportChannel(r.Channel), Category: r.Category, Urgency: service.Urgency(r.Urgency),
		Text: r.Text, Address: r.Address, GridID: r.GridID, OrgID: r.OrgID, Lat: r.Lat, Lng: r.Lng,
		Reporter: service.Reporter{Name: r.Reporter.Name, Phone: r.Reporter.Phone, Anonymous: r.Reporter.Anonymous},
	}
	for i, p := range r.Photos {
		if len(p) > service.MaxReportPhotoBytes*4/3+4 {
			return in, service.InvalidField("photos["+strconv.Itoa(i)+"]", "photo_too_large", strconv.Itoa(service.MaxReportPhotoBytes>>20))
		}
		b, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			return in, service.InvalidField("photos["+strconv.Itoa(i)+"]", "not_an_image")
		}
		in.Photos = append(in.Photos, b)
	}
	return in, nil
}

type reportOrgJSON struct {
	ID   *string `json:"id"`
	Name string  `json:"name"`
}

func reportOrg(id, name string) reportOrgJSON {
	return reportOrgJSON{ID: optString(id), Name: name}
}

type reportJSON struct {
	ID             string        `json:"id"`
	No             string        `json:"no"`
	VerifyCode     *string       `json:"verify_code"`
	Status         string        `json:"status"`
	StatusLabel    string        `json:"status_label"`
	Version        int           `json:"version"`
	Channel        string        `json:"channel"`
	Category       string        `json:"category"`
	CategoryName   string        `json:"category_name"`
	Urgency        string        `json:"urgency"`
	Text           string        `json:"text"`
	Address        string        `json:"address"`
	Grid           reportOrgJSON `json:"grid"`
	Lat            *float64      `json:"lat"`
	Lng            *float64      `json:"lng"`
	Reporter       reporterJSON  `json:"reporter"`
	Photos         int           `json:"photos"`
	IntakeOrg      reportOrgJSON `json:"intake_org"`
	HolderOrg      reportOrgJSON `json:"holder_org"`
	DispatcherOrg  reportOrgJSON `json:"dispatcher_org"`
	HandlerOrg     reportOrgJSON `json:"handler_org"`
	RegisteredAt   time.Time     `json:"registered_at"`
	DueAt          time.Time     `json:"due_at"`
	DispatchedAt   *time.Time    `json:"dispatched_at"`
	ResponseDueAt  *time.Time    `json:"response_due_at"`
	Answer         string        `json:"answer"`
	AnsweredAt     *time.Time    `json:"answered_at"`
	ExtensionDays  int           `json:"extension_days_requested"`
	Satisfaction   *int          `json:"satisfaction"`
	Unreachable    bool          `json:"unreachable"`
	ClosedAt       *time.Time    `json:"closed_at"`
	MergedInto     *string       `json:"merged_into"`
	Overdue        bool          `json:"overdue"`
	AnsweredOnTime *bool         `json:"answered_on_time"`
}

type reporterJSON struct {
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	Anonymous bool   `json:"anonymous"`
}

func optTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := shanghai(*t)
	return &v
}

// toReportJSON renders a report; the code to follow it is shown once, to
// whoever registered it.
func toReportJSON(r service.Report, now time.Time, withCode bool) reportJSON {
	j := reportJSON{
		ID: r.ID, No: r.No, Status: string(r.Status), StatusLabel: r.Status.Label(), Version: r.Version,
		Channel: string(r.Channel), Category: r.Category, Urgency: string(r.Urgency), Text: r.Text, Address: r.Address,
		Grid: reportOrg(r.GridID, r.GridName), Lat: r.Lat, Lng: r.Lng,
		Reporter: reporterJSON{Name: r.Reporter.Name, Phone: r.Reporter.Phone, Anonymous: r.Reporter.Anonymous},
		Photos:   r.Photos, IntakeOrg: reportOrg(r.IntakeOrgID, r.IntakeName), HolderOrg: reportOrg(r.HolderOrgID, r.HolderName),
		DispatcherOrg: reportOrg(r.DispatcherID, r.DispatcherName), HandlerOrg: reportOrg(r.HandlerOrgID, r.HandlerName),
		RegisteredAt: shanghai(r.RegisteredAt), DueAt: shanghai(r.DueAt), DispatchedAt: optTimePtr(r.DispatchedAt),
		ResponseDueAt: optTimePtr(r.ResponseDueAt), Answer: r.Answer, AnsweredAt: optTimePtr(r.AnsweredAt),
		ExtensionDays: r.ExtensionDays, Unreachable: r.Unreachable, ClosedAt: optTimePtr(r.ClosedAt),
		MergedInto: optString(r.MergedInto), Overdue: r.Status.Open() && now.After(r.DueAt),
	}
	if c, ok := service.ReportCategoryByCode(r.Category); ok {
		j.CategoryName = c.Name
	}
	if withCode {
		j.VerifyCode = optString(r.VerifyCode)
	}
	if r.Satisfaction != 0 {
		j.Satisfaction = &r.Satisfaction
	}
	if r.AnsweredAt != nil {
		j.AnsweredOnTime = &r.AnsweredOnTime
	}
	return j
}

func (s *Server) reportResponse(c echo.Context, status int, r service.Report, withCode bool) error {
	c.Response().Header().Set("ETag", strconv.Quote(strconv.Itoa(r.Version)))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, toReportJSON(r, s.svc.Now(), withCode))
}

// submitReport handles POST /reports: a grid inspector, village agent or
// hotline operator takes a report in.
func (s *Server) submitReport(c echo.Context) error {
	in, err := bindReport(c)
	if err != nil {
		return err
	}
	a := actor(c)
	r, err := s.svc.SubmitReport(c.Request().Context(), &a, in)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/reports/"+r.ID)
	return s.reportResponse(c, http.StatusCreated, r, true)
}

type publicReportCreatedJSON struct {
	No          string    `json:"no"`
	VerifyCode  string    `json:"verify_code"`
	Status      string    `json:"status"`
	StatusLabel string    `json:"status_label"`
	DueAt       time.Time `json:"due_at"`
}

// publicSubmitReport handles POST /public/reports: a resident's report
// through the website or the app, without an account.
func (s *Server) publicSubmitReport(c echo.Context) error {
	in, err := bindReport(c)
	if err != nil {
		return err
	}
	in.ClientKey = c.RealIP()
	r, err := s.svc.SubmitReport(c.Request().Context(), nil, in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, publicReportCreatedJSON{No: r.No, VerifyCode: r.VerifyCode, Status: string(r.Status),
		StatusLabel: r.Status.Label(), DueAt: shanghai(r.DueAt)})
}

func (s *Server) getReport(c echo.Context) error {
	r, err := s.svc.Report(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return s.reportResponse(c, http.StatusOK, r, false)
}

func (s *Server) listReports(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	f := service.ReportFilter{Category: c.QueryParam("category"), Channel: service.ReportChannel(c.QueryParam("channel")),
		After: c.QueryParam("cursor"), Limit: limit}
	for _, v := range c.QueryParams()["status"] {
		for _, st := range strings.Split(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				f.Status = append(f.Status, service.ReportStatus(st))
			}
		}
	}
	var mine bool
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"overdue", &f.Overdue}, {"mine", &mine}} {
		switch c.QueryParam(b.name) {
		case "", "false":
		case "true":
			*b.dst = true
		default:
			return service.BadParam(b.name, "not_a_boolean")
		}
	}
	a := actor(c)
	list, err := s.svc.Reports(c.Request().Context(), a, f, mine)
	if err != nil {
		return err
	}
	now := s.svc.Now()
	out := make([]reportJSON, len(list))
	next := ""
	for i, r := range list {
		out[i] = toReportJSON(r, now, false)
	}
	if n := len(list); n > 0 && n == clampedLimit(limit) {
		next = list[n-1].ID
	}
	return c.JSON(http.StatusOK, newPage(out, next))
}

// clampedLimit is the page size the service uses for limit.
func clampedLimit(limit int) int {
	if limit <= 0 {
		return 50
	}
	return min(limit, 500)
}

type reportEventJSON struct {
	Seq         int             `json:"seq"`
	Action      string          `json:"action"`
	ActionLabel string          `json:"action_label"`
	From        *string         `json:"from"`
	To          string          `json:"to"`
	Actor       *eventActorJSON `json:"actor"`
	Org         refJSON         `json:"org"`
	ToOrg       *refJSON        `json:"to_org"`
	At          time.Time       `json:"at"`
	Note        string          `json:"note"`
	Grade       *int            `json:"grade"`
	Days        *int            `json:"days"`
	DueAt       *time.Time      `json:"due_at"`
	PrevHash    string          `json:"prev_hash"`
	Hash        string          `json:"hash"`
}

func (s *Server) reportEvents(c echo.Context) error {
	evs, err := s.svc.ReportEvents(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	out := make([]reportEventJSON, len(evs))
	for i, ev := range evs {
		j := reportEventJSON{Seq: ev.Seq, Action: string(ev.Action), ActionLabel: ev.Action.Label(), From: optString(string(ev.From)),
			To: string(ev.To), Org: refJSON{ID: ev.OrgID, Name: ev.OrgName}, At: shanghai(ev.At), Note: ev.Note,
			DueAt: optTime(ev.DueAt), Hash: ev.Hash, PrevHash: ev.PrevHash}
		if ev.ActorID != "" {
			j.Actor = &eventActorJSON{ID: ev.ActorID, Name: ev.ActorName, Role: string(ev.ActorRole)}
		}
		if ev.ToOrgID != "" {
			j.ToOrg = &refJSON{ID: ev.ToOrgID, Name: ev.ToOrgName}
		}
		if ev.Grade != 0 {
			j.Grade = &ev.Grade
		}
		if ev.Days != 0 {
			j.Days = &ev.Days
		}
		out[i] = j
	}
	return c.JSON(http.StatusOK, newPage(out, ""))
}

func (s *Server) reportPhoto(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 || n > service.MaxReportPhotos {
		return service.BadParam("n", "photo_number")
	}
	p, err := s.svc.ReportPhoto(c.Request().Context(), actor(c), c.Param("id"), n)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=3600")
	c.Response().Header().Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, p.ContentType, p.Data)
}

type reportStepRequest struct {
	Version     int    `json:"version" validate:"gte=0"`
	ToOrgID     string `json:"to_org_id" validate:"max=36"`
	Reason      string `json:"reason" validate:"max=500"`
	Answer      string `json:"answer" validate:"max=2000"`
	Grade       int    `json:"grade" validate:"gte=0,lte=5"`
	Unreachable bool   `json:"unreachable"`
	Days        int    `json:"days" validate:"gte=0,lte=30"`
	MergeInto   string `json:"merge_into" validate:"max=20"`
}

// reportStep handles POST /reports/{id}/{action}.
func (s *Server) reportStep(act service.ReportAction) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req reportStepRequest
		if _, err := bindJSON(c, &req); err != nil {
			return err
		}
		version, err := withIfMatch(c, req.Version)
		if err != nil {
			return err
		}
		r, err := s.svc.StepReport(c.Request().Context(), actor(c), c.Param("id"), act, service.ReportStepInput{
			Version: version, ToOrgID: req.ToOrgID, Reason: req.Reason, Answer: req.Answer, Grade: req.Grade,
			Unreachable: req.Unreachable, Days: req.Days, MergeInto: req.MergeInto,
		})
		if err != nil {
			return err
		}
		return s.reportResponse(c, http.StatusOK, r, false)
	}
}

type publicReportStepJSON struct {
	At          time.Time `json:"at"`
	Action      string    `json:"action"`
	ActionLabel string    `json:"action_label"`
	Status      string    `json:"status"`
	StatusLabel string    `json:"status_label"`
	OrgName     string    `json:"org_name"`
	ToOrgName   string    `json:"to_org_name"`
}

type publicReportJSON struct {
	No           string                 `json:"no"`
	Status       string                 `json:"status"`
	StatusLabel  string                 `json:"status_label"`
	Category     string                 `json:"category"`
	CategoryName string                 `json:"category_name"`
	Channel      string                 `json:"channel"`
	RegisteredAt time.Time              `json:"registered_at"`
	DueAt        time.Time              `json:"due_at"`
	Answer       *string                `json:"answer"`
	AnsweredAt   *time.Time             `json:"answered_at"`
	ClosedAt     *time.Time             `json:"closed_at"`
	MergedInto   *string                `json:"merged_into"`
	Timeline     []publicReportStepJSON `json:"timeline"`
}

// publicReport handles GET /public/reports/{no}?code=: what the reporter
// may read, never their name, phone or place, never photos or staff.
func (s *Server) publicReport(c echo.Context) error {
	p, err := s.svc.LookupReport(c.Request().Context(), c.Param("no"), c.QueryParam("code"), c.RealIP())
	if err != nil {
		return err
	}
	j := publicReportJSON{No: p.No, Status: string(p.Status), StatusLabel: p.StatusWords(), Category: p.Category,
		Channel: string(p.Channel), RegisteredAt: shanghai(p.RegisteredAt), DueAt: shanghai(p.DueAt),
		Answer: optString(p.Answer), AnsweredAt: optTimePtr(p.AnsweredAt), ClosedAt: optTimePtr(p.ClosedAt),
		MergedInto: optString(p.MergedInto), Timeline: []publicReportStepJSON{}}
	if cat, ok := service.ReportCategoryByCode(p.Category); ok {
		j.CategoryName = cat.Name
	}
	for _, st := range p.Timeline {
		j.Timeline = append(j.Timeline, publicReportStepJSON{At: shanghai(st.At), Action: string(st.Action), ActionLabel: st.Action.Label(),
			Status: string(st.Status), StatusLabel: st.Status.Label(), OrgName: st.OrgName, ToOrgName: st.ToName})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, j)
}

type reportFiguresJSON struct {
	Accepted         int64            `json:"accepted"`
	Closed           int64            `json:"closed"`
	CompletionRate   *float64         `json:"completion_rate"`
	ClosedOnTime     int64            `json:"closed_on_time"`
	OnTimeRate       *float64         `json:"on_time_rate"`
	Responses        int64            `json:"responses"`
	ResponsesOnTime  int64            `json:"responses_on_time"`
	ResponseRate     *float64         `json:"response_rate"`
	FollowedUp       int64            `json:"followed_up"`
	Unreachable      int64            `json:"unreachable"`
	SatisfactionRate *float64         `json:"satisfaction_rate"`
	Satisfaction     satisfactionJSON `json:"satisfaction"`
	OverdueOpen      int64            `json:"overdue_open"`
}

type reportGroupJSON struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	reportFiguresJSON
}

type reportStatsJSON struct {
	From    string            `json:"from"`
	To      string            `json:"to"`
	Org     statsOrgJSON      `json:"org"`
	GroupBy *string           `json:"group_by"`
	Totals  reportFiguresJSON `json:"totals"`
	Groups  []reportGroupJSON `json:"groups"`
}

func toReportFiguresJSON(f service.ReportFigures) reportFiguresJSON {
	j := reportFiguresJSON{Accepted: f.Accepted, Closed: f.Closed, CompletionRate: num(f.CompletionRate),
		ClosedOnTime: f.ClosedOnTime, OnTimeRate: num(f.OnTimeRate), Responses: f.Responses, ResponsesOnTime: f.ResponsesOnTime,
		ResponseRate: num(f.ResponseRate), FollowedUp: f.FollowedUp, Unreachable: f.Unreachable,
		SatisfactionRate: num(f.SatisfactionRate), OverdueOpen: f.OverdueOpen,
		Satisfaction: satisfactionJSON{Rated: f.FollowedUp, Mean: num(f.MeanGrade)}}
	for g := 5; g >= 1; g-- {
		j.Satisfaction.Grades = append(j.Satisfaction.Grades, gradeJSON{Grade: g, Label: service.SatisfactionLabels[g], Count: f.Grades[g-1], Share: num(f.GradeShares[g])})
	}
	return j
}

// reportStats handles GET /stats/reports: section 6 of the design.
func (s *Server) reportStats(c echo.Context) error {
	format, err := formatParam(c)
	if err != nil {
		return err
	}
	rep, err := s.svc.ReportStats(c.Request().Context(), actor(c), service.StatsRequest{
		From: c.QueryParam("from"), To: c.QueryParam("to"), OrgID: c.QueryParam("org_id"), GroupBy: c.QueryParam("group_by"),
	})
	if err != nil {
		return err
	}
	if format != "json" {
		return report.ReportStats(c.Response(), format, rep)
	}
	out := reportStatsJSON{From: rep.From.String(), To: rep.To.String(), GroupBy: optString(string(rep.GroupBy)),
		Org:    statsOrgJSON{ID: rep.Org.ID, Name: rep.Org.Name, Level: string(rep.Org.Level)},
		Totals: toReportFiguresJSON(rep.Totals), Groups: []reportGroupJSON{}}
	for _, g := range rep.Groups {
		out.Groups = append(out.Groups, reportGroupJSON{Key: g.Key, Name: g.Name, reportFiguresJSON: toReportFiguresJSON(g.ReportFigures)})
	}
	return c.JSON(http.StatusOK, out)
}

type reportWarningJSON struct {
	Level  string     `json:"level"`
	Report reportJSON `json:"report"`
}

// reportWarnings handles GET /supervision/report-warnings: open reports
// with one working day or less left (yellow) or past due (red), soonest
// first.
func (s *Server) reportWarnings(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	list, next, err := s.svc.ReportWarnings(c.Request().Context(), actor(c), c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	now := s.svc.Now()
	out := make([]reportWarningJSON, len(list))
	for i, w := range list {
		out[i] = reportWarningJSON{Level: w.Level, Report: toReportJSON(w.Report, now, false)}
	}
	return c.JSON(http.StatusOK, newPage(out, next))
}
