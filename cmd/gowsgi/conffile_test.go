package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// writeConf writes a configuration file and an htpasswd file (alice,
// secret) in a new directory, its ServerRoot, and returns the file's path.
func writeConf(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	testenv.Htpasswd(t, filepath.Join(dir, "htpasswd"), "alice", "secret")
	testenv.Htpasswd(t, filepath.Join(dir, "htpasswd"), "bob", "secret")
	return testenv.WriteFile(t, dir, "gowsgi.conf", src)
}

// fileRun runs the command line as run does up to serving: parseArgs,
// then runFile; it returns the exit code (-1 when the command would serve)
// and what was printed.
func fileRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cfg, err := parseArgs(args, &errb)
	if err != nil {
		return 2, out.String(), errb.String()
	}
	if cfg.File == nil {
		t.Fatalf("%q: no file", args)
	}
	code, done := runFile(&cfg, &out, &errb)
	if !done {
		code = -1
	}
	return code, out.String(), errb.String()
}

const oneScript = "Listen 127.0.0.1:8000\nWSGIScriptAlias /trac /srv/trac.wsgi\n"

func TestFileFlags(t *testing.T) {
	conf := writeConf(t, oneScript)
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"listen", []string{"-f", conf, "-listen", ":1"}, 2, []string{"-listen", "Listen"}},
		{"htpasswd", []string{"-f", conf, "-htpasswd", "x"}, 2, []string{"-htpasswd", "AuthUserFile"}},
		{"tls-cert", []string{"-f", conf, "-tls-cert", "c.pem"}, 2, []string{"-tls-cert", "SSLCertificateFile"}},
		{"http2", []string{"-f", conf, "-http2=false"}, 2, []string{"-http2", "Protocols"}},
		{"hsts", []string{"-f", conf, "-hsts", "1h"}, 2, []string{"-hsts", "Strict-Transport-Security"}},
		{"processes", []string{"-f", conf, "-processes", "2"}, 2, []string{"-processes", "WSGIDaemonProcess processes="}},
		{"no directive, no effect", []string{"-f", conf, "-env-parent-dir", "/x"}, 2, []string{"-env-parent-dir", "no effect with -f"}},
		{"script argument", []string{"-f", conf, "app.wsgi"}, 2, []string{"WSGIScriptAlias", "app.wsgi"}},
		{"-t alone", []string{"-t"}, 2, []string{"-f"}},
		{"-dump alone", []string{"-dump"}, 2, []string{"-f"}},
		{"allowed", []string{"-f", conf, "-python", "python3", "-gomaxprocs", "1", "-t"}, 0, []string{"Syntax OK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errb bytes.Buffer
			cfg, err := parseArgs(tt.args, &errb)
			code := 2
			if err == nil {
				code, _ = runFile(&cfg, io.Discard, &errb)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d: %s", code, tt.code, errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("output %q lacks %q", errb.String(), w)
				}
			}
		})
	}
}

// TestFileFlagsClassified: every flag is either allowed with -f, replaced
// by a directive, or refused as having no effect, so that a flag added
// later is decided, not silently ignored with a file.
func TestFileFlagsClassified(t *testing.T) {
	var usage bytes.Buffer
	if _, err := parseArgs([]string{"-h"}, &usage); err == nil {
		t.Fatal("-h: no error")
	}
	n := 0
	for _, line := range strings.Split(usage.String(), "\n") {
		if !strings.HasPrefix(line, "  -") {
			continue
		}
		name := strings.FieldsFunc(strings.TrimPrefix(line, "  -"), func(r rune) bool { return r == ' ' || r == '\t' })[0]
		n++
		if !fileFlags[name] && fileFlagDirective[name] == "" && !fileIgnoredFlags[name] {
			t.Errorf("-%s: not classified for -f (fileFlags, fileFlagDirective or fileIgnoredFlags)", name)
		}
	}
	if n < 50 {
		t.Fatalf("only %d flags read from the usage:\n%s", n, usage.String())
	}
}

