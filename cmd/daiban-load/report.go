package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

func decode(b []byte, v any) error { return json.Unmarshal(b, v) }

// printReport writes the human table: one row per scenario, indented rows
// per operation where a scenario has several, then the ratios and a sample
// of the errors.
func printReport(w io.Writer, rep Report) {
	title := "daiban-load"
	if rep.Label != "" {
		title += " [" + rep.Label + "]"
	}
	fmt.Fprintf(w, "%s: %d clients, %s measured after %s warm-up, started %s\n", title, rep.Clients, rep.Duration, rep.Warmup, rep.Started.Format("2006-01-02 15:04:05Z"))
	if rep.URL != "" {
		fmt.Fprintf(w, "server: %s\n", rep.URL)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\top\trequests\terrors\treq/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tserver CPU\tsrv CPU µs/req\tclient CPU\tRSS peak MB\t")
	row := func(scen string, s Stat, r *Result) {
		var srv, per, cli, rss string
		if r != nil {
			srv, cli, rss = opt("%.2f", r.ServerCPU), opt("%.2f", r.ClientCPU), opt("%.0f", r.RSSPeakMB)
			if s.PerSec > 0 {
				per = opt("%.0f", r.ServerCPU*1e6/s.PerSec)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.1f\t%s\t%s\t%s\t%s\t\n", scen, s.Op, s.Requests, s.Errors, s.PerSec, s.P50Ms, s.P95Ms, s.P99Ms, s.MaxMs, srv, per, cli, rss)
	}
	for _, r := range rep.Baselines {
		op := r.Total
		op.Op = map[string]string{"sqlite-commit": "commit", "fixed-json": "GET"}[r.Scenario]
		row(r.Scenario, op, &r)
	}
	for _, round := range rep.Rounds {
		for _, r := range round.Results {
			op := r.Total
			if name, ok := map[string]string{"sqlite-commit": "commit", "fixed-json": "GET"}[r.Scenario]; ok {
				op.Op = name
			}
			row(fmt.Sprintf("%s #%d", r.Scenario, round.Round), op, &r)
		}
	}
	for _, r := range rep.Results {
		row(r.Scenario, r.Total, &r)
		for _, s := range r.Ops {
			row("", s, nil)
		}
		if r.UnitName != "" {
			fmt.Fprintf(tw, "\t%s\t%d\t\t%.1f\t\t\t\t\t\t\t\t\t\n", r.UnitName, r.Units, float64(r.Units)/r.Seconds)
		}
	}
	tw.Flush()
	if len(rep.Rounds) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "round")
		for _, r := range rep.Rounds[0].Ratios {
			fmt.Fprintf(tw, "\t%s", r.Name)
		}
		fmt.Fprintln(tw)
		for _, round := range rep.Rounds {
			fmt.Fprintf(tw, "%d", round.Round)
			for _, r := range round.Ratios {
				fmt.Fprintf(tw, "\t%.2f", r.Value)
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	if len(rep.Ratios) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "target\tvalue\twanted\tmet")
		for _, r := range rep.Ratios {
			met := "no"
			if r.Met {
				met = "yes"
			}
			value := fmt.Sprintf("%.2f", r.Value)
			if r.Rounds > 0 {
				how := "median"
				if r.Name == rssTarget {
					how = "highest"
				}
				value += fmt.Sprintf(" (%s of %d rounds, %.2f–%.2f)", how, r.Rounds, r.Min, r.Max)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, value, r.Target, met)
		}
		tw.Flush()
	}
	all := append(append([]Result{}, rep.Baselines...), rep.Results...)
	for _, round := range rep.Rounds {
		all = append(all, round.Results...)
	}
	for _, r := range all {
		if len(r.ErrorsSeen) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nerrors in %s (first kinds):\n", r.Scenario)
		for _, e := range r.ErrorsSeen {
			fmt.Fprintf(w, "  %6d × %s\n", e.Count, e.Error)
		}
	}
	fmt.Fprintln(w, "\nCPU in cores (2 = both cores of this machine) over the measured window; fixed-json's server CPU is its child process;\nsrv CPU µs/req = server CPU time per request, which other load on the machine disturbs less than req/s.")
	if hwm := peakHWM(rep); hwm > 0 {
		fmt.Fprintf(w, "\nserver VmHWM at the end: %.0f MB\n", hwm)
	}
	printWebhooks(w, rep.Webhooks)
}

// opt formats v, or nothing when it was not measured.
func opt(format string, v float64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf(format, v)
}

func peakHWM(rep Report) float64 {
	var m float64
	for _, r := range rep.Results {
		m = max(m, r.RSSHWMMB)
	}
	for _, round := range rep.Rounds {
		for _, r := range round.Results {
			m = max(m, r.RSSHWMMB)
		}
	}
	return m
}
