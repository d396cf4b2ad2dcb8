package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"daiban/internal/apitest"
)

// TestRedirectStaysOnSite: after sign-in, next goes only to a path of this
// site; every vector that browsers read as another host goes home.
func TestRedirectStaysOnSite(t *testing.T) {
	env := newEnv(t)
	bad := []string{"/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/ /evil.example", "/\x0b/evil.example",
		"//evil.example", "///evil.example", "/\\evil.example", "/\\/evil.example", "\\\\evil.example", "https://evil.example/",
		"http:/evil.example", "javascript:alert(1)", " /evil.example", "/.\t/evil.example", "/\u202e/elpmaxe.live", "/\u3000/evil.example",
		"evil.example", ""}
	for _, next := range bad {
		b := newBrowser(t, env)
		b.get("/login")
		p := b.post("/login", url.Values{"username": {"ag1a"}, "password": {apitest.Password}, "next": {next}})
		if p.Status != http.StatusSeeOther || p.Location != "/" {
			t.Errorf("next %q: %d to %q, want 303 to /", next, p.Status, p.Location)
		}
		// The page that carries next to the form drops it as well.
		if page := b.get("/login?next=" + url.QueryEscape(next)); strings.Contains(page.Body, "evil") {
			t.Errorf("the sign-in page carries next %q on", next)
		}
	}
	// The issue's own vector, as raw as it came.
	b := newBrowser(t, env)
	if page := b.get("/login?next=/%09/evil.example"); page.Status != http.StatusOK || strings.Contains(page.Body, "evil") {
		t.Errorf("/login?next=/%%09/evil.example: %d, carries next on: %v", page.Status, strings.Contains(page.Body, "evil"))
	}
	for _, next := range []string{"/errands?tab=all", "/errands/0193b4c2-0000-7000-8000-000000000000", "/dashboard?from=2026-03-01&to=2026-03-31"} {
		b := newBrowser(t, env)
		b.get("/login")
		if p := b.post("/login", url.Values{"username": {"ag1a"}, "password": {apitest.Password}, "next": {next}}); p.Location != next {
			t.Errorf("next %q went to %q", next, p.Location)
		}
	}
}

// TestConsoleBadText: NUL and text that is not UTF-8 in a console path,
// query or form is a 4xx page, never a 500.
func TestConsoleBadText(t *testing.T) {
	env := newEnv(t)
	b := newBrowser(t, env)
	for path, want := range map[string]int{
		"/q/%00": 404, "/q/%FF": 400, "/q/ABC?code=%FF": 400, "/login?next=%00": 400, "/login?next=%FF": 400,
		"/login?next=/%00": 400, "/errands/%FF": 400,
	} {
		if p := b.get(path); p.Status != want {
			t.Errorf("GET %s: %d, want %d", path, p.Status, want)
		}
	}
	for _, body := range []string{"username=%FF&password=x", "username=a%00b&password=x", "username=ag1a&password=%FF", "username=ag1a&password=x&next=%FF"} {
		tok := b.csrf("/login")
		req, _ := http.NewRequest(http.MethodPost, env.Server.URL+"/login", strings.NewReader(body+"&_csrf="+url.QueryEscape(tok)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if p := b.do(req); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "zh-CN") {
			t.Errorf("POST /login %s: %d, want a 400 page", body, p.Status)
		}
	}
}

// TestCSRFBoundToSession: a form token works for the session it was given
// to only: not for another session, not from before sign-in, not after
// signing in again.
func TestCSRFBoundToSession(t *testing.T) {
	env := newEnv(t)
	a, other := newBrowser(t, env), newBrowser(t, env)
	anon := a.csrf("/login")
	a.login("ag1a")
	other.login("ag1a")
	mine, theirs := a.csrf("/register"), other.csrf("/register")
	if mine == theirs || mine == anon {
		t.Fatalf("two sessions share a token, or sign-in kept the anonymous one")
	}
	for name, tok := range map[string]string{"another session's": theirs, "the anonymous": anon, "the cookie's": a.cookie("daiban_csrf")} {
		if p := a.post("/register", url.Values{"item_code": {"TWN"}, "_csrf": {tok}}); p.Status != http.StatusForbidden {
			t.Errorf("%s token: %d, want 403", name, p.Status)
		}
	}
	if p := a.post("/register", url.Values{"item_code": {"TWN"}, "_csrf": {mine}}); p.Status == http.StatusForbidden {
		t.Errorf("the session's own token was refused")
	}
	a.post("/logout", url.Values{})
	a.login("ag1a")
	if p := a.post("/register", url.Values{"item_code": {"TWN"}, "_csrf": {mine}}); p.Status != http.StatusForbidden {
		t.Errorf("the previous session's token: %d, want 403", p.Status)
	}
}
