package kerberos

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// realm is an MIT KDC with the principals the tests use.
type realm struct {
	kdc    *testenv.KDC
	keytab string // HTTP/localhost only
}

const (
	alicePass = "alice-secret"
	shortPass = "short-secret"
)

func startRealm(t *testing.T) *realm {
	t.Helper()
	k := testenv.StartKDC(t)
	k.AddUser(t, "alice", alicePass)
	k.AddUser(t, "shortlived", shortPass, `-maxlife "3 seconds"`)
	kt := k.AddService(t, "HTTP/localhost")
	k.AddService(t, "HTTP/other.gowsgi.test")
	return &realm{kdc: k, keytab: kt}
}

func (rl *realm) krb5conf(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.Load(rl.kdc.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clientEnv is the environment for MIT clients (kinit, curl, Python): the
// realm's krb5.conf and credential cache, and no proxy.
func clientEnv(rl *realm, ccache string) []string {
	var env []string
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		if strings.HasSuffix(strings.ToLower(k), "_proxy") || strings.HasPrefix(k, "KRB5") {
			continue
		}
		env = append(env, e)
	}
	return append(env, rl.kdc.Env(ccache)...)
}

const requestsKerberos = `
import sys, requests
from requests_kerberos import HTTPKerberosAuth, REQUIRED
r = requests.get(sys.argv[1], auth=HTTPKerberosAuth(mutual_authentication=REQUIRED))
sys.stdout.write("%d %s" % (r.status_code, r.text))
`

// TestMITKDC proves the acceptor against a real MIT KDC and real clients:
// gokrb5's SPNEGO client with a password, kinit + curl --negotiate, and
// Python's requests_kerberos (which insists on mutual authentication).
func TestMITKDC(t *testing.T) {
	rl := startRealm(t)
	var logs logBuffer
	a, err := New(Config{Keytab: rl.keytab, SPN: "HTTP/localhost@" + testenv.KDCRealm, Basic: true, BasicRealm: "Trac",
		Krb5Conf: rl.kdc.Krb5Conf, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, protected(a))
	want := "200 alice@GOWSGI.TEST Negotiate"

	t.Run("gokrb5 client with a password", func(t *testing.T) {
		cl := client.NewWithPassword("alice", testenv.KDCRealm, alicePass, rl.krb5conf(t), client.DisablePAFXFAST(true))
		defer cl.Destroy()
		if err := cl.Login(); err != nil {
			t.Fatal(err)
		}
		// One request with the token: gokrb5's spnego.Client retries a
		// 401 forever, which would turn a failure into a hang.
		req, _ := http.NewRequest("GET", url, nil)
		if err := spnego.SetSPNEGOHeader(cl, req, "HTTP/localhost"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := readResponse(t, resp); got != want {
			t.Errorf("got %q, want %q; log:\n%s", got, want, logs.String())
		}
	})

	t.Run("replayed token", func(t *testing.T) {
		cl := client.NewWithPassword("alice", testenv.KDCRealm, alicePass, rl.krb5conf(t), client.DisablePAFXFAST(true))
		defer cl.Destroy()
		if err := cl.Login(); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", url, nil)
		if err := spnego.SetSPNEGOHeader(cl, req, "HTTP/localhost"); err != nil {
			t.Fatal(err)
		}
		for i, want := range []int{200, 401} {
			resp, err := http.DefaultClient.Do(req.Clone(req.Context()))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("request %d: status %d, want %d", i+1, resp.StatusCode, want)
			}
		}
		if !strings.Contains(logs.String(), "replayed authenticator from alice@GOWSGI.TEST") {
			t.Errorf("log:\n%s", logs.String())
		}
	})

	t.Run("PAC decoding refuses an MIT ticket", func(t *testing.T) {
		// MIT KDCs (1.20 and later) put a PAC without the Windows logon
		// information into tickets; decoding it is for Active Directory.
		var logs logBuffer
		a, err := New(Config{Keytab: rl.keytab, DecodePAC: true, Logger: logs.logger()})
		if err != nil {
			t.Fatal(err)
		}
		cl := client.NewWithPassword("alice", testenv.KDCRealm, alicePass, rl.krb5conf(t), client.DisablePAFXFAST(true))
		defer cl.Destroy()
		if err := cl.Login(); err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		if err := spnego.SetSPNEGOHeader(cl, r, "HTTP/localhost"); err != nil {
			t.Fatal(err)
		}
		w := get(t, protected(a), r.Header.Get("Authorization"))
		if w.Code != 401 || !strings.Contains(logs.String(), "KerbValidationInfo") {
			t.Errorf("status %d, log:\n%s", w.Code, logs.String())
		}
	})

	t.Run("kinit and curl --negotiate", func(t *testing.T) {
		curl := testenv.LookPath(t, "curl", "curl")
		cc := rl.kdc.Kinit(t, "alice", alicePass)
		cmd := exec.Command(curl, "-sS", "--noproxy", "*", "--negotiate", "-u", ":", "-w", "\n%{http_code}", url)
		cmd.Env = clientEnv(rl, cc)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v\n%s\nlog:\n%s", err, out, logs.String())
		}
		body, code, _ := strings.Cut(string(out), "\n")
		if got := code + " " + body; got != want {
			t.Errorf("got %q, want %q; log:\n%s", got, want, logs.String())
		}
	})

	t.Run("kinit and requests_kerberos, mutual authentication required", func(t *testing.T) {
		py := testenv.LookPath(t, "/usr/bin/python3", "python3")
		if err := exec.Command(py, "-c", "import requests_kerberos").Run(); err != nil {
			testenv.Unavailable(t, "requests_kerberos not importable by %s (apt-get install python3-requests-kerberos): %v", py, err)
		}
		cc := rl.kdc.Kinit(t, "alice", alicePass)
		cmd := exec.Command(py, "-c", requestsKerberos, url)
		cmd.Env = clientEnv(rl, cc)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s\nlog:\n%s", err, out, logs.String())
		}
		if got := string(out); got != want {
			t.Errorf("got %q, want %q; log:\n%s", got, want, logs.String())
		}
	})

	t.Run("Basic fallback with curl -u", func(t *testing.T) {
		curl := testenv.LookPath(t, "curl", "curl")
		for _, user := range []string{"alice", "alice@GOWSGI.TEST", `GOWSGI\alice`} {
			cmd := exec.Command(curl, "-sS", "--noproxy", "*", "-u", user+":"+alicePass, "-w", "\n%{http_code}", url)
			cmd.Env = clientEnv(rl, "")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("curl: %v\n%s", err, out)
			}
			body, code, _ := strings.Cut(string(out), "\n")
			if got, want := code+" "+body, "200 alice@GOWSGI.TEST Basic"; got != want {
				t.Errorf("%s: got %q, want %q; log:\n%s", user, got, want, logs.String())
			}
		}
	})

	// Each refusal: 401, the challenges, and a log line saying why.
	refusals := []struct {
		name    string
		header  func(t *testing.T) string
		wantLog string
		chall   []string
	}{
		{
			name:    "wrong password (Basic)",
			header:  func(t *testing.T) string { return basicHeader("alice", "wrong") },
			wantLog: "refused a Basic login",
			chall:   []string{"Negotiate", `Basic realm="Trac", charset="UTF-8"`},
		},
		{
			name:    "unknown user (Basic)",
			header:  func(t *testing.T) string { return basicHeader("nobody", "x") },
			wantLog: "refused a Basic login",
			chall:   []string{"Negotiate", `Basic realm="Trac", charset="UTF-8"`},
		},
		{
			name: "expired ticket",
			header: func(t *testing.T) string {
				cl := client.NewWithPassword("shortlived", testenv.KDCRealm, shortPass, rl.krb5conf(t), client.DisablePAFXFAST(true))
				defer cl.Destroy()
				if err := cl.Login(); err != nil {
					t.Fatal(err)
				}
				tkt, key, err := cl.GetServiceTicket("HTTP/localhost")
				if err != nil {
					t.Fatal(err)
				}
				// The principal's tickets live 3 s; the server of this
				// case allows 1 s of skew. A fresh authenticator for the
				// dead ticket is refused for the ticket alone.
				time.Sleep(5 * time.Second)
				h, _ := negotiateHeader(t, "shortlived", testenv.KDCRealm, tkt, key, tokenOptions{})
				return h
			},
			wantLog: "service ticket provided has expired",
			chall:   []string{"Negotiate", `Basic realm="Trac", charset="UTF-8"`},
		},
		{
			name: "ticket for another service",
			header: func(t *testing.T) string {
				cl := client.NewWithPassword("alice", testenv.KDCRealm, alicePass, rl.krb5conf(t), client.DisablePAFXFAST(true))
				defer cl.Destroy()
				if err := cl.Login(); err != nil {
					t.Fatal(err)
				}
				tkt, key, err := cl.GetServiceTicket("HTTP/other.gowsgi.test")
				if err != nil {
					t.Fatal(err)
				}
				h, _ := negotiateHeader(t, "alice", testenv.KDCRealm, tkt, key, tokenOptions{})
				return h
			},
			wantLog: "ticket for another service",
			chall:   []string{"Negotiate", `Basic realm="Trac", charset="UTF-8"`},
		},
		{
			name: "client clock beyond the skew",
			header: func(t *testing.T) string {
				cl := client.NewWithPassword("alice", testenv.KDCRealm, alicePass, rl.krb5conf(t), client.DisablePAFXFAST(true))
				defer cl.Destroy()
				if err := cl.Login(); err != nil {
					t.Fatal(err)
				}
				tkt, key, err := cl.GetServiceTicket("HTTP/localhost")
				if err != nil {
					t.Fatal(err)
				}
				h, _ := negotiateHeader(t, "alice", testenv.KDCRealm, tkt, key, tokenOptions{mutate: func(a *types.Authenticator) {
					a.CTime = a.CTime.Add(-2 * time.Second)
				}})
				return h
			},
			wantLog: "clock skew with client too large",
			chall:   []string{"Negotiate", `Basic realm="Trac", charset="UTF-8"`},
		},
		{
			name: "garbage token",
			header: func(t *testing.T) string {
				return "Negotiate " + base64.StdEncoding.EncodeToString([]byte("\x60\x03garbage"))
			},
			wantLog: "refused a Negotiate token",
			chall:   []string{"Negotiate", `Basic realm="Trac", charset="UTF-8"`},
		},
		{
			name:    "NTLM token",
			header:  func(t *testing.T) string { return "Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==" },
			wantLog: "refused an NTLM token",
			chall:   []string{`Basic realm="Trac", charset="UTF-8"`},
		},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			a, err := New(Config{Keytab: rl.keytab, SPN: "HTTP/localhost", Basic: true, BasicRealm: "Trac",
				Krb5Conf: rl.kdc.Krb5Conf, MaxClockSkew: time.Second, Logger: logs.logger()})
			if err != nil {
				t.Fatal(err)
			}
			url := serve(t, protected(a))
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", tc.header(t))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
			if got := resp.Header.Values("WWW-Authenticate"); !slices.Equal(got, tc.chall) {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.chall)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}

	t.Run("curl without a ticket gets the Basic fallback", func(t *testing.T) {
		// curl --negotiate with an empty credential cache sends nothing it
		// can make; it must end on 401 with both challenges, not loop.
		curl := testenv.LookPath(t, "curl", "curl")
		cmd := exec.Command(curl, "-sS", "--noproxy", "*", "--negotiate", "-u", ":", "-o", "/dev/null", "-D", "-", "-w", "%{http_code}", url)
		cmd.Env = clientEnv(rl, rl.kdc.Dir+"/no-such-ccache")
		out, _ := cmd.CombinedOutput()
		if !strings.HasSuffix(string(out), "401") || !strings.Contains(string(out), `Basic realm="Trac"`) {
			t.Errorf("curl: %s", out)
		}
	})
}

