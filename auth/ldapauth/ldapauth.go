package ldapauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/internal/reqctx"
	"github.com/gowsgi/gowsgi/internal/ttlcache"
)

// Config configures a [Directory]. Only URL is required.
type Config struct {
	// URL is the AuthLDAPURL, parsed by [ParseURL]: servers, base DN,
	// login attribute, scope, filter and an optional trailing connection
	// mode (NONE, SSL, TLS, STARTTLS).
	URL string

	// BindDN and BindPassword are the service account that searches the
	// directory (AuthLDAPBindDN, AuthLDAPBindPassword). An empty BindDN
	// means anonymous searches.
	BindDN       string
	BindPassword string

	// RemoteUserAttribute is the attribute of the user's entry whose value
	// becomes the user's name, REMOTE_USER
	// (AuthLDAPRemoteUserAttribute). Empty means the name the client
	// typed; so does an entry without the attribute.
	RemoteUserAttribute string

	// GroupAttributes are the attributes of a group entry that list its
	// members (AuthLDAPGroupAttribute). Empty means "member" and
	// "uniqueMember".
	GroupAttributes []string
	// GroupMembersAreNames makes GroupAttributes hold login names (as
	// posixGroup's memberUid does) instead of DNs: it is
	// AuthLDAPGroupAttributeIsDN off. False means DNs, Apache's default.
	GroupMembersAreNames bool
	// SubGroupAttributes are the attributes through which a group lists
	// the groups nested in it (AuthLDAPSubGroupAttribute). Empty means
	// "member" and "uniqueMember".
	SubGroupAttributes []string
	// SubGroupClasses are the object classes of entries that count as
	// nested groups (AuthLDAPSubGroupClass). Empty means "groupOfNames",
	// "groupOfUniqueNames" and Active Directory's "group".
	SubGroupClasses []string
	// MaxSubGroupDepth is how many levels of nested groups
	// Require ldap-group follows (AuthLDAPMaxSubGroupDepth). Zero means
	// 10, Apache's default; a negative value means direct members only.
	MaxSubGroupDepth int
	// GroupBaseDN, when set, confines nested groups to its subtree: a
	// member of a group that lies elsewhere is not followed as a
	// sub-group, even when it is of a SubGroupClasses class. Apache has no
	// such limit. Use it where entries outside a trusted subtree may be
	// created by people who must not grant membership (a group in a
	// self-service OU, listed as a member of Trac's group). Empty means no
	// limit: sub-groups are found wherever they are, as Apache finds them,
	// by reading the group's members and probing each member DN; no search
	// under any base DN is involved.
	GroupBaseDN string

	// MemberOf makes Require ldap-group read the user's memberOf attribute
	// (and, for nested groups, the groups' own memberOf) instead of the
	// groups' member lists: Active Directory's view of the same data,
	// readable by a user who may not list the groups. False means member
	// lists, as Apache does.
	MemberOf bool
	// MatchingRuleInChain makes Require ldap-group ask Active Directory to
	// resolve nested groups itself, in one search with the
	// LDAP_MATCHING_RULE_IN_CHAIN rule (1.2.840.113556.1.4.1941):
	// (memberOf:1.2.840.113556.1.4.1941:=<group DN>) on the user's entry.
	// Only Active Directory implements it; other servers find no match.
	// False means the portable walk of MaxSubGroupDepth levels.
	MatchingRuleInChain bool

	// ChaseReferrals makes searches follow the referrals (continuation
	// references) the server returns, binding to the referred server with
	// the same service account (AuthLDAPReferrals on). False means
	// referrals are ignored: Active Directory returns some for its
	// DomainDnsZones and ForestDnsZones partitions on every subtree search
	// from the domain root, and chasing them costs a connection each.
	ChaseReferrals bool
	// ReferralHopLimit bounds how many referrals are followed in a chain
	// (AuthLDAPReferralHopLimit). Zero means 5.
	ReferralHopLimit int

	// TLSConfig configures ldaps:// and StartTLS connections. Nil means
	// the system's roots and the URL's host name as ServerName.
	TLSConfig *tls.Config

	// Timeout bounds each call to the directory as a whole: a login
	// (connect, bind, search, bind as the user) or a Require check. A
	// server that does not answer makes the call fail with an error after
	// Timeout, never later. Zero means 5 seconds.
	Timeout time.Duration
	// PoolSize is the maximum number of connections open to the
	// directory for searches, and separately for binding as users; calls
	// beyond it wait (within Timeout) for a connection. Zero means 8.
	PoolSize int

	// CacheTTL is how long a successful login and a Require answer are
	// remembered (LDAPCacheTTL, LDAPOpCacheTTL). Zero means 10 minutes,
	// Apache's default; a negative value disables the cache. Logins are
	// cached under a keyed hash of the name and password: no password is
	// kept in memory. A password changed in the directory is still
	// accepted for up to CacheTTL, as with Apache.
	CacheTTL time.Duration
	// CacheEntries bounds each cache (LDAPCacheEntries). Zero means 1024.
	CacheEntries int

	// Logger receives the reasons of refusals and failures. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Directory checks passwords and Require rules against an LDAP directory
// or Active Directory, as mod_authnz_ldap does. It is safe for concurrent
// use. Close releases its connections.
type Directory struct {
	cfg    Config
	url    *URL
	logger *slog.Logger

	timeout     time.Duration
	depth       int
	groupAttrs  []string
	subAttrs    []string
	subClasses  []string
	groupBaseDN *ldap.DN // nil: sub-groups anywhere
	hopLimit    int
	searchAttrs []string

	dialer   *dialer
	service  *pool // bound as BindDN (or anonymous): searches, compares
	userBind *pool // binds as users

	cacheKey []byte
	logins   *ttlcache.Cache[string, *auth.User]
	answers  *ttlcache.Cache[string, bool]
	// subgroups maps a group's normalized DN to its sub-groups (Apache's
	// sub-group list, sgl_processed in its operation cache).
	subgroups *ttlcache.Cache[string, []string]
	dns       *ttlcache.Cache[string, string]
}

var _ auth.PasswordChecker = (*Directory)(nil)

// New checks cfg and returns a Directory. It does not contact the
// directory: a server that is down at start only fails the requests that
// need it.
func New(cfg Config) (*Directory, error) {
	if cfg.URL == "" {
		return nil, errors.New("ldapauth: Config.URL is empty")
	}
	u, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	d := &Directory{cfg: cfg, url: u, logger: reqctx.Logger(cfg.Logger)}
	if cfg.BindDN != "" {
		if _, err := ldap.ParseDN(cfg.BindDN); err != nil {
			return nil, fmt.Errorf("ldapauth: BindDN %q: %w", cfg.BindDN, err)
		}
		if cfg.BindPassword == "" {
			return nil, fmt.Errorf("ldapauth: BindDN %q without a BindPassword", cfg.BindDN)
		}
	}
	d.timeout = cfg.Timeout
	if d.timeout == 0 {
		d.timeout = 5 * time.Second
	}
	if d.timeout < 0 {
		return nil, errors.New("ldapauth: negative Timeout")
	}
	d.depth = cfg.MaxSubGroupDepth
	if d.depth == 0 {
		d.depth = 10
	}
	d.groupAttrs = orDefault(cfg.GroupAttributes, "member", "uniqueMember")
	d.subAttrs = orDefault(cfg.SubGroupAttributes, "member", "uniqueMember")
	d.subClasses = orDefault(cfg.SubGroupClasses, "groupOfNames", "groupOfUniqueNames", "group")
	for _, list := range [][]string{d.groupAttrs, d.subAttrs, d.subClasses, {cfg.RemoteUserAttribute}} {
		for _, a := range list {
			if a != "" && !validAttr(a) {
				return nil, fmt.Errorf("ldapauth: %q is not an attribute or class name", a)
			}
		}
	}
	if cfg.GroupBaseDN != "" {
		b, err := ldap.ParseDN(cfg.GroupBaseDN)
		if err != nil {
			return nil, fmt.Errorf("ldapauth: GroupBaseDN %q: %w", cfg.GroupBaseDN, err)
		}
		d.groupBaseDN = b
	}
	d.hopLimit = cfg.ReferralHopLimit
	if d.hopLimit == 0 {
		d.hopLimit = 5
	}
	if d.hopLimit < 0 {
		return nil, errors.New("ldapauth: negative ReferralHopLimit")
	}
	size := cfg.PoolSize
	if size == 0 {
		size = 8
	}
	if size < 0 {
		return nil, errors.New("ldapauth: negative PoolSize")
	}
	ttl := cfg.CacheTTL
	if ttl == 0 {
		ttl = 10 * time.Minute
	}
	entries := cfg.CacheEntries
	if entries == 0 {
		entries = 1024
	}
	if entries < 0 {
		return nil, errors.New("ldapauth: negative CacheEntries")
	}
	d.searchAttrs = append(d.searchAttrs, u.Attributes...)
	if cfg.RemoteUserAttribute != "" {
		d.searchAttrs = append(d.searchAttrs, cfg.RemoteUserAttribute)
	}
	if cfg.MemberOf {
		d.searchAttrs = append(d.searchAttrs, "memberOf")
	}
	if len(d.searchAttrs) == 0 {
		d.searchAttrs = []string{"1.1"} // RFC 4511: no attributes
	}
	d.cacheKey = make([]byte, 32)
	if _, err := rand.Read(d.cacheKey); err != nil {
		return nil, fmt.Errorf("ldapauth: cache key: %w", err)
	}
	d.logins = ttlcache.New[string, *auth.User](ttl, entries)
	d.answers = ttlcache.New[string, bool](ttl, entries)
	d.subgroups = ttlcache.New[string, []string](ttl, entries)
	d.dns = ttlcache.New[string, string](ttl, entries)

	d.dialer = &dialer{url: u, tls: cfg.TLSConfig}
	var serviceBind func(*ldap.Conn) error
	if cfg.BindDN != "" {
		serviceBind = func(c *ldap.Conn) error { return c.Bind(cfg.BindDN, cfg.BindPassword) }
	}
	d.service = newPool(d.dialer, size, serviceBind)
	d.userBind = newPool(d.dialer, size, nil)
	return d, nil
}

func orDefault(v []string, def ...string) []string {
	if len(v) == 0 {
		return def
	}
	return v
}

// URL returns the parsed AuthLDAPURL.
func (d *Directory) URL() URL {
	u := *d.url
	u.Hosts = append([]string(nil), u.Hosts...)
	u.Attributes = append([]string(nil), u.Attributes...)
	return u
}

// Close closes the idle connections. Calls still running finish; their
// connections are closed when they end.
func (d *Directory) Close() error {
	d.service.close()
	d.userBind.close()
	return nil
}

// PurgeCache forgets every cached login and Require answer.
func (d *Directory) PurgeCache() {
	d.logins.Purge()
	d.answers.Purge()
	d.subgroups.Purge()
	d.dns.Purge()
}

// maxUserLen bounds the login names searched for.
const maxUserLen = 1024

// CheckPassword implements [auth.PasswordChecker] by search-then-bind, as
// mod_authnz_ldap: it searches the URL's base for exactly one entry
// matching (&(filter)(attribute=user)), with the user name escaped so that
// it can never change the filter, then binds as that entry's DN with the
// password on a connection of its own.
//
// An empty name or password, a name longer than 1024 bytes, a name that
// matches no entry or several, and a wrong password are bad credentials
// (nil, false, nil); an unreachable or
// hung directory is an error. The user's Attributes hold the entry's DN
// under "dn" and the URL's attributes; its Name is the
// RemoteUserAttribute's value, or the name as typed.
func (d *Directory) CheckPassword(ctx context.Context, user, password string) (*auth.User, bool, error) {
	if user == "" || password == "" {
		// An LDAP bind with an empty password is an anonymous bind, which
		// "succeeds" (RFC 4513 5.1.2): never send one.
		return nil, false, nil
	}
	if len(user) > maxUserLen {
		// Apache truncates its filter at 8 KiB; a name this long is no
		// login name, and is not worth a search.
		d.logger.LogAttrs(ctx, slog.LevelInfo, "ldapauth: user name too long", slog.Int("bytes", len(user)))
		return nil, false, nil
	}
	key := d.loginKey(user, password)
	if u, ok := d.logins.Get(key); ok {
		return cloneUser(u), true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	f, err := d.findUser(ctx, user)
	if err != nil || f == nil {
		return nil, false, err
	}
	entry := f.entry
	ok, err := d.bindAs(ctx, f.at, entry.DN, password)
	if err != nil || !ok {
		if err == nil {
			d.logger.LogAttrs(ctx, slog.LevelInfo, "ldapauth: wrong password", slog.String("user", user), slog.String("dn", entry.DN))
		}
		return nil, false, err
	}
	u := d.userFromEntry(user, entry)
	d.logins.Put(key, u)
	d.dns.Put(u.Name, entry.DN)
	return cloneUser(u), true, nil
}

// loginKey is a keyed hash of the credentials: the cache never holds a
// password, and its keys are useless without this process's random key.
func (d *Directory) loginKey(user, password string) string {
	m := hmac.New(sha256.New, d.cacheKey)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(user)))
	m.Write(n[:])
	m.Write([]byte(user))
	m.Write([]byte(password))
	return string(m.Sum(nil))
}

