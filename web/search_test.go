package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"daiban/internal/apitest"
	"daiban/service"
)

const idB = "35018219900101123X" // a second valid ID number

// searchData registers, from Monday 2026-03-02 on: 120 errands of 张三丰 and
// 10 of 李四 at 甲一村 (ag1a), 5 of 张伟 at 甲二村 (ag1b), all 甲镇, and 30 of
// 张三丰 with the same phone and ID number at 乙一村 (ag2a, 乙镇); the first
// 60 at 甲一村 and the 乙一村 ones ten days before the rest, so they are
// overdue now. It returns the receipt numbers by village and name.
func searchData(t *testing.T, env *apitest.Env) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	reg := func(who, name, id, phone string, n int) {
		it := env.F.ItemTownship
		for range n {
			e, _, err := env.Svc.Register(ctx, env.F.Actor(who), service.RegisterInput{ItemCode: it.Code, Materials: it.Materials,
				Channel: service.ChannelWalkIn, Applicant: service.Applicant{Name: name, IDNumber: id, Phone: phone}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			out[who+" "+name] = append(out[who+" "+name], e.ReceiptNo)
		}
	}
	reg("ag1a", "张三丰", apitest.ValidID, "13912345678", 60)
	reg("ag2a", "张三丰", apitest.ValidID, "13912345678", 30)
	env.Clock.Advance(10 * 24 * time.Hour) // Thursday 12 March
	reg("ag1a", "张三丰", apitest.ValidID, "13912345678", 60)
	reg("ag1a", "李四", idB, "13800001111", 10)
	reg("ag1b", "张伟", idB, "0591-28888888", 5)
	return out
}

// rows are the receipt numbers and applicant names of a list page's rows.
func rows(p *person) (receipts, names []string) {
	p.t.Helper()
	got := p.eval(`Array.from(document.querySelectorAll('table.list tbody tr')).filter(r => r.querySelector('.c-no'))
		.map(r => r.querySelector('.c-no').textContent.trim() + ' ' + r.querySelector('.c-name').textContent.trim()).join('\n')`)
	for _, line := range strings.Split(got, "\n") {
		if no, name, ok := strings.Cut(line, " "); ok {
			receipts, names = append(receipts, no), append(names, name)
		}
	}
	return receipts, names
}

// walkSearch follows 下一页 to the last page of a search, checking on each
// page that the form still holds the search and every row matches it; it
// returns how often each receipt appeared and the number of pages.
func walkSearch(p *person, field, value, prefix string) (map[string]int, int) {
	p.t.Helper()
	seen := map[string]int{}
	pages := 0
	for {
		pages++
		if got := p.value("#" + field); got != value {
			p.t.Errorf("%s, page %d: the search form holds %s=%q, want %q", p.name, pages, field, got, value)
		}
		nos, names := rows(p)
		for i, no := range nos {
			seen[no]++
			if !strings.HasPrefix(names[i], prefix) {
				p.t.Errorf("%s, page %d: %s of %s does not match the search %s", p.name, pages, no, names[i], prefix)
			}
		}
		next := p.eval(`(document.querySelector('p.next a') || {}).href || ''`)
		if next == "" {
			return seen, pages
		}
		if u, _ := url.Parse(next); u.Query().Get(field) != value {
			p.t.Errorf("%s, page %d: the next page %s drops the search", p.name, pages, next)
		}
		if pages > 20 {
			p.t.Fatalf("%s: still a next page after %d", p.name, pages)
		}
		p.do(chromedp.Navigate(next))
	}
}

// expectOnce checks that the walk saw each wanted receipt once and nothing else.
func expectOnce(t *testing.T, who string, seen map[string]int, want ...[]string) {
	t.Helper()
	n := 0
	for _, list := range want {
		for _, no := range list {
			n++
			if seen[no] != 1 {
				t.Errorf("%s: %s shown %d times, want once", who, no, seen[no])
			}
		}
	}
	if len(seen) != n {
		t.Errorf("%s: %d errands found, want %d (others are outside the scope or do not match)", who, len(seen), n)
	}
}

// TestBrowserSearchErrands searches the list of errands in Chromium as an
// agent, a township officer and the supervisor: by name (its start), walked
// page by page to the end with the search kept in the form, the next page
// and the other order; by phone and registration days; by ID number; and
// with a malformed ID number, which is answered next to the field. No
// search shows an errand outside the searcher's scope.
func TestBrowserSearchErrands(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	data := searchData(t, env)

	// The agent of 甲一村: 120 of 张三丰 in three pages, none of 乙一村's.
	agent := newPerson(t, root, env, "agent", desktopW, desktopH)
	agent.login("ag1a")
	agent.open("/errands?tab=all")
	agent.do(chromedp.SendKeys(chromedp.CSS("#name"), "张"))
	agent.submit(`form.errand-search button[type=submit]`)
	if q := agent.eval(`location.search`); !strings.Contains(q, "name=%E5%BC%A0") || !strings.Contains(q, "tab=all") {
		t.Errorf("the search went to %s", q)
	}
	agent.shot("search-agent-name-1366x768")
	seen, pages := walkSearch(agent, "name", "张", "张")
	expectOnce(t, "the agent searching 张", seen, data["ag1a 张三丰"])
	if pages != 3 {
		t.Errorf("the agent's search took %d pages, want 3 of at most 50", pages)
	}
	agent.shot("search-agent-last-page-1366x768")
	// The other order keeps the search too: the overdue ones first.
	agent.submit(`p.sorts a`)
	if got := agent.value("#name"); got != "张" {
		t.Errorf("sorted by deadline the search holds %q", got)
	}
	nos, _ := rows(agent)
	if len(nos) == 0 || nos[0] != data["ag1a 张三丰"][0] {
		t.Errorf("by deadline the search starts with %v, want the earliest registered %s", nos[:min(1, len(nos))], data["ag1a 张三丰"][0])
	}
	seen, _ = walkSearch(agent, "name", "张", "张")
	expectOnce(t, "the agent searching 张 by deadline", seen, data["ag1a 张三丰"])
	if n := agent.eval(`String(document.querySelectorAll('tr.overdue').length)`); n != "0" {
		// the last page by deadline holds the later ones, none overdue
		t.Errorf("the last page by deadline has %s overdue rows", n)
	}

	// The township officer of 甲镇: 张 finds 甲一村's and 甲二村's, never 乙镇's.
	officer := newPerson(t, root, env, "officer", desktopW, desktopH)
	officer.login("tw1")
	officer.open("/errands?tab=all&name=" + url.QueryEscape("张"))
	seen, _ = walkSearch(officer, "name", "张", "张")
	expectOnce(t, "the township officer searching 张", seen, data["ag1a 张三丰"], data["ag1b 张伟"])
	// By phone and registration days, set in the second row of the form.
	officer.open("/errands?tab=all")
	if open := officer.eval(`String(document.querySelector('details.more').open)`); open != "false" {
		t.Errorf("with no date or status set the second row is open: %s", open)
	}
	officer.do(chromedp.Click(chromedp.CSS("details.more summary")), chromedp.SendKeys(chromedp.CSS("#phone"), "13912345678"))
	officer.eval(`document.getElementById('from').value = '2026-03-12'; document.getElementById('to').value = '2026-03-12'; ''`)
	officer.submit(`form.errand-search button[type=submit]`)
	// The second row folds again and its summary says what it holds.
	officer.expectText("details.more summary", "已选：2026-03-12 至 2026-03-12 登记")
	officer.shot("search-officer-phone-dates-1366x768")
	seen, _ = walkSearch(officer, "phone", "13912345678", "张三丰")
	expectOnce(t, "the township officer searching a phone from 12 March", seen, data["ag1a 张三丰"][60:])
	if got := officer.value("#from"); got != "2026-03-12" {
		t.Errorf("the from date became %q", got)
	}

	// The supervisor by ID number: every village's, and a malformed number
	// is answered next to its field, as typed.
	super := newPerson(t, root, env, "supervisor", desktopW, desktopH)
	super.login("super")
	super.open("/errands?tab=all")
	super.do(chromedp.SendKeys(chromedp.CSS("#id_number"), idB))
	super.submit(`form.errand-search button[type=submit]`)
	seen, _ = walkSearch(super, "id_number", idB, "")
	expectOnce(t, "the supervisor searching an ID number", seen, data["ag1a 李四"], data["ag1b 张伟"])
	super.shot("search-supervisor-id-1366x768")
	super.do(chromedp.Clear(chromedp.CSS("#id_number")), chromedp.SendKeys(chromedp.CSS("#id_number"), "350182199001011231"))
	super.submit(`form.errand-search button[type=submit]`)
	if msg := super.fieldError("#id_number"); !strings.Contains(msg, "校验位不符") {
		t.Errorf("a wrong check character says %q next to the field", msg)
	}
	if got := super.value("#id_number"); got != "350182199001011231" {
		t.Errorf("after the error the field holds %q", got)
	}
	super.shot("search-supervisor-bad-id-1366x768")

	// The same searches on a phone.
	phones := map[string]*person{}
	for _, who := range []struct{ user, path, shot string }{
		{"ag1a", "/errands?tab=all&name=" + url.QueryEscape("张"), "search-agent-name-390x844"},
		{"tw1", "/errands?tab=all&phone=13912345678&from=2026-03-12", "search-officer-phone-dates-390x844"},
		{"super", "/errands?tab=all&id_number=" + idB, "search-supervisor-id-390x844"},
		{"super", "/errands?tab=all&id_number=350182199001011231", "search-supervisor-bad-id-390x844"},
	} {
		p := phones[who.user]
		if p == nil {
			p = newPerson(t, root, env, who.user+"-phone", phoneW, phoneH)
			p.login(who.user)
			phones[who.user] = p
		}
		p.open(who.path)
		p.shot(who.shot)
	}
}

// TestSearchFormErrors: without a browser, each malformed filter of the
// console's search is a 400 page with the Chinese message next to its field
// and what was typed kept; a status outside a queue is refused, not an empty
// list.
func TestSearchFormErrors(t *testing.T) {
	env := newEnv(t)
	b := newBrowser(t, env)
	b.login("tw1")
	for _, c := range []struct{ query, field, msg string }{
		{"tab=all&id_number=350182199001011231", "id_number", "身份证号码校验位不符"},
		{"tab=all&phone=12345", "phone", "请填写11位手机号码"},
		{"tab=all&name=%E5%BC%A0%E2%80%8B", "name", "含有不可见"},
		{"tab=all&from=2026-02-30", "from", "年-月-日"},
		{"tab=all&from=2026-03-05&to=2026-03-01", "from", "开始日期不能晚于结束日期"},
		{"tab=all&item=NOPE", "item", "目录中没有此事项"},
		{"tab=all&status=lost", "status", "办理状态"},
		{"tab=incoming&status=delivered", "status", "本列表中没有这种状态"},
		{"tab=all&receipt_no=26000000", "receipt_no", "回执编号"},
	} {
		p := b.get("/errands?" + c.query)
		if p.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", c.query, p.Status)
			continue
		}
		if strings.Contains(p.Body, `<table class="list`) {
			t.Errorf("%s: a list is shown beside the error, as if the search had found nothing", c.query)
		}
		// The message sits in the same field box as the control.
		i := strings.Index(p.Body, `id="`+c.field+`"`)
		box := p.Body[max(0, i):]
		if end := strings.Index(box, `<div class="field`); end > 0 {
			box = box[:end]
		}
		if i < 0 || !strings.Contains(box, `class="err"`) || !strings.Contains(box, c.msg) {
			t.Errorf("%s: no message %q next to %s:\n%.800s", c.query, c.msg, c.field, box)
		}
	}
	p := b.get("/errands?tab=all&phone=12345&name=" + url.QueryEscape("张三"))
	expectText(t, p, `value="12345"`, `value="张三"`)
}

