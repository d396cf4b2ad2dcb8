package api_test

import (
	"fmt"
	"strings"
	"testing"

	"daiban/internal/apitest"
)

// TestAuthorisationMatrix sends every route as every role, about the caller's
// own organisation and about another township's, and checks each status.
// Another township's errands and organisations are "not found" for those
// whose scope does not reach them.
func TestAuthorisationMatrix(t *testing.T) {
	env := apitest.New(t)
	users := []string{"", "ag1a", "tw1", "city", "super", "admin"}
	tokens := map[string]string{}
	for _, u := range users[1:] {
		tokens[u] = env.Login(u)
	}
	mine := register(t, env, tokens["ag1a"], env.F.ItemTownship)      // in 甲一村, township 甲镇
	theirs := register(t, env, env.Login("ag2a"), env.F.ItemTownship) // in 乙一村, township 乙镇
	stats := "/api/v1/stats/completion?from=2026-03-01&to=2026-03-31&org_id="

	// own/other name the organisation or errand the request is about.
	type route struct {
		method, own, other string
		body               func(n int) any
		want               map[string]int // role → status; both own and other unless wantOther says otherwise
		wantOther          map[string]int
	}
	all := func(s int) map[string]int {
		return map[string]int{"": 401, "ag1a": s, "tw1": s, "city": s, "super": s, "admin": s}
	}
	only := func(ok int, who ...string) map[string]int {
		m := map[string]int{"": 401, "ag1a": 403, "tw1": 403, "city": 403, "super": 403, "admin": 403}
		for _, w := range who {
			m[w] = ok
		}
		return m
	}
	hidden := map[string]int{"": 401, "ag1a": 404, "tw1": 404, "city": 200, "super": 200, "admin": 200}
	code := 0
	routes := []route{
		{method: "GET", own: "/api/v1/orgs", want: all(200)},
		{method: "GET", own: "/api/v1/orgs/" + env.F.V1a.ID, other: "/api/v1/orgs/" + env.F.V2a.ID, want: all(200)},
		{method: "POST", own: "/api/v1/orgs", body: func(n int) any {
			return map[string]any{"code": fmt.Sprintf("350182100%03d", 300+n), "name": "新村", "level": "village", "parent_id": env.F.T1.ID}
		}, want: only(201, "admin")},
		{method: "GET", own: "/api/v1/orgs/" + env.F.V1a.ID + "/ledger?month=2026-03", other: "/api/v1/orgs/" + env.F.V2a.ID + "/ledger?month=2026-03",
			want: all(200), wantOther: hidden},
		{method: "GET", own: "/api/v1/users", want: only(200, "super", "admin")},
		{method: "POST", own: "/api/v1/users", body: func(n int) any {
			return map[string]any{"username": fmt.Sprintf("new%d", n), "password": "long-enough", "display_name": "新人", "role": "agent", "org_id": env.F.V1a.ID}
		}, want: only(201, "admin")},
		{method: "GET", own: "/api/v1/auth/me", want: all(200)},
		// A wrong current password: every role gets as far as checking it.
		{method: "POST", own: "/api/v1/auth/password", body: func(int) any {
			return map[string]any{"current_password": "not-the-password", "new_password": "a-new-password"}
		}, want: all(422)},
		{method: "POST", own: "/api/v1/users/" + env.F.Users["ag1b"].ID + "/reset-password", want: only(200, "admin")},
		{method: "POST", own: "/api/v1/users/" + env.F.Users["ag1b"].ID + "/disable", want: only(200, "admin")},
		{method: "POST", own: "/api/v1/users/" + env.F.Users["ag1b"].ID + "/enable", want: only(200, "admin")},
		{method: "GET", own: "/api/v1/catalog/items", want: map[string]int{"": 200, "ag1a": 200, "tw1": 200, "city": 200, "super": 200, "admin": 200}},
		{method: "POST", own: "/api/v1/catalog/categories", body: func(n int) any { return map[string]any{"code": fmt.Sprintf("cat%d", n), "name": "新类"} }, want: only(201, "admin")},
		{method: "POST", own: "/api/v1/catalog/items", body: func(n int) any {
			return map[string]any{"code": fmt.Sprintf("NEW%d", n), "name": "新事项", "category": "shehui", "level": "township", "materials": []string{}, "time_limit_days": 3}
		}, want: only(201, "admin")},
		{method: "PATCH", own: "/api/v1/catalog/items/OLD", body: func(int) any { return map[string]any{"active": false} }, want: only(200, "admin")},
		{method: "GET", own: "/api/v1/calendar/2026", want: all(200)},
		{method: "PUT", own: "/api/v1/calendar/2031", body: func(int) any { return map[string]any{"days": []any{}} }, want: only(200, "admin")},
		{method: "POST", own: "/api/v1/errands", body: func(int) any { return apitest.Registration(env.F.ItemTownship) }, want: only(201, "ag1a")},
		{method: "GET", own: "/api/v1/errands", want: all(200)},
		{method: "GET", own: "/api/v1/errands/" + mine.ID, other: "/api/v1/errands/" + theirs.ID, want: all(200), wantOther: hidden},
		{method: "GET", own: "/api/v1/errands/" + mine.ID + "/events", other: "/api/v1/errands/" + theirs.ID + "/events", want: all(200), wantOther: hidden},
		{method: "GET", own: "/api/v1/errands/" + mine.ID + "/form", other: "/api/v1/errands/" + theirs.ID + "/form", want: all(200), wantOther: hidden},
		// A stale version: roles that may act get as far as the version check.
		{method: "POST", own: "/api/v1/errands/" + mine.ID + "/forward", other: "/api/v1/errands/" + theirs.ID + "/forward",
			body:      func(int) any { return map[string]any{"version": 99} },
			want:      map[string]int{"": 401, "ag1a": 409, "tw1": 409, "city": 409, "super": 409, "admin": 409},
			wantOther: map[string]int{"": 401, "ag1a": 404, "tw1": 404, "city": 409, "super": 409, "admin": 409}},
		{method: "POST", own: "/api/v1/errands/" + mine.ID + "/withdraw", other: "/api/v1/errands/" + theirs.ID + "/withdraw",
			body:      func(int) any { return map[string]any{"version": 99, "reason": "撤回"} },
			want:      map[string]int{"": 401, "ag1a": 409, "tw1": 409, "city": 409, "super": 409, "admin": 409},
			wantOther: map[string]int{"": 401, "ag1a": 404, "tw1": 404, "city": 409, "super": 409, "admin": 409}},
		{method: "GET", own: "/api/v1/catalog/categories", want: map[string]int{"": 200, "ag1a": 200, "tw1": 200, "city": 200, "super": 200, "admin": 200}},
		{method: "GET", own: "/api/v1/catalog/items/TWN", want: map[string]int{"": 200, "ag1a": 200, "tw1": 200, "city": 200, "super": 200, "admin": 200}},
		{method: "GET", own: "/api/v1/supervision/warnings", want: all(200)},
		{method: "GET", own: stats + env.F.V1a.ID, other: stats + env.F.T2.ID, want: all(200), wantOther: hidden},
		{method: "GET", own: "/api/v1/admin/ledger-check", want: only(200, "super", "admin")},
		{method: "POST", own: "/api/v1/auth/logout", want: all(204)},
	}
	// The other steps at the right version of a registered errand, where
	// none of them applies: roles that never take the step are refused
	// (403), roles that may are told the status does not allow it (409),
	// and another township's errand does not exist for those who cannot see it.
	steps := map[string]map[string]any{
		"accept": {}, "return": {"missing_materials": apitest.TownshipMaterials[:1]}, "resubmit": {},
		"complete": {"outcome": "approved"}, "deliver": {"receipt_recovered": true}, "extend": {"due_date": "2026-03-31", "reason": "延期"},
	}
	for _, act := range []string{"accept", "return", "resubmit", "complete", "deliver", "extend"} {
		officers := act != "resubmit" && act != "deliver"
		own := map[string]int{"": 401, "ag1a": 403, "tw1": 409, "city": 409, "super": 403, "admin": 403}
		if !officers {
			own = map[string]int{"": 401, "ag1a": 409, "tw1": 403, "city": 403, "super": 403, "admin": 403}
		}
		other := map[string]int{"": 401, "ag1a": 404, "tw1": 404, "city": own["city"], "super": 403, "admin": 403}
		body := map[string]any{"version": 1}
		for k, v := range steps[act] {
			body[k] = v
		}
		routes = append(routes, route{method: "POST", own: "/api/v1/errands/" + mine.ID + "/" + act, other: "/api/v1/errands/" + theirs.ID + "/" + act,
			body: func(int) any { return body }, want: own, wantOther: other})
	}
	cells := 0
	for _, r := range routes {
		for _, side := range []string{"own", "other"} {
			path, want := r.own, r.want
			if side == "other" {
				if r.other == "" {
					continue
				}
				path = r.other
				if r.wantOther != nil {
					want = r.wantOther
				}
			}
			for _, u := range users {
				code++
				req := apitest.Req{Method: r.method, Path: path, Token: tokens[u], Raw: true}
				if r.body != nil {
					req.Body = r.body(code)
				}
				if r.method == "POST" && strings.HasSuffix(path, "/logout") {
					if u == "" {
						req.Token = ""
					} else {
						req.Token = env.Login(u) // keep the matrix's own tokens alive
					}
				}
				got := env.Do(req).Status
				cells++
				if got != want[u] {
					t.Errorf("%s %s as %q (%s): %d, want %d", r.method, path, u, side, got, want[u])
				}
			}
		}
	}
	if cells < 150 {
		t.Fatalf("only %d cells checked", cells)
	}
	t.Logf("%d routes, %d cells", len(routes), cells)
}
