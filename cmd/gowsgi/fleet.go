package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gowsgi/gowsgi/uwsgi"
	"github.com/gowsgi/gowsgi/wsgi"
)

// uwsgiConfig is the package uwsgi configuration of mount m, served by its
// uWSGI fleet, with the server-wide settings of s. It shares the environ
// settings and the request and queue timeouts with a mount's workers.
func uwsgiConfig(m mountConfig, s serverConfig, logger *slog.Logger) (uwsgi.Config, error) {
	// The environ's settings as for local workers.
	wc, err := wsgiConfig(m, s, logger)
	if err != nil {
		return uwsgi.Config{}, err
	}
	cfg := uwsgi.Config{
		MaxConns:          m.UpstreamMaxConns,
		RequestTimeout:    m.Workers.RequestTimeout,
		QueueTimeout:      m.Workers.QueueTimeout,
		QueueSize:         m.Workers.QueueSize,
		MaxRequestBody:    wc.MaxRequestBody,
		PassAuthorization: wc.PassAuthorization,
		Environ:           wc.Environ,
		Logger:            logger,
	}
	if cfg.MaxConns < 0 {
		return cfg, fmt.Errorf("-upstream-max-conns %d: must be 0 or more", cfg.MaxConns)
	}
	for _, u := range m.Upstreams {
		addr, ok := strings.CutPrefix(u, "uwsgi://")
		if !ok || addr == "" || strings.ContainsAny(addr, "/?#") {
			return cfg, fmt.Errorf("-upstream %q: want uwsgi://HOST:PORT", u)
		}
		cfg.Upstreams = append(cfg.Upstreams, addr)
	}
	return cfg, nil
}

// startFleets makes the handlers of the mounts served by uWSGI fleets, in
// cfg.Mounts's order, and nil for the others. Nothing connects before the
// first request. On error, those made are closed.
func startFleets(cfg config, logger *slog.Logger) ([]*uwsgi.Handler, error) {
	fleets := make([]*uwsgi.Handler, len(cfg.Mounts))
	for i, m := range cfg.Mounts {
		if len(m.Upstreams) == 0 {
			continue
		}
		uc, err := uwsgiConfig(m, cfg.Server, logger)
		if err == nil {
			fleets[i], err = uwsgi.New(uc)
			if err != nil {
				err = fmt.Errorf("-upstream: %w", err)
			}
		}
		if err != nil {
			closeFleets(fleets)
			return nil, err
		}
	}
	return fleets, nil
}

// closeFleets stops the fleets' probes.
func closeFleets(fleets []*uwsgi.Handler) {
	for _, f := range fleets {
		if f != nil {
			f.Close()
		}
	}
}

// mountApps returns the application of each mount, in cfg.Mounts's order:
// its uWSGI fleet, or the next of pools (the local workers of the mounts
// without a fleet, in order).
func mountApps(fleets []*uwsgi.Handler, pools []*wsgi.Handler) []http.Handler {
	apps := make([]http.Handler, len(fleets))
	next := 0
	for i, f := range fleets {
		if f != nil {
			apps[i] = f
			continue
		}
		apps[i] = pools[next]
		next++
	}
	return apps
}
