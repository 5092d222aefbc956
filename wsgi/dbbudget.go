package wsgi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gowsgi/gowsgi/internal/reqctx"
	"github.com/gowsgi/gowsgi/pool"
)

// The database connection budget (Config.DBMaxConnections). Each worker
// process has one more socket, its control socket, on which its threads
// ask for a slot before each new connection (frameDBAcquire) and give it
// back once the connection is closed (frameDBRelease); an adapter thread
// answers the Go side's questions about idle connections (frameDBIdle,
// frameDBShed). The slots come from a pool.Governor, each process one of
// its pools.

// dbShedPoll is how often the idle connections of the workers are looked
// at while a connect waits for a slot.
const dbShedPoll = 10 * time.Millisecond

// dbQueryTimeout bounds how long a worker may take to answer a question
// about its idle connections; one that does not answer is skipped.
const dbQueryTimeout = time.Second

// dbWriteTimeout bounds a write to the control socket: a worker that reads
// nothing for that long while frames pile up is killed.
const dbWriteTimeout = 10 * time.Second

// DBBudget is a budget of database connections for the worker processes
// of one or more [Handler]s (see [Config.DBMaxConnections] and
// [Config.DBBudget]): several handlers given the same DBBudget share one
// cap, as the mounts of one server do. It is safe for concurrent use.
type DBBudget struct {
	g        *pool.Governor
	max      int
	timeout  time.Duration
	log      *slog.Logger
	shedding atomic.Bool

	mu   sync.Mutex
	ctls map[*dbCtl]struct{}

	held    atomic.Int64
	peak    atomic.Int64
	granted atomic.Int64
	denied  atomic.Int64
	shed    atomic.Int64
}

