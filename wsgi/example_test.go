package wsgi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"

	"github.com/gowsgi/gowsgi/reqinfo"
	"github.com/gowsgi/gowsgi/wsgi"
)

// Environ shows what a request becomes, without any worker.
func ExampleEnviron() {
	r := httptest.NewRequest("GET", "http://example.com/trac/wiki/Start?version=2", nil)
	r.Header.Set("X-Remote-User", "mallory") // becomes HTTP_X_REMOTE_USER, never REMOTE_USER
	r.Header["X_Remote_User"] = []string{"mallory"}
	r.Header.Set("Proxy", "http://attacker:3128")
	// What an authentication middleware records (package auth does).
	r, rec := reqinfo.Ensure(r)
	rec.SetUser(&reqinfo.User{Name: "alice", AuthType: "Basic"})
	http.StripPrefix("/trac", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env := wsgi.Environ(r, &wsgi.Config{ScriptName: "/trac"})
		sort.Slice(env, func(i, j int) bool { return env[i].Name < env[j].Name })
		for _, kv := range env {
			switch kv.Name {
			case "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REMOTE_USER", "AUTH_TYPE", "HTTP_X_REMOTE_USER", "HTTP_PROXY":
				fmt.Printf("%s=%s\n", kv.Name, kv.Value)
			}
		}
	})).ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// AUTH_TYPE=Basic
	// HTTP_X_REMOTE_USER=mallory
	// PATH_INFO=/wiki/Start
	// QUERY_STRING=version=2
	// REMOTE_USER=alice
	// SCRIPT_NAME=/trac
}

// New runs a WSGI script in a worker process and serves it.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "wsgi-example")
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "hello.wsgi")
	os.WriteFile(script, []byte(`
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'Hello from ', environ['SCRIPT_NAME'].encode(), b'\n']
`), 0o644)
	h, err := wsgi.New(wsgi.Config{Script: script, Python: "/usr/bin/python3"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	srv := httptest.NewServer(http.StripPrefix("/hello", h))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/hello/")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.Status, " ", string(body))
	// Output: 200 OK Hello from /hello
}
