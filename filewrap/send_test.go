package filewrap_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/filewrap"
)

type sendCase struct {
	name           string
	file           string // key into the files map
	offset, length int64
	status         int    // 0 means 200
	method         string // "" means GET
	reqHdr         map[string]string
	preset         map[string]string // header fields the application set

	wantStatus int
	wantFrom   int64 // expected body: file[wantFrom:wantTo]
	wantTo     int64
	wantHdr    map[string]string // "" means absent
}

// noReadFrom is a wrapper that hides ReadFrom, as a body-changing middleware
// would: Send must then copy.
type noReadFrom struct{ http.ResponseWriter }

func (w noReadFrom) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// paths are the ways a response can travel, from the handler to the client.
var paths = []struct {
	name   string
	server server
	wrap   func(http.ResponseWriter) http.ResponseWriter
}{
	{"http1", servers[0], nil},
	{"http1-rw-chain", servers[0], func(w http.ResponseWriter) http.ResponseWriter { return wrapRW(wrapRW(w)) }},
	{"http1-no-readfrom", servers[0], func(w http.ResponseWriter) http.ResponseWriter { return noReadFrom{w} }},
	{"tls-http1", servers[1], nil},
	{"http2", servers[2], func(w http.ResponseWriter) http.ResponseWriter { return wrapRW(w) }},
}

