package api_test

import (
	"net/http"
	"net/url"
	"testing"

	"daiban/internal/apitest"
)

// TestCitiesSideBySide: a province's tree holds several cities, each a
// root. A city's officers and supervisors see their own city's errands,
// in lists, in detail and in statistics, and not another city's, and its
// supervisors their own city's accounts and ledger check; the admin sees
// all.
func TestCitiesSideBySide(t *testing.T) {
	env := apitest.New(t)
	admin := env.Login("admin")
	org := func(code, name, level, parent string) string {
		t.Helper()
		r := env.Post("/api/v1/orgs", admin, map[string]any{"code": code, "name": name, "level": level, "parent_id": parent})
		apitest.Expect(t, r, http.StatusCreated)
		var o struct{ ID string }
		r.JSON(t, &o)
		return o.ID
	}
	city := org("350181", "福清市", "city", "")
	township := org("350181100", "玉屏街道", "township", city)
	village := org("350181100201", "北门社区", "village", township)
	user := func(username, role, orgID string) string {
		t.Helper()
		apitest.Expect(t, env.Post("/api/v1/users", admin, map[string]any{"username": username, "password": "second-city-pw", "display_name": username, "role": role, "org_id": orgID}), http.StatusCreated)
		r := env.Post("/api/v1/auth/login", "", map[string]any{"username": username, "password": "second-city-pw"})
		apitest.Expect(t, r, http.StatusOK)
		var tok struct{ Token string }
		r.JSON(t, &tok)
		return tok.Token
	}
	agent2, super2 := user("fq_agent", "agent", village), user("fq_super", "supervisor", city)
	theirs := register(t, env, agent2, env.F.ItemTownship)
	ours := register(t, env, env.Login("ag1a"), env.F.ItemTownship)

	for who, token := range map[string]string{"city": env.Login("city"), "super": env.Login("super")} {
		apitest.Expect(t, env.Get("/api/v1/errands/"+theirs.ID, token), http.StatusNotFound)
		apitest.Expect(t, env.Get("/api/v1/errands/"+ours.ID, token), http.StatusOK)
		var list struct{ Items []struct{ ID string } }
		env.Get("/api/v1/errands?limit=500", token).JSON(t, &list)
		for _, e := range list.Items {
			if e.ID == theirs.ID {
				t.Errorf("%s of 测试市 lists 福清市's errand", who)
			}
		}
	}
	apitest.Expect(t, env.Get("/api/v1/errands/"+theirs.ID, super2), http.StatusOK)
	apitest.Expect(t, env.Get("/api/v1/errands/"+ours.ID, super2), http.StatusNotFound)
	apitest.Expect(t, env.Get("/api/v1/errands/"+theirs.ID, admin), http.StatusOK)

	accepted := func(token string) float64 {
		t.Helper()
		var rep struct {
			Totals struct {
				Accepted float64 `json:"accepted"`
			} `json:"totals"`
		}
		env.Get("/api/v1/stats/completion?from=2026-03-01&to=2026-03-31", token).JSON(t, &rep)
		return rep.Totals.Accepted
	}
	if a, b := accepted(env.Login("super")), accepted(super2); a != 1 || b != 1 {
		t.Errorf("statistics: 测试市 counts %v, 福清市 %v; want one each", a, b)
	}

	usernames := func(token string) map[string]bool {
		t.Helper()
		seen := map[string]bool{}
		for path := "/api/v1/users?limit=2"; path != ""; {
			var page struct {
				Items []struct{ Username string }
				Next  *string `json:"next_cursor"`
			}
			r := env.Get(path, token)
			apitest.Expect(t, r, http.StatusOK)
			r.JSON(t, &page)
			for _, u := range page.Items {
				seen[u.Username] = true
			}
			path = ""
			if page.Next != nil {
				path = "/api/v1/users?limit=2&cursor=" + url.QueryEscape(*page.Next)
			}
		}
		return seen
	}
	ourUsers, theirUsers, all := usernames(env.Login("super")), usernames(super2), usernames(admin)
	if len(theirUsers) != 2 || !theirUsers["fq_agent"] || !theirUsers["fq_super"] {
		t.Errorf("福清市's supervisor lists the accounts %v, want its own two", theirUsers)
	}
	if ourUsers["fq_agent"] || ourUsers["fq_super"] || !ourUsers["ag1a"] || !ourUsers["super"] {
		t.Errorf("测试市's supervisor lists the accounts %v", ourUsers)
	}
	if len(all) != len(ourUsers)+len(theirUsers) {
		t.Errorf("the admin lists %d accounts, the two supervisors %d and %d", len(all), len(ourUsers), len(theirUsers))
	}

	checked := func(token string) int {
		t.Helper()
		var c struct {
			OK      bool
			Errands int
		}
		r := env.Get("/api/v1/admin/ledger-check", token)
		apitest.Expect(t, r, http.StatusOK)
		r.JSON(t, &c)
		if !c.OK {
			t.Errorf("ledger check: %s", r.Body)
		}
		return c.Errands
	}
	if ours, theirs, all := checked(env.Login("super")), checked(super2), checked(admin); ours != 1 || theirs != 1 || all != 2 {
		t.Errorf("ledger check: 测试市's supervisor checked %d errands, 福清市's %d, the admin %d; want 1, 1, 2", ours, theirs, all)
	}
}
