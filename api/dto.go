package api

import (
	"time"

	"daiban/service"
)

// Responses are built from domain types by the functions here; domain types
// never reach JSON directly. Times are written in Asia/Shanghai.

func shanghai(t time.Time) time.Time { return t.In(service.Shanghai) }

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	s := shanghai(t)
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type orgJSON struct {
	ID        string    `json:"id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Level     string    `json:"level"`
	ParentID  *string   `json:"parent_id"`
	Path      string    `json:"path"`
	CreatedAt time.Time `json:"created_at"`
}

func toOrgJSON(o service.Org) orgJSON {
	return orgJSON{ID: o.ID, Code: o.Code, Name: o.Name, Level: string(o.Level), ParentID: optString(o.ParentID), Path: o.Path, CreatedAt: shanghai(o.CreatedAt)}
}

type userJSON struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Phone       string `json:"phone"`
	Role        string `json:"role"`
	OrgID       string `json:"org_id"`
	Active      bool   `json:"active"`
	// MustChangePassword: an admin reset the password; the user must
	// change it at the next sign-in before doing anything else.
	MustChangePassword bool      `json:"must_change_password"`
	CreatedAt          time.Time `json:"created_at"`
}

func toUserJSON(u service.User) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Phone: u.Phone, Role: string(u.Role), OrgID: u.OrgID,
		Active: u.Active, MustChangePassword: u.MustChangePassword, CreatedAt: shanghai(u.CreatedAt)}
}

type meJSON struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Phone       string `json:"phone"`
	Role        string `json:"role"`
	OrgID       string `json:"org_id"`
	OrgName     string `json:"org_name"`
	OrgLevel    string `json:"org_level"`
	// MustChangePassword: this session may only change the password,
	// read this and sign out.
	MustChangePassword bool `json:"must_change_password"`
}

func toMeJSON(a service.Actor) meJSON {
	return meJSON{ID: a.UserID, Username: a.Username, DisplayName: a.Name, Phone: a.Phone, Role: string(a.Role), OrgID: a.OrgID,
		OrgName: a.OrgName, OrgLevel: string(a.OrgLevel), MustChangePassword: a.MustChangePassword}
}

type categoryJSON struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type itemJSON struct {
	ID            string    `json:"id"`
	Code          string    `json:"code"`
	Name          string    `json:"name"`
	Category      string    `json:"category"`
	Level         string    `json:"level"`
	Materials     []string  `json:"materials"`
	FeeCents      int64     `json:"fee_cents"`
	TimeLimitDays int       `json:"time_limit_days"`
	Active        bool      `json:"active"`
	CreatedAt     time.Time `json:"created_at"`
}

func toItemJSON(it service.Item) itemJSON {
	return itemJSON{ID: it.ID, Code: it.Code, Name: it.Name, Category: it.Category, Level: string(it.Level), Materials: it.Materials,
		FeeCents: it.FeeCents, TimeLimitDays: it.TimeLimitDays, Active: it.Active, CreatedAt: shanghai(it.CreatedAt)}
}

type refJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type holderJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Level string `json:"level"`
}

type agentJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

type errandItemJSON struct {
	Code          string `json:"code"`
	Name          string `json:"name"`
	Category      string `json:"category"`
	Level         string `json:"level"`
	TimeLimitDays int    `json:"time_limit_days"`
}

type applicantJSON struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	Phone    string `json:"phone"`
	Address  string `json:"address"`
}

type errandJSON struct {
	ID               string         `json:"id"`
	ReceiptNo        string         `json:"receipt_no"`
	VerifyCode       *string        `json:"verify_code"`
	Status           string         `json:"status"`
	StatusLabel      string         `json:"status_label"`
	Version          int            `json:"version"`
	Item             errandItemJSON `json:"item"`
	Applicant        applicantJSON  `json:"applicant"`
	Materials        []string       `json:"materials"`
	Channel          string         `json:"channel"`
	Note             string         `json:"note"`
	NoSMS            bool           `json:"no_sms"`
	IntakeOrg        refJSON        `json:"intake_org"`
	HolderOrg        holderJSON     `json:"holder_org"`
	Agent            agentJSON      `json:"agent"`
	Outcome          *string        `json:"outcome"`
	OutcomeReason    string         `json:"outcome_reason"`
	MissingMaterials []string       `json:"missing_materials"`
	RegisteredAt     time.Time      `json:"registered_at"`
	DueAt            time.Time      `json:"due_at"`
	DueDate          string         `json:"due_date"`
	PausedAt         *time.Time     `json:"paused_at"`
	CompletedAt      *time.Time     `json:"completed_at"`
	DeliveredAt      *time.Time     `json:"delivered_at"`
	WithdrawnAt      *time.Time     `json:"withdrawn_at"`
	WorkingDays      *int           `json:"working_days"`
	OnTime           *bool          `json:"on_time"`
	ReceiptRecovered *bool          `json:"receipt_recovered"`
	Satisfaction     *int           `json:"satisfaction"`
	Extensions       int            `json:"extensions"`
	Urges            int            `json:"urges"`
	UrgedAt          *time.Time     `json:"urged_at"`
	Overdue          bool           `json:"overdue"`
}

// toErrandJSON renders an errand for a. full shows the applicant's ID number
// and phone to those handling the case; lists always mask them.
func toErrandJSON(e service.Errand, a service.Actor, now time.Time, full bool) errandJSON {
	v := a.View(e, full)
	app := applicantJSON{Name: v.Applicant.Name, IDNumber: v.Applicant.IDNumber, Phone: v.Applicant.Phone, Address: v.Applicant.Address}
	j := errandJSON{
		ID: e.ID, ReceiptNo: e.ReceiptNo, Status: string(e.Status), StatusLabel: e.Status.Label(), Version: e.Version,
		Item:      errandItemJSON{Code: e.ItemCode, Name: e.ItemName, Category: e.Category, Level: string(e.ItemLevel), TimeLimitDays: e.TimeLimitDays},
		Applicant: app, Materials: e.Materials, Channel: string(e.Channel), Note: e.Note, NoSMS: e.NoSMS,
		IntakeOrg: refJSON{ID: e.IntakeOrgID, Name: e.IntakeName},
		HolderOrg: holderJSON{ID: e.HolderOrgID, Name: e.HolderName, Level: string(e.HolderLevel)},
		Agent:     agentJSON{ID: e.AgentID, Name: e.AgentName, Phone: e.AgentPhone},
		Outcome:   optString(string(e.Outcome)), OutcomeReason: e.OutcomeReason, MissingMaterials: e.MissingMaterials,
		RegisteredAt: shanghai(e.RegisteredAt), DueAt: shanghai(e.DueAt), DueDate: service.DateOf(e.DueAt).String(),
		PausedAt: optTime(e.PausedAt), CompletedAt: optTime(e.CompletedAt), DeliveredAt: optTime(e.DeliveredAt), WithdrawnAt: optTime(e.WithdrawnAt),
		Extensions: e.Extensions, Urges: e.Urges, UrgedAt: optTime(e.UrgedAt), Overdue: e.Overdue(now),
	}
	if j.MissingMaterials == nil {
		j.MissingMaterials = []string{}
	}
	if j.Materials == nil {
		j.Materials = []string{}
	}
	if v.VerifyCode != "" {
		j.VerifyCode = &v.VerifyCode
	}
	if !e.CompletedAt.IsZero() {
		wd, ot := e.WorkingDays, e.OnTime
		j.WorkingDays, j.OnTime = &wd, &ot
	}
	if !e.DeliveredAt.IsZero() {
		rr := e.ReceiptRecovered
		j.ReceiptRecovered = &rr
		if e.Satisfaction > 0 {
			sat := e.Satisfaction
			j.Satisfaction = &sat
		}
	}
	return j
}

type eventActorJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

type eventJSON struct {
	Seq              int            `json:"seq"`
	Action           string         `json:"action"`
	ActionLabel      string         `json:"action_label"`
	From             *string        `json:"from"`
	To               string         `json:"to"`
	Actor            eventActorJSON `json:"actor"`
	Org              refJSON        `json:"org"`
	ToOrg            *refJSON       `json:"to_org"`
	At               time.Time      `json:"at"`
	Note             string         `json:"note"`
	MissingMaterials []string       `json:"missing_materials"`
	Outcome          *string        `json:"outcome"`
	Reason           string         `json:"reason"`
	DueAt            *time.Time     `json:"due_at"`
	ReceiptRecovered *bool          `json:"receipt_recovered"`
	Satisfaction     *int           `json:"satisfaction"`
	Changes          []changeJSON   `json:"changes"`
	PrevHash         string         `json:"prev_hash"`
	Hash             string         `json:"hash"`
}

// changeJSON is one field a correction changed, masked as the reader sees
// the applicant.
type changeJSON struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

func toEventJSON(ev service.Event) eventJSON {
	j := eventJSON{
		Seq: ev.Seq, Action: string(ev.Action), ActionLabel: ev.Action.Label(), From: optString(string(ev.From)), To: string(ev.To),
		Actor: eventActorJSON{ID: ev.ActorID, Name: ev.ActorName, Role: string(ev.ActorRole)},
		Org:   refJSON{ID: ev.OrgID, Name: ev.OrgName}, At: shanghai(ev.At), Note: ev.Note,
		MissingMaterials: ev.MissingMaterials, Outcome: optString(string(ev.Outcome)), Reason: ev.Reason,
		DueAt: optTime(ev.DueAt), ReceiptRecovered: ev.ReceiptRecovered, PrevHash: ev.PrevHash, Hash: ev.Hash,
	}
	if j.MissingMaterials == nil {
		j.MissingMaterials = []string{}
	}
	j.Changes = make([]changeJSON, len(ev.Changes))
	for i, c := range ev.Changes {
		j.Changes[i] = changeJSON{Field: c.Field, From: c.From, To: c.To}
	}
	if ev.ToOrgID != "" {
		j.ToOrg = &refJSON{ID: ev.ToOrgID, Name: ev.ToOrgName}
	}
	if ev.Satisfaction > 0 {
		s := ev.Satisfaction
		j.Satisfaction = &s
	}
	return j
}

type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func newPage[T any](items []T, next string) page[T] {
	if items == nil {
		items = []T{}
	}
	return page[T]{Items: items, NextCursor: optString(next)}
}