// TestFileCheck: -t prints "Syntax OK" and the warnings, or the errors with
// file:line and exits 1; the fail-closed checks of the flags refuse a file
// too.
func TestFileCheck(t *testing.T) {
	tests := []struct {
		name string
		src  string
		code int
		want []string
	}{
		{"ok", oneScript + "LoadModule wsgi_module /x.so\n", 0, []string{"Syntax OK", "gowsgi.conf:3: LoadModule: ignored"}},
		{"unknown directive", oneScript + "Frobnicate on\n", 1, []string{"gowsgi.conf:3: Frobnicate"}},
		{"not supported yet", oneScript + "ErrorLog /var/log/gowsgi/error.log\n", 1, []string{"gowsgi.conf:3: ErrorLog", "not supported yet"}},
		{"unclosed section", oneScript + "<Location /trac>\n", 1, []string{"gowsgi.conf:3"}},
		{"no listen", "WSGIScriptAlias / /srv/app.wsgi\n", 1, []string{"no Listen"}},
		{"no script", "Listen 8000\n", 1, []string{"no WSGIScriptAlias"}},
		{"two listens", oneScript + "Listen 8001\n", 1, []string{"gowsgi.conf:3: Listen"}},
		{"require without authtype", oneScript + "<Location /trac/login>\nRequire valid-user\n</Location>\n", 1,
			[]string{"gowsgi.conf:4: Require valid-user needs an authenticated user, but no AuthType applies"}},
		{"authtype without require", oneScript + "<Location /trac/login>\nAuthType Basic\nAuthName x\nAuthUserFile htpasswd\n</Location>\n", 1,
			[]string{"gowsgi.conf:3: <Location /trac/login>: AuthType but no Require"}},
		{"authtype with require in limit", oneScript + "<Location /trac>\nAuthType Basic\nAuthName x\nAuthUserFile htpasswd\n<LimitExcept GET>\nRequire valid-user\n</LimitExcept>\n</Location>\n", 0,
			[]string{"Syntax OK"}},
		{"missing user file", oneScript + "<Location /trac>\nAuthType Basic\nAuthName x\nAuthUserFile nothere\nRequire valid-user\n</Location>\n", 1,
			[]string{"gowsgi.conf:3: <Location /trac>", "nothere"}},
		{"authtype basic without file", oneScript + "<Location /trac>\nAuthType Basic\nRequire valid-user\n</Location>\n", 1,
			[]string{"gowsgi.conf:3", "AuthUserFile"}},
		{"bind password without dn", oneScript + "<Location /trac>\nAuthType Basic\nAuthBasicProvider ldap\nAuthLDAPURL ldap://127.0.0.1:1/dc=x?uid\nAuthLDAPBindPassword pw\nRequire valid-user\n</Location>\n", 1,
			[]string{"gowsgi.conf:3", "AuthLDAPBindDN"}},
		{"locationmatch sampled", oneScript + "<LocationMatch \"^/trac/[^/]+/login$\">\nRequire user alice\n</LocationMatch>\n", 1,
			[]string{"gowsgi.conf:4: Require user alice needs an authenticated user"}},
		{"process group undefined", "Listen 8000\nWSGIScriptAlias / /srv/app.wsgi process-group=nope\n", 1, []string{"nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := writeConf(t, tt.src)
			code, _, errs := fileRun(t, "-f", conf, "-t")
			if code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs, w) {
					t.Errorf("output lacks %q:\n%s", w, errs)
				}
			}
		})
	}
}

// TestFileDump: -dump prints the resolved form on standard output.
func TestFileDump(t *testing.T) {
	conf := writeConf(t, oneScript+"<Location /trac/login>\nAuthType Basic\nAuthName x\nAuthUserFile htpasswd\nRequire valid-user\n</Location>\n")
	code, out, errs := fileRun(t, "-f", conf, "-dump")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, w := range []string{
		"listen 127.0.0.1:8000  # " + conf + ":1",
		"  mount /trac /srv/trac.wsgi pool=-,*|/trac  # " + conf + ":2",
		"  location /trac/login  # " + conf + ":3",
		"    require valid-user  # " + conf + ":7",
	} {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("-dump lacks %q:\n%s", w, out)
		}
	}
}

