package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"daiban/internal/apitest"
)

// searchPage walks a search to its last page, two errands a page, and
// returns the receipt numbers in order.
func searchPage(t *testing.T, env *apitest.Env, token string, q url.Values) []string {
	t.Helper()
	q.Set("limit", "2")
	var got []string
	for pages := 0; ; pages++ {
		var p struct {
			Items []errand `json:"items"`
			Next  *string  `json:"next_cursor"`
		}
		r := env.Get("/api/v1/errands?"+q.Encode(), token)
		apitest.Expect(t, r, http.StatusOK)
		r.JSON(t, &p)
		for _, e := range p.Items {
			got = append(got, e.ReceiptNo)
		}
		if p.Next == nil {
			return got
		}
		if pages > 50 {
			t.Fatalf("%s: still a next page after %d", q.Encode(), pages)
		}
		q.Set("cursor", *p.Next)
	}
}

// TestSearchErrands searches GET /api/v1/errands by receipt number, name,
// ID number, phone, item, status and registration days, alone and
// together, as each role: every search stays inside the caller's scope (an
// errand of another village or township is never found, even by its own
// receipt number or its applicant's ID number) and walks its pages to the
// end.
func TestSearchErrands(t *testing.T) {
	env := apitest.New(t) // Monday 2026-03-02
	a1, a1b, a2 := env.Login("ag1a"), env.Login("ag1b"), env.Login("ag2a")
	tw1, tw2, super := env.Login("tw1"), env.Login("tw2"), env.Login("super")
	reg := func(token, name, id, phone string, city bool) errand {
		t.Helper()
		item := env.F.ItemTownship
		if city {
			item = env.F.ItemCity
		}
		body := apitest.Registration(item)
		body["applicant"] = map[string]any{"name": name, "id_number": id, "phone": phone}
		r := env.Post("/api/v1/errands", token, body)
		apitest.Expect(t, r, http.StatusCreated)
		var e errand
		r.JSON(t, &e)
		return e
	}
	const idB = "35018219900101123X"
	zs1 := reg(a1, "张三丰", apitest.ValidID, "13912345678", false)
	zs2 := reg(a1, "张三", idB, "13800001111", true)
	zw := reg(a1b, "张伟", apitest.ValidID, "13912345678", false)
	env.Clock.Advance(24 * time.Hour) // Tuesday
	ls := reg(a1, "李四", idB, "0591-28888888", false)
	zs3 := reg(a2, "张三丰", apitest.ValidID, "13912345678", false) // 乙镇: outside tw1's scope
	zs4 := reg(a1, "张三丰", apitest.ValidID, "13912345678", false)
	step(t, env, a1, zs1, "forward", nil)
	step(t, env, a2, zs3, "forward", nil)

	nos := func(es ...errand) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ReceiptNo)
		}
		return out
	}
	for _, c := range []struct {
		who   string
		token string
		q     url.Values
		want  []string // newest first
	}{
		{"tw1", tw1, url.Values{"name": {"张"}}, nos(zs4, zw, zs2, zs1)},
		{"tw1", tw1, url.Values{"name": {"张三"}}, nos(zs4, zs2, zs1)},
		{"tw1", tw1, url.Values{"name": {"张三丰"}}, nos(zs4, zs1)},
		{"tw1", tw1, url.Values{"name": {"三"}}, nil},
		{"tw2", tw2, url.Values{"name": {"张三丰"}}, nos(zs3)},
		{"super", super, url.Values{"name": {"张三丰"}}, nos(zs4, zs3, zs1)},
		{"ag1a", a1, url.Values{"name": {"张"}}, nos(zs4, zs2, zs1)},
		{"ag1b", a1b, url.Values{"name": {"张"}}, nos(zw)},
		{"tw1", tw1, url.Values{"id_number": {apitest.ValidID}}, nos(zs4, zw, zs1)},
		{"tw2", tw2, url.Values{"id_number": {apitest.ValidID}}, nos(zs3)},
		{"ag2a", a2, url.Values{"id_number": {idB}}, nil},
		{"tw1", tw1, url.Values{"id_number": {strings.ToLower(idB)}}, nos(ls, zs2)},
		{"tw1", tw1, url.Values{"phone": {"0591-28888888"}}, nos(ls)},
		{"tw1", tw1, url.Values{"phone": {"13912345678"}}, nos(zs4, zw, zs1)},
		{"tw1", tw1, url.Values{"receipt_no": {zs3.ReceiptNo}}, nil},
		{"tw2", tw2, url.Values{"receipt_no": {zs3.ReceiptNo}}, nos(zs3)},
		{"tw1", tw1, url.Values{"item": {env.F.ItemCity.Code}}, nos(zs2)},
		{"tw1", tw1, url.Values{"status": {"forwarded"}}, nos(zs1)},
		{"tw1", tw1, url.Values{"status": {"registered,forwarded"}, "name": {"张三丰"}}, nos(zs4, zs1)},
		{"tw1", tw1, url.Values{"from": {"2026-03-03"}}, nos(zs4, ls)},
		{"tw1", tw1, url.Values{"to": {"2026-03-02"}}, nos(zw, zs2, zs1)},
		{"super", super, url.Values{"name": {"张三丰"}, "phone": {"13912345678"}, "id_number": {apitest.ValidID},
			"item": {env.F.ItemTownship.Code}, "from": {"2026-03-03"}, "to": {"2026-03-03"}}, nos(zs4, zs3)},
		{"super", super, url.Values{"name": {"张三丰"}, "status": {"registered"}}, nos(zs4)},
	} {
		if got := searchPage(t, env, c.token, c.q); !slices.Equal(got, c.want) {
			t.Errorf("%s searching %s: %v, want %v", c.who, c.q.Encode(), got, c.want)
		}
	}
}

// TestSearchRefusesBadFilters: a malformed filter is a 400 problem naming
// the parameter, never an empty page.
func TestSearchRefusesBadFilters(t *testing.T) {
	env := apitest.New(t)
	tw := env.Login("tw1")
	for q, field := range map[string]string{
		"id_number=110105194912310021":            "id_number", // wrong check character
		"id_number=1101051949":                    "id_number",
		"from=2026-02-30":                         "from",
		"to=2026-3-5":                             "to",
		"from=2026-03-05&to=2026-03-01":           "from",
		"status=lost":                             "status",
		"status=registered,done":                  "status",
		"item=NOPE":                               "item",
		"phone=12345":                             "phone",
		"name=" + url.QueryEscape("张\u200b三"):     "name",
		"name=" + strings.Repeat("%E5%BC%A0", 41): "name",
		"receipt_no=26000000":                     "receipt_no",
	} {
		r := env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/errands?" + q, Token: tw, Raw: true})
		apitest.Expect(t, r, http.StatusBadRequest)
		if p := r.Problem(t); len(p.Errors) == 0 || p.Errors[0].Field != field {
			t.Errorf("%s: %s, want the field %s named", q, r.Body, field)
		}
	}
}
