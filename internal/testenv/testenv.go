// Package testenv starts and stops the real peers that gowsgi's tests talk
// to: Debian's Python and its WSGI applications, slapd, an MIT KDC,
// PostgreSQL, Apache httpd (for side-by-side checks such as mod_authnz_ldap)
// and its htpasswd/htdigest, HAProxy (the PROXY protocol, a balancer with
// health checks) and PgBouncer. Every helper runs its service
// as a child of the test, in a temporary directory, on loopback, and stops it
// with t.Cleanup.
//
// A test that needs a program the machine lacks is skipped with a message
// naming the Debian package to install, except when the environment variable
// CI is "true": there a missing peer fails the test, so that a green CI run
// never hides a skipped suite.
//
// It is meant for tests only.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// InCI reports whether the tests run under CI (CI=true), where a missing peer
// is a failure rather than a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips the test with the reason, or fails it under CI.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("required peer unavailable under CI=true: %s", msg)
	}
	t.Skipf("skipping: %s", msg)
}

// LookPath returns the path of the program name, searching PATH and then the
// directories Debian puts daemons in (/usr/sbin, /sbin, /usr/lib/postgresql/15/bin).
// When it is nowhere, the test is skipped (failed under CI) with a message
// naming pkg, the Debian package that provides it.
func LookPath(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/lib/postgresql/15/bin", "/usr/bin"} {
		p := dir + "/" + name
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	Unavailable(t, "%s not found (apt-get install %s)", name, pkg)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitTCP waits until something accepts connections on addr, or fails the
// test after timeout.
func WaitTCP(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: nothing listens on %s after %v: %v", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addr formats a loopback address with port.
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
