package filewrap_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/gowsgi/gowsgi/filewrap"
)

// A handler sending a section of a file the way wsgi.file_wrapper does: the
// application's header fields stay, Content-Length is set, and a Range
// request gets 206. Fail turns an error into a 500 or an aborted connection.
func ExampleSend() {
	dir, _ := os.MkdirTemp("", "filewrap-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "attachment.txt")
	os.WriteFile(path, []byte("header line\nthe attachment itself\n"), 0o644)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Etag", `"v1"`)
		// The section after the first line: offset 12, to the end.
		filewrap.Fail(w, r, nil, filewrap.Send(w, r, http.StatusOK, f, 12, -1))
	}))
	defer srv.Close()

	for _, rng := range []string{"", "bytes=4-13"} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
			req.Header.Set("If-Range", `"v1"`)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %s %q [%s]\n", resp.StatusCode, resp.Header.Get("Content-Length"), body, resp.Header.Get("Content-Range"))
	}
	// Output:
	// 200 22 "the attachment itself\n" []
	// 206 10 "attachment" [bytes 4-13/22]
}

// Serving Trac's site htdocs at /trac/chrome/site, as Apache's
// "Alias /trac/chrome/site /srv/trac/htdocs" does.
func ExampleStatic() {
	dir, _ := os.MkdirTemp("", "filewrap-example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "site.css"), []byte("h1 { color: teal }\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".htpasswd"), []byte("admin:secret\n"), 0o600)

	static, err := filewrap.NewStatic(filewrap.StaticConfig{Root: dir, Prefix: "/trac/chrome/site"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer static.Close()
	for _, p := range []string{"/trac/chrome/site/site.css", "/trac/chrome/site/.htpasswd", "/trac/chrome/site/%2e%2e/etc/passwd", "/trac/chrome/site/"} {
		rec := httptest.NewRecorder()
		static.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		fmt.Println(rec.Code, p, rec.Header().Get("Content-Type"))
	}
	// Output:
	// 200 /trac/chrome/site/site.css text/css; charset=utf-8
	// 404 /trac/chrome/site/.htpasswd text/plain; charset=utf-8
	// 404 /trac/chrome/site/%2e%2e/etc/passwd text/plain; charset=utf-8
	// 403 /trac/chrome/site/ text/plain; charset=utf-8
}
