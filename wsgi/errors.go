package wsgi

import (
	"errors"
	"net/http"
)

// The errors a [Handler] reports to [Config.ErrorHandler], for
// [errors.Is]. The error passed is one of these, wrapped with detail (a
// process id, the cause). Each names the status the default handler (nil
// ErrorHandler) answers with.
var (
	// ErrQueueFull: QueueSize requests were already waiting for a worker.
	// 503, with Retry-After.
	ErrQueueFull = errors.New("wsgi: queue full")
	// ErrQueueTimeout: no worker became free within QueueTimeout. 503,
	// with Retry-After.
	ErrQueueTimeout = errors.New("wsgi: timed out waiting for a worker")
	// ErrUnavailable: no worker process is running (none started yet, the
	// script fails to load, the handler is closed, or the request could
	// not be placed on a worker after its workers kept dying). 503, with
	// Retry-After.
	ErrUnavailable = errors.New("wsgi: no worker available")
	// ErrWorkerDied: the worker process died while it served the request.
	// 502.
	ErrWorkerDied = errors.New("wsgi: worker died while serving the request")
	// ErrRequestTimeout: the request ran longer than RequestTimeout; its
	// worker was killed. 504.
	ErrRequestTimeout = errors.New("wsgi: request timed out")
	// ErrCanceled: the request's context ended before the response
	// started; the error also wraps the context's error. 504 when it was
	// a deadline (a timeout middleware, context.DeadlineExceeded), else
	// 503 (the client is most likely gone and sees nothing).
	ErrCanceled = errors.New("wsgi: request context ended before the response")
	// ErrBodyTooLarge: the request body is larger than MaxRequestBody.
	// 413; the connection is closed.
	ErrBodyTooLarge = errors.New("wsgi: request body over the limit")
	// ErrBadRequestBody: the request body could not be read (the client
	// sent less than its Content-Length, or broken chunked coding). 400;
	// the connection is closed.
	ErrBadRequestBody = errors.New("wsgi: reading the request body")
	// ErrApplication: the application raised an exception before its
	// response started (the traceback goes to the log, never into the
	// error). 500.
	ErrApplication = errors.New("wsgi: application error")
	// ErrBadResponse: the application's response is not one HTTP can
	// carry (no status, a bad header, an informational final status, a
	// body before the headers). 500.
	ErrBadResponse = errors.New("wsgi: bad response from the application")
	// ErrXSendFile: the file an X-Sendfile header named is outside
	// XSendFilePath (403) or cannot be opened (404).
	ErrXSendFile = errors.New("wsgi: X-Sendfile refused")
)

// fail answers a request that failed before its response started, with
// err (one of the errors above, wrapped) and the status the default
// answer uses: Config.ErrorHandler when it is set, else a plain status
// page. The failure is logged by the caller either way, with its detail.
// Never call it once the response started: cut the response instead.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if h.cfg.ErrorHandler != nil {
		h.cfg.ErrorHandler(w, r, err)
		return
	}
	if errors.Is(err, ErrQueueFull) || errors.Is(err, ErrQueueTimeout) || errors.Is(err, ErrUnavailable) {
		w.Header().Set("Retry-After", "1")
	}
	http.Error(w, http.StatusText(status), status)
}