// NewDBBudget returns a budget of maxConnections database connections for
// the workers of the handlers it is given to ([Config.DBBudget]), whose
// connects wait at most connectTimeout for a slot (0 means 10 seconds).
// logger receives the refused connects; nil means slog.Default(). It
// returns an error when maxConnections is not positive or connectTimeout
// is negative.
func NewDBBudget(maxConnections int, connectTimeout time.Duration, logger *slog.Logger) (*DBBudget, error) {
	if maxConnections <= 0 {
		return nil, fmt.Errorf("wsgi: database connection budget %d is not positive", maxConnections)
	}
	if connectTimeout < 0 {
		return nil, fmt.Errorf("wsgi: database connect timeout %v is negative", connectTimeout)
	}
	if connectTimeout == 0 {
		connectTimeout = 10 * time.Second
	}
	log := reqctx.Logger(logger)
	g, err := pool.NewGovernor(pool.Config{MaxOpen: maxConnections, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("wsgi: database connection budget: %w", err)
	}
	return &DBBudget{g: g, max: maxConnections, timeout: connectTimeout, log: log, ctls: map[*dbCtl]struct{}{}}, nil
}

// Stats returns the budget's figures, summed over its handlers.
func (b *DBBudget) Stats() DBStats { return *b.stats() }

// dbCtl is one worker process's control socket and the slots it holds.
type dbCtl struct {
	b      *DBBudget
	pid    int
	uc     *net.UnixConn
	slots  *pool.Slots
	ctx    context.Context // ends when the process is gone
	cancel context.CancelFunc

	wmu sync.Mutex // writes

	mu      sync.Mutex
	dead    bool
	held    map[uint32]bool // granted connection ids
	asking  map[uint32]bool // connection ids waiting for a slot
	queries map[uint32]chan []time.Duration
	nextQ   uint32
}

// attach starts serving p's control socket uc.
func (b *DBBudget) attach(p *process, uc *net.UnixConn) {
	c := &dbCtl{b: b, pid: p.pid, uc: uc, held: map[uint32]bool{}, asking: map[uint32]bool{}, queries: map[uint32]chan []time.Duration{}}
	slots, err := b.g.Slots("pid "+strconv.Itoa(p.pid), b.kick)
	if err != nil { // a pid reused while its predecessor's pool lives on
		slots, err = b.g.Slots(fmt.Sprintf("pid %d %p", p.pid, c), b.kick)
	}
	if err != nil {
		b.log.Error("wsgi: database connection budget", "pid", p.pid, "err", err)
		p.kill("protocol")
		uc.Close()
		return
	}
	c.slots = slots
	c.ctx, c.cancel = context.WithCancel(context.Background())
	b.mu.Lock()
	b.ctls[c] = struct{}{}
	b.mu.Unlock()
	go c.readLoop(p)
	go func() {
		// A process that exits closes its end; a descendant that inherited
		// it must not keep the slots.
		<-p.exited
		uc.Close()
	}()
}

// readLoop serves the control socket until the process is gone, then gives
// back its slots. The slots go back only once the process has exited (and
// the kernel closed its connections): a control socket that breaks while
// the process lives (a write that timed out, a protocol error) kills it
// first.
func (c *dbCtl) readLoop(p *process) {
	fr := newFrameReader(c.uc, nil)
	fr.check = checkCtlFrame
	defer fr.closeFDs()
	for {
		f, err := fr.next()
		if err == nil {
			if err = c.handle(f); err != nil {
				c.b.log.Error("wsgi: database connection budget: "+errString(err), "pid", c.pid)
				p.kill("protocol")
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.kill("protocol")
			}
			c.uc.Close()
			c.cancel()
			<-p.exited
			c.close()
			return
		}
	}
}

func (c *dbCtl) handle(f frame) error {
	if f.fd >= 0 { // never for control frames: checkCtlFrame refuses frameFile
		return fmt.Errorf("%w: descriptor on the control socket", errProtocol)
	}
	switch f.typ {
	case frameDBAcquire:
		c.mu.Lock()
		dup := c.held[f.id] || c.asking[f.id]
		c.asking[f.id] = true
		c.mu.Unlock()
		if dup {
			return fmt.Errorf("%w: connection %d asked for a second slot", errProtocol, f.id)
		}
		go c.acquire(f.id)
	case frameDBRelease:
		c.mu.Lock()
		ok := c.held[f.id]
		delete(c.held, f.id)
		c.mu.Unlock()
		if !ok {
			return fmt.Errorf("%w: release of connection %d, which holds no slot", errProtocol, f.id)
		}
		c.b.held.Add(-1)
		c.slots.Release()
	case frameDBIdleAges:
		ages, err := idleAges(f.payload)
		if err != nil {
			return err
		}
		c.mu.Lock()
		ch := c.queries[f.id]
		delete(c.queries, f.id)
		c.mu.Unlock()
		if ch != nil {
			ch <- ages // buffered
		}
	}
	return nil
}

// acquire waits for a slot for connection id, up to DBConnectTimeout, and
// answers the worker.
func (c *dbCtl) acquire(id uint32) {
	b := c.b
	start := time.Now()
	ctx, cancel := context.WithTimeout(c.ctx, b.timeout)
	err := c.slots.Acquire(ctx)
	cancel()
	c.mu.Lock()
	delete(c.asking, id)
	dead := c.dead
	if err == nil && !dead {
		c.held[id] = true
	}
	c.mu.Unlock()
	if err == nil && dead {
		c.slots.Release()
		return
	}
	if dead || err != nil && c.ctx.Err() != nil { // the process is gone
		return
	}
	if err == nil {
		b.granted.Add(1)
		n := b.held.Add(1)
		for p := b.peak.Load(); n > p && !b.peak.CompareAndSwap(p, n); p = b.peak.Load() {
		}
		c.write(frameDBGrant, id, nil)
		return
	}
	b.denied.Add(1)
	waited := time.Since(start).Round(time.Millisecond)
	b.log.Warn("wsgi: database connection refused: the budget is spent (-db-max-connections)",
		"pid", c.pid, "db_max_connections", b.max, "waited", waited, "err", err)
	msg := fmt.Sprintf("gowsgi: no database connection slot free within %v: all %d of the budget (-db-max-connections) are in use",
		waited, b.max)
	c.write(frameDBDeny, id, []byte(msg))
}

// write sends one frame to the worker. A failed write leaves the socket to
// the reader, which sees the process go.
func (c *dbCtl) write(typ byte, id uint32, p []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.uc.SetWriteDeadline(time.Now().Add(dbWriteTimeout))
	if _, err := c.uc.Write(appendFrame(nil, typ, id, p)); err != nil {
		c.uc.Close()
	}
}

// close gives back every slot of a process that is gone.
func (c *dbCtl) close() {
	c.uc.Close()
	c.cancel()
	c.mu.Lock()
	c.dead = true
	n := len(c.held)
	c.held = nil
	for id, ch := range c.queries {
		close(ch)
		delete(c.queries, id)
	}
	c.mu.Unlock()
	for range n {
		c.b.held.Add(-1)
		c.slots.Release()
	}
	c.slots.Close()
	c.b.mu.Lock()
	delete(c.b.ctls, c)
	c.b.mu.Unlock()
}

// ask sends frameDBIdle (shed false) or frameDBShed (close n idle
// connections now, owe more at their next check-in) and returns the
// answer: the ages of the process's idle connections, oldest first, or
// nil when the process is gone or slow.
func (c *dbCtl) ask(shed bool, n, owe int) []time.Duration {
	ch := make(chan []time.Duration, 1)
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return nil
	}
	c.nextQ++
	id := c.nextQ
	c.queries[id] = ch
	c.mu.Unlock()
	if !shed {
		c.write(frameDBIdle, id, nil)
	} else {
		p := binary.LittleEndian.AppendUint32(nil, uint32(n))
		c.write(frameDBShed, id, binary.LittleEndian.AppendUint32(p, uint32(owe)))
	}
	t := time.NewTimer(dbQueryTimeout)
	defer t.Stop()
	select {
	case ages := <-ch:
		return ages
	case <-t.C:
		c.mu.Lock()
		delete(c.queries, id)
		c.mu.Unlock()
		return nil
	}
}