func basicHeader(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func readResponse(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, b.String())
}

// TestBasicFallbackKDC checks the password path against the real KDC and
// against an impersonated one.
func TestBasicFallbackKDC(t *testing.T) {
	rl := startRealm(t)
	// An impersonated KDC for the same realm name: it knows alice under a
	// password of the attacker's choosing and has its own HTTP/localhost
	// key. Its TGT is as good as the real one to a client; only the
	// service ticket, which does not decrypt with our keytab, betrays it.
	fake := testenv.StartKDC(t)
	fake.AddUser(t, "alice", "attacker-chosen")
	fake.AddService(t, "HTTP/localhost")

	tests := []struct {
		name     string
		krb5conf string
		user     string
		pass     string
		wantOK   bool
		wantErr  bool
		wantLog  string
	}{
		{name: "good password", krb5conf: rl.kdc.Krb5Conf, user: "alice", pass: alicePass, wantOK: true},
		{name: "wrong password", krb5conf: rl.kdc.Krb5Conf, user: "alice", pass: "nope"},
		{name: "impersonated KDC", krb5conf: fake.Krb5Conf, user: "alice", pass: "attacker-chosen", wantLog: "does not decrypt with the keytab"},
		{name: "unreachable KDC", krb5conf: writeKrb5Conf(t, testenv.FreePort(t)), user: "alice", pass: alicePass, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			a, err := New(Config{Keytab: rl.keytab, SPN: "HTTP/localhost", Basic: true, Krb5Conf: tc.krb5conf, Logger: logs.logger()})
			if err != nil {
				t.Fatal(err)
			}
			u, ok, err := a.CheckPassword(t.Context(), tc.user, tc.pass)
			if (err != nil) != tc.wantErr || ok != tc.wantOK {
				t.Fatalf("CheckPassword: %v %v %v", u, ok, err)
			}
			if ok && (u.Name != "alice@GOWSGI.TEST" || u.AuthType != "Basic") {
				t.Errorf("user %+v", u)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
			if tc.wantErr {
				w := get(t, protected(a), basicHeader(tc.user, tc.pass))
				if w.Code != http.StatusServiceUnavailable {
					t.Errorf("unreachable KDC: status %d, want 503", w.Code)
				}
			}
		})
	}

	t.Run("clients are destroyed", func(t *testing.T) {
		a, err := New(Config{Keytab: rl.keytab, SPN: "HTTP/localhost", Basic: true, Krb5Conf: rl.kdc.Krb5Conf, BasicCacheTTL: -1})
		if err != nil {
			t.Fatal(err)
		}
		before := runtime.NumGoroutine()
		for range 10 {
			if _, ok, err := a.CheckPassword(t.Context(), "alice", alicePass); !ok || err != nil {
				t.Fatalf("CheckPassword: %v %v", ok, err)
			}
		}
		// gokrb5 stops a destroyed client's renewal goroutine
		// asynchronously; give it a moment, then count.
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before+2 {
			t.Errorf("%d goroutines after 10 logins, %d before: clients leak", n, before)
		}
	})
}

