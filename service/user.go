package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a user may do; each role belongs at one level of the tree.
type Role string

const (
	RoleAgent           Role = "agent"
	RoleTownshipOfficer Role = "township_officer"
	RoleCityOfficer     Role = "city_officer"
	RoleSupervisor      Role = "supervisor"
	RoleAdmin           Role = "admin"
	// RoleGridInspector (网格员) walks one grid and reports what residents
	// raise there. A village agent reports for the grids of the village too.
	RoleGridInspector Role = "grid_inspector"
	// RoleHotlineOperator (12319 热线话务员) registers calls at the city centre.
	RoleHotlineOperator Role = "hotline_operator"
	// RoleDepartmentOfficer handles the 民情 reports dispatched to a
	// functional department (职能部门).
	RoleDepartmentOfficer Role = "department_officer"
)

// Roles lists every role, for validation and exhaustive tests.
var Roles = []Role{RoleAgent, RoleTownshipOfficer, RoleCityOfficer, RoleSupervisor, RoleAdmin, RoleGridInspector, RoleHotlineOperator, RoleDepartmentOfficer}

// Level is the organisation level a user of this role must belong to.
func (r Role) Level() Level {
	switch r {
	case RoleAgent:
		return LevelVillage
	case RoleTownshipOfficer:
		return LevelTownship
	case RoleCityOfficer, RoleSupervisor, RoleAdmin, RoleHotlineOperator:
		return LevelCity
	case RoleGridInspector:
		return LevelGrid
	case RoleDepartmentOfficer:
		return LevelDepartment
	}
	return ""
}

// Officer reports whether the role decides errands at a service centre.
func (r Role) Officer() bool { return r == RoleTownshipOfficer || r == RoleCityOfficer }

// Staff reports whether the role may read errands.
func (r Role) Staff() bool { return r.Level() != "" }

// User is an account. PasswordHash never leaves the service.
type User struct {
	ID           string
	Username     string
	DisplayName  string
	Phone        string
	Role         Role
	OrgID        string
	PasswordHash []byte
	Active       bool
	// MustChangePassword: the password was set by someone else (an admin's
	// reset); the user may do nothing but change it once signed in.
	MustChangePassword bool
	CreatedAt          time.Time
}

// Actor is the authenticated caller of a request, with its organisation.
type Actor struct {
	UserID   string
	Username string
	Name     string
	Phone    string
	Role     Role
	OrgID    string
	OrgPath  string
	OrgLevel Level
	OrgName  string
	// MustChangePassword: signed in with a password an admin reset; until
	// it is changed, changing it and signing out are all this actor may do.
	MustChangePassword bool
}

// Session is a bearer token's server-side record; only the hash is stored.
// It keeps the actor as signed in, so a request is authenticated by one
// read: users' names and organisations never change once created, and every
// change to an account (password, reset, disabling) ends its sessions in the
// same transaction (AccountStore.UpdateUser).
type Session struct {
	TokenHash []byte
	Actor     Actor
	CreatedAt time.Time
	ExpiresAt time.Time
}

// UserInput is what an admin sends to create a user.
type UserInput struct {
	Username    string
	Password    string
	DisplayName string
	Phone       string
	Role        Role
	OrgID       string
	// MustChangePassword: the password is one the admin hands over (the
	// console makes one up); the user sets their own at the first sign-in.
	MustChangePassword bool
}

