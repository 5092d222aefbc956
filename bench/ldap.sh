#!/bin/bash
# bench/ldap.sh: Basic + LDAP logins/s with a cache, cmd/gowsgi
# (-ldap-url ... -require valid-user, and -require 'ldap-group DN' through a
# nested group) vs Apache mod_authnz_ldap with mod_ldap's cache (defaults)
# and mod_wsgi embedded, against one slapd this script starts in a temp dir
# with auth/ldapauth/testdata's directory. Goal: gowsgi ≥ Apache.
# Run as root on Debian 12: sudo bench/ldap.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup ldap
ensure_debs curl wrk python3 slapd ldap-utils apache2 libapache2-mod-wsgi-py3
build_gowsgi

FIXTURES=$REPO_DIR/auth/ldapauth/testdata
[[ -r $FIXTURES/directory.ldif && -r $FIXTURES/ad.schema ]] ||
	die "missing fixtures $FIXTURES/directory.ldif and ad.schema"
SUFFIX=dc=example,dc=com
# The whole naming context as base, as the AuthLDAPURL of Trac's mod_wsgi guide does (users and
# groups in different branches below it).
BASE_URL_PATH="$SUFFIX?uid?sub?(objectClass=inetOrgPerson)"
BIND_DN=cn=reader,$SUFFIX
GROUP_DN=cn=trac-users,ou=groups,$SUFFIX
# alice is in trac-users directly; carol through devs (groupOfUniqueNames).
basic() { printf 'Authorization: Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }
ALICE=$(basic alice alicepw)
CAROL=$(basic carol carolpw)
BOB=$(basic bob bobpw)
WRONG=$(basic alice wrong)

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/hello.py" "$APP/hello.py"
chmod -R a+rX "$APP"
printf '%s\n' readerpw >"$WORK/bindpw"
chmod 0600 "$WORK/bindpw"

label gowsgi-valid "gowsgi LDAP, require valid-user (alice)"
label gowsgi-group "gowsgi LDAP, require ldap-group, nested (carol)"
label apache-valid "Apache authnz_ldap, valid-user (alice)"
label apache-group "Apache authnz_ldap, ldap-group, nested (carol)"
label gowsgi-open "gowsgi unprotected (reference)"
label apache-open "Apache mod_wsgi embedded, unprotected (reference)"

start_slapd slapd "$SUFFIX" secret "$FIXTURES/directory.ldif" "$FIXTURES/ad.schema"
[[ $(result_of slapd) == FAILED ]] && die "slapd did not start; nothing to measure"
AUTH_LDAP_URL="$LDAP_URL/$BASE_URL_PATH"

start_gowsgi gowsgi-open -processes 2 -threads 1 "$APP/hello.py"
if gowsgi_has_flags ldap-url ldap-bind-dn ldap-bind-password-file require realm; then
	start_gowsgi gowsgi-valid -processes 2 -threads 1 -realm bench -ldap-url "$AUTH_LDAP_URL" \
		-ldap-bind-dn "$BIND_DN" -ldap-bind-password-file "$WORK/bindpw" \
		-require valid-user "$APP/hello.py"
	start_gowsgi gowsgi-group -processes 2 -threads 1 -realm bench -ldap-url "$AUTH_LDAP_URL" \
		-ldap-bind-dn "$BIND_DN" -ldap-bind-password-file "$WORK/bindpw" \
		-require "ldap-group $GROUP_DN" "$APP/hello.py"
else
	fail gowsgi-valid "cmd/gowsgi has no -ldap-url/-ldap-bind-dn/-ldap-bind-password-file/-require/-realm flags yet"
	fail gowsgi-group "cmd/gowsgi has no LDAP flags yet"
fi

port=$(apache_conf apache wsgi auth_basic authn_core authz_user ldap authnz_ldap)
ldap_block() {
	cat <<CONF
    AuthType Basic
    AuthName bench
    AuthBasicProvider ldap
    AuthLDAPURL "$AUTH_LDAP_URL"
    AuthLDAPBindDN "$BIND_DN"
    AuthLDAPBindPassword readerpw
CONF
}
cat >>"$WORK/apache/httpd.conf" <<CONF
WSGISocketPrefix $WORK/apache/wsgi
WSGIScriptAlias / $APP/hello.py
<Directory $APP>
    Require all granted
</Directory>
# mod_ldap's cache with its defaults (LDAPCacheTTL 600, LDAPOpCacheTTL 600).
LDAPSharedCacheSize 500000
<Location /valid>
$(ldap_block)
    Require valid-user
</Location>
<Location /group>
$(ldap_block)
    AuthLDAPMaxSubGroupDepth 10
    Require ldap-group $GROUP_DN
</Location>
CONF
apache_start apache "$port"
if [[ $(result_of apache) == FAILED ]]; then
	for p in apache-valid apache-group apache-open; do fail "$p" "Apache did not start"; done
else
	set_url apache-valid "$(url_of apache)/valid" "$(pid_of apache)"
	set_url apache-group "$(url_of apache)/group" "$(pid_of apache)"
	set_url apache-open "$(url_of apache)/open" "$(pid_of apache)"
fi

# Right answers before speed: no credentials and a wrong password get 401,
# bob (not in the group) 401 or 403 on the group location, alice / carol 200.
check_status gowsgi-open "$(url_of gowsgi-open)/" 200
check_status apache-open "$(url_of apache-open)" 200
for p in gowsgi-valid apache-valid; do
	check_status "$p" "$(url_of "$p")" 401
	check_status "$p" "$(url_of "$p")" 401 -H "$WRONG"
	check_status "$p" "$(url_of "$p")" 200 -H "$ALICE"
done
for p in gowsgi-group apache-group; do
	check_status "$p" "$(url_of "$p")" 401
	check_status "$p" "$(url_of "$p")" 200 -H "$CAROL"
	got=$(curl -s -o /dev/null -w '%{http_code}' -H "$BOB" "$(url_of "$p")" || true)
	[[ $got == 401 || $got == 403 ]] || [[ $(result_of "$p") == FAILED ]] ||
		fail "$p" "bob (not in $GROUP_DN) got $got, want 401 or 403"
done

for ((round = 1; round <= ROUNDS; round++)); do
	bench_rps gowsgi-valid "$(url_of gowsgi-valid)" -H "$ALICE"
	bench_rps gowsgi-group "$(url_of gowsgi-group)" -H "$CAROL"
	bench_rps apache-valid "$(url_of apache-valid)" -H "$ALICE"
	bench_rps apache-group "$(url_of apache-group)" -H "$CAROL"
	bench_rps gowsgi-open "$(url_of gowsgi-open)/"
	bench_rps apache-open "$(url_of apache-open)"
done
drop_row apache

print_table "ldap: Basic + LDAP logins/s, same slapd ($(conditions))" "req/s" gowsgi-valid
verdict "gowsgi ÷ Apache, valid-user" gowsgi-valid apache-valid 1.0
verdict "gowsgi ÷ Apache, nested ldap-group" gowsgi-group apache-group 1.0
