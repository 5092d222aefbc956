#!/bin/bash
# bench/wsgi-hello.sh: a hello-world WSGI app under cmd/gowsgi, uWSGI,
# gunicorn and Apache mod_wsgi (embedded and daemon mode), in one run, wrk on
# loopback; prints requests/s and each peer's ratio to gowsgi.
# Target: gowsgi (-processes 2 -threads 1) ≥ uWSGI (2 processes).
#
# The table measures every peer ROUNDS times, interleaved, best kept. The
# target is then measured on its own, as lib.sh's "interleaved sequences":
# uWSGI (--http-socket) and gowsgi -processes 2 alternate, U (G U) x PAIRS
# (default 8) runs of SEQ_DURATION (default 3s) each, every G divided by the
# mean of the U runs around it; the verdict is the median of those ratios.
# Run as root on Debian 12: sudo bench/wsgi-hello.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${PAIRS:=8}" "${SEQ_DURATION:=3s}"

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
modwsgi_daemon modwsgi-daemon hello "$APP/hello.py" 2 4
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

# The target, head to head: U (G U) x PAIRS.
log "head to head: uwsgi and gowsgi-p2t1, $PAIRS pairs of ${SEQ_DURATION} runs"
: >"$WORK/sequence"
READ_ERRORS_OK=1 seq_run uwsgi "$(url_of uwsgi)/"
for ((round = 1; round <= PAIRS; round++)); do
	seq_run gowsgi-p2t1 "$(url_of gowsgi-p2t1)/"
	READ_ERRORS_OK=1 seq_run uwsgi "$(url_of uwsgi)/"
done

print_table "wsgi-hello: hello-world WSGI app, requests/s ($(conditions))" "req/s" gowsgi-p2t1

printf '\nHead to head (%s pairs of wrk -t%s -c%s -d%s, no pause), each gowsgi run against the mean of the uWSGI --http-socket runs just before and after it:\n' \
	"$PAIRS" "$WRK_THREADS" "$CONNS" "$SEQ_DURATION"
printf '%-6s %10s %10s %8s %12s %12s %12s\n' pair "gowsgi" "uWSGI" "ratio" "Go µs/req" "all µs/req" "uWSGI µs/req"
paste -d' ' <(bracket_ratios gowsgi-p2t1 uwsgi 1) <(awk '$1 == "gowsgi-p2t1" {print $3, $4}' "$WORK/sequence") \
	<(bracket_ratios gowsgi-p2t1 uwsgi 3) |
	awk '{printf "%-6d %10s %10.0f %8.3f %12s %12s %12.1f\n", NR, $2, $3, $1, $4, $5, $8}'
echo
verdict_median "gowsgi(p2) ÷ uWSGI(p2, --http-socket), req/s, head to head" gowsgi-p2t1 uwsgi 1 1.0
verdict_median "gowsgi(p2) ÷ uWSGI(p2, --http-socket), all processes' CPU per request, head to head" gowsgi-p2t1 uwsgi 3
printf 'table: gowsgi(p2) ÷ uWSGI(p2): --http-socket %s, --http11-socket %s, --http router %s\n' \
	"$(ratio "$(result_of gowsgi-p2t1)" "$(result_of uwsgi)")" \
	"$(ratio "$(result_of gowsgi-p2t1)" "$(result_of uwsgi11)")" \
	"$(ratio "$(result_of gowsgi-p2t1)" "$(result_of uwsgi-router)")"