func TestSend(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{}
	for _, n := range []int{0, 1, 255, 256, 8000, 8192, 16 << 10, 1<<20 + 1} {
		files[fmt.Sprint(n)] = pattern(n, uint64(n))
	}
	files["nul-start"] = append([]byte{0, 0, 0}, pattern(100000, 3)...)
	files["nul-block"] = append(make([]byte, 8192), pattern(70000, 4)...)
	files["all-nul"] = make([]byte, 40000)
	files["style.css"] = []byte("body { color: red }\n")
	for name, data := range files {
		writeFile(t, dir, name, data)
	}
	big := int64(1<<20 + 1)
	lm := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC).Format(http.TimeFormat)
	lmLater := time.Date(2024, 5, 6, 7, 8, 10, 0, time.UTC).Format(http.TimeFormat)

	var cases []sendCase
	for _, name := range []string{"0", "1", "255", "256", "8000", "8192", "16384", "1048577", "nul-start", "nul-block", "all-nul"} {
		n := int64(len(files[name]))
		cases = append(cases, sendCase{name: "whole/" + name, file: name, length: -1, wantStatus: 200, wantTo: n,
			wantHdr: map[string]string{"Content-Length": strconv.FormatInt(n, 10)}})
		cases = append(cases, sendCase{name: "app-length/" + name, file: name, length: n, wantStatus: 200, wantTo: n,
			preset:  map[string]string{"Content-Length": strconv.FormatInt(n, 10), "Content-Type": "application/x-trac"},
			wantHdr: map[string]string{"Content-Type": "application/x-trac"}})
	}
	cases = append(cases, []sendCase{
		{name: "offset-to-eof", file: "1048577", offset: 12345, length: -1, wantStatus: 200, wantFrom: 12345, wantTo: big},
		{name: "offset-small", file: "1048577", offset: 7, length: 100, wantStatus: 200, wantFrom: 7, wantTo: 107},
		{name: "offset-large", file: "1048577", offset: 1000, length: 500000, wantStatus: 200, wantFrom: 1000, wantTo: 501000},
		{name: "offset-past-eof", file: "255", offset: 300, length: -1, wantStatus: 200,
			wantHdr: map[string]string{"Content-Length": "0"}},
		{name: "head", file: "1048577", length: -1, method: "HEAD", wantStatus: 200,
			wantHdr: map[string]string{"Content-Length": strconv.FormatInt(big, 10), "Accept-Ranges": "bytes"}},
		{name: "wrong-app-length", file: "8000", length: -1, preset: map[string]string{"Content-Length": "5"}, wantStatus: 200, wantTo: 8000,
			wantHdr: map[string]string{"Content-Length": "8000"}},
		{name: "sniff-binary", file: "nul-start", length: -1, wantStatus: 200, wantTo: 100003,
			wantHdr: map[string]string{"Content-Type": "application/octet-stream"}},
		{name: "type-by-extension", file: "style.css", length: -1, wantStatus: 200, wantTo: int64(len(files["style.css"])),
			wantHdr: map[string]string{"Content-Type": "text/css; charset=utf-8"}},
		{name: "range-first-byte", file: "1048577", length: -1, reqHdr: map[string]string{"Range": "bytes=0-0"}, wantStatus: 206, wantTo: 1,
			wantHdr: map[string]string{"Content-Range": "bytes 0-0/1048577", "Content-Length": "1"}},
		{name: "range-middle", file: "1048577", length: -1, reqHdr: map[string]string{"Range": "bytes=100-199"}, wantStatus: 206, wantFrom: 100, wantTo: 200,
			wantHdr: map[string]string{"Content-Range": "bytes 100-199/1048577"}},
		{name: "range-large", file: "1048577", length: -1, reqHdr: map[string]string{"Range": "bytes=17-900000"}, wantStatus: 206, wantFrom: 17, wantTo: 900001},
		{name: "range-suffix", file: "1048577", length: -1, reqHdr: map[string]string{"Range": "bytes=-500"}, wantStatus: 206, wantFrom: big - 500, wantTo: big},
		{name: "range-suffix-longer", file: "255", length: -1, reqHdr: map[string]string{"Range": "bytes=-1000"}, wantStatus: 206, wantTo: 255,
			wantHdr: map[string]string{"Content-Range": "bytes 0-254/255"}},
		{name: "range-open", file: "1048577", length: -1, reqHdr: map[string]string{"Range": "bytes=1000000-"}, wantStatus: 206, wantFrom: 1000000, wantTo: big},
		{name: "range-clamped", file: "8000", length: -1, reqHdr: map[string]string{"Range": "bytes=5-99999999999999999999999"}, wantStatus: 206, wantFrom: 5, wantTo: 8000},
		{name: "range-in-section", file: "1048577", offset: 1000, length: 300000, reqHdr: map[string]string{"Range": "bytes=10-20"}, wantStatus: 206, wantFrom: 1010, wantTo: 1021,
			wantHdr: map[string]string{"Content-Range": "bytes 10-20/300000"}},
		{name: "range-head", file: "1048577", length: -1, method: "HEAD", reqHdr: map[string]string{"Range": "bytes=10-20"}, wantStatus: 206,
			wantHdr: map[string]string{"Content-Length": "11", "Content-Range": "bytes 10-20/1048577"}},
		{name: "range-unsatisfiable", file: "8000", length: -1, reqHdr: map[string]string{"Range": "bytes=8000-"}, wantStatus: 416,
			wantHdr: map[string]string{"Content-Range": "bytes */8000"}},
		{name: "range-unsatisfiable-suffix", file: "8000", length: -1, reqHdr: map[string]string{"Range": "bytes=-0"}, wantStatus: 416},
		{name: "range-multiple-ignored", file: "8000", length: -1, reqHdr: map[string]string{"Range": "bytes=0-1,5-6"}, wantStatus: 200, wantTo: 8000},
		{name: "range-malformed-ignored", file: "8000", length: -1, reqHdr: map[string]string{"Range": "bytes=x-1"}, wantStatus: 200, wantTo: 8000},
		{name: "range-other-unit-ignored", file: "8000", length: -1, reqHdr: map[string]string{"Range": "items=0-1"}, wantStatus: 200, wantTo: 8000},
		{name: "range-empty-file", file: "0", length: -1, reqHdr: map[string]string{"Range": "bytes=0-"}, wantStatus: 200},
		{name: "range-not-for-404", file: "8000", length: -1, status: 404, reqHdr: map[string]string{"Range": "bytes=0-1"}, wantStatus: 404, wantTo: 8000,
			wantHdr: map[string]string{"Accept-Ranges": "", "Content-Range": ""}},
		{name: "range-not-for-post", file: "8000", length: -1, method: "POST", reqHdr: map[string]string{"Range": "bytes=0-1"}, wantStatus: 200, wantTo: 8000},
		{name: "range-accept-none", file: "8000", length: -1, preset: map[string]string{"Accept-Ranges": "none"}, reqHdr: map[string]string{"Range": "bytes=0-1"}, wantStatus: 200, wantTo: 8000},
		{name: "if-range-etag-match", file: "1048577", length: -1, preset: map[string]string{"Etag": `"v1"`},
			reqHdr: map[string]string{"Range": "bytes=100-", "If-Range": `"v1"`}, wantStatus: 206, wantFrom: 100, wantTo: big},
		{name: "if-range-etag-stale", file: "1048577", length: -1, preset: map[string]string{"Etag": `"v2"`},
			reqHdr: map[string]string{"Range": "bytes=100-", "If-Range": `"v1"`}, wantStatus: 200, wantTo: big},
		{name: "if-range-weak-etag", file: "8000", length: -1, preset: map[string]string{"Etag": `W/"v1"`},
			reqHdr: map[string]string{"Range": "bytes=100-", "If-Range": `W/"v1"`}, wantStatus: 200, wantTo: 8000},
		{name: "if-range-date-match", file: "8000", length: -1, preset: map[string]string{"Last-Modified": lm},
			reqHdr: map[string]string{"Range": "bytes=100-", "If-Range": lm}, wantStatus: 206, wantFrom: 100, wantTo: 8000},
		{name: "if-range-date-stale", file: "8000", length: -1, preset: map[string]string{"Last-Modified": lmLater},
			reqHdr: map[string]string{"Range": "bytes=100-", "If-Range": lm}, wantStatus: 200, wantTo: 8000},
		{name: "if-range-no-validator", file: "8000", length: -1,
			reqHdr: map[string]string{"Range": "bytes=100-", "If-Range": lm}, wantStatus: 200, wantTo: 8000},
		{name: "status-304-no-body", file: "8000", length: -1, status: 304, wantStatus: 304,
			wantHdr: map[string]string{"Content-Length": ""}},
		{name: "status-201-with-body", file: "8000", length: -1, status: 201, wantStatus: 201, wantTo: 8000},
	}...)

	byPath := map[string]sendCase{}
	for i, c := range cases {
		byPath["/"+strconv.Itoa(i)] = c
	}
	var logBuf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logBuf, nil))

	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			srv := p.server.start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c := byPath[r.URL.Path]
				f, err := os.Open(dir + "/" + c.file)
				if err != nil {
					t.Errorf("open: %v", err)
					return
				}
				defer f.Close()
				for k, v := range c.preset {
					w.Header().Set(k, v)
				}
				if p.wrap != nil {
					w = p.wrap(w)
				}
				status := c.status
				if status == 0 {
					status = 200
				}
				filewrap.Fail(w, r, logger, filewrap.Send(w, r, status, f, c.offset, c.length))
			}))
			defer srv.Close()
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					method := c.method
					if method == "" {
						method = "GET"
					}
					req, err := http.NewRequest(method, srv.URL+"/"+strconv.Itoa(i), nil)
					if err != nil {
						t.Fatal(err)
					}
					for k, v := range c.reqHdr {
						req.Header.Set(k, v)
					}
					resp, err := srv.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					if resp.ProtoMajor != p.server.proto {
						t.Errorf("protocol %s, want major %d", resp.Proto, p.server.proto)
					}
					got, n, err := sumReader(t, resp.Body)
					if err != nil {
						t.Fatalf("reading body: %v", err)
					}
					if resp.StatusCode != c.wantStatus {
						t.Errorf("status %d, want %d", resp.StatusCode, c.wantStatus)
					}
					if c.wantStatus != 416 {
						want := files[c.file][c.wantFrom:c.wantTo]
						if got != sum(want) {
							t.Errorf("body: %d bytes, sha256 %s; want %d bytes, sha256 %s", n, got, len(want), sum(want))
						}
						if cl := resp.Header.Get("Content-Length"); method != "HEAD" && c.wantStatus != 304 && cl != strconv.Itoa(len(want)) {
							t.Errorf("Content-Length %q, want %d", cl, len(want))
						}
					}
					for k, v := range c.wantHdr {
						if g := resp.Header.Get(k); g != v {
							t.Errorf("%s: %q, want %q", k, g, v)
						}
					}
				})
			}
		})
	}
	if logBuf.Len() > 0 {
		t.Errorf("unexpected log output:\n%s", logBuf.String())
	}
}

