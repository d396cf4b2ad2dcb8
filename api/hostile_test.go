package api_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"daiban/internal/apitest"
	"daiban/service"
)

// The attacker's checks of issue 17, kept so they stay fixed.

// from sends r as the client at addr (the test server trusts X-Forwarded-For).
func from(env *apitest.Env, addr string, r apitest.Req) *apitest.Response {
	env.T.Helper()
	if r.Header == nil {
		r.Header = map[string]string{}
	}
	r.Header["X-Forwarded-For"] = addr
	return env.Do(r)
}

func signIn(env *apitest.Env, addr, username, password string) *apitest.Response {
	env.T.Helper()
	return from(env, addr, apitest.Req{Method: http.MethodPost, Path: "/api/v1/auth/login",
		Body: map[string]string{"username": username, "password": password}})
}

// TestSignInBurst: 199 wrong passwords for one account sent at once from one
// client to two instances on one database, then the right one. At most five
// reach the password check; everything else, the right password too, is
// refused with 429 and Retry-After. Once the window has passed the holder
// signs in.
func TestSignInBurst(t *testing.T) {
	env := apitest.New(t)
	twin := env.Twin()
	const n = 200
	got := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := []*apitest.Env{env, twin}[i%2].Post("/api/v1/auth/login", "", map[string]string{"username": "ag1b", "password": fmt.Sprintf("guess-%03d", i)})
			if r.Status == http.StatusTooManyRequests && (r.Header.Get("Retry-After") == "" || r.Problem(t).Code != "too_many_attempts") {
				t.Errorf("a 429 without Retry-After or code: %s", r.Body)
			}
			mu.Lock()
			got[r.Status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	right := env.Post("/api/v1/auth/login", "", map[string]string{"username": "ag1b", "password": apitest.Password})
	got[right.Status]++
	t.Logf("%d sign-ins for one account from one client over two instances: answers by status %v", n, got)
	if got[http.StatusUnauthorized] > 5 || got[http.StatusOK] != 0 || got[http.StatusTooManyRequests] != n-got[http.StatusUnauthorized] {
		t.Errorf("answers by status %v; want at most 5 checked (401), none signed in, the rest 429", got)
	}
	env.Clock.Advance(16 * time.Minute)
	apitest.Expect(t, env.Post("/api/v1/auth/login", "", map[string]string{"username": "ag1b", "password": apitest.Password}), http.StatusOK)
}

// TestPasswordSpray: one client tries a wrong password on 60 usernames. The
// first 20 are checked, the other 40 refused; a client at another address
// signs in meanwhile, and an IPv6 client shares its /64's budget.
func TestPasswordSpray(t *testing.T) {
	env := apitest.New(t, apitest.Options{TrustProxy: true})
	got := map[int]int{}
	for i := range 60 {
		name := fmt.Sprintf("user%02d", i)
		if i%3 == 0 {
			name = []string{"ag1a", "ag1b", "tw1", "super", "admin"}[i/3%5]
		}
		r := signIn(env, "198.51.100.7", name, "Winter2026!")
		if i < 20 && r.Status != http.StatusUnauthorized || i >= 20 && r.Status != http.StatusTooManyRequests {
			t.Fatalf("attempt %d (%s): %d %s", i, name, r.Status, r.Body)
		}
		got[r.Status]++
	}
	t.Logf("60 usernames from one client: answers by status %v", got)
	apitest.Expect(t, signIn(env, "198.51.100.8", "ag1a", apitest.Password), http.StatusOK)
	apitest.Expect(t, signIn(env, "198.51.100.7", "ag1a", apitest.Password), http.StatusTooManyRequests)

	for i := range 20 {
		apitest.Expect(t, signIn(env, fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("v6user%02d", i), "Winter2026!"), http.StatusUnauthorized)
	}
	apitest.Expect(t, signIn(env, "2001:db8:1:2:ffff::1", "v6user99", "Winter2026!"), http.StatusTooManyRequests)
	apitest.Expect(t, signIn(env, "2001:db8:1:3::1", "v6user99", "Winter2026!"), http.StatusUnauthorized)
}

// TestLookupStrangerCannotLockHolder: a stranger sends 50 wrong codes for a
// receipt. Five are checked, the rest refused, the right code too; the
// holder, at another address, reads the receipt at once, even after a typo
// of their own.
func TestLookupStrangerCannotLockHolder(t *testing.T) {
	env := apitest.New(t, apitest.Options{TrustProxy: true})
	e := register(t, env, env.Login("ag1a"), env.F.ItemTownship)
	code := *e.VerifyCode
	lookup := func(addr, code string) *apitest.Response {
		return from(env, addr, apitest.Req{Method: http.MethodGet, Path: "/api/v1/public/receipts/" + e.ReceiptNo + "?code=" + code})
	}
	got := map[int]int{}
	for i := range 50 {
		guess := fmt.Sprintf("%06d", (i*7919+13)%1_000_000)
		if guess == code {
			continue
		}
		r := lookup("203.0.113.9", guess)
		if i < 5 && r.Status != http.StatusNotFound || i >= 5 && (r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "") {
			t.Fatalf("stranger's guess %d: %d %s", i, r.Status, r.Body)
		}
		got[r.Status]++
	}
	apitest.Expect(t, lookup("203.0.113.9", code), http.StatusTooManyRequests)
	apitest.Expect(t, lookup("198.51.100.20", code), http.StatusOK)
	apitest.Expect(t, lookup("198.51.100.21", "000000"), http.StatusNotFound)
	apitest.Expect(t, lookup("198.51.100.21", code), http.StatusOK)
	t.Logf("a stranger's 50 wrong codes: answers by status %v; the holder was answered at once", got)
}

// TestLookupBudgetAcrossInstances: one client guesses codes of 200 receipt
// numbers, alternating between two instances on one database. Twenty
// guesses are checked in all, not twenty per instance.
func TestLookupBudgetAcrossInstances(t *testing.T) {
	env := apitest.New(t)
	twin := env.Twin()
	got := map[int]int{}
	for i := range 200 {
		no := service.FormatReceiptNo(env.Clock.Now(), int64(1000+i))
		r := []*apitest.Env{env, twin}[i%2].Get(fmt.Sprintf("/api/v1/public/receipts/%s?code=%06d", no, i), "")
		got[r.Status]++
	}
	t.Logf("200 guesses over two instances: answers by status %v", got)
	if got[http.StatusNotFound] != 20 || got[http.StatusTooManyRequests] != 180 {
		t.Errorf("answers by status %v; want 20 checked (404) and 180 refused (429)", got)
	}
}

// TestBadTextEverywhere: text that is not UTF-8, or holds NUL, in a path,
// query, header or form is a 400 naming the parameter (a NUL path is a
// 404) on every engine, before it reaches the database; nothing is written.
func TestBadTextEverywhere(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	for _, c := range []struct {
		method, path, token string
		header              map[string]string
		body                string
		want                int
		field               string
	}{
		{method: "GET", path: "/api/v1/catalog/items/%FF", want: 400, field: "code"},
		{method: "GET", path: "/api/v1/catalog/items/%C3%28", want: 400, field: "code"},
		{method: "GET", path: "/api/v1/catalog/items/%00", want: 404},
		{method: "GET", path: "/api/v1/catalog/items?category=%FF", want: 400, field: "category"},
		{method: "GET", path: "/api/v1/catalog/items?category=%00", want: 400, field: "category"},
		{method: "GET", path: "/api/v1/catalog/items?%FF=1", want: 400, field: "?"},
		{method: "GET", path: "/api/v1/public/receipts/%FF?code=123456", want: 400, field: "receipt_no"},
		{method: "GET", path: "/api/v1/public/receipts/ABC?code=%FF", want: 400, field: "code"},
		{method: "GET", path: "/api/v1/errands/%FF", token: agent, want: 400, field: "id"},
		{method: "GET", path: "/api/v1/errands?item=%FF", token: agent, want: 400, field: "item"},
		{method: "GET", path: "/api/v1/orgs?parent_id=%E0%80%80", token: agent, want: 400, field: "parent_id"},
		{method: "GET", path: "/api/v1/catalog/items", header: map[string]string{"X-Note": "\xff"}, want: 400, field: "X-Note"},
		{method: "GET", path: "/api/v1/auth/me", token: agent, header: map[string]string{"Accept-Language": "zh\xfe"}, want: 400, field: "Accept-Language"},
		{method: "POST", path: "/api/v1/errands", token: agent, header: map[string]string{"Idempotency-Key": "k\xff"}, body: `{}`, want: 400, field: "Idempotency-Key"},
		{method: "POST", path: "/api/v1/auth/login", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "username=%FF&password=x", want: 400, field: "username"},
		{method: "POST", path: "/api/v1/auth/login", body: "{\"username\":\"\xff\",\"password\":\"x\"}", want: 400},
	} {
		before := rowCounts(t, env, tableNames(t, env))
		req := apitest.Req{Method: c.method, Path: c.path, Token: c.token, Header: c.header, Raw: true}
		if c.body != "" {
			req.Body = c.body
		}
		r := env.Do(req)
		if r.Status != c.want {
			t.Errorf("%s %s %v: %d, want %d: %s", c.method, c.path, c.header, r.Status, c.want, r.Body)
			continue
		}
		if c.field != "" {
			if p := r.Problem(t); len(p.Errors) != 1 || p.Errors[0].Field != c.field || p.Code != "invalid_parameter" {
				t.Errorf("%s %s: %s, want invalid_parameter naming %q", c.method, c.path, r.Body, c.field)
			}
		}
		if after := rowCounts(t, env, tableNames(t, env)); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("%s %s changed the database: %v → %v", c.method, c.path, before, after)
		}
	}
}

