package store

import (
	"encoding/json"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

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
	ID           string
	Username     string
	DisplayName  string
	Phone        string
	Role         string
	OrgID        string
	PasswordHash []byte
	Active       bool
	CreatedAt    time.Time
}

func (userRow) TableName() string { return "users" }

func toUser(r userRow) service.User {
	return service.User{ID: r.ID, Username: r.Username, DisplayName: r.DisplayName, Phone: r.Phone,
		Role: service.Role(r.Role), OrgID: r.OrgID, PasswordHash: r.PasswordHash, Active: r.Active, CreatedAt: r.CreatedAt.UTC()}
}

func fromUser(u service.User) userRow {
	return userRow{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Phone: u.Phone, Role: string(u.Role),
		OrgID: u.OrgID, PasswordHash: u.PasswordHash, Active: u.Active, CreatedAt: utc(u.CreatedAt)}
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

func toItem(r itemRow) service.Item {
	return service.Item{ID: r.ID, Code: r.Code, Name: r.Name, Category: r.CategoryCode, Level: service.Level(r.Level),
		Materials: decodeList(r.Materials), FeeCents: r.FeeCents, TimeLimitDays: r.TimeLimitDays, Active: r.Active, CreatedAt: r.CreatedAt.UTC()}
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

func (s *Store) toErrand(r errandRow) (service.Errand, error) {
	id, err := s.crypt.open(r.ApplicantIDEnc)
	if err != nil {
		return service.Errand{}, err
	}
	e := s.toErrandSealed(r)
	e.Applicant.IDNumber = id
	return e, nil
}

// toErrandSealed maps a row without decrypting the applicant's ID number.
func (s *Store) toErrandSealed(r errandRow) service.Errand {
	return service.Errand{
		ID: r.ID, ReceiptNo: r.ReceiptNo, VerifyCode: r.VerifyCode,
		ItemID: r.ItemID, ItemCode: r.ItemCode, ItemName: r.ItemName, Category: r.Category,
		ItemLevel: service.Level(r.ItemLevel), TimeLimitDays: r.TimeLimitDays,
		Applicant: service.Applicant{Name: r.ApplicantName, Phone: r.ApplicantPhone, Address: r.ApplicantAddress},
		Materials: decodeList(r.Materials), Channel: service.Channel(r.Channel), Note: r.Note,
		IntakeOrgID: r.IntakeOrgID, OrgPath: r.OrgPath, AgentID: r.AgentID,
		HolderOrgID: r.HolderOrgID, HolderLevel: service.Level(r.HolderLevel), Status: service.Status(r.Status),
		Outcome: service.Outcome(r.Outcome), OutcomeReason: r.OutcomeReason,
		ReturnedByOrgID: r.ReturnedByOrgID, ReturnedByLevel: service.Level(r.ReturnedByLevel),
		MissingMaterials: decodeList(r.MissingMaterials), PausedAt: unptime(r.PausedAt),
		PausedDays: r.PausedDays, Extensions: r.Extensions,
		RegisteredAt: r.RegisteredAt.UTC(), DueAt: r.DueAt.UTC(),
		CompletedAt: unptime(r.CompletedAt), DeliveredAt: unptime(r.DeliveredAt), WithdrawnAt: unptime(r.WithdrawnAt),
		WorkingDays: r.WorkingDays, OnTime: r.OnTime, ReceiptRecovered: r.ReceiptRecovered, Satisfaction: r.Satisfaction,
		Version: r.Version, LastHash: r.LastHash,
	}
}

func (s *Store) fromErrand(e service.Errand) errandRow {
	return errandRow{
		ID: e.ID, ReceiptNo: e.ReceiptNo, VerifyCode: e.VerifyCode,
		ItemID: e.ItemID, ItemCode: e.ItemCode, ItemName: e.ItemName, Category: e.Category,
		ItemLevel: string(e.ItemLevel), TimeLimitDays: e.TimeLimitDays,
		ApplicantName: e.Applicant.Name, ApplicantIDEnc: s.crypt.seal(e.Applicant.IDNumber),
		ApplicantIDIndex: s.crypt.index(e.Applicant.IDNumber),
		ApplicantPhone:   e.Applicant.Phone, ApplicantAddress: e.Applicant.Address,
		Materials: encodeList(e.Materials), Channel: string(e.Channel), Note: e.Note,
		IntakeOrgID: e.IntakeOrgID, OrgPath: e.OrgPath, AgentID: e.AgentID,
		HolderOrgID: e.HolderOrgID, HolderLevel: string(e.HolderLevel), Status: string(e.Status),
		Outcome: string(e.Outcome), OutcomeReason: e.OutcomeReason,
		ReturnedByOrgID: e.ReturnedByOrgID, ReturnedByLevel: string(e.ReturnedByLevel),
		MissingMaterials: encodeList(e.MissingMaterials), PausedAt: ptime(e.PausedAt),
		PausedDays: e.PausedDays, Extensions: e.Extensions,
		RegisteredAt: utc(e.RegisteredAt), RegDay: service.DateOf(e.RegisteredAt).YMD(), DueAt: utc(e.DueAt),
		CompletedAt: ptime(e.CompletedAt), DeliveredAt: ptime(e.DeliveredAt), WithdrawnAt: ptime(e.WithdrawnAt),
		WorkingDays: e.WorkingDays, OnTime: e.OnTime, ReceiptRecovered: e.ReceiptRecovered, Satisfaction: e.Satisfaction,
		Version: e.Version, LastHash: e.LastHash,
	}
}

// publicStep is the part of an event a resident may see, kept on the errand
// row as well so a public lookup is one read.
type publicStep struct {
	At      time.Time  `json:"at"`
	Action  string     `json:"action"`
	To      string     `json:"to"`
	OrgID   string     `json:"org"`
	Missing []string   `json:"missing,omitempty"`
	Reason  string     `json:"reason,omitempty"`
	DueAt   *time.Time `json:"due,omitempty"`
}

// appendStep adds ev to a stored timeline.
func appendStep(timeline string, ev service.Event) string {
	var steps []publicStep
	if timeline != "" {
		_ = json.Unmarshal([]byte(timeline), &steps) // written only here
	}
	return encodeSteps(append(steps, stepOf(ev)))
}

// timelineOf is the stored timeline of a whole history.
func timelineOf(events []service.Event) string {
	steps := make([]publicStep, len(events))
	for i, ev := range events {
		steps[i] = stepOf(ev)
	}
	return encodeSteps(steps)
}

func stepOf(ev service.Event) publicStep {
	return publicStep{At: utc(ev.At), Action: string(ev.Action), To: string(ev.To), OrgID: ev.OrgID,
		Missing: ev.MissingMaterials, Reason: ev.Reason, DueAt: ptime(ev.DueAt)}
}

func encodeSteps(steps []publicStep) string {
	b, _ := json.Marshal(steps)
	return string(b)
}

// timelineEvents reads a stored timeline back as events with only the
// public fields set. Every public lookup does this; JSON v2 decodes it in
// a third of encoding/json's time.
func timelineEvents(timeline string) ([]service.Event, error) {
	var steps []publicStep
	if err := jsonv2.Unmarshal([]byte(timeline), &steps); err != nil {
		return nil, err
	}
	out := make([]service.Event, len(steps))
	for i, st := range steps {
		out[i] = service.Event{At: st.At.UTC(), Action: service.Action(st.Action), To: service.Status(st.To), OrgID: st.OrgID,
			MissingMaterials: st.Missing, Reason: st.Reason, DueAt: unptime(st.DueAt)}
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
	PrevHash         string
	Hash             string
}

func (eventRow) TableName() string { return "events" }

func toEvent(r eventRow) service.Event {
	return service.Event{
		ErrandID: r.ErrandID, Seq: r.Seq, Action: service.Action(r.Action),
		From: service.Status(r.FromStatus), To: service.Status(r.ToStatus),
		ActorID: r.ActorID, ActorName: r.ActorName, ActorRole: service.Role(r.ActorRole), OrgID: r.OrgID,
		At: r.At.UTC(), Note: r.Note, ToOrgID: r.ToOrgID, MissingMaterials: decodeList(r.MissingMaterials),
		Outcome: service.Outcome(r.Outcome), Reason: r.Reason, DueAt: unptime(r.DueAt),
		ReceiptRecovered: r.ReceiptRecovered, Satisfaction: r.Satisfaction, PrevHash: r.PrevHash, Hash: r.Hash,
	}
}

func fromEvent(ev service.Event) eventRow {
	return eventRow{
		ErrandID: ev.ErrandID, Seq: ev.Seq, Action: string(ev.Action),
		FromStatus: string(ev.From), ToStatus: string(ev.To),
		ActorID: ev.ActorID, ActorName: ev.ActorName, ActorRole: string(ev.ActorRole), OrgID: ev.OrgID,
		At: utc(ev.At), Note: ev.Note, ToOrgID: ev.ToOrgID, MissingMaterials: encodeList(ev.MissingMaterials),
		Outcome: string(ev.Outcome), Reason: ev.Reason, DueAt: ptime(ev.DueAt),
		ReceiptRecovered: ev.ReceiptRecovered, Satisfaction: ev.Satisfaction, PrevHash: ev.PrevHash, Hash: ev.Hash,
	}
}

// Lists are stored as JSON arrays; nil and empty both read back as empty.
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func decodeList(s string) []string {
	var l []string
	if s != "" {
		_ = json.Unmarshal([]byte(s), &l) // written only by encodeList
	}
	if l == nil {
		l = []string{}
	}
	return l
}
