package wsgi

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// The dispatcher decides which request goes on which worker connection
// (one per Python request thread), and when. Its policy:
//
//  1. A request goes to an idle connection (nothing in flight) when there
//     is one, rotating among them.
//  2. When none is idle, a safe request (GET, HEAD, OPTIONS) whose body, if
//     any, went with it may be queued on a busy connection, behind at most
//     pipelineDepth-1 others, and only when every request there started
//     less than pipelineMaxAge ago and none streams, and while requests
//     have been short lately (a moving average of their run time under
//     pipelineMaxAge: with long requests about, a queued one would likely
//     wait, or be moved after its worker started it and run twice). The worker then finds
//     it already read when it finishes the running one (see NOTES on the
//     cost of waking a worker). Any other request never waits behind a
//     running one: it waits in the queue below for an idle connection.
//  3. The queue is first come, first served, bounded by Config.QueueSize
//     and Config.QueueTimeout (503).
//  4. An idle connection goes to the oldest request waiting for a thread,
//     whether in the queue or queued, not started yet, behind a request
//     that has run pipelineMaxAge (a younger one most likely ends at once;
//     a timer looks again when it is old enough). The latter is taken
//     back (an abort frame, which the worker reads before it would start
//     it) and moved to the idle connection, which is reserved for it. So no request waits behind
//     another while a thread that could serve it is idle or serves a
//     younger request; being safe, one that the worker started meanwhile
//     may run twice, its first run's output dropped.
const (
	// pipelineDepth bounds the requests in flight on one connection: the
	// running one and up to three queued behind it.
	pipelineDepth = 4
	// pipelineMaxAge: no request is queued behind one running longer.
	pipelineMaxAge = 10 * time.Millisecond
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
	// rescuable: the request may be queued behind a running one (rule 2).
	rescuable bool
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
	h.conns = slices.DeleteFunc(h.conns, func(o *conn) bool { return o == c })
}

// pick returns a connection for a new request, or nil: an idle one first
// (rotating), else, for a rescuable request, one whose requests are young
// and not streaming, with room in its pipeline. Called with h.mu held.
func (h *Handler) pick(rescuable bool) *conn {
	n := len(h.conns)
	for i := 0; i < n; i++ {
		j := (h.rr + i) % n
		if c := h.conns[j]; c.assigned == 0 {
			h.rr = (j + 1) % n
			return c
		}
	}
	if !rescuable || time.Duration(h.service.Load()) > h.pipelineMaxAge {
		return nil
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
		if c.pipelineOK(now, h.pipelineMaxAge) {
			return c
		}
	}
	return nil
}

// moveOldest applies rule 4 for requests queued behind running ones: if a
// connection is idle and a request that arrived before the time before
// waits, not started, behind a running one, the oldest such request is
// moved to the idle connection. It reports whether it moved one. Called
// with h.mu held.
func (h *Handler) moveOldest(before int64) bool {
	var to *conn
	queued := false
	for _, c := range h.conns {
		switch {
		case c.assigned == 0:
			if to == nil {
				to = c
			}
		case c.assigned > 1:
			queued = true
		}
	}
	if to == nil || !queued {
		return false
	}
	// Only from behind a request that has run moveAfter: one younger
	// most likely ends at once, and its worker would start the request
	// while the abort is on its way (it would run twice).
	now := time.Now().UnixNano()
	headBefore := now - int64(h.moveAfter)
	var from *conn
	var oldest *call
	young := int64(0) // the earliest start of a too young request with a queue
	for _, c := range h.conns {
		if c.assigned > 1 {
			cl, head := c.oldestQueued(before, headBefore)
			if cl != nil {
				from, oldest, before = c, cl, cl.start.Load()
			} else if head > headBefore && (young == 0 || head < young) {
				young = head
			}
		}
	}
	if oldest == nil {
		if young != 0 && !h.moveArmed {
			// Look again when that request is old enough.
			h.moveArmed = true
			h.moveTimer.Reset(time.Duration(young - headBefore))
		}
		return false
	}
	to.assigned++ // reserved for the request moved
	if !from.move(oldest, to) {
		to.assigned--
		return false
	}
	if oldest.stopped() && oldest.moveTo.CompareAndSwap(to, nil) {
		// Its exchange had already stopped listening: nobody will take
		// the reservation.
		to.assigned--
	}
	return true
}

// observe records a request's run time (ns) in the moving average that
// rule 2 reads: each new one weighs an eighth.
func (h *Handler) observe(d int64) {
	for {
		old := h.service.Load()
		if h.service.CompareAndSwap(old, old-old/8+d/8) {
			return
		}
	}
}

// moveLater runs grant again when a request queued behind a young one may
// move (moveOldest armed it).
func (h *Handler) moveLater() {
	h.mu.Lock()
	h.moveArmed = false
	h.grant()
	h.mu.Unlock()
	h.flushDirty()
}

// pipelineOK reports whether a rescuable request may be queued on c: every
// request there is younger than maxAge, none streams, none was taken back.
func (c *conn) pipelineOK(now int64, maxAge time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.order {
		if cl.streaming.Load() || cl.taken {
			return false
		}
		if s := cl.start.Load(); s != 0 && now-s > int64(maxAge) {
			return false
		}
	}
	return true
}

// grant hands free connections to waiting requests, oldest first. Called
// with h.mu held.
func (h *Handler) grant() {
	for len(h.waiters) > 0 {
		if h.moveOldest(h.waiters[0].enq) {
			continue
		}
		c := h.pick(h.waiters[0].rescuable)
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
	for h.moveOldest(math.MaxInt64) {
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
		if c := h.pick(cl.rescuable); c != nil {
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
	w.rescuable = cl.rescuable
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
