package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
)

// -cpuprofile FILE writes a CPU profile (pprof format) of the Go process,
// from start to shutdown, for `go tool pprof` — and for profile-guided
// optimization: bench/pgo.sh makes cmd/gowsgi/default.pgo with it, which
// `go build` then uses. Only the Go front is profiled; the Python workers
// are separate processes.
func init() {
	var path string
	register(layer{
		name:  "cpuprofile",
		order: orderEdge,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&path, "cpuprofile", "", "write a CPU profile of the Go process (pprof) to `file` until the command exits; see bench/pgo.sh")
		},
		build: func(b *builder) (func(http.Handler) http.Handler, error) {
			if path == "" {
				return nil, nil
			}
			stop, err := startCPUProfile(path)
			if err != nil {
				return nil, err
			}
			b.logger.Info("gowsgi: writing a CPU profile", "file", path)
			b.closers = append(b.closers, stop)
			return nil, nil
		},
	})
}

// startCPUProfile starts profiling into a new file at path; the function it
// returns stops the profile and closes the file.
func startCPUProfile(path string) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		return nil
	}, nil
}
