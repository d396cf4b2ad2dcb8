package store

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// directRow covers every type the hot statements bind and scan.
type directRow struct {
	ID      int64
	Name    string
	Blob    []byte
	Count   int
	Flag    bool
	At      time.Time
	Maybe   *time.Time
	Recover *bool
	Ratio   float64
}

const directTable = `CREATE TABLE direct_rows (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, blob BLOB,
	count INTEGER NOT NULL, flag BOOLEAN NOT NULL, at DATETIME NOT NULL, maybe DATETIME, recover BOOLEAN, ratio REAL NOT NULL)`

// inWriter runs fn on the writer's connection inside a write transaction,
// the way the hot statements run.
func inWriter(t *testing.T, s *Store, fn func(tx *gorm.DB) error) {
	t.Helper()
	if err := s.write(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// TestDirectRoundTrip writes rows through the direct path and through GORM
// and reads each back both ways: the two must agree value for value, so
// either may read what the other wrote.
func TestDirectRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openScratch(t, "direct.db", directTable)
	at := time.Date(2026, 12, 1, 7, 8, 9, 123456000, time.UTC)
	yes, no := true, false
	rows := []directRow{
		{ID: 1, Name: "陈秀英 with ' quotes", Blob: []byte{0, 1, 2, 255}, Count: 42, Flag: true, At: at, Maybe: &at, Recover: &yes, Ratio: 97.96},
		{ID: 2, Name: "", Blob: []byte{}, Count: -7, Flag: false, At: at.Truncate(time.Second), Maybe: nil, Recover: &no, Ratio: 0},
		{ID: 3, Name: strings.Repeat("长", 3000), Blob: nil, Count: 0, Flag: true, At: time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.UTC), Recover: nil, Ratio: -1.5},
	}
	insert := `INSERT INTO direct_rows (id, name, blob, count, flag, at, maybe, recover, ratio) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	inWriter(t, s, func(tx *gorm.DB) error {
		for _, r := range rows[:2] {
			if _, err := s.exec(ctx, tx, insert, r.ID, r.Name, r.Blob, r.Count, r.Flag, r.At, r.Maybe, r.Recover, r.Ratio); err != nil {
				return err
			}
		}
		return nil
	})
	// The third row through GORM's own binding, as the rest of the store writes.
	if err := s.db.Exec(insert, rows[2].ID, rows[2].Name, rows[2].Blob, rows[2].Count, rows[2].Flag, rows[2].At, rows[2].Maybe, rows[2].Recover, rows[2].Ratio).Error; err != nil {
		t.Fatal(err)
	}
	for _, want := range rows {
		var got directRow
		if err := s.queryRow(ctx, `SELECT id, name, blob, count, flag, at, maybe, recover, ratio FROM direct_rows WHERE id = ?`, []any{want.ID},
			&got.ID, &got.Name, &got.Blob, &got.Count, &got.Flag, &got.At, &got.Maybe, &got.Recover, &got.Ratio); err != nil {
			t.Fatalf("row %d: %v", want.ID, err)
		}
		checkDirectRow(t, "direct read", got, want)
		var viaGORM directRow
		if err := s.db.Raw(`SELECT id, name, blob, count, flag, at, maybe, recover, ratio FROM direct_rows WHERE id = ?`, want.ID).
			Row().Scan(&viaGORM.ID, &viaGORM.Name, &viaGORM.Blob, &viaGORM.Count, &viaGORM.Flag, &viaGORM.At, &viaGORM.Maybe, &viaGORM.Recover, &viaGORM.Ratio); err != nil {
			t.Fatal(err)
		}
		checkDirectRow(t, "GORM read", viaGORM, want)
	}
	// The stored text of a time is mattn's, so text comparisons in SQL agree.
	var direct, gormText string
	s.db.Raw(`SELECT at FROM direct_rows WHERE id = 1`).Scan(&direct)
	s.db.Exec(`UPDATE direct_rows SET at = ? WHERE id = 2`, at)
	s.db.Raw(`SELECT at FROM direct_rows WHERE id = 2`).Scan(&gormText)
	if direct != gormText {
		t.Errorf("a time is stored as %q by the direct path and %q by GORM", direct, gormText)
	}
}

func checkDirectRow(t *testing.T, how string, got, want directRow) {
	t.Helper()
	if want.Blob == nil && len(got.Blob) == 0 {
		got.Blob = nil
	}
	same := got.ID == want.ID && got.Name == want.Name && string(got.Blob) == string(want.Blob) && (got.Blob == nil) == (want.Blob == nil) &&
		got.Count == want.Count && got.Flag == want.Flag && got.At.Equal(want.At) && got.Ratio == want.Ratio &&
		(got.Maybe == nil) == (want.Maybe == nil) && (got.Maybe == nil || got.Maybe.Equal(*want.Maybe)) &&
		(got.Recover == nil) == (want.Recover == nil) && (got.Recover == nil || *got.Recover == *want.Recover)
	if !same {
		t.Errorf("%s of row %d:\n got %+v\nwant %+v", how, want.ID, got, want)
	}
}

// TestDirectErrors checks that the direct path's failures are the ones the
// rest of the store expects: no row, duplicate keys (translated as GORM's
// are), a wrong argument count and unsupported types, each leaving the
// statement usable.
func TestDirectErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := openScratch(t, "direct-err.db", directTable)
	at := time.Now().UTC()
	insert := `INSERT INTO direct_rows (id, name, count, flag, at, ratio) VALUES (?, ?, ?, ?, ?, ?)`
	var id int64
	err := s.queryRow(ctx, `SELECT id FROM direct_rows WHERE name = ?`, []any{"nobody"}, &id)
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		t.Errorf("no row: got %v", err)
	}
	var dup, count, typ error
	err = s.write(ctx, func(tx *gorm.DB) error {
		if _, err := s.exec(ctx, tx, insert, 1, "one", 1, true, at, 0.5); err != nil {
			return err
		}
		_, dup = s.exec(ctx, tx, insert, 2, "one", 1, true, at, 0.5)
		_, count = s.exec(ctx, tx, insert, 3, "three")
		_, typ = s.exec(ctx, tx, insert, 4, "four", struct{}{}, true, at, 0.5)
		// The statement still works after each failure.
		_, err := s.exec(ctx, tx, insert, 5, "five", 5, false, at, 1.5)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(dup, gorm.ErrDuplicatedKey) {
		t.Errorf("duplicate name: got %v, want gorm.ErrDuplicatedKey", dup)
	}
	if count == nil || !strings.Contains(count.Error(), "arguments") {
		t.Errorf("two arguments for six: got %v", count)
	}
	if typ == nil || !strings.Contains(typ.Error(), "struct {}") {
		t.Errorf("a struct argument: got %v", typ)
	}
	var names []string
	s.db.Raw(`SELECT name FROM direct_rows ORDER BY id`).Scan(&names)
	if strings.Join(names, ",") != "one,five" {
		t.Errorf("stored %v, want one and five", names)
	}
	var name string
	var n sql.NullInt64
	if err := s.queryRow(ctx, `SELECT name, blob FROM direct_rows WHERE id = 1`, nil, &name); err == nil {
		t.Error("a 2-column row into 1 destination: no error")
	}
	if err := s.queryRow(ctx, `SELECT name FROM direct_rows WHERE id = ?`, []any{1}, &n); err == nil {
		t.Error("text into an integer: no error")
	}
	if err := s.queryRow(ctx, `SELECT blob FROM direct_rows WHERE id = ?`, []any{1}, &name); err == nil {
		t.Error("NULL into a string: no error")
	}
}

// TestDirectMessage keeps SQLite's own explanation of a failure.
func TestDirectMessage(t *testing.T) {
	ctx := context.Background()
	s, _ := openScratch(t, "direct-msg.db", directTable)
	err := s.write(ctx, func(tx *gorm.DB) error {
		_, err := s.writerDirect.exec(`INSERT INTO direct_rows (id, name, count, flag, at, ratio) VALUES (1, 'a', 1, 1, '', 0), (2, 'a', 1, 1, '', 0)`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "UNIQUE constraint failed: direct_rows.name") {
		t.Errorf("got %v, want SQLite's message naming the column", err)
	}
	if _, err := s.writerDirect.stmt(`SELECT nosuchcolumn FROM direct_rows`); err == nil || !strings.Contains(err.Error(), "nosuchcolumn") {
		t.Errorf("a bad statement: got %v", err)
	}
}

// TestDirectLargeRow reads a row larger than the connection's buffer.
func TestDirectLargeRow(t *testing.T) {
	ctx := context.Background()
	s, _ := openScratch(t, "direct-large.db", directTable)
	big := strings.Repeat("代办", 40000) // 240 kB
	if err := s.db.Exec(`INSERT INTO direct_rows (id, name, count, flag, at, ratio) VALUES (1, ?, 1, 1, ?, 0)`, big, time.Now()).Error; err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second read finds the grown buffer
		var got string
		var id int64
		if err := s.queryRow(ctx, `SELECT name, id FROM direct_rows WHERE id = 1`, nil, &got, &id); err != nil {
			t.Fatal(err)
		}
		if got != big || id != 1 {
			t.Fatalf("read back %d bytes and id %d, want %d bytes and id 1", len(got), id, len(big))
		}
	}
	// The statement was reset after the grown read: no reader holds a
	// snapshot, so a checkpoint can copy the whole WAL and truncate it.
	var busy, logged, copied int
	if err := s.db.Raw(`PRAGMA wal_checkpoint(TRUNCATE)`).Row().Scan(&busy, &logged, &copied); err != nil {
		t.Fatal(err)
	}
	if busy != 0 {
		t.Errorf("checkpoint busy after the read: a statement was left open")
	}
}

// TestUTCTimeOf compares the fast reading of stored times with time.Parse
// over random times of every fraction length, and checks that any other
// text is left to mattn's layouts.
func TestUTCTimeOf(t *testing.T) {
	layout := sqlite3.SQLiteTimestampFormats[0]
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		want := time.Unix(r.Int64N(4e9), 0).UTC()
		switch i % 4 { // no fraction, micro- and nanoseconds, trailing zeros
		case 1:
			want = want.Add(time.Duration(r.IntN(1e6)) * time.Microsecond)
		case 2:
			want = want.Add(time.Duration(r.IntN(1e9)))
		case 3:
			want = want.Add(time.Duration(r.IntN(10)) * 100 * time.Millisecond)
		}
		text := want.Format(layout)
		got, ok := utcTimeOf([]byte(text))
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("%q: got %v %v, want %v", text, got, ok, want)
		}
	}
	for _, text := range []string{
		"2026-12-01 07:08:09+08:00", "2026-12-01T07:08:09Z", "2026-12-01 07:08:09", "2026-12-01",
		"2026-02-30 07:08:09+00:00", "2026-13-01 07:08:09+00:00", "2026-12-01 24:08:09+00:00",
		"2026-12-01 07:08:09.+00:00", "2026-12-01 07:08:09.1234567890+00:00", "2026-12-01 07:08:0x+00:00",
	} {
		if got, ok := utcTimeOf([]byte(text)); ok {
			t.Errorf("%q read as %v by the fast path", text, got)
		}
		want, werr := func() (time.Time, error) {
			for _, l := range sqlite3.SQLiteTimestampFormats {
				if t, err := time.ParseInLocation(l, strings.TrimSuffix(text, "Z"), time.UTC); err == nil {
					return t, nil
				}
			}
			return time.Time{}, errors.New("no layout")
		}()
		got, err := timeOf(tagText, []byte(text))
		if (err == nil) != (werr == nil) || !got.Equal(want) {
			t.Errorf("%q: timeOf gives %v, %v; mattn's layouts give %v, %v", text, got, err, want, werr)
		}
	}
}

// Every connection of the store runs without SQLite's per-call mutex
// (SQLiteDSN's _mutex=no), the writer's and the direct readers' alike.
func TestConnectionsWithoutMutex(t *testing.T) {
	s, _ := openScratch(t, "mutex.db", directTable)
	conns := append([]*directConn{s.writerDirect}, s.readers.all...)
	for i, c := range conns {
		if c.serialized() {
			t.Errorf("connection %d of %d takes SQLite's mutex on every call", i, len(conns))
		}
	}
	// A connection opened the default way does, so the check can tell.
	raw, err := sqliteDrv.Open(strings.Replace(SQLiteDSN(filepath.Join(t.TempDir(), "full.db")), "&_mutex=no", "&_mutex=full", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if !newDirectConn(raw.(*sqlite3.SQLiteConn), false).serialized() {
		t.Error("a connection opened without _mutex=no reports no mutex")
	}
}
