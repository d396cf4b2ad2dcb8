package service

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gabriel-vasile/mimetype"
)

// Report intake limits.
const (
	MaxReportPhotos     = 6
	MaxReportPhotoBytes = 2 << 20 // 2 MiB a photo, what a phone's camera gives after the app shrinks it
)

// photoTypes are the pictures a report may carry, as sniffed from their bytes.
var photoTypes = []string{"image/jpeg", "image/png", "image/webp", "image/gif"}

// Public submissions: at most publicReports a client per window, counted
// in the database like wrong lookup codes.
var publicReports = budget{max: 5, window: time.Hour}

// ReportInput is what intake sends. The channel follows from who sends it:
// a grid inspector or a village agent reports from a grid, a hotline
// operator registers a call, the public form (no actor) a web or app
// submission.
type ReportInput struct {
	Channel   ReportChannel // only for the public form: web (default) or app
	Category  string
	Urgency   Urgency
	Text      string
	Address   string
	GridID    string   // required for a grid report; optional otherwise
	OrgID     string   // the public form: where it happens, to find the city centre; optional with one city
	Lat, Lng  *float64 // optional coordinates
	Reporter  Reporter
	Photos    [][]byte
	ClientKey string // the public form: the client's address, for its budget
}

// SubmitReport registers a report. a is nil for the public form.
func (s *Service) SubmitReport(ctx context.Context, a *Actor, in ReportInput) (Report, error) {
	now := s.now()
	r := Report{
		ID: s.newID(), Category: strings.TrimSpace(in.Category), Urgency: in.Urgency,
		Text: strings.TrimSpace(in.Text), Address: strings.TrimSpace(in.Address),
		Lat: in.Lat, Lng: in.Lng, Status: ReportRegistered, Version: 1, RegisteredAt: now, UpdatedAt: now,
		Reporter: Reporter{Name: strings.TrimSpace(in.Reporter.Name), Phone: NormalizePhone(in.Reporter.Phone), Anonymous: in.Reporter.Anonymous},
	}
	if r.Urgency == "" {
		r.Urgency = UrgencyOrdinary
	}
	var f fields
	cat, ok := ReportCategoryByCode(r.Category)
	if !ok {
		f.add("category", "unknown_report_category")
	}
	if r.Urgency != UrgencyOrdinary && r.Urgency != UrgencyUrgent {
		f.add("urgency", "unknown_urgency")
	}
	checkText(&f, "text", r.Text, 5, 2000)
	checkText(&f, "address", r.Address, 0, 200)
	checkText(&f, "reporter.name", r.Reporter.Name, 0, 40)
	if (r.Lat == nil) != (r.Lng == nil) {
		f.add("lat", "coordinates_pair")
	} else if r.Lat != nil && (math.IsNaN(*r.Lat) || math.IsNaN(*r.Lng) || *r.Lat < -90 || *r.Lat > 90 || *r.Lng < -180 || *r.Lng > 180) {
		f.add("lat", "coordinates_range")
	}
	switch {
	case r.Reporter.Phone != "" && !ValidPhone(r.Reporter.Phone):
		f.add("reporter.phone", "invalid_phone")
	case r.Reporter.Phone == "" && !(a != nil && (a.Role == RoleHotlineOperator && r.Reporter.Anonymous || a.Role == RoleGridInspector || a.Role == RoleAgent)):
		// The answer goes to the reporter by phone; only an anonymous
		// caller, or what an inspector saw for themselves, has none.
		f.add("reporter.phone", "required")
	}
	if r.Reporter.Anonymous {
		r.Reporter.Name = ""
	}
	if len(in.Photos) > MaxReportPhotos {
		f.add("photos", "too_many_photos", itoa(MaxReportPhotos))
	}
	var photos []ReportPhoto
	for i, p := range in.Photos {
		field := "photos[" + itoa(i) + "]"
		ct := mimetype.Detect(p).String()
		switch {
		case len(p) > MaxReportPhotoBytes:
			f.add(field, "photo_too_large", itoa(MaxReportPhotoBytes>>20))
		case !slices.Contains(photoTypes, ct):
			f.add(field, "not_an_image")
		default:
			photos = append(photos, ReportPhoto{ReportID: r.ID, N: i + 1, ContentType: ct, Data: p})
		}
	}
	r.Photos = len(photos)

	// Where it came in, and where it happens.
	var grid Org
	if id := strings.TrimSpace(in.GridID); id != "" {
		g, err := s.org(ctx, id)
		switch {
		case isNotFound(err) || err == nil && g.Level != LevelGrid:
			f.add("grid_id", "no_such_grid")
		case err != nil:
			return Report{}, err
		default:
			grid = g
		}
	}
	var intake Org
	switch {
	case a == nil:
		r.Channel = in.Channel
		if r.Channel == "" {
			r.Channel = ReportByWeb
		}
		if r.Channel != ReportByWeb && r.Channel != ReportByApp {
			f.add("channel", "public_channel")
		}
		c, err := s.cityFor(ctx, in.OrgID, grid)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				return Report{}, err
			}
			f = append(f, se.Fields...)
		}
		intake = c
	case a.Role == RoleGridInspector || a.Role == RoleAgent:
		r.Channel, r.CreatedBy = ReportByGrid, a.UserID
		if a.Role == RoleGridInspector {
			// An inspector reports from their own grid.
			if grid.ID != "" && grid.ID != a.OrgID {
				f.add("grid_id", "not_your_grid")
			}
			g, err := s.org(ctx, a.OrgID)
			if err != nil {
				return Report{}, err
			}
			grid = g
		} else if grid.ID == "" && in.GridID == "" {
			f.add("grid_id", "required")
		} else if grid.ID != "" && grid.ParentID != a.OrgID {
			f.add("grid_id", "grid_not_in_village")
		}
		if grid.ID != "" {
			v, err := s.org(ctx, grid.ParentID)
			if err != nil {
				return Report{}, err
			}
			intake = v
		}
	case a.Role == RoleHotlineOperator:
		r.Channel, r.CreatedBy = ReportByHotline, a.UserID
		c, err := s.org(ctx, a.OrgID)
		if err != nil {
			return Report{}, err
		}
		intake = c
		if grid.ID != "" && !InSubtree(grid.Path, c.Path) {
			f.add("grid_id", "no_such_grid")
		}
	default:
		return Report{}, Forbidden("role_not_allowed", "reports are taken in by grid inspectors, village agents and hotline operators, or through the public form")
	}
	if err := f.err(); err != nil {
		return Report{}, err
	}
	if a == nil {
		if err := s.claim(ctx, ThrottleLookup, "report "+clientKey(in.ClientKey), publicReports, now, "too_many_reports",
			"too many reports from this address; try again later or call the 12319 hotline"); err != nil {
			return Report{}, err
		}
	}
	ref, err := s.reference(ctx)
	if err != nil {
		return Report{}, err
	}
	seq, err := s.receipts.next(ctx)
	if err != nil {
		return Report{}, err
	}
	r.No, r.VerifyCode = FormatReceiptNo(now, seq), NewVerifyCode()
	r.IntakeOrgID, r.IntakePath = intake.ID, intake.Path
	r.HolderOrgID, r.HolderPath = intake.ID, intake.Path
	r.GridID, r.GridPath = grid.ID, grid.Path
	r.DueAt = reportDue(ref.cal, now, cat, r.Urgency)
	ev := ReportEvent{ReportID: r.ID, Action: ReportRegister, To: ReportRegistered, OrgID: intake.ID, At: now, DueAt: r.DueAt}
	if a != nil {
		ev.ActorID, ev.ActorName, ev.ActorRole = a.UserID, a.Name, a.Role
	}
	linkReport(&r, &ev)
	if err := s.reportStore.CreateReport(ctx, r, ev, photos, s.reportNotices(ctx, r, ev)); err != nil {
		return Report{}, err
	}
	s.wake()
	return s.withReportNames(ctx, r), nil
}

