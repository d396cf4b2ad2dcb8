package service

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai must resolve on any machine
)

// Shanghai is the zone in which days, deadlines and statistics are counted.
var Shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// Date is a calendar day in Asia/Shanghai, counted from 1970-01-01.
type Date int32

// DateOf is the Shanghai calendar day of t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Shanghai).Date()
	return MakeDate(y, m, d)
}

// MakeDate builds a Date from its parts; out-of-range parts normalise like time.Date.
func MakeDate(y int, m time.Month, d int) Date {
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		// The input is not echoed: it came from the client, who has it.
		return 0, errors.New("not a date of the form YYYY-MM-DD")
	}
	return Date(t.Unix() / 86400), nil
}

func (d Date) utc() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Start is midnight at the start of d in Shanghai.
func (d Date) Start() time.Time {
	y, m, dd := d.utc().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, Shanghai)
}

// End is the last second of d in Shanghai: a deadline on d.
func (d Date) End() time.Time { return (d + 1).Start().Add(-time.Second) }

func (d Date) String() string        { return d.utc().Format(time.DateOnly) }
func (d Date) Year() int             { return d.utc().Year() }
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// Chinese writes d the way a paper form or a resident does: 2026年12月11日.
func (d Date) Chinese() string {
	y, m, dd := d.utc().Date()
	return strconv.Itoa(y) + "年" + strconv.Itoa(int(m)) + "月" + strconv.Itoa(dd) + "日"
}

// ChineseTime writes t in Shanghai as 2026年12月11日 09:05.
func ChineseTime(t time.Time) string {
	return DateOf(t).Chinese() + " " + t.In(Shanghai).Format("15:04")
}

// YMD is d as the integer YYYYMMDD, the day key of the statistics.
func (d Date) YMD() int {
	y, m, dd := d.utc().Date()
	return y*10000 + int(m)*100 + dd
}

// DateFromYMD inverts YMD.
func DateFromYMD(ymd int) Date { return MakeDate(ymd/10000, time.Month(ymd/100%100), ymd%100) }

// DayKind says how a calendar entry overrides the weekend rule.
type DayKind string

const (
	DayHoliday DayKind = "holiday" // a statutory holiday off
	DayWorkday DayKind = "workday" // a make-up working day (调休) on a weekend
)

// CalendarDay is one override of the weekend rule.
type CalendarDay struct {
	Date Date
	Kind DayKind
	Name string
}

// CalendarYear is one year's holidays and make-up days.
type CalendarYear struct {
	Year      int
	Note      string
	Days      []CalendarDay
	UpdatedAt time.Time
}

// Calendar answers working-day questions; weekends are off, holidays off and
// make-up days on. Years without data fall back to the weekend rule.
type Calendar struct {
	override map[Date]bool // true: a working day
	years    map[int]bool
}

// NewCalendar builds a calendar from its years.
func NewCalendar(years []CalendarYear) *Calendar {
	c := &Calendar{override: map[Date]bool{}, years: map[int]bool{}}
	for _, y := range years {
		c.years[y.Year] = true
		for _, d := range y.Days {
			c.override[d.Date] = d.Kind == DayWorkday
		}
	}
	return c
}

// Covers reports whether the year's holidays are known.
func (c *Calendar) Covers(year int) bool { return c.years[year] }

