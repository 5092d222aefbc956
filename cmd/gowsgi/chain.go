package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/gowsgi/gowsgi/filewrap"
	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// middleware is one layer of the chain.
type middleware = func(http.Handler) http.Handler

// buildHandler builds the handler the server runs from cfg, around apps:
// apps[i] serves cfg.Mounts[i] (its worker pool; tests pass plain
// handlers). A request meets the layers in the order they are appended
// below; the framing guard, outermost of all, is on the server itself (see
// [serve]), since it needs the listener.
//
// It checks cfg as it builds, and refuses a configuration that would fail
// open, with an error naming the flag. release closes what the layers
// opened (directory connections, static directories); call it once the
// server stopped, whether or not err is nil.
func buildHandler(cfg config, apps []http.Handler, logger *slog.Logger) (h http.Handler, release func(), err error) {
	var closers []func() error
	release = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			if err := closers[i](); err != nil {
				logger.Error("gowsgi: shutdown", "err", err)
			}
		}
	}
	if len(apps) != len(cfg.Mounts) || len(apps) == 0 {
		return nil, release, fmt.Errorf("%d mounts for %d applications: want one each, at least one", len(cfg.Mounts), len(apps))
	}
	var chain []middleware

	// The client as the trusted reverse proxies name it (address,
	// scheme, host), before anything looks at it: the record below, the
	// virtual host, Require ip, the application. Its PROXY protocol
	// listener is on the server (see [serve]).
	ri, err := buildRemoteIP(cfg.RemoteIP, logger)
	if err != nil {
		return nil, release, err
	}
	if ri != nil {
		chain = append(chain, ri.Wrap)
	}

	// The request's record and its id first, so that every later layer
	// fills the one record and every later log line carries the id (also
	// sent back as X-Request-ID).
	chain = append(chain, reqinfo.RequestID)

	// One canonical path, which every later rule, the mount, the choice
	// of environment and the application all see.
	chain = append(chain, prefix.CanonicalConfig{Logger: logger}.Wrap)

	// The virtual host: other hosts get 421.
	if len(cfg.VHost.Names) > 0 {
		vh, err := prefix.NewVHosts(prefix.VHostConfig{Hosts: []prefix.VHost{{Names: cfg.VHost.Names}}, Logger: logger})
		if err != nil {
			return nil, release, fmt.Errorf("-vhost: %w", err)
		}
		chain = append(chain, vh)
	}

	// The authentication schemes, which the locations and the
	// credential-check URL share.
	p, err := newProviders(cfg.Auth, logger)
	if p != nil {
		closers = append(closers, p.closers...)
	}
	if err != nil {
		return nil, release, err
	}
	schemes, err := buildSchemes(cfg.Auth, p, logger)
	if err != nil {
		return nil, release, err
	}
	if schemes.any && len(cfg.Locations) == 0 && cfg.Auth.CheckURL == "" {
		return nil, release, errors.New("an authentication scheme is configured, but no location (-auth-location, -auth-prefix) or -auth-check-url uses it: it would protect nothing")
	}

	// The credential-check URL, answered here whatever the locations say.
	if cfg.Auth.CheckURL != "" {
		check, err := buildCheckURL(cfg.Auth, schemes, logger)
		if err != nil {
			return nil, release, err
		}
		chain = append(chain, check)
	}

	// The locations, each with its schemes and Require rules.
	for _, loc := range cfg.Locations {
		mw, err := buildLocation(loc, cfg.Auth, schemes, logger)
		if err != nil {
			return nil, release, err
		}
		chain = append(chain, mw)
	}

	// Static files, inside the rules and ahead of the mounts.
	if len(cfg.Static) > 0 {
		static, staticClosers, err := buildStatic(cfg.Static, logger)
		closers = append(closers, staticClosers...)
		if err != nil {
			return nil, release, err
		}
		chain = append(chain, static)
	}

	// The mounts, each in front of its worker pool.
	mounts, err := buildMounts(cfg.Mounts, apps, logger)
	if err != nil {
		return nil, release, err
	}
	return nest(chain, mounts), release, nil
}