// fileChain builds the handler of the file src in front of one recording
// application per pool, and returns it with the pools' keys.
func fileChain(t *testing.T, src string) (http.Handler, *config) {
	t.Helper()
	var errb bytes.Buffer
	cfg, err := parseArgs([]string{"-f", writeConf(t, src)}, &errb)
	if err != nil {
		t.Fatal(errb.String())
	}
	if err := loadFile(&cfg); err != nil {
		t.Fatal(err)
	}
	apps := make([]http.Handler, len(cfg.Mounts))
	for i := range apps {
		apps[i] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := reqinfo.FromContext(r.Context())
			m, _ := rec.Mount()
			user := "-"
			if u := rec.User(); u != nil {
				user = u.Name
			}
			env, _ := rec.LookupEnviron("trac.env_parent_dir")
			fmt.Fprintf(w, "pool=%d script=%s path=%s user=%s env=%s", i, m.ScriptName, m.PathInfo, user, env)
		})
	}
	var logs testenv.LogBuffer
	h, release, err := buildHandler(cfg, apps, logs.Logger())
	t.Cleanup(release)
	if err != nil {
		t.Fatal(err)
	}
	return h, &cfg
}

// TestFileMerge checks Apache's merge through the chain: a later section
// replaces an earlier one's authentication and rules, <LimitExcept> scopes
// Require by method, SetEnv reaches the environ, Order/Allow/Deny apply,
// and each (process group, application group, script) has its pool.
func TestFileMerge(t *testing.T) {
	src := `Listen 8000
WSGIDaemonProcess trac processes=2 threads=4 graceful-timeout=7
WSGIScriptAlias /trac /srv/trac.wsgi process-group=trac application-group=%{GLOBAL}
WSGIScriptAlias /hg /srv/hg.wsgi
WSGIScriptAlias /authFile /srv/trac.wsgi process-group=trac
<Location /trac>
    SetEnv trac.env_parent_dir /srv/envs
    AuthType Basic
    AuthName trac
    AuthUserFile htpasswd
    Require valid-user
</Location>
<Location /trac/public>
    Require all granted
</Location>
<Location /trac/admin>
    Require user alice
</Location>
<Location /hg>
    AuthType Basic
    AuthName hg
    AuthUserFile htpasswd
    <LimitExcept GET HEAD>
        Require valid-user
    </LimitExcept>
</Location>
<Location /hg/private>
    Order deny,allow
    Deny from all
</Location>
<Location /hg/upload>
    LimitRequestBody 10
</Location>
<Location /trac/notbob>
    <RequireAll>
        Require valid-user
        <RequireNone>
            Require user bob
        </RequireNone>
    </RequireAll>
</Location>
`
	h, cfg := fileChain(t, src)
	if len(cfg.Mounts) != 3 {
		t.Fatalf("%d pools, want 3 (trac, hg, authFile)", len(cfg.Mounts))
	}
	if w := cfg.Mounts[0].Workers; w.Processes != 2 || w.Threads != 4 || w.GracefulTimeout != 7*time.Second {
		t.Errorf("trac's pool: %+v, want WSGIDaemonProcess trac's settings", w)
	}
	tests := []struct {
		method, path, user string
		status             int
		body               string
	}{
		{"GET", "/trac/wiki", "", 401, ""},
		{"GET", "/trac/wiki", "alice", 200, "pool=0 script=/trac path=/wiki user=alice env=/srv/envs"},
		{"GET", "/trac/public/x", "", 200, "pool=0 script=/trac path=/public/x user=- env=/srv/envs"},
		{"GET", "/trac/admin", "bob", 401, ""}, // refused, re-challenged as Apache does
		{"GET", "/trac/admin", "alice", 200, "pool=0 script=/trac path=/admin user=alice env=/srv/envs"},
		{"GET", "/hg/repo", "", 200, "pool=1 script=/hg path=/repo user=- env="},
		{"POST", "/hg/repo", "", 401, ""},
		{"POST", "/hg/repo", "bob", 200, "pool=1 script=/hg path=/repo user=bob env="},
		{"GET", "/hg/private", "", 403, ""},
		{"GET", "/authFile", "", 200, "pool=2 script=/authFile path= user=- env="},
		{"GET", "/elsewhere", "", 404, ""},
		{"POST", "/hg/upload", "bob", 413, ""},
		{"POST", "/hg/other", "bob", 200, "pool=1 script=/hg path=/other user=bob env="},
		// <RequireNone> in <RequireAll>: its children negated.
		{"GET", "/trac/notbob", "alice", 200, "pool=0 script=/trac path=/notbob user=alice env=/srv/envs"},
		{"GET", "/trac/notbob", "bob", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.user, func(t *testing.T) {
			var body io.Reader
			if tt.method == "POST" {
				body = strings.NewReader("twenty bytes of body")
			}
			r := httptest.NewRequest(tt.method, tt.path, body)
			r.RemoteAddr = "127.0.0.1:1234"
			if tt.user != "" {
				r.SetBasicAuth(tt.user, "secret")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body %q, want %q", w.Body, tt.body)
			}
			if tt.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without a challenge")
			}
		})
	}
}

