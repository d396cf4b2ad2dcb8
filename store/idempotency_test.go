package store_test

import (
	"context"
	"sync/atomic"
	"testing"

	"daiban/internal/apitest"
	"daiban/service"
	"daiban/store"
)

// missOnce hides the first idempotency lookup: the moment a retry checks for
// its key just before the twin that carries the same key commits.
type missOnce struct {
	*store.Store
	miss atomic.Bool
}

func (m *missOnce) Idempotent(ctx context.Context, key string) (service.IdemRecord, error) {
	if m.miss.CompareAndSwap(true, false) {
		return service.IdemRecord{}, service.NotFound("idempotency key")
	}
	return m.Store.Idempotent(ctx, key)
}

// TestIdempotentRetryRacingItsTwin: a retried transition whose twin (same
// key, same body) commits between the retry's key check and its version
// check gets the twin's answer, not a version conflict. Two API instances
// on PostgreSQL hit this window often (found by e2e.TestTwoInstances).
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
	key := &service.IdemKey{Key: agent.UserID + ":fwd", Hash: "same-request"}
	first, replayed, err := env.Svc.Transition(ctx, agent, e.ID, service.ActionForward, 1, service.StepInput{}, key)
	if err != nil || replayed || first.Version != 2 {
		t.Fatalf("first forward: v%d replayed=%v %v", first.Version, replayed, err)
	}
	hiding := &missOnce{Store: env.Store}
	hiding.miss.Store(true)
	racing := service.New(hiding, service.Options{Now: env.Clock.Now})
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
