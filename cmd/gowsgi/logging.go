package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gowsgi/gowsgi/accesslog"
)

// newLogger returns the server's own log, on w, at the level and in the
// format lc names (-log-level, -log-format).
func newLogger(lc logConfig, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	switch lc.Level {
	case "debug":
		level = slog.LevelDebug
	case "info", "":
		level = slog.LevelInfo
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", lc.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch lc.Format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", lc.Format)
}

// accessLog is the access log of -access-log: the Log and, for a file,
// the file that SIGUSR1 reopens.
type accessLog struct {
	*accesslog.Log
	file *accesslog.File // nil for standard output
}

// openAccessLog opens lc's access log; nil when there is none.
func openAccessLog(lc logConfig, logger *slog.Logger) (*accessLog, error) {
	if lc.AccessLog == "" {
		return nil, nil
	}
	format, err := accesslog.ParseFormat(lc.AccessLogFormat)
	if err != nil {
		return nil, fmt.Errorf("-access-log-format: %w", err)
	}
	al := &accessLog{}
	var w io.Writer = os.Stdout
	if lc.AccessLog != "-" {
		if al.file, err = accesslog.OpenFile(lc.AccessLog, 0o640); err != nil {
			return nil, fmt.Errorf("-access-log: %w", err)
		}
		w = al.file
	}
	al.Log, err = accesslog.New(accesslog.Config{Writer: w, Format: format, Logger: logger})
	if err != nil {
		if al.file != nil {
			al.file.Close()
		}
		return nil, fmt.Errorf("-access-log: %w", err)
	}
	return al, nil
}

// reopen opens the access log's file again at its path (SIGUSR1, after
// logrotate renamed it).
func (al *accessLog) reopen(logger *slog.Logger) {
	if al == nil || al.file == nil {
		return
	}
	if err := al.file.Reopen(); err != nil {
		logger.Error("gowsgi: SIGUSR1: -access-log", "err", err)
		return
	}
	logger.Info("gowsgi: SIGUSR1: reopened the access log", "path", al.file.Path())
}

// accessLogGrace bounds how long the command waits at exit for the access
// log's writer (a full disk, a pipe nobody reads): a stuck log must not
// keep the command from exiting.
const accessLogGrace = 5 * time.Second

// close writes the lines still queued, waiting at most accessLogGrace, and
// closes the file.
func (al *accessLog) close(logger *slog.Logger) {
	if al == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), accessLogGrace)
	defer cancel()
	if err := al.Shutdown(ctx); err != nil {
		logger.Error("gowsgi: -access-log", "err", err)
		return // the writer may still use the file
	}
	if al.file != nil {
		al.file.Close()
	}
}
