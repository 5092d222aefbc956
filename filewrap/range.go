package filewrap

import (
	"errors"
	"math"
	"net/http"
	"net/textproto"
	"strings"
)

// httpRange is a satisfiable byte range: length >= 1 bytes from start.
type httpRange struct{ start, length int64 }

var (
	// errUnsatisfiable: a single, well-formed range that selects nothing of
	// the representation; the answer is 416.
	errUnsatisfiable = errors.New("filewrap: range not satisfiable")
	// errIgnoreRange: a malformed Range field, another unit, or several
	// ranges; the answer is the whole representation (RFC 9110 section 14.2
	// lets a server ignore Range).
	errIgnoreRange = errors.New("filewrap: range ignored")
)

// parseRange parses the value of a Range field for a representation of size
// bytes (size >= 1). It accepts exactly one byte range: "bytes=a-b",
// "bytes=a-" or "bytes=-n", with optional whitespace around its parts.
func parseRange(s string, size int64) (httpRange, error) {
	unit, set, ok := strings.Cut(s, "=")
	if !ok || !strings.EqualFold(textproto.TrimString(unit), "bytes") {
		return httpRange{}, errIgnoreRange
	}
	spec := textproto.TrimString(set)
	if strings.Contains(spec, ",") {
		return httpRange{}, errIgnoreRange
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return httpRange{}, errIgnoreRange
	}
	first, last = textproto.TrimString(first), textproto.TrimString(last)
	if first == "" {
		// Suffix range: the last n bytes.
		n, ok := parseDigits(last)
		if !ok {
			return httpRange{}, errIgnoreRange
		}
		if n == 0 {
			return httpRange{}, errUnsatisfiable
		}
		n = min(n, size)
		return httpRange{start: size - n, length: n}, nil
	}
	a, ok := parseDigits(first)
	if !ok {
		return httpRange{}, errIgnoreRange
	}
	end := size - 1
	if last != "" {
		b, ok := parseDigits(last)
		if !ok || b < a {
			return httpRange{}, errIgnoreRange
		}
		end = min(b, end)
	}
	if a >= size {
		return httpRange{}, errUnsatisfiable
	}
	return httpRange{start: a, length: end - a + 1}, nil
}

// parseDigits parses a non-empty run of ASCII digits, saturating at
// math.MaxInt64 (a position that large is past any file).
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + d
	}
	return n, true
}

// ifRangeMatches reports whether a Range field may be honoured: there is no
// If-Range field, or it names the current ETag (strong comparison) or the
// exact Last-Modified date found in h.
func ifRangeMatches(r *http.Request, h http.Header) bool {
	ir := textproto.TrimString(r.Header.Get("If-Range"))
	if ir == "" {
		return true
	}
	if strings.HasPrefix(ir, `"`) || strings.HasPrefix(ir, "W/") {
		tag, rest := scanETag(ir)
		cur, _ := scanETag(textproto.TrimString(h.Get("Etag")))
		return tag != "" && rest == "" && cur != "" && strongMatch(tag, cur)
	}
	lm := h.Get("Last-Modified")
	if lm == "" {
		return false
	}
	t1, err1 := http.ParseTime(ir)
	t2, err2 := http.ParseTime(lm)
	return err1 == nil && err2 == nil && t1.Equal(t2)
}

// scanETag returns the entity tag at the start of s (with its W/ prefix, if
// any) and what follows it, or "" when s does not start with one.
func scanETag(s string) (tag, rest string) {
	start := 0
	if strings.HasPrefix(s, "W/") {
		start = 2
	}
	if len(s)-start < 2 || s[start] != '"' {
		return "", ""
	}
	for i := start + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[:i+1], s[i+1:]
		case c == 0x21 || c >= 0x23 && c <= 0x7e || c >= 0x80:
		default:
			return "", ""
		}
	}
	return "", ""
}

func strongMatch(a, b string) bool {
	return a == b && !strings.HasPrefix(a, "W/")
}

func weakMatch(a, b string) bool {
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}

// etagListMatches reports whether the list of entity tags in an If-Match or
// If-None-Match field (or "*") matches etag, a field value from the
// response. A malformed list matches nothing.
func etagListMatches(list, etag string, match func(a, b string) bool) bool {
	cur, _ := scanETag(textproto.TrimString(etag))
	for s := textproto.TrimString(list); s != ""; {
		if s[0] == ',' {
			s = textproto.TrimString(s[1:])
			continue
		}
		if s[0] == '*' {
			if cur != "" {
				return true
			}
			s = textproto.TrimString(s[1:])
			continue
		}
		tag, rest := scanETag(s)
		if tag == "" {
			return false
		}
		if cur != "" && match(tag, cur) {
			return true
		}
		s = textproto.TrimString(rest)
	}
	return false
}
