package web_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"daiban/internal/apitest"
	"daiban/service"
)

// photoFile writes a small PNG, as a phone's camera would give a JPEG.
func photoFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "路灯.png")
	if err := os.WriteFile(path, apitest.PNG(t, 64, 48), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var reportNoRE = regexp.MustCompile(`^[0-9A-Z]+$`)

// noOverflow fails when the page scrolls sideways.
func noOverflow(t *testing.T, p *person, what string) {
	t.Helper()
	if got := p.eval(`String(document.documentElement.scrollWidth > window.innerWidth)`); got != "false" {
		t.Errorf("%s: %s scrolls sideways (scrollWidth %s, width %s)", p.name, what,
			p.eval(`String(document.documentElement.scrollWidth)`), p.eval(`String(window.innerWidth)`))
	}
}

// openInbox opens the newest message and returns where it led.
func openInbox(p *person, text string) string {
	p.t.Helper()
	p.open("/inbox")
	p.expectText("ul.inbox-list", text)
	p.submit(`ul.inbox-list li:first-child button.message`)
	return p.eval(`location.pathname`)
}

// TestBrowserReportJourney: a grid inspector reports a broken street lamp
// from a 390 px phone with a photo; the village agent dispatches it to the
// township; the township officer, told in the inbox, signs and answers;
// the agent accepts the answer and closes it with the reporter's grade.
func TestBrowserReportJourney(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	apitest.NewReportWorld(t, env)

	// The inspector's phone: the intake form is the home page.
	gi := newPerson(t, root, env, "inspector", phoneW, phoneH)
	gi.login("gi1")
	if loc := gi.eval(`location.pathname`); loc != "/reports/new" {
		t.Fatalf("the grid inspector landed on %s, want the intake form", loc)
	}
	gi.shot("report-new-inspector-390x844")
	noOverflow(t, gi, "the intake form")
	gi.do(chromedp.SetValue(chromedp.CSS(`#category`), "facility"),
		chromedp.SendKeys(chromedp.CSS(`#text`), "村口桥头路灯坏了一个星期，晚上很黑，老人过桥不安全。"),
		chromedp.SendKeys(chromedp.CSS(`#address`), "甲一村村口桥头"),
		chromedp.Click(chromedp.CSS(`#urgency-urgent`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#photos`), []string{photoFile(t)}))
	gi.submit(`#report button[type=submit]`)
	gi.expectText(".issued", "登记成功", "编号", "查询码")
	no := gi.text(".issued-nums span:first-child strong")
	code := gi.text(".issued-nums span:last-child strong")
	if !reportNoRE.MatchString(no) || len(code) != 6 {
		t.Fatalf("the inspector was shown number %q and code %q", no, code)
	}
	gi.expectText("#facts-h", "公共设施", "紧急", "已登记，待分派")
	gi.expectText(".facts", "甲一村第一网格", "网格员上报", "甲一村村口桥头")
	if got := gi.eval(`String(document.querySelector('.photos img').naturalWidth)`); got != "64" {
		t.Errorf("the photo's thumbnail is %s px wide, want the 64 px picture served", got)
	}
	gi.shot("report-registered-inspector-390x844")
	noOverflow(t, gi, "the registered report")
	reportURL := gi.eval(`location.pathname`)
	gi.open("/reports")
	gi.expectText("table.reports", no, "已登记，待分派")
	gi.shot("reports-inspector-390x844")
	if got := gi.eval(`String(document.querySelectorAll('.report-form, form[action$="/dispatch"]').length)`); got != "0" {
		t.Errorf("the inspector sees %s step forms on the list", got)
	}

	// The village agent, on the office PC: the report is in the village's queue.
	agent := newPerson(t, root, env, "agent", desktopW, desktopH)
	agent.login("ag1a")
	agent.open("/reports?mine=true")
	agent.expectText("table.reports", no)
	agent.shot("reports-mine-agent-1366x768")
	agent.open(reportURL)
	agent.expectText(".facts", "网格员发现")
	agent.shot("report-dispatch-agent-1366x768")
	options := agent.eval(`Array.from(document.querySelectorAll('#dispatch-to option')).map(o => o.textContent.trim()).join('|')`)
	for _, want := range []string{"甲镇", "乙镇", "乙一村", "城管局", "测试市"} {
		if !strings.Contains(options, want) {
			t.Errorf("dispatch targets %q lack %s", options, want)
		}
	}
	for _, never := range []string{"网格", "|甲一村|"} {
		if strings.Contains("|"+options+"|", never) {
			t.Errorf("dispatch targets %q offer %s", options, never)
		}
	}
	agent.do(chromedp.SetValue(chromedp.CSS(`#dispatch-to`), env.F.T1.ID),
		chromedp.SendKeys(chromedp.CSS(`#dispatch-reason`), "请镇里协调供电所维修"))
	agent.submit(`form[action$="/dispatch"] button`)
	agent.expectText(".flash", "已批转")
	agent.expectText("#facts-h", "已分派，待签收")
	agent.expectText(".timeline", "批转", "甲镇", "请镇里协调供电所维修")

	// The township officer hears of it in the inbox, signs and answers.
	tw := newPerson(t, root, env, "township", desktopW, desktopH)
	tw.login("tw1")
	if loc := openInbox(tw, "已分派给本单位"); loc != reportURL {
		t.Fatalf("the township's message opened %s, want %s", loc, reportURL)
	}
	tw.shot("report-sign-township-1366x768")
	tw.submit(`form[action$="/sign"] button`)
	tw.expectText("#facts-h", "办理中")
	tw.do(chromedp.SendKeys(chromedp.CSS(`#answer-text`), "已联系供电所，路灯已于今日更换，恢复照明。"))
	twPhone := newPerson(t, root, env, "township-phone", phoneW, phoneH)
	twPhone.login("tw1")
	twPhone.open(reportURL)
	twPhone.shot("report-answer-township-390x844")
	noOverflow(t, twPhone, "the report with its answer form")
	tw.submit(`form[action$="/answer"] button`)
	tw.expectText("#facts-h", "已答复，待审核")
	tw.expectText(".facts", "路灯已于今日更换")

	// The agent accepts the answer and follows up.
	if loc := openInbox(agent, "已答复，请审核"); loc != reportURL {
		t.Fatalf("the agent's message opened %s, want %s", loc, reportURL)
	}
	agent.submit(`form[action$="/accept"] button`)
	agent.expectText("#facts-h", "待回访")
	agent.shot("report-close-agent-1366x768")
	agentPhone := newPerson(t, root, env, "agent-phone", 360, 740)
	agentPhone.login("ag1a")
	agentPhone.open(reportURL)
	agentPhone.shot("report-close-agent-360x740")
	noOverflow(t, agentPhone, "the follow-up form")
	agent.do(chromedp.Click(chromedp.CSS(`#close-grade-4`)), chromedp.SendKeys(chromedp.CSS(`#close-reason`), "反映人表示满意"))
	agent.submit(`form[action$="/close"] button`)
	agent.expectText("#facts-h", "已办结")
	agent.expectText(".facts", "满意")
	agent.expectText(".timeline", "登记", "批转", "签收", "答复", "审核通过答复", "回访办结", "回访：满意")
	agent.expectText(".col-side", "此件目前不需要您办理")
	agent.shot("report-closed-agent-1366x768")

	// The list at every width, status and deadline in view on phones.
	for _, w := range []int64{390, 360} {
		p := newPerson(t, root, env, "agent-list", w, phoneH)
		p.login("ag1a")
		p.open("/reports")
		p.expectText("table.reports", no, "已办结")
		noOverflow(t, p, "the list")
		if got := p.eval(`(function(){var r=document.querySelector('table.reports tbody tr');
			return ['.c-status','.c-due'].map(function(s){var b=r.querySelector(s).getBoundingClientRect(); return b.width>0 && b.right<=window.innerWidth ? 'ok' : s}).join(' ')})()`); got != "ok ok" {
			t.Errorf("at %d px the row's status and due date are not in view: %s", w, got)
		}
		p.shot("reports-agent-" + strconv.FormatInt(w, 10) + "x844")
	}
	agent.open("/reports")
	agent.shot("reports-agent-1366x768")
}

// TestBrowserReportHotline: a hotline operator lands on the call form,
// registers an anonymous caller who leaves a phone for the answer, and
// the report shows 匿名, never a name.
func TestBrowserReportHotline(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	w := apitest.NewReportWorld(t, env)
	hot := newPerson(t, root, env, "hotline", desktopW, desktopH)
	hot.login("hot")
	if loc := hot.eval(`location.pathname`); loc != "/reports/new" {
		t.Fatalf("the hotline operator landed on %s, want the call form", loc)
	}
	hot.shot("report-new-hotline-1366x768")
	hot.do(chromedp.SendKeys(chromedp.CSS(`#reporter-name`), "李四"),
		chromedp.SendKeys(chromedp.CSS(`#reporter-phone`), "13912345678"),
		chromedp.Click(chromedp.CSS(`#anonymous`)),
		chromedp.SetValue(chromedp.CSS(`#category`), "labour"),
		chromedp.SetValue(chromedp.CSS(`#grid_id`), w.Grid2.ID),
		chromedp.SendKeys(chromedp.CSS(`#text`), "工地拖欠工资三个月，老板联系不上。"))
	hot.submit(`#report button[type=submit]`)
	hot.expectText(".issued", "登记成功")
	hot.expectText(".facts", "匿名", "12319热线", "乙一村第一网格", "测试市")
	if strings.Contains(hot.text(".facts"), "李四") {
		t.Error("an anonymous caller's name is shown")
	}
	hot.shot("report-registered-hotline-1366x768")
	phone := newPerson(t, root, env, "hotline-phone", phoneW, phoneH)
	phone.login("hot")
	phone.shot("report-new-hotline-390x844")
	noOverflow(t, phone, "the call form")

	// The department's officer lands on their queue.
	dep := newPerson(t, root, env, "department", phoneW, phoneH)
	dep.login("dep")
	if loc := dep.eval(`location.pathname + location.search`); loc != "/reports?mine=true" {
		t.Errorf("the department officer landed on %s, want their queue", loc)
	}
	dep.expectText("main", "没有民情件")
}

// TestBrowserReportBadIntake: a village agent's report with no text and a
// grid that is not the village's comes back with what was typed and the
// field messages beside their fields.
func TestBrowserReportBadIntake(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	w := apitest.NewReportWorld(t, env)
	agent := newPerson(t, root, env, "agent", phoneW, phoneH)
	agent.login("ag1a")
	agent.open("/reports/new")
	if got := agent.eval(`Array.from(document.querySelectorAll('#grid_id option')).map(o => o.textContent).join('|')`); got != "请选择|甲一村第一网格" {
		t.Errorf("the agent's grids are %q, want the village's one", got)
	}
	// A grid of another village, as a stale or tampered page would send.
	agent.do(chromedp.Evaluate[chromedp.Void](`(function(){var o=document.createElement('option'); o.value=`+jsString(w.Grid2.ID)+`; o.textContent='x'; document.querySelector('#grid_id').appendChild(o);})()`),
		chromedp.SetValue(chromedp.CSS(`#grid_id`), w.Grid2.ID),
		chromedp.SetValue(chromedp.CSS(`#category`), "dispute"),
		chromedp.SendKeys(chromedp.CSS(`#address`), "甲一村5组"),
		chromedp.Click(chromedp.CSS(`details.more summary`)),
		chromedp.SendKeys(chromedp.CSS(`#reporter-phone`), "13912345678"))
	agent.submit(`#report button[type=submit]`)
	agent.expectText(".alert", "有 2 处需要修改")
	if got := agent.fieldError("#text"); got == "" {
		t.Error("no message beside the empty text")
	}
	if got := agent.fieldError("#grid_id"); !strings.Contains(got, "该网格不属于本村") {
		t.Errorf("the grid's message is %q", got)
	}
	if got := agent.value("#address"); got != "甲一村5组" {
		t.Errorf("the address came back as %q", got)
	}
	if got := agent.value("#category"); got != "dispute" {
		t.Errorf("the category came back as %q", got)
	}
	if got := agent.value("#reporter-phone"); got != "13912345678" {
		t.Errorf("the phone came back as %q", got)
	}
	agent.shot("report-bad-intake-agent-390x844")
	noOverflow(t, agent, "the form with its messages")
	rs, err := env.Svc.Reports(context.Background(), env.F.Actor("ag1a"), service.ReportFilter{}, false)
	if err != nil || len(rs) != 0 {
		t.Errorf("a refused intake left %d reports (%v)", len(rs), err)
	}
}

// TestBrowserReportPagingWalksToTheEnd: 60 reports are walked by 下一页
// to the last page, each shown once.
func TestBrowserReportPagingWalksToTheEnd(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	w := apitest.NewReportWorld(t, env)
	gi := w.Actors["gi1"]
	want := map[string]bool{}
	for i := range 60 {
		r, err := env.Svc.SubmitReport(context.Background(), &gi, service.ReportInput{Category: "environment",
			Text: "垃圾桶满了没人清运，第" + strconv.Itoa(i) + "处。"})
		if err != nil {
			t.Fatal(err)
		}
		want[r.No] = true
	}
	p := newPerson(t, root, env, "agent", desktopW, desktopH)
	p.login("ag1a")
	seen, pages := map[string]int{}, 0
	p.open("/reports")
	for {
		pages++
		for _, no := range strings.Fields(p.eval(`Array.from(document.querySelectorAll('table.reports tbody td.c-no a')).map(a => a.textContent.trim()).join(' ')`)) {
			seen[no]++
		}
		next := p.eval(`(document.querySelector('p.next a') || {}).href || ''`)
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("still a next page after 5 pages")
		}
		p.do(chromedp.Navigate(next))
	}
	p.shot("reports-last-page-agent-1366x768")
	if pages != 2 {
		t.Errorf("60 reports took %d pages, want 2 of at most 50", pages)
	}
	for no := range want {
		if seen[no] != 1 {
			t.Errorf("report %s shown %d times", no, seen[no])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d reports shown, want %d", len(seen), len(want))
	}
	// Filters narrow it, and keep to their own pages.
	p.open("/reports?category=order")
	p.expectText("table.reports", "没有民情件")
	p.open("/reports?status=nonsense")
	p.expectText(".alert", "有 1 处需要修改")
}

// TestReportStaleStepShowsFreshState: two officers of the township sign
// the same report from pages opened at the same time; the second gets the
// report as it is now, with a notice, and no lost update.
func TestReportStaleStepShowsFreshState(t *testing.T) {
	env := newEnv(t)
	w := apitest.NewReportWorld(t, env)
	ctx := context.Background()
	gi, ag := w.Actors["gi1"], env.F.Actor("ag1a")
	r, err := env.Svc.SubmitReport(ctx, &gi, service.ReportInput{Category: "order", Text: "占道经营堵住了路口。"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Svc.StepReport(ctx, ag, r.ID, service.ReportDispatch, service.ReportStepInput{Version: r.Version, ToOrgID: env.F.T1.ID}); err != nil {
		t.Fatal(err)
	}
	first, second := newBrowser(t, env), newBrowser(t, env)
	first.login("tw1")
	second.login("tw1")
	a, b := first.get("/reports/"+r.ID), second.get("/reports/"+r.ID)
	expectText(t, a, "签收")
	expectStatus(t, first.post("/reports/"+r.ID+"/sign", url.Values{"version": {version(t, a)}}), http.StatusSeeOther)
	// Signed already: the second page's step no longer fits the status.
	p := second.post("/reports/"+r.ID+"/sign", url.Values{"version": {version(t, b)}})
	expectStatus(t, p, http.StatusConflict)
	expectText(t, p, "当前的状态不能进行此操作", "办理中")
	if version(t, p) == version(t, b) {
		t.Error("the conflict page still carries the stale version")
	}
	// Both answer forms open; the first asks for more time, the second
	// answers from the page it had: a stale version, shown the fresh state.
	a, b = first.get("/reports/"+r.ID), second.get("/reports/"+r.ID)
	expectStatus(t, first.post("/reports/"+r.ID+"/request_extension", url.Values{"version": {version(t, a)}, "days": {"3"}, "reason": {"需等供电所排期"}}), http.StatusSeeOther)
	p = second.post("/reports/"+r.ID+"/answer", url.Values{"version": {version(t, b)}, "answer": {"已处理"}})
	expectStatus(t, p, http.StatusConflict)
	expectText(t, p, "刚刚已被他人办理或更新", "申请延期 3 个工作日", "已处理")
	if version(t, p) == version(t, b) {
		t.Error("the conflict page still carries the stale version")
	}
	got, err := env.Svc.Report(ctx, ag, r.ID)
	if err != nil || got.Answer != "" || got.ExtensionDays != 3 {
		t.Errorf("after the stale answer: answer %q, extension %d (%v)", got.Answer, got.ExtensionDays, err)
	}
	// A step the status does not allow is a conflict page too, not a 500.
	p = second.post("/reports/"+r.ID+"/accept", url.Values{"version": {version(t, p)}})
	if p.Status != http.StatusConflict && p.Status != http.StatusForbidden {
		t.Errorf("accepting a report being handled: %d", p.Status)
	}
	// A photo that is not there is a page, not a crash.
	expectStatus(t, first.get("/reports/"+r.ID+"/photos/1"), http.StatusNotFound)
	// Someone outside its reach does not see it.
	other := newBrowser(t, env)
	other.login("ag2a")
	expectStatus(t, other.get("/reports/"+r.ID), http.StatusNotFound)
}

// noisePNG is a PNG of about n bytes that does not compress: a phone
// photo's size without its look.
func noisePNG(t *testing.T, side int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	seed := uint32(1)
	for i := range img.Pix {
		seed = seed*1664525 + 1013904223
		img.Pix[i] = byte(seed >> 24)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReportIntakeTakesPhotos: the intake form carries photos far beyond
// the 256 KB of other forms, up to six of 2 MB; a bigger body is refused
// as a page, and a photo over 2 MB is named beside the field.
func TestReportIntakeTakesPhotos(t *testing.T) {
	env := newEnv(t)
	apitest.NewReportWorld(t, env)
	b := newBrowser(t, env)
	b.login("gi1")
	m := csrfRE.FindStringSubmatch(b.get("/reports/new").Body)
	if m == nil {
		t.Fatal("no CSRF token on the intake form")
	}
	post := func(photos ...[]byte) page {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range map[string]string{"_csrf": m[1], "category": "environment", "text": "河道里漂着很多垃圾。"} {
			mw.WriteField(k, v)
		}
		for i, ph := range photos {
			fw, _ := mw.CreateFormFile("photos", "p"+strconv.Itoa(i)+".png")
			fw.Write(ph)
		}
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, env.Server.URL+"/reports/new", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return b.do(req)
	}
	big := noisePNG(t, 600) // about 1.4 MB
	if len(big) < 1<<20 || len(big) > 2<<20 {
		t.Fatalf("the test photo is %d bytes", len(big))
	}
	p := post(big, big)
	expectStatus(t, p, http.StatusSeeOther)
	r := b.get(p.Location)
	expectStatus(t, r, http.StatusOK)
	expectText(t, r, "/photos/1", "/photos/2")
	ph := b.get(strings.TrimSuffix(p.Location, "?new=1") + "/photos/2")
	expectStatus(t, ph, http.StatusOK)
	if ph.Header.Get("Content-Type") != "image/png" || len(ph.Body) != len(big) {
		t.Errorf("photo 2 came back as %s, %d bytes; want image/png, %d", ph.Header.Get("Content-Type"), len(ph.Body), len(big))
	}

	tooBig := noisePNG(t, 800) // about 2.5 MB
	p = post(tooBig)
	expectStatus(t, p, http.StatusUnprocessableEntity)
	expectText(t, p, "有 1 处需要修改", "河道里漂着很多垃圾。")

	p = post(big, big, big, big, big, big, big, big, big, big, big, big, big)
	expectStatus(t, p, http.StatusRequestEntityTooLarge)
	expectText(t, p, "内容过多")
	// Other forms keep their limit.
	p = b.post("/account/password", url.Values{"_csrf": {m[1]}, "current_password": {strings.Repeat("x", 300<<10)}})
	expectStatus(t, p, http.StatusRequestEntityTooLarge)
}
