package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"daiban/internal/apitest"
	"daiban/service"
)

// TestWebhookEndpointsRefuseBadInput: each bad endpoint is refused with a
// problem naming the field, and nothing is saved.
func TestWebhookEndpointsRefuseBadInput(t *testing.T) {
	env := apitest.New(t)
	admin := env.Login("admin")
	for _, c := range []struct {
		name  string
		body  map[string]any
		want  int
		field string
	}{
		{"plain http", map[string]any{"url": "http://hooks.example.com/x", "types": []string{"*"}}, 422, "url"},
		{"http to loopback without the flag", map[string]any{"url": "http://127.0.0.1:9/x", "types": []string{"*"}}, 422, "url"},
		{"private address", map[string]any{"url": "https://192.168.1.20/x", "types": []string{"*"}}, 422, "url"},
		{"link-local address", map[string]any{"url": "https://169.254.169.254/latest", "types": []string{"*"}}, 422, "url"},
		{"localhost", map[string]any{"url": "https://localhost/x", "types": []string{"*"}}, 422, "url"},
		{"malformed", map[string]any{"url": "https//hooks", "types": []string{"*"}}, 422, "url"},
		{"no types", map[string]any{"url": "https://hooks.example.com/x", "types": []string{}}, 422, "types"},
		{"unknown type", map[string]any{"url": "https://hooks.example.com/x", "types": []string{"errand.complete", "errand.burn"}}, 422, "types[1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/webhooks", Token: admin, Body: c.body, Raw: true})
			apitest.Expect(t, r, c.want)
			if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != c.field {
				t.Errorf("errors %+v, want field %q", p.Errors, c.field)
			}
		})
	}
	apitest.Expect(t, env.Post("/api/v1/webhooks", env.Login("super"), map[string]any{"url": "https://hooks.example.com/x", "types": []string{"*"}}), http.StatusForbidden)
	if n := countRows(t, env, "webhook_endpoints"); n != 0 {
		t.Fatalf("refused endpoints saved %d rows", n)
	}
	r := env.Post("/api/v1/webhooks", admin, map[string]any{"url": "https://hooks.example.com/x", "types": []string{"errand.complete"}})
	apitest.Expect(t, r, http.StatusCreated)
	var w struct{ ID, Secret string }
	r.JSON(t, &w)
	if !strings.HasPrefix(w.Secret, "whsec_") {
		t.Fatalf("secret %q", w.Secret)
	}
	if list := env.Get("/api/v1/webhooks", admin); strings.Contains(string(list.Body), w.Secret) {
		t.Fatal("the list shows the secret")
	}
	// Stored sealed, not as given.
	if dbHolds(t, env, []string{"webhook_endpoints"}, strings.TrimPrefix(w.Secret, "whsec_")) {
		t.Fatal("the secret is stored in the clear")
	}
}

