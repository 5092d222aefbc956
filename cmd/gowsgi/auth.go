package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/prefix"
)

// authFlags are the flags of the auth layer.
type authFlags struct {
	htpasswd        string
	htdigest        string
	realm           string
	groupFile       string
	requires        listFlag
	location        string
	locPrefix       string
	checkURL        string
	secretFile      string
	normalize       string
	normalizeLate   bool
	cacheTTL        time.Duration
	digestNonceLife time.Duration
	digestDomain    listFlag
}

func (f *authFlags) register(fs *flag.FlagSet) {
	*f = authFlags{} // flags are registered anew for each FlagSet (tests)
	fs.StringVar(&f.htpasswd, "htpasswd", "", "Basic authentication against this htpasswd `file` (AuthType Basic + AuthUserFile)")
	fs.StringVar(&f.htdigest, "htdigest", "", "Digest authentication against this htdigest `file` (AuthType Digest + AuthUserFile); needs -realm")
	fs.StringVar(&f.realm, "realm", "", "authentication realm `name` (AuthName); must match the htdigest file's realm")
	fs.StringVar(&f.groupFile, "group-file", "", "Apache group `file` for -require 'group ...' (AuthGroupFile)")
	fs.Var(&f.requires, "require", "authorization `rule`: 'valid-user', 'user a b', 'group g', 'ip CIDR...', 'method GET HEAD ...', 'all granted', 'not ...', or a provider's kind such as 'ldap-group DN' (repeatable; any one suffices, as several Require lines). Default with authentication: valid-user")
	fs.StringVar(&f.location, "auth-location", "", "`regexp` of the paths that require authentication, matched like <LocationMatch> against the request path alone, never the query string: a '?' meant to start a query is refused (default: every path)")
	fs.StringVar(&f.locPrefix, "auth-prefix", "", "`path` under which requests require authentication, on whole segments like <Location PATH> (a string comparison; exclusive with -auth-location)")
	fs.StringVar(&f.checkURL, "auth-check-url", "", "`path` of a credential-check endpoint answering 200 for good credentials and 401 otherwise (Trac AccountManager's HttpAuthStore authentication_url)")
	fs.StringVar(&f.secretFile, "auth-secret-file", "", "`file` holding the secret that signs Digest nonces, shared by replicas (default: random per process)")
	fs.StringVar(&f.normalize, "normalize-user", "", "comma-separated `steps` rewriting the authenticated name the app sees: strip-domain (DOMAIN\\user), strip-realm (user@REALM), lower")
	fs.BoolVar(&f.normalizeLate, "normalize-after-require", false, "let -require rules see the name before -normalize-user (as the SSPI fix of Trac's mod_wsgi guide); default: rules see the normalized name")
	fs.DurationVar(&f.cacheTTL, "auth-cache-ttl", 0, "how long a successful htpasswd check is cached; 0 means 5m, negative disables the cache")
	fs.DurationVar(&f.digestNonceLife, "digest-nonce-lifetime", 0, "how long a Digest nonce is valid (AuthDigestNonceLifetime); 0 means 5m")
	fs.Var(&f.digestDomain, "digest-domain", "`URI` of the Digest protection space (AuthDigestDomain, repeatable)")
}

func init() {
	var f authFlags
	register(layer{
		name:  "auth",
		order: orderAuth,
		flags: f.register,
		build: f.build,
	})
}

// parseNormalizer turns the -normalize-user list into a normalizer.
func parseNormalizer(spec string) (auth.Normalizer, error) {
	if spec == "" {
		return nil, nil
	}
	var ns []auth.Normalizer
	for _, s := range strings.Split(spec, ",") {
		switch strings.TrimSpace(s) {
		case "strip-domain":
			ns = append(ns, auth.StripDomain())
		case "strip-realm":
			ns = append(ns, auth.StripRealm())
		case "lower":
			ns = append(ns, auth.Lower())
		default:
			return nil, fmt.Errorf("-normalize-user: unknown step %q (want strip-domain, strip-realm, lower)", s)
		}
	}
	return auth.Chain(ns...), nil
}

