package wsgi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
)

// The worker protocol. Every frame is a 9-byte header, type (u8), request
// id (u32, little endian) and payload length (u32), then the payload. The
// Go side writes requests and request-body pieces; the worker writes
// responses. Several requests may be in flight on one connection; the
// worker serves them in arrival order and tags every frame with the id.
const (
	// Go -> worker.
	frameReq     = 1 // u32 environ length, marshal(environ dict); body pulled with frameRead
	frameReqFull = 2 // as frameReq, followed by the complete request body
	frameBody    = 3 // a piece of the request body
	frameEOF     = 4 // end of the request body
	frameAbort   = 5 // the client went away

	// Go -> worker, on the control socket of the database connection
	// budget (see dbbudget.go); the id is the worker's connection id,
	// or a query's own.
	frameDBGrant = 6 // a slot for connection id
	frameDBDeny  = 7 // no slot for connection id; payload: the reason (UTF-8)
	frameDBIdle  = 8 // report the idle connections (answer: frameDBIdleAges)
	frameDBShed  = 9 // u32 n, u32 owe: close the n oldest idle connections now and owe more (see shedOnce), then answer frameDBIdleAges

	// Worker -> Go.
	frameHello     = 16 // the application is loaded
	frameHeaders   = 17 // status NUL name NUL value ... (latin-1)
	frameData      = 18 // body bytes; more follow at once
	frameDataFlush = 19 // body bytes to flush to the client now
	frameEnd       = 20 // the response is complete
	frameError     = 21 // the application raised; payload is the traceback
	frameLog       = 22 // one or more wsgi.errors lines
	frameRead      = 23 // u32: the application wants up to n body bytes
	frameFile      = 24 // i64 offset, i64 length (-1: to EOF); one fd by SCM_RIGHTS

	// Worker -> Go, on the control socket.
	frameDBAcquire  = 25 // a slot for a new connection, id chosen by the worker
	frameDBRelease  = 26 // connection id (granted) is closed
	frameDBIdleAges = 27 // i64 ns per idle connection that may be closed, at most maxIdleAges

	// Synthetic frames, never on the wire: the reader tells a request its
	// worker is gone.
	frameDied  = 100 // the request was running: 502
	frameRetry = 101 // the request had not started: dispatch it again
	// The monitor tells a safe request queued behind a long one to take
	// itself back (see the dispatcher's policy).
	frameRescue = 102

	frameHeaderLen = 9
	// maxFrame bounds a frame from a worker; the adapter splits larger
	// body chunks (1 MiB) and headers are far smaller.
	maxFrame = 4 << 20
	// maxReadChunk bounds one answer to frameRead.
	maxReadChunk = 256 << 10
	// maxIdleAges bounds the connections one frameDBIdleAges lists.
	maxIdleAges = 64
)

// errProtocol reports a frame a worker should never send.
var errProtocol = errors.New("wsgi: worker protocol error")

// frame is one decoded frame from a worker. fd is set (>= 0) for frameFile.
type frame struct {
	typ     byte
	id      uint32
	payload []byte
	fd      int
}

func putHeader(b []byte, typ byte, id uint32, n int) {
	b[0] = typ
	binary.LittleEndian.PutUint32(b[1:5], id)
	binary.LittleEndian.PutUint32(b[5:9], uint32(n))
}

// appendFrame appends a frame with payload p to b.
func appendFrame(b []byte, typ byte, id uint32, p []byte) []byte {
	var h [frameHeaderLen]byte
	putHeader(h[:], typ, id, len(p))
	return append(append(b, h[:]...), p...)
}

// frameReader decodes frames from a worker connection, receiving the file
// descriptors that ride along with SCM_RIGHTS.
type frameReader struct {
	conn *net.UnixConn // nil in tests that read from src
	src  io.Reader
	buf  []byte
	r, w int
	oob  []byte
	fds  []int
	// size is len(buf), for readers other than the owner (tests).
	size atomic.Int64
	// check validates a frame header: checkFrame on request sockets,
	// checkCtlFrame on the control socket.
	check func(typ byte, n int) error
}

// frameBuf is a frame reader's buffer size; it grows for a larger frame
// (up to maxFrame) and shrinks back when idle (see shrink).
const frameBuf = 64 << 10

func newFrameReader(c *net.UnixConn, src io.Reader) *frameReader {
	return &frameReader{conn: c, src: src, buf: make([]byte, frameBuf), oob: make([]byte, syscall.CmsgSpace(4*8)), check: checkFrame}
}

// shrink gives back a buffer that grew for a large frame, once nothing is
// buffered: a connection that relayed a download once does not keep
// megabytes for the rest of its life.
func (fr *frameReader) shrink() {
	if len(fr.buf) > frameBuf && fr.r == fr.w {
		fr.buf = make([]byte, frameBuf)
		fr.r, fr.w = 0, 0
		fr.size.Store(frameBuf)
	}
}

