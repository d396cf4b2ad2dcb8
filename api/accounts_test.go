package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"daiban/internal/apitest"
	"daiban/service"
)

func login(env *apitest.Env, username, password string) *apitest.Response {
	env.T.Helper()
	return env.Post("/api/v1/auth/login", "", map[string]string{"username": username, "password": password})
}

func token(t *testing.T, r *apitest.Response) string {
	t.Helper()
	apitest.Expect(t, r, http.StatusOK)
	var out struct {
		Token string `json:"token"`
	}
	r.JSON(t, &out)
	return out.Token
}

func expectProblem(t *testing.T, r *apitest.Response, status int, code string, fields ...string) {
	t.Helper()
	apitest.Expect(t, r, status)
	p := r.Problem(t)
	if p.Code != code {
		t.Errorf("problem code %q, want %q (%s)", p.Code, code, p.Detail)
	}
	for _, f := range fields {
		found := false
		for _, e := range p.Errors {
			found = found || e.Field == f
		}
		if !found {
			t.Errorf("problem %s does not name the field %q: %+v", code, f, p.Errors)
		}
	}
}

// TestPasswordChangeOwn: every role changes its own password with the
// current one; the session that changed it stays open, the account's other
// sessions end, the old password no longer signs in and the new one does.
func TestPasswordChangeOwn(t *testing.T) {
	env := apitest.New(t)
	for _, u := range []string{"ag1a", "tw1", "city", "super", "admin"} {
		t.Run(u, func(t *testing.T) {
			here, there := env.Login(u), env.Login(u)
			r := env.Post("/api/v1/auth/password", here, map[string]string{"current_password": apitest.Password, "new_password": "new-pass-" + u})
			apitest.Expect(t, r, http.StatusNoContent)
			apitest.Expect(t, env.Get("/api/v1/auth/me", here), http.StatusOK)
			expectProblem(t, env.Get("/api/v1/auth/me", there), http.StatusUnauthorized, "invalid_token")
			expectProblem(t, login(env, u, apitest.Password), http.StatusUnauthorized, "bad_credentials")
			token(t, login(env, u, "new-pass-"+u))
		})
	}
	// Recorded as done by the user.
	evs, err := env.Store.AccountEvents(context.Background(), env.F.Users["tw1"].ID, 10)
	if err != nil || len(evs) != 2 || evs[0].Action != service.AccountPasswordChanged || evs[0].ActorID != env.F.Users["tw1"].ID {
		t.Errorf("tw1's account events: %+v %v; want password_changed by tw1, then created", evs, err)
	}
}

// TestPasswordChangeBadInput: each broken rule is a 422 naming its field
// and stating the rule, and the password stays as it was.
func TestPasswordChangeBadInput(t *testing.T) {
	env := apitest.New(t)
	tok := env.Login("ag1a")
	for _, c := range []struct {
		name      string
		body      map[string]string
		status    int
		code      string
		field     string
		wantWords string
	}{
		{"short", map[string]string{"current_password": apitest.Password, "new_password": "short"}, 422, "validation_failed", "new_password", "8 to 72 bytes"},
		{"73 bytes", map[string]string{"current_password": apitest.Password, "new_password": strings.Repeat("a", 73)}, 422, "validation_failed", "new_password", "8 to 72 bytes"},
		{"25 Chinese characters are 75 bytes", map[string]string{"current_password": apitest.Password, "new_password": strings.Repeat("密", 25)}, 422, "validation_failed", "new_password", "8 to 72 bytes"},
		{"same as now", map[string]string{"current_password": apitest.Password, "new_password": apitest.Password}, 422, "validation_failed", "new_password", "must differ"},
		{"wrong current", map[string]string{"current_password": "not-the-password", "new_password": "a-new-password"}, 422, "validation_failed", "current_password", "does not match"},
		{"no current", map[string]string{"new_password": "a-new-password"}, 422, "validation_failed", "current_password", "required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := env.Do(apitest.Req{Method: "POST", Path: "/api/v1/auth/password", Token: tok, Body: c.body, Raw: true})
			expectProblem(t, r, c.status, c.code, c.field)
			if !strings.Contains(string(r.Body), c.wantWords) {
				t.Errorf("the problem does not state the rule %q: %s", c.wantWords, r.Body)
			}
		})
	}
	// 24 Chinese characters are 72 bytes: allowed.
	r := env.Post("/api/v1/auth/password", tok, map[string]string{"current_password": apitest.Password, "new_password": strings.Repeat("密", 24)})
	apitest.Expect(t, r, http.StatusNoContent)
	token(t, login(env, "ag1a", strings.Repeat("密", 24)))
	apitest.Expect(t, env.Post("/api/v1/auth/password", "", map[string]string{"current_password": "x", "new_password": "yyyyyyyy"}), http.StatusUnauthorized)
}

