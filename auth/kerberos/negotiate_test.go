package kerberos

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/gowsgi/gowsgi/auth"
)

const testRealm = "GOWSGI.TEST"

// TestNegotiateForged checks the acceptor with tickets made from the
// service key, as the KDC makes them, for the cases a real KDC cannot be
// asked for (a client clock off by ten minutes, a ticket not yet valid).
// The same cases run against the MIT KDC in TestMITKDC.
func TestNegotiateForged(t *testing.T) {
	kt, ktData := testKeytab(t, "HTTP/localhost", testRealm)
	otherKT, _ := testKeytab(t, "HTTP/other", testRealm)
	now := time.Now()
	good := ticketSpec{client: "alice", crealm: testRealm, service: "HTTP/localhost", realm: testRealm, start: now.Add(-time.Minute), end: now.Add(time.Hour)}

	tests := []struct {
		name     string
		spec     ticketSpec
		keytab   bool // forge with otherKT
		opts     tokenOptions
		wantCode int
		wantBody string
		wantLog  string
	}{
		{name: "spnego", spec: good, wantCode: 200, wantBody: "alice@GOWSGI.TEST Negotiate"},
		{name: "spnego mutual", spec: good, opts: tokenOptions{mutual: true}, wantCode: 200, wantBody: "alice@GOWSGI.TEST Negotiate"},
		{name: "raw krb5 mutual", spec: good, opts: tokenOptions{mutual: true, raw: true}, wantCode: 200, wantBody: "alice@GOWSGI.TEST Negotiate"},
		{name: "raw krb5", spec: good, opts: tokenOptions{raw: true}, wantCode: 200, wantBody: "alice@GOWSGI.TEST Negotiate"},
		{name: "legacy OID mutual", spec: good, opts: tokenOptions{mutual: true, legacy: true}, wantCode: 200, wantBody: "alice@GOWSGI.TEST Negotiate"},
		{name: "instance principal", spec: ticketSpec{client: "alice/admin", crealm: testRealm, service: "HTTP/localhost", realm: testRealm, start: good.start, end: good.end}, wantCode: 200, wantBody: "alice/admin@GOWSGI.TEST Negotiate"},
		{name: "expired ticket", spec: ticketSpec{client: "alice", crealm: testRealm, service: "HTTP/localhost", realm: testRealm, start: now.Add(-2 * time.Hour), end: now.Add(-time.Hour)}, wantCode: 401, wantLog: "expired"},
		{name: "ticket not yet valid", spec: ticketSpec{client: "alice", crealm: testRealm, service: "HTTP/localhost", realm: testRealm, start: now.Add(time.Hour), end: now.Add(2 * time.Hour)}, wantCode: 401, wantLog: "not yet valid"},
		{name: "client clock 10 minutes slow", spec: good, opts: tokenOptions{mutate: func(a *types.Authenticator) { a.CTime = a.CTime.Add(-10 * time.Minute) }}, wantCode: 401, wantLog: "clock skew"},
		{name: "client clock 10 minutes fast", spec: good, opts: tokenOptions{mutate: func(a *types.Authenticator) { a.CTime = a.CTime.Add(10 * time.Minute) }}, wantCode: 401, wantLog: "clock skew"},
		{name: "ticket for another service", spec: ticketSpec{client: "alice", crealm: testRealm, service: "HTTP/other", realm: testRealm, start: good.start, end: good.end}, keytab: true, wantCode: 401, wantLog: "another service"},
		{name: "authenticator for another client", spec: good, opts: tokenOptions{mutate: func(a *types.Authenticator) { a.CName.NameString = []string{"bob"} }}, wantCode: 401, wantLog: "CName in Authenticator does not match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			a, err := New(Config{KeytabData: ktData, SPN: "HTTP/localhost@" + testRealm, Logger: logs.logger()})
			if err != nil {
				t.Fatal(err)
			}
			sk := kt
			if tc.keytab {
				sk = otherKT
			}
			tkt, key := forgeTicket(t, sk, tc.spec)
			hdr, sent := negotiateHeader(t, tc.spec.client, tc.spec.crealm, tkt, key, tc.opts)
			w := get(t, protected(a), hdr)
			if w.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %q; log:\n%s", w.Code, tc.wantCode, w.Body, logs.String())
			}
			if tc.wantCode != 200 {
				if !strings.Contains(logs.String(), tc.wantLog) {
					t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
				}
				if got := w.Header().Values("WWW-Authenticate"); !slices.Equal(got, []string{"Negotiate"}) {
					t.Errorf("WWW-Authenticate %q, want [Negotiate]", got)
				}
				return
			}
			if w.Body.String() != tc.wantBody {
				t.Errorf("body %q, want %q", w.Body, tc.wantBody)
			}
			wantMech := gssapi.OIDKRB5.OID()
			if tc.opts.legacy {
				wantMech = gssapi.OIDMSLegacyKRB5.OID()
			}
			resp := w.Header().Get("WWW-Authenticate")
			if tc.opts.mutual {
				if msg := checkMutual(resp, key, sent, !tc.opts.raw, wantMech); msg != "" {
					t.Errorf("mutual authentication: %s", msg)
				}
			} else if tc.opts.raw {
				if resp != "" {
					t.Errorf("response %q to a raw token without mutual authentication, want none", resp)
				}
			} else {
				b, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(resp, "Negotiate "))
				var nr spnego.NegTokenResp
				if err := nr.Unmarshal(b); err != nil || nr.State() != spnego.NegStateAcceptCompleted || len(nr.ResponseToken) != 0 {
					t.Errorf("response %q: want accept-completed without a token (%v)", resp, err)
				}
			}

			// The same header again is a replay.
			w = get(t, protected(a), hdr)
			if w.Code != 401 || !strings.Contains(logs.String(), "replayed authenticator") {
				t.Errorf("replay: status %d, log:\n%s", w.Code, logs.String())
			}
		})
	}
}

