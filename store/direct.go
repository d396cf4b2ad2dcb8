package store

// #include <stdlib.h>
// #include "direct.h"
import "C"

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
	"unsafe"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// directConn runs the hot statements on one SQLite connection without
// database/sql: each is prepared once, and each run is one cgo call that
// binds every argument and copies out the row (direct.c). A directConn is
// used by one goroutine at a time.
//
// Values are stored as mattn/go-sqlite3 stores them, so GORM reads what this
// writes and the other way round: times as text in SQLiteTimestampFormats[0],
// booleans as 0 and 1.
type directConn struct {
	conn  *sqlite3.SQLiteConn // closed with the directConn, unless borrowed
	owned bool
	db    *C.sqlite3
	stmts map[string]*C.sqlite3_stmt
	args  []byte
	out   []byte
}

// The tags of values in the argument and row buffers (direct.c).
const (
	tagNull  = 0
	tagInt   = 1
	tagFloat = 2
	tagText  = 3
	tagBlob  = 4
)

const (
	sqliteRow   = 100
	sqliteDone  = 101
	sqliteRange = 25
)

// newDirectConn drives c's database handle. An owned connection is closed
// by close; a borrowed one stays with whoever opened it.
func newDirectConn(c *sqlite3.SQLiteConn, owned bool) *directConn {
	// mattn/go-sqlite3 keeps the handle unexported; the module version is
	// pinned, and every test of this file fails if the field moves.
	h := reflect.ValueOf(c).Elem().FieldByName("db")
	return &directConn{conn: c, owned: owned, db: (*C.sqlite3)(h.UnsafePointer()),
		stmts: map[string]*C.sqlite3_stmt{}, out: make([]byte, 4096)}
}

// serialized reports whether SQLite locks this connection's mutex around
// every call.
func (c *directConn) serialized() bool { return C.direct_serialized(c.db) != 0 }

func (c *directConn) close() error {
	for _, st := range c.stmts {
		C.direct_finalize(st)
	}
	clear(c.stmts)
	if c.owned {
		return c.conn.Close()
	}
	return nil
}

func (c *directConn) stmt(query string) (*C.sqlite3_stmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	q := C.CString(query)
	defer C.free(unsafe.Pointer(q))
	var st *C.sqlite3_stmt
	if rc := C.direct_prepare(c.db, q, C.int(len(query)), &st); rc != 0 {
		return nil, c.lastError(int(rc))
	}
	c.stmts[query] = st
	return st, nil
}

// step runs query with args once. It returns the row's bytes (nil when the
// statement returned no row) and the number of rows it changed.
func (c *directConn) step(query string, args []any) ([]byte, int64, error) {
	st, err := c.stmt(query)
	if err != nil {
		return nil, 0, err
	}
	if c.args, err = appendArgs(c.args[:0], args); err != nil {
		return nil, 0, err
	}
	var ap *C.uchar
	if len(c.args) > 0 {
		ap = (*C.uchar)(unsafe.Pointer(&c.args[0]))
	}
	var n C.int
	var changes C.longlong
	rc := int(C.direct_step(st, ap, C.int(len(c.args)), (*C.uchar)(unsafe.Pointer(&c.out[0])), C.int(len(c.out)), &n, &changes))
	switch rc {
	case sqliteDone:
		return nil, int64(changes), nil
	case sqliteRow:
		if n < 0 {
			c.out = make([]byte, -int(n))
			C.direct_row(st, (*C.uchar)(unsafe.Pointer(&c.out[0])), C.int(len(c.out)), &n)
		}
		return c.out[:n], 0, nil
	}
	return nil, 0, c.lastError(rc)
}

// exec runs a statement that returns no row and reports the rows changed.
func (c *directConn) exec(query string, args ...any) (int64, error) {
	row, n, err := c.step(query, args)
	if err == nil && row != nil {
		err = errors.New("store: exec of a statement that returns rows")
	}
	return n, err
}

// queryRow reads the first row of query into dest; no row is
// gorm.ErrRecordNotFound.
func (c *directConn) queryRow(query string, args []any, dest ...any) error {
	row, _, err := c.step(query, args)
	if err != nil {
		return err
	}
	if row == nil {
		return gorm.ErrRecordNotFound
	}
	return scanRow(row, dest)
}

