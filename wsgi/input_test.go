package wsgi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestInputLinear runs testdata/input_check.py on the embedded adapter: its
// wsgi.input against a fake Go side, compared with io.BytesIO call by call,
// and linear in the body size by count (bytes allocated per answer, READs
// per answer), not by clock: read() of a 64 MiB body once took seconds to
// minutes, the adapter rebuilding its buffer on every piece.
func TestInputLinear(t *testing.T) {
	python := testenv.Python(t)
	adapter := filepath.Join(t.TempDir(), "adapter.py")
	if err := os.WriteFile(adapter, []byte(adapterSource), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "testdata/input_check.py", adapter).CombinedOutput()
	t.Logf("input_check.py:\n%s", out)
	if err != nil {
		t.Fatalf("input_check.py: %v", err)
	}
}

// bodyReads is a request body whose every Read fills its buffer or ends the
// body, as from a fast client, and is counted: one Read per READ frame the
// worker sent (once the body is past the inline size).
type bodyReads struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b bodyReads) Read(p []byte) (int, error) {
	b.n.Add(1)
	n, err := io.ReadFull(b.ReadCloser, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// linesBody is size bytes of lines of many lengths (1 byte to beyond one
// answer of maxReadChunk), so that lines cross every boundary.
func linesBody(size int) []byte {
	lens := []int{1, 80, 0, 4000, 70000, 5, 300000, 65535, 262143, 17}
	b := make([]byte, 0, size)
	for i := 0; len(b) < size; i++ {
		n := lens[i%len(lens)]
		for j := 0; j < n && len(b) < size; j++ {
			b = append(b, byte('a'+(i+j)%26))
		}
		if len(b) < size {
			b = append(b, '\n')
		}
	}
	return b
}

// TestUploadModes sends bodies around the inline size (64 KiB) and the
// answer size (256 KiB), sized and chunked, to an application that reads
// them with read(), loops of read(n), readline(), readline(size),
// readlines(), readlines(hint) and iteration: it must get exactly the body,
// in valid lines, with one READ frame per 256 KiB (a read(65536) loop asked
// for 64 KiB at a time before).
func TestUploadModes(t *testing.T) {
	script, _ := filepath.Abs("testdata/input.wsgi")
	h, _ := newTestHandler(t, Config{Script: script, Processes: 1})
	var reads atomic.Int64
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.Body = bodyReads{r.Body, &reads}
		h.ServeHTTP(w, r2)
	}))
	sizes := []int{1, 65535, 65536, 65537, 262143, 262144, 262145, 3*262144 + 1, 2<<20 + 17}
	modes := []struct {
		mode  string
		n     int
		small bool // only for bodies up to 256 KiB + 1
	}{
		{"read", -1, false},
		{"readn", 7, true},
		{"readn", 65536, false},
		{"readn", 100000, false},
		{"readn", 262144, false},
		{"readn", 1 << 20, false},
		{"readline", -1, false},
		{"readline", 100, false},
		{"readline", 65536, false},
		{"readlines", -1, false},
		{"readlines", 100000, false},
		{"iter", -1, false},
	}
	for _, chunked := range []bool{false, true} {
		for _, size := range sizes {
			body := linesBody(size)
			sum := sha256.Sum256(body)
			want := fmt.Sprintf("%d %s ok", size, hex.EncodeToString(sum[:]))
			for _, m := range modes {
				if m.small && size > 262145 {
					continue
				}
				name := fmt.Sprintf("chunked=%v/size=%d/%s(%d)", chunked, size, m.mode, m.n)
				t.Run(name, func(t *testing.T) {
					var rd io.Reader = bytes.NewReader(body)
					if chunked {
						rd = onlyReader{rd}
					}
					req, err := http.NewRequest("POST", fmt.Sprintf("%s/?mode=%s&n=%d", srv.URL, m.mode, m.n), rd)
					if err != nil {
						t.Fatal(err)
					}
					reads.Store(0)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					got, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || string(got) != want {
						t.Fatalf("status %d, %q; want %q", resp.StatusCode, got, want)
					}
					// Bodies past the inline size stream: one READ per
					// full answer and one that finds the end.
					if chunked || size > inlineBody {
						if n, max := reads.Load(), int64(size/maxReadChunk+1); n > max {
							t.Errorf("%d body reads (READ frames) for %d bytes; want at most %d", n, size, max)
						}
					}
				})
			}
		}
	}
}
