package prefix

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/wsgi"
)

// routeApp returns testdata/routeapp.py, a real Python WSGI application that
// routes as Trac does and answers with JSON naming what it routed on, served
// by package wsgi's workers (which read the SCRIPT_NAME, PATH_INFO and
// trac.env_path this package records).
func routeApp(t *testing.T) http.Handler {
	t.Helper()
	script, err := filepath.Abs("testdata/routeapp.py")
	if err != nil {
		t.Fatal(err)
	}
	app, err := wsgi.New(wsgi.Config{
		Script:    script,
		Python:    testenv.Python(t),
		Processes: 1,
		Threads:   4,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app
}
