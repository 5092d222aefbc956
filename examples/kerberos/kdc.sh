#!/bin/bash
# examples/kerberos/kdc.sh DIR PORT: create the test realm GOWSGI.TEST in DIR
# with Debian's MIT KDC (apt-get install krb5-kdc krb5-admin-server
# krb5-user), start krb5kdc on 127.0.0.1:PORT and print its pid; stop it
# with kill PID. It makes users alice/alicepw and bob/bobpw, the service
# principal HTTP/localhost in DIR/http.keytab, and DIR/krb5.conf for clients
# (KRB5_CONFIG=DIR/krb5.conf kinit alice; curl --negotiate -u : ...). It is
# the domain of the README's SSPI-style command line.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 DIR PORT" >&2; exit 2; }
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
PORT=$2
REALM=GOWSGI.TEST
PATH=$PATH:/usr/sbin:/sbin
cat > "$DIR/krb5.conf" <<CONF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
	default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
	default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
	permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
[realms]
	$REALM = {
		kdc = 127.0.0.1:$PORT
		admin_server = 127.0.0.1:$PORT
	}
[domain_realm]
	localhost = $REALM
	.localhost = $REALM
	127.0.0.1 = $REALM
CONF
cat > "$DIR/kdc.conf" <<CONF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$PORT
	kdc_tcp_listen = 127.0.0.1:$PORT
[realms]
	$REALM = {
		database_name = $DIR/principal
		key_stash_file = $DIR/stash
		acl_file = $DIR/kadm5.acl
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:$DIR/kdc.log
	default = FILE:$DIR/kdc.log
CONF
: > "$DIR/kadm5.acl"
export KRB5_CONFIG="$DIR/krb5.conf" KRB5_KDC_PROFILE="$DIR/kdc.conf"
if [ ! -e "$DIR/principal" ]; then
	kdb5_util -r $REALM create -s -P "master-$(date +%s%N)" >/dev/null
	kadmin.local -q "addprinc -pw alicepw alice" >/dev/null 2>&1
	kadmin.local -q "addprinc -pw bobpw bob" >/dev/null 2>&1
	kadmin.local -q "addprinc -randkey HTTP/localhost" >/dev/null 2>&1
	kadmin.local -q "ktadd -k $DIR/http.keytab HTTP/localhost" >/dev/null 2>&1
fi
krb5kdc -n -r $REALM >"$DIR/krb5kdc.out" 2>&1 &
PID=$!
i=0
until (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 150 ] || ! kill -0 $PID 2>/dev/null; then
		echo "krb5kdc did not start:" >&2; cat "$DIR/krb5kdc.out" "$DIR/kdc.log" >&2; kill $PID 2>/dev/null; exit 1
	fi
	sleep 0.1
done
echo $PID
