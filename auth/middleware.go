package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/internal/reqctx"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// Outcome is what a [Scheme] made of a request's credentials.
type Outcome int

const (
	// NoCredentials: nothing for this scheme; the request goes on
	// anonymously.
	NoCredentials Outcome = iota
	// Authenticated: good credentials, [Result.User] set.
	Authenticated
	// BadCredentials: wrong or unusable credentials: 401 with the
	// challenges (fail closed: never downgraded to anonymous access).
	BadCredentials
	// BadRequest: a malformed header or, for Digest, a uri parameter
	// other than the request target: 400.
	BadRequest
)

// Result is what [Scheme.Verify] returns.
type Result struct {
	Outcome Outcome
	// User is the authenticated user, for Authenticated. It may be
	// shared with other requests (see [User]).
	User *User
	// Challenge, for BadCredentials, is what the 401 offers instead of
	// the challenges of the scheme's [Flow]: Digest's stale=true for an
	// expired nonce, Basic alone for an NTLM token sent through
	// Negotiate. Nil means the Flow's challenges.
	Challenge Challenger
	// Expires, for Authenticated, is when the credentials stop being
	// valid (a Kerberos ticket's end): a [Session] started from them
	// ends no later. Zero means no such bound.
	Expires time.Time
}

// A Scheme is one HTTP authentication scheme (Basic, Digest, Negotiate)
// run by a [Flow], which reads the Authorization header once for all its
// schemes and owns everything they have in common: a repeated header is
// 400, the identity and the outcome go into the request's record
// ([reqinfo.Record]: [FromContext], REMOTE_USER, an access log's user), bad
// credentials get 401 with the challenges, a technical failure 503.
// [BasicAuth] and [DigestAuth] are Schemes; so is auth/kerberos's
// Negotiate.
type Scheme interface {
	Challenger
	// Name is the scheme's name in the Authorization header ("Basic"),
	// matched case-insensitively. It must be an HTTP token.
	Name() string
	// Verify checks credentials of this scheme: token is what follows
	// the scheme's name in the request's only Authorization header,
	// blanks trimmed. It may add response headers to w (a mutual
	// authentication token) but never writes a status or a body. A
	// non-nil error is a technical failure (a password file that became
	// unreadable, a KDC that cannot be reached): the request gets 503.
	Verify(w http.ResponseWriter, r *http.Request, token string) (Result, error)
}

// A Session remembers a login across requests, such as a signed cookie
// (auth/kerberos's, GssapiUseSessions): a request that carries a valid one
// skips the schemes of its [Flow].
type Session interface {
	// User returns the user r's session carries, nil when r has none.
	// A non-nil error says why a session was ignored (for the log); the
	// request then goes through the schemes.
	User(r *http.Request) (*User, error)
	// Start remembers u, just authenticated (and normalized), for the
	// next requests, no later than expires (zero for no bound beyond
	// the session's own lifetime), by adding a header to w.
	Start(w http.ResponseWriter, r *http.Request, u *User, expires time.Time) error
}

// FlowConfig configures [NewFlow].
type FlowConfig struct {
	// Schemes are the schemes the flow accepts, in the order their
	// challenges are offered. At least one; no two of one name.
	Schemes []Scheme
	// Normalize rewrites the authenticated name before anything after
	// the flow sees it (see [BasicConfig.Normalize]); it does not apply
	// to a user from a Session, stored already normalized. Nil keeps the
	// name.
	Normalize Normalizer
	// Session, when set, is consulted before the Authorization header
	// and started after each login. Nil means none.
	Session Session
	// Logger receives bad credentials (at Info), session problems (at
	// Info) and technical failures (at Error). Nil means slog.Default().
	Logger *slog.Logger
}

// Flow is the authentication middleware every scheme of this module runs
// in ([NewFlow]). It is a [Challenger] offering its schemes' challenges in
// order.
type Flow struct {
	schemes []Scheme
	norm    Normalizer
	session Session
	logger  *slog.Logger
}

var _ Challenger = (*Flow)(nil)

// NewFlow validates cfg and returns its middleware.
func NewFlow(cfg FlowConfig) (*Flow, error) {
	if len(cfg.Schemes) == 0 {
		return nil, errors.New("auth: a Flow without schemes")
	}
	seen := map[string]bool{}
	for i, s := range cfg.Schemes {
		if s == nil {
			return nil, fmt.Errorf("auth: Flow scheme %d is nil", i)
		}
		name := strings.ToLower(s.Name())
		if !validToken(name) {
			return nil, fmt.Errorf("auth: Flow scheme %d: name %q is not an HTTP token", i, s.Name())
		}
		if seen[name] {
			return nil, fmt.Errorf("auth: Flow has two %s schemes", s.Name())
		}
		seen[name] = true
	}
	return &Flow{
		schemes: slices.Clone(cfg.Schemes),
		norm:    cfg.Normalize,
		session: cfg.Session,
		logger:  reqctx.Logger(cfg.Logger),
	}, nil
}

// validToken reports whether s is an RFC 9110 token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// Challenge implements [Challenger]: each scheme's challenge, in order.
func (f *Flow) Challenge(h http.Header, r *http.Request) {
	for _, s := range f.schemes {
		s.Challenge(h, r)
	}
}

