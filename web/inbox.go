package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// inbox lists the person's messages and their organisation's, newest
// first; the unread ones stand out until opened.
func (w *console) inbox(c echo.Context) error {
	items, err := w.svc.Inbox(ctx(c), actor(c), 200)
	if err != nil {
		return err
	}
	p := w.newPage(c, "消息")
	p.Data = items
	return w.render(c, http.StatusOK, "inbox", p)
}

// openMessage marks a message read and shows its errand (or the inbox,
// for a digest, which belongs to no errand).
func (w *console) openMessage(c echo.Context) error {
	a := actor(c)
	id := c.Param("id")
	items, err := w.svc.Inbox(ctx(c), a, 200)
	if err != nil {
		return err
	}
	if err := w.svc.MarkRead(ctx(c), a, id); err != nil {
		return err
	}
	for _, it := range items {
		if it.ID == id && it.ErrandID != "" {
			return c.Redirect(http.StatusSeeOther, "/errands/"+it.ErrandID)
		}
	}
	if c.QueryParam("to") == "warnings" {
		return c.Redirect(http.StatusSeeOther, "/warnings")
	}
	return c.Redirect(http.StatusSeeOther, "/inbox")
}
