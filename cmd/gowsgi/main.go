// Command gowsgi runs a Python WSGI script behind a Go HTTP server, with the
// layers of this module composed: authentication, Require rules, mounts and
// the worker processes. It is to gowsgi what mod_wsgi-express is to mod_wsgi.
//
// Usage:
//
//	gowsgi [flags] path/to/app.wsgi
//
// Run gowsgi -h for the flags.
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
// # Signals and shutdown
//
// SIGHUP replaces the worker processes gracefully (as a change of the script
// does). SIGTERM or SIGINT stops the command within -shutdown-timeout
// (default 10s):
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
// # Request framing
//
// Every connection goes through package framing's guard: a request with
// both Content-Length and Transfer-Encoding (or another head a proxy in
// front could frame otherwise) gets 400 and its connection is closed, so
// nothing pipelined behind it is served. A body larger than
// -limit-request-body (default 1 GiB, Apache's LimitRequestBody) gets 413.
//
// # Behind a reverse proxy
//
// -trusted-proxy CIDR (repeatable; mod_remoteip's RemoteIPTrustedProxy)
// makes the forwarding header that -remote-ip-header names
// (X-Forwarded-For, the default, with X-Forwarded-Proto and
// X-Forwarded-Host, or RFC 7239 Forwarded; RemoteIPHeader) believed from
// those peers, and only from them: the right-most address that is not a
// trusted proxy becomes the client's (REMOTE_ADDR, -require 'ip ...', log
// lines), and the forwarded scheme and host become wsgi.url_scheme, HTTPS,
// HTTP_HOST and SERVER_NAME. -proxy-protocol (RemoteIPProxyProtocol)
// reads HAProxy's PROXY protocol v1 or v2 from those peers on the listener,
// and closes a trusted peer's connection without it, or an untrusted
// peer's with it; -proxy-protocol=optional accepts trusted peers without
// it. This layer (package remoteip) goes outside every other one but the
// request framing guard, and its PROXY listener under the guard's. See
// package remoteip for the details, and for why one header only.
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/framing"
	"github.com/gowsgi/gowsgi/wsgi"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// repeatable marks listFlag as a flag that may be given several times;
// every other flag may be given once (see [onceFlags]).
func (l *listFlag) repeatable() {}

// onceValue wraps a single-value flag so that giving it a second time is an
// error instead of silently keeping the last value: with
// -auth-location '^/uid$' -auth-location '^/env$', last-wins would leave
// /uid unprotected. Fail closed.
type onceValue struct {
	flag.Value
	name  string
	first *string // the first value given; nil before any
}

// String guards against the zero value that package flag makes to learn a
// flag's default.
func (o *onceValue) String() string {
	if o == nil || o.Value == nil {
		return ""
	}
	return o.Value.String()
}

func (o *onceValue) Set(v string) error {
	if o.first != nil {
		return fmt.Errorf("given twice (%q, then %q): -%s takes one value; give it once", *o.first, v, o.name)
	}
	o.first = &v
	return o.Value.Set(v)
}

// onceBool is onceValue for a boolean flag, which must keep IsBoolFlag so
// that "-flag" alone still means true.
type onceBool struct{ onceValue }

func (b *onceBool) IsBoolFlag() bool { return true }

// onceFlags makes every flag of fs that is not repeatable refuse a second
// value while fs parses. Call it after all flags are registered, before
// Parse; call restore after Parse, and before printing the defaults
// (package flag learns a flag's type name and zero value from its Value,
// which must be the original for -h to read right).
func onceFlags(fs *flag.FlagSet) (restore func()) {
	orig := map[*flag.Flag]flag.Value{}
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := f.Value.(interface{ repeatable() }); ok {
			return
		}
		orig[f] = f.Value
		o := &onceValue{Value: f.Value, name: f.Name}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			f.Value = &onceBool{*o}
			return
		}
		f.Value = o
	})
	return func() {
		for f, v := range orig {
			f.Value = v
		}
	}
}

