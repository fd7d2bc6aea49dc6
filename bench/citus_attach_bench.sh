#!/bin/bash
# bench/citus_attach_bench.sh — issue 9's trigger figure: a model attached
# to a Citus distributed table (flinkml.attach: triggers on the shards
# appending to a co-located state table) against the same inserts into the
# same kind of table without a model.
#   (a) INSERT ... SELECT of 1,000 rows per statement (Citus sends each
#       shard its rows: one trigger firing per shard and statement), one
#       client: rows/s with the model vs without                (target >= 0.7x)
#   (b) single-row INSERTs from 8 pgbench clients, with vs without (no
#       target; shows that concurrent writers do not wait for each other)
# Both tables: id bigint (the distribution column), 10 float8 features, y;
# 32 shards on two workers, all on this machine, the coordinator keeping
# up to 32 connections per worker between statements.  Rounds interleaved
# (plain, model, model, plain, ...); the ratio is the median of the
# per-round ratios.  Ends by checking the model against a fresh fit of the
# table (coefficients within 1e-12 relative).
#
#   bash bench/citus_attach_bench.sh     # as root, Citus installed (test/citus/build_citus.sh)
#
# Knobs: BENCH_CITUS_PORT (55440, and the two after it), ROUNDS (7),
# BATCHES (40 statements of 1,000 rows per round and side), B_SECS (6).
set -eu -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT=${BENCH_CITUS_PORT:-55440}
ROUNDS=${ROUNDS:-7}
BATCHES=${BATCHES:-40}
B_SECS=${B_SECS:-6}
# shellcheck source=../test/citus/citus_cluster.sh
. test/citus/citus_cluster.sh
trap citus_stop EXIT
citus_start "$PORT" 'citus,flinkml'
BIN=$(citus_bindir)
# Connections to the workers kept between statements (Citus keeps one per
# worker by default and opens the rest for every multi-shard statement,
# which then costs more than the rows): both sides alike
citus_psql 0 -c "ALTER SYSTEM SET citus.max_cached_conns_per_worker = 32" -c "SELECT pg_reload_conf()" >/dev/null
citus_psql 0 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION flinkml;
CREATE SEQUENCE ids;
CREATE TABLE plain (id bigint PRIMARY KEY, x1 float8, x2 float8, x3 float8, x4 float8, x5 float8,
                    x6 float8, x7 float8, x8 float8, x9 float8, x10 float8, y float8);
CREATE TABLE kept (LIKE plain INCLUDING ALL);
SELECT create_distributed_table('plain', 'id'), create_distributed_table('kept', 'id', colocate_with => 'plain');
INSERT INTO kept SELECT g, random(), random(), random(), random(), random(), random(), random(), random(),
       random(), random(), random() FROM generate_series(1, 10000) g;
SELECT setval('ids', 10000);
SELECT flinkml.create_model('kept_m', 'kept', 'y', ARRAY['x1','x2','x3','x4','x5','x6','x7','x8','x9','x10']);
SELECT flinkml.attach('kept_m');
CREATE TABLE runs (part text, side text, round int, rate float8);
SQL
# one statement and one commit per batch, as a loader sends them
batch_round() { # side round
	local t0 t1
	t0=$(date +%s.%N)
	for ((i = 0; i < BATCHES; i++)); do
		echo "INSERT INTO $1 SELECT nextval('ids'), random(), random(), random(), random(), random(), random(), random(), random(), random(), random(), random() FROM generate_series(1, 1000);"
	done | citus_psql 0 >/dev/null
	t1=$(date +%s.%N)
	citus_psql 0 -c "INSERT INTO runs VALUES ('a', '$1', $2, $BATCHES * 1000 / ($t1 - $t0))"
}
single_round() { # side round
	local tps
	printf "INSERT INTO %s VALUES (nextval('ids'), random(), random(), random(), random(), random(), random(), random(), random(), random(), random(), random());\n" "$1" >"$CITUS_DIR/single_$1.sql"
	tps=$("$BIN/pgbench" -n -h 127.0.0.1 -p "$PORT" -U postgres -c 8 -j 2 -T "$B_SECS" -f "$CITUS_DIR/single_$1.sql" postgres 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	citus_psql 0 -c "INSERT INTO runs VALUES ('b', '$1', $2, $tps)"
}
batch_round plain 0 >/dev/null; batch_round kept 0 >/dev/null   # warm-up
for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then sides="plain kept"; else sides="kept plain"; fi
	for s in $sides; do batch_round "$s" "$r" >/dev/null; done
	for s in $sides; do single_round "$s" "$r" >/dev/null; done
	citus_psql 0 -c "SELECT flinkml.compact('kept_m')" >/dev/null
done
citus_psql 0 <<'SQL'
\echo 'Citus: 1 coordinator + 2 workers on one machine, 32 shards; per-round rows/s (a) and transactions/s (b)'
SELECT part, round, round(max(rate) FILTER (WHERE side = 'plain')) AS plain, round(max(rate) FILTER (WHERE side = 'kept')) AS with_model,
       round((max(rate) FILTER (WHERE side = 'kept') / max(rate) FILTER (WHERE side = 'plain'))::numeric, 3) AS ratio
FROM runs WHERE round > 0 GROUP BY part, round ORDER BY part, round;
SELECT CASE part WHEN 'a' THEN '(a) batches of 1,000 rows, with model / without (target >= 0.7)'
                 ELSE '(b) single-row inserts, 8 clients, with model / without' END AS figure,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ratio)::numeric, 3) AS median_ratio
FROM (SELECT part, round, max(rate) FILTER (WHERE side = 'kept') / max(rate) FILTER (WHERE side = 'plain') AS ratio
      FROM runs WHERE round > 0 GROUP BY part, round) r GROUP BY part ORDER BY part;
CREATE TABLE fresh AS SELECT linreg_fit(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) AS f, count(*) AS n FROM kept;
SELECT n AS rows_in_kept, linreg_rows(flinkml.current_model('kept_m')) AS rows_in_model,
       (SELECT bool_and(abs(a - b) <= 1e-12 * greatest(abs(a), abs(b)))
        FROM unnest(linreg_coefficients(flinkml.current_model('kept_m')), linreg_coefficients(f)) u(a, b)) AS model_equals_fresh_fit
FROM fresh;
SQL
