package service

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind classifies an Error; the HTTP layer maps each kind to one status.
type Kind int

const (
	KindInvalid         Kind = iota + 1 // a field of the request breaks a rule (422)
	KindBadRequest                      // a parameter or body cannot be read at all (400)
	KindUnauthenticated                 // no valid session (401)
	KindForbidden                       // authenticated, but not allowed (403)
	KindNotFound                        // absent, or none of the caller's business (404)
	KindConflict                        // the current state forbids it (409)
	KindTooMany                         // throttled (429)
	KindUnavailable                     // the database cannot do it now; retry later (503)
)

// HTTPStatus is the status a kind answers with, the one mapping the API's
// problems and the console's pages share (the numbers above).
func (k Kind) HTTPStatus() int {
	switch k {
	case KindInvalid:
		return 422
	case KindBadRequest:
		return 400
	case KindUnauthenticated:
		return 401
	case KindForbidden:
		return 403
	case KindNotFound:
		return 404
	case KindConflict:
		return 409
	case KindTooMany:
		return 429
	case KindUnavailable:
		return 503
	}
	return 500
}

// FieldError names one offending field of a request. Code is stable and
// machine-readable, a key of the field message catalogue (messages.go);
// Args are the values its message names, in order; Message is the English
// sentence made from them. Make one with NewFieldError.
type FieldError struct {
	Field   string
	Code    string
	Args    []string
	Message string
}

// Error is the domain's error value. Code is stable and machine-readable;
// Detail is for people.
type Error struct {
	Kind       Kind
	Code       string
	Detail     string
	Fields     []FieldError
	Version    int           // the current version, for version conflicts
	RetryAfter time.Duration // for throttling
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Code + ": " + e.Detail
	}
	fields := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		fields[i] = f.Field + ": " + f.Message
	}
	return fmt.Sprintf("%s: %s (%s)", e.Code, e.Detail, strings.Join(fields, "; "))
}

// Sentinels for errors.Is; every *Error with the same kind and code matches.
var (
	ErrNotFound        = &Error{Kind: KindNotFound, Code: "not_found", Detail: "not found"}
	ErrDuplicate       = &Error{Kind: KindConflict, Code: "duplicate", Detail: "already exists"}
	ErrVersionConflict = &Error{Kind: KindConflict, Code: "version_conflict", Detail: "the errand was changed by someone else; reload it"}
	ErrUnauthenticated = &Error{Kind: KindUnauthenticated, Code: "unauthenticated", Detail: "sign in first"}
	ErrForbidden       = &Error{Kind: KindForbidden, Code: "forbidden", Detail: "your role may not do this"}
	// ErrStorageFull: the database cannot write because its disk is full;
	// nothing was changed, and it writes again by itself once space returns.
	ErrStorageFull = &Error{Kind: KindUnavailable, Code: "storage_full", Detail: "the database cannot write now (its disk is full); nothing was changed, try again later", RetryAfter: 10 * time.Second}
)

// Is matches errors of the same kind and code, so callers can test against
// the sentinels while the returned errors carry their own details.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return e.Kind == t.Kind && e.Code == t.Code
}

// VersionConflict reports that the errand is at version current, not the
// one the request was made against.
func VersionConflict(current int) error {
	return &Error{Kind: KindConflict, Code: "version_conflict", Version: current,
		Detail: "the errand was changed by someone else (now at version " + itoa(current) + "); reload it and try again"}
}

// NotFound reports that what names is absent (or hidden from the caller).
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Detail: what + " not found"}
}

// Duplicate reports a unique value already taken; code says which.
func Duplicate(field, code string, args ...string) *Error {
	fe := NewFieldError(field, code, args...)
	return &Error{Kind: KindConflict, Code: "duplicate", Detail: fe.Message, Fields: []FieldError{fe}}
}

// Conflict reports that the current state forbids the request.
func Conflict(code, detail string) *Error {
	return &Error{Kind: KindConflict, Code: code, Detail: detail}
}

// Forbidden reports an authenticated caller without the right.
func Forbidden(code, detail string) *Error {
	return &Error{Kind: KindForbidden, Code: code, Detail: detail}
}

// Invalid reports fields that break a rule.
func Invalid(fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: "validation_failed", Detail: "some fields are not valid", Fields: fields}
}

// InvalidField is Invalid for a single field.
func InvalidField(field, code string, args ...string) *Error {
	return Invalid(NewFieldError(field, code, args...))
}

// BadParam reports a parameter that cannot be read.
func BadParam(field, code string, args ...string) *Error {
	return badParam(NewFieldError(field, code, args...))
}

func badParam(fe FieldError) *Error {
	return &Error{Kind: KindBadRequest, Code: "invalid_parameter", Detail: fe.Message, Fields: []FieldError{fe}}
}

// TooMany reports throttling, with when to retry.
func TooMany(code, detail string, retry time.Duration) *Error {
	return &Error{Kind: KindTooMany, Code: code, Detail: detail, RetryAfter: retry}
}

// fields collects field errors and returns them as one Invalid error.
type fields []FieldError

func (f *fields) add(field, code string, args ...string) {
	*f = append(*f, NewFieldError(field, code, args...))
}

func (f fields) err() error {
	if len(f) == 0 {
		return nil
	}
	return Invalid(f...)
}
