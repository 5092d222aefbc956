#!/bin/bash
# bench/slowloris.sh: how many slowloris connections can a server hold off
# while a normal client still gets its page within a second?
#
# bench/slowloris (a small Go program) holds N connections to the server,
# each sending a request head one byte every 10 s (SL_INTERVAL) and opened
# again whenever the server closes it, while a normal client gets the page
# (GET /, a new connection each time) every half second for SL_DURATION
# (default 30s, after a 5 s ramp-up; it covers the 20 s after which both
# servers cut a head that trickles in slower than 500 bytes/s). A server
# withstands N when every probe got its page within 1 s. The levels
# SL_LEVELS (default 100 200 400 1000 2000 4000 7000 10000) are tried in
# order, the two servers alternated within each level, until a server
# fails one: the table gives the largest N each withstood, and the first it
# did not.
#
# Servers, both on Debian 12 packages and serving bench/apps/hello.py with
# 2 processes × 4 threads:
#   - gowsgi with its defaults (-request-read-timeout
#     'header=20-40,MinRate=500 body=20,MinRate=500', -timeout 60s,
#     -keep-alive-timeout 75s);
#   - Apache 2.4 event MPM with Debian's default configuration
#     (mods-available/mpm_event.conf: MaxRequestWorkers 150, 25 threads per
#     child; mods-available/reqtimeout.conf: header=20-40,minrate=500
#     body=10,minrate=500; apache2.conf: Timeout 300, KeepAliveTimeout 5),
#     mod_wsgi in daemon mode.
# Run as root on Debian 12: sudo bench/slowloris.sh (see bench/README.md).
# Loopback only; each run is bounded by SL_DURATION.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${SL_LEVELS:=100 200 400 1000 2000 4000 7000 10000}" "${SL_DURATION:=30s}" "${SL_INTERVAL:=10s}"

setup slowloris
ensure_debs curl python3 apache2 libapache2-mod-wsgi-py3
build_gowsgi
# Each slow connection is a descriptor in the server and in the load
# program: 10,000 of them need more than the usual 1,024.
ulimit -n "$(ulimit -Hn)"
max_level=$(tr ' ' '\n' <<<"$SL_LEVELS" | sort -n | tail -1)
(($(ulimit -n) > max_level + 1000)) ||
	die "ulimit -n is $(ulimit -n): too few descriptors for $max_level connections (raise the hard limit)"
log "building bench/slowloris"
(cd "$REPO_DIR" && PATH=$PATH:/usr/local/go/bin go build -o "$WORK/slowloris" ./bench/slowloris) ||
	die "go build ./bench/slowloris failed"

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/hello.py" "$APP/"
chmod -R a+rX "$APP"

label gowsgi "gowsgi (defaults)"
label apache "Apache 2.4 event MPM, Debian's defaults, mod_wsgi daemon"
start_gowsgi gowsgi -processes 2 -threads 4 "$APP/hello.py"

port=$(apache_conf apache wsgi reqtimeout)
# Debian's own MPM sizing, request-read timeouts and keep-alive, instead of
# the ones apache_conf sets for the throughput benchmarks.
sed -i -E '/^(StartServers|ServerLimit|ThreadsPerChild|MaxRequestWorkers|MinSpareThreads|MaxSpareThreads|MaxRequestsPerChild|MaxKeepAliveRequests|KeepAliveTimeout) /d' "$WORK/apache/httpd.conf"
cat >>"$WORK/apache/httpd.conf" <<CONF
Include /etc/apache2/mods-available/mpm_event.conf
Include /etc/apache2/mods-available/reqtimeout.conf
Timeout 300
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
CONF
modwsgi_daemon apache hello "$APP/hello.py" 2 4
apache_start apache "$port"

declare -A best=() first_fail=() fail_note=()
for n in $SL_LEVELS; do
	for peer in gowsgi apache; do
		url=$(url_of "$peer")
		[[ -n $url && -z ${first_fail[$peer]:-} ]] || continue
		log "$peer: $n slow connections"
		out=$("$WORK/slowloris" -addr "${url#http://}" -n "$n" -interval "$SL_INTERVAL" -duration "$SL_DURATION" 2>"$WORK/slowloris-$peer-$n.log" | tail -1)
		log "$peer: $out"
		if [[ $out == *"withstood=1"* ]]; then
			best[$peer]=$n
		else
			first_fail[$peer]=$n
			fail_note[$peer]=$(sed -E 's/^result //' <<<"$out")
		fi
	done
done

printf '\n== slowloris: the most slow connections (one header byte every %s) under which a new client still gets its page within 1 s ==\n' "$SL_INTERVAL"
printf '%-60s %10s %12s  %s\n' "server" "withstood" "failed at" "the failed run"
for peer in gowsgi apache; do
	printf '%-60s %10s %12s  %s\n' "${_RES_LABEL[$peer]}" "${best[$peer]:-none}" "${first_fail[$peer]:-none tried}" "${fail_note[$peer]:-}"
done
printf '%s, %s cores, load %s; probes every 0.5 s for %s after a 5 s ramp-up\n' \
	"$(date -u +%FT%TZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$SL_DURATION"
