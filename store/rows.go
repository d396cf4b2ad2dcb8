package store

import (
	"encoding/json"
	"fmt"
	"time"

	"daiban/service"
)

// Rows are the database's shape of the domain types; they never leave the
// package, and the mappers below are the only way in and out.

type orgRow struct {
	ID        string
	Code      string
	Name      string
	Level     string
	ParentID  *string
	Path      string
	CreatedAt time.Time
}

func (orgRow) TableName() string { return "orgs" }

func toOrg(r orgRow) service.Org {
	o := service.Org{ID: r.ID, Code: r.Code, Name: r.Name, Level: service.Level(r.Level), Path: r.Path, CreatedAt: r.CreatedAt.UTC()}
	if r.ParentID != nil {
		o.ParentID = *r.ParentID
	}
	return o
}

func fromOrg(o service.Org) orgRow {
	r := orgRow{ID: o.ID, Code: o.Code, Name: o.Name, Level: string(o.Level), Path: o.Path, CreatedAt: utc(o.CreatedAt)}
	if o.ParentID != "" {
		r.ParentID = &o.ParentID
	}
	return r
}

type userRow struct {
	ID                 string
	Username           string
	DisplayName        string
	Phone              string
	Role               string
	OrgID              string
	PasswordHash       []byte
	Active             bool
	MustChangePassword bool
	CreatedAt          time.Time
}

func (userRow) TableName() string { return "users" }

func toUser(r userRow) service.User {
	return service.User{ID: r.ID, Username: r.Username, DisplayName: r.DisplayName, Phone: r.Phone,
		Role: service.Role(r.Role), OrgID: r.OrgID, PasswordHash: r.PasswordHash, Active: r.Active,
		MustChangePassword: r.MustChangePassword, CreatedAt: r.CreatedAt.UTC()}
}

func fromUser(u service.User) userRow {
	return userRow{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Phone: u.Phone, Role: string(u.Role),
		OrgID: u.OrgID, PasswordHash: u.PasswordHash, Active: u.Active, MustChangePassword: u.MustChangePassword, CreatedAt: utc(u.CreatedAt)}
}

type accountEventRow struct {
	ID        string
	UserID    string
	Action    string
	ActorID   string
	ActorName string
	At        time.Time
}

func (accountEventRow) TableName() string { return "account_events" }

func toAccountEvent(r accountEventRow) service.AccountEvent {
	return service.AccountEvent{ID: r.ID, UserID: r.UserID, Action: service.AccountAction(r.Action), ActorID: r.ActorID, ActorName: r.ActorName, At: r.At.UTC()}
}

func fromAccountEvent(e service.AccountEvent) accountEventRow {
	return accountEventRow{ID: e.ID, UserID: e.UserID, Action: string(e.Action), ActorID: e.ActorID, ActorName: e.ActorName, At: utc(e.At)}
}

type sessionRow struct {
	TokenHash   []byte
	UserID      string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	Username    string
	DisplayName string
	Phone       string
	Role        string
	OrgID       string
	OrgPath     string
	OrgLevel    string
	OrgName     string
	// MustChangePassword is the user's flag as the session opened; a
	// password change clears it on the session it keeps.
	MustChangePassword bool
}

func (sessionRow) TableName() string { return "sessions" }

type categoryRow struct {
	Code     string
	Name     string
	Position int
}

func (categoryRow) TableName() string { return "categories" }

type itemRow struct {
	ID            string
	Code          string
	Name          string
	CategoryCode  string
	Level         string
	Materials     string
	FeeCents      int64
	TimeLimitDays int
	Active        bool
	CreatedAt     time.Time
}

func (itemRow) TableName() string { return "items" }

func toItem(r itemRow) (service.Item, error) {
	materials, err := decodeList(r.Materials)
	if err != nil {
		return service.Item{}, fmt.Errorf("item %s: materials: %w", r.Code, err)
	}
	return service.Item{ID: r.ID, Code: r.Code, Name: r.Name, Category: r.CategoryCode, Level: service.Level(r.Level),
		Materials: materials, FeeCents: r.FeeCents, TimeLimitDays: r.TimeLimitDays, Active: r.Active, CreatedAt: r.CreatedAt.UTC()}, nil
}

func fromItem(it service.Item) itemRow {
	return itemRow{ID: it.ID, Code: it.Code, Name: it.Name, CategoryCode: it.Category, Level: string(it.Level),
		Materials: encodeList(it.Materials), FeeCents: it.FeeCents, TimeLimitDays: it.TimeLimitDays, Active: it.Active, CreatedAt: utc(it.CreatedAt)}
}

