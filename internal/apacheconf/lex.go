package apacheconf

import (
	"fmt"
	"strings"
)

// Bounds on what a file may make the parser hold, so that a hostile or
// broken file cannot exhaust memory: each is checked as the file is read,
// and exceeding one is an error naming the file and line.
const (
	// MaxFileSize is the largest file read (Apache has no such bound;
	// real configurations are a few kilobytes).
	MaxFileSize = 1 << 20
	// MaxTotalSize bounds the bytes read across a file and its includes.
	MaxTotalSize = 16 << 20
	// MaxLineLength bounds a logical line, continuations joined and
	// variables expanded (Apache's own bound is 16 MiB of continuation
	// but 8 KiB for most directives' arguments).
	MaxLineLength = 64 << 10
	// MaxNesting bounds how deeply sections nest.
	MaxNesting = 32
	// MaxIncludeDepth bounds how deeply Include nests (Apache: 128).
	MaxIncludeDepth = 32
	// MaxDirectives bounds the directives of a configuration, includes
	// counted.
	MaxDirectives = 100000
)

// A line is one logical line of a file: continuations joined, the
// position of its first physical line.
type line struct {
	text string
	pos  Pos
}

// splitLines cuts src into logical lines as Apache's ap_cfg_getline
// does: a backslash that is the very last byte of a line (before the
// newline and an optional carriage return) and is not itself escaped by
// another backslash joins the next line to it, the backslash and newline
// removed; leading and trailing white space is trimmed; empty lines and
// lines whose first non-blank character is '#' are dropped. As in
// Apache, a comment line ending in a backslash swallows the next line.
func splitLines(file string, src []byte) ([]line, error) {
	var out []line
	var cur strings.Builder
	start := 0 // line number of the logical line's first physical line
	n := 0
	s := string(src)
	for len(s) > 0 {
		var phys string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			phys, s = s[:i], s[i+1:]
		} else {
			phys, s = s, ""
		}
		n++
		if cur.Len() == 0 {
			start = n
		}
		phys = strings.TrimSuffix(phys, "\r")
		cont := strings.HasSuffix(phys, `\`) && !strings.HasSuffix(phys, `\\`)
		if cont {
			phys = phys[:len(phys)-1]
		}
		if cur.Len()+len(phys) > MaxLineLength {
			return nil, &Error{Pos: Pos{file, start}, Msg: fmt.Sprintf("line longer than %d bytes", MaxLineLength)}
		}
		cur.WriteString(phys)
		if cont && len(s) > 0 {
			continue
		}
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" || text[0] == '#' {
			continue
		}
		out = append(out, line{text: text, pos: Pos{file, start}})
	}
	return out, nil
}

// isSpace is C's isspace in the "C" locale, as Apache uses it.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// getWord returns the first word of s and the rest, as Apache's
// ap_getword_conf: leading white space skipped; a word starting with '"'
// or '\” runs to the matching quote (or the end of the line: an
// unterminated quote is not an error in Apache), inside which a backslash
// escapes the quote and itself; an unquoted word runs to the next white
// space, a backslash escaping only another backslash. Other backslashes
// are kept. ok is false when s holds no more words.
func getWord(s string) (word, rest string, ok bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return "", "", false
	}
	s = s[i:]
	var end int
	if q := s[0]; q == '"' || q == '\'' {
		j := 1
		for j < len(s) && s[j] != q {
			if s[j] == '\\' && j+1 < len(s) && (s[j+1] == q || s[j+1] == '\\') {
				j += 2
			} else {
				j++
			}
		}
		word = unescape(s[1:j], q)
		end = j
		if j < len(s) {
			end++
		}
	} else {
		j := 0
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		word = unescape(s[:j], 0)
		end = j
	}
	rest = s[end:]
	for len(rest) > 0 && isSpace(rest[0]) {
		rest = rest[1:]
	}
	return word, rest, true
}

// unescape is Apache's substring_conf: a backslash before a backslash,
// or before the quote character q when q is not 0, is dropped.
func unescape(s string, q byte) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '\\' || (q != 0 && s[i+1] == q)) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// words splits s into all its words with [getWord].
func words(s string) []string {
	var out []string
	for {
		w, rest, ok := getWord(s)
		if !ok {
			return out
		}
		out = append(out, w)
		s = rest
	}
}

// expand replaces each ${NAME} in s by the value lookup gives, as
// Apache's ap_resolve_env (the result is not scanned again). A name
// lookup does not know is left as written and reported in undefined, as
// Apache warns "Config variable ${NAME} is not defined" and keeps it.
func expand(s string, lookup func(string) (string, bool)) (out string, undefined []string, err error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			break
		}
		name := s[i+2 : i+2+j]
		b.WriteString(s[:i])
		if v, ok := lookup(name); ok && name != "" {
			b.WriteString(v)
		} else {
			undefined = append(undefined, name)
			b.WriteString(s[i : i+3+j])
		}
		s = s[i+3+j:]
		if b.Len() > MaxLineLength {
			return "", nil, fmt.Errorf("line longer than %d bytes once variables are expanded", MaxLineLength)
		}
	}
	b.WriteString(s)
	if b.Len() > MaxLineLength {
		return "", nil, fmt.Errorf("line longer than %d bytes once variables are expanded", MaxLineLength)
	}
	return b.String(), undefined, nil
}
