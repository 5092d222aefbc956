package chi_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestMain refuses to run the example without Debian's Python under CI=true,
// and skips it (saying so) elsewhere.
func TestMain(m *testing.M) {
	if _, err := os.Stat(python); err != nil {
		if testenv.InCI() {
			fmt.Fprintf(os.Stderr, "examples/chi: %s is required under CI=true: %v\n", python, err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "examples/chi: skipping Example: %s missing (apt-get install python3)\n", python)
		flag.Parse()
		flag.Set("test.skip", "^Example$")
	}
	os.Exit(m.Run())
}
