//go:build krb5sum

package kerberos

import (
	"testing"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

func TestPACTry(t *testing.T) {
	rl := startRealm(t)
	var logs logBuffer
	a, err := New(Config{Keytab: rl.keytab, DecodePAC: true, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, protected(a))
	cl := client.NewWithPassword("alice", testenv.KDCRealm, alicePass, rl.krb5conf(t), client.DisablePAFXFAST(true))
	defer cl.Destroy()
	if err := cl.Login(); err != nil {
		t.Fatal(err)
	}
	resp, err := spnego.NewClient(cl, nil, "HTTP/localhost").Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(readResponse(t, resp), logs.String())
}
