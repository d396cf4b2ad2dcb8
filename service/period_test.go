package service

import (
	"errors"
	"testing"
	"time"
)

func TestParsePeriod(t *testing.T) {
	for _, c := range []struct {
		from, to string
		required bool
		field    string // the parameter a refusal names; "" when accepted
	}{
		{"2026-03-01", "2026-03-31", true, ""},
		{"2026-03-01", "2026-03-01", true, ""},
		{"", "", false, ""},
		{"2026-03-01", "", false, ""},
		{"", "2026-03-31", true, "from"},
		{"2026-03-01", "", true, "to"},
		{"2026-03-31", "2026-03-01", true, "from"},
		{"2026-02-30", "2026-03-01", true, "from"},
		{"2026-3-1", "2026-03-31", true, "from"},
		{"1999-12-31", "2000-01-01", true, "from"},
		{"2100-12-31", "2101-01-01", true, "to"},
		{"2020-01-01", "2024-12-31", true, ""},
		{"2020-01-01", "2026-01-01", true, "to"},
		{"2026-03-01T00:00:00Z", "2026-03-31", true, "from"},
		{" 2026-03-01", "2026-03-31", true, "from"},
	} {
		f, to, err := parsePeriod(c.from, c.to, c.required)
		var se *Error
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%q..%q: %v", c.from, c.to, err)
		case c.field != "" && (!errors.As(err, &se) || len(se.Fields) == 0 || se.Fields[0].Field != c.field):
			t.Errorf("%q..%q: %v, want a refusal naming %s", c.from, c.to, err, c.field)
		case c.field == "" && c.from != "" && f.String() != c.from, c.field == "" && c.to != "" && to.String() != c.to:
			t.Errorf("%q..%q read as %s..%s", c.from, c.to, f, to)
		}
	}
}

// FuzzParsePeriod: any two strings either make a period of real dates from
// 2000 to 2100, in order, at most five years long, each written back exactly
// as given, or are refused as a bad parameter naming from or to.
func FuzzParsePeriod(f *testing.F) {
	f.Add("2026-03-01", "2026-03-31", true)
	f.Add("2026-03-31", "2026-03-01", true)
	f.Add("2026-02-29", "", false)
	f.Add("", "2099-12-31", true)
	f.Add("2000-01-01", "2004-12-31", true)
	f.Add("0000-01-01", "9999-12-31", false)
	f.Add("2026-13-01", "2026-1-1", true)
	f.Fuzz(func(t *testing.T, from, to string, required bool) {
		f, tt, err := parsePeriod(from, to, required)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || se.Kind != KindBadRequest || len(se.Fields) != 1 || (se.Fields[0].Field != "from" && se.Fields[0].Field != "to") {
				t.Fatalf("%q..%q: refused with %#v", from, to, err)
			}
			return
		}
		for _, d := range []struct {
			in  string
			got Date
		}{{from, f}, {to, tt}} {
			if d.in == "" {
				if required || d.got != 0 {
					t.Fatalf("%q..%q (required %v): an empty date read as %s", from, to, required, d.got)
				}
				continue
			}
			if d.got.String() != d.in {
				t.Fatalf("%q..%q: %q read as %s", from, to, d.in, d.got)
			}
			if y := d.got.Year(); y < 2000 || y > 2100 {
				t.Fatalf("%q..%q: year %d accepted", from, to, y)
			}
			if _, err := time.Parse(time.DateOnly, d.in); err != nil {
				t.Fatalf("%q..%q: %q accepted but is no date", from, to, d.in)
			}
		}
		if f != 0 && tt != 0 && (f > tt || tt-f >= MaxPeriodDays) {
			t.Fatalf("%q..%q: a period of %d days accepted", from, to, tt-f+1)
		}
	})
}
