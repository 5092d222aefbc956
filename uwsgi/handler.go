package uwsgi

import (
	"container/list"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gowsgi/gowsgi/wsgi"
)

// ErrUpstream: the upstream closed or reset the connection, or could not
// be reached, before its response started. 502.
var ErrUpstream = errors.New("uwsgi: upstream failed before its response")

// ErrRequestTooLarge: the request's CGI variables (its path, query and
// headers) do not fit in one uwsgi packet (65535 bytes). 431.
var ErrRequestTooLarge = errors.New("uwsgi: request header too large for the uwsgi protocol")

// Handler is an http.Handler that sends each request to one of
// Config.Upstreams over the uwsgi protocol and streams the response back.
// Build it with [New]; stop its probes with [Handler.Close].
type Handler struct {
	cfg            Config
	wcfg           wsgi.Config // the environ's settings
	log            *slog.Logger
	dialer         net.Dialer
	maxConns       int
	queueSize      int
	queueTimeout   time.Duration
	connectTimeout time.Duration
	backoff        time.Duration
	maxBody        int64

	mu     sync.Mutex
	ups    []*upstream
	turn   int
	queue  list.List // of *waiter, oldest first
	closed bool

	done   chan struct{} // closed by Close: the probes stop
	probes sync.WaitGroup
}

// New checks cfg and returns a Handler. Nothing is connected before the
// first request.
func New(cfg Config) (*Handler, error) {
	if len(cfg.Upstreams) == 0 {
		return nil, errors.New("uwsgi: no upstream")
	}
	h := &Handler{
		cfg: cfg,
		wcfg: wsgi.Config{ScriptName: cfg.ScriptName, PassAuthorization: cfg.PassAuthorization,
			Environ: cfg.Environ},
		log:            cfg.Logger,
		maxConns:       orDefault(cfg.MaxConns, 64),
		queueSize:      orDefault(cfg.QueueSize, 1024),
		queueTimeout:   orDefault(cfg.QueueTimeout, 30*time.Second),
		connectTimeout: orDefault(cfg.ConnectTimeout, 5*time.Second),
		backoff:        orDefault(cfg.Backoff, 5*time.Second),
		maxBody:        orDefault(cfg.MaxRequestBody, 1<<30),
		done:           make(chan struct{}),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.dialer.Timeout = h.connectTimeout
	// One request per connection: no idle connection for keep-alive
	// probes to watch, and four setsockopt calls fewer per request.
	h.dialer.KeepAlive = -1
	switch {
	case cfg.MaxConns < 0:
		return nil, fmt.Errorf("uwsgi: MaxConns %d < 0", cfg.MaxConns)
	case cfg.QueueSize < 0:
		return nil, fmt.Errorf("uwsgi: QueueSize %d < 0", cfg.QueueSize)
	case cfg.QueueTimeout < 0, cfg.ConnectTimeout < 0, cfg.Backoff < 0, cfg.RequestTimeout < 0:
		return nil, errors.New("uwsgi: negative timeout")
	}
	seen := map[string]bool{}
	for _, a := range cfg.Upstreams {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("uwsgi: upstream %q: want HOST:PORT: %w", a, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
			return nil, fmt.Errorf("uwsgi: upstream %q: want HOST:PORT with a port number", a)
		}
		if seen[a] {
			return nil, fmt.Errorf("uwsgi: upstream %q listed twice", a)
		}
		seen[a] = true
		h.ups = append(h.ups, &upstream{addr: a})
	}
	return h, nil
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Close stops the probes; requests that arrive later get 503. Requests
// running finish.
func (h *Handler) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.failAll()
	h.mu.Unlock()
	close(h.done)
	h.probes.Wait()
	return nil
}

// environ is the one place the CGI variables of a request come from:
// wsgi.Environ, the environ a local worker gets, so that the mount
// (SCRIPT_NAME, PATH_INFO) and the authenticated user (REMOTE_USER,
// AUTH_TYPE), which packages prefix and auth record in the request's
// reqinfo.Record, reach an upstream exactly as they reach a local worker. It then matches what nginx's uwsgi_params
// send: REQUEST_SCHEME and UWSGI_SCHEME (which uWSGI turns into
// wsgi.url_scheme) instead of wsgi.url_scheme, and HTTPS only when "on".
func (h *Handler) environ(r *http.Request) []wsgi.EnvVar {
	env := wsgi.Environ(r, &h.wcfg)
	out := env[:0]
	scheme := "http"
	for _, kv := range env {
		switch kv.Name {
		case "wsgi.url_scheme":
			scheme = kv.Value
			continue
		case "HTTPS":
			if kv.Value != "on" {
				continue
			}
		}
		out = append(out, kv)
	}
	return append(out, wsgi.EnvVar{Name: "REQUEST_SCHEME", Value: scheme},
		wsgi.EnvVar{Name: "UWSGI_SCHEME", Value: scheme})
}

// fail answers a request that failed before its response started: the
// ErrorHandler, or a plain status page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if h.cfg.ErrorHandler != nil {
		h.cfg.ErrorHandler(w, r, err)
		return
	}
	if errors.Is(err, wsgi.ErrQueueFull) || errors.Is(err, wsgi.ErrQueueTimeout) || errors.Is(err, wsgi.ErrUnavailable) {
		w.Header().Set("Retry-After", "1")
	}
	http.Error(w, http.StatusText(status), status)
}
