package gowsgi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/auth/kerberos"
	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/wsgi"
)

// The MIT KDC TestMain starts for Example_sspi: the realm GOWSGI.TEST, the
// service HTTP/localhost in keytab, users alice and bob, and the krb5.conf
// pointing at it.
var krb5Conf, keytab string

func init() {
	peers = append(peers, peer{
		name:     "krb5kdc",
		examples: []string{"Example_sspi"},
		start: func(tb testing.TB) {
			kdc := testenv.StartKDC(tb)
			kdc.AddUser(tb, "alice", "alicepw")
			kdc.AddUser(tb, "bob", "bobpw")
			keytab = kdc.AddService(tb, "HTTP/localhost")
			krb5Conf = kdc.Krb5Conf
		},
	})
}

// SSPI-style single sign-on: Negotiate (Kerberos) for users logged in to the
// domain, a Basic password prompt for the others (checked against the KDC),
// names in the DOMAIN\user form that "Require group" matches, and the
// application seeing the bare user, as the WSGI-script fix of Trac's mod_wsgi guide made it:
//
//	<Location /trac/login>
//	  AuthType SSPI
//	  AuthName "Trac Login"
//	  SSPIAuth On
//	  SSPIAuthoritative On
//	  SSPIDomain GOWSGI
//	  SSPIOfferBasic On
//	  SSPIOmitDomain Off
//	  SSPIBasicPreferred On
//	  Require group trac-users
//	</Location>
//
//	def application(environ, start_response):   # the guide's fix, no longer needed
//	    if "\\" in environ['REMOTE_USER']:
//	        environ['REMOTE_USER'] = environ['REMOTE_USER'].split("\\", 1)[1]
//
// Here auth.Normalize, placed after Require, does the script's job. The
// command line:
//
//	gowsgi -mount /trac -env TRAC_ENV=$PWD/examples/trac-like/envs/alpha \
//	  -keytab http.keytab -spn HTTP/localhost@GOWSGI.TEST -krb5-conf krb5.conf \
//	  -kerberos-basic -kerberos-basic-first -kerberos-basic-realm 'Trac Login' \
//	  -kerberos-name down-level=GOWSGI -group-file trac.groups -require 'group trac-users' \
//	  -normalize-user strip-domain -normalize-after-require -auth-location '^/trac/login$' \
//	  examples/trac-like/trac.wsgi
func Example_sspi() {
	dir, err := os.MkdirTemp("", "gowsgi-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	groupFile, err := writeFile(dir, "trac.groups", "trac-users: GOWSGI\\alice\n")
	if err != nil {
		fmt.Println(err)
		return
	}
	groups, err := auth.LoadGroupFile(groupFile)
	if err != nil {
		fmt.Println(err)
		return
	}
	sso, err := kerberos.New(kerberos.Config{
		Keytab:     keytab,
		SPN:        "HTTP/localhost@GOWSGI.TEST",
		Basic:      true,                         // SSPIOfferBasic On
		BasicFirst: true,                         // SSPIBasicPreferred On
		BasicRealm: "Trac Login",                 // AuthName
		Krb5Conf:   krb5Conf,                     // where the KDC is, for Basic
		Normalize:  kerberos.DownLevel("GOWSGI"), // SSPIOmitDomain Off: GOWSGI\alice
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	app, err := wsgi.New(wsgi.Config{
		Script: tracLike("trac.wsgi"),
		Python: python,
		Env:    []string{"TRAC_ENV=" + tracLike("envs/alpha")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	login := func(next http.Handler) http.Handler {
		return sso.Wrap(
			auth.MustRequire(auth.Group(groups, "trac-users"))( // sees GOWSGI\alice
				auth.Normalize(auth.StripDomain(), nil)(next))) // the application sees alice
	}
	h := prefix.Canonical(prefix.MustLocation("/trac/login", login)(prefix.MustMount("/trac")(app)))
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/trac/login")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("/trac/login ->", resp.StatusCode, strings.Join(resp.Header.Values("WWW-Authenticate"), "; "))

	// alice logged in to the domain: a ticket for HTTP/localhost, no password typed.
	krbConf, err := config.Load(krb5Conf)
	if err != nil {
		fmt.Println(err)
		return
	}
	alice := client.NewWithPassword("alice", "GOWSGI.TEST", "alicepw", krbConf, client.DisablePAFXFAST(true))
	defer alice.Destroy()
	if err := alice.Login(); err != nil {
		fmt.Println(err)
		return
	}
	req, _ := http.NewRequest("GET", srv.URL+"/trac/login", nil)
	if err := spnego.SetSPNEGOHeader(alice, req, "HTTP/localhost"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("/trac/login with alice's ticket ->", do(srv.URL, request{target: "/trac/login", header: req.Header}))

	for _, req := range []request{
		{target: "/trac/login", user: "alice", password: "alicepw"},
		{target: "/trac/login", user: `GOWSGI\alice`, password: "alicepw"},
		{target: "/trac/login", user: "alice", password: "wrong"},
		{target: "/trac/login", user: "bob", password: "bobpw"}, // not in trac-users
	} {
		show(srv.URL, req)
	}
	// Output:
	// /trac/login -> 401 Basic realm="Trac Login", charset="UTF-8"; Negotiate
	// /trac/login with alice's ticket -> 200 Alpha: logged in as alice (Negotiate)
	// /trac/login as alice:alicepw -> 200 Alpha: logged in as alice (Basic)
	// /trac/login as GOWSGI\alice:alicepw -> 200 Alpha: logged in as alice (Basic)
	// /trac/login as alice:wrong -> 401 Unauthorized
	// /trac/login as bob:bobpw -> 403 Forbidden
}
