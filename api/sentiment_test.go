package api_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"daiban/internal/apitest"
	"daiban/service"
)

type reportOut struct {
	ID          string  `json:"id"`
	No          string  `json:"no"`
	VerifyCode  *string `json:"verify_code"`
	Status      string  `json:"status"`
	Version     int     `json:"version"`
	Channel     string  `json:"channel"`
	Photos      int     `json:"photos"`
	DueAt       string  `json:"due_at"`
	Answer      string  `json:"answer"`
	Grid        struct{ ID *string }
	IntakeOrg   struct{ ID *string } `json:"intake_org"`
	HolderOrg   struct{ ID *string } `json:"holder_org"`
	HandlerOrg  struct{ ID *string } `json:"handler_org"`
	MergedInto  *string              `json:"merged_into"`
	Satisfation *int                 `json:"satisfaction"`
}

func decodeReport(t *testing.T, r *apitest.Response, want int) reportOut {
	t.Helper()
	apitest.Expect(t, r, want)
	var out reportOut
	r.JSON(t, &out)
	return out
}

// stepper takes report steps through the API, keeping the version.
type stepper struct {
	t   *testing.T
	env *apitest.Env
	rep reportOut
}

func (s *stepper) do(token, act string, body map[string]any, want int) *apitest.Response {
	s.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["version"] = s.rep.Version
	r := s.env.Post("/api/v1/reports/"+s.rep.ID+"/"+act, token, body)
	if r.Status != want {
		s.t.Fatalf("%s: status %d, want %d: %s", act, r.Status, want, r.Body)
	}
	if want == http.StatusOK {
		r.JSON(s.t, &s.rep)
	}
	return r
}

func pngPhoto(t *testing.T) string {
	t.Helper()
	return base64.StdEncoding.EncodeToString(apitest.PNG(t, 8, 8))
}

