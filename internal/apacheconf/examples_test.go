package apacheconf

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// exampleEnv is the environment the files of examples/conf expand.
func exampleEnv(t *testing.T) (Options, string) {
	t.Helper()
	ex, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GOWSGI_EXAMPLES": ex, "GOWSGI_PORT": "8000", "GOWSGI_LDAP_PORT": "3268"}
	return Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}, ex
}

func loadExample(t *testing.T, name string) *Config {
	t.Helper()
	opts, _ := exampleEnv(t)
	c, err := Load(filepath.Join("../../examples/conf", name), opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// TestGuideExamples parses each snippet of Trac's mod_wsgi guide, as
// completed in examples/conf, and checks what the merge gives for a few
// requests.
func TestGuideExamples(t *testing.T) {
	_, ex := exampleEnv(t)
	script := filepath.Join(ex, "trac-like/trac.wsgi")
	type want struct {
		host, path, method string
		authType, authName string
		require            string // Require.String(), "" for nil
		access             string // HostAccess.String(), "" for nil
		userFile           string // base name
		script             string
		appGroup           string
	}
	cases := []struct {
		file     string
		warnings []string
		reqs     []want
	}{
		{"trac-basic.conf", nil, []want{
			{path: "/trac/login", method: "GET", authType: "Basic", authName: "Trac", require: "Require valid-user", access: "Order deny,allow; Allow from all", userFile: "trac.htpasswd", script: script, appGroup: ""},
			{path: "/trac/wiki", method: "GET", access: "Order deny,allow; Allow from all", script: script},
			{path: "/trac/login/x", method: "POST", authType: "Basic", authName: "Trac", require: "Require valid-user", access: "Order deny,allow; Allow from all", userFile: "trac.htpasswd", script: script},
			{path: "/trac/loginx", method: "GET", access: "Order deny,allow; Allow from all", script: script},
			{path: "/other", method: "GET"},
		}},
		{"trac-basic-projects.conf", nil, []want{
			{path: "/trac/alpha/login", method: "GET", authType: "Basic", authName: "Trac", require: "Require valid-user", access: "Order deny,allow; Allow from all", userFile: "trac.htpasswd", script: script},
			{path: "/trac/login", method: "GET", access: "Order deny,allow; Allow from all", script: script},
		}},
		{"trac-digest.conf", []string{"LoadModule"}, []want{
			{path: "/trac/login", method: "GET", authType: "Digest", authName: "trac", require: "Require valid-user", access: "Order deny,allow; Allow from all", userFile: "trac.htdigest", script: script},
		}},
		{"trac-ldap.conf", []string{"LoadModule", "LoadModule", "authzldapauthoritative"}, []want{
			{path: "/trac/wiki", method: "GET", authType: "Basic", authName: "Trac", require: "Require valid-user", access: "Order deny,allow; Deny from all; Allow from 127.0.0.1/32", script: script},
			// "/trac" is not under <Location /trac/>: only the Directory applies.
			{path: "/trac", method: "GET", access: "Order deny,allow; Allow from all", script: script},
		}},
		{"trac-ad.conf", []string{"authzldapauthoritative"}, []want{
			{path: "/trac/login", method: "GET", authType: "Basic", authName: "Trac", require: `Require ldap-group "CN=Trac Users,CN=Users,DC=company,DC=com"`, access: "Order deny,allow; Deny from all; Allow from 127.0.0.1/32", script: script},
		}},
		{"trac-sspi.conf", nil, []want{
			{host: "127.0.0.1:8000", path: "/trac/login", method: "GET", authType: "SSPI", authName: "Trac Login", require: "Require valid-user", access: "Order deny,allow; Allow from all", script: script},
			{host: "127.0.0.1:8000", path: "/trac/about", method: "GET", access: "Order deny,allow; Allow from all", script: script},
		}},
		{"trac-sspi-gssapi.conf", nil, []want{
			{host: "localhost", path: "/trac/login", method: "GET", authType: "GSSAPI", authName: "Trac Login", require: "Require valid-user", access: "Order deny,allow; Allow from all", script: script},
		}},
		{"trac-authfile.conf", nil, []want{
			{path: "/authFile", method: "GET", authType: "Basic", authName: "Trac", require: "Require valid-user", access: "Order deny,allow; Allow from all", userFile: "trac.htpasswd", script: script},
			{path: "/wiki", method: "GET", access: "Order deny,allow; Allow from all", script: script},
		}},
		// The guide's <Directory> names the script itself: Apache applies
		// it to nothing (checked with Apache and mod_wsgi in
		// TestDirectoryApache), so the application group is mod_wsgi's
		// default.
		{"trac-vhost.conf", []string{"<Directory>", "DocumentRoot"}, []want{
			{host: "trac.example.com", path: "/", method: "GET", authType: "Basic", authName: "Trac", require: "Require valid-user", userFile: "htpasswd", script: script, appGroup: "trac.example.com|"},
			{host: "trac.example.com", path: "/chrome/site/x.css", method: "GET", authType: "Basic", authName: "Trac", require: "Require valid-user", userFile: "htpasswd", script: script, appGroup: "trac.example.com|"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			c := loadExample(t, tc.file)
			var got []string
			for _, w := range c.Warnings {
				got = append(got, w.Directive)
			}
			if strings.Join(got, ",") != strings.Join(tc.warnings, ",") {
				t.Errorf("warnings: got %q, want directives %q", c.Warnings, tc.warnings)
			}
			for _, w := range tc.reqs {
				host := w.host
				if host == "" {
					host = "127.0.0.1"
				}
				e := c.Resolve(host, w.path, w.method)
				req := ""
				if e.Require != nil {
					req = e.Require.String()
				}
				acc := ""
				if e.Access != nil {
					acc = e.Access.String()
				}
				uf := ""
				if e.AuthUserFile != "" {
					uf = filepath.Base(e.AuthUserFile)
				}
				if e.AuthType != w.authType || e.AuthName != w.authName || req != w.require || acc != w.access || uf != w.userFile || e.Filename != w.script || e.AppGroupKey != w.appGroup {
					t.Errorf("%s %s %s:\n got  type=%q name=%q require=%q access=%q file=%q script=%q app=%q\n want type=%q name=%q require=%q access=%q file=%q script=%q app=%q",
						host, w.method, w.path, e.AuthType, e.AuthName, req, acc, uf, e.Filename, e.AppGroupKey,
						w.authType, w.authName, w.require, w.access, w.userFile, w.script, w.appGroup)
				}
			}
		})
	}
}

// TestDeploymentExample checks the merge on the example no flag set can
// express: two virtual hosts, several mounts, per-Location process
// groups and Require scoped to methods.
func TestDeploymentExample(t *testing.T) {
	c := loadExample(t, "deployment.conf")
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
	if len(c.Daemons) != 2 || c.Daemons[0].Processes != 2 || c.Daemons[0].Threads != 4 || c.Daemons[0].RequestTimeout.Seconds() != 60 || c.Daemons[1].GracefulTimeout.Seconds() != 30 {
		t.Errorf("daemons: %+v", c.Daemons)
	}
	tests := []struct {
		host, path, method string
		mount              string // Mount.URL or "static" or ""
		group, app         string
		require            string
	}{
		{"trac.example.com", "/trac/alpha/wiki", "GET", "/trac", "trac", "", "Require all granted"},
		{"www.trac.example.com:8000", "/trac/alpha/login", "GET", "/trac", "trac", "", "Require valid-user"},
		{"trac.example.com", "/trac/chrome/site/trac.ini", "GET", "static", "", "", "Require all granted"},
		{"trac.example.com", "/authFile", "POST", "/authFile", "trac", "trac.example.com|/authFile", "Require valid-user"},
		{"trac.example.com", "/hg/repo", "GET", "/hg", "hg", "trac.example.com|/hg", ""},
		{"trac.example.com", "/hg/repo", "HEAD", "/hg", "hg", "trac.example.com|/hg", ""},
		{"trac.example.com", "/hg/repo", "POST", "/hg", "hg", "trac.example.com|/hg", "Require valid-user"},
		{"beta.example.com", "/x", "GET", "/", "", "beta.example.com|", "RequireAll(Require ip 127.0.0.0/8 ::1, Require not user guest, Require valid-user)"},
		// An unknown name goes to the first virtual host of the port.
		{"other.example.com", "/trac/x", "GET", "/trac", "trac", "", "Require all granted"},
	}
	for _, tt := range tests {
		e := c.Resolve(tt.host, tt.path, tt.method)
		mount := ""
		switch {
		case e.Static != nil:
			mount = "static"
		case e.Mount != nil:
			mount = e.Mount.URL
		}
		req := ""
		if e.Require != nil {
			req = e.Require.String()
		}
		if mount != tt.mount || e.ProcessGroup != tt.group || e.AppGroupKey != tt.app || req != tt.require {
			t.Errorf("%s %s %s: got mount=%q group=%q app=%q require=%q, want %q %q %q %q",
				tt.host, tt.method, tt.path, mount, e.ProcessGroup, e.AppGroupKey, req, tt.mount, tt.group, tt.app, tt.require)
		}
	}
	e := c.Resolve("trac.example.com", "/trac/alpha", "GET")
	if !strings.HasSuffix(e.Env["trac.env_parent_dir"], "trac-like/envs") {
		t.Errorf("SetEnv: %v", e.Env)
	}
	e = c.Resolve("beta.example.com", "/", "GET")
	if e.AuthType != "Digest" || strings.Join(e.AuthDigestDomain, " ") != "/" || e.Access != nil || !e.Access.Allows(netip.MustParseAddr("10.0.0.1"), "GET") {
		t.Errorf("beta: %+v", e)
	}
	var b bytes.Buffer
	if err := c.Dump(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("dump:\n%s", b.String())
}

// TestResolveConcurrent resolves from several goroutines at once (run
// with -race): Resolve only reads the configuration.
func TestResolveConcurrent(t *testing.T) {
	c := loadExample(t, "deployment.conf")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				method := []string{"GET", "POST"}[(i+j)%2]
				e := c.Resolve("trac.example.com", "/hg/repo", method)
				if e.ProcessGroup != "hg" || (method == "POST") != (e.Require != nil) {
					t.Errorf("%s: group %q require %v", method, e.ProcessGroup, e.Require)
					return
				}
				e = c.Resolve("trac.example.com", "/trac/alpha", method)
				if e.Env["x"] != "" || e.Env["trac.env_parent_dir"] == "" {
					t.Errorf("env %v", e.Env)
					return
				}
				e.Env["x"] = "y" // each Effective is the caller's own
			}
		}()
	}
	wg.Wait()
}
