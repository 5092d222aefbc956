package wsgi

import (
	"fmt"
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

// BenchmarkUploadRead measures a 64 MiB upload that the application reads
// with one wsgi.input.read() and hashes (one request at a time, 1 process).
func BenchmarkUploadRead(b *testing.B) {
	benchmarkUpload(b, "/upload?chunk=-1", 64<<20, false)
}

// BenchmarkUploadRead64K is the same read with a loop of read(65536).
func BenchmarkUploadRead64K(b *testing.B) {
	benchmarkUpload(b, "/upload?chunk=65536", 64<<20, false)
}

// BenchmarkUploadReadChunked is BenchmarkUploadRead with a chunked body.
func BenchmarkUploadReadChunked(b *testing.B) {
	benchmarkUpload(b, "/upload?chunk=-1", 64<<20, true)
}

func benchmarkUpload(b *testing.B, path string, size int64, chunked bool) {
	h, _ := newTestHandler(b, Config{Processes: 1})
	srv := serve(b, h)
	want := fmt.Sprintf("%d %s", size, patternSum(size))
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		var body io.Reader = &patternReader{n: size}
		if chunked {
			body = onlyReader{body}
		}
		req, err := http.NewRequest("POST", srv.URL+path, body)
		if err != nil {
			b.Fatal(err)
		}
		if !chunked {
			req.ContentLength = size
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != want {
			b.Fatalf("status %d, body %q, want %q", resp.StatusCode, got, want)
		}
	}
}
