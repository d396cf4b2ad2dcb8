package web

import (
	"net/http"
	"net/url"

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

// openMessage marks a message read and shows its errand or report (the
// list names which: a report's messages are of a type "report.…"), or the
// warnings for a digest, which belongs to no case.
func (w *console) openMessage(c echo.Context) error {
	errandID, err := w.svc.MarkRead(ctx(c), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	switch {
	case errandID != "" && c.QueryParam("to") == "report":
		return c.Redirect(http.StatusSeeOther, "/reports/"+url.PathEscape(errandID))
	case errandID != "":
		return c.Redirect(http.StatusSeeOther, "/errands/"+errandID)
	case c.QueryParam("to") == "warnings":
		return c.Redirect(http.StatusSeeOther, "/warnings")
	}
	return c.Redirect(http.StatusSeeOther, "/inbox")
}
