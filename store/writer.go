package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// writer is SQLite's group commit. SQLite has one writer at a time and every
// durable commit costs a disk sync, so writes queue here, and whatever queued
// while one commit synced goes into the next transaction together.
//
// Its invariants, which TestGroupCommit and TestWriterRerun check:
//   - a write is acknowledged (its call returns nil) only after the COMMIT
//     that made it durable, and then it is in the database;
//   - a write that fails (an error, a panic, a version conflict, a lost
//     idempotency race) leaves nothing behind and fails only itself: the
//     others of its batch commit without it.
//
// A batch first runs plainly, one write after another. If a write fails, the
// transaction is rolled back and the batch runs again with each write in its
// own savepoint, which undoes a failure alone. Savepoints make SQLite copy
// every page a write touches into a sub-journal, and nearly every batch has
// no failure, so it runs without them first. A write must therefore give
// the same verdict when it runs again on the same data, as a transaction's
// body does anyway.
type writer struct {
	begin func(context.Context) *gorm.DB
	max   int
	jobs  chan *job

	mu     sync.RWMutex // guards closed against sends on a closed channel
	closed bool
	done   chan struct{}

	largest    atomic.Int64 // the most jobs one commit has carried
	reruns     atomic.Int64 // batches run again in savepoints after a failure
	batches    atomic.Int64 // batches committed or rolled back
	writes     atomic.Int64 // writes those batches carried
	busy       atomic.Int64 // nanoseconds spent on batches, from begin to answers
	committing atomic.Int64 // nanoseconds of those spent in COMMIT, its sync included

	observe atomic.Pointer[func(took time.Duration, writes int)] // see ObserveCommits
}

type job struct {
	ctx context.Context
	fn  func(tx *gorm.DB) error
	err chan error
}

// errClosed answers writes that arrive after shutdown began.
var errClosed = errors.New("store is closing")

func newWriter(begin func(context.Context) *gorm.DB, max int) *writer {
	w := &writer{begin: begin, max: max, jobs: make(chan *job, 4*max), done: make(chan struct{})}
	go w.run()
	return w
}

// do queues fn and waits for its verdict.
func (w *writer) do(ctx context.Context, fn func(tx *gorm.DB) error) error {
	j := &job{ctx: ctx, fn: fn, err: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case w.jobs <- j:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	// Once queued, wait for the verdict: the write may commit even if the
	// caller gave up, and a caller must not report a failure that did not happen.
	return <-j.err
}

// close lets the queued writes finish and stops the writer.
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
	defer close(w.done)
	batch := make([]*job, 0, w.max)
	for j := range w.jobs {
		batch = append(batch[:0], j)
	fill:
		for len(batch) < w.max {
			select {
			case j, ok := <-w.jobs:
				if !ok {
					break fill
				}
				batch = append(batch, j)
			default:
				break fill
			}
		}
		began := time.Now()
		if n := int64(len(batch)); n > w.largest.Load() {
			w.largest.Store(n)
		}
		results := w.commit(batch)
		// The counters move before any write is answered, so whoever
		// reads them after an answer finds its batch counted.
		w.batches.Add(1)
		w.writes.Add(int64(len(batch)))
		w.busy.Add(int64(time.Since(began)))
		for i, j := range batch {
			j.err <- results[i]
		}
	}
}

// commit runs one batch and returns each of its writes' results.
func (w *writer) commit(batch []*job) []error {
	results := make([]error, len(batch))
	if !w.plain(batch, results) {
		w.reruns.Add(1)
		clear(results)
		w.inSavepoints(batch, results)
	}
	return results
}

// plain runs the batch without savepoints and commits it. It reports false,
// having rolled everything back, when a write failed and the batch must run
// again in savepoints; a batch of one needs no second run.
func (w *writer) plain(batch []*job, results []error) bool {
	tx := w.begin(context.Background())
	if tx.Error != nil {
		fill(results, tx.Error)
		return true
	}
	ok := 0
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err // not run, so nothing to undo
			continue
		}
		if results[i] = call(j.fn, tx); results[i] != nil {
			if err := tx.Rollback().Error; err != nil {
				fill(results, fmt.Errorf("roll back: %w", err))
				return true
			}
			return len(batch) == 1
		}
		ok++
	}
	w.finish(tx, ok, results)
	return true
}

// inSavepoints runs each write of the batch in its own savepoint and commits
// those that succeeded.
func (w *writer) inSavepoints(batch []*job, results []error) {
	tx := w.begin(context.Background())
	if tx.Error != nil {
		fill(results, tx.Error)
		return
	}
	ok := 0
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if err := tx.Exec("SAVEPOINT w").Error; err != nil {
			results[i] = err
			continue
		}
		results[i] = call(j.fn, tx)
		if results[i] != nil {
			if err := tx.Exec("ROLLBACK TO w").Error; err != nil {
				// The write's changes could not be undone alone: nothing of
				// the batch may commit.
				fill(results, errors.Join(results[i], err, tx.Rollback().Error))
				return
			}
		} else {
			ok++
		}
		if err := tx.Exec("RELEASE w").Error; err != nil {
			fill(results, errors.Join(err, tx.Rollback().Error))
			return
		}
	}
	w.finish(tx, ok, results)
}

// finish commits the transaction if any write in it succeeded, and fails
// those writes if the commit does.
func (w *writer) finish(tx *gorm.DB, ok int, results []error) {
	if ok == 0 {
		if err := tx.Rollback().Error; err != nil {
			for i := range results {
				results[i] = errors.Join(results[i], fmt.Errorf("roll back: %w", err))
			}
		}
		return
	}
	began := time.Now()
	err := tx.Commit().Error
	took := time.Since(began)
	w.committing.Add(int64(took))
	if err != nil {
		for i := range results {
			if results[i] == nil {
				results[i] = fmt.Errorf("commit: %w", err)
			}
		}
		return
	}
	if f := w.observe.Load(); f != nil {
		(*f)(took, ok)
	}
}

func fill(results []error, err error) {
	for i := range results {
		results[i] = err
	}
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
	}, true
}