// TestFileVirtualHosts: each virtual host has its own mounts and
// locations; an unknown name gets the port's first virtual host, as in
// Apache.
func TestFileVirtualHosts(t *testing.T) {
	src := `Listen 8000
<VirtualHost *:8000>
    ServerName a.example
    WSGIScriptAlias / /srv/a.wsgi
</VirtualHost>
<VirtualHost *:8000>
    ServerName b.example
    ServerAlias *.b.example
    WSGIScriptAlias / /srv/b.wsgi
    <Location /x>
        AuthType Basic
        AuthName b
        AuthUserFile htpasswd
        Require valid-user
    </Location>
</VirtualHost>
`
	h, cfg := fileChain(t, src)
	if len(cfg.Mounts) != 2 {
		t.Fatalf("%d pools, want 2", len(cfg.Mounts))
	}
	for _, tt := range []struct {
		host, path string
		status     int
		body       string
	}{
		{"a.example:8000", "/x", 200, "pool=0 script= path=/x user=- env="},
		{"b.example:8000", "/y", 200, "pool=1 script= path=/y user=- env="},
		{"www.b.example:8000", "/x", 401, ""},
		{"other.example:8000", "/x", 200, "pool=0 script= path=/x user=- env="},
	} {
		r := httptest.NewRequest("GET", tt.path, nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.status || (tt.body != "" && w.Body.String() != tt.body) {
			t.Errorf("%s%s: %d %q, want %d %q", tt.host, tt.path, w.Code, w.Body, tt.status, tt.body)
		}
	}
}

// TestFileMainServerBesideVirtualHosts: the main server answers on a
// port no virtual host has, and gets its pool.
func TestFileMainServerBesideVirtualHosts(t *testing.T) {
	h, cfg := fileChain(t, `Listen 8000
WSGIScriptAlias /main /srv/main.wsgi
<VirtualHost *:8001>
    ServerName v.example
    WSGIScriptAlias / /srv/v.wsgi
</VirtualHost>
`)
	if p := cfg.File.Pools[len(cfg.File.Pools)-1]; !strings.Contains(p, "main.wsgi") || strings.Contains(p, "v.example") {
		t.Errorf("the last pool is %q, want the main server's", p)
	}
	for _, tt := range []struct{ host, want string }{
		{"x.example:8000", "script=/main path=/x"},
		{"127.0.0.1:8000", "script=/main path=/x"},
	} {
		r := httptest.NewRequest("GET", "/main/x", nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("%s: %d %q, want 200 %q", tt.host, w.Code, w.Body, tt.want)
		}
	}
}

func TestSampleMatch(t *testing.T) {
	for _, p := range []string{`^/trac/[^/]+/login`, `/login$`, `^/(a|bb)/x+\.cgi`, `(?i)^/Trac/.{2,3}/z`, `^/hg/\d+`} {
		s, ok := sampleMatch(p)
		if !ok || !strings.HasPrefix(s, "/") {
			t.Errorf("%s: %q %v", p, s, ok)
		}
	}
	if s, ok := sampleMatch(`^x`); ok {
		t.Errorf("^x: %q, want no path (a path starts with /)", s)
	}
}

// TestFileReload: SIGHUP reads the file again; a broken file is logged
// with its file and line and the running configuration stays; a good one
// replaces the locations and the pools.
func TestFileReload(t *testing.T) {
	py := testenv.Python(t)
	dir := t.TempDir()
	app := testenv.WriteFile(t, dir, "app.wsgi", pidApp)
	port := testenv.FreePort(t)
	conf := filepath.Join(dir, "gowsgi.conf")
	write := func(extra string) {
		src := fmt.Sprintf("Listen 127.0.0.1:%d\nWSGIScriptAlias /app %s\n%s", port, app, extra)
		if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	status := testenv.Addr(testenv.FreePort(t))
	c := startChild(t, childOpts{noListen: true}, "-f", conf, "-python", py, "-status-addr", status)
	c.addr = testenv.Addr(port)
	c.waitListening(t, 60*time.Second)
	u := "http://" + c.addr + "/app/x"
	resp, pid := do(t, http.DefaultClient, "GET", u, "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	hup := func() {
		if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus := func(want int) string {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			resp, body := do(t, http.DefaultClient, "GET", u, "")
			if resp.StatusCode == want {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("still %d after SIGHUP, want %d\n%s", resp.StatusCode, want, c.output())
			}
		}
	}

	// A broken file: logged with file:line, the old configuration serves.
	write("<Location /app>\nRequire all denied\nFrobnicate\n</Location>\n")
	hup()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(c.out.String(), conf+":5: Frobnicate"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no file:line error logged:\n%s", c.output())
		}
	}
	if resp, now := do(t, http.DefaultClient, "GET", u, ""); resp.StatusCode != 200 || now != pid {
		t.Fatalf("after a broken file: %d from pid %s, want 200 from the same worker %s", resp.StatusCode, now, pid)
	}

	// A good one: its location applies, then its new pool serves.
	write("<Location /app>\nRequire all denied\n</Location>\n")
	hup()
	waitStatus(403)
	write("")
	hup()
	now := waitStatus(200)
	if now == pid {
		t.Errorf("the same worker %s serves after two reloads: the pool was not replaced", pid)
	}
	// The status page follows: it lists the new pool's worker, not the
	// old one's.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, page := do(t, http.DefaultClient, "GET", "http://"+status+"/server-status", "")
		if resp.StatusCode == 200 && strings.Contains(page, now) && !strings.Contains(page, pid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/server-status after the reload (new worker %s, old %s):\n%s", now, pid, page)
		}
	}
}

