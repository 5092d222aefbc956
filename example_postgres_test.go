package gowsgi_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/pool"
	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/reqinfo"
	"github.com/gowsgi/gowsgi/wsgi"
)

// pgEnvs are the Trac environments of Example_postgres, each with its own
// database trac_<name> on the PostgreSQL TestMain starts (pgPort).
var (
	pgEnvs = []string{"env1", "env2", "env3", "env4", "env5", "env6"}
	pgPort int
)

func init() {
	peers = append(peers, peer{
		name:     "postgres",
		examples: []string{"Example_postgres"},
		start: func(tb testing.TB) {
			pg := testenv.StartPostgres(tb, testenv.PostgresConfig{MaxConnections: 20})
			pgPort = pg.Port
			admin, err := sql.Open("postgres", pg.DSN)
			if err != nil {
				tb.Fatal(err)
			}
			defer admin.Close()
			for i, name := range pgEnvs {
				if _, err := admin.Exec("CREATE DATABASE trac_" + name); err != nil {
					tb.Fatal(err)
				}
				db, err := sql.Open("postgres", pgDSN(name))
				if err != nil {
					tb.Fatal(err)
				}
				// Trac's permission table: alice administers env1, bob the others.
				admin := "bob"
				if i == 0 {
					admin = "alice"
				}
				_, err = db.Exec(`CREATE TABLE permission (username text, action text);
					INSERT INTO permission VALUES ('` + admin + `', 'TRAC_ADMIN'), ('anonymous', 'WIKI_VIEW')`)
				db.Close()
				if err != nil {
					tb.Fatal(err)
				}
			}
		},
	})
}

// pgDSN is the URL of environment env's database.
func pgDSN(env string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/trac_%s?sslmode=disable&application_name=gowsgi-example", pgPort, env)
}

