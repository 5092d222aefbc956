package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// -gomaxprocs N sets how many CPUs the Go front may use at once. By default
// (0) it leaves one CPU per Python worker process: the workers do the
// application's work, and a Go runtime allowed every CPU spends what it does
// not need spinning and stealing work against them. On 2 CPUs with 2 worker
// processes that cuts the Go process's CPU per request by about a third
// (figures: bench/README.md, "Tuning the Go front"). The GOMAXPROCS
// environment variable, when set, wins over the default; the flag wins over
// both.
func init() {
	var (
		n  int
		fs *flag.FlagSet
	)
	register(layer{
		name:  "gomaxprocs",
		order: orderEdge,
		flags: func(f *flag.FlagSet) {
			fs = f
			fs.IntVar(&n, "gomaxprocs", 0, "CPUs the Go front may use at once (GOMAXPROCS); 0: what the machine allows minus one per -processes, at least 1, unless the GOMAXPROCS environment variable is set")
		},
		build: func(b *builder) (func(http.Handler) http.Handler, error) {
			if n < 0 {
				return nil, fmt.Errorf("-gomaxprocs %d: must be 0 or more", n)
			}
			processes := 1
			if pf := fs.Lookup("processes"); pf != nil {
				if v, err := strconv.Atoi(pf.Value.String()); err == nil {
					processes = v
				}
			}
			_, envSet := os.LookupEnv("GOMAXPROCS")
			prev := runtime.GOMAXPROCS(0)
			want := goMaxProcs(n, prev, processes, envSet)
			if want == prev {
				return nil, nil
			}
			runtime.GOMAXPROCS(want)
			b.logger.Info("gowsgi: GOMAXPROCS", "was", prev, "now", want, "python_processes", processes)
			b.closers = append(b.closers, func() error {
				runtime.GOMAXPROCS(prev)
				return nil
			})
			return nil, nil
		},
	})
}

// goMaxProcs is the GOMAXPROCS the command runs with: the flag when set,
// else what the runtime chose when the GOMAXPROCS environment variable is
// set, else the CPUs available (the runtime's own choice, which follows
// cgroup limits) minus one per Python worker process, at least 1.
func goMaxProcs(flagN, available, processes int, envSet bool) int {
	switch {
	case flagN > 0:
		return flagN
	case envSet:
		return available
	default:
		return max(1, available-processes)
	}
}

// defaultGOGC is the garbage collector's target the command runs with
// unless the GOGC environment variable is set. The Go front keeps a live
// heap of a few megabytes and allocates a few kilobytes per request, so
// with Go's default (100) it collects dozens of times a second under load
// for little gain: at 400 the collector costs a fraction of its CPU per
// request, for a heap target of a few times more (figures: bench/README.md,
// "Tuning the Go front").
const defaultGOGC = 400

func init() {
	register(layer{
		name:  "gogc",
		order: orderEdge,
		build: func(b *builder) (func(http.Handler) http.Handler, error) {
			if _, set := os.LookupEnv("GOGC"); set {
				return nil, nil
			}
			prev := debug.SetGCPercent(defaultGOGC)
			b.closers = append(b.closers, func() error {
				debug.SetGCPercent(prev)
				return nil
			})
			return nil, nil
		},
	})
}
