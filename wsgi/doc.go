// Package wsgi runs a Python WSGI application (PEP 3333) behind a Go
// net/http server, in managed Python worker processes: the daemon mode of
// Apache's mod_wsgi.
//
// [New] starts Config.Processes Python processes, each loading
// Config.Script once (under a module name derived from its path, never as
// __main__, in the main interpreter like WSGIApplicationGroup %{GLOBAL})
// with an adapter embedded in this package (standard library only, Python
// 3.9 or later). The [Handler] is an http.Handler; mount it with package
// prefix or http.StripPrefix:
//
//	h, err := wsgi.New(wsgi.Config{
//		Script:    "/srv/trac/trac.wsgi",
//		Processes: 2, Threads: 4,
//		Env:       []string{"PYTHON_EGG_CACHE=/srv/trac/eggs"},
//		Environ:   map[string]string{"trac.env_path": "/srv/trac/mysite"},
//	})
//	if err != nil { ... }
//	defer h.Close()
//	http.Handle("/trac/", http.StripPrefix("/trac", h)) // SCRIPT_NAME "/trac"
//
// [Environ] is the request-to-environ translation on its own, usable
// without the workers.
//
// # How requests reach the workers
//
// Each request thread of each process has its own socket pair, made by the
// Go process at spawn and inherited by the worker: there is no socket in
// the file system another process could connect to. A request travels as
// one frame holding the environ encoded in Python's marshal format (decoded
// by marshal.loads, in C) and, for bodies up to 64 KiB, the body. Larger
// and chunked bodies are pulled by the worker as the application reads
// wsgi.input, in pieces of at most 256 KiB (each read asks for a whole
// piece, so a read(65536) loop makes one round trip per 256 KiB): nothing
// but the application's own read() buffers a whole upload, every way of
// reading it (read, read(n), readline, readlines, iteration) costs time
// linear in the body, and a slow reader slows the client (backpressure). Response bodies come
// back in frames the Go side writes out as they arrive, flushing each chunk
// the application yields.
//
// One connection per thread, rather than one per process with a dispatcher
// thread inside Python, keeps the Python side a plain blocking loop: no
// hand-off between Python threads under the GIL, no per-request queue, and
// the scheduling happens in Go where it is cheap. The dispatcher
// (dispatcher.go states its policy) sends a request to an idle thread
// first. To keep the workers from sleeping between requests, a safe
// request (GET, HEAD, OPTIONS) whose body went with it may be queued on a
// busy connection behind a young request that does not stream, while
// requests have been short lately, so that the worker finds it already
// read; any other request waits for an idle thread, never behind a running
// one. A thread that becomes idle goes to the oldest request waiting for
// one, in the queue or queued behind a request that has run 10 ms; the
// latter is taken back (an abort the worker reads before it would start
// it) and moved there. So no request waits more than about 10 ms behind
// another while a thread that could serve it is idle or serves a younger
// request. A file descriptor passed with SCM_RIGHTS carries
// wsgi.file_wrapper responses to package filewrap (sendfile).
//
// # Every response complete or visibly cut
//
// A request body that fails (bad chunking, shorter than its
// Content-Length, over MaxRequestBody) stops the request on the worker,
// which is free for the next one, and is answered 400 or 413 with the
// connection closed. A response that cannot complete after it started —
// the worker died, RequestTimeout, the request's context ended (a client
// gone, a timeout middleware), the body fell short of the application's
// Content-Length — is cut: the handler panics with http.ErrAbortHandler, so
// net/http resets the connection without a chunked terminator (HTTP/2:
// resets the stream), and the client never reads a short body as whole.
// Before it started, the same cases are a status: 502, 504, or 503/504 for
// a context that ended. A middleware that recovers panics must re-panic
// http.ErrAbortHandler to keep this guarantee.
//
// Every failure answered with a status goes through [Config.ErrorHandler]
// when it is set, as with httputil.ReverseProxy, with an error that
// errors.Is matches against one of [ErrQueueFull], [ErrQueueTimeout],
// [ErrUnavailable], [ErrWorkerDied], [ErrRequestTimeout], [ErrCanceled],
// [ErrBodyTooLarge], [ErrBadRequestBody], [ErrApplication],
// [ErrBadResponse] and [ErrXSendFile], so an embedding server renders its
// own pages; a response that already started is cut, never handed to it.
//
// # Sharing the CPUs with the workers
//
// The Python workers do the application's work; the Go side mostly moves
// bytes between sockets. A Go runtime allowed every CPU (GOMAXPROCS, by
// default the CPU count) spends CPU it does not need spinning for work and
// waking threads, against the workers. On a machine with few CPUs, run the
// server with GOMAXPROCS of about the CPUs minus the worker processes, at
// least 1 (runtime.GOMAXPROCS, or the environment variable): on 2 CPUs
// with 2 worker processes that cut the Go process's CPU per request by
// about a third (figures: bench/README.md, "Tuning the Go front"). Command
// gowsgi does this by default (-gomaxprocs).
// The Go side keeps a small heap and allocates a few kilobytes per request,
// so a higher garbage-collector target (GOGC=400, runtime/debug's
// SetGCPercent) trades some megabytes of memory for most of the
// collector's CPU (bench/README.md); command gowsgi does that by default
// too, unless GOGC is set.
//
// A worker waits for its next request in poll(2), not in a blocking read of
// its socket: a reader blocked in recv(2) on a Unix socket is woken each
// time the other side consumes what it wrote, for nothing. On the Go side,
// the handler goroutine of the request running on a worker connection reads
// that connection itself while it waits for the response: no reader
// goroutine wakes to hand the frames over, and nothing reads a connection
// with no request in flight. A background reader takes over only while
// requests are in flight and none of their handlers reads (the handler
// left early, or requests are queued behind the one that ended).
//
// # Lifecycle
//
// A worker that dies fails only the request it was running (502; requests
// queued behind it go elsewhere) and is replaced, with backoff when it
// keeps dying at startup; the traceback of a script that cannot load is
// logged, and requests get 503 instead of waiting. RequestTimeout answers
// 504 and kills the worker. Requests wait for a free worker in a bounded
// queue (QueueSize, QueueTimeout: then 503 with Retry-After); a client that
// leaves stops waiting. Workers are recycled after MaxRequests (with
// jitter), above MemoryLimit, or after InactivityTimeout, and all of them
// when the script's modification time changes or on [Handler.Reload]: the
// replacement starts first, the old worker finishes its requests.
// [Handler.Shutdown] and [Handler.Close] let requests finish, then kill;
// workers also die with the Go process: on Linux and FreeBSD by a
// parent-death signal, everywhere by EOF on their socket (which a worker
// reads between requests, and while its request reads the body or writes
// the response). [Handler.Stats] reports the counters; [Handler.Workers]
// and [Handler.Waiting] list each process and thread with the request it
// runs, and the queue, for a status page; Config.ObserveQueueWait hands
// each request's wait for a thread to metrics. [New] starts lazily:
// it returns once every process made its first attempt, and
// [Handler.Ready] then says whether the script loaded (command gowsgi exits
// when it did not, unless -lazy-start). A script that breaks on reload
// leaves the old workers serving, with the traceback in the log, as
// gunicorn and mod_wsgi do.
//
// # The worker process
//
// A worker runs "python -u -s DIR/gowsgi_worker.py SCRIPT #N": the adapter
// is written once per [Handler] to a file of its own (see Security) and run
// as a file, so the directory gowsgi was started from is not on sys.path
// (with python -c it was sys.path[0], and a json.py there broke every
// worker), tracebacks name the adapter's file, and ps shows the script and
// the worker's number (1 to Processes). On Linux the process is also named
// "wsgi:SCRIPT #N" (truncated to 15 bytes) for top. -s leaves out the user
// site directory unless Config.PythonUserSite; PYTHONPATH from Config.Env,
// Config.PythonPath and a virtual environment's interpreter work as usual
// (not -I or -E, which drop PYTHONPATH; not -P, which needs Python 3.11).
// -u sends what the application prints to the log at once, line by line.
// wsgi.errors lines are logged with their request; a last line without its
// newline is sent when the request ends however it ends (an exception, the
// client leaving), and an application that keeps the object past its
// request (a logging handler set up on the first one) writes to the
// worker's stderr, which is logged too.
//
// # Database connections
//
// The database connections the workers open are Python's: nothing bounds
// them but the application's own pools (Trac: TRAC_DB_POOL_SIZE, default
// 10, per process and shared by all its environments; Django:
// CONN_MAX_AGE, one connection per thread). Config.DBMaxConnections
// (-db-max-connections) caps those that all the workers of a handler hold
// together; handlers given one [DBBudget] ([NewDBBudget], Config.DBBudget),
// such as the mounts of one server, share one cap. The adapter then wraps the DB-API connect of psycopg2,
// psycopg (3), MySQLdb and pymysql when the application imports them (it
// imports none itself); each new connection first takes a slot from a
// budget kept in the Go process, a [github.com/gowsgi/gowsgi/pool.Governor] of which each worker
// process is one pool (its fairness rules apply: one waiting connect per
// process at a time in one FIFO queue), over a control socket of the
// worker's own. The slot returns when the connection is closed or garbage
// collected, once the server has closed its end too (PostgreSQL does after
// the backend left pg_stat_activity: so the server never counts more
// backends than the budget; a close waits for it, a few milliseconds, at
// most 2 s), and every slot of a worker that dies returns once it exited. A connect that finds the budget spent waits up to
// Config.DBConnectTimeout (-db-connect-timeout, default 10 s) and then
// raises the driver's OperationalError; the log says the budget was the
// reason. [Handler.Stats] reports the slots held, their peak, the
// connects granted and refused, and the idle connections closed.
//
// While a connect waits, idle connections elsewhere are closed for it,
// oldest first across processes, always through their owner's
// bookkeeping so that the owner opens a new one when it needs one:
//
//   - Trac's pool (trac.db.pool's ConnectionPoolBackend, one per process):
//     an idle connection is taken off its LRU lists (_pool, _pool_key,
//     _pool_time) under its lock (_available) and closed. The layout is
//     that of Trac 0.11.1 to 1.6 (and 1.7 dev); a pool without it is left
//     alone. An application's own pool with the same layout can be
//     registered with environ["gowsgi.db_budget"].register_pool(pool).
//   - Django: the connections a request thread keeps between requests
//     (CONN_MAX_AGE), outside a transaction, are closed through Django's
//     own close() while the thread is between requests (a request
//     starting on it waits for the close); Django reconnects at its
//     next query.
//
// When fewer connections are idle than connects wait, the processes
// holding the most slots owe the rest: each closes one as soon as it
// becomes idle (Trac's pool takes one back, a Django request ends). So a
// process whose own threads hold every slot frees one for its waiting
// thread as soon as another of its requests ends, and no connect waits
// for a connection that its own process could close. Connections opened
// by an application outside those two kinds of owner (a connection kept
// in a module-level variable) are never closed by the budget: they keep
// their slot until the application closes them. Only the drivers'
// connect functions are wrapped (psycopg's Connection.connect too);
// asynchronous connections are not counted.
//
// # Coming from Apache
//
//	mod_wsgi                               gowsgi (Config field / cmd/gowsgi flag)
//	WSGIScriptAlias /trac /srv/trac.wsgi   Script, with prefix or ScriptName / -mount and the argument
//	WSGICallableObject                     Callable / -callable
//	WSGIDaemonProcess processes= threads=  Processes, Threads / -processes, -threads
//	WSGIDaemonProcess python-path=         PythonPath / -python-path
//	WSGIPythonHome, python-home=           Python (the interpreter) / -python
//	SetEnv (process environment)           Env / -env
//	SetEnv trac.env_path (environ)         Environ / -environ
//	WSGIPassAuthorization On               PassAuthorization / -pass-authorization
//	XSendFilePath (mod_xsendfile)          XSendFilePath / -xsendfile-path
//	WSGIApplicationGroup %{GLOBAL}         always
//	WSGIScriptReloading On|Off             ReloadInterval (negative: Off) / -reload, -reload-interval
//	request-timeout=                       RequestTimeout / -request-timeout
//	LimitRequestBody                       MaxRequestBody / -limit-request-body
//	queue-timeout=, listen-backlog=        QueueTimeout, QueueSize / -queue-timeout, -queue-size
//	maximum-requests=                      MaxRequests / -max-requests
//	memory-limit=                          MemoryLimit / -memory-limit
//	inactivity-timeout=                    InactivityTimeout / -inactivity-timeout
//	startup-timeout=                       StartTimeout / -start-timeout
//	graceful-timeout=, shutdown-timeout=   GracefulTimeout / -graceful-timeout
//	apachectl graceful                     Handler.Reload / SIGHUP
//	mod_status                             Handler.Stats, Handler.Workers / -status-addr
//
// Differences: the reason phrase of the application's status line is not
// sent (net/http writes the standard one); hop-by-hop response headers
// (Connection, Keep-Alive, Proxy-Authenticate, Proxy-Authorization, TE,
// Trailer, Transfer-Encoding, Upgrade, Proxy-Connection, and any the
// application's Connection header names) are dropped, logged once per
// Handler at debug level, where mod_wsgi passes them on; an application's
// Connection: close (Mercurial's hgweb sends it with POST answers) closes
// the client connection after the response, as gunicorn and Apache do;
// chunked request bodies are accepted (mod_wsgi answers 411).
//
// # X-Sendfile
//
// An application may ask the server to send a file in place of its body
// with an X-Sendfile response header naming the file's absolute path (Trac
// with [trac] use_xsendfile, Flask's USE_X_SENDFILE, django-sendfile's
// xsendfile backend), as Apache's mod_xsendfile serves it.
// X-Lighttpd-Send-File is taken as a synonym. It is honoured only under
// the directories of Config.XSendFilePath (mod_xsendfile's
// XSendFilePath): the path, cleaned (filepath.Clean) and with its symbolic
// links resolved, must name a regular file under one of them, and the file
// is then opened through an [os.Root] of that directory, so that a link
// swapped meanwhile cannot lead out either. The file is sent with package
// filewrap (sendfile, a single range, conditional requests with its ETag
// and Last-Modified when the status is 200) under the application's status
// and headers, its Content-Type included; the application's Content-Length
// and body are discarded. The path is taken as is, bytes as latin-1 code
// points like every header value (mod_xsendfile's XSendFileUnescape is not
// applied). A path outside the directories (relative, with ".." or a link
// leading out, or not a regular file) is answered 403 Forbidden, a file
// missing under them 404 Not Found (a missing file outside is 403 too, so
// that the answer reveals nothing outside); each with a log line, and
// counted as "xsendfile" in [Stats].Failures.
//
// Without XSendFilePath, X-Sendfile is not honoured. X-Accel-Redirect
// (nginx; it names a URI, not a file), X-Sendfile2 and
// X-Sendfile-Temporary (lighttpd, mod_xsendfile) never are. All of them
// are dropped with a warning in the log and the application's own body is
// sent: they name internal paths that must never reach a client.
//
// # Security
//
// The environ follows Apache 2.4 and mod_wsgi: a request header whose name
// has anything but letters, digits and "-" is dropped, so X_Remote_User
// cannot pose as X-Remote-User; Proxy never becomes HTTP_PROXY (httpoxy);
// Authorization reaches the application only with PassAuthorization;
// REMOTE_USER and AUTH_TYPE come only from the user in the request's
// record (package reqinfo, filled by package auth or by another
// authentication middleware calling reqinfo's Record.SetUser), never from
// a header. No forwarding header (X-Forwarded-For, X-Forwarded-Proto,
// X-Forwarded-Host, Forwarded) changes REMOTE_ADDR, wsgi.url_scheme or
// HTTP_HOST here: that is package remoteip's, in front, for the proxies it
// trusts.
//
// The handler records in that record, when the request has one, the pid of
// the worker that took the request ([reqinfo.Record.PID]), for an access
// log or a status page around it.
//
// The adapter's file is read-only (0400) in a directory made by
// os.MkdirTemp (random name, 0700, owned by the server's user, or by
// Config.Credential's user when root starts the workers as that user), removed by
// [Handler.Shutdown] (a process killed with SIGKILL leaves it in the temp
// directory). Replacing it takes the server user's rights, which the
// workers have anyway. Before each spawn the file and directory are checked
// (owned by this user, not writable by others, no symbolic link); if a
// temp cleaner removed them, a new directory is made under a new random
// name, never at the old path, which another user could have taken. This
// assumes a temp directory ($TMPDIR, else /tmp) where only an entry's owner
// may rename it: /tmp's sticky bit, or a directory of the server's own.
//
// Worker sockets are anonymous socket pairs inherited at spawn, so no
// other local user or process can send a worker a forged request (mod_wsgi
// needed a secret token on its daemon sockets for this). The application's
// response is checked before it reaches the wire: a malformed status, a
// header name that is not a token, a control character (CR, LF, NUL) in a
// value or a non-latin-1 header is a 500 with the reason in the log, and
// no more bytes than the application's own Content-Length are sent.
// Hop-by-hop headers and the headers meant for a front server (X-Sendfile,
// X-Accel-Redirect) never reach the client (see X-Sendfile above).
package wsgi
