# bench/lib.sh: shared helpers for the side-by-side peer benchmarks.
#
# Sourced by bench/*.sh, never run on its own. It provides:
#   - setup: root check, Debian packages, a private work dir, an EXIT trap
#     that stops every server this script started (and only those);
#   - starting peers: gowsgi (built from this checkout), uWSGI, gunicorn,
#     Apache httpd (own ServerRoot, mpm_event), nginx, on loopback ports;
#   - measuring: wrk runs with a warm-up, parsed into numbers;
#   - reporting: one table per script, every figure as a ratio to gowsgi,
#     all from the same run.
#
# Tunables (environment): DURATION (wrk -d, default 6s), WARMUP (default 1s),
# WRK_THREADS (2), CONNS (32), ROUNDS (2: each peer measured ROUNDS times,
# interleaved, best kept), GOWSGI (a prebuilt cmd/gowsgi binary instead of
# building one), KEEP=1 (keep the work dir for inspection).

set -Eeuo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
PY3=/usr/bin/python3 # Debian's interpreter, the one every peer runs
APACHE_MODULES=/usr/lib/apache2/modules

: "${DURATION:=6s}" "${WARMUP:=1s}" "${WRK_THREADS:=2}" "${CONNS:=32}" "${ROUNDS:=2}"

WORK=""
FAILED=0
_PGIDS=()        # process groups started with start_bg
declare -A _PGNAME=() # their names
_APACHE_CONFS=() # Apache instances started with apache_start

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
	printf 'bench: FATAL: %s\n' "$*" >&2
	exit 1
}

# fail NAME MSG [LOGFILE]: record that a peer could not be started or
# measured, loudly, with the end of its log; the script goes on with the other
# peers and exits non-zero at the end.
fail() {
	local name=$1 msg=$2 logf=${3:-}
	FAILED=1
	printf 'bench: FAILED: %s: %s\n' "$name" "$msg" >&2
	if [[ -n $logf && -s $logf ]]; then
		printf 'bench: --- last lines of %s ---\n' "$logf" >&2
		tail -n 15 "$logf" | sed 's/^/bench:   /' >&2
	fi
	record "$name" FAILED "$msg"
}

# ensure_debs PKG...: install the missing Debian packages (apt-get update
# once, only when something is missing).
ensure_debs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	log "installing from Debian: ${missing[*]}"
	# Keep the packages' own services from starting on system ports.
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
	fi
	DEBIAN_FRONTEND=noninteractive apt-get update -q ||
		die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed"
}

# setup NAME: root check, work dir, cleanup trap.
setup() {
	local name=$1
	[[ $(id -u) == 0 ]] || die "run as root (it installs Debian packages and starts Apache/nginx as www-data)"
	WORK=$(mktemp -d "/tmp/gowsgi-bench-$name.XXXXXX")
	chmod 0755 "$WORK" # Apache's and nginx's www-data children read files here
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	log "work dir $WORK"
}

