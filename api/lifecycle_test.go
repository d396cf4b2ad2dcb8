package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"daiban/internal/apitest"
	"daiban/internal/testdb"
	"daiban/service"
)

func countRows(t *testing.T, env *apitest.Env, table string) int64 {
	t.Helper()
	var n int64
	if err := env.Store.DB().Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRegistrationRefusals(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	good := apitest.Registration(env.F.ItemTownship)
	with := func(change func(m map[string]any)) map[string]any {
		m := apitest.Registration(env.F.ItemTownship)
		change(m)
		return m
	}
	applicant := func(m map[string]any) map[string]any { return m["applicant"].(map[string]any) }
	before := countRows(t, env, "errands")
	for _, c := range []struct {
		name  string
		token string
		body  any
		want  int
		field string
	}{
		{"unknown item", agent, with(func(m map[string]any) { m["item_code"] = "NOPE" }), 422, "item_code"},
		{"inactive item", agent, with(func(m map[string]any) { m["item_code"] = "OLD" }), 422, "item_code"},
		{"bad check digit", agent, with(func(m map[string]any) { applicant(m)["id_number"] = "110105194912310021" }), 422, "applicant.id_number"},
		{"impossible birth date", agent, with(func(m map[string]any) { applicant(m)["id_number"] = "110105194902300026" }), 422, "applicant.id_number"},
		{"bad phone", agent, with(func(m map[string]any) { applicant(m)["phone"] = "1234" }), 422, "applicant.phone"},
		{"no name", agent, with(func(m map[string]any) { applicant(m)["name"] = "" }), 422, "applicant.name"},
		{"missing material", agent, with(func(m map[string]any) { m["materials"] = []string{"身份证"} }), 422, "materials"},
		{"stranger material", agent, with(func(m map[string]any) { m["materials"] = []string{"身份证", "户口簿", "护照"} }), 422, "materials[2]"},
		{"unknown channel", agent, with(func(m map[string]any) { m["channel"] = "fax" }), 422, "channel"},
		{"unknown field", agent, with(func(m map[string]any) { m["priority"] = "high" }), 400, "priority"},
		{"wrong type", agent, with(func(m map[string]any) { m["materials"] = "身份证" }), 400, "materials"},
		{"control characters", agent, with(func(m map[string]any) { applicant(m)["name"] = "张\u0000三" }), 422, "applicant.name"},
		{"not an agent", env.Login("tw1"), good, 403, ""},
		{"not signed in", "", good, 401, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: c.token, Body: c.body, Raw: true})
			apitest.Expect(t, r, c.want)
			if c.field != "" {
				if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != c.field {
					t.Errorf("errors %+v, want field %q", p.Errors, c.field)
				}
			}
		})
	}
	// Every refusal in one answer, the item's materials beside the applicant's fields.
	r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: agent, Raw: true, Body: with(func(m map[string]any) {
		applicant(m)["id_number"] = "110105194912310021"
		applicant(m)["phone"] = "1234"
		m["materials"] = []string{"身份证", "护照"}
	})})
	apitest.Expect(t, r, http.StatusUnprocessableEntity)
	var named []string
	for _, e := range r.Problem(t).Errors {
		named = append(named, e.Field)
	}
	if got, want := strings.Join(named, " "), "applicant.id_number applicant.phone materials[1] materials"; got != want {
		t.Errorf("fields %q, want %q", got, want)
	}
	for name, body := range map[string]string{"malformed": `{"item_code":`, "array": `[]`, "invalid UTF-8": "{\"item_code\":\"\xff\xfe\"}"} {
		r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: agent, Body: body, Raw: true})
		apitest.Expect(t, r, http.StatusBadRequest)
		_ = name
	}
	r = env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: agent, Body: strings.Repeat("x", 300<<10), Raw: true})
	apitest.Expect(t, r, http.StatusRequestEntityTooLarge)
	if after := countRows(t, env, "errands"); after != before {
		t.Fatalf("refused registrations wrote %d errands", after-before)
	}
	if n := countRows(t, env, "events"); n != 0 {
		t.Fatalf("refused registrations wrote %d events", n)
	}
}

// state reads an errand's version and event count straight from the store.
func state(t *testing.T, env *apitest.Env, id string) (string, int, int64) {
	t.Helper()
	var row struct {
		Status  string
		Version int
	}
	if err := env.Store.DB().Table("errands").Select("status, version").Where("id = ?", id).Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	var events int64
	env.Store.DB().Table("events").Where("errand_id = ?", id).Count(&events)
	return row.Status, row.Version, events
}

