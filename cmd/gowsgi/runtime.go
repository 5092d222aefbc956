package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
)

// tuneRuntime sets the Go runtime up for cfg: how many CPUs the Go front
// uses, the garbage collector's target and the CPU profile. undo puts the
// runtime back as it was and ends the profile (tests run the command in
// their own process).
func tuneRuntime(cfg config, logger *slog.Logger) (undo func(), err error) {
	var undos []func()
	undo = func() {
		for i := len(undos) - 1; i >= 0; i-- {
			undos[i]()
		}
	}

	// GOMAXPROCS: by default one CPU left to each Python worker process.
	// The workers do the application's work, and a Go runtime allowed every
	// CPU spends what it does not need spinning and stealing work against
	// them (figures: bench/README.md, "Tuning the Go front"). The GOMAXPROCS
	// environment variable, when set, wins over the default; -gomaxprocs
	// wins over both.
	if cfg.Server.GOMAXPROCS < 0 {
		return undo, fmt.Errorf("-gomaxprocs %d: must be 0 or more", cfg.Server.GOMAXPROCS)
	}
	processes := 0
	for _, m := range cfg.Mounts {
		if len(m.Upstreams) == 0 { // a uWSGI fleet runs elsewhere
			processes += max(1, m.Workers.Processes)
		}
	}
	_, envSet := os.LookupEnv("GOMAXPROCS")
	if prev, want := runtime.GOMAXPROCS(0), goMaxProcs(cfg.Server.GOMAXPROCS, runtime.GOMAXPROCS(0), processes, envSet); want != prev {
		runtime.GOMAXPROCS(want)
		logger.Info("gowsgi: GOMAXPROCS", "was", prev, "now", want, "python_processes", processes)
		undos = append(undos, func() { runtime.GOMAXPROCS(prev) })
	}

	// GOGC: the Go front keeps a live heap of a few megabytes and
	// allocates a few kilobytes per request, so with Go's default (100) it
	// collects dozens of times a second under load for little gain. The
	// GOGC environment variable, when set, wins.
	if _, set := os.LookupEnv("GOGC"); !set {
		prev := debug.SetGCPercent(defaultGOGC)
		undos = append(undos, func() { debug.SetGCPercent(prev) })
	}

	// The CPU profile, from here to the end (-cpuprofile).
	if path := cfg.Profiling.CPUProfile; path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			return undo, err
		}
		logger.Info("gowsgi: writing a CPU profile", "file", path)
		undos = append(undos, func() {
			if err := stop(); err != nil {
				logger.Error("gowsgi: shutdown", "err", err)
			}
		})
	}
	return undo, nil
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
// unless the GOGC environment variable is set: at 400 the collector costs
// a fraction of its CPU per request at the default's, for a heap target of
// a few times more (figures: bench/README.md, "Tuning the Go front").
const defaultGOGC = 400

// startCPUProfile starts profiling into a new file at path, for go tool
// pprof and for profile-guided optimization (bench/pgo.sh makes
// default.pgo with it). Only the Go front is profiled; the Python workers
// are separate processes. The function it returns stops the profile and
// closes the file.
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
