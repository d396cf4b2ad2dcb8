package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

// The binding fuzz targets feed arbitrary bodies to the strict JSON binding
// of registration and of each transition. Whatever the body: no panic; a
// refusal is a 4xx problem with a code (never a 500); an accepted body is
// valid UTF-8 JSON whose every string is within its limit and free of NUL,
// and binds again to the same value after a round trip.

var fuzzEcho = func() *echo.Echo {
	e := echo.New()
	e.Validator = newValidator()
	return e
}()

func bindBody(t *testing.T, raw []byte, dst any) error {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/errands", bytes.NewReader(raw))
	req.Header.Set(echo.HeaderContentType, "application/json")
	c := fuzzEcho.NewContext(req, httptest.NewRecorder())
	_, err := bindJSON(c, dst)
	return err
}

// checkBinding binds raw into a fresh value from newDst and checks the
// properties above; it returns the bound value, or nil when refused.
func checkBinding(t *testing.T, raw []byte, newDst func() any) any {
	dst := newDst()
	err := bindBody(t, raw, dst)
	if err != nil {
		p := problemOf(err)
		if p.Status < 400 || p.Status > 499 || p.Code == "" || p.Code == "internal" {
			t.Fatalf("body %q: refused as %d %q (%v)", raw, p.Status, p.Code, err)
		}
		return nil
	}
	if !utf8.Valid(raw) || !json.Valid(raw) {
		t.Fatalf("body %q: accepted but not valid UTF-8 JSON", raw)
	}
	checkStrings(t, reflect.ValueOf(dst).Elem(), raw)
	again, err := json.Marshal(dst)
	if err != nil {
		t.Fatal(err)
	}
	second := newDst()
	if err := bindBody(t, again, second); err != nil {
		t.Fatalf("body %q bound to %s, which does not bind again: %v", raw, again, err)
	}
	if !reflect.DeepEqual(dst, second) {
		t.Fatalf("round trip of %q: %+v then %+v", raw, dst, second)
	}
	return dst
}

// checkStrings checks every string against its `max` tag and for NUL.
func checkStrings(t *testing.T, v reflect.Value, raw []byte) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			checkStrings(t, v.Elem(), raw)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			tag := v.Type().Field(i).Tag.Get("validate")
			if max := tagMax(tag); max > 0 && f.Kind() == reflect.String && utf8.RuneCountInString(f.String()) > max {
				t.Fatalf("body %q: %s has %d characters, more than %d", raw, v.Type().Field(i).Name, utf8.RuneCountInString(f.String()), max)
			}
			checkStrings(t, f, raw)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			checkStrings(t, v.Index(i), raw)
		}
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			t.Fatalf("body %q: a NUL character got through", raw)
		}
	}
}

func tagMax(tag string) int {
	for _, part := range strings.Split(tag, ",") {
		if part == "dive" {
			return 0 // the rest applies to the elements
		}
		if n, ok := strings.CutPrefix(part, "max="); ok {
			max := 0
			for _, c := range n {
				max = max*10 + int(c-'0')
			}
			return max
		}
	}
	return 0
}

func FuzzBindRegistration(f *testing.F) {
	for _, s := range []string{
		`{"item_code":"SH01","applicant":{"name":"陈秀英","id_number":"35018219900101123X","phone":"13912345678","address":"吴航街道"},"materials":["参保登记表","身份证","户口簿"],"channel":"walk_in","note":""}`,
		`{"item_code":"SH01","applicant":{"name":"a","id_number":"1","phone":"1"},"channel":"app"}`,
		`{"item_code":1}`, `{"applicant":null}`, `{"materials":[null]}`, `{"note":"\u0000"}`, `[]`, `{`, "{\"note\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := checkBinding(t, raw, func() any { return &registerRequest{} })
		if r, ok := got.(*registerRequest); ok && !strings.Contains("walk_in home_visit phone app web", r.Channel) {
			t.Fatalf("body %q: channel %q accepted", raw, r.Channel)
		}
	})
}

// fuzzStep is the target of one transition: its binding, then its step.
func fuzzStep(f *testing.F, act service.Action, seeds ...string) {
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":-1,"note":"x"}`))
	f.Add([]byte(`{"version":"1"}`))
	f.Add([]byte(`{"version":1e400}`))
	f.Add([]byte(`{"version":1,"zzz":true}`))
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := checkBinding(t, raw, func() any { return newStepRequest(act) })
		if got == nil {
			return
		}
		version, _, err := got.(stepRequest).step()
		if err != nil {
			if p := problemOf(err); p.Status < 400 || p.Status > 499 {
				t.Fatalf("body %q: step refused as %d", raw, p.Status)
			}
			return
		}
		if version < 0 {
			t.Fatalf("body %q: version %d accepted", raw, version)
		}
	})
}

func FuzzBindForward(f *testing.F) {
	fuzzStep(f, service.ActionForward, `{"version":3,"note":"材料已收齐"}`)
}
func FuzzBindAccept(f *testing.F) { fuzzStep(f, service.ActionAccept, `{"version":2}`) }
func FuzzBindReturn(f *testing.F) {
	fuzzStep(f, service.ActionReturn, `{"version":3,"missing_materials":["户口簿"],"note":"缺户口簿"}`, `{"version":3,"missing_materials":[]}`)
}
func FuzzBindResubmit(f *testing.F) {
	fuzzStep(f, service.ActionResubmit, `{"version":4,"note":"已补齐"}`)
}
func FuzzBindComplete(f *testing.F) {
	fuzzStep(f, service.ActionComplete, `{"version":3,"outcome":"approved"}`, `{"version":3,"outcome":"refused","reason":"不符合条件"}`, `{"version":3,"outcome":"maybe"}`)
}
func FuzzBindDeliver(f *testing.F) {
	fuzzStep(f, service.ActionDeliver, `{"version":4,"receipt_recovered":true,"satisfaction":5}`,
		`{"version":4,"receipt_recovered":false,"id_number":"35018219900101123X","satisfaction":0}`, `{"version":4,"receipt_recovered":null}`)
}
func FuzzBindWithdraw(f *testing.F) {
	fuzzStep(f, service.ActionWithdraw, `{"version":1,"reason":"申请人撤回"}`, `{"version":1,"reason":""}`)
}
func FuzzBindExtend(f *testing.F) {
	fuzzStep(f, service.ActionExtend, `{"version":3,"due_date":"2026-03-16","reason":"需现场核查"}`, `{"version":3,"due_date":"2026-02-30","reason":"x"}`,
		`{"version":3,"due_date":"16/03/2026","reason":"x"}`)
}
