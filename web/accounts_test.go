package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"daiban/internal/apitest"
	"daiban/service"
)

// TestBrowserAccountPassword: every role finds 修改密码 in the header; a
// wrong current password, a short new one and a mistyped repeat are each
// named next to their field; the right change keeps this sign-in, ends the
// others, and the new password signs in.
func TestBrowserAccountPassword(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)

	for _, u := range []string{"ag1a", "tw1", "city", "super", "admin"} {
		p := newPerson(t, root, env, "header-"+u, desktopW, desktopH)
		p.login(u)
		if href := p.eval(`(document.querySelector('header.top .who a.pw') || {}).textContent || ""`); href != "修改密码" {
			t.Errorf("%s: the header has no 修改密码 link (%q)", u, href)
		}
	}

	other := newBrowser(t, env) // the same user on another PC
	other.login("ag1a")

	agent := newPerson(t, root, env, "agent", desktopW, desktopH)
	agent.login("ag1a")
	agent.submit(`header.top a.pw`)
	agent.expectText("h1", "修改密码")
	agent.expectText("#pw-rule", "8 至 72 个字节")
	agent.shot("account-password-1366x768")

	fill := func(p *person, current, next, again string) {
		p.do(chromedp.SetValue(chromedp.CSS(`#current_password`), current), chromedp.SetValue(chromedp.CSS(`#new_password`), next),
			chromedp.SetValue(chromedp.CSS(`#confirm_password`), again))
		p.submit(`#password button[type=submit]`)
	}
	fill(agent, "not-my-password", "a-new-password", "a-new-password")
	if msg := agent.fieldError("#current_password"); !strings.Contains(msg, "当前密码不正确") {
		t.Errorf("a wrong current password: %q", msg)
	}
	fill(agent, apitest.Password, "short", "short")
	if msg := agent.fieldError("#new_password"); !strings.Contains(msg, "8 至 72 个字节") {
		t.Errorf("a short new password: %q", msg)
	}
	agent.shot("account-password-too-short-1366x768")
	fill(agent, apitest.Password, "a-new-password", "a-new-passwort")
	if msg := agent.fieldError("#confirm_password"); !strings.Contains(msg, "不一致") {
		t.Errorf("a mistyped repeat: %q", msg)
	}
	fill(agent, apitest.Password, "a-new-password", "a-new-password")
	agent.expectText(".flash", "密码已修改")
	agent.open("/")
	agent.expectText("h1", "待我处理") // still signed in here
	if p := other.get("/"); p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "expired=1") {
		t.Errorf("the other PC's session: %d → %q, want it sent to sign in again", p.Status, p.Location)
	}

	again := newPerson(t, root, env, "agent-again", desktopW, desktopH)
	again.open("/login")
	again.do(chromedp.SendKeys(chromedp.CSS(`#username`), "ag1a"), chromedp.SendKeys(chromedp.CSS(`#password`), "a-new-password"))
	again.submit(`form[action="/login"] button[type=submit]`)
	again.expectText("h1", "待我处理")

	phone := newPerson(t, root, env, "phone", phoneW, phoneH)
	phone.login("tw1")
	phone.open("/account/password")
	phone.shot("account-password-390x844")
	fill(phone, apitest.Password, "x", "x")
	phone.shot("account-password-too-short-390x844")
	if w := phone.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the password page is %s px wide on a 390 px phone", w)
	}
}

