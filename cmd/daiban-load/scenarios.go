package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"daiban/service"
)

// world is what the scenarios need from a running server: a signed-in
// agent per worker with the officers of its township and city and the
// supervisor of its city, and the catalogue.
type world struct {
	api    *api
	agents []*agent // agents[worker]
	items  []item
	idem   bool
	seed   uint64

	rngs []*mrand.Rand // rngs[worker]

	poolMu sync.RWMutex
	pool   []receipt // for public lookups
}

type agent struct {
	username   string
	token      string
	orgID      string
	township   string
	twOfficer  string // the township officer's token
	twUsername string
	city       *city
}

// city holds the tokens of a city's supervisor and of one of its officers.
type city struct {
	super, officer string
}

type item struct {
	Code      string   `json:"code"`
	Level     string   `json:"level"`
	Materials []string `json:"materials"`
	Active    bool     `json:"active"`
}

type receipt struct{ no, code string }

// errandReply is the part of an errand answer the scenarios read.
type errandReply struct {
	ID         string `json:"id"`
	ReceiptNo  string `json:"receipt_no"`
	VerifyCode string `json:"verify_code"`
	Status     string `json:"status"`
	Version    int    `json:"version"`
	Item       struct {
		Level string `json:"level"`
	} `json:"item"`
}

