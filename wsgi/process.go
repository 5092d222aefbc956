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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

//go:embed adapter/adapter.py
var adapterSource string

// adapterName is the adapter's file name, which tracebacks and ps show.
const adapterName = "gowsgi_worker.py"

// adapterFile is the adapter's source written to a file of its own, which
// the workers run: tracebacks name it, sys.argv[0] is a file, ps shows the
// script rather than 19 KB of source, and the current directory is not on
// sys.path (it would be with python -c). The file is read-only in a
// directory that only this user can write (0700, made by os.MkdirTemp under
// a random name): replacing it takes this user's rights, which the workers
// run with anyway.
type adapterFile struct {
	mu   sync.Mutex
	path string // "" until written and once removed
	// owner is the workers' user when it is not the process's
	// (Config.Credential): the file and directory are made theirs.
	owner *syscall.Credential
}

// ownerUID is the user the adapter's file and directory belong to.
func (a *adapterFile) ownerUID() int {
	if a.owner != nil {
		return int(a.owner.Uid)
	}
	return os.Getuid()
}

// get returns the adapter's path, writing it first when it is missing: the
// first spawn, or a temp cleaner removed it. A missing or foreign file is
// never written again at the same path (another user may have taken the
// name meanwhile); it gets a new directory.
func (a *adapterFile) get() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	uid := a.ownerUID()
	if a.path != "" && ownedPrivate(filepath.Dir(a.path), true, uid) && ownedPrivate(a.path, false, uid) {
		return a.path, nil
	}
	dir, err := os.MkdirTemp("", "gowsgi-")
	if err != nil {
		return "", fmt.Errorf("wsgi: adapter: %w", err)
	}
	p := filepath.Join(dir, adapterName)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err == nil {
		_, err = f.WriteString(adapterSource)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && uid != os.Getuid() {
		// Root starting the workers as another user: the file and
		// its directory are theirs, as if they had written them.
		if err = os.Chown(p, uid, int(a.owner.Gid)); err == nil {
			err = os.Chown(dir, uid, int(a.owner.Gid))
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("wsgi: adapter: %w", err)
	}
	a.path = p
	return p, nil
}

// remove deletes the adapter's directory.
func (a *adapterFile) remove() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.path != "" && ownedPrivate(filepath.Dir(a.path), true, a.ownerUID()) {
		os.RemoveAll(filepath.Dir(a.path))
	}
	a.path = ""
}

// ownedPrivate reports whether path is a directory (dir) or a regular file
// owned by uid that no one else may write, without following a symbolic
// link.
func ownedPrivate(path string, dir bool, uid int) bool {
	fi, err := os.Lstat(path)
	if err != nil || fi.IsDir() != dir || (!dir && !fi.Mode().IsRegular()) || fi.Mode().Perm()&0o022 != 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == uid
}

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

type adapterConfig struct {
	Script       string   `json:"script"`
	Callable     string   `json:"callable"`
	Path         []string `json:"path"`
	FDs          []int    `json:"fds"`
	Multiprocess bool     `json:"multiprocess"`
	Worker       int      `json:"worker"` // the slot number, for the process name
	// DB configures the database connection budget; nil without one.
	DB *adapterDB `json:"db,omitempty"`
}

// adapterDB is the adapter's part of the database connection budget.
type adapterDB struct {
	FD      int     `json:"fd"`      // the control socket
	Max     int     `json:"max"`     // the budget's size, for messages
	Timeout float64 `json:"timeout"` // its connect timeout in seconds
}

// workerConfigEnv names the environment variable that carries the
// adapterConfig (JSON) to the adapter, which removes it from os.environ.
const workerConfigEnv = "GOWSGI_WORKER_CONFIG"

// spawn starts a worker process for slot (1 to Processes) and waits until it
// loaded the script.
func (h *Handler) spawn(slot int) (*process, error) {
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
	var dbConn *net.UnixConn // the budget's control socket
	fail := func(err error) (*process, error) {
		for _, c := range p.conns {
			c.uc.Close()
		}
		if dbConn != nil {
			dbConn.Close()
		}
		return nil, err
	}
	acfg := adapterConfig{
		Script:       h.cfg.Script,
		Callable:     h.cfg.Callable,
		Path:         h.cfg.PythonPath,
		Multiprocess: h.cfg.Processes > 1,
		Worker:       slot,
	}
	for i := 0; i < n; i++ {
		fds, err := socketpair()
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
	if h.db != nil {
		fds, err := socketpair()
		if err != nil {
			return fail(fmt.Errorf("wsgi: socketpair: %w", err))
		}
		child = append(child, os.NewFile(uintptr(fds[1]), "worker-db"))
		pf := os.NewFile(uintptr(fds[0]), "wsgi-db")
		fc, err := net.FileConn(pf)
		pf.Close()
		if err != nil {
			return fail(fmt.Errorf("wsgi: socket: %w", err))
		}
		dbConn = fc.(*net.UnixConn)
		acfg.DB = &adapterDB{FD: 3 + n, Max: h.db.max, Timeout: h.db.timeout.Seconds()}
	}
	js, err := json.Marshal(acfg)
	if err != nil {
		return fail(fmt.Errorf("wsgi: %w", err))
	}
	adapter, err := h.adapter.get()
	if err != nil {
		return fail(err)
	}
	// -u: the application's prints reach the log at once, not when a
	// block-sized buffer fills. -s: no user site directory, unless asked.
	// Not -I or -E: PYTHONPATH from Env must work; not -P: Python 3.11+.
	args := []string{"-u"}
	if !h.cfg.PythonUserSite {
		args = append(args, "-s")
	}
	args = append(args, adapter, h.cfg.Script, "#"+strconv.Itoa(slot))
	cmd := exec.Command(h.python, args...)
	cmd.Env = append(os.Environ(), h.cfg.Env...)
	cmd.Env = append(cmd.Env, workerConfigEnv+"="+string(js))
	cmd.ExtraFiles = child
	// The workers die with us (see workerAttr).
	cmd.SysProcAttr = workerAttr()
	if c := h.cfg.Credential; c != nil && os.Geteuid() != int(c.Uid) {
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.Credential = c
	}
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
			if dbConn != nil {
				dbConn.Close()
			}
			return nil, &StartError{Script: h.cfg.Script, Python: h.python, Err: err, State: state, Output: tb}
		}
	}
	if dbConn != nil {
		h.db.attach(p, dbConn)
	}
	// Nobody reads a connection until a request is in flight on it (see
	// readSelf).
	return p, nil
}

// StartError reports a worker process that failed to load the script. It is
// logged with the process's output (the Python traceback).
type StartError struct {
	Script string
	// Python is the interpreter that ran the worker.
	Python string
	Err    error
	// State is the process's exit state ("exit status 3"), if it exited.
	State string
	// Output is the end of what the process wrote to stderr.
	Output string
}

func (e *StartError) Error() string {
	msg := "wsgi: worker for " + e.Script + " failed to start: " + e.Err.Error() + " ("
	if e.State != "" {
		msg += e.State + ", "
	}
	return msg + "python " + e.Python + ")"
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
