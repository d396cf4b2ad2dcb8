package store_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"daiban/internal/apitest"
	"daiban/internal/testdb"
	"daiban/service"
)

// TestStatsMatchRecomputation plays random histories through the service
// and checks that the rollup fast path gives exactly the figures of a
// straightforward recomputation from the errands, for random periods, every
// grouping and every scope.
func TestStatsMatchRecomputation(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		env := apitest.New(t)
		ctx := context.Background()
		f := env.F
		rng := rand.New(rand.NewPCG(seed, 42))
		agents := []string{"ag1a", "ag1a2", "ag1b", "ag2a"}
		officerAt := map[string]string{f.T1.ID: "tw1", f.T2.ID: "tw2", f.City.ID: "city"}
		agentAt := map[string]string{f.V1a.ID: "ag1a", f.V1b.ID: "ag1b", f.V2a.ID: "ag2a"}
		items := []service.Item{f.ItemTownship, f.ItemCity}
		var ids []string
		applied := 0
		for op := 0; op < 260; op++ {
			env.Clock.Advance(time.Duration(rng.IntN(30)) * time.Hour)
			if len(ids) == 0 || rng.IntN(3) == 0 {
				it := items[rng.IntN(2)]
				reg := service.RegisterInput{ItemCode: it.Code, Materials: it.Materials, Channel: service.ChannelWalkIn,
					Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}}
				e, _, err := env.Svc.Register(ctx, f.Actor(agents[rng.IntN(len(agents))]), reg, nil)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, e.ID)
				continue
			}
			e, err := env.Svc.Errand(ctx, f.Actor("super"), ids[rng.IntN(len(ids))])
			if err != nil {
				t.Fatal(err)
			}
			var acts []service.Action
			for a := range service.Lifecycle[e.Status] {
				// 催办 and corrections leave every figure as it was
				// (service.Contribution reads neither); the walk takes
				// the steps that move errands on.
				if a != service.ActionUrge && a != service.ActionCorrect {
					acts = append(acts, a)
				}
			}
			if len(acts) == 0 {
				continue
			}
			slices.Sort(acts)
			act := acts[rng.IntN(len(acts))]
			st := service.Lifecycle[e.Status][act]
			who := agentAt[e.IntakeOrgID]
			if st.Where == service.AtHolder && act != service.ActionWithdraw {
				who = officerAt[e.HolderOrgID]
			}
			yes := rng.IntN(10) > 0
			in := service.StepInput{Reason: "理由", ReceiptRecovered: &yes, IDNumber: apitest.ValidID, Satisfaction: rng.IntN(6),
				Outcome:          []service.Outcome{service.OutcomeApproved, service.OutcomeRefused}[rng.IntN(2)],
				MissingMaterials: e.Materials[:1], DueDate: service.DateOf(e.DueAt) + service.Date(1+rng.IntN(5))}
			if _, _, err := env.Svc.Transition(ctx, f.Actor(who), e.ID, act, e.Version, in, nil); err == nil {
				applied++
			}
		}
		if applied < 60 {
			t.Fatalf("seed %d: only %d transitions applied; the history is too thin to test", seed, applied)
		}
		start, end := service.DateOf(apitest.DefaultStart), service.DateOf(env.Clock.Now())
		compared := 0
		for i := 0; i < 25; i++ {
			from := start - 3 + service.Date(rng.IntN(int(end-start)+6))
			to := from + service.Date(rng.IntN(80))
			for _, by := range append([]service.GroupBy{service.GroupNone}, service.GroupBys...) {
				for _, who := range []string{"super", "tw1", "tw2", "ag1b"} {
					req := service.StatsRequest{From: from.String(), To: to.String(), GroupBy: string(by)}
					fast, err := env.Svc.Stats(ctx, f.Actor(who), req)
					if err != nil {
						t.Fatal(err)
					}
					slow, err := testdb.Reference(env.Store, env.Clock.Now).Stats(ctx, f.Actor(who), req)
					if err != nil {
						t.Fatal(err)
					}
					compared++
					if fast.Totals.Counts != slow.Totals.Counts || len(fast.Groups) != len(slow.Groups) {
						t.Fatalf("seed %d, %s, %s..%s by %q:\nfast %+v (%d groups)\nslow %+v (%d groups)", seed, who, from, to, by,
							fast.Totals.Counts, len(fast.Groups), slow.Totals.Counts, len(slow.Groups))
					}
					for g := range fast.Groups {
						if fast.Groups[g].Key != slow.Groups[g].Key || fast.Groups[g].Counts != slow.Groups[g].Counts {
							t.Fatalf("seed %d, %s, %s..%s by %q, group %s: fast %+v, slow %+v", seed, who, from, to, by,
								fast.Groups[g].Key, fast.Groups[g].Counts, slow.Groups[g].Counts)
						}
					}
				}
			}
		}
		total, _ := testdb.Reference(env.Store, env.Clock.Now).Stats(ctx, f.Actor("super"), service.StatsRequest{From: start.String(), To: end.String()})
		if total.Totals.Completed == 0 || total.Totals.Accepted < 40 {
			t.Fatalf("seed %d: a thin history: %+v", seed, total.Totals.Counts)
		}
		t.Logf("seed %d: %d errands, %d transitions, %d reports compared", seed, len(ids), applied, compared)
	}
}

// heldStats is the real store with its statistics query held at a gate, to
// see how many reports the service computes at once.
type heldStats struct {
	service.StatsStore
	entered chan struct{}
	release chan struct{}
}

func (h heldStats) Stats(ctx context.Context, q service.StatsQuery) ([]service.StatsRow, error) {
	h.entered <- struct{}{}
	<-h.release
	return h.StatsStore.Stats(ctx, q)
}

// TestReportsComputedAtOnce checks that no more many-cell reports than
// Options.Reports are computed at once, that the others wait and then get
// their figures, that a request given up while waiting leaves with its
// context's error, and that a report by township does not wait.
func TestReportsComputedAtOnce(t *testing.T) {
	env := apitest.New(t)
	h := heldStats{StatsStore: env.Store, entered: make(chan struct{}, 8), release: make(chan struct{})}
	stores := env.Store.Stores()
	stores.Stats = h
	svc := service.New(stores, service.Options{Now: env.Clock.Now, Reports: 2})
	super := env.F.Actor("super")
	req := service.StatsRequest{From: "2026-03-01", To: "2026-03-31", GroupBy: "agent"}
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			_, err := svc.Stats(context.Background(), super, req)
			errs <- err
		}()
	}
	for range 2 {
		<-h.entered
	}
	select {
	case <-h.entered:
		t.Fatal("a third report was computed while two were")
	case <-time.After(100 * time.Millisecond):
	}
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error, 1)
	go func() {
		_, err := svc.Stats(ctx, super, req)
		waiting <- err
	}()
	cancel()
	if err := <-waiting; !errors.Is(err, context.Canceled) {
		t.Fatalf("a report given up while waiting: %v, want context.Canceled", err)
	}
	township := make(chan error, 1)
	go func() {
		_, err := svc.Stats(context.Background(), super, service.StatsRequest{From: req.From, To: req.To, GroupBy: "township"})
		township <- err
	}()
	<-h.entered // the township report reaches the store beside the two
	close(h.release)
	if err := <-township; err != nil {
		t.Fatalf("the report by township: %v", err)
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatalf("a waiting report: %v", err)
		}
	}
	if n := len(h.entered); n != 4 {
		t.Fatalf("%d more reports reached the store after the first two, want 4", n)
	}
}
