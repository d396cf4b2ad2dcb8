package main

import (
	"fmt"
	"math/rand/v2"
)

// The applicants the load tool invents: plausible names, resident ID numbers
// with a correct GB 11643 check character, and mobile numbers.

var (
	surnames   = []rune("陈林黄郑张李王吴刘蔡杨许何高郭周魏游邱卓")
	givenChars = []rune("秀丽建国明华玉金春美志强伟芳英文辉荣梅兰平安福清德海燕")
	// Areas of Fuzhou: the first six digits of an ID number.
	areas = []string{"350182", "350102", "350103", "350104", "350105", "350111", "350121", "350122"}
)

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChar is the GB 11643 check character of the first 17 digits.
func idCheckChar(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return "10X98765432"[sum%11]
}

// idNumber draws a valid 18-character resident ID number of someone born
// between 1940 and 2005.
func idNumber(r *rand.Rand) string {
	year := 1940 + r.IntN(66)
	month := 1 + r.IntN(12)
	day := 1 + r.IntN(28) // every month has a 28th
	s := fmt.Sprintf("%s%04d%02d%02d%03d", areas[r.IntN(len(areas))], year, month, day, r.IntN(1000))
	return s + string(idCheckChar(s))
}

// mobile draws an 11-digit mainland mobile number (1[3-9]xxxxxxxxx).
func mobile(r *rand.Rand) string {
	return fmt.Sprintf("1%d%09d", 3+r.IntN(7), r.IntN(1_000_000_000))
}

func personName(r *rand.Rand) string {
	s := string(surnames[r.IntN(len(surnames))])
	for range 1 + r.IntN(2) {
		s += string(givenChars[r.IntN(len(givenChars))])
	}
	return s
}
