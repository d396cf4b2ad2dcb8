package api

import (
	"daiban/report"
	"net/http"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

type gradeJSON struct {
	Grade int      `json:"grade"`
	Label string   `json:"label"`
	Count int64    `json:"count"`
	Share *float64 `json:"share"`
}

type satisfactionJSON struct {
	Rated  int64       `json:"rated"`
	Mean   *float64    `json:"mean"`
	Grades []gradeJSON `json:"grades"`
}

type figuresJSON struct {
	Accepted          int64            `json:"accepted"`
	Completed         int64            `json:"completed"`
	CompletionRate    *float64         `json:"completion_rate"`
	Refused           int64            `json:"refused"`
	OnTime            int64            `json:"on_time"`
	OnTimeRate        *float64         `json:"on_time_rate"`
	OverdueOpen       int64            `json:"overdue_open"`
	Delivered         int64            `json:"delivered"`
	ReceiptsRecovered int64            `json:"receipts_recovered"`
	RecoveryRate      *float64         `json:"recovery_rate"`
	AvgWorkingDays    *float64         `json:"avg_working_days"`
	Satisfaction      satisfactionJSON `json:"satisfaction"`
}

type groupJSON struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	figuresJSON
}

type statsOrgJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Level string `json:"level"`
}

type statsJSON struct {
	From    string       `json:"from"`
	To      string       `json:"to"`
	Org     statsOrgJSON `json:"org"`
	GroupBy *string      `json:"group_by"`
	Totals  figuresJSON  `json:"totals"`
	Groups  []groupJSON  `json:"groups"`
}

func num(h *service.Hundredths) *float64 {
	if h == nil {
		return nil
	}
	f := h.Float()
	return &f
}

func toFiguresJSON(f service.Figures) figuresJSON {
	j := figuresJSON{
		Accepted: f.Accepted, Completed: f.Completed, CompletionRate: num(f.CompletionRate), Refused: f.Refused,
		OnTime: f.OnTime, OnTimeRate: num(f.OnTimeRate), OverdueOpen: f.OverdueOpen,
		Delivered: f.Delivered, ReceiptsRecovered: f.Recovered, RecoveryRate: num(f.RecoveryRate),
		AvgWorkingDays: num(f.AvgWorkingDays),
		Satisfaction:   satisfactionJSON{Rated: f.Rated, Mean: num(f.MeanRating)},
	}
	for g := 5; g >= 1; g-- {
		j.Satisfaction.Grades = append(j.Satisfaction.Grades, gradeJSON{Grade: g, Label: service.SatisfactionLabels[g], Count: f.Grades[g], Share: num(f.GradeShares[g])})
	}
	return j
}

func (s *Server) completionStats(c echo.Context) error {
	format, err := formatParam(c)
	if err != nil {
		return err
	}
	rep, err := s.svc.Stats(c.Request().Context(), actor(c), service.StatsRequest{
		From: c.QueryParam("from"), To: c.QueryParam("to"), OrgID: c.QueryParam("org_id"), GroupBy: c.QueryParam("group_by"),
	})
	if err != nil {
		return err
	}
	if format != "json" {
		return report.Stats(c.Response(), format, rep)
	}
	out := statsJSON{
		From: rep.From.String(), To: rep.To.String(), GroupBy: optString(string(rep.GroupBy)),
		Org:    statsOrgJSON{ID: rep.Org.ID, Name: rep.Org.Name, Level: string(rep.Org.Level)},
		Totals: toFiguresJSON(rep.Totals), Groups: []groupJSON{},
	}
	for _, g := range rep.Groups {
		out.Groups = append(out.Groups, groupJSON{Key: g.Key, Name: g.Name, figuresJSON: toFiguresJSON(g.Figures)})
	}
	return c.JSON(http.StatusOK, out)
}

type ledgerRowJSON struct {
	ReceiptNo         string   `json:"receipt_no"`
	RegisteredAt      string   `json:"registered_at"`
	ApplicantName     string   `json:"applicant_name"`
	ItemName          string   `json:"item_name"`
	Materials         []string `json:"materials"`
	Agent             string   `json:"agent"`
	Status            string   `json:"status"`
	StatusLabel       string   `json:"status_label"`
	DueDate           string   `json:"due_date"`
	CompletedAt       *string  `json:"completed_at"`
	Outcome           *string  `json:"outcome"`
	OutcomeLabel      *string  `json:"outcome_label"`
	OutcomeReason     *string  `json:"outcome_reason"`
	DeliveredAt       *string  `json:"delivered_at"`
	ReceiptRecovered  *bool    `json:"receipt_recovered"`
	Satisfaction      *int     `json:"satisfaction"`
	SatisfactionLabel *string  `json:"satisfaction_label"`
}

