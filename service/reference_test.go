package service_test

import (
	"context"
	"errors"
	"testing"

	"daiban/internal/apitest"
	"daiban/service"
)

// TestCatalogueAcrossInstances runs two services on one database, as two
// API instances would: after one takes an item off the catalogue, the other,
// which has registered for that item already, refuses it on its very next
// registration, and takes it again once it is back.
func TestCatalogueAcrossInstances(t *testing.T) {
	env := apitest.New(t)
	ctx := context.Background()
	agent, admin := env.F.Actor("ag1a"), env.F.Actor("admin")
	it := env.F.ItemTownship
	here := env.Svc
	there := service.New(env.Store.Stores(), service.Options{Now: env.Clock.Now})
	register := func() error {
		_, _, err := here.Register(ctx, agent, service.RegisterInput{ItemCode: it.Code, Materials: it.Materials, Channel: service.ChannelWalkIn,
			Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}}, nil)
		return err
	}
	if err := register(); err != nil {
		t.Fatal(err)
	}
	if _, err := there.SetItemActive(ctx, admin, it.Code, false); err != nil {
		t.Fatal(err)
	}
	var se *service.Error
	if err := register(); !errors.As(err, &se) || len(se.Fields) == 0 || se.Fields[0].Field != "item_code" {
		t.Fatalf("registering for an item the other instance took off: %v, want a refusal naming item_code", err)
	}
	if _, err := there.SetItemActive(ctx, admin, it.Code, true); err != nil {
		t.Fatal(err)
	}
	if err := register(); err != nil {
		t.Fatalf("the item is back, but: %v", err)
	}
	// A new item is found at once, too.
	in := service.ItemInput{Code: "NEW1", Name: "新事项", Category: it.Category, Level: service.LevelTownship,
		Materials: []string{"身份证"}, TimeLimitDays: 3}
	if _, err := there.CreateItem(ctx, admin, in); err != nil {
		t.Fatal(err)
	}
	if _, _, err := here.Register(ctx, agent, service.RegisterInput{ItemCode: "NEW1", Materials: []string{"身份证"}, Channel: service.ChannelWalkIn,
		Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}}, nil); err != nil {
		t.Fatalf("an item the other instance created: %v", err)
	}
}
