package prefix

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gowsgi/gowsgi/reqinfo"
)

var fuzzSeeds = []string{
	"/trac/alpha/login", "/trac/alpha//login", "/trac/alpha/./login", "/trac/alpha/x/../login",
	"/trac/alpha/%6Cogin", "/trac/alpha/login;x", "/trac/alpha%2Flogin", "/trac/alpha/%2e%2e/login",
	"/trac/alpha/%C0%AFlogin", "/trac/alpha/login%00", "/trac/alpha\\login", "/trac/alpha/LOGIN",
	"//trac/./alpha/login/", "/trac/%61lpha/login", "http://h/trac/alpha/login", "/trac/alpha/%256Cogin",
	"/trac/", "*", "/../x", "/trac/alpha/login#x", "/trac/alpha/caf%C3%A9",
}

// FuzzCanonicalize checks that any input either is refused or yields a
// path with no empty, "." or ".." segment, no control character, valid
// UTF-8, and that is a fixed point of Canonicalize once re-escaped.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Canonicalize(in)
		if in != "" && in[0] == '/' && isCanonical(in) {
			if slow, err := decodePath(in); err != nil || slow != in {
				t.Fatalf("fast path kept %q, full decoding gives %q, %v", in, slow, err)
			}
		}
		if err != nil {
			if p != "" {
				t.Fatalf("error %v with result %q", err, p)
			}
			return
		}
		if p == "" || p[0] != '/' || strings.Contains(p, "//") || !utf8.ValidString(p) || strings.ContainsAny(p, "\\#\x00") {
			t.Fatalf("Canonicalize(%q) = %q: not canonical", in, p)
		}
		for _, seg := range strings.Split(p[1:], "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("Canonicalize(%q) = %q: dot segment left", in, p)
			}
		}
		for _, c := range []byte(p) {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("Canonicalize(%q) = %q: control character", in, p)
			}
		}
		if again, err := Canonicalize(escapePath(p)); err != nil || again != p {
			t.Fatalf("Canonicalize(escape(%q)) = %q, %v", p, again, err)
		}
	})
}

// tracLogin is how Trac's LoginModule recognises its login route on
// PATH_INFO (re.match(r'/login/?$')).
var tracLogin = regexp.MustCompile(`^/login/?$`)

// FuzzGuard parses any request target as net/http's server does and
// serves it through the guarded stack of Trac's mod_wsgi guide (see tracStack) with an
// application that routes as Trac does: if the application's route is the
// login page, the guard must have run (it refuses unauthenticated requests,
// so the application must never see one), and the application's
// SCRIPT_NAME + PATH_INFO must be the path the rules matched.
func FuzzGuard(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	parent := projects(f)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := reqinfo.FromContext(r.Context())
		m, ok := rec.Mount()
		sn, pi := m.ScriptName, m.PathInfo
		if !ok {
			panic("no mount")
		}
		if sn+pi != r.URL.Path {
			w.Header().Set("X-Mismatch", sn+"|"+pi+"|"+r.URL.Path)
		}
		if tracLogin.MatchString(pi) {
			if rec.User() == nil {
				w.Header().Set("X-Unguarded-Login", pi)
			}
		}
		w.WriteHeader(299)
	})
	h := tracStack(f, parent, app)
	f.Fuzz(func(t *testing.T, target string) {
		if strings.ContainsAny(target, " \r\n") {
			return // not one request target
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: fuzz.test\r\n\r\n")))
		if err != nil {
			return // net/http's server answers 400 itself
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if u := rec.Header().Get("X-Unguarded-Login"); u != "" {
			t.Fatalf("target %q reached the login route %q without the guard", target, u)
		}
		if m := rec.Header().Get("X-Mismatch"); m != "" {
			t.Fatalf("target %q: application path differs from the rules' path: %s", target, m)
		}
		switch rec.Code {
		case 299, 200, 400, 401, 404:
		default:
			t.Fatalf("target %q: unexpected status %d", target, rec.Code)
		}
	})
}
