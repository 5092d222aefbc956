package wsgi

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestCredential: root starting the workers with Config.Credential runs
// them as that user, with the adapter's file and directory theirs (the
// workers must read it), and removes them at Close.
func TestCredential(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "needs root (to start workers as another user)")
	}
	// Directories the other user can enter: t.TempDir is root's alone.
	dir, err := os.MkdirTemp("/tmp", "gowsgi-cred-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o1777); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	script := testenv.WriteFile(t, dir, "uid.wsgi", `import os
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%d %d' % (os.getuid(), os.getgid())).encode()]
`)
	h, _ := newTestHandler(t, Config{Script: script, Credential: &syscall.Credential{Uid: 65534, Gid: 65534}})
	srv := serve(t, h)
	if status, body := get(t, srv.URL+"/"); status != 200 || body != "65534 65534" {
		t.Fatalf("worker: %d %q, want uid and gid 65534", status, body)
	}
	path := h.adapter.path
	for _, p := range []string{path, filepath.Dir(path)} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: owner %d, mode %v; want the workers' user's alone", p, st.Uid, fi.Mode())
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("the adapter's directory is still there after Close: %v", err)
	}
}
