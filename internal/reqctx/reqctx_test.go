package reqctx

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gowsgi/gowsgi/reqinfo"
)

func TestLogAttrs(t *testing.T) {
	r := httptest.NewRequest("GET", "/p", nil)
	if attrs := LogAttrs(r); len(attrs) != 2 {
		t.Fatalf("without a record: LogAttrs = %v, want method and path", attrs)
	}
	r, rec := reqinfo.Ensure(r)
	attrs := LogAttrs(r)
	if len(attrs) != 3 || attrs[2].(slog.Attr).Value.String() != rec.ID() {
		t.Fatalf("with a record: LogAttrs = %v, want method, path and request_id %s", attrs, rec.ID())
	}
}

func TestLogger(t *testing.T) {
	if Logger(nil) != slog.Default() {
		t.Error("Logger(nil) is not slog.Default()")
	}
	l := slog.New(slog.DiscardHandler)
	if Logger(l) != l {
		t.Error("Logger(l) is not l")
	}
}
