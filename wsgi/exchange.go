package wsgi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"sync"
	"time"

	"github.com/gowsgi/gowsgi/internal/reqctx"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// inlineBody is the largest request body read before dispatch and sent
// with the request; larger and unknown-length bodies stream on demand.
const inlineBody = 64 << 10

// ServeHTTP implements http.Handler: it sends the request to a worker and
// streams the response back. It never returns an error: failures become a
// log line with the detail and, when the response has not started, a
// status (500 application error, 502 worker died, 503 no worker, 504
// timeout; see the Err variables) written by [Config.ErrorHandler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()

	// Build the request frame: header, environ, and a small body inline.
	// The buffers are reused: nothing holds the frame once ServeHTTP
	// returns (a request queued for a worker is copied into its
	// connection's pending writes).
	sc := scratchPool.Get().(*scratch)
	defer sc.put()
	sc.env = appendEnviron(sc.env[:0], r, &h.cfg)
	buf := appendMarshalEnviron(sc.buf[:frameHeaderLen+4], sc.env)
	envLen := len(buf) - frameHeaderLen - 4
	typ := byte(frameReq)
	var body io.Reader
	if r.Body != nil && r.Body != http.NoBody {
		body = r.Body
	}
	if body != nil && h.maxBody >= 0 {
		if r.ContentLength > h.maxBody {
			h.stats.fail("body_too_large")
			h.log.Warn("wsgi: request body over the limit", append(reqctx.LogAttrs(r), "content_length", r.ContentLength, "limit", h.maxBody)...)
			w.Header().Set("Connection", "close")
			h.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: Content-Length %d > %d", ErrBodyTooLarge, r.ContentLength, h.maxBody))
			return
		}
		body = http.MaxBytesReader(w, r.Body, h.maxBody)
	}
	if body == nil || r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		typ = frameReqFull
		body = nil
	} else if r.ContentLength > 0 && r.ContentLength <= inlineBody {
		start := len(buf)
		buf = append(buf, make([]byte, r.ContentLength)...)
		if _, err := io.ReadFull(body, buf[start:]); err != nil {
			h.badBody(w, r, err)
			return
		}
		typ = frameReqFull
		body = nil
	}
	sc.buf = buf
	binary.LittleEndian.PutUint32(buf[frameHeaderLen:], uint32(envLen))
	// Only a safe request whose body went with it may wait behind a
	// running request: it can be taken back and run elsewhere (see the
	// dispatcher's policy).
	rescuable := typ == frameReqFull && (r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions)

	var deadlineAt time.Time
	if h.cfg.RequestTimeout > 0 {
		deadlineAt = time.Now().Add(h.cfg.RequestTimeout)
	}
	var next *conn // reserved by the dispatcher for a request moved
	// The request's record, if any, learns which worker took it.
	rec := reqinfo.FromContext(ctx)
	for attempt := 0; ; {
		id := h.nextID.Add(1)
		putHeader(buf, typ, id, len(buf)-frameHeaderLen)
		cl := newCall(id, rescuable)
		cl.rec = rec
		c, sent, err := next, false, error(nil)
		if c == nil {
			var t0 time.Time
			if h.cfg.ObserveQueueWait != nil {
				t0 = time.Now()
			}
			c, sent, err = h.acquire(ctx, cl, buf)
			if err == nil && h.cfg.ObserveQueueWait != nil {
				h.cfg.ObserveQueueWait(r, time.Since(t0))
			}
		}
		next = nil
		if err != nil {
			if ctx.Err() != nil {
				h.cancelled(w, r)
				return
			}
			cause := "unavailable"
			switch {
			case errors.Is(err, errQueueFull):
				cause = "queue_full"
			case errors.Is(err, errQueueTimeout):
				cause = "queue_timeout"
			}
			h.stats.fail(cause)
			h.log.Warn("wsgi: "+errString(err), reqctx.LogAttrs(r)...)
			h.fail(w, r, http.StatusServiceUnavailable, err)
			return
		}
		rec.SetPID(c.p.pid)
		ex := exchange{h: h, c: c, w: w, r: r, body: body, deadlineAt: deadlineAt}
		if !ex.run(cl, buf, sent) {
			return
		}
		h.stats.requeued.Add(1)
		if next = ex.next; next != nil {
			continue // moved to an idle thread
		}
		// The request never started: its worker died with it queued.
		if attempt++; attempt == 10 {
			h.stats.fail("unavailable")
			h.log.Warn("wsgi: request could not be placed on a worker", reqctx.LogAttrs(r)...)
			h.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("%w: request could not be placed on a worker", ErrUnavailable))
			return
		}
	}
}