func TestNegotiateBadTokens(t *testing.T) {
	_, ktData := testKeytab(t, "HTTP/localhost", testRealm)
	ntlmNegotiate := append([]byte("NTLMSSP\x00\x01\x00\x00\x00"), make([]byte, 28)...)
	ntlmSPNEGO, err := (&spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{
		MechTypes:      []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}},
		MechTokenBytes: ntlmNegotiate,
	}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	noToken, err := (&spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{
		MechTypes: []asn1.ObjectIdentifier{gssapi.OIDKRB5.OID()},
	}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name      string
		authz     string
		basic     bool
		wantChall []string
		wantLog   string
	}{
		{name: "garbage base64", authz: "Negotiate !!!not base64", wantChall: []string{"Negotiate"}, wantLog: "base64"},
		{name: "garbage token", authz: "Negotiate " + b64([]byte("hello, world")), wantChall: []string{"Negotiate"}, wantLog: "malformed"},
		{name: "empty token", authz: "Negotiate ", wantChall: []string{"Negotiate"}, wantLog: "empty token"},
		{name: "truncated GSS header", authz: "Negotiate YAo=", wantChall: []string{"Negotiate"}, wantLog: "malformed"},
		{name: "SPNEGO without a mechanism token", authz: "Negotiate " + b64(noToken), wantChall: []string{"Negotiate"}, wantLog: "without a Kerberos token"},
		{name: "raw NTLM, no fallback", authz: "Negotiate " + b64(ntlmNegotiate), wantChall: nil, wantLog: "NTLM"},
		{name: "raw NTLM, Basic fallback", authz: "Negotiate " + b64(ntlmNegotiate), basic: true, wantChall: []string{`Basic realm="Trac", charset="UTF-8"`}, wantLog: "NTLM"},
		{name: "NTLM in SPNEGO, Basic fallback", authz: "Negotiate " + b64(ntlmSPNEGO), basic: true, wantChall: []string{`Basic realm="Trac", charset="UTF-8"`}, wantLog: "NTLM"},
		{name: "Basic without colon", authz: "Basic " + b64([]byte("alice")), basic: true, wantChall: []string{"Negotiate", `Basic realm="Trac", charset="UTF-8"`}, wantLog: "bad credentials\" method=GET path=/wiki scheme=Basic"},
		{name: "Basic of another realm", authz: "Basic " + b64([]byte("alice@EVIL.TEST:pw")), basic: true, wantChall: []string{"Negotiate", `Basic realm="Trac", charset="UTF-8"`}, wantLog: "another realm"},
		{name: "Basic of another domain", authz: "Basic " + b64([]byte(`EVIL\alice:pw`)), basic: true, wantChall: []string{"Negotiate", `Basic realm="Trac", charset="UTF-8"`}, wantLog: "another domain"},
		{name: "Basic empty password", authz: "Basic " + b64([]byte(`alice:`)), basic: true, wantChall: []string{"Negotiate", `Basic realm="Trac", charset="UTF-8"`}, wantLog: "empty password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			cfg := Config{KeytabData: ktData, SPN: "HTTP/localhost", Logger: logs.logger()}
			if tc.basic {
				cfg.Basic, cfg.BasicRealm, cfg.Krb5Conf = true, "Trac", writeKrb5Conf(t, 9)
			}
			a, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			w := get(t, protected(a), tc.authz)
			if w.Code != 401 {
				t.Fatalf("status %d, want 401", w.Code)
			}
			if got := w.Header().Values("WWW-Authenticate"); !slices.Equal(got, tc.wantChall) {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.wantChall)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}

// writeKrb5Conf writes a krb5.conf whose KDC listens on nothing (the
// discard port, which nothing serves here).
func writeKrb5Conf(t *testing.T, port int) string {
	t.Helper()
	p := t.TempDir() + "/krb5.conf"
	conf := "[libdefaults]\n default_realm = GOWSGI.TEST\n udp_preference_limit = 1\n[realms]\n GOWSGI.TEST = {\n  kdc = 127.0.0.1:" + strconv.Itoa(port) + "\n }\n"
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChallenges(t *testing.T) {
	_, ktData := testKeytab(t, "HTTP/localhost", testRealm)
	conf := writeKrb5Conf(t, 9)
	tests := []struct {
		name  string
		cfg   Config
		authz string
		want  []string
	}{
		{name: "negotiate only", cfg: Config{}, want: []string{"Negotiate"}},
		{name: "negotiate then basic", cfg: Config{Basic: true}, want: []string{"Negotiate", `Basic realm="Kerberos", charset="UTF-8"`}},
		{name: "basic preferred", cfg: Config{Basic: true, BasicFirst: true, BasicRealm: `Trac "main"`}, want: []string{`Basic realm="Trac \"main\"", charset="UTF-8"`, "Negotiate"}},
		{name: "other scheme passes anonymously", cfg: Config{}, authz: "Digest username=x", want: []string{"Negotiate"}},
		{name: "Basic without the fallback passes anonymously", cfg: Config{}, authz: "Basic YWxpY2U6cHc=", want: []string{"Negotiate"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.KeytabData = ktData
			if tc.cfg.Basic {
				tc.cfg.Krb5Conf = conf
			}
			a, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			w := get(t, protected(a), tc.authz)
			if w.Code != 401 {
				t.Fatalf("status %d", w.Code)
			}
			if got := w.Header().Values("WWW-Authenticate"); !slices.Equal(got, tc.want) {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.want)
			}
			// Without Require, the anonymous request reaches the app.
			w = get(t, a.Wrap(whoami), tc.authz)
			if w.Code != 200 || w.Body.String() != " " {
				t.Errorf("anonymous: %d %q", w.Code, w.Body)
			}
		})
	}
}

func TestNames(t *testing.T) {
	kt, ktData := testKeytab(t, "HTTP/localhost", testRealm)
	tests := []struct {
		name     string
		norm     auth.Normalizer
		client   string
		crealm   string
		wantCode int
		wantBody string
	}{
		{name: "principal", client: "alice", crealm: testRealm, wantCode: 200, wantBody: "alice@GOWSGI.TEST Negotiate"},
		{name: "local name", norm: LocalName(testRealm), client: "alice", crealm: testRealm, wantCode: 200, wantBody: "alice Negotiate"},
		{name: "local name keeps a foreign realm", norm: LocalName(testRealm), client: "alice", crealm: "TRUSTED.TEST", wantCode: 200, wantBody: "alice@TRUSTED.TEST Negotiate"},
		{name: "auth.StripRealm", norm: auth.StripRealm(), client: "alice", crealm: testRealm, wantCode: 200, wantBody: "alice Negotiate"},
		{name: "down-level realm", norm: DownLevel(""), client: "alice", crealm: testRealm, wantCode: 200, wantBody: `GOWSGI.TEST\alice Negotiate`},
		{name: "down-level domain", norm: DownLevel("GOWSGI"), client: "alice", crealm: testRealm, wantCode: 200, wantBody: `GOWSGI\alice Negotiate`},
		{name: "refused", norm: auth.Map(map[string]string{"alice@GOWSGI.TEST": ""}), client: "alice", crealm: testRealm, wantCode: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(Config{KeytabData: ktData, Normalize: tc.norm, Logger: (&logBuffer{}).logger()})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			tkt, key := forgeTicket(t, kt, ticketSpec{client: tc.client, crealm: tc.crealm, service: "HTTP/localhost", realm: testRealm, start: now, end: now.Add(time.Hour)})
			hdr, _ := negotiateHeader(t, tc.client, tc.crealm, tkt, key, tokenOptions{})
			w := get(t, protected(a), hdr)
			if w.Code != tc.wantCode {
				t.Fatalf("status %d, want %d", w.Code, tc.wantCode)
			}
			if tc.wantCode == 200 && w.Body.String() != tc.wantBody {
				t.Errorf("body %q, want %q", w.Body, tc.wantBody)
			}
		})
	}
}