// reportDue is the deadline to answer a report registered at t.
func reportDue(cal *Calendar, t time.Time, c ReportCategory, u Urgency) time.Time {
	if u == UrgencyUrgent {
		return cal.AddWorkingHours(t, c.UrgentHours)
	}
	return cal.DueAt(t, c.Days)
}

// cityFor is the city centre a public report goes to: the city above the
// place named, or the only city.
func (s *Service) cityFor(ctx context.Context, orgID string, grid Org) (Org, error) {
	path := grid.Path
	if orgID = strings.TrimSpace(orgID); orgID != "" {
		o, err := s.org(ctx, orgID)
		if isNotFound(err) {
			return Org{}, InvalidField("org_id", "no_such_org")
		} else if err != nil {
			return Org{}, err
		}
		path = o.Path
	}
	cities, err := s.directory.Orgs(ctx, OrgFilter{Level: LevelCity, Limit: maxLimit})
	if err != nil {
		return Org{}, err
	}
	for _, c := range cities {
		if path != "" && InSubtree(path, c.Path) || path == "" && len(cities) == 1 {
			return c, nil
		}
	}
	return Org{}, InvalidField("org_id", "required")
}

// linkReport numbers ev after r's last event, chains it and moves r's head.
func linkReport(r *Report, ev *ReportEvent) {
	ev.Seq = r.Version
	ev.PrevHash = r.HeadHash
	ev.Hash = ev.ComputeHash()
	r.HeadHash = ev.Hash
}

