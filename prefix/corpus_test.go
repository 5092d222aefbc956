package prefix

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// loginRE is Trac's mod_wsgi guide's <LocationMatch "/trac/[^/]+/login">.
var loginRE = regexp.MustCompile(`/trac/[^/]+/login`)

const goodAuth = "Basic dXNlcjpwdw==" // user:pw

// guard stands for the authentication a LocationMatch protects: it lets a
// request with goodAuth through as "user" and answers any other with 401
// and X-Guard: ran.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != goodAuth {
			w.Header().Set("X-Guard", "ran")
			w.Header().Set("WWW-Authenticate", `Basic realm="trac"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		r, rec := reqinfo.Ensure(r)
		rec.SetUser(&reqinfo.User{Name: "user", AuthType: "Basic"})
		next.ServeHTTP(w, r)
	})
}

// tracStack is the multi-project deployment of Trac's mod_wsgi guide: one mount for the
// projects in parent, each project's login guarded.
func tracStack(t testing.TB, parent string, app http.Handler) http.Handler {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	envs, err := NewEnvironments(EnvConfig{Mount: "/trac", ParentDir: parent, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return CanonicalConfig{Logger: quiet}.Wrap(MustLocationMatch(loginRE, guard)(envs(app)))
}

func projects(t testing.TB) string {
	t.Helper()
	parent := filepath.Join(t.TempDir(), "projects")
	for _, d := range []string{"alpha", "beta", ".hidden"} {
		if err := os.MkdirAll(filepath.Join(parent, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return parent
}

// appReport is what testdata/routeapp.py answers.
type appReport struct {
	ScriptName string `json:"script_name"`
	PathInfo   string `json:"path_info"`
	Route      string `json:"route"`
	EnvPath    string `json:"env_path"`
	RemoteUser string `json:"remote_user"`
}

// rawRequest writes one request with target exactly as given to addr and
// reads the response.
func rawRequest(t *testing.T, addr, method, target, extra string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, method+" "+target+" HTTP/1.1\r\nHost: corpus.test\r\n"+extra+"Connection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// Outcomes of a corpus entry.
const (
	guarded = "401"   // the guard ran
	bad     = "400"   // refused as malformed
	missing = "404"   // refused as not found (encoded slash, outside the mount)
	index   = "index" // the environment list
)

// TestAttackCorpus sends crafted raw request targets over a real connection
// to the deployment of Trac's mod_wsgi guide (<LocationMatch "/trac/[^/]+/login"> over a
// parent directory of projects) with a real Python application behind it,
// and checks both the expected outcome and the invariant that matters: the
// application never routes an unauthenticated request to its login page.
func TestAttackCorpus(t *testing.T) {
	parent := projects(t)
	srv := httptest.NewServer(tracStack(t, parent, routeApp(t)))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	alpha, beta := filepath.Join(parent, "alpha"), filepath.Join(parent, "beta")

	// want is an outcome constant, or "app sn|pi|route" for the app.
	corpus := []struct{ target, want string }{
		// Spellings of a login path: all guarded.
		{"/trac/alpha/login", guarded},
		{"/trac/beta/login", guarded},
		{"/trac/alpha/login/", guarded},
		{"/trac/alpha//login", guarded},
		{"//trac/alpha/login", guarded},
		{"/trac//alpha/login", guarded},
		{"///trac///alpha///login///", guarded},
		{"/trac/alpha/login//", guarded},
		{"/trac/alpha/./login", guarded},
		{"/trac/./alpha/login", guarded},
		{"/trac/alpha/./././login", guarded},
		{"/trac/alpha/.//login", guarded},
		{"/trac/alpha/x/../login", guarded},
		{"/trac/alpha/wiki/../login", guarded},
		{"/trac/alpha/x/y/../../login", guarded},
		{"/trac/x/../alpha/login", guarded},
		{"/trac/alpha/login/.", guarded},
		{"/trac/alpha/login/x/..", guarded},
		{"/trac/alpha/%6Cogin", guarded},
		{"/trac/alpha/%6cogin", guarded},
		{"/trac/alpha/l%6Fgin", guarded},
		{"/trac/alpha/%6C%6F%67%69%6E", guarded},
		{"/trac/%61lpha/login", guarded},
		{"/%74rac/alpha/login", guarded},
		{"/trac/alpha%2F..%2Fbeta/login", missing},
		{"/trac/alpha/%2e/login", guarded},
		{"/trac/alpha/%2E/login", guarded},
		{"/trac/alpha/x/%2e%2e/login", guarded},
		{"/trac/alpha/x/.%2e/login", guarded},
		{"/trac/alpha/x/%2e./login", guarded},
		{"/trac/alpha/login;jsessionid=x", guarded},
		{"/trac/alpha/login;", guarded},
		{"/trac/alpha;x/login", guarded},
		{"/trac/alpha/login?x=1", guarded},
		{"/trac/alpha/login/?next=/", guarded},
		{"/trac/alpha/login.html", guarded},
		{"/trac/alpha/login%20", guarded},
		{"/trac/gamma/login", guarded},
		{"/trac/.hidden/login", guarded},
		{"http://corpus.test/trac/alpha/login", guarded},
		{"http://corpus.test//trac/alpha/./login", guarded},
		// Encoded separators: 404, as Apache's AllowEncodedSlashes Off.
		{"/trac/alpha%2Flogin", missing},
		{"/trac/alpha%2flogin", missing},
		{"/trac%2Falpha%2Flogin", missing},
		{"/trac/alpha/%2Flogin", missing},
		{"/trac/alpha/login%2F", missing},
		{"/trac/alpha%5Clogin", missing},
		{"/trac/alpha%5clogin", missing},
		// Malformed: 400 (from this package or from net/http itself).
		{"/trac/alpha\\login", bad},
		{"/trac\\alpha\\login", bad},
		{"/trac/alpha/login%00", bad},
		{"/trac/alpha/log%00in", bad},
		{"/trac/alpha/login%0a", bad},
		{"/trac/alpha/%0d%0alogin", bad},
		{"/trac/alpha/login%09", bad},
		{"/trac/alpha/%C0%AFlogin", bad},
		{"/trac/alpha%C0%AFlogin", bad},
		{"/trac/alpha/%C0%AE/login", bad},
		{"/trac/alpha/%C0%AE%C0%AE/login", bad},
		{"/trac/alpha/%E0%80%AFlogin", bad},
		{"/trac/alpha/%ED%A0%80/login", bad},
		{"/trac/alpha/login%FF", bad},
		{"/trac/alpha/\xc0\xafx/../login", bad},
		{"/trac/alpha/login%zz", bad},
		{"/trac/alpha/login%", bad},
		{"/trac/alpha/%u006Cogin", bad},
		{"/trac/alpha/login#frag", bad},
		{"/../trac/alpha/login", bad},
		{"/trac/../../alpha/login", bad},
		{"/trac/alpha/%2e%2e/%2e%2e/%2e%2e/login", bad},
		{"*", bad}, // (OPTIONS * is answered by net/http itself)
		{"trac/alpha/login", bad},
		// Outside the mount, or no such project after resolution: 404.
		{"/trac/alpha/x/../../../login", missing},
		{"/trac/%2e%2e/alpha/login", missing},
		{"/tracker/alpha/login", missing},
		{"/trac/gamma/wiki", missing},
		{"/trac/.hidden/wiki", missing},
		{"/trac/%2e%2e/wiki", missing},
		// Reaching the application, never on its login route.
		{"/trac/", index},
		{"/trac", index},
		{"/trac/alpha/", "app /trac/alpha|/|other"},
		{"/trac/alpha", "app /trac/alpha||other"},
		{"/trac/alpha/wiki", "app /trac/alpha|/wiki|other"},
		{"/trac/beta//wiki/./Start", "app /trac/beta|/wiki/Start|other"},
		{"/trac/beta/wiki/caf%C3%A9", "app /trac/beta|/wiki/café|other"},
		{"/trac/beta/wiki/café", "app /trac/beta|/wiki/café|other"},
		{"/trac/alpha/ｌogin", "app /trac/alpha|/ｌogin|other"},
		{"/trac/alpha/LOGIN", "app /trac/alpha|/LOGIN|other"},
		{"/trac/alpha/Login", "app /trac/alpha|/Login|other"},
		{"/trac/alpha/%256Cogin", "app /trac/alpha|/%6Cogin|other"},
		{"/trac/alpha/%3Blogin", "app /trac/alpha|/;login|other"},
		{"/trac/alpha/%20login", "app /trac/alpha|/ login|other"},
		{"/trac/alpha/logout", "app /trac/alpha|/logout|logout"},
		{"/trac/alpha/x/..", "app /trac/alpha|/|other"},
	}
	if len(corpus) < 60 {
		t.Fatalf("corpus has %d entries, want at least 60", len(corpus))
	}
	for _, tt := range corpus {
		t.Run(tt.target, func(t *testing.T) {
			resp, body := rawRequest(t, addr, "GET", tt.target, "")
			var rep appReport
			fromApp := resp.Header.Get("X-Route-App") == "python"
			if fromApp {
				if err := json.Unmarshal(body, &rep); err != nil {
					t.Fatalf("app answer %q: %v", body, err)
				}
				// The invariant, whatever the table says.
				if rep.Route == "login" && rep.RemoteUser == "" {
					t.Fatalf("UNGUARDED: the application routed %q to its login page without a user: %+v", tt.target, rep)
				}
				if rep.ScriptName == "/trac/alpha" && rep.EnvPath != alpha || rep.ScriptName == "/trac/beta" && rep.EnvPath != beta {
					t.Fatalf("project %s got trac.env_path %q", rep.ScriptName, rep.EnvPath)
				}
			}
			switch tt.want {
			case guarded:
				if resp.StatusCode != 401 || resp.Header.Get("X-Guard") != "ran" {
					t.Fatalf("got %d (%q), want the guard's 401", resp.StatusCode, body)
				}
			case bad, missing:
				if got := resp.Status[:3]; got != tt.want || fromApp {
					t.Fatalf("got %s (%q), want %s", resp.Status, body, tt.want)
				}
			case index:
				if resp.StatusCode != 200 || !strings.Contains(string(body), `href="/trac/alpha/"`) || strings.Contains(string(body), "hidden") {
					t.Fatalf("got %d %q, want the project index", resp.StatusCode, body)
				}
			default:
				if !fromApp {
					t.Fatalf("got %d (%q), want the application", resp.StatusCode, body)
				}
				if got := "app " + rep.ScriptName + "|" + rep.PathInfo + "|" + rep.Route; got != tt.want {
					t.Fatalf("application saw %q, want %q", got, tt.want)
				}
			}
		})
	}

	// With credentials the same spellings do reach the login page, in the
	// right project: the guard and the application agree on the route.
	authed := []struct{ target, want string }{
		{"/trac/alpha/login", "/trac/alpha|/login|login|" + alpha},
		{"/trac/beta//login", "/trac/beta|/login|login|" + beta},
		{"/trac/x/../alpha/%6Cogin/", "/trac/alpha|/login/|login|" + alpha},
		{"/%74rac/beta/./login", "/trac/beta|/login|login|" + beta},
	}
	for _, tt := range authed {
		t.Run("authenticated "+tt.target, func(t *testing.T) {
			resp, body := rawRequest(t, addr, "GET", tt.target, "Authorization: "+goodAuth+"\r\n")
			var rep appReport
			if resp.StatusCode != 200 || json.Unmarshal(body, &rep) != nil {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if got := rep.ScriptName + "|" + rep.PathInfo + "|" + rep.Route + "|" + rep.EnvPath; got != tt.want || rep.RemoteUser != "user" {
				t.Fatalf("application saw %q as %q, want %q as user", got, rep.RemoteUser, tt.want)
			}
		})
	}
}

// BenchmarkTracStack measures what the routing costs per request: the
// guarded multi-project stack of Trac's mod_wsgi guide in front of an empty handler.
func BenchmarkTracStack(b *testing.B) {
	h := tracStack(b, projects(b), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, target := range []string{"/trac/alpha/wiki/WikiStart", "/trac//alpha/./wiki/%57ikiStart"} {
		b.Run(target, func(b *testing.B) {
			req := httptest.NewRequest("GET", target, nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