// TestFileTLS: SSLEngine, SSLCertificateFile, SSLCertificateKeyFile and
// Protocols serve HTTPS from a file, HTTP/2 unless Protocols leaves h2
// out.
func TestFileTLS(t *testing.T) {
	py := testenv.Python(t)
	for _, tt := range []struct {
		name, protocols, want, hsts string
	}{
		{"h2", "Header always set Strict-Transport-Security \"max-age=600\"\n", "https on HTTP/2.0", "max-age=600"},
		{"http/1.1 only", "Protocols http/1.1\n", "https on HTTP/1.1", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ca, cert, key := testenv.TLSCerts(t, dir)
			app := testenv.WriteFile(t, dir, "app.wsgi", schemeApp)
			port := testenv.FreePort(t)
			conf := testenv.WriteFile(t, dir, "gowsgi.conf", fmt.Sprintf(
				"Listen 127.0.0.1:%d https\nSSLEngine on\nSSLCertificateFile %s\nSSLCertificateKeyFile %s\n%sWSGIScriptAlias / %s\n",
				port, filepath.Base(cert), key, tt.protocols, app))
			c := startChild(t, childOpts{noListen: true}, "-f", conf, "-python", py)
			c.addr = testenv.Addr(port)
			c.waitListening(t, 60*time.Second)
			roots, err := os.ReadFile(ca)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := do(t, tlsClient(t, roots, c.addr, true), "GET", "https://localhost/", "")
			if resp.StatusCode != 200 || body != tt.want {
				t.Errorf("%d %q, want 200 %q", resp.StatusCode, body, tt.want)
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got != tt.hsts {
				t.Errorf("Strict-Transport-Security %q, want %q", got, tt.hsts)
			}
		})
	}
}

