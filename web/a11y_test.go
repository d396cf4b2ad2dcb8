package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"daiban/internal/apitest"
	"daiban/service"
)

// TestEveryPageIsAccessible fetches each page of each role in the states
// that show its forms and checks the basics: the language, a title, one
// main heading, a main landmark, a label on every input, unique ids.
func TestEveryPageIsAccessible(t *testing.T) {
	env := newEnv(t)
	agent, officer, super, anon := newBrowser(t, env), newBrowser(t, env), newBrowser(t, env), newBrowser(t, env)
	admin := newBrowser(t, env)
	admin.login("admin")
	agent.login("ag1a")
	officer.login("tw1")
	super.login("super")

	registered, receipt, code := register(t, agent, registration(env))
	processing, _, _ := register(t, agent, registration(env))
	completed, _, _ := register(t, agent, registration(env))
	correction, _, _ := register(t, agent, registration(env))
	step := func(b *browser, id, act string, form url.Values) {
		t.Helper()
		p := b.get("/errands/" + id)
		form.Set("version", version(t, p))
		expectStatus(t, b.post("/errands/"+id+"/"+act, form), http.StatusSeeOther)
	}
	for _, id := range []string{processing, completed, correction} {
		step(agent, id, "forward", url.Values{})
		step(officer, id, "accept", url.Values{})
	}
	step(officer, completed, "complete", url.Values{"outcome": {"approved"}})
	step(officer, correction, "return", url.Values{"missing_materials": {"户口簿"}})

	// Reports: one just registered, one being handled, one answered.
	world := apitest.NewReportWorld(t, env)
	gi, ag, tw := world.Actors["gi1"], env.F.Actor("ag1a"), env.F.Actor("tw1")
	newReport := func(steps ...func(r service.Report) service.Report) string {
		t.Helper()
		r, err := env.Svc.SubmitReport(context.Background(), &gi, service.ReportInput{Category: "order", Text: "占道经营堵住了路口。"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			r = s(r)
		}
		return r.ID
	}
	rstep := func(a service.Actor, act service.ReportAction, in service.ReportStepInput) func(service.Report) service.Report {
		return func(r service.Report) service.Report {
			t.Helper()
			in.Version = r.Version
			out, err := env.Svc.StepReport(context.Background(), a, r.ID, act, in)
			if err != nil {
				t.Fatalf("%s: %v", act, err)
			}
			return out
		}
	}
	dispatch := rstep(ag, service.ReportDispatch, service.ReportStepInput{ToOrgID: env.F.T1.ID})
	sign := rstep(tw, service.ReportSign, service.ReportStepInput{})
	reportNew := newReport()
	reportHandling := newReport(dispatch, sign)
	reportAnswered := newReport(dispatch, sign, rstep(tw, service.ReportAnswer, service.ReportStepInput{Answer: "已清理。"}),
		rstep(ag, service.ReportAccept, service.ReportStepInput{}))

	type fetch struct {
		name string
		get  func() page
		many bool // the printable form: one heading per half
	}
	get := func(b *browser, path string) func() page { return func() page { return b.get(path) } }
	pages := []fetch{
		{"login", get(anon, "/login"), false},
		{"login expired", get(anon, "/login?expired=1"), false},
		{"login failed", func() page {
			anon.get("/login")
			return anon.post("/login", url.Values{"username": {"ag1a"}, "password": {"nope-nope"}})
		}, false},
		{"public form", get(anon, "/q"), false},
		{"public form prefilled", get(anon, "/q/"+receipt), false},
		{"public status", func() page {
			return anon.get(anon.post("/q", url.Values{"receipt_no": {receipt}, "code": {code}}).Location)
		}, false},
		{"public wrong code", func() page { return anon.post("/q", url.Values{"receipt_no": {receipt}, "code": {"111111"}}) }, false},
		{"not found", get(anon, "/nowhere"), false},
		{"csrf refused", func() page { return agent.post("/logout", url.Values{"_csrf": {"forged"}}) }, false},
		{"agent home", get(agent, "/"), false},
		{"agent progress", get(agent, "/errands?tab=progress"), false},
		{"agent all", get(agent, "/errands?tab=all"), false},
		{"catalogue", get(agent, "/register"), false},
		{"register form", get(agent, "/register?item=TWN"), false},
		{"register errors", func() page {
			f := registration(env)
			f.Set("id_number", "123")
			f.Del("materials")
			return agent.post("/register", f)
		}, false},
		{"errand registered", get(agent, "/errands/"+registered), false},
		{"errand correction", get(agent, "/errands/"+correction), false},
		{"errand completed (deliver)", get(agent, "/errands/"+completed), false},
		{"print", get(agent, "/errands/"+registered+"/print?new=1"), true},
		{"agent ledger", get(agent, "/ledger"), false},
		{"reports", get(agent, "/reports"), false},
		{"reports queue", get(agent, "/reports?mine=true"), false},
		{"report intake", get(agent, "/reports/new"), false},
		{"report intake errors", func() page {
			return agent.post("/reports/new", url.Values{"category": {"order"}, "grid_id": {"nope"}, "text": {""}})
		}, false},
		{"report registered (dispatch)", get(agent, "/reports/"+reportNew), false},
		{"report handling (answer)", get(officer, "/reports/"+reportHandling), false},
		{"report follow-up (close)", get(agent, "/reports/"+reportAnswered), false},
		{"reports of a supervisor", get(super, "/reports"), false},
		{"agent stats", get(agent, "/dashboard"), false},
		{"officer incoming", get(officer, "/"), false},
		{"officer processing", get(officer, "/errands?tab=processing"), false},
		{"errand processing", get(officer, "/errands/"+processing), false},
		{"officer warnings", get(officer, "/warnings"), false},
		{"officer stats", get(officer, "/dashboard"), false},
		{"dashboard", get(super, "/dashboard"), false},
		{"dashboard bad period", get(super, "/dashboard?from=2026-04-01&to=2026-03-01"), false},
		{"warnings", get(super, "/warnings"), false},
		{"ledger chooser", get(super, "/ledger"), false},
		{"ledger", get(super, "/ledger?org_id="+env.F.V1a.ID+"&month=2026-03"), false},
		{"all errands", get(super, "/errands?tab=all"), false},
		{"errand read-only", get(super, "/errands/"+completed), false},
		{"admin orgs", get(admin, "/admin/orgs?parent="+env.F.T1.ID), false},
		{"admin org errors", func() page {
			return admin.post("/admin/orgs", url.Values{"parent_id": {env.F.T1.ID}, "code": {"1"}, "name": {""}})
		}, false},
		{"admin catalogue", get(admin, "/admin/catalogue"), false},
		{"admin new item", get(admin, "/admin/catalogue/new"), false},
		{"admin item errors", func() page {
			return admin.post("/admin/catalogue/TWN", url.Values{"name": {""}, "fee": {"x"}, "time_limit_days": {"0"}, "materials": {"a\na"}})
		}, false},
		{"admin calendar", get(admin, "/admin/calendar?year=2026"), false},
		{"admin calendar errors", func() page {
			return admin.post("/admin/calendar/2026", url.Values{"days": {"2026-13-01 休"}})
		}, false},
	}
	for _, pg := range pages {
		p := pg.get()
		if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: %d %s is not a page", pg.name, p.Status, ct)
			continue
		}
		for _, problem := range checkPage(p.Body, pg.many) {
			t.Errorf("%s: %s", pg.name, problem)
		}
	}
}

