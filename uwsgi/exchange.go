package uwsgi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gowsgi/gowsgi/reqinfo"
	"github.com/gowsgi/gowsgi/wsgi"
)

// inlineBody is the largest request body read before the request is sent
// and written with its packet, in one write; larger bodies stream.
const inlineBody = 64 << 10

// ServeHTTP implements http.Handler: it sends the request to the least
// busy upstream and streams the response back. It never returns an error:
// failures become a log line and, when the response has not started, a
// status written by Config.ErrorHandler; a response that started and
// cannot complete is cut (see the package documentation).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, size, err := h.requestBody(w, r)
	if err != nil {
		return // answered
	}
	if body != nil {
		defer body.Close()
	}
	env := h.environ(r)
	if size >= 0 {
		env = setVar(env, "CONTENT_LENGTH", strconv.FormatInt(size, 10))
	}
	pkt, err := appendPacket(make([]byte, 0, 1024), env)
	if err != nil {
		h.log.Warn(err.Error(), reqinfo.LogAttrs(r)...)
		h.fail(w, r, http.StatusRequestHeaderFieldsTooLarge, fmt.Errorf("%w: %w", ErrRequestTooLarge, err))
		return
	}
	var rest io.Reader // the body after the packet
	if body != nil && size <= inlineBody {
		start := len(pkt)
		pkt = append(pkt, make([]byte, size)...)
		if _, err := io.ReadFull(body, pkt[start:]); err != nil {
			h.badBody(w, r, err)
			return
		}
	} else if body != nil {
		rest = body
	}

	for tries := 0; ; tries++ {
		u, err := h.acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				h.cancelled(w, r)
				return
			}
			h.log.Warn(err.Error(), reqinfo.LogAttrs(r)...)
			h.fail(w, r, http.StatusServiceUnavailable, err)
			return
		}
		c, err := h.dialer.DialContext(ctx, "tcp", u.addr)
		if err != nil {
			if ctx.Err() != nil {
				h.release(u)
				h.cancelled(w, r)
				return
			}
			// The request never reached u: another upstream may take it.
			h.connectFailed(u, err)
			if tries < len(h.ups) {
				continue
			}
			h.log.Warn("uwsgi: no upstream accepted the connection", append(reqinfo.LogAttrs(r), "err", err)...)
			h.fail(w, r, http.StatusBadGateway, fmt.Errorf("%w: %w", ErrUpstream, err))
			return
		}
		ex := exchange{h: h, u: u, w: w, r: r, c: c}
		func() {
			defer h.release(u)
			ex.run(pkt, rest)
		}()
		return
	}
}

// requestBody returns the request's body, nil when it has none, and its
// size: a chunked body is spooled first (the uwsgi protocol needs
// CONTENT_LENGTH). A body over MaxRequestBody, or one that breaks while it
// is spooled, is answered here (413, 400) and reported as an error.
func (h *Handler) requestBody(w http.ResponseWriter, r *http.Request) (io.ReadCloser, int64, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, -1, nil
	}
	if h.maxBody >= 0 && r.ContentLength > h.maxBody {
		err := &http.MaxBytesError{Limit: h.maxBody}
		h.badBody(w, r, fmt.Errorf("Content-Length %d: %w", r.ContentLength, err))
		return nil, 0, err
	}
	body := r.Body
	if h.maxBody >= 0 {
		body = http.MaxBytesReader(w, r.Body, h.maxBody)
	}
	if r.ContentLength > 0 {
		return io.NopCloser(body), r.ContentLength, nil
	}
	sp, n, err := spool(body, h.cfg.SpoolDir)
	if _, ok := errors.AsType[*fs.PathError](err); ok {
		h.log.Error("uwsgi: spooling a chunked request body", append(reqinfo.LogAttrs(r), "err", err)...)
		w.Header().Set("Connection", "close")
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return nil, 0, err
	}
	if err != nil {
		h.badBody(w, r, err)
		return nil, 0, err
	}
	if n == 0 {
		sp.Close()
		return nil, 0, nil
	}
	return sp, n, nil
}

// badBody answers a request whose body could not be read before its
// response started: 413 over MaxRequestBody, else 400, the connection
// closed.
func (h *Handler) badBody(w http.ResponseWriter, r *http.Request, err error) {
	status, sentinel := http.StatusBadRequest, wsgi.ErrBadRequestBody
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		status, sentinel = http.StatusRequestEntityTooLarge, wsgi.ErrBodyTooLarge
	}
	h.log.Warn("uwsgi: reading request body", append(reqinfo.LogAttrs(r), "err", err)...)
	w.Header().Set("Connection", "close")
	h.fail(w, r, status, fmt.Errorf("%w: %w", sentinel, err))
}