// ReportStepInput is what a step sends.
type ReportStepInput struct {
	Version     int
	ToOrgID     string // dispatch
	Reason      string // send_back, reject, deny_extension, urge; a note otherwise
	Answer      string // answer
	Grade       int    // close: 1–5
	Unreachable bool   // close: the reporter could not be reached
	Days        int    // request_extension, approve_extension
	MergeInto   string // merge: the other report's number
}

// SeesReport reports whether the actor may read r: the admin all; anyone
// else what was registered, placed, held, dispatched or handled in their
// subtree. A grid inspector's subtree is the grid.
func (a Actor) SeesReport(r Report) bool {
	if a.Role == RoleAdmin {
		return true
	}
	if !a.Role.Staff() || a.OrgPath == "" {
		return false
	}
	for _, p := range []string{r.IntakePath, r.GridPath, r.HolderPath, r.DispatcherPath, r.HandlerPath} {
		if p != "" && InSubtree(p, a.OrgPath) {
			return true
		}
	}
	return false
}

// StepReport takes one step of a report's lifecycle.
func (s *Service) StepReport(ctx context.Context, a Actor, id string, act ReportAction, in ReportStepInput) (Report, error) {
	if !slices.Contains(ReportActions, act) {
		return Report{}, NotFound("step")
	}
	in.Reason = strings.TrimSpace(in.Reason)
	in.Answer = strings.TrimSpace(in.Answer)
	// What the step needs, checked before anything is read.
	var f fields
	switch act {
	case ReportSendBack, ReportReject, ReportDeny:
		checkText(&f, "reason", in.Reason, 1, 500)
	case ReportAnswer:
		checkText(&f, "answer", in.Answer, 1, 2000)
		checkText(&f, "reason", in.Reason, 0, 500)
	case ReportClose:
		if in.Unreachable == (in.Grade != 0) {
			f.add("grade", "grade_or_unreachable")
		} else if !in.Unreachable && (in.Grade < 1 || in.Grade > 5) {
			f.add("grade", "grade_range")
		}
		checkText(&f, "reason", in.Reason, 0, 500)
	case ReportExtend, ReportApprove:
		if in.Days < 1 || in.Days > 30 {
			f.add("days", "extension_days")
		}
		checkText(&f, "reason", in.Reason, 1, 500)
	case ReportDispatch:
		if strings.TrimSpace(in.ToOrgID) == "" {
			f.add("to_org_id", "required")
		}
		checkText(&f, "reason", in.Reason, 0, 500)
	case ReportMerge:
		if strings.TrimSpace(in.MergeInto) == "" {
			f.add("merge_into", "required")
		}
		checkText(&f, "reason", in.Reason, 0, 500)
	default:
		checkText(&f, "reason", in.Reason, 0, 500)
	}
	if in.Version < 1 {
		f.add("version", "required")
	}
	if err := f.err(); err != nil {
		return Report{}, err
	}
	cur, err := s.reportStore.Report(ctx, id)
	if err != nil {
		return Report{}, err
	}
	if !a.SeesReport(cur) {
		return Report{}, NotFound("report")
	}
	// Targets are read before the transaction: organisations never change,
	// and a merge target's own state is checked again inside it.
	var target Org
	if act == ReportDispatch {
		target, err = s.org(ctx, strings.TrimSpace(in.ToOrgID))
		if isNotFound(err) {
			return Report{}, InvalidField("to_org_id", "no_such_org")
		} else if err != nil {
			return Report{}, err
		}
	}
	var into Report
	if act == ReportMerge {
		no, err := ParseReceiptNo(in.MergeInto)
		if err != nil {
			return Report{}, InvalidField("merge_into", "no_such_report")
		}
		into, err = s.reportStore.ReportByNo(ctx, no)
		if isNotFound(err) || err == nil && !a.SeesReport(into) {
			return Report{}, InvalidField("merge_into", "no_such_report")
		} else if err != nil {
			return Report{}, err
		}
		if into.ID == id || into.Status == ReportMerged {
			return Report{}, InvalidField("merge_into", "merge_target")
		}
	}
	ref, err := s.reference(ctx)
	if err != nil {
		return Report{}, err
	}
	now := s.now()
	var out Report
	err = s.reportStore.UpdateReport(ctx, id, func(r *Report) (ReportEvent, []Notice, error) {
		step, ok := ReportLifecycle[r.Status][act]
		if !ok {
			return ReportEvent{}, nil, Conflict("invalid_transition", "a report "+string(r.Status)+" cannot take the step "+string(act))
		}
		if err := a.mayTakeReportStep(*r, step.Where); err != nil {
			return ReportEvent{}, nil, err
		}
		if r.Version != in.Version {
			return ReportEvent{}, nil, VersionConflict(r.Version)
		}
		ev := ReportEvent{ReportID: r.ID, Action: act, From: r.Status, To: step.To,
			ActorID: a.UserID, ActorName: a.Name, ActorRole: a.Role, OrgID: a.OrgID, At: now, Note: in.Reason}
		switch act {
		case ReportDispatch:
			if err := a.mayDispatchTo(*r, target); err != nil {
				return ReportEvent{}, nil, err
			}
			limit := OrdinaryResponseHours
			if r.Urgency == UrgencyUrgent {
				limit = UrgentResponseHours
			}
			due := ref.cal.AddWorkingHours(now, limit)
			r.DispatcherID, r.DispatcherPath = a.OrgID, a.OrgPath
			r.HolderOrgID, r.HolderPath = target.ID, target.Path
			r.DispatchedAt, r.ResponseDueAt = &now, &due
			ev.ToOrgID, ev.DueAt = target.ID, due
		case ReportSign, ReportSendBack:
			r.Responses++
			if r.ResponseDueAt == nil || !now.After(*r.ResponseDueAt) {
				r.ResponsesOnTime++
			}
			if act == ReportSign {
				r.HandlerOrgID, r.HandlerPath = r.HolderOrgID, r.HolderPath
			} else {
				r.HolderOrgID, r.HolderPath = r.DispatcherID, r.DispatcherPath
				ev.ToOrgID = r.DispatcherID
			}
			r.ResponseDueAt = nil
		case ReportAnswer:
			r.Answer, r.AnsweredAt = in.Answer, &now
			r.AnsweredOnTime = !now.After(r.DueAt)
			r.ExtensionDays = 0
			ev.Note = in.Answer
		case ReportReject:
			r.Answer, r.AnsweredAt, r.AnsweredOnTime = "", nil, false
		case ReportClose:
			r.Satisfaction, r.Unreachable, r.ClosedAt = in.Grade, in.Unreachable, &now
			ev.Grade = in.Grade
		case ReportMerge:
			r.MergedInto = into.No
			ev.Note = strings.TrimSpace(into.No + " " + in.Reason)
		case ReportExtend:
			if r.ExtensionDays > 0 {
				return ReportEvent{}, nil, Conflict("extension_pending", "an extension is already awaiting the dispatcher")
			}
			r.ExtensionDays, ev.Days = in.Days, in.Days
		case ReportApprove, ReportDeny:
			if r.ExtensionDays == 0 {
				return ReportEvent{}, nil, Conflict("no_extension_requested", "no extension is awaiting approval")
			}
			if act == ReportApprove {
				r.DueAt = ref.cal.AddWorkingDays(DateOf(r.DueAt), in.Days).End()
				ev.Days, ev.DueAt = in.Days, r.DueAt
			}
			r.ExtensionDays = 0
		}
		r.Status = step.To
		r.Version++
		r.UpdatedAt = now
		linkReport(r, &ev)
		out = *r
		return ev, s.reportNotices(ctx, *r, ev), nil
	})
	if err != nil {
		return Report{}, err
	}
	s.wake()
	return s.withReportNames(ctx, out), nil
}

