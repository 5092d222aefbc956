package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// environApp answers with what package wsgi would put in the environ:
// SCRIPT_NAME|PATH_INFO|trac.env_path|REMOTE_USER.
var environApp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	rec := reqinfo.FromContext(r.Context())
	m, ok := rec.Mount()
	if !ok {
		http.Error(w, "no mount", http.StatusInternalServerError)
		return
	}
	env := ""
	for _, v := range rec.Environ() {
		env += v.Name + "=" + v.Value
	}
	name := ""
	if u := rec.User(); u != nil {
		name = u.Name
	}
	io.WriteString(w, m.ScriptName+"|"+m.PathInfo+"|"+env+"|"+name)
})

// projectsDir makes a parent directory with the projects alpha and beta.
func projectsDir(t *testing.T) string {
	t.Helper()
	parent := filepath.Join(t.TempDir(), "projects")
	for _, d := range []string{"alpha", "beta", ".hidden"} {
		if err := os.MkdirAll(filepath.Join(parent, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return parent
}

func TestMountLayers(t *testing.T) {
	parent := projectsDir(t)
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	testenv.Htpasswd(t, htpasswd, "alice", "pw", "-B", "-C", "4")
	guardedEnvs := []string{"-mount", "/trac/", "-env-parent-dir", parent, "-htpasswd", htpasswd, "-auth-location", "/trac/[^/]+/login"}
	alice := basicAuth("alice", "pw")
	tests := []struct {
		name   string
		args   []string
		target string
		host   string
		authz  string
		code   int
		body   string
	}{
		{"root mount", nil, "/wiki//x", "", "", 200, "|/wiki/x||"},
		{"mount", []string{"-mount", "/trac"}, "/trac/./wiki", "", "", 200, "/trac|/wiki||"},
		{"outside mount", []string{"-mount", "/trac"}, "/tracker", "", "", 404, ""},
		{"encoded slash", []string{"-mount", "/trac"}, "/trac%2Fwiki", "", "", 404, ""},
		{"escapes root", nil, "/a/../../x", "", "", 400, ""},
		{"env", guardedEnvs, "/trac/alpha/wiki", "", "", 200, "/trac/alpha|/wiki|trac.env_path=" + parent + "/alpha|"},
		{"env key", []string{"-mount", "/trac", "-env-parent-dir", parent, "-env-key", "my.env"}, "/trac/beta/", "", "", 200, "/trac/beta|/|my.env=" + parent + "/beta|"},
		{"env login anonymous", guardedEnvs, "/trac/alpha/login", "", "", 401, ""},
		{"env login dot", guardedEnvs, "/trac/alpha/./login", "", "", 401, ""},
		{"env login escape", guardedEnvs, "/trac/beta/%6Cogin", "", "", 401, ""},
		{"env login slashes", guardedEnvs, "//trac//beta//login", "", "", 401, ""},
		{"env login alice", guardedEnvs, "/trac/beta//login", "", alice, 200, "/trac/beta|/login|trac.env_path=" + parent + "/beta|alice"},
		{"env unknown", guardedEnvs, "/trac/gamma/wiki", "", "", 404, ""},
		{"env hidden", guardedEnvs, "/trac/.hidden/wiki", "", "", 404, ""},
		{"vhost", []string{"-vhost", "trac.example.com", "-vhost", "*.example.org"}, "/x", "TRAC.example.com:8000", "", 200, "|/x||"},
		{"vhost wildcard", []string{"-vhost", "trac.example.com", "-vhost", "*.example.org"}, "/x", "a.example.org", "", 200, "|/x||"},
		{"vhost other", []string{"-vhost", "trac.example.com"}, "/x", "example.net", "", 421, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := chainFromArgs(t, environApp, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", tt.target, nil)
			if tt.host != "" {
				req.Host = tt.host
			}
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code || tt.code == 200 && rec.Body.String() != tt.body {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.code, tt.body)
			}
		})
	}
}

func TestMountLayersConfigErrors(t *testing.T) {
	parent := projectsDir(t)
	tests := map[string][]string{
		"relative mount":  {"-mount", "trac"},
		"dotted mount":    {"-mount", "/a/../trac"},
		"missing parent":  {"-env-parent-dir", filepath.Join(parent, "nope")},
		"bad vhost":       {"-vhost", "bad host"},
		"vhost with port": {"-vhost", "example.com:80"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := chainFromArgs(t, environApp, args...); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// rawGet sends one GET with target written as is and returns the status
// and body.
func rawGet(t *testing.T, addr, target, authz string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	req := "GET " + target + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n"
	if authz != "" {
		req += "Authorization: " + authz + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEnvironmentsEndToEnd is the multi-project deployment of Trac's mod_wsgi guide served by
// the gowsgi command: a parent directory with two Trac-like environments
// under /trac, real Python workers, each project's login guarded by
// -auth-location "/trac/[^/]+/login" with an htpasswd file made by Apache's
// htpasswd, and each request seeing its own trac.env_path.
func TestEnvironmentsEndToEnd(t *testing.T) {
	py := testenv.Python(t)
	parent := projectsDir(t)
	htpasswd := filepath.Join(t.TempDir(), "trac.htpasswd")
	testenv.Htpasswd(t, htpasswd, "alice", "pw", "-B", "-C", "4")
	script := testenv.WriteFile(t, "", "trac.wsgi", `
import re
def application(environ, start_response):
    pi = environ.get("PATH_INFO", "")
    route = "login" if re.match(r"/login/?$", pi) else "other"
    body = "|".join([environ.get("SCRIPT_NAME", ""), pi, environ.get("trac.env_path", "-"),
                     environ.get("REMOTE_USER", "-"), route])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode("latin-1")]
`)
	addr := startChild(t, childOpts{}, "-python", py, "-processes", "1", "-threads", "2",
		"-mount", "/trac", "-env-parent-dir", parent,
		"-htpasswd", htpasswd, "-realm", "Trac", "-auth-location", "/trac/[^/]+/login",
		script).addr
	alice := basicAuth("alice", "pw")
	alpha, beta := filepath.Join(parent, "alpha"), filepath.Join(parent, "beta")
	tests := []struct {
		target, authz string
		code          int
		body          string
	}{
		{"/trac/alpha/wiki", "", 200, "/trac/alpha|/wiki|" + alpha + "|-|other"},
		{"/trac/beta/wiki/Start", "", 200, "/trac/beta|/wiki/Start|" + beta + "|-|other"},
		{"/trac/alpha/login", "", 401, ""},
		{"/trac/beta/login", "", 401, ""},
		{"/trac/alpha//login", "", 401, ""},
		{"/trac/alpha/./login/", "", 401, ""},
		{"/trac/beta/%6Cogin", "", 401, ""},
		{"/trac/beta/x/../login", "", 401, ""},
		{"/trac/alpha/login;x", "", 401, ""},
		{"/trac/alpha%2Flogin", "", 404, ""},
		{"/trac/alpha/log%00in", "", 400, ""},
		{"/trac/alpha/login", basicAuth("alice", "bad"), 401, ""},
		{"/trac/alpha/login", alice, 200, "/trac/alpha|/login|" + alpha + "|alice|login"},
		{"/trac/beta//./login", alice, 200, "/trac/beta|/login|" + beta + "|alice|login"},
		{"/trac/gamma/wiki", "", 404, ""},
		{"/trac/.hidden/wiki", "", 404, ""},
		{"/tracker/alpha/wiki", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.target+" "+tt.authz, func(t *testing.T) {
			code, body := rawGet(t, addr, tt.target, tt.authz)
			if code != tt.code || tt.code == 200 && body != tt.body {
				t.Fatalf("got %d %q, want %d %q", code, body, tt.code, tt.body)
			}
		})
	}
	t.Run("index and a new environment without restart", func(t *testing.T) {
		code, body := rawGet(t, addr, "/trac/", "")
		if code != 200 || !strings.Contains(body, `href="/trac/alpha/"`) || !strings.Contains(body, `href="/trac/beta/"`) || strings.Contains(body, "hidden") {
			t.Fatalf("index: %d %q", code, body)
		}
		if err := os.Mkdir(filepath.Join(parent, "gamma"), 0o755); err != nil {
			t.Fatal(err)
		}
		want := "/trac/gamma|/wiki|" + filepath.Join(parent, "gamma") + "|-|other"
		if code, body := rawGet(t, addr, "/trac/gamma/wiki", ""); code != 200 || body != want {
			t.Fatalf("new environment: %d %q, want %q", code, body, want)
		}
		if code, _ := rawGet(t, addr, "/trac/gamma/login", ""); code != 401 {
			t.Fatalf("new environment's login: %d, want 401", code)
		}
	})
}

func TestEdgeGivesARequestID(t *testing.T) {
	var got string
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = reqinfo.FromContext(r.Context()).ID() })
	h, err := chainFromArgs(t, app)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	first := got
	if len(first) < 9 || strings.Trim(first, "0123456789abcdef") != "" {
		t.Fatalf("request id %q, want hex digits", first)
	}
	if sent := rec.Header().Get("X-Request-ID"); sent != first {
		t.Fatalf("X-Request-ID %q, want the record's id %q", sent, first)
	}
	// An incoming id is not trusted: the client cannot choose the id its
	// requests are logged under.
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("X-Request-ID", "chosen-by-client")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got == first || got == "chosen-by-client" {
		t.Fatalf("second request got id %q (first %q)", got, first)
	}
}