// build composes, for the paths -auth-location selects:
//
//	provider authenticators (Negotiate) → Basic → Digest → [normalize] → Require → [normalize late] → app
//
// and, for -auth-check-url, the same schemes in front of [auth.CheckHandler].
// With no auth flag and no provider contribution, the layer is off.
func (f *authFlags) build(b *builder) (func(http.Handler) http.Handler, error) {
	schemesConfigured := f.htpasswd != "" || f.htdigest != "" || len(b.passwordCheckers) > 0 || len(b.authenticators) > 0
	if !schemesConfigured && len(f.requires) == 0 && f.checkURL == "" && f.location == "" && f.locPrefix == "" && f.groupFile == "" {
		return nil, nil
	}
	norm, err := parseNormalizer(f.normalize)
	if err != nil {
		return nil, err
	}

	var schemes []func(http.Handler) http.Handler
	schemes = append(schemes, b.authenticators...)

	checkers := append([]auth.PasswordChecker(nil), b.passwordCheckers...)
	if f.htpasswd != "" {
		h, err := auth.NewHtpasswd(auth.HtpasswdConfig{Path: f.htpasswd, CacheTTL: f.cacheTTL, Logger: b.logger})
		if err != nil {
			return nil, fmt.Errorf("-htpasswd: %w", err)
		}
		checkers = append([]auth.PasswordChecker{h}, checkers...)
	}
	if len(checkers) > 0 {
		var users auth.PasswordChecker = checkers[0]
		if len(checkers) > 1 {
			users = auth.Checkers(checkers...)
		}
		basic, err := auth.NewBasic(auth.BasicConfig{Realm: f.realm, Users: users, Logger: b.logger})
		if err != nil {
			return nil, err
		}
		schemes = append(schemes, basic.Wrap)
	}
	if f.htdigest != "" {
		if f.realm == "" {
			return nil, errors.New("-htdigest needs -realm (the realm of the file's entries)")
		}
		cfg := auth.DigestConfig{
			Realm: f.realm, File: f.htdigest, Domain: f.digestDomain,
			NonceLifetime: f.digestNonceLife, Logger: b.logger,
		}
		if f.secretFile != "" {
			s, err := os.ReadFile(f.secretFile)
			if err != nil {
				return nil, fmt.Errorf("-auth-secret-file: %w", err)
			}
			cfg.Secret = bytes.TrimSpace(s)
		}
		digest, err := auth.NewDigest(cfg)
		if err != nil {
			return nil, fmt.Errorf("-htdigest: %w", err)
		}
		schemes = append(schemes, digest.Wrap)
	}

	var groups auth.GroupChecker
	if f.groupFile != "" {
		g, err := auth.LoadGroupFile(f.groupFile)
		if err != nil {
			return nil, fmt.Errorf("-group-file: %w", err)
		}
		groups = g
	}
	lines := f.requires
	if len(lines) == 0 {
		if !schemesConfigured {
			return nil, errors.New("-auth-location, -auth-check-url and -group-file need an authentication scheme (-htpasswd, -htdigest, LDAP or Kerberos) or a -require rule")
		}
		lines = listFlag{"valid-user"}
	}
	var rules []auth.Rule
	for _, l := range lines {
		if kind := requireKind(l); strings.HasPrefix(kind, "ldap-") && b.requireParsers[kind] == nil {
			return nil, fmt.Errorf("-require %q: the ldap-* kinds need -ldap-url", l)
		}
		r, err := auth.ParseRequire(l, groups, b.requireParsers)
		if err != nil {
			return nil, fmt.Errorf("-require: %w", err)
		}
		if !schemesConfigured && auth.NeedsUser(r) {
			return nil, fmt.Errorf("-require %q needs an authenticated user, but no authentication scheme is configured (-htpasswd, -htdigest, -ldap-url or -keytab): no request could satisfy it", l)
		}
		rules = append(rules, r)
	}
	if f.checkURL != "" && !schemesConfigured {
		return nil, errors.New("-auth-check-url needs an authentication scheme (-htpasswd, -htdigest, -ldap-url or -keytab): without one it could only answer 401")
	}
	require, err := auth.NewRequire(auth.RequireConfig{Rules: rules, Logger: b.logger})
	if err != nil {
		return nil, err
	}

	guarded := append([]func(http.Handler) http.Handler(nil), schemes...)
	if norm != nil && !f.normalizeLate {
		guarded = append(guarded, auth.Normalize(norm, b.logger))
	}
	guarded = append(guarded, require)
	if norm != nil && f.normalizeLate {
		guarded = append(guarded, auth.Normalize(norm, b.logger))
	}
	protect := authChain(guarded...)
	if f.location != "" {
		if err := checkLocation(f.location); err != nil {
			return nil, err
		}
		re, err := regexp.Compile(f.location)
		if err != nil {
			return nil, fmt.Errorf("-auth-location: %w", err)
		}
		protect = prefix.MustLocationMatch(re, protect)
	}
	if f.locPrefix != "" {
		if f.location != "" {
			return nil, errors.New("-auth-prefix and -auth-location are exclusive: write one -auth-location regexp")
		}
		loc, err := prefix.NewLocation(f.locPrefix, protect)
		if err != nil {
			return nil, fmt.Errorf("-auth-prefix: %w", err)
		}
		protect = loc
	}
	if f.checkURL == "" {
		return protect, nil
	}
	if !strings.HasPrefix(f.checkURL, "/") {
		return nil, fmt.Errorf("-auth-check-url %q: want an absolute path", f.checkURL)
	}
	checkSchemes := append([]func(http.Handler) http.Handler(nil), schemes...)
	if norm != nil {
		checkSchemes = append(checkSchemes, auth.Normalize(norm, b.logger))
	}
	check := authChain(checkSchemes...)(auth.CheckHandler())
	onCheck := prefix.MustLocationMatch(regexp.MustCompile("^"+regexp.QuoteMeta(f.checkURL)+"$"),
		func(http.Handler) http.Handler { return check })
	return func(next http.Handler) http.Handler { return onCheck(protect(next)) }, nil
}

