package apacheconf

import "strings"

// module is an Apache module as <IfModule> and LoadModule name it.
type module struct {
	file string // source file name, as <IfModule mod_x.c>
	id   string // identifier, as <IfModule x_module> and LoadModule
	// implemented: gowsgi does what the module does, so <IfModule> is
	// true and LoadModule of it is accepted and ignored.
	implemented bool
	// what replaces it, or why it is not there yet.
	note string
}

// modules lists the modules gowsgi knows. Those implemented make
// <IfModule> true; the others are false, as in an Apache that has not
// loaded them, and LoadModule of one is an error.
var modules = []module{
	{"core.c", "core_module", true, ""},
	{"http_core.c", "http_module", true, ""},
	{"mod_so.c", "so_module", true, "LoadModule"},
	{"mod_wsgi.c", "wsgi_module", true, "gowsgi's Python workers"},
	{"mod_alias.c", "alias_module", true, "Alias serves static files"},
	{"mod_env.c", "env_module", true, "SetEnv"},
	{"mod_auth_basic.c", "auth_basic_module", true, "package auth"},
	{"mod_auth_digest.c", "auth_digest_module", true, "package auth"},
	{"mod_authn_core.c", "authn_core_module", true, "package auth"},
	{"mod_authn_file.c", "authn_file_module", true, "package auth"},
	{"mod_authz_core.c", "authz_core_module", true, "package auth"},
	{"mod_authz_user.c", "authz_user_module", true, "package auth"},
	{"mod_authz_groupfile.c", "authz_groupfile_module", true, "package auth"},
	{"mod_authz_host.c", "authz_host_module", true, "package auth (Require ip)"},
	{"mod_access_compat.c", "access_compat_module", true, "Order/Allow/Deny mapped to Require ip"},
	{"util_ldap.c", "ldap_module", true, "package auth/ldapauth"},
	{"mod_authnz_ldap.c", "authnz_ldap_module", true, "package auth/ldapauth"},
	{"mod_auth_gssapi.c", "auth_gssapi_module", true, "package auth/kerberos"},
	{"mod_auth_kerb.c", "auth_kerb_module", true, "package auth/kerberos"},
	{"mod_auth_sspi.c", "sspi_auth_module", true, "package auth/kerberos (Negotiate)"},
	{"mod_mpm_event.c", "mpm_event_module", true, "gowsgi's own concurrency"},
	{"mod_mpm_worker.c", "mpm_worker_module", true, "gowsgi's own concurrency"},
	{"mod_mpm_prefork.c", "mpm_prefork_module", true, "gowsgi's own concurrency"},
	{"mod_ssl.c", "ssl_module", true, "the command's HTTPS (SSLEngine, SSLCertificateFile, SSLCertificateKeyFile)"},
	{"mod_md.c", "md_module", true, "the command's ACME (golang.org/x/crypto/acme/autocert)"},
	{"mod_http2.c", "http2_module", true, "Go's HTTP/2 over HTTPS (Protocols)"},
	{"mod_headers.c", "headers_module", false, "Header is not supported yet"},
	{"mod_log_config.c", "log_config_module", true, "the command's access log (CustomLog)"},
	{"mod_reqtimeout.c", "reqtimeout_module", true, "package framing (RequestReadTimeout)"},
	{"mod_remoteip.c", "remoteip_module", true, "package remoteip (RemoteIPHeader, RemoteIPTrustedProxy)"},
	{"mod_unixd.c", "unixd_module", true, "the command's privilege drop (User, Group)"},
}

// moduleImplemented reports whether name (a file name such as mod_ssl.c
// or an identifier such as ssl_module) is a module gowsgi implements, and
// whether it knows the module at all.
func moduleImplemented(name string) (on, known bool) {
	m := findModule(name)
	if m == nil {
		return false, false
	}
	return m.implemented, true
}

func findModule(name string) *module {
	for i := range modules {
		if modules[i].file == name || strings.EqualFold(modules[i].id, name) {
			return &modules[i]
		}
	}
	return nil
}
