package apacheconf

import (
	"net/netip"
	"strings"
	"testing"
)

func mustCheck(t *testing.T, src string) *Config {
	t.Helper()
	c, err := parseAndCheck("t.conf", src)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func reqString(r *Require) string {
	if r == nil {
		return ""
	}
	return r.String()
}

// TestMergeOrder checks the order Apache merges sections in: Directory
// (shortest first, whatever the file order; regular expressions last),
// Files, then Location and LocationMatch in file order, a later one
// winning.
func TestMergeOrder(t *testing.T) {
	c := mustCheck(t, `
WSGIScriptAlias /app /srv/app/deep/app.wsgi
SetEnv level server
<Location /app>
    SetEnv level location
    SetEnv loc1 yes
</Location>
<DirectoryMatch "^/srv/app">
    SetEnv level directorymatch
    SetEnv dm yes
</DirectoryMatch>
<Directory /srv/app/deep>
    SetEnv level deep
    <Files "*.wsgi">
        SetEnv level nested-files
    </Files>
</Directory>
<Directory /srv>
    SetEnv level shallow
    SetEnv shallow yes
</Directory>
<Files app.wsgi>
    SetEnv level files
</Files>
<LocationMatch "^/app/x">
    SetEnv level locationmatch
</LocationMatch>
`)
	tests := []struct{ path, level string }{
		{"/app", "location"},
		{"/app/x/y", "locationmatch"},
	}
	for _, tt := range tests {
		e := c.Resolve("h", tt.path, "GET")
		if e.Env["level"] != tt.level || e.Env["shallow"] != "yes" || e.Env["dm"] != "yes" || e.Env["loc1"] != "yes" {
			t.Errorf("%s: env %v, want level=%s", tt.path, e.Env, tt.level)
		}
		var kinds []string
		for _, s := range e.Sections {
			kinds = append(kinds, s.Kind+" "+s.Pattern)
		}
		want := "Directory /srv,Directory /srv/app/deep,DirectoryMatch ^/srv/app,Files app.wsgi,Files *.wsgi,Location /app"
		if tt.path == "/app/x/y" {
			want += ",LocationMatch ^/app/x"
		}
		if strings.Join(kinds, ",") != want {
			t.Errorf("%s: sections %q, want %q", tt.path, kinds, want)
		}
	}
	// Outside the mount no file is mapped: only the server's settings.
	if e := c.Resolve("h", "/other", "GET"); e.Env["level"] != "server" || len(e.Sections) != 0 {
		t.Errorf("/other: %v %v", e.Env, e.Sections)
	}
}

// TestSeveralLocationMatch: several <LocationMatch> blocks with different
// AuthTypes on one host each protect their own paths.
func TestSeveralLocationMatch(t *testing.T) {
	c := mustCheck(t, `
WSGIScriptAlias / /srv/trac.wsgi
<LocationMatch "^/trac/[^/]+/login">
    AuthType Basic
    AuthName "Trac"
    AuthUserFile /srv/trac.htpasswd
    Require valid-user
</LocationMatch>
<LocationMatch "^/admin">
    AuthType Digest
    AuthName "admin"
    AuthUserFile /srv/admin.htdigest
    Require user root
</LocationMatch>
<Location /public>
    AuthType None
    Require all granted
</Location>
<Location /public/secret>
    AuthType Basic
    AuthName "secret"
</Location>
`)
	tests := []struct{ path, authType, authName, file, require string }{
		{"/trac/alpha/login", "Basic", "Trac", "/srv/trac.htpasswd", "Require valid-user"},
		{"/admin/x", "Digest", "admin", "/srv/admin.htdigest", "Require user root"},
		{"/trac/alpha/wiki", "", "", "", ""},
		{"/public/x", "", "", "", "Require all granted"},
		// Inherits the Require of /public, as Apache does.
		{"/public/secret", "Basic", "secret", "", "Require all granted"},
	}
	for _, tt := range tests {
		e := c.Resolve("h", tt.path, "GET")
		if e.AuthType != tt.authType || e.AuthName != tt.authName || e.AuthUserFile != tt.file || reqString(e.Require) != tt.require {
			t.Errorf("%s: got %q %q %q %q, want %q %q %q %q", tt.path, e.AuthType, e.AuthName, e.AuthUserFile, reqString(e.Require),
				tt.authType, tt.authName, tt.file, tt.require)
		}
	}
}

// TestLimit: Require inside <Limit>/<LimitExcept> applies to those
// methods only; a section with Require lines replaces the inherited ones
// even for methods its lines do not cover.
func TestLimit(t *testing.T) {
	c := mustCheck(t, `
WSGIScriptAlias / /srv/app.wsgi
<Location />
    Require ip 10.0.0.0/8
</Location>
<Location /hg>
    AuthType Basic
    AuthName hg
    AuthUserFile /srv/hg.htpasswd
    <LimitExcept GET HEAD OPTIONS>
        Require valid-user
    </LimitExcept>
</Location>
<Location /svn>
    AuthType Basic
    AuthName svn
    <Limit POST PUT>
        Require user alice
    </Limit>
    <Limit DELETE>
        <RequireAll>
            Require user alice
            Require ip 127.0.0.1
        </RequireAll>
    </Limit>
    Require group readers
</Location>
`)
	tests := []struct{ path, method, require string }{
		{"/x", "GET", "Require ip 10.0.0.0/8"},
		{"/hg/repo", "GET", ""},
		{"/hg/repo", "HEAD", ""},
		{"/hg/repo", "OPTIONS", ""},
		{"/hg/repo", "POST", "Require valid-user"},
		{"/svn", "GET", "Require group readers"},
		{"/svn", "PUT", "RequireAny(Require user alice, Require group readers)"},
		{"/svn", "DELETE", "RequireAny(RequireAll(Require user alice, Require ip 127.0.0.1), Require group readers)"},
	}
	for _, tt := range tests {
		e := c.Resolve("h", tt.path, tt.method)
		if got := reqString(e.Require); got != tt.require {
			t.Errorf("%s %s: got %q, want %q", tt.method, tt.path, got, tt.require)
		}
	}
}

func TestAccessCompat(t *testing.T) {
	c := mustCheck(t, `
WSGIScriptAlias / /srv/app.wsgi
<Location />
    Order deny,allow
    Deny from all
    Allow from 10.0.0.0/8 192.168.1
</Location>
<Location /open>
    Allow from all
</Location>
<Location /strict>
    Order allow,deny
    Allow from 10.0.0.0/8
    Deny from 10.0.0.66
</Location>
<Location /writes>
    Order deny,allow
    <Limit POST>
        Deny from all
    </Limit>
    Satisfy Any
</Location>
<Location /post-internal>
    Deny from 192.0.2.1
    <Limit POST>
        Order allow,deny
        Allow from 10.0.0.0/8
    </Limit>
</Location>
`)
	tests := []struct {
		path, method, addr string
		ok                 bool
	}{
		{"/x", "GET", "10.1.2.3", true},
		{"/x", "GET", "192.168.1.9", true},
		{"/x", "GET", "::ffff:192.168.1.9", true},
		{"/x", "GET", "192.168.2.9", false},
		{"/open", "GET", "8.8.8.8", true},
		{"/strict", "GET", "10.0.0.1", true},
		{"/strict", "GET", "10.0.0.66", false},
		{"/strict", "GET", "8.8.8.8", false},
		{"/writes", "GET", "8.8.8.8", true},
		{"/writes", "POST", "8.8.8.8", false},
		// The order is per method: GET keeps Deny,Allow, POST has
		// Allow,Deny with its own Allow. (The section replaces the
		// access settings of "/" whole, as mod_access_compat, which has no
		// merge function.)
		{"/post-internal", "GET", "8.8.8.8", true},
		{"/post-internal", "GET", "192.0.2.1", false},
		{"/post-internal", "POST", "10.1.1.1", true},
		{"/post-internal", "POST", "192.168.1.1", false},
	}
	for _, tt := range tests {
		e := c.Resolve("h", tt.path, tt.method)
		if got := e.Access.Allows(netip.MustParseAddr(tt.addr), tt.method); got != tt.ok {
			t.Errorf("%s %s from %s: %v (%s), want %v", tt.method, tt.path, tt.addr, got, e.Access, tt.ok)
		}
	}
	if e := c.Resolve("h", "/writes", "GET"); e.Satisfy != "Any" {
		t.Errorf("Satisfy %q", e.Satisfy)
	}
	if e := c.Resolve("h", "/x", "GET"); e.Satisfy != "All" {
		t.Errorf("Satisfy %q", e.Satisfy)
	}
	var none *HostAccess
	if !none.Allows(netip.MustParseAddr("8.8.8.8"), "GET") {
		t.Error("no Order/Allow/Deny refuses")
	}
}

func TestVirtualHosts(t *testing.T) {
	c := mustCheck(t, `
Listen 80
Listen 8080
ServerName main.example.com
WSGIScriptAlias /main /srv/main.wsgi
<VirtualHost *:80>
    ServerName a.example.com
    ServerAlias *.a.example.com
    WSGIScriptAlias / /srv/a.wsgi
</VirtualHost>
<VirtualHost *:80>
    ServerName b.example.com:80
    WSGIScriptAlias / /srv/b.wsgi
    WSGIScriptAlias /b2 /srv/b2.wsgi
</VirtualHost>
<VirtualHost 127.0.0.1:8080>
    ServerName c.example.com
    WSGIScriptAlias /c /srv/c.wsgi
</VirtualHost>
`)
	tests := []struct{ host, path, script string }{
		{"a.example.com", "/x", "/srv/a.wsgi"},
		{"x.a.example.com:80", "/x", "/srv/a.wsgi"},
		{"B.Example.COM", "/x", "/srv/b.wsgi"},
		{"b.example.com", "/b2/y", "/srv/b.wsgi"}, // "/" is written first (with a warning)
		{"b.example.com", "/b2x", "/srv/b.wsgi"},
		{"unknown:80", "/x", "/srv/a.wsgi"}, // the first virtual host of the port
		{"c.example.com:8080", "/c", "/srv/c.wsgi"},
		{"anything:8080", "/main/z", "/srv/main.wsgi"}, // the main server's mounts apply to every host
		{"anything:9999", "/main", "/srv/main.wsgi"},   // no virtual host on that port: the main server
		{"anything:9999", "/x", ""},
	}
	for _, tt := range tests {
		e := c.Resolve(tt.host, tt.path, "GET")
		if e.Filename != tt.script {
			t.Errorf("%s%s: %q, want %q", tt.host, tt.path, e.Filename, tt.script)
		}
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].String(), "t.conf:14: WSGIScriptAlias: never used: the WSGIScriptAlias / at t.conf:13 matches /b2 first") {
		t.Errorf("warnings: %q", c.Warnings)
	}
	c2 := mustCheck(t, "Listen 80\n<VirtualHost *:8080 [::1]:80 *:*>\n</VirtualHost>\n")
	if len(c2.Warnings) != 1 || c2.Warnings[0].String() != "t.conf:2: <VirtualHost>: *:8080: no Listen line has port 8080, so no request reaches it there" {
		t.Errorf("warnings: %q", c.Warnings)
	}
	if got := len(c.Sites()); got != 4 || c.Sites()[3] != c.Main {
		t.Errorf("Sites: %d", got)
	}
}