func TestTransitionRefusals(t *testing.T) {
	env := apitest.New(t)
	agent, tw1, tw2, city := env.Login("ag1a"), env.Login("tw1"), env.Login("tw2"), env.Login("city")
	townItem := register(t, env, agent, env.F.ItemTownship)
	cityItem := register(t, env, agent, env.F.ItemCity)

	refuse := func(name, token string, e errand, action string, body map[string]any, want int, code, field string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			st, v, n := state(t, env, e.ID)
			if body == nil {
				body = map[string]any{}
			}
			if _, ok := body["version"]; !ok {
				body["version"] = v
			}
			r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands/" + e.ID + "/" + action, Token: token, Body: body, Raw: true})
			apitest.Expect(t, r, want)
			p := r.Problem(t)
			if code != "" && p.Code != code {
				t.Errorf("code %q, want %q (%s)", p.Code, code, p.Detail)
			}
			if field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != field) {
				t.Errorf("errors %+v, want field %q", p.Errors, field)
			}
			if st2, v2, n2 := state(t, env, e.ID); st2 != st || v2 != v || n2 != n {
				t.Errorf("a refused %s changed the errand: %s v%d (%d events) → %s v%d (%d events)", action, st, v, n, st2, v2, n2)
			}
		})
	}
	refuse("deliver before completion", agent, townItem, "deliver", map[string]any{"receipt_recovered": true}, 409, "invalid_transition", "")
	refuse("accept before forwarding", tw1, townItem, "accept", nil, 409, "invalid_transition", "")
	refuse("an officer forwards from the village", tw1, townItem, "forward", nil, 403, "wrong_organisation", "")
	refuse("another village's agent", env.Login("ag1b"), townItem, "forward", nil, 404, "not_found", "")
	refuse("another township's agent", env.Login("ag2a"), townItem, "forward", nil, 404, "not_found", "")
	refuse("a supervisor", env.Login("super"), townItem, "forward", nil, 403, "role_not_allowed", "")
	refuse("no version", agent, townItem, "forward", map[string]any{"version": 0}, 422, "validation_failed", "version")
	refuse("stale version", agent, townItem, "forward", map[string]any{"version": 7}, 409, "version_conflict", "")

	townItem = step(t, env, agent, townItem, "forward", nil)
	cityItem = step(t, env, agent, cityItem, "forward", nil)
	refuse("accept by another township", tw2, townItem, "accept", nil, 404, "not_found", "")
	refuse("accept by the city", city, townItem, "accept", nil, 403, "wrong_organisation", "")
	townItem = step(t, env, tw1, townItem, "accept", nil)
	cityItem = step(t, env, tw1, cityItem, "accept", nil)

	refuse("forward a township item", tw1, townItem, "forward", nil, 409, "decided_here", "")
	refuse("complete a city item at the township", tw1, cityItem, "complete", map[string]any{"outcome": "approved"}, 409, "wrong_level", "")
	refuse("refuse without a reason", tw1, townItem, "complete", map[string]any{"outcome": "refused"}, 422, "validation_failed", "reason")
	refuse("unknown outcome", tw1, townItem, "complete", map[string]any{"outcome": "maybe"}, 422, "validation_failed", "outcome")
	refuse("return naming nothing", tw1, townItem, "return", map[string]any{"missing_materials": []string{}}, 422, "validation_failed", "missing_materials")
	refuse("return naming a stranger material", tw1, townItem, "return", map[string]any{"missing_materials": []string{"护照"}}, 422, "validation_failed", "missing_materials[0]")
	refuse("a field of another step", tw1, townItem, "accept", map[string]any{"outcome": "approved"}, 400, "unknown_field", "outcome")
	refuse("a field spelt in capitals", tw1, townItem, "complete", map[string]any{"Outcome": "approved"}, 400, "unknown_field", "Outcome")
	refuse("a material of the wrong type", tw1, townItem, "return", map[string]any{"missing_materials": []any{"户口簿", 7}}, 400, "invalid_type", "missing_materials[1]")

	cityItem = step(t, env, tw1, cityItem, "forward", nil)
	refuse("forward from the city", city, step(t, env, city, cityItem, "accept", nil), "forward", nil, 403, "role_not_allowed", "")

	townItem = step(t, env, tw1, townItem, "complete", map[string]any{"outcome": "refused", "reason": "不符合条件"})
	refuse("grade out of range", agent, townItem, "deliver", map[string]any{"receipt_recovered": true, "satisfaction": 6}, 422, "validation_failed", "satisfaction")
	refuse("lost receipt, wrong ID", agent, townItem, "deliver", map[string]any{"receipt_recovered": false, "id_number": "350182199001011230"}, 422, "validation_failed", "id_number")
	refuse("lost receipt, no ID", agent, townItem, "deliver", map[string]any{"receipt_recovered": false}, 422, "validation_failed", "id_number")
	refuse("withdraw after completion", agent, townItem, "withdraw", map[string]any{"reason": "x"}, 409, "invalid_transition", "")
	refuse("deliver by the other agent's village", env.Login("ag1b"), townItem, "deliver", map[string]any{"receipt_recovered": true}, 404, "not_found", "")

	// A colleague in the same village may deliver; a lost receipt is checked against the ID.
	e := step(t, env, env.Login("ag1a2"), townItem, "deliver", map[string]any{"receipt_recovered": false, "id_number": strings.ToLower(apitest.ValidID)})
	if e.ReceiptRecovered == nil || *e.ReceiptRecovered {
		t.Errorf("lost receipt recorded as %v", e.ReceiptRecovered)
	}
	// Stale version through If-Match, then the right one.
	fresh := register(t, env, agent, env.F.ItemTownship)
	r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands/" + fresh.ID + "/forward", Token: agent, Body: map[string]any{}, Header: map[string]string{"If-Match": `"9"`}})
	apitest.Expect(t, r, http.StatusConflict)
	if p := r.Problem(t); p.CurrentVersion == nil || *p.CurrentVersion != 1 {
		t.Errorf("conflict without the current version: %s", r.Body)
	}
	r = env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands/" + fresh.ID + "/forward", Token: agent, Body: map[string]any{}, Header: map[string]string{"If-Match": `"1"`}})
	apitest.Expect(t, r, http.StatusOK)
	r = env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands/" + fresh.ID + "/withdraw", Token: agent, Body: map[string]any{"version": 2, "reason": "x"}, Header: map[string]string{"If-Match": `"3"`}})
	apitest.Expect(t, r, http.StatusUnprocessableEntity)
	apitest.Expect(t, env.Post("/api/v1/errands/"+fresh.ID+"/withdraw", agent, map[string]any{"version": 2, "reason": "申请人撤回"}), http.StatusOK)
	apitest.Expect(t, env.Get("/api/v1/errands/no-such-id", agent), http.StatusNotFound)
}