// cancelled answers a request whose context ended before its response
// started: 504 for a deadline, else 503.
func (h *Handler) cancelled(w http.ResponseWriter, r *http.Request) {
	status := http.StatusServiceUnavailable
	if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		status = http.StatusGatewayTimeout
	}
	h.log.Info("uwsgi: request context ended before the response", append(reqinfo.LogAttrs(r), "err", r.Context().Err())...)
	h.fail(w, r, status, fmt.Errorf("%w: %w", wsgi.ErrCanceled, r.Context().Err()))
}

// setVar replaces the variable named k, or appends it.
func setVar(env []wsgi.EnvVar, k, v string) []wsgi.EnvVar {
	for i := range env {
		if env[i].Name == k {
			env[i].Value = v
			return env
		}
	}
	return append(env, wsgi.EnvVar{Name: k, Value: v})
}

// readerPool holds the readers of upstream responses: one per request
// would be most of what a small request allocates.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8<<10) }}

// Why the exchange closed the upstream connection itself.
const (
	closedNot int32 = iota
	closedContext
	closedTimeout
	closedBody
)

// exchange is one request on one upstream connection.
type exchange struct {
	h *Handler
	u *upstream
	w http.ResponseWriter
	r *http.Request
	c net.Conn

	why     atomic.Int32 // closed*: set once, before c.Close
	bodyErr error        // the request body's error, when why is closedBody
}

// abort closes the upstream connection for reason why (the first reason
// wins), which ends whatever reads or writes it.
func (ex *exchange) abort(why int32) {
	ex.why.CompareAndSwap(closedNot, why)
	ex.c.Close()
}

// run sends the packet and the rest of the body, and relays the response.
func (ex *exchange) run(pkt []byte, rest io.Reader) {
	h, r := ex.h, ex.r
	defer ex.c.Close()
	stop := context.AfterFunc(r.Context(), func() { ex.abort(closedContext) })
	defer stop()
	if h.cfg.RequestTimeout > 0 {
		t := time.AfterFunc(h.cfg.RequestTimeout, func() { ex.abort(closedTimeout) })
		defer t.Stop()
	}
	if _, err := ex.c.Write(pkt); err != nil {
		ex.upstreamFailed(err)
		return
	}
	if rest != nil {
		// The body streams while the response is read: uWSGI may answer
		// before it reads all of it. Writes block while the application
		// does not read (backpressure on the client).
		_ = http.NewResponseController(ex.w).EnableFullDuplex()
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			ex.sendBody(rest)
		}()
		defer func() {
			// The body may still be read from the client (the
			// application answered without reading all of it): stop
			// that read before ServeHTTP returns.
			ex.c.Close()
			select {
			case <-sent:
			default:
				_ = http.NewResponseController(ex.w).SetReadDeadline(time.Now())
				<-sent
			}
		}()
	}

	br := readerPool.Get().(*bufio.Reader)
	br.Reset(ex.c)
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
	}()
	resp, err := readHead(br, r.Method)
	if err != nil {
		ex.upstreamFailed(err)
		return
	}
	hdr := ex.w.Header()
	for k, v := range resp.Header {
		hdr[k] = v
	}
	if resp.Close {
		hdr.Set("Connection", "close")
	}
	ex.w.WriteHeader(resp.StatusCode)
	ex.relay(resp, br)
}

// sendBody copies the rest of the request body to the upstream. A body
// that breaks (the client sent less than its Content-Length, or went over
// MaxRequestBody) closes the upstream connection; run then answers.
func (ex *exchange) sendBody(body io.Reader) {
	br := &bodyReader{r: body}
	_, err := io.Copy(ex.c, br)
	if br.err != nil {
		ex.bodyErr = br.err
		ex.abort(closedBody)
		return
	}
	_ = err // the upstream closed: run sees it on the response
}