// UserFilter returns the filter that finds the entry of the login name
// user: (&(<URL filter>)(<attribute>=<user, escaped>)).
func (d *Directory) UserFilter(user string) string {
	eq := "(" + d.url.Attribute + "=" + ldap.EscapeFilter(user) + ")"
	if d.url.Filter == "" {
		return eq
	}
	return "(&(" + d.url.Filter + ")" + eq + ")"
}

// found is a search result entry and the server it came from: nil for the
// URL's servers, the referral's URL for an entry found by chasing one.
type found struct {
	entry *ldap.Entry
	at    *URL
}

// findUser returns the one entry for user, nil when there is none or more
// than one.
func (d *Directory) findUser(ctx context.Context, user string) (*found, error) {
	req := ldap.NewSearchRequest(d.url.BaseDN, d.url.Scope, ldap.DerefAlways,
		2, int(d.timeout/time.Second)+1, false, d.UserFilter(user), d.searchAttrs, nil)
	res, err := d.searchFound(ctx, req)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		if IsUnavailable(err) {
			return nil, err
		}
		return nil, fmt.Errorf("ldapauth: searching for %q: %w", user, err)
	}
	switch {
	case len(res) == 1 && err == nil:
		return &res[0], nil
	case len(res) == 0:
		d.logger.LogAttrs(ctx, slog.LevelInfo, "ldapauth: user not found", slog.String("user", user))
	default:
		d.logger.LogAttrs(ctx, slog.LevelWarn, "ldapauth: user is not unique (search found two or more matches)", slog.String("user", user))
	}
	return nil, nil
}

