package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"daiban/service"
	"daiban/store"
)

// The Changle report does not say how many 民情 reports the mechanism
// collected; it gives the 75,620 errands and the 972 grids. The demo takes
// 2,000 reports for Changle's 75,620 errands (one for about every 38),
// about two a day over the two years.
const changleReports = 2000

// ReportsFor is the demo's number of accepted reports for n accepted
// errands: 2,000 for Changle's 75,620.
func ReportsFor(errands int) int {
	return (errands*changleReports*2 + changleAccepted) / (2 * changleAccepted)
}

// MergedFor is how many duplicates, merged into an earlier report, come
// on top of n accepted reports.
func MergedFor(n int) int { return n / 40 }

// Channels by share: most reports come from the grid inspectors, then the
// 12319 hotline, the app and the website.
var channelWeights = []struct {
	ch service.ReportChannel
	w  int
}{{service.ReportByGrid, 55}, {service.ReportByHotline, 25}, {service.ReportByApp, 12}, {service.ReportByWeb, 8}}

// Category shares, in the order of service.ReportCategories.
var categoryWeights = map[string]int{"environment": 20, "order": 15, "traffic": 10, "facility": 15, "safety": 8, "labour": 8, "dispute": 12, "policy": 7, "other": 5}

// What residents raise, by category; %s is the place.
var reportTexts = map[string][]string{
	"environment": {"%s附近垃圾堆积多日无人清运，气味难闻", "%s有人夜间焚烧垃圾，烟雾很大", "%s河道漂浮垃圾较多，请安排清理", "%s旁小作坊排放污水，请核查"},
	"order":       {"%s路边有流动摊贩占道经营，影响通行", "%s有人私搭乱建，占用公共通道", "%s店铺门口乱堆杂物，请整治"},
	"traffic":     {"%s路口红绿灯故障，车辆通行混乱", "%s路段路面塌陷，存在安全隐患", "%s附近车辆乱停乱放，堵塞道路"},
	"facility":    {"%s路灯不亮已有一周，夜间出行不便", "%s自来水管破裂漏水", "%s健身器材损坏，请维修", "%s下水道堵塞，雨天积水严重"},
	"safety":      {"%s一处民房内存放大量液化气瓶，存在消防隐患", "%s夜间有陌生人员徘徊，请加强巡逻", "%s电动车在楼道内充电，存在火灾隐患"},
	"labour":      {"在%s附近工地务工，工资被拖欠三个月", "%s一企业未给员工缴纳社保", "%s附近工厂加班不给加班费"},
	"dispute":     {"%s两户邻居因排水问题发生纠纷，请帮助调解", "%s有住户装修噪音扰民，协商未果", "%s两家因宅基地边界发生争执"},
	"policy":      {"住在%s，咨询城乡居民医保缴费政策", "%s居民咨询高龄补贴申领条件", "%s村民咨询危房改造补助政策"},
	"other":       {"%s有一只流浪狗经常追咬行人", "%s公交站台遮雨棚损坏", "%s附近手机信号很差，请协调改善"},
}

// What handlers answer, by category.
var answerTexts = map[string][]string{
	"environment": {"已安排环卫人员现场清理，并加强日常巡查。", "经现场核查，已责令当事人停止违法行为并整改到位。"},
	"order":       {"已组织执法人员现场整治，当事人已清理完毕。", "已下达整改通知书，并纳入日常巡查范围。"},
	"traffic":     {"已通知相关单位抢修，现已恢复正常。", "已设置警示标志并安排维修，近期完成施工。"},
	"facility":    {"已安排维修人员处理，现已修复。", "已联系产权单位维修，现已恢复使用。"},
	"safety":      {"已会同消防人员上门检查，隐患已消除。", "已加强该区域夜间巡逻，并入户开展安全宣传。"},
	"labour":      {"经协调，用人单位已足额支付拖欠工资。", "已责令企业限期整改，补缴社会保险。"},
	"dispute":     {"经村（居）调解委员会调解，双方已达成一致。", "已组织双方现场协商，矛盾已化解。"},
	"policy":      {"已电话向群众解释相关政策及办理流程。", "已告知申领条件与所需材料，群众表示理解。"},
	"other":       {"已协调相关单位处理，问题已解决。", "已转有关单位跟进处理，并向群众说明情况。"},
}

