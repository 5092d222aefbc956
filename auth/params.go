package auth

import (
	"errors"
	"strings"
)

// maxAuthParams bounds the parameters of one Authorization header.
const maxAuthParams = 32

// parseAuthParams parses the auth-param list of an Authorization header
// after its scheme (RFC 7235 §2.1): comma-separated name=value pairs whose
// values are tokens or quoted-strings. Names are returned lower-case; a
// repeated name, a missing '=', an unterminated quoted-string, a control
// character or more than 32 parameters are errors.
func parseAuthParams(s string) (map[string]string, error) {
	out := map[string]string{}
	i := 0
	skipOWS := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	for {
		skipOWS()
		for i < len(s) && s[i] == ',' { // empty list elements are allowed
			i++
			skipOWS()
		}
		if i >= len(s) {
			break
		}
		start := i
		for i < len(s) && isTchar(s[i]) {
			i++
		}
		if i == start {
			return nil, errors.New("auth: malformed auth-param name")
		}
		name := strings.ToLower(s[start:i])
		skipOWS()
		if i >= len(s) || s[i] != '=' {
			return nil, errors.New("auth: auth-param without '='")
		}
		i++
		skipOWS()
		var val string
		if i < len(s) && s[i] == '"' {
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				c := s[i]
				switch {
				case c == '"':
					closed = true
				case c == '\\':
					i++
					if i >= len(s) {
						return nil, errors.New("auth: unterminated quoted-string")
					}
					c = s[i]
					fallthrough
				default:
					if (c < 0x20 && c != '\t') || c == 0x7f {
						return nil, errors.New("auth: control character in quoted-string")
					}
					b.WriteByte(c)
				}
				i++
				if closed {
					break
				}
			}
			if !closed {
				return nil, errors.New("auth: unterminated quoted-string")
			}
			val = b.String()
		} else {
			start := i
			for i < len(s) && isTchar(s[i]) {
				i++
			}
			if i == start {
				return nil, errors.New("auth: empty auth-param value")
			}
			val = s[start:i]
		}
		if _, dup := out[name]; dup {
			return nil, errors.New("auth: repeated auth-param " + name)
		}
		if len(out) == maxAuthParams {
			return nil, errors.New("auth: too many auth-params")
		}
		out[name] = val
		skipOWS()
		if i < len(s) {
			if s[i] != ',' {
				return nil, errors.New("auth: junk after auth-param " + name)
			}
			i++
		}
	}
	return out, nil
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
