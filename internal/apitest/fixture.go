package apitest

import (
	"context"
	"testing"

	"daiban/service"
)

// Password is every fixture user's password.
const Password = "fixture-pass"

// Fixture is a small deployment: a city with two townships, three villages,
// one user of each role where it matters, and three catalogue items.
//
//	350182 测试市
//	├── 350182100 甲镇 (tw1)
//	│   ├── 350182100201 甲一村 (ag1a, ag1a2)
//	│   └── 350182100202 甲二村 (ag1b)
//	└── 350182101 乙镇 (tw2)
//	    └── 350182101201 乙一村 (ag2a)
type Fixture struct {
	City, T1, T2, V1a, V1b, V2a          service.Org
	Users                                map[string]service.User
	ItemTownship, ItemCity, ItemInactive service.Item
}

// Actor returns the actor of a fixture user, as the service sees it.
func (f Fixture) Actor(username string) service.Actor {
	u := f.Users[username]
	org := map[string]service.Org{f.City.ID: f.City, f.T1.ID: f.T1, f.T2.ID: f.T2, f.V1a.ID: f.V1a, f.V1b.ID: f.V1b, f.V2a.ID: f.V2a}[u.OrgID]
	return service.Actor{UserID: u.ID, Username: u.Username, Name: u.DisplayName, Phone: u.Phone, Role: u.Role,
		OrgID: org.ID, OrgPath: org.Path, OrgLevel: org.Level, OrgName: org.Name}
}

// Materials of the fixture items.
var (
	TownshipMaterials = []string{"身份证", "户口簿"}
	CityMaterials     = []string{"申请表", "身份证", "证明材料"}
)

func newFixture(t testing.TB, svc *service.Service) Fixture {
	t.Helper()
	ctx := context.Background()
	admin := service.Actor{Role: service.RoleAdmin}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	org := func(code, name string, level service.Level, parent string) service.Org {
		o, err := svc.CreateOrg(ctx, admin, service.OrgInput{Code: code, Name: name, Level: level, ParentID: parent})
		must(err)
		return o
	}
	var f Fixture
	f.City = org("350182", "测试市", service.LevelCity, "")
	f.T1 = org("350182100", "甲镇", service.LevelTownship, f.City.ID)
	f.T2 = org("350182101", "乙镇", service.LevelTownship, f.City.ID)
	f.V1a = org("350182100201", "甲一村", service.LevelVillage, f.T1.ID)
	f.V1b = org("350182100202", "甲二村", service.LevelVillage, f.T1.ID)
	f.V2a = org("350182101201", "乙一村", service.LevelVillage, f.T2.ID)
	f.Users = map[string]service.User{}
	for _, u := range []struct {
		name, display string
		role          service.Role
		org           service.Org
	}{
		{"admin", "管理员", service.RoleAdmin, f.City},
		{"super", "督查员", service.RoleSupervisor, f.City},
		{"city", "市中心办事员", service.RoleCityOfficer, f.City},
		{"tw1", "甲镇办事员", service.RoleTownshipOfficer, f.T1},
		{"tw2", "乙镇办事员", service.RoleTownshipOfficer, f.T2},
		{"ag1a", "甲一代办员", service.RoleAgent, f.V1a},
		{"ag1a2", "甲一代办员二", service.RoleAgent, f.V1a},
		{"ag1b", "甲二代办员", service.RoleAgent, f.V1b},
		{"ag2a", "乙一代办员", service.RoleAgent, f.V2a},
	} {
		created, err := svc.Bootstrap(ctx, service.UserInput{Username: u.name, Password: Password, DisplayName: u.display,
			Phone: "13800000000", Role: u.role, OrgID: u.org.ID})
		must(err)
		f.Users[u.name] = created
	}
	item := func(code, name string, level service.Level, limit int, materials []string) service.Item {
		it, err := svc.CreateItem(ctx, admin, service.ItemInput{Code: code, Name: name, Category: "shehui", Level: level,
			Materials: append([]string(nil), materials...), TimeLimitDays: limit})
		must(err)
		return it
	}
	f.ItemTownship = item("TWN", "新农合参保登记", service.LevelTownship, 5, TownshipMaterials)
	f.ItemCity = item("CTY", "最低生活保障申请", service.LevelCity, 10, CityMaterials)
	f.ItemInactive = item("OLD", "已停办事项", service.LevelTownship, 5, TownshipMaterials)
	_, err := svc.SetItemActive(ctx, admin, "OLD", false)
	must(err)
	return f
}

// ValidID is a resident ID number with a correct check character.
const ValidID = "11010519491231002X"

// Registration is a valid registration body for the given item.
func Registration(item service.Item) map[string]any {
	return map[string]any{
		"item_code": item.Code,
		"applicant": map[string]any{"name": "张三丰", "id_number": ValidID, "phone": "13912345678", "address": "甲一村12号"},
		"materials": item.Materials,
		"channel":   "walk_in",
	}
}
