// Package demo fills an empty database with a Changle-sized deployment: the
// city, its 18 townships and streets, 255 villages and communities, 598
// agents, officers, a supervisor, the 42-item catalogue and a generated
// history of errands.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"daiban/service"
	"daiban/store"
)

// Password is the password of every demo account except admin.
const Password = "demo1234"

// CityCode and CityName identify the demo city.
const (
	CityCode = "350182"
	CityName = "长乐市"
)

// Options tune the demo.
type Options struct {
	Errands      int                 // accepted errands to generate (withdrawn ones come on top)
	Seed         uint64              // random seed; the same seed gives the same demo
	Now          time.Time           // the end of the generated history
	PasswordCost int                 // bcrypt cost of the shared demo password
	Progress     func(done, all int) // called as errands are written
}

// Summary counts what Load wrote.
type Summary struct {
	Orgs, Users, Items, Errands, Events int
}

// Deployment is the generated organisation tree, accounts and catalogue.
type Deployment struct {
	City      service.Org
	Townships []service.Org
	Villages  []service.Org
	Users     []service.User
	Agents    []service.User // by village: Agents of Villages[i] are AgentsOf[i]
	AgentsOf  [][]service.User
	Officers  map[string]service.User // township or city org id → an officer
	Items     []service.Item
}

var (
	villageFirst  = []rune("东西南北上下新前后大小龙凤金玉石湖海山溪林田洋岭塘桥坂厝美和兴安福仁德高长平江沙")
	villageSecond = []rune("山田湖洋岭塘桥坂厝里江沙港峰林溪头尾美兴安平阳坪园亭屿洲埔")
	surnames      = []rune("陈林黄郑张李王吴刘蔡杨许何高郭周魏游邱卓董潘谢")
	givenChars    = []rune("秀丽建国明华玉金春美志强伟芳英文辉荣梅兰平安福清德海燕晓婷斌")
)

// Build generates the deployment without touching a database.
func Build(rng *rand.Rand, now time.Time, passwordHash []byte) Deployment {
	newID := func() string { return uuid.Must(uuid.NewV7()).String() }
	d := Deployment{Officers: map[string]service.User{}}
	d.City = service.Org{ID: newID(), Code: CityCode, Name: CityName, Level: service.LevelCity, Path: "/" + CityCode + "/", CreatedAt: now}
	user := func(username, name string, role service.Role, org service.Org) service.User {
		u := service.User{ID: newID(), Username: username, DisplayName: name, Phone: mobile(rng), Role: role,
			OrgID: org.ID, PasswordHash: passwordHash, Active: true, CreatedAt: now}
		d.Users = append(d.Users, u)
		return u
	}
	d.Officers[d.City.ID] = user("city01", "市行政服务中心 "+person(rng), service.RoleCityOfficer, d.City)
	user("city02", "市行政服务中心 "+person(rng), service.RoleCityOfficer, d.City)
	user("supervisor", "市委督查室 "+person(rng), service.RoleSupervisor, d.City)

	usedNames := map[string]bool{}
	streets, towns, xiang := 0, 0, 0
	agentNo := 0
	// 598 agents over 255 villages: two each, and a third in the first 88.
	const agents, villages = 598, 255
	for ti, t := range townships {
		var code string
		switch {
		case len(t.name) > 6 && t.name[len(t.name)-6:] == "街道":
			streets++
			code = fmt.Sprintf("%s%03d", CityCode, streets)
		case t.name[len(t.name)-3:] == "乡":
			code = fmt.Sprintf("%s%03d", CityCode, 200+xiang)
			xiang++
		default:
			code = fmt.Sprintf("%s%03d", CityCode, 100+towns)
			towns++
		}
		tw := service.Org{ID: newID(), Code: code, Name: t.name, Level: service.LevelTownship, ParentID: d.City.ID, Path: d.City.Path + code + "/", CreatedAt: now}
		d.Townships = append(d.Townships, tw)
		d.Officers[tw.ID] = user(fmt.Sprintf("tw%02d", ti+1), t.name+"便民服务中心 "+person(rng), service.RoleTownshipOfficer, tw)
		for i := 0; i < t.communities+t.villages; i++ {
			suffix, vcode := "村", fmt.Sprintf("%s%03d", code, 200+i-t.communities)
			if i < t.communities {
				suffix, vcode = "社区", fmt.Sprintf("%s%03d", code, 1+i)
			}
			var name string
			for name == "" || usedNames[name] {
				name = string(villageFirst[rng.IntN(len(villageFirst))]) + string(villageSecond[rng.IntN(len(villageSecond))]) + suffix
			}
			usedNames[name] = true
			v := service.Org{ID: newID(), Code: vcode, Name: name, Level: service.LevelVillage, ParentID: tw.ID, Path: tw.Path + vcode + "/", CreatedAt: now}
			d.Villages = append(d.Villages, v)
			n := agents / villages
			if len(d.Villages) <= agents%villages {
				n++
			}
			var mine []service.User
			for j := 0; j < n; j++ {
				agentNo++
				a := user(fmt.Sprintf("ag%03d", agentNo), person(rng), service.RoleAgent, v)
				mine = append(mine, a)
				d.Agents = append(d.Agents, a)
			}
			d.AgentsOf = append(d.AgentsOf, mine)
		}
	}
	for _, in := range catalog {
		d.Items = append(d.Items, service.Item{ID: newID(), Code: in.Code, Name: in.Name, Category: in.Category, Level: in.Level,
			Materials: in.Materials, FeeCents: in.FeeCents, TimeLimitDays: in.TimeLimitDays, Active: true, CreatedAt: now})
	}
	return d
}

// Load writes the demo into an empty database through st.
func Load(ctx context.Context, st *store.Store, o Options) (Summary, Deployment, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.PasswordCost == 0 {
		o.PasswordCost = bcrypt.DefaultCost
	}
	empty, err := st.Empty(ctx)
	if err != nil {
		return Summary{}, Deployment{}, err
	}
	if !empty {
		return Summary{}, Deployment{}, fmt.Errorf("the demo goes into an empty database only")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), o.PasswordCost)
	if err != nil {
		return Summary{}, Deployment{}, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6461696261)) // "daiba"
	d := Build(rng, o.Now.UTC(), hash)
	orgs := append(append([]service.Org{d.City}, d.Townships...), d.Villages...)
	if err := st.Seed(ctx, orgs, d.Users, d.Items); err != nil {
		return Summary{}, Deployment{}, err
	}
	if err := st.SetSetting(ctx, StateSetting, "loading"); err != nil {
		return Summary{}, Deployment{}, err
	}
	sum := Summary{Orgs: len(orgs), Users: len(d.Users), Items: len(d.Items)}
	if o.Errands > 0 {
		err := st.BulkLoad(ctx, func() error {
			var err error
			sum.Errands, sum.Events, err = generate(ctx, st, rng, d, o)
			return err
		})
		if err != nil {
			return sum, d, err
		}
	}
	return sum, d, st.SetSetting(ctx, StateSetting, "ready")
}

// StateSetting records whether a demo load finished ("ready") or was
// interrupted ("loading"), so a half-filled database is not served as a demo.
const StateSetting = "demo"

func person(rng *rand.Rand) string {
	n := 1 + rng.IntN(2)
	s := string(surnames[rng.IntN(len(surnames))])
	for i := 0; i < n; i++ {
		s += string(givenChars[rng.IntN(len(givenChars))])
	}
	return s
}

func mobile(rng *rand.Rand) string {
	return fmt.Sprintf("1%d%09d", 3+rng.IntN(7), rng.IntN(1_000_000_000))
}
