package ldapauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// errUnavailable wraps every failure to reach the directory.
var errUnavailable = errors.New("directory unavailable")

// dialer opens connections to the servers of a URL, in failover order.
type dialer struct {
	url *URL
	tls *tls.Config
	// dials counts the connections opened, for tests.
	dials atomic.Int64
}

// dial connects to the first server of the URL that answers, with the
// URL's security, before ctx's deadline.
func (d *dialer) dial(ctx context.Context) (*ldap.Conn, error) {
	var errs []error
	for i, host := range d.url.Hosts {
		// A host that drops connection attempts must leave time for the
		// next ones: each gets an equal share of what is left to connect.
		hctx, cancel := ctx, context.CancelFunc(func() {})
		if dl, ok := ctx.Deadline(); ok && i < len(d.url.Hosts)-1 {
			hctx, cancel = context.WithTimeout(ctx, time.Until(dl)/time.Duration(len(d.url.Hosts)-i))
		}
		c, err := d.dialHost(hctx, host)
		cancel()
		if err == nil {
			d.dials.Add(1)
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", host, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("ldapauth: %w: %w", errUnavailable, errors.Join(errs...))
}

func (d *dialer) dialHost(ctx context.Context, host string) (*ldap.Conn, error) {
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	isTLS := d.url.Security == SecuritySSL
	if isTLS {
		tc := tls.Client(nc, d.tlsFor(host))
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	c := ldap.NewConn(nc, isTLS)
	c.Start()
	if d.url.Security == SecurityStartTLS {
		if err := setTimeout(ctx, c); err != nil {
			closeAsync(c)
			return nil, err
		}
		// The TLS handshake inside StartTLS has no timeout of its own: bound
		// it with a deadline on the socket, lifted once it is done.
		if dl, ok := ctx.Deadline(); ok {
			_ = nc.SetDeadline(dl)
		}
		if err := c.StartTLS(d.tlsFor(host)); err != nil {
			closeAsync(c)
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
		_ = nc.SetDeadline(time.Time{})
	}
	return c, nil
}

func (d *dialer) tlsFor(host string) *tls.Config {
	var cfg *tls.Config
	if d.tls != nil {
		cfg = d.tls.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		h, _, err := net.SplitHostPort(host)
		if err != nil {
			h = host
		}
		cfg.ServerName = h
	}
	return cfg
}

// setTimeout gives c's next operations the time left before ctx's deadline.
func setTimeout(ctx context.Context, c *ldap.Conn) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		rem := time.Until(dl)
		if rem <= 0 {
			return context.DeadlineExceeded
		}
		c.SetTimeout(rem)
	}
	return nil
}

// closeAsync closes c without waiting: closing a connection to a hung
// server must not hold up the caller.
func closeAsync(c *ldap.Conn) { go c.Close() }

// isConnError reports whether err means the connection is unusable (a
// network failure, a timeout, a server shutting down), as opposed to an LDAP
// answer such as "invalid credentials".
func isConnError(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case ldap.ErrorNetwork, ldap.LDAPResultUnavailable, ldap.LDAPResultBusy,
			ldap.LDAPResultServerDown, ldap.LDAPResultTimeout, ldap.LDAPResultConnectError:
			return true
		}
		return false
	}
	return true
}

// pool is a bounded set of connections bound with one identity (the
// service account, or none), reused across calls.
type pool struct {
	dialer *dialer
	// bind authenticates a fresh connection; nil leaves it anonymous.
	bind  func(c *ldap.Conn) error
	slots chan struct{}

	mu     sync.Mutex
	idle   []*ldap.Conn
	closed bool
}

func newPool(d *dialer, size int, bind func(*ldap.Conn) error) *pool {
	return &pool{dialer: d, bind: bind, slots: make(chan struct{}, size)}
}

// get returns a connection and whether it is freshly dialled. The caller
// must hand it back with put.
func (p *pool) get(ctx context.Context) (*ldap.Conn, bool, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("ldapauth: %w: waiting for a pooled connection: %w", errUnavailable, ctx.Err())
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, false, fmt.Errorf("ldapauth: %w: Directory closed", errUnavailable)
	}
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if c.IsClosing() {
			closeAsync(c)
			continue
		}
		p.mu.Unlock()
		return c, false, nil
	}
	p.mu.Unlock()
	c, err := p.dialer.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, false, err
	}
	if p.bind != nil {
		if err := setTimeout(ctx, c); err != nil {
			closeAsync(c)
			<-p.slots
			return nil, false, fmt.Errorf("ldapauth: %w: %w", errUnavailable, err)
		}
		if err := p.bind(c); err != nil {
			closeAsync(c)
			<-p.slots
			if isConnError(err) {
				return nil, false, fmt.Errorf("ldapauth: %w: service bind: %w", errUnavailable, err)
			}
			return nil, false, fmt.Errorf("ldapauth: service bind: %w", err)
		}
	}
	return c, true, nil
}

// put hands c back; a broken connection is closed instead of kept.
func (p *pool) put(c *ldap.Conn, broken bool) {
	p.mu.Lock()
	if broken || p.closed || c.IsClosing() {
		p.mu.Unlock()
		closeAsync(c)
	} else {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
	}
	<-p.slots
}

// do runs fn on a pooled connection. A reused connection that turns out to
// be dead (the server restarted or dropped it) is replaced once by a fresh
// one, as long as ctx allows.
func (p *pool) do(ctx context.Context, fn func(c *ldap.Conn) error) error {
	for {
		c, fresh, err := p.get(ctx)
		if err != nil {
			return err
		}
		if err := setTimeout(ctx, c); err != nil {
			p.put(c, false)
			return fmt.Errorf("ldapauth: %w: %w", errUnavailable, err)
		}
		err = fn(c)
		if !isConnError(err) {
			p.put(c, false)
			return err
		}
		p.put(c, true)
		if fresh || ctx.Err() != nil {
			return fmt.Errorf("ldapauth: %w: %w", errUnavailable, err)
		}
	}
}

func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.idle {
		c.Close()
	}
	p.idle = nil
}

// stats reports the idle connections, for tests.
func (p *pool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
