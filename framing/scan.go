package framing

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// A head is what the scanner learnt from one request head: the request line
// to match against the request net/http serves, and why it must be refused.
type head struct {
	method, target string
	// refuse is why the request must be refused; "" for a sound head.
	refuse string
	// status is the refusal's HTTP status; 0 means 400.
	status int
}

// Limits bounds the parts of a request head, as Apache's LimitRequestLine,
// LimitRequestFieldSize and LimitRequestFields do. A zero field means no
// limit of that kind (the head as a whole stays bounded by the server's
// MaxHeaderBytes). Lengths are in bytes, without the line's CRLF.
type Limits struct {
	// RequestLine is the longest request line (method, target and
	// version); a longer one is answered 414 (LimitRequestLine).
	RequestLine int
	// FieldSize is the longest header field line, name and value; a
	// longer one is answered 431 (LimitRequestFieldSize; Apache answers
	// 400).
	FieldSize int
	// Fields is the most header fields a request may have; more are
	// answered 400 (LimitRequestFields).
	Fields int
}

// MaxHead is the longest head l allows, every line at its longest with
// its CRLF, or 0 when a part is unlimited: a server's MaxHeaderBytes should
// be at least that much.
func (l Limits) MaxHead() int {
	if l.RequestLine <= 0 || l.FieldSize <= 0 || l.Fields <= 0 {
		return 0
	}
	return l.RequestLine + 2 + l.Fields*(l.FieldSize+2) + 2
}

type scanState uint8

const (
	stHead      scanState = iota // reading a request head
	stBody                       // remain bytes of a Content-Length body
	stChunkSize                  // reading a chunk-size line into buf
	stChunkData                  // remain bytes of chunk data
	stChunkEnd                   // the CRLF after chunk data; crlf bytes of it seen
	stTrailer                    // the trailer section after the last chunk, into buf
	stStopped                    // out of sync or refused: nothing more is scanned
)

// maxQueue bounds the heads read ahead of the request being served.
// net/http reads at most its 4 KiB buffer ahead of the request it parses,
// which holds fewer than 230 of the shortest heads.
const maxQueue = 256

// bufSize is net/http's bufio.Reader size on a server connection: a
// chunk-size line and a trailer section must fit in it.
const bufSize = 4096

// maxChunkExcess is net/http's bound on chunk overhead beyond 16 bytes per
// chunk plus twice the chunk data (net/http/internal.chunkedReader).
const maxChunkExcess = 16 * 1024

// A scanner follows HTTP/1.1 request framing over the bytes a server reads
// from one connection, in order: a head, then its body by Content-Length or
// chunked coding, then the next head. It queues what it learns of each head
// and stops for good at the first head to refuse, at a body framed
// otherwise than net/http reads it, or when a bound is passed. Its rules
// are net/http's (Go 1.26) or stricter, so that a stream it does not stop
// on is cut into requests exactly as net/http cuts it.
type scanner struct {
	maxHead int    // bound on one head, in bytes
	lim     Limits // bounds on the head's lines
	lineNo  int    // lines of the current head already ended
	state   scanState
	buf     []byte // the head, chunk-size line or trailer being read
	skip    int    // CR or LF bytes net/http skips before the next head (after a POST)
	remain  uint64 // bytes left in a Content-Length body or a chunk
	line    int    // bytes in the head's current line before its LF
	crlf    int    // bytes of the CRLF after chunk data seen
	excess  int64  // chunk overhead, counted as net/http does
	heads   []head // queued, oldest first
	err     error  // why the scanner stopped
}

func newScanner(maxHead int) *scanner {
	return &scanner{maxHead: maxHead}
}

// overLimit checks a line of the head being read against s.lim: n bytes
// of it so far, ended (its LF seen, n counting the CR before it) or not.
// On a line over its limit it queues a refused head and stops, and
// reports true.
func (s *scanner) overLimit(n int, ended bool) bool {
	if ended && n > 0 {
		n-- // the CR, which a line under way may still lack
	} else if !ended {
		n-- // room for the CR still to come
	}
	var why string
	var status int
	switch {
	case s.lineNo == 0:
		if s.lim.RequestLine > 0 && n > s.lim.RequestLine {
			why, status = "request line longer than the limit", 414
		}
	case ended && n == 0:
		// The empty line that ends the head.
	case s.lim.FieldSize > 0 && n > s.lim.FieldSize:
		why, status = "header field longer than the limit", 431
	case ended && s.lim.Fields > 0 && s.lineNo > s.lim.Fields:
		why, status = "more header fields than the limit", 400
	}
	if why == "" {
		return false
	}
	s.heads = append(s.heads, head{refuse: why, status: status})
	s.stop(errors.New("framing: " + why))
	return true
}

// stop stops the scanner with the reason err.
func (s *scanner) stop(err error) {
	s.state = stStopped
	s.err = err
	s.buf = nil
}

