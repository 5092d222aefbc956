package pool

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// Defaults of [Config].
const (
	// DefaultShedIdleAfter is [Config.ShedIdleAfter]'s zero value.
	DefaultShedIdleAfter = 20 * time.Millisecond

	// HoldCostFactor and MinHoldFor define the adaptive hold used when
	// [Config.HoldFor] is zero: a connection serves its pool for
	// HoldCostFactor times the measured cost of moving a slot between
	// pools (the moving averages of a Close and a Connect), at least
	// MinHoldFor and at most [Config.MaxHoldFor]. A slot then waits for a
	// new connection about a twentieth of its time (cost / (19 cost +
	// cost)). Measured against PostgreSQL on a saturated two-core
	// machine, a move cost about twice the measured connect in
	// throughput (the new backend's start competes for the CPUs every
	// query uses), so this keeps the loss to about a tenth
	// (bench/pool/run.sh). MinHoldFor keeps a connection that connects in
	// microseconds (a local proxy) from changing pools at every use.
	HoldCostFactor = 19
	MinHoldFor     = 10 * time.Millisecond
	// DefaultMaxHoldFor is [Config.MaxHoldFor]'s zero value.
	DefaultMaxHoldFor = 10 * time.Second
)

// Config configures a [Governor].
type Config struct {
	// MaxOpen is the most connections open at once across every pool of
	// the governor, counted from before the driver's Connect to after its
	// Close. It must be positive: zero is an error.
	MaxOpen int
	// PerPoolMax caps the open connections of one pool. Zero means
	// MaxOpen. [Governor.Open] also sets it as the pool's
	// SetMaxOpenConns, so that the pool's callers queue inside
	// database/sql, where a returned connection goes straight to the next
	// caller.
	PerPoolMax int
	// ReservedMin is how many slots each pool keeps once it has used
	// them: a pool below ReservedMin gets its slots without queueing
	// behind other pools, and its connections are never closed for
	// another pool's waiter. The slots are taken when the pool is
	// registered if they are free, else as the pool opens connections.
	// Zero means none: every pool competes in one FIFO queue.
	// Reservations are granted to pools in the order they are registered
	// while they leave at least one slot unreserved, so that pools
	// registered later, which get none, still make progress.
	ReservedMin int
	// MaxIdle is the idle limit [Governor.Open] gives each pool, as
	// [sql.DB.SetMaxIdleConns], and restores after closing idle
	// connections for a waiter. Zero means database/sql's default, 2;
	// negative means none (poolable = False).
	MaxIdle int
	// HoldFor is how long a pool may keep a connection while another
	// pool waits for a slot: when a connection at least this old is
	// returned to its pool (database/sql's check-in) and a caller of
	// another pool waits, it is closed and its slot goes to the first
	// waiter. Until then it serves its own pool's callers, queued in
	// database/sql, without reconnecting. Longer means fewer reconnects
	// (each slot that changes pools costs a new connection, a new
	// backend on PostgreSQL) and longer waits for the other pools.
	//
	// Zero means adaptive: [HoldCostFactor] (19) times the measured cost
	// of moving a slot, the moving averages of the driver's Connect and
	// Close, at least [MinHoldFor] (10 ms) and at most MaxHoldFor.
	// Reconnecting then takes about a twentieth of each slot's time
	// however slow connecting is (a PostgreSQL backend starts in a few
	// milliseconds on an idle server, in hundreds on a saturated one)
	// until MaxHoldFor bounds the hold, and the other pools wait no longer
	// than that requires. [Governor.Stats]
	// reports the hold in use. Positive is a fixed hold, for deployments
	// that prefer shorter waits to throughput (or the reverse); negative
	// means a connection is closed at its first return while another pool
	// waits.
	HoldFor time.Duration
	// MaxHoldFor bounds the adaptive hold, and so the waits, when
	// connecting is slow; it does not apply to a HoldFor set explicitly.
	// Zero means [DefaultMaxHoldFor] (10 s); negative is an error.
	MaxHoldFor time.Duration
	// ShedIdleAfter is how long a connection must have sat idle before
	// it is closed for another pool's waiter (only for pools opened with
	// [Governor.Open], whose *sql.DB the governor knows), and at least as
	// long as connecting takes on average: closing a connection its pool
	// needs again sooner costs more than it gives. Zero means
	// [DefaultShedIdleAfter].
	ShedIdleAfter time.Duration
	// Logger receives debug lines about connections closed for waiters
	// and failed connects. Nil means slog.Default().
	Logger *slog.Logger
}

