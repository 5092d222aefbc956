package gowsgi_test

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// peer is a real program some examples need, started once by TestMain.
type peer struct {
	name     string
	examples []string // the examples that need it
	start    func(tb testing.TB)
}

// peers lists what the examples need beyond Python. Each example file
// appends its own in an init function.
var peers []peer

// TestMain starts the peers the selected examples need (Python for all,
// slapd, the MIT KDC and PostgreSQL for some). When one cannot start
// because it is not installed, the examples that need it are skipped with a
// note on stderr, except under CI=true, where that fails the run; any other
// failure to start a peer fails the run.
func TestMain(m *testing.M) {
	flag.Parse()
	// The examples' log lines (bad credentials, refused paths) go to
	// stderr and are not part of their output; keep only errors.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))

	tm := testenv.NewMain("gowsgi")
	var skip []string
	all := append([]peer{{
		name:     "python",
		examples: []string{"Example.*"},
		start: func(tb testing.TB) {
			if p := testenv.Python(tb); p != python {
				tb.Skipf("%s missing (apt-get install python3); found only %s", python, p)
			}
		},
	}}, peers...)
	for _, p := range all {
		if !selected(p.examples) {
			continue
		}
		reason, skipped, ok := tm.Try(p.start)
		if ok {
			continue
		}
		if !skipped || testenv.InCI() {
			fmt.Fprintf(os.Stderr, "gowsgi: starting %s: %s\n", p.name, reason)
			tm.Close()
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "gowsgi: skipping %s: %s\n", strings.Join(p.examples, ", "), reason)
		skip = append(skip, p.examples...)
	}
	if len(skip) > 0 {
		re := "^(" + strings.Join(skip, "|") + ")$"
		if old := flag.Lookup("test.skip").Value.String(); old != "" {
			re = old + "|" + re
		}
		flag.Set("test.skip", re)
	}
	code := m.Run()
	tm.Close()
	os.Exit(code)
}

// selected reports whether -test.run (and -test.skip) leave any of the
// named examples to run, so that peers nobody needs are not started.
func selected(examples []string) bool {
	run, _ := regexp.Compile(flag.Lookup("test.run").Value.String())
	skipFlag := flag.Lookup("test.skip").Value.String()
	var skip *regexp.Regexp
	if skipFlag != "" {
		skip, _ = regexp.Compile(skipFlag)
	}
	for _, name := range examples {
		name = strings.TrimSuffix(name, ".*")
		if (run == nil || run.MatchString(name)) && (skip == nil || !skip.MatchString(name)) {
			return true
		}
	}
	return false
}
