package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// outcome is what a scheme made of a request's credentials.
type outcome int

const (
	noCredentials  outcome = iota // nothing for this scheme: pass on anonymously
	authenticated                 // good credentials
	badCredentials                // wrong or unusable credentials: 401
	badRequest                    // a malformed header, a uri mismatch: 400
	staleNonce                    // Digest: right password, expired nonce: 401 stale=true
)

// scheme is the part of an authentication middleware that differs between
// Basic and Digest.
type scheme interface {
	Challenger
	authenticate(r *http.Request) (*User, outcome, error)
}

// serveScheme is the request flow every authentication middleware of this
// package shares:
//
//   - a request already authenticated by an earlier middleware, or with no
//     credentials for this scheme, goes on (anonymous ones with s registered
//     as a challenger, for a later [Require]);
//   - good credentials go on with the user in the context, after norm;
//   - bad credentials get 401 with every challenge (fail closed);
//   - a malformed header gets 400;
//   - a technical failure (the password file cannot be read) gets 503 and
//     the detail is logged.
func serveScheme(s scheme, norm Normalizer, logger *slog.Logger, next http.Handler, w http.ResponseWriter, r *http.Request) {
	if _, ok := FromContext(r.Context()); ok {
		next.ServeHTTP(w, r)
		return
	}
	u, out, err := s.authenticate(r)
	if err != nil {
		logger.Error("auth: checking credentials", append(reqctx.LogAttrs(r), "err", err)...)
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	switch out {
	case noCredentials:
		next.ServeHTTP(w, WithChallenger(r, s))
	case authenticated:
		if norm != nil {
			name := norm(u.Name)
			if name == "" {
				logger.Warn("auth: the normalizer refused the user name", append(reqctx.LogAttrs(r), "user", u.Name)...)
				http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
				return
			}
			u = normalized(u, name)
		}
		next.ServeHTTP(w, withAuthenticated(r, u))
	case badRequest:
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
	case staleNonce:
		writeUnauthorized(w, r, staleChallenger{s})
	default:
		logger.Info("auth: bad credentials", append(reqctx.LogAttrs(r), "scheme", authScheme(r))...)
		writeUnauthorized(w, r, s)
	}
}

// withAuthenticated hands the user a middleware of this package just
// authenticated to the next handler: recorded in the request's scope when
// an outer layer made one (command gowsgi's edge does, for every request),
// which costs no copy of the request, else as [WithUser] does. Either way
// the next handler sees the same [FromContext] and REMOTE_USER; with a
// scope, layers further out see the user too once the call returns.
func withAuthenticated(r *http.Request, u *User) *http.Request {
	if reqctx.SetScopeIdentity(r.Context(), identity{u}) {
		return r
	}
	return WithUser(r, u)
}

// normalized returns a copy of u named name, remembering the name before.
func normalized(u *User, name string) *User {
	c := *u
	if c.Original == "" {
		c.Original = c.Name
	}
	c.Name = name
	return &c
}

type staleChallenger struct{ s scheme }

func (c staleChallenger) Challenge(h http.Header, r *http.Request) {
	if d, ok := c.s.(*DigestAuth); ok {
		d.challenge(h, true)
		return
	}
	c.s.Challenge(h, r)
}

// WriteUnauthorized answers 401 with the WWW-Authenticate challenges of
// every [Challenger] registered on r's context and then of self (which may
// be nil), each once. An authentication middleware of another package (such
// as auth/kerberos) calls it for bad credentials.
func WriteUnauthorized(w http.ResponseWriter, r *http.Request, self Challenger) {
	if self == nil {
		writeUnauthorized(w, r)
		return
	}
	writeUnauthorized(w, r, self)
}

func writeUnauthorized(w http.ResponseWriter, r *http.Request, extra ...Challenger) {
	h := w.Header()
	all := append(append([]Challenger(nil), Challengers(r)...), extra...)
	// Each scheme challenges once; the last registration wins, so that a
	// stale variant replaces the plain one.
	emitted := map[Challenger]bool{}
	for i := len(all) - 1; i >= 0; i-- {
		c := all[i]
		if c == nil {
			continue
		}
		key := c
		if sc, ok := c.(staleChallenger); ok {
			key = sc.s
		}
		if !reflect.TypeOf(key).Comparable() {
			continue // a func or slice type: cannot be a map key, never merged
		}
		if emitted[key] {
			all[i] = nil
			continue
		}
		emitted[key] = true
	}
	for _, c := range all {
		if c != nil {
			c.Challenge(h, r)
		}
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintln(w, http.StatusText(http.StatusUnauthorized))
}

// authScheme returns the scheme of r's Authorization header, for logs.
func authScheme(r *http.Request) string {
	s, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return s
}

// quoteRealm validates realm and returns it as a quoted-string.
func quoteRealm(realm string) (string, error) {
	for i := 0; i < len(realm); i++ {
		if c := realm[i]; c < 0x20 || c == 0x7f {
			return "", errors.New("auth: realm contains a control character")
		}
	}
	return quoteString(realm), nil
}

// quoteString returns s as an HTTP quoted-string.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