// heldNow is the number of slots the process holds.
func (c *dbCtl) heldNow() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.held)
}

// kick starts the loop that closes idle connections for waiting connects,
// unless it runs already. It is the governor's onWait hook.
func (b *DBBudget) kick() {
	if b.shedding.CompareAndSwap(false, true) {
		go b.shedLoop()
	}
}

func (b *DBBudget) waiting() int { return b.g.Stats().Total.Waiting }

// shedLoop closes idle connections while connects wait, then exits.
func (b *DBBudget) shedLoop() {
	for {
		for b.waiting() > 0 {
			b.shedOnce()
			time.Sleep(dbShedPoll)
		}
		// Nothing is owed any more.
		b.each(func(c *dbCtl) { c.ask(true, 0, 0) })
		b.shedding.Store(false)
		// A waiter that came after the last look but before the Store saw
		// shedding still true: look again.
		if b.waiting() == 0 || !b.shedding.CompareAndSwap(false, true) {
			return
		}
	}
}

// each runs f for every process's control socket, concurrently, and
// waits for them.
func (b *DBBudget) each(f func(c *dbCtl)) {
	b.mu.Lock()
	ctls := make([]*dbCtl, 0, len(b.ctls))
	for c := range b.ctls {
		ctls = append(ctls, c)
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range ctls {
		wg.Go(func() { f(c) })
	}
	wg.Wait()
}

// shedOnce frees slots for the connects waiting: it asks every worker
// for its idle connections and has the oldest closed, oldest first across
// processes, as many as connects wait. When fewer are idle, the rest is
// owed by the processes holding the most slots: each of them closes a
// connection as soon as one becomes idle (a request ends, a pool takes
// one back), until the next round says otherwise. A worker answers a
// shed once the connections are closed and their slots released (the
// releases come first on its socket).
func (b *DBBudget) shedOnce() {
	type idle struct {
		c   *dbCtl
		age time.Duration
	}
	var (
		mu   sync.Mutex
		all  []idle
		held = map[*dbCtl]int{}
	)
	b.each(func(c *dbCtl) {
		ages := c.ask(false, 0, 0)
		h := c.heldNow()
		mu.Lock()
		for _, a := range ages {
			all = append(all, idle{c, a})
		}
		held[c] = h
		mu.Unlock()
	})
	n := b.waiting()
	if n == 0 {
		return
	}
	slices.SortStableFunc(all, func(x, y idle) int { return int(min(max(y.age-x.age, -1), 1)) })
	now := map[*dbCtl]int{}
	for _, v := range all[:min(n, len(all))] {
		now[v.c]++
	}
	owe := map[*dbCtl]int{}
	rest := n - min(n, len(all))
	if rest > 0 {
		ctls := make([]*dbCtl, 0, len(held))
		for c := range held {
			ctls = append(ctls, c)
		}
		slices.SortFunc(ctls, func(x, y *dbCtl) int { return held[y] - held[x] })
		for rest > 0 {
			gave := false
			for _, c := range ctls {
				if rest > 0 && owe[c]+now[c] < held[c] {
					owe[c]++
					rest--
					gave = true
				}
			}
			if !gave {
				break
			}
		}
	}
	b.each(func(c *dbCtl) {
		before := 0
		for _, v := range all {
			if v.c == c {
				before++
			}
		}
		after := c.ask(true, now[c], owe[c])
		if after != nil && now[c] > 0 {
			b.shed.Add(int64(min(now[c], max(before-len(after), 0))))
		}
	})
}

// DBStats describes the database connection budget of a [Handler].
type DBStats struct {
	// MaxConnections is the budget's size ([Config.DBMaxConnections]).
	MaxConnections int `json:"max_connections"`
	// Held is the number of slots the workers hold now (connections open
	// or being opened); Peak the most held at once.
	Held int64 `json:"held"`
	Peak int64 `json:"peak"`
	// Waiting is the number of connects waiting for a slot now.
	Waiting int `json:"waiting"`
	// Granted counts the slots given (new connections), Denied the
	// connects that found none within DBConnectTimeout, Shed the idle
	// connections closed for a waiting connect by the budget (those
	// closed at their check-in because a connect waited are not
	// counted: they release their slot like any other).
	Granted int64 `json:"granted"`
	Denied  int64 `json:"denied"`
	Shed    int64 `json:"shed"`
}

func (b *DBBudget) stats() *DBStats {
	return &DBStats{
		MaxConnections: b.max,
		Held:           b.held.Load(),
		Peak:           b.peak.Load(),
		Waiting:        b.waiting(),
		Granted:        b.granted.Load(),
		Denied:         b.denied.Load(),
		Shed:           b.shed.Load(),
	}
}