// Wrap returns next behind the flow:
//
//   - a request already authenticated by an earlier middleware goes on;
//   - with a Session, a request carrying a valid one goes on as its user;
//   - more than one Authorization header: 400, whatever the schemes;
//   - no Authorization header, or one of a scheme the flow does not
//     accept: the request goes on anonymously, with the flow registered
//     as a challenger for a later [MustRequire];
//   - good credentials go on with the user recorded in the request's
//     [reqinfo.Record] (made if no outer layer made one), after Normalize
//     (a name it refuses gets 403), and start the Session;
//   - bad credentials get 401 with every challenge (fail closed);
//   - a malformed header gets 400;
//   - a technical failure gets 503 and the detail is logged.
//
// The record also gets the outcome, when an outer layer made one:
// [reqinfo.AuthOK] with the user, [reqinfo.AuthFailed] for bad or
// malformed credentials, [reqinfo.AuthDenied] for a name Normalize
// refused, [reqinfo.AuthUnavailable] for a technical failure; a request
// without credentials leaves it [reqinfo.AuthNone].
func (f *Flow) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.serve(next, w, r)
	})
}

// credentials returns the scheme of r's only Authorization header among
// f's and its token, or the outcome without one: NoCredentials (no header,
// or another scheme's) or BadRequest (several headers).
func (f *Flow) credentials(r *http.Request) (Scheme, string, Outcome) {
	hdr := r.Header["Authorization"] // canonical already: no Values lookup
	if len(hdr) == 0 {
		return nil, "", NoCredentials
	}
	if len(hdr) > 1 {
		return nil, "", BadRequest
	}
	name, token, _ := strings.Cut(hdr[0], " ")
	for _, s := range f.schemes {
		if strings.EqualFold(name, s.Name()) {
			return s, strings.Trim(token, " \t"), Authenticated
		}
	}
	return nil, "", NoCredentials
}

// Authenticate checks r's credentials as the flow does, without a Session
// and without Normalize: the user and true for good ones, nil and false
// for bad, missing or malformed ones, and an error only for a technical
// failure.
func (f *Flow) Authenticate(w http.ResponseWriter, r *http.Request) (*User, bool, error) {
	s, token, _ := f.credentials(r)
	if s == nil {
		return nil, false, nil
	}
	res, err := s.Verify(w, r, token)
	if err != nil || res.Outcome != Authenticated || res.User == nil {
		return nil, false, err
	}
	return res.User, true, nil
}

func (f *Flow) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	if _, ok := FromContext(r.Context()); ok {
		next.ServeHTTP(w, r)
		return
	}
	if f.session != nil {
		u, err := f.session.User(r)
		if err != nil {
			f.logger.Info("auth: ignoring the session", append(reqctx.LogAttrs(r), "err", err)...)
		}
		if u != nil {
			next.ServeHTTP(w, withAuthenticated(r, u))
			return
		}
	}
	rec := reqinfo.FromContext(r.Context())
	s, token, out := f.credentials(r)
	switch {
	case out == BadRequest:
		rec.SetAuth("", reqinfo.AuthFailed)
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	case s == nil:
		next.ServeHTTP(w, WithChallenger(r, f))
		return
	}
	res, err := s.Verify(w, r, token)
	if err != nil {
		rec.SetAuth(s.Name(), reqinfo.AuthUnavailable)
		f.logger.Error("auth: checking credentials", append(reqctx.LogAttrs(r), "scheme", s.Name(), "err", err)...)
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	switch res.Outcome {
	case NoCredentials:
		next.ServeHTTP(w, WithChallenger(r, f))
	case Authenticated:
		u := res.User
		if u == nil {
			rec.SetAuth(s.Name(), reqinfo.AuthUnavailable)
			f.logger.Error("auth: a scheme authenticated nobody", append(reqctx.LogAttrs(r), "scheme", s.Name())...)
			http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
			return
		}
		if f.norm != nil {
			name := f.norm(u.Name)
			if name == "" {
				rec.SetAuth(s.Name(), reqinfo.AuthDenied)
				f.logger.Warn("auth: the normalizer refused the user name", append(reqctx.LogAttrs(r), "user", u.Name)...)
				http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
				return
			}
			u = normalized(u, name)
		}
		if f.session != nil {
			if err := f.session.Start(w, r, u, res.Expires); err != nil {
				f.logger.Error("auth: starting the session", append(reqctx.LogAttrs(r), "err", err)...)
			}
		}
		next.ServeHTTP(w, withAuthenticated(r, u))
	case BadRequest:
		rec.SetAuth(s.Name(), reqinfo.AuthFailed)
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
	default:
		rec.SetAuth(s.Name(), reqinfo.AuthFailed)
		f.logger.Info("auth: bad credentials", append(reqctx.LogAttrs(r), "scheme", s.Name())...)
		if res.Challenge != nil {
			writeUnauthorized(w, r, res.Challenge)
			return
		}
		writeUnauthorized(w, r, f)
	}
}

// withAuthenticated records the user a middleware of this package just
// authenticated in r's record, made here when no outer layer made one, and
// returns the request to hand on (r itself when it had a record). Layers
// further out that share the record see the user once the call returns,
// as Apache's access log sees r->user.
func withAuthenticated(r *http.Request, u *User) *http.Request {
	r, rec := reqinfo.Ensure(r)
	rec.SetUser(u)
	return r
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

// staleChallenger is Digest's challenge with stale=true.
type staleChallenger struct{ d *DigestAuth }

func (c staleChallenger) Challenge(h http.Header, r *http.Request) { c.d.challenge(h, true) }

// WriteUnauthorized answers 401 with the WWW-Authenticate challenges of
// every [Challenger] registered on r's context and then of self (which may
// be nil), each once: what a [Flow] answers to bad credentials, for a
// handler of its own (such as [CheckHandler]).
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
			key = sc.d
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