// bodyReader remembers the error of a request body, telling it from the
// upstream's.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// upstreamFailed answers a request whose response did not start: the
// reason the exchange closed the connection, else 502.
func (ex *exchange) upstreamFailed(err error) {
	h, w, r := ex.h, ex.w, ex.r
	switch ex.why.Load() {
	case closedContext:
		h.cancelled(w, r)
		return
	case closedBody:
		h.badBody(w, r, ex.bodyErr)
		return
	}
	ex.countFailure()
	if ex.why.Load() == closedTimeout {
		h.log.Error("uwsgi: request timed out", append(reqinfo.LogAttrs(r), "upstream", ex.u.addr, "timeout", h.cfg.RequestTimeout)...)
		h.fail(w, r, http.StatusGatewayTimeout, fmt.Errorf("%w after %v (upstream %s)", wsgi.ErrRequestTimeout, h.cfg.RequestTimeout, ex.u.addr))
		return
	}
	if isConnError(err) {
		h.log.Error("uwsgi: upstream closed the connection before its response", append(reqinfo.LogAttrs(r), "upstream", ex.u.addr, "err", err)...)
		h.fail(w, r, http.StatusBadGateway, fmt.Errorf("%w (%s): %w", ErrUpstream, ex.u.addr, err))
		return
	}
	h.log.Error("uwsgi: bad response from the upstream", append(reqinfo.LogAttrs(r), "upstream", ex.u.addr, "err", err)...)
	h.fail(w, r, http.StatusBadGateway, fmt.Errorf("%w (%s): %w", wsgi.ErrBadResponse, ex.u.addr, err))
}

// isConnError reports whether err is the connection failing rather than
// a malformed response.
func isConnError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) ||
		errors.Is(err, net.ErrClosed)
}

func (ex *exchange) countFailure() {
	ex.h.mu.Lock()
	ex.u.failures++
	ex.h.mu.Unlock()
}

// relay copies the response body: up to its Content-Length, to the end of
// its chunked coding, or to the end of the connection. A body that ends
// short of its length, a chunked body cut off, and a connection error are
// cut for the client; a connection that closes cleanly where the upstream
// gave no length ends the response as complete (nothing tells the two
// apart).
func (ex *exchange) relay(resp *http.Response, br *bufio.Reader) {
	if resp.Body == http.NoBody || ex.r.Method == http.MethodHead {
		return
	}
	var n int64
	var err error
	if want := resp.ContentLength; want > 0 && len(resp.TransferEncoding) == 0 {
		n, err = ex.copyLength(br, want)
		if err == nil && n < want {
			err = io.ErrUnexpectedEOF
		}
	} else {
		n, err = ex.copyFlushing(resp.Body)
	}
	if err == nil {
		return
	}
	ex.h.log.Warn("uwsgi: response cut", append(reqinfo.LogAttrs(ex.r), "upstream", ex.u.addr,
		"content_length", resp.ContentLength, "sent", n, "err", ex.cutReason(err))...)
	if ex.why.Load() != closedContext {
		ex.countFailure()
	}
	ex.cut()
}

// cutReason names why a response was cut.
func (ex *exchange) cutReason(err error) error {
	switch ex.why.Load() {
	case closedContext:
		return fmt.Errorf("request context ended: %w", ex.r.Context().Err())
	case closedTimeout:
		return fmt.Errorf("%w after %v", wsgi.ErrRequestTimeout, ex.h.cfg.RequestTimeout)
	case closedBody:
		return fmt.Errorf("request body: %w", ex.bodyErr)
	}
	return err
}

// copyLength copies a body of want bytes: what the header's read left in
// br, then the rest straight from the connection, through the
// ResponseWriter's ReadFrom when it has one (splice(2) from socket to
// socket with net/http on Linux). Each chunk goes out as it arrives.
func (ex *exchange) copyLength(br *bufio.Reader, want int64) (int64, error) {
	var n int64
	if b := br.Buffered(); b > 0 {
		p, _ := br.Peek(int(min(int64(b), want)))
		m, err := ex.w.Write(p)
		n += int64(m)
		if err != nil {
			return n, err
		}
		if n == want {
			return n, nil
		}
	}
	if err := http.NewResponseController(ex.w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return n, err
	}
	if rf, ok := ex.w.(io.ReaderFrom); ok {
		m, err := rf.ReadFrom(&io.LimitedReader{R: ex.c, N: want - n})
		return n + m, err
	}
	m, err := ex.copyFlushing(&io.LimitedReader{R: ex.c, N: want - n})
	return n + m, err
}

// copyFlushing copies src to the client, flushing what each read returned:
// a streamed response reaches the client as the application yields it.
func (ex *exchange) copyFlushing(src io.Reader) (int64, error) {
	buf := make([]byte, 32<<10)
	rc := http.NewResponseController(ex.w)
	var n int64
	for {
		m, err := src.Read(buf)
		if m > 0 {
			w, werr := ex.w.Write(buf[:m])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
			if ferr := rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
				return n, ferr
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// cut ends a response that started and cannot complete so that the
// client sees it incomplete (net/http resets the connection for a handler
// that panics with http.ErrAbortHandler: no chunked terminator, short of
// the Content-Length; HTTP/2 resets the stream).
func (ex *exchange) cut() {
	_ = http.NewResponseController(ex.w).Flush()
	panic(http.ErrAbortHandler)
}
