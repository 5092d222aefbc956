package prefix

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// envTree makes a parent directory with environments alpha and beta, a
// hidden one, a plain file, a link inside the parent and a link outside it.
func envTree(t *testing.T) (parent, outside string) {
	t.Helper()
	root := t.TempDir()
	parent = filepath.Join(root, "projects")
	outside = filepath.Join(root, "secret")
	for _, d := range []string{"alpha", "beta", ".hidden", "caf\u00e9"} {
		if err := os.MkdirAll(filepath.Join(parent, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("alpha", filepath.Join(parent, "inside")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(parent, "out")); err != nil {
		t.Fatal(err)
	}
	return parent, outside
}

func TestEnvironments(t *testing.T) {
	parent, outside := envTree(t)
	tests := []struct {
		name     string
		cfg      EnvConfig
		target   string
		code     int
		script   string
		pathInfo string
		env      string // expected trac.env_path (or -Key), "" for none
	}{
		{"env root", EnvConfig{Mount: "/trac"}, "/trac/alpha", 200, "/trac/alpha", "", parent + "/alpha"},
		{"env slash", EnvConfig{Mount: "/trac"}, "/trac/alpha/", 200, "/trac/alpha", "/", parent + "/alpha"},
		{"env page", EnvConfig{Mount: "/trac"}, "/trac/beta/wiki/Start", 200, "/trac/beta", "/wiki/Start", parent + "/beta"},
		{"env login", EnvConfig{Mount: "/trac"}, "/trac/beta/login", 200, "/trac/beta", "/login", parent + "/beta"},
		{"dot segments", EnvConfig{Mount: "/trac"}, "/trac/./x/../alpha//login", 200, "/trac/alpha", "/login", parent + "/alpha"},
		{"escaped name", EnvConfig{Mount: "/trac"}, "/trac/%61lpha/login", 200, "/trac/alpha", "/login", parent + "/alpha"},
		{"utf-8 name", EnvConfig{Mount: "/trac"}, "/trac/caf%C3%A9/", 200, "/trac/caf\u00e9", "/", parent + "/caf\u00e9"},
		{"root mount", EnvConfig{}, "/alpha/x", 200, "/alpha", "/x", parent + "/alpha"},
		{"custom key", EnvConfig{Mount: "/trac", Key: "my.env"}, "/trac/alpha/x", 200, "/trac/alpha", "/x", parent + "/alpha"},
		{"link inside", EnvConfig{Mount: "/trac"}, "/trac/inside/x", 200, "/trac/inside", "/x", parent + "/inside"},
		{"link outside allowed", EnvConfig{Mount: "/trac", AllowSymlinksOut: true}, "/trac/out/x", 200, "/trac/out", "/x", parent + "/out"},
		{"link outside", EnvConfig{Mount: "/trac"}, "/trac/out/x", 404, "", "", ""},
		{"unknown", EnvConfig{Mount: "/trac"}, "/trac/gamma/login", 404, "", "", ""},
		{"case differs", EnvConfig{Mount: "/trac"}, "/trac/Alpha/login", 404, "", "", ""},
		{"hidden", EnvConfig{Mount: "/trac"}, "/trac/.hidden/login", 404, "", "", ""},
		{"file", EnvConfig{Mount: "/trac"}, "/trac/file/login", 404, "", "", ""},
		{"dotdot", EnvConfig{Mount: "/trac"}, "/trac/../secret", 404, "", "", ""},
		{"escaped dotdot", EnvConfig{Mount: "/trac"}, "/trac/%2e%2e/secret/", 404, "", "", ""},
		{"encoded slash", EnvConfig{Mount: "/trac"}, "/trac/alpha%2Flogin", 404, "", "", ""},
		{"outside mount", EnvConfig{Mount: "/trac"}, "/tracker/alpha", 404, "", "", ""},
		{"pass index", EnvConfig{Mount: "/trac", PassIndex: true}, "/trac/", 200, "/trac", "/", parent},
		{"pass index bare", EnvConfig{Mount: "/trac", PassIndex: true, ParentKey: "p"}, "/trac", 200, "/trac", "", parent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.ParentDir = parent
			mw, err := NewEnvironments(cfg)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			mw(mountEcho).ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d", rec.Code, tt.code)
			}
			if tt.code != 200 {
				if strings.Contains(rec.Body.String(), outside) {
					t.Fatal("response names the outside directory")
				}
				return
			}
			if sn, pi := rec.Header().Get("X-Script-Name"), rec.Header().Get("X-Path-Info"); sn != tt.script || pi != tt.pathInfo {
				t.Fatalf("SCRIPT_NAME=%q PATH_INFO=%q, want %q %q", sn, pi, tt.script, tt.pathInfo)
			}
			key := cfg.Key
			if key == "" {
				key = "trac.env_path"
			}
			if cfg.PassIndex {
				key = cfg.ParentKey
				if key == "" {
					key = "trac.env_parent_dir"
				}
			}
			if got := rec.Header().Get("X-Env-" + key); got != tt.env {
				t.Fatalf("%s = %q, want %q (headers %v)", key, got, tt.env, rec.Header())
			}
		})
	}
}

func TestEnvironmentsIndexAndNewDirectories(t *testing.T) {
	parent, _ := envTree(t)
	mw, err := NewEnvironments(EnvConfig{Mount: "/trac", ParentDir: parent})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw(mountEcho))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/trac/")
	if code != 200 {
		t.Fatalf("index: %d", code)
	}
	for _, want := range []string{`href="/trac/alpha/"`, `href="/trac/beta/"`, `href="/trac/inside/"`, `href="/trac/caf%C3%A9/"`} {
		if !strings.Contains(body, want) {
			t.Errorf("index lacks %s:\n%s", want, body)
		}
	}
	for _, bad := range []string{"hidden", "out/", "file", "secret"} {
		if strings.Contains(body, bad) {
			t.Errorf("index lists %q:\n%s", bad, body)
		}
	}
	if code, _ := get("/trac/gamma/"); code != 404 {
		t.Fatalf("gamma before creation: %d", code)
	}
	if err := os.Mkdir(filepath.Join(parent, "gamma"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _ := get("/trac/gamma/"); code != 200 {
		t.Fatalf("gamma after creation: %d, want 200 without a restart", code)
	}
	if _, body := get("/trac"); !strings.Contains(body, `href="/trac/gamma/"`) {
		t.Fatalf("index lacks the new environment:\n%s", body)
	}
	resp, err := http.Post(srv.URL+"/trac/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST index: %d", resp.StatusCode)
	}
}

func TestEnvironmentsConfigErrors(t *testing.T) {
	parent, _ := envTree(t)
	tests := map[string]EnvConfig{
		"no parent":      {Mount: "/trac"},
		"missing parent": {Mount: "/trac", ParentDir: filepath.Join(parent, "nope")},
		"file parent":    {Mount: "/trac", ParentDir: filepath.Join(parent, "file")},
		"bad mount":      {Mount: "/a/../b", ParentDir: parent},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := NewEnvironments(cfg); err == nil || !strings.HasPrefix(err.Error(), "prefix: ") {
				t.Fatalf("err = %v, want a prefix: error", err)
			}
		})
	}
}
