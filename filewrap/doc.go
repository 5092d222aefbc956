// Package filewrap sends files as HTTP response bodies, byte-exact and
// without copying what the kernel can send itself.
//
// It is the Go side of the warning in Trac's mod_wsgi guide that, with some mod_wsgi versions,
// "attachments will appear to be empty" and "binary attachment downloads are
// truncated": here a body is either complete, with a correct Content-Length,
// or visibly aborted.
//
//   - [Send] sends a section (offset, length) of an open *os.File with a
//     given status, keeping the header an application has set; it answers
//     single Range requests (with If-Range), HEAD, and files larger than
//     4 GiB. It is what wsgi.file_wrapper uses.
//   - [ServeFile] sends a whole file the way [http.ServeContent] does:
//     Last-Modified, ETag, If-Match, If-None-Match, If-Modified-Since,
//     If-Unmodified-Since, then Range through Send.
//   - [Static] serves a directory (Trac's htdocs, the "chrome" of a mount)
//     through ServeFile.
//   - [Fail] finishes a response after any of them failed: 500 when nothing
//     was sent yet, an aborted connection when the header was already out.
//
// # The fast path
//
// On a plain HTTP/1.x connection, net/http's ResponseWriter implements
// [io.ReaderFrom] and hands an *os.File (inside an *io.LimitedReader) to
// *net.TCPConn, which sends it with sendfile(2): the body never enters user
// space. Send flushes the header first so that not even the 512 bytes
// net/http would copy for Content-Type sniffing go through a write.
// Middleware that wraps the ResponseWriter must forward ReadFrom (and have
// Unwrap) for this to survive; the tests check it through a chain of such
// wrappers, as an access log would add. Over TLS,
// HTTP/2, or through a wrapper without ReadFrom, the body is copied with a
// 32 KiB buffer. Bodies under 16 KiB are copied too: for them a separate
// header write plus sendfile saves nothing.
//
// # Coming from Apache
//
//	Apache                              filewrap
//	EnableSendfile On                   always on where the connection allows it
//	Alias /trac/chrome/site /srv/htdocs StaticConfig{Prefix: "/trac/chrome/site", Root: "/srv/htdocs"}
//	                                    (gowsgi -static /trac/chrome/site=/srv/htdocs)
//	Options FollowSymLinks              StaticConfig.FollowSymlinks (false: only links staying inside Root)
//	Options Indexes                     StaticConfig.Listing (false: 403 for a directory)
//	DirectoryIndex index.html           StaticConfig.Index
//	<Files ".*"> Require all denied     StaticConfig.ServeHidden false (the default): 404
//	FileETag MTime Size                 [ETag]
//	Header set Cache-Control ...        StaticConfig.CacheControl
//	mod_wsgi wsgi.file_wrapper          [Send]
//
// # Security
//
// [Static] never leaves its root: the request path is split into segments
// and refused (404) if any segment is empty ("//"), "." or ".." (whether
// sent plainly or as %2e%2e, which net/http decodes), if the raw path holds
// an encoded slash or backslash (%2f, %5c), or if it holds a backslash or a
// NUL byte. The remaining path is opened through an [os.Root], which also
// refuses symbolic links that resolve outside the root, unless
// FollowSymlinks is set. Names starting with a dot are refused unless
// ServeHidden is set. Directories are not listed unless Listing is set.
// Only regular files are opened for sending: a FIFO or device in the tree is
// answered 403 without blocking on it.
//
// A file that shrinks while it is being sent makes [Send] return an error
// wrapping [ErrIncomplete]; [Fail] then aborts the response
// (panic([http.ErrAbortHandler])), so the client sees an unexpected end of
// the body, never a short body it could take for the whole file. A file that
// grows is sent up to the length fixed when the header was written.
package filewrap