// A Governor caps the open connections of many database/sql pools
// together. Wrap each pool's [driver.Connector] with [Governor.Govern], or
// open it with [Governor.Open]. It is safe for concurrent use.
type Governor struct {
	cfg Config
	log *slog.Logger
	sem *semaphore.Weighted

	now func() time.Time // time.Now; a fake clock in tests

	connectAvg atomic.Int64 // moving average of successful connects, ns
	closeAvg   atomic.Int64 // moving average of closes, ns
	waiting    atomic.Int64 // callers queued on sem, all pools
	reclaiming atomic.Int64 // connections given up for waiters, not yet closed
	shedding   atomic.Bool  // a shed loop runs

	mu       sync.Mutex
	pools    map[string]*poolState
	reserved int // sum of the pools' reserve
	// onWait lists the hooks of pools registered with [Governor.Slots].
	onWait []onWaitHook
}

// onWaitHook is a [Governor.Slots] pool's function called when a caller
// queues.
type onWaitHook struct {
	p *poolState
	f func()
}

// NewGovernor returns a governor for cfg, or an error when cfg is invalid.
func NewGovernor(cfg Config) (*Governor, error) {
	switch {
	case cfg.MaxOpen <= 0:
		return nil, fmt.Errorf("pool: MaxOpen must be positive, got %d", cfg.MaxOpen)
	case cfg.PerPoolMax < 0 || cfg.PerPoolMax > cfg.MaxOpen:
		return nil, fmt.Errorf("pool: PerPoolMax %d outside 0..MaxOpen (%d)", cfg.PerPoolMax, cfg.MaxOpen)
	case cfg.ReservedMin < 0:
		return nil, fmt.Errorf("pool: ReservedMin %d is negative", cfg.ReservedMin)
	case cfg.ReservedMin > 0 && cfg.ReservedMin >= cfg.MaxOpen:
		return nil, fmt.Errorf("pool: ReservedMin %d must be below MaxOpen %d", cfg.ReservedMin, cfg.MaxOpen)
	case cfg.ReservedMin > cfg.perPoolMax():
		return nil, fmt.Errorf("pool: ReservedMin %d exceeds the per-pool maximum %d", cfg.ReservedMin, cfg.perPoolMax())
	case cfg.ShedIdleAfter < 0:
		return nil, fmt.Errorf("pool: ShedIdleAfter %v is negative", cfg.ShedIdleAfter)
	case cfg.MaxHoldFor < 0:
		return nil, fmt.Errorf("pool: MaxHoldFor %v is negative", cfg.MaxHoldFor)
	}
	if cfg.MaxHoldFor == 0 {
		cfg.MaxHoldFor = DefaultMaxHoldFor
	}
	if cfg.ShedIdleAfter == 0 {
		cfg.ShedIdleAfter = DefaultShedIdleAfter
	}
	return &Governor{
		cfg:   cfg,
		now:   time.Now,
		log:   reqctx.Logger(cfg.Logger),
		sem:   semaphore.NewWeighted(int64(cfg.MaxOpen)),
		pools: make(map[string]*poolState),
	}, nil
}

func (c Config) perPoolMax() int {
	if c.PerPoolMax == 0 {
		return c.MaxOpen
	}
	return c.PerPoolMax
}

