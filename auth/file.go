package auth

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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
	s.dev, s.ino = fileID(fi)
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

	// The fast path, on every request, reads cur and due without locking
	// and without reading the clock (which costs as much as the rest of a
	// cached password check on some virtual machines). due is set by a
	// timer one interval after the last stat; the first caller that finds
	// it set takes mu, stats the file and arms the timer again. An idle
	// server therefore has no timer pending after one interval.
	cur   atomic.Pointer[snapshot[T]]
	due   atomic.Bool
	timer *time.Timer // nil when interval < 0 (stat on every call)

	mu    sync.Mutex // serializes reloads
	stamp fileStamp
	gen   atomic.Uint64 // generation of the last good contents
}

// snapshot is the outcome of the last reload: the contents of the last good
// version with its generation, or the error that makes every caller fail.
type snapshot[T any] struct {
	val T
	gen uint64
	err error
}

func newWatched[T any](path string, interval time.Duration, parse func([]byte) (T, error)) (*watched[T], error) {
	if path == "" {
		return nil, fmt.Errorf("auth: no file name")
	}
	if interval == 0 {
		interval = defaultStatInterval
	}
	w := &watched[T]{path: path, interval: interval, parse: parse}
	if err := w.reload(); err != nil {
		return nil, err
	}
	if interval > 0 {
		w.timer = time.AfterFunc(interval, func() { w.due.Store(true) })
	}
	return w, nil
}

// reload stats the file and reads and parses it when it changed. Called
// with w.mu held (or before w is shared).
func (w *watched[T]) reload() error {
	prev := w.cur.Load()
	fail := func(err error) error {
		s := &snapshot[T]{gen: w.gen.Load(), err: err}
		w.cur.Store(s)
		return err
	}
	fi, err := os.Stat(w.path)
	if err != nil {
		return fail(fmt.Errorf("auth: %w", err))
	}
	st := stampOf(fi)
	if prev != nil && prev.err == nil && st == w.stamp {
		return nil
	}
	data, err := os.ReadFile(w.path)
	if err != nil {
		return fail(fmt.Errorf("auth: %w", err))
	}
	v, err := w.parse(data)
	if err != nil {
		return fail(fmt.Errorf("auth: %s: %w", w.path, err))
	}
	w.stamp = st
	gen := w.gen.Add(1)
	w.cur.Store(&snapshot[T]{val: v, gen: gen})
	if w.onReload != nil {
		w.onReload()
	}
	return nil
}

// get returns the current contents and their generation, reloading first
// when the interval has passed and the file changed.
func (w *watched[T]) get() (T, uint64, error) {
	if w.timer == nil || w.due.Load() {
		w.mu.Lock()
		if w.timer == nil {
			_ = w.reload()
		} else if w.due.Load() {
			_ = w.reload()
			w.due.Store(false)
			w.timer.Reset(w.interval)
		}
		w.mu.Unlock()
	}
	s := w.cur.Load()
	if s.err != nil {
		var zero T
		return zero, s.gen, s.err
	}
	return s.val, s.gen, nil
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
