package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// guideRequest is one request of TestGuideFilesApache, sent with curl
// (which speaks Basic, Digest and Negotiate) to Apache and to gowsgi.
type guideRequest struct {
	method, path string
	host         string // Host header; "" for the address
	user, pass   string // "" for anonymous
	digest       bool
	negotiate    bool // curl --negotiate with a ticket for alice
}

func (r guideRequest) String() string {
	s := r.method + " " + r.path
	if r.host != "" {
		s += " Host:" + r.host
	}
	switch {
	case r.negotiate:
		s += " negotiate"
	case r.user != "":
		s += " " + r.user + ":" + r.pass
		if r.digest {
			s += " digest"
		}
	}
	return s
}

// guideCase is one file of examples/conf with the requests that check it.
type guideCase struct {
	file string
	// apacheFile is the file Apache runs instead, where Debian lacks the
	// module (mod_auth_sspi); "" for file. sameBody rewrites Apache's
	// body into what gowsgi answers with file (the REMOTE_USER form).
	apacheFile string
	sameBody   func(string) string
	ldap       string // LDIF of the directory the file's AuthLDAPURL names, "" for none
	ldapS      string // its suffix
	krb        bool
	reqs       []guideRequest
}

// apacheModules are the modules Apache runs every file with.
var apacheModules = []string{"wsgi", "access_compat", "authz_host", "auth_basic", "authn_file", "authz_user",
	"authz_groupfile", "auth_digest", "ldap", "authnz_ldap", "alias", "env"}

// apacheOnly are the lines of the guide Apache 2.4 refuses, dropped from
// its copy: AuthzLDAPAuthoritative is Apache 2.2's. LoadModule lines are
// dropped too, since the test loads the modules itself.
var apacheOnly = regexp.MustCompile(`(?im)^[ \t]*(authzldapauthoritative|LoadModule)\b.*$`)

