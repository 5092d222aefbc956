package kerberos

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// Config configures an [Authenticator]. Exactly one of Keytab and KeytabData
// is required; every other field's zero value is a working default.
type Config struct {
	// Keytab is the path of the service's keytab file
	// (GssapiCredStore keytab:..., Krb5Keytab). It is read once, by [New].
	Keytab string
	// KeytabData is the keytab's content, for a keytab that does not live
	// in a file. Set Keytab or KeytabData, not both.
	KeytabData []byte

	// SPN is the service principal the server accepts tickets for and asks
	// tickets for in the Basic fallback, such as
	// "HTTP/www.example.com@EXAMPLE.COM" (GssapiAcceptorName,
	// KrbServiceName). Without "@REALM" the realm is the one the keytab
	// holds the principal in. Empty accepts a ticket for any principal the
	// keytab has a key for, like mod_auth_gssapi without
	// GssapiAcceptorName; the Basic fallback then uses the keytab's first
	// HTTP/ principal (or its first principal).
	SPN string

	// MaxClockSkew is how far the client's clock, and a ticket's validity
	// period, may be off from ours (krb5.conf clockskew). Zero means five
	// minutes.
	MaxClockSkew time.Duration

	// DecodePAC verifies and decodes the Microsoft PAC an Active Directory
	// KDC puts into tickets, and copies the user's logon domain, effective
	// name and group SIDs into [auth.User.Attributes] ("pac-logon-domain",
	// "pac-effective-name", "pac-full-name", "pac-group-sids"). A ticket
	// whose PAC fails to verify is then refused. False (for MIT realms)
	// ignores any PAC.
	DecodePAC bool

	// Normalize turns the principal ("alice@EXAMPLE.COM") into the name
	// the application sees: see [LocalName] and [DownLevel]. An empty
	// result refuses the user (403). Nil keeps the principal. The principal
	// stays in [auth.User.Original].
	Normalize auth.Normalizer

	// Basic turns on the Basic fallback (SSPIOfferBasic, GssapiBasicAuth,
	// KrbMethodK5Passwd): 401 responses also offer Basic, and a Basic user
	// name and password are checked against the KDC. False answers only
	// Negotiate and leaves Basic headers to other middleware.
	Basic bool
	// BasicRealm is the realm of the Basic challenge (AuthName). Empty
	// means "Kerberos".
	BasicRealm string
	// BasicFirst offers Basic before Negotiate (SSPIBasicPreferred), for
	// clients that pick the first scheme they support. False offers
	// Negotiate first.
	BasicFirst bool
	// Krb5Conf is the krb5.conf the Basic fallback finds the KDC with.
	// Empty means $KRB5_CONFIG, or else /etc/krb5.conf. It is read only
	// when Basic is on.
	Krb5Conf string
	// BasicCacheTTL is how long a password the KDC accepted is remembered
	// by the Basic fallback, under a keyed hash of the name and password
	// as auth's htpasswd cache does ([auth.NewCache]): a cached login makes
	// no request to the KDC. Zero means 5 minutes; a negative value turns
	// the cache off (every Basic request costs a TGT and a service ticket
	// from the KDC). A password changed in the KDC is still accepted for up
	// to BasicCacheTTL.
	BasicCacheTTL time.Duration
	// DefaultRealm is the realm of a Basic user name typed without one
	// ("alice", or `EXAMPLE\alice`); names of other realms are refused.
	// Empty means the SPN's realm, or else krb5.conf's default_realm.
	DefaultRealm string

	// SessionKey, when set, turns on the session cookie
	// (GssapiUseSessions): after a successful login the user is remembered
	// in a signed (HMAC-SHA256 with this key), expiring, HttpOnly cookie,
	// Secure when the request came over TLS, so the next requests skip the
	// Kerberos exchange. It must be at least 32 bytes and secret. Nil turns
	// sessions off.
	SessionKey []byte
	// SessionLifetime is how long a session lasts, at most until the
	// ticket expires. Zero means one hour.
	SessionLifetime time.Duration
	// CookieName is the session cookie's name. Empty means "gowsgi_krb5".
	CookieName string
	// CookiePath is the session cookie's path. Empty means "/".
	CookiePath string

	// Logger receives a line for every refused login with the reason, and
	// for technical failures. Nil means [slog.Default].
	Logger *slog.Logger
}

