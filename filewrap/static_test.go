package filewrap_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gowsgi/gowsgi/filewrap"
)

// staticTree builds a document root with the usual traps around it and
// returns the root and the directory next to it holding a secret.
func staticTree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "htdocs")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{root, outside, root + "/css", root + "/docs", root + "/.git"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		root + "/a.txt":           "file a\n",
		root + "/a b.txt":         "space\n",
		root + "/<b>.txt":         "markup\n",
		root + "/css/style.css":   "body{}\n",
		root + "/docs/index.html": "<p>docs</p>\n",
		root + "/.htaccess":       "Require all denied\n",
		root + "/.git/config":     "[core]\n",
		outside + "/secret.txt":   "secret\n",
	}
	for p, c := range files {
		writeFile(t, filepath.Dir(p), filepath.Base(p), []byte(c))
	}
	links := map[string]string{
		root + "/link-in":       "a.txt",
		root + "/css/link-up":   "../a.txt",
		root + "/link-out":      "../outside/secret.txt",
		root + "/link-abs-out":  outside + "/secret.txt",
		root + "/dirlink-out":   "../outside",
		root + "/link-loop":     "link-loop",
		root + "/link-dangling": "nothing-here",
	}
	for p, target := range links {
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, root, "big.bin", pattern(300000, 77))
	if err := syscall.Mkfifo(root+"/fifo", 0o644); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

func TestStatic(t *testing.T) {
	root, _ := staticTree(t)
	type req struct {
		method, target string
		hdr            map[string]string
		wantStatus     int
		wantBody       string // "" means not checked
		wantHdr        map[string]string
	}
	configs := []struct {
		name string
		cfg  filewrap.StaticConfig
		reqs []req
	}{
		{"defaults", filewrap.StaticConfig{Root: root, Prefix: "/chrome/site/", CacheControl: "max-age=60"}, []req{
			{"GET", "/chrome/site/a.txt", nil, 200, "file a\n", map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "max-age=60", "Content-Length": "7"}},
			{"HEAD", "/chrome/site/a.txt", nil, 200, "", map[string]string{"Content-Length": "7"}},
			{"GET", "/chrome/site/a.txt", map[string]string{"Range": "bytes=2-"}, 206, "le a\n", map[string]string{"Content-Range": "bytes 2-6/7"}},
			{"GET", "/chrome/site/css/style.css", nil, 200, "body{}\n", map[string]string{"Content-Type": "text/css; charset=utf-8"}},
			{"GET", "/chrome/site/a%20b.txt", nil, 200, "space\n", nil},
			{"GET", "/chrome/site/big.bin", nil, 200, string(pattern(300000, 77)), map[string]string{"Content-Length": "300000"}},
			{"GET", "/chrome/site/big.bin", map[string]string{"Range": "bytes=-100000"}, 206, string(pattern(300000, 77)[200000:]), nil},
			{"GET", "/chrome/site/link-in", nil, 200, "file a\n", nil},
			{"GET", "/chrome/site/css/link-up", nil, 200, "file a\n", nil},
			{"POST", "/chrome/site/a.txt", nil, 405, "", map[string]string{"Allow": "GET, HEAD"}},
			{"GET", "/chrome/site/missing", nil, 404, "", nil},
			{"GET", "/chrome/sitex/a.txt", nil, 404, "", nil},
			{"GET", "/other/a.txt", nil, 404, "", nil},
			{"GET", "/chrome/site/a.txt/", nil, 404, "", nil},
			// Traversal, plain and encoded.
			{"GET", "/chrome/site/../outside/secret.txt", nil, 404, "", nil},
			{"GET", "/chrome/site/css/../a.txt", nil, 404, "", nil},
			{"GET", "/chrome/site/%2e%2e/outside/secret.txt", nil, 404, "", nil},
			{"GET", "/chrome/site/%2E%2E/outside/secret.txt", nil, 404, "", nil},
			{"GET", "/chrome/site/.%2e/outside/secret.txt", nil, 404, "", nil},
			{"GET", "/chrome/site/..%2foutside/secret.txt", nil, 404, "", nil},
			{"GET", "/chrome/site/..%2Foutside%2Fsecret.txt", nil, 404, "", nil},
			{"GET", "/chrome/site/..%5coutside%5csecret.txt", nil, 404, "", nil},
			{"GET", "/chrome/site/css%2fstyle.css", nil, 404, "", nil},
			{"GET", "/chrome/site/./a.txt", nil, 404, "", nil},
			{"GET", "/chrome/site//a.txt", nil, 404, "", nil},
			{"GET", "/chrome/site/a.txt%00.css", nil, 404, "", nil},
			// Symbolic links leaving the root.
			{"GET", "/chrome/site/link-out", nil, 404, "", nil},
			{"GET", "/chrome/site/link-abs-out", nil, 404, "", nil},
			{"GET", "/chrome/site/dirlink-out/secret.txt", nil, 404, "", nil},
			{"GET", "/chrome/site/link-loop", nil, 404, "", nil},
			{"GET", "/chrome/site/link-dangling", nil, 404, "", nil},
			// Hidden files.
			{"GET", "/chrome/site/.htaccess", nil, 404, "", nil},
			{"GET", "/chrome/site/%2ehtaccess", nil, 404, "", nil},
			{"GET", "/chrome/site/.git/config", nil, 404, "", nil},
			// Directories and special files.
			{"GET", "/chrome/site/", nil, 403, "", nil},
			{"GET", "/chrome/site", nil, 403, "", nil},
			{"GET", "/chrome/site/docs/", nil, 403, "", nil},
			{"GET", "/chrome/site/fifo", nil, 403, "", nil},
		}},
		{"index-and-listing", filewrap.StaticConfig{Root: root, Prefix: "/s", Index: []string{"index.htm", "index.html"}, Listing: true}, []req{
			{"GET", "/s/docs", nil, 301, "", map[string]string{"Location": "/s/docs/"}},
			{"GET", "/s/docs?x=1", nil, 301, "", map[string]string{"Location": "/s/docs/?x=1"}},
			{"GET", "/s/docs/", nil, 200, "<p>docs</p>\n", map[string]string{"Content-Type": "text/html; charset=utf-8"}},
			{"GET", "/s/css/", nil, 200, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of /s/css/</title></head>\n<body><h1>Index of /s/css/</h1>\n<ul>\n<li><a href=\"./link-up\">link-up</a></li>\n<li><a href=\"./style.css\">style.css</a></li>\n</ul></body></html>\n", nil},
			{"GET", "/s/.git/", nil, 404, "", nil},
		}},
		{"follow-symlinks-and-hidden", filewrap.StaticConfig{Root: root, FollowSymlinks: true, ServeHidden: true}, []req{
			{"GET", "/link-out", nil, 200, "secret\n", nil},
			{"GET", "/dirlink-out/secret.txt", nil, 200, "secret\n", nil},
			{"GET", "/.htaccess", nil, 200, "Require all denied\n", nil},
			{"GET", "/../outside/secret.txt", nil, 404, "", nil},
			{"GET", "/%2e%2e/outside/secret.txt", nil, 404, "", nil},
		}},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			s, err := filewrap.NewStatic(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			srv := httptest.NewServer(s)
			defer srv.Close()
			addr := strings.TrimPrefix(srv.URL, "http://")
			for _, rq := range c.reqs {
				t.Run(rq.method+" "+rq.target, func(t *testing.T) {
					resp, body := rawGet(t, addr, rq.method, rq.target, rq.hdr)
					if resp.StatusCode != rq.wantStatus {
						t.Errorf("status %d, want %d (body %q)", resp.StatusCode, rq.wantStatus, body)
					}
					if rq.wantBody != "" && string(body) != rq.wantBody {
						t.Errorf("body %q, want %q", body, rq.wantBody)
					}
					if rq.method == "HEAD" && len(body) != 0 {
						t.Errorf("HEAD body %q", body)
					}
					if strings.Contains(string(body), "secret") && rq.wantStatus != 200 {
						t.Errorf("leaked the secret: %q", body)
					}
					for k, v := range rq.wantHdr {
						if g := resp.Header.Get(k); g != v {
							t.Errorf("%s: %q, want %q", k, g, v)
						}
					}
				})
			}
		})
	}
}

