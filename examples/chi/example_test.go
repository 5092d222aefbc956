package chi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/reqinfo"
	"github.com/gowsgi/gowsgi/wsgi"
)

// python is Debian's interpreter, as the root examples use.
const python = "/usr/bin/python3"

// A chi router in front of Trac: Go routes of its own (/healthz), the
// Python application mounted at /trac, and Basic authentication on its login
// page only, with chi's With. prefix.Canonical runs first (chi's Use), so
// chi, the login rule and Trac all route on the same canonical path: the
// "//" and "%6C" spellings of the login page cannot slip past the With.
// Every response carries its request id.
func Example() {
	dir, err := os.MkdirTemp("", "gowsgi-chi")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	// alice with the password "secret", as "htpasswd -c trac.htpasswd alice" writes it.
	htpasswd := filepath.Join(dir, "trac.htpasswd")
	if err := os.WriteFile(htpasswd, []byte("alice:$apr1$7OV8znKn$8R64JDP69KIxHgzc905H80\n"), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	users, err := auth.HtpasswdFile(htpasswd)
	if err != nil {
		fmt.Println(err)
		return
	}
	tracLike, _ := filepath.Abs("../trac-like")
	app, err := wsgi.New(wsgi.Config{
		Script: filepath.Join(tracLike, "trac.wsgi"),
		Python: python,
		Env:    []string{"TRAC_ENV=" + filepath.Join(tracLike, "envs", "alpha")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	trac := prefix.MustMount("/trac")(app)

	r := chi.NewRouter()
	// reqinfo.RequestID rather than chi's middleware.RequestID: the id goes
	// into the request's record, where gowsgi's log lines (and an access
	// log wrapping the router) read it, and back in X-Request-ID.
	r.Use(reqinfo.RequestID, prefix.Canonical)
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	r.Route("/trac", func(r chi.Router) {
		r.With(auth.MustBasic(auth.BasicConfig{Realm: "Trac", Users: users}), auth.MustRequire(auth.ValidUser())).
			Handle("/login", trac)
		r.Handle("/*", trac)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	for _, c := range []struct{ target, user, password string }{
		{"/healthz", "", ""},
		{"/trac/wiki/WikiStart", "", ""},
		{"/trac/login", "", ""},
		{"/trac//login", "", ""},
		{"/trac/%6Cogin", "", ""},
		{"/trac/login", "alice", "secret"},
	} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.URL.Opaque = c.target // sent as written
		if c.user != "" {
			req.SetBasicAuth(c.user, c.password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("X-Request-ID") == "" {
			fmt.Println(c.target, "has no X-Request-ID")
		}
		fmt.Println(c.target, "->", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// /healthz -> 200 ok
	// /trac/wiki/WikiStart -> 200 Alpha: /trac/wiki/WikiStart user=-
	// /trac/login -> 401 Unauthorized
	// /trac//login -> 401 Unauthorized
	// /trac/%6Cogin -> 401 Unauthorized
	// /trac/login -> 200 Alpha: logged in as alice (Basic)
}
