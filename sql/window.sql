--
-- window: the fit aggregates as window functions over moving frames (rows
-- enter and leave the state through the inverse transition functions),
-- and linreg_merge over stored states.  At every row the window result must
-- equal a fresh fit of that row's frame, computed by a LATERAL subquery.
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
-- Two models agree: both NULL, or the same counts, rank and coefficients
-- (relative 1e-9).
CREATE FUNCTION pg_temp.same(a linreg, b linreg) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN a IS NULL OR b IS NULL THEN a IS NULL AND b IS NULL
                ELSE linreg_rows(a) = linreg_rows(b) AND linreg_skipped(a) = linreg_skipped(b)
                     AND linreg_rank(a) = linreg_rank(b)
                     AND pg_temp.close(linreg_coefficients(a), linreg_coefficients(b), 1e-9) END
$$;

-- 120 rows; t has gaps and repeats (for RANGE and GROUPS frames); weights
-- include 0; nulls has NULL y, NULL x2 and a run of 15 NULL rows (longer
-- than the frames) in the middle.
CREATE TEMP TABLE wn AS
SELECT id, id % 3 AS g, (id * 3) / 4 + 2 * (id / 20) AS t,
       (id % 4) * 0.5::float8 AS w,
       id / 8.0::float8 AS x1,
       ((id * 37) % 101) / 16.0::float8 AS x2
FROM generate_series(1, 120) AS id;
ALTER TABLE wn ADD COLUMN y float8, ADD COLUMN yn float8, ADD COLUMN x2n float8;
UPDATE wn SET y = 1 + 0.5 * x1 - 2 * x2 + ((id * 53) % 17 - 8) / 16.0;
UPDATE wn SET yn = CASE WHEN id % 11 = 0 OR id BETWEEN 60 AND 74 THEN NULL ELSE y END,
              x2n = CASE WHEN id % 13 = 0 THEN NULL ELSE x2 END;

--
-- ROWS BETWEEN 9 PRECEDING AND CURRENT ROW.
--
SELECT count(*) AS rows, count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches,
       count(*) FILTER (WHERE linreg_rows(w.m) <> least(w.id, 10)) AS wrong_counts
