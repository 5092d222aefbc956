package gowsgi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/wsgi"
)

// The very basic script of Trac's mod_wsgi guide: one Trac environment, named by TRAC_ENV in
// the worker's os.environ, mounted at /trac.
//
//	WSGIScriptAlias /trac /srv/trac/trac.wsgi   (trac.wsgi sets os.environ['TRAC_ENV'])
//
// examples/trac-like/trac.wsgi stands in for Trac. The command line:
//
//	gowsgi -mount /trac -env TRAC_ENV=$PWD/examples/trac-like/envs/alpha examples/trac-like/trac.wsgi
func Example_basicScript() {
	app, err := wsgi.New(wsgi.Config{
		Script: tracLike("trac.wsgi"),
		Python: python,
		Env:    []string{"TRAC_ENV=" + tracLike("envs/alpha"), "PYTHON_EGG_CACHE=" + os.TempDir()},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	srv := httptest.NewServer(prefix.Canonical(prefix.MustMount("/trac")(app)))
	defer srv.Close()

	show(srv.URL, request{target: "/trac/wiki/WikiStart"})
	show(srv.URL, request{target: "/trac/about"})
	show(srv.URL, request{target: "/tracker"})
	// Output:
	// /trac/wiki/WikiStart -> 200 Alpha: /trac/wiki/WikiStart user=-
	// /trac/about -> 200 Alpha: trac.env_path=- TRAC_ENV=alpha
	// /tracker -> 404 404 page not found
}

// The more elaborate script of Trac's mod_wsgi guide: several .wsgi scripts, one environment
// each, every script setting environ['trac.env_path'] (and, against the
// guide's advice, os.environ['TRAC_ENV'] too). Each wsgi.Handler has its own
// worker processes, so neither value can leak from one mount to the other,
// whatever order the requests come in.
//
//	WSGIScriptAlias /alpha /srv/alpha.wsgi
//	WSGIScriptAlias /beta  /srv/beta.wsgi
//
// cmd/gowsgi serves one script per process; run one per mount behind a
// reverse proxy, or compose them in Go as here.
func Example_severalScripts() {
	mux := http.NewServeMux()
	for _, name := range []string{"alpha", "beta"} {
		app, err := wsgi.New(wsgi.Config{Script: tracLike(name + ".wsgi"), Python: python, Processes: 2})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer app.Close()
		mux.Handle("/"+name+"/", prefix.MustMount("/"+name)(app))
	}
	srv := httptest.NewServer(prefix.Canonical(mux))
	defer srv.Close()

	for range 2 {
		show(srv.URL, request{target: "/alpha/about"})
		show(srv.URL, request{target: "/beta/about"})
	}
	show(srv.URL, request{target: "/beta/wiki"})
	// Output:
	// /alpha/about -> 200 Alpha: trac.env_path=alpha TRAC_ENV=alpha
	// /beta/about -> 200 Beta: trac.env_path=beta TRAC_ENV=beta
	// /alpha/about -> 200 Alpha: trac.env_path=alpha TRAC_ENV=alpha
	// /beta/about -> 200 Beta: trac.env_path=beta TRAC_ENV=beta
	// /beta/wiki -> 200 Beta: /beta/wiki user=-
}

// WSGIScriptAlias /trac with a parent directory of environments
// (TRAC_ENV_PARENT_DIR), and every project's login page guarded by Basic
// authentication from an htpasswd file:
//
//	<LocationMatch "/trac/[^/]+/login">
//	  AuthType Basic
//	  AuthName "Trac"
//	  AuthUserFile /somewhere/trac.htpasswd
//	  Require valid-user
//	</LocationMatch>
//
// The path is canonicalized once, at the edge, so "//", "/./" and "%6C"
// spellings of the login page are guarded too. The command line:
//
//	gowsgi -mount /trac -env-parent-dir examples/trac-like/envs \
//	  -htpasswd trac.htpasswd -realm Trac -auth-location '/trac/[^/]+/login' \
//	  examples/trac-like/trac.wsgi
func Example_loginLocationMatch() {
	dir, err := os.MkdirTemp("", "gowsgi-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	htpasswd, err := writeFile(dir, "trac.htpasswd", aliceLine) // htpasswd -c trac.htpasswd alice
	if err != nil {
		fmt.Println(err)
		return
	}
	users, err := auth.HtpasswdFile(htpasswd)
	if err != nil {
		fmt.Println(err)
		return
	}
	envs, err := prefix.NewEnvironments(prefix.EnvConfig{Mount: "/trac", ParentDir: tracLike("envs")})
	if err != nil {
		fmt.Println(err)
		return
	}
	app, err := wsgi.New(wsgi.Config{Script: tracLike("trac.wsgi"), Python: python})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	login := func(next http.Handler) http.Handler {
		return auth.MustBasic(auth.BasicConfig{Realm: "Trac", Users: users})(auth.MustRequire(auth.ValidUser())(next))
	}
	h := prefix.Canonical(
		prefix.MustLocationMatch(regexp.MustCompile(`/trac/[^/]+/login`), login)(
			envs(app)))
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, req := range []request{
		{target: "/trac/alpha/wiki"},
		{target: "/trac/beta/wiki"},
		{target: "/trac/alpha/login"},
		{target: "/trac/alpha//./login"},
		{target: "/trac/beta/%6Cogin"},
		{target: "/trac/alpha/login", user: "alice", password: "wrong"},
		{target: "/trac/alpha/login", user: "alice", password: "secret"},
		{target: "/trac/beta/login", user: "alice", password: "secret"},
		{target: "/trac/gamma/wiki"},
	} {
		show(srv.URL, req)
	}
	// Output:
	// /trac/alpha/wiki -> 200 Alpha: /trac/alpha/wiki user=-
	// /trac/beta/wiki -> 200 Beta: /trac/beta/wiki user=-
	// /trac/alpha/login -> 401 Unauthorized
	// /trac/alpha//./login -> 401 Unauthorized
	// /trac/beta/%6Cogin -> 401 Unauthorized
	// /trac/alpha/login as alice:wrong -> 401 Unauthorized
	// /trac/alpha/login as alice:secret -> 200 Alpha: logged in as alice (Basic)
	// /trac/beta/login as alice:secret -> 200 Beta: logged in as alice (Basic)
	// /trac/gamma/wiki -> 404 404 page not found
}

// Digest authentication on the login page, with AuthDigestDomain telling the
// browser that the whole of /trac is the protection space:
//
//	<Location "/trac/login">
//	  AuthType Digest
//	  AuthName "trac"
//	  AuthDigestDomain /trac
//	  AuthUserFile /somewhere/trac.htdigest
//	  Require valid-user
//	</Location>
//
// The command line:
//
//	gowsgi -mount /trac -env TRAC_ENV=$PWD/examples/trac-like/envs/alpha \
//	  -htdigest trac.htdigest -realm trac -digest-domain /trac -auth-location '^/trac/login$' \
//	  examples/trac-like/trac.wsgi
func Example_digest() {
	dir, err := os.MkdirTemp("", "gowsgi-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	// What "htdigest -c trac.htdigest trac admin" writes.
	htdigest, err := writeFile(dir, "trac.htdigest", htdigestLine("admin", "trac", "secret"))
	if err != nil {
		fmt.Println(err)
		return
	}
	app, err := wsgi.New(wsgi.Config{
		Script: tracLike("trac.wsgi"),
		Python: python,
		Env:    []string{"TRAC_ENV=" + tracLike("envs/alpha")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	login := func(next http.Handler) http.Handler {
		digest := auth.MustDigest(auth.DigestConfig{Realm: "trac", File: htdigest, Domain: []string{"/trac"}})
		return digest(auth.MustRequire(auth.ValidUser())(next))
	}
	h := prefix.Canonical(prefix.MustLocation("/trac/login", login)(prefix.MustMount("/trac")(app)))
	srv := httptest.NewServer(h)
	defer srv.Close()

	show(srv.URL, request{target: "/trac/wiki"})
	resp, err := http.Get(srv.URL + "/trac/login")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	challenge := challengeParams(resp.Header, "Digest")
	fmt.Printf("/trac/login -> %d, Digest realm=%q domain=%q qop=%q\n",
		resp.StatusCode, challenge["realm"], challenge["domain"], challenge["qop"])

	for _, password := range []string{"wrong", "secret"} {
		show(srv.URL, request{target: "/trac/login", header: http.Header{
			"Authorization": {digestAuthorization(challenge, "admin", password, "/trac/login")},
		}})
	}
	// Output:
	// /trac/wiki -> 200 Alpha: /trac/wiki user=-
	// /trac/login -> 401, Digest realm="trac" domain="/trac" qop="auth"
	// /trac/login -> 401 Unauthorized
	// /trac/login -> 200 Alpha: logged in as admin (Digest)
}

// Trac AccountManager's HttpAuthStore: Trac shows its own login form and
// checks each password by fetching a URL the web server protects
// (authentication_url = /authFile). auth.CheckHandler is that URL: 200 for
// good credentials, 401 with a challenge otherwise. The Python worker
// (examples/trac-like/httpauthstore.wsgi) fetches it with urllib, as
// AccountManager does.
//
//	<Location /authFile>
//	  AuthType Basic
//	  AuthUserFile /somewhere/trac.htpasswd
//	  Require valid-user
//	</Location>
//
// The command line:
//
//	gowsgi -htpasswd trac.htpasswd -realm Trac -auth-check-url /authFile -auth-location '^/authFile$' \
//	  -env AUTHENTICATION_URL=/authFile examples/trac-like/httpauthstore.wsgi
func Example_httpAuthStore() {
	dir, err := os.MkdirTemp("", "gowsgi-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	htpasswd, err := writeFile(dir, "trac.htpasswd", aliceLine)
	if err != nil {
		fmt.Println(err)
		return
	}
	users, err := auth.HtpasswdFile(htpasswd)
	if err != nil {
		fmt.Println(err)
		return
	}
	app, err := wsgi.New(wsgi.Config{
		Script: tracLike("httpauthstore.wsgi"),
		Python: python,
		Env:    []string{"AUTHENTICATION_URL=/authFile"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	mux := http.NewServeMux()
	mux.Handle("/authFile", auth.MustBasic(auth.BasicConfig{Realm: "Trac", Users: users})(auth.CheckHandler()))
	mux.Handle("/", app)
	srv := httptest.NewServer(prefix.Canonical(mux))
	defer srv.Close()

	show(srv.URL, request{target: "/authFile"})
	show(srv.URL, request{target: "/authFile", user: "alice", password: "secret"})
	for _, password := range []string{"wrong", "secret"} {
		show(srv.URL, request{method: "POST", target: "/login",
			form: url.Values{"user": {"alice"}, "password": {password}}})
	}
	// Output:
	// /authFile -> 401 Unauthorized
	// /authFile as alice:secret -> 200 OK
	// /login -> 403 invalid user name or password
	// /login -> 200 welcome alice
}

// Trac at the root of a virtual host, with Basic authentication on every
// path:
//
//	<VirtualHost *:80>
//	  ServerName trac.example.com
//	  WSGIScriptAlias / /home/trac-for-my-proj/the-deploy/cgi-bin/trac.wsgi
//	  <Location '/'>
//	    AuthType Basic
//	    AuthName "Trac"
//	    AuthUserFile /home/trac-for-my-proj/the-env/htpasswd
//	    Require valid-user
//	  </Location>
//	</VirtualHost>
//
// Other host names get 421 Misdirected Request. The command line:
//
//	gowsgi -vhost trac.example.com -htpasswd htpasswd -realm Trac \
//	  -env TRAC_ENV=$PWD/examples/trac-like/envs/alpha examples/trac-like/trac.wsgi
func Example_virtualHostRoot() {
	dir, err := os.MkdirTemp("", "gowsgi-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	htpasswd, err := writeFile(dir, "htpasswd", firstuserLine) // htpasswd -c htpasswd firstuser
	if err != nil {
		fmt.Println(err)
		return
	}
	users, err := auth.HtpasswdFile(htpasswd)
	if err != nil {
		fmt.Println(err)
		return
	}
	app, err := wsgi.New(wsgi.Config{
		Script: tracLike("trac.wsgi"),
		Python: python,
		Env:    []string{"TRAC_ENV=" + tracLike("envs/alpha")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	site := auth.MustBasic(auth.BasicConfig{Realm: "Trac", Users: users})(auth.MustRequire(auth.ValidUser())(app))
	vhosts, err := prefix.NewVHosts(prefix.VHostConfig{
		Hosts: []prefix.VHost{{Names: []string{"trac.example.com"}}}, // served by site
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(prefix.Canonical(vhosts(site)))
	defer srv.Close()

	for _, req := range []request{
		{target: "/", host: "trac.example.com"},
		{target: "/wiki/WikiStart", host: "trac.example.com"},
		{target: "/", host: "trac.example.com", user: "firstuser", password: "first"},
		{target: "/timeline", host: "TRAC.example.com:80", user: "firstuser", password: "first"},
		{target: "/", host: "other.example.com", user: "firstuser", password: "first"},
	} {
		show(srv.URL, req)
	}
	// Output:
	// / (Host trac.example.com) -> 401 Unauthorized
	// /wiki/WikiStart (Host trac.example.com) -> 401 Unauthorized
	// / (Host trac.example.com) as firstuser:first -> 200 Alpha: / user=firstuser
	// /timeline (Host TRAC.example.com:80) as firstuser:first -> 200 Alpha: /timeline user=firstuser
	// / (Host other.example.com) as firstuser:first -> 421 Misdirected Request
}
