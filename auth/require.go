package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/gowsgi/gowsgi/internal/reqctx"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// RequireConfig configures [NewRequire].
type RequireConfig struct {
	// Rules are the Require lines; the request is let through when any
	// of them grants it (Apache's implicit RequireAny). At least one.
	Rules []Rule
	// Logger receives rule failures (at Error) and refusals for want of
	// any authentication scheme (at Warn). Nil means slog.Default().
	Logger *slog.Logger
}

// NewRequire validates cfg and returns its middleware. It decides with the
// user stored by an earlier authentication middleware (nil when anonymous):
//
//   - granted: the request goes on;
//   - refused for want of a user (anonymous, and some rule might grant a
//     user): 401 with the challenges of every authentication middleware the
//     request passed through;
//   - refused otherwise (an authenticated user not allowed, or a rule that
//     no user can satisfy, such as [MustIP]): 403;
//   - a rule failed (a directory that cannot be reached): 503, detail
//     logged;
//   - refused for want of a user while no authentication middleware ran
//     (none registered a [Challenger]): 403 and a warning in the log. A 401
//     without a challenge would be a protocol error, and nothing the client
//     could send would help: this is a configuration error, refused.
//
// Each refusal is recorded in the request's [reqinfo.Record], when it has
// one, as [reqinfo.AuthDenied], and a rule failure as
// [reqinfo.AuthUnavailable].
func NewRequire(cfg RequireConfig) (func(http.Handler) http.Handler, error) {
	if len(cfg.Rules) == 0 {
		return nil, errors.New("auth: Require without rules")
	}
	for i, r := range cfg.Rules {
		if r == nil {
			return nil, fmt.Errorf("auth: Require rule %d is nil", i)
		}
	}
	rule := cfg.Rules[0] // one rule decides as Any of it would, one call less
	if len(cfg.Rules) > 1 {
		rule = Any(cfg.Rules...)
	}
	logger := reqctx.Logger(cfg.Logger)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := reqinfo.FromContext(r.Context())
			u := rec.User()
			d, err := rule.Allow(r, u)
			if err != nil {
				rec.SetAuth("", reqinfo.AuthUnavailable)
				logger.Error("auth: Require failed", append(reqctx.LogAttrs(r), "err", err)...)
				http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
				return
			}
			if d != Granted {
				rec.SetAuth("", reqinfo.AuthDenied)
			}
			switch {
			case d == Granted:
				next.ServeHTTP(w, r)
			case d == DeniedNoUser && u == nil && len(Challengers(r)) > 0:
				writeUnauthorized(w, r)
			case d == DeniedNoUser && u == nil:
				logger.Warn("auth: Require needs a user but no authentication scheme covers this path", reqctx.LogAttrs(r)...)
				http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
			default:
				attrs := reqctx.LogAttrs(r)
				if u != nil {
					attrs = append(attrs, "user", u.Name)
				}
				logger.Info("auth: access denied", attrs...)
				http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
			}
		})
	}, nil
}

// MustRequire returns the middleware of [NewRequire] for rules, which grants
// the request when any rule does (several Require lines in Apache). It
// panics without rules.
func MustRequire(rules ...Rule) func(http.Handler) http.Handler {
	mw, err := NewRequire(RequireConfig{Rules: rules})
	if err != nil {
		panic(err)
	}
	return mw
}

// ValidUser grants any authenticated user (Require valid-user).
func ValidUser() Rule {
	return UserRule(func(r *http.Request, u *User) (Decision, error) {
		if u == nil {
			return DeniedNoUser, nil
		}
		return Granted, nil
	})
}

// Users grants the named users (Require user a b). It compares
// [User.Name], the name after the authentication middleware's Normalize.
// (It is not called User, which is the type of an authenticated identity.)
func Users(names ...string) Rule {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return UserRule(func(r *http.Request, u *User) (Decision, error) {
		if u == nil {
			return DeniedNoUser, nil
		}
		if set[u.Name] {
			return Granted, nil
		}
		return Denied, nil
	})
}

// Group grants members of any of the named groups (Require group g).
// Membership comes from groups (such as a [GroupFile]); when groups is nil,
// from [User.Groups] as the authentication provider filled it.
func Group(groups GroupChecker, names ...string) Rule {
	names = slices.Clone(names)
	return UserRule(func(r *http.Request, u *User) (Decision, error) {
		if u == nil {
			return DeniedNoUser, nil
		}
		for _, g := range names {
			if groups == nil {
				if slices.Contains(u.Groups, g) {
					return Granted, nil
				}
				continue
			}
			in, err := groups.InGroup(r.Context(), u.Name, g)
			if err != nil {
				return Denied, err
			}
			if in {
				return Granted, nil
			}
		}
		return Denied, nil
	})
}

