package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"daiban/internal/apitest"
)

// The bad-input matrix: every write endpoint gets malformed JSON, wrong
// types, unknown and missing fields, oversized bodies, extreme strings
// (10,000 characters, control characters, invalid UTF-8, SQL and HTML
// injection) and hostile path parameters. Each must be a 4xx problem that
// names the offending field where there is one, with the row count of every
// table unchanged. The one exception is by design: free text (a note, a
// name, an address, a password) may hold any printable text, so an
// injection payload there is accepted, stored byte for byte and harms nothing.

// fieldKind is the JSON type a field takes.
type fieldKind int

const (
	kString fieldKind = iota
	kInt
	kBool
	kStrings // an array of strings
	kObjects // an array of objects
	kObject
)

// field is one field of a request body, by its path ("applicant.name",
// "days.0.date", "materials.0").
type field struct {
	path     string
	kind     fieldKind
	required bool
	free     bool // free text: any printable text is accepted
	short    bool // at most 20 characters
}

// writeEndpoint is one write route with a valid body and its fields.
type writeEndpoint struct {
	name   string
	method string
	token  string
	// prepare returns the path to send to, fresh state included (an errand
	// in the right status for a transition).
	prepare func() string
	body    func(n int) map[string]any
	fields  []field
	// mayGrow are tables a refused request may still add to by design:
	// failed sign-ins are counted.
	mayGrow []string
	// refusedAs are the statuses of a refused string in a non-free field
	// besides 422 (a sign-in with an unknown username is 401).
	refusedAs []int
	// pathParam hostile values replace in the path, when it has one.
	pathParam string
}

// Hostile strings.
var (
	long10k   = strings.Repeat("长", 10000)
	sqlInject = `x' OR '1'='1'; DROP TABLE errands; --`
	htmlProbe = `<script>alert(1)</script><img src=x>`
	// For fields of at most 20 characters.
	sqlShort  = `';DROP TABLE users--`
	htmlShort = `<b onclick=alert(1)>`
	controls  = []string{"a\x00b", "\x1b[31mred\x1b[0m", "line\nbreak", "tab\there", "del\x7f", "c1\u0085x"}
)

