package store

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestCheckpointerRestartsWAL keeps the writer busy and checks that the WAL
// still starts over (so its file stays a fraction of what was written) and
// that every acknowledged write is stored.
func TestCheckpointerRestartsWAL(t *testing.T) {
	ctx := context.Background()
	s, path := openScratch(t, "wal.db", `CREATE TABLE w (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
	s.checkpointer.close()
	s.checkpointer = newCheckpointer(s.sqlDB, s.writer, s.log, path+"-wal", walLimits{every: 5 * time.Millisecond, restart: 64})

	body := strings.Repeat("x", 3000) // a page of WAL per write at least
	var acked atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(5 * time.Second)
	// Enough writes that the WAL's own length (about twice the restart
	// point) is a small part of them, whatever the timing of the rounds.
	const minWrites = 2000
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && (s.checkpointer.restarts.Load() < 5 || acked.Load() < minWrites) {
				if err := s.write(ctx, func(tx *gorm.DB) error {
					return tx.Exec(`INSERT INTO w (body) VALUES (?)`, body).Error
				}); err != nil {
					t.Error(err)
					return
				}
				acked.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := s.checkpointer.restarts.Load(); n < 5 {
		t.Fatalf("%d rounds made the writer wait in 5 s, want 5", n)
	}
	var stored int64
	if err := s.db.Raw(`SELECT count(*) FROM w`).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if stored != acked.Load() {
		t.Errorf("%d rows stored, %d writes acknowledged", stored, acked.Load())
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if written := acked.Load() * 4096; fi.Size() > written/2 {
		t.Errorf("the WAL is %d bytes after %d bytes of writes: it did not start over", fi.Size(), written)
	}
	t.Logf("%d writes, %d rounds with the writer waiting, WAL file %d KiB", acked.Load(), s.checkpointer.restarts.Load(), fi.Size()>>10)
}

// TestCheckpointerTrimsIdleWAL lets a burst of writes grow the WAL, then
// checks that the file is truncated once the writer has been idle, and that
// the database still holds every write.
func TestCheckpointerTrimsIdleWAL(t *testing.T) {
	ctx := context.Background()
	s, path := openScratch(t, "trim.db", `CREATE TABLE w (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
	s.checkpointer.close()
	s.checkpointer = newCheckpointer(s.sqlDB, s.writer, s.log, path+"-wal", walLimits{every: 10 * time.Millisecond, keep: 64 << 10, idle: 100 * time.Millisecond})
	body := strings.Repeat("x", 3000)
	for range 200 {
		if err := s.write(ctx, func(tx *gorm.DB) error {
			return tx.Exec(`INSERT INTO w (body) VALUES (?)`, body).Error
		}); err != nil {
			t.Fatal(err)
		}
	}
	grown, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if grown.Size() <= 64<<10 {
		t.Fatalf("the WAL is only %d bytes after the burst", grown.Size())
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.checkpointer.trims.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if s.checkpointer.trims.Load() == 0 || fi.Size() > 64<<10 {
		t.Fatalf("the WAL is %d bytes (%d after the burst), %d truncations: not cut back while idle", fi.Size(), grown.Size(), s.checkpointer.trims.Load())
	}
	var n int
	if err := s.db.Raw(`SELECT count(*) FROM w`).Scan(&n).Error; err != nil || n != 200 {
		t.Fatalf("%d rows after the truncation (%v), want 200", n, err)
	}
}

// TestWriterPaused checks that a paused function runs with no write
// transaction open and that writes wait until it returns.
func TestWriterPaused(t *testing.T) {
	ctx := context.Background()
	s, path := openScratch(t, "paused.db", `CREATE TABLE p (id INTEGER PRIMARY KEY)`)
	// Another connection that never waits for a lock: its BEGIN IMMEDIATE
	// succeeds only while the writer holds no write transaction.
	other, err := sql.Open(sqliteDriver, "file:"+path+"?_busy_timeout=0&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	stopWrites := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stopWrites:
					return
				default:
				}
				if err := s.write(ctx, func(tx *gorm.DB) error { return tx.Exec(`INSERT INTO p DEFAULT VALUES`).Error }); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	for range 20 {
		started, release := make(chan struct{}), make(chan struct{})
		var written atomic.Bool
		errc := make(chan error, 1)
		go func() {
			errc <- s.writer.paused(ctx, func() error {
				close(started)
				tx, err := other.Begin()
				if err != nil {
					return err
				}
				tx.Rollback()
				<-release
				return nil
			})
		}()
		// A write sent while the pause holds must not finish before it ends.
		<-started
		go func() {
			s.write(ctx, func(tx *gorm.DB) error { return nil })
			written.Store(true)
		}()
		time.Sleep(5 * time.Millisecond)
		early := written.Load()
		close(release)
		if err := <-errc; err != nil {
			t.Fatalf("BEGIN IMMEDIATE beside the paused writer: %v", err)
		}
		if early {
			t.Fatal("a write finished while the writer was paused")
		}
	}
	close(stopWrites)
	wg.Wait()
}