// ReportSteps lists the steps a may take on r now, in the order of
// ReportActions: what the lifecycle table allows in r's status, to the
// actor's role and organisation, and what the extension in r allows (one
// request at a time; approval only of a pending one). Inputs are not
// checked: a step listed may still be refused for what it sends.
func (a Actor) ReportSteps(r Report) []ReportAction {
	if !a.SeesReport(r) {
		return nil
	}
	var out []ReportAction
	for _, act := range ReportActions {
		step, ok := ReportLifecycle[r.Status][act]
		if !ok || a.mayTakeReportStep(r, step.Where) != nil {
			continue
		}
		switch act {
		case ReportExtend:
			if r.ExtensionDays > 0 {
				continue
			}
		case ReportApprove, ReportDeny:
			if r.ExtensionDays == 0 {
				continue
			}
		}
		out = append(out, act)
	}
	return out
}

// mayTakeReportStep checks who may take a step of the kind where.
func (a Actor) mayTakeReportStep(r Report, where ReportWhere) error {
	switch where {
	case ByCityCentre:
		if a.Role != RoleCityOfficer && a.Role != RoleSupervisor {
			return Forbidden("role_not_allowed", "only the city centre's officers and supervisors urge reports")
		}
		return nil
	case ByHolder:
		if !a.Role.HandlesReports() {
			return Forbidden("role_not_allowed", "your role does not handle reports")
		}
		if a.OrgID != r.HolderOrgID {
			return Forbidden("wrong_organisation", "the report is not held by your organisation")
		}
	case ByDispatcher:
		if !a.Role.HandlesReports() {
			return Forbidden("role_not_allowed", "your role does not handle reports")
		}
		owner := r.DispatcherID
		if owner == "" {
			owner = r.IntakeOrgID
		}
		if a.OrgID != owner {
			return Forbidden("not_dispatcher", "only the organisation that dispatched the report reviews, follows up or merges it")
		}
	}
	return nil
}

