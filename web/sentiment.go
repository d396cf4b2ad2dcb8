package web

import (
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

// The resident's side of 民情: /m is the form anyone may fill in on a
// phone, without an account; /m/status follows a report by its number and
// 6-digit code, the way /q follows a receipt (post, redirect, get; the right
// code kept in a cookie for that report's address only). The status page
// says which organisation did what, never who, and never shows the
// reporter's name, phone, place or photos.

type reportFormData struct {
	Categories []service.ReportCategory
	Places     []placeGroup
	Grouped    bool // several cities: the townships under each city's name
	MaxPhotos  int
	MaxMB      int
	PhotosLost bool // the form came back: the photos must be chosen again
	Created    *reportCreated
}

type placeGroup struct {
	City  service.Org
	Towns []service.Org
}

type reportCreated struct {
	No, Code, Category string
	DueAt              time.Time
}

// places lists the townships (streets) a resident may name, by city.
func (w *console) places(c echo.Context) ([]placeGroup, error) {
	cities, err := w.svc.Orgs(ctx(c), service.Actor{}, service.OrgFilter{Level: service.LevelCity, Limit: 500})
	if err != nil {
		return nil, err
	}
	var out []placeGroup
	for _, city := range cities {
		towns, err := w.svc.Orgs(ctx(c), service.Actor{}, service.OrgFilter{Level: service.LevelTownship, ParentID: city.ID, Limit: 500})
		if err != nil {
			return nil, err
		}
		out = append(out, placeGroup{City: city, Towns: towns})
	}
	return out, nil
}

func (w *console) reportForm(c echo.Context) (*page, *reportFormData, error) {
	p := w.newPage(c, "反映问题")
	p.NoChrom = true
	p.Form = "report"
	d := &reportFormData{Categories: service.ReportCategories, MaxPhotos: service.MaxReportPhotos, MaxMB: service.MaxReportPhotoBytes >> 20}
	var err error
	if d.Places, err = w.places(c); err != nil {
		return nil, nil, err
	}
	d.Grouped = len(d.Places) > 1
	p.Data = d
	return p, d, nil
}

// publicReportPage shows the empty form.
func (w *console) publicReportPage(c echo.Context) error {
	p, _, err := w.reportForm(c)
	if err != nil {
		return err
	}
	return w.render(c, http.StatusOK, "report_public", p)
}

// reportFields maps the service's field paths to the form's inputs.
var reportFields = map[string]string{"reporter.name": "name", "reporter.phone": "phone", "grid_id": "org_id", "channel": "category"}

// reportSubmit registers a resident's report and shows its number and code.
func (w *console) reportSubmit(c echo.Context) error {
	p, d, err := w.reportForm(c)
	if err != nil {
		return err
	}
	v := url.Values{}
	for _, k := range []string{"category", "text", "address", "org_id", "name", "phone"} {
		v.Set(k, strings.TrimSpace(c.FormValue(k)))
	}
	p.Values = v
	in := service.ReportInput{Channel: service.ReportByWeb, Category: v.Get("category"), Text: v.Get("text"), Address: v.Get("address"),
		OrgID: v.Get("org_id"), Reporter: service.Reporter{Name: v.Get("name"), Phone: v.Get("phone")}, ClientKey: c.RealIP()}
	var files []*multipart.FileHeader
	if mf := c.Request().MultipartForm; mf != nil {
		files = mf.File["photos"]
	}
	for _, fh := range files {
		if fh.Filename == "" && fh.Size == 0 {
			continue // the empty file input of a form sent without photos
		}
		b, err := readPhoto(fh)
		if err != nil {
			return err
		}
		in.Photos = append(in.Photos, b)
	}
	r, err := w.svc.SubmitReport(ctx(c), nil, in)
	if err != nil {
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		for from, to := range reportFields {
			if msg, ok := p.Errors[from]; ok {
				delete(p.Errors, from)
				if _, dup := p.Errors[to]; !dup {
					p.Errors[to] = msg
				}
			}
		}
		d.PhotosLost = len(in.Photos) > 0
		return w.render(c, status, "report_public", p)
	}
	cat, _ := service.ReportCategoryByCode(r.Category)
	d.Created = &reportCreated{No: r.No, Code: r.VerifyCode, Category: cat.Name, DueAt: r.DueAt}
	// This phone may open the status page without typing the code.
	w.reportLookup().keep(w, c, r.No, r.VerifyCode, codeRemembered)
	p.Title = "已收到您反映的问题"
	p.Values = nil
	return w.render(c, http.StatusOK, "report_public", p)
}

// readPhoto reads one uploaded photo, a byte more than allowed at most, so
// that the service can say which one is too large.
func readPhoto(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, service.MaxReportPhotoBytes+1))
}

type reportStatusData struct {
	Report   *service.PublicReport
	Status   string
	Category string
	Steps    []publicStep
}

// reportLookup is /m/status, the reporter's page (lookup.go).
func (w *console) reportLookup() lookupFlow[service.PublicReport] {
	return lookupFlow[service.PublicReport]{
		base: "/m/status", param: "no", cookie: "daiban_report_code", template: "report_status", title: "反映问题办理进度查询",
		form: "rlookup", notFound: "report_not_found", lookup: w.svc.LookupReport, empty: reportStatusData{},
		number: func(r service.PublicReport) string { return r.No },
		show:   w.reportStatus,
	}
}

func (w *console) reportStatus(c echo.Context, p *page, r service.PublicReport) error {
	d := reportStatusData{Report: &r, Status: r.StatusWords(), Category: r.Category}
	if cat, ok := service.ReportCategoryByCode(r.Category); ok {
		d.Category = cat.Name
	}
	for _, st := range r.Timeline {
		d.Steps = append(d.Steps, publicStep{At: service.ChineseTime(st.At), Text: reportStepWords(st)})
	}
	p.Title = "办理进度：" + d.Status
	p.Values.Del("code")
	p.Data = d
	return w.render(c, http.StatusOK, "report_status", p)
}

// reportStepWords tells a step the way a resident would say it: which
// organisation did what.
func reportStepWords(st service.PublicReportStep) string {
	org := st.OrgName
	if org == "" {
		org = "受理单位"
	}
	switch st.Action {
	case service.ReportRegister:
		return org + "收到并登记了您反映的问题。"
	case service.ReportDispatch:
		if st.ToName != "" {
			return org + "已把问题转交" + st.ToName + "办理。"
		}
		return org + "已把问题转交承办单位办理。"
	case service.ReportSign:
		return org + "已接手，正在办理。"
	case service.ReportSendBack:
		return org + "认为此事不归本单位办理，已退回，将另行转交合适的单位。"
	case service.ReportAnswer:
		return org + "已给出答复，正在审核。"
	case service.ReportAccept:
		return org + "审核通过了答复，答复见上方。"
	case service.ReportClose:
		return "已回访，本件办结。"
	case service.ReportMerge:
		return "与其他群众反映的同一问题合并办理。"
	case service.ReportApprove:
		return org + "同意延长办理期限。"
	case service.ReportUrge:
		return "督查部门已催促尽快办理。"
	}
	return org + st.Action.Label() + "。"
}
