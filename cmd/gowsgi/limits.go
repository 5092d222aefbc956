package main

import (
	"flag"
	"net/http"
	"time"

	"github.com/gowsgi/gowsgi/framing"
)

// limitsConfig is how long the server waits for clients and how much of a
// request head it reads (Apache's Timeout, KeepAliveTimeout,
// RequestReadTimeout and LimitRequest* directives). The request body's
// limit is serverConfig.LimitRequestBody.
type limitsConfig struct {
	// RequestReadTimeout bounds the reading of a request's head and body,
	// with a minimum rate that extends it (-request-read-timeout;
	// mod_reqtimeout's RequestReadTimeout). Default: mod_reqtimeout's,
	// "header=20-40,MinRate=500 body=20,MinRate=500": a slowloris client
	// is cut after 20 s, a large upload at 500 bytes/s or more never.
	RequestReadTimeout framing.ReadTimeouts
	// Timeout is the longest wait for one read from or one write to a
	// client while a request is read or answered; not a total, so long
	// downloads and uploads that keep moving work (-timeout; Timeout).
	// Default 60 s, Apache's. 0 means none.
	Timeout time.Duration
	// KeepAliveTimeout is how long an idle keep-alive connection waits
	// for its next request (-keep-alive-timeout; KeepAliveTimeout); 0
	// turns keep-alive off (KeepAlive Off). Default 75 s: longer than the
	// 60 s idle timeout of common load balancers (AWS ALB, and what
	// HAProxy and nginx setups mostly use), so that the load balancer,
	// not gowsgi, closes an idle connection and never sends a request on
	// one gowsgi is closing (a 502 for the user). Apache's 5 s is there
	// because each idle connection holds a thread or a process there; in
	// Go it holds a goroutine and its buffers, a few kilobytes.
	KeepAliveTimeout time.Duration
	// LimitRequestLine, LimitRequestFieldSize and LimitRequestFields
	// bound the request line (414), each header field line (431) and
	// their number (400), in bytes without the CRLF (-limit-request-line,
	// -limit-request-field-size, -limit-request-fields; Apache's
	// directives of the same names, 8190, 8190 and 100 by default). 0
	// means no limit of that kind; the head as a whole stays under
	// 1 MiB or what the limits allow, whichever is more.
	LimitRequestLine      int
	LimitRequestFieldSize int
	LimitRequestFields    int
}

// defaultLimits are Apache's defaults, except KeepAliveTimeout (see
// [limitsConfig]).
func defaultLimits() limitsConfig {
	return limitsConfig{
		RequestReadTimeout:    framing.DefaultReadTimeouts,
		Timeout:               60 * time.Second,
		KeepAliveTimeout:      75 * time.Second,
		LimitRequestLine:      8190,
		LimitRequestFieldSize: 8190,
		LimitRequestFields:    100,
	}
}

// limitsFlags registers the flags of l on fs.
func limitsFlags(fs *flag.FlagSet, l *limitsConfig) {
	fs.Var((*readTimeoutFlag)(&l.RequestReadTimeout), "request-read-timeout", "`spec` 'header=T[-MAX][,MinRate=R] body=...': seconds allowed to read a request's head and body, extended by 1 s per R bytes received up to MAX; header=0 or body=0 turns a phase off (mod_reqtimeout's RequestReadTimeout)")
	fs.DurationVar(&l.Timeout, "timeout", l.Timeout, "longest wait for one read from or write to a client, not a total: a download or upload that keeps moving is never cut (Timeout; 0: none)")
	fs.DurationVar(&l.KeepAliveTimeout, "keep-alive-timeout", l.KeepAliveTimeout, "how long an idle keep-alive connection waits for its next request; keep it above the idle timeout of a load balancer in front (often 60s); 0 turns keep-alive off (KeepAliveTimeout, KeepAlive Off)")
	fs.IntVar(&l.LimitRequestLine, "limit-request-line", l.LimitRequestLine, "longest request line in bytes; longer gets 414 (LimitRequestLine; 0: no limit)")
	fs.IntVar(&l.LimitRequestFieldSize, "limit-request-field-size", l.LimitRequestFieldSize, "longest request header field line in bytes; longer gets 431 (LimitRequestFieldSize; 0: no limit)")
	fs.IntVar(&l.LimitRequestFields, "limit-request-fields", l.LimitRequestFields, "most request header fields; more get 400 (LimitRequestFields; 0: no limit)")
}

// readTimeoutFlag is -request-read-timeout: phases not given keep their
// value, as with Apache's directive.
type readTimeoutFlag framing.ReadTimeouts

func (f *readTimeoutFlag) String() string { return (*framing.ReadTimeouts)(f).String() }

func (f *readTimeoutFlag) Set(v string) error {
	t, err := framing.ParseRequestReadTimeout(framing.ReadTimeouts(*f), v)
	if err != nil {
		return err
	}
	*f = readTimeoutFlag(t)
	return nil
}

// applyLimits sets l on the server and on its framing guard, which times
// the reads and writes of each connection and checks its request heads.
func applyLimits(l limitsConfig, srv *http.Server, guard *framing.Guard) {
	guard.Limits = framing.Limits{
		RequestLine: l.LimitRequestLine,
		FieldSize:   l.LimitRequestFieldSize,
		Fields:      l.LimitRequestFields,
	}
	guard.RequestReadTimeout = l.RequestReadTimeout
	guard.Timeout = l.Timeout
	srv.MaxHeaderBytes = max(http.DefaultMaxHeaderBytes, guard.Limits.MaxHead())
	srv.IdleTimeout = l.KeepAliveTimeout
	// HTTP/2 connections (over TLS) bypass the guard: net/http's HTTP/2
	// server bounds their heads by MaxHeaderBytes (its
	// SETTINGS_MAX_HEADER_LIST_SIZE), closes them idle after IdleTimeout,
	// and here gives up on a client that takes no data for -timeout, as
	// Apache's Timeout does for a write.
	if l.Timeout > 0 {
		srv.HTTP2 = &http.HTTP2Config{WriteByteTimeout: l.Timeout}
	}
	if l.KeepAliveTimeout <= 0 {
		srv.SetKeepAlivesEnabled(false)
	}
}
