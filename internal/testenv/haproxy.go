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

// HAProxyBackend is one server of the HAProxy started by
// [StartHAProxyBalancer].
type HAProxyBackend struct {
	// Addr is the HOST:PORT requests are sent to. Required.
	Addr string
	// CheckAddr is the HOST:PORT of its health check ("GET /readyz", a
	// 2xx or 3xx answer meaning up), as gowsgi's -status-addr serves it.
	// Empty means no health check: the server is always up.
	CheckAddr string
}

// HAProxyConfig describes the HAProxy started by [StartHAProxyBalancer].
type HAProxyConfig struct {
	// Mode is "http" or "tcp". Empty means "http".
	Mode string
	// Backends are the servers, balanced round-robin in this order.
	// [StartHAProxyBalancer] needs at least one.
	Backends []HAProxyBackend
	// Backend are more lines for the backend section, before the
	// servers (e.g. "retry-on conn-failure empty-response", or a
	// "server" line of its own). Nil means none.
	Backend []string
}

// HAProxy is Debian's HAProxy on loopback, started by [StartHAProxy] or
// [StartHAProxyBalancer]: one frontend and one backend, balancing
// round-robin over its servers, which it health-checks every 100ms when
// asked (down after 2 failures, up after 2 successes; a check may take
// 2s), with an admin socket for [HAProxy.States]. It logs to its standard
// error ([HAProxy.Output]).
type HAProxy struct {
	// Addr is the frontend's "127.0.0.1:<port>".
	Addr string
	// Dir holds haproxy.cfg and the admin socket.
	Dir  string
	sock string
	cmd  *exec.Cmd
	out  LogBuffer
	done chan struct{}
}

// StartHAProxy starts Debian's HAProxy in the foreground (-db), as a child
// of the test, with one frontend on a free loopback port in mode (tcp or
// http) whose backend has the server line server (for example
// "server s1 127.0.0.1:8080 send-proxy-v2"; several lines separated by
// newlines). It is stopped when t ends. The test is skipped (failed under
// CI) when haproxy is missing.
func StartHAProxy(t testing.TB, mode, server string) *HAProxy {
	t.Helper()
	return startHAProxy(t, HAProxyConfig{Mode: mode, Backend: strings.Split(server, "\n")})
}

// StartHAProxyBalancer starts HAProxy as [StartHAProxy] does, with a
// backend balancing round-robin over cfg.Backends, health-checked with
// "option httpchk GET /readyz" where they have a CheckAddr. It waits
// until the frontend accepts connections, not until the checks pass (see
// [HAProxy.WaitState]).
func StartHAProxyBalancer(t testing.TB, cfg HAProxyConfig) *HAProxy {
	t.Helper()
	if len(cfg.Backends) == 0 {
		t.Fatal("testenv: haproxy: no backends")
	}
	return startHAProxy(t, cfg)
}

func startHAProxy(t testing.TB, cfg HAProxyConfig) *HAProxy {
	t.Helper()
	bin := LookPath(t, "haproxy", "haproxy")
	if cfg.Mode == "" {
		cfg.Mode = "http"
	}
	// Not t.TempDir: a test's name may hold a comma, which HAProxy reads
	// as a list of addresses in "stats socket".
	dir, err := os.MkdirTemp("", "gowsgi-haproxy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := &HAProxy{Addr: Addr(FreePort(t)), Dir: dir, sock: filepath.Join(dir, "admin.sock"), done: make(chan struct{})}
	config := filepath.Join(dir, "haproxy.cfg")
	var b strings.Builder
	fmt.Fprintf(&b, `global
    stats socket %s mode 600 level admin
    maxconn 2000
    log stderr format short local0 info

defaults
    mode %s
    log global
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 2s
`, h.sock, cfg.Mode)
	if cfg.Mode == "http" {
		b.WriteString("    option http-keep-alive\n    timeout http-request 10s\n")
	}
	fmt.Fprintf(&b, `
frontend web
    bind %s
    default_backend replicas

backend replicas
    balance roundrobin
    default-server inter 100ms fastinter 100ms downinter 100ms fall 2 rise 2
`, h.Addr)
	for _, be := range cfg.Backends {
		if be.CheckAddr != "" {
			b.WriteString("    option httpchk GET /readyz\n")
			break
		}
	}
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
	if err := os.WriteFile(config, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", config).CombinedOutput(); err != nil {
		t.Fatalf("testenv: haproxy -c: %v\n%s\n%s", err, out, b.String())
	}
	h.cmd = exec.Command(bin, "-db", "-f", config)
	h.cmd.Stdout, h.cmd.Stderr = &h.out, &h.out
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("testenv: starting haproxy: %v", err)
	}
	go func() {
		_ = h.cmd.Wait()
		close(h.done)
	}()
	t.Cleanup(func() { h.stop(t) })
	waitListening(t, "haproxy", h.Addr, h.done, h.Output)
	return h
}

// stop stops HAProxy with SIGTERM (at once, connections closed) and waits
// for it; after 10 seconds it is killed and the test fails.
func (h *HAProxy) stop(t testing.TB) {
	select {
	case <-h.done:
		return
	default:
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		<-h.done
		t.Errorf("testenv: haproxy did not stop on SIGTERM within 10s:\n%s", h.Output())
	}
}

// States returns the state HAProxy's checks give each server, in the
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
			t.Fatalf("testenv: haproxy backend %d is %v after %v, want %s\n%s", i, s, timeout, want, h.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Output returns what HAProxy printed so far (its log goes to stderr).
func (h *HAProxy) Output() string { return h.out.String() }
