package store

import (
	"context"
	"testing"

	"gorm.io/gorm"
)

// BenchmarkGroupCommit is the SQLite writer with the smallest possible
// write (one single-row INSERT): serial, each write its own durable commit,
// so ns/op is about one disk sync; and with many concurrent writers, where
// the group commit shares syncs and ns/op is the per-write cost the batch
// leaves. Compare with daiban-load's raw commit baseline; the figures
// follow the disk, so compare runs taken side by side.
func BenchmarkGroupCommit(b *testing.B) {
	ctx := context.Background()
	s, _ := openScratch(b, "writer.db", `CREATE TABLE bench (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
	insert := func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO bench (body) VALUES (?)`, "a row about as long as a note").Error
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.write(ctx, insert); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16) // 16 × GOMAXPROCS writers
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.write(ctx, insert); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
