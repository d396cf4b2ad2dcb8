package demo

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/google/uuid"

	"daiban/service"
	"daiban/store"
)

// The Changle figures: 75,620 errands accepted, 74,077 of them completed.
const (
	changleAccepted  = 75620
	changleCompleted = 74077
)

// CompletedFor is how many of n accepted errands the demo completes, so any
// n reproduces Changle's completion rate (n = 75,620 gives 74,077: 97.96%).
func CompletedFor(n int) int { return (n*changleCompleted*2 + changleAccepted) / (2 * changleAccepted) }

// WithdrawnFor is how many withdrawn errands come on top of n accepted ones.
func WithdrawnFor(n int) int { return n / 200 }

const chunk = 5000

type actorKind int

const (
	byAgent actorKind = iota
	byTownship
	byCity
)

type step struct {
	act   service.Action
	at    time.Time
	by    actorKind
	input func(e service.Errand) service.StepInput
}

type plan struct {
	village int
	agent   int
	item    int
	reg     time.Time
	steps   []step
}

// completeAt is when the plan completes the errand (zero if it never does).
func (p *plan) completeAt() time.Time {
	for _, s := range p.steps {
		if s.act == service.ActionComplete {
			return s.at
		}
	}
	return time.Time{}
}

type generator struct {
	d        Deployment
	cal      *service.Calendar
	seed     uint64
	now      time.Time
	workdays []service.Date
	weights  []int // cumulative item weights
	orgs     map[string]service.Org
}

var refusals = []string{"材料不符合法定条件", "不符合申请条件", "申请事项不属于受理范围", "经审核家庭收入超过标准", "用地位置不符合规划"}
var withdrawals = []string{"申请人主动撤回", "申请人已自行办理", "申请人情况发生变化"}

// popular items are asked for three times as often as the rest.
var popular = []string{"SH01", "SH02", "SF01", "JS01", "DY03", "LY04", "SH05"}

