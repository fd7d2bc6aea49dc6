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

--
-- linreg_cv and linreg_robust_se: their states (linreg_cv_state,
-- linreg_robust_state) combine, so they run as Partial / Finalize Aggregate
-- too.  Serial results first.  (The model is in an ordinary table: a
-- parallel worker cannot read a temporary one.)
--
SET max_parallel_workers_per_gather = 0;
CREATE TABLE par_model AS
SELECT linreg_fit(y, ARRAY[x1, x2n, x3]) AS m, linreg_fit(y, ARRAY[x1, x2n, x3], wn) AS mw FROM par_data;
CREATE TEMP TABLE par_cv_serial AS
SELECT 'cv' AS what, linreg_cv(y, ARRAY[x1, x2n, x3], id, 5, ARRAY[0, 0.1, 1, 10, 100]) AS r FROM par_data
UNION ALL SELECT 'cv_yn', linreg_cv(yn, ARRAY[x1, x2, x3], id, 7, ARRAY[0.5, 0, 1e3]) FROM par_data;
CREATE TEMP TABLE par_rob_serial AS
SELECT t, linreg_robust_se((SELECT m FROM par_model), y, ARRAY[x1, x2n, x3], t) AS se,
       linreg_robust_se((SELECT mw FROM par_model), y, ARRAY[x1, x2n, x3], wn, t) AS se_w
FROM unnest(ARRAY['HC0', 'HC1', 'HC2', 'HC3']) AS t, par_data GROUP BY t;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT linreg_cv(y, ARRAY[x1, x2n, x3], id, 5, ARRAY[0, 0.1, 1, 10, 100]) FROM par_data;
EXPLAIN (COSTS OFF) SELECT linreg_robust_se((SELECT m FROM par_model), y, ARRAY[x1, x2n, x3], 'HC3') FROM par_data;
EXPLAIN (COSTS OFF) SELECT linreg_robust_se((SELECT mw FROM par_model), y, ARRAY[x1, x2n, x3], wn, 'HC2') FROM par_data;
-- the comparison queries keep the parallel aggregate below the join
EXPLAIN (COSTS OFF)
SELECT (p.r).best_lambda = (s.r).best_lambda
FROM (SELECT linreg_cv(y, ARRAY[x1, x2n, x3], id, 5, ARRAY[0, 0.1, 1, 10, 100]) AS r FROM par_data) AS p,
     par_cv_serial AS s WHERE s.what = 'cv';
SELECT s.what, (p.r).lambdas = (s.r).lambdas AS lambdas_same,
       (p.r).best_lambda = (s.r).best_lambda AS best_same,
       pg_temp.close((p.r).cv_mse, (s.r).cv_mse, 1e-12) AS mse_same,
       linreg_rows((p.r).model) = linreg_rows((s.r).model) AS rows_same,
       pg_temp.close(linreg_coefficients((p.r).model), linreg_coefficients((s.r).model), 1e-12) AS model_same
FROM (SELECT linreg_cv(y, ARRAY[x1, x2n, x3], id, 5, ARRAY[0, 0.1, 1, 10, 100]) AS r FROM par_data) AS p,
     par_cv_serial AS s WHERE s.what = 'cv';
-- the first 40000 rows have a NULL yn: some workers may see only NULL rows
SELECT s.what, (p.r).best_lambda = (s.r).best_lambda AS best_same,
       pg_temp.close((p.r).cv_mse, (s.r).cv_mse, 1e-12) AS mse_same,
       linreg_rows((p.r).model) AS rows,
       pg_temp.close(linreg_coefficients((p.r).model), linreg_coefficients((s.r).model), 1e-12) AS model_same
FROM (SELECT linreg_cv(yn, ARRAY[x1, x2, x3], id, 7, ARRAY[0.5, 0, 1e3]) AS r FROM par_data) AS p,
     par_cv_serial AS s WHERE s.what = 'cv_yn';
