package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

// The public status page is what the receipt's QR code opens: the receipt
// number comes in the address, the resident types the 6-digit code. The
// code travels in a form post, never in an address that a phone keeps in
// its history. A right code is kept in a cookie for that receipt's address
// only, and the post answers with a redirect to it (post, redirect, get):
// the status page can then be refreshed and bookmarked on that phone, and
// 不再记住 forgets it.

type publicData struct {
	Receipt *service.PublicReceipt
	Status  string
	Steps   []publicStep
	Outcome string
}

type publicStep struct {
	At   string
	Text string
	Done bool
}

// codeCookie holds a right code for one receipt, on its own path.
const (
	codeCookie     = "daiban_code"
	codeRemembered = 30 * 24 * time.Hour
)

func (w *console) codeCookie(c echo.Context, no, code string, keep time.Duration) {
	ck := &http.Cookie{
		Name: codeCookie, Value: code, Path: "/q/" + no, MaxAge: int(keep / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: w.opts.Secure || c.IsTLS(),
	}
	if keep <= 0 {
		ck.MaxAge, ck.Expires = -1, time.Unix(0, 0)
	}
	c.SetCookie(ck)
}

func (w *console) publicForm(c echo.Context, no string) *page {
	p := w.newPage(c, "办理进度查询")
	p.NoChrom = true
	p.Form = "lookup"
	p.Values = url.Values{"receipt_no": {no}}
	p.Data = publicData{}
	return p
}

// publicPage shows the form, or the status when this phone has the
// receipt's code.
func (w *console) publicPage(c echo.Context) error {
	no := strings.TrimSpace(c.Param("receipt_no"))
	p := w.publicForm(c, no)
	ck, err := c.Cookie(codeCookie)
	if no == "" || err != nil || ck.Value == "" {
		return w.render(c, http.StatusOK, "public", p)
	}
	r, err := w.svc.LookupReceipt(ctx(c), no, ck.Value, c.RealIP())
	if err != nil {
		// The code no longer opens this receipt: forget it and ask again.
		w.codeCookie(c, no, "", 0)
		return w.publicError(c, p, err)
	}
	return w.publicStatus(c, p, r)
}

// publicLookup checks the typed code and, when it is right, remembers it
// and sends the phone to the receipt's own address.
func (w *console) publicLookup(c echo.Context) error {
	no, code := strings.TrimSpace(c.FormValue("receipt_no")), strings.TrimSpace(c.FormValue("code"))
	p := w.publicForm(c, no)
	p.Values.Set("code", code)
	var fe []service.FieldError
	if no == "" {
		fe = append(fe, service.NewFieldError("receipt_no", "required"))
	}
	if code == "" {
		fe = append(fe, service.NewFieldError("code", "required"))
	}
	if len(fe) > 0 {
		return w.publicError(c, p, service.Invalid(fe...))
	}
	r, err := w.svc.LookupReceipt(ctx(c), no, code, c.RealIP())
	if err != nil {
		return w.publicError(c, p, err)
	}
	w.codeCookie(c, r.ReceiptNo, code, codeRemembered)
	return c.Redirect(http.StatusSeeOther, "/q/"+r.ReceiptNo)
}

// publicForget drops the remembered code of a receipt on this phone.
func (w *console) publicForget(c echo.Context) error {
	no, err := service.ParseReceiptNo(c.Param("receipt_no"))
	if err != nil {
		return errNotFound
	}
	w.codeCookie(c, no, "", 0)
	return c.Redirect(http.StatusSeeOther, "/q/"+no)
}

func (w *console) publicError(c echo.Context, p *page, err error) error {
	status, ok := formError(err, p)
	if !ok {
		return err
	}
	switch status {
	case http.StatusNotFound:
		// One answer for an unknown number and a wrong code, said once:
		// beside the code, with no banner repeating it.
		p.Errors = map[string]string{"code": service.ZhCode("receipt_not_found")}
		p.Alert = ""
	case http.StatusTooManyRequests:
		p.Alert = service.ZhCode("too_many_lookups")
	}
	return w.render(c, status, "public", p)
}

func (w *console) publicStatus(c echo.Context, p *page, r service.PublicReceipt) error {
	d := publicData{Receipt: &r, Status: r.StatusWords(), Outcome: outcomeLabel(r.Outcome)}
	for _, st := range r.Timeline {
		d.Steps = append(d.Steps, publicStep{At: service.ChineseTime(st.At), Text: stepWords(st)})
	}
	p.Title = "办理进度：" + d.Status
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
		org = service.LevelLabel(st.OrgLevel)
	}
	switch st.Action {
	case service.ActionRegister:
		return org + "代办点登记了您的申请，代办员将替您把材料送到办理单位。"
	case service.ActionForward:
		return org + "已把材料报送上一级办理单位。"
	case service.ActionAccept:
		return org + "已收到材料，正在办理。"
	case service.ActionReturn:
		s := org + "需要您补充材料"
		if len(st.Missing) > 0 {
			s += "：" + strings.Join(st.Missing, "、")
		}
		s += "。"
		if st.Detail != "" {
			s += "办理单位的说明：" + st.Detail + "。"
		}
		return s + "请尽快交给代办员，补齐前办理时限暂停计算。"
	case service.ActionResubmit:
		return "补充的材料已重新报送" + "，继续办理。"
	case service.ActionComplete:
		if st.Outcome == service.OutcomeRefused {
			s := org + "决定不予办理"
			if st.Detail != "" {
				s += "，理由：" + st.Detail
			}
			return s + "。代办员会把书面告知交给您，有疑问可以问代办员。"
		}
		return org + "已办好，结果将由代办员交给您。"
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
	case service.ActionUrge:
		return "督查部门已催促办理单位尽快办理。"
	case service.ActionCorrect:
		return org + "更正了登记信息（" + st.Detail + "），回执编号不变。"
	}
	return st.Action.Label()
}
