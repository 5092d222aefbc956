package uwsgi

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// startApp starts testdata/app.py under Debian's uWSGI.
func startApp(t *testing.T, processes, threads, port int) *testenv.UWSGI {
	t.Helper()
	testenv.PythonModule(t, testenv.Python(t), "flask", "python3-flask")
	script, err := filepath.Abs("testdata/app.py")
	if err != nil {
		t.Fatal(err)
	}
	return testenv.StartUWSGI(t, testenv.UWSGIConfig{Script: script, Processes: processes, Threads: threads, Port: port})
}

// front serves h mounted at /app, the user named in X-Test-User
// authenticated (a stand-in for package auth), on a real listener.
func front(t *testing.T, cfg Config) (*Handler, *httptest.Server) {
	t.Helper()
	if cfg.Logger == nil {
		var lb testenv.LogBuffer
		cfg.Logger = lb.Logger()
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("handler log:\n%s", lb.String())
			}
		})
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	user := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u := r.Header.Get("X-Test-User"); u != "" {
				var rec *reqinfo.Record
				r, rec = reqinfo.Ensure(r)
				rec.SetUser(&reqinfo.User{Name: u, AuthType: "Basic"})
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(prefix.MustMount("/app")(user(h)))
	t.Cleanup(srv.Close)
	return h, srv
}

func TestFlaskAtMount(t *testing.T) {
	up := startApp(t, 1, 2, 0)
	_, srv := front(t, Config{Upstreams: []string{up.Addr}})
	req, _ := http.NewRequest("GET", srv.URL+"/app/env?q=1%202", nil)
	req.Header.Set("X-Test", "yes")
	req.Header.Set("X-Test-User", "alice")
	req.Header.Set("Authorization", "Basic YWxpY2U6c2VjcmV0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s\n%s", resp.StatusCode, body, up.Log())
	}
	var env map[string]*string
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	want := map[string]string{
		"SCRIPT_NAME":      "/app",
		"PATH_INFO":        "/env",
		"QUERY_STRING":     "q=1%202",
		"REQUEST_URI":      "/app/env?q=1%202",
		"REQUEST_METHOD":   "GET",
		"REMOTE_USER":      "alice",
		"AUTH_TYPE":        "Basic",
		"REMOTE_ADDR":      "127.0.0.1",
		"SERVER_NAME":      "127.0.0.1",
		"SERVER_PROTOCOL":  "HTTP/1.1",
		"HTTP_X_TEST":      "yes",
		"HTTP_HOST":        host,
		"wsgi.url_scheme":  "http",
		"url_for":          "/app/env",
		"url_for_external": "http://" + host + "/app/env",
	}
	for k, v := range want {
		if got := env[k]; got == nil || *got != v {
			t.Errorf("%s = %v, want %q", k, deref(got), v)
		}
	}
	if got := env["HTTP_AUTHORIZATION"]; got != nil {
		t.Errorf("HTTP_AUTHORIZATION = %q, want none without PassAuthorization", *got)
	}
}

func deref(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestUpload(t *testing.T) {
	up := startApp(t, 1, 1, 0)
	_, srv := front(t, Config{Upstreams: []string{up.Addr}})
	body := make([]byte, 5<<20+12345)
	rand.Read(body)
	sum := sha256.Sum256(body)
	want := fmt.Sprintf("%s %d", hex.EncodeToString(sum[:]), len(body))
	for _, tc := range []struct {
		name string
		body func() io.Reader
		size int64
	}{
		{"content-length", func() io.Reader { return bytes.NewReader(body) }, int64(len(body))},
		// Chunked, so spooled to a file first.
		{"chunked", func() io.Reader { return io.MultiReader(bytes.NewReader(body[:100]), bytes.NewReader(body[100:])) }, -1},
		{"small-chunked", func() io.Reader { return io.MultiReader(strings.NewReader("abc")) }, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+"/app/upload", tc.body())
			req.ContentLength = tc.size
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			w := want
			if tc.name == "small-chunked" {
				s := sha256.Sum256([]byte("abc"))
				w = hex.EncodeToString(s[:]) + " 3"
			}
			if resp.StatusCode != 200 || string(got) != w {
				t.Fatalf("status %d, body %q, want %q", resp.StatusCode, got, w)
			}
		})
	}
}

func TestStreamedResponse(t *testing.T) {
	up := startApp(t, 1, 1, 0)
	_, srv := front(t, Config{Upstreams: []string{up.Addr}})
	gate := filepath.Join(t.TempDir(), "gate")
	resp, err := http.Get(srv.URL + "/app/stream?gate=" + gate)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	// The first line arrives while the application waits for the gate:
	// the response is streamed, not buffered.
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

func TestFileWrapperDownload(t *testing.T) {
	up := startApp(t, 1, 1, 0)
	_, srv := front(t, Config{Upstreams: []string{up.Addr}})
	data := make([]byte, 48<<20+7)
	rand.Read(data)
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/app/file?path=" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("after %d bytes: %v", len(got), err)
	}
	if resp.ContentLength != int64(len(data)) || !bytes.Equal(got, data) {
		t.Fatalf("Content-Length %d, got %d bytes (equal: %v), want %d", resp.ContentLength, len(got), bytes.Equal(got, data), len(data))
	}
}

