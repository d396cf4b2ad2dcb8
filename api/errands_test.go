package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"daiban/internal/apitest"
	"daiban/service"
)

// errand is the part of an errand response the tests read.
type errand struct {
	ID         string                     `json:"id"`
	ReceiptNo  string                     `json:"receipt_no"`
	VerifyCode *string                    `json:"verify_code"`
	Status     string                     `json:"status"`
	Version    int                        `json:"version"`
	DueAt      string                     `json:"due_at"`
	DueDate    string                     `json:"due_date"`
	HolderOrg  struct{ ID, Level string } `json:"holder_org"`
	Applicant  struct {
		Name     string `json:"name"`
		IDNumber string `json:"id_number"`
		Phone    string `json:"phone"`
	} `json:"applicant"`
	WorkingDays      *int  `json:"working_days"`
	OnTime           *bool `json:"on_time"`
	ReceiptRecovered *bool `json:"receipt_recovered"`
	Satisfaction     *int  `json:"satisfaction"`
	Overdue          bool  `json:"overdue"`
}

func register(t testing.TB, env *apitest.Env, token string, item service.Item) errand {
	t.Helper()
	r := env.Post("/api/v1/errands", token, apitest.Registration(item))
	apitest.Expect(t, r, http.StatusCreated)
	var e errand
	r.JSON(t, &e)
	return e
}

// step posts a transition at the errand's current version and returns the result.
func step(t testing.TB, env *apitest.Env, token string, e errand, action string, body map[string]any) errand {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["version"] = e.Version
	r := env.Post("/api/v1/errands/"+e.ID+"/"+action, token, body)
	apitest.Expect(t, r, http.StatusOK)
	var out errand
	r.JSON(t, &out)
	return out
}

