package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"daiban/internal/apitest"
	"daiban/service"
)

// TestBrowserDashboardGroupedByItem: the supervisor's 明细分组 turns the
// detail table and its downloads to items, categories or months; the
// charts stay by unit; a made-up grouping is refused at its field.
func TestBrowserDashboardGroupedByItem(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()
	reg := func(agent string, it service.Item) {
		t.Helper()
		if _, _, err := env.Svc.Register(ctx, env.F.Actor(agent), service.RegisterInput{ItemCode: it.Code, Materials: it.Materials,
			Channel: service.ChannelWalkIn, Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	env.Clock.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, service.Shanghai))
	reg("ag1a", env.F.ItemTownship)
	reg("ag1a", env.F.ItemTownship)
	reg("ag2a", env.F.ItemTownship)
	reg("ag1b", env.F.ItemCity)
	env.Clock.Set(time.Date(2026, 4, 2, 9, 0, 0, 0, service.Shanghai))
	reg("ag1a", env.F.ItemCity)
	env.Clock.Set(time.Date(2026, 4, 10, 9, 0, 0, 0, service.Shanghai))

	rows := func(p *person) string {
		return p.eval(`Array.from(document.querySelectorAll("#detail tbody tr")).map(r => Array.from(r.cells).slice(0, 2).map(c => c.textContent.trim()).join(":")).join(" | ")`)
	}
	super := newPerson(t, root, env, "supervisor", desktopW, desktopH)
	super.login("super")
	super.open("/dashboard?from=2026-03-01&to=2026-04-30")
	super.expectText("#table-h", "分单位明细")
	if got, want := rows(super), "甲镇:4 | 乙镇:1 | 合计:5"; got != want {
		t.Errorf("by unit: %q, want %q", got, want)
	}
	super.eval(`(() => { document.getElementById("group").value = "item"; return "" })()`)
	super.submit(`form.period button[type=submit]`)
	super.expectText("#table-h", "分事项明细")
	super.expectText("#detail thead th:first-child", "事项")
	if got, want := rows(super), "最低生活保障申请:2 | 新农合参保登记:3 | 合计:5"; got != want {
		t.Errorf("by item: %q, want %q", got, want)
	}
	// The unit chart beside it stays by township.
	super.expectText("#units-h", "各乡镇(街道)办结率")
	if href := super.eval(`document.querySelector(".downloads a[href^='/stats/export']").getAttribute("href")`); !strings.Contains(href, "&group_by=item&") || !strings.Contains(href, "from=2026-03-01") {
		t.Errorf("the download is %s, want grouped by item", href)
	}
	// A quick period keeps the grouping.
	if href := super.eval(`document.querySelector("nav.quick a").getAttribute("href")`); !strings.Contains(href, "group=item") {
		t.Errorf("the quick period %s drops the grouping", href)
	}
	super.shot("70-supervisor-dashboard-by-item-1366x768")

	super.open("/dashboard?from=2026-03-01&to=2026-04-30&group=month")
	super.expectText("#table-h", "分月份明细")
	if got, want := rows(super), "2026-03:4 | 2026-04:1 | 合计:5"; got != want {
		t.Errorf("by month: %q, want %q", got, want)
	}
	super.open("/dashboard?from=2026-03-01&to=2026-04-30&group=category")
	super.expectText("#table-h", "分类别明细")
	if n := super.eval(`String(document.querySelectorAll("#detail tbody tr").length)`); n != "2" {
		t.Errorf("by category (both items are 社会保障): %s rows, want one and the total", n)
	}
	super.open("/dashboard?from=2026-03-01&to=2026-04-30&group=colour")
	if msg := super.fieldError("#group"); !strings.Contains(msg, "分组") {
		t.Errorf("a made-up grouping: the field says %q", msg)
	}

	phone := newPerson(t, root, env, "supervisor-phone", phoneW, phoneH)
	phone.login("super")
	phone.open("/dashboard?from=2026-03-01&to=2026-04-30&group=item")
	phone.expectText("#detail", "新农合参保登记", "最低生活保障申请")
	if w := phone.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the dashboard is %spx wide on a 390px phone", w)
	}
	phone.shot("71-supervisor-dashboard-by-item-390x844")

	b := newBrowser(t, env)
	b.login("super")
	bad := b.get("/dashboard?group=colour")
	expectStatus(t, bad, http.StatusBadRequest)
	csv := b.get("/stats/export?format=csv&from=2026-03-01&to=2026-04-30&group_by=item")
	expectStatus(t, csv, http.StatusOK)
	if !strings.Contains(csv.Body, "新农合参保登记") || !strings.Contains(csv.Body, "最低生活保障申请") {
		t.Errorf("the item download:\n%s", csv.Body)
	}
}