// A stall stops a report at a stage, so the demo always has open reports
// in each state, overdue by now.
const (
	stallNone = iota
	stallRegistered
	stallDispatched
	stallHandling
	stallAnswered
	stallFollowUp
	stalls = stallFollowUp
)

// reportPlan is a report as it comes in; its steps are decided as it is
// played, from the deadlines the service gives it.
type reportPlan struct {
	city    int
	channel service.ReportChannel
	reg     time.Time
	grid    int  // index into Deployment.Grids, -1 for none
	byAgent bool // a grid report filed by the village agent rather than the inspector
	in      service.ReportInput
	dup     int // the report (plan index) this one repeats, -1 if none
	stall   int
}

// reportCity is one city's places and people for reports.
type reportCity struct {
	city       service.Org
	grids      []int
	towns      []service.Org
	depts      map[string]service.Org    // key (cg, zj …) → the city's department
	townDepts  map[string][2]service.Org // township id → its 综治办 and police station
	hotline    []service.User
	supervisor service.User
}

type reportGen struct {
	*generator
	cities  []reportCity
	village map[string]int // village id → index in Deployment.Villages
	gridAt  map[string]int // grid id → index in Deployment.Grids
	plans   []reportPlan
	reps    []service.Report // as registered

	// Registrations take turns in time order on one service.
	intake     *service.Service
	clock      time.Time // intake's clock: the registration whose turn it is
	turnMu     sync.Mutex
	turn       *sync.Cond
	next       int // whose turn it is
	registered []chan struct{}
}

func newReportGen(d Deployment, o Options) *reportGen {
	g := &reportGen{generator: &generator{d: d, cal: service.NewCalendar(service.ShippedCalendars()), seed: o.Seed, now: o.Now.UTC(), orgs: map[string]service.Org{}},
		village: map[string]int{}, gridAt: map[string]int{}}
	for _, org := range d.Orgs() {
		g.orgs[org.ID] = org
	}
	today := service.DateOf(g.now)
	for day := today - 730; day <= today; day++ {
		if g.cal.Working(day) {
			g.workdays = append(g.workdays, day)
		}
	}
	for i, v := range d.Villages {
		g.village[v.ID] = i
	}
	for _, c := range d.Cities {
		rc := reportCity{city: c, depts: map[string]service.Org{}, townDepts: map[string][2]service.Org{}, hotline: d.Hotline[c.ID]}
		for _, t := range d.Townships {
			if t.ParentID == c.ID {
				rc.towns = append(rc.towns, t)
			}
		}
		for i, gr := range d.Grids {
			g.gridAt[gr.ID] = i
			if strings.HasPrefix(gr.Path, c.Path) {
				rc.grids = append(rc.grids, i)
			}
		}
		for _, dep := range d.Departments {
			switch {
			case dep.ParentID == c.ID:
				for k, cd := range cityDepartments {
					if dep.Code == fmt.Sprintf("%s%04d", c.Code, k+1) {
						rc.depts[cd.key] = dep
					}
				}
			case strings.HasPrefix(dep.Path, c.Path):
				pair := rc.townDepts[dep.ParentID]
				pair[int(dep.Code[len(dep.Code)-1]-'1')] = dep
				rc.townDepts[dep.ParentID] = pair
			}
		}
		for _, u := range d.Users {
			if u.Role == service.RoleSupervisor && u.OrgID == c.ID {
				rc.supervisor = u
			}
		}
		g.cities = append(g.cities, rc)
	}
	return g
}

