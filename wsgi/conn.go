package wsgi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
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
	// reading: a goroutine owns fr and reads the socket (see readSelf
	// and readLoop); reader is the request whose exchange it is, nil for
	// the background reader. armed: the socket has a read deadline.
	reading bool
	reader  *call
	armed   bool

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
	// unsent: writing its request failed, so the worker never started
	// it: a broken connection retries it rather than failing it.
	unsent atomic.Bool
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
	cl.unsent.Store(false)
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

// Who reads a connection. The frames on it belong to the request running
// there (order[0]): the worker serves its requests one after the other.
// So the exchange of that request reads them itself (readSelf) while it
// waits for its response, and nobody reads a connection with no request
// in flight: one goroutine, the one that relays the response, wakes per
// batch of frames, instead of a reader that wakes and hands them over.
// A background reader (readLoop) takes over while requests are in flight
// and none of their exchanges reads: when the running request's exchange
// left early (the client is gone, a timeout) or ended with requests
// queued behind it. It stops once nothing is in flight. A worker that dies
// while its connections are idle is seen by the supervisor, which reaps
// it; one that dies with a request in flight, by that request's reader.

// readBatch reads the next frame and the frames of the same request
// already buffered. It returns the request they belong to (nil for a frame
// of a request nobody listens to any more, dropped or logged here) and
// whether the last one ends it (it was then taken out of the connection).
// An error other than a read deadline has failed the connection. Only the
// reader (see reading) calls it.
func (c *conn) readBatch() (*call, []frame, bool, error) {
	h := c.p.h
	f, err := c.fr.nextView()
	if err != nil {
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			c.fail(err)
		}
		return nil, nil, false, err
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
		return nil, nil, false, nil
	}
	if cl == nil {
		if f.fd >= 0 {
			syscall.Close(f.fd)
		}
		c.p.kill("protocol")
		err := fmt.Errorf("%w: frame %d for unknown request %d", errProtocol, f.typ, f.id)
		c.fail(err)
		return nil, nil, false, err
	}
	if f.typ == frameDataFlush || f.typ == frameRead {
		cl.streaming.Store(true)
	}
	// The frames of this request already read go in one batch: one
	// wake-up of its handler instead of one per frame, and one copy of
	// their payloads out of the read buffer (no read happens before
	// detachPayloads: the frames are buffered).
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
	return cl, batch, terminal, nil
}

// ensureReader starts the background reader when requests are in flight
// on c and nobody reads it.
func (c *conn) ensureReader() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reading || c.dead || len(c.order) == 0 {
		return
	}
	c.reading = true
	go c.readLoop()
}

// readLoop is the background reader: it routes the worker's frames to the
// requests they belong to until none is in flight.
func (c *conn) readLoop() {
	h := c.p.h
	defer h.flushDirty()
	for {
		if !c.fr.complete() {
			// About to wait for the worker: first write the requests
			// granted meanwhile, together.
			h.flushDirty()
			c.mu.Lock()
			if len(c.order) == 0 || c.dead {
				c.fr.shrink()
				c.reading = false
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
		}
		cl, batch, terminal, err := c.readBatch()
		if err != nil {
			// A deadline here is a stale interrupt of an exchange
			// that read before (see interrupt): read on.
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.mu.Lock()
				c.uc.SetReadDeadline(time.Time{})
				c.mu.Unlock()
				continue
			}
			return
		}
		if cl == nil {
			continue
		}
		cl.deliver(batch)
		if terminal {
			h.release(c)
		}
	}
}

// readResult says why readSelf returned without frames.
type readResult int

const (
	readGot      readResult = iota // frames: a batch for the request
	readRetry                      // someone else reads, or the request is over: look again
	readCanceled                   // the request's context ended
	readTimeout                    // the request's deadline passed
)

// readSelf reads the connection for cl, the request running on it, until a
// batch of its frames arrives (returned), its context ends or its deadline
// (zero: none) passes. It reports readRetry without reading when another
// goroutine reads or cl is not running. Frames of other requests (those
// stopped earlier) are routed as readLoop does.
func (c *conn) readSelf(ctx context.Context, cl *call, deadline time.Time) ([]frame, readResult) {
	h := c.p.h
	c.mu.Lock()
	if c.reading || c.dead || len(c.order) == 0 || c.order[0] != cl {
		c.mu.Unlock()
		return nil, readRetry
	}
	c.reading, c.reader = true, cl
	if !deadline.IsZero() {
		c.armed = true
		c.uc.SetReadDeadline(deadline)
	}
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { c.interrupt(cl) })
	left := false
	leave := func() {
		left = true
		stop()
		c.mu.Lock()
		c.reading, c.reader = false, nil
		if c.armed {
			c.armed = false
			c.uc.SetReadDeadline(time.Time{})
		}
		if len(c.order) == 0 {
			c.fr.shrink()
		}
		c.mu.Unlock()
	}
	defer func() {
		if !left {
			leave()
		}
	}()
	for {
		if !c.fr.complete() {
			h.flushDirty() // see readLoop
		}
		o, batch, terminal, err := c.readBatch()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.mu.Lock()
			switch {
			case ctx.Err() != nil:
				c.mu.Unlock()
				return nil, readCanceled
			case !deadline.IsZero() && !time.Now().Before(deadline):
				c.mu.Unlock()
				return nil, readTimeout
			}
			// A stale interrupt: read on.
			c.armed = !deadline.IsZero()
			c.uc.SetReadDeadline(deadline)
			c.mu.Unlock()
			continue
		}
		if err != nil {
			return nil, readRetry // failed: cl's channel says how
		}
		if o == nil {
			continue
		}
		if o != cl {
			o.deliver(batch)
			if terminal {
				h.release(c)
			}
			continue
		}
		if terminal {
			// The requests queued behind cl need a reader; the
			// requests granted by this answer go out now.
			leave()
			c.ensureReader()
			h.release(c)
			h.flushDirty()
		}
		return batch, readGot
	}
}

// interrupt ends the read in progress of cl's exchange, if it still reads
// (its context ended).
func (c *conn) interrupt(cl *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reader == cl {
		c.armed = true
		c.uc.SetReadDeadline(time.Unix(1, 0))
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
		if i == 0 && !cl.unsent.Load() {
			typ = frameDied
		}
		cl.deliver([]frame{{typ: typ, id: cl.id, payload: msg, fd: -1}})
	}
}