func TestBadInputMatrix(t *testing.T) {
	env := apitest.New(t)
	f := env.F
	admin, agent, tw := env.Login("admin"), env.Login("ag1a"), env.Login("tw1")

	// errandAt makes a fresh errand of the township item and walks it to status.
	errandAt := func(status string) errand {
		e := register(t, env, agent, f.ItemTownship)
		path := map[string][]struct{ who, act string }{
			"registered": {},
			"forwarded":  {{agent, "forward"}},
			"processing": {{agent, "forward"}, {tw, "accept"}},
			"correction": {{agent, "forward"}, {tw, "accept"}, {tw, "return"}},
			"completed":  {{agent, "forward"}, {tw, "accept"}, {tw, "complete"}},
		}[status]
		for _, s := range path {
			body := map[string]any{}
			switch s.act {
			case "return":
				body["missing_materials"] = []string{apitest.TownshipMaterials[0]}
			case "complete":
				body["outcome"] = "approved"
			}
			e = step(t, env, s.who, e, s.act, body)
		}
		return e
	}
	transition := func(action, status, token string, body func(n int) map[string]any, fields ...field) writeEndpoint {
		var current errand
		return writeEndpoint{name: action, method: "POST", token: token, pathParam: "id",
			prepare: func() string {
				current = errandAt(status)
				return "/api/v1/errands/" + current.ID + "/" + action
			},
			body: func(n int) map[string]any {
				m := map[string]any{"version": current.Version, "note": fmt.Sprintf("备注%d", n)}
				if body != nil {
					for k, v := range body(n) {
						m[k] = v
					}
				}
				return m
			},
			fields: append([]field{{path: "version", kind: kInt, required: true}, {path: "note", kind: kString, free: true}}, fields...)}
	}
	fixed := func(path string) func() string { return func() string { return path } }

	endpoints := []writeEndpoint{
		// Refused sign-ins are 401, and 429 once one username failed five times.
		{name: "login", method: "POST", prepare: fixed("/api/v1/auth/login"), refusedAs: []int{401, 429}, mayGrow: []string{"login_failures"},
			body:   func(int) map[string]any { return map[string]any{"username": "ag1a", "password": apitest.Password} },
			fields: []field{{path: "username", kind: kString, required: true}, {path: "password", kind: kString, required: true}}},
		{name: "create org", method: "POST", token: admin, prepare: fixed("/api/v1/orgs"),
			body: func(n int) map[string]any {
				return map[string]any{"code": fmt.Sprintf("350182100%03d", 300+n), "name": fmt.Sprintf("新村%d", n), "level": "village", "parent_id": f.T1.ID}
			},
			fields: []field{{path: "code", kind: kString, required: true}, {path: "name", kind: kString, required: true, free: true},
				{path: "level", kind: kString, required: true}, {path: "parent_id", kind: kString, required: true}}},
		{name: "create user", method: "POST", token: admin, prepare: fixed("/api/v1/users"),
			body: func(n int) map[string]any {
				return map[string]any{"username": fmt.Sprintf("user%d", n), "password": "long-enough-pw", "display_name": fmt.Sprintf("新人%d", n),
					"phone": "13900000000", "role": "agent", "org_id": f.V1a.ID}
			},
			fields: []field{{path: "username", kind: kString, required: true}, {path: "password", kind: kString, required: true, free: true},
				{path: "display_name", kind: kString, required: true, free: true}, {path: "phone", kind: kString},
				{path: "role", kind: kString, required: true}, {path: "org_id", kind: kString, required: true}}},
		{name: "create category", method: "POST", token: admin, prepare: fixed("/api/v1/catalog/categories"),
			body: func(n int) map[string]any {
				return map[string]any{"code": fmt.Sprintf("cat%d", n), "name": fmt.Sprintf("类%d", n)}
			},
			fields: []field{{path: "code", kind: kString, required: true}, {path: "name", kind: kString, required: true, free: true, short: true}}},
		{name: "create item", method: "POST", token: admin, prepare: fixed("/api/v1/catalog/items"),
			body: func(n int) map[string]any {
				return map[string]any{"code": fmt.Sprintf("NEW%d", n), "name": fmt.Sprintf("新事项%d", n), "category": "shehui", "level": "township",
					"materials": []string{"身份证"}, "fee_cents": 0, "time_limit_days": 5}
			},
			fields: []field{{path: "code", kind: kString, required: true}, {path: "name", kind: kString, required: true, free: true},
				{path: "category", kind: kString, required: true}, {path: "level", kind: kString, required: true},
				{path: "materials", kind: kStrings}, {path: "materials.0", kind: kString, free: true},
				{path: "fee_cents", kind: kInt}, {path: "time_limit_days", kind: kInt, required: true}}},
		{name: "patch item", method: "PATCH", token: admin, prepare: fixed("/api/v1/catalog/items/OLD"), pathParam: "OLD",
			body:   func(n int) map[string]any { return map[string]any{"active": n%2 == 0} },
			fields: []field{{path: "active", kind: kBool, required: true}}},
		{name: "put calendar", method: "PUT", token: admin, prepare: fixed("/api/v1/calendar/2031"), pathParam: "2031",
			body: func(n int) map[string]any {
				return map[string]any{"note": fmt.Sprintf("第%d版", n), "days": []map[string]any{{"date": "2031-01-01", "kind": "holiday", "name": "元旦"}}}
			},
			fields: []field{{path: "note", kind: kString, free: true}, {path: "days", kind: kObjects, required: true}, {path: "days.0", kind: kObject},
				{path: "days.0.date", kind: kString, required: true}, {path: "days.0.kind", kind: kString, required: true}, {path: "days.0.name", kind: kString, free: true, short: true}}},
		{name: "register", method: "POST", token: agent, prepare: fixed("/api/v1/errands"),
			body: func(n int) map[string]any {
				m := apitest.Registration(f.ItemTownship)
				m["note"] = fmt.Sprintf("登记%d", n)
				return m
			},
			fields: []field{{path: "item_code", kind: kString, required: true}, {path: "applicant", kind: kObject, required: true},
				{path: "applicant.name", kind: kString, required: true, free: true}, {path: "applicant.id_number", kind: kString, required: true},
				{path: "applicant.phone", kind: kString, required: true}, {path: "applicant.address", kind: kString, free: true},
				{path: "materials", kind: kStrings}, {path: "materials.0", kind: kString}, {path: "channel", kind: kString, required: true},
				{path: "note", kind: kString, free: true}}},
		transition("forward", "registered", agent, nil),
		transition("accept", "forwarded", tw, nil),
		transition("return", "processing", tw, func(int) map[string]any {
			return map[string]any{"missing_materials": []string{apitest.TownshipMaterials[0]}}
		}, field{path: "missing_materials", kind: kStrings, required: true}, field{path: "missing_materials.0", kind: kString}),
		transition("resubmit", "correction", agent, nil),
		transition("complete", "processing", tw, func(int) map[string]any {
			return map[string]any{"outcome": "refused", "reason": "不符合条件"}
		}, field{path: "outcome", kind: kString, required: true}, field{path: "reason", kind: kString, free: true}),
		transition("deliver", "completed", agent, func(int) map[string]any {
			return map[string]any{"receipt_recovered": false, "id_number": apitest.ValidID, "satisfaction": 5}
		}, field{path: "receipt_recovered", kind: kBool, required: true}, field{path: "id_number", kind: kString}, field{path: "satisfaction", kind: kInt}),
		transition("withdraw", "registered", agent, func(int) map[string]any { return map[string]any{"reason": "申请人撤回"} },
			field{path: "reason", kind: kString, required: true, free: true}),
		transition("extend", "processing", tw, func(int) map[string]any {
			return map[string]any{"due_date": "2026-03-16", "reason": "需现场核查"}
		}, field{path: "due_date", kind: kString, required: true}, field{path: "reason", kind: kString, required: true, free: true}),
	}

	tables := tableNames(t, env)
	n := 0
	cases, accepted := 0, 0
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			// The valid body is accepted: the refusals below are about what was changed.
			n++
			path := ep.prepare()
			r := env.Do(apitest.Req{Method: ep.method, Path: path, Token: ep.token, Body: ep.body(n)})
			if r.Status/100 != 2 {
				t.Fatalf("the valid body was refused: %d %s", r.Status, r.Body)
			}
			path = ep.prepare() // refusals leave this state as it is
			for _, v := range variants(ep) {
				n++
				cases++
				body := v.body
				if body == nil && v.edit != nil {
					m := normalise(t, ep.body(n))
					v.edit(m)
					raw, err := json.Marshal(m)
					if err != nil {
						t.Fatal(err)
					}
					body = append(raw, v.suffix...)
				}
				target := path
				if v.path != "" {
					target = strings.Replace(path, "/"+pathValue(path, ep), "/"+v.path, 1)
				}
				if v.accept {
					// Free text: accepted on fresh state, and stored as sent.
					accepted++
					target = ep.prepare()
					m := normalise(t, ep.body(n))
					v.edit(m)
					r := env.Do(apitest.Req{Method: ep.method, Path: target, Token: ep.token, Body: m, Raw: true})
					if r.Status/100 != 2 {
						t.Errorf("%s: free text refused: %d %s", v.name, r.Status, r.Body)
					} else if !dbHolds(t, env, tables, v.stored) {
						t.Errorf("%s: accepted, but %q is not stored as sent", v.name, v.stored)
					}
					path = ep.prepare()
					continue
				}
				before := rowCounts(t, env, tables)
				r := send(t, env, ep, target, body, v)
				after := rowCounts(t, env, tables)
				for _, table := range tables {
					if before[table] != after[table] && !(contains(ep.mayGrow, table) && after[table] >= before[table]) {
						t.Errorf("%s: %s went from %d to %d rows", v.name, table, before[table], after[table])
					}
				}
				if !v.wants(r.Status) {
					t.Errorf("%s: %d, want %v: %.300s", v.name, r.Status, v.status, r.Body)
					continue
				}
				if v.field != "" && (r.Status == 400 || r.Status == 422) {
					if !namesField(r.Body, v.field) {
						t.Errorf("%s: the problem does not name %s: %.400s", v.name, v.field, r.Body)
					}
				}
			}
		})
	}
	if cases < 500 {
		t.Fatalf("only %d refusals checked", cases)
	}
	t.Logf("%d write endpoints, %d bad requests refused with the database unchanged (%d tables compared each time), %d free-text payloads stored as sent",
		len(endpoints), cases-accepted, len(tables), accepted)
}

