package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"daiban/service"
)

// errandView is an errand row with the names a reader wants beside it.
type errandView struct {
	Row        errandRow `gorm:"embedded"`
	IntakeName string
	HolderName string
	AgentName  string
	AgentPhone string
}

const errandSelect = `SELECT e.*, io.name AS intake_name, ho.name AS holder_name, u.display_name AS agent_name, u.phone AS agent_phone
	FROM errands e
	JOIN orgs io ON io.id = e.intake_org_id
	JOIN orgs ho ON ho.id = e.holder_org_id
	JOIN users u ON u.id = e.agent_id`

func (s *Store) toErrandView(v errandView) (service.Errand, error) {
	e, err := s.toErrand(v.Row)
	if err != nil {
		return service.Errand{}, err
	}
	e.IntakeName, e.HolderName, e.AgentName, e.AgentPhone = v.IntakeName, v.HolderName, v.AgentName, v.AgentPhone
	return e, nil
}

type idemRow struct {
	Key         string
	RequestHash string
	ErrandID    string
	Snapshot    string
	Version     int
	CreatedAt   time.Time
}

func (idemRow) TableName() string { return "idempotency_keys" }

// claimKey inserts the idempotency row first thing in a transaction, so a
// concurrent twin waits on it and then fails instead of doing the work twice.
// version is the errand's version the request leaves if already known (a
// registration's, 1); a transition sets it with its snapshot.
func (s *Store) claimKey(tx *gorm.DB, idem *service.IdemKey, errandID string, version int) error {
	res, err := s.exec(tx, `INSERT INTO idempotency_keys (key, request_hash, errand_id, snapshot, version, created_at) VALUES (?, ?, ?, '', ?, ?)
		ON CONFLICT (key) DO NOTHING`, idem.Key, idem.Hash, errandID, version, utc(idem.At))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return service.ErrIdemTaken
	}
	return nil
}

var (
	errandInsertSQL = `INSERT INTO errands (` + errandColumns + `) VALUES (` + placeholders(errandColumns) + `)`
	eventInsertSQL  = `INSERT INTO events (` + eventColumns + `) VALUES (` + placeholders(eventColumns) + `)`
)

// placeholders is one ? per column of a written-out column list.
func placeholders(columns string) string {
	return strings.TrimSuffix(strings.Repeat("?, ", strings.Count(columns, ",")+1), ", ")
}

// CreateErrand inserts a new errand with its first event and counts it in
// the statistics, all in one transaction.
func (s *Store) CreateErrand(ctx context.Context, e service.Errand, ev service.Event, ns []service.Notice, idem *service.IdemKey) error {
	row := s.fromErrand(e)
	timeline, err := appendStep("", ev)
	if err != nil {
		return err
	}
	row.Timeline = timeline
	evRow := fromEvent(ev)
	// The arguments are made before the write joins the single writer: it
	// only runs the statements.
	rowArgs, evArgs, bump := values(row.targets()), values(evRow.targets()), bumpArgs(e, service.Contribution(e))
	err = s.write(ctx, func(tx *gorm.DB) error {
		if idem != nil {
			// No snapshot: a replay rebuilds the errand as registered (Idempotent).
			if err := s.claimKey(tx, idem, e.ID, e.Version); err != nil {
				return err
			}
		}
		if _, err := s.exec(tx, errandInsertSQL, rowArgs...); err != nil {
			return err
		}
		if _, err := s.exec(tx, eventInsertSQL, evArgs...); err != nil {
			return err
		}
		if _, err := s.exec(tx, bumpSQL, bump...); err != nil {
			return err
		}
		return s.addNotices(tx, ns)
	})
	if errors.Is(err, service.ErrIdemTaken) {
		return err
	}
	return translate(err, "errand")
}

