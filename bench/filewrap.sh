#!/bin/bash
# bench/filewrap.sh: a 1 GiB file downloaded through wsgi.file_wrapper
# under cmd/gowsgi, vs the same file served statically by Apache (EnableSendfile
# On) and nginx (sendfile on), in one run. Prints GB/s, each peer's ratio to
# gowsgi, and CPU seconds per GiB sent (gowsgi: the Go process alone).
# Target: gowsgi ≥ 0.9× the faster of Apache and nginx.
# Run as root on Debian 12: sudo bench/filewrap.sh (see bench/README.md).
: "${SIZE:=1073741824}" "${PAR:=4}" "${SEQ:=1}" "${ROUNDS:=1}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup filewrap
ensure_debs curl python3 apache2 nginx-light
build_gowsgi

DATA=$WORK/data
APP=$WORK/app
mkdir -p "$DATA" "$APP"
cp "$BENCH_DIR/apps/filewrap.py" "$APP/filewrap.py"
log "writing a $SIZE-byte file"
make_file "$DATA/big.bin" "$SIZE"
chmod -R a+rX "$DATA" "$APP"

label gowsgi "gowsgi wsgi.file_wrapper (-processes 2 -threads 4)"
label apache "Apache static, EnableSendfile On"
label nginx "nginx static, sendfile on"

start_gowsgi gowsgi -processes 2 -threads 4 -env "BENCH_FILE=$DATA/big.bin" "$APP/filewrap.py"

port=$(apache_conf apache)
cat >>"$WORK/apache/httpd.conf" <<CONF
EnableSendfile On
EnableMMAP Off
DocumentRoot $DATA
<Directory $DATA>
    Require all granted
</Directory>
CONF
apache_start apache "$port"

start_nginx nginx "        location / { root $DATA; sendfile on; tcp_nopush on; }"

declare -A PATHS=([gowsgi]=/ [apache]=/big.bin [nginx]=/big.bin)
PEERS=(gowsgi apache nginx)
for p in "${PEERS[@]}"; do
	[[ $(result_of "$p") == FAILED ]] && continue
	verify_download "$p" "$(url_of "$p")${PATHS[$p]}" "$DATA/big.bin"
done

declare -A CPU=()
for ((round = 1; round <= ROUNDS; round++)); do
	for p in "${PEERS[@]}"; do
		[[ $(result_of "$p") == FAILED ]] && continue
		pid=$(pid_of "$p")
		if [[ $p == gowsgi ]]; then
			# The Go process alone (its Python workers only hand over a descriptor).
			download_rate "$p" "$(url_of "$p")${PATHS[$p]}" "$SIZE" "$PAR" "$SEQ" "$pid"
		else
			# mapfile: every process of the server (parent and workers).
			mapfile -t tree < <(proc_tree "$pid")
			download_rate "$p" "$(url_of "$p")${PATHS[$p]}" "$SIZE" "$PAR" "$SEQ" "${tree[@]}"
		fi
		[[ -n $DL_CPU ]] && CPU[$p]=$(awk -v c="$DL_CPU" -v n="$((PAR * SEQ))" -v s="$SIZE" \
			'BEGIN {printf "%.3f", c / (n * s / 1073741824)}')
	done
done
for p in "${PEERS[@]}"; do
	[[ -n ${CPU[$p]:-} && $(result_of "$p") != FAILED ]] && note "$p" "server CPU ${CPU[$p]} s/GiB"
done

print_table "filewrap: $((PAR * SEQ)) downloads of $SIZE bytes, $PAR concurrent (curl -o /dev/null), GB/s ($(conditions | sed 's/; wrk.*//'))" "GB/s" gowsgi 1e9
faster=apache
awk -v a="$(result_of nginx)" -v b="$(result_of apache)" 'BEGIN {exit !(a + 0 > b + 0)}' && faster=nginx
verdict "gowsgi ÷ faster static peer ($faster)" gowsgi "$faster" 0.9
if [[ -n ${CPU[gowsgi]:-} && $(result_of gowsgi) != FAILED ]]; then
	printf 'gowsgi Go process CPU (user+system) per GiB sent: %s s\n' "${CPU[gowsgi]}"
fi
