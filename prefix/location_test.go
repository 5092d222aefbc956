package prefix

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// mark returns middleware that appends name to the X-Rules response header
// before calling next, so tests see which rules ran and in which order.
func mark(name string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("X-Rules", name)
			next.ServeHTTP(w, r)
		})
	}
}

func rulesRan(rec *httptest.ResponseRecorder) string {
	return strings.Join(rec.Header().Values("X-Rules"), ",")
}

func TestLocationMatch(t *testing.T) {
	login := regexp.MustCompile(`/trac/[^/]+/login`)
	tests := []struct {
		target string
		code   int
		rules  string
		path   string
	}{
		{"/trac/a/login", 200, "login", "/trac/a/login"},
		{"/trac/a/login/", 200, "login", "/trac/a/login/"},
		{"/trac/a/loginx", 200, "login", "/trac/a/loginx"}, // unanchored, as Apache
		{"/x/trac/a/login", 200, "login", "/x/trac/a/login"},
		{"/trac/a//login", 200, "login", "/trac/a/login"},
		{"/trac//a/login", 200, "login", "/trac/a/login"},
		{"/trac/a/./login", 200, "login", "/trac/a/login"},
		{"/trac/a/b/../login", 200, "login", "/trac/a/login"},
		{"/trac/a/%6Cogin", 200, "login", "/trac/a/login"},
		{"/trac/a/login;jsessionid=1", 200, "login", "/trac/a/login;jsessionid=1"},
		{"/trac/a;x/login", 200, "login", "/trac/a;x/login"},
		{"/trac/a/wiki", 200, "", "/trac/a/wiki"},
		{"/trac/login", 200, "", "/trac/login"},
		{"/trac/a/LOGIN", 200, "", "/trac/a/LOGIN"},
		{"/trac/a%2Flogin", 404, "", ""},
		{"/trac/a/log%00in", 400, "", ""},
		{"/trac/a/x/../../../../login", 400, "", ""},
	}
	// Without Canonical in front: the rule canonicalizes by itself.
	h := MustLocationMatch(login, mark("login"))(pathEcho)
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d", rec.Code, tt.code)
			}
			if got := rulesRan(rec); got != tt.rules {
				t.Errorf("rules %q, want %q", got, tt.rules)
			}
			if got := rec.Header().Get("X-Path"); got != tt.path {
				t.Errorf("app saw %q, want %q", got, tt.path)
			}
		})
	}
}

func TestLocation(t *testing.T) {
	tests := []struct {
		prefix, target string
		match          bool
	}{
		{"/trac", "/trac", true},
		{"/trac", "/trac/", true},
		{"/trac", "/trac/x", true},
		{"/trac", "/tracker", false},
		{"/trac", "/Trac", false},
		{"/trac", "/x/trac", false},
		{"/trac", "//trac/./x", true},
		{"/trac", "/%74rac", true},
		{"/trac/", "/trac", false},
		{"/trac/", "/trac/", true},
		{"/trac/", "/trac/x", true},
		{"/trac/login", "/trac/login", true},
		{"/trac/login", "/trac/login/", true},
		{"/trac/login", "/trac/x/../login", true},
		{"/trac/login", "/trac/loginx", false},
		{"/", "/", true},
		{"/", "/anything", true},
	}
	for _, tt := range tests {
		t.Run(tt.prefix+" "+tt.target, func(t *testing.T) {
			h := MustLocation(tt.prefix, mark("loc"))(pathEcho)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
			if got := rulesRan(rec) == "loc"; got != tt.match {
				t.Fatalf("matched %v, want %v", got, tt.match)
			}
		})
	}
}

func TestRulesStackInNestingOrder(t *testing.T) {
	h := Canonical(
		MustLocation("/trac", mark("trac"))(
			MustLocationMatch(regexp.MustCompile(`/login$`), mark("login"))(
				MustLocation("/trac/a", mark("a"))(pathEcho))))
	tests := []struct {
		target, rules string
	}{
		{"/trac/a/login", "trac,login,a"},
		{"/trac/b/login", "trac,login"},
		{"/trac/a/wiki", "trac,a"},
		{"/other/login", "login"},
		{"/other", ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
			if got := rulesRan(rec); got != tt.rules {
				t.Fatalf("rules %q, want %q", got, tt.rules)
			}
		})
	}
}

func TestLocationConfigErrors(t *testing.T) {
	tests := map[string]func() (func(http.Handler) http.Handler, error){
		"nil regexp":        func() (func(http.Handler) http.Handler, error) { return NewLocationMatch(nil, mark("x")) },
		"nil middleware":    func() (func(http.Handler) http.Handler, error) { return NewLocationMatch(regexp.MustCompile("x"), nil) },
		"relative location": func() (func(http.Handler) http.Handler, error) { return NewLocation("trac", mark("x")) },
		"empty location":    func() (func(http.Handler) http.Handler, error) { return NewLocation("", mark("x")) },
		"dot location":      func() (func(http.Handler) http.Handler, error) { return NewLocation("/trac/../x", mark("x")) },
		"escaped location":  func() (func(http.Handler) http.Handler, error) { return NewLocation("/tr%61c", mark("x")) },
		"nil location mw":   func() (func(http.Handler) http.Handler, error) { return NewLocation("/trac", nil) },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			if mw, err := f(); err == nil || mw != nil || !strings.HasPrefix(err.Error(), "prefix: ") {
				t.Fatalf("got %v, %v; want nil and a prefix: error", mw != nil, err)
			}
			defer func() {
				if recover() == nil {
					t.Fatal("the Must form did not panic")
				}
			}()
			must(f())
		})
	}
}
