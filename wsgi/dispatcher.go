package wsgi

import (
	"context"
	"fmt"
	"sync"
	"time"
)

const (
	// pipelineDepth is how many requests may be in flight on one worker
	// connection: the running one and up to three queued in its socket, so
	// that the worker finds its next request without sleeping and both
	// sides read several frames per system call. A request is queued on a
	// busy connection only when no connection is idle, and only behind
	// requests that are young and do not stream (pipelineMaxAge).
	pipelineDepth = 4
	// pipelineMaxAge: no request is queued behind one running longer.
	// (A queued request cannot be taken back: the worker reads its socket
	// only between requests.)
	pipelineMaxAge = 10 * time.Millisecond
	// pipelineRescue: a safe request (GET, HEAD, OPTIONS, its body if any
	// sent with it) queued behind a request that has run longer than this
	// is taken back (an abort the worker reads before it would start it)
	// and dispatched again, so that a request that turns out long does
	// not hold up those queued behind it. The monitor looks every
	// second. Other requests stay: running one twice could do its work
	// twice.
	pipelineRescue = time.Second
)

type waiter struct {
	ch chan *conn // nil conn: no worker will come (err says why)
	// cl and req, when set, let grant register and queue the request on
	// the connection it grants (sent), so that the requests granted by one
	// batch of answers go to a worker in one write (see flushDirty).
	cl   *call
	req  []byte
	sent bool // set under h.mu before the connection is sent on ch
	// enq is when the request joined the queue (unix nanos).
	enq int64
	// err is set under h.mu before a nil conn is sent on ch: why no
	// worker came (nil: errUnavailable).
	err error
}

// waiterPool recycles waiters and their channels: a waiter goes back once
// its channel was drained and it left the queue.
var waiterPool = sync.Pool{New: func() any { return &waiter{ch: make(chan *conn, 1)} }}

func putWaiter(w *waiter) {
	*w = waiter{ch: w.ch}
	waiterPool.Put(w)
}

// preSendMax bounds a request that grant queues itself.
const preSendMax = 8 << 10

// connDead takes a broken connection out of service.
func (h *Handler) connDead(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	conns := h.conns[:0]
	for _, o := range h.conns {
		if o != c {
			conns = append(conns, o)
		}
	}
	clear(h.conns[len(conns):])
	h.conns = conns
}

// pick returns a connection for a new request, or nil: an idle one first
// (rotating), else one whose running request is young and not streaming,
// with room in its pipeline. Called with h.mu held.
func (h *Handler) pick() *conn {
	n := len(h.conns)
	for i := 0; i < n; i++ {
		j := (h.rr + i) % n
		if c := h.conns[j]; c.assigned == 0 {
			h.rr = (j + 1) % n
			return c
		}
	}
	var now int64
	for i := 0; i < n; i++ {
		c := h.conns[(h.rr+i)%n]
		if c.assigned >= pipelineDepth {
			continue
		}
		if now == 0 {
			now = time.Now().UnixNano()
		}
		if c.pipelineOK(now) {
			return c
		}
	}
	return nil
}

func (c *conn) pipelineOK(now int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.order {
		if cl.streaming.Load() {
			return false
		}
		if s := cl.start.Load(); s != 0 && now-s > int64(pipelineMaxAge) {
			return false
		}
	}
	return true
}

// grant hands free connections to waiting requests, oldest first. Called
// with h.mu held.
func (h *Handler) grant() {
	for len(h.waiters) > 0 {
		c := h.pick()
		if c == nil {
			return
		}
		c.assigned++
		w := h.waiters[0]
		h.waiters[0] = nil
		h.waiters = h.waiters[1:]
		if w.cl != nil && c.queue(w.cl, w.req) {
			w.sent = true
			h.dirty = append(h.dirty, c)
			h.dirtyN.Store(int32(len(h.dirty)))
		}
		w.ch <- c
	}
}

// release is called when a request on c is answered.
func (h *Handler) release(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.assigned--
	h.stats.served.Add(1)
	p := c.p
	p.served++
	if h.cfg.InactivityTimeout > 0 { // the only reader of lastUsed
		p.lastUsed = time.Now()
	}
	if p.maxRequests > 0 && p.served >= p.maxRequests && p.ready && !p.retiring {
		p.retiring = true
		select {
		case p.retire <- "max_requests":
		default:
		}
	}
	h.grant()
}

