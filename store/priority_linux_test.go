package store

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// TestWriterPriority reads the writer thread's nice value from /proc: as
// root (so in CI) it is writerNice; otherwise the store still opens and
// writes at normal priority.
func TestWriterPriority(t *testing.T) {
	s, _ := openScratch(t, "prio.db", `CREATE TABLE p (v INTEGER)`)
	if err := s.write(context.Background(), func(tx *gorm.DB) error { return tx.Exec(`INSERT INTO p VALUES (1)`).Error }); err != nil {
		t.Fatal(err)
	}
	tid := s.writer.thread.Load()
	stat, err := os.ReadFile("/proc/self/task/" + strconv.FormatInt(tid, 10) + "/stat")
	if err != nil {
		t.Fatalf("the writer's thread %d: %v", tid, err)
	}
	// Fields after the command name, which is in parentheses: the nice
	// value is field 19 of the line, the 17th after the name.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	nice, err := strconv.Atoi(fields[16])
	if err != nil {
		t.Fatal(err)
	}
	want := writerNice
	if os.Geteuid() != 0 {
		want = 0
	}
	if nice != want {
		t.Errorf("the writer's thread runs at nice %d, want %d", nice, want)
	}
}
