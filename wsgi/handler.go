package wsgi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gowsgi/gowsgi/internal/reqctx"
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
	// inlineBody is the largest request body read before dispatch and sent
	// with the request; larger and unknown-length bodies stream on demand.
	inlineBody = 64 << 10
)

// Handler serves requests with a WSGI application run in Python worker
// processes. It is safe for concurrent use. Create it with [New]; stop it
// with [Handler.Close] or [Handler.Shutdown].
type Handler struct {
	cfg    Config
	log    *slog.Logger
	python string

	mu      sync.Mutex
	conns   []*conn // connections of ready processes not retiring
	rr      int
	waiters []*waiter
	procs   []*process // ready processes
	closed  bool
	// startErr is the last failed start while no process is ready.
	startErr error
	all      map[*process]struct{} // every process not yet reaped
	allDone  *sync.Cond

	nextID   atomic.Uint32
	done     chan struct{}
	wg       sync.WaitGroup
	drains   sync.WaitGroup
	firstRun chan struct{}
	firstCnt atomic.Int32

	scriptMtime time.Time
	stats       counters

	// dirty lists connections with requests queued by grant and not yet
	// written (under mu); dirtyN is its length, read without mu. spareDirty
	// is the list flushDirty emptied last, for reuse.
	dirty      []*conn
	spareDirty []*conn
	dirtyN     atomic.Int32

	// queueTimer fails the oldest waiters when they have waited
	// QueueTimeout: one timer for the whole queue (it is in arrival
	// order), armed while waiters exist (queueArmed, under mu).
	queueTimer *time.Timer
	queueArmed bool
}

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

