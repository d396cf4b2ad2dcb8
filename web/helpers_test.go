package web_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"daiban/internal/apitest"
	"daiban/web"
)

// newEnv starts the real stack with the console mounted on the API router.
func newEnv(t *testing.T) *apitest.Env {
	t.Helper()
	env := apitest.New(t)
	web.Mount(env.API.Echo(), env.Svc, web.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: env.Server.URL,
		PublicRate: 1000, PublicBurst: 1000,
	})
	return env
}

// browser is a cookie-keeping HTTP client that does not follow redirects,
// like a browser without script: what the old office PCs are.
type browser struct {
	t    *testing.T
	env  *apitest.Env
	jar  *cookiejar.Jar
	http *http.Client
}

type page struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

func newBrowser(t *testing.T, env *apitest.Env) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, env: env, jar: jar, http: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{Status: resp.StatusCode, Header: resp.Header, Body: string(body), Location: resp.Header.Get("Location")}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.env.Server.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// cookie is the value of the named cookie the browser holds.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.env.Server.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// post sends a form with the CSRF token the browser holds, as a page's
// hidden field would.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if _, raw := form["_csrf"]; !raw {
		form.Set("_csrf", b.csrf(path))
	}
	req, err := http.NewRequest(http.MethodPost, b.env.Server.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrf is the token a page's form would carry for a post to path: on the
// sign-in page Echo's cookie token, once signed in the session's, read
// from a page as a browser has it.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	from := "/"
	if path == "/login" || b.cookie("daiban_session") == "" {
		from = "/login"
	}
	if m := csrfRE.FindStringSubmatch(b.get(from).Body); m != nil {
		return m[1]
	}
	return b.cookie("daiban_csrf")
}

func (b *browser) login(user string) {
	b.t.Helper()
	b.get("/login")
	p := b.post("/login", url.Values{"username": {user}, "password": {apitest.Password}})
	if p.Status != http.StatusSeeOther {
		b.t.Fatalf("login %s: %d %s", user, p.Status, p.Body)
	}
}

func expectStatus(t *testing.T, p page, want int) {
	t.Helper()
	if p.Status != want {
		t.Fatalf("status %d, want %d; body:\n%.3000s", p.Status, want, p.Body)
	}
}

func expectText(t *testing.T, p page, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			t.Errorf("page does not say %q:\n%.4000s", s, p.Body)
		}
	}
}

var versionRE = regexp.MustCompile(`name="version" value="(\d+)"`)

// version is the errand version a page's forms carry.
func version(t *testing.T, p page) string {
	t.Helper()
	m := versionRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no version field on the page:\n%.3000s", p.Body)
	}
	return m[1]
}

var receiptRE = regexp.MustCompile(`回执编号</th><td class="big">([0-9A-Z]+)</td>`)
var codeRE = regexp.MustCompile(`查询码</th><td class="big">([0-9]{6})</td>`)

var idemSeq atomic.Int64

// registration is a valid registration form for the township item.
func registration(env *apitest.Env) url.Values {
	v := url.Values{
		"item_code": {env.F.ItemTownship.Code}, "name": {"张三丰"}, "id_number": {apitest.ValidID},
		"phone": {"13912345678"}, "address": {"甲一村12号"}, "channel": {"walk_in"}, "idem": {fmt.Sprintf("test-%d", idemSeq.Add(1))},
	}
	v["materials"] = append([]string(nil), env.F.ItemTownship.Materials...)
	return v
}

// register registers through the form and returns the errand id, the
// receipt number and the code from the printed form.
func register(t *testing.T, b *browser, form url.Values) (id, receipt, code string) {
	t.Helper()
	p := b.post("/register", form)
	expectStatus(t, p, http.StatusSeeOther)
	if !strings.HasPrefix(p.Location, "/errands/") || !strings.HasSuffix(p.Location, "/print?new=1") {
		t.Fatalf("after registration went to %q", p.Location)
	}
	id = strings.TrimSuffix(strings.TrimPrefix(p.Location, "/errands/"), "/print?new=1")
	pr := b.get(p.Location)
	expectStatus(t, pr, http.StatusOK)
	m, c := receiptRE.FindStringSubmatch(pr.Body), codeRE.FindStringSubmatch(pr.Body)
	if m == nil || c == nil {
		t.Fatalf("print page has no receipt number or code:\n%.3000s", pr.Body)
	}
	return id, m[1], c[1]
}