// TestCSVFormulaCells: names an admin typed that a spreadsheet would run as
// formulas reach the ledger and statistics CSV with a leading apostrophe.
func TestCSVFormulaCells(t *testing.T) {
	env := apitest.New(t)
	admin := service.Actor{Role: service.RoleAdmin}
	evil := []string{`=HYPERLINK("http://evil.example","点我")`, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)"}
	for i, name := range evil {
		it, err := env.Svc.CreateItem(t.Context(), admin, service.ItemInput{Code: fmt.Sprintf("EV%d", i), Name: name, Category: "shehui",
			Level: service.LevelTownship, Materials: apitest.TownshipMaterials, TimeLimitDays: 5})
		if err != nil {
			t.Fatal(err)
		}
		register(t, env, env.Login("ag1a"), it)
	}
	tw1, super := env.Login("tw1"), env.Login("super")
	for _, path := range []string{
		"/api/v1/orgs/" + env.F.V1a.ID + "/ledger?month=2026-03&format=csv",
		"/api/v1/stats/completion?from=2026-03-01&to=2026-03-31&group_by=item&format=csv",
	} {
		token := tw1
		if strings.Contains(path, "stats") {
			token = super
		}
		r := env.Get(path, token)
		apitest.Expect(t, r, http.StatusOK)
		rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
					if _, err := strconv.ParseFloat(cell, 64); err != nil {
						t.Errorf("%s: a cell a spreadsheet runs: %q", path, cell)
					}
				}
				for _, name := range evil {
					if cell == "'"+name {
						seen++
					}
				}
			}
		}
		if seen < len(evil) {
			t.Errorf("%s: %d of %d names found neutralised:\n%s", path, seen, len(evil), r.Body)
		}
	}
}

