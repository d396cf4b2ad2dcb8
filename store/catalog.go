package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"daiban/service"
)

// CreateCategory inserts a category after the existing ones.
func (s *Store) CreateCategory(ctx context.Context, c service.Category) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		var pos int
		if err := tx.Model(&categoryRow{}).Select("COALESCE(MAX(position), 0)").Scan(&pos).Error; err != nil {
			return err
		}
		if err := tx.Create(&categoryRow{Code: c.Code, Name: c.Name, Position: pos + 1}).Error; err != nil {
			return err
		}
		return bumpCatalog(tx)
	})
	if err != nil {
		return dup(translate(err, "category"), "code", "category_code_taken")
	}
	return nil
}

// Categories lists categories in their set order.
func (s *Store) Categories(ctx context.Context) ([]service.Category, error) {
	var rows []categoryRow
	if err := s.read(ctx).Order("position").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]service.Category, len(rows))
	for i, r := range rows {
		out[i] = service.Category{Code: r.Code, Name: r.Name}
	}
	return out, nil
}

// CreateItem inserts a catalogue item.
func (s *Store) CreateItem(ctx context.Context, it service.Item) error {
	r := fromItem(it)
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&r).Error; err != nil {
			return err
		}
		return bumpCatalog(tx)
	})
	if err != nil {
		return dup(translate(err, "item"), "code", "item_code_taken")
	}
	return nil
}

// Item reads an item by code.
func (s *Store) Item(ctx context.Context, code string) (service.Item, error) {
	var r itemRow
	if err := s.queryRow(ctx, `SELECT id, code, name, category_code, level, materials, fee_cents, time_limit_days, active, created_at
		FROM items WHERE code = ?`, []any{code},
		&r.ID, &r.Code, &r.Name, &r.CategoryCode, &r.Level, &r.Materials, &r.FeeCents, &r.TimeLimitDays, &r.Active, &r.CreatedAt); err != nil {
		return service.Item{}, translate(err, "item")
	}
	return toItem(r)
}

// Items lists the catalogue in code order.
func (s *Store) Items(ctx context.Context, f service.ItemFilter) ([]service.Item, error) {
	q := s.read(ctx).Model(&itemRow{}).Order("code").Limit(f.Limit)
	if f.Category != "" {
		q = q.Where("category_code = ?", f.Category)
	}
	if f.ActiveOnly {
		q = q.Where("active = ?", true)
	}
	if f.After != "" {
		q = q.Where("code > ?", f.After)
	}
	var rows []itemRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]service.Item, len(rows))
	for i, r := range rows {
		it, err := toItem(r)
		if err != nil {
			return nil, err
		}
		out[i] = it
	}
	return out, nil
}

// UpdateItem loads an item, lets fn change its terms and saves them, with
// the catalogue's version, in one transaction. The code, category, level
// and creation time stay as they were whatever fn does.
func (s *Store) UpdateItem(ctx context.Context, code string, fn func(*service.Item) error) (service.Item, error) {
	var out service.Item
	err := s.write(ctx, func(tx *gorm.DB) error {
		var r itemRow
		if err := tx.Where("code = ?", code).Take(&r).Error; err != nil {
			return err
		}
		it, err := toItem(r)
		if err != nil {
			return err
		}
		if err := fn(&it); err != nil {
			return err
		}
		nr := fromItem(it)
		res := tx.Model(&itemRow{}).Where("id = ?", r.ID).Updates(map[string]any{
			"name": nr.Name, "materials": nr.Materials, "fee_cents": nr.FeeCents,
			"time_limit_days": nr.TimeLimitDays, "active": nr.Active,
		})
		if res.Error != nil {
			return res.Error
		}
		if err := bumpCatalog(tx); err != nil {
			return err
		}
		r.Name, r.Materials, r.FeeCents, r.TimeLimitDays, r.Active = nr.Name, nr.Materials, nr.FeeCents, nr.TimeLimitDays, nr.Active
		out, err = toItem(r)
		return err
	})
	if err != nil {
		return service.Item{}, translate(err, "item")
	}
	return out, nil
}

