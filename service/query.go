package service

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrandOrder is the sort of an errand listing.
type ErrandOrder int

const (
	ByNewest ErrandOrder = iota // registration, newest first (ids are UUIDv7)
	ByDue                       // deadline, soonest first
)

// ErrandFilter narrows an errand listing. The store treats every zero field
// as "any".
type ErrandFilter struct {
	Under string // a subtree path of intake villages
	// UnderVillage says Under is one village's path. Errands are registered
	// at villages, so that scope is the path itself: the store can read it
	// in id order from its scope index.
	UnderVillage bool
	HolderOrgID  string
	HolderPath   string // the holder's path when it is a village (which holds only its own intake)
	Statuses     []Status
	ItemCode     string
	From, To     Date      // registration days, inclusive
	OverdueAt    time.Time // only errands overdue at this instant
	DueBy        time.Time // only open errands due no later than this (warnings)
	IDNumber     string    // exact applicant ID number
	ReceiptNo    string
	NamePrefix   string   // applicant names that start with this
	Phones       []string // the applicant's phone, as any of these
	Order        ErrandOrder
	AfterID      string    // keyset: the last id seen
	AfterDue     time.Time // keyset for ByDue: the last deadline seen
	Limit        int
}

// ErrandQuery is a listing request as the HTTP layer reads it.
type ErrandQuery struct {
	OrgID       string
	HolderOrgID string
	Statuses    []Status
	ItemCode    string
	From, To    string
	Overdue     bool
	IDNumber    string
	ReceiptNo   string
	Name        string      // the start of the applicant's name
	Phone       string      // the applicant's phone, exactly
	Order       ErrandOrder // newest first unless ByDue
	Cursor      string
	Limit       int
}

// Errands lists errands in the caller's scope, newest first or, with
// ByDue, the soonest deadline first (overdue ones before those due soon).
func (s *Service) Errands(ctx context.Context, a Actor, q ErrandQuery) ([]Errand, string, error) {
	f, err := s.errandFilter(ctx, a, q)
	if err != nil {
		return nil, "", err
	}
	if q.Overdue {
		f.OverdueAt = s.now()
	}
	return s.listErrands(ctx, f)
}

// Warning is an errand whose deadline is near (yellow) or past (red).
type Warning struct {
	Errand      Errand
	Level       string // "yellow" or "red"
	DaysOverdue int    // red: working days past the deadline (0 on the day after a weekend's deadline)
}

// Warnings lists the caller's open errands with one working day or less
// left (yellow) or overdue (red), soonest deadline first.
func (s *Service) Warnings(ctx context.Context, a Actor, q ErrandQuery) ([]Warning, string, error) {
	q.Order = ByDue
	f, err := s.errandFilter(ctx, a, q)
	if err != nil {
		return nil, "", err
	}
	cal, err := s.calendar(ctx)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	f.DueBy = cal.AddWorkingDays(DateOf(now), 1).End()
	list, next, err := s.listErrands(ctx, f)
	if err != nil {
		return nil, "", err
	}
	out := make([]Warning, len(list))
	for i, e := range list {
		out[i] = Warning{Errand: e, Level: "yellow"}
		if e.Overdue(now) {
			out[i].Level = "red"
			out[i].DaysOverdue = e.DaysOverdue(cal, now)
		}
	}
	return out, next, nil
}

// maxWarningsExport bounds a download of the warnings list.
const maxWarningsExport = 50000

