// Package prefix routes requests as Apache's WSGIScriptAlias, <Location>,
// <LocationMatch> and <VirtualHost> do: mounts that set SCRIPT_NAME and
// PATH_INFO, rules scoped to paths, one mount serving many environments from
// a parent directory, and virtual hosts, all deciding on one canonical path.
//
// Every piece is plain net/http middleware (func(http.Handler)
// http.Handler), so they chain with alice, chi's Use or hand-written
// nesting. Constructors follow the module's rule: NewX checks its
// configuration and returns an error, MustX panics instead (for rules
// written in the program), and [Canonical], which cannot fail, has neither.
// A typical Trac stack, outermost first:
//
//	h := prefix.Canonical(                             // one canonical path, at the edge
//		prefix.MustLocationMatch(loginRE, requireUser)( // <LocationMatch "/trac/[^/]+/login">
//			envs(app)))                                 // TRAC_ENV_PARENT_DIR under /trac
//
// where envs comes from [NewEnvironments] with Mount "/trac". [NewMount] and
// [NewEnvironments] record SCRIPT_NAME, PATH_INFO and extra environ entries
// (trac.env_path) in the request's record (package reqinfo), where package
// wsgi and any layer around them (an access log) read them; they never
// strip the URL, so rules further in still see the whole path. Requests
// are cloned, never modified; the record is shared by every layer of its
// request by design.
//
// # Order of rules
//
// Rules apply in nesting order: the outer one runs first. A request that
// matches several [NewLocation] and [NewLocationMatch] rules passes through all of
// them, outermost first, which is the order a chain lists them in. (Apache
// merges <Location> and <LocationMatch> sections in configuration-file
// order; write the chain in the same order as the configuration.)
//
// # Coming from Apache
//
//	Apache                                     gowsgi (package prefix / cmd/gowsgi)
//	WSGIScriptAlias /trac trac.wsgi            NewMount("/trac")          / -mount /trac
//	<Location "/trac/login">                   NewLocation("/trac/login", mw) / -auth-prefix /trac/login
//	<LocationMatch "/trac/[^/]+/login">        NewLocationMatch(re, mw)   / -auth-location REGEX
//	SetEnv trac.env_parent_dir (TRAC_ENV_PARENT_DIR)
//	                                           NewEnvironments(EnvConfig{ParentDir}) / -env-parent-dir DIR
//	SetEnv trac.env_path (per project)         EnvConfig.Key              / -env-key trac.env_path
//	<VirtualHost> ServerName, ServerAlias      NewVHosts(VHostConfig{...}) / -vhost NAME
//	AllowEncodedSlashes Off (the default)      always: %2F and %5C get 404
//	MergeSlashes On (the default)              always: "//" collapses
//	Trac's own project index at /trac/         EnvConfig.PassIndex        / -env-pass-index
//	Options FollowSymLinks (for projects)      EnvConfig.AllowSymlinksOut / -env-allow-symlinks-out
//
// <Location> matches whole segments, as Apache 2.4 does: "/trac" covers
// "/trac" and "/trac/x", not "/tracker". <LocationMatch> is an unanchored
// regular-expression search on the path (Go's RE2 syntax, close to PCRE for
// what such patterns use). Apache's wildcard <Location> (* and ?) is not
// supported; write a NewLocationMatch.
//
// # Security
//
// A rule guards nothing if the application routes on a different path than
// the one the rule matched: "/trac/a//login", "/trac/a/./login",
// "/trac/a/%6Cogin" and "/trac/a/x/../login" all reach Trac's login page if
// they reach Trac at all. So the path is decided once, at the edge, by
// [Canonical] (see [Canonicalize] for the exact rules), and every rule, the
// mount, the choice of environment and the application all see that same
// string:
//
//   - %-escapes are decoded, once ("%6C" is "l", "%2e%2e" is ".."); a "%"
//     left in the result came from "%25" and is never decoded again;
//   - "//" collapses, "." and ".." segments are resolved, and a ".." above
//     the root is refused (400);
//   - %2F and %5C (escaped "/" and "\") are refused with 404, as Apache's
//     AllowEncodedSlashes Off does, because an application or a proxy
//     behind might decode them into separators;
//   - NUL and other control characters, raw "\" and "#", malformed escapes
//     and anything that is not valid UTF-8 (overlong forms, surrogates,
//     stray bytes) are refused (400);
//   - ";" is an ordinary character: "/login;x" is a segment named
//     "login;x", for the rule and for the application (Trac does not strip
//     path parameters, so it does not route it to its login page either; an
//     unanchored LocationMatch guards it anyway);
//   - case and a trailing "/" are kept: Trac routes case-sensitively, and
//     "/login/" is guarded by the unanchored "/trac/[^/]+/login". An
//     application that routes case-insensitively needs (?i) in its regexp.
//
// The request passed on carries the canonical path in URL.Path, with
// URL.RawPath empty so that URL.EscapedPath is consistent with it;
// RequestURI keeps what the client sent, for logs and REQUEST_URI. The rules
// ([NewLocation], [NewLocationMatch], [NewMount], [NewEnvironments]) canonicalize by
// themselves when [Canonical] did not run before them, so none of them can
// be bypassed by leaving it out; they recognise a request it already handled.
//
// Host names are canonicalized too ([CanonicalHost]: lower case, no port,
// no trailing dot) before [NewVHosts] chooses, and a Host with characters no
// host name has is refused (400).
//
// Environment names taken from the path must name a directory of the
// parent that does not start with "." and, unless allowed, does not resolve
// through a symbolic link to outside the parent.
package prefix
