package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"daiban/internal/apitest"
	"daiban/web"
)

// TestJourneyWithoutScript walks the whole lifecycle through plain form
// posts, as an old PC without script would.
func TestJourneyWithoutScript(t *testing.T) {
	env := newEnv(t)
	agent, officer, super := newBrowser(t, env), newBrowser(t, env), newBrowser(t, env)
	agent.login("ag1a")
	officer.login("tw1")
	super.login("super")

	dash := super.get("/dashboard")
	expectStatus(t, dash, http.StatusOK)
	expectText(t, dash, `id="kpi-accepted">0<`, `id="kpi-rate">—<`)

	home := agent.get("/")
	expectStatus(t, home, http.StatusOK)
	expectText(t, home, "登记新事项", "待我处理")
	cat := agent.get("/register")
	expectText(t, cat, env.F.ItemTownship.Name, "/register?item=TWN")
	found := agent.get("/register?q=" + url.QueryEscape("生活保障"))
	expectText(t, found, "最低生活保障申请")
	if strings.Contains(found.Body, env.F.ItemTownship.Name) {
		t.Error("the catalogue search kept an item that does not match")
	}
	form := agent.get("/register?item=TWN")
	expectStatus(t, form, http.StatusOK)
	expectText(t, form, "身份证", "户口簿", "5 个工作日", "免费")

	id, receipt, code := register(t, agent, registration(env))
	pr := agent.get("/errands/" + id + "/print?new=1")
	expectText(t, pr, "存根联", "回执联", "登记成功", `data:image/png;base64,`, env.Server.URL+"/q/"+receipt)

	p := agent.get("/errands/" + id)
	expectText(t, p, "已登记", "转报上级")
	p = agent.post("/errands/"+id+"/forward", url.Values{"version": {version(t, p)}})
	expectStatus(t, p, http.StatusSeeOther)
	p = agent.get(p.Location)
	expectText(t, p, "已转报上级。", "已转报")

	in := officer.get("/")
	expectText(t, in, receipt, "待接收")
	p = officer.get("/errands/" + id)
	p = officer.post("/errands/"+id+"/accept", url.Values{"version": {version(t, p)}})
	expectStatus(t, p, http.StatusSeeOther)
	p = officer.get(p.Location)
	expectText(t, p, "办理中", "办结", "退回补正", "延期")
	proc := officer.get("/errands?tab=processing")
	expectText(t, proc, receipt)
	p = officer.post("/errands/"+id+"/complete", url.Values{"version": {version(t, p)}, "outcome": {"approved"}})
	expectStatus(t, p, http.StatusSeeOther)

	p = agent.get("/errands/" + id)
	expectText(t, p, "已办结", "送达", "非常满意")
	p = agent.post("/errands/"+id+"/deliver", url.Values{"version": {version(t, p)}, "receipt_recovered": {"1"}, "satisfaction": {"5"}})
	expectStatus(t, p, http.StatusSeeOther)
	p = agent.get(p.Location)
	expectText(t, p, "已送达", "回执已收回", "非常满意")

	resident := newBrowser(t, env)
	q := resident.get("/q/" + receipt)
	expectStatus(t, q, http.StatusOK)
	expectText(t, q, `value="`+receipt+`"`, "查询码")
	q = resident.post("/q", url.Values{"receipt_no": {receipt}, "code": {code}})
	expectStatus(t, q, http.StatusSeeOther)
	if q.Location != "/q/"+receipt {
		t.Fatalf("a right code sends the phone to %q, want the receipt's own address", q.Location)
	}
	if strings.Contains(q.Location, code) {
		t.Error("the code is in an address")
	}
	q = resident.get(q.Location)
	expectStatus(t, q, http.StatusOK)
	expectText(t, q, "已办好，结果已送达", "张*丰", "甲一代办员", "办理结果已交到您手中", "2026年3月")
	// Refreshing (or a bookmark) shows the status again, with no code typed.
	again := resident.get("/q/" + receipt)
	expectText(t, again, "已办好，结果已送达")
	// 不再记住 forgets it on this phone: the form again.
	f := resident.post("/q/"+receipt+"/forget", url.Values{})
	expectStatus(t, f, http.StatusSeeOther)
	f = resident.get(f.Location)
	expectText(t, f, "请输入回执联上的回执编号", `value="`+receipt+`"`)
	if strings.Contains(f.Body, "已办好") {
		t.Error("the status is still shown after 不再记住")
	}
	if strings.Contains(q.Body, apitest.ValidID) || strings.Contains(q.Body, "张三丰") {
		t.Error("the public page shows the applicant's ID number or full name")
	}

	dash = super.get("/dashboard")
	expectText(t, dash, `id="kpi-accepted">1<`, `id="kpi-completed">1<`, `id="kpi-rate">100.00%<`, "甲镇", "<svg", "非常满意")
	csv := super.get("/stats/export?format=csv&from=2026-03-01&to=2026-03-31&group_by=township")
	expectStatus(t, csv, http.StatusOK)
	if ct := csv.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(csv.Body, "办结率(%)") || !strings.Contains(csv.Body, "100.00") {
		t.Errorf("csv export: %s\n%s", ct, csv.Body)
	}
	xlsx := super.get("/stats/export?format=xlsx&from=2026-03-01&to=2026-03-31")
	if expectStatus(t, xlsx, http.StatusOK); !strings.HasPrefix(xlsx.Body, "PK") {
		t.Error("xlsx export is not a zip file")
	}
	led := super.get("/ledger?org_id=" + env.F.V1a.ID + "&month=2026-03")
	expectText(t, led, receipt, "张*丰", "已收回")
}

