package auth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"
)

// BasicConfig configures [NewBasic] and [MustBasic] (Apache's AuthType Basic).
type BasicConfig struct {
	// Realm is the protection space shown by browsers (AuthName). Empty
	// means "Restricted".
	Realm string
	// Users checks the name and password (AuthBasicProvider): an
	// [Htpasswd], an LDAP checker from auth/ldapauth, or several combined
	// with [Checkers]. Required.
	Users PasswordChecker
	// Normalize rewrites the authenticated name before anything after this
	// middleware sees it, [MustRequire] included. Nil keeps the name as typed.
	// To let Require see the name as typed and only the application the
	// rewritten one, leave this nil and put [Normalize] after Require.
	// It applies to [BasicAuth.Wrap]; a [Flow] that runs the BasicAuth as
	// one of its schemes applies its own FlowConfig.Normalize instead.
	Normalize Normalizer
	// Logger receives bad credentials (at Info) and checker failures (at
	// Error). Nil means slog.Default().
	Logger *slog.Logger
}

// BasicAuth is the Basic authentication scheme built by [NewBasic]: its own
// middleware ([BasicAuth.Wrap]), or a [Scheme] of a [Flow] with others (as
// auth/kerberos's password fallback).
type BasicAuth struct {
	users     PasswordChecker
	htpasswd  *Htpasswd // users, when it is one; else nil
	challenge string
	flow      *Flow // the BasicAuth alone, for Wrap
}

var _ Scheme = (*BasicAuth)(nil)

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
	htpasswd, _ := cfg.Users.(*Htpasswd)
	a := &BasicAuth{
		users:     cfg.Users,
		htpasswd:  htpasswd,
		challenge: "Basic realm=" + q + `, charset="UTF-8"`,
	}
	a.flow, err = NewFlow(FlowConfig{Schemes: []Scheme{a}, Normalize: cfg.Normalize, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// MustBasic returns the middleware of [NewBasic]; it panics if cfg is invalid
// (a configuration error, found when the server is built).
//
// A request with good Basic credentials goes on with its [User] in the
// context (AuthType "Basic"); one without any goes on anonymously, leaving
// the decision to [MustRequire]; one with wrong credentials gets 401 at once.
func MustBasic(cfg BasicConfig) func(http.Handler) http.Handler {
	a, err := NewBasic(cfg)
	if err != nil {
		panic(err)
	}
	return a.Wrap
}

// Wrap returns next behind Basic authentication, in a [Flow] of its own.
func (a *BasicAuth) Wrap(next http.Handler) http.Handler { return a.flow.Wrap(next) }

// Challenge implements [Challenger].
func (a *BasicAuth) Challenge(h http.Header, r *http.Request) {
	h.Add("WWW-Authenticate", a.challenge)
}

// Name implements [Scheme]: "Basic".
func (a *BasicAuth) Name() string { return "Basic" }

// Authenticate checks r's Basic credentials. It returns the user and true
// for good ones, nil and false for bad or missing ones, and an error only
// for a technical failure. Normalize is not applied.
func (a *BasicAuth) Authenticate(r *http.Request) (*User, bool, error) {
	return a.flow.Authenticate(nil, r)
}

// Verify implements [Scheme]: token is the base64 of "user:password".
func (a *BasicAuth) Verify(w http.ResponseWriter, r *http.Request, token string) (Result, error) {
	var stack [basicStackLen]byte
	cred, ok := decodeBasic(token, stack[:])
	if !ok {
		return Result{Outcome: BadCredentials}, nil
	}
	var u *User
	var good bool
	var err error
	if a.htpasswd != nil {
		// The credentials stay in the buffer on the stack: a cached login
		// allocates nothing and leaves no copy of the password on the
		// heap. (A call through the PasswordChecker interface would move
		// the buffer to the heap.)
		u, good, err = a.htpasswd.checkPasswordBytes(r.Context(), cred.user(), cred.password())
	} else {
		user, pass := cred.strings()
		u, good, err = a.users.CheckPassword(r.Context(), user, pass)
	}
	clear(cred.buf)
	if err != nil {
		return Result{}, err
	}
	if !good || u == nil {
		return Result{Outcome: BadCredentials}, nil
	}
	if u.AuthType == "" {
		c := *u
		c.AuthType = "Basic"
		u = &c
	}
	return Result{Outcome: Authenticated, User: u}, nil
}

// basicStackLen is the size of the buffer on the stack that Basic
// credentials are decoded into; longer ones take a buffer on the heap.
const basicStackLen = 192

// basicCredentials are decoded Basic credentials, "user:password", in a
// buffer that the caller clears after use.
type basicCredentials struct {
	buf   []byte
	colon int // index of the first ':' in buf
}

func (c basicCredentials) user() []byte     { return c.buf[:c.colon] }
func (c basicCredentials) password() []byte { return c.buf[c.colon+1:] }

// strings returns user and password as strings: one allocation for both.
func (c basicCredentials) strings() (user, password string) {
	s := string(c.buf)
	return s[:c.colon], s[c.colon+1:]
}

// parseBasic parses an Authorization header value. isBasic reports whether
// its scheme is Basic (case-insensitive); ok whether it then carries valid
// base64 of "user:password" with a non-empty UTF-8 user name free of
// control characters (the password may be any bytes).
func parseBasic(header string) (user, password string, isBasic, ok bool) {
	s, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(s, "Basic") {
		return "", "", false, false
	}
	var stack [basicStackLen]byte
	cred, ok := decodeBasic(strings.Trim(token, " \t"), stack[:])
	if ok {
		user, password = cred.strings()
	}
	clear(cred.buf)
	return user, password, true, ok
}

// decodeBasic decodes a Basic token, the base64 of "user:password", into
// buf, or into a new buffer if buf is too short, without making strings.
// ok reports valid base64 (encoding/base64's standard encoding) with a
// non-empty UTF-8 user name free of control characters; cred is empty
// unless ok.
func decodeBasic(token string, buf []byte) (cred basicCredentials, ok bool) {
	if n := base64.StdEncoding.DecodedLen(len(token)); n > len(buf) {
		buf = make([]byte, n)
	}
	// encoding/base64 decodes from a []byte: the token is copied into a
	// buffer on the stack when it fits, so that a usual login allocates
	// nothing.
	var src [basicStackLen * 4 / 3]byte
	b := src[:0]
	if len(token) > len(src) {
		b = make([]byte, 0, len(token))
	}
	b = append(b, token...)
	n, err := base64.StdEncoding.Decode(buf, b)
	if err != nil {
		clear(buf)
		return basicCredentials{}, false
	}
	decoded := buf[:n]
	i := bytes.IndexByte(decoded, ':')
	if i <= 0 || !validUserName(decoded[:i]) {
		clear(decoded)
		return basicCredentials{}, false
	}
	return basicCredentials{buf: decoded, colon: i}, true
}

// validUserName reports whether name is UTF-8 free of control characters.
func validUserName(name []byte) bool {
	ascii := true
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.Valid(name)
}
