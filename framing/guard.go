package framing

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// A Guard refuses HTTP/1.x requests whose framing a proxy in front of the
// server could read otherwise than net/http does. The zero value is ready
// to use; it must not be copied after first use.
type Guard struct {
	// MaxHeaderBytes is the server's http.Server.MaxHeaderBytes: a head
	// longer than it (plus net/http's 4 KiB buffer twice over) stops the
	// scanning of its connection, which net/http answers with 431 anyway.
	// It bounds the memory a connection holds for its head. 0 means
	// http.DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// Limits bounds the request line, each header field and their
	// number, as Apache's LimitRequest* directives: a head over a limit
	// is refused with 414, 431 or 400 (see [Limits]) and its connection
	// closed. The zero value means no limits but MaxHeaderBytes. Keep
	// the server's MaxHeaderBytes at least Limits' longest head, or
	// net/http answers 431 first.
	Limits Limits
	// RequestReadTimeout bounds the reading of each request's head and
	// body (mod_reqtimeout's RequestReadTimeout): a head that passes it
	// has its connection closed without a response; a body, the
	// handler's read fails with an error wrapping os.ErrDeadlineExceeded
	// (package wsgi then answers 400 and closes the connection). Each
	// cut is logged at info level. The zero value means none;
	// [DefaultReadTimeouts] is Apache's default. The server's own
	// ReadHeaderTimeout and ReadTimeout, if set, apply as well.
	RequestReadTimeout ReadTimeouts
	// Timeout bounds each single read or write on a connection while a
	// request is read or its response written (Apache's Timeout): the
	// wait for one read to return bytes, or for one write (or slice of a
	// file sent with sendfile) to be taken, not the whole request, so
	// long uploads and downloads work as long as they move. The wait
	// for the next request of a keep-alive connection is the server's
	// IdleTimeout instead, and a hijacked connection gets no timeouts
	// from the guard. The deadline is rounded down to an eighth of
	// Timeout (at most a second), so that consecutive operations share
	// it. 0 means none.
	Timeout time.Duration
	// Logger receives one line per refused request, at warning level,
	// with the reason, and one per connection closed by a read timeout,
	// at info level. nil means slog.Default().
	Logger *slog.Logger
}

// Listener returns ln with each accepted connection's reads scanned. For
// TLS, wrap the listener tls.NewListener returns, so that the guard reads
// plain text (and the server offers HTTP/1.1 only).
func (g *Guard) Listener(ln net.Listener) net.Listener {
	n := g.MaxHeaderBytes
	if n <= 0 {
		n = http.DefaultMaxHeaderBytes
	}
	return &listener{Listener: ln, g: g, maxHead: n + 2*bufSize}
}

// Wrap returns next behind the guard: an HTTP/1.x request whose head
// the connection's scanner flagged, or that the scanner did not see (out
// of step, or a connection that did not come from [Guard.Listener]), is
// answered 400 with Connection: close and next does not run. HTTP/2
// requests, whose framing is not Content-Length or chunked coding, pass.
// Put it outermost, before anything that answers requests.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 {
			next.ServeHTTP(w, r)
			return
		}
		why, status := "connection not from Guard.Listener", http.StatusBadRequest
		if c, ok := r.Context().Value(connKey{}).(*conn); ok {
			why, status = c.take(r.Method, r.RequestURI)
		}
		if why == "" {
			next.ServeHTTP(w, r)
			return
		}
		g.logger().Warn("framing: refused a request: "+why,
			"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "status", status)
		w.Header().Set("Connection", "close")
		http.Error(w, http.StatusText(status), status)
	})
}

// Configure wires g into srv and returns ln wrapped with [Guard.Listener],
// for srv.Serve: srv.Handler (nil meaning http.DefaultServeMux) goes behind
// [Guard.Wrap], and [Guard.ConnContext] and [Guard.ConnState] run after
// srv's own ConnContext and ConnState hooks, if any. A zero MaxHeaderBytes
// takes srv's. Call it once, before srv serves.
func (g *Guard) Configure(srv *http.Server, ln net.Listener) net.Listener {
	if g.MaxHeaderBytes == 0 {
		g.MaxHeaderBytes = srv.MaxHeaderBytes
	}
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.Handler = g.Wrap(h)
	if prev := srv.ConnContext; prev != nil {
		srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			return g.ConnContext(prev(ctx, c), c)
		}
	} else {
		srv.ConnContext = g.ConnContext
	}
	if prev := srv.ConnState; prev != nil {
		srv.ConnState = func(c net.Conn, s http.ConnState) {
			prev(c, s)
			g.ConnState(c, s)
		}
	} else {
		srv.ConnState = g.ConnState
	}
	return g.Listener(ln)
}

func (g *Guard) logger() *slog.Logger {
	if g.Logger != nil {
		return g.Logger
	}
	return slog.Default()
}
