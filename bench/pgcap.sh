#!/bin/bash
# bench/pgcap.sh: the PostgreSQL connections of Trac's mod_wsgi guide, last
# section: three environments on one PostgreSQL 15 (started here, in a
# private directory, with log_connections on), 2 processes x 4 threads,
# PGCAP_CLIENTS (24) browser-like clients for PGCAP_DURATION (30s) per
# server, in one run:
#   Apache mod_wsgi daemon, pooling on (Trac's default)
#   Apache mod_wsgi daemon, poolable = False
#   gowsgi, pooling on, no cap
#   gowsgi, poolable = False
#   gowsgi -db-max-connections PGCAP_CAP (8), pooling on
# bench/pgload (a Go client, loopback only) prints, for each: p50/p90/p99
# latency, requests/s, errors (any status but 200), the peak number of
# backends of the three databases in pg_stat_activity (sampled every 20 ms),
# their number 10 s after the load, and the backends PostgreSQL started
# during the load (its "connection authorized" lines).
# Target with real Trac and a cap of 8: peak <= 8, 0 errors, throughput
# >= 0.9x gowsgi without a cap, backends started <= 2% of the requests.
#
# Usage: sudo bench/pgcap.sh [TRAC]
#   TRAC is a Trac source tree (a directory holding trac/db/pool.py, such as
#   a checkout of https://github.com/edgewall/trac at trac-1.6) or the word
#   "installed" for the trac package Debian's python3 imports. Trac is not
#   packaged by Debian 12. Without TRAC the same table is measured with
#   wsgi/testdata/dbpool.wsgi, a small psycopg2 application whose
#   process-wide pool behaves like Trac's (thread affinity, LRU, idle
#   connections closed lazily), each request holding its connection
#   PGCAP_WORK_MS (20) ms; the table then says so.
# Tunables: PGCAP_DURATION, PGCAP_CLIENTS, PGCAP_CAP, PGCAP_WORK_MS, GOWSGI,
# KEEP=1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${PGCAP_DURATION:=30s}" "${PGCAP_CLIENTS:=24}" "${PGCAP_CAP:=8}" "${PGCAP_WORK_MS:=20}"
TRAC=${1:-}
PGBIN=/usr/lib/postgresql/15/bin

setup pgcap
ensure_debs curl python3 python3-psycopg2 postgresql-15 apache2 libapache2-mod-wsgi-py3
build_gowsgi
gobin=$(PATH=$PATH:/usr/local/go/bin command -v go) || die "go not found (needed for bench/pgload)"
(cd "$REPO_DIR" && "$gobin" build -o "$WORK/pgload" ./bench/pgload) || die "go build ./bench/pgload failed"

# --- PostgreSQL ----------------------------------------------------------------
PGPORT=$(free_port)
install -d -o postgres -g postgres -m 0700 "$WORK/pg"
setpriv --reuid postgres --regid postgres --init-groups "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres >"$WORK/initdb.log" 2>&1 ||
	die "initdb failed: $(tail -n 5 "$WORK/initdb.log")"
start_bg postgres setpriv --reuid postgres --regid postgres --init-groups "$PGBIN/postgres" -D "$WORK/pg/data" \
	-c "port=$PGPORT" -c listen_addresses=127.0.0.1 -c "unix_socket_directories=$WORK/pg" \
	-c max_connections=200 -c log_connections=on -c fsync=off -c synchronous_commit=off
PGLOG=$WORK/postgres.log
for ((i = 0; i < 100; i++)); do
	"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" && break
	sleep 0.1
done
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" || die "PostgreSQL did not start: $(tail -n 5 "$PGLOG")"
psql() { "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"; }
for e in env1 env2 env3; do
	psql -c "CREATE DATABASE $e" postgres || die "CREATE DATABASE $e failed"
done
backends() { psql -At -c "SELECT count(*) FROM pg_stat_activity WHERE datname IN ('env1','env2','env3')" postgres; }