// badBody answers a request whose body could not be read before it went to
// a worker: 413 over MaxRequestBody, else 400. The connection is closed:
// where the next request would start is unknown.
func (h *Handler) badBody(w http.ResponseWriter, r *http.Request, err error) {
	status, sentinel := http.StatusBadRequest, ErrBadRequestBody
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		status, sentinel = http.StatusRequestEntityTooLarge, ErrBodyTooLarge
		h.stats.fail("body_too_large")
	} else {
		h.stats.fail("bad_body")
	}
	h.log.Warn("wsgi: reading request body", append(reqctx.LogAttrs(r), "err", err)...)
	w.Header().Set("Connection", "close")
	h.fail(w, r, status, fmt.Errorf("%w: %w", sentinel, err))
}

// cancelled answers a request whose context ended before its response
// started: 504 when a deadline passed (a timeout middleware), else 503 (the
// client is most likely gone and sees nothing). Never an empty 200.
func (h *Handler) cancelled(w http.ResponseWriter, r *http.Request) {
	status := http.StatusServiceUnavailable
	if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		status = http.StatusGatewayTimeout
	}
	h.stats.fail("cancelled")
	h.log.Info("wsgi: request context ended before the response", append(reqctx.LogAttrs(r), "err", r.Context().Err())...)
	h.fail(w, r, status, fmt.Errorf("%w: %w", ErrCanceled, r.Context().Err()))
}

// scratch holds the buffers of one request's frame, reused across requests.
type scratch struct {
	buf []byte
	env []EnvVar
}

// scratchMax bounds the buffers kept for reuse; a request with a large
// inline body or environ gets its own.
const scratchMax = 16 << 10

var scratchPool = sync.Pool{New: func() any {
	return &scratch{buf: make([]byte, 0, 1024), env: make([]EnvVar, 0, 48)}
}}

func (sc *scratch) put() {
	clear(sc.env) // drop the references to the request's strings
	if cap(sc.buf) > scratchMax || cap(sc.env) > 256 {
		return
	}
	sc.env = sc.env[:0]
	scratchPool.Put(sc)
}

// exchange is one request on one worker connection.
type exchange struct {
	h       *Handler
	c       *conn
	w       http.ResponseWriter
	r       *http.Request
	body    io.Reader // what remains of the request body, nil if none
	bodyBuf []byte    // sendBody's frame, reused across its answers
	// deadlineAt is when the request times out (zero: never).
	deadlineAt time.Time

	cl          *call
	wroteHeader bool
	contentLen  int64 // the application's Content-Length, or -1
	written     int64
	bodyDone    bool
	// fileSent: the body went as a file (filewrap bounds its length).
	fileSent bool
	// status is the application's status, set by its headers and sent
	// with the first body bytes, the end, or a file.
	status int
	hdr    []string // names and values in turn (responseHead.header)
	// last is set while the last frame of a batch is handled.
	last bool
	// started: a frame of the response arrived.
	started bool
	// next is the connection reserved for the request when it was taken
	// back to run there (see the dispatcher's rule 4).
	next *conn
	// closeConn: the application sent Connection: close. xsendfile: the
	// file its X-Sendfile names, sent in place of its body (xsendfile.go).
	closeConn bool
	xsendfile string
}