type errandRow struct {
	ID               string     `json:"id"`
	ReceiptNo        string     `json:"receipt_no"`
	VerifyCode       string     `json:"verify_code"`
	ItemID           string     `json:"item_id"`
	ItemCode         string     `json:"item_code"`
	ItemName         string     `json:"item_name"`
	Category         string     `json:"category"`
	ItemLevel        string     `json:"item_level"`
	TimeLimitDays    int        `json:"time_limit_days"`
	ApplicantName    string     `json:"applicant_name"`
	ApplicantIDEnc   []byte     `json:"applicant_id_enc"`
	ApplicantIDIndex []byte     `json:"applicant_id_index"`
	ApplicantPhone   string     `json:"applicant_phone"`
	ApplicantAddress string     `json:"applicant_address"`
	Materials        string     `json:"materials"`
	Channel          string     `json:"channel"`
	Note             string     `json:"note"`
	NoSMS            bool       `json:"no_sms"`
	IntakeOrgID      string     `json:"intake_org_id"`
	OrgPath          string     `json:"org_path"`
	AgentID          string     `json:"agent_id"`
	HolderOrgID      string     `json:"holder_org_id"`
	HolderLevel      string     `json:"holder_level"`
	Status           string     `json:"status"`
	Outcome          string     `json:"outcome"`
	OutcomeReason    string     `json:"outcome_reason"`
	ReturnedByOrgID  string     `json:"returned_by_org_id"`
	ReturnedByLevel  string     `json:"returned_by_level"`
	MissingMaterials string     `json:"missing_materials"`
	PausedAt         *time.Time `json:"paused_at"`
	PausedDays       int        `json:"paused_days"`
	Extensions       int        `json:"extensions"`
	Urges            int        `json:"urges"`
	UrgedAt          *time.Time `json:"urged_at"`
	RegisteredAt     time.Time  `json:"registered_at"`
	RegDay           int        `json:"reg_day"`
	DueAt            time.Time  `json:"due_at"`
	CompletedAt      *time.Time `json:"completed_at"`
	DeliveredAt      *time.Time `json:"delivered_at"`
	WithdrawnAt      *time.Time `json:"withdrawn_at"`
	WorkingDays      int        `json:"working_days"`
	OnTime           bool       `json:"on_time"`
	ReceiptRecovered bool       `json:"receipt_recovered"`
	Satisfaction     int        `json:"satisfaction"`
	Version          int        `json:"version"`
	LastHash         string     `json:"last_hash"`
	Timeline         string     `json:"timeline"` // publicStep JSON, one per event
}

func (errandRow) TableName() string { return "errands" }

// The errands table's columns in the order of errandRow's fields, written
// out once for the statements on every registration and transition.
const errandColumns = `id, receipt_no, verify_code, item_id, item_code, item_name, category, item_level,
	time_limit_days, applicant_name, applicant_id_enc, applicant_id_index, applicant_phone, applicant_address, materials, channel,
	note, no_sms, intake_org_id, org_path, agent_id, holder_org_id, holder_level, status, outcome,
	outcome_reason, returned_by_org_id, returned_by_level, missing_materials, paused_at, paused_days, extensions, urges, urged_at, registered_at,
	reg_day, due_at, completed_at, delivered_at, withdrawn_at, working_days, on_time, receipt_recovered,
	satisfaction, version, last_hash, timeline`

// targets are pointers to r's fields in the order of errandColumns, for Scan.
func (r *errandRow) targets() []any {
	return []any{&r.ID, &r.ReceiptNo, &r.VerifyCode, &r.ItemID, &r.ItemCode, &r.ItemName,
		&r.Category, &r.ItemLevel, &r.TimeLimitDays, &r.ApplicantName, &r.ApplicantIDEnc, &r.ApplicantIDIndex,
		&r.ApplicantPhone, &r.ApplicantAddress, &r.Materials, &r.Channel, &r.Note, &r.NoSMS, &r.IntakeOrgID,
		&r.OrgPath, &r.AgentID, &r.HolderOrgID, &r.HolderLevel, &r.Status, &r.Outcome,
		&r.OutcomeReason, &r.ReturnedByOrgID, &r.ReturnedByLevel, &r.MissingMaterials, &r.PausedAt, &r.PausedDays,
		&r.Extensions, &r.Urges, &r.UrgedAt, &r.RegisteredAt, &r.RegDay, &r.DueAt, &r.CompletedAt, &r.DeliveredAt,
		&r.WithdrawnAt, &r.WorkingDays, &r.OnTime, &r.ReceiptRecovered, &r.Satisfaction, &r.Version,
		&r.LastHash, &r.Timeline}
}

