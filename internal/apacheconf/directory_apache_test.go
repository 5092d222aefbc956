package apacheconf

import (
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestDirectoryApache runs Apache with mod_wsgi on a script and one
// section holding "Require all denied", and checks that Resolve
// predicts what Apache answers: 403 where the section applies to the
// request, 200 where it does not. It is the oracle for which <Directory>,
// <DirectoryMatch>, <Files> and <Location> sections cover a WSGI request,
// and for mod_access_compat's Order, Allow, Deny and Satisfy.
func TestDirectoryApache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Apache once per case")
	}
	root := t.TempDir()
	dir := filepath.Join(root, "app")
	script := filepath.Join(dir, "app.wsgi")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'ok\\n']\n"
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	deny := "Require all denied\n"
	cases := []struct{ name, section, method, path string }{
		{"directory-file", "<Directory " + script + ">\n" + deny + "</Directory>\n", "GET", "/app/x"},
		{"directory", "<Directory " + dir + ">\n" + deny + "</Directory>\n", "GET", "/app/x"},
		{"directory-slash", "<Directory " + dir + "/>\n" + deny + "</Directory>\n", "GET", "/app/x"},
		{"directory-parent", "<Directory " + root + ">\n" + deny + "</Directory>\n", "GET", "/app/x"},
		{"directory-wildcard", "<Directory " + root + "/a*>\n" + deny + "</Directory>\n", "GET", "/app/x"},
		{"directory-wildcard-miss", "<Directory " + root + "/b*>\n" + deny + "</Directory>\n", "GET", "/app/x"},
		{"directorymatch-slash", "<DirectoryMatch \"^" + dir + "/$\">\n" + deny + "</DirectoryMatch>\n", "GET", "/app/x"},
		{"directorymatch-end", "<DirectoryMatch \"/app$\">\n" + deny + "</DirectoryMatch>\n", "GET", "/app/x"},
		{"directorymatch-file", "<DirectoryMatch \"app\\.wsgi\">\n" + deny + "</DirectoryMatch>\n", "GET", "/app/x"},
		{"files", "<Files app.wsgi>\n" + deny + "</Files>\n", "GET", "/app/x"},
		{"files-other", "<Files other.wsgi>\n" + deny + "</Files>\n", "GET", "/app/x"},
		{"files-in-directory", "<Directory " + dir + ">\n<Files \"*.wsgi\">\n" + deny + "</Files>\n</Directory>\n", "GET", "/app/x"},
		{"filesmatch", "<FilesMatch \"\\.wsgi$\">\n" + deny + "</FilesMatch>\n", "GET", "/app/x"},
		{"location", "<Location /app>\n" + deny + "</Location>\n", "GET", "/app/x"},
		{"location-prefix", "<Location /ap>\n" + deny + "</Location>\n", "GET", "/app/x"},
		{"location-slash", "<Location /app/>\n" + deny + "</Location>\n", "GET", "/app"},
		{"location-wildcard", "<Location \"/ap*\">\n" + deny + "</Location>\n", "GET", "/app/x"},
		{"location-wildcard-segment", "<Location \"/app/*\">\n" + deny + "</Location>\n", "GET", "/app/x/y"},
		{"location-wildcard-exact", "<Location \"/app/*\">\n" + deny + "</Location>\n", "GET", "/app/x"},
		{"location-regex", "<Location ~ \"/x$\">\n" + deny + "</Location>\n", "GET", "/app/x"},
		{"locationmatch", "<LocationMatch \"^/app/x\">\n" + deny + "</LocationMatch>\n", "GET", "/app/x/y"},
		{"limit-other-method", "<Location /app>\n<Limit POST>\n" + deny + "</Limit>\n</Location>\n", "GET", "/app/x"},
		{"limit-method", "<Location /app>\n<Limit POST>\n" + deny + "</Limit>\n</Location>\n", "POST", "/app/x"},
		{"limitexcept", "<Location /app>\n<LimitExcept POST>\n" + deny + "</LimitExcept>\n</Location>\n", "HEAD", "/app/x"},
		{"later-location-wins", "<Location /app>\n" + deny + "</Location>\n<Location /app/x>\nRequire all granted\n</Location>\n", "GET", "/app/x"},
		{"location-over-directory", "<Directory " + dir + ">\nRequire all granted\n</Directory>\n<Location /app>\n" + deny + "</Location>\n", "GET", "/app/x"},
		{"directory-order", "<Directory " + dir + ">\nRequire all granted\n</Directory>\n<Directory " + root + ">\n" + deny + "</Directory>\n", "GET", "/app/x"},
		// mod_access_compat, alone and with Require (the client is 127.0.0.1).
		{"compat-allow", "<Location /app>\nOrder deny,allow\nDeny from all\nAllow from 127.0.0.1\n</Location>\n", "GET", "/app/x"},
		{"compat-deny", "<Location /app>\nDeny from 127.0.0.0/8\n</Location>\n", "GET", "/app/x"},
		{"compat-allow-deny", "<Location /app>\nOrder allow,deny\n</Location>\n", "GET", "/app/x"},
		{"compat-partial", "<Location /app>\nOrder allow,deny\nAllow from 127\n</Location>\n", "GET", "/app/x"},
		{"compat-limit-get", "<Location /app>\n<Limit POST>\nDeny from all\n</Limit>\n</Location>\n", "GET", "/app/x"},
		{"compat-limit-post", "<Location /app>\n<Limit POST>\nDeny from all\n</Limit>\n</Location>\n", "POST", "/app/x"},
		{"compat-inherit", "<Location /app>\nDeny from all\n</Location>\n<Location /app/x>\nOrder allow,deny\nAllow from all\n</Location>\n", "GET", "/app/x"},
		{"compat-inherit-untouched", "<Location /app>\nDeny from all\n</Location>\n<Location /app/x>\nRequire all granted\n</Location>\n", "GET", "/app/x"},
		{"compat-replace-order", "<Location /app>\nOrder allow,deny\nAllow from all\n</Location>\n<Location /app/x>\nDeny from 10.0.0.1\n</Location>\n", "GET", "/app/x"},
		{"compat-satisfy-any", "<Location /app>\nOrder deny,allow\nDeny from all\nSatisfy Any\nRequire all granted\n</Location>\n", "GET", "/app/x"},
		{"compat-and-require", "<Location /app>\nOrder deny,allow\nAllow from all\n" + deny + "</Location>\n", "GET", "/app/x"},
	}
	htpasswd := filepath.Join(root, "htpasswd")
	if err := os.WriteFile(htpasswd, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	basic := "AuthType Basic\nAuthName test\nAuthUserFile " + htpasswd + "\n"
	cases = append(cases, []struct{ name, section, method, path string }{
		{"auth-location", "<Location /app>\n" + basic + "Require valid-user\n</Location>\n", "GET", "/app/y"},
		{"auth-override", "<Location /app>\n" + basic + "Require valid-user\n</Location>\n<Location /app/x>\nRequire all granted\n</Location>\n", "GET", "/app/x"},
		{"auth-limitexcept-get", "<Location /app>\n" + basic + "<LimitExcept GET HEAD>\nRequire valid-user\n</LimitExcept>\n</Location>\n", "GET", "/app/x"},
		{"auth-limitexcept-post", "<Location /app>\n" + basic + "<LimitExcept GET HEAD>\nRequire valid-user\n</LimitExcept>\n</Location>\n", "POST", "/app/x"},
		{"auth-limit-replaces", "<Location /app>\n" + basic + "Require valid-user\n</Location>\n<Location /app/x>\n<Limit POST>\nRequire valid-user\n</Limit>\n</Location>\n", "GET", "/app/x"},
		{"auth-locationmatch-login", "<LocationMatch \"^/app/[^/]+/login\">\n" + basic + "Require valid-user\n</LocationMatch>\n", "GET", "/app/p/login"},
		{"auth-locationmatch-other", "<LocationMatch \"^/app/[^/]+/login\">\n" + basic + "Require valid-user\n</LocationMatch>\n", "GET", "/app/p/wiki"},
		{"auth-and-compat", "<Location /app>\n" + basic + "Require valid-user\nOrder deny,allow\nDeny from all\n</Location>\n", "GET", "/app/x"},
	}...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conf := "WSGIScriptAlias /app " + script + "\n" + tc.section
			c, err := parseAndCheck("t.conf", conf)
			if err != nil {
				t.Fatal(err)
			}
			e := c.Resolve("127.0.0.1", tc.path, tc.method)
			want := predict(e, tc.method)
			h := testenv.StartHttpd(t, []string{"wsgi", "access_compat", "authz_host", "auth_basic", "authn_file", "authz_user"}, conf)
			req, err := http.NewRequest(tc.method, h.URL+tc.path, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("Apache answers %d, Resolve predicts %d (require %v, access %v, satisfy %s, sections %s)\n%s\n%s", resp.StatusCode, want, e.Require, e.Access, e.Satisfy, sectionNames(e.Sections), conf, h.ErrorLog())
			}
		})
	}
}

func sectionNames(ss []*Section) string {
	var out []string
	for _, s := range ss {
		out = append(out, fmt.Sprintf("<%s %s>", s.Kind, s.Pattern))
	}
	return strings.Join(out, " ")
}

// predict is the status Apache answers a client at 127.0.0.1 sending no
// credentials, from the effective settings: 403 when mod_access_compat
// refuses the address (with Satisfy All) or the rules are "all denied",
// 401 when they need a user.
func predict(e *Effective, method string) int {
	host := e.Access.Allows(netip.MustParseAddr("127.0.0.1"), method)
	rules := "none"
	if e.Require != nil {
		rules = e.Require.String()
	}
	if e.Satisfy == "Any" && host && e.Require != nil {
		return http.StatusOK
	}
	switch {
	case !host && e.Satisfy != "Any":
		return http.StatusForbidden
	case rules == "Require all denied":
		return http.StatusForbidden
	case rules == "Require valid-user":
		return http.StatusUnauthorized
	case !host && rules != "Require all granted":
		return http.StatusForbidden
	}
	return http.StatusOK
}
