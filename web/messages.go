package web

import (
	"errors"
	"strings"

	"daiban/service"
)

// The service speaks English to API clients; people at a village service
// point read Chinese. Everything a page says about an error comes from the
// service's catalogue by its code (service/zh.go, service/messages.go),
// placed here beside its field.

// formField maps the service's field path to the form's input name.
func formField(f string) string {
	if i := strings.IndexByte(f, '['); i >= 0 {
		f = f[:i]
	}
	return strings.TrimPrefix(f, "applicant.")
}

// zhField translates one field error by its code.
func zhField(fe service.FieldError) string { return service.ZhField(fe) }

// translate is a domain error as one Chinese sentence.
func translate(se *service.Error) string { return service.Zh(se) }

// formError puts a domain error on p: field messages next to their
// fields, the rest at the top of the form. It returns the status to answer
// with; ok is false for an error that is not the user's to fix.
func formError(err error, p *page) (status int, ok bool) {
	var se *service.Error
	if !errors.As(err, &se) {
		return 0, false
	}
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	if len(se.Fields) > 0 && (se.Kind == service.KindInvalid || se.Kind == service.KindBadRequest || se.Kind == service.KindNotFound) {
		for _, f := range se.Fields {
			name := formField(f.Field)
			if _, dup := p.Errors[name]; !dup {
				p.Errors[name] = zhField(f)
			}
		}
		p.Alert = "有 " + itoa(len(p.Errors)) + " 处需要修改，请按红字提示改正后重新提交。"
	} else {
		p.Alert = translate(se)
	}
	return se.Kind.HTTPStatus(), true
}
