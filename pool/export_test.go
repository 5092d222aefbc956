package pool

import "time"

// SetClock makes g read the time from now instead of time.Now. Call it
// before g is used.
func SetClock(g *Governor, now func() time.Time) { g.now = now }
