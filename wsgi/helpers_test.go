package wsgi

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// logBuf collects log output for assertions.
type logBuf = testenv.LogBuffer

func testScript(t testing.TB) string {
	p, err := filepath.Abs("testdata/app.wsgi")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newTestHandler starts a handler for cfg (Script defaults to the test app,
// Python to Debian's) and closes it at the end of the test.
func newTestHandler(t testing.TB, cfg Config) (*Handler, *logBuf) {
	t.Helper()
	if cfg.Script == "" {
		cfg.Script = testScript(t)
	}
	if cfg.Python == "" {
		cfg.Python = testenv.Python(t)
	}
	logs := &logBuf{}
	if cfg.Logger == nil {
		cfg.Logger = logs.Logger()
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("handler log:\n%s", logs.String())
		}
	})
	return h, logs
}

// serve runs h behind a real HTTP server.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func decodeEnv(t testing.TB, body []byte) map[string]string {
	t.Helper()
	var env map[string]string
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("decoding environ %.300q: %v", body, err)
	}
	return env
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func pythonForTest(t testing.TB) string { return testenv.Python(t) }

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

// tryGet is get for goroutines other than the test's: -1 on error.
func tryGet(url string) (int, string) { return tryResult(http.Get(url)) }

// tryPost is tryGet with a POST of one byte: a request the handler queues
// itself, never behind a running request on a worker's connection.
func tryPost(url string) (int, string) {
	return tryResult(http.Post(url, "text/plain", strings.NewReader("x")))
}

// tryResult reads a response for tryGet and tryPost: -1 when the request
// failed, -2 when its body did.
func tryResult(resp *http.Response, err error) (int, string) {
	if err != nil {
		return -1, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return -2, err.Error()
	}
	return resp.StatusCode, string(b)
}
