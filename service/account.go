package service

import (
	"context"
	"crypto/rand"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Account changes: everyone changes their own password (the current one
// required); an admin resets a password, which the user must then change
// at the next sign-in, and disables or re-enables an account. Each change
// ends the account's sessions and is recorded with who made it.

// AccountAction names what was done to an account.
type AccountAction string

const (
	AccountCreated         AccountAction = "created"
	AccountPasswordChanged AccountAction = "password_changed" // by the user, or set by an operator on the command line
	AccountPasswordReset   AccountAction = "password_reset"   // by an admin: to be changed at the next sign-in
	AccountDisabled        AccountAction = "disabled"
	AccountEnabled         AccountAction = "enabled"
)

// AccountEvent records one change to an account and who made it; like an
// errand's events, it is only ever appended.
type AccountEvent struct {
	ID        string
	UserID    string
	Action    AccountAction
	ActorID   string // empty for the command line
	ActorName string
	At        time.Time
}

// CommandLine is the actor of changes made with the daiban command on the
// server itself: whoever runs it holds the database.
var CommandLine = Actor{Username: "daiban", Name: "命令行"}

func (s *Service) accountEvent(userID string, act AccountAction, by Actor) AccountEvent {
	name := by.Name
	if by.Username != "" && by.Username != name {
		name = by.Name + " (" + by.Username + ")"
	}
	return AccountEvent{ID: s.newID(), UserID: userID, Action: act, ActorID: by.UserID, ActorName: name, At: s.now()}
}

// Password rule: bcrypt reads at most 72 bytes, and anything shorter than 8
// is guessed too soon.
const (
	PasswordMinBytes = 8
	PasswordMaxBytes = 72
)

func checkPassword(f *fields, field, p string) {
	if n := len(p); n < PasswordMinBytes || n > PasswordMaxBytes {
		f.add(field, "password_length")
	}
}

// Errors of account changes.
var (
	// ErrPasswordChangeRequired: the actor signed in with a reset password
	// and may do nothing else until they change it.
	ErrPasswordChangeRequired = &Error{Kind: KindForbidden, Code: "password_change_required",
		Detail: "your password was reset by an administrator: change it (POST /api/v1/auth/password) before anything else"}
	// ErrAccountDisabled: the password was right, but an admin disabled the account.
	ErrAccountDisabled = &Error{Kind: KindForbidden, Code: "account_disabled",
		Detail: "this account is disabled; ask your city's system administrator to enable it"}
)

// ChangePassword sets the actor's own password after checking the current
// one; the session of token stays open, every other one of the account
// ends. Wrong current passwords count against the same budget
// as wrong sign-ins, so a left-open session cannot be used to guess it.
func (s *Service) ChangePassword(ctx context.Context, a Actor, token, current, next string) error {
	if a.UserID == "" {
		return ErrUnauthenticated
	}
	var f fields
	if current == "" {
		f.add("current_password", "required")
	}
	checkPassword(&f, "new_password", next)
	if current != "" && current == next {
		f.add("new_password", "same_password")
	}
	if err := f.err(); err != nil {
		return err
	}
	now := s.now()
	key := accountThrottleKey(a.Username)
	if err := s.claim(ctx, ThrottleLogin, key, loginAccount, now, "too_many_attempts", "too many wrong passwords for this username"); err != nil {
		return err
	}
	u, err := s.accounts.User(ctx, a.UserID)
	if err != nil {
		return err
	}
	if err := s.logins.Acquire(ctx, 1); err != nil {
		return err
	}
	wrong := bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(current)) != nil
	var hash []byte
	if !wrong {
		hash, err = bcrypt.GenerateFromPassword([]byte(next), s.passwordCost)
	}
	s.logins.Release(1)
	if wrong {
		return InvalidField("current_password", "wrong_password")
	}
	if err != nil {
		return err
	}
	if err := s.accounts.ReleaseAttempt(ctx, ThrottleLogin, key); err != nil {
		return err
	}
	_, err = s.accounts.UpdateUser(ctx, a.UserID, func(u *User) (AccountEvent, error) {
		if !u.Active {
			return AccountEvent{}, ErrAccountDisabled
		}
		u.PasswordHash, u.MustChangePassword = hash, false
		return s.accountEvent(u.ID, AccountPasswordChanged, a), nil
	}, HashToken(token))
	return err
}

// ResetPassword gives a user a new password made up here and returned once,
// to be told to them in person; they must change it at their next sign-in.
// Only an admin may. Every session of the user ends.
func (s *Service) ResetPassword(ctx context.Context, a Actor, userID string) (User, string, error) {
	if a.Role != RoleAdmin {
		return User{}, "", ErrForbidden
	}
	return s.resetPassword(ctx, a, userID)
}

func (s *Service) resetPassword(ctx context.Context, by Actor, userID string) (User, string, error) {
	password := NewPassword()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost)
	if err != nil {
		return User{}, "", err
	}
	u, err := s.accounts.UpdateUser(ctx, userID, func(u *User) (AccountEvent, error) {
		u.PasswordHash, u.MustChangePassword = hash, true
		return s.accountEvent(u.ID, AccountPasswordReset, by), nil
	}, nil)
	if err != nil {
		return User{}, "", err
	}
	// A reset is what a locked-out user asks for: the new password works at
	// once. (Wrong passwords from one address still count against it.)
	if err := s.accounts.ClearAttempts(ctx, ThrottleLogin, accountThrottleKey(u.Username)); err != nil {
		return User{}, "", err
	}
	return u, password, nil
}