// PostgreSQL with many environments. Each environment has its own database,
// and the Go side keeps one database/sql pool per environment: here for a
// Require rule that reads Trac's permission table, so that /admin pages are
// refused before the Python worker runs. N pools of M connections each would
// open N×M connections ("a lot of open database connections and thus
// PostgreSQL processes"); a pool.Governor caps them together (MaxOpen 3 for
// six pools), and pool.CloseIdleAfter drops the idle connections after each
// request: Trac's mod_wsgi guide's
//
//	trac.db.postgres_backend.PostgreSQLConnection.poolable = False
//
// as middleware, without editing the application. These are the Go side's
// connections; Trac's own, made by psycopg2 inside the Python workers, are
// bounded by processes × TRAC_DB_POOL_SIZE, and wsgi.Config.DBMaxConnections
// (cmd/gowsgi -db-max-connections) caps them together.
func Example_postgres() {
	gov, err := pool.NewGovernor(pool.Config{MaxOpen: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	dbs := map[string]*sql.DB{}
	var all []*sql.DB
	for _, name := range pgEnvs {
		connector, err := pq.NewConnector(pgDSN(name))
		if err != nil {
			fmt.Println(err)
			return
		}
		connector.Dialer(&sockets) // only for the check below
		db, err := gov.Open(name, connector)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer db.Close()
		dbs[name] = db
		all = append(all, db)
	}
	// Require trac-permission TRAC_ADMIN, in the request's environment.
	tracAdmin := auth.RuleFunc(func(r *http.Request, u *auth.User) (auth.Decision, error) {
		if u == nil {
			return auth.DeniedNoUser, nil
		}
		envPath, _ := reqinfo.FromContext(r.Context()).LookupEnviron("trac.env_path")
		db := dbs[filepath.Base(envPath)]
		if db == nil {
			return auth.Denied, nil
		}
		var ok bool
		err := db.QueryRowContext(r.Context(),
			`SELECT EXISTS (SELECT 1 FROM permission WHERE username = $1 AND action = 'TRAC_ADMIN')`, u.Name).Scan(&ok)
		if err != nil {
			return auth.Denied, fmt.Errorf("trac permission: %w", err)
		}
		if ok {
			return auth.Granted, nil
		}
		return auth.Denied, nil
	})

	parent, err := os.MkdirTemp("", "gowsgi-envs")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(parent)
	for _, name := range pgEnvs {
		if err := os.Mkdir(filepath.Join(parent, name), 0o755); err != nil {
			fmt.Println(err)
			return
		}
	}
	envs, err := prefix.NewEnvironments(prefix.EnvConfig{Mount: "/trac", ParentDir: parent})
	if err != nil {
		fmt.Println(err)
		return
	}
	htpasswd, err := writeFile(parent, "htpasswd", aliceLine+bobLine)
	if err != nil {
		fmt.Println(err)
		return
	}
	users, err := auth.HtpasswdFile(htpasswd)
	if err != nil {
		fmt.Println(err)
		return
	}
	app, err := wsgi.New(wsgi.Config{Script: tracLike("trac.wsgi"), Python: python, Threads: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	adminPages := regexp.MustCompile(`^/trac/[^/]+/admin`)
	h := pool.CloseIdleAfter(0, all...)( // poolable = False
		prefix.Canonical(
			prefix.MustLocationMatch(adminPages, auth.MustBasic(auth.BasicConfig{Realm: "Trac", Users: users}))(
				envs( // trac.env_path, read by the rule
					prefix.MustLocationMatch(adminPages, auth.MustRequire(tracAdmin))(app)))))
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, req := range []request{
		{target: "/trac/env2/wiki"},
		{target: "/trac/env1/admin"},
		{target: "/trac/env1/admin", user: "alice", password: "secret"},
		{target: "/trac/env2/admin", user: "alice", password: "secret"},
		{target: "/trac/env2/admin", user: "bob", password: "secret"},
	} {
		show(srv.URL, req)
	}

	// Sixty admin requests at once over the six environments. Every
	// socket the pools open to PostgreSQL is counted from its dial to its
	// close (sockets, below: a deployment needs none of it), so the peak
	// is exact, whatever the machine's load.
	monitor, err := sql.Open("postgres", fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pgPort))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer monitor.Close()
	const ours = `application_name = 'gowsgi-example'`
	backends := func() int {
		var n int
		monitor.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE ` + ours).Scan(&n)
		return n
	}
	sockets.reset()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 60 {
		name := pgEnvs[i%len(pgEnvs)]
		user := "bob"
		if name == "env1" {
			user = "alice"
		}
		wg.Go(func() {
			got := do(srv.URL, request{target: "/trac/" + name + "/admin", user: user, password: "secret"})
			mu.Lock()
			defer mu.Unlock()
			if got == "200 "+name+": /trac/"+name+"/admin user="+user {
				ok++
			}
		})
	}
	wg.Wait()
	seen := sockets.peak.Load() // 0 would mean no query reached PostgreSQL: no evidence
	fmt.Printf("60 concurrent admin requests: %d answered 200, peak PostgreSQL connections within the cap of %d: %v\n",
		ok, gov.Stats().MaxOpen, seen > 0 && seen <= 3)

	// After the requests, CloseIdleAfter has closed every idle connection.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil && (gov.Stats().Total.Open > 0 || backends() > 0) {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("open connections afterwards: governor %d, PostgreSQL %d\n", gov.Stats().Total.Open, backends())
	// Output:
	// /trac/env2/wiki -> 200 env2: /trac/env2/wiki user=-
	// /trac/env1/admin -> 401 Unauthorized
	// /trac/env1/admin as alice:secret -> 200 env1: /trac/env1/admin user=alice
	// /trac/env2/admin as alice:secret -> 403 Forbidden
	// /trac/env2/admin as bob:secret -> 200 env2: /trac/env2/admin user=bob
	// 60 concurrent admin requests: 60 answered 200, peak PostgreSQL connections within the cap of 3: true
	// open connections afterwards: governor 0, PostgreSQL 0
}

// sockets counts the connections Example_postgres's pools open to
// PostgreSQL, from the dial to the close of each socket: the figure the
// governor's cap bounds, read exactly rather than sampled (PostgreSQL lists
// a backend until its process exits, after its client closed the
// connection, and a sampler can miss short connections).
var sockets socketCounter

type socketCounter struct {
	net.Dialer
	open, peak atomic.Int64
}

func (c *socketCounter) reset() { c.peak.Store(c.open.Load()) }

func (c *socketCounter) Dial(network, address string) (net.Conn, error) {
	return c.DialContext(context.Background(), network, address)
}

func (c *socketCounter) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.DialContext(ctx, network, address)
}

// DialContext is the one lib/pq calls (pq.DialerContext).
func (c *socketCounter) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	nc, err := c.Dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	n := c.open.Add(1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	return &countedConn{Conn: nc, c: c}, nil
}

type countedConn struct {
	net.Conn
	c    *socketCounter
	once sync.Once
}

func (cc *countedConn) Close() error {
	err := cc.Conn.Close()
	cc.once.Do(func() { cc.c.open.Add(-1) })
	return err
}
