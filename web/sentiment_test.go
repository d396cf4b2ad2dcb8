package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"daiban/internal/apitest"
	"daiban/service"
)

// handle takes a report from the city centre's desk to the department
// and back with an answer the city accepts.
func handleReport(t *testing.T, env *apitest.Env, w apitest.ReportWorld, r service.Report, answer string) service.Report {
	t.Helper()
	ctx := context.Background()
	city := env.F.Actor("city")
	for _, s := range []struct {
		who service.Actor
		act service.ReportAction
		in  service.ReportStepInput
	}{
		{city, service.ReportDispatch, service.ReportStepInput{ToOrgID: w.CityDept.ID}},
		{w.Actors["dep"], service.ReportSign, service.ReportStepInput{}},
		{w.Actors["dep"], service.ReportAnswer, service.ReportStepInput{Answer: answer}},
		{city, service.ReportAccept, service.ReportStepInput{}},
	} {
		s.in.Version = r.Version
		var err error
		if r, err = env.Svc.StepReport(ctx, s.who, r.ID, s.act, s.in); err != nil {
			t.Fatalf("%s: %v", s.act, err)
		}
	}
	return r
}

// fillReport types a report into the form at /m.
func fillReport(p *person, category, text, orgID, address, name, phone string) {
	p.t.Helper()
	p.eval(`(() => { document.getElementById("category").value = ` + jsString(category) + `;
		document.getElementById("org_id").value = ` + jsString(orgID) + `; return "" })()`)
	for sel, v := range map[string]string{"#text": text, "#address": address, "#name": name, "#phone": phone} {
		if v != "" {
			p.do(chromedp.SendKeys(chromedp.CSS(sel), v))
		}
	}
}

