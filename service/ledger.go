package service

import (
	"context"
	"errors"
	"time"
)

// Ledger is the registration ledger (登记台账) of a service point for one
// month: every errand registered there, in registration order.
type Ledger struct {
	Org     Org
	Month   string // YYYY-MM
	Errands []Errand
}

// MaxLedgerRows bounds one ledger; a township's busiest month is far below it.
const MaxLedgerRows = 50_000

// Ledger returns an organisation's registration ledger for month (YYYY-MM).
func (s *Service) Ledger(ctx context.Context, a Actor, orgID, month string) (Ledger, error) {
	if !a.Role.Staff() {
		return Ledger{}, ErrForbidden
	}
	t, err := time.Parse("2006-01", month)
	if err != nil || t.Year() < 2000 || t.Year() > 2100 {
		return Ledger{}, BadParam("month", "a month of the form YYYY-MM")
	}
	org, err := s.scopedOrg(ctx, a, orgID)
	if err != nil {
		return Ledger{}, err
	}
	from := MakeDate(t.Year(), t.Month(), 1)
	to := MakeDate(t.Year(), t.Month()+1, 0)
	list, err := s.errands.Ledger(ctx, org.Path, from, to)
	if err != nil {
		return Ledger{}, err
	}
	return Ledger{Org: org, Month: month, Errands: list}, nil
}

// Break is the first broken link found in an errand's event chain.
type Break struct {
	ErrandID  string
	ReceiptNo string
	Seq       int
	Problem   string
}

// LedgerCheck is the result of recomputing every event chain.
type LedgerCheck struct {
	Errands int
	Events  int
	Broken  *Break
}

// VerifyLedger recomputes every errand's hash chain and reports the first
// broken link (admin and supervisor only; the command line calls Verify).
func (s *Service) VerifyLedger(ctx context.Context, a Actor) (LedgerCheck, error) {
	if a.Role != RoleAdmin && a.Role != RoleSupervisor {
		return LedgerCheck{}, ErrForbidden
	}
	// A check reads every event (seconds on a large ledger): one at a time,
	// so a few at once cannot take the CPU and the database from the rest.
	if !s.checks.TryAcquire(1) {
		return LedgerCheck{}, TooMany("ledger_check_running", "a ledger check is already running; it checks everything, so wait for it and try again", 10*time.Second)
	}
	defer s.checks.Release(1)
	return s.Verify(ctx, nil)
}

// Verify recomputes every chain without an actor. progress, if not nil,
// hears how many errands are checked of how many, every tenth of them.
func (s *Service) Verify(ctx context.Context, progress func(checked, all int)) (LedgerCheck, error) {
	var out LedgerCheck
	all := 0
	if progress != nil {
		n, err := s.errands.CountErrands(ctx, ErrandFilter{})
		if err != nil {
			return LedgerCheck{}, err
		}
		all = int(n)
	}
	errStop := errors.New("stop at the first break")
	checked, tenth := 0, 0
	n, err := s.errands.VerifyLedger(ctx, func(e Errand, events []Event) error {
		checked++
		if t := checked * 10 / max(all, 1); progress != nil && (t > tenth || checked == all) {
			tenth = t
			progress(checked, all)
		}
		out.Events += len(events)
		if b := CheckChain(e, events); b != nil {
			out.Broken = b
			return errStop
		}
		return nil
	})
	out.Errands = n
	if err != nil && err != errStop {
		return LedgerCheck{}, err
	}
	return out, nil
}

// CheckChain verifies one errand's events: numbered 1..n without gaps, each
// linked to the one before, each hash matching its content, and the last one
// matching the errand's version and head hash.
func CheckChain(e Errand, events []Event) *Break {
	prev := ""
	brk := func(seq int, problem string) *Break {
		return &Break{ErrandID: e.ID, ReceiptNo: e.ReceiptNo, Seq: seq, Problem: problem}
	}
	for i, ev := range events {
		if ev.Seq != i+1 {
			return brk(i+1, "event "+itoa(i+1)+" is missing")
		}
		if ev.PrevHash != prev {
			return brk(ev.Seq, "does not link to the event before it")
		}
		if ev.ComputeHash() != ev.Hash {
			return brk(ev.Seq, "its content does not match its hash: the row was changed")
		}
		prev = ev.Hash
	}
	if len(events) != e.Version {
		return brk(len(events)+1, "the errand is at version "+itoa(e.Version)+" but has "+itoa(len(events))+" events")
	}
	if prev != e.LastHash {
		return brk(len(events), "the errand's head hash does not match its last event")
	}
	return nil
}