func generate(ctx context.Context, st *store.Store, _ *rand.Rand, d Deployment, o Options) (int, int, error) {
	g := &generator{d: d, cal: service.NewCalendar(service.ShippedCalendars()), seed: o.Seed, now: o.Now.UTC(), orgs: map[string]service.Org{}}
	for _, org := range d.Orgs() {
		g.orgs[org.ID] = org
	}
	today := service.DateOf(g.now)
	for day := today - 730; day <= today; day++ {
		if g.cal.Working(day) {
			g.workdays = append(g.workdays, day)
		}
	}
	sum := 0
	for _, it := range d.Items {
		w := 1
		if slices.Contains(popular, it.Code) {
			w = 3
		}
		sum += w
		g.weights = append(g.weights, sum)
	}

	accepted, total := o.Errands, o.Errands+WithdrawnFor(o.Errands)
	// First pass: when would each errand complete if left alone? Then leave
	// just enough open (or finish just enough early) to hit the completion
	// target. Errands go in registration order, so ids, receipt numbers and
	// index pages all grow with time.
	type when struct {
		i  int
		at int64 // registration for open errands, completion for the others
	}
	var open, completed []when
	order := make([]when, total)
	reg := make([]int64, total)
	for i := 0; i < total; i++ {
		p := g.plan(i, i >= accepted)
		order[i], reg[i] = when{i, p.reg.UnixNano()}, p.reg.UnixNano()
		if i >= accepted {
			continue
		}
		if at := p.completeAt(); at.After(g.now) {
			open = append(open, when{i, p.reg.UnixNano()})
		} else {
			completed = append(completed, when{i, at.UnixNano()})
		}
	}
	slices.SortFunc(order, func(a, b when) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.i, b.i)) })
	const (
		natural = iota
		stuck   // completes later than now: left open, usually overdue
		rush    // would still be open: finished before now
	)
	fate := make([]uint8, total)
	want := accepted - CompletedFor(accepted)
	if len(open) < want {
		// Stragglers come from every month before this one, drawn at
		// random, so each past month has about Changle's rate and this
		// month shows what its own errands would have done by now: the
		// short ones mostly done, the long ones still open.
		monthStart := time.Date(g.now.In(service.Shanghai).Year(), g.now.In(service.Shanghai).Month(), 1, 0, 0, 0, 0, service.Shanghai).UnixNano()
		var before []when
		for _, w := range completed {
			if reg[w.i] < monthStart {
				before = append(before, w)
			}
		}
		if len(before) < want-len(open) {
			before = completed
		}
		rand.New(rand.NewPCG(g.seed, 0x57c4)).Shuffle(len(before), func(a, b int) { before[a], before[b] = before[b], before[a] })
		for _, w := range before[:want-len(open)] {
			fate[w.i] = stuck
		}
	} else {
		slices.SortFunc(open, func(a, b when) int { return cmp.Compare(a.at, b.at) }) // oldest first
		for _, w := range open[:len(open)-want] {
			fate[w.i] = rush
		}
	}

	first, err := st.ReserveReceiptBlock(ctx, int64(total))
	if err != nil {
		return 0, 0, err
	}
	// Workers play chunks through the lifecycle while this goroutine writes
	// the finished ones, in order.
	type batch struct {
		errands []service.Errand
		events  [][]service.Event
		n       int
		err     error
	}
	chunks := (total + chunk - 1) / chunk
	results := make([]chan batch, chunks)
	for c := range results {
		results[c] = make(chan batch, 1)
	}
	jobs := make(chan int)
	workers := max(1, min(runtime.GOMAXPROCS(0), 4))
	inflight := make(chan struct{}, workers+1) // chunks generated but not yet written
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < workers; w++ {
		go func() {
			for c := range jobs {
				var b batch
				for pos := c * chunk; pos < min((c+1)*chunk, total) && b.err == nil; pos++ {
					i := order[pos].i
					p := g.plan(i, i >= accepted)
					switch fate[i] {
					case stuck:
						p.steps = p.steps[:slices.IndexFunc(p.steps, func(s step) bool { return s.act == service.ActionComplete })]
					case rush:
						p.compress(g.now)
					}
					if i >= accepted && p.steps[len(p.steps)-1].at.After(g.now) {
						p.compress(g.now) // a withdrawn errand is withdrawn by now
					}
					e, evs, err := g.run(p, first+int64(pos))
					if err != nil {
						b.err = fmt.Errorf("demo errand %d: %w", i, err)
					}
					b.errands, b.events = append(b.errands, e), append(b.events, evs)
					b.n += len(evs)
				}
				results[c] <- b
			}
		}()
	}
	go func() {
		defer close(jobs)
		for c := 0; c < chunks; c++ {
			select {
			case inflight <- struct{}{}:
			case <-gctx.Done():
				return
			}
			select {
			case jobs <- c:
			case <-gctx.Done():
				return
			}
		}
	}()
	events := 0
	for c := 0; c < chunks; c++ {
		b := <-results[c]
		if b.err != nil {
			return 0, 0, b.err
		}
		if err := st.LoadErrands(ctx, b.errands, b.events); err != nil {
			return 0, 0, err
		}
		<-inflight
		events += b.n
		if o.Progress != nil {
			o.Progress(min((c+1)*chunk, total), total)
		}
	}
	return total, events, nil
}

