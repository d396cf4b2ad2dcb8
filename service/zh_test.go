package service

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// codeArg is where each constructor of a field error takes its code.
var codeArg = map[string]int{
	"add": 1, "BadParam": 1, "InvalidField": 1, "Duplicate": 1, "NewFieldError": 1,
	"dup": 2, // store: a unique violation said as a field error code
}

// codeSources return a field error code for their callers to pass on; the
// codes are the string literals they return. errorCodeSources do the same
// for error codes.
var (
	codeSources      = map[string]bool{"CheckIDNumber": true, "checkWebhookURL": true}
	errorCodeSources = map[string]bool{"codeOfStatus": true}
)

// sourceCodes is what the non-test sources of the packages that build
// service errors say: error codes and field error codes, each with where
// it was seen, and the problems the scan itself found.
type sourceCodes struct {
	codes, fieldCodes map[string]string
	argCounts         map[string][]int // field code → the numbers of args its call sites pass
	problems          []string
}

func scanSources(t *testing.T) sourceCodes {
	t.Helper()
	s := sourceCodes{codes: map[string]string{}, fieldCodes: map[string]string{}, argCounts: map[string][]int{}}
	var files []string
	for _, dir := range []string{".", "../api", "../web", "../report", "../store"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	fset := token.NewFileSet()
	lit := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		v, err := strconv.Unquote(b.Value)
		return v, err == nil
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		inService := filepath.Dir(name) == "."
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			into := s.fieldCodes
			switch {
			case inService && codeSources[fd.Name.Name]:
			case errorCodeSources[fd.Name.Name]:
				into = s.codes
			default:
				continue
			}
			ast.Inspect(fd, func(n ast.Node) bool {
				if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
					if v, ok := lit(r.Results[0]); ok && v != "" {
						into[v] = fset.Position(r.Pos()).String()
					}
				}
				return true
			})
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				var fn string
				switch c := x.Fun.(type) {
				case *ast.Ident:
					fn = c.Name
				case *ast.SelectorExpr:
					fn = c.Sel.Name
				}
				at := fset.Position(x.Pos()).String()
				switch fn {
				case "Conflict", "Forbidden", "TooMany", "badRequest":
					if len(x.Args) > 0 {
						if v, ok := lit(x.Args[0]); ok {
							s.codes[v] = at
						}
					}
				case "newProblem":
					if len(x.Args) > 1 {
						if v, ok := lit(x.Args[1]); ok {
							s.codes[v] = at
						}
					}
				}
				i, ok := codeArg[fn]
				if !ok || len(x.Args) <= i {
					return true
				}
				v, ok := lit(x.Args[i])
				if !ok {
					// Only a constructor passing on its parameter, or a
					// caller passing on what a code source returned.
					if id, isIdent := x.Args[i].(*ast.Ident); !isIdent || id.Name != "code" {
						s.problems = append(s.problems, at+": "+fn+" takes its code from an expression; write the code as a literal so this test can see it")
					}
					return true
				}
				s.fieldCodes[v] = at
				if x.Ellipsis == token.NoPos {
					s.argCounts[v] = append(s.argCounts[v], len(x.Args)-i-1)
				}
			case *ast.CompositeLit:
				typ := ""
				switch c := x.Type.(type) {
				case *ast.Ident:
					typ = c.Name
				case *ast.SelectorExpr:
					typ = c.Sel.Name
				}
				for _, el := range x.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key, ok := kv.Key.(*ast.Ident)
					if !ok {
						continue
					}
					switch {
					case typ == "Error" && key.Name == "Code", typ == "httpError" && key.Name == "code":
						if v, ok := lit(kv.Value); ok {
							s.codes[v] = fset.Position(kv.Pos()).String()
						}
					case typ == "FieldError" && key.Name == "Message" && filepath.Base(name) != "messages.go":
						s.problems = append(s.problems, fset.Position(x.Pos()).String()+": a FieldError written by hand; make it with NewFieldError so its message comes from the catalogue")
					}
				}
			}
			return true
		})
	}
	return s
}

