#!/usr/bin/env bash
# bench/score_into_bench.sh — the figure of issue 10 point 4: single-row
# INSERTs from 8 pgbench clients into a table scored by flinkml.score_into
# (a BEFORE ROW trigger writing the active version's prediction and version
# number), against the same inserts into the same table without it.
#
#   PG_CONFIG=... bench/score_into_bench.sh     # as root or postgres, after make install
#
# Its own throwaway cluster (test/cluster.sh, port BENCH_PORT, 54372 by
# default, unix socket only, removed at exit), fsync = off and
# synchronous_commit = off (one fsync costs milliseconds on this kind of
# VM: with them on the lines would measure the disk), jit = off.  ROUNDS
# (7) rounds of SECS (8) seconds per side, interleaved and the order
# reversed every other round (plain, scored, scored, plain, ...); between
# sides score_into / stop_scoring (untimed) switch the trigger on the same
# table.  Prints transactions/s per round, the per-round ratios and their
# median (target >= 0.8), and checks the predictions against
# linreg_predict(name, ...) at the end.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=${BENCH_PORT:-54372}
ROUNDS=${ROUNDS:-7}
SECS=${SECS:-8}
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# shellcheck source=../test/cluster.sh
source "$HERE/../test/cluster.sh"
CLUSTER_EXTRA_CONF="fsync = off
synchronous_commit = off
jit = off
shared_buffers = 512MB
max_wal_size = 8GB
checkpoint_timeout = 1h
max_connections = 50" cluster_start "$PORT" >/dev/null
export PATH="$(cluster_bindir):$PATH"
command -v pgbench >/dev/null || { log "pgbench not found"; exit 1; }
DIR=$(mktemp -d /tmp/flinkml-sibench.XXXXXX)
cluster_at_exit "rm -rf '$DIR'"
q() { psql -X -q -v ON_ERROR_STOP=1 -d postgres -At "$@"; }

q >/dev/null <<'SQL'
CREATE EXTENSION flinkml;
CREATE TABLE sales (id bigint, age int, income float8, buy_count int, price float8, pred float8, ver integer);
INSERT INTO sales (id, age, income, buy_count, price)
SELECT g, 18 + g % 60, 20000 + (g * 7919) % 80000, g % 13,
       12.5 + 0.8 * (18 + g % 60) + 0.001 * (20000 + (g * 7919) % 80000) + 3.0 * (g % 13) + ((g * 37) % 11 - 5) * 0.1
FROM generate_series(1, 10000) g;
SELECT flinkml.create_model('price', 'sales', 'price', ARRAY['age', 'income', 'buy_count']);
VACUUM ANALYZE sales;
SQL
cat >"$DIR/single.sql" <<'EOF2'
\set id random(1, 1000000000)
\set age random(18, 77)
\set income random(20000, 100000)
\set bc random(0, 12)
INSERT INTO sales (id, age, income, buy_count, price) VALUES (:id, :age, :income, :bc, 50.0);
EOF2

run() {	# run <side> <round> → tps
	pgbench -n -c 8 -j 8 -T "$SECS" -f "$DIR/single.sql" -d postgres >"$DIR/$1.$2" 2>&1 \
		|| { cat "$DIR/$1.$2" >&2; exit 1; }
	sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$DIR/$1.$2" | head -1
}
side() {	# side <plain|scored> <round>
	if [ "$1" = scored ]; then
		q -c "SELECT flinkml.score_into('price', 'sales', 'pred', 'ver')" >/dev/null
	fi
	run "$1" "$2"
	if [ "$1" = scored ]; then
		q -c "SELECT flinkml.stop_scoring('price', 'sales')" >/dev/null
	fi
}

log "warm-up"
side plain 0 >/dev/null
side scored 0 >/dev/null
RATIOS=()
printf 'round  plain tps  scored tps  ratio\n'
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then p=$(side plain "$r"); s=$(side scored "$r")
	else s=$(side scored "$r"); p=$(side plain "$r"); fi
	ratio=$(awk -v a="$s" -v b="$p" 'BEGIN { printf "%.3f", a / b }')
	RATIOS+=("$ratio")
	printf '%5d  %9.0f  %10.0f  %s\n' "$r" "$p" "$s" "$ratio"
done
MED=$(printf '%s\n' "${RATIOS[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
# the last scored round's rows against linreg_predict by name (version 1 is active throughout)
CHECK=$(q -c "SELECT count(*), bool_and(pred = linreg_predict('price', ARRAY[age, income, buy_count]) AND ver = 1)
              FROM sales WHERE pred IS NOT NULL")
printf 'score_into, single-row INSERT, 8 clients: median ratio %s (target >= 0.8); load %s\n' \
	"$MED" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'scored rows checked against linreg_predict(name, ...): %s\n' "$CHECK"
