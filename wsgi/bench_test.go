package wsgi

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkHello measures hello-world requests through a real HTTP server
// and real Python workers (2 processes, 1 thread each), with parallel
// keep-alive clients.
func BenchmarkHello(b *testing.B) {
	benchmarkPath(b, Config{Processes: 2}, "/hello")
}

// BenchmarkHelloThreads is the same with 2 threads per process.
func BenchmarkHelloThreads(b *testing.B) {
	benchmarkPath(b, Config{Processes: 2, Threads: 2}, "/hello")
}

// BenchmarkStream1MiB measures a 1 MiB streamed response (16 chunks).
func BenchmarkStream1MiB(b *testing.B) {
	b.SetBytes(1 << 20)
	benchmarkPath(b, Config{Processes: 2}, "/stream?n=16&size=65536")
}

func benchmarkPath(b *testing.B, cfg Config, path string) {
	h, _ := newTestHandler(b, cfg)
	srv := serve(b, h)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := srv.URL + path
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
