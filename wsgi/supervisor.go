package wsgi

import (
	"context"
	"errors"
	"os"
	"slices"
	"time"
)

// firstDone counts down the processes' first start attempts.
func (h *Handler) firstDone() {
	if h.firstCnt.Add(-1) == 0 {
		close(h.firstRun)
	}
}

// track records a process as started (true) or reaped (false).
func (h *Handler) track(p *process, alive bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if alive {
		h.all[p] = struct{}{}
	} else {
		delete(h.all, p)
		h.allDone.Broadcast()
	}
}

// supervise keeps process slot (1 to Processes) filled: start, replace on
// crash with backoff, replace gracefully when asked to retire.
func (h *Handler) supervise(slot int) {
	defer h.wg.Done()
	first := true
	failures := 0
	var cur *process
	for {
		if cur == nil {
			if h.isClosed() {
				// Shutdown began while the process was being replaced:
				// no new one (Shutdown would wait for it to load).
				if first {
					h.firstDone()
				}
				return
			}
			p, err := h.spawn(slot)
			if err == nil && h.isClosed() {
				p.kill("shutdown")
				err = errClosed
			}
			if err != nil {
				if h.isClosed() {
					if first {
						h.firstDone()
					}
					return
				}
				failures++
				h.stats.restart("startup_failure")
				h.startFailed(err)
				if first {
					first = false
					h.firstDone()
				}
				if !h.sleep(backoff(failures)) {
					return
				}
				continue
			}
			h.addProcess(p)
			if first {
				first = false
				h.firstDone()
			}
			cur = p
		}
		select {
		case <-cur.exited:
			reason := "crash"
			if r := cur.killReason.Load(); r != nil && *r != "" {
				reason = *r
			}
			h.removeProcess(cur)
			h.stats.restart(reason)
			if reason == "crash" {
				h.log.Error("wsgi: worker process died", "pid", cur.pid, "state", cur.cmd.ProcessState.String())
			} else {
				h.log.Warn("wsgi: worker process killed", "pid", cur.pid, "reason", reason)
			}
			quick := time.Since(cur.started) < time.Second
			cur = nil
			if quick && reason == "crash" {
				failures++
				if !h.sleep(backoff(failures)) {
					return
				}
			} else {
				failures = 0
			}
		case reason := <-cur.retire:
			np, err := h.spawn(slot)
			if err != nil {
				// Keep serving with the old process; report the new
				// script's failure.
				h.log.Error("wsgi: replacing a worker failed; the old one keeps serving", "reason", reason, "err", err, "output", startOutput(err))
				h.stats.restart("startup_failure")
				h.mu.Lock()
				cur.retiring = false
				h.mu.Unlock()
				if !h.sleep(backoff(1)) {
					return
				}
				continue
			}
			if h.isClosed() {
				np.kill("shutdown")
				return
			}
			h.log.Info("wsgi: replacing worker process", "pid", cur.pid, "new_pid", np.pid, "reason", reason)
			old := cur
			h.addProcess(np)
			h.retireProcess(old)
			// Counted once the old process takes no new request.
			h.stats.restart(reason)
			cur = np
		case <-h.done:
			return
		}
	}
}

func startOutput(err error) string {
	var se *StartError
	if errors.As(err, &se) {
		return se.Output
	}
	return ""
}

func backoff(failures int) time.Duration {
	d := 100 * time.Millisecond << min(failures-1, 7)
	return min(d, 10*time.Second)
}

// sleep waits d or until the handler closes; it reports false when closed.
func (h *Handler) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-h.done:
		return false
	}
}

func (h *Handler) isClosed() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// startFailed logs a failed start and, while no process is ready, fails the
// waiting requests with 503 rather than letting them hang.
func (h *Handler) startFailed(err error) {
	h.log.Error("wsgi: "+errString(err), "output", startOutput(err))
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.procs) == 0 {
		h.startErr = err
		for _, w := range h.waiters {
			w.ch <- nil
		}
		h.waiters = nil
	}
}

func (h *Handler) addProcess(p *process) {
	h.mu.Lock()
	p.ready = true
	p.lastUsed = time.Now()
	h.procs = append(h.procs, p)
	h.conns = append(h.conns, p.conns...)
	h.startErr = nil
	h.grant()
	h.mu.Unlock()
	h.flushDirty()
}

// removeProcess takes p out of service.
func (h *Handler) removeProcess(p *process) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unlist(p)
}

func (h *Handler) unlist(p *process) {
	// DeleteFunc clears the tail: no stale pointer keeps p alive.
	h.procs = slices.DeleteFunc(h.procs, func(q *process) bool { return q == p })
	h.conns = slices.DeleteFunc(h.conns, func(c *conn) bool { return c.p == p })
}

// retireProcess drains p in the background: no new requests, in-flight ones
// finish (up to GracefulTimeout), then it is told to exit.
func (h *Handler) retireProcess(p *process) {
	h.mu.Lock()
	h.unlist(p)
	h.mu.Unlock()
	h.drains.Add(1)
	go func() {
		defer h.drains.Done()
		h.drainProcess(p, time.Now().Add(h.cfg.GracefulTimeout))
	}()
}

// drainProcess waits until p has no request in flight or the deadline
// passed, then closes its sockets and makes sure it exits.
func (h *Handler) drainProcess(p *process, deadline time.Time) {
	for {
		h.mu.Lock()
		busy := 0
		for _, c := range p.conns {
			busy += c.assigned
		}
		h.mu.Unlock()
		if busy == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-p.exited:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.killReason.CompareAndSwap(nil, ptr("retired"))
	p.closeConns()
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
		p.kill("retired")
		<-p.exited
	}
}

func ptr[T any](v T) *T { return &v }

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
		if h.cfg.RequestTimeout > 0 {
			now := time.Now().UnixNano()
			for _, p := range procs {
				for _, c := range p.conns {
					if c.overdue(now, h.cfg.RequestTimeout) {
						h.log.Error("wsgi: a request whose client left ran past the request timeout; killing its worker", "pid", p.pid, "timeout", h.cfg.RequestTimeout)
						p.kill("timeout")
						break
					}
				}
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
	h.adapter.remove()
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