-- all four types in one grouped parallel aggregate
EXPLAIN (COSTS OFF)
SELECT t, linreg_robust_se((SELECT m FROM par_model), y, ARRAY[x1, x2n, x3], t)
FROM unnest(ARRAY['HC0', 'HC1', 'HC2', 'HC3']) AS t, par_data GROUP BY t;
SELECT p.t, cardinality(p.se) AS terms, pg_temp.close(p.se, s.se, 1e-12) AS se_same
FROM (SELECT t, linreg_robust_se((SELECT m FROM par_model), y, ARRAY[x1, x2n, x3], t) AS se
      FROM unnest(ARRAY['HC0', 'HC1', 'HC2', 'HC3']) AS t, par_data GROUP BY t) AS p
JOIN par_rob_serial AS s USING (t) ORDER BY t;
SELECT p.t, cardinality(p.se_w) AS terms, pg_temp.close(p.se_w, s.se_w, 1e-12) AS se_w_same
FROM (SELECT t, linreg_robust_se((SELECT mw FROM par_model), y, ARRAY[x1, x2n, x3], wn, t) AS se_w
      FROM unnest(ARRAY['HC0', 'HC1', 'HC2', 'HC3']) AS t, par_data GROUP BY t) AS p
JOIN par_rob_serial AS s USING (t) ORDER BY t;
-- one type per query (no grouping): Partial / Finalize Aggregate over the whole table
SELECT pg_temp.close(linreg_robust_se((SELECT m FROM par_model), y, ARRAY[x1, x2n, x3], 'HC3'),
                     (SELECT se FROM par_rob_serial WHERE t = 'HC3'), 1e-12) AS hc3_same
FROM par_data;
SELECT pg_temp.close(linreg_robust_se((SELECT mw FROM par_model), y, ARRAY[x1, x2n, x3], wn, 'HC1'),
                     (SELECT se_w FROM par_rob_serial WHERE t = 'HC1'), 1e-12) AS hc1_w_same
FROM par_data;

--
-- The states as values: exact text round trips, and partial states merged
-- after a trip through text, as Citus ships them (output function on the
-- workers, input function and the combine function on the coordinator).
--
SET max_parallel_workers_per_gather = 0;
CREATE AGGREGATE pg_temp.cv_state(float8, float8[], bigint, integer, float8[]) (
    SFUNC = linreg_cv_accum, STYPE = linreg_cv_state);
CREATE AGGREGATE pg_temp.cv_merge(linreg_cv_state) (
    SFUNC = linreg_cv_combine, STYPE = linreg_cv_state, FINALFUNC = linreg_cv_final);
CREATE AGGREGATE pg_temp.rob_state(linreg, float8, float8[], text) (
    SFUNC = linreg_robust_accum, STYPE = linreg_robust_state);
CREATE AGGREGATE pg_temp.rob_state(linreg, float8, float8[], float8, text) (
    SFUNC = linreg_robust_accum_w, STYPE = linreg_robust_state);
CREATE AGGREGATE pg_temp.rob_merge(linreg_robust_state) (
    SFUNC = linreg_robust_combine, STYPE = linreg_robust_state, FINALFUNC = linreg_robust_final);
CREATE TEMP TABLE par_cv_states AS
SELECT g, pg_temp.cv_state(y, ARRAY[x1, x2n, x3], id, 5, ARRAY[0, 0.1, 1, 10, 100]) AS s
FROM par_data GROUP BY g;
CREATE TEMP TABLE par_rob_states AS
SELECT g, pg_temp.rob_state((SELECT m FROM par_model), y, ARRAY[x1, x2n, x3], 'HC3') AS s,
       pg_temp.rob_state((SELECT mw FROM par_model), y, ARRAY[x1, x2n, x3], wn, 'HC0') AS sw
