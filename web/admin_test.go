package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"daiban/service"
)

// TestAdminPagesOnlyForTheAdmin: every other role gets 403 on each
// administration page and each of its forms, sees no 管理 menu, and its
// posts change nothing; the admin sees the menu with its three links.
func TestAdminPagesOnlyForTheAdmin(t *testing.T) {
	env := newEnv(t)
	gets := []string{"/admin/orgs", "/admin/catalogue", "/admin/catalogue/new", "/admin/catalogue/TWN", "/admin/calendar", "/admin/calendar?year=2027"}
	posts := map[string]url.Values{
		"/admin/orgs":          {"parent_id": {env.F.T1.ID}, "code": {"350182100299"}, "name": {"越权村"}},
		"/admin/catalogue/new": {"code": {"X1"}, "name": {"越权事项"}, "category": {"shehui"}, "level": {"township"}, "fee": {"0"}, "time_limit_days": {"3"}},
		"/admin/catalogue/TWN": {"name": {"越权"}, "fee": {"0"}, "time_limit_days": {"1"}, "active": {"1"}},
		"/admin/calendar/2027": {"days": {"2027-01-04 休 越权"}},
	}
	for _, user := range []string{"ag1a", "tw1", "city", "super"} {
		b := newBrowser(t, env)
		b.login(user)
		if home := b.get("/"); strings.Contains(home.Body, `aria-label="管理"`) || strings.Contains(home.Body, "/admin/") {
			t.Errorf("%s sees the admin menu", user)
		}
		for _, path := range gets {
			if p := b.get(path); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "无权") {
				t.Errorf("%s GET %s: %d, want 403 with 无权", user, path, p.Status)
			}
		}
		for path, form := range posts {
			if p := b.post(path, url.Values(cloneValues(form))); p.Status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", user, path, p.Status)
			}
		}
	}
	ctx := context.Background()
	if orgs, _ := env.Svc.Orgs(ctx, env.F.Actor("admin"), service.OrgFilter{Code: "350182100299"}); len(orgs) != 0 {
		t.Error("a refused post added an organisation")
	}
	if _, err := env.Svc.Item(ctx, "X1"); err == nil {
		t.Error("a refused post added an item")
	}
	if it, _ := env.Svc.Item(ctx, "TWN"); it.TimeLimitDays != env.F.ItemTownship.TimeLimitDays || it.Name != env.F.ItemTownship.Name {
		t.Errorf("a refused post changed the item: %+v", it)
	}
	if y, err := env.Svc.CalendarYear(ctx, 2027); err == nil && calendarHas(y, "2027-01-04") {
		t.Error("a refused post changed the calendar")
	}

	admin := newBrowser(t, env)
	admin.login("admin")
	home := admin.get("/")
	expectText(t, home, `aria-label="管理"`, `href="/admin/orgs"`, `href="/admin/catalogue"`, `href="/admin/calendar"`)
	for _, path := range gets {
		expectStatus(t, admin.get(path), http.StatusOK)
	}
	// A post without the session's token is refused and changes nothing.
	p := admin.post("/admin/orgs", url.Values{"_csrf": {"forged"}, "parent_id": {env.F.T1.ID}, "code": {"350182100299"}, "name": {"伪造村"}})
	expectStatus(t, p, http.StatusForbidden)
	if orgs, _ := env.Svc.Orgs(ctx, env.F.Actor("admin"), service.OrgFilter{Code: "350182100299"}); len(orgs) != 0 {
		t.Error("a forged post added an organisation")
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func calendarHas(y service.CalendarYear, date string) bool {
	for _, d := range y.Days {
		if d.Date.String() == date {
			return true
		}
	}
	return false
}

// TestAdminOrgForm: the admin adds a township under the city and a village
// under it; a duplicate code is a 409 saying so beside the code, a code of
// the wrong length or outside the parent a 422 naming the field, and
// neither adds anything.
func TestAdminOrgForm(t *testing.T) {
	env := newEnv(t)
	admin := newBrowser(t, env)
	admin.login("admin")
	p := admin.get("/admin/orgs")
	expectText(t, p, "测试市", "350182", "甲镇", "350182100", "甲一村", "350182100201", "共 6 个")

	p = admin.post("/admin/orgs", url.Values{"parent_id": {env.F.City.ID}, "code": {"350182102"}, "name": {"丙镇"}})
	expectStatus(t, p, http.StatusSeeOther)
	p = admin.get(p.Location)
	expectText(t, p, "已添加：丙镇（350182102）。", "共 7 个")
	var bing string
	orgs, err := env.Svc.Orgs(context.Background(), env.F.Actor("admin"), service.OrgFilter{Code: "350182102"})
	if err != nil || len(orgs) != 1 || orgs[0].Level != service.LevelTownship || orgs[0].ParentID != env.F.City.ID {
		t.Fatalf("the new township: %+v, %v", orgs, err)
	}
	bing = orgs[0].ID
	p = admin.post("/admin/orgs", url.Values{"parent_id": {bing}, "code": {"350182102201"}, "name": {"丙一村"}})
	expectStatus(t, p, http.StatusSeeOther)
	expectText(t, admin.get(p.Location), "已添加：丙一村（350182102201）。", "共 8 个")

	for _, bad := range []struct {
		form   url.Values
		status int
		says   string
	}{
		{url.Values{"parent_id": {env.F.T1.ID}, "code": {"350182100201"}, "name": {"重复村"}}, http.StatusConflict, "已有编码相同的组织机构"},
		{url.Values{"parent_id": {env.F.T1.ID}, "code": {"35018210020"}, "name": {"短码村"}}, http.StatusUnprocessableEntity, "村(社区)的区划代码为 12 位数字。"},
		{url.Values{"parent_id": {env.F.T1.ID}, "code": {"350182101209"}, "name": {"越界村"}}, http.StatusUnprocessableEntity, "须以上级单位的代码 350182100 开头。"},
		{url.Values{"parent_id": {env.F.T1.ID}, "code": {"350182100209"}, "name": {""}}, http.StatusUnprocessableEntity, "此项必填。"},
		{url.Values{"parent_id": {""}, "code": {"350182100209"}, "name": {"无上级村"}}, http.StatusUnprocessableEntity, "请选择上级单位。"},
		{url.Values{"parent_id": {env.F.V1a.ID}, "code": {"350182100209"}, "name": {"村下村"}}, http.StatusUnprocessableEntity, "村(社区)之下不能再设组织机构"},
	} {
		p := admin.post("/admin/orgs", bad.form)
		if p.Status != bad.status || !strings.Contains(p.Body, bad.says) {
			t.Errorf("%v: %d, want %d saying %q:\n%.3000s", bad.form, p.Status, bad.status, bad.says, p.Body)
		}
		if !strings.Contains(p.Body, `value="`+bad.form.Get("code")+`"`) {
			t.Errorf("%v: the code typed is not kept in the form", bad.form)
		}
	}
	expectText(t, admin.get("/admin/orgs"), "共 8 个")
}

// TestAdminItemForm: the admin adds an item and edits one through the
// forms. The edit reaches new registrations only: an errand registered
// before keeps its limit and due date. A duplicate code is a 409, bad
// numbers and a repeated material a 422 naming the field or line, and a
// refused form changes nothing.
func TestAdminItemForm(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	admin, agent := newBrowser(t, env), newBrowser(t, env)
	admin.login("admin")
	agent.login("ag1a")
	before, _, _ := register(t, agent, registration(env))
	old, err := env.Svc.Errand(ctx, env.F.Actor("ag1a"), before)
	if err != nil {
		t.Fatal(err)
	}

	p := admin.get("/admin/catalogue")
	expectText(t, p, "新农合参保登记", "已停办事项", "已停办", "承诺 5 个工作日", "＋ 新增事项")
	p = admin.get("/admin/catalogue/TWN")
	expectText(t, p, `value="新农合参保登记"`, "身份证\n户口簿", `name="time_limit_days" type="number" min="1" max="180" step="1" required value="5"`)

	edit := url.Values{"name": {"新农合参保登记"}, "materials": {"身份证\r\n户口簿\r\n\r\n一寸照片"}, "fee": {"12.5"}, "time_limit_days": {"15"}, "active": {"1"}}
	p = admin.post("/admin/catalogue/TWN", cloneValues(edit))
	expectStatus(t, p, http.StatusSeeOther)
	p = admin.get(p.Location)
	expectText(t, p, "已保存：新农合参保登记（TWN）", "承诺 15 个工作日", "12.50 元", "身份证、户口簿、一寸照片")

	again, err := env.Svc.Errand(ctx, env.F.Actor("ag1a"), before)
	if err != nil {
		t.Fatal(err)
	}
	if !again.DueAt.Equal(old.DueAt) || again.TimeLimitDays != 5 {
		t.Errorf("after the edit the earlier errand is due %v (%d days), want %v (5 days)", again.DueAt, again.TimeLimitDays, old.DueAt)
	}
	f := registration(env)
	f["materials"] = []string{"身份证", "户口簿", "一寸照片"}
	after, _, _ := register(t, agent, f)
	if e, err := env.Svc.Errand(ctx, env.F.Actor("ag1a"), after); err != nil || e.TimeLimitDays != 15 || !e.DueAt.After(old.DueAt) {
		t.Errorf("a registration after the edit: %d days due %v (%v), want 15 days, due after %v", e.TimeLimitDays, e.DueAt, err, old.DueAt)
	}

	for _, bad := range []struct {
		change map[string]string
		status int
		says   string
	}{
		{map[string]string{"time_limit_days": "0"}, http.StatusUnprocessableEntity, "承诺时限须为 1 至 180 个工作日。"},
		{map[string]string{"time_limit_days": "五"}, http.StatusUnprocessableEntity, "请填写工作日数"},
		{map[string]string{"fee": "1.234"}, http.StatusUnprocessableEntity, "请填写金额（元）"},
		{map[string]string{"fee": "-3"}, http.StatusUnprocessableEntity, "请填写金额（元）"},
		{map[string]string{"materials": "身份证\n户口簿\n身份证"}, http.StatusUnprocessableEntity, "第 3 项“身份证”：重复了"},
		{map[string]string{"name": " "}, http.StatusUnprocessableEntity, "此项必填。"},
	} {
		form := cloneValues(edit)
		for k, v := range bad.change {
			form.Set(k, v)
		}
		p := admin.post("/admin/catalogue/TWN", form)
		if p.Status != bad.status || !strings.Contains(p.Body, bad.says) {
			t.Errorf("%v: %d, want %d saying %q:\n%.3000s", bad.change, p.Status, bad.status, bad.says, p.Body)
		}
	}
	if it, _ := env.Svc.Item(ctx, "TWN"); it.TimeLimitDays != 15 || it.FeeCents != 1250 || len(it.Materials) != 3 {
		t.Errorf("refused edits changed the item: %+v", it)
	}

	// Unticking 受理中 takes the item off the agent's catalogue.
	off := cloneValues(edit)
	off.Del("active")
	expectStatus(t, admin.post("/admin/catalogue/TWN", off), http.StatusSeeOther)
	if strings.Contains(agent.get("/register").Body, "新农合参保登记") {
		t.Error("the agent's catalogue still offers the item taken off")
	}

	add := url.Values{"code": {"SH99"}, "name": {"独生子女父母光荣证"}, "category": {"shehui"}, "level": {"city"},
		"materials": {"申请表\n户口簿"}, "fee": {"0"}, "time_limit_days": {"7"}}
	p = admin.post("/admin/catalogue/new", cloneValues(add))
	expectStatus(t, p, http.StatusSeeOther)
	expectText(t, admin.get(p.Location), "已保存：独生子女父母光荣证（SH99）", "承诺 7 个工作日")
	if it, err := env.Svc.Item(ctx, "SH99"); err != nil || it.Level != service.LevelCity || !it.Active || len(it.Materials) != 2 {
		t.Errorf("the new item: %+v, %v", it, err)
	}
	p = admin.post("/admin/catalogue/new", cloneValues(add))
	if p.Status != http.StatusConflict || !strings.Contains(p.Body, "目录中已有编码相同的事项") {
		t.Errorf("a duplicate item code: %d, want 409 saying so:\n%.2000s", p.Status, p.Body)
	}
	lower := cloneValues(add)
	lower.Set("code", "sh100")
	if p := admin.post("/admin/catalogue/new", lower); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "编码为2至20位大写字母") {
		t.Errorf("a lower-case code: %d, want 422 naming the code", p.Status)
	}
	expectStatus(t, admin.get("/admin/catalogue/NOPE"), http.StatusNotFound)
}

