package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"daiban/service"
)

// TestGroupCommit sends many concurrent writes through SQLite's group
// commit, some of which fail in different ways, and checks that every
// acknowledged write is stored, every failed one left nothing, each caller
// got its own verdict, and writes did share commits.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, _ := openScratch(t, "gc.db", `CREATE TABLE gc (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`)
	errOwn := errors.New("refused by its own rule")
	const n = 400
	results := make([]error, n)
	var wg sync.WaitGroup
	for round := 0; round < 4; round++ {
		for i := round * n / 4; i < (round+1)*n/4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = s.write(ctx, func(tx *gorm.DB) error {
					v := fmt.Sprintf("row-%d", i)
					switch i % 10 {
					case 3:
						v = "duplicate" // only the first such write can succeed
					case 5:
						// Writes, then refuses: its row must be rolled back.
						if err := tx.Exec(`INSERT INTO gc (v) VALUES (?)`, v).Error; err != nil {
							return err
						}
						return errOwn
					case 7:
						if err := tx.Exec(`INSERT INTO gc (v) VALUES (?)`, v).Error; err != nil {
							return err
						}
						panic("a bug in one write")
					}
					return tx.Exec(`INSERT INTO gc (v) VALUES (?)`, v).Error
				})
			}()
		}
		wg.Wait()
	}
	var stored []string
	if err := s.db.Raw(`SELECT v FROM gc`).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, v := range stored {
		have[v] = true
	}
	acknowledged, duplicates := 0, 0
	for i, err := range results {
		v := fmt.Sprintf("row-%d", i)
		switch i % 10 {
		case 3:
			if err == nil {
				duplicates++
			} else if !errors.Is(err, gorm.ErrDuplicatedKey) && !strings.Contains(err.Error(), "UNIQUE") {
				t.Errorf("write %d: %v, want a unique violation", i, err)
			}
		case 5:
			if !errors.Is(err, errOwn) || have[v] {
				t.Errorf("write %d: %v (row kept: %v), want its own error and no row", i, err, have[v])
			}
		case 7:
			if err == nil || !strings.Contains(err.Error(), "panic") || have[v] {
				t.Errorf("write %d: %v (row kept: %v), want the panic as its error and no row", i, err, have[v])
			}
		default:
			if err != nil || !have[v] {
				t.Errorf("write %d: %v (row kept: %v), want it acknowledged and stored", i, err, have[v])
			}
			acknowledged++
		}
	}
	if duplicates != 1 || !have["duplicate"] {
		t.Errorf("%d of the duplicate writes succeeded, want exactly 1", duplicates)
	}
	if len(stored) != acknowledged+1 {
		t.Errorf("%d rows stored, %d writes acknowledged", len(stored), acknowledged+1)
	}
	if s.writer.largest.Load() < 2 {
		t.Errorf("no commit carried more than one write: the group commit was not exercised")
	}
	if s.writer.reruns.Load() == 0 {
		t.Errorf("no batch was run again in savepoints, though writes failed beside others")
	}
	if ws, ok := s.WriterStats(); !ok || ws.Writes < int64(n) || ws.Batches >= ws.Writes || ws.Reruns != s.writer.reruns.Load() ||
		ws.Committing <= 0 || ws.Committing > ws.Busy {
		t.Errorf("writer stats after %d writes: %+v (ok %v)", n, ws, ok)
	}
	t.Logf("%d writes, %d stored, largest commit %d writes, %d batches run again", n, len(stored), s.writer.largest.Load(), s.writer.reruns.Load())
}

