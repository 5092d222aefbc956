#!/bin/bash
# bench/kerberos-basic.sh: Basic logins per second
# through cmd/gowsgi's Kerberos password fallback (-keytab -kerberos-basic)
# against Debian's MIT KDC (examples/kerberos/kdc.sh), before and after the
# fallback got auth's credential cache: "before" is cmd/gowsgi built from
# the git revision BEFORE (default main), where every Basic request costs a
# TGT and a service ticket from the KDC; "after" is this checkout, where a
# login the KDC accepted is cached (kerberos.Config.BasicCacheTTL, -kerberos-basic-cache-ttl, 5 min by default).
# Each is measured ROUNDS times with wrk (one Authorization header, so one
# user), interleaved, best kept; the KDC's log tells how many requests it
# got during each run. Prints logins/s and KDC requests per login.
#
# Tunables besides lib.sh's: BEFORE (a git revision).
# Run as root on Debian 12: sudo bench/kerberos-basic.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${BEFORE:=main}"

setup kerberos-basic
ensure_debs curl wrk python3 krb5-kdc krb5-admin-server krb5-user
build_gowsgi
AFTER_BIN=$GOWSGI_BIN
log "building cmd/gowsgi at $BEFORE"
mkdir -p "$WORK/before"
git -C "$REPO_DIR" archive "$BEFORE" | tar -x -C "$WORK/before" || die "git archive $BEFORE failed"
(cd "$WORK/before" && PATH=$PATH:/usr/local/go/bin go build -o "$WORK/gowsgi-before" ./cmd/gowsgi) ||
	die "go build at $BEFORE failed"
BEFORE_BIN=$WORK/gowsgi-before

KDC_DIR=$WORK/kdc
KDC_PID=$(bash "$REPO_DIR/examples/kerberos/kdc.sh" "$KDC_DIR" "$(free_port)") || die "the KDC did not start"
_PGIDS+=("$KDC_PID")
_PGNAME[$KDC_PID]=krb5kdc

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/hello.py" "$APP/hello.py"
AUTH="Authorization: Basic $(printf 'alice:alicepw' | base64 -w0)"
ARGS=(-processes 2 -keytab "$KDC_DIR/http.keytab" -spn HTTP/localhost -kerberos-basic
	-krb5-conf "$KDC_DIR/krb5.conf" -require valid-user "$APP/hello.py")

GOWSGI_BIN=$BEFORE_BIN start_gowsgi before "${ARGS[@]}"
GOWSGI_BIN=$AFTER_BIN start_gowsgi after "${ARGS[@]}"
for p in before after; do
	check_status "$p" "$(url_of "$p")/" 200 -H "$AUTH"
	check_status "$p" "$(url_of "$p")/" 401
done
((FAILED)) && die "a gowsgi does not answer as expected"

kdc_requests() { grep -c -E 'AS_REQ|TGS_REQ' "$KDC_DIR/kdc.log" || true; }

declare -A BEST=() KDC_PER=()
for ((round = 1; round <= ROUNDS; round++)); do
	for p in before after; do
		k0=$(kdc_requests)
		wrk_measure "$(url_of "$p")/" -H "$AUTH" || fail "$p" "wrk failed: $WRK_OUT"
		k1=$(kdc_requests)
		((WRK_BAD == 0)) || fail "$p" "$WRK_BAD responses were not 2xx/3xx"
		log "round $round $p: $WRK_RPS logins/s, $((k1 - k0)) KDC requests for $WRK_REQS logins (and the warm-up)"
		if awk -v a="$WRK_RPS" -v b="${BEST[$p]:-0}" 'BEGIN {exit !(a > b)}'; then
			BEST[$p]=$WRK_RPS
			KDC_PER[$p]=$(awk -v k=$((k1 - k0)) -v n="$WRK_REQS" 'BEGIN {printf "%.3f", n ? k / n : 0}')
		fi
	done
done

printf '\nKerberos Basic logins/s through cmd/gowsgi, MIT KDC on loopback, wrk -t%s -c%s -d%s, best of %s\n' \
	"$WRK_THREADS" "$CONNS" "$DURATION" "$ROUNDS"
printf '  before (%s, no cache):  %10.1f logins/s, %s KDC requests per login\n' "$BEFORE" "${BEST[before]}" "${KDC_PER[before]}"
printf '  after (cached):          %10.1f logins/s, %s KDC requests per login\n' "${BEST[after]}" "${KDC_PER[after]}"
awk -v a="${BEST[after]}" -v b="${BEST[before]}" 'BEGIN {if (b > 0) printf "  after/before: %.1fx\n", a / b}'
conditions