func TestErrandFullJourney(t *testing.T) {
	env := apitest.New(t)
	agent, tw, city := env.Login("ag1a"), env.Login("tw1"), env.Login("city")

	// Monday 2026-03-02: a city-level item with a 10-working-day limit is due on Monday 16 March.
	e := register(t, env, agent, env.F.ItemCity)
	if e.Status != "registered" || e.Version != 1 || e.VerifyCode == nil || len(*e.VerifyCode) != 6 {
		t.Fatalf("registered errand = %+v", e)
	}
	if e.DueDate != "2026-03-16" || e.DueAt != "2026-03-16T23:59:59+08:00" {
		t.Errorf("due %s (%s), want 2026-03-16 end of day", e.DueDate, e.DueAt)
	}
	if _, err := service.ParseReceiptNo(e.ReceiptNo); err != nil || len(e.ReceiptNo) > 16 {
		t.Errorf("receipt number %q: %v", e.ReceiptNo, err)
	}

	e = step(t, env, agent, e, "forward", map[string]any{"note": "材料已收齐"})
	if e.Status != "forwarded" || e.HolderOrg.ID != env.F.T1.ID || e.Version != 2 {
		t.Fatalf("forwarded = %+v", e)
	}
	e = step(t, env, tw, e, "accept", nil)
	e = step(t, env, tw, e, "forward", nil)
	if e.HolderOrg.ID != env.F.City.ID {
		t.Fatalf("a city item forwarded from the township is held by %s", e.HolderOrg.ID)
	}
	e = step(t, env, city, e, "accept", nil)

	// Returned on Wednesday, resubmitted on Friday: two working days of waiting move the deadline.
	env.Clock.Set(time.Date(2026, 3, 4, 10, 0, 0, 0, service.Shanghai))
	e = step(t, env, city, e, "return", map[string]any{"missing_materials": []string{"证明材料"}, "note": "证明材料缺少盖章"})
	if e.Status != "correction" || e.HolderOrg.ID != env.F.V1a.ID {
		t.Fatalf("returned = %+v", e)
	}
	env.Clock.Set(time.Date(2026, 3, 6, 15, 0, 0, 0, service.Shanghai))
	e = step(t, env, agent, e, "resubmit", nil)
	if e.Status != "forwarded" || e.HolderOrg.ID != env.F.City.ID || e.DueDate != "2026-03-18" {
		t.Fatalf("resubmitted = %+v, want forwarded to the city and due 2026-03-18", e)
	}
	e = step(t, env, city, e, "accept", nil)
	e = step(t, env, city, e, "extend", map[string]any{"due_date": "2026-03-20", "reason": "需现场核查"})
	if e.DueDate != "2026-03-20" {
		t.Errorf("extended due date = %s", e.DueDate)
	}
	env.Clock.Set(time.Date(2026, 3, 19, 11, 0, 0, 0, service.Shanghai))
	e = step(t, env, city, e, "complete", map[string]any{"outcome": "approved"})
	if e.Status != "completed" || e.HolderOrg.ID != env.F.V1a.ID || e.OnTime == nil || !*e.OnTime {
		t.Fatalf("completed = %+v", e)
	}
	// Registered 2 March, completed 19 March: 13 working days, 2 of them waiting for correction.
	if e.WorkingDays == nil || *e.WorkingDays != 11 {
		t.Errorf("working days = %v, want 11", e.WorkingDays)
	}
	env.Clock.Advance(24 * time.Hour)
	e = step(t, env, agent, e, "deliver", map[string]any{"receipt_recovered": true, "satisfaction": 5})
	if e.Status != "delivered" || e.ReceiptRecovered == nil || !*e.ReceiptRecovered || e.Satisfaction == nil || *e.Satisfaction != 5 {
		t.Fatalf("delivered = %+v", e)
	}

	r := env.Get("/api/v1/errands/"+e.ID+"/events", tw)
	apitest.Expect(t, r, http.StatusOK)
	var evs struct {
		Items []struct {
			Seq      int    `json:"seq"`
			Action   string `json:"action"`
			PrevHash string `json:"prev_hash"`
			Hash     string `json:"hash"`
		} `json:"items"`
	}
	r.JSON(t, &evs)
	want := "register forward accept forward accept return resubmit accept extend complete deliver"
	var got []string
	prev := ""
	for i, ev := range evs.Items {
		got = append(got, ev.Action)
		if ev.Seq != i+1 || ev.PrevHash != prev || len(ev.Hash) != 64 {
			t.Errorf("event %d: seq %d, prev %q, hash %q", i+1, ev.Seq, ev.PrevHash, ev.Hash)
		}
		prev = ev.Hash
	}
	if strings.Join(got, " ") != want {
		t.Errorf("timeline = %s\nwant       %s", strings.Join(got, " "), want)
	}
	if e.Version != len(evs.Items) {
		t.Errorf("version %d, %d events", e.Version, len(evs.Items))
	}

	r = env.Get("/api/v1/errands/"+e.ID+"/form", agent)
	apitest.Expect(t, r, http.StatusOK)
	page := string(r.Body)
	for _, want := range []string{"存根联", "回执联", e.ReceiptNo, "data:image/png;base64,", "/q/" + e.ReceiptNo, "2026年3月20日", "2026年3月2日 09:00"} {
		if !strings.Contains(page, want) {
			t.Errorf("form lacks %q", want)
		}
	}
	r = env.Get("/api/v1/errands/"+e.ID, agent)
	if etag := r.Header.Get("ETag"); etag != strconv.Quote(strconv.Itoa(e.Version)) {
		t.Errorf("ETag %s, version %d", etag, e.Version)
	}
}

// Nothing secret or personal reaches the logs: not tokens, passwords, ID
// numbers, phones, codes or query strings.
func TestLogsCarryNoSecrets(t *testing.T) {
	env := apitest.New(t)
	agent, tw := env.Login("ag1a"), env.Login("tw1")
	e := register(t, env, agent, env.F.ItemTownship)
	code := *e.VerifyCode
	e = step(t, env, tw, step(t, env, agent, e, "forward", nil), "accept", nil)
	e = step(t, env, tw, e, "complete", map[string]any{"outcome": "approved"})
	step(t, env, agent, e, "deliver", map[string]any{"receipt_recovered": false, "id_number": apitest.ValidID, "satisfaction": 5})
	env.Get("/api/v1/public/receipts/"+e.ReceiptNo+"?code="+code, "")
	env.Get("/api/v1/errands?id_number="+apitest.ValidID, tw)
	env.Post("/api/v1/auth/login", "", map[string]string{"username": "ag1a", "password": "wrong-password-123"})
	env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: agent, Body: `{"applicant":{"id_number":"` + apitest.ValidID + `"`, Raw: true})
	logs := env.Logs.String()
	if !strings.Contains(logs, `"route":"/api/v1/errands/:id/deliver"`) || !strings.Contains(logs, `"user":"ag1a"`) {
		t.Fatalf("the requests were not logged:\n%s", logs)
	}
	for _, secret := range []string{agent, tw, apitest.Password, "wrong-password-123", apitest.ValidID, "13912345678", `"` + code, "=" + code, "code=", "id_number"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
}
