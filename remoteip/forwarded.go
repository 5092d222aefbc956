package remoteip

import (
	"net/http"
	"strings"
)

// fromForwarded reads RFC 7239 Forwarded. Each header line is parsed on its
// own, and the elements are walked from the right, as X-Forwarded-For is,
// by their for= node; the chosen element's proto= and host= were written by
// the trusted proxy that received the request from that node, so they are
// the client's scheme and host. A line that does not parse (a quoted string
// left open, a parameter given twice in one element, more than maxHops
// elements) counts as one hop whose node is "unknown": it cannot be told
// where its elements begin, so nothing in it is believed, and a proxy
// appending its own line after it is still heard. ok is false when the
// header is absent or has no element.
func (ri *RemoteIP) fromForwarded(h http.Header) (hp hop, ok bool) {
	lines := h.Values("Forwarded")
	pos := 0
	for i := len(lines) - 1; i >= 0; i-- {
		elems, valid := parseForwarded(lines[i])
		if !valid {
			elems = []hop{{from: node{name: "unknown"}}}
		}
		for j := len(elems) - 1; j >= 0; j-- {
			if pos == maxHops {
				return hop{from: node{name: "unknown"}}, true
			}
			pos++
			hp, ok = elems[j], true
			if !ri.trustedNode(hp.from) {
				return hp, true
			}
		}
	}
	return hp, ok
}

// parseForwarded parses one Forwarded header line into its elements (empty
// ones left out), each with its for= node ("unknown" when absent), proto=
// and host= as written (quotes and escapes removed). ok is false when the
// line is malformed or has more than maxHops elements.
func parseForwarded(s string) (elems []hop, ok bool) {
	i := 0
	for {
		var e hop
		var seenFor, seenProto, seenHost, nonEmpty bool
		for {
			i = skipOWS(s, i)
			if i == len(s) || s[i] == ',' {
				break
			}
			if s[i] == ';' {
				i++
				continue
			}
			start := i
			for i < len(s) && isTchar(s[i]) {
				i++
			}
			name := s[start:i]
			if name == "" || i == len(s) || s[i] != '=' {
				return nil, false
			}
			i++
			var value string
			var vok bool
			if value, i, vok = parseValue(s, i); !vok {
				return nil, false
			}
			nonEmpty = true
			switch {
			case strings.EqualFold(name, "for"):
				if seenFor {
					return nil, false
				}
				seenFor = true
				e.from = parseNode(value)
			case strings.EqualFold(name, "proto"):
				if seenProto {
					return nil, false
				}
				seenProto = true
				e.proto = value
			case strings.EqualFold(name, "host"):
				if seenHost {
					return nil, false
				}
				seenHost = true
				e.host = value
			}
			i = skipOWS(s, i)
			if i < len(s) && s[i] != ';' && s[i] != ',' {
				return nil, false
			}
		}
		if nonEmpty {
			if !seenFor {
				e.from = node{name: "unknown"}
			}
			if len(elems) == maxHops {
				return nil, false
			}
			elems = append(elems, e)
		}
		if i == len(s) {
			return elems, true
		}
		i++ // the ','
	}
}

// parseValue parses a token or a quoted-string at s[i:], returning the
// value (unquoted) and the index after it.
func parseValue(s string, i int) (string, int, bool) {
	if i < len(s) && s[i] == '"' {
		i++
		var b strings.Builder
		for i < len(s) {
			c := s[i]
			switch {
			case c == '"':
				return b.String(), i + 1, true
			case c == '\\':
				if i+1 == len(s) || !isQuotedPairChar(s[i+1]) {
					return "", i, false
				}
				b.WriteByte(s[i+1])
				i += 2
			case c == '\t' || c == ' ' || c == 0x21 || 0x23 <= c && c <= 0x5b || 0x5d <= c && c <= 0x7e || c >= 0x80:
				b.WriteByte(c)
				i++
			default:
				return "", i, false
			}
		}
		return "", i, false // unterminated
	}
	start := i
	for i < len(s) && isTchar(s[i]) {
		i++
	}
	if i == start {
		return "", i, false
	}
	return s[start:i], i, true
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isTchar reports whether c is an RFC 9110 token character.
func isTchar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isQuotedPairChar reports whether c may follow a backslash in a
// quoted-string: HTAB, SP, VCHAR or obs-text.
func isQuotedPairChar(c byte) bool {
	return c == '\t' || c == ' ' || 0x21 <= c && c <= 0x7e || c >= 0x80
}
