// Package service is daiban's domain: organisations, users, the catalogue,
// the errand lifecycle, deadlines, receipt numbers and the statistics. It
// knows no HTTP and no SQL; the store it is given persists its types.
package service

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/semaphore"
)

// The service persists its aggregates through four stores, each a small
// interface kept here beside its user. Not-found errors are ErrNotFound,
// unique violations are Duplicate errors, a lost idempotency race is
// ErrIdemTaken, a transition over a moved row is VersionConflict.

// AccountStore keeps users, their sessions and the failure counters of the
// sign-in and lookup throttles.
type AccountStore interface {
	// CreateUser inserts u and the event that records who created it.
	CreateUser(ctx context.Context, u User, ev AccountEvent) error
	// UpdateUser loads the user in a transaction, lets fn change it and
	// name the event to record, saves both, and ends every session of the
	// user except the one whose token hash is keep (nil ends them all).
	UpdateUser(ctx context.Context, id string, fn func(*User) (AccountEvent, error), keep []byte) (User, error)
	// AccountEvents lists what was done to a user's account, newest first.
	AccountEvents(ctx context.Context, userID string, limit int) ([]AccountEvent, error)
	User(ctx context.Context, id string) (User, error)
	UserByUsername(ctx context.Context, username string) (User, error)
	Users(ctx context.Context, f UserFilter) ([]User, error)
	CreateSession(ctx context.Context, s Session) error
	ActorBySession(ctx context.Context, tokenHash []byte, now time.Time) (Actor, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// ClaimAttempt counts one attempt for key unless max already fell in
	// the window that opened after since; refused, it reports when that
	// window opened. Concurrent claims on any instance never pass max.
	ClaimAttempt(ctx context.Context, kind ThrottleKind, key string, max int, now, since time.Time) (claimed bool, windowStart time.Time, err error)
	// ReleaseAttempt gives back one claimed attempt that proved good.
	ReleaseAttempt(ctx context.Context, kind ThrottleKind, key string) error
	// ClearAttempts forgets every attempt counted for key.
	ClearAttempts(ctx context.Context, kind ThrottleKind, key string) error
	// Failures reads key's count and when its window opened.
	Failures(ctx context.Context, kind ThrottleKind, key string) (n int, windowStart time.Time, err error)
}

// DirectoryStore keeps the organisation tree, the catalogue and the
// working-day calendar, with the version counters that let every instance
// cache the last two.
type DirectoryStore interface {
	CreateOrg(ctx context.Context, o Org) error
	Org(ctx context.Context, id string) (Org, error)
	Orgs(ctx context.Context, f OrgFilter) ([]Org, error)

	CreateCategory(ctx context.Context, c Category) error
	Categories(ctx context.Context) ([]Category, error)
	CreateItem(ctx context.Context, it Item) error
	Item(ctx context.Context, code string) (Item, error)
	Items(ctx context.Context, f ItemFilter) ([]Item, error)
	// UpdateItem loads the item in a transaction, lets fn change it and
	// saves it; an error from fn leaves the item as it was.
	UpdateItem(ctx context.Context, code string, fn func(*Item) error) (Item, error)

	Versions(ctx context.Context) (Versions, error)
	CalendarYears(ctx context.Context) ([]CalendarYear, error)
	CalendarYear(ctx context.Context, year int) (CalendarYear, error)
	PutCalendarYear(ctx context.Context, y CalendarYear) error
}

// ErrandStore keeps errands with their event ledger and idempotency keys.
type ErrandStore interface {
	ReserveReceiptBlock(ctx context.Context, n int64) (first int64, err error)
	// CreateErrand saves a registration with its first event and notices.
	CreateErrand(ctx context.Context, e Errand, ev Event, ns []Notice, idem *IdemKey) error
	// UpdateErrand loads the errand in a transaction, lets fn change it and
	// name the event to append and its notices, and saves them all, failing
	// with a version conflict if the row moved meanwhile.
	UpdateErrand(ctx context.Context, id string, fn func(*Errand) (Event, []Notice, error), idem *IdemKey) error
	Errand(ctx context.Context, id string) (Errand, error)
	LookupReceipt(ctx context.Context, receiptNo string) (ReceiptLookup, error)
	Errands(ctx context.Context, f ErrandFilter) ([]Errand, error)
	CountErrands(ctx context.Context, f ErrandFilter) (int64, error)
	Events(ctx context.Context, errandID string) ([]Event, error)
	Idempotent(ctx context.Context, key string) (IdemRecord, error)
	DeleteIdempotentBefore(ctx context.Context, t time.Time) (int64, error)
	Ledger(ctx context.Context, orgPath string, from, to Date, limit int) ([]Errand, error)
	// VerifyLedger hands fn every errand registered under a subtree path
	// ("" for all) with its events, until fn fails.
	VerifyLedger(ctx context.Context, under string, fn func(e Errand, events []Event) error) (checked int, err error)
}

// StatsStore sums the statistics of section 3 of the design.
type StatsStore interface {
	Stats(ctx context.Context, q StatsQuery) ([]StatsRow, error)
	OverdueOpen(ctx context.Context, q StatsQuery) ([]StatsRow, error)
}

// Stores are what a Service persists through; one store may serve all five.
type Stores struct {
	Accounts  AccountStore
	Directory DirectoryStore
	Errands   ErrandStore
	Stats     StatsStore
	Notify    NotifyStore
	Reports   ReportStore
}

// ThrottleKind names a table of attempt counters kept in the database.
type ThrottleKind string

const (
	ThrottleLogin  ThrottleKind = "login"  // sign-in attempts per account and per client
	ThrottleLookup ThrottleKind = "lookup" // wrong codes per receipt and client, and per client
)

// budget is at most max attempts per window, counted in the database.
type budget struct {
	max    int
	window time.Duration
}

// claim takes one attempt from key's budget before the attempt is checked,
// or refuses it with code until the window ends.
func (s *Service) claim(ctx context.Context, kind ThrottleKind, key string, b budget, now time.Time, code, detail string) error {
	ok, start, err := s.accounts.ClaimAttempt(ctx, kind, key, b.max, now, now.Add(-b.window))
	if err != nil {
		return err
	}
	if !ok {
		wait := max(start.Add(b.window).Sub(now), time.Second)
		return TooMany(code, detail+"; try again in "+minutes(wait), wait)
	}
	return nil
}

// minutes says how long d is in whole minutes, rounded up.
func minutes(d time.Duration) string {
	n := int((d + time.Minute - 1) / time.Minute)
	if n == 1 {
		return "1 minute"
	}
	return itoa(n) + " minutes"
}

// spent refuses with code, without writing anything, if key has used up
// its budget in the current window.
func (s *Service) spent(ctx context.Context, kind ThrottleKind, key string, b budget, now time.Time, code, detail string) error {
	n, start, err := s.accounts.Failures(ctx, kind, key)
	if err != nil {
		return err
	}
	if until := start.Add(b.window); n >= b.max && until.After(now) {
		return TooMany(code, detail, max(until.Sub(now), time.Second))
	}
	return nil
}

// clientKey is the address a client's budget is kept under: an IPv6 client
// by its /64, which one subscriber usually holds whole.
func clientKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	if a = a.Unmap(); a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.String()
	}
	return a.String()
}