// Two officers accept the same errand at the same version at once: exactly
// one wins, the other gets a version conflict, and one event is written.
func TestConcurrentTransitions(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	tokens := []string{env.Login("tw1"), env.Login("tw1")}
	for round := 0; round < 8; round++ {
		e := step(t, env, agent, register(t, env, agent, env.F.ItemTownship), "forward", nil)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = env.Post("/api/v1/errands/"+e.ID+"/accept", tokens[i], map[string]any{"version": e.Version}).Status
			}()
		}
		wg.Wait()
		ok, conflict := 0, 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
				conflict++
			}
		}
		if ok != 1 || conflict != 1 {
			t.Fatalf("round %d: statuses %v, want one 200 and one 409", round, statuses)
		}
		if st, v, n := state(t, env, e.ID); st != "processing" || v != 3 || n != 3 {
			t.Fatalf("round %d: %s v%d with %d events", round, st, v, n)
		}
	}
}

func TestIdempotency(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	body := apitest.Registration(env.F.ItemTownship)
	post := func(token, key string, body any) *apitest.Response {
		return env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: token, Body: body, Header: map[string]string{"Idempotency-Key": key}})
	}
	first := post(agent, "k-1", body)
	apitest.Expect(t, first, http.StatusCreated)
	again := post(agent, "k-1", body)
	apitest.Expect(t, again, http.StatusCreated)
	var a, b errand
	first.JSON(t, &a)
	again.JSON(t, &b)
	if a.ID != b.ID || a.ReceiptNo != b.ReceiptNo || *a.VerifyCode != *b.VerifyCode || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay differs: %+v vs %+v", a, b)
	}
	if n := countRows(t, env, "errands"); n != 1 {
		t.Fatalf("%d errands after a retried registration", n)
	}
	other := apitest.Registration(env.F.ItemTownship)
	other["note"] = "changed"
	r := post(agent, "k-1", other)
	apitest.Expect(t, r, http.StatusUnprocessableEntity)
	if p := r.Problem(t); p.Code != "idempotency_key_reused" {
		t.Errorf("reused key: %s", r.Body)
	}
	// Keys belong to their user: another agent's k-1 is a new registration.
	apitest.Expect(t, post(env.Login("ag1a2"), "k-1", body), http.StatusCreated)
	if n := countRows(t, env, "errands"); n != 2 {
		t.Fatalf("%d errands, want 2", n)
	}

	// A retried transition answers its first result even after the errand moved on.
	fwd := map[string]any{"version": 1}
	key := map[string]string{"Idempotency-Key": "fwd-1"}
	r1 := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands/" + a.ID + "/forward", Token: agent, Body: fwd, Header: key})
	apitest.Expect(t, r1, http.StatusOK)
	step(t, env, env.Login("tw1"), func() errand { var e errand; r1.JSON(t, &e); return e }(), "accept", nil)
	r2 := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands/" + a.ID + "/forward", Token: agent, Body: fwd, Header: key})
	apitest.Expect(t, r2, http.StatusOK)
	if string(r1.Body) != string(r2.Body) {
		t.Errorf("retried forward answered differently:\n%s\n%s", r1.Body, r2.Body)
	}
	if _, v, n := state(t, env, a.ID); v != 3 || n != 3 {
		t.Errorf("retried forward wrote again: v%d, %d events", v, n)
	}
	// So does a retried registration, rebuilt from the errand that moved on.
	r3 := post(agent, "k-1", body)
	apitest.Expect(t, r3, http.StatusCreated)
	if string(r3.Body) != string(first.Body) {
		t.Errorf("retried registration after the errand moved on answered differently:\n%s\n%s", first.Body, r3.Body)
	}

	// Eight clients retrying one registration at once create it once.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := post(agent, "storm", body)
			if r.Status == http.StatusCreated {
				var e errand
				r.JSON(t, &e)
				ids[i] = e.ID
			} else if r.Status != http.StatusConflict { // in flight: the client retries
				t.Errorf("storm: %d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	distinct := map[string]bool{}
	for _, id := range ids {
		if id != "" {
			distinct[id] = true
		}
	}
	if len(distinct) != 1 || countRows(t, env, "errands") != 3 {
		t.Fatalf("a storm of retries created %d errands (%d ids)", countRows(t, env, "errands")-2, len(distinct))
	}
	if n := countRows(t, env, "idempotency_keys"); n != 4 {
		t.Errorf("%d idempotency keys in the database, want 4", n)
	}
}

func TestPublicLookup(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	e := register(t, env, agent, env.F.ItemTownship)
	e = step(t, env, agent, e, "forward", nil)
	url := "/api/v1/public/receipts/" + e.ReceiptNo + "?code=" + *e.VerifyCode
	r := env.Get(url, "")
	apitest.Expect(t, r, http.StatusOK)
	var p struct {
		Status        string `json:"status"`
		StatusLabel   string `json:"status_label"`
		ApplicantName string `json:"applicant_name"`
		AgentName     string `json:"agent_name"`
		Timeline      []struct {
			OrgName string `json:"org_name"`
		} `json:"timeline"`
	}
	r.JSON(t, &p)
	if p.Status != "forwarded" || p.StatusLabel != "已报送办理单位" || p.ApplicantName != "张*丰" || p.AgentName != "甲一代办员" || len(p.Timeline) != 2 || p.Timeline[1].OrgName != "甲一村" {
		t.Errorf("public view = %+v", p)
	}
	body := string(r.Body)
	for _, private := range []string{apitest.ValidID, "13912345678", "甲一村12号", "张三丰", "fixture", *e.VerifyCode, e.ID} {
		if strings.Contains(body, private) {
			t.Errorf("the public view shows %q: %s", private, body)
		}
	}

	unknown := service.FormatReceiptNo(env.Clock.Now(), 999999)
	wrongCode := env.Get("/api/v1/public/receipts/"+e.ReceiptNo+"?code=000000", "")
	noSuch := env.Get("/api/v1/public/receipts/"+unknown+"?code="+*e.VerifyCode, "")
	apitest.Expect(t, wrongCode, http.StatusNotFound)
	apitest.Expect(t, noSuch, http.StatusNotFound)
	if pw, pn := wrongCode.Problem(t), noSuch.Problem(t); pw.Code != pn.Code || pw.Detail != pn.Detail {
		t.Errorf("a wrong code (%+v) and an unknown number (%+v) differ", pw, pn)
	}
	typo := e.ReceiptNo[:3] + string("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(strings.IndexByte("0123456789ABCDEFGHJKMNPQRSTVWXYZ", e.ReceiptNo[3])+1)%32]) + e.ReceiptNo[4:]
	r = env.Get("/api/v1/public/receipts/"+typo+"?code="+*e.VerifyCode, "")
	apitest.Expect(t, r, http.StatusBadRequest)
	if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != "receipt_no" {
		t.Errorf("typo: %s", r.Body)
	}
	r = env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/public/receipts/" + e.ReceiptNo + "?code=12ab", Raw: true})
	apitest.Expect(t, r, http.StatusBadRequest)

	// Five wrong codes from this client hold it off the number for the rest
	// of the window, right code or not (the wrong code above was the first).
	for i := 0; i < 4; i++ {
		apitest.Expect(t, env.Get(fmt.Sprintf("/api/v1/public/receipts/%s?code=%06d", e.ReceiptNo, 100000+i), ""), http.StatusNotFound)
	}
	r = env.Get(url, "")
	apitest.Expect(t, r, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	// An unknown number holds off the same way, so the refusal tells nothing either.
	for i := 0; i < 5; i++ {
		env.Get(fmt.Sprintf("/api/v1/public/receipts/%s?code=%06d", unknown, i), "")
	}
	apitest.Expect(t, env.Get("/api/v1/public/receipts/"+unknown+"?code=123456", ""), http.StatusTooManyRequests)
	env.Clock.Advance(61 * time.Minute)
	apitest.Expect(t, env.Get(url, ""), http.StatusOK)
}

// TestPublicWordsOfReturnAndRefusal: the public view carries the officer's
// instruction with a return, never the staff note, and a refusal reads as
// one, on the receipt and on its completion step.
func TestPublicWordsOfReturnAndRefusal(t *testing.T) {
	env := apitest.New(t)
	agent, tw := env.Login("ag1a"), env.Login("tw1")
	e := register(t, env, agent, env.F.ItemTownship)
	code := *e.VerifyCode
	e = step(t, env, agent, e, "forward", nil)
	e = step(t, env, tw, e, "accept", nil)
	bad := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands/" + e.ID + "/return", Token: tw, Raw: true,
		Body: map[string]any{"version": e.Version, "missing_materials": []string{env.F.ItemTownship.Materials[0]}, "reason": strings.Repeat("长", 501)}})
	apitest.Expect(t, bad, http.StatusUnprocessableEntity)
	if p := bad.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != "reason" {
		t.Errorf("a 501-character instruction: %s", bad.Body)
	}
	e = step(t, env, tw, e, "return", map[string]any{"missing_materials": []string{env.F.ItemTownship.Materials[0]},
		"reason": "户口簿需户主签字", "note": "内部备注"})
	type view struct {
		StatusLabel string `json:"status_label"`
		Timeline    []struct {
			Action  string  `json:"action"`
			Outcome *string `json:"outcome"`
			Detail  string  `json:"detail"`
		} `json:"timeline"`
	}
	look := func() (view, string) {
		t.Helper()
		r := env.Get("/api/v1/public/receipts/"+e.ReceiptNo+"?code="+code, "")
		apitest.Expect(t, r, http.StatusOK)
		var v view
		r.JSON(t, &v)
		return v, string(r.Body)
	}
	v, body := look()
	last := v.Timeline[len(v.Timeline)-1]
	if v.StatusLabel != "需要补充材料" || last.Action != "return" || last.Detail != "户口簿需户主签字" || last.Outcome != nil {
		t.Errorf("during correction the public view says %+v", v)
	}
	if strings.Contains(body, "内部备注") {
		t.Error("the public view shows the staff note")
	}
	e = step(t, env, agent, e, "resubmit", nil)
	e = step(t, env, tw, e, "accept", nil)
	e = step(t, env, tw, e, "complete", map[string]any{"outcome": "refused", "reason": "已在外地参保"})
	v, _ = look()
	last = v.Timeline[len(v.Timeline)-1]
	if v.StatusLabel != "不予办理" || last.Action != "complete" || last.Outcome == nil || *last.Outcome != "refused" || last.Detail != "已在外地参保" {
		t.Errorf("after a refusal the public view says %+v", v)
	}
}

func TestPublicRateLimitPerClient(t *testing.T) {
	env := apitest.New(t, apitest.Options{PublicRate: 1})
	agent := env.Login("ag1a")
	e := register(t, env, agent, env.F.ItemTownship)
	url := "/api/v1/public/receipts/" + e.ReceiptNo + "?code=" + *e.VerifyCode
	limited := 0
	for i := 0; i < 5; i++ {
		if env.Get(url, "").Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Errorf("five quick lookups from one client at 1 per second were never limited")
	}
}

func TestListsAndScope(t *testing.T) {
	env := apitest.New(t)
	a1, a1b, a2 := env.Login("ag1a"), env.Login("ag1b"), env.Login("ag2a")
	var mine []errand
	for i := 0; i < 5; i++ {
		mine = append(mine, register(t, env, a1, env.F.ItemTownship))
		env.Clock.Advance(time.Minute)
	}
	register(t, env, a1b, env.F.ItemCity)
	register(t, env, a2, env.F.ItemTownship)
	step(t, env, a1, mine[0], "forward", nil)

	count := func(token, query string) int {
		t.Helper()
		r := env.Get("/api/v1/errands"+query, token)
		apitest.Expect(t, r, http.StatusOK)
		var page struct {
			Items []errand `json:"items"`
		}
		r.JSON(t, &page)
		return len(page.Items)
	}
	for _, c := range []struct {
		who, query string
		want       int
	}{
		{"ag1a", "", 5},
		{"ag1b", "", 1},
		{"tw1", "", 6},
		{"tw2", "", 1},
		{"city", "", 7},
		{"super", "", 7},
		{"tw1", "?org_id=" + env.F.V1b.ID, 1},
		{"city", "?org_id=" + env.F.T2.ID, 1},
		{"tw1", "?status=forwarded", 1},
		{"tw1", "?status=registered,forwarded", 6},
		{"tw1", "?holder_org_id=" + env.F.T1.ID, 1},
		{"city", "?holder_org_id=" + env.F.T1.ID + "&status=forwarded", 1},
		{"tw1", "?holder_org_id=" + env.F.V1a.ID, 4}, // a village holds what it took in and has not sent up
		{"ag1a", "?holder_org_id=" + env.F.V1a.ID, 4},
		{"tw1", "?holder_org_id=" + env.F.V1b.ID, 1},
		{"tw2", "?holder_org_id=" + env.F.V1a.ID, 0}, // outside the own subtree
		{"city", "?holder_org_id=" + env.F.City.ID, 0},
		{"city", "?item=CTY", 1},
		{"city", "?from=2026-03-02&to=2026-03-02", 7},
		{"city", "?from=2026-03-03", 0},
		{"city", "?overdue=true", 0},
		{"city", "?id_number=" + apitest.ValidID, 7},
		{"city", "?receipt_no=" + mine[2].ReceiptNo, 1},
	} {
		if got := count(env.Login(c.who), c.query); got != c.want {
			t.Errorf("%s %s: %d errands, want %d", c.who, c.query, got, c.want)
		}
	}
	// Outside one's scope the organisation does not exist.
	r := env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/errands?org_id=" + env.F.T2.ID, Token: env.Login("tw1"), Raw: true})
	apitest.Expect(t, r, http.StatusNotFound)
	if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != "org_id" {
		t.Errorf("out-of-scope org: %s", r.Body)
	}
	for _, q := range []string{"?status=lost", "?from=2026-13-01", "?from=2026-03-05&to=2026-03-01", "?overdue=yes", "?cursor=@@@", "?id_number=123", "?receipt_no=XXXX"} {
		apitest.Expect(t, env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/errands" + q, Token: a1, Raw: true}), http.StatusBadRequest)
	}

	// Lists mask the applicant; the agent's own detail does not.
	r = env.Get("/api/v1/errands?limit=1", a1)
	var page struct {
		Items []errand `json:"items"`
		Next  *string  `json:"next_cursor"`
	}
	r.JSON(t, &page)
	if got := page.Items[0].Applicant.IDNumber; got != service.MaskIDNumber(apitest.ValidID) || page.Items[0].Applicant.Phone != "139****5678" {
		t.Errorf("list shows %s / %s", got, page.Items[0].Applicant.Phone)
	}
	if strings.Contains(string(r.Body), apitest.ValidID) {
		t.Errorf("a list carries the full ID number")
	}
	var detail errand
	env.Get("/api/v1/errands/"+mine[0].ID, a1).JSON(t, &detail)
	if detail.Applicant.IDNumber != apitest.ValidID {
		t.Errorf("the agent's detail shows %s", detail.Applicant.IDNumber)
	}
	env.Get("/api/v1/errands/"+mine[0].ID, env.Login("super")).JSON(t, &detail)
	if detail.Applicant.IDNumber == apitest.ValidID || detail.VerifyCode != nil {
		t.Errorf("a supervisor's detail shows the ID %s or the code %v", detail.Applicant.IDNumber, detail.VerifyCode)
	}

	// Keyset pages walk every errand once, newest first.
	var seen []string
	cursor := ""
	for i := 0; i < 10; i++ {
		path := "/api/v1/errands?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		var p struct {
			Items []errand `json:"items"`
			Next  *string  `json:"next_cursor"`
		}
		env.Get(path, a1).JSON(t, &p)
		for _, e := range p.Items {
			seen = append(seen, e.ID)
		}
		if p.Next == nil {
			break
		}
		cursor = *p.Next
	}
	if len(seen) != 5 || seen[0] != mine[4].ID || seen[4] != mine[0].ID {
		t.Errorf("pages gave %d errands: %v", len(seen), seen)
	}
}

// TestUrge: 催办 is the supervisors' event on an open errand: the status
// stays, the errand counts it, the warnings list and its download carry it
// with the working days overdue; nobody else may urge, nor urge a closed one.
func TestUrge(t *testing.T) {
	env := apitest.New(t) // Monday 2026-03-02
	agent, tw, super := env.Login("ag1a"), env.Login("tw1"), env.Login("super")
	e := step(t, env, tw, step(t, env, agent, register(t, env, agent, env.F.ItemTownship), "forward", nil), "accept", nil)
	for _, who := range []string{agent, tw, env.Login("city"), env.Login("admin")} {
		r := env.Post("/api/v1/errands/"+e.ID+"/urge", who, map[string]any{"version": e.Version})
		apitest.Expect(t, r, http.StatusForbidden)
	}
	env.Clock.Set(time.Date(2026, 3, 12, 10, 0, 0, 0, service.Shanghai)) // due 9 March: three working days late
	u := step(t, env, super, e, "urge", map[string]any{"note": "本周内办结"})
	if u.Status != "processing" || u.Version != e.Version+1 {
		t.Errorf("after 催办: %+v", u)
	}
	r := env.Get("/api/v1/errands/"+e.ID+"/events", tw)
	if !strings.Contains(string(r.Body), `"action":"urge"`) || !strings.Contains(string(r.Body), "本周内办结") {
		t.Errorf("the urge is not in the ledger: %s", r.Body)
	}
	r = env.Get("/api/v1/supervision/warnings", super)
	apitest.Expect(t, r, http.StatusOK)
	var page struct {
		Items []struct {
			DaysOverdue int `json:"days_overdue"`
			Errand      struct {
				ID      string  `json:"id"`
				Urges   int     `json:"urges"`
				UrgedAt *string `json:"urged_at"`
			} `json:"errand"`
		} `json:"items"`
	}
	r.JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].DaysOverdue != 3 || page.Items[0].Errand.Urges != 1 || page.Items[0].Errand.UrgedAt == nil {
		t.Errorf("warnings: %s", r.Body)
	}
	csv := env.Get("/api/v1/supervision/warnings?format=csv", super)
	apitest.Expect(t, csv, http.StatusOK)
	if lines := strings.Split(strings.TrimSpace(string(csv.Body)), "\n"); len(lines) != 2 || !strings.Contains(lines[1], e.ReceiptNo) || !strings.Contains(lines[1], ",3,1,") {
		t.Errorf("warnings CSV: %s", csv.Body)
	}
	done := step(t, env, tw, u, "complete", map[string]any{"outcome": "approved"})
	r = env.Post("/api/v1/errands/"+e.ID+"/urge", super, map[string]any{"version": done.Version})
	apitest.Expect(t, r, http.StatusConflict)
}

