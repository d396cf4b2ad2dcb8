package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"

	"daiban/service"
)

// requestValidator checks request shapes (presence, lengths, enumerations)
// and names fields by their JSON paths; the service checks the rules.
type requestValidator struct{ v *validator.Validate }

func newValidator() *requestValidator {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return &requestValidator{v: v}
}

// Validate implements echo.Validator.
func (rv *requestValidator) Validate(i any) error {
	err := rv.v.Struct(i)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err
	}
	fields := make([]ProblemField, 0, len(verrs))
	for _, fe := range verrs {
		ns := fe.Namespace()
		if _, rest, ok := strings.Cut(ns, "."); ok {
			ns = rest // drop the struct's own name
		}
		fields = append(fields, problemField(fieldErrorOf(ns, fe)))
	}
	return &httpError{status: http.StatusUnprocessableEntity, code: "validation_failed", detail: "some fields are not valid", fields: fields}
}

// fieldErrorOf says a failed shape check as a service field error, so it
// has a code and both languages like every other.
func fieldErrorOf(field string, fe validator.FieldError) service.FieldError {
	switch fe.Tag() {
	case "required":
		return service.NewFieldError(field, "required")
	case "max":
		switch fe.Kind() {
		case reflect.Slice:
			return service.NewFieldError(field, "too_many_entries", fe.Param())
		case reflect.String:
			return service.NewFieldError(field, "too_long", fe.Param())
		}
		return service.NewFieldError(field, "at_most", fe.Param())
	case "lte":
		return service.NewFieldError(field, "at_most", fe.Param())
	case "min":
		if fe.Kind() == reflect.String {
			return service.NewFieldError(field, "too_short", fe.Param())
		}
		return service.NewFieldError(field, "at_least", fe.Param())
	case "gte":
		return service.NewFieldError(field, "at_least", fe.Param())
	case "oneof":
		return service.NewFieldError(field, "one_of", strings.ReplaceAll(fe.Param(), " ", ", "))
	case "len":
		return service.NewFieldError(field, "exact_length", fe.Param())
	}
	return service.NewFieldError(field, "not_valid", fe.Tag())
}

// body is a request body read once: its bytes hash the idempotency key.
type body struct {
	raw []byte
}

// hash identifies a request for idempotency: method, path and body.
func (b body) hash(c echo.Context) string {
	h := sha256.New()
	h.Write([]byte(c.Request().Method + " " + c.Request().URL.Path + "\n"))
	h.Write(b.raw)
	return hex.EncodeToString(h.Sum(nil))
}

// bindJSON reads a JSON body strictly: the right media type, valid UTF-8,
// one object, no unknown fields, every type right, then the shape checks.
func bindJSON(c echo.Context, dst any) (body, error) {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/json" {
		return body{}, &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", detail: "send the body as application/json"}
	}
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		var he *echo.HTTPError // the body limit, hit while reading a body sent without a length
		if errors.As(err, &mbe) || errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
			return body{}, &httpError{status: http.StatusRequestEntityTooLarge, code: "body_too_large", detail: "the request body is too large"}
		}
		return body{}, badRequest("unreadable_body", "the request body could not be read")
	}
	if !utf8.Valid(raw) {
		return body{}, badRequest("invalid_utf8", "the body is not valid UTF-8")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return body{}, badRequest("malformed_json", "the body is empty; send a JSON object")
	}
	// JSON v2: member names match exactly (no "Item_Code" for item_code),
	// a name given twice is refused rather than the last one winning.
	if err := jsonv2.Unmarshal(raw, dst, jsonv2.RejectUnknownMembers(true)); err != nil {
		return body{}, decodeError(err)
	}
	if field, ok := findNUL(reflect.ValueOf(dst), ""); ok {
		return body{}, &httpError{status: http.StatusUnprocessableEntity, code: "validation_failed", detail: "some fields are not valid",
			fields: []ProblemField{problemField(service.NewFieldError(field, "nul_characters"))}}
	}
	if err := c.Validate(dst); err != nil {
		return body{}, err
	}
	return body{raw: raw}, nil
}

func decodeError(err error) error {
	var syn *jsontext.SyntacticError
	var sem *jsonv2.SemanticError
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName) && errors.As(err, &syn):
		return badRequest("duplicate_field", "the body gives a field twice",
			problemField(service.NewFieldError(fieldPath(syn.JSONPointer), "given_twice")))
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed_json", "the body is not valid JSON")
	case errors.Is(err, jsonv2.ErrUnknownName) && errors.As(err, &sem):
		return badRequest("unknown_field", "the body has a field this request does not take",
			problemField(service.NewFieldError(fieldPath(sem.JSONPointer), "unknown_field")))
	case errors.As(err, &sem) && sem.GoType != nil:
		field := fieldPath(sem.JSONPointer)
		if field == "" {
			return badRequest("invalid_type", "the body must be a JSON object")
		}
		return badRequest("invalid_type", "a field has the wrong type",
			problemField(service.NewFieldError(field, "wrong_type", jsonType(sem.GoType))))
	}
	return badRequest("malformed_json", "the body is not valid JSON")
}

// fieldPath writes a JSON pointer as the field names problems use:
// /applicant/id_number is applicant.id_number, /materials/0 is materials[0].
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return t.String()
}

// findNUL finds a string holding a NUL character ("\u0000" in JSON) and
// names it by its JSON path. No text field takes one, and PostgreSQL
// refuses them in text, so they stop here rather than as a database error.
func findNUL(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return findNUL(v.Elem(), path)
	case reflect.String:
		return path, strings.IndexByte(v.String(), 0) >= 0
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if f, ok := findNUL(v.Index(i), path+"["+strconv.Itoa(i)+"]"); ok {
				return f, true
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			sf := v.Type().Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if !sf.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if path != "" {
				name = path + "." + name
			}
			if f, ok := findNUL(v.Field(i), name); ok {
				return f, true
			}
		}
	}
	return "", false
}
