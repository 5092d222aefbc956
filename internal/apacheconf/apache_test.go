package apacheconf

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// apacheOracle runs Debian's apache2 -t on configuration snippets, with
// the modules whose directives gowsgi reads loaded.
type apacheOracle struct {
	bin, dir string
}

// oracleModules are the Apache modules loaded for the oracle: those
// whose directives gowsgi implements and Debian ships.
var oracleModules = []string{"mpm_event", "authz_core", "authn_core", "wsgi", "alias", "access_compat",
	"auth_basic", "auth_digest", "authn_file", "authz_user", "authz_groupfile", "authz_host", "ldap",
	"authnz_ldap", "env", "auth_gssapi"}

func newApacheOracle(t *testing.T) *apacheOracle {
	t.Helper()
	bin := testenv.LookPath(t, "apache2", "apache2")
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "ServerRoot %s\nServerName oracle\nListen 127.0.0.1:1\nErrorLog /dev/null\nPidFile %s/pid\nDefaultRuntimeDir %s\n", dir, dir, dir)
	for _, m := range oracleModules {
		so := "/usr/lib/apache2/modules/mod_" + m + ".so"
		if _, err := os.Stat(so); err != nil {
			testenv.Unavailable(t, "Apache module %s missing (apt-get install apache2 libapache2-mod-wsgi-py3 libapache2-mod-auth-gssapi): %v", m, err)
		}
		fmt.Fprintf(&b, "LoadModule %s_module %s\n", m, so)
	}
	if err := os.WriteFile(filepath.Join(dir, "base.conf"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return &apacheOracle{bin: bin, dir: dir}
}

var apacheLine = regexp.MustCompile(`Syntax error on line (\d+) of ([^:]+):`)

// check runs apache2 -t on src, written to a file named name in a
// directory of its own, and returns whether Apache accepts it and, when
// not, the line it names in that file (0 if none) and its message.
func (o *apacheOracle) check(t *testing.T, name, src string) (ok bool, line int, msg string) {
	t.Helper()
	dir, err := os.MkdirTemp(o.dir, "case")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(dir, "top.conf")
	if err := os.WriteFile(top, []byte("Include "+filepath.Join(o.dir, "base.conf")+"\nInclude "+file+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(o.bin, "-t", "-f", top).CombinedOutput()
	if err == nil {
		return true, 0, string(out)
	}
	// The innermost "line N of FILE" naming the snippet's file.
	for _, m := range apacheLine.FindAllStringSubmatch(string(out), -1) {
		if m[2] == file {
			line, _ = strconv.Atoi(m[1])
		}
	}
	if line == 0 {
		if m := regexp.MustCompile(regexp.QuoteMeta(file) + `:(\d+):`).FindStringSubmatch(string(out)); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
	}
	return false, line, strings.TrimSpace(string(out))
}

// ours runs gowsgi's reader and checker on src, written as Apache's copy
// is, and returns the same as check.
func ours(t *testing.T, name, src string) (ok bool, line int, msg string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(file, Options{})
	if err == nil {
		return true, 0, ""
	}
	m := regexp.MustCompile(regexp.QuoteMeta(file) + `:(\d+):`).FindStringSubmatch(err.Error())
	if m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	return false, line, err.Error()
}

// oracleCases are files Apache and gowsgi must agree on: accepted by
// both, or refused by both at the same line.
var oracleCases = []struct{ name, src string }{
	{"continuation", "ServerName \\\n  example.com\n"},
	{"continuation-space", "ServerName a \\ \nb\n"},
	{"comment-continues", "# a comment \\\nServerName a b\n"},
	{"trailing-comment", "ServerName foo # c\n"},
	{"quoted", "SetEnv A \"b c\"\n"},
	{"quoted-escape", "SetEnv A \"b \\\" c\"\n"},
	{"single-quoted", "<Location '/x y'>\nRequire all granted\n</Location>\n"},
	{"unclosed", "<Location /a>\nRequire all granted\n"},
	{"mismatched", "<Location /a>\n</Directory>\n"},
	{"stray-close", "ServerName a\n</Location>\n"},
	{"missing-gt", "<Location /a\n</Location>\n"},
	{"no-args", "<Location>\n</Location>\n"},
	{"location-in-directory", "<Directory /a>\n<Location /x>\n</Location>\n</Directory>\n"},
	{"files-in-location", "<Location /a>\n<Files x>\n</Files>\n</Location>\n"},
	{"files-in-directory", "<Directory /a>\n<Files x>\nRequire all denied\n</Files>\n</Directory>\n"},
	{"vhost-in-vhost", "<VirtualHost *:80>\n<VirtualHost *:81>\n</VirtualHost>\n</VirtualHost>\n"},
	{"directory-in-directory", "<Directory /a>\n<Directory /b>\n</Directory>\n</Directory>\n"},
	{"requireall-in-limit", "<Location /a>\n<Limit DELETE>\n<RequireAll>\nRequire user alice\nRequire ip 127.0.0.1\n</RequireAll>\n</Limit>\n</Location>\n"},
	{"limit-in-requireall", "<Location /a>\n<RequireAll>\n<Limit DELETE>\nRequire ip 127.0.0.1\n</Limit>\nRequire user alice\n</RequireAll>\n</Location>\n"},
	{"listen-twice", "Listen 127.0.0.1:5\nListen 127.0.0.1:5\n"},
	{"listen-port-and-addr", "Listen 5\nListen 127.0.0.1:5\n"},
	{"limit-at-server", "<Limit GET>\nRequire all granted\n</Limit>\n"},
	{"limit-in-location", "<Location /hg>\n<LimitExcept GET HEAD>\nRequire valid-user\n</LimitExcept>\n</Location>\n"},
	{"require-at-server", "Require all granted\n"},
	{"require-not-alone", "<Location /a>\nRequire not ip 10.0.0.1\n</Location>\n"},
	{"require-all-negative", "<Location /a>\n<RequireAll>\nRequire not ip 10.0.0.1\n</RequireAll>\n</Location>\n"},
	{"require-all", "<Location /a>\n<RequireAll>\nRequire ip 10.0.0.0/8\nRequire not ip 10.0.0.1\n</RequireAll>\n</Location>\n"},
	{"requirenone-top", "<Location /a>\n<RequireNone>\nRequire ip 10.0.0.1\n</RequireNone>\n</Location>\n"},
	{"requirenone-in-all", "<Location /a>\n<RequireAll>\nRequire valid-user\n<RequireNone>\nRequire user guest\n</RequireNone>\n</RequireAll>\n</Location>\n"},
	{"requirenone-in-any", "<Location /a>\n<RequireAny>\nRequire valid-user\n<RequireNone>\nRequire user guest\n</RequireNone>\n</RequireAny>\n</Location>\n"},
	{"require-not-in-none", "<Location /a>\n<RequireAll>\nRequire valid-user\n<RequireNone>\nRequire not user guest\n</RequireNone>\n</RequireAll>\n</Location>\n"},
	{"requireall-empty", "<Location /a>\n<RequireAll>\n</RequireAll>\n</Location>\n"},
	{"requireall-args", "<Location /a>\n<RequireAll x>\nRequire valid-user\n</RequireAll>\n</Location>\n"},
	{"requireall-other-directive", "<Location /a>\n<RequireAll>\nAuthType Basic\nRequire valid-user\n</RequireAll>\n</Location>\n"},
	{"require-unknown-provider", "<Location /a>\nRequire nosuch x\n</Location>\n"},
	{"unknown-directive", "Bogus x\n"},
	{"ifmodule-true", "<IfModule mod_wsgi.c>\nBogus x\n</IfModule>\n"},
	{"ifmodule-id", "<IfModule wsgi_module>\nBogus x\n</IfModule>\n"},
	{"ifmodule-false", "<IfModule mod_nosuch.c>\nBogus x\n</IfModule>\n"},
	{"ifmodule-not", "<IfModule !mod_alias.c>\nBogus x\n</IfModule>\n"},
	{"ifdefine", "Define X\n<IfDefine X>\nBogus\n</IfDefine>\n"},
	{"ifdefine-false", "<IfDefine NOPE>\nBogus\n</IfDefine>\n"},
	{"undefine", "Define X\nUnDefine X\n<IfDefine X>\nBogus\n</IfDefine>\n"},
	{"define-var", "Define P /x\nWSGIScriptAlias ${P} /srv/x.wsgi\n"},
	{"undefined-var", "ServerName ${NOPE_NOT_DEFINED}\n"},
	{"define-colon", "Define a:b c\n"},
	{"serveralias-main", "ServerAlias x\n"},
	{"servername-two", "ServerName a b\n"},
	{"includeoptional-missing", "IncludeOptional /nonexistent/x.conf\n"},
	{"include-missing-glob", "Include /nonexistent/*.conf\n"},
	{"includeoptional-glob", "IncludeOptional /nonexistent/*.conf\n"},
	{"order-bad", "<Location /a>\nOrder sideways\n</Location>\n"},
	{"allow-no-from", "<Location /a>\nAllow all\n</Location>\n"},
	{"onoff-bad", "WSGIPassAuthorization Maybe\n"},
	{"limit-nested", "<Location /a>\n<Limit GET>\n<Limit POST>\n</Limit>\n</Limit>\n</Location>\n"},
	{"guide-mapping", "WSGIScriptAlias /trac /usr/share/trac/cgi-bin/trac.wsgi\n\n<Directory /usr/share/trac/cgi-bin>\n    WSGIApplicationGroup %{GLOBAL}\n    Order deny,allow\n    Allow from all\n</Directory>\n"},
	{"guide-basic", "<LocationMatch \"/trac/[^/]+/login\">\n  AuthType Basic\n  AuthName \"Trac\"\n  AuthUserFile /somewhere/trac.htpasswd\n  Require valid-user\n</LocationMatch>\n"},
	{"guide-ad", "<Location /trac/>\n  Order deny,allow\n  Deny from all\n  Allow from 192.168.1.0/24\n  AuthType Basic\n  AuthName \"Trac\"\n  AuthBasicProvider \"ldap\"\n  AuthLDAPURL \"ldap://ad.example.com:3268/DC=com?sAMAccountName?sub?(objectClass=user)\"\n  AuthLDAPBindPassword \"the_password\"\n  # require valid-user\n  require ldap-group CN=Trac Users,CN=Users,DC=company,DC=com\n</Location>\n"},
	{"daemon", "WSGIDaemonProcess trac processes=2 threads=4 display-name=%{GROUP} python-path=/a:/b request-timeout=60\n<Location /trac>\nWSGIProcessGroup trac\n</Location>\n"},
	{"daemon-unknown-option", "WSGIDaemonProcess trac nosuch=1\n"},
	{"daemon-in-location", "<Location /x>\nWSGIDaemonProcess trac\n</Location>\n"},
	{"scriptalias-in-location", "<Location /a>\nWSGIScriptAlias /x /y\n</Location>\n"},
}

// TestApacheAgrees checks that gowsgi accepts what Apache 2.4 accepts and
// refuses, at the same line, what it refuses: for a list of files, and for
// each directive gowsgi implements (with Debian's module) in each context.
func TestApacheAgrees(t *testing.T) {
	o := newApacheOracle(t)
	type tc struct{ name, src string }
	var cases []tc
	for _, c := range oracleCases {
		cases = append(cases, tc{c.name, c.src})
	}
	contexts := []struct{ name, open, close string }{
		{"server", "", ""},
		{"vhost", "<VirtualHost *:80>\n", "</VirtualHost>\n"},
		{"directory", "<Directory /srv>\n", "</Directory>\n"},
		{"location", "<Location /x>\n", "</Location>\n"},
		{"files", "<Files x>\n", "</Files>\n"},
	}
	for _, d := range oracleDirectives {
		for _, c := range contexts {
			cases = append(cases, tc{d.name + "-in-" + c.name, "# padding\n" + c.open + d.name + " " + d.args + "\n" + c.close})
		}
	}
	var mu sync.Mutex
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			aok, aline, amsg := o.check(t, "t.conf", c.src)
			gok, gline, gmsg := ours(t, "t.conf", c.src)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case aok != gok:
				t.Errorf("%s: Apache accepts: %v, gowsgi: %v\n%s\napache: %s\ngowsgi: %s", c.name, aok, gok, c.src, amsg, gmsg)
			case !aok && aline != 0 && aline != gline:
				// Apache reports some errors (an authorization tree of
				// negative rules only) after reading, without a line:
				// those are compared on acceptance only.
				t.Errorf("%s: Apache refuses line %d, gowsgi line %d\n%s\napache: %s\ngowsgi: %s", c.name, aline, gline, c.src, amsg, gmsg)
			}
		}()
	}
	wg.Wait()
}

