package auth

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gowsgi/gowsgi/internal/reqctx"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// StripDomain removes a Windows domain: "EXAMPLE\alice" becomes "alice"
// (everything up to the first backslash, as the SSPI fix of Trac's mod_wsgi guide does). A
// name without a backslash is kept.
func StripDomain() Normalizer {
	return func(name string) string {
		if _, after, ok := strings.Cut(name, `\`); ok {
			return after
		}
		return name
	}
}

// StripRealm removes a Kerberos realm or mail domain: "alice@EXAMPLE.COM"
// becomes "alice" (everything from the last '@'). A name without '@' is
// kept.
func StripRealm() Normalizer {
	return func(name string) string {
		if i := strings.LastIndexByte(name, '@'); i >= 0 {
			return name[:i]
		}
		return name
	}
}

// Lower lower-cases the name (Unicode simple case folding).
func Lower() Normalizer { return strings.ToLower }

// Map replaces names found in m by their value; other names are kept. A
// name mapped to "" is refused.
func Map(m map[string]string) Normalizer {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return func(name string) string {
		if v, ok := c[name]; ok {
			return v
		}
		return name
	}
}

// Chain applies ns in order; a name refused ("") by one is refused. Nil
// elements are skipped.
func Chain(ns ...Normalizer) Normalizer {
	ns = append([]Normalizer(nil), ns...)
	return func(name string) string {
		for _, n := range ns {
			if n == nil {
				continue
			}
			if name = n(name); name == "" {
				return ""
			}
		}
		return name
	}
}

// Normalize returns middleware that rewrites the name of the authenticated
// user with n for what comes after it, keeping the name before in
// [User.Original]. Put it after [MustRequire] to let the rules see the name as
// the client or provider gave it ("EXAMPLE\alice" in a Require group) and
// the application the rewritten one, as the SSPI fix of Trac's mod_wsgi guide does; or set
// the authentication middleware's Normalize field to let the rules see the
// rewritten name too. The rewritten user replaces the one in the request's
// [reqinfo.Record], so an access log outside sees the name the application
// saw. A name that n refuses gets 403 (logged to logger; nil means
// slog.Default()) and the outcome [reqinfo.AuthDenied]. Anonymous requests
// pass unchanged.
func Normalize(n Normalizer, logger *slog.Logger) func(http.Handler) http.Handler {
	logger = reqctx.Logger(logger)
	return func(next http.Handler) http.Handler {
		if n == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := reqinfo.FromContext(r.Context())
			u := rec.User()
			if u == nil {
				next.ServeHTTP(w, r)
				return
			}
			name := n(u.Name)
			if name == "" {
				rec.SetAuth("", reqinfo.AuthDenied)
				logger.Warn("auth: the normalizer refused the user name", append(reqctx.LogAttrs(r), "user", u.Name)...)
				http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
				return
			}
			if name != u.Name {
				rec.SetUser(normalized(u, name))
			}
			next.ServeHTTP(w, r)
		})
	}
}
