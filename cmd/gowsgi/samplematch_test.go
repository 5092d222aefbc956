package main

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzSampleMatch: whatever the pattern, sampleMatch does not panic, and
// a path it returns starts with / and matches the pattern.
func FuzzSampleMatch(f *testing.F) {
	for _, s := range []string{`^/trac/[^/]+/login`, `/login$`, `(a|b)+`, `x{2,5}`, `[^\x00-\x{10FFFF}]`, `^$`, `\b/a\B`, `(?i)/A.*`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		s, ok := sampleMatch(pattern)
		if !ok {
			return
		}
		if !strings.HasPrefix(s, "/") || !regexp.MustCompile(pattern).MatchString(s) {
			t.Fatalf("%q: sample %q", pattern, s)
		}
	})
}
