package service

import (
	"testing"
	"time"
)

func TestRates(t *testing.T) {
	for _, c := range []struct {
		num, den int64
		want     string
	}{
		{74077, 75620, "97.96"}, // Changle
		{1, 3, "33.33"},
		{2, 3, "66.67"},
		{1, 8, "12.50"},   // exact
		{1, 800, "0.13"},  // 0.125 rounds half up
		{1, 1600, "0.06"}, // 0.0625
		{0, 5, "0.00"},
		{5, 5, "100.00"},
	} {
		got := Rate(c.num, c.den)
		if got == nil || got.String() != c.want {
			t.Errorf("Rate(%d, %d) = %v, want %s", c.num, c.den, got, c.want)
		}
	}
	if Rate(1, 0) != nil || Mean(1, 0) != nil {
		t.Errorf("a rate over nothing must be null")
	}
	if got := Mean(9, 2); got.String() != "4.50" {
		t.Errorf("Mean(9, 2) = %s", got)
	}
	if got := Mean(2, 3); got.String() != "0.67" || got.Float() != 0.67 {
		t.Errorf("Mean(2, 3) = %s (%v)", got, got.Float())
	}
}

func TestContribution(t *testing.T) {
	reg := time.Date(2026, 3, 2, 9, 0, 0, 0, Shanghai)
	base := Errand{ID: "e", RegisteredAt: reg, Status: StatusRegistered}
	if c := Contribution(base); c != (Counts{Accepted: 1}) {
		t.Errorf("registered: %+v", c)
	}
	w := base
	w.Status = StatusWithdrawn
	if c := Contribution(w); !c.IsZero() {
		t.Errorf("withdrawn counts: %+v", c)
	}
	d := base
	d.Status, d.CompletedAt, d.Outcome, d.OnTime, d.WorkingDays = StatusDelivered, reg.Add(time.Hour), OutcomeRefused, true, 3
	d.DeliveredAt, d.ReceiptRecovered, d.Satisfaction = reg.Add(2*time.Hour), true, 4
	want := Counts{Accepted: 1, Completed: 1, Refused: 1, OnTime: 1, WorkingDays: 3, Delivered: 1, Recovered: 1}
	want.Grades[4] = 1
	if c := Contribution(d); c != want {
		t.Errorf("delivered: %+v, want %+v", c, want)
	}
	if got := Contribution(d).Sub(Contribution(base)); got.Accepted != 0 || got.Completed != 1 || got.Grades[4] != 1 {
		t.Errorf("delta: %+v", got)
	}
	f := FiguresOf(Counts{Accepted: 75620, Completed: 74077, OnTime: 70000, Grades: [6]int64{0, 1, 0, 0, 1, 2}})
	if f.CompletionRate.String() != "97.96" || f.Rated != 4 || f.MeanRating.String() != "3.75" || f.GradeShares[5].String() != "50.00" {
		t.Errorf("figures: %+v", f)
	}
}
