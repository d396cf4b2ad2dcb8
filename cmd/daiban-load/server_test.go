package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	daibanapi "daiban/api"
	"daiban/demo"
	"daiban/internal/testdb"
	"daiban/service"
)

// The load tool drives a real server (HTTP stack, store, database) through
// every scenario without an error, and every registration it counts as
// acknowledged is in the database afterwards; on a province's demo of two
// cities, as the agents, officers and supervisors of both.
func TestScenariosAgainstAServer(t *testing.T) {
	for _, cities := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d cities", cities), func(t *testing.T) {
			st := testdb.Open(t)
			ctx := context.Background()
			if _, _, err := demo.Load(ctx, st, demo.Options{Errands: 300, Cities: cities, Seed: 3, PasswordCost: bcrypt.MinCost}); err != nil {
				t.Fatal(err)
			}
			svc := service.New(st.Stores(), service.Options{PasswordCost: bcrypt.MinCost})
			srv := daibanapi.New(svc, daibanapi.Options{Logger: slog.New(slog.DiscardHandler), PublicRate: 1e6, PublicBurst: 1e6})
			hs := httptest.NewServer(srv)
			defer hs.Close()
			before := errandCount(t, svc)
			perCity := func() map[string]int {
				var rows []struct {
					City string
					N    int
				}
				if err := st.DB().Raw(`SELECT substr(org_path, 1, 8) AS city, count(*) AS n FROM errands GROUP BY substr(org_path, 1, 8)`).Scan(&rows).Error; err != nil {
					t.Fatal(err)
				}
				m := map[string]int{}
				for _, r := range rows {
					m[r.City] = r.N
				}
				return m
			}
			was := perCity()

			o := options{url: hs.URL, clients: 4, duration: 700 * time.Millisecond, warmup: 0, scenarios: allScenarios,
				pool: 20, password: demo.Password, supervisor: "supervisor", agents: 598, cities: cities, seed: 1, idempotency: true}
			rep, err := measure(ctx, o, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Results) != len(allScenarios) {
				t.Fatalf("%d results for %d scenarios", len(rep.Results), len(allScenarios))
			}
			registered := o.pool
			for _, r := range rep.Results {
				if r.Total.Requests == 0 || r.Total.Errors != 0 || len(r.ErrorsSeen) != 0 {
					t.Errorf("%s: %d requests, %d errors %v", r.Scenario, r.Total.Requests, r.Total.Errors, r.ErrorsSeen)
				}
				switch r.Scenario {
				case "register":
					registered += r.Total.Requests
				case "lifecycle":
					if r.Units == 0 {
						t.Errorf("lifecycle: no errand went from registration to delivery")
					}
				}
			}
			// With no warm-up every answered registration of the register scenario
			// is in its window, so the database holds at least those.
			if after := errandCount(t, svc); after-before < registered {
				t.Errorf("%d errands added, the tool counted %d registrations answered", after-before, registered)
			}
			now := perCity()
			if len(now) != cities {
				t.Fatalf("errands in %d cities, want %d: %v", len(now), cities, now)
			}
			for c, n := range now {
				if n <= was[c] {
					t.Errorf("no errand registered in the city %s", c)
				}
			}
		})
	}
}

func errandCount(t *testing.T, svc *service.Service) int {
	t.Helper()
	check, err := svc.Verify(context.Background(), nil)
	if err != nil || check.Broken != nil {
		t.Fatalf("ledger: %+v, %v", check, err)
	}
	return check.Errands
}
