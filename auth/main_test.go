package auth

import (
	"io"
	"log/slog"
	"os"
	"testing"
)

// TestMain silences the default logger: the middlewares log every refusal,
// and tests that check logging pass their own logger.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}
