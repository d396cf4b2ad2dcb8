package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"daiban/internal/apitest"
)

// TestBrowserAdminNotify: the admin rewords the resident's text (a wrong
// placeholder is said beside the field), registers a webhook endpoint (a
// plain-http address is refused; the secret shows once), sees the outbox
// by status and sends a dead delivery again; on a phone the page fits.
func TestBrowserAdminNotify(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	admin := newPerson(t, root, env, "admin", desktopW, desktopH)
	admin.login("admin")
	admin.submit(`nav[aria-label="管理"] a[href="/admin/notify"]`)
	admin.expectText("h1", "通知")
	if v := admin.value("#completed"); !strings.Contains(v, "{intake}") {
		t.Errorf("the text box holds %q", v)
	}

	admin.do(chromedp.SetValue(chromedp.CSS(`#completed`), "{name}您好，{item}已办结。"))
	admin.submit(`#template button[type=submit]`)
	if msg := admin.fieldError("#completed"); !strings.Contains(msg, "intake") {
		t.Errorf("a wrong placeholder says %q beside the field", msg)
	}
	admin.do(chromedp.SetValue(chromedp.CSS(`#completed`), "【长乐代办】{item}已办结，请到{intake}代办点领取。{link}"))
	admin.submit(`#template button[type=submit]`)
	admin.expectText("p.flash", "短信文字已保存")

	admin.do(chromedp.SendKeys(chromedp.CSS(`#hook-url`), "http://hooks.example.com/daiban"),
		chromedp.Click(chromedp.CSS(`input[name=types][value="errand.complete"]`)))
	admin.submit(`#webhook button[type=submit]`)
	if msg := admin.fieldError("#hook-url"); !strings.Contains(msg, "https://") {
		t.Errorf("a plain-http address says %q beside the field", msg)
	}
	admin.do(chromedp.SetValue(chromedp.CSS(`#hook-url`), "https://hooks.example.com/daiban"))
	admin.submit(`#webhook button[type=submit]`)
	secret := admin.text("#new-secret")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the secret shown is %q", secret)
	}
	admin.expectText(".hooks", "https://hooks.example.com/daiban", "办结")

	// A completion queues a text and a webhook delivery; one dies.
	agent, tw := env.Login("ag1a"), env.Login("tw1")
	r := env.Post("/api/v1/errands", agent, apitest.Registration(env.F.ItemTownship))
	apitest.Expect(t, r, http.StatusCreated)
	var e struct {
		ID      string
		Version int
	}
	r.JSON(t, &e)
	for _, s := range []struct {
		token, action string
		body          map[string]any
	}{{agent, "forward", nil}, {tw, "accept", nil}, {tw, "complete", map[string]any{"outcome": "approved"}}} {
		if s.body == nil {
			s.body = map[string]any{}
		}
		s.body["version"] = e.Version
		r := env.Post("/api/v1/errands/"+e.ID+"/"+s.action, s.token, s.body)
		apitest.Expect(t, r, http.StatusOK)
		r.JSON(t, &e)
	}
	if err := env.Store.DB().Exec(`UPDATE outbox SET status = 'dead', attempts = 8, last_error = 'the receiver answered 503 Service Unavailable' WHERE channel = 'webhook'`).Error; err != nil {
		t.Fatal(err)
	}
	admin.open("/admin/notify")
	admin.expectText(".outbox-list", "Webhook", "办结", "https://hooks.example.com/daiban", "已试 8 次", "503")
	admin.shot("admin-notify-1366x768")
	admin.submit(`.outbox-list li:first-child button`)
	admin.expectText("p.flash", "已安排重新投递")
	admin.expectText(".outbox-list", "Webhook", "短信", "139****5678", "【长乐代办】")
	if n := admin.eval(`String(document.querySelectorAll('.outbox-list li').length)`); n != "2" {
		t.Errorf("the pending tab lists %s deliveries, want the text and the replayed webhook", n)
	}

	phone := newPerson(t, root, env, "admin-390", phoneW, phoneH)
	phone.login("admin")
	phone.open("/admin/notify?status=pending")
	if w := phone.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("on a 390 px phone the page is %s px wide", w)
	}
	phone.shot("admin-notify-390x844")
}