// TestFileServerWide: the timeouts, limits, logs and privilege drop of a
// file reach the same configuration the flags fill.
func TestFileServerWide(t *testing.T) {
	src := oneScript + `Timeout 30
KeepAliveTimeout 5
RequestReadTimeout header=10-20,MinRate=100
LimitRequestLine 1000
LimitRequestFieldSize 2000
LimitRequestFields 50
CustomLog logs/access.log combined
LogLevel notice
RemoteIPHeader Forwarded
RemoteIPTrustedProxy 10.0.0.0/8
RemoteIPTrustedProxy 192.0.2.1
User www-data
Group www-data
`
	conf := writeConf(t, src)
	var errb bytes.Buffer
	cfg, err := parseArgs([]string{"-f", conf}, &errb)
	if err != nil {
		t.Fatal(errb.String())
	}
	if err := loadFile(&cfg); err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits
	if l.Timeout != 30*time.Second || l.KeepAliveTimeout != 5*time.Second || l.LimitRequestLine != 1000 ||
		l.LimitRequestFieldSize != 2000 || l.LimitRequestFields != 50 {
		t.Errorf("limits %+v", l)
	}
	if got := l.RequestReadTimeout.String(); !strings.Contains(got, "header=10-20,MinRate=100") {
		t.Errorf("RequestReadTimeout %s", got)
	}
	if want := filepath.Join(filepath.Dir(conf), "logs/access.log"); cfg.Log.AccessLog != want || cfg.Log.AccessLogFormat != "combined" || cfg.Log.Level != "info" {
		t.Errorf("log %+v, want %s combined, info", cfg.Log, want)
	}
	if cfg.Privileges.User != "www-data" || cfg.Privileges.Group != "www-data" {
		t.Errorf("privileges %+v", cfg.Privileges)
	}
	// mod_remoteip's directives fill what -trusted-proxy and
	// -remote-ip-header fill, which the chain builds remoteip from.
	if ri := cfg.RemoteIP; ri.Header != "Forwarded" || !slices.Equal(ri.TrustedProxies, []string{"10.0.0.0/8", "192.0.2.1"}) {
		t.Errorf("remote IP %+v, want Forwarded from 10.0.0.0/8 and 192.0.2.1", ri)
	}
	// The flags those directives replace are refused with -f.
	for _, f := range []string{"-timeout=1s", "-access-log=x", "-log-level=debug", "-user=nobody", "-limit-request-line=1", "-trusted-proxy=10.0.0.1", "-remote-ip-header=Forwarded"} {
		if _, err := parseArgs([]string{"-f", conf, f}, io.Discard); err == nil {
			t.Errorf("-f with %s: accepted", f)
		}
	}
	bad := writeConf(t, oneScript+"RequestReadTimeout header=x\n")
	if code, _, errs := fileRun(t, "-f", bad, "-t"); code != 1 || !strings.Contains(errs, "RequestReadTimeout") {
		t.Errorf("a bad RequestReadTimeout: exit %d, %s", code, errs)
	}
}

