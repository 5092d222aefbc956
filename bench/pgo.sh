#!/bin/bash
# bench/pgo.sh: make cmd/gowsgi/default.pgo, the CPU profile that `go build`
# uses for profile-guided optimization of the command.
#
# It runs cmd/gowsgi -cpuprofile with the hello-world app (-processes 2
# -threads 1, as bench/wsgi-hello.sh does) under wrk on loopback, half the
# time on an open path and half on a path behind Basic auth with a bcrypt
# htpasswd (as bench/auth-basic.sh does), stops it with SIGTERM, and writes
# the profile of the Go process to cmd/gowsgi/default.pgo. Rerun it after
# changes to the request path and commit the new file; a stale profile only
# makes the optimization weaker, never the program wrong.
#
# Tunables besides lib.sh's: PGO_DURATION (wrk -d of each half, default 15s),
# PGO_OUT (default cmd/gowsgi/default.pgo in this checkout).
# Run as root on Debian 12: sudo bench/pgo.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${PGO_DURATION:=15s}" "${PGO_OUT:=$REPO_DIR/cmd/gowsgi/default.pgo}"

setup pgo
ensure_debs curl wrk python3 apache2-utils
build_gowsgi

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/hello.py" "$APP/hello.py"
PASS=$("$PY3" -c 'import secrets; print(secrets.token_urlsafe(12))')
htpasswd -c -b -B -C 10 "$WORK/users" alice "$PASS" 2>/dev/null || die "htpasswd -B failed"
AUTH="Authorization: Basic $(printf 'alice:%s' "$PASS" | base64 -w0)"
PROF=$WORK/cpu.pprof

start_gowsgi gowsgi -processes 2 -threads 1 -cpuprofile "$PROF" \
	-htpasswd "$WORK/users" -realm pgo -require valid-user -auth-location '^/private(/|$)' \
	"$APP/hello.py"
[[ $(result_of gowsgi) == FAILED ]] && exit 1
base=$(url_of gowsgi)
check_status gowsgi "$base/" 200
check_status gowsgi "$base/private" 401
check_status gowsgi "$base/private" 200 -H "$AUTH"
[[ $(result_of gowsgi) == FAILED ]] && exit 1

log "profiling: wrk -d$PGO_DURATION on / and on /private"
wrk -t"$WRK_THREADS" -c"$CONNS" -d"$PGO_DURATION" "$base/" | grep -E 'Requests/sec' >&2
wrk -t"$WRK_THREADS" -c"$CONNS" -d"$PGO_DURATION" -H "$AUTH" "$base/private" | grep -E 'Requests/sec' >&2

# SIGTERM: the command stops serving, then writes out the profile.
pid=$(pid_of gowsgi)
kill -TERM "$pid"
for ((i = 0; i < 300; i++)); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && die "gowsgi did not exit 30 s after SIGTERM"
# A complete profile is a gzip stream that decompresses to its end.
if [[ ! -s $PROF ]] || ! gzip -t <"$PROF" 2>/dev/null; then
	die "no complete profile in $PROF"
fi
cp "$PROF" "$PGO_OUT"
log "wrote $PGO_OUT ($(stat -c %s "$PGO_OUT") bytes); go build ./cmd/gowsgi now uses it"
