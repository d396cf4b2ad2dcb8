package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// writer is SQLite's group commit. SQLite has one writer at a time and every
// durable commit costs a disk sync, so writes queue here and whatever queued
// while the previous commit synced goes into the next transaction together.
// A write is acknowledged only after its commit.
//
// A batch first runs plainly, one write after another. If a write fails, the
// transaction is rolled back and the batch runs again with each write in its
// own savepoint, so one failure never fails the others; the batches after it
// keep the savepoints until one passes without a failure. Savepoints make
// SQLite copy every page a write touches into a sub-journal, which costs a
// fifth of the writer's time when every write succeeds, as nearly all do.
type writer struct {
	begin func(context.Context) (*sql.Tx, *gorm.DB, error)
	stmt  func(context.Context, string) (*sql.Stmt, error)
	max   int
	jobs  chan *job

	mu     sync.RWMutex // guards closed against sends on a closed channel
	closed bool
	done   chan struct{}

	careful bool // the last batch had a failing write: use savepoints

	thread   atomic.Int64 // the writer's OS thread id
	priority chan error   // whether raising the thread's priority worked, once

	lastBatch  atomic.Int64 // when the last batch began, Unix nanoseconds
	largest    atomic.Int64 // the most jobs one commit has carried
	reruns     atomic.Int64 // batches run again in savepoints after a failure
	batches    atomic.Int64 // batches committed or rolled back
	writes     atomic.Int64 // writes those batches carried
	busy       atomic.Int64 // nanoseconds spent on batches, from begin to answers
	committing atomic.Int64 // nanoseconds of those spent in COMMIT, its sync included

	observe atomic.Pointer[func(took time.Duration, writes int)] // see ObserveCommits
}

type job struct {
	ctx  context.Context
	fn   func(tx *gorm.DB) error
	bare func() error // instead of fn: run between transactions, none open
	err  chan error
}

// errClosed answers writes that arrive after shutdown began.
var errClosed = errors.New("store is closing")

// errUnwritten marks the failure of a write that changed nothing (it was
// refused by its first statement, which wrote no row): its batch goes on
// without it, with nothing to roll back or run again.
var errUnwritten = errors.New("refused before writing")

func newWriter(begin func(context.Context) (*sql.Tx, *gorm.DB, error), stmt func(context.Context, string) (*sql.Stmt, error), max int) *writer {
	w := &writer{begin: begin, stmt: stmt, max: max, jobs: make(chan *job, 4*max), done: make(chan struct{}), priority: make(chan error, 1)}
	go w.run()
	return w
}

func (w *writer) do(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return w.send(&job{ctx: ctx, fn: fn, err: make(chan error, 1)})
}

// paused runs fn while the writer waits between two transactions.
func (w *writer) paused(ctx context.Context, fn func() error) error {
	return w.send(&job{ctx: ctx, bare: fn, err: make(chan error, 1)})
}

func (w *writer) send(j *job) error {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case w.jobs <- j:
	case <-j.ctx.Done():
		w.mu.RUnlock()
		return j.ctx.Err()
	}
	w.mu.RUnlock()
	// Once queued, wait for the verdict: the write may commit even if the
	// caller gave up, and a caller must not report a failure that did not happen.
	return <-j.err
}

func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.jobs)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *writer) run() {
	// One thread runs every statement of the writer: it measured 5–30%
	// faster than letting the goroutine move between threads, and it can
	// be given a higher priority than the request handlers (11–15% more
	// registrations under load, see priority_linux.go).
	runtime.LockOSThread()
	tid, err := raisePriority()
	w.thread.Store(int64(tid))
	w.priority <- err
	defer close(w.done)
	batch := make([]*job, 0, w.max)
	var bare *job
	for j := range w.jobs {
		if j.bare != nil {
			j.err <- j.bare()
			continue
		}
		batch = append(batch[:0], j)
	fill:
		for len(batch) < w.max {
			select {
			case j, ok := <-w.jobs:
				if !ok {
					break fill
				}
				if j.bare != nil {
					bare = j
					break fill
				}
				batch = append(batch, j)
			default:
				break fill
			}
		}
		began := time.Now()
		w.lastBatch.Store(began.UnixNano())
		if n := int64(len(batch)); n > w.largest.Load() {
			w.largest.Store(n)
		}
		w.commit(batch)
		w.batches.Add(1)
		w.writes.Add(int64(len(batch)))
		w.busy.Add(int64(time.Since(began)))
		if bare != nil {
			bare.err <- bare.bare()
			bare = nil
		}
	}
}

