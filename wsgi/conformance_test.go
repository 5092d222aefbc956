package wsgi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// patternReader yields n deterministic bytes.
type patternReader struct{ n, off int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n-p.off {
		b = b[:p.n-p.off]
	}
	n := 0
	for n < len(b) {
		k := int((p.off + int64(n)) % 251)
		n += copy(b[n:], patternCycle[k:])
	}
	p.off += int64(len(b))
	return len(b), nil
}

// patternCycle holds the pattern's period (251 bytes) repeated, so that a
// read is a few copies.
var patternCycle = func() []byte {
	b := make([]byte, 251*64)
	for i := range b {
		b[i] = byte(i * 7 % 251)
	}
	return b
}()

var patternSums sync.Map

func patternSum(n int64) string {
	if s, ok := patternSums.Load(n); ok {
		return s.(string)
	}
	h := sha256.New()
	io.Copy(h, &patternReader{n: n})
	s := hex.EncodeToString(h.Sum(nil))
	patternSums.Store(n, s)
	return s
}

// onlyReader hides the concrete type so net/http sends a chunked body.
type onlyReader struct{ io.Reader }

// TestConformanceValidator runs the test application wrapped in Python's
// wsgiref.validate.validator over a matrix of requests: any assertion the
// validator raises becomes a 500 and fails the test.
func TestConformanceValidator(t *testing.T) {
	script, _ := filepath.Abs("testdata/validated.wsgi")
	h, logs := newTestHandler(t, Config{Script: script, Processes: 1, Threads: 2})
	srv := serve(t, h)
	const big = 50 << 20
	tests := []struct {
		name    string
		method  string
		path    string
		header  http.Header
		body    func() io.Reader
		chunked bool
		check   func(t *testing.T, resp *http.Response, body []byte)
	}{
		{name: "GET", method: "GET", path: "/hello", check: wantBody("Hello, World!\n")},
		{name: "HEAD", method: "HEAD", path: "/hello", check: func(t *testing.T, resp *http.Response, body []byte) {
			if len(body) != 0 || resp.ContentLength != 14 {
				t.Errorf("HEAD: body %q, Content-Length %d", body, resp.ContentLength)
			}
		}},
		{name: "query escapes", method: "GET", path: "/env/caf%C3%A9?a=%20b&c=%C3%A9&d=%25", check: func(t *testing.T, resp *http.Response, body []byte) {
			env := decodeEnv(t, body)
			if env["QUERY_STRING"] != "a=%20b&c=%C3%A9&d=%25" {
				t.Errorf("QUERY_STRING %q", env["QUERY_STRING"])
			}
			if env["PATH_INFO"] != latin1("/env/café") {
				t.Errorf("PATH_INFO %q", env["PATH_INFO"])
			}
		}},
		{name: "non-ASCII query bytes", method: "GET", path: "/env?x=\xe9\xff", check: func(t *testing.T, resp *http.Response, body []byte) {
			env := decodeEnv(t, body)
			if env["QUERY_STRING"] != latin1("x=\xe9\xff") {
				t.Errorf("QUERY_STRING %q", env["QUERY_STRING"])
			}
		}},
		{name: "POST empty", method: "POST", path: "/upload", body: func() io.Reader { return strings.NewReader("") }, check: wantBody("0 " + patternSum(0))},
		{name: "POST small", method: "POST", path: "/upload?chunk=7", body: func() io.Reader { return &patternReader{n: 1000} }, check: wantBody("1000 " + patternSum(1000))},
		{name: "POST chunked", method: "POST", path: "/upload?chunk=4096", chunked: true, body: func() io.Reader { return &patternReader{n: 300000} }, check: wantBody("300000 " + patternSum(300000))},
		{name: "readline", method: "POST", path: "/lines?mode=readline&size=3", body: func() io.Reader { return strings.NewReader("ab\ncdefg\n\nh") }, check: wantBody(`["ab\n", "cde", "fg\n", "\n", "h"]`)},
		{name: "readlines", method: "POST", path: "/lines?mode=readlines", chunked: true, body: func() io.Reader { return strings.NewReader("one\ntwo\nthree") }, check: wantBody(`["one\n", "two\n", "three"]`)},
		{name: "iterate input", method: "POST", path: "/lines?mode=iter", body: func() io.Reader { return strings.NewReader("x\ny\n") }, check: wantBody(`["x\n", "y\n"]`)},
		{name: "repeated headers", method: "GET", path: "/env", header: http.Header{"X-Rep": {"a", "b"}, "Cookie": {"c=1", "d=2"}}, check: func(t *testing.T, resp *http.Response, body []byte) {
			env := decodeEnv(t, body)
			if env["HTTP_X_REP"] != "a, b" || env["HTTP_COOKIE"] != "c=1; d=2" {
				t.Errorf("HTTP_X_REP %q HTTP_COOKIE %q", env["HTTP_X_REP"], env["HTTP_COOKIE"])
			}
		}},
		{name: "large header", method: "GET", path: "/env", header: http.Header{"X-Big": {strings.Repeat("v", 60000)}}, check: func(t *testing.T, resp *http.Response, body []byte) {
			if env := decodeEnv(t, body); len(env["HTTP_X_BIG"]) != 60000 {
				t.Errorf("HTTP_X_BIG of %d bytes", len(env["HTTP_X_BIG"]))
			}
		}},
		{name: "write callable", method: "GET", path: "/write", check: wantBody("written then returned")},
		{name: "exc_info", method: "GET", path: "/exc-info", check: func(t *testing.T, resp *http.Response, body []byte) {
			if resp.StatusCode != 500 || string(body) != "recovered" {
				t.Errorf("got %d %q", resp.StatusCode, body)
			}
		}},
		{name: "50 MB upload", method: "POST", path: "/upload?chunk=1048576", body: func() io.Reader { return &patternReader{n: big} }, check: wantBody(fmt.Sprintf("%d %s", big, patternSum(big)))},
		{name: "50 MB chunked upload", method: "POST", path: "/upload?chunk=65536", chunked: true, body: func() io.Reader { return &patternReader{n: big} }, check: wantBody(fmt.Sprintf("%d %s", big, patternSum(big)))},
		{name: "50 MB streamed response", method: "GET", path: "/stream?n=50&size=1048576", check: func(t *testing.T, resp *http.Response, body []byte) {
			if len(body) != big {
				t.Fatalf("got %d bytes", len(body))
			}
			var want bytes.Buffer
			for i := 0; i < 50; i++ {
				want.Write(bytes.Repeat([]byte(fmt.Sprintf("%08d", i)), 1<<20/8))
			}
			if !bytes.Equal(body, want.Bytes()) {
				t.Error("streamed body differs")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != nil {
				body = tc.body()
				if tc.chunked {
					body = onlyReader{body}
				}
			}
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if pr, ok := body.(*patternReader); ok {
				req.ContentLength = pr.n
			}
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode == 500 && tc.name != "exc_info" {
				t.Fatalf("500: %s\nlog:\n%s", b, logs.String())
			}
			tc.check(t, resp, b)
		})
	}
	if l := logs.String(); contains(l, "AssertionError") || contains(l, "WSGIWarning") {
		t.Errorf("the validator complained:\n%s", l)
	}
}

func wantBody(want string) func(t *testing.T, resp *http.Response, body []byte) {
	return func(t *testing.T, resp *http.Response, body []byte) {
		t.Helper()
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("got %d %.200q, want 200 %.200q", resp.StatusCode, body, want)
		}
	}
}

// latin1 returns the UTF-8 form of the latin-1 string whose code points
// are the bytes of s: how Python shows a PEP 3333 native string.
func latin1(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}
