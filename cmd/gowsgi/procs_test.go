package main

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
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

// registeredLayer returns the layer registered under name.
func registeredLayer(t *testing.T, name string) layer {
	t.Helper()
	for _, l := range layers {
		if l.name == name && l.build != nil {
			return l
		}
	}
	t.Fatalf("no %s layer registered", name)
	return layer{}
}

// TestGoMaxProcsLayer builds the layer from parsed flags: it sets
// GOMAXPROCS, and its closer restores the previous value.
func TestGoMaxProcsLayer(t *testing.T) {
	l := registeredLayer(t, "gomaxprocs")
	build := func(args ...string) (*builder, error) {
		fs := flag.NewFlagSet("gowsgi", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var o options
		o.register(fs)
		l.flags(fs)
		if err := parseFlags(fs, args); err != nil {
			t.Fatal(err)
		}
		b := &builder{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		_, err := l.build(b)
		return b, err
	}
	prev := runtime.GOMAXPROCS(0)
	b, err := build("-processes", "3", "-gomaxprocs", "3")
	if err != nil {
		t.Fatal(err)
	}
	b2, err := build("-gomaxprocs", "1")
	if err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("after -gomaxprocs 1: GOMAXPROCS = %d", got)
	}
	for _, bb := range []*builder{b2, b} {
		for i := len(bb.closers) - 1; i >= 0; i-- {
			if err := bb.closers[i](); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := runtime.GOMAXPROCS(0); got != prev {
		t.Errorf("after the closers: GOMAXPROCS = %d, want %d", got, prev)
	}
	if _, err := build("-gomaxprocs", "-1"); err == nil {
		t.Error("-gomaxprocs -1: no error")
	}
}

// TestGOGCLayer: without GOGC in the environment the command raises the
// collector's target to defaultGOGC, and its closer restores it; with GOGC
// set, the environment's value stays.
func TestGOGCLayer(t *testing.T) {
	l := registeredLayer(t, "gogc")
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
			b := &builder{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if _, err := l.build(b); err != nil {
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
			for i := len(b.closers) - 1; i >= 0; i-- {
				if err := b.closers[i](); err != nil {
					t.Fatal(err)
				}
			}
			if got := debug.SetGCPercent(100); got != 100 {
				t.Errorf("after the closers: GOGC = %d, want 100", got)
			}
		})
	}
}
