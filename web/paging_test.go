package web_test

import (
	"context"
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
			next := p.eval(`(document.querySelector('a[href*="cursor="]') || {}).href || ''`)
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
