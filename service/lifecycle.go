package service

import (
	"slices"
	"strings"
	"time"
)

// Status is where an errand stands in its lifecycle.
type Status string

const (
	StatusRegistered Status = "registered" // taken in at the village
	StatusForwarded  Status = "forwarded"  // sent one level up, not yet accepted
	StatusProcessing Status = "processing" // accepted by a service centre
	StatusCorrection Status = "correction" // returned to the village for missing materials
	StatusCompleted  Status = "completed"  // decided: approved or refused
	StatusDelivered  Status = "delivered"  // result handed over, receipt recovered or lost
	StatusWithdrawn  Status = "withdrawn"  // withdrawn before completion
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusRegistered, StatusForwarded, StatusProcessing, StatusCorrection, StatusCompleted, StatusDelivered, StatusWithdrawn}

// OpenStatuses are the statuses in which the deadline runs or is paused.
var OpenStatuses = []Status{StatusRegistered, StatusForwarded, StatusProcessing, StatusCorrection}

// Open reports whether the errand still awaits a decision.
func (s Status) Open() bool { return slices.Contains(OpenStatuses, s) }

// Label is the status as residents read it.
func (s Status) Label() string {
	switch s {
	case StatusRegistered:
		return "已登记"
	case StatusForwarded:
		return "已转报"
	case StatusProcessing:
		return "办理中"
	case StatusCorrection:
		return "待补正"
	case StatusCompleted:
		return "已办结"
	case StatusDelivered:
		return "已送达"
	case StatusWithdrawn:
		return "已撤回"
	}
	return string(s)
}

// Action is a step of the lifecycle.
type Action string

const (
	ActionRegister Action = "register"
	ActionForward  Action = "forward"
	ActionAccept   Action = "accept"
	ActionReturn   Action = "return"
	ActionResubmit Action = "resubmit"
	ActionComplete Action = "complete"
	ActionDeliver  Action = "deliver"
	ActionWithdraw Action = "withdraw"
	ActionExtend   Action = "extend"
	ActionUrge     Action = "urge"    // 催办: the supervisors press the holder; the status stays
	ActionCorrect  Action = "correct" // the intake agent fixes a mistyped name, phone or address; the status stays
)

// Actions lists every action taken on an existing errand.
var Actions = []Action{ActionForward, ActionAccept, ActionReturn, ActionResubmit, ActionComplete, ActionDeliver, ActionWithdraw, ActionExtend, ActionUrge, ActionCorrect}

// Label is the action as the timeline shows it.
func (a Action) Label() string {
	switch a {
	case ActionRegister:
		return "登记受理"
	case ActionForward:
		return "转报"
	case ActionAccept:
		return "接收"
	case ActionReturn:
		return "退回补正"
	case ActionResubmit:
		return "补正后重新报送"
	case ActionComplete:
		return "办结"
	case ActionDeliver:
		return "送达"
	case ActionWithdraw:
		return "撤回"
	case ActionExtend:
		return "延期"
	case ActionUrge:
		return "催办"
	case ActionCorrect:
		return "更正登记信息"
	}
	return string(a)
}

// Where says which organisation an actor must belong to for a step.
type Where int

const (
	AtIntake Where = iota + 1 // the village that registered the errand
	AtHolder                  // the organisation holding the errand now
	InScope                   // anywhere the actor's scope covers
)

// Step is one entry of the lifecycle table.
type Step struct {
	To    Status
	Roles []Role
	Where Where
}

