package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"daiban/service"
)

// reportRow is the reports table's shape of a service.Report.
type reportRow struct {
	ID                string
	No                string
	VerifyCode        string
	Channel           string
	Category          string
	Urgency           string
	Text              string
	Address           string
	GridID            string
	GridPath          string
	Lat               *float64
	Lng               *float64
	ReporterName      string
	ReporterPhone     string
	ReporterAnonymous bool
	Photos            int
	IntakeOrgID       string
	IntakePath        string
	CreatedBy         string
	HolderOrgID       string
	HolderPath        string
	DispatcherID      string
	DispatcherPath    string
	HandlerOrgID      string
	HandlerPath       string
	Status            string
	Version           int
	RegisteredAt      time.Time
	RegisteredMonth   string
	DueAt             time.Time
	DispatchedAt      *time.Time
	ResponseDueAt     *time.Time
	Answer            string
	AnsweredAt        *time.Time
	ExtensionDays     int
	Satisfaction      int
	Unreachable       bool
	ClosedAt          *time.Time
	MergedInto        string
	UpdatedAt         time.Time
	Responses         int
	ResponsesOnTime   int
	AnsweredOnTime    bool
	HeadHash          string
}

// The reports table's columns in the order of reportRow's fields.
const reportColumns = `id, no, verify_code, channel, category, urgency, text, address, grid_id, grid_path,
	lat, lng, reporter_name, reporter_phone, reporter_anonymous, photos, intake_org_id, intake_path, created_by,
	holder_org_id, holder_path, dispatcher_id, dispatcher_path, handler_org_id, handler_path, status, version,
	registered_at, registered_month, due_at, dispatched_at, response_due_at, answer, answered_at, extension_days,
	satisfaction, unreachable, closed_at, merged_into, updated_at, responses, responses_on_time, answered_on_time, head_hash`

// targets are pointers to r's fields in the order of reportColumns, for Scan.
func (r *reportRow) targets() []any {
	return []any{&r.ID, &r.No, &r.VerifyCode, &r.Channel, &r.Category, &r.Urgency, &r.Text, &r.Address, &r.GridID, &r.GridPath,
		&r.Lat, &r.Lng, &r.ReporterName, &r.ReporterPhone, &r.ReporterAnonymous, &r.Photos, &r.IntakeOrgID, &r.IntakePath, &r.CreatedBy,
		&r.HolderOrgID, &r.HolderPath, &r.DispatcherID, &r.DispatcherPath, &r.HandlerOrgID, &r.HandlerPath, &r.Status, &r.Version,
		&r.RegisteredAt, &r.RegisteredMonth, &r.DueAt, &r.DispatchedAt, &r.ResponseDueAt, &r.Answer, &r.AnsweredAt, &r.ExtensionDays,
		&r.Satisfaction, &r.Unreachable, &r.ClosedAt, &r.MergedInto, &r.UpdatedAt, &r.Responses, &r.ResponsesOnTime, &r.AnsweredOnTime, &r.HeadHash}
}

func fromReport(r service.Report) reportRow {
	return reportRow{
		ID: r.ID, No: r.No, VerifyCode: r.VerifyCode, Channel: string(r.Channel), Category: r.Category,
		Urgency: string(r.Urgency), Text: r.Text, Address: r.Address, GridID: r.GridID, GridPath: r.GridPath,
		Lat: copyFloat(r.Lat), Lng: copyFloat(r.Lng),
		ReporterName: r.Reporter.Name, ReporterPhone: r.Reporter.Phone, ReporterAnonymous: r.Reporter.Anonymous,
		Photos: r.Photos, IntakeOrgID: r.IntakeOrgID, IntakePath: r.IntakePath, CreatedBy: r.CreatedBy,
		HolderOrgID: r.HolderOrgID, HolderPath: r.HolderPath, DispatcherID: r.DispatcherID, DispatcherPath: r.DispatcherPath,
		HandlerOrgID: r.HandlerOrgID, HandlerPath: r.HandlerPath, Status: string(r.Status), Version: r.Version,
		RegisteredAt: utc(r.RegisteredAt), RegisteredMonth: r.RegisteredAt.In(service.Shanghai).Format("2006-01"),
		DueAt: utc(r.DueAt), DispatchedAt: ptimeOf(r.DispatchedAt), ResponseDueAt: ptimeOf(r.ResponseDueAt),
		Answer: r.Answer, AnsweredAt: ptimeOf(r.AnsweredAt), ExtensionDays: r.ExtensionDays, Satisfaction: r.Satisfaction,
		Unreachable: r.Unreachable, ClosedAt: ptimeOf(r.ClosedAt), MergedInto: r.MergedInto, UpdatedAt: utc(r.UpdatedAt),
		Responses: r.Responses, ResponsesOnTime: r.ResponsesOnTime, AnsweredOnTime: r.AnsweredOnTime, HeadHash: r.HeadHash,
	}
}

