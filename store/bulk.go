package store

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"daiban/service"
)

// Seed inserts organisations, users and items in one transaction; the demo
// and first start-up use it.
func (s *Store) Seed(ctx context.Context, orgs []service.Org, users []service.User, items []service.Item) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		or := make([]orgRow, len(orgs))
		for i, o := range orgs {
			or[i] = fromOrg(o)
		}
		ur := make([]userRow, len(users))
		for i, u := range users {
			ur[i] = fromUser(u)
		}
		ir := make([]itemRow, len(items))
		for i, it := range items {
			ir[i] = fromItem(it)
		}
		for _, rows := range []any{or, ur, ir} {
			if err := tx.CreateInBatches(rows, 200).Error; err != nil {
				return translate(err, "seed data")
			}
		}
		return nil
	})
}

// Empty reports whether the database has no organisation yet.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var n int64
	err := s.read(ctx).Model(&orgRow{}).Limit(1).Count(&n).Error
	return n == 0, err
}

// LoadErrands bulk-inserts finished histories (errands with all their
// events) in one transaction, and adds them to the statistics rollups.
func (s *Store) LoadErrands(ctx context.Context, errands []service.Errand, events [][]service.Event) error {
	er := make([]errandRow, len(errands))
	var evs []eventRow
	cells := map[statKey]*service.Counts{}
	for i, e := range errands {
		er[i] = s.fromErrand(e)
		for _, ev := range events[i] {
			evs = append(evs, fromEvent(ev))
		}
		for _, k := range statKeys(e) {
			c := cells[k]
			if c == nil {
				c = &service.Counts{}
				cells[k] = c
			}
			c.Add(service.Contribution(e))
		}
	}
	stats := make([]statCell, 0, len(cells))
	for k, c := range cells {
		stats = append(stats, statCell{Dim: k.dim, Grain: k.grain, Period: k.period, OrgPath: k.org, ItemCode: k.item, AgentID: k.agent,
			Accepted: c.Accepted, Completed: c.Completed, Refused: c.Refused, OnTime: c.OnTime, WorkingDays: c.WorkingDays,
			Delivered: c.Delivered, Recovered: c.Recovered, Sat1: c.Grades[1], Sat2: c.Grades[2], Sat3: c.Grades[3], Sat4: c.Grades[4], Sat5: c.Grades[5]})
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(er, 400).Error; err != nil {
			return translate(err, "errand")
		}
		if err := tx.CreateInBatches(evs, 1000).Error; err != nil {
			return translate(err, "event")
		}
		cols := []string{"accepted", "completed", "refused", "on_time", "working_days", "delivered", "recovered", "sat1", "sat2", "sat3", "sat4", "sat5"}
		set := map[string]any{}
		for _, c := range cols {
			set[c] = gorm.Expr("errand_stats." + c + " + excluded." + c)
		}
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "dim"}, {Name: "grain"}, {Name: "period"}, {Name: "org_path"}, {Name: "item_code"}, {Name: "agent_id"}},
			DoUpdates: clause.Assignments(set),
		}).CreateInBatches(stats, 1000).Error
	})
}

type statKey struct {
	dim, grain, period int
	org, item, agent   string
}

// statKeys are the six rollup cells an errand counts in; bumpStats writes
// the same cells one errand at a time.
func statKeys(e service.Errand) [6]statKey {
	day := service.DateOf(e.RegisteredAt).YMD()
	month := day / 100 * 100
	township := e.OrgPath[:min(len(e.OrgPath), townshipPathLen)]
	var out [6]statKey
	i := 0
	for _, c := range [3]statKey{
		{dim: dimVillage, org: e.OrgPath},
		{dim: dimTownshipItem, org: township, item: e.ItemCode},
		{dim: dimAgent, org: e.OrgPath, agent: e.AgentID},
	} {
		for _, g := range [2][2]int{{grainDay, day}, {grainMonth, month}} {
			c.grain, c.period = g[0], g[1]
			out[i] = c
			i++
		}
	}
	return out
}

type statCell struct {
	Dim         int
	Grain       int
	Period      int
	OrgPath     string
	ItemCode    string
	AgentID     string
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
}

func (statCell) TableName() string { return "errand_stats" }
