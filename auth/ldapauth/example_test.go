package ldapauth_test

import (
	"fmt"
	"net/http"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/auth/ldapauth"
)

func ExampleParseURL() {
	u, err := ldapauth.ParseURL("ldap://dc1 dc2:3268/DC=company,DC=com?sAMAccountName?sub?(objectClass=user) STARTTLS")
	if err != nil {
		panic(err)
	}
	fmt.Println(u.Hosts, u.BaseDN, u.Attribute, u.Filter, u.Security)

	_, err = ldapauth.ParseURL("ldap://dc1/DC=company,DC=com?sAMAccountName?subtree?(objectClass=user")
	fmt.Println(err)
	// Output:
	// [dc1:3268 dc2:3268] DC=company,DC=com sAMAccountName objectClass=user STARTTLS
	// ldapauth: AuthLDAPURL "ldap://dc1/DC=company,DC=com?sAMAccountName?subtree?(objectClass=user": bad filter: "(objectClass=user": '(' without a closing ')'
}

func ExampleDirectory_UserFilter() {
	d, err := ldapauth.New(ldapauth.Config{URL: "ldap://ad.example.com:3268/DC=example,DC=com?sAMAccountName?sub?(objectClass=user)"})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	fmt.Println(d.UserFilter("alice"))
	fmt.Println(d.UserFilter("*)(sAMAccountName=*"))
	// Output:
	// (&(objectClass=user)(sAMAccountName=alice))
	// (&(objectClass=user)(sAMAccountName=\2a\29\28sAMAccountName=\2a))
}

// The Active Directory setup of Trac's mod_wsgi guide: Basic authentication against the
// global catalog, and Require ldap-group. New does not contact the
// directory; requests do.
func ExampleNew() {
	d, err := ldapauth.New(ldapauth.Config{
		URL:          "ldap://ad.company.com:3268/DC=company,DC=com?sAMAccountName?sub?(objectClass=user)",
		BindDN:       "CN=svc-trac,CN=Users,DC=company,DC=com",
		BindPassword: "secret",
	})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	group, err := d.Require("ldap-group", []string{"CN=Trac", "Users,CN=Users,DC=company,DC=com"})
	if err != nil {
		panic(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := auth.MustBasic(auth.BasicConfig{Realm: "Trac", Users: d})(auth.MustRequire(group)(app))
	_ = h
	fmt.Println(d.URL().Hosts, d.URL().Attribute)

	_, err = d.Require("ldap-group", []string{"Trac", "Users"})
	fmt.Println(err)
	// Output:
	// [ad.company.com:3268] sAMAccountName
	// ldapauth: Require ldap-group "Trac Users": not a DN: DN ended with incomplete type, value pair
}