// slowApp answers its pid; /slow first creates the file named by the
// SLOW_MARK environment variable, then takes a second.
const slowApp = `import os, time

def application(environ, start_response):
    if environ.get('PATH_INFO') == '/slow':
        open(os.environ['SLOW_MARK'], 'w').close()
        time.sleep(1)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [str(os.getpid()).encode()]
`

// TestFileReloadDrains: a request running in the old pool when SIGHUP
// swaps the configuration completes, from the old worker, while new
// requests go to the new pool.
func TestFileReloadDrains(t *testing.T) {
	py := testenv.Python(t)
	dir := t.TempDir()
	app := testenv.WriteFile(t, dir, "app.wsgi", slowApp)
	mark := filepath.Join(dir, "started")
	t.Setenv("SLOW_MARK", mark)
	port := testenv.FreePort(t)
	conf := filepath.Join(dir, "gowsgi.conf")
	write := func(group string) {
		src := fmt.Sprintf("Listen 127.0.0.1:%d\nWSGIDaemonProcess %s graceful-timeout=30\nWSGIScriptAlias /app %s process-group=%s\n", port, group, app, group)
		if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("one")
	c := startChild(t, childOpts{noListen: true}, "-f", conf, "-python", py)
	c.addr = testenv.Addr(port)
	c.waitListening(t, 60*time.Second)
	u := "http://" + c.addr + "/app/"
	_, oldPID := do(t, http.DefaultClient, "GET", u, "")

	type answer struct {
		status int
		body   string
	}
	slow := make(chan answer, 1)
	go func() {
		resp, err := http.Get(u + "slow")
		if err != nil {
			slow <- answer{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- answer{resp.StatusCode, string(b)}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(mark); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow request never started\n%s", c.output())
		}
	}
	write("two")
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, now := do(t, http.DefaultClient, "GET", u, ""); now != oldPID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not swap the pools\n%s", c.output())
		}
	}
	if a := <-slow; a.status != 200 || a.body != oldPID {
		t.Errorf("the request running across the reload: %d %q, want 200 from the old worker %s\n%s", a.status, a.body, oldPID, c.output())
	}
}

// BenchmarkFileChain measures what resolving a request against a file
// costs next to the flags' chain, on the guide's Basic-on-login site: an
// anonymous request outside the login path.
func BenchmarkFileChain(b *testing.B) {
	dir := b.TempDir()
	testenv.Htpasswd(b, filepath.Join(dir, "htpasswd"), "alice", "secret")
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	conf := testenv.WriteFile(b, dir, "gowsgi.conf", `Listen 8000
WSGIScriptAlias /trac /srv/trac.wsgi
<Directory /srv>
    Require all granted
</Directory>
<LocationMatch "^/trac/[^/]+/login">
    AuthType Basic
    AuthName trac
    AuthUserFile htpasswd
    Require valid-user
</LocationMatch>
`)
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"flags", []string{"-mount", "/trac", "-htpasswd", filepath.Join(dir, "htpasswd"), "-auth-location", "^/trac/[^/]+/login", "/srv/trac.wsgi"}},
		{"file", []string{"-f", conf}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			cfg, err := parseArgs(tt.args, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			if cfg.File != nil {
				if err := loadFile(&cfg); err != nil {
					b.Fatal(err)
				}
			}
			apps := make([]http.Handler, len(cfg.Mounts))
			for i := range apps {
				apps[i] = app
			}
			h, release, err := buildHandler(cfg, apps, slog.New(slog.DiscardHandler))
			defer release()
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/trac/alpha/wiki", nil)
			w := testenv.NewDiscardWriter()
			b.ReportAllocs()
			for b.Loop() {
				clear(w.Header())
				h.ServeHTTP(w, r)
			}
		})
	}
}

