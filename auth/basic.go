package auth

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// BasicConfig configures [Basic] (Apache's AuthType Basic).
type BasicConfig struct {
	// Realm is the protection space shown by browsers (AuthName). Empty
	// means "Restricted".
	Realm string
	// Users checks the name and password (AuthBasicProvider): an
	// [Htpasswd], an LDAP checker from auth/ldapauth, or several combined
	// with [Checkers]. Required.
	Users PasswordChecker
	// Normalize rewrites the authenticated name before anything after this
	// middleware sees it, [Require] included. Nil keeps the name as typed.
	// To let Require see the name as typed and only the application the
	// rewritten one, leave this nil and put [Normalize] after Require.
	Normalize Normalizer
	// Logger receives bad credentials (at Info) and checker failures (at
	// Error). Nil means slog.Default().
	Logger *slog.Logger
}

// BasicAuth is the Basic authentication middleware built by [NewBasic].
type BasicAuth struct {
	users     PasswordChecker
	challenge string
	norm      Normalizer
	logger    *slog.Logger
}

var _ Challenger = (*BasicAuth)(nil)

// NewBasic validates cfg and returns its middleware.
func NewBasic(cfg BasicConfig) (*BasicAuth, error) {
	if cfg.Users == nil {
		return nil, errors.New("auth: BasicConfig.Users is nil")
	}
	realm := cfg.Realm
	if realm == "" {
		realm = "Restricted"
	}
	q, err := quoteRealm(realm)
	if err != nil {
		return nil, err
	}
	return &BasicAuth{
		users:     cfg.Users,
		challenge: "Basic realm=" + q + `, charset="UTF-8"`,
		norm:      cfg.Normalize,
		logger:    reqctx.Logger(cfg.Logger),
	}, nil
}

// Basic returns the middleware of [NewBasic]; it panics if cfg is invalid
// (a configuration error, found when the server is built).
//
// A request with good Basic credentials goes on with its [User] in the
// context (AuthType "Basic"); one without any goes on anonymously, leaving
// the decision to [Require]; one with wrong credentials gets 401 at once.
func Basic(cfg BasicConfig) func(http.Handler) http.Handler {
	a, err := NewBasic(cfg)
	if err != nil {
		panic(err)
	}
	return a.Wrap
}

// Wrap returns next behind Basic authentication.
func (a *BasicAuth) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveScheme(a, a.norm, a.logger, next, w, r)
	})
}

// Challenge implements [Challenger].
func (a *BasicAuth) Challenge(h http.Header, r *http.Request) {
	h.Add("WWW-Authenticate", a.challenge)
}

// Authenticate checks r's Basic credentials. It returns the user and true
// for good ones, nil and false for bad or missing ones, and an error only
// for a technical failure. Normalize is not applied.
func (a *BasicAuth) Authenticate(r *http.Request) (*User, bool, error) {
	u, out, err := a.authenticate(r)
	return u, out == authenticated, err
}

func (a *BasicAuth) authenticate(r *http.Request) (*User, outcome, error) {
	hdr := r.Header.Values("Authorization")
	if len(hdr) == 0 {
		return nil, noCredentials, nil
	}
	if len(hdr) > 1 {
		return nil, badRequest, nil
	}
	user, pass, isBasic, ok := parseBasic(hdr[0])
	if !isBasic {
		return nil, noCredentials, nil // another scheme's credentials
	}
	if !ok {
		return nil, badCredentials, nil
	}
	u, good, err := a.users.CheckPassword(r.Context(), user, pass)
	if err != nil {
		return nil, badCredentials, err
	}
	if !good || u == nil {
		return nil, badCredentials, nil
	}
	if u.AuthType == "" {
		c := *u
		c.AuthType = "Basic"
		u = &c
	}
	return u, authenticated, nil
}

// parseBasic parses an Authorization header value. isBasic reports whether
// its scheme is Basic (case-insensitive); ok whether it then carries valid
// base64 of "user:password" with a non-empty UTF-8 user name free of
// control characters (the password may be any bytes).
func parseBasic(header string) (user, password string, isBasic, ok bool) {
	s, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(s, "Basic") {
		return "", "", false, false
	}
	rest = strings.Trim(rest, " ")
	// Decode into a buffer on the stack and make one string of the result:
	// user and password are both slices of it (one allocation per request).
	var stack [192]byte
	buf := stack[:]
	if n := base64.StdEncoding.DecodedLen(len(rest)); n > len(buf) {
		buf = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(buf, []byte(rest))
	if err != nil {
		clear(buf)
		return "", "", true, false
	}
	decoded := string(buf[:n])
	clear(buf[:n])
	user, password, found := strings.Cut(decoded, ":")
	if !found || user == "" || !utf8.ValidString(user) {
		return "", "", true, false
	}
	for i := 0; i < len(user); i++ {
		if user[i] < 0x20 || user[i] == 0x7f {
			return "", "", true, false
		}
	}
	return user, password, true, true
}