// parseFlags parses args with fs, refusing a second value for any
// single-value flag ([onceFlags]).
func parseFlags(fs *flag.FlagSet, args []string) error {
	restore := onceFlags(fs)
	defer restore()
	usage := fs.Usage
	fs.Usage = func() {
		restore()
		if usage != nil {
			usage()
		} else {
			fs.PrintDefaults()
		}
	}
	defer func() { fs.Usage = usage }()
	return fs.Parse(args)
}

// options are the flags main.go owns; layers own the rest.
type options struct {
	listen            string
	processes         int
	threads           int
	python            string
	callable          string
	pythonPath        listFlag
	pythonUserSite    bool
	lazyStart         bool
	env               listFlag
	environ           listFlag
	passAuthorization bool
	remoteIP          remoteIPOptions
	xsendfilePath     listFlag
	shutdownTimeout   time.Duration
	limitRequestBody  byteSize

	// Worker lifecycle (package wsgi).
	startTimeout      time.Duration
	requestTimeout    time.Duration
	queueTimeout      time.Duration
	queueSize         int
	maxRequests       int
	memoryLimit       byteSize
	inactivityTimeout time.Duration
	reloadInterval    time.Duration
	scriptReloading   bool
	gracefulTimeout   time.Duration
	statusAddr        string
}

// byteSize is a flag taking bytes with an optional K, M or G suffix
// (powers of 1024).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(v string) error {
	mult := int64(1)
	switch {
	case strings.HasSuffix(v, "K"), strings.HasSuffix(v, "k"):
		mult = 1 << 10
	case strings.HasSuffix(v, "M"), strings.HasSuffix(v, "m"):
		mult = 1 << 20
	case strings.HasSuffix(v, "G"), strings.HasSuffix(v, "g"):
		mult = 1 << 30
	}
	if mult > 1 {
		v = v[:len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("want a byte count such as 512M")
	}
	*b = byteSize(n * mult)
	return nil
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8000", "`address` to serve HTTP on")
	fs.IntVar(&o.processes, "processes", 1, "number of Python worker processes (WSGIDaemonProcess processes=)")
	fs.IntVar(&o.threads, "threads", 1, "request threads per worker process (WSGIDaemonProcess threads=)")
	fs.StringVar(&o.python, "python", "python3", "Python `interpreter` to run the workers with")
	fs.StringVar(&o.callable, "callable", "application", "`name` of the WSGI application object in the script (WSGICallableObject)")
	fs.Var(&o.pythonPath, "python-path", "`directory` to prepend to sys.path (repeatable; WSGIDaemonProcess python-path=)")
	fs.BoolVar(&o.pythonUserSite, "python-user-site", false, "put the user site directory (~/.local/lib/pythonX.Y/site-packages) on the workers' sys.path; off: python -s (mod_wsgi has no directive: WSGIPythonHome/python-home= pick the interpreter)")
	fs.BoolVar(&o.lazyStart, "lazy-start", false, "start serving even if the script fails to load, answering 503 while the workers retry (Apache with mod_wsgi does); off: exit 1 with the traceback")
	fs.Var(&o.env, "env", "`KEY=VALUE` for the workers' os.environ (repeatable)")
	fs.Var(&o.environ, "environ", "`KEY=VALUE` merged into every request's WSGI environ, e.g. trac.env_path=/srv/trac/site (repeatable)")
	fs.BoolVar(&o.passAuthorization, "pass-authorization", false, "pass the Authorization header to the app (WSGIPassAuthorization On)")
	fs.Var(&o.xsendfilePath, "xsendfile-path", "`directory` whose files the app may send with an X-Sendfile response header, as Trac's [trac] use_xsendfile does (repeatable; mod_xsendfile's XSendFilePath). Without it X-Sendfile is dropped")
	o.remoteIP.register(fs)
	o.limitRequestBody = 1 << 30
	fs.Var(&o.limitRequestBody, "limit-request-body", "largest request body accepted, a `size` such as 1G or 512M; larger ones get 413 (LimitRequestBody; 0: no limit)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM or SIGINT, how long requests in flight may run before the workers are stopped (the command exits at most 5s later)")

	fs.DurationVar(&o.startTimeout, "start-timeout", 60*time.Second, "how long a worker may take to load the script")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 0, "answer 504 and replace the worker when a request runs longer (0: no limit; request-timeout=)")
	fs.DurationVar(&o.queueTimeout, "queue-timeout", 30*time.Second, "answer 503 when a request waited this long for a free worker (queue-timeout=)")
	fs.IntVar(&o.queueSize, "queue-size", 1024, "requests that may wait for a free worker; more get 503 at once (listen-backlog=)")
	fs.IntVar(&o.maxRequests, "max-requests", 0, "recycle a worker after about this many requests, with jitter (0: never; maximum-requests=)")
	fs.Var(&o.memoryLimit, "memory-limit", "recycle a worker whose resident size exceeds this `size` (e.g. 512M; 0: no limit; memory-limit=)")
	fs.DurationVar(&o.inactivityTimeout, "inactivity-timeout", 0, "recycle a worker idle this long (0: never; inactivity-timeout=)")
	fs.DurationVar(&o.reloadInterval, "reload-interval", time.Second, "how often the script's modification time is checked")
	fs.BoolVar(&o.scriptReloading, "reload", true, "replace the workers when the script file changes (WSGIScriptReloading); SIGHUP always reloads")
	fs.DurationVar(&o.gracefulTimeout, "graceful-timeout", 30*time.Second, "how long a worker being replaced (reload, recycling) may finish its requests before it is killed; shutdown uses -shutdown-timeout")
	fs.StringVar(&o.statusAddr, "status-addr", "", "`address` to serve worker statistics on, as JSON at / and expvar at /debug/vars, and Go profiles at /debug/pprof/ (mod_status; off when empty: keep it on loopback)")
}

