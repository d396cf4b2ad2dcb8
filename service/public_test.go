package service

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVerifyCodesComparedInConstantTime reads the source: the verification
// code is checked with subtle.ConstantTimeCompare in LookupReceipt, and
// nowhere else in the program is it compared with == or !=, with a
// bytes/strings function, or in SQL (where the database would compare it
// byte by byte): the code never goes into a query, only the receipt number.
func TestVerifyCodesComparedInConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	sqlCompare := regexp.MustCompile(`(?i)verify_code\s*(=|<>|!=|like|in\b)`)
	constantTime, files := 0, 0
	for _, dir := range []string{".", "../api", "../web", "../store", "../cmd/daiban"} {
		paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files++
			if loc := sqlCompare.FindIndex(src); loc != nil {
				t.Errorf("%s compares the verification code in SQL: %q", path, src[loc[0]:loc[1]])
			}
			f, err := parser.ParseFile(fset, path, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			// In LookupReceipt the code arrives as code and is read into want.
			names := map[string]bool{}
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.FuncDecl:
					names = map[string]bool{}
					if x.Name.Name == "LookupReceipt" {
						names = map[string]bool{"code": true, "want": true}
					}
				case *ast.BinaryExpr:
					// Against the empty string a comparison only asks
					// whether there is a code to show, and leaks nothing.
					if (x.Op == token.EQL || x.Op == token.NEQ) && (mentionsCode(x.X, names) || mentionsCode(x.Y, names)) && !isEmptyString(x.X) && !isEmptyString(x.Y) {
						t.Errorf("%s: the verification code is compared with %s", fset.Position(x.Pos()), x.Op)
					}
				case *ast.CallExpr:
					sel, ok := x.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					pkg, _ := sel.X.(*ast.Ident)
					if pkg == nil {
						return true
					}
					call := pkg.Name + "." + sel.Sel.Name
					if call == "subtle.ConstantTimeCompare" {
						constantTime++
						return true
					}
					if (pkg.Name == "bytes" || pkg.Name == "strings") && strings.Contains("Equal EqualFold Compare HasPrefix Contains", sel.Sel.Name) {
						for _, arg := range x.Args {
							if mentionsCode(arg, names) {
								t.Errorf("%s: the verification code is compared with %s", fset.Position(x.Pos()), call)
							}
						}
					}
				}
				return true
			})
		}
	}
	if files < 20 || constantTime == 0 {
		t.Fatalf("read %d files and found %d constant-time comparisons; want the one in LookupReceipt", files, constantTime)
	}
}

// mentionsCode reports whether an expression reads the verification code:
// a VerifyCode field, or one of the names that hold it in the function at
// hand; its length (len(code)) is no secret, nor the verdict of a
// constant-time comparison.
func mentionsCode(e ast.Expr, names map[string]bool) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "len" {
				return false
			}
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "ConstantTimeCompare" {
				return false // its result is compared, not the code
			}
		case *ast.SelectorExpr:
			if x.Sel.Name == "VerifyCode" {
				found = true
			}
		case *ast.Ident:
			if x.Name == "VerifyCode" || names[x.Name] {
				found = true
			}
		}
		return !found
	})
	return found
}

func isEmptyString(e ast.Expr) bool {
	b, ok := e.(*ast.BasicLit)
	return ok && b.Kind == token.STRING && (b.Value == `""` || b.Value == "``")
}