// setup signs in and looks up everything the scenarios need.
func setup(ctx context.Context, a *api, o options) (*world, error) {
	w := &world{api: a, idem: o.idempotency, seed: o.seed}
	var page struct {
		Items      []item  `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	for path := "/api/v1/catalog/items?limit=100"; path != ""; {
		if err := a.getJSON(ctx, path, "", &page); err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			if it.Active {
				w.items = append(w.items, it)
			}
		}
		path = ""
		if page.NextCursor != nil && *page.NextCursor != "" {
			path = "/api/v1/catalog/items?limit=100&cursor=" + url.QueryEscape(*page.NextCursor)
		}
		page.Items, page.NextCursor = nil, nil
	}
	if len(w.items) == 0 {
		return nil, errors.New("the catalogue has no active item")
	}

	tokens := &tokenCache{api: a, password: o.password, tokens: map[string]string{}}
	var users struct {
		Items []struct {
			Username string `json:"username"`
		} `json:"items"`
	}
	// The demo's further cities prefix their accounts with c02, c03 …
	prefixes := make([]string, o.cities)
	cities := make([]*city, o.cities)
	for k := range o.cities {
		if k > 0 {
			prefixes[k] = fmt.Sprintf("c%02d", k+1)
		}
		c := &city{}
		var err error
		if c.super, err = tokens.get(ctx, prefixes[k]+o.supervisor); err != nil {
			return nil, err
		}
		// The supervisor sits at the city's organisation.
		cityID, err := a.orgOf(ctx, c.super)
		if err != nil {
			return nil, err
		}
		if err := a.getJSON(ctx, "/api/v1/users?role=city_officer&limit=1&org_id="+url.QueryEscape(cityID), c.super, &users); err != nil {
			return nil, err
		}
		if len(users.Items) == 0 {
			return nil, fmt.Errorf("no city officer in the city of %s", prefixes[k]+o.supervisor)
		}
		if c.officer, err = tokens.get(ctx, users.Items[0].Username); err != nil {
			return nil, err
		}
		cities[k] = c
	}

	// One agent per worker, the workers dealt out over the cities in turn
	// and spread over the whole list of agents so every township gets work;
	// the same agent serves two workers only when there are more workers
	// than agents.
	byName := map[string]*agent{}
	officers := map[string]string{} // township id → officer username
	w.agents = make([]*agent, o.clients)
	w.rngs = make([]*mrand.Rand, o.clients)
	for i := range o.clients {
		w.rngs[i] = mrand.New(mrand.NewPCG(o.seed, uint64(i)))
		k := i % o.cities
		name := fmt.Sprintf("%sag%03d", prefixes[k], 1+(i*o.agents/o.clients)%o.agents)
		if ag, ok := byName[name]; ok {
			w.agents[i] = ag
			continue
		}
		ag := &agent{username: name, city: cities[k]}
		var err error
		if ag.token, err = tokens.get(ctx, name); err != nil {
			return nil, err
		}
		if ag.orgID, err = a.orgOf(ctx, ag.token); err != nil {
			return nil, err
		}
		var org struct {
			ParentID string `json:"parent_id"`
		}
		if err := a.getJSON(ctx, "/api/v1/orgs/"+ag.orgID, ag.token, &org); err != nil {
			return nil, err
		}
		ag.township = org.ParentID
		off, ok := officers[ag.township]
		if !ok {
			if err := a.getJSON(ctx, "/api/v1/users?role=township_officer&limit=1&org_id="+url.QueryEscape(ag.township), ag.city.super, &users); err != nil {
				return nil, err
			}
			if len(users.Items) == 0 {
				return nil, fmt.Errorf("no township officer for the township of %s", name)
			}
			off = users.Items[0].Username
			officers[ag.township] = off
		}
		ag.twUsername = off
		if ag.twOfficer, err = tokens.get(ctx, off); err != nil {
			return nil, err
		}
		byName[name] = ag
		w.agents[i] = ag
	}
	return w, nil
}

// orgOf is the organisation of the account signed in with token.
func (a *api) orgOf(ctx context.Context, token string) (string, error) {
	var me struct {
		OrgID string `json:"org_id"`
	}
	err := a.getJSON(ctx, "/api/v1/auth/me", token, &me)
	return me.OrgID, err
}

// tokenCache signs each account in once (bcrypt makes sign-ins slow).
type tokenCache struct {
	api      *api
	password string
	tokens   map[string]string
}

func (c *tokenCache) get(ctx context.Context, username string) (string, error) {
	if t, ok := c.tokens[username]; ok {
		return t, nil
	}
	var out struct {
		Token string `json:"token"`
	}
	body := map[string]string{"username": username, "password": c.password}
	if err := c.api.must(ctx, http.MethodPost, "/api/v1/auth/login", "", body, &out); err != nil {
		return "", fmt.Errorf("sign in as %s: %w", username, err)
	}
	c.tokens[username] = out.Token
	return out.Token, nil
}

// registerBody invents a resident and an errand for a random item.
func (w *world) registerBody(r *mrand.Rand) (map[string]any, item) {
	it := w.items[r.IntN(len(w.items))]
	return map[string]any{
		"item_code": it.Code,
		"applicant": map[string]string{
			"name":      personName(r),
			"id_number": idNumber(r),
			"phone":     mobile(r),
			"address":   fmt.Sprintf("%d号", 1+r.IntN(300)),
		},
		"materials": it.Materials,
		"channel":   "walk_in",
		"note":      "load test",
	}, it
}

func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// register sends one registration; keep asks for the decoded answer.
func (w *world) register(ctx context.Context, worker int, rec *recorder, keep bool) (errandReply, bool) {
	ag := w.agents[worker]
	body, _ := w.registerBody(w.rngs[worker])
	var hdr map[string]string
	if w.idem {
		hdr = map[string]string{"Idempotency-Key": newKey()}
	}
	r, ok := w.api.timed(ctx, rec, "register", http.MethodPost, "/api/v1/errands", ag.token, body, keep, hdr)
	var e errandReply
	if ok && keep {
		if err := decode(r.body, &e); err != nil {
			rec.errs.add("register", "decode: "+err.Error())
			return e, false
		}
	}
	return e, ok
}

// step sends one transition with the version last read and returns the new one.
func (w *world) step(ctx context.Context, rec *recorder, token string, e *errandReply, action string, extra map[string]any) bool {
	body := map[string]any{"version": e.Version}
	for k, v := range extra {
		body[k] = v
	}
	r, ok := w.api.timed(ctx, rec, action, http.MethodPost, "/api/v1/errands/"+e.ID+"/"+action, token, body, true, nil)
	if !ok {
		return false
	}
	if err := decode(r.body, e); err != nil {
		rec.errs.add(action, "decode: "+err.Error())
		return false
	}
	return true
}

// lifecycle takes one errand from registration to delivery: the agent
// registers and forwards it, the township accepts it and either completes
// it or forwards it to the city, which accepts and completes it, and the
// agent delivers the result and recovers the receipt.
func (w *world) lifecycle(ctx context.Context, worker int, rec *recorder) int {
	ag := w.agents[worker]
	e, ok := w.register(ctx, worker, rec, true)
	if !ok {
		return 0
	}
	decider := ag.twOfficer
	ok = w.step(ctx, rec, ag.token, &e, "forward", nil) &&
		w.step(ctx, rec, ag.twOfficer, &e, "accept", nil)
	if ok && e.Item.Level == "city" {
		decider = ag.city.officer
		ok = w.step(ctx, rec, ag.twOfficer, &e, "forward", nil) &&
			w.step(ctx, rec, ag.city.officer, &e, "accept", nil)
	}
	ok = ok && w.step(ctx, rec, decider, &e, "complete", map[string]any{"outcome": "approved"}) &&
		w.step(ctx, rec, ag.token, &e, "deliver", map[string]any{"receipt_recovered": true, "satisfaction": 5})
	if ok {
		return 1
	}
	return 0
}

// fillPool registers n errands with all workers and keeps their receipts
// for the public lookups. The registrations are not measured.
func (w *world) fillPool(ctx context.Context, n int) error {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	var failed atomic.Int64
	errs := &errorLog{}
	for i := range w.agents {
		wg.Go(func() {
			rec := &recorder{origin: time.Now(), errs: errs}
			for left.Add(-1) >= 0 && ctx.Err() == nil {
				e, ok := w.register(ctx, i, rec, true)
				rec.samples = rec.samples[:0]
				if !ok {
					if failed.Add(1) > 100 {
						return
					}
					continue
				}
				w.poolMu.Lock()
				w.pool = append(w.pool, receipt{no: e.ReceiptNo, code: e.VerifyCode})
				w.poolMu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(w.pool) == 0 {
		return fmt.Errorf("could not register any errand for the lookup pool: %v", errs.samples())
	}
	return nil
}

func (w *world) lookup(ctx context.Context, worker int, rec *recorder) {
	w.poolMu.RLock()
	rc := w.pool[w.rngs[worker].IntN(len(w.pool))]
	w.poolMu.RUnlock()
	w.api.timed(ctx, rec, "lookup", http.MethodGet, "/api/v1/public/receipts/"+rc.no+"?code="+rc.code, "", nil, false, nil)
}

// statsGroups are cycled through by the stats scenario; "" is the totals only.
var statsGroups = []string{"", "township", "village", "category", "item", "month", "agent"}

func (w *world) stats(ctx context.Context, worker int, rec *recorder) {
	today := service.DateOf(time.Now())
	g := statsGroups[w.rngs[worker].IntN(len(statsGroups))]
	q := url.Values{"from": {(today - 730).String()}, "to": {today.String()}}
	op := "stats"
	if g != "" {
		q.Set("group_by", g)
		op += "/" + g
	}
	w.api.timed(ctx, rec, op, http.MethodGet, "/api/v1/stats/completion?"+q.Encode(), w.agents[worker].city.super, nil, false, nil)
}

// workloadFor returns the scenario's loop body.
func (w *world) workloadFor(name string) workload {
	switch name {
	case "register":
		return func(ctx context.Context, i int, rec *recorder) (int, error) {
			w.register(ctx, i, rec, false)
			return 0, nil
		}
	case "lookup":
		return func(ctx context.Context, i int, rec *recorder) (int, error) {
			w.lookup(ctx, i, rec)
			return 0, nil
		}
	case "lifecycle":
		return func(ctx context.Context, i int, rec *recorder) (int, error) {
			return w.lifecycle(ctx, i, rec), nil
		}
	case "stats":
		return func(ctx context.Context, i int, rec *recorder) (int, error) {
			w.stats(ctx, i, rec)
			return 0, nil
		}
	case "mixed":
		// Roughly a working day's mix: mostly residents checking receipts,
		// then registrations, whole lifecycles and a few statistics.
		return func(ctx context.Context, i int, rec *recorder) (int, error) {
			switch x := w.rngs[i].IntN(100); {
			case x < 50:
				w.lookup(ctx, i, rec)
			case x < 80:
				w.register(ctx, i, rec, false)
			case x < 95:
				return w.lifecycle(ctx, i, rec), nil
			default:
				w.stats(ctx, i, rec)
			}
			return 0, nil
		}
	}
	return nil
}
