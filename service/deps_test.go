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
		for _, banned := range []string{"net/http", "github.com/labstack/echo", "gorm.io/", "database/sql", "daiban/store", "daiban/api"} {
			if d == banned || strings.HasPrefix(d, banned) {
				t.Errorf("service depends on %s", d)
			}
		}
	}
}
