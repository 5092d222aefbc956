package framing

import (
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// A phase is what a connection's reads are for, as its scanner sees them.
type phase uint8

const (
	phIdle phase = iota // between requests: the server's IdleTimeout applies
	phHead              // a request head
	phBody              // a request body
	phOff               // hijacked: the guard sets no deadlines
)

var phaseNames = [...]string{phIdle: "idle", phHead: "header", phBody: "body", phOff: "hijacked"}

// deadlines manages a connection's read and write deadlines for
// [Guard.RequestReadTimeout] and [Guard.Timeout], combined with those the
// server sets (ReadHeaderTimeout, IdleTimeout, aborting a background read,
// http.ResponseController): the earliest wins. Its fields are under the
// conn's mutex.
type deadlines struct {
	g     *Guard
	phase phase
	start time.Time // when the phase began; in phBody zero until the handler first reads
	n     int64     // bytes received in the phase

	ours         time.Time // the read deadline the guard wants, zero for none
	outerRead    time.Time // the read deadline the server set
	outerWrite   time.Time // the write deadline the server set
	applied      time.Time // the read deadline set on the connection
	appliedWrite time.Time // the write deadline set on the connection
}

// perOp is the deadline of one read or write starting at now under
// Timeout t: now+t, rounded down to an eighth of t (at most a second), so
// that the reads and writes of a request mostly find the deadline already
// set and skip resetting the connection's timer.
func perOp(now time.Time, t time.Duration) time.Time {
	return now.Add(t).Truncate(min(t/8, time.Second))
}

// newDeadlines starts a connection accepted at now: its first head is
// timed from its acceptance, so that a client sending nothing is cut too.
func newDeadlines(g *Guard, now time.Time) *deadlines {
	return &deadlines{g: g, phase: phHead, start: now}
}

// earliest returns the earlier of two deadlines, zero meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// readDeadline is the deadline the guard wants for a read starting at now.
func (d *deadlines) readDeadline(now time.Time) time.Time {
	var t time.Time
	switch d.phase {
	case phHead:
		t = d.g.RequestReadTimeout.Header.deadline(d.start, d.n)
	case phBody:
		t = d.g.RequestReadTimeout.Body.deadline(d.start, d.n)
	default:
		return time.Time{}
	}
	if d.g.Timeout > 0 {
		t = earliest(t, perOp(now, d.g.Timeout))
	}
	return t
}

// applyRead sets the earlier of the guard's and the server's read
// deadlines on nc, when it changed.
func (d *deadlines) applyRead(nc net.Conn) error {
	eff := earliest(d.ours, d.outerRead)
	if eff.Equal(d.applied) {
		return nil
	}
	d.applied = eff
	return nc.SetReadDeadline(eff)
}

// advance accounts for n bytes read at now, s having scanned them.
func (d *deadlines) advance(s *scanner, hijacked bool, n int, now time.Time) {
	if hijacked {
		return
	}
	if n > 0 && d.phase == phIdle {
		d.phase, d.start, d.n = phHead, now, 0
	}
	d.n += int64(n)
	if s.state == stStopped {
		// The guard refuses what comes next; the connection keeps the
		// phase it was in until net/http has read the head.
		return
	}
	next := phHead
	switch s.state {
	case stHead:
		if len(s.buf) == 0 && s.line == 0 {
			next = phIdle
		}
	default:
		next = phBody
	}
	if next == d.phase {
		return
	}
	d.phase, d.n = next, 0
	if next == phHead {
		d.start = now
	} else {
		d.start = time.Time{}
	}
}

// hijacked hands the connection's deadlines back to whoever set them last.
func (d *deadlines) hijacked(nc net.Conn) {
	d.phase, d.ours = phOff, time.Time{}
	_ = d.applyRead(nc)
	d.appliedWrite = d.outerWrite
	_ = nc.SetWriteDeadline(d.outerWrite)
}

// timedRead is Read with the guard's deadlines.
func (c *conn) timedRead(p []byte) (int, error) {
	d := c.dl
	c.mu.Lock()
	now := time.Now()
	if d.phase == phBody && d.start.IsZero() {
		d.start = now
	}
	d.ours = d.readDeadline(now)
	_ = d.applyRead(c.Conn)
	c.mu.Unlock()

	n, err := c.Conn.Read(p)

	c.mu.Lock()
	now = time.Now()
	if n > 0 && !c.hijacked && c.s.state != stStopped {
		c.s.scan(p[:n])
	}
	// Whether the guard's deadline, rather than the server's, ended the
	// read.
	ours := err != nil && errors.Is(err, os.ErrDeadlineExceeded) && !d.ours.IsZero() &&
		!now.Before(d.ours) && (d.outerRead.IsZero() || d.ours.Before(d.outerRead))
	ph, got := d.phase, d.n
	d.advance(c.s, c.hijacked, n, now)
	c.mu.Unlock()
	if ours {
		c.dl.g.logger().Info("framing: request read timeout; closing the connection",
			"phase", phaseNames[ph], "received", got, "remote", c.RemoteAddr().String())
	}
	return n, err
}

// Write sets the guard's write deadline, if it has a [Guard.Timeout],
// before each write.
func (c *conn) Write(p []byte) (int, error) {
	if c.dl != nil && c.dl.g.Timeout > 0 {
		c.mu.Lock()
		c.setWriteDeadline(time.Now())
		c.mu.Unlock()
	}
	return c.Conn.Write(p)
}

// setWriteDeadline sets the deadline of a write starting at now.
func (c *conn) setWriteDeadline(now time.Time) {
	d := c.dl
	t := d.outerWrite
	if d.phase != phOff {
		t = earliest(perOp(now, d.g.Timeout), t)
	}
	if !t.Equal(d.appliedWrite) {
		d.appliedWrite = t
		_ = c.Conn.SetWriteDeadline(t)
	}
}

// sendSlice is how much of a file one sendfile call under a write deadline
// may send: each slice gets [Guard.Timeout] afresh, so a download is cut
// only when a client takes no sendSlice bytes for that long.
const sendSlice = 128 << 10

// timedReadFrom is ReadFrom with a write deadline per slice of the body.
func (c *conn) timedReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.Conn.(io.ReaderFrom)
	if !ok || c.dl.g.Timeout <= 0 {
		if ok {
			return rf.ReadFrom(r)
		}
		return io.Copy(c.Conn, r)
	}
	lr, isLimited := r.(*io.LimitedReader)
	if _, isFile := r.(*os.File); !isLimited && !isFile {
		// Through Write, which sets the deadline before each write.
		return io.Copy(writerOnly{c}, r)
	}
	var total int64
	for {
		slice := &io.LimitedReader{R: r, N: sendSlice}
		if isLimited {
			slice = &io.LimitedReader{R: lr.R, N: min(sendSlice, lr.N)}
		}
		want := slice.N
		c.mu.Lock()
		c.setWriteDeadline(time.Now())
		c.mu.Unlock()
		n, err := rf.ReadFrom(slice)
		total += n
		if isLimited {
			lr.N -= n
		}
		if err != nil || n < want || isLimited && lr.N <= 0 {
			return total, err
		}
	}
}

// writerOnly hides a conn's ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }

// SetReadDeadline records the server's read deadline; the earlier of it
// and the guard's applies.
func (c *conn) SetReadDeadline(t time.Time) error {
	if c.dl == nil {
		return c.Conn.SetReadDeadline(t)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dl.outerRead = t
	return c.dl.applyRead(c.Conn)
}

// SetWriteDeadline records the server's write deadline; the earlier of it
// and the guard's applies from the next write on.
func (c *conn) SetWriteDeadline(t time.Time) error {
	if c.dl == nil {
		return c.Conn.SetWriteDeadline(t)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dl.outerWrite, c.dl.appliedWrite = t, t
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline is SetReadDeadline and SetWriteDeadline.
func (c *conn) SetDeadline(t time.Time) error {
	if c.dl == nil {
		return c.Conn.SetDeadline(t)
	}
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}
