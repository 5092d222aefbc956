package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestCPUProfile serves requests with -cpuprofile and stops the command with
// SIGTERM: the file must then hold a complete pprof profile (gzip-compressed
// protocol buffer) whose samples include the request path.
func TestCPUProfile(t *testing.T) {
	py := testenv.Python(t)
	script := testenv.WriteFile(t, "", "app.wsgi", shutdownApp)
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	g := startChild(t, childOpts{group: true}, "-python", py, "-processes", "1", "-cpuprofile", prof, script)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 400; j++ {
				resp, err := http.Get("http://" + g.addr + "/")
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, err := g.terminate(false, syscall.SIGTERM, false); err != nil {
		t.Fatalf("%v\n%s", err, g.output())
	}
	if !g.cmd.ProcessState.Success() {
		t.Fatalf("exit status %v\n%s", g.cmd.ProcessState, g.output())
	}
	raw, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("profile is not gzip-compressed (%d bytes): %v", len(raw), err)
	}
	pb, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("profile is truncated: %v", err)
	}
	// Function names are in the profile's string table.
	if !bytes.Contains(pb, []byte("net/http.(*conn).serve")) {
		t.Errorf("profile (%d bytes) has no sample in net/http's request loop", len(pb))
	}
}

// TestCPUProfileBadPath: a profile that cannot be written is an error at
// start, not a silent no-op.
func TestCPUProfileBadPath(t *testing.T) {
	py := testenv.Python(t)
	script := testenv.WriteFile(t, "", "app.wsgi", shutdownApp)
	var stderr bytes.Buffer
	bad := filepath.Join(t.TempDir(), "missing-dir", "cpu.pprof")
	code := run([]string{"-listen", testenv.Addr(testenv.FreePort(t)), "-python", py, "-cpuprofile", bad, script}, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "-cpuprofile") {
		t.Fatalf("exit %d, stderr:\n%s\nwant 1 and a -cpuprofile error", code, stderr.String())
	}
}
