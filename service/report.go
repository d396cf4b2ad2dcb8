package service

import (
	"context"
	"encoding/hex"
	"strconv"
	"time"
)

// A report (民情件) is what a resident raises about public life: a broken
// street lamp, a neighbours' quarrel, an unpaid wage. It comes in on one of
// four channels, is registered where it came in, dispatched (批转) to the
// organisation that can solve it, answered (反馈) to the reporter, and
// followed up (回访). Reports share the organisation tree, the working-day
// calendar, the receipt numbers, the public lookup and its throttle, the
// hash-chained events and the version checks with errands; their
// lifecycle, deadlines and statistics are their own.

// ReportChannel is how a report came in.
type ReportChannel string

const (
	ReportByGrid    ReportChannel = "grid"    // a grid inspector (or the village agent) in the field
	ReportByHotline ReportChannel = "hotline" // a call to the 12319 hotline
	ReportByApp     ReportChannel = "app"     // the 爱长乐 app
	ReportByWeb     ReportChannel = "web"     // the public web form
)

// ReportChannels lists the channels.
var ReportChannels = []ReportChannel{ReportByGrid, ReportByHotline, ReportByApp, ReportByWeb}

// Label is the channel's Chinese name.
func (c ReportChannel) Label() string {
	switch c {
	case ReportByGrid:
		return "网格员上报"
	case ReportByHotline:
		return "12319热线"
	case ReportByApp:
		return "爱长乐APP"
	case ReportByWeb:
		return "网站"
	}
	return string(c)
}

// Urgency sets how a report's deadline is counted.
type Urgency string

const (
	UrgencyOrdinary Urgency = "ordinary" // the limit counts working days
	UrgencyUrgent   Urgency = "urgent"   // the limit counts working hours
)

// ReportCategory is a kind of report with its limits.
type ReportCategory struct {
	Code        string
	Name        string
	Days        int // working days to answer an ordinary report
	UrgentHours int // working hours to answer an urgent one
}

// ReportCategories are the kinds of report, with the limits to answer them.
var ReportCategories = []ReportCategory{
	{"environment", "环境卫生", 5, 4},
	{"order", "市容秩序", 5, 4},
	{"traffic", "道路交通", 7, 4},
	{"facility", "公共设施", 10, 8},
	{"safety", "治安消防", 3, 2},
	{"labour", "劳动社保", 10, 8},
	{"dispute", "邻里纠纷", 7, 4},
	{"policy", "政策咨询", 3, 4},
	{"other", "其他", 10, 8},
}

// ReportCategoryByCode finds a category.
func ReportCategoryByCode(code string) (ReportCategory, bool) {
	for _, c := range ReportCategories {
		if c.Code == code {
			return c, true
		}
	}
	return ReportCategory{}, false
}

// Response limits: a dispatched report is signed for (签收) or sent back
// within one working hour when urgent, four (half a working day) when not.
const (
	UrgentResponseHours   = 1
	OrdinaryResponseHours = 4
)

// ReportStatus is where a report stands.
type ReportStatus string

const (
	ReportRegistered ReportStatus = "registered" // held where it came in, or sent back to its dispatcher
	ReportDispatched ReportStatus = "dispatched" // 批转 to an organisation, not yet signed for
	ReportHandling   ReportStatus = "handling"   // signed for (签收) and being handled
	ReportAnswered   ReportStatus = "answered"   // the handler's reply awaits the dispatcher's review
	ReportFollowUp   ReportStatus = "follow_up"  // answer accepted; the reporter is to be called back (回访)
	ReportClosed     ReportStatus = "closed"     // followed up: 办结
	ReportMerged     ReportStatus = "merged"     // a duplicate, merged into another report
)

// ReportStatuses lists every status in lifecycle order.
var ReportStatuses = []ReportStatus{ReportRegistered, ReportDispatched, ReportHandling, ReportAnswered, ReportFollowUp, ReportClosed, ReportMerged}

// Open reports whether the report's deadline still runs.
func (s ReportStatus) Open() bool {
	return s != ReportClosed && s != ReportMerged
}

