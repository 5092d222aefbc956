package testenv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SlapdConfig describes a test directory served by [StartSlapd].
type SlapdConfig struct {
	// Suffix is the naming context. Empty means "dc=example,dc=com".
	Suffix string
	// RootPW is the password of the root DN "cn=admin,<Suffix>". Empty
	// means "secret".
	RootPW string
	// Schemas are extra schema files included after Debian's core, cosine,
	// inetorgperson and nis schemas. Nil means none.
	Schemas []string
	// LDIF are files of entries added with ldapadd once slapd listens, in
	// order. Nil means an empty directory.
	LDIF []string
	// Access are slapd.conf access lines for the database. Nil means
	// [DefaultSlapdAccess].
	Access []string
	// TLS makes slapd also serve ldaps:// ([Slapd.LDAPSURL]) and StartTLS
	// with a certificate for 127.0.0.1 and localhost signed by a fresh test
	// CA ([Slapd.CAFile]). False means plain LDAP only.
	TLS bool
}

// DefaultSlapdAccess is the access control of a test directory when
// [SlapdConfig.Access] is nil: passwords are only usable to bind, a subtree
// "DC=corp,<suffix>" shaped like Active Directory is readable only by bound
// users (AD refuses anonymous searches), everything else is world-readable.
// "%s" stands for the suffix.
var DefaultSlapdAccess = []string{
	`access to attrs=userPassword by anonymous auth by * none`,
	`access to dn.subtree="DC=corp,%s" by users read by * none`,
	`access to * by * read`,
}

// Slapd is a running OpenLDAP server started by [StartSlapd]. Its database
// lives in a temporary directory, so it survives [Slapd.Stop] and
// [Slapd.Start] on the same port.
type Slapd struct {
	// URL is "ldap://127.0.0.1:<Port>".
	URL string
	// Port is the TCP port slapd listens on, on 127.0.0.1.
	Port int
	// Suffix, RootDN and RootPW are the naming context and its root
	// account.
	Suffix, RootDN, RootPW string
	// Dir holds slapd.conf and the database.
	Dir string
	// LDAPSURL is "ldaps://127.0.0.1:<port>" and CAFile the PEM file of the
	// CA that signed slapd's certificate, when [SlapdConfig.TLS] is set.
	LDAPSURL, CAFile string

	bin  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *bytes.Buffer
}

// StartSlapd starts Debian's slapd as a child of the test on a free loopback
// port, with the configuration cfg, loads cfg.LDIF with ldapadd and stops
// slapd when the test ends. It skips the test (fails it under CI) when slapd
// or ldapadd is missing.
func StartSlapd(t testing.TB, cfg SlapdConfig) *Slapd {
	t.Helper()
	bin := LookPath(t, "slapd", "slapd")
	ldapadd := LookPath(t, "ldapadd", "ldap-utils")
	s := &Slapd{
		Suffix: cfg.Suffix,
		RootPW: cfg.RootPW,
		Dir:    t.TempDir(),
		bin:    bin,
	}
	if s.Suffix == "" {
		s.Suffix = "dc=example,dc=com"
	}
	if s.RootPW == "" {
		s.RootPW = "secret"
	}
	s.RootDN = "cn=admin," + s.Suffix
	if err := os.Mkdir(filepath.Join(s.Dir, "db"), 0o700); err != nil {
		t.Fatalf("testenv: slapd: %v", err)
	}
	conf := SlapdConf(s.Dir, s.Suffix, s.RootPW, cfg.Schemas, cfg.Access)
	if cfg.TLS {
		ca, cert, key := testCerts(t, s.Dir)
		s.CAFile = ca
		conf = fmt.Sprintf("TLSCertificateFile %s\nTLSCertificateKeyFile %s\nTLSCACertificateFile %s\n", cert, key, ca) + conf
		s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", FreePort(t))
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "slapd.conf"), []byte(conf), 0o600); err != nil {
		t.Fatalf("testenv: slapd: %v", err)
	}
	s.Port = FreePort(t)
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", s.Port)
	t.Cleanup(func() { s.kill() })
	s.Start(t)
	for _, f := range cfg.LDIF {
		out, err := exec.Command(ldapadd, "-x", "-H", s.URL, "-D", s.RootDN, "-w", s.RootPW, "-f", f).CombinedOutput()
		if err != nil {
			t.Fatalf("testenv: ldapadd %s: %v\n%s", f, err, out)
		}
	}
	return s
}