// Govern returns a connector that opens c's connections within the
// governor's budget, as the pool called name. Use it with [sql.OpenDB].
// The returned connector passes every optional interface of c's
// connections through (see the package documentation).
//
// With Govern alone the governor closes this pool's connections for
// waiters only when they are returned to the pool; idle connections keep
// their slots until database/sql closes them. Use [Governor.Open], or
// [Connector.Attach] the *sql.DB, so that the governor can also close
// idle connections of this pool for another pool's waiter.
//
// Govern returns an error when name is empty or already registered, or c
// is nil; closing the *sql.DB, or calling Close on the connector,
// unregisters the name.
func (g *Governor) Govern(name string, c driver.Connector) (*Connector, error) {
	if name == "" {
		return nil, errors.New("pool: a pool needs a name")
	}
	if c == nil {
		return nil, fmt.Errorf("pool: pool %q: nil connector", name)
	}
	p, err := g.register(name)
	if err != nil {
		return nil, err
	}
	return &Connector{inner: c, p: p}, nil
}

// register adds a pool called name, taking its reservation if free.
func (g *Governor) register(name string) (*poolState, error) {
	p := &poolState{g: g, name: name, idle: make(map[*conn]time.Time), queue: semaphore.NewWeighted(1)}
	if pm := g.cfg.PerPoolMax; pm > 0 {
		p.sem = semaphore.NewWeighted(int64(pm))
	}
	g.mu.Lock()
	if _, dup := g.pools[name]; dup {
		g.mu.Unlock()
		return nil, fmt.Errorf("pool: pool %q registered twice", name)
	}
	if r := g.cfg.ReservedMin; r > 0 && g.reserved+r < g.cfg.MaxOpen {
		p.reserve = r
		g.reserved += r
	}
	g.pools[name] = p
	g.mu.Unlock()
	if r := p.reserve; r > 0 && g.sem.TryAcquire(int64(r)) {
		p.mu.Lock()
		p.held = r
		p.mu.Unlock()
	}
	return p, nil
}

// MustGovern is [Governor.Govern] for names written in the program
// (examples, tests): it panics where Govern returns an error.
func (g *Governor) MustGovern(name string, c driver.Connector) *Connector {
	w, err := g.Govern(name, c)
	if err != nil {
		panic(err)
	}
	return w
}

// Open is [sql.OpenDB] of [Governor.Govern](name, c), with the pool's
// limits set from the governor's [Config] (SetMaxOpenConns to PerPoolMax
// or MaxOpen, SetMaxIdleConns to MaxIdle). The governor remembers the
// *sql.DB so that it can close its idle connections when another pool
// waits for a slot; do not change those two limits on it yourself. It
// returns Govern's error.
func (g *Governor) Open(name string, c driver.Connector) (*sql.DB, error) {
	w, err := g.Govern(name, c)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(w)
	w.Attach(db)
	return db, nil
}

// MustOpen is [Governor.Open] for names written in the program (examples,
// tests): it panics where Open returns an error.
func (g *Governor) MustOpen(name string, c driver.Connector) *sql.DB {
	db, err := g.Open(name, c)
	if err != nil {
		panic(err)
	}
	return db
}

// Attach tells the governor which *sql.DB uses c (opened with
// [sql.OpenDB](c)) and sets its limits from the governor's [Config], as
// [Governor.Open] does, so that the governor can close its idle
// connections for another pool's waiter.
func (c *Connector) Attach(db *sql.DB) {
	g := c.p.g
	db.SetMaxOpenConns(g.cfg.perPoolMax())
	db.SetMaxIdleConns(g.maxIdle())
	c.p.db.Store(db)
}

func (g *Governor) maxIdle() int {
	switch {
	case g.cfg.MaxIdle == 0:
		return 2
	case g.cfg.MaxIdle < 0:
		return -1
	}
	return g.cfg.MaxIdle
}

// Connector is a [driver.Connector] whose connections are counted by a
// [Governor]. It implements [io.Closer]: database/sql calls Close when the
// *sql.DB is closed, which unregisters the pool and closes the wrapped
// connector when it is an [io.Closer] too.
type Connector struct {
	inner driver.Connector
	p     *poolState
}

var (
	_ driver.Connector = (*Connector)(nil)
	_ io.Closer        = (*Connector)(nil)
)

