#!/bin/bash
# bench/latency.sh: the hello-world comparison, from one client to a thousand.
# gowsgi, uWSGI --http-socket, uWSGI --http11-socket and Apache mod_wsgi
# daemon mode (Debian's packages), 2 worker processes each, serve the same
# hello-world app; wrk --latency on keep-alive connections at each of
# LAT_CONNS (default 1 2 8 32 256 1000) connections, the peers alternated
# within each round, LAT_ROUNDS rounds (default 3) of LAT_DURATION (default
# 4s); every figure is the median of the rounds. It prints req/s, p50 and p99
# per peer and connection count, the Go process's CPU per request at 32
# connections and its RSS at 256 and 1,000 connections, then the targets:
#   - at 1 and 2 connections: gowsgi ≥ 1.0× uWSGI --http-socket req/s, and its
#     p50 no higher (stretch: ≥ 0.6× uWSGI --http11-socket);
#   - at 32 connections: ≥ 1.2× uWSGI --http-socket;
#   - p99 at 8 and 32 connections no worse than uWSGI --http-socket's;
#   - the Go process's RSS at 1,000 connections ≤ 50 MB.
# Then real applications at 1 connection (a Flask page from a Jinja template,
# a Django page): gowsgi's median response time ≤ 1.0× Apache mod_wsgi daemon
# mode (processes=2 threads=4), gowsgi with -processes 2 -threads 4.
# Last, the floor of any two-process design on this machine: a Go↔Python
# round trip over a Unix socket pair (bench/pingpong).
# Run as root on Debian 12: sudo bench/latency.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${LAT_CONNS:=1 2 8 32 256 1000}" "${LAT_ROUNDS:=3}" "${LAT_DURATION:=4s}"

setup latency
ensure_debs curl wrk python3 python3-flask python3-django uwsgi uwsgi-plugin-python3 apache2 libapache2-mod-wsgi-py3
build_gowsgi
# wrk and the servers hold a descriptor per connection.
ulimit -n "$(ulimit -Hn)"

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/hello.py" "$BENCH_DIR/apps/latency/flaskpage.py" "$BENCH_DIR/apps/latency/djangopage.py" "$APP/"
chmod -R a+rX "$APP"

HELLO=(gowsgi uwsgi uwsgi11 modwsgi)
label gowsgi "gowsgi -processes 2 -threads 1"
label uwsgi "uWSGI 2 processes (--http-socket)"
label uwsgi11 "uWSGI 2 processes (--http11-socket)"
label modwsgi "Apache mod_wsgi daemon processes=2 threads=1"

start_gowsgi gowsgi -processes 2 -threads 1 "$APP/hello.py"
start_uwsgi uwsgi "$APP/hello.py" 2 http-socket
start_uwsgi uwsgi11 "$APP/hello.py" 2 http11-socket
port=$(apache_conf modwsgi wsgi)
modwsgi_daemon modwsgi hello "$APP/hello.py" 2 1
apache_start modwsgi "$port"

# The real applications: gowsgi and Apache with 2 processes × 4 threads.
PAGES=(flask django)
for page in "${PAGES[@]}"; do
	script=$APP/${page}page.py
	start_gowsgi "gowsgi-$page" -processes 2 -threads 4 "$script"
	port=$(apache_conf "modwsgi-$page" wsgi)
	modwsgi_daemon "modwsgi-$page" "$page" "$script" 2 4
	apache_start "modwsgi-$page" "$port"
done

for p in "${HELLO[@]}" gowsgi-flask modwsgi-flask gowsgi-django modwsgi-django; do
	check_status "$p" "$(url_of "$p")/" 200
done

# to_us VALUE: wrk's latency (12.00us, 1.50ms, 2.00s) in microseconds.
to_us() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000;
		else if (v ~ /s$/) print n * 1e6; else print n }'
}

# rss_kb PID: the process's resident set, in KiB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# lat_run NAME CONNS: one wrk --latency run; appends "rps p50 p99 errors
# go-cpu-µs/req rss-KiB" to $WORK/NAME.c$CONNS. The RSS is the server's
# leader process (gowsgi's Go process) sampled halfway through the run.
lat_run() {
	local name=$1 c=$2 threads=2 url pid out rps p50 p99 reqs errs c0 c1 cpu=0 rss=0
	[[ $(result_of "$name") == FAILED ]] && return 0
	((c < 2)) && threads=1
	url=$(url_of "$name")/
	pid=$(pid_of "$name")
	wrk -t"$threads" -c"$c" -d1s "$url" >/dev/null 2>&1 || true
	c0=$(proc_cpu "$pid")
	wrk -t"$threads" -c"$c" -d"$LAT_DURATION" --timeout 10s --latency "$url" >"$WORK/wrk.out" 2>&1 &
	local wpid=$!
	sleep "$(awk -v d="${LAT_DURATION%s}" 'BEGIN {print d / 2}')"
	rss=$(rss_kb "$pid")
	if ! wait "$wpid"; then
		fail "$name" "wrk failed at $c connections: $(tail -n 3 "$WORK/wrk.out" | tr '\n' ' ')"
		return 0
	fi
	c1=$(proc_cpu "$pid")
	out=$(cat "$WORK/wrk.out")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	reqs=$(awk '/ requests in / {print $1}' <<<"$out")
	p50=$(to_us "$(awk '$1 == "50%" {print $2}' <<<"$out")")
	p99=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$out")")
	# Read errors are uWSGI --http-socket closing every connection after
	# its response (counted by wrk after the response); the rest are real.
	errs=$(awk '/Socket errors:/ {gsub(",", ""); n += $4 + $8 + $10} /Non-2xx/ {n += $NF} END {print n + 0}' <<<"$out")
	if ((${reqs:-0} > 0)); then
		cpu=$(awk -v a="$c0" -v b="$c1" -v n="$reqs" 'BEGIN {printf "%.1f", (b - a) / n * 1e6}')
	fi
	echo "${rps:-0} ${p50:-0} ${p99:-0} $errs $cpu $rss" >>"$WORK/$name.c$c"
}

