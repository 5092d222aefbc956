package prefix

import (
	"regexp"
	"testing"
)

// matcherPatterns are LocationMatch patterns of every shape pathMatcher
// treats apart, and some it must leave to the regexp.
var matcherPatterns = []string{
	`^/bcrypt(/|$)`, `^/bcrypt(?:/|$)`, `^/bcrypt`, `^/bcrypt$`, `/bcrypt`, `/bcrypt$`,
	`/trac/[^/]+/login`, `^/trac/[^/]+/login/?$`, `(/trac/[^/]+/login)`, `/login|/admin`,
	`(?i)^/private(/|$)`, `^/caf\x{e9}(/|$)`, `^/\x{fffd}`, `\x{fffd}`, `(?m)^/x$`, `^$`, ``,
	`^/a(/|$)b`, `^/a(/|$|x)`, `^/a(x|$)`, `^/a(/|^)`, `/a\z`, `^/(a|b)`, `/a.*`,
}

var matcherPaths = []string{
	"/bcrypt", "/bcrypt/", "/bcrypt/x", "/bcryptx", "/x/bcrypt", "/x/bcrypt/", "/BCRYPT", "",
	"/", "/bcrypt\n", "x\n/bcrypt", "/bcrypt\n/x", "/caf\u00e9", "/caf\u00e9/x", "/caf\xe9",
	"/\xff", "/\ufffd", "/\xed\xa0\x80", "/trac/a/login", "/trac/a/login/", "/trac/login",
	"/trac/a/wiki", "/admin/x", "/Private/x", "/private", "/a", "/ab", "/a/b", "/ax", "/a\n",
	"/a/", "/b",
}

// TestPathMatcher checks pathMatcher against the regexp itself, both
// compiled as regexp.Compile and as regexp.CompilePOSIX do (whose ^ and $
// are line anchors: a path with a newline must not take the string test).
func TestPathMatcher(t *testing.T) {
	for _, pat := range matcherPatterns {
		for i, compile := range []func(string) (*regexp.Regexp, error){regexp.Compile, regexp.CompilePOSIX} {
			re, err := compile(pat)
			if err != nil {
				continue // not POSIX syntax
			}
			match := pathMatcher(re)
			for _, p := range matcherPaths {
				if got, want := match(p), re.MatchString(p); got != want {
					t.Errorf("pattern %q (POSIX %v), path %q: got %v, want %v", pat, i == 1, p, got, want)
				}
			}
		}
	}
}

// TestPathMatcherKind checks that each shape meant for a string test gets
// one, that other patterns with a literal are filtered by it, and that the
// rest is left to the regexp.
func TestPathMatcherKind(t *testing.T) {
	tests := []struct {
		pattern string
		kind    matchKind
	}{
		{`^/bcrypt(/|$)`, byString},
		{`^/bcrypt(?:/|$)`, byString},
		{`^/bcrypt`, byString},
		{`^/bcrypt$`, byString},
		{`/bcrypt`, byString},
		{`/bcrypt$`, byString},
		{`^/caf\x{e9}(/|$)`, byString},
		{`/trac/[^/]+/login`, byFiltered},
		{`(/trac/[^/]+/login)`, byFiltered},
		{`^/a(/|$)b`, byFiltered},
		{`(?i)^/private(/|$)`, byRegexp},
		{`^/\x{fffd}`, byRegexp},
		{`/login|/admin`, byFiltered}, // "/" then (login|admin)
		{`login|admin`, byRegexp},
		{`^$`, byRegexp},
		{`(?m)^/x$`, byFiltered},
	}
	for _, tt := range tests {
		if _, kind := newPathMatcher(regexp.MustCompile(tt.pattern)); kind != tt.kind {
			t.Errorf("%q: kind %d, want %d", tt.pattern, kind, tt.kind)
		}
	}
}
