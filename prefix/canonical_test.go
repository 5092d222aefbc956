package prefix

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  error
	}{
		{"/", "/", nil},
		{"/trac", "/trac", nil},
		{"/trac/", "/trac/", nil},
		{"/trac/a/login", "/trac/a/login", nil},
		// empty segments
		{"//trac//a///login", "/trac/a/login", nil},
		{"//", "/", nil},
		{"/trac//", "/trac/", nil},
		// dot segments
		{"/trac/./a/login", "/trac/a/login", nil},
		{"/trac/a/x/../login", "/trac/a/login", nil},
		{"/trac/a/login/.", "/trac/a/login/", nil},
		{"/trac/a/login/x/..", "/trac/a/login/", nil},
		{"/trac/a/..", "/trac/", nil},
		{"/.", "/", nil},
		{"/..", "", ErrEscapesRoot},
		{"/trac/../..", "", ErrEscapesRoot},
		{"/trac/../../etc/passwd", "", ErrEscapesRoot},
		{"/...", "/...", nil},
		{"/a/..b", "/a/..b", nil},
		// escapes decoded once
		{"/trac/a/%6Cogin", "/trac/a/login", nil},
		{"/trac/a/%6cogin", "/trac/a/login", nil},
		{"/trac/a/%2e/login", "/trac/a/login", nil},
		{"/trac/a/x/%2E%2E/login", "/trac/a/login", nil},
		{"/trac/a/x/.%2e/login", "/trac/a/login", nil},
		{"/trac/%256Cogin", "/trac/%6Cogin", nil},
		{"/wiki/caf%C3%A9", "/wiki/café", nil},
		{"/wiki/café", "/wiki/café", nil},
		{"/wiki/a%20b", "/wiki/a b", nil},
		{"/wiki/%23x", "/wiki/#x", nil},
		{"/wiki/%3Fx", "/wiki/?x", nil},
		// encoded separators
		{"/trac/a%2Flogin", "", ErrEncodedSlash},
		{"/trac/a%2flogin", "", ErrEncodedSlash},
		{"/trac/a%5Clogin", "", ErrEncodedSlash},
		{"/trac/a%5clogin", "", ErrEncodedSlash},
		// path parameters are literal
		{"/trac/a/login;x=1", "/trac/a/login;x=1", nil},
		{"/trac/a;x/login", "/trac/a;x/login", nil},
		{"/trac/a/%3Blogin", "/trac/a/;login", nil},
		// case kept
		{"/trac/a/LOGIN", "/trac/a/LOGIN", nil},
		// refused bytes
		{"", "", ErrInvalidPath},
		{"trac/a", "", ErrInvalidPath},
		{"*", "", ErrInvalidPath},
		{"/trac/a\\login", "", ErrInvalidPath},
		{"/trac/a/login#x", "", ErrInvalidPath},
		{"/trac/a/login%00", "", ErrInvalidPath},
		{"/trac/a/login\x00", "", ErrInvalidPath},
		{"/trac/a/%0alogin", "", ErrInvalidPath},
		{"/trac/a/%7f", "", ErrInvalidPath},
		{"/trac/a/%", "", ErrInvalidPath},
		{"/trac/a/%4", "", ErrInvalidPath},
		{"/trac/a/%zz", "", ErrInvalidPath},
		{"/trac/a/%%36C", "", ErrInvalidPath},
		// invalid UTF-8: overlong "/" and ".", surrogates, stray bytes
		{"/trac/a%C0%AFlogin", "", ErrInvalidPath},
		{"/trac/a/%C0%AE%C0%AE/login", "", ErrInvalidPath},
		{"/trac/a%E0%80%AFlogin", "", ErrInvalidPath},
		{"/trac/a%ED%A0%80", "", ErrInvalidPath},
		{"/trac/a%FF", "", ErrInvalidPath},
		{"/trac/a\xff", "", ErrInvalidPath},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Canonicalize(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Canonicalize(%q) = %q, %v; want error %v", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Canonicalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			// Canonical paths are fixed points once re-escaped.
			again, err := Canonicalize(escapePath(got))
			if err != nil || again != got {
				t.Fatalf("Canonicalize(escape(%q)) = %q, %v; not a fixed point", got, again, err)
			}
		})
	}
}

