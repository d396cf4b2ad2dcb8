package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Channel is how the errand reached the village point.
type Channel string

const (
	ChannelWalkIn    Channel = "walk_in"
	ChannelHomeVisit Channel = "home_visit" // 上门
	ChannelPhone     Channel = "phone"
	ChannelApp       Channel = "app"
	ChannelWeb       Channel = "web"
)

// Channels lists every intake channel.
var Channels = []Channel{ChannelWalkIn, ChannelHomeVisit, ChannelPhone, ChannelApp, ChannelWeb}

// Applicant is the resident the errand is done for.
type Applicant struct {
	Name     string
	IDNumber string
	Phone    string
	Address  string
}

// Errand is the case (代办件). The catalogue fields are copied at
// registration so an errand keeps the rules it was taken in under.
type Errand struct {
	ID         string
	ReceiptNo  string
	VerifyCode string

	ItemID        string
	ItemCode      string
	ItemName      string
	Category      string
	ItemLevel     Level
	TimeLimitDays int

	Applicant Applicant
	Materials []string
	Channel   Channel
	Note      string
	NoSMS     bool // the applicant declined text messages

	IntakeOrgID string
	OrgPath     string // path of the intake village: the errand's scope
	AgentID     string
	HolderOrgID string
	HolderLevel Level
	Status      Status

	Outcome          Outcome
	OutcomeReason    string
	ReturnedByOrgID  string
	ReturnedByLevel  Level
	MissingMaterials []string
	PausedAt         time.Time // zero unless waiting for correction
	PausedDays       int       // working days spent waiting for correction
	Extensions       int
	Urges            int       // 催办 by the supervisors
	UrgedAt          time.Time // the last 催办; zero if never

	RegisteredAt time.Time
	DueAt        time.Time
	CompletedAt  time.Time
	DeliveredAt  time.Time
	WithdrawnAt  time.Time

	WorkingDays      int  // working days to completion, pauses excluded
	OnTime           bool // completed no later than DueAt
	ReceiptRecovered bool
	Satisfaction     int // 1..5; 0 unrated

	Version  int
	LastHash string

	// Filled on reads for display; never written.
	AgentName  string
	AgentPhone string
	IntakeName string
	HolderName string
}

// DaysOverdue is how many working days an overdue errand is past its
// deadline at now, the pause of a correction excluded (0 if it is not).
func (e *Errand) DaysOverdue(cal *Calendar, now time.Time) int {
	if !e.Overdue(now) {
		return 0
	}
	if e.Status == StatusCorrection {
		now = e.PausedAt
	}
	return cal.WorkingDaysBetween(DateOf(e.DueAt), DateOf(now))
}

// RegDay is the Shanghai day of registration, the statistics' period key.
func (e *Errand) RegDay() Date { return DateOf(e.RegisteredAt) }

// Overdue reports whether the errand is open and past its deadline at now;
// while it waits for correction the clock is stopped at the pause.
func (e *Errand) Overdue(now time.Time) bool {
	if !e.Status.Open() {
		return false
	}
	if e.Status == StatusCorrection {
		now = e.PausedAt
	}
	return now.After(e.DueAt)
}

// Event is one entry of an errand's append-only ledger. Hash covers PrevHash
// and every other field, so any edit of a stored event breaks the chain.
type Event struct {
	ErrandID  string
	Seq       int
	Action    Action
	From      Status
	To        Status
	ActorID   string
	ActorName string
	ActorRole Role
	OrgID     string
	At        time.Time
	Note      string

	ToOrgID          string
	MissingMaterials []string
	Outcome          Outcome
	Reason           string
	DueAt            time.Time
	ReceiptRecovered *bool
	Satisfaction     int
	Changes          []Change // correct: what the registration said and says now

	PrevHash string
	Hash     string

	// Filled on reads for display.
	OrgName   string
	ToOrgName string
}