// An upstream worker that dies in the middle of a response with a
// Content-Length: the client sees a broken response, never a short one
// that looks complete.
func TestUpstreamDiesMidResponse(t *testing.T) {
	up := startApp(t, 1, 1, 0)
	h, srv := front(t, Config{Upstreams: []string{up.Addr}})
	resp, err := http.Get(srv.URL + "/app/die")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("read %d of %d bytes and no error: a short body that looks whole", len(got), resp.ContentLength)
	}
	if len(got) >= 1<<20 {
		t.Fatalf("read %d bytes", len(got))
	}
	if st := h.Stats()[0]; st.Failures != 1 || st.Down {
		t.Errorf("stats %+v, want one failure, in service", st)
	}
}

// Killing one of two upstreams under load fails only the requests it was
// running: the ones on it when it was killed (with MaxConns at its
// capacity, at most that many) and any given to it while it died (its
// processes do not all vanish at once); none on the other, and every
// request that starts after it is gone succeeds on the other.
func TestKillOneUpstreamUnderLoad(t *testing.T) {
	a := startApp(t, 2, 1, 0)
	b := startApp(t, 2, 1, 0)
	h, srv := front(t, Config{Upstreams: []string{a.Addr, b.Addr}, MaxConns: 2, Backoff: time.Minute})

	type result struct {
		start time.Time
		err   error
	}
	var (
		mu      sync.Mutex
		results []result
		killed  time.Time
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second}
	for range 6 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				resp, err := client.Post(srv.URL+"/app/slow?s=0.05", "text/plain", strings.NewReader("payload"))
				if err == nil {
					body, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					switch {
					case rerr != nil:
						err = rerr
					case resp.StatusCode != 200 || !strings.HasPrefix(string(body), "slow done"):
						err = fmt.Errorf("status %d: %q", resp.StatusCode, body)
					}
				}
				mu.Lock()
				results = append(results, result{start, err})
				mu.Unlock()
			}
		})
	}
	waitFor(t, "both upstreams busy", func() bool {
		st := h.Stats()
		return st[0].Requests >= 10 && st[1].Requests >= 10
	})
	h.mu.Lock()
	onA, givenA := h.ups[0].active, h.ups[0].requests
	h.mu.Unlock()
	a.Kill()
	h.mu.Lock()
	givenA = h.ups[0].requests - givenA
	h.mu.Unlock()
	mu.Lock()
	killed = time.Now()
	mu.Unlock()
	waitFor(t, "requests after the kill", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, r := range results {
			if r.start.After(killed) {
				n++
			}
		}
		return n >= 40
	})
	close(stop)
	wg.Wait()

	var failed, after, total int
	for _, r := range results {
		total++
		if r.err != nil {
			failed++
			if r.start.After(killed) {
				t.Errorf("a request started after the kill failed: %v", r.err)
			}
		}
		if r.start.After(killed) {
			after++
		}
	}
	t.Logf("%d requests, %d after the kill, %d failed; %d running on the killed upstream and %d given to it while it died",
		total, after, failed, onA, givenA)
	if onA > 2 {
		t.Errorf("%d requests running on an upstream with MaxConns 2", onA)
	}
	if failed > onA+int(givenA) {
		t.Errorf("%d requests failed, want at most the %d on the killed upstream", failed, onA+int(givenA))
	}
	st := h.Stats()
	if int(st[0].Failures) != failed || st[1].Failures != 0 {
		t.Errorf("stats %+v: want the %d failures all on the killed upstream", st, failed)
	}
	if !st[0].Down || st[0].Downs != 1 || st[1].Down {
		t.Errorf("stats %+v, want the first out of service", st)
	}
}

// An upstream that refuses connections goes out of service, requests go to
// the other, and once it listens again a probe brings it back.
func TestRefusedUpstreamBacksOffAndReturns(t *testing.T) {
	b := startApp(t, 1, 1, 0)
	port := testenv.FreePort(t)
	aAddr := testenv.Addr(port)
	h, srv := front(t, Config{Upstreams: []string{aAddr, b.Addr}, Backoff: 50 * time.Millisecond})
	get := func() {
		t.Helper()
		resp, err := http.Get(srv.URL + "/app/hello")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "Hello, World!" {
			t.Fatalf("status %d: %q", resp.StatusCode, body)
		}
	}
	for range 4 {
		get()
	}
	st := h.Stats()
	if !st[0].Down || st[0].Downs != 1 || st[1].Requests != 4 {
		t.Fatalf("stats %+v: want the refused upstream out after one try, the other serving all 4", st)
	}
	startApp(t, 1, 1, port)
	waitFor(t, "the upstream back in service", func() bool { return !h.Stats()[0].Down })
	before := h.Stats()[0].Requests
	for range 4 {
		get()
	}
	if got := h.Stats()[0].Requests; got <= before {
		t.Fatalf("the returned upstream got no request: %+v", h.Stats())
	}
}

// waitFor polls cond until it holds, or fails the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
