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

// ledgerHistory registers, for 甲一村, four errands on 2 March (one
// approved and rated 非常满意, one refused and rated 不满意, two open) and
// one on 2 April; and one for 乙一村 on 2 March.
func ledgerHistory(t *testing.T, env *apitest.Env) {
	t.Helper()
	ctx := context.Background()
	it := env.F.ItemTownship
	at := func(m time.Month, d, h int) { env.Clock.Set(time.Date(2026, m, d, h, 0, 0, 0, service.Shanghai)) }
	reg := func(agent, name string) service.Errand {
		t.Helper()
		e, _, err := env.Svc.Register(ctx, env.F.Actor(agent), service.RegisterInput{ItemCode: it.Code, Materials: it.Materials,
			Channel: service.ChannelWalkIn, Applicant: service.Applicant{Name: name, IDNumber: apitest.ValidID, Phone: "13912345678"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	step := func(who string, e service.Errand, act service.Action, in service.StepInput) service.Errand {
		t.Helper()
		e, _, err := env.Svc.Transition(ctx, env.F.Actor(who), e.ID, act, e.Version, in, nil)
		if err != nil {
			t.Fatalf("%s %s: %v", who, act, err)
		}
		return e
	}
	yes, no := true, false
	at(3, 2, 9)
	approved, refused := reg("ag1a", "张三丰"), reg("ag1a", "李四")
	reg("ag1a", "王五")
	reg("ag1a", "赵六")
	reg("ag2a", "钱七")
	for _, e := range []*service.Errand{&approved, &refused} {
		*e = step("tw1", step("ag1a", *e, service.ActionForward, service.StepInput{}), service.ActionAccept, service.StepInput{})
	}
	at(3, 4, 10)
	approved = step("tw1", approved, service.ActionComplete, service.StepInput{Outcome: service.OutcomeApproved})
	refused = step("tw1", refused, service.ActionComplete, service.StepInput{Outcome: service.OutcomeRefused, Reason: "不符合参保条件"})
	at(3, 5, 10)
	step("ag1a", approved, service.ActionDeliver, service.StepInput{ReceiptRecovered: &yes, Satisfaction: 5})
	step("ag1a", refused, service.ActionDeliver, service.StepInput{ReceiptRecovered: &no, IDNumber: apitest.ValidID, Satisfaction: 2})
	at(4, 2, 10)
	reg("ag1a", "孙八")
	at(4, 10, 10)
}

// TestBrowserLedgerRangeNamesAndPrint: the village agent chooses a range
// across two months and reads full names, results and ratings; the
// supervisor reads the same ledger with names masked; a bad range is
// refused at its field; the ledger prints on A4 landscape without the
// menus and buttons, the header row on every page.
func TestBrowserLedgerRangeNamesAndPrint(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ledgerHistory(t, env)

	agent := newPerson(t, root, env, "agent", desktopW, desktopH)
	agent.login("ag1a")
	agent.open("/ledger")
	// The current month by default: April holds one registration.
	if from, to := agent.value("#from"), agent.value("#to"); from != "2026-04-01" || to != "2026-04-30" {
		t.Errorf("the default range is %s..%s, want April", from, to)
	}
	agent.eval(`(() => { document.getElementById("from").value = "2026-03-01"; document.getElementById("to").value = "2026-04-30"; return "" })()`)
	agent.submit(`form.period button[type=submit]`)
	agent.expectText("h1", "甲一村", "2026年3月1日至2026年4月30日")
	agent.expectText(".downloads", "共 5 件")
	agent.expectText("table.ledger", "张三丰", "李四", "孙八", "准予", "不予：不符合参保条件", "非常满意", "不满意")
	if strings.Contains(agent.text("table.ledger"), "钱七") {
		t.Error("the village's ledger shows another village's errand")
	}
	if href := agent.eval(`document.querySelector(".downloads a[href*='format=csv']").getAttribute("href")`); !strings.Contains(href, "&from=2026-03-01&") || !strings.Contains(href, "&to=2026-04-30") {
		t.Errorf("the CSV download is %s, want the range", href)
	}
	agent.shot("60-agent-ledger-range-1366x768")
	if n := agent.printedPages(); n != 1 {
		t.Errorf("five rows print on %d pages, want 1", n)
	}
	// In print: no menu, form or buttons; the heading stays; A4 landscape.
	agent.do(emulatePrint())
	agent.shot("60-agent-ledger-print-media-1366x768")
	for _, sel := range []string{"header.top", "form.period", "[data-print]", ".downloads"} {
		if v := agent.eval(`(() => { const e = document.querySelector(` + jsString(sel) + `); return e ? getComputedStyle(e).display : "missing" })()`); v != "none" {
			t.Errorf("in print %s is %s, want hidden", sel, v)
		}
	}
	if v := agent.eval(`getComputedStyle(document.querySelector("table.ledger thead")).display`); v != "table-header-group" {
		t.Errorf("in print the header is %s, want repeated on each page (table-header-group)", v)
	}
	if v := agent.eval(`getComputedStyle(document.querySelector("main h1")).display`); v == "none" {
		t.Error("in print the heading with the org and the dates is hidden")
	}

	phone := newPerson(t, root, env, "agent-phone", phoneW, phoneH)
	phone.login("ag1a")
	phone.open("/ledger?from=2026-03-01&to=2026-04-30")
	phone.expectText("table.ledger", "张三丰")
	if w := phone.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the ledger page is %spx wide on a 390px phone (the table should scroll inside its frame)", w)
	}
	phone.shot("61-agent-ledger-390x844")

	super := newPerson(t, root, env, "supervisor", desktopW, desktopH)
	super.login("super")
	super.open("/ledger?org_id=" + env.F.V1a.ID + "&from=2026-03-01&to=2026-04-30")
	super.expectText("table.ledger", "张*丰", "李*", "孙*", "准予", "不予：不符合参保条件")
	if txt := super.text("table.ledger"); strings.Contains(txt, "张三丰") || strings.Contains(txt, "李四") {
		t.Errorf("the supervisor reads full names:\n%s", txt)
	}
	super.shot("62-supervisor-ledger-1366x768")
	// The month shorthand still works.
	super.open("/ledger?org_id=" + env.F.V1a.ID + "&month=2026-03")
	super.expectText(".downloads", "共 4 件")
	// A range of more than a year is refused at the 至 field.
	super.open("/ledger?org_id=" + env.F.V1a.ID + "&from=2025-01-01&to=2026-04-30")
	if msg := super.fieldError("#to"); !strings.Contains(msg, "一年") {
		t.Errorf("a range of 16 months: the 至 field says %q", msg)
	}
	super.open("/ledger?org_id=" + env.F.V1a.ID + "&from=2026-03-01&to=2026-02-31")
	if msg := super.fieldError("#to"); !strings.Contains(msg, "年-月-日") {
		t.Errorf("a bad date: the 至 field says %q", msg)
	}
	superPhone := newPerson(t, root, env, "supervisor-phone", phoneW, phoneH)
	superPhone.login("super")
	superPhone.open("/ledger?org_id=" + env.F.V1a.ID + "&from=2026-03-01&to=2026-04-30")
	superPhone.expectText("table.ledger", "张*丰")
	superPhone.shot("63-supervisor-ledger-390x844")

	// The downloads carry the range and the same names as the page.
	b := newBrowser(t, env)
	b.login("ag1a")
	csv := b.get("/ledger/export?format=csv&org_id=" + env.F.V1a.ID + "&from=2026-03-01&to=2026-04-30")
	expectStatus(t, csv, http.StatusOK)
	if lines := strings.Split(strings.TrimSpace(csv.Body), "\n"); len(lines) != 6 || !strings.Contains(csv.Body, "张三丰") ||
		!strings.Contains(csv.Body, "不符合参保条件") || !strings.Contains(csv.Body, "2026-04-02 10:00") {
		t.Errorf("the agent's ledger CSV:\n%s", csv.Body)
	}
}

// TestBrowserLedgerPrintsLandscapeWithHeaderOnEachPage: a ledger of many
// rows prints on several A4 landscape pages, each starting with the
// header row.
func TestBrowserLedgerPrintsLandscapeWithHeaderOnEachPage(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()
	it := env.F.ItemTownship
	for i := range 60 {
		env.Clock.Set(time.Date(2026, 3, 2, 9, i, 0, 0, service.Shanghai))
		if _, _, err := env.Svc.Register(ctx, env.F.Actor("ag1a"), service.RegisterInput{ItemCode: it.Code, Materials: it.Materials,
			Channel: service.ChannelWalkIn, Applicant: service.Applicant{Name: "张三丰", IDNumber: apitest.ValidID, Phone: "13912345678"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	agent := newPerson(t, root, env, "agent", desktopW, desktopH)
	agent.login("ag1a")
	agent.open("/ledger?month=2026-03")
	agent.expectText(".downloads", "共 60 件")
	pdf := agent.printedPDF()
	agent.saveArtefact("64-agent-ledger-print.pdf", pdf)
	if n := len(pdfPage.FindAll(pdf, -1)); n < 2 {
		t.Fatalf("60 rows print on %d page(s), want several", n)
	}
	// A4 landscape is 842 × 595 points.
	sizes := pdfPageSizes(pdf)
	if len(sizes) == 0 {
		t.Fatal("no page sizes in the PDF")
	}
	for _, s := range sizes {
		if s[0] < 835 || s[0] > 850 || s[1] < 590 || s[1] > 600 {
			t.Errorf("a page is %.0f × %.0f points, want A4 landscape (842 × 595)", s[0], s[1])
		}
	}
	// The header row is a table-header-group, which Chromium repeats at
	// the top of every printed page.
	agent.do(emulatePrint())
	if v := agent.eval(`getComputedStyle(document.querySelector("table.ledger thead")).display`); v != "table-header-group" {
		t.Errorf("the header row prints as %s", v)
	}
}
