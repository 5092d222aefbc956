package pool_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
)

// A small in-memory driver whose connections implement a chosen set of
// database/sql's optional interfaces and record the calls they get.

type kind int

const (
	minimal kind = iota // driver.Conn only
	legacy              // driver.Conn plus the deprecated Execer and Queryer
	full                // every optional interface
)

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return nil, errors.New("fake: use a connector") }

// fakeConnector opens fake connections and counts them.
type fakeConnector struct {
	kind kind
	// fail makes Connect fail while it is set.
	fail atomic.Bool
	// onConnect, when set, is called by each Connect, such as a fake
	// clock's advance standing for the time connecting takes.
	onConnect func()
	// onClose, when set, is called by each connection's Close.
	onClose func()

	open, maxOpen, opened, closed atomic.Int64

	mu    sync.Mutex
	calls []string
}

func (c *fakeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.onConnect != nil {
		c.onConnect()
	}
	if c.fail.Load() {
		return nil, errors.New("fake: connection refused")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := c.open.Add(1)
	for {
		m := c.maxOpen.Load()
		if n <= m || c.maxOpen.CompareAndSwap(m, n) {
			break
		}
	}
	c.opened.Add(1)
	b := &baseConn{c: c}
	switch c.kind {
	case legacy:
		return &legacyConn{b}, nil
	case full:
		return &fullConn{legacyConn{b}}, nil
	}
	return b, nil
}

func (c *fakeConnector) Driver() driver.Driver { return fakeDriver{} }

func (c *fakeConnector) record(call string) {
	c.mu.Lock()
	c.calls = append(c.calls, call)
	c.mu.Unlock()
}

// takeCalls returns the calls recorded since the last takeCalls.
func (c *fakeConnector) takeCalls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

func (c *fakeConnector) called(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.calls {
		if s == name {
			return true
		}
	}
	return false
}

type baseConn struct {
	c      *fakeConnector
	closed bool
}

func (b *baseConn) Prepare(q string) (driver.Stmt, error) {
	b.c.record("Prepare")
	if strings.HasPrefix(q, "FAIL") {
		return nil, errors.New("fake: syntax error")
	}
	return &fakeStmt{c: b.c, q: q}, nil
}

func (b *baseConn) Close() error {
	if b.closed {
		return errors.New("fake: closed twice")
	}
	b.closed = true
	if b.c.onClose != nil {
		b.c.onClose()
	}
	b.c.open.Add(-1)
	b.c.closed.Add(1)
	return nil
}

func (b *baseConn) Begin() (driver.Tx, error) {
	b.c.record("Begin")
	return fakeTx{b.c}, nil
}

type legacyConn struct{ *baseConn }

func (l *legacyConn) Exec(q string, args []driver.Value) (driver.Result, error) {
	l.c.record("Exec")
	return driver.RowsAffected(len(args)), nil
}

func (l *legacyConn) Query(q string, args []driver.Value) (driver.Rows, error) {
	l.c.record("Query")
	return &fakeRows{vals: args}, nil
}

type fullConn struct{ legacyConn }

func (f *fullConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	f.c.record("ExecContext")
	return driver.RowsAffected(len(args)), nil
}

func (f *fullConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	f.c.record("QueryContext")
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	return &fakeRows{vals: vals}, nil
}

func (f *fullConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	f.c.record(fmt.Sprintf("BeginTx(%d,%v)", opts.Isolation, opts.ReadOnly))
	return fakeTx{f.c}, nil
}

func (f *fullConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	f.c.record("PrepareContext")
	return &fakeStmt{c: f.c, q: q}, nil
}

func (f *fullConn) Ping(ctx context.Context) error {
	f.c.record("Ping")
	return nil
}

func (f *fullConn) ResetSession(ctx context.Context) error {
	f.c.record("ResetSession")
	return nil
}

func (f *fullConn) IsValid() bool {
	f.c.record("IsValid")
	return true
}

// point is an argument type only fullConn's NamedValueChecker accepts.
type point struct{ X, Y int }

func (f *fullConn) CheckNamedValue(nv *driver.NamedValue) error {
	f.c.record("CheckNamedValue")
	if p, ok := nv.Value.(point); ok {
		nv.Value = fmt.Sprintf("(%d,%d)", p.X, p.Y)
		return nil
	}
	return driver.ErrSkip
}

type fakeTx struct{ c *fakeConnector }

func (t fakeTx) Commit() error   { t.c.record("Commit"); return nil }
func (t fakeTx) Rollback() error { t.c.record("Rollback"); return nil }

type fakeStmt struct {
	c *fakeConnector
	q string
}

func (s *fakeStmt) Close() error  { s.c.record("StmtClose"); return nil }
func (s *fakeStmt) NumInput() int { return -1 }
func (s *fakeStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.c.record("StmtExec")
	return driver.RowsAffected(len(args)), nil
}
func (s *fakeStmt) Query(args []driver.Value) (driver.Rows, error) {
	s.c.record("StmtQuery")
	return &fakeRows{vals: args}, nil
}

// fakeRows returns one row holding the query's arguments as strings, or
// "none".
type fakeRows struct {
	vals []driver.Value
	done bool
}

func (r *fakeRows) Columns() []string { return []string{"args"} }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	if len(r.vals) == 0 {
		dest[0] = "none"
		return nil
	}
	parts := make([]string, len(r.vals))
	for i, v := range r.vals {
		parts[i] = fmt.Sprint(v)
	}
	dest[0] = strings.Join(parts, ",")
	return nil
}