// search runs req with the service account, following referrals when
// configured. An LDAP error answer is returned as is; a connection failure
// wraps errUnavailable.
func (d *Directory) search(ctx context.Context, req *ldap.SearchRequest) ([]*ldap.Entry, error) {
	res, err := d.searchFound(ctx, req)
	entries := make([]*ldap.Entry, len(res))
	for i, f := range res {
		entries[i] = f.entry
	}
	return entries, err
}

func (d *Directory) searchFound(ctx context.Context, req *ldap.SearchRequest) ([]found, error) {
	var res *ldap.SearchResult
	err := d.service.do(ctx, func(c *ldap.Conn) error {
		var err error
		res, err = c.Search(req)
		return err
	})
	if res == nil {
		return nil, err
	}
	out := make([]found, 0, len(res.Entries))
	for _, e := range res.Entries {
		out = append(out, found{entry: e})
	}
	if err == nil && d.cfg.ChaseReferrals && len(res.Referrals) > 0 {
		more, rerr := d.chase(ctx, req, res.Referrals, d.hopLimit)
		if rerr != nil {
			return nil, rerr
		}
		out = append(out, more...)
	}
	return out, err
}

// bindAs binds as dn with password on a connection of its own: from the
// user-bind pool, or to the server of a referral (at).
func (d *Directory) bindAs(ctx context.Context, at *URL, dn, password string) (bool, error) {
	var ok bool
	do := d.userBind.do
	if at != nil {
		do = func(ctx context.Context, fn func(c *ldap.Conn) error) error {
			return d.withConnTo(ctx, at, fn)
		}
	}
	err := do(ctx, func(c *ldap.Conn) error {
		err := c.Bind(dn, password)
		switch {
		case err == nil:
			ok = true
			return nil
		case isConnError(err):
			return err
		default:
			// invalidCredentials, and what Active Directory answers for
			// locked, disabled or expired accounts.
			d.logger.LogAttrs(ctx, slog.LevelDebug, "ldapauth: bind refused", slog.String("dn", dn), slog.Any("err", err))
			return nil
		}
	})
	return ok, err
}

