package apacheconf

import "strings"

// context is where a directive may be written, as Apache's override
// classes say it.
type context uint16

const (
	inServer    context = 1 << iota // outside any section
	inVHost                         // directly in <VirtualHost>
	inDirectory                     // <Directory>, <DirectoryMatch>
	inFiles                         // <Files>, <FilesMatch>
	inLocation                      // <Location>, <LocationMatch>

	rsrc   = inServer | inVHost                 // Apache's RSRC_CONF
	dirs   = inDirectory | inFiles | inLocation // ACCESS_CONF, OR_AUTHCFG, OR_LIMIT
	always = rsrc | dirs                        // OR_FILEINFO and the like
)

func (c context) String() string {
	switch c {
	case inServer:
		return "the main server"
	case inVHost:
		return "<VirtualHost>"
	case inDirectory:
		return "<Directory>"
	case inFiles:
		return "<Files>"
	case inLocation:
		return "<Location>"
	}
	return "this context"
}

// status says what gowsgi does with a directive.
type status int

const (
	supported status = iota
	// ignored directives are accepted and have no effect, with a warning.
	ignored
	// notYet directives name a feature gowsgi will have: an error for now.
	notYet
)

// spec is a directive's entry in the table.
type spec struct {
	name     string // canonical spelling
	where    context
	min, max int // argument count; max < 0: no limit
	status   status
	// usage is the argument syntax, or for ignored and notYet
	// directives the reason.
	usage string
}

