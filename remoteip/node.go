package remoteip

import (
	"net/netip"
	"strconv"
	"strings"
)

// A node is one hop's address as a forwarding header gives it: an IP
// address with an optional port, or something that is not an address (an
// RFC 7239 "unknown" or obfuscated identifier, or garbage).
type node struct {
	ip   netip.Addr // valid only for an IP address
	port uint16     // 0 when absent or obfuscated
	name string     // for a node that is not an address: "unknown" or "_obfuscated"
}

// remoteAddr is the node as http.Request.RemoteAddr: "ip:port", with port
// 0 when the header gave none, or "name:0" for a node that is no address.
func (n node) remoteAddr() string {
	if n.ip.IsValid() {
		return netip.AddrPortFrom(n.ip, n.port).String()
	}
	return n.name + ":0"
}

// parseNode parses an RFC 7239 node (IPv4, "[IPv6]", each with an optional
// ":port", "unknown", or an obfuscated "_identifier" with an optional
// obfuscated port), which also covers what X-Forwarded-For carries in
// practice (a bare IPv6 address is accepted too). Anything else is the
// node "unknown": a hop that cannot be trusted and names no client. Zones
// ("fe80::1%eth0") mean nothing to this server and are refused.
func parseNode(s string) node {
	unknown := node{name: "unknown"}
	if s == "" {
		return unknown
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return unknown
		}
		return node{ip: a.Unmap()}
	}
	host, port := s, ""
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return unknown
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			if port[0] != ':' {
				return unknown
			}
			port = port[1:]
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return unknown
		}
		p, ok := parsePort(port)
		if !ok {
			return unknown
		}
		return node{ip: a.Unmap(), port: p}
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
		if port == "" {
			return unknown
		}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Is4() {
			return unknown // an IPv6 address with a port needs brackets
		}
		p, ok := parsePort(port)
		if !ok {
			return unknown
		}
		return node{ip: a, port: p}
	}
	if host == "unknown" || isObfuscated(host) {
		if port != "" && !isObfuscated(port) {
			if _, ok := parsePort(port); !ok {
				return unknown
			}
		}
		return node{name: host}
	}
	return unknown
}

// parsePort parses a decimal port; "" is port 0. An obfuscated port is not
// a port: callers that accept one check for it first.
func parsePort(s string) (uint16, bool) {
	if s == "" {
		return 0, true
	}
	if isObfuscated(s) {
		return 0, true
	}
	if len(s) > 5 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err == nil
}

// isObfuscated reports whether s is an RFC 7239 obfuscated identifier:
// "_" followed by one or more ALPHA, DIGIT, ".", "_" or "-".
func isObfuscated(s string) bool {
	if len(s) < 2 || s[0] != '_' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
