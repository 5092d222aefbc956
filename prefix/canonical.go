package prefix

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// Errors returned by [Canonicalize]. Each tells which status [Canonical]
// answers with: [ErrEncodedSlash] gets 404 Not Found (Apache's
// AllowEncodedSlashes Off), the others 400 Bad Request.
var (
	// ErrEncodedSlash reports a %2F or %5C in the path: an escaped "/" or
	// "\" that a later decoder could turn into a separator.
	ErrEncodedSlash = errors.New("prefix: encoded slash or backslash in path")
	// ErrInvalidPath reports a path that is not absolute, holds a bad
	// %-escape, a NUL or other control character, a raw backslash or '#',
	// or does not decode to valid UTF-8 (overlong forms included).
	ErrInvalidPath = errors.New("prefix: invalid path")
	// ErrEscapesRoot reports a ".." segment that would climb above "/".
	ErrEscapesRoot = errors.New("prefix: path escapes the root")
)

// Canonicalize returns the one canonical, decoded form of escaped, a URL
// path as the client sent it (percent-escaped, without the query). The
// result is what every rule matches on and what the application routes on.
//
// The rules, applied once:
//   - the path must start with "/";
//   - every %-escape is decoded (so %6C becomes "l" and %2e becomes "."),
//     except %2F and %5C, which are refused with [ErrEncodedSlash];
//   - a NUL or any other control character (raw or escaped), a raw "\" or
//     "#", a malformed escape, and bytes that are not valid UTF-8 (overlong
//     encodings and surrogates included) are refused with [ErrInvalidPath];
//   - empty segments ("//") collapse, "." segments are dropped and ".."
//     removes the segment before it (after decoding, so "%2e%2e" counts); a
//     ".." with nothing left to remove is refused with [ErrEscapesRoot];
//   - a trailing "/" is kept (it is meaningful to applications), as is one
//     left by a final "." or ".." segment;
//   - ";" is an ordinary character: "/login;x=1" is the segment "login;x=1",
//     both for the rules and for the application; case is kept.
//
// A result that contains "%" came from a double escape ("%256C" decodes to
// "%6C"); it is never decoded a second time.
func Canonicalize(escaped string) (string, error) {
	if escaped == "" || escaped[0] != '/' {
		return "", fmt.Errorf("%w: %q is not an absolute path", ErrInvalidPath, escaped)
	}
	if isCanonical(escaped) {
		return escaped, nil
	}
	return decodePath(escaped)
}

// decodePath is Canonicalize without its fast path.
func decodePath(escaped string) (string, error) {
	// Decode first, so that dot segments and separators are judged on the
	// bytes the application will see.
	dec := make([]byte, 0, len(escaped))
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		switch c {
		case '%':
			if i+2 >= len(escaped) || !isHex(escaped[i+1]) || !isHex(escaped[i+2]) {
				return "", fmt.Errorf("%w: bad %%-escape at byte %d", ErrInvalidPath, i)
			}
			c = unhex(escaped[i+1])<<4 | unhex(escaped[i+2])
			i += 2
			if c == '/' || c == '\\' {
				return "", fmt.Errorf("%w: at byte %d", ErrEncodedSlash, i-2)
			}
		case '\\', '#':
			return "", fmt.Errorf("%w: %q at byte %d", ErrInvalidPath, c, i)
		}
		if c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("%w: control character %#02x", ErrInvalidPath, c)
		}
		dec = append(dec, c)
	}
	if !utf8.Valid(dec) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrInvalidPath)
	}
	segs := strings.Split(string(dec[1:]), "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case "", ".":
			trailing = last
		case "..":
			if len(out) == 0 {
				return "", ErrEscapesRoot
			}
			out = out[:len(out)-1]
			trailing = last
		default:
			out = append(out, s)
			trailing = false
		}
	}
	if len(out) == 0 {
		return "/", nil
	}
	p := "/" + strings.Join(out, "/")
	if trailing {
		p += "/"
	}
	return p, nil
}