func toReport(r reportRow) service.Report {
	return service.Report{
		ID: r.ID, No: r.No, VerifyCode: r.VerifyCode, Channel: service.ReportChannel(r.Channel), Category: r.Category,
		Urgency: service.Urgency(r.Urgency), Text: r.Text, Address: r.Address, GridID: r.GridID, GridPath: r.GridPath,
		Lat: r.Lat, Lng: r.Lng,
		Reporter: service.Reporter{Name: r.ReporterName, Phone: r.ReporterPhone, Anonymous: r.ReporterAnonymous},
		Photos:   r.Photos, IntakeOrgID: r.IntakeOrgID, IntakePath: r.IntakePath, CreatedBy: r.CreatedBy,
		HolderOrgID: r.HolderOrgID, HolderPath: r.HolderPath, DispatcherID: r.DispatcherID, DispatcherPath: r.DispatcherPath,
		HandlerOrgID: r.HandlerOrgID, HandlerPath: r.HandlerPath, Status: service.ReportStatus(r.Status), Version: r.Version,
		RegisteredAt: r.RegisteredAt.UTC(), DueAt: r.DueAt.UTC(), DispatchedAt: utcPtr(r.DispatchedAt),
		ResponseDueAt: utcPtr(r.ResponseDueAt), Answer: r.Answer, AnsweredAt: utcPtr(r.AnsweredAt),
		ExtensionDays: r.ExtensionDays, Satisfaction: r.Satisfaction, Unreachable: r.Unreachable, ClosedAt: utcPtr(r.ClosedAt),
		MergedInto: r.MergedInto, UpdatedAt: r.UpdatedAt.UTC(),
		Responses: r.Responses, ResponsesOnTime: r.ResponsesOnTime, AnsweredOnTime: r.AnsweredOnTime, HeadHash: r.HeadHash,
	}
}

// ptimeOf is a nullable time for storage: nil stays nil (a zero time too).
func ptimeOf(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return ptime(*t)
}

// utcPtr is a nullable time as read back.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// copyFloat keeps the row from sharing the caller's coordinate.
func copyFloat(f *float64) *float64 {
	if f == nil {
		return nil
	}
	v := *f
	return &v
}

type reportEventRow struct {
	ReportID   string
	Seq        int
	Action     string
	FromStatus string
	ToStatus   string
	ActorID    string
	ActorName  string
	ActorRole  string
	OrgID      string
	ToOrgID    string
	At         time.Time
	Note       string
	Grade      int
	Days       int
	DueAt      *time.Time
	PrevHash   string
	Hash       string
}

// The report_events table's columns in the order of reportEventRow's fields.
const reportEventColumns = `report_id, seq, action, from_status, to_status, actor_id, actor_name, actor_role,
	org_id, to_org_id, at, note, grade, days, due_at, prev_hash, hash`

func (r *reportEventRow) targets() []any {
	return []any{&r.ReportID, &r.Seq, &r.Action, &r.FromStatus, &r.ToStatus, &r.ActorID, &r.ActorName, &r.ActorRole,
		&r.OrgID, &r.ToOrgID, &r.At, &r.Note, &r.Grade, &r.Days, &r.DueAt, &r.PrevHash, &r.Hash}
}

func fromReportEvent(ev service.ReportEvent) reportEventRow {
	return reportEventRow{
		ReportID: ev.ReportID, Seq: ev.Seq, Action: string(ev.Action), FromStatus: string(ev.From), ToStatus: string(ev.To),
		ActorID: ev.ActorID, ActorName: ev.ActorName, ActorRole: string(ev.ActorRole), OrgID: ev.OrgID, ToOrgID: ev.ToOrgID,
		At: utc(ev.At), Note: ev.Note, Grade: ev.Grade, Days: ev.Days, DueAt: ptime(ev.DueAt), PrevHash: ev.PrevHash, Hash: ev.Hash,
	}
}

