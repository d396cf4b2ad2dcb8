package api_test

import (
	"net/http"
	"testing"

	"daiban/internal/apitest"
)

// TestPatchItemTerms: the admin changes an item's time limit, fee and
// materials through the API; an errand registered before keeps its due date
// and limit, one registered after is promised under the new limit. Others
// get 403, bad terms 422 naming the field, and nothing changes.
func TestPatchItemTerms(t *testing.T) {
	env := apitest.New(t)
	admin, agent := env.Login("admin"), env.Login("ag1a")
	it := env.F.ItemTownship
	r := env.Post("/api/v1/errands", agent, apitest.Registration(it))
	apitest.Expect(t, r, http.StatusCreated)
	before := r.Map(t)

	path := "/api/v1/catalog/items/" + it.Code
	apitest.Expect(t, env.Do(apitest.Req{Method: http.MethodPatch, Path: path, Token: env.Login("super"), Body: map[string]any{"time_limit_days": 20}}), http.StatusForbidden)
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"time_limit_days": 0}, "time_limit_days"},
		{map[string]any{"time_limit_days": 181}, "time_limit_days"},
		{map[string]any{"fee_cents": -1}, "fee_cents"},
		{map[string]any{"materials": []string{"身份证", "身份证"}}, "materials[1]"},
		{map[string]any{}, "active"},
	} {
		r := env.Do(apitest.Req{Method: http.MethodPatch, Path: path, Token: admin, Body: bad.body, Raw: true})
		apitest.Expect(t, r, http.StatusUnprocessableEntity)
		if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != bad.field {
			t.Errorf("%v: errors %+v, want field %q", bad.body, p.Errors, bad.field)
		}
	}
	r = env.Get(path, "")
	if m := r.Map(t); m["time_limit_days"] != float64(it.TimeLimitDays) || m["fee_cents"] != float64(0) {
		t.Fatalf("after refused edits the item is %s", r.Body)
	}

	r = env.Do(apitest.Req{Method: http.MethodPatch, Path: path, Token: admin,
		Body: map[string]any{"time_limit_days": 20, "fee_cents": 500, "materials": []string{"身份证", "户口簿"}}})
	apitest.Expect(t, r, http.StatusOK)
	if m := r.Map(t); m["time_limit_days"] != float64(20) || m["fee_cents"] != float64(500) || m["active"] != true {
		t.Errorf("patched item = %s", r.Body)
	}

	r = env.Get("/api/v1/errands/"+before["id"].(string), agent)
	apitest.Expect(t, r, http.StatusOK)
	limit := func(m map[string]any) any { return m["item"].(map[string]any)["time_limit_days"] }
	if m := r.Map(t); m["due_at"] != before["due_at"] || limit(m) != float64(it.TimeLimitDays) || before["due_at"] == nil {
		t.Errorf("the earlier errand is now due %v with %v days, want %v with %d", m["due_at"], limit(m), before["due_at"], it.TimeLimitDays)
	}
	r = env.Post("/api/v1/errands", agent, apitest.Registration(it))
	apitest.Expect(t, r, http.StatusCreated)
	if m := r.Map(t); limit(m) != float64(20) || m["due_at"] == before["due_at"] {
		t.Errorf("a new registration has %v days, due %v; want 20 days, due later than %v", limit(m), m["due_at"], before["due_at"])
	}
}
