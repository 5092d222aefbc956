package auth

import (
	"bytes"
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
	htpasswd  *Htpasswd // users, when it is one; else nil
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
	htpasswd, _ := cfg.Users.(*Htpasswd)
	return &BasicAuth{
		users:     cfg.Users,
		htpasswd:  htpasswd,
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
	hdr := r.Header["Authorization"] // canonical already: no Values lookup
	if len(hdr) == 0 {
		return nil, noCredentials, nil
	}
	if len(hdr) > 1 {
		return nil, badRequest, nil
	}
	var stack [basicStackLen]byte
	cred, isBasic, ok := decodeBasic(hdr[0], stack[:])
	if !isBasic {
		return nil, noCredentials, nil // another scheme's credentials
	}
	if !ok {
		return nil, badCredentials, nil
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
	var stack [basicStackLen]byte
	cred, isBasic, ok := decodeBasic(header, stack[:])
	if ok {
		user, password = cred.strings()
	}
	clear(cred.buf)
	return user, password, isBasic, ok
}

// decodeBasic is [parseBasic] decoding into buf, or into a new buffer if
// buf is too short, without making strings. cred is empty unless ok.
func decodeBasic(header string, buf []byte) (cred basicCredentials, isBasic, ok bool) {
	s, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(s, "Basic") {
		return basicCredentials{}, false, false
	}
	rest = strings.Trim(rest, " ")
	if n := base64.StdEncoding.DecodedLen(len(rest)); n > len(buf) {
		buf = make([]byte, n)
	}
	n, good := decodeBase64(buf, rest)
	if !good {
		clear(buf)
		return basicCredentials{}, true, false
	}
	decoded := buf[:n]
	i := bytes.IndexByte(decoded, ':')
	if i <= 0 || !validUserName(decoded[:i]) {
		clear(decoded)
		return basicCredentials{}, true, false
	}
	return basicCredentials{buf: decoded, colon: i}, true, true
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

// decodeBase64 decodes src as base64.StdEncoding.Decode does, into dst
// (at least StdEncoding.DecodedLen(len(src)) long), and reports how many
// bytes it wrote and whether src was valid. The common case, padded text
// of the standard alphabet only, is decoded here straight from the string;
// anything else (line breaks, which StdEncoding skips, or an error) goes to
// StdEncoding itself, through a copy of src on the stack when it fits.
func decodeBase64(dst []byte, src string) (int, bool) {
	if n, ok := decodeBase64Padded(dst, src); ok {
		return n, true
	}
	var stack [basicStackLen * 4 / 3]byte
	b := stack[:0]
	if len(src) > len(stack) {
		b = make([]byte, 0, len(src))
	}
	b = append(b, src...)
	n, err := base64.StdEncoding.Decode(dst, b)
	return n, err == nil
}

// base64Values maps each byte to its value in the standard alphabet, or
// 0xff.
var base64Values = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeBase64Padded decodes padded base64 of the standard alphabet,
// ignoring the unused bits of the last character as StdEncoding does. It
// reports false for anything else, leaving dst partly written.
func decodeBase64Padded(dst []byte, src string) (int, bool) {
	if len(src)%4 != 0 {
		return 0, false
	}
	n := 0
	for len(src) >= 4 {
		q := src[:4]
		a, b, c, d := base64Values[q[0]], base64Values[q[1]], base64Values[q[2]], base64Values[q[3]]
		if (a|b|c|d)&0xc0 != 0 {
			if len(src) != 4 {
				return 0, false
			}
			// The last quantum: "xx==" is one byte, "xxx=" two.
			switch {
			case a|b < 0x40 && src[2] == '=' && src[3] == '=':
				dst[n] = a<<2 | b>>4
				return n + 1, true
			case a|b|c < 0x40 && src[3] == '=':
				dst[n] = a<<2 | b>>4
				dst[n+1] = b<<4 | c>>2
				return n + 2, true
			}
			return 0, false
		}
		out := dst[n : n+3 : n+3]
		out[0] = a<<2 | b>>4
		out[1] = b<<4 | c>>2
		out[2] = c<<6 | d
		n += 3
		src = src[4:]
	}
	return n, true
}
