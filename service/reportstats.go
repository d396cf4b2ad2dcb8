package service

import (
	"context"
	"slices"
)

// Report statistics follow section 6 of the design, over reports
// registered in [From, To] (Asia/Shanghai dates) under an organisation:
//
//   - accepted: registered in the period, not merged as a duplicate (a
//     merged report counts once, as the report it was merged into);
//   - closed: of those, closed; completion_rate = closed / accepted;
//   - on_time_rate: closed whose last answer came no later than the due
//     time (extensions approved by the dispatcher included), over closed;
//   - response_rate: dispatches signed for or sent back within the
//     response limit, over all dispatches that were signed for or sent
//     back — a send-back is a response, so a wrongly dispatched report
//     sent back at once counts in the receiver's favour; a dispatch still
//     awaiting an answer counts nowhere yet;
//   - satisfaction_rate: follow-ups graded 非常满意, 满意 or 基本满意 over
//     follow-ups that reached the reporter; unreachable ones are counted
//     apart; the mean grade and each grade's share likewise;
//   - overdue_open: accepted, not closed, past due now.
//
// Rates are rounded half up to two decimals and null over nothing. By
// organisation, reports are grouped (and scoped) by the organisation that
// signed for them last, departments included; otherwise by the one that
// registered them.

// ReportFigures are a group's counts and the rates derived from them.
type ReportFigures struct {
	ReportCounts
	CompletionRate   *Hundredths
	OnTimeRate       *Hundredths
	ResponseRate     *Hundredths
	SatisfactionRate *Hundredths
	MeanGrade        *Hundredths
	GradeShares      [6]*Hundredths // by grade 1–5; [0] unused
}

// ReportFiguresOf derives the rates.
func ReportFiguresOf(c ReportCounts) ReportFigures {
	f := ReportFigures{ReportCounts: c}
	f.CompletionRate = Rate(c.Closed, c.Accepted)
	f.OnTimeRate = Rate(c.ClosedOnTime, c.Closed)
	f.ResponseRate = Rate(c.ResponsesOnTime, c.Responses)
	f.SatisfactionRate = Rate(c.Grades[2]+c.Grades[3]+c.Grades[4], c.FollowedUp)
	f.MeanGrade = Mean(c.GradeSum, c.FollowedUp)
	for g := 1; g <= 5; g++ {
		f.GradeShares[g] = Rate(c.Grades[g-1], c.FollowedUp)
	}
	return f
}

// ReportStatsGroup is one row of grouped report statistics.
type ReportStatsGroup struct {
	Key  string
	Name string
	ReportFigures
}

// ReportStatsReport answers a report statistics request.
type ReportStatsReport struct {
	From, To Date
	Org      Org
	GroupBy  ReportGroupBy
	Totals   ReportFigures
	Groups   []ReportStatsGroup
}

// ReportStats computes the report statistics of a period in the caller's
// scope.
func (s *Service) ReportStats(ctx context.Context, a Actor, r StatsRequest) (ReportStatsReport, error) {
	if !a.Role.Staff() {
		return ReportStatsReport{}, ErrForbidden
	}
	from, to, err := parsePeriod(r.From, r.To, true)
	if err != nil {
		return ReportStatsReport{}, err
	}
	gb := ReportGroupBy(r.GroupBy)
	if gb != ReportGroupNone && !slices.Contains(ReportGroupBys, gb) {
		return ReportStatsReport{}, BadParam("group_by", "unknown_report_group")
	}
	orgID := r.OrgID
	if orgID == "" {
		orgID = a.OrgID
	}
	org, err := s.scopedOrg(ctx, a, orgID)
	if err != nil {
		return ReportStatsReport{}, err
	}
	q := ReportStatsQuery{Under: org.Path, From: from.Start().UTC(), To: (to + 1).Start().UTC(), Now: s.now()}
	total, err := s.reportStore.ReportStats(ctx, q)
	if err != nil {
		return ReportStatsReport{}, err
	}
	out := ReportStatsReport{From: from, To: to, Org: org, GroupBy: gb}
	for _, row := range total {
		out.Totals = ReportFiguresOf(row.ReportCounts)
	}
	if gb == ReportGroupNone {
		return out, nil
	}
	q.GroupBy = gb
	rows, err := s.reportStore.ReportStats(ctx, q)
	if err != nil {
		return ReportStatsReport{}, err
	}
	for _, row := range rows {
		g := ReportStatsGroup{Key: row.Key, Name: row.Key, ReportFigures: ReportFiguresOf(row.ReportCounts)}
		switch gb {
		case ReportGroupOrg, ReportGroupGrid:
			g.Name = "（未签收）"
			if gb == ReportGroupGrid {
				g.Name = "（未定网格）"
			}
			if row.Key != "" {
				if o, err := s.org(ctx, row.Key); err == nil {
					g.Name = o.Name
				}
			}
		case ReportGroupCategory:
			if c, ok := ReportCategoryByCode(row.Key); ok {
				g.Name = c.Name
			}
		case ReportGroupChannel:
			g.Name = ReportChannel(row.Key).Label()
		}
		out.Groups = append(out.Groups, g)
	}
	return out, nil
}