// Lifecycle is the whole transition table: status × action → step. Anything
// not in it is refused with a conflict.
var Lifecycle = map[Status]map[Action]Step{
	StatusRegistered: {
		ActionForward:  {To: StatusForwarded, Roles: []Role{RoleAgent}, Where: AtIntake},
		ActionWithdraw: {To: StatusWithdrawn, Roles: []Role{RoleAgent}, Where: AtIntake},
		ActionUrge:     {To: StatusRegistered, Roles: []Role{RoleSupervisor}, Where: InScope},
		ActionCorrect:  {To: StatusRegistered, Roles: []Role{RoleAgent}, Where: AtIntake},
	},
	StatusForwarded: {
		ActionAccept:   {To: StatusProcessing, Roles: []Role{RoleTownshipOfficer, RoleCityOfficer}, Where: AtHolder},
		ActionWithdraw: {To: StatusWithdrawn, Roles: []Role{RoleAgent}, Where: AtIntake},
		ActionUrge:     {To: StatusForwarded, Roles: []Role{RoleSupervisor}, Where: InScope},
		ActionCorrect:  {To: StatusForwarded, Roles: []Role{RoleAgent}, Where: AtIntake},
	},
	StatusProcessing: {
		ActionForward:  {To: StatusForwarded, Roles: []Role{RoleTownshipOfficer}, Where: AtHolder},
		ActionReturn:   {To: StatusCorrection, Roles: []Role{RoleTownshipOfficer, RoleCityOfficer}, Where: AtHolder},
		ActionComplete: {To: StatusCompleted, Roles: []Role{RoleTownshipOfficer, RoleCityOfficer}, Where: AtHolder},
		ActionExtend:   {To: StatusProcessing, Roles: []Role{RoleTownshipOfficer, RoleCityOfficer}, Where: AtHolder},
		ActionWithdraw: {To: StatusWithdrawn, Roles: []Role{RoleAgent, RoleTownshipOfficer, RoleCityOfficer}, Where: AtHolder},
		ActionUrge:     {To: StatusProcessing, Roles: []Role{RoleSupervisor}, Where: InScope},
		ActionCorrect:  {To: StatusProcessing, Roles: []Role{RoleAgent}, Where: AtIntake},
	},
	StatusCorrection: {
		ActionResubmit: {To: StatusForwarded, Roles: []Role{RoleAgent}, Where: AtIntake},
		ActionWithdraw: {To: StatusWithdrawn, Roles: []Role{RoleAgent}, Where: AtIntake},
		ActionUrge:     {To: StatusCorrection, Roles: []Role{RoleSupervisor}, Where: InScope},
		ActionCorrect:  {To: StatusCorrection, Roles: []Role{RoleAgent}, Where: AtIntake},
	},
	StatusCompleted: {
		ActionDeliver: {To: StatusDelivered, Roles: []Role{RoleAgent}, Where: AtIntake},
	},
}

// Outcome is the decision on a completed errand.
type Outcome string

const (
	OutcomeApproved Outcome = "approved" // 准予
	OutcomeRefused  Outcome = "refused"  // 不予
)

// Label is the result as the ledger prints it: 准予 or 不予 (empty while
// there is none).
func (o Outcome) Label() string {
	switch o {
	case OutcomeApproved:
		return "准予"
	case OutcomeRefused:
		return "不予"
	}
	return ""
}

// Satisfaction grades of the national 好差评 scheme (GB/T 39734-2020).
var SatisfactionLabels = map[int]string{5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}

// StepInput is what a transition request carries besides the version.
type StepInput struct {
	Note             string
	MissingMaterials []string   // return
	Outcome          Outcome    // complete
	Reason           string     // return (the instruction to the applicant), complete (refused), withdraw, extend
	DueDate          Date       // extend: the new due day
	Applicant        *Applicant // correct: the name, phone and address as they should read (the ID number stays)
	ReceiptRecovered *bool      // deliver
	IDNumber         string     // deliver with a lost receipt: the applicant's ID, checked
	Satisfaction     int        // deliver: 1..5, 0 when the resident declines to rate
}

// StepContext is what a step needs to know beyond the errand and the actor.
type StepContext struct {
	Now      time.Time
	Calendar *Calendar
	Parent   *Org // the parent of the holding organisation, for forward
	Item     Item // the errand's catalogue item, for return
}

