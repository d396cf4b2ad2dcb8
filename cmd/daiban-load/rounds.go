package main

import (
	"context"
	"fmt"
	"io"
	"slices"
)

// Round is one pass of the paired measurements: each target's scenario
// beside its baseline, minutes closer in time than in a plain run.
type Round struct {
	Round   int      `json:"round"`
	Results []Result `json:"results"` // baselines and scenarios, in the order run
	Ratios  []Ratio  `json:"ratios"`
}

// pairs are the scenarios that have a target against a baseline.
var pairs = [][2]string{{"sqlite-commit", "register"}, {"fixed-json", "lookup"}}

// rounded are the scenarios a run with --rounds measures in rounds.
func rounded(scenarios []string) []string {
	var out []string
	for _, p := range pairs {
		if slices.Contains(scenarios, p[1]) {
			out = append(out, p[1])
		}
	}
	return out
}

// measureRounds runs n rounds of every pair whose scenario is asked for:
// baseline then scenario, the other way round in even rounds, so a machine
// whose speed drifts (as shared virtual machines do, by tens of percent
// within a minute) weighs on both sides of a ratio alike. run measures one
// scenario or baseline by name.
func measureRounds(ctx context.Context, n int, scenarios []string, run func(ctx context.Context, name string) (Result, error), log io.Writer) ([]Round, error) {
	var rounds []Round
	for r := 1; r <= n; r++ {
		round := Round{Round: r}
		var rep Report
		for _, p := range pairs {
			if !slices.Contains(scenarios, p[1]) {
				continue
			}
			order := []string{p[0], p[1]}
			if r%2 == 0 {
				order[0], order[1] = order[1], order[0]
			}
			for _, name := range order {
				fmt.Fprintf(log, "round %d/%d: %s\n", r, n, name)
				res, err := run(ctx, name)
				if err != nil {
					return rounds, fmt.Errorf("round %d, %s: %w", r, name, err)
				}
				round.Results = append(round.Results, res)
				if name == p[0] {
					rep.Baselines = append(rep.Baselines, res)
				} else {
					rep.Results = append(rep.Results, res)
				}
			}
		}
		round.Ratios = ratios(rep)
		rounds = append(rounds, round)
		if err := ctx.Err(); err != nil {
			return rounds, err
		}
	}
	return rounds, nil
}

// roundRatios are the targets over rounds: the median round's value, with
// the lowest and highest beside it; the peak RSS is the highest of all.
func roundRatios(rounds []Round) []Ratio {
	var out []Ratio
	if len(rounds) == 0 {
		return nil
	}
	for _, first := range rounds[0].Ratios {
		var vs []float64
		for _, r := range rounds {
			for _, x := range r.Ratios {
				if x.Name == first.Name {
					vs = append(vs, x.Value)
				}
			}
		}
		slices.Sort(vs)
		v := median(vs)
		if first.Name == rssTarget {
			v = vs[len(vs)-1]
		}
		out = append(out, Ratio{Name: first.Name, Value: v, Target: first.Target, Met: meets(first.Name, v),
			Min: vs[0], Max: vs[len(vs)-1], Rounds: len(vs)})
	}
	return out
}

// median of sorted values; the mean of the middle two for an even count.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