// TestStepsQueueNotices: a completion queues the resident's SMS (unless
// declined) and the webhook deliveries in its own transaction, and puts
// 待送达 in the intake agent's inbox; a forward reaches the township's
// queue; a refused step queues nothing.
func TestStepsQueueNotices(t *testing.T) {
	env := apitest.New(t)
	admin, agent, tw := env.Login("admin"), env.Login("ag1a"), env.Login("tw1")
	apitest.Expect(t, env.Post("/api/v1/webhooks", admin, map[string]any{"url": "https://hooks.example.com/x", "types": []string{"errand.complete"}}), http.StatusCreated)
	apitest.Expect(t, env.Post("/api/v1/webhooks", admin, map[string]any{"url": "https://other.example.com/y", "types": []string{"*"}}), http.StatusCreated)

	texts := register(t, env, agent, env.F.ItemTownship)
	body := apitest.Registration(env.F.ItemTownship)
	body["no_sms"] = true
	r := env.Post("/api/v1/errands", agent, body)
	apitest.Expect(t, r, http.StatusCreated)
	var quiet errand
	r.JSON(t, &quiet)

	for _, e := range []*errand{&texts, &quiet} {
		*e = step(t, env, agent, *e, "forward", nil)
	}
	var in struct {
		Items  []struct{ ID, Text string }
		Unread int
	}
	env.Get("/api/v1/inbox", tw).JSON(t, &in)
	if in.Unread != 2 || len(in.Items) != 2 || !strings.HasPrefix(in.Items[0].Text, "新转报") {
		t.Fatalf("the township's inbox after two forwards: %+v", in)
	}
	// A refused step changes nothing and queues nothing.
	outbox := countRows(t, env, "outbox")
	apitest.Expect(t, env.Post("/api/v1/errands/"+texts.ID+"/accept", tw, map[string]any{"version": 1}), http.StatusConflict)
	if n := countRows(t, env, "outbox"); n != outbox {
		t.Fatalf("a refused step queued %d deliveries", n-outbox)
	}
	for _, e := range []*errand{&texts, &quiet} {
		*e = step(t, env, tw, *e, "accept", nil)
		*e = step(t, env, tw, *e, "complete", map[string]any{"outcome": "approved"})
	}
	var out struct {
		Items []struct {
			Channel, Target, Type, Status, MessageID string
		}
	}
	env.Get("/api/v1/admin/outbox?limit=100", admin).JSON(t, &out)
	count := map[string]int{}
	for _, d := range out.Items {
		count[d.Channel+" "+d.Type]++
		if d.Channel == "sms" && d.Target != "139****5678" {
			t.Errorf("the outbox shows the phone as %q", d.Target)
		}
	}
	// Two errands × (register, forward, accept, complete) to "*", two completions to the first, one SMS.
	if count["webhook errand.complete"] != 4 || count["webhook errand.register"] != 2 || count["sms errand.complete"] != 1 || len(out.Items) != 11 {
		t.Fatalf("outbox %v (%d rows)", count, len(out.Items))
	}
	apitest.Expect(t, env.Get("/api/v1/admin/outbox", agent), http.StatusForbidden)
	apitest.Expect(t, env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/admin/outbox?status=lost", Token: admin, Raw: true}), http.StatusBadRequest)

	env.Get("/api/v1/inbox", agent).JSON(t, &in)
	if in.Unread != 2 || !strings.HasPrefix(in.Items[0].Text, "待送达") || strings.Contains(in.Items[0].Text, "张三丰") {
		t.Fatalf("the agent's inbox after two completions: %+v", in)
	}
	apitest.Expect(t, env.Post("/api/v1/inbox/"+in.Items[0].ID+"/read", agent, nil), http.StatusNoContent)
	apitest.Expect(t, env.Post("/api/v1/inbox/"+in.Items[0].ID+"/read", env.Login("ag1b"), nil), http.StatusNotFound)
	env.Get("/api/v1/inbox", agent).JSON(t, &in)
	if in.Unread != 1 {
		t.Fatalf("unread %d after reading one of two", in.Unread)
	}
}

// TestDailyDigest: on a working day the holder of errands due soon or
// overdue, and its city, get one digest each, however often it runs; on a
// day off nobody does.
func TestDailyDigest(t *testing.T) {
	env := apitest.New(t)
	agent, tw, super := env.Login("ag1a"), env.Login("tw1"), env.Login("super")
	e := register(t, env, agent, env.F.ItemTownship) // Monday 2 March, due Monday 9 March
	step(t, env, agent, e, "forward", nil)
	digest := func(day string) int {
		t.Helper()
		d, err := service.ParseDate(day)
		if err != nil {
			t.Fatal(err)
		}
		env.Clock.Set(d.Start().Add(8*time.Hour + 31*time.Minute))
		n, err := env.Svc.Digest(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	inbox := func(token string) []string {
		var in struct{ Items []struct{ Text string } }
		env.Get("/api/v1/inbox?limit=100", token).JSON(t, &in)
		var out []string
		for _, it := range in.Items {
			if strings.HasPrefix(it.Text, "今日提醒") || strings.HasPrefix(it.Text, "全市今日提醒") {
				out = append(out, it.Text)
			}
		}
		return out
	}
	if n := digest("2026-03-03"); n != 0 {
		t.Fatalf("a digest of %d messages with nothing due", n)
	}
	if n := digest("2026-03-07"); n != 0 {
		t.Fatalf("a digest of %d messages on a Saturday", n)
	}
	if n := digest("2026-03-09"); n != 2 {
		t.Fatalf("the due day's digest has %d messages, want the township's and the city's", n)
	}
	digest("2026-03-09") // a second instance, or a restart, the same day
	if got := inbox(tw); len(got) != 1 || got[0] != "今日提醒：超期未办结 0 件，即将到期 1 件，请到“预警督办”查看。" {
		t.Fatalf("the township's digests: %q", got)
	}
	digest("2026-03-10")
	if got := inbox(super); len(got) != 2 || got[0] != "全市今日提醒：超期未办结 1 件，即将到期 0 件，请到“预警督办”查看。" {
		t.Fatalf("the city's digests: %q", got)
	}
	if got := inbox(agent); len(got) != 0 {
		t.Fatalf("the agent, who holds nothing due, got %q", got)
	}
}

// TestSMSTemplate: an admin rewords the completion text; a wording with an
// unknown placeholder, or one the gateway could not take with the longest
// names, is refused naming the field; the next completion uses the new one.
func TestSMSTemplate(t *testing.T) {
	env := apitest.New(t)
	admin, agent, tw := env.Login("admin"), env.Login("ag1a"), env.Login("tw1")
	var tpl struct{ Completed string }
	env.Get("/api/v1/admin/sms-template", admin).JSON(t, &tpl)
	if tpl.Completed != service.DefaultCompletedSMS {
		t.Fatalf("template %q", tpl.Completed)
	}
	for _, c := range []struct{ name, text, code string }{
		{"unknown placeholder", "{name}您好，{item}已办结。", "unknown_placeholder"},
		{"longer than the gateway takes", strings.Repeat("请", 400) + "{intake}{item}{link}", "sms_too_long"},
	} {
		r := env.Do(apitest.Req{Method: http.MethodPut, Path: "/api/v1/admin/sms-template", Token: admin, Body: map[string]any{"completed": c.text}, Raw: true})
		apitest.Expect(t, r, http.StatusUnprocessableEntity)
		if p := r.Problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "completed" || p.Errors[0].Code != c.code {
			t.Errorf("%s: %+v", c.name, p.Errors)
		}
	}
	apitest.Expect(t, env.Do(apitest.Req{Method: http.MethodPut, Path: "/api/v1/admin/sms-template", Token: agent, Body: map[string]any{"completed": "{item}已办结"}}), http.StatusForbidden)
	r := env.Do(apitest.Req{Method: http.MethodPut, Path: "/api/v1/admin/sms-template", Token: admin, Body: map[string]any{"completed": "【长乐代办】{item}已办结，请到{intake}代办点领取。"}})
	apitest.Expect(t, r, http.StatusOK)

	e := register(t, env, agent, env.F.ItemTownship)
	e = step(t, env, agent, e, "forward", nil)
	e = step(t, env, tw, e, "accept", nil)
	step(t, env, tw, e, "complete", map[string]any{"outcome": "approved"})
	var body string
	if err := env.Store.DB().Raw(`SELECT body FROM outbox WHERE channel = 'sms'`).Row().Scan(&body); err != nil {
		t.Fatal(err)
	}
	if body != "【长乐代办】"+env.F.ItemTownship.Name+"已办结，请到甲一村代办点领取。" {
		t.Fatalf("the text queued: %q", body)
	}
}
