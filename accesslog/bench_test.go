package accesslog_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gowsgi/gowsgi/accesslog"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// BenchmarkLog is the access log's cost per request on the request's
// goroutine: the middleware, the record, formatting and queueing the line
// (the writer goroutine writes to io.Discard).
func BenchmarkLog(b *testing.B) {
	for _, format := range []accesslog.Format{accesslog.Combined, accesslog.JSON} {
		b.Run(format.String(), func(b *testing.B) {
			alog, err := accesslog.New(accesslog.Config{Writer: io.Discard, Format: format, QueueSize: 1 << 16})
			if err != nil {
				b.Fatal(err)
			}
			defer alog.Close()
			h := alog.Wrap(reqinfo.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("Hello, World!\n"))
			})))
			r := httptest.NewRequest("GET", "/trac/wiki/WikiStart", nil)
			r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)")
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
			b.ReportMetric(float64(alog.Dropped()), "dropped")
		})
	}
}

// BenchmarkNone is BenchmarkLog without the access log: the request id
// alone, for the difference.
func BenchmarkNone(b *testing.B) {
	h := reqinfo.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("Hello, World!\n"))
	}))
	r := httptest.NewRequest("GET", "/trac/wiki/WikiStart", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
