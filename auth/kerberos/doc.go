// Package kerberos is single sign-on for gowsgi: HTTP Negotiate (SPNEGO,
// RFC 4559) with a Kerberos service keytab, as mod_auth_gssapi,
// mod_auth_kerb and, on Windows, mod_auth_sspi give Apache.
package kerberos
