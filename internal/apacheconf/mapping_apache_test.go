package apacheconf

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestMappingApache runs Apache with mod_wsgi on virtual hosts, mounts
// and aliases, and checks that Server and Resolve pick the script (or
// static file) Apache serves for each host and path.
func TestMappingApache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Apache")
	}
	root := t.TempDir()
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := func(name string) string {
		p := filepath.Join(root, name+".wsgi")
		src := "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'" + name + "']\n"
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	static := filepath.Join(root, "static")
	if err := os.Mkdir(static, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(static, "s.txt"), []byte("static"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := "WSGIScriptAlias /main " + script("main") + "\n" +
		"Alias /static " + static + "\n" +
		"<Directory " + root + ">\nRequire all granted\n</Directory>\n" +
		"<VirtualHost *>\n  ServerName a.example.com\n  WSGIScriptAlias / " + script("a") + "\n</VirtualHost>\n" +
		"<VirtualHost *>\n  ServerName b.example.com\n  ServerAlias *.b.example.com\n" +
		"  Alias /b2/static " + static + "\n" +
		"  WSGIScriptAlias /b2 " + script("b2") + "\n  WSGIScriptAlias / " + script("b") + "\n</VirtualHost>\n" +
		"<VirtualHost *>\n  ServerName c.example.com\n  WSGIScriptAlias /c " + script("c") + "\n</VirtualHost>\n"
	c, err := parseAndCheck("t.conf", conf)
	if err != nil {
		t.Fatal(err)
	}
	h := testenv.StartHttpd(t, []string{"wsgi", "alias"}, conf)
	requests := []struct{ host, path string }{
		{"a.example.com", "/x"},
		{"a.example.com", "/main/x"},
		{"b.example.com", "/x"},
		{"x.b.example.com", "/b2/y"},
		{"b.example.com", "/b2"},
		{"b.example.com", "/b2x"},
		{"b.example.com", "/b2/static/s.txt"},
		{"c.example.com", "/c/x"},
		{"c.example.com", "/main/x"},
		{"c.example.com", "/static/s.txt"},
		{"c.example.com", "/other"},
		{"unknown.example.com", "/x"},
		{"A.EXAMPLE.COM", "/x"},
	}
	for _, r := range requests {
		e := c.Resolve(r.host, r.path, "GET")
		want := "404"
		switch {
		case e.Static != nil:
			want = "static"
		case e.Mount != nil:
			want = strings.TrimSuffix(filepath.Base(e.Mount.Script), ".wsgi")
		}
		req, err := http.NewRequest("GET", h.URL+r.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = r.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := string(body)
		if resp.StatusCode == http.StatusNotFound {
			got = "404"
		}
		if got != want {
			t.Errorf("%s%s: Apache serves %q (status %d), Resolve predicts %q", r.host, r.path, got, resp.StatusCode, want)
		}
	}
}
