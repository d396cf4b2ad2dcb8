package web_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"daiban/internal/apitest"
)

// TestBrowserInbox: an errand forwarded to the township shows as an unread
// count in the officer's header; opening the message leads to the errand
// and clears the count. The header stays within 120 px on phones with the
// count in it.
func TestBrowserInbox(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	agent := env.Login("ag1a")
	var ids []string
	for range 2 {
		r := env.Post("/api/v1/errands", agent, apitest.Registration(env.F.ItemTownship))
		apitest.Expect(t, r, http.StatusCreated)
		var e struct{ ID string }
		r.JSON(t, &e)
		apitest.Expect(t, env.Post("/api/v1/errands/"+e.ID+"/forward", agent, map[string]any{"version": 1}), http.StatusOK)
		ids = append(ids, e.ID)
	}
	for _, w := range []int64{390, 360, 1366} {
		h := phoneH
		if w == 1366 {
			h = 768
		}
		p := newPerson(t, root, env, fmt.Sprintf("tw1-%d", w), w, int64(h))
		p.login("tw1")
		p.open("/")
		if got := p.text(".who .badge"); got != "2" {
			t.Fatalf("at %d px the header's unread count is %q, want 2", w, got)
		}
		hh := p.eval(`String(Math.round(document.querySelector('header.top').getBoundingClientRect().height))`)
		if n, err := strconv.Atoi(hh); err != nil || n > 120 {
			t.Errorf("at %d px the header is %s px tall with the unread count, want at most 120", w, hh)
		}
		if w == 360 {
			continue
		}
		p.open("/inbox")
		p.expectText(".inbox-list", "新转报", "未读")
		p.shot(fmt.Sprintf("inbox-township-%dx%d", w, h))
		if w != 1366 {
			continue
		}
		p.submit(".inbox-list li:first-child button")
		if loc := p.eval(`location.pathname`); !strings.HasPrefix(loc, "/errands/") {
			t.Fatalf("opening a message led to %s", loc)
		}
		if got := p.eval(`String(document.querySelectorAll('.who .badge').length ? document.querySelector('.who .badge').textContent : "")`); got != "1" {
			t.Errorf("after opening one of two messages the count is %q, want 1", got)
		}
	}
}

// TestRegisterDeclinesSMS: the registration form's 不接收短信 box is kept
// on the errand, so its completion sends no text.
func TestRegisterDeclinesSMS(t *testing.T) {
	env := newEnv(t)
	b := newBrowser(t, env)
	b.login("ag1a")
	expectText(t, b.get("/register?item="+env.F.ItemTownship.Code), "申请人不接收短信")
	for _, declined := range []bool{false, true} {
		form := registration(env)
		if declined {
			form.Set("no_sms", "on")
		}
		id, _, _ := register(t, b, form)
		var noSMS bool
		if err := env.Store.DB().Raw(`SELECT no_sms FROM errands WHERE id = ?`, id).Row().Scan(&noSMS); err != nil {
			t.Fatal(err)
		}
		if noSMS != declined {
			t.Errorf("ticked %v, stored %v", declined, noSMS)
		}
	}
}
