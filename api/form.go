package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"daiban/report"
)

func (s *Server) errandForm(c echo.Context) error {
	page, err := report.Form(c.Request().Context(), s.svc, actor(c), c.Param("id"), report.StatusURL(s.opts.PublicURL, c.Request(), ""))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, page)
}
