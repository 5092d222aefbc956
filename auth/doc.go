// Package auth authenticates and authorizes requests as Apache httpd's
// mod_auth_basic, mod_auth_digest, mod_authn_file, mod_authz_user,
// mod_authz_groupfile and mod_authz_host do, as plain net/http middleware.
//
// The authenticated user reaches package wsgi as REMOTE_USER and AUTH_TYPE
// through the request context ([WithUser]); a header sent by the client can
// never set either.
//
// LDAP and Active Directory live in package auth/ldapauth, Kerberos (SPNEGO,
// the single sign-on of mod_auth_sspi and mod_auth_gssapi) in auth/kerberos;
// both plug into the types defined here: [PasswordChecker], [Rule], [User].
package auth