func (w *writer) commit(batch []*job) {
	results := make([]error, len(batch))
	defer func() {
		for i, j := range batch {
			j.err <- results[i]
		}
	}()
	if !w.careful || len(batch) == 1 {
		if w.plain(batch, results) {
			return
		}
		w.reruns.Add(1)
		clear(results)
	}
	w.careful = !w.inSavepoints(batch, results)
}

// plain runs the batch without savepoints and commits it. It reports false,
// having rolled everything back, when a write failed and the batch must run
// again in savepoints; a single write needs no second run.
func (w *writer) plain(batch []*job, results []error) bool {
	raw, tx, err := w.begin(context.Background())
	if err != nil {
		fill(results, err)
		return true
	}
	ok := 0
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err // not run, so nothing to undo
			continue
		}
		if results[i] = call(j.fn, tx); results[i] != nil {
			if errors.Is(results[i], errUnwritten) {
				continue
			}
			raw.Rollback()
			return len(batch) == 1
		}
		ok++
	}
	w.finish(raw, ok, results)
	return true
}

// inSavepoints runs each write of the batch in its own savepoint and commits
// those that succeeded. It reports whether every write that ran succeeded.
func (w *writer) inSavepoints(batch []*job, results []error) bool {
	raw, tx, err := w.begin(context.Background())
	if err != nil {
		fill(results, err)
		return true
	}
	ok, failed := 0, false
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if results[i] = w.inSavepoint(raw, tx, j.fn); results[i] != nil {
			failed = true
		} else {
			ok++
		}
	}
	w.finish(raw, ok, results)
	return !failed
}

// finish commits the transaction if any write in it succeeded.
func (w *writer) finish(raw *sql.Tx, ok int, results []error) {
	if ok == 0 {
		raw.Rollback()
		return
	}
	began := time.Now()
	err := raw.Commit()
	took := time.Since(began)
	w.committing.Add(int64(took))
	if f := w.observe.Load(); f != nil && err == nil {
		(*f)(took, ok)
	}
	if err != nil {
		for i := range results {
			if results[i] == nil {
				results[i] = fmt.Errorf("commit: %w", err)
			}
		}
	}
}

func fill(results []error, err error) {
	for i := range results {
		results[i] = err
	}
}

func (w *writer) inSavepoint(raw *sql.Tx, tx *gorm.DB, fn func(*gorm.DB) error) error {
	if err := w.run1(raw, "SAVEPOINT w"); err != nil {
		return err
	}
	err := call(fn, tx)
	if err != nil {
		if rerr := w.run1(raw, "ROLLBACK TO w"); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	if rerr := w.run1(raw, "RELEASE w"); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// run1 runs one of the savepoint statements, prepared once per connection.
func (w *writer) run1(raw *sql.Tx, query string) error {
	st, err := w.stmt(context.Background(), query)
	if err != nil {
		return err
	}
	_, err = raw.Stmt(st).Exec()
	return err
}

// call runs fn, turning a panic into that job's error so its batch survives.
func call(fn func(*gorm.DB) error, tx *gorm.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in write: %v", r)
		}
	}()
	return fn(tx)
}

// WriterStats are the SQLite writer's running totals since the store opened:
// rates of them give the batch size, the time per batch and how much of it
// the commit and its sync take.
type WriterStats struct {
	Batches, Writes int64
	Largest         int64 // the most writes one batch has carried
	Reruns          int64 // batches run again in savepoints after a failure
	Busy            time.Duration
	Committing      time.Duration // of Busy, in COMMIT and its sync
	WALRestarts     int64         // checkpoints that made the writer wait to start the WAL over
}

// ObserveCommits has fn called with the time of every successful COMMIT of
// the SQLite writer (its sync included) and the writes it made durable, on
// the writer's thread right after the commit: fn must not block. The totals
// of WriterStats hide the tail, the commits that meet a checkpoint's sync or
// a stall of the disk. It does nothing on PostgreSQL.
func (s *Store) ObserveCommits(fn func(took time.Duration, writes int)) {
	if s.writer != nil {
		s.writer.observe.Store(&fn)
	}
}

// WriterStats reports the group commit's totals; ok is false on PostgreSQL,
// which has no writer of its own.
func (s *Store) WriterStats() (st WriterStats, ok bool) {
	w := s.writer
	if w == nil {
		return WriterStats{}, false
	}
	return WriterStats{
		Batches: w.batches.Load(), Writes: w.writes.Load(), Largest: w.largest.Load(), Reruns: w.reruns.Load(),
		Busy: time.Duration(w.busy.Load()), Committing: time.Duration(w.committing.Load()),
		WALRestarts: s.checkpointer.restarts.Load(),
	}, true
}