// TestCorrect: the intake agent corrects name, phone and address before
// completion; the event keeps old and new (masked for the supervisor), a
// retried registration still answers as registered, and nobody else, no
// empty change and no completed errand may be corrected.
func TestCorrect(t *testing.T) {
	env := apitest.New(t)
	agent, tw, super := env.Login("ag1a"), env.Login("tw1"), env.Login("super")
	body := apitest.Registration(env.F.ItemTownship)
	r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: agent, Body: body, Header: map[string]string{"Idempotency-Key": "c-1"}})
	apitest.Expect(t, r, http.StatusCreated)
	var e errand
	r.JSON(t, &e)
	orig := e.Applicant
	fix := map[string]any{"applicant": map[string]any{"name": "张三峰", "phone": orig.Phone, "address": "甲一村12号"}, "reason": "名字录错"}
	apitest.Expect(t, env.Post("/api/v1/errands/"+e.ID+"/correct", tw, map[string]any{"version": e.Version, "applicant": fix["applicant"], "reason": "x"}), http.StatusForbidden)
	same := env.Post("/api/v1/errands/"+e.ID+"/correct", agent, map[string]any{"version": e.Version, "reason": "x",
		"applicant": map[string]any{"name": orig.Name, "phone": orig.Phone, "address": "甲一村12号"}})
	apitest.Expect(t, same, http.StatusUnprocessableEntity)
	if p := same.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != "applicant" {
		t.Errorf("a correction of nothing: %s", same.Body)
	}
	c := step(t, env, agent, e, "correct", fix)
	if c.Applicant.Name != "张三峰" || c.ReceiptNo != e.ReceiptNo || c.Status != "registered" {
		t.Errorf("after the correction: %+v", c)
	}
	events := func(token string) string {
		r := env.Get("/api/v1/errands/"+e.ID+"/events", token)
		apitest.Expect(t, r, http.StatusOK)
		return string(r.Body)
	}
	if b := events(agent); !strings.Contains(b, `{"field":"applicant.name","from":"张三丰","to":"张三峰"}`) || strings.Contains(b, "applicant.phone") {
		t.Errorf("the agent's events: %s", b)
	}
	if b := events(super); !strings.Contains(b, `{"field":"applicant.name","from":"张*丰","to":"张*峰"}`) || strings.Contains(b, "张三峰") {
		t.Errorf("the supervisor's events: %s", b)
	}
	// The retried registration answers as it first did, name included.
	again := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: agent, Body: body, Header: map[string]string{"Idempotency-Key": "c-1"}})
	apitest.Expect(t, again, http.StatusCreated)
	var replay errand
	again.JSON(t, &replay)
	if replay.Applicant.Name != orig.Name || replay.Version != 1 {
		t.Errorf("the replayed registration: %+v", replay)
	}
	// The ledger still verifies.
	apitest.Expect(t, env.Get("/api/v1/admin/ledger-check", env.Login("admin")), http.StatusOK)
	c = step(t, env, tw, step(t, env, agent, c, "forward", nil), "accept", nil)
	c = step(t, env, tw, c, "complete", map[string]any{"outcome": "approved"})
	apitest.Expect(t, env.Post("/api/v1/errands/"+e.ID+"/correct", agent, map[string]any{"version": c.Version, "applicant": fix["applicant"], "reason": "x"}), http.StatusConflict)
}

