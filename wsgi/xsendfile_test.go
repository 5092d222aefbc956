package wsgi

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rawExchange sends req on a fresh TCP connection to srvURL and reads one
// response with its whole body; head is the raw header block as it came
// off the wire. It then sends a second request on the connection: closed
// reports that no response came back (the server closed the connection
// after the first), rather than one.
func rawExchange(t *testing.T, srvURL, req string) (resp *http.Response, head, body string, closed bool) {
	t.Helper()
	u, _ := url.Parse(srvURL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &raw))
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading response: %v (got %q)", err, raw.String())
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	resp.Body.Close()
	head, _, _ = strings.Cut(raw.String(), "\r\n\r\n")
	if br.Buffered() > 0 {
		t.Fatalf("bytes after the response: %q", raw.String())
	}
	_, _ = io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
	next, err := http.ReadResponse(br, nil)
	if err == nil {
		next.Body.Close()
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after the response: %v", err)
	}
	return resp, head, string(b), err != nil
}

// TestAppConnectionClose: an application's Connection: close is not an
// error (it was a 500): the response is served and the client connection
// closed after it, as gunicorn and Apache do.
func TestAppConnectionClose(t *testing.T) {
	h, logs := newTestHandler(t, Config{Processes: 1})
	srv := serve(t, h)
	resp, _, body, closed := rawExchange(t, srv.URL, "GET /hop HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 || body != "x" {
		t.Fatalf("status %d body %q, want 200 %q", resp.StatusCode, body, "x")
	}
	if !closed {
		t.Error("connection kept open after the application's Connection: close")
	}
	// Without it, the connection stays open.
	resp, _, _, closed = rawExchange(t, srv.URL, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 || closed {
		t.Errorf("hello: status %d, closed %v: want 200 on a kept connection", resp.StatusCode, closed)
	}
	// The drop is logged once per handler, at debug level.
	rawExchange(t, srv.URL, "GET /hop HTTP/1.1\r\nHost: x\r\n\r\n")
	if n := strings.Count(logs.String(), "hop-by-hop header from the application dropped"); n != 1 {
		t.Errorf("drop logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "level=DEBUG msg=\"wsgi: hop-by-hop") {
		t.Errorf("drop not logged at debug level:\n%s", logs.String())
	}
}

// TestHopByHopDropped: no hop-by-hop field from the application, nor one
// its Connection field names, reaches the client; the others do.
func TestHopByHopDropped(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1})
	srv := serve(t, h)
	resp, head, body, closed := rawExchange(t, srv.URL, "GET /hop-many HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 || body != "end to end" {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	if closed {
		t.Error("connection closed without Connection: close")
	}
	lower := strings.ToLower(head)
	for _, bad := range []string{"keep-alive", "upgrade", "transfer-encoding", "proxy-", "\r\nte:", "trailer", "x-hop-secret", "internal", "connection"} {
		if strings.Contains(lower, bad) {
			t.Errorf("%q reached the client:\n%s", bad, head)
		}
	}
	if resp.Header.Get("X-End-To-End") != "kept" || resp.ContentLength != int64(len("end to end")) {
		t.Errorf("end-to-end fields lost:\n%s", head)
	}
}

// TestHgwebPost: a response shaped as Mercurial's hgweb answers a POST
// (Connection: close, no Content-Length, a streamed body) arrives whole,
// and the connection is closed after it.
func TestHgwebPost(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, Threads: 2})
	srv := serve(t, h)
	upload := strings.Repeat("bundle data ", 1000)
	for _, te := range []string{"", "chunked"} {
		req := "POST /hg-post?cmd=unbundle&n=50 HTTP/1.1\r\nHost: x\r\nContent-Type: application/mercurial-0.1\r\n"
		if te == "" {
			req += "Content-Length: " + itoa(len(upload)) + "\r\n\r\n" + upload
		} else {
			req += "Transfer-Encoding: chunked\r\n\r\n" + strings.ToLower(strconvHex(len(upload))) + "\r\n" + upload + "\r\n0\r\n\r\n"
		}
		resp, _, body, closed := rawExchange(t, srv.URL, req)
		var want strings.Builder
		want.WriteString("1\n")
		for i := range 50 {
			want.WriteString("chunk " + itoa(i) + " of a streamed answer\n")
		}
		want.WriteString("read " + itoa(len(upload)) + "\n")
		if resp.StatusCode != 200 || body != want.String() {
			t.Fatalf("%s: status %d body %.200q", te, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/mercurial-0.1" {
			t.Errorf("Content-Type %q", ct)
		}
		if !closed {
			t.Errorf("%s: connection kept open after hgweb's Connection: close", te)
		}
	}
}