// errandTransitionSQL writes what a transition may change; the caller adds
// the id and the version read, so a row that moved meanwhile is left alone.
const errandTransitionSQL = `UPDATE errands SET applicant_name = ?, applicant_phone = ?, applicant_address = ?, holder_org_id = ?, holder_level = ?, status = ?, outcome = ?, outcome_reason = ?, returned_by_org_id = ?,
	returned_by_level = ?, missing_materials = ?, paused_at = ?, paused_days = ?, extensions = ?, urges = ?, urged_at = ?, due_at = ?,
	completed_at = ?, delivered_at = ?, withdrawn_at = ?, working_days = ?, on_time = ?, receipt_recovered = ?,
	satisfaction = ?, version = ?, last_hash = ?, timeline = ?
	WHERE id = ? AND version = ?`

// transitionArgs are the arguments of errandTransitionSQL before the id and version.
func (r *errandRow) transitionArgs() []any {
	return []any{r.ApplicantName, r.ApplicantPhone, r.ApplicantAddress, r.HolderOrgID, r.HolderLevel, r.Status, r.Outcome, r.OutcomeReason, r.ReturnedByOrgID,
		r.ReturnedByLevel, r.MissingMaterials, r.PausedAt, r.PausedDays, r.Extensions, r.Urges, r.UrgedAt, r.DueAt,
		r.CompletedAt, r.DeliveredAt, r.WithdrawnAt, r.WorkingDays, r.OnTime, r.ReceiptRecovered,
		r.Satisfaction, r.Version, r.LastHash, r.Timeline}
}

func (s *Store) toErrand(r errandRow) (service.Errand, error) {
	id, err := s.crypt.open(r.ApplicantIDEnc)
	if err != nil {
		return service.Errand{}, err
	}
	materials, err := decodeList(r.Materials)
	if err != nil {
		return service.Errand{}, fmt.Errorf("errand %s: materials: %w", r.ID, err)
	}
	missing, err := decodeList(r.MissingMaterials)
	if err != nil {
		return service.Errand{}, fmt.Errorf("errand %s: missing materials: %w", r.ID, err)
	}
	return service.Errand{
		ID: r.ID, ReceiptNo: r.ReceiptNo, VerifyCode: r.VerifyCode,
		ItemID: r.ItemID, ItemCode: r.ItemCode, ItemName: r.ItemName, Category: r.Category,
		ItemLevel: service.Level(r.ItemLevel), TimeLimitDays: r.TimeLimitDays,
		Applicant: service.Applicant{Name: r.ApplicantName, IDNumber: id, Phone: r.ApplicantPhone, Address: r.ApplicantAddress},
		Materials: materials, Channel: service.Channel(r.Channel), Note: r.Note, NoSMS: r.NoSMS,
		IntakeOrgID: r.IntakeOrgID, OrgPath: r.OrgPath, AgentID: r.AgentID,
		HolderOrgID: r.HolderOrgID, HolderLevel: service.Level(r.HolderLevel), Status: service.Status(r.Status),
		Outcome: service.Outcome(r.Outcome), OutcomeReason: r.OutcomeReason,
		ReturnedByOrgID: r.ReturnedByOrgID, ReturnedByLevel: service.Level(r.ReturnedByLevel),
		MissingMaterials: missing, PausedAt: unptime(r.PausedAt),
		PausedDays: r.PausedDays, Extensions: r.Extensions, Urges: r.Urges, UrgedAt: unptime(r.UrgedAt),
		RegisteredAt: r.RegisteredAt.UTC(), DueAt: r.DueAt.UTC(),
		CompletedAt: unptime(r.CompletedAt), DeliveredAt: unptime(r.DeliveredAt), WithdrawnAt: unptime(r.WithdrawnAt),
		WorkingDays: r.WorkingDays, OnTime: r.OnTime, ReceiptRecovered: r.ReceiptRecovered, Satisfaction: r.Satisfaction,
		Version: r.Version, LastHash: r.LastHash,
	}, nil
}

