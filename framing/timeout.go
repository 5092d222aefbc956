package framing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A RateTimeout bounds how long one phase of reading a request (its head,
// or its body) may take, as one part of mod_reqtimeout's
// RequestReadTimeout: Timeout at first, then one more second for every
// MinRate bytes received, up to Max. A client sending steadily at MinRate
// or faster is never cut, so large uploads work; a client trickling bytes
// (slowloris) is cut after Timeout.
type RateTimeout struct {
	// Timeout is the time allowed before any extension; 0 means the
	// phase has no limit (the per-operation [Guard.Timeout] still
	// applies).
	Timeout time.Duration
	// Max caps the time allowed, extensions included; 0 means no cap.
	// Apache requires MinRate with it, and so does
	// [ParseRequestReadTimeout].
	Max time.Duration
	// MinRate is the rate, in bytes per second, that extends the time
	// allowed by a second for every MinRate bytes; 0 means no extension.
	MinRate int64
}

// deadline is when a phase that started at start, and has received n
// bytes since, must end; zero for no limit.
func (t RateTimeout) deadline(start time.Time, n int64) time.Time {
	if t.Timeout <= 0 {
		return time.Time{}
	}
	d := t.Timeout
	if t.MinRate > 0 {
		// Whole seconds, as mod_reqtimeout extends; capped well below
		// overflow.
		d += time.Duration(min(n/t.MinRate, 1<<32)) * time.Second
	}
	if t.Max > 0 && d > t.Max {
		d = t.Max
	}
	return start.Add(d)
}

func (t RateTimeout) String() string {
	if t.Timeout <= 0 {
		return "0"
	}
	s := strconv.FormatInt(int64(t.Timeout/time.Second), 10)
	if t.Max > 0 {
		s += "-" + strconv.FormatInt(int64(t.Max/time.Second), 10)
	}
	if t.MinRate > 0 {
		s += ",MinRate=" + strconv.FormatInt(t.MinRate, 10)
	}
	return s
}

// ReadTimeouts is mod_reqtimeout's RequestReadTimeout: a [RateTimeout] for
// the request head, from its first byte (or, for a connection's first
// request, from the connection's acceptance) to its end, and one for the
// body, from the first time the handler reads it to its end. The wait for
// the next request on a keep-alive connection is not part of either: it is
// the server's IdleTimeout (Apache's KeepAliveTimeout).
type ReadTimeouts struct {
	Header RateTimeout
	Body   RateTimeout
}

// String returns t in RequestReadTimeout's syntax, which
// [ParseRequestReadTimeout] reads back.
func (t ReadTimeouts) String() string {
	return "header=" + t.Header.String() + " body=" + t.Body.String()
}

// DefaultReadTimeouts is mod_reqtimeout's default,
// "header=20-40,MinRate=500 body=20,MinRate=500": a head gets 20 seconds,
// up to 40 for one sent at 500 bytes/s or more; a body 20 seconds, and
// one more for every 500 bytes, without a cap.
var DefaultReadTimeouts = ReadTimeouts{
	Header: RateTimeout{Timeout: 20 * time.Second, Max: 40 * time.Second, MinRate: 500},
	Body:   RateTimeout{Timeout: 20 * time.Second, MinRate: 500},
}

// ParseRequestReadTimeout parses mod_reqtimeout's RequestReadTimeout
// arguments, space-separated: "header=" or "body=" followed by a timeout in
// seconds, an optional "-" and maximum, and an optional ",MinRate=" and
// rate in bytes per second (the key in any case). A range needs MinRate,
// as in Apache. A phase not given keeps its value in t, so that the
// defaults can be amended as Apache's are; "header=0" turns a phase off.
// "handshake=" (TLS) is refused: the TLS handshake is not timed by it.
func ParseRequestReadTimeout(t ReadTimeouts, s string) (ReadTimeouts, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return t, errors.New("want header=SECONDS[-MAX][,MinRate=BYTES] and/or body=SECONDS[-MAX][,MinRate=BYTES]")
	}
	for _, f := range fields {
		phase, v, ok := strings.Cut(f, "=")
		var dst *RateTimeout
		switch strings.ToLower(phase) {
		case "header":
			dst = &t.Header
		case "body":
			dst = &t.Body
		}
		if !ok || dst == nil {
			return t, fmt.Errorf("%q: want header=SECONDS or body=SECONDS, with options", f)
		}
		rt, err := parseRate(v)
		if err != nil {
			return t, fmt.Errorf("%q: %w", f, err)
		}
		*dst = rt
	}
	return t, nil
}

func parseRate(v string) (RateTimeout, error) {
	var rt RateTimeout
	times, rate, hasRate := strings.Cut(v, ",")
	lo, hi, hasMax := strings.Cut(times, "-")
	secs := func(s string) (time.Duration, error) {
		n, err := strconv.ParseUint(s, 10, 31)
		if err != nil {
			return 0, errors.New("want a timeout in whole seconds")
		}
		return time.Duration(n) * time.Second, nil
	}
	var err error
	if rt.Timeout, err = secs(lo); err != nil {
		return rt, err
	}
	if hasMax {
		if rt.Max, err = secs(hi); err != nil {
			return rt, err
		}
		if rt.Max < rt.Timeout {
			return rt, errors.New("the maximum is below the timeout")
		}
	}
	if hasRate {
		k, r, ok := strings.Cut(rate, "=")
		if !ok || !strings.EqualFold(k, "MinRate") {
			return rt, errors.New("want ,MinRate=BYTES after the timeout")
		}
		n, err := strconv.ParseUint(r, 10, 40)
		if err != nil || n == 0 {
			return rt, errors.New("MinRate wants a positive number of bytes per second")
		}
		rt.MinRate = int64(n)
	}
	if hasMax && rt.MinRate == 0 {
		return rt, errors.New("a timeout range needs MinRate, as in Apache")
	}
	if rt.Timeout == 0 {
		return RateTimeout{}, nil
	}
	return rt, nil
}