// checkPage lists what a page lacks.
func checkPage(body string, manyH1 bool) []string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return []string{"does not parse: " + err.Error()}
	}
	var problems []string
	var h1, mains int
	var title string
	labels := map[string]bool{}
	ids := map[string]int{}
	type control struct {
		tag, id, name, typ string
		wrapped            bool
		aria               bool
	}
	var controls []control
	var walk func(n *html.Node, inLabel bool)
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			a := map[string]string{}
			for _, at := range n.Attr {
				a[at.Key] = at.Val
			}
			if id := a["id"]; id != "" {
				ids[id]++
			}
			switch n.Data {
			case "html":
				if a["lang"] != "zh-CN" {
					problems = append(problems, `<html> has lang="`+a["lang"]+`", want zh-CN`)
				}
			case "title":
				if n.FirstChild != nil {
					title = strings.TrimSpace(n.FirstChild.Data)
				}
			case "h1":
				h1++
			case "main":
				mains++
			case "label":
				if f := a["for"]; f != "" {
					labels[f] = true
				}
				inLabel = true
			case "input", "select", "textarea":
				typ := a["type"]
				if typ != "hidden" && typ != "submit" && typ != "button" {
					_, hasAria := a["aria-label"]
					controls = append(controls, control{tag: n.Data, id: a["id"], name: a["name"], typ: typ, wrapped: inLabel, aria: hasAria})
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel)
		}
	}
	walk(doc, false)
	if title == "" {
		problems = append(problems, "no <title>")
	}
	if h1 != 1 && !(manyH1 && h1 > 0) {
		problems = append(problems, "has "+itoa(h1)+" <h1>, want 1")
	}
	if mains != 1 {
		problems = append(problems, "has "+itoa(mains)+" <main>, want 1")
	}
	for _, c := range controls {
		if !c.wrapped && !c.aria && (c.id == "" || !labels[c.id]) {
			problems = append(problems, "<"+c.tag+" name="+c.name+" id="+c.id+"> has no label")
		}
	}
	for id, n := range ids {
		if n > 1 {
			problems = append(problems, "id "+id+" is used "+itoa(n)+" times")
		}
	}
	return problems
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestCheckPageFindsProblems keeps the checker honest: a page without the
// basics must be reported.
func TestCheckPageFindsProblems(t *testing.T) {
	bad := `<!doctype html><html lang="en"><head></head><body><h1>a</h1><h1>b</h1>
		<input name="x" id="x"><select name="s"></select><label for="y">y</label><input id="y"><p id="y"></p></body></html>`
	got := strings.Join(checkPage(bad, false), "\n")
	for _, want := range []string{`lang="en"`, "no <title>", "2 <h1>", "0 <main>", "name=x id=x> has no label", "name=s id=> has no label", "id y is used 2 times"} {
		if !strings.Contains(got, want) {
			t.Errorf("the checker missed %q; it said:\n%s", want, got)
		}
	}
	good := `<!doctype html><html lang="zh-CN"><head><title>t</title></head><body><main><h1>a</h1>
		<label for="x">x</label><input id="x"><label>y <input name="y"></label><input type="hidden" name="h"></main></body></html>`
	if p := checkPage(good, false); len(p) > 0 {
		t.Errorf("a good page was reported: %v", p)
	}
}
