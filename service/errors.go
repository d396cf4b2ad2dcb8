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

// FieldError names one offending field of a request.
type FieldError struct {
	Field   string
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

// Duplicate reports a unique value already taken.
func Duplicate(field, detail string) *Error {
	return &Error{Kind: KindConflict, Code: "duplicate", Detail: detail, Fields: []FieldError{{Field: field, Message: detail}}}
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
func InvalidField(field, message string) *Error {
	return Invalid(FieldError{Field: field, Message: message})
}

// BadParam reports a parameter that cannot be read.
func BadParam(field, message string) *Error {
	return &Error{Kind: KindBadRequest, Code: "invalid_parameter", Detail: message, Fields: []FieldError{{Field: field, Message: message}}}
}

// TooMany reports throttling, with when to retry.
func TooMany(code, detail string, retry time.Duration) *Error {
	return &Error{Kind: KindTooMany, Code: code, Detail: detail, RetryAfter: retry}
}

// fields collects field errors and returns them as one Invalid error.
type fields []FieldError

func (f *fields) add(field, message string) {
	*f = append(*f, FieldError{Field: field, Message: message})
}

func (f fields) err() error {
	if len(f) == 0 {
		return nil
	}
	return Invalid(f...)
}
