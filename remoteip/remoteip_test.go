package remoteip

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/reqinfo"
)

func mustNew(t testing.TB, cfg Config) *RemoteIP {
	t.Helper()
	if cfg.TrustedProxies == nil {
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	}
	ri, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ri
}

// seen is what the next handler saw.
type seen struct {
	remoteAddr, host, scheme, peer string
}

func serve(ri *RemoteIP, r *http.Request) seen {
	var s seen
	ri.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s = seen{r.RemoteAddr, r.Host, Scheme(r), Peer(r)}
	})).ServeHTTP(httptest.NewRecorder(), r)
	return s
}

func TestWrap(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		peer    string
		headers [][2]string
		want    seen
	}{
		{
			name:    "untrusted peer: every header ignored",
			peer:    "192.0.2.9:4000",
			headers: [][2]string{{"X-Forwarded-For", "127.0.0.1"}, {"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "evil.example"}},
			want:    seen{"192.0.2.9:4000", "example.com", "http", "192.0.2.9:4000"},
		},
		{
			name:    "untrusted peer, Forwarded ignored",
			cfg:     Config{Header: "Forwarded"},
			peer:    "192.0.2.9:4000",
			headers: [][2]string{{"Forwarded", "for=127.0.0.1;proto=https;host=evil.example"}},
			want:    seen{"192.0.2.9:4000", "example.com", "http", "192.0.2.9:4000"},
		},
		{
			name:    "trusted peer, one hop",
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"X-Forwarded-For", "203.0.113.7"}, {"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "www.example.org"}},
			want:    seen{"203.0.113.7:0", "www.example.org", "https", "10.0.0.1:4000"},
		},
		{
			name: "spoofed left-most address skipped: right-most untrusted wins",
			peer: "10.0.0.1:4000",
			headers: [][2]string{{"X-Forwarded-For", "127.0.0.1, 198.51.100.1, 203.0.113.7, 10.2.2.2"},
				{"X-Forwarded-Proto", "http, https"}},
			want: seen{"203.0.113.7:0", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name:    "several header lines make one list",
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"X-Forwarded-For", "198.51.100.1"}, {"X-Forwarded-For", "203.0.113.7 ,10.3.3.3"}},
			want:    seen{"203.0.113.7:0", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name:    "all trusted: the left-most",
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"X-Forwarded-For", "10.9.9.9, 10.8.8.8"}},
			want:    seen{"10.9.9.9:0", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name: "proto aligned with the chosen hop",
			peer: "10.0.0.1:4000",
			// client -> LB (10.8.8.8, TLS) -> nginx (10.0.0.1): each appends.
			headers: [][2]string{{"X-Forwarded-For", "1.1.1.1, 203.0.113.7, 10.8.8.8"},
				{"X-Forwarded-Proto", "http, https, http"}, {"X-Forwarded-Host", "evil.example, www.example.org, internal"}},
			want: seen{"203.0.113.7:0", "www.example.org", "https", "10.0.0.1:4000"},
		},
		{
			name:    "proto replaced by the nearest proxy: its left-most value",
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"X-Forwarded-For", "203.0.113.7, 10.8.8.8"}, {"X-Forwarded-Proto", "https"}},
			want:    seen{"203.0.113.7:0", "example.com", "https", "10.0.0.1:4000"},
		},
		{
			name:    "trusted peer without X-Forwarded-For: its own client, proto believed",
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"X-Forwarded-Proto", "HTTPS"}},
			want:    seen{"10.0.0.1:4000", "example.com", "https", "10.0.0.1:4000"},
		},
		{
			name:    "trusted peer, no header at all: unchanged",
			peer:    "10.0.0.1:4000",
			headers: nil,
			want:    seen{"10.0.0.1:4000", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name:    "X-Forwarded-For with port and IPv6",
			peer:    "[2001:db8:ffff::1]:4000",
			headers: [][2]string{{"X-Forwarded-For", "2001:db8::7, [2001:db8:ffff::2]:99"}},
			want:    seen{"[2001:db8::7]:0", "example.com", "http", "[2001:db8:ffff::1]:4000"},
		},
		{
			name:    "IPv4 with port; IPv4-mapped peer",
			peer:    "[::ffff:10.0.0.1]:4000",
			headers: [][2]string{{"X-Forwarded-For", "203.0.113.7:5555"}},
			want:    seen{"203.0.113.7:5555", "example.com", "http", "[::ffff:10.0.0.1]:4000"},
		},
		{
			name:    "garbage as the client: unknown, never the proxy",
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"X-Forwarded-For", "not-an-ip"}},
			want:    seen{"unknown:0", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name:    "zone refused",
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"X-Forwarded-For", "fe80::1%eth0"}},
			want:    seen{"unknown:0", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name:    "Forwarded ignored in X-Forwarded-For mode",
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"Forwarded", "for=127.0.0.1;proto=https"}, {"X-Forwarded-For", "203.0.113.7"}},
			want:    seen{"203.0.113.7:0", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name:    "X-Forwarded-For ignored in Forwarded mode",
			cfg:     Config{Header: "forwarded"},
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"X-Forwarded-For", "127.0.0.1"}, {"X-Forwarded-Proto", "https"}, {"Forwarded", "for=203.0.113.7"}},
			want:    seen{"203.0.113.7:0", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name:    "Forwarded: IPv6 quoted with port, proto and host of the chosen element",
			cfg:     Config{Header: "Forwarded"},
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"Forwarded", `for=127.0.0.1;proto=http;host=evil.example, for="[2001:db8:cafe::17]:4711";proto=https;host="www.example.org:8443", for=10.5.5.5;proto=http;host=internal`}},
			want:    seen{"[2001:db8:cafe::17]:4711", "www.example.org:8443", "https", "10.0.0.1:4000"},
		},
		{
			name:    "Forwarded: quoted value with separators inside, escapes",
			cfg:     Config{Header: "Forwarded"},
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"Forwarded", `for="198.51.100.1";ext="a,b;c=\"d\"", For="203.0.113.7";PROTO=HTTPS`}},
			want:    seen{"203.0.113.7:0", "example.com", "https", "10.0.0.1:4000"},
		},
		{
			name:    "Forwarded: obfuscated client",
			cfg:     Config{Header: "Forwarded"},
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"Forwarded", `for=_hidden;proto=https, for="_x:_port"`}},
			want:    seen{"_x:0", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name:    "Forwarded: unknown",
			cfg:     Config{Header: "Forwarded"},
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"Forwarded", `for=unknown;proto=https`}},
			want:    seen{"unknown:0", "example.com", "https", "10.0.0.1:4000"},
		},
		{
			name:    "Forwarded: a client's open quote cannot swallow the proxy's line",
			cfg:     Config{Header: "Forwarded"},
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"Forwarded", `for="127.0.0.1`}, {"Forwarded", `for=203.0.113.7;proto=https`}},
			want:    seen{"203.0.113.7:0", "example.com", "https", "10.0.0.1:4000"},
		},
		{
			name:    "Forwarded: on one line, a malformed header names nobody",
			cfg:     Config{Header: "Forwarded"},
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"Forwarded", `for="127.0.0.1, for=203.0.113.7;proto=https`}},
			want:    seen{"unknown:0", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name:    "Forwarded: a parameter twice in one element",
			cfg:     Config{Header: "Forwarded"},
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"Forwarded", `for=203.0.113.7;for=10.0.0.2`}},
			want:    seen{"unknown:0", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name:    "Forwarded: unquoted IPv6 is malformed",
			cfg:     Config{Header: "Forwarded"},
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"Forwarded", `for=[2001:db8::1]`}},
			want:    seen{"unknown:0", "example.com", "http", "10.0.0.1:4000"},
		},
		{
			name:    "bad proto and host ignored",
			peer:    "10.0.0.1:4000",
			headers: [][2]string{{"X-Forwarded-For", "203.0.113.7"}, {"X-Forwarded-Proto", "javascript"}, {"X-Forwarded-Host", "a b\r\n"}},
			want:    seen{"203.0.113.7:0", "example.com", "http", "10.0.0.1:4000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ri := mustNew(t, tt.cfg)
			r := httptest.NewRequest("GET", "http://example.com/", nil)
			r.RemoteAddr = tt.peer
			for _, h := range tt.headers {
				r.Header.Add(h[0], h[1])
			}
			before := r.Header.Clone()
			got := serve(ri, r)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if r.RemoteAddr != tt.peer || r.Host != "example.com" {
				t.Errorf("the incoming request was modified: %q %q", r.RemoteAddr, r.Host)
			}
			for k, v := range before {
				if got := r.Header[k]; len(got) != len(v) {
					t.Errorf("header %s changed: %q, was %q", k, got, v)
				}
			}
		})
	}
}

