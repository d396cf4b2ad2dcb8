package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

func (s *Server) listCategories(c echo.Context) error {
	cats, err := s.svc.Categories(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]categoryJSON, len(cats))
	for i, x := range cats {
		out[i] = categoryJSON{Code: x.Code, Name: x.Name}
	}
	return c.JSON(http.StatusOK, newPage(out, ""))
}

type categoryRequest struct {
	Code string `json:"code" validate:"required,max=32"`
	Name string `json:"name" validate:"required,max=20"`
}

func (s *Server) createCategory(c echo.Context) error {
	var req categoryRequest
	if _, err := bindJSON(c, &req); err != nil {
		return err
	}
	cat, err := s.svc.CreateCategory(c.Request().Context(), actor(c), service.Category{Code: req.Code, Name: req.Name})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, categoryJSON{Code: cat.Code, Name: cat.Name})
}

func (s *Server) listItems(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	after, err := decodeCursor(c)
	if err != nil {
		return err
	}
	f := service.ItemFilter{Category: c.QueryParam("category"), After: after, Limit: limit}
	switch c.QueryParam("active") {
	case "", "false":
	case "true":
		f.ActiveOnly = true
	default:
		return service.BadParam("active", "not_a_boolean")
	}
	items, err := s.svc.Items(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]itemJSON, len(items))
	for i, it := range items {
		out[i] = toItemJSON(it)
	}
	return c.JSON(http.StatusOK, newPage(out, nextKey(items, limit, func(it service.Item) string { return it.Code })))
}

func (s *Server) getItem(c echo.Context) error {
	it, err := s.svc.Item(c.Request().Context(), c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toItemJSON(it))
}

type itemRequest struct {
	Code          string   `json:"code" validate:"required,max=20"`
	Name          string   `json:"name" validate:"required,max=60"`
	Category      string   `json:"category" validate:"required,max=32"`
	Level         string   `json:"level" validate:"required,oneof=township city"`
	Materials     []string `json:"materials" validate:"max=30"`
	FeeCents      int64    `json:"fee_cents" validate:"gte=0"`
	TimeLimitDays int      `json:"time_limit_days" validate:"required,gte=1,lte=180"`
}

func (s *Server) createItem(c echo.Context) error {
	var req itemRequest
	if _, err := bindJSON(c, &req); err != nil {
		return err
	}
	it, err := s.svc.CreateItem(c.Request().Context(), actor(c), service.ItemInput{
		Code: req.Code, Name: req.Name, Category: req.Category, Level: service.Level(req.Level),
		Materials: req.Materials, FeeCents: req.FeeCents, TimeLimitDays: req.TimeLimitDays,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toItemJSON(it))
}

// itemPatch changes the terms of an item; what is left out stays.
type itemPatch struct {
	Name          *string  `json:"name" validate:"omitempty,max=60"`
	Materials     []string `json:"materials" validate:"omitempty,max=30"`
	FeeCents      *int64   `json:"fee_cents"`
	TimeLimitDays *int     `json:"time_limit_days"`
	Active        *bool    `json:"active"`
}

func (s *Server) patchItem(c echo.Context) error {
	var req itemPatch
	if _, err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Name == nil && req.Materials == nil && req.FeeCents == nil && req.TimeLimitDays == nil && req.Active == nil {
		return service.InvalidField("active", "nothing_to_change")
	}
	it, err := s.svc.UpdateItem(c.Request().Context(), actor(c), c.Param("code"), service.ItemChange{
		Name: req.Name, Materials: req.Materials, FeeCents: req.FeeCents, TimeLimitDays: req.TimeLimitDays, Active: req.Active,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toItemJSON(it))
}

type calendarDayJSON struct {
	Date string `json:"date" validate:"required,len=10"`
	Kind string `json:"kind" validate:"required,oneof=holiday workday"`
	Name string `json:"name" validate:"max=20"`
}

type calendarJSON struct {
	Year      int               `json:"year"`
	Note      string            `json:"note"`
	Days      []calendarDayJSON `json:"days"`
	UpdatedAt time.Time         `json:"updated_at"`
}

type calendarRequest struct {
	Note string            `json:"note" validate:"max=200"`
	Days []calendarDayJSON `json:"days" validate:"required,max=366,dive"`
}

func toCalendarJSON(y service.CalendarYear) calendarJSON {
	out := calendarJSON{Year: y.Year, Note: y.Note, Days: []calendarDayJSON{}, UpdatedAt: shanghai(y.UpdatedAt)}
	for _, d := range y.Days {
		out.Days = append(out.Days, calendarDayJSON{Date: d.Date.String(), Kind: string(d.Kind), Name: d.Name})
	}
	return out
}

func yearParam(c echo.Context) (int, error) {
	y, err := strconv.Atoi(c.Param("year"))
	if err != nil || y < 2000 || y > 2100 {
		return 0, service.BadParam("year", "invalid_year")
	}
	return y, nil
}

func (s *Server) getCalendar(c echo.Context) error {
	year, err := yearParam(c)
	if err != nil {
		return err
	}
	y, err := s.svc.CalendarYear(c.Request().Context(), year)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCalendarJSON(y))
}

func (s *Server) putCalendar(c echo.Context) error {
	year, err := yearParam(c)
	if err != nil {
		return err
	}
	var req calendarRequest
	if _, err := bindJSON(c, &req); err != nil {
		return err
	}
	y := service.CalendarYear{Year: year, Note: req.Note}
	var f []service.FieldError
	for i, d := range req.Days {
		date, err := service.ParseDate(d.Date)
		if err != nil {
			f = append(f, service.NewFieldError("days["+strconv.Itoa(i)+"].date", "not_a_date"))
			continue
		}
		y.Days = append(y.Days, service.CalendarDay{Date: date, Kind: service.DayKind(d.Kind), Name: d.Name})
	}
	if len(f) > 0 {
		return service.Invalid(f...)
	}
	y, err = s.svc.PutCalendarYear(c.Request().Context(), actor(c), y)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCalendarJSON(y))
}