// TestBrowserPublicReport: a resident on a phone reports a problem with a
// photo, keeps the number and code, and follows the report while the city
// centre and a department handle it; the status page shows the answer and
// never the reporter's name, phone or place. A wrong code is said once;
// bad input keeps what was typed; a sixth report within the hour from one
// address is refused in Chinese.
func TestBrowserPublicReport(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()
	world := apitest.NewReportWorld(t, env)
	env.Clock.Set(time.Date(2026, 12, 7, 9, 30, 0, 0, service.Shanghai))

	// The resident finds the form from the receipt lookup page.
	resident := newPerson(t, root, env, "resident", phoneW, phoneH)
	resident.open("/q")
	resident.submit("#to-report")
	if path := resident.eval(`location.pathname`); path != "/m" {
		t.Fatalf("the link from /q leads to %s", path)
	}
	resident.expectText("#report", "12319")
	const (
		text    = "甲镇街口的三盏路灯一个星期不亮了，晚上很黑"
		address = "甲镇中心街与新华路口"
		name    = "王大妈"
		phone   = "13700002222"
	)
	fillReport(resident, "facility", text, env.F.T1.ID, address, name, phone)
	resident.do(chromedp.SetUploadFiles(chromedp.CSS(`#photos`), []string{photoFile(t)}))
	if w := resident.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the form is %spx wide on a 390px phone", w)
	}
	resident.shot("80-resident-report-form-390x844")
	resident.submit(`#report button[type=submit]`)
	no, code := resident.text("#report-no"), resident.text("#report-code")
	if len(code) != 6 || no == "" {
		t.Fatalf("the success page shows number %q and code %q", no, code)
	}
	resident.expectText("#created", "公共设施", "查询码不会再次显示", "2026年")
	resident.shot("81-resident-report-done-390x844")

	// What was registered: the photo, the web channel, the township's city.
	city := env.F.Actor("city")
	list, err := env.Svc.Reports(ctx, city, service.ReportFilter{Limit: 10}, false)
	if err != nil || len(list) != 1 {
		t.Fatalf("reports: %v %v", list, err)
	}
	rep := list[0]
	if rep.No != no || rep.Photos != 1 || rep.Channel != service.ReportByWeb || rep.Reporter.Phone != phone || rep.Reporter.Name != name || rep.Address != address {
		t.Errorf("registered %+v", rep)
	}

	// The link opens the status page straight away on this phone.
	resident.submit("#to-status")
	if path := resident.eval(`location.pathname`); path != "/m/status/"+no {
		t.Errorf("the status page's address is %s, want /m/status/%s to bookmark", path, no)
	}
	resident.expectText("#status", "已收到，正在安排办理单位")
	resident.expectText(".facts", "公共设施", "2026年12月7日")
	resident.expectText(".timeline", "测试市收到并登记了您反映的问题")

	// The city centre dispatches it, the department answers, the city accepts.
	const answer = "已安排维修，三盏路灯已于12月8日修复。"
	handleReport(t, env, world, rep, answer)
	resident.do(chromedp.Reload())
	resident.expectText("#status", "已答复，将电话回访您")
	resident.expectText("#answer", answer)
	resident.expectText(".timeline", "测试市已把问题转交城管局办理", "城管局已接手", "城管局已给出答复", "审核通过了答复")
	body := resident.text("main")
	for _, secret := range []string{name, phone, address, "城管张科长", "市中心办事员"} {
		if strings.Contains(body, secret) {
			t.Errorf("the status page shows %q", secret)
		}
	}
	if n := resident.eval(`String(document.querySelectorAll("main img").length)`); n != "0" {
		t.Errorf("the status page shows %s pictures", n)
	}
	if !chineseDate.MatchString(resident.text(".timeline")) {
		t.Errorf("dates are not written as 2026年12月7日: %q", resident.text(".timeline"))
	}
	if w := resident.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the status page is %spx wide on a 390px phone", w)
	}
	resident.shot("82-resident-report-answered-390x844")
	wide := newPerson(t, root, env, "resident-desktop", desktopW, desktopH)
	wide.open("/m/status/" + no)
	wide.do(chromedp.SendKeys(chromedp.CSS("#code"), code))
	wide.submit("#lookup button")
	wide.expectText("#answer", answer)
	wide.shot("83-resident-report-answered-1366x768")

	// Someone else with the number and a wrong code: the message once.
	other := newPerson(t, root, env, "other", 360, 740)
	other.open("/login")
	other.submit("#to-report")
	other.open("/m/status")
	other.do(chromedp.SendKeys(chromedp.CSS("#receipt_no"), no), chromedp.SendKeys(chromedp.CSS("#code"), "000000"))
	other.submit("#lookup button")
	msg := service.ZhCode("report_not_found")
	if got := other.fieldError("#code"); got != msg {
		t.Errorf("a wrong code: the field says %q, want %q", got, msg)
	}
	if n := strings.Count(other.text("main"), msg); n != 1 {
		t.Errorf("the wrong-code message is said %d times", n)
	}
	if strings.Contains(other.text("main"), answer) {
		t.Error("a wrong code shows the answer")
	}
	if got := other.value("#receipt_no"); got != no {
		t.Errorf("the number typed is gone: %q", got)
	}
	other.shot("84-other-wrong-code-360x740")

	// Bad input: the messages beside the fields, what was typed kept.
	other.open("/m")
	fillReport(other, "", "灯坏", "", "村口", "李四", "12345")
	other.do(chromedp.SetUploadFiles(chromedp.CSS(`#photos`), []string{photoFile(t)}))
	other.eval(`(() => { document.getElementById("report").noValidate = true; return "" })()`)
	other.submit(`#report button[type=submit]`)
	for sel, want := range map[string]string{"#category": "请选择问题类别", "#text": "至少 5 个字", "#phone": "11位手机号码"} {
		if got := other.fieldError(sel); !strings.Contains(got, want) {
			t.Errorf("%s says %q, want %q", sel, got, want)
		}
	}
	for sel, want := range map[string]string{"#text": "灯坏", "#address": "村口", "#name": "李四", "#phone": "12345"} {
		if got := other.value(sel); got != want {
			t.Errorf("%s kept %q, want %q", sel, got, want)
		}
	}
	other.expectText("#photos-again", "请重新选择")
	other.shot("85-other-report-bad-input-360x740")

	// Five reports an hour from one address; the sixth is refused in Chinese.
	for i := 0; i < 4; i++ {
		if _, err := env.Svc.SubmitReport(ctx, nil, service.ReportInput{Category: "environment", Text: "垃圾堆放多日无人清理",
			OrgID: env.F.City.ID, Reporter: service.Reporter{Phone: "13700003333"}, ClientKey: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	other.open("/m")
	fillReport(other, "environment", "小区门口垃圾堆放多日", env.F.City.ID, "", "", "13700004444")
	other.submit(`#report button[type=submit]`)
	other.expectText(".alert", "本网络提交的民情过多", "12319")
	if got := other.value("#text"); got != "小区门口垃圾堆放多日" {
		t.Errorf("after 429 the text kept is %q", got)
	}
	other.shot("86-other-report-too-many-360x740")

	// The form on a desktop.
	wide.open("/m")
	wide.shot("87-resident-report-form-1366x768")
}

// TestPublicReportLimits: the form takes six photos of 2 MB although
// every other route takes 256 KB, and refuses a bigger body in Chinese.
func TestPublicReportLimits(t *testing.T) {
	env := newEnv(t)
	b := newBrowser(t, env)
	b.get("/m")
	small, err := os.ReadFile(photoFile(t))
	if err != nil {
		t.Fatal(err)
	}
	photo := make([]byte, service.MaxReportPhotoBytes) // a PNG padded to 2 MB
	copy(photo, small)
	post := func(photos int, extra int) page {
		t.Helper()
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range map[string]string{"_csrf": b.cookie("daiban_csrf"), "category": "environment", "text": "河道里有人倾倒建筑垃圾", "phone": "13700002222"} {
			mw.WriteField(k, v)
		}
		file := func(name string, data []byte) {
			fw, err := mw.CreateFormFile("photos", name)
			if err != nil {
				t.Fatal(err)
			}
			fw.Write(data)
		}
		for i := 0; i < photos; i++ {
			file("p.png", photo)
		}
		if extra > 0 {
			file("big.png", make([]byte, extra))
		}
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, env.Server.URL+"/m", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		// As a browser may: a refusal then comes before the body is sent,
		// not as a reset while it is being written.
		req.Header.Set("Expect", "100-continue")
		return b.do(req)
	}
	p := post(6, 0)
	expectStatus(t, p, http.StatusOK)
	expectText(t, p, `id="report-no"`)
	p = post(6, 2<<20)
	if p.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over the limit: %d", p.Status)
	}
	expectText(t, p, "提交的内容过多")
	// Other routes keep the small limit.
	req, _ := http.NewRequest(http.MethodPost, env.Server.URL+"/q", bytes.NewReader(make([]byte, 300<<10)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Expect", "100-continue")
	if p := b.do(req); p.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("/q took 300 KB: %d", p.Status)
	}
}

// TestBrowserDashboardReports: beside the errands, the supervisor's
// dashboard shows the 民情 figures of the same period as svc.ReportStats
// computes them, grouped as chosen, with the definitions and the downloads.
func TestBrowserDashboardReports(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()
	world := apitest.NewReportWorld(t, env)
	env.Clock.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, service.Shanghai))
	submit := func(cat, orgID string) service.Report {
		t.Helper()
		r, err := env.Svc.SubmitReport(ctx, nil, service.ReportInput{Category: cat, Text: "反映的问题写在这里", OrgID: orgID,
			Reporter: service.Reporter{Phone: "13700002222"}, ClientKey: "10.0.0.9"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	lamp := submit("facility", env.F.T1.ID)
	submit("environment", env.F.T2.ID)
	submit("environment", env.F.City.ID)
	lamp = handleReport(t, env, world, lamp, "路灯已修复。")
	if _, err := env.Svc.StepReport(ctx, env.F.Actor("city"), lamp.ID, service.ReportClose, service.ReportStepInput{Version: lamp.Version, Grade: 2}); err != nil {
		t.Fatal(err)
	}
	env.Clock.Set(time.Date(2026, 4, 10, 9, 0, 0, 0, service.Shanghai))
	want, err := env.Svc.ReportStats(ctx, env.F.Actor("super"), service.StatsRequest{From: "2026-03-01", To: "2026-04-30"})
	if err != nil {
		t.Fatal(err)
	}
	if want.Totals.Accepted != 3 || want.Totals.Closed != 1 || want.Totals.OverdueOpen != 2 {
		t.Fatalf("the world is not what the test thinks: %+v", want.Totals)
	}

	super := newPerson(t, root, env, "supervisor", desktopW, desktopH)
	super.login("super")
	super.open("/dashboard?from=2026-03-01&to=2026-04-30")
	for sel, w := range map[string]string{
		"#rkpi-accepted": "3", "#rkpi-closed": "1", "#rkpi-rate": pctText(want.Totals.CompletionRate),
		"#rkpi-ontime": pctText(want.Totals.OnTimeRate), "#rkpi-response": pctText(want.Totals.ResponseRate),
		"#rkpi-satisfaction": pctText(want.Totals.SatisfactionRate), "#rkpi-overdue": "2",
	} {
		if got := super.text(sel); got != w {
			t.Errorf("%s shows %q, want %q", sel, got, w)
		}
	}
	super.expectText("#report-defs", "办结率 = 办结 ÷ 受理", "响应率", "满意率")
	rows := func() string {
		return super.eval(`Array.from(document.querySelectorAll("#rdetail tbody tr")).map(r => Array.from(r.cells).slice(0, 3).map(c => c.textContent.trim()).join(":")).join(" | ")`)
	}
	// By the organisation that signed for it last; two not signed for
	// yet count in the total only, and the table says so.
	if got, w := rows(), "城管局:1:1 | 合计:3:1"; got != w {
		t.Errorf("by organisation: %q, want %q", got, w)
	}
	super.expectText("#unsigned", "2 件只计入合计")
	super.shot("88-supervisor-dashboard-reports-1366x768")

	super.eval(`(() => { document.getElementById("rgroup").value = "category"; return "" })()`)
	super.submit(`form.period button[type=submit]`)
	super.expectText("#rtable-h", "民情分类别明细")
	if got := rows(); !strings.Contains(got, "环境卫生:2:0") || !strings.Contains(got, "公共设施:1:1") || !strings.HasSuffix(got, "合计:3:1") {
		t.Errorf("by category: %q", got)
	}
	href := super.eval(`document.getElementById("rexport-csv").getAttribute("href")`)
	if !strings.Contains(href, "group_by=category") || !strings.Contains(href, "from=2026-03-01") {
		t.Errorf("the download is %s", href)
	}
	super.open("/dashboard?from=2026-03-01&to=2026-04-30&rgroup=colour")
	if msg := super.fieldError("#rgroup"); !strings.Contains(msg, "分组") {
		t.Errorf("a made-up grouping: the field says %q", msg)
	}

	phone := newPerson(t, root, env, "supervisor-phone", phoneW, phoneH)
	phone.login("super")
	phone.open("/dashboard?from=2026-03-01&to=2026-04-30&rgroup=channel")
	phone.expectText("#rdetail", "网站")
	if w := phone.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the dashboard is %spx wide on a 390px phone", w)
	}
	phone.shot("89-supervisor-dashboard-reports-390x844")

	// The downloads.
	b := newBrowser(t, env)
	b.login("super")
	csv := b.get("/stats/reports/export?format=csv&" + strings.SplitN(href, "&", 2)[1])
	expectStatus(t, csv, http.StatusOK)
	if ct := csv.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("the CSV is %s", ct)
	}
	expectText(t, csv, "环境卫生", "公共设施")
	xlsx := b.get("/stats/reports/export?format=xlsx&from=2026-03-01&to=2026-04-30&group_by=org")
	expectStatus(t, xlsx, http.StatusOK)
	if !strings.HasPrefix(xlsx.Body, "PK") || !strings.Contains(xlsx.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("the XLSX: %s %.20q", xlsx.Header, xlsx.Body)
	}
}

func pctText(h *service.Hundredths) string {
	if h == nil {
		return "—"
	}
	return h.String() + "%"
}

// TestPublicReportPlaces: with several cities the form lists each city's
// townships under its name, and a report must say which city it is in.
func TestPublicReportPlaces(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	admin := service.Actor{Role: service.RoleAdmin}
	fq, err := env.Svc.CreateOrg(ctx, admin, service.OrgInput{Code: "350181", Name: "福清市", Level: service.LevelCity})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Svc.CreateOrg(ctx, admin, service.OrgInput{Code: "350181100", Name: "玉屏街道", Level: service.LevelTownship, ParentID: fq.ID}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, env)
	p := b.get("/m")
	expectStatus(t, p, http.StatusOK)
	expectText(t, p, `<optgroup label="测试市">`, `<optgroup label="福清市">`, ">玉屏街道<", ">甲镇<", "福清市（不清楚哪个乡镇）")
	p = b.post("/m", url.Values{"category": {"order"}, "text": {"占道经营影响通行"}, "phone": {"13700002222"}})
	expectStatus(t, p, http.StatusUnprocessableEntity)
	if !regexp.MustCompile(`id="org_id"[\s\S]*?class="err"`).MatchString(p.Body) {
		t.Errorf("no message at the place:\n%.3000s", p.Body)
	}
	expectText(t, p, "占道经营影响通行")
	p = b.post("/m", url.Values{"category": {"order"}, "text": {"占道经营影响通行"}, "phone": {"13700002222"}, "org_id": {fq.ID}})
	expectStatus(t, p, http.StatusOK)
	expectText(t, p, `id="report-code"`)
}

// TestPublicReportLookupThrottle: wrong codes again and again from one
// address end in the Chinese throttle message, not a bare error page.
func TestPublicReportLookupThrottle(t *testing.T) {
	env := newEnv(t)
	r, err := env.Svc.SubmitReport(context.Background(), nil, service.ReportInput{Category: "order", Text: "占道经营影响通行",
		Reporter: service.Reporter{Phone: "13700002222"}, ClientKey: "10.0.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, env)
	b.get("/m/status")
	for i := 0; i < 50; i++ {
		p := b.post("/m/status", url.Values{"receipt_no": {r.No}, "code": {"000000"}})
		if p.Status == http.StatusTooManyRequests {
			expectText(t, p, service.ZhCode("too_many_lookups"), `value="`+r.No+`"`)
			return
		}
		expectStatus(t, p, http.StatusNotFound)
		if n := strings.Count(p.Body, service.ZhCode("report_not_found")); n != 1 {
			t.Fatalf("the wrong-code message is said %d times", n)
		}
	}
	t.Fatal("fifty wrong codes and no throttle")
}

// TestPublicReportPagesAccessible: the resident's pages pass the same
// checks as the rest of the console (a11y_test.go).
func TestPublicReportPagesAccessible(t *testing.T) {
	env := newEnv(t)
	anon := newBrowser(t, env)
	anon.get("/m")
	good := url.Values{"category": {"order"}, "text": {"占道经营影响通行"}, "phone": {"13700002222"}}
	done := anon.post("/m", good)
	no := regexp.MustCompile(`id="report-no">([0-9A-Z]+)<`).FindStringSubmatch(done.Body)
	if no == nil {
		t.Fatalf("no number:\n%.2000s", done.Body)
	}
	for _, pg := range []struct {
		name string
		p    page
	}{
		{"report form", anon.get("/m")},
		{"report errors", anon.post("/m", url.Values{"text": {"短"}})},
		{"report done", done},
		{"report status", anon.get("/m/status/" + no[1])},
		{"report lookup", anon.get("/m/status")},
		{"report wrong code", anon.post("/m/status", url.Values{"receipt_no": {no[1]}, "code": {"111111"}})},
	} {
		if ct := pg.p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: %d %s is not a page", pg.name, pg.p.Status, ct)
			continue
		}
		for _, problem := range checkPage(pg.p.Body, false) {
			t.Errorf("%s: %s", pg.name, problem)
		}
	}
}