func TestWarnings(t *testing.T) {
	env := apitest.New(t) // Monday 2026-03-02
	agent, tw := env.Login("ag1a"), env.Login("tw1")
	soon := step(t, env, agent, register(t, env, agent, env.F.ItemTownship), "forward", nil) // due Monday 9 March
	late := step(t, env, agent, register(t, env, agent, env.F.ItemTownship), "forward", nil)
	late = step(t, env, tw, late, "accept", nil)
	paused := step(t, env, tw, step(t, env, agent, register(t, env, agent, env.F.ItemTownship), "forward", nil), "accept", nil)
	paused = step(t, env, tw, paused, "return", map[string]any{"missing_materials": []string{"户口簿"}})
	calm := step(t, env, agent, register(t, env, agent, env.F.ItemCity), "forward", nil) // due 16 March

	warnings := func() map[string]string {
		r := env.Get("/api/v1/supervision/warnings", env.Login("super"))
		apitest.Expect(t, r, http.StatusOK)
		var out struct {
			Items []struct {
				Level  string `json:"level"`
				Errand errand `json:"errand"`
			} `json:"items"`
		}
		r.JSON(t, &out)
		m := map[string]string{}
		for _, w := range out.Items {
			m[w.Errand.ID] = w.Level
		}
		return m
	}
	if w := warnings(); len(w) != 0 {
		t.Errorf("on day one: %v", w)
	}
	// The console's totals count what the list shows, over all its pages.
	counts := func(when string, want service.WarningCounts) {
		t.Helper()
		got, err := env.Svc.CountWarnings(context.Background(), env.F.Actor("super"), service.ErrandQuery{})
		if err != nil || got != want {
			t.Errorf("%s: warning totals %+v, %v; want %+v", when, got, err, want)
		}
	}
	counts("day one", service.WarningCounts{})
	env.Clock.Set(time.Date(2026, 3, 6, 9, 0, 0, 0, service.Shanghai)) // Friday: Monday is one working day away
	w := warnings()
	if w[soon.ID] != "yellow" || w[late.ID] != "yellow" || w[calm.ID] != "" || w[paused.ID] != "" {
		t.Errorf("Friday: %v", w)
	}
	counts("Friday", service.WarningCounts{Yellow: 2})
	env.Clock.Set(time.Date(2026, 3, 10, 9, 0, 0, 0, service.Shanghai)) // Tuesday: overdue
	w = warnings()
	if w[soon.ID] != "red" || w[late.ID] != "red" || w[calm.ID] != "" || w[paused.ID] != "" {
		t.Errorf("Tuesday: %v (the paused one waits for correction)", w)
	}
	counts("Tuesday", service.WarningCounts{Red: 2})
	var overdue struct {
		Items []errand `json:"items"`
	}
	env.Get("/api/v1/errands?overdue=true", tw).JSON(t, &overdue)
	if len(overdue.Items) != 2 {
		t.Errorf("overdue filter: %d errands", len(overdue.Items))
	}
	// Agents see the warnings of their village only.
	r := env.Get("/api/v1/supervision/warnings", env.Login("ag2a"))
	if strings.Contains(string(r.Body), soon.ID) {
		t.Errorf("another township's agent sees the warning")
	}
}

