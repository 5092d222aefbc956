package uwsgi

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/gowsgi/gowsgi/wsgi"
)

// The balancer's policy: a request goes to the upstream, among those in
// service and below MaxConns, with the fewest requests running (ties in
// turn); when there is none it waits, first come first served, for one to
// finish. An upstream whose connect fails leaves service: it is probed
// with a TCP connect after Backoff (doubling up to 8 × Backoff while the
// probes fail) and returns when one connects. While no upstream is in
// service, requests get 503 at once.

// upstream is one uWSGI instance. Its fields are guarded by Handler.mu.
type upstream struct {
	addr     string
	active   int  // requests running on it
	down     bool // out of service, a probe running
	requests int64
	failures int64 // requests that failed on it once sent
	downs    int64 // times it left service
}

// waiter is a request waiting for an upstream. grant sends it one (nil:
// no upstream is in service any more) and removes it from the queue.
type waiter struct {
	ch      chan *upstream
	granted bool
}

// pick returns the least busy upstream in service below MaxConns, or
// nil. Called with h.mu held.
func (h *Handler) pick() *upstream {
	var best *upstream
	n := len(h.ups)
	for i := range n {
		u := h.ups[(h.turn+i)%n]
		if u.down || u.active >= h.maxConns {
			continue
		}
		if best == nil || u.active < best.active {
			best = u
		}
	}
	if best != nil {
		h.turn++
	}
	return best
}

// inService reports whether an upstream is in service. Called with h.mu
// held.
func (h *Handler) inService() bool {
	for _, u := range h.ups {
		if !u.down {
			return true
		}
	}
	return false
}

// acquire reserves an upstream for a request, waiting in the queue when
// every upstream in service is at MaxConns.
func (h *Handler) acquire(ctx context.Context) (*upstream, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fmt.Errorf("%w: handler closed", wsgi.ErrUnavailable)
	}
	if h.queue.Len() == 0 {
		if u := h.pick(); u != nil {
			u.active++
			u.requests++
			h.mu.Unlock()
			return u, nil
		}
	}
	if !h.inService() {
		h.mu.Unlock()
		return nil, fmt.Errorf("%w: every upstream is out of service", wsgi.ErrUnavailable)
	}
	if h.queue.Len() >= h.queueSize {
		h.mu.Unlock()
		return nil, fmt.Errorf("%w (%d waiting)", wsgi.ErrQueueFull, h.queueSize)
	}
	w := &waiter{ch: make(chan *upstream, 1)}
	el := h.queue.PushBack(w)
	h.mu.Unlock()

	t := time.NewTimer(h.queueTimeout)
	defer t.Stop()
	var err error
	select {
	case u := <-w.ch:
		if u == nil {
			return nil, fmt.Errorf("%w: every upstream went out of service", wsgi.ErrUnavailable)
		}
		return u, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = fmt.Errorf("%w after %v", wsgi.ErrQueueTimeout, h.queueTimeout)
	}
	h.mu.Lock()
	if !w.granted {
		h.queue.Remove(el)
		h.mu.Unlock()
		return nil, err
	}
	h.mu.Unlock()
	if u := <-w.ch; u != nil {
		h.release(u)
	}
	return nil, err
}

// release ends a request on u and hands the slot to a waiting request.
func (h *Handler) release(u *upstream) {
	h.mu.Lock()
	u.active--
	h.grant()
	h.mu.Unlock()
}

// grant gives upstreams to the waiting requests, oldest first, while one
// is free. Called with h.mu held.
func (h *Handler) grant() {
	for h.queue.Len() > 0 {
		u := h.pick()
		if u == nil {
			return
		}
		w := h.queue.Remove(h.queue.Front()).(*waiter)
		u.active++
		u.requests++
		w.granted = true
		w.ch <- u
	}
}

// failAll tells every waiting request that no upstream is in service.
// Called with h.mu held.
func (h *Handler) failAll() {
	for h.queue.Len() > 0 {
		w := h.queue.Remove(h.queue.Front()).(*waiter)
		w.granted = true
		w.ch <- nil
	}
}

// connectFailed takes u out of service after a failed connect, and
// starts its probe.
func (h *Handler) connectFailed(u *upstream, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u.active--
	if u.down || h.closed {
		h.grant()
		return
	}
	u.down = true
	u.downs++
	h.log.Warn("uwsgi: upstream out of service", "upstream", u.addr, "err", err, "backoff", h.backoff)
	if !h.inService() {
		h.failAll()
	} else {
		h.grant()
	}
	h.probes.Add(1)
	go h.probe(u)
}

// probe connects to u after the backoff, doubling it while the connect
// fails, and puts u back in service when one succeeds.
func (h *Handler) probe(u *upstream) {
	defer h.probes.Done()
	wait := h.backoff
	for {
		t := time.NewTimer(wait)
		select {
		case <-h.done:
			t.Stop()
			return
		case <-t.C:
		}
		c, err := net.DialTimeout("tcp", u.addr, h.connectTimeout)
		if err == nil {
			c.Close()
			h.mu.Lock()
			u.down = false
			h.grant()
			h.mu.Unlock()
			h.log.Info("uwsgi: upstream back in service", "upstream", u.addr)
			return
		}
		h.log.Debug("uwsgi: probe failed", "upstream", u.addr, "err", err)
		wait = min(2*wait, 8*h.backoff)
	}
}

// UpstreamStats describes one upstream.
type UpstreamStats struct {
	// Addr is the upstream's HOST:PORT.
	Addr string
	// Active is the number of requests running on it.
	Active int
	// Down reports that it is out of service, waiting for a probe.
	Down bool
	// Requests counts the requests given to it, Failures those that
	// failed there once sent (the upstream closed or reset the connection,
	// a bad response, a timeout), Downs the times it left service.
	Requests, Failures, Downs int64
}

// Stats reports each upstream's state and counters, in the order of
// Config.Upstreams.
func (h *Handler) Stats() []UpstreamStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]UpstreamStats, len(h.ups))
	for i, u := range h.ups {
		out[i] = UpstreamStats{Addr: u.addr, Active: u.active, Down: u.down,
			Requests: u.requests, Failures: u.failures, Downs: u.downs}
	}
	return out
}
