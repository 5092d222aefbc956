package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// DigestConfig configures [NewDigest] and [MustDigest] (Apache's AuthType Digest with
// mod_auth_digest and an htdigest file).
type DigestConfig struct {
	// Realm is the protection space (AuthName). It must equal the realm
	// of the htdigest entries, which is part of their hash. Required.
	Realm string
	// File is the password file written by Apache's htdigest
	// (AuthUserFile); only its entries for Realm are used. Required. It is
	// reloaded when it changes.
	File string
	// Domain lists the URIs of the protection space (AuthDigestDomain), so
	// that clients send credentials there without a new challenge. Nil
	// omits the domain parameter (the whole server).
	Domain []string
	// Secret keys the HMAC of the nonces and the opaque value. Replicas
	// that share a secret accept each other's nonces, and the opaque value
	// stays the same across restarts. Nil means a random secret per
	// process. At least 16 bytes when set.
	Secret []byte
	// NonceLifetime is how long a nonce is accepted
	// (AuthDigestNonceLifetime); an older one gets 401 with stale=true,
	// which clients answer by retrying without asking the user. Zero
	// means 5 minutes.
	NonceLifetime time.Duration
	// ReplayWindow is how far below the highest nonce count seen for a
	// nonce a count may still arrive (parallel requests of a browser reach
	// the server out of order); each count is accepted once. Zero means
	// 256.
	ReplayWindow int
	// Normalize rewrites the authenticated name, as [BasicConfig.Normalize].
	Normalize Normalizer
	// StatInterval is how often the file is checked for changes at most.
	// Zero means one second; negative means on every request.
	StatInterval time.Duration
	// Logger receives bad credentials (at Info) and file failures (at
	// Error). Nil means slog.Default().
	Logger *slog.Logger
}

// DigestAuth is the Digest authentication middleware built by [NewDigest].
type DigestAuth struct {
	realm    string
	qrealm   string
	domain   string
	secret   []byte
	opaque   string
	lifetime time.Duration
	window   uint64
	flow     *Flow // the DigestAuth alone, for Wrap
	logger   *slog.Logger
	file     *watched[map[string]string]

	mu     sync.Mutex
	counts map[string]*ncState
	swept  time.Time
}

// ncState remembers the nonce counts accepted for one nonce.
type ncState struct {
	max     uint64
	seen    map[uint64]struct{}
	expires time.Time
}

var _ Challenger = (*DigestAuth)(nil)