func TestRequireUser(t *testing.T) {
	kt, ktData := testKeytab(t, "HTTP/localhost", testRealm)
	a, err := New(Config{KeytabData: ktData, Normalize: LocalName(testRealm), Logger: (&logBuffer{}).logger()})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Wrap(auth.MustRequire(auth.Users("alice"))(whoami))
	for _, tc := range []struct {
		client string
		want   int
	}{{"alice", 200}, {"bob", 403}} {
		t.Run(tc.client, func(t *testing.T) {
			now := time.Now()
			tkt, key := forgeTicket(t, kt, ticketSpec{client: tc.client, crealm: testRealm, service: "HTTP/localhost", realm: testRealm, start: now, end: now.Add(time.Hour)})
			hdr, _ := negotiateHeader(t, tc.client, testRealm, tkt, key, tokenOptions{})
			if w := get(t, h, hdr); w.Code != tc.want {
				t.Errorf("status %d, want %d", w.Code, tc.want)
			}
		})
	}
}

func TestSessionCookie(t *testing.T) {
	kt, ktData := testKeytab(t, "HTTP/localhost", testRealm)
	key := []byte("0123456789abcdef0123456789abcdef")
	var logs logBuffer
	a, err := New(Config{KeytabData: ktData, SessionKey: key, SessionLifetime: 30 * time.Minute, Normalize: LocalName(), Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	h := protected(a)
	now := time.Now()
	tkt, skey := forgeTicket(t, kt, ticketSpec{client: "alice", crealm: testRealm, service: "HTTP/localhost", realm: testRealm, start: now, end: now.Add(10 * time.Minute)})
	hdr, _ := negotiateHeader(t, "alice", testRealm, tkt, skey, tokenOptions{})
	w := get(t, h, hdr)
	if w.Code != 200 {
		t.Fatalf("login: %d", w.Code)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if c.Name != "gowsgi_krb5" || !c.HttpOnly || c.Secure || c.Path != "/" || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie attributes: %+v", c)
	}
	if d := time.Until(c.Expires); d > 10*time.Minute+time.Second || d < 9*time.Minute {
		t.Errorf("cookie expires in %v, want the ticket's end (10m)", d)
	}

	tampered := *c
	tampered.Value = strings.Replace(c.Value, c.Value[:4], "AAAA", 1)
	other, err := New(Config{KeytabData: ktData, SessionKey: []byte("another key, long enough for hmac")})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := a.sess.encode(session{Name: "alice", AuthType: "Negotiate", Expires: now.Add(-time.Second).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	forgedByOther, err := other.sess.encode(session{Name: "mallory", AuthType: "Negotiate", Expires: now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		cookie   http.Cookie
		wantCode int
		wantLog  string
	}{
		{name: "valid", cookie: *c, wantCode: 200},
		{name: "tampered", cookie: tampered, wantCode: 401, wantLog: "signature mismatch"},
		{name: "expired", cookie: http.Cookie{Name: c.Name, Value: expired}, wantCode: 401, wantLog: "expired"},
		{name: "signed with another key", cookie: http.Cookie{Name: c.Name, Value: forgedByOther}, wantCode: 401, wantLog: "signature mismatch"},
		{name: "not a session", cookie: http.Cookie{Name: c.Name, Value: "garbage"}, wantCode: 401, wantLog: "no signature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(t, h, "", &tc.cookie)
			if w.Code != tc.wantCode {
				t.Fatalf("status %d, want %d", w.Code, tc.wantCode)
			}
			if tc.wantCode == 200 && w.Body.String() != "alice Negotiate" {
				t.Errorf("body %q", w.Body)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}

	t.Run("secure on TLS", func(t *testing.T) {
		tkt, skey := forgeTicket(t, kt, ticketSpec{client: "alice", crealm: testRealm, service: "HTTP/localhost", realm: testRealm, start: now, end: now.Add(time.Hour)})
		hdr, _ := negotiateHeader(t, "alice", testRealm, tkt, skey, tokenOptions{})
		srv := httptest.NewTLSServer(h)
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Authorization", hdr)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cs := resp.Cookies()
		if resp.StatusCode != 200 || len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly {
			t.Errorf("status %d, cookies %+v", resp.StatusCode, cs)
		}
		if d := time.Until(cs[0].Expires); d > 30*time.Minute+time.Second || d < 29*time.Minute {
			t.Errorf("cookie expires in %v, want the session lifetime (30m)", d)
		}
	})
}

func TestNewErrors(t *testing.T) {
	_, ktData := testKeytab(t, "HTTP/localhost", testRealm)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no keytab", cfg: Config{}, want: "no keytab"},
		{name: "both keytabs", cfg: Config{Keytab: "/x", KeytabData: ktData}, want: "both"},
		{name: "missing keytab file", cfg: Config{Keytab: "/nonexistent/keytab"}, want: "reading the keytab"},
		{name: "garbage keytab", cfg: Config{KeytabData: []byte("\x05\x02garbage")}, want: "parsing the keytab"},
		{name: "SPN not in keytab", cfg: Config{KeytabData: ktData, SPN: "HTTP/www.example.com@GOWSGI.TEST"}, want: "no key for HTTP/www.example.com@GOWSGI.TEST"},
		{name: "SPN realm not in keytab", cfg: Config{KeytabData: ktData, SPN: "HTTP/localhost@OTHER.TEST"}, want: "no key"},
		{name: "short session key", cfg: Config{KeytabData: ktData, SessionKey: []byte("short")}, want: "SessionKey"},
		{name: "bad cookie name", cfg: Config{KeytabData: ktData, SessionKey: make([]byte, 32), CookieName: "a b"}, want: "CookieName"},
		{name: "negative skew", cfg: Config{KeytabData: ktData, MaxClockSkew: -time.Second}, want: "MaxClockSkew"},
		{name: "missing krb5.conf", cfg: Config{KeytabData: ktData, Basic: true, Krb5Conf: "/nonexistent/krb5.conf"}, want: "loading"},
		{name: "control character in realm", cfg: Config{KeytabData: ktData, Basic: true, BasicRealm: "a\nb"}, want: "control character"},
		// Basic options without the fallback did nothing.
		{name: "BasicFirst without Basic", cfg: Config{KeytabData: ktData, BasicFirst: true}, want: "need Basic"},
		{name: "BasicRealm without Basic", cfg: Config{KeytabData: ktData, BasicRealm: "Trac"}, want: "need Basic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "kerberos: ") {
				t.Errorf("New: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestNormalizers(t *testing.T) {
	tests := []struct {
		name string
		n    auth.Normalizer
		in   string
		want string
	}{
		{"local name of the realm", LocalName("EXAMPLE.COM"), "alice@EXAMPLE.COM", "alice"},
		{"local name of another realm", LocalName("EXAMPLE.COM"), "alice@OTHER.COM", "alice@OTHER.COM"},
		{"local name is case-sensitive", LocalName("EXAMPLE.COM"), "alice@example.com", "alice@example.com"},
		{"local name of any realm", LocalName(), "alice@OTHER.COM", "alice"},
		{"local name without realm", LocalName(), "alice", "alice"},
		{"local name of an instance", LocalName("EXAMPLE.COM"), "alice/admin@EXAMPLE.COM", "alice/admin"},
		{"down-level with domain", DownLevel("EXAMPLE"), "alice@EXAMPLE.COM", `EXAMPLE\alice`},
		{"down-level keeps the realm", DownLevel(""), "alice@EXAMPLE.COM", `EXAMPLE.COM\alice`},
		{"down-level without realm", DownLevel("EXAMPLE"), "alice", "alice"},
		{"trailing @", LocalName(), "alice@", "alice@"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.n(tc.in); got != tc.want {
				t.Errorf("%q → %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestAnyPrincipal checks the acceptor without an SPN: a ticket for any
// principal the keytab has a key for is good, others are not.
func TestAnyPrincipal(t *testing.T) {
	kt, _ := testKeytab(t, "HTTP/localhost", testRealm)
	if err := kt.AddEntry("HTTP/trac.example.com", testRealm, "alias-secret", time.Now(), 2, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	data, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	otherKT, _ := testKeytab(t, "HTTP/other", testRealm)
	tests := []struct {
		service string
		keytab  bool
		want    int
	}{
		{"HTTP/localhost", false, 200},
		{"HTTP/trac.example.com", false, 200},
		{"HTTP/other", true, 401},
	}
	for _, tc := range tests {
		t.Run(tc.service, func(t *testing.T) {
			var logs logBuffer
			a, err := New(Config{KeytabData: data, Logger: logs.logger()})
			if err != nil {
				t.Fatal(err)
			}
			sk := kt
			if tc.keytab {
				sk = otherKT
			}
			now := time.Now()
			tkt, key := forgeTicket(t, sk, ticketSpec{client: "alice", crealm: testRealm, service: tc.service, realm: testRealm, start: now, end: now.Add(time.Hour)})
			hdr, _ := negotiateHeader(t, "alice", testRealm, tkt, key, tokenOptions{})
			w := get(t, protected(a), hdr)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d; log:\n%s", w.Code, tc.want, logs.String())
			}
			if tc.want == 401 && !strings.Contains(logs.String(), "which the keytab has no key for") {
				t.Errorf("log:\n%s", logs.String())
			}
		})
	}
}

// TestRepeatedAuthorization: a request with more than one
// Authorization header is 400 for Negotiate as it is for Basic and Digest,
// whichever header comes first (Header.Get used to read the first and
// ignore the others).
func TestRepeatedAuthorization(t *testing.T) {
	kt, ktData := testKeytab(t, "HTTP/localhost", testRealm)
	now := time.Now()
	tkt, key := forgeTicket(t, kt, ticketSpec{client: "alice", crealm: testRealm, service: "HTTP/localhost", realm: testRealm, start: now, end: now.Add(time.Hour)})
	good, _ := negotiateHeader(t, "alice", testRealm, tkt, key, tokenOptions{})
	a, err := New(Config{KeytabData: ktData, SPN: "HTTP/localhost", Logger: (&logBuffer{}).logger()})
	if err != nil {
		t.Fatal(err)
	}
	for _, hdrs := range [][]string{
		{good, basicHeader("bob", "x")},
		{basicHeader("bob", "x"), good},
		{good, good},
	} {
		r := httptest.NewRequest("GET", "http://localhost/wiki", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		r.Header["Authorization"] = hdrs
		w := httptest.NewRecorder()
		protected(a).ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%d Authorization headers, first %.20q: %d %q, want 400", len(hdrs), hdrs[0], w.Code, w.Body)
		}
	}
}
