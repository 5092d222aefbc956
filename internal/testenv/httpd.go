package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Httpd is a running Apache httpd (Debian apache2) started by [StartHttpd].
type Httpd struct {
	// URL is "http://127.0.0.1:<port>".
	URL string
	// Dir holds httpd.conf, the error log and the runtime files.
	Dir string
}

// StartHttpd starts Debian's Apache httpd in the foreground, as a child of
// the test, on a free loopback port, with the mpm_event, authz_core
// and authn_core modules, the modules named in modules ("ldap",
// "authnz_ldap", "auth_basic", ...) and conf appended to its configuration
// (Location blocks and directives). Its DocumentRoot is an empty
// directory: a request that passes authentication and authorization gets
// 404. Apache is stopped when t ends. The test is skipped (failed under CI)
// when apache2 is missing.
func StartHttpd(t testing.TB, modules []string, conf string) *Httpd {
	t.Helper()
	bin := LookPath(t, "apache2", "apache2")
	modDir := "/usr/lib/apache2/modules"
	dir := t.TempDir()
	// Apache's children run as www-data when started as root: they must
	// be able to reach the document root and runtime files.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatalf("testenv: httpd: %v", err)
		}
	}
	docroot := filepath.Join(dir, "htdocs")
	if err := os.Mkdir(docroot, 0o755); err != nil {
		t.Fatalf("testenv: httpd: %v", err)
	}
	port := FreePort(t)
	var b strings.Builder
	fmt.Fprintf(&b, "ServerRoot %s\nServerName 127.0.0.1\nListen 127.0.0.1:%d\n", dir, port)
	fmt.Fprintf(&b, "PidFile %s/httpd.pid\nDefaultRuntimeDir %s\nErrorLog %s/error.log\nLogLevel warn\nMutex file:%s default\n", dir, dir, dir, dir)
	for _, m := range append([]string{"mpm_event", "authz_core", "authn_core"}, modules...) {
		so := filepath.Join(modDir, "mod_"+m+".so")
		if _, err := os.Stat(so); err != nil {
			Unavailable(t, "Apache module %s missing (apt-get install apache2): %v", m, err)
		}
		fmt.Fprintf(&b, "LoadModule %s_module %s\n", m, so)
	}
	if os.Geteuid() == 0 {
		b.WriteString("User www-data\nGroup www-data\n")
	}
	fmt.Fprintf(&b, "DocumentRoot %s\n<Directory />\n    AllowOverride None\n    Require all granted\n</Directory>\n", docroot)
	b.WriteString(conf)
	path := filepath.Join(dir, "httpd.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatalf("testenv: httpd: %v", err)
	}
	cmd := exec.Command(bin, "-f", path, "-DFOREGROUND")
	cmd.Env = append(os.Environ(), "APACHE_RUN_DIR="+dir, "APACHE_LOG_DIR="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: starting apache2: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	h := &Httpd{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Dir: dir}
	waitListening(t, "apache2", Addr(port), done, func() string { return out.String() + h.ErrorLog() })
	return h
}

// ErrorLog returns what Apache wrote to its error log so far.
func (h *Httpd) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(h.Dir, "error.log"))
	return string(b)
}