// Label is the status in plain words.
func (s ReportStatus) Label() string {
	switch s {
	case ReportRegistered:
		return "已登记，待分派"
	case ReportDispatched:
		return "已分派，待签收"
	case ReportHandling:
		return "办理中"
	case ReportAnswered:
		return "已答复，待审核"
	case ReportFollowUp:
		return "待回访"
	case ReportClosed:
		return "已办结"
	case ReportMerged:
		return "已并入其他诉求"
	}
	return string(s)
}

// ReportAction is a step of a report's lifecycle.
type ReportAction string

const (
	ReportRegister ReportAction = "register"
	ReportDispatch ReportAction = "dispatch"  // 批转 to an organisation the dispatcher may reach
	ReportSign     ReportAction = "sign"      // 签收 by the organisation it was dispatched to
	ReportSendBack ReportAction = "send_back" // 退回: wrongly dispatched, back to the dispatcher
	ReportAnswer   ReportAction = "answer"    // 反馈: the reply to the reporter
	ReportAccept   ReportAction = "accept"    // the dispatcher accepts the answer
	ReportReject   ReportAction = "reject"    // the dispatcher sends it back to be handled again
	ReportClose    ReportAction = "close"     // 回访 done: the reporter's grade, or unreachable
	ReportMerge    ReportAction = "merge"     // a duplicate of another report
	ReportExtend   ReportAction = "request_extension"
	ReportApprove  ReportAction = "approve_extension"
	ReportDeny     ReportAction = "deny_extension"
	ReportUrge     ReportAction = "urge" // 督办 by the city centre; the status stays
)

// ReportActions lists every step taken on an existing report.
var ReportActions = []ReportAction{ReportDispatch, ReportSign, ReportSendBack, ReportAnswer, ReportAccept, ReportReject, ReportClose, ReportMerge, ReportExtend, ReportApprove, ReportDeny, ReportUrge}

// Label is the step as the timeline shows it.
func (a ReportAction) Label() string {
	switch a {
	case ReportRegister:
		return "登记"
	case ReportDispatch:
		return "批转"
	case ReportSign:
		return "签收"
	case ReportSendBack:
		return "退回（分派有误）"
	case ReportAnswer:
		return "答复"
	case ReportAccept:
		return "审核通过答复"
	case ReportReject:
		return "答复退回重办"
	case ReportClose:
		return "回访办结"
	case ReportMerge:
		return "作为重复件合并"
	case ReportExtend:
		return "申请延期"
	case ReportApprove:
		return "批准延期"
	case ReportDeny:
		return "不批准延期"
	case ReportUrge:
		return "督办"
	}
	return string(a)
}

// ReportWhere says whose step it is.
type ReportWhere int

const (
	ByHolder     ReportWhere = iota + 1 // the organisation holding the report
	ByDispatcher                        // the organisation that dispatched it last
	ByCityCentre                        // the city centre, over its whole city
)

// ReportStep is one entry of the report lifecycle.
type ReportStep struct {
	To    ReportStatus
	Where ReportWhere
}

// ReportLifecycle is the whole transition table: status × action → step;
// anything not in it is refused with a conflict. Holder and dispatcher
// steps are taken by the staff of that organisation who handle reports
// (HandlesReports); urging by a city officer or a supervisor.
var ReportLifecycle = map[ReportStatus]map[ReportAction]ReportStep{
	ReportRegistered: {
		ReportDispatch: {ReportDispatched, ByHolder},
		ReportMerge:    {ReportMerged, ByHolder},
		ReportUrge:     {ReportRegistered, ByCityCentre},
	},
	ReportDispatched: {
		ReportSign:     {ReportHandling, ByHolder},
		ReportSendBack: {ReportRegistered, ByHolder},
		ReportMerge:    {ReportMerged, ByDispatcher},
		ReportUrge:     {ReportDispatched, ByCityCentre},
	},
	ReportHandling: {
		ReportAnswer:   {ReportAnswered, ByHolder},
		ReportDispatch: {ReportDispatched, ByHolder},
		ReportExtend:   {ReportHandling, ByHolder},
		ReportApprove:  {ReportHandling, ByDispatcher},
		ReportDeny:     {ReportHandling, ByDispatcher},
		ReportMerge:    {ReportMerged, ByDispatcher},
		ReportUrge:     {ReportHandling, ByCityCentre},
	},
	ReportAnswered: {
		ReportAccept: {ReportFollowUp, ByDispatcher},
		ReportReject: {ReportHandling, ByDispatcher},
		ReportUrge:   {ReportAnswered, ByCityCentre},
	},
	ReportFollowUp: {
		ReportClose: {ReportClosed, ByDispatcher},
		ReportUrge:  {ReportFollowUp, ByCityCentre},
	},
}

