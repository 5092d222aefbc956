#!/bin/bash
# bench/pool/run.sh (issue 9): throughput of 50 database/sql pools × 3 callers
# against a real PostgreSQL 15 (started by the benchmark itself through
# internal/testenv: initdb/postgres in a temp dir, as user postgres when run as
# root), four ways, in one run:
#   governor         pool.Governor, MaxOpen 20, PerPoolMax 2, default HoldFor
#   governor-hold1s  the same with HoldFor 1s (fewer reconnects, longer waits)
#   shared           one *sql.DB of 20 connections used by all 150 callers
#   uncapped         50 *sql.DB without a limit (needs 150 backends)
# Each query holds its backend ~1 ms (pg_sleep(0.001)); every caller queries
# for 3 s before the measured window. Prints queries/s, the peak number of
# backends seen in pg_stat_activity, and each figure as a ratio to "shared".
# Goal: governor ≥ 0.9 × shared while its peak stays ≤ 20.
#
# Tunables: GOWSGI_POOL_BENCH_WINDOW (measured window per setup, default 10s,
# after a 3 s warm-up), COUNT (runs of each setup, default 1; best kept).
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
	}
	if (!(name in best) || q > best[name]) { best[name] = q; peak[name] = p }
	if (!(name in seen)) { seen[name] = 1; order[n++] = name }
}
END {
	if (!("shared" in best) || best["shared"] == 0) { print "no result for shared" > "/dev/stderr"; exit 1 }
	printf "%-18s %12s %8s %14s\n", "setup", "queries/s", "ratio", "peak backends"
	for (i = 0; i < n; i++) {
		s = order[i]
		printf "%-18s %12.0f %7.2fx %14d\n", s, best[s], best[s] / best["shared"], peak[s]
	}
}' "$out"
