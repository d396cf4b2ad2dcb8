package store

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"

	"daiban/service"
)

// CreateOrg inserts an organisation; a taken code is a duplicate on "code".
func (s *Store) CreateOrg(ctx context.Context, o service.Org) error {
	r := fromOrg(o)
	err := s.write(ctx, func(tx *gorm.DB) error { return tx.Create(&r).Error })
	if err != nil {
		return dup(translate(err, "organisation"), "code", "org_code_taken")
	}
	return nil
}

// Org reads an organisation by id.
func (s *Store) Org(ctx context.Context, id string) (service.Org, error) {
	var r orgRow
	if err := s.read(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return service.Org{}, translate(err, "organisation")
	}
	return toOrg(r), nil
}

// Orgs lists organisations in path order (a depth-first walk of the tree).
func (s *Store) Orgs(ctx context.Context, f service.OrgFilter) ([]service.Org, error) {
	q := s.read(ctx).Model(&orgRow{}).Order("path").Limit(f.Limit)
	if f.Code != "" {
		q = q.Where("code = ?", f.Code)
	}
	if f.ParentID != "" {
		q = q.Where("parent_id = ?", f.ParentID)
	}
	if f.Level != "" {
		q = q.Where("level = ?", string(f.Level))
	}
	if f.Under != "" {
		lo, hi := service.PathRange(f.Under)
		q = q.Where("path >= ? AND path < ?", lo, hi)
	}
	if f.After != "" {
		q = q.Where("path > ?", f.After)
	}
	var rows []orgRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]service.Org, len(rows))
	for i, r := range rows {
		out[i] = toOrg(r)
	}
	return out, nil
}

// CreateUser inserts a user and the event recording who created it; a
// taken username is a duplicate on "username".
func (s *Store) CreateUser(ctx context.Context, u service.User, ev service.AccountEvent) error {
	r, er := fromUser(u), fromAccountEvent(ev)
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&r).Error; err != nil {
			return err
		}
		return tx.Create(&er).Error
	})
	if err != nil {
		return dup(translate(err, "user"), "username", "username_taken")
	}
	return nil
}

// UpdateUser loads the user in the write transaction, lets fn change it and
// name the event to record, saves both, and ends the user's sessions but
// the one whose token hash is keep; that one takes the user's new
// must-change flag.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*service.User) (service.AccountEvent, error), keep []byte) (service.User, error) {
	var out service.User
	err := s.write(ctx, func(tx *gorm.DB) error {
		var r userRow
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return translate(err, "user")
		}
		u := toUser(r)
		ev, err := fn(&u)
		if err != nil {
			return err
		}
		res := tx.Model(&userRow{}).Where("id = ?", id).Updates(map[string]any{
			"password_hash": u.PasswordHash, "active": u.Active, "must_change_password": u.MustChangePassword,
		})
		if res.Error != nil {
			return res.Error
		}
		er := fromAccountEvent(ev)
		if err := tx.Create(&er).Error; err != nil {
			return err
		}
		ended := tx.Where("user_id = ?", id)
		if keep != nil {
			ended = ended.Where("token_hash <> ?", keep)
		}
		if err := ended.Delete(&sessionRow{}).Error; err != nil {
			return err
		}
		if keep != nil {
			if err := tx.Model(&sessionRow{}).Where("token_hash = ?", keep).Update("must_change_password", u.MustChangePassword).Error; err != nil {
				return err
			}
		}
		out = u
		return nil
	})
	return out, err
}

// AccountEvents lists the changes to a user's account, newest first.
func (s *Store) AccountEvents(ctx context.Context, userID string, limit int) ([]service.AccountEvent, error) {
	var rows []accountEventRow
	if err := s.read(ctx).Where("user_id = ?", userID).Order("at DESC, id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]service.AccountEvent, len(rows))
	for i, r := range rows {
		out[i] = toAccountEvent(r)
	}
	return out, nil
}

// User reads a user by id.
func (s *Store) User(ctx context.Context, id string) (service.User, error) {
	var r userRow
	if err := s.read(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return service.User{}, translate(err, "user")
	}
	return toUser(r), nil
}

// UserByUsername reads a user by username.
func (s *Store) UserByUsername(ctx context.Context, username string) (service.User, error) {
	var r userRow
	if err := s.read(ctx).Where("username = ?", username).Take(&r).Error; err != nil {
		return service.User{}, translate(err, "user")
	}
	return toUser(r), nil
}

// Users lists users in username order.
func (s *Store) Users(ctx context.Context, f service.UserFilter) ([]service.User, error) {
	q := s.read(ctx).Model(&userRow{}).Order("username").Limit(f.Limit)
	if f.OrgID != "" {
		q = q.Where("org_id = ?", f.OrgID)
	}
	if f.Under != "" {
		lo, hi := service.PathRange(f.Under)
		q = q.Where("org_id IN (SELECT id FROM orgs WHERE path >= ? AND path < ?)", lo, hi)
	}
	if f.Role != "" {
		q = q.Where("role = ?", string(f.Role))
	}
	if f.Query != "" {
		like := "%" + likeEscaper.Replace(strings.ToLower(f.Query)) + "%"
		q = q.Where(`(username LIKE ? ESCAPE '\' OR LOWER(display_name) LIKE ? ESCAPE '\')`, like, like)
	}
	if f.After != "" {
		q = q.Where("username > ?", f.After)
	}
	var rows []userRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]service.User, len(rows))
	for i, r := range rows {
		out[i] = toUser(r)
	}
	return out, nil
}

