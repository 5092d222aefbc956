package testenv

import "testing"

// TestDiscardWriter: headers set through it are kept, and writing through
// it allocates nothing (what the allocation tests rely on).
func TestDiscardWriter(t *testing.T) {
	w := NewDiscardWriter()
	w.Header().Set("Content-Type", "text/plain")
	if got := w.Header().Get("Content-Type"); got != "text/plain" {
		t.Fatalf("header %q", got)
	}
	body := []byte("Hello, World!\n")
	n := testing.AllocsPerRun(100, func() {
		w.WriteHeader(200)
		if k, err := w.Write(body); k != len(body) || err != nil {
			t.Fatalf("Write = %d, %v", k, err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per write", n)
	}
}
