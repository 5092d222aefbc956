package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/gowsgi/gowsgi/framing"
)

// A tlsListener does the TLS handshake of each connection before handing
// it to net/http, so that the framing guard can read HTTP/1 in plain text
// and HTTP/2 still reaches net/http's own server: a connection that
// negotiated h2 is returned as the *tls.Conn itself (net/http serves
// HTTP/2 on it, with the request's TLS state), any other is returned
// wrapped by the guard, and its TLS state reaches the request through the
// server's ConnContext ([tlsListener.connContext]) and
// [httpsServer.wrap]. A TLS-ALPN-01 validation handshake is closed once
// done. Handshakes run concurrently, each bounded by tlsHandshakeTimeout,
// so that a slow client does not hold up Accept.
type tlsListener struct {
	net.Listener
	config *tls.Config
	guard  *framing.Guard
	logger *slog.Logger

	conns     chan acceptResult
	done      chan struct{}
	closeOnce sync.Once
	ctx       context.Context // canceled by Close: handshakes in progress stop
	cancel    context.CancelFunc

	// states holds the TLS state of each HTTP/1 connection from Accept
	// until net/http calls ConnContext with it, right after.
	states sync.Map // net.Conn → *tls.ConnectionState
}

type acceptResult struct {
	c   net.Conn
	err error
}

type tlsStateKey struct{}

func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case r := <-l.conns:
		return r.c, r.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *tlsListener) Close() error {
	err := net.ErrClosed
	l.closeOnce.Do(func() {
		close(l.done)
		l.cancel()
		err = l.Listener.Close()
	})
	return err
}

// acceptLoop accepts TCP connections and starts their handshakes, until
// the listener is closed. Errors go to Accept, where net/http retries the
// temporary ones.
func (l *tlsListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.conns <- acceptResult{err: err}:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go l.handshake(c)
	}
}

// handshake runs c's TLS handshake and hands the connection to Accept.
func (l *tlsListener) handshake(c net.Conn) {
	tc := tls.Server(c, l.config)
	ctx, cancel := context.WithTimeout(l.ctx, tlsHandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		// Plain HTTP sent to the HTTPS port gets a readable answer, as
		// net/http gives it.
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) && rh.Conn != nil && looksLikeHTTP(rh.RecordHeader) {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(c, "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		}
		// Scanners and clients that distrust the certificate: the
		// client learns why, the log would fill with them.
		l.logger.Debug("gowsgi: TLS handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	st := tc.ConnectionState()
	var out net.Conn
	switch st.NegotiatedProtocol {
	case acme.ALPNProto:
		// The authority checked the challenge certificate; no HTTP
		// follows.
		tc.Close()
		return
	case "h2":
		out = tc
	default:
		gc, err := l.guard.Listener(oneConn{tc}).Accept()
		if err != nil { // oneConn.Accept does not fail
			tc.Close()
			return
		}
		out = gc
		l.states.Store(out, &st)
	}
	select {
	case l.conns <- acceptResult{c: out}:
	case <-l.done:
		l.states.Delete(out)
		out.Close()
	}
}

// looksLikeHTTP reports whether the first bytes of what should have been a
// TLS record are an HTTP/1 request line.
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "PROPF":
		return true
	}
	return false
}

// oneConn is a listener whose Accept returns c: [framing.Guard.Listener]
// wraps it to wrap one connection.
type oneConn struct{ c net.Conn }

func (o oneConn) Accept() (net.Conn, error) { return o.c, nil }
func (o oneConn) Close() error              { return nil }
func (o oneConn) Addr() net.Addr            { return o.c.LocalAddr() }

// connContext is the server's ConnContext: an HTTP/1 connection's TLS
// state goes into its context, for [httpsServer.wrap].
func (l *tlsListener) connContext(ctx context.Context, c net.Conn) context.Context {
	if st, ok := l.states.LoadAndDelete(c); ok {
		return context.WithValue(ctx, tlsStateKey{}, st)
	}
	return ctx
}