// UpdateErrand runs one transition: it loads the errand, lets fn decide,
// then writes the row only if its version is unchanged, appends the event,
// moves the statistics by the difference, and remembers the idempotency key.
func (s *Store) UpdateErrand(ctx context.Context, id string, fn func(*service.Errand) (service.Event, []service.Notice, error), idem *service.IdemKey) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		if idem != nil {
			if err := s.claimKey(tx, idem, id, 0); err != nil {
				return err
			}
		}
		var r errandRow
		if err := s.txRow(tx, `SELECT `+errandColumns+` FROM errands WHERE id = ?`, []any{id}, r.targets()...); err != nil {
			return translate(err, "errand")
		}
		before, err := s.toErrand(r)
		if err != nil {
			return err
		}
		cur := before
		ev, ns, err := fn(&cur)
		if err != nil {
			return err
		}
		after := s.fromErrand(cur)
		after.ApplicantIDEnc = r.ApplicantIDEnc // unchanged; keep the stored ciphertext
		if after.Timeline, err = appendStep(r.Timeline, ev); err != nil {
			return err
		}
		res, err := s.exec(tx, errandTransitionSQL, append(after.transitionArgs(), id, before.Version)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var v int
			if err := tx.Model(&errandRow{}).Where("id = ?", id).Select("version").Scan(&v).Error; err != nil {
				return err
			}
			return service.VersionConflict(v)
		}
		evRow := fromEvent(ev)
		if _, err := s.exec(tx, eventInsertSQL, values(evRow.targets())...); err != nil {
			return err
		}
		if d := service.Contribution(cur).Sub(service.Contribution(before)); !d.IsZero() {
			if _, err := s.exec(tx, bumpSQL, bumpArgs(cur, d)...); err != nil {
				return err
			}
		}
		if err := s.addNotices(tx, ns); err != nil {
			return err
		}
		if idem != nil {
			snap, err := json.Marshal(after)
			if err != nil {
				return err
			}
			_, err = s.exec(tx, `UPDATE idempotency_keys SET snapshot = ?, version = ? WHERE key = ?`, string(snap), cur.Version, idem.Key)
			return err
		}
		return nil
	})
	var se *service.Error
	if err == nil || errors.As(err, &se) || errors.Is(err, service.ErrIdemTaken) {
		return err
	}
	return translate(err, "errand")
}

// Errand reads one errand with its names.
func (s *Store) Errand(ctx context.Context, id string) (service.Errand, error) {
	v, err := s.errandWhere(ctx, "e.id = ?", id)
	if err != nil {
		return service.Errand{}, err
	}
	return s.toErrandView(v)
}

// LookupReceipt reads what a public lookup needs in one query: the few
// columns of the errand a resident may see with its public timeline (kept
// on the row for this).
func (s *Store) LookupReceipt(ctx context.Context, receiptNo string) (service.ReceiptLookup, error) {
	var e service.Errand
	var status, outcome, timeline string
	var completed, delivered, paused sql.NullTime
	err := s.queryRow(ctx, `SELECT e.id, e.receipt_no, e.verify_code, e.status, e.item_name, e.applicant_name,
		e.registered_at, e.due_at, e.completed_at, e.delivered_at, e.paused_at, e.outcome, e.outcome_reason, e.timeline,
		e.intake_org_id, e.agent_id
		FROM errands e WHERE e.receipt_no = ?`, []any{receiptNo},
		&e.ID, &e.ReceiptNo, &e.VerifyCode, &status, &e.ItemName, &e.Applicant.Name,
		&e.RegisteredAt, &e.DueAt, &completed, &delivered, &paused, &outcome, &e.OutcomeReason, &timeline,
		&e.IntakeOrgID, &e.AgentID)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return service.ReceiptLookup{}, nil
	}
	if err != nil {
		return service.ReceiptLookup{}, err
	}
	e.Status, e.Outcome = service.Status(status), service.Outcome(outcome)
	e.RegisteredAt, e.DueAt = e.RegisteredAt.UTC(), e.DueAt.UTC()
	e.CompletedAt, e.DeliveredAt, e.PausedAt = completed.Time.UTC(), delivered.Time.UTC(), paused.Time.UTC()
	steps, err := timelineEvents(timeline)
	if err != nil {
		return service.ReceiptLookup{}, fmt.Errorf("errand %s: %w", e.ID, err)
	}
	return service.ReceiptLookup{Errand: e, Timeline: steps, Found: true}, nil
}

func (s *Store) errandWhere(ctx context.Context, cond string, arg any) (errandView, error) {
	var v errandView
	dest := append(v.Row.targets(), &v.IntakeName, &v.HolderName, &v.AgentName, &v.AgentPhone)
	err := s.queryRow(ctx, `SELECT `+errandColumnsE+`, io.name, ho.name, u.display_name, u.phone
		FROM errands e
		JOIN orgs io ON io.id = e.intake_org_id
		JOIN orgs ho ON ho.id = e.holder_org_id
		JOIN users u ON u.id = e.agent_id
		WHERE `+cond, []any{arg}, dest...)
	return v, translate(err, "errand")
}