// ErrIdemTaken reports that a concurrent request stored the same
// idempotency key first.
var ErrIdemTaken = errors.New("idempotency key taken by a concurrent request")

func isIdemTaken(err error) bool { return errors.Is(err, ErrIdemTaken) }

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Options tune a Service; the zero value of each field takes its default.
type Options struct {
	Now          func() time.Time // the clock; time.Now by default
	PasswordCost int              // bcrypt cost; bcrypt.DefaultCost by default
	SessionTTL   time.Duration    // bearer token lifetime; 12 h by default
	ReceiptBlock int64            // receipt numbers reserved per trip to the database
	Reports      int              // reports by village, agent, item or category computed at once; the CPU count by default
	Logins       int              // password checks run at once; half the CPUs (at least one) by default
	PublicURL    string           // the base of the status link in an SMS ("https://…"); none by default
	LoopbackHTTP bool             // webhook endpoints may be http:// on a loopback address
	Notified     func()           // called after a step that queued deliveries commits (to wake the dispatcher)
	SMSMaxChars  int              // the longest text the SMS gateway takes; 500 by default
}

// Service carries out the domain's operations for an actor.
type Service struct {
	accounts     AccountStore
	directory    DirectoryStore
	errands      ErrandStore
	stats        StatsStore
	notify       NotifyStore
	reportStore  ReportStore
	clock        func() time.Time
	passwordCost int
	sessionTTL   time.Duration
	receipts     *receiptAllocator

	orgCache  sync.Map // id → Org; organisations never change once created
	userCache sync.Map // id → User without its password hash, for names and phones

	calMu      sync.Mutex
	cal        *Calendar
	calVersion int64
	items      itemCache // the catalogue as read at one version

	reports *semaphore.Weighted // turns for the many-cell reports
	logins  *semaphore.Weighted // turns for bcrypt, so a flood of sign-ins leaves CPU for the rest
	checks  *semaphore.Weighted // one ledger check at a time

	publicURL     string
	loopbackHooks bool
	notified      func()
	smsMax        int
	smsMu         sync.Mutex
	smsTpl        string    // the completion template as last read
	smsRead       time.Time // when

	dummyHash func() []byte
}