// run sends the request (unless acquire already did: sent) and relays the
// response. It reports true when the request never started on the worker
// and should be sent elsewhere.
func (ex *exchange) run(cl *call, req []byte, sent bool) (retry bool) {
	h, c, r := ex.h, ex.c, ex.r
	ex.cl = cl
	ex.contentLen = -1
	// ended: the request's last frame was handled, so that its reader
	// is done with cl and cl can be reused; otherwise the reader is told
	// to drop what still comes.
	ended := false
	defer func() {
		if !ended {
			cl.stop()
			// What the worker still sends for it needs a reader.
			c.ensureReader()
		}
		// A connection reserved for the request and not taken goes back
		// (see moveOldest: it checks stopped after it reserves).
		if to := cl.moveTo.Swap(nil); to != nil {
			h.unassign(to)
		}
		if ended {
			putCall(cl)
		}
	}()
	if !sent { // else grant registered and queued it
		if err := c.send(cl, req); err != nil {
			if errors.Is(err, errWorkerGone) {
				h.unassign(c)
				return true
			}
			// Its reader fails the connection below; the worker never
			// got the request, so it is retried elsewhere.
			cl.unsent.Store(true)
			h.log.Warn(errString(err), reqctx.LogAttrs(r)...)
		}
	}
	ctx := r.Context()
	// rest holds the frames of the batch not handled yet; on an early
	// return their descriptors are closed.
	var rest []frame
	defer func() {
		for _, f := range rest {
			if f.fd >= 0 {
				closeFD(f.fd)
			}
		}
	}()
	for {
		batch, res := ex.wait()
		switch res {
		case readCanceled:
			ex.abort()
			if !ex.wroteHeader {
				h.cancelled(ex.w, r)
				return false
			}
			h.log.Info("wsgi: request context ended during the response; cutting it", append(reqctx.LogAttrs(r), "err", ctx.Err())...)
			ex.cut()
		case readTimeout:
			h.stats.fail("timeout")
			h.log.Error("wsgi: request timed out; killing its worker", append(reqctx.LogAttrs(r), "pid", c.p.pid, "timeout", h.cfg.RequestTimeout)...)
			cl.stop()
			c.p.kill("timeout")
			ex.failStatus(http.StatusGatewayTimeout, fmt.Errorf("%w after %v (pid %d)", ErrRequestTimeout, h.cfg.RequestTimeout, c.p.pid))
			return false
		}
		for i, f := range batch {
			ex.last = i == len(batch)-1
			rest = batch[i+1:]
			switch f.typ {
			case frameEnd, frameError, frameDied, frameRetry:
				// The last frame: the reader forgot the request
				// before it sent this one (dropLocked, fail).
				ended = true
			}
			if f.typ == frameRescue {
				to := cl.moveTo.Swap(nil)
				if ex.started {
					if to != nil {
						h.unassign(to)
					}
					continue
				}
				h.log.Debug("wsgi: request taken back from a worker busy with another request", append(reqctx.LogAttrs(r), "pid", c.p.pid)...)
				ex.abort()
				ex.next = to
				return true
			}
			ex.started = true
			switch f.typ {
			case frameRead:
				if !ex.sendBody(readWant(f.payload)) {
					return false
				}
			case frameHeaders:
				if !ex.head(f.payload) {
					return false
				}
			case frameData, frameDataFlush:
				if !ex.data(f) {
					return false
				}
			case frameLog:
				h.log.Warn("wsgi.errors: "+string(f.payload), reqctx.LogAttrs(r)...)
			case frameFile:
				if !ex.file(f) {
					return false
				}
			case frameError:
				h.stats.fail("app_error")
				h.log.Error("wsgi: application error", append(reqctx.LogAttrs(r), "traceback", string(f.payload))...)
				ex.failStatus(http.StatusInternalServerError, ErrApplication)
				return false
			case frameEnd:
				if ex.status != 0 && ex.short() {
					h.stats.fail("bad_response")
					h.log.Error("wsgi: response ended short of its Content-Length; cutting it", append(reqctx.LogAttrs(r), "content_length", ex.contentLen, "sent", ex.written)...)
					ex.commit()
					ex.cut()
				} else if ex.status != 0 {
					ex.commit()
				} else {
					h.stats.fail("bad_response")
					h.log.Error("wsgi: response ended without headers", reqctx.LogAttrs(r)...)
					ex.failStatus(http.StatusInternalServerError, fmt.Errorf("%w: it ended without headers", ErrBadResponse))
				}
				return false
			case frameDied:
				h.stats.fail("worker_died")
				h.log.Error("wsgi: worker died while serving the request", append(reqctx.LogAttrs(r), "pid", c.p.pid, "err", string(f.payload))...)
				ex.failStatus(http.StatusBadGateway, fmt.Errorf("%w (pid %d): %s", ErrWorkerDied, c.p.pid, f.payload))
				return false
			case frameRetry:
				return true
			default:
				if f.fd >= 0 {
					closeFD(f.fd)
				}
			}
		}
	}
}