func TestStaticListingEscapes(t *testing.T) {
	root, _ := staticTree(t)
	s, err := filewrap.NewStatic(filewrap.StaticConfig{Root: root, Listing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	for _, want := range []string{`<a href="./%3Cb%3E.txt">&lt;b&gt;.txt</a>`, `<a href="./a%20b.txt">a b.txt</a>`, `<a href="./css/">css/</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("listing lacks %s:\n%s", want, body)
		}
	}
	for _, hidden := range []string{".htaccess", ".git"} {
		if strings.Contains(body, hidden) {
			t.Errorf("listing shows %s", hidden)
		}
	}
}

func TestNewStaticErrors(t *testing.T) {
	root, _ := staticTree(t)
	tests := []struct {
		name string
		cfg  filewrap.StaticConfig
	}{
		{"no-root", filewrap.StaticConfig{}},
		{"missing-root", filewrap.StaticConfig{Root: root + "/nope"}},
		{"file-root", filewrap.StaticConfig{Root: root + "/a.txt"}},
		{"relative-prefix", filewrap.StaticConfig{Root: root, Prefix: "chrome"}},
		{"index-with-slash", filewrap.StaticConfig{Root: root, Index: []string{"a/index.html"}}},
		{"index-dotdot", filewrap.StaticConfig{Root: root, Index: []string{".."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := filewrap.NewStatic(tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("NewStatic accepted the configuration")
			}
			if !strings.HasPrefix(err.Error(), "filewrap: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}