var (
	errandColumnsE = prefixed("e.", errandColumns)
	eventColumnsEv = prefixed("ev.", eventColumns)
)

// prefixed qualifies each column of a list with alias.
func prefixed(alias, columns string) string {
	return alias + strings.ReplaceAll(strings.Join(strings.Fields(columns), " "), ", ", ", "+alias)
}

const openStatuses = `e.status IN ('registered','forwarded','processing','correction')`

// overdueSQL is service.Errand.Overdue in SQL: open and past due, with the
// clock of an errand awaiting correction stopped at its pause (which lies
// before now, so due_at < now holds for those too). Written so that due_at
// is a plain range over the partial index of open errands.
const overdueSQL = `(` + openStatuses + ` AND e.due_at < ? AND (e.status <> 'correction' OR e.due_at < e.paused_at))`

// dueBySQL is the warnings list's condition: open and due by a time, an
// errand awaiting correction only if it was overdue when paused (its clock
// stopped then).
const dueBySQL = openStatuses + ` AND e.due_at <= ? AND (e.status <> 'correction' OR e.due_at < e.paused_at)`

// isOpenStatuses reports whether st is the open statuses, in any order.
func isOpenStatuses(st []service.Status) bool {
	if len(st) != len(service.OpenStatuses) {
		return false
	}
	for _, x := range service.OpenStatuses {
		if !slices.Contains(st, x) {
			return false
		}
	}
	return true
}

// filtered is the errands that f selects, before paging.
func (s *Store) filtered(ctx context.Context, f service.ErrandFilter) *gorm.DB {
	q := s.read(ctx).Table("errands e")
	if f.UnderVillage {
		q = q.Where("e.org_path = ?", f.Under)
	} else if s.postgres && f.Order == service.ByNewest && f.OverdueAt.IsZero() && f.DueBy.IsZero() &&
		(len(f.Under) == cityPathLen || len(f.Under) == townshipPathLen) {
		// Newest first, a city's or township's own index (idx_errands_city,
		// idx_errands_township) has its errands in order. Lists of open
		// errands by deadline read the indexes of open errands instead.
		q = q.Where(fmt.Sprintf("substr(e.org_path, 1, %d) = ?", len(f.Under)), f.Under)
	} else if f.Under != "" {
		lo, hi := service.PathRange(f.Under)
		col := "e.org_path"
		if f.NamePrefix != "" && !s.postgres {
			// Two ranges, of scope and of name, look alike to SQLite's
			// planner, which may pick the scope's and read a whole city.
			// A name's start is the narrower one (a township holds
			// thousands of each surname, a province millions of errands):
			// the unary + leaves the scope to be checked inside the name
			// index. PostgreSQL weighs both by its statistics.
			col = "+" + col
		}
		q = q.Where(col+" >= ? AND "+col+" < ?", lo, hi)
	}
	if f.HolderOrgID != "" {
		if f.HolderPath != "" {
			// A village holds only errands of its own intake: they are in
			// its scope, and not in the holder index.
			lo, hi := service.PathRange(f.HolderPath)
			q = q.Where("e.holder_org_id = ? AND e.holder_level = 'village' AND e.org_path >= ? AND e.org_path < ?", f.HolderOrgID, lo, hi)
		} else {
			q = q.Where("e.holder_org_id = ? AND e.holder_level <> 'village'", f.HolderOrgID)
		}
	}
	if isOpenStatuses(f.Statuses) {
		// Written out, so the partial indexes of open errands match the
		// condition in a prepared statement's generic plan too.
		q = q.Where(openStatuses)
	} else if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, x := range f.Statuses {
			st[i] = string(x)
		}
		q = q.Where("e.status IN ?", st)
	}
	if f.ItemCode != "" {
		q = q.Where("e.item_code = ?", f.ItemCode)
	}
	if f.From != 0 {
		q = q.Where("e.reg_day >= ?", f.From.YMD())
	}
	if f.To != 0 {
		q = q.Where("e.reg_day <= ?", f.To.YMD())
	}
	if !f.OverdueAt.IsZero() {
		q = q.Where(overdueSQL, utc(f.OverdueAt))
	}
	if !f.DueBy.IsZero() {
		q = q.Where(dueBySQL, utc(f.DueBy))
	}
	if f.IDNumber != "" {
		q = q.Where("e.applicant_id_index = ?", s.crypt.index(f.IDNumber))
	}
	if f.ReceiptNo != "" {
		q = q.Where("e.receipt_no = ?", f.ReceiptNo)
	}
	if f.NamePrefix != "" {
		// A prefix is a range of the name index in byte order, which is
		// SQLite's and, with COLLATE "C" (as the index is built),
		// PostgreSQL's; a range keeps its index in a prepared statement's
		// generic plan, where a LIKE pattern would not.
		col := "e.applicant_name"
		if s.postgres {
			col += ` COLLATE "C"`
		}
		lo, hi := prefixRange(f.NamePrefix)
		q = q.Where(col+" >= ?", lo)
		if hi != "" {
			q = q.Where(col+" < ?", hi)
		}
	}
	if len(f.Phones) > 0 {
		q = q.Where("e.applicant_phone IN ?", f.Phones)
	}
	return q
}

