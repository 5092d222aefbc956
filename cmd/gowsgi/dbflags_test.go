package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// -db-max-connections and -db-connect-timeout fill the one budget of the
// command, shared by every mount's workers; a negative timeout is refused
// at startup, naming the flag.
func TestDBFlags(t *testing.T) {
	cfg, err := parseArgs([]string{"-db-max-connections", "8", "-db-connect-timeout", "3s", "app.wsgi"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB.MaxConnections != 8 || cfg.DB.ConnectTimeout != 3*time.Second {
		t.Errorf("DB %+v; want 8 connections, 3s", cfg.DB)
	}
	cfg, err = parseArgs([]string{"app.wsgi"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB.MaxConnections != 0 || cfg.DB.ConnectTimeout != 10*time.Second {
		t.Errorf("default DB %+v; want no cap, 10s", cfg.DB)
	}
	cfg.DB = dbConfig{MaxConnections: 2, ConnectTimeout: -time.Second}
	if _, err := newDBBudget(cfg.DB, quiet); err == nil || !strings.Contains(err.Error(), "-db-max-connections") {
		t.Errorf("negative timeout: %v, want an error naming -db-max-connections", err)
	}
}
