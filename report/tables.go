package report

import (
	"net/http"
	"strings"
	"time"

	"daiban/service"
)

// StatsHeaders are the column titles of the CSV and XLSX statistics.
var StatsHeaders = []string{"分组", "名称", "受理件", "办结件", "办结率(%)", "不予办理", "按时办结", "按时办结率(%)", "超期未办结",
	"已送达", "回执收回", "回执收回率(%)", "平均办理工作日", "评价数", "满意度均分", "非常满意", "满意", "基本满意", "不满意", "非常不满意"}

func figureCells(f service.Figures) []any {
	return []any{f.Accepted, f.Completed, f.CompletionRate, f.Refused, f.OnTime, f.OnTimeRate, f.OverdueOpen,
		f.Delivered, f.Recovered, f.RecoveryRate, f.AvgWorkingDays, f.Rated, f.MeanRating,
		f.Grades[5], f.Grades[4], f.Grades[3], f.Grades[2], f.Grades[1]}
}

// Stats sends a statistics report as a CSV or XLSX download, for the API
// (GET /stats/completion) and the console alike.
func Stats(w http.ResponseWriter, format string, rep service.StatsReport) error {
	return send(w, format, "办结率统计_"+rep.Org.Name+"_"+rep.From.String()+"_"+rep.To.String(), statsTable(rep))
}

func statsTable(rep service.StatsReport) table {
	t := table{sheet: "办结率统计", headers: StatsHeaders}
	for _, g := range rep.Groups {
		t.rows = append(t.rows, append([]any{g.Key, g.Name}, figureCells(g.Figures)...))
	}
	t.totals = append([]any{"合计", rep.Org.Name}, figureCells(rep.Totals)...)
	return t
}

// LedgerHeaders are the columns of the ledger download.
var LedgerHeaders = []string{"回执编号", "登记时间", "申请人", "代办事项", "材料", "代办员", "状态", "承诺办结日期", "办结时间", "办理结果", "不予理由", "送达时间", "回执收回", "满意度"}

// Ledger sends a registration ledger as a CSV or XLSX download, for the
// API (GET /orgs/{id}/ledger) and the console alike. Times are date-time
// cells in XLSX and text like 2026-03-02 09:00 in CSV; the applicant's name
// is as the service left it for the reader.
func Ledger(w http.ResponseWriter, format string, l service.Ledger) error {
	t := table{sheet: "登记台账", headers: LedgerHeaders}
	for _, e := range l.Errands {
		var outcome, reason, grade string
		if e.Outcome != "" {
			outcome = e.Outcome.Label()
			if e.Outcome == service.OutcomeRefused {
				reason = e.OutcomeReason
			}
		}
		var recovered *bool
		if !e.DeliveredAt.IsZero() {
			rr := e.ReceiptRecovered
			recovered = &rr
		}
		if e.Satisfaction != 0 {
			grade = service.SatisfactionLabels[e.Satisfaction]
		}
		t.rows = append(t.rows, []any{e.ReceiptNo, cellTime(e.RegisteredAt), e.Applicant.Name, e.ItemName, strings.Join(e.Materials, "、"), e.AgentName,
			e.Status.Label(), service.DateOf(e.DueAt).String(), cellTime(e.CompletedAt), outcome, reason, cellTime(e.DeliveredAt),
			recoveredLabel(recovered), grade})
	}
	name := l.Month
	if name == "" {
		name = l.From.String() + "_" + l.To.String()
	}
	return send(w, format, "登记台账_"+l.Org.Name+"_"+name, t)
}

// cellTime is a moment as a table cell: Shanghai time, or an empty cell
// for a moment that has not come.
func cellTime(t time.Time) any {
	if t.IsZero() {
		return ""
	}
	return shanghai(t)
}

func recoveredLabel(b *bool) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return "已收回"
	}
	return "遗失"
}

// ReportStatsHeaders are the columns of the 民情 statistics download.
var ReportStatsHeaders = []string{"代码", "名称", "受理件", "办结件", "办结率(%)", "按时办结", "按时办结率(%)", "响应", "按时响应", "响应率(%)", "回访", "联系不上", "满意率(%)", "平均满意度", "超期未办结"}

// ReportStats sends 民情 statistics as a CSV or XLSX download.
func ReportStats(w http.ResponseWriter, format string, rep service.ReportStatsReport) error {
	t := table{sheet: "民情统计", headers: ReportStatsHeaders}
	cells := func(f service.ReportFigures) []any {
		return []any{f.Accepted, f.Closed, f.CompletionRate, f.ClosedOnTime, f.OnTimeRate, f.Responses, f.ResponsesOnTime,
			f.ResponseRate, f.FollowedUp, f.Unreachable, f.SatisfactionRate, f.MeanGrade, f.OverdueOpen}
	}
	for _, g := range rep.Groups {
		t.rows = append(t.rows, append([]any{g.Key, g.Name}, cells(g.ReportFigures)...))
	}
	t.totals = append([]any{"合计", rep.Org.Name}, cells(rep.Totals)...)
	return send(w, format, "民情统计_"+rep.Org.Name+"_"+rep.From.String()+"_"+rep.To.String(), t)
}