// TestStatusLinkIgnoresHost: without a configured public URL, the printed
// status link and its QR code name the address the connection reached,
// never a Host header the client made up.
func TestStatusLinkIgnoresHost(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	e := register(t, env, agent, env.F.ItemTownship)
	req, _ := http.NewRequest(http.MethodGet, env.Server.URL+"/api/v1/errands/"+e.ID+"/form", nil)
	req.Host = "evil.example"
	req.Header.Set("Authorization", "Bearer "+agent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "evil.example") || !strings.Contains(string(body), env.Server.URL+"/q/"+e.ReceiptNo) {
		t.Errorf("form with Host evil.example: %d, names evil.example: %v, names %s/q/…: %v", resp.StatusCode,
			strings.Contains(string(body), "evil.example"), env.Server.URL, strings.Contains(string(body), env.Server.URL+"/q/"+e.ReceiptNo))
	}
}

// TestInvisibleCharactersRefused: names, addresses, notes and reasons that
// hold right-to-left overrides, zero-width characters or byte-order marks
// are refused with 422 naming the field; nothing is stored.
func TestInvisibleCharactersRefused(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	for _, bad := range []string{"张\u202e三", "张\u200b三", "\ufeff张三", "张\u200d三", "张\u2066三\u2069", "张\u00ad三", "张\u2028三"} {
		for _, field := range []string{"name", "address", "note"} {
			body := apitest.Registration(env.F.ItemTownship)
			if field == "note" {
				body["note"] = bad
			} else {
				body["applicant"].(map[string]any)[field] = bad
			}
			r := env.Post("/api/v1/errands", agent, body)
			want := field
			if field != "note" {
				want = "applicant." + field
			}
			if p := r.Problem(t); r.Status != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Field != want {
				t.Errorf("%s %+q: %d %s", field, bad, r.Status, r.Body)
			}
		}
	}
	e := register(t, env, agent, env.F.ItemTownship)
	r := env.Post("/api/v1/errands/"+e.ID+"/withdraw", agent, map[string]any{"version": e.Version, "reason": "申请人\u202e撤回"})
	if p := r.Problem(t); r.Status != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Field != "reason" {
		t.Errorf("reason with U+202E: %d %s", r.Status, r.Body)
	}
}

