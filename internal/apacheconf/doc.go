// Package apacheconf reads the subset of Apache httpd's configuration
// syntax that cmd/gowsgi serves from (gowsgi -f FILE), so that a site
// configured for Apache httpd and mod_wsgi, such as the snippets of Trac's
// mod_wsgi guide, runs as it is written.
//
// The package is internal because its only user is cmd/gowsgi; it maps
// nothing onto the auth, prefix or wsgi packages (none of which depends
// on it): it returns plain values that the command turns into its
// configuration. It could become a public package if a second user
// appears.
//
// # Reading
//
// [Parse] reads a file into a tree of [Directive]s, each with its file
// and line, as Apache's reader does:
//
//   - one directive per line; a backslash that is the last character of
//     a line joins the next line to it (a comment line ending in a
//     backslash swallows the next line, as in Apache);
//   - a line whose first non-blank character is '#' is a comment; a '#'
//     after a directive is an argument, as in Apache (where it is usually
//     an error: "takes one argument");
//   - arguments are cut as ap_getword_conf cuts them: "..." and '...'
//     quote spaces, and inside quotes a backslash escapes the quote and
//     itself; elsewhere only a doubled backslash is an escape;
//   - <Section args> ... </Section> nest; a mismatched or unclosed tag is
//     an error at the line of the tag;
//   - Include and IncludeOptional take a file, a directory (every file
//     under it, dot files included, each directory's entries sorted) or
//     a wildcard pattern (wildcards in any component, matches sorted, a
//     wildcard never matching a leading dot, a matched directory read
//     whole), relative to ServerRoot, in the order Apache reads them (a
//     test compares the two). A wildcard matching nothing in a directory,
//     or a missing file, is an error for Include only. An include of a
//     file already being read is an error, and includes nest at most
//     [MaxIncludeDepth] deep;
//   - Define NAME [VALUE] and UnDefine NAME take effect in file order;
//     ${NAME} is replaced on each line by the value of Define NAME VALUE,
//     or else of the environment variable NAME. An undefined ${NAME} is
//     kept as written with a warning, as Apache 2.4 does (a path or
//     port holding it then fails its own check);
//   - <IfDefine [!]NAME> is true for names defined by Define or
//     [Options.Defines]; <IfModule [!]module> is true for the modules
//     gowsgi implements, named by file (mod_wsgi.c) or identifier
//     (wsgi_module): mod_wsgi, mod_alias, mod_env, mod_auth_basic,
//     mod_auth_digest, mod_authn_core, mod_authn_file, mod_authz_core,
//     mod_authz_user, mod_authz_groupfile, mod_authz_host,
//     mod_access_compat, mod_ldap (util_ldap.c), mod_authnz_ldap,
//     mod_auth_gssapi, mod_auth_kerb, mod_auth_sspi, mod_ssl, mod_http2,
//     mod_md, mod_log_config, mod_reqtimeout, mod_unixd, the MPMs, core
//     and mod_so. It is false for every other module, mod_headers and
//     mod_remoteip included until gowsgi has their features;
//   - ServerRoot changes the directory relative paths resolve against
//     from the line it is on; before it, the directory holding the file
//     ([Options.ServerRoot] overrides that default, which differs from
//     Apache's compiled-in /etc/apache2).
//
// A hostile file cannot make the reader hold much: files are read up to
// [MaxFileSize] bytes, [MaxTotalSize] with their includes, logical lines
// up to [MaxLineLength], sections nest up to [MaxNesting] deep, and a
// configuration has at most [MaxDirectives] directives.
//
// # Checking
//
// [Check] (or [Load], which reads and checks) looks each directive up in
// a table: where it may be written (the main server, <VirtualHost>,
// <Directory>, <Files>, <Location>, <Limit>), how many arguments it
// takes and what they may be. Every error names the file, the line and
// the directive. The contexts and argument counts are Apache's, and a
// test runs Apache 2.4 itself (apache2 -t) on the same files to check
// that both accept and refuse the same ones at the same line.
//
// Implemented: Listen, ServerName, ServerAlias, ServerRoot,
// LimitRequestBody, WSGIScriptAlias (several per server, with the
// process-group, application-group, callable-object and
// pass-authorization options), WSGIDaemonProcess (processes, threads,
// python-path, python-home, request-timeout, queue-timeout,
// maximum-requests, memory-limit, inactivity-timeout, graceful-timeout,
// startup-timeout, listen-backlog, user, group; display-name is accepted
// with a warning, since the workers keep the interpreter's argv[0]; any
// other option is an error; user and group must be the server's User and
// Group, since the Go process drops its privileges), WSGIProcessGroup,
// WSGIApplicationGroup, WSGIPassAuthorization, WSGIScriptReloading,
// WSGICallableObject, SetEnv (an entry of the request's WSGI environ, as
// mod_wsgi passes it), Alias (static files), AuthType (Basic, Digest,
// GSSAPI, Kerberos, SSPI, None), AuthName, AuthUserFile, AuthGroupFile,
// AuthBasicProvider (file, ldap), AuthDigestDomain,
// AuthDigestNonceLifetime, Require (valid-user, user, group, ip, method,
// all granted|denied, ldap-user, ldap-group, ldap-dn, ldap-attribute,
// ldap-filter, each with "not") in <RequireAll>, <RequireAny> and
// <RequireNone>, <Limit> and <LimitExcept>, Order, Allow from, Deny from
// and Satisfy (mod_access_compat, addresses only), AuthLDAPURL,
// AuthLDAPBindDN, AuthLDAPBindPassword, AuthLDAPRemoteUserAttribute,
// AuthLDAPGroupAttribute, AuthLDAPGroupAttributeIsDN,
// AuthLDAPSubGroupAttribute, AuthLDAPSubGroupClass,
// AuthLDAPMaxSubGroupDepth, LDAPReferrals, LDAPReferralHopLimit,
// LDAPTrustedGlobalCert CA_BASE64, LDAPConnectionTimeout, LDAPTimeout,
// LDAPCacheTTL, LDAPOpCacheTTL, LDAPCacheEntries; and, mapped to the
// Kerberos (SPNEGO) provider, GssapiCredStore keytab:, GssapiAcceptorName,
// GssapiBasicAuth, GssapiLocalName, GssapiUseSessions, Krb5Keytab,
// KrbServiceName, KrbMethodNegotiate, KrbMethodK5Passwd, KrbAuthRealms,
// KrbLocalUserMapping, SSPIAuth, SSPIAuthoritative, SSPIDomain,
// SSPIOfferBasic, SSPIOfferSSPI, SSPIOmitDomain, SSPIBasicPreferred,
// SSPIUsernameCase; SSLEngine on|off, SSLCertificateFile and
// SSLCertificateKeyFile (HTTPS: since gowsgi serves one listener, every
// server a request can reach must have the same, a virtual host taking
// the main server's where it sets none, as mod_ssl merges them; Config.TLS)
// and Protocols (h2 and http/1.1; http/1.1 must be named), with Listen's
// https protocol, and Header always set Strict-Transport-Security
// "max-age=SECONDS" (the one Header line supported, for HTTPS); MDomain,
// MDContactEmail and MDCertificateAuthority (mod_md: certificates from an
// ACME authority for a server with SSLEngine on and no
// SSLCertificateFile); Redirect permanent / https://HOST/ in a
// <VirtualHost> that serves nothing else (the command's redirect
// listener: 308 to the same host and path over HTTPS); outside <VirtualHost> only, since gowsgi applies them to
// its one listener (Config.ServerWide): Timeout, KeepAliveTimeout,
// RequestReadTimeout, LimitRequestLine, LimitRequestFieldSize,
// LimitRequestFields, CustomLog FILE combined|json (one; no pipe, no
// condition), LogFormat (only Apache's definition of "combined"), LogLevel
// (one level; emerg to error map to error, notice to info, trace to
// debug); RemoteIPHeader X-Forwarded-For|Forwarded and
// RemoteIPTrustedProxy ADDRESS|CIDR... (mod_remoteip: package remoteip;
// host names are not supported); User and Group (the privilege drop).
// Regular expressions
// (<LocationMatch>, <Location ~>, ...) are Go's RE2: a PCRE back-reference
// or look-around is an error.
//
// Accepted and ignored, with a warning (what gowsgi -t prints):
// LoadModule of a module gowsgi implements (of any other module it is an
// error), AuthzLDAPAuthoritative (Apache 2.2, refused by Apache 2.4),
// ServerAdmin, DocumentRoot (gowsgi serves no document root: use Alias),
// Options, AllowOverride, DirectoryIndex, AddDefaultCharset,
// HostnameLookups, ServerTokens, ServerSignature, PidFile, Mutex,
// DefaultRuntimeDir, WSGISocketPrefix, WSGIRestrictEmbedded.
//
// Not supported yet, an error saying so: ErrorLog (the server log goes to
// standard error).
//
// Any other directive is an error naming it.
//
// # Merging
//
// [Config.Resolve] gives the [Effective] settings of one request (host,
// canonical path, method) as Apache merges its sections: the server's
// own settings, then <Directory> sections matching the file the path
// maps to (the WSGI script, or the file under an Alias; shortest path
// first, regular expressions last), then <Files>, then <Location> and
// <LocationMatch> in file order, a later section winning (a section with
// any of Order, Allow, Deny or Satisfy replaces all four, since
// mod_access_compat has no merge function). A <Directory>
// applies to the directories above the file, never to a path naming the
// file itself (the guide's virtual-host example has one, which Apache
// ignores: gowsgi warns); a <DirectoryMatch> expression is matched
// against the file's path. A test runs Apache with mod_wsgi on each kind
// of section and checks that Resolve predicts its answers. Require lines
// in a section replace those before it (AuthMerging Off); a Require
// inside <Limit METHOD...> or <LimitExcept METHOD...> applies to those
// methods only ([Require.ForMethod]), so that hgweb can serve anonymous
// clones and authenticated pushes; so do Order, Allow, Deny and Satisfy.
// Other directives inside <Limit> apply to every method, as in Apache
// (with a warning). The virtual host is chosen by port and name, as Apache's
// name-based virtual hosting ([Config.Server]).
//
// [Config.Sites] lists the servers with their ServerName, ServerAlias,
// WSGIScriptAlias mounts and Alias directories; [Config.Daemons] the
// WSGIDaemonProcess groups; [Config.Listen] the Listen lines.
//
// # The -dump format
//
// [Config.Dump] writes one line per item, in the order they apply,
// indented by two spaces per level, each followed by "  # FILE:LINE"
// where it comes from the file:
//
//	serverroot DIR
//	listen ADDR [PROTOCOL]
//	tls CERTFILE KEYFILE|- protocols=h2,http/1.1|http/1.1 [hsts=SECONDS]
//	tls acme=DOMAIN,... [email=ADDRESS] [ca=URL] protocols=... [hsts=SECONDS]
//	daemon NAME [OPTION=VALUE...] [vhost=ADDRS]
//	site ADDRS|main SERVERNAME|- [alias=NAME,...]
//	  alias URL DIR
//	  mount URL SCRIPT [process-group=G] [application-group=A] [callable-object=C] [pass-authorization=On|Off] pool=GROUP,KEY
//	  set DIRECTIVE ARGS...            (a server-level setting)
//	  directory|directorymatch|files|filesmatch|location|locationmatch PATTERN
//	    set DIRECTIVE ARGS...
//	    access Order|Allow|Deny|Satisfy ARGS...
//	    require RULE
//	    limit|limitexcept METHOD...
//	      require RULE
//	    files PATTERN                  (nested in a directory)
//
// A mount's pool is the process group (- for the default one) and the
// resolved application group its URL runs in (its host part is "*" when
// the site has no ServerName: mod_wsgi then names it after each
// request's host): requests with different pools never share a Python
// interpreter.
//
// Listeners come first, then HTTPS, then the daemon groups, then the sites in the
// order [Config.Sites] tries them (virtual hosts, then the main server).
// Within a site, aliases and mounts come first (they map the path), then
// the sections in the order they merge: directories (shortest first),
// files, locations (file order). The main server's sections also apply to
// the virtual hosts, before theirs. A RULE is what follows "Require" on
// a Require line ("valid-user", "not user guest"), or
// RequireAll(...), RequireAny(...), RequireNone(...) of Require lines
// for a section of them. The form is stable: new kinds of lines may be
// added, existing ones keep their meaning.
package apacheconf
