package testenv

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ClientPorts returns the local ports of this process's established TCP
// connections to port remotePort (IPv4 and IPv6), read from /proc.
//
// A server's view of its clients lags behind theirs: PostgreSQL lists a
// backend in pg_stat_activity until the backend process exits, after its
// client closed the connection. Counting only the backends whose client
// port is still open here counts the connections the client holds, exactly
// as a cap on them means: read the server's list first, then ClientPorts.
func ClientPorts(remotePort int) (map[int]bool, error) {
	inodes := map[string]bool{}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	return established(remotePort, inodes)
}

// EstablishedTo returns the local ports of every established TCP
// connection to port remotePort in this network namespace, whichever
// process holds it, read from /proc: the connections that child processes
// (Python workers) hold to a server the test started. The same lag as for
// [ClientPorts] applies to the server's view. The kernel lists the table a
// page at a time: a connection that closed while the list was read and
// one that opened meanwhile may both be in it.
func EstablishedTo(remotePort int) (map[int]bool, error) {
	return established(remotePort, nil)
}

// established lists the local ports of established connections to
// remotePort whose socket inode is in inodes (nil: any).
func established(remotePort int, inodes map[string]bool) (map[int]bool, error) {
	ports := map[int]bool{}
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, fmt.Errorf("testenv: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "01" || inodes != nil && !inodes[fields[9]] { // 01: ESTABLISHED
				continue
			}
			local, remote := hexPort(fields[1]), hexPort(fields[2])
			if remote == remotePort && local > 0 {
				ports[local] = true
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("testenv: %s: %w", table, err)
		}
	}
	return ports, nil
}

// hexPort returns the port of a /proc/net/tcp address ("0100007F:1538"),
// or -1.
func hexPort(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return -1
	}
	p, err := strconv.ParseUint(addr[i+1:], 16, 16)
	if err != nil {
		return -1
	}
	return int(p)
}
