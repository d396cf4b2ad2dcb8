package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"daiban/internal/apitest"
)

// The request paths through the whole middleware stack, in process: CPU per
// request without the network, for comparing changes with benchstat.
//
//	go test ./api -run '^$' -bench . -count 6 > new.txt; benchstat old.txt new.txt
func BenchmarkRequests(b *testing.B) {
	// The per-client limit of public lookups would refuse a benchmark loop.
	env := apitest.New(b, apitest.Options{PublicRate: 1e9})
	agent := env.Login("ag1a")
	e := register(b, env, agent, env.F.ItemTownship)
	e = step(b, env, agent, e, "forward", nil)
	serve := func(b *testing.B, method, path, token string) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(method, path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			rec := httptest.NewRecorder()
			env.API.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
		}
	}
	b.Run("healthz", func(b *testing.B) { serve(b, "GET", "/healthz", "") })
	b.Run("public-lookup", func(b *testing.B) {
		serve(b, "GET", "/api/v1/public/receipts/"+e.ReceiptNo+"?code="+*apitestCode(env, e), "")
	})
	b.Run("errand-detail", func(b *testing.B) { serve(b, "GET", "/api/v1/errands/"+e.ID, agent) })
}

// apitestCode reads an errand's verification code as its agent sees it.
func apitestCode(env *apitest.Env, e errand) *string {
	var full errand
	env.Get("/api/v1/errands/"+e.ID, env.Login("ag1a")).JSON(env.T, &full)
	return full.VerifyCode
}
