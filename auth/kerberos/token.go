package kerberos

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// maxTokenLen bounds the base64 text of a Negotiate token. Tickets with a
// large Active Directory PAC reach a few tens of kilobytes; net/http already
// bounds the whole header block (1 MB by default).
const maxTokenLen = 64 << 10

// Errors that classify a token before any key is used.
var (
	errNTLM      = errors.New("kerberos: NTLM token (the client has no Kerberos ticket)")
	errNotKRB5   = errors.New("kerberos: SPNEGO token offers no Kerberos mechanism")
	errMalformed = errors.New("kerberos: malformed Negotiate token")
)

// ntlmSignature starts every NTLMSSP message, raw or inside SPNEGO.
var ntlmSignature = []byte("NTLMSSP\x00")

// gssFlagMutual is GSS_C_MUTUAL_FLAG in the RFC 4121 checksum's flags.
const gssFlagMutual = 2

// gssChecksumType is the RFC 4121 authenticator checksum type (0x8003).
const gssChecksumType = 0x8003

// clientToken is a parsed Authorization: Negotiate token.
type clientToken struct {
	// spnego is true when the AP-REQ came wrapped in a SPNEGO NegTokenInit,
	// false for a raw RFC 4121 token (what some clients send).
	spnego bool
	// mech is the Kerberos mechanism OID the client listed first, echoed in
	// the SPNEGO answer (the standard one or Microsoft's legacy one).
	mech  asn1.ObjectIdentifier
	apReq messages.APReq
}

// parseNegotiate decodes the token of an "Authorization: Negotiate" header
// (the text after the scheme) into the Kerberos AP-REQ it carries. It only
// parses: nothing is decrypted or checked. It never panics on any input
// (the fuzz target holds it to that).
func parseNegotiate(text string) (*clientToken, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("%w: empty token", errMalformed)
	}
	if len(text) > maxTokenLen {
		return nil, fmt.Errorf("%w: token of %d bytes", errMalformed, len(text))
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %w", errMalformed, err)
	}
	if bytes.HasPrefix(b, ntlmSignature) {
		return nil, errNTLM
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes", errMalformed, len(b))
	}
	var tok *clientToken
	err = safely(func() error {
		var err error
		tok, err = parseGSS(b)
		return err
	})
	return tok, err
}

// safely runs f, turning a panic inside the ASN.1 decoders of gokrb5 and
// gofork into an error: they are not hardened against hostile input.
func safely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: decoder panic: %v", errMalformed, p)
		}
	}()
	return f()
}

func parseGSS(b []byte) (*clientToken, error) {
	var oid asn1.ObjectIdentifier
	switch b[0] {
	case 0x60: // [APPLICATION 0] InitialContextToken: SPNEGO or raw Kerberos
		rest, err := asn1.UnmarshalWithParams(b, &oid, "application,explicit,tag:0")
		if err != nil {
			return nil, fmt.Errorf("%w: GSS header: %w", errMalformed, err)
		}
		switch {
		case oid.Equal(gssapi.OIDSPNEGO.OID()):
			return parseSPNEGO(rest)
		case oid.Equal(gssapi.OIDKRB5.OID()):
			req, err := parseKRB5(b)
			if err != nil {
				return nil, err
			}
			return &clientToken{mech: gssapi.OIDKRB5.OID(), apReq: *req}, nil
		default:
			return nil, fmt.Errorf("%w: mechanism %s", errNotKRB5, oid)
		}
	case 0xa1: // a bare NegTokenResp: a continuation we never asked for
		return nil, fmt.Errorf("%w: NegTokenResp without a context", errMalformed)
	default:
		return nil, fmt.Errorf("%w: leading byte %#x", errMalformed, b[0])
	}
}

// parseSPNEGO parses the NegotiationToken after the SPNEGO OID.
func parseSPNEGO(b []byte) (*clientToken, error) {
	isInit, nt, err := spnego.UnmarshalNegToken(b)
	if err != nil {
		return nil, fmt.Errorf("%w: SPNEGO: %w", errMalformed, err)
	}
	init, ok := nt.(spnego.NegTokenInit)
	if !isInit || !ok {
		return nil, fmt.Errorf("%w: SPNEGO token is not a NegTokenInit", errMalformed)
	}
	if bytes.HasPrefix(init.MechTokenBytes, ntlmSignature) {
		return nil, errNTLM
	}
	if len(init.MechTypes) == 0 {
		return nil, fmt.Errorf("%w: no mechanisms", errNotKRB5)
	}
	// Only an optimistic token for the client's first mechanism can be
	// accepted in one round trip: RFC 4178 section 3.
	first := init.MechTypes[0]
	if !first.Equal(gssapi.OIDKRB5.OID()) && !first.Equal(gssapi.OIDMSLegacyKRB5.OID()) {
		ntlm := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
		if first.Equal(ntlm) {
			return nil, errNTLM
		}
		return nil, fmt.Errorf("%w: first mechanism %s", errNotKRB5, first)
	}
	if len(init.MechTokenBytes) == 0 {
		return nil, fmt.Errorf("%w: NegTokenInit without a Kerberos token", errMalformed)
	}
	req, err := parseKRB5(init.MechTokenBytes)
	if err != nil {
		return nil, err
	}
	return &clientToken{spnego: true, mech: first, apReq: *req}, nil
}