// SetUserActive disables or re-enables a user. Only an admin may, and not
// their own account (so the last admin cannot lock everyone out). A disabled
// user's sessions end at once.
func (s *Service) SetUserActive(ctx context.Context, a Actor, userID string, active bool) (User, error) {
	if a.Role != RoleAdmin {
		return User{}, ErrForbidden
	}
	if userID == a.UserID && !active {
		return User{}, Conflict("cannot_disable_self", "you cannot disable your own account")
	}
	return s.setUserActive(ctx, a, userID, active)
}

func (s *Service) setUserActive(ctx context.Context, by Actor, userID string, active bool) (User, error) {
	act := AccountEnabled
	if !active {
		act = AccountDisabled
	}
	return s.accounts.UpdateUser(ctx, userID, func(u *User) (AccountEvent, error) {
		u.Active = active
		return s.accountEvent(u.ID, act, by), nil
	}, nil)
}

// AccountEvents is a user and what was done to their account, newest
// first; admins only.
func (s *Service) AccountEvents(ctx context.Context, a Actor, userID string, limit int) (User, []AccountEvent, error) {
	if a.Role != RoleAdmin {
		return User{}, nil, ErrForbidden
	}
	u, err := s.accounts.User(ctx, userID)
	if err != nil {
		return User{}, nil, err
	}
	u.PasswordHash = nil
	evs, err := s.accounts.AccountEvents(ctx, userID, clampLimit(limit))
	return u, evs, err
}

// Label says an account action in Chinese.
func (a AccountAction) Label() string {
	switch a {
	case AccountCreated:
		return "新建账号"
	case AccountPasswordChanged:
		return "修改密码"
	case AccountPasswordReset:
		return "重置密码"
	case AccountDisabled:
		return "停用"
	case AccountEnabled:
		return "启用"
	}
	return string(a)
}

// The command line's account changes: the operator at the server holds the
// database, so no admin session is needed; they are recorded as done by
// CommandLine.

// SetPasswordByUsername sets a user's password as chosen by the operator,
// with no change required at the next sign-in (for an admin who forgot
// theirs). Every session of the user ends.
func (s *Service) SetPasswordByUsername(ctx context.Context, username, password string) (User, error) {
	var f fields
	checkPassword(&f, "password", password)
	if err := f.err(); err != nil {
		return User{}, err
	}
	u, err := s.accounts.UserByUsername(ctx, username)
	if err != nil {
		return User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost)
	if err != nil {
		return User{}, err
	}
	return s.accounts.UpdateUser(ctx, u.ID, func(u *User) (AccountEvent, error) {
		u.PasswordHash, u.MustChangePassword = hash, false
		return s.accountEvent(u.ID, AccountPasswordChanged, CommandLine), nil
	}, nil)
}

// ResetPasswordByUsername is ResetPassword from the command line.
func (s *Service) ResetPasswordByUsername(ctx context.Context, username string) (User, string, error) {
	u, err := s.accounts.UserByUsername(ctx, username)
	if err != nil {
		return User{}, "", err
	}
	return s.resetPassword(ctx, CommandLine, u.ID)
}

// SetActiveByUsername is SetUserActive from the command line.
func (s *Service) SetActiveByUsername(ctx context.Context, username string, active bool) (User, error) {
	u, err := s.accounts.UserByUsername(ctx, username)
	if err != nil {
		return User{}, err
	}
	return s.setUserActive(ctx, CommandLine, u.ID, active)
}

// passwordAlphabet leaves out characters read alike (0 O o, 1 l I) and the
// ones hard to say over the phone.
const passwordAlphabet = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// NewPassword is a random 12-character password of unambiguous letters and
// digits (about 70 bits), for a reset.
func NewPassword() string {
	return randomString(12, passwordAlphabet)
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	max := byte(len(alphabet))
	limit := 256 - 256%int(max) // reject bytes that would favour the first letters
	buf := make([]byte, 1)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		if int(buf[0]) < limit {
			b[i] = alphabet[buf[0]%max]
			i++
		}
	}
	return string(b)
}