// TestBrowserAccountAdminUsers: the admin's 用户管理: the list walks to its
// last page, search finds by username and by name, a new user gets a
// password shown once, a reset sends the user to change it at sign-in and
// nowhere else until they do, and a disabled user is told so at sign-in
// and comes back once re-enabled.
func TestBrowserAccountAdminUsers(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()
	for i := range 60 { // with the fixture's 9, two pages
		if _, err := env.Svc.Bootstrap(ctx, service.UserInput{Username: fmt.Sprintf("bulk%02d", i), Password: "bulk-password",
			DisplayName: fmt.Sprintf("批量%02d", i), Role: service.RoleAgent, OrgID: env.F.V1b.ID}); err != nil {
			t.Fatal(err)
		}
	}

	admin := newPerson(t, root, env, "admin", desktopW, desktopH)
	admin.login("admin")
	admin.submit(`nav.menu a[href="/users"]`)
	admin.expectText("h1", "用户管理")
	admin.shot("account-users-1366x768")
	seen := map[string]int{}
	for pages := 1; ; pages++ {
		for _, u := range strings.Fields(admin.eval(`Array.from(document.querySelectorAll('table.users tbody tr td:first-child')).map(td => td.textContent.trim()).join(' ')`)) {
			seen[u]++
		}
		next := admin.eval(`(document.querySelector('p > a[href^="/users?after="]') || {}).href || ""`)
		if next == "" {
			if pages != 2 {
				t.Errorf("the users took %d pages, want 2 of at most 50", pages)
			}
			break
		}
		if pages > 5 {
			t.Fatal("still a next page after 5")
		}
		admin.do(chromedp.Navigate(next))
	}
	if len(seen) != 69 {
		t.Errorf("walked %d users, want 69", len(seen))
	}
	for u, n := range seen {
		if n != 1 {
			t.Errorf("%s shown %d times", u, n)
		}
	}

	// Search by name.
	admin.open("/users")
	admin.do(chromedp.SendKeys(chromedp.CSS(`#q`), "甲镇"))
	admin.submit(`form.search button`)
	if got := admin.eval(`Array.from(document.querySelectorAll('table.users tbody tr td:first-child')).map(td => td.textContent.trim()).join(' ')`); got != "tw1" {
		t.Errorf("search 甲镇 found %q, want tw1", got)
	}

	// Create: a bad form first, then a good one.
	admin.open("/users")
	admin.do(chromedp.Click(chromedp.CSS(`details.create summary`)))
	admin.do(chromedp.SendKeys(chromedp.CSS(`#username`), "Bad Name"), chromedp.SendKeys(chromedp.CSS(`#display_name`), "新代办员"),
		chromedp.SetValue(chromedp.CSS(`#role`), "agent"), chromedp.SendKeys(chromedp.CSS(`#org`), "350182100"))
	admin.eval(`document.getElementById("create").noValidate = true; ""`)
	admin.submit(`#create button[type=submit]`)
	if msg := admin.fieldError("#username"); !strings.Contains(msg, "小写字母") {
		t.Errorf("a bad username: %q", msg)
	}
	if got := admin.value("#display_name"); got != "新代办员" {
		t.Errorf("the name typed became %q", got)
	}
	admin.shot("account-users-bad-create-1366x768")
	admin.do(chromedp.SetValue(chromedp.CSS(`#username`), "newagent"))
	admin.submit(`#create button[type=submit]`)
	if msg := admin.fieldError("#org"); !strings.Contains(msg, "层级不符") {
		t.Errorf("an agent at a township: %q", msg)
	}
	admin.do(chromedp.SetValue(chromedp.CSS(`#org`), "350182100201 甲一村"))
	admin.submit(`#create button[type=submit]`)
	admin.expectText(".flash", "已新建用户 newagent")
	created := admin.text("#new-password")
	if len(created) != 12 {
		t.Fatalf("the new user's password is %q", created)
	}
	admin.shot("account-users-created-1366x768")

	// Reset tw1's password.
	admin.open("/users?q=tw1")
	admin.submit(`form[action="/users/` + env.F.Users["tw1"].ID + `/reset-password"] button`)
	admin.expectText(".flash", "已重置用户 tw1")
	reset := admin.text("#new-password")
	admin.shot("account-users-reset-1366x768")

	officer := newPerson(t, root, env, "officer", desktopW, desktopH)
	officer.open("/login")
	officer.do(chromedp.SendKeys(chromedp.CSS(`#username`), "tw1"), chromedp.SendKeys(chromedp.CSS(`#password`), reset))
	officer.submit(`form[action="/login"] button[type=submit]`)
	officer.expectText("h1", "修改密码")
	officer.expectText("main .alert", "您的密码是管理员设置的")
	officer.shot("account-must-change-1366x768")
	officer.open("/errands?tab=all")
	if loc := officer.eval(`location.pathname`); loc != "/account/password" {
		t.Errorf("before changing the password, /errands went to %s", loc)
	}
	officer.do(chromedp.SendKeys(chromedp.CSS(`#current_password`), reset), chromedp.SendKeys(chromedp.CSS(`#new_password`), "officer-own-pw"),
		chromedp.SendKeys(chromedp.CSS(`#confirm_password`), "officer-own-pw"))
	officer.submit(`#password button[type=submit]`)
	officer.expectText(".flash", "密码已修改")
	officer.open("/errands?tab=all")
	officer.expectText("h1", "辖区办件")

	// The new user must change the shown password too.
	newbie := newPerson(t, root, env, "newbie", phoneW, phoneH)
	newbie.open("/login")
	newbie.do(chromedp.SendKeys(chromedp.CSS(`#username`), "newagent"), chromedp.SendKeys(chromedp.CSS(`#password`), created))
	newbie.submit(`form[action="/login"] button[type=submit]`)
	newbie.expectText("h1", "修改密码")
	newbie.shot("account-must-change-390x844")

	// Disable ag1a2: their open session ends at once and sign-in says why.
	victim := newPerson(t, root, env, "victim", desktopW, desktopH)
	victim.login("ag1a2")
	admin.open("/users?q=ag1a2")
	admin.submit(`form[action="/users/` + env.F.Users["ag1a2"].ID + `/disable"] button`)
	admin.expectText(".flash", "已停用用户 ag1a2")
	admin.expectText("table.users", "已停用")
	admin.shot("account-users-disabled-1366x768")
	victim.open("/errands?tab=all")
	if loc := victim.eval(`location.pathname`); loc != "/login" {
		t.Errorf("a disabled user's session still opened %s", loc)
	}
	victim.login("ag1a2")
	victim.expectText("main .alert", "此账号已停用", "系统管理员")
	victim.shot("account-login-disabled-1366x768")
	admin.submit(`form[action="/users/` + env.F.Users["ag1a2"].ID + `/enable"] button`)
	admin.expectText(".flash", "已启用用户 ag1a2")
	victim.login("ag1a2")
	victim.expectText("h1", "待我处理")

	// The admin cannot disable themselves: no button for it.
	admin.open("/users?q=admin")
	if n := admin.eval(`String(document.querySelectorAll('form[action="/users/` + env.F.Users["admin"].ID + `/disable"]').length)`); n != "0" {
		t.Errorf("the admin's own row offers 停用 (%s)", n)
	}

	phone := newPerson(t, root, env, "admin-phone", phoneW, phoneH)
	phone.login("admin")
	phone.open("/users")
	phone.shot("account-users-390x844")
	if w := phone.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the users page is %s px wide on a 390 px phone", w)
	}
}

