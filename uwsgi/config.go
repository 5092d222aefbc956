package uwsgi

import (
	"log/slog"
	"net/http"
	"time"
)

// Config configures a [Handler]. The zero value of each field is a
// documented default; only Upstreams is required.
type Config struct {
	// Upstreams lists the uWSGI instances, as HOST:PORT, each listening
	// with "uwsgi --socket HOST:PORT" (nginx's uwsgi_pass targets).
	// Required.
	Upstreams []string
	// MaxConns bounds the requests sent to one upstream at a time; more
	// wait in the queue (QueueSize, QueueTimeout) for the least busy
	// upstream. Set it to an upstream's processes × threads so that no
	// request waits in a uWSGI listen queue where another upstream could
	// serve it. 0 means 64.
	MaxConns int
	// ConnectTimeout bounds a TCP connect to an upstream. An upstream
	// that times out or refuses a connect is taken out (see Backoff) and
	// the request goes to another. 0 means 5 seconds.
	ConnectTimeout time.Duration
	// Backoff is how long an upstream that failed a connect stays out
	// before a TCP connect probes it; it gets requests again once a probe
	// connects. Each failed probe doubles the wait, up to 8 × Backoff. 0
	// means 5 seconds.
	Backoff time.Duration
	// RequestTimeout bounds how long one request may run once sent: then
	// 504 Gateway Timeout, or a cut response when its headers went out.
	// The connection to the upstream is closed; the Python code runs on
	// until uWSGI notices (set uWSGI's harakiri to stop it). 0 means no
	// limit.
	RequestTimeout time.Duration
	// QueueTimeout bounds how long a request waits for an upstream below
	// MaxConns before it gets 503 with Retry-After. 0 means 30 seconds.
	QueueTimeout time.Duration
	// QueueSize bounds how many requests may wait; one more gets 503 at
	// once. 0 means 1024.
	QueueSize int
	// MaxRequestBody is the largest request body accepted, in bytes
	// (Apache's LimitRequestBody): a larger declared Content-Length is
	// answered 413 before any upstream sees it, a chunked body that grows
	// past it too. Zero means 1 GiB; negative means no limit.
	MaxRequestBody int64
	// SpoolDir is where a chunked request body is written before it is
	// sent (the uwsgi protocol needs CONTENT_LENGTH, as nginx's
	// client_body_temp_path); bodies up to 1 MiB stay in memory. "" means
	// os.TempDir().
	SpoolDir string

	// ScriptName, PassAuthorization and Environ shape the CGI variables
	// as the same fields of wsgi.Config shape a local worker's environ
	// (see [wsgi.Environ]). REMOTE_ADDR, wsgi.url_scheme and HTTP_HOST
	// behind a reverse proxy are package remoteip's, in front.
	ScriptName        string
	PassAuthorization bool
	Environ           map[string]string

	// Logger receives errors and upstream events. nil means
	// slog.Default().
	Logger *slog.Logger
	// ErrorHandler answers a request that failed before its response
	// started, as wsgi.Config's does: err wraps one of wsgi's errors
	// (wsgi.ErrQueueFull, wsgi.ErrQueueTimeout, wsgi.ErrUnavailable,
	// wsgi.ErrRequestTimeout, wsgi.ErrCanceled, wsgi.ErrBodyTooLarge,
	// wsgi.ErrBadRequestBody, wsgi.ErrBadResponse) or of this package
	// ([ErrUpstream], [ErrRequestTooLarge]). nil means a plain page with
	// the status text (and Retry-After: 1 with 503 for the queue and
	// unavailable errors).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}
