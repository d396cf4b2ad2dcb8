package service

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Ledger is the registration ledger (登记台账) of a service point over a
// range of registration days: every errand registered there, in
// registration order. Applicants' names are as the reader may see them
// (see Actor.SeesStubName): in full or masked.
type Ledger struct {
	Org      Org
	From, To Date
	Month    string // YYYY-MM when the range was asked for as one month
	Errands  []Errand
}

// LedgerQuery chooses a ledger: an organisation and either a month
// (YYYY-MM) or a range of registration days From..To (YYYY-MM-DD, Shanghai).
type LedgerQuery struct {
	OrgID    string
	Month    string
	From, To string
}

// MaxLedgerRows bounds one ledger; a township's busiest year is far below it.
const MaxLedgerRows = 50_000

// MaxLedgerDays bounds a ledger's range: one year, a leap day included.
const MaxLedgerDays = 366

// Ledger returns an organisation's registration ledger for a month or a
// range of days. A range longer than a year, or one holding more than
// MaxLedgerRows registrations, is refused rather than cut short.
func (s *Service) Ledger(ctx context.Context, a Actor, q LedgerQuery) (Ledger, error) {
	if !a.Role.Staff() {
		return Ledger{}, ErrForbidden
	}
	from, to, err := ledgerRange(q)
	if err != nil {
		return Ledger{}, err
	}
	org, err := s.scopedOrg(ctx, a, q.OrgID)
	if err != nil {
		return Ledger{}, err
	}
	list, err := s.errands.Ledger(ctx, org.Path, from, to, MaxLedgerRows+1)
	if err != nil {
		return Ledger{}, err
	}
	if len(list) > MaxLedgerRows {
		return Ledger{}, BadParam("to", "too_many_rows", itoa(MaxLedgerRows))
	}
	for i := range list {
		if !a.SeesStubName(list[i]) {
			list[i].Applicant.Name = MaskName(list[i].Applicant.Name)
		}
	}
	month := ""
	if q.From == "" && q.To == "" {
		month = q.Month
	}
	return Ledger{Org: org, From: from, To: to, Month: month, Errands: list}, nil
}

// ledgerRange reads a ledger's days: from and to (both required once
// either is given), or else the month.
func ledgerRange(q LedgerQuery) (Date, Date, error) {
	if q.From == "" && q.To == "" {
		t, err := time.Parse("2006-01", q.Month)
		if err != nil || t.Year() < 2000 || t.Year() > 2100 {
			return 0, 0, BadParam("month", "ledger_period_required")
		}
		return MakeDate(t.Year(), t.Month(), 1), MakeDate(t.Year(), t.Month()+1, 0), nil
	}
	from, to, err := parsePeriod(q.From, q.To, true)
	if err != nil {
		return 0, 0, err
	}
	if to-from >= MaxLedgerDays {
		return 0, 0, BadParam("to", "ledger_period_too_long")
	}
	return from, to, nil
}

// SeesStubName reports whether the actor may read the applicant's full name
// in a ledger: the staff of the village where the errand was registered
// keep the stub of the two-part form (存根联), which carries it; everyone
// else (township, city, supervisors) reads it masked.
func (a Actor) SeesStubName(e Errand) bool {
	return a.Role.Staff() && a.OrgLevel == LevelVillage && a.OrgID == e.IntakeOrgID
}

// Break is the first broken link found in an errand's or a report's event
// chain.
type Break struct {
	Report    bool   // a 民情 report's chain, not an errand's
	ErrandID  string // the errand's or the report's id
	ReceiptNo string // its receipt or report number
	Seq       int
	Problem   string
}

// LedgerCheck is the result of recomputing every event chain.
type LedgerCheck struct {
	Errands      int
	Events       int
	Reports      int
	ReportEvents int
	Broken       *Break
}

// VerifyLedger recomputes every errand's and report's hash chain and
// reports the first broken link (admin and supervisor only; the command
// line calls Verify): the admin's check covers the deployment, a
// supervisor's the own city, as its other reads.
func (s *Service) VerifyLedger(ctx context.Context, a Actor) (LedgerCheck, error) {
	if a.Role != RoleAdmin && a.Role != RoleSupervisor {
		return LedgerCheck{}, ErrForbidden
	}
	o := VerifyOptions{Under: a.ListUnder()}
	// A check reads every event (seconds on a large ledger): one at a time,
	// so a few at once cannot take the CPU and the database from the rest.
	if !s.checks.TryAcquire(1) {
		return LedgerCheck{}, TooMany("ledger_check_running", "a ledger check is already running; it checks everything, so wait for it and try again", 10*time.Second)
	}
	defer s.checks.Release(1)
	return s.VerifyWith(ctx, o, nil)
}

// Verify recomputes every chain without an actor. progress, if not nil,
// hears how many errands are checked of how many, every tenth of them.
func (s *Service) Verify(ctx context.Context, progress func(checked, all int)) (LedgerCheck, error) {
	return s.VerifyWith(ctx, VerifyOptions{}, progress)
}

// VerifyOptions narrow a ledger check to a subtree and spread it.
type VerifyOptions struct {
	Under   string // a subtree path: only the errands registered in it; all by default
	Workers int    // parts checked at once, one township's errands a part; 1 by default
}