// A grid inspector's report, a hotline call and a website submission each
// go from intake to a closed follow-up; the city centre's statistics count
// them; the reporter follows each by number and code.
func TestReportJourneys(t *testing.T) {
	env := apitest.New(t)
	w := apitest.NewReportWorld(t, env)
	gi, hot, city, dep, tw1, tdep, ag := env.Login("gi1"), env.Login("hot"), env.Login("city"), env.Login("dep"), env.Login("tw1"), env.Login("tdep"), env.Login("ag1a")

	// 1. A grid inspector reports a broken street lamp with a photo; the
	// village agent dispatches it to the township, which signs for it,
	// passes it to its own department, which answers; the township
	// accepts the answer and follows up.
	lamp := decodeReport(t, env.Post("/api/v1/reports", gi, map[string]any{
		"category": "facility", "text": "村口路灯坏了三盏，晚上很黑", "address": "甲一村村口",
		"lat": 25.96, "lng": 119.52, "photos": []string{pngPhoto(t)},
	}), http.StatusCreated)
	if lamp.Channel != "grid" || lamp.Status != "registered" || lamp.Photos != 1 || lamp.VerifyCode == nil ||
		*lamp.IntakeOrg.ID != env.F.V1a.ID || *lamp.Grid.ID != w.Grid.ID {
		t.Fatalf("grid report: %+v", lamp)
	}
	if r := env.Get("/api/v1/reports/"+lamp.ID+"/photos/1", env.Login("tw2")); r.Status != http.StatusNotFound {
		t.Errorf("another township's officer saw a photo: %d", r.Status)
	}
	if r := env.Get("/api/v1/reports/"+lamp.ID+"/photos/1", ag); r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/png" {
		t.Errorf("the village agent's photo: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	s := &stepper{t: t, env: env, rep: lamp}
	s.do(ag, "dispatch", map[string]any{"to_org_id": env.F.T1.ID}, http.StatusOK)
	s.do(tw1, "sign", nil, http.StatusOK)
	s.do(tw1, "dispatch", map[string]any{"to_org_id": w.TownDept.ID, "reason": "请综治办处理"}, http.StatusOK)
	s.do(tdep, "sign", nil, http.StatusOK)
	s.do(tdep, "answer", map[string]any{"answer": "已联系供电所，三盏路灯已于今日修复。"}, http.StatusOK)
	s.do(tw1, "accept", nil, http.StatusOK)
	s.do(tw1, "close", map[string]any{"grade": 5}, http.StatusOK)
	if s.rep.Status != "closed" || *s.rep.HandlerOrg.ID != w.TownDept.ID {
		t.Fatalf("lamp after follow-up: %+v", s.rep)
	}

	// 2. A hotline call (anonymous): the city centre dispatches it to the
	// city department, which sends it back as not its business; the hotline
	// then dispatches it to the township, which answers; the follow-up
	// cannot reach the caller.
	call := decodeReport(t, env.Post("/api/v1/reports", hot, map[string]any{
		"category": "dispute", "urgency": "urgent", "text": "邻居装修噪音扰民，晚上十点还在施工",
		"grid_id": w.Grid.ID, "reporter": map[string]any{"name": "不留名", "phone": "13900001111", "anonymous": true},
	}), http.StatusCreated)
	if call.Channel != "hotline" || *call.IntakeOrg.ID != env.F.City.ID {
		t.Fatalf("hotline report: %+v", call)
	}
	// Anonymous: the name the caller gave is not kept, only the phone to answer.
	if r := env.Get("/api/v1/reports/"+call.ID, city); strings.Contains(string(r.Body), "不留名") || !strings.Contains(string(r.Body), `"anonymous":true`) {
		t.Errorf("an anonymous caller's report: %s", r.Body)
	}
	s = &stepper{t: t, env: env, rep: call}
	s.do(hot, "dispatch", map[string]any{"to_org_id": w.CityDept.ID}, http.StatusOK)
	s.do(dep, "send_back", map[string]any{"reason": "邻里纠纷不属城管职责"}, http.StatusOK)
	if s.rep.Status != "registered" || *s.rep.HolderOrg.ID != env.F.City.ID {
		t.Fatalf("sent back: %+v", s.rep)
	}
	s.do(city, "dispatch", map[string]any{"to_org_id": env.F.T1.ID}, http.StatusOK)
	s.do(tw1, "sign", nil, http.StatusOK)
	s.do(tw1, "answer", map[string]any{"answer": "已上门调解，施工方承诺晚八点后停工。"}, http.StatusOK)
	s.do(hot, "reject", map[string]any{"reason": "请写明调解结果"}, http.StatusOK)
	s.do(tw1, "answer", map[string]any{"answer": "已上门调解，双方签字，施工方承诺晚八点后停工。"}, http.StatusOK)
	s.do(city, "accept", nil, http.StatusOK)
	s.do(hot, "close", map[string]any{"unreachable": true}, http.StatusOK)

	// 3. A resident on the website, no account: the city centre
	// dispatches to the city department, which asks for more days; the
	// city grants them; the answer is accepted; the resident follows it
	// by number and code, and is satisfied.
	pub := env.Post("/api/v1/public/reports", "", map[string]any{
		"category": "environment", "text": "河道里有人倾倒建筑垃圾", "org_id": env.F.T2.ID,
		"reporter": map[string]any{"name": "王大妈", "phone": "13700002222"},
	})
	apitest.Expect(t, pub, http.StatusCreated)
	var created struct {
		No         string `json:"no"`
		VerifyCode string `json:"verify_code"`
	}
	pub.JSON(t, &created)
	list := env.Get("/api/v1/reports?mine=true&channel=web", city)
	apitest.Expect(t, list, http.StatusOK)
	var page struct{ Items []reportOut }
	list.JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].No != created.No {
		t.Fatalf("the city centre's queue: %s", list.Body)
	}
	s = &stepper{t: t, env: env, rep: page.Items[0]}
	dueBefore := s.rep.DueAt
	s.do(city, "dispatch", map[string]any{"to_org_id": w.CityDept.ID}, http.StatusOK)
	s.do(dep, "sign", nil, http.StatusOK)
	s.do(dep, "request_extension", map[string]any{"days": 3, "reason": "需协调环保部门取证"}, http.StatusOK)
	s.do(dep, "request_extension", map[string]any{"days": 3, "reason": "再申请"}, http.StatusConflict)
	s.do(city, "deny_extension", map[string]any{"reason": "期限内可以办完"}, http.StatusOK)
	if s.rep.DueAt != dueBefore {
		t.Errorf("a denied extension moved the due time: %s → %s", dueBefore, s.rep.DueAt)
	}
	s.do(dep, "request_extension", map[string]any{"days": 3, "reason": "确需协调环保部门取证"}, http.StatusOK)
	s.do(city, "approve_extension", map[string]any{"days": 2, "reason": "同意延期两个工作日"}, http.StatusOK)
	if s.rep.DueAt <= dueBefore {
		t.Errorf("the extension did not move the due time: %s → %s", dueBefore, s.rep.DueAt)
	}
	s.do(dep, "answer", map[string]any{"answer": "已清理垃圾并对倾倒者处罚。"}, http.StatusOK)
	look := func() map[string]any {
		r := env.Get("/api/v1/public/reports/"+created.No+"?code="+created.VerifyCode, "")
		apitest.Expect(t, r, http.StatusOK)
		for _, secret := range []string{"王大妈", "13700002222", "城管张科长"} {
			if strings.Contains(string(r.Body), secret) {
				t.Errorf("the public page shows %q: %s", secret, r.Body)
			}
		}
		return r.Map(t)
	}
	if p := look(); p["answer"] != nil {
		t.Errorf("the answer was public before the dispatcher accepted it: %v", p["answer"])
	}
	s.do(city, "accept", nil, http.StatusOK)
	if p := look(); p["answer"] != "已清理垃圾并对倾倒者处罚。" || p["status"] != "follow_up" {
		t.Errorf("public after acceptance: %v", p)
	}
	s.do(city, "close", map[string]any{"grade": 2}, http.StatusOK)
	p := look()
	if p["status"] != "closed" || len(p["timeline"].([]any)) < 5 {
		t.Errorf("public after closing: %v", p)
	}
	if r := env.Get("/api/v1/public/reports/"+created.No+"?code=000000", ""); r.Status != http.StatusNotFound {
		t.Errorf("a wrong code: %d", r.Status)
	}

	// The ledger of each report is a hash chain.
	for _, id := range []string{lamp.ID, call.ID, s.rep.ID} {
		r := env.Get("/api/v1/reports/"+id+"/events", city)
		apitest.Expect(t, r, http.StatusOK)
		var raw struct {
			Items []map[string]any
		}
		r.JSON(t, &raw)
		for i, ev := range raw.Items {
			if i > 0 && ev["prev_hash"] != raw.Items[i-1]["hash"] || int(ev["seq"].(float64)) != i+1 {
				t.Fatalf("report %s: event %d does not chain: %v", id, i+1, ev)
			}
		}
	}

	// The city centre's statistics: three accepted, three closed; the
	// lamp answered on time; responses: lamp 2 (both on time), call 2 (the
	// send-back counts), web 1; follow-ups reached 2 (grades 5 and 2), one
	// unreachable.
	day := service.DateOf(env.Clock.Now()).String()
	r := env.Get("/api/v1/stats/reports?from="+day+"&to="+day, city)
	apitest.Expect(t, r, http.StatusOK)
	var st struct {
		Totals struct {
			Accepted, Closed, Responses, Unreachable int64
			FollowedUp                               int64    `json:"followed_up"`
			ResponsesOnTime                          int64    `json:"responses_on_time"`
			CompletionRate                           *float64 `json:"completion_rate"`
			SatisfactionRate                         *float64 `json:"satisfaction_rate"`
		}
	}
	r.JSON(t, &st)
	tot := st.Totals
	if tot.Accepted != 3 || tot.Closed != 3 || *tot.CompletionRate != 100 || tot.Responses != 5 || tot.FollowedUp != 2 ||
		tot.Unreachable != 1 || *tot.SatisfactionRate != 50 {
		t.Errorf("statistics: %s", r.Body)
	}
	for _, g := range service.ReportGroupBys {
		r := env.Get("/api/v1/stats/reports?from="+day+"&to="+day+"&group_by="+string(g), city)
		apitest.Expect(t, r, http.StatusOK)
		var gs struct {
			Groups []struct {
				Key      string
				Accepted int64
			}
		}
		r.JSON(t, &gs)
		var sum int64
		for _, x := range gs.Groups {
			sum += x.Accepted
		}
		if sum != 3 {
			t.Errorf("by %s: groups add up to %d: %s", g, sum, r.Body)
		}
	}
	for _, f := range []string{"csv", "xlsx"} {
		if r := env.Get("/api/v1/stats/reports?from="+day+"&to="+day+"&format="+f, city); r.Status != http.StatusOK || len(r.Body) < 50 {
			t.Errorf("%s: %d", f, r.Status)
		}
	}
	// 甲镇 sees what was registered under it or handled by it; 乙镇, where
	// nothing was registered or handled, nothing.
	for user, want := range map[string]int{"tw1": 2, "tw2": 0, "city": 3, "tdep": 1, "dep": 1, "gi1": 2} {
		var page struct{ Items []reportOut }
		env.Get("/api/v1/reports", env.Login(user)).JSON(t, &page)
		if len(page.Items) != want {
			t.Errorf("%s sees %d reports, want %d", user, len(page.Items), want)
		}
	}
}

