package api

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics counts and times requests by status, method and route
// pattern. Every label comes from a bounded set, so no client can add
// series: echoprometheus, used before, labelled by the Host header and, for
// unmatched routes, by the raw path, and each new value kept four more
// series in memory for good.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	series   sync.Map // seriesKey → *series; a label lookup hashes every value, this only the key
}

type seriesKey struct {
	code          int
	method, route string
}

type series struct {
	count prometheus.Counter
	took  prometheus.Observer
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	labels := []string{"code", "method", "url"}
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "daiban", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by status code, method and route pattern."}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "daiban", Subsystem: "http", Name: "request_duration_seconds",
			Help: "Time to answer an HTTP request, by status code, method and route pattern.", Buckets: prometheus.DefBuckets}, labels),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// middleware records every request but those for /metrics itself.
func (m *httpMetrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() == "/metrics" {
			return next(c)
		}
		start := time.Now()
		err := next(c)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		s := m.of(seriesKey{code: c.Response().Status, method: metricMethod(c.Request().Method), route: route})
		s.took.Observe(time.Since(start).Seconds())
		s.count.Inc()
		return err
	}
}

func (m *httpMetrics) of(k seriesKey) *series {
	if s, ok := m.series.Load(k); ok {
		return s.(*series)
	}
	values := []string{strconv.Itoa(k.code), k.method, k.route}
	s, _ := m.series.LoadOrStore(k, &series{count: m.requests.WithLabelValues(values...), took: m.duration.WithLabelValues(values...)})
	return s.(*series)
}

// metricMethod keeps the standard methods and folds any other token a
// client sends into one value.
func metricMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// metricsHandler serves the registry in Prometheus' text format.
func metricsHandler(reg *prometheus.Registry) echo.HandlerFunc {
	return echo.WrapHandler(promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
}
