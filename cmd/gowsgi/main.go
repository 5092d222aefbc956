// Command gowsgi runs a Python WSGI script behind a Go HTTP server, with the
// layers of this module composed: authentication, Require rules, mounts and
// the worker processes. It is to gowsgi what mod_wsgi-express is to mod_wsgi.
//
// Usage:
//
//	gowsgi [flags] path/to/app.wsgi
//	gowsgi -f httpd.conf [-t | -dump] [flags]
//
// Run gowsgi -h for the flags.
//
// # Configuration file
//
// -f FILE serves an Apache httpd configuration file (the subset package
// internal/apacheconf reads and checks): several virtual hosts, mounts and
// locations, each location with its own authentication and rules. -t checks
// it as apachectl configtest does, -dump prints it resolved; SIGHUP reads
// it again, keeping the running configuration if the file has errors. Each
// request is resolved as Apache merges the file's sections, and runs the
// chain built for exactly those settings (filechain.go); conffile.go maps
// the file onto the same config and buildHandler as the flags, with one
// worker pool per (process group, application group, script). With -f,
// only the flags no directive expresses are allowed.
//
// # The chain
//
// A request meets, in this order: the framing guard (see "Request framing"
// below), the access log and the request metrics (-access-log,
// -status-addr; see "Logs"), the client as the trusted reverse proxies name
// it (see "Behind a reverse proxy"), a request id and the canonical path
// (package prefix), the
// virtual host (-vhost), the credential-check URL (-auth-check-url), the
// authentication schemes and -require rules of the guarded paths
// (-auth-location or -auth-prefix, else every path), the static files
// (-static), the mount (-mount, -env-parent-dir) and its worker processes.
// In the source, the flags fill a config (config.go, flags.go) and
// buildHandler (chain.go) builds the chain from it in that order.
//
// # Startup
//
// The command starts the workers before it listens. If the script cannot be
// loaded (an import error, a syntax error), it exits with status 1, printing
// the traceback and the interpreter it ran (-python as found on PATH, and
// the worker's own sys.executable and version): a broken deployment shows at
// once rather than as 503s. -lazy-start serves anyway, as Apache with
// mod_wsgi does: requests get 503 while the workers retry with backoff.
//
// The workers run without the current directory and the user site directory
// on sys.path (-python-user-site puts the latter back); -python-path and a
// PYTHONPATH given with -env are honoured, and -python naming a virtual
// environment's bin/python runs them in that environment. ps shows each as
// "python3 -u -s /tmp/gowsgi-.../gowsgi_worker.py SCRIPT #N", top (on Linux)
// as "wsgi:SCRIPT #N". What the application prints to stdout or stderr is
// logged line by line as it comes (python -u).
//
// # HTTPS
//
// -tls-cert FILE -tls-key FILE serve HTTPS on -listen (mod_ssl's
// SSLCertificateFile and SSLCertificateKeyFile): TLS 1.2 and 1.3 with Go's
// default cipher suites and curves, HTTP/2 to clients that offer it
// (-http2=false: HTTP/1.1 only), and the application sees
// wsgi.url_scheme "https" and HTTPS "on". SIGHUP reads the two files again:
// new connections get the new certificate, open ones keep theirs, and a
// pair that does not load (or a certificate out of its validity) is logged
// and the certificate in use kept. Plain HTTP sent to the HTTPS port gets
// 400.
//
// -acme-domain NAME (repeatable) obtains the certificates from an ACME
// authority instead (mod_md; package golang.org/x/crypto/acme/autocert):
// Let's Encrypt unless -acme-dir names another directory, -acme-ca-root
// trusting a private or test authority's root for it. A certificate is
// ordered on the first handshake naming its domain (SNI; other names are
// refused), kept in -acme-cache with the account key, served from there
// after a restart, and renewed while serving a third of its lifetime (at
// most 30 days) before it expires. The authority validates with
// TLS-ALPN-01 on -listen (it connects to port 443) or HTTP-01 on
// -redirect-http (port 80). Running with -acme-domain accepts the
// authority's terms of service.
//
// -redirect-http ADDR listens for plain HTTP and answers 308 Permanent
// Redirect to the same URL over HTTPS (mod_wsgi-express --https-only), on
// -listen's port, and ACME's HTTP-01 challenges. -hsts DURATION sends
// Strict-Transport-Security: max-age=DURATION with every HTTPS response.
//
// Basic sends passwords readable, and Digest's MD5 can be attacked offline
// from what crosses the network: the command logs a warning when either is
// configured over plain HTTP on an address other than loopback. Serve them
// over HTTPS, or keep a TLS-terminating proxy in front.
//
// # Signals and shutdown
//
// SIGHUP replaces the worker processes gracefully (as a change of the script
// does), and reads -tls-cert and -tls-key again. SIGUSR1 reopens the
// access log (see "Logs"). SIGTERM or SIGINT stops the command within
// -shutdown-timeout (default 10s), after -shutdown-delay (default 0) during
// which it still serves while /readyz answers 503:
//
//   - the listening socket closes at once, and idle keep-alive connections
//     with it; every other connection closes after its current response;
//   - requests in flight, and those already waiting for a worker, may finish
//     until the timeout passes;
//   - then the workers are stopped: their sockets close, and those still
//     running a second later are killed. A request cut short this way is
//     answered 502 if nothing of its response was sent yet; otherwise its
//     connection is closed mid-body (a chunked body lacks its last chunk, a
//     body with a Content-Length is short), so that a client never takes a
//     truncated response for a complete one. Requests still waiting for a
//     worker get 503.
//
// -shutdown-timeout 0 stops the requests in flight at once. The workers get
// at most 5 more seconds to exit; the command then exits whatever they do (a
// worker still alive is killed by its parent-death signal). A second SIGTERM
// or SIGINT during the shutdown ends the command at once, the workers with
// it. -graceful-timeout does not apply to the shutdown: it bounds how long a
// worker being replaced (reload, recycling) may finish its requests.
//
// A signal sent to the whole process group also reaches the Python workers.
// They ignore SIGINT, so Ctrl-C in a terminal shuts down as above. They exit
// at once on SIGTERM (kill -- -PGID): the requests they were running are
// answered 502, those queued behind them go to the replacement workers
// started meanwhile, and the command exits as above. To let requests in
// flight finish, send SIGTERM to the command alone (its process id), as
// systemd does with KillMode=mixed.
//
// # Behind a reverse proxy
//
// -trusted-proxy CIDR (repeatable; mod_remoteip's RemoteIPTrustedProxy)
// makes the forwarding header that -remote-ip-header names
// (X-Forwarded-For, the default, with X-Forwarded-Proto and
// X-Forwarded-Host, or RFC 7239 Forwarded; RemoteIPHeader) believed from
// those peers, and only from them: the right-most address that is not a
// trusted proxy becomes the client's (REMOTE_ADDR, -require 'ip ...', the
// access log, /server-status), and the forwarded scheme and host become
// wsgi.url_scheme, HTTPS, HTTP_HOST and SERVER_NAME (and the host of
// -redirect-http's redirects). -proxy-protocol
// (RemoteIPProxyProtocol) reads HAProxy's PROXY protocol v1 or v2 from
// those peers on the listener, and closes a trusted peer's connection
// without it, or an untrusted peer's with it; -proxy-protocol=optional
// accepts trusted peers without it; with -tls-cert or -acme-domain, the
// header comes before the TLS handshake (HAProxy in TCP mode passing TLS
// through). The layer (package remoteip) goes inside the access log and
// outside every other one, and its PROXY listener under TLS and the
// framing guard. See package remoteip for the details, and for why one
// header only.
//
// # Request framing
//
// Every connection goes through package framing's guard (over HTTPS, after
// the TLS handshake, on HTTP/1 connections): a request with
// both Content-Length and Transfer-Encoding (or another head a proxy in
// front could frame otherwise) gets 400 and its connection is closed, so
// nothing pipelined behind it is served. A body larger than
// -limit-request-body (default 1 GiB, Apache's LimitRequestBody) gets 413.
//
// # Logs
//
// The server's own log goes to standard error, as text (key=value) or, with
// -log-format json, one JSON object per line; -log-level (debug, info,
// warn, error) sets the least level written. Every line about a request
// carries its request id.
//
// -access-log FILE writes one line per request ("-": to standard output),
// in Apache's combined format (%h %l %u %t "%r" %>s %b "%{Referer}i"
// "%{User-Agent}i", %u the user the authentication layers established), or
// with -access-log-format json as a JSON object with the fields time,
// remote, user, method, uri, proto, status, bytes, duration (seconds),
// request_id, worker_pid and mount (see package accesslog). The access log
// is outermost (inside the framing guard): the refusals of every layer
// (400, 401, 404, 421, 503) are logged. No request waits for the disk: a
// line goes into a queue of 8192 that one goroutine writes out; when the
// queue is full (a slow or full disk, a pipe nobody reads) the line is
// dropped and counted. The count is logged (a warning with the number
// dropped, at most once a minute while it grows), served by -status-addr
// as the metric gowsgi_access_log_dropped_total, in the expvar variable
// gowsgi_access_log (written, dropped, queued), on /server-status and as
// AccessLogDropped in ?auto. At exit the command writes the lines still
// queued, waiting at most 5 seconds for a stuck writer.
//
// SIGUSR1 reopens the access log at its path, as nginx does: logrotate
// renames the file, then its postrotate runs kill -USR1 on the command's
// pid; lines written in between go to the renamed file. A file that cannot
// be reopened is logged and the old one kept.
//
// # Health, metrics and the status page
//
// -status-addr serves, for the operator (keep it on loopback or a private
// address):
//
//   - /healthz: 200 while every mount has at least one worker process in
//     service, else 503 with the reason (with -lazy-start, a script that
//     does not load);
//   - /readyz: 200 while the server accepts requests; 503 from the moment
//     SIGTERM or SIGINT arrives. -shutdown-delay D keeps serving for D
//     after that (Caddy's shutdown_delay), so that load balancers that
//     poll /readyz stop sending requests before the listener closes; the
//     shutdown then proceeds as below;
//   - /metrics: Prometheus's text format: gowsgi_http_requests_total{code,
//     method,mount}, gowsgi_http_request_duration_seconds{mount} (a
//     histogram, from arrival to the end of the response),
//     gowsgi_queue_wait_seconds{mount} (the wait for a worker thread),
//     gowsgi_workers{mount,state} (threads busy and idle),
//     gowsgi_worker_processes{mount}, gowsgi_queue_length{mount},
//     gowsgi_worker_restarts_total{mount,cause},
//     gowsgi_worker_failures_total{mount,cause},
//     gowsgi_worker_requests_total{mount}, gowsgi_sendfile_bytes_total
//     (bytes sent as files), gowsgi_auth_total{scheme,outcome} (requests on
//     which authentication decided something: outcome ok, failed, denied,
//     unavailable), gowsgi_access_log_dropped_total, and the Go runtime's
//     and the process's own (go_*, process_*). The method label is OTHER
//     for a non-standard method; mount is "" for a request no mount took
//     (a static file, a refusal before the mount);
//   - /server-status: mod_status's page, in HTML without JavaScript:
//     each worker process (pid, state, requests served, RSS read from
//     /proc, uptime) and each of its threads, with the request it runs
//     (how long it has run, method, request target, client, user, request
//     id) and how many are queued behind it; then the requests waiting for
//     a worker. ?refresh=N reloads it every N seconds (a meta refresh).
//     ?auto gives it as "Key: value" lines, mod_status's machine-readable
//     form, with Apache's key names where the meaning is the same
//     (ServerUptimeSeconds, Uptime, Total Accesses, ReqPerSec, BusyWorkers,
//     IdleWorkers, Processes, Scoreboard: one letter per thread, "_" idle,
//     "W" running a request, "S" starting, "G" finishing before its process
//     stops) and gowsgi's own for the rest (ServerVersion, CurrentTime,
//     QueuedRequests, WorkerRestarts, AccessLogDropped when there is an
//     access log, Draining: 1 once shutdown began);
//   - the worker statistics as JSON at /, the expvar variables at
//     /debug/vars, the Go profiles at /debug/pprof/.
//
// The request metrics and the access log read the request's record (the
// user, the authentication outcome, the mount, the worker pid), as an
// embedding server can with package accesslog's Observe.
// # Timeouts and limits
//
// The guard also times each connection and bounds each request head, with
// Apache's directives and defaults (limits.go): -request-read-timeout
// (mod_reqtimeout: a head within 20 s, up to 40 s at 500 bytes/s; a body
// within 20 s plus a second per 500 bytes), -timeout (60 s for any one
// read or write, not for the whole response), -keep-alive-timeout (75 s,
// above load balancers' usual 60 s idle timeout; 0 turns keep-alive off),
// -limit-request-line (414), -limit-request-field-size (431) and
// -limit-request-fields (400), 8190, 8190 and 100.
//
// # Privileges
//
// Started as root, the command refuses to run its workers as root unless
// -allow-root. With -user (and -group), it starts the workers as that
// user, binds its port, then drops to that user itself before serving
// (privileges.go): what it opens as root is opened before that point in
// serve, and what it starts or opens afterwards (new workers on reload or
// recycling, files reopened) it does as the user.
//
// # systemd
//
// With NOTIFY_SOCKET set (Type=notify), the command sends READY=1 once it
// serves, RELOADING=1 on SIGHUP, STOPPING=1 when it shuts down; with a
// socket passed by systemd (LISTEN_FDS), it serves that socket rather than
// -listen (systemd.go). The workers inherit neither. See
// examples/systemd.
//
// # Profiling
//
// -cpuprofile FILE writes a CPU profile of the Go process, from start to
// shutdown, for go tool pprof. The command is built with profile-guided
// optimization from default.pgo, a profile made by bench/pgo.sh; build with
// -pgo=off to leave it out.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/framing"
	"github.com/gowsgi/gowsgi/uwsgi"
	"github.com/gowsgi/gowsgi/wsgi"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is main without the exit, for tests: the command line becomes a
