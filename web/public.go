package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

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

// receiptLookup is /q, the page a receipt's QR code opens (lookup.go).
func (w *console) receiptLookup() lookupFlow[service.PublicReceipt] {
	return lookupFlow[service.PublicReceipt]{
		base: "/q", param: "receipt_no", cookie: "daiban_code", template: "public", title: "办理进度查询", form: "lookup",
		notFound: "receipt_not_found", lookup: w.svc.LookupReceipt, empty: publicData{},
		number: func(r service.PublicReceipt) string { return r.ReceiptNo },
		show:   w.publicStatus,
	}
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
