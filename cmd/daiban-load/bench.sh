#!/bin/bash
# bench.sh runs the measurements of BENCHMARKS.md in one go: it builds the
# server and the load tool, generates the Changle demo into a fresh SQLite
# file and a fresh PostgreSQL database, serves both, measures registration and
# lookup on SQLite in rounds beside their baselines and every other scenario
# once, then every scenario on PostgreSQL, then registration on both back to
# back, and finally takes CPU profiles in a separate pass.
#
#   cmd/daiban-load/bench.sh [WORKDIR]      (default /tmp/daiban-bench)
#
# Environment: PGURL_ADMIN (default postgres://postgres@127.0.0.1:5432/postgres)
# names a PostgreSQL server where the database daiban_bench may be dropped and
# created; SKIP_PG=1 leaves PostgreSQL out. ERRANDS (default 75620) sizes the
# demo: ERRANDS=1000000 SKIP_PG=1 is the million-errand run. CLIENTS,
# DURATION, WARMUP and ROUNDS tune the runs.
# Everything stays on this machine's loopback interface.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${1:-/tmp/daiban-bench}
CLIENTS=${CLIENTS:-32} DURATION=${DURATION:-20s} WARMUP=${WARMUP:-3s} ROUNDS=${ROUNDS:-5}
ERRANDS=${ERRANDS:-75620}
PGURL_ADMIN=${PGURL_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
PGURL=${PGURL_ADMIN%/*}/daiban_bench?sslmode=disable
mkdir -p "$W"
go build -o "$W/daiban" ./cmd/daiban
go build -o "$W/daiban-load" ./cmd/daiban-load
D=$W/daiban L=$W/daiban-load
export DAIBAN_ADMIN_PASSWORD=bench-admin-password
cd "$W"
run() { echo "== $(date -u +%FT%TZ) $* (load: $(cut -d' ' -f1-3 /proc/loadavg))"; }

run demo data
rm -f sqlite.db sqlite.db-* baseline.db*
$D demo --db "$W/sqlite.db" --demo-errands "$ERRANDS" --log-format text 2>&1 | tail -1
if [ -z "${SKIP_PG:-}" ]; then
	psql "$PGURL_ADMIN" -qc 'drop database if exists daiban_bench' -c 'create database daiban_bench'
	DAIBAN_DB=$PGURL $D demo --demo-errands "$ERRANDS" --log-format text 2>&1 | tail -1
fi

# --demo only supplies the demo's development secret key here: the data exist.
$D serve --demo --addr 127.0.0.1:28190 --db "$W/sqlite.db" --public-rate 1000000 --pprof 127.0.0.1:26190 --log-format text >sqlite.log 2>&1 &
SQ=$!
PIDS=$SQ
if [ -z "${SKIP_PG:-}" ]; then
	DAIBAN_DB=$PGURL $D serve --demo --addr 127.0.0.1:28191 --public-rate 1000000 --pprof 127.0.0.1:26191 --log-format text >pg.log 2>&1 &
	PG=$!
	PIDS="$SQ $PG"
fi
trap 'kill $PIDS 2>/dev/null || true' EXIT
for f in sqlite.log ${PG:+pg.log}; do
	for _ in $(seq 60); do grep -q 'daiban listening' $f && break; sleep 1; done
	grep -q 'daiban listening' $f || { echo "the server of $f did not start:"; cat $f; exit 1; }
done

COMMON="--clients $CLIENTS --duration $DURATION --warmup $WARMUP"
run "sqlite: register and lookup in $ROUNDS rounds beside their baselines, then every other scenario"
$L --url http://127.0.0.1:28190 $COMMON --scenario all --rounds "$ROUNDS" --baseline-db "$W/baseline.db" --pid $SQ --label sqlite --out sqlite.json
if [ -n "${PG:-}" ]; then
	run postgres: every scenario but mixed
	$L --url http://127.0.0.1:28191 $COMMON --scenario register,lookup,lifecycle,stats --pid $PG --label postgres --out pg.json
	run registration back to back: sqlite, postgres, the baselines
	$L --url http://127.0.0.1:28190 $COMMON --scenario register --pid $SQ --label sqlite-again --out sqlite-register.json
	$L --url http://127.0.0.1:28191 $COMMON --scenario register --pid $PG --label postgres-again --out pg-register.json
	$L baseline --db "$W/baseline.db" $COMMON --out baseline-again.json
fi
run profiles, in a separate pass as profiling costs a little
rm -rf prof
$L --url http://127.0.0.1:28190 $COMMON --scenario register,lookup,lifecycle,stats --pid $SQ --label sqlite \
	--pprof-url http://127.0.0.1:26190 --profile-dir prof --out sqlite-prof.json
if [ -n "${PG:-}" ]; then
	$L --url http://127.0.0.1:28191 $COMMON --scenario register,lookup --pid $PG --label postgres \
		--pprof-url http://127.0.0.1:26191 --profile-dir prof --out pg-prof.json
fi
for p in prof/*.pprof; do
	echo "== $p"
	go tool pprof -top -nodecount=25 "$D" "$p" 2>/dev/null | sed -n '4,34p'
done
run done
