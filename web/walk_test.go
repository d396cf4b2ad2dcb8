package web

import (
	"slices"
	"testing"
)

// TestWalkReadsEveryPage: the admin's lists read every keyset page, also
// when the last page is exactly full, and each row once.
func TestWalkReadsEveryPage(t *testing.T) {
	for _, n := range []int{0, 1, walkPage - 1, walkPage, walkPage + 1, 2 * walkPage, 2*walkPage + 7} {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		calls := 0
		got, err := walk(func(after string) ([]int, error) {
			calls++
			from := 0
			if after != "" {
				from = atoi(after) + 1
			}
			return all[from:min(from+walkPage, n)], nil
		}, func(i int) string { return itoa(i) })
		if err != nil || !slices.Equal(got, all) {
			t.Errorf("%d rows: walked %d rows (%v), want each once in order", n, len(got), err)
		}
		if want := n/walkPage + 1; calls != want {
			t.Errorf("%d rows: %d reads, want %d", n, calls, want)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}