func (s *Store) fromErrand(e service.Errand) errandRow {
	return errandRow{
		ID: e.ID, ReceiptNo: e.ReceiptNo, VerifyCode: e.VerifyCode,
		ItemID: e.ItemID, ItemCode: e.ItemCode, ItemName: e.ItemName, Category: e.Category,
		ItemLevel: string(e.ItemLevel), TimeLimitDays: e.TimeLimitDays,
		ApplicantName: e.Applicant.Name, ApplicantIDEnc: s.crypt.seal(e.Applicant.IDNumber),
		ApplicantIDIndex: s.crypt.index(e.Applicant.IDNumber),
		ApplicantPhone:   e.Applicant.Phone, ApplicantAddress: e.Applicant.Address,
		Materials: encodeList(e.Materials), Channel: string(e.Channel), Note: e.Note, NoSMS: e.NoSMS,
		IntakeOrgID: e.IntakeOrgID, OrgPath: e.OrgPath, AgentID: e.AgentID,
		HolderOrgID: e.HolderOrgID, HolderLevel: string(e.HolderLevel), Status: string(e.Status),
		Outcome: string(e.Outcome), OutcomeReason: e.OutcomeReason,
		ReturnedByOrgID: e.ReturnedByOrgID, ReturnedByLevel: string(e.ReturnedByLevel),
		MissingMaterials: encodeList(e.MissingMaterials), PausedAt: ptime(e.PausedAt),
		PausedDays: e.PausedDays, Extensions: e.Extensions, Urges: e.Urges, UrgedAt: ptime(e.UrgedAt),
		RegisteredAt: utc(e.RegisteredAt), RegDay: service.DateOf(e.RegisteredAt).YMD(), DueAt: utc(e.DueAt),
		CompletedAt: ptime(e.CompletedAt), DeliveredAt: ptime(e.DeliveredAt), WithdrawnAt: ptime(e.WithdrawnAt),
		WorkingDays: e.WorkingDays, OnTime: e.OnTime, ReceiptRecovered: e.ReceiptRecovered, Satisfaction: e.Satisfaction,
		Version: e.Version, LastHash: e.LastHash,
	}
}

// publicStep is an event as service.PublicEvent leaves it, kept on the
// errand row as well so a public lookup is one read.
type publicStep struct {
	At      time.Time  `json:"at"`
	Action  string     `json:"action"`
	To      string     `json:"to"`
	OrgID   string     `json:"org"`
	Missing []string   `json:"missing,omitempty"`
	Outcome string     `json:"outcome,omitempty"`
	Reason  string     `json:"reason,omitempty"`
	Fields  []string   `json:"fields,omitempty"` // a correction's fields, never their values
	DueAt   *time.Time `json:"due,omitempty"`
}

// appendStep adds ev to a stored timeline.
func appendStep(timeline string, ev service.Event) (string, error) {
	var steps []publicStep
	if timeline != "" {
		if err := json.Unmarshal([]byte(timeline), &steps); err != nil {
			return "", fmt.Errorf("errand %s: stored timeline: %w", ev.ErrandID, err)
		}
	}
	return encodeSteps(append(steps, stepOf(ev)))
}

// timelineOf is the stored timeline of a whole history.
func timelineOf(events []service.Event) (string, error) {
	steps := make([]publicStep, len(events))
	for i, ev := range events {
		steps[i] = stepOf(ev)
	}
	return encodeSteps(steps)
}

func stepOf(ev service.Event) publicStep {
	p := service.PublicEvent(ev)
	return publicStep{At: utc(p.At), Action: string(p.Action), To: string(p.To), OrgID: p.OrgID,
		Missing: p.MissingMaterials, Outcome: string(p.Outcome), Reason: p.Reason, Fields: changedFields(p.Changes), DueAt: ptime(p.DueAt)}
}

func changedFields(cs []service.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Field)
	}
	return out
}

func encodeSteps(steps []publicStep) (string, error) {
	b, err := json.Marshal(steps)
	return string(b), err
}

// timelineEvents reads a stored timeline back as the public events it holds.
func timelineEvents(timeline string) ([]service.Event, error) {
	var steps []publicStep
	if err := json.Unmarshal([]byte(timeline), &steps); err != nil {
		return nil, fmt.Errorf("stored timeline: %w", err)
	}
	out := make([]service.Event, len(steps))
	for i, st := range steps {
		out[i] = service.Event{At: st.At.UTC(), Action: service.Action(st.Action), To: service.Status(st.To), OrgID: st.OrgID,
			MissingMaterials: st.Missing, Outcome: service.Outcome(st.Outcome), Reason: st.Reason, DueAt: unptime(st.DueAt)}
		for _, f := range st.Fields {
			out[i].Changes = append(out[i].Changes, service.Change{Field: f})
		}
	}
	return out, nil
}

type eventRow struct {
	ErrandID         string
	Seq              int
	Action           string
	FromStatus       string
	ToStatus         string
	ActorID          string
	ActorName        string
	ActorRole        string
	OrgID            string
	At               time.Time
	Note             string
	ToOrgID          string
	MissingMaterials string
	Outcome          string
	Reason           string
	DueAt            *time.Time
	ReceiptRecovered *bool
	Satisfaction     int
	Changes          string // JSON of a correction's changes; empty otherwise
	PrevHash         string
	Hash             string
}