// New returns a Service over st.
func New(st Stores, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PasswordCost == 0 {
		o.PasswordCost = bcrypt.DefaultCost
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.ReceiptBlock == 0 {
		o.ReceiptBlock = 100
	}
	if o.Reports == 0 {
		o.Reports = runtime.NumCPU()
	}
	if o.SMSMaxChars == 0 {
		o.SMSMaxChars = 500
	}
	if o.Logins == 0 {
		o.Logins = max(1, runtime.NumCPU()/2)
	}
	s := &Service{
		accounts: st.Accounts, directory: st.Directory, errands: st.Errands, stats: st.Stats, notify: st.Notify, reportStore: st.Reports,
		publicURL: o.PublicURL, loopbackHooks: o.LoopbackHTTP, notified: o.Notified, smsMax: o.SMSMaxChars,
		clock: o.Now, passwordCost: o.PasswordCost, sessionTTL: o.SessionTTL,
		receipts: &receiptAllocator{store: st.Errands, block: o.ReceiptBlock},
		reports:  semaphore.NewWeighted(int64(o.Reports)),
		logins:   semaphore.NewWeighted(int64(o.Logins)),
		checks:   semaphore.NewWeighted(1),
	}
	s.dummyHash = sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("daiban-no-such-user"), s.passwordCost)
		return h
	})
	return s
}

// now is the injected clock, truncated to what every database keeps.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// Now exposes the service clock to the HTTP layer (Retry-After, headers).
func (s *Service) Now() time.Time { return s.now() }

func (s *Service) newID() string { return uuid.Must(uuid.NewV7()).String() }

// receiptAllocator hands out receipt sequence numbers from blocks reserved
// in the database, so instances never share a number and a registration
// does not queue on one counter row. The next block is reserved while half
// of the current one is left, so registrations rarely wait for it. A crash
// leaves a gap, never a repeat.
type receiptAllocator struct {
	store ErrandStore
	block int64

	mu    sync.Mutex
	cur   int64
	end   int64
	ahead chan reservedBlock // the next block, on its way
}

type reservedBlock struct {
	first int64
	err   error
}

func (r *receiptAllocator) next(ctx context.Context) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == r.end {
		if r.ahead == nil {
			r.ahead = r.reserve()
		}
		var b reservedBlock
		select {
		case b = <-r.ahead:
		case <-ctx.Done():
			return 0, ctx.Err() // the reservation goes on for the next caller
		}
		r.ahead = nil
		if b.err != nil {
			return 0, b.err
		}
		r.cur, r.end = b.first, b.first+r.block
	}
	n := r.cur
	r.cur++
	if r.ahead == nil && r.end-r.cur <= r.block/2 {
		r.ahead = r.reserve()
	}
	return n, nil
}

// reserve asks the database for a block in the background.
func (r *receiptAllocator) reserve() chan reservedBlock {
	ch := make(chan reservedBlock, 1)
	go func() {
		first, err := r.store.ReserveReceiptBlock(context.Background(), r.block)
		ch <- reservedBlock{first, err}
	}()
	return ch
}

const (
	defaultLimit = 50
	maxLimit     = 500
)

func clampLimit(n int) int {
	if n <= 0 {
		return defaultLimit
	}
	return min(n, maxLimit)
}

func itoa(n int) string { return strconv.Itoa(n) }
