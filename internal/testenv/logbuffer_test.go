package testenv

import (
	"strings"
	"sync"
	"testing"
)

// TestLogBuffer writes from several goroutines while reading (run with
// -race) and checks that every line arrives whole.
func TestLogBuffer(t *testing.T) {
	var l LogBuffer
	log := l.Logger()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				log.Info("line", "writer", i)
				_ = l.String()
			}
		})
	}
	wg.Wait()
	if n := strings.Count(l.String(), "msg=line writer="); n != 400 {
		t.Fatalf("%d lines, want 400", n)
	}
}
