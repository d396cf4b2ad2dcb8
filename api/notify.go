package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

type webhookRequest struct {
	URL   string   `json:"url" validate:"required,max=500"`
	Types []string `json:"types" validate:"required,max=20,dive,max=40"`
}

type webhookJSON struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Types     []string  `json:"types"`
	Secret    string    `json:"secret,omitempty"` // only in the answer to its creation
	CreatedAt time.Time `json:"created_at"`
}

func toWebhookJSON(w service.Webhook) webhookJSON {
	return webhookJSON{ID: w.ID, URL: w.URL, Types: w.Types, Secret: w.Secret, CreatedAt: shanghai(w.CreatedAt)}
}

func (s *Server) createWebhook(c echo.Context) error {
	var req webhookRequest
	if _, err := bindJSON(c, &req); err != nil {
		return err
	}
	w, err := s.svc.CreateWebhook(c.Request().Context(), actor(c), service.NewWebhook{URL: req.URL, Types: req.Types})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, toWebhookJSON(w))
}

func (s *Server) listWebhooks(c echo.Context) error {
	ws, err := s.svc.Webhooks(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	out := make([]webhookJSON, len(ws))
	for i, w := range ws {
		out[i] = toWebhookJSON(w)
	}
	return c.JSON(http.StatusOK, newPage(out, ""))
}

func (s *Server) deleteWebhook(c echo.Context) error {
	if err := s.svc.DeleteWebhook(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type deliveryJSON struct {
	ID        string     `json:"id"`
	MessageID string     `json:"message_id"`
	Channel   string     `json:"channel"`
	Target    string     `json:"target"`
	Type      string     `json:"type"`
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	NextAt    time.Time  `json:"next_at"`
	LastError string     `json:"last_error"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at"`
}

func (s *Server) listOutbox(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	ds, err := s.svc.Outbox(c.Request().Context(), actor(c), service.OutboxFilter{Status: service.DeliveryStatus(c.QueryParam("status")), Limit: limit})
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, len(ds))
	for i, d := range ds {
		target := d.Target
		if d.Channel == service.NoticeSMS {
			target = service.MaskPhone(target)
		}
		out[i] = deliveryJSON{ID: d.ID, MessageID: d.MsgID, Channel: string(d.Channel), Target: target, Type: d.Type,
			Status: string(d.Status), Attempts: d.Attempts, NextAt: shanghai(d.NextAt), LastError: d.LastError,
			CreatedAt: shanghai(d.CreatedAt), SentAt: optTime(d.SentAt)}
	}
	return c.JSON(http.StatusOK, newPage(out, ""))
}

func (s *Server) replayDelivery(c echo.Context) error {
	if err := s.svc.ReplayDelivery(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type inboxJSON struct {
	ID       string     `json:"id"`
	ErrandID string     `json:"errand_id"`
	Type     string     `json:"type"`
	Text     string     `json:"text"`
	At       time.Time  `json:"at"`
	ReadAt   *time.Time `json:"read_at"`
}

func (s *Server) inbox(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	ctx, a := c.Request().Context(), actor(c)
	items, err := s.svc.Inbox(ctx, a, limit)
	if err != nil {
		return err
	}
	unread, err := s.svc.Unread(ctx, a)
	if err != nil {
		return err
	}
	out := make([]inboxJSON, len(items))
	for i, it := range items {
		out[i] = inboxJSON{ID: it.ID, ErrandID: it.ErrandID, Type: it.Type, Text: it.Text, At: shanghai(it.At), ReadAt: optTime(it.ReadAt)}
	}
	return c.JSON(http.StatusOK, struct {
		page[inboxJSON]
		Unread int `json:"unread"`
	}{newPage(out, ""), unread})
}

func (s *Server) markRead(c echo.Context) error {
	if _, err := s.svc.MarkRead(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type smsTemplateJSON struct {
	Completed string `json:"completed" validate:"required,max=500"`
}

func (s *Server) getSMSTemplate(c echo.Context) error {
	tpl, err := s.svc.SMSTemplate(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, smsTemplateJSON{Completed: tpl})
}

func (s *Server) putSMSTemplate(c echo.Context) error {
	var req smsTemplateJSON
	if _, err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := s.svc.SetSMSTemplate(c.Request().Context(), actor(c), req.Completed); err != nil {
		return err
	}
	return s.getSMSTemplate(c)
}
