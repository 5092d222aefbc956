package wsgi

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// conn is one socket pair to one request thread of a worker.
type conn struct {
	p  *process
	uc *net.UnixConn
	rc syscall.RawConn
	fr *frameReader

	// Writes combine: a writer appends its frames to pending under wmu;
	// the one that finds no write in progress writes everything pending,
	// looping until it is empty, so that requests sent together by
	// several handlers cost one write(2).
	wmu     sync.Mutex
	writing bool
	pending []byte
	spare   []byte
	pendReq bool // pending holds a request frame

	mu    sync.Mutex
	calls map[uint32]*call
	order []*call // in the order written: order[0] is running
	dead  bool

	// assigned counts requests given to this connection and not yet
	// answered (under h.mu).
	assigned int
}

// call is one request in flight on a connection.
type call struct {
	id        uint32
	ch        chan []frame  // frames in batches: those that arrived together
	abandon   chan struct{} // closed when the handler stops listening
	once      sync.Once
	start     atomic.Int64 // unix nanos the request was written, 0 before
	streaming atomic.Bool  // the response streams or the body is pulled
	// head is when the request became the first on its connection, the
	// one the worker runs (unix nanos; under conn.mu).
	head int64
	// rescuable: a safe request whose body, if any, went with it, so that
	// it may wait behind a running request and run again elsewhere (see
	// the dispatcher's policy).
	rescuable bool
	// taken: it was told to take itself back (under conn.mu), to moveTo,
	// a connection reserved for it, which its exchange takes or gives back.
	taken  bool
	moveTo atomic.Pointer[conn]
	// rec is the request's record, for [Handler.Workers]; set before the
	// call is registered, cleared by putCall.
	rec *reqinfo.Record
}

func (cl *call) stop() { cl.once.Do(func() { close(cl.abandon) }) }

// stopped reports whether the handler stopped listening to cl.
func (cl *call) stopped() bool {
	select {
	case <-cl.abandon:
		return true
	default:
		return false
	}
}

// callPool recycles the calls whose last frame their handler received
// (see exchange.run): nothing refers to them then, and their channels are
// empty and open.
var callPool = sync.Pool{New: func() any {
	return &call{ch: make(chan []frame, 4), abandon: make(chan struct{})}
}}

func newCall(id uint32, rescuable bool) *call {
	cl := callPool.Get().(*call)
	cl.id = id
	cl.rescuable = rescuable
	return cl
}

func putCall(cl *call) {
	cl.start.Store(0)
	cl.streaming.Store(false)
	cl.head = 0
	cl.taken = false
	cl.moveTo.Store(nil)
	cl.rec = nil
	callPool.Put(cl)
}

// deliver hands f to the request, or drops it once the request stopped
// listening.
func (cl *call) deliver(fs []frame) {
	select {
	case cl.ch <- fs:
	case <-cl.abandon:
		for _, f := range fs {
			if f.fd >= 0 {
				syscall.Close(f.fd)
			}
		}
	}
}

// register records cl as the next request written to c, stamped with the
// time. It reports false when the connection is dead.
func (c *conn) register(cl *call) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false
	}
	now := time.Now().UnixNano()
	cl.start.Store(now)
	c.calls[cl.id] = cl
	c.order = append(c.order, cl)
	if len(c.order) == 1 {
		cl.head = now
	}
	return true
}

// dropLocked removes cl from the requests in flight on c, and records when
// the next one became the first. Called with c.mu held.
func (c *conn) dropLocked(cl *call) {
	delete(c.calls, cl.id)
	for i, o := range c.order {
		if o == cl {
			c.order = append(c.order[:i], c.order[i+1:]...)
			if i == 0 {
				now := time.Now().UnixNano()
				c.p.h.observe(now - cl.head)
				if len(c.order) > 0 {
					c.order[0].head = now
				}
			}
			return
		}
	}
}

// idle reports whether no request is in flight on c.
func (c *conn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.order) == 0
}

// overdue reports whether the request running on c was abandoned by its
// exchange (the client left, the body failed) and has run longer than
// timeout: nobody else will stop it.
func (c *conn) overdue(now int64, timeout time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.order) == 0 {
		return false
	}
	cl := c.order[0]
	return cl.stopped() && now-cl.head > int64(timeout)
}