func (eventRow) TableName() string { return "events" }

// The events table's columns in the order of eventRow's fields.
const eventColumns = `errand_id, seq, action, from_status, to_status, actor_id, actor_name, actor_role,
	org_id, at, note, to_org_id, missing_materials, outcome, reason, due_at,
	receipt_recovered, satisfaction, changes, prev_hash, hash`

// targets are pointers to r's fields in the order of eventColumns, for Scan.
func (r *eventRow) targets() []any {
	return []any{&r.ErrandID, &r.Seq, &r.Action, &r.FromStatus, &r.ToStatus, &r.ActorID,
		&r.ActorName, &r.ActorRole, &r.OrgID, &r.At, &r.Note, &r.ToOrgID,
		&r.MissingMaterials, &r.Outcome, &r.Reason, &r.DueAt, &r.ReceiptRecovered, &r.Satisfaction,
		&r.Changes, &r.PrevHash, &r.Hash}
}

func toEvent(r eventRow) (service.Event, error) {
	missing, err := decodeList(r.MissingMaterials)
	if err != nil {
		return service.Event{}, fmt.Errorf("event %s/%d: missing materials: %w", r.ErrandID, r.Seq, err)
	}
	var changes []service.Change
	if r.Changes != "" {
		if err := json.Unmarshal([]byte(r.Changes), &changes); err != nil {
			return service.Event{}, fmt.Errorf("event %s/%d: changes: %w", r.ErrandID, r.Seq, err)
		}
	}
	return service.Event{
		ErrandID: r.ErrandID, Seq: r.Seq, Action: service.Action(r.Action),
		From: service.Status(r.FromStatus), To: service.Status(r.ToStatus),
		ActorID: r.ActorID, ActorName: r.ActorName, ActorRole: service.Role(r.ActorRole), OrgID: r.OrgID,
		At: r.At.UTC(), Note: r.Note, ToOrgID: r.ToOrgID, MissingMaterials: missing,
		Outcome: service.Outcome(r.Outcome), Reason: r.Reason, DueAt: unptime(r.DueAt),
		ReceiptRecovered: r.ReceiptRecovered, Satisfaction: r.Satisfaction, Changes: changes, PrevHash: r.PrevHash, Hash: r.Hash,
	}, nil
}

func fromEvent(ev service.Event) eventRow {
	return eventRow{
		ErrandID: ev.ErrandID, Seq: ev.Seq, Action: string(ev.Action),
		FromStatus: string(ev.From), ToStatus: string(ev.To),
		ActorID: ev.ActorID, ActorName: ev.ActorName, ActorRole: string(ev.ActorRole), OrgID: ev.OrgID,
		At: utc(ev.At), Note: ev.Note, ToOrgID: ev.ToOrgID, MissingMaterials: encodeList(ev.MissingMaterials),
		Outcome: string(ev.Outcome), Reason: ev.Reason, DueAt: ptime(ev.DueAt),
		ReceiptRecovered: ev.ReceiptRecovered, Satisfaction: ev.Satisfaction, Changes: encodeChanges(ev.Changes), PrevHash: ev.PrevHash, Hash: ev.Hash,
	}
}

// encodeChanges is a correction's changes as stored: JSON, or empty.
func encodeChanges(cs []service.Change) string {
	if len(cs) == 0 {
		return ""
	}
	b, _ := json.Marshal(cs) // strings only: cannot fail
	return string(b)
}

// values are the values behind a row's targets, for an INSERT of its columns.
func values(targets []any) []any {
	out := make([]any, len(targets))
	for i, t := range targets {
		switch p := t.(type) {
		case *string:
			out[i] = *p
		case *int:
			out[i] = *p
		case *int64:
			out[i] = *p
		case *bool:
			out[i] = *p
		case *[]byte:
			out[i] = *p
		case *time.Time:
			out[i] = *p
		case **time.Time:
			out[i] = *p
		case **bool:
			out[i] = *p
		case **float64:
			out[i] = *p
		default:
			panic(fmt.Sprintf("store: no value for a %T", t)) // a new field type: add it here
		}
	}
	return out
}

// Lists are stored as JSON arrays; nil and empty both read back as empty.
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func decodeList(s string) ([]string, error) {
	l := []string{}
	if s != "" {
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			return nil, err
		}
	}
	if l == nil { // a stored JSON null
		l = []string{}
	}
	return l, nil
}