# --- the application -------------------------------------------------------------
APP=$WORK/app
mkdir -p "$APP"
if [[ -n $TRAC ]]; then
	ensure_debs python3-jinja2 python3-babel python3-pkg-resources
	tracpath=""
	if [[ $TRAC == installed ]]; then
		"$PY3" -c 'import trac' 2>/dev/null || die "TRAC=installed: $PY3 cannot import trac"
	else
		[[ -f $TRAC/trac/db/pool.py ]] || die "$TRAC is not a Trac source tree (no trac/db/pool.py)"
		# A copy with its egg-info: Trac finds its own components (the
		# database backends) through entry points.
		ensure_debs python3-setuptools
		cp -a "$TRAC" "$WORK/trac-src"
		tracpath=$WORK/trac-src
		(cd "$tracpath" && "$PY3" setup.py -q egg_info >"$WORK/egg_info.log" 2>&1) ||
			die "python3 setup.py egg_info in the copy of $TRAC failed: $(tail -n 5 "$WORK/egg_info.log")"
	fi
	KIND="Trac $(PYTHONPATH=$tracpath "$PY3" -c 'import trac; print(trac.__version__)')"
	mkdir -p "$APP/envs"
	for e in env1 env2 env3; do
		PYTHONPATH=$tracpath "$PY3" -c 'import sys; from trac.admin.console import run; sys.exit(run(sys.argv[1:]))' \
			"$APP/envs/$e" initenv "$e" "postgres://postgres@127.0.0.1:$PGPORT/$e" >"$WORK/initenv-$e.log" 2>&1 ||
			die "trac-admin initenv $e failed: $(tail -n 5 "$WORK/initenv-$e.log")"
	done
	chown -R www-data:www-data "$APP/envs"
	for mode in pool nopool; do
		{
			echo "import os, sys"
			[[ -n $tracpath ]] && echo "sys.path.insert(0, '$tracpath')"
			echo "os.environ['TRAC_ENV_PARENT_DIR'] = '$APP/envs'"
			echo "os.environ.setdefault('PYTHON_EGG_CACHE', '$APP/eggs')"
			if [[ $mode == nopool ]]; then
				echo "from trac.db.postgres_backend import PostgreSQLConnection"
				echo "PostgreSQLConnection.poolable = False"
			fi
			echo "import trac.web.main"
			echo "application = trac.web.main.dispatch_request"
		} >"$APP/$mode.wsgi"
	done
	PATHS=""
	for p in wiki/WikiStart timeline report/1; do
		for e in env1 env2 env3; do PATHS+="${PATHS:+,}/$e/$p"; done
	done
else
	KIND="Trac-like pool (wsgi/testdata/dbpool.wsgi, ${PGCAP_WORK_MS} ms a request): NOT real Trac (pass a Trac source tree)"
	log "no Trac given: measuring the Trac-like pool application instead (usage: bench/pgcap.sh [TRAC-SOURCE-TREE|installed])"
	for mode in pool nopool; do
		poolable=1
		[[ $mode == nopool ]] && poolable=0
		cat >"$APP/$mode.wsgi" <<PY
import os
os.environ['DBPOOL_DSN'] = 'host=127.0.0.1 port=$PGPORT user=postgres dbname=env1'
os.environ['DBPOOL_POOLABLE'] = '$poolable'
os.environ['DBPOOL_WORK_MS'] = '$PGCAP_WORK_MS'
_src = '$REPO_DIR/wsgi/testdata/dbpool.wsgi'
_env = {'__name__': 'dbpool', '__file__': _src}
exec(compile(open(_src).read(), _src, 'exec'), _env)
application = _env['application']
PY
	done
	# Its "environments" are the paths, keys of the one pool, on one database.
	PATHS=/env1,/env2,/env3
fi
chmod -R a+rX "$APP"

