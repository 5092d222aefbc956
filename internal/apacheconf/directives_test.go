package apacheconf

import (
	"strings"
	"testing"
)

// where wraps a directive in the sections of a context.
func where(ctx, line string) string {
	switch ctx {
	case "vhost":
		return "<VirtualHost *:80>\n" + line + "\n</VirtualHost>\n"
	case "dir":
		return "<Directory /srv>\n" + line + "\n</Directory>\n"
	case "loc":
		return "<Location /x>\n" + line + "\n</Location>\n"
	case "files":
		return "<Files x>\n" + line + "\n</Files>\n"
	}
	return line + "\n"
}

// directiveLine is the line of the directive in where's output.
func directiveLine(ctx string) string {
	if ctx == "" {
		return "t.conf:1: "
	}
	return "t.conf:2: "
}

// TestDirectiveTable checks good and bad forms of every directive of the
// table: a good form is accepted, a bad one refused with an error naming
// the file, the line and the directive.
func TestDirectiveTable(t *testing.T) {
	tests := []struct {
		ctx  string // "", "vhost", "dir", "loc", "files"
		line string
		err  string // "" for accepted; else a part of the message
		warn string // a part of a warning expected
	}{
		{"", "Listen 8080", "", ""},
		{"", "Listen [::1]:8080", "", ""},
		{"", "Listen 127.0.0.1:8080 http", "", ""},
		{"", "Listen 127.0.0.1:8443 https", "", ""},
		{"", "Listen 127.0.0.1:8443 ftp", "not supported: protocol ftp", ""},
		{"", "Listen localhost:80", "not an IP address", ""},
		{"", "Listen 70000", "not a port", ""},
		{"vhost", "Listen 80", "not allowed in <VirtualHost>", ""},
		{"", "ServerName trac.example.com", "", ""},
		{"vhost", "ServerName https://trac.example.com:443", "", ""},
		{"", "ServerName a b", "takes one argument", ""},
		{"loc", "ServerName a", "not allowed in <Location>", ""},
		{"vhost", "ServerAlias a b *.example.com", "", ""},
		{"", "ServerAlias a", "only used in <VirtualHost>", ""},
		{"", "ServerRoot /", "", ""},
		{"", "ServerRoot relative", "not an absolute path", ""},
		{"", "ServerRoot /nonexistent-dir", "not a directory", ""},
		{"loc", "LimitRequestBody 1000", "", ""},
		{"", "LimitRequestBody 1G", "not a number of bytes", ""},
		{"", "WSGIScriptAlias /trac /srv/trac.wsgi", "", ""},
		{"vhost", "WSGIScriptAlias / /srv/trac.wsgi application-group=%{GLOBAL} callable-object=app pass-authorization=On", "", ""},
		{"", "WSGIScriptAlias trac /srv/trac.wsgi", "does not start with /", ""},
		{"", "WSGIScriptAlias /trac trac.wsgi", "not an absolute path", ""},
		{"", "WSGIScriptAlias /trac /srv/trac.wsgi nosuch=1", `unknown option "nosuch"`, ""},
		{"", "WSGIScriptAlias /trac /srv/trac.wsgi process-group=nosuch", `no WSGIDaemonProcess "nosuch"`, ""},
		{"", "WSGIScriptAlias /trac /srv/trac.wsgi application-group=%{ENV:X}", "only a name", ""},
		{"", "WSGIScriptAlias /trac", "takes at least 2", ""},
		{"loc", "WSGIScriptAlias /trac /srv/trac.wsgi", "not allowed in <Location>", ""},
		{"", "WSGIDaemonProcess trac processes=2 threads=15 python-path=/a:/b python-home=/venv display-name=%{GROUP} request-timeout=60 queue-timeout=30 maximum-requests=100 memory-limit=1000000 inactivity-timeout=300 graceful-timeout=15 startup-timeout=20 listen-backlog=100", "", "display-name=%{GROUP} has no effect"},
		{"", "WSGIDaemonProcess trac processes=0", "processes=0: not a valid number", ""},
		{"", "WSGIDaemonProcess trac threads=x", "threads=x", ""},
		{"", "WSGIDaemonProcess trac home=/x", `unsupported option "home"`, ""},
		{"", "WSGIDaemonProcess trac user=www-data", "user=www-data: gowsgi runs every worker as the server's User", ""},
		{"", "WSGIDaemonProcess trac group=www-data", "group=www-data", ""},
		{"", "WSGIDaemonProcess trac processes", "not name=value", ""},
		{"", "WSGIDaemonProcess trac\nWSGIDaemonProcess trac", "duplicates the group defined at", ""},
		{"", "WSGIProcessGroup %{GLOBAL}", "", "no embedded mode"},
		{"loc", "WSGIProcessGroup nosuch", `no WSGIDaemonProcess "nosuch"`, ""},
		{"", "WSGIProcessGroup %{ENV:X}", "only a group name", ""},
		{"dir", "WSGIApplicationGroup %{GLOBAL}", "", ""},
		{"dir", "WSGIApplicationGroup trac", "", ""},
		{"dir", "WSGIApplicationGroup %{ENV:X}", "only a name", ""},
		{"loc", "WSGIPassAuthorization On", "", ""},
		{"loc", "WSGIPassAuthorization yes", "must be On or Off", ""},
		{"", "WSGIScriptReloading Off", "", ""},
		{"", "WSGIScriptReloading", "takes one argument", ""},
		{"files", "WSGICallableObject app", "", ""},
		{"loc", "SetEnv trac.env_path /srv/trac", "", ""},
		{"", "SetEnv A", "", ""},
		{"", "SetEnv A b c", "takes 1 to 2 arguments", ""},
		{"", "Alias /chrome /srv/htdocs", "", ""},
		{"", "Alias /chrome htdocs", "not an absolute path", ""},
		{"loc", "Alias /chrome /srv/htdocs", "not allowed in <Location>", ""},
		{"loc", "AuthType Basic", "", ""},
		{"loc", "AuthType digest", "", ""},
		{"loc", "AuthType None", "", ""},
		{"loc", "AuthType Form", `"Form" is not implemented by gowsgi`, ""},
		{"", "AuthType Basic", "not allowed in the main server", ""},
		{"vhost", "AuthType Basic", "not allowed in <VirtualHost>", ""},
		{"loc", "AuthName \"Trac Login\"", "", ""},
		{"loc", "AuthName a b", "takes one argument", ""},
		{"loc", "AuthUserFile trac.htpasswd", "", ""},
		{"dir", "AuthGroupFile /srv/groups", "", ""},
		{"loc", "AuthBasicProvider file ldap", "", ""},
		{"loc", "AuthBasicProvider dbm", `provider "dbm" is not implemented`, ""},
		{"loc", "AuthDigestDomain /trac /hg", "", ""},
		{"loc", "AuthDigestNonceLifetime 300", "", ""},
		{"loc", "AuthDigestNonceLifetime 5m", "not a number of seconds", ""},
		{"loc", "Require valid-user", "", ""},
		{"loc", "Require user alice bob", "", ""},
		{"loc", "Require group admins", "", ""},
		{"loc", "Require ip 10.0.0.0/8 192.168 ::1 10.1.0.0/255.255.0.0", "", ""},
		{"loc", "Require ip example.com", "host names are not supported", ""},
		{"loc", "Require method GET HEAD", "", ""},
		{"loc", "Require method get", "is not a method", ""},
		{"loc", "Require all granted", "", ""},
		{"loc", "Require all maybe", "all takes granted or denied", ""},
		{"loc", "Require ldap-group cn=a b,dc=x", "", ""},
		{"loc", "Require ldap-user alice", "", ""},
		{"loc", "Require ldap-dn cn=alice,dc=x", "", ""},
		{"loc", "Require ldap-attribute employeeType=active", "", ""},
		{"loc", "Require ldap-filter (uid=alice)", "", ""},
		{"loc", "Require valid-user alice", "takes no argument", ""},
		{"loc", "Require user", "needs an argument", ""},
		{"loc", "Require expr true", `provider "expr" is not implemented`, ""},
		{"loc", "Require not", "needs a provider", ""},
		{"loc", "Require not valid-user", "negative Require directive has no effect", ""},
		{"loc", "Order allow,deny", "", ""},
		{"loc", "Order Mutual-failure", "", ""},
		{"loc", "Order sideways", "unknown order", ""},
		{"loc", "Allow from all", "", ""},
		{"loc", "Allow from 10.0.0.0/8 192.168.1", "", ""},
		{"loc", "Allow all", "takes at least 2", ""},
		{"loc", "Allow to all", "must be followed by 'from'", ""},
		{"loc", "Allow from env=X", "not implemented", ""},
		{"loc", "Deny from example.com", "host names are not supported", ""},
		{"loc", "Satisfy Any", "", ""},
		{"loc", "Satisfy some", "must be All or Any", ""},
		{"loc", "AuthLDAPURL \"ldap://ad:3268/DC=x?sAMAccountName?sub?(objectClass=user)\" STARTTLS", "", ""},
		{"loc", "AuthLDAPURL ldap://ad/ MAYBE", "second argument must be", ""},
		{"loc", "AuthLDAPURL http://ad/", "not an ldap://", ""},
		{"loc", "AuthLDAPBindDN cn=svc,dc=x", "", ""},
		{"loc", "AuthLDAPBindPassword secret", "", ""},
		{"loc", "AuthLDAPBindPassword exec:/bin/pw", "exec: is not supported", ""},
		{"loc", "AuthLDAPRemoteUserAttribute uid", "", ""},
		{"loc", "AuthLDAPGroupAttribute memberUid", "", ""},
		{"loc", "AuthLDAPGroupAttributeIsDN off", "", ""},
		{"loc", "AuthLDAPSubGroupAttribute member", "", ""},
		{"loc", "AuthLDAPSubGroupClass group", "", ""},
		{"loc", "AuthLDAPMaxSubGroupDepth 3", "", ""},
		{"loc", "AuthLDAPMaxSubGroupDepth -1", "not a number from 0", ""},
		{"loc", "LDAPReferrals default", "", ""},
		{"loc", "LDAPReferrals sometimes", "must be On, Off or default", ""},
		{"loc", "LDAPReferralHopLimit 5", "", ""},
		{"", "LDAPTrustedGlobalCert CA_BASE64 ca.pem", "", ""},
		{"", "LDAPTrustedGlobalCert CA_DER ca.der", "only CA_BASE64", ""},
		{"loc", "LDAPTrustedGlobalCert CA_BASE64 ca.pem", "not allowed in <Location>", ""},
		{"", "LDAPConnectionTimeout 5", "", ""},
		{"", "LDAPTimeout 5", "", ""},
		{"", "LDAPCacheTTL 600", "", ""},
		{"", "LDAPOpCacheTTL 600", "", ""},
		{"", "LDAPOpCacheTTL ten", "not a number of seconds", ""},
		{"", "LDAPCacheEntries 1024", "", ""},
		{"", "LDAPCacheEntries many", "not a number", ""},
		{"loc", "GssapiCredStore keytab:/etc/http.keytab", "", ""},
		{"loc", "GssapiCredStore ccache:/tmp/x", "only keytab:FILE", ""},
		{"loc", "GssapiAcceptorName HTTP@trac.example.com", "", ""},
		{"loc", "GssapiBasicAuth On", "", ""},
		{"loc", "GssapiLocalName On", "", ""},
		{"loc", "GssapiUseSessions On", "", ""},
		{"loc", "Krb5Keytab /etc/http.keytab", "", ""},
		{"loc", "KrbServiceName HTTP/trac.example.com@EXAMPLE.COM", "", ""},
		{"loc", "KrbMethodNegotiate On", "", ""},
		{"loc", "KrbMethodK5Passwd Off", "", ""},
		{"loc", "KrbAuthRealms EXAMPLE.COM OTHER.COM", "", ""},
		{"loc", "KrbLocalUserMapping On", "", ""},
		{"loc", "SSPIAuth On", "", ""},
		{"loc", "SSPIAuthoritative On", "", ""},
		{"loc", "SSPIDomain MyLocalDomain", "", ""},
		{"loc", "SSPIOfferBasic On", "", ""},
		{"loc", "SSPIOfferSSPI On", "", ""},
		{"loc", "SSPIOmitDomain Off", "", ""},
		{"loc", "SSPIBasicPreferred On", "", ""},
		{"loc", "SSPIBasicPreferred perhaps", "must be On or Off", ""},
		{"loc", "SSPIUsernameCase lower", "", ""},
		{"loc", "SSPIUsernameCase title", "must be lower or upper", ""},

		{"", "LoadModule wsgi_module /usr/lib/apache2/modules/mod_wsgi.so", "", "ignored: gowsgi implements wsgi_module"},
		{"", "LoadModule rewrite_module modules/mod_rewrite.so", "gowsgi does not implement rewrite_module", ""},
		{"", "LoadModule ssl_module modules/mod_ssl.so", "", "ignored"},
		{"", "LoadModule md_module modules/mod_md.so", "", "ignored"},
		{"", "LoadModule headers_module modules/mod_headers.so", "not supported yet", ""},
		{"loc", "AuthzLDAPAuthoritative Off", "", "Apache 2.2"},
		{"", "ServerAdmin root@example.com", "", "ignored"},
		{"vhost", "DocumentRoot /srv/htdocs", "", "use Alias"},
		{"dir", "Options FollowSymLinks", "", "ignored"},
		{"dir", "AllowOverride None", "", "no .htaccess"},
		{"loc", "AllowOverride None", "not allowed in <Location>", ""},
		{"", "DirectoryIndex index.html", "", "ignored"},
		{"", "AddDefaultCharset UTF-8", "", "ignored"},
		{"", "HostnameLookups Off", "", "ignored"},
		{"", "ServerTokens Prod", "", "ignored"},
		{"", "ServerSignature Off", "", "ignored"},
		{"", "PidFile /run/x.pid", "", "ignored"},
		{"", "Mutex file:/run default", "", "ignored"},
		{"", "DefaultRuntimeDir /run", "", "ignored"},
		{"", "WSGISocketPrefix /run/wsgi", "", "ignored"},
		{"", "WSGIRestrictEmbedded On", "", "ignored"},

		{"vhost", "SSLEngine on", "SSLEngine on without SSLCertificateFile", ""},
		{"vhost", "SSLEngine optional", "not supported: optional", ""},
		{"vhost", "SSLEngine on\nSSLCertificateFile /etc/cert.pem", "", ""},
		{"vhost", "SSLCertificateFile /etc/cert.pem", "", ""},
		{"vhost", "SSLCertificateKeyFile /etc/key.pem", "", ""},
		{"", "MDomain example.com", "", "no server uses it"},
		{"", "MDomain example.com manual", "manual", ""},
		{"", "MDContactEmail a@example.com", "", ""},
		{"", "MDCertificateAuthority https://acme/", "", ""},
		{"", "MDCertificateAuthority letsencrypt", "https://", ""},
		{"", "Protocols h2 http/1.1", "", ""},
		{"", "Protocols h2", "always serves http/1.1", ""},
		{"", "Protocols h2c http/1.1", "protocol \"h2c\" is not supported", ""},
		{"vhost", "Redirect permanent / https://example.com/", "", ""},
		{"vhost", "Redirect / https://example.com/", "", ""},
		{"vhost", "Redirect temp / https://example.com/", "gowsgi redirects to HTTPS permanently", ""},
		{"vhost", "Redirect permanent /old http://example.com/new", "only Redirect permanent / https://HOST/", ""},
		{"", "Redirect permanent / https://example.com/", "not allowed", ""},
		{"vhost", "SSLEngine on\nSSLCertificateFile /c.pem\nHeader always set Strict-Transport-Security \"max-age=63072000\"", "", ""},
		{"vhost", "Header always set Strict-Transport-Security max-age=1", "for HTTPS: this server has no SSLEngine on", ""},
		{"vhost", "Header always set Strict-Transport-Security \"max-age=1; includeSubDomains\"", "includeSubDomains", ""},
		{"vhost", "Header set X-Frame-Options DENY", "only Header always set Strict-Transport-Security", ""},
		{"", "LogFormat \"%h %l\" common", "only LogFormat", ""},
		{"", "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O \\\"%{Referer}i\\\" \\\"%{User-Agent}i\\\"\" combined", "", ""},
		{"", "CustomLog /var/log/access.log combined", "", ""},
		{"", "CustomLog /var/log/access.log common", "format \"common\"", ""},
		{"", "CustomLog \"|/usr/bin/rotatelogs x\" combined", "piped logs", ""},
		{"vhost", "CustomLog /var/log/access.log combined", "outside <VirtualHost>", ""},
		{"", "ErrorLog /var/log/error.log", "not supported yet", ""},
		{"", "LogLevel warn", "", ""},
		{"", "LogLevel warn ssl:debug", "per-module levels", ""},
		{"", "LogLevel loud", "not a level", ""},
		{"", "Timeout 60", "", ""},
		{"", "Timeout 1m", "not a number of seconds", ""},
		{"", "KeepAliveTimeout 5", "", ""},
		{"vhost", "KeepAliveTimeout 5", "outside <VirtualHost>", ""},
		{"", "RequestReadTimeout header=20-40,MinRate=500", "", ""},
		{"", "LimitRequestLine 8190", "", ""},
		{"", "LimitRequestLine big", "not a number", ""},
		{"", "LimitRequestFieldSize 8190", "", ""},
		{"", "LimitRequestFields 100", "", ""},
		{"", "RemoteIPHeader X-Forwarded-For", "", ""},
		{"", "RemoteIPHeader Forwarded", "", ""},
		{"", "RemoteIPHeader X-Real-IP", "X-Forwarded-For", ""},
		{"vhost", "RemoteIPHeader X-Forwarded-For", "outside <VirtualHost>", ""},
		{"", "RemoteIPTrustedProxy 10.0.0.1 192.168.0.0/16 ::1", "", ""},
		{"", "RemoteIPTrustedProxy proxy.example.com", "not an address or a CIDR", ""},
		{"", "User www-data", "", ""},
		{"", "Group www-data", "", ""},

		{"", "RewriteEngine On", "RewriteEngine: directive not implemented by gowsgi", ""},
		{"loc", "<Limit GET>\nAuthType Basic\n</Limit>", "", "applies to every method"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		name, _, _ := strings.Cut(tt.line, " ")
		seen[strings.ToLower(name)] = true
		t.Run(tt.ctx+"/"+tt.line, func(t *testing.T) {
			c, err := parseAndCheck("t.conf", where(tt.ctx, tt.line))
			if tt.err == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			} else {
				if err == nil {
					t.Fatalf("accepted, want an error with %q", tt.err)
				}
				msg := err.Error()
				if !strings.Contains(msg, tt.err) || !strings.Contains(msg, "t.conf:") || !strings.Contains(strings.ToLower(msg), strings.ToLower(name)) {
					t.Fatalf("error %q, want file:line, %s and %q", msg, name, tt.err)
				}
				if !strings.Contains(tt.line, "\n") && !strings.Contains(msg, directiveLine(tt.ctx)) {
					t.Fatalf("error %q, want it at %s", msg, directiveLine(tt.ctx))
				}
				return
			}
			var ws []string
			for _, w := range c.Warnings {
				ws = append(ws, w.String())
			}
			if tt.warn == "" && len(ws) > 0 {
				t.Fatalf("warnings %q", ws)
			}
			if tt.warn != "" && !strings.Contains(strings.Join(ws, "\n"), tt.warn) {
				t.Fatalf("warnings %q, want %q", ws, tt.warn)
			}
		})
	}
	for _, s := range table {
		if !seen[strings.ToLower(s.name)] {
			t.Errorf("directive %s has no test", s.name)
		}
	}
}

// parseAndCheck is Load on a file in memory, with an empty environment.
func parseAndCheck(name, src string) (*Config, error) {
	f, err := ParseBytes(name, []byte(src), Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		return nil, err
	}
	return Check(f)
}

func TestTooManyErrors(t *testing.T) {
	_, err := parseAndCheck("t.conf", strings.Repeat("Bogus\n", 100))
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || lines[0] != "t.conf:1: Bogus: directive not implemented by gowsgi (see the list of supported directives in `go doc github.com/gowsgi/gowsgi/internal/apacheconf`)" || lines[maxErrors] != "too many errors" {
		t.Errorf("got %d lines: %q ... %q", len(lines), lines[0], lines[len(lines)-1])
	}
}
