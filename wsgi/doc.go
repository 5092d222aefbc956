// Package wsgi runs a Python WSGI application (PEP 3333) behind a Go
// net/http server, in managed Python worker processes: the daemon mode of
// Apache's mod_wsgi.
package wsgi