// CreateSession stores a session by its token hash, with its actor.
func (s *Store) CreateSession(ctx context.Context, sess service.Session) error {
	a := sess.Actor
	r := sessionRow{TokenHash: sess.TokenHash, UserID: a.UserID, CreatedAt: utc(sess.CreatedAt), ExpiresAt: utc(sess.ExpiresAt),
		Username: a.Username, DisplayName: a.Name, Phone: a.Phone, Role: string(a.Role),
		OrgID: a.OrgID, OrgPath: a.OrgPath, OrgLevel: string(a.OrgLevel), OrgName: a.OrgName, MustChangePassword: a.MustChangePassword}
	return s.write(ctx, func(tx *gorm.DB) error { return tx.Create(&r).Error })
}

// ActorBySession resolves a live session into the actor it was opened for:
// one read of one table on every request.
func (s *Store) ActorBySession(ctx context.Context, tokenHash []byte, now time.Time) (service.Actor, error) {
	var a service.Actor
	var role, level string
	err := s.queryRow(ctx, `SELECT user_id, username, display_name, phone, role, org_id, org_path, org_level, org_name, must_change_password
		FROM sessions WHERE token_hash = ? AND expires_at > ?`, []any{tokenHash, utc(now)},
		&a.UserID, &a.Username, &a.Name, &a.Phone, &role, &a.OrgID, &a.OrgPath, &level, &a.OrgName, &a.MustChangePassword)
	if err != nil {
		return service.Actor{}, translate(err, "session")
	}
	a.Role, a.OrgLevel = service.Role(role), service.Level(level)
	return a, nil
}

// DeleteSession revokes a session; revoking an unknown one is not an error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Where("token_hash = ?", tokenHash).Delete(&sessionRow{}).Error
	})
}

// DeleteExpiredSessions removes sessions past their expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Where("expires_at <= ?", utc(now)).Delete(&sessionRow{})
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

// Throttles count attempts per key in a fixed window that opens at the
// first one; they live in the database so every instance agrees.
type throttleRow struct {
	Key         string
	WindowStart time.Time
	Failures    int
}

var throttleTables = map[service.ThrottleKind]string{
	service.ThrottleLogin:  "login_failures",
	service.ThrottleLookup: "lookup_failures",
}

// Failures reads key's failure count and when its window opened.
func (s *Store) Failures(ctx context.Context, kind service.ThrottleKind, key string) (int, time.Time, error) {
	var n int
	var start time.Time
	err := s.queryRow(ctx, "SELECT failures, window_start FROM "+throttleTables[kind]+" WHERE key = ?", []any{key}, &n, &start)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, time.Time{}, nil
	}
	return n, start.UTC(), err
}

// ClaimAttempt counts one attempt for key before it is checked, unless max
// already fell in the window that opened after since: then it reports false
// and when that window opened. One statement decides, so concurrent claims
// on any number of instances never pass max.
func (s *Store) ClaimAttempt(ctx context.Context, kind service.ThrottleKind, key string, max int, now, since time.Time) (bool, time.Time, error) {
	t := throttleTables[kind]
	var claimed bool
	var start time.Time
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO `+t+` (key, window_start, failures) VALUES (?, ?, 1)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN `+t+`.window_start > ? THEN `+t+`.failures + 1 ELSE 1 END,
				window_start = CASE WHEN `+t+`.window_start > ? THEN `+t+`.window_start ELSE ? END
			WHERE `+t+`.window_start <= ? OR `+t+`.failures < ?`,
			key, utc(now), utc(since), utc(since), utc(now), utc(since), max)
		if res.Error != nil {
			return res.Error
		}
		if claimed = res.RowsAffected > 0; claimed {
			return nil
		}
		var r throttleRow
		if err := tx.Table(t).Where("key = ?", key).Take(&r).Error; err != nil {
			return err
		}
		start = r.WindowStart.UTC()
		return nil
	})
	return claimed, start, err
}

// ReleaseAttempt gives back one claimed attempt for key: the attempt was
// good, so it does not count against the key.
func (s *Store) ReleaseAttempt(ctx context.Context, kind service.ThrottleKind, key string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Table(throttleTables[kind]).Where("key = ? AND failures > 0", key).
			Update("failures", gorm.Expr("failures - 1")).Error
	})
}

// ClearAttempts forgets every attempt counted for key.
func (s *Store) ClearAttempts(ctx context.Context, kind service.ThrottleKind, key string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Table(throttleTables[kind]).Where("key = ?", key).Delete(nil).Error
	})
}

// ProbeWrite commits one small write, to tell readiness whether the
// database can write at all (a full disk answers ErrStorageFull). Its row
// sits among the throttles under a key no attempt uses and goes stale.
func (s *Store) ProbeWrite(ctx context.Context, now time.Time) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO login_failures (key, window_start, failures) VALUES ('probe', ?, 0)
			ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start`, utc(now)).Error
	})
	return Unavailable(err)
}

// Unavailable turns a driver's "disk full" into service.ErrStorageFull and
// leaves any other error as it is: SQLite's SQLITE_FULL, PostgreSQL's
// disk_full (53100) and out-of-space I/O errors.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	var le sqlite3.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &le) && le.Code == sqlite3.ErrFull,
		errors.As(err, &pe) && (pe.Code == "53100" || pe.Code == "58030" && strings.Contains(pe.Message, "No space left")),
		errors.Is(err, syscall.ENOSPC):
		return service.ErrStorageFull
	}
	return err
}

// DeleteStaleThrottles drops windows that opened before since.
func (s *Store) DeleteStaleThrottles(ctx context.Context, since time.Time) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		for _, t := range throttleTables {
			if err := tx.Table(t).Where("window_start <= ?", utc(since)).Delete(&throttleRow{}).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// likeEscaper makes a search term match itself in a LIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// dup is a unique violation said as the field error code.
func dup(err error, field, code string) error {
	if e, ok := err.(*service.Error); ok && e.Code == "duplicate" {
		return service.Duplicate(field, code)
	}
	return err
}
