package service

import "testing"

// TestView: the one decision of what each reader sees of an errand.
func TestView(t *testing.T) {
	e := errandIn(StatusProcessing, LevelTownship)
	e.VerifyCode, e.Applicant.Phone, e.Channel = "123456", "13912345678", ChannelHomeVisit
	intake := actorAt(RoleAgent, village)
	for _, c := range []struct {
		name     string
		a        Actor
		detail   bool
		id, code string
	}{
		{"intake agent, detail", intake, true, "11010519491231002X", "123456"},
		{"intake agent, list", intake, false, MaskIDNumber("11010519491231002X"), "123456"},
		{"township officer, detail", actorAt(RoleTownshipOfficer, township), true, "11010519491231002X", ""},
		{"township officer, list", actorAt(RoleTownshipOfficer, township), false, MaskIDNumber("11010519491231002X"), ""},
		{"supervisor, detail", actorAt(RoleSupervisor, city), true, MaskIDNumber("11010519491231002X"), ""},
		{"admin, detail", actorAt(RoleAdmin, city), true, MaskIDNumber("11010519491231002X"), ""},
	} {
		v := c.a.View(e, c.detail)
		if v.Applicant.IDNumber != c.id || v.VerifyCode != c.code || v.Errand.VerifyCode != "" {
			t.Errorf("%s: ID %q code %q (embedded %q), want %q %q", c.name, v.Applicant.IDNumber, v.VerifyCode, v.Errand.VerifyCode, c.id, c.code)
		}
		if full := c.id == e.Applicant.IDNumber; full != (v.Applicant.Phone == e.Applicant.Phone) {
			t.Errorf("%s: the phone (%q) is not masked like the ID number", c.name, v.Applicant.Phone)
		}
		if v.Channel != "上门代办" || v.Level != "乡镇(街道)便民服务中心" {
			t.Errorf("%s: labels %q %q", c.name, v.Channel, v.Level)
		}
	}
	if e.Applicant.IDNumber != "11010519491231002X" {
		t.Error("View changed the errand it was given")
	}
}