// Bad input is refused naming the field, with nothing written; a step out
// of turn is a conflict; a step by the wrong organisation is forbidden.
func TestReportRefusals(t *testing.T) {
	env := apitest.New(t)
	w := apitest.NewReportWorld(t, env)
	gi, hot, city, dep, tw1, fq := env.Login("gi1"), env.Login("hot"), env.Login("city"), env.Login("dep"), env.Login("tw1"), env.Login("fqc")
	good := func(change func(m map[string]any)) map[string]any {
		m := map[string]any{"category": "order", "text": "占道经营影响通行", "reporter": map[string]any{"phone": "13900003333"}}
		if change != nil {
			change(m)
		}
		return m
	}
	rows := func() [2]int64 { return [2]int64{countRows(t, env, "reports"), countRows(t, env, "report_events")} }
	before := rows()
	big := base64.StdEncoding.EncodeToString(append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, service.MaxReportPhotoBytes+1)...))
	for _, c := range []struct {
		name, token, path string
		body              any
		want              int
		field             string
	}{
		{"unknown category", hot, "/api/v1/reports", good(func(m map[string]any) { m["category"] = "ufo" }), 422, "category"},
		{"unknown grid", hot, "/api/v1/reports", good(func(m map[string]any) { m["grid_id"] = "0190ffff-0000-7000-8000-000000000000" }), 422, "grid_id"},
		{"a village as grid", hot, "/api/v1/reports", good(func(m map[string]any) { m["grid_id"] = env.F.V1a.ID }), 422, "grid_id"},
		{"another inspector's grid", gi, "/api/v1/reports", good(func(m map[string]any) { m["grid_id"] = w.Grid2.ID }), 422, "grid_id"},
		{"an agent without a grid", env.Login("ag1a"), "/api/v1/reports", good(nil), 422, "grid_id"},
		{"an agent with another village's grid", env.Login("ag1a"), "/api/v1/reports", good(func(m map[string]any) { m["grid_id"] = w.Grid2.ID }), 422, "grid_id"},
		{"a caller without phone", hot, "/api/v1/reports", good(func(m map[string]any) { m["reporter"] = map[string]any{"name": "李四"} }), 422, "reporter.phone"},
		{"too short", hot, "/api/v1/reports", good(func(m map[string]any) { m["text"] = "路灯" }), 422, "text"},
		{"one coordinate", hot, "/api/v1/reports", good(func(m map[string]any) { m["lat"] = 25.9 }), 422, "lat"},
		{"not an image", hot, "/api/v1/reports", good(func(m map[string]any) {
			m["photos"] = []string{base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 not a photo"))}
		}), 422, "photos[0]"},
		{"a photo too large", hot, "/api/v1/reports", good(func(m map[string]any) { m["photos"] = []string{big} }), 422, "photos[0]"},
		{"seven photos", hot, "/api/v1/reports", good(func(m map[string]any) {
			m["photos"] = []string{pngPhoto(t), pngPhoto(t), pngPhoto(t), pngPhoto(t), pngPhoto(t), pngPhoto(t), pngPhoto(t)}
		}), 422, "photos"},
		{"a supervisor takes no reports", env.Login("super"), "/api/v1/reports", good(nil), 403, ""},
		{"a public report without phone", "", "/api/v1/public/reports", good(func(m map[string]any) { delete(m, "reporter") }), 422, "reporter.phone"},
		{"a public report as hotline", "", "/api/v1/public/reports", good(func(m map[string]any) { m["channel"] = "hotline" }), 422, "channel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := env.Do(apitest.Req{Method: http.MethodPost, Path: c.path, Token: c.token, Body: c.body, Raw: true})
			apitest.Expect(t, r, c.want)
			if c.field != "" {
				p := r.Problem(t)
				if len(p.Errors) == 0 || p.Errors[0].Field != c.field {
					t.Errorf("problem names %+v, want %s", p.Errors, c.field)
				}
			}
		})
	}
	if after := rows(); after != before {
		t.Fatalf("refused reports wrote rows: %v → %v", before, after)
	}

	rep := decodeReport(t, env.Post("/api/v1/reports", hot, good(nil)), http.StatusCreated)
	s := &stepper{t: t, env: env, rep: rep}
	before = rows()
	type refusal struct {
		name, token, act string
		body             map[string]any
		want             int
		field            string
	}
	try := func(cs []refusal) {
		t.Helper()
		for _, c := range cs {
			if c.body == nil {
				c.body = map[string]any{}
			}
			c.body["version"] = s.rep.Version
			r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/reports/" + s.rep.ID + "/" + c.act, Token: c.token, Body: c.body, Raw: true})
			if r.Status != c.want {
				t.Errorf("%s: %d, want %d: %s", c.name, r.Status, c.want, r.Body)
				continue
			}
			if c.field != "" {
				if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != c.field {
					t.Errorf("%s: problem names %+v, want %s", c.name, p.Errors, c.field)
				}
			}
		}
		if after := rows(); after != before {
			t.Fatalf("refused steps wrote rows: %v → %v", before, after)
		}
	}
	try([]refusal{
		{"dispatch to another city", hot, "dispatch", map[string]any{"to_org_id": w.OtherCity.ID}, 422, "to_org_id"},
		{"dispatch to a grid", hot, "dispatch", map[string]any{"to_org_id": w.Grid.ID}, 422, "to_org_id"},
		{"dispatch to nobody", hot, "dispatch", nil, 422, "to_org_id"},
		{"dispatch by a township not holding it", tw1, "dispatch", map[string]any{"to_org_id": w.CityDept.ID}, 404, ""},
		{"sign a report not dispatched", dep, "sign", nil, 404, ""},
		{"close before the follow-up", hot, "close", map[string]any{"grade": 4}, 409, ""},
		{"another city's officer", fq, "urge", nil, 404, ""},
	})
	s.do(hot, "dispatch", map[string]any{"to_org_id": w.CityDept.ID}, http.StatusOK)
	before = rows()
	try([]refusal{
		{"sign by the dispatcher", hot, "sign", nil, 403, ""},
		{"answer before signing", dep, "answer", map[string]any{"answer": "好"}, 409, ""},
		{"send back without reason", dep, "send_back", nil, 422, "reason"},
		{"urge by an agent", env.Login("ag1a"), "urge", nil, 404, ""},
	})
	s.do(dep, "sign", nil, http.StatusOK)
	before = rows()
	try([]refusal{
		{"answer without text", dep, "answer", map[string]any{"answer": "  "}, 422, "answer"},
		{"approve an extension nobody asked for", hot, "approve_extension", map[string]any{"days": 2, "reason": "同意"}, 409, ""},
	})
	// A stale version is a conflict, never a lost update.
	old := s.rep.Version
	s.do(city, "urge", map[string]any{"reason": "请加快"}, http.StatusOK)
	r := env.Post("/api/v1/reports/"+s.rep.ID+"/answer", dep, map[string]any{"version": old, "answer": "已处理"})
	if r.Status != http.StatusConflict || r.Problem(t).Code != "version_conflict" {
		t.Fatalf("a stale answer: %d %s", r.Status, r.Body)
	}
	s.do(dep, "answer", map[string]any{"answer": "已处理"}, http.StatusOK)
	before = rows()
	try([]refusal{
		{"accept by the handler", dep, "accept", nil, 403, ""},
		{"close before the answer is accepted", hot, "close", map[string]any{"grade": 4}, 409, ""},
	})
	s.do(hot, "accept", nil, http.StatusOK)
	before = rows()
	try([]refusal{
		{"close without grade or unreachable", hot, "close", nil, 422, "grade"},
		{"close with both", hot, "close", map[string]any{"grade": 3, "unreachable": true}, 422, "grade"},
	})

	// A duplicate is merged into the first and counted once.
	dup := decodeReport(t, env.Post("/api/v1/reports", hot, good(nil)), http.StatusCreated)
	ds := &stepper{t: t, env: env, rep: dup}
	ds.do(hot, "merge", map[string]any{"merge_into": dup.No}, http.StatusUnprocessableEntity)
	ds.do(hot, "merge", map[string]any{"merge_into": rep.No}, http.StatusOK)
	if ds.rep.Status != "merged" || ds.rep.MergedInto == nil || *ds.rep.MergedInto != rep.No {
		t.Fatalf("merged: %+v", ds.rep)
	}
	day := service.DateOf(env.Clock.Now()).String()
	var st struct{ Totals struct{ Accepted int64 } }
	env.Get("/api/v1/stats/reports?from="+day+"&to="+day, city).JSON(t, &st)
	if st.Totals.Accepted != 1 {
		t.Errorf("accepted %d, want 1 (the merged duplicate does not count)", st.Totals.Accepted)
	}

	// Public submissions: five an hour from one address.
	var statuses []int
	public := good(func(m map[string]any) { m["org_id"] = env.F.V2a.ID })
	for range 6 {
		statuses = append(statuses, env.Post("/api/v1/public/reports", "", public).Status)
	}
	if statuses[4] != http.StatusCreated || statuses[5] != http.StatusTooManyRequests {
		t.Errorf("public submissions: %v", statuses)
	}
	env.Clock.Advance(61 * time.Minute)
	if r := env.Post("/api/v1/public/reports", "", public); r.Status != http.StatusCreated {
		t.Errorf("an hour later: %d", r.Status)
	}
}

