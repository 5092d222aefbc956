package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// KDC is a running MIT Kerberos KDC (Debian krb5-kdc) with its own realm in
// a temporary directory, listening on loopback over UDP and TCP. Start one
// with [StartKDC]; it is stopped when the test that started it ends.
type KDC struct {
	// Realm is the realm's name, GOWSGI.TEST.
	Realm string
	// Port is the UDP and TCP port the KDC listens on at 127.0.0.1.
	Port int
	// Dir is the temporary directory holding the database, the
	// configuration, the logs and any keytab or credential cache made by
	// the helpers.
	Dir string
	// Krb5Conf is the path of a client krb5.conf naming the realm, its KDC
	// and localhost as a host of the realm, with reverse DNS and host name
	// canonicalization off (so HTTP/localhost is the service name clients
	// ask for).
	Krb5Conf string
	// Log is the path of the KDC's log file.
	Log string

	kdcConf    string
	kadminPath string
	masterPass string
}

// KDCRealm is the realm every [StartKDC] creates.
const KDCRealm = "GOWSGI.TEST"

// Env returns the environment entries that point MIT Kerberos programs
// (kinit, curl's GSS-API, Python's kerberos module, kadmin.local) at this
// KDC, with the credential cache ccache (a path; "" leaves KRB5CCNAME unset).
func (k *KDC) Env(ccache string) []string {
	env := []string{
		"KRB5_CONFIG=" + k.Krb5Conf,
		"KRB5_KDC_PROFILE=" + k.kdcConf,
		"KRB5RCACHETYPE=none",
		"KRB5_TRACE=" + filepath.Join(k.Dir, "trace.log"),
	}
	if ccache != "" {
		env = append(env, "KRB5CCNAME=FILE:"+ccache)
	}
	return env
}

// StartKDC creates the realm GOWSGI.TEST in a temporary directory with
// kdb5_util, starts krb5kdc in the foreground on a free loopback port and
// stops it when t ends. It is skipped (failed under CI) when the MIT KDC is
// not installed.
func StartKDC(t testing.TB) *KDC {
	t.Helper()
	kdcBin := LookPath(t, "krb5kdc", "krb5-kdc")
	kdbUtil := LookPath(t, "kdb5_util", "krb5-kdc")
	kadmin := LookPath(t, "kadmin.local", "krb5-admin-server")
	dir := t.TempDir()
	port := FreePort(t)
	k := &KDC{
		Realm:      KDCRealm,
		Port:       port,
		Dir:        dir,
		Krb5Conf:   filepath.Join(dir, "krb5.conf"),
		Log:        filepath.Join(dir, "kdc.log"),
		kdcConf:    filepath.Join(dir, "kdc.conf"),
		kadminPath: kadmin,
		masterPass: "master-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	krb5conf := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	ignore_acceptor_hostname = false
	udp_preference_limit = 1
	default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
	default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
	permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96

[realms]
	%[1]s = {
		kdc = 127.0.0.1:%[2]d
		admin_server = 127.0.0.1:%[2]d
	}

[domain_realm]
	localhost = %[1]s
	.localhost = %[1]s
	127.0.0.1 = %[1]s
`, k.Realm, port)
	kdcconf := fmt.Sprintf(`[kdcdefaults]
	kdc_listen = 127.0.0.1:%[2]d
	kdc_tcp_listen = 127.0.0.1:%[2]d

[realms]
	%[1]s = {
		database_name = %[3]s/principal
		key_stash_file = %[3]s/stash
		acl_file = %[3]s/kadm5.acl
		max_life = 10h 0m 0s
		max_renewable_life = 1d 0h 0m 0s
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}

[logging]
	kdc = FILE:%[4]s
	default = FILE:%[4]s
`, k.Realm, port, dir, k.Log)
	for path, content := range map[string]string{k.Krb5Conf: krb5conf, k.kdcConf: kdcconf, filepath.Join(dir, "kadm5.acl"): ""} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatalf("testenv: writing %s: %v", path, err)
		}
	}
	k.run(t, kdbUtil, "-r", k.Realm, "create", "-s", "-P", k.masterPass)

	cmd := exec.Command(kdcBin, "-n", "-r", k.Realm)
	cmd.Env = append(os.Environ(), k.Env("")...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: starting krb5kdc: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(15 * time.Second)
	for !k.listening() {
		select {
		case <-done:
			log, _ := os.ReadFile(k.Log)
			t.Fatalf("testenv: krb5kdc exited: %s\n%s", out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: krb5kdc does not listen on %s", Addr(port))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return k
}

// listening reports whether the KDC accepts TCP connections yet.
func (k *KDC) listening() bool {
	c, err := net.DialTimeout("tcp", Addr(k.Port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// run runs a Kerberos administration program with the realm's environment
// and fails the test when it fails.
func (k *KDC) run(t testing.TB, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), k.Env("")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: %s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Kadmin runs one kadmin.local query ("addprinc -pw x alice", ...) against
// the realm's database and returns its output.
func (k *KDC) Kadmin(t testing.TB, query string) string {
	t.Helper()
	return k.run(t, k.kadminPath, "-r", k.Realm, "-q", query)
}

// AddUser creates the principal name@GOWSGI.TEST with password pass. Extra
// kadmin addprinc options (such as `-maxlife "3 seconds"`) go in opts.
func (k *KDC) AddUser(t testing.TB, name, pass string, opts ...string) {
	t.Helper()
	q := "addprinc -pw " + quoteKadmin(pass)
	for _, o := range opts {
		q += " " + o
	}
	k.Kadmin(t, q+" "+quoteKadmin(name))
}

// AddService creates the principal name (such as "HTTP/localhost") with a
// random key and writes its keys into a new keytab file, whose path it
// returns. Several names make one keytab holding all of them.
func (k *KDC) AddService(t testing.TB, names ...string) string {
	t.Helper()
	kt := filepath.Join(k.Dir, fmt.Sprintf("svc-%d.keytab", time.Now().UnixNano()))
	for _, n := range names {
		k.Kadmin(t, "addprinc -randkey "+quoteKadmin(n))
	}
	q := "ktadd -k " + quoteKadmin(kt)
	for _, n := range names {
		q += " " + quoteKadmin(n)
	}
	k.Kadmin(t, q)
	return kt
}

// Kinit runs MIT kinit for principal with password pass into a new
// credential cache in the realm's directory and returns the cache's path.
// Extra kinit arguments (such as "-l", "5s") go in args.
func (k *KDC) Kinit(t testing.TB, principal, pass string, args ...string) string {
	t.Helper()
	kinit := LookPath(t, "kinit", "krb5-user")
	cc := filepath.Join(k.Dir, fmt.Sprintf("cc-%d", time.Now().UnixNano()))
	cmd := exec.Command(kinit, append(args, principal)...)
	cmd.Env = append(os.Environ(), k.Env(cc)...)
	cmd.Stdin = strings.NewReader(pass + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: kinit %s: %v\n%s", principal, err, out)
	}
	return cc
}

// quoteKadmin quotes s for kadmin's query parser, which splits on blanks and
// honours double quotes.
func quoteKadmin(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, ``) + `"`
}
