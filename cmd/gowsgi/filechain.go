package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/filewrap"
	"github.com/gowsgi/gowsgi/internal/apacheconf"
	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// fileHandler serves a configuration file's sites. For each request it
// asks the file which settings apply ([apacheconf.Config.Resolve]: the
// virtual host, then the sections merged as Apache merges them, a later
// section overriding an earlier one directive by directive), and passes the
// request to the chain built for exactly those settings:
//
//	Order/Allow/Deny → schemes (Negotiate → Basic → Digest) → Require → SetEnv → Alias or WSGIScriptAlias → pool
//
// Resolving per request, rather than stacking one layer per section, is
// what gives Apache's semantics: a later <Location> replaces an earlier
// one's AuthType, AuthUserFile or Require instead of adding a second
// check, and <Limit> scopes Require by method. The chains are built from
// the same [buildSchemes] and [buildLocation] as the flags' (so the same
// fail-closed checks refuse them), once per distinct set of settings: at
// startup for every mount, Alias and section of the file ([fileProbes]),
// so that a bad combination stops the start with the section's file and
// line; a combination no probe met (two regular expressions overlapping)
// is built on its first request and kept.
type fileHandler struct {
	conf   *apacheconf.Config
	base   authConfig
	limit  int64 // the listener's LimitRequestBody (0: none)
	logger *slog.Logger
	pools  map[string]http.Handler
	mounts map[*apacheconf.Mount]http.Handler
	static map[*apacheconf.Alias]http.Handler

	// chains maps chainKey to its handler; read without a lock on every
	// request.
	chains  sync.Map
	mu      sync.Mutex // guards the fields below
	nchains int
	schemes map[string]*schemes
	closers []func() error
}

// maxChains bounds the chains kept: past it, a new combination is built
// for its request and dropped.
const maxChains = 4096

// buildFileHandler builds the handler of cfg.File's sites, in front of
// apps (apps[i] runs the pool cfg.File.Pools[i]). closers release what it
// opened, also on error.
func buildFileHandler(cfg config, apps []http.Handler, logger *slog.Logger) (http.Handler, func() []func() error, error) {
	c := cfg.File.Conf
	h := &fileHandler{
		conf: c, base: cfg.Auth, limit: cfg.Server.LimitRequestBody, logger: logger,
		pools:   map[string]http.Handler{},
		mounts:  map[*apacheconf.Mount]http.Handler{},
		static:  map[*apacheconf.Alias]http.Handler{},
		schemes: map[string]*schemes{},
	}
	closers := func() []func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		return slices.Clone(h.closers)
	}
	for i, key := range cfg.File.Pools {
		h.pools[key] = apps[i]
	}
	for _, s := range c.Sites() {
		for _, m := range s.Mounts {
			mw, err := prefix.NewMount(m.URL)
			if err != nil {
				return nil, closers, fmt.Errorf("%s: WSGIScriptAlias: %w", m.Pos, err)
			}
			h.mounts[m] = mw(http.HandlerFunc(h.servePool))
		}
		for _, a := range s.Statics {
			p := strings.TrimRight(a.URL, "/")
			st, err := filewrap.NewStatic(filewrap.StaticConfig{Root: a.Dir, Prefix: p, Logger: logger})
			if err != nil {
				return nil, closers, fmt.Errorf("%s: Alias: %w", a.Pos, err)
			}
			h.closers = append(h.closers, st.Close)
			h.static[a] = st
		}
	}
	methods := probeMethods(c)
	for _, p := range fileProbes(c) {
		required := false
		for _, m := range methods {
			e := c.Resolve(p.host, p.path, m)
			if _, err := h.chain(e); err != nil {
				return nil, closers, probeError(p, e, err)
			}
			required = required || e.Require != nil
		}
		if p.section != nil && !required && sectionSets(p.section, "AuthType") && !sectionSets(p.section, "Satisfy") {
			return nil, closers, fmt.Errorf("%s: <%s %s>: AuthType but no Require applies to %s for any method: nothing would be authenticated or protected; add Require valid-user (or AuthType None)", p.section.Pos, p.section.Kind, p.section.Pattern, p.path)
		}
	}
	return h, closers, nil
}