// An urgent report's deadline counts office hours; an ordinary one's the
// category's working days; overdue ones are found by the list's filter.
func TestReportDeadlines(t *testing.T) {
	env := apitest.New(t) // Monday 2026-03-02 09:00
	apitest.NewReportWorld(t, env)
	hot := env.Login("hot")
	urgent := decodeReport(t, env.Post("/api/v1/reports", hot, map[string]any{"category": "safety", "urgency": "urgent",
		"text": "小区消防通道被堵", "reporter": map[string]any{"phone": "13900004444"}}), http.StatusCreated)
	ordinary := decodeReport(t, env.Post("/api/v1/reports", hot, map[string]any{"category": "safety",
		"text": "小区消防栓损坏", "reporter": map[string]any{"phone": "13900004444"}}), http.StatusCreated)
	if !strings.HasPrefix(urgent.DueAt, "2026-03-02T11:00:00") {
		t.Errorf("urgent safety (2 office hours from 09:00): due %s", urgent.DueAt)
	}
	if !strings.HasPrefix(ordinary.DueAt, "2026-03-05T23:59:59") {
		t.Errorf("ordinary safety (3 working days): due %s", ordinary.DueAt)
	}
	env.Clock.Advance(3 * time.Hour)
	var page struct{ Items []reportOut }
	env.Get("/api/v1/reports?overdue=true", hot).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != urgent.ID {
		t.Errorf("overdue at noon: %+v", page.Items)
	}
}

