package auth

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

func newDigestFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "htdigest")
	testenv.Htdigest(t, path, "trac", "alice", "pw")
	testenv.Htdigest(t, path, "trac", "bob", `p"w:x`)
	testenv.Htdigest(t, path, "other", "carol", "pw")
	return path
}

func TestDigestRealClients(t *testing.T) {
	d, err := NewDigest(DigestConfig{Realm: "trac", File: newDigestFile(t), Domain: []string{"/trac"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Wrap(MustRequire(ValidUser())(whoami)))
	defer srv.Close()
	url := srv.URL + "/trac/login?next=%2Fwiki&x=1"

	t.Run("curl", func(t *testing.T) {
		if got := curlDigest(t, url, "alice", "pw"); got != "200 alice Digest" {
			t.Errorf("curl good: %q", got)
		}
		if got := curlDigest(t, url, "alice", "nope"); got != "401 Unauthorized" {
			t.Errorf("curl bad: %q", got)
		}
		if got := curlDigest(t, url, "carol", "pw"); got != "401 Unauthorized" {
			t.Errorf("curl user of another realm: %q", got)
		}
	})
	t.Run("urllib", func(t *testing.T) {
		py := debianPython(t)
		if got := runPython(t, py, urllibScript, url, "digest", "bob", `p"w:x`); got != "200 bob Digest" {
			t.Errorf("urllib good: %q", got)
		}
		if got := runPython(t, py, urllibScript, url, "digest", "bob", "wrong"); !strings.HasPrefix(got, "401") {
			t.Errorf("urllib bad: %q", got)
		}
	})
	t.Run("requests", func(t *testing.T) {
		py := debianPython(t, "requests")
		got := runPython(t, py, requestsScript, "alice", "pw", url, srv.URL+"/trac/login", srv.URL+"/trac/other?q=%20")
		want := "200 alice Digest\n200 alice Digest\n200 alice Digest"
		if got != want {
			t.Errorf("requests (nc 1..3 on one nonce): %q, want %q", got, want)
		}
		if got := runPython(t, py, requestsScript, "ghost", "pw", url); got != "401 Unauthorized" {
			t.Errorf("requests unknown user: %q", got)
		}
	})
}

// digestClient computes Authorization headers by hand, for attacks.
type digestClient struct {
	user, realm, pw, nonce, opaque string
}

func (c digestClient) header(method, uri string, nc int, mutate func(p map[string]string)) string {
	ha1 := md5h(c.user + ":" + c.realm + ":" + c.pw)
	ha2 := md5h(method + ":" + uri)
	ncs := fmt.Sprintf("%08x", nc)
	p := map[string]string{
		"username": c.user, "realm": c.realm, "nonce": c.nonce, "uri": uri, "qop": "auth",
		"nc": ncs, "cnonce": "0a4f113b", "opaque": c.opaque, "algorithm": "MD5",
	}
	p["response"] = md5h(ha1 + ":" + c.nonce + ":" + ncs + ":0a4f113b:auth:" + ha2)
	if mutate != nil {
		mutate(p)
	}
	var parts []string
	for _, k := range []string{"username", "realm", "nonce", "uri", "qop", "nc", "cnonce", "opaque", "algorithm", "response"} {
		v, ok := p[k]
		if !ok {
			continue
		}
		if k == "qop" || k == "nc" || k == "algorithm" {
			parts = append(parts, k+"="+v)
		} else {
			parts = append(parts, k+"="+quoteString(v))
		}
	}
	return "Digest " + strings.Join(parts, ", ")
}

func md5h(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func challengeParams(t *testing.T, h http.Header) map[string]string {
	t.Helper()
	for _, v := range h.Values("WWW-Authenticate") {
		if rest, ok := strings.CutPrefix(v, "Digest "); ok {
			p, err := parseAuthParams(rest)
			if err != nil {
				t.Fatalf("our own challenge does not parse: %v", err)
			}
			return p
		}
	}
	t.Fatalf("no Digest challenge in %v", h)
	return nil
}

func TestDigestAttacks(t *testing.T) {
	file := newDigestFile(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	d, err := NewDigest(DigestConfig{Realm: "trac", File: file, Secret: secret, ReplayWindow: 4})
	if err != nil {
		t.Fatal(err)
	}
	h := d.Wrap(MustRequire(ValidUser())(whoami))
	do := func(t *testing.T, target, authz string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest("GET", target, nil)
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := do(t, "/login", "")
	if w.Code != 401 {
		t.Fatalf("anonymous: %d", w.Code)
	}
	ch := challengeParams(t, w.Header())
	if ch["qop"] != "auth" || ch["algorithm"] != "MD5" || ch["realm"] != "trac" || ch["stale"] != "" {
		t.Errorf("challenge %v", ch)
	}
	alice := digestClient{user: "alice", realm: "trac", pw: "pw", nonce: ch["nonce"], opaque: ch["opaque"]}

	tests := []struct {
		name   string
		target string
		authz  string
		status int
		stale  bool
	}{
		{"good-nc1", "/login", alice.header("GET", "/login", 1, nil), 200, false},
		{"replay-nc1", "/login", alice.header("GET", "/login", 1, nil), 401, true},
		{"out-of-order-nc3", "/login", alice.header("GET", "/login", 3, nil), 200, false},
		{"out-of-order-nc2", "/login", alice.header("GET", "/login", 2, nil), 200, false},
		{"replay-nc2", "/login", alice.header("GET", "/login", 2, nil), 401, true},
		{"jump-nc10", "/login", alice.header("GET", "/login", 10, nil), 200, false},
		{"beyond-window-nc5", "/login", alice.header("GET", "/login", 5, nil), 401, true},
		{"within-window-nc7", "/login", alice.header("GET", "/login", 7, nil), 200, false},
		{"uri-mismatch", "/login", alice.header("GET", "/elsewhere", 11, nil), 400, false},
		{"uri-without-query", "/login?a=1", alice.header("GET", "/login", 12, nil), 400, false},
		{"uri-with-query", "/login?a=1", alice.header("GET", "/login?a=1", 13, nil), 200, false},
		{"absolute-form-target", "http://example.com/login?b=2", alice.header("GET", "/login?b=2", 22, nil), 200, false},
		{"absolute-form-other-path", "http://example.com/login", alice.header("GET", "/other", 23, nil), 400, false},
		{"method-mismatch", "/login", alice.header("POST", "/login", 14, nil), 401, false},
		{"unknown-user", "/login", digestClient{"mallory", "trac", "pw", ch["nonce"], ch["opaque"]}.header("GET", "/login", 1, nil), 401, false},
		{"unknown-user-empty-ha1", "/login", alice.header("GET", "/login", 15, func(p map[string]string) {
			p["username"] = "mallory"
			p["response"] = md5h(":" + alice.nonce + ":0000000f:0a4f113b:auth:" + md5h("GET:/login"))
		}), 401, false},
		{"user-of-other-realm", "/login", digestClient{"carol", "other", "pw", ch["nonce"], ch["opaque"]}.header("GET", "/login", 1, nil), 401, false},
		{"wrong-password", "/login", digestClient{"alice", "trac", "nope", ch["nonce"], ch["opaque"]}.header("GET", "/login", 16, nil), 401, false},
		{"forged-nonce", "/login", digestClient{"alice", "trac", "pw", "A" + ch["nonce"][1:], ch["opaque"]}.header("GET", "/login", 1, nil), 401, false},
		{"stale-nonce", "/login", digestClient{"alice", "trac", "pw", d.newNonce(time.Now().Add(-time.Hour)), ch["opaque"]}.header("GET", "/login", 1, nil), 401, true},
		{"stale-nonce-wrong-password", "/login", digestClient{"alice", "trac", "x", d.newNonce(time.Now().Add(-time.Hour)), ch["opaque"]}.header("GET", "/login", 1, nil), 401, false},
		{"future-nonce", "/login", digestClient{"alice", "trac", "pw", d.newNonce(time.Now().Add(time.Hour)), ch["opaque"]}.header("GET", "/login", 1, nil), 401, true},
		{"wrong-opaque", "/login", alice.header("GET", "/login", 17, func(p map[string]string) { p["opaque"] = "x" }), 401, false},
		{"missing-nc", "/login", alice.header("GET", "/login", 18, func(p map[string]string) { delete(p, "nc") }), 400, false},
		{"no-qop-rfc2069", "/login", alice.header("GET", "/login", 19, func(p map[string]string) { delete(p, "qop") }), 400, false},
		{"sha256", "/login", alice.header("GET", "/login", 20, func(p map[string]string) { p["algorithm"] = "SHA-256" }), 400, false},
		{"auth-int", "/login", alice.header("GET", "/login", 21, func(p map[string]string) { p["qop"] = "auth-int" }), 400, false},
		{"garbage", "/login", "Digest username=", 400, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, tt.target, tt.authz)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if w.Code == 401 {
				if got := challengeParams(t, w.Header())["stale"] == "true"; got != tt.stale {
					t.Errorf("stale=%v, want %v", got, tt.stale)
				}
				if n := len(w.Header().Values("WWW-Authenticate")); n != 1 {
					t.Errorf("%d challenges, want 1", n)
				}
			}
		})
	}

	t.Run("replicas-share-nonces", func(t *testing.T) {
		d2, err := NewDigest(DigestConfig{Realm: "trac", File: file, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		if d2.opaque != d.opaque {
			t.Error("opaque differs between instances with one secret")
		}
		r := httptest.NewRequest("GET", "/login", nil)
		r.Header.Set("Authorization", alice.header("GET", "/login", 100, nil))
		if u, ok, err := d2.Authenticate(r); !ok || err != nil || u.Name != "alice" {
			t.Errorf("a replica refused the other's nonce: %v %v", ok, err)
		}
		d3, err := NewDigest(DigestConfig{Realm: "trac", File: file})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := d3.Authenticate(r); ok {
			t.Error("an instance with another secret accepted the nonce")
		}
	})
}

func TestNewDigestErrors(t *testing.T) {
	file := newDigestFile(t)
	tests := []struct {
		name string
		cfg  DigestConfig
	}{
		{"no-realm", DigestConfig{File: file}},
		{"no-file", DigestConfig{Realm: "trac"}},
		{"missing-file", DigestConfig{Realm: "trac", File: file + ".nope"}},
		{"short-secret", DigestConfig{Realm: "trac", File: file, Secret: []byte("short")}},
		{"colon-realm", DigestConfig{Realm: "a:b", File: file}},
		{"bad-domain", DigestConfig{Realm: "trac", File: file, Domain: []string{`/a"b`}}},
		{"malformed-file", DigestConfig{Realm: "trac", File: writeFile(t, "d", "alice:trac:nothex\n")}},
		// A realm that no line has made every login fail
		// behind a warning; now it is refused with the realms found.
		{"realm-matches-no-line", DigestConfig{Realm: "Trac", File: file}},
		{"empty-file", DigestConfig{Realm: "trac", File: writeFile(t, "e", "# nobody\n")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewDigest(tt.cfg); err == nil || !strings.HasPrefix(err.Error(), "auth: ") {
				t.Errorf("err = %v", err)
			}
		})
	}
}
