package wsgi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

func TestResponseRules(t *testing.T) {
	h, logs := newTestHandler(t, Config{Processes: 1, Threads: 2})
	srv := serve(t, h)
	tests := []struct {
		name, method, path string
		status             int
		body               string // checked when not ""
		log                string // a log line must contain it
		brokenBody         bool   // the body must end in an error
		header             map[string]string
	}{
		{name: "exception", path: "/raise", status: 500, body: "Internal Server Error\n", log: "boom from the app"},
		{name: "exception after headers", path: "/raise-after", status: 200, brokenBody: true, log: "boom after headers"},
		{name: "start_response twice", path: "/start-twice", status: 500, log: "second time"},
		{name: "exc_info replaces the status", path: "/exc-info", status: 500, body: "recovered"},
		{name: "hop-by-hop header dropped", path: "/hop", status: 200, body: "x", log: "hop-by-hop header from the application dropped"},
		{name: "status without reason", path: "/badstatus?s=200", status: 500, log: "bad status"},
		{name: "status not a number", path: "/badstatus?s=abc+def", status: 500, log: "bad status"},
		{name: "informational status", path: "/badstatus?s=100+Continue", status: 500, log: "informational"},
		{name: "bad header name", path: "/badname", status: 500, log: "bad header name"},
		{name: "CRLF in a header value", path: "/crlf", status: 500, log: "control character"},
		{name: "non-latin-1 header", path: "/nonlatin", status: 500, log: "latin-1"},
		{name: "more than Content-Length", path: "/cl-over", status: 200, body: "01234", header: map[string]string{"Content-Length": "5"}},
		{name: "application status", path: "/status?s=404+Not+Found", status: 404, body: "status"},
		{name: "write callable", path: "/write", status: 200, body: "written then returned"},
		{name: "HEAD streams nothing", method: "HEAD", path: "/stream?n=3&size=8", status: 200, body: "-"},
		{name: "wsgi.errors", path: "/errors", status: 200, body: "logged", log: "line one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.method
			if m == "" {
				m = "GET"
			}
			req, _ := http.NewRequest(m, srv.URL+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d (body %q)", resp.StatusCode, tc.status, b)
			}
			if tc.brokenBody != (rerr != nil) {
				t.Errorf("body error %v, want broken=%v (body %q)", rerr, tc.brokenBody, b)
			}
			if tc.body == "-" && len(b) != 0 || tc.body != "" && tc.body != "-" && string(b) != tc.body {
				t.Errorf("body %q, want %q", b, tc.body)
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tc.log != "" && !waitFor(func() bool { return contains(logs.String(), tc.log) }) {
				t.Errorf("log lacks %q:\n%s", tc.log, logs.String())
			}
		})
	}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// TestClientDisconnect: a client that goes away mid-response stops the
// iteration and close() is called; the worker then serves the next request.
func TestClientDisconnect(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 1, Threads: 1})
	srv := serve(t, h)
	marker := filepath.Join(t.TempDir(), "closed")
	resp, err := http.Get(srv.URL + "/stream?n=100000&size=65536&delay=0.001&marker=" + marker)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 200000)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !waitFor(func() bool { _, err := os.Stat(marker); return err == nil }) {
		t.Fatal("close() was not called after the client went away")
	}
	if code, body := get(t, srv.URL+"/hello"); code != 200 || body != "Hello, World!\n" {
		t.Fatalf("next request: %d %q", code, body)
	}
}

// TestSeparateEnvironments: two handlers, two scripts (each setting
// os.environ['TRAC_ENV'] at import, the "more elaborate script" of Trac's mod_wsgi guide), and
// two Env settings: each handler's application sees only its own.
func TestSeparateEnvironments(t *testing.T) {
	dir := t.TempDir()
	src := `import os
os.environ['TRAC_ENV'] = %q
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [os.environ['TRAC_ENV'].encode() + b' ' + os.environ.get('OTHER', '-').encode()]
`
	a := testenv.WriteFile(t, dir, "a.wsgi", sprintf(src, "/srv/trac/a"))
	b := testenv.WriteFile(t, dir, "b.wsgi", sprintf(src, "/srv/trac/b"))
	ha, _ := newTestHandler(t, Config{Script: a, Env: []string{"OTHER=one"}, Processes: 2})
	hb, _ := newTestHandler(t, Config{Script: b, Env: []string{"OTHER=two"}, Processes: 2})
	mux := http.NewServeMux()
	mux.Handle("/a/", http.StripPrefix("/a", ha))
	mux.Handle("/b/", http.StripPrefix("/b", hb))
	srv := serve(t, mux)
	for i := 0; i < 6; i++ {
		if _, body := get(t, srv.URL+"/a/"); body != "/srv/trac/a one" {
			t.Errorf("a sees %q", body)
		}
		if _, body := get(t, srv.URL+"/b/"); body != "/srv/trac/b two" {
			t.Errorf("b sees %q", body)
		}
	}
	// Same script, different Env: the process environment decides.
	c := testenv.WriteFile(t, dir, "c.wsgi", `import os
def application(environ, start_response):
    start_response('200 OK', [])
    return [os.environ.get('TRAC_ENV', '-').encode()]
`)
	hc1, _ := newTestHandler(t, Config{Script: c, Env: []string{"TRAC_ENV=/one"}})
	hc2, _ := newTestHandler(t, Config{Script: c, Env: []string{"TRAC_ENV=/two"}})
	s1, s2 := serve(t, hc1), serve(t, hc2)
	if _, body := get(t, s1.URL+"/"); body != "/one" {
		t.Errorf("handler 1 sees %q", body)
	}
	if _, body := get(t, s2.URL+"/"); body != "/two" {
		t.Errorf("handler 2 sees %q", body)
	}
}

// TestNoCrossTalk runs many requests at once over few worker connections,
// mixing plain ones, application errors and clients that leave
// mid-response: every answered request gets its own response. (Calls and
// queue places are reused once a request is over; a reuse too early would
// show here as a body of another request, or as a race under -race.)
func TestNoCrossTalk(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 2, Threads: 2})
	srv := serve(t, h)
	const clients, each = 8, 60
	// A mix-up may also show as a request that never ends.
	client := &http.Client{Timeout: 20 * time.Second}
	errc := make(chan error, clients)
	for c := 0; c < clients; c++ {
		go func() {
			errc <- func() error {
				for i := 0; i < each; i++ {
					switch i % 4 {
					case 0, 1: // a body of its own, echoed
						want := fmt.Sprintf("client %d request %d", c, i)
						resp, err := client.Post(srv.URL+"/echo", "text/plain", strings.NewReader(want))
						if err != nil {
							return err
						}
						b, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != 200 || string(b) != want {
							return fmt.Errorf("echo %q: %d %q %v", want, resp.StatusCode, b, err)
						}
					case 2: // the application fails
						resp, err := client.Get(srv.URL + "/raise")
						if err != nil {
							return err
						}
						resp.Body.Close()
						if resp.StatusCode != 500 {
							return fmt.Errorf("/raise: %d", resp.StatusCode)
						}
					case 3: // the client leaves mid-response
						ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*time.Millisecond)
						req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/stream?n=50&size=1024&delay=0.001", nil)
						if resp, err := client.Do(req); err == nil {
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
						cancel()
					}
				}
				return nil
			}()
		}()
	}
	for c := 0; c < clients; c++ {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	if code, body := get(t, srv.URL+"/hello"); code != 200 || body != "Hello, World!\n" {
		t.Fatalf("after the mix: %d %q", code, body)
	}
}