// NewDigest validates cfg, reads its file and returns its middleware.
func NewDigest(cfg DigestConfig) (*DigestAuth, error) {
	if cfg.Realm == "" {
		return nil, errors.New("auth: DigestConfig.Realm is empty")
	}
	if strings.ContainsRune(cfg.Realm, ':') {
		return nil, errors.New("auth: a Digest realm cannot contain ':' (htdigest separates fields with it)")
	}
	q, err := quoteRealm(cfg.Realm)
	if err != nil {
		return nil, err
	}
	d := &DigestAuth{
		realm:    cfg.Realm,
		qrealm:   q,
		lifetime: cfg.NonceLifetime,
		window:   uint64(cfg.ReplayWindow),
		logger:   reqctx.Logger(cfg.Logger),
		counts:   map[string]*ncState{},
	}
	if d.lifetime <= 0 {
		d.lifetime = 5 * time.Minute
	}
	if cfg.ReplayWindow <= 0 {
		d.window = 256
	}
	for _, u := range cfg.Domain {
		for i := 0; i < len(u); i++ {
			if u[i] <= ' ' || u[i] == '"' || u[i] == 0x7f {
				return nil, fmt.Errorf("auth: Digest domain %q: invalid character", u)
			}
		}
	}
	if len(cfg.Domain) > 0 {
		d.domain = `, domain="` + strings.Join(cfg.Domain, " ") + `"`
	}
	switch {
	case cfg.Secret == nil:
		d.secret = make([]byte, 32)
		if _, err := rand.Read(d.secret); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	case len(cfg.Secret) < 16:
		return nil, errors.New("auth: DigestConfig.Secret is shorter than 16 bytes")
	default:
		d.secret = append([]byte(nil), cfg.Secret...)
	}
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte("opaque\x00" + cfg.Realm))
	d.opaque = hex.EncodeToString(m.Sum(nil)[:16])
	realm := cfg.Realm
	d.file, err = newWatched(cfg.File, cfg.StatInterval, func(data []byte) (map[string]string, error) {
		return parseHtdigest(data, realm)
	})
	if err != nil {
		return nil, err
	}
	if users, _, _ := d.file.get(); len(users) == 0 {
		// Every login would fail: a realm mistyped, or the file of another
		// site. Refused now rather than found out by the users.
		data, err := os.ReadFile(cfg.File)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		if realms := htdigestRealms(data); len(realms) > 0 {
			return nil, fmt.Errorf("auth: no line of the htdigest file %s has the realm %q (it has %s): every login would fail", cfg.File, cfg.Realm, strings.Join(realms, ", "))
		}
		return nil, fmt.Errorf("auth: the htdigest file %s has no entries: every login would fail", cfg.File)
	}
	d.flow, err = NewFlow(FlowConfig{Schemes: []Scheme{d}, Normalize: cfg.Normalize, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// MustDigest returns the middleware of [NewDigest]; it panics if cfg is invalid
// or its file cannot be read (a configuration error, found when the server
// is built). Requests flow as with [MustBasic], and in addition a malformed
// header or a uri parameter other than the request target gets 400, and a
// good response to an expired nonce gets 401 with stale=true.
func MustDigest(cfg DigestConfig) func(http.Handler) http.Handler {
	d, err := NewDigest(cfg)
	if err != nil {
		panic(err)
	}
	return d.Wrap
}

// Wrap returns next behind Digest authentication, in a [Flow] of its own.
func (d *DigestAuth) Wrap(next http.Handler) http.Handler { return d.flow.Wrap(next) }

// Name implements [Scheme]: "Digest".
func (d *DigestAuth) Name() string { return "Digest" }

// Challenge implements [Challenger] with a fresh nonce.
func (d *DigestAuth) Challenge(h http.Header, r *http.Request) { d.challenge(h, false) }

func (d *DigestAuth) challenge(h http.Header, stale bool) {
	v := "Digest realm=" + d.qrealm + `, qop="auth", algorithm=MD5, nonce="` + d.newNonce(time.Now()) +
		`", opaque="` + d.opaque + `"` + d.domain
	if stale {
		v += ", stale=true"
	}
	h.Add("WWW-Authenticate", v)
}

// Nonces: base64url(8-byte Unix nanoseconds || 8 random bytes || first 16
// bytes of HMAC-SHA256(secret, "nonce" || realm || the 16 bytes before)).
// Stateless, so any replica with the secret can check one.
const nonceRaw = 32

func (d *DigestAuth) nonceMAC(body []byte) []byte {
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte("nonce\x00" + d.realm + "\x00"))
	m.Write(body)
	return m.Sum(nil)[:16]
}

func (d *DigestAuth) newNonce(now time.Time) string {
	var b [nonceRaw]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(b[8:16])
	copy(b[16:], d.nonceMAC(b[:16]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// checkNonce reports whether nonce was made with this secret and realm, and
// when.
func (d *DigestAuth) checkNonce(nonce string) (time.Time, bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != nonceRaw {
		return time.Time{}, false
	}
	if !hmac.Equal(b[16:], d.nonceMAC(b[:16])) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), true
}

// digestCreds are the parameters of a Digest Authorization header.
type digestCreds struct {
	username, realm, nonce, uri, response, qop, cnonce, opaque string
	nc                                                         uint64
	ncText                                                     string
}

// parseDigest parses an Authorization header value. isDigest reports
// whether its scheme is Digest; err describes what is wrong with the
// parameters of a Digest header: a missing username, realm, nonce, uri,
// response, qop, nc or cnonce; an algorithm other than MD5; a qop other
// than auth; an nc that is not 8 hex digits.
func parseDigest(header string) (c digestCreds, isDigest bool, err error) {
	s, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(s, "Digest") {
		return c, false, nil
	}
	c, err = parseDigestToken(rest)
	return c, true, err
}

// parseDigestToken parses the parameters of a Digest Authorization header,
// what follows "Digest ", as [parseDigest] does.
func parseDigestToken(token string) (c digestCreds, err error) {
	p, err := parseAuthParams(token)
	if err != nil {
		return c, err
	}
	for _, k := range []string{"username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce"} {
		if p[k] == "" {
			return c, fmt.Errorf("auth: Digest parameter %s missing", k)
		}
	}
	if a, ok := p["algorithm"]; ok && !strings.EqualFold(a, "MD5") {
		return c, fmt.Errorf("auth: Digest algorithm %q not supported", a)
	}
	if _, ok := p["username*"]; ok {
		return c, errors.New("auth: Digest username* not supported")
	}
	if p["qop"] != "auth" {
		return c, fmt.Errorf("auth: Digest qop %q not supported", p["qop"])
	}
	if len(p["nc"]) != 8 {
		return c, errors.New("auth: Digest nc is not 8 hex digits")
	}
	nc, err := strconv.ParseUint(p["nc"], 16, 32)
	if err != nil || nc == 0 {
		return c, errors.New("auth: Digest nc is not 8 hex digits")
	}
	if _, err := hex.DecodeString(p["response"]); err != nil || len(p["response"]) != 32 {
		return c, errors.New("auth: Digest response is not 32 hex digits")
	}
	c = digestCreds{
		username: p["username"], realm: p["realm"], nonce: p["nonce"], uri: p["uri"],
		response: strings.ToLower(p["response"]), qop: p["qop"], cnonce: p["cnonce"],
		opaque: p["opaque"], nc: nc, ncText: p["nc"],
	}
	return c, nil
}

// uriMatches reports whether the uri parameter repeats the request target
// the client sent; for an absolute-form target (a request through a proxy)
// its path and query also match, as mod_auth_digest allows.
func uriMatches(uri string, r *http.Request) bool {
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	if uri == target {
		return true
	}
	if !strings.HasPrefix(target, "/") && target != "*" && r.URL.IsAbs() {
		return uri == r.URL.RequestURI()
	}
	return false
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// dummyHA1 is checked for unknown users so they cost the same.
var dummyHA1 = md5hex("gowsgi-unknown-user:realm:password")

// Authenticate checks r's Digest credentials, as [BasicAuth.Authenticate].
// A good response to a stale nonce counts as bad here.
func (d *DigestAuth) Authenticate(r *http.Request) (*User, bool, error) {
	return d.flow.Authenticate(nil, r)
}

// Verify implements [Scheme]: token holds the Digest parameters.
func (d *DigestAuth) Verify(w http.ResponseWriter, r *http.Request, token string) (Result, error) {
	u, out, err := d.verify(r, token)
	switch {
	case err != nil:
		return Result{}, err
	case out == staleNonce:
		return Result{Outcome: BadCredentials, Challenge: staleChallenger{d}}, nil
	}
	return Result{Outcome: Outcome(out), User: u}, nil
}

// digestOutcome is an [Outcome], or staleNonce: the right password with an
// expired nonce, answered 401 with stale=true.
type digestOutcome Outcome

const (
	authenticated  = digestOutcome(Authenticated)
	badCredentials = digestOutcome(BadCredentials)
	badRequest     = digestOutcome(BadRequest)
	staleNonce     = digestOutcome(BadRequest + 1)
)

func (d *DigestAuth) verify(r *http.Request, token string) (*User, digestOutcome, error) {
	c, err := parseDigestToken(token)
	if err != nil {
		d.logger.Info("auth: malformed Digest header", append(reqctx.LogAttrs(r), "err", err)...)
		return nil, badRequest, nil
	}
	if !uriMatches(c.uri, r) {
		// As mod_auth_digest: a response computed for another URI.
		d.logger.Warn("auth: Digest uri does not match the request target", append(reqctx.LogAttrs(r), "uri", c.uri)...)
		return nil, badRequest, nil
	}
	if c.realm != d.realm {
		return nil, badCredentials, nil
	}
	if c.opaque != "" && subtle.ConstantTimeCompare([]byte(c.opaque), []byte(d.opaque)) != 1 {
		return nil, badCredentials, nil
	}
	issued, ok := d.checkNonce(c.nonce)
	if !ok {
		return nil, badCredentials, nil
	}
	users, _, err := d.file.get()
	if err != nil {
		return nil, badCredentials, err
	}
	ha1, known := users[c.username]
	if !known {
		ha1 = dummyHA1
	}
	ha2 := md5hex(r.Method + ":" + c.uri)
	want := md5hex(ha1 + ":" + c.nonce + ":" + c.ncText + ":" + c.cnonce + ":" + c.qop + ":" + ha2)
	if subtle.ConstantTimeCompare([]byte(want), []byte(c.response)) != 1 || !known {
		return nil, badCredentials, nil
	}
	now := time.Now()
	if now.Sub(issued) > d.lifetime || issued.After(now.Add(time.Minute)) {
		return nil, staleNonce, nil
	}
	if !d.acceptCount(c.nonce, c.nc, issued.Add(d.lifetime), now) {
		d.logger.Warn("auth: Digest nonce count replayed", append(reqctx.LogAttrs(r), "user", c.username, "nc", c.ncText)...)
		return nil, staleNonce, nil
	}
	return &User{Name: c.username, AuthType: "Digest"}, authenticated, nil
}

// acceptCount records nc for nonce and reports whether it is new and within
// the replay window. Only nonces with a correct response reach it, so the
// table grows only with real logins; expired nonces are swept.
func (d *DigestAuth) acceptCount(nonce string, nc uint64, expires, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Sub(d.swept) > d.lifetime/4 || len(d.counts) > 100000 {
		for k, s := range d.counts {
			if now.After(s.expires) {
				delete(d.counts, k)
			}
		}
		d.swept = now
	}
	s := d.counts[nonce]
	if s == nil {
		s = &ncState{seen: map[uint64]struct{}{}, expires: expires}
		d.counts[nonce] = s
	}
	if s.max >= d.window && nc <= s.max-d.window {
		return false
	}
	if _, dup := s.seen[nc]; dup {
		return false
	}
	s.seen[nc] = struct{}{}
	if nc > s.max {
		s.max = nc
		if s.max > d.window {
			for k := range s.seen {
				if k <= s.max-d.window {
					delete(s.seen, k)
				}
			}
		}
	}
	return true
}

// htdigestRealms returns the realms of an htdigest file's lines, quoted,
// sorted, each once.
func htdigestRealms(data []byte) []string {
	seen := map[string]bool{}
	scanLines(data, func(n int, line string) error {
		if f := strings.Split(line, ":"); len(f) == 3 {
			seen[strconv.Quote(f[1])] = true
		}
		return nil
	})
	return slices.Sorted(maps.Keys(seen))
}

// parseHtdigest parses an htdigest file ("user:realm:md5hex" lines) and
// returns the HA1 of each user of realm.
func parseHtdigest(data []byte, realm string) (map[string]string, error) {
	out := map[string]string{}
	err := scanLines(data, func(n int, line string) error {
		f := strings.Split(line, ":")
		if len(f) != 3 || f[0] == "" {
			return fmt.Errorf("line %d: want user:realm:hash", n)
		}
		if len(f[2]) != 32 {
			return fmt.Errorf("line %d: user %q: hash is not 32 hex digits", n, f[0])
		}
		if _, err := hex.DecodeString(f[2]); err != nil {
			return fmt.Errorf("line %d: user %q: hash is not 32 hex digits", n, f[0])
		}
		if f[1] != realm {
			return nil
		}
		if _, dup := out[f[0]]; !dup {
			out[f[0]] = strings.ToLower(f[2])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