cleanup() {
	local rc=$? c pg pid i
	set +e
	for c in "${_APACHE_CONFS[@]}"; do
		pid=$(cat "$(dirname "$c")/httpd.pid" 2>/dev/null)
		/usr/sbin/apache2 -f "$c" -k stop >/dev/null 2>&1
		if [[ -n $pid ]]; then
			for ((i = 0; i < 50; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			# Apache's parent leads its own process group (it daemonized with setsid).
			kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
		fi
	done
	# SIGTERM to each leader (gowsgi, uWSGI's master, gunicorn's arbiter,
	# nginx's master, slapd), which stops its own workers; what is left of
	# the group after 5 s gets SIGTERM, then SIGKILL.
	for pg in "${_PGIDS[@]}"; do
		kill -TERM "$pg" 2>/dev/null
	done
	for pg in "${_PGIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 -- "-$pg" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 -- "-$pg" 2>/dev/null || continue
		log "${_PGNAME[$pg]} (process group $pg) still running 5 s after SIGTERM to its leader"
		kill -TERM -- "-$pg" 2>/dev/null
		for ((i = 0; i < 20; i++)); do
			kill -0 -- "-$pg" 2>/dev/null || break
			sleep 0.1
		done
		if kill -KILL -- "-$pg" 2>/dev/null; then
			log "${_PGNAME[$pg]} (process group $pg): killed"
		fi
	done
	if [[ -n $WORK && -d $WORK ]]; then
		if [[ ${KEEP:-0} == 1 ]]; then
			log "kept $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	((rc == 0 && FAILED)) && rc=1
	exit "$rc"
}

# free_port: a loopback TCP port that was free a moment ago.
free_port() {
	"$PY3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_bg NAME CMD...: run CMD in its own process group (stopped by the EXIT
# trap), output to $WORK/NAME.log. Sets BG_PID.
start_bg() {
	local name=$1
	shift
	setsid "$@" >"$WORK/$name.log" 2>&1 </dev/null &
	BG_PID=$!
	disown "$BG_PID" # the EXIT trap stops it; no job notices from bash
	_PGIDS+=("$BG_PID")
	_PGNAME[$BG_PID]=$name
}

# wait_http URL PID LOG [SECONDS]: wait until URL answers (any HTTP status);
# returns 1 when PID died or the time is up.
wait_http() {
	local url=$1 pid=$2 logf=$3 secs=${4:-30} i code
	for ((i = 0; i < secs * 10; i++)); do
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null || true)
		[[ $code != 000 && -n $code ]] && return 0
		if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# check_status NAME URL WANT [CURL-ARGS...]: the peer answers URL with status
# WANT, or it is failed.
check_status() {
	local name=$1 url=$2 want=$3 got
	shift 3
	[[ $(result_of "$name") == FAILED ]] && return 0
	got=$(curl -s -o "$WORK/$name.body" -m 10 -w '%{http_code}' "$@" "$url" 2>/dev/null || true)
	if [[ $got != "$want" ]]; then
		fail "$name" "GET $url: status $got, want $want" "$WORK/$name.body"
	fi
}

# --- gowsgi ------------------------------------------------------------------

# build_gowsgi: sets GOWSGI_BIN, from $GOWSGI or by building cmd/gowsgi from
# this checkout.
build_gowsgi() {
	if [[ -n ${GOWSGI:-} ]]; then
		[[ -x $GOWSGI ]] || die "GOWSGI=$GOWSGI is not an executable"
		GOWSGI_BIN=$GOWSGI
		return
	fi
	local gobin
	gobin=$(PATH=$PATH:/usr/local/go/bin command -v go) ||
		die "go not found (install Go ≥ the go.mod version in /usr/local/go, or set GOWSGI=/path/to/gowsgi)"
	GOWSGI_BIN=$WORK/gowsgi
	log "building cmd/gowsgi with $gobin"
	(cd "$REPO_DIR" && "$gobin" build -o "$GOWSGI_BIN" ./cmd/gowsgi) || die "go build ./cmd/gowsgi failed"
}

# gowsgi_has_flags FLAG...: the built command knows these flags.
gowsgi_has_flags() {
	local help f
	help=$("$GOWSGI_BIN" -h 2>&1 || true)
	for f in "$@"; do
		grep -q -- "^  -$f\b" <<<"$help" || return 1
	done
}

# start_gowsgi NAME ARGS...: start cmd/gowsgi on a free port with ARGS (flags
# then the script), its workers on Debian's python3; url_of NAME and pid_of
# NAME then answer. When it does not come up, NAME is failed (see fail).
start_gowsgi() {
	local name=$1 port
	shift
	port=$(free_port)
	# As root, gowsgi refuses to run its workers as root without
	# -allow-root (a binary built before the flag has no such check).
	local root=()
	if [[ $(id -u) = 0 ]] && gowsgi_has_flags allow-root; then root=(-allow-root); fi
	start_bg "$name" "$GOWSGI_BIN" -listen "127.0.0.1:$port" -python "$PY3" "${root[@]}" "$@"
	_up "$name" "http://127.0.0.1:$port" "$BG_PID"
}

# _up NAME BASEURL PID: wait for the peer, then record its URL and PID for
# url_of / pid_of; fail NAME when it does not answer.
_up() {
	local name=$1 base=$2 pid=$3
	if ! wait_http "$base/" "$pid" "$WORK/$name.log"; then
		fail "$name" "did not start (listening on $base)" "$WORK/$name.log"
		return 0
	fi
	printf -v "URL_${name//[^A-Za-z0-9_]/_}" '%s' "$base"
	printf -v "PID_${name//[^A-Za-z0-9_]/_}" '%s' "$pid"
}

# set_url NAME URL [PID]: the URL (and server process) a later url_of NAME
# (pid_of NAME) returns: another path of a started server.
set_url() {
	printf -v "URL_${1//[^A-Za-z0-9_]/_}" '%s' "$2"
	printf -v "PID_${1//[^A-Za-z0-9_]/_}" '%s' "${3:-}"
}

# url_of NAME / pid_of NAME: what _up recorded.
url_of() { local v="URL_${1//[^A-Za-z0-9_]/_}"; printf '%s' "${!v:-}"; }
pid_of() { local v="PID_${1//[^A-Za-z0-9_]/_}"; printf '%s' "${!v:-}"; }

# --- uWSGI and gunicorn ----------------------------------------------------

# start_uwsgi NAME SCRIPT PROCESSES [SOCKET-OPTION [THREADS]]: uWSGI speaking HTTP
# itself, prefork, Debian's python3 plugin, no request log. SOCKET-OPTION is
# http-socket (the default; it closes the connection after every response,
# which wrk counts as one read error per request: measure it with
# READ_ERRORS_OK=1), http (the HTTP router process in front of the workers;
# it closes connections too) or http11-socket (keeps connections alive).
# THREADS: request threads per process (default 1).
start_uwsgi() {
	local name=$1 script=$2 procs=$3 sock=${4:-http-socket} threads=${5:-1} port
	port=$(free_port)
	local plugins=python3
	# --http is the router, a plugin of its own in Debian's packaging.
	[[ $sock == http ]] && plugins=python3,http
	start_bg "$name" uwsgi --plugin "$plugins" "--$sock" "127.0.0.1:$port" \
		--master --processes "$procs" --threads "$threads" --wsgi-file "$script" \
		--disable-logging --die-on-term --need-app --listen 128
	_up "$name" "http://127.0.0.1:$port" "$BG_PID"
}

# start_gunicorn NAME DIR MODULE:CALLABLE WORKERS: gunicorn sync workers.
start_gunicorn() {
	local name=$1 dir=$2 app=$3 workers=$4 port
	port=$(free_port)
	start_bg "$name" gunicorn --chdir "$dir" --bind "127.0.0.1:$port" \
		--worker-class sync --workers "$workers" --backlog 128 "$app"
	_up "$name" "http://127.0.0.1:$port" "$BG_PID"
}

# --- Apache httpd ----------------------------------------------------------

# apache_conf NAME MODULES... : start a config in $WORK/NAME/httpd.conf with
# its own ServerRoot, pid file, error log, mutexes and runtime dir, mpm_event
# with 2 children, the given modules (without "mod_" and ".so"), never the
# system's /etc/apache2 configuration. Prints the port; the caller appends
# its own directives (the file is $WORK/NAME/httpd.conf).
apache_conf() {
	local name=$1 port dir m
	shift
	port=$(free_port)
	dir=$WORK/$name
	mkdir -p "$dir"
	{
		echo "ServerRoot $dir"
		echo "DefaultRuntimeDir $dir"
		echo "PidFile $dir/httpd.pid"
		echo "ErrorLog $dir/error.log"
		echo "LogLevel warn"
		echo "Mutex file:$dir default"
		echo "Listen 127.0.0.1:$port"
		echo "ServerName 127.0.0.1"
		echo "User www-data"
		echo "Group www-data"
		echo "LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so"
		echo "LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so"
		for m in "$@"; do
			echo "LoadModule ${m}_module $APACHE_MODULES/mod_$m.so"
		done
		# Two children like the other peers' two processes; enough threads
		# for wrk's connections.
		echo "StartServers 2"
		echo "ServerLimit 2"
		echo "ThreadsPerChild 32"
		echo "MaxRequestWorkers 64"
		echo "MinSpareThreads 32"
		echo "MaxSpareThreads 64"
		echo "MaxRequestsPerChild 0"
		echo "KeepAlive On"
		echo "MaxKeepAliveRequests 0"
		echo "KeepAliveTimeout 15"
	} >"$dir/httpd.conf"
	echo "$port"
}

# modwsgi_daemon NAME GROUP SCRIPT PROCESSES THREADS: append to
# $WORK/NAME/httpd.conf (from apache_conf NAME wsgi) mod_wsgi daemon mode
# serving SCRIPT at / with WSGIDaemonProcess GROUP processes= threads=,
# nothing embedded, in the main interpreter.
modwsgi_daemon() {
	local name=$1 group=$2 script=$3 procs=$4 threads=$5
	cat >>"$WORK/$name/httpd.conf" <<CONF
WSGISocketPrefix $WORK/$name/wsgi
WSGIRestrictEmbedded On
WSGIDaemonProcess $group processes=$procs threads=$threads
WSGIProcessGroup $group
WSGIApplicationGroup %{GLOBAL}
WSGIScriptAlias / $script
<Directory $(dirname "$script")>
    Require all granted
</Directory>
CONF
}

# apache_start NAME PORT: check and start $WORK/NAME/httpd.conf with
# apache2 -k start (it daemonizes; the EXIT trap stops it).
apache_start() {
	local name=$1 port=$2 dir=$WORK/$1 pid i
	if ! /usr/sbin/apache2 -f "$dir/httpd.conf" -t >"$WORK/$name.log" 2>&1; then
		fail "$name" "apache2 -t rejects the configuration" "$WORK/$name.log"
		return 0
	fi
	_APACHE_CONFS+=("$dir/httpd.conf")
	if ! /usr/sbin/apache2 -f "$dir/httpd.conf" -k start >>"$WORK/$name.log" 2>&1; then
		fail "$name" "apache2 -k start failed" "$dir/error.log"
		return 0
	fi
	for ((i = 0; i < 100; i++)); do
		[[ -s $dir/httpd.pid ]] && break
		sleep 0.1
	done
	pid=$(cat "$dir/httpd.pid" 2>/dev/null || true)
	if [[ -z $pid ]]; then
		fail "$name" "no pid file" "$dir/error.log"
		return 0
	fi
	if ! wait_http "http://127.0.0.1:$port/" "$pid" "$dir/error.log"; then
		fail "$name" "did not start" "$dir/error.log"
		return 0
	fi
	printf -v "URL_${name//[^A-Za-z0-9_]/_}" '%s' "http://127.0.0.1:$port"
	printf -v "PID_${name//[^A-Za-z0-9_]/_}" '%s' "$pid"
}

# --- nginx -----------------------------------------------------------------

# start_nginx NAME SERVER-BLOCK-BODY: nginx in the foreground (a child of this
# script) with its own prefix, pid, logs and temp paths; 2 workers.
start_nginx() {
	local name=$1 body=$2 port dir
	port=$(free_port)
	dir=$WORK/$name
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<EOF
user www-data;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$port;
$body
    }
}
EOF
	if ! /usr/sbin/nginx -t -p "$dir" -c "$dir/nginx.conf" >"$WORK/$name.log" 2>&1; then
		fail "$name" "nginx -t rejects the configuration" "$WORK/$name.log"
		return 0
	fi
	start_bg "$name" /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf"
	_up "$name" "http://127.0.0.1:$port" "$BG_PID"
}

# --- measuring ---------------------------------------------------------------

# wrk_measure URL [WRK-ARGS...]: warm up (unless WARMUP=0), then one bounded
# wrk run. When the array CPU_PIDS names processes, WRK_CPU is the CPU
# seconds they used during the run, WRK_CPU_LEADER those of the first. Sets
# WRK_RPS (requests/s), WRK_REQS (requests done), WRK_BAD (non-2xx/3xx
# responses), WRK_SOCKERR (socket errors) and WRK_OUT (the raw output).
wrk_measure() {
	local url=$1
	shift
	if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
		wrk -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" "$@" "$url" >/dev/null 2>&1 || true
		# Let the server finish what the warm-up left in flight before
		# measuring.
		sleep 1
	fi
	local c0="" c1 l0="" l1
	WRK_CPU="" WRK_CPU_LEADER=""
	if ((${#CPU_PIDS[@]} > 0)); then
		c0=$(proc_cpu "${CPU_PIDS[@]}")
		l0=$(proc_cpu "${CPU_PIDS[0]}")
	fi
	WRK_OUT=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" "$@" "$url" 2>&1) || {
		WRK_RPS=0 WRK_BAD=1 WRK_SOCKERR=0 WRK_READERR=0 WRK_REQS=0
		return 1
	}
	if [[ -n $c0 ]]; then
		c1=$(proc_cpu "${CPU_PIDS[@]}")
		l1=$(proc_cpu "${CPU_PIDS[0]}")
		WRK_CPU=$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.3f", b - a}')
		WRK_CPU_LEADER=$(awk -v a="$l0" -v b="$l1" 'BEGIN {printf "%.3f", b - a}')
	fi
	WRK_RPS=$(awk '/^Requests\/sec:/ {print $2}' <<<"$WRK_OUT")
	WRK_BAD=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} END {print n + 0}' <<<"$WRK_OUT")
	WRK_SOCKERR=$(awk '/Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$WRK_OUT")
	WRK_READERR=$(awk '/Socket errors:/ {gsub(",", ""); n += $6} END {print n + 0}' <<<"$WRK_OUT")
	WRK_REQS=$(awk '/ requests in / {print $1}' <<<"$WRK_OUT")
	[[ -n $WRK_RPS ]] || WRK_RPS=0
}

# bench_rps NAME URL [WRK-ARGS...]: measure and record requests/s for NAME
# (best of the rounds). Responses other than 2xx/3xx fail the peer: a fast 401
# or 500 is not a result.
bench_rps() {
	local name=$1 url=$2
	shift 2
	[[ $(result_of "$name") == FAILED ]] && return 0
	log "wrk $name: $url"
	CPU_PIDS=()
	local pid
	pid=$(pid_of "$name")
	[[ -n $pid ]] && mapfile -t CPU_PIDS < <(proc_tree "$pid")
	if ! wrk_measure "$url" "$@"; then
		fail "$name" "wrk failed: $(tail -n 3 <<<"$WRK_OUT" | tr '\n' ' ')"
		return 0
	fi
	printf '%s\n' "$WRK_OUT" >>"$WORK/$name.wrk"
	if awk -v r="$WRK_RPS" 'BEGIN {exit !(r + 0 == 0)}'; then
		# Slow is a result (bcrypt on every request), not a failure.
		record "$name" 0 "no request completed in $DURATION"
		return 0
	fi
	# Any error status fails the peer. A few socket errors (a keep-alive
	# connection the server closed as wrk reused it) are noted; more than
	# 1 in 1000 requests fail it. READ_ERRORS_OK=1: the server closes every
	# connection after its response (wrk has counted the response, then
	# reads EOF and reconnects), so read errors are noted, not counted.
	local serr=$WRK_SOCKERR
	[[ ${READ_ERRORS_OK:-0} == 1 ]] && serr=$((WRK_SOCKERR - WRK_READERR))
	if ((WRK_BAD > 0 || serr * 1000 > ${WRK_REQS:-0})); then
		fail "$name" "$(grep -E 'Non-2xx|Socket errors' <<<"$WRK_OUT" | tr -s ' \n' ' ')under load"
		return 0
	fi
	local n=""
	if [[ ${READ_ERRORS_OK:-0} == 1 ]] && ((WRK_READERR > 0)); then
		n="closes every connection ($WRK_READERR EOFs in $WRK_REQS requests); "
	elif ((WRK_SOCKERR > 0)); then
		n="$WRK_SOCKERR socket errors in $WRK_REQS requests; "
	fi
	# gowsgi: how much of its CPU per request is the Go process's own.
	if [[ $name == gowsgi* && -n $WRK_CPU_LEADER ]] && ((WRK_REQS > 0)); then
		n+="Go process $(awk -v c="$WRK_CPU_LEADER" -v n="$WRK_REQS" 'BEGIN {printf "%.0f", c / n * 1e6}') µs/req"
	fi
	record "$name" "$WRK_RPS" "${n%; }"
	# Server CPU per request: all the peer's processes, user + system; far
	# less sensitive than requests/s to other load on the machine. The
	# lowest of the rounds is kept.
	if [[ -n $WRK_CPU ]] && ((WRK_REQS > 0)); then
		record_cpu "$name" "$(awk -v c="$WRK_CPU" -v n="$WRK_REQS" 'BEGIN {printf "%.0f", c / n * 1e6}')"
	fi
}

# --- interleaved sequences ----------------------------------------------------
#
# A ratio of a few percent between two servers cannot be read off "best of
# N" runs on a machine whose requests/s drift +-15% within minutes. The
# scripts that have such a target measure the two servers in one sequence
# of short runs, B X B X B ... (B the base, X the other), with no pause and
# the same wrk settings: each X run is divided by the mean of the B runs just
# before and after it, so that a drift of the machine cancels out, and the
# verdict is the median of those ratios, printed with their spread. A burst
# of other work spoils a ratio or two, not the median.

# seq_run NAME URL [WRK-ARGS...]: one measured wrk run of SEQ_DURATION (no
# warm-up: see seq_warm). Appends "rps leader-µs/req all-µs/req" to
# $WORK/NAME.runs and "NAME rps leader-µs/req all-µs/req" to $WORK/sequence
# (the leader is the process pid_of NAME names: gowsgi's Go process, or
# uWSGI's master), or fails NAME on errors under load. READ_ERRORS_OK=1 as
# for bench_rps.
seq_run() {
	local name=$1 url=$2 serr line
	shift 2
	[[ $(result_of "$name") == FAILED ]] && return 0
	CPU_PIDS=()
	mapfile -t CPU_PIDS < <(proc_tree "$(pid_of "$name")")
	if ! WARMUP=0 DURATION=$SEQ_DURATION wrk_measure "$url" "$@"; then
		fail "$name" "wrk failed: $(tail -n 3 <<<"$WRK_OUT" | tr '\n' ' ')"
		return 0
	fi
	serr=$WRK_SOCKERR
	[[ ${READ_ERRORS_OK:-0} == 1 ]] && serr=$((WRK_SOCKERR - WRK_READERR))
	if ((WRK_BAD > 0 || serr * 1000 > ${WRK_REQS:-0} || ${WRK_REQS:-0} == 0)); then
		fail "$name" "$(grep -E 'Non-2xx|Socket errors' <<<"$WRK_OUT" | tr -s ' \n' ' ')under load"
		return 0
	fi
	line=$(awk -v r="$WRK_RPS" -v g="$WRK_CPU_LEADER" -v c="$WRK_CPU" -v n="$WRK_REQS" \
		'BEGIN {printf "%.0f %.1f %.1f\n", r, g / n * 1e6, c / n * 1e6}')
	echo "$line" >>"$WORK/$name.runs"
	echo "$name $line" >>"$WORK/sequence"
}

# seq_warm NAME URL [WRK-ARGS...]: one unmeasured wrk run of WARMUP.
seq_warm() {
	local name=$1 url=$2
	shift 2
	[[ $(result_of "$name") == FAILED || $WARMUP == 0 || $WARMUP == 0s ]] && return 0
	wrk -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" "$@" "$url" >/dev/null 2>&1 || true
}

# median_spread: "median min max" of the numbers on stdin.
median_spread() {
	sort -g | awk '{v[NR] = $1} END {
		if (NR == 0) { print "- - -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'
}

# seq_record NAME: NAME's row in the table is the median of its sequence
# runs (with their range and, for gowsgi, the Go process's CPU), its CPU
# column the median of their CPU per request.
seq_record() {
	local name=$1 med lo hi gmed cmed n
	[[ -s $WORK/$name.runs && $(result_of "$name") != FAILED ]] || return 0
	read -r med lo hi < <(awk '{print $1}' "$WORK/$name.runs" | median_spread)
	read -r gmed _ _ < <(awk '{print $2}' "$WORK/$name.runs" | median_spread)
	read -r cmed _ _ < <(awk '{print $3}' "$WORK/$name.runs" | median_spread)
	n="median of $(wc -l <"$WORK/$name.runs") runs ($(printf '%.0f-%.0f' "$lo" "$hi"))"
	[[ $name == gowsgi* ]] && n+="; Go process $(printf '%.1f' "$gmed") µs/req"
	_RES_VAL[$name]=$med
	_RES_NOTE[$name]=$n
	_RES_CPU[$name]=$(printf '%.0f' "$cmed")
}

# bracket_ratios NAME BASE COL: for each run of NAME in the sequence, its
# COL (1 requests/s, 2 leader CPU/req, 3 all CPU/req) divided by the mean
# COL of the nearest BASE runs before and after it, one line each: "ratio
# value bracket-mean".
bracket_ratios() {
	awk -v want="$1" -v base="$2" -v col="$3" '{name[NR] = $1; v[NR] = $(col + 1)}
		END {
			for (i = 1; i <= NR; i++) {
				if (name[i] != want) continue
				b = 0; a = 0
				for (j = i - 1; j >= 1; j--) if (name[j] == base) { b = v[j]; break }
				for (j = i + 1; j <= NR; j++) if (name[j] == base) { a = v[j]; break }
				if (a > 0 && b > 0 && v[i] > 0) printf "%.4f %s %.1f\n", v[i] / ((a + b) / 2), v[i], (a + b) / 2
			}
		}' "$WORK/sequence"
}

# verdict_median TEXT NAME BASE COL [MIN]: the median of NAME's bracketed
# ratios to BASE, with their range; with MIN, a target line saying MET or
# NOT MET.
verdict_median() {
	local text=$1 name=$2 base=$3 col=$4 min=${5:-} med lo hi
	if [[ ! -s $WORK/sequence || $(result_of "$name") == FAILED || $(result_of "$base") == FAILED ]]; then
		printf 'target %s: not measured\n' "$text"
		return
	fi
	read -r med lo hi < <(bracket_ratios "$name" "$base" "$col" | awk '{print $1}' | median_spread)
	if [[ -z $min ]]; then
		printf '%s: median %.3f (runs %.3f-%.3f)\n' "$text" "$med" "$lo" "$hi"
	elif awk -v r="$med" -v m="$min" 'BEGIN {exit !(r >= m)}'; then
		printf 'target %s: median %.3f (runs %.3f-%.3f) (≥ %s): MET\n' "$text" "$med" "$lo" "$hi" "$min"
	else
		printf 'target %s: median %.3f (runs %.3f-%.3f) (≥ %s): NOT MET\n' "$text" "$med" "$lo" "$hi" "$min"
	fi
}

# proc_cpu PID...: utime+stime in seconds of the given live processes.
proc_cpu() {
	local pid tck total=0 t
	tck=$(getconf CLK_TCK)
	for pid in "$@"; do
		# Fields after the ")" of the command name: utime is the 12th, stime the 13th.
		t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
		total=$((total + ${t:-0}))
	done
	awk -v t="$total" -v h="$tck" 'BEGIN {printf "%.3f\n", t / h}'
}

# proc_tree PID: PID and all its live descendants.
proc_tree() {
	local pid=$1 c
	echo "$pid"
	local kids=()
	read -r -a kids < <(cat /proc/"$pid"/task/*/children 2>/dev/null; echo)
	for c in "${kids[@]}"; do
		proc_tree "$c"
	done
}

# --- results -----------------------------------------------------------------

_RES_NAMES=()
declare -A _RES_VAL=() _RES_NOTE=() _RES_LABEL=() _RES_CPU=()
CPU_PIDS=()

# label NAME TEXT: the row title printed for NAME; rows are printed in the
# order of their labels.
label() {
	_RES_LABEL[$1]=$2
	_RES_NAMES+=("$1")
}

# record NAME VALUE [NOTE]: keep the best VALUE of the rounds; FAILED sticks.
record() {
	local name=$1 val=$2 note=${3:-}
	if [[ -z ${_RES_VAL[$name]+x} ]]; then
		[[ -n ${_RES_LABEL[$name]+x} ]] || _RES_NAMES+=("$name")
		_RES_VAL[$name]=$val
	elif [[ ${_RES_VAL[$name]} != FAILED ]]; then
		if [[ $val == FAILED ]] || awk -v a="$val" -v b="${_RES_VAL[$name]}" 'BEGIN {exit !(a > b)}'; then
			_RES_VAL[$name]=$val
		else
			return 0 # not the best round: keep that round's note
		fi
	fi
	_RES_NOTE[$name]=$note
	return 0
}

# drop_row NAME: NAME is not printed in the table (an instance whose rows are
# recorded under other names).
drop_row() {
	local n keep=()
	for n in "${_RES_NAMES[@]}"; do
		[[ $n == "$1" ]] || keep+=("$n")
	done
	_RES_NAMES=("${keep[@]}")
}

# record_cpu NAME MICROSECONDS: server CPU per request; the lowest is kept.
record_cpu() {
	local cur=${_RES_CPU[$1]:-}
	if [[ -z $cur ]] || (($2 < cur)); then
		_RES_CPU[$1]=$2
	fi
}

result_of() { printf '%s' "${_RES_VAL[$1]:-}"; }
note() { _RES_NOTE[$1]=$2; }

# ratio A B: A/B with two decimals, "-" when either is missing or FAILED.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) print "-"
		else if (a > 0 && a / b < 0.01) printf "%.2g\n", a / b
		else printf "%.2f\n", a / b }'
}

# print_table TITLE UNIT BASE [SCALE]: one row per recorded peer: value (divided
# by SCALE, default 1), and its ratio to BASE (gowsgi's row).
print_table() {
	local title=$1 unit=$2 base=$3 scale=${4:-1} n v shown r cpu="" c
	# A column of server CPU per request when bench_rps measured it.
	((${#_RES_CPU[@]} > 0)) && cpu="CPU µs/req"
	printf '\n== %s ==\n' "$title"
	local fmt='%-50s %10s %10s  %s%s\n'
	[[ -n $cpu ]] && fmt='%-50s %10s %10s %11s  %s\n'
	# shellcheck disable=SC2059 # the format is one of the two above
	printf "$fmt" "peer" "$unit" "÷ $base" "$cpu" "notes"
	for n in "${_RES_NAMES[@]}"; do
		c=""
		[[ -n $cpu ]] && c=${_RES_CPU[$n]:--}
		v=${_RES_VAL[$n]:-}
		if [[ -z $v ]]; then
			shown="-"
		elif [[ $v == FAILED ]]; then
			shown=FAILED
		else
			shown=$(awk -v v="$v" -v s="$scale" 'BEGIN {printf (s == 1 && v >= 100 ? "%.0f" : s == 1 ? "%.1f" : "%.2f"), v / s}')
		fi
		r=$(ratio "$v" "${_RES_VAL[$base]:-}")
		# shellcheck disable=SC2059
		printf "$fmt" "${_RES_LABEL[$n]:-$n}" "$shown" "$r" "$c" "${_RES_NOTE[$n]:-}"
	done
}

# verdict TEXT A B MIN: print "TEXT: A/B = r (target ≥ MIN): MET|NOT MET".
verdict() {
	local text=$1 a=${_RES_VAL[$2]:-} b=${_RES_VAL[$3]:-} min=$4 r
	r=$(ratio "$a" "$b")
	if [[ $r == - ]]; then
		printf 'target %s: not measured\n' "$text"
	elif awk -v r="$r" -v m="$min" 'BEGIN {exit !(r >= m)}'; then
		printf 'target %s: %s (≥ %s): MET\n' "$text" "$r" "$min"
	else
		printf 'target %s: %s (≥ %s): NOT MET\n' "$text" "$r" "$min"
	fi
}

# conditions: one line describing the machine and load, for the table.
conditions() {
	printf '%s, %s cores, load %s; wrk -t%s -c%s -d%s after %s warm-up, best of %s round(s)\n' \
		"$(date -u +%FT%TZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
		"$WRK_THREADS" "$CONNS" "$DURATION" "$WARMUP" "$ROUNDS"
}

# --- downloads (filewrap.sh) -------------------------------------------------

# make_file PATH SIZE-BYTES: a file of pseudo-random bytes (a random block of
# a prime length, repeated, so that a misplaced offset changes the content).
make_file() {
	"$PY3" - "$1" "$2" <<'PY'
import os, sys
path, n = sys.argv[1], int(sys.argv[2])
blk = os.urandom(1000003)
with open(path, "wb") as f:
    while n > 0:
        b = blk[:n]
        f.write(b)
        n -= len(b)
PY
}

# verify_download NAME URL FILE: one full download compared byte for byte with
# FILE (also warms the page cache and the peer).
verify_download() {
	local name=$1 url=$2 file=$3 out
	[[ $(result_of "$name") == FAILED ]] && return 0
	if ! out=$(curl -sf "$url" | cmp - "$file" 2>&1); then
		fail "$name" "download differs from the file: ${out:-curl failed}"
	fi
}

# download_rate NAME URL SIZE PAR SEQ [PIDS...]: PAR concurrent curl loops of
# SEQ downloads each; every download must be 200 with SIZE bytes. Records
# bytes/s for NAME; sets DL_CPU to the CPU seconds PIDS used meanwhile.
download_rate() {
	local name=$1 url=$2 size=$3 par=$4 seq=$5 t0 t1 c0 c1 i bad pids=()
	shift 5
	DL_CPU=""
	[[ $(result_of "$name") == FAILED ]] && return 0
	log "downloading $((par * seq)) × $size bytes from $name ($par at a time)"
	(($# > 0)) && c0=$(proc_cpu "$@")
	t0=$(date +%s.%N)
	for ((i = 0; i < par; i++)); do
		(
			for ((j = 0; j < seq; j++)); do
				curl -s -o /dev/null -w '%{http_code} %{size_download}\n' "$url" || echo "curl-error 0"
			done
		) >"$WORK/$name.dl.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(date +%s.%N)
	(($# > 0)) && c1=$(proc_cpu "$@")
	bad=$(cat "$WORK/$name".dl.* | awk -v s="$size" '$1 != 200 || $2 != s {n++} END {print n + 0}')
	if ((bad > 0)); then
		fail "$name" "$bad of $((par * seq)) downloads were not 200 with $size bytes: $(cat "$WORK/$name".dl.* | sort | uniq -c | tr '\n' ' ')"
		return 0
	fi
	# shellcheck disable=SC2034 # read by the caller
	(($# > 0)) && DL_CPU=$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.3f", b - a}')
	record "$name" "$(awk -v b="$((par * seq * size))" -v a="$t0" -v c="$t1" 'BEGIN {printf "%.0f", b / (c - a)}')"
}

# --- slapd (ldap.sh) -----------------------------------------------------------

# start_slapd NAME SUFFIX ROOTPW LDIF [SCHEMA...]: Debian's slapd in the
# foreground on a free loopback port, an mdb database in $WORK/NAME loaded
# with slapadd, the same configuration as internal/testenv.SlapdConf
# (Debian's core, cosine, inetorgperson, nis schemas + SCHEMA; passwords
# usable only to bind; an Active-Directory-shaped DC=corp subtree readable
# by bound users only). Sets LDAP_URL.
start_slapd() {
	local name=$1 suffix=$2 rootpw=$3 ldif=$4 dir port s
	shift 4
	dir=$WORK/$name
	mkdir -p "$dir/db"
	chmod 0700 "$dir"
	port=$(free_port)
	{
		for s in core cosine inetorgperson nis; do echo "include /etc/ldap/schema/$s.schema"; done
		for s in "$@"; do echo "include $s"; done
		echo "pidfile $dir/slapd.pid"
		echo "argsfile $dir/slapd.args"
		echo "modulepath /usr/lib/ldap"
		echo "moduleload back_mdb"
		echo "sizelimit 500"
		echo "timelimit 30"
		echo "database mdb"
		echo "maxsize 67108864"
		echo "suffix \"$suffix\""
		echo "rootdn \"cn=admin,$suffix\""
		echo "rootpw $rootpw"
		echo "directory $dir/db"
		echo "index objectClass eq"
		echo "index uid,cn,member,uniqueMember,memberUid eq"
		echo "access to attrs=userPassword by anonymous auth by * none"
		echo "access to dn.subtree=\"DC=corp,$suffix\" by users read by * none"
		echo "access to * by * read"
	} >"$dir/slapd.conf"
	if ! /usr/sbin/slapadd -q -f "$dir/slapd.conf" -l "$ldif" >"$WORK/$name.log" 2>&1; then
		fail "$name" "slapadd $ldif failed" "$WORK/$name.log"
		return 0
	fi
	LDAP_URL=ldap://127.0.0.1:$port
	# -d 0: foreground (a child of this script), errors to the log.
	start_bg "$name" /usr/sbin/slapd -f "$dir/slapd.conf" -h "$LDAP_URL/" -d 0
	local i
	for ((i = 0; i < 150; i++)); do
		ldapsearch -x -H "$LDAP_URL" -b "$suffix" -s base '(objectClass=*)' dn >/dev/null 2>&1 && return 0
		if ! kill -0 "$BG_PID" 2>/dev/null; then break; fi
		sleep 0.1
	done
	fail "$name" "slapd did not start on $LDAP_URL" "$WORK/$name.log"
}
