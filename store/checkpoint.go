package store

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// checkpointer copies SQLite's WAL back into the database file off the
// writer's path, and keeps the WAL from growing without end.
//
// Passive checkpoints run beside the writer and keep the copied part of the
// WAL current, so readers search only its last frames. But SQLite starts the
// WAL over only when a write transaction begins with every frame copied, and
// a busy writer begins its next transaction the moment the last one commits:
// the WAL would only grow, until a commit crossed wal_autocheckpoint and
// copied it inside the writer, a 30–50 ms stall for every write queued behind
// it. So when the WAL is long, a round copies what it can beside the writer,
// pass after pass until little arrives during one, then makes a last pass
// while the writer waits between two transactions: that pass has only the
// last milliseconds' frames to copy, and the writer's next transaction starts
// the WAL over. Once the writer has been idle a while, a WAL file that a
// burst of writes left long is cut back.
type checkpointer struct {
	db     *sql.DB
	w      *writer
	log    *slog.Logger
	wal    string // the WAL file's path
	limits walLimits
	stop   chan struct{}
	done   chan struct{}

	restarts atomic.Int64 // rounds that ended with the writer waiting
	trims    atomic.Int64 // WAL files truncated
}

// walLimits tune the checkpointer; the zero value takes the defaults.
type walLimits struct {
	every time.Duration // between rounds; 1 s
	// restart is the WAL length in frames (pages) from which a round makes
	// the writer wait for its last pass; 262,144 (1 GiB), about ten seconds
	// of registrations at full speed, so the wait is rare. A shorter WAL is
	// cheap to keep, and starts over by itself whenever writes pause.
	restart int
	// A WAL file longer than keep bytes (64 MiB) is truncated once the
	// writer has been idle for idle (5 s).
	keep int64
	idle time.Duration
}

const (
	// Passes beside the writer stop when one copies fewer frames than
	// settleFrames, or after passesMax.
	settleFrames = 256
	passesMax    = 4
)

func newCheckpointer(db *sql.DB, w *writer, log *slog.Logger, wal string, limits walLimits) *checkpointer {
	if limits.every == 0 {
		limits.every = time.Second
	}
	if limits.restart == 0 {
		limits.restart = 262144
	}
	if limits.keep == 0 {
		limits.keep = 64 << 20
	}
	if limits.idle == 0 {
		limits.idle = 5 * time.Second
	}
	c := &checkpointer{db: db, w: w, log: log, wal: wal, limits: limits, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(limits.every)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				if err := c.round(context.Background()); err != nil && !errors.Is(err, errClosed) {
					log.Warn("checkpoint", "err", err)
				}
			}
		}
	}()
	return c
}

func (c *checkpointer) round(ctx context.Context) error {
	copied := 0
	for i := range passesMax {
		frames, done, err := c.pass(ctx)
		if err != nil {
			return err
		}
		if i == 0 && frames < c.limits.restart {
			return c.trim(ctx)
		}
		if done-copied < settleFrames {
			break
		}
		copied = done
	}
	err := c.w.paused(ctx, func() error {
		_, _, err := c.pass(ctx)
		return err
	})
	if err == nil {
		c.restarts.Add(1)
	}
	return err
}

// trim truncates a long WAL file once the writer has been idle: truncating
// a large file takes long enough that it must not happen under load. It
// gives up at once if a reader still uses the WAL, and tries again later.
func (c *checkpointer) trim(ctx context.Context) error {
	if time.Since(time.Unix(0, c.w.lastBatch.Load())) < c.limits.idle {
		return nil
	}
	if fi, err := os.Stat(c.wal); err != nil || fi.Size() <= c.limits.keep {
		return nil
	}
	return c.w.paused(ctx, func() error {
		conn, err := c.db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
			return err
		}
		defer conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.Itoa(busyTimeoutMS))
		busy, _, _, err := checkpoint(ctx, conn, "TRUNCATE")
		if err == nil && !busy {
			c.trims.Add(1)
		}
		return err
	})
}

// pass runs one passive checkpoint: frames is the WAL's length, done how many
// of them are now in the database file.
func (c *checkpointer) pass(ctx context.Context) (frames, done int, err error) {
	_, frames, done, err = checkpoint(ctx, c.db, "PASSIVE")
	return frames, done, err
}

// checkpoint runs PRAGMA wal_checkpoint(mode) on q; busy reports that it
// could not finish.
func checkpoint(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, mode string) (busy bool, frames, done int, err error) {
	var b int
	err = q.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&b, &frames, &done)
	return b != 0, frames, done, err
}

func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
}
