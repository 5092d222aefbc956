// Package reqctx is the logging plumbing the packages of gowsgi share: the
// attributes of a log line about a request and the default logger.
//
// What the layers tell each other about a request (its id, its user, its
// mount) travels in one place, the public package reqinfo's record; this
// package only reads it for the log.
package reqctx

import (
	"log/slog"
	"net/http"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// LogAttrs returns the attributes every log line about r carries: method,
// path and request id ([reqinfo.LogAttrs]).
func LogAttrs(r *http.Request) []any { return reqinfo.LogAttrs(r) }

// Logger returns l, or slog.Default() when l is nil.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
