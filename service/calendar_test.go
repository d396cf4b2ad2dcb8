package service

import (
	"testing"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

func at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, Shanghai)
}

func TestDueAtAcrossHolidays(t *testing.T) {
	cal := NewCalendar(ShippedCalendars())
	for _, c := range []struct {
		name  string
		reg   time.Time
		limit int
		due   string
	}{
		{"an ordinary week", at(2026, 3, 2, 9, 0), 5, "2026-03-09"},
		{"the day of registration never counts", at(2026, 3, 2, 23, 59), 1, "2026-03-03"},
		{"a Friday, over the weekend", at(2026, 3, 6, 16, 0), 1, "2026-03-09"},
		{"Spring Festival: the Saturday before is a make-up day", at(2026, 2, 13, 10, 0), 1, "2026-02-14"},
		{"Spring Festival: then nine days off", at(2026, 2, 13, 10, 0), 2, "2026-02-24"},
		{"registered on the make-up Saturday", at(2026, 2, 14, 10, 0), 1, "2026-02-24"},
		{"Spring Festival: the Saturday after is a make-up day", at(2026, 2, 13, 10, 0), 6, "2026-02-28"},
		{"registered during the holiday", at(2026, 2, 18, 10, 0), 1, "2026-02-24"},
		{"National Day: the Sunday before is a make-up day", at(2026, 9, 18, 10, 0), 1, "2026-09-20"},
		{"Mid-Autumn weekend", at(2026, 9, 24, 10, 0), 1, "2026-09-28"},
		{"National Day: seven days off", at(2026, 9, 30, 10, 0), 1, "2026-10-08"},
		{"National Day: the Saturday after is a make-up day", at(2026, 9, 30, 10, 0), 3, "2026-10-10"},
		{"into 2027 over New Year", at(2026, 12, 31, 10, 0), 1, "2027-01-04"},
		{"late evening UTC is the next day in Shanghai", time.Date(2026, 3, 1, 16, 30, 0, 0, time.UTC), 1, "2026-03-03"},
	} {
		due := cal.DueAt(c.reg, c.limit)
		if got := DateOf(due).String(); got != c.due {
			t.Errorf("%s: due %s, want %s", c.name, got, c.due)
		}
		if h, m, s := due.In(Shanghai).Clock(); h != 23 || m != 59 || s != 59 {
			t.Errorf("%s: due at %s, want the end of the day", c.name, due.In(Shanghai))
		}
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	cal := NewCalendar(ShippedCalendars())
	for _, c := range []struct {
		a, b Date
		want int
	}{
		{MakeDate(2026, 3, 2), MakeDate(2026, 3, 2), 0},
		{MakeDate(2026, 3, 2), MakeDate(2026, 3, 9), 5},
		{MakeDate(2026, 2, 13), MakeDate(2026, 2, 28), 6},  // the 14th and 28th (make-up), 24th to 27th
		{MakeDate(2026, 9, 30), MakeDate(2026, 10, 10), 3}, // the 8th, 9th and 10th (make-up)
	} {
		if got := cal.WorkingDaysBetween(c.a, c.b); got != c.want {
			t.Errorf("working days in (%s, %s] = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestWeekendRuleOutsideKnownYears(t *testing.T) {
	cal := NewCalendar(ShippedCalendars())
	if cal.Covers(2030) || !cal.Covers(2026) || !cal.Covers(2027) {
		t.Fatalf("covered years wrong")
	}
	if got := DateOf(cal.DueAt(at(2030, 1, 4, 10, 0), 1)).String(); got != "2030-01-07" {
		t.Errorf("2030 (weekends only): due %s", got)
	}
}

// The shipped statutory calendars agree with github.com/6tail/lunar-go's
// table, which records the State Council notices.
func TestShippedCalendarsMatchLunarGo(t *testing.T) {
	for _, y := range ShippedCalendars() {
		if y.Year > 2026 {
			continue // lunar-go v1.4.6 knows 2026 at most; 2027 is ours to maintain
		}
		ours := map[string]DayKind{}
		for _, d := range y.Days {
			ours[d.Date.String()] = d.Kind
		}
		theirs := map[string]DayKind{}
		for e := HolidayUtil.GetHolidaysByYear(y.Year).Front(); e != nil; e = e.Next() {
			h := e.Value.(*HolidayUtil.Holiday)
			kind := DayHoliday
			if h.IsWork() {
				kind = DayWorkday
			}
			theirs[h.GetDay()] = kind
		}
		if len(ours) != len(theirs) {
			t.Errorf("%d: %d days, lunar-go has %d", y.Year, len(ours), len(theirs))
		}
		for d, k := range theirs {
			if ours[d] != k {
				t.Errorf("%d: %s is %q here, %q in lunar-go", y.Year, d, ours[d], k)
			}
		}
	}
}

func TestCalendarYearCheck(t *testing.T) {
	y := CalendarYear{Year: 2031, Days: []CalendarDay{{Date: MakeDate(2031, 1, 4), Kind: DayWorkday}, {Date: MakeDate(2031, 1, 1), Kind: DayHoliday}}}
	if err := y.check(); err != nil {
		t.Fatalf("valid year: %v", err)
	}
	if y.Days[0].Date != MakeDate(2031, 1, 1) {
		t.Errorf("days are not sorted")
	}
}

func TestAddWorkingHours(t *testing.T) {
	cal := NewCalendar(ShippedCalendars())
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, Shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		from string
		h    int
		want string
	}{
		{"2026-12-07 09:00", 1, "2026-12-07 10:00"}, // a Monday morning
		{"2026-12-07 07:00", 1, "2026-12-07 09:30"}, // before the office opens
		{"2026-12-07 17:00", 1, "2026-12-08 09:00"}, // half an hour today, half tomorrow
		{"2026-12-07 20:00", 4, "2026-12-08 12:30"}, // after hours: from tomorrow's opening
		{"2026-12-11 16:30", 2, "2026-12-14 09:30"}, // Friday into Monday
		{"2026-12-12 10:00", 1, "2026-12-14 09:30"}, // a Saturday counts nothing
		{"2026-12-31 17:00", 1, "2027-01-04 09:00"}, // New Year's Day off, then the weekend
		{"2026-12-07 08:30", 9, "2026-12-07 17:30"}, // a whole day ends at closing
	} {
		if got := cal.AddWorkingHours(at(c.from), c.h).In(Shanghai).Format("2006-01-02 15:04"); got != c.want {
			t.Errorf("%s + %d h = %s, want %s", c.from, c.h, got, c.want)
		}
	}
}
