package accesslog

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gowsgi/gowsgi/internal/rw"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// Entry is what is known about one request once it was served: its record
// and what the response was. [Observe] fills one per request.
type Entry struct {
	// Info is the request's record ([reqinfo.Record.Info]) as the inner
	// layers left it: id, start time, method and target, client, user,
	// authentication outcome, mount, worker pid.
	reqinfo.Info
	// Proto is the request's protocol, "HTTP/1.1".
	Proto string
	// Referer and UserAgent are the request's headers of those names.
	Referer, UserAgent string
	// Status is the response's status; 0 when the handler aborted
	// before any response was written (the client saw a closed
	// connection).
	Status int
	// Bytes counts the body bytes written (Apache's %b), those sent as a
	// file included.
	Bytes int64
	// FileBytes counts the body bytes handed to the writer's ReadFrom,
	// the path package filewrap takes to send a file (with sendfile(2) on
	// a plain HTTP/1.x connection).
	FileBytes int64
	// Duration is from the record's start to the end of the response.
	Duration time.Duration
	// Aborted: the handler panicked (http.ErrAbortHandler cuts a
	// response short on purpose); the response is incomplete.
	Aborted bool
}

// Observe returns a middleware that calls fn with an [Entry] for each
// request, once the handlers inside returned (and also when they panic,
// before the panic goes on). The entry is valid only during the call: fn
// copies what it keeps. fn runs on the request's goroutine, before the
// response is finished for the client, so it must not block.
//
// It makes the request's record if no outer layer did ([reqinfo.Ensure]);
// put it outermost, so that what every layer answers is observed, with
// the record of [reqinfo.RequestID] just inside it.
//
// The ResponseWriter it hands on keeps io.ReaderFrom (sendfile), Flush,
// Hijack and the others through Unwrap (http.ResponseController).
func Observe(fn func(*Entry)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, rec := reqinfo.Ensure(r)
			cw := writerPool.Get().(*countingWriter)
			cw.ResponseWriter = w
			completed := false
			defer func() {
				e := entryPool.Get().(*Entry)
				e.Info = rec.Info()
				e.Proto = r.Proto
				e.Referer = r.Header.Get("Referer")
				e.UserAgent = r.Header.Get("User-Agent")
				e.Status = cw.status
				if e.Status == 0 && completed {
					e.Status = http.StatusOK // net/http's default
				}
				e.Bytes, e.FileBytes = cw.bytes, cw.fileBytes
				e.Duration = time.Since(e.Start)
				e.Aborted = !completed
				fn(e)
				*e = Entry{}
				entryPool.Put(e)
				*cw = countingWriter{}
				writerPool.Put(cw)
			}()
			next.ServeHTTP(cw, r)
			completed = true
		})
	}
}

var (
	entryPool  = sync.Pool{New: func() any { return new(Entry) }}
	writerPool = sync.Pool{New: func() any { return new(countingWriter) }}
)

// countingWriter records the status and counts the body bytes.
type countingWriter struct {
	http.ResponseWriter
	status    int
	bytes     int64
	fileBytes int64
}

func (cw *countingWriter) WriteHeader(code int) {
	if cw.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		cw.status = code
	}
	cw.ResponseWriter.WriteHeader(code)
}

func (cw *countingWriter) Write(b []byte) (int, error) {
	if cw.status == 0 {
		cw.status = http.StatusOK
	}
	n, err := cw.ResponseWriter.Write(b)
	cw.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the file path (sendfile) of the writer inside.
func (cw *countingWriter) ReadFrom(src io.Reader) (int64, error) {
	if cw.status == 0 {
		cw.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := cw.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(rw.WriterOnly{Writer: cw.ResponseWriter}, src)
	}
	cw.bytes += n
	cw.fileBytes += n
	return n, err
}

func (cw *countingWriter) Flush() {
	_ = http.NewResponseController(cw.ResponseWriter).Flush()
}

// Hijack hands the connection over (a WebSocket, CONNECT); what is written
// on it afterwards is not counted.
func (cw *countingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(cw.ResponseWriter).Hijack()
}

// Unwrap returns the writer inside, for http.ResponseController.
func (cw *countingWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

var (
	_ io.ReaderFrom = (*countingWriter)(nil)
	_ http.Flusher  = (*countingWriter)(nil)
	_ http.Hijacker = (*countingWriter)(nil)
)