type calendarYearRow struct {
	Year      int
	Note      string
	UpdatedAt time.Time
}

type calendarDayRow struct {
	Day  string
	Year int
	Kind string
	Name string
}

func (calendarDayRow) TableName() string { return "calendar_days" }

// Versions reads the counters that every calendar change and every
// catalogue change bump, in one query: what the service caches of either is
// current while its counter stands.
func (s *Store) Versions(ctx context.Context) (service.Versions, error) {
	var v service.Versions
	err := s.queryRow(ctx, `SELECT (SELECT value FROM counters WHERE name = 'calendar'), (SELECT value FROM counters WHERE name = 'catalog')`,
		nil, &v.Calendar, &v.Catalog)
	return v, err
}

// bumpCatalog moves the catalogue's version, in the transaction that
// changes the catalogue.
func bumpCatalog(tx *gorm.DB) error {
	return tx.Exec(`UPDATE counters SET value = value + 1 WHERE name = 'catalog'`).Error
}

// CalendarYears reads every stored year.
func (s *Store) CalendarYears(ctx context.Context) ([]service.CalendarYear, error) {
	return s.calendarYears(ctx, 0)
}

// CalendarYear reads one year; a year never entered is not found.
func (s *Store) CalendarYear(ctx context.Context, year int) (service.CalendarYear, error) {
	ys, err := s.calendarYears(ctx, year)
	if err != nil {
		return service.CalendarYear{}, err
	}
	if len(ys) == 0 {
		return service.CalendarYear{}, service.NotFound(fmt.Sprintf("calendar for %d (weekends only until an admin enters it)", year))
	}
	return ys[0], nil
}

func (s *Store) calendarYears(ctx context.Context, only int) ([]service.CalendarYear, error) {
	var years []calendarYearRow
	q := s.read(ctx).Table("calendar_years").Order("year")
	dq := s.read(ctx).Model(&calendarDayRow{}).Order("day")
	if only != 0 {
		q = q.Where("year = ?", only)
		dq = dq.Where("year = ?", only)
	}
	if err := q.Find(&years).Error; err != nil {
		return nil, err
	}
	var days []calendarDayRow
	if err := dq.Find(&days).Error; err != nil {
		return nil, err
	}
	byYear := map[int][]service.CalendarDay{}
	for _, d := range days {
		date, err := service.ParseDate(d.Day)
		if err != nil {
			return nil, err
		}
		byYear[d.Year] = append(byYear[d.Year], service.CalendarDay{Date: date, Kind: service.DayKind(d.Kind), Name: d.Name})
	}
	out := make([]service.CalendarYear, len(years))
	for i, y := range years {
		out[i] = service.CalendarYear{Year: y.Year, Note: y.Note, Days: byYear[y.Year], UpdatedAt: y.UpdatedAt.UTC()}
	}
	return out, nil
}

// PutCalendarYear replaces a year's days and bumps the calendar version.
func (s *Store) PutCalendarYear(ctx context.Context, y service.CalendarYear) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("year = ?", y.Year).Delete(&calendarDayRow{}).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM calendar_years WHERE year = ?`, y.Year).Error; err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO calendar_years (year, note, updated_at) VALUES (?, ?, ?)`, y.Year, y.Note, utc(y.UpdatedAt)).Error; err != nil {
			return err
		}
		for _, d := range y.Days {
			if err := tx.Create(&calendarDayRow{Day: d.Date.String(), Year: y.Year, Kind: string(d.Kind), Name: d.Name}).Error; err != nil {
				return err
			}
		}
		return tx.Exec(`UPDATE counters SET value = value + 1 WHERE name = 'calendar'`).Error
	})
}

// ReserveReceiptBlock takes n receipt sequence numbers for this process.
func (s *Store) ReserveReceiptBlock(ctx context.Context, n int64) (int64, error) {
	var first int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		var next int64
		if err := tx.Raw(`UPDATE counters SET value = value + ? WHERE name = 'receipt' RETURNING value`, n).Scan(&next).Error; err != nil {
			return err
		}
		first = next - n
		return nil
	})
	return first, err
}