// requireKind returns the kind of a Require line, after any "not".
func requireKind(line string) string {
	f := strings.Fields(line)
	for len(f) > 0 && f[0] == "not" {
		f = f[1:]
	}
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// queryLike matches what follows a '?' that starts a query string rather
// than a regexp quantifier: a parameter name and '=' ("?cmd=unbundle").
var queryLike = regexp.MustCompile(`^[A-Za-z0-9_.~%-]+=`)

// checkLocation refuses an -auth-location pattern that tries to match the
// query string: the pattern is matched against the path alone, as
// <LocationMatch> is, so "/repo?cmd=unbundle" (or "/repo\?cmd=unbundle")
// would protect nothing that a client sends as a query, while the server
// starts as if it did. A '?' as a quantifier ("/trac/?$",
// "(?i)", "a+?") is fine.
func checkLocation(pattern string) error {
	inClass := false
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			if pattern[i+1] == '?' && queryLike.MatchString(pattern[i+2:]) {
				return fmt.Errorf("-auth-location %q: the \\? before %q reads as the start of a query string, but the pattern is matched against the request path alone, never the query string (as <LocationMatch>); protect the path, and use -require 'method ...' to tell reads from writes", pattern, pattern[i+2:])
			}
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			if i+1 < len(pattern) && pattern[i+1] == ']' {
				i++ // "[]...]": the first ']' is a literal
			}
		case c == '?' && i > 0 && pattern[i-1] != '(' && queryLike.MatchString(pattern[i+1:]):
			return fmt.Errorf("-auth-location %q: the ? before %q is used as a literal, to start a query string, but in a regexp it makes the character before it optional, and the pattern is matched against the request path alone, never the query string (as <LocationMatch>); protect the path, and use -require 'method ...' to tell reads from writes", pattern, pattern[i+1:])
		}
	}
	return nil
}

// authChain nests mws so that the first is the outermost.
func authChain(mws ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		for i := len(mws) - 1; i >= 0; i-- {
			h = mws[i](h)
		}
		return h
	}
}
