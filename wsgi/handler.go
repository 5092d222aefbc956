package wsgi

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// Handler serves requests with a WSGI application run in Python worker
// processes. It is safe for concurrent use. Create it with [New]; stop it
// with [Handler.Close] or [Handler.Shutdown].
type Handler struct {
	cfg    Config
	log    *slog.Logger
	python string
	// maxBody is the request body limit in bytes, -1 for none.
	maxBody int64
	// pipelineMaxAge: no request is queued behind one running longer
	// (pipelineMaxAge by default; tests change it before serving).
	pipelineMaxAge time.Duration

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
	// hopLogged: a hop-by-hop header from the application was logged.
	hopLogged atomic.Bool

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
	// moveTimer runs grant again when a request queued behind one younger
	// than moveAfter may move to an idle thread (moveArmed, under mu).
	moveTimer *time.Timer
	moveArmed bool
	moveAfter time.Duration
	// service is the moving average of requests' run time, in ns (see
	// observe).
	service atomic.Int64

	// adapter is the adapter's file, written at the first spawn and
	// removed by Shutdown.
	adapter adapterFile
	// db is the database connection budget, nil without
	// DBMaxConnections.
	db *DBBudget
}

// New validates cfg, starts the worker processes and waits until each one
// loaded the script or failed to. A script that fails to load is not an
// error here: the traceback is logged, the process is retried with backoff
// and requests get 503 meanwhile (as with mod_wsgi); [Handler.Ready] tells
// a caller that would rather not start. An interpreter that cannot be
// found is an error.
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
	if cfg.RequestTimeout < 0 || cfg.QueueTimeout < 0 || cfg.StartTimeout < 0 || cfg.InactivityTimeout < 0 || cfg.GracefulTimeout < 0 || cfg.DBConnectTimeout < 0 {
		return nil, errors.New("wsgi: negative timeout")
	}
	if cfg.DBMaxConnections < 0 {
		return nil, fmt.Errorf("wsgi: DBMaxConnections %d is negative", cfg.DBMaxConnections)
	}
	if cfg.DBBudget != nil && (cfg.DBMaxConnections != 0 || cfg.DBConnectTimeout != 0) {
		return nil, errors.New("wsgi: Config.DBBudget with DBMaxConnections or DBConnectTimeout: the budget has its own")
	}
	for _, e := range cfg.Env {
		if len(e) == 0 || e[0] == '=' || strings.IndexByte(e, '=') < 0 {
			return nil, fmt.Errorf("wsgi: Env entry %q is not KEY=VALUE", e)
		}
	}
	// The handler keeps its own copies: a caller changing its map or
	// slices later changes nothing here.
	cfg.Environ = maps.Clone(cfg.Environ)
	cfg.Env = slices.Clone(cfg.Env)
	cfg.PythonPath = slices.Clone(cfg.PythonPath)
	var err error
	if cfg.XSendFilePath, err = xsendfileDirs(cfg.XSendFilePath); err != nil {
		return nil, err
	}
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
	maxBody := cfg.MaxRequestBody
	switch {
	case maxBody == 0:
		maxBody = 1 << 30
	case maxBody < 0:
		maxBody = -1
	}
	h := &Handler{
		maxBody:        maxBody,
		pipelineMaxAge: pipelineMaxAge,
		cfg:            cfg,
		log:            reqctx.Logger(cfg.Logger),
		python:         py,
		all:            map[*process]struct{}{},
		done:           make(chan struct{}),
		firstRun:       make(chan struct{}),
	}
	h.adapter.owner = cfg.Credential
	switch {
	case cfg.DBBudget != nil:
		h.db = cfg.DBBudget
	case cfg.DBMaxConnections > 0:
		if h.db, err = NewDBBudget(cfg.DBMaxConnections, cfg.DBConnectTimeout, h.log); err != nil {
			return nil, err
		}
	}
	h.allDone = sync.NewCond(&h.mu)
	h.queueTimer = time.AfterFunc(time.Hour, h.expireWaiters)
	h.moveTimer = time.AfterFunc(time.Hour, h.moveLater)
	h.moveTimer.Stop()
	h.moveAfter = pipelineMaxAge
	h.queueTimer.Stop()
	h.stats.init()
	if fi, err := os.Stat(cfg.Script); err == nil {
		h.scriptMtime = fi.ModTime()
	}
	h.firstCnt.Store(int32(cfg.Processes))
	for i := 0; i < cfg.Processes; i++ {
		h.wg.Add(1)
		go h.supervise(i + 1)
	}
	h.wg.Add(1)
	go h.monitor()
	<-h.firstRun
	return h, nil
}

func (h *Handler) jitter(n int) int { return rand.IntN(n) }

func errString(err error) string {
	s := err.Error()
	if len(s) > 6 && s[:6] == "wsgi: " {
		return s[6:]
	}
	return s
}

// Errors of acquire, each answered with 503 (see errors.go); the short
// names keep the dispatcher's code as it was.
var (
	errQueueFull    = ErrQueueFull
	errQueueTimeout = ErrQueueTimeout
	errUnavailable  = ErrUnavailable
	errClosed       = fmt.Errorf("%w: handler closed", ErrUnavailable)
)