func TestSignInOutAndExpiry(t *testing.T) {
	env := newEnv(t)
	b := newBrowser(t, env)
	p := b.get("/")
	expectStatus(t, p, http.StatusSeeOther)
	if p.Location != "/login" {
		t.Fatalf("anonymous / went to %q", p.Location)
	}
	p = b.get("/dashboard?from=2026-03-01")
	if want := "/login?next=%2Fdashboard%3Ffrom%3D2026-03-01"; p.Location != want {
		t.Errorf("went to %q, want %q", p.Location, want)
	}

	b.get("/login")
	p = b.post("/login", url.Values{"username": {"ag1a"}, "password": {"wrong-password"}})
	expectStatus(t, p, http.StatusUnauthorized)
	expectText(t, p, "用户名或密码错误", `value="ag1a"`)

	p = b.post("/login", url.Values{"username": {"ag1a"}, "password": {apitest.Password}, "next": {"//evil.example/"}})
	expectStatus(t, p, http.StatusSeeOther)
	if p.Location != "/" {
		t.Errorf("an off-site next went to %q", p.Location)
	}
	var sc string
	for _, h := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, "daiban_session=") {
			sc = h
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("session cookie %q is Secure on plain HTTP", sc)
	}
	token := b.cookie("daiban_session")
	expectStatus(t, b.get("/"), http.StatusOK)

	// The token is revoked on logout: replaying it leads to the expiry page.
	p = b.post("/logout", url.Values{})
	expectStatus(t, p, http.StatusSeeOther)
	expectText(t, b.get(p.Location), "您已安全退出")
	stale := newBrowser(t, env)
	u, _ := url.Parse(env.Server.URL)
	stale.jar.SetCookies(u, []*http.Cookie{{Name: "daiban_session", Value: token, Path: "/"}})
	p = stale.get("/errands?tab=all")
	expectStatus(t, p, http.StatusSeeOther)
	if !strings.HasPrefix(p.Location, "/login?expired=1") {
		t.Errorf("a revoked session went to %q", p.Location)
	}
	p = stale.get(p.Location)
	expectText(t, p, "会话已过期，请重新登录")

	// A session that runs out is the same.
	b.login("tw1")
	env.Clock.Advance(apitest.SessionTTL + time.Hour)
	p = b.get("/")
	expectStatus(t, p, http.StatusSeeOther)
	if p.Location != "/login?expired=1" {
		t.Errorf("an expired session went to %q", p.Location)
	}
}

