package service

import (
	"context"
	"errors"
	"testing"
)

// blockingLedger is a store whose ledger check waits until released.
type blockingLedger struct {
	ErrandStore
	entered, release chan struct{}
}

func (b blockingLedger) VerifyLedger(ctx context.Context, _ string, fn func(Errand, []Event) error) (int, error) {
	b.entered <- struct{}{}
	<-b.release
	return 0, nil
}

// TestOneLedgerCheckAtATime: while a ledger check runs, another is refused
// with 429 ledger_check_running and a Retry-After; once it ends, the next
// one runs.
func TestOneLedgerCheckAtATime(t *testing.T) {
	st := blockingLedger{entered: make(chan struct{}), release: make(chan struct{})}
	s := New(Stores{Errands: st}, Options{})
	sup := Actor{Role: RoleSupervisor}
	done := make(chan error)
	go func() {
		_, err := s.VerifyLedger(context.Background(), sup)
		done <- err
	}()
	<-st.entered
	_, err := s.VerifyLedger(context.Background(), sup)
	var se *Error
	if !errors.As(err, &se) || se.Kind != KindTooMany || se.Code != "ledger_check_running" || se.RetryAfter <= 0 {
		t.Fatalf("a second check while one runs: %v", err)
	}
	close(st.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	go func() { <-st.entered }()
	if _, err := s.VerifyLedger(context.Background(), sup); err != nil {
		t.Fatalf("a check after the first ended: %v", err)
	}
}

// ledgerStores is a directory of two villages under one township and an
// errand store whose ledger holds one errand from each village.
type ledgerStores struct {
	DirectoryStore
	ErrandStore
	orgs map[string]Org
	rows int // how many copies of the two errands the ledger returns
	got  [2]Date
}

func (l *ledgerStores) Org(_ context.Context, id string) (Org, error) {
	if o, ok := l.orgs[id]; ok {
		return o, nil
	}
	return Org{}, NotFound("org")
}

func (l *ledgerStores) Ledger(_ context.Context, _ string, from, to Date, limit int) ([]Errand, error) {
	l.got = [2]Date{from, to}
	var out []Errand
	for range max(l.rows, 1) {
		out = append(out, Errand{IntakeOrgID: "v1", Applicant: Applicant{Name: "张三丰"}}, Errand{IntakeOrgID: "v2", Applicant: Applicant{Name: "李四"}})
	}
	return out[:min(len(out), limit)], nil
}

func newLedgerService() (*Service, *ledgerStores) {
	st := &ledgerStores{orgs: map[string]Org{
		"c":  {ID: "c", Path: "/c/", Level: LevelCity},
		"t":  {ID: "t", Path: "/c/t/", Level: LevelTownship},
		"v1": {ID: "v1", Path: "/c/t/v1/", Level: LevelVillage},
		"v2": {ID: "v2", Path: "/c/t/v2/", Level: LevelVillage},
	}}
	return New(Stores{Directory: st, Errands: st}, Options{}), st
}

// TestLedgerFullNamesOnTheVillageStub: the staff of the village where an
// errand was registered read the applicant's full name in the ledger, as
// on the stub they keep; the township, the city and the supervisors read
// it masked, and a village reads another village's errands masked.
func TestLedgerFullNamesOnTheVillageStub(t *testing.T) {
	s, _ := newLedgerService()
	for _, tc := range []struct {
		name  string
		actor Actor
		org   string
		want  []string
	}{
		{"agent of the intake village", Actor{Role: RoleAgent, OrgID: "v1", OrgPath: "/c/t/v1/", OrgLevel: LevelVillage}, "v1", []string{"张三丰", "李*"}},
		{"agent of the other village", Actor{Role: RoleAgent, OrgID: "v2", OrgPath: "/c/t/v2/", OrgLevel: LevelVillage}, "v2", []string{"张*丰", "李四"}},
		{"township officer", Actor{Role: RoleTownshipOfficer, OrgID: "t", OrgPath: "/c/t/", OrgLevel: LevelTownship}, "t", []string{"张*丰", "李*"}},
		{"city officer", Actor{Role: RoleCityOfficer, OrgID: "c", OrgPath: "/c/", OrgLevel: LevelCity}, "c", []string{"张*丰", "李*"}},
		{"supervisor", Actor{Role: RoleSupervisor, OrgID: "c", OrgPath: "/c/", OrgLevel: LevelCity}, "v1", []string{"张*丰", "李*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := s.Ledger(context.Background(), tc.actor, LedgerQuery{OrgID: tc.org, Month: "2026-03"})
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tc.want {
				if got := l.Errands[i].Applicant.Name; got != w {
					t.Errorf("row %d: got %q, want %q", i, got, w)
				}
			}
		})
	}
}

// TestLedgerRange: a month or a from..to range across months; a range
// longer than a year, a reversed one, a half one or a bad date is a 400
// naming the field; more than MaxLedgerRows rows is refused, not cut.
func TestLedgerRange(t *testing.T) {
	s, st := newLedgerService()
	sup := Actor{Role: RoleSupervisor, OrgID: "c", OrgPath: "/c/", OrgLevel: LevelCity}
	l, err := s.Ledger(context.Background(), sup, LedgerQuery{OrgID: "t", From: "2026-01-15", To: "2026-03-10", Month: "2025-01"})
	if err != nil {
		t.Fatal(err)
	}
	if l.From != MakeDate(2026, 1, 15) || l.To != MakeDate(2026, 3, 10) || st.got != [2]Date{l.From, l.To} || l.Month != "" {
		t.Errorf("range: got %v..%v (store %v), month %q", l.From, l.To, st.got, l.Month)
	}
	l, err = s.Ledger(context.Background(), sup, LedgerQuery{OrgID: "t", Month: "2024-02"})
	if err != nil || l.From != MakeDate(2024, 2, 1) || l.To != MakeDate(2024, 2, 29) || l.Month != "2024-02" {
		t.Errorf("month: got %v..%v %q, %v", l.From, l.To, l.Month, err)
	}
	for _, tc := range []struct {
		q     LedgerQuery
		field string
	}{
		{LedgerQuery{OrgID: "t"}, "month"},
		{LedgerQuery{OrgID: "t", Month: "2026-13"}, "month"},
		{LedgerQuery{OrgID: "t", From: "2026-01-01"}, "to"},
		{LedgerQuery{OrgID: "t", To: "2026-01-01"}, "from"},
		{LedgerQuery{OrgID: "t", From: "2026-02-30", To: "2026-03-01"}, "from"},
		{LedgerQuery{OrgID: "t", From: "2026-03-01", To: "2026/03/02"}, "to"},
		{LedgerQuery{OrgID: "t", From: "2026-03-02", To: "2026-03-01"}, "from"},
		{LedgerQuery{OrgID: "t", From: "2025-01-01", To: "2026-01-02"}, "to"}, // 367 days; 366 is the most
	} {
		_, err := s.Ledger(context.Background(), sup, tc.q)
		var se *Error
		if !errors.As(err, &se) || se.Kind != KindBadRequest || len(se.Fields) != 1 || se.Fields[0].Field != tc.field {
			t.Errorf("%+v: got %v, want a bad %s", tc.q, err, tc.field)
		}
	}
	if _, err := s.Ledger(context.Background(), sup, LedgerQuery{OrgID: "t", From: "2024-01-01", To: "2024-12-31"}); err != nil {
		t.Errorf("a leap year of 366 days: %v", err)
	}
	st.rows = MaxLedgerRows/2 + 1
	_, err = s.Ledger(context.Background(), sup, LedgerQuery{OrgID: "t", Month: "2026-03"})
	var se *Error
	if !errors.As(err, &se) || se.Kind != KindBadRequest || se.Fields[0].Field != "to" {
		t.Errorf("more than MaxLedgerRows: got %v, want a bad to", err)
	}
}
