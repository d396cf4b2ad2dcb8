package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"daiban/store"
)

// writerMetrics publishes the SQLite writer's group commit on /metrics, so an
// operator can read the batch size (writes ÷ batches), the time per batch
// and the commit's share of it from the rates.
func writerMetrics(reg prometheus.Registerer, st *store.Store) {
	if _, ok := st.WriterStats(); !ok {
		return
	}
	read := func(f func(store.WriterStats) float64) func() float64 {
		return func() float64 {
			ws, _ := st.WriterStats()
			return f(ws)
		}
	}
	counter := func(name, help string, f func(store.WriterStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "daiban", Subsystem: "writer", Name: name, Help: help}, read(f))
	}
	reg.MustRegister(
		counter("batches_total", "Transactions the SQLite writer has run, each carrying one or more writes.",
			func(s store.WriterStats) float64 { return float64(s.Batches) }),
		counter("writes_total", "Writes the SQLite writer's batches have carried.",
			func(s store.WriterStats) float64 { return float64(s.Writes) }),
		counter("reruns_total", "Batches run again in savepoints after one of their writes failed.",
			func(s store.WriterStats) float64 { return float64(s.Reruns) }),
		counter("busy_seconds_total", "Time the SQLite writer has spent on batches, from begin to answers.",
			func(s store.WriterStats) float64 { return s.Busy.Seconds() }),
		counter("commit_seconds_total", "Of the busy time, the time in COMMIT and its sync.",
			func(s store.WriterStats) float64 { return s.Committing.Seconds() }),
		counter("wal_restarts_total", "Checkpoints that made the writer wait so the WAL could start over.",
			func(s store.WriterStats) float64 { return float64(s.WALRestarts) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "daiban", Subsystem: "writer", Name: "largest_batch",
			Help: "The most writes one SQLite batch has carried since the start."}, read(func(s store.WriterStats) float64 { return float64(s.Largest) })),
	)
}