// TestAdminCalendarForm: the admin enters a year one day a line; a bad line
// is named by its number and nothing is saved; a good text replaces the
// year, and registrations after it count the new holidays.
func TestAdminCalendarForm(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	admin := newBrowser(t, env)
	admin.login("admin")
	before, err := env.Svc.CalendarYear(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	p := admin.get("/admin/calendar?year=2026")
	expectText(t, p, "2026 年工作日历", "2026-01-01 休 元旦", "2026-01-01</td><td>星期四</td><td>休</td>")

	for _, bad := range []struct {
		text string
		says []string
	}{
		{"2026-01-01 休 元旦\n\n2026-13-01 休 乱写", []string{"第 3 行：“2026-13-01”不是日期"}},
		{"2026-01-01 放 元旦", []string{"第 1 行：第二项应为“休”（放假）或“班”（调休上班），不是“放”。"}},
		{"2026-01-01", []string{"第 1 行：缺少“休”或“班”"}},
		{"2026-01-01 休 元旦\n2027-01-01 休 元旦", []string{"第 2 行：日期不在 2026 年内。"}},
		{"2026-01-01 休 元旦\n2026-01-01 休 元旦", []string{"第 2 行：这一天已在前面写过"}},
		{"2026-01-05 班 周一", []string{"第 1 行：调休上班日（班）只能是星期六或星期日。"}},
		{"2026-01-01 休 一二三四五六七八九十一二三四五六七八九十一", []string{"第 1 行：最多 20 个字。"}},
		{"2026-01-01 休 元旦\nfoo 休\n2026-01-02 放", []string{"第 2 行：“foo”不是日期", "第 3 行：第二项应为"}},
		// A line that reads as a day is checked even when another does not.
		{"2026-01-05 班 周一\nfoo 休\n2026-01-01 休 元旦", []string{"第 1 行：调休上班日（班）只能是星期六或星期日。", "第 2 行：“foo”不是日期", "有 2 处需要修改"}},
	} {
		p := admin.post("/admin/calendar/2026", url.Values{"days": {bad.text}, "note": {"测试"}})
		if p.Status != http.StatusUnprocessableEntity {
			t.Errorf("%q: %d, want 422", bad.text, p.Status)
		}
		expectText(t, p, append(bad.says, "日历未保存，原有日历没有改动")...)
		if !strings.Contains(p.Body, bad.text[:10]) {
			t.Errorf("%q: the text typed is not kept", bad.text)
		}
	}
	if y, _ := env.Svc.CalendarYear(ctx, 2026); len(y.Days) != len(before.Days) || y.Note != before.Note {
		t.Errorf("refused posts changed 2026: %d days %q, want %d %q", len(y.Days), y.Note, len(before.Days), before.Note)
	}

	// 2031 has no calendar yet: weekends only. Make 2031-03-03 (a Monday) a holiday.
	expectText(t, admin.get("/admin/calendar?year=2031"), "2031 年的节假日尚未录入")
	p = admin.post("/admin/calendar/2031", url.Values{"days": {"2031-01-01 休 元旦\r\n2031-03-03 休 测试假\r\n2031-03-08 班 调休"}, "note": {"测试通知"}})
	expectStatus(t, p, http.StatusSeeOther)
	p = admin.get(p.Location)
	expectText(t, p, "已保存。", "2031-03-03</td><td>星期一</td><td>休</td><td>测试假", "2031-03-08</td><td>星期六</td><td><strong>班</strong>", "测试通知")
	y, err := env.Svc.CalendarYear(ctx, 2031)
	if err != nil || len(y.Days) != 3 || y.Days[2].Kind != service.DayWorkday {
		t.Fatalf("2031 saved as %+v, %v", y, err)
	}
	// The saved text reads back as it was typed.
	if !strings.Contains(p.Body, "2031-01-01 休 元旦\n2031-03-03 休 测试假\n2031-03-08 班 调休\n") {
		t.Errorf("the form does not hold the saved year:\n%.3000s", p.Body)
	}
	expectStatus(t, admin.post("/admin/calendar/1999", url.Values{"days": {""}}), http.StatusNotFound)
	expectStatus(t, admin.get("/admin/calendar?year=abc"), http.StatusBadRequest)
}