// prefixRange is the range of the strings that start with p in byte order:
// from p up to p with its last character the next one. UTF-8 sorts as its
// characters do, so 张 (U+5F20) is followed by 弡 (U+5F21), and every name
// that starts with 张 lies between them. hi is empty when there is no bound.
func prefixRange(p string) (lo, hi string) {
	r := []rune(p)
	for len(r) > 0 {
		last := r[len(r)-1]
		if last < utf8.MaxRune {
			next := last + 1
			if next >= 0xD800 && next <= 0xDFFF { // surrogates are not characters
				next = 0xE000
			}
			r[len(r)-1] = next
			return p, string(r)
		}
		r = r[:len(r)-1]
	}
	return p, ""
}

// CountErrands counts the errands that f selects, all pages.
func (s *Store) CountErrands(ctx context.Context, f service.ErrandFilter) (int64, error) {
	var n int64
	err := s.filtered(ctx, f).Count(&n).Error
	return n, err
}

// page is the page of errands that f selects, in f's order.
func (s *Store) page(ctx context.Context, f service.ErrandFilter) *gorm.DB {
	q := s.filtered(ctx, f).Limit(f.Limit)
	switch f.Order {
	case service.ByDue:
		q = q.Order("e.due_at, e.id")
		if f.AfterID != "" {
			due := utc(f.AfterDue)
			q = q.Where("(e.due_at > ? OR (e.due_at = ? AND e.id > ?))", due, due, f.AfterID)
		}
	default:
		q = q.Order("e.id DESC")
		if f.AfterID != "" {
			q = q.Where("e.id < ?", f.AfterID)
		}
	}
	return q
}

// Errands lists errands by f, one page.
func (s *Store) Errands(ctx context.Context, f service.ErrandFilter) ([]service.Errand, error) {
	q := s.page(ctx, f).
		Select("e.*, io.name AS intake_name, ho.name AS holder_name, u.display_name AS agent_name, u.phone AS agent_phone").
		Joins("JOIN orgs io ON io.id = e.intake_org_id").
		Joins("JOIN orgs ho ON ho.id = e.holder_org_id").
		Joins("JOIN users u ON u.id = e.agent_id")
	var views []errandView
	if err := q.Scan(&views).Error; err != nil {
		return nil, err
	}
	return s.toErrands(views)
}

