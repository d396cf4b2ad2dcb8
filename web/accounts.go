package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

// The account pages: everyone's 修改密码, and the admin's 用户管理 (the
// list with search and paging, create, reset a password, disable and
// re-enable). The rules are the service's; these pages only ask and show.

const passwordPath = "/account/password"

type passwordData struct {
	Must bool // signed in with a password an admin reset
	Done bool
}

func (w *console) passwordPage(c echo.Context) error {
	p := w.newPage(c, "修改密码")
	d := passwordData{Must: actor(c).MustChangePassword, Done: c.QueryParam("done") == "1"}
	if d.Done {
		p.Flash = "密码已修改。您在其他电脑或手机上的登录已退出，请用新密码重新登录。"
	}
	p.Data = d
	return w.render(c, http.StatusOK, "password", p)
}

func (w *console) changePassword(c echo.Context) error {
	current, next, again := c.FormValue("current_password"), c.FormValue("new_password"), c.FormValue("confirm_password")
	p := w.newPage(c, "修改密码")
	p.Data = passwordData{Must: actor(c).MustChangePassword}
	p.Form = "password"
	if next != again && next != "" {
		p.Errors = map[string]string{"confirm_password": "两次输入的新密码不一致，请重新输入。"}
		p.Alert = "有 1 处需要修改，请按红字提示改正后重新提交。"
		return w.render(c, http.StatusUnprocessableEntity, "password", p)
	}
	token, _ := c.Get(tokenKey).(string)
	if err := w.svc.ChangePassword(ctx(c), actor(c), token, current, next); err != nil {
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		return w.render(c, status, "password", p)
	}
	return c.Redirect(http.StatusSeeOther, passwordPath+"?done=1")
}

// roleLabels name the roles as the offices do.
var roleLabels = map[service.Role]string{
	service.RoleAgent: "代办员", service.RoleTownshipOfficer: "乡镇办事员", service.RoleCityOfficer: "市中心办事员",
	service.RoleSupervisor: "督查", service.RoleAdmin: "系统管理员",
	service.RoleGridInspector: "网格员", service.RoleHotlineOperator: "热线话务员", service.RoleDepartmentOfficer: "职能部门办事员",
}

type userRow struct {
	U       service.User
	Role    string
	OrgName string
	Self    bool
}

type usersData struct {
	Q       string
	Rows    []userRow
	Next    string
	Roles   []roleOption
	Orgs    []service.Org
	Created *service.User // just created, with Password shown once
	Reset   *service.User // just reset, with Password shown once
	Pass    string
}

type roleOption struct{ Value, Label string }

const usersPerPage = 50

func (w *console) requireAdmin(c echo.Context) error {
	if actor(c).Role != service.RoleAdmin {
		return service.ErrForbidden
	}
	return nil
}

// users is the admin's list: search by username or name, 50 a page in
// username order, 下一页 to the last.
func (w *console) users(c echo.Context) error {
	if err := w.requireAdmin(c); err != nil {
		return err
	}
	p := w.newPage(c, "用户管理")
	switch c.QueryParam("done") {
	case "disabled":
		p.Flash = "已停用用户 " + c.QueryParam("u") + "，其登录已全部退出。"
	case "enabled":
		p.Flash = "已启用用户 " + c.QueryParam("u") + "。"
	}
	return w.renderUsers(c, p, http.StatusOK)
}