// [config] (exit 2 if it cannot), which [serve] runs (exit 1 on error).
func run(args []string, stderr io.Writer) int {
	cfg, err := parseArgs(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0 // -h: the usage was asked for
	case errors.Is(err, errVersion):
		fmt.Println(version())
		return 0
	case err != nil:
		return 2
	}
	if cfg.File != nil {
		// -f: read the file; -t and -dump stop there (conffile.go).
		if code, done := runFile(&cfg, os.Stdout, stderr); done {
			return code
		}
	}
	logger, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "gowsgi: "+err.Error())
		return 2
	}
	if err := serve(cfg, logger); err != nil {
		logger.Error("gowsgi: " + err.Error())
		var se *wsgi.StartError
		if errors.As(err, &se) {
			// The traceback as Python wrote it, not as a quoted attribute.
			fmt.Fprintf(stderr, "%s\ngowsgi: %s did not load with %s; -lazy-start serves 503 until it does\n", se.Output, se.Script, se.Python)
		}
		return 1
	}
	return 0
}

// serve runs cfg until SIGTERM or SIGINT: the Go runtime's settings, the
// worker pools, the handler chain, then the server, with the framing guard
// outermost on every connection.
func serve(cfg config, logger *slog.Logger) error {
	undoRuntime, err := tuneRuntime(cfg, logger)
	defer undoRuntime()
	if err != nil {
		return err
	}

	// What systemd passed (a listening socket, a notify socket) is taken
	// before the workers start, so that they inherit neither.
	sd, err := fromSystemd(logger)
	if err != nil {
		return err
	}
	defer sd.close()

	// HTTPS (tls.go), checked before the workers start: nil for plain
	// HTTP.
	https, err := newHTTPS(cfg, logger)
	if err != nil {
		return err
	}
	defer https.close()

	// The access log and the metrics, which the workers report to; the
	// access log is closed last, once every request was logged.
	op, err := newOperator(cfg, logger)
	if err != nil {
		return err
	}
	defer op.close(logger)

	// The workers start before the server listens; a mount served by a
	// uWSGI fleet has its handler instead.
	fleets, err := startFleets(cfg, logger)
	if err != nil {
		return err
	}
	// Started as root, the workers run as -user, or -allow-root; checked
	// after the other settings, so that a mistake in them is the error
	// reported.
	if err := checkPrivileges(cfg.Privileges); err != nil {
		closeFleets(fleets)
		return err
	}
	budget, err := newDBBudget(cfg.DB, logger)
	if err != nil {
		closeFleets(fleets)
		return err
	}
	pools, err := startPools(cfg, logger, op.queueWait(), budget)
	if err != nil {
		closeFleets(fleets)
		return err
	}
	op.setServing(cfg.Mounts, fleets, pools)
	var stopOnce sync.Once
	stopApps := func(ctx context.Context) {
		stopOnce.Do(func() {
			stopPools(ctx, pools, logger)
			closeFleets(fleets)
		})
	}
	apps := mountApps(fleets, pools)

	h, closeChain, err := buildHandler(cfg, apps, logger)
	// The workers stop before what the chain opened is closed. After a
	// signal, shutdown has already stopped them; this covers the early
	// returns.
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
		defer cancel()
		stopApps(ctx)
		closeChain()
	}()
	if err != nil {
		return err
	}
	// With -f, SIGHUP swaps the whole handler (conffile.go).
	var live *liveFile
	if cfg.File != nil {
		live = newLiveFile(cfg, h, op.queueWait(), logger)
		live.serving = op.setServing
		live.budget = budget
		h = live
	}
	// The access log and the request metrics, outermost.
	h = op.wrap(h)

	// Checked by buildHandler already.
	ri, err := buildRemoteIP(cfg.RemoteIP, logger)
	if err != nil {
		return err
	}
	ln, err := sd.listen(cfg.Server.Listen)
	if err != nil {
		return err
	}
	if ri != nil {
		// The PROXY header comes first on a connection: read it
		// below the framing guard's scanner, which must see only the
		// HTTP bytes after it.
		ln = ri.Listener(ln)
	}
	srv := &http.Server{
		Handler:  h,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Outermost, on every connection: requests a proxy in front could
	// frame otherwise (request smuggling) get 400 and a closed connection.
	// Under TLS, the guard reads each HTTP/1 connection's plain text.
	guard := &framing.Guard{Logger: logger}
	// The guard also times each connection's reads and writes and checks
	// its heads against the limits.
	applyLimits(cfg.Limits, srv, guard)
	ln = https.configure(srv, ln, guard)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	errc := make(chan error, 2)
	// Everything the process must open as root (its listening socket,
	// files only root may read) is opened above this line: from here on
	// it runs as -user, for good.
	if err := dropPrivileges(cfg.Privileges, logger); err != nil {
		ln.Close()
		return err
	}
	go func() { errc <- srv.Serve(ln) }()
	if addr := cfg.Server.StatusAddr; addr != "" {
		sln, err := net.Listen("tcp", addr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("-status-addr: %w", err)
		}
		ssrv := &http.Server{Handler: op.handler(statusHandler(op.currentView)), ReadHeaderTimeout: 10 * time.Second}
		defer ssrv.Close()
		go func() {
			if err := ssrv.Serve(sln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("status server: %w", err)
			}
		}()
		logger.Info("gowsgi: serving statistics", "addr", sln.Addr().String())
	}
	var front middleware
	if ri != nil {
		front = ri.Wrap
	}
	https.serveRedirect(ln.Addr(), front, errc)
	for _, m := range cfg.Mounts {
		if len(m.Upstreams) > 0 {
			logger.Info("gowsgi: serving", "addr", ln.Addr().String(), "upstreams", strings.Join(m.Upstreams, " "))
			continue
		}
		logger.Info("gowsgi: serving", "addr", ln.Addr().String(), "script", m.Script)
	}
	sd.ready()
wait:
	for {
		select {
		case err := <-errc:
			return err
		case <-hup:
			https.reload()
			if live != nil {
				logger.Info("gowsgi: SIGHUP: reading the configuration file again", "file", cfg.File.Path)
				live.reload(&pools, &closeChain)
				continue
			}
			logger.Info("gowsgi: SIGHUP: reloading the workers")
			sd.reloading()
			for _, p := range pools {
				p.Reload()
			}
			sd.ready()
		case <-usr1:
			op.alog.reopen(logger)
		case <-ctx.Done():
			break wait
		}
	}
	sd.stopping()
	// A second SIGTERM or SIGINT ends the process at once (the workers
	// die with it: parent-death signal).
	stop()
	// /readyz answers 503 from now on; with -shutdown-delay, requests
	// are still served meanwhile, so that load balancers stop first.
	op.draining.Store(true)
	if d := cfg.Health.ShutdownDelay; d > 0 {
		logger.Info("gowsgi: shutdown delay: still serving while /readyz answers 503", "delay", d)
		select {
		case <-time.After(d):
		case err := <-errc:
			return err
		}
	}
	logger.Info("gowsgi: shutting down", "timeout", cfg.Server.ShutdownTimeout)
	shutdown(srv, stopApps, cfg.Server.ShutdownTimeout, logger)
	return nil
}