// Connect waits for a slot in the governor's budget (FIFO across pools,
// bounded by ctx), then opens a connection with the wrapped connector. A
// failed connect gives its slot back. When ctx ends first, the error
// wraps ctx.Err(), such as [context.DeadlineExceeded].
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	p := c.p
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	g := p.g
	start := g.now()
	inner, err := c.inner.Connect(ctx)
	opened := g.now()
	if err == nil {
		ewma(&g.connectAvg, opened.Sub(start))
	}
	if err != nil {
		p.connectErrors.Add(1)
		p.release()
		g.log.Debug("pool: connect failed", slog.String("pool", p.name), slog.Any("err", err))
		return nil, err
	}
	w := &conn{inner: inner, p: p, opened: opened}
	w.markIdle()
	return wrapConn(w), nil
}

// Driver returns the wrapped connector's driver.
func (c *Connector) Driver() driver.Driver { return c.inner.Driver() }

// Name returns the pool's name.
func (c *Connector) Name() string { return c.p.name }

// Close unregisters the pool from its governor, gives back its reserved
// slots and closes the wrapped connector when it is an [io.Closer].
// Connections still open keep their slots until they are closed.
func (c *Connector) Close() error {
	first := c.p.unregister()
	if cl, ok := c.inner.(io.Closer); ok && first {
		return cl.Close()
	}
	return nil
}

// unregister removes the pool from its governor and gives back its spare
// reserved slots. It reports whether this was the first call.
func (p *poolState) unregister() bool {
	g := p.g
	g.mu.Lock()
	if g.pools[p.name] == p {
		delete(g.pools, p.name)
		g.reserved -= p.reserve
	}
	g.onWait = slices.DeleteFunc(slices.Clone(g.onWait), func(h onWaitHook) bool { return h.p == p })
	g.mu.Unlock()
	p.mu.Lock()
	first := !p.closed
	p.closed = true
	spare := p.held - p.open
	p.held = p.open
	p.mu.Unlock()
	if spare > 0 {
		g.sem.Release(int64(spare))
	}
	return first
}

// poolState is the governor's book-keeping for one pool.
type poolState struct {
	g    *Governor
	name string
	sem  *semaphore.Weighted // PerPoolMax, nil when unset
	// queue lets one caller of the pool at a time wait in the global
	// queue: a second connection would not let the pool progress sooner
	// than the first, and a long global queue makes every pool wait.
	queue *semaphore.Weighted
	// reserve is ReservedMin when the pool was granted a reservation,
	// else 0. Set before the pool is shared.
	reserve int
	db      atomic.Pointer[sql.DB]

	waiting         atomic.Int64
	connectErrors   atomic.Int64
	closedForWaiter atomic.Int64

	mu        sync.Mutex
	held      int // global slots held: open plus spare reserved ones
	open      int // connections open or being opened
	idle      map[*conn]time.Time
	shedding  bool // the governor is closing this pool's idle connections
	closed    bool
	waitCount int64
	waitTotal time.Duration
	maxWait   time.Duration
}

// acquire takes one slot for a connection about to be opened.
func (p *poolState) acquire(ctx context.Context) error {
	g := p.g
	if p.sem != nil {
		if err := p.sem.Acquire(ctx, 1); err != nil {
			return fmt.Errorf("pool: %s: waiting for one of its %d connections: %w", p.name, g.cfg.PerPoolMax, err)
		}
	}
	p.mu.Lock()
	if p.held > p.open { // a spare reserved slot
		p.open++
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	if !g.sem.TryAcquire(1) {
		if err := p.wait(ctx); err != nil {
			if p.sem != nil {
				p.sem.Release(1)
			}
			return err
		}
	}
	p.mu.Lock()
	p.held++
	p.open++
	p.mu.Unlock()
	return nil
}

// wait queues for a global slot, behind the pool's other waiters.
func (p *poolState) wait(ctx context.Context) error {
	g := p.g
	start := g.now()
	p.waiting.Add(1)
	g.waiting.Add(1)
	g.kickShed()
	g.mu.Lock()
	hooks := g.onWait
	g.mu.Unlock()
	for _, h := range hooks {
		h.f()
	}
	err := p.queue.Acquire(ctx, 1)
	if err == nil {
		err = g.sem.Acquire(ctx, 1)
		p.queue.Release(1)
	}
	g.waiting.Add(-1)
	p.waiting.Add(-1)
	d := g.now().Sub(start)
	p.mu.Lock()
	p.waitCount++
	p.waitTotal += d
	p.maxWait = max(p.maxWait, d)
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("pool: %s: no connection slot after %v (%d open across all pools, at most %d): %w",
			p.name, d.Round(time.Millisecond), g.openTotal(), g.cfg.MaxOpen, err)
	}
	return nil
}

