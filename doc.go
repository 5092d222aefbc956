// Package gowsgi runs Python WSGI applications such as Trac behind a Go
// net/http server, with what Apache httpd and mod_wsgi gave them: daemon
// processes, WSGIScriptAlias mounts, LocationMatch-scoped login,
// Basic/Digest/LDAP/Kerberos authentication, Require rules, a file wrapper
// that never truncates a download, and a bound on database connections.
//
// This package holds no code: it documents how the others fit together, and
// its examples (example_test.go) are the deployments of Trac's mod_wsgi
// guide, each run against a real Python worker. Each concern is its own
// package of plain net/http middleware, func(http.Handler) http.Handler, or
// handlers, so they chain by nesting, with justinas/alice, or with a router
// such as chi (examples/chi):
//
//   - [github.com/gowsgi/gowsgi/framing]: refuses requests whose framing a
//     proxy in front could read otherwise (request smuggling), on the server
//     and its listener;
//   - [github.com/gowsgi/gowsgi/remoteip]: the client's address, scheme and
//     host from trusted reverse proxies (forwarding headers, the PROXY
//     protocol), as Apache's mod_remoteip;
//   - [github.com/gowsgi/gowsgi/wsgi]: PEP 3333 environ and the Python worker
//     processes (mod_wsgi's daemon mode);
//   - [github.com/gowsgi/gowsgi/uwsgi]: the same place in the chain for an
//     application run by a uWSGI fleet elsewhere, over the uwsgi protocol
//     (nginx's uwsgi_pass);
//   - [github.com/gowsgi/gowsgi/prefix]: the canonical path, mounts
//     (WSGIScriptAlias), Location/LocationMatch scoping, a parent directory of
//     environments, virtual hosts;
//   - [github.com/gowsgi/gowsgi/auth]: Basic (htpasswd), Digest (htdigest),
//     Require rules, user-name normalizers, the credential-check URL;
//   - [github.com/gowsgi/gowsgi/auth/ldapauth]: LDAP and Active Directory
//     logins and the ldap-* Require kinds (mod_authnz_ldap);
//   - [github.com/gowsgi/gowsgi/auth/kerberos]: Negotiate (SPNEGO) single
//     sign-on with a Basic fallback (mod_auth_gssapi, mod_auth_sspi);
//   - [github.com/gowsgi/gowsgi/filewrap]: sendfile, ranges,
//     wsgi.file_wrapper, static files (Alias);
//   - [github.com/gowsgi/gowsgi/pool]: one cap on database connections across
//     many database/sql pools, and the "poolable = False" middleware;
//   - [github.com/gowsgi/gowsgi/reqinfo]: the record of each request that
//     the layers fill and read (id, client, user, authentication outcome,
//     mount, worker pid), and the request-id middleware;
//   - [github.com/gowsgi/gowsgi/accesslog]: an access log in Apache's
//     combined format or JSON from that record, written without ever
//     making a request wait for the disk, and the hook that measures each
//     response for metrics.
//
// The command cmd/gowsgi composes them from flags, as mod_wsgi-express does
// for Apache; the README gives one command line per deployment.
//
// # Constructors and middleware
//
// Every package follows one rule, so that a reader knows from a name what
// a call can do:
//
//   - NewX(cfg) (*X, error) (or, for a plain middleware, NewX(...)
//     (func(http.Handler) http.Handler, error)) where construction can fail:
//     the configuration is checked there, once, never per request
//     (wsgi.New, remoteip.New, auth.NewBasic, prefix.NewMount,
//     pool.NewGovernor);
//   - MustX is the same with a panic instead of the error, for values
//     written in the program, as regexp.MustCompile (prefix.MustMount,
//     prefix.MustLocationMatch, pool.Governor.MustGovern): examples and
//     tests use it; a server building from user input uses NewX;
//   - what cannot fail returns no error: a constructor with nothing to
//     check (pool.CloseIdleAfter), a middleware whose
//     configuration has no invalid value (prefix.Canonical,
//     prefix.CanonicalConfig.Wrap); nothing panics on configuration unless
//     its name starts with Must;
//   - a middleware is func(http.Handler) http.Handler, or a type whose
//     method for it is Wrap(http.Handler) http.Handler (auth.BasicAuth.Wrap,
//     prefix.CanonicalConfig.Wrap, framing.Guard.Wrap, remoteip.RemoteIP.Wrap);
//     a method named Wrap is never anything else.
//
// # The order of the chain
//
// Outermost first, as a request meets them:
//
//	framing.Guard                   one request per framed head, or 400 and close
//	accesslog.Log (optional)        one line per request, every refusal included
//	remoteip.RemoteIP.Wrap          the client as a trusted proxy names it
//	reqinfo.RequestID               the request's record and id (an access log
//	                                goes around it or just inside it)
//	prefix.Canonical                one path for everything that follows
//	prefix.NewVHosts                which site, by canonical host name
//	prefix.NewLocation/LocationMatch where authentication applies
//	  auth.MustBasic, auth.MustDigest,      who the user is (several may be stacked;
//	  kerberos Middleware           each registers its challenge)
//	  auth.MustRequire                  whether that user may pass
//	  auth.Normalize                (optional) the name the application sees
//	filewrap.Static                 static files under their own prefix
//	prefix.NewMount/NewEnvironments SCRIPT_NAME, PATH_INFO, trac.env_path
//	wsgi.Handler                    the Python workers (or uwsgi.Handler: a uWSGI fleet)
//
// The reasons:
//
//   - framing.Guard judges the connection, not the request, and must see
//     every request on it: it goes outermost, wired with the server and its
//     listener (Guard.Configure), as cmd/gowsgi does.
//   - remoteip comes before anything that looks at the client's address,
//     scheme or host (virtual hosts, Require ip, the application), so that
//     all of them see the client a trusted proxy names, and none believes a
//     forwarding header on its own. It records the client in the request's
//     record, where the access log outside it reads it. Its PROXY protocol
//     listener sits under framing's and TLS's (RemoteIP.Listener).
//   - Canonicalization comes first because every later decision is a string
//     comparison on the path. If a rule matched "/trac/a//login" while Trac
//     routed on "/trac/a/login", the rule would guard nothing; after
//     prefix.Canonical, every layer (and the application's PATH_INFO) sees
//     the same path, and paths that cannot be made safe (%2F, ".." above the
//     root, control characters) are refused before anything runs. VHosts
//     looks only at the host, so it may sit on either side of Canonical
//     (cmd/gowsgi puts it inside, as listed).
//   - Authentication is scoped by Location/LocationMatch, as in Apache, so a
//     deployment can protect only the login page (Trac asks for it) or every
//     path (the virtual-host deployment).
//   - Authentication middlewares only establish who the user is: a request
//     without credentials goes on anonymously. auth.MustRequire, after them,
//     decides, and answers 401 with the challenges of every scheme the
//     request passed through. This split is Apache's (AuthType versus
//     Require), and lets Basic, Digest, LDAP and Negotiate be combined.
//   - A normalizer placed after Require lets the rules see the name as the
//     directory knows it (DOMAIN\user) while the application sees "user": the
//     SSPI fix of Trac's mod_wsgi guide without editing the WSGI script.
//   - Mount and Environments come last before the application because they
//     only record SCRIPT_NAME, PATH_INFO and trac.env_path in the request's
//     record; they never rewrite the URL, so every rule before them saw the
//     whole path.
//
// # One record per request
//
// The layers tell each other about a request in one way: a
// [github.com/gowsgi/gowsgi/reqinfo] Record, made by the outermost layer
// (reqinfo.RequestID, or reqinfo.Ensure in a server's own edge), kept once
// in the request's context, and filled in place by the layers further in:
// auth records the user and the outcome of authentication and
// authorization (ok, failed, denied, unavailable, with the scheme), prefix
// the mount and the environment, wsgi the pid of the worker that took the
// request; wsgi builds REMOTE_USER, AUTH_TYPE, SCRIPT_NAME and PATH_INFO
// from it. A layer that finds no record makes one for the layers after it,
// so each package also works on its own. These facts have no second
// carrier: no context value of their own, no header.
//
// The record was chosen over carrying each fact in a derived request
// (r.WithContext) because a derived request is seen only by the handlers
// further in: a middleware outside still holds its own *http.Request, in
// which an inner layer's user never appears. The record is shared, so a
// layer around the whole chain reads, once the chain returned, what the
// inner layers learned: the access log's %u, a status page listing the
// running requests with their users, metrics by authentication outcome,
// and an embedding server's own access log all read it the same way
// (Record.Info). It is also cheaper: one allocation per request, and no
// copy of the request when a layer records something. Its methods lock,
// since wsgi's relay goroutines and a status page may use it while the
// handler runs. The request id is on every log line of the module
// (reqinfo.LogAttrs) and in the X-Request-ID response header when
// reqinfo.RequestID runs.
//
// # Security
//
// What each layer guarantees, assuming the chain above:
//
//   - framing.Guard: a request with both Content-Length and
//     Transfer-Encoding, Transfer-Encoding in HTTP/1.0, a folded or
//     bare-LF head, and every later request on its connection, get 400 and
//     the connection closed, so that no bytes a front proxy took for a body
//     are served as a request. Bodies over wsgi.Config.MaxRequestBody
//     (-limit-request-body) get 413.
//   - remoteip: forwarding headers and PROXY headers are believed only from
//     the configured proxies, and only for the hops those proxies appended
//     (the right-most address that is not a trusted proxy); from anyone
//     else they reach the application unchanged and change nothing.
//   - prefix.Canonical: %-escapes are decoded once, "//", "." and ".." are
//     resolved, and %2F, %5C, NUL, control characters and escapes above the
//     root are refused (404 or 400). No spelling of a guarded path reaches
//     the application unguarded: "/trac/a//./login" and "/trac/a/%6Cogin"
//     meet the same LocationMatch as "/trac/a/login". The rules
//     canonicalize by themselves if Canonical is left out.
//   - prefix.NewVHosts: the host name is canonicalized (case, port, trailing
//     dot) and a malformed Host is refused; unknown hosts get 421 unless a
//     default site is configured.
//   - auth: REMOTE_USER and AUTH_TYPE reach the application only from an
//     authentication middleware, through the request's record, never from a
//     request header. Wrong credentials are answered 401 at once (never
//     downgraded to anonymous); technical failures (an unreadable password
//     file, a directory that is down) are 503, never a login. Digest rejects
//     unknown users, a uri that is not the request target and replayed nonce
//     counts. Successful password checks are cached under a keyed hash of
//     the credentials (its key random per process), never the password.
//   - auth/ldapauth: user names are escaped into the search filter, a name
//     matching several entries is refused, empty passwords never reach the
//     directory (an unauthenticated bind would succeed).
//   - auth/kerberos: tickets are accepted only for the configured service
//     principal, within the clock skew, once each (replay cache); the Basic
//     fallback verifies the KDC's answer with the service key, so a forged KDC
//     logs nobody in.
//   - wsgi: the workers listen on anonymous socket pairs, not on a socket
//     another local user could reach; Authorization reaches the application
//     only with PassAuthorization; header names with "_" are dropped (as
//     Apache 2.4 does) and Proxy never becomes HTTP_PROXY; the application's
//     response headers are checked for injection before they are written.
//   - filewrap: static files never leave their root (no "..", no symbolic
//     links out unless allowed, no dot files, no listings by default), and a
//     file that shrinks while it is sent aborts the connection instead of
//     sending a short body a client could take for the whole file.
//   - pool: the number of open database connections across every governed
//     pool never exceeds the cap; a waiter gets a clear error when its
//     context ends.
//
// Basic and Digest send credentials a network observer can use (Digest's MD5
// is weak too): serve them over TLS (cmd/gowsgi: -tls-cert and -tls-key, or
// -acme-domain), or behind a TLS-terminating proxy
// trusted by package remoteip (-trusted-proxy).
package gowsgi
