package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// HAProxy is a running HAProxy (Debian haproxy) started by [StartHAProxy].
type HAProxy struct {
	// Addr is the frontend's "127.0.0.1:<port>".
	Addr string
	// Dir holds haproxy.cfg.
	Dir string

	mu  sync.Mutex
	out bytes.Buffer
}

// Output returns what HAProxy printed so far (its log goes to stderr).
func (h *HAProxy) Output() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.out.String()
}

func (h *HAProxy) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.out.Write(p)
}

// StartHAProxy starts Debian's HAProxy in the foreground (-db), as a child
// of the test, with one frontend on a free loopback port in mode (tcp or
// http) whose backend has the server line server (for example
// "server s1 127.0.0.1:8080 send-proxy-v2"). It is stopped when t ends.
// The test is skipped (failed under CI) when haproxy is missing.
func StartHAProxy(t testing.TB, mode, server string) *HAProxy {
	t.Helper()
	bin := LookPath(t, "haproxy", "haproxy")
	dir := t.TempDir()
	port := FreePort(t)
	h := &HAProxy{Addr: Addr(port), Dir: dir}
	cfg := fmt.Sprintf(`global
    maxconn 256
    log stderr format short local0 info
defaults
    mode %s
    log global
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind %s
    default_backend be
backend be
    %s
`, mode, h.Addr, server)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatalf("testenv: haproxy: %v", err)
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	cmd.Stdout, cmd.Stderr = h, h
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: starting haproxy: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	deadline := time.Now().Add(15 * time.Second)
	for !dialOK(h.Addr) {
		select {
		case <-done:
			t.Fatalf("testenv: haproxy exited at start: %s", h.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: haproxy does not listen on %s: %s", h.Addr, h.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return h
}
