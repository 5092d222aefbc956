#!/bin/bash
# bench/upload.sh: a 256 MiB upload (POST with Content-Length,
# curl from a file in the page cache) to an app that hashes the body, under
# cmd/gowsgi, uWSGI (--http-socket) and gunicorn (sync), in one run: once
# read with one wsgi.input.read(), once with a loop of read(65536). Prints
# MiB/s for each server and mode (median of RUNS runs, alternated), the
# servers' CPU seconds per GiB, and gowsgi ÷ the faster peer per mode.
# Target: gowsgi ≥ 1.0× the faster peer in both modes.
# Run as root on Debian 12: sudo bench/upload.sh (see bench/README.md).
: "${SIZE:=268435456}" "${RUNS:=5}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup upload
ensure_debs curl python3 uwsgi uwsgi-plugin-python3 gunicorn
build_gowsgi

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/upload.py" "$APP/upload.py"
chmod -R a+rX "$APP"
log "writing a $SIZE-byte file"
make_file "$WORK/body.bin" "$SIZE"
WANT="$SIZE $(sha256sum "$WORK/body.bin" | cut -d' ' -f1)"

PEERS=(gowsgi uwsgi gunicorn)
MODES=(read read64k)
declare -A MODE_TEXT=([read]="read()" [read64k]="read(65536) loop")
label gowsgi "gowsgi -processes 2 -threads 1"
label uwsgi "uWSGI 2 processes (--http-socket)"
label gunicorn "gunicorn sync, 2 workers"

start_gowsgi gowsgi -processes 2 -threads 1 "$APP/upload.py"
start_uwsgi uwsgi "$APP/upload.py" 2 http-socket
start_gunicorn gunicorn "$APP" upload:application 2

# upload NAME MODE: one POST of the file; appends "MiB/s server-CPU-s
# leader-CPU-s" to $WORK/NAME.MODE, or fails NAME on a wrong answer.
upload() {
	local name=$1 mode=$2 out c0 c1 l0 l1 code secs pids=()
	[[ $(result_of "$name") == FAILED ]] && return 0
	mapfile -t pids < <(proc_tree "$(pid_of "$name")")
	c0=$(proc_cpu "${pids[@]}")
	l0=$(proc_cpu "${pids[0]}")
	# Expect: (none): curl would wait a second for a 100 Continue that
	# uWSGI does not send.
	out=$(curl -s -o "$WORK/$name.body" -w '%{http_code} %{time_total}' -H 'Expect:' \
		-H 'Content-Type: application/octet-stream' -X POST -T "$WORK/body.bin" \
		"$(url_of "$name")/$mode" 2>&1) || out="curl-error $out"
	c1=$(proc_cpu "${pids[@]}")
	l1=$(proc_cpu "${pids[0]}")
	read -r code secs <<<"$out"
	if [[ $code != 200 || $(cat "$WORK/$name.body") != "$WANT" ]]; then
		fail "$name" "POST /$mode: $out, body $(head -c 100 "$WORK/$name.body"), want 200 \"$WANT\"" "$WORK/$name.log"
		return 0
	fi
	awk -v s="$SIZE" -v t="$secs" -v a="$c0" -v b="$c1" -v la="$l0" -v lb="$l1" \
		'BEGIN {g = s / 1073741824; printf "%.1f %.3f %.3f\n", s / 1048576 / t, (b - a) / g, (lb - la) / g}' \
		>>"$WORK/$name.$mode"
}

# One unmeasured upload per server and mode (page cache, first imports),
# then RUNS rounds, every server and mode once per round.
log "warming up"
for m in "${MODES[@]}"; do
	for p in "${PEERS[@]}"; do
		upload "$p" "$m"
		rm -f "$WORK/$p.$m"
	done
done
for ((round = 1; round <= RUNS; round++)); do
	log "round $round of $RUNS"
	for m in "${MODES[@]}"; do
		for p in "${PEERS[@]}"; do
			upload "$p" "$m"
		done
	done
done

# col NAME MODE COL: "median min max" of column COL of NAME's runs in MODE.
col() {
	[[ -s $WORK/$1.$2 ]] || { echo "- - -"; return; }
	awk -v c="$3" '{print $c}' "$WORK/$1.$2" | median_spread
}

printf '\n== upload: %s bytes POSTed with Content-Length (curl -T), app hashes the body; MiB/s, median of %s runs (%s) ==\n' \
	"$SIZE" "$RUNS" "$(conditions | sed 's/; wrk.*//')"
printf '%-36s %-24s %-24s %s\n' "server" "read() MiB/s (range)" "read(65536) MiB/s" "server CPU s/GiB: read(), loop"
declare -A MED=()
for p in "${PEERS[@]}"; do
	if [[ $(result_of "$p") == FAILED ]]; then
		printf '%-36s FAILED: %s\n' "${_RES_LABEL[$p]}" "${_RES_NOTE[$p]}"
		continue
	fi
	cells=() cpu=()
	for m in "${MODES[@]}"; do
		read -r med lo hi < <(col "$p" "$m" 1)
		MED[$p.$m]=$med
		cells+=("$(printf '%.0f (%.0f-%.0f)' "$med" "$lo" "$hi")")
		read -r c _ _ < <(col "$p" "$m" 2)
		cpu+=("$(printf '%.2f' "$c")")
	done
	note=""
	if [[ $p == gowsgi ]]; then
		read -r g1 _ _ < <(col "$p" read 3)
		read -r g2 _ _ < <(col "$p" read64k 3)
		note=$(printf ' (Go process %.2f, %.2f)' "$g1" "$g2")
	fi
	printf '%-36s %-24s %-24s %s, %s%s\n' "${_RES_LABEL[$p]}" "${cells[0]}" "${cells[1]}" "${cpu[0]}" "${cpu[1]}" "$note"
done
echo
for m in "${MODES[@]}"; do
	faster=uwsgi
	awk -v a="${MED[gunicorn.$m]:-0}" -v b="${MED[uwsgi.$m]:-0}" 'BEGIN {exit !(a + 0 > b + 0)}' && faster=gunicorn
	r=$(ratio "${MED[gowsgi.$m]:-}" "${MED[$faster.$m]:-}")
	if [[ $r == - ]]; then
		printf 'target %s: not measured\n' "${MODE_TEXT[$m]}"
	elif awk -v r="$r" 'BEGIN {exit !(r >= 1.0)}'; then
		printf 'target %s: gowsgi ÷ faster peer (%s) = %s (≥ 1.0): MET\n' "${MODE_TEXT[$m]}" "$faster" "$r"
	else
		printf 'target %s: gowsgi ÷ faster peer (%s) = %s (≥ 1.0): NOT MET\n' "${MODE_TEXT[$m]}" "$faster" "$r"
	fi
done
