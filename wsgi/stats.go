package wsgi

import (
	"maps"
	"sync"
	"sync/atomic"
)

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

// Stats is a snapshot of a [Handler]'s workers and counters.
type Stats struct {
	// Processes is the number of worker processes in service.
	Processes int `json:"processes"`
	// Busy and Idle count request threads (connections) with and without
	// a request.
	Busy int `json:"busy"`
	Idle int `json:"idle"`
	// Queued is the number of requests waiting for a worker.
	Queued int `json:"queued"`
	// Served counts requests answered by a worker (any status).
	Served int64 `json:"served"`
	// Requeued counts requests sent to another worker because the one
	// they were queued on died before they started, or moved to a thread
	// that became idle while they waited behind a running request.
	Requeued int64 `json:"requeued"`
	// Failures counts error responses by cause: "app_error" (500,
	// exception), "bad_response" (500, invalid status or headers),
	// "app_status" (5xx chosen by the application), "xsendfile" (403 or
	// 404 for an X-Sendfile path refused), "worker_died" (502),
	// "timeout" (504), "queue_full", "queue_timeout" and "unavailable"
	// (503), "bad_body" (400: the request body broke), "body_too_large"
	// (413, MaxRequestBody), "cancelled" (503 or 504: the request's
	// context ended before its response started). "bad_response" also
	// counts a response cut short of its Content-Length.
	Failures map[string]int64 `json:"failures"`
	// Restarts counts worker replacements by cause: "crash", "timeout",
	// "max_requests", "memory", "inactivity", "reload",
	// "startup_failure".
	Restarts map[string]int64 `json:"restarts"`
	// Python is the interpreter the workers run (Config.Python as found
	// on PATH).
	Python string `json:"python"`
	// DB describes the database connection budget; nil without
	// [Config.DBMaxConnections].
	DB *DBStats `json:"db,omitempty"`
}

// Stats returns a snapshot of the handler's state and counters.
func (h *Handler) Stats() Stats {
	s := Stats{Python: h.python}
	h.mu.Lock()
	s.Processes = len(h.procs)
	for _, c := range h.conns {
		if c.assigned > 0 {
			s.Busy++
		} else {
			s.Idle++
		}
	}
	s.Queued = len(h.waiters)
	h.mu.Unlock()
	s.Served = h.stats.served.Load()
	s.Requeued = h.stats.requeued.Load()
	h.stats.mu.Lock()
	s.Failures = maps.Clone(h.stats.failures)
	s.Restarts = maps.Clone(h.stats.restarts)
	h.stats.mu.Unlock()
	if h.db != nil {
		s.DB = h.db.stats()
	}
	return s
}

// Ready reports whether a worker process is in service: nil if one is,
// otherwise why not, the last failed start (a [*StartError] with the
// traceback and the interpreter) when there was one. After [New] returned,
// every process made its first attempt, so a caller that would rather not
// start with a script that cannot load (command gowsgi without -lazy-start)
// asks here.
func (h *Handler) Ready() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case len(h.procs) > 0:
		return nil
	case h.startErr != nil:
		return h.startErr
	case h.closed:
		return errClosed
	}
	return errUnavailable
}
