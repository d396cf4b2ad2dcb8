package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"daiban/service"
)

// Package report writes what daiban hands out as files: the CSV and XLSX
// downloads and the printed two-part form, the same for the API and the
// console, each of which only says where they go.
//
// table is a report ready for CSV or XLSX: one header row, the data rows
// and an optional totals row. A time.Time cell is a date-time cell in XLSX
// (yyyy-mm-dd hh:mm, the wall clock of its zone) and text like
// 2026-03-02 09:00 in CSV.
type table struct {
	sheet   string
	headers []string
	rows    [][]any
	totals  []any
}

// send writes t as a download named file (without extension), CSV or XLSX.
func send(w http.ResponseWriter, format, file string, t table) error {
	if format != "csv" && format != "xlsx" {
		return service.BadParam("format", "unknown_download_format")
	}
	var buf bytes.Buffer
	var ctype string
	switch format {
	case "csv":
		ctype = "text/csv; charset=utf-8"
		buf.WriteString("\ufeff") // Excel reads UTF-8 only after a byte-order mark
		w := csv.NewWriter(&buf)
		w.Write(t.headers)
		for _, r := range t.rows {
			w.Write(cells(r))
		}
		if t.totals != nil {
			w.Write(cells(t.totals))
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
	case "xlsx":
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		if err := writeXLSX(&buf, t); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Disposition",
		fmt.Sprintf(`attachment; filename="%s.%s"; filename*=UTF-8''%s.%s`, asciiName(file), format, url.PathEscape(file), format))
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}

// xlsxTimeFormat is the number format of a date-time cell; csvTime the
// same moment as CSV text.
var xlsxTimeFormat = "yyyy-mm-dd hh:mm"

const csvTime = "2006-01-02 15:04"

func writeXLSX(buf *bytes.Buffer, t table) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", t.sheet); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	when, err := f.NewStyle(&excelize.Style{CustomNumFmt: &xlsxTimeFormat})
	if err != nil {
		return err
	}
	all := append([][]any{toAny(t.headers)}, t.rows...)
	if t.totals != nil {
		all = append(all, t.totals)
	}
	widths := make([]int, len(t.headers))
	for i, r := range all {
		row := derefRow(r)
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(t.sheet, cell, &row); err != nil {
			return err
		}
		for j, v := range row {
			w := 0
			if _, ok := v.(time.Time); ok {
				at, _ := excelize.CoordinatesToCellName(j+1, i+1)
				if err := f.SetCellStyle(t.sheet, at, at, when); err != nil {
					return err
				}
				w = len(csvTime)
			} else {
				w = displayWidth(fmt.Sprint(v))
			}
			if j < len(widths) {
				widths[j] = max(widths[j], w)
			}
		}
	}
	last, _ := excelize.CoordinatesToCellName(len(t.headers), 1)
	if err := f.SetCellStyle(t.sheet, "A1", last, bold); err != nil {
		return err
	}
	if t.totals != nil {
		first, _ := excelize.CoordinatesToCellName(1, len(all))
		end, _ := excelize.CoordinatesToCellName(len(t.headers), len(all))
		if err := f.SetCellStyle(t.sheet, first, end, bold); err != nil {
			return err
		}
	}
	for j, w := range widths {
		col, _ := excelize.ColumnNumberToName(j + 1)
		if err := f.SetColWidth(t.sheet, col, col, float64(min(max(w+2, 8), 60))); err != nil {
			return err
		}
	}
	if err := f.SetPanes(t.sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return f.Write(buf)
}

// displayWidth counts a CJK character as two columns.
func displayWidth(s string) int {
	w := 0
	for _, r := range s {
		if r >= 0x1100 {
			w += 2
		} else {
			w++
		}
	}
	return w
}

func asciiName(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r < 0x80 && r != '"' && r != '\\' {
			out = append(out, byte(r))
		}
		i += n
	}
	if len(out) == 0 {
		return "report"
	}
	return string(out)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// deref unwraps optional figures: nil becomes an empty cell.
func deref(v any) any {
	switch x := v.(type) {
	case *service.Hundredths:
		if x == nil {
			return ""
		}
		return x.Float()
	case service.Hundredths:
		return x.Float()
	}
	return v
}

func cells(r []any) []string {
	out := make([]string, len(r))
	for i, v := range r {
		switch x := v.(type) {
		case *service.Hundredths:
			if x != nil {
				out[i] = x.String()
			}
		case service.Hundredths:
			out[i] = x.String()
		case int64:
			out[i] = strconv.FormatInt(x, 10)
		case time.Time:
			out[i] = x.Format(csvTime)
		case string:
			out[i] = csvText(x)
		default:
			out[i] = csvText(fmt.Sprint(v))
		}
	}
	return out
}

// csvText keeps a text cell from being read as a formula by a spreadsheet,
// as OWASP's CSV injection advice says: a cell that starts with =, +, -, @,
// a tab or a carriage return gets a leading apostrophe. Numbers are left
// alone (a negative number is no formula).
func csvText(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}

func derefRow(r []any) []any {
	out := make([]any, len(r))
	for i, v := range r {
		out[i] = deref(v)
	}
	return out
}

// WarningsHeaders are the columns of the warnings download.
var WarningsHeaders = []string{"回执编号", "申请人", "代办事项", "登记村(社区)", "当前经办", "状态", "登记时间", "承诺办结", "预警", "超期工作日", "催办次数", "最近催办"}

// Warnings sends the warnings list as a CSV or XLSX download, for the API
// (GET /supervision/warnings?format=) and the console alike. Applicants'
// names are masked: the list goes to supervisors.
func Warnings(w http.ResponseWriter, format string, now time.Time, ws []service.Warning) error {
	t := table{sheet: "预警督办", headers: WarningsHeaders}
	for _, x := range ws {
		e := x.Errand
		level := "临期"
		if x.Level == "red" {
			level = "超期"
		}
		urged := ""
		if !e.UrgedAt.IsZero() {
			urged = shanghai(e.UrgedAt).Format(publicTime)
		}
		t.rows = append(t.rows, []any{e.ReceiptNo, service.MaskName(e.Applicant.Name), e.ItemName, e.IntakeName, e.HolderName,
			e.Status.Label(), shanghai(e.RegisteredAt).Format(publicTime), service.DateOf(e.DueAt).String(), level,
			x.DaysOverdue, e.Urges, urged})
	}
	return send(w, format, "预警督办_"+shanghai(now).Format("20060102_1504"), t)
}

// publicTime is how a moment reads in a download's text cells.
const publicTime = "2006-01-02 15:04"

func shanghai(t time.Time) time.Time { return t.In(service.Shanghai) }
