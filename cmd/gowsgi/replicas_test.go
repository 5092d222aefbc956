// Replicas of the command behind a real HAProxy: Digest nonces and Kerberos
// session cookies shared through -auth-secret-file and
// -kerberos-session-key-file, and a rolling restart with -shutdown-delay.

package main

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	krbconfig "github.com/jcmturner/gokrb5/v8/config"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// replicaApp answers "REPLICA|REMOTE_USER|AUTH_TYPE", REPLICA being the
// replica's -environ replica=..., also sent as the X-Replica header.
const replicaApp = `
def application(environ, start_response):
    replica = environ.get("replica", "?")
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Replica", replica)])
    body = "%s|%s|%s" % (replica, environ.get("REMOTE_USER", ""), environ.get("AUTH_TYPE", ""))
    return [body.encode()]
`

// replicas are three (or more) children of the command with the same
// arguments but their -environ replica=rN and -status-addr, behind HAProxy
// health-checking their /readyz.
type replicas struct {
	args     [][]string // each one's full arguments
	addrs    []string
	children []*child
	haproxy  *testenv.HAProxy
}

// startReplicas starts n replicas of the command running script with args
// and HAProxy in front of them, and waits until HAProxy has them all up.
func startReplicas(t *testing.T, n int, script string, args ...string) *replicas {
	t.Helper()
	rs := &replicas{}
	var backends []testenv.HAProxyBackend
	for i := range n {
		addr, status := testenv.Addr(testenv.FreePort(t)), testenv.Addr(testenv.FreePort(t))
		a := append([]string{"-python", testenv.Python(t), "-environ", "replica=r" + strconv.Itoa(i),
			"-status-addr", status, "-shutdown-delay", "2s"}, args...)
		a = append(a, script)
		rs.args = append(rs.args, a)
		rs.addrs = append(rs.addrs, addr)
		rs.children = append(rs.children, startChild(t, childOpts{addr: addr}, a...))
		backends = append(backends, testenv.HAProxyBackend{Addr: addr, CheckAddr: status})
	}
	rs.haproxy = testenv.StartHAProxyBalancer(t, testenv.HAProxyConfig{Backends: backends})
	for i := range n {
		rs.haproxy.WaitState(t, i, "UP", 30*time.Second)
	}
	return rs
}

