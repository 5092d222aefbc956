package filewrap

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzStaticResolve feeds request targets to the path check of Static and
// verifies that whatever it accepts stays inside the root.
func FuzzStaticResolve(f *testing.F) {
	for _, s := range []string{"/a.txt", "/p/css/x.css", "/p/../etc/passwd", "/p/%2e%2e/x", "/p/..%2fx", "/p//x", "/p/.git/config", "/p/a%00b", "/p/a%5cb", "/p", "/px", "/p/dir/", "*"} {
		f.Add(s)
	}
	root := f.TempDir()
	s, err := NewStatic(StaticConfig{Root: root, Prefix: "/p"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r := &http.Request{Method: "GET", URL: u}
		name, _, ok := s.resolve(r)
		if !ok {
			return
		}
		if name == "." {
			return
		}
		for _, seg := range strings.Split(name, "/") {
			if seg == "" || seg == "." || seg == ".." || seg[0] == '.' || strings.ContainsAny(seg, "\\\x00") {
				t.Fatalf("%q resolved to %q", target, name)
			}
		}
		if j := filepath.Join(root, name); !strings.HasPrefix(j, root+"/") {
			t.Fatalf("%q resolved to %q, outside the root", target, j)
		}
	})
}
