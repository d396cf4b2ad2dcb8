package main

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"daiban/service"
)

func TestPercentileNearestRank(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample is every percentile", ms(7), 99, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p95 of four is the last", ms(1, 2, 3, 4), 95, 4 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 1..100", hundred, 95, 95 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 is the maximum", hundred, 100, 100 * time.Millisecond},
		{"a tiny p is the minimum", hundred, 0.001, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: percentile(p=%v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestSummariseCountsOnlyTheWindow(t *testing.T) {
	s := func(start, dur int, op string, ok bool) sample {
		return sample{start: time.Duration(start) * time.Second, dur: time.Duration(dur) * time.Millisecond, op: op, ok: ok}
	}
	samples := []sample{
		s(0, 100, "a", true), // warm-up: dropped
		s(1, 10, "a", true),
		s(2, 20, "b", false),
		s(3, 30, "a", true),
		s(4, 40, "a", true),
		s(5, 50, "a", true), // starts at the end: dropped
	}
	got := summarise("", samples, time.Second, 5*time.Second)
	if got.Requests != 4 || got.Errors != 1 {
		t.Fatalf("requests, errors = %d, %d; want 4, 1", got.Requests, got.Errors)
	}
	if got.PerSec != 1 {
		t.Errorf("per second = %v, want 1 (4 requests in a 4 s window)", got.PerSec)
	}
	if got.P50Ms != 20 || got.P99Ms != 40 || got.MaxMs != 40 || got.MeanMs != 25 {
		t.Errorf("p50, p99, max, mean = %v, %v, %v, %v; want 20, 40, 40, 25", got.P50Ms, got.P99Ms, got.MaxMs, got.MeanMs)
	}
	if a := summarise("a", samples, time.Second, 5*time.Second); a.Requests != 3 || a.Errors != 0 {
		t.Errorf("op a: requests, errors = %d, %d; want 3, 0", a.Requests, a.Errors)
	}
}

func TestGeneratedApplicantsAreValid(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	today := time.Now()
	for i := range 10000 {
		id := idNumber(r)
		if msg := service.CheckIDNumber(id, today); msg != "" {
			t.Fatalf("draw %d: ID number %s refused: %s", i, id, msg)
		}
		if p := mobile(r); !service.ValidPhone(p) || len(p) != 11 {
			t.Fatalf("draw %d: phone %s is not a valid mobile number", i, p)
		}
		if n := personName(r); len([]rune(n)) < 2 || len([]rune(n)) > 3 {
			t.Fatalf("draw %d: name %q", i, n)
		}
	}
}

func TestIDCheckCharacter(t *testing.T) {
	// The worked example of GB 11643-1999.
	if got := idCheckChar("11010519491231002"); got != 'X' {
		t.Errorf("check character of 11010519491231002 = %c, want X", got)
	}
	// Changing any digit changes the check character.
	base := "35018219800101123"
	want := idCheckChar(base)
	for i := range 17 {
		b := []byte(base)
		b[i] = '0' + (b[i]-'0'+1)%10
		if idCheckChar(string(b)) == want {
			t.Errorf("a changed digit %d keeps the check character", i)
		}
	}
}

func TestParseStatus(t *testing.T) {
	in := "Name:\tdaiban\nVmPeak:\t 1000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n"
	m, err := parseStatus(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if m.rssKB != 102400 || m.hwmKB != 204800 {
		t.Errorf("rss, hwm = %d, %d kB; want 102400, 204800", m.rssKB, m.hwmKB)
	}
	if _, err := parseStatus(strings.NewReader("Name:\tkthread\n")); err == nil {
		t.Error("a status without VmRSS parsed without error")
	}
}

func TestErrorLogKeepsCountsAndBoundsKinds(t *testing.T) {
	var l errorLog
	for i := range 100 {
		l.add("register", "409 conflict "+strings.Repeat("x", i%20))
	}
	got := l.samples()
	if len(got) != maxErrorKinds+1 {
		t.Fatalf("%d kinds kept, want %d distinct plus one for the rest", len(got), maxErrorKinds)
	}
	total := 0
	for _, s := range got {
		total += s.Count
	}
	if total != 100 {
		t.Errorf("counts add up to %d, want 100", total)
	}
}

func TestRatios(t *testing.T) {
	rep := Report{
		Baselines: []Result{{Scenario: "sqlite-commit", Total: Stat{PerSec: 1000}}, {Scenario: "fixed-json", Total: Stat{PerSec: 10000}}},
		Results: []Result{
			{Scenario: "register", Total: Stat{PerSec: 1500, P99Ms: 30}, RSSPeakMB: 120},
			{Scenario: "lookup", Total: Stat{PerSec: 2000}, RSSPeakMB: 160},
		},
	}
	want := map[string]struct {
		v   float64
		met bool
	}{
		"register req/s ÷ raw SQLite commits/s": {1.5, true},
		"register p99 (ms)":                     {30, false},
		"lookup req/s ÷ fixed-JSON req/s":       {0.2, false},
		"server peak RSS (MB)":                  {160, false},
	}
	got := ratios(rep)
	if len(got) != len(want) {
		t.Fatalf("%d ratios, want %d: %+v", len(got), len(want), got)
	}
	for _, r := range got {
		w, ok := want[r.Name]
		if !ok || r.Value != w.v || r.Met != w.met {
			t.Errorf("%s = %v (met %v), want %v (met %v)", r.Name, r.Value, r.Met, w.v, w.met)
		}
	}
}

func TestDriveStopsAndCountsUnits(t *testing.T) {
	res, err := drive(context.Background(), "unit", 3, 0, 50*time.Millisecond, func(ctx context.Context, _ int, rec *recorder) (int, error) {
		rec.time("noop", func() (bool, string) { time.Sleep(time.Millisecond); return true, "" })
		return 1, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.Requests == 0 || res.Units == 0 || res.Total.Errors != 0 {
		t.Errorf("requests %d, units %d, errors %d; want some requests and units and no errors", res.Total.Requests, res.Units, res.Total.Errors)
	}
}

func TestParseCPU(t *testing.T) {
	// A command name with spaces and a parenthesis, then utime 250, stime 50 ticks.
	stat := []byte("4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 1000 200")
	got, err := parseCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * time.Second; got != want {
		t.Errorf("cpu = %v, want %v", got, want)
	}
	if _, err := parseCPU([]byte("garbage")); err == nil {
		t.Error("garbage parsed without error")
	}
}

func TestErrorLogIgnoresRequestIDs(t *testing.T) {
	var l errorLog
	l.add("stats", `500 {"code":"internal","request_id":"aBYQEOBX"}`)
	l.add("stats", `500 {"code":"internal","request_id":"lYUCSuvc"}`)
	if got := l.samples(); len(got) != 1 || got[0].Count != 2 {
		t.Errorf("samples = %+v, want one kind seen twice", got)
	}
}

// TestMeasureRounds runs rounds with a fake measurement whose rates drift
// from round to round: each round pairs a scenario with its baseline (the
// baseline first in odd rounds, last in even ones), each round's ratio comes
// from its own pair, and the targets take the median round with the range
// beside it, and the highest RSS.
func TestMeasureRounds(t *testing.T) {
	rates := map[string][]float64{
		"sqlite-commit": {1000, 2000, 3000},
		"register":      {1100, 1800, 3600}, // 1.10, 0.90, 1.20
		"fixed-json":    {10000, 20000, 10000},
		"lookup":        {3000, 4000, 2000}, // 0.30, 0.20, 0.20
	}
	p99 := []float64{20, 30, 24}
	rss := []float64{80, 120, 90}
	var order []string
	calls := map[string]int{}
	run := func(_ context.Context, name string) (Result, error) {
		order = append(order, name)
		i := calls[name]
		calls[name]++
		r := Result{Scenario: name, Total: Stat{PerSec: rates[name][i]}}
		if name == "register" {
			r.Total.P99Ms, r.RSSPeakMB = p99[i], rss[i]
		}
		return r, nil
	}
	var log strings.Builder
	rounds, err := measureRounds(context.Background(), 3, []string{"register", "lookup", "stats"}, run, &log)
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := "sqlite-commit register fixed-json lookup register sqlite-commit lookup fixed-json sqlite-commit register fixed-json lookup"
	if got := strings.Join(order, " "); got != wantOrder {
		t.Errorf("order:\n got %s\nwant %s", got, wantOrder)
	}
	if len(rounds) != 3 || rounds[1].Ratios[0].Value != 0.9 {
		t.Fatalf("rounds %+v", rounds)
	}
	want := map[string]Ratio{
		registerTarget: {Value: 1.1, Min: 0.9, Max: 1.2, Met: true},
		p99Target:      {Value: 24, Min: 20, Max: 30, Met: true},
		lookupTarget:   {Value: 0.2, Min: 0.2, Max: 0.3, Met: false},
		rssTarget:      {Value: 120, Min: 80, Max: 120, Met: true},
	}
	got := roundRatios(rounds)
	if len(got) != len(want) {
		t.Fatalf("%d targets, want %d: %+v", len(got), len(want), got)
	}
	for _, r := range got {
		w := want[r.Name]
		if !near(r.Value, w.Value) || !near(r.Min, w.Min) || !near(r.Max, w.Max) || r.Met != w.Met || r.Rounds != 3 {
			t.Errorf("%s: got %v (%v–%v, met %v, %d rounds), want %v (%v–%v, met %v)", r.Name, r.Value, r.Min, r.Max, r.Met, r.Rounds, w.Value, w.Min, w.Max, w.Met)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
