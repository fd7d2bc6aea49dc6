#!/bin/bash
# bench/cv_robust_bench.sh — linreg_cv (5 folds, 20 lambdas) and
# linreg_robust_se (HC3) as ratios of linreg_fit over the same table
# (1,000,000 rows x 10 features), measured in one run: serial
# (max_parallel_workers_per_gather = 0) and with 2 parallel workers
# (parallel costs 0, so the plans are Partial/Finalize Aggregate).
# Uses the server in PG* if PGHOST or PGPORT is set, else a throwaway cluster
# (test/cluster.sh, port BENCH_PORT, default 54333).  Median of 5 runs each,
# interleaved.
set -eu -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${BENCH_ROWS:-1000000}
if [ -z "${PGHOST:-}${PGPORT:-}" ]; then
	# shellcheck source=../test/cluster.sh
	. test/cluster.sh
	cluster_start "${BENCH_PORT:-54333}"
fi
export PGDATABASE=${PGDATABASE:-postgres}
psql -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
SET max_parallel_workers_per_gather = 0;
DROP TABLE IF EXISTS cb10, cbm;
SELECT setseed(0.5);
CREATE UNLOGGED TABLE cb10 AS
SELECT g AS id, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10,
       1 + x1 - 2*x2 + 3*x3 - x4 + 0.5*x5 + x6 - x7 + 2*x8 - x9 + x10 + random() * (1 + x1) AS y
FROM (SELECT g, random() x1, random() x2, random() x3, random() x4, random() x5,
             random() x6, random() x7, random() x8, random() x9, random() x10
      FROM generate_series(1, :rows) g) t;
VACUUM (FREEZE, ANALYZE) cb10;
CREATE TABLE cbm AS SELECT linreg_fit(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) AS m FROM cb10;
CREATE FUNCTION pg_temp.ms(q text, workers int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; BEGIN
PERFORM set_config('max_parallel_workers_per_gather', workers::text, true);
PERFORM set_config('parallel_setup_cost', CASE WHEN workers > 0 THEN '0' ELSE '1000' END, true);
PERFORM set_config('parallel_tuple_cost', CASE WHEN workers > 0 THEN '0' ELSE '0.1' END, true);
PERFORM set_config('min_parallel_table_scan_size', '0', true);
t0 := clock_timestamp(); EXECUTE q;
RETURN extract(epoch FROM clock_timestamp() - t0) * 1000; END $$;
CREATE TEMP TABLE runs (line text, workers int, ms float8);
DO $$
DECLARE
	q text[] := ARRAY[
		'fit|SELECT linreg_fit(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) FROM cb10',
		'cv|SELECT linreg_cv(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10], id, 5, ARRAY[0.001,0.001778,0.003162,0.005623,0.01,0.017783,0.031623,0.056234,0.1,0.177828,0.316228,0.562341,1.0,1.778279,3.162278,5.623413,10.0,17.782794,31.622777,56.234133]) FROM cb10',
		'robust_hc3|SELECT linreg_robust_se((SELECT m FROM cbm), y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10], ''HC3'') FROM cb10'];
	l text;
	w int;
BEGIN
	FOREACH w IN ARRAY ARRAY[0, 2] LOOP
		FOREACH l IN ARRAY q LOOP PERFORM pg_temp.ms(split_part(l, '|', 2), w); END LOOP;  -- warm-up
	END LOOP;
	FOR r IN 1..5 LOOP
		FOREACH w IN ARRAY ARRAY[0, 2] LOOP
			FOREACH l IN ARRAY q LOOP
				INSERT INTO runs VALUES (split_part(l, '|', 1), w, pg_temp.ms(split_part(l, '|', 2), w));
			END LOOP;
		END LOOP;
	END LOOP;
END $$;
-- the plans with 2 workers: Partial Aggregate in the workers
CREATE FUNCTION pg_temp.partial(q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE l text; found_partial boolean := false; BEGIN
PERFORM set_config('max_parallel_workers_per_gather', '2', true);
PERFORM set_config('parallel_setup_cost', '0', true);
PERFORM set_config('parallel_tuple_cost', '0', true);
PERFORM set_config('min_parallel_table_scan_size', '0', true);
FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
	found_partial := found_partial OR l LIKE '%Partial Aggregate%';
END LOOP;
RETURN found_partial; END $$;
SELECT split_part(l, '|', 1) AS line, pg_temp.partial(split_part(l, '|', 2)) AS partial_aggregate_with_2_workers
FROM unnest(ARRAY[
	'fit|SELECT linreg_fit(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) FROM cb10',
	'cv|SELECT linreg_cv(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10], id, 5, ARRAY[0.001,1.0]) FROM cb10',
	'robust_hc3|SELECT linreg_robust_se((SELECT m FROM cbm), y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10], ''HC3'') FROM cb10']) AS l;
WITH med AS (SELECT line, workers, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms
             FROM runs GROUP BY line, workers)
SELECT m.line, m.workers, round(m.ms::numeric, 1) AS median_ms,
       round((m.ms / b.ms)::numeric, 2) AS ratio_to_fit
FROM med m JOIN med b ON b.line = 'fit' AND b.workers = m.workers
ORDER BY m.workers, m.line;
DROP TABLE cb10, cbm;
SQL