// TestNULInAddresses: a NUL character in a path or query is refused before
// it reaches the database (PostgreSQL refuses NUL in text with an error).
func TestNULInAddresses(t *testing.T) {
	env := apitest.New(t)
	sup := env.Login("super")
	for path, want := range map[string]int{
		"/api/v1/errands?item=%00": 400, "/api/v1/errands?org_id=a%00b": 400, "/api/v1/orgs?parent_id=%00": 400, "/api/v1/users?org_id=%00": 400,
		"/api/v1/stats/completion?from=2026-03-01&to=2026-03-31&org_id=%00": 400, "/api/v1/supervision/warnings?item=%00": 400,
		"/api/v1/orgs/%00": 404, "/api/v1/errands/%00": 404, "/api/v1/errands/%00/events": 404, "/api/v1/catalog/items/%00": 404,
		"/api/v1/orgs/a%00b/ledger?month=2026-03": 404,
	} {
		r := env.Do(apitest.Req{Method: http.MethodGet, Path: path, Token: sup, Raw: true})
		if r.Status != want {
			t.Errorf("GET %s: %d, want %d: %s", path, r.Status, want, r.Body)
		}
	}
}

// variant is one bad request.
type variant struct {
	name   string
	body   []byte               // the raw body, or nil to edit the valid one
	edit   func(map[string]any) // changes the valid body
	ctype  *string              // Content-Type, when not application/json
	chunk  bool                 // send without a length
	suffix string               // appended to the valid body
	path   string               // replaces the path parameter
	status []int
	field  string // the field the problem must name
	accept bool   // free text: accepted and stored
	stored string
}