// oldestQueued returns the oldest request queued behind the running one
// that may move (rescuable, not taken back yet, still listened to) and was
// written before the time before, or nil; only if the running request
// became the head before headBefore. It also returns when the running
// request became the head (0 if nothing runs).
func (c *conn) oldestQueued(before, headBefore int64) (*call, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.order) < 2 {
		return nil, 0
	}
	head := c.order[0].head
	if head > headBefore {
		return nil, head
	}
	var oldest *call
	for i := 1; i < len(c.order); i++ {
		cl := c.order[i]
		if s := cl.start.Load(); cl.rescuable && !cl.taken && s < before && !cl.stopped() {
			oldest, before = cl, s
		}
	}
	return oldest, head
}

// move tells cl, queued behind the running request, to take itself back
// and run on to (a frameRescue its exchange acts on unless the request
// started meanwhile). It reports false when cl no longer waits here.
func (c *conn) move(cl *call, to *conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl.taken || len(c.order) < 2 || c.order[0] == cl || c.calls[cl.id] != cl {
		return false
	}
	cl.moveTo.Store(to)
	select {
	case cl.ch <- []frame{{typ: frameRescue, id: cl.id, fd: -1}}:
		cl.taken = true
		return true
	default: // frames are flowing: it runs
		cl.moveTo.Store(nil)
		return false
	}
}

// send writes one request to the worker. A write error leaves the
// connection to its reader, which fails the requests on it.
func (c *conn) send(cl *call, b []byte) error {
	c.wmu.Lock()
	if !c.register(cl) {
		c.wmu.Unlock()
		return errWorkerGone
	}
	return c.writeLocked(b, true)
}

// write writes a frame (body, EOF, abort) for a request already sent.
func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	return c.writeLocked(b, false)
}

// writeLocked writes b, or queues it for the write in progress; it is
// called with wmu held and releases it. The writer then writes what others
// queued meanwhile. It reports an error only for b itself. A failed write
// of a request is a crash: the process is killed and its reader fails the
// requests.
func (c *conn) writeLocked(b []byte, req bool) error {
	if c.writing {
		c.pending = append(c.pending, b...)
		c.pendReq = c.pendReq || req
		c.wmu.Unlock()
		return nil
	}
	c.writing = true
	if len(c.pending) > 0 {
		// Requests queued by grant go first: the order written is the
		// order registered.
		c.pending = append(c.pending, b...)
		c.pendReq = c.pendReq || req
		c.wmu.Unlock()
		c.drain(nil)
		return nil
	}
	c.wmu.Unlock()
	var own error
	if _, err := c.uc.Write(b); err != nil {
		if req {
			c.p.kill("")
		}
		own = fmt.Errorf("wsgi: writing to worker %d: %w", c.p.pid, err)
	}
	c.drain(nil)
	return own
}

// queue registers cl and queues its request frame b for the next flush.
// It reports false when the connection is dead.
func (c *conn) queue(cl *call, b []byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.register(cl) {
		return false
	}
	c.pending = append(c.pending, b...)
	c.pendReq = true
	return true
}

// flush writes what is pending unless a write is in progress (whose writer
// takes it). It never blocks: what the socket does not take at once is
// written by a new goroutine, so that a reader calling it cannot be stuck
// while its worker waits for it to read.
func (c *conn) flush() {
	c.wmu.Lock()
	if c.writing || len(c.pending) == 0 {
		c.wmu.Unlock()
		return
	}
	c.writing = true
	out := c.pending
	c.pending = c.spare
	c.spare = nil
	req := c.pendReq
	c.pendReq = false
	c.wmu.Unlock()
	n := 0
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		for n < len(out) {
			m, err := syscall.Write(int(fd), out[n:])
			if m > 0 {
				n += m
			}
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				if err != syscall.EAGAIN {
					werr = err
				}
				break
			}
		}
		return true // never wait here
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		if req {
			c.p.kill("")
		}
		n = len(out)
	}
	if n < len(out) {
		rest := out[n:]
		go func() {
			if _, err := c.uc.Write(rest); err != nil && req {
				c.p.kill("")
			}
			c.drain(nil)
		}()
		return
	}
	c.wmu.Lock()
	more := len(c.pending) > 0
	if !more {
		c.writing = false
		if cap(out) <= 64<<10 {
			c.spare = out[:0]
		}
	}
	c.wmu.Unlock()
	if more {
		go c.drain(out)
	}
}

