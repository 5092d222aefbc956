package kerberos_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/auth/kerberos"
)

func ExampleAuthenticator_Wrap() {
	// A keytab as kadmin's ktadd writes it; here made in memory.
	kt := keytab.New()
	if err := kt.AddEntry("HTTP/trac.example.com", "EXAMPLE.COM", "secret", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		log.Fatal(err)
	}
	data, err := kt.Marshal()
	if err != nil {
		log.Fatal(err)
	}
	krb, err := kerberos.New(kerberos.Config{
		KeytabData: data,
		SPN:        "HTTP/trac.example.com@EXAMPLE.COM",
		Normalize:  kerberos.LocalName("EXAMPLE.COM"),
	})
	if err != nil {
		log.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.FromContext(r.Context()) // Require let only users through
		fmt.Fprintf(w, "REMOTE_USER=%s", u.Name)
	})
	srv := httptest.NewServer(krb.Wrap(auth.MustRequire(auth.ValidUser())(app)))
	defer srv.Close()

	// A client without a ticket is asked to negotiate.
	resp, err := http.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	// Output:
	// 401 Negotiate
}
