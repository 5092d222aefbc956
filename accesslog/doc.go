// Package accesslog writes an access log, one line per request, in
// Apache's combined format or as JSON, from the request's
// [github.com/gowsgi/gowsgi/reqinfo] record: the user the inner
// authentication layers established (%u), the worker process that served
// the request, the mount and the request id.
//
//	alog, err := accesslog.New(accesslog.Config{Writer: f})
//	...
//	h := alog.Wrap(reqinfo.RequestID(chain))
//	...
//	defer alog.Close()
//
// [Log.Wrap] is a middleware made of two parts an embedding server may use
// on their own: [Observe], which measures each response (status, bytes,
// the bytes sent as a file, duration) and hands an [Entry] to a function,
// for metrics as well as logs; and [Log.Add], which formats the entry and
// queues the line.
//
// # Never blocking the request path
//
// A request formats its line and puts it into a bounded queue; one
// goroutine per Log takes lines from it and writes them, several per write
// when they queue up. When the queue is full (a slow or full disk, a pipe
// nobody reads), the line is dropped, never waited for: the request goes
// on at full speed and the log has a gap. Dropped lines are counted:
// [Log.Dropped] returns the count (command gowsgi exports it in its status
// JSON and as the metric gowsgi_access_log_dropped_total), and the Log
// writes a warning with the count to Config.Logger at most once per
// Config.ReportInterval while lines are being dropped. Write errors are
// logged too (the first, then one in a thousand).
//
// # Rotation
//
// [File] is a log file that [File.Reopen] opens again at its path: rename
// the file (logrotate), then have the server reopen it (command gowsgi does
// on SIGUSR1, as nginx does); lines written meanwhile go to the renamed
// file, none is lost.
//
// # Security
//
// The combined format escapes, as Apache does, quotes, backslashes and
// every byte that is not printable ASCII in the user name, the request line
// and the headers it prints, so that a client cannot forge or split log
// lines. JSON strings are escaped by encoding/json. The client address is
// the record's (reqinfo.Record.Client): only a layer that trusts the proxy
// in front should change it.
package accesslog