// TestWriterRerun drives the writer's batches one by one: a batch runs
// plainly; a failure (its own error, or a version conflict that wrote
// nothing) rolls it back and runs it again in savepoints, where the others'
// writes are kept once and the failing one leaves nothing.
func TestWriterRerun(t *testing.T) {
	ctx := context.Background()
	s, _ := openScratch(t, "rerun.db", `CREATE TABLE gc (v TEXT NOT NULL UNIQUE, version INTEGER NOT NULL DEFAULT 1)`)
	// Not started: the test runs its batches itself.
	w := &writer{begin: func(ctx context.Context) *gorm.DB { return s.wdb.WithContext(ctx).Begin() }, max: 8}
	errOwn := errors.New("refused by its own rule")
	calls := map[string]int{}
	insert := func(v string, fail bool) *job {
		return &job{ctx: ctx, err: make(chan error, 1), fn: func(tx *gorm.DB) error {
			calls[v]++
			if err := tx.Exec(`INSERT INTO gc (v) VALUES (?)`, v).Error; err != nil {
				return err
			}
			if fail {
				return errOwn
			}
			return nil
		}}
	}
	// bump moves a row from version 1 to 2, as a transition does; a second
	// bump at version 1 is a conflict.
	bump := func(v string) *job {
		return &job{ctx: ctx, err: make(chan error, 1), fn: func(tx *gorm.DB) error {
			calls["bump "+v]++
			res := tx.Exec(`UPDATE gc SET version = 2 WHERE v = ? AND version = 1`, v)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return service.VersionConflict(2)
			}
			return nil
		}}
	}
	run := func(jobs ...*job) []error { return w.commit(jobs) }
	check := func(step string, errs []error, want []error, reruns int64) {
		t.Helper()
		for i := range want {
			if !errors.Is(errs[i], want[i]) || (want[i] == nil) != (errs[i] == nil) {
				t.Errorf("%s: write %d: %v, want %v", step, i, errs[i], want[i])
			}
		}
		if w.reruns.Load() != reruns {
			t.Errorf("%s: %d reruns; want %d", step, w.reruns.Load(), reruns)
		}
	}

	check("clean batch", run(insert("a", false), insert("b", false), insert("c", false)), []error{nil, nil, nil}, 0)
	check("failing batch", run(insert("d", false), insert("e", true), insert("f", false)), []error{nil, errOwn, nil}, 1)
	check("clean again", run(insert("g", false), insert("h", false)), []error{nil, nil}, 1)
	check("rival transitions", run(insert("i", false), bump("a"), bump("a"), insert("j", false)),
		[]error{nil, nil, service.ErrVersionConflict, nil}, 2)
	check("single write", run(insert("k", true)), []error{errOwn}, 2)

	var stored []string
	if err := s.db.Raw(`SELECT v || version FROM gc ORDER BY v`).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(stored, " "), "a2 b1 c1 d1 f1 g1 h1 i1 j1"; got != want {
		t.Errorf("stored %q, want %q", got, want)
	}
	for v, want := range map[string]int{"a": 1, "d": 2, "e": 2, "g": 1, "i": 2, "bump a": 4, "k": 1} {
		if calls[v] != want {
			t.Errorf("write %s ran %d times, want %d", v, calls[v], want)
		}
	}
}

// openScratch opens a SQLite store in a temporary directory with one extra
// table made by create, closed when the test ends; it returns the store and
// the database file's path.
func openScratch(tb testing.TB, name, create string) (*Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	s, err := Open(context.Background(), path, Options{SecretKey: []byte("test-secret-key-of-at-least-32-bytes!!")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.db.Exec(create).Error; err != nil {
		tb.Fatal(err)
	}
	return s, path
}

// ObserveCommits sees every commit of the writer once, with its time and
// the writes it made durable; together they are the writer's totals.
func TestObserveCommits(t *testing.T) {
	ctx := context.Background()
	s, _ := openScratch(t, "observe.db", `CREATE TABLE ob (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`)
	var mu sync.Mutex
	var commits, durable int
	var took time.Duration
	before, _ := s.WriterStats()
	s.ObserveCommits(func(d time.Duration, writes int) {
		mu.Lock()
		defer mu.Unlock()
		if d <= 0 || writes < 1 {
			t.Errorf("a commit of %v carrying %d writes", d, writes)
		}
		commits++
		durable += writes
		took += d
	})
	// Ten values come twice: one of each pair fails beside its batch-mates.
	const n = 200
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		wg.Go(func() {
			err := s.write(ctx, func(tx *gorm.DB) error {
				return tx.Exec(`INSERT INTO ob (v) VALUES (?)`, fmt.Sprint("v", i%(n-10))).Error
			})
			if err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 10 {
		t.Errorf("%d writes failed, want the 10 repeated values", failed.Load())
	}
	after, _ := s.WriterStats()
	var stored int
	if err := s.db.Raw(`SELECT count(*) FROM ob`).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if durable != stored || stored != n-10 {
		t.Errorf("commits made %d writes durable, %d rows stored, want %d", durable, stored, n-10)
	}
	if batches := int(after.Batches - before.Batches); commits == 0 || commits > batches {
		t.Errorf("%d commits observed in %d batches", commits, batches)
	}
	if d := after.Committing - before.Committing; took != d {
		t.Errorf("observed commits took %v, the writer counted %v", took, d)
	}
}