func itoa(n int) string { return sprintf("%d", n) }

func strconvHex(n int) string { return sprintf("%x", n) }

// xsendfileFixture makes a directory for XSendFilePath with a file of
// random bytes, and one outside it, with symbolic links in the directory
// to both.
type xsendfileFixture struct {
	dir, file, outside string
	data               []byte
}

func newXSendfileFixture(t *testing.T) xsendfileFixture {
	t.Helper()
	base := t.TempDir()
	fx := xsendfileFixture{dir: filepath.Join(base, "files"), data: make([]byte, 300<<10)}
	if err := os.Mkdir(fx.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(base, "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _ = rand.Read(fx.data)
	fx.file = filepath.Join(fx.dir, "attachment.bin")
	fx.outside = filepath.Join(base, "private", "secret.txt")
	for name, data := range map[string][]byte{fx.file: fx.data, fx.outside: []byte("secret\n")} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"escape": fx.outside, "inside": fx.file, "private": filepath.Join(base, "private")} {
		if err := os.Symlink(target, filepath.Join(fx.dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(fx.dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return fx
}

func xsendURL(srv, path string, extra ...string) string {
	v := url.Values{"path": {path}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return srv + "/xsendfile?" + v.Encode()
}

func doReq(t *testing.T, method, u string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, u, err)
	}
	return resp, b
}

// TestXSendFile: with XSendFilePath, X-Sendfile naming a file under it
// sends that file (sendfile, ranges, conditional requests) with the
// application's status and Content-Type; anything else is refused.
func TestXSendFile(t *testing.T) {
	fx := newXSendfileFixture(t)
	h, logs := newTestHandler(t, Config{Processes: 1, Threads: 2, XSendFilePath: []string{fx.dir}})
	srv := serve(t, h)
	sum := sha256.Sum256(fx.data)

	t.Run("whole file", func(t *testing.T) {
		resp, b := doReq(t, "GET", xsendURL(srv.URL, fx.file, "type", "application/pdf"))
		if resp.StatusCode != 200 || sha256.Sum256(b) != sum {
			t.Fatalf("status %d, %d bytes, want 200 and the file's %d", resp.StatusCode, len(b), len(fx.data))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
			t.Errorf("Content-Type %q, want the application's", ct)
		}
		if resp.ContentLength != int64(len(fx.data)) {
			t.Errorf("Content-Length %d", resp.ContentLength)
		}
		if v := resp.Header.Get("X-Sendfile"); v != "" {
			t.Errorf("X-Sendfile reached the client: %q", v)
		}
	})
	t.Run("connection kept", func(t *testing.T) {
		// A response ending short of the application's Content-Length is
		// cut; the file's own length is what counts.
		u, _ := url.Parse(xsendURL(srv.URL, fx.file, "cl", "3"))
		resp, _, body, closed := rawExchange(t, srv.URL, "GET "+u.RequestURI()+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 200 || sha256.Sum256([]byte(body)) != sum || closed {
			t.Errorf("status %d, %d bytes, closed %v", resp.StatusCode, len(body), closed)
		}
	})
	t.Run("through a link inside, and .. that stays inside", func(t *testing.T) {
		for _, p := range []string{filepath.Join(fx.dir, "inside"), fx.dir + "/private/../attachment.bin"} {
			resp, b := doReq(t, "GET", xsendURL(srv.URL, p))
			if resp.StatusCode != 200 || sha256.Sum256(b) != sum {
				t.Errorf("%s: status %d, %d bytes", p, resp.StatusCode, len(b))
			}
		}
	})
	t.Run("range", func(t *testing.T) {
		resp, b := doReq(t, "GET", xsendURL(srv.URL, fx.file), "Range", "bytes=1000-200999")
		if resp.StatusCode != 206 || !bytes.Equal(b, fx.data[1000:201000]) {
			t.Fatalf("status %d, %d bytes", resp.StatusCode, len(b))
		}
		if cr := resp.Header.Get("Content-Range"); cr != sprintf("bytes 1000-200999/%d", len(fx.data)) {
			t.Errorf("Content-Range %q", cr)
		}
	})
	t.Run("conditional", func(t *testing.T) {
		resp, _ := doReq(t, "GET", xsendURL(srv.URL, fx.file))
		etag := resp.Header.Get("Etag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		resp, b := doReq(t, "GET", xsendURL(srv.URL, fx.file), "If-None-Match", etag)
		if resp.StatusCode != 304 || len(b) != 0 {
			t.Errorf("If-None-Match: status %d, %d bytes", resp.StatusCode, len(b))
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		resp, b := doReq(t, "HEAD", xsendURL(srv.URL, fx.file))
		if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != int64(len(fx.data)) {
			t.Errorf("status %d, %d bytes, Content-Length %d", resp.StatusCode, len(b), resp.ContentLength)
		}
	})
	t.Run("application status", func(t *testing.T) {
		resp, b := doReq(t, "GET", xsendURL(srv.URL, fx.file, "status", "404 Not Found"))
		if resp.StatusCode != 404 || sha256.Sum256(b) != sum {
			t.Errorf("status %d, %d bytes", resp.StatusCode, len(b))
		}
	})
	refused := []struct {
		name, path string
		status     int
	}{
		{"outside", fx.outside, 403},
		{"link escaping", filepath.Join(fx.dir, "escape"), 403},
		{"directory link escaping", filepath.Join(fx.dir, "private", "secret.txt"), 403},
		{"dot-dot escaping", fx.dir + "/../private/secret.txt", 403},
		{"missing", filepath.Join(fx.dir, "nope.bin"), 404},
		{"missing outside", filepath.Join(filepath.Dir(fx.dir), "nope.bin"), 403},
		{"relative", "files/attachment.bin", 403},
		{"directory", fx.dir, 403},
		{"fifo", filepath.Join(fx.dir, "fifo"), 403},
		{"system file", "/etc/passwd", 403},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := doReq(t, "GET", xsendURL(srv.URL, tc.path))
			if resp.StatusCode != tc.status || bytes.Contains(b, []byte("secret")) || bytes.Contains(b, []byte("app body")) {
				t.Errorf("status %d body %q, want %d", resp.StatusCode, b, tc.status)
			}
			if resp.Header.Get("X-Sendfile") != "" {
				t.Error("X-Sendfile reached the client")
			}
		})
	}
	if n := strings.Count(logs.String(), "X-Sendfile refused"); n != len(refused) {
		t.Errorf("%d refusals logged, want %d:\n%s", n, len(refused), logs.String())
	}
	if st := h.Stats(); st.Failures["xsendfile"] != int64(len(refused)) {
		t.Errorf("Stats().Failures %v", st.Failures)
	}
	t.Run("X-Accel-Redirect still dropped", func(t *testing.T) {
		resp, b := doReq(t, "GET", xsendURL(srv.URL, "/internal/a", "h", "X-Accel-Redirect"))
		if resp.StatusCode != 200 || string(b) != "app body" || resp.Header.Get("X-Accel-Redirect") != "" {
			t.Errorf("status %d body %q header %v", resp.StatusCode, b, resp.Header)
		}
	})
}

// TestXSendFileUnconfigured: without XSendFilePath, X-Sendfile and its kin
// never reach the client (they exposed internal paths); the application's
// own body is sent and a warning logged.
func TestXSendFileUnconfigured(t *testing.T) {
	h, logs := newTestHandler(t, Config{Processes: 1})
	srv := serve(t, h)
	for _, name := range []string{"X-Sendfile", "X-Accel-Redirect", "X-Lighttpd-Send-File", "X-Sendfile2"} {
		t.Run(name, func(t *testing.T) {
			resp, b := doReq(t, "GET", xsendURL(srv.URL, "/etc/passwd", "h", name))
			if resp.StatusCode != 200 || string(b) != "app body" {
				t.Errorf("status %d body %q, want the application's", resp.StatusCode, b)
			}
			for k := range resp.Header {
				if strings.HasPrefix(strings.ToLower(k), "x-") {
					t.Errorf("%s reached the client", k)
				}
			}
		})
	}
	if n := strings.Count(logs.String(), "level=WARN"); n < 4 || !strings.Contains(logs.String(), "X-Sendfile from the application dropped") ||
		!strings.Contains(logs.String(), "header=X-Accel-Redirect") {
		t.Errorf("warnings missing:\n%s", logs.String())
	}
}

// TestXSendFilePathChecked: New refuses an XSendFilePath that is not a
// directory.
func TestXSendFilePathChecked(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, "/nonexistent/dir"} {
		_, err := New(Config{Script: testScript(t), Python: pythonForTest(t), XSendFilePath: []string{dir}})
		if err == nil || !strings.Contains(err.Error(), "XSendFilePath") {
			t.Errorf("%s: err %v", dir, err)
		}
	}
}