// HandlesReports reports whether the role holds, dispatches and answers
// reports for its organisation: a village agent, a township officer, a
// city officer or hotline operator at the city centre, a department
// officer. Grid inspectors only report; supervisors only urge.
func (r Role) HandlesReports() bool {
	switch r {
	case RoleAgent, RoleTownshipOfficer, RoleCityOfficer, RoleHotlineOperator, RoleDepartmentOfficer:
		return true
	}
	return false
}

// Reporter is who raised a report. A hotline caller may stay anonymous:
// no name is kept, the phone only to answer them.
type Reporter struct {
	Name      string
	Phone     string
	Anonymous bool
}

// Report is a 民情件.
type Report struct {
	ID         string
	No         string // a receipt number: unique with the errands'
	VerifyCode string // 6 digits, to follow it on the public page
	Channel    ReportChannel
	Category   string
	Urgency    Urgency
	Text       string
	Address    string
	GridID     string
	GridPath   string
	Lat, Lng   *float64
	Reporter   Reporter
	Photos     int

	IntakeOrgID    string // where it was registered
	IntakePath     string
	CreatedBy      string // the user who registered it ("" from the public form)
	HolderOrgID    string
	HolderPath     string
	DispatcherID   string // the organisation that dispatched it last ("" before any dispatch)
	DispatcherPath string
	HandlerOrgID   string // the organisation that signed for it last
	HandlerPath    string

	Status        ReportStatus
	Version       int
	RegisteredAt  time.Time
	DueAt         time.Time
	DispatchedAt  *time.Time
	ResponseDueAt *time.Time
	Answer        string
	AnsweredAt    *time.Time
	ExtensionDays int // requested and awaiting the dispatcher, 0 if none
	Satisfaction  int // the reporter's grade at follow-up, 1–5; 0 if none
	Unreachable   bool
	ClosedAt      *time.Time
	MergedInto    string // the report number this one was merged into
	UpdatedAt     time.Time

	// Kept for the statistics: dispatches signed for or sent back, those
	// within the response limit, and whether the last answer was on time.
	Responses       int
	ResponsesOnTime int
	AnsweredOnTime  bool

	HeadHash string

	// Filled on reads for display.
	IntakeName, HolderName, GridName, DispatcherName, HandlerName string
}

// ReportEvent is one step of a report, chained by hash like an errand's.
type ReportEvent struct {
	ReportID  string
	Seq       int
	Action    ReportAction
	From      ReportStatus
	To        ReportStatus
	ActorID   string
	ActorName string
	ActorRole Role
	OrgID     string
	ToOrgID   string
	At        time.Time
	Note      string
	Grade     int // close: the reporter's satisfaction grade
	Days      int // request_extension, approve_extension: working days
	DueAt     time.Time

	PrevHash string
	Hash     string

	// Filled on reads for display.
	OrgName, ToOrgName string
}

// ComputeHash is the event's chain hash, computed as an errand event's is.
func (ev *ReportEvent) ComputeHash() string {
	h, put := chainHasher()
	put(ev.PrevHash)
	put(ev.ReportID)
	put(strconv.Itoa(ev.Seq))
	put(string(ev.Action))
	put(string(ev.From))
	put(string(ev.To))
	put(ev.ActorID)
	put(ev.ActorName)
	put(string(ev.ActorRole))
	put(ev.OrgID)
	put(ev.ToOrgID)
	put(hashTime(ev.At))
	put(ev.Note)
	put(strconv.Itoa(ev.Grade))
	put(strconv.Itoa(ev.Days))
	put(hashTime(ev.DueAt))
	return hex.EncodeToString(h.Sum(nil))
}