// Authenticator is HTTP Negotiate (SPNEGO, RFC 4559) authentication with a
// Kerberos service keytab, with an optional Basic fallback that checks
// passwords against the KDC. Make one with [New]; it is safe for concurrent
// use. [Authenticator.Wrap] authenticates requests: an [auth.Flow]
// running the Negotiate scheme ([Authenticator.Negotiate]) and, with the
// fallback, auth's own Basic scheme over the KDC password check, so that
// header handling, challenges, the identity and the error contract are
// auth's. The Authenticator is also an [auth.Challenger] and an
// [auth.PasswordChecker].
type Authenticator struct {
	kt        *keytab.Keytab
	spn       *types.PrincipalName // nil: any principal in the keytab
	spnRealm  string
	basicSPN  types.PrincipalName // the principal the Basic fallback asks a ticket for
	basicSPNR string
	skew      time.Duration
	decodePAC bool
	norm      auth.Normalizer

	basic        *auth.BasicAuth // the fallback's scheme; nil when off
	checker      auth.PasswordChecker
	krbConf      *config.Config
	defaultRealm string

	sess   *sessions
	replay *replayCache
	logger *slog.Logger
	flow   *auth.Flow
}

var (
	_ auth.Challenger      = (*Authenticator)(nil)
	_ auth.PasswordChecker = (*Authenticator)(nil)
)

