package main

import (
	"time"

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
	commits := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "daiban", Subsystem: "writer", Name: "commit_duration_seconds",
		Help:    "Time of each SQLite COMMIT with its sync: the tail shows checkpoints meeting the commit's sync and the disk's stalls.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}) // 0.1 ms to 0.8 s
	sizes := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "daiban", Subsystem: "writer", Name: "batch_writes",
		Help:    "Writes made durable by each SQLite commit.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 8)}) // 1 to 128, the batch's bound
	st.ObserveCommits(func(took time.Duration, writes int) {
		commits.Observe(took.Seconds())
		sizes.Observe(float64(writes))
	})
	reg.MustRegister(commits, sizes,
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
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "daiban", Subsystem: "writer", Name: "largest_batch",
			Help: "The most writes one SQLite batch has carried since the start."}, read(func(s store.WriterStats) float64 { return float64(s.Largest) })),
	)
}
