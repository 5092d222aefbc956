package auth

import (
	"context"
	"net/http"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// User is an authenticated identity: the [reqinfo.User] of the request's
// record, named here because every interface of this package uses it.
//
// A *User handed out by a [PasswordChecker] or by [FromContext] may be
// shared with other requests (a password checker's cache returns the same
// one for each request with the same credentials): treat it as read-only,
// and copy it to change it, as [Normalize] does.
type User = reqinfo.User

// FromContext returns the user authenticated for the request whose context
// is ctx: the user of its [reqinfo.Record], as an authentication middleware
// of this module (or any layer calling [reqinfo.Record.SetUser]) recorded
// it.
func FromContext(ctx context.Context) (*User, bool) {
	u := reqinfo.FromContext(ctx).User()
	return u, u != nil
}

// PasswordChecker verifies a user name and a password, as a Basic
// authentication provider does (AuthBasicProvider in Apache).
//
// It returns the authenticated user and true for good credentials, nil and
// false for bad ones, and a non-nil error only for a technical failure (a
// directory that cannot be reached, a file that cannot be read). Callers fail
// closed on an error: the request is refused (503), never let through.
type PasswordChecker interface {
	CheckPassword(ctx context.Context, user, password string) (*User, bool, error)
}

// A Challenger adds its WWW-Authenticate challenge to a 401 response. An
// authentication middleware that lets an anonymous request through registers
// itself with [WithChallenger], so that a later [MustRequire] that needs a user
// can answer 401 with every scheme the server accepts.
type Challenger interface {
	// Challenge adds one or more WWW-Authenticate header values to h.
	Challenge(h http.Header, r *http.Request)
}

type challengersKey struct{}

// WithChallenger returns a shallow copy of r whose context also carries c.
func WithChallenger(r *http.Request, c Challenger) *http.Request {
	prev, _ := r.Context().Value(challengersKey{}).([]Challenger)
	next := make([]Challenger, len(prev), len(prev)+1)
	copy(next, prev)
	next = append(next, c)
	return r.WithContext(context.WithValue(r.Context(), challengersKey{}, next))
}

// Challengers returns the challengers registered on the request's context,
// in registration order.
func Challengers(r *http.Request) []Challenger {
	c, _ := r.Context().Value(challengersKey{}).([]Challenger)
	return c
}

// Decision is the outcome of a [Rule], following Apache's authorization
// results.
type Decision int

const (
	// Denied refuses the request: 403 for an authenticated user.
	Denied Decision = iota
	// Granted lets the request through.
	Granted
	// DeniedNoUser refuses an anonymous request that a user might be
	// granted: 401 with the registered challenges.
	DeniedNoUser
)

func (d Decision) String() string {
	switch d {
	case Granted:
		return "granted"
	case DeniedNoUser:
		return "denied-no-user"
	default:
		return "denied"
	}
}

// A Rule is one Require line. Allow decides for request r made by u, which
// is nil for an anonymous request. A non-nil error is a technical failure
// (a directory that cannot be reached); the request is then refused.
type Rule interface {
	Allow(r *http.Request, u *User) (Decision, error)
}

// RuleFunc adapts a function to [Rule].
type RuleFunc func(r *http.Request, u *User) (Decision, error)

// Allow calls f(r, u).
func (f RuleFunc) Allow(r *http.Request, u *User) (Decision, error) { return f(r, u) }

// A Normalizer rewrites an authenticated name into the name the
// application sees ("EXAMPLE\\alice" → "alice"), as the SSPI fix of Trac's mod_wsgi guide does
// in its WSGI script. It returns "" to refuse the name.
type Normalizer func(name string) string
