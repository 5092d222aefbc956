// Package gowsgi runs Python WSGI applications such as Trac behind a Go
// net/http server, with what Apache httpd and mod_wsgi gave them: daemon
// processes, WSGIScriptAlias mounts, LocationMatch-scoped login,
// Basic/Digest/LDAP/Kerberos authentication, Require rules, a file wrapper
// that never truncates a download, and a bound on database connections.
//
// Each concern is its own package, plain net/http middleware:
//
//   - [github.com/gowsgi/gowsgi/wsgi]: PEP 3333 environ and the Python worker processes
//   - [github.com/gowsgi/gowsgi/auth]: Basic, Digest, Require rules, REMOTE_USER
//   - [github.com/gowsgi/gowsgi/prefix]: mounts, Location/LocationMatch, virtual hosts
//   - [github.com/gowsgi/gowsgi/filewrap]: sendfile, ranges, wsgi.file_wrapper
//   - [github.com/gowsgi/gowsgi/pool]: a cap on database connections across pools
//
// The command cmd/gowsgi composes them, as mod_wsgi-express does for Apache.
package gowsgi
