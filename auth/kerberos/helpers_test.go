package kerberos

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/internal/testenv"
	"github.com/gowsgi/gowsgi/reqinfo"
)

// logBuffer is the tests' log: testenv's locked buffer behind a
// slog.Logger at debug level.
type logBuffer struct{ testenv.LogBuffer }

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// whoami is the application: it answers with what a WSGI app would see as
// REMOTE_USER and AUTH_TYPE.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	var name, authType string
	if u := reqinfo.FromContext(r.Context()).User(); u != nil {
		name, authType = u.Name, u.AuthType
	}
	fmt.Fprintf(w, "%s %s", name, authType)
})

// protected is the Authenticator in front of Require valid-user in front of
// whoami, as cmd/gowsgi chains them.
func protected(a *Authenticator) http.Handler {
	return a.Wrap(auth.MustRequire(auth.ValidUser())(whoami))
}

// serve starts h on 127.0.0.1 and returns its URL with the host name
// localhost, which Kerberos clients turn into the service HTTP/localhost.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return fmt.Sprintf("http://localhost:%d/", ln.Addr().(*net.TCPAddr).Port)
}

// testKeytab makes a keytab for HTTP/localhost@GOWSGI.TEST from a password,
// with no KDC, for the tests that forge tickets.
func testKeytab(t testing.TB, principal, realm string) (*keytab.Keytab, []byte) {
	t.Helper()
	kt := keytab.New()
	if err := kt.AddEntry(principal, realm, "service-secret", time.Now(), 2, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return kt, b
}

// ticketSpec describes a ticket forged with the service key.
type ticketSpec struct {
	client, crealm string
	service, realm string
	start, end     time.Time
}

// forgeTicket makes a service ticket as a KDC would, with the service's
// keytab, and returns it with its session key.
func forgeTicket(t testing.TB, kt *keytab.Keytab, s ticketSpec) (messages.Ticket, types.EncryptionKey) {
	t.Helper()
	cname := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, s.client)
	sname := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, s.service)
	tkt, key, err := messages.NewTicket(cname, s.crealm, sname, s.realm, types.NewKrbFlags(), kt,
		etypeID.AES256_CTS_HMAC_SHA1_96, 2, s.start, s.start, s.end, s.end)
	if err != nil {
		t.Fatal(err)
	}
	return tkt, key
}

// tokenOptions shape the AP-REQ a test client makes.
type tokenOptions struct {
	mutual bool                         // ask for mutual authentication
	raw    bool                         // send the RFC 4121 token without SPNEGO
	legacy bool                         // list Microsoft's legacy Kerberos OID first
	mutate func(a *types.Authenticator) // change the authenticator (its time)
}

// negotiateHeader builds "Negotiate <token>" for tkt as client@crealm, as a
// GSS-API initiator does, and returns it with the authenticator it holds.
func negotiateHeader(t testing.TB, client, crealm string, tkt messages.Ticket, key types.EncryptionKey, o tokenOptions) (string, types.Authenticator) {
	t.Helper()
	a, err := types.NewAuthenticator(crealm, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, client))
	if err != nil {
		t.Fatal(err)
	}
	ck := make([]byte, 24)
	binary.LittleEndian.PutUint32(ck, 16)
	var gssFlags uint32 = gssapi.ContextFlagInteg | gssapi.ContextFlagConf
	if o.mutual {
		gssFlags |= gssapi.ContextFlagMutual
	}
	binary.LittleEndian.PutUint32(ck[20:], gssFlags)
	a.Cksum = types.Checksum{CksumType: gssChecksumType, Checksum: ck}
	if o.mutate != nil {
		o.mutate(&a)
	}
	req, err := messages.NewAPReq(tkt, key, a)
	if err != nil {
		t.Fatal(err)
	}
	if o.mutual {
		types.SetFlag(&req.APOptions, flags.APOptionMutualRequired)
	}
	rb, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	oid, _ := asn1.Marshal(gssapi.OIDKRB5.OID())
	krb := asn1tools.AddASNAppTag(append(append(oid, 0x01, 0x00), rb...), 0)
	if o.raw {
		return "Negotiate " + base64.StdEncoding.EncodeToString(krb), a
	}
	mechs := []asn1.ObjectIdentifier{gssapi.OIDKRB5.OID()}
	if o.legacy {
		mechs = []asn1.ObjectIdentifier{gssapi.OIDMSLegacyKRB5.OID(), gssapi.OIDKRB5.OID()}
	}
	st := spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{MechTypes: mechs, MechTokenBytes: krb}}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return "Negotiate " + base64.StdEncoding.EncodeToString(b), a
}

// checkMutual verifies the server's "WWW-Authenticate: Negotiate <token>" as
// the client does: the AP-REP must decrypt with the session key and echo the
// authenticator's time. It returns "" when it does, or what is wrong.
func checkMutual(header string, key types.EncryptionKey, sent types.Authenticator, wantSPNEGO bool, wantMech asn1.ObjectIdentifier) string {
	text, ok := strings.CutPrefix(header, "Negotiate ")
	if !ok {
		return fmt.Sprintf("no Negotiate token in %q", header)
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return err.Error()
	}
	krb := b
	if wantSPNEGO {
		var resp spnego.NegTokenResp
		if err := resp.Unmarshal(b); err != nil {
			return "NegTokenResp: " + err.Error()
		}
		if resp.State() != spnego.NegStateAcceptCompleted {
			return fmt.Sprintf("negState %d", resp.State())
		}
		if !resp.SupportedMech.Equal(wantMech) {
			return fmt.Sprintf("supportedMech %v, want %v", resp.SupportedMech, wantMech)
		}
		krb = resp.ResponseToken
	}
	var oid asn1.ObjectIdentifier
	rest, err := asn1.UnmarshalWithParams(krb, &oid, "application,explicit,tag:0")
	if err != nil || !oid.Equal(gssapi.OIDKRB5.OID()) || len(rest) < 2 || rest[0] != 2 || rest[1] != 0 {
		return fmt.Sprintf("not a Kerberos AP-REP token (%v)", err)
	}
	var rep messages.APRep
	if err := rep.Unmarshal(rest[2:]); err != nil {
		return "AP-REP: " + err.Error()
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, key, keyusage.AP_REP_ENCPART)
	if err != nil {
		return "decrypting the AP-REP: " + err.Error()
	}
	var enc messages.EncAPRepPart
	if err := enc.Unmarshal(plain); err != nil {
		return "EncAPRepPart: " + err.Error()
	}
	if !enc.CTime.Equal(sent.CTime.Truncate(time.Second)) || enc.Cusec != sent.Cusec {
		return fmt.Sprintf("AP-REP time %v.%06d, sent %v.%06d", enc.CTime, enc.Cusec, sent.CTime, sent.Cusec)
	}
	return ""
}

// get sends one GET with the given Authorization header (none when "").
func get(t testing.TB, h http.Handler, authz string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "http://localhost/wiki", nil)
	r.RemoteAddr = "127.0.0.1:40000"
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
