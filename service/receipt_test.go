package service

import (
	"strings"
	"testing"
	"time"
)

func TestReceiptNumbers(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, Shanghai)
	seen := map[string]bool{}
	for _, seq := range []int64{1, 2, 31, 32, 1000, 1 << 30, 1 << 35, 1<<40 - 1} {
		no := FormatReceiptNo(at, seq)
		if len(no) > 16 || !strings.HasPrefix(no, "26") {
			t.Errorf("seq %d: %q", seq, no)
		}
		if seen[no] {
			t.Errorf("seq %d repeats %q", seq, no)
		}
		seen[no] = true
		got, err := ParseReceiptNo(no)
		if err != nil || got != no {
			t.Errorf("parse %q = %q, %v", no, got, err)
		}
		// What people type: lower case, spaces, hyphens, O for 0, I or L for 1.
		typed := strings.ToLower(no[:4]) + " " + no[4:7] + "-" + no[7:]
		typed = strings.ReplaceAll(strings.ReplaceAll(typed, "0", "o"), "1", "l")
		if got, err := ParseReceiptNo(typed); err != nil || got != no {
			t.Errorf("typed %q = %q, %v; want %q", typed, got, err, no)
		}
	}
	if n := len(FormatReceiptNo(at, 1)); n != 10 {
		t.Errorf("first receipt has %d characters, want 10", n)
	}
	if a, b := FormatReceiptNo(at, 7), FormatReceiptNo(at.AddDate(1, 0, 0), 7); a[:2] == b[:2] {
		t.Errorf("the year is not in the number: %s %s", a, b)
	}
}

// Every single wrong character and every swap of two different neighbours
// is caught by the check character, across many numbers.
func TestReceiptCheckCatchesTypos(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, Shanghai)
	checked := 0
	for seq := int64(1); seq < 5000; seq += 7 {
		no := FormatReceiptNo(at, seq)
		for i := 0; i < len(no); i++ {
			for _, c := range receiptAlphabet {
				if byte(c) == no[i] {
					continue
				}
				typo := no[:i] + string(c) + no[i+1:]
				if _, err := ParseReceiptNo(typo); err == nil {
					t.Fatalf("%s → %s (position %d) passes", no, typo, i)
				}
				checked++
			}
			if i+1 < len(no) && no[i] != no[i+1] {
				swap := no[:i] + string(no[i+1]) + string(no[i]) + no[i+2:]
				if _, err := ParseReceiptNo(swap); err == nil {
					t.Fatalf("%s → %s (swap at %d) passes", no, swap, i)
				}
				checked++
			}
		}
	}
	if checked < 100000 {
		t.Fatalf("only %d typos checked", checked)
	}
}

func TestParseReceiptNoRejects(t *testing.T) {
	for _, s := range []string{"", "26", "26000000", "260000001RX123456789", "26000000!R", "２６000001R", "26000001U1"} {
		if _, err := ParseReceiptNo(s); err == nil {
			t.Errorf("%q accepted", s)
		} else if e, ok := err.(*Error); !ok || e.Kind != KindBadRequest || e.Fields[0].Field != "receipt_no" {
			t.Errorf("%q: %v, want a bad request naming receipt_no", s, err)
		}
	}
}

func TestVerifyCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c := NewVerifyCode()
		if len(c) != 6 || atoiOK(c) < 0 {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Errorf("200 codes gave only %d distinct values", len(seen))
	}
}

func FuzzParseReceiptNo(f *testing.F) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, Shanghai)
	for _, seq := range []int64{1, 99, 1 << 33} {
		f.Add(FormatReceiptNo(at, seq))
	}
	f.Add("26-0000-01R")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		no, err := ParseReceiptNo(s)
		if err != nil {
			return
		}
		// Whatever parses is canonical, parses to itself, and survives a
		// round trip through its own check.
		if len(no) > 16 || len(no) < 10 {
			t.Fatalf("%q parsed to %q", s, no)
		}
		again, err := ParseReceiptNo(no)
		if err != nil || again != no {
			t.Fatalf("%q → %q → %q, %v", s, no, again, err)
		}
		for i := 0; i < len(no); i++ {
			if !strings.ContainsRune(receiptAlphabet, rune(no[i])) {
				t.Fatalf("%q has %q outside the alphabet", no, no[i])
			}
		}
		// Changing any one character breaks the check.
		for i := 0; i < len(no); i++ {
			c := receiptAlphabet[(strings.IndexByte(receiptAlphabet, no[i])+1)%32]
			if _, err := ParseReceiptNo(no[:i] + string(c) + no[i+1:]); err == nil {
				t.Fatalf("%q with position %d changed still parses", no, i)
			}
		}
	})
}
