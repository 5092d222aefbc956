package pool

import (
	"context"
	"database/sql/driver"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// conn is a driver connection counted by a governor. It implements the
// optional interfaces database/sql looks for, and where the wrapped
// connection lacks one it does what database/sql would have done without
// it: driver.ErrSkip for NamedValueChecker, database/sql's own fallback
// for ConnBeginTx and ConnPrepareContext (and for QueryerContext and
// ExecerContext over the deprecated Queryer and Execer), and the neutral
// answer for Pinger (nil), SessionResetter (nil) and Validator (true).
//
// QueryerContext and ExecerContext are the exception: database/sql
// converts the arguments at the connection level before it calls them,
// and a conversion error there is final, whereas without them it
// prepares a statement and lets the statement's own converters see the
// arguments. So they are implemented (by connQ, connE, connQE) only when
// the wrapped connection has them or their deprecated forms.
type conn struct {
	inner  driver.Conn
	p      *poolState
	opened time.Time

	// reclaimed is set (under database/sql's lock of the connection) when
	// IsValid gave the connection up for a waiter of another pool.
	reclaimed bool
	// idle mirrors membership of p.idle, so that the common case (not
	// idle) costs one atomic load per call.
	idle atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.QueryerContext     = connQ{}
	_ driver.ExecerContext      = connE{}
	_ driver.QueryerContext     = connQE{}
	_ driver.ExecerContext      = connQE{}
)

type connQ struct{ *conn }
type connE struct{ *conn }
type connQE struct{ *conn }

func (c connQ) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.query(ctx, query, args)
}

func (c connE) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.exec(ctx, query, args)
}

func (c connQE) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.query(ctx, query, args)
}

func (c connQE) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.exec(ctx, query, args)
}

// wrapConn returns c as the type whose method set matches inner's.
func wrapConn(c *conn) driver.Conn {
	_, q1 := c.inner.(driver.QueryerContext)
	//lint:ignore SA1019 a driver with only the deprecated Queryer still gets its queries run by it, as database/sql would
	_, q2 := c.inner.(driver.Queryer)
	_, e1 := c.inner.(driver.ExecerContext)
	//lint:ignore SA1019 a driver with only the deprecated Execer still gets its statements run by it, as database/sql would
	_, e2 := c.inner.(driver.Execer)
	q, e := q1 || q2, e1 || e2
	switch {
	case q && e:
		return connQE{c}
	case q:
		return connQ{c}
	case e:
		return connE{c}
	}
	return c
}

// Unwrap returns the driver's own connection.
func (c *conn) Unwrap() driver.Conn { return c.inner }

// Unwrap returns the driver's own connection when driverConn is a
// connection of a governed pool, as [sql.Conn.Raw] hands it out, and
// driverConn unchanged otherwise:
//
//	err := sqlConn.Raw(func(dc any) error {
//		pgxConn := pool.Unwrap(dc).(*stdlib.Conn).Conn()
//		...
//	})
func Unwrap(driverConn any) any {
	if c, ok := driverConn.(interface{ Unwrap() driver.Conn }); ok {
		return c.Unwrap()
	}
	return driverConn
}

// Prepare forwards to the driver: driver.Conn requires it, and database/sql
// calls it when PrepareContext is missing (ours never is).
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	c.busy()
	return c.inner.Prepare(query)
}

// Begin forwards the deprecated driver.Conn.Begin: the interface still
// requires it, and a caller holding the raw connection (sql.Conn.Raw) may
// call it.
func (c *conn) Begin() (driver.Tx, error) {
	c.busy()
	//lint:ignore SA1019 forwarding the deprecated method the interface requires
	return c.inner.Begin()
}