// generateReports plays the demo's reports through the service, each step
// at its own time on an injected clock, so every rule, deadline, counter
// and hash chain is the production one. Registrations go one at a time in
// time order (ids and receipt numbers grow with time); the later steps go
// report by report on several workers, whose writes share commits.
func generateReports(ctx context.Context, st *store.Store, d Deployment, o Options) (reports, events int, err error) {
	g := newReportGen(d, o)
	n := o.Reports
	total := n + MergedFor(n)
	g.plans = make([]reportPlan, total)
	for i := range total {
		g.plans[i] = g.plan(i, i >= n)
	}
	slices.SortStableFunc(g.plans, func(a, b reportPlan) int { return a.reg.Compare(b.reg) })
	g.settle()

	// Workers take the reports in time order, register each and play it
	// through; their writes share SQLite's commits. Registrations take
	// turns up to their write, so ids and receipt numbers follow time; a
	// duplicate waits until what it repeats is registered.
	g.reps = make([]service.Report, total)
	g.registered = make([]chan struct{}, total)
	for i := range g.registered {
		g.registered[i] = make(chan struct{})
	}
	g.turn = sync.NewCond(&g.turnMu)
	stores := st.Stores()
	stores.Reports = turnTaker{ReportStore: stores.Reports, g: g}
	g.intake = service.New(stores, service.Options{Now: func() time.Time { return g.clock }, ReceiptBlock: 1000})
	jobs := make(chan int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	context.AfterFunc(gctx, func() { // wake the registrations waiting their turn
		g.turnMu.Lock()
		g.turn.Broadcast()
		g.turnMu.Unlock()
	})
	for range reportWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &stepper{now: g.now, st: st}
			s.svc = service.New(st.Stores(), service.Options{Now: func() time.Time { return s.at }})
			for i := range jobs {
				err := g.register(gctx, s, i)
				if err == nil {
					err = g.play(gctx, s, i)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
				}
			}
			mu.Lock()
			events += s.events
			mu.Unlock()
		}()
	}
