package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
)

func TestGoMaxProcs(t *testing.T) {
	tests := []struct {
		name                    string
		flagN, available, procs int
		envSet                  bool
		want                    int
	}{
		{"one CPU left per worker", 0, 8, 2, false, 6},
		{"two CPUs, two workers", 0, 2, 2, false, 1},
		{"more workers than CPUs", 0, 2, 4, false, 1},
		{"environment wins over the default", 0, 3, 2, true, 3},
		{"flag wins over the environment", 4, 3, 2, true, 4},
		{"flag above the CPUs", 16, 2, 1, false, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := goMaxProcs(tt.flagN, tt.available, tt.procs, tt.envSet); got != tt.want {
				t.Errorf("goMaxProcs(%d, %d, %d, %v) = %d, want %d", tt.flagN, tt.available, tt.procs, tt.envSet, got, tt.want)
			}
		})
	}
}

// TestTuneRuntime: -gomaxprocs sets GOMAXPROCS, and undo restores the
// previous value; a negative value is refused.
func TestTuneRuntime(t *testing.T) {
	tune := func(args ...string) (func(), error) {
		return tuneRuntime(parseTestArgs(t, args...), quiet)
	}
	prev := runtime.GOMAXPROCS(0)
	undo, err := tune("-processes", "3", "-gomaxprocs", "3")
	if err != nil {
		t.Fatal(err)
	}
	undo2, err := tune("-gomaxprocs", "1")
	if err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("after -gomaxprocs 1: GOMAXPROCS = %d", got)
	}
	undo2()
	undo()
	if got := runtime.GOMAXPROCS(0); got != prev {
		t.Errorf("after undo: GOMAXPROCS = %d, want %d", got, prev)
	}
	if undo, err := tune("-gomaxprocs", "-1"); err == nil {
		undo()
		t.Error("-gomaxprocs -1: no error")
	}
}

// TestTuneRuntimeGOGC: without GOGC in the environment the command raises
// the collector's target to defaultGOGC, and undo restores it; with GOGC
// set, the environment's value stays.
func TestTuneRuntimeGOGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	for _, env := range []string{"", "150"} {
		t.Run("GOGC="+env, func(t *testing.T) {
			if env == "" {
				if old, ok := os.LookupEnv("GOGC"); ok {
					os.Unsetenv("GOGC")
					defer os.Setenv("GOGC", old)
				}
			} else {
				t.Setenv("GOGC", env)
			}
			undo, err := tuneRuntime(parseTestArgs(t, "-gomaxprocs", strconv.Itoa(runtime.GOMAXPROCS(0))), quiet)
			if err != nil {
				t.Fatal(err)
			}
			want := defaultGOGC
			if env != "" {
				want = 100 // what the runtime was left at; the variable is read at start-up
			}
			if got := debug.SetGCPercent(100); got != want {
				t.Errorf("GOGC during the run = %d, want %d", got, want)
			}
			debug.SetGCPercent(want)
			undo()
			if got := debug.SetGCPercent(100); got != 100 {
				t.Errorf("after undo: GOGC = %d, want 100", got)
			}
		})
	}
}
