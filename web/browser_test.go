package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"daiban/internal/apitest"
	"daiban/service"
)

// The browser tests drive Debian's headless Chromium through the console.
// Without a browser they skip, unless DAIBAN_REQUIRE_BROWSER=1 (CI), where
// a missing browser fails them.

const (
	desktopW, desktopH = 1366, 768
	phoneW, phoneH     = 390, 844
)

func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("DAIBAN_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv("DAIBAN_REQUIRE_BROWSER") == "1" {
		t.Fatal("DAIBAN_REQUIRE_BROWSER=1 but no chromium was found: apt-get install -y chromium fonts-wqy-zenhei")
	}
	t.Skip("no chromium on this machine (apt-get install -y chromium fonts-wqy-zenhei); set DAIBAN_REQUIRE_BROWSER=1 to fail instead")
	return ""
}

// startBrowser starts one headless Chromium for the test and returns its
// root context; each person gets a tab in a browser context of their own,
// so their cookies stay apart.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	dir, err := os.MkdirTemp("", "daiban-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(dir), chromedp.WindowSize(desktopW, desktopH),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("lang", "zh-CN"),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelRoot()
		cancelAlloc()
		for range 50 { // the browser's children may still write for a moment
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return root
}

// person is one user's tab.
type person struct {
	t    *testing.T
	name string
	ctx  context.Context
	base string
}

func newPerson(t *testing.T, root context.Context, env *apitest.Env, name string, w, h int64) *person {
	t.Helper()
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	opts := []chromedp.EmulateViewportOption{}
	if w < 600 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h, opts...)); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &person{t: t, name: name, ctx: ctx, base: env.Server.URL}
}

// limited runs one step with a time limit, on a context that has run.
func (p *person) limited(f func(ctx context.Context) error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := f(ctx); err != nil {
		loc, _ := chromedp.Run(p.ctx, chromedp.Location())
		body, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		p.t.Fatalf("%s at %s: %v\npage text:\n%.2000s", p.name, loc, err, body)
	}
}

func (p *person) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	p.limited(func(ctx context.Context) error { return chromedp.Do(ctx, steps...) })
}

func (p *person) open(path string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base + path))
}

// submit clicks a button and waits for the page it leads to.
func (p *person) submit(sel string) {
	p.t.Helper()
	p.limited(func(ctx context.Context) error {
		_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
		return err
	})
}

func (p *person) text(sel string) string {
	p.t.Helper()
	var out string
	p.limited(func(ctx context.Context) error {
		var err error
		out, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeReady))
		return err
	})
	return strings.TrimSpace(out)
}

func (p *person) value(sel string) string {
	p.t.Helper()
	var out string
	p.limited(func(ctx context.Context) error {
		var err error
		out, err = chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
		return err
	})
	return out
}

// eval runs a script that returns a string.
func (p *person) eval(js string) string {
	p.t.Helper()
	var out string
	p.limited(func(ctx context.Context) error {
		var err error
		out, err = chromedp.Run(ctx, chromedp.Evaluate[string](js))
		return err
	})
	return out
}

func (p *person) expectText(sel string, want ...string) {
	p.t.Helper()
	got := p.text(sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			p.t.Errorf("%s: %s says %q, want %q", p.name, sel, got, w)
		}
	}
}

// fieldError is the message shown in the same field box as the control.
func (p *person) fieldError(sel string) string {
	p.t.Helper()
	return p.eval(`(function(){var el=document.querySelector(` + jsString(sel) + `); if(!el) return "NO SUCH CONTROL";
		var box=el.closest(".field, fieldset"); var e=box && box.querySelector(".err"); return e ? e.textContent : "";})()`)
}

func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

func (p *person) login(user string) {
	p.t.Helper()
	p.open("/login")
	p.do(chromedp.SendKeys(chromedp.CSS("#username"), user), chromedp.SendKeys(chromedp.CSS("#password"), apitest.Password))
	p.submit(`form[action="/login"] button[type=submit]`)
}

func (p *person) logout() {
	p.t.Helper()
	p.submit(`form[action="/logout"] button`)
}

// shot saves a full-page PNG as a test artefact.
// lookUp is a resident opening a receipt's QR address and typing its code.
func (p *person) lookUp(receiptNo, code string) {
	p.t.Helper()
	p.open("/q/" + receiptNo)
	p.do(chromedp.SendKeys(chromedp.CSS("#code"), code))
	p.submit("#lookup button")
}