FROM (SELECT id, linreg_fit(y, ARRAY[x1, x2]) OVER (ORDER BY id ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn AS v WHERE v.id BETWEEN w.id - 9 AND w.id) AS f;
-- the first frames have fewer rows than terms: 1 row keeps only the
-- intercept, 2 rows the intercept and x1
SELECT id, linreg_rank(m) AS rank, linreg_rows(m) AS rows,
       ARRAY(SELECT c IS NULL FROM unnest(linreg_coefficients(m)) AS c) AS aliased
FROM (SELECT id, linreg_fit(y, ARRAY[x1, x2]) OVER (ORDER BY id ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS m
      FROM wn) AS w WHERE id <= 4 ORDER BY id;
-- linreg_state over the same frames, solved, is the same
SELECT count(*) FILTER (WHERE NOT pg_temp.same(linreg_solve(w.s), f.m)) AS mismatches
FROM (SELECT id, linreg_state(y, ARRAY[x1, x2]) OVER (ORDER BY id ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS s
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn AS v WHERE v.id BETWEEN w.id - 9 AND w.id) AS f;
-- weighted (weights 0, 0.5, 1, 1.5: zero-weight rows enter and leave too)
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches,
       count(*) FILTER (WHERE linreg_rows(w.m) <> f.n) AS wrong_counts
FROM (SELECT id, linreg_fit(y, ARRAY[x1, x2], w) OVER (ORDER BY id ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2], w) AS m, count(*) FILTER (WHERE w > 0) AS n
              FROM wn AS v WHERE v.id BETWEEN w.id - 9 AND w.id) AS f;
-- features as columns
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches
FROM (SELECT id, linreg_fit_cols(y, x1, x2) OVER (ORDER BY id ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn AS v WHERE v.id BETWEEN w.id - 9 AND w.id) AS f;
-- without intercept
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches,
       bool_and(linreg_intercept(w.m) IS NULL) AS no_intercept
FROM (SELECT id, linreg_fit_noint(y, ARRAY[x1, x2]) OVER (ORDER BY id ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit_noint(y, ARRAY[x1, x2]) AS m FROM wn AS v WHERE v.id BETWEEN w.id - 9 AND w.id) AS f;
-- a frame that is not anchored at the current row, and one with EXCLUDE
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches
FROM (SELECT id, linreg_fit(y, ARRAY[x1, x2]) OVER (ORDER BY id ROWS BETWEEN 12 PRECEDING AND 4 FOLLOWING) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn AS v WHERE v.id BETWEEN w.id - 12 AND w.id + 4) AS f;
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches
FROM (SELECT id, linreg_fit(y, ARRAY[x1, x2]) OVER (ORDER BY id ROWS BETWEEN 9 PRECEDING AND 9 FOLLOWING EXCLUDE CURRENT ROW) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn AS v
              WHERE v.id BETWEEN w.id - 9 AND w.id + 9 AND v.id <> w.id) AS f;
-- PARTITION BY: frames move within each partition
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches
FROM (SELECT id, g, linreg_fit(y, ARRAY[x1, x2]) OVER (PARTITION BY g ORDER BY id ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m
              FROM (SELECT * FROM wn AS v WHERE v.g = w.g AND v.id <= w.id ORDER BY v.id DESC LIMIT 6) AS v) AS f;
-- the running (cumulative) fit
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches
FROM (SELECT id, linreg_fit(y, ARRAY[x1, x2]) OVER (ORDER BY id) AS m FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn AS v WHERE v.id <= w.id) AS f;

--
-- NULL rows inside frames: skipped and counted per frame.  Rows 60..74 are
-- all NULL: frames inside that run hold no row at all (no model), and the
-- state refills after it.
--
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches,
       count(*) FILTER (WHERE w.m IS NULL) AS no_model,
       count(*) FILTER (WHERE coalesce(linreg_skipped(w.m), -1) <> coalesce(linreg_skipped(f.m), -1)) AS wrong_skips
FROM (SELECT id, linreg_fit(yn, ARRAY[x1, x2n]) OVER (ORDER BY id ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(yn, ARRAY[x1, x2n]) AS m FROM wn AS v WHERE v.id BETWEEN w.id - 9 AND w.id) AS f;
-- the state's counts against count(*) over the same frame
SELECT count(*) FILTER (WHERE linreg_rows(s) <> n_ok OR linreg_skipped(s) <> n_null) AS wrong_counts,
       count(*) FILTER (WHERE n_ok = 0) AS empty_frames,
       max(linreg_skipped(s)) AS max_skipped
FROM (SELECT id,
             linreg_state(yn, ARRAY[x1, x2n]) OVER f AS s,
             count(*) FILTER (WHERE yn IS NOT NULL AND x2n IS NOT NULL) OVER f AS n_ok,
             count(*) FILTER (WHERE yn IS NULL OR x2n IS NULL) OVER f AS n_null
      FROM wn WINDOW f AS (ORDER BY id ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)) AS q;
-- the same with a NULL weight as the NULL, and with linreg_fit_cols
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches
FROM (SELECT id, linreg_fit(y, ARRAY[x1, x2], CASE WHEN yn IS NULL THEN NULL ELSE w END)
                 OVER (ORDER BY id ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2], CASE WHEN yn IS NULL THEN NULL ELSE w END) AS m
              FROM wn AS v WHERE v.id BETWEEN w.id - 9 AND w.id) AS f;
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches
FROM (SELECT id, linreg_fit_cols(yn, x1, x2n) OVER (ORDER BY id ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(yn, ARRAY[x1, x2n]) AS m FROM wn AS v WHERE v.id BETWEEN w.id - 9 AND w.id) AS f;

--
-- RANGE and GROUPS frames over t (gaps and repeated values), and frames
-- that start or end empty.
--
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches
FROM (SELECT id, t, linreg_fit(y, ARRAY[x1, x2]) OVER (ORDER BY t RANGE BETWEEN 6 PRECEDING AND CURRENT ROW) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn AS v WHERE v.t BETWEEN w.t - 6 AND w.t) AS f;
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches
FROM (SELECT id, t, linreg_fit(yn, ARRAY[x1, x2n]) OVER (ORDER BY t RANGE BETWEEN 3 PRECEDING AND 3 FOLLOWING) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(yn, ARRAY[x1, x2n]) AS m FROM wn AS v WHERE v.t BETWEEN w.t - 3 AND w.t + 3) AS f;
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches
FROM (SELECT id, t, linreg_fit(y, ARRAY[x1, x2]) OVER (ORDER BY t GROUPS BETWEEN 4 PRECEDING AND CURRENT ROW) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn AS v
              WHERE v.t IN (SELECT DISTINCT t FROM wn AS u WHERE u.t <= w.t ORDER BY t DESC LIMIT 5)) AS f;
-- frames that are empty at the start (RANGE 10 to 8 PRECEDING: also empty
-- across the gaps in t) ...
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches,
       count(*) FILTER (WHERE w.m IS NULL) AS empty_frames
FROM (SELECT id, t, linreg_fit(y, ARRAY[x1, x2]) OVER (ORDER BY t RANGE BETWEEN 10 PRECEDING AND 8 PRECEDING) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn AS v WHERE v.t BETWEEN w.t - 10 AND w.t - 8) AS f;
SELECT count(*) AS empty_frames_expected
FROM wn AS w WHERE NOT EXISTS (SELECT FROM wn AS v WHERE v.t BETWEEN w.t - 10 AND w.t - 8);
-- ... and at the end (ROWS 3 to 5 FOLLOWING)
SELECT count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches,
       count(*) FILTER (WHERE w.m IS NULL) AS empty_frames,
       count(*) FILTER (WHERE linreg_rows(w.m) = 1) AS one_row_frames
FROM (SELECT id, linreg_fit(y, ARRAY[x1, x2]) OVER (ORDER BY id ROWS BETWEEN 3 FOLLOWING AND 5 FOLLOWING) AS m
      FROM wn) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn AS v WHERE v.id BETWEEN w.id + 3 AND w.id + 5) AS f;

--
-- A long series drifting far from its first row (the state's shift), with
-- a narrow frame: the moving state stays as accurate as a fresh fit.
--
CREATE TEMP TABLE wn_long AS
SELECT id, 1000.0 * id + (id % 7) AS x1, ((id * 37) % 101)::float8 AS x2
FROM generate_series(1, 2000) AS id;
ALTER TABLE wn_long ADD COLUMN y float8;
UPDATE wn_long SET y = 5 - 0.001 * x1 + 0.5 * x2 + ((id * 53) % 17 - 8) / 4.0;
SELECT count(*) AS rows, count(*) FILTER (WHERE NOT pg_temp.same(w.m, f.m)) AS mismatches
FROM (SELECT id, linreg_fit(y, ARRAY[x1, x2]) OVER (ORDER BY id ROWS BETWEEN 49 PRECEDING AND CURRENT ROW) AS m
      FROM wn_long) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn_long AS v WHERE v.id BETWEEN w.id - 49 AND w.id) AS f;
-- exact data in a moving frame stays exact
SELECT count(*) FILTER (WHERE NOT pg_temp.close(linreg_coefficients(m), ARRAY[-7, 0.25, 3], 1e-9)) AS inexact
FROM (SELECT id, linreg_fit(-7 + 0.25 * x1 + 3 * x2, ARRAY[x1, x2])
                 OVER (ORDER BY id ROWS BETWEEN 19 PRECEDING AND CURRENT ROW) AS m
      FROM wn_long) AS w WHERE id >= 20;

--
-- linreg_merge as a window aggregate over stored states: one state per
-- "day" (day 9 has no rows at all, day 17 only NULL rows), merged over a
-- moving 3-day frame, equals a fresh fit of those days' rows.
--
CREATE TEMP TABLE wn_days AS
SELECT id, (id - 1) / 4 + 1 AS day, x1, x2,
       CASE WHEN (id - 1) / 4 + 1 = 17 THEN NULL ELSE y END AS y
FROM wn WHERE (id - 1) / 4 + 1 <> 9;
CREATE TEMP TABLE wn_states AS
SELECT d AS day, (SELECT linreg_state(y, ARRAY[x1, x2]) FROM wn_days WHERE wn_days.day = d) AS s
FROM generate_series(1, 30) AS d;
SELECT count(*) FILTER (WHERE s IS NULL) AS null_states,
       count(*) FILTER (WHERE linreg_rows(s) = 0) AS states_without_rows
FROM wn_states;
SELECT count(*) AS days,
       count(*) FILTER (WHERE NOT pg_temp.same(linreg_solve(w.s), f.m)) AS mismatches,
       count(*) FILTER (WHERE coalesce(linreg_skipped(w.s), 0) <> f.skipped) AS wrong_skips
FROM (SELECT day, linreg_merge(s) OVER (ORDER BY day ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s
      FROM wn_states) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m, count(*) - count(y) AS skipped
              FROM wn_days AS v WHERE v.day BETWEEN w.day - 2 AND w.day) AS f;
SELECT count(*) FILTER (WHERE NOT pg_temp.same(linreg_solve(w.s), f.m)) AS mismatches
FROM (SELECT day, linreg_merge(s) OVER (ORDER BY day ROWS BETWEEN 1 FOLLOWING AND 4 FOLLOWING) AS s
      FROM wn_states) AS w,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM wn_days AS v WHERE v.day BETWEEN w.day + 1 AND w.day + 4) AS f;