func TestTooManyHops(t *testing.T) {
	ri := mustNew(t, Config{})
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	r.RemoteAddr = "10.0.0.1:1"
	list := "203.0.113.7"
	for range maxHops + 5 {
		list += ", 10.1.1.1"
	}
	r.Header.Set("X-Forwarded-For", list)
	if got := serve(ri, r).remoteAddr; got != "unknown:0" {
		t.Errorf("RemoteAddr = %q, want unknown:0", got)
	}
}

// TestRequireIP checks that auth's Require ip sees what Wrap decided: a
// client cannot pass it with a header, a trusted proxy can name the client.
func TestRequireIP(t *testing.T) {
	ri := mustNew(t, Config{})
	rule := auth.MustIP("127.0.0.1", "192.0.2.0/24")
	h := ri.Wrap(auth.MustRequire(rule)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(204)
	})))
	tests := []struct {
		peer, xff string
		want      int
	}{
		{"198.51.100.1:1", "127.0.0.1", 403},           // spoofed by an untrusted client
		{"10.0.0.1:1", "127.0.0.1, 198.51.100.1", 403}, // spoofed behind a proxy
		{"10.0.0.1:1", "192.0.2.5", 204},               // named by a trusted proxy
		{"10.0.0.1:1", "garbage", 403},                 // not the proxy's address either
		{"192.0.2.9:1", "198.51.100.1", 204},           // untrusted peer: its own address
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		r.Header.Set("X-Forwarded-For", tt.xff)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %d, want %d", tt.peer, tt.xff, w.Code, tt.want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	p := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, cfg := range []Config{
		{},
		{TrustedProxies: []netip.Prefix{{}}},
		{TrustedProxies: p, Header: "X-Real-IP"},
		{TrustedProxies: p, ProxyProtocol: 7},
		{TrustedProxies: p, ProxyHeaderTimeout: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestRecord checks that Wrap tells the request's record what the proxy
// said, so that a layer outside it (an access log around the chain) sees
// the client, and that it makes the record when no outer layer did.
func TestRecord(t *testing.T) {
	ri := mustNew(t, Config{})
	var inner reqinfo.Info
	h := ri.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = reqinfo.FromContext(r.Context()).Info()
	}))
	newReq := func() *http.Request {
		r := httptest.NewRequest("GET", "http://example.com/", nil)
		r.RemoteAddr = "10.0.0.1:4000"
		r.Header.Set("X-Forwarded-For", "203.0.113.7")
		r.Header.Set("X-Forwarded-Proto", "https")
		return r
	}
	// A record made outside, as reqinfo.RequestID or an access log does.
	r, rec := reqinfo.Ensure(newReq())
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got := rec.Info(); got.Client != "203.0.113.7:0" || got.Peer != "10.0.0.1:4000" || got.URLScheme != "https" {
		t.Errorf("outer record: %+v", got)
	}
	// No record outside: Wrap makes one for the layers inside.
	inner = reqinfo.Info{}
	h.ServeHTTP(httptest.NewRecorder(), newReq())
	if inner.Client != "203.0.113.7:0" || inner.Peer != "10.0.0.1:4000" || inner.URLScheme != "https" {
		t.Errorf("inner record: %+v", inner)
	}
	// An untrusted peer records nothing.
	r, rec = reqinfo.Ensure(newReq())
	r.RemoteAddr = "192.0.2.1:1"
	rec.SetClient(r.RemoteAddr)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got := rec.Info(); got.Client != "192.0.2.1:1" || got.Peer != "" || got.URLScheme != "" {
		t.Errorf("untrusted: %+v", got)
	}
}
