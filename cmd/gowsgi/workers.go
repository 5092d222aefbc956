package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gowsgi/gowsgi/wsgi"
)

// wsgiConfig is the package wsgi configuration of mount m's workers, with
// the server-wide settings of s.
func wsgiConfig(m mountConfig, s serverConfig, logger *slog.Logger) (wsgi.Config, error) {
	w := m.Workers
	cfg := wsgi.Config{
		Script:            m.Script,
		Callable:          m.Callable,
		Processes:         w.Processes,
		Threads:           w.Threads,
		Python:            w.Python,
		PythonPath:        w.PythonPath,
		PythonUserSite:    w.PythonUserSite,
		PassAuthorization: w.PassAuthorization,
		XSendFilePath:     w.XSendFilePath,
		Logger:            logger,
		StartTimeout:      w.StartTimeout,
		RequestTimeout:    w.RequestTimeout,
		QueueTimeout:      w.QueueTimeout,
		QueueSize:         w.QueueSize,
		MaxRequests:       w.MaxRequests,
		MemoryLimit:       w.MemoryLimit,
		InactivityTimeout: w.InactivityTimeout,
		ReloadInterval:    w.ReloadInterval,
		GracefulTimeout:   w.GracefulTimeout,
		MaxRequestBody:    s.LimitRequestBody,
	}
	if !w.Reload {
		cfg.ReloadInterval = -1
	}
	if cfg.MaxRequestBody == 0 {
		cfg.MaxRequestBody = -1 // LimitRequestBody 0: no limit
	}
	for _, e := range w.Env {
		if _, _, err := splitKV("env", e); err != nil {
			return cfg, err
		}
		cfg.Env = append(cfg.Env, e)
	}
	if len(w.Environ) > 0 {
		cfg.Environ = map[string]string{}
		for _, e := range w.Environ {
			k, v, err := splitKV("environ", e)
			if err != nil {
				return cfg, err
			}
			cfg.Environ[k] = v
		}
	}
	return cfg, nil
}

func splitKV(flagName, v string) (string, string, error) {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("-%s %q: want KEY=VALUE", flagName, v)
	}
	return k, val, nil
}

// newDBBudget makes the one budget of database connections that the
// workers of every mount share, for the life of the process (a reload's
// new pools share it with the old ones while those drain); nil without
// -db-max-connections.
func newDBBudget(db dbConfig, logger *slog.Logger) (*wsgi.DBBudget, error) {
	if db.MaxConnections <= 0 {
		return nil, nil
	}
	b, err := wsgi.NewDBBudget(db.MaxConnections, db.ConnectTimeout, logger)
	if err != nil {
		return nil, fmt.Errorf("-db-max-connections: %w", err)
	}
	return b, nil
}

// startPools starts the worker processes of every mount of cfg that runs
// a script (not a uWSGI fleet), one pool each, in cfg.Mounts's order, with
// queueWait as their wsgi.Config.ObserveQueueWait and budget (may be nil)
// as their wsgi.Config.DBBudget. Unless the mount starts
// lazily, a script that cannot load is an error (a typo shows at once, not
// as 503s). On error, the pools already started are stopped.
func startPools(cfg config, logger *slog.Logger, queueWait func(*http.Request, time.Duration), budget *wsgi.DBBudget) ([]*wsgi.Handler, error) {
	var pools []*wsgi.Handler
	for _, m := range cfg.Mounts {
		if len(m.Upstreams) > 0 {
			continue
		}
		wc, err := wsgiConfig(m, cfg.Server, logger)
		wc.ObserveQueueWait = queueWait // metrics; nil without
		wc.DBBudget = budget
		if err == nil {
			err = workerUser(&wc, cfg.Privileges)
		}
		if err == nil {
			var app *wsgi.Handler
			app, err = wsgi.New(wc)
			if err == nil {
				pools = append(pools, app)
				// New waited for every worker's first attempt.
				if rerr := app.Ready(); rerr != nil && !m.Workers.LazyStart {
					err = rerr
				}
			}
		}
		if err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
			stopPools(ctx, pools, logger)
			cancel()
			return nil, err
		}
	}
	return pools, nil
}

// stopPools stops the workers of every pool at once: requests in flight
// may finish until ctx is done (see [stopWorkers]).
func stopPools(ctx context.Context, pools []*wsgi.Handler, logger *slog.Logger) {
	var wg sync.WaitGroup
	for _, app := range pools {
		wg.Go(func() { stopWorkers(ctx, app, logger) })
	}
	wg.Wait()
}