// TestBrowserListsOnPhones: on phones 360, 390 and 414 px wide, the lists
// of errands, the queues and the warnings fit the screen: nothing scrolls
// sideways, and the first row's status and due date lie inside the
// viewport, for an agent, a township officer and the supervisor.
func TestBrowserListsOnPhones(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()
	// Errands at both centres' doors, some overdue, some due soon.
	it := env.F.ItemTownship
	for i := range 12 {
		who := []string{"ag1a", "ag1b", "ag2a"}[i%3]
		e, _, err := env.Svc.Register(ctx, env.F.Actor(who), service.RegisterInput{ItemCode: it.Code, Materials: it.Materials,
			Channel: service.ChannelWalkIn, Applicant: service.Applicant{Name: "欧阳娜娜", IDNumber: apitest.ValidID, Phone: "0591-28888888"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, _, err := env.Svc.Transition(ctx, env.F.Actor(who), e.ID, service.ActionForward, e.Version, service.StepInput{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if i == 5 {
			env.Clock.Advance(6 * 24 * time.Hour)
		}
	}
	env.Clock.Advance(4 * 24 * time.Hour) // Thursday 12 March: the first six overdue, the rest due tomorrow
	pages := map[string][]string{
		"ag1a":  {"/", "/errands?tab=progress", "/errands?tab=all", "/errands?tab=all&name=%E6%AC%A7%E9%98%B3"},
		"tw1":   {"/", "/errands?tab=all", "/warnings", "/errands?tab=all&phone=0591-28888888&status=forwarded"},
		"super": {"/errands?tab=all", "/warnings", "/errands?tab=all&name=%E6%AC%A7%E9%98%B3&from=2026-03-02"},
	}
	for _, user := range []string{"ag1a", "tw1", "super"} {
		p := newPerson(t, root, env, user+"-phone", 360, phoneH)
		p.login(user)
		for _, path := range pages[user] {
			p.open(path)
			for _, w := range []int64{360, 390, 414} { // the page reflows as the viewport changes
				p.do(chromedp.EmulateViewport(w, phoneH, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
				// The page is as wide as the screen, and the first row's
				// status and due date are on it: inside the viewport across
				// and, below the search form, within the first screen.
				got := p.eval(`(function(){
					var vw = window.innerWidth, vh = window.innerHeight, out = [];
					if (vw !== ` + strconv.FormatInt(w, 10) + `) out.push("the viewport is " + vw + " px wide");
					if (document.documentElement.scrollWidth > vw) out.push("scrollWidth " + document.documentElement.scrollWidth + " > " + vw);
					var row = document.querySelector("table.list tbody tr");
					if (!row || !row.querySelector(".c-status")) return out.concat(["no first row"]).join("; ");
					[".c-status", ".c-due"].forEach(function (sel) {
						var r = row.querySelector(sel).getBoundingClientRect();
						if (r.width === 0 || r.height === 0) out.push(sel + " is hidden");
						if (r.left < 0 || r.right > vw) out.push(sel + " spans " + Math.round(r.left) + "-" + Math.round(r.right) + " px across");
						if (r.bottom > vh) out.push(sel + " ends " + Math.round(r.bottom) + " px down, below the first screen");
					});
					return out.join("; ");
				})()`)
				if got != "" {
					t.Errorf("%s at %d px, %s: %s", user, w, path, got)
				}
			}
		}
		p.do(chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
		for _, path := range pages[user][:2] {
			p.open(path)
			p.shot("phone-" + user + "-" + strings.NewReplacer("/", "", "?", "-", "=", "-", "&", "-").Replace(path) + "-390x844")
		}
	}
	// The same lists on an office PC keep their table.
	for _, user := range []string{"ag1a", "tw1", "super"} {
		p := newPerson(t, root, env, user+"-desktop", desktopW, desktopH)
		p.login(user)
		path := pages[user][len(pages[user])-2]
		p.open(path)
		if d := p.eval(`getComputedStyle(document.querySelector('table.list thead')).position + ' ' + getComputedStyle(document.querySelector('table.list tbody tr')).display`); d != "static table-row" {
			t.Errorf("%s on a PC, %s: the list is laid out as %q, want a table", user, path, d)
		}
		p.shot("desktop-" + user + "-" + strings.NewReplacer("/", "", "?", "-", "=", "-", "&", "-").Replace(path) + "-1366x768")
	}
}
