// Package remoteip believes what trusted reverse proxies say about the
// client: its address, the scheme it used and the host it asked for, from
// forwarding headers (X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host,
// or RFC 7239 Forwarded) or from HAProxy's PROXY protocol. It is Apache's
// mod_remoteip, whose name it takes (its directives RemoteIPTrustedProxy,
// RemoteIPHeader and RemoteIPProxyProtocol are [Config]'s TrustedProxies,
// Header and ProxyProtocol): "remote IP" is what the rest of the server
// sees change, and "forwarded" would name only one of the two ways in.
//
// It is the one place in gowsgi that trusts a proxy. [RemoteIP.Wrap]
// rewrites a copy of the request: RemoteAddr becomes the client's address,
// so that auth's Require ip, package wsgi's REMOTE_ADDR and any log see the
// client without knowing about this layer; Host becomes the forwarded host
// (HTTP_HOST, SERVER_NAME). It also records the client, the proxy's
// address and the forwarded scheme in the request's record (package
// reqinfo's Record.SetForwarded), where layers outside it (an access log
// around the whole chain) find the client too, and package wsgi the scheme
// for wsgi.url_scheme and HTTPS; [Scheme] and [Peer] read them for anything
// else. The scheme is not written to
// r.URL.Scheme: a client may send a request in absolute form
// ("GET https://host/ HTTP/1.1"), which sets that field, so no layer may
// believe it. [RemoteIP.Listener] does the same for the address from a
// PROXY protocol header, on the connection, for every request on it.
//
// # Where it goes
//
//	ln = ri.Listener(ln)            PROXY header, innermost on the listener
//	ln = tls.NewListener(ln, cfg)   (if any) the handshake follows the header
//	srv.Handler = ri.Wrap(chain)    forwarding headers, before any rule
//	ln = guard.Configure(srv, ln)   package framing, outermost on both
//
// Wrap goes outside every layer that looks at the client's address, scheme
// or host (virtual hosts, Require ip, the application), and inside package
// framing's guard, which judges the connection's bytes, not who sent them.
// A layer outside Wrap sees the proxy's RemoteAddr; an access log there
// reads the client from the request's record (reqinfo's Info.Client, with
// Info.Peer the proxy), which Wrap fills (making it, when no layer outside
// did, for the layers inside).
//
// # Which header
//
// The client chain is read from one header only, Config.Header:
// X-Forwarded-For (the default: what nginx, HAProxy's option forwardfor,
// Apache's mod_proxy, AWS and Google load balancers set), with
// X-Forwarded-Proto and X-Forwarded-Host, or RFC 7239 Forwarded, with its
// proto= and host=. When a request carries both families, the other one is
// not looked at. Taking whichever is present, or preferring Forwarded, is
// not safe: a proxy appends to the header it maintains and passes the other
// through as the client wrote it, so a client could name itself
// 127.0.0.1 in the header its proxy does not touch. mod_remoteip and Caddy
// likewise read one configured header; set Header to the one your proxy
// writes.
//
// The chain is walked from the right, past the addresses in
// TrustedProxies, to the first address that is not trusted: that is the
// client (when every address is trusted, the left-most is). An address a
// client wrote itself is always to the left of the one its first trusted
// proxy appended, so it is never reached. With Forwarded, the proto= and
// host= of the chosen element are the client's (they were written by the
// trusted proxy that received the request from it). With X-Forwarded-*,
// X-Forwarded-Proto and X-Forwarded-Host are read at the same position,
// counted from the right, as the chosen X-Forwarded-For address, since
// proxies that append append to all three; when they hold fewer values (a
// proxy replaced them), their left-most value is used. A proxy in
// TrustedProxies must set or append these headers, never pass a client's
// through: what it passes is believed.
//
// Without the header, a request from a trusted proxy keeps the proxy's
// address (a health check is its own client) but its X-Forwarded-Proto and
// X-Forwarded-Host are still believed.
//
// # Malformed headers
//
// Nothing in a header makes Wrap fail or panic; fuzz targets check the
// parsers. Addresses may be IPv4, IPv6 (bare in X-Forwarded-For,
// "[v6]" or "[v6]:port" in Forwarded, where it must be quoted), with a
// port or not; IPv4-mapped IPv6 addresses are their IPv4 form. A chosen
// hop that is no address, RFC 7239's "unknown" or an obfuscated
// "_identifier", or anything that does not parse (a zone, text), makes
// RemoteAddr "unknown:0" (or "_identifier:0"): no Require ip rule matches
// it, rather than the proxy's address, which one might. A Forwarded line
// that does not parse (an open quote, a parameter given twice in one
// element) is one such hop, so a client cannot swallow the element its
// proxy appended on a later line; on the same line, it can only make
// itself "unknown". A chain of more than 64 trusted hops names no client
// either. A forwarded scheme other than http or https, and a host that is
// not a valid Host header, are ignored.
//
// # PROXY protocol
//
// With Config.ProxyProtocol, [RemoteIP.Listener] reads the PROXY protocol
// header (v1, text, HAProxy's send-proxy; v2, binary, send-proxy-v2) that a
// trusted peer sends before anything else, and the address it carries
// becomes the connection's RemoteAddr. As with HAProxy's accept-proxy, a
// connection from a trusted peer without the header (ProxyProtocolRequired)
// and one from an untrusted peer with one are closed; ProxyProtocolOptional
// accepts both kinds from trusted peers. The header is read in the
// connection's first read, not in Accept, within ProxyHeaderTimeout.
//
// The header is parsed by github.com/pires/go-proxyproto, a maintained
// parser of both versions (TLVs, LOCAL, UNKNOWN), fuzzed there and here.
//
// After a PROXY header, the address it carries is the peer that Wrap
// judges: a client's address is not trusted, so forwarding headers on that
// connection are not believed; an address in TrustedProxies (a load
// balancer in front of HAProxy) is, and Wrap reads its headers as usual. The scheme the client used (a v2 SSL TLV) is not read: a proxy
// that terminates TLS and speaks the PROXY protocol should forward plain
// TCP to a TLS listener, or use forwarding headers.
//
// # Security
//
//   - A request whose peer is not in TrustedProxies is passed on exactly as
//     it came: its X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and
//     Forwarded reach the application (as HTTP_X_FORWARDED_FOR, ...), and
//     nothing in gowsgi believes them: not REMOTE_ADDR, not Require ip,
//     not wsgi.url_scheme, not HTTP_HOST.
//   - Only TrustedProxies are believed, and only for what they appended:
//     see "Which header".
//   - A PROXY header is believed only from TrustedProxies; from anyone else
//     it closes the connection.
//   - TrustedProxies must not be empty ([New] refuses), and should be as
//     narrow as the proxies' addresses: a trusted range that also holds
//     clients lets those clients name any address.
package remoteip
