#!/bin/bash
# bench/auth-basic.sh (issue 5): a hello-world WSGI app behind HTTP Basic with
# a bcrypt (cost 10) htpasswd made by Debian's htpasswd, under cmd/gowsgi
# (-htpasswd FILE -require valid-user) and Apache (mod_auth_basic +
# mod_authn_file, mod_wsgi embedded), each also unprotected, in one run.
# Prints requests/s, ratios to gowsgi, and each server's protected ÷
# unprotected. Target: gowsgi protected ≥ 0.95× gowsgi unprotected.
# Run as root on Debian 12: sudo bench/auth-basic.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup auth-basic
ensure_debs curl wrk python3 apache2 apache2-utils libapache2-mod-wsgi-py3
build_gowsgi

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/hello.py" "$APP/hello.py"
USER_NAME=alice
USER_PASS=$("$PY3" -c 'import secrets; print(secrets.token_urlsafe(12))')
htpasswd -c -b -B -C 10 "$WORK/bcrypt.htpasswd" "$USER_NAME" "$USER_PASS" 2>/dev/null ||
	die "htpasswd -B -C 10 failed"
htpasswd -c -b -m "$WORK/apr1.htpasswd" "$USER_NAME" "$USER_PASS" 2>/dev/null ||
	die "htpasswd -m failed"
chmod -R a+rX "$APP" "$WORK"/*.htpasswd
AUTH="Authorization: Basic $(printf '%s:%s' "$USER_NAME" "$USER_PASS" | base64 -w0)"
BAD_AUTH="Authorization: Basic $(printf '%s:%s' "$USER_NAME" "wrong-$USER_PASS" | base64 -w0)"

label gowsgi-open "gowsgi unprotected"
label gowsgi-basic "gowsgi Basic, bcrypt cost 10"
label apache-open "Apache mod_wsgi embedded, unprotected"
label apache-apr1 "Apache Basic, \$apr1\$ (MD5) htpasswd"
label apache-basic "Apache Basic, bcrypt cost 10 (wrk -c4)"

start_gowsgi gowsgi-open -processes 2 -threads 1 "$APP/hello.py"
if gowsgi_has_flags htpasswd require realm; then
	start_gowsgi gowsgi-basic -processes 2 -threads 1 -htpasswd "$WORK/bcrypt.htpasswd" \
		-realm bench -require valid-user "$APP/hello.py"
else
	fail gowsgi-basic "cmd/gowsgi has no -htpasswd/-require/-realm flags yet"
fi

port=$(apache_conf apache wsgi auth_basic authn_core authn_file authz_user)
cat >>"$WORK/apache/httpd.conf" <<CONF
WSGISocketPrefix $WORK/apache/wsgi
WSGIScriptAlias / $APP/hello.py
<Directory $APP>
    Require all granted
</Directory>
<Location /bcrypt>
    AuthType Basic
    AuthName bench
    AuthBasicProvider file
    AuthUserFile $WORK/bcrypt.htpasswd
    Require valid-user
</Location>
<Location /apr1>
    AuthType Basic
    AuthName bench
    AuthBasicProvider file
    AuthUserFile $WORK/apr1.htpasswd
    Require valid-user
</Location>
CONF
apache_start apache "$port"
if [[ $(result_of apache) == FAILED ]]; then
	for p in apache-open apache-basic apache-apr1; do fail "$p" "Apache did not start"; done
else
	set_url apache-open "$(url_of apache)/open" "$(pid_of apache)"
	set_url apache-basic "$(url_of apache)/bcrypt" "$(pid_of apache)"
	set_url apache-apr1 "$(url_of apache)/apr1" "$(pid_of apache)"
fi

# The protected ones must refuse no and wrong credentials and accept the right
# ones; a fast 401 is not a result.
check_status gowsgi-open "$(url_of gowsgi-open)/" 200
for p in gowsgi-basic apache-basic apache-apr1; do
	check_status "$p" "$(url_of "$p")" 401
	check_status "$p" "$(url_of "$p")" 401 -H "$BAD_AUTH"
	check_status "$p" "$(url_of "$p")" 200 -H "$AUTH"
done
check_status apache-open "$(url_of apache-open)" 200

# bcrypt makes Apache slow: a long wrk timeout so that slow is measured, not
# counted as errors.
for ((round = 1; round <= ROUNDS; round++)); do
	bench_rps gowsgi-open "$(url_of gowsgi-open)/" --timeout 30s
	bench_rps gowsgi-basic "$(url_of gowsgi-basic)" --timeout 30s -H "$AUTH"
	bench_rps apache-open "$(url_of apache-open)" --timeout 30s
	bench_rps apache-apr1 "$(url_of apache-apr1)" --timeout 30s -H "$AUTH"
	# Last, without a warm-up and with 4 connections: Apache checks bcrypt
	# (~60 ms of CPU) on every request, so its rate is CPU-bound at any
	# concurrency, and with 32 connections a 6 s run on a busy machine ends
	# before the first batch does; it also goes on checking the requests
	# wrk leaves in flight, which would slow down whatever comes next.
	CONNS=4 WARMUP=0 bench_rps apache-basic "$(url_of apache-basic)" --timeout 30s -H "$AUTH"
	sleep 2
done
drop_row apache # the instance itself is not a row, its locations are

print_table "auth-basic: hello world behind Basic auth, requests/s ($(conditions))" "req/s" gowsgi-open
verdict "gowsgi protected ÷ gowsgi unprotected" gowsgi-basic gowsgi-open 0.95
printf 'Apache protected ÷ Apache unprotected: bcrypt %s, %s %s\n' \
	"$(ratio "$(result_of apache-basic)" "$(result_of apache-open)")" "\$apr1\$" \
	"$(ratio "$(result_of apache-apr1)" "$(result_of apache-open)")"
