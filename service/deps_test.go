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
