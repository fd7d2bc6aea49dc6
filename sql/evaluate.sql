--
-- Evaluation: linreg_score (n, MSE, RMSE, MAE, R^2 of a model on rows, one
-- pass, parallel) and the deterministic train/test split linreg_in_train.
--
-- References (test/data/stats/, see README.md there):
--   ref_score.csv        R 4.2 (make_reference.R): fit A = lm(y ~ x1 + x2 + g)
--                        on synth.csv, scored on holdout.csv; A_shift the
--                        same with 1e6 added to y (large mean, small spread)
--   ref_stats.csv        R: RSS and R^2 of fit A (its training rows)
--   ref_split.csv        linreg_in_train of 1317 (key, seed, fraction):
--   ref_split_count.csv  SplitMix64 / FNV-1a reimplemented in Python
--                        (make_reference.py)
-- Numbers must agree to 1e-10 relative; only booleans are printed.
--

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;

CREATE FUNCTION ev_ok(est float8, ref float8, tol float8 DEFAULT 1e-10) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN ref IS NULL THEN est IS NULL
                WHEN est IS NULL THEN false
                WHEN est = ref THEN true
                ELSE abs(est - ref) <= tol * abs(ref) END
$$;

CREATE TABLE ev_synth (id int, y float8, x1 float8, x2 float8, g float8, xa float8, w float8);
\copy ev_synth FROM 'test/data/stats/synth.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE ev_holdout (id int, y float8, x1 float8, x2 float8, g float8);
\copy ev_holdout FROM 'test/data/stats/holdout.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE ev_ref_score (fit text, n bigint, mse float8, rmse float8, mae float8,
                           r2 float8, skipped bigint);
\copy ev_ref_score FROM 'test/data/stats/ref_score.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE ev_ref_stats (fit text, n bigint, df_resid float8, sigma float8, r_squared float8,
    adj_r_squared float8, f_statistic float8, f_df1 float8, f_df2 float8, f_p_value float8,
    log_lik float8, aic float8, bic float8, rss float8, tss float8, rank int);
\copy ev_ref_stats FROM 'test/data/stats/ref_stats.csv' WITH (FORMAT csv, HEADER)

SELECT count(*) AS rows, count(*) FILTER (WHERE y IS NULL OR x2 IS NULL) AS with_null
FROM ev_holdout;

CREATE TABLE ev_model (fit text PRIMARY KEY, model linreg);
INSERT INTO ev_model
SELECT 'A', linreg_fit(y, ARRAY[x1, x2, g]) FROM ev_synth
UNION ALL
SELECT 'A_shift', linreg_fit(y + 1e6, ARRAY[x1, x2, g]) FROM ev_synth;

-------------------------------------------------------------------------------
-- Held-out rows, against R; rows with a NULL are skipped and counted.
-------------------------------------------------------------------------------
CREATE TABLE ev_score AS
SELECT 'A' AS fit, (linreg_score(m.model, h.y, ARRAY[h.x1, h.x2, h.g])).*
FROM ev_model m, ev_holdout h WHERE m.fit = 'A'
UNION ALL
SELECT 'A_shift', (linreg_score(m.model, h.y + 1e6, ARRAY[h.x1, h.x2, h.g])).*
FROM ev_model m, ev_holdout h WHERE m.fit = 'A_shift';

SELECT r.fit, s.n = r.n AS n_ok, s.skipped = r.skipped AS skipped_ok,
       ev_ok(s.mse, r.mse) AS mse_ok, ev_ok(s.rmse, r.rmse) AS rmse_ok,
       ev_ok(s.mae, r.mae) AS mae_ok, ev_ok(s.r2, r.r2) AS r2_ok
FROM ev_ref_score r JOIN ev_score s USING (fit) ORDER BY r.fit;

-- The same, spelled out in SQL from linreg_predict (two passes, numeric).
SELECT s.n = q.n AS n_ok,
       ev_ok(s.mse, q.mse::float8) AS mse_ok,
       ev_ok(s.mae, q.mae::float8) AS mae_ok,
       ev_ok(s.r2, (1 - q.sse / q.sst)::float8) AS r2_ok
FROM ev_score s,
     (SELECT count(*) AS n, avg(e * e) AS mse, avg(abs(e)) AS mae, sum(e * e) AS sse,
             sum((y - ybar) ^ 2) AS sst
      FROM (SELECT h.y::numeric AS y,
                   (h.y - linreg_predict(m.model, ARRAY[h.x1, h.x2, h.g]))::numeric AS e,
                   avg(h.y::numeric) OVER () AS ybar
            FROM ev_model m, ev_holdout h
            WHERE m.fit = 'A' AND h.y IS NOT NULL AND h.x2 IS NOT NULL) e) q
