#!/bin/bash
# bench/replicas.sh: three cmd/gowsgi replicas behind Debian's HAProxy
# (round-robin, "option httpchk GET /readyz" against each replica's
# -status-addr), sharing -auth-secret-file, with -shutdown-delay:
#
#   1. a rolling restart under load: wrk -c32 on an unprotected path for
#      RR_DURATION (default 30s) while each replica in turn gets SIGTERM,
#      is taken out by HAProxy during its -shutdown-delay, exits, is started
#      again and waits until HAProxy has it up before the next one;
#   2. Digest through the three replicas: Python's requests (HTTPDigestAuth,
#      one session) and curl --digest (one run), DIGEST_REQUESTS (default
#      300) requests each, counting the 401s and the replicas reached.
#
# It prints requests sent, non-2xx responses and socket errors of the wrk
# run, then the Digest 401 counts. Target: 0 non-2xx and 0 socket errors
# (every request here is an idempotent GET); requests 1 401 per session,
# curl 1 per URL (it probes each URL without credentials).
# Run as root on Debian 12: sudo bench/replicas.sh (see bench/README.md).
: "${RR_DURATION:=30s}" "${DIGEST_REQUESTS:=300}" "${SHUTDOWN_DELAY:=2s}" "${PROCESSES:=2}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup replicas
ensure_debs curl wrk python3 python3-requests haproxy
build_gowsgi

APP=$WORK/app.py
cat >"$APP" <<'EOF'
def application(environ, start_response):
    replica = environ.get("replica", "?")
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Replica", replica)])
    return [("%s|%s\n" % (replica, environ.get("REMOTE_USER", ""))).encode()]
EOF
"$PY3" -c 'import os; print(os.urandom(32).hex())' >"$WORK/digest.key"
"$PY3" -c 'import hashlib; print("alice:Trac:" + hashlib.md5(b"alice:Trac:alicepw").hexdigest())' >"$WORK/htdigest"
root=()
if [[ $(id -u) = 0 ]]; then root=(-allow-root); fi

N=3
PORTS=() STATUS=() PIDS=()
for ((i = 0; i < N; i++)); do
	PORTS+=("$(free_port)")
	STATUS+=("$(free_port)")
done

# start_replica I: start replica I on its ports; sets PIDS[I].
start_replica() {
	local i=$1
	start_bg "replica$i" "$GOWSGI_BIN" -listen "127.0.0.1:${PORTS[i]}" -status-addr "127.0.0.1:${STATUS[i]}" \
		-shutdown-delay "$SHUTDOWN_DELAY" -python "$PY3" -processes "$PROCESSES" "${root[@]}" \
		-environ "replica=r$i" -auth-location '^/login' -htdigest "$WORK/htdigest" -realm Trac \
		-auth-secret-file "$WORK/digest.key" "$APP"
	PIDS[i]=$BG_PID
}

for ((i = 0; i < N; i++)); do
	start_replica "$i"
done

HA_PORT=$(free_port)
STATS_PORT=$(free_port)
{
	cat <<EOF
global
    maxconn 2000

defaults
    mode http
    option http-keep-alive
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout check 2s

listen stats
    bind 127.0.0.1:$STATS_PORT
    stats enable
    stats uri /stats

frontend web
    bind 127.0.0.1:$HA_PORT
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /readyz
    default-server inter 100ms fastinter 100ms downinter 100ms fall 2 rise 2
EOF
	for ((i = 0; i < N; i++)); do
		echo "    server r$i 127.0.0.1:${PORTS[i]} check addr 127.0.0.1 port ${STATUS[i]}"
	done
} >"$WORK/haproxy.cfg"
haproxy -c -f "$WORK/haproxy.cfg" >/dev/null || die "haproxy rejects $WORK/haproxy.cfg"
start_bg haproxy haproxy -db -f "$WORK/haproxy.cfg"

# state I: HAProxy's check state of replica I (UP, DOWN, "UP 1/2"...).
state() {
	curl -s "http://127.0.0.1:$STATS_PORT/stats;csv" | awk -F, -v s="r$1" '$1 == "replicas" && $2 == s {print $18}'
}

# wait_state I WANT: wait (60 s at most) until HAProxy has replica I in WANT.
wait_state() {
	local i=$1 want=$2 k
	for ((k = 0; k < 600; k++)); do
		[[ $(state "$i") == "$want" ]] && return 0
		sleep 0.1
	done
	die "replica r$i is not $want in HAProxy after 60 s (it is $(state "$i")); see $WORK/replica$i.log"
}

for ((i = 0; i < N; i++)); do
	wait_state "$i" UP
done
log "three replicas up behind HAProxy on 127.0.0.1:$HA_PORT"