// scan consumes p, the next bytes read from the connection.
func (s *scanner) scan(p []byte) {
	for len(p) > 0 && s.state != stStopped {
		switch s.state {
		case stHead:
			p = s.scanHead(p)
		case stBody:
			if p = s.pass(p); s.remain == 0 {
				s.state = stHead
			}
		case stChunkSize:
			p = s.scanChunkSize(p)
		case stChunkData:
			if p = s.pass(p); s.remain == 0 {
				s.state, s.crlf = stChunkEnd, 0
			}
		case stChunkEnd:
			if p[0] != "\r\n"[s.crlf] {
				s.stop(errors.New("framing: chunk data not followed by CRLF"))
				return
			}
			p = p[1:]
			if s.crlf++; s.crlf == 2 {
				s.state = stChunkSize
			}
		case stTrailer:
			p = s.scanTrailer(p)
		}
	}
}

// pass passes over up to s.remain bytes of a body or a chunk and returns
// the rest of p.
func (s *scanner) pass(p []byte) []byte {
	n := min(uint64(len(p)), s.remain)
	s.remain -= n
	return p[n:]
}

// scanHead reads head bytes from p and returns the rest.
func (s *scanner) scanHead(p []byte) []byte {
	// net/http skips up to four CR or LF bytes before the head that
	// follows a POST (RFC 9112 §2.2 tolerance for old clients).
	for s.skip > 0 && len(s.buf) == 0 && len(p) > 0 && (p[0] == '\r' || p[0] == '\n') {
		s.skip--
		p = p[1:]
	}
	if len(p) == 0 {
		return p
	}
	s.skip = 0
	for off := 0; ; {
		i := bytes.IndexByte(p[off:], '\n')
		if i < 0 {
			s.line += len(p) - off
			if s.overLimit(s.line, false) {
				return nil
			}
			break
		}
		i += off
		// The head ends at its first empty line (an empty first line
		// is refused by parseHead, as by net/http).
		n := s.line + i - off // the line's length before its LF
		s.line, off = 0, i+1
		if s.overLimit(n, true) {
			return nil
		}
		s.lineNo++
		if n == 0 || n == 1 && byteAt(s.buf, p, len(s.buf)+i-1) == '\r' {
			if len(s.buf)+i+1 > s.maxHead {
				s.stop(errHeadTooLong)
				return nil
			}
			s.buf = append(s.buf, p[:i+1]...)
			s.endHead()
			return p[i+1:]
		}
	}
	if len(s.buf)+len(p) > s.maxHead {
		s.stop(errHeadTooLong)
		return nil
	}
	s.buf = append(s.buf, p...)
	return nil
}

var errHeadTooLong = errors.New("framing: request head longer than the server reads")

// byteAt returns the byte at index i of a followed by b.
func byteAt(a, b []byte, i int) byte {
	if i < len(a) {
		return a[i]
	}
	return b[i-len(a)]
}

// endHead queues the head in s.buf and sets up its body.
func (s *scanner) endHead() {
	h, chunked, length := parseHead(s.buf)
	s.buf = s.buf[:0]
	s.lineNo = 0
	if cap(s.buf) > 64<<10 {
		s.buf = nil // a rare long head does not stay with the connection
	}
	if len(s.heads) >= maxQueue {
		s.stop(errors.New("framing: too many requests read ahead"))
		return
	}
	s.heads = append(s.heads, h)
	if h.refuse != "" {
		s.stop(errors.New("framing: " + h.refuse))
		return
	}
	if h.method == "POST" {
		s.skip = 4
	}
	switch {
	case chunked:
		s.state, s.excess = stChunkSize, 0
	case length > 0:
		s.state, s.remain = stBody, length
	default:
		s.state = stHead
	}
}

// scanChunkSize reads a chunk-size line from p and returns the rest.
func (s *scanner) scanChunkSize(p []byte) []byte {
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		if len(s.buf)+len(p) >= bufSize {
			s.stop(errors.New("framing: chunk-size line too long"))
			return nil
		}
		s.buf = append(s.buf, p...)
		return nil
	}
	if len(s.buf)+i+1 > bufSize {
		s.stop(errors.New("framing: chunk-size line too long"))
		return nil
	}
	s.buf = append(s.buf, p[:i+1]...)
	n, err := parseChunkSize(s.buf, &s.excess)
	s.buf = s.buf[:0]
	if err != nil {
		s.stop(err)
		return nil
	}
	if n == 0 {
		s.state = stTrailer
	} else {
		s.state, s.remain = stChunkData, n
	}
	return p[i+1:]
}

// parseChunkSize parses a chunk-size line with its CRLF as net/http does,
// counting its overhead into excess.
func parseChunkSize(line []byte, excess *int64) (uint64, error) {
	if len(line) < 2 || bytes.IndexByte(line, '\r') != len(line)-2 {
		return 0, errors.New("framing: chunk-size line not ended by one CRLF")
	}
	line = line[:len(line)-2]
	*excess += int64(len(line)) + 2
	line = bytes.TrimRight(line, " \t")
	line, _, _ = bytes.Cut(line, []byte(";"))
	if len(line) == 0 || len(line) > 16 {
		return 0, errors.New("framing: bad chunk size")
	}
	var n uint64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, errors.New("framing: bad chunk size")
		}
		n = n<<4 | uint64(c)
	}
	// The same arithmetic as net/http, wrapping included.
	*excess -= 16 + (2 * int64(n))
	*excess = max(*excess, 0)
	if *excess > maxChunkExcess {
		return 0, errors.New("framing: chunked body with too much overhead")
	}
	return n, nil
}

