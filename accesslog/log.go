package accesslog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gowsgi/gowsgi/internal/reqctx"
)

// Config configures a [Log].
type Config struct {
	// Writer receives the lines, written by one goroutine of the Log's
	// own, never by a request's. Required. A [File] can be reopened after
	// a log rotation.
	Writer io.Writer
	// Format is the lines' format; the zero value is [Combined].
	Format Format
	// QueueSize bounds the lines waiting for Writer; when it is full, a
	// request's line is dropped and counted ([Log.Dropped]) rather than
	// slowing the request. 0 means 8192.
	QueueSize int
	// Logger receives the count of dropped lines, at most once per
	// ReportInterval while lines are being dropped, and write errors. nil
	// means slog.Default().
	Logger *slog.Logger
	// ReportInterval is how often dropped lines are reported. 0 means
	// one minute.
	ReportInterval time.Duration
}

// Log is an access log: a middleware ([Log.Wrap]) that formats one line per
// request and a writer goroutine that writes them. The request path never
// waits for the disk: a line goes into a bounded queue, and when the queue
// is full (a slow or full disk, a blocked pipe) the line is dropped and
// counted. Make it with [New]; stop it with [Log.Close].
type Log struct {
	w        io.Writer
	format   Format
	log      *slog.Logger
	interval time.Duration

	queue   chan *line
	done    chan struct{} // closed by Close
	stopped chan struct{} // closed when the writer goroutine returned
	closeMu sync.Once

	dropped  atomic.Uint64
	reported atomic.Uint64 // dropped when last reported
	written  atomic.Uint64
	errors   atomic.Uint64
}

// line is one formatted line, recycled through linePool.
type line struct{ b []byte }

var linePool = sync.Pool{New: func() any { return &line{b: make([]byte, 0, 256)} }}

// New validates cfg and starts the Log's writer goroutine.
func New(cfg Config) (*Log, error) {
	if cfg.Writer == nil {
		return nil, errors.New("accesslog: Config.Writer is required")
	}
	if cfg.Format > JSON {
		return nil, errors.New("accesslog: unknown Config.Format")
	}
	if cfg.QueueSize < 0 || cfg.ReportInterval < 0 {
		return nil, errors.New("accesslog: negative QueueSize or ReportInterval")
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 8192
	}
	if cfg.ReportInterval == 0 {
		cfg.ReportInterval = time.Minute
	}
	l := &Log{
		w:        cfg.Writer,
		format:   cfg.Format,
		log:      reqctx.Logger(cfg.Logger),
		interval: cfg.ReportInterval,
		queue:    make(chan *line, cfg.QueueSize),
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go l.run()
	go l.reporter()
	return l, nil
}

// Wrap returns the access-log middleware: [Observe] with [Log.Add]. Put it
// outermost, so that every answer, the refusals of the outer layers
// included, is logged.
func (l *Log) Wrap(next http.Handler) http.Handler {
	return Observe(l.Add)(next)
}

// Add formats e and queues the line for the writer, or drops it when the
// queue is full or the Log is closed. It never blocks.
func (l *Log) Add(e *Entry) {
	ln := linePool.Get().(*line)
	ln.b = l.format.AppendLine(ln.b[:0], e)
	select {
	case <-l.done:
		l.dropped.Add(1)
		putLine(ln)
		return
	default:
	}
	select {
	case l.queue <- ln:
	default:
		l.dropped.Add(1)
		putLine(ln)
	}
}

func putLine(ln *line) {
	if cap(ln.b) <= 4096 {
		linePool.Put(ln)
	}
}

// Dropped returns how many lines were dropped since the Log was made: the
// queue was full, or the Log closed.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Written returns how many lines reached the writer.
func (l *Log) Written() uint64 { return l.written.Load() }

// Queued returns how many lines wait for the writer.
func (l *Log) Queued() int { return len(l.queue) }

// run is the writer goroutine: it writes lines as they come, many per
// write when they queue up.
func (l *Log) run() {
	defer close(l.stopped)
	bw := bufio.NewWriterSize(l.w, 64<<10)
	write := func(ln *line) {
		if _, err := bw.Write(ln.b); err != nil {
			l.writeError(err)
			bw.Reset(l.w)
		} else {
			l.written.Add(1)
		}
		putLine(ln)
	}
	flush := func() {
		if err := bw.Flush(); err != nil {
			l.writeError(err)
			bw.Reset(l.w)
		}
	}
	for {
		select {
		case ln := <-l.queue:
			write(ln)
			// Take what else is queued, then write it in one go.
			for more := true; more; {
				select {
				case ln := <-l.queue:
					write(ln)
				default:
					more = false
				}
			}
			flush()
		case <-l.done:
			for {
				select {
				case ln := <-l.queue:
					write(ln)
				default:
					flush()
					return
				}
			}
		}
	}
}

// reporter reports drops every interval until Close, on a goroutine of
// its own: the writer's may be the one blocked.
func (l *Log) reporter() {
	tick := time.NewTicker(l.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			l.report()
		case <-l.done:
			return
		}
	}
}

// report logs the lines dropped since the last report, if any.
func (l *Log) report() {
	d := l.dropped.Load()
	if last := l.reported.Swap(d); d > last {
		l.log.Warn("accesslog: lines dropped: the log's writer is too slow", "dropped", d-last, "dropped_total", d)
	}
}

// writeError logs a write error, the first and then one in 1000, so that a
// full disk does not flood the server's log.
func (l *Log) writeError(err error) {
	if n := l.errors.Add(1); n == 1 || n%1000 == 0 {
		l.log.Error("accesslog: write", "err", err, "errors", n)
	}
}

// Close stops taking lines, writes those queued and waits for the writer
// goroutine, which may take as long as the writer blocks: see
// [Log.Shutdown] for a bound. It does not close Config.Writer.
func (l *Log) Close() error {
	return l.Shutdown(context.Background())
}

// Shutdown is Close that waits no longer than ctx: when ctx ends first
// (the writer blocked: a full disk, a pipe nobody reads), it returns
// ctx's error and the lines still queued are lost; the writer goroutine
// finishes their writing if the writer ever returns.
func (l *Log) Shutdown(ctx context.Context) error {
	l.closeMu.Do(func() { close(l.done) })
	select {
	case <-l.stopped:
	case <-ctx.Done():
		select {
		case <-l.stopped: // done as well: not an error
		default:
			l.report()
			return fmt.Errorf("accesslog: the writer did not finish: %w (%d lines queued)", ctx.Err(), len(l.queue))
		}
	}
	l.report()
	return nil
}