func (c *directConn) lastError(rc int) error {
	if rc == sqliteRange {
		return sqliteError{Code: rc & 0xff, ExtendedCode: rc, msg: "wrong number of arguments for the statement"}
	}
	return sqliteError{Code: rc & 0xff, ExtendedCode: rc, msg: C.GoString(C.direct_errmsg(c.db))}
}

// sqliteError is an SQLite result code with its message. Its field names
// are those of mattn's sqlite3.Error, which GORM's SQLite dialector reads
// (through JSON) to tell duplicate keys and foreign key violations.
type sqliteError struct {
	Code         int
	ExtendedCode int
	msg          string
}

func (e sqliteError) Error() string { return e.msg }

// appendArgs encodes args for direct.c: a tag, then 8 bytes for a number or
// a 4-byte length and the bytes for text and blobs.
func appendArgs(b []byte, args []any) ([]byte, error) {
	for i, a := range args {
		if v, ok := a.(driver.Valuer); ok {
			var err error
			if a, err = v.Value(); err != nil {
				return nil, err
			}
		}
		switch v := a.(type) {
		case nil:
			b = append(b, tagNull)
		case string:
			b = appendBytes(b, tagText, v)
		case []byte:
			if v == nil {
				b = append(b, tagNull)
			} else {
				b = appendBytes(b, tagBlob, v)
			}
		case int:
			b = appendInt(b, int64(v))
		case int64:
			b = appendInt(b, v)
		case int32:
			b = appendInt(b, int64(v))
		case int16:
			b = appendInt(b, int64(v))
		case int8:
			b = appendInt(b, int64(v))
		case uint8:
			b = appendInt(b, int64(v))
		case uint16:
			b = appendInt(b, int64(v))
		case uint32:
			b = appendInt(b, int64(v))
		case bool:
			n := int64(0)
			if v {
				n = 1
			}
			b = appendInt(b, n)
		case float64:
			b = append(b, tagFloat)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case time.Time:
			b = appendTime(b, v)
		case *time.Time:
			if v == nil {
				b = append(b, tagNull)
			} else {
				b = appendTime(b, *v)
			}
		case *string:
			if v == nil {
				b = append(b, tagNull)
			} else {
				b = appendBytes(b, tagText, *v)
			}
		case *bool:
			if v == nil {
				b = append(b, tagNull)
			} else if *v {
				b = appendInt(b, 1)
			} else {
				b = appendInt(b, 0)
			}
		default:
			return nil, fmt.Errorf("store: argument %d: unsupported type %T", i+1, a)
		}
	}
	return b, nil
}

func appendInt(b []byte, v int64) []byte {
	b = append(b, tagInt)
	return binary.LittleEndian.AppendUint64(b, uint64(v))
}

func appendBytes[T string | []byte](b []byte, tag byte, v T) []byte {
	b = append(b, tag)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// appendTime writes t as mattn/go-sqlite3 binds a time.Time.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, tagText, 0, 0, 0, 0)
	start := len(b)
	b = t.AppendFormat(b, sqlite3.SQLiteTimestampFormats[0])
	binary.LittleEndian.PutUint32(b[start-4:], uint32(len(b)-start))
	return b
}

// scanRow decodes a row from direct.c into dest, one pointer per column.
func scanRow(row []byte, dest []any) error {
	for i, d := range dest {
		if len(row) == 0 {
			return fmt.Errorf("store: the row has %d columns, not %d", i, len(dest))
		}
		tag := row[0]
		row = row[1:]
		var num uint64
		var data []byte
		switch tag {
		case tagInt, tagFloat:
			num = binary.LittleEndian.Uint64(row)
			row = row[8:]
		case tagText, tagBlob:
			n := binary.LittleEndian.Uint32(row)
			data = row[4 : 4+n]
			row = row[4+n:]
		}
		if err := scanValue(d, tag, num, data); err != nil {
			return fmt.Errorf("store: column %d: %w", i+1, err)
		}
	}
	if len(row) != 0 {
		return fmt.Errorf("store: the row has more than %d columns", len(dest))
	}
	return nil
}

var errNull = errors.New("NULL into a value that cannot hold it")