// Reports tell others too: a webhook subscribed to report steps gets each
// as a CloudEvent without the reporter's name or phone, the receiving
// organisation's queue hears of a dispatch, and the reporter gets one text
// when the answer is accepted.
func TestReportNotices(t *testing.T) {
	env := apitest.New(t)
	w := apitest.NewReportWorld(t, env)
	admin, hot, dep := env.Login("admin"), env.Login("hot"), env.Login("dep")
	apitest.Expect(t, env.Post("/api/v1/webhooks", admin, map[string]any{"url": "https://hooks.example.com/m",
		"types": []string{"report.register", "report.dispatch", "report.accept"}}), http.StatusCreated)
	rep := decodeReport(t, env.Post("/api/v1/reports", hot, map[string]any{"category": "order", "text": "占道经营影响通行",
		"reporter": map[string]any{"name": "赵六", "phone": "13900005555"}}), http.StatusCreated)
	s := &stepper{t: t, env: env, rep: rep}
	s.do(hot, "dispatch", map[string]any{"to_org_id": w.CityDept.ID}, http.StatusOK)
	s.do(dep, "sign", nil, http.StatusOK)
	s.do(dep, "answer", map[string]any{"answer": "已劝离占道摊贩。"}, http.StatusOK)
	s.do(hot, "accept", nil, http.StatusOK)

	var out struct {
		Items []struct {
			Channel, Type, Target string
		}
	}
	env.Get("/api/v1/admin/outbox?limit=100", admin).JSON(t, &out)
	var got []string
	for _, d := range out.Items {
		got = append(got, d.Channel+" "+d.Type)
	}
	want := map[string]bool{"webhook report.register": true, "webhook report.dispatch": true, "webhook report.accept": true, "sms report.answered": true}
	if len(got) != len(want) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("unexpected delivery %q", g)
		}
	}
	var body string
	if err := env.Store.DB().Raw("SELECT body FROM outbox WHERE type = 'report.register'").Scan(&body).Error; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, `"specversion":"1.0"`) || !strings.Contains(body, rep.No) || strings.Contains(body, "赵六") || strings.Contains(body, "13900005555") {
		t.Errorf("the CloudEvent: %s", body)
	}
	var inbox struct {
		Items []struct{ Text string }
	}
	env.Get("/api/v1/inbox", dep).JSON(t, &inbox)
	if len(inbox.Items) != 1 || !strings.Contains(inbox.Items[0].Text, rep.No) {
		t.Errorf("the department's inbox: %+v", inbox.Items)
	}
}

