package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// negotiateAs returns what sets a request's Authorization to a Negotiate
// token of user, logged in with pass at the test KDC, for HTTP/localhost.
func negotiateAs(conf *krbconfig.Config, user, pass string) func(*http.Request) error {
	return func(r *http.Request) error {
		cl := client.NewWithPassword(user, testenv.KDCRealm, pass, conf, client.DisablePAFXFAST(true))
		defer cl.Destroy()
		if err := cl.Login(); err != nil {
			return err
		}
		return spnego.SetSPNEGOHeader(cl, r, "HTTP/localhost")
	}
}

func TestKerberosLayer(t *testing.T) {
	kdc := testenv.StartKDC(t)
	kdc.AddUser(t, "alice", "alicepw")
	kdc.AddUser(t, "bob", "bobpw")
	keytab := kdc.AddService(t, "HTTP/localhost")
	conf, err := krbconfig.Load(kdc.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	negotiate := func(user, pass string) func(*http.Request) error { return negotiateAs(conf, user, pass) }
	basic := func(user, pass string) func(*http.Request) error {
		return func(r *http.Request) error { r.SetBasicAuth(user, pass); return nil }
	}
	common := []string{"-keytab", keytab, "-spn", "HTTP/localhost@GOWSGI.TEST", "-krb5-conf", kdc.Krb5Conf}
	tests := []struct {
		name     string
		args     []string
		path     string
		creds    func(*http.Request) error
		wantCode int
		wantBody string
	}{
		{name: "negotiate", args: common, path: "/", creds: negotiate("alice", "alicepw"), wantCode: 200, wantBody: "alice@GOWSGI.TEST Negotiate"},
		{name: "anonymous", args: common, path: "/", wantCode: 401, wantBody: "Unauthorized\n"},
		{name: "basic off", args: common, path: "/", creds: basic("alice", "alicepw"), wantCode: 401, wantBody: "Unauthorized\n"},
		{name: "basic on", args: append([]string{"-kerberos-basic"}, common...), path: "/", creds: basic("alice", "alicepw"), wantCode: 200, wantBody: "alice@GOWSGI.TEST Basic"},
		{name: "basic wrong password", args: append([]string{"-kerberos-basic"}, common...), path: "/", creds: basic("alice", "nope"), wantCode: 401, wantBody: "Unauthorized\n"},
		{name: "local name", args: append([]string{"-kerberos-name", "local"}, common...), path: "/", creds: negotiate("alice", "alicepw"), wantCode: 200, wantBody: "alice Negotiate"},
		{name: "down-level domain", args: append([]string{"-kerberos-name", "down-level=GOWSGI"}, common...), path: "/", creds: negotiate("alice", "alicepw"), wantCode: 200, wantBody: `GOWSGI\alice Negotiate`},
		{name: "normalize-user strip-realm", args: append([]string{"-normalize-user", "strip-realm"}, common...), path: "/", creds: negotiate("alice", "alicepw"), wantCode: 200, wantBody: "alice Negotiate"},
		{name: "require user granted", args: append([]string{"-require", "user alice@GOWSGI.TEST"}, common...), path: "/", creds: negotiate("alice", "alicepw"), wantCode: 200, wantBody: "alice@GOWSGI.TEST Negotiate"},
		{name: "require user denied", args: append([]string{"-require", "user alice@GOWSGI.TEST"}, common...), path: "/", creds: negotiate("bob", "bobpw"), wantCode: 403, wantBody: "Forbidden\n"},
		{name: "auth-location outside", args: append([]string{"-auth-location", "^/trac/login$"}, common...), path: "/trac/wiki", wantCode: 200, wantBody: "-"},
		{name: "auth-location inside, anonymous", args: append([]string{"-auth-location", "^/trac/login$"}, common...), path: "/trac/login", wantCode: 401, wantBody: "Unauthorized\n"},
		{name: "auth-location inside", args: append([]string{"-auth-location", "^/trac/login$", "-kerberos-name", "local"}, common...), path: "/trac/login", creds: negotiate("alice", "alicepw"), wantCode: 200, wantBody: "alice Negotiate"},
		{name: "session cookie", args: append([]string{"-kerberos-session", "1h"}, common...), path: "/", creds: negotiate("alice", "alicepw"), wantCode: 200, wantBody: "alice@GOWSGI.TEST Negotiate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := chainFromArgs(t, whoamiApp, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(h)
			srv.Listener = ln
			srv.Start()
			defer srv.Close()
			url := fmt.Sprintf("http://localhost:%d%s", ln.Addr().(*net.TCPAddr).Port, tc.path)
			req, _ := http.NewRequest("GET", url, nil)
			if tc.creds != nil {
				if err := tc.creds(req); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || string(body) != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
			if tc.wantCode == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Negotiate") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Values("WWW-Authenticate"))
			}
			if strings.Contains(tc.name, "session") {
				cs := resp.Cookies()
				if len(cs) != 1 {
					t.Fatalf("cookies %v", cs)
				}
				again, _ := http.NewRequest("GET", url, nil)
				again.AddCookie(cs[0])
				resp, err := http.DefaultClient.Do(again)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != tc.wantBody {
					t.Errorf("with the cookie alone: %d %q", resp.StatusCode, body)
				}
			}
		})
	}
}

func TestKerberosLayerErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"spn without keytab", []string{"-spn", "HTTP/x"}, "need -keytab"},
		{"basic without keytab", []string{"-kerberos-basic"}, "need -keytab"},
		{"basic realm without keytab", []string{"-kerberos-basic-realm", "Trac"}, "need -keytab"},
		{"cache ttl without keytab", []string{"-kerberos-basic-cache-ttl", "1m"}, "need -keytab"},
		{"missing keytab", []string{"-keytab", "/nonexistent"}, "reading the keytab"},
		{"bad name form", []string{"-keytab", "/nonexistent", "-kerberos-name", "upper"}, "-kerberos-name"},
		{"local without realm", []string{"-keytab", "/nonexistent", "-kerberos-name", "local"}, "needs the realm"},
		{"negative session", []string{"-keytab", "/nonexistent", "-kerberos-session", "-1s"}, "-kerberos-session"},
		{"session key without session", []string{"-keytab", "/nonexistent", "-kerberos-session-key-file", "/x"}, "needs -kerberos-session"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := chainFromArgs(t, whoamiApp, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestKerberosEndToEndWSGI runs the command with a real WSGI script behind
// Negotiate on Trac's login path, and logs in with kinit + curl
// --negotiate, Python's requests_kerberos and curl -u (the Basic fallback).
func TestKerberosEndToEndWSGI(t *testing.T) {
	kdc := testenv.StartKDC(t)
	kdc.AddUser(t, "alice", "alicepw")
	keytab := kdc.AddService(t, "HTTP/localhost")
	py := testenv.Python(t)
	curl := testenv.LookPath(t, "curl", "curl")
	script := testenv.WriteFile(t, "", "app.wsgi", `
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    body = "%s|%s|%s|%s" % (environ.get("SCRIPT_NAME"), environ.get("PATH_INFO"), environ.get("REMOTE_USER", "-"),
                            environ.get("AUTH_TYPE", "-"))
    return [body.encode()]
`)
	addr := startChild(t, childOpts{}, "-python", py, "-mount", "/trac", "-auth-location", "/[^/]+/login",
		"-keytab", keytab, "-spn", "HTTP/localhost@GOWSGI.TEST", "-kerberos-basic", "-krb5-conf", kdc.Krb5Conf,
		"-kerberos-name", "local", script).addr
	_, port, _ := net.SplitHostPort(addr)
	base := "http://localhost:" + port
	cc := kdc.Kinit(t, "alice", "alicepw")
	env := append(os.Environ(), kdc.Env(cc)...)
	env = append(env, "NO_PROXY=*", "no_proxy=*")

	tests := []struct {
		name string
		cmd  []string
		want string
	}{
		{"curl --negotiate", []string{curl, "-sS", "--noproxy", "*", "--negotiate", "-u", ":", "-w", "|%{http_code}", base + "/trac/login"}, "/trac|/login|alice|Negotiate|200"},
		{"requests_kerberos", []string{"/usr/bin/python3", "-c", `
import sys, requests
from requests_kerberos import HTTPKerberosAuth, REQUIRED
r = requests.get(sys.argv[1], auth=HTTPKerberosAuth(mutual_authentication=REQUIRED))
sys.stdout.write("%s|%d" % (r.text, r.status_code))
`, base + "/trac/login"}, "/trac|/login|alice|Negotiate|200"},
		{"curl -u (Basic fallback)", []string{curl, "-sS", "--noproxy", "*", "-u", "alice:alicepw", "-w", "|%{http_code}", base + "/trac/login"}, "/trac|/login|alice|Basic|200"},
		{"curl -u, wrong password", []string{curl, "-sS", "--noproxy", "*", "-u", "alice:nope", "-o", "/dev/null", "-w", "%{http_code}", base + "/trac/login"}, "401"},
		{"anonymous outside the location", []string{curl, "-sS", "--noproxy", "*", "-w", "|%{http_code}", base + "/trac/wiki"}, "/trac|/wiki|-|-|200"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(tc.cmd[0], tc.cmd[1:]...)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if string(out) != tc.want {
				t.Errorf("got %q, want %q", out, tc.want)
			}
		})
	}
}
