#!/bin/sh
# examples/ldap/slapd.sh DIR PORT: start Debian's slapd (apt-get install slapd
# ldap-utils) with the directory of company.ldif on ldap://127.0.0.1:PORT,
# its database in DIR, and print its pid; stop it with kill PID. It is the
# Active Directory stand-in for the README's LDAP command line:
#   -ldap-url 'ldap://127.0.0.1:PORT/DC=company,DC=com?sAMAccountName?sub?(objectClass=user)'
#   -ldap-bind-dn 'CN=svc-trac,CN=Users,DC=company,DC=com' (password: the_password)
# Users: jdoe/jdoepw and msmith/msmithpw are in "Trac Users" (msmith through
# the nested group Developers); rroe/rroepw is not.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 DIR PORT" >&2; exit 2; }
mkdir -p "$1/db"
DIR=$(cd "$1" && pwd)
PORT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
SCHEMA=$HERE/../../auth/ldapauth/testdata/ad.schema
SLAPD=$(command -v slapd || echo /usr/sbin/slapd)
cat > "$DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include $SCHEMA
pidfile $DIR/slapd.pid
argsfile $DIR/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 67108864
suffix "DC=company,DC=com"
rootdn "cn=admin,DC=company,DC=com"
rootpw secret
directory $DIR/db
index objectClass eq
index cn,member,sAMAccountName eq
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
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
if ! ldapsearch -x -H "ldap://127.0.0.1:$PORT" -D cn=admin,DC=company,DC=com -w secret -b DC=company,DC=com -s base >/dev/null 2>&1; then
	ldapadd -x -H "ldap://127.0.0.1:$PORT" -D cn=admin,DC=company,DC=com -w secret -f "$HERE/company.ldif" >/dev/null
fi
echo $PID
