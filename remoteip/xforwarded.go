package remoteip

import (
	"net/http"
	"strings"
)

// maxHops bounds how many hops of a forwarding header are walked from the
// right: a chain of more trusted proxies than this is taken as a header
// that names no client.
const maxHops = 64

// A hop is what a forwarding header says about the request as one proxy
// received it: from whom (the client, if every proxy after it is trusted),
// with which scheme, for which host. Proto and host are as the header wrote
// them, unchecked.
type hop struct {
	from  node
	proto string
	host  string
}

// fromXForwarded reads X-Forwarded-For, X-Forwarded-Proto and
// X-Forwarded-Host. X-Forwarded-For is walked from the right, past the
// trusted addresses, to the first that is not trusted (or the left-most
// when all are); Proto and Host are taken at the same position counted from
// the right, since each proxy that appends to them appends to all three; a
// proxy that replaces them leaves fewer values, and then the left-most
// value, the one set nearest the client by a trusted proxy, is used.
// ok is false when X-Forwarded-For is absent or empty: then the peer is the
// client and hp.from is unset, but Proto and Host are read as the peer's own.
func (ri *RemoteIP) fromXForwarded(h http.Header) (hp hop, ok bool) {
	var pos int // the chosen hop's position from the right
	hp.from, pos, ok = ri.walkList(h.Values("X-Forwarded-For"))
	hp.proto = atFromRight(h.Values("X-Forwarded-Proto"), pos)
	hp.host = atFromRight(h.Values("X-Forwarded-Host"), pos)
	return hp, ok
}

// walkList walks a comma-separated list of nodes, given as the values of
// its header lines, from the right, and returns the right-most node that
// is not a trusted address (the left-most when all are), with its position
// from the right. found is false when the list has no element.
func (ri *RemoteIP) walkList(lines []string) (n node, pos int, found bool) {
	pos = -1
	for i := len(lines) - 1; i >= 0; i-- {
		s := lines[i]
		for s != "" {
			item := s
			if j := strings.LastIndexByte(s, ','); j >= 0 {
				item, s = s[j+1:], s[:j]
			} else {
				s = ""
			}
			if item = strings.Trim(item, " \t"); item == "" {
				continue // empty list elements are allowed and mean nothing
			}
			pos++
			if pos == maxHops {
				return node{name: "unknown"}, pos, true
			}
			n = parseNode(item)
			if !ri.trustedNode(n) {
				return n, pos, true
			}
		}
	}
	if pos < 0 {
		return node{}, 0, false
	}
	return n, pos, true
}

// atFromRight returns the value at position pos from the right of the
// comma-separated list made of lines, or its left-most value when the list
// is shorter, or "" when it is empty.
func atFromRight(lines []string, pos int) string {
	var vals []string
	for _, l := range lines {
		for v := range strings.SplitSeq(l, ",") {
			if v = strings.Trim(v, " \t"); v != "" {
				vals = append(vals, v)
			}
		}
	}
	switch {
	case len(vals) == 0:
		return ""
	case pos < len(vals):
		return vals[len(vals)-1-pos]
	default:
		return vals[0]
	}
}
