#!/bin/bash
# bench/uwsgi-upstream.sh: gowsgi in front of a uWSGI instance
# (cmd/gowsgi -upstream uwsgi://HOST:PORT) against nginx in front of the same
# instance (uwsgi_pass with Debian's uwsgi_params), in one run: hello-world
# requests/s (wrk, keep-alive to the front; each front opens one uwsgi
# connection per request, as the protocol wants) and a 100 MiB download
# through wsgi.file_wrapper (MiB/s, one at a time). The two fronts alternate,
# ROUNDS rounds (default 5) in turns; each figure is the median of its runs,
# with the range and the median of the per-round ratios.
# Target: gowsgi ≥ 1.0× nginx for both.
# Run as root on Debian 12: sudo bench/uwsgi-upstream.sh (see bench/README.md).
: "${ROUNDS:=5}" "${SEQ_DURATION:=5s}" "${DOWNLOADS:=3}" "${BIG_SIZE:=104857600}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup uwsgi-upstream
ensure_debs curl wrk python3 uwsgi uwsgi-plugin-python3 nginx
build_gowsgi

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/fleet.py" "$APP/fleet.py"
chmod -R a+rX "$APP"
log "writing a $BIG_SIZE-byte file"
make_file "$WORK/big.bin" "$BIG_SIZE"

FRONTS=(gowsgi nginx)
label gowsgi "gowsgi -upstream"
label nginx "nginx uwsgi_pass (2 workers)"

# The one uWSGI instance both fronts use: 2 processes, as in the other
# scripts.
UPORT=$(free_port)
start_bg uwsgi uwsgi --plugin python3 --socket "127.0.0.1:$UPORT" --master --processes 2 \
	--threads 1 --wsgi-file "$APP/fleet.py" --env "BENCH_BIG_FILE=$WORK/big.bin" \
	--disable-logging --die-on-term --need-app --listen 128
UWSGI_PID=$BG_PID
for ((i = 0; i < 100; i++)); do
	(: >"/dev/tcp/127.0.0.1/$UPORT") 2>/dev/null && break
	kill -0 "$UWSGI_PID" 2>/dev/null || die "uWSGI did not start: $(tail -n 5 "$WORK/uwsgi.log")"
	sleep 0.1
done

port=$(free_port)
start_bg gowsgi "$GOWSGI_BIN" -listen "127.0.0.1:$port" -upstream "uwsgi://127.0.0.1:$UPORT"
_up gowsgi "http://127.0.0.1:$port" "$BG_PID"
start_nginx nginx "        location / {
            include /etc/nginx/uwsgi_params;
            uwsgi_pass 127.0.0.1:$UPORT;
        }"

for f in "${FRONTS[@]}"; do
	check_status "$f" "$(url_of "$f")/" 200
	[[ $(result_of "$f") == FAILED ]] && continue
	grep -q 'Hello, World!' "$WORK/$f.body" || fail "$f" "unexpected body: $(head -c 100 "$WORK/$f.body")"
	verify_download "$f" "$(url_of "$f")/big" "$WORK/big.bin"
done

# download NAME: DOWNLOADS downloads of /big, one at a time; appends each
# one's MiB/s to $WORK/NAME.dl, or fails NAME on a wrong status or size.
download() {
	local name=$1 i out code size secs
	[[ $(result_of "$name") == FAILED ]] && return 0
	for ((i = 0; i < DOWNLOADS; i++)); do
		out=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' "$(url_of "$name")/big" || true)
		read -r code size secs <<<"$out"
		if [[ $code != 200 || $size != "$BIG_SIZE" ]]; then
			fail "$name" "download: status $code, $size of $BIG_SIZE bytes"
			return 0
		fi
		awk -v s="$size" -v t="$secs" 'BEGIN {printf "%.1f\n", s / 1048576 / t}' >>"$WORK/$name.dl"
	done
}

log "$ROUNDS rounds, the fronts in turns: wrk -c$CONNS for $SEQ_DURATION each, then $DOWNLOADS downloads each"
for f in "${FRONTS[@]}"; do seq_warm "$f" "$(url_of "$f")/"; done
for ((round = 1; round <= ROUNDS; round++)); do
	order=("${FRONTS[@]}")
	((round % 2 == 0)) && order=(nginx gowsgi)
	for f in "${order[@]}"; do
		seq_run "$f" "$(url_of "$f")/"
	done
	for f in "${order[@]}"; do
		download "$f"
	done
done

# per_round FILE-A FILE-B COL: the median and range of A/B, line by line.
per_round() {
	paste -d' ' <(awk -v c="$3" '{print $c}' "$1") <(awk -v c="$3" '{print $c}' "$2") |
		awk '$2 > 0 {print $1 / $2}' | median_spread
}

printf '\n== gowsgi and nginx in front of one uWSGI instance (2 processes), %s ==\n' "$(date -u +%FT%TZ)"
printf '%s cores, load %s; hello: wrk -t%s -c%s, %s rounds of %s each, alternated; download: %s × %s bytes per round, one at a time\n' \
	"$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$WRK_THREADS" "$CONNS" "$ROUNDS" "$SEQ_DURATION" "$DOWNLOADS" "$BIG_SIZE"
printf '%-30s %-28s %-14s %s\n' "front" "hello req/s (range)" "front µs/req" "100 MiB download MiB/s (range)"
declare -A RPS DL
for f in "${FRONTS[@]}"; do
	if [[ $(result_of "$f") == FAILED ]]; then
		printf '%-30s FAILED: %s\n' "${_RES_LABEL[$f]}" "${_RES_NOTE[$f]}"
		continue
	fi
	read -r med lo hi < <(awk '{print $1}' "$WORK/$f.runs" | median_spread)
	read -r cpu _ _ < <(awk '{print $3}' "$WORK/$f.runs" | median_spread)
	read -r dmed dlo dhi < <(median_spread <"$WORK/$f.dl")
	RPS[$f]=$med DL[$f]=$dmed
	printf '%-30s %-28s %-14s %s\n' "${_RES_LABEL[$f]}" "$(printf '%.0f (%.0f-%.0f)' "$med" "$lo" "$hi")" \
		"$(printf '%.0f' "$cpu")" "$(printf '%.0f (%.0f-%.0f)' "$dmed" "$dlo" "$dhi")"
done
if [[ -n ${RPS[gowsgi]:-} && -n ${RPS[nginx]:-} ]]; then
	read -r hr hlo hhi < <(per_round "$WORK/gowsgi.runs" "$WORK/nginx.runs" 1)
	read -r dr dlo dhi < <(per_round "$WORK/gowsgi.dl" "$WORK/nginx.dl" 1)
	printf 'per-round gowsgi ÷ nginx: hello median %.3f (%.3f-%.3f), download median %.3f (%.3f-%.3f)\n' \
		"$hr" "$hlo" "$hhi" "$dr" "$dlo" "$dhi"
	for what in hello download; do
		if [[ $what == hello ]]; then r=$(ratio "${RPS[gowsgi]}" "${RPS[nginx]}"); else r=$(ratio "${DL[gowsgi]}" "${DL[nginx]}"); fi
		if awk -v r="$r" 'BEGIN {exit !(r >= 1.0)}'; then v=MET; else v="NOT MET"; fi
		printf 'target %s: gowsgi ÷ nginx (medians) = %s (≥ 1.0): %s\n' "$what" "$r" "$v"
	done
fi
