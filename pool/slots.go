package pool

import (
	"context"
	"errors"
	"fmt"
)

// Slots is a pool of a [Governor] whose connections are opened outside
// this process's database/sql, such as by a Python worker process: its
// owner takes a slot with Acquire before each connection is opened and
// gives it back with Release once the connection is closed. Its slots
// count against [Config.MaxOpen] with every other pool's, and its callers
// queue with theirs under the same fairness rules ([Config.PerPoolMax],
// [Config.ReservedMin], one caller of a pool at a time in the FIFO
// queue). The governor cannot close its idle connections: give
// [Governor.Slots] an onWait function to learn when a caller starts to
// queue, and free slots from there. It is safe for concurrent use.
type Slots struct {
	p *poolState
}

// Slots registers a pool called name whose connections are opened
// elsewhere. onWait, when not nil, is called (on the waiting caller's
// goroutine, before it queues) each time a caller of any pool of the
// governor has to wait for a slot; it must not block. Slots returns an
// error when name is empty or already registered.
func (g *Governor) Slots(name string, onWait func()) (*Slots, error) {
	if name == "" {
		return nil, errors.New("pool: a pool needs a name")
	}
	p, err := g.register(name)
	if err != nil {
		return nil, err
	}
	if onWait != nil {
		g.mu.Lock()
		g.onWait = append(g.onWait, onWaitHook{p: p, f: onWait})
		g.mu.Unlock()
	}
	return &Slots{p: p}, nil
}

// Acquire waits for a slot for one connection, FIFO across the pools of
// the governor, until ctx ends: the error then starts with "pool: " and
// wraps ctx.Err(), such as [context.DeadlineExceeded]. Each successful
// Acquire needs one Release.
func (s *Slots) Acquire(ctx context.Context) error {
	return s.p.acquire(ctx)
}

// Release gives back a slot taken with Acquire, once its connection is
// closed (or failed to open).
func (s *Slots) Release() {
	s.p.mu.Lock()
	open := s.p.open
	s.p.mu.Unlock()
	if open <= 0 {
		panic(fmt.Sprintf("pool: %s: Release without Acquire", s.p.name))
	}
	s.p.release()
}

// Close unregisters the pool and gives back its reserved slots. Slots
// still held stay taken until they are released.
func (s *Slots) Close() {
	s.p.unregister()
}