// wait returns the next batch of the request's frames: read from the
// worker connection by the exchange itself when the request runs there and
// nobody else reads it (see readSelf), else handed over on its channel.
// It returns early when the request's context ends or its deadline passes.
func (ex *exchange) wait() ([]frame, readResult) {
	cl, ctx := ex.cl, ex.r.Context()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case batch := <-cl.ch:
			return batch, readGot
		default:
		}
		if ctx.Err() != nil {
			return nil, readCanceled
		}
		if !ex.deadlineAt.IsZero() && !time.Now().Before(ex.deadlineAt) {
			return nil, readTimeout
		}
		batch, res := ex.c.readSelf(ctx, cl, ex.deadlineAt)
		if res != readRetry {
			return batch, res
		}
		select {
		case batch := <-cl.ch:
			return batch, readGot
		default:
		}
		// Another goroutine reads, or cl waits behind the running
		// request: its frames come on the channel (when cl starts
		// running, the one that read the previous request's end
		// keeps reading or starts the background reader).
		var deadline <-chan time.Time
		if !ex.deadlineAt.IsZero() {
			if timer == nil {
				timer = time.NewTimer(time.Until(ex.deadlineAt))
			}
			deadline = timer.C
		}
		select {
		case batch := <-cl.ch:
			return batch, readGot
		case <-ctx.Done():
			return nil, readCanceled
		case <-deadline:
			return nil, readTimeout
		}
	}
}

// failStatus answers with err (status by default, see [Handler.fail])
// when nothing was sent yet, and otherwise aborts the client connection
// so that a truncated body never looks complete.
func (ex *exchange) failStatus(status int, err error) {
	if !ex.wroteHeader {
		ex.wroteHeader = true
		ex.h.fail(ex.w, ex.r, status, err)
		return
	}
	ex.cut()
}

// cut ends a response that started but cannot complete so that the client
// sees it incomplete: the connection is reset before a chunked body's
// terminator or short of the Content-Length (HTTP/2: the stream is reset).
// net/http does this for a handler that panics with http.ErrAbortHandler.
func (ex *exchange) cut() {
	// What was written goes out first: the client sees the status and a
	// truncated body, not a connection closed before any response.
	_ = http.NewResponseController(ex.w).Flush()
	panic(http.ErrAbortHandler)
}

// short reports whether the body sent is shorter than the application's
// Content-Length, for a response that has a body.
func (ex *exchange) short() bool {
	if ex.contentLen < 0 || ex.fileSent || ex.r.Method == http.MethodHead {
		return false
	}
	if ex.status == http.StatusNoContent || ex.status == http.StatusNotModified {
		return false
	}
	return ex.written < ex.contentLen
}

// abort tells the worker to stop the request and stops listening to it.
func (ex *exchange) abort() {
	ex.cl.stop()
	// The worker may be busy writing to a connection nobody reads.
	ex.c.ensureReader()
	var b [frameHeaderLen]byte
	putHeader(b[:], frameAbort, ex.cl.id, 0)
	_ = ex.c.write(b[:])
}

