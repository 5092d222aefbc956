package main

import (
	"expvar"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gowsgi/gowsgi/accesslog"
	"github.com/gowsgi/gowsgi/uwsgi"
	"github.com/gowsgi/gowsgi/wsgi"
)

// operator is what -status-addr serves besides the statistics: health,
// readiness, metrics and the status page; and what the request chain
// reports to it (access log, metrics).
type operator struct {
	started time.Time
	// pools are the mounts served by worker pools, each with its pool
	// (replaced when SIGHUP reloads a configuration file).
	pools    atomic.Pointer[[]mountPool]
	register sync.Once // the pools' metrics collector
	// view is what -status-addr's JSON at / shows: every mount, with the
	// statistics of its pool or fleet.
	view     atomic.Pointer[statusView]
	alog     *accessLog // nil without -access-log
	metrics  *metrics   // nil without -status-addr
	draining atomic.Bool
}

// newOperator opens the access log and, with -status-addr, makes the
// metrics. Call close when done.
func newOperator(cfg config, logger *slog.Logger) (*operator, error) {
	op := &operator{started: time.Now()}
	var err error
	if op.alog, err = openAccessLog(cfg.Log, logger); err != nil {
		return nil, err
	}
	if cfg.Server.StatusAddr != "" {
		op.metrics = newMetrics()
	}
	return op, nil
}

// mountPool is a mount served by a worker pool, and its pool.
type mountPool struct {
	mount mountConfig
	pool  *wsgi.Handler
}

// mountPools pairs each mount that runs a script with its pool, in order
// (startPools starts one per such mount).
func mountPools(mounts []mountConfig, pools []*wsgi.Handler) []mountPool {
	mps := make([]mountPool, 0, len(pools))
	for _, m := range mounts {
		if len(m.Upstreams) > 0 {
			continue // a uWSGI fleet's mount has no pool (startPools)
		}
		mps = append(mps, mountPool{m, pools[len(mps)]})
	}
	return mps
}

// setPools tells the operator the worker pools, once started, and again
// when a reload replaced them.
func (op *operator) setPools(pools []mountPool) {
	op.pools.Store(&pools)
	if op.metrics != nil {
		op.register.Do(func() { op.metrics.addPools(op.currentPools, op.alog) })
	}
	if op.alog != nil {
		currentAccessLog.Store(op.alog)
		publishAccessLogOnce.Do(func() {
			expvar.Publish("gowsgi_access_log", expvar.Func(func() any {
				al := currentAccessLog.Load()
				if al == nil {
					return nil
				}
				return map[string]any{"written": al.Written(), "dropped": al.Dropped(), "queued": al.Queued()}
			}))
		})
	}
}

// statusView is the mounts served and, in the same order, a function
// returning the statistics of each one's pool or uWSGI fleet.
type statusView struct {
	mounts []mountConfig
	stats  []func() any
}

// setServing tells the operator what serves mounts: fleets[i] (a uWSGI
// fleet) or, for the mounts without one, pools in order. Called once the
// workers started, and again when a reload replaced them.
func (op *operator) setServing(mounts []mountConfig, fleets []*uwsgi.Handler, pools []*wsgi.Handler) {
	op.setPools(mountPools(mounts, pools))
	op.view.Store(&statusView{mounts: mounts, stats: mountStats(fleets, pools)})
}

// currentView returns what setServing last stored.
func (op *operator) currentView() ([]mountConfig, []func() any) {
	if v := op.view.Load(); v != nil {
		return v.mounts, v.stats
	}
	return nil, nil
}

// currentPools returns the pools serving now (none before setPools).
func (op *operator) currentPools() []mountPool {
	if p := op.pools.Load(); p != nil {
		return *p
	}
	return nil
}

// currentAccessLog is what expvar publishes as "gowsgi_access_log": the
// lines written, dropped (the writer too slow) and queued (see
// currentStats for why it is a package variable).
var (
	currentAccessLog     atomic.Pointer[accessLog]
	publishAccessLogOnce sync.Once
)

// queueWait is the pools' wsgi.Config.ObserveQueueWait: nil without
// metrics.
func (op *operator) queueWait() func(*http.Request, time.Duration) {
	if op.metrics == nil {
		return nil
	}
	return op.metrics.observeQueueWait
}

// wrap puts the access log and the request metrics around h, outermost
// (inside the framing guard): every answer of every layer is logged and
// counted. Without either, h is returned as it is.
func (op *operator) wrap(h http.Handler) http.Handler {
	if op.alog == nil && op.metrics == nil {
		return h
	}
	return accesslog.Observe(op.observe)(h)
}

func (op *operator) observe(e *accesslog.Entry) {
	if op.alog != nil {
		op.alog.Add(e)
	}
	if op.metrics != nil {
		op.metrics.observe(e)
	}
}

// close writes what the access log still holds and closes it.
func (op *operator) close(logger *slog.Logger) {
	op.alog.close(logger)
}

// handler serves -status-addr: /healthz, /readyz, /metrics and
// /server-status, and stats (statusHandler: the JSON statistics, expvar,
// pprof) for every other path.
func (op *operator) handler(stats http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", stats)
	mux.HandleFunc("/healthz", op.healthz)
	mux.HandleFunc("/readyz", op.readyz)
	if op.metrics != nil {
		mux.Handle("/metrics", op.metrics.handler())
	}
	mux.HandleFunc("/server-status", op.serverStatus)
	return mux
}

// healthz answers 200 while every mount has a worker process in service
// (for the flags' one mount: at least one worker is ready), else 503
// with the reason.
func (op *operator) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	for _, mp := range op.currentPools() {
		if err := mp.pool.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "mount %s: no worker ready: %v\n", mp.mount.Path, err)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

// readyz answers 200 while the server accepts requests, and 503 from the
// moment shutdown begins (SIGTERM or SIGINT), -shutdown-delay before it
// stops accepting.
func (op *operator) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if op.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "shutting down")
		return
	}
	fmt.Fprintln(w, "ok")
}