WHERE s.fit = 'A';

-- On its own training rows: MSE = RSS / n and R^2 = R's R^2 (fit A).
SELECT s.n = r.n AS n_ok, s.skipped = 0 AS none_skipped,
       ev_ok(s.mse, r.rss / r.n) AS mse_ok, ev_ok(s.r2, r.r_squared) AS r2_ok
FROM ev_ref_stats r,
     (SELECT (linreg_score(m.model, t.y, ARRAY[t.x1, t.x2, t.g])).*
      FROM ev_model m, ev_synth t WHERE m.fit = 'A') s
WHERE r.fit = 'A';

-- A model scoring itself perfectly: y = 2 + 3 x exactly.
SELECT n, mse < 1e-24 AS mse_zero, rmse < 1e-12 AS rmse_zero, mae < 1e-12 AS mae_zero,
       round(r2::numeric, 12) AS r2, skipped
FROM (SELECT (linreg_score(m, y, ARRAY[x])).*
      FROM (SELECT linreg_fit(2 + 3 * i, ARRAY[i::float8]) AS m FROM generate_series(1, 10) i) f,
           (SELECT 2 + 3 * i::float8 AS y, i::float8 AS x FROM generate_series(11, 20) i) d) s;

-- No rows: n = 0 and no figures (R's mean of nothing is NaN); all skipped.
SELECT n, mse, rmse, mae, r2, skipped
FROM (SELECT (linreg_score(m.model, h.y, ARRAY[h.x1, h.x2, h.g])).*
      FROM ev_model m, ev_holdout h WHERE m.fit = 'A' AND h.id < 0) s;
SELECT n, mse, rmse, mae, r2, skipped
FROM (SELECT (linreg_score(m.model, h.y, ARRAY[h.x1, h.x2, h.g])).*
      FROM ev_model m, ev_holdout h WHERE m.fit = 'A' AND h.id IN (101, 102)) s;

-------------------------------------------------------------------------------
-- Parallel: a forced parallel plan gives what the serial plan gives.
-------------------------------------------------------------------------------
CREATE TABLE ev_big AS
SELECT i AS id,
       x1, x2, x3,
       1000 + 2.0 * x1 - 0.5 * x2 + 0.25 * x3 + 3 * sin(i * 0.7) AS y
FROM (SELECT i, (i % 97)::float8 / 7 AS x1, (i % 89)::float8 / 3 AS x2,
             cos(i * 1.3) * 10 AS x3
      FROM generate_series(1, 50000) i) s;
-- a few rows with NULLs, to be skipped in every worker
UPDATE ev_big SET y = NULL WHERE id % 5000 = 17;
UPDATE ev_big SET x2 = NULL WHERE id % 7000 = 3;
ALTER TABLE ev_big SET (parallel_workers = 2);
ANALYZE ev_big;

SELECT linreg_fit(y, ARRAY[x1, x2, x3])::text AS big_model
FROM ev_big WHERE linreg_in_train(id, 0.5, 7) \gset

CREATE TABLE ev_pscore (plan text, which text, s linreg_score_result);
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT linreg_score(:'big_model'::linreg, y, ARRAY[x1, x2, x3]) FROM ev_big;
INSERT INTO ev_pscore
SELECT 'parallel', 'all', linreg_score(:'big_model'::linreg, y, ARRAY[x1, x2, x3]) FROM ev_big;
INSERT INTO ev_pscore
SELECT 'parallel', 'test half', linreg_score(:'big_model'::linreg, y, ARRAY[x1, x2, x3]) FROM ev_big
WHERE NOT linreg_in_train(id, 0.5, 7);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT linreg_score(:'big_model'::linreg, y, ARRAY[x1, x2, x3]) FROM ev_big;
INSERT INTO ev_pscore
SELECT 'serial', 'all', linreg_score(:'big_model'::linreg, y, ARRAY[x1, x2, x3]) FROM ev_big;
INSERT INTO ev_pscore
SELECT 'serial', 'test half', linreg_score(:'big_model'::linreg, y, ARRAY[x1, x2, x3]) FROM ev_big
WHERE NOT linreg_in_train(id, 0.5, 7);
RESET max_parallel_workers_per_gather;

SELECT p.which, (p.s).n = (s.s).n AS n_equal, (p.s).skipped = (s.s).skipped AS skipped_equal,
       (p.s).n, (p.s).skipped,
       ev_ok((p.s).mse, (s.s).mse, 1e-12) AS mse_equal, ev_ok((p.s).rmse, (s.s).rmse, 1e-12) AS rmse_equal,
       ev_ok((p.s).mae, (s.s).mae, 1e-12) AS mae_equal, ev_ok((p.s).r2, (s.s).r2, 1e-12) AS r2_equal
FROM ev_pscore p JOIN ev_pscore s USING (which)
WHERE p.plan = 'parallel' AND s.plan = 'serial'
ORDER BY p.which;

-- ... and both agree with the two-pass numbers computed in numeric.
SELECT ev_ok((s.s).mse, q.mse::float8) AS mse_ok, ev_ok((s.s).mae, q.mae::float8) AS mae_ok,
       ev_ok((s.s).r2, (1 - q.sse / q.sst)::float8) AS r2_ok
FROM ev_pscore s,
     (SELECT avg(e * e) AS mse, avg(abs(e)) AS mae, sum(e * e) AS sse,
             sum((y - ybar) ^ 2) AS sst
      FROM (SELECT y::numeric AS y,
                   (y - linreg_predict(:'big_model'::linreg, ARRAY[x1, x2, x3]))::numeric AS e,
                   avg(y::numeric) OVER () AS ybar
            FROM ev_big WHERE y IS NOT NULL AND x2 IS NOT NULL) e) q
WHERE s.plan = 'parallel' AND s.which = 'all';

-------------------------------------------------------------------------------
-- linreg_in_train: the Python reimplementation of src/core/lr_split.h.
-------------------------------------------------------------------------------
CREATE TABLE ev_ref_split (kind text, key text, seed integer, fraction float8, in_train boolean);
\copy ev_ref_split FROM 'test/data/stats/ref_split.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE ev_ref_split_count (keys int, seed integer, fraction float8,
                                 in_train_bigint bigint, in_train_text bigint);
