package pool

import (
	"expvar"
	"fmt"
	"sync"
)

// publishMu makes Publish's check-then-publish atomic among governors
// (expvar.Publish panics on a duplicate name).
var publishMu sync.Mutex

// Publish exports [Governor.Stats] through [expvar] under name (shown at
// /debug/vars), computed afresh at each read. It returns an error
// wrapping [ErrPublished], instead of expvar's panic, when name is taken.
func (g *Governor) Publish(name string) error {
	publishMu.Lock()
	defer publishMu.Unlock()
	if expvar.Get(name) != nil {
		return fmt.Errorf("pool: publishing %q: %w", name, ErrPublished)
	}
	expvar.Publish(name, expvar.Func(func() any { return g.Stats() }))
	return nil
}