// New checks cfg, reads the keytab (and, for the Basic fallback, the
// krb5.conf) and returns the Authenticator.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{
		skew:      cfg.MaxClockSkew,
		decodePAC: cfg.DecodePAC,
		norm:      cfg.Normalize,
		logger:    reqctx.Logger(cfg.Logger),
	}
	if a.skew == 0 {
		a.skew = 5 * time.Minute
	}
	if a.skew < 0 {
		return nil, fmt.Errorf("kerberos: negative MaxClockSkew %v", cfg.MaxClockSkew)
	}
	a.replay = newReplayCache(a.skew)

	data := cfg.KeytabData
	switch {
	case cfg.Keytab != "" && data != nil:
		return nil, errors.New("kerberos: both Keytab and KeytabData are set")
	case cfg.Keytab != "":
		b, err := os.ReadFile(cfg.Keytab)
		if err != nil {
			return nil, fmt.Errorf("kerberos: reading the keytab: %w", err)
		}
		data = b
	case len(data) == 0:
		return nil, errors.New("kerberos: no keytab (Keytab or KeytabData)")
	}
	kt := keytab.New()
	if err := safely(func() error { return kt.Unmarshal(data) }); err != nil {
		return nil, fmt.Errorf("kerberos: parsing the keytab: %w", err)
	}
	if len(kt.Entries) == 0 {
		return nil, errors.New("kerberos: the keytab holds no keys")
	}
	a.kt = kt

	if cfg.SPN != "" {
		pn, realm := types.ParseSPNString(cfg.SPN)
		if realm == "" {
			realm = keytabRealm(kt, pn)
		}
		if !keytabHas(kt, pn, realm) {
			return nil, fmt.Errorf("kerberos: the keytab has no key for %s@%s", pn.PrincipalNameString(), realm)
		}
		a.spn, a.spnRealm = &pn, realm
		a.basicSPN, a.basicSPNR = pn, realm
	} else {
		e := kt.Entries[0]
		for _, x := range kt.Entries {
			if len(x.Principal.Components) == 2 && x.Principal.Components[0] == "HTTP" {
				e = x
				break
			}
		}
		a.basicSPN = types.PrincipalName{NameType: e.Principal.NameType, NameString: e.Principal.Components}
		a.basicSPNR = e.Principal.Realm
	}

	if cfg.Basic {
		path := cfg.Krb5Conf
		if path == "" {
			path = os.Getenv("KRB5_CONFIG")
		}
		if path == "" {
			path = "/etc/krb5.conf"
		}
		c, err := config.Load(path)
		if err != nil {
			return nil, fmt.Errorf("kerberos: loading %s: %w", path, err)
		}
		a.krbConf = c
		a.defaultRealm = cfg.DefaultRealm
		if a.defaultRealm == "" && cfg.SPN != "" {
			a.defaultRealm = a.spnRealm
		}
		if a.defaultRealm == "" {
			a.defaultRealm = c.LibDefaults.DefaultRealm
		}
		if a.defaultRealm == "" {
			return nil, errors.New("kerberos: no DefaultRealm for the Basic fallback (set it, the SPN's realm or krb5.conf's default_realm)")
		}
		a.checker, err = auth.NewCache(kdcChecker{a}, auth.CacheConfig{TTL: cfg.BasicCacheTTL})
		if err != nil {
			return nil, fmt.Errorf("kerberos: %w", err)
		}
		realm := cfg.BasicRealm
		if realm == "" {
			realm = "Kerberos"
		}
		a.basic, err = auth.NewBasic(auth.BasicConfig{Realm: realm, Users: a.checker, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("kerberos: BasicRealm: %w", err)
		}
	} else if cfg.BasicFirst || cfg.BasicRealm != "" || cfg.BasicCacheTTL != 0 {
		return nil, errors.New("kerberos: BasicFirst, BasicRealm and BasicCacheTTL need Basic")
	}

	if cfg.SessionKey != nil {
		if len(cfg.SessionKey) < minSessionKey {
			return nil, fmt.Errorf("kerberos: SessionKey of %d bytes, want at least %d", len(cfg.SessionKey), minSessionKey)
		}
		s := &sessions{
			key:      bytes.Clone(cfg.SessionKey),
			name:     cfg.CookieName,
			path:     cfg.CookiePath,
			lifetime: cfg.SessionLifetime,
		}
		if s.name == "" {
			s.name = "gowsgi_krb5"
		}
		if !validCookieName(s.name) {
			return nil, fmt.Errorf("kerberos: invalid CookieName %q", s.name)
		}
		if s.path == "" {
			s.path = "/"
		}
		if s.lifetime == 0 {
			s.lifetime = time.Hour
		}
		if s.lifetime < 0 {
			return nil, fmt.Errorf("kerberos: negative SessionLifetime %v", s.lifetime)
		}
		a.sess = s
	}

	schemes := []auth.Scheme{negotiate{a}}
	switch {
	case a.basic != nil && cfg.BasicFirst:
		schemes = []auth.Scheme{a.basic, negotiate{a}}
	case a.basic != nil:
		schemes = append(schemes, a.basic)
	}
	fc := auth.FlowConfig{Schemes: schemes, Normalize: a.norm, Logger: cfg.Logger}
	if a.sess != nil {
		fc.Session = a.sess
	}
	flow, err := auth.NewFlow(fc)
	if err != nil {
		return nil, fmt.Errorf("kerberos: %w", err)
	}
	a.flow = flow
	return a, nil
}

// keytabRealm returns the realm of the keytab's first key for pn, or "".
func keytabRealm(kt *keytab.Keytab, pn types.PrincipalName) string {
	for _, e := range kt.Entries {
		if samePrincipal(e.Principal.Components, pn) {
			return e.Principal.Realm
		}
	}
	return ""
}

func keytabHas(kt *keytab.Keytab, pn types.PrincipalName, realm string) bool {
	for _, e := range kt.Entries {
		if e.Principal.Realm == realm && samePrincipal(e.Principal.Components, pn) {
			return true
		}
	}
	return false
}

func samePrincipal(components []string, pn types.PrincipalName) bool {
	return types.PrincipalName{NameString: components}.Equal(pn)
}

func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// Challenge adds "WWW-Authenticate: Negotiate" to h and, with the Basic
// fallback on, the Basic challenge, in the configured order.
func (a *Authenticator) Challenge(h http.Header, r *http.Request) { a.flow.Challenge(h, r) }

// Negotiate returns the Negotiate scheme alone, for an [auth.Flow] of the
// caller's (with schemes of other packages). [Authenticator.Wrap] is
// such a flow already.
func (a *Authenticator) Negotiate() auth.Scheme { return negotiate{a} }

