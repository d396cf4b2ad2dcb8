package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"daiban/service"
)

// The statistics read rollups kept in the same transaction as every change:
// each errand's service.Contribution is summed into cells keyed by its
// registration period (a day and a month) and one of three dimensions. A
// report reads whole months from month cells and the ragged ends of the
// period from day cells, from the coarsest dimension that has its grouping,
// so its cost follows the number of townships, villages, items or agents,
// not the number of errands.
const (
	dimTownshipItem = 2 // key: township path and item (category, item)
	dimAgent        = 3 // key: village path and agent (agent, village)
	dimTownship     = 4 // key: township path (totals, township, month)

	grainDay   = 1 // period YYYYMMDD
	grainMonth = 2 // period YYYYMM00
)

var (
	cityPathLen     = service.PathLen(service.LevelCity)
	townshipPathLen = service.PathLen(service.LevelTownship)
	villagePathLen  = service.PathLen(service.LevelVillage)
)

const statColumns = "accepted, completed, refused, on_time, working_days, delivered, recovered, sat1, sat2, sat3, sat4, sat5"

// upsertCellsSQL adds n rows of counters to their rollup cells.
func upsertCellsSQL(n int) string {
	cols := strings.Split(statColumns, ", ")
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = errand_stats." + c + " + excluded." + c
	}
	row := "(?, ?, ?, ?, ?, ?" + strings.Repeat(", ?", len(cols)) + ")"
	return "INSERT INTO errand_stats (dim, grain, period, org_path, item_code, agent_id, " + statColumns + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") +
		" ON CONFLICT (dim, grain, period, org_path, item_code, agent_id) DO UPDATE SET " + strings.Join(set, ", ")
}

var bumpSQL = upsertCellsSQL(cellsPerErrand)

// bumpArgs are the arguments of bumpSQL for adding d to e's cells.
func bumpArgs(e service.Errand, d service.Counts) []any {
	args := make([]any, 0, cellsPerErrand*18)
	for _, k := range statKeys(e) {
		args = append(args, k.dim, k.grain, k.period, k.org, k.item, k.agent,
			d.Accepted, d.Completed, d.Refused, d.OnTime, d.WorkingDays, d.Delivered, d.Recovered,
			d.Grades[1], d.Grades[2], d.Grades[3], d.Grades[4], d.Grades[5])
	}
	return args
}

// statsRow scans one summed group.
type statsRow struct {
	K           string
	Accepted    int64
	Completed   int64
	Refused     int64
	OnTime      int64
	WorkingDays int64
	Delivered   int64
	Recovered   int64
	Sat1        int64
	Sat2        int64
	Sat3        int64
	Sat4        int64
	Sat5        int64
	Overdue     int64
}

func toStatsRows(rows []statsRow) []service.StatsRow {
	out := make([]service.StatsRow, len(rows))
	for i, r := range rows {
		out[i] = service.StatsRow{Key: r.K, Counts: r.counts()}
	}
	return out
}

func (r statsRow) counts() service.Counts {
	return service.Counts{Accepted: r.Accepted, Completed: r.Completed, Refused: r.Refused, OnTime: r.OnTime,
		WorkingDays: r.WorkingDays, Delivered: r.Delivered, Recovered: r.Recovered,
		Grades: [6]int64{0, r.Sat1, r.Sat2, r.Sat3, r.Sat4, r.Sat5}, OverdueOpen: r.Overdue}
}

// Stats sums the rollups for q. A village's own figures come straight from
// its errands, which are few; everything wider reads the cells.
func (s *Store) Stats(ctx context.Context, q service.StatsQuery) ([]service.StatsRow, error) {
	if len(q.Under) >= villagePathLen {
		return s.Recompute(ctx, q)
	}
	dim := dimTownship
	switch q.GroupBy {
	case service.GroupCategory, service.GroupItem:
		dim = dimTownshipItem
	case service.GroupAgent, service.GroupVillage:
		dim = dimAgent // an agent's cells carry the village's path
	}
	key := s.groupKey(q.GroupBy, "", "period")
	lo, hi := service.PathRange(q.Under)
	// One query per part of the period, so each is a range over the cells'
	// primary key (dim, grain, period, …); the parts' groups are merged here.
	merged := map[string]*service.Counts{}
	var keys []string
	for _, p := range splitPeriod(q.From, q.To) {
		var rows []statsRow
		err := s.read(ctx).Raw("SELECT "+key+" AS k, "+sumColumns("")+", 0 AS overdue FROM errand_stats"+
			" WHERE dim = ? AND grain = ? AND period BETWEEN ? AND ? AND org_path >= ? AND org_path < ?"+groupBy(key),
			dim, p.grain, p.from, p.to, lo, hi).Scan(&rows).Error
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			m := merged[r.K]
			if m == nil {
				m = &service.Counts{}
				merged[r.K] = m
				keys = append(keys, r.K)
			}
			m.Add(r.counts())
		}
	}
	out := make([]service.StatsRow, len(keys))
	for i, k := range keys {
		out[i] = service.StatsRow{Key: k, Counts: *merged[k]}
	}
	return s.named(ctx, q.GroupBy, out)
}