// New validates cfg, starts the worker processes and waits until each one
// loaded the script or failed to. A script that fails to load is not an
// error here: the traceback is logged, the process is retried with backoff
// and requests get 503 meanwhile (as with mod_wsgi). An interpreter that
// cannot be run is an error.
func New(cfg Config) (*Handler, error) {
	if cfg.Script == "" {
		return nil, errors.New("wsgi: Config.Script is required")
	}
	if _, err := os.Stat(cfg.Script); err != nil {
		return nil, fmt.Errorf("wsgi: script: %w", err)
	}
	if cfg.Processes < 0 || cfg.Threads < 0 || cfg.QueueSize < 0 || cfg.MaxRequests < 0 || cfg.MemoryLimit < 0 {
		return nil, errors.New("wsgi: negative Processes, Threads, QueueSize, MaxRequests or MemoryLimit")
	}
	if cfg.RequestTimeout < 0 || cfg.QueueTimeout < 0 || cfg.StartTimeout < 0 || cfg.InactivityTimeout < 0 || cfg.GracefulTimeout < 0 {
		return nil, errors.New("wsgi: negative timeout")
	}
	for _, e := range cfg.Env {
		if len(e) == 0 || e[0] == '=' || !containsByte(e, '=') {
			return nil, fmt.Errorf("wsgi: Env entry %q is not KEY=VALUE", e)
		}
	}
	// The handler keeps its own copies: a caller changing its map or
	// slices later changes nothing here.
	cfg.Environ = maps.Clone(cfg.Environ)
	cfg.Env = slices.Clone(cfg.Env)
	cfg.PythonPath = slices.Clone(cfg.PythonPath)
	cfg.TrustedProxies = slices.Clone(cfg.TrustedProxies)
	if cfg.Callable == "" {
		cfg.Callable = "application"
	}
	if cfg.Processes == 0 {
		cfg.Processes = 1
	}
	if cfg.Threads == 0 {
		cfg.Threads = 1
	}
	if cfg.Python == "" {
		cfg.Python = "python3"
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.QueueTimeout == 0 {
		cfg.QueueTimeout = 30 * time.Second
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 1024
	}
	if cfg.ReloadInterval == 0 {
		cfg.ReloadInterval = time.Second
	}
	if cfg.GracefulTimeout == 0 {
		cfg.GracefulTimeout = 30 * time.Second
	}
	py, err := exec.LookPath(cfg.Python)
	if err != nil {
		return nil, fmt.Errorf("wsgi: python interpreter: %w", err)
	}
	h := &Handler{
		cfg:      cfg,
		log:      reqctx.Logger(cfg.Logger),
		python:   py,
		all:      map[*process]struct{}{},
		done:     make(chan struct{}),
		firstRun: make(chan struct{}),
	}
	h.allDone = sync.NewCond(&h.mu)
	h.queueTimer = time.AfterFunc(time.Hour, h.expireWaiters)
	h.queueTimer.Stop()
	h.stats.init()
	if fi, err := os.Stat(cfg.Script); err == nil {
		h.scriptMtime = fi.ModTime()
	}
	h.firstCnt.Store(int32(cfg.Processes))
	for i := 0; i < cfg.Processes; i++ {
		h.wg.Add(1)
		go h.supervise()
	}
	h.wg.Add(1)
	go h.monitor()
	<-h.firstRun
	return h, nil
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

func (h *Handler) jitter(n int) int { return rand.IntN(n) }

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

// supervise keeps one process slot filled: start, replace on crash with
// backoff, replace gracefully when asked to retire.
func (h *Handler) supervise() {
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
			p, err := h.spawn()
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
			np, err := h.spawn()
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
			h.stats.restart(reason)
			h.log.Info("wsgi: replacing worker process", "pid", cur.pid, "new_pid", np.pid, "reason", reason)
			old := cur
			h.addProcess(np)
			h.retireProcess(old)
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

func errString(err error) string {
	s := err.Error()
	if len(s) > 6 && s[:6] == "wsgi: " {
		return s[6:]
	}
	return s
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
	procs := h.procs[:0]
	for _, q := range h.procs {
		if q != p {
			procs = append(procs, q)
		}
	}
	clear(h.procs[len(procs):])
	h.procs = procs
	conns := h.conns[:0]
	for _, c := range h.conns {
		if c.p != p {
			conns = append(conns, c)
		}
	}
	clear(h.conns[len(conns):])
	h.conns = conns
}

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

// Errors of acquire, each answered with 503.
var (
	errQueueFull    = errors.New("wsgi: queue full")
	errQueueTimeout = errors.New("wsgi: timed out waiting for a worker")
	errUnavailable  = errors.New("wsgi: no worker available")
	errClosed       = errors.New("wsgi: handler closed")
)

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

// ServeHTTP implements http.Handler: it sends the request to a worker and
// streams the response back. It never returns an error: failures become a
// status (500 application error, 502 worker died, 503 no worker, 504
// timeout) and a log line with the detail.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()

	// Build the request frame: header, environ, and a small body inline.
	// The buffers are reused: nothing holds the frame once ServeHTTP
	// returns (a request queued for a worker is copied into its
	// connection's pending writes).
	sc := scratchPool.Get().(*scratch)
	defer sc.put()
	sc.env = appendEnviron(sc.env[:0], r, &h.cfg)
	buf := appendMarshalEnviron(sc.buf[:frameHeaderLen+4], sc.env)
	envLen := len(buf) - frameHeaderLen - 4
	typ := byte(frameReq)
	hasBody := r.Body != nil && r.Body != http.NoBody
	if !hasBody || r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		typ = frameReqFull
	} else if r.ContentLength > 0 && r.ContentLength <= inlineBody {
		start := len(buf)
		buf = append(buf, make([]byte, r.ContentLength)...)
		if _, err := io.ReadFull(r.Body, buf[start:]); err != nil {
			h.log.Warn("wsgi: reading request body", append(reqctx.LogAttrs(r), "err", err)...)
			http.Error(w, "Bad Request", http.StatusBadRequest)
			return
		}
		typ = frameReqFull
	}
	sc.buf = buf
	binary.LittleEndian.PutUint32(buf[frameHeaderLen:], uint32(envLen))
	rescuable := typ == frameReqFull && (r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions)

	var deadline <-chan time.Time
	if h.cfg.RequestTimeout > 0 {
		t := time.NewTimer(h.cfg.RequestTimeout)
		defer t.Stop()
		deadline = t.C
	}
	for attempt := 0; ; attempt++ {
		id := h.nextID.Add(1)
		putHeader(buf, typ, id, len(buf)-frameHeaderLen)
		cl := newCall(id, rescuable)
		c, sent, err := h.acquire(ctx, cl, buf)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			cause := "unavailable"
			switch {
			case errors.Is(err, errQueueFull):
				cause = "queue_full"
			case errors.Is(err, errQueueTimeout):
				cause = "queue_timeout"
			}
			h.stats.fail(cause)
			h.log.Warn("wsgi: "+errString(err), reqctx.LogAttrs(r)...)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		ex := exchange{h: h, c: c, w: w, r: r, deadline: deadline}
		if !ex.run(cl, buf, sent) {
			return
		}
		// The request never started: its worker died with it queued.
		h.stats.requeued.Add(1)
		if attempt == 9 {
			h.stats.fail("unavailable")
			h.log.Warn("wsgi: request could not be placed on a worker", reqctx.LogAttrs(r)...)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
	}
}

// scratch holds the buffers of one request's frame, reused across requests.
type scratch struct {
	buf []byte
	env []EnvVar
}

// scratchMax bounds the buffers kept for reuse; a request with a large
// inline body or environ gets its own.
const scratchMax = 16 << 10

var scratchPool = sync.Pool{New: func() any {
	return &scratch{buf: make([]byte, 0, 1024), env: make([]EnvVar, 0, 48)}
}}

func (sc *scratch) put() {
	clear(sc.env) // drop the references to the request's strings
	if cap(sc.buf) > scratchMax || cap(sc.env) > 256 {
		return
	}
	sc.env = sc.env[:0]
	scratchPool.Put(sc)
}

// exchange is one request on one worker connection.
type exchange struct {
	h        *Handler
	c        *conn
	w        http.ResponseWriter
	r        *http.Request
	deadline <-chan time.Time

	cl          *call
	wroteHeader bool
	contentLen  int64 // the application's Content-Length, or -1
	written     int64
	bodyDone    bool
	bodyErr     error
	// status is the application's status, set by its headers and sent
	// with the first body bytes, the end, or a file.
	status int
	hdr    []string // names and values in turn (responseHead.header)
	// last is set while the last frame of a batch is handled.
	last bool
	// started: a frame of the response arrived.
	started bool
}

// run sends the request (unless acquire already did: sent) and relays the
// response. It reports true when the request never started on the worker
// and should be sent elsewhere.
func (ex *exchange) run(cl *call, req []byte, sent bool) (retry bool) {
	h, c, r := ex.h, ex.c, ex.r
	ex.cl = cl
	ex.contentLen = -1
	// ended: the request's last frame was handled, so that its reader
	// is done with cl and cl can be reused; otherwise the reader is told
	// to drop what still comes.
	ended := false
	defer func() {
		if ended {
			putCall(cl)
		} else {
			cl.stop()
		}
	}()
	if !sent { // else grant registered and queued it
		if err := c.send(cl, req); err != nil {
			if errors.Is(err, errWorkerGone) {
				h.unassign(c)
				return true
			}
			// The reader fails the request below.
			h.log.Warn(errString(err), reqctx.LogAttrs(r)...)
		}
	}
	ctx := r.Context()
	// rest holds the frames of the batch not handled yet; on an early
	// return their descriptors are closed.
	var rest []frame
	defer func() {
		for _, f := range rest {
			if f.fd >= 0 {
				closeFD(f.fd)
			}
		}
	}()
	for {
		var batch []frame
		select {
		case batch = <-cl.ch:
		case <-ctx.Done():
			ex.abort()
			return false
		case <-ex.deadline:
			h.stats.fail("timeout")
			h.log.Error("wsgi: request timed out; killing its worker", append(reqctx.LogAttrs(r), "pid", c.p.pid, "timeout", h.cfg.RequestTimeout)...)
			cl.stop()
			c.p.kill("timeout")
			ex.failStatus(http.StatusGatewayTimeout)
			return false
		}
		for i, f := range batch {
			ex.last = i == len(batch)-1
			rest = batch[i+1:]
			switch f.typ {
			case frameEnd, frameError, frameDied, frameRetry:
				// The last frame: the reader forgot the request
				// before it sent this one (dropLocked, fail).
				ended = true
			}
			if f.typ == frameRescue {
				if ex.started {
					continue
				}
				h.log.Info("wsgi: request taken back from a worker busy with a long request", append(reqctx.LogAttrs(r), "pid", c.p.pid)...)
				ex.abort()
				return true
			}
			ex.started = true
			switch f.typ {
			case frameRead:
				ex.sendBody(readWant(f.payload))
			case frameHeaders:
				if !ex.head(f.payload) {
					return false
				}
			case frameData, frameDataFlush:
				if !ex.data(f) {
					return false
				}
			case frameLog:
				h.log.Warn("wsgi.errors: "+string(f.payload), reqctx.LogAttrs(r)...)
			case frameFile:
				if !ex.file(f) {
					return false
				}
			case frameError:
				h.stats.fail("app_error")
				h.log.Error("wsgi: application error", append(reqctx.LogAttrs(r), "traceback", string(f.payload))...)
				ex.failStatus(http.StatusInternalServerError)
				return false
			case frameEnd:
				if ex.status != 0 {
					ex.commit()
				} else {
					h.stats.fail("bad_response")
					h.log.Error("wsgi: response ended without headers", reqctx.LogAttrs(r)...)
					ex.failStatus(http.StatusInternalServerError)
				}
				return false
			case frameDied:
				h.stats.fail("worker_died")
				h.log.Error("wsgi: worker died while serving the request", append(reqctx.LogAttrs(r), "pid", c.p.pid, "err", string(f.payload))...)
				ex.failStatus(http.StatusBadGateway)
				return false
			case frameRetry:
				return true
			default:
				if f.fd >= 0 {
					closeFD(f.fd)
				}
			}
		}
	}
}

// failStatus answers with status when nothing was sent yet, and otherwise
// aborts the client connection so that a truncated body never looks
// complete.
func (ex *exchange) failStatus(status int) {
	if !ex.wroteHeader {
		ex.wroteHeader = true
		http.Error(ex.w, http.StatusText(status), status)
		return
	}
	// What was written goes out first: the client sees the status and a
	// truncated body, not a connection closed before any response.
	_ = http.NewResponseController(ex.w).Flush()
	panic(http.ErrAbortHandler)
}

// abort tells the worker to stop the request and stops listening to it.
func (ex *exchange) abort() {
	ex.cl.stop()
	var b [frameHeaderLen]byte
	putHeader(b[:], frameAbort, ex.cl.id, 0)
	_ = ex.c.write(b[:])
}

// sendBody answers a read: up to n bytes of the body, or EOF. A body that
// fails (the client went away, bad chunking) aborts the request: the
// application sees its input break.
func (ex *exchange) sendBody(n int) {
	if ex.bodyErr != nil {
		ex.h.log.Warn("wsgi: reading request body", append(reqctx.LogAttrs(ex.r), "err", ex.bodyErr)...)
		ex.abort()
		return
	}
	if ex.bodyDone || ex.r.Body == nil {
		ex.writeFrame(frameEOF, nil)
		return
	}
	b := make([]byte, frameHeaderLen+n)
	for {
		m, err := ex.r.Body.Read(b[frameHeaderLen:])
		if m > 0 {
			if err == io.EOF {
				ex.bodyDone = true
			} else if err != nil {
				ex.bodyErr = err
			}
			putHeader(b, frameBody, ex.cl.id, m)
			_ = ex.c.write(b[:frameHeaderLen+m])
			return
		}
		if err == io.EOF {
			ex.bodyDone = true
			ex.writeFrame(frameEOF, nil)
			return
		}
		if err != nil {
			ex.bodyErr = err
			ex.sendBody(n)
			return
		}
	}
}

func (ex *exchange) writeFrame(typ byte, p []byte) {
	_ = ex.c.write(appendFrame(nil, typ, ex.cl.id, p))
}

// head applies the status and headers from the application.
func (ex *exchange) head(p []byte) bool {
	rh, err := parseHead(p)
	if err == nil && rh.status < 200 {
		err = fmt.Errorf("wsgi: informational status %d as a final status", rh.status)
	}
	if err != nil || ex.status != 0 {
		if err == nil {
			err = errors.New("wsgi: headers sent twice")
		}
		ex.h.stats.fail("bad_response")
		ex.h.log.Error("wsgi: bad response from the application: "+errString(err), reqctx.LogAttrs(ex.r)...)
		ex.abort()
		ex.failStatus(http.StatusInternalServerError)
		return false
	}
	ex.hdr = rh.header
	ex.contentLen = rh.contentLength
	ex.status = rh.status
	return true
}

// commit sends the status line and header.
func (ex *exchange) commit() {
	if ex.wroteHeader {
		return
	}
	ex.wroteHeader = true
	ex.applyHeader()
	ex.w.WriteHeader(ex.status)
}

func (ex *exchange) applyHeader() {
	hdr := ex.w.Header()
	// The values are views of the parsed header block: no copy, no array
	// per header (each view's capacity ends at the value, so that an
	// append for a repeated header copies instead of overwriting).
	for i := 0; i+1 < len(ex.hdr); i += 2 {
		k := textproto.CanonicalMIMEHeaderKey(ex.hdr[i])
		if old, ok := hdr[k]; ok {
			hdr[k] = append(old, ex.hdr[i+1])
			continue
		}
		hdr[k] = ex.hdr[i+1 : i+2 : i+2]
	}
	if ex.status >= 500 {
		ex.h.stats.fail("app_status")
	}
}

// data relays body bytes, never more than the application's Content-Length.
func (ex *exchange) data(f frame) bool {
	if ex.status == 0 {
		ex.h.log.Error("wsgi: body before headers", reqctx.LogAttrs(ex.r)...)
		ex.abort()
		ex.failStatus(http.StatusInternalServerError)
		return false
	}
	p := f.payload
	if ex.contentLen >= 0 && ex.written+int64(len(p)) > ex.contentLen {
		p = p[:ex.contentLen-ex.written]
	}
	ex.commit()
	if len(p) > 0 {
		n, err := ex.w.Write(p)
		ex.written += int64(n)
		if err != nil {
			ex.abort()
			return false
		}
	}
	if f.typ == frameDataFlush && ex.last && len(ex.cl.ch) == 0 {
		if err := http.NewResponseController(ex.w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			ex.abort()
			return false
		}
	}
	return true
}

// stats

// counters are the handler's statistics.
type counters struct {
	mu       sync.Mutex
	served   atomic.Int64
	requeued atomic.Int64
	failures map[string]int64
	restarts map[string]int64
}

func (s *counters) init() {
	s.failures = map[string]int64{}
	s.restarts = map[string]int64{}
}

func (s *counters) fail(cause string) {
	s.mu.Lock()
	s.failures[cause]++
	s.mu.Unlock()
}

func (s *counters) restart(cause string) {
	s.mu.Lock()
	s.restarts[cause]++
	s.mu.Unlock()
}