// kdcRequests counts the lines of the KDC's log for requests (AS_REQ and
// TGS_REQ) naming principal.
func kdcRequests(t *testing.T, k *testenv.KDC, principal string) int {
	t.Helper()
	b, err := os.ReadFile(k.Log)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if (strings.Contains(l, "AS_REQ") || strings.Contains(l, "TGS_REQ")) && strings.Contains(l, principal) {
			n++
		}
	}
	return n
}

// waitKDCRequests waits until the KDC's log has at least n requests naming
// principal: the KDC writes its log line around its answer, so a request
// answered may take a moment to show.
func waitKDCRequests(t *testing.T, k *testenv.KDC, principal string, n int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := kdcRequests(t, k, principal)
		if got >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the KDC logged %d requests for %s, want at least %d", got, principal, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBasicFallbackCache: the Basic fallback has the credential
// cache htpasswd and LDAP have. A login the KDC accepted is remembered, and
// the next request with the same credentials makes no request to the KDC
// (its log shows none); a wrong password is never cached, nor is a
// password the KDC no longer accepts once the entry expired.
func TestBasicFallbackCache(t *testing.T) {
	rl := startRealm(t)
	rl.kdc.AddUser(t, "bob", "bob-secret")
	a, err := New(Config{Keytab: rl.keytab, SPN: "HTTP/localhost", Basic: true, Krb5Conf: rl.kdc.Krb5Conf})
	if err != nil {
		t.Fatal(err)
	}
	h := protected(a)
	const alice = "alice@" + testenv.KDCRealm
	if w := get(t, h, basicHeader("alice", alicePass)); w.Code != 200 {
		t.Fatalf("first login: %d", w.Code)
	}
	first := waitKDCRequests(t, rl.kdc, alice, 2) // a TGT, then a service ticket
	for range 3 {
		if w := get(t, h, basicHeader("alice", alicePass)); w.Code != 200 {
			t.Fatalf("cached login: %d", w.Code)
		}
	}
	if w := get(t, h, basicHeader("alice", "wrong")); w.Code != 401 {
		t.Fatalf("wrong password: %d", w.Code)
	}
	// bob's login is a barrier: once the KDC logged it, it logged
	// everything asked before it.
	if w := get(t, h, basicHeader("bob", "bob-secret")); w.Code != 200 {
		t.Fatalf("bob: %d", w.Code)
	}
	waitKDCRequests(t, rl.kdc, "bob@"+testenv.KDCRealm, 2)
	// The wrong password cost one AS_REQ; the cached logins none.
	if got := kdcRequests(t, rl.kdc, alice); got != first+1 {
		t.Errorf("the KDC logged %d requests for alice, want %d (the first login's %d and the wrong password's one): cached logins reached the KDC\n", got, first+1, first)
	}

	t.Run("off", func(t *testing.T) {
		a, err := New(Config{Keytab: rl.keytab, SPN: "HTTP/localhost", Basic: true, Krb5Conf: rl.kdc.Krb5Conf, BasicCacheTTL: -1})
		if err != nil {
			t.Fatal(err)
		}
		before := kdcRequests(t, rl.kdc, "bob@"+testenv.KDCRealm)
		for range 2 {
			if w := get(t, protected(a), basicHeader("bob", "bob-secret")); w.Code != 200 {
				t.Fatalf("login: %d", w.Code)
			}
		}
		waitKDCRequests(t, rl.kdc, "bob@"+testenv.KDCRealm, before+4)
	})
}
