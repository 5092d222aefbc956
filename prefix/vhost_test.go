package prefix

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-VHost", name)
	})
}

func TestCanonicalHost(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"example.com", "example.com", true},
		{"Example.COM", "example.com", true},
		{"example.com:8080", "example.com", true},
		{"example.com.", "example.com", true},
		{"example.com.:80", "example.com", true},
		{"127.0.0.1:8000", "127.0.0.1", true},
		{"[::1]:8000", "::1", true},
		{"[::1]", "::1", true},
		{"[FE80::1]", "fe80::1", true},
		{"[::1]x", "", false},
		{"[nothost]", "", false},
		{"exa mple.com", "", false},
		{"example.com:http", "", false},
		{"a..b", "", false},
		{".a", "", false},
		{"a/b", "", false},
		{"a\x00b", "", false},
		{"user@example.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CanonicalHost(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("CanonicalHost(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestVHosts(t *testing.T) {
	mw, err := NewVHosts(VHostConfig{
		Hosts: []VHost{
			{Names: []string{"trac.example.com", "TRAC.example.org"}, Handler: named("trac")},
			{Names: []string{"*.example.com"}, Handler: named("wild")},
			{Names: []string{"*.dev.example.com"}, Handler: named("dev")},
			{Names: []string{"127.0.0.1", "[::1]"}, Handler: named("local")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(named("next"))
	defMW, err := NewVHosts(VHostConfig{Hosts: []VHost{{Names: []string{"a.test"}, Handler: named("a")}}, Default: named("default")})
	if err != nil {
		t.Fatal(err)
	}
	def := defMW(named("next"))
	// A host without a handler is served by the wrapped one; the same
	// middleware wraps any number of handlers.
	nextMW, err := NewVHosts(VHostConfig{Hosts: []VHost{{Names: []string{"a.test", "*.b.test"}}}})
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := nextMW(named("n1")), nextMW(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-VHost", "n2")
	}))
	tests := []struct {
		h     http.Handler
		host  string
		code  int
		vhost string
	}{
		{h, "trac.example.com", 200, "trac"},
		{h, "TRAC.Example.Com:8443", 200, "trac"},
		{h, "trac.example.com.", 200, "trac"},
		{h, "trac.example.org", 200, "trac"},
		{h, "x.example.com", 200, "wild"},
		{h, "a.b.example.com", 200, "wild"},
		{h, "x.dev.example.com", 200, "dev"},
		{h, "dev.example.com", 200, "wild"},
		{h, "example.com", 421, ""},
		{h, "badexample.com", 421, ""},
		{h, "127.0.0.1:8000", 200, "local"},
		{h, "[::1]:8000", 200, "local"},
		{h, "", 421, ""},
		{h, "bad host", 400, ""},
		{def, "a.test", 200, "a"},
		{def, "b.test", 200, "default"},
		{def, "", 200, "default"},
		{n1, "a.test", 200, "n1"},
		{n1, "x.b.test", 200, "n1"},
		{n1, "c.test", 421, ""},
		{n2, "A.TEST", 200, "n2"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Host = tt.host
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, req)
			if rec.Code != tt.code || rec.Header().Get("X-VHost") != tt.vhost {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Header().Get("X-VHost"), tt.code, tt.vhost)
			}
		})
	}
}

func TestVHostsConfigErrors(t *testing.T) {
	tests := map[string]VHostConfig{
		"no names":      {Hosts: []VHost{{Handler: named("a")}}},
		"bad name":      {Hosts: []VHost{{Names: []string{"a b"}, Handler: named("a")}}},
		"port in name":  {Hosts: []VHost{{Names: []string{"a:80"}, Handler: named("a")}}},
		"duplicate":     {Hosts: []VHost{{Names: []string{"a", "A."}, Handler: named("a")}}},
		"bare wildcard": {Hosts: []VHost{{Names: []string{"*"}, Handler: named("a")}}},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := NewVHosts(cfg); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
