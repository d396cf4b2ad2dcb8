package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"daiban/service"
)

// ChangleGrids is how many grids (网格) Changle divided its villages and
// communities into, each with its grid inspector (网格巡查员).
const ChangleGrids = 972

// Hotline operators at each city centre (12319).
const hotlineOperators = 4

// cityDepartments are the functional departments (职能部门) of each city
// that reports are dispatched to, with the key of their officer's
// username (bm-cg …).
var cityDepartments = []struct{ key, name string }{
	{"cg", "城管局"}, {"zj", "住建局"}, {"hb", "生态环境局"}, {"rs", "人社局"}, {"ga", "公安局"},
}

// Township departments: each township or street has a 综治办 and a police
// station; their officers are bm-zz01 … and bm-pcs01 … by township, in the
// order of tw01 ….
const (
	deptZongzhi = iota
	deptPolice
)

var numerals = []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

// buildReporting adds to one city what 民情 work needs: the grids of its
// villages and communities with an inspector each (wg001 … wg972), the
// hotline operators (rx01 …), the departments of the city and of each
// township with one officer each.
func buildReporting(d *Deployment, rng *rand.Rand, now time.Time, passwordHash []byte, city service.Org, prefix string) {
	user := func(username, name string, role service.Role, org service.Org) service.User {
		u := service.User{ID: newID(), Username: prefix + username, DisplayName: name, Phone: mobile(rng), Role: role,
			OrgID: org.ID, PasswordHash: passwordHash, Active: true, CreatedAt: now}
		d.Users = append(d.Users, u)
		return u
	}
	var villages []service.Org
	var towns []service.Org
	for _, t := range d.Townships {
		if t.ParentID == city.ID {
			towns = append(towns, t)
		}
	}
	for _, v := range d.Villages {
		if strings.HasPrefix(v.Path, city.Path) {
			villages = append(villages, v)
		}
	}
	// Communities are denser than villages: five grids each, villages
	// three or four, 972 in all.
	counts := make([]int, len(villages))
	var plain []int
	total := 0
	for i, v := range villages {
		counts[i] = 3
		if strings.HasSuffix(v.Name, "社区") {
			counts[i] = 5
		} else {
			plain = append(plain, i)
		}
		total += counts[i]
	}
	rng.Shuffle(len(plain), func(a, b int) { plain[a], plain[b] = plain[b], plain[a] })
	for k := 0; total < ChangleGrids && len(plain) > 0; k++ {
		counts[plain[k%len(plain)]]++
		total++
	}
	n := 0
	for i, v := range villages {
		for j := range counts[i] {
			code := fmt.Sprintf("%s%03d", v.Code, j+1)
			g := service.Org{ID: newID(), Code: code, Name: v.Name + "第" + numerals[j%len(numerals)] + "网格", Level: service.LevelGrid,
				ParentID: v.ID, Path: v.Path + code + "/", CreatedAt: now}
			d.Grids = append(d.Grids, g)
			n++
			d.Inspectors = append(d.Inspectors, user(fmt.Sprintf("wg%03d", n), person(rng), service.RoleGridInspector, g))
		}
	}
	for k := range hotlineOperators {
		d.Hotline[city.ID] = append(d.Hotline[city.ID], user(fmt.Sprintf("rx%02d", k+1), "12319热线 "+person(rng), service.RoleHotlineOperator, city))
	}
	dept := func(parent service.Org, k int, name, username string) {
		code := fmt.Sprintf("%s%04d", parent.Code, k+1)
		o := service.Org{ID: newID(), Code: code, Name: name, Level: service.LevelDepartment, ParentID: parent.ID, Path: parent.Path + code + "/", CreatedAt: now}
		d.Departments = append(d.Departments, o)
		d.Officers[o.ID] = user(username, name+" "+person(rng), service.RoleDepartmentOfficer, o)
	}
	for k, c := range cityDepartments {
		dept(city, k, city.Name+c.name, "bm-"+c.key)
	}
	for ti, t := range towns {
		short := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(t.Name, "街道"), "镇"), "乡")
		dept(t, deptZongzhi, t.Name+"综治办", fmt.Sprintf("bm-zz%02d", ti+1))
		dept(t, deptPolice, short+"派出所", fmt.Sprintf("bm-pcs%02d", ti+1))
	}
}