// mayDispatchTo checks a dispatch's target: any organisation of the
// dispatcher's own city — down, sideways, up, departments too — but a grid
// (grids report, they do not handle) and not the holder itself.
func (a Actor) mayDispatchTo(r Report, to Org) error {
	city := a.OrgPath[:min(len(a.OrgPath), PathLen(LevelCity))]
	switch {
	case !InSubtree(to.Path, city):
		return InvalidField("to_org_id", "outside_reach")
	case to.Level == LevelGrid:
		return InvalidField("to_org_id", "grid_cannot_handle")
	case to.ID == r.HolderOrgID:
		return InvalidField("to_org_id", "already_holds")
	}
	return nil
}

// Report reads one report.
func (s *Service) Report(ctx context.Context, a Actor, id string) (Report, error) {
	r, err := s.reportStore.Report(ctx, id)
	if err != nil {
		return Report{}, err
	}
	if !a.SeesReport(r) {
		return Report{}, NotFound("report")
	}
	return s.withReportNames(ctx, r), nil
}

// Reports lists reports in the actor's scope, newest first. Mine lists the
// actor's organisation's queue (what it holds) instead.
func (s *Service) Reports(ctx context.Context, a Actor, f ReportFilter, mine bool) ([]Report, error) {
	if !a.Role.Staff() {
		return nil, ErrForbidden
	}
	if a.Role != RoleAdmin {
		if f.Under == "" || !InSubtree(f.Under, a.OrgPath) {
			f.Under = a.OrgPath
		}
	}
	if mine {
		f.Holder = a.OrgID
	}
	f.Limit = clampLimit(f.Limit)
	f.Now = s.now()
	rs, err := s.reportStore.Reports(ctx, f)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		rs[i] = s.withReportNames(ctx, rs[i])
	}
	return rs, nil
}