// table lists every directive gowsgi reads. Read-time directives
// (Define, UnDefine, Include, IncludeOptional) are handled while reading
// and are not here; sections are in sectionTable.
var table = func() map[string]*spec {
	m := map[string]*spec{}
	for _, s := range []spec{
		// core
		{"Listen", inServer, 1, 2, supported, "[IP-address:]port [protocol]"},
		{"ServerName", rsrc, 1, 1, supported, "host name"},
		{"ServerAlias", inVHost, 1, -1, supported, "host name..."},
		{"ServerRoot", inServer, 1, 1, supported, "directory"},
		{"LimitRequestBody", always, 1, 1, supported, "bytes"},
		// mod_wsgi
		{"WSGIScriptAlias", rsrc, 2, -1, supported, "URL-path script [option=value...]"},
		{"WSGIDaemonProcess", rsrc, 1, -1, supported, "name [option=value...]"},
		{"WSGIProcessGroup", always, 1, 1, supported, "name"},
		{"WSGIApplicationGroup", always, 1, 1, supported, "name"},
		{"WSGIPassAuthorization", always, 1, 1, supported, "On|Off"},
		{"WSGIScriptReloading", always, 1, 1, supported, "On|Off"},
		{"WSGICallableObject", always, 1, 1, supported, "name"},
		// mod_env, mod_alias
		{"SetEnv", always, 1, 2, supported, "variable [value]"},
		{"Alias", rsrc, 2, 2, supported, "URL-path directory"},
		// authentication
		{"AuthType", dirs, 1, 1, supported, "Basic|Digest|GSSAPI|Kerberos|SSPI|None"},
		{"AuthName", dirs, 1, 1, supported, "realm"},
		{"AuthUserFile", dirs, 1, 1, supported, "file"},
		{"AuthGroupFile", dirs, 1, 1, supported, "file"},
		{"AuthBasicProvider", dirs, 1, -1, supported, "file|ldap..."},
		{"AuthDigestDomain", dirs, 1, -1, supported, "URI..."},
		{"AuthDigestNonceLifetime", dirs, 1, 1, supported, "seconds"},
		{"Require", dirs, 1, -1, supported, "[not] provider [argument...]"},
		{"Order", dirs, 1, 1, supported, "Deny,Allow|Allow,Deny|Mutual-failure"},
		{"Allow", dirs, 2, -1, supported, "from all|address..."},
		{"Deny", dirs, 2, -1, supported, "from all|address..."},
		{"Satisfy", dirs, 1, 1, supported, "All|Any"},
		// mod_authnz_ldap, mod_ldap
		{"AuthLDAPURL", dirs, 1, 2, supported, "URL [NONE|SSL|TLS|STARTTLS]"},
		{"AuthLDAPBindDN", dirs, 1, 1, supported, "DN"},
		{"AuthLDAPBindPassword", dirs, 1, 1, supported, "password"},
		{"AuthLDAPRemoteUserAttribute", dirs, 1, 1, supported, "attribute"},
		{"AuthLDAPGroupAttribute", dirs, 1, 1, supported, "attribute"},
		{"AuthLDAPGroupAttributeIsDN", dirs, 1, 1, supported, "On|Off"},
		{"AuthLDAPSubGroupAttribute", dirs, 1, 1, supported, "attribute"},
		{"AuthLDAPSubGroupClass", dirs, 1, 1, supported, "objectClass"},
		{"AuthLDAPMaxSubGroupDepth", dirs, 1, 1, supported, "number"},
		{"LDAPReferrals", dirs, 1, 1, supported, "On|Off|default"},
		{"LDAPReferralHopLimit", dirs, 1, 1, supported, "number"},
		{"LDAPTrustedGlobalCert", inServer, 2, 3, supported, "CA_BASE64 file"},
		{"LDAPConnectionTimeout", inServer, 1, 1, supported, "seconds"},
		{"LDAPTimeout", inServer, 1, 1, supported, "seconds"},
		{"LDAPCacheTTL", inServer, 1, 1, supported, "seconds"},
		{"LDAPOpCacheTTL", inServer, 1, 1, supported, "seconds"},
		{"LDAPCacheEntries", inServer, 1, 1, supported, "number"},
		// mod_auth_gssapi, mod_auth_kerb, mod_auth_sspi: the Kerberos
		// (SPNEGO) provider
		{"GssapiCredStore", dirs, 1, 1, supported, "keytab:file"},
		{"GssapiAcceptorName", dirs, 1, 1, supported, "HTTP@host"},
		{"GssapiBasicAuth", dirs, 1, 1, supported, "On|Off"},
		{"GssapiLocalName", dirs, 1, 1, supported, "On|Off"},
		{"GssapiUseSessions", dirs, 1, 1, supported, "On|Off"},
		{"Krb5Keytab", dirs, 1, 1, supported, "file"},
		{"KrbServiceName", dirs, 1, 1, supported, "principal"},
		{"KrbMethodNegotiate", dirs, 1, 1, supported, "On|Off"},
		{"KrbMethodK5Passwd", dirs, 1, 1, supported, "On|Off"},
		{"KrbAuthRealms", dirs, 1, -1, supported, "realm..."},
		{"KrbLocalUserMapping", dirs, 1, 1, supported, "On|Off"},
		{"SSPIAuth", dirs, 1, 1, supported, "On|Off"},
		{"SSPIAuthoritative", dirs, 1, 1, supported, "On|Off"},
		{"SSPIDomain", dirs, 1, 1, supported, "domain"},
		{"SSPIOfferBasic", dirs, 1, 1, supported, "On|Off"},
		{"SSPIOfferSSPI", dirs, 1, 1, supported, "On|Off"},
		{"SSPIOmitDomain", dirs, 1, 1, supported, "On|Off"},
		{"SSPIBasicPreferred", dirs, 1, 1, supported, "On|Off"},
		{"SSPIUsernameCase", dirs, 1, 1, supported, "lower|upper"},

		// accepted and ignored, with a warning
		{"LoadModule", inServer, 2, 2, ignored, "gowsgi has the modules it implements built in"},
		{"AuthzLDAPAuthoritative", dirs, 1, 1, ignored, "an Apache 2.2 directive with no effect in 2.4 (Apache 2.4 refuses it)"},
		{"ServerAdmin", rsrc, 1, 1, ignored, "gowsgi's error pages name no administrator"},
		{"DocumentRoot", rsrc, 1, 1, ignored, "gowsgi serves no document root: use Alias for static files"},
		{"Options", always, 1, -1, ignored, "gowsgi never lists directories, runs CGI or follows symlinks out of an Alias"},
		{"AllowOverride", inDirectory, 1, -1, ignored, "gowsgi reads no .htaccess file"},
		{"DirectoryIndex", always, 1, -1, ignored, "gowsgi serves no document root"},
		{"AddDefaultCharset", always, 1, 1, ignored, "the application sets its Content-Type"},
		{"HostnameLookups", always, 1, 1, ignored, "gowsgi never looks client addresses up in the DNS"},
		{"ServerTokens", inServer, 1, 1, ignored, "gowsgi sends no Server header"},
		{"ServerSignature", always, 1, 1, ignored, "gowsgi's error pages have no signature"},
		{"PidFile", inServer, 1, 1, ignored, "gowsgi writes no pid file (run it under systemd)"},
		{"Mutex", inServer, 1, -1, ignored, "gowsgi needs no lock files"},
		{"DefaultRuntimeDir", inServer, 1, 1, ignored, "gowsgi keeps no runtime files"},
		{"WSGISocketPrefix", inServer, 1, 1, ignored, "gowsgi's worker sockets are private socket pairs"},
		{"WSGIRestrictEmbedded", inServer, 1, 1, ignored, "gowsgi has no embedded mode"},

		// features that are coming: an error until they land
		{"SSLEngine", rsrc, 1, 1, supported, "on|off"},
		{"SSLCertificateFile", rsrc, 1, 1, supported, "file"},
		{"SSLCertificateKeyFile", rsrc, 1, 1, supported, "file"},
		{"MDomain", inServer, 1, -1, supported, "dns-name... [auto]"},
		{"MDContactEmail", inServer, 1, 1, supported, "address"},
		{"MDCertificateAuthority", inServer, 1, 1, supported, "URL"},
		{"Protocols", rsrc, 1, -1, supported, "h2|http/1.1..."},
		{"Redirect", inVHost, 2, 3, supported, "permanent / https://host/ (a virtual host of plain HTTP sending every request to HTTPS)"},
		{"Header", rsrc, 1, -1, supported, "always set Strict-Transport-Security \"max-age=SECONDS\""},
		{"LogFormat", rsrc, 1, 2, supported, "format nickname"},
		{"CustomLog", rsrc, 2, 3, supported, "file combined|json"},
		{"ErrorLog", rsrc, 1, 1, notYet, "ErrorLog"},
		{"LogLevel", rsrc, 1, -1, supported, "level"},
		{"Timeout", rsrc, 1, 1, supported, "seconds"},
		{"KeepAliveTimeout", rsrc, 1, 1, supported, "seconds"},
		{"RequestReadTimeout", rsrc, 1, -1, supported, "header=T[-MAX][,MinRate=R] body=..."},
		{"LimitRequestLine", rsrc, 1, 1, supported, "bytes"},
		{"LimitRequestFieldSize", rsrc, 1, 1, supported, "bytes"},
		{"LimitRequestFields", rsrc, 1, 1, supported, "number"},
		{"RemoteIPHeader", rsrc, 1, 1, supported, "X-Forwarded-For|Forwarded"},
		{"RemoteIPTrustedProxy", rsrc, 1, -1, supported, "address|CIDR..."},
		{"User", inServer, 1, 1, supported, "user name or #UID"},
		{"Group", inServer, 1, 1, supported, "group name or #GID"},
	} {
		m[strings.ToLower(s.name)] = &s
	}
	return m
}()

