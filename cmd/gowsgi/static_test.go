package main

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStaticLayer(t *testing.T) {
	base := t.TempDir()
	htdocs := filepath.Join(base, "htdocs")
	logos := filepath.Join(base, "logos")
	for _, d := range []string{htdocs, logos, htdocs + "/css"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, c := range map[string]string{
		htdocs + "/css/site.css": "h1{}\n",
		htdocs + "/.htaccess":    "deny\n",
		logos + "/logo.png":      "\x89PNG\r\n\x1a\nlogo",
		base + "/secret.txt":     "TOP-SECRET\n",
	} {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := chainFromArgs(t, environApp,
		"-static", "/trac/chrome/site="+htdocs,
		"-static", "/trac/chrome/site/logos/="+logos)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		wantStatus   int    // 0 means not checked
		wantBody     string // prefix of the body; "" means not checked
	}{
		{"GET", "/trac/chrome/site/css/site.css", 200, "h1{}\n"},
		{"HEAD", "/trac/chrome/site/css/site.css", 200, ""},
		{"GET", "/trac/chrome/site/logos/logo.png", 200, "\x89PNG"},
		{"GET", "/trac/chrome/site/.htaccess", 404, ""},
		{"GET", "/trac/chrome/site/missing.css", 404, ""},
		{"GET", "/trac/chrome/site/", 403, ""},
		// The canonical path may clean these paths before they get here (to
		// the app); either way DIR's parent is never served.
		{"GET", "/trac/chrome/site/../../secret.txt", 0, ""},
		{"GET", "/trac/chrome/site/%2e%2e/secret.txt", 0, ""},
		{"GET", "/trac/chrome/site/css/..%2f..%2f..%2fsecret.txt", 0, ""},
		// Everything else reaches the application.
		{"GET", "/trac/wiki/WikiStart", 200, "|/trac/wiki/WikiStart|"},
		{"GET", "/trac/chrome/sitex/a.css", 200, "|/trac/chrome/sitex/a.css|"},
		{"GET", "/trac/chrome/common/css/trac.css", 200, "|/trac/chrome/common/css/trac.css|"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, "/", nil)
			req.URL.Path, req.URL.RawPath = tt.path, ""
			if strings.Contains(tt.path, "%") {
				req = httptest.NewRequest(tt.method, tt.path, nil)
			}
			h.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Result().Body)
			if tt.wantStatus != 0 && rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (%q)", rec.Code, tt.wantStatus, body)
			}
			if !strings.HasPrefix(string(body), tt.wantBody) {
				t.Errorf("body %q, want it to start with %q", body, tt.wantBody)
			}
			if strings.Contains(string(body), "TOP-SECRET") {
				t.Errorf("leaked: %q", body)
			}
		})
	}
}

func TestStaticLayerErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
	}{
		{"no-equals", []string{"-static", "/x"}},
		{"relative-prefix", []string{"-static", "x=" + dir}},
		{"root-prefix", []string{"-static", "/=" + dir}},
		{"missing-dir", []string{"-static", "/x=" + dir + "/nope"}},
		{"duplicate", []string{"-static", "/x=" + dir, "-static", "/x/=" + dir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := chainFromArgs(t, environApp, tt.args...); err == nil || !strings.Contains(err.Error(), "-static") {
				t.Errorf("error %v, want one naming -static", err)
			}
		})
	}
}
