#!/bin/bash
# bench/mixed.sh: latency of instant requests among long ones.
# One WSGI app (apps/mixed.py: /slow sleeps 500 ms, /fast answers at once)
# under cmd/gowsgi -processes 2 -threads 2, Apache mod_wsgi daemon mode
# (processes=2 threads=2) and uWSGI --http-socket (--processes 2 --threads 2),
# in one run. bench/mixedload (a Go client, standard library, loopback only)
# keeps MIXED_CONNS (16) connections in a closed loop for MIXED_DURATION (30s)
# per server, every fourth request of each connection /slow, the others
# /fast, and prints p50 and p99 of the /fast requests for each server.
# Target: gowsgi's /fast p99 ≤ 1.0× mod_wsgi daemon's.
# Run as root on Debian 12: sudo bench/mixed.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${MIXED_DURATION:=30s}" "${MIXED_CONNS:=16}" "${MIXED_WARMUP:=2s}" "${MIXED_ROUNDS:=1}"

setup mixed
ensure_debs curl python3 uwsgi uwsgi-plugin-python3 apache2 libapache2-mod-wsgi-py3
build_gowsgi
gobin=$(PATH=$PATH:/usr/local/go/bin command -v go) || die "go not found (needed for bench/mixedload)"
(cd "$REPO_DIR" && "$gobin" build -o "$WORK/mixedload" ./bench/mixedload) || die "go build ./bench/mixedload failed"

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/mixed.py" "$APP/mixed.py"
chmod -R a+rX "$APP"

label gowsgi "gowsgi -processes 2 -threads 2"
label modwsgi-daemon "Apache mod_wsgi daemon processes=2 threads=2"
label uwsgi "uWSGI --http-socket --processes 2 --threads 2"

start_gowsgi gowsgi -processes 2 -threads 2 "$APP/mixed.py"
start_uwsgi uwsgi "$APP/mixed.py" 2 http-socket 2

port=$(apache_conf modwsgi-daemon wsgi)
modwsgi_daemon modwsgi-daemon mixed "$APP/mixed.py" 2 2
apache_start modwsgi-daemon "$port"

PEERS=(gowsgi modwsgi-daemon uwsgi)
for p in "${PEERS[@]}"; do
	check_status "$p" "$(url_of "$p")/fast" 200
	[[ $(result_of "$p") == FAILED ]] && continue
	grep -qx fast "$WORK/$p.body" || fail "$p" "unexpected body: $(head -c 100 "$WORK/$p.body")"
done

# field NAME KEY: KEY=value from the result line of NAME's runs, one a line.
field() { sed -n 's/^result //p' "$WORK/$1.runs" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

for ((round = 1; round <= MIXED_ROUNDS; round++)); do
	for p in "${PEERS[@]}"; do
		[[ $(result_of "$p") == FAILED ]] && continue
		log "mixedload $p (round $round): $MIXED_CONNS connections, $MIXED_DURATION"
		mapfile -t CPU_PIDS < <(proc_tree "$(pid_of "$p")")
		c0=$(proc_cpu "${CPU_PIDS[@]}") t0=$(date +%s.%N)
		if ! out=$("$WORK/mixedload" -url "$(url_of "$p")" -conns "$MIXED_CONNS" -duration "$MIXED_DURATION" -warmup "$MIXED_WARMUP" 2>&1); then
			fail "$p" "mixedload failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
			continue
		fi
		c1=$(proc_cpu "${CPU_PIDS[@]}") t1=$(date +%s.%N)
		printf '%s\n' "$out" >>"$WORK/$p.runs"
		printf '%s\n' "$out" | sed "s/^/bench: $p: /" >&2
		# Requests that failed are a failure of the peer, not a figure.
		errs=$(sed -n 's/^result .* errors=\([0-9]*\) .*/\1/p' <<<"$out")
		if [[ ${errs:-1} != 0 ]]; then
			fail "$p" "$errs failed requests: $(grep '^errors:' <<<"$out" | tr '\n' ' ')"
			continue
		fi
		# Server CPU (all its processes) over the warm-up and the run.
		awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN {printf "%.0f\n", 100 * (b - a) / (e - s)}' >>"$WORK/$p.cpu"
	done
done

printf '\n== mixed: /fast among /slow (500 ms) requests, latency of /fast (%s, %s cores, load %s; %s connections, closed loop, every 4th request /slow, %s per server after a %s warm-up, %s round(s), median of rounds) ==\n' \
	"$(date -u +%FT%TZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$MIXED_CONNS" "$MIXED_DURATION" "$MIXED_WARMUP" "$MIXED_ROUNDS"
printf '%-46s %9s %9s %9s %11s %9s %8s  %s\n' peer "p50 ms" "p99 ms" "max ms" "÷ mod_wsgi" "slow p50" "req/s" notes
declare -A P99=()
for p in "${PEERS[@]}"; do
	if [[ $(result_of "$p") == FAILED || ! -s $WORK/$p.runs ]]; then
		printf '%-46s %9s\n' "${_RES_LABEL[$p]}" FAILED
		continue
	fi
	P99[$p]=$(field "$p" fast_p99_ms | median)
done
for p in "${PEERS[@]}"; do
	[[ -n ${P99[$p]:-} ]] || continue
	p50=$(field "$p" fast_p50_ms | median)
	mx=$(field "$p" fast_max_ms | median)
	sp50=$(field "$p" slow_p50_ms | median)
	rps=$(field "$p" rps | median)
	n=$(field "$p" fast_n | awk '{s += $1} END {print s}')
	opened=$(field "$p" conns_opened | awk '{s += $1} END {print s}')
	ccpu=$(paste <(field "$p" client_cpu_s) <(field "$p" elapsed_s) | awk '{c += $1; e += $2} END {printf "%.0f", 100 * c / e}')
	scpu=$(median <"$WORK/$p.cpu")
	printf '%-46s %9.1f %9.1f %9.1f %11s %9.1f %8.1f  %s\n' "${_RES_LABEL[$p]}" "$p50" "${P99[$p]}" "$mx" \
		"$(ratio "${P99[$p]}" "${P99[modwsgi-daemon]:-}")" "$sp50" "$rps" \
		"$n /fast; $opened connections opened; server CPU ${scpu}%, client CPU ${ccpu}% of one core"
done
echo
r=$(ratio "${P99[gowsgi]:-}" "${P99[modwsgi-daemon]:-}")
if [[ $r == - ]]; then
	echo "target gowsgi /fast p99 ÷ mod_wsgi daemon /fast p99: not measured"
elif awk -v r="$r" 'BEGIN {exit !(r <= 1.0)}'; then
	echo "target gowsgi /fast p99 ÷ mod_wsgi daemon /fast p99: $r (≤ 1.0): MET"
else
	echo "target gowsgi /fast p99 ÷ mod_wsgi daemon /fast p99: $r (≤ 1.0): NOT MET"
fi
