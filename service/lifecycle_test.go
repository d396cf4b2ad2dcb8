package service

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// world is a small tree for pure lifecycle tests.
var (
	city     = Org{ID: "city", Level: LevelCity, Path: "/350182/"}
	township = Org{ID: "tw", Level: LevelTownship, ParentID: "city", Path: "/350182/350182100/"}
	village  = Org{ID: "vil", Level: LevelVillage, ParentID: "tw", Path: "/350182/350182100/350182100201/"}
	other    = Org{ID: "vil2", Level: LevelVillage, ParentID: "tw", Path: "/350182/350182100/350182100202/"}
)

func actorAt(r Role, o Org) Actor {
	return Actor{UserID: string(r) + "@" + o.ID, Name: string(r), Role: r, OrgID: o.ID, OrgPath: o.Path, OrgLevel: o.Level}
}

// errandIn builds an errand in status st, held where that status is held,
// for an item decided at level.
func errandIn(st Status, level Level) Errand {
	reg := time.Date(2026, 3, 2, 9, 0, 0, 0, Shanghai)
	e := Errand{ID: "e1", Status: st, ItemLevel: level, TimeLimitDays: 5, IntakeOrgID: village.ID, OrgPath: village.Path,
		HolderOrgID: village.ID, HolderLevel: LevelVillage, RegisteredAt: reg, DueAt: reg.Add(7 * 24 * time.Hour),
		Applicant: Applicant{Name: "张三", IDNumber: "11010519491231002X"}, Version: 3}
	switch st {
	case StatusForwarded, StatusProcessing:
		e.HolderOrgID, e.HolderLevel = township.ID, LevelTownship
	case StatusCorrection:
		e.ReturnedByOrgID, e.ReturnedByLevel, e.PausedAt = township.ID, LevelTownship, reg.Add(time.Hour)
	case StatusCompleted, StatusDelivered:
		e.CompletedAt, e.Outcome = reg.Add(48*time.Hour), OutcomeApproved
	case StatusWithdrawn:
		e.WithdrawnAt = reg.Add(time.Hour)
	}
	return e
}

// goodInput is a valid input for each action.
func goodInput(act Action) StepInput {
	yes := true
	switch act {
	case ActionReturn:
		return StepInput{MissingMaterials: []string{"户口簿"}}
	case ActionComplete:
		return StepInput{Outcome: OutcomeRefused, Reason: "不符合条件"}
	case ActionDeliver:
		return StepInput{ReceiptRecovered: &yes, Satisfaction: 4}
	case ActionWithdraw:
		return StepInput{Reason: "申请人撤回"}
	case ActionExtend:
		return StepInput{Reason: "需现场核查", DueDate: MakeDate(2026, 3, 20)}
	case ActionCorrect:
		return StepInput{Reason: "登记时姓名录错", Applicant: &Applicant{Name: "张三丰", Phone: "13912345678"}}
	}
	return StepInput{}
}

func stepContext(e Errand) StepContext {
	sc := StepContext{Now: time.Date(2026, 3, 5, 10, 0, 0, 0, Shanghai), Calendar: NewCalendar(ShippedCalendars()),
		Item: Item{Materials: []string{"身份证", "户口簿"}}}
	switch e.HolderOrgID {
	case village.ID:
		sc.Parent = &township
	case township.ID:
		sc.Parent = &city
	}
	return sc
}

// TestLifecycleExhaustive tries every status × action × role, for both
// item levels, with the errand held by a township or the city, and the actor
// at the own organisation or at a stranger one, and checks each answer
// against the table.
func TestLifecycleExhaustive(t *testing.T) {
	homes := map[Role]Org{RoleAgent: village, RoleTownshipOfficer: township, RoleCityOfficer: city, RoleSupervisor: city, RoleAdmin: city}
	strangers := map[Role]Org{RoleAgent: other, RoleTownshipOfficer: {ID: "tw2", Level: LevelTownship, Path: "/350182/350182101/"},
		RoleCityOfficer: {ID: "city2", Level: LevelCity}, RoleSupervisor: {ID: "city2"}, RoleAdmin: {ID: "city2"}}
	tried, allowed := 0, 0
	for _, st := range Statuses {
		for _, act := range Actions {
			for _, role := range Roles {
				for _, level := range []Level{LevelTownship, LevelCity} {
					for _, heldByCity := range []bool{false, true} {
						for _, home := range []bool{true, false} {
							tried++
							e := errandIn(st, level)
							if heldByCity && (st == StatusForwarded || st == StatusProcessing) {
								e.HolderOrgID, e.HolderLevel = city.ID, LevelCity
							}
							org := homes[role]
							if !home {
								org = strangers[role]
							}
							a := actorAt(role, org)
							got, ev, err := Apply(e, a, act, goodInput(act), stepContext(e))

							step, inTable := Lifecycle[st][act]
							where := e.IntakeOrgID // the village
							if inTable && step.Where == AtHolder && role != RoleAgent {
								where = e.HolderOrgID
							}
							var want string
							switch {
							case !canAct(role, act):
								want = "role_not_allowed"
							case !inTable:
								want = "invalid_transition"
							case !slices.Contains(step.Roles, role) || (step.Where == InScope && !a.Sees(e)) || (step.Where != InScope && org.ID != where):
								want = "wrong_organisation"
							case act == ActionForward && e.HolderLevel == level:
								want = "decided_here"
							case act == ActionComplete && e.HolderLevel != level:
								want = "wrong_level"
							}
							name := fmt.Sprintf("%s/%s/%s/item:%s/held:%s/home:%v", st, act, role, level, e.HolderLevel, home)
							if want == "" {
								allowed++
								if err != nil {
									t.Errorf("%s: %v, want allowed", name, err)
								} else if got.Status != step.To || ev.From != st || ev.To != step.To || ev.Action != act {
									t.Errorf("%s: went to %s (event %s→%s), want %s", name, got.Status, ev.From, ev.To, step.To)
								}
								continue
							}
							var se *Error
							if !errors.As(err, &se) || se.Code != want {
								t.Errorf("%s: %v, want %s", name, err, want)
							}
						}
					}
				}
			}
		}
	}
	if want := len(Statuses) * len(Actions) * len(Roles) * 2 * 2 * 2; tried != want {
		t.Fatalf("tried %d cases, want %d", tried, want)
	}
	if allowed < 20 {
		t.Fatalf("only %d of %d cases were allowed: the matrix does not reach the happy paths", allowed, tried)
	}
}

