package main

import (
	"errors"
	"runtime/debug"
	"strings"
)

// errVersion is parseArgs's answer to -version: print [version] and exit
// 0.
var errVersion = errors.New("version")

// version is the module's version as the build recorded it (a tag, a
// pseudo-version, or "(devel)" for a build from a checkout), the source
// revision when the build knows it, and the Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "gowsgi (no build information)"
	}
	parts := []string{"gowsgi", bi.Main.Version}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	if rev != "" {
		parts = append(parts, "rev "+rev+modified)
	}
	return strings.Join(append(parts, bi.GoVersion), " ")
}