// probeError places err at the section the probe was made for, else at
// the last section merged for its path (which decided last), else at the
// mount or Alias.
func probeError(p probe, e *apacheconf.Effective, err error) error {
	sec := p.section
	if sec == nil && len(e.Sections) > 0 {
		sec = e.Sections[len(e.Sections)-1]
	}
	switch {
	case sec != nil:
		return fmt.Errorf("%s: <%s %s> (for %s): %w", sec.Pos, sec.Kind, sec.Pattern, p.path, err)
	case e.Static != nil:
		return fmt.Errorf("%s: Alias %s: %w", e.Static.Pos, p.path, err)
	case e.Mount != nil:
		return fmt.Errorf("%s: WSGIScriptAlias %s: %w", e.Mount.Pos, p.path, err)
	}
	return fmt.Errorf("%s: %s: %w", p.site.Pos, p.path, err)
}

// sectionSets reports whether sec sets directive name with a value other
// than None.
func sectionSets(sec *apacheconf.Section, name string) bool {
	for _, d := range sec.Directives {
		if strings.EqualFold(d.Name, name) && !d.Section && !(len(d.Args) == 1 && strings.EqualFold(d.Args[0], "None")) {
			return true
		}
	}
	return false
}

func (h *fileHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := h.conf.Resolve(vhostHost(r), r.URL.Path, r.Method)
	next, err := h.chain(e)
	if err != nil {
		h.logger.Error("gowsgi: configuration", append(reqinfo.LogAttrs(r), "err", err)...)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	next.ServeHTTP(w, r.WithContext(withEffective(r.Context(), e)))
}

// servePool runs the request in the pool of its settings.
func (h *fileHandler) servePool(w http.ResponseWriter, r *http.Request) {
	e := effectiveFrom(r.Context())
	key := poolKey(e)
	app := h.pools[key]
	if app == nil {
		h.logger.Error("gowsgi: no worker pool for this request's process and application group", append(reqinfo.LogAttrs(r), "pool", strings.ReplaceAll(key, "\x00", " "))...)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	app.ServeHTTP(w, r)
}

// chainKey identifies the settings e holds: the site, the sections merged
// (each written once, so its position names it), the mount or Alias, the
// method's rules and access, and the pool.
func chainKey(e *apacheconf.Effective) string {
	var b strings.Builder
	b.WriteString(e.Server.Pos.String())
	for _, s := range e.Sections {
		b.WriteString("|" + s.Pos.String())
	}
	if e.Mount != nil {
		b.WriteString("|m" + e.Mount.Pos.String())
	}
	if e.Static != nil {
		b.WriteString("|a" + e.Static.Pos.String())
	}
	if e.Require != nil {
		b.WriteString("|r" + e.Require.String())
	}
	if e.Access != nil {
		b.WriteString("|h" + e.Access.String())
	}
	b.WriteString("|" + e.Satisfy)
	return b.String()
}

// chain returns the handler of e's settings, building it the first time.
func (h *fileHandler) chain(e *apacheconf.Effective) (http.Handler, error) {
	key := chainKey(e)
	if c, ok := h.chains.Load(key); ok {
		return c.(http.Handler), nil
	}
	c, err := h.build(e)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.chains.Load(key); ok {
		return old.(http.Handler), nil
	}
	if h.nchains < maxChains {
		h.chains.Store(key, c)
		h.nchains++
	}
	return c, nil
}

// build makes the chain of e's settings.
func (h *fileHandler) build(e *apacheconf.Effective) (http.Handler, error) {
	var next http.Handler = http.NotFoundHandler()
	switch {
	case e.Static != nil:
		next = h.static[e.Static]
	case e.Mount != nil:
		next = h.mounts[e.Mount]
	}
	if next == nil {
		return nil, errors.New("no handler for this Alias or WSGIScriptAlias")
	}
	if len(e.Env) > 0 {
		next = setEnv(e.Env, next)
	}
	if n := e.LimitRequestBody; n > 0 && (h.limit == 0 || n < h.limit) {
		next = limitBody(n, next)
	}
	var guard middleware
	if e.Require != nil {
		a, err := fileAuth(h.base, e, h.conf.LDAP)
		if err != nil {
			return nil, err
		}
		s, err := h.schemesFor(a)
		if err != nil {
			return nil, err
		}
		guard, err = buildLocation(locationConfig{Tree: e.Require, ChallengeDenied: true}, a, s, h.logger)
		if err != nil {
			return nil, err
		}
	}
	if e.Access != nil {
		return hostAccess(e.Access, e.Satisfy == "Any", guard, next, h.logger), nil
	}
	if guard != nil {
		next = guard(next)
	}
	return next, nil
}

// schemesFor returns the schemes of a, shared by every chain with the
// same authentication settings (one htpasswd cache, one pool of directory
// connections).
func (h *fileHandler) schemesFor(a authConfig) (*schemes, error) {
	key := fmt.Sprintf("%#v", a)
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.schemes[key]; s != nil {
		return s, nil
	}
	p, err := newProviders(a, h.logger)
	if p != nil {
		h.closers = append(h.closers, p.closers...)
	}
	if err != nil {
		return nil, err
	}
	if a.NoLDAPBasic {
		p.checkers = nil // LDAP for Require ldap-* only, not for passwords
	}
	s, err := buildSchemes(a, p, h.logger)
	if err != nil {
		return nil, err
	}
	h.schemes[key] = s
	return s, nil
}

// setEnv sets env (SetEnv) as entries of the request's WSGI environ.
func setEnv(env map[string]string, next http.Handler) http.Handler {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, rec := reqinfo.Ensure(r)
		for _, k := range keys {
			rec.SetEnviron(k, env[k])
		}
		next.ServeHTTP(w, r)
	})
}