// basicOnly challenges with Basic alone (or nothing when the fallback is
// off): the answer to an NTLM token, so that a browser without a Kerberos
// ticket asks for a password instead of trying Negotiate again forever.
type basicOnly struct{ a *Authenticator }

func (b basicOnly) Challenge(h http.Header, r *http.Request) {
	if b.a.basic != nil {
		b.a.basic.Challenge(h, r)
	}
}

// Wrap returns next wrapped in Kerberos authentication, an
// [auth.Flow] (see [auth.Flow.Wrap] for what every scheme shares: a
// repeated Authorization header is 400, the identity reaches the
// application as REMOTE_USER, technical failures are 503):
//
//   - with sessions on, a request with a valid session cookie goes on as the
//     cookie's user;
//   - "Authorization: Negotiate <token>" with a valid Kerberos ticket for
//     this service goes on as the ticket's client, and the response carries
//     "WWW-Authenticate: Negotiate <token>" (with the mutual authentication
//     reply when the client asked for one);
//   - with the Basic fallback on, "Authorization: Basic" with a password the
//     KDC accepts goes on as that user; auth's Basic scheme parses it, and
//     a password the KDC accepted is cached (Config.BasicCacheTTL);
//   - a request with no credentials for these schemes goes on anonymously,
//     with the flow registered as an [auth.Challenger], so that a later
//     rule that needs a user (auth's Require) answers 401 with the
//     Negotiate (and Basic) challenge;
//   - bad credentials (a malformed or NTLM token, an expired ticket, a
//     ticket for another service, a replay, a wrong password) get 401 at
//     once, and the reason is logged; an NTLM token is answered with the
//     Basic challenge alone;
//   - a KDC that cannot be reached for a Basic login gets 503.
func (a *Authenticator) Wrap(next http.Handler) http.Handler { return a.flow.Wrap(next) }

// negotiate is the Negotiate scheme of an Authenticator.
type negotiate struct{ a *Authenticator }

func (n negotiate) Name() string { return "Negotiate" }

func (n negotiate) Challenge(h http.Header, r *http.Request) { h.Add("WWW-Authenticate", "Negotiate") }

func (n negotiate) Verify(w http.ResponseWriter, r *http.Request, token string) (auth.Result, error) {
	a := n.a
	tok, err := parseNegotiate(token)
	if errors.Is(err, errNTLM) {
		a.logger.Warn("kerberos: refused an NTLM token: the client has no Kerberos ticket for this server",
			append(reqctx.LogAttrs(r), "basic_offered", a.basic != nil)...)
		return auth.Result{Outcome: auth.BadCredentials, Challenge: basicOnly{a}}, nil
	}
	if err != nil {
		a.logger.Warn("kerberos: refused a Negotiate token", append(reqctx.LogAttrs(r), "err", err)...)
		return auth.Result{Outcome: auth.BadCredentials}, nil
	}
	u, until, err := a.accept(tok, r, time.Now())
	if err != nil {
		a.logger.Warn("kerberos: refused a Kerberos ticket", append(reqctx.LogAttrs(r), "err", err)...)
		return auth.Result{Outcome: auth.BadCredentials}, nil
	}
	resp, err := responseToken(tok)
	if err != nil {
		return auth.Result{}, fmt.Errorf("kerberos: building the response token for %s: %w", u.Original, err)
	}
	if len(resp) > 0 { // nothing for a raw Kerberos token without mutual authentication
		w.Header().Set("WWW-Authenticate", "Negotiate "+base64.StdEncoding.EncodeToString(resp))
	}
	return auth.Result{Outcome: auth.Authenticated, User: u, Expires: until}, nil
}

// Errors for refused tickets, besides those gokrb5 returns.
var (
	errWrongService = errors.New("kerberos: ticket for another service")
	errReplay       = errors.New("kerberos: replayed authenticator")
)