type ledgerJSON struct {
	Org   statsOrgJSON    `json:"org"`
	From  string          `json:"from"`
	To    string          `json:"to"`
	Month *string         `json:"month"`
	Items []ledgerRowJSON `json:"items"`
}

// toLedgerRow maps a ledger errand; its applicant's name is already as the
// reader may see it (the service decides).
func toLedgerRow(e service.Errand) ledgerRowJSON {
	r := ledgerRowJSON{
		ReceiptNo: e.ReceiptNo, RegisteredAt: shanghai(e.RegisteredAt).Format(publicTime),
		ApplicantName: e.Applicant.Name, ItemName: e.ItemName, Materials: e.Materials, Agent: e.AgentName,
		Status: string(e.Status), StatusLabel: e.Status.Label(), DueDate: service.DateOf(e.DueAt).String(),
	}
	if !e.CompletedAt.IsZero() {
		v := shanghai(e.CompletedAt).Format(publicTime)
		r.CompletedAt = &v
	}
	if e.Outcome != "" {
		o, l := string(e.Outcome), e.Outcome.Label()
		r.Outcome, r.OutcomeLabel = &o, &l
		if e.Outcome == service.OutcomeRefused {
			reason := e.OutcomeReason
			r.OutcomeReason = &reason
		}
	}
	if !e.DeliveredAt.IsZero() {
		v := shanghai(e.DeliveredAt).Format(publicTime)
		rr := e.ReceiptRecovered
		r.DeliveredAt, r.ReceiptRecovered = &v, &rr
	}
	if e.Satisfaction != 0 {
		g, l := e.Satisfaction, service.SatisfactionLabels[e.Satisfaction]
		r.Satisfaction, r.SatisfactionLabel = &g, &l
	}
	return r
}

// LedgerQuery reads a ledger's org, month, from and to from the query
// string (the org from the path when the route has one).
func LedgerQuery(c echo.Context, orgID string) service.LedgerQuery {
	return service.LedgerQuery{OrgID: orgID, Month: c.QueryParam("month"), From: c.QueryParam("from"), To: c.QueryParam("to")}
}

func (s *Server) ledger(c echo.Context) error {
	format, err := formatParam(c)
	if err != nil {
		return err
	}
	l, err := s.svc.Ledger(c.Request().Context(), actor(c), LedgerQuery(c, c.Param("id")))
	if err != nil {
		return err
	}
	if format == "json" {
		rows := make([]ledgerRowJSON, len(l.Errands))
		for i, e := range l.Errands {
			rows[i] = toLedgerRow(e)
		}
		out := ledgerJSON{Org: statsOrgJSON{ID: l.Org.ID, Name: l.Org.Name, Level: string(l.Org.Level)}, From: l.From.String(), To: l.To.String(), Items: rows}
		if l.Month != "" {
			out.Month = &l.Month
		}
		return c.JSON(http.StatusOK, out)
	}
	return report.Ledger(c.Response(), format, l)
}

type ledgerCheckJSON struct {
	OK           bool       `json:"ok"`
	Errands      int        `json:"errands"`
	Events       int        `json:"events"`
	Reports      int        `json:"reports"`
	ReportEvents int        `json:"report_events"`
	Broken       *breakJSON `json:"broken"`
}

type breakJSON struct {
	Kind      string `json:"kind"`
	ErrandID  string `json:"errand_id"`
	ReceiptNo string `json:"receipt_no"`
	Seq       int    `json:"seq"`
	Problem   string `json:"problem"`
}

func (s *Server) ledgerCheck(c echo.Context) error {
	r, err := s.svc.VerifyLedger(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	out := ledgerCheckJSON{OK: r.Broken == nil, Errands: r.Errands, Events: r.Events, Reports: r.Reports, ReportEvents: r.ReportEvents}
	if b := r.Broken; b != nil {
		out.Broken = &breakJSON{Kind: "errand", ErrandID: b.ErrandID, ReceiptNo: b.ReceiptNo, Seq: b.Seq, Problem: b.Problem}
		if b.Report {
			out.Broken.Kind = "report"
		}
	}
	return c.JSON(http.StatusOK, out)
}
