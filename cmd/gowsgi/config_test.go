package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// parseTestArgs reads args, flags without the script, as the command does.
func parseTestArgs(tb testing.TB, args ...string) config {
	tb.Helper()
	cfg, err := parseArgs(append(append([]string(nil), args...), "app.wsgi"), io.Discard)
	if err != nil {
		tb.Fatalf("flags %q: %v", args, err)
	}
	return cfg
}

// chainFromArgs reads args as the command does and builds the chain around
// app, standing for the worker pool.
func chainFromArgs(tb testing.TB, app http.Handler, args ...string) (http.Handler, error) {
	tb.Helper()
	h, closeChain, err := buildHandler(parseTestArgs(tb, args...), []http.Handler{app}, quiet)
	tb.Cleanup(closeChain)
	return h, err
}

// TestParseArgs checks what the flags make of the configuration: the
// defaults, one mount, and one location exactly when an authentication or
// authorization flag is given.
func TestParseArgs(t *testing.T) {
	def := parseTestArgs(t)
	if len(def.Mounts) != 1 || def.Mounts[0].Script != "app.wsgi" || def.Mounts[0].Path != "/" || len(def.Locations) != 0 {
		t.Fatalf("defaults: %+v", def)
	}
	want := defaultConfig()
	want.Mounts[0].Script = "app.wsgi"
	if !reflect.DeepEqual(def, want) {
		t.Errorf("no flags: %+v, want defaultConfig()'s %+v", def, want)
	}

	cfg := parseTestArgs(t, "-mount", "/trac", "-processes", "3", "-memory-limit", "1M", "-reload=false",
		"-htpasswd", "h", "-require", "user a", "-require", "group g", "-auth-location", "/login",
		"-static", "/s=/srv/static", "-vhost", "a.example", "-vhost", "b.example", "-limit-request-body", "0",
		"-ldap-timeout", "2s")
	m := cfg.Mounts[0]
	if m.Path != "/trac" || m.Workers.Processes != 3 || m.Workers.MemoryLimit != 1<<20 || m.Workers.Reload {
		t.Errorf("mount %+v", m)
	}
	if want := []locationConfig{{Match: "/login", Require: []string{"user a", "group g"}}}; !reflect.DeepEqual(cfg.Locations, want) {
		t.Errorf("locations %+v, want %+v", cfg.Locations, want)
	}
	if want := []staticConfig{{URLPrefix: "/s", Dir: "/srv/static", Flag: "/s=/srv/static"}}; !reflect.DeepEqual(cfg.Static, want) {
		t.Errorf("static %+v", cfg.Static)
	}
	if !reflect.DeepEqual(cfg.VHost.Names, []string{"a.example", "b.example"}) || cfg.Server.LimitRequestBody != 0 || cfg.Auth.LDAP.Timeout != 2*time.Second {
		t.Errorf("vhost %q, limit %d, ldap timeout %v", cfg.VHost.Names, cfg.Server.LimitRequestBody, cfg.Auth.LDAP.Timeout)
	}

	// Each of these alone makes one location over every path, so that
	// the chain refuses what would otherwise be ignored or fail open.
	for _, args := range [][]string{
		{"-htpasswd", "h"}, {"-htdigest", "h"}, {"-ldap-url", "ldap://x/"}, {"-keytab", "k"},
		{"-require", "valid-user"}, {"-auth-location", "x"}, {"-auth-prefix", "/x"},
		{"-auth-check-url", "/c"}, {"-group-file", "g"},
	} {
		if got := parseTestArgs(t, args...).Locations; len(got) != 1 {
			t.Errorf("%q: %d locations, want 1", args, len(got))
		}
	}
	if got := parseTestArgs(t, "-realm", "r", "-normalize-user", "lower").Locations; len(got) != 0 {
		t.Errorf("-realm and -normalize-user alone: %d locations, want none", len(got))
	}
}