// hostAccess applies mod_access_compat's Order, Allow and Deny: with
// Satisfy All, a refused address gets 403 and an allowed one meets the
// guard; with Satisfy Any, an allowed address skips the guard and a
// refused one must pass it (403 without one).
func hostAccess(acc *apacheconf.HostAccess, any bool, guard middleware, next http.Handler, logger *slog.Logger) http.Handler {
	guarded := next
	if guard != nil {
		guarded = guard(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := false
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			ok = acc.Allows(ap.Addr().Unmap(), r.Method)
		}
		switch {
		case ok && any:
			next.ServeHTTP(w, r)
		case ok || (any && guard != nil):
			guarded.ServeHTTP(w, r)
		default:
			logger.Info("gowsgi: refused by Order/Allow/Deny", append(reqinfo.LogAttrs(r), "client", r.RemoteAddr)...)
			http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
		}
	})
}

// treeRule turns a file's Require tree into a rule, with the checks
// buildLocation makes of -require lines: the ldap-* kinds need AuthLDAPURL,
// and a rule needing a user needs an AuthType.
//
// A <RequireNone> never grants by itself (mod_authz_core makes it neutral
// when no child grants): under <RequireAll> it is the conjunction of its
// children negated. The file's check refuses it elsewhere, as Apache does;
// should one get here, it is left out, and a rule left with nothing that
// can grant denies.
func treeRule(t *apacheconf.Require, s *schemes) (auth.Rule, error) {
	if t.Op == apacheconf.RequireNone {
		return auth.ParseRequire("all denied", nil, nil) // alone, or all its container has
	}
	return subRule(t, s)
}

