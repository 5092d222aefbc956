package testenv

import (
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestUWSGI starts an instance, sends it a uwsgi request by hand, and
// kills it: its socket refuses connections afterwards.
func TestUWSGI(t *testing.T) {
	script := WriteFile(t, "", "app.py", `def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [environ['PATH_INFO'].encode()]
`)
	u := StartUWSGI(t, UWSGIConfig{Script: script})
	c, err := net.DialTimeout("tcp", u.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var vars []byte
	for _, kv := range [][2]string{{"REQUEST_METHOD", "GET"}, {"PATH_INFO", "/ping"}, {"SERVER_PROTOCOL", "HTTP/1.1"}} {
		for _, s := range kv {
			vars = binary.LittleEndian.AppendUint16(vars, uint16(len(s)))
			vars = append(vars, s...)
		}
	}
	pkt := append([]byte{0, 0, 0, 0}, vars...)
	binary.LittleEndian.PutUint16(pkt[1:], uint16(len(vars)))
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(resp), "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(string(resp), "\r\n\r\n/ping") {
		t.Fatalf("response %q, %v\n%s", resp, err, u.Log())
	}
	u.Kill()
	if c, err := net.DialTimeout("tcp", u.Addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the killed instance still accepts connections")
	}
}