func splitKV(flagName, v string) (string, string, error) {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("-%s %q: want KEY=VALUE", flagName, v)
	}
	return k, val, nil
}

func (o *options) wsgiConfig(script string, logger *slog.Logger) (wsgi.Config, error) {
	cfg := wsgi.Config{
		Script:            script,
		Callable:          o.callable,
		Processes:         o.processes,
		Threads:           o.threads,
		Python:            o.python,
		PythonPath:        o.pythonPath,
		PythonUserSite:    o.pythonUserSite,
		PassAuthorization: o.passAuthorization,
		XSendFilePath:     o.xsendfilePath,
		Logger:            logger,
		StartTimeout:      o.startTimeout,
		RequestTimeout:    o.requestTimeout,
		QueueTimeout:      o.queueTimeout,
		QueueSize:         o.queueSize,
		MaxRequests:       o.maxRequests,
		MemoryLimit:       int64(o.memoryLimit),
		InactivityTimeout: o.inactivityTimeout,
		ReloadInterval:    o.reloadInterval,
		GracefulTimeout:   o.gracefulTimeout,
	}
	if !o.scriptReloading {
		cfg.ReloadInterval = -1
	}
	cfg.MaxRequestBody = int64(o.limitRequestBody)
	if cfg.MaxRequestBody == 0 {
		cfg.MaxRequestBody = -1 // LimitRequestBody 0: no limit
	}
	for _, e := range o.env {
		if _, _, err := splitKV("env", e); err != nil {
			return cfg, err
		}
		cfg.Env = append(cfg.Env, e)
	}
	if len(o.environ) > 0 {
		cfg.Environ = map[string]string{}
		for _, e := range o.environ {
			k, v, err := splitKV("environ", e)
			if err != nil {
				return cfg, err
			}
			cfg.Environ[k] = v
		}
	}
	return cfg, nil
}