func TestApplyRules(t *testing.T) {
	agent, tw := actorAt(RoleAgent, village), actorAt(RoleTownshipOfficer, township)
	yes, no := true, false
	for _, c := range []struct {
		name  string
		e     Errand
		a     Actor
		act   Action
		in    StepInput
		field string
	}{
		{"refusal without reason", errandIn(StatusProcessing, LevelTownship), tw, ActionComplete, StepInput{Outcome: OutcomeRefused}, "reason"},
		{"no outcome", errandIn(StatusProcessing, LevelTownship), tw, ActionComplete, StepInput{}, "outcome"},
		{"return naming nothing", errandIn(StatusProcessing, LevelTownship), tw, ActionReturn, StepInput{}, "missing_materials"},
		{"return naming a stranger material", errandIn(StatusProcessing, LevelTownship), tw, ActionReturn, StepInput{MissingMaterials: []string{"护照"}}, "missing_materials[0]"},
		{"return with an instruction too long", errandIn(StatusProcessing, LevelTownship), tw, ActionReturn, StepInput{MissingMaterials: []string{"身份证"}, Reason: strings.Repeat("长", 501)}, "reason"},
		{"deliver without saying", errandIn(StatusCompleted, LevelTownship), agent, ActionDeliver, StepInput{}, "receipt_recovered"},
		{"lost receipt without ID", errandIn(StatusCompleted, LevelTownship), agent, ActionDeliver, StepInput{ReceiptRecovered: &no}, "id_number"},
		{"lost receipt, wrong ID", errandIn(StatusCompleted, LevelTownship), agent, ActionDeliver, StepInput{ReceiptRecovered: &no, IDNumber: "110105194912310021"}, "id_number"},
		{"grade 6", errandIn(StatusCompleted, LevelTownship), agent, ActionDeliver, StepInput{ReceiptRecovered: &yes, Satisfaction: 6}, "satisfaction"},
		{"withdraw without reason", errandIn(StatusRegistered, LevelTownship), agent, ActionWithdraw, StepInput{}, "reason"},
		{"extend backwards", errandIn(StatusProcessing, LevelTownship), tw, ActionExtend, StepInput{Reason: "x", DueDate: MakeDate(2026, 3, 3)}, "due_date"},
		{"extend to a Sunday", errandIn(StatusProcessing, LevelTownship), tw, ActionExtend, StepInput{Reason: "x", DueDate: MakeDate(2026, 3, 22)}, "due_date"},
		{"extend without reason", errandIn(StatusProcessing, LevelTownship), tw, ActionExtend, StepInput{DueDate: MakeDate(2026, 3, 20)}, "reason"},
	} {
		_, _, err := Apply(c.e, c.a, c.act, c.in, stepContext(c.e))
		var se *Error
		if !errors.As(err, &se) || se.Kind != KindInvalid || len(se.Fields) == 0 || se.Fields[0].Field != c.field {
			t.Errorf("%s: %v, want a validation error on %s", c.name, err, c.field)
		}
	}
	// A lost receipt with the right ID (lower-case x) is accepted.
	got, _, err := Apply(errandIn(StatusCompleted, LevelTownship), agent, ActionDeliver, StepInput{ReceiptRecovered: &no, IDNumber: "11010519491231002x"}, stepContext(errandIn(StatusCompleted, LevelTownship)))
	if err != nil || got.ReceiptRecovered {
		t.Errorf("lost receipt with the right ID: %v, recovered %v", err, got.ReceiptRecovered)
	}
	// An agent withdraws through the village while a township processes it.
	if _, _, err := Apply(errandIn(StatusProcessing, LevelTownship), agent, ActionWithdraw, goodInput(ActionWithdraw), stepContext(errandIn(StatusProcessing, LevelTownship))); err != nil {
		t.Errorf("agent withdrawal during processing: %v", err)
	}
}

