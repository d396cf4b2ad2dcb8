package service

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestZhCatalogueIsComplete reads this package's sources for every error
// code and field message it can emit as a literal (Conflict, Forbidden,
// TooMany, NotFound-like constructors, &Error{Code: …}, f.add, BadParam,
// InvalidField, FieldError{…}) and fails for any the Chinese catalogue
// cannot say: a new message must come with its translation.
func TestZhCatalogueIsComplete(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	codes, msgs := map[string]string{}, map[string]string{}
	lit := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
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
				switch fn {
				case "Conflict", "Forbidden", "TooMany":
					if len(x.Args) > 0 {
						if s, ok := lit(x.Args[0]); ok {
							codes[s] = fset.Position(x.Pos()).String()
						}
					}
				case "add", "BadParam", "InvalidField", "Duplicate":
					if len(x.Args) > 1 {
						if s, ok := lit(x.Args[1]); ok {
							msgs[s] = fset.Position(x.Pos()).String()
						}
					}
				}
			case *ast.CompositeLit:
				for _, el := range x.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key, ok := kv.Key.(*ast.Ident)
					if !ok {
						continue
					}
					if s, ok := lit(kv.Value); ok {
						switch key.Name {
						case "Code":
							codes[s] = fset.Position(kv.Pos()).String()
						case "Message":
							msgs[s] = fset.Position(kv.Pos()).String()
						}
					}
				}
			}
			return true
		})
	}
	if len(codes) < 20 || len(msgs) < 40 {
		t.Fatalf("found only %d codes and %d field messages: the scan has stopped seeing them", len(codes), len(msgs))
	}
	for code, at := range codes {
		if ZhCode(code) == "" {
			t.Errorf("%s: code %q has no Chinese in zh.go", at, code)
		}
	}
	for msg, at := range msgs {
		if zh := ZhField("", msg); zh == "填写有误，请核对。" {
			t.Errorf("%s: field message %q has no Chinese in zh.go", at, msg)
		}
	}
	t.Logf("%d codes and %d field messages, all in Chinese", len(codes), len(msgs))
}