// shutdownGrace is how long the workers may take to exit once the shutdown
// timeout passed: package wsgi closes their sockets, kills those still
// running after a second, and reaps them. The command exits after it even if
// a worker is left (the parent-death signal kills it then).
const shutdownGrace = 5 * time.Second

// shutdown stops serving within timeout (plus shutdownGrace at worst): the
// listener closes at once and idle connections with it; requests in flight,
// and those already queued for a worker, may finish until timeout passes,
// each connection closing after its response; then stopApp stops the
// workers, which ends the requests still running (502 when nothing was sent
// yet, otherwise the connection is cut so that a truncated body cannot look
// complete), and the remaining connections are closed.
func shutdown(srv *http.Server, stopApp func(context.Context), timeout time.Duration, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Error("gowsgi: shutdown", "err", err)
	}
	if ctx.Err() != nil {
		logger.Warn("gowsgi: shutdown timeout passed; stopping the requests still running", "timeout", timeout)
	}
	stopApp(ctx)
	srv.Close()
}

// stopWorkers stops app's workers: requests in flight may finish until ctx
// is done, then the workers are stopped. It waits no longer than
// shutdownGrace after ctx is done, whatever the workers do.
func stopWorkers(ctx context.Context, app *wsgi.Handler, logger *slog.Logger) {
	done := make(chan error, 1)
	go func() { done <- app.Shutdown(ctx) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	t := time.NewTimer(shutdownGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		logger.Error("gowsgi: the workers did not stop in time; exiting without them", "grace", shutdownGrace)
	}
}

// currentStats is what expvar publishes as "gowsgi" (expvar names are
// global, so the variable is published once, and tests that run the
// command in their process replace what it reads).
var (
	currentStats atomic.Pointer[func() any]
	publishOnce  sync.Once
)

// mountStats returns, for each mount in order, what its statistics are:
// its uWSGI fleet's upstreams, or the Stats of the next of pools.
func mountStats(fleets []*uwsgi.Handler, pools []*wsgi.Handler) []func() any {
	stats := make([]func() any, len(fleets))
	next := 0
	for i, f := range fleets {
		if f != nil {
			stats[i] = func() any { return f.Stats() }
			continue
		}
		p := pools[next]
		stats[i] = func() any { return p.Stats() }
		next++
	}
	return stats
}

// statusHandler serves the statistics of the mounts serving now (view) as
// JSON at / (one mount's, or an object of them by mount path) and the
// expvar variables (with "gowsgi" holding the same statistics) at
// /debug/vars, and the Go
// process's profiles at /debug/pprof/ (net/http/pprof: heap?gc=1 reads the
// heap after a collection, profile?seconds=N the CPU). Like mod_status, it
// is for the operator: keep -status-addr on loopback or a private address.
func statusHandler(view func() ([]mountConfig, []func() any)) http.Handler {
	stats := func() any {
		mounts, mountStats := view()
		if len(mountStats) == 1 {
			return mountStats[0]()
		}
		byPath := map[string]any{}
		for i, s := range mountStats {
			byPath[mounts[i].Path] = s()
		}
		return byPath
	}
	currentStats.Store(&stats)
	publishOnce.Do(func() {
		expvar.Publish("gowsgi", expvar.Func(func() any {
			if f := currentStats.Load(); f != nil {
				return (*f)()
			}
			return nil
		}))
	})
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(stats())
	})
	return mux
}
