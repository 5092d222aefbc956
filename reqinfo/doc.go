// Package reqinfo is the record of one request that every layer of gowsgi
// fills and any layer can read: its id, its client, who authenticated it
// and with what outcome, where it was mounted (SCRIPT_NAME, PATH_INFO and
// extra environ entries such as trac.env_path), which worker process
// served it, and, behind a trusted reverse proxy, that proxy's address and
// the scheme the client used (package remoteip records them).
//
// It is the one mechanism by which the layers of this module tell each
// other about a request. The outermost layer makes the [Record] ([Ensure],
// or the [RequestID] middleware) and stores it in the request's context;
// the layers further in fill it in place: package auth records the user
// and the authentication outcome, package prefix the mount, package wsgi
// the worker's pid, and wsgi reads the user and the mount to build
// REMOTE_USER, AUTH_TYPE, SCRIPT_NAME and PATH_INFO. A layer that finds no
// record makes one for the layers after it ([Ensure]), so every package
// also works on its own.
//
// A record, unlike a value in a derived context (r.WithContext), is seen by
// the layers outside the one that filled it: a middleware wrapping the
// whole chain reads, once the inner handler returned, the user an inner
// authentication layer established, as Apache's access log sees the user
// (%u) an inner authentication module set. That is what an access log, a
// status page listing the running requests or metrics by authentication
// outcome need, and what an embedding server needs to write its own:
//
//	h := reqinfo.RequestID(accessLog(chain)) // accessLog reads reqinfo.FromContext(r.Context()).Info()
//
// The name says what it holds, information about one request, as Caddy's
// per-request replacer and Apache's request_rec do for their modules; it is
// not a context package (it only stores one value in the context) nor a log
// package (logs are one of its readers).
//
// # Concurrency
//
// A record is shared by the goroutines serving its request (the handler's,
// wsgi's relays) and by whoever reads it meanwhile (a status page): every
// method locks it, and [Record.Info] returns a consistent copy of all its
// fields at once. The methods of a nil *Record do nothing and return zero
// values, so a layer can write reqinfo.FromContext(ctx).SetPID(pid)
// without checking whether anyone made a record.
//
// # Security
//
// The user in a record comes only from an authentication layer that
// checked credentials (package auth, or an embedding server's own calling
// [Record.SetUser]); no request header sets it. An incoming X-Request-ID is
// taken only when [RequestIDConfig.TrustIncoming] says so, and then only if
// it is short and made of safe characters ([ValidID]); otherwise a client
// could choose, or forge lines into, the id its requests are logged under.
package reqinfo
