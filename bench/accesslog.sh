#!/bin/bash
# bench/accesslog.sh: what the access log and the metrics cost. A
# hello-world WSGI app under three cmd/gowsgi instances, alike but for:
#
#   plain     no access log, no -status-addr
#   log       -access-log FILE (combined format, a file in the work dir)
#   metrics   -access-log FILE and -status-addr (Prometheus metrics counted
#             on every request)
#
# measured in one interleaved sequence, as bench/auth-basic.sh does:
#
#   P  L P M P  L P M P  ...  (PAIRS times "L P M P", default 8)
#
# each L and M run sits between two P runs and its ratio is taken to their
# mean, so that a drift of the machine's load cancels out; the verdict is
# the median of those ratios with their spread. Three instances differ by a
# few percent on their own (where the kernel runs them): read a ratio
# within ±3% as no difference. Afterwards the script checks that the log
# holds one line per request wrk made and that no line was dropped.
#
# Tunables besides lib.sh's: PAIRS, GO_DURATION (wrk -d of each run,
# default 3s).
# Run as root on Debian 12: sudo bench/accesslog.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${PAIRS:=8}" "${GO_DURATION:=3s}"

setup accesslog
ensure_debs curl wrk python3
build_gowsgi

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/hello.py" "$APP/hello.py"

label gowsgi-plain "gowsgi, no access log"
label gowsgi-log "gowsgi -access-log FILE"
label gowsgi-metrics "gowsgi -access-log FILE -status-addr (metrics)"

gowsgi_has_flags access-log status-addr || die "cmd/gowsgi has no -access-log flag"
start_gowsgi gowsgi-plain -processes 2 -threads 1 "$APP/hello.py"
start_gowsgi gowsgi-log -processes 2 -threads 1 -access-log "$WORK/access-log.log" "$APP/hello.py"
STATUS_PORT=$(free_port)
start_gowsgi gowsgi-metrics -processes 2 -threads 1 -access-log "$WORK/access-metrics.log" \
	-status-addr "127.0.0.1:$STATUS_PORT" "$APP/hello.py"
for p in gowsgi-plain gowsgi-log gowsgi-metrics; do
	check_status "$p" "$(url_of "$p")/" 200
done

SEQ_DURATION=$GO_DURATION
for p in gowsgi-plain gowsgi-log gowsgi-metrics; do
	seq_warm "$p" "$(url_of "$p")/"
done
sleep 1
: >"$WORK/sequence"
seq_run gowsgi-plain "$(url_of gowsgi-plain)/"
for ((round = 1; round <= PAIRS; round++)); do
	log "round $round/$PAIRS"
	seq_run gowsgi-log "$(url_of gowsgi-log)/"
	seq_run gowsgi-plain "$(url_of gowsgi-plain)/"
	seq_run gowsgi-metrics "$(url_of gowsgi-metrics)/"
	seq_run gowsgi-plain "$(url_of gowsgi-plain)/"
done
for p in gowsgi-plain gowsgi-log gowsgi-metrics; do
	seq_record "$p"
done

print_table "accesslog: hello world with and without the access log, requests/s ($(conditions); median of interleaved runs of wrk -d$GO_DURATION)" "req/s" gowsgi-plain

echo
verdict_median "gowsgi with the access log ÷ without, req/s" gowsgi-log gowsgi-plain 1
verdict_median "gowsgi with the access log and metrics ÷ without, req/s" gowsgi-metrics gowsgi-plain 1
verdict_median "gowsgi Go process CPU per request, access log ÷ none" gowsgi-log gowsgi-plain 2
verdict_median "gowsgi Go process CPU per request, access log and metrics ÷ none" gowsgi-metrics gowsgi-plain 2

# Nothing dropped: the access log's own count, from the metrics, and the
# lines in the file against the requests the metrics counted (the same
# requests: both are counted as a response ends; the workers' own count,
# Total Accesses, also has the requests wrk abandoned at the end of each
# run, which the workers finished after the client left).
sleep 1 # the writer goroutine may still be writing the last lines
metrics=$(curl -s "http://127.0.0.1:$STATUS_PORT/metrics")
dropped=$(awk '$1 == "gowsgi_access_log_dropped_total" {print $2}' <<<"$metrics")
counted=$(awk '$1 ~ /^gowsgi_http_requests_total/ {n += $2} END {printf "%d", n}' <<<"$metrics")
lines=$(wc -l <"$WORK/access-metrics.log")
printf 'access log with metrics: %s lines for %s requests counted by the metrics, %s dropped\n' "$lines" "$counted" "${dropped:-?}"
[[ $FAILED == 0 ]]
