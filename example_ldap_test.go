package gowsgi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/auth/ldapauth"
	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/prefix"
	"github.com/gowsgi/gowsgi/wsgi"
)

// ldapHost is the host:port of the slapd TestMain starts for Example_ldap,
// standing in for an Active Directory global catalog (ad.example.com:3268).
var ldapHost string

func init() {
	peers = append(peers, peer{
		name:     "slapd",
		examples: []string{"Example_ldap"},
		start: func(tb testing.TB) {
			s := testenv.StartSlapd(tb, testenv.SlapdConfig{
				Suffix:  "DC=company,DC=com",
				Schemas: []string{mustAbs("auth/ldapauth/testdata/ad.schema")},
				LDIF:    []string{mustAbs("examples/ldap/company.ldif")},
			})
			ldapHost = strings.TrimPrefix(s.URL, "ldap://")
		},
	})
}

// LDAP / Active Directory: Basic authentication checked against the
// directory, and only members of "Trac Users" (directly or through a
// nested group) let in:
//
//	<Location /trac/>
//	  AuthType Basic
//	  AuthName "Trac"
//	  AuthBasicProvider "ldap"
//	  AuthLDAPURL "ldap://ad.company.com:3268/DC=company,DC=com?sAMAccountName?sub?(objectClass=user)"
//	  AuthLDAPBindDN "CN=svc-trac,CN=Users,DC=company,DC=com"
//	  AuthLDAPBindPassword "the_password"
//	  Require ldap-group CN=Trac Users,CN=Users,DC=company,DC=com
//	</Location>
//
// The directory here is slapd with a slice of Active Directory's schema
// (examples/ldap/company.ldif). The command line:
//
//	gowsgi -mount /trac -env TRAC_ENV=$PWD/examples/trac-like/envs/alpha \
//	  -ldap-url 'ldap://ad.company.com:3268/DC=company,DC=com?sAMAccountName?sub?(objectClass=user)' \
//	  -ldap-bind-dn 'CN=svc-trac,CN=Users,DC=company,DC=com' -ldap-bind-password-file bindpw \
//	  -realm Trac -require 'ldap-group CN=Trac Users,CN=Users,DC=company,DC=com' \
//	  examples/trac-like/trac.wsgi
func Example_ldap() {
	dir, err := ldapauth.New(ldapauth.Config{
		URL:          "ldap://" + ldapHost + "/DC=company,DC=com?sAMAccountName?sub?(objectClass=user)",
		BindDN:       "CN=svc-trac,CN=Users,DC=company,DC=com",
		BindPassword: "the_password",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dir.Close()
	tracUsers, err := dir.RequireGroup("CN=Trac Users,CN=Users,DC=company,DC=com")
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
		return auth.MustBasic(auth.BasicConfig{Realm: "Trac", Users: dir})(auth.MustRequire(tracUsers)(next))
	}
	h := prefix.Canonical(prefix.MustLocation("/trac/", login)(prefix.MustMount("/trac")(app)))
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, req := range []request{
		{target: "/trac/login"},
		{target: "/trac/login", user: "jdoe", password: "wrong"},
		{target: "/trac/login", user: "jdoe", password: "jdoepw"},     // a direct member
		{target: "/trac/login", user: "msmith", password: "msmithpw"}, // through Developers
		{target: "/trac/login", user: "rroe", password: "rroepw"},     // in the directory, not in the group
		{target: "/trac/login", user: "*", password: "jdoepw"},        // escaped into the filter: no match
	} {
		show(srv.URL, req)
	}
	// Output:
	// /trac/login -> 401 Unauthorized
	// /trac/login as jdoe:wrong -> 401 Unauthorized
	// /trac/login as jdoe:jdoepw -> 200 Alpha: logged in as jdoe (Basic)
	// /trac/login as msmith:msmithpw -> 200 Alpha: logged in as msmith (Basic)
	// /trac/login as rroe:rroepw -> 403 Forbidden
	// /trac/login as *:jdoepw -> 401 Unauthorized
}
