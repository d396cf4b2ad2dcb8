package web

import (
	"errors"
	"html/template"
	"net/url"

	"github.com/labstack/echo/v4"

	"daiban/report"
	"daiban/service"
)

// The dashboard's 民情 block: the reports' figures for the same period and
// organisation as the errands' above it (service/reportstats.go has the
// definitions), a table grouped as the supervisor chooses, and the
// downloads.

type reportBlock struct {
	Rep    service.ReportStatsReport
	Head   string       // the table's first column
	Export template.URL // the query of the downloads, encoded
	// Unsigned: by organisation, the reports nobody has signed for yet,
	// which only the total counts.
	Unsigned int64
}

// reportGroups are the 民情 table's groupings, as GET /stats/reports offers them.
var reportGroups = []groupChoice{{string(service.ReportGroupOrg), "承办单位"}, {string(service.ReportGroupCategory), "类别"},
	{string(service.ReportGroupChannel), "渠道"}, {string(service.ReportGroupGrid), "网格"}, {string(service.ReportGroupMonth), "月份"}}

// reportBlock computes the block over the errands' period; nil when the
// role sees no reports.
func (w *console) reportBlock(c echo.Context, a service.Actor, errands service.StatsReport, orgID, group string) (*reportBlock, error) {
	b := &reportBlock{}
	for _, g := range reportGroups {
		if g.Value == group {
			b.Head = g.Label
		}
	}
	if b.Head == "" {
		return nil, service.BadParam("rgroup", "unknown_report_group")
	}
	rep, err := w.svc.ReportStats(ctx(c), a, service.StatsRequest{From: errands.From.String(), To: errands.To.String(), OrgID: orgID, GroupBy: group})
	if errors.Is(err, service.ErrForbidden) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b.Rep = rep
	if rep.GroupBy == service.ReportGroupOrg {
		b.Unsigned = rep.Totals.Accepted
		for _, g := range rep.Groups {
			b.Unsigned -= g.Accepted
		}
	}
	b.Export = template.URL(url.Values{"from": {rep.From.String()}, "to": {rep.To.String()}, "org_id": {orgID}, "group_by": {group}}.Encode())
	return b, nil
}

// reportStatsExport sends the 民情 figures as the API's CSV or XLSX.
func (w *console) reportStatsExport(c echo.Context) error {
	format := c.QueryParam("format")
	if format != "csv" && format != "xlsx" {
		return service.BadParam("format", "unknown_download_format")
	}
	rep, err := w.svc.ReportStats(ctx(c), actor(c), service.StatsRequest{
		From: c.QueryParam("from"), To: c.QueryParam("to"), OrgID: c.QueryParam("org_id"), GroupBy: c.QueryParam("group_by"),
	})
	if err != nil {
		return err
	}
	return report.ReportStats(c.Response(), format, rep)
}