// TestPasswordChangeGuessing: wrong current passwords share the sign-in
// budget of the username, so an open session cannot be used to guess it.
func TestPasswordChangeGuessing(t *testing.T) {
	env := apitest.New(t)
	tok := env.Login("ag1b")
	for i := range 5 {
		r := env.Post("/api/v1/auth/password", tok, map[string]string{"current_password": "guess-" + string(rune('a'+i)), "new_password": "a-new-password"})
		expectProblem(t, r, http.StatusUnprocessableEntity, "validation_failed", "current_password")
	}
	r := env.Post("/api/v1/auth/password", tok, map[string]string{"current_password": apitest.Password, "new_password": "a-new-password"})
	expectProblem(t, r, http.StatusTooManyRequests, "too_many_attempts")
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

// TestResetLiftsLockout: a user locked out by wrong passwords signs in
// with the password an admin resets, at once.
func TestResetLiftsLockout(t *testing.T) {
	env := apitest.New(t)
	for range 5 {
		expectProblem(t, login(env, "tw2", "wrong-password"), http.StatusUnauthorized, "bad_credentials")
	}
	expectProblem(t, login(env, "tw2", apitest.Password), http.StatusTooManyRequests, "too_many_attempts")
	r := env.Post("/api/v1/users/"+env.F.Users["tw2"].ID+"/reset-password", env.Login("admin"), nil)
	apitest.Expect(t, r, http.StatusOK)
	password, _ := r.Map(t)["password"].(string)
	apitest.Expect(t, login(env, "tw2", password), http.StatusOK)
}

// TestPasswordResetByAdmin: the admin gets a generated password once; the
// user's sessions end; signing in with it gives a token that may only
// change the password (403 password_change_required elsewhere); once
// changed, everything works again.
func TestPasswordResetByAdmin(t *testing.T) {
	env := apitest.New(t)
	admin := env.Login("admin")
	old := env.Login("tw1")
	id := env.F.Users["tw1"].ID

	r := env.Post("/api/v1/users/"+id+"/reset-password", admin, nil)
	apitest.Expect(t, r, http.StatusOK)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var reset struct {
		User struct {
			Username           string `json:"username"`
			MustChangePassword bool   `json:"must_change_password"`
		} `json:"user"`
		Password string `json:"password"`
	}
	r.JSON(t, &reset)
	if reset.User.Username != "tw1" || !reset.User.MustChangePassword || len(reset.Password) != 12 {
		t.Fatalf("reset answered %+v", reset)
	}
	expectProblem(t, env.Get("/api/v1/auth/me", old), http.StatusUnauthorized, "invalid_token")
	expectProblem(t, login(env, "tw1", apitest.Password), http.StatusUnauthorized, "bad_credentials")

	lr := login(env, "tw1", reset.Password)
	if !strings.Contains(string(lr.Body), `"must_change_password":true`) {
		t.Errorf("the sign-in does not say the password must change: %s", lr.Body)
	}
	tok := token(t, lr)
	for _, path := range []string{"/api/v1/errands", "/api/v1/orgs", "/api/v1/supervision/warnings", "/api/v1/calendar/2026"} {
		r := env.Get(path, tok)
		expectProblem(t, r, http.StatusForbidden, "password_change_required")
		if !strings.Contains(r.Problem(t).Detail, "/api/v1/auth/password") {
			t.Errorf("%s: the problem does not say where to change it: %s", path, r.Body)
		}
	}
	me := env.Get("/api/v1/auth/me", tok)
	apitest.Expect(t, me, http.StatusOK)
	if !strings.Contains(string(me.Body), `"must_change_password":true`) {
		t.Errorf("me: %s", me.Body)
	}
	apitest.Expect(t, env.Post("/api/v1/auth/password", tok, map[string]string{"current_password": reset.Password, "new_password": "my-own-password"}), http.StatusNoContent)
	apitest.Expect(t, env.Get("/api/v1/errands", tok), http.StatusOK)
	if me := env.Get("/api/v1/auth/me", tok); !strings.Contains(string(me.Body), `"must_change_password":false`) {
		t.Errorf("after the change, me: %s", me.Body)
	}
	// A fresh sign-in is not held either.
	apitest.Expect(t, env.Get("/api/v1/errands", token(t, login(env, "tw1", "my-own-password"))), http.StatusOK)

	evs, err := env.Store.AccountEvents(context.Background(), id, 10)
	if err != nil || len(evs) != 3 || evs[1].Action != service.AccountPasswordReset || evs[1].ActorID != env.F.Users["admin"].ID || !strings.Contains(evs[1].ActorName, "admin") {
		t.Errorf("tw1's account events: %+v %v; want changed, reset by admin, created", evs, err)
	}

	// Two resets give two different passwords; others may not reset; an unknown user is 404.
	a := env.Post("/api/v1/users/"+id+"/reset-password", admin, nil).Map(t)["password"]
	b := env.Post("/api/v1/users/"+id+"/reset-password", admin, nil).Map(t)["password"]
	if a == b {
		t.Errorf("two resets gave the same password %v", a)
	}
	expectProblem(t, env.Post("/api/v1/users/"+id+"/reset-password", env.Login("super"), nil), http.StatusForbidden, "forbidden")
	expectProblem(t, env.Post("/api/v1/users/0190a0b0-0000-7000-8000-000000000000/reset-password", admin, nil), http.StatusNotFound, "not_found")
}

// TestDisableUser: disabling ends the user's sessions at once; the right
// password then gets 403 account_disabled (a wrong one the usual 401);
// re-enabling lets them sign in again. An admin cannot disable themselves.
func TestDisableUser(t *testing.T) {
	env := apitest.New(t)
	admin := env.Login("admin")
	id := env.F.Users["ag1a"].ID
	s1, s2 := env.Login("ag1a"), env.Login("ag1a")

	r := env.Post("/api/v1/users/"+id+"/disable", admin, nil)
	apitest.Expect(t, r, http.StatusOK)
	if r.Map(t)["active"] != false {
		t.Errorf("after disable: %s", r.Body)
	}
	for _, s := range []string{s1, s2} {
		expectProblem(t, env.Get("/api/v1/errands", s), http.StatusUnauthorized, "invalid_token")
	}
	lr := login(env, "ag1a", apitest.Password)
	expectProblem(t, lr, http.StatusForbidden, "account_disabled")
	if !strings.Contains(lr.Problem(t).Detail, "administrator") {
		t.Errorf("the refusal does not say whom to ask: %s", lr.Body)
	}
	expectProblem(t, login(env, "ag1a", "wrong-password"), http.StatusUnauthorized, "bad_credentials")

	list := env.Get("/api/v1/users?q=ag1a", admin)
	apitest.Expect(t, list, http.StatusOK)
	if !strings.Contains(string(list.Body), `"active":false`) {
		t.Errorf("the list does not show ag1a disabled: %s", list.Body)
	}

	r = env.Post("/api/v1/users/"+id+"/enable", admin, nil)
	apitest.Expect(t, r, http.StatusOK)
	if r.Map(t)["active"] != true {
		t.Errorf("after enable: %s", r.Body)
	}
	apitest.Expect(t, env.Get("/api/v1/errands", token(t, login(env, "ag1a", apitest.Password))), http.StatusOK)

	expectProblem(t, env.Post("/api/v1/users/"+env.F.Users["admin"].ID+"/disable", admin, nil), http.StatusConflict, "cannot_disable_self")
	apitest.Expect(t, env.Get("/api/v1/auth/me", admin), http.StatusOK)
	for _, who := range []string{"ag1a2", "tw1", "super"} {
		expectProblem(t, env.Post("/api/v1/users/"+id+"/disable", env.Login(who), nil), http.StatusForbidden, "forbidden")
	}
	expectProblem(t, env.Post("/api/v1/users/"+id+"/disable", "", nil), http.StatusUnauthorized, "unauthenticated")

	evs, err := env.Store.AccountEvents(context.Background(), id, 10)
	if err != nil || len(evs) != 3 || evs[0].Action != service.AccountEnabled || evs[1].Action != service.AccountDisabled || evs[1].ActorID != env.F.Users["admin"].ID {
		t.Errorf("ag1a's account events: %+v %v; want enabled, disabled by admin, created", evs, err)
	}
}

// TestLoginLockoutSaysHowLong: the sixth wrong password in a window is
// refused with the minutes left of the real window.
func TestLoginLockoutSaysHowLong(t *testing.T) {
	env := apitest.New(t)
	for range 5 {
		expectProblem(t, login(env, "tw2", "wrong-password"), http.StatusUnauthorized, "bad_credentials")
	}
	r := login(env, "tw2", apitest.Password)
	expectProblem(t, r, http.StatusTooManyRequests, "too_many_attempts")
	if d := r.Problem(t).Detail; !strings.Contains(d, "try again in 15 minutes") {
		t.Errorf("detail %q does not say 15 minutes", d)
	}
	env.Clock.Advance(10*time.Minute + 30*time.Second)
	r = login(env, "tw2", apitest.Password)
	if d := r.Problem(t).Detail; !strings.Contains(d, "try again in 5 minutes") {
		t.Errorf("after 10.5 minutes, detail %q does not say 5 minutes", d)
	}
	if r.Header.Get("Retry-After") != "270" {
		t.Errorf("Retry-After %q, want 270", r.Header.Get("Retry-After"))
	}
	env.Clock.Advance(5 * time.Minute)
	token(t, login(env, "tw2", apitest.Password))
}

// TestUserSearchAndPaging: q finds part of a username or display name
// (LIKE characters match themselves); the pages walk to the end.
func TestUserSearchAndPaging(t *testing.T) {
	env := apitest.New(t)
	admin := env.Login("admin")
	names := func(path string) []string {
		t.Helper()
		r := env.Get(path, admin)
		apitest.Expect(t, r, http.StatusOK)
		var page struct {
			Items []struct {
				Username string `json:"username"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		r.JSON(t, &page)
		var out []string
		for _, u := range page.Items {
			out = append(out, u.Username)
		}
		if page.NextCursor != nil {
			out = append(out, "→"+*page.NextCursor)
		}
		return out
	}
	for q, want := range map[string]string{
		"ag1":    "ag1a ag1a2 ag1b",
		"甲镇":     "tw1",
		"代办员二":   "ag1a2",
		"%":      "",
		"_":      "",
		"AG1B":   "ag1b",
		"nobody": "",
	} {
		if got := strings.Join(names("/api/v1/users?q="+url.QueryEscape(q)), " "); got != want {
			t.Errorf("q=%s: %q, want %q", q, got, want)
		}
	}
	// Walk every user two at a time.
	var all []string
	path := "/api/v1/users?limit=2"
	for range 20 {
		got := names(path)
		if n := len(got); n > 0 && strings.HasPrefix(got[n-1], "→") {
			all = append(all, got[:n-1]...)
			path = "/api/v1/users?limit=2&cursor=" + strings.TrimPrefix(got[n-1], "→")
			continue
		}
		all = append(all, got...)
		break
	}
	if len(all) != len(env.F.Users) {
		t.Errorf("walked %d users (%v), want %d", len(all), all, len(env.F.Users))
	}
	expectProblem(t, env.Do(apitest.Req{Method: "GET", Path: "/api/v1/users?q=" + strings.Repeat("x", 41), Token: admin, Raw: true}), http.StatusBadRequest, "invalid_parameter", "q")
}

// TestAccountHistory: an admin reads what was done to an account, newest
// first, with who did it; nobody else may, and an unknown user is 404.
func TestAccountHistory(t *testing.T) {
	env := apitest.New(t)
	admin := env.Login("admin")
	id := env.F.Users["tw1"].ID
	apitest.Expect(t, env.Post("/api/v1/users/"+id+"/reset-password", admin, nil), http.StatusOK)
	apitest.Expect(t, env.Post("/api/v1/users/"+id+"/disable", admin, nil), http.StatusOK)
	apitest.Expect(t, env.Post("/api/v1/users/"+id+"/enable", admin, nil), http.StatusOK)
	var page struct {
		Items []struct {
			Action, Label string
			ActorName     string `json:"actor_name"`
		}
	}
	env.Get("/api/v1/users/"+id+"/events", admin).JSON(t, &page)
	var got []string
	for _, e := range page.Items {
		got = append(got, e.Action+" "+e.Label)
		if e.Action != "created" && !strings.Contains(e.ActorName, "admin") {
			t.Errorf("%s by %q", e.Action, e.ActorName)
		}
	}
	// The fixture creates its accounts as the command line does.
	if strings.Join(got, ", ") != "enabled 启用, disabled 停用, password_reset 重置密码, created 新建账号" {
		t.Errorf("history %v", got)
	}
	expectProblem(t, env.Get("/api/v1/users/"+id+"/events", env.Login("super")), http.StatusForbidden, "forbidden")
	expectProblem(t, env.Get("/api/v1/users/0190a0b0-0000-7000-8000-000000000000/events", admin), http.StatusNotFound, "not_found")
}
