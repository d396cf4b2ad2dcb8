package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

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
		return bumpCatalog(tx)
	})
}

// Empty reports whether the database has no organisation yet.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var n int64
	err := s.read(ctx).Model(&orgRow{}).Limit(1).Count(&n).Error
	return n == 0, err
}

// BulkLoad runs fn, which fills an empty database with LoadErrands, with the
// secondary indexes of the errand tables dropped, and builds them again
// afterwards: one sort per index instead of millions of random inserts.
func (s *Store) BulkLoad(ctx context.Context, fn func() error) error {
	q := `SELECT name AS name, sql AS def FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('errands', 'events')`
	if s.postgres {
		q = `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema()
			AND tablename IN ('errands', 'events') AND indexname NOT LIKE '%_pkey'`
	}
	var idx []struct{ Name, Def string }
	if err := s.read(ctx).Raw(q).Scan(&idx).Error; err != nil {
		return err
	}
	for _, x := range idx {
		if err := s.db.WithContext(ctx).Exec("DROP INDEX " + x.Name).Error; err != nil {
			return err
		}
	}
	err := fn()
	for _, x := range idx {
		if e := s.db.WithContext(ctx).Exec(x.Def).Error; e != nil && err == nil {
			err = fmt.Errorf("rebuild index %s: %w", x.Name, e)
		}
	}
	if err != nil {
		return err
	}
	// Fresh statistics let the planner see how few errands are still open;
	// on SQLite a sample of each index is enough for that. PostgreSQL also
	// gets the rollup cells in key order (its tables are not clustered by
	// themselves) and a vacuum, so the open errands' index answers alone.
	if s.postgres {
		for _, q := range []string{"CLUSTER errand_stats USING errand_stats_pkey", "VACUUM ANALYZE"} {
			if err := s.db.WithContext(ctx).Exec(q).Error; err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.db.WithContext(ctx).Exec("PRAGMA analysis_limit = 2000").Error; err != nil {
		return err
	}
	return s.db.WithContext(ctx).Exec("ANALYZE").Error
}

// LoadErrands bulk-inserts finished histories (errands with all their
// events) in one transaction and adds them to the statistics rollups. It
// prepares multi-row inserts once and runs them on one connection, which is
// what makes a million-errand demo take a minute rather than ten.
func (s *Store) LoadErrands(ctx context.Context, errands []service.Errand, events [][]service.Event) (err error) {
	// Rows and their arguments are made on every core; only the inserts run
	// on the one connection.
	errandArgs := make([][]any, len(errands))
	eventArgs := make([][][]any, len(errands))
	var g errgroup.Group
	parts := runtime.GOMAXPROCS(0)
	for p := 0; p < parts; p++ {
		g.Go(func() error {
			for i := p; i < len(errands); i += parts {
				row := s.fromErrand(errands[i])
				var err error
				if row.Timeline, err = timelineOf(events[i]); err != nil {
					return err
				}
				errandArgs[i] = values(row.targets())
				eventArgs[i] = make([][]any, len(events[i]))
				for j, ev := range events[i] {
					evRow := fromEvent(ev)
					eventArgs[i][j] = values(evRow.targets())
				}
			}
			return nil
		})
	}
	cells := map[statKey]*service.Counts{}
	for _, e := range errands {
		c := service.Contribution(e)
		for _, k := range statKeys(e) {
			if cells[k] == nil {
				cells[k] = &service.Counts{}
			}
			cells[k].Add(c)
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var evArgs [][]any
	for _, a := range eventArgs {
		evArgs = append(evArgs, a...)
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.postgres {
		return conn.Raw(func(dc any) error { return copyIn(ctx, dc, errandArgs, evArgs, cells) })
	}
	// A large page cache, and no sync per chunk: a bulk load fills an
	// empty database and is repeated whole if the machine fails under it.
	// The connection goes back to the pool with SQLite's defaults and
	// the full sync of the DSN.
	if _, err := conn.ExecContext(ctx, "PRAGMA cache_size = -262144; PRAGMA synchronous = OFF"); err != nil {
		return err
	}
	defer func() {
		_, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA cache_size = -2000; PRAGMA synchronous = FULL")
		err = errors.Join(err, rerr)
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.bulkInsert(ctx, tx, "errands", errandColumns, errandArgs, 100); err != nil {
		return translate(err, "errand")
	}
	if err := s.bulkInsert(ctx, tx, "events", eventColumns, evArgs, 200); err != nil {
		return translate(err, "event")
	}
	bump, err := tx.PrepareContext(ctx, s.rebound(upsertCellsSQL(1)))
	if err != nil {
		return err
	}
	defer bump.Close()
	for k, c := range cells {
		if _, err := bump.ExecContext(ctx, k.dim, k.grain, k.period, k.org, k.item, k.agent,
			c.Accepted, c.Completed, c.Refused, c.OnTime, c.WorkingDays, c.Delivered, c.Recovered,
			c.Grades[1], c.Grades[2], c.Grades[3], c.Grades[4], c.Grades[5]); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// bulkInsert inserts rows of arguments (in the order of columns), per rows
// a statement.
func (s *Store) bulkInsert(ctx context.Context, tx *sql.Tx, table, columns string, rows [][]any, per int) error {
	if len(rows) == 0 {
		return nil
	}
	head := "INSERT INTO " + table + " (" + columns + ")"
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rows[0])), ", ") + ")"
	stmtFor := func(n int) (*sql.Stmt, error) {
		return tx.PrepareContext(ctx, s.rebound(head+" VALUES "+strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")))
	}
	full, err := stmtFor(per)
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, per*len(rows[0]))
	for lo := 0; lo < len(rows); lo += per {
		hi := min(lo+per, len(rows))
		args = args[:0]
		for _, row := range rows[lo:hi] {
			args = append(args, row...)
		}
		stmt := full
		if hi-lo < per {
			if stmt, err = stmtFor(hi - lo); err != nil {
				return err
			}
			defer stmt.Close()
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return nil
}

// rebound is q with PostgreSQL's placeholders when the store is on it.
func (s *Store) rebound(q string) string {
	if s.postgres {
		return rebind(q)
	}
	return q
}

type statKey struct {
	dim, grain, period int
	org, item, agent   string
}

// cellsPerErrand is how many rollup cells one errand counts in: three
// dimensions, each by day and by month.
const cellsPerErrand = 6

// statKeys are the rollup cells an errand counts in.
func statKeys(e service.Errand) [cellsPerErrand]statKey {
	day := service.DateOf(e.RegisteredAt).YMD()
	month := day / 100 * 100
	township := e.OrgPath[:min(len(e.OrgPath), townshipPathLen)]
	var out [cellsPerErrand]statKey
	i := 0
	for _, c := range [cellsPerErrand / 2]statKey{
		{dim: dimTownship, org: township},
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

// copyIn writes a bulk load on PostgreSQL in one transaction of its own on
// the driver connection: the errands, events and rollup cells with COPY,
// the cells then added to the stored ones in one upsert. COPY takes a tenth of the time of multi-row
// INSERTs (which SQLite, without COPY, keeps).
func copyIn(ctx context.Context, dc any, errands, events [][]any, cells map[statKey]*service.Counts) error {
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		return fmt.Errorf("store: a PostgreSQL connection of type %T, not pgx's", dc)
	}
	tx, err := sc.Conn().Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, t := range []struct {
		table, columns string
		rows           [][]any
	}{{"errands", errandColumns, errands}, {"events", eventColumns, events}} {
		cols := strings.Split(t.columns, ",")
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, cols, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("copy into %s: %w", t.table, err)
		}
	}
	// The cells go in by COPY into a scratch table and one upsert from it:
	// a chunk touches tens of thousands of cells.
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE cells_in (LIKE errand_stats) ON COMMIT DROP`); err != nil {
		return err
	}
	cols := append([]string{"dim", "grain", "period", "org_path", "item_code", "agent_id"}, strings.Split(statColumns, ", ")...)
	rows := make([][]any, 0, len(cells))
	for k, c := range cells {
		rows = append(rows, []any{k.dim, k.grain, k.period, k.org, k.item, k.agent,
			c.Accepted, c.Completed, c.Refused, c.OnTime, c.WorkingDays, c.Delivered, c.Recovered,
			c.Grades[1], c.Grades[2], c.Grades[3], c.Grades[4], c.Grades[5]})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"cells_in"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy the rollup cells: %w", err)
	}
	set := make([]string, 0, len(cols)-6)
	for _, c := range cols[6:] {
		set = append(set, c+" = errand_stats."+c+" + excluded."+c)
	}
	list := strings.Join(cols, ", ")
	if _, err := tx.Exec(ctx, `INSERT INTO errand_stats (`+list+`) SELECT `+list+` FROM cells_in
		ON CONFLICT (dim, grain, period, org_path, item_code, agent_id) DO UPDATE SET `+strings.Join(set, ", ")); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