FROM par_data GROUP BY g;
SELECT g, s::text::linreg_cv_state::text = s::text AS text_same,
       linreg_cv_state_send(s::text::linreg_cv_state) = linreg_cv_state_send(s) AS bytes_same,
       linreg_cv_final(s::text::linreg_cv_state)::text = linreg_cv_final(s)::text AS result_same
FROM par_cv_states ORDER BY g;
SELECT g, s::text::linreg_robust_state::text = s::text AS text_same,
       linreg_robust_state_send(s::text::linreg_robust_state) = linreg_robust_state_send(s) AS bytes_same,
       linreg_robust_final(s::text::linreg_robust_state) = linreg_robust_final(s) AS result_same,
       linreg_robust_state_send(sw::text::linreg_robust_state) = linreg_robust_state_send(sw) AS bytes_same_w
FROM par_rob_states ORDER BY g;
-- binary round trip through COPY (FORMAT binary): send, then receive
\getenv abs_builddir PG_ABS_BUILDDIR
\set binfile :abs_builddir '/results/parallel_states.bin'
CREATE TEMP TABLE par_bin (g integer, c linreg_cv_state, r linreg_robust_state, rw linreg_robust_state);
COPY (SELECT c.g, c.s, r.s, r.sw FROM par_cv_states c JOIN par_rob_states r USING (g) ORDER BY g) TO STDOUT (FORMAT binary) \g :binfile
\set copy_in '\\copy par_bin FROM ' :'binfile' ' (FORMAT binary)'
:copy_in
SELECT b.g, linreg_cv_state_send(b.c) = linreg_cv_state_send(c.s) AS cv_bits_rt,
       linreg_robust_state_send(b.r) = linreg_robust_state_send(r.s) AS robust_bits_rt,
       b.rw::text = r.sw::text AS robust_w_text_same
FROM par_bin b JOIN par_cv_states c USING (g) JOIN par_rob_states r USING (g) ORDER BY g;
-- a malformed binary state (folds 1) is refused
CREATE TEMP TABLE par_bin_bad (c linreg_cv_state);
COPY (SELECT overlay(linreg_cv_state_send(s) PLACING '\x00000001'::bytea FROM 5 FOR 4) FROM par_cv_states WHERE g = 0) TO STDOUT (FORMAT binary) \g :binfile
\set copy_bad '\\copy par_bin_bad FROM ' :'binfile' ' (FORMAT binary)'
:copy_bad
-- a state before any row with features, and the empty aggregate
SELECT pg_temp.cv_state(yn, ARRAY[x1, x2, x3], id, 3, ARRAY[1]) AS s FROM par_data WHERE id <= 5;
SELECT linreg_cv_final(pg_temp.cv_state(yn, ARRAY[x1, x2, x3], id, 3, ARRAY[1])) IS NULL AS no_rows FROM par_data WHERE id <= 5;
SELECT linreg_cv(y, ARRAY[x1], id, 3, ARRAY[1]) IS NULL AS empty_cv,
       linreg_robust_se((SELECT m FROM par_model), y, ARRAY[x1, x2, x3], 'HC0') IS NULL AS empty_robust
FROM par_data WHERE id < 0;
-- the four groups' states merged through text give the serial results
SELECT (m.r).best_lambda = (s.r).best_lambda AS best_same,
       pg_temp.close((m.r).cv_mse, (s.r).cv_mse, 1e-12) AS mse_same,
       pg_temp.close(linreg_coefficients((m.r).model), linreg_coefficients((s.r).model), 1e-12) AS model_same
FROM (SELECT pg_temp.cv_merge(s::text::linreg_cv_state) AS r FROM par_cv_states) AS m,
     par_cv_serial AS s WHERE s.what = 'cv';
SELECT pg_temp.close(pg_temp.rob_merge(s::text::linreg_robust_state), (SELECT se FROM par_rob_serial WHERE t = 'HC3'), 1e-12) AS hc3_same,
       pg_temp.close(pg_temp.rob_merge(sw::text::linreg_robust_state), (SELECT se_w FROM par_rob_serial WHERE t = 'HC0'), 1e-12) AS hc0_w_same
