package testenv

import (
	"strings"
	"testing"
)

// TestPgBouncer queries PostgreSQL through PgBouncer and reads its admin
// console: the query ran on a server connection PgBouncer opened.
func TestPgBouncer(t *testing.T) {
	pg := StartPostgres(t, PostgresConfig{})
	b := StartPgBouncer(t, pg, PgBouncerConfig{MaxDBConnections: 3})
	if got := Psql(t, b.DSN, "SELECT current_setting('port')"); got != strings.TrimPrefix(Addr(pg.Port), "127.0.0.1:") {
		t.Errorf("query through pgbouncer ran on port %s, want the server's %d", got, pg.Port)
	}
	if got := Psql(t, b.AdminDSN, "SHOW CONFIG"); !strings.Contains(got, "pool_mode|transaction") || !strings.Contains(got, "max_db_connections|3") {
		t.Errorf("SHOW CONFIG lacks pool_mode transaction or max_db_connections 3:\n%s", got)
	}
	if n := b.ServerConnections(t); n != 1 {
		t.Errorf("SHOW SERVERS: %d connections to postgres, want 1", n)
	}
}