// TestAccountLoginPage: the sign-in page says whom to ask, and the lockout
// says for how long, from the real window.
func TestAccountLoginPage(t *testing.T) {
	env := newEnv(t)
	b := newBrowser(t, env)
	expectText(t, b.get("/login"), "忘记密码或账号被停用，请联系本县（市）系统管理员")
	for range 5 {
		expectStatus(t, b.post("/login", url.Values{"username": {"tw2"}, "password": {"wrong-password"}}), http.StatusUnauthorized)
	}
	p := b.post("/login", url.Values{"username": {"tw2"}, "password": {apitest.Password}})
	expectStatus(t, p, http.StatusTooManyRequests)
	expectText(t, p, "请 15 分钟后再试")
	env.Clock.Advance(14*60*1e9 + 1e9)
	expectText(t, b.post("/login", url.Values{"username": {"tw2"}, "password": {apitest.Password}}), "请 1 分钟后再试")

	// Others than the admin get no user administration.
	b.login("super")
	expectStatus(t, b.get("/users"), http.StatusForbidden)
	expectStatus(t, b.post("/users/"+env.F.Users["ag1a"].ID+"/disable", url.Values{}), http.StatusForbidden)
	if u, _ := env.Store.User(context.Background(), env.F.Users["ag1a"].ID); !u.Active {
		t.Error("a supervisor disabled ag1a")
	}
}

// TestBrowserAccountHistory: the admin opens a user from the list and reads
// what was done to the account, on a desktop and on a phone.
func TestBrowserAccountHistory(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	admin := env.Login("admin")
	id := env.F.Users["tw1"].ID
	env.Post("/api/v1/users/"+id+"/reset-password", admin, nil)
	env.Post("/api/v1/users/"+id+"/disable", admin, nil)
	for _, size := range [][2]int64{{desktopW, desktopH}, {phoneW, phoneH}} {
		p := newPerson(t, root, env, fmt.Sprintf("admin-%d", size[0]), size[0], size[1])
		p.login("admin")
		p.open("/users?q=tw1")
		p.submit(`table.users a[href="/users/` + id + `/events"]`)
		p.expectText("h1", "账号记录：tw1")
		p.expectText("table.account-events", "停用", "重置密码", "新建账号", "管理员")
		p.expectText("main", "已停用")
		if w := p.eval(`String(document.documentElement.scrollWidth)`); w != fmt.Sprint(size[0]) {
			t.Errorf("at %d px the page is %s px wide", size[0], w)
		}
		p.shot(fmt.Sprintf("account-history-%dx%d", size[0], size[1]))
	}
}
