// Package pool caps the database connections of many database/sql pools
// together.
//
// Several Trac environments (or tenants, or applications) behind one
// server each have their own *sql.DB, and each pool caps only itself: N
// pools of M connections blow through PostgreSQL's max_connections. The
// mod_wsgi-era workaround was Trac's "poolable = False", which drops every
// connection after each request. A [Governor] instead gives all the pools
// one budget of open connections:
//
//	g, err := pool.NewGovernor(pool.Config{MaxOpen: 20})
//	...
//	alpha, err := g.Open("alpha", connector) // *sql.DB, for any driver.Connector
//	...
//	beta, err := g.Open("beta", other)
//
// or, keeping full control of the *sql.DB, sql.OpenDB of the connector
// [Governor.Govern]("alpha", connector) returns.
//
// # How the budget is shared
//
// A connection holds a slot from before the driver's Connect until after
// its Close; a failed Connect gives its slot back. A pool that needs a new
// connection while the budget is used up waits in one FIFO queue shared by
// all pools (golang.org/x/sync/semaphore), one caller per pool at a time,
// until its context ends: the error then starts with "pool: " and wraps
// the context's error, such as [context.DeadlineExceeded].
//
// Slots move between pools in two ways while someone waits:
//
//   - An idle connection of another pool opened with [Governor.Open] is
//     closed within [Config.ShedIdleAfter] (and at least an average
//     connect time), by briefly lowering that pool's idle limit, instead
//     of waiting for an idle timeout.
//   - A busy connection that has served its pool for the hold is closed
//     when it is returned to its pool, through [driver.Validator]'s
//     IsValid, and its slot goes to the first waiter. Until then it serves
//     its own pool's callers, who queue for it inside database/sql.
//
// The hold trades waiting against throughput: every slot that changes
// pools costs a new connection (a new PostgreSQL backend), during which
// the slot serves nobody and the new backend's start competes for the
// server's CPUs. By default ([Config.HoldFor] zero) the governor measures
// that cost, the moving averages of the driver's Connect and Close, and
// holds a connection [HoldCostFactor] (19) times as long, at least
// [MinHoldFor] (10 ms) and at most [Config.MaxHoldFor] (default 10 s):
// reconnecting takes about a twentieth of the slots' time whether a
// backend starts in 3 ms (an idle server: a 60 ms hold) or in 300 ms (a
// saturated one: 5.7 s). [Governor.Stats] reports the measured costs and
// the hold in use. A positive HoldFor fixes the hold instead.
//
// With more demand than slots, pools take turns in the FIFO queue: a
// caller waits for the turns of those queued before it, about
// (callers queued / MaxOpen) × (hold + connect). Under a saturated
// database the measured hold keeps the throughput of one shared pool while
// a caller may wait several holds for its pool's turn; a short fixed hold
// loses throughput to reconnects (figures: bench/README.md, "Pool
// governor"). A caller whose deadline is shorter than its turn
// gets the "pool: ..." deadline error: give requests deadlines longer
// than the turns, or bound the hold with MaxHoldFor (or fix HoldFor) and
// accept more reconnects.
//
// [Config.PerPoolMax] caps one pool; [Config.ReservedMin] keeps a few
// slots per pool so that a busy pool cannot starve a quiet one.
//
// # Connections opened elsewhere
//
// [Governor.Slots] registers a pool whose connections another process
// opens (package wsgi's workers, for Config.DBMaxConnections): its owner
// calls [Slots.Acquire] before each connection and [Slots.Release] after
// its close, and the budget, the FIFO queue and its fairness rules are
// the same as for the database/sql pools. The governor cannot close such
// a pool's idle connections itself; the hook given to Slots hears when a
// caller starts to wait, so that the owner can.
//
// # An invisible wrapper
//
// database/sql chooses its fast paths by the optional interfaces of the
// driver's connection, so the wrapper keeps them: QueryerContext and
// ExecerContext exactly when the driver has them (or their deprecated
// forms); ConnBeginTx, ConnPrepareContext, Pinger, SessionResetter,
// Validator and NamedValueChecker always, passing through to the driver or
// doing exactly what database/sql does when the driver lacks them.
// [sql.Conn.Raw] hands out the wrapper; [Unwrap] gives the driver's own
// connection.
//
// # poolable = False
//
// [CloseIdle] closes the idle connections of the given pools now, and
// [CloseIdleAfter] is middleware doing so after each request: connections
// live only while requests use them, without editing the application.
//
// # Stats
//
// [Governor.Stats] reports, per pool and in total, the connections open,
// in use and idle, the callers waiting, the waits and their duration, and
// the connections closed for a waiter; [Governor.Publish] exports the same
// through expvar (/debug/vars).
//
// # Coming from Apache and PgBouncer
//
//	mod_wsgi / Trac / PostgreSQL                  gowsgi
//	[trac] database = postgres://... (per env)    one g.Open(name, connector) per environment
//	poolable = False                              CloseIdleAfter(-1, dbs...) or Config.MaxIdle < 0
//	PostgreSQL max_connections (the hard wall)    Config.MaxOpen, below it
//	mod_wsgi processes × threads per environment  Config.PerPoolMax
//
//	PgBouncer                                     gowsgi
//	max_db_connections / max_user_connections     Config.MaxOpen, across every pool of the governor
//	default_pool_size                             Config.PerPoolMax
//	min_pool_size                                 Config.ReservedMin (kept once used, never taken for others)
//	server_idle_timeout                           Config.ShedIdleAfter, applied only while another pool waits
//	server_lifetime                               Config.HoldFor, applied only while another pool waits;
//	                                              zero adapts it to the measured connect cost,
//	                                              up to Config.MaxHoldFor
//	query_wait_timeout                            the caller's context deadline
//	SHOW POOLS / SHOW STATS                       Governor.Stats, Governor.Publish (expvar)
//
// The differences: the budget is enforced in the server's own process,
// across pools of any database or driver; idle connections of one pool are
// closed for another pool's waiter within ShedIdleAfter instead of after an
// idle timeout; and, as in PgBouncer's session mode, a connection serves
// one pool at a time, so a slot moving between pools is a new backend.
//
// # Several machines: with PgBouncer
//
// A governor caps one process's connections. When several replicas of a
// server (several machines, or several gowsgi commands) share one
// PostgreSQL, each one's MaxOpen (or -db-max-connections) bounds only its
// own share: the sum over the replicas must stay below max_connections,
// less superuser_reserved_connections and what other clients use. Either
// give each replica a fixed share (MaxOpen = budget / replicas, simple
// but the shares cannot move between replicas), or put PgBouncer between
// the replicas and the server with max_db_connections (or
// max_user_connections) set to the real budget, give PgBouncer a
// max_client_conn above the sum of the replicas' MaxOpen, and let each
// replica's governor keep its own process's connections few, close its
// idle ones for its own waiters and fail a waiting connect with a clear
// error at its own deadline. PgBouncer then caps the server's backends
// across the machines and queues a client whose server connection is not
// free (up to its query_wait_timeout).
//
// In session mode a client connection holds its server connection until it
// closes: session state (SET, prepared statements, advisory locks,
// temporary tables) survives, as Trac, Django and database/sql expect by
// default, but a replica's idle connections hold server connections that
// another replica may wait for, and only that replica's own governor
// closes them early (idle while its own callers wait); PgBouncer's
// server_idle_timeout and client_idle_timeout bound the rest. Keep each
// replica's MaxOpen small.
//
// In transaction mode a client gets a server connection for one
// transaction (or one statement outside a transaction): three replicas
// with MaxOpen 10 each hold 30 client connections, which PgBouncer serves
// with max_db_connections = 20 backends, none idle on a replica's behalf.
// Whatever outlives a transaction on the server breaks there: named
// prepared statements, an unnamed statement parsed in one round trip and
// executed in the next, SET (PgBouncer carries over only client_encoding,
// DateStyle, TimeZone, standard_conforming_strings and application_name),
// advisory locks, LISTEN, temporary tables kept across transactions. With
// PgBouncer 1.18 (Debian 12's, which does not track prepared statements):
//
//   - pgx: its default query mode, cache_statement, prepares named
//     statements and fails ("prepared statement ... does not exist" or
//     "already exists"). Set default_query_exec_mode=exec,
//     simple_protocol or cache_describe in the connection string (or
//     [pgx.ConnConfig].DefaultQueryExecMode); describe_exec uses two round
//     trips and fails now and then. statement_cache_capacity=0 alone is
//     not enough: the default mode then refuses every query.
//   - lib/pq: a query without arguments uses the simple protocol and
//     works; a query with arguments, outside a transaction, parses an
//     unnamed statement and binds it in a second round trip, which may
//     reach another server ("unnamed prepared statement does not exist"):
//     set binary_parameters=yes, which sends both in one. Explicit
//     db.Prepare makes a named statement and does not work outside a
//     transaction.
//   - psycopg2 (Python, as Trac and Django use it): interpolates
//     parameters on the client and sends plain queries, so it works as
//     is; its implicit transactions last until commit, on one server
//     connection. The application itself must not rely on session state
//     (Django: DISABLE_SERVER_SIDE_CURSORS, as its documentation says for
//     transaction pooling).
//
// The pool's own tests run these through Debian's PgBouncer 1.18 and
// PostgreSQL 15 in transaction mode.
//
// # Security
//
// The governor protects the database from exhaustion by the server's own
// pools, not from its clients: a request that waits for a slot waits as
// long as its context allows, so give requests a deadline (RequestTimeout
// of [github.com/gowsgi/gowsgi/wsgi.Config]) to keep a flood of slow
// requests from queueing without end. Connections closed for a waiter end their
// session: a pool must not rely on session state (temporary tables,
// SET without a connection-level default) surviving between uses, which
// database/sql never promised anyway.
//
// [pgx.ConnConfig]: https://pkg.go.dev/github.com/jackc/pgx/v5#ConnConfig
package pool
