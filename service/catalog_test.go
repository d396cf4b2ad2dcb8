package service_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"daiban/internal/apitest"
	"daiban/service"
)

// TestItemEditKeepsPromisesMade: raising an item's time limit leaves the
// due date of an errand already registered where it was, read back from the
// database, and the next registration is promised under the new limit.
func TestItemEditKeepsPromisesMade(t *testing.T) {
	env := apitest.New(t)
	ctx := context.Background()
	agent, admin := env.F.Actor("ag1a"), env.F.Actor("admin")
	it := env.F.ItemTownship
	register := func(materials []string) service.Errand {
		t.Helper()
		e, _, err := env.Svc.Register(ctx, agent, service.RegisterInput{ItemCode: it.Code, Materials: materials, Channel: service.ChannelWalkIn,
			Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	before := register(it.Materials)

	limit, fee := it.TimeLimitDays+10, int64(1250)
	edited, err := env.Svc.UpdateItem(ctx, admin, it.Code, service.ItemChange{
		TimeLimitDays: &limit, FeeCents: &fee, Materials: []string{" 身份证 ", "户口簿", "照片"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if edited.TimeLimitDays != limit || edited.FeeCents != fee || !slices.Equal(edited.Materials, []string{"身份证", "户口簿", "照片"}) ||
		edited.Code != it.Code || edited.Category != it.Category || edited.Level != it.Level || !edited.Active {
		t.Fatalf("edited item = %+v, want limit %d, fee %d, three trimmed materials, the rest unchanged", edited, limit, fee)
	}
	if got, err := env.Svc.Item(ctx, it.Code); err != nil || got.TimeLimitDays != limit {
		t.Fatalf("item read back: %+v, %v; want limit %d", got, err, limit)
	}

	again, err := env.Svc.Errand(ctx, agent, before.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !again.DueAt.Equal(before.DueAt) || again.TimeLimitDays != it.TimeLimitDays {
		t.Errorf("after the edit the earlier errand is due %v with %d days, want %v with %d (unchanged)",
			again.DueAt, again.TimeLimitDays, before.DueAt, it.TimeLimitDays)
	}

	// The old materials no longer make a complete registration.
	if _, _, err := env.Svc.Register(ctx, agent, service.RegisterInput{ItemCode: it.Code, Materials: it.Materials, Channel: service.ChannelWalkIn,
		Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}}, nil); err == nil {
		t.Error("a registration without the newly required 照片 was taken")
	}
	after := register(edited.Materials)
	if after.TimeLimitDays != limit {
		t.Errorf("a new registration has %d days, want the new limit %d", after.TimeLimitDays, limit)
	}
	cal := service.NewCalendar(service.ShippedCalendars())
	if want := cal.DueAt(after.RegisteredAt, limit); !after.DueAt.Equal(want) {
		t.Errorf("a new registration is due %v, want %v (%d working days)", after.DueAt, want, limit)
	}
	if !after.DueAt.After(before.DueAt) {
		t.Errorf("the new errand is due %v, not after the earlier %v", after.DueAt, before.DueAt)
	}
}

// TestItemEditRules: an edit is the admin's, checks the same terms as
// creation, changes nothing when refused, and a missing item is not found.
func TestItemEditRules(t *testing.T) {
	env := apitest.New(t)
	ctx := context.Background()
	admin := env.F.Actor("admin")
	it := env.F.ItemCity
	zero, tooLong, neg := 0, service.MaxTimeLimitDays+1, int64(-1)
	blank := "  "
	for _, tc := range []struct {
		name   string
		who    service.Actor
		change service.ItemChange
		field  string // the field named, or "" for a forbidden
	}{
		{"not the admin", env.F.Actor("super"), service.ItemChange{TimeLimitDays: &tooLong}, ""},
		{"zero days", admin, service.ItemChange{TimeLimitDays: &zero}, "time_limit_days"},
		{"too many days", admin, service.ItemChange{TimeLimitDays: &tooLong}, "time_limit_days"},
		{"negative fee", admin, service.ItemChange{FeeCents: &neg}, "fee_cents"},
		{"blank name", admin, service.ItemChange{Name: &blank}, "name"},
		{"material twice", admin, service.ItemChange{Materials: []string{"身份证", "身份证 "}}, "materials[1]"},
		{"empty material", admin, service.ItemChange{Materials: []string{"身份证", ""}}, "materials[1]"},
	} {
		_, err := env.Svc.UpdateItem(ctx, tc.who, it.Code, tc.change)
		var se *service.Error
		switch {
		case tc.field == "" && !errors.Is(err, service.ErrForbidden):
			t.Errorf("%s: %v, want forbidden", tc.name, err)
		case tc.field != "" && (!errors.As(err, &se) || se.Kind != service.KindInvalid || len(se.Fields) != 1 || se.Fields[0].Field != tc.field):
			t.Errorf("%s: %v, want one invalid field %s", tc.name, err, tc.field)
		}
	}
	got, err := env.Svc.Item(ctx, it.Code)
	if err != nil {
		t.Fatal(err)
	}
	if got.TimeLimitDays != it.TimeLimitDays || got.FeeCents != it.FeeCents || got.Name != it.Name || !slices.Equal(got.Materials, it.Materials) {
		t.Errorf("after refused edits the item is %+v, want it unchanged %+v", got, it)
	}
	off := false
	if _, err := env.Svc.UpdateItem(ctx, admin, "NOPE", service.ItemChange{Active: &off}); !errors.Is(err, service.ErrNotFound) {
		t.Errorf("editing a missing item: %v, want not found", err)
	}
	// No materials at all is allowed (an item that needs none).
	if got, err := env.Svc.UpdateItem(ctx, admin, it.Code, service.ItemChange{Materials: []string{}}); err != nil || len(got.Materials) != 0 {
		t.Errorf("clearing the materials: %+v, %v", got.Materials, err)
	}
}
