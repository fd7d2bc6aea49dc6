--
-- parallel: the aggregates in parallel plans (Partial Aggregate in the
-- workers, combined in a Finalize Aggregate).  The plan shape is checked with
-- EXPLAIN (COSTS OFF); the parallel results must equal the serial ones
-- (relative 1e-12) and the counts must be exact.
--
-- Parallel workers cannot read temporary tables: the tables here are
-- ordinary ones, dropped at the end.
--
-- (the extension may exist already when this runs after the other tests)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;
\set VERBOSITY terse

CREATE FUNCTION pg_temp.close(a float8[], b float8[], tol float8) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT a IS NOT NULL AND b IS NOT NULL AND cardinality(a) = cardinality(b)
       AND coalesce(bool_and(CASE WHEN x IS NULL OR y IS NULL THEN x IS NULL AND y IS NULL
                                  ELSE abs(x - y) <= tol * greatest(abs(x), abs(y), 1) END), true)
    FROM unnest(a, b) AS u(x, y)
$$;

-- 100000 rows.  x1, x2 are binary fractions, so ye = 2 + 0.5 x1 - 1.25 x2
-- + 0.125 x3 is exact; y adds noise.  x2n has 100 NULLs, wn 99 NULL weights;
-- yn is NULL for the first 40000 rows (some workers may see only NULL rows).
CREATE TABLE par_data AS
SELECT id, id % 4 AS g,
       (id % 1000) / 128.0::float8 AS x1,
       ((id * 7919) % 10007) / 1024.0::float8 AS x2,
       (id * 31) % 97 AS x3,
       (1 + id % 3)::float8 AS w
FROM generate_series(1, 100000) AS id;
ALTER TABLE par_data ADD COLUMN ye float8, ADD COLUMN y float8, ADD COLUMN yn float8,
                     ADD COLUMN x2n float8, ADD COLUMN wn float8;
UPDATE par_data SET ye = 2 + 0.5 * x1 - 1.25 * x2 + 0.125 * x3;
UPDATE par_data SET y = ye + ((id * 53) % 17 - 8) / 32.0,
                    yn = CASE WHEN id > 40000 THEN ye + ((id * 53) % 17 - 8) / 32.0 END,
                    x2n = CASE WHEN id % 997 <> 0 THEN x2 END,
                    wn = CASE WHEN id % 1009 <> 0 THEN w END;
ALTER TABLE par_data SET (parallel_workers = 2);
VACUUM ANALYZE par_data;
-- states of 5000 small groups, for linreg_merge
CREATE TABLE par_states AS
SELECT id % 5000 AS k, linreg_state(y, ARRAY[x1, x2, x3]) AS s FROM par_data GROUP BY id % 5000;
ALTER TABLE par_states SET (parallel_workers = 2);
VACUUM ANALYZE par_states;

--
-- Serial results first.
--
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT linreg_fit(y, ARRAY[x1, x2, x3]) FROM par_data;
CREATE TEMP TABLE par_serial AS
SELECT 'fit' AS what, linreg_fit(y, ARRAY[x1, x2, x3]) AS m FROM par_data
UNION ALL SELECT 'fit_w', linreg_fit(y, ARRAY[x1, x2n, x3], wn) FROM par_data
UNION ALL SELECT 'noint', linreg_fit_noint(y, ARRAY[x1, x2, x3]) FROM par_data
UNION ALL SELECT 'cols', linreg_fit_cols(y, x1, x2n, x3) FROM par_data
UNION ALL SELECT 'state', linreg_solve(linreg_state(yn, ARRAY[x1, x2, x3])) FROM par_data
UNION ALL SELECT 'merge', linreg_solve(linreg_merge(s)) FROM par_states;
CREATE TEMP TABLE par_serial_g AS
SELECT g, linreg_fit(y, ARRAY[x1, x2n, x3]) AS m FROM par_data GROUP BY g;

--
-- Parallel plans.
--
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT linreg_fit(y, ARRAY[x1, x2, x3]) FROM par_data;
EXPLAIN (COSTS OFF) SELECT linreg_fit(y, ARRAY[x1, x2n, x3], wn) FROM par_data;
EXPLAIN (COSTS OFF) SELECT linreg_fit_noint(y, ARRAY[x1, x2, x3]) FROM par_data;
EXPLAIN (COSTS OFF) SELECT linreg_state(yn, ARRAY[x1, x2, x3]) FROM par_data;
EXPLAIN (COSTS OFF) SELECT linreg_fit_cols(y, x1, x2n, x3) FROM par_data;
EXPLAIN (COSTS OFF) SELECT linreg_merge(s) FROM par_states;
EXPLAIN (COSTS OFF) SELECT g, linreg_fit(y, ARRAY[x1, x2n, x3]) FROM par_data GROUP BY g;

