#!/bin/bash
# scale.sh measures daiban on PostgreSQL at two sizes side by side, as in
# BENCHMARKS.md's "A province on one PostgreSQL": it loads a demo of a
# province's tree (17 cities) at each size into a database of its own (kept
# between runs: delete them to load again), reports the space per errand,
# runs the store's statistics and read benchmarks on both sizes in turn, then
# serves both and measures public lookup and registration at 32 clients.
#
#   cmd/daiban-load/scale.sh [WORKDIR]      (default /tmp/daiban-scale)
#
# Environment: PGURL_ADMIN (default postgres://postgres@127.0.0.1:5432/postgres),
# SIZES (default "1000000 10000000"), CLIENTS, DURATION, WARMUP, BENCHTIME.
# Ten million errands take about 45 GB and 30-40 minutes to load here.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${1:-/tmp/daiban-scale}
SIZES=${SIZES:-1000000 10000000}
CLIENTS=${CLIENTS:-32} DURATION=${DURATION:-20s} WARMUP=${WARMUP:-3s} BENCHTIME=${BENCHTIME:-20x}
PGURL_ADMIN=${PGURL_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
export DAIBAN_ADMIN_PASSWORD=bench-admin-password
mkdir -p "$W"
go build -o "$W/daiban" ./cmd/daiban
go build -o "$W/daiban-load" ./cmd/daiban-load
run() { echo "== $(date -u +%FT%TZ) $* (load: $(cut -d' ' -f1-3 /proc/loadavg))"; }
url() { echo "${PGURL_ADMIN%/*}/daiban_s$1?sslmode=disable"; }

for n in $SIZES; do
	if [ "$(psql "$PGURL_ADMIN" -Atc "select count(*) from pg_database where datname = 'daiban_s$n'")" = 0 ]; then
		run "load $n errands"
		psql "$PGURL_ADMIN" -qc "create database daiban_s$n"
		start=$(date +%s)
		DAIBAN_DB=$(url $n) "$W/daiban" demo --demo-errands "$n" --demo-cities 17 --demo-reports 0 --log-format text 2>&1 | tail -1
		echo "loaded $n errands in $(( $(date +%s) - start )) s"
		psql "$(url $n)" -qc 'vacuum analyze'
	fi
	run "space at $n"
	psql "$(url $n)" -c "select relname, pg_size_pretty(pg_total_relation_size(oid)) as total,
		pg_size_pretty(pg_relation_size(oid)) as heap,
		round(pg_total_relation_size(oid)::numeric / (select count(*) from errands)) as bytes_per_errand
		from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace
		order by pg_total_relation_size(oid) desc limit 6" \
		-c "select pg_size_pretty(pg_database_size(current_database())) as database,
		round(pg_database_size(current_database())::numeric / (select count(*) from errands)) as bytes_per_errand"
done

run "statistics and reads, each size in turn"
for n in $SIZES; do
	echo "-- $n errands"
	DAIBAN_BENCH_DB=$(url $n) go test ./store -run '^$' -bench 'StatsAtScale|ReadsAtScale' -benchtime "$BENCHTIME" -v 2>&1 | grep -E '^Benchmark|rollups'
done

run "lookup and registration at $CLIENTS clients, each size in turn"
port=28300
for n in $SIZES; do
	port=$((port + 1))
	DAIBAN_DB=$(url $n) "$W/daiban" serve --demo --addr 127.0.0.1:$port --public-rate 1000000 --log-format text >"$W/serve-$n.log" 2>&1 &
	pid=$!
	for _ in $(seq 60); do grep -q 'daiban listening' "$W/serve-$n.log" && break; sleep 1; done
	"$W/daiban-load" --url http://127.0.0.1:$port --clients "$CLIENTS" --duration "$DURATION" --warmup "$WARMUP" \
		--scenario lookup,register --pid $pid --label "postgres-$n" --out "$W/load-$n.json" | grep -E '^ +(lookup|register) '
	kill $pid
	wait $pid || true
done
run done