func scanValue(d any, tag byte, num uint64, data []byte) error {
	null := tag == tagNull
	switch p := d.(type) {
	case *string:
		switch tag {
		case tagText, tagBlob:
			*p = string(data)
		case tagInt:
			*p = strconv.FormatInt(int64(num), 10)
		default:
			return errNull
		}
	case *[]byte:
		if null {
			*p = nil
		} else if tag == tagText || tag == tagBlob {
			*p = bytes.Clone(data) // an empty blob stays empty, not NULL, as with mattn
		} else {
			return fmt.Errorf("a number into %T", d)
		}
	case *int:
		v, err := intOf(tag, num)
		*p = int(v)
		return err
	case *int64:
		v, err := intOf(tag, num)
		*p = v
		return err
	case *bool:
		v, err := intOf(tag, num)
		*p = v != 0
		return err
	case **bool:
		if null {
			*p = nil
			return nil
		}
		v, err := intOf(tag, num)
		b := v != 0
		*p = &b
		return err
	case *float64:
		switch tag {
		case tagFloat:
			*p = math.Float64frombits(num)
		case tagInt:
			*p = float64(int64(num))
		default:
			return fmt.Errorf("%s into %T", tagName(tag), d)
		}
	case *time.Time:
		if null {
			return errNull
		}
		t, err := timeOf(tag, data)
		*p = t
		return err
	case **time.Time:
		if null {
			*p = nil
			return nil
		}
		t, err := timeOf(tag, data)
		*p = &t
		return err
	case *sql.NullTime:
		if null {
			*p = sql.NullTime{}
			return nil
		}
		t, err := timeOf(tag, data)
		*p = sql.NullTime{Time: t, Valid: err == nil}
		return err
	case *sql.NullString:
		if null {
			*p = sql.NullString{}
			return nil
		}
		var s string
		err := scanValue(&s, tag, num, data)
		*p = sql.NullString{String: s, Valid: err == nil}
		return err
	case *sql.NullInt64:
		if null {
			*p = sql.NullInt64{}
			return nil
		}
		v, err := intOf(tag, num)
		*p = sql.NullInt64{Int64: v, Valid: err == nil}
		return err
	default:
		return fmt.Errorf("unsupported destination %T", d)
	}
	return nil
}

func intOf(tag byte, num uint64) (int64, error) {
	if tag != tagInt {
		if tag == tagNull {
			return 0, errNull
		}
		return 0, fmt.Errorf("%s into an integer", tagName(tag))
	}
	return int64(num), nil
}

// timeOf reads a time as mattn/go-sqlite3 does: the first of its layouts
// that parses, in UTC unless the text names an offset.
func timeOf(tag byte, data []byte) (time.Time, error) {
	if tag != tagText {
		return time.Time{}, fmt.Errorf("%s into a time", tagName(tag))
	}
	if t, ok := utcTimeOf(data); ok {
		return t, nil
	}
	s := string(data)
	if n := len(s); n > 0 && s[n-1] == 'Z' {
		s = s[:n-1]
	}
	for _, layout := range sqlite3.SQLiteTimestampFormats {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}

// utcTimeOf reads the one layout the store writes, a UTC time in
// SQLiteTimestampFormats[0] ("2026-12-01 07:08:09.123456+00:00", the
// fraction optional), in a tenth of time.Parse's time; anything else is
// left to the general parse.
func utcTimeOf(b []byte) (time.Time, bool) {
	n := len(b)
	if n < 25 || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' || string(b[n-6:]) != "+00:00" {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		v := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := b[19 : n-6]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		v, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			v *= 10
		}
		nsec = v
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // 31 February and the like
		return time.Time{}, false
	}
	return t, true
}

func tagName(tag byte) string {
	switch tag {
	case tagNull:
		return "NULL"
	case tagInt:
		return "an integer"
	case tagFloat:
		return "a real number"
	case tagText:
		return "text"
	}
	return "a blob"
}

// directPool lends out a fixed set of SQLite connections of the store's own
// for the hot reads.
type directPool struct {
	free chan *directConn
	all  []*directConn
}

func openDirectPool(dsn string, n int) (*directPool, error) {
	p := &directPool{free: make(chan *directConn, n)}
	for range n {
		c, err := sqliteDrv.Open(dsn)
		if err != nil {
			p.close()
			return nil, err
		}
		dc := newDirectConn(c.(*sqlite3.SQLiteConn), true)
		p.all = append(p.all, dc)
		p.free <- dc
	}
	return p, nil
}

// with runs fn on a free connection, waiting for one if all are lent.
func (p *directPool) with(ctx context.Context, fn func(*directConn) error) error {
	var c *directConn
	select {
	case c = <-p.free:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { p.free <- c }()
	return fn(c)
}

func (p *directPool) close() error {
	var errs []error
	for _, c := range p.all {
		errs = append(errs, c.close())
	}
	return errors.Join(errs...)
}