func (s *Store) toErrands(views []errandView) ([]service.Errand, error) {
	out := make([]service.Errand, len(views))
	for i, v := range views {
		e, err := s.toErrandView(v)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// Events reads an errand's timeline, oldest first, with organisation names.
func (s *Store) Events(ctx context.Context, errandID string) ([]service.Event, error) {
	rows, err := s.queryRows(ctx, `SELECT `+eventColumnsEv+`, COALESCE(o.name, ''), COALESCE(t.name, '')
		FROM events ev LEFT JOIN orgs o ON o.id = ev.org_id LEFT JOIN orgs t ON t.id = ev.to_org_id
		WHERE ev.errand_id = ? ORDER BY ev.seq`, errandID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []service.Event
	var r eventRow
	var orgName, toOrgName string
	dest := append(r.targets(), &orgName, &toOrgName)
	for rows.Next() {
		r = eventRow{}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		ev, err := toEvent(r)
		if err != nil {
			return nil, err
		}
		ev.OrgName, ev.ToOrgName = orgName, toOrgName
		out = append(out, ev)
	}
	return out, rows.Err()
}

// Idempotent reads a remembered idempotent result. A transition's is the
// errand it left, kept with the key; a registration keeps none, as the
// errand it registered is rebuilt from the errand and its first event.
func (s *Store) Idempotent(ctx context.Context, key string) (service.IdemRecord, error) {
	var hash, errandID, snapshot string
	var version int
	err := s.queryRow(ctx, `SELECT request_hash, errand_id, snapshot, version FROM idempotency_keys WHERE key = ?`, []any{key}, &hash, &errandID, &snapshot, &version)
	if err != nil {
		return service.IdemRecord{}, translate(err, "idempotency key")
	}
	var e service.Errand
	switch {
	case snapshot == "" && version == 1:
		e, err = s.registered(ctx, errandID)
	case snapshot == "":
		return service.IdemRecord{}, service.NotFound("idempotency key")
	default:
		var r errandRow
		if err = json.Unmarshal([]byte(snapshot), &r); err == nil {
			e, err = s.toErrand(r)
		}
	}
	if err != nil {
		return service.IdemRecord{}, err
	}
	return service.IdemRecord{Hash: hash, Errand: e}, nil
}

// registered is the errand as its registration left it.
func (s *Store) registered(ctx context.Context, id string) (service.Errand, error) {
	v, err := s.errandWhere(ctx, "e.id = ?", id)
	if err != nil {
		return service.Errand{}, err
	}
	e, err := s.toErrand(v.Row)
	if err != nil {
		return service.Errand{}, err
	}
	// The history is a few events; corrections among them changed what
	// registration set.
	evs, err := s.Events(ctx, id)
	if err != nil {
		return service.Errand{}, err
	}
	if len(evs) == 0 {
		return service.Errand{}, service.NotFound("errand")
	}
	return service.AsRegistered(e, evs), nil
}

// DeleteIdempotentBefore forgets idempotency keys created before t.
func (s *Store) DeleteIdempotentBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Where("created_at < ?", utc(t)).Delete(&idemRow{})
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

// Ledger lists the errands registered under path on days from..to, in
// registration order, at most limit of them.
func (s *Store) Ledger(ctx context.Context, path string, from, to service.Date, limit int) ([]service.Errand, error) {
	lo, hi := service.PathRange(path)
	var views []errandView
	err := s.read(ctx).Raw(errandSelect+` WHERE e.org_path >= ? AND e.org_path < ? AND e.reg_day BETWEEN ? AND ?
		ORDER BY e.registered_at, e.id LIMIT ?`, lo, hi, from.YMD(), to.YMD(), limit).Scan(&views).Error
	if err != nil {
		return nil, err
	}
	return s.toErrands(views)
}

// VerifyLedger walks every errand with its events in id order and hands
// them to fn; an error from fn stops the walk.
func (s *Store) VerifyLedger(ctx context.Context, under string, fn func(service.Errand, []service.Event) error) (int, error) {
	const batch = 500
	n, after, afterPath := 0, "", ""
	var lo, hi string
	if under != "" {
		lo, hi = service.PathRange(under)
	}
	for {
		var rows []errandRow
		q := s.read(ctx).Limit(batch)
		if under == "" {
			q = q.Where("id > ?", after).Order("id")
		} else {
			// The scope index (org_path, id), in its order.
			q = q.Where("(org_path, id) > (?, ?) AND org_path < ?", max(afterPath, lo), after, hi).Order("org_path, id")
		}
		if err := q.Find(&rows).Error; err != nil {
			return n, err
		}
		if len(rows) == 0 {
			return n, nil
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		var evs []eventRow
		if err := s.read(ctx).Where("errand_id IN ?", ids).Order("errand_id, seq").Find(&evs).Error; err != nil {
			return n, err
		}
		byErrand := map[string][]service.Event{}
		for _, r := range evs {
			ev, err := toEvent(r)
			if err != nil {
				return n, err
			}
			byErrand[ev.ErrandID] = append(byErrand[ev.ErrandID], ev)
		}
		for _, r := range rows {
			e, err := s.toErrand(r)
			if err != nil {
				return n, err
			}
			n++
			if err := fn(e, byErrand[r.ID]); err != nil {
				return n, err
			}
		}
		after, afterPath = rows[len(rows)-1].ID, rows[len(rows)-1].OrgPath
	}
}
