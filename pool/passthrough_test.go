package pool_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/pool"
)

// step is one use of a *sql.DB; it returns what the caller saw.
type step struct {
	name string
	run  func(ctx context.Context, db *sql.DB) string
}

func result(v any, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprint(v)
}

var steps = []step{
	{"query", func(ctx context.Context, db *sql.DB) string {
		var s string
		return result(s, db.QueryRowContext(ctx, "q", 1, "two").Scan(&s))
	}},
	{"query without args", func(ctx context.Context, db *sql.DB) string {
		var s string
		err := db.QueryRowContext(ctx, "q").Scan(&s)
		return result(s, err)
	}},
	{"exec", func(ctx context.Context, db *sql.DB) string {
		res, err := db.ExecContext(ctx, "e", 1, 2)
		if err != nil {
			return result(nil, err)
		}
		return result(res.RowsAffected())
	}},
	{"named argument", func(ctx context.Context, db *sql.DB) string {
		_, err := db.ExecContext(ctx, "e", sql.Named("a", 1))
		return result("ok", err)
	}},
	{"argument only the driver's checker knows", func(ctx context.Context, db *sql.DB) string {
		var s string
		return result(s, db.QueryRowContext(ctx, "q", point{1, 2}).Scan(&s))
	}},
	{"begin", func(ctx context.Context, db *sql.DB) string {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return result(nil, err)
		}
		return result("committed", tx.Commit())
	}},
	{"begin read-only", func(ctx context.Context, db *sql.DB) string {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return result(nil, err)
		}
		return result("rolled back", tx.Rollback())
	}},
	{"begin serializable", func(ctx context.Context, db *sql.DB) string {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
		if err != nil {
			return result(nil, err)
		}
		return result("rolled back", tx.Rollback())
	}},
	{"prepare", func(ctx context.Context, db *sql.DB) string {
		st, err := db.PrepareContext(ctx, "p")
		if err != nil {
			return result(nil, err)
		}
		defer st.Close()
		res, err := st.ExecContext(ctx, 7)
		if err != nil {
			return result(nil, err)
		}
		return result(res.RowsAffected())
	}},
	{"prepare failing", func(ctx context.Context, db *sql.DB) string {
		_, err := db.PrepareContext(ctx, "FAIL")
		return result(nil, err)
	}},
	{"ping", func(ctx context.Context, db *sql.DB) string {
		return result("pong", db.PingContext(ctx))
	}},
	{"transaction on a canceled context", func(ctx context.Context, db *sql.DB) string {
		c, cancel := context.WithCancel(ctx)
		cancel()
		_, err := db.BeginTx(c, nil)
		return result(nil, err)
	}},
}

// trace runs steps on a fresh *sql.DB over c, one connection at a time, and
// returns for each step what the caller saw and what the driver was asked.
func trace(t *testing.T, db *sql.DB, c *fakeConnector) []string {
	t.Helper()
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	ctx := context.Background()
	var out []string
	for _, s := range steps {
		got := s.run(ctx, db)
		out = append(out, fmt.Sprintf("%s: %s; driver: %s", s.name, got, strings.Join(c.takeCalls(), " ")))
	}
	return out
}

// TestWrapperIsInvisible runs the same uses of database/sql over a driver
// directly and through the governor, for drivers with and without the
// optional interfaces, and wants the same answers and the same calls into
// the driver.
func TestWrapperIsInvisible(t *testing.T) {
	for _, k := range []struct {
		name string
		kind kind
	}{{"minimal", minimal}, {"legacy", legacy}, {"full", full}} {
		t.Run(k.name, func(t *testing.T) {
			direct := &fakeConnector{kind: k.kind}
			want := trace(t, sql.OpenDB(direct), direct)

			g, err := pool.NewGovernor(pool.Config{MaxOpen: 2})
			if err != nil {
				t.Fatal(err)
			}
			wrapped := &fakeConnector{kind: k.kind}
			db := sql.OpenDB(g.MustGovern("p", wrapped))
			defer db.Close()
			got := trace(t, db, wrapped)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("through the governor:\n got %s\nwant %s", got[i], want[i])
				}
			}
		})
	}
}

// TestFullInterfaceSetPassesThrough checks that each optional interface
// of a driver that has them all is reached through the wrapper.
func TestFullInterfaceSetPassesThrough(t *testing.T) {
	g, err := pool.NewGovernor(pool.Config{MaxOpen: 2})
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeConnector{kind: full}
	db := sql.OpenDB(g.MustGovern("p", c))
	defer db.Close()
	trace(t, db, c) // one pass, so that the connection is reused
	for _, s := range steps {
		s.run(context.Background(), db)
	}
	for _, tc := range []struct {
		iface, call string
	}{
		{"QueryerContext", "QueryContext"},
		{"ExecerContext", "ExecContext"},
		{"ConnBeginTx", "BeginTx(0,true)"},
		{"ConnBeginTx isolation", fmt.Sprintf("BeginTx(%d,false)", driver.IsolationLevel(sql.LevelSerializable))},
		{"ConnPrepareContext", "PrepareContext"},
		{"Pinger", "Ping"},
		{"SessionResetter", "ResetSession"},
		{"Validator", "IsValid"},
		{"NamedValueChecker", "CheckNamedValue"},
	} {
		t.Run(tc.iface, func(t *testing.T) {
			if !c.called(tc.call) {
				t.Errorf("driver never got %s; calls: %v", tc.call, c.calls)
			}
		})
	}
	t.Run("Raw and Unwrap", func(t *testing.T) {
		sc, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		err = sc.Raw(func(dc any) error {
			if _, ok := dc.(*fullConn); ok {
				return fmt.Errorf("Raw handed out the driver's connection, not the wrapper")
			}
			if got := reflect.TypeOf(pool.Unwrap(dc)); got != reflect.TypeOf(&fullConn{}) {
				return fmt.Errorf("Unwrap gave %v", got)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		if v := pool.Unwrap(42); v != 42 {
			t.Errorf("Unwrap(42) = %v", v)
		}
	})
}