FROM par_rob_states;
-- states of different folds, lambdas, features, types or models do not combine
SELECT linreg_cv_combine(a.s, b.s) FROM par_cv_states a,
       (SELECT pg_temp.cv_state(y, ARRAY[x1, x2n, x3], id, 4, ARRAY[0, 0.1, 1, 10, 100]) AS s FROM par_data) b WHERE a.g = 0;
SELECT linreg_cv_combine(a.s, b.s) FROM par_cv_states a,
       (SELECT pg_temp.cv_state(y, ARRAY[x1, x2n, x3], id, 5, ARRAY[0, 0.1, 1, 10, 1000]) AS s FROM par_data) b WHERE a.g = 0;
SELECT linreg_cv_combine(a.s, b.s) FROM par_cv_states a,
       (SELECT pg_temp.cv_state(y, ARRAY[x1, x2n], id, 5, ARRAY[0, 0.1, 1, 10, 100]) AS s FROM par_data) b WHERE a.g = 0;
SELECT linreg_robust_combine(a.s, b.s) FROM par_rob_states a,
       (SELECT pg_temp.rob_state((SELECT m FROM par_model), y, ARRAY[x1, x2n, x3], 'HC2') AS s FROM par_data) b WHERE a.g = 0;
SELECT linreg_robust_combine(a.s, b.sw) FROM par_rob_states a,
       (SELECT pg_temp.rob_state((SELECT mw FROM par_model), y, ARRAY[x1, x2n, x3], 'HC3') AS sw FROM par_data) b WHERE a.g = 0;
-- combining outside an aggregate leaves its arguments alone
SELECT linreg_robust_state_send(linreg_robust_combine(a.s, a.s)) <> linreg_robust_state_send(a.s) AS combined,
       linreg_robust_final(linreg_robust_combine(a.s, b.s)) = linreg_robust_final(linreg_robust_combine(b.s, a.s)) AS symmetric
FROM par_rob_states a, par_rob_states b WHERE a.g = 0 AND b.g = 1;

