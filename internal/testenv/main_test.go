package testenv

import (
	"os"
	"strings"
	"testing"
)

func TestMainTry(t *testing.T) {
	tests := []struct {
		name        string
		f           func(tb testing.TB)
		wantOK      bool
		wantSkipped bool
		wantReason  string
	}{
		{"returns", func(tb testing.TB) { tb.Logf("fine") }, true, false, ""},
		{"skips", func(tb testing.TB) { tb.Skipf("no %s", "slapd"); panic("not reached") }, false, true, "no slapd"},
		{"fails", func(tb testing.TB) { tb.Fatalf("broke %d", 1); panic("not reached") }, false, false, "broke 1"},
		{"errors", func(tb testing.TB) { tb.Errorf("bad") }, false, false, "bad"},
		{"missing program", func(tb testing.TB) { LookPath(tb, "gowsgi-no-such-program", "nothing") }, false, !InCI(), "gowsgi-no-such-program not found (apt-get install nothing)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMain("test")
			defer m.Close()
			reason, skipped, ok := m.Try(tc.f)
			if ok != tc.wantOK || skipped != tc.wantSkipped {
				t.Errorf("Try: ok=%v skipped=%v, want ok=%v skipped=%v (reason %q)", ok, skipped, tc.wantOK, tc.wantSkipped, reason)
			}
			if tc.wantReason != "" && !strings.Contains(reason, tc.wantReason) {
				t.Errorf("reason %q, want it to contain %q", reason, tc.wantReason)
			}
		})
	}
}

func TestMainCleanup(t *testing.T) {
	m := NewMain("test")
	var order []int
	var dir string
	m.Try(func(tb testing.TB) {
		dir = tb.TempDir()
		tb.Cleanup(func() { order = append(order, 1) })
		tb.Cleanup(func() { order = append(order, 2) })
	})
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("TempDir gone before Close: %v", err)
	}
	m.Close()
	if len(order) != 2 || order[0] != 2 || order[1] != 1 {
		t.Errorf("cleanups ran as %v, want [2 1]", order)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("TempDir %s still there after Close: %v", dir, err)
	}
	if m.Context().Err() == nil {
		t.Error("Context not canceled by Close")
	}
}
