// Package kerberos is single sign-on for gowsgi: HTTP Negotiate (SPNEGO,
// RFC 4559) with a Kerberos service keytab, as mod_auth_gssapi and
// mod_auth_kerb give Apache and mod_auth_sspi gave the Windows deployment of Trac's mod_wsgi guide.
// Users logged in to the domain (kinit, a Windows logon) reach Trac without
// typing a password; others can be offered a Basic password prompt checked
// against the KDC.
//
// [New] reads the keytab and returns an [Authenticator], whose
// [Authenticator.Wrap] is plain net/http middleware: package auth's
// request flow ([auth.Flow]) running the Negotiate scheme and, for the
// fallback, auth's own Basic scheme, so that Kerberos shares auth's header
// handling (a repeated Authorization header is 400), Basic parser,
// challenges and error contract. It hands the ticket's client
// ("alice@EXAMPLE.COM", after [Config.Normalize]) on as every auth scheme
// does, so the WSGI application sees it as REMOTE_USER with AUTH_TYPE
// "Negotiate" (or "Basic" for the fallback). A
// request without credentials goes on anonymously with the Authenticator
// registered as an [auth.Challenger]: put auth's Require after it to answer
// 401 with "WWW-Authenticate: Negotiate" (and the Basic challenge) where a
// user is needed. Bad credentials get 401 at once and a log line that says
// why. It is built on github.com/jcmturner/gokrb5/v8 and tested against an
// MIT KDC with gokrb5's client, curl --negotiate and Python's
// requests_kerberos.
//
// # Names
//
// The principal becomes the user name. [LocalName] strips the realm for
// principals of the local realm (GssapiLocalName, SSPIOmitDomain);
// [DownLevel] writes the Windows form `DOMAIN\alice` the WSGI script of Trac's mod_wsgi guide
// expected from mod_auth_sspi. Both are [auth.Normalizer] values, as are
// auth's StripRealm, Lower and Map, which combine with [auth.Chain]. The
// principal itself stays in [auth.User.Original].
//
// # Coming from Apache
//
//	Apache (mod_auth_gssapi, mod_auth_kerb, mod_auth_sspi)   Config field / gowsgi flag
//	AuthType GSSAPI / Kerberos / SSPI                       Authenticator.Wrap / -keytab
//	GssapiCredStore keytab:FILE, Krb5Keytab FILE            Keytab, KeytabData / -keytab FILE
//	GssapiAcceptorName, KrbServiceName                      SPN / -spn HTTP/host@REALM
//	GssapiBasicAuth, KrbMethodK5Passwd, SSPIOfferBasic      Basic / -kerberos-basic
//	SSPIBasicPreferred                                      BasicFirst / -kerberos-basic-first
//	AuthName (for the Basic prompt)                         BasicRealm / -kerberos-basic-realm
//	(mod_auth_gssapi has no password cache)                 BasicCacheTTL / -kerberos-basic-cache-ttl
//	KrbAuthRealms, SSPIDomain                               DefaultRealm / -kerberos-default-realm
//	GssapiLocalName, KrbLocalUserMapping, SSPIOmitDomain    Normalize: LocalName / -kerberos-name local
//	(the guide's DOMAIN\user fix in the WSGI script)         Normalize: DownLevel / -kerberos-name down-level=DOMAIN
//	GssapiUseSessions, GssapiSessionKey                     SessionKey, SessionLifetime / -kerberos-session, -kerberos-session-key-file
//	krb5.conf clockskew                                     MaxClockSkew / -kerberos-clock-skew
//	KRB5_CONFIG for the password check                      Krb5Conf / -krb5-conf
//	(mod_auth_gssapi's PAC-derived attributes)              DecodePAC / -kerberos-pac
//	Require user / group                                    auth.MustRequire after the middleware / -require
//
// # Security
//
//   - A ticket is accepted only for the configured SPN (or, without one, a
//     principal whose key is in the keytab), within the clock skew of its
//     validity period, with an authenticator that decrypts with the
//     ticket's session key, names the ticket's client and is no further
//     than the skew from our clock. Each authenticator is accepted once: a
//     captured Authorization header cannot be replayed while it would
//     still pass the skew check. The replay cache lives in the process:
//     replicas behind a load balancer do not share it, so use TLS, which
//     keeps the header from being captured in the first place. Tickets
//     carrying client addresses must come from one of them.
//   - When the client asks for mutual authentication, the response carries
//     the AP-REP (in "WWW-Authenticate: Negotiate ..."), proving to the
//     client that the server holds the service key.
//   - The Basic fallback sends the password to the KDC to get a TGT, then
//     gets a service ticket for our own principal and decrypts it with the
//     keytab: only the real KDC can make that ticket, so a KDC impersonated
//     on the network (which could answer any password) logs nobody in. Use
//     it only over TLS: Basic sends the password in the clear. Each check
//     uses a fresh Kerberos client that is destroyed afterwards (two KDC
//     round trips); a password the KDC accepted is then cached for
//     BasicCacheTTL (5 minutes by default) under a keyed hash, as auth's
//     htpasswd logins are, so the next requests with it make no request to
//     the KDC; refusals are never cached. User names of other realms are
//     refused. A KDC that cannot be reached answers 503.
//   - NTLM tokens (what browsers send through Negotiate when they have no
//     Kerberos ticket) are refused with the Basic challenge alone, or no
//     challenge of ours without the fallback, so browsers do not loop.
//   - The session cookie is an HMAC-SHA256-signed record of the user and
//     its expiry (the earlier of the lifetime and the ticket's end):
//     HttpOnly, SameSite=Lax, Secure on TLS. Anyone holding the key can
//     mint sessions: keep it secret, at least 32 random bytes. Sessions
//     cannot be revoked before they expire, except by changing the key.
//   - The token parser never panics: gokrb5's ASN.1 decoders are run under
//     a recover, and the parser is fuzzed. Tokens are bounded to 64 KiB.
//   - With DecodePAC, an Active Directory ticket's PAC must verify with the
//     service key. MIT KDCs from release 1.20 put a PAC without the Windows
//     logon information into their tickets, which gokrb5 refuses: leave
//     DecodePAC off for MIT realms.
package kerberos
