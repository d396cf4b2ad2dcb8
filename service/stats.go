package service

import (
	"context"
	"slices"
	"strconv"
	"time"
)

// GroupBy is a dimension of the completion statistics.
type GroupBy string

const (
	GroupNone     GroupBy = ""
	GroupTownship GroupBy = "township"
	GroupVillage  GroupBy = "village"
	GroupCategory GroupBy = "category"
	GroupItem     GroupBy = "item"
	GroupAgent    GroupBy = "agent"
	GroupMonth    GroupBy = "month"
)

// GroupBys lists the dimensions, for validation.
var GroupBys = []GroupBy{GroupTownship, GroupVillage, GroupCategory, GroupItem, GroupAgent, GroupMonth}

// StatsQuery is a statistics request after validation: errands registered
// on days From..To (Shanghai) in the subtree Under.
type StatsQuery struct {
	From, To Date
	Under    string
	GroupBy  GroupBy
	Now      time.Time // the instant "overdue" is judged at
}

// Counts are the raw counters of one group, as the store sums them.
type Counts struct {
	Accepted    int64 // registered in the period, not withdrawn
	Completed   int64 // of those, approved or refused
	Refused     int64
	OnTime      int64 // completed no later than the due time
	WorkingDays int64 // sum of working days to completion, pauses excluded
	Delivered   int64
	Recovered   int64    // delivered with the receipt recovered
	Grades      [6]int64 // satisfaction: Grades[g] errands rated g (1..5)
	OverdueOpen int64
}

// Add sums c and o.
func (c *Counts) Add(o Counts) {
	c.Accepted += o.Accepted
	c.Completed += o.Completed
	c.Refused += o.Refused
	c.OnTime += o.OnTime
	c.WorkingDays += o.WorkingDays
	c.Delivered += o.Delivered
	c.Recovered += o.Recovered
	for g := range c.Grades {
		c.Grades[g] += o.Grades[g]
	}
	c.OverdueOpen += o.OverdueOpen
}

// StatsRow is one group as the store returns it; Key is a path for
// township and village, a code for category and item, a user id for agent,
// YYYY-MM for month, and "" for the totals.
type StatsRow struct {
	Key  string
	Name string
	Counts
}

// Hundredths is a figure with two decimals, kept exact as an integer.
type Hundredths int64

// Float is the figure as a number for JSON and spreadsheets.
func (h Hundredths) Float() float64 { return float64(h) / 100 }

func (h Hundredths) String() string {
	return strconv.FormatInt(int64(h)/100, 10) + "." + strconv.FormatInt(100+int64(h)%100, 10)[1:]
}

// ratio is num/den in hundredths rounded half up, nil when den is 0.
func ratio(num, den, scale int64) *Hundredths {
	if den == 0 {
		return nil
	}
	h := Hundredths((2*num*scale*100 + den) / (2 * den))
	return &h
}

// Rate is num/den × 100 with two decimals, rounded half up: 74,077 of
// 75,620 is 97.96. Nil when den is 0.
func Rate(num, den int64) *Hundredths { return ratio(num, den, 100) }

// Mean is num/den with two decimals, rounded half up; nil when den is 0.
func Mean(num, den int64) *Hundredths { return ratio(num, den, 1) }

// Figures are the published statistics of a group (DESIGN section 3).
type Figures struct {
	Counts
	CompletionRate *Hundredths
	OnTimeRate     *Hundredths
	RecoveryRate   *Hundredths
	AvgWorkingDays *Hundredths
	Rated          int64
	MeanRating     *Hundredths
	GradeShares    [6]*Hundredths
}

// FiguresOf derives the rates from raw counts.
func FiguresOf(c Counts) Figures {
	f := Figures{Counts: c}
	f.CompletionRate = Rate(c.Completed, c.Accepted)
	f.OnTimeRate = Rate(c.OnTime, c.Completed)
	f.RecoveryRate = Rate(c.Recovered, c.Delivered)
	f.AvgWorkingDays = Mean(c.WorkingDays, c.Completed)
	var sum int64
	for g := 1; g <= 5; g++ {
		f.Rated += c.Grades[g]
		sum += int64(g) * c.Grades[g]
	}
	f.MeanRating = Mean(sum, f.Rated)
	for g := 1; g <= 5; g++ {
		f.GradeShares[g] = Rate(c.Grades[g], f.Rated)
	}
	return f
}

// StatsGroup is one row of a grouped report.
type StatsGroup struct {
	Key  string
	Name string
	Figures
}

// StatsReport is the answer to a statistics request.
type StatsReport struct {
	From, To Date
	Org      Org
	GroupBy  GroupBy
	Totals   Figures
	Groups   []StatsGroup
}

// StatsRequest is a statistics request as the HTTP layer reads it.
type StatsRequest struct {
	From, To string
	OrgID    string
	GroupBy  string
}