func TestLedgerTamperDetected(t *testing.T) {
	env := apitest.New(t)
	agent := env.Login("ag1a")
	e := step(t, env, agent, register(t, env, agent, env.F.ItemTownship), "forward", map[string]any{"note": "原始备注"})
	register(t, env, agent, env.F.ItemCity)
	admin := env.Login("admin")
	r := env.Get("/api/v1/admin/ledger-check", admin)
	apitest.Expect(t, r, http.StatusOK)
	if m := r.Map(t); m["ok"] != true || m["errands"] != float64(2) || m["events"] != float64(3) {
		t.Fatalf("clean ledger: %s", r.Body)
	}
	apitest.Expect(t, env.Get("/api/v1/admin/ledger-check", agent), http.StatusForbidden)

	db := env.Store.DB()
	if err := db.Exec("UPDATE events SET note = 'edited' WHERE errand_id = ?", e.ID).Error; err == nil {
		t.Fatalf("the database let an event be updated")
	}
	if err := db.Exec("DELETE FROM events WHERE errand_id = ?", e.ID).Error; err == nil {
		t.Fatalf("the database let an event be deleted")
	}
	// Someone with the database's keys disables the guard and edits history.
	if testdb.PostgresURL() != "" {
		if err := db.Exec("ALTER TABLE events DISABLE TRIGGER events_no_update").Error; err != nil {
			t.Fatal(err)
		}
	} else if err := db.Exec("DROP TRIGGER events_no_update").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE events SET note = '篡改' WHERE errand_id = ? AND seq = 2", e.ID).Error; err != nil {
		t.Fatal(err)
	}
	r = env.Get("/api/v1/admin/ledger-check", env.Login("super"))
	apitest.Expect(t, r, http.StatusOK)
	var check struct {
		OK     bool `json:"ok"`
		Broken struct {
			ErrandID  string `json:"errand_id"`
			ReceiptNo string `json:"receipt_no"`
			Seq       int    `json:"seq"`
		} `json:"broken"`
	}
	r.JSON(t, &check)
	if check.OK || check.Broken.ErrandID != e.ID || check.Broken.Seq != 2 || check.Broken.ReceiptNo != e.ReceiptNo {
		t.Errorf("tampering not found: %s", r.Body)
	}
}
