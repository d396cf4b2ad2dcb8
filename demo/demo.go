// Package demo fills an empty database with a Changle-sized deployment: the
// city, its 18 townships and streets, 255 villages and communities with
// their 972 grids, the functional departments, 598 agents, 972 grid
// inspectors, hotline operators, officers, a supervisor, the 42-item
// catalogue and a generated history of errands and 民情 reports.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
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
	Reports      int                 // accepted 民情 reports to generate (merged duplicates come on top); see ReportsFor
	Cities       int                 // county-level cities side by side (a province's tree); 1, Changle, by default
}

// Summary counts what Load wrote.
type Summary struct {
	Orgs, Users, Items, Errands, Events int
	Reports, ReportEvents               int
}

// Deployment is the generated organisation tree, accounts and catalogue.
type Deployment struct {
	City      service.Org   // Changle, the first city
	Cities    []service.Org // every city, Changle first
	Townships []service.Org
	Villages  []service.Org
	Users     []service.User
	Agents    []service.User // by village: Agents of Villages[i] are AgentsOf[i]
	AgentsOf  [][]service.User
	Officers  map[string]service.User // township, city or department org id → its officer
	Items     []service.Item

	Grids       []service.Org             // 972 a city, under its villages
	Inspectors  []service.User            // Inspectors[i] walks Grids[i]
	Departments []service.Org             // each city's five, then each township's two
	Hotline     map[string][]service.User // city org id → its 12319 operators
}

var (
	villageFirst  = []rune("东西南北上下新前后大小龙凤金玉石湖海山溪林田洋岭塘桥坂厝美和兴安福仁德高长平江沙")
	villageSecond = []rune("山田湖洋岭塘桥坂厝里江沙港峰林溪头尾美兴安平阳坪园亭屿洲埔")
	surnames      = []rune("陈林黄郑张李王吴刘蔡杨许何高郭周魏游邱卓董潘谢")
	givenChars    = []rune("秀丽建国明华玉金春美志强伟芳英文辉荣梅兰平安福清德海燕晓婷斌")
)