\copy ev_ref_split_count FROM 'test/data/stats/ref_split_count.csv' WITH (FORMAT csv, HEADER)

SELECT kind, count(*) AS cases, count(DISTINCT key) AS keys, count(DISTINCT seed) AS seeds,
       count(*) FILTER (WHERE in_train) AS in_train,
       count(*) FILTER (WHERE CASE kind WHEN 'bigint' THEN linreg_in_train(key::bigint, fraction, seed)
                                         ELSE linreg_in_train(key, fraction, seed) END
                              IS DISTINCT FROM in_train) AS mismatches
FROM ev_ref_split GROUP BY kind ORDER BY kind;

-- The extreme keys and the empty and non-ASCII text keys are among them.
SELECT count(*) FILTER (WHERE key IN ('-9223372036854775808', '9223372036854775807')) AS extreme_keys,
       count(*) FILTER (WHERE key = '') AS empty_keys,
       count(*) FILTER (WHERE octet_length(key) > char_length(key)) AS non_ascii_keys
FROM ev_ref_split;

-- The default seed is 0.
SELECT bool_and(linreg_in_train(i, 0.8) = linreg_in_train(i, 0.8, 0)) AS bigint_default_seed,
       bool_and(linreg_in_train('k' || i, 0.3) = linreg_in_train('k' || i, 0.3, 0)) AS text_default_seed
FROM generate_series(1, 1000) i;

-- Fractions: ~80% of 10000 keys, exactly as many as the reference counts.
SELECT r.seed, r.fraction,
       round(b.cnt / 10000.0, 2) AS share_bigint, b.cnt = r.in_train_bigint AS bigint_ok,
       round(t.cnt / 10000.0, 2) AS share_text, t.cnt = r.in_train_text AS text_ok
FROM ev_ref_split_count r,
     LATERAL (SELECT count(*) FILTER (WHERE linreg_in_train(i, r.fraction, r.seed)) AS cnt
              FROM generate_series(1, 10000) i) b,
     LATERAL (SELECT count(*) FILTER (WHERE linreg_in_train('id-' || i, r.fraction, r.seed)) AS cnt
              FROM generate_series(1, 10000) i) t
ORDER BY r.seed, r.fraction;

-- Nested: the rows in train at 0.5 are in train at 0.8 (same seed).
SELECT bool_and(linreg_in_train(i, 0.8, 3)) FILTER (WHERE linreg_in_train(i, 0.5, 3)) AS nested
FROM generate_series(1, 10000) i;

-------------------------------------------------------------------------------
-- Bad input: a model applied to arrays of another length.
-------------------------------------------------------------------------------
SELECT linreg_score(m.model, h.y, ARRAY[h.x1, h.x2])
FROM ev_model m, ev_holdout h WHERE m.fit = 'A';
SELECT linreg_score(m.model, h.y, ARRAY[h.x1, h.x2, h.g, h.g])
FROM ev_model m, ev_holdout h WHERE m.fit = 'A';

DROP TABLE ev_pscore, ev_big, ev_score, ev_model,
    ev_ref_split, ev_ref_split_count, ev_ref_stats, ev_ref_score, ev_holdout, ev_synth;
DROP FUNCTION ev_ok(float8, float8, float8);
