package web_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"daiban/internal/apitest"
	"daiban/service"
)

// TestBrowserPagingWalksToTheEnd: an agent's list of errands and the
// supervisor's warnings, each longer than a page, are walked in Chromium by
// their 下一页 links to the last page; every errand appears exactly once.
func TestBrowserPagingWalksToTheEnd(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()
	it := env.F.ItemTownship
	const n = 210 // five pages of errands, two of warnings
	want := map[string]bool{}
	for i := range n {
		e, _, err := env.Svc.Register(ctx, env.F.Actor("ag1a"), service.RegisterInput{ItemCode: it.Code, Materials: it.Materials,
			Channel: service.ChannelWalkIn, Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}}, nil)
		if err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
		want[e.ReceiptNo] = true
	}
	env.Clock.Advance(30 * 24 * time.Hour) // every one of them overdue

	walk := func(p *person, first, shot string) (pages int) {
		t.Helper()
		seen := map[string]int{}
		p.open(first)
		for {
			pages++
			rows := p.eval(`Array.from(document.querySelectorAll('table.list tbody tr td:first-child a')).map(a => a.textContent.trim()).join(' ')`)
			for _, no := range strings.Fields(rows) {
				seen[no]++
			}
			next := p.eval(`(document.querySelector('p > a[href*="cursor="]') || {}).href || ''`)
			if next == "" {
				break
			}
			if pages > n {
				t.Fatalf("%s: still a next page after %d pages", first, pages)
			}
			p.do(chromedp.Navigate(next))
		}
		p.shot(shot)
		for no := range want {
			if seen[no] != 1 {
				t.Errorf("%s: receipt %s shown %d times over %d pages, want once", first, no, seen[no], pages)
			}
		}
		if len(seen) != len(want) {
			t.Errorf("%s: %d receipts over %d pages, want %d", first, len(seen), pages, len(want))
		}
		return pages
	}

	agent := newPerson(t, root, env, "agent", desktopW, desktopH)
	agent.login("ag1a")
	if pages := walk(agent, "/errands?tab=all", "paging-agent-last-page-1366x768"); pages != 5 {
		t.Errorf("the agent's errands took %d pages, want 5 of at most 50", pages)
	}
	// The work queue, soonest deadline first, pages by its own cursor.
	if pages := walk(agent, "/errands?tab=todo", "paging-agent-queue-last-page-1366x768"); pages != 5 {
		t.Errorf("the agent's queue took %d pages, want 5 of at most 50", pages)
	}
	super := newPerson(t, root, env, "supervisor", desktopW, desktopH)
	super.login("super")
	super.open("/warnings")
	// The totals are over every page, not the 200 rows of the first.
	super.expectText("p.hint", "共 210 件：超期 210 件，临期 0 件。")
	if pages := walk(super, "/warnings", "paging-warnings-last-page-1366x768"); pages != 2 {
		t.Errorf("the warnings took %d pages, want 2 of at most 200", pages)
	}

	// The same lists on a phone.
	for _, who := range []struct{ user, path, shot string }{
		{"ag1a", "/errands?tab=all", "paging-agent-errands-390x844"},
		{"super", "/warnings", "paging-warnings-390x844"},
	} {
		p := newPerson(t, root, env, who.user+"-phone", phoneW, phoneH)
		p.login(who.user)
		p.open(who.path)
		p.shot(who.shot)
	}
}

// TestBrowserQueueMostUrgentFirst: a work queue lists the soonest deadline
// first and can be sorted by registration instead; the list of all errands
// is newest first.
func TestBrowserQueueMostUrgentFirst(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()
	register := func(it service.Item) string {
		e, _, err := env.Svc.Register(ctx, env.F.Actor("ag1a"), service.RegisterInput{ItemCode: it.Code, Materials: it.Materials,
			Channel: service.ChannelWalkIn, Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return e.ReceiptNo
	}
	soon := register(env.F.ItemTownship) // 5 working days
	env.Clock.Advance(time.Hour)
	later := register(env.F.ItemCity) // registered after, due later
	first := func(p *person) string {
		return p.eval(`document.querySelector('table.list tbody tr td:first-child a').textContent.trim()`)
	}
	agent := newPerson(t, root, env, "agent", desktopW, desktopH)
	agent.login("ag1a")
	agent.open("/errands?tab=todo")
	if got := first(agent); got != soon {
		t.Errorf("the queue starts with %s, want %s (due first)", got, soon)
	}
	agent.expectText("p.sorts strong", "承诺办结最早在前")
	agent.shot("queue-by-due-1366x768")
	phone := newPerson(t, root, env, "agent-phone", phoneW, phoneH)
	phone.login("ag1a")
	phone.open("/errands?tab=todo")
	phone.shot("queue-by-due-390x844")
	agent.submit(`p.sorts a`)
	if got := first(agent); got != later {
		t.Errorf("sorted by registration the queue starts with %s, want %s (newest first)", got, later)
	}
	agent.open("/errands?tab=all")
	if got := first(agent); got != later {
		t.Errorf("all errands start with %s, want %s (newest first)", got, later)
	}
}

// TestBrowserHeaderOnPhones: signed in, every role's header (the 民情 roles
// too) stays within 120 px at 360, 390 and 414 px wide: the menu wraps in
// rows below the name instead of shrinking to a character a line.
func TestBrowserHeaderOnPhones(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	apitest.NewReportWorld(t, env) // the grid inspector, hotline operator and department officer
	for _, user := range []string{"ag1a", "tw1", "city", "super", "admin", "gi1", "hot", "dep"} {
		for _, w := range []int64{360, 390, 414} {
			p := newPerson(t, root, env, fmt.Sprintf("%s-%d", user, w), w, phoneH)
			p.login(user)
			p.open("/")
			h := p.eval(`String(Math.round(document.querySelector('header.top').getBoundingClientRect().height))`)
			if n, err := strconv.Atoi(h); err != nil || n > 120 {
				t.Errorf("%s at %d px: the header is %s px tall, want at most 120", user, w, h)
			}
			if w == 390 {
				p.shot("header-" + user + "-390x844")
			}
		}
	}
}