func (p *person) shot(name string) {
	p.t.Helper()
	var png []byte
	p.limited(func(ctx context.Context) error {
		var err error
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		return err
	})
	p.saveArtefact(name+".png", png)
}

// saveArtefact writes a file under $DAIBAN_SCREENSHOTS (artifacts/screenshots).
func (p *person) saveArtefact(name string, data []byte) {
	p.t.Helper()
	dir := os.Getenv("DAIBAN_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// pdfPage matches a page object of a PDF (not the /Pages tree node).
var pdfPage = regexp.MustCompile(`/Type\s*/Page[^s]`)

// printedPages prints the current page to A4 as Chromium's print dialog
// would (CSS page size and margins honoured) and counts the pages.
func (p *person) printedPages() int {
	p.t.Helper()
	return len(pdfPage.FindAll(p.printedPDF(), -1))
}

// printedPDF prints the current page to A4 as Chromium's print dialog would.
func (p *person) printedPDF() []byte {
	p.t.Helper()
	var pdf []byte
	p.limited(func(ctx context.Context) error {
		yes := true
		res, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (cdppage.PrintToPDFResult, error) {
			return cdp.Call(ctx, t, cdppage.PrintToPDF, cdppage.PrintToPDFParams{PaperWidth: 8.27, PaperHeight: 11.69, PreferCSSPageSize: &yes})
		})
		pdf = res.Data
		return err
	})
	if len(pdf) < 100 {
		p.t.Fatalf("no PDF printed (%d bytes)", len(pdf))
	}
	return pdf
}

// pdfMediaBox matches a page's size in points.
var pdfMediaBox = regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)\s*\]`)

// pdfPageSizes lists the width and height in points of every page box.
func pdfPageSizes(pdf []byte) [][2]float64 {
	var out [][2]float64
	for _, m := range pdfMediaBox.FindAllSubmatch(pdf, -1) {
		w, _ := strconv.ParseFloat(string(m[1]), 64)
		h, _ := strconv.ParseFloat(string(m[2]), 64)
		out = append(out, [2]float64{w, h})
	}
	return out
}

// emulatePrint makes the page use its print stylesheet, as when printing.
func emulatePrint() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return chromedp.Void{}, err
	}
}

// TestBrowserWholePath is the path in a real browser: an agent
// registers and prints, a township officer accepts and completes, the agent
// delivers, the resident checks the status on a phone, and the supervisor
// sees the completion rate change.
func TestBrowserWholePath(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)

	agent := newPerson(t, root, env, "agent", desktopW, desktopH)
	agent.open("/")
	if loc := agent.eval(`location.pathname`); loc != "/login" {
		t.Fatalf("an anonymous visit landed on %s", loc)
	}
	agent.shot("01-login-1366x768")
	agent.login("ag1a")
	agent.expectText("h1", "待我处理")
	agent.submit(`a.button.big[href="/register"]`)
	agent.expectText("h1", "选择代办事项")
	agent.shot("02-agent-catalogue-1366x768")
	agent.submit(`a[href="/register?item=TWN"]`)
	agent.expectText(".iteminfo", "新农合参保登记", "5 个工作日", "免费")
	agent.do(
		chromedp.Click(chromedp.CSS("#material-0")), chromedp.Click(chromedp.CSS("#material-1")),
		chromedp.SendKeys(chromedp.CSS("#name"), "张三丰"),
		chromedp.SendKeys(chromedp.CSS("#id_number"), apitest.ValidID),
		chromedp.SendKeys(chromedp.CSS("#phone"), "13912345678"),
		chromedp.SendKeys(chromedp.CSS("#address"), "甲一村12号"),
	)
	agent.shot("03-agent-register-filled-1366x768")
	agent.submit(`#register button[type=submit]`)

	// The print page: the API's two-part form, its QR code pointing here.
	body := agent.text("body")
	for _, want := range []string{"登记成功", "存根联", "回执联", "便民代办回执", "张三丰", "新农合参保登记"} {
		if !strings.Contains(body, want) {
			t.Errorf("print page lacks %q", want)
		}
	}
	if src := agent.eval(`document.querySelector('img[alt="办理进度查询二维码"]').getAttribute("src").slice(0, 22)`); src != "data:image/png;base64," {
		t.Errorf("the QR code image is %q", src)
	}
	receipt := agent.eval(`document.querySelector('.receipt-part td.big').textContent.trim()`)
	code := agent.eval(`document.querySelectorAll('.receipt-part td.big')[1].textContent.trim()`)
	qr := env.Server.URL + "/q/" + receipt
	if tip := agent.text(".receipt-part .tip"); !strings.Contains(tip, qr) {
		t.Errorf("the receipt sends residents to %q, want %q", tip, qr)
	}
	agent.shot("04-agent-print-form-1366x768")
	if pages := agent.printedPages(); pages != 1 {
		t.Errorf("the two-part form prints on %d A4 pages, want 1", pages)
	}
	agent.submit(`nav.toolbar a[href^="/errands/"]`)
	agent.expectText(".col-main h2", "已登记")
	agent.submit(`form[action$="/forward"] button`)
	agent.expectText(".flash", "已转报上级")
	agent.shot("05-agent-errand-forwarded-1366x768")

	super := newPerson(t, root, env, "supervisor", desktopW, desktopH)
	super.login("super")
	super.expectText("h1", "办结情况统计")
	before := [3]string{super.text("#kpi-accepted"), super.text("#kpi-completed"), super.text("#kpi-rate")}
	if before != [3]string{"1", "0", "0.00%"} {
		t.Errorf("before completion the dashboard says accepted, completed, rate = %q", before)
	}

	officer := newPerson(t, root, env, "officer", desktopW, desktopH)
	officer.login("tw1")
	officer.expectText("h1", "待接收")
	officer.expectText("table.list", receipt, "张三丰")
	officer.shot("06-officer-incoming-1366x768")
	officer.submit(`table.list a[href^="/errands/"]`)
	officer.submit(`form[action$="/accept"] button`)
	officer.expectText(".flash", "已接收")
	officer.shot("07-officer-processing-1366x768")
	officer.do(chromedp.Click(chromedp.CSS("#complete-approved")))
	officer.submit(`form[action$="/complete"] button`)
	officer.expectText(".flash", "已办结")
	officer.expectText(".timeline", "登记受理", "转报", "接收", "办结")

	agent.open("/")
	agent.expectText("table.list", receipt, "已办结")
	agent.submit(`table.list a[href^="/errands/"]`)
	agent.do(chromedp.Click(chromedp.CSS("#deliver-recovered")), chromedp.Click(chromedp.CSS("#deliver-grade-5")))
	agent.shot("08-agent-deliver-1366x768")
	agent.submit(`form[action$="/deliver"] button`)
	agent.expectText(".flash", "已送达")
	agent.expectText(".col-main", "回执已收回", "非常满意")

	resident := newPerson(t, root, env, "resident", phoneW, phoneH)
	resident.do(chromedp.Navigate(qr))
	if got := resident.value("#receipt_no"); got != receipt {
		t.Errorf("the QR page prefilled %q, want %q", got, receipt)
	}
	resident.shot("09-resident-lookup-390x844")
	resident.do(chromedp.SendKeys(chromedp.CSS("#code"), code))
	resident.submit(`#lookup button`)
	resident.expectText("#status", "已办好，结果已送达")
	resident.expectText(".timeline", "登记了您的申请", "已办好", "办理结果已交到您手中")
	resident.expectText("main", "张*丰", "甲一代办员")
	if w := resident.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the status page is %spx wide on a 390px phone", w)
	}
	resident.shot("10-resident-status-390x844")

	super.open("/dashboard")
	after := [3]string{super.text("#kpi-accepted"), super.text("#kpi-completed"), super.text("#kpi-rate")}
	if after != [3]string{"1", "1", "100.00%"} {
		t.Errorf("after completion the dashboard says accepted, completed, rate = %q", after)
	}
	if n := super.eval(`String(document.querySelectorAll("svg.chart").length)`); n != "3" {
		t.Errorf("the dashboard draws %s charts, want 3", n)
	}
	super.expectText(".charts", "甲镇", "非常满意")
	super.shot("11-supervisor-dashboard-1366x768")
	super.open("/warnings")
	super.shot("12-supervisor-warnings-1366x768")
}