// ReportEvents is a report's timeline.
func (s *Service) ReportEvents(ctx context.Context, a Actor, id string) ([]ReportEvent, error) {
	if _, err := s.Report(ctx, a, id); err != nil {
		return nil, err
	}
	evs, err := s.reportStore.ReportEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	for i := range evs {
		if o, err := s.org(ctx, evs[i].OrgID); err == nil {
			evs[i].OrgName = o.Name
		}
		if o, err := s.org(ctx, evs[i].ToOrgID); evs[i].ToOrgID != "" && err == nil {
			evs[i].ToOrgName = o.Name
		}
	}
	return evs, nil
}

// ReportPhoto is one of a report's photos, for staff who see the report.
func (s *Service) ReportPhoto(ctx context.Context, a Actor, id string, n int) (ReportPhoto, error) {
	if _, err := s.Report(ctx, a, id); err != nil {
		return ReportPhoto{}, err
	}
	return s.reportStore.ReportPhoto(ctx, id, n)
}

func (s *Service) withReportNames(ctx context.Context, r Report) Report {
	name := func(id string) string { return s.orgName(ctx, id) }
	r.IntakeName, r.HolderName, r.GridName = name(r.IntakeOrgID), name(r.HolderOrgID), name(r.GridID)
	r.DispatcherName, r.HandlerName = name(r.DispatcherID), name(r.HandlerOrgID)
	return r
}

