package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// HAProxyBackend is one server of the HAProxy started by [StartHAProxy].
type HAProxyBackend struct {
	// Addr is the HOST:PORT requests are sent to. Required.
	Addr string
	// CheckAddr is the HOST:PORT of its health check ("GET /readyz", a
	// 2xx or 3xx answer meaning up), as gowsgi's -status-addr serves it.
	// Empty means no health check: the server is always up.
	CheckAddr string
}

// HAProxyConfig describes the HAProxy started by [StartHAProxy].
type HAProxyConfig struct {
	// Backends are the servers, balanced round-robin in this order.
	// At least one is required.
	Backends []HAProxyBackend
	// Backend are more lines for the backend section (e.g. "retry-on
	// conn-failure empty-response"). Nil means none.
	Backend []string
}

// HAProxy is Debian's HAProxy in HTTP mode on loopback, started by
// [StartHAProxy]: one frontend balancing round-robin over the backends,
// which it health-checks every 100ms (down after 2 failures, up after 2
// successes; a check may take 2s), with an admin socket for
// [HAProxy.States].
type HAProxy struct {
	// Addr is the HOST:PORT of its frontend.
	Addr string
	// Config is the path of the configuration it runs.
	Config string
	sock   string
	cmd    *exec.Cmd
	log    LogBuffer
	done   chan struct{}
}

// StartHAProxy writes a configuration for cfg in a temporary directory,
// starts "haproxy -db -f CONFIG" (in the foreground, as the test's child),
// waits until its frontend accepts connections, and stops it (SIGUSR1, a
// soft stop: it finishes the requests it is serving) with t.Cleanup. A
// missing haproxy skips the test (fails it under CI).
func StartHAProxy(t testing.TB, cfg HAProxyConfig) *HAProxy {
	t.Helper()
	bin := LookPath(t, "haproxy", "haproxy")
	if len(cfg.Backends) == 0 {
		t.Fatal("testenv: haproxy: no backends")
	}
	dir := t.TempDir()
	h := &HAProxy{Addr: Addr(FreePort(t)), Config: filepath.Join(dir, "haproxy.cfg"),
		sock: filepath.Join(dir, "admin.sock"), done: make(chan struct{})}
	var b strings.Builder
	fmt.Fprintf(&b, `global
    stats socket %s mode 600 level admin
    maxconn 2000

defaults
    mode http
    option http-keep-alive
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout check 2s

frontend web
    bind %s
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /readyz
    default-server inter 100ms fastinter 100ms downinter 100ms fall 2 rise 2
`, h.sock, h.Addr)
	for _, l := range cfg.Backend {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	for i, be := range cfg.Backends {
		fmt.Fprintf(&b, "    server r%d %s", i, be.Addr)
		if be.CheckAddr != "" {
			host, port, err := net.SplitHostPort(be.CheckAddr)
			if err != nil {
				t.Fatalf("testenv: haproxy: backend %d: CheckAddr: %v", i, err)
			}
			fmt.Fprintf(&b, " check addr %s port %s", host, port)
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(h.Config, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", h.Config).CombinedOutput(); err != nil {
		t.Fatalf("testenv: haproxy -c: %v\n%s\n%s", err, out, b.String())
	}
	h.cmd = exec.Command(bin, "-db", "-f", h.Config)
	h.cmd.Stdout, h.cmd.Stderr = &h.log, &h.log
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("testenv: starting haproxy: %v", err)
	}
	go func() {
		_ = h.cmd.Wait()
		close(h.done)
	}()
	t.Cleanup(func() { h.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for !dialOK(h.Addr) {
		select {
		case <-h.done:
			t.Fatalf("testenv: haproxy exited at startup:\n%s", h.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: haproxy does not listen on %s after 30s:\n%s", h.Addr, h.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return h
}

// stop soft-stops HAProxy and waits for it; after 10 seconds it is killed
// and the test fails.
func (h *HAProxy) stop(t testing.TB) {
	select {
	case <-h.done:
		return
	default:
	}
	_ = h.cmd.Process.Signal(syscall.SIGUSR1)
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		<-h.done
		t.Errorf("testenv: haproxy did not stop on SIGUSR1 within 10s:\n%s", h.Log())
	}
}

// States returns the state HAProxy's checks give each backend, in the
// order of [HAProxyConfig.Backends]: "UP", "DOWN", "UP 1/2" (going
// down), "DOWN 1/2" (going up), "no check"... read from its admin socket
// ("show stat").
func (h *HAProxy) States(t testing.TB) []string {
	t.Helper()
	c, err := net.DialTimeout("unix", h.sock, 5*time.Second)
	if err != nil {
		t.Fatalf("testenv: haproxy admin socket: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("show stat\n")); err != nil {
		t.Fatalf("testenv: haproxy admin socket: %v", err)
	}
	var states []string
	col := -1
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if strings.HasPrefix(sc.Text(), "# ") {
			f[0] = strings.TrimPrefix(f[0], "# ")
			for i, name := range f {
				if name == "status" {
					col = i
				}
			}
			continue
		}
		if col < 0 || len(f) <= col || f[0] != "replicas" || f[1] == "BACKEND" {
			continue
		}
		states = append(states, f[col])
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("testenv: haproxy admin socket: %v", err)
	}
	return states
}

// WaitState waits until HAProxy gives backend i the state want ("UP",
// "DOWN"), or fails the test after timeout.
func (h *HAProxy) WaitState(t testing.TB, i int, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := h.States(t)
		if i < len(s) && s[i] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: haproxy backend %d is %v after %v, want %s\n%s", i, s, timeout, want, h.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log returns what HAProxy wrote so far.
func (h *HAProxy) Log() string { return h.log.String() }