// run is main without the exit, for tests.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gowsgi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gowsgi [flags] path/to/app.wsgi\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var o options
	o.register(fs)
	for _, l := range sortedLayers() {
		if l.flags != nil {
			l.flags(fs)
		}
	}
	if err := parseFlags(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "gowsgi: want exactly one argument, the WSGI script")
		fs.Usage()
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if err := serve(&o, fs.Arg(0), logger); err != nil {
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

func serve(o *options, script string, logger *slog.Logger) error {
	cfg, err := o.wsgiConfig(script, logger)
	if err != nil {
		return err
	}
	ri, err := o.remoteIP.build(logger)
	if err != nil {
		return err
	}
	b := &builder{logger: logger, requireParsers: map[string]func([]string) (auth.Rule, error){}}
	app, err := wsgi.New(cfg)
	if err != nil {
		return err
	}
	// Deferred after the layers' closers, the workers stop before them.
	// After a signal, shutdown has already stopped them; this covers the
	// early returns.
	defer func() {
		for i := len(b.closers) - 1; i >= 0; i-- {
			if err := b.closers[i](); err != nil {
				logger.Error("gowsgi: shutdown", "err", err)
			}
		}
	}()
	var stopOnce sync.Once
	stopApp := func(ctx context.Context) {
		stopOnce.Do(func() { stopWorkers(ctx, app, logger) })
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
		defer cancel()
		stopApp(ctx)
	}()
	// New waited for every worker's first attempt: unless asked to start
	// lazily, a script that cannot load is the end (a typo is seen at once,
	// not as 503s).
	if err := app.Ready(); err != nil && !o.lazyStart {
		return err
	}
	h, err := buildChain(b, app)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	if ri != nil {
		// Outermost but framing: every layer after it (and the
		// application) sees the client a trusted proxy names. The PROXY
		// header is read first on the connection, below framing's
		// scanner, which must see only the HTTP bytes after it.
		h = ri.Wrap(h)
		ln = ri.Listener(ln)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Outermost, on every connection: requests a proxy in front could
	// frame otherwise (request smuggling) get 400 and a closed connection.
	guard := &framing.Guard{Logger: logger}
	ln = guard.Configure(srv, ln)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if o.statusAddr != "" {
		sln, err := net.Listen("tcp", o.statusAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("-status-addr: %w", err)
		}
		ssrv := &http.Server{Handler: statusHandler(app), ReadHeaderTimeout: 10 * time.Second}
		defer ssrv.Close()
		go func() {
			if err := ssrv.Serve(sln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("status server: %w", err)
			}
		}()
		logger.Info("gowsgi: serving statistics", "addr", sln.Addr().String())
	}
	logger.Info("gowsgi: serving", "addr", ln.Addr().String(), "script", script)
wait:
	for {
		select {
		case err := <-errc:
			return err
		case <-hup:
			logger.Info("gowsgi: SIGHUP: reloading the workers")
			app.Reload()
		case <-ctx.Done():
			break wait
		}
	}
	// A second SIGTERM or SIGINT ends the process at once (the workers
	// die with it: parent-death signal).
	stop()
	logger.Info("gowsgi: shutting down", "timeout", o.shutdownTimeout)
	shutdown(srv, stopApp, o.shutdownTimeout, logger)
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

// currentApp is the handler whose statistics expvar publishes (expvar
// names are global, so the variable is published once).
var (
	currentApp  atomic.Pointer[wsgi.Handler]
	publishOnce sync.Once
)

// statusHandler serves app.Stats() as JSON at / and the expvar variables
// (with "gowsgi" holding the same statistics) at /debug/vars, and the Go
// process's profiles at /debug/pprof/ (net/http/pprof: heap?gc=1 reads the
// heap after a collection, profile?seconds=N the CPU). Like mod_status, it
// is for the operator: keep -status-addr on loopback or a private address.
func statusHandler(app *wsgi.Handler) http.Handler {
	currentApp.Store(app)
	publishOnce.Do(func() {
		expvar.Publish("gowsgi", expvar.Func(func() any {
			if a := currentApp.Load(); a != nil {
				return a.Stats()
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
		_ = json.NewEncoder(w).Encode(app.Stats())
	})
	return mux
}
