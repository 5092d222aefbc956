package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gowsgi/gowsgi/accesslog"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// metrics are the Prometheus metrics served at -status-addr's /metrics.
// Request metrics are counted as requests end (observe); the workers'
// state and counters are read from the pools when scraped.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	queueWait *prometheus.HistogramVec
	sendfile  prometheus.Counter
	auth      *prometheus.CounterVec
}

// newMetrics registers the metrics, the Go runtime's and the process's in
// a registry of their own.
func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gowsgi_http_requests_total",
			Help: "Requests answered, by status code, method (OTHER for a non-standard one) and mount (SCRIPT_NAME, \"/\" for the root; \"\" when no mount took the request).",
		}, []string{"code", "method", "mount"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gowsgi_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response, by mount.",
			Buckets: prometheus.DefBuckets,
		}, []string{"mount"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gowsgi_queue_wait_seconds",
			Help:    "Time a request waited for a worker thread (about 0 when one was idle), by mount.",
			Buckets: []float64{.0001, .001, .005, .01, .05, .1, .5, 1, 5, 10, 30},
		}, []string{"mount"}),
		sendfile: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gowsgi_sendfile_bytes_total",
			Help: "Response body bytes sent as files (static files, wsgi.file_wrapper, X-Sendfile): with sendfile(2) on plain HTTP/1.x connections.",
		}),
		auth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gowsgi_auth_total",
			Help: "Requests on which authentication or authorization decided something, by scheme (basic, digest, negotiate; \"\" for a Require rule without credentials) and outcome (ok, failed, denied, unavailable).",
		}, []string{"scheme", "outcome"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.queueWait, m.sendfile, m.auth,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// mountLabel is the mount label of a request's record.
func mountLabel(info *reqinfo.Info) string {
	if !info.Mounted {
		return ""
	}
	if info.Mount.ScriptName == "" {
		return "/"
	}
	return info.Mount.ScriptName
}

// methodLabel bounds the method label to the standard methods: a client
// choosing methods would otherwise make a series each.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
		"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT":
		return m
	}
	return "OTHER"
}

// observe counts one request that ended.
func (m *metrics) observe(e *accesslog.Entry) {
	mount := mountLabel(&e.Info)
	m.requests.WithLabelValues(strconv.Itoa(e.Status), methodLabel(e.Method), mount).Inc()
	m.duration.WithLabelValues(mount).Observe(e.Duration.Seconds())
	if e.FileBytes > 0 {
		m.sendfile.Add(float64(e.FileBytes))
	}
	if e.AuthScheme != "" || e.AuthOutcome != reqinfo.AuthNone {
		m.auth.WithLabelValues(e.AuthScheme, e.AuthOutcome.String()).Inc()
	}
}

// observeQueueWait is wsgi.Config.ObserveQueueWait.
func (m *metrics) observeQueueWait(r *http.Request, d time.Duration) {
	info := reqinfo.FromContext(r.Context()).Info()
	m.queueWait.WithLabelValues(mountLabel(&info)).Observe(d.Seconds())
}

// addPools registers the collector of the pools' state. al, when not nil,
// is the access log whose drops are counted.
func (m *metrics) addPools(pools func() []mountPool, al *accessLog) {
	m.reg.MustRegister(&poolCollector{pools: pools})
	if al != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gowsgi_access_log_dropped_total",
			Help: "Access log lines dropped because the log's writer was too slow (its queue was full).",
		}, func() float64 { return float64(al.Dropped()) }))
	}
}

// handler serves the metrics in Prometheus's text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var (
	workersDesc = prometheus.NewDesc("gowsgi_workers",
		"Worker threads (request slots) by state: busy (running a request) or idle.",
		[]string{"mount", "state"}, nil)
	processesDesc = prometheus.NewDesc("gowsgi_worker_processes",
		"Worker processes in service.", []string{"mount"}, nil)
	queueDesc = prometheus.NewDesc("gowsgi_queue_length",
		"Requests waiting for a worker thread.", []string{"mount"}, nil)
	restartsDesc = prometheus.NewDesc("gowsgi_worker_restarts_total",
		"Worker processes replaced, by cause: crash, timeout, max_requests, memory, inactivity, reload, startup_failure.",
		[]string{"mount", "cause"}, nil)
	failuresDesc = prometheus.NewDesc("gowsgi_worker_failures_total",
		"Error responses of the worker pool, by cause (see wsgi.Stats.Failures).",
		[]string{"mount", "cause"}, nil)
	servedDesc = prometheus.NewDesc("gowsgi_worker_requests_total",
		"Requests answered by a worker process.", []string{"mount"}, nil)
)

// restartCauses are wsgi.Stats.Restarts's causes, each exported from
// the start (at 0), so that a rate over them needs no series to appear.
var restartCauses = []string{"crash", "timeout", "max_requests", "memory", "inactivity", "reload", "startup_failure"}

// poolCollector reads the pools' statistics when scraped.
type poolCollector struct {
	pools func() []mountPool // those serving now
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{workersDesc, processesDesc, queueDesc, restartsDesc, failuresDesc, servedDesc} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, mp := range c.pools() {
		mount := mp.mount.Path
		s := mp.pool.Stats()
		ch <- prometheus.MustNewConstMetric(workersDesc, prometheus.GaugeValue, float64(s.Busy), mount, "busy")
		ch <- prometheus.MustNewConstMetric(workersDesc, prometheus.GaugeValue, float64(s.Idle), mount, "idle")
		ch <- prometheus.MustNewConstMetric(processesDesc, prometheus.GaugeValue, float64(s.Processes), mount)
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(s.Queued), mount)
		ch <- prometheus.MustNewConstMetric(servedDesc, prometheus.CounterValue, float64(s.Served), mount)
		for _, cause := range restartCauses {
			if _, ok := s.Restarts[cause]; !ok {
				ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue, 0, mount, cause)
			}
		}
		for cause, n := range s.Restarts {
			ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue, float64(n), mount, cause)
		}
		for cause, n := range s.Failures {
			ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.CounterValue, float64(n), mount, cause)
		}
	}
}
