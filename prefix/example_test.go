package prefix_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"

	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/reqinfo"
)

func ExampleCanonicalize() {
	for _, p := range []string{"/trac/a//x/../%6Cogin", "/trac/a%2Flogin", "/../etc"} {
		c, err := prefix.Canonicalize(p)
		fmt.Printf("%q %q %v\n", p, c, err)
	}
	// Output:
	// "/trac/a//x/../%6Cogin" "/trac/a/login" <nil>
	// "/trac/a%2Flogin" "" prefix: encoded slash or backslash in path: at byte 7
	// "/../etc" "" prefix: path escapes the root
}

func ExampleNewMount() {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := reqinfo.FromContext(r.Context()).Mount()
		fmt.Printf("SCRIPT_NAME=%q PATH_INFO=%q\n", m.ScriptName, m.PathInfo)
	})
	h := prefix.Canonical(prefix.MustMount("/trac")(app))
	for _, target := range []string{"/trac", "/trac//wiki/./Start", "/tracker"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != 200 {
			fmt.Println(target, rec.Code)
		}
	}
	// Output:
	// SCRIPT_NAME="/trac" PATH_INFO=""
	// SCRIPT_NAME="/trac" PATH_INFO="/wiki/Start"
	// /tracker 404
}

// The multi-project deployment of Trac's mod_wsgi guide: TRAC_ENV_PARENT_DIR under /trac,
// each project's login guarded by <LocationMatch "/trac/[^/]+/login">.
func ExampleNewEnvironments() {
	parent, _ := os.MkdirTemp("", "projects")
	defer os.RemoveAll(parent)
	_ = os.Mkdir(filepath.Join(parent, "alpha"), 0o755)

	envs, err := prefix.NewEnvironments(prefix.EnvConfig{Mount: "/trac", ParentDir: parent})
	if err != nil {
		fmt.Println(err)
		return
	}
	requireLogin := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "login required", http.StatusUnauthorized)
		})
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := reqinfo.FromContext(r.Context())
		m, _ := rec.Mount()
		env, _ := rec.LookupEnviron("trac.env_path")
		fmt.Printf("app: SCRIPT_NAME=%s PATH_INFO=%s env=%s\n", m.ScriptName, m.PathInfo, filepath.Base(env))
	})
	h := prefix.Canonical(prefix.MustLocationMatch(regexp.MustCompile(`/trac/[^/]+/login`), requireLogin)(envs(app)))
	for _, target := range []string{"/trac/alpha/wiki", "/trac/alpha//./login", "/trac/alpha/%6Cogin", "/trac/beta/wiki"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != 200 {
			fmt.Println(target, rec.Code)
		}
	}
	// Output:
	// app: SCRIPT_NAME=/trac/alpha PATH_INFO=/wiki env=alpha
	// /trac/alpha//./login 401
	// /trac/alpha/%6Cogin 401
	// /trac/beta/wiki 404
}

func ExampleNewVHosts() {
	site := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Println(name, "for", r.Host) })
	}
	vhosts, err := prefix.NewVHosts(prefix.VHostConfig{
		Hosts: []prefix.VHost{
			{Names: []string{"trac.example.com"}, Handler: site("trac")},
			{Names: []string{"*.example.com"}, Handler: site("wildcard")},
		},
		Default: site("default"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := vhosts(http.NotFoundHandler()) // every host is listed or the Default
	for _, host := range []string{"TRAC.example.com:8080", "dev.example.com", "example.org"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = host
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	// Output:
	// trac for TRAC.example.com:8080
	// wildcard for dev.example.com
	// default for example.org
}