// TestBuildHandlerStructure builds what the flags cannot express: several
// mounts, each with its own application, and several locations, each with
// its own rules; and refuses a scheme that no location uses.
func TestBuildHandlerStructure(t *testing.T) {
	files := writeAuthFiles(t)
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name+" ")
			environApp.ServeHTTP(w, r)
		})
	}
	cfg := defaultConfig()
	cfg.Mounts = []mountConfig{defaultMount(), defaultMount(), defaultMount()}
	cfg.Mounts[0].Path, cfg.Mounts[1].Path, cfg.Mounts[2].Path = "/", "/trac", "/trac/hg"
	cfg.Auth.Basic.Htpasswd = files.htpasswd
	cfg.Auth.GroupFile = files.groups
	cfg.Locations = []locationConfig{
		{Prefix: "/trac", Require: []string{"valid-user"}},
		{Match: "^/trac/admin", Require: []string{"group admins"}},
	}
	h, closeChain, err := buildHandler(cfg, []http.Handler{named("root"), named("trac"), named("hg")}, quiet)
	t.Cleanup(closeChain)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := basicAuth("alice", "pw"), basicAuth(`EXAMPLE\Bob`, "bobpw")
	for _, tt := range []struct {
		target, authz string
		code          int
		body          string
	}{
		{"/x", "", 200, "root |/x||"},
		{"/tracker", "", 200, "root |/tracker||"},
		{"/trac/wiki", "", 401, ""},
		{"/trac/wiki", bob, 200, `trac /trac|/wiki||EXAMPLE\Bob`},
		{"/trac/hg/repo", alice, 200, "hg /trac/hg|/repo||alice"},
		{"/trac/hgx", alice, 200, "trac /trac|/hgx||alice"},
		{"/trac/admin", bob, 403, ""},
		{"/trac/admin", alice, 200, "trac /trac|/admin||alice"},
	} {
		r := httptest.NewRequest("GET", tt.target, nil)
		if tt.authz != "" {
			r.Header.Set("Authorization", tt.authz)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.code || tt.code == 200 && w.Body.String() != tt.body {
			t.Errorf("%s: %d %q, want %d %q", tt.target, w.Code, w.Body, tt.code, tt.body)
		}
	}

	bad := []struct {
		name   string
		change func(*config)
		apps   int
		reason string
	}{
		{"scheme without location", func(c *config) { c.Locations = nil }, 3, "it would protect nothing"},
		{"mounted twice", func(c *config) { c.Mounts[2].Path = "/trac/" }, 3, "mounted twice"},
		{"fewer applications", func(*config) {}, 2, "want one each"},
		{"no mount", func(c *config) { c.Mounts = nil }, 0, "at least one"},
		{"match and prefix", func(c *config) { c.Locations[0].Match = "x" }, 3, "exclusive"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.Mounts = append([]mountConfig(nil), cfg.Mounts...)
			c.Locations = append([]locationConfig(nil), cfg.Locations...)
			tt.change(&c)
			_, closeChain, err := buildHandler(c, slices.Repeat([]http.Handler{environApp}, tt.apps), quiet)
			closeChain()
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %v, want one saying %q", err, tt.reason)
			}
		})
	}
}

// TestBuildHandlerCheckURLAlone: a configuration may use its schemes for
// the credential-check URL alone, leaving every other path open.
func TestBuildHandlerCheckURLAlone(t *testing.T) {
	files := writeAuthFiles(t)
	cfg := defaultConfig()
	cfg.Auth.Basic.Htpasswd = files.htpasswd
	cfg.Auth.CheckURL = "/authFile"
	h, closeChain, err := buildHandler(cfg, []http.Handler{whoamiApp}, quiet)
	t.Cleanup(closeChain)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		target, authz string
		code          int
	}{
		{"/authFile", "", 401},
		{"/authFile", basicAuth("alice", "pw"), 200},
		{"/authFile", basicAuth("alice", "no"), 401},
		{"/wiki", "", 200},
	} {
		r := httptest.NewRequest("GET", tt.target, nil)
		if tt.authz != "" {
			r.Header.Set("Authorization", tt.authz)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.code {
			t.Errorf("%s %q: %d, want %d", tt.target, tt.authz, w.Code, tt.code)
		}
	}
}