func TestStatusFor(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"/a%2Fb", http.StatusNotFound},
		{"/a%5Cb", http.StatusNotFound},
		{"/..", http.StatusBadRequest},
		{"/a%00", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Canonicalize(tt.in)
			if got := StatusFor(err); got != tt.want {
				t.Fatalf("StatusFor(%v) = %d, want %d", err, got, tt.want)
			}
		})
	}
}

// pathEcho answers with the path, raw path and escaped path it got.
var pathEcho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Path", r.URL.Path)
	w.Header().Set("X-Raw-Path", r.URL.RawPath)
	w.Header().Set("X-Escaped-Path", r.URL.EscapedPath())
	w.Header().Set("X-Request-URI", r.RequestURI)
})

func TestCanonicalMiddleware(t *testing.T) {
	tests := []struct {
		target  string
		code    int
		path    string
		escaped string
	}{
		{"/trac//a/./x/../%6Cogin?q=%2F", 200, "/trac/a/login", "/trac/a/login"},
		{"/wiki/caf%C3%A9", 200, "/wiki/café", "/wiki/caf%C3%A9"},
		{"/wiki/100%25", 200, "/wiki/100%", "/wiki/100%25"},
		{"http://example.com", 200, "/", "/"},
		{"http://example.com/a/./b", 200, "/a/b", "/a/b"},
		{"/a%2Fb/caf%C3%A9", 404, "", ""},
		{"/a%2Fb", 404, "", ""},
		{"/../x", 400, "", ""},
		{"/a%C0%AF", 400, "", ""},
	}
	h := Canonical(pathEcho)
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.target, nil)
			orig := *req.URL
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d", rec.Code, tt.code)
			}
			if *req.URL != orig {
				t.Fatalf("incoming request mutated: %+v, was %+v", *req.URL, orig)
			}
			if tt.code != 200 {
				if rec.Header().Get("X-Path") != "" {
					t.Fatal("refused request reached the handler")
				}
				return
			}
			if got := rec.Header().Get("X-Path"); got != tt.path {
				t.Errorf("Path %q, want %q", got, tt.path)
			}
			if got := rec.Header().Get("X-Raw-Path"); got != "" {
				t.Errorf("RawPath %q, want empty", got)
			}
			if got := rec.Header().Get("X-Escaped-Path"); got != tt.escaped {
				t.Errorf("EscapedPath %q, want %q", got, tt.escaped)
			}
			if got := rec.Header().Get("X-Request-URI"); got != tt.target {
				t.Errorf("RequestURI %q, want %q as sent", got, tt.target)
			}
		})
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	for _, p := range []string{"/trac/alpha/wiki/WikiStart", "/trac//alpha/./x/../wiki/%57ikiStart"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Canonicalize(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCanonicalRequestURL: the request handed on has the canonical path and
// never shares a changed URL with the caller's request; a path already
// canonical keeps its URL (no copy).
func TestCanonicalRequestURL(t *testing.T) {
	for _, tc := range []struct {
		target, want string
		same         bool
	}{
		{"/trac/wiki", "/trac/wiki", true},
		{"/trac//wiki/./x", "/trac/wiki/x", false},
		{"/trac/%6Cogin", "/trac/login", false},
	} {
		r := httptest.NewRequest("GET", tc.target, nil)
		before := *r.URL
		r2, err := canonicalRequest(r)
		if err != nil {
			t.Fatalf("%s: %v", tc.target, err)
		}
		if r2.URL.Path != tc.want || r2.URL.RawPath != "" {
			t.Errorf("%s: path %q raw %q, want %q", tc.target, r2.URL.Path, r2.URL.RawPath, tc.want)
		}
		if (r2.URL == r.URL) != tc.same {
			t.Errorf("%s: URL shared = %v, want %v", tc.target, r2.URL == r.URL, tc.same)
		}
		if *r.URL != before {
			t.Errorf("%s: the incoming request's URL changed to %+v", tc.target, *r.URL)
		}
		if r3, _ := canonicalRequest(r2); r3 != r2 {
			t.Errorf("%s: a canonical request was copied again", tc.target)
		}
	}
}
