#!/bin/bash
# bench/citus_bench.sh — the figures of the Citus issue (9), ratios measured
# in one run on one distributed table (1,000,000 rows x 10 features, 32
# shards on two workers, all on this machine):
#   - linreg_fit (10 features) vs regr_slope(y, x1), both on the distributed
#     table                                                    (target <= 2.0x)
#   - linreg_cv (5 folds, 20 lambdas) and linreg_robust_se HC3 vs
#     linreg_fit, on the distributed table                     (target <= 1.5x)
#   - the same queries on a local table with the same rows, for reference
# Starts its own Citus cluster (test/citus/citus_cluster.sh, ports 55430-2;
# Citus must be installed: bash test/citus/build_citus.sh).  Median of 5
# runs each, interleaved, after a warm-up.  Run as root (the servers run as
# postgres).
set -eu -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${BENCH_ROWS:-1000000}
PORT=${BENCH_CITUS_PORT:-55430}
# shellcheck source=../test/citus/citus_cluster.sh
. test/citus/citus_cluster.sh
trap citus_stop EXIT
citus_start "$PORT" 'citus,flinkml'
citus_psql 0 -v rows="$ROWS" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION flinkml;
SELECT setseed(0.5);
CREATE TABLE db10 AS
SELECT g AS id, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10,
       1 + x1 - 2*x2 + 3*x3 - x4 + 0.5*x5 + x6 - x7 + 2*x8 - x9 + x10 + random() * (1 + x1) AS y
FROM (SELECT g, random() x1, random() x2, random() x3, random() x4, random() x5,
             random() x6, random() x7, random() x8, random() x9, random() x10
      FROM generate_series(1, :rows) g) t;
CREATE TABLE dl10 AS SELECT * FROM db10;
SELECT create_distributed_table('db10', 'id');
SELECT truncate_local_data_after_distributing_table('db10');
VACUUM (FREEZE, ANALYZE) dl10;
SELECT run_command_on_workers('VACUUM (FREEZE, ANALYZE)');
CREATE TABLE dbm AS SELECT linreg_fit(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) AS m FROM dl10;
CREATE FUNCTION ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; BEGIN t0 := clock_timestamp(); EXECUTE q;
RETURN extract(epoch FROM clock_timestamp() - t0) * 1000; END $$;
CREATE TABLE runs (line text, ms float8);
SQL
run_round() {
	citus_psql 0 -v ON_ERROR_STOP=0 <<'SQL'
SET max_parallel_workers_per_gather = 0;
DO $$
DECLARE
	lambdas text := 'ARRAY(SELECT (10 ^ (i / 4.0 - 3))::float8 FROM generate_series(0, 19) i)';
	x text := 'ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]';
	q text[] := ARRAY[
		'regr_slope|SELECT regr_slope(y, x1) FROM db10',
		'fit|SELECT linreg_fit(y, ' || x || ') FROM db10',
		'cv|SELECT linreg_cv(y, ' || x || ', id, 5, ' || lambdas || ') FROM db10',
		'robust_se|SELECT linreg_robust_se((SELECT m FROM dbm), y, ' || x || ', ''HC3'') FROM db10',
		'local regr_slope|SELECT regr_slope(y, x1) FROM dl10',
		'local fit|SELECT linreg_fit(y, ' || x || ') FROM dl10',
		'local cv|SELECT linreg_cv(y, ' || x || ', id, 5, ' || lambdas || ') FROM dl10',
		'local robust_se|SELECT linreg_robust_se((SELECT m FROM dbm), y, ' || x || ', ''HC3'') FROM dl10'];
	l text;
BEGIN
	FOREACH l IN ARRAY q LOOP
		INSERT INTO runs VALUES (split_part(l, '|', 1), ms(split_part(l, '|', 2)));
	END LOOP;
END $$;
SQL
}
run_round >/dev/null            # warm-up
citus_psql 0 -c 'TRUNCATE runs'
for _ in 1 2 3 4 5; do run_round; done
citus_psql 0 <<'SQL'
CREATE TABLE med AS
SELECT line, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM runs GROUP BY line;
\echo 'Citus: 1 coordinator + 2 workers on one machine, 32 shards; median of 5 runs, ms'
SELECT line, round(ms::numeric, 1) AS ms FROM med ORDER BY line;
SELECT 'fit / regr_slope (distributed, target <= 2.0)' AS ratio,
       round(((SELECT ms FROM med WHERE line = 'fit') / (SELECT ms FROM med WHERE line = 'regr_slope'))::numeric, 2) AS x
UNION ALL
SELECT 'cv / fit (distributed, target <= 1.5)',
       round(((SELECT ms FROM med WHERE line = 'cv') / (SELECT ms FROM med WHERE line = 'fit'))::numeric, 2)
UNION ALL
SELECT 'robust_se / fit (distributed, target <= 1.5)',
       round(((SELECT ms FROM med WHERE line = 'robust_se') / (SELECT ms FROM med WHERE line = 'fit'))::numeric, 2)
UNION ALL
SELECT 'fit / regr_slope (local)',
       round(((SELECT ms FROM med WHERE line = 'local fit') / (SELECT ms FROM med WHERE line = 'local regr_slope'))::numeric, 2)
UNION ALL
SELECT 'distributed fit / local fit',
       round(((SELECT ms FROM med WHERE line = 'fit') / (SELECT ms FROM med WHERE line = 'local fit'))::numeric, 2);
SQL