func (d *Directory) userFromEntry(typed string, e *ldap.Entry) *auth.User {
	u := &auth.User{Name: typed, AuthType: "Basic", Attributes: map[string][]string{"dn": {e.DN}}}
	for _, a := range e.Attributes {
		u.Attributes[a.Name] = append([]string(nil), a.Values...)
	}
	if a := d.cfg.RemoteUserAttribute; a != "" {
		if v := e.GetEqualFoldAttributeValue(a); v != "" {
			u.Name = v
		}
	}
	if u.Name != typed {
		u.Original = typed
	}
	if d.cfg.MemberOf {
		u.Groups = e.GetEqualFoldAttributeValues("memberOf")
		if u.Groups == nil {
			u.Groups = []string{}
		}
	}
	return u
}

func cloneUser(u *auth.User) *auth.User {
	c := *u
	if u.Groups != nil {
		c.Groups = append([]string(nil), u.Groups...)
	}
	c.Attributes = make(map[string][]string, len(u.Attributes))
	for k, v := range u.Attributes {
		c.Attributes[k] = append([]string(nil), v...)
	}
	return &c
}

// IsUnavailable reports whether err means the directory could not be
// reached or did not answer in time (the Basic middleware answers 503).
func IsUnavailable(err error) bool { return errors.Is(err, errUnavailable) }

// joinArgs joins the words of a Require line back into one DN or filter,
// dropping the double quotes around it, if any.
func joinArgs(args []string) string {
	s := strings.TrimSpace(strings.Join(args, " "))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}