func (v variant) wants(status int) bool {
	if len(v.status) == 0 {
		return status >= 400 && status < 500
	}
	return contains(v.status, status)
}

func variants(ep writeEndpoint) []variant {
	text := func(s string) *string { return &s }
	huge := func(m map[string]any) { m["note"] = strings.Repeat("x", 300<<10) }
	vs := []variant{
		{name: "empty body", body: []byte{}, status: []int{400}},
		{name: "truncated JSON", body: []byte(`{"a":`), status: []int{400}},
		{name: "a bare brace", body: []byte(`{`), status: []int{400}},
		{name: "an array", body: []byte(`[]`), status: []int{400}},
		{name: "a string", body: []byte(`"text"`), status: []int{400}},
		{name: "a number", body: []byte(`42`), status: []int{400}},
		{name: "null", body: []byte(`null`), status: []int{400, 422}},
		{name: "two objects", body: []byte(`{}{}`), status: []int{400}},
		{name: "trailing garbage", edit: func(map[string]any) {}, suffix: "x", status: []int{400}},
		{name: "a second object after", edit: func(map[string]any) {}, suffix: "{}", status: []int{400}},
		{name: "single quotes", body: []byte(`{'a': 1}`), status: []int{400}},
		{name: "a comment", body: []byte(`{/* hi */}`), status: []int{400}},
		{name: "nested 100000 deep", body: []byte(`{"zz":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`), status: []int{400}},
		{name: "invalid UTF-8 outside strings", body: []byte("{\xff}"), status: []int{400}},
		{name: "text/plain", edit: func(map[string]any) {}, ctype: text("text/plain"), status: []int{415}},
		{name: "form encoded", edit: func(map[string]any) {}, ctype: text("application/x-www-form-urlencoded"), status: []int{415}},
		{name: "no content type", edit: func(map[string]any) {}, ctype: text(""), status: []int{415}},
		{name: "300 KiB body", edit: huge, status: []int{413}},
		{name: "300 KiB body, chunked", edit: huge, chunk: true, status: []int{413}},
		{name: "unknown field", edit: func(m map[string]any) { m["zzz_unknown"] = 1 }, status: []int{400}, field: "zzz_unknown"},
		{name: "duplicate key with an unknown one", body: []byte(`{"zzz":1,"zzz":2}`), status: []int{400}},
	}
	if ep.pathParam != "" {
		for _, p := range []string{url.PathEscape(sqlInject), url.PathEscape(htmlProbe), "%00", "..%2F..%2Fetc%2Fpasswd", strings.Repeat("9", 5000), "-1"} {
			vs = append(vs, variant{name: "path parameter " + p[:min(len(p), 24)], edit: func(map[string]any) {}, path: p, status: []int{400, 404, 405}})
		}
	}
	for _, fl := range ep.fields {
		fl := fl
		set := func(v any) func(map[string]any) { return func(m map[string]any) { setPath(m, fl.path, v) } }
		name := fl.path
		wrong := map[fieldKind][]any{kString: {12345, true, []any{"x"}, map[string]any{}}, kInt: {"12", 1.5, 1e300, true, []any{1}},
			kBool: {"true", 1, []any{}}, kStrings: {"x", map[string]any{}, []any{1, 2}}, kObjects: {"x", []any{"x"}}, kObject: {"x", 12, []any{}}}
		for _, w := range wrong[fl.kind] {
			vs = append(vs, variant{name: fmt.Sprintf("%s as %T", name, w), edit: set(w), status: []int{400}, field: fl.path})
		}
		if fl.required {
			vs = append(vs, variant{name: name + " missing", edit: func(m map[string]any) { deletePath(m, fl.path) }, status: []int{400, 422}, field: fl.path})
		}
		if fl.kind == kObject && strings.Contains(fl.path, ".") || fl.path == "applicant" {
			vs = append(vs, variant{name: "unknown field in " + name, edit: set(map[string]any{"zzz_unknown": 1}), status: []int{400, 422}})
		}
		if fl.kind == kInt {
			for _, x := range []any{-1, json.Number("9223372036854775808"), json.Number("-9223372036854775809")} {
				vs = append(vs, variant{name: fmt.Sprintf("%s = %v", name, x), edit: set(x), status: []int{400, 409, 422}, field: fl.path})
			}
		}
		if fl.kind != kString {
			continue
		}
		refused := append([]int{422}, ep.refusedAs...)
		vs = append(vs,
			variant{name: name + " of 10,000 characters", edit: set(long10k), status: []int{422}, field: fl.path},
			variant{name: name + " with invalid UTF-8", body: invalidUTF8(ep, fl.path), status: []int{400}},
		)
		for _, c := range controls {
			if fl.free && fl.path == "password" && !strings.Contains(c, "\x00") {
				vs = append(vs, variant{name: fmt.Sprintf("%s with control %q", name, c), edit: set(c + "-padding"), accept: true, stored: ""})
				continue
			}
			vs = append(vs, variant{name: fmt.Sprintf("%s with control %q", name, c), edit: set(c), status: refused, field: fieldUnless(fl, ep)})
		}
		payloads := []string{sqlInject, htmlProbe}
		if fl.short {
			payloads = []string{sqlShort, htmlShort}
		}
		for _, p := range payloads {
			if fl.free {
				vs = append(vs, variant{name: name + " holding " + p[:12], edit: set(p), accept: true, stored: storedForm(fl, p)})
				continue
			}
			vs = append(vs, variant{name: name + " holding " + p[:12], edit: set(p), status: refused, field: fieldUnless(fl, ep)})
		}
	}
	return vs
}

