package service

import (
	"strconv"
	"testing"
	"time"
)

var today = time.Date(2026, 11, 23, 12, 0, 0, 0, Shanghai)

func TestCheckIDNumber(t *testing.T) {
	for _, c := range []struct {
		id   string
		want string // "" valid, else a word of the code
	}{
		{"11010519491231002X", ""},
		{"35018219900101123X", ""},
		{"11010519491231002x", "checksum"}, // callers normalise first; a lower-case x is not the check character
		{"110105194912310021", "checksum"},
		{"11010519491231002", "length"},
		{"1101051949123100211", "length"},
		{"11010519491331002X", "birth_date"},
		{"11010518991231002X", "birth_date"},
		{"110105203012310024", "future"},
		{"99010519491231002X", "province"},
		{"1101051949123100A2", "digits"},
		{"11010519490229002X", "birth_date"},
	} {
		got := CheckIDNumber(c.id, today)
		if (c.want == "") != (got == "") || (c.want != "" && !contains(got, c.want)) {
			t.Errorf("%s: %q, want %q", c.id, got, c.want)
		}
	}
	if got := CheckIDNumber(NormalizeIDNumber(" 11010519491231002x "), today); got != "" {
		t.Errorf("normalised lower-case x: %q", got)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// checkChar is the GB 11643 check character, computed independently.
func checkChar(first17 string) byte {
	sum := 0
	w := 1
	for i := 16; i >= 0; i-- {
		w = w * 2 % 11
		sum += int(first17[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

func FuzzCheckIDNumber(f *testing.F) {
	f.Add("11010519491231002X")
	f.Add("35018219900101123X")
	f.Add("000000000000000000")
	f.Add("")
	f.Fuzz(func(t *testing.T, id string) {
		msg := CheckIDNumber(id, today)
		if msg != "" {
			return
		}
		// Anything accepted has 17 digits, a real past birth date and the
		// check character that the independent computation gives.
		if len(id) != 18 {
			t.Fatalf("%q accepted with length %d", id, len(id))
		}
		if got := checkChar(id[:17]); got != id[17] {
			t.Fatalf("%q accepted but its check character should be %c", id, got)
		}
		y, _ := strconv.Atoi(id[6:10])
		if y < 1900 || y > today.Year() {
			t.Fatalf("%q accepted with birth year %d", id, y)
		}
	})
}

func TestPhones(t *testing.T) {
	for p, ok := range map[string]bool{"13912345678": true, "0591-28888888": true, "059128888888": true, "021-6888888": true,
		"12912345678": false, "1391234567": false, "0591-0888888": false, "28888888": false, "139 1234 5678": false} {
		if ValidPhone(p) != ok {
			t.Errorf("ValidPhone(%q) = %v", p, !ok)
		}
	}
}

func TestMasks(t *testing.T) {
	for in, want := range map[string]string{"张三丰": "张*丰", "张三": "张*", "欧阳娜娜": "欧**娜", "李": "*", "": ""} {
		if got := MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := MaskIDNumber("11010519491231002X"); got != "110***********002X" {
		t.Errorf("MaskIDNumber = %q", got)
	}
	if got := MaskPhone("13912345678"); got != "139****5678" {
		t.Errorf("MaskPhone = %q", got)
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"13912345678":       "13912345678",
		" 139 1234 5678 ":   "13912345678",
		"139-1234-5678":     "13912345678",
		"+86 139 1234 5678": "13912345678",
		"008613912345678":   "13912345678",
		"8613912345678":     "13912345678",
		"0591-28888888":     "0591-28888888",
		"059128888888":      "0591-28888888",
		"(0591) 2888 8888":  "0591-28888888",
		"010-62345678":      "010-62345678",
		"01062345678":       "010-62345678",
		"021 6234 5678":     "021-62345678",
		"1234":              "1234",
		"139１2345678":       "139１2345678",
		"tel:13912345678":   "tel:13912345678",
	} {
		if got := NormalizePhone(in); got != want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", in, got, want)
		}
	}
}