func subRule(t *apacheconf.Require, s *schemes) (auth.Rule, error) {
	switch t.Op {
	case apacheconf.RequireAll, apacheconf.RequireAny, apacheconf.RequireNone:
		var rules []auth.Rule
		for _, c := range t.Children {
			if c.Op == apacheconf.RequireNone && t.Op != apacheconf.RequireAll {
				continue
			}
			r, err := subRule(c, s)
			if err != nil {
				return nil, err
			}
			if t.Op == apacheconf.RequireNone {
				r = auth.Not(r)
			}
			rules = append(rules, r)
		}
		switch {
		case len(rules) == 0 && t.Op != apacheconf.RequireNone:
			return auth.ParseRequire("all denied", nil, nil)
		case t.Op == apacheconf.RequireAny:
			return auth.Any(rules...), nil
		}
		return auth.All(rules...), nil
	}
	var (
		r   auth.Rule
		err error
	)
	if strings.HasPrefix(t.Provider, "ldap-") {
		kind := s.requireKinds[t.Provider]
		if kind == nil {
			return nil, fmt.Errorf("%s: Require %s needs AuthLDAPURL", t.Pos, t.Provider)
		}
		r, err = kind(t.Args)
		if err == nil && t.Not {
			r = auth.Not(r)
		}
	} else {
		line := strings.Join(append([]string{t.Provider}, t.Args...), " ")
		if t.Not {
			line = "not " + line
		}
		r, err = auth.ParseRequire(line, s.groups, s.requireKinds)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: Require: %w", t.Pos, err)
	}
	if !s.any && auth.NeedsUser(r) {
		return nil, fmt.Errorf("%s: Require %s needs an authenticated user, but no AuthType applies here: no request could satisfy it", t.Pos, strings.TrimPrefix(t.String(), "Require "))
	}
	return r, nil
}

// effectiveKey is the context key of a request's resolved settings.
type effectiveKey struct{}

func withEffective(ctx context.Context, e *apacheconf.Effective) context.Context {
	return context.WithValue(ctx, effectiveKey{}, e)
}

func effectiveFrom(ctx context.Context) *apacheconf.Effective {
	e, _ := ctx.Value(effectiveKey{}).(*apacheconf.Effective)
	return e
}