// restart stops replica i with SIGTERM as an init system would, checks
// that HAProxy takes it out (its /readyz fails during -shutdown-delay)
// and that it exits with status 0, starts it again at the same addresses
// and waits until HAProxy has it up.
func (rs *replicas) restart(t *testing.T, i int) {
	t.Helper()
	c := rs.children[i]
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rs.haproxy.WaitState(t, i, "DOWN", 30*time.Second)
	select {
	case <-c.exited:
		if !c.cmd.ProcessState.Success() {
			t.Fatalf("replica %d: exit %v on SIGTERM\n%s", i, c.cmd.ProcessState, c.output())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("replica %d still running 30s after SIGTERM", i)
	}
	rs.children[i] = startChild(t, childOpts{addr: rs.addrs[i]}, rs.args[i]...)
	rs.haproxy.WaitState(t, i, "UP", 30*time.Second)
}

func writeSecret(t *testing.T, name string) string {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplicasDigest logs in with Digest through HAProxy to three replicas
// sharing -auth-secret-file, with Python's requests and with curl: 300
// requests each reach every replica, and the client is challenged once.
func TestReplicasDigest(t *testing.T) {
	testenv.PythonModule(t, "/usr/bin/python3", "requests", "python3-requests")
	curl := testenv.LookPath(t, "curl", "curl")
	htdigest := testenv.WriteFile(t, "", "htdigest",
		fmt.Sprintf("alice:Trac:%x\n", md5.Sum([]byte("alice:Trac:alicepw"))))
	script := testenv.WriteFile(t, "", "app.wsgi", replicaApp)
	rs := startReplicas(t, 3, script, "-htdigest", htdigest, "-realm", "Trac",
		"-auth-secret-file", writeSecret(t, "digest.key"))
	url := "http://" + rs.haproxy.Addr + "/trac/login"

	t.Run("requests", func(t *testing.T) {
		out, err := exec.Command("/usr/bin/python3", "-c", `
import collections, sys, requests
from requests.auth import HTTPDigestAuth
s = requests.Session()
s.auth = HTTPDigestAuth("alice", "alicepw")
n401, bad, seen = 0, 0, collections.Counter()
for i in range(300):
    r = s.get(sys.argv[1])
    n401 += sum(1 for h in r.history if h.status_code == 401) + (r.status_code == 401)
    if r.status_code != 200 or r.text != r.headers.get("X-Replica", "") + "|alice|Digest":
        bad += 1
    seen[r.headers.get("X-Replica")] += 1
print(n401, bad, " ".join("%s=%d" % kv for kv in sorted(seen.items())))
`, url).CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		t.Logf("requests: 401s, failures, replicas: %s", out)
		// Round-robin gives 100 each while HAProxy has them all up.
		if got := strings.TrimSpace(string(out)); !regexp.MustCompile(`^1 0 r0=\d+ r1=\d+ r2=\d+$`).MatchString(got) {
			t.Errorf("got %q, want 1 401, 0 failed, every replica reached", got)
		}
	})
	t.Run("curl", func(t *testing.T) {
		// curl sends each URL of a run without credentials first, even
		// when it holds a nonce from the one before (it does the same
		// against a single server): one 401 per URL. Round-robin then
		// sends the answer to the next replica, which must accept a nonce
		// another replica issued: a second 401 for a URL would show it
		// does not.
		cmd := exec.Command(curl, "-sS", "-v", "--noproxy", "*", "--digest", "-u", "alice:alicepw",
			"-o", "/dev/null", "-w", "%{http_code} %header{x-replica}\n", url+"?[1-300]")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		n401 := len(regexp.MustCompile(`(?m)^< HTTP/1\.1 401`).FindAllString(stderr.String(), -1))
		seen := map[string]int{}
		for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			seen[l]++
		}
		t.Logf("curl: %d 401s, final statuses and replicas %v", n401, seen)
		if n401 != 300 {
			t.Errorf("%d 401 answers for 300 URLs, want 300 (one per URL)", n401)
		}
		n := 0
		for _, r := range []string{"200 r0", "200 r1", "200 r2"} {
			n += seen[r]
			if seen[r] == 0 {
				t.Errorf("no final 200 from %s", r[4:])
			}
		}
		if n != 300 {
			t.Errorf("final statuses and replicas %v, want 300 times 200", seen)
		}
	})
}

// TestReplicasKerberosSession logs in with Negotiate through HAProxy to
// one of three replicas sharing -kerberos-session-key-file, then sends only
// the session cookie: every replica accepts it.
func TestReplicasKerberosSession(t *testing.T) {
	kdc := testenv.StartKDC(t)
	kdc.AddUser(t, "alice", "alicepw")
	keytab := kdc.AddService(t, "HTTP/localhost")
	conf, err := krbconfig.Load(kdc.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	script := testenv.WriteFile(t, "", "app.wsgi", replicaApp)
	rs := startReplicas(t, 3, script, "-keytab", keytab, "-spn", "HTTP/localhost@GOWSGI.TEST",
		"-krb5-conf", kdc.Krb5Conf, "-kerberos-session", "1h",
		"-kerberos-session-key-file", writeSecret(t, "session.key"))
	url := "http://" + rs.haproxy.Addr + "/"

	req, _ := http.NewRequest("GET", url, nil)
	if err := negotiateAs(conf, "alice", "alicepw")(req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != 200 || len(cookies) != 1 {
		t.Fatalf("Negotiate: %d %q, cookies %v", resp.StatusCode, body, cookies)
	}
	issuer := resp.Header.Get("X-Replica")
	seen := map[string]int{}
	for range 6 {
		req, _ := http.NewRequest("GET", url, nil)
		req.AddCookie(cookies[0])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := resp.Header.Get("X-Replica")
		if resp.StatusCode != 200 || string(body) != r+"|alice@GOWSGI.TEST|Negotiate" {
			t.Errorf("cookie issued by %s, sent to %s: %d %q", issuer, r, resp.StatusCode, body)
		}
		seen[r]++
	}
	if len(seen) != 3 {
		t.Errorf("the cookie reached replicas %v, want all three", seen)
	}

	// A replica without the shared key file signs with a key of its own:
	// the cookie is refused there.
	alone := startChild(t, childOpts{}, "-python", testenv.Python(t), "-keytab", keytab,
		"-spn", "HTTP/localhost@GOWSGI.TEST", "-krb5-conf", kdc.Krb5Conf, "-kerberos-session", "1h", script)
	req, _ = http.NewRequest("GET", "http://"+alone.addr+"/", nil)
	req.AddCookie(cookies[0])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("a replica with its own key answered the cookie with %d, want 401", resp.StatusCode)
	}
}

// TestReplicasRollingRestart restarts three replicas behind HAProxy one at
// a time (SIGTERM, -shutdown-delay while HAProxy's /readyz check takes it
// out, start again, wait until HAProxy has it up) while clients send GETs
// through HAProxy: none fails, and every body is whole.
func TestReplicasRollingRestart(t *testing.T) {
	script := testenv.WriteFile(t, "", "app.wsgi", replicaApp)
	rs := startReplicas(t, 3, script)
	url := "http://" + rs.haproxy.Addr + "/"
	done := make(chan struct{})
	var (
		mu       sync.Mutex
		sent     int
		failures []string
		wg       sync.WaitGroup
	)
	body := regexp.MustCompile(`^r[0-2]\|\|$`)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			// Bounded: at most 100000 requests, or until the restarts end.
			for range 100000 {
				select {
				case <-done:
					return
				default:
				}
				fail := ""
				resp, err := cl.Get(url)
				if err != nil {
					fail = err.Error()
				} else {
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != 200 || !body.Match(b) {
						fail = fmt.Sprintf("%d %q %v", resp.StatusCode, b, err)
					}
				}
				mu.Lock()
				sent++
				if fail != "" {
					failures = append(failures, fail)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range rs.children {
		rs.restart(t, i)
	}
	close(done)
	wg.Wait()
	t.Logf("%d requests during the rolling restart, %d failed", sent, len(failures))
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed, first: %s\nhaproxy:\n%s", len(failures), sent, failures[0], rs.haproxy.Output())
	}
	if sent == 0 {
		t.Error("no request was sent")
	}
}
