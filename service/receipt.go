package service

import (
	"crypto/rand"
	"strings"
	"time"
)

// Receipt numbers are written in Crockford's base-32 alphabet: digits and
// capitals without I, L, O and U, so nothing on the paper reads two ways.
const receiptAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// A receipt number is the registration year (2 digits), the deployment-wide
// sequence in base 32 (at least 7 characters) and one check character: 10
// characters for the first 34 billion errands, 16 at most.
const (
	receiptSeqWidth = 7
	receiptMaxLen   = 16
)

var receiptValue [256]int8

func init() {
	for i := range receiptValue {
		receiptValue[i] = -1
	}
	for i := 0; i < len(receiptAlphabet); i++ {
		receiptValue[receiptAlphabet[i]] = int8(i)
		receiptValue[strings.ToLower(receiptAlphabet[i : i+1])[0]] = int8(i)
	}
	// Crockford's reading of the look-alikes.
	for c, v := range map[byte]int8{'O': 0, 'o': 0, 'I': 1, 'i': 1, 'L': 1, 'l': 1} {
		receiptValue[c] = v
	}
}

// The check character is a Damm check over the quasigroup x∘y = 2x ⊕ y of
// GF(32): totally anti-symmetric, so it catches every single wrong character
// and every swap of two different neighbours.
func gfDouble(x byte) byte {
	x <<= 1
	if x&0x20 != 0 {
		x ^= 0x25 // x⁵ + x² + 1
	}
	return x
}

func receiptCheck(vals []byte) byte {
	var c byte
	for _, v := range vals {
		c = gfDouble(c) ^ v
	}
	return gfDouble(c) // the value that brings the interim back to 0
}

// FormatReceiptNo builds the receipt number for the seq-th errand of the
// deployment, registered at t.
func FormatReceiptNo(t time.Time, seq int64) string {
	year := t.In(Shanghai).Year() % 100
	var body []byte
	for n := seq; n > 0 || len(body) < receiptSeqWidth; n /= 32 {
		body = append(body, byte(n%32))
	}
	vals := make([]byte, 0, len(body)+3)
	vals = append(vals, byte(year/10), byte(year%10))
	for i := len(body) - 1; i >= 0; i-- {
		vals = append(vals, body[i])
	}
	vals = append(vals, receiptCheck(vals))
	out := make([]byte, len(vals))
	for i, v := range vals {
		out[i] = receiptAlphabet[v]
	}
	return string(out)
}

// ParseReceiptNo normalises what a person typed (case, spaces, hyphens,
// O for 0, I and L for 1) and checks the check character.
func ParseReceiptNo(s string) (string, error) {
	if len(s) > 3*receiptMaxLen {
		return "", BadParam("receipt_no", "receipt_no_too_long")
	}
	vals := make([]byte, 0, receiptMaxLen)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '-' {
			continue
		}
		v := receiptValue[c]
		if v < 0 {
			return "", BadParam("receipt_no", "receipt_no_characters")
		}
		vals = append(vals, byte(v))
	}
	if len(vals) < 2+receiptSeqWidth+1 || len(vals) > receiptMaxLen {
		return "", BadParam("receipt_no", "receipt_no_length")
	}
	var c byte
	for _, v := range vals {
		c = gfDouble(c) ^ v
	}
	if c != 0 {
		return "", BadParam("receipt_no", "receipt_no_checksum")
	}
	out := make([]byte, len(vals))
	for i, v := range vals {
		out[i] = receiptAlphabet[v]
	}
	return string(out), nil
}

// NewVerifyCode draws the 6-digit code printed on the receipt.
func NewVerifyCode() string {
	b := make([]byte, 6)
	for i := range b {
		// Rejection sampling keeps every digit uniform.
		for {
			var x [1]byte
			if _, err := rand.Read(x[:]); err != nil {
				panic(err)
			}
			if x[0] < 250 {
				b[i] = '0' + x[0]%10
				break
			}
		}
	}
	return string(b)
}
