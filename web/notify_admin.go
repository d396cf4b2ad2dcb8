package web

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

// The admin's 通知 page: the wording of the resident's text, the webhook
// endpoints, and the outbox of deliveries with its failures and dead
// letters, each of which can be sent again.

type notifyData struct {
	Template   string
	Webhooks   []service.Webhook
	Created    *service.Webhook // just registered: its secret, shown once
	Types      []string
	Deliveries []service.Delivery
	Status     string
	Tabs       []navLink
	HookURL    map[string]string // endpoint id → URL
}

func (w *console) mountNotify(e *echo.Echo, admin []echo.MiddlewareFunc) {
	e.GET("/admin/notify", w.adminNotify, admin...)
	e.POST("/admin/notify/template", w.adminSMSTemplate, admin...)
	e.POST("/admin/notify/webhooks", w.adminCreateWebhook, admin...)
	e.POST("/admin/notify/webhooks/:id/delete", w.adminDeleteWebhook, admin...)
	e.POST("/admin/notify/outbox/:id/replay", w.adminReplay, admin...)
}

func (w *console) adminNotify(c echo.Context) error {
	p := w.newPage(c, "通知")
	switch c.QueryParam("done") {
	case "template":
		p.Flash = "短信文字已保存，各服务器在 30 秒内改用新文字。"
	case "deleted":
		p.Flash = "已删除该接收地址，尚未投递给它的消息不再投递。"
	case "replayed":
		p.Flash = "已安排重新投递。"
	}
	return w.renderNotify(c, p, http.StatusOK, nil)
}

func (w *console) renderNotify(c echo.Context, p *page, status int, created *service.Webhook) error {
	a := actor(c)
	d := notifyData{Created: created, Types: append([]string{"*"}, service.EventTypes()...), Status: c.QueryParam("status"), HookURL: map[string]string{}}
	var err error
	if d.Template, err = w.svc.SMSTemplate(ctx(c), a); err != nil {
		return err
	}
	if p.Form == "template" {
		d.Template = p.Values.Get("completed")
	}
	if d.Webhooks, err = w.svc.Webhooks(ctx(c), a); err != nil {
		return err
	}
	for _, h := range d.Webhooks {
		d.HookURL[h.ID] = h.URL
	}
	if d.Status == "" {
		d.Status = string(service.DeliveryDead)
	}
	for _, t := range []struct{ status, label string }{{"dead", "投递失败"}, {"pending", "待投递"}, {"sent", "已送达"}} {
		d.Tabs = append(d.Tabs, navLink{Href: "/admin/notify?" + url.Values{"status": {t.status}}.Encode() + "#outbox", Label: t.label, Active: t.status == d.Status})
	}
	if d.Deliveries, err = w.svc.Outbox(ctx(c), a, service.OutboxFilter{Status: service.DeliveryStatus(d.Status), Limit: 100}); err != nil {
		return err
	}
	p.Data = d
	return w.render(c, status, "admin_notify", p)
}

func (w *console) adminSMSTemplate(c echo.Context) error {
	text := c.FormValue("completed")
	if err := w.svc.SetSMSTemplate(ctx(c), actor(c), text); err != nil {
		p := w.newPage(c, "通知")
		p.Form, p.Values = "template", url.Values{"completed": {text}}
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		return w.renderNotify(c, p, status, nil)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/notify?done=template")
}

func (w *console) adminCreateWebhook(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	in := service.NewWebhook{URL: form.Get("url"), Types: form["types"]}
	h, err := w.svc.CreateWebhook(ctx(c), actor(c), in)
	p := w.newPage(c, "通知")
	if err != nil {
		p.Form, p.Values = "webhook", form
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		return w.renderNotify(c, p, status, nil)
	}
	p.Flash = "已添加接收地址。请把下面的密钥交给接收方用于验证签名；它只显示这一次。"
	return w.renderNotify(c, p, http.StatusOK, &h)
}

func (w *console) adminDeleteWebhook(c echo.Context) error {
	if err := w.svc.DeleteWebhook(ctx(c), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/notify?done=deleted")
}

func (w *console) adminReplay(c echo.Context) error {
	if err := w.svc.ReplayDelivery(ctx(c), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/notify?status=pending&done=replayed#outbox")
}