func TestMountsAndGroups(t *testing.T) {
	c := mustCheck(t, `
WSGIDaemonProcess trac processes=2 threads=4
WSGIDaemonProcess other
WSGIScriptAlias /trac/chrome /srv/never.wsgi
Alias /trac/chrome /srv/htdocs
WSGIScriptAlias /trac /srv/trac.wsgi process-group=trac
WSGIScriptAlias /hg /srv/hg.wsgi application-group=hg callable-object=app pass-authorization=On
WSGIScriptAlias / /srv/root.wsgi
WSGIApplicationGroup %{SERVER}
ServerName example.com:8080
<Location /hg>
    WSGIProcessGroup other
    WSGICallableObject ignored
    WSGIScriptReloading Off
    LimitRequestBody 1000
</Location>
<VirtualHost *:80>
    WSGIDaemonProcess vh
    WSGIScriptAlias /v /srv/v.wsgi process-group=vh
</VirtualHost>
`)
	tests := []struct {
		host, path                    string
		static, script, group, appKey string
	}{
		{"h", "/trac/chrome/common/css/trac.css", "/srv/htdocs/common/css/trac.css", "", "", ""},
		{"h", "/trac/wiki", "", "/srv/trac.wsgi", "trac", "example.com:8080"},
		{"h", "/hg/repo", "", "/srv/hg.wsgi", "other", "hg"},
		{"h", "/x", "", "/srv/root.wsgi", "", "example.com:8080"},
		{"h:80", "/v/x", "", "/srv/v.wsgi", "vh", "example.com:8080"},
	}
	for _, tt := range tests {
		e := c.Resolve(tt.host, tt.path, "GET")
		static := ""
		if e.Static != nil {
			static = e.Filename
		}
		script := ""
		if e.Mount != nil {
			script = e.Mount.Script
		}
		if static != tt.static || script != tt.script || e.ProcessGroup != tt.group || e.AppGroupKey != tt.appKey {
			t.Errorf("%s%s: static=%q script=%q group=%q app=%q, want %q %q %q %q", tt.host, tt.path, static, script, e.ProcessGroup, e.AppGroupKey,
				tt.static, tt.script, tt.group, tt.appKey)
		}
	}
	e := c.Resolve("h", "/hg/x", "GET")
	if e.CallableObject != "app" || !e.PassAuthorization || e.ScriptReloading || e.LimitRequestBody != 1000 {
		t.Errorf("/hg: %+v", e)
	}
	e = c.Resolve("h", "/x", "GET")
	if e.CallableObject != "application" || e.PassAuthorization || !e.ScriptReloading || e.LimitRequestBody != 1<<30 {
		t.Errorf("defaults: %+v", e)
	}
	// A group defined in a virtual host serves that host only.
	_, err := parseAndCheck("t.conf", "<VirtualHost *:80>\nWSGIDaemonProcess vh\n</VirtualHost>\n<VirtualHost *:81>\nWSGIProcessGroup vh\n</VirtualHost>\n")
	if err == nil || !strings.Contains(err.Error(), "t.conf:5: WSGIProcessGroup: WSGIDaemonProcess \"vh\" is defined in the <VirtualHost> at t.conf:1") {
		t.Errorf("got %v", err)
	}
}

