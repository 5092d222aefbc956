// Package uwsgi puts a Go net/http server in front of an existing uWSGI
// fleet: its [Handler] sends each request over the uwsgi protocol to one
// of several uWSGI instances ("uwsgi --socket HOST:PORT"), as nginx's
// uwsgi_pass and Apache's mod_proxy_uwsgi do, and streams the response
// back.
//
//	h, err := uwsgi.New(uwsgi.Config{
//		Upstreams: []string{"10.0.0.5:3031", "10.0.0.6:3031"},
//		MaxConns:  8, // each instance's processes × threads
//	})
//	if err != nil { ... }
//	defer h.Close()
//	http.Handle("/", prefix.MustMount("/app")(h))
//
// It is a package of its own rather than a second transport inside
// package wsgi: wsgi's Handler is a supervisor of local Python processes
// (spawning, recycling, reloading, a private framed protocol over socket
// pairs, file descriptors passed for wsgi.file_wrapper), none of which
// applies to a process someone else runs on another machine, and its
// dispatcher's policy is built on seeing each worker thread. What the two
// share is exported by wsgi and reused here: the environ ([wsgi.Environ],
// so a mount and an authenticated user reach an upstream exactly as they
// reach a local worker), and the errors an ErrorHandler tests with
// errors.Is (wsgi.ErrQueueFull, wsgi.ErrQueueTimeout, wsgi.ErrUnavailable,
// wsgi.ErrRequestTimeout, wsgi.ErrCanceled, wsgi.ErrBodyTooLarge,
// wsgi.ErrBadRequestBody, wsgi.ErrBadResponse), so an embedding server
// renders one set of error pages for both.
//
// # The request
//
// A request is one TCP connection (uWSGI closes it after the response):
// a packet of CGI variables (modifier1 0), then the body. The variables
// are the environ a local worker would get: those nginx's uwsgi_params
// send (QUERY_STRING, REQUEST_METHOD, CONTENT_TYPE, CONTENT_LENGTH,
// REQUEST_URI, PATH_INFO, SERVER_PROTOCOL, REQUEST_SCHEME, HTTPS when on,
// REMOTE_ADDR, REMOTE_PORT, SERVER_PORT, SERVER_NAME, the HTTP_* headers)
// but DOCUMENT_ROOT; SCRIPT_NAME and PATH_INFO split at the mount that
// package prefix recorded in the request's reqinfo.Record (nginx sends
// the whole path as PATH_INFO and leaves the split to uWSGI's --mount);
// REMOTE_USER and AUTH_TYPE from the user an authentication layer (package
// auth) recorded there; UWSGI_SCHEME, which uWSGI turns into
// wsgi.url_scheme; Config.Environ and per-request entries (such as
// trac.env_path). Authorization is passed only with
// Config.PassAuthorization. A packet holds at most 65535 bytes of
// variables (the protocol's 16-bit size): a larger request is answered
// 431. uWSGI itself refuses packets over its --buffer-size, 4096 bytes by
// default (a request with long cookies gets 502 then, as behind nginx):
// raise it on the uWSGI side.
//
// A body up to 64 KiB goes in the packet's write; a larger one streams
// while the response is read, as the application reads wsgi.input, so a
// slow application slows the client (backpressure) and an application
// may answer before it read the whole body. A chunked body is spooled
// first, in memory up to 1 MiB and then in an unlinked file in
// Config.SpoolDir, because uWSGI reads CONTENT_LENGTH bytes (nginx
// buffers it too). MaxRequestBody applies as in package wsgi.
//
// # Choosing an upstream
//
// A request goes to the upstream in service with the fewest requests
// running (ties in turn), below MaxConns; when every one is at MaxConns it
// waits in a queue (QueueSize, QueueTimeout: then 503 with Retry-After).
// An upstream that refuses a connect or does not answer one within
// ConnectTimeout is taken out of service and the request goes to another
// (it never reached the first, so this holds for any method); the upstream
// is probed with a plain TCP connect after Backoff, doubling the wait up
// to 8 × Backoff while probes fail, and gets requests again once a probe
// connects (uWSGI may log the probe's empty connection). While no upstream
// is in service, requests get 503 at once. A request that failed once
// sent is never sent again: the upstream may have acted on it. Killing
// one instance therefore fails the requests it was running, and no
// other. [Handler.Stats] reports each upstream's state and counters.
//
// # Every response complete or visibly cut
//
// The response is uWSGI's HTTP status line and header, read with
// net/http's parser and checked (a final status, valid names and values,
// one Content-Length); hop-by-hop fields and those addressed to a front
// server (X-Accel-*, X-Sendfile) are dropped. A response that cannot be
// read, or a connection closed before it, is 502; RequestTimeout is 504,
// the context ending 503 or 504, as in package wsgi, through
// Config.ErrorHandler.
//
// The body is streamed: with a Content-Length it is copied as it arrives
// (on Linux with splice(2) from socket to socket, when the ResponseWriter
// is net/http's or forwards ReadFrom), otherwise each read is flushed to
// the client. A response that started and cannot complete is cut: the
// handler panics with http.ErrAbortHandler, so net/http resets the
// connection (HTTP/2: the stream) and the client never reads a short body
// as whole. That happens when the upstream's Content-Length is not
// reached, when its chunked body breaks off, when the connection is reset,
// on RequestTimeout and when the request's context ends.
//
// One case cannot be told: an application that sets no Content-Length
// (a streamed response, a generator) is sent by uWSGI as raw bytes ended
// by closing the connection, so a uWSGI worker that dies in the middle of
// it, closing its socket cleanly, looks exactly like the end of the
// response. gowsgi then ends the client's chunked response with its
// terminator, as nginx does; only a reset connection is cut. Applications
// that want truncation detected set Content-Length (Flask's send_file and
// wsgi.file_wrapper responses of files usually do).
//
// # Security
//
// An upstream's response is untrusted input: its head is parsed by
// net/http and checked before anything reaches the client (fuzzed), and
// the variables sent are encoded with their sizes checked (fuzzed). The
// uwsgi protocol has no authentication and no encryption: the upstreams'
// sockets must be reachable only from the front servers (a private
// network, a firewall), as with nginx's uwsgi_pass. Anything that can
// connect to them can claim any REMOTE_USER.
package uwsgi