// sectionSpec is a section's entry in sectionTable.
type sectionSpec struct {
	name   string
	parent context // where the section may be opened
	min    int     // arguments
	max    int
}

var sectionTable = func() map[string]*sectionSpec {
	m := map[string]*sectionSpec{}
	for _, s := range []sectionSpec{
		{"VirtualHost", inServer, 1, -1},
		{"Directory", rsrc, 1, 2},
		{"DirectoryMatch", rsrc, 1, 1},
		{"Location", rsrc, 1, 2},
		{"LocationMatch", rsrc, 1, 1},
		{"Files", rsrc | inDirectory, 1, 2},
		{"FilesMatch", rsrc | inDirectory, 1, 1},
		{"Limit", dirs, 1, -1},
		{"LimitExcept", dirs, 1, -1},
		{"RequireAll", dirs, 0, 0},
		{"RequireAny", dirs, 0, 0},
		{"RequireNone", dirs, 0, 0},
	} {
		m[strings.ToLower(s.name)] = &s
	}
	return m
}()

// Directives returns the names of the directives gowsgi implements,
// those it accepts and ignores, and those it will support but does not
// yet, each list sorted (for documentation, such as gowsgi -h).
func Directives() (implemented, ignoredNames, notYetNames []string) {
	for _, s := range table {
		switch s.status {
		case supported:
			implemented = append(implemented, s.name)
		case ignored:
			ignoredNames = append(ignoredNames, s.name)
		case notYet:
			notYetNames = append(notYetNames, s.name)
		}
	}
	return sortStrings(implemented), sortStrings(ignoredNames), sortStrings(notYetNames)
}