func toReportEvent(r reportEventRow) service.ReportEvent {
	return service.ReportEvent{
		ReportID: r.ReportID, Seq: r.Seq, Action: service.ReportAction(r.Action),
		From: service.ReportStatus(r.FromStatus), To: service.ReportStatus(r.ToStatus),
		ActorID: r.ActorID, ActorName: r.ActorName, ActorRole: service.Role(r.ActorRole), OrgID: r.OrgID, ToOrgID: r.ToOrgID,
		At: r.At.UTC(), Note: r.Note, Grade: r.Grade, Days: r.Days, DueAt: unptime(r.DueAt), PrevHash: r.PrevHash, Hash: r.Hash,
	}
}

var (
	reportInsertSQL      = `INSERT INTO reports (` + reportColumns + `) VALUES (` + placeholders(reportColumns) + `)`
	reportEventInsertSQL = `INSERT INTO report_events (` + reportEventColumns + `) VALUES (` + placeholders(reportEventColumns) + `)`
	reportPhotoInsertSQL = `INSERT INTO report_photos (report_id, n, content_type, data) VALUES (?, ?, ?, ?)`
	// reportUpdateSQL writes every column but the id; the caller adds the
	// id and the version read, so a row that moved meanwhile is left alone.
	reportUpdateSQL = `UPDATE reports SET ` + assignments(strings.SplitN(reportColumns, ",", 2)[1]) + ` WHERE id = ? AND version = ?`

	reportColumnsR = prefixed("r.", reportColumns)
	// reportNames are the organisations' names a reader wants beside a
	// report, in the order of Report's display fields.
	reportNames = `COALESCE(io.name, ''), COALESCE(ho.name, ''), COALESCE(gro.name, ''), COALESCE(dpo.name, ''), COALESCE(hdo.name, '')`
	reportJoins = ` FROM reports r
		LEFT JOIN orgs io ON io.id = r.intake_org_id
		LEFT JOIN orgs ho ON ho.id = r.holder_org_id
		LEFT JOIN orgs gro ON gro.id = r.grid_id
		LEFT JOIN orgs dpo ON dpo.id = r.dispatcher_id
		LEFT JOIN orgs hdo ON hdo.id = r.handler_org_id`
	reportSelect = `SELECT ` + reportColumnsR + `, ` + reportNames + reportJoins
)

// assignments is "col = ?" for each column of a written-out column list.
func assignments(columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c) + " = ?"
	}
	return strings.Join(cols, ", ")
}

// CreateReport inserts a registration with its first event, its photos and
// its notices, in one transaction.
func (s *Store) CreateReport(ctx context.Context, r service.Report, ev service.ReportEvent, photos []service.ReportPhoto, ns []service.Notice) error {
	row, evRow := fromReport(r), fromReportEvent(ev)
	rowArgs, evArgs := values(row.targets()), values(evRow.targets())
	err := s.write(ctx, func(tx *gorm.DB) error {
		if _, err := s.exec(tx, reportInsertSQL, rowArgs...); err != nil {
			return err
		}
		if _, err := s.exec(tx, reportEventInsertSQL, evArgs...); err != nil {
			return err
		}
		for _, p := range photos {
			if _, err := s.exec(tx, reportPhotoInsertSQL, r.ID, p.N, p.ContentType, p.Data); err != nil {
				return err
			}
		}
		return s.addNotices(tx, ns)
	})
	return translate(err, "report")
}

// UpdateReport runs one step: it loads the report, lets fn decide, then
// writes the row only if its version is unchanged, appends the event and
// adds the notices. An error of fn's is returned as it is, with nothing
// written.
func (s *Store) UpdateReport(ctx context.Context, id string, fn func(*service.Report) (service.ReportEvent, []service.Notice, error)) error {
	var fnErr error
	err := s.write(ctx, func(tx *gorm.DB) error {
		fnErr = nil
		var r reportRow
		if err := s.txRow(tx, `SELECT `+reportColumns+` FROM reports WHERE id = ?`, []any{id}, r.targets()...); err != nil {
			return translate(err, "report")
		}
		before := toReport(r)
		cur := before
		ev, ns, err := fn(&cur)
		if err != nil {
			fnErr = err
			return err
		}
		after := fromReport(cur)
		args := values(after.targets())[1:] // every column but the id
		res, err := s.exec(tx, reportUpdateSQL, append(args, id, before.Version)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var v int
			if err := s.txRow(tx, `SELECT version FROM reports WHERE id = ?`, []any{id}, &v); err != nil {
				return translate(err, "report")
			}
			return service.VersionConflict(v)
		}
		evRow := fromReportEvent(ev)
		if _, err := s.exec(tx, reportEventInsertSQL, values(evRow.targets())...); err != nil {
			return err
		}
		return s.addNotices(tx, ns)
	})
	var se *service.Error
	if err == nil || (fnErr != nil && err == fnErr) || errors.As(err, &se) {
		return err
	}
	return translate(err, "report")
}

