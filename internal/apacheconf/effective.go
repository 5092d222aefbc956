package apacheconf

import (
	"net/netip"
	"strings"
	"time"
)

// Effective is what applies to one request once the sections are merged
// ([Config.Resolve]): the settings of Apache's per-directory
// configuration that gowsgi implements, as plain values. A field the file
// does not set holds Apache's default.
type Effective struct {
	// Server is the virtual host (or main server) the request goes to.
	Server *Server
	// Mount is the WSGIScriptAlias the path falls under, nil if none;
	// Static the Alias, nil if none (an Alias wins over a
	// WSGIScriptAlias, as mod_alias runs first).
	Mount  *Mount
	Static *Alias
	// Filename is the file the request maps to: the script of Mount, or
	// the file under Static's directory; <Directory> and <Files>
	// sections match it. Empty when neither applies.
	Filename string
	// Sections are the sections merged, in the order they applied.
	Sections []*Section

	// AuthType is "Basic", "Digest", "GSSAPI", "Kerberos", "SSPI" or ""
	// (none, or AuthType None).
	AuthType      string
	AuthName      string
	AuthUserFile  string
	AuthGroupFile string
	// AuthBasicProvider lists "file" and "ldap" in order; nil means file.
	AuthBasicProvider       []string
	AuthDigestDomain        []string
	AuthDigestNonceLifetime time.Duration // 0: not set (Apache: 300 s)
	LDAP                    LDAP
	Kerberos                Kerberos
	// Require holds the rules that apply to the request's method; nil:
	// none does, and the request needs no authorization (Apache then
	// grants it).
	Require *Require
	// Access is mod_access_compat's Order/Allow/Deny; nil when no
	// section set any. Satisfy is "All" (the default: Access and
	// Require must both let the request through) or "Any".
	Access  *HostAccess
	Satisfy string

	// Env is SetEnv: entries of the request's WSGI environ.
	Env map[string]string
	// ProcessGroup is the WSGIDaemonProcess the request runs in ("":
	// the default group).
	ProcessGroup string
	// ApplicationGroup is as written ("%{RESOURCE}" by default, as
	// mod_wsgi), and AppGroupKey what it resolves to for this request,
	// as mod_wsgi names its interpreters: "" for %{GLOBAL}, the server
	// name for %{SERVER}, "server|mount" for %{RESOURCE}; "" when no
	// WSGIScriptAlias applies.
	ApplicationGroup  string
	AppGroupKey       string
	PassAuthorization bool
	ScriptReloading   bool   // default true
	CallableObject    string // default "application"
	// LimitRequestBody is in bytes; 0 means no limit. Default 1 GiB,
	// as Apache 2.4.54 and later.
	LimitRequestBody int64

	require *Require // before filtering by method
	access  hostAccessSet
}

// LDAP is mod_authnz_ldap's per-directory configuration.
type LDAP struct {
	URL string
	// Security is AuthLDAPURL's second argument: NONE, SSL, TLS or
	// STARTTLS ("" when not given).
	Security            string
	BindDN              string
	BindPassword        string
	RemoteUserAttribute string
	GroupAttributes     []string // nil: member and uniqueMember
	GroupAttributeIsDN  *bool    // nil: on
	SubGroupAttributes  []string
	SubGroupClasses     []string
	MaxSubGroupDepth    *int   // nil: 10
	Referrals           string // "", "on", "off" or "default"
	ReferralHopLimit    int    // 0: not set
}

// LDAPServer is mod_ldap's server-wide configuration.
type LDAPServer struct {
	CAFile            string // LDAPTrustedGlobalCert CA_BASE64
	ConnectionTimeout time.Duration
	Timeout           time.Duration
	CacheTTL          time.Duration
	OpCacheTTL        time.Duration
	CacheEntries      int
}

