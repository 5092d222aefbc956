package framing

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// A conn is a server connection whose reads go through a [scanner].
type conn struct {
	net.Conn

	mu       sync.Mutex
	s        *scanner
	hijacked bool       // a handler took the connection: no more HTTP on it
	dl       *deadlines // nil when the guard has no timeouts
}

type listener struct {
	net.Listener
	g       *Guard
	maxHead int
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	fc := &conn{Conn: c, s: newScanner(l.maxHead)}
	fc.s.lim = l.g.Limits
	if l.g.Timeout > 0 || l.g.RequestReadTimeout != (ReadTimeouts{}) {
		fc.dl = newDeadlines(l.g, time.Now())
	}
	return fc, nil
}

// Read reads from the connection and scans what it read, until the scanner
// stops. Reads go on after that, unscanned: failing them would cancel the
// context of a sound request served before the one that stopped the
// scanner; the guard refuses every request net/http reads after it.
func (c *conn) Read(p []byte) (int, error) {
	if c.dl != nil {
		return c.timedRead(p)
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if !c.hijacked && c.s.state != stStopped {
			c.s.scan(p[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

// ReadFrom hands a response body to the underlying connection's ReadFrom,
// so that *net.TCPConn still sends files with sendfile(2).
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if c.dl != nil {
		return c.timedReadFrom(r)
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}

var (
	_ io.ReaderFrom                   = (*conn)(nil)
	_ interface{ CloseWrite() error } = (*conn)(nil)
)

// CloseWrite half-closes the connection when the underlying one can, so
// that net/http's lingering close (after a 431 or a 413) still works.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("framing: connection cannot half-close")
}

// take matches the request net/http serves next on c, by its method and
// request target, with the oldest head the scanner queued. It returns why
// the request must be refused, or "", and the refusal's status. Heads of "OPTIONS *" requests, which
// net/http answers itself, are passed over unless refused. A refusal stops
// the scanner, so that every later request on the connection is refused.
func (c *conn) take(method, target string) (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	why, status := c.takeLocked(method, target)
	if why != "" && c.s.state != stStopped {
		c.s.stop(errors.New("framing: " + why))
	}
	if status == 0 {
		status = http.StatusBadRequest
	}
	return why, status
}

func (c *conn) takeLocked(method, target string) (string, int) {
	if c.hijacked {
		return "request on a hijacked connection", 0
	}
	for {
		if len(c.s.heads) == 0 {
			if c.s.err != nil {
				return "request after the connection's framing stopped: " + c.s.err.Error(), 0
			}
			return "request the scanner did not see", 0
		}
		// Shift down rather than reslice, so that the queue's array
		// serves the connection's next requests (it holds one head but
		// under pipelining).
		h := c.s.heads[0]
		n := copy(c.s.heads, c.s.heads[1:])
		c.s.heads[n] = head{}
		c.s.heads = c.s.heads[:n]
		if h.refuse != "" {
			return h.refuse, h.status
		}
		if h.method == "OPTIONS" && h.target == "*" && (method != "OPTIONS" || target != "*") {
			continue
		}
		if h.method != method || h.target != target {
			return "request out of step with the scanner", 0
		}
		return "", 0
	}
}

type connKey struct{}

// ConnContext is an [http.Server] ConnContext that makes the connection's
// scanner known to [Guard.Wrap]. It returns ctx unchanged for a
// connection that did not come from [Guard.Listener].
func (g *Guard) ConnContext(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*conn); ok {
		return context.WithValue(ctx, connKey{}, fc)
	}
	return ctx
}

// ConnState is an [http.Server] ConnState hook: a connection a handler
// hijacked (a WebSocket, a CONNECT tunnel) is no longer scanned.
func (g *Guard) ConnState(c net.Conn, s http.ConnState) {
	if fc, ok := c.(*conn); ok && s == http.StateHijacked {
		fc.mu.Lock()
		fc.hijacked = true
		fc.s.buf, fc.s.heads = nil, nil
		if fc.dl != nil {
			fc.dl.hijacked(fc.Conn)
		}
		fc.mu.Unlock()
	}
}
