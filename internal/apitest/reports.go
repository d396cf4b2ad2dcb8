package apitest

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"testing"

	"daiban/service"
)

// ReportWorld adds to the fixture what 民情 needs: a grid under 甲一村 with
// its inspector, one under 乙一村, a hotline operator at the city centre, a
// department of the city and one of 甲镇 with their officers, and a second
// city with an officer, outside everyone's reach. Actors are by username:
// gi1, hot, dep, tdep and fqc.
type ReportWorld struct {
	Grid, Grid2, CityDept, TownDept, OtherCity service.Org
	Actors                                     map[string]service.Actor
}

// NewReportWorld builds the world through the service.
func NewReportWorld(t testing.TB, env *Env) ReportWorld {
	t.Helper()
	ctx := context.Background()
	admin := service.Actor{Role: service.RoleAdmin}
	org := func(code, name string, level service.Level, parent string) service.Org {
		t.Helper()
		o, err := env.Svc.CreateOrg(ctx, admin, service.OrgInput{Code: code, Name: name, Level: level, ParentID: parent})
		if err != nil {
			t.Fatalf("org %s: %v", code, err)
		}
		return o
	}
	w := ReportWorld{Actors: map[string]service.Actor{}}
	w.Grid = org("350182100201001", "甲一村第一网格", service.LevelGrid, env.F.V1a.ID)
	w.Grid2 = org("350182101201001", "乙一村第一网格", service.LevelGrid, env.F.V2a.ID)
	w.CityDept = org("3501820001", "城管局", service.LevelDepartment, env.F.City.ID)
	w.TownDept = org("3501821000001", "甲镇综治办", service.LevelDepartment, env.F.T1.ID)
	w.OtherCity = org("350181", "福清市", service.LevelCity, "")
	for _, u := range []struct {
		name, display string
		role          service.Role
		org           service.Org
	}{
		{"gi1", "甲一网格员", service.RoleGridInspector, w.Grid},
		{"hot", "热线接线员", service.RoleHotlineOperator, env.F.City},
		{"dep", "城管张科长", service.RoleDepartmentOfficer, w.CityDept},
		{"tdep", "综治办李干事", service.RoleDepartmentOfficer, w.TownDept},
		{"fqc", "福清市办事员", service.RoleCityOfficer, w.OtherCity},
	} {
		created, err := env.Svc.CreateUser(ctx, admin, service.UserInput{Username: u.name, Password: Password,
			DisplayName: u.display, Phone: "13800000001", Role: u.role, OrgID: u.org.ID})
		if err != nil {
			t.Fatalf("user %s: %v", u.name, err)
		}
		w.Actors[u.name] = service.Actor{UserID: created.ID, Username: u.name, Name: u.display, Phone: created.Phone, Role: u.role,
			OrgID: u.org.ID, OrgPath: u.org.Path, OrgLevel: u.org.Level, OrgName: u.org.Name}
	}
	return w
}

// PNG is a small picture of w × h pixels, as a phone's camera gives a photo.
func PNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 120, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