// Working reports whether d is a working day.
func (c *Calendar) Working(d Date) bool {
	if w, ok := c.override[d]; ok {
		return w
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkingDays is the n-th working day after d; d itself never counts, as
// periods in Chinese administrative law start on the following day.
func (c *Calendar) AddWorkingDays(d Date, n int) Date {
	for n > 0 {
		d++
		if c.Working(d) {
			n--
		}
	}
	return d
}

// WorkingDaysBetween counts the working days in (a, b].
func (c *Calendar) WorkingDaysBetween(a, b Date) int {
	n := 0
	for d := a + 1; d <= b; d++ {
		if c.Working(d) {
			n++
		}
	}
	return n
}

// DueAt is the deadline of an errand registered at t with a limit of n
// working days: the end of the n-th working day after the day of t.
func (c *Calendar) DueAt(t time.Time, n int) time.Time {
	return c.AddWorkingDays(DateOf(t), n).End()
}

// Office hours, for limits counted in working hours (an urgent 民情
// report's): 08:30 to 17:30 of each working day, counted through.
const (
	officeOpens  = 8*time.Hour + 30*time.Minute
	officeCloses = 17*time.Hour + 30*time.Minute
)

// AddWorkingHours is the moment h office hours after t: time outside
// office hours and on days off does not count.
func (c *Calendar) AddWorkingHours(t time.Time, h int) time.Time {
	left := time.Duration(h) * time.Hour
	d := DateOf(t)
	cur := t.In(Shanghai)
	for {
		if c.Working(d) {
			opens, closes := d.Start().Add(officeOpens), d.Start().Add(officeCloses)
			if cur.Before(opens) {
				cur = opens
			}
			if cur.Before(closes) {
				if avail := closes.Sub(cur); left <= avail {
					return cur.Add(left).UTC()
				} else {
					left -= avail
				}
			}
		}
		d++
		cur = d.Start()
	}
}

//go:embed calendars/*.json
var shippedCalendars embed.FS

type calendarFile struct {
	Year int    `json:"year"`
	Note string `json:"note"`
	Days []struct {
		Date string `json:"date"`
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"days"`
}

// ShippedCalendars are the years the release knows, seeded into an empty database.
func ShippedCalendars() []CalendarYear {
	entries, err := shippedCalendars.ReadDir("calendars")
	if err != nil {
		panic(err)
	}
	var out []CalendarYear
	for _, e := range entries {
		raw, err := shippedCalendars.ReadFile("calendars/" + e.Name())
		if err != nil {
			panic(err)
		}
		var f calendarFile
		if err := json.Unmarshal(raw, &f); err != nil {
			panic(fmt.Sprintf("calendars/%s: %v", e.Name(), err))
		}
		y := CalendarYear{Year: f.Year, Note: f.Note}
		for _, d := range f.Days {
			date, err := ParseDate(d.Date)
			if err != nil {
				panic(fmt.Sprintf("calendars/%s: %q: %v", e.Name(), d.Date, err))
			}
			y.Days = append(y.Days, CalendarDay{Date: date, Kind: DayKind(d.Kind), Name: d.Name})
		}
		if err := y.check(); err != nil {
			panic(fmt.Sprintf("calendars/%s: %v", e.Name(), err))
		}
		out = append(out, y)
	}
	return out
}

// check validates a year: days inside it, once each, known kinds, make-up
// days on weekends and holidays on days that would otherwise be worked or
// lie next to them.
func (y *CalendarYear) check() error {
	var f fields
	if y.Year < 2000 || y.Year > 2100 {
		f.add("year", "year_out_of_range")
	}
	if len(y.Days) > 366 {
		f.add("days", "too_many_days")
	}
	checkText(&f, "note", y.Note, 0, 200)
	seen := map[Date]bool{}
	for i, d := range y.Days {
		field := "days[" + itoa(i) + "]"
		if d.Date.Year() != y.Year {
			f.add(field+".date", "not_in_year", itoa(y.Year))
		}
		if seen[d.Date] {
			f.add(field+".date", "listed_twice")
		}
		seen[d.Date] = true
		wd := d.Date.Weekday()
		switch d.Kind {
		case DayHoliday:
		case DayWorkday:
			if wd != time.Saturday && wd != time.Sunday {
				f.add(field+".kind", "makeup_day_not_weekend")
			}
		default:
			f.add(field+".kind", "unknown_day_kind")
		}
		checkText(&f, field+".name", d.Name, 0, 20)
	}
	sort.Slice(y.Days, func(i, j int) bool { return y.Days[i].Date < y.Days[j].Date })
	return f.err()
}

// CalendarYear returns one year's overrides; any signed-in user may read it.
func (s *Service) CalendarYear(ctx context.Context, year int) (CalendarYear, error) {
	if year < 2000 || year > 2100 {
		return CalendarYear{}, BadParam("year", "year_out_of_range")
	}
	return s.directory.CalendarYear(ctx, year)
}

// CheckCalendarYear reports what PutCalendarYear would refuse in y, field
// by field, without saving anything: a form can name every bad line at once.
func CheckCalendarYear(y CalendarYear) error {
	y.Days = append([]CalendarDay(nil), y.Days...)
	y.Note = strings.TrimSpace(y.Note)
	return y.check()
}

// PutCalendarYear replaces a year's overrides (admin only). Deadlines already
// set stay as they were promised.
func (s *Service) PutCalendarYear(ctx context.Context, a Actor, y CalendarYear) (CalendarYear, error) {
	if a.Role != RoleAdmin {
		return CalendarYear{}, ErrForbidden
	}
	y.Note = strings.TrimSpace(y.Note)
	if err := y.check(); err != nil {
		return CalendarYear{}, err
	}
	y.UpdatedAt = s.now()
	if err := s.directory.PutCalendarYear(ctx, y); err != nil {
		return CalendarYear{}, err
	}
	return y, nil
}

// calendar returns the working-day calendar, reloading it when the stored
// version moved (another instance may have changed it).
func (s *Service) calendar(ctx context.Context) (*Calendar, error) {
	r, err := s.reference(ctx)
	return r.cal, err
}

// calendarAt returns the calendar of version v, reloading it if the one
// kept is older.
func (s *Service) calendarAt(ctx context.Context, v int64) (*Calendar, error) {
	s.calMu.Lock()
	defer s.calMu.Unlock()
	if s.cal != nil && s.calVersion == v {
		return s.cal, nil
	}
	years, err := s.directory.CalendarYears(ctx)
	if err != nil {
		return nil, err
	}
	s.cal, s.calVersion = NewCalendar(years), v
	return s.cal, nil
}