// Recompute sums q straight from the errands, by the same definitions
// written out in SQL, overdue errands included. It serves a village's own
// figures, which are few; tests check the rollups against it.
func (s *Store) Recompute(ctx context.Context, q service.StatsQuery) ([]service.StatsRow, error) {
	key := s.groupKey(q.GroupBy, "e.", "e.reg_day")
	counted := "e.status <> 'withdrawn'"
	done := counted + " AND e.completed_at IS NOT NULL"
	delivered := counted + " AND e.delivered_at IS NOT NULL"
	cols := []string{
		"COALESCE(SUM(CASE WHEN " + counted + " THEN 1 ELSE 0 END), 0) AS accepted",
		"COALESCE(SUM(CASE WHEN " + done + " THEN 1 ELSE 0 END), 0) AS completed",
		"COALESCE(SUM(CASE WHEN " + done + " AND e.outcome = 'refused' THEN 1 ELSE 0 END), 0) AS refused",
		"COALESCE(SUM(CASE WHEN " + done + " AND e.completed_at <= e.due_at THEN 1 ELSE 0 END), 0) AS on_time",
		"COALESCE(SUM(CASE WHEN " + done + " THEN e.working_days ELSE 0 END), 0) AS working_days",
		"COALESCE(SUM(CASE WHEN " + delivered + " THEN 1 ELSE 0 END), 0) AS delivered",
		"COALESCE(SUM(CASE WHEN " + delivered + " AND e.receipt_recovered THEN 1 ELSE 0 END), 0) AS recovered",
	}
	for g := 1; g <= 5; g++ {
		cols = append(cols, fmt.Sprintf("COALESCE(SUM(CASE WHEN %s AND e.satisfaction = %d THEN 1 ELSE 0 END), 0) AS sat%d", delivered, g, g))
	}
	cols = append(cols, "COALESCE(SUM(CASE WHEN "+overdueSQL+" THEN 1 ELSE 0 END), 0) AS overdue")
	args := []any{utc(q.Now)}
	lo, hi := service.PathRange(q.Under)
	sql := "SELECT " + key + " AS k, " + strings.Join(cols, ", ") +
		" FROM errands e WHERE e.org_path >= ? AND e.org_path < ? AND e.reg_day BETWEEN ? AND ?" + groupBy(key)
	args = append(args, lo, hi, q.From.YMD(), q.To.YMD())
	var rows []statsRow
	if err := s.read(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	return s.named(ctx, q.GroupBy, toStatsRows(rows))
}

// OverdueOpen counts, per group, the errands of the period still open and
// past due at q.Now; it reads only the small index of open errands.
func (s *Store) OverdueOpen(ctx context.Context, q service.StatsQuery) ([]service.StatsRow, error) {
	if len(q.Under) >= villagePathLen {
		return nil, nil // Stats counted them on its direct path
	}
	key := s.groupKey(q.GroupBy, "e.", "e.reg_day")
	lo, hi := service.PathRange(q.Under)
	where := " FROM errands e WHERE " + overdueSQL + " AND e.org_path >= ? AND e.org_path < ? AND e.reg_day BETWEEN ? AND ?"
	args := []any{utc(q.Now), lo, hi, q.From.YMD(), q.To.YMD()}
	if q.GroupBy != service.GroupVillage {
		var rows []statsRow
		err := s.read(ctx).Raw("SELECT "+key+" AS k, COUNT(*) AS overdue"+where+groupBy(key), args...).Scan(&rows).Error
		if err != nil {
			return nil, err
		}
		return s.named(ctx, q.GroupBy, toStatsRows(rows))
	}
	// By village the keys are counted here: GROUP BY org_path would tempt the
	// planner into walking the scope index in key order, all errands, instead
	// of the few open ones.
	var keys []string
	if err := s.read(ctx).Raw("SELECT "+key+" AS k"+where, args...).Scan(&keys).Error; err != nil {
		return nil, err
	}
	count := map[string]int64{}
	var order []string
	for _, k := range keys {
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	rows := make([]service.StatsRow, len(order))
	for i, k := range order {
		rows[i] = service.StatsRow{Key: k, Counts: service.Counts{OverdueOpen: count[k]}}
	}
	return s.named(ctx, q.GroupBy, rows)
}

// groupKey is the SQL expression of a group's key over errands (prefix
// "e.", day column reg_day) or rollup cells (no prefix, day column period).
func (s *Store) groupKey(by service.GroupBy, prefix, day string) string {
	switch by {
	case service.GroupTownship:
		return fmt.Sprintf("substr(%sorg_path, 1, %d)", prefix, townshipPathLen)
	case service.GroupVillage:
		return prefix + "org_path"
	case service.GroupMonth:
		if s.postgres {
			return "CAST(" + day + " / 100 AS VARCHAR(8))"
		}
		return "CAST(" + day + " / 100 AS TEXT)"
	case service.GroupCategory, service.GroupItem:
		return prefix + "item_code"
	case service.GroupAgent:
		return prefix + "agent_id"
	}
	return "''"
}

// groupBy is the GROUP BY clause for a key; none for the totals, since
// PostgreSQL refuses to group by a constant.
func groupBy(key string) string {
	if key == "''" {
		return ""
	}
	return " GROUP BY " + key
}

func sumColumns(prefix string) string {
	cols := strings.Split(statColumns, ", ")
	for i, c := range cols {
		cols[i] = "COALESCE(SUM(" + prefix + c + "), 0) AS " + c
	}
	return strings.Join(cols, ", ")
}

type periodPart struct{ grain, from, to int }

// splitPeriod covers from..to with whole months where it can and days at
// the ragged ends.
func splitPeriod(from, to service.Date) []periodPart {
	firstFull := from
	if from.YMD()%100 != 1 {
		f := from.YMD()
		firstFull = service.MakeDate(f/10000, time.Month(f/100%100)+1, 1)
	}
	lastFull := to
	if (to+1).YMD()%100 != 1 {
		t := to.YMD()
		lastFull = service.MakeDate(t/10000, time.Month(t/100%100), 1) - 1
	}
	if firstFull > lastFull {
		return []periodPart{{grainDay, from.YMD(), to.YMD()}}
	}
	var parts []periodPart
	if from < firstFull {
		parts = append(parts, periodPart{grainDay, from.YMD(), (firstFull - 1).YMD()})
	}
	parts = append(parts, periodPart{grainMonth, firstFull.YMD() / 100 * 100, lastFull.YMD() / 100 * 100})
	if lastFull < to {
		parts = append(parts, periodPart{grainDay, (lastFull + 1).YMD(), to.YMD()})
	}
	return parts
}

// named maps group keys to display keys and names: paths to organisation
// names, item codes to items or their categories, agent ids to users, and
// YYYYMM to YYYY-MM.
func (s *Store) named(ctx context.Context, by service.GroupBy, rows []service.StatsRow) ([]service.StatsRow, error) {
	out := make([]service.StatsRow, 0, len(rows))
	names := map[string]string{}
	keyOf := func(k string) string { return k }
	var err error
	switch by {
	case service.GroupTownship, service.GroupVillage:
		names, err = s.nameMap(ctx, "SELECT path AS k, name AS v FROM orgs WHERE path IN ?", rows)
	case service.GroupItem:
		names, err = s.nameMap(ctx, "SELECT code AS k, name AS v FROM items WHERE code IN ?", rows)
	case service.GroupAgent:
		names, err = s.nameMap(ctx, "SELECT id AS k, display_name AS v FROM users WHERE id IN ?", rows)
	case service.GroupCategory:
		var cat map[string]string
		if cat, err = s.nameMap(ctx, "SELECT code AS k, category_code AS v FROM items WHERE code IN ?", rows); err == nil {
			keyOf = func(k string) string { return cat[k] }
			var cats []service.Category
			if cats, err = s.Categories(ctx); err == nil {
				for _, c := range cats {
					names[c.Code] = c.Name
				}
			}
		}
	case service.GroupMonth:
		keyOf = func(k string) string {
			if len(k) == 6 {
				return k[:4] + "-" + k[4:]
			}
			return k
		}
	}
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		r.Key = keyOf(r.Key)
		r.Name = names[r.Key]
		out = append(out, r)
	}
	return out, nil
}

func (s *Store) nameMap(ctx context.Context, sql string, rows []service.StatsRow) (map[string]string, error) {
	keys := make([]string, 0, len(rows))
	for _, r := range rows {
		keys = append(keys, r.Key)
	}
	m := map[string]string{}
	if len(keys) == 0 {
		return m, nil
	}
	var kv []struct{ K, V string }
	if err := s.read(ctx).Raw(sql, keys).Scan(&kv).Error; err != nil {
		return nil, err
	}
	for _, x := range kv {
		m[x.K] = x.V
	}
	return m, nil
}