// fill reads more bytes, keeping at least need bytes of room.
func (fr *frameReader) fill(need int) error {
	if fr.r > 0 && (fr.r == fr.w || len(fr.buf)-fr.r < need) {
		copy(fr.buf, fr.buf[fr.r:fr.w])
		fr.w -= fr.r
		fr.r = 0
	}
	if len(fr.buf)-fr.r < need {
		nb := make([]byte, max(need, 2*len(fr.buf)))
		fr.size.Store(int64(len(nb)))
		copy(nb, fr.buf[fr.r:fr.w])
		fr.w -= fr.r
		fr.r = 0
		fr.buf = nb
	}
	if fr.conn == nil {
		n, err := fr.src.Read(fr.buf[fr.w:])
		fr.w += n
		if n > 0 {
			return nil
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	n, oobn, _, _, err := fr.conn.ReadMsgUnix(fr.buf[fr.w:], fr.oob)
	if oobn > 0 {
		fr.takeFDs(fr.oob[:oobn])
	}
	if n < 0 { // a read that failed (a deadline) reports -1
		n = 0
	}
	fr.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.EOF
	}
	return err
}

func (fr *frameReader) takeFDs(oob []byte) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	for _, m := range msgs {
		fds, err := syscall.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			syscall.CloseOnExec(fd)
		}
		fr.fds = append(fr.fds, fds...)
	}
}

// closeFDs closes descriptors received but not claimed by a frame.
func (fr *frameReader) closeFDs() {
	for _, fd := range fr.fds {
		syscall.Close(fd)
	}
	fr.fds = nil
}

// buffered reports whether a whole valid frame for request id is already
// in the buffer, so that next returns it without reading.
func (fr *frameReader) buffered(id uint32) bool {
	if fr.w-fr.r < frameHeaderLen {
		return false
	}
	h := fr.buf[fr.r : fr.r+frameHeaderLen]
	if binary.LittleEndian.Uint32(h[1:5]) != id {
		return false
	}
	n := binary.LittleEndian.Uint32(h[5:9])
	if n > maxFrame || fr.check(h[0], int(n)) != nil || fr.w-fr.r < frameHeaderLen+int(n) {
		return false
	}
	return h[0] != frameFile || len(fr.fds) > 0
}

// complete reports whether a whole frame is buffered.
func (fr *frameReader) complete() bool {
	if fr.w-fr.r < frameHeaderLen {
		return false
	}
	n := binary.LittleEndian.Uint32(fr.buf[fr.r+5 : fr.r+9])
	return uint64(fr.w-fr.r) >= frameHeaderLen+uint64(n)
}

// next returns the next frame. The payload is a fresh copy the caller owns.
func (fr *frameReader) next() (frame, error) {
	f, err := fr.nextView()
	if err == nil && len(f.payload) > 0 {
		f.payload = append([]byte(nil), f.payload...)
	}
	return f, err
}

// nextView is next without the copy: the payload is a view of the reader's
// buffer, valid until a call that reads from the socket (next, or nextView
// when no whole frame is buffered). See detachPayloads.
func (fr *frameReader) nextView() (frame, error) {
	for fr.w-fr.r < frameHeaderLen {
		if err := fr.fill(frameHeaderLen); err != nil {
			return frame{}, err
		}
	}
	h := fr.buf[fr.r : fr.r+frameHeaderLen]
	f := frame{typ: h[0], id: binary.LittleEndian.Uint32(h[1:5]), fd: -1}
	n := binary.LittleEndian.Uint32(h[5:9])
	if n > maxFrame {
		return frame{}, fmt.Errorf("%w: frame of %d bytes", errProtocol, n)
	}
	if err := fr.check(f.typ, int(n)); err != nil {
		return frame{}, err
	}
	total := frameHeaderLen + int(n)
	for fr.w-fr.r < total {
		if err := fr.fill(total); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return frame{}, err
		}
	}
	if n > 0 {
		f.payload = fr.buf[fr.r+frameHeaderLen : fr.r+total : fr.r+total]
	}
	fr.r += total
	if f.typ == frameFile {
		if len(fr.fds) == 0 {
			return frame{}, fmt.Errorf("%w: file frame without a descriptor", errProtocol)
		}
		f.fd = fr.fds[0]
		fr.fds = fr.fds[1:]
	}
	return f, nil
}

