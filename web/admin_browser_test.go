package web_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"daiban/service"
)

// TestBrowserAdminPages: in Chromium the admin reaches the three pages from
// the 管理 menu, adds a village under a township, edits an item's time limit
// (and sees a repeated material refused beside the field), and enters a
// calendar year, first with a bad line that is named and saves nothing. Each
// page is photographed at 1366×768 and 390×844 and fits the phone's width.
func TestBrowserAdminPages(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()

	admin := newPerson(t, root, env, "admin", desktopW, desktopH)
	admin.login("admin")
	admin.expectText(`nav[aria-label="管理"]`, "组织机构", "事项目录", "工作日历")

	// Organisations.
	admin.submit(`nav[aria-label="管理"] a[href="/admin/orgs"]`)
	admin.expectText("h1", "组织机构")
	admin.expectText(".tree", "甲镇", "350182100", "乙镇")
	if cur := admin.eval(`document.querySelector('nav[aria-label="管理"] a[aria-current]').textContent`); cur != "组织机构" {
		t.Errorf("the 管理 menu marks %q as here, want 组织机构", cur)
	}
	admin.shot("admin-orgs-1366x768")
	admin.do(chromedp.SetValue(chromedp.CSS(`#parent_id`), env.F.T1.ID),
		chromedp.SendKeys(chromedp.CSS(`#code`), "350182100203"), chromedp.SendKeys(chromedp.CSS(`#org-name`), "甲三村"))
	admin.submit(`#add button[type=submit]`)
	admin.expectText("p.flash", "已添加：甲三村（350182100203）")
	if open := admin.eval(`String(document.querySelector('#org-` + env.F.T1.ID + ` details').open)`); open != "true" {
		t.Error("after adding a village its township is not shown open")
	}
	admin.expectText("#org-"+env.F.T1.ID, "甲三村", "350182100203", "3 个村(社区)")
	// A duplicate code is said beside the field.
	admin.do(chromedp.SetValue(chromedp.CSS(`#parent_id`), env.F.T1.ID), chromedp.SetValue(chromedp.CSS(`#code`), "350182100203"),
		chromedp.SetValue(chromedp.CSS(`#org-name`), "重复村"))
	admin.submit(`#add button[type=submit]`)
	if msg := admin.fieldError("#code"); msg != "已有编码相同的组织机构，编码不能重复。请核对统计用区划代码。" {
		t.Errorf("a duplicate code says %q beside the field", msg)
	}
	admin.shot("admin-orgs-duplicate-1366x768")

	// The catalogue: edit TWN's time limit.
	admin.submit(`nav[aria-label="管理"] a[href="/admin/catalogue"]`)
	admin.expectText("#item-OLD", "已停办事项", "已停办")
	admin.expectText("#item-TWN", "承诺 5 个工作日")
	admin.shot("admin-catalogue-1366x768")
	admin.submit(`#item-TWN a`)
	admin.expectText("h1", "修改事项：新农合参保登记")
	if v := admin.value("#materials"); v != "身份证\n户口簿" {
		t.Errorf("the materials box holds %q", v)
	}
	admin.do(chromedp.SetValue(chromedp.CSS(`#materials`), "身份证\n户口簿\n户口簿"), chromedp.SetValue(chromedp.CSS(`#time_limit_days`), "12"))
	admin.submit(`#item-form button[type=submit]`)
	if msg := admin.fieldError("#materials"); msg != "第 3 项“户口簿”：重复了，每项只写一次。" {
		t.Errorf("a repeated material says %q beside the box", msg)
	}
	if v := admin.value("#time_limit_days"); v != "12" {
		t.Errorf("after the refusal the time limit box holds %q, want what was typed", v)
	}
	admin.shot("admin-item-error-1366x768")
	admin.do(chromedp.SetValue(chromedp.CSS(`#materials`), "身份证\n户口簿"))
	admin.submit(`#item-form button[type=submit]`)
	admin.expectText("p.flash", "已保存：新农合参保登记（TWN）")
	admin.expectText("#item-TWN", "承诺 12 个工作日")
	if it, err := env.Svc.Item(ctx, "TWN"); err != nil || it.TimeLimitDays != 12 {
		t.Errorf("TWN after the edit: %+v, %v", it, err)
	}
	admin.submit(`a.button[href="/admin/catalogue/new"]`)
	admin.expectText("h1", "新增代办事项")
	admin.shot("admin-item-new-1366x768")

	// The calendar: 2027, a bad line first.
	admin.open("/admin/calendar?year=2027")
	admin.expectText("h1", "2027 年工作日历")
	admin.shot("admin-calendar-1366x768")
	before, err := env.Svc.CalendarYear(ctx, 2027)
	if err != nil {
		t.Fatal(err)
	}
	admin.do(chromedp.SetValue(chromedp.CSS(`#days`), "2027-01-01 休 元旦\n2027-02-30 休 二月三十\n2027-01-04 班 周一"))
	admin.submit(`#calendar-form button[type=submit]`)
	admin.expectText("p.alert", "日历未保存，原有日历没有改动")
	admin.expectText(".line-errors", "第 2 行：“2027-02-30”不是日期", "第 3 行：调休上班日（班）只能是星期六或星期日。")
	admin.shot("admin-calendar-error-1366x768")
	if y, _ := env.Svc.CalendarYear(ctx, 2027); len(y.Days) != len(before.Days) {
		t.Errorf("a refused calendar changed 2027: %d days, want %d", len(y.Days), len(before.Days))
	}
	admin.do(chromedp.SetValue(chromedp.CSS(`#days`), "2027-01-01 休 元旦\n2027-02-06 班 春节调休\n2027-02-08 休 春节"),
		chromedp.SetValue(chromedp.CSS(`#note`), "测试录入"))
	admin.submit(`#calendar-form button[type=submit]`)
	admin.expectText("p.flash", "已保存")
	if n := admin.eval(`String(document.querySelectorAll('#calendar-days tbody tr').length)`); n != "3" {
		t.Errorf("the saved year shows %s rows, want 3", n)
	}
	admin.expectText("#calendar-days tr.workday", "2027-02-06", "星期六", "班", "春节调休")
	if y, err := env.Svc.CalendarYear(ctx, 2027); err != nil || len(y.Days) != 3 || y.Days[1].Kind != service.DayWorkday {
		t.Errorf("2027 after saving: %+v, %v", y, err)
	}

	// Every page on a phone: within the screen's width, the header low.
	phone := newPerson(t, root, env, "admin-phone", phoneW, phoneH)
	phone.login("admin")
	for _, pg := range []struct{ path, shot string }{
		{"/admin/orgs?parent=" + env.F.T1.ID, "admin-orgs-390x844"},
		{"/admin/catalogue", "admin-catalogue-390x844"},
		{"/admin/catalogue/TWN", "admin-item-390x844"},
		{"/admin/catalogue/new", "admin-item-new-390x844"},
		{"/admin/calendar?year=2027", "admin-calendar-390x844"},
	} {
		phone.open(pg.path)
		if w := phone.eval(`String(document.documentElement.scrollWidth)`); w != strconv.Itoa(phoneW) {
			t.Errorf("%s on a phone is %s px wide, want %d", pg.path, w, phoneW)
		}
		if h, _ := strconv.Atoi(phone.eval(`String(Math.round(document.querySelector('header.top').getBoundingClientRect().height))`)); h > 120 {
			t.Errorf("%s on a phone: the header is %d px tall, want at most 120", pg.path, h)
		}
		phone.shot(pg.shot)
	}
	// The calendar's table fits without scrolling sideways.
	if fits := phone.eval(`(function(){var w=document.querySelector('#calendar-days').parentElement; return String(w.scrollWidth <= w.clientWidth)})()`); fits != "true" {
		t.Error("on a phone the calendar table scrolls sideways")
	}
}
