package wsgi

import (
	"log/slog"
	"net/netip"
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
	Python string
	// PythonPath lists directories prepended to sys.path in every worker
	// (WSGIDaemonProcess python-path=).
	PythonPath []string
	// Env is the process environment of the workers, as KEY=VALUE pairs,
	// added to the Go process's own (PYTHON_EGG_CACHE, TRAC_ENV, ...). Each
	// handler's workers get their own; two handlers never share os.environ.
	Env []string
	// Environ holds extra entries merged into every request's WSGI environ
	// (such as "trac.env_path"). Per-request entries from the context (see
	// package prefix) override them.
	Environ map[string]string
	// ScriptName is SCRIPT_NAME when no mount is recorded in the request
	// context (see package prefix); PATH_INFO is then the request's path.
	// Use it with http.StripPrefix. "" means the root.
	ScriptName string
	// PassAuthorization passes the Authorization header to the application
	// as HTTP_AUTHORIZATION (WSGIPassAuthorization On). Off by default.
	PassAuthorization bool
	// TrustedProxies lists the peers whose X-Forwarded-Proto is believed
	// for wsgi.url_scheme. Empty means none.
	TrustedProxies []netip.Prefix
	// Logger receives errors, wsgi.errors output and worker events. nil
	// means slog.Default().
	Logger *slog.Logger
}