// fieldUnless is the field a refusal must name, except where the refusal
// is a sign-in failure, which names none.
func fieldUnless(fl field, ep writeEndpoint) string {
	if len(ep.refusedAs) > 0 {
		return ""
	}
	return fl.path
}

// storedForm is what must be found in the database: passwords are hashed.
func storedForm(fl field, p string) string {
	if fl.path == "password" {
		return ""
	}
	return p
}

func invalidUTF8(ep writeEndpoint, path string) []byte {
	m := map[string]any{}
	for k, v := range ep.body(0) {
		m[k] = v
	}
	raw, _ := json.Marshal(normaliseAny(m))
	var doc map[string]any
	json.Unmarshal(raw, &doc)
	setPath(doc, path, "MARK")
	raw, _ = json.Marshal(doc)
	return bytes.Replace(raw, []byte(`"MARK"`), []byte("\"bad\xff\xfeutf8\""), 1)
}

// send sends one variant and returns the answer.
func send(t *testing.T, env *apitest.Env, ep writeEndpoint, path string, body []byte, v variant) *apitest.Response {
	t.Helper()
	if !v.chunk {
		req := apitest.Req{Method: ep.method, Path: path, Token: ep.token, Body: body, Raw: true}
		if v.ctype != nil {
			req.Header = map[string]string{"Content-Type": *v.ctype}
		}
		if body == nil {
			req.Body = []byte{}
		}
		return env.Do(req)
	}
	// No Content-Length: the limit must hold while the body is read.
	req, err := http.NewRequest(ep.method, env.Server.URL+path, io.MultiReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if ep.token != "" {
		req.Header.Set("Authorization", "Bearer "+ep.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("%s: %d answered as %q", v.name, resp.StatusCode, ct)
	}
	return &apitest.Response{Status: resp.StatusCode, Header: resp.Header, Body: out}
}

var indexRE = regexp.MustCompile(`\.(\d+)`)

// namesField reports whether the problem names path or a field within or above it.
func namesField(body []byte, path string) bool {
	var p struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	json.Unmarshal(body, &p)
	// Bodies name list entries "days[0].date"; JSON type errors "days.date".
	want, bare := indexRE.ReplaceAllString(path, "[$1]"), indexRE.ReplaceAllString(path, "")
	for _, e := range p.Errors {
		if e.Field == want || e.Field == bare || strings.HasPrefix(e.Field, want) || strings.HasPrefix(want, e.Field) {
			return true
		}
	}
	return false
}

func pathValue(path string, ep writeEndpoint) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case ep.pathParam == "id":
		return parts[len(parts)-2]
	default:
		return parts[len(parts)-1]
	}
}