// isCanonical reports whether the absolute path p is already canonical and
// needs no decoding: the common case, answered without allocating.
func isCanonical(p string) bool {
	ascii := true
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '%' || c == '\\' || c == '#' || c < 0x20 || c == 0x7f:
			return false
		case c == '/' && i+1 < len(p) && (p[i+1] == '/' || p[i+1] == '.'):
			return false
		case c >= 0x80:
			ascii = false
		}
	}
	return ascii || utf8.ValidString(p)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// rawPath returns the path of u as the client sent it, escapes included.
// RawPath is preferred whenever it is consistent with Path: EscapedPath
// alone would re-escape Path and lose a %2F whenever RawPath holds a byte
// that url considers invalid (raw UTF-8, for instance).
func rawPath(u *url.URL) string {
	if u.Path == "" && u.RawPath == "" && u.Host != "" {
		return "/" // absolute-form target without a path (RFC 9112, 3.2.2)
	}
	if u.RawPath != "" {
		if p, err := url.PathUnescape(u.RawPath); err == nil && p == u.Path {
			return u.RawPath
		}
	}
	return u.EscapedPath()
}

type canonicalKey struct{}

// StatusFor returns the status [Canonical] answers for an error of
// [Canonicalize]: 404 for [ErrEncodedSlash], 400 otherwise.
func StatusFor(err error) int {
	if errors.Is(err, ErrEncodedSlash) {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

// canonicalRequest returns r if its path is already canonical (it went
// through [Canonical] and nothing changed it since), or a shallow copy with
// the canonical path, or an error from [Canonicalize].
func canonicalRequest(r *http.Request) (*http.Request, error) {
	if p, ok := r.Context().Value(canonicalKey{}).(string); ok && p == r.URL.Path && r.URL.RawPath == "" {
		return r, nil
	}
	if r.URL.Opaque != "" {
		return nil, fmt.Errorf("%w: opaque request target", ErrInvalidPath)
	}
	p, err := Canonicalize(rawPath(r.URL))
	if err != nil {
		return nil, err
	}
	r2 := r.WithContext(context.WithValue(r.Context(), canonicalKey{}, p))
	if p != r.URL.Path || r.URL.RawPath != "" {
		u := *r.URL
		u.Path, u.RawPath = p, ""
		r2.URL = &u
	}
	return r2, nil
}

// CanonicalConfig configures the edge middleware [CanonicalConfig.Wrap].
// Building it cannot fail (there is nothing to check: every field's zero
// value is a default), so it is a method on the configuration rather than
// a NewCanonical returning an error that is always nil.
type CanonicalConfig struct {
	// Logger receives one Info line per refused request, with the reason.
	// nil means slog.Default().
	Logger *slog.Logger
}

// Wrap returns the edge middleware that gives every request its
// canonical path (see [Canonicalize]) before any rule looks at it: the
// next handler gets a copy whose URL.Path is the canonical, decoded path
// and whose URL.RawPath is empty, so that URL.EscapedPath re-escapes it
// consistently. RequestURI is left as the client sent it. A path that
// cannot be canonicalized is refused with [StatusFor]'s status and a plain
// status text; the log gets the reason.
//
// Put it outermost. [NewLocation], [NewLocationMatch], [NewMount] and
// [NewEnvironments] recognise a request it has already handled and do not
// redo the work; without it they canonicalize by themselves.
func (cfg CanonicalConfig) Wrap(next http.Handler) http.Handler {
	log := reqctx.Logger(cfg.Logger)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2, err := canonicalRequest(r)
		if err != nil {
			refuse(w, r, log, err)
			return
		}
		next.ServeHTTP(w, r2)
	})
}

// Canonical is [CanonicalConfig.Wrap] with the zero [CanonicalConfig].
func Canonical(next http.Handler) http.Handler {
	return CanonicalConfig{}.Wrap(next)
}

// refuse answers a request whose path cannot be canonicalized.
func refuse(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := StatusFor(err)
	log.Info("prefix: refused request path", append(reqctx.LogAttrs(r),
		slog.String("raw_target", r.RequestURI), slog.Int("status", code), slog.Any("err", err))...)
	http.Error(w, http.StatusText(code), code)
}

// canonical wraps next so that it always gets a canonical request; used
// by the rules so that they are safe even without [Canonical] in front.
func canonical(next func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2, err := canonicalRequest(r)
		if err != nil {
			refuse(w, r, slog.Default(), err)
			return
		}
		next(w, r2)
	})
}
