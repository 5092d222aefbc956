package wsgi

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestStrippedPrefix checks SCRIPT_NAME and PATH_INFO behind
// http.StripPrefix without Config.ScriptName: the prefix the client sent
// and StripPrefix removed becomes SCRIPT_NAME.
func TestStrippedPrefix(t *testing.T) {
	tests := []struct {
		strip, target string // strip "" means no StripPrefix
		script, path  string
	}{
		{"", "/x/y", "", "/x/y"},
		{"/app", "/app/x", "/app", "/x"},
		{"/app", "/app", "/app", ""},
		{"/app", "/app/", "/app", "/"},
		{"/app", "/app/x?q=/x", "/app", "/x"},
		{"/app/", "/app/x", "/app", "/x"},
		{"/app/", "/app/", "/app", "/"},
		{"/a/b", "/a/b/c/d", "/a/b", "/c/d"},
		{"/app", "/app/caf%C3%A9", "/app", "/café"},
		{"/app", "/app/%63afe", "/app", "/cafe"},
		{"/caf\u00e9", "/caf%C3%A9/x", "/café", "/x"},
		{"/app", "/app//x", "/app", "//x"},
		{"/app", "http://example.com/app/x", "/app", "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.strip+" "+tt.target, func(t *testing.T) {
			var env map[string]string
			var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				env = map[string]string{}
				for _, kv := range Environ(r, nil) {
					env[kv.Name] = kv.Value
				}
			})
			if tt.strip != "" {
				h = http.StripPrefix(tt.strip, h)
			}
			// A real server, so that RequestURI is what the client sent.
			srv := httptest.NewServer(h)
			defer srv.Close()
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: example.com\r\n\r\n", tt.target)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if env == nil {
				t.Fatalf("handler not reached: %d", resp.StatusCode)
			}
			if env["SCRIPT_NAME"] != tt.script || env["PATH_INFO"] != tt.path {
				t.Fatalf("SCRIPT_NAME=%q PATH_INFO=%q, want %q %q", env["SCRIPT_NAME"], env["PATH_INFO"], tt.script, tt.path)
			}
		})
	}
	// A rewrite that leaves a tail of the original path is not a prefix
	// that was stripped.
	r := httptest.NewRequest("GET", "/x/../b", nil)
	r.URL.Path = "/b"
	sn, pi := strippedPrefix(r)
	if sn != "" || pi != "/b" {
		t.Errorf("rewritten /x/../b: SCRIPT_NAME=%q PATH_INFO=%q, want \"\" \"/b\"", sn, pi)
	}
}

const flaskURLApp = `from flask import Flask, redirect, url_for
app = Flask(__name__)

@app.route('/')
def index():
    return 'page at ' + url_for('page')

@app.route('/page')
def page():
    return 'page'

@app.route('/go')
def go():
    return redirect(url_for('page'))

application = app
`

// TestStripPrefixFlask runs a Flask application (Debian's python3-flask)
// behind http.StripPrefix without Config.ScriptName: the URLs url_for
// builds, and its redirects, carry the prefix.
func TestStripPrefixFlask(t *testing.T) {
	py := testenv.Python(t)
	testenv.PythonModule(t, py, "flask", "python3-flask")
	script := testenv.WriteFile(t, "", "flaskapp.wsgi", flaskURLApp)
	h, _ := newTestHandler(t, Config{Script: script, Python: py})
	for _, strip := range []string{"/app", "/app/"} {
		t.Run(strip, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("/app/", http.StripPrefix(strip, h))
			srv := serve(t, mux)
			if code, body := get(t, srv.URL+"/app/"); code != 200 || body != "page at /app/page" {
				t.Errorf("index: %d %q, want url_for under /app", code, body)
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Get(srv.URL + "/app/go")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "/app/page" {
				t.Errorf("redirect: %d Location %q, want 302 /app/page", resp.StatusCode, loc)
			}
		})
	}
}

// FuzzStrippedPrefix derives SCRIPT_NAME from any request target behind
// http.StripPrefix with any prefix: it must never panic, and what it
// returns must be a clean absolute SCRIPT_NAME that starts the path the
// client sent, with a PATH_INFO that ends it.
func FuzzStrippedPrefix(f *testing.F) {
	for _, s := range [][2]string{
		{"/app", "/app/x"}, {"/app/", "/app/"}, {"/app", "/app//x"}, {"/app", "/x/../app/x"},
		{"/app", "http://h/app/x?q"}, {"/caf\u00e9", "/caf%C3%A9/x"}, {"/a", "/a%2Fb"}, {"/", "//x"},
		{"/app", "*"}, {"/app", "/app%zz"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, strip, target string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")))
		if err != nil {
			return
		}
		orig, err := url.PathUnescape(req.URL.EscapedPath())
		if err != nil {
			return
		}
		http.StripPrefix(strip, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sn, pi := strippedPrefix(r)
			if sn == "" {
				if pi != r.URL.Path {
					t.Fatalf("no SCRIPT_NAME but PATH_INFO %q for path %q", pi, r.URL.Path)
				}
				return
			}
			if sn[0] != '/' || path.Clean(sn) != sn || pi != "" && pi[0] != '/' {
				t.Fatalf("target %q strip %q: SCRIPT_NAME %q PATH_INFO %q", target, strip, sn, pi)
			}
			if !strings.HasPrefix(orig, sn) || !strings.HasSuffix(orig, pi) {
				t.Fatalf("target %q strip %q: SCRIPT_NAME %q and PATH_INFO %q do not frame %q", target, strip, sn, pi, orig)
			}
		})).ServeHTTP(httptest.NewRecorder(), req)
	})
}
