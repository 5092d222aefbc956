package uwsgi

import (
	"bufio"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// readHead reads the status line and header an upstream sent (uWSGI
// answers a uwsgi request with a plain HTTP/1.x response) with
// net/http's parser, and checks what a client will receive from it: a
// final status (200-999), header names that are tokens, values without
// control characters, one Content-Length, no Transfer-Encoding but
// chunked. The hop-by-hop fields (those of RFC 9110 and the ones its
// Connection field names) and the fields addressed to a front server
// (X-Accel-*, X-Sendfile and kin) are removed from the header.
//
// resp.Close reports that the application asked, in an HTTP/1.1
// response, for the client's connection to be closed (Connection: close),
// as package wsgi honours it.
// The response's Body is net/http's: it ends at the Content-Length, at the
// end of a chunked body (failing on a truncated one), or at the end of the
// connection when the upstream gave neither.
func readHead(br *bufio.Reader, method string) (*http.Response, error) {
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 999 {
		return nil, fmt.Errorf("uwsgi: status %d is not a final status", resp.StatusCode)
	}
	if len(resp.TransferEncoding) > 1 || len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] != "chunked" {
		return nil, fmt.Errorf("uwsgi: unsupported Transfer-Encoding %q", resp.TransferEncoding)
	}
	var options []string
	for name, values := range resp.Header {
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, fmt.Errorf("uwsgi: bad header name %q", name)
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, fmt.Errorf("uwsgi: control character in header %s", name)
			}
		}
		if name == "Connection" {
			for _, v := range values {
				for opt := range strings.SplitSeq(v, ",") {
					if opt = strings.Trim(opt, " \t"); opt != "" {
						options = append(options, textproto.CanonicalMIMEHeaderKey(opt))
					}
				}
			}
		}
	}
	// Close must report an explicit "Connection: close" only (net/http
	// removed that field and set Close): the end of an HTTP/1.0
	// upstream's connection, which uWSGI answers to an HTTP/1.0 request,
	// says nothing about the client's, which net/http manages.
	if !resp.ProtoAtLeast(1, 1) {
		resp.Close = false
	}
	for _, name := range options {
		if name != "Content-Length" { // framing, kept in resp.ContentLength
			delete(resp.Header, name)
		}
	}
	for name := range resp.Header {
		if hopByHop[name] || strings.HasPrefix(name, "X-Accel-") || internal[name] {
			delete(resp.Header, name)
		}
	}
	return resp, nil
}

// hopByHop are the fields that describe one connection, never the
// response (RFC 9110, 7.6.1), in canonical form.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Trailers": true,
	"Transfer-Encoding": true, "Upgrade": true, "Proxy-Connection": true,
}

// internal are fields an application sends to a front server (nginx's
// X-Accel-* are matched by prefix): the paths they name are on the
// upstream's machine, and the client must not see them.
var internal = map[string]bool{
	"X-Sendfile": true, "X-Lighttpd-Send-File": true, "X-Sendfile2": true,
	"X-Sendfile-Temporary": true,
}
