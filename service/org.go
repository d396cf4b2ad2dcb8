package service

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Level is a tier of the organisation tree.
type Level string

const (
	LevelCity     Level = "city"
	LevelTownship Level = "township"
	LevelVillage  Level = "village"
	// LevelGrid is a grid (网格) under a village or community: where a grid
	// inspector walks and 民情 reports are placed.
	LevelGrid Level = "grid"
	// LevelDepartment is a functional department (职能部门) of a city or a
	// township that dispatched 民情 reports can go to.
	LevelDepartment Level = "department"
)

// Levels lists every level.
var Levels = []Level{LevelCity, LevelTownship, LevelVillage, LevelGrid, LevelDepartment}

// Valid reports whether l is a known level.
func (l Level) Valid() bool { return slices.Contains(Levels, l) }

// Parent is the level directly above l ("" for the city).
func (l Level) Parent() Level {
	switch l {
	case LevelVillage:
		return LevelTownship
	case LevelTownship:
		return LevelCity
	case LevelGrid:
		return LevelVillage
	}
	return ""
}

// parentOK reports whether an organisation at level l may hang under one
// at level p: a department under a city or a township, every other level
// under the level directly above it.
func (l Level) parentOK(p Level) bool {
	if l == LevelDepartment {
		return p == LevelCity || p == LevelTownship
	}
	return p == l.Parent()
}

// codeLength is the length of a division code (统计用区划代码) at each level.
// A grid's code is its village's and three digits; a department's is its
// city's or township's and four, so no department code can be a division's.
var codeLength = map[Level]int{LevelCity: 6, LevelTownship: 9, LevelVillage: 12, LevelGrid: 15}

// codeOK reports whether code has the length of a code at level under a
// parent at level parent.
func codeOK(level, parent Level, code string) bool {
	if !digits.MatchString(code) {
		return false
	}
	if level == LevelDepartment {
		return len(code) == codeLength[parent]+4
	}
	return len(code) == codeLength[level]
}

// PathLen is the length of the materialised path of an organisation at
// level: "/CCCCCC/TTTTTTTTT/VVVVVVVVVVVV/" for a village. The first
// TownshipPathLen bytes of any path below a township name that township.
func PathLen(level Level) int {
	switch level {
	case LevelCity:
		return 1 + codeLength[LevelCity] + 1
	case LevelTownship:
		return PathLen(LevelCity) + codeLength[LevelTownship] + 1
	case LevelVillage:
		return PathLen(LevelTownship) + codeLength[LevelVillage] + 1
	case LevelGrid:
		return PathLen(LevelVillage) + codeLength[LevelGrid] + 1
	}
	return 0
}

// Label is the Chinese name of a level.
func (l Level) Label() string {
	switch l {
	case LevelCity:
		return "市"
	case LevelTownship:
		return "乡镇(街道)"
	case LevelVillage:
		return "村(社区)"
	case LevelGrid:
		return "网格"
	case LevelDepartment:
		return "职能部门"
	}
	return string(l)
}

// Org is a node of the organisation tree. Path is the materialised path of
// division codes ("/350182/350182100/"), so a subtree is a prefix range.
type Org struct {
	ID        string
	Code      string
	Name      string
	Level     Level
	ParentID  string
	Path      string
	CreatedAt time.Time
}

// PathRange is the half-open range [lo, hi) of paths inside the subtree rooted
// at path; it lets the store scope by an index range instead of a walk.
func PathRange(path string) (lo, hi string) {
	return path, path[:len(path)-1] + "0" // '0' sorts right after '/'
}

// InSubtree reports whether path lies in the subtree rooted at root.
func InSubtree(path, root string) bool { return strings.HasPrefix(path, root) }

// OrgInput is what an admin sends to create an organisation.
type OrgInput struct {
	Code     string
	Name     string
	Level    Level
	ParentID string
}

// OrgFilter narrows an organisation listing.
type OrgFilter struct {
	Code     string
	ParentID string
	Level    Level
	Under    string // a path: only this subtree
	After    string // keyset cursor: the last path seen
	Limit    int
}

var digits = regexp.MustCompile(`^[0-9]+$`)