feed:
	for i := range g.plans {
		select {
		case jobs <- i:
		case <-gctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	return total, events, ctx.Err()
}

// reportWorkers play reports at once: enough for SQLite's group commit to
// carry a dozen writes a sync.
const reportWorkers = 16

// turnTaker passes the turn to register on as a registration reaches its
// write: its id and receipt number are taken by then.
type turnTaker struct {
	service.ReportStore
	g *reportGen
}

func (t turnTaker) CreateReport(ctx context.Context, r service.Report, ev service.ReportEvent, photos []service.ReportPhoto, ns []service.Notice) error {
	t.g.turnMu.Lock()
	t.g.passTurn(t.g.next) // only the registration whose turn it is gets here
	t.g.turnMu.Unlock()
	return t.ReportStore.CreateReport(ctx, r, ev, photos, ns)
}

// passTurn lets the registration after i go, if it is still i's turn.
// The caller holds turnMu.
func (g *reportGen) passTurn(i int) {
	if g.next == i {
		g.next++
		g.turn.Broadcast()
	}
}

// register takes report i in as its channel does, in its turn.
func (g *reportGen) register(ctx context.Context, s *stepper, i int) error {
	p := &g.plans[i]
	var by *service.Actor
	switch {
	case p.channel == service.ReportByGrid && p.byAgent:
		v := g.d.Villages[g.village[g.d.Grids[p.grid].ParentID]]
		a := g.holder(v, rand.New(rand.NewPCG(g.seed, uint64(i))))
		by = &a
	case p.channel == service.ReportByGrid:
		a := actorOf(g.d.Inspectors[p.grid], g.d.Grids[p.grid])
		by = &a
	case p.channel == service.ReportByHotline:
		hl := g.cities[p.city].hotline
		a := actorOf(hl[i%len(hl)], g.cities[p.city].city)
		by = &a
	}
	g.turnMu.Lock()
	for g.next != i && ctx.Err() == nil {
		g.turn.Wait()
	}
	g.clock = p.reg
	g.turnMu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	r, err := g.intake.SubmitReport(ctx, by, p.in)
	g.turnMu.Lock()
	g.passTurn(i) // if it failed before its write
	g.turnMu.Unlock()
	if err != nil {
		return fmt.Errorf("demo report %d (%s at %s): %w", i, p.channel, p.reg, err)
	}
	g.reps[i] = r
	s.events++
	close(g.registered[i])
	if p.dup >= 0 {
		select {
		case <-g.registered[p.dup]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// plan draws one report's intake from its own random stream.
func (g *reportGen) plan(i int, dup bool) reportPlan {
	r := rand.New(rand.NewPCG(g.seed^0x7265706f7274, uint64(i)+1)) // "report"
	p := reportPlan{city: r.IntN(len(g.cities)), grid: -1, dup: -1}
	if dup {
		p.dup = dupPending
	}
	c := &g.cities[p.city]
	x := r.IntN(100)
	if dup {
		x = 55 + r.IntN(45) // duplicates are calls and submissions the city centre registers
	}
	for _, cw := range channelWeights {
		if x < cw.w {
			p.channel = cw.ch
			break
		}
		x -= cw.w
	}
	day := service.DateOf(g.now) - service.Date(r.IntN(731))
	switch p.channel {
	case service.ReportByGrid:
		p.reg = officeTime(g.workdays[r.IntN(len(g.workdays))], r)
		p.byAgent = r.IntN(10) == 0
	case service.ReportByHotline:
		p.reg = day.Start().Add(8*time.Hour + time.Duration(r.IntN(12*3600))*time.Second).UTC()
	default:
		p.reg = day.Start().Add(7*time.Hour + time.Duration(r.IntN(16*3600))*time.Second).UTC()
	}
	if p.reg.After(g.now) {
		p.reg = g.now.Add(-time.Duration(1+r.IntN(120)) * time.Minute)
	}
	sum := 0
	for _, w := range categoryWeights {
		sum += w
	}
	cat, y := service.ReportCategories[0], r.IntN(sum)
	for _, rc := range service.ReportCategories {
		if y < categoryWeights[rc.Code] {
			cat = rc
			break
		}
		y -= categoryWeights[rc.Code]
	}
	in := service.ReportInput{Category: cat.Code, Urgency: service.UrgencyOrdinary}
	if (cat.Code == "safety" || cat.Code == "traffic") && r.IntN(4) == 0 || r.IntN(50) == 0 {
		in.Urgency = service.UrgencyUrgent
	}
	if p.channel == service.ReportByGrid || r.IntN(2) == 0 {
		p.grid = c.grids[r.IntN(len(c.grids))]
	}
	g.place(&p, &in, r)
	switch p.channel {
	case service.ReportByGrid:
		if r.IntN(10) < 7 {
			in.Reporter = service.Reporter{Name: person(r), Phone: mobile(r)}
		}
	case service.ReportByHotline:
		in.Reporter = service.Reporter{Name: person(r), Phone: mobile(r)}
		if r.IntN(10) == 0 {
			in.Reporter = service.Reporter{Anonymous: true}
			if r.IntN(2) == 0 {
				in.Reporter.Phone = mobile(r)
			}
		}
	default:
		in.Channel = p.channel
		in.Reporter = service.Reporter{Name: person(r), Phone: mobile(r)}
		in.ClientKey = fmt.Sprintf("198.18.%d.%d", i/250%512, i%250+1) // one address each, in the benchmarking range
	}
	p.in = in
	return p
}

// place fills the report's text, address, grid or township and
// coordinates from where it happens.
func (g *reportGen) place(p *reportPlan, in *service.ReportInput, r *rand.Rand) {
	c := &g.cities[p.city]
	var town, village service.Org
	if p.grid >= 0 {
		gr := g.d.Grids[p.grid]
		village = g.orgs[gr.ParentID]
		town = g.orgs[village.ParentID]
		if p.channel != service.ReportByGrid || p.byAgent {
			in.GridID = gr.ID
		}
		if p.channel == service.ReportByGrid || p.channel == service.ReportByApp {
			lat, lng := 25.96+(r.Float64()-0.5)*0.2, 119.52+(r.Float64()-0.5)*0.2
			in.Lat, in.Lng = &lat, &lng
		}
	} else {
		town = c.towns[r.IntN(len(c.towns))]
		if p.channel == service.ReportByApp || p.channel == service.ReportByWeb {
			in.OrgID = town.ID
		}
	}
	spot := town.Name + village.Name
	texts := reportTexts[in.Category]
	in.Text = fmt.Sprintf(texts[r.IntN(len(texts))], spot)
	in.Address = fmt.Sprintf("%s%s%d号附近", c.city.Name, spot, 1+r.IntN(300))
}

// settle, over the plans in time order, points each duplicate at the
// latest earlier report of its city and copies what it is about, and
// picks the reports that stall.
func (g *reportGen) settle() {
	latest := make([]int, len(g.cities))
	for i := range latest {
		latest[i] = -1
	}
	for i := range g.plans {
		p := &g.plans[i]
		if p.dup == dupPending {
			if t := latest[p.city]; t >= 0 {
				p.dup = t
				q := g.plans[t]
				p.grid, p.in.Category, p.in.GridID, p.in.OrgID = q.grid, q.in.Category, "", q.in.OrgID
				if q.grid >= 0 {
					p.in.GridID = g.d.Grids[q.grid].ID
				}
				p.in.Text, p.in.Address, p.in.Lat, p.in.Lng = "重复反映："+q.in.Text, q.in.Address, q.in.Lat, q.in.Lng
				if p.in.OrgID == "" && p.in.GridID == "" && p.channel != service.ReportByHotline {
					p.in.OrgID = g.cities[p.city].towns[0].ID
				}
				continue
			}
			p.dup = -1 // nothing earlier to repeat: an ordinary report
		}
		latest[p.city] = i
	}
	// Stalls: of the reports registered 15 to 60 days ago, one in ten
	// (five at least) stops at a stage, the stages in turn.
	var recent []int
	for i, p := range g.plans {
		if age := g.now.Sub(p.reg); p.dup < 0 && age < 60*24*time.Hour && age > 15*24*time.Hour {
			recent = append(recent, i)
		}
	}
	rand.New(rand.NewPCG(g.seed, 0x7374616c6c)).Shuffle(len(recent), func(a, b int) { recent[a], recent[b] = recent[b], recent[a] })
	for k, i := range recent[:min(len(recent), max(stalls, len(recent)/10))] {
		g.plans[i].stall = k%stalls + 1
	}
}

const dupPending = -2

// holder is a person who handles reports for org.
func (g *reportGen) holder(org service.Org, r *rand.Rand) service.Actor {
	switch org.Level {
	case service.LevelCity:
		for _, c := range g.cities {
			if c.city.ID == org.ID {
				return actorOf(c.hotline[r.IntN(len(c.hotline))], org)
			}
		}
	case service.LevelVillage:
		agents := g.d.AgentsOf[g.village[org.ID]]
		return actorOf(agents[r.IntN(len(agents))], org)
	}
	return actorOf(g.d.Officers[org.ID], org)
}

// route picks who should handle the report by its category, and whether a
// village sends it through its township first.
func (g *reportGen) route(p *reportPlan, rep service.Report, r *rand.Rand) (right, via service.Org) {
	c := &g.cities[p.city]
	town := c.towns[r.IntN(len(c.towns))]
	if p.grid >= 0 {
		town = g.orgs[g.orgs[g.d.Grids[p.grid].ParentID].ParentID]
	}
	td := c.townDepts[town.ID]
	x := r.IntN(100)
	pick := func(choices ...any) service.Org {
		// choices: pairs of share and organisation, shares adding to 100
		for k := 0; k < len(choices); k += 2 {
			if x < choices[k].(int) {
				return choices[k+1].(service.Org)
			}
			x -= choices[k].(int)
		}
		return town
	}
	switch rep.Category {
	case "environment":
		right = pick(40, c.depts["hb"], 30, c.depts["cg"], 30, town)
	case "order":
		right = pick(70, c.depts["cg"], 30, town)
	case "traffic":
		right = pick(60, c.depts["ga"], 40, td[deptPolice])
	case "facility":
		right = pick(60, c.depts["zj"], 40, town)
	case "safety":
		right = pick(70, td[deptPolice], 30, c.depts["ga"])
	case "labour":
		right = pick(80, c.depts["rs"], 20, town)
	case "dispute":
		right = pick(70, td[deptZongzhi], 30, town)
	case "policy":
		right = pick(60, town, 40, c.depts["rs"])
	default:
		right = town
	}
	// A village sends most of what the city's departments handle through
	// its township, which signs and passes it on.
	if g.orgs[rep.IntakeOrgID].Level == service.LevelVillage && right.Level == service.LevelDepartment && right.ParentID == c.city.ID && r.IntN(10) < 6 {
		via = town
	}
	return right, via
}

// wrongFor is where a report is wrongly dispatched first.
func (g *reportGen) wrongFor(p *reportPlan, right service.Org, r *rand.Rand) service.Org {
	c := &g.cities[p.city]
	for {
		k := cityDepartments[r.IntN(len(cityDepartments))].key
		if o := c.depts[k]; o.ID != right.ID {
			return o
		}
	}
}

// stepper plays steps through a service whose clock it sets.
type stepper struct {
	svc    *service.Service
	st     *store.Store
	at     time.Time // the service's clock
	now    time.Time // the end of the history
	rep    service.Report
	events int
}

// do takes a step at (or just after the previous step), unless that is
// after now: then it reports false and the story stops there.
func (s *stepper) do(ctx context.Context, at time.Time, a service.Actor, act service.ReportAction, in service.ReportStepInput) (bool, error) {
	if floor := s.rep.UpdatedAt.Add(time.Minute); at.Before(floor) {
		at = floor
	}
	if at.After(s.now) {
		return false, nil
	}
	s.at = at
	in.Version = s.rep.Version
	rep, err := s.svc.StepReport(ctx, a, s.rep.ID, act, in)
	if err != nil {
		return false, fmt.Errorf("demo report %s (%s, held by %s, %+v): %s at %s: %w", s.rep.No, s.rep.Status, s.rep.HolderName, in, act, at.Format(time.RFC3339), err)
	}
	s.rep = rep
	s.events++
	return true, nil
}

// play takes report i through its life up to now.
func (g *reportGen) play(ctx context.Context, s *stepper, i int) error {
	p := &g.plans[i]
	r := rand.New(rand.NewPCG(g.seed^0x706c6179, uint64(i)+1)) // "play"
	c := &g.cities[p.city]
	s.rep = g.reps[i]
	intake := g.orgs[s.rep.IntakeOrgID]
	dispatcher := g.holder(intake, r)
	supervisor := actorOf(c.supervisor, c.city)
	reg := s.rep.RegisteredAt
	if p.dup >= 0 {
		_, err := s.do(ctx, g.later(reg, 5+r.IntN(90), r), dispatcher, service.ReportMerge,
			service.ReportStepInput{MergeInto: g.reps[p.dup].No, Reason: "与已登记诉求重复"})
		return err
	}
	// urge: the city centre presses an overdue report once it is a
	// working day late, if it is still where it was by then.
	urge := func(before time.Time) error {
		at := g.afterDays(s.rep.DueAt, 1, r)
		if !before.IsZero() && !at.Before(before) {
			return nil
		}
		_, err := s.do(ctx, at, supervisor, service.ReportUrge, service.ReportStepInput{Reason: "已超期，请加快办理"})
		return err
	}
	urgent := s.rep.Urgency == service.UrgencyUrgent
	wait := func(from time.Time, lo, hi int) time.Time { // minutes, minutes for an urgent one
		if urgent {
			return from.Add(time.Duration(2+r.IntN(20)) * time.Minute)
		}
		return g.later(from, lo+r.IntN(hi-lo), r)
	}
	// respond signs for (or sends back) a dispatch, mostly within its limit.
	respond := func(a service.Actor, act service.ReportAction, reason string) (bool, error) {
		from, due := *s.rep.DispatchedAt, *s.rep.ResponseDueAt
		at := from.Add(time.Duration(float64(due.Sub(from)) * (0.05 + 0.9*r.Float64())))
		if r.IntN(100) < 7 {
			at = due.Add(time.Duration(20+r.IntN(300)) * time.Minute)
		}
		return s.do(ctx, at, a, act, service.ReportStepInput{Reason: reason})
	}
	if p.stall == stallRegistered {
		return urge(time.Time{})
	}
	right, via := g.route(p, s.rep, r)
	first := right
	if via.ID != "" {
		first = via
	}
	at := wait(reg, 10, 150)
	if r.IntN(100) < 6 {
		wrong := g.wrongFor(p, first, r)
		if ok, err := s.do(ctx, at, dispatcher, service.ReportDispatch, service.ReportStepInput{ToOrgID: wrong.ID}); !ok || err != nil {
			return err
		}
		if ok, err := respond(g.holder(wrong, r), service.ReportSendBack, "不属于本单位职责范围，请重新分派"); !ok || err != nil {
			return err
		}
		at = wait(s.rep.UpdatedAt, 10, 120)
	}
	if ok, err := s.do(ctx, at, dispatcher, service.ReportDispatch, service.ReportStepInput{ToOrgID: first.ID}); !ok || err != nil {
		return err
	}
	if p.stall == stallDispatched {
		return urge(time.Time{})
	}
	handler := g.holder(first, r)
	if ok, err := respond(handler, service.ReportSign, ""); !ok || err != nil {
		return err
	}
	if via.ID != "" {
		dispatcher = handler
		if ok, err := s.do(ctx, wait(s.rep.UpdatedAt, 20, 240), dispatcher, service.ReportDispatch, service.ReportStepInput{ToOrgID: right.ID}); !ok || err != nil {
			return err
		}
		handler = g.holder(right, r)
		if ok, err := respond(handler, service.ReportSign, ""); !ok || err != nil {
			return err
		}
	}
	signed := s.rep.UpdatedAt
	if p.stall == stallHandling {
		return urge(time.Time{})
	}
	if !urgent && r.IntN(100) < 4 {
		ask := g.afterDays(signed, 1+r.IntN(2), r)
		if ask.Before(s.rep.DueAt) {
			days := 3 + r.IntN(3)
			if ok, err := s.do(ctx, ask, handler, service.ReportExtend, service.ReportStepInput{Days: days, Reason: "需协调多个部门现场处置，申请延期"}); !ok || err != nil {
				return err
			}
			decide, in := service.ReportApprove, service.ReportStepInput{Days: days, Reason: "同意延期"}
			if r.IntN(4) == 0 {
				decide, in = service.ReportDeny, service.ReportStepInput{Reason: "请按原期限办结"}
			}
			if ok, err := s.do(ctx, g.afterDays(ask, r.IntN(2), r), dispatcher, decide, in); !ok || err != nil {
				return err
			}
		}
	}
	answer := func(from time.Time) (bool, error) {
		due := s.rep.DueAt
		at := g.within(from, due, r)
		if r.IntN(100) < 9 {
			at = g.afterDays(due, 1+r.IntN(4), r)
			if r.IntN(2) == 0 {
				if err := urge(at); err != nil {
					return false, err
				}
			}
		}
		texts := answerTexts[s.rep.Category]
		return s.do(ctx, at, handler, service.ReportAnswer, service.ReportStepInput{Answer: texts[r.IntN(len(texts))]})
	}
	if ok, err := answer(s.rep.UpdatedAt); !ok || err != nil {
		return err
	}
	if r.IntN(100) < 5 {
		if ok, err := s.do(ctx, g.afterDays(s.rep.UpdatedAt, r.IntN(2), r), dispatcher, service.ReportReject,
			service.ReportStepInput{Reason: "答复未解决群众实际问题，请重新核实办理"}); !ok || err != nil {
			return err
		}
		if ok, err := answer(s.rep.UpdatedAt); !ok || err != nil {
			return err
		}
	}
	if p.stall == stallAnswered {
		return nil
	}
	if ok, err := s.do(ctx, g.afterDays(s.rep.UpdatedAt, r.IntN(2), r), dispatcher, service.ReportAccept, service.ReportStepInput{}); !ok || err != nil {
		return err
	}
	if s.rep.Reporter.Phone != "" {
		// The answer's text went out a few seconds after it was accepted.
		id := fmt.Sprintf("report.%s.%d.sms", s.rep.ID, s.rep.Version)
		if err := s.st.RecordDeliveries(ctx, s.rep.UpdatedAt.Add(time.Duration(2+r.IntN(10))*time.Second), []string{id}, nil); err != nil {
			return err
		}
	}
	if p.stall == stallFollowUp {
		return nil
	}
	in := service.ReportStepInput{Grade: grade(r)}
	if s.rep.Reporter.Phone == "" && s.rep.Channel != service.ReportByGrid || r.IntN(100) < 5 {
		in = service.ReportStepInput{Unreachable: true, Reason: "多次回访无法联系到反映人"}
	}
	_, err := s.do(ctx, g.afterDays(s.rep.UpdatedAt, 1+r.IntN(3), r), dispatcher, service.ReportClose, in)
	return err
}

// within is an office-hours moment between from and due, on a working day
// drawn between them.
func (g *reportGen) within(from, due time.Time, r *rand.Rand) time.Time {
	a, b := service.DateOf(from), service.DateOf(due)
	at := officeTime(a+service.Date(r.IntN(int(max(b-a, 0))+1)), r)
	if !g.cal.Working(service.DateOf(at)) || !at.After(from) || at.After(due) {
		at = from.Add(due.Sub(from) * time.Duration(1+r.IntN(9)) / 10)
	}
	return at
}

// grade is a reporter's satisfaction at follow-up: mostly 满意 or 非常满意.
func grade(r *rand.Rand) int {
	switch x := r.IntN(100); {
	case x < 58:
		return 5
	case x < 90:
		return 4
	case x < 97:
		return 3
	case x < 99:
		return 2
	}
	return 1
}
