package remoteip

import (
	"errors"
	"io"
	"net"
	"sync"

	proxyproto "github.com/pires/go-proxyproto"
)

// ProxyProtocol is whether a listener expects HAProxy's PROXY protocol.
type ProxyProtocol int

const (
	// ProxyProtocolOff: no PROXY header is read; a connection that sends
	// one is served as it came (its header is not HTTP: 400).
	ProxyProtocolOff ProxyProtocol = iota
	// ProxyProtocolRequired: a trusted peer must open with a PROXY header
	// (HAProxy's send-proxy or send-proxy-v2), else its connection is
	// closed; an untrusted peer that opens with one is closed too, as
	// HAProxy's accept-proxy does.
	ProxyProtocolRequired
	// ProxyProtocolOptional: as Required, but a trusted peer may also
	// connect without a header (a health check, an administrator on the
	// proxy's host); it is then the client.
	ProxyProtocolOptional
)

func (p ProxyProtocol) String() string {
	switch p {
	case ProxyProtocolOff:
		return "off"
	case ProxyProtocolRequired:
		return "required"
	case ProxyProtocolOptional:
		return "optional"
	}
	return "ProxyProtocol(invalid)"
}

// Listener returns ln reading PROXY protocol headers (v1 and v2) as
// Config.ProxyProtocol says; with ProxyProtocolOff it returns ln itself.
//
// Accept never reads: each connection reads its header in its first Read
// (or RemoteAddr, LocalAddr or Write, whichever comes first: net/http asks
// for RemoteAddr first, in the connection's own goroutine), waiting at most
// Config.ProxyHeaderTimeout, so that one slow peer cannot hold up the
// others. A connection whose header is refused (missing from a trusted
// peer in required mode, present from an untrusted peer, malformed) is
// closed there, with a log line, and its Read fails.
//
// Once read, the header's source address is the connection's RemoteAddr
// (and its destination the LocalAddr), so that net/http's
// Request.RemoteAddr, and everything that reads it, sees the client. A
// LOCAL header (HAProxy's health checks), an UNKNOWN one and one carrying
// other than TCP over IPv4 or IPv6 leave the peer's own address.
//
// Wrap this listener first, before anything that reads the connection:
// package framing's Guard.Configure (which must scan the HTTP bytes after
// the header) and TLS (tls.NewListener: the PROXY header comes before the
// handshake) both go around it.
func (ri *RemoteIP) Listener(ln net.Listener) net.Listener {
	if ri.pp == ProxyProtocolOff {
		return ln
	}
	return &ppListener{Listener: ln, ri: ri}
}

type ppListener struct {
	net.Listener
	ri *RemoteIP
}

func (l *ppListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	trusted := false
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		trusted = l.ri.trustedIP(a.AddrPort().Addr().Unmap().WithZone(""))
	}
	policy := proxyproto.REJECT
	if trusted {
		policy = proxyproto.REQUIRE
		if l.ri.pp == ProxyProtocolOptional {
			policy = proxyproto.USE
		}
	}
	pc := proxyproto.NewConn(c, proxyproto.WithPolicy(policy), proxyproto.SetReadHeaderTimeout(l.ri.ppTimeout))
	return &ppConn{Conn: pc, raw: c, ri: l.ri}, nil
}

// A ppConn is a connection that reads a PROXY header first. It adds to
// go-proxyproto's Conn (which does the reading, and forwards ReadFrom so
// that sendfile still works) the close and log on a refused header, the
// fallback to the peer's address for non-TCP headers, and CloseWrite (for
// net/http's lingering close).
type ppConn struct {
	*proxyproto.Conn
	raw  net.Conn
	ri   *RemoteIP
	once sync.Once
	err  error // why the header was refused
}

// header reads the PROXY header, once. A refused header closes the
// connection, with a log line.
func (c *ppConn) header() error {
	c.once.Do(func() {
		// A zero-length Read makes go-proxyproto read the header and
		// report its verdict, and reads nothing more.
		if _, err := c.Conn.Read(nil); err != nil {
			c.err = err
			c.ri.logger.Warn("remoteip: closing a connection for its PROXY header", "peer", c.raw.RemoteAddr().String(), "err", err)
			c.raw.Close()
		}
	})
	return c.err
}

func (c *ppConn) Read(p []byte) (int, error) {
	if err := c.header(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *ppConn) Write(p []byte) (int, error) {
	if err := c.header(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// WriteTo is Read's counterpart for io.Copy from the connection.
func (c *ppConn) WriteTo(w io.Writer) (int64, error) {
	if err := c.header(); err != nil {
		return 0, err
	}
	return c.Conn.WriteTo(w)
}

// RemoteAddr returns the client's address from the PROXY header, or the
// peer's own address when there is none, it is not TCP over IP, or it was
// refused.
func (c *ppConn) RemoteAddr() net.Addr {
	if c.header() != nil {
		return c.raw.RemoteAddr()
	}
	if h := c.Conn.ProxyHeader(); h != nil && h.Command.IsProxy() {
		if a, ok := h.SourceAddr.(*net.TCPAddr); ok {
			return a
		}
	}
	return c.raw.RemoteAddr()
}

// LocalAddr is RemoteAddr's counterpart: the destination address the
// proxy received the connection on, or this socket's own address.
func (c *ppConn) LocalAddr() net.Addr {
	if c.header() != nil {
		return c.raw.LocalAddr()
	}
	if h := c.Conn.ProxyHeader(); h != nil && h.Command.IsProxy() {
		if a, ok := h.DestinationAddr.(*net.TCPAddr); ok {
			return a
		}
	}
	return c.raw.LocalAddr()
}

// CloseWrite half-closes the connection when the underlying one can.
func (c *ppConn) CloseWrite() error {
	if cw, ok := c.raw.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("remoteip: connection cannot half-close")
}