// Report reads one report with its names.
func (s *Store) Report(ctx context.Context, id string) (service.Report, error) {
	return s.reportWhere(ctx, "r.id = ?", id)
}

// ReportByNo reads one report by its receipt number.
func (s *Store) ReportByNo(ctx context.Context, no string) (service.Report, error) {
	return s.reportWhere(ctx, "r.no = ?", no)
}

func (s *Store) reportWhere(ctx context.Context, cond string, arg any) (service.Report, error) {
	var v reportView
	if err := s.queryRow(ctx, reportSelect+` WHERE `+cond, []any{arg}, v.targets()...); err != nil {
		return service.Report{}, translate(err, "report")
	}
	return v.report(), nil
}

// reportView is a report row with the organisations' names.
type reportView struct {
	Row                                                           reportRow
	IntakeName, HolderName, GridName, DispatcherName, HandlerName string
}

func (v *reportView) targets() []any {
	return append(v.Row.targets(), &v.IntakeName, &v.HolderName, &v.GridName, &v.DispatcherName, &v.HandlerName)
}

func (v *reportView) report() service.Report {
	r := toReport(v.Row)
	r.IntakeName, r.HolderName, r.GridName, r.DispatcherName, r.HandlerName = v.IntakeName, v.HolderName, v.GridName, v.DispatcherName, v.HandlerName
	return r
}