func TestSendErrorsBeforeWriting(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "f", pattern(100, 1))
	tests := []struct {
		name           string
		open           func() *os.File
		offset, length int64
		want           error // nil: any error
	}{
		{"directory", func() *os.File { f, _ := os.Open(dir); return f }, 0, -1, filewrap.ErrNotRegular},
		{"short-file", func() *os.File { f, _ := os.Open(p); return f }, 50, 51, filewrap.ErrShortFile},
		{"offset-past-end", func() *os.File { f, _ := os.Open(p); return f }, 101, 0, filewrap.ErrShortFile},
		{"negative-offset", func() *os.File { f, _ := os.Open(p); return f }, -1, 10, nil},
		{"bad-length", func() *os.File { f, _ := os.Open(p); return f }, 0, -2, nil},
		{"nil-file", func() *os.File { return nil }, 0, -1, nil},
		{"informational-status", func() *os.File { f, _ := os.Open(p); return f }, 0, -1, nil},
		{"closed-file", func() *os.File { f, _ := os.Open(p); f.Close(); return f }, 0, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.open()
			if f != nil {
				defer f.Close()
			}
			rec := newRecorder()
			r, _ := http.NewRequest("GET", "/", nil)
			status := 200
			if tt.name == "informational-status" {
				status = 103
			}
			err := filewrap.Send(rec, r, status, f, tt.offset, tt.length)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || errors.Is(err, filewrap.ErrIncomplete) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "filewrap: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if rec.wrote {
				t.Error("Send wrote a header before failing")
			}
			var logBuf bytes.Buffer
			filewrap.Fail(rec, r, slog.New(slog.NewTextHandler(&logBuf, nil)), err)
			if rec.status != 500 || !strings.Contains(logBuf.String(), "filewrap") {
				t.Errorf("Fail: status %d, log %q", rec.status, logBuf.String())
			}
		})
	}
}

// recorder is a minimal ResponseWriter that notes whether a header was
// written.
type recorder struct {
	h      http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(200)
	return r.body.Write(p)
}

var _ io.Writer = (*recorder)(nil)
