package filewrap_test

import (
	"bufio"
	"io"
	"net"
	"net/http"

	"github.com/gowsgi/gowsgi/internal/rw"
)

// rwWriter is the ResponseWriter wrapper of a typical middleware (an
// access log), through which the tests check that a file body still
// reaches sendfile: it records the status and the body size of a response and calls
// BeforeHeader once, just before the header is sent. Build it with [wrapRW].
type rwWriter struct {
	w http.ResponseWriter

	// BeforeHeader, when non-nil, is called once with the final status just
	// before the header is sent (by WriteHeader, the first Write, ReadFrom or
	// Flush), while the header map can still be changed. It is not called for
	// informational (1xx) headers. Nil means no hook.
	BeforeHeader func(h http.Header, status int)

	status  int
	written int64
}

var (
	_ http.ResponseWriter = (*rwWriter)(nil)
	_ io.ReaderFrom       = (*rwWriter)(nil)
	_ http.Flusher        = (*rwWriter)(nil)
	_ http.Hijacker       = (*rwWriter)(nil)
)

// wrapRW returns a rwWriter around w. Wrapping a rwWriter again is allowed; each
// layer keeps its own record.
func wrapRW(w http.ResponseWriter) *rwWriter { return &rwWriter{w: w} }

// Header returns the header map of the wrapped writer.
func (w *rwWriter) Header() http.Header { return w.w.Header() }

// WriteHeader records code and passes it on. Informational codes (1xx other
// than 101) are passed on without being recorded, as net/http allows several
// of them before the final one.
func (w *rwWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.w.WriteHeader(code)
		return
	}
	if w.status != 0 {
		// Let net/http log its "superfluous WriteHeader" warning.
		w.w.WriteHeader(code)
		return
	}
	w.status = code
	if w.BeforeHeader != nil {
		w.BeforeHeader(w.w.Header(), code)
	}
	w.w.WriteHeader(code)
}

func (w *rwWriter) implicitHeader() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
}

// Write sends p as part of the body, sending a 200 header first if none was
// sent.
func (w *rwWriter) Write(p []byte) (int, error) {
	w.implicitHeader()
	n, err := w.w.Write(p)
	w.written += int64(n)
	return n, err
}

// ReadFrom sends what src yields as part of the body. When the wrapped
// writer is an [io.ReaderFrom] (net/http's own writer is, and so is another
// rwWriter) the call is passed on, so that an *os.File reaches sendfile(2);
// otherwise the bytes are copied through Write.
func (w *rwWriter) ReadFrom(src io.Reader) (int64, error) {
	w.implicitHeader()
	var n int64
	var err error
	if rf, ok := w.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(rw.WriterOnly{Writer: w.w}, src)
	}
	w.written += n
	return n, err
}

// Flush sends the header (200 if none was set) and any buffered body. It
// does nothing when the wrapped writer cannot flush.
func (w *rwWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush that reports failure, as [http.ResponseController]
// expects; it returns an error wrapping [http.ErrNotSupported] when the
// wrapped writer cannot flush.
func (w *rwWriter) FlushError() error {
	w.implicitHeader()
	return http.NewResponseController(w.w).Flush()
}

// Hijack passes the call on through [http.ResponseController]; it fails with
// an error wrapping [http.ErrNotSupported] when nothing underneath can hijack.
func (w *rwWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.w).Hijack()
}

// Unwrap returns the wrapped writer, for [http.ResponseController].
func (w *rwWriter) Unwrap() http.ResponseWriter { return w.w }

// Status returns the final status sent, or 0 when no header was sent yet.
func (w *rwWriter) Status() int { return w.status }

// Written returns the number of body bytes accepted so far by Write and
// ReadFrom (for a HEAD request net/http accepts and discards them).
func (w *rwWriter) Written() int64 { return w.written }