// accept verifies the AP-REQ in tok against the keytab and returns the
// ticket's client and the ticket's end time.
func (a *Authenticator) accept(tok *clientToken, r *http.Request, now time.Time) (*auth.User, time.Time, error) {
	req := &tok.apReq
	t := &req.Ticket
	sname := t.SName.PrincipalNameString() + "@" + t.Realm
	if a.spn != nil && (!t.SName.Equal(*a.spn) || t.Realm != a.spnRealm) {
		return nil, time.Time{}, fmt.Errorf("%w: %s, not %s@%s", errWrongService, sname, a.spn.PrincipalNameString(), a.spnRealm)
	}
	if a.spn == nil && !keytabHas(a.kt, t.SName, t.Realm) {
		return nil, time.Time{}, fmt.Errorf("%w: %s, which the keytab has no key for", errWrongService, sname)
	}
	cAddr, _ := types.GetHostAddress(r.RemoteAddr)
	err := safely(func() error {
		ok, err := req.Verify(a.kt, a.skew, cAddr, nil)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("ticket not valid")
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("kerberos: ticket for %s: %w", sname, err)
	}
	enc := &t.DecryptedEncPart
	principal := enc.CName.PrincipalNameString() + "@" + enc.CRealm
	if !a.replay.fresh(req.EncryptedAuthenticator.Cipher, now) {
		return nil, time.Time{}, fmt.Errorf("%w from %s", errReplay, principal)
	}
	u := &auth.User{Name: principal, AuthType: "Negotiate", Original: principal}
	if a.decodePAC {
		if err := a.pac(t, u); err != nil {
			return nil, time.Time{}, fmt.Errorf("kerberos: PAC of %s: %w", principal, err)
		}
	}
	return u, enc.EndTime, nil
}

// pac verifies the ticket's PAC, if it has one, and copies what it says
// about the user into u.Attributes.
func (a *Authenticator) pac(t *messages.Ticket, u *auth.User) error {
	return safely(func() error {
		isPAC, p, err := t.GetPACType(a.kt, nil, log.New(io.Discard, "", 0))
		if !isPAC {
			return nil
		}
		if err != nil {
			return err
		}
		info := p.KerbValidationInfo
		if info == nil {
			return nil
		}
		u.Attributes = map[string][]string{
			"pac-logon-domain":   {info.LogonDomainName.Value},
			"pac-effective-name": {info.EffectiveName.Value},
			"pac-full-name":      {info.FullName.Value},
			"pac-group-sids":     info.GetGroupMembershipSIDs(),
		}
		return nil
	})
}

// CheckPassword checks user's password against the KDC, as the Basic
// fallback does: it gets a TGT with the password, then a service ticket for
// the server's own principal, and decrypts that ticket with the keytab, so
// that a KDC impersonated on the network (which can make a TGT for any
// password) cannot log anyone in. user may be "alice", "alice@REALM" or
// `DOMAIN\alice`, in the default realm. Wrong credentials return false and a
// nil error; an unreachable KDC returns an error. It needs Config.Basic (for
// the krb5.conf).
//
// Accepted passwords are cached as the Basic fallback caches them
// (Config.BasicCacheTTL).
func (a *Authenticator) CheckPassword(ctx context.Context, user, password string) (*auth.User, bool, error) {
	if a.checker == nil {
		return nil, false, errors.New("kerberos: password checks need the Basic fallback's krb5.conf (Config.Basic)")
	}
	return a.checker.CheckPassword(ctx, user, password)
}

// kdcChecker is the password check against the KDC, behind the cache.
type kdcChecker struct{ a *Authenticator }

func (k kdcChecker) CheckPassword(ctx context.Context, user, password string) (*auth.User, bool, error) {
	u, err := k.a.checkPassword(user, password)
	if errors.Is(err, errRefused) {
		k.a.logger.Warn("kerberos: refused a Basic login", "user", user, "err", err)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return u, true, nil
}

// errRefused marks the errors of checkPassword that refuse the credentials,
// as opposed to technical failures.
var errRefused = errors.New("credentials refused")

// refused returns an error wrapping errRefused, saying why.
func refused(format string, args ...any) error {
	return fmt.Errorf("kerberos: %w: %s", errRefused, fmt.Sprintf(format, args...))
}

// checkPassword is CheckPassword returning an error that wraps errRefused
// for bad credentials, with the reason.
func (a *Authenticator) checkPassword(user, password string) (*auth.User, error) {
	if a.krbConf == nil {
		return nil, errors.New("kerberos: password checks need the Basic fallback's krb5.conf (Config.Basic)")
	}
	name, realm, err := a.basicPrincipal(user)
	if err != nil {
		return nil, err
	}
	if password == "" {
		return nil, refused("empty password")
	}
	var u *auth.User
	err = safely(func() error {
		var e error
		u, e = a.kdcLogin(name, realm, password)
		return e
	})
	return u, err
}

func (a *Authenticator) kdcLogin(name, realm, password string) (*auth.User, error) {
	cl := client.NewWithPassword(name, realm, password, a.krbConf, client.DisablePAFXFAST(true))
	defer cl.Destroy()
	principal := name + "@" + realm
	if err := cl.Login(); err != nil {
		if technical(err) {
			return nil, fmt.Errorf("kerberos: login of %s: %w", principal, err)
		}
		return nil, refused("login of %s: %v", principal, err)
	}
	spn := a.basicSPN.PrincipalNameString()
	tkt, key, err := cl.GetServiceTicket(spn)
	if err != nil {
		return nil, fmt.Errorf("kerberos: service ticket for %s@%s as %s: %w", spn, a.basicSPNR, principal, err)
	}
	// The KDC's answer proves nothing by itself: whoever answered could
	// have made the TGT from the password the client sent. Only the real
	// KDC shares our service key, so the ticket must decrypt with it and
	// carry the session key the KDC handed us, for the user we asked for.
	if !tkt.SName.Equal(a.basicSPN) || tkt.Realm != a.basicSPNR {
		return nil, refused("login of %s: the KDC returned a ticket for %s@%s", principal, tkt.SName.PrincipalNameString(), tkt.Realm)
	}
	if err := tkt.DecryptEncPart(a.kt, nil); err != nil {
		a.logger.Error("kerberos: a service ticket from the KDC does not decrypt with the keytab: impersonated KDC or stale keytab",
			"user", principal, "err", err)
		return nil, refused("login of %s: the service ticket does not decrypt with the keytab: %v", principal, err)
	}
	enc := tkt.DecryptedEncPart
	if enc.Key.KeyType != key.KeyType || !bytes.Equal(enc.Key.KeyValue, key.KeyValue) {
		return nil, refused("login of %s: session key mismatch", principal)
	}
	if !enc.CName.Equal(cl.Credentials.CName()) || enc.CRealm != realm {
		return nil, refused("login of %s: the ticket is for %s@%s", principal, enc.CName.PrincipalNameString(), enc.CRealm)
	}
	if ok, err := tkt.Valid(a.skew); !ok {
		return nil, refused("login of %s: ticket not valid: %v", principal, err)
	}
	p := enc.CName.PrincipalNameString() + "@" + enc.CRealm
	return &auth.User{Name: p, AuthType: "Basic", Original: p}, nil
}

// basicPrincipal splits a Basic user name into the principal's name and
// realm, refusing names of other realms.
func (a *Authenticator) basicPrincipal(user string) (name, realm string, err error) {
	if user == "" || len(user) > 256 || strings.ContainsFunc(user, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", "", refused("unusable user name %q", user)
	}
	name = user
	if dom, u, ok := strings.Cut(user, `\`); ok {
		first, _, _ := strings.Cut(a.defaultRealm, ".")
		if !strings.EqualFold(dom, a.defaultRealm) && !strings.EqualFold(dom, first) {
			return "", "", refused("user name %q of another domain", user)
		}
		name = u
	} else if u, r, ok := splitPrincipal(user); ok {
		if !strings.EqualFold(r, a.defaultRealm) {
			return "", "", refused("user name %q of another realm", user)
		}
		name = u
	}
	if name == "" || strings.ContainsAny(name, `@\`) {
		return "", "", refused("unusable user name %q", user)
	}
	return name, a.defaultRealm, nil
}

// technical reports whether err from a gokrb5 login is a failure to reach
// or configure the KDC rather than a refusal of the credentials.
func technical(err error) bool {
	var ke krberror.Krberror
	if errors.As(err, &ke) {
		return ke.RootCause == krberror.NetworkingError || ke.RootCause == krberror.ConfigError
	}
	return false
}