// AllWarnings is every page of Warnings for q, for a download: at most
// maxWarningsExport rows, beyond which it asks for a narrower scope.
func (s *Service) AllWarnings(ctx context.Context, a Actor, q ErrandQuery) ([]Warning, error) {
	q.Cursor, q.Limit = "", maxLimit
	var all []Warning
	for {
		page, next, err := s.Warnings(ctx, a, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		if len(all) >= maxWarningsExport {
			return nil, BadParam("org_id", "too_many_warnings", strconv.Itoa(maxWarningsExport))
		}
		q.Cursor = next
	}
}

// WarningCounts are the totals of the warnings list, over all its pages.
type WarningCounts struct {
	Red    int64 // overdue
	Yellow int64 // one working day or less left
}

// CountWarnings counts the open errands that Warnings lists for q, all
// pages, by colour.
func (s *Service) CountWarnings(ctx context.Context, a Actor, q ErrandQuery) (WarningCounts, error) {
	q.Cursor = ""
	f, err := s.errandFilter(ctx, a, q)
	if err != nil {
		return WarningCounts{}, err
	}
	cal, err := s.calendar(ctx)
	if err != nil {
		return WarningCounts{}, err
	}
	now := s.now()
	f.DueBy = cal.AddWorkingDays(DateOf(now), 1).End()
	all, err := s.errands.CountErrands(ctx, f)
	if err != nil {
		return WarningCounts{}, err
	}
	f.DueBy, f.OverdueAt = time.Time{}, now
	red, err := s.errands.CountErrands(ctx, f)
	if err != nil {
		return WarningCounts{}, err
	}
	return WarningCounts{Red: red, Yellow: all - red}, nil
}

func (s *Service) listErrands(ctx context.Context, f ErrandFilter) ([]Errand, string, error) {
	f.Limit = clampLimit(f.Limit)
	list, err := s.errands.Errands(ctx, f)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) == f.Limit {
		last := list[len(list)-1]
		next = last.ID
		if f.Order == ByDue {
			next = strconv.FormatInt(last.DueAt.UnixMicro(), 10) + "_" + last.ID
		}
		next = base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	return list, next, nil
}

// errandFilter turns a query into a filter inside the caller's scope.
func (s *Service) errandFilter(ctx context.Context, a Actor, q ErrandQuery) (ErrandFilter, error) {
	if !a.Role.Staff() {
		return ErrandFilter{}, ErrForbidden
	}
	f := ErrandFilter{Under: a.ScopePath(), UnderVillage: a.OrgLevel == LevelVillage,
		Limit: q.Limit, ItemCode: strings.TrimSpace(q.ItemCode), HolderOrgID: q.HolderOrgID}
	if q.Limit < 0 || q.Limit > maxLimit {
		return f, BadParam("limit", "limit_out_of_range", itoa(maxLimit))
	}
	if q.HolderOrgID != "" {
		if o, err := s.org(ctx, q.HolderOrgID); err == nil && o.Level == LevelVillage {
			f.HolderPath = o.Path
		} else if err != nil && !isNotFound(err) {
			return f, err
		}
	}
	if q.OrgID != "" {
		o, err := s.scopedOrg(ctx, a, q.OrgID)
		if err != nil {
			return f, err
		}
		f.Under, f.UnderVillage = o.Path, o.Level == LevelVillage
	}
	for _, st := range q.Statuses {
		if !slices.Contains(Statuses, st) {
			return f, BadParam("status", "unknown_status", strconv.Quote(string(st)))
		}
	}
	f.Statuses = q.Statuses
	f.Order = q.Order
	var err error
	if f.From, f.To, err = parsePeriod(q.From, q.To, false); err != nil {
		return f, err
	}
	if q.IDNumber != "" {
		f.IDNumber = NormalizeIDNumber(q.IDNumber)
		if code := CheckIDNumber(f.IDNumber, s.now()); code != "" {
			return f, BadParam("id_number", code)
		}
	}
	if q.ReceiptNo != "" {
		if f.ReceiptNo, err = ParseReceiptNo(q.ReceiptNo); err != nil {
			return f, err
		}
	}
	// A name is matched by its start: 张 finds 张三丰 and 张三, 张三 finds
	// both too. A prefix is an index range on either engine; a search for
	// a part in the middle would read every row in scope.
	if name := strings.TrimSpace(q.Name); name != "" {
		var fe fields
		if checkText(&fe, "name", name, 1, 40); len(fe) > 0 {
			return f, badParam(fe[0])
		}
		f.NamePrefix = name
	}
	if phone := NormalizePhone(q.Phone); phone != "" {
		if !ValidPhone(phone) {
			return f, BadParam("phone", "invalid_phone")
		}
		// A landline registered before numbers were normalised may be
		// stored without its dash.
		f.Phones = []string{phone}
		if bare := strings.ReplaceAll(phone, "-", ""); bare != phone {
			f.Phones = append(f.Phones, bare)
		}
	}
	if f.ItemCode != "" {
		// Errands keep their item's code after it is retired, so any item
		// in the catalogue, active or not, may be searched for.
		if _, err := s.directory.Item(ctx, f.ItemCode); isNotFound(err) {
			return f, BadParam("item", "no_such_item")
		} else if err != nil {
			return f, err
		}
	}
	if q.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || len(raw) > 80 {
			return f, BadParam("cursor", "invalid_cursor")
		}
		c := string(raw)
		if due, id, ok := strings.Cut(c, "_"); ok {
			us, err := strconv.ParseInt(due, 10, 64)
			if err != nil {
				return f, BadParam("cursor", "invalid_cursor")
			}
			f.AfterDue, f.AfterID = time.UnixMicro(us).UTC(), id
		} else {
			f.AfterID = c
		}
		if (f.Order == ByDue) != !f.AfterDue.IsZero() {
			return f, BadParam("cursor", "cursor_other_order")
		}
	}
	return f, nil
}

// scopedOrg loads an organisation the caller asked about and checks it lies
// in the caller's scope; one outside answers not found.
func (s *Service) scopedOrg(ctx context.Context, a Actor, id string) (Org, error) {
	o, err := s.org(ctx, id)
	if err != nil {
		if isNotFound(err) {
			return Org{}, orgOutOfScope()
		}
		return Org{}, err
	}
	if !InSubtree(o.Path, a.ScopePath()) {
		return Org{}, orgOutOfScope()
	}
	return o, nil
}

// orgOutOfScope answers for an organisation the caller may not see as if
// it did not exist, naming the field that asked for it.
func orgOutOfScope() *Error {
	fe := NewFieldError("org_id", "org_out_of_scope")
	return &Error{Kind: KindNotFound, Code: "not_found", Detail: fe.Message, Fields: []FieldError{fe}}
}

// MaxPeriodDays bounds a statistics or listing period (five years).
const MaxPeriodDays = 5*366 + 1

// parsePeriod reads optional from/to dates; required makes both mandatory.
func parsePeriod(from, to string, required bool) (Date, Date, error) {
	var f, t Date
	var err error
	if from != "" {
		if f, err = ParseDate(from); err != nil {
			return 0, 0, BadParam("from", "not_a_date")
		}
	} else if required {
		return 0, 0, BadParam("from", "date_required")
	}
	if to != "" {
		if t, err = ParseDate(to); err != nil {
			return 0, 0, BadParam("to", "not_a_date")
		}
	} else if required {
		return 0, 0, BadParam("to", "date_required")
	}
	for _, d := range []struct {
		name string
		d    Date
	}{{"from", f}, {"to", t}} {
		if d.d != 0 && (d.d.Year() < 2000 || d.d.Year() > 2100) {
			return 0, 0, BadParam(d.name, "date_out_of_range")
		}
	}
	if f != 0 && t != 0 {
		if f > t {
			return 0, 0, BadParam("from", "from_after_to")
		}
		if t-f >= MaxPeriodDays {
			return 0, 0, BadParam("to", "period_too_long")
		}
	}
	return f, t, nil
}
