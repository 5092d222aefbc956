package main

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// sampleMatch returns a path the regular expression pattern matches (as
// <LocationMatch> does: anywhere in the path), built from the shortest
// choices of its parse tree, checked against the compiled expression;
// false when none is found.
func sampleMatch(pattern string) (string, bool) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return "", false
	}
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if !sampleOf(&b, tree.Simplify()) {
		return "", false
	}
	s := b.String()
	for _, c := range []string{s, "/" + s, "/" + strings.TrimPrefix(s, "/")} {
		if strings.HasPrefix(c, "/") && re.MatchString(c) {
			return c, true
		}
	}
	return "", false
}

// sampleOf writes to b a string re matches, choosing the first
// alternative, no repetition beyond the minimum and the first character
// of each class ('x' when the class allows it, to stay within a segment).
func sampleOf(b *strings.Builder, re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
		return true
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return false
		}
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i] <= 'x' && 'x' <= re.Rune[i+1] {
				b.WriteByte('x')
				return true
			}
		}
		b.WriteRune(re.Rune[0])
		return true
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		b.WriteByte('x')
		return true
	case syntax.OpCapture:
		return sampleOf(b, re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpPlus:
		return sampleOf(b, re.Sub[0])
	case syntax.OpRepeat:
		for range re.Min {
			if !sampleOf(b, re.Sub[0]) {
				return false
			}
		}
		return true
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !sampleOf(b, s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		return sampleOf(b, re.Sub[0])
	}
	return false
}
