// Package framing guards a net/http server against request smuggling: it
// refuses a request whose body length a proxy in front of the server could
// read otherwise than net/http does, and closes its connection, so that
// bytes the proxy took for one request's body are never served as the
// next request.
//
// net/http takes a request with both Content-Length and Transfer-Encoding:
// chunked by its chunked coding and drops the Content-Length before any
// handler sees it, keeping the connection open (RFC 9112 §6.3 allows the
// former but requires closing the connection; Apache answers 400). It
// ignores Transfer-Encoding in HTTP/1.0 requests, and joins folded header
// lines. It already refuses, and closes the connection for, a transfer
// coding other than chunked and a repeated Transfer-Encoding (501), and
// differing Content-Length values (400). This package refuses, with 400
// and Connection: close:
//
//   - Content-Length together with Transfer-Encoding;
//   - Transfer-Encoding in an HTTP/1.0 request;
//   - a transfer coding other than exactly "chunked" (compared without
//     regard to case), a repeated Transfer-Encoding, differing or malformed
//     Content-Length values (should net/http ever let them through);
//   - a head whose lines do not all end with CRLF, a folded header line
//     (obs-fold), a control character in a field, a request line that is
//     not method, target and HTTP/1.x;
//
// and every later request on a connection where one of these was seen, or
// whose framing it could not follow.
//
// # How it works
//
// Since net/http hides the raw head, the guard reads it on the wire: the
// listener wraps each connection so that every byte net/http reads passes
// through a scanner, which follows HTTP/1.1 message framing (a head, then
// its body by Content-Length or chunked coding, then the next head) and
// queues what it learns of each head, in order. The handler takes the
// oldest head of the request's connection and checks that it is the
// request being served (same method and target) before letting it pass.
// The scanner reads bodies by net/http's rules or stricter ones (chunk-size
// lines, chunk overhead, trailers, the CR/LF net/http skips after a POST),
// so under pipelining and keep-alive it cuts the stream where net/http
// does. When it cannot follow, because a head was refused, a body is framed
// in a way it does not accept, or a bound is passed, it stops for good, and
// every later request on the connection is refused and its connection
// closed. A request the scanner did not see, or saw otherwise, is refused
// too: the guard fails closed. A refused head is the last request the
// application can see on its connection, and requests answered before it
// are not disturbed.
//
// Memory per connection is bounded: one head at most (the server's
// MaxHeaderBytes plus net/http's buffer), a chunk-size line or trailer
// section of at most 4 KiB, and the heads net/http read ahead of the
// request it serves (pipelining), at most its 4 KiB buffer's worth.
//
// # Wiring
//
// The guard needs three hooks on the server and its listener; [Guard.Configure]
// sets them:
//
//	srv := &http.Server{Handler: h, IdleTimeout: 75 * time.Second}
//	g := &framing.Guard{Logger: logger, RequestReadTimeout: framing.DefaultReadTimeouts}
//	ln, err := net.Listen("tcp", addr)
//	...
//	err = srv.Serve(g.Configure(srv, ln))
//
// or by hand: serve on [Guard.Listener](ln), set the server's ConnContext
// to [Guard.ConnContext] and its ConnState to [Guard.ConnState] (which
// stops scanning a hijacked connection), and put [Guard.Wrap] outermost
// in the handler chain. A request reaching the handler on a connection the
// listener did not wrap is refused, so a forgotten hook shows at the first
// request. For TLS, wrap the listener returned by tls.NewListener (the
// server then speaks HTTP/1.1 only) and call Serve, not ServeTLS, which
// would put the guard under TLS, reading ciphertext and refusing every
// HTTP/1.1 request; HTTP/2 requests pass unchecked, their framing being
// HTTP/2's own. Cleartext HTTP/2 (h2c) is not served: its
// preface is a head the guard refuses.
//
// # Limits and timeouts
//
// Since it sees every byte of a head as it arrives, the guard also applies
// Apache's limits on the head ([Guard.Limits]: LimitRequestLine 414,
// LimitRequestFieldSize 431, LimitRequestFields 400), refusing a head as
// soon as a line passes its limit rather than after reading it whole, and
// manages the connection's deadlines ([Guard.RequestReadTimeout], which is
// mod_reqtimeout's RequestReadTimeout, and [Guard.Timeout], Apache's
// Timeout): the scanner knows whether a read is part of a head, of a body,
// or the wait between requests, which net/http's ReadHeaderTimeout and
// ReadTimeout cannot tell apart from a slow handler or a long upload.
// Deadlines the server sets itself still apply; the earliest wins. The
// head's timer starts at its first byte (the connection's acceptance for
// the first request), the body's when the handler first reads it; a head
// pipelined behind a request still running is timed from its first byte.
//
// # Security
//
// The guard assumes it is outermost: a handler before it could answer, or
// hijack, a request it would have refused. It reads only what net/http
// reads, so it adds no buffering a client could fill, and it never reads
// ahead of net/http. A client whose requests it refuses gets 400 with no
// detail; the reason goes to the log. Request bodies larger than a limit
// are a different matter: see wsgi.Config.MaxRequestBody and
// http.MaxBytesReader.
package framing