func TestEventChain(t *testing.T) {
	cal := NewCalendar(ShippedCalendars())
	a := actorAt(RoleAgent, village)
	e, ev := NewErrand(a, Item{ID: "i", Code: "TWN", Level: LevelTownship, TimeLimitDays: 5}, Intake{ID: "e1", At: time.Date(2026, 3, 2, 9, 0, 0, 0, Shanghai)}, cal)
	events := []Event{ev}
	next, ev2, err := Apply(e, a, ActionForward, StepInput{Note: "送镇"}, StepContext{Now: e.RegisteredAt.Add(time.Hour), Calendar: cal, Parent: &township})
	if err != nil {
		t.Fatal(err)
	}
	Link(&next, &ev2)
	events = append(events, ev2)
	if b := CheckChain(next, events); b != nil {
		t.Fatalf("a fresh chain is broken: %+v", b)
	}
	for name, tamper := range map[string]func([]Event){
		"note edited":   func(evs []Event) { evs[1].Note = "改过" },
		"time moved":    func(evs []Event) { evs[0].At = evs[0].At.Add(time.Second) },
		"actor swapped": func(evs []Event) { evs[1].ActorID = "someone" },
		"relinked":      func(evs []Event) { evs[1].PrevHash = evs[1].Hash },
	} {
		evs := slices.Clone(events)
		tamper(evs)
		if CheckChain(next, evs) == nil {
			t.Errorf("%s: not detected", name)
		}
	}
	if b := CheckChain(next, events[:1]); b == nil || b.Seq != 2 {
		t.Errorf("a deleted last event: %+v", b)
	}
}

// TestAsRegistered walks random lifecycles from registration, each step one
// the table allows, and checks after every step that AsRegistered rebuilds
// the registered errand exactly from the errand as it is and its first event.
func TestAsRegistered(t *testing.T) {
	cal := NewCalendar(ShippedCalendars())
	homes := map[Role]Org{RoleAgent: village, RoleTownshipOfficer: township, RoleCityOfficer: city}
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, Shanghai)
	steps := 0
	for seed := range 200 {
		level := []Level{LevelTownship, LevelCity}[seed%2]
		item := Item{ID: "it", Code: "SH01", Name: "新农合参保登记", Category: "shehui", Level: level, TimeLimitDays: 5, Materials: []string{"身份证", "户口簿"}}
		reg, first := NewErrand(actorAt(RoleAgent, village), item, Intake{ID: "e", ReceiptNo: "260000001R", VerifyCode: "123456",
			Applicant: Applicant{Name: "陈秀英", IDNumber: "11010519491231002X", Phone: "13912345678"}, Materials: item.Materials,
			Channel: ChannelWalkIn, Note: "材料齐全", At: at}, cal)
		reg.MissingMaterials = []string{} // as a stored errand reads back
		e := reg
		history := []Event{first}
		now := at
		for n := 0; n < 12 && !(e.Status == StatusDelivered || e.Status == StatusWithdrawn); n++ {
			var choices []Action
			for act, st := range Lifecycle[e.Status] {
				if act != ActionWithdraw || (seed+n)%7 == 0 {
					for _, r := range st.Roles {
						if _, ok := homes[r]; ok {
							choices = append(choices, act)
							break
						}
					}
				}
			}
			slices.Sort(choices)
			act := choices[(seed*31+n*17)%len(choices)]
			now = now.Add(26 * time.Hour)
			var done bool
			for _, r := range Lifecycle[e.Status][act].Roles {
				a := actorAt(r, homes[r])
				if r != RoleAgent && a.OrgID != e.HolderOrgID {
					continue
				}
				sc := stepContext(e)
				sc.Now, sc.Calendar = now, cal
				in := goodInput(act)
				if act == ActionExtend {
					in.DueDate = cal.AddWorkingDays(DateOf(e.DueAt), 3)
				}
				next, ev, err := Apply(e, a, act, in, sc)
				if err != nil {
					continue // e.g. forwarding what is decided here
				}
				Link(&next, &ev)
				e, done = next, true
				history = append(history, ev)
				steps++
				break
			}
			if !done {
				break
			}
			got := AsRegistered(e, history)
			if !reflect.DeepEqual(got, reg) {
				t.Fatalf("seed %d after %s to %s:\n got %+v\nwant %+v", seed, act, e.Status, got, reg)
			}
		}
	}
	if steps < 400 {
		t.Errorf("only %d steps were taken; the walk does not reach far enough", steps)
	}
}