// TestGuideFilesApache runs each of the guide's snippets in examples/conf
// under gowsgi -f and under Apache 2.4 with mod_wsgi itself, and checks
// that both answer a table of requests alike: the status, and for a
// response the application wrote, its body, which names the project, the
// SCRIPT_NAME and PATH_INFO and the REMOTE_USER the application saw. Apache
// is the oracle, not a reading of its manual.
func TestGuideFilesApache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Apache and gowsgi for each file")
	}
	curl := testenv.LookPath(t, "curl", "curl")
	py := testenv.Python(t)
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOWSGI_EXAMPLES", examples)
	// minitrac (the stand-in for Trac) finds its environment there, under
	// Apache (the process environment mod_wsgi's os.environ starts from)
	// and gowsgi alike.
	t.Setenv("TRAC_ENV", filepath.Join(examples, "trac-like/envs/alpha"))

	anon := func(m, p string) guideRequest { return guideRequest{method: m, path: p} }
	basic := func(m, p, u, pw string) guideRequest { return guideRequest{method: m, path: p, user: u, pass: pw} }
	digest := func(m, p, u, pw string) guideRequest {
		return guideRequest{method: m, path: p, user: u, pass: pw, digest: true}
	}
	onHost := func(h string, r guideRequest) guideRequest { r.host = h; return r }
	cases := []guideCase{
		{file: "trac-basic.conf", reqs: []guideRequest{
			anon("GET", "/trac/wiki"), anon("GET", "/trac/login"),
			basic("GET", "/trac/login", "alice", "secret"), basic("GET", "/trac/login", "alice", "wrong"),
			basic("GET", "/trac/login", "nobody", "secret"), basic("POST", "/trac/login", "alice", "secret"),
			basic("GET", "/trac/wiki", "alice", "secret"), anon("GET", "/trac/loginx"), anon("GET", "/other"),
		}},
		{file: "trac-basic-projects.conf", reqs: []guideRequest{
			anon("GET", "/trac/alpha/wiki"), anon("GET", "/trac/alpha/login"),
			basic("GET", "/trac/alpha/login", "alice", "secret"), basic("GET", "/trac/alpha/login", "alice", "wrong"),
			anon("GET", "/trac/login"),
		}},
		{file: "trac-digest.conf", reqs: []guideRequest{
			anon("GET", "/trac/wiki"), anon("GET", "/trac/login"),
			digest("GET", "/trac/login", "alice", "secret"), digest("GET", "/trac/login", "alice", "wrong"),
			digest("POST", "/trac/login", "alice", "secret"),
		}},
		{file: "trac-authfile.conf", reqs: []guideRequest{
			anon("GET", "/wiki"), anon("GET", "/authFile"),
			basic("GET", "/authFile", "alice", "secret"), basic("GET", "/authFile", "alice", "wrong"),
			basic("POST", "/authFile", "alice", "secret"),
		}},
		{file: "trac-vhost.conf", reqs: []guideRequest{
			onHost("trac.example.com", anon("GET", "/")),
			onHost("trac.example.com", basic("GET", "/wiki", "alice", "secret")),
			onHost("trac.example.com", basic("GET", "/login", "alice", "wrong")),
			onHost("other.example.com", basic("GET", "/login", "alice", "secret")),
		}},
		{file: "trac-ldap.conf", ldapS: "dc=example,dc=co,dc=ke", ldap: ldapPeople, reqs: []guideRequest{
			anon("GET", "/trac"), anon("GET", "/trac/wiki"),
			basic("GET", "/trac/login", "alice", "alicepw"), basic("GET", "/trac/login", "alice", "wrong"),
			basic("GET", "/trac/login", "nobody", "x"), basic("POST", "/trac/wiki", "bob", "bobpw"),
		}},
		{file: "trac-ad.conf", ldapS: "DC=company,DC=com", ldap: ldapAD, reqs: []guideRequest{
			anon("GET", "/trac/login"),
			basic("GET", "/trac/login", "alice", "alicepw"), // in the group
			basic("GET", "/trac/login", "bob", "bobpw"),     // not in it
			basic("GET", "/trac/login", "carol", "carolpw"), // through a nested AD group
			basic("GET", "/trac/login", "alice", "wrong"),
		}},
		{file: "trac-sspi-gssapi.conf", krb: true, reqs: []guideRequest{
			onHost("localhost", anon("GET", "/trac/wiki")), onHost("localhost", anon("GET", "/trac/login")),
			onHost("localhost", guideRequest{method: "GET", path: "/trac/login", negotiate: true}),
			onHost("localhost", basic("GET", "/trac/login", "alice", "alicepw")),
			onHost("localhost", basic("GET", "/trac/login", "alice", "wrong")),
		}},
		// Debian has no mod_auth_sspi: Apache runs the mod_auth_gssapi
		// equivalent written next to the snippet, and the user the
		// application sees differs only in its form (SSPIDomain,
		// SSPIOmitDomain Off: DOMAIN\user).
		{file: "trac-sspi.conf", apacheFile: "trac-sspi-gssapi.conf", krb: true,
			sameBody: func(s string) string { return strings.ReplaceAll(s, "alice@GOWSGI.TEST", `MyLocalDomain\alice`) },
			reqs: []guideRequest{
				onHost("localhost", anon("GET", "/trac/wiki")), onHost("localhost", anon("GET", "/trac/login")),
				onHost("localhost", guideRequest{method: "GET", path: "/trac/login", negotiate: true}),
				onHost("localhost", basic("GET", "/trac/login", "alice", "alicepw")),
				onHost("localhost", basic("GET", "/trac/login", "alice", "wrong")),
			}},
		{file: "deployment.conf", reqs: []guideRequest{
			onHost("trac.example.com", anon("GET", "/trac/alpha/wiki")),
			onHost("trac.example.com", anon("GET", "/trac/alpha/login")),
			onHost("trac.example.com", basic("GET", "/trac/alpha/login", "alice", "secret")),
			onHost("trac.example.com", anon("GET", "/authFile")),
			onHost("trac.example.com", basic("GET", "/authFile", "alice", "secret")),
			onHost("trac.example.com", anon("GET", "/hg/")),
			onHost("trac.example.com", anon("HEAD", "/hg/")),
			onHost("trac.example.com", anon("POST", "/hg/")),
			onHost("trac.example.com", basic("POST", "/hg/", "hgalice", "hgsecret")),
			onHost("trac.example.com", basic("POST", "/hg/", "alice", "secret")),
			onHost("www.trac.example.com", anon("GET", "/trac/chrome/site/trac.ini")),
			onHost("beta.example.com", anon("GET", "/")),
			onHost("beta.example.com", digest("GET", "/x", "alice", "secret")),
			onHost("beta.example.com", digest("GET", "/x", "guest", "guestpw")),
			onHost("beta.example.com", digest("GET", "/x", "alice", "wrong")),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			env := []string{"NO_PROXY=*", "no_proxy=*"}
			var krb *testenv.KDC
			var keytab string
			if tc.krb {
				krb = testenv.StartKDC(t)
				krb.AddUser(t, "alice", "alicepw")
				keytab = krb.AddService(t, "HTTP/localhost")
				t.Setenv("KRB5_CONFIG", krb.Krb5Conf)
				// Apache's children (www-data when the test runs as root)
				// read krb5.conf for GssapiBasicAuth.
				for _, p := range []string{filepath.Dir(filepath.Dir(krb.Krb5Conf)), filepath.Dir(krb.Krb5Conf)} {
					if err := os.Chmod(p, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.Chmod(krb.Krb5Conf, 0o644); err != nil {
					t.Fatal(err)
				}
				env = append(env, krb.Env(krb.Kinit(t, "alice", "alicepw"))...)
			}
			if tc.ldap != "" {
				s := testenv.StartSlapd(t, testenv.SlapdConfig{
					Suffix:  tc.ldapS,
					Schemas: []string{filepath.Join("..", "..", "auth", "ldapauth", "testdata", "ad.schema")},
					LDIF:    []string{testenv.WriteFile(t, t.TempDir(), "dir.ldif", tc.ldap)},
				})
				t.Setenv("GOWSGI_LDAP_PORT", strconv.Itoa(s.Port))
			}
			src, err := os.ReadFile(filepath.Join(examples, "conf", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			asrc := string(src)
			if tc.apacheFile != "" {
				b, err := os.ReadFile(filepath.Join(examples, "conf", tc.apacheFile))
				if err != nil {
					t.Fatal(err)
				}
				asrc = string(b)
			}

			// Apache, on a copy without the lines it refuses.
			apachePort := testenv.FreePort(t)
			t.Setenv("GOWSGI_PORT", strconv.Itoa(apachePort))
			adir := t.TempDir()
			if err := os.Chmod(adir, 0o755); err != nil {
				t.Fatal(err)
			}
			if dropped := apacheOnly.FindAllString(asrc, -1); len(dropped) > 0 {
				t.Logf("Apache's copy drops %q: Apache 2.4 refuses AuthzLDAPAuthoritative, a 2.2 directive that gowsgi ignores with a warning; the LoadModule lines because the test loads the modules itself", dropped)
				asrc = apacheOnly.ReplaceAllString(asrc, "")
			}
			modules := apacheModules
			if tc.krb {
				modules = append(modules, "auth_gssapi")
				// mod_auth_gssapi reads a relative keytab from Apache's
				// working directory, not ServerRoot as gowsgi does: the
				// copy names it whole.
				asrc = strings.ReplaceAll(asrc, "keytab:http.keytab", "keytab:"+filepath.Join(adir, "http.keytab"))
			}
			apacheConf := testenv.WriteFile(t, adir, tc.file, asrc)
			h := testenv.StartHttpd(t, modules, "Include "+apacheConf+"\n")
			writePasswordFiles(t, h.Dir, keytab)
			if tc.krb {
				writePasswordFiles(t, adir, keytab)
			}

			// gowsgi, on the file as it is, from a directory with the
			// same password files (the file's directory is its
			// ServerRoot).
			gdir := t.TempDir()
			writePasswordFiles(t, gdir, keytab)
			gowsgiPort := testenv.FreePort(t)
			t.Setenv("GOWSGI_PORT", strconv.Itoa(gowsgiPort))
			conf := testenv.WriteFile(t, gdir, tc.file, string(src))
			if tc.krb {
				// mod_auth_sspi has no keytab directive: the Kerberos
				// provider reads the default one.
				t.Setenv("KRB5_KTNAME", filepath.Join(gdir, "http.keytab"))
			}
			c := startChild(t, childOpts{noListen: true}, "-f", conf, "-python", py)
			c.addr = testenv.Addr(gowsgiPort)
			c.waitListening(t, 60*time.Second)

			for _, r := range tc.reqs {
				want := curlDo(t, curl, env, testenv.Addr(apachePort), r)
				got := curlDo(t, curl, env, c.addr, r)
				if tc.sameBody != nil {
					want.body = tc.sameBody(want.body)
				}
				if got.status != want.status || (want.status == 200 && got.body != want.body) {
					t.Errorf("%s: gowsgi answers %d %q, Apache %d %q", r, got.status, got.body, want.status, want.body)
				}
			}
			if t.Failed() {
				t.Logf("Apache's error log:\n%s\ngowsgi's output:\n%s", h.ErrorLog(), c.output())
			}
		})
	}
}

// writePasswordFiles writes the password files the example files name,
// relative to their ServerRoot dir, readable by Apache's children; and the
// Kerberos service keytab, if any, as http.keytab.
func writePasswordFiles(t *testing.T, dir, keytab string) {
	t.Helper()
	for _, f := range []string{"trac.htpasswd", "htpasswd"} {
		testenv.Htpasswd(t, filepath.Join(dir, f), "alice", "secret")
	}
	testenv.Htpasswd(t, filepath.Join(dir, "hg.htpasswd"), "hgalice", "hgsecret")
	testenv.Htdigest(t, filepath.Join(dir, "trac.htdigest"), "trac", "alice", "secret")
	testenv.Htdigest(t, filepath.Join(dir, "beta.htdigest"), "beta", "alice", "secret")
	testenv.Htdigest(t, filepath.Join(dir, "beta.htdigest"), "beta", "guest", "guestpw")
	if keytab != "" {
		b, err := os.ReadFile(keytab)
		if err != nil {
			t.Fatal(err)
		}
		// Apache's children (www-data when the test runs as root) read it.
		if err := os.WriteFile(filepath.Join(dir, "http.keytab"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// curlAnswer is a status and a body.
type curlAnswer struct {
	status int
	body   string
}

// curlDo sends r to addr with curl.
func curlDo(t *testing.T, curl string, env []string, addr string, r guideRequest) curlAnswer {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	u := "http://" + addr + r.path
	args := []string{"-sS", "--noproxy", "*", "-w", "\n%{http_code}"}
	if r.method == "HEAD" {
		args = append(args, "-I")
	} else {
		args = append(args, "-X", r.method)
	}
	if r.method == "POST" {
		args = append(args, "-d", "")
	}
	if r.host != "" {
		// --resolve keeps the name in the URL (Negotiate asks for a ticket
		// for HTTP/<name>, Digest signs the URI) and connects to addr.
		u = "http://" + r.host + ":" + port + r.path
		args = append(args, "--resolve", r.host+":"+port+":"+host)
	}
	switch {
	case r.negotiate:
		args = append(args, "--negotiate", "-u", ":")
	case r.digest:
		args = append(args, "--digest", "-u", r.user+":"+r.pass)
	case r.user != "":
		args = append(args, "--basic", "-u", r.user+":"+r.pass)
	}
	cmd := exec.Command(curl, append(args, u)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", r, err, out)
	}
	s := string(out)
	i := strings.LastIndexByte(s, '\n')
	code, err := strconv.Atoi(s[i+1:])
	if err != nil {
		t.Fatalf("curl %s: %q", r, s)
	}
	body := s[:i]
	if r.method == "HEAD" {
		body = ""
	}
	return curlAnswer{code, body}
}

// ldapPeople is the directory of the guide's LDAP example.
const ldapPeople = `dn: dc=example,dc=co,dc=ke
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=People,dc=example,dc=co,dc=ke
objectClass: organizationalUnit
ou: People

dn: uid=alice,ou=People,dc=example,dc=co,dc=ke
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: Liddell
userPassword: alicepw

dn: uid=bob,ou=People,dc=example,dc=co,dc=ke
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Builder
userPassword: bobpw
`

// ldapAD is a directory shaped like the Active Directory global catalog of
// the guide's AD example: users found by sAMAccountName, the group
// "CN=Trac Users,CN=Users,DC=company,DC=com" with alice and the nested
// group Engineers, which holds carol.
var ldapAD = fmt.Sprintf(`dn: DC=company,DC=com
objectClass: dcObject
objectClass: organization
dc: company
o: Company

dn: CN=Users,DC=company,DC=com
objectClass: organizationalRole
cn: Users

dn: CN=trac,CN=Users,DC=company,DC=com
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: trac
userPassword: the_password
%s%s%s
dn: CN=Trac Users,CN=Users,DC=company,DC=com
objectClass: group
cn: Trac Users
member: CN=alice,CN=Users,DC=company,DC=com
member: CN=Engineers,CN=Users,DC=company,DC=com

dn: CN=Engineers,CN=Users,DC=company,DC=com
objectClass: group
cn: Engineers
member: CN=carol,CN=Users,DC=company,DC=com
`, adUser("alice"), adUser("bob"), adUser("carol"))

func adUser(name string) string {
	return fmt.Sprintf(`
dn: CN=%[1]s,CN=Users,DC=company,DC=com
objectClass: user
cn: %[1]s
sn: %[1]s
sAMAccountName: %[1]s
userPassword: %[1]spw
`, name)
}
