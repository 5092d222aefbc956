package filewrap_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/filewrap"
	"github.com/gowsgi/gowsgi/internal/testenv"
)

// BenchmarkSend1GiB downloads a 1 GiB file (in the page cache) over loopback
// with curl, a separate process, so that the rusage of this process is the
// server's alone. It reports throughput (MB/s, GB/s) and the server's CPU
// time (user+system) per GiB sent, with sendfile and with the copy a
// wrapper without ReadFrom forces.
//
//	go test -run '^$' -bench Send1GiB -benchtime 5x ./filewrap/
func BenchmarkSend1GiB(b *testing.B) {
	curl := testenv.LookPath(b, "curl", "curl")
	const size = 1 << 30
	path := filepath.Join(b.TempDir(), "1GiB")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	block := pattern(1<<20, 11)
	for i := 0; i < size/len(block); i++ {
		block[0] = byte(i) // no two MiB alike
		if _, err := f.Write(block); err != nil {
			b.Fatal(err)
		}
	}
	// Clean pages: no writeback competing with the first runs.
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for _, bm := range []struct {
		name string
		wrap func(http.ResponseWriter) http.ResponseWriter
	}{
		{"sendfile", func(w http.ResponseWriter) http.ResponseWriter { return wrapRW(wrapRW(w)) }},
		{"copy", func(w http.ResponseWriter) http.ResponseWriter { return noReadFrom{w} }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				f, err := os.Open(path)
				if err != nil {
					b.Error(err)
					return
				}
				defer f.Close()
				w = bm.wrap(w)
				filewrap.Fail(w, r, nil, filewrap.Send(w, r, 200, f, 0, -1))
			}))
			defer srv.Close()
			b.SetBytes(size)
			cpu0 := cpuTime(b)
			start := time.Now()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var out bytes.Buffer
				cmd := exec.Command(curl, "-sS", "-o", "/dev/null", "--write-out", "%{size_download}", srv.URL)
				cmd.Stdout = &out
				if err := cmd.Run(); err != nil || out.String() != "1073741824" {
					b.Fatalf("curl: %v, %q bytes", err, out.String())
				}
			}
			b.StopTimer()
			elapsed := time.Since(start)
			cpu := cpuTime(b) - cpu0
			gib := float64(b.N)
			b.ReportMetric(gib*size/1e9/elapsed.Seconds(), "GB/s")
			b.ReportMetric(cpu.Seconds()/gib, "cpu-s/GiB")
		})
	}
}

// cpuTime is the user+system time of this process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
