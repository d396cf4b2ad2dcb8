package service

import (
	"strings"
	"testing"
	"time"
)

// TestNewPassword: twelve characters of the unambiguous alphabet, none of
// 0 O o 1 l I, and no two alike in a thousand.
func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		p := NewPassword()
		if len(p) != 12 || strings.Trim(p, passwordAlphabet) != "" || strings.ContainsAny(p, "0Oo1lI") {
			t.Fatalf("NewPassword() = %q", p)
		}
		if seen[p] {
			t.Fatalf("%q twice", p)
		}
		seen[p] = true
	}
}

// TestMinutesLeft: a lockout's wait in whole minutes, rounded up.
func TestMinutesLeft(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1 minute", time.Minute: "1 minute", time.Minute + time.Second: "2 minutes",
		15 * time.Minute: "15 minutes", 4*time.Minute + 30*time.Second: "5 minutes",
	} {
		if got := minutes(d); got != want {
			t.Errorf("minutes(%v) = %q, want %q", d, got, want)
		}
	}
}