# --- 1. rolling restart under wrk -------------------------------------------
log "wrk -c$CONNS -d$RR_DURATION while restarting the replicas one at a time"
wrk -t"$WRK_THREADS" -c"$CONNS" -d"$RR_DURATION" "http://127.0.0.1:$HA_PORT/" >"$WORK/wrk.out" 2>&1 &
WRK_PID=$!
sleep 3 # let wrk reach its pace before the first SIGTERM
RESTARTS=0
for ((i = 0; i < N; i++)); do
	t0=$(date +%s.%N)
	kill -TERM "${PIDS[i]}"
	wait_state "$i" DOWN
	for ((k = 0; k < 300; k++)); do
		kill -0 "${PIDS[i]}" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "${PIDS[i]}" 2>/dev/null && die "replica r$i still running 30 s after SIGTERM"
	start_replica "$i"
	wait_state "$i" UP
	RESTARTS=$((RESTARTS + 1))
	log "replica r$i restarted, up again after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
done
kill -0 "$WRK_PID" 2>/dev/null || die "wrk ended before the restarts were done: raise RR_DURATION"
wait "$WRK_PID" || fail wrk "wrk failed" "$WORK/wrk.out"
WRK_OUT=$(cat "$WORK/wrk.out")
REQS=$(awk '/ requests in / {print $1}' <<<"$WRK_OUT")
BAD=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} END {print n + 0}' <<<"$WRK_OUT")
SOCKERR=$(awk '/Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$WRK_OUT")
SOCKDETAIL=$(awk '/Socket errors:/ {sub(/^ */, ""); print}' <<<"$WRK_OUT")

# --- 2. Digest across the replicas -------------------------------------------
log "Digest: requests and curl, $DIGEST_REQUESTS requests each"
REQ_OUT=$("$PY3" - "http://127.0.0.1:$HA_PORT/login" "$DIGEST_REQUESTS" <<'EOF'
import collections, sys, requests
from requests.auth import HTTPDigestAuth
s = requests.Session()
s.auth = HTTPDigestAuth("alice", "alicepw")
n401, bad, seen = 0, 0, collections.Counter()
for i in range(int(sys.argv[2])):
    r = s.get(sys.argv[1])
    n401 += sum(1 for h in r.history if h.status_code == 401) + (r.status_code == 401)
    bad += r.status_code != 200
    seen[r.headers.get("X-Replica")] += 1
print(n401, bad, " ".join("%s=%d" % kv for kv in sorted(seen.items())))
EOF
) || fail requests "the requests client failed"
read -r REQ_401 REQ_BAD REQ_SEEN <<<"$REQ_OUT"
curl -sS -v --noproxy '*' --digest -u alice:alicepw -o /dev/null -w '%{http_code} %header{x-replica}\n' \
	"http://127.0.0.1:$HA_PORT/login?[1-$DIGEST_REQUESTS]" >"$WORK/curl.out" 2>"$WORK/curl.err" ||
	fail curl "curl failed" "$WORK/curl.err"
CURL_401=$(grep -c '^< HTTP/1.1 401' "$WORK/curl.err" || true)
CURL_BAD=$(grep -vc '^200 ' "$WORK/curl.out" || true)
CURL_SEEN=$(awk '{print $2}' "$WORK/curl.out" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')

printf '\n== three gowsgi replicas behind HAProxy (roundrobin, httpchk /readyz), -shutdown-delay %s, load %s ==\n' \
	"$SHUTDOWN_DELAY" "$(cut -d' ' -f1 /proc/loadavg)"
printf 'rolling restart: wrk -t%s -c%s -d%s, %d replicas restarted one at a time\n' "$WRK_THREADS" "$CONNS" "$RR_DURATION" "$RESTARTS"
printf '  requests sent      %s\n' "$REQS"
printf '  non-2xx            %s\n' "$BAD"
printf '  socket errors      %s%s\n' "$SOCKERR" "${SOCKDETAIL:+ ($SOCKDETAIL)}"
printf 'Digest, %s requests per client:\n' "$DIGEST_REQUESTS"
printf '  requests (one session): %s 401s, %s failed, replicas %s\n' "$REQ_401" "$REQ_BAD" "$REQ_SEEN"
printf '  curl --digest (one run): %s 401s (one probe per URL), %s failed, replicas %s\n' "$CURL_401" "$CURL_BAD" "$CURL_SEEN"
if [[ $BAD != 0 || $SOCKERR != 0 || $REQ_401 != 1 || $REQ_BAD != 0 || $CURL_BAD != 0 || $CURL_401 != "$DIGEST_REQUESTS" ]]; then
	printf 'target missed: 0 non-2xx, 0 socket errors, 1 401 for requests, one per URL for curl\n'
	FAILED=1
else
	printf 'target met: 0 failed requests\n'
fi