// unassign gives back a connection that was not used.
func (h *Handler) unassign(c *conn) {
	h.mu.Lock()
	c.assigned--
	h.grant()
	h.mu.Unlock()
	h.flushDirty()
}

// flushDirty writes the requests that grant queued. The reader of a
// connection calls it before it waits for more answers, so that the
// requests granted by one batch of answers cost one write per connection.
func (h *Handler) flushDirty() {
	if h.dirtyN.Load() == 0 {
		return
	}
	h.mu.Lock()
	d := h.dirty
	h.dirty = h.spareDirty[:0]
	h.spareDirty = nil
	h.dirtyN.Store(0)
	h.mu.Unlock()
	for _, c := range d {
		c.flush()
	}
	clear(d)
	h.mu.Lock()
	if h.spareDirty == nil {
		h.spareDirty = d[:0]
	}
	h.mu.Unlock()
}

// acquire returns a connection for one request, waiting in the queue when
// every worker is busy. When it waited, the request cl (frame req) may
// already be registered and queued on the connection: sent reports it.
func (h *Handler) acquire(ctx context.Context, cl *call, req []byte) (c *conn, sent bool, err error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, false, errClosed
	}
	if len(h.waiters) == 0 {
		if c := h.pick(); c != nil {
			c.assigned++
			h.mu.Unlock()
			return c, false, nil
		}
	}
	if len(h.procs) == 0 && h.startErr != nil {
		err := h.startErr
		h.mu.Unlock()
		return nil, false, fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if len(h.waiters) >= h.cfg.QueueSize {
		h.mu.Unlock()
		return nil, false, errQueueFull
	}
	w := waiterPool.Get().(*waiter)
	if len(req) <= preSendMax {
		w.cl, w.req = cl, req
	}
	w.enq = time.Now().UnixNano()
	h.waiters = append(h.waiters, w)
	if !h.queueArmed {
		h.queueArmed = true
		h.queueTimer.Reset(h.cfg.QueueTimeout)
	}
	h.mu.Unlock()

	select {
	case c := <-w.ch:
		sent, why := w.sent, w.err
		putWaiter(w)
		if c == nil {
			if why == nil {
				why = errUnavailable
			}
			return nil, false, why
		}
		return c, sent, nil
	case <-ctx.Done():
		err = ctx.Err()
	}
	h.mu.Lock()
	for i, o := range h.waiters {
		if o == w {
			h.waiters = append(h.waiters[:i], h.waiters[i+1:]...)
			h.mu.Unlock()
			putWaiter(w)
			return nil, false, err
		}
	}
	h.mu.Unlock()
	// Granted or failed meanwhile: give a connection back, or, when the
	// request already went to the worker, let the caller finish it (a
	// gone client aborts it).
	c = <-w.ch
	sent = w.sent
	putWaiter(w)
	if c != nil {
		if sent {
			return c, true, nil
		}
		h.unassign(c)
	}
	return nil, false, err
}

// expireWaiters runs on the queue timer: it fails the requests that waited
// QueueTimeout (503) and sets the timer for the next oldest.
func (h *Handler) expireWaiters() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now().UnixNano()
	limit := int64(h.cfg.QueueTimeout)
	for len(h.waiters) > 0 && now-h.waiters[0].enq >= limit {
		w := h.waiters[0]
		h.waiters[0] = nil
		h.waiters = h.waiters[1:]
		w.err = errQueueTimeout
		w.ch <- nil
	}
	if len(h.waiters) == 0 {
		h.queueArmed = false
		return
	}
	h.queueTimer.Reset(time.Duration(h.waiters[0].enq + limit - now))
}

// rescue tells the safe requests queued behind a request that has run
// longer than pipelineRescue to take themselves back. A request that
// started meanwhile ignores it.
func (c *conn) rescue(now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.order) < 2 || now-c.order[0].head < int64(pipelineRescue) {
		return
	}
	for _, cl := range c.order[1:] {
		if cl.rescuable {
			select {
			case cl.ch <- []frame{{typ: frameRescue, id: cl.id, fd: -1}}:
			default: // frames are flowing: it runs
			}
		}
	}
}