// normalise turns a body into plain JSON values (maps and []any), so paths
// can reach into it.
func normalise(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	return normaliseAny(m).(map[string]any)
}

func normaliseAny(v any) any {
	raw, _ := json.Marshal(v)
	var out any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.Decode(&out)
	return out
}

func walk(m map[string]any, path string) (parent any, last string) {
	parts := strings.Split(path, ".")
	var cur any = m
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i, _ := strconv.Atoi(p)
			cur = c[i]
		}
	}
	return cur, parts[len(parts)-1]
}

func setPath(m map[string]any, path string, v any) {
	parent, last := walk(m, path)
	switch c := parent.(type) {
	case map[string]any:
		c[last] = v
	case []any:
		i, _ := strconv.Atoi(last)
		c[i] = v
	}
}

func deletePath(m map[string]any, path string) {
	parent, last := walk(m, path)
	if c, ok := parent.(map[string]any); ok {
		delete(c, last)
	}
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func tableNames(t *testing.T, env *apitest.Env) []string {
	t.Helper()
	tables, err := env.Store.DB().Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(tables)
	if len(tables) < 10 {
		t.Fatalf("only tables %v", tables)
	}
	return tables
}

func rowCounts(t *testing.T, env *apitest.Env, tables []string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range tables {
		var n int64
		if err := env.Store.DB().Table(table).Count(&n).Error; err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

// dbHolds reports whether some text in some table is s, or holds it (JSON
// lists are stored encoded); "" holds trivially.
func dbHolds(t *testing.T, env *apitest.Env, tables []string, s string) bool {
	t.Helper()
	if s == "" {
		return true
	}
	enc, _ := json.Marshal(s)
	inner := string(enc[1 : len(enc)-1])
	found := false
	eachText(t, env, tables, func(_, _ string, text []byte) bool {
		found = string(text) == s || strings.Contains(string(text), inner)
		return !found
	})
	return found
}

// eachText calls fn with every text or byte cell of every row of tables,
// until fn returns false.
func eachText(t *testing.T, env *apitest.Env, tables []string, fn func(table, column string, text []byte) bool) {
	t.Helper()
	for _, table := range tables {
		rows, err := env.Store.DB().Table(table).Rows()
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				t.Fatal(err)
			}
			for i, v := range vals {
				var text []byte
				switch x := v.(type) {
				case string:
					text = []byte(x)
				case []byte:
					text = x
				default:
					continue
				}
				if !fn(table, cols[i], text) {
					rows.Close()
					return
				}
			}
		}
		rows.Close()
	}
}
