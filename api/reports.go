package api

import (
	"github.com/labstack/echo/v4"

	"daiban/service"
)

func formatParam(c echo.Context) (string, error) {
	switch f := c.QueryParam("format"); f {
	case "", "json":
		return "json", nil
	case "csv", "xlsx":
		return f, nil
	}
	return "", service.BadParam("format", "unknown_report_format")
}
