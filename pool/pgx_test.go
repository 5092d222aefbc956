//go:build pgxstdlib

// pgx's database/sql driver (stdlib) imports pgxpool, whose dependency
// github.com/jackc/puddle/v2 is not in go.sum yet, so this file is behind
// the pgxstdlib build tag. Once go.sum has
//
//	github.com/jackc/puddle/v2 v2.2.3 h1:f8HoREISb3l5eO9coPgK7U3hKLhWGokOFVcThl5jrao=
//	github.com/jackc/puddle/v2 v2.2.3/go.mod h1:vriiEXHvEE654aYKXXjOvZM39qJ0q+azkZFrfEOc3H4=
//
// drop the build line: every PostgreSQL test then runs with pgx too.

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
