package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"daiban/internal/apitest"
	"daiban/service"
)

// Two more resident ID numbers with correct check characters.
const (
	idB = "35018219900101123X"
	idC = "350182198511204563"
)

// TestErrandSearch registers errands for several applicants in three
// villages over two weeks and searches them by every filter and by several
// at once, as agents, township officers, a city officer and the supervisor,
// in both orders, a few per page: each search gives exactly the errands of
// the caller's scope that match, in order, each once. A name matches by its
// start (张 finds 张三丰 but not 弡一, the next character's; 三 finds nothing).
func TestErrandSearch(t *testing.T) {
	env := apitest.New(t)
	ctx := context.Background()
	f := env.F
	names := []string{"张三丰", "张三", "张伟", "张", "弡一", "李四", "欧阳娜娜", "王五"}
	phones := []string{"13912345678", "13800001111", "0591-28888888"}
	ids := []string{apitest.ValidID, idB, idC}
	agents := []string{"ag1a", "ag1b", "ag2a", "ag1a2"}
	village := map[string]string{"ag1a": f.V1a.ID, "ag1a2": f.V1a.ID, "ag1b": f.V1b.ID, "ag2a": f.V2a.ID}
	items := []service.Item{f.ItemTownship, f.ItemCity}
	type reg struct {
		e       service.Errand
		village string
	}
	var all []reg
	for i := range 40 {
		env.Clock.Advance(7 * time.Hour)
		who, it := agents[i%4], items[(i/3)%2]
		e, _, err := env.Svc.Register(ctx, f.Actor(who), service.RegisterInput{ItemCode: it.Code, Materials: it.Materials, Channel: service.ChannelWalkIn,
			Applicant: service.Applicant{Name: names[i%len(names)], IDNumber: ids[(i/2)%3], Phone: phones[i%3]}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if e, _, err = env.Svc.Transition(ctx, f.Actor(who), e.ID, service.ActionForward, e.Version, service.StepInput{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, reg{e, village[who]})
	}
	// Who sees which villages, written out rather than asked of the service.
	scope := map[string][]string{
		"ag1a": {f.V1a.ID}, "ag1b": {f.V1b.ID}, "ag2a": {f.V2a.ID},
		"tw1": {f.V1a.ID, f.V1b.ID}, "tw2": {f.V2a.ID},
		"city": {f.V1a.ID, f.V1b.ID, f.V2a.ID}, "super": {f.V1a.ID, f.V1b.ID, f.V2a.ID},
	}
	mid := all[12].e.RegDay()
	v2Receipt := all[2].e.ReceiptNo // registered by ag2a
	cases := []struct {
		name  string
		q     service.ErrandQuery
		match func(e service.Errand) bool
	}{
		{"name 张", service.ErrandQuery{Name: "张"}, func(e service.Errand) bool { return strings.HasPrefix(e.Applicant.Name, "张") }},
		{"name 张三", service.ErrandQuery{Name: " 张三 "}, func(e service.Errand) bool { return strings.HasPrefix(e.Applicant.Name, "张三") }},
		{"name 张三丰", service.ErrandQuery{Name: "张三丰"}, func(e service.Errand) bool { return e.Applicant.Name == "张三丰" }},
		{"name 欧阳", service.ErrandQuery{Name: "欧阳"}, func(e service.Errand) bool { return e.Applicant.Name == "欧阳娜娜" }},
		{"name 弡", service.ErrandQuery{Name: "弡"}, func(e service.Errand) bool { return e.Applicant.Name == "弡一" }},
		{"name 三 (not a start)", service.ErrandQuery{Name: "三"}, func(service.Errand) bool { return false }},
		{"phone", service.ErrandQuery{Phone: "0591-28888888"}, func(e service.Errand) bool { return e.Applicant.Phone == "0591-28888888" }},
		{"phone as people write it", service.ErrandQuery{Phone: "(0591) 2888 8888"}, func(e service.Errand) bool { return e.Applicant.Phone == "0591-28888888" }},
		{"mobile as people write it", service.ErrandQuery{Phone: "+86 139-1234-5678"}, func(e service.Errand) bool { return e.Applicant.Phone == "13912345678" }},
		{"id number", service.ErrandQuery{IDNumber: idB}, func(e service.Errand) bool { return e.Applicant.IDNumber == idB }},
		{"id number, small x", service.ErrandQuery{IDNumber: strings.ToLower(idB)}, func(e service.Errand) bool { return e.Applicant.IDNumber == idB }},
		{"item", service.ErrandQuery{ItemCode: f.ItemCity.Code}, func(e service.Errand) bool { return e.ItemCode == f.ItemCity.Code }},
		{"status", service.ErrandQuery{Statuses: []service.Status{service.StatusForwarded}}, func(e service.Errand) bool { return e.Status == service.StatusForwarded }},
		{"from", service.ErrandQuery{From: mid.String()}, func(e service.Errand) bool { return e.RegDay() >= mid }},
		{"to", service.ErrandQuery{To: mid.String()}, func(e service.Errand) bool { return e.RegDay() <= mid }},
		{"receipt of 乙一村", service.ErrandQuery{ReceiptNo: v2Receipt}, func(e service.Errand) bool { return e.ReceiptNo == v2Receipt }},
		{"name, phone, id, item, status and days at once", service.ErrandQuery{Name: "张", Phone: "13912345678", IDNumber: apitest.ValidID,
			ItemCode: f.ItemTownship.Code, Statuses: []service.Status{service.StatusRegistered, service.StatusForwarded}, From: all[0].e.RegDay().String(), To: mid.String()},
			func(e service.Errand) bool {
				return strings.HasPrefix(e.Applicant.Name, "张") && e.Applicant.Phone == "13912345678" && e.Applicant.IDNumber == apitest.ValidID &&
					e.ItemCode == f.ItemTownship.Code && e.RegDay() <= mid
			}},
	}
	for _, c := range cases {
		for _, who := range []string{"ag1a", "ag1b", "ag2a", "tw1", "tw2", "city", "super"} {
			for _, order := range []service.ErrandOrder{service.ByNewest, service.ByDue} {
				var want []service.Errand
				for _, r := range all {
					if slices.Contains(scope[who], r.village) && c.match(r.e) {
						want = append(want, r.e)
					}
				}
				slices.SortFunc(want, func(a, b service.Errand) int { return strings.Compare(b.ID, a.ID) })
				if order == service.ByDue {
					slices.SortStableFunc(want, func(a, b service.Errand) int {
						if c := a.DueAt.Compare(b.DueAt); c != 0 {
							return c
						}
						return strings.Compare(a.ID, b.ID)
					})
				}
				q := c.q
				q.Order, q.Limit = order, 3
				var got []string
				for pages := 0; ; pages++ {
					list, next, err := env.Svc.Errands(ctx, f.Actor(who), q)
					if err != nil {
						t.Fatalf("%s as %s: %v", c.name, who, err)
					}
					for _, e := range list {
						got = append(got, e.ReceiptNo)
					}
					if next == "" {
						break
					}
					if pages > 20 {
						t.Fatalf("%s as %s: still a next page after %d", c.name, who, pages)
					}
					q.Cursor = next
				}
				var wantNos []string
				for _, e := range want {
					wantNos = append(wantNos, e.ReceiptNo)
				}
				if !slices.Equal(got, wantNos) {
					t.Errorf("%s as %s, order %d:\n got %v\nwant %v", c.name, who, order, got, wantNos)
				}
				n, err := countMatches(ctx, env, who, c.q)
				if err != nil {
					t.Fatal(err)
				}
				if n != len(wantNos) {
					t.Errorf("%s as %s: counted %d, want %d", c.name, who, n, len(wantNos))
				}
			}
		}
	}
	// Something the cases match at all, so an empty answer cannot pass them.
	for _, c := range cases[:5] {
		n, _ := countMatches(ctx, env, "super", c.q)
		if n == 0 {
			t.Errorf("%s: nothing in the data matches; the case tests nothing", c.name)
		}
	}
}

// countMatches walks a search as one page of the largest size.
func countMatches(ctx context.Context, env *apitest.Env, who string, q service.ErrandQuery) (int, error) {
	q.Limit = 500
	list, _, err := env.Svc.Errands(ctx, env.F.Actor(who), q)
	return len(list), err
}

// TestErrandSearchRefusesBadValues: a malformed value is a bad request
// naming its field, never an empty answer.
func TestErrandSearchRefusesBadValues(t *testing.T) {
	env := apitest.New(t)
	for _, c := range []struct {
		q     service.ErrandQuery
		field string
	}{
		{service.ErrandQuery{Name: "\u200b张"}, "name"},
		{service.ErrandQuery{Name: strings.Repeat("张", 41)}, "name"},
		{service.ErrandQuery{Phone: "12345"}, "phone"},
		{service.ErrandQuery{Phone: "139-1234-567"}, "phone"},
		{service.ErrandQuery{IDNumber: "110105194912310021"}, "id_number"},
		{service.ErrandQuery{IDNumber: "12345"}, "id_number"},
		{service.ErrandQuery{ItemCode: "NOPE"}, "item"},
		{service.ErrandQuery{Statuses: []service.Status{"lost"}}, "status"},
		{service.ErrandQuery{From: "2026-02-30"}, "from"},
		{service.ErrandQuery{To: "03/05/2026"}, "to"},
		{service.ErrandQuery{ReceiptNo: "26000000"}, "receipt_no"},
	} {
		_, _, err := env.Svc.Errands(context.Background(), env.F.Actor("tw1"), c.q)
		var se *service.Error
		if !errors.As(err, &se) || se.Kind != service.KindBadRequest || len(se.Fields) == 0 || se.Fields[0].Field != c.field {
			t.Errorf("%+v: %v, want a bad request naming %s", c.q, err, c.field)
		}
	}
	// A retired item is still searched for: its errands remain.
	if _, _, err := env.Svc.Errands(context.Background(), env.F.Actor("tw1"), service.ErrandQuery{ItemCode: env.F.ItemInactive.Code}); err != nil {
		t.Errorf("a search for a retired item: %v", err)
	}
}

// TestErrandSearchUsesItsIndexes: a search by name start or by phone reads
// its own index on each engine (on PostgreSQL with sequential scans priced
// out, as on a table of millions), so it stays fast at a province's size.
// On SQLite a name search in a scope reads the name index too; PostgreSQL
// chooses between that and the scope's by its statistics.
func TestErrandSearchUsesItsIndexes(t *testing.T) {
	env := apitest.New(t)
	type search struct {
		f     service.ErrandFilter
		index string
	}
	searches := []search{
		{service.ErrandFilter{NamePrefix: "张三"}, "idx_errands_name"},
		{service.ErrandFilter{Phones: []string{"13912345678"}}, "idx_errands_phone"},
		{service.ErrandFilter{Phones: []string{"0591-28888888", "059128888888"}}, "idx_errands_phone"},
	}
	if !env.Store.Postgres() {
		searches = append(searches,
			search{service.ErrandFilter{NamePrefix: "欧阳娜娜", Under: env.F.City.Path}, "idx_errands_name"},
			search{service.ErrandFilter{NamePrefix: "张", Under: env.F.T1.Path, Statuses: []service.Status{service.StatusForwarded}}, "idx_errands_name"})
	}
	for _, c := range searches {
		plan, err := env.Store.ExplainErrands(context.Background(), c.f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, c.index) {
			t.Errorf("%+v reads no %s:\n%s", c.f, c.index, plan)
		}
	}
}

// TestErrandListsUseTheirIndexes checks the plans of the lists that read
// too much at ten million errands before they had an index of their own
// (BENCHMARKS.md): a village's list newest first reads its scope index in
// id order, a holder's queue of open errands its queue index in deadline
// order; on PostgreSQL, which alone has these indexes (SQLite serves one
// city), the overdue errands newest first the open errands by id, and a
// township's or city's list newest first its own index in id order.
func TestErrandListsUseTheirIndexes(t *testing.T) {
	env := apitest.New(t)
	lists := []struct {
		name  string
		f     service.ErrandFilter
		index string
	}{
		{"village", service.ErrandFilter{Under: env.F.V1a.Path, UnderVillage: true, Limit: 50}, "idx_errands_scope"},
		{"queue", service.ErrandFilter{Under: env.F.City.Path, HolderOrgID: env.F.T1.ID, Statuses: service.OpenStatuses, Order: service.ByDue, Limit: 50}, "idx_errands_queue"},
		{"queue, statuses in another order", service.ErrandFilter{HolderOrgID: env.F.T1.ID, Order: service.ByDue, Limit: 50,
			Statuses: []service.Status{service.StatusCorrection, service.StatusProcessing, service.StatusForwarded, service.StatusRegistered}}, "idx_errands_queue"},
	}
	if env.Store.Postgres() {
		type list = struct {
			name  string
			f     service.ErrandFilter
			index string
		}
		lists = append(lists, list{"overdue", service.ErrandFilter{Under: env.F.City.Path, OverdueAt: time.Now(), Limit: 50}, "idx_errands_open_id"},
			list{"township", service.ErrandFilter{Under: env.F.T1.Path, Limit: 50}, "idx_errands_township"},
			list{"city", service.ErrandFilter{Under: env.F.City.Path, Limit: 50}, "idx_errands_city"})
	}
	for _, c := range lists {
		plan, err := env.Store.ExplainPage(context.Background(), c.f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, c.index) {
			t.Errorf("%s reads no %s:\n%s", c.name, c.index, plan)
		}
		if !env.Store.Postgres() && strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s sorts instead of reading in index order:\n%s", c.name, plan)
		}
	}
}
