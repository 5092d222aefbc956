package pool_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gowsgi/gowsgi/pool"
)

// Two environments share a budget of two connections; a third caller
// waits, and its deadline ends the wait with a pool: error.
func ExampleGovernor() {
	g, err := pool.NewGovernor(pool.Config{MaxOpen: 2})
	if err != nil {
		panic(err)
	}
	alpha := g.MustOpen("alpha", &fakeConnector{kind: full})
	beta := g.MustOpen("beta", &fakeConnector{kind: full})
	defer alpha.Close()
	defer beta.Close()

	ctx := context.Background()
	a1, _ := alpha.Conn(ctx) // both slots in use
	a2, _ := alpha.Conn(ctx)

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err = beta.PingContext(short)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))

	a1.Close() // back to alpha's pool, idle
	a2.Close()
	fmt.Println(beta.PingContext(ctx)) // an idle connection of alpha is closed for beta

	st := g.Stats()
	fmt.Println(st.Total.Open <= 2, st.Pools["alpha"].ClosedForWaiter >= 1)
	// Output:
	// true
	// <nil>
	// true true
}

// Trac's mod_wsgi guide's "poolable = False" as middleware: connections are closed
// after each request.
func ExampleCloseIdleAfter() {
	g, _ := pool.NewGovernor(pool.Config{MaxOpen: 10})
	db := g.MustOpen("trac", &fakeConnector{kind: full})
	defer db.Close()

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		db.PingContext(r.Context())
		fmt.Fprintln(w, "open during the request:", db.Stats().OpenConnections)
	})
	h := pool.CloseIdleAfter(0, db)(app)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/trac/wiki", nil))
	fmt.Print(rec.Body)
	fmt.Println("open after the request:", db.Stats().OpenConnections)
	// Output:
	// open during the request: 1
	// open after the request: 0
}