// reportNotices: the receiving organisation's queue hears of a dispatch,
// the dispatcher of an answer or a send-back, the holder of an urge, and
// the reporter gets a text when the answer is accepted.
func (s *Service) reportNotices(ctx context.Context, r Report, ev ReportEvent) []Notice {
	var ns []Notice
	inbox := func(org, text string) {
		if org != "" {
			ns = append(ns, Notice{ID: "report." + r.ID + "." + itoa(ev.Seq) + "." + org, Channel: NoticeInbox, OrgID: org, CaseID: r.ID, CaseSeq: ev.Seq,
				Type: "report." + string(ev.Action), Text: text, At: ev.At})
		}
	}
	label := "民情件" + r.No
	switch ev.Action {
	case ReportDispatch:
		inbox(r.HolderOrgID, label+"已分派给本单位，请及时签收")
	case ReportSendBack:
		inbox(r.HolderOrgID, label+"被退回（分派有误）："+ev.Note)
	case ReportAnswer:
		inbox(r.DispatcherID, label+"已答复，请审核")
	case ReportReject:
		inbox(r.HolderOrgID, label+"的答复被退回，请重新办理："+ev.Note)
	case ReportExtend:
		inbox(r.DispatcherID, label+"申请延期"+itoa(ev.Days)+"个工作日，请审批")
	case ReportApprove, ReportDeny:
		inbox(r.HolderOrgID, label+ev.Action.Label())
	case ReportUrge:
		inbox(r.HolderOrgID, label+"被督办，请尽快办理")
	case ReportAccept:
		if r.Reporter.Phone != "" && mobileRE.MatchString(r.Reporter.Phone) {
			ns = append(ns, Notice{ID: "report." + r.ID + "." + itoa(ev.Seq) + ".sms", Channel: NoticeSMS, Phone: r.Reporter.Phone, CaseID: r.ID, CaseSeq: ev.Seq,
				Type: "report.answered", Text: "您反映的问题（编号" + r.No + "）已有答复，请凭编号和查询码查看。", At: ev.At})
		}
	}
	id := "report." + r.ID + "." + itoa(ev.Seq) + ".webhook"
	ns = append(ns, Notice{ID: id, Channel: NoticeWebhook, CaseID: r.ID, CaseSeq: ev.Seq,
		Type: "report." + string(ev.Action), Text: s.reportCloudEvent(ctx, r, ev, id), At: ev.At})
	return ns
}

// reportCloudEvent is a report's step as CloudEvents 1.0 JSON: what other
// systems may know of it, never the reporter's name, phone or place.
func (s *Service) reportCloudEvent(ctx context.Context, r Report, ev ReportEvent, id string) string {
	type data struct {
		ReportID string        `json:"report_id"`
		No       string        `json:"no"`
		Action   ReportAction  `json:"action"`
		Status   ReportStatus  `json:"status"`
		Category string        `json:"category"`
		Channel  ReportChannel `json:"channel"`
		Intake   string        `json:"intake_org"`
		Holder   string        `json:"holder_org"`
		Version  int           `json:"version"`
		DueAt    time.Time     `json:"due_at"`
	}
	return cloudEventJSON(id, "/daiban/reports", "report."+string(ev.Action), r.No, ev.At,
		data{r.ID, r.No, ev.Action, r.Status, r.Category, r.Channel, s.orgName(ctx, r.IntakeOrgID), s.orgName(ctx, r.HolderOrgID), r.Version, r.DueAt})
}

// PublicReport is what the reporter may read: never the reporter's name,
// phone or exact place, never photos or staff.
type PublicReport struct {
	No           string
	Status       ReportStatus
	Category     string
	Channel      ReportChannel
	RegisteredAt time.Time
	DueAt        time.Time
	Answer       string
	AnsweredAt   *time.Time
	ClosedAt     *time.Time
	MergedInto   string
	Timeline     []PublicReportStep
}

// PublicReportStep is one step as the public reads it: which organisation
// did what, never who.
type PublicReportStep struct {
	At      time.Time
	Action  ReportAction
	Status  ReportStatus
	OrgName string
	ToName  string
}

// StatusWords is the status as the reporter reads it: what is happening to
// their problem, not the office's stages.
func (p PublicReport) StatusWords() string {
	switch p.Status {
	case ReportRegistered:
		return "已收到，正在安排办理单位"
	case ReportDispatched:
		return "已转交办理单位"
	case ReportHandling:
		return "正在办理"
	case ReportAnswered:
		return "已办理，答复正在审核"
	case ReportFollowUp:
		return "已答复，将电话回访您"
	case ReportClosed:
		return "已办结"
	case ReportMerged:
		return "与相同问题合并办理"
	}
	return p.Status.Label()
}

