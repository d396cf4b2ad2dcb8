package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"
)

// TestGroupCommit sends many concurrent writes through SQLite's group
// commit, some of which fail in different ways, and checks that every
// acknowledged write is stored, every failed one left nothing, each caller
// got its own verdict, and writes did share commits.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "gc.db"), Options{SecretKey: []byte("test-secret-key-of-at-least-32-bytes!!")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.db.Exec(`CREATE TABLE gc (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`).Error; err != nil {
		t.Fatal(err)
	}
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
	t.Logf("%d writes, %d stored, largest commit %d writes", n, len(stored), s.writer.largest.Load())
}
