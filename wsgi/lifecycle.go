package wsgi

import (
	"context"
	"maps"
	"os"
	"time"
)

// monitor recycles processes that grew too large or idled too long, and
// replaces them all when the script changed.
func (h *Handler) monitor() {
	defer h.wg.Done()
	tick := time.Second
	if h.cfg.ReloadInterval > 0 && h.cfg.ReloadInterval < tick {
		tick = h.cfg.ReloadInterval
	}
	if h.cfg.InactivityTimeout > 0 && h.cfg.InactivityTimeout/2 < tick {
		tick = max(h.cfg.InactivityTimeout/2, 10*time.Millisecond)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	lastScriptCheck := time.Now()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
		}
		if h.cfg.ReloadInterval > 0 && time.Since(lastScriptCheck) >= h.cfg.ReloadInterval-tick/10 {
			lastScriptCheck = time.Now()
			if fi, err := os.Stat(h.cfg.Script); err == nil && !fi.ModTime().Equal(h.scriptMtime) {
				h.scriptMtime = fi.ModTime()
				h.log.Info("wsgi: script changed; reloading", "script", h.cfg.Script)
				h.retireAll("reload")
				continue
			}
		}
		h.mu.Lock()
		procs := append([]*process(nil), h.procs...)
		h.mu.Unlock()
		now := time.Now().UnixNano()
		for _, p := range procs {
			for _, c := range p.conns {
				c.rescue(now)
			}
		}
		for _, p := range procs {
			if h.cfg.MemoryLimit > 0 {
				if rss, err := p.rss(); err == nil && rss > h.cfg.MemoryLimit {
					h.log.Warn("wsgi: worker over its memory limit", "pid", p.pid, "rss", rss, "limit", h.cfg.MemoryLimit)
					h.retireOne(p, "memory")
					continue
				}
			}
			if h.cfg.InactivityTimeout > 0 {
				h.mu.Lock()
				idle := time.Since(p.lastUsed)
				busy := 0
				for _, c := range p.conns {
					busy += c.assigned
				}
				h.mu.Unlock()
				if busy == 0 && idle > h.cfg.InactivityTimeout {
					h.retireOne(p, "inactivity")
				}
			}
		}
	}
}

// retireOne asks p's supervisor to replace it gracefully.
func (h *Handler) retireOne(p *process, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p.retiring || !p.ready {
		return
	}
	p.retiring = true
	select {
	case p.retire <- reason:
	default:
	}
}

func (h *Handler) retireAll(reason string) {
	h.mu.Lock()
	procs := append([]*process(nil), h.procs...)
	h.mu.Unlock()
	for _, p := range procs {
		h.retireOne(p, reason)
	}
}

// Reload replaces every worker process gracefully, as a change of the
// script does: new processes load the script, then the old ones finish
// their requests and exit. Requests keep being served meanwhile. If the new
// script fails to load, the old processes keep serving and the traceback is
// logged.
func (h *Handler) Reload() {
	h.retireAll("reload")
}

// Shutdown stops the handler: new requests get 503, queued ones too,
// requests in flight may finish until ctx is done; then every worker process
// is killed. It returns when no worker process is left, with ctx's error if
// requests had to be cut short.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.waitReaped()
		return nil
	}
	h.closed = true
	for _, w := range h.waiters {
		w.ch <- nil
	}
	h.waiters = nil
	h.conns = nil
	h.mu.Unlock()
	close(h.done)
	// Processes still loading the script are not waited for.
	h.mu.Lock()
	for p := range h.all {
		if !p.ready {
			p.kill("shutdown")
		}
	}
	h.mu.Unlock()
	h.wg.Wait()

	var err error
	for {
		h.mu.Lock()
		busy := 0
		for p := range h.all {
			for _, c := range p.conns {
				busy += c.assigned
			}
		}
		h.mu.Unlock()
		if busy == 0 {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	h.mu.Lock()
	procs := make([]*process, 0, len(h.all))
	for p := range h.all {
		procs = append(procs, p)
	}
	h.mu.Unlock()
	for _, p := range procs {
		p.killReason.CompareAndSwap(nil, ptr("shutdown"))
		p.closeConns()
	}
	grace := time.NewTimer(time.Second)
	defer grace.Stop()
	for _, p := range procs {
		select {
		case <-p.exited:
		case <-grace.C:
			for _, q := range procs {
				q.kill("shutdown")
			}
			<-p.exited
		}
	}
	h.drains.Wait()
	h.waitReaped()
	return err
}

func (h *Handler) waitReaped() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.all) > 0 {
		h.allDone.Wait()
	}
}

// Close is Shutdown with Config.GracefulTimeout as the deadline.
func (h *Handler) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.GracefulTimeout)
	defer cancel()
	return h.Shutdown(ctx)
}

// Stats is a snapshot of a [Handler]'s workers and counters.
type Stats struct {
	// Processes is the number of worker processes in service.
	Processes int `json:"processes"`
	// Busy and Idle count request threads (connections) with and without
	// a request.
	Busy int `json:"busy"`
	Idle int `json:"idle"`
	// Queued is the number of requests waiting for a worker.
	Queued int `json:"queued"`
	// Served counts requests answered by a worker (any status).
	Served int64 `json:"served"`
	// Requeued counts requests sent to another worker because the one
	// they were queued on died before they started.
	Requeued int64 `json:"requeued"`
	// Failures counts error responses by cause: "app_error" (500,
	// exception), "bad_response" (500, invalid status or headers),
	// "app_status" (5xx chosen by the application), "worker_died" (502),
	// "timeout" (504), "queue_full", "queue_timeout" and "unavailable"
	// (503).
	Failures map[string]int64 `json:"failures"`
	// Restarts counts worker replacements by cause: "crash", "timeout",
	// "max_requests", "memory", "inactivity", "reload",
	// "startup_failure".
	Restarts map[string]int64 `json:"restarts"`
}

// Stats returns a snapshot of the handler's state and counters.
func (h *Handler) Stats() Stats {
	var s Stats
	h.mu.Lock()
	s.Processes = len(h.procs)
	for _, c := range h.conns {
		if c.assigned > 0 {
			s.Busy++
		} else {
			s.Idle++
		}
	}
	s.Queued = len(h.waiters)
	h.mu.Unlock()
	s.Served = h.stats.served.Load()
	s.Requeued = h.stats.requeued.Load()
	h.stats.mu.Lock()
	s.Failures = maps.Clone(h.stats.failures)
	s.Restarts = maps.Clone(h.stats.restarts)
	h.stats.mu.Unlock()
	return s
}