// oracleDirectives are sample arguments valid for both Apache and
// gowsgi, for each directive gowsgi implements whose module Debian ships.
var oracleDirectives = []struct{ name, args string }{
	{"Listen", "127.0.0.1:2"},
	{"ServerName", "example.com"},
	{"ServerAlias", "www.example.com"},
	{"LimitRequestBody", "1000"},
	{"WSGIScriptAlias", "/x /srv/x.wsgi"},
	{"WSGIDaemonProcess", "g processes=1"},
	{"WSGIProcessGroup", "%{GLOBAL}"},
	{"WSGIApplicationGroup", "%{GLOBAL}"},
	{"WSGIPassAuthorization", "On"},
	{"WSGIScriptReloading", "Off"},
	{"WSGICallableObject", "app"},
	{"SetEnv", "A b"},
	{"Alias", "/s /srv/static"},
	{"AuthType", "Basic"},
	{"AuthName", "x"},
	{"AuthUserFile", "/tmp/htpasswd"},
	{"AuthGroupFile", "/tmp/groups"},
	{"AuthBasicProvider", "file"},
	{"AuthDigestDomain", "/x"},
	{"AuthDigestNonceLifetime", "300"},
	{"Require", "valid-user"},
	{"Order", "deny,allow"},
	{"Allow", "from all"},
	{"Deny", "from 10.0.0.0/8"},
	{"Satisfy", "Any"},
	{"AuthLDAPURL", "ldap://127.0.0.1/dc=x?uid"},
	{"AuthLDAPBindDN", "cn=x"},
	{"AuthLDAPBindPassword", "pw"},
	{"AuthLDAPRemoteUserAttribute", "uid"},
	{"AuthLDAPGroupAttribute", "member"},
	{"AuthLDAPGroupAttributeIsDN", "On"},
	{"AuthLDAPSubGroupAttribute", "member"},
	{"AuthLDAPSubGroupClass", "groupOfNames"},
	{"AuthLDAPMaxSubGroupDepth", "5"},
	{"LDAPReferrals", "On"},
	{"LDAPReferralHopLimit", "5"},
	{"LDAPConnectionTimeout", "5"},
	{"LDAPTimeout", "5"},
	{"LDAPCacheTTL", "600"},
	{"LDAPOpCacheTTL", "600"},
	{"LDAPCacheEntries", "1024"},
	{"GssapiCredStore", "keytab:/etc/http.keytab"},
	{"GssapiAcceptorName", "HTTP@trac.example.com"},
	{"GssapiBasicAuth", "On"},
	{"GssapiLocalName", "On"},
	{"GssapiUseSessions", "On"},
}

