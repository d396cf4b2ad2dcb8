package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

const actorKey = "actor"

// authenticate resolves the bearer token into the acting user.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := bearer(c)
		if !ok {
			return service.ErrUnauthenticated
		}
		a, err := s.svc.Authenticate(c.Request().Context(), token)
		if err != nil {
			return err
		}
		c.Set(actorKey, a)
		if a.MustChangePassword && !whileMustChange[c.Path()] {
			return service.ErrPasswordChangeRequired
		}
		return next(c)
	}
}

// whileMustChange are the routes open to a user signed in with a password
// an admin reset: changing it, reading who they are, signing out.
var whileMustChange = map[string]bool{
	"/api/v1/auth/password": true,
	"/api/v1/auth/me":       true,
	"/api/v1/auth/logout":   true,
}

func bearer(c echo.Context) (string, bool) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func actor(c echo.Context) service.Actor {
	a, _ := c.Get(actorKey).(service.Actor)
	return a
}

type loginRequest struct {
	Username string `json:"username" validate:"required,max=64"`
	Password string `json:"password" validate:"required,max=128"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userJSON  `json:"user"`
}

func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if _, err := bindJSON(c, &req); err != nil {
		return err
	}
	token, sess, u, err := s.svc.Login(c.Request().Context(), req.Username, req.Password, c.RealIP())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, loginResponse{Token: token, ExpiresAt: shanghai(sess.ExpiresAt), User: toUserJSON(u)})
}

func (s *Server) logout(c echo.Context) error {
	token, _ := bearer(c)
	if err := s.svc.Logout(c.Request().Context(), token); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password" validate:"required,max=128"`
	NewPassword     string `json:"new_password" validate:"required,max=128"`
}

// changePassword sets the caller's own password; this session stays open,
// the account's others end.
func (s *Server) changePassword(c echo.Context) error {
	var req passwordRequest
	if _, err := bindJSON(c, &req); err != nil {
		return err
	}
	token, _ := bearer(c)
	if err := s.svc.ChangePassword(c.Request().Context(), actor(c), token, req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) me(c echo.Context) error {
	return c.JSON(http.StatusOK, toMeJSON(actor(c)))
}

// Cursors of the simple listings are the last key seen, opaque to clients.
func encodeCursor(key string) string {
	if key == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

func decodeCursor(c echo.Context) (string, error) {
	v := c.QueryParam("cursor")
	if v == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) > 200 {
		return "", service.BadParam("cursor", "invalid_cursor")
	}
	return string(raw), nil
}

func limitParam(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 500 {
		return 0, service.BadParam("limit", "invalid_limit")
	}
	return n, nil
}

// nextKey is the cursor after a full page, "" after the last one.
func nextKey[T any](items []T, limit int, key func(T) string) string {
	if limit == 0 {
		limit = 50
	}
	if len(items) < limit || len(items) == 0 {
		return ""
	}
	return encodeCursor(key(items[len(items)-1]))
}

type orgRequest struct {
	Code     string `json:"code" validate:"required,max=16"`
	Name     string `json:"name" validate:"required,max=200"`
	Level    string `json:"level" validate:"required,oneof=city township village grid department"`
	ParentID string `json:"parent_id" validate:"max=36"`
}

func (s *Server) createOrg(c echo.Context) error {
	var req orgRequest
	if _, err := bindJSON(c, &req); err != nil {
		return err
	}
	o, err := s.svc.CreateOrg(c.Request().Context(), actor(c), service.OrgInput{Code: req.Code, Name: req.Name, Level: service.Level(req.Level), ParentID: req.ParentID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toOrgJSON(o))
}

func (s *Server) getOrg(c echo.Context) error {
	o, err := s.svc.Org(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toOrgJSON(o))
}

func (s *Server) listOrgs(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	after, err := decodeCursor(c)
	if err != nil {
		return err
	}
	f := service.OrgFilter{ParentID: c.QueryParam("parent_id"), Level: service.Level(c.QueryParam("level")), After: after, Limit: limit}
	if f.Level != "" && !f.Level.Valid() {
		return service.BadParam("level", "unknown_level_filter")
	}
	orgs, err := s.svc.Orgs(c.Request().Context(), actor(c), f)
	if err != nil {
		return err
	}
	out := make([]orgJSON, len(orgs))
	for i, o := range orgs {
		out[i] = toOrgJSON(o)
	}
	return c.JSON(http.StatusOK, newPage(out, nextKey(orgs, limit, func(o service.Org) string { return o.Path })))
}

type userRequest struct {
	Username    string `json:"username" validate:"required,max=32"`
	Password    string `json:"password" validate:"required,max=72"`
	DisplayName string `json:"display_name" validate:"required,max=40"`
	Phone       string `json:"phone" validate:"max=20"`
	Role        string `json:"role" validate:"required,oneof=agent township_officer city_officer supervisor admin grid_inspector hotline_operator department_officer"`
	OrgID       string `json:"org_id" validate:"required,max=36"`
}

func (s *Server) createUser(c echo.Context) error {
	var req userRequest
	if _, err := bindJSON(c, &req); err != nil {
		return err
	}
	u, err := s.svc.CreateUser(c.Request().Context(), actor(c), service.UserInput{
		Username: req.Username, Password: req.Password, DisplayName: req.DisplayName,
		Phone: req.Phone, Role: service.Role(req.Role), OrgID: req.OrgID,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toUserJSON(u))
}

func (s *Server) listUsers(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	after, err := decodeCursor(c)
	if err != nil {
		return err
	}
	f := service.UserFilter{OrgID: c.QueryParam("org_id"), Role: service.Role(c.QueryParam("role")), Query: strings.TrimSpace(c.QueryParam("q")), After: after, Limit: limit}
	if f.Role != "" && f.Role.Level() == "" {
		return service.BadParam("role", "unknown_role")
	}
	if utf8.RuneCountInString(f.Query) > 40 {
		return service.BadParam("q", "too_long", "40")
	}
	users, err := s.svc.Users(c.Request().Context(), actor(c), f)
	if err != nil {
		return err
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = toUserJSON(u)
	}
	return c.JSON(http.StatusOK, newPage(out, nextKey(users, limit, func(u service.User) string { return u.Username })))
}

type resetJSON struct {
	User     userJSON `json:"user"`
	Password string   `json:"password"`
}

// resetPassword gives the user a generated password, shown in this answer
// only; they must change it at their next sign-in.
func (s *Server) resetPassword(c echo.Context) error {
	u, password, err := s.svc.ResetPassword(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, resetJSON{User: toUserJSON(u), Password: password})
}

// setUserActive disables (ending the user's sessions) or re-enables a user.
func (s *Server) setUserActive(active bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := s.svc.SetUserActive(c.Request().Context(), actor(c), c.Param("id"), active)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toUserJSON(u))
	}
}

type accountEventJSON struct {
	Action    string    `json:"action"`
	Label     string    `json:"label"`
	ActorName string    `json:"actor_name"`
	At        time.Time `json:"at"`
}

// accountEvents is what was done to a user's account, newest first.
func (s *Server) accountEvents(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	_, evs, err := s.svc.AccountEvents(c.Request().Context(), actor(c), c.Param("id"), limit)
	if err != nil {
		return err
	}
	out := make([]accountEventJSON, len(evs))
	for i, e := range evs {
		out[i] = accountEventJSON{Action: string(e.Action), Label: e.Action.Label(), ActorName: e.ActorName, At: shanghai(e.At)}
	}
	return c.JSON(http.StatusOK, newPage(out, ""))
}
