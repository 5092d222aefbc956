package kerberos

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/auth"
)

// minSessionKey is the shortest accepted [Config.SessionKey].
const minSessionKey = 32

// sessionDomain separates our MACs from any other use of the same key.
const sessionDomain = "gowsgi/auth/kerberos session v1\x00"

// maxCookieLen bounds the cookie value we are willing to verify.
const maxCookieLen = 4096

// session is what the cookie carries, signed.
type session struct {
	Name     string `json:"n"`
	AuthType string `json:"t"`
	Original string `json:"o,omitempty"`
	Expires  int64  `json:"e"`
}

var errBadCookie = errors.New("kerberos: bad session cookie")

// sessions signs and checks the session cookie.
type sessions struct {
	key      []byte
	name     string
	path     string
	lifetime time.Duration
}

// encode returns the cookie value for s: base64url(JSON) "." base64url(MAC).
func (c *sessions) encode(s session) (string, error) {
	payload, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("kerberos: encoding session: %w", err)
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(c.mac(p)), nil
}

func (c *sessions) mac(p string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(sessionDomain))
	m.Write([]byte(c.name))
	m.Write([]byte{0})
	m.Write([]byte(p))
	return m.Sum(nil)
}

// decode checks value's signature and expiry at now and returns the session.
func (c *sessions) decode(value string, now time.Time) (session, error) {
	var s session
	if len(value) > maxCookieLen {
		return s, fmt.Errorf("%w: %d bytes", errBadCookie, len(value))
	}
	p, sig, ok := strings.Cut(value, ".")
	if !ok {
		return s, fmt.Errorf("%w: no signature", errBadCookie)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, c.mac(p)) {
		return s, fmt.Errorf("%w: signature mismatch", errBadCookie)
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return s, fmt.Errorf("%w: payload: %w", errBadCookie, err)
	}
	if err := json.Unmarshal(payload, &s); err != nil {
		return s, fmt.Errorf("%w: payload: %w", errBadCookie, err)
	}
	if s.Name == "" || s.AuthType == "" {
		return s, fmt.Errorf("%w: no user", errBadCookie)
	}
	if now.Unix() >= s.Expires {
		return s, fmt.Errorf("%w: expired at %s", errBadCookie, time.Unix(s.Expires, 0).UTC().Format(time.RFC3339))
	}
	return s, nil
}

var _ auth.Session = (*sessions)(nil)

// User implements [auth.Session]: the user of r's session cookie, or nil
// when there is none or it does not verify (the error then says why, for
// the log).
func (c *sessions) User(r *http.Request) (*auth.User, error) { return c.user(r, time.Now()) }

// Start implements [auth.Session]: it sets the session cookie for u.
func (c *sessions) Start(w http.ResponseWriter, r *http.Request, u *auth.User, expires time.Time) error {
	return c.set(w, r, u, time.Now(), expires)
}

func (c *sessions) user(r *http.Request, now time.Time) (*auth.User, error) {
	ck, err := r.Cookie(c.name)
	if err != nil {
		return nil, nil
	}
	s, err := c.decode(ck.Value, now)
	if err != nil {
		return nil, err
	}
	return &auth.User{Name: s.Name, AuthType: s.AuthType, Original: s.Original}, nil
}

// set adds the session cookie for u to w, expiring at the earlier of the
// configured lifetime and until (the ticket's end time; zero for none).
func (c *sessions) set(w http.ResponseWriter, r *http.Request, u *auth.User, now, until time.Time) error {
	exp := now.Add(c.lifetime)
	if !until.IsZero() && until.Before(exp) {
		exp = until
	}
	if !exp.After(now) {
		return nil
	}
	v, err := c.encode(session{Name: u.Name, AuthType: u.AuthType, Original: u.Original, Expires: exp.Unix()})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     c.name,
		Value:    v,
		Path:     c.path,
		Expires:  exp,
		MaxAge:   int(exp.Sub(now) / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}
