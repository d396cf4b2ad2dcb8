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

func (b blockingLedger) VerifyLedger(ctx context.Context, fn func(Errand, []Event) error) (int, error) {
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
