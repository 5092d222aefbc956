package auth

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// defaultStatInterval is how often a watched file is stat'ed at most.
const defaultStatInterval = time.Second

// maxLineLen bounds one line of a password or group file.
const maxLineLen = 64 << 10

// fileStamp identifies one version of a file.
type fileStamp struct {
	mtime time.Time
	size  int64
	dev   uint64
	ino   uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	s := fileStamp{mtime: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.dev = uint64(st.Dev)
		s.ino = st.Ino
	}
	return s
}

// watched holds the parsed contents of a file and reloads them when the file
// changes (another modification time, size or inode), checking at most once
// per interval. A reload that fails is an error for every caller until the
// file is fixed: a broken file fails closed rather than keeping users that
// an administrator may just have removed.
type watched[T any] struct {
	path     string
	interval time.Duration
	parse    func(data []byte) (T, error)
	onReload func() // may be nil; called after each successful reload

	mu      sync.Mutex
	stamp   fileStamp
	checked time.Time
	val     T
	err     error
	gen     atomic.Uint64 // written under mu; read by peekGen without it
}

func newWatched[T any](path string, interval time.Duration, parse func([]byte) (T, error)) (*watched[T], error) {
	if path == "" {
		return nil, fmt.Errorf("auth: no file name")
	}
	if interval == 0 {
		interval = defaultStatInterval
	}
	w := &watched[T]{path: path, interval: interval, parse: parse}
	if err := w.reload(time.Now()); err != nil {
		return nil, err
	}
	return w, nil
}

// reload reads and parses the file. Called with w.mu held (or before w is
// shared).
func (w *watched[T]) reload(now time.Time) error {
	w.checked = now
	fi, err := os.Stat(w.path)
	if err != nil {
		w.err = fmt.Errorf("auth: %w", err)
		return w.err
	}
	st := stampOf(fi)
	if w.gen.Load() > 0 && st == w.stamp && w.err == nil {
		return nil
	}
	data, err := os.ReadFile(w.path)
	if err != nil {
		w.err = fmt.Errorf("auth: %w", err)
		return w.err
	}
	v, err := w.parse(data)
	if err != nil {
		w.err = fmt.Errorf("auth: %s: %w", w.path, err)
		return w.err
	}
	w.val, w.err, w.stamp = v, nil, st
	w.gen.Add(1)
	if w.onReload != nil {
		w.onReload()
	}
	return nil
}

// get returns the current contents and their generation, reloading first
// when the interval has passed and the file changed.
func (w *watched[T]) get() (T, uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if w.interval < 0 || now.Sub(w.checked) >= w.interval || now.Before(w.checked) {
		_ = w.reload(now)
	}
	if w.err != nil {
		var zero T
		return zero, w.gen.Load(), w.err
	}
	return w.val, w.gen.Load(), nil
}

// peekGen returns the generation of the contents without checking the file
// and without taking the lock.
func (w *watched[T]) peekGen() uint64 { return w.gen.Load() }

// scanLines calls fn for each line of data that is neither blank nor a
// comment ('#' as first non-blank character), with its 1-based number and
// without surrounding white space (so CRLF files read as LF files).
func scanLines(data []byte, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLineLen)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", n+1, err)
	}
	return nil
}
