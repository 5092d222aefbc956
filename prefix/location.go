package prefix

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// NewLocationMatch returns middleware that applies mw only to requests whose
// canonical path re matches anywhere (an unanchored search, as Apache's
// <LocationMatch>); other requests go straight to the next handler. Anchor
// re with ^ and $ to match the whole path; add (?i) to match regardless of
// case, which an application that routes case-insensitively needs.
//
// The path matched is the one [Canonicalize] returns, and the request handed
// on carries exactly that path, so the application routes on what the rule
// saw. A request that did not pass through [Canonical] is canonicalized here
// (and refused here when it cannot be). It returns an error if re or mw is
// nil.
//
// Rules stack by nesting: MustLocationMatch(a, m1)(MustLocationMatch(b, m2)(app))
// runs m1 then m2 for a request matching both, the order in which a chain
// (alice, chi's Use) lists them.
//
// The match is re.MatchString, nothing cleverer: a rule on a security
// path is read more often than it is profiled. For a literal prefix
// (<Location /private>) use [NewLocation], a string comparison.
func NewLocationMatch(re *regexp.Regexp, mw func(http.Handler) http.Handler) (func(http.Handler) http.Handler, error) {
	if re == nil || mw == nil {
		return nil, errors.New("prefix: LocationMatch with a nil regexp or middleware")
	}
	return scoped(re.MatchString, mw), nil
}

// MustLocationMatch is [NewLocationMatch] for rules written in the program
// (examples, tests): it panics where NewLocationMatch returns an error.
func MustLocationMatch(re *regexp.Regexp, mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return must(NewLocationMatch(re, mw))
}

// NewLocation returns middleware that applies mw only to requests whose
// canonical path is under prefix, as Apache's <Location>: on whole
// segments, so "/trac" covers "/trac", "/trac/" and "/trac/x" but not
// "/tracker", and "/trac/" (with its slash) covers "/trac/" and "/trac/x"
// but not "/trac". "/" covers every path. Matching is case-sensitive.
// Apache's wildcards (* and ?) are not supported: use [NewLocationMatch].
//
// Like [NewLocationMatch], it matches on the canonical path and hands that
// path on. It returns an error if prefix is not an absolute canonical path
// (see [Canonicalize]; its trailing slash is kept, as it means something)
// or mw is nil.
func NewLocation(prefix string, mw func(http.Handler) http.Handler) (func(http.Handler) http.Handler, error) {
	if mw == nil {
		return nil, errors.New("prefix: Location with a nil middleware")
	}
	if p, err := Canonicalize(prefix); err != nil {
		return nil, fmt.Errorf("prefix: Location %q: %w", prefix, err)
	} else if p != prefix || !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("prefix: Location %q: %w: not in canonical form (want %q)", prefix, ErrInvalidPath, p)
	}
	return scoped(func(p string) bool { return underLocation(p, prefix) }, mw), nil
}

// MustLocation is [NewLocation] for rules written in the program (examples,
// tests): it panics where NewLocation returns an error.
func MustLocation(prefix string, mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return must(NewLocation(prefix, mw))
}

// must panics with err, for the Must forms of the constructors.
func must(mw func(http.Handler) http.Handler, err error) func(http.Handler) http.Handler {
	if err != nil {
		panic(err)
	}
	return mw
}

func underLocation(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/'
}

func scoped(match func(string) bool, mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		guarded := mw(next)
		return canonical(func(w http.ResponseWriter, r *http.Request) {
			if match(r.URL.Path) {
				guarded.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
