package pool

import (
	"database/sql"
	"net/http"
)

// CloseIdle closes every idle connection of each db now, then lets it keep
// up to maxIdle idle connections again, as [sql.DB.SetMaxIdleConns] (0
// means database/sql's default of 2, negative means none). Connections in
// use are not touched; they return to their pool as usual. It is the
// effect of Trac's "poolable = False" without editing the application.
//
// database/sql offers no way to read a pool's idle limit, hence maxIdle:
// pass the value the db was configured with ([Config.MaxIdle] for pools of
// [Governor.Open]).
func CloseIdle(maxIdle int, dbs ...*sql.DB) {
	for _, db := range dbs {
		if db == nil {
			continue
		}
		db.SetMaxIdleConns(-1)
		db.SetMaxIdleConns(maxIdle)
	}
}

// CloseIdleAfter returns middleware that calls [CloseIdle](maxIdle,
// dbs...) after each request, once the next handler has returned (also
// when it panics), so that no database connection stays open between
// requests beyond those other requests are using.
func CloseIdleAfter(maxIdle int, dbs ...*sql.DB) func(http.Handler) http.Handler {
	dbs = append([]*sql.DB(nil), dbs...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer CloseIdle(maxIdle, dbs...)
			next.ServeHTTP(w, r)
		})
	}
}