// NewIP returns a rule that grants clients whose address (the host of
// http.Request.RemoteAddr) is one of addrs: an IPv4 or IPv6 address or a
// CIDR prefix (Require ip). It does not need a user: a client elsewhere is
// refused with 403. Behind a reverse proxy RemoteAddr is the proxy's
// address unless a layer before this one rewrote it from a header it
// trusts; IPv4-mapped IPv6 addresses match their IPv4 form.
func NewIP(addrs ...string) (Rule, error) {
	if len(addrs) == 0 {
		return nil, errors.New("auth: ip rule without addresses")
	}
	var pfxs []netip.Prefix
	for _, a := range addrs {
		p, err := parsePrefix(a)
		if err != nil {
			return nil, err
		}
		pfxs = append(pfxs, p)
	}
	return RuleFunc(func(r *http.Request, u *User) (Decision, error) {
		ip, ok := remoteIP(r)
		if !ok {
			return Denied, nil
		}
		for _, p := range pfxs {
			if p.Contains(ip) {
				return Granted, nil
			}
		}
		return Denied, nil
	}), nil
}

// MustIP is [NewIP] for fixed addresses; it panics on a malformed one.
func MustIP(addrs ...string) Rule {
	r, err := NewIP(addrs...)
	if err != nil {
		panic(err)
	}
	return r
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("auth: ip %q: %w", s, err)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("auth: ip %q: %w", s, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func remoteIP(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// Any grants when any rule grants (RequireAny). Otherwise it fails if a
// rule failed, asks for a user if a rule would, and refuses. Any() with no
// rules refuses.
func Any(rules ...Rule) Rule {
	rules = slices.Clone(rules)
	return composite{rules, func(r *http.Request, u *User) (Decision, error) {
		result := Denied
		var firstErr error
		for _, rule := range rules {
			d, err := rule.Allow(r, u)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if d == Granted {
				return Granted, nil
			}
			if d == DeniedNoUser {
				result = DeniedNoUser
			}
		}
		if firstErr != nil {
			return Denied, firstErr
		}
		return result, nil
	}}
}

// All grants when every rule grants (RequireAll). A rule that refuses
// outright wins over one that asks for a user, since no login can change
// its mind. All() with no rules grants.
func All(rules ...Rule) Rule {
	rules = slices.Clone(rules)
	return composite{rules, func(r *http.Request, u *User) (Decision, error) {
		result := Granted
		for _, rule := range rules {
			d, err := rule.Allow(r, u)
			if err != nil {
				return Denied, err
			}
			switch d {
			case Denied:
				return Denied, nil
			case DeniedNoUser:
				result = DeniedNoUser
			}
		}
		return result, nil
	}}
}

// Not inverts rule (Require not): granted becomes refused and refused
// granted, while "needs a user" stays so (an anonymous request cannot be
// known not to be, say, user bob). Unlike Apache, Not may grant on its own;
// combine it with [All] ("an authenticated user who is not bob":
// All(ValidUser(), Not(Users("bob")))).
func Not(rule Rule) Rule {
	return composite{[]Rule{rule}, func(r *http.Request, u *User) (Decision, error) {
		d, err := rule.Allow(r, u)
		if err != nil {
			return Denied, err
		}
		switch d {
		case Granted:
			return Denied, nil
		case Denied:
			return Granted, nil
		}
		return DeniedNoUser, nil
	}}
}

// UserRule returns f as a [Rule] that only an authenticated user can
// satisfy (valid-user, user, group, a directory's ldap-group): [NeedsUser]
// reports true for it, so that a configuration using it without any
// authentication scheme is refused when it is built. f still decides
// every request itself, anonymous ones included.
func UserRule(f RuleFunc) Rule { return userRule(f) }

type userRule RuleFunc

func (f userRule) Allow(r *http.Request, u *User) (Decision, error) { return f(r, u) }
func (userRule) needsUser() bool                                    { return true }

// composite is a rule made of others ([Any], [All], [Not]): it needs a
// user when one of them does.
type composite struct {
	rules []Rule
	f     RuleFunc
}

func (c composite) Allow(r *http.Request, u *User) (Decision, error) { return c.f(r, u) }

func (c composite) needsUser() bool {
	return slices.ContainsFunc(c.rules, NeedsUser)
}

// NeedsUser reports whether rule, or a rule it is made of, can grant only
// an authenticated user: one made by [ValidUser], [Users], [Group],
// [UserRule] (which providers such as auth/ldapauth use), or combined from
// one with [Any], [All] or [Not]. Rules that need no user, such as [MustIP],
// [MustMethod] and "all granted", report false, as does any other [RuleFunc].
// Command gowsgi refuses a rule that needs a user where no authentication
// scheme is configured: no request could ever satisfy it.
func NeedsUser(rule Rule) bool {
	n, ok := rule.(interface{ needsUser() bool })
	return ok && n.needsUser()
}

// NewMethod returns the rule Require method (Apache's mod_authz_core): it
// grants requests whose method is one of methods, and refuses the others
// with 403 unless another rule asks for a user. It needs no user. As in
// Apache, where HEAD is a GET, listing GET also grants HEAD. Methods are
// case-sensitive tokens ("GET", not "get").
//
// Combined with [ValidUser] in a [MustRequire] (any one suffices), it gives
// the read-anonymous, write-authenticated setup of hgweb, Subversion and
// WebDAV: MustRequire(MustMethod("GET", "HEAD", "OPTIONS"), ValidUser()) lets
// reads through and answers other methods from anonymous clients with 401
// and the challenges.
func NewMethod(methods ...string) (Rule, error) {
	if len(methods) == 0 {
		return nil, errors.New("auth: method rule without methods")
	}
	set := map[string]bool{}
	for _, m := range methods {
		if !validMethod(m) {
			return nil, fmt.Errorf("auth: method %q is not an HTTP method (upper-case letters, as GET or PROPFIND: methods are case-sensitive)", m)
		}
		set[m] = true
	}
	if set[http.MethodGet] {
		set[http.MethodHead] = true
	}
	return RuleFunc(func(r *http.Request, u *User) (Decision, error) {
		if set[r.Method] {
			return Granted, nil
		}
		return Denied, nil
	}), nil
}

// MustMethod is [NewMethod] for fixed methods; it panics on a malformed one.
func MustMethod(methods ...string) Rule {
	r, err := NewMethod(methods...)
	if err != nil {
		panic(err)
	}
	return r
}

// validMethod reports whether s is spelt as the methods of HTTP and its
// extensions are (GET, VERSION-CONTROL, BASELINE_CONTROL): upper-case
// letters, '-' and '_'. A lower-case "get" would be a method of its own,
// which no client sends; Apache refuses it too.
func validMethod(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ParseRequire parses one Require line as Apache writes it: "valid-user",
// "user NAME...", "group NAME..." (with groups as the membership source,
// see [Group]), "ip ADDR-OR-CIDR...", "method METHOD..." ([NewMethod]),
// "all granted" and "all denied", each optionally preceded by "not".
// An unknown kind is looked up in extra (such as "ldap-group" from
// auth/ldapauth), which receives the remaining words; nil means none.
func ParseRequire(line string, groups GroupChecker, extra map[string]func(args []string) (Rule, error)) (Rule, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil, errors.New("auth: empty Require line")
	}
	if f[0] == "not" {
		r, err := ParseRequire(strings.Join(f[1:], " "), groups, extra)
		if err != nil {
			return nil, err
		}
		return Not(r), nil
	}
	kind, args := f[0], f[1:]
	switch kind {
	case "valid-user":
		if len(args) != 0 {
			return nil, fmt.Errorf("auth: Require %q: valid-user takes no arguments", line)
		}
		return ValidUser(), nil
	case "user":
		if len(args) == 0 {
			return nil, fmt.Errorf("auth: Require %q: user needs names", line)
		}
		return Users(args...), nil
	case "group":
		if len(args) == 0 {
			return nil, fmt.Errorf("auth: Require %q: group needs names", line)
		}
		return Group(groups, args...), nil
	case "ip":
		return NewIP(args...)
	case "method":
		return NewMethod(args...)
	case "all":
		if len(args) == 1 && args[0] == "granted" {
			return RuleFunc(func(*http.Request, *User) (Decision, error) { return Granted, nil }), nil
		}
		if len(args) == 1 && args[0] == "denied" {
			return RuleFunc(func(*http.Request, *User) (Decision, error) { return Denied, nil }), nil
		}
	}
	if p := extra[kind]; p != nil {
		r, err := p(args)
		if err != nil {
			return nil, fmt.Errorf("auth: Require %q: %w", line, err)
		}
		return r, nil
	}
	if len(extra) == 0 {
		return nil, fmt.Errorf("auth: Require %q: unknown kind %q (no provider registered any kind)", line, kind)
	}
	kinds := make([]string, 0, len(extra))
	for k := range extra {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return nil, fmt.Errorf("auth: Require %q: unknown kind %q (the providers registered %s)", line, kind, strings.Join(kinds, ", "))
}
