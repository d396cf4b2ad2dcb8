package service

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain must not know HTTP or SQL: dependencies point inward.
func TestServiceKnowsNoHTTPOrSQL(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "daiban/service").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list gave too little to judge: %v", deps)
	}
	for _, d := range deps {
		// database/sql/driver is allowed: uuid implements its Valuer.
		if d == "net/http" || d == "database/sql" {
			t.Errorf("service depends on %s", d)
		}
		for _, banned := range []string{"github.com/labstack/echo", "gorm.io/", "daiban/store", "daiban/api", "daiban/web"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("service depends on %s", d)
			}
		}
	}
}

// The two adapters do not lean on each other: the console reads what it
// shares with the API from the service and from report (the downloads and
// the printed form), and report knows no web framework or database.
func TestAdaptersStandApart(t *testing.T) {
	for pkg, banned := range map[string][]string{
		"daiban/web":    {"daiban/api"},
		"daiban/api":    {"daiban/web"},
		"daiban/report": {"daiban/api", "daiban/web", "daiban/store", "github.com/labstack/echo", "gorm.io/"},
	} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list %s gave too little to judge: %v", pkg, deps)
		}
		for _, d := range deps {
			for _, b := range banned {
				if strings.HasPrefix(d, b) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