// TestExamplesApache runs Apache 2.4 on the files of examples/conf, as
// gowsgi reads them, and checks that it accepts them too: with the
// directives Apache 2.4 refuses (AuthzLDAPAuthoritative, an Apache 2.2
// directive) dropped, and without trac-sspi.conf (Debian has no
// mod_auth_sspi).
func TestExamplesApache(t *testing.T) {
	o := newApacheOracle(t)
	opts, _ := exampleEnv(t)
	files, err := filepath.Glob("../../examples/conf/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example: %v", err)
	}
	for _, p := range files {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			if _, err := Load(p, opts); err != nil {
				t.Fatalf("gowsgi: %v", err)
			}
			if name == "trac-sspi.conf" {
				t.Skipf("Debian has no mod_auth_sspi: trac-sspi-gssapi.conf is its Apache twin")
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(strings.ToLower(strings.TrimSpace(l)), "authzldapauthoritative") {
					continue // Apache 2.4: "Invalid command"
				}
				lines = append(lines, l)
			}
			src := strings.Join(lines, "\n")
			// Apache reads ${VAR} from its environment: give it the
			// values gowsgi had.
			for _, k := range []string{"GOWSGI_EXAMPLES", "GOWSGI_PORT", "GOWSGI_LDAP_PORT"} {
				v, _ := opts.LookupEnv(k)
				src = strings.ReplaceAll(src, "${"+k+"}", v)
			}
			if ok, line, msg := o.check(t, name, src); !ok {
				t.Errorf("Apache refuses %s at line %d: %s", name, line, msg)
			}
		})
	}
}