func (w *console) renderUsers(c echo.Context, p *page, status int) error {
	d, _ := p.Data.(*usersData)
	if d == nil {
		d = &usersData{}
		p.Data = d
	}
	d.Q = strings.TrimSpace(c.QueryParam("q"))
	after := c.QueryParam("after")
	if utf8.RuneCountInString(d.Q) > 40 {
		return service.BadParam("q", "too_long", "40")
	}
	a := actor(c)
	users, err := w.svc.Users(ctx(c), a, service.UserFilter{Query: d.Q, After: after, Limit: usersPerPage})
	if err != nil {
		return err
	}
	for _, u := range users {
		row := userRow{U: u, Role: roleLabels[u.Role], Self: u.ID == a.UserID}
		if o, err := w.svc.Org(ctx(c), a, u.OrgID); err == nil {
			row.OrgName = o.Name
		}
		d.Rows = append(d.Rows, row)
	}
	if len(users) == usersPerPage {
		q := url.Values{"after": {users[len(users)-1].Username}}
		if d.Q != "" {
			q.Set("q", d.Q)
		}
		d.Next = "/users?" + q.Encode()
	}
	for _, r := range service.Roles {
		d.Roles = append(d.Roles, roleOption{string(r), roleLabels[r]})
	}
	// The organisations to choose from, by code; a deployment has a few hundred.
	orgs, err := w.svc.Orgs(ctx(c), a, service.OrgFilter{Limit: 500})
	if err != nil {
		return err
	}
	d.Orgs = orgs
	return w.render(c, status, "users", p)
}

// createUser adds an account with a password made up here and shown once;
// the user sets their own at the first sign-in.
func (w *console) createUser(c echo.Context) error {
	if err := w.requireAdmin(c); err != nil {
		return err
	}
	f, err := c.FormParams()
	if err != nil {
		return service.BadParam("body", "unreadable_form")
	}
	p := w.newPage(c, "用户管理")
	p.Form, p.Values = "create", url.Values{}
	for _, k := range []string{"username", "display_name", "phone", "role", "org"} {
		p.Values.Set(k, f.Get(k))
	}
	in := service.UserInput{Username: f.Get("username"), DisplayName: f.Get("display_name"), Phone: f.Get("phone"),
		Role: service.Role(f.Get("role")), Password: service.NewPassword(), MustChangePassword: true}
	if code := strings.TrimSpace(f.Get("org")); code != "" {
		code, _, _ = strings.Cut(code, " ") // the list offers "350182100 吴航街道"
		orgs, err := w.svc.Orgs(ctx(c), actor(c), service.OrgFilter{Code: code, Limit: 1})
		if err != nil {
			return err
		}
		in.OrgID = "unknown"
		if len(orgs) == 1 {
			in.OrgID = orgs[0].ID
		}
	}
	u, err := w.svc.CreateUser(ctx(c), actor(c), in)
	if err != nil {
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		if m, ok := p.Errors["org_id"]; ok {
			p.Errors["org"] = m
			delete(p.Errors, "org_id")
		}
		return w.renderUsers(c, p, status)
	}
	p.Form, p.Values = "", nil
	p.Flash = "已新建用户 " + u.Username + "（" + u.DisplayName + "）。"
	p.Data = &usersData{Created: &u, Pass: in.Password}
	return w.renderUsers(c, p, http.StatusOK)
}

// resetPassword shows the new password on this answer only.
func (w *console) resetPassword(c echo.Context) error {
	u, password, err := w.svc.ResetPassword(ctx(c), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	p := w.newPage(c, "用户管理")
	p.Flash = "已重置用户 " + u.Username + "（" + u.DisplayName + "）的密码，其登录已全部退出。"
	p.Data = &usersData{Reset: &u, Pass: password}
	return w.renderUsers(c, p, http.StatusOK)
}

func (w *console) setUserActive(active bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := w.svc.SetUserActive(ctx(c), actor(c), c.Param("id"), active)
		if err != nil {
			return err
		}
		done := "enabled"
		if !active {
			done = "disabled"
		}
		q := url.Values{"done": {done}, "u": {u.Username}, "q": {u.Username}}
		return c.Redirect(http.StatusSeeOther, "/users?"+q.Encode())
	}
}

type accountHistory struct {
	User   service.User
	Events []service.AccountEvent
}

// accountEvents shows what was done to one user's account, newest first.
func (w *console) accountEvents(c echo.Context) error {
	if err := w.requireAdmin(c); err != nil {
		return err
	}
	u, evs, err := w.svc.AccountEvents(ctx(c), actor(c), c.Param("id"), 200)
	if err != nil {
		return err
	}
	p := w.newPage(c, "账号记录："+u.Username)
	p.Data = accountHistory{User: u, Events: evs}
	return w.render(c, http.StatusOK, "account_events", p)
}