// Kerberos gathers the directives of mod_auth_gssapi, mod_auth_kerb and
// mod_auth_sspi, all mapped to the Kerberos (SPNEGO) provider. Nil
// booleans were not set.
type Kerberos struct {
	// Keytab is GssapiCredStore keytab:FILE or Krb5Keytab.
	Keytab string
	// ServiceName is GssapiAcceptorName or KrbServiceName, as written.
	ServiceName string
	// Negotiate is KrbMethodNegotiate or SSPIOfferSSPI (default on).
	Negotiate *bool
	// Basic is GssapiBasicAuth, KrbMethodK5Passwd or SSPIOfferBasic.
	Basic *bool
	// BasicPreferred is SSPIBasicPreferred.
	BasicPreferred *bool
	// LocalName is GssapiLocalName, KrbLocalUserMapping or
	// SSPIOmitDomain: the user name without its realm or domain.
	LocalName *bool
	// Sessions is GssapiUseSessions.
	Sessions *bool
	// Domain is SSPIDomain; Realms is KrbAuthRealms.
	Domain string
	Realms []string
	// SSPIAuth is SSPIAuth (mod_auth_sspi does nothing without it).
	SSPIAuth *bool
	// UsernameCase is SSPIUsernameCase: "", "lower" or "upper".
	UsernameCase string
}

// HostAccess is mod_access_compat's Order, Allow and Deny for one
// request.
type HostAccess struct {
	// Order is "deny,allow" (the default), "allow,deny" or
	// "mutual-failure": the one in force for the request's method.
	Order string
	Allow []HostRule
	Deny  []HostRule
}

// HostRule is one Allow or Deny line.
type HostRule struct {
	Pos Pos
	// All is "from all"; otherwise Prefixes lists the addresses.
	All      bool
	Prefixes []netip.Prefix
	Limit    *Limit
}

func (h HostRule) matches(a netip.Addr, method string) bool {
	if !h.Limit.Applies(method) {
		return false
	}
	if h.All {
		return true
	}
	a = a.Unmap()
	for _, p := range h.Prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Allows reports whether mod_access_compat lets a client at addr make a
// request with method: with Order Deny,Allow a client is let in unless a
// Deny matches and no Allow does; with Allow,Deny (and Mutual-failure)
// it must match an Allow and no Deny.
func (h *HostAccess) Allows(addr netip.Addr, method string) bool {
	if h == nil {
		return true
	}
	match := func(rules []HostRule) bool {
		for _, r := range rules {
			if r.matches(addr, method) {
				return true
			}
		}
		return false
	}
	allowed, denied := match(h.Allow), match(h.Deny)
	if h.Order == "deny,allow" || h.Order == "" {
		return allowed || !denied
	}
	return allowed && !denied
}

func (h *HostAccess) String() string {
	var b strings.Builder
	b.WriteString("Order " + h.Order)
	for _, r := range h.Deny {
		b.WriteString("; Deny from " + r.String())
	}
	for _, r := range h.Allow {
		b.WriteString("; Allow from " + r.String())
	}
	return b.String()
}

func (h HostRule) String() string {
	s := "all"
	if !h.All {
		var parts []string
		for _, p := range h.Prefixes {
			parts = append(parts, p.String())
		}
		s = strings.Join(parts, " ")
	}
	if h.Limit != nil {
		s += " [" + h.Limit.String() + "]"
	}
	return s
}

// hostAccessSet is HostAccess while merging: which parts a section set.
type hostAccessSet struct {
	order       string
	allow, deny []HostRule
	set         bool
}

// mergeState is the state of merging one section: the list-valued
// settings it has started (the first of them in a section replaces the
// inherited list, the next ones add to it).
type mergeState struct {
	started map[string]bool
	method  string // of the request
}

// accessSection starts mod_access_compat's settings for a section that
// has one of its directives (Order, Allow, Deny, Satisfy): the module
// has no merge function, so such a section replaces the inherited
// settings whole (a section without any inherits them), as Apache 2.4
// does (TestDirectoryApache checks it).
func (s *mergeState) accessSection(e *Effective) {
	if !s.started["access"] {
		s.started["access"] = true
		e.access = hostAccessSet{set: true}
		e.Satisfy = "All"
	}
}

func (s *mergeState) list(key string, l *[]string, vals ...string) {
	if !s.started[key] {
		*l = nil
		s.started[key] = true
	}
	*l = append(*l, vals...)
}
