package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

// The public status page is what the receipt's QR code opens: the receipt
// number comes in the address, the resident types the 6-digit code. The
// code travels in a form post, never in an address that a phone keeps in
// its history.

type publicData struct {
	Receipt *service.PublicReceipt
	Steps   []publicStep
	Outcome string
}

type publicStep struct {
	At   string
	Text string
	Done bool
}

func (w *console) publicPage(c echo.Context) error {
	p := w.newPage(c, "办理进度查询")
	p.NoChrom = true
	p.Form = "lookup"
	p.Values = url.Values{"receipt_no": {strings.TrimSpace(c.Param("receipt_no"))}}
	p.Data = publicData{}
	return w.render(c, http.StatusOK, "public", p)
}

func (w *console) publicLookup(c echo.Context) error {
	no, code := strings.TrimSpace(c.FormValue("receipt_no")), strings.TrimSpace(c.FormValue("code"))
	p := w.newPage(c, "办理进度查询")
	p.NoChrom = true
	p.Form = "lookup"
	p.Values = url.Values{"receipt_no": {no}, "code": {code}}
	p.Data = publicData{}
	var r service.PublicReceipt
	var err error
	switch {
	case no == "" || code == "":
		var fe []service.FieldError
		if no == "" {
			fe = append(fe, service.FieldError{Field: "receipt_no", Message: "required"})
		}
		if code == "" {
			fe = append(fe, service.FieldError{Field: "code", Message: "required"})
		}
		err = service.Invalid(fe...)
	default:
		r, err = w.svc.LookupReceipt(ctx(c), no, code, c.RealIP())
	}
	if err != nil {
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		if status == http.StatusNotFound {
			// One answer for an unknown number and a wrong code.
			p.Errors = map[string]string{"code": codeMessages["receipt_not_found"]}
			p.Alert = codeMessages["receipt_not_found"]
		}
		if status == http.StatusTooManyRequests {
			p.Alert = codeMessages["too_many_lookups"]
		}
		return w.render(c, status, "public", p)
	}
	d := publicData{Receipt: &r, Outcome: outcomeLabel(r.Outcome)}
	for _, st := range r.Timeline {
		d.Steps = append(d.Steps, publicStep{At: fmtTime(st.At), Text: stepWords(st)})
	}
	p.Title = "办理进度：" + r.Status.Label()
	p.Values.Del("code")
	p.Data = d
	return w.render(c, http.StatusOK, "public", p)
}

func outcomeLabel(o service.Outcome) string {
	switch o {
	case service.OutcomeApproved:
		return "准予办理"
	case service.OutcomeRefused:
		return "不予办理"
	}
	return ""
}

// stepWords tells a step of the timeline the way a resident would say it.
func stepWords(st service.PublicStep) string {
	org := st.OrgName
	if org == "" {
		org = levelLabel(st.OrgLevel)
	}
	switch st.Action {
	case service.ActionRegister:
		return org + "代办点登记了您的申请，代办员将替您把材料送到办理单位。"
	case service.ActionForward:
		return org + "已把材料报送上一级办理。"
	case service.ActionAccept:
		return org + "已收到材料，正在办理。"
	case service.ActionReturn:
		s := org + "需要您补充材料"
		if len(st.Missing) > 0 {
			s += "：" + strings.Join(st.Missing, "、")
		}
		return s + "。请尽快交给代办员，补齐前办理时限暂停计算。"
	case service.ActionResubmit:
		return "补充的材料已重新报送" + "，继续办理。"
	case service.ActionComplete:
		s := org + "已办结"
		if st.Detail != "" {
			s += "（" + st.Detail + "）"
		}
		return s + "，结果将由代办员交给您。"
	case service.ActionDeliver:
		return "办理结果已交到您手中，本事项办结。"
	case service.ActionWithdraw:
		s := "申请已撤回"
		if st.Detail != "" {
			s += "：" + st.Detail
		}
		return s + "。"
	case service.ActionExtend:
		return org + "依法延长了办理期限：" + st.Detail + "。"
	}
	return st.Action.Label()
}
