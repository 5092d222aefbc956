package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/prefix"
)

// providers are what the directory and Kerberos hand to the schemes: a
// password checker for Basic, the Negotiate middleware, and extra Require
// kinds (ldap-group, ...).
type providers struct {
	checkers       []auth.PasswordChecker
	authenticators []middleware
	requireKinds   map[string]func(args []string) (auth.Rule, error)
	closers        []func() error
}

// newProviders builds the LDAP directory and the Kerberos authenticator
// that a configures, if any.
func newProviders(a authConfig, logger *slog.Logger) (*providers, error) {
	p := &providers{requireKinds: map[string]func([]string) (auth.Rule, error){}}
	if err := p.addKerberos(a.Kerberos, logger); err != nil {
		return p, err
	}
	if err := p.addLDAP(a.LDAP, logger); err != nil {
		return p, err
	}
	return p, nil
}

// schemes are the authentication middleware in the order a request meets
// them (Negotiate, Basic, Digest), and what the Require rules need.
type schemes struct {
	wrap         []middleware
	any          bool // some scheme is configured
	norm         auth.Normalizer
	groups       auth.GroupChecker
	requireKinds map[string]func(args []string) (auth.Rule, error)
}

// buildSchemes builds the schemes of a, with p's contributions: Negotiate,
// then Basic over htpasswd and the directory, then Digest.
func buildSchemes(a authConfig, p *providers, logger *slog.Logger) (*schemes, error) {
	s := &schemes{requireKinds: p.requireKinds}
	norm, err := parseNormalizer(a.Normalize)
	if err != nil {
		return nil, err
	}
	s.norm = norm
	s.wrap = append(s.wrap, p.authenticators...)

	checkers := append([]auth.PasswordChecker(nil), p.checkers...)
	if a.Basic.Htpasswd != "" {
		h, err := auth.NewHtpasswd(auth.HtpasswdConfig{Path: a.Basic.Htpasswd, CacheTTL: a.Basic.CacheTTL, Logger: logger})
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
		basic, err := auth.NewBasic(auth.BasicConfig{Realm: a.Realm, Users: users, Logger: logger})
		if err != nil {
			return nil, err
		}
		s.wrap = append(s.wrap, basic.Wrap)
	}
	if d := a.Digest; d.Htdigest != "" {
		if a.Realm == "" {
			return nil, errors.New("-htdigest needs -realm (the realm of the file's entries)")
		}
		cfg := auth.DigestConfig{
			Realm: a.Realm, File: d.Htdigest, Domain: d.Domain,
			NonceLifetime: d.NonceLifetime, Logger: logger,
		}
		if d.SecretFile != "" {
			secret, err := os.ReadFile(d.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("-auth-secret-file: %w", err)
			}
			cfg.Secret = bytes.TrimSpace(secret)
		}
		digest, err := auth.NewDigest(cfg)
		if err != nil {
			return nil, fmt.Errorf("-htdigest: %w", err)
		}
		s.wrap = append(s.wrap, digest.Wrap)
	}
	s.any = len(s.wrap) > 0

	if a.GroupFile != "" {
		g, err := auth.LoadGroupFile(a.GroupFile)
		if err != nil {
			return nil, fmt.Errorf("-group-file: %w", err)
		}
		s.groups = g
	}
	return s, nil
}

// buildLocation returns the middleware that guards loc's paths:
//
//	schemes (Negotiate → Basic → Digest) → [normalize] → Require → [normalize late] → next
func buildLocation(loc locationConfig, a authConfig, s *schemes, logger *slog.Logger) (middleware, error) {
	lines := loc.Require
	if len(lines) == 0 {
		if !s.any {
			return nil, errors.New("-auth-location, -auth-check-url and -group-file need an authentication scheme (-htpasswd, -htdigest, LDAP or Kerberos) or a -require rule")
		}
		lines = []string{"valid-user"}
	}
	var rules []auth.Rule
	for _, l := range lines {
		if kind := requireKind(l); strings.HasPrefix(kind, "ldap-") && s.requireKinds[kind] == nil {
			return nil, fmt.Errorf("-require %q: the ldap-* kinds need -ldap-url", l)
		}
		r, err := auth.ParseRequire(l, s.groups, s.requireKinds)
		if err != nil {
			return nil, fmt.Errorf("-require: %w", err)
		}
		if !s.any && auth.NeedsUser(r) {
			return nil, fmt.Errorf("-require %q needs an authenticated user, but no authentication scheme is configured (-htpasswd, -htdigest, -ldap-url or -keytab): no request could satisfy it", l)
		}
		rules = append(rules, r)
	}
	require, err := auth.NewRequire(auth.RequireConfig{Rules: rules, Logger: logger})
	if err != nil {
		return nil, err
	}

	guarded := append([]middleware(nil), s.wrap...)
	if s.norm != nil && !a.NormalizeAfterRequire {
		guarded = append(guarded, auth.Normalize(s.norm, logger))
	}
	guarded = append(guarded, require)
	if s.norm != nil && a.NormalizeAfterRequire {
		guarded = append(guarded, auth.Normalize(s.norm, logger))
	}
	protect := func(next http.Handler) http.Handler { return nest(guarded, next) }
	switch {
	case loc.Match != "" && loc.Prefix != "":
		return nil, errors.New("-auth-prefix and -auth-location are exclusive: write one -auth-location regexp")
	case loc.Match != "":
		if err := checkLocation(loc.Match); err != nil {
			return nil, err
		}
		re, err := regexp.Compile(loc.Match)
		if err != nil {
			return nil, fmt.Errorf("-auth-location: %w", err)
		}
		return prefix.NewLocationMatch(re, protect)
	case loc.Prefix != "":
		mw, err := prefix.NewLocation(loc.Prefix, protect)
		if err != nil {
			return nil, fmt.Errorf("-auth-prefix: %w", err)
		}
		return mw, nil
	}
	return protect, nil
}

// buildCheckURL returns the middleware that answers a.CheckURL with
// [auth.CheckHandler] behind the schemes, and passes other paths on.
func buildCheckURL(a authConfig, s *schemes, logger *slog.Logger) (middleware, error) {
	if !strings.HasPrefix(a.CheckURL, "/") {
		return nil, fmt.Errorf("-auth-check-url %q: want an absolute path", a.CheckURL)
	}
	if !s.any {
		return nil, errors.New("-auth-check-url needs an authentication scheme (-htpasswd, -htdigest, -ldap-url or -keytab): without one it could only answer 401")
	}
	checkSchemes := append([]middleware(nil), s.wrap...)
	if s.norm != nil {
		checkSchemes = append(checkSchemes, auth.Normalize(s.norm, logger))
	}
	check := nest(checkSchemes, auth.CheckHandler())
	return prefix.NewLocationMatch(regexp.MustCompile("^"+regexp.QuoteMeta(a.CheckURL)+"$"),
		func(http.Handler) http.Handler { return check })
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
