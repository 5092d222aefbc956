package main

import (
	"net/http/httptest"
	"testing"
)

// TestAuthPrefix checks -auth-prefix, Apache's <Location PATH>: whole
// segments under PATH need credentials, on the canonical path; other
// paths pass anonymously; a bad PATH or one given with -auth-location is
// refused at startup.
func TestAuthPrefix(t *testing.T) {
	files := writeAuthFiles(t)
	args := []string{"-htpasswd", files.htpasswd, "-auth-prefix", "/trac/login"}
	for _, tt := range []struct {
		path, authz string
		status      int
	}{
		{"/trac/login", "", 401},
		{"/trac/login/x", "", 401},
		{"/trac//login", "", 401},
		{"/trac/%6Cogin", "", 401},
		{"/trac/./login", "", 401},
		{"/trac/login", basicAuth("alice", "pw"), 200},
		{"/trac/loginx", "", 200},
		{"/trac/wiki", "", 200},
	} {
		mw, err := buildAuthLayer(t, nil, args...)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "http://example.com"+tt.path, nil)
		if tt.authz != "" {
			r.Header.Set("Authorization", tt.authz)
		}
		w := httptest.NewRecorder()
		mw(whoamiApp).ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("%s: %d %q, want %d", tt.path, w.Code, w.Body, tt.status)
		}
	}
	for name, bad := range map[string][]string{
		"relative":      {"-htpasswd", files.htpasswd, "-auth-prefix", "trac"},
		"dot segment":   {"-htpasswd", files.htpasswd, "-auth-prefix", "/trac/../x"},
		"with location": {"-htpasswd", files.htpasswd, "-auth-prefix", "/trac", "-auth-location", "/login"},
		"no scheme":     {"-auth-prefix", "/trac"},
	} {
		if mw, err := buildAuthLayer(t, nil, bad...); err == nil {
			t.Errorf("%s: built (%v), want an error", name, mw != nil)
		}
	}
}
