package filewrap_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/filewrap"
)

func TestServeFileConditions(t *testing.T) {
	dir := t.TempDir()
	data := pattern(30000, 5)
	path := writeFile(t, dir, "page.html", data)
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 500_000_000, time.UTC)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	etag := filewrap.ETag(fi)
	lm := mtime.Format(http.TimeFormat)
	before := mtime.Add(-time.Hour).Format(http.TimeFormat)
	after := mtime.Add(time.Hour).Format(http.TimeFormat)

	tests := []struct {
		name       string
		method     string
		hdr        map[string]string
		wantStatus int
		wantBody   int
	}{
		{"plain", "GET", nil, 200, len(data)},
		{"head", "HEAD", nil, 200, 0},
		{"if-none-match-hit", "GET", map[string]string{"If-None-Match": etag}, 304, 0},
		{"if-none-match-weak-hit", "GET", map[string]string{"If-None-Match": `"x", W/` + etag}, 304, 0},
		{"if-none-match-star", "GET", map[string]string{"If-None-Match": "*"}, 304, 0},
		{"if-none-match-miss", "GET", map[string]string{"If-None-Match": `"other"`}, 200, len(data)},
		{"if-none-match-beats-ims", "GET", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": after}, 200, len(data)},
		{"ims-same-second", "GET", map[string]string{"If-Modified-Since": lm}, 304, 0},
		{"ims-later", "GET", map[string]string{"If-Modified-Since": after}, 304, 0},
		{"ims-earlier", "GET", map[string]string{"If-Modified-Since": before}, 200, len(data)},
		{"ims-garbage", "GET", map[string]string{"If-Modified-Since": "last tuesday"}, 200, len(data)},
		{"if-match-hit", "GET", map[string]string{"If-Match": etag}, 200, len(data)},
		{"if-match-miss", "GET", map[string]string{"If-Match": `"other"`}, 412, -1},
		{"if-match-weak-never", "GET", map[string]string{"If-Match": "W/" + etag}, 412, -1},
		{"ius-earlier", "GET", map[string]string{"If-Unmodified-Since": before}, 412, -1},
		{"ius-later", "GET", map[string]string{"If-Unmodified-Since": after}, 200, len(data)},
		{"range-with-if-range", "GET", map[string]string{"Range": "bytes=0-99", "If-Range": etag}, 206, 100},
		{"range-stale-if-range", "GET", map[string]string{"Range": "bytes=0-99", "If-Range": `"old"`}, 200, len(data)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r := httptest.NewRequest(tt.method, "/page.html", nil)
			for k, v := range tt.hdr {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			if err := filewrap.ServeFile(rec, r, f); err != nil {
				t.Fatal(err)
			}
			res := rec.Result()
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if tt.wantBody >= 0 && rec.Body.Len() != tt.wantBody {
				t.Errorf("body %d bytes, want %d", rec.Body.Len(), tt.wantBody)
			}
			if tt.wantStatus == 200 || tt.wantStatus == 304 {
				if g := res.Header.Get("Etag"); g != etag {
					t.Errorf("ETag %q, want %q", g, etag)
				}
				if g := res.Header.Get("Last-Modified"); g != lm {
					t.Errorf("Last-Modified %q, want %q", g, lm)
				}
			}
			if tt.wantStatus == 200 && tt.method == "GET" && rec.Body.String() != string(data) {
				t.Error("body differs from the file")
			}
			if tt.wantStatus == 200 && res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", res.Header.Get("Content-Type"))
			}
		})
	}
}

func TestServeFileKeepsCallerValidators(t *testing.T) {
	path := writeFile(t, t.TempDir(), "x.bin", pattern(100, 1))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := httptest.NewRequest("GET", "/x.bin", nil)
	r.Header.Set("If-None-Match", `"mine"`)
	rec := httptest.NewRecorder()
	rec.Header().Set("Etag", `"mine"`)
	if err := filewrap.ServeFile(rec, r, f); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 304 {
		t.Errorf("status %d, want 304 against the caller's ETag", rec.Code)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := filewrap.ServeFile(httptest.NewRecorder(), r, d); err == nil {
		t.Error("ServeFile of a directory succeeded")
	}
}