// sendBody answers a read: up to n bytes of the body, or EOF. A body that
// fails (bad chunking, shorter than declared, over MaxRequestBody, the
// client gone) ends the request: the worker is told to stop it (the
// application sees its input break) and the client gets 400 or 413 if
// nothing was sent yet, else a cut response. It reports false then.
func (ex *exchange) sendBody(n int) bool {
	if ex.bodyDone || ex.body == nil {
		ex.writeFrame(frameEOF, nil)
		return true
	}
	// One buffer for the request's answers: c.write copies what it
	// queues, so nothing refers to it after the call.
	if cap(ex.bodyBuf) < frameHeaderLen+n {
		ex.bodyBuf = make([]byte, frameHeaderLen+maxReadChunk)
	}
	b := ex.bodyBuf[:frameHeaderLen+n]
	for {
		m, err := ex.body.Read(b[frameHeaderLen:])
		if err != nil && err != io.EOF {
			ex.abort()
			if ex.wroteHeader {
				ex.h.log.Warn("wsgi: reading request body", append(reqctx.LogAttrs(ex.r), "err", err)...)
				ex.cut()
			}
			ex.wroteHeader = true
			ex.h.badBody(ex.w, ex.r, err)
			return false
		}
		if err == io.EOF {
			ex.bodyDone = true
		}
		if m > 0 {
			putHeader(b, frameBody, ex.cl.id, m)
			_ = ex.c.write(b[:frameHeaderLen+m])
			return true
		}
		if ex.bodyDone {
			ex.writeFrame(frameEOF, nil)
			return true
		}
	}
}

func (ex *exchange) writeFrame(typ byte, p []byte) {
	_ = ex.c.write(appendFrame(nil, typ, ex.cl.id, p))
}

// head applies the status and headers from the application.
func (ex *exchange) head(p []byte) bool {
	rh, err := parseHead(p)
	if err == nil && rh.status < 200 {
		err = fmt.Errorf("wsgi: informational status %d as a final status", rh.status)
	}
	if err != nil || ex.status != 0 {
		if err == nil {
			err = errors.New("wsgi: headers sent twice")
		}
		ex.h.stats.fail("bad_response")
		ex.h.log.Error("wsgi: bad response from the application: "+errString(err), reqctx.LogAttrs(ex.r)...)
		ex.abort()
		ex.failStatus(http.StatusInternalServerError, fmt.Errorf("%w: %w", ErrBadResponse, err))
		return false
	}
	ex.hdr = rh.header
	ex.contentLen = rh.contentLength
	ex.status = rh.status
	ex.headFacts(&rh)
	return true
}

// commit sends the status line and header.
func (ex *exchange) commit() {
	if ex.wroteHeader {
		return
	}
	if ex.xsendfile != "" {
		ex.sendXFile()
		return
	}
	ex.wroteHeader = true
	ex.applyHeader()
	ex.w.WriteHeader(ex.status)
}

func (ex *exchange) applyHeader() {
	hdr := ex.w.Header()
	// The values are views of the parsed header block: no copy, no array
	// per header (each view's capacity ends at the value, so that an
	// append for a repeated header copies instead of overwriting).
	for i := 0; i+1 < len(ex.hdr); i += 2 {
		k := textproto.CanonicalMIMEHeaderKey(ex.hdr[i])
		if old, ok := hdr[k]; ok {
			hdr[k] = append(old, ex.hdr[i+1])
			continue
		}
		hdr[k] = ex.hdr[i+1 : i+2 : i+2]
	}
	if ex.closeConn {
		hdr.Set("Connection", "close") // net/http closes after the response
	}
	if ex.status >= 500 {
		ex.h.stats.fail("app_status")
	}
}

// data relays body bytes, never more than the application's Content-Length.
func (ex *exchange) data(f frame) bool {
	if ex.status == 0 {
		ex.h.log.Error("wsgi: body before headers", reqctx.LogAttrs(ex.r)...)
		ex.abort()
		ex.failStatus(http.StatusInternalServerError, fmt.Errorf("%w: body before headers", ErrBadResponse))
		return false
	}
	if ex.xsendfile != "" {
		return true // the file replaces the body
	}
	p := f.payload
	if ex.contentLen >= 0 && ex.written+int64(len(p)) > ex.contentLen {
		p = p[:ex.contentLen-ex.written]
	}
	ex.commit()
	if len(p) > 0 {
		n, err := ex.w.Write(p)
		ex.written += int64(n)
		if err != nil {
			// The client is gone, or a wrapper refused the bytes.
			ex.abort()
			ex.cut()
		}
	}
	if f.typ == frameDataFlush && ex.last && len(ex.cl.ch) == 0 {
		if err := http.NewResponseController(ex.w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			ex.abort()
			ex.cut()
		}
	}
	return true
}

// stats