// drain writes what is pending until nothing is, then ends the write in
// progress; its caller is the writer. out is the buffer just written, for
// reuse.
func (c *conn) drain(out []byte) {
	for {
		c.wmu.Lock()
		if out != nil && cap(out) <= 64<<10 {
			c.spare = out[:0]
		}
		if len(c.pending) == 0 {
			c.writing = false
			c.wmu.Unlock()
			return
		}
		out, c.pending = c.pending, c.spare
		c.spare = nil
		req := c.pendReq
		c.pendReq = false
		c.wmu.Unlock()
		if _, err := c.uc.Write(out); err != nil && req {
			c.p.kill("")
		}
	}
}

var errWorkerGone = errors.New("wsgi: worker gone")

// readLoop routes the worker's frames to the requests they belong to.
func (c *conn) readLoop() {
	h := c.p.h
	defer h.flushDirty()
	for {
		if !c.fr.complete() {
			// About to wait for the worker: first write the requests
			// granted meanwhile, together.
			h.flushDirty()
			if len(c.fr.buf) > frameBuf && c.idle() {
				c.fr.shrink()
			}
		}
		f, err := c.fr.nextView()
		if err != nil {
			c.fail(err)
			return
		}
		terminal := f.typ == frameEnd || f.typ == frameError
		c.mu.Lock()
		cl := c.calls[f.id]
		if cl != nil && terminal {
			c.dropLocked(cl)
		}
		c.mu.Unlock()
		if cl == nil && f.typ == frameLog {
			// An application that kept wsgi.errors writes to it after
			// its request ended: a log line, not a protocol error.
			h.log.Warn("wsgi.errors (after its request ended): "+string(f.payload), "pid", c.p.pid)
			continue
		}
		if cl == nil {
			if f.fd >= 0 {
				syscall.Close(f.fd)
			}
			c.p.kill("protocol")
			c.fail(fmt.Errorf("%w: frame %d for unknown request %d", errProtocol, f.typ, f.id))
			return
		}
		if f.typ == frameDataFlush || f.typ == frameRead {
			cl.streaming.Store(true)
		}
		// Hand over, in one batch, the frames of this request already
		// read: one wake-up of the handler instead of one per frame, and
		// one copy of their payloads out of the read buffer (no read
		// happens before detachPayloads: the frames are buffered).
		batch := make([]frame, 1, 4)
		batch[0] = f
		for !terminal && c.fr.buffered(f.id) {
			f2, err := c.fr.nextView()
			if err != nil {
				break // cannot happen: the frame is buffered
			}
			batch = append(batch, f2)
			if f2.typ == frameEnd || f2.typ == frameError {
				terminal = true
				c.mu.Lock()
				c.dropLocked(cl)
				c.mu.Unlock()
			}
		}
		detachPayloads(batch)
		cl.deliver(batch)
		if terminal {
			c.p.h.release(c)
		}
	}
}

// fail marks the connection dead and tells its requests: the running one
// that its worker died, those queued behind it to go elsewhere.
func (c *conn) fail(err error) {
	c.mu.Lock()
	c.dead = true
	order := c.order
	c.order = nil
	c.calls = map[uint32]*call{}
	c.mu.Unlock()
	c.uc.Close()
	c.fr.closeFDs()
	h := c.p.h
	h.connDead(c)
	// A connection that breaks kills its whole process: its other
	// threads' state is unknown.
	c.p.kill("")
	msg := []byte(err.Error())
	for i, cl := range order {
		typ := byte(frameRetry)
		if i == 0 {
			typ = frameDied
		}
		cl.deliver([]frame{{typ: typ, id: cl.id, payload: msg, fd: -1}})
	}
}
