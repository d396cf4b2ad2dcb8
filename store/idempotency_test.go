package store_test

import (
	"context"
	"sync/atomic"
	"testing"

	"daiban/internal/apitest"
	"daiban/service"
	"daiban/store"
)

// staleOnce answers the first read of an errand with the errand as it was
// before: the moment a retry reads it just before the twin that carries the
// same key commits.
type staleOnce struct {
	*store.Store
	before atomic.Pointer[service.Errand]
}

func (m *staleOnce) Errand(ctx context.Context, id string) (service.Errand, error) {
	if e := m.before.Swap(nil); e != nil {
		return *e, nil
	}
	return m.Store.Errand(ctx, id)
}

// TestIdempotentRetryRacingItsTwin: a retried transition whose twin (same
// key, same body) commits after the retry read the errand gets the twin's
// answer, not a version conflict, and writes nothing: its claim of the key
// is refused. Two API instances on PostgreSQL hit this window often (found
// by e2e.TestTwoInstances).
func TestIdempotentRetryRacingItsTwin(t *testing.T) {
	env := apitest.New(t)
	ctx := context.Background()
	agent := env.F.Actor("ag1a")
	it := env.F.ItemTownship
	e, _, err := env.Svc.Register(ctx, agent, service.RegisterInput{ItemCode: it.Code, Materials: it.Materials, Channel: service.ChannelWalkIn,
		Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, err := env.Store.Errand(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	key := &service.IdemKey{Key: agent.UserID + ":fwd", Hash: "same-request"}
	first, replayed, err := env.Svc.Transition(ctx, agent, e.ID, service.ActionForward, 1, service.StepInput{}, key)
	if err != nil || replayed || first.Version != 2 {
		t.Fatalf("first forward: v%d replayed=%v %v", first.Version, replayed, err)
	}
	stale := &staleOnce{Store: env.Store}
	stale.before.Store(&before)
	racing := service.New(stale.Stores(), service.Options{Now: env.Clock.Now})
	again, replayed, err := racing.Transition(ctx, agent, e.ID, service.ActionForward, 1, service.StepInput{}, key)
	if err != nil || !replayed || again.Version != first.Version || again.Status != first.Status {
		t.Fatalf("the retry got v%d %s replayed=%v, %v; want the twin's answer v%d %s", again.Version, again.Status, replayed, err, first.Version, first.Status)
	}
	var events int64
	env.Store.DB().Table("events").Where("errand_id = ?", e.ID).Count(&events)
	if events != 2 {
		t.Errorf("%d events after a forward and its retry, want 2", events)
	}
}