// TestIncludeApache checks that Include reads the same files in the same
// order as Apache: each case's tree has one bad line, and both must
// refuse it at the same file and line (or both accept).
func TestIncludeApache(t *testing.T) {
	o := newApacheOracle(t)
	tree := map[string]string{
		"d/a.conf":            "SetEnv A 1\n",
		"d/sub/c.conf":        "SetEnv C 1\n",
		"d/sub.conf":          "SetEnv S 1\n",
		"d/z.txt":             "SetEnv Z 1\n",
		"d/.hid/x.conf":       "SetEnv H 1\n",
		"d/.dot.conf":         "SetEnv D 1\n",
		"d/sub/deeper/d.conf": "SetEnv DD 1\n",
		"e/1.conf":            "SetEnv E1 1\n",
		"e/2.conf":            "SetEnv E2 1\n",
		"empty/.keep":         "",
	}
	files := map[string]bool{}
	for name := range tree {
		files[name] = true
	}
	cases := []string{
		"Include %s/d",
		"Include %s/d/*",
		"Include %s/d/*.conf",
		"Include %s/*/*.conf",
		"Include %s/d/*/c.conf",
		"Include %s/e/*.conf\nInclude %s/e/1.conf",
		"Include %s/nothing/*.conf",
		"IncludeOptional %s/nothing/*.conf",
		"Include %s/empty/*.conf",
	}
	for _, pattern := range cases {
		// Make each file in turn the bad one: the first file read that
		// is bad is where both must stop.
		for bad := range files {
			if strings.HasSuffix(bad, ".keep") {
				continue
			}
			dir := t.TempDir()
			for name, content := range tree {
				if name == bad {
					content = "Bogus " + name + "\n"
				}
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			src := strings.ReplaceAll(pattern, "%s", dir) + "\n"
			aok, afile, aline := o.checkFile(t, src)
			_, err := Load(o.write(t, src), Options{})
			gok, gfile, gline := err == nil, "", 0
			var e *Error
			if errors.As(err, &e) {
				gfile, gline = e.Pos.File, e.Pos.Line
			}
			if strings.HasSuffix(afile, "/t.conf") && strings.HasSuffix(gfile, "/t.conf") {
				afile = gfile // each wrote the including file in a directory of its own
			}
			if aok != gok || (!aok && afile != "" && (afile != gfile || aline != gline)) {
				t.Errorf("%q with %s bad: Apache ok=%v at %s:%d, gowsgi ok=%v at %s:%d (%v)", src, bad, aok, afile, aline, gok, gfile, gline, err)
			}
			if strings.Contains(pattern, "nothing") || strings.Contains(pattern, "empty") {
				break // the tree does not matter
			}
		}
	}
}

// write writes src to a file of its own and returns its path.
func (o *apacheOracle) write(t *testing.T, src string) string {
	t.Helper()
	dir, err := os.MkdirTemp(o.dir, "case")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "t.conf")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// checkFile runs apache2 -t on src and returns whether Apache accepts it
// and, if not, the innermost file and line it names.
func (o *apacheOracle) checkFile(t *testing.T, src string) (ok bool, file string, line int) {
	t.Helper()
	p := o.write(t, src)
	top := filepath.Join(filepath.Dir(p), "top.conf")
	if err := os.WriteFile(top, []byte("Include "+filepath.Join(o.dir, "base.conf")+"\nInclude "+p+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(o.bin, "-t", "-f", top).CombinedOutput()
	if err == nil {
		return true, "", 0
	}
	m := apacheLine.FindAllStringSubmatch(string(out), -1)
	if len(m) == 0 {
		return false, "", 0
	}
	last := m[len(m)-1]
	line, _ = strconv.Atoi(last[1])
	return false, last[2], line
}
