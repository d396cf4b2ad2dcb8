package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"daiban/internal/apitest"
)

// TestMetricsLabelsAreBounded sends what a client controls (paths no route
// matches, Host headers, method tokens) and checks that none of it becomes
// a label: each new value would keep series in memory for good.
func TestMetricsLabelsAreBounded(t *testing.T) {
	env := apitest.New(t)
	for i := range 20 {
		req, err := http.NewRequest([]string{"GET", "BREW", "PROPFIND"}[i%3], env.Server.URL+fmt.Sprintf("/probe-%d/x", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = fmt.Sprintf("host-%d.example", i)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("%s %s = %d", req.Method, req.URL.Path, resp.StatusCode)
		}
	}
	env.Get("/api/v1/public/receipts/CL-20260101-999999?code=123456", "")
	body := string(env.Get("/metrics", "").Body)
	for _, leak := range []string{"probe-", "host-", "BREW", "PROPFIND", "CL-2026", `host="`} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics has a label from the request: %s", leak)
		}
	}
	for _, want := range []string{
		`daiban_http_requests_total{code="404",method="GET",url="unmatched"} 7`,
		`daiban_http_requests_total{code="404",method="other",url="unmatched"} 13`,
		`daiban_http_requests_total{code="400",method="GET",url="/api/v1/public/receipts/:receipt_no"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if n := strings.Count(body, "\ndaiban_http_requests_total{"); n != 3 {
		t.Errorf("%d request series, want the 3 above", n)
	}
}

func TestOperations(t *testing.T) {
	env := apitest.New(t)
	for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml"} {
		r := env.Get(path, "")
		apitest.Expect(t, r, http.StatusOK)
		if r.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", path)
		}
	}
	if r := env.Get("/openapi.yaml", ""); !strings.Contains(string(r.Body), "openapi: 3.1") {
		t.Errorf("/openapi.yaml does not serve the contract")
	}
	env.Get("/api/v1/catalog/items", "")
	r := env.Get("/metrics", "")
	apitest.Expect(t, r, http.StatusOK)
	for _, want := range []string{`daiban_http_requests_total{code="200",`, `url="/api/v1/catalog/items"`, "daiban_http_request_duration_seconds_bucket"} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	r = env.Get("/no/such/route", "")
	apitest.Expect(t, r, http.StatusNotFound)
	if p := r.Problem(t); p.Code != "route_not_found" || p.RequestID == "" {
		t.Errorf("unknown route problem = %+v", p)
	}
	r = env.Do(apitest.Req{Method: http.MethodGet, Path: "/healthz", Header: map[string]string{"X-Request-Id": "trace-42"}})
	if got := r.Header.Get("X-Request-Id"); got != "trace-42" {
		t.Errorf("X-Request-Id = %q, want the caller's trace-42", got)
	}
	r = env.Do(apitest.Req{Method: http.MethodGet, Path: "/healthz", Header: map[string]string{"X-Request-Id": "bad id\twith tab"}})
	if got := r.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
		t.Errorf("a malformed incoming request id was kept: %q", got)
	}
}

func TestLogin(t *testing.T) {
	env := apitest.New(t)
	token := env.Login("ag1a")
	r := env.Get("/api/v1/auth/me", token)
	apitest.Expect(t, r, http.StatusOK)
	if me := r.Map(t); me["username"] != "ag1a" || me["org_name"] != "甲一村" || me["role"] != "agent" {
		t.Errorf("me = %v", me)
	}

	wrong := env.Post("/api/v1/auth/login", "", map[string]string{"username": "ag1b", "password": "not-the-password"})
	unknown := env.Post("/api/v1/auth/login", "", map[string]string{"username": "nobody", "password": "not-the-password"})
	apitest.Expect(t, wrong, http.StatusUnauthorized)
	apitest.Expect(t, unknown, http.StatusUnauthorized)
	pw, pu := wrong.Problem(t), unknown.Problem(t)
	if pw.Code != pu.Code || pw.Detail != pu.Detail {
		t.Errorf("a wrong password (%s: %s) and an unknown user (%s: %s) must answer alike", pw.Code, pw.Detail, pu.Code, pu.Detail)
	}

	// Five wrong passwords, then the username is held off, even with the right one.
	for i := 0; i < 4; i++ {
		apitest.Expect(t, env.Post("/api/v1/auth/login", "", map[string]string{"username": "ag1b", "password": "guess"}), http.StatusUnauthorized)
	}
	r = env.Post("/api/v1/auth/login", "", map[string]string{"username": "ag1b", "password": apitest.Password})
	apitest.Expect(t, r, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" || r.Problem(t).Code != "too_many_attempts" {
		t.Errorf("throttled login: %s, Retry-After %q", r.Body, r.Header.Get("Retry-After"))
	}
	env.Clock.Advance(16 * time.Minute)
	env.Login("ag1b")

	for _, bad := range []struct {
		name string
		body string
		code string
		want int
	}{
		{"malformed", `{"username":`, "malformed_json", 400},
		{"unknown field", `{"username":"a","password":"b","remember":true}`, "unknown_field", 400},
		{"wrong type", `{"username":1,"password":"b"}`, "invalid_type", 400},
		{"missing field", `{"username":"ag1a"}`, "validation_failed", 422},
		{"two values", `{"username":"a","password":"b"} {}`, "malformed_json", 400},
		// Names match exactly, and once: no case-folded twin, no second value.
		{"another spelling", `{"Username":"ag1a","password":"demo-password"}`, "unknown_field", 400},
		{"a field twice", `{"username":"nobody","username":"ag1a","password":"demo-password"}`, "duplicate_field", 400},
		{"empty", ` `, "malformed_json", 400},
	} {
		r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: bad.body, Raw: true})
		apitest.Expect(t, r, bad.want)
		if p := r.Problem(t); p.Code != bad.code {
			t.Errorf("%s: code %q, want %q", bad.name, p.Code, bad.code)
		}
	}
	r = env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: `{"username":"ag1a"}`, Raw: true})
	if p := r.Problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "password" {
		t.Errorf("missing password: errors %+v, want the field password", p.Errors)
	}

	apitest.Expect(t, env.Post("/api/v1/auth/logout", token, nil), http.StatusNoContent)
	r = env.Get("/api/v1/auth/me", token)
	apitest.Expect(t, r, http.StatusUnauthorized)
	if r.Problem(t).Code != "invalid_token" {
		t.Errorf("revoked token: %s", r.Body)
	}

	expiring := env.Login("tw1")
	env.Clock.Advance(apitest.SessionTTL + time.Minute)
	apitest.Expect(t, env.Get("/api/v1/auth/me", expiring), http.StatusUnauthorized)
	apitest.Expect(t, env.Get("/api/v1/auth/me", ""), http.StatusUnauthorized)
	apitest.Expect(t, env.Get("/api/v1/auth/me", "garbage"), http.StatusUnauthorized)
}

func countOrgs(t *testing.T, env *apitest.Env) int64 {
	var n int64
	if err := env.Store.DB().Table("orgs").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOrganisations(t *testing.T) {
	env := apitest.New(t)
	admin := env.Login("admin")
	r := env.Post("/api/v1/orgs", admin, map[string]any{"code": "350182100203", "name": "甲三村", "level": "village", "parent_id": env.F.T1.ID})
	apitest.Expect(t, r, http.StatusCreated)
	if o := r.Map(t); o["path"] != "/350182/350182100/350182100203/" || o["parent_id"] != env.F.T1.ID {
		t.Errorf("created org = %v", o)
	}

	before := countOrgs(t, env)
	tw1 := env.Login("tw1")
	for _, bad := range []struct {
		name  string
		token string
		body  any
		want  int
		field string
	}{
		{"duplicate code", admin, map[string]any{"code": "350182100203", "name": "重复", "level": "village", "parent_id": env.F.T1.ID}, 409, "code"},
		{"parent of the wrong level", admin, map[string]any{"code": "350182100299", "name": "错层", "level": "village", "parent_id": env.F.City.ID}, 422, "parent_id"},
		{"code outside the parent", admin, map[string]any{"code": "350182101299", "name": "错码", "level": "village", "parent_id": env.F.T1.ID}, 422, "code"},
		{"code of the wrong length", admin, map[string]any{"code": "35018210", "name": "短码", "level": "township", "parent_id": env.F.City.ID}, 422, "code"},
		{"unknown parent", admin, map[string]any{"code": "350182100298", "name": "无父", "level": "village", "parent_id": "0192f000-0000-7000-8000-000000000000"}, 422, "parent_id"},
		{"a second city", admin, map[string]any{"code": "350183", "name": "二市", "level": "city", "parent_id": env.F.City.ID}, 422, "parent_id"},
		{"unknown level", admin, map[string]any{"code": "350182100297", "name": "自然村", "level": "hamlet", "parent_id": env.F.T1.ID}, 422, "level"},
		{"a grid under a township", admin, map[string]any{"code": "350182100297001", "name": "网格", "level": "grid", "parent_id": env.F.T1.ID}, 422, "parent_id"},
		{"a department with a village's code length", admin, map[string]any{"code": "350182100297", "name": "部门", "level": "department", "parent_id": env.F.T1.ID}, 422, "code"},
		{"a department under a village", admin, map[string]any{"code": "3501821002010001", "name": "部门", "level": "department", "parent_id": env.F.V1a.ID}, 422, "parent_id"},
		{"missing name", admin, map[string]any{"code": "350182100296", "level": "village", "parent_id": env.F.T1.ID}, 422, "name"},
		{"wrong type", admin, map[string]any{"code": 350182100296, "name": "x", "level": "village", "parent_id": env.F.T1.ID}, 400, "code"},
		{"unknown field", admin, map[string]any{"code": "350182100295", "name": "x", "level": "village", "parent_id": env.F.T1.ID, "grid": 1}, 400, "grid"},
		{"not an admin", tw1, map[string]any{"code": "350182100294", "name": "越权", "level": "village", "parent_id": env.F.T1.ID}, 403, ""},
		{"not signed in", "", map[string]any{"code": "350182100293", "name": "匿名", "level": "village", "parent_id": env.F.T1.ID}, 401, ""},
	} {
		t.Run(bad.name, func(t *testing.T) {
			r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/orgs", Token: bad.token, Body: bad.body, Raw: true})
			apitest.Expect(t, r, bad.want)
			if bad.field != "" {
				p := r.Problem(t)
				if len(p.Errors) == 0 || p.Errors[0].Field != bad.field {
					t.Errorf("errors %+v, want field %q", p.Errors, bad.field)
				}
			}
		})
	}
	if after := countOrgs(t, env); after != before {
		t.Errorf("bad requests changed the org count from %d to %d", before, after)
	}

	// The listing walks the tree in path order, a page at a time.
	agent := env.Login("ag1a")
	var seen []string
	cursor := ""
	for page := 0; page < 10; page++ {
		path := "/api/v1/orgs?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		var out struct {
			Items []struct {
				Code string `json:"code"`
			} `json:"items"`
			Next *string `json:"next_cursor"`
		}
		r := env.Get(path, agent)
		apitest.Expect(t, r, http.StatusOK)
		r.JSON(t, &out)
		for _, o := range out.Items {
			seen = append(seen, o.Code)
		}
		if out.Next == nil {
			break
		}
		cursor = *out.Next
	}
	want := "350182 350182100 350182100201 350182100202 350182100203 350182101 350182101201"
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("tree walk = %s\nwant        %s", got, want)
	}
	for _, path := range []string{"/api/v1/orgs?level=hamlet", "/api/v1/orgs?limit=0", "/api/v1/orgs?cursor=!!"} {
		apitest.Expect(t, env.Do(apitest.Req{Method: http.MethodGet, Path: path, Token: agent, Raw: true}), http.StatusBadRequest)
	}
	apitest.Expect(t, env.Get("/api/v1/orgs/"+env.F.T2.ID, agent), http.StatusOK)
	apitest.Expect(t, env.Get("/api/v1/orgs/0192f000-0000-7000-8000-000000000000", agent), http.StatusNotFound)
}

func TestUsers(t *testing.T) {
	env := apitest.New(t)
	admin := env.Login("admin")
	user := map[string]any{"username": "ag1c", "password": "long-enough", "display_name": "新代办员", "phone": "13700000000", "role": "agent", "org_id": env.F.V1b.ID}
	apitest.Expect(t, env.Post("/api/v1/users", admin, user), http.StatusCreated)
	apitest.Expect(t, env.Post("/api/v1/auth/login", "", map[string]string{"username": "ag1c", "password": "long-enough"}), http.StatusOK)

	var before int64
	env.Store.DB().Table("users").Count(&before)
	for _, bad := range []struct {
		name  string
		body  map[string]any
		want  int
		field string
	}{
		{"duplicate username", map[string]any{"username": "ag1c", "password": "long-enough", "display_name": "x", "role": "agent", "org_id": env.F.V1b.ID}, 409, "username"},
		{"agent at a township", map[string]any{"username": "ag1d", "password": "long-enough", "display_name": "x", "role": "agent", "org_id": env.F.T1.ID}, 422, "org_id"},
		{"officer at a village", map[string]any{"username": "tw9", "password": "long-enough", "display_name": "x", "role": "township_officer", "org_id": env.F.V1a.ID}, 422, "org_id"},
		{"short password", map[string]any{"username": "ag1e", "password": "short", "display_name": "x", "role": "agent", "org_id": env.F.V1b.ID}, 422, "password"},
		{"bad username", map[string]any{"username": "Ag 1", "password": "long-enough", "display_name": "x", "role": "agent", "org_id": env.F.V1b.ID}, 422, "username"},
		{"unknown role", map[string]any{"username": "ag1f", "password": "long-enough", "display_name": "x", "role": "mayor", "org_id": env.F.V1b.ID}, 422, "role"},
		{"bad phone", map[string]any{"username": "ag1g", "password": "long-enough", "display_name": "x", "phone": "12345", "role": "agent", "org_id": env.F.V1b.ID}, 422, "phone"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/users", Token: admin, Body: bad.body, Raw: true})
			apitest.Expect(t, r, bad.want)
			if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != bad.field {
				t.Errorf("errors %+v, want field %q", p.Errors, bad.field)
			}
		})
	}
	apitest.Expect(t, env.Post("/api/v1/users", env.Login("super"), user), http.StatusForbidden)
	var after int64
	env.Store.DB().Table("users").Count(&after)
	if after != before {
		t.Errorf("bad requests changed the user count from %d to %d", before, after)
	}
	r := env.Get("/api/v1/users?role=agent&limit=2", admin)
	apitest.Expect(t, r, http.StatusOK)
	var out struct {
		Items []map[string]any `json:"items"`
		Next  *string          `json:"next_cursor"`
	}
	r.JSON(t, &out)
	if len(out.Items) != 2 || out.Next == nil || out.Items[0]["username"] != "ag1a" {
		t.Errorf("first page of agents = %v (next %v)", out.Items, out.Next)
	}
	// must_change_password is the only word of passwords a listing says: no hash, no password.
	if body := strings.ReplaceAll(string(r.Body), `"must_change_password":`, ""); strings.Contains(body, "password") || strings.Contains(body, "$2a$") {
		t.Errorf("a user listing mentions passwords: %s", r.Body)
	}
	apitest.Expect(t, env.Get("/api/v1/users", env.Login("ag1a")), http.StatusForbidden)
}

func TestCatalogue(t *testing.T) {
	env := apitest.New(t)
	r := env.Get("/api/v1/catalog/categories", "")
	apitest.Expect(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), "党员服务") || !strings.Contains(string(r.Body), "计生") {
		t.Errorf("categories = %s", r.Body)
	}
	admin := env.Login("admin")
	item := map[string]any{"code": "LY01", "name": "林木采伐许可证", "category": "linye", "level": "city", "materials": []string{"申请表", "林权证"}, "fee_cents": 0, "time_limit_days": 10}
	r = env.Post("/api/v1/catalog/items", admin, item)
	apitest.Expect(t, r, http.StatusCreated)

	for _, bad := range []struct {
		name  string
		patch map[string]any
		want  int
		field string
	}{
		{"duplicate code", map[string]any{}, 409, "code"},
		{"unknown category", map[string]any{"code": "XX01", "category": "tax"}, 422, "category"},
		{"village level", map[string]any{"code": "XX02", "level": "village"}, 422, "level"},
		{"no time limit", map[string]any{"code": "XX03", "time_limit_days": 0}, 422, "time_limit_days"},
		{"negative fee", map[string]any{"code": "XX04", "fee_cents": -1}, 422, "fee_cents"},
		{"material twice", map[string]any{"code": "XX05", "materials": []string{"申请表", "申请表"}}, 422, "materials[1]"},
		{"lower-case code", map[string]any{"code": "xx06"}, 422, "code"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			body := map[string]any{}
			for k, v := range item {
				body[k] = v
			}
			for k, v := range bad.patch {
				body[k] = v
			}
			r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/catalog/items", Token: admin, Body: body, Raw: true})
			apitest.Expect(t, r, bad.want)
			if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != bad.field {
				t.Errorf("errors %+v, want field %q", p.Errors, bad.field)
			}
		})
	}
	apitest.Expect(t, env.Post("/api/v1/catalog/items", env.Login("city"), item), http.StatusForbidden)

	r = env.Get("/api/v1/catalog/items?active=true", "")
	apitest.Expect(t, r, http.StatusOK)
	if strings.Contains(string(r.Body), `"OLD"`) || !strings.Contains(string(r.Body), `"LY01"`) {
		t.Errorf("active items = %s", r.Body)
	}
	r = env.Do(apitest.Req{Method: http.MethodPatch, Path: "/api/v1/catalog/items/LY01", Token: admin, Body: map[string]any{"active": false}})
	apitest.Expect(t, r, http.StatusOK)
	if r.Map(t)["active"] != false {
		t.Errorf("patched item = %s", r.Body)
	}
	apitest.Expect(t, env.Do(apitest.Req{Method: http.MethodPatch, Path: "/api/v1/catalog/items/NOPE", Token: admin, Body: map[string]any{"active": false}}), http.StatusNotFound)
	apitest.Expect(t, env.Get("/api/v1/catalog/items/LY01", ""), http.StatusOK)
}

func TestCalendarAPI(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	r := env.Get("/api/v1/calendar/2026", agent)
	apitest.Expect(t, r, http.StatusOK)
	body := string(r.Body)
	for _, want := range []string{`"2026-02-17","kind":"holiday","name":"春节"`, `"2026-02-28","kind":"workday"`, `"2026-10-10","kind":"workday"`} {
		if !strings.Contains(body, want) {
			t.Errorf("2026 calendar lacks %s", want)
		}
	}
	apitest.Expect(t, env.Get("/api/v1/calendar/2031", agent), http.StatusNotFound)
	apitest.Expect(t, env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/calendar/1999", Token: agent, Raw: true}), http.StatusBadRequest)

	admin := env.Login("admin")
	year := map[string]any{"note": "测试", "days": []map[string]string{{"date": "2031-01-01", "kind": "holiday", "name": "元旦"}, {"date": "2031-01-04", "kind": "workday", "name": "调休"}}}
	r = env.Do(apitest.Req{Method: http.MethodPut, Path: "/api/v1/calendar/2031", Token: admin, Body: year})
	apitest.Expect(t, r, http.StatusOK)
	apitest.Expect(t, env.Get("/api/v1/calendar/2031", agent), http.StatusOK)

	for _, bad := range []struct {
		name  string
		days  []map[string]string
		field string
	}{
		{"make-up day on a weekday", []map[string]string{{"date": "2031-01-06", "kind": "workday"}}, "days[0].kind"},
		{"day of another year", []map[string]string{{"date": "2030-12-31", "kind": "holiday"}}, "days[0].date"},
		{"twice", []map[string]string{{"date": "2031-01-01", "kind": "holiday"}, {"date": "2031-01-01", "kind": "holiday"}}, "days[1].date"},
		{"not a date", []map[string]string{{"date": "2031-02-30", "kind": "holiday"}}, "days[0].date"},
	} {
		r := env.Do(apitest.Req{Method: http.MethodPut, Path: "/api/v1/calendar/2031", Token: admin, Body: map[string]any{"days": bad.days}, Raw: true})
		apitest.Expect(t, r, http.StatusUnprocessableEntity)
		if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != bad.field {
			t.Errorf("%s: errors %+v, want field %q", bad.name, p.Errors, bad.field)
		}
	}
	apitest.Expect(t, env.Do(apitest.Req{Method: http.MethodPut, Path: "/api/v1/calendar/2031", Token: agent, Body: year}), http.StatusForbidden)
	r = env.Get("/api/v1/calendar/2031", agent)
	if !strings.Contains(string(r.Body), `"2031-01-04"`) {
		t.Errorf("a refused PUT changed the year: %s", r.Body)
	}
}

func TestSecurityHeadersAndCORS(t *testing.T) {
	env := apitest.New(t)
	r := env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/catalog/items", Header: map[string]string{"Origin": "https://evil.example"}})
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("no CSP: %q", r.Header.Get("Content-Security-Policy"))
	}
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("CORS is on by default: %q", got)
	}
	env = apitest.New(t, apitest.Options{CORS: []string{"https://console.example"}})
	r = env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/catalog/items", Header: map[string]string{"Origin": "https://console.example"}})
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://console.example" {
		t.Errorf("a configured origin gets %q", got)
	}
	r = env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/catalog/items", Header: map[string]string{"Origin": "https://evil.example"}})
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("another origin gets %q", got)
	}
}
