package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// xsendfileApp answers as Trac's send_file with [trac] use_xsendfile.
const xsendfileApp = `import os
def application(environ, start_response):
    path = environ['QUERY_STRING']
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '0'),
                              ('X-Sendfile', path), ('Connection', 'close')])
    return [b'']
`

// TestXSendfilePathFlag: -xsendfile-path, repeated, lets the application
// send files under either directory and no other; without the flag the
// header is dropped.
func TestXSendfilePathFlag(t *testing.T) {
	base := t.TempDir()
	var dirs []string
	for _, d := range []string{"a", "b", "private"} {
		dirs = append(dirs, filepath.Join(base, d))
		if err := os.Mkdir(dirs[len(dirs)-1], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, d, "f.txt"), []byte("file in "+d+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := testenv.WriteFile(t, "", "xsendfile.wsgi", xsendfileApp)
	addr := startChild(t, childOpts{}, "-python", testenv.Python(t), "-xsendfile-path", dirs[0], "-xsendfile-path", dirs[1], script).addr
	var closed bool // the last response closed its connection
	get := func(addr, path string) (int, string, http.Header) {
		resp, body := do(t, http.DefaultClient, "GET", "http://"+addr+"/?"+path, "")
		closed = resp.Close
		return resp.StatusCode, body, resp.Header
	}
	for _, d := range []string{"a", "b"} {
		status, body, hdr := get(addr, filepath.Join(base, d, "f.txt"))
		if status != 200 || body != "file in "+d+"\n" || hdr.Get("X-Sendfile") != "" || !closed {
			t.Errorf("%s: %d %q %v", d, status, body, hdr)
		}
	}
	if status, body, hdr := get(addr, filepath.Join(base, "private", "f.txt")); status != 403 || strings.Contains(body, "private") || !closed {
		t.Errorf("outside: %d %q %v, want 403 with the application's Connection: close", status, body, hdr)
	}

	plain := startChild(t, childOpts{}, "-python", testenv.Python(t), script).addr
	if status, body, hdr := get(plain, filepath.Join(base, "a", "f.txt")); status != 200 || body != "" || hdr.Get("X-Sendfile") != "" {
		t.Errorf("without the flag: %d %q %v", status, body, hdr)
	}

	var out strings.Builder
	if code := run([]string{"-allow-root", "-xsendfile-path", filepath.Join(base, "none"), script}, &out); code != 1 || !strings.Contains(out.String(), "XSendFilePath") {
		t.Errorf("missing directory: exit %d: %s", code, out.String())
	}
}