-- Parallel results equal the serial ones; counts are exact.  (One
-- aggregate per query: under a UNION ALL the planner would run whole
-- aggregates in a Parallel Append instead of combining partial states.)
-- (the comparison queries keep the parallel aggregate below the join)
EXPLAIN (COSTS OFF)
SELECT linreg_rows(p.m) = linreg_rows(s.m)
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x3]) AS m FROM par_data) AS p, par_serial AS s WHERE s.what = 'fit';
SELECT 'fit' AS what, linreg_rows(p.m) AS rows, linreg_skipped(p.m) AS skipped, linreg_rank(p.m) AS rank,
       linreg_rows(p.m) = linreg_rows(s.m) AND linreg_skipped(p.m) = linreg_skipped(s.m) AS counts_same,
       pg_temp.close(linreg_coefficients(p.m), linreg_coefficients(s.m), 1e-12) AS coef_same
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x3]) AS m FROM par_data) AS p, par_serial AS s WHERE s.what = 'fit';
SELECT 'fit_w' AS what, linreg_rows(p.m) AS rows, linreg_skipped(p.m) AS skipped, linreg_rank(p.m) AS rank,
       linreg_rows(p.m) = linreg_rows(s.m) AND linreg_skipped(p.m) = linreg_skipped(s.m) AS counts_same,
       pg_temp.close(linreg_coefficients(p.m), linreg_coefficients(s.m), 1e-12) AS coef_same
FROM (SELECT linreg_fit(y, ARRAY[x1, x2n, x3], wn) AS m FROM par_data) AS p, par_serial AS s WHERE s.what = 'fit_w';
SELECT 'noint' AS what, linreg_rows(p.m) AS rows, linreg_skipped(p.m) AS skipped, linreg_rank(p.m) AS rank,
       linreg_rows(p.m) = linreg_rows(s.m) AND linreg_skipped(p.m) = linreg_skipped(s.m) AS counts_same,
       pg_temp.close(linreg_coefficients(p.m), linreg_coefficients(s.m), 1e-12) AS coef_same
FROM (SELECT linreg_fit_noint(y, ARRAY[x1, x2, x3]) AS m FROM par_data) AS p, par_serial AS s WHERE s.what = 'noint';
SELECT 'cols' AS what, linreg_rows(p.m) AS rows, linreg_skipped(p.m) AS skipped, linreg_rank(p.m) AS rank,
       linreg_rows(p.m) = linreg_rows(s.m) AND linreg_skipped(p.m) = linreg_skipped(s.m) AS counts_same,
       pg_temp.close(linreg_coefficients(p.m), linreg_coefficients(s.m), 1e-12) AS coef_same
FROM (SELECT linreg_fit_cols(y, x1, x2n, x3) AS m FROM par_data) AS p, par_serial AS s WHERE s.what = 'cols';
SELECT 'state' AS what, linreg_rows(p.m) AS rows, linreg_skipped(p.m) AS skipped, linreg_rank(p.m) AS rank,
       linreg_rows(p.m) = linreg_rows(s.m) AND linreg_skipped(p.m) = linreg_skipped(s.m) AS counts_same,
       pg_temp.close(linreg_coefficients(p.m), linreg_coefficients(s.m), 1e-12) AS coef_same
FROM (SELECT linreg_solve(linreg_state(yn, ARRAY[x1, x2, x3])) AS m FROM par_data) AS p, par_serial AS s WHERE s.what = 'state';
SELECT 'merge' AS what, linreg_rows(p.m) AS rows, linreg_skipped(p.m) AS skipped, linreg_rank(p.m) AS rank,
       linreg_rows(p.m) = linreg_rows(s.m) AND linreg_skipped(p.m) = linreg_skipped(s.m) AS counts_same,
       pg_temp.close(linreg_coefficients(p.m), linreg_coefficients(s.m), 1e-12) AS coef_same
FROM (SELECT linreg_solve(linreg_merge(s)) AS m FROM par_states) AS p, par_serial AS s WHERE s.what = 'merge';
-- the expected counts: 100 NULL x2n, 99 NULL weights (none on the same
-- row), 40000 NULL yn
SELECT count(*) FILTER (WHERE x2n IS NULL) AS null_x2n,
       count(*) FILTER (WHERE x2n IS NULL OR wn IS NULL) AS null_x2n_or_wn,
       count(*) FILTER (WHERE yn IS NULL) AS null_yn
FROM par_data;
-- the weighted parallel state's weight sum is exact
SELECT linreg_weight_sum(linreg_state(y, ARRAY[x1, x2n, x3], wn)) = (SELECT sum(wn) FROM par_data WHERE x2n IS NOT NULL) AS weight_sum_ok
FROM par_data;
-- exact data stays exact in parallel
SELECT pg_temp.close(linreg_coefficients(linreg_fit(ye, ARRAY[x1, x2, x3])), ARRAY[2, 0.5, -1.25, 0.125], 1e-12) AS exact,
       pg_temp.close(linreg_coefficients(linreg_fit_cols(ye, x1, x2, x3)), ARRAY[2, 0.5, -1.25, 0.125], 1e-12) AS exact_cols
FROM par_data;
-- GROUP BY in parallel, against the serial per-group fits
SELECT g, linreg_rows(p.m) AS rows,
       linreg_skipped(p.m) = linreg_skipped(s.m) AS skipped_same,
       pg_temp.close(linreg_coefficients(p.m), linreg_coefficients(s.m), 1e-12) AS coef_same
FROM (SELECT g, linreg_fit(y, ARRAY[x1, x2n, x3]) AS m FROM par_data GROUP BY g) AS p
JOIN par_serial_g AS s USING (g) ORDER BY g;
-- merging the 5000 stored states in parallel gives the serial fit of all rows
SELECT pg_temp.close(linreg_coefficients(linreg_solve(linreg_merge(s))),
                     (SELECT linreg_coefficients(m) FROM par_serial WHERE what = 'fit'), 1e-12) AS merge_is_fit
FROM par_states;

RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE par_data, par_states;
