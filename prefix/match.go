package prefix

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// pathMatcher returns a function that reports whether re matches a path, as
// re.MatchString does, but cheaper for the patterns <LocationMatch> rules
// are usually written with. It runs on every request, and a backtracking
// match of even ^/private(/|$) costs more than the rest of a cached Basic
// login. So:
//
//   - a pattern that is a literal, anchored or not, becomes a string test:
//     ^L (a prefix), ^L$ (equality), ^L(/|$) (L and the paths under it, as
//     <Location L>), L (anywhere), L$ (a suffix);
//   - any other pattern runs only when the path contains every literal its
//     top level concatenates (/login for /trac/[^/]+/login), so that the
//     paths it cannot match are turned away by a substring search.
//
// Both are exact: the string tests apply only where they cannot differ from
// the regexp. re's source is parsed again with Perl's flags, the ones
// regexp.Compile uses; a regexp compiled with CompilePOSIX reads ^ and $ as
// line anchors there, so a path with a newline (from %0A) always goes to
// re. Literals matched without regard to case ((?i)) or containing U+FFFD
// (which the regexp also matches for an invalid UTF-8 byte) are left to re.
func pathMatcher(re *regexp.Regexp) func(string) bool {
	match, _ := newPathMatcher(re)
	return match
}

// How a [pathMatcher] decides.
type matchKind int

const (
	byRegexp   matchKind = iota // re.MatchString alone
	byString                    // a string test (the regexp for a path with a newline)
	byFiltered                  // required literals, then the regexp
)

func newPathMatcher(re *regexp.Regexp) (func(string) bool, matchKind) {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return re.MatchString, byRegexp
	}
	tree = tree.Simplify()
	for tree.Op == syntax.OpCapture { // a group around everything matches as its content
		tree = tree.Sub[0]
	}
	if test := literalTest(tree); test != nil {
		return func(p string) bool {
			if strings.IndexByte(p, '\n') >= 0 {
				return re.MatchString(p)
			}
			return test(p)
		}, byString
	}
	required := requiredLiterals(tree)
	if len(required) == 0 {
		return re.MatchString, byRegexp
	}
	return func(p string) bool {
		for _, lit := range required {
			if !strings.Contains(p, lit) {
				return false
			}
		}
		return re.MatchString(p)
	}, byFiltered
}

// literalTest returns the string test equivalent to tree for paths without
// a newline, or nil when tree is not one of the literal shapes.
func literalTest(tree *syntax.Regexp) func(string) bool {
	if lit, ok := plainLiteral(tree); ok {
		return func(p string) bool { return strings.Contains(p, lit) }
	}
	if tree.Op != syntax.OpConcat || len(tree.Sub) < 2 {
		return nil
	}
	sub := tree.Sub
	begin := sub[0].Op == syntax.OpBeginText
	if begin {
		sub = sub[1:]
	}
	lit, ok := plainLiteral(sub[0])
	if !ok {
		return nil
	}
	switch {
	case len(sub) == 1 && begin:
		return func(p string) bool { return strings.HasPrefix(p, lit) }
	case len(sub) == 2 && sub[1].Op == syntax.OpEndText && begin:
		return func(p string) bool { return p == lit }
	case len(sub) == 2 && sub[1].Op == syntax.OpEndText:
		return func(p string) bool { return strings.HasSuffix(p, lit) }
	case len(sub) == 2 && begin && slashOrEnd(sub[1]):
		return func(p string) bool {
			return strings.HasPrefix(p, lit) && (len(p) == len(lit) || p[len(lit)] == '/')
		}
	}
	return nil
}

// slashOrEnd reports whether re is (/|$) or (?:/|$).
func slashOrEnd(re *syntax.Regexp) bool {
	if re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	if re.Op != syntax.OpAlternate || len(re.Sub) != 2 {
		return false
	}
	lit, ok := plainLiteral(re.Sub[0])
	return ok && lit == "/" && re.Sub[1].Op == syntax.OpEndText
}

// requiredLiterals returns the literals that tree, a concatenation,
// joins at its top level: any path tree matches contains each of them.
func requiredLiterals(tree *syntax.Regexp) []string {
	if tree.Op != syntax.OpConcat {
		return nil
	}
	var out []string
	for _, sub := range tree.Sub {
		if lit, ok := plainLiteral(sub); ok {
			out = append(out, lit)
		}
	}
	return out
}

// plainLiteral returns the text of a case-sensitive literal free of U+FFFD.
func plainLiteral(re *syntax.Regexp) (string, bool) {
	if re.Op != syntax.OpLiteral || re.Flags&syntax.FoldCase != 0 || len(re.Rune) == 0 {
		return "", false
	}
	for _, r := range re.Rune {
		if r == utf8.RuneError {
			return "", false
		}
	}
	return string(re.Rune), true
}
