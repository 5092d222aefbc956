#!/bin/bash
# bench/auth-unknown-user.sh: does an unknown Basic user
# cost what a known one costs? cmd/gowsgi serves a hello-world app behind
# -htpasswd with a bcrypt (cost 10) user (made by Debian's htpasswd) and a
# cheaper $apr1$ one, -auth-cache-ttl=-1s so that no check is cached. TRIES
# (default 200) requests with an unknown user name and as many with a wrong
# password for the bcrypt user alternate, one at a time, timed by curl
# (time_total). It prints both medians and the ratio unknown/known, which
# should lie within 0.8-1.25: an unknown user is checked against a dummy
# hash of the same scheme and cost as the file's costliest entry.
#
# Run as root on Debian 12: sudo bench/auth-unknown-user.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${TRIES:=200}"

setup auth-unknown-user
ensure_debs curl python3 apache2-utils
build_gowsgi

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/hello.py" "$APP/hello.py"
htpasswd -c -b -m "$WORK/htpasswd" cheap cheap-pw 2>/dev/null || die "htpasswd -m failed"
htpasswd -b -B -C 10 "$WORK/htpasswd" alice alice-pw 2>/dev/null || die "htpasswd -B failed"

start_gowsgi gowsgi -processes 1 -htpasswd "$WORK/htpasswd" -auth-cache-ttl=-1s \
	-require valid-user "$APP/hello.py"
[[ $(result_of gowsgi) == FAILED ]] && die "gowsgi did not start"
URL=$(url_of gowsgi)/
check_status gowsgi "$URL" 200 -u alice:alice-pw
check_status gowsgi "$URL" 401 -u alice:wrong
check_status gowsgi "$URL" 401 -u ghost:wrong
((FAILED)) && die "gowsgi does not answer as expected"

: >"$WORK/unknown" >"$WORK/known"
for ((i = 1; i <= TRIES; i++)); do
	curl -s -o /dev/null -w '%{time_total}\n' -u "ghost$i:wrong-$i" "$URL" >>"$WORK/unknown"
	curl -s -o /dev/null -w '%{time_total}\n' -u "alice:wrong-$i" "$URL" >>"$WORK/known"
done

"$PY3" - "$WORK/unknown" "$WORK/known" <<'PY'
import statistics, sys
unknown = [float(l) for l in open(sys.argv[1]) if l.strip()]
known = [float(l) for l in open(sys.argv[2]) if l.strip()]
mu, mk = statistics.median(unknown), statistics.median(known)
ratio = mu / mk
print(f"unknown user:             {len(unknown)} tries, median {mu*1000:.2f} ms")
print(f"known bcrypt user, wrong: {len(known)} tries, median {mk*1000:.2f} ms")
print(f"median ratio unknown/known: {ratio:.3f} (target 0.8-1.25): {'PASS' if 0.8 <= ratio <= 1.25 else 'FAIL'}")
sys.exit(0 if 0.8 <= ratio <= 1.25 else 1)
PY
