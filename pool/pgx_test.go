// The PostgreSQL tests with pgx's database/sql driver (stdlib).

package pool_test

import (
	"database/sql/driver"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

func pgxConnector(t testing.TB, dsn, app string) driver.Connector {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = app
	return stdlib.GetConnector(*cfg)
}

func init() {
	pgDrivers = append(pgDrivers, struct {
		name    string
		connect func(t testing.TB, dsn, app string) driver.Connector
	}{"pgx", pgxConnector})
}