// LookupReport answers the reporter's query by number and code, with the
// budgets of the receipt lookup.
func (s *Service) LookupReport(ctx context.Context, no, code, client string) (PublicReport, error) {
	n, err := ParseReceiptNo(no)
	if err != nil {
		return PublicReport{}, err
	}
	var r Report
	if err := s.checkPublicCode(ctx, n, code, client, "number", func() (string, bool, error) {
		var err error
		r, err = s.reportStore.ReportByNo(ctx, n)
		if isNotFound(err) {
			return "", false, nil
		}
		return r.VerifyCode, err == nil, err
	}, errNoReport); err != nil {
		return PublicReport{}, err
	}
	p := PublicReport{No: r.No, Status: r.Status, Category: r.Category, Channel: r.Channel,
		RegisteredAt: r.RegisteredAt, DueAt: r.DueAt, MergedInto: r.MergedInto, ClosedAt: r.ClosedAt}
	// The answer is the reporter's once the dispatcher has accepted it.
	if r.Status == ReportFollowUp || r.Status == ReportClosed {
		p.Answer, p.AnsweredAt = r.Answer, r.AnsweredAt
	}
	evs, err := s.reportStore.ReportEvents(ctx, r.ID)
	if err != nil {
		return PublicReport{}, err
	}
	for _, ev := range evs {
		if ev.Action == ReportExtend || ev.Action == ReportDeny || ev.Action == ReportReject {
			continue // the office's own back and forth
		}
		st := PublicReportStep{At: ev.At, Action: ev.Action, Status: ev.To}
		if o, err := s.org(ctx, ev.OrgID); err == nil {
			st.OrgName = o.Name
		}
		if o, err := s.org(ctx, ev.ToOrgID); ev.ToOrgID != "" && err == nil {
			st.ToName = o.Name
		}
		p.Timeline = append(p.Timeline, st)
	}
	return p, nil
}

var errNoReport = &Error{Kind: KindNotFound, Code: "report_not_found", Detail: "no report with this number and code; check both against what you were given"}

// ReportWarning is an open report with one working day or less left
// (yellow) or past due (red), as errands are warned of.
type ReportWarning struct {
	Report Report
	Level  string // "yellow" or "red"
}

// ReportWarnings lists the caller's open reports due by the end of the
// next working day, soonest first, a page at a time; cursor is the last
// page's NextReportWarning.
func (s *Service) ReportWarnings(ctx context.Context, a Actor, cursor string, limit int) ([]ReportWarning, string, error) {
	if !a.Role.Staff() {
		return nil, "", ErrForbidden
	}
	cal, err := s.calendar(ctx)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	f := ReportFilter{Under: a.ListUnder(), ByDue: true, DueBy: cal.AddWorkingDays(DateOf(now), 1).End(), Limit: clampLimit(limit), Now: now}
	if cursor != "" {
		due, id, ok := strings.Cut(cursor, ",")
		t, err := time.Parse(time.RFC3339Nano, due)
		if !ok || err != nil || id == "" {
			return nil, "", BadParam("cursor", "invalid_cursor")
		}
		f.AfterDue, f.After = t, id
	}
	rs, err := s.reportStore.Reports(ctx, f)
	if err != nil {
		return nil, "", err
	}
	out := make([]ReportWarning, len(rs))
	for i, r := range rs {
		out[i] = ReportWarning{Report: s.withReportNames(ctx, r), Level: "yellow"}
		if now.After(r.DueAt) {
			out[i].Level = "red"
		}
	}
	next := ""
	if n := len(rs); n == f.Limit {
		next = rs[n-1].DueAt.UTC().Format(time.RFC3339Nano) + "," + rs[n-1].ID
	}
	return out, next, nil
}
