package kerberos_test

import (
	"fmt"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/auth/kerberos"
)

func ExampleLocalName() {
	n := kerberos.LocalName("EXAMPLE.COM")
	fmt.Println(n("alice@EXAMPLE.COM"))
	fmt.Println(n("bob@PARTNER.ORG"))
	// Output:
	// alice
	// bob@PARTNER.ORG
}

func ExampleDownLevel() {
	// The form mod_auth_sspi gave the WSGI script of Trac's mod_wsgi guide, lower-cased.
	n := auth.Chain(kerberos.DownLevel("EXAMPLE"), auth.Lower())
	fmt.Println(n("Alice@EXAMPLE.COM"))
	// Output:
	// example\alice
}
