package service

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Province codes that open a resident ID number (GB/T 2260, plus 71 Taiwan,
// 81 Hong Kong, 82 Macao).
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true,
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// NormalizeIDNumber upper-cases a trailing x and trims spaces.
func NormalizeIDNumber(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// CheckIDNumber validates an 18-digit resident ID number (GB 11643): the
// province, a real birth date not in the future, and the check character.
// It returns the field error code that says what is wrong (messages.go),
// or "" when the number is valid.
func CheckIDNumber(id string, today time.Time) string {
	if len(id) != 18 {
		return "id_number_length"
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := id[i]
		if c < '0' || c > '9' {
			return "id_number_digits"
		}
		sum += int(c-'0') * idWeights[i]
	}
	if !provinces[id[:2]] {
		return "id_number_province"
	}
	y, m, d := atoi(id[6:10]), atoi(id[10:12]), atoi(id[12:14])
	birth := time.Date(y, time.Month(m), d, 0, 0, 0, 0, Shanghai)
	if y < 1900 || birth.Year() != y || int(birth.Month()) != m || birth.Day() != d {
		return "id_number_birth_date"
	}
	if birth.After(today) {
		return "id_number_future_birth"
	}
	if id[17] != idCheckChars[sum%11] {
		return "id_number_checksum"
	}
	return ""
}

var (
	mobileRE   = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	landlineRE = regexp.MustCompile(`^0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}$`)
)

// NormalizePhone writes a phone number one way: spaces, brackets and dashes
// dropped and a +86 or 0086 prefix removed from a mobile number
// (139 1234 5678 → 13912345678), and a landline as area code, dash, number
// (0591 2888 8888 → 0591-28888888; 010 and 02x codes have three digits).
// Anything else comes back trimmed, for ValidPhone to refuse.
func NormalizePhone(p string) string {
	p = strings.TrimSpace(p)
	digits := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return r
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '+' || r == '\u3000':
			return -1
		}
		return 'x'
	}, p)
	if strings.ContainsRune(digits, 'x') {
		return p
	}
	for _, prefix := range []string{"0086", "86"} {
		if rest, ok := strings.CutPrefix(digits, prefix); ok && len(rest) == 11 && rest[0] == '1' {
			digits = rest
		}
	}
	switch {
	case mobileRE.MatchString(digits):
		return digits
	case len(digits) >= 10 && len(digits) <= 12 && digits[0] == '0':
		area := 4
		if digits[1] == '1' || digits[1] == '2' {
			area = 3
		}
		if l := landlineRE.MatchString(digits[:area] + "-" + digits[area:]); l {
			return digits[:area] + "-" + digits[area:]
		}
	}
	return p
}

// ValidPhone accepts an 11-digit mobile number or a landline with its area code.
func ValidPhone(p string) bool { return mobileRE.MatchString(p) || landlineRE.MatchString(p) }

// MaskName keeps the first and last characters of a name: 张三丰 → 张*丰, 张三 → 张*.
func MaskName(name string) string {
	r := []rune(name)
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "*"
	case 2:
		return string(r[0]) + "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
}

// MaskIDNumber keeps the first 3 and last 4 characters.
func MaskIDNumber(id string) string {
	if utf8.RuneCountInString(id) != len(id) || len(id) < 8 {
		return strings.Repeat("*", len(id))
	}
	return id[:3] + strings.Repeat("*", len(id)-7) + id[len(id)-4:]
}

// MaskPhone keeps the first 3 and last 4 digits: 138****5678.
func MaskPhone(p string) string {
	if len(p) < 8 {
		return strings.Repeat("*", len(p))
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