// scanTrailer reads the trailer section after the last chunk from p and
// returns the rest. net/http takes a leading CRLF as an empty trailer and
// otherwise wants the section's CRLFCRLF within its 4 KiB buffer; the
// scanner accepts only fields ended by CRLF, so that the first CRLFCRLF
// is the end net/http finds.
func (s *scanner) scanTrailer(p []byte) []byte {
	for i, c := range p {
		s.buf = append(s.buf, c)
		t := s.buf
		if c == '\n' && (len(t) == 2 && t[0] == '\r' || bytes.HasSuffix(t, []byte("\r\n\r\n"))) {
			s.buf = s.buf[:0]
			if len(t) > 2 {
				if why := checkFields(t[:len(t)-2], nil); why != "" {
					s.stop(errors.New("framing: trailer: " + why))
					return nil
				}
			}
			s.state = stHead
			return p[i+1:]
		}
		if len(t) >= bufSize {
			s.stop(errors.New("framing: trailer section too long"))
			return nil
		}
	}
	return nil
}

// parseHead parses a request head ending with its empty line. It returns
// the head, and the body's framing when the head is not refused.
func parseHead(b []byte) (h head, chunked bool, length uint64) {
	reqLine, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok || len(reqLine) == 0 || reqLine[len(reqLine)-1] != '\r' {
		h.refuse = "request line not ended by CRLF"
		return
	}
	reqLine = reqLine[:len(reqLine)-1]
	method, rest1, ok1 := strings.Cut(string(reqLine), " ")
	target, proto, ok2 := strings.Cut(rest1, " ")
	h.method, h.target = method, target
	if !ok1 || !ok2 || !httpguts.ValidHeaderFieldName(method) || target == "" || strings.ContainsAny(target, "\r\x00") {
		h.refuse = "malformed request line"
		return
	}
	major, minor, ok := parseVersion(proto)
	if !ok || major != 1 {
		h.refuse = "not an HTTP/1.x request"
		return
	}
	// rest is the field lines and the empty line that ends the head.
	if !bytes.HasSuffix(rest, []byte("\r\n")) {
		h.refuse = "head not ended by CRLF"
		return
	}
	rest = rest[:len(rest)-2]
	var cls, tes []string
	why := checkFields(rest, func(name, value []byte) {
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			cls = append(cls, string(bytes.Trim(value, " \t")))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			tes = append(tes, string(bytes.Trim(value, " \t")))
		}
	})
	if why != "" {
		h.refuse = why
		return
	}
	if len(tes) > 0 {
		switch {
		case minor == 0:
			// net/http ignores it, a proxy before it may not (RFC 9112
			// §6.1: the framing is faulty).
			h.refuse = "Transfer-Encoding in an HTTP/1.0 request"
		case len(cls) > 0:
			h.refuse = "Content-Length with Transfer-Encoding"
		case len(tes) > 1:
			h.refuse = "repeated Transfer-Encoding"
		case !strings.EqualFold(tes[0], "chunked"):
			h.refuse = "transfer coding other than chunked"
		}
		return h, h.refuse == "", 0
	}
	if len(cls) > 0 {
		for _, v := range cls[1:] {
			if v != cls[0] {
				h.refuse = "differing Content-Length values"
				return
			}
		}
		n, err := strconv.ParseUint(cls[0], 10, 63)
		if err != nil || cls[0][0] == '+' {
			h.refuse = "malformed Content-Length"
			return
		}
		return h, false, n
	}
	return h, false, 0
}

// checkFields checks header or trailer field lines, each ended by CRLF
// (the empty line that ends the section excluded), and calls each, if not
// nil, with each field's name and value: a token name, a colon, and a
// value of visible characters, spaces and tabs. A line folded onto the
// previous one (obs-fold) is refused: net/http joins it, a proxy before it
// may not. It returns why the fields are refused, or "".
func checkFields(b []byte, each func(name, value []byte)) string {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 1 || b[i-1] != '\r' {
			return "field line not ended by CRLF"
		}
		line := b[:i-1]
		b = b[i+1:]
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			return "obsolete line folding"
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !isToken(name) {
			return "malformed field line"
		}
		// httpguts.ValidHeaderFieldValue on bytes, without a copy.
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return "control character in a field value"
			}
		}
		if each != nil {
			each(name, value)
		}
	}
	return ""
}

// isToken is httpguts.ValidHeaderFieldName on bytes, without a copy.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !httpguts.IsTokenRune(rune(c)) {
			return false
		}
	}
	return true
}

// parseVersion parses an HTTP version as net/http's ParseHTTPVersion does.
func parseVersion(v string) (major, minor int, ok bool) {
	if len(v) != len("HTTP/1.1") || !strings.HasPrefix(v, "HTTP/") || v[6] != '.' {
		return 0, 0, false
	}
	if v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}
