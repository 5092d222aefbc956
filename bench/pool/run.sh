#!/bin/bash
# bench/pool/run.sh: throughput of 50 database/sql pools × 3 callers
# against a real PostgreSQL 15 (started by the benchmark itself through
# internal/testenv: initdb/postgres in a temp dir, as user postgres when run as
# root), four ways, in one run:
#   governor         pool.Governor, MaxOpen 20, PerPoolMax 2, all else default:
#                    the adaptive hold (a connection serves its pool for 19x
#                    the measured close+connect cost, 10 ms..10 s, before
#                    yielding to another pool's waiter: reconnecting takes
#                    ~1/20 of a slot's time)
#   governor-hold1s  the same with a fixed HoldFor of 1 s, what the earlier
#                    default amounted to here (the "before")
#   shared           one *sql.DB of 20 connections used by all 150 callers
#   uncapped         50 *sql.DB without a limit (needs 150 backends)
# Each query holds its backend ~1 ms (pg_sleep(0.001)); every caller queries
# for 3 s before the measured window. Prints queries/s, each as a ratio to
# "shared", the peak number of backends seen in pg_stat_activity, the p99
# latency of a query (waiting for a slot included) of the median pool and
# of the worst pool, and the longest latency of any query (a pool waiting
# for its turn). The governor's log line (go test output, stderr) gives its
# measured connect and close, the hold in use and the waits in the window.
# Goal: governor >= 0.9 x shared while its peak stays <= 20, every pool
# making progress. 50 pools want 100 connections and share 20: with more
# demand than slots, pools take turns in one FIFO queue, and a caller waits
# about (callers queued / 20) x (hold + connect) for its turn ("longest").
#
# Tunables: GOWSGI_POOL_BENCH_WINDOW (measured window per setup, default 25s,
# after a 3 s warm-up; it must cover a round of turns, ~1.5 x the hold),
# COUNT (runs of each setup, default 1; best kept; each run takes ~2 min).
# Needs: Go on PATH (or /usr/local/go/bin), postgresql-15.
set -Eeuo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH=/usr/local/go/bin:$PATH
: "${COUNT:=1}"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
cd "$REPO"
go test -run '^$' -bench '^BenchmarkFiftyPools$' -benchtime 1x -count "$COUNT" ./pool | tee "$out" >&2

awk '
/^BenchmarkFiftyPools\// {
	name = $1; sub(/^BenchmarkFiftyPools\//, "", name); sub(/-[0-9]+$/, "", name)
	for (i = 2; i < NF; i++) {
		if ($(i+1) == "queries/s") q = $i
		if ($(i+1) == "peak-backends") p = $i
		if ($(i+1) == "p99-ms-median-pool") m = $i
		if ($(i+1) == "p99-ms-worst-pool") w = $i
		if ($(i+1) == "max-ms") x = $i
	}
	if (!(name in best) || q > best[name]) { best[name] = q; peak[name] = p; med[name] = m; worst[name] = w; longest[name] = x }
	if (!(name in seen)) { seen[name] = 1; order[n++] = name }
}
END {
	if (!("shared" in best) || best["shared"] == 0) { print "no result for shared" > "/dev/stderr"; exit 1 }
	printf "%-16s %10s %7s %5s %16s %15s %10s\n", "setup", "queries/s", "ratio", "peak", "p99 median pool", "p99 worst pool", "longest"
	for (i = 0; i < n; i++) {
		s = order[i]
		printf "%-16s %10.0f %6.2fx %5d %13.0f ms %12.0f ms %7.0f ms\n", s, best[s], best[s] / best["shared"], peak[s], med[s], worst[s], longest[s]
	}
}' "$out"
