#!/bin/bash
# bench/diag_bench.sh — the figures of the diagnostics issue (11), ratios
# measured in one run on one table (1,000,000 rows x 10 features):
#   - linreg_influence vs sum(linreg_predict) over the same rows  (target <= 1.3x)
#   - linreg_bptest and linreg_white_test vs linreg_score           (target <= 1.5x)
#   - linreg_vif of a 100-feature model, linreg_anova of a 99- and a
#     100-feature model                                             (target < 10 ms each)
# Uses the server in PG* if PGHOST or PGPORT is set, else a throwaway cluster
# (test/cluster.sh, port $BENCH_PORT, default 54332).  Serial (no parallel workers); median of 5
# runs each, interleaved.
set -eu -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${BENCH_ROWS:-1000000}
# shellcheck source=../test/cluster.sh
. test/cluster.sh
if [ -z "${PGHOST:-}${PGPORT:-}" ]; then
	cluster_start "${BENCH_PORT:-54332}"
fi
export PGDATABASE=${PGDATABASE:-postgres}
# the psql of the installation PG_CONFIG names (as the server), not whichever is first in PATH
"$(cluster_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
SET max_parallel_workers_per_gather = 0;
DROP TABLE IF EXISTS db10, db100, dbm;
SELECT setseed(0.5);
CREATE UNLOGGED TABLE db10 AS
SELECT g AS id, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10,
       1 + x1 - 2*x2 + 3*x3 - x4 + 0.5*x5 + x6 - x7 + 2*x8 - x9 + x10 + random() * (1 + x1) AS y
FROM (SELECT g, random() x1, random() x2, random() x3, random() x4, random() x5,
             random() x6, random() x7, random() x8, random() x9, random() x10
      FROM generate_series(1, :rows) g) t;
CREATE UNLOGGED TABLE db100 AS
SELECT ARRAY(SELECT random() + g * 0 FROM generate_series(1, 100)) AS x, random() AS y
FROM generate_series(1, 20000) g;
VACUUM (FREEZE, ANALYZE) db10, db100;
CREATE TABLE dbm AS SELECT linreg_fit(y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) AS m,
                           (SELECT linreg_fit(y, x) FROM db100) AS m100,
                           (SELECT linreg_fit(y, x[1:99]) FROM db100) AS m99 FROM db10;
CREATE FUNCTION pg_temp.ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; BEGIN t0 := clock_timestamp(); EXECUTE q;
RETURN extract(epoch FROM clock_timestamp() - t0) * 1000; END $$;
CREATE TEMP TABLE runs (line text, ms float8);
DO $$
DECLARE
	q text[] := ARRAY[
		'predict|SELECT sum(linreg_predict((SELECT m FROM dbm), ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10])) FROM db10',
		'influence|SELECT sum((linreg_influence((SELECT m FROM dbm), y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10])).cooks_distance) FROM db10',
		'score|SELECT linreg_score((SELECT m FROM dbm), y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) FROM db10',
		'bptest|SELECT linreg_bptest((SELECT m FROM dbm), y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) FROM db10',
		'white|SELECT linreg_white_test((SELECT m FROM dbm), y, ARRAY[x1,x2,x3,x4,x5,x6,x7,x8,x9,x10]) FROM db10',
		'vif100|SELECT linreg_vif((SELECT m100 FROM dbm))',
		'anova100|SELECT linreg_anova((SELECT m99 FROM dbm), (SELECT m100 FROM dbm))'];
	l text;
BEGIN
	FOREACH l IN ARRAY q LOOP PERFORM pg_temp.ms(split_part(l, '|', 2)); END LOOP;  -- warm-up
	FOR r IN 1..5 LOOP
		FOREACH l IN ARRAY q LOOP
			INSERT INTO runs VALUES (split_part(l, '|', 1), pg_temp.ms(split_part(l, '|', 2)));
		END LOOP;
	END LOOP;
END $$;
WITH med AS (SELECT line, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM runs GROUP BY line),
     base AS (SELECT * FROM (VALUES ('influence', 'predict', '<= 1.3x'), ('bptest', 'score', '<= 1.5x'),
                                    ('white', 'score', '<= 1.5x'), ('vif100', NULL, '< 10 ms'),
                                    ('anova100', NULL, '< 10 ms'), ('predict', NULL, NULL),
                                    ('score', NULL, NULL)) v(line, baseline, target))
SELECT m.line, round(m.ms::numeric, 1) AS median_ms, t.baseline,
       round((m.ms / b.ms)::numeric, 2) AS ratio, t.target
FROM med m JOIN base t USING (line) LEFT JOIN med b ON b.line = t.baseline
ORDER BY m.line;
DROP TABLE db10, db100, dbm;
SQL