// Close closes the wrapped connection once and gives its slot back.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		p := c.p
		start := p.g.now()
		c.closeErr = c.inner.Close()
		ewma(&p.g.closeAvg, p.g.now().Sub(start))
		p.mu.Lock()
		_, wasIdle := p.idle[c]
		delete(p.idle, c)
		c.idle.Store(false)
		shed := wasIdle && p.shedding
		p.mu.Unlock()
		if shed {
			p.closedForWaiter.Add(1)
			p.g.log.Debug("pool: closed an idle connection for a waiter", slog.String("pool", p.name))
		}
		if c.reclaimed {
			p.g.reclaiming.Add(-1)
		}
		p.release()
	})
	return c.closeErr
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.busy()
	if bt, ok := c.inner.(driver.ConnBeginTx); ok {
		return bt.BeginTx(ctx, opts)
	}
	// database/sql's fallback (ctxDriverBegin).
	if opts.Isolation != driver.IsolationLevel(0) {
		// database/sql's own words, prefix included: the wrapper must be
		// invisible (TestWrapperIsInvisible), so these are not "pool: ".
		return nil, errors.New("sql: driver does not support non-default isolation level")
	}
	if opts.ReadOnly {
		return nil, errors.New("sql: driver does not support read-only transactions")
	}
	//lint:ignore SA1019 database/sql's own fallback for a driver without ConnBeginTx
	tx, err := c.inner.Begin()
	if err == nil && ctx.Done() != nil {
		select {
		default:
		case <-ctx.Done():
			_ = tx.Rollback()
			return nil, ctx.Err()
		}
	}
	return tx, err
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.busy()
	if pc, ok := c.inner.(driver.ConnPrepareContext); ok {
		return pc.PrepareContext(ctx, query)
	}
	// database/sql's fallback (ctxDriverPrepare).
	st, err := c.inner.Prepare(query)
	if err == nil {
		select {
		default:
		case <-ctx.Done():
			_ = st.Close()
			return nil, ctx.Err()
		}
	}
	return st, err
}

func (c *conn) exec(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.busy()
	if ec, ok := c.inner.(driver.ExecerContext); ok {
		return ec.ExecContext(ctx, query, args)
	}
	//lint:ignore SA1019 database/sql's fallback (ctxDriverExec) for a driver with only the deprecated Execer
	if e, ok := c.inner.(driver.Execer); ok {
		vals, err := legacyArgs(ctx, args)
		if err != nil {
			return nil, err
		}
		return e.Exec(query, vals)
	}
	return nil, driver.ErrSkip
}

func (c *conn) query(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.busy()
	if qc, ok := c.inner.(driver.QueryerContext); ok {
		return qc.QueryContext(ctx, query, args)
	}
	//lint:ignore SA1019 database/sql's fallback (ctxDriverQuery) for a driver with only the deprecated Queryer
	if q, ok := c.inner.(driver.Queryer); ok {
		vals, err := legacyArgs(ctx, args)
		if err != nil {
			return nil, err
		}
		return q.Query(query, vals)
	}
	return nil, driver.ErrSkip
}

// legacyArgs prepares a call to a driver without the context interfaces,
// as database/sql does: positional values only, and not once ctx is done.
func legacyArgs(ctx context.Context, args []driver.NamedValue) ([]driver.Value, error) {
	vals, err := namedValueToValue(args)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return vals, nil
}

func namedValueToValue(named []driver.NamedValue) ([]driver.Value, error) {
	vals := make([]driver.Value, len(named))
	for i, nv := range named {
		if nv.Name != "" {
			return nil, errors.New("sql: driver does not support the use of Named Parameters")
		}
		vals[i] = nv.Value
	}
	return vals, nil
}

func (c *conn) Ping(ctx context.Context) error {
	c.busy()
	if pg, ok := c.inner.(driver.Pinger); ok {
		return pg.Ping(ctx)
	}
	return nil
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	c.busy()
	if ch, ok := c.inner.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// ResetSession is called by database/sql when it takes the connection out
// of its pool again (after a use): the connection is no longer idle.
func (c *conn) ResetSession(ctx context.Context) error {
	c.busy()
	if rs, ok := c.inner.(driver.SessionResetter); ok {
		return rs.ResetSession(ctx)
	}
	return nil
}

// IsValid is called by database/sql when the connection is returned to its
// pool. It answers false, so that database/sql closes the connection and
// its slot goes to the first waiter, when a caller of another pool waits,
// the connection has served its pool for the hold (see [Config.HoldFor])
// and the pool holds more than its reservation.
func (c *conn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok && !v.IsValid() {
		return false
	}
	p := c.p
	g := p.g
	if !c.reclaimed && g.now().Sub(c.opened) >= g.holdFor() && p.reclaimable() && g.claimWaiter(p) {
		c.reclaimed = true
		p.closedForWaiter.Add(1)
		g.log.Debug("pool: closing a returned connection for a waiter", slog.String("pool", p.name))
		return false
	}
	c.markIdle()
	return true
}

// markIdle notes that the connection sits in its pool. A new connection
// starts so too: database/sql may put one it opened in the background
// straight into its pool, without a call the wrapper would see.
func (c *conn) markIdle() {
	p := c.p
	p.mu.Lock()
	p.idle[c] = p.g.now()
	c.idle.Store(true)
	p.mu.Unlock()
}

// busy notes that the connection is in use: it was taken out of its pool.
func (c *conn) busy() {
	if !c.idle.Load() {
		return
	}
	p := c.p
	p.mu.Lock()
	delete(p.idle, c)
	c.idle.Store(false)
	p.mu.Unlock()
}