// detachPayloads copies the payloads of frames returned by nextView into
// one new array, so that they outlive the reader's buffer: one allocation
// for a batch of frames instead of one per frame.
func detachPayloads(fs []frame) {
	n := 0
	for _, f := range fs {
		n += len(f.payload)
	}
	if n == 0 {
		return
	}
	arena := make([]byte, 0, n)
	for i := range fs {
		if p := fs[i].payload; len(p) > 0 {
			start := len(arena)
			arena = append(arena, p...)
			fs[i].payload = arena[start:len(arena):len(arena)]
		}
	}
}

// checkFrame validates a frame header from a worker.
func checkFrame(typ byte, n int) error {
	switch typ {
	case frameHello, frameEnd:
		if n != 0 {
			return fmt.Errorf("%w: frame %d with a payload", errProtocol, typ)
		}
	case frameRead:
		if n != 4 {
			return fmt.Errorf("%w: read frame of %d bytes", errProtocol, n)
		}
	case frameFile:
		if n != 16 {
			return fmt.Errorf("%w: file frame of %d bytes", errProtocol, n)
		}
	case frameHeaders, frameData, frameDataFlush, frameError, frameLog:
	default:
		return fmt.Errorf("%w: unknown frame type %d", errProtocol, typ)
	}
	return nil
}

// checkCtlFrame validates a frame header from a worker's control socket.
func checkCtlFrame(typ byte, n int) error {
	switch typ {
	case frameDBAcquire, frameDBRelease:
		if n != 0 {
			return fmt.Errorf("%w: frame %d with a payload", errProtocol, typ)
		}
	case frameDBIdleAges:
		if n%8 != 0 || n > 8*maxIdleAges {
			return fmt.Errorf("%w: idle ages frame of %d bytes", errProtocol, n)
		}
	default:
		return fmt.Errorf("%w: unknown control frame type %d", errProtocol, typ)
	}
	return nil
}

// idleAges decodes a frameDBIdleAges payload (its length checked by
// checkCtlFrame): how long each idle connection has been idle.
func idleAges(p []byte) ([]time.Duration, error) {
	ages := make([]time.Duration, 0, len(p)/8)
	for i := 0; i+8 <= len(p); i += 8 {
		ns := int64(binary.LittleEndian.Uint64(p[i:]))
		if ns < 0 {
			return nil, fmt.Errorf("%w: negative idle age %d", errProtocol, ns)
		}
		ages = append(ages, time.Duration(ns))
	}
	return ages, nil
}

// readWant decodes a frameRead payload: how many bytes to send, bounded.
func readWant(p []byte) int {
	n := binary.LittleEndian.Uint32(p)
	if n == 0 || n > maxReadChunk {
		return maxReadChunk
	}
	return int(n)
}

// fileSpec decodes a frameFile payload.
func fileSpec(p []byte) (offset, length int64, err error) {
	offset = int64(binary.LittleEndian.Uint64(p[0:8]))
	length = int64(binary.LittleEndian.Uint64(p[8:16]))
	if offset < 0 || length < -1 {
		return 0, 0, fmt.Errorf("%w: file offset %d length %d", errProtocol, offset, length)
	}
	return offset, length, nil
}

// hopByHop lists the hop-by-hop response headers (RFC 9110 section 7.6.1,
// RFC 2616's list, and Proxy-Connection): they describe the connection
// between the application and its server, never the response, so they are
// dropped (PEP 3333 forbids them; mod_wsgi passes them on).
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-authenticate": true,
	"proxy-authorization": true, "te": true, "trailer": true, "trailers": true,
	"transfer-encoding": true, "upgrade": true, "proxy-connection": true,
}

// responseHead is a parsed frameHeaders payload.
type responseHead struct {
	status int
	// header holds names and values in turn: name, value, name, value;
	// without the hop-by-hop and server-internal fields.
	header []string
	// contentLength is the application's Content-Length, or -1.
	contentLength int64
	// close: the application's Connection field holds "close".
	close bool
	// dropped names the first hop-by-hop field dropped, "" when none.
	dropped string
	// xsendfile is the path in X-Sendfile (or X-Lighttpd-Send-File), ""
	// when none: the server is asked to send that file as the body.
	xsendfile string
	// internal names the first other server-internal field dropped
	// (X-Accel-Redirect, X-Sendfile2, X-Sendfile-Temporary, an empty
	// X-Sendfile), "" when none.
	internal string
}