// VerifyWith recomputes the chains o selects, in o.Workers parts at once,
// stopping at the first break any part finds.
func (s *Service) VerifyWith(ctx context.Context, o VerifyOptions, progress func(checked, all int)) (LedgerCheck, error) {
	parts := []string{o.Under}
	if o.Workers > 1 {
		ts, err := s.directory.Orgs(ctx, OrgFilter{Level: LevelTownship, Under: o.Under, Limit: maxLimit})
		if err != nil {
			return LedgerCheck{}, err
		}
		if len(ts) > 1 {
			// Every errand is registered in a village under some township.
			parts = parts[:0]
			for _, t := range ts {
				parts = append(parts, t.Path)
			}
		}
	}
	all := 0
	if progress != nil {
		n, err := s.errands.CountErrands(ctx, ErrandFilter{Under: o.Under})
		if err != nil {
			return LedgerCheck{}, err
		}
		all = int(n)
	}
	var (
		mu      sync.Mutex
		out     LedgerCheck
		checked int
		tenth   int
		g       errgroup.Group
	)
	// A break found by one part stops the others at their next errand. Their
	// queries are not cancelled mid-flight: a query cut off by a cancelled
	// context costs its database connection, and a check gains nothing
	// from stopping a few milliseconds sooner.
	errStop := errors.New("stop at the first break")
	g.SetLimit(max(o.Workers, 1))
	for _, part := range parts {
		g.Go(func() error {
			mu.Lock()
			stopped := out.Broken != nil
			mu.Unlock()
			if stopped {
				return nil
			}
			n, err := s.errands.VerifyLedger(ctx, part, func(e Errand, events []Event) error {
				b := CheckChain(e, events)
				mu.Lock()
				defer mu.Unlock()
				if out.Broken != nil {
					return errStop
				}
				checked++
				if t := checked * 10 / max(all, 1); progress != nil && (t > tenth || checked == all) {
					tenth = t
					progress(checked, all)
				}
				out.Events += len(events)
				if b != nil {
					out.Broken = b
					return errStop
				}
				return nil
			})
			mu.Lock()
			out.Errands += n
			mu.Unlock()
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		})
	}
	err := g.Wait()
	if out.Broken != nil {
		return out, nil
	}
	if err != nil {
		return LedgerCheck{}, err
	}
	if s.reportStore != nil {
		if err := s.verifyReports(ctx, o.Under, &out); err != nil {
			return LedgerCheck{}, err
		}
	}
	return out, nil
}

// verifyReports recomputes the chains of the reports registered, held or
// handled under the subtree ("" for all), after the errands', stopping at
// the first break.
func (s *Service) verifyReports(ctx context.Context, under string, out *LedgerCheck) error {
	f := ReportFilter{Under: under, Limit: maxLimit}
	for {
		rs, err := s.reportStore.Reports(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range rs {
			evs, err := s.reportStore.ReportEvents(ctx, r.ID)
			if err != nil {
				return err
			}
			out.Reports++
			out.ReportEvents += len(evs)
			if b := CheckReportChain(r, evs); b != nil {
				out.Broken = b
				return nil
			}
		}
		if len(rs) < f.Limit {
			return nil
		}
		f.After = rs[len(rs)-1].ID
	}
}

// CheckReportChain verifies a report's events as CheckChain does an
// errand's.
func CheckReportChain(r Report, events []ReportEvent) *Break {
	return checkLinks(len(events), func(i int) link {
		ev := &events[i]
		return link{ev.Seq, ev.PrevHash, ev.Hash, ev.ComputeHash()}
	}, r.Version, r.HeadHash, "report", func(seq int, problem string) *Break {
		return &Break{Report: true, ErrandID: r.ID, ReceiptNo: r.No, Seq: seq, Problem: problem}
	})
}

// CheckChain verifies one errand's events: numbered 1..n without gaps, each
// linked to the one before, each hash matching its content, and the last one
// matching the errand's version and head hash.
func CheckChain(e Errand, events []Event) *Break {
	return checkLinks(len(events), func(i int) link {
		ev := &events[i]
		return link{ev.Seq, ev.PrevHash, ev.Hash, ev.ComputeHash()}
	}, e.Version, e.LastHash, "errand", func(seq int, problem string) *Break {
		return &Break{ErrandID: e.ID, ReceiptNo: e.ReceiptNo, Seq: seq, Problem: problem}
	})
}

// link is what a chain check reads of one event: its number, the hash it
// links to, its own hash as stored and as recomputed from its content.
type link struct {
	seq                  int
	prev, hash, computed string
}

// checkLinks verifies the n events of a case (what names it: errand or
// report) at version with head hash head; at reads the i-th event.
func checkLinks(n int, at func(i int) link, version int, head, what string, brk func(seq int, problem string) *Break) *Break {
	prev := ""
	for i := range n {
		l := at(i)
		if l.seq != i+1 {
			return brk(i+1, "event "+itoa(i+1)+" is missing")
		}
		if l.prev != prev {
			return brk(l.seq, "does not link to the event before it")
		}
		if l.computed != l.hash {
			return brk(l.seq, "its content does not match its hash: the row was changed")
		}
		prev = l.hash
	}
	if n != version {
		return brk(n+1, "the "+what+" is at version "+itoa(version)+" but has "+itoa(n)+" events")
	}
	if prev != head {
		return brk(n, "the "+what+"'s head hash does not match its last event")
	}
	return nil
}