// The supervision list of reports: yellow and red, soonest first, paged to
// its end with no report twice; closed ones never.
func TestReportWarnings(t *testing.T) {
	env := apitest.New(t) // Monday 2026-03-02 09:00
	apitest.NewReportWorld(t, env)
	hot, super := env.Login("hot"), env.Login("super")
	var ids []string
	for i := range 7 {
		body := map[string]any{"category": "safety", "text": "消防通道被堵第" + string(rune('一'+i)) + "处", "reporter": map[string]any{"phone": "13900006666"}}
		if i%2 == 0 {
			body["urgency"] = "urgent"
		}
		ids = append(ids, decodeReport(t, env.Post("/api/v1/reports", hot, body), http.StatusCreated).ID)
		env.Clock.Advance(time.Minute)
	}
	// At once the four urgent ones (2 office hours) are yellow; the
	// ordinary ones (3 working days) are not warned of yet.
	var now struct {
		Items []struct{ Level string }
	}
	env.Get("/api/v1/supervision/report-warnings", super).JSON(t, &now)
	if len(now.Items) != 4 || now.Items[0].Level != "yellow" {
		t.Errorf("warnings at once: %+v", now.Items)
	}
	// A week later the four urgent ones and the three ordinary ones (3
	// working days) are all red; walk the list two at a time.
	env.Clock.Advance(7 * 24 * time.Hour)
	seen := map[string]bool{}
	var levels []string
	cursor, lastDue := "", ""
	for range 10 {
		path := "/api/v1/supervision/report-warnings?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := env.Get(path, super)
		apitest.Expect(t, r, http.StatusOK)
		var page struct {
			Items []struct {
				Level  string
				Report reportOut
			}
			Next *string `json:"next_cursor"`
		}
		r.JSON(t, &page)
		for _, w := range page.Items {
			if seen[w.Report.ID] {
				t.Fatalf("%s listed twice", w.Report.No)
			}
			if w.Report.DueAt < lastDue {
				t.Errorf("not soonest first: %s after %s", w.Report.DueAt, lastDue)
			}
			seen[w.Report.ID], lastDue = true, w.Report.DueAt
			levels = append(levels, w.Level)
		}
		if page.Next == nil {
			break
		}
		cursor = *page.Next
	}
	if len(seen) != 7 {
		t.Fatalf("walked %d warnings, want 7", len(seen))
	}
	for _, l := range levels {
		if l != "red" {
			t.Errorf("levels %v, want all red", levels)
			break
		}
	}
	apitest.Expect(t, env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/supervision/report-warnings?cursor=nope", Token: super, Raw: true}), http.StatusBadRequest)
}

// The ledger check covers reports: their chains verify, and a changed
// report event is found and named as a report's.
func TestReportLedger(t *testing.T) {
	env := apitest.New(t)
	w := apitest.NewReportWorld(t, env)
	hot, dep, admin := env.Login("hot"), env.Login("dep"), env.Login("admin")
	rep := decodeReport(t, env.Post("/api/v1/reports", hot, map[string]any{"category": "order", "text": "占道经营影响通行",
		"reporter": map[string]any{"phone": "13900007777"}}), http.StatusCreated)
	s := &stepper{t: t, env: env, rep: rep}
	s.do(hot, "dispatch", map[string]any{"to_org_id": w.CityDept.ID}, http.StatusOK)
	s.do(dep, "sign", nil, http.StatusOK)
	var check struct {
		OK           bool
		Reports      int
		ReportEvents int `json:"report_events"`
		Broken       *struct {
			Kind      string
			ReceiptNo string `json:"receipt_no"`
			Seq       int
		}
	}
	env.Get("/api/v1/admin/ledger-check", admin).JSON(t, &check)
	if !check.OK || check.Reports != 1 || check.ReportEvents != 3 {
		t.Fatalf("ledger check: %+v", check)
	}
	drop := "DROP TRIGGER report_events_no_update"
	if env.Store.Postgres() {
		drop = "ALTER TABLE report_events DISABLE TRIGGER report_events_no_update"
	}
	if err := env.Store.DB().Exec(drop).Error; err != nil {
		t.Fatal(err)
	}
	if err := env.Store.DB().Exec("UPDATE report_events SET note = 'changed' WHERE report_id = ? AND seq = 2", rep.ID).Error; err != nil {
		t.Fatal(err)
	}
	env.Get("/api/v1/admin/ledger-check", admin).JSON(t, &check)
	if check.OK || check.Broken == nil || check.Broken.Kind != "report" || check.Broken.ReceiptNo != rep.No || check.Broken.Seq != 2 {
		t.Fatalf("a changed report event: %+v %+v", check, check.Broken)
	}
}

// The new roles and errands: a hotline operator reads the city's errands
// (callers ask about them), masked; a department officer and a grid
// inspector have none in their scope; none of them takes an errand step.
func TestReportRolesAndErrands(t *testing.T) {
	env := apitest.New(t)
	apitest.NewReportWorld(t, env)
	e := register(t, env, env.Login("ag1a"), env.F.ItemTownship)
	hot := env.Login("hot")
	r := env.Get("/api/v1/errands/"+e.ID, hot)
	apitest.Expect(t, r, http.StatusOK)
	if strings.Contains(string(r.Body), apitest.ValidID) || strings.Contains(string(r.Body), "13912345678") {
		t.Errorf("the hotline sees the applicant unmasked: %s", r.Body)
	}
	for _, u := range []string{"dep", "gi1"} {
		tok := env.Login(u)
		apitest.Expect(t, env.Get("/api/v1/errands/"+e.ID, tok), http.StatusNotFound)
		var page struct{ Items []any }
		env.Get("/api/v1/errands", tok).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("%s lists %d errands", u, len(page.Items))
		}
	}
	for _, u := range []string{"hot", "dep", "gi1"} {
		r := env.Post("/api/v1/errands/"+e.ID+"/forward", env.Login(u), map[string]any{"version": e.Version})
		if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
			t.Errorf("%s forwarded an errand: %d", u, r.Status)
		}
	}
}
