package service

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// Category groups catalogue items (计生, 国土, …).
type Category struct {
	Code string
	Name string
}

// Item is an errand type of the catalogue (代办事项).
type Item struct {
	ID            string
	Code          string
	Name          string
	Category      string // category code
	Level         Level  // the level that decides it: township or city
	Materials     []string
	FeeCents      int64
	TimeLimitDays int // 承诺时限, in working days
	Active        bool
	CreatedAt     time.Time
}

// ItemInput is what an admin sends to add an item.
type ItemInput struct {
	Code          string
	Name          string
	Category      string
	Level         Level
	Materials     []string
	FeeCents      int64
	TimeLimitDays int
}

// ItemFilter narrows a catalogue listing.
type ItemFilter struct {
	Category   string
	ActiveOnly bool
	After      string // keyset cursor: the last code seen
	Limit      int
}

var (
	itemCodeRE     = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{1,19}$`)
	categoryCodeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)
)

// MaxTimeLimitDays bounds a promised time limit; statutory limits are far lower.
const MaxTimeLimitDays = 180

// CreateCategory adds a catalogue category (admin only).
func (s *Service) CreateCategory(ctx context.Context, a Actor, c Category) (Category, error) {
	if a.Role != RoleAdmin {
		return Category{}, ErrForbidden
	}
	c.Code, c.Name = strings.TrimSpace(c.Code), strings.TrimSpace(c.Name)
	var f fields
	if !categoryCodeRE.MatchString(c.Code) {
		f.add("code", "invalid_category_code")
	}
	checkText(&f, "name", c.Name, 1, 20)
	if err := f.err(); err != nil {
		return Category{}, err
	}
	if err := s.directory.CreateCategory(ctx, c); err != nil {
		return Category{}, err
	}
	return c, nil
}

// Categories lists the catalogue's categories; anyone may read them.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	return s.directory.Categories(ctx)
}

// CreateItem adds an item to the catalogue (admin only).
func (s *Service) CreateItem(ctx context.Context, a Actor, in ItemInput) (Item, error) {
	if a.Role != RoleAdmin {
		return Item{}, ErrForbidden
	}
	in.Code = strings.TrimSpace(in.Code)
	in.Name = strings.TrimSpace(in.Name)
	var f fields
	if !itemCodeRE.MatchString(in.Code) {
		f.add("code", "invalid_item_code")
	}
	if in.Level != LevelTownship && in.Level != LevelCity {
		f.add("level", "unknown_decision_level")
	}
	in.Materials = checkItemTerms(&f, in.Name, in.Materials, in.FeeCents, in.TimeLimitDays)
	if in.Category == "" {
		f.add("category", "required")
	}
	if err := f.err(); err != nil {
		return Item{}, err
	}
	cats, err := s.directory.Categories(ctx)
	if err != nil {
		return Item{}, err
	}
	if !hasCategory(cats, in.Category) {
		return Item{}, InvalidField("category", "no_such_category")
	}
	it := Item{
		ID: s.newID(), Code: in.Code, Name: in.Name, Category: in.Category, Level: in.Level,
		Materials: in.Materials, FeeCents: in.FeeCents, TimeLimitDays: in.TimeLimitDays,
		Active: true, CreatedAt: s.now(),
	}
	if err := s.directory.CreateItem(ctx, it); err != nil {
		return Item{}, err
	}
	return it, nil
}

// ItemChange is what an admin may change of an item; nil leaves a term as
// it is. The code, category and deciding level stay: errands refer to them.
type ItemChange struct {
	Name          *string
	Materials     []string // nil: unchanged; empty: none needed
	FeeCents      *int64
	TimeLimitDays *int
	Active        *bool
}

// UpdateItem changes an item's terms (admin only). Only registrations after
// it see them: an errand copies the time limit and its due date when it is
// registered, so a change never moves a promise already made.
func (s *Service) UpdateItem(ctx context.Context, a Actor, code string, ch ItemChange) (Item, error) {
	if a.Role != RoleAdmin {
		return Item{}, ErrForbidden
	}
	return s.directory.UpdateItem(ctx, code, func(it *Item) error {
		if ch.Name != nil {
			it.Name = strings.TrimSpace(*ch.Name)
		}
		if ch.Materials != nil {
			it.Materials = append([]string(nil), ch.Materials...)
		}
		if ch.FeeCents != nil {
			it.FeeCents = *ch.FeeCents
		}
		if ch.TimeLimitDays != nil {
			it.TimeLimitDays = *ch.TimeLimitDays
		}
		if ch.Active != nil {
			it.Active = *ch.Active
		}
		var f fields
		it.Materials = checkItemTerms(&f, it.Name, it.Materials, it.FeeCents, it.TimeLimitDays)
		return f.err()
	})
}

// SetItemActive takes an item off the catalogue or puts it back (admin
// only). Errands already registered keep the rules they were registered under.
func (s *Service) SetItemActive(ctx context.Context, a Actor, code string, active bool) (Item, error) {
	return s.UpdateItem(ctx, a, code, ItemChange{Active: &active})
}

// checkItemTerms checks the terms an item is taken in under and returns its
// materials trimmed (never nil).
func checkItemTerms(f *fields, name string, materials []string, feeCents int64, limitDays int) []string {
	checkText(f, "name", name, 1, 60)
	if len(materials) > 30 {
		f.add("materials", "too_many_materials")
	}
	out := make([]string, len(materials))
	seen := map[string]bool{}
	for i, m := range materials {
		m = strings.TrimSpace(m)
		out[i] = m
		checkText(f, "materials["+itoa(i)+"]", m, 1, 60)
		if seen[m] {
			f.add("materials["+itoa(i)+"]", "listed_twice")
		}
		seen[m] = true
	}
	if feeCents < 0 || feeCents > 100_000_000 {
		f.add("fee_cents", "fee_out_of_range")
	}
	if limitDays < 1 || limitDays > MaxTimeLimitDays {
		f.add("time_limit_days", "time_limit_out_of_range", itoa(MaxTimeLimitDays))
	}
	return out
}

// Items lists the catalogue; anyone may read it.
func (s *Service) Items(ctx context.Context, f ItemFilter) ([]Item, error) {
	f.Limit = clampLimit(f.Limit)
	return s.directory.Items(ctx, f)
}

// Item returns one catalogue item by code.
func (s *Service) Item(ctx context.Context, code string) (Item, error) {
	return s.directory.Item(ctx, code)
}

func hasCategory(cats []Category, code string) bool {
	for _, c := range cats {
		if c.Code == code {
			return true
		}
	}
	return false
}
