#!/bin/bash
# bench/stats_bench.sh — the figures of the statistics issue, ratios measured
# in one run on one table:
#   - linreg_cv over 5 folds and 20 lambdas vs one linreg_fit (target <= 1.5x)
#   - linreg_score vs sum(linreg_predict) over the same rows (target <= 1.3x)
#   - linreg_summary of a 100-feature model (target < 10 ms)
# Uses the server in PG* if PGHOST or PGPORT is set, else a throwaway cluster
# (test/cluster.sh, port 54331).  Median of 5 runs each, interleaved.
# The lambdas are a constant array: a subquery in an aggregate's arguments
# would run once per row.
set -eu -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${BENCH_ROWS:-1000000}
if [ -z "${PGHOST:-}${PGPORT:-}" ]; then
	# shellcheck source=../test/cluster.sh
	. test/cluster.sh
	cluster_start 54331
fi
export PGDATABASE=${PGDATABASE:-postgres}
psql -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
SET max_parallel_workers_per_gather = 0;
DROP TABLE IF EXISTS sb10, sb100, sbm;
SELECT setseed(0.5);
CREATE UNLOGGED TABLE sb10 AS
SELECT g AS id, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10,
       1 + x1 - 2*x2 + 3*x3 - x4 + 0.5*x5 + x6 - x7 + 2*x8 - x9 + x10 + random() AS y
FROM (SELECT g, random() x1, random() x2, random() x3, random() x4, random() x5,
             random() x6, random() x7, random() x8, random() x9, random() x10
      FROM generate_series(1, :rows) g) t;
CREATE UNLOGGED TABLE sb100 AS
SELECT ARRAY(SELECT random() + g * 0 FROM generate_series(1, 100)) AS x, random() AS y
FROM generate_series(1, 20000) g;
VACUUM (FREEZE, ANALYZE) sb10, sb100;
CREATE TABLE sbm AS SELECT linreg_fit(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) AS m,
                           (SELECT linreg_fit(y, x) FROM sb100) AS m100 FROM sb10;
CREATE FUNCTION pg_temp.ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; BEGIN t0 := clock_timestamp(); EXECUTE q;
RETURN extract(epoch FROM clock_timestamp() - t0) * 1000; END $$;
CREATE TEMP TABLE runs (line text, ms float8);
DO $$
DECLARE
	q text[] := ARRAY[
		'fit|SELECT linreg_fit(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) FROM sb10',
		'cv|SELECT linreg_cv(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10], id, 5, ARRAY[0.001,0.001778,0.003162,0.005623,0.01,0.017783,0.031623,0.056234,0.1,0.177828,0.316228,0.562341,1.0,1.778279,3.162278,5.623413,10.0,17.782794,31.622777,56.234133]) FROM sb10',
		'predict|SELECT sum(linreg_predict((SELECT m FROM sbm), ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10])) FROM sb10',
		'score|SELECT linreg_score((SELECT m FROM sbm), y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) FROM sb10',
		'summary100|SELECT count(*) FROM linreg_summary((SELECT m100 FROM sbm))'];
	l text;
BEGIN
	FOREACH l IN ARRAY q LOOP PERFORM pg_temp.ms(split_part(l, '|', 2)); END LOOP;  -- warm-up
	FOR r IN 1..5 LOOP
		FOREACH l IN ARRAY q LOOP
			INSERT INTO runs VALUES (split_part(l, '|', 1), pg_temp.ms(split_part(l, '|', 2)));
		END LOOP;
	END LOOP;
END $$;
WITH med AS (SELECT line, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM runs GROUP BY line)
SELECT m.line, round(m.ms::numeric, 1) AS median_ms,
       CASE m.line WHEN 'cv' THEN 'fit' WHEN 'score' THEN 'predict' END AS baseline,
       round((m.ms / b.ms)::numeric, 2) AS ratio,
       CASE m.line WHEN 'cv' THEN '<= 1.5x' WHEN 'score' THEN '<= 1.3x' WHEN 'summary100' THEN '< 10 ms' END AS target
FROM med m LEFT JOIN med b ON b.line = CASE m.line WHEN 'cv' THEN 'fit' WHEN 'score' THEN 'predict' END
ORDER BY m.line;
DROP TABLE sb10, sb100, sbm;
SQL