// reportScope is the condition of a report lying in the subtree of under
// by any of the organisations it passed through, with its arguments.
func reportScope(under string) (string, []any) {
	lo, hi := service.PathRange(under)
	cols := []string{"r.intake_path", "r.grid_path", "r.holder_path", "r.dispatcher_path", "r.handler_path"}
	conds := make([]string, len(cols))
	var args []any
	for i, c := range cols {
		conds[i] = "(" + c + " >= ? AND " + c + " < ?)"
		args = append(args, lo, hi)
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// Reports lists the reports f selects, newest first, one page.
func (s *Store) Reports(ctx context.Context, f service.ReportFilter) ([]service.Report, error) {
	var conds []string
	var args []any
	where := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if f.Under != "" {
		cond, a := reportScope(f.Under)
		where(cond, a...)
	}
	if f.Holder != "" {
		where("r.holder_org_id = ?", f.Holder)
	}
	if f.Creator != "" {
		where("r.created_by = ?", f.Creator)
	}
	if len(f.Status) > 0 {
		st := make([]string, len(f.Status))
		for i, x := range f.Status {
			st[i] = string(x)
		}
		where("r.status IN ?", st)
	}
	if f.Category != "" {
		where("r.category = ?", f.Category)
	}
	if f.Channel != "" {
		where("r.channel = ?", string(f.Channel))
	}
	if !f.From.IsZero() {
		where("r.registered_at >= ?", utc(f.From))
	}
	if !f.To.IsZero() {
		where("r.registered_at < ?", utc(f.To))
	}
	if f.Overdue {
		where("r.status NOT IN ('closed', 'merged') AND r.due_at < ?", utc(f.Now))
	}
	if !f.DueBy.IsZero() {
		where("r.status NOT IN ('closed', 'merged') AND r.due_at <= ?", utc(f.DueBy))
	}
	order := " ORDER BY r.id DESC"
	switch {
	case f.ByDue:
		order = " ORDER BY r.due_at, r.id"
		if f.After != "" {
			where("(r.due_at > ? OR r.due_at = ? AND r.id > ?)", utc(f.AfterDue), utc(f.AfterDue), f.After)
		}
	case f.After != "":
		where("r.id < ?", f.After)
	}
	q := reportSelect
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += order
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.read(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []service.Report
	for rows.Next() {
		var v reportView
		if err := rows.Scan(v.targets()...); err != nil {
			return nil, err
		}
		out = append(out, v.report())
	}
	return out, rows.Err()
}

// ReportEvents reads a report's timeline, oldest first, with organisation names.
func (s *Store) ReportEvents(ctx context.Context, reportID string) ([]service.ReportEvent, error) {
	rows, err := s.queryRows(ctx, `SELECT `+prefixed("ev.", reportEventColumns)+`, COALESCE(o.name, ''), COALESCE(t.name, '')
		FROM report_events ev LEFT JOIN orgs o ON o.id = ev.org_id LEFT JOIN orgs t ON t.id = ev.to_org_id
		WHERE ev.report_id = ? ORDER BY ev.seq`, reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []service.ReportEvent
	for rows.Next() {
		var r reportEventRow
		var orgName, toOrgName string
		if err := rows.Scan(append(r.targets(), &orgName, &toOrgName)...); err != nil {
			return nil, err
		}
		ev := toReportEvent(r)
		ev.OrgName, ev.ToOrgName = orgName, toOrgName
		out = append(out, ev)
	}
	return out, rows.Err()
}

// ReportPhoto reads one photo of a report.
func (s *Store) ReportPhoto(ctx context.Context, reportID string, n int) (service.ReportPhoto, error) {
	p := service.ReportPhoto{ReportID: reportID, N: n}
	err := s.queryRow(ctx, `SELECT content_type, data FROM report_photos WHERE report_id = ? AND n = ?`, []any{reportID, n}, &p.ContentType, &p.Data)
	if err != nil {
		return service.ReportPhoto{}, translate(err, "photo")
	}
	return p, nil
}

// reportCountsSQL are the sums of service.ReportCounts, in its order; the
// one argument is the time that makes an open report overdue.
const reportCountsSQL = `COUNT(*),
	COALESCE(SUM(CASE WHEN r.status = 'closed' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN r.status = 'closed' AND r.answered_on_time THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(r.responses), 0),
	COALESCE(SUM(r.responses_on_time), 0),
	COALESCE(SUM(CASE WHEN r.status = 'closed' AND r.satisfaction > 0 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN r.status = 'closed' AND r.unreachable THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN r.satisfaction = 1 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN r.satisfaction = 2 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN r.satisfaction = 3 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN r.satisfaction = 4 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN r.satisfaction = 5 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN r.status = 'closed' AND r.satisfaction > 0 THEN r.satisfaction ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN r.status <> 'closed' AND r.due_at < ? THEN 1 ELSE 0 END), 0)`

// reportGroupKeys are the columns each grouping groups by.
var reportGroupKeys = map[service.ReportGroupBy]string{
	service.ReportGroupOrg:      "r.handler_org_id",
	service.ReportGroupCategory: "r.category",
	service.ReportGroupChannel:  "r.channel",
	service.ReportGroupGrid:     "r.grid_id",
	service.ReportGroupMonth:    "r.registered_month",
}

// ReportStats counts the reports registered in [q.From, q.To) under q.Under
// (merged ones are not accepted), in one aggregate. Reports are scoped by
// where they were registered, except by organisation, where they are
// scoped and grouped by the organisation that signed for them last.
func (s *Store) ReportStats(ctx context.Context, q service.ReportStatsQuery) ([]service.ReportStatsRow, error) {
	key := "''"
	if q.GroupBy != service.ReportGroupNone {
		k, ok := reportGroupKeys[q.GroupBy]
		if !ok {
			return nil, errors.New("store: unknown report grouping " + string(q.GroupBy))
		}
		key = k
	}
	args := []any{utc(q.Now)}
	conds := []string{"r.status <> 'merged'"}
	if !q.From.IsZero() {
		conds = append(conds, "r.registered_at >= ?")
		args = append(args, utc(q.From))
	}
	if !q.To.IsZero() {
		conds = append(conds, "r.registered_at < ?")
		args = append(args, utc(q.To))
	}
	if q.Under != "" {
		col := "r.intake_path"
		if q.GroupBy == service.ReportGroupOrg {
			col = "r.handler_path"
		}
		lo, hi := service.PathRange(q.Under)
		conds = append(conds, col+" >= ? AND "+col+" < ?")
		args = append(args, lo, hi)
	}
	sqlText := `SELECT ` + key + `, ` + reportCountsSQL + ` FROM reports r WHERE ` + strings.Join(conds, " AND ")
	if q.GroupBy != service.ReportGroupNone {
		sqlText += ` GROUP BY ` + key + ` ORDER BY ` + key
	}
	rows, err := s.read(ctx).Raw(sqlText, args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []service.ReportStatsRow
	for rows.Next() {
		var row service.ReportStatsRow
		var k sql.NullString
		c := &row.ReportCounts
		if err := rows.Scan(&k, &c.Accepted, &c.Closed, &c.ClosedOnTime, &c.Responses, &c.ResponsesOnTime,
			&c.FollowedUp, &c.Unreachable, &c.Grades[0], &c.Grades[1], &c.Grades[2], &c.Grades[3], &c.Grades[4],
			&c.GradeSum, &c.OverdueOpen); err != nil {
			return nil, err
		}
		row.Key = k.String
		out = append(out, row)
	}
	return out, rows.Err()
}