// nest wraps h in mws, the first outermost.
func nest(mws []middleware, h http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// buildMounts returns the handler that sends each request to the mount it
// lies under (the longest path, on whole segments), in front of that
// mount's application; other requests get 404.
func buildMounts(ms []mountConfig, apps []http.Handler, logger *slog.Logger) (http.Handler, error) {
	type mounted struct {
		path string // as CleanPrefix returns it: "" for the root
		h    http.Handler
	}
	var all []mounted
	for i, m := range ms {
		path, err := prefix.CleanPrefix(m.Path)
		if err != nil {
			return nil, fmt.Errorf("-mount: %w", err)
		}
		for _, o := range all {
			if o.path == path {
				return nil, fmt.Errorf("-mount %q: mounted twice", m.Path)
			}
		}
		var mw middleware
		if e := m.Environments; e.ParentDir == "" {
			mw, err = prefix.NewMount(path)
			if err != nil {
				return nil, fmt.Errorf("-mount: %w", err)
			}
		} else {
			mw, err = prefix.NewEnvironments(prefix.EnvConfig{
				Mount:            path,
				ParentDir:        e.ParentDir,
				Key:              e.Key,
				PassIndex:        e.PassIndex,
				AllowSymlinksOut: e.AllowSymlinksOut,
				Logger:           logger,
			})
			if err != nil {
				return nil, fmt.Errorf("-env-parent-dir: %w", err)
			}
		}
		all = append(all, mounted{path, mw(apps[i])})
	}
	if len(all) == 1 {
		return all[0].h, nil // the mount answers 404 outside itself
	}
	// Shortest first, so that the longest ends outermost and is tried
	// first.
	sort.Slice(all, func(i, j int) bool { return len(all[i].path) < len(all[j].path) })
	h := http.NotFoundHandler()
	for _, m := range all {
		at := m.path
		if at == "" {
			at = "/"
		}
		loc, err := prefix.NewLocation(at, func(http.Handler) http.Handler { return m.h })
		if err != nil {
			return nil, fmt.Errorf("-mount %q: %w", at, err)
		}
		h = loc(h)
	}
	return h, nil
}

// buildStatic returns the middleware that serves the static directories
// (the longest URL prefix first, so /a/b wins over /a) and passes other
// requests on; closers release the directories, also on error.
func buildStatic(statics []staticConfig, logger *slog.Logger) (middleware, []func() error, error) {
	type mountedStatic struct {
		prefix string
		h      *filewrap.Static
	}
	var (
		ms      []mountedStatic
		closers []func() error
	)
	for _, s := range statics {
		v := s.Flag
		if v == "" {
			v = s.URLPrefix + "=" + s.Dir
		}
		if s.Dir == "" {
			return nil, closers, fmt.Errorf("-static %q: want URLPREFIX=DIR", v)
		}
		p := strings.TrimRight(s.URLPrefix, "/")
		if !strings.HasPrefix(s.URLPrefix, "/") || p == "" {
			return nil, closers, fmt.Errorf("-static %q: URLPREFIX must be an absolute path other than /", v)
		}
		for _, m := range ms {
			if m.prefix == p {
				return nil, closers, fmt.Errorf("-static %q: %s is already served", v, p)
			}
		}
		h, err := filewrap.NewStatic(filewrap.StaticConfig{Root: s.Dir, Prefix: p, Logger: logger})
		if err != nil {
			return nil, closers, fmt.Errorf("-static %q: %w", v, err)
		}
		closers = append(closers, h.Close)
		ms = append(ms, mountedStatic{p, h})
	}
	sort.Slice(ms, func(i, j int) bool { return len(ms[i].prefix) > len(ms[j].prefix) })
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.Path
			for _, m := range ms {
				if rest, ok := strings.CutPrefix(p, m.prefix); ok && (rest == "" || rest[0] == '/') {
					m.h.ServeHTTP(w, r)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}, closers, nil
}