// ComputeHash is the event's chain hash: SHA-256 over the previous hash and
// a length-prefixed encoding of every field.
func (ev *Event) ComputeHash() string {
	h, put := chainHasher()
	put(ev.PrevHash)
	put(ev.ErrandID)
	put(strconv.Itoa(ev.Seq))
	put(string(ev.Action))
	put(string(ev.From))
	put(string(ev.To))
	put(ev.ActorID)
	put(ev.ActorName)
	put(string(ev.ActorRole))
	put(ev.OrgID)
	put(hashTime(ev.At))
	put(ev.Note)
	put(ev.ToOrgID)
	put(strconv.Itoa(len(ev.MissingMaterials)))
	for _, m := range ev.MissingMaterials {
		put(m)
	}
	put(string(ev.Outcome))
	put(ev.Reason)
	put(hashTime(ev.DueAt))
	switch {
	case ev.ReceiptRecovered == nil:
		put("")
	case *ev.ReceiptRecovered:
		put("recovered")
	default:
		put("lost")
	}
	put(strconv.Itoa(ev.Satisfaction))
	// Only corrections carry changes; events without them hash as they
	// always did.
	if len(ev.Changes) > 0 {
		put("changes")
		put(strconv.Itoa(len(ev.Changes)))
		for _, c := range ev.Changes {
			put(c.Field)
			put(c.From)
			put(c.To)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// chainHasher is a SHA-256 and put, which writes one field into it
// length-prefixed, so no two different field lists hash alike.
func chainHasher() (hash.Hash, func(string)) {
	h := sha256.New()
	return h, func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
}

func hashTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Change is one corrected field of a registration: applicant.name,
// applicant.phone or applicant.address, with its old and new value.
type Change struct {
	Field    string
	From, To string
}

// ChangeLabels name the correctable fields as the console and the
// resident read them.
var ChangeLabels = map[string]string{"applicant.name": "姓名", "applicant.phone": "联系电话", "applicant.address": "住址"}

// For is the change as a reader may see it: in full for those who handle
// the case, masked like the applicant in lists for everybody else.
func (c Change) For(a Actor) Change {
	if a.FullApplicant() {
		return c
	}
	mask := func(v string) string {
		switch c.Field {
		case "applicant.name":
			return MaskName(v)
		case "applicant.phone":
			return MaskPhone(v)
		}
		return "（已隐去）"
	}
	return Change{Field: c.Field, From: mask(c.From), To: mask(c.To)}
}

// Link chains ev after the errand's last event and advances the errand's
// version, which is always the number of its events.
func Link(e *Errand, ev *Event) {
	e.Version++
	ev.Seq = e.Version
	ev.PrevHash = e.LastHash
	ev.Hash = ev.ComputeHash()
	e.LastHash = ev.Hash
}

// RegisterInput is what an agent sends to register an errand.
type RegisterInput struct {
	ItemCode  string
	Applicant Applicant
	Materials []string
	Channel   Channel
	Note      string
	NoSMS     bool // the applicant declined text messages
}

// IdemKey is an Idempotency-Key with the hash of the request it came with.
type IdemKey struct {
	Key  string // namespaced by the caller
	Hash string
	At   time.Time // when it was first used; kept for at least a day
}

// IdemRecord is the remembered outcome of an idempotent request.
type IdemRecord struct {
	Hash   string
	Errand Errand
}

// NewIdemKey validates a client's key and scopes it to the caller.
func NewIdemKey(a Actor, key, requestHash string) (*IdemKey, error) {
	if key == "" {
		return nil, nil
	}
	if len(key) > 128 || hasControl(key) {
		return nil, BadParam("Idempotency-Key", "invalid_idempotency_key")
	}
	return &IdemKey{Key: a.UserID + ":" + key, Hash: requestHash}, nil
}

// Register takes in an errand at the agent's village: it validates the
// applicant and the materials, sets the deadline, allocates the receipt
// number and its code, and records the first event.
func (s *Service) Register(ctx context.Context, a Actor, in RegisterInput, idem *IdemKey) (Errand, bool, error) {
	if a.Role != RoleAgent {
		return Errand{}, false, Forbidden("role_not_allowed", "only a village agent registers errands")
	}
	// A retry is not looked up first: retries are rare, and its key is
	// claimed in the registration's own transaction, where a taken key
	// refuses it (replayRace below answers with the first result).
	now := s.now()
	app := Applicant{
		Name:     strings.TrimSpace(in.Applicant.Name),
		IDNumber: NormalizeIDNumber(in.Applicant.IDNumber),
		Phone:    NormalizePhone(in.Applicant.Phone),
		Address:  strings.TrimSpace(in.Applicant.Address),
	}
	note := strings.TrimSpace(in.Note)
	var f fields
	checkText(&f, "applicant.name", app.Name, 1, 40)
	if code := CheckIDNumber(app.IDNumber, now); code != "" {
		f.add("applicant.id_number", code)
	}
	if !ValidPhone(app.Phone) {
		f.add("applicant.phone", "invalid_phone")
	}
	checkText(&f, "applicant.address", app.Address, 0, 120)
	checkText(&f, "note", note, 0, 500)
	if !slices.Contains(Channels, in.Channel) {
		f.add("channel", "unknown_channel")
	}
	ref, err := s.reference(ctx)
	if err != nil {
		return Errand{}, false, err
	}
	// Every refusal at once, the item's materials included, so a form shows
	// all that needs fixing in one go.
	var item Item
	var materials []string
	if code := strings.TrimSpace(in.ItemCode); code == "" {
		f.add("item_code", "required")
	} else {
		var err error
		item, err = ref.item(ctx, code)
		switch {
		case isNotFound(err):
			f.add("item_code", "no_such_item")
		case err != nil:
			return Errand{}, false, err
		case !item.Active:
			f.add("item_code", "item_inactive")
		default:
			materials = materialFields(&f, "materials", in.Materials, item.Materials, false)
			for _, m := range item.Materials {
				if !slices.Contains(materials, m) {
					f.add("materials", "missing_material", m)
				}
			}
		}
	}
	if err := f.err(); err != nil {
		return Errand{}, false, err
	}
	seq, err := s.receipts.next(ctx)
	if err != nil {
		return Errand{}, false, err
	}
	e, ev := NewErrand(a, item, Intake{
		ID: s.newID(), ReceiptNo: FormatReceiptNo(now, seq), VerifyCode: NewVerifyCode(),
		Applicant: app, Materials: materials, Channel: in.Channel, Note: note, NoSMS: in.NoSMS, At: now,
	}, ref.cal)
	if idem != nil {
		idem.At = now
	}
	if err := s.errands.CreateErrand(ctx, e, ev, s.notices(ctx, e, ev), idem); err != nil {
		if isIdemTaken(err) {
			return s.replayRace(ctx, idem)
		}
		return Errand{}, false, err
	}
	s.wake()
	e.AgentName, e.AgentPhone, e.IntakeName, e.HolderName = a.Name, a.Phone, a.OrgName, a.OrgName
	return e, false, nil
}

// Intake is what registration settles before the errand exists.
type Intake struct {
	ID, ReceiptNo, VerifyCode string
	Applicant                 Applicant
	Materials                 []string
	Channel                   Channel
	Note                      string
	NoSMS                     bool
	At                        time.Time
}

// NewErrand builds a registered errand and its first event from validated
// input: the deadline counts the item's working days from the intake day.
func NewErrand(a Actor, item Item, in Intake, cal *Calendar) (Errand, Event) {
	e := Errand{
		ID: in.ID, ReceiptNo: in.ReceiptNo, VerifyCode: in.VerifyCode,
		ItemID: item.ID, ItemCode: item.Code, ItemName: item.Name, Category: item.Category,
		ItemLevel: item.Level, TimeLimitDays: item.TimeLimitDays,
		Applicant: in.Applicant, Materials: in.Materials, Channel: in.Channel, Note: in.Note, NoSMS: in.NoSMS,
		IntakeOrgID: a.OrgID, OrgPath: a.OrgPath, AgentID: a.UserID,
		HolderOrgID: a.OrgID, HolderLevel: LevelVillage, Status: StatusRegistered,
		RegisteredAt: in.At, DueAt: cal.DueAt(in.At, item.TimeLimitDays),
	}
	ev := Event{
		ErrandID: e.ID, Action: ActionRegister, To: StatusRegistered,
		ActorID: a.UserID, ActorName: a.Name, ActorRole: a.Role, OrgID: a.OrgID,
		At: in.At, Note: in.Note, DueAt: e.DueAt,
	}
	Link(&e, &ev)
	return e, ev
}

// AsRegistered is the errand as its registration left it, rebuilt from the
// errand as it is now and its events (the first one and any corrections):
// what registration sets is changed only by a correction, whose changes say
// what it was, and every field a step changes goes back to its value at
// intake. An idempotent registration is replayed from it.
func AsRegistered(e Errand, events []Event) Errand {
	first := events[0]
	for i := len(events) - 1; i > 0; i-- {
		for _, c := range events[i].Changes {
			switch c.Field {
			case "applicant.name":
				e.Applicant.Name = c.From
			case "applicant.phone":
				e.Applicant.Phone = c.From
			case "applicant.address":
				e.Applicant.Address = c.From
			}
		}
	}
	e.HolderOrgID, e.HolderLevel, e.Status = e.IntakeOrgID, LevelVillage, StatusRegistered
	e.Outcome, e.OutcomeReason = "", ""
	e.ReturnedByOrgID, e.ReturnedByLevel, e.MissingMaterials = "", "", []string{}
	e.PausedAt, e.PausedDays, e.Extensions = time.Time{}, 0, 0
	e.Urges, e.UrgedAt = 0, time.Time{}
	e.DueAt = first.DueAt
	e.CompletedAt, e.DeliveredAt, e.WithdrawnAt = time.Time{}, time.Time{}, time.Time{}
	e.WorkingDays, e.OnTime, e.ReceiptRecovered, e.Satisfaction = 0, false, false, 0
	e.Version, e.LastHash = first.Seq, first.Hash
	return e
}

// Transition applies one lifecycle action to an errand at the version the
// caller last saw.
func (s *Service) Transition(ctx context.Context, a Actor, id string, act Action, version int, in StepInput, idem *IdemKey) (Errand, bool, error) {
	if version < 1 {
		return Errand{}, false, InvalidField("version", "version_required")
	}
	e, err := s.Errand(ctx, a, id)
	if err != nil {
		return Errand{}, false, err
	}
	if e.Version != version {
		// A retry of a step that was done finds the errand moved on by it:
		// then the first answer is this request's answer.
		if r, ok, err := s.replay(ctx, idem); ok || err != nil {
			return r, ok, err
		}
		return Errand{}, false, VersionConflict(e.Version)
	}
	ref, err := s.reference(ctx)
	if err != nil {
		return Errand{}, false, err
	}
	sc := StepContext{Now: s.now(), Calendar: ref.cal}
	if act == ActionForward {
		holder, err := s.org(ctx, e.HolderOrgID)
		if err != nil {
			return Errand{}, false, err
		}
		if holder.ParentID != "" {
			parent, err := s.org(ctx, holder.ParentID)
			if err != nil {
				return Errand{}, false, err
			}
			sc.Parent = &parent
		}
	}
	if act == ActionReturn {
		if sc.Item, err = ref.item(ctx, e.ItemCode); err != nil {
			return Errand{}, false, err
		}
	}
	if idem != nil {
		idem.At = sc.Now
	}
	var out Errand
	err = s.errands.UpdateErrand(ctx, id, func(cur *Errand) (Event, []Notice, error) {
		if cur.Version != version {
			return Event{}, nil, VersionConflict(cur.Version)
		}
		next, ev, err := Apply(*cur, a, act, in, sc)
		if err != nil {
			return Event{}, nil, err
		}
		Link(&next, &ev)
		*cur, out = next, next
		return ev, s.notices(ctx, next, ev), nil
	}, idem)
	if err != nil {
		if isIdemTaken(err) {
			return s.replayRace(ctx, idem)
		}
		return Errand{}, false, err
	}
	s.wake()
	return s.withNames(ctx, out), false, nil
}

// Errand returns one errand if the caller may see it; otherwise not found,
// since its existence is none of the caller's business.
func (s *Service) Errand(ctx context.Context, a Actor, id string) (Errand, error) {
	if !a.Role.Staff() {
		return Errand{}, ErrForbidden
	}
	e, err := s.errands.Errand(ctx, id)
	if err != nil {
		return Errand{}, err
	}
	if !a.Sees(e) {
		return Errand{}, NotFound("errand")
	}
	return e, nil
}

// Events returns an errand's timeline, oldest first.
func (s *Service) Events(ctx context.Context, a Actor, id string) ([]Event, error) {
	if _, err := s.Errand(ctx, a, id); err != nil {
		return nil, err
	}
	evs, err := s.errands.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	// A correction's old and new values are masked for those who see the
	// applicant masked (its hash stays that of the full values).
	for i := range evs {
		for j, c := range evs[i].Changes {
			evs[i].Changes[j] = c.For(a)
		}
	}
	return evs, nil
}

// Sees reports whether the actor's scope covers the errand: an agent the own
// village, a township officer and the city roles their own subtree (a
// province's tree has several cities side by side, each a root), the
// admin everything.
func (a Actor) Sees(e Errand) bool {
	switch a.Role {
	case RoleAgent:
		return e.IntakeOrgID == a.OrgID
	case RoleTownshipOfficer, RoleCityOfficer, RoleSupervisor, RoleHotlineOperator:
		// A hotline operator answers callers about their errands too.
		return InSubtree(e.OrgPath, a.OrgPath)
	case RoleAdmin:
		return true
	}
	return false
}

// ScopePath is the subtree the actor reads.
func (a Actor) ScopePath() string { return a.OrgPath }

// ListUnder is the subtree the actor's listings and checks of accounts and
// reports are narrowed to: the own, or everything ("") for the admin.
func (a Actor) ListUnder() string {
	if a.Role == RoleAdmin {
		return ""
	}
	return a.OrgPath
}

// FullApplicant reports whether the actor sees the applicant's ID number and
// phone unmasked in an errand's detail: those who handle the case do.
func (a Actor) FullApplicant() bool {
	return a.Role == RoleAgent || a.Role.Officer()
}

func (s *Service) withNames(ctx context.Context, e Errand) Errand {
	if o, err := s.org(ctx, e.IntakeOrgID); err == nil {
		e.IntakeName = o.Name
	}
	if o, err := s.org(ctx, e.HolderOrgID); err == nil {
		e.HolderName = o.Name
	}
	if u, err := s.user(ctx, e.AgentID); err == nil {
		e.AgentName, e.AgentPhone = u.DisplayName, u.Phone
	}
	return e
}

func (s *Service) replay(ctx context.Context, idem *IdemKey) (Errand, bool, error) {
	if idem == nil {
		return Errand{}, false, nil
	}
	rec, err := s.errands.Idempotent(ctx, idem.Key)
	if err != nil {
		if isNotFound(err) {
			return Errand{}, false, nil
		}
		return Errand{}, false, err
	}
	if rec.Hash != idem.Hash {
		return Errand{}, false, &Error{Kind: KindInvalid, Code: "idempotency_key_reused",
			Detail: "this Idempotency-Key was used with a different request", Fields: []FieldError{NewFieldError("Idempotency-Key", "idempotency_key_reused")}}
	}
	return s.withNames(ctx, rec.Errand), true, nil
}

// replayRace answers a request that lost the race for its idempotency key
// to a concurrent twin: the twin's result is now stored.
func (s *Service) replayRace(ctx context.Context, idem *IdemKey) (Errand, bool, error) {
	e, ok, err := s.replay(ctx, idem)
	if err == nil && !ok {
		err = Conflict("idempotency_in_flight", "a request with this Idempotency-Key is still being processed")
	}
	return e, ok, err
}
