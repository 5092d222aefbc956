#!/bin/bash
# bench/soak.sh: a fault soak of cmd/gowsgi alone.
#
# gowsgi -processes 2 -threads 4 -request-timeout 5s -status-addr ... runs
# bench/apps/soak.py; bench/soakload (a Go client, standard library, loopback
# only) drives it for SOAK_DURATION (default 10m) with hellos, chunked
# streams and 50 MiB downloads abandoned at random bytes, sized and chunked
# uploads (a quarter abandoned midway; the app returns the body's SHA-256,
# the client checks it), /crash (os._exit in the worker) every CRASH_EVERY,
# /hang (sleeps for ever: 504 at the request timeout) every HANG_EVERY,
# kill -9 of a random worker every 20 s, SIGHUP to gowsgi every 30 s and one
# fresh-connection probe a second. It prints the requests by outcome, the
# data-loss findings, the failures nothing explains ("unexplained
# failures"), and the Go process's fds, threads, RSS and heap at the start,
# during, and SOAK_AFTER (default 1m) after the load.
# Targets: no data loss; no unexplained failure; fds back to their baseline;
# heap in use within 2x its idle baseline SOAK_AFTER after the load.
# Run as root on Debian 12: sudo bench/soak.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${SOAK_DURATION:=10m}" "${SOAK_AFTER:=1m}" "${SOAK_CONNS:=12}" "${SOAK_SEED:=0}"
: "${KILL_EVERY:=20s}" "${HUP_EVERY:=30s}" "${CRASH_EVERY:=10s}" "${HANG_EVERY:=15s}"
: "${REQUEST_TIMEOUT:=5s}"

setup soak
ensure_debs curl python3
build_gowsgi
gobin=$(PATH=$PATH:/usr/local/go/bin command -v go) || die "go not found (needed for bench/soakload)"
(cd "$REPO_DIR" && "$gobin" build -o "$WORK/soakload" ./bench/soakload) || die "go build ./bench/soakload failed"

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/soak.py" "$APP/soak.py"

sport=$(free_port)
start_gowsgi gowsgi -processes 2 -threads 4 -request-timeout "$REQUEST_TIMEOUT" \
	-status-addr "127.0.0.1:$sport" "$APP/soak.py"
[[ $(result_of gowsgi) == FAILED ]] && exit 1
check_status gowsgi "$(url_of gowsgi)/hello" 200
[[ $(result_of gowsgi) == FAILED ]] && exit 1
# Let the workers settle (both started, the statistics server up).
for ((i = 0; i < 50; i++)); do
	curl -sf -m 2 "http://127.0.0.1:$sport/" | grep -q '"processes":2' && break
	sleep 0.1
done

printf '\n== soak: cmd/gowsgi -processes 2 -threads 4 -request-timeout %s, %s of faults, %s, %s cores, load %s ==\n' \
	"$REQUEST_TIMEOUT" "$SOAK_DURATION" "$(date -u +%FT%TZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'kill -9 a worker every %s, SIGHUP every %s, /crash every %s, /hang every %s, %s keep-alive connections, a fresh-connection probe every 1s\n' \
	"$KILL_EVERY" "$HUP_EVERY" "$CRASH_EVERY" "$HANG_EVERY" "$SOAK_CONNS"
rc=0
"$WORK/soakload" -url "$(url_of gowsgi)" -status "http://127.0.0.1:$sport" -pid "$(pid_of gowsgi)" \
	-duration "$SOAK_DURATION" -after "$SOAK_AFTER" -conns "$SOAK_CONNS" -seed "$SOAK_SEED" \
	-kill-every "$KILL_EVERY" -hup-every "$HUP_EVERY" -crash-every "$CRASH_EVERY" -hang-every "$HANG_EVERY" -request-timeout "$REQUEST_TIMEOUT" \
	-events "$WORK/events" || rc=$?
if ! kill -0 "$(pid_of gowsgi)" 2>/dev/null; then
	fail gowsgi "gowsgi exited during the soak" "$WORK/gowsgi.log"
fi
((rc == 0)) || fail soakload "bench/soakload exited with status $rc"
printf 'gowsgi log: %s lines, %s at level ERROR (KEEP=1 keeps %s)\n' \
	"$(wc -l <"$WORK/gowsgi.log")" "$(grep -c 'level=ERROR' "$WORK/gowsgi.log" || true)" "$WORK/gowsgi.log"