# --- the servers, one at a time ------------------------------------------------------
ROWS=()
measure() {
	local name=$1 label=$2 out
	ROWS+=("$name")
	label "$name" "$label"
	[[ $(result_of "$name") == FAILED ]] && return 0
	log "pgload $name: $PGCAP_CLIENTS clients, $PGCAP_DURATION, then 10 s idle"
	if ! out=$("$WORK/pgload" -url "$(url_of "$name")" -paths "$PATHS" -clients "$PGCAP_CLIENTS" -duration "$PGCAP_DURATION" \
		-pg "postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable" -databases env1,env2,env3 -pglog "$PGLOG" 2>"$WORK/$name.pgload"); then
		fail "$name" "pgload failed" "$WORK/$name.pgload"
		return 0
	fi
	sed -n 's/^result //p' <<<"$out" >"$WORK/$name.result"
	record "$name" "$(sed -n 's/.*rps=\([^ ]*\).*/\1/p' "$WORK/$name.result")"
}
# stop_backends: wait until the databases have no backend (the server that
# held them stopped).
stop_backends() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(backends) == 0 ]] && return 0
		sleep 0.1
	done
	psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ('env1','env2','env3')" postgres >/dev/null
}
stop_gowsgi() {
	local pid i
	pid=$(pid_of "$1")
	[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	stop_backends
}
stop_apache() {
	local dir=$WORK/$1 pid i
	pid=$(cat "$dir/httpd.pid" 2>/dev/null || true)
	/usr/sbin/apache2 -f "$dir/httpd.conf" -k stop >/dev/null 2>&1 || true
	for ((i = 0; i < 100; i++)); do
		[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	stop_backends
}

for mode in pool nopool; do
	name=apache-$mode
	port=$(apache_conf "$name" wsgi)
	modwsgi_daemon "$name" "pgcap$mode" "$APP/$mode.wsgi" 2 4
	apache_start "$name" "$port"
	check_status "$name" "$(url_of "$name")${PATHS%%,*}" 200
	lbl="Apache mod_wsgi daemon, pooling on"
	[[ $mode == nopool ]] && lbl="Apache mod_wsgi daemon, poolable = False"
	measure "$name" "$lbl"
	stop_apache "$name"
done
for mode in pool nopool cap; do
	name=gowsgi-$mode
	args=(-processes 2 -threads 4)
	script=$APP/pool.wsgi
	lbl="gowsgi, pooling on"
	case $mode in
	nopool)
		script=$APP/nopool.wsgi
		lbl="gowsgi, poolable = False"
		;;
	cap)
		gowsgi_has_flags db-max-connections || die "this gowsgi has no -db-max-connections"
		args+=(-db-max-connections "$PGCAP_CAP")
		lbl="gowsgi -db-max-connections $PGCAP_CAP, pooling on"
		;;
	esac
	start_gowsgi "$name" "${args[@]}" "$script"
	check_status "$name" "$(url_of "$name")${PATHS%%,*}" 200
	measure "$name" "$lbl"
	stop_gowsgi "$name"
done

# --- the table -------------------------------------------------------------------
field() { tr ' ' '\n' <"$WORK/$1.result" | sed -n "s/^$2=//p"; }
printf '\n%s; 2 processes x 4 threads, %s clients for %s, PostgreSQL 15\n\n' "$KIND" "$PGCAP_CLIENTS" "$PGCAP_DURATION"
printf '| %-46s | %-20s | %9s | %13s | %10s | %16s | %6s |\n' server "p50/p90/p99" "req/s" "peak backends" "after 10 s" "backends started" errors
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "$(printf -- '-%.0s' {1..22})" "$(printf -- '-%.0s' {1..11})" \
	"$(printf -- '-%.0s' {1..15})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..18})" "$(printf -- '-%.0s' {1..8})"
for n in "${ROWS[@]}"; do
	if [[ $(result_of "$n") == FAILED || ! -s $WORK/$n.result ]]; then
		printf '| %-46s | %s |\n' "${_RES_LABEL[$n]}" "FAILED: ${_RES_NOTE[$n]:-}"
		continue
	fi
	lat=$(awk -v a="$(field "$n" p50_ms)" -v b="$(field "$n" p90_ms)" -v c="$(field "$n" p99_ms)" 'BEGIN {printf "%.2f/%.2f/%.2f s", a/1000, b/1000, c/1000}')
	printf '| %-46s | %-20s | %9s | %13s | %10s | %16s | %6s |\n' "${_RES_LABEL[$n]}" "$lat" "$(field "$n" rps)" \
		"$(field "$n" peak)" "$(field "$n" after)" "$(field "$n" started)" "$(field "$n" errors)"
done
printf '\n(bench/pgcap.sh %s; PGCAP_DURATION=%s PGCAP_CLIENTS=%s PGCAP_CAP=%s)\n' "${TRAC:-(no Trac)}" "$PGCAP_DURATION" "$PGCAP_CLIENTS" "$PGCAP_CAP"