// Apply decides one step of the lifecycle without any I/O: it checks the
// role, the organisation, the status and the input, and returns the changed
// errand and the event to append. Version and hashes are the caller's.
func Apply(e Errand, a Actor, act Action, in StepInput, sc StepContext) (Errand, Event, error) {
	step, err := lookupStep(e, a, act)
	if err != nil {
		return Errand{}, Event{}, err
	}
	from := e.Status
	ev := Event{
		ErrandID: e.ID, Action: act, From: from, To: step.To,
		ActorID: a.UserID, ActorName: a.Name, ActorRole: a.Role, OrgID: a.OrgID,
		At: sc.Now, Note: strings.TrimSpace(in.Note),
	}
	var f fields
	checkText(&f, "note", ev.Note, 0, 500)
	if err := f.err(); err != nil {
		return Errand{}, Event{}, err
	}
	switch act {
	case ActionForward:
		if e.HolderLevel == e.ItemLevel {
			return Errand{}, Event{}, Conflict("decided_here", "this item is decided at the "+string(e.ItemLevel)+" level; complete it here instead of forwarding")
		}
		if sc.Parent == nil {
			return Errand{}, Event{}, Conflict("no_higher_level", "the city is the top level; there is nowhere to forward to")
		}
		e.HolderOrgID, e.HolderLevel = sc.Parent.ID, sc.Parent.Level
		ev.ToOrgID = sc.Parent.ID
	case ActionAccept:
	case ActionReturn:
		missing, err := checkMaterialList("missing_materials", in.MissingMaterials, sc.Item.Materials, true)
		if err != nil {
			return Errand{}, Event{}, err
		}
		reason := strings.TrimSpace(in.Reason)
		checkText(&f, "reason", reason, 0, 500)
		if err := f.err(); err != nil {
			return Errand{}, Event{}, err
		}
		ev.Reason = reason
		e.MissingMaterials = missing
		e.ReturnedByOrgID, e.ReturnedByLevel = e.HolderOrgID, e.HolderLevel
		e.HolderOrgID, e.HolderLevel = e.IntakeOrgID, LevelVillage
		e.PausedAt = sc.Now
		ev.MissingMaterials, ev.ToOrgID = missing, e.IntakeOrgID
	case ActionResubmit:
		paused := sc.Calendar.WorkingDaysBetween(DateOf(e.PausedAt), DateOf(sc.Now))
		e.PausedDays += paused
		e.DueAt = sc.Calendar.AddWorkingDays(DateOf(e.DueAt), paused).End()
		e.HolderOrgID, e.HolderLevel = e.ReturnedByOrgID, e.ReturnedByLevel
		e.PausedAt, e.MissingMaterials = time.Time{}, nil
		ev.ToOrgID, ev.DueAt = e.HolderOrgID, e.DueAt
	case ActionComplete:
		if e.HolderLevel != e.ItemLevel {
			return Errand{}, Event{}, Conflict("wrong_level", "this item is decided at the "+string(e.ItemLevel)+" level; forward it there")
		}
		reason := strings.TrimSpace(in.Reason)
		switch in.Outcome {
		case OutcomeApproved:
		case OutcomeRefused:
			if reason == "" {
				f.add("reason", "refusal_needs_reason")
			}
		default:
			f.add("outcome", "unknown_outcome")
		}
		checkText(&f, "reason", reason, 0, 500)
		if err := f.err(); err != nil {
			return Errand{}, Event{}, err
		}
		e.Outcome, e.OutcomeReason = in.Outcome, reason
		e.CompletedAt = sc.Now
		e.OnTime = !sc.Now.After(e.DueAt)
		e.WorkingDays = max(0, sc.Calendar.WorkingDaysBetween(DateOf(e.RegisteredAt), DateOf(sc.Now))-e.PausedDays)
		e.HolderOrgID, e.HolderLevel = e.IntakeOrgID, LevelVillage // the result goes back to the village
		ev.Outcome, ev.Reason, ev.ToOrgID = in.Outcome, reason, e.IntakeOrgID
	case ActionDeliver:
		if in.ReceiptRecovered == nil {
			f.add("receipt_recovered", "receipt_recovery_unstated")
		} else if !*in.ReceiptRecovered {
			id := NormalizeIDNumber(in.IDNumber)
			if id == "" {
				f.add("id_number", "lost_receipt_needs_id")
			} else if id != e.Applicant.IDNumber {
				f.add("id_number", "id_number_mismatch")
			}
		}
		if in.Satisfaction < 0 || in.Satisfaction > 5 {
			f.add("satisfaction", "unknown_satisfaction")
		}
		if err := f.err(); err != nil {
			return Errand{}, Event{}, err
		}
		e.DeliveredAt = sc.Now
		e.ReceiptRecovered = *in.ReceiptRecovered
		e.Satisfaction = in.Satisfaction
		ev.ReceiptRecovered, ev.Satisfaction = in.ReceiptRecovered, in.Satisfaction
	case ActionWithdraw:
		reason := strings.TrimSpace(in.Reason)
		checkText(&f, "reason", reason, 1, 500)
		if err := f.err(); err != nil {
			return Errand{}, Event{}, err
		}
		e.WithdrawnAt = sc.Now
		ev.Reason = reason
	case ActionExtend:
		reason := strings.TrimSpace(in.Reason)
		checkText(&f, "reason", reason, 1, 500)
		if in.DueDate <= DateOf(e.DueAt) {
			f.add("due_date", "not_after_due_date", DateOf(e.DueAt).String())
		} else if in.DueDate > DateOf(e.DueAt)+366 {
			f.add("due_date", "extension_too_long")
		} else if !sc.Calendar.Working(in.DueDate) {
			f.add("due_date", "not_working_day")
		}
		if err := f.err(); err != nil {
			return Errand{}, Event{}, err
		}
		e.DueAt = in.DueDate.End()
		e.Extensions++
		ev.Reason, ev.DueAt = reason, e.DueAt
	case ActionCorrect:
		if err := correct(&e, &ev, in, &f); err != nil {
			return Errand{}, Event{}, err
		}
	case ActionUrge:
		// The note is the message to the holder; the one who urges
		// writes it or lets the default stand.
		if ev.Note == "" {
			ev.Note = "请尽快办理"
		}
		e.Urges++
		e.UrgedAt = sc.Now
	}
	e.Status = step.To
	return e, ev, nil
}