// Stats computes the completion statistics of a period in the caller's
// scope: an agent the own village, a township officer the own subtree, the
// city roles everything.
func (s *Service) Stats(ctx context.Context, a Actor, r StatsRequest) (StatsReport, error) {
	q, org, err := s.statsQuery(ctx, a, r)
	if err != nil {
		return StatsReport{}, err
	}
	// A report by village, agent, item or category reads thousands of cells
	// and builds as many groups; more of them at once than there are CPUs
	// buys no throughput and only keeps more alive. The few-cell reports
	// (totals, townships, months) need no turn and wait for none.
	if q.GroupBy != GroupNone && q.GroupBy != GroupTownship && q.GroupBy != GroupMonth {
		if err := s.reports.Acquire(ctx, 1); err != nil {
			return StatsReport{}, err
		}
		defer s.reports.Release(1)
	}
	rows, err := s.stats.Stats(ctx, q)
	if err != nil {
		return StatsReport{}, err
	}
	overdue, err := s.stats.OverdueOpen(ctx, q)
	if err != nil {
		return StatsReport{}, err
	}
	return buildReport(q, org, rows, overdue), nil
}

func (s *Service) statsQuery(ctx context.Context, a Actor, r StatsRequest) (StatsQuery, Org, error) {
	if !a.Role.Staff() {
		return StatsQuery{}, Org{}, ErrForbidden
	}
	from, to, err := parsePeriod(r.From, r.To, true)
	if err != nil {
		return StatsQuery{}, Org{}, err
	}
	gb := GroupBy(r.GroupBy)
	if gb != GroupNone && !slices.Contains(GroupBys, gb) {
		return StatsQuery{}, Org{}, BadParam("group_by", "unknown_stats_group")
	}
	orgID := r.OrgID
	if orgID == "" {
		orgID = a.OrgID
	}
	org, err := s.scopedOrg(ctx, a, orgID)
	if err != nil {
		return StatsQuery{}, Org{}, err
	}
	return StatsQuery{From: from, To: to, Under: org.Path, GroupBy: gb, Now: s.now()}, org, nil
}

func buildReport(q StatsQuery, org Org, rows, overdue []StatsRow) StatsReport {
	groups := map[string]*StatsRow{}
	var order []string
	var total Counts
	add := func(r StatsRow) {
		total.Add(r.Counts)
		if q.GroupBy == GroupNone {
			return
		}
		g, ok := groups[r.Key]
		if !ok {
			g = &StatsRow{Key: r.Key, Name: r.Name}
			groups[r.Key] = g
			order = append(order, r.Key)
		}
		if g.Name == "" {
			g.Name = r.Name
		}
		g.Counts.Add(r.Counts)
	}
	for _, r := range rows {
		add(r)
	}
	for _, r := range overdue {
		add(r)
	}
	slices.Sort(order)
	rep := StatsReport{From: q.From, To: q.To, Org: org, GroupBy: q.GroupBy, Totals: FiguresOf(total), Groups: []StatsGroup{}}
	for _, k := range order {
		g := groups[k]
		rep.Groups = append(rep.Groups, StatsGroup{Key: g.Key, Name: g.Name, Figures: FiguresOf(g.Counts)})
	}
	return rep
}

// Contribution is what one errand adds to the counters of its registration
// day; the store keeps its rollups as sums of it, and the direct
// recomputation sums the same definition in SQL.
func Contribution(e Errand) Counts {
	var c Counts
	if e.ID == "" || e.Status == StatusWithdrawn {
		return c
	}
	c.Accepted = 1
	if !e.CompletedAt.IsZero() {
		c.Completed = 1
		if e.Outcome == OutcomeRefused {
			c.Refused = 1
		}
		if e.OnTime {
			c.OnTime = 1
		}
		c.WorkingDays = int64(e.WorkingDays)
	}
	if !e.DeliveredAt.IsZero() {
		c.Delivered = 1
		if e.ReceiptRecovered {
			c.Recovered = 1
		}
		if e.Satisfaction >= 1 && e.Satisfaction <= 5 {
			c.Grades[e.Satisfaction] = 1
		}
	}
	return c
}

// Sub is c minus o.
func (c Counts) Sub(o Counts) Counts {
	neg := Counts{Accepted: -o.Accepted, Completed: -o.Completed, Refused: -o.Refused, OnTime: -o.OnTime,
		WorkingDays: -o.WorkingDays, Delivered: -o.Delivered, Recovered: -o.Recovered, OverdueOpen: -o.OverdueOpen}
	for g := range o.Grades {
		neg.Grades[g] = -o.Grades[g]
	}
	c.Add(neg)
	return c
}

// IsZero reports whether every counter is zero.
func (c Counts) IsZero() bool { return c == Counts{} }