func TestCSRFIsRefused(t *testing.T) {
	env := newEnv(t)
	b := newBrowser(t, env)
	b.login("ag1a")
	for name, form := range map[string]url.Values{
		"no token":    {"item_code": {"TWN"}, "_csrf": nil},
		"wrong token": {"item_code": {"TWN"}, "_csrf": {"forged"}},
	} {
		p := b.post("/register", form)
		if p.Status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, p.Status)
		}
		expectText(t, p, `lang="zh-CN"`, "页面已失效", "本次提交未被处理")
		if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || strings.Contains(p.Body, `"code":`) {
			t.Errorf("%s: the page shows JSON:\n%s", name, p.Body)
		}
	}
	// A browser that names the request cross-site is refused as well.
	req, _ := http.NewRequest(http.MethodPost, env.Server.URL+"/logout", strings.NewReader("_csrf="+b.cookie("daiban_csrf")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	p := b.do(req)
	expectStatus(t, p, http.StatusForbidden)
	expectText(t, p, "页面已失效")
	expectStatus(t, b.get("/"), http.StatusOK) // still signed in
}

func TestStaleVersionShowsFreshState(t *testing.T) {
	env := newEnv(t)
	agent, first, second := newBrowser(t, env), newBrowser(t, env), newBrowser(t, env)
	agent.login("ag1a")
	first.login("tw1")
	second.login("tw1")
	id, _, _ := register(t, agent, registration(env))
	p := agent.get("/errands/" + id)
	expectStatus(t, agent.post("/errands/"+id+"/forward", url.Values{"version": {version(t, p)}}), http.StatusSeeOther)

	a, b := first.get("/errands/"+id), second.get("/errands/"+id)
	expectStatus(t, first.post("/errands/"+id+"/accept", url.Values{"version": {version(t, a)}}), http.StatusSeeOther)
	p = second.post("/errands/"+id+"/accept", url.Values{"version": {version(t, b)}, "note": {"我来接"}})
	expectStatus(t, p, http.StatusConflict)
	expectText(t, p, "刚刚已被他人办理或更新", "办理中")
	if version(t, p) == version(t, b) {
		t.Error("the conflict page still carries the stale version")
	}
}

func TestBadFormsKeepWhatWasTyped(t *testing.T) {
	env := newEnv(t)
	agent, officer := newBrowser(t, env), newBrowser(t, env)
	agent.login("ag1a")
	officer.login("tw1")

	bad := registration(env)
	bad.Set("id_number", "110105194912310021")
	bad.Set("name", "李四")
	p := agent.post("/register", bad)
	expectStatus(t, p, http.StatusUnprocessableEntity)
	expectText(t, p, "身份证号码校验位不符", `value="110105194912310021"`, `value="李四"`, `value="13912345678"`)

	bad = registration(env)
	bad["materials"] = []string{"身份证"}
	p = agent.post("/register", bad)
	expectStatus(t, p, http.StatusUnprocessableEntity)
	expectText(t, p, "缺少材料：户口簿", `value="身份证" checked`)

	id, receipt, _ := register(t, agent, registration(env))
	p = agent.get("/errands/" + id)
	agent.post("/errands/"+id+"/forward", url.Values{"version": {version(t, p)}})
	p = officer.get("/errands/" + id)
	officer.post("/errands/"+id+"/accept", url.Values{"version": {version(t, p)}})
	p = officer.get("/errands/" + id)
	p = officer.post("/errands/"+id+"/complete", url.Values{"version": {version(t, p)}, "outcome": {"refused"}, "note": {"已电话告知"}})
	expectStatus(t, p, http.StatusUnprocessableEntity)
	expectText(t, p, "不予办理的，必须填写理由", `id="complete-refused" name="outcome" value="refused" checked`, `value="已电话告知"`)

	p = officer.post("/errands/"+id+"/return", url.Values{"version": {version(t, p)}})
	expectStatus(t, p, http.StatusUnprocessableEntity)
	expectText(t, p, "请至少勾选一项需要补正的材料")

	resident := newBrowser(t, env)
	resident.get("/q/" + receipt)
	p = resident.post("/q", url.Values{"receipt_no": {receipt}, "code": {"000000"}})
	expectStatus(t, p, http.StatusNotFound)
	expectText(t, p, "未找到：请对照回执核对回执编号和查询码", `value="`+receipt+`"`, `value="000000"`)
	if n := strings.Count(p.Body, "未找到：请对照回执核对回执编号和查询码"); n != 1 {
		t.Errorf("the wrong-code message appears %d times, want once", n)
	}
	i := len(receipt) - 3
	for receipt[i] == receipt[i+1] {
		i--
	}
	swapped := receipt[:i] + receipt[i+1:i+2] + receipt[i:i+1] + receipt[i+2:]
	p = resident.post("/q", url.Values{"receipt_no": {swapped}, "code": {"123456"}})
	expectStatus(t, p, http.StatusBadRequest)
	expectText(t, p, "回执编号有误", `value="`+swapped+`"`)
}

func TestErrorsArePagesNotJSON(t *testing.T) {
	env := newEnv(t)
	b := newBrowser(t, env)
	p := b.get("/no-such-page")
	expectStatus(t, p, http.StatusNotFound)
	expectText(t, p, `<html lang="zh-CN">`, "页面不存在")
	b.login("ag1a")
	p = b.get("/errands/0190aaaa-0000-7000-8000-000000000000")
	expectStatus(t, p, http.StatusNotFound)
	expectText(t, p, "不在您的管辖范围内")
	p = b.get("/stats/export?format=pdf")
	expectStatus(t, p, http.StatusBadRequest)
	expectText(t, p, "请求有误")
	// The API keeps its problem documents.
	p = b.get("/api/v1/no-such-route")
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("API 404 is %q", ct)
	}
	// Officers do not register.
	o := newBrowser(t, env)
	o.login("tw1")
	expectStatus(t, o.get("/register"), http.StatusForbidden)
}