-- Malformed text states are refused with the reason.
SELECT '{"version":1,"folds":3,"lambdas":[0,0.5],"skipped":2,"features":null,"states":[]}'::linreg_cv_state;
SELECT '{"version":2,"folds":3,"lambdas":[0,0.5],"skipped":2,"features":null,"states":[]}'::linreg_cv_state;
SELECT '{"version":1,"folds":1,"lambdas":[0,0.5],"skipped":2,"features":null,"states":[]}'::linreg_cv_state;
SELECT '{"version":1,"folds":101,"lambdas":[0,0.5],"skipped":2,"features":null,"states":[]}'::linreg_cv_state;
SELECT '{"version":1,"folds":3,"lambdas":[],"skipped":2,"features":null,"states":[]}'::linreg_cv_state;
SELECT '{"version":1,"folds":3,"lambdas":[0,-0.5],"skipped":2,"features":null,"states":[]}'::linreg_cv_state;
SELECT '{"version":1,"folds":3,"lambdas":[0,nan],"skipped":2,"features":null,"states":[]}'::linreg_cv_state;
SELECT '{"version":1,"folds":3,"lambdas":[0,1e999],"skipped":2,"features":null,"states":[]}'::linreg_cv_state;
SELECT '{"version":1,"folds":3,"lambdas":[0,0.5],"skipped":-1,"features":null,"states":[]}'::linreg_cv_state;
SELECT '{"version":1,"folds":3,"lambdas":[0,0.5],"skipped":0,"features":2001,"states":[]}'::linreg_cv_state;
SELECT '{"version":1,"folds":3,"lambdas":[0,0.5],"skipped":0,"features":1,"states":[]}'::linreg_cv_state;
SELECT '{"version":1,"folds":2,"lambdas":[0],"skipped":0,"features":0,"states":[{"version":1,"features":0,"intercept":true,"rows":0,"skipped":0,"wsum":[0,0],"logw":[0,0],"shift":[0],"sum_hi":[0],"sum_lo":[0],"cross_hi":[0],"cross_lo":[0]}]}'::linreg_cv_state;
SELECT '{"version":1,"folds":2,"lambdas":[0],"skipped":0,"features":1,"states":[{"version":1,"features":0,"intercept":true,"rows":0,"skipped":0,"wsum":[0,0],"logw":[0,0],"shift":[0],"sum_hi":[0],"sum_lo":[0],"cross_hi":[0],"cross_lo":[0]},{}]}'::linreg_cv_state;
SELECT '{"version":1,"folds":2,"lambdas":[0],"skipped":0,"features":0,"states":[{"version":1,"features":0,"intercept":true,"rows":-1,"skipped":0,"wsum":[0,0],"logw":[0,0],"shift":[0],"sum_hi":[0],"sum_lo":[0],"cross_hi":[0],"cross_lo":[0]},{"version":1,"features":0,"intercept":true,"rows":0,"skipped":0,"wsum":[0,0],"logw":[0,0],"shift":[0],"sum_hi":[0],"sum_lo":[0],"cross_hi":[0],"cross_lo":[0]}]}'::linreg_cv_state;
SELECT '{"version":1,"folds":3,"lambdas":[0,0.5],"skipped":2,"features":null,"states":[]'::linreg_cv_state;
SELECT '{"version":1,"folds":3,"lambdas":[0,0.5],"skipped":2,"features":null,"states":[]} x'::linreg_cv_state;
SELECT '{"version":1,"folds":3,"lambdas":[0,0.5],"skipped":2,"features":null,"states":[{"version":1'::linreg_cv_state;
SELECT ''::linreg_cv_state;
-- a robust state: its meat must have the model's kept terms, all finite
CREATE TEMP TABLE par_rob_text AS SELECT s::text AS t FROM par_rob_states WHERE g = 0;
SELECT replace(t, '"version":1,"type"', '"version":9,"type"')::linreg_robust_state FROM par_rob_text;
SELECT replace(t, '"HC3"', '"HC4"')::linreg_robust_state FROM par_rob_text;
SELECT replace(t, '"rows":', '"rows":-')::linreg_robust_state FROM par_rob_text;
SELECT replace(t, '"terms":4', '"terms":3')::linreg_robust_state FROM par_rob_text;
SELECT replace(t, '"terms":4', '"terms":5')::linreg_robust_state FROM par_rob_text;
SELECT replace(t, '"meat":[', '"meat":[1,2,')::linreg_robust_state FROM par_rob_text;
-- (3 terms and 6 meat entries, but the model has 4 kept terms)
SELECT regexp_replace(t, '"terms":4,"meat":\[[^]]*\]', '"terms":3,"meat":[1,0,0,0,0,0,1,0,0,0,1,0]')::linreg_robust_state FROM par_rob_text;
SELECT replace(t, '"meat":[', '"meat":[1e999,')::linreg_robust_state FROM par_rob_text;
SELECT regexp_replace(t, '"meat":\[[^,]*,', '"meat":[')::linreg_robust_state FROM par_rob_text;
SELECT replace(t, '"features":3,"terms"', '"features":2,"terms"')::linreg_robust_state FROM par_rob_text;
SELECT replace(t, '"undefined":false', '"undefined":0')::linreg_robust_state FROM par_rob_text;
SELECT left(t, length(t) - 1)::linreg_robust_state FROM par_rob_text;
SELECT (t || '}')::linreg_robust_state FROM par_rob_text;
SELECT replace(t, '"model":{"version":1', '"model":{"version":7')::linreg_robust_state FROM par_rob_text;
SELECT '{"version":1,"type":"HC0","rows":0,"skipped":0,"undefined":false,"features":0,"terms":0,"meat":[],"model":"x"}'::linreg_robust_state;

RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE par_data, par_states, par_model;
