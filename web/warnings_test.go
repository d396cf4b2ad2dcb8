package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"daiban/internal/apitest"
	"daiban/service"
)

// TestBrowserWarningsSupervise: the supervisor's 预警督办 says how many
// working days each errand is overdue, narrows to one township with its
// own totals, urges (催办) from the list, and downloads it; the urge is an
// event on the errand and a mark in the township officer's queue.
func TestBrowserWarningsSupervise(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()
	it := env.F.ItemTownship
	reg := func(agent, officer string) service.Errand {
		t.Helper()
		e, _, err := env.Svc.Register(ctx, env.F.Actor(agent), service.RegisterInput{ItemCode: it.Code, Materials: it.Materials,
			Channel: service.ChannelWalkIn, Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []struct {
			who string
			act service.Action
		}{{agent, service.ActionForward}, {officer, service.ActionAccept}} {
			if e, _, err = env.Svc.Transition(ctx, env.F.Actor(s.who), e.ID, s.act, e.Version, service.StepInput{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		return e
	}
	var mine []service.Errand // 甲镇's
	for range 3 {
		mine = append(mine, reg("ag1a", "tw1"))
	}
	reg("ag2a", "tw2")
	reg("ag2a", "tw2")
	// Registered Monday 2 March with 5 working days: due on Monday 9 March.
	// On Thursday 12 March they are three working days overdue.
	env.Clock.Set(time.Date(2026, 3, 12, 10, 0, 0, 0, service.Shanghai))

	super := newPerson(t, root, env, "supervisor", desktopW, desktopH)
	super.login("super")
	super.open("/warnings")
	super.expectText(".hint", "共 5 件：超期 5 件")
	super.expectText("table.warnings tbody tr:first-child td.days", "超期 3 个工作日")
	// Choosing a township in the select shows its list at once.
	super.limited(func(ctx context.Context) error {
		_, err := chromedp.RunResponse(ctx, chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("org_id");
			s.value = "`+env.F.T1.ID+`"; s.dispatchEvent(new Event("change")); })()`))
		return err
	})
	super.expectText(".hint", "共 3 件：超期 3 件")
	if n := super.eval(`String(document.querySelectorAll("table.warnings tbody tr").length)`); n != "3" {
		t.Errorf("甲镇 alone lists %s errands, want 3", n)
	}
	super.shot("50-supervisor-warnings-township-1366x768")

	first := super.text("table.warnings tbody tr:first-child td:first-child a")
	super.submit(`table.warnings tbody tr:first-child form button`)
	super.expectText(".flash", "已催办 "+first)
	super.expectText("table.warnings tbody tr:first-child", first, "已催办")
	if got := super.value("#org_id"); got != env.F.T1.ID {
		t.Errorf("after 催办 the list is no longer 甲镇's (%q)", got)
	}
	super.shot("51-supervisor-urged-1366x768")

	phone := newPerson(t, root, env, "supervisor-phone", phoneW, phoneH)
	phone.login("super")
	phone.open("/warnings")
	// On a phone each row is a card: the days overdue and 催办 on screen.
	if w := phone.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the warnings list is %spx wide on a 390px phone", w)
	}
	for _, sel := range []string{"td.days", "form button"} {
		right := phone.eval(`String(Math.round(document.querySelector("table.warnings tbody tr:first-child ` + sel + `").getBoundingClientRect().right))`)
		if r, _ := strconv.Atoi(right); r == 0 || r > phoneW {
			t.Errorf("on a phone the first row's %s ends at %spx", sel, right)
		}
	}
	phone.shot("52-supervisor-warnings-390x844")

	officer := newPerson(t, root, env, "officer", phoneW, phoneH)
	officer.login("tw1")
	officer.open("/errands?tab=processing")
	officer.expectText("table.list", first, "已催办")
	officer.shot("53-officer-queue-urged-390x844")
	var urged service.Errand
	for _, e := range mine {
		if e.ReceiptNo == first {
			urged = e
		}
	}
	officer.open("/errands/" + urged.ID)
	officer.expectText(".timeline", "催办", "请尽快办理")

	// The download link keeps the scope; the file holds every row of it,
	// with the days overdue.
	super.open("/warnings?org_id=" + env.F.T1.ID)
	link := super.eval(`document.querySelector('a[href^="/warnings/export?"][href*="format=csv"]').getAttribute("href")`)
	if !strings.Contains(link, "org_id="+env.F.T1.ID) {
		t.Errorf("the CSV link %q does not keep 甲镇", link)
	}
	b := newBrowser(t, env)
	b.login("super")
	csv := b.get(link)
	expectStatus(t, csv, http.StatusOK)
	if lines := strings.Split(strings.TrimSpace(csv.Body), "\n"); len(lines) != 4 || !strings.Contains(lines[0], "超期工作日") ||
		!strings.Contains(csv.Body, first) || !strings.Contains(csv.Body, "王*") || strings.Contains(csv.Body, "王五") {
		t.Errorf("warnings CSV:\n%s", csv.Body)
	}
	xlsx := b.get("/warnings/export?format=xlsx")
	if expectStatus(t, xlsx, http.StatusOK); !strings.HasPrefix(xlsx.Body, "PK") {
		t.Error("the XLSX download is not a zip file")
	}
}

// TestBrowserReportWarnings: 预警督办 shows both kinds. The supervisor
// switches to the 民情 tab and walks it to its last page, soonest deadline
// first, no report twice; a closed report is never there; a phone shows
// status and deadline without sideways scrolling.
func TestBrowserReportWarnings(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	hot := apitest.NewReportWorld(t, env).Actors["hot"]
	ctx := context.Background()
	var closedNo string
	for i := range 203 {
		in := service.ReportInput{Category: "safety", Text: "消防通道被堵，第" + strconv.Itoa(i+1) + "处",
			Reporter: service.Reporter{Phone: "13900006666"}}
		if i%3 == 0 {
			in.Urgency = service.UrgencyUrgent
		}
		r, err := env.Svc.SubmitReport(ctx, &hot, in)
		if err != nil {
			t.Fatal(err)
		}
		switch i {
		case 0:
			closedNo = r.No
		case 1:
			// The first is a duplicate of the second: merged, no longer open.
			first, err := env.Svc.Reports(ctx, hot, service.ReportFilter{Limit: 500}, false)
			if err != nil {
				t.Fatal(err)
			}
			dup := first[len(first)-1]
			if _, err := env.Svc.StepReport(ctx, hot, dup.ID, service.ReportMerge, service.ReportStepInput{Version: dup.Version, MergeInto: r.No}); err != nil {
				t.Fatal(err)
			}
		}
		env.Clock.Advance(time.Minute)
	}
	// Ten days later every open one is overdue.
	env.Clock.Advance(10 * 24 * time.Hour)

	super := newPerson(t, root, env, "supervisor", desktopW, desktopH)
	super.login("super")
	super.open("/warnings")
	super.submit(`nav.tabs a[href="/warnings?kind=reports"]`)
	seen := map[string]bool{}
	last := ""
	for page := 1; ; page++ {
		rows := super.eval(`Array.from(document.querySelectorAll("table.warnings tbody tr td.c-no a")).map(a => a.textContent + "|" + a.closest("tr").querySelector("td.c-due").textContent.trim()).join("\n")`)
		for _, row := range strings.Split(rows, "\n") {
			no, due, _ := strings.Cut(row, "|")
			if seen[no] {
				t.Fatalf("page %d lists %s again", page, no)
			}
			if due < last {
				t.Errorf("page %d: %s due %s after %s", page, no, due, last)
			}
			seen[no], last = true, due
		}
		if page == 1 {
			super.shot("reports-warnings-supervisor-1366x768")
		}
		if super.eval(`String(!!document.querySelector("p.next a"))`) != "true" {
			break
		}
		super.submit(`p.next a`)
	}
	if len(seen) != 202 || seen[closedNo] {
		t.Errorf("walked %d report warnings (want 202, without the merged %s: %v)", len(seen), closedNo, seen[closedNo])
	}
	phone := newPerson(t, root, env, "supervisor-phone", 360, 740)
	phone.login("super")
	phone.open("/warnings?kind=reports")
	phone.expectText("table.warnings tbody tr:first-child", "超期")
	noOverflow(t, phone, "the 民情 warnings")
	phone.shot("reports-warnings-supervisor-360x740")
}