// ReportPhoto is a picture taken with a report: staff see it, the public
// page never.
type ReportPhoto struct {
	ReportID    string
	N           int // 1…6
	ContentType string
	Data        []byte
}

// ReportFilter narrows a report listing. Under scopes it the way
// Actor.SeesReport does; Holder lists a queue.
type ReportFilter struct {
	Under    string // a path: reports registered, placed, held, dispatched or handled in this subtree
	Holder   string // an organisation id: only what it holds
	Creator  string // a user id: only what they registered
	Status   []ReportStatus
	Category string
	Channel  ReportChannel
	From, To time.Time // registered in [From, To)
	Overdue  bool      // open and past due at Now
	DueBy    time.Time // open and due at or before it
	Now      time.Time
	// ByDue lists the soonest deadline first instead of the newest first;
	// its cursor is the last report's due time and id.
	ByDue    bool
	AfterDue time.Time
	After    string // keyset cursor: the last id seen (ids fall, newest first)
	Limit    int
}

// ReportStatsQuery asks the store for the counts of section 6 of the
// design over reports registered in [From, To) under a subtree, grouped.
type ReportStatsQuery struct {
	Under    string
	From, To time.Time
	GroupBy  ReportGroupBy
	Now      time.Time // for overdue_open
}

// ReportGroupBy groups report statistics.
type ReportGroupBy string

const (
	ReportGroupNone     ReportGroupBy = ""
	ReportGroupOrg      ReportGroupBy = "org"      // the organisation that signed for it last (departments included)
	ReportGroupCategory ReportGroupBy = "category" // its category
	ReportGroupChannel  ReportGroupBy = "channel"  // how it came in
	ReportGroupGrid     ReportGroupBy = "grid"     // the grid it was placed in
	ReportGroupMonth    ReportGroupBy = "month"    // the month it was registered in
)

// ReportGroupBys lists the groupings.
var ReportGroupBys = []ReportGroupBy{ReportGroupOrg, ReportGroupCategory, ReportGroupChannel, ReportGroupGrid, ReportGroupMonth}

// ReportCounts are the sums behind the report statistics.
type ReportCounts struct {
	Accepted        int64 // registered in the period, not merged
	Closed          int64
	ClosedOnTime    int64 // closed, answered no later than due
	Responses       int64 // dispatches signed for or sent back
	ResponsesOnTime int64 // of those, within the response limit
	FollowedUp      int64 // closed with a grade (the reporter reached)
	Unreachable     int64 // closed without reaching the reporter
	Grades          [5]int64
	GradeSum        int64
	OverdueOpen     int64
}

// ReportStatsRow is one group's counts; Key is "" without grouping.
type ReportStatsRow struct {
	Key string
	ReportCounts
}

// ReportStore keeps reports with their events and photos.
type ReportStore interface {
	// CreateReport saves a registration with its first event, its photos
	// and its notices.
	CreateReport(ctx context.Context, r Report, ev ReportEvent, photos []ReportPhoto, ns []Notice) error
	// UpdateReport loads the report in a transaction, lets fn change it and
	// name the event to append and its notices, and saves them all,
	// failing with a version conflict if the row moved meanwhile.
	UpdateReport(ctx context.Context, id string, fn func(*Report) (ReportEvent, []Notice, error)) error
	Report(ctx context.Context, id string) (Report, error)
	ReportByNo(ctx context.Context, no string) (Report, error)
	Reports(ctx context.Context, f ReportFilter) ([]Report, error)
	ReportEvents(ctx context.Context, reportID string) ([]ReportEvent, error)
	ReportPhoto(ctx context.Context, reportID string, n int) (ReportPhoto, error)
	ReportStats(ctx context.Context, q ReportStatsQuery) ([]ReportStatsRow, error)
}