// release gives back the slot of a connection that closed or failed to
// open, keeping it as a spare when the pool is within its reservation.
func (p *poolState) release() {
	p.mu.Lock()
	p.open--
	give := p.held > p.open && (p.closed || p.held > p.reserve)
	if give {
		p.held--
	}
	p.mu.Unlock()
	if give {
		p.g.sem.Release(1)
	}
	if p.sem != nil {
		p.sem.Release(1)
	}
}

// ewma folds d into the moving average avg (ns), weighing d 1/8.
func ewma(avg *atomic.Int64, d time.Duration) {
	for {
		old := avg.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if avg.CompareAndSwap(old, next) {
			return
		}
	}
}

// holdFor is how long a connection serves its pool before it may be
// closed for a waiter (see [Config.HoldFor]).
func (g *Governor) holdFor() time.Duration {
	switch h := g.cfg.HoldFor; {
	case h < 0:
		return 0
	case h > 0:
		return h
	}
	cost := time.Duration(g.connectAvg.Load() + g.closeAvg.Load())
	return max(min(HoldCostFactor*cost, g.cfg.MaxHoldFor), MinHoldFor)
}

// claimWaiter reports whether a caller of a pool other than p waits for
// a slot that no connection already being closed will give, and if so
// counts one more connection being closed for it.
func (g *Governor) claimWaiter(p *poolState) bool {
	for {
		r := g.reclaiming.Load()
		if g.waiting.Load()-p.waiting.Load()-r <= 0 {
			return false
		}
		if g.reclaiming.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// reclaimable reports whether closing one of the pool's connections
// frees a global slot (the pool holds more than its reservation).
func (p *poolState) reclaimable() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held > p.reserve
}

func (g *Governor) openTotal() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, p := range g.pools {
		p.mu.Lock()
		n += p.open
		p.mu.Unlock()
	}
	return n
}

// kickShed starts the loop closing idle connections for waiters, unless
// it runs already.
func (g *Governor) kickShed() {
	if g.shedding.CompareAndSwap(false, true) {
		go g.shedLoop()
	}
}

// shedLoop closes idle connections of known *sql.DBs while callers wait
// for slots, then exits.
func (g *Governor) shedLoop() {
	poll := g.cfg.ShedIdleAfter / 2
	for {
		for g.waiting.Load() > 0 {
			g.shedOnce()
			time.Sleep(poll)
		}
		g.shedding.Store(false)
		// A waiter that arrived after the last check but before the
		// Store saw shedding still true: look again.
		if g.waiting.Load() == 0 || !g.shedding.CompareAndSwap(false, true) {
			return
		}
	}
}

// shedOnce closes the idle connections of each pool that has one idle
// for at least ShedIdleAfter and holds more than its reservation.
func (g *Governor) shedOnce() {
	g.mu.Lock()
	var victims []*poolState
	cutoff := g.now().Add(-max(g.cfg.ShedIdleAfter, time.Duration(g.connectAvg.Load())))
	for _, p := range g.pools {
		if p.db.Load() == nil {
			continue
		}
		p.mu.Lock()
		if p.held > p.reserve {
			for _, since := range p.idle {
				if since.Before(cutoff) {
					victims = append(victims, p)
					break
				}
			}
		}
		p.mu.Unlock()
	}
	g.mu.Unlock()
	for _, p := range victims {
		db := p.db.Load()
		p.mu.Lock()
		p.shedding = true
		p.mu.Unlock()
		db.SetMaxIdleConns(-1) // closes every idle connection now
		db.SetMaxIdleConns(g.maxIdle())
		p.mu.Lock()
		p.shedding = false
		p.mu.Unlock()
	}
}