// TestBrowserBadForms submits bad forms and reads the Chinese messages next
// to the fields, with what was typed still there.
func TestBrowserBadForms(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)

	agent := newPerson(t, root, env, "agent", desktopW, desktopH)
	agent.login("ag1a")
	agent.open("/register?item=TWN")
	agent.do(
		chromedp.SendKeys(chromedp.CSS("#name"), "李四"),
		chromedp.SendKeys(chromedp.CSS("#id_number"), "110105194912310021"),
		chromedp.SendKeys(chromedp.CSS("#phone"), "13912345678"),
		chromedp.Click(chromedp.CSS("#material-0")),
	)
	// The script catches the wrong check character before anything is sent.
	agent.do(chromedp.Click(chromedp.CSS("#register button[type=submit]")))
	if msg := agent.fieldError("#id_number"); !strings.Contains(msg, "校验位不符") {
		t.Errorf("client check next to the ID number: %q", msg)
	}
	if loc := agent.eval(`location.pathname + location.search`); loc != "/register?item=TWN" {
		t.Errorf("a bad ID number left the form for %s", loc)
	}
	// Without the script, the server says the same next to the field.
	agent.eval(`document.getElementById("register").noValidate = true; ""`)
	agent.submit("#register button[type=submit]")
	if msg := agent.fieldError("#id_number"); !strings.Contains(msg, "身份证号码校验位不符") {
		t.Errorf("server message next to the ID number: %q", msg)
	}
	// The same answer names the unticked material too: one round of corrections.
	if msg := agent.fieldError("#material-1"); !strings.Contains(msg, "缺少材料：户口簿") {
		t.Errorf("the missing material, in the same answer: %q", msg)
	}
	for sel, want := range map[string]string{"#name": "李四", "#id_number": "110105194912310021", "#phone": "13912345678"} {
		if got := agent.value(sel); got != want {
			t.Errorf("after the error %s holds %q, want %q", sel, got, want)
		}
	}
	if checked := agent.eval(`String(document.getElementById("material-0").checked)`); checked != "true" {
		t.Error("the ticked material was lost")
	}
	agent.shot("21-agent-bad-id-1366x768")

	// A valid number, but the 户口簿 is missing.
	agent.do(chromedp.Clear(chromedp.CSS("#id_number")), chromedp.SendKeys(chromedp.CSS("#id_number"), apitest.ValidID))
	agent.submit("#register button[type=submit]")
	if msg := agent.fieldError("#material-1"); !strings.Contains(msg, "缺少材料：户口簿") {
		t.Errorf("message next to the materials: %q", msg)
	}
	if got := agent.value("#id_number"); got != apitest.ValidID {
		t.Errorf("the ID number became %q", got)
	}
	agent.shot("22-agent-missing-material-1366x768")

	// A refusal without its reason.
	ctx := context.Background()
	e, _, err := env.Svc.Register(ctx, env.F.Actor("ag1a"), service.RegisterInput{ItemCode: "TWN", Channel: service.ChannelWalkIn,
		Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}, Materials: env.F.ItemTownship.Materials}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, _, err = env.Svc.Transition(ctx, env.F.Actor("ag1a"), e.ID, service.ActionForward, e.Version, service.StepInput{}, nil); err != nil {
		t.Fatal(err)
	}
	if e, _, err = env.Svc.Transition(ctx, env.F.Actor("tw1"), e.ID, service.ActionAccept, e.Version, service.StepInput{}, nil); err != nil {
		t.Fatal(err)
	}
	officer := newPerson(t, root, env, "officer", desktopW, desktopH)
	officer.login("tw1")
	officer.open("/errands/" + e.ID)
	officer.do(chromedp.Click(chromedp.CSS("#complete-refused")), chromedp.SendKeys(chromedp.CSS("#complete-note"), "已电话告知"))
	officer.submit(`form[action$="/complete"] button`)
	if msg := officer.fieldError("#complete-reason"); !strings.Contains(msg, "不予办理的，必须填写理由") {
		t.Errorf("message next to the reason: %q", msg)
	}
	if checked := officer.eval(`String(document.getElementById("complete-refused").checked)`); checked != "true" {
		t.Error("the chosen outcome was lost")
	}
	if got := officer.value("#complete-note"); got != "已电话告知" {
		t.Errorf("the note became %q", got)
	}
	officer.shot("23-officer-refusal-without-reason-1366x768")

	// A wrong code on the resident's phone.
	resident := newPerson(t, root, env, "resident", phoneW, phoneH)
	resident.open("/q/" + e.ReceiptNo)
	wrong := "000000"
	if e.VerifyCode == wrong {
		wrong = "111111"
	}
	resident.do(chromedp.SendKeys(chromedp.CSS("#code"), wrong))
	resident.submit("#lookup button")
	if msg := resident.fieldError("#code"); !strings.Contains(msg, "未找到") {
		t.Errorf("message next to the code: %q", msg)
	}
	if got := resident.value("#code"); got != wrong {
		t.Errorf("the code became %q", got)
	}
	if got := resident.value("#receipt_no"); got != e.ReceiptNo {
		t.Errorf("the receipt number became %q", got)
	}
	resident.shot("24-resident-wrong-code-390x844")
}