// TestFileACME: MDomain, MDContactEmail and MDCertificateAuthority with
// SSLEngine on and no certificate file obtain a certificate from Debian's
// pebble (TLS-ALPN-01 on the file's Listen), as mod_md does.
func TestFileACME(t *testing.T) {
	port := testenv.FreePort(t)
	tlsAddr := testenv.Addr(port)
	p := testenv.StartPebble(t, testenv.PebbleConfig{
		HTTPPort:  testenv.FreePort(t), // nothing listens there
		TLSPort:   port,
		DNSServer: testenv.StartLoopbackDNS(t),
	})
	dir := t.TempDir()
	script := testenv.WriteFile(t, dir, "scheme.wsgi", schemeApp)
	conf := testenv.WriteFile(t, dir, "gowsgi.conf", fmt.Sprintf(`Listen %s https
MDomain %s
MDContactEmail admin@gowsgi.test
MDCertificateAuthority %s
<VirtualHost *:%d>
    ServerName %s
    SSLEngine on
    Protocols h2 http/1.1 acme-tls/1
    WSGIScriptAlias / %s
</VirtualHost>
`, tlsAddr, acmeDomain, p.DirectoryURL, port, acmeDomain, script))
	code, out, errs := fileRun(t, "-f", conf, "-dump")
	if code != 0 || !strings.Contains(out, "tls acme="+acmeDomain+" email=admin@gowsgi.test ca="+p.DirectoryURL+" protocols=h2,http/1.1") {
		t.Errorf("-dump: %d\n%s%s", code, out, errs)
	}
	c := startChild(t, childOpts{noListen: true}, "-f", conf, "-acme-ca-root", p.CAFile, "-acme-cache", t.TempDir(), "-python", testenv.Python(t))
	c.addr = tlsAddr
	c.waitListening(t, 60*time.Second)
	acmeGet(t, p, p.Root(t), tlsAddr)
	if n := p.Issued(); n != 1 {
		t.Errorf("pebble issued %d certificates, want 1", n)
	}
}

// TestFileRedirect: the usual Apache HTTPS site, a virtual host on port
// 80 that redirects to HTTPS next to the HTTPS one, is served with the
// redirect listener.
func TestFileRedirect(t *testing.T) {
	py := testenv.Python(t)
	dir := t.TempDir()
	ca, cert, key := testenv.TLSCerts(t, dir)
	app := testenv.WriteFile(t, dir, "app.wsgi", schemeApp)
	httpPort, tlsPort := testenv.FreePort(t), testenv.FreePort(t)
	conf := testenv.WriteFile(t, dir, "gowsgi.conf", fmt.Sprintf(`Listen 127.0.0.1:%[1]d
Listen 127.0.0.1:%[2]d https
<VirtualHost *:%[1]d>
    ServerName localhost
    Redirect permanent / https://localhost/
</VirtualHost>
<VirtualHost *:%[2]d>
    ServerName localhost
    SSLEngine on
    SSLCertificateFile %[3]s
    SSLCertificateKeyFile %[4]s
    Header always set Strict-Transport-Security "max-age=60"
    WSGIScriptAlias / %[5]s
</VirtualHost>
`, httpPort, tlsPort, cert, key, app))
	c := startChild(t, childOpts{noListen: true}, "-f", conf, "-python", py)
	c.addr = testenv.Addr(tlsPort)
	c.waitListening(t, 60*time.Second)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := do(t, noFollow, "GET", "http://"+testenv.Addr(httpPort)+"/x?y=1", "")
	if want := fmt.Sprintf("https://127.0.0.1:%d/x?y=1", tlsPort); resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("plain HTTP: %d to %q, want 308 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	roots, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, tlsClient(t, roots, c.addr, true), "GET", "https://localhost/", "")
	if resp.StatusCode != 200 || body != "https on HTTP/2.0" || resp.Header.Get("Strict-Transport-Security") != "max-age=60" {
		t.Errorf("HTTPS: %d %q %q", resp.StatusCode, body, resp.Header.Get("Strict-Transport-Security"))
	}
}
