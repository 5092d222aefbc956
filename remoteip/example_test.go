package remoteip_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/gowsgi/gowsgi/remoteip"
)

// Wrap believes X-Forwarded-* from the proxy at 10.0.0.2 only.
func ExampleRemoteIP_Wrap() {
	ri, err := remoteip.New(remoteip.Config{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/32")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := ri.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.RemoteAddr, remoteip.Scheme(r), r.Host, "via", remoteip.Peer(r))
	}))
	for _, peer := range []string{"10.0.0.2:41000", "198.51.100.7:52000"} {
		r := httptest.NewRequest("GET", "http://app.internal/", nil)
		r.RemoteAddr = peer
		// The client wrote the first address; the proxy appended the second.
		r.Header.Set("X-Forwarded-For", "127.0.0.1, 203.0.113.5")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "www.example.org")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	// Output:
	// 203.0.113.5:0 https www.example.org via 10.0.0.2:41000
	// 198.51.100.7:52000 http app.internal via 198.51.100.7:52000
}

// Listener reads HAProxy's PROXY protocol from trusted peers: here the
// test plays HAProxy's send-proxy. Package framing's guard and TLS go
// around it.
func ExampleRemoteIP_Listener() {
	ri, err := remoteip.New(remoteip.Config{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		ProxyProtocol:  remoteip.ProxyProtocolRequired,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.RemoteAddr)
	}))
	srv.Listener = ri.Listener(srv.Listener)
	srv.Start()
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Fprint(c, "PROXY TCP4 192.0.2.10 127.0.0.1 40000 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: 192.0.2.10:40000
}