// CreateOrg adds a node under its parent. Only an admin may; the city is the
// only node without a parent and there is exactly one.
func (s *Service) CreateOrg(ctx context.Context, a Actor, in OrgInput) (Org, error) {
	if a.Role != RoleAdmin {
		return Org{}, ErrForbidden
	}
	in.Code = strings.TrimSpace(in.Code)
	in.Name = strings.TrimSpace(in.Name)
	var f fields
	if !in.Level.Valid() {
		f.add("level", "unknown_level")
	} else if n := codeLength[in.Level]; in.Level != LevelDepartment && !codeOK(in.Level, "", in.Code) {
		f.add("code", "division_code_digits", string(in.Level), itoa(n))
	}
	checkText(&f, "name", in.Name, 1, 60)
	if err := f.err(); err != nil {
		return Org{}, err
	}
	o := Org{ID: s.newID(), Code: in.Code, Name: in.Name, Level: in.Level, CreatedAt: s.now()}
	if in.Level == LevelCity {
		if in.ParentID != "" {
			return Org{}, InvalidField("parent_id", "city_has_no_parent")
		}
		o.Path = "/" + in.Code + "/"
	} else {
		if in.ParentID == "" {
			return Org{}, InvalidField("parent_id", "parent_required", string(in.Level))
		}
		parent, err := s.org(ctx, in.ParentID)
		if err != nil {
			if isNotFound(err) {
				return Org{}, InvalidField("parent_id", "no_such_org")
			}
			return Org{}, err
		}
		if !in.Level.parentOK(parent.Level) {
			if in.Level == LevelDepartment {
				return Org{}, InvalidField("parent_id", "department_parent")
			}
			return Org{}, InvalidField("parent_id", "wrong_parent_level", string(in.Level), string(in.Level.Parent()))
		}
		if in.Level == LevelDepartment && !codeOK(in.Level, parent.Level, in.Code) {
			return Org{}, InvalidField("code", "department_code_digits", itoa(codeLength[parent.Level]+4))
		}
		if !strings.HasPrefix(in.Code, parent.Code) {
			return Org{}, InvalidField("code", "code_not_under_parent", parent.Code)
		}
		o.ParentID = parent.ID
		o.Path = parent.Path + in.Code + "/"
	}
	if err := s.directory.CreateOrg(ctx, o); err != nil {
		return Org{}, err
	}
	return o, nil
}

// Org returns one organisation; any signed-in user may read the tree.
func (s *Service) Org(ctx context.Context, _ Actor, id string) (Org, error) {
	return s.org(ctx, id)
}

// Orgs lists organisations in path order.
func (s *Service) Orgs(ctx context.Context, _ Actor, f OrgFilter) ([]Org, error) {
	f.Limit = clampLimit(f.Limit)
	return s.directory.Orgs(ctx, f)
}

// org reads an organisation through the cache: the tree is append-only, so a
// cached node never goes stale.
func (s *Service) org(ctx context.Context, id string) (Org, error) {
	return cached(&s.orgCache, id, func() (Org, error) { return s.directory.Org(ctx, id) })
}

// user reads an account through the cache: names and phones never change
// once created (there is no way to edit them), so a cached one is current.
func (s *Service) user(ctx context.Context, id string) (User, error) {
	return cached(&s.userCache, id, func() (User, error) {
		u, err := s.accounts.User(ctx, id)
		u.PasswordHash = nil
		return u, err
	})
}

// cached reads id from m, loading and keeping it on a miss. Only what never
// changes once written may be kept this way.
func cached[T any](m *sync.Map, id string, load func() (T, error)) (T, error) {
	if v, ok := m.Load(id); ok {
		return v.(T), nil
	}
	v, err := load()
	if err != nil {
		var zero T
		return zero, err
	}
	m.Store(id, v)
	return v, nil
}

func checkText(f *fields, field, v string, min, max int) {
	n := utf8.RuneCountInString(v)
	switch {
	case !utf8.ValidString(v):
		f.add(field, "invalid_utf8")
	case n < min && min == 1:
		f.add(field, "required")
	case n < min:
		f.add(field, "too_short", itoa(min))
	case n > max:
		f.add(field, "too_long", itoa(max))
	case hasControl(v):
		f.add(field, "control_characters")
	case hasInvisible(v):
		f.add(field, "invisible_characters")
	}
}

// hasInvisible reports format characters (zero-width spaces and joiners,
// direction marks, overrides and isolates, byte-order marks, soft hyphens)
// and line or paragraph separators: they show nothing, or turn what is
// shown around, so a name could read as another.
func hasInvisible(v string) bool {
	for _, r := range v {
		if unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return true
		}
	}
	return false
}

func hasControl(v string) bool {
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}