// lookupStep checks the table: the action must exist in the status, the
// role must be allowed and the actor must sit where the step happens.
func lookupStep(e Errand, a Actor, act Action) (Step, error) {
	if !slices.Contains(Actions, act) {
		return Step{}, BadParam("action", "unknown_action")
	}
	if !canAct(a.Role, act) {
		return Step{}, Forbidden("role_not_allowed", "a "+string(a.Role)+" may not "+string(act)+" errands")
	}
	step, ok := Lifecycle[e.Status][act]
	if !ok {
		return Step{}, Conflict("invalid_transition", "an errand that is "+string(e.Status)+" cannot be "+pastTense(act))
	}
	if !slices.Contains(step.Roles, a.Role) || !sitsAt(e, a, step.Where) {
		return Step{}, Forbidden("wrong_organisation", "only the "+whereLabel(step.Where)+" may "+string(act)+" this errand now")
	}
	return step, nil
}

func sitsAt(e Errand, a Actor, w Where) bool {
	switch w {
	case AtIntake:
		return a.OrgID == e.IntakeOrgID
	case AtHolder:
		// An agent withdraws through the intake village, whoever holds it.
		if a.Role == RoleAgent {
			return a.OrgID == e.IntakeOrgID
		}
		return a.OrgID == e.HolderOrgID
	case InScope:
		return a.Sees(e)
	}
	return false
}

// canAct reports whether the role appears anywhere in the table for act.
func canAct(r Role, act Action) bool {
	for _, steps := range Lifecycle {
		if st, ok := steps[act]; ok && slices.Contains(st.Roles, r) {
			return true
		}
	}
	return false
}

func whereLabel(w Where) string {
	switch w {
	case AtIntake:
		return "village that registered it"
	case InScope:
		return "supervisors whose area covers it"
	}
	return "organisation holding it"
}

func pastTense(a Action) string {
	switch a {
	case ActionForward:
		return "forwarded"
	case ActionAccept:
		return "accepted"
	case ActionReturn:
		return "returned for correction"
	case ActionResubmit:
		return "resubmitted"
	case ActionComplete:
		return "completed"
	case ActionDeliver:
		return "delivered"
	case ActionWithdraw:
		return "withdrawn"
	case ActionExtend:
		return "extended"
	case ActionUrge:
		return "urged"
	case ActionCorrect:
		return "corrected"
	}
	return string(a)
}

// checkMaterialList trims, de-duplicates and checks that every entry belongs
// to the item's list.
func checkMaterialList(field string, list, allowed []string, nonEmpty bool) ([]string, error) {
	var f fields
	out := materialFields(&f, field, list, allowed, nonEmpty)
	return out, f.err()
}

// materialFields is checkMaterialList adding its refusals to f.
func materialFields(f *fields, field string, list, allowed []string, nonEmpty bool) []string {
	if nonEmpty && len(list) == 0 {
		f.add(field, "no_material_named")
	}
	out := make([]string, 0, len(list))
	for i, m := range list {
		m = strings.TrimSpace(m)
		switch {
		case !slices.Contains(allowed, m):
			f.add(field+"["+itoa(i)+"]", "not_a_material")
		case slices.Contains(out, m):
			f.add(field+"["+itoa(i)+"]", "listed_twice")
		default:
			out = append(out, m)
		}
	}
	return out
}

// correct applies a correction of the applicant's name, phone or address
// with its reason, recording each field that changes; a correction that
// changes nothing is refused.
func correct(e *Errand, ev *Event, in StepInput, f *fields) error {
	reason := strings.TrimSpace(in.Reason)
	checkText(f, "reason", reason, 1, 500)
	if in.Applicant == nil {
		f.add("applicant", "correction_required")
		return f.err()
	}
	next := Applicant{Name: strings.TrimSpace(in.Applicant.Name), Phone: NormalizePhone(in.Applicant.Phone),
		Address: strings.TrimSpace(in.Applicant.Address)}
	checkText(f, "applicant.name", next.Name, 1, 40)
	if !ValidPhone(next.Phone) {
		f.add("applicant.phone", "invalid_phone")
	}
	checkText(f, "applicant.address", next.Address, 0, 120)
	if err := f.err(); err != nil {
		return err
	}
	for _, c := range []Change{
		{"applicant.name", e.Applicant.Name, next.Name},
		{"applicant.phone", e.Applicant.Phone, next.Phone},
		{"applicant.address", e.Applicant.Address, next.Address},
	} {
		if c.From != c.To {
			ev.Changes = append(ev.Changes, c)
		}
	}
	if len(ev.Changes) == 0 {
		f.add("applicant", "nothing_to_correct")
		return f.err()
	}
	e.Applicant.Name, e.Applicant.Phone, e.Applicant.Address = next.Name, next.Phone, next.Address
	ev.Reason = reason
	return nil
}