# med NAME CONNS COL: the median of column COL (1 rps, 2 p50, 3 p99, 4
# errors, 5 leader CPU µs/req, 6 RSS KiB) over the rounds.
med() {
	[[ -s $WORK/$1.c$2 ]] || {
		echo -
		return
	}
	awk -v c="$3" '{print $c}' "$WORK/$1.c$2" | median_spread | awk '{print $1 + 0}'
}

# mb KIB: KiB as MB with one decimal, or "-".
mb() { awk -v k="$1" 'BEGIN {if (k == "-" || k == "") print "-"; else printf "%.1f", k / 1024}'; }

read -r -a CONNS_LIST <<<"$LAT_CONNS"
for c in "${CONNS_LIST[@]}"; do
	log "$c connection(s): $LAT_ROUNDS rounds of $LAT_DURATION per peer"
	for ((round = 1; round <= LAT_ROUNDS; round++)); do
		for p in "${HELLO[@]}"; do
			lat_run "$p" "$c"
		done
	done
done
for ((round = 1; round <= LAT_ROUNDS; round++)); do
	for page in "${PAGES[@]}"; do
		lat_run "gowsgi-$page" 1
		lat_run "modwsgi-$page" 1
	done
done

printf '\n== latency: hello-world app, keep-alive, wrk --latency (%s) ==\n' \
	"$(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); median of $LAT_ROUNDS rounds of $LAT_DURATION, peers alternated"
printf '%-6s %-46s %10s %7s %10s %10s %8s\n' conns peer "req/s" "÷ uWSGI" "p50 µs" "p99 µs" errors
for c in "${CONNS_LIST[@]}"; do
	for p in "${HELLO[@]}"; do
		printf '%-6s %-46s %10s %7s %10s %10s %8s\n' "$c" "${_RES_LABEL[$p]}" \
			"$(med "$p" "$c" 1 | awk '{printf "%.0f", $1}')" \
			"$(ratio "$(med "$p" "$c" 1)" "$(med uwsgi "$c" 1)")" \
			"$(med "$p" "$c" 2)" "$(med "$p" "$c" 3)" "$(med "$p" "$c" 4)"
	done
done

printf '\nGo process of gowsgi: CPU per request at 32 connections %s µs; RSS at 256 connections %s MB, at 1000 %s MB\n' \
	"$(med gowsgi 32 5)" "$(mb "$(med gowsgi 256 6)")" "$(mb "$(med gowsgi 1000 6)")"

# target TEXT VALUE OP LIMIT: MET when VALUE OP LIMIT (ge or le).
target() {
	local text=$1 v=$2 op=$3 lim=$4 sym=≥
	[[ $op == le ]] && sym=≤
	if [[ $v == - || -z $v ]]; then
		printf 'target %s: not measured\n' "$text"
	elif awk -v v="$v" -v l="$lim" -v op="$op" 'BEGIN {exit !(op == "ge" ? v >= l : v <= l)}'; then
		printf 'target %s: %s (%s %s): MET\n' "$text" "$v" "$sym" "$lim"
	else
		printf 'target %s: %s (%s %s): NOT MET\n' "$text" "$v" "$sym" "$lim"
	fi
}
echo
for c in 1 2; do
	target "req/s at $c conn ÷ uWSGI --http-socket" "$(ratio "$(med gowsgi $c 1)" "$(med uwsgi $c 1)")" ge 1.0
	target "p50 at $c conn ÷ uWSGI --http-socket" "$(ratio "$(med gowsgi $c 2)" "$(med uwsgi $c 2)")" le 1.0
	target "(stretch) req/s at $c conn ÷ uWSGI --http11-socket" "$(ratio "$(med gowsgi $c 1)" "$(med uwsgi11 $c 1)")" ge 0.6
done
target "req/s at 32 conns ÷ uWSGI --http-socket" "$(ratio "$(med gowsgi 32 1)" "$(med uwsgi 32 1)")" ge 1.2
for c in 8 32; do
	target "p99 at $c conns ÷ uWSGI --http-socket" "$(ratio "$(med gowsgi $c 3)" "$(med uwsgi $c 3)")" le 1.0
done
target "Go process RSS at 1000 conns, MB" "$(mb "$(med gowsgi 1000 6)")" le 50

printf '\n== real applications at 1 connection: median response time (p50 µs), 2 processes × 4 threads ==\n'
for page in "${PAGES[@]}"; do
	g=$(med "gowsgi-$page" 1 2)
	a=$(med "modwsgi-$page" 1 2)
	printf '%-8s gowsgi %s µs (%s req/s), Apache mod_wsgi daemon %s µs (%s req/s)\n' "$page" \
		"$g" "$(med "gowsgi-$page" 1 1)" "$a" "$(med "modwsgi-$page" 1 1)"
	target "$page p50 at 1 conn, gowsgi ÷ Apache mod_wsgi daemon" "$(ratio "$g" "$a")" le 1.0
done

printf '\n== the floor of a two-process design on this machine ==\n'
(cd "$REPO_DIR" && go run ./bench/pingpong -python "$PY3") || fail pingpong "bench/pingpong failed"

exit "$FAILED"