// PoolStats describes one pool, or the sum of all pools.
type PoolStats struct {
	// Open is the number of connections open or being opened.
	Open int `json:"open"`
	// InUse is Open minus Idle.
	InUse int `json:"in_use"`
	// Idle is the number of connections returned to their pool and not
	// yet taken again, as the driver connections see it.
	Idle int `json:"idle"`
	// Reserved is the number of slots held by the pool for its
	// [Config.ReservedMin] without a connection.
	Reserved int `json:"reserved"`
	// Waiting is the number of callers queued for a slot now.
	Waiting int `json:"waiting"`
	// WaitCount is the number of callers that had to queue for a slot.
	WaitCount int64 `json:"wait_count"`
	// WaitDuration is the total time they queued; MaxWait the longest.
	WaitDuration time.Duration `json:"wait_duration_ns"`
	MaxWait      time.Duration `json:"max_wait_ns"`
	// ClosedForWaiter is the number of connections closed so that a
	// caller of another pool could have their slot.
	ClosedForWaiter int64 `json:"closed_for_waiter"`
	// ConnectErrors is the number of failed connects.
	ConnectErrors int64 `json:"connect_errors"`
}

func (s *PoolStats) add(o PoolStats) {
	s.Open += o.Open
	s.InUse += o.InUse
	s.Idle += o.Idle
	s.Reserved += o.Reserved
	s.Waiting += o.Waiting
	s.WaitCount += o.WaitCount
	s.WaitDuration += o.WaitDuration
	s.MaxWait = max(s.MaxWait, o.MaxWait)
	s.ClosedForWaiter += o.ClosedForWaiter
	s.ConnectErrors += o.ConnectErrors
}

// Stats is a snapshot of a [Governor].
type Stats struct {
	// MaxOpen is [Config.MaxOpen].
	MaxOpen int `json:"max_open"`
	// ConnectAvg is the moving average time of a successful connect,
	// CloseAvg of a close: together the cost of moving a slot between
	// pools.
	ConnectAvg time.Duration `json:"connect_avg_ns"`
	CloseAvg   time.Duration `json:"close_avg_ns"`
	// HoldFor is how long a connection now serves its pool before it
	// may be closed for a waiter (see [Config.HoldFor]): the adaptive
	// hold when Config.HoldFor is zero.
	HoldFor time.Duration `json:"hold_for_ns"`
	// Total sums the pools (MaxWait is the longest of any pool).
	Total PoolStats `json:"total"`
	// Pools maps each registered pool's name to its figures.
	Pools map[string]PoolStats `json:"pools"`
}

// Stats returns a snapshot of every registered pool and their sum.
func (g *Governor) Stats() Stats {
	g.mu.Lock()
	ps := make([]*poolState, 0, len(g.pools))
	for _, p := range g.pools {
		ps = append(ps, p)
	}
	g.mu.Unlock()
	s := Stats{
		MaxOpen:    g.cfg.MaxOpen,
		ConnectAvg: time.Duration(g.connectAvg.Load()),
		CloseAvg:   time.Duration(g.closeAvg.Load()),
		HoldFor:    g.holdFor(),
		Pools:      make(map[string]PoolStats, len(ps)),
	}
	for _, p := range ps {
		p.mu.Lock()
		st := PoolStats{
			Open:         p.open,
			Idle:         len(p.idle),
			InUse:        p.open - len(p.idle),
			Reserved:     p.held - p.open,
			WaitCount:    p.waitCount,
			WaitDuration: p.waitTotal,
			MaxWait:      p.maxWait,
		}
		p.mu.Unlock()
		st.Waiting = int(p.waiting.Load())
		st.ClosedForWaiter = p.closedForWaiter.Load()
		st.ConnectErrors = p.connectErrors.Load()
		s.Pools[p.name] = st
		s.Total.add(st)
	}
	return s
}

// PoolNames returns the names of the registered pools, sorted.
func (g *Governor) PoolNames() []string {
	g.mu.Lock()
	names := make([]string, 0, len(g.pools))
	for n := range g.pools {
		names = append(names, n)
	}
	g.mu.Unlock()
	sort.Strings(names)
	return names
}

// ErrPublished is returned by [Governor.Publish] when the expvar name is
// taken.
var ErrPublished = errors.New("pool: expvar name already published")