// UserFilter narrows a user listing.
type UserFilter struct {
	OrgID string
	Under string // an organisation's path: only the accounts in its subtree (Users sets it from the reader's scope)
	Role  Role
	Query string // part of the username or of the display name
	After string // keyset cursor: the last username seen
	Limit int
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`)

// CreateUser adds an account; only an admin may, and the organisation's level
// must fit the role.
func (s *Service) CreateUser(ctx context.Context, a Actor, in UserInput) (User, error) {
	if a.Role != RoleAdmin {
		return User{}, ErrForbidden
	}
	return s.createUser(ctx, a, in)
}

// Bootstrap creates a user without an acting admin: the first admin, the demo
// and the command line use it.
func (s *Service) Bootstrap(ctx context.Context, in UserInput) (User, error) {
	return s.createUser(ctx, CommandLine, in)
}

func (s *Service) createUser(ctx context.Context, by Actor, in UserInput) (User, error) {
	in.Username = strings.TrimSpace(in.Username)
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	in.Phone = strings.TrimSpace(in.Phone)
	var f fields
	if !usernameRE.MatchString(in.Username) {
		f.add("username", "invalid_username")
	}
	checkPassword(&f, "password", in.Password)
	checkText(&f, "display_name", in.DisplayName, 1, 40)
	if in.Phone != "" && !ValidPhone(in.Phone) {
		f.add("phone", "invalid_phone")
	}
	if in.Role.Level() == "" {
		f.add("role", "unknown_role")
	}
	if in.OrgID == "" {
		f.add("org_id", "required")
	}
	if err := f.err(); err != nil {
		return User{}, err
	}
	org, err := s.org(ctx, in.OrgID)
	if err != nil {
		if isNotFound(err) {
			return User{}, InvalidField("org_id", "no_such_org")
		}
		return User{}, err
	}
	if org.Level != in.Role.Level() {
		return User{}, InvalidField("org_id", "role_level_mismatch", string(in.Role), string(in.Role.Level()), string(org.Level))
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.passwordCost)
	if err != nil {
		return User{}, err
	}
	u := User{
		ID: s.newID(), Username: in.Username, DisplayName: in.DisplayName, Phone: in.Phone,
		Role: in.Role, OrgID: org.ID, PasswordHash: hash, Active: true, MustChangePassword: in.MustChangePassword, CreatedAt: s.now(),
	}
	if err := s.accounts.CreateUser(ctx, u, s.accountEvent(u.ID, AccountCreated, by)); err != nil {
		return User{}, err
	}
	return u, nil
}

// Users lists accounts in username order; admins and supervisors only.
func (s *Service) Users(ctx context.Context, a Actor, f UserFilter) ([]User, error) {
	if a.Role != RoleAdmin && a.Role != RoleSupervisor {
		return nil, ErrForbidden
	}
	// A supervisor reads the accounts of the own city, as its errands: a
	// province's tree holds several cities side by side.
	f.Under = a.ListUnder()
	f.Limit = clampLimit(f.Limit)
	return s.accounts.Users(ctx, f)
}

// Sign-in budgets. Every attempt is claimed before its password is
// checked and given back only if the password was right, so at most
// loginAccount.max wrong passwords per account reach bcrypt in a window,
// however many arrive at once on however many instances; and one client
// address tries at most loginClient.max wrong passwords across all
// usernames. A stranger can hold an account's sign-in for a window this
// way; that is the price of a bound that address rotation cannot lift.
var (
	loginAccount = budget{max: 5, window: 15 * time.Minute}
	loginClient  = budget{max: 20, window: 15 * time.Minute}
)

// Login checks a password and opens a session. The error for a wrong
// password and for an unknown user is the same.
func (s *Service) Login(ctx context.Context, username, password, client string) (token string, sess Session, u User, err error) {
	username = strings.TrimSpace(username)
	var f fields
	if username == "" {
		f.add("username", "required")
	} else if !utf8.ValidString(username) || hasControl(username) {
		f.add("username", "not_plain_text")
	}
	if password == "" {
		f.add("password", "required")
	}
	if err := f.err(); err != nil {
		return "", Session{}, User{}, err
	}
	now := s.now()
	byClient, byAccount := "client "+clientKey(client), accountThrottleKey(username)
	if err := s.claim(ctx, ThrottleLogin, byClient, loginClient, now, "too_many_attempts", "too many failed sign-ins from this address"); err != nil {
		return "", Session{}, User{}, err
	}
	if err := s.claim(ctx, ThrottleLogin, byAccount, loginAccount, now, "too_many_attempts", "too many failed sign-ins for this username"); err != nil {
		return "", Session{}, User{}, err
	}
	u, err = s.accounts.UserByUsername(ctx, username)
	if err != nil && !isNotFound(err) {
		return "", Session{}, User{}, err
	}
	hash := s.dummyHash() // an unknown user costs as much time as a wrong password
	if err == nil {
		hash = u.PasswordHash
	}
	if err := s.logins.Acquire(ctx, 1); err != nil {
		return "", Session{}, User{}, err
	}
	wrong := bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil
	s.logins.Release(1)
	if wrong || err != nil {
		return "", Session{}, User{}, &Error{Kind: KindUnauthenticated, Code: "bad_credentials", Detail: "wrong username or password"}
	}
	for _, key := range []string{byAccount, byClient} {
		if err := s.accounts.ReleaseAttempt(ctx, ThrottleLogin, key); err != nil {
			return "", Session{}, User{}, err
		}
	}
	// Only the holder of the right password learns that the account is
	// disabled, and whom to ask.
	if !u.Active {
		return "", Session{}, User{}, ErrAccountDisabled
	}
	org, err := s.org(ctx, u.OrgID)
	if err != nil {
		return "", Session{}, User{}, err
	}
	token, sess = s.newSession(ActorOf(u, org), now)
	if err := s.accounts.CreateSession(ctx, sess); err != nil {
		return "", Session{}, User{}, err
	}
	return token, sess, u, nil
}

func (s *Service) newSession(a Actor, now time.Time) (string, Session) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	return token, Session{TokenHash: HashToken(token), Actor: a, CreatedAt: now, ExpiresAt: now.Add(s.sessionTTL)}
}

// ActorOf is the user u of organisation org as an actor.
func ActorOf(u User, org Org) Actor {
	return Actor{UserID: u.ID, Username: u.Username, Name: u.DisplayName, Phone: u.Phone, Role: u.Role,
		OrgID: org.ID, OrgPath: org.Path, OrgLevel: org.Level, OrgName: org.Name, MustChangePassword: u.MustChangePassword}
}

// HashToken is how a bearer token is stored and looked up.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Authenticate resolves a bearer token into the acting user.
func (s *Service) Authenticate(ctx context.Context, token string) (Actor, error) {
	if token == "" || len(token) > 100 {
		return Actor{}, ErrUnauthenticated
	}
	a, err := s.accounts.ActorBySession(ctx, HashToken(token), s.now())
	if err != nil {
		if isNotFound(err) {
			return Actor{}, &Error{Kind: KindUnauthenticated, Code: "invalid_token", Detail: "the token is unknown, expired or revoked; sign in again"}
		}
		return Actor{}, err
	}
	return a, nil
}

// Logout revokes a token.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.accounts.DeleteSession(ctx, HashToken(token))
}

// accountThrottleKey names the sign-in attempts counted for one username.
func accountThrottleKey(username string) string { return "user " + username }
