package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"daiban/internal/apitest"
	"daiban/service"
)

// TestPublicLookupBruteForce plays a client guessing the 6-digit code of a
// receipt it does not hold: 1,000 guesses, the right code among them at a
// random place after the fifth. It gets five "no such receipt" answers, then
// only 429s with Retry-After, the right code too, and never the errand.
// Guessing receipt numbers as well as codes fares no better. An hour later
// the same address reads it with the right code (the holder, from any
// other address, never waited: see TestLookupStrangerCannotLockHolder).
func TestPublicLookupBruteForce(t *testing.T) {
	env := apitest.New(t)
	e := register(t, env, env.Login("ag1a"), env.F.ItemTownship)
	code := *e.VerifyCode
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	rightAt := 5 + rng.IntN(995)
	answers := map[int]int{}
	leaked := func(r *apitest.Response) bool {
		body := string(r.Body)
		return r.Status == http.StatusOK || strings.Contains(body, "timeline") || strings.Contains(body, "applicant_name") || strings.Contains(body, "张")
	}
	for i := 0; i < 1000; i++ {
		guess := fmt.Sprintf("%06d", rng.IntN(1_000_000))
		if i == rightAt {
			guess = code
		} else if guess == code {
			continue
		}
		r := env.Get("/api/v1/public/receipts/"+e.ReceiptNo+"?code="+guess, "")
		answers[r.Status]++
		if leaked(r) {
			t.Fatalf("guess %d (%s) got the errand: %d %s", i, guess, r.Status, r.Body)
		}
		if r.Status == http.StatusTooManyRequests && r.Header.Get("Retry-After") == "" {
			t.Fatalf("a 429 without Retry-After")
		}
		if i < 5 && r.Status != http.StatusNotFound || i >= 5 && r.Status != http.StatusTooManyRequests {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
	// Guessing numbers too: neighbours of the real number with random codes.
	var seq int64 = 1
	for i := 0; i < 200; i++ {
		no := service.FormatReceiptNo(env.Clock.Now(), seq+int64(i))
		r := env.Get(fmt.Sprintf("/api/v1/public/receipts/%s?code=%06d", no, rng.IntN(1_000_000)), "")
		answers[r.Status]++
		if leaked(r) {
			t.Fatalf("guessing %s got an errand: %s", no, r.Body)
		}
	}
	t.Logf("1,200 guesses (the right code at guess %d): answers by status %v; no errand shown", rightAt+1, answers)
	env.Clock.Advance(61 * time.Minute)
	apitest.Expect(t, env.Get("/api/v1/public/receipts/"+e.ReceiptNo+"?code="+code, ""), http.StatusOK)
}
