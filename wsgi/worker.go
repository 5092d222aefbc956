package wsgi

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

//go:embed adapter/adapter.py
var adapterSource string

// process is one Python worker process and its connections, one per request
// thread.
type process struct {
	h       *Handler
	cmd     *exec.Cmd
	pid     int
	conns   []*conn
	started time.Time
	exited  chan struct{} // closed when the process was reaped
	retire  chan string   // a reason to replace this process gracefully
	// maxRequests is this process's own recycling limit (with jitter).
	maxRequests int

	// Under h.mu.
	served   int
	lastUsed time.Time // kept only with InactivityTimeout
	retiring bool
	ready    bool

	// killReason is why the Go side killed the process ("" for a crash).
	killReason atomic.Pointer[string]
	stderrDone chan struct{}
	tailMu     sync.Mutex
	tail       []string // last lines of stderr, for a failed start
}

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
	// it may run again elsewhere when it waits behind a long request.
	rescuable bool
}

func (cl *call) stop() { cl.once.Do(func() { close(cl.abandon) }) }

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

type adapterConfig struct {
	Script       string   `json:"script"`
	Callable     string   `json:"callable"`
	Path         []string `json:"path"`
	FDs          []int    `json:"fds"`
	Multiprocess bool     `json:"multiprocess"`
}

// spawn starts a worker process and waits until it loaded the script.
func (h *Handler) spawn() (*process, error) {
	n := h.cfg.Threads
	p := &process{
		h:          h,
		exited:     make(chan struct{}),
		retire:     make(chan string, 1),
		stderrDone: make(chan struct{}),
	}
	if m := h.cfg.MaxRequests; m > 0 {
		p.maxRequests = m + h.jitter(m/10+1)
	}
	var child []*os.File
	defer func() {
		for _, f := range child {
			f.Close()
		}
	}()
	fail := func(err error) (*process, error) {
		for _, c := range p.conns {
			c.uc.Close()
		}
		return nil, err
	}
	acfg := adapterConfig{
		Script:       h.cfg.Script,
		Callable:     h.cfg.Callable,
		Path:         h.cfg.PythonPath,
		Multiprocess: h.cfg.Processes > 1,
	}
	for i := 0; i < n; i++ {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return fail(fmt.Errorf("wsgi: socketpair: %w", err))
		}
		child = append(child, os.NewFile(uintptr(fds[1]), "worker"))
		pf := os.NewFile(uintptr(fds[0]), "wsgi")
		fc, err := net.FileConn(pf)
		pf.Close()
		if err != nil {
			return fail(fmt.Errorf("wsgi: socket: %w", err))
		}
		uc := fc.(*net.UnixConn)
		rc, err := uc.SyscallConn()
		if err != nil {
			uc.Close()
			return fail(fmt.Errorf("wsgi: socket: %w", err))
		}
		c := &conn{p: p, uc: uc, rc: rc, calls: map[uint32]*call{}}
		c.fr = newFrameReader(uc, nil)
		p.conns = append(p.conns, c)
		acfg.FDs = append(acfg.FDs, 3+i)
	}
	js, err := json.Marshal(acfg)
	if err != nil {
		return fail(fmt.Errorf("wsgi: %w", err))
	}
	cmd := exec.Command(h.python, "-c", adapterSource, string(js))
	cmd.Env = append(os.Environ(), h.cfg.Env...)
	cmd.ExtraFiles = child
	// The workers die with us: SIGKILL when the parent goes (and the
	// adapter exits on EOF of its socket, which covers the rest).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("wsgi: pipe: %w", err))
	}
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fail(fmt.Errorf("wsgi: starting %s: %w", h.python, err))
	}
	pw.Close()
	// The worker holds its ends now; ours must go so that its death is
	// an EOF here.
	for _, f := range child {
		f.Close()
	}
	child = nil
	p.cmd = cmd
	p.pid = cmd.Process.Pid
	p.started = time.Now()
	h.track(p, true)
	go p.logStderr(pr)
	go func() {
		_ = cmd.Wait()
		close(p.exited)
		h.track(p, false)
	}()

	// Wait for every thread's hello. Shutdown ends the wait: the process
	// is killed, however late it was started (Shutdown's own sweep of the
	// processes still loading misses one started after it).
	loaded := make(chan struct{})
	defer close(loaded)
	go func() {
		select {
		case <-h.done:
			p.kill("shutdown")
		case <-loaded:
		}
	}()
	deadline := time.Now().Add(h.cfg.StartTimeout)
	for _, c := range p.conns {
		c.uc.SetReadDeadline(deadline)
		f, err := c.fr.next()
		c.uc.SetReadDeadline(time.Time{})
		if err == nil && f.typ != frameHello {
			err = fmt.Errorf("%w: frame %d before hello", errProtocol, f.typ)
		}
		if err != nil {
			// Give a worker that is exiting the time to report why.
			select {
			case <-p.exited:
			case <-time.After(time.Second):
				p.kill("start")
				<-p.exited
			}
			select {
			case <-p.stderrDone:
			case <-time.After(time.Second):
			}
			p.tailMu.Lock()
			tb := strings.Join(p.tail, "\n")
			p.tailMu.Unlock()
			state := ""
			if ps := cmd.ProcessState; ps != nil {
				state = ps.String()
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = errors.New("exited before it was ready")
			}
			for _, c := range p.conns {
				c.uc.Close()
			}
			return nil, &StartError{Script: h.cfg.Script, Err: err, State: state, Output: tb}
		}
	}
	for _, c := range p.conns {
		go c.readLoop()
	}
	return p, nil
}

// StartError reports a worker process that failed to load the script. It is
// logged with the process's output (the Python traceback).
type StartError struct {
	Script string
	Err    error
	// State is the process's exit state ("exit status 3"), if it exited.
	State string
	// Output is the end of what the process wrote to stderr.
	Output string
}

func (e *StartError) Error() string {
	msg := "wsgi: worker for " + e.Script + " failed to start: " + e.Err.Error()
	if e.State != "" {
		msg += " (" + e.State + ")"
	}
	return msg
}

func (e *StartError) Unwrap() error { return e.Err }

// logStderr logs what the worker writes to stdout and stderr, line by line,
// and keeps the last lines for a failed start's report.
func (p *process) logStderr(r io.ReadCloser) {
	defer close(p.stderrDone)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.tailMu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > 100 {
			p.tail = p.tail[len(p.tail)-100:]
		}
		p.tailMu.Unlock()
		p.h.log.Warn("wsgi: worker output", "pid", p.pid, "line", line)
	}
}

// kill ends the process at once, recording why.
func (p *process) kill(reason string) {
	p.killReason.CompareAndSwap(nil, &reason)
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
}

// closeConns closes the Go ends of the sockets: the worker sees EOF and
// exits.
func (p *process) closeConns() {
	for _, c := range p.conns {
		c.uc.Close()
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
			if i == 0 && len(c.order) > 0 {
				c.order[0].head = time.Now().UnixNano()
			}
			return
		}
	}
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

// rss returns the resident set size of the process in bytes.
func (p *process) rss() (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/statm")
	if err != nil {
		return 0, fmt.Errorf("wsgi: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("wsgi: malformed statm %q", b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("wsgi: statm: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}