// parseKRB5 parses an RFC 4121 InitialContextToken holding an AP-REQ.
func parseKRB5(b []byte) (*messages.APReq, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.UnmarshalWithParams(b, &oid, "application,explicit,tag:0")
	if err != nil {
		return nil, fmt.Errorf("%w: Kerberos GSS header: %w", errMalformed, err)
	}
	if !oid.Equal(gssapi.OIDKRB5.OID()) {
		return nil, fmt.Errorf("%w: inner mechanism %s", errNotKRB5, oid)
	}
	if len(rest) < 2 || rest[0] != 0x01 || rest[1] != 0x00 {
		return nil, fmt.Errorf("%w: Kerberos token is not an AP-REQ", errMalformed)
	}
	var req messages.APReq
	if err := req.Unmarshal(rest[2:]); err != nil {
		return nil, fmt.Errorf("%w: AP-REQ: %w", errMalformed, err)
	}
	if len(req.Ticket.SName.NameString) == 0 || req.Ticket.Realm == "" {
		return nil, fmt.Errorf("%w: ticket without a service name", errMalformed)
	}
	return &req, nil
}

// mutualRequested reports whether the client asked for mutual
// authentication, by the AP option or by the GSS-API checksum flag. It reads
// the authenticator, so the AP-REQ must have been verified.
func mutualRequested(req *messages.APReq) bool {
	if types.IsFlagSet(&req.APOptions, flags.APOptionMutualRequired) {
		return true
	}
	c := req.Authenticator.Cksum
	if c.CksumType == gssChecksumType && len(c.Checksum) >= 24 {
		return binary.LittleEndian.Uint32(c.Checksum[20:24])&gssFlagMutual != 0
	}
	return false
}

// encAPRepPart is the EncAPRepPart of RFC 4120 section 5.5.2, without the
// optional subkey and sequence number, which Kerberos over HTTP never uses.
type encAPRepPart struct {
	CTime time.Time `asn1:"generalized,explicit,tag:0"`
	Cusec int       `asn1:"explicit,tag:1"`
}

// apRep is KRB_AP_REP for marshalling.
type apRep struct {
	PVNO    int                 `asn1:"explicit,tag:0"`
	MsgType int                 `asn1:"explicit,tag:1"`
	EncPart types.EncryptedData `asn1:"explicit,tag:2"`
}

// responseToken builds the server's answer to a verified AP-REQ: an AP-REP
// proving we hold the service key (when the client asked for mutual
// authentication), wrapped in a SPNEGO NegTokenResp (accept-completed) when
// the client used SPNEGO.
func responseToken(tok *clientToken) ([]byte, error) {
	var krb []byte
	if mutualRequested(&tok.apReq) {
		a := tok.apReq.Authenticator
		enc, err := asn1.Marshal(encAPRepPart{CTime: a.CTime.UTC(), Cusec: a.Cusec})
		if err != nil {
			return nil, fmt.Errorf("kerberos: marshalling EncAPRepPart: %w", err)
		}
		enc = asn1tools.AddASNAppTag(enc, asnAppTag.EncAPRepPart)
		ed, err := crypto.GetEncryptedData(enc, tok.apReq.Ticket.DecryptedEncPart.Key, keyusage.AP_REP_ENCPART, 0)
		if err != nil {
			return nil, fmt.Errorf("kerberos: encrypting AP-REP: %w", err)
		}
		rep, err := asn1.Marshal(apRep{PVNO: 5, MsgType: msgtype.KRB_AP_REP, EncPart: ed})
		if err != nil {
			return nil, fmt.Errorf("kerberos: marshalling AP-REP: %w", err)
		}
		rep = asn1tools.AddASNAppTag(rep, asnAppTag.APREP)
		oid, err := asn1.Marshal(gssapi.OIDKRB5.OID())
		if err != nil {
			return nil, fmt.Errorf("kerberos: marshalling OID: %w", err)
		}
		krb = append(append(oid, 0x02, 0x00), rep...)
		krb = asn1tools.AddASNAppTag(krb, 0)
	}
	if !tok.spnego {
		return krb, nil
	}
	resp := spnego.NegTokenResp{
		NegState:      asn1.Enumerated(spnego.NegStateAcceptCompleted),
		SupportedMech: tok.mech,
		ResponseToken: krb,
	}
	b, err := resp.Marshal()
	if err != nil {
		return nil, fmt.Errorf("kerberos: marshalling NegTokenResp: %w", err)
	}
	return b, nil
}
