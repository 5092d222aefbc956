// Package ldapauth authenticates users and authorizes requests against an
// LDAP directory or Active Directory, as Apache's mod_authnz_ldap does, on
// github.com/go-ldap/ldap/v3.
//
// A [Directory] is both an [auth.PasswordChecker] for [auth.MustBasic]
// (AuthBasicProvider ldap) and a source of [auth.Rule]s for the Require
// kinds ldap-user, ldap-dn, ldap-group, ldap-attribute and ldap-filter
// ([Directory.Require]):
//
//	d, err := ldapauth.New(ldapauth.Config{
//		URL:          "ldap://dc1 dc2:3268/DC=company,DC=com?sAMAccountName?sub?(objectClass=user)",
//		BindDN:       "CN=svc-trac,CN=Users,DC=company,DC=com",
//		BindPassword: password,
//	})
//	group, err := d.RequireGroup("CN=Trac Users,CN=Users,DC=company,DC=com")
//	h := auth.MustBasic(auth.BasicConfig{Realm: "Trac", Users: d})(auth.MustRequire(group)(app))
//
// A login is search-then-bind: the service account (or an anonymous
// connection) searches the URL's base for exactly one entry matching
// (&(filter)(attribute=name)); then a connection of its own binds as that
// entry's DN with the password. The user's [auth.User] carries the entry's
// DN under Attributes["dn"], the attributes listed in the URL, and, with
// RemoteUserAttribute, the REMOTE_USER taken from the entry.
//
// Nested groups are found as mod_authnz_ldap finds them
// (uldap_cache_check_subgroups): when the user is not a direct member of the
// group, the group's entry is read (one base-scope search for its
// SubGroupAttributes), each member DN is probed by compares of its
// objectClass against SubGroupClasses, and the sub-groups so found are
// asked for the user in turn, down to MaxSubGroupDepth levels below the
// named group. No base DN is involved: groups may live anywhere, in several
// OUs, outside the URL's base; member DNs that do not exist are skipped; a
// group already visited is not visited again, so a cycle ends at once.
// Each group's sub-group list, each compare and each answer is cached for
// CacheTTL, as Apache keeps them in its operation cache. GroupBaseDN, when
// set, only confines sub-groups to a subtree. For Active
// Directory, [Config.MemberOf] reads memberOf instead, and
// [Config.MatchingRuleInChain] lets the server resolve nesting in one
// search with LDAP_MATCHING_RULE_IN_CHAIN; slapd does not implement that
// rule, so the tests only check the request's shape ([Directory.InChainFilter])
// and that a server without it denies.
//
// Connections are pooled (PoolSize for searches, as many for user binds),
// reused across requests, replaced when the server dropped them (a restart),
// and every call is bounded by Timeout: a dead server refuses at once
// (connection refused) and a hung one fails after Timeout, with an error
// that [auth.MustBasic] turns into 503 and that [IsUnavailable] recognizes. A
// TTL cache remembers successful logins and Require answers.
//
// # Coming from Apache
//
//	Apache (mod_authnz_ldap, mod_ldap)      ldapauth / gowsgi flag
//	AuthBasicProvider ldap                  Config → Directory as auth.BasicConfig.Users; -ldap-url
//	AuthLDAPURL "url" [NONE|SSL|TLS]        Config.URL (ParseURL); -ldap-url 'url [MODE]'
//	AuthLDAPBindDN                          Config.BindDN; -ldap-bind-dn
//	AuthLDAPBindPassword                    Config.BindPassword; -ldap-bind-password-file
//	AuthLDAPRemoteUserAttribute             Config.RemoteUserAttribute; -ldap-remote-user-attribute
//	AuthLDAPGroupAttribute                  Config.GroupAttributes; -ldap-group-attribute
//	AuthLDAPGroupAttributeIsDN off          Config.GroupMembersAreNames; -ldap-group-attribute-is-dn=false
//	AuthLDAPSubGroupAttribute               Config.SubGroupAttributes; -ldap-subgroup-attribute
//	AuthLDAPSubGroupClass                   Config.SubGroupClasses; -ldap-subgroup-class
//	AuthLDAPMaxSubGroupDepth                Config.MaxSubGroupDepth; -ldap-max-subgroup-depth
//	AuthLDAPReferrals                       Config.ChaseReferrals (off by default, unlike Apache); -ldap-referrals
//	AuthLDAPReferralHopLimit                Config.ReferralHopLimit; -ldap-referral-hop-limit
//	LDAPTrustedGlobalCert CA_BASE64 file    Config.TLSConfig; -ldap-ca-file
//	LDAPConnectionTimeout, LDAPTimeout      Config.Timeout (one bound per call); -ldap-timeout
//	LDAPCacheTTL, LDAPOpCacheTTL            Config.CacheTTL; -ldap-cache-ttl
//	LDAPCacheEntries, LDAPOpCacheEntries    Config.CacheEntries; -ldap-cache-entries
//	Require ldap-user / ldap-dn / ldap-group / ldap-attribute / ldap-filter
//	                                        Directory.Require; -require 'ldap-group DN'
//	AuthLDAPCompareDNOnServer               not needed: ldap-dn compares parsed DNs
//	AuthLDAPDereferenceAliases              always, Apache's default, for the user search
//	AuthLDAPAuthorizePrefix, AUTHENTICATE_* auth.User.Attributes instead of environment variables
//
// The Active Directory form of Trac's mod_wsgi guide, on the global catalog (3268, or
// 3269 for ldaps), works as is: -ldap-url
// 'ldap://ad.company.com:3268/DC=company,DC=com?sAMAccountName?sub?(objectClass=user)'
// with -require 'ldap-group CN=Trac Users,CN=Users,DC=company,DC=com'. Use
// userPrincipalName as the URL's attribute for alice@company.com logins.
//
// # Security
//
//   - The user name is escaped into the search filter (RFC 4515: *, (, ),
//     \, NUL and every non-ASCII byte), so no name can widen the search;
//     a name that matches several entries is refused, never the first one
//     taken.
//   - An empty password is refused before the directory is contacted: an
//     LDAP simple bind with a DN and no password is an unauthenticated bind
//     that servers answer with success.
//   - Failures fail closed: an unreachable, hung or misconfigured directory
//     is an error (503 from auth.MustBasic, a refused request from Require),
//     never a login or a grant; the client sees only the status text, the
//     log gets the detail.
//   - The login cache is keyed by an HMAC-SHA256 of name and password under
//     a random per-process key: it holds no password and its keys are
//     useless to anyone reading memory without the key. Wrong passwords are
//     never cached. A password changed or an account disabled in the
//     directory keeps working for up to CacheTTL, as with Apache; set a
//     short CacheTTL where that matters.
//   - The bind password and the users' passwords cross the network in
//     clear with ldap:// and no STARTTLS: use ldaps:// or the STARTTLS
//     keyword beyond loopback. A referral never downgrades a STARTTLS
//     configuration to clear text.
//   - Referrals are not chased unless ChaseReferrals is set: a chased
//     referral sends the service account's password to the referred
//     server.
package ldapauth