// parseHead decodes and checks a status line and headers from the
// application: "NNN reason" with a 3-digit status 100-999, header names that
// are HTTP tokens, values without control characters (tab allowed), at most
// one valid Content-Length. It drops the hop-by-hop fields (hopByHop and
// those the application's Connection field names) and the fields addressed
// to a front server (X-Sendfile and its kin), and reports them.
func parseHead(p []byte) (responseHead, error) {
	h := responseHead{contentLength: -1}
	fields := splitNUL(p)
	if len(fields)%2 != 1 {
		return h, fmt.Errorf("wsgi: malformed header block")
	}
	st := fields[0]
	if len(st) < 4 || st[3] != ' ' || !isDigits(st[:3]) || st[0] == '0' {
		return h, fmt.Errorf("wsgi: bad status %q", st)
	}
	for i := 4; i < len(st); i++ {
		if c := st[i]; c < ' ' && c != '\t' || c == 0x7f {
			return h, fmt.Errorf("wsgi: bad status %q", st)
		}
	}
	h.status, _ = strconv.Atoi(st[:3])
	if h.status < 100 {
		return h, fmt.Errorf("wsgi: bad status %q", st)
	}
	// options are the names in the Connection field: nil unless the
	// application sent one.
	var options []string
	for i := 1; i < len(fields); i += 2 {
		name, value := fields[i], fields[i+1]
		if !httpguts.ValidHeaderFieldName(name) {
			return h, fmt.Errorf("wsgi: bad header name %q", name)
		}
		if !httpguts.ValidHeaderFieldValue(value) {
			return h, fmt.Errorf("wsgi: control character in header %s", name)
		}
		if asciiEqualFold(name, "connection") {
			for opt := range strings.SplitSeq(value, ",") {
				opt = strings.Trim(opt, " \t")
				if opt == "" {
					continue
				}
				if asciiEqualFold(opt, "close") {
					h.close = true
				}
				options = append(options, opt)
			}
		}
	}
	// Keep the end-to-end fields, compacting them in place: kept never
	// grows past the field being read.
	kept := fields[1:1]
	for i := 1; i < len(fields); i += 2 {
		name, value := fields[i], fields[i+1]
		switch {
		case isHopByHop(name) || containsFold(options, name):
			if h.dropped == "" {
				h.dropped = name
			}
			continue
		case value != "" && (asciiEqualFold(name, "x-sendfile") || asciiEqualFold(name, "x-lighttpd-send-file")):
			if h.xsendfile != "" && h.xsendfile != value {
				return h, fmt.Errorf("wsgi: two X-Sendfile paths %q and %q", h.xsendfile, value)
			}
			h.xsendfile = value
			continue
		case isInternal(name):
			if h.internal == "" {
				h.internal = name
			}
			continue
		case asciiEqualFold(name, "content-length"):
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 || !isDigits(value) || h.contentLength >= 0 && h.contentLength != n {
				return h, fmt.Errorf("wsgi: bad Content-Length %q", value)
			}
			h.contentLength = n
		}
		kept = append(kept, name, value)
	}
	h.header = kept
	return h, nil
}

// isInternal reports whether name is a field an application sends to a
// front server (nginx, lighttpd, Apache's mod_xsendfile) rather than to
// the client. X-Sendfile with a value is handled before.
func isInternal(name string) bool {
	return asciiEqualFold(name, "x-sendfile") || asciiEqualFold(name, "x-lighttpd-send-file") ||
		asciiEqualFold(name, "x-accel-redirect") || asciiEqualFold(name, "x-sendfile2") ||
		asciiEqualFold(name, "x-sendfile-temporary")
}

// containsFold reports whether list holds name, ignoring ASCII case.
func containsFold(list []string, name string) bool {
	for _, s := range list {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// isHopByHop reports whether name is in hopByHop, in any case, without
// allocating.
func isHopByHop(name string) bool {
	var b [len("proxy-authorization")]byte
	if len(name) > len(b) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return hopByHop[string(b[:len(name)])]
}

// asciiEqualFold reports whether s equals lower, a lower-case ASCII
// string, ignoring ASCII case.
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// splitNUL splits p at NUL bytes; the fields share one string.
func splitNUL(p []byte) []string {
	out := make([]string, 0, bytes.Count(p, []byte{0})+1)
	s := string(p)
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// appendMarshalStr appends s, a native string of raw bytes (each byte one
// latin-1 code point, PEP 3333), in Python's marshal format.
func appendMarshalStr(b []byte, s string) []byte {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		if len(s) < 256 {
			return append(append(b, 'z', byte(len(s))), s...)
		}
		b = append(b, 'a')
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		return append(b, s...)
	}
	n := len(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			n++
		}
	}
	b = append(b, 'u')
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for i := 0; i < len(s); i++ {
		b = utf8.AppendRune(b, rune(s[i]))
	}
	return b
}

// appendMarshalEnviron appends env as a marshal dict of str to str.
func appendMarshalEnviron(b []byte, env []EnvVar) []byte {
	b = append(b, '{')
	for _, kv := range env {
		b = appendMarshalStr(b, kv.Name)
		b = appendMarshalStr(b, kv.Value)
	}
	return append(b, '0')
}