// TestZhCatalogueIsComplete reads the sources of service, api, web, report
// and store for every error code (the service's and the HTTP layer's own)
// and field error code they can emit, and fails for any the catalogue
// (zh.go, messages.go) cannot say: a new code must come with its Chinese,
// and a new field error code with its English too.
func TestZhCatalogueIsComplete(t *testing.T) {
	s := scanSources(t)
	if len(s.codes) < 20 || len(s.fieldCodes) < 80 {
		t.Fatalf("found only %d codes and %d field codes: the scan has stopped seeing them", len(s.codes), len(s.fieldCodes))
	}
	for _, p := range s.problems {
		t.Error(p)
	}
	for code, at := range s.codes {
		if ZhCode(code) == "" {
			t.Errorf("%s: code %q has no Chinese in zh.go", at, code)
		}
	}
	for code, at := range s.fieldCodes {
		m, ok := fieldMessages[code]
		if !ok {
			t.Errorf("%s: field error code %q is not in the catalogue (messages.go)", at, code)
			continue
		}
		for _, n := range s.argCounts[code] {
			if want := placeholders(m.en); n != want {
				t.Errorf("%s: field error code %q given %d args; its message names %d", at, code, n, want)
			}
		}
	}
	for code := range fieldMessages {
		if _, ok := s.fieldCodes[code]; !ok {
			t.Errorf("field error code %q is in the catalogue but nothing uses it", code)
		}
	}
	t.Logf("%d codes and %d field error codes, all in the catalogue", len(s.codes), len(s.fieldCodes))
}

// Every entry of the catalogue is a snake_case code with both languages,
// and each language names only the args the English does.
func TestFieldCatalogueEntries(t *testing.T) {
	for code, m := range fieldMessages {
		if code == "" || strings.Trim(code, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("code %q is not snake_case", code)
		}
		if m.en == "" || m.zh == "" {
			t.Errorf("%s: en %q, zh %q: both are needed", code, m.en, m.zh)
			continue
		}
		n := placeholders(m.en)
		args := make([]string, n)
		for i := range args {
			args[i] = "«" + strconv.Itoa(i) + "»"
		}
		fe := NewFieldError("f", code, args...)
		zh := ZhField(fe)
		for _, msg := range []string{fe.Message, zh} {
			if strings.Contains(msg, "{") && strings.Contains(msg, "}") {
				t.Errorf("%s: %q names an arg the English does not", code, msg)
			}
		}
		for i := range args {
			if !strings.Contains(fe.Message, args[i]) {
				t.Errorf("%s: the English %q leaves out {%d}", code, m.en, i)
			}
		}
		if fe.Code != code || fe.Field != "f" {
			t.Errorf("%s: NewFieldError gave %+v", code, fe)
		}
	}
}

// Under test, a code the catalogue lacks, or args that do not fit it, stop
// the test that reaches it: no run passes over a message nobody can say.
func TestNewFieldErrorRefusesUnknownCodes(t *testing.T) {
	for _, c := range []struct {
		code string
		args []string
	}{
		{"no_such_code_anywhere", nil},
		{"too_long", nil},               // needs its limit
		{"required", []string{"extra"}}, // names none
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewFieldError(%q, %q) did not panic", c.code, c.args)
				}
			}()
			NewFieldError("f", c.code, c.args...)
		}()
	}
}

func TestFieldMessages(t *testing.T) {
	for _, c := range []struct {
		fe     FieldError
		en, zh string
	}{
		{NewFieldError("name", "too_long", "40"), "at most 40 characters", "最多 40 个字。"},
		{NewFieldError("materials", "missing_material", "户口簿"), "missing: 户口簿", "缺少材料：户口簿。材料不齐全的，请一次性告知申请人补齐后再登记。"},
		{NewFieldError("due_date", "not_after_due_date", "2026-12-11"), "must be later than the current due date 2026-12-11", "须晚于当前承诺办结日期 2026-12-11。"},
		{NewFieldError("status", "unknown_status", `"{1}"`), `unknown status "{1}"`, "没有这种办理状态。"},
		{NewFieldError("applicant.id_number", "id_number_checksum"), "the last character of the ID number does not match: check what you typed", "身份证号码校验位不符，请逐位核对。"},
	} {
		if c.fe.Message != c.en {
			t.Errorf("%s: English %q, want %q", c.fe.Code, c.fe.Message, c.en)
		}
		if got := ZhField(c.fe); got != c.zh {
			t.Errorf("%s: Chinese %q, want %q", c.fe.Code, got, c.zh)
		}
	}
	err := InvalidField("applicant.phone", "invalid_phone")
	if got, want := Zh(err), "联系电话：请填写11位手机号码，或带区号的固定电话（如 0591-28888888）。"; got != want {
		t.Errorf("Zh: %q, want %q", got, want)
	}
}