// plan draws one errand's history from its own random stream, so the same
// index always gives the same plan.
func (g *generator) plan(i int, withdrawn bool) plan {
	r := rand.New(rand.NewPCG(g.seed, uint64(i)+1))
	p := plan{village: r.IntN(len(g.d.Villages))}
	p.agent = r.IntN(len(g.d.AgentsOf[p.village]))
	w := r.IntN(g.weights[len(g.weights)-1])
	p.item, _ = slices.BinarySearch(g.weights, w+1)
	item := g.d.Items[p.item]
	day := g.workdays[r.IntN(len(g.workdays))]
	p.reg = officeTime(day, r)
	if p.reg.After(g.now) {
		p.reg = g.now.Add(-time.Duration(1+r.IntN(120)) * time.Minute)
	}
	at := p.reg
	add := func(act service.Action, by actorKind, t time.Time, in func(service.Errand) service.StepInput) {
		if in == nil {
			in = func(service.Errand) service.StepInput { return service.StepInput{} }
		}
		p.steps = append(p.steps, step{act: act, at: t, by: by, input: in})
		at = t
	}
	add(service.ActionForward, byAgent, g.later(at, 20+r.IntN(160), r), nil)
	if withdrawn {
		if r.IntN(2) == 0 {
			add(service.ActionAccept, byTownship, g.afterDays(at, r.IntN(2), r), nil)
		}
		reason := withdrawals[r.IntN(len(withdrawals))]
		add(service.ActionWithdraw, byAgent, g.afterDays(at, 1+r.IntN(3), r), func(service.Errand) service.StepInput {
			return service.StepInput{Reason: reason}
		})
		return p
	}
	decider := byTownship
	add(service.ActionAccept, byTownship, g.afterDays(at, r.IntN(2), r), nil)
	if item.Level == service.LevelCity {
		decider = byCity
		add(service.ActionForward, byTownship, g.afterDays(at, r.IntN(2), r), nil)
		add(service.ActionAccept, byCity, g.afterDays(at, r.IntN(2), r), nil)
	}
	if r.IntN(100) < 6 {
		missing := []string{item.Materials[r.IntN(len(item.Materials))]}
		add(service.ActionReturn, decider, g.afterDays(at, 1+r.IntN(2), r), func(service.Errand) service.StepInput {
			return service.StepInput{MissingMaterials: missing, Note: "请补充材料后重新报送"}
		})
		add(service.ActionResubmit, byAgent, g.afterDays(at, 1+r.IntN(4), r), nil)
		add(service.ActionAccept, decider, g.afterDays(at, r.IntN(2), r), nil)
	}
	if r.IntN(100) < 2 {
		more := 5 + r.IntN(6)
		add(service.ActionExtend, decider, g.afterDays(at, 1+r.IntN(2), r), func(e service.Errand) service.StepInput {
			return service.StepInput{Reason: "需现场核查", DueDate: g.cal.AddWorkingDays(service.DateOf(e.DueAt), more)}
		})
	}
	used := g.cal.WorkingDaysBetween(service.DateOf(p.reg), service.DateOf(at))
	target := 1 + r.IntN(item.TimeLimitDays)
	if r.IntN(100) < 4 {
		target = item.TimeLimitDays + 1 + r.IntN(item.TimeLimitDays/2+2)
	}
	outcome, reason := service.OutcomeApproved, ""
	if r.IntN(100) < 3 {
		outcome, reason = service.OutcomeRefused, refusals[r.IntN(len(refusals))]
	}
	add(service.ActionComplete, decider, g.afterDays(at, max(0, target-used), r), func(service.Errand) service.StepInput {
		return service.StepInput{Outcome: outcome, Reason: reason}
	})
	recovered := r.IntN(100) < 97
	grade := 0
	if r.IntN(100) < 92 {
		switch x := r.IntN(1000); {
		case x < 800:
			grade = 5
		case x < 950:
			grade = 4
		case x < 990:
			grade = 3
		case x < 997:
			grade = 2
		default:
			grade = 1
		}
	}
	add(service.ActionDeliver, byAgent, g.afterDays(at, 1+r.IntN(3), r), func(e service.Errand) service.StepInput {
		return service.StepInput{ReceiptRecovered: &recovered, IDNumber: e.Applicant.IDNumber, Satisfaction: grade}
	})
	return p
}

// compress retimes the steps into the first nine tenths of the time
// between registration and now, keeping their order.
func (p *plan) compress(now time.Time) {
	last := p.steps[len(p.steps)-1].at
	span, room := last.Sub(p.reg), now.Sub(p.reg)*9/10
	for i := range p.steps {
		p.steps[i].at = p.reg.Add(time.Duration(float64(p.steps[i].at.Sub(p.reg)) * float64(room) / float64(span)))
	}
}

