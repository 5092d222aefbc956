// Package auth authenticates and authorizes requests as Apache httpd's
// mod_auth_basic, mod_auth_digest, mod_authn_file, mod_authz_user,
// mod_authz_groupfile and mod_authz_host do, as plain net/http middleware.
//
// The authenticated user, and the outcome of authentication and
// authorization, go into the request's record (package reqinfo: a
// [reqinfo.Record] made by the outermost layer, or by the [Flow] when none
// did), where package wsgi reads REMOTE_USER and AUTH_TYPE and [FromContext]
// the user; a header sent by the client can never set either. The layers
// further out share the record: once authentication ran they see the user
// too, as Apache's access log sees r->user, and the outcome
// ([reqinfo.AuthOutcome]: ok, failed, denied, unavailable) for metrics. An
// authentication middleware of another module records its user the same
// way, with [reqinfo.Ensure] and [reqinfo.Record.SetUser].
//
// LDAP and Active Directory live in package auth/ldapauth, Kerberos (SPNEGO,
// the single sign-on of mod_auth_sspi and mod_auth_gssapi) in auth/kerberos;
// both plug into the types defined here: [PasswordChecker], [Rule], [User],
// [Challenger], [Normalizer].
//
// # Composition
//
// Authentication and authorization are separate middlewares, as in Apache:
//
//	users, _ := auth.HtpasswdFile("/srv/trac/htpasswd")
//	h := auth.MustBasic(auth.BasicConfig{Realm: "Trac", Users: users})(
//		auth.MustRequire(auth.ValidUser())(app))
//
// Every authentication scheme ([MustBasic], [MustDigest], Negotiate from
// auth/kerberos) runs in one request flow, a [Flow]: a [Scheme] only says
// what its credentials are worth ([Scheme.Verify]), and the Flow reads the
// Authorization header once, answers, and hands the identity on, the same
// way for all of them. [BasicAuth.Wrap] and [DigestAuth.Wrap] are Flows of
// one scheme; auth/kerberos's middleware is a Flow of Negotiate and, with
// its password fallback, of this package's Basic over a cached KDC check
// ([NewCache]). A Flow handles a request as follows:
//
//   - more than one Authorization header: 400, whatever the schemes;
//   - no credentials of its schemes: the request goes on anonymously, with
//     the Flow registered through [WithChallenger];
//   - good credentials: the request goes on with its [User];
//   - wrong credentials: 401 at once, with every challenge registered so far
//     and its own (fail closed: a wrong password is never downgraded to
//     anonymous access);
//   - a malformed header (and, for Digest, a uri parameter that is not the
//     request target): 400;
//   - a technical failure (the password file became unreadable, the
//     directory is down): 503, the detail in the log.
//
// [MustRequire] then decides: granted; 401 with the challenges of every scheme
// the request passed through when a user is needed and none authenticated;
// 403 for an authenticated user who is not allowed, or for a rule no user
// can satisfy (such as [MustIP]). A request that needs a user but passed through
// no authentication middleware at all gets 403 and a warning in the log:
// that is a configuration error, and a 401 without a challenge would invite
// credentials no one checks.
//
// Several rules given to Require mean any of them (several Require lines in
// Apache); [All], [Any] and [Not] build RequireAll, RequireAny and "Require
// not". The rule that grants a named user is [Users] (User is the type of an
// authenticated identity).
//
// # Reads anonymous, writes authenticated
//
// [MustMethod] is Apache's Require method (mod_authz_core): it grants the listed
// methods to anyone. With the any-one-suffices rule of several Require
// lines (Apache's implicit <RequireAny>),
//
//	auth.MustBasic(cfg)(auth.MustRequire(auth.MustMethod("GET", "HEAD", "OPTIONS"), auth.ValidUser())(app))
//
// (command gowsgi: -require 'method GET HEAD OPTIONS' -require valid-user)
// lets anonymous reads through and answers any other method from an
// anonymous client with 401 and the challenges, as hgweb (anonymous clone,
// authenticated push), Subversion and WebDAV deployments want. Wrong
// credentials are refused on reads too (fail closed). As in Apache, GET
// also grants HEAD.
//
// # Refused configurations
//
// A configuration that would fail open, or that no request could ever
// satisfy, is an error when it is built, never found out per request.
// The constructors of this package refuse:
//
//   - [NewBasic] without a password checker, or with a realm holding a
//     control character;
//   - [NewDigest] without a realm, with a realm holding ':' or a control
//     character, with a secret shorter than 16 bytes, a domain URI with a
//     blank or a quote, an htdigest file that is missing or has a
//     malformed line, and an htdigest file of which no line has the
//     realm (the error lists the realms it has): every login would fail;
//   - [NewHtpasswd] and [NewGroupFile] with a missing file or a malformed
//     line (named by its number), and htpasswd hashes it cannot verify
//     (plain text among them);
//   - [NewRequire] without rules or with a nil one; [ParseRequire] with a
//     kind neither this package nor a registered provider knows (the
//     error lists those registered), and a kind's bad arguments ([NewIP]
//     with a malformed address, [NewMethod] with a method that is not
//     upper case);
//   - [NewFlow] without schemes, with a nil one, a name that is not an
//     HTTP token, or two schemes of one name; [NewCache] of a nil checker.
//
// Command gowsgi refuses, besides what the constructors refuse:
//
//   - a single-value flag given twice (-auth-location, -htpasswd, -realm,
//     ...): the last one used to win silently, and
//     -auth-location '^/uid$' -auth-location '^/env$' left /uid open;
//   - a -require rule that needs a user (valid-user, user, group, any
//     ldap-*, or "not" of one; see [NeedsUser]) without any
//     authentication scheme (-htpasswd, -htdigest, -ldap-url, -keytab):
//     no request could satisfy it; rules that need no user (ip, all
//     granted, method) stay valid alone, as in Apache;
//   - a -require kind no provider registered (ldap-* without -ldap-url);
//   - the -ldap-* flags without -ldap-url, and -spn, -kerberos-basic,
//     -krb5-conf and -kerberos-session without -keytab; auth/kerberos's
//     New refuses BasicFirst, BasicRealm and BasicCacheTTL without Basic
//     (-kerberos-basic-first, -kerberos-basic-realm without
//     -kerberos-basic);
//   - -auth-location, -auth-check-url or -group-file without a scheme,
//     and -auth-check-url without a scheme even with rules;
//   - an -auth-location pattern with a '?' (escaped or not) used to start
//     a query string ("/repo?cmd=unbundle"): the pattern is matched
//     against the request path alone, never the query string, as
//     <LocationMatch> is; tell reads from writes with -require 'method ...'.
//
// # Names the application sees
//
// A [Normalizer] rewrites the authenticated name ([StripDomain],
// [StripRealm], [Lower], [Map], [Chain]). Where it runs decides what Require
// sees: set BasicConfig.Normalize (or DigestConfig.Normalize), or put
// [Normalize] before Require, and the rules see the rewritten name; put
// [Normalize] after Require, and the rules see the name as given while only
// the application sees the rewritten one: the SSPI fix of Trac's mod_wsgi guide, where
// "Require group" matched DOMAIN\user and Trac got user. [User.Original]
// keeps the name before.
//
// # Password files
//
// [Htpasswd] reads every format Apache's htpasswd writes: bcrypt (-B, any
// cost), MD5 $apr1$ (the default), {SHA} (-s), crypt (-d), SHA-256 and
// SHA-512 crypt $5$/$6$ (-2/-5). Plain text (-p) is refused. Blank lines,
// '#' comments and CRLF line ends are fine; a malformed line is an error
// naming its number, at start and at any later reload (which then fails
// closed until the file is fixed). The file is reloaded when its
// modification time, size or inode changes, checked at most once a second.
//
// Successful checks are cached for five minutes under a keyed hash
// (SHA-256 over a per-process random key, the user and the password) of the
// credentials, never the password itself; the cache is emptied whenever the
// file changes, and concurrent checks of the same credentials run once. A
// bcrypt check costs milliseconds; Apache pays it on every request. A cached
// check, behind [MustBasic], costs one SHA-256 block for usual credentials and a
// map lookup, and allocates nothing: the credentials are decoded into a
// buffer on the stack, the hash runs in a reused state, both are wiped after
// the check, and the cache hands out the same [User] for the same
// credentials, which is why a *User must be treated as read-only.
//
// # Credential-check endpoint
//
// [CheckHandler] answers 200 for good credentials and 401 with a challenge
// otherwise: Trac AccountManager's HttpAuthStore verifies passwords by
// fetching such a URL.
//
// # Coming from Apache
//
//	Apache                                   gowsgi (package auth / cmd/gowsgi flag)
//	AuthType Basic + AuthUserFile f          MustBasic(BasicConfig{Users: HtpasswdFile(f)})   -htpasswd f
//	AuthType Digest + AuthUserFile f         MustDigest(DigestConfig{File: f})                -htdigest f
//	AuthName "Trac"                          BasicConfig.Realm, DigestConfig.Realm            -realm Trac
//	AuthDigestDomain /trac                   DigestConfig.Domain                              -digest-domain /trac
//	AuthDigestNonceLifetime 300              DigestConfig.NonceLifetime                       -digest-nonce-lifetime 5m
//	AuthBasicProvider file ldap              Checkers(htpasswd, ldap)                         -htpasswd f + LDAP flags
//	AuthGroupFile g                          LoadGroupFile(g)                                 -group-file g
//	Require valid-user                       MustRequire(ValidUser())                         -require valid-user
//	Require user a b                         MustRequire(Users("a", "b"))                     -require 'user a b'
//	Require group admins                     MustRequire(Group(groups, "admins"))             -require 'group admins'
//	Require ip 10.0.0.0/8                    MustRequire(MustIP("10.0.0.0/8"))                -require 'ip 10.0.0.0/8'
//	Require method GET HEAD                  MustRequire(MustMethod("GET", "HEAD"))           -require 'method GET HEAD'
//	several Require lines / <RequireAny>     MustRequire(r1, r2) / Any(r1, r2)                -require r1 -require r2
//	<RequireAll>, Require not                All(...), Not(...)                               -require 'not user bob'
//	<LocationMatch "/[^/]+/login">           prefix.NewLocationMatch                          -auth-location '/[^/]+/login' (the path alone, never the query)
//	SSPIOmitDomain On / the WSGI-script fix  StripDomain, Normalize                           -normalize-user strip-domain [-normalize-after-require]
//
// # Security
//
// Closed holes of github.com/abbot/go-http-auth, whose hash checkers this
// package uses for bcrypt, MD5 crypt and {SHA}: its file loader panics on a
// missing file or a stray quote (replaced here by loaders that return
// errors with line numbers); its Digest lets an unknown user in with an
// empty HA1, races on its nonce table and accepts a response computed for
// another URI (replaced here by [MustDigest]).
//
// [MustDigest] rejects unknown users (after the same work as for a known one);
// answers a uri parameter other than the request target with 400; uses
// stateless nonces, HMAC-SHA256-signed with the issue time, so that replicas
// sharing DigestConfig.Secret accept each other's nonces and the opaque value
// survives restarts; answers an expired nonce with stale=true when the
// response was otherwise right; accepts nonce counts out of order within a
// window (parallel browser requests) but each only once. Replay protection
// is per process: a replica that never saw a count accepts it once, within
// the nonce lifetime, so behind a balancer a captured request can be
// replayed once on each other replica until its nonce expires. Narrow the
// window with a shorter DigestConfig.NonceLifetime (clients answer the
// stale=true challenge without asking the user) or with sticky sessions
// on the balancer (each client's counts then reach one replica). Only MD5 with qop=auth is offered, as mod_auth_digest
// does; Digest's MD5 is weak, so prefer Basic over TLS, or Kerberos.
//
// Basic sends the password readable by anyone on the path, and an observer
// of a Digest exchange can guess the password offline against its MD5:
// serve both over TLS only (cmd/gowsgi's -tls-cert or -acme-domain, or a
// TLS-terminating proxy in front), or on loopback.
//
// An unknown Basic user costs one verification of the costliest hash in the
// file, and hash comparisons are constant-time. Failed checks are not
// cached, so guessing stays as expensive as the hash makes it.
package auth
