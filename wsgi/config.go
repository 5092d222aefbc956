package wsgi

import (
	"log/slog"
	"net/http"
	"syscall"
	"time"
)

// Config configures a [Handler]. The zero value of each field is a
// documented default; only Script is required.
type Config struct {
	// Script is the path of the WSGI script file (WSGIScriptAlias's
	// target). It is loaded once per worker process under a module name
	// derived from its path, as mod_wsgi does. Required.
	Script string
	// Callable is the name of the WSGI application object in Script.
	// "" means "application" (WSGICallableObject).
	Callable string
	// Processes is the number of Python worker processes. 0 means 1.
	Processes int
	// Threads is the number of request threads in each process. 0 means 1.
	Threads int
	// Python is the interpreter to run. "" means "python3" found on PATH.
	// A virtual environment's bin/python runs the workers in that
	// environment (WSGIDaemonProcess python-home=).
	Python string
	// PythonPath lists directories prepended to sys.path in every worker
	// (WSGIDaemonProcess python-path=). The current directory is never on
	// sys.path (the adapter runs as a file, not with python -c); PYTHONPATH
	// in Env is honoured.
	PythonPath []string
	// PythonUserSite puts the user site directory (site.USER_SITE, such as
	// ~/.local/lib/python3.11/site-packages) on the workers' sys.path. Off
	// by default (python -s): a service should not depend on what its user
	// installed with pip install --user.
	PythonUserSite bool
	// Env is the process environment of the workers, as KEY=VALUE pairs,
	// added to the Go process's own (PYTHON_EGG_CACHE, TRAC_ENV, ...). Each
	// handler's workers get their own; two handlers never share os.environ.
	Env []string
	// Environ holds extra entries merged into every request's WSGI environ
	// (such as "trac.env_path"). Per-request entries from the request's
	// record (package reqinfo; package prefix fills it) override them.
	Environ map[string]string
	// ScriptName is SCRIPT_NAME when no mount is recorded in the request's
	// record (see package prefix); PATH_INFO is then the request's path.
	// "" means the prefix a handler in front stripped from the path
	// (http.StripPrefix and the like), found by comparing URL.Path with
	// the RequestURI the client sent, or the root when none was: so an
	// application behind http.StripPrefix builds its URLs under the
	// prefix without it.
	ScriptName string
	// PassAuthorization passes the Authorization header to the application
	// as HTTP_AUTHORIZATION (WSGIPassAuthorization On). Off by default.
	PassAuthorization bool
	// Credential, if not nil, is the user and groups the worker processes
	// run as (Apache's User and Group; WSGIDaemonProcess user= and
	// group=). A process running as root starts them as that user, and
	// makes the adapter's file theirs; a process already running as its
	// user (after dropping root) starts them as itself. nil means the
	// process's own user.
	Credential *syscall.Credential
	// MaxRequestBody is the largest request body accepted, in bytes
	// (Apache's LimitRequestBody): a larger declared Content-Length is
	// answered 413 before the application runs, and a chunked body that
	// grows past it ends the request (413 if nothing was sent yet). Zero
	// means 1 GiB, Apache 2.4.54's default; negative means no limit.
	MaxRequestBody int64
	// XSendFilePath lists the directories whose files an application may
	// send by naming them in an X-Sendfile response header (Apache
	// mod_xsendfile's XSendFilePath; Trac's [trac] use_xsendfile): the
	// file, once its path is cleaned and its symbolic links resolved,
	// must lie under one of them. Empty means X-Sendfile is not honoured:
	// the header is dropped with a warning and the application's own body
	// is sent. See the package documentation.
	XSendFilePath []string
	// Logger receives errors, wsgi.errors output and worker events. nil
	// means slog.Default().
	Logger *slog.Logger
	// ErrorHandler answers a request that failed before its response
	// started, as httputil.ReverseProxy's does, so that an embedding
	// server can render its own error pages. err wraps one of the errors
	// of this package (ErrQueueFull, ErrWorkerDied, ...: test it with
	// errors.Is); each one's documentation names the status the default
	// answers with. Its text may carry detail (a process id, a cause) that
	// is meant for a log, not for the client. The failure is logged either
	// way. A request whose response already started is never handed to
	// it: that response is cut so that the client sees it incomplete (see
	// the package documentation). Connection: close is already set when
	// the connection cannot be reused (a body error). nil means a plain
	// page with the status text (and Retry-After: 1 with 503 for
	// ErrQueueFull, ErrQueueTimeout and ErrUnavailable).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// ObserveQueueWait, when set, is called once a request got a worker
	// thread, with how long it waited for one (about 0 when one was
	// idle), as metrics of the queue need. It runs on the request's
	// goroutine and must not block. nil means no call.
	ObserveQueueWait func(r *http.Request, wait time.Duration)

	// StartTimeout bounds how long a worker process may take to load the
	// script and report ready. 0 means 60 seconds.
	StartTimeout time.Duration
	// RequestTimeout bounds how long one request may run. A request still
	// running after it gets 504 Gateway Timeout (or, when its headers went
	// out, an aborted connection) and its worker process is killed and
	// replaced: the only way to stop Python code (WSGIDaemonProcess
	// request-timeout=). 0 means no limit.
	RequestTimeout time.Duration
	// QueueTimeout bounds how long a request waits for a free worker
	// before it gets 503 with Retry-After (queue-timeout=). 0 means 30
	// seconds.
	QueueTimeout time.Duration
	// QueueSize bounds how many requests may wait for a worker; one more
	// gets 503 at once (listen-backlog=). 0 means 1024.
	QueueSize int
	// MaxRequests recycles a worker process after it served about this
	// many requests: each process draws its own limit between MaxRequests
	// and MaxRequests*1.1, so that processes do not restart together
	// (maximum-requests=). The replacement starts before the old process
	// is drained. 0 means no limit.
	MaxRequests int
	// MemoryLimit recycles a worker process whose resident set size (read
	// from /proc by the Go side: Linux only, elsewhere it has no effect)
	// exceeds it, in bytes (memory-limit=). 0 means no limit.
	MemoryLimit int64
	// InactivityTimeout recycles a worker process that served no request
	// for this long, releasing the memory it grew (inactivity-timeout=). 0
	// means never.
	InactivityTimeout time.Duration
	// ReloadInterval is how often Script's modification time is checked;
	// when it changed, the workers are replaced gracefully
	// (WSGIScriptReloading On). 0 means every second; negative disables
	// the check (WSGIScriptReloading Off; [Handler.Reload] still works).
	ReloadInterval time.Duration
	// DBMaxConnections caps the database connections that all the worker
	// processes of the handler hold together, whatever application,
	// environment or pool opened them: the adapter wraps the DB-API
	// connect of psycopg2, psycopg (3), MySQLdb and pymysql when the
	// application imports them, and each new connection takes a slot from
	// a budget kept here (a [github.com/gowsgi/gowsgi/pool.Governor], with its fairness rules:
	// each worker process is one of its pools) until it is closed or its
	// worker dies. While a connect waits, idle connections elsewhere are
	// closed, oldest first (see the package documentation, "Database
	// connections"). 0 means no cap: the drivers are left alone.
	DBMaxConnections int
	// DBConnectTimeout bounds how long a connect waits for a slot of
	// DBMaxConnections; it then raises the driver's OperationalError and
	// the reason is logged. 0 means 10 seconds.
	DBConnectTimeout time.Duration
	// DBBudget, when not nil, is a budget shared with other handlers (the
	// mounts of one server), made with [NewDBBudget]: the workers of all
	// of them hold at most its connections together. DBMaxConnections and
	// DBConnectTimeout must then be zero. nil means a budget of this
	// handler's own when DBMaxConnections is positive.
	DBBudget *DBBudget
	// GracefulTimeout bounds how long a retiring worker process (reload,
	// recycling, [Handler.Close]) may finish its in-flight requests before
	// it is killed. 0 means 30 seconds.
	GracefulTimeout time.Duration
}