// run plays a plan through the real lifecycle, stopping at now.
func (g *generator) run(p plan, seq int64) (service.Errand, []service.Event, error) {
	r := rand.New(rand.NewPCG(g.seed^0x5eed, uint64(seq)))
	village := g.d.Villages[p.village]
	agent := g.d.AgentsOf[p.village][p.agent]
	item := g.d.Items[p.item]
	actors := [3]service.Actor{
		actorOf(agent, village),
		actorOf(g.d.Officers[village.ParentID], g.orgs[village.ParentID]),
		actorOf(g.d.Officers[g.orgs[village.ParentID].ParentID], g.orgs[g.orgs[village.ParentID].ParentID]),
	}
	id := idAt(p.reg, r)
	e, ev := service.NewErrand(actors[byAgent], item, service.Intake{
		ID: id, ReceiptNo: service.FormatReceiptNo(p.reg, seq), VerifyCode: fmt.Sprintf("%06d", r.IntN(1_000_000)),
		Applicant: applicant(r, village, g.orgs[village.ParentID]), Materials: item.Materials,
		Channel: service.Channels[r.IntN(len(service.Channels))], At: p.reg,
	}, g.cal)
	events := []service.Event{ev}
	for _, s := range p.steps {
		if s.at.After(g.now) {
			break
		}
		sc := service.StepContext{Now: s.at.UTC().Truncate(time.Microsecond), Calendar: g.cal, Item: item}
		if parent, ok := g.orgs[g.orgs[e.HolderOrgID].ParentID]; ok {
			sc.Parent = &parent
		}
		next, ev, err := service.Apply(e, actors[s.by], s.act, s.input(e), sc)
		if err != nil {
			return service.Errand{}, nil, fmt.Errorf("%s at %s: %w", s.act, s.at, err)
		}
		service.Link(&next, &ev)
		e = next
		events = append(events, ev)
	}
	return e, events, nil
}

func actorOf(u service.User, o service.Org) service.Actor {
	return service.Actor{UserID: u.ID, Username: u.Username, Name: u.DisplayName, Phone: u.Phone, Role: u.Role,
		OrgID: o.ID, OrgPath: o.Path, OrgLevel: o.Level, OrgName: o.Name}
}

// officeTime is a moment of office hours (08:30–17:30) on day.
func officeTime(day service.Date, r *rand.Rand) time.Time {
	return day.Start().Add(8*time.Hour + 30*time.Minute + time.Duration(r.IntN(9*3600))*time.Second).UTC()
}

// later moves t by some minutes, spilling into the next working morning.
func (g *generator) later(t time.Time, minutes int, r *rand.Rand) time.Time {
	next := t.Add(time.Duration(minutes) * time.Minute)
	day := service.DateOf(t)
	if service.DateOf(next) != day || next.After(day.Start().Add(17*time.Hour+30*time.Minute)) {
		return officeTime(g.cal.AddWorkingDays(day, 1), r)
	}
	return next
}

// afterDays is office time k working days after t (later that day for k=0).
func (g *generator) afterDays(t time.Time, k int, r *rand.Rand) time.Time {
	if k == 0 {
		return g.later(t, 10+r.IntN(240), r)
	}
	return officeTime(g.cal.AddWorkingDays(service.DateOf(t), k), r)
}

// idAt is a UUIDv7 stamped with t, so the demo lists in registration order.
func idAt(t time.Time, r *rand.Rand) string {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	for i := 6; i < 16; i++ {
		u[i] = byte(r.UintN(256))
	}
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

func applicant(r *rand.Rand, village, township service.Org) service.Applicant {
	birth := service.MakeDate(1940+r.IntN(66), time.Month(1+r.IntN(12)), 1+r.IntN(28))
	id := fmt.Sprintf("%s%08d%03d", CityCode, birth.YMD(), r.IntN(1000))
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(id[i]-'0') * weights[i]
	}
	id += string("10X98765432"[sum%11])
	return service.Applicant{
		Name: person(r), IDNumber: id, Phone: mobile(r),
		Address: fmt.Sprintf("%s%s%s%d号", CityName, township.Name, village.Name, 1+r.IntN(300)),
	}
}
