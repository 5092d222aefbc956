#!/bin/sh
# slapd-fixture.sh DIR PORT: start Debian's slapd with the test directory of
# auth/ldapauth (the same slapd.conf as internal/testenv.StartSlapd writes,
# the same ad.schema and directory.ldif) on ldap://127.0.0.1:PORT, in the
# foreground's background, and print its pid. Stop it with kill PID.
#
# For benchmarks against Apache's mod_authnz_ldap, e.g.:
#   AuthLDAPURL "ldap://127.0.0.1:PORT/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)"
#   AuthLDAPBindDN cn=reader,dc=example,dc=com
#   AuthLDAPBindPassword readerpw
#   Require ldap-group cn=trac-users,ou=groups,dc=example,dc=com
# with user carol / carolpw (a member through the nested group cn=devs), or
# alice / alicepw (a direct member).
set -eu
[ $# -eq 2 ] || { echo "usage: $0 DIR PORT" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
PORT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
SLAPD=$(command -v slapd || echo /usr/sbin/slapd)
mkdir -p "$DIR/db"
cat > "$DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include $HERE/ad.schema
pidfile $DIR/slapd.pid
argsfile $DIR/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
sizelimit 500
timelimit 30
database mdb
maxsize 67108864
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw secret
directory $DIR/db
index objectClass eq
index uid,cn,member,uniqueMember,memberUid eq
access to attrs=userPassword by anonymous auth by * none
access to dn.subtree="DC=corp,dc=example,dc=com" by users read by * none
access to * by * read
CONF
"$SLAPD" -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$PORT/" -d 0 >"$DIR/slapd.log" 2>&1 &
PID=$!
i=0
until ldapsearch -x -H "ldap://127.0.0.1:$PORT" -b "" -s base >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 150 ] || ! kill -0 $PID 2>/dev/null; then
		echo "slapd did not start:" >&2; cat "$DIR/slapd.log" >&2; kill $PID 2>/dev/null; exit 1
	fi
	sleep 0.1
done
if ! ldapsearch -x -H "ldap://127.0.0.1:$PORT" -b dc=example,dc=com -s base >/dev/null 2>&1; then
	ldapadd -x -H "ldap://127.0.0.1:$PORT" -D cn=admin,dc=example,dc=com -w secret -f "$HERE/directory.ldif" >/dev/null
fi
echo $PID
