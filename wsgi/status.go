package wsgi

import (
	"slices"
	"time"

	"github.com/gowsgi/gowsgi/reqinfo"
)

// WorkerStatus is one worker process as [Handler.Workers] saw it: what a
// status page (Apache's mod_status) lists for each process.
type WorkerStatus struct {
	// PID is the process id.
	PID int
	// State is "starting" (loading the script), "ready" (taking
	// requests) or "stopping" (retiring or exiting: it finishes what it
	// runs and takes nothing new).
	State string
	// Started is when the process was started.
	Started time.Time
	// Served counts the requests it answered.
	Served int
	// RSS is its resident set size in bytes, read from /proc; 0 where
	// that cannot be read (not Linux, or the process just exited).
	RSS int64
	// Threads are its request threads (Config.Threads), each with its
	// own connection.
	Threads []ThreadStatus
}

// ThreadStatus is one request thread of a worker process.
type ThreadStatus struct {
	// Running is the request the thread runs; nil when idle.
	Running *RequestStatus
	// Queued are the requests written to this thread behind the running
	// one, in order (see the package documentation on queueing).
	Queued []RequestStatus
}

// RequestStatus is one request in a worker thread or in the queue.
type RequestStatus struct {
	// Info is the request's record ([reqinfo.Record.Info]): id, method,
	// target, client, user, mount. Its zero value when the request came
	// without a record (a server that does not make one).
	Info reqinfo.Info
	// Since is when the request started running on its thread, or, for a
	// queued one, when it was queued.
	Since time.Time
}

// Workers returns the handler's worker processes, ordered by start time,
// each with its threads and the requests they run and have queued. It is a
// snapshot taken under the handler's locks, for a status page; it costs a
// read of /proc per process, and the requests being served pay nothing for
// it.
func (h *Handler) Workers() []WorkerStatus {
	type procSnap struct {
		p      *process
		state  string
		served int
	}
	h.mu.Lock()
	snaps := make([]procSnap, 0, len(h.all))
	for p := range h.all {
		st := "stopping"
		switch {
		case !p.ready:
			st = "starting"
		case !p.retiring && slices.Contains(h.procs, p):
			st = "ready"
		}
		snaps = append(snaps, procSnap{p: p, state: st, served: p.served})
	}
	h.mu.Unlock()
	slices.SortFunc(snaps, func(a, b procSnap) int { return a.p.started.Compare(b.p.started) })

	out := make([]WorkerStatus, len(snaps))
	for i, s := range snaps {
		ws := WorkerStatus{PID: s.p.pid, State: s.state, Started: s.p.started, Served: s.served}
		if rss, err := s.p.rss(); err == nil {
			ws.RSS = rss
		}
		// p.conns is complete before the process is tracked, and never
		// changes after.
		ws.Threads = make([]ThreadStatus, len(s.p.conns))
		for j, c := range s.p.conns {
			ws.Threads[j] = c.status()
		}
		out[i] = ws
	}
	return out
}

// status returns what c runs and has queued. The records are read after
// c.mu is released: a record has its own lock.
func (c *conn) status() ThreadStatus {
	type callSnap struct {
		rec   *reqinfo.Record
		since int64
	}
	c.mu.Lock()
	calls := make([]callSnap, len(c.order))
	for i, cl := range c.order {
		since := cl.start.Load()
		if i == 0 {
			since = cl.head
		}
		calls[i] = callSnap{cl.rec, since}
	}
	c.mu.Unlock()
	var ts ThreadStatus
	for i, s := range calls {
		rs := RequestStatus{Info: s.rec.Info(), Since: time.Unix(0, s.since)}
		if i == 0 {
			ts.Running = &rs
			continue
		}
		ts.Queued = append(ts.Queued, rs)
	}
	return ts
}

// Waiting returns the requests waiting for a worker thread (the queue that
// Config.QueueSize bounds), oldest first, each with when it was queued. A
// request whose frame was too large to be handed to the dispatcher has a
// zero Info.
func (h *Handler) Waiting() []RequestStatus {
	h.mu.Lock()
	recs := make([]*reqinfo.Record, len(h.waiters))
	out := make([]RequestStatus, len(h.waiters))
	for i, w := range h.waiters {
		if w.cl != nil {
			recs[i] = w.cl.rec
		}
		out[i].Since = time.Unix(0, w.enq)
	}
	h.mu.Unlock()
	for i, rec := range recs {
		out[i].Info = rec.Info()
	}
	return out
}