// SlapdConf returns a slapd.conf serving suffix from an mdb database in
// dir/db, with root DN "cn=admin,<suffix>" and password rootPW, Debian's
// core, cosine, inetorgperson and nis schemas plus schemas, and the access
// lines (nil means [DefaultSlapdAccess]). auth/ldapauth/testdata/slapd-fixture.sh
// writes the same file for shell scripts (benchmarks against Apache).
func SlapdConf(dir, suffix, rootPW string, schemas, access []string) string {
	var b strings.Builder
	for _, sc := range []string{"core", "cosine", "inetorgperson", "nis"} {
		fmt.Fprintf(&b, "include /etc/ldap/schema/%s.schema\n", sc)
	}
	for _, sc := range schemas {
		abs, err := filepath.Abs(sc)
		if err != nil {
			abs = sc
		}
		fmt.Fprintf(&b, "include %s\n", abs)
	}
	fmt.Fprintf(&b, "pidfile %s/slapd.pid\nargsfile %s/slapd.args\n", dir, dir)
	b.WriteString("modulepath /usr/lib/ldap\nmoduleload back_mdb\n")
	b.WriteString("sizelimit 500\ntimelimit 30\n")
	b.WriteString("database mdb\nmaxsize 67108864\n")
	fmt.Fprintf(&b, "suffix %q\nrootdn %q\nrootpw %s\ndirectory %s/db\n", suffix, "cn=admin,"+suffix, rootPW, dir)
	b.WriteString("index objectClass eq\nindex uid,cn,member,uniqueMember,memberUid eq\n")
	if access == nil {
		access = DefaultSlapdAccess
	}
	for _, a := range access {
		if strings.Contains(a, "%s") {
			a = fmt.Sprintf(a, suffix)
		}
		b.WriteString(a + "\n")
	}
	return b.String()
}

// Start starts slapd again after [Slapd.Stop], on the same port with the same
// database, and waits until it accepts connections. StartSlapd calls it
// once.
func (s *Slapd) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		t.Fatalf("testenv: slapd already running")
	}
	// -d 0: stay in the foreground (a child of the test) with no debug
	// output; errors still reach stderr.
	listen := s.URL + "/"
	if s.LDAPSURL != "" {
		listen += " " + s.LDAPSURL + "/"
	}
	cmd := exec.Command(s.bin, "-f", filepath.Join(s.Dir, "slapd.conf"), "-h", listen, "-d", "0")
	s.log = new(bytes.Buffer)
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: starting slapd: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(15 * time.Second)
	for !dialOK(Addr(s.Port)) {
		select {
		case <-done:
			s.cmd = nil
			t.Fatalf("testenv: slapd exited at start: %s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: slapd does not listen on %s: %s", s.URL, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops slapd (SIGTERM, then SIGKILL after 10 s) and waits for it to
// exit. Its port then refuses connections until [Slapd.Start].
func (s *Slapd) Stop(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Pause freezes slapd (SIGSTOP) and waits until it is stopped: the kernel
// still accepts connections on its port but nothing answers, as with a hung
// server. [Slapd.Resume] undoes it.
func (s *Slapd) Pause(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
	stat := fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return // not Linux: the signal has to do
		}
		// "pid (comm) S ...": the state follows the last ')'.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't') {
			return
		}
	}
	t.Fatalf("testenv: slapd does not stop on SIGSTOP")
}

// Resume lets a slapd frozen by [Slapd.Pause] run again.
func (s *Slapd) Resume(t testing.TB) { s.signal(t, syscall.SIGCONT) }

func (s *Slapd) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		t.Fatalf("testenv: slapd is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("testenv: signalling slapd: %v", err)
	}
}

// LDAPAdd adds the entries of the LDIF text as the root DN.
func (s *Slapd) LDAPAdd(t testing.TB, ldif string) {
	t.Helper()
	ldapadd := LookPath(t, "ldapadd", "ldap-utils")
	cmd := exec.Command(ldapadd, "-x", "-H", s.URL, "-D", s.RootDN, "-w", s.RootPW)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: ldapadd: %v\n%s", err, out)
	}
}

func (s *Slapd) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// waitListening waits until addr accepts a connection, for up to 30 s,
// and fails t if the program called name exits first (done is closed) or
// the time is up; output is what it printed, for the message.
func waitListening(t testing.TB, name, addr string, done <-chan struct{}, output func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !dialOK(addr) {
		select {
		case <-done:
			t.Fatalf("testenv: %s exited at startup:\n%s", name, output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: %s does not listen on %s after 30s:\n%s", name, addr, output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dialOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// testCerts writes to dir a fresh CA (ca.pem) and a server certificate for
// 127.0.0.1 and localhost signed by it (cert.pem, key.pem), and returns the
// three paths.
func testCerts(t testing.TB, dir string) (ca, cert, key string) {
	t.Helper()
	fail := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("testenv: test certificates: %v", err)
		}
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	fail(err)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gowsgi test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	fail(err)
	caCert, err := x509.ParseCertificate(caDER)
	fail(err)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	fail(err)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	fail(err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	fail(err)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		fail(os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", srvDER), write("key.pem", "PRIVATE KEY", keyDER)
}