func TestListMerging(t *testing.T) {
	c := mustCheck(t, `
WSGIScriptAlias / /srv/app.wsgi
<Location />
    AuthLDAPGroupAttribute member
    AuthLDAPGroupAttribute uniqueMember
    AuthDigestDomain /a /b
    AuthBasicProvider file
</Location>
<Location /x>
    AuthLDAPGroupAttribute memberUid
    AuthLDAPURL ldap://ldap/dc=x?uid STARTTLS
    AuthLDAPGroupAttributeIsDN off
    GssapiCredStore keytab:/etc/k.keytab
    SSPIOmitDomain On
    KrbAuthRealms A B
</Location>
`)
	e := c.Resolve("h", "/y", "GET")
	if strings.Join(e.LDAP.GroupAttributes, ",") != "member,uniqueMember" || strings.Join(e.AuthDigestDomain, ",") != "/a,/b" {
		t.Errorf("/y: %+v", e.LDAP)
	}
	e = c.Resolve("h", "/x", "GET")
	if strings.Join(e.LDAP.GroupAttributes, ",") != "memberUid" || strings.Join(e.AuthDigestDomain, ",") != "/a,/b" ||
		e.LDAP.URL != "ldap://ldap/dc=x?uid" || e.LDAP.Security != "STARTTLS" || e.LDAP.GroupAttributeIsDN == nil || *e.LDAP.GroupAttributeIsDN ||
		e.Kerberos.Keytab != "/etc/k.keytab" || e.Kerberos.LocalName == nil || !*e.Kerberos.LocalName || strings.Join(e.Kerberos.Realms, ",") != "A,B" ||
		strings.Join(e.AuthBasicProvider, ",") != "file" {
		t.Errorf("/x: %+v", e)
	}
}

func TestLocationMatching(t *testing.T) {
	tests := []struct {
		pattern, path string
		match         bool
	}{
		{"/trac", "/trac", true},
		{"/trac", "/trac/x", true},
		{"/trac", "/tracx", false},
		{"/trac/", "/trac", false},
		{"/trac/", "/trac/x", true},
		{"/", "/anything", true},
		{"/t*/login", "/trac/login", true},
		{"/t*/login", "/trac/x/login", false},
		{"~ ^/a+$", "/aaa", true},
	}
	for _, tt := range tests {
		src := "<Location " + tt.pattern + ">\nSetEnv m y\n</Location>\n"
		c := mustCheck(t, src)
		if got := c.Main.Sections[0].matchLocation(tt.path); got != tt.match {
			t.Errorf("<Location %s> %s: %v", tt.pattern, tt.path, got)
		}
	}
}

func TestRegexpErrors(t *testing.T) {
	_, err := parseAndCheck("t.conf", "\n<LocationMatch \"^/(a)\\1\">\n</LocationMatch>\n")
	if err == nil || !strings.Contains(err.Error(), "t.conf:2: <LocationMatch>: bad regular expression") {
		t.Errorf("got %v", err)
	}
}