func TestPublicLookupsAreRateLimited(t *testing.T) {
	env := apitest.New(t)
	web.Mount(env.API.Echo(), env.Svc, web.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicRate: 0.001, PublicBurst: 2})
	b := newBrowser(t, env)
	b.get("/q")
	var last page
	for range 3 {
		last = b.post("/q", url.Values{"receipt_no": {"260000001R"}, "code": {"123456"}})
	}
	expectStatus(t, last, http.StatusTooManyRequests)
	expectText(t, last, "查询过于频繁，请稍后再试")
}

// TestCorrectionAndCityLevel covers the other steps: a return for
// correction and its resubmission, a township forwarding a city-level
// item, a city officer completing it, an extension and a withdrawal.
func TestCorrectionAndCityLevel(t *testing.T) {
	env := newEnv(t)
	agent, tw, city := newBrowser(t, env), newBrowser(t, env), newBrowser(t, env)
	agent.login("ag1a")
	tw.login("tw1")
	city.login("city")
	step := func(b *browser, id, act string, form url.Values) page {
		t.Helper()
		p := b.get("/errands/" + id)
		form.Set("version", version(t, p))
		p = b.post("/errands/"+id+"/"+act, form)
		if p.Status != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%.3000s", act, p.Status, p.Body)
		}
		return b.get(p.Location)
	}
	f := registration(env)
	f.Set("item_code", "CTY")
	f["materials"] = apitest.CityMaterials
	id, _, _ := register(t, agent, f)
	step(agent, id, "forward", url.Values{})
	p := step(tw, id, "accept", url.Values{})
	if strings.Contains(p.Body, `/complete"`) {
		t.Error("a township is offered to complete a city-level item")
	}
	p = step(tw, id, "return", url.Values{"missing_materials": {"证明材料"}, "note": {"缺村委证明"}})
	expectText(t, p, "已退回代办点补正", "待补正")
	p = agent.get("/errands/" + id)
	expectText(t, p, "需补正材料", "证明材料", "重新报送")
	step(agent, id, "resubmit", url.Values{})
	step(tw, id, "accept", url.Values{})
	p = step(tw, id, "forward", url.Values{})
	expectText(t, p, "已转报上级。", "测试市")
	step(city, id, "accept", url.Values{})
	p = step(city, id, "extend", url.Values{"due_date": {"2026-03-31"}, "reason": {"需现场核查"}})
	expectText(t, p, "已延期", "2026-03-31", "需现场核查")
	p = step(city, id, "complete", url.Values{"outcome": {"refused"}, "reason": {"不符合条件"}})
	expectText(t, p, "不予", "不符合条件")

	other, _, _ := register(t, agent, registration(env))
	p = step(agent, other, "withdraw", url.Values{"reason": {"申请人不办了"}})
	expectText(t, p, "已撤回", "申请人不办了")

	// A weekend is not a working day to extend to.
	third, _, _ := register(t, agent, registration(env))
	step(agent, third, "forward", url.Values{})
	step(tw, third, "accept", url.Values{})
	p = tw.get("/errands/" + third)
	p = tw.post("/errands/"+third+"/extend", url.Values{"version": {version(t, p)}, "due_date": {"2026-03-14"}, "reason": {"等待鉴定"}})
	expectStatus(t, p, http.StatusUnprocessableEntity)
	expectText(t, p, "须为工作日", `value="2026-03-14"`, "等待鉴定")
}