// TestProblemsInChinese: a client that prefers Chinese gets the problem's
// detail and field messages from the service's Chinese catalogue (the code
// and field names stay for programs); one that says nothing, or prefers
// English, gets English.
func TestProblemsInChinese(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	bad := apitest.Registration(env.F.ItemTownship)
	bad["applicant"].(map[string]any)["phone"] = "12345"
	send := func(lang string) *apitest.Response {
		h := map[string]string{}
		if lang != "" {
			h["Accept-Language"] = lang
		}
		return env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: agent, Body: bad, Header: h})
	}
	zh := send("zh-CN,zh;q=0.9,en;q=0.8")
	apitest.Expect(t, zh, http.StatusUnprocessableEntity)
	p := zh.Problem(t)
	if p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != "applicant.phone" ||
		!strings.Contains(p.Errors[0].Message, "请填写11位手机号码") || !strings.Contains(p.Detail, "联系电话") ||
		zh.Header.Get("Content-Language") != "zh-CN" {
		t.Errorf("in Chinese: %s (Content-Language %q)", zh.Body, zh.Header.Get("Content-Language"))
	}
	for _, lang := range []string{"", "en-US,en;q=0.9,zh;q=0.5", "fr"} {
		en := send(lang)
		if p := en.Problem(t); len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Message, "11-digit mobile number") || en.Header.Get("Content-Language") != "" {
			t.Errorf("Accept-Language %q: %s", lang, en.Body)
		}
	}
	r := env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/public/receipts/" + service.FormatReceiptNo(env.Clock.Now(), 99) + "?code=123456",
		Header: map[string]string{"Accept-Language": "zh"}})
	apitest.Expect(t, r, http.StatusNotFound)
	if p := r.Problem(t); p.Code != "receipt_not_found" || !strings.Contains(p.Detail, "请对照回执核对") {
		t.Errorf("a wrong receipt in Chinese: %s", r.Body)
	}
}

// TestProblemFieldCodes: each entry of a problem's errors carries the
// service's stable code for what is wrong, the same whatever the language
// of its message, whether the service or the request's shape check found it.
func TestProblemFieldCodes(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	bad := apitest.Registration(env.F.ItemTownship)
	id := []byte(apitest.ValidID)
	id[17] = "0123456789X"[(strings.IndexByte("0123456789X", id[17])+1)%11] // a wrong check character
	bad["applicant"].(map[string]any)["id_number"] = string(id)
	for lang, want := range map[string]string{"": "the last character of the ID number", "zh-CN": "身份证号码校验位不符"} {
		r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: agent, Body: bad, Header: map[string]string{"Accept-Language": lang}})
		apitest.Expect(t, r, http.StatusUnprocessableEntity)
		p := r.Problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Field != "applicant.id_number" || p.Errors[0].Code != "id_number_checksum" ||
			!strings.Contains(p.Errors[0].Message, want) {
			t.Errorf("Accept-Language %q: %s, want errors[0].code id_number_checksum and a message with %q", lang, r.Body, want)
		}
	}

	noName := apitest.Registration(env.F.ItemTownship)
	delete(noName["applicant"].(map[string]any), "name")
	r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: agent, Body: noName, Raw: true})
	if p := r.Problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "applicant.name" || p.Errors[0].Code != "required" {
		t.Errorf("no name: %d %s, want errors[0].code required", r.Status, r.Body)
	}
}

// TestHTTPProblemsInChinese: the HTTP layer's own problems (a body it
// cannot read, a route it lacks) have a Chinese detail too.
func TestHTTPProblemsInChinese(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	zh := map[string]string{"Accept-Language": "zh-CN"}
	r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: agent, Body: "{", Header: zh, Raw: true})
	if p := r.Problem(t); p.Code != "malformed_json" || p.Detail != service.ZhCode("malformed_json") {
		t.Errorf("malformed JSON in Chinese: %d %s", r.Status, r.Body)
	}
	r = env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/no-such-route", Token: agent, Header: zh, Raw: true})
	if p := r.Problem(t); p.Code != "route_not_found" || p.Detail != service.ZhCode("route_not_found") {
		t.Errorf("no such route in Chinese: %d %s", r.Status, r.Body)
	}
}
