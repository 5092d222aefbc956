package wsgi

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gowsgi/gowsgi/reqinfo"
)

func envMap(env []EnvVar) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		if _, dup := m[kv.Name]; dup {
			panic("duplicate environ entry " + kv.Name)
		}
		m[kv.Name] = kv.Value
	}
	return m
}

func TestEnviron(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		setup  func(r *http.Request) *http.Request
		want   map[string]string
		absent []string
	}{
		{
			name: "basic GET",
			setup: func(r *http.Request) *http.Request {
				return r
			},
			want: map[string]string{
				"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/a b/é",
				"QUERY_STRING": "x=%20y", "REQUEST_URI": "/a%20b/%C3%A9?x=%20y",
				"SERVER_NAME": "example.com", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
				"REMOTE_ADDR": "192.0.2.1", "REMOTE_PORT": "1234", "HTTPS": "off",
				"wsgi.url_scheme": "http", "HTTP_HOST": "example.com:8080",
			},
			absent: []string{"CONTENT_TYPE", "CONTENT_LENGTH", "REMOTE_USER", "AUTH_TYPE"},
		},
		{
			name: "mount from the context",
			cfg:  Config{ScriptName: "/ignored"},
			setup: func(r *http.Request) *http.Request {
				r, rec := reqinfo.Ensure(r)
				rec.SetMount(reqinfo.Mount{ScriptName: "/trac", PathInfo: "/wiki"})
				return r
			},
			want: map[string]string{"SCRIPT_NAME": "/trac", "PATH_INFO": "/wiki"},
		},
		{
			name:  "ScriptName without mount, never /",
			cfg:   Config{ScriptName: "/"},
			setup: func(r *http.Request) *http.Request { return r },
			want:  map[string]string{"SCRIPT_NAME": ""},
		},
		{
			name: "security: underscores, Proxy, Authorization, forged REMOTE_USER",
			setup: func(r *http.Request) *http.Request {
				r.Header["X_Remote_User"] = []string{"mallory"}
				r.Header.Set("X-Remote-User", "alice")
				r.Header.Set("Proxy", "http://evil:3128")
				r.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
				r.Header["authorization"] = []string{"Basic bm9uOmNhbm9uaWNhbA=="} // set by a handler, not canonical
				r.Header.Set("Remote-User", "root")
				r.Header["Remote_User"] = []string{"root"}
				return r
			},
			want:   map[string]string{"HTTP_X_REMOTE_USER": "alice", "HTTP_REMOTE_USER": "root"},
			absent: []string{"HTTP_PROXY", "HTTP_AUTHORIZATION", "REMOTE_USER", "AUTH_TYPE"},
		},
		{
			name: "PassAuthorization and the user from the context",
			cfg:  Config{PassAuthorization: true},
			setup: func(r *http.Request) *http.Request {
				r.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
				r, rec := reqinfo.Ensure(r)
				rec.SetUser(&reqinfo.User{Name: "alice", AuthType: "Basic"})
				return r
			},
			want: map[string]string{"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg==", "REMOTE_USER": "alice", "AUTH_TYPE": "Basic"},
		},
		{
			name: "body headers",
			setup: func(r *http.Request) *http.Request {
				r.Method = "POST"
				r.Header.Set("Content-Type", "text/plain")
				r.Header.Set("Content-Length", "5")
				r.ContentLength = 5
				return r
			},
			want:   map[string]string{"CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "5"},
			absent: []string{"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"},
		},
		{
			name: "TLS",
			setup: func(r *http.Request) *http.Request {
				r.TLS = &tls.ConnectionState{}
				r.Host = "example.com"
				return r
			},
			want: map[string]string{"HTTPS": "on", "wsgi.url_scheme": "https", "SERVER_PORT": "443"},
		},
		{
			// Believing forwarding headers is package remoteip's: wsgi
			// alone believes none, from any peer.
			name: "X-Forwarded-Proto and -Host alone change nothing",
			setup: func(r *http.Request) *http.Request {
				r.RemoteAddr = "127.0.0.1:5555"
				r.Host = "example.com"
				r.Header.Set("X-Forwarded-Proto", "https")
				r.Header.Set("X-Forwarded-For", "192.0.2.1")
				r.Header.Set("X-Forwarded-Host", "evil.example")
				return r
			},
			want: map[string]string{"wsgi.url_scheme": "http", "HTTPS": "off", "REMOTE_ADDR": "127.0.0.1",
				"HTTP_HOST": "example.com", "SERVER_NAME": "example.com", "HTTP_X_FORWARDED_HOST": "evil.example"},
		},
		{
			name: "scheme a trusted proxy forwarded (record)",
			setup: func(r *http.Request) *http.Request {
				r.Host = "example.com"
				r, rec := reqinfo.Ensure(r)
				rec.SetForwarded(r.RemoteAddr, "10.1.2.3:5555", "https")
				return r
			},
			want: map[string]string{"wsgi.url_scheme": "https", "HTTPS": "on", "SERVER_PORT": "443"},
		},
		{
			name: "forwarded http wins over the proxy's own TLS",
			setup: func(r *http.Request) *http.Request {
				r.TLS = &tls.ConnectionState{}
				r.Host = "example.com"
				r, rec := reqinfo.Ensure(r)
				rec.SetForwarded(r.RemoteAddr, "10.1.2.3:5555", "http")
				return r
			},
			want: map[string]string{"wsgi.url_scheme": "http", "HTTPS": "off", "SERVER_PORT": "80"},
		},
		{
			name: "extras: config, then context overrides",
			cfg:  Config{Environ: map[string]string{"trac.env_path": "/srv/a", "other": "1"}},
			setup: func(r *http.Request) *http.Request {
				r, rec := reqinfo.Ensure(r)
				rec.SetEnviron("trac.env_path", "/srv/b")
				return r
			},
			want: map[string]string{"trac.env_path": "/srv/b", "other": "1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://example.com:8080/a%20b/%C3%A9?x=%20y", nil)
			r.RemoteAddr = "192.0.2.1:1234"
			r = tc.setup(r)
			got := envMap(Environ(r, &tc.cfg))
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tc.absent {
				if v, ok := got[k]; ok {
					t.Errorf("%s = %q, want absent", k, v)
				}
			}
		})
	}
}

// TestEnvironReachesPython checks what the application really sees, and
// that the security rules hold end to end.
func TestEnvironReachesPython(t *testing.T) {
	h, _ := newTestHandler(t, Config{Processes: 2, Threads: 2, Environ: map[string]string{"trac.env_path": "/srv/trac/x"}})
	srv := serve(t, h)
	req, _ := http.NewRequest("GET", srv.URL+"/env/%C3%A9?q=%FF", nil)
	req.Header["X_Remote_User"] = []string{"mallory"}
	req.Header.Set("Proxy", "http://evil")
	req.Header.Set("Authorization", "Basic eDp5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body []byte
	body = make([]byte, 0, 4096)
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	env := decodeEnv(t, body)
	want := map[string]string{
		"PATH_INFO": latin1("/env/é"), "QUERY_STRING": "q=%FF", "SCRIPT_NAME": "",
		"wsgi.version": "(1, 0)", "wsgi.multithread": "True", "wsgi.multiprocess": "True",
		"wsgi.run_once": "False", "wsgi.input_terminated": "True", "trac.env_path": "/srv/trac/x",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"HTTP_X_REMOTE_USER", "HTTP_PROXY", "HTTP_AUTHORIZATION", "REMOTE_USER"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s = %q reached the application", k, v)
		}
	}
}
