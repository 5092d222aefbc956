package prefix

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// mountEcho reports the mount and environ recorded for the request.
var mountEcho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	rec := reqinfo.FromContext(r.Context())
	m, ok := rec.Mount()
	if !ok {
		http.Error(w, "no mount", http.StatusTeapot)
		return
	}
	w.Header().Set("X-Script-Name", m.ScriptName)
	w.Header().Set("X-Path-Info", m.PathInfo)
	w.Header().Set("X-Path", r.URL.Path)
	for _, v := range rec.Environ() {
		w.Header().Set("X-Env-"+v.Name, v.Value)
	}
})

func TestCleanPrefix(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"/", "", true},
		{"/trac", "/trac", true},
		{"/trac/", "/trac", true},
		{"/a/b", "/a/b", true},
		{"trac", "", false},
		{"//trac", "", false},
		{"/trac//", "", false},
		{"/a/../b", "", false},
		{"/a/./b", "", false},
		{"/tr%61c", "", false},
		{"/a%2Fb", "", false},
		{"/a\\b", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CleanPrefix(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("CleanPrefix(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestMount(t *testing.T) {
	tests := []struct {
		mount, target string
		code          int
		scriptName    string
		pathInfo      string
	}{
		{"/trac", "/trac", 200, "/trac", ""},
		{"/trac", "/trac/", 200, "/trac", "/"},
		{"/trac", "/trac/wiki/Start", 200, "/trac", "/wiki/Start"},
		{"/trac", "/trac//wiki/./Start", 200, "/trac", "/wiki/Start"},
		{"/trac", "/%74rac/wiki", 200, "/trac", "/wiki"},
		{"/trac", "/trac/caf%C3%A9", 200, "/trac", "/café"},
		{"/trac", "/tracker", 404, "", ""},
		{"/trac", "/Trac", 404, "", ""},
		{"/trac", "/", 404, "", ""},
		{"/trac", "/trac/../etc", 404, "", ""},
		{"/trac", "/trac/%2e%2e/x", 404, "", ""},
		{"/trac", "/trac%2Fx", 404, "", ""},
		{"/a/b", "/a/b/c", 200, "/a/b", "/c"},
		{"/a/b", "/a/bc", 404, "", ""},
		{"", "/", 200, "", "/"},
		{"", "/wiki", 200, "", "/wiki"},
		// As a user writes them: "/" is the root, a trailing slash is dropped.
		{"/", "/", 200, "", "/"},
		{"/", "/wiki", 200, "", "/wiki"},
		{"/app/", "/app/x", 200, "/app", "/x"},
		{"/app/", "/app", 200, "/app", ""},
		{"/app/", "/apple", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.mount+" "+tt.target, func(t *testing.T) {
			h := MustMount(tt.mount)(mountEcho)
			req := httptest.NewRequest("GET", tt.target, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d", rec.Code, tt.code)
			}
			if tt.code != 200 {
				return
			}
			if sn, pi := rec.Header().Get("X-Script-Name"), rec.Header().Get("X-Path-Info"); sn != tt.scriptName || pi != tt.pathInfo {
				t.Fatalf("SCRIPT_NAME=%q PATH_INFO=%q, want %q %q", sn, pi, tt.scriptName, tt.pathInfo)
			}
			if got := rec.Header().Get("X-Path"); got != tt.scriptName+tt.pathInfo {
				t.Fatalf("URL.Path %q, want the whole canonical path %q", got, tt.scriptName+tt.pathInfo)
			}
			if reqinfo.FromContext(req.Context()) != nil {
				t.Fatal("incoming request's context was changed")
			}
		})
	}
}

func TestMountRefusesBadPrefix(t *testing.T) {
	for _, p := range []string{"trac", "/a/../b", "/a//b", "/tr%61c"} {
		t.Run(p, func(t *testing.T) {
			if mw, err := NewMount(p); err == nil || mw != nil || !strings.HasPrefix(err.Error(), "prefix: ") {
				t.Fatalf("NewMount(%q) = %v, %v; want a prefix: error", p, mw != nil, err)
			}
			defer func() {
				if recover() == nil {
					t.Fatal("MustMount did not panic")
				}
			}()
			MustMount(p)
		})
	}
}
