package service

import (
	"context"
	"sync"
)

// Versions are the stored counters of what every instance caches: the
// working-day calendar and the catalogue. A change to either bumps its
// counter in the same transaction, so a cache is current while its counter
// stands, whichever instance made the change.
type Versions struct {
	Calendar int64
	Catalog  int64
}

// reference is the calendar and the catalogue as one read of their versions
// found them: a registration or a step reads the versions once.
type reference struct {
	s       *Service
	cal     *Calendar
	catalog int64
}

func (s *Service) reference(ctx context.Context) (reference, error) {
	v, err := s.directory.Versions(ctx)
	if err != nil {
		return reference{}, err
	}
	cal, err := s.calendarAt(ctx, v.Calendar)
	if err != nil {
		return reference{}, err
	}
	return reference{s: s, cal: cal, catalog: v.Catalog}, nil
}

// item reads a catalogue item through the items kept for this version.
func (r reference) item(ctx context.Context, code string) (Item, error) {
	return r.s.items.get(ctx, r.catalog, code, r.s.directory.Item)
}

// itemCache keeps the items read at one catalogue version; a new version
// empties it. Items are shared: callers do not change them.
type itemCache struct {
	mu      sync.Mutex
	version int64
	items   map[string]Item
}

func (c *itemCache) get(ctx context.Context, version int64, code string, load func(context.Context, string) (Item, error)) (Item, error) {
	c.mu.Lock()
	if c.version != version {
		c.version, c.items = version, map[string]Item{}
	}
	it, ok := c.items[code]
	c.mu.Unlock()
	if ok {
		return it, nil
	}
	it, err := load(ctx, code)
	if err != nil {
		return Item{}, err
	}
	c.mu.Lock()
	if c.version == version {
		c.items[code] = it
	}
	c.mu.Unlock()
	return it, nil
}
