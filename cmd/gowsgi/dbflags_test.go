package main

import (
	"flag"
	"io"
	"testing"
	"time"
)

// -db-max-connections and -db-connect-timeout reach wsgi.Config.
func TestDBFlags(t *testing.T) {
	fs := flag.NewFlagSet("gowsgi", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o options
	o.register(fs)
	if err := fs.Parse([]string{"-db-max-connections", "8", "-db-connect-timeout", "3s"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := o.wsgiConfig("app.wsgi", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DBMaxConnections != 8 || cfg.DBConnectTimeout != 3*time.Second {
		t.Errorf("DBMaxConnections %d, DBConnectTimeout %v; want 8, 3s", cfg.DBMaxConnections, cfg.DBConnectTimeout)
	}
}