// Build generates the deployment of the given number of cities without
// touching a database. The first is Changle with its own townships; each
// further city (a county-level unit of Fujian, see provinceCities) repeats
// Changle's shape under its own division code, its accounts' usernames
// prefixed with c02, c03 … (c02ag001, c02tw01, c02supervisor).
func Build(rng *rand.Rand, now time.Time, passwordHash []byte, cities int) Deployment {
	d := Deployment{Officers: map[string]service.User{}, Hotline: map[string][]service.User{}}
	for k := range max(cities, 1) {
		code, name, prefix := CityCode, CityName, ""
		if k > 0 {
			c := provinceCities[(k-1)%len(provinceCities)]
			code, name, prefix = c.code, c.name, fmt.Sprintf("c%02d", k+1)
			if k > len(provinceCities) {
				// Past the list, made-up codes in an unused range.
				code, name = fmt.Sprintf("359%03d", k), fmt.Sprintf("第%d县", k)
			}
		}
		buildCity(&d, rng, now, passwordHash, code, name, prefix)
	}
	// Grids and departments draw from a stream of their own, so the rest
	// of the demo is what it was before they came.
	grng := rand.New(rand.NewPCG(rng.Uint64(), 0x67726964)) // "grid"
	for k, city := range d.Cities {
		prefix := ""
		if k > 0 {
			prefix = fmt.Sprintf("c%02d", k+1)
		}
		buildReporting(&d, grng, now, passwordHash, city, prefix)
	}
	d.City = d.Cities[0]
	for _, in := range catalog {
		d.Items = append(d.Items, service.Item{ID: newID(), Code: in.Code, Name: in.Name, Category: in.Category, Level: in.Level,
			Materials: in.Materials, FeeCents: in.FeeCents, TimeLimitDays: in.TimeLimitDays, Active: true, CreatedAt: now})
	}
	return d
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// buildCity adds one city with Changle's townships, villages and accounts.
func buildCity(d *Deployment, rng *rand.Rand, now time.Time, passwordHash []byte, cityCode, cityName, prefix string) {
	city := service.Org{ID: newID(), Code: cityCode, Name: cityName, Level: service.LevelCity, Path: "/" + cityCode + "/", CreatedAt: now}
	d.Cities = append(d.Cities, city)
	user := func(username, name string, role service.Role, org service.Org) service.User {
		u := service.User{ID: newID(), Username: prefix + username, DisplayName: name, Phone: mobile(rng), Role: role,
			OrgID: org.ID, PasswordHash: passwordHash, Active: true, CreatedAt: now}
		d.Users = append(d.Users, u)
		return u
	}
	d.Officers[city.ID] = user("city01", "市行政服务中心 "+person(rng), service.RoleCityOfficer, city)
	user("city02", "市行政服务中心 "+person(rng), service.RoleCityOfficer, city)
	user("supervisor", "市委督查室 "+person(rng), service.RoleSupervisor, city)

	usedNames := map[string]bool{}
	streets, towns, xiang := 0, 0, 0
	agentNo, firstVillage := 0, len(d.Villages)
	// 598 agents over 255 villages: two each, and a third in the first 88.
	const agents, villages = 598, 255
	for ti, t := range townships {
		var code string
		switch {
		case len(t.name) > 6 && t.name[len(t.name)-6:] == "街道":
			streets++
			code = fmt.Sprintf("%s%03d", cityCode, streets)
		case t.name[len(t.name)-3:] == "乡":
			code = fmt.Sprintf("%s%03d", cityCode, 200+xiang)
			xiang++
		default:
			code = fmt.Sprintf("%s%03d", cityCode, 100+towns)
			towns++
		}
		tw := service.Org{ID: newID(), Code: code, Name: t.name, Level: service.LevelTownship, ParentID: city.ID, Path: city.Path + code + "/", CreatedAt: now}
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
			if len(d.Villages)-firstVillage <= agents%villages {
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
}

// Orgs are the deployment's organisations, parents before children.
func (d Deployment) Orgs() []service.Org {
	return slices.Concat(d.Cities, d.Townships, d.Villages, d.Grids, d.Departments)
}

// provinceCities are county-level units of Fujian that the demo adds
// beside Changle for a province-sized tree.
var provinceCities = []struct{ code, name string }{
	{"350102", "鼓楼区"}, {"350103", "台江区"}, {"350104", "仓山区"}, {"350105", "马尾区"}, {"350111", "晋安区"},
	{"350121", "闽侯县"}, {"350122", "连江县"}, {"350123", "罗源县"}, {"350124", "闽清县"}, {"350125", "永泰县"},
	{"350128", "平潭县"}, {"350181", "福清市"}, {"350203", "思明区"}, {"350205", "海沧区"}, {"350206", "湖里区"},
	{"350211", "集美区"}, {"350212", "同安区"}, {"350213", "翔安区"}, {"350302", "城厢区"}, {"350303", "涵江区"},
	{"350304", "荔城区"}, {"350305", "秀屿区"}, {"350322", "仙游县"}, {"350502", "鲤城区"}, {"350503", "丰泽区"},
	{"350504", "洛江区"}, {"350505", "泉港区"}, {"350521", "惠安县"}, {"350524", "安溪县"}, {"350525", "永春县"},
	{"350526", "德化县"}, {"350581", "石狮市"}, {"350582", "晋江市"}, {"350583", "南安市"}, {"350602", "芗城区"},
	{"350603", "龙文区"}, {"350622", "云霄县"}, {"350623", "漳浦县"}, {"350624", "诏安县"}, {"350626", "东山县"},
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
	d := Build(rng, o.Now.UTC(), hash, o.Cities)
	orgs := d.Orgs()
	if err := st.Seed(ctx, orgs, d.Users, d.Items); err != nil {
		return Summary{}, Deployment{}, err
	}
	if err := st.SetSetting(ctx, StateSetting, "loading"); err != nil {
		return Summary{}, Deployment{}, err
	}
	sum := Summary{Orgs: len(orgs), Users: len(d.Users), Items: len(d.Items)}
	// Reports first, on a small database: each is a few real transactions,
	// which the errands' bulk load would otherwise make slower.
	if o.Reports > 0 {
		var err error
		if sum.Reports, sum.ReportEvents, err = generateReports(ctx, st, d, o); err != nil {
			return sum, d, err
		}
	}
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