// fileAuth is the authentication settings of e, starting from base (the
// defaults, and the flags allowed with -f), with ldap the file's mod_ldap
// settings (nil: none).
func fileAuth(base authConfig, e *apacheconf.Effective, ldap *apacheconf.LDAPServer) (authConfig, error) {
	a := base
	if l := e.LDAP; l.BindPassword != "" && l.BindDN == "" {
		return a, errors.New("AuthLDAPBindPassword without AuthLDAPBindDN: Apache binds with an empty name and this password, which directories refuse, so no login could succeed; add AuthLDAPBindDN, the account the password belongs to")
	}
	a.Realm = e.AuthName
	a.GroupFile = e.AuthGroupFile
	if l := e.LDAP; l.URL != "" {
		a.LDAP.URL = l.URL
		if l.Security != "" {
			a.LDAP.URL += " " + l.Security
		}
		a.LDAP.BindDN = l.BindDN
		a.LDAP.BindPassword = l.BindPassword
		a.LDAP.RemoteUserAttribute = l.RemoteUserAttribute
		a.LDAP.GroupAttributes = l.GroupAttributes
		if l.GroupAttributeIsDN != nil {
			a.LDAP.GroupAttributeIsDN = *l.GroupAttributeIsDN
		}
		a.LDAP.SubGroupAttributes = l.SubGroupAttributes
		a.LDAP.SubGroupClasses = l.SubGroupClasses
		if a.LDAP.SubGroupClasses == nil {
			// Apache's default, which has no AD "group".
			a.LDAP.SubGroupClasses = []string{"groupOfNames", "groupOfUniqueNames"}
		}
		if l.MaxSubGroupDepth != nil {
			a.LDAP.MaxSubGroupDepth = *l.MaxSubGroupDepth
		}
		a.LDAP.Referrals = l.Referrals == "on"
		if l.ReferralHopLimit > 0 {
			a.LDAP.ReferralHopLimit = l.ReferralHopLimit
		}
		if ldap != nil {
			a.LDAP.CAFile = ldap.CAFile
			if t := max(ldap.ConnectionTimeout, ldap.Timeout); t > 0 {
				a.LDAP.Timeout = t
			}
			a.LDAP.CacheTTL = durationOr(max(ldap.CacheTTL, ldap.OpCacheTTL), a.LDAP.CacheTTL)
			if ldap.CacheEntries > 0 {
				a.LDAP.CacheEntries = ldap.CacheEntries
			}
		}
	}
	a.NoLDAPBasic = true
	switch e.AuthType {
	case "":
	case "Basic":
		providers := e.AuthBasicProvider
		if providers == nil {
			providers = []string{"file"}
		}
		for _, p := range providers {
			switch p {
			case "file":
				if e.AuthUserFile == "" {
					return a, errors.New("AuthType Basic with AuthBasicProvider file needs AuthUserFile")
				}
				a.Basic.Htpasswd = e.AuthUserFile
			case "ldap":
				if e.LDAP.URL == "" {
					return a, errors.New("AuthBasicProvider ldap needs AuthLDAPURL")
				}
				a.NoLDAPBasic = false
			}
		}
	case "Digest":
		if e.AuthUserFile == "" {
			return a, errors.New("AuthType Digest needs AuthUserFile")
		}
		if e.AuthName == "" {
			return a, errors.New("AuthType Digest needs AuthName (the realm of the file's entries)")
		}
		a.Digest.Htdigest = e.AuthUserFile
		a.Digest.Domain = e.AuthDigestDomain
		a.Digest.NonceLifetime = e.AuthDigestNonceLifetime
	case "GSSAPI", "Kerberos", "SSPI":
		k := e.Kerberos
		if e.AuthType == "SSPI" && (k.SSPIAuth == nil || !*k.SSPIAuth) {
			return a, errors.New("AuthType SSPI needs SSPIAuth On (mod_auth_sspi does nothing without it)")
		}
		a.Kerberos.Keytab = k.Keytab
		if a.Kerberos.Keytab == "" {
			a.Kerberos.Keytab = defaultKeytab()
		}
		a.Kerberos.SPN = k.ServiceName
		if k.Negotiate != nil && !*k.Negotiate {
			return a, errors.New("KrbMethodNegotiate Off / SSPIOfferSSPI Off: gowsgi's Kerberos provider always offers Negotiate")
		}
		a.Kerberos.Basic = k.Basic != nil && *k.Basic
		a.Kerberos.BasicFirst = k.BasicPreferred != nil && *k.BasicPreferred
		if a.Kerberos.Basic && a.Kerberos.BasicRealm == "" {
			a.Kerberos.BasicRealm = e.AuthName
		}
		switch {
		case k.LocalName != nil && *k.LocalName:
			a.Kerberos.Name = "local"
		case e.AuthType == "SSPI" && k.Domain != "":
			a.Kerberos.Name = "down-level=" + k.Domain
		case e.AuthType == "SSPI":
			a.Kerberos.Name = "down-level"
		}
		switch k.UsernameCase {
		case "lower":
			a.Normalize = strings.Trim(a.Normalize+",lower", ",")
		case "upper":
			return a, errors.New("SSPIUsernameCase upper is not supported (lower is)")
		}
	default:
		return a, fmt.Errorf("AuthType %s is not supported", e.AuthType)
	}
	return a, nil
}

// deniedChallengers are the challenges an authenticated user the rules of
// loc refuse gets with a 401 (loc.ChallengeDenied, Apache's default); nil
// answers 403.
func deniedChallengers(loc locationConfig, s *schemes) []auth.Challenger {
	if !loc.ChallengeDenied {
		return nil
	}
	return s.challengers
}

// limitBody applies a section's LimitRequestBody, below the listener's:
// a declared body over it gets 413 at once, a chunked one fails (413 from
// package wsgi) when it grows past it.
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
			return
		}
		r2 := *r
		r2.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, &r2)
	})
}

// vhostHost is the host a request's virtual host is chosen by: the Host
// header's name with the port the connection came in on, as Apache
// matches <VirtualHost *:PORT> against the local port, not the one the
// client wrote (absent from Host on the default ports). Without a
// connection (a test's recorder), the Host header as it is.
func vhostHost(r *http.Request) string {
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return r.Host
	}
	_, port, err := net.SplitHostPort(la.String())
	if err != nil {
		return r.Host
	}
	name := r.Host
	if n, _, err := net.SplitHostPort(r.Host); err == nil {
		name = n
	}
	return net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]"), port)
}
