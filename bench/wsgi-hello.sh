#!/bin/bash
# bench/wsgi-hello.sh (issue 2): a hello-world WSGI app under cmd/gowsgi, uWSGI,
# gunicorn and Apache mod_wsgi (embedded and daemon mode), in one run, wrk on
# loopback; prints requests/s and each peer's ratio to gowsgi.
# Target: gowsgi (-processes 2 -threads 1) ≥ uWSGI (2 processes).
# Run as root on Debian 12: sudo bench/wsgi-hello.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup wsgi-hello
ensure_debs curl wrk python3 uwsgi uwsgi-plugin-python3 gunicorn apache2 libapache2-mod-wsgi-py3
build_gowsgi

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/hello.py" "$APP/hello.py"
chmod -R a+rX "$APP"

label gowsgi-p2t1 "gowsgi -processes 2 -threads 1"
label gowsgi-p2t4 "gowsgi -processes 2 -threads 4"
label uwsgi "uWSGI 2 processes (--http-socket)"
label uwsgi11 "uWSGI 2 processes (--http11-socket, keep-alive)"
label uwsgi-router "uWSGI 2 processes behind its HTTP router (--http)"
label gunicorn "gunicorn sync, 2 workers"
label modwsgi-embedded "Apache mod_wsgi embedded (event, 2 children)"
label modwsgi-daemon "Apache mod_wsgi daemon processes=2 threads=4"

start_gowsgi gowsgi-p2t1 -processes 2 -threads 1 "$APP/hello.py"
start_gowsgi gowsgi-p2t4 -processes 2 -threads 4 "$APP/hello.py"
start_uwsgi uwsgi "$APP/hello.py" 2 http-socket
start_uwsgi uwsgi11 "$APP/hello.py" 2 http11-socket
# The quick-start way: a router process in front of the workers, as gowsgi
# is in front of its own.
start_uwsgi uwsgi-router "$APP/hello.py" 2 http
start_gunicorn gunicorn "$APP" hello:application 2

port=$(apache_conf modwsgi-embedded wsgi)
cat >>"$WORK/modwsgi-embedded/httpd.conf" <<CONF
WSGISocketPrefix $WORK/modwsgi-embedded/wsgi
WSGIScriptAlias / $APP/hello.py
<Directory $APP>
    Require all granted
</Directory>
CONF
apache_start modwsgi-embedded "$port"

port=$(apache_conf modwsgi-daemon wsgi)
cat >>"$WORK/modwsgi-daemon/httpd.conf" <<CONF
WSGISocketPrefix $WORK/modwsgi-daemon/wsgi
WSGIRestrictEmbedded On
WSGIDaemonProcess hello processes=2 threads=4
WSGIProcessGroup hello
WSGIApplicationGroup %{GLOBAL}
WSGIScriptAlias / $APP/hello.py
<Directory $APP>
    Require all granted
</Directory>
CONF
apache_start modwsgi-daemon "$port"

PEERS=(gowsgi-p2t1 gowsgi-p2t4 uwsgi uwsgi11 uwsgi-router gunicorn modwsgi-embedded modwsgi-daemon)
for p in "${PEERS[@]}"; do
	check_status "$p" "$(url_of "$p")/" 200
	[[ $(result_of "$p") == FAILED ]] && continue
	grep -q 'Hello, World!' "$WORK/$p.body" || fail "$p" "unexpected body: $(head -c 100 "$WORK/$p.body")"
done

for ((round = 1; round <= ROUNDS; round++)); do
	for p in "${PEERS[@]}"; do
		if [[ $p == uwsgi || $p == uwsgi-router ]]; then
			# --http-socket answers and closes: each request is a new
			# connection, which wrk reports as a read error.
			READ_ERRORS_OK=1 bench_rps "$p" "$(url_of "$p")/"
		else
			bench_rps "$p" "$(url_of "$p")/"
		fi
	done
done

print_table "wsgi-hello: hello-world WSGI app, requests/s ($(conditions))" "req/s" gowsgi-p2t1
verdict "gowsgi(p2) ÷ uWSGI(p2, --http-socket)" gowsgi-p2t1 uwsgi 1.0
verdict "gowsgi(p2) ÷ uWSGI(p2, --http11-socket)" gowsgi-p2t1 uwsgi11 1.0
verdict "gowsgi(p2) ÷ uWSGI(p2, --http router)" gowsgi-p2t1 uwsgi-router 1.0
