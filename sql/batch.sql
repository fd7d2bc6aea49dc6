--
-- batch: the batched path of the plain (non-window) fit aggregates.  Once a
-- group's state has 32 rows (BATCH_AFTER_ROWS) with at most 16 features, the
-- transition state becomes an expanded object whose batch folds rows in
-- blocks of 16; window aggregates keep the flat row-by-row path.
--
-- References are independent of the code under test: data built from known
-- dyadic coefficients with small integer features (the least-squares
-- solution is then exactly those coefficients; every design below has full
-- rank, checked with exact rational arithmetic outside PostgreSQL),
-- PostgreSQL's own count/sum, the window form of the same aggregate (flat
-- path), and the error raised for the same bad row when it is the first.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;
\set VERBOSITY terse
SET extra_float_digits = 0;

-- close(a, b, tol): same length, NULLs in the same places, and every pair
-- equal (infinities too) or within tol relative to the larger magnitude
-- (absolute below 1).
CREATE FUNCTION pg_temp.close(a float8[], b float8[], tol float8) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT a IS NOT NULL AND b IS NOT NULL AND cardinality(a) = cardinality(b)
       AND coalesce(bool_and(CASE WHEN x IS NULL OR y IS NULL THEN x IS NULL AND y IS NULL
                                  ELSE x = y OR abs(x - y) <= tol * greatest(abs(x), abs(y), 1) END), true)
    FROM unnest(a, b) AS u(x, y)
$$;
CREATE FUNCTION pg_temp.rnd(a float8[], digits int) RETURNS numeric[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(round(x::numeric, digits) ORDER BY o) FROM unnest(a) WITH ORDINALITY AS u(x, o)
$$;
-- Two models agree: both NULL, or the same rows, skipped and rank, and
-- coefficients within tol.
CREATE FUNCTION pg_temp.same(a linreg, b linreg, tol float8) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN a IS NULL OR b IS NULL THEN a IS NULL AND b IS NULL
                ELSE linreg_rows(a) = linreg_rows(b) AND linreg_skipped(a) = linreg_skipped(b)
                     AND linreg_rank(a) = linreg_rank(b)
                     AND pg_temp.close(linreg_coefficients(a), linreg_coefficients(b), tol) END
$$;
-- How many batched states are alive right now: the memory contexts of the
-- expanded states (expanded_state.c names them "flinkml linreg_state").
-- Called with an aggregate's result as the argument, it runs once the
-- aggregate is computed and before the executor resets its state for the
-- next group, so it tells which path the aggregate took.
CREATE FUNCTION pg_temp.live_batches(anyelement) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'flinkml linreg_state');
END
$$;
-- The error a statement raises (SQLSTATE and message), or 'no error'.
CREATE FUNCTION pg_temp.err(q text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

--
-- 1. Exact data, groups of 1, 31, 32, 33, 47, 48, 49 and 1000 rows (the
-- batch starts at row 32; its blocks close at rows 48, 64, ...):
--   y  = 3 + 2 x1 - x2 + 0.5 x3        (with intercept)
--   y0 =     2 x1 - x2 + 0.5 x3        (through the origin)
-- w: positive dyadic weights 0.5 .. 2.  wz: weights 1 .. 3 with weight 0 on
-- every row with id % 7 = 3, whose yz / y0z are off the plane by 1000: were
-- they counted, the coefficients would be wrong.
--
CREATE TEMP TABLE b_ex AS
SELECT row_number() OVER (ORDER BY s.g, i) AS id, s.g::int AS g, i
FROM unnest(ARRAY[1, 31, 32, 33, 47, 48, 49, 1000]) WITH ORDINALITY AS s(n, g),
     generate_series(1, s.n) AS i
ORDER BY 1;
ALTER TABLE b_ex ADD COLUMN x1 float8, ADD COLUMN x2 float8, ADD COLUMN x3 float8,
                 ADD COLUMN xa float8[], ADD COLUMN y float8, ADD COLUMN y0 float8,
                 ADD COLUMN w float8, ADD COLUMN wz float8, ADD COLUMN yz float8,
                 ADD COLUMN y0z float8;
UPDATE b_ex SET x1 = (7 * id) % 11 - 5, x2 = (id * id) % 13, x3 = (5 * id) % 9 - 4,
                w = 0.5 * (1 + id % 4), wz = CASE WHEN id % 7 = 3 THEN 0 ELSE 1 + id % 3 END;
UPDATE b_ex SET xa = ARRAY[x1, x2, x3], y = 3 + 2 * x1 - x2 + 0.5 * x3, y0 = 2 * x1 - x2 + 0.5 * x3;
UPDATE b_ex SET yz = CASE WHEN wz = 0 THEN y + 1000 ELSE y END,
                y0z = CASE WHEN wz = 0 THEN y0 + 1000 ELSE y0 END;
VACUUM FULL b_ex;   -- rows in id order again after the updates

-- Every form, every group: rows counted exactly, coefficients exact.
-- xa is an array column (the array path); ARRAY[x1, x2, x3] is rewritten to
-- the column form; linreg_fit_cols with float8 columns (its fast path) and
-- with int, bigint and numeric columns (the general path).
SELECT g, n, n_pos, linreg_rows(fz) AS rows_wz, linreg_weight_sum(linreg_state(fz)) = sum_wz AS wsum_ok,
       (SELECT bool_and(linreg_rows(m) = n AND linreg_skipped(m) = 0 AND linreg_rank(m) = 4
                        AND pg_temp.close(linreg_coefficients(m), '{3,2,-1,0.5}', 1e-12))
        FROM unnest(ARRAY[f1, f2, f3, f4, linreg_solve(s1), linreg_solve(s2)]) AS m) AS unweighted_ok,
       (SELECT bool_and(linreg_rank(m) = 4 AND linreg_skipped(m) = 0
                        AND pg_temp.close(linreg_coefficients(m), '{3,2,-1,0.5}', 1e-12))
        FROM unnest(ARRAY[fw, fz]) AS m)
       AND linreg_rows(fw) = n AND linreg_weight_sum(linreg_state(fw)) = sum_w AS weighted_ok,
       (SELECT bool_and(linreg_rank(m) = 3 AND linreg_intercept(m) IS NULL
                        AND pg_temp.close(linreg_coefficients(m), '{2,-1,0.5}', 1e-12))
        FROM unnest(ARRAY[n1, n2, n3]) AS m)
       AND linreg_rows(n1) = n AND linreg_rows(n2) = n AND linreg_rows(n3) = n_pos AS noint_ok
FROM (SELECT g, count(*) AS n, count(*) FILTER (WHERE wz > 0) AS n_pos, sum(w) AS sum_w, sum(wz) AS sum_wz,
             linreg_fit(y, xa) AS f1, linreg_fit(y, ARRAY[x1, x2, x3]) AS f2,
             linreg_fit_cols(y, x1, x2, x3) AS f3,
             linreg_fit_cols(y, x1::int, x2::bigint, x3::numeric) AS f4,
             linreg_state(y, xa) AS s1, linreg_state_cols(y, x1, x2, x3) AS s2,
             linreg_fit(y, xa, w) AS fw, linreg_fit(yz, xa, wz) AS fz,
             linreg_fit_noint(y0, xa) AS n1, linreg_fit_noint(y0, xa, w) AS n2,
             linreg_fit_noint(y0z, xa, wz) AS n3
      FROM b_ex WHERE g > 1 GROUP BY g) AS q
ORDER BY g;
-- The group of one row (x = 2, 1, 1; y = 6.5, y0 = 3.5, weight 2): the
-- intercept is y and every feature is aliased (as R's lm); through the
-- origin, x1 alone takes y0 / 2 and x2, x3 are aliased.
SELECT linreg_coefficients(linreg_fit(y, xa)) AS fit, linreg_coefficients(linreg_fit_cols(y, x1, x2, x3)) AS cols,
       linreg_coefficients(linreg_fit(yz, xa, wz)) AS weighted,
       linreg_coefficients(linreg_fit_noint(y0, xa)) AS noint, linreg_rows(linreg_fit(y, xa)) AS rows
FROM b_ex WHERE g = 1;
-- All groups at once (1241 rows, 177 of weight 0), printed.
SELECT linreg_rows(m) AS rows, linreg_skipped(m) AS skipped, pg_temp.rnd(linreg_coefficients(m), 10) AS coef
FROM (SELECT linreg_fit(y, xa) AS m FROM b_ex UNION ALL
      SELECT linreg_fit(yz, xa, wz) FROM b_ex UNION ALL
      SELECT linreg_fit_cols(y, x1, x2, x3) FROM b_ex UNION ALL
      SELECT linreg_fit_noint(y0z, xa, wz) FROM b_ex) AS q;
-- Integer data with sums below 2^53: every sum is exact in float64 (lo is
-- 0 on both paths), so the state of a group is the same to the bit
-- whichever path built it.  (With larger exact sums the values stay equal,
-- but the batch stores them normalised and the row-by-row path does not:
-- the hi/lo split, and so the text, can differ.)  The plain
-- aggregate (batched) against the window form over the whole partition
-- (flat), rows in the same order so that the shift (first row) is the same.
SELECT count(*) AS groups,
       count(*) FILTER (WHERE p::text = w::text) AS identical_states,
       count(*) FILTER (WHERE p::text = c::text) AS identical_cols_states
FROM (SELECT g, linreg_state(y, xa ORDER BY id) AS p, linreg_state_cols(y, x1, x2, x3 ORDER BY id) AS c
      FROM b_ex GROUP BY g) AS a
JOIN (SELECT DISTINCT g, linreg_state(y, xa) OVER (PARTITION BY g ORDER BY id
                          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)::text AS w
      FROM b_ex) AS b USING (g);

-- Which path: a sorted GroupAggregate (one group's state alive at a time)
-- has a batched state exactly for the groups of 32 rows or more, one per
-- transition state (linreg_fit and linreg_state of the same arguments share
-- one); the ORDER BY form too; the window form never.
-- (one statement per probe: the states of all the aggregates of a
-- statement are alive together)
SET enable_hashagg = off;
CREATE TEMP TABLE b_probe1 AS
SELECT g, count(*) AS n, pg_temp.live_batches(linreg_fit(y, xa)) AS fit FROM b_ex GROUP BY g;
CREATE TEMP TABLE b_probe2 AS
SELECT g, pg_temp.live_batches(linreg_fit(y, xa ORDER BY id)) AS fit_ordered FROM b_ex GROUP BY g;
CREATE TEMP TABLE b_probe3 AS
SELECT g, pg_temp.live_batches((linreg_fit(y, xa), linreg_state(y, xa), linreg_fit(yz, xa, wz),
                                linreg_fit(y, ARRAY[x1, x2, x3]), linreg_fit_noint(y0, xa))) AS four_states
FROM b_ex GROUP BY g;
RESET enable_hashagg;
CREATE TEMP TABLE b_probe4 AS
SELECT DISTINCT g, pg_temp.live_batches(linreg_fit(y, xa) OVER (PARTITION BY g)) AS window_fit FROM b_ex;
SELECT * FROM b_probe1 JOIN b_probe2 USING (g) JOIN b_probe3 USING (g) JOIN b_probe4 USING (g) ORDER BY g;
-- Shifted data: features near 1e6, 1e9 and 1e12 (exact integers), 500 rows
-- per offset.  The batch centres every row on the state's shift exactly:
-- exact coefficients, and the same state to the bit as the flat path.
CREATE TEMP TABLE b_shift AS
SELECT o, i, (o + (7 * i) % 11 - 5)::float8 AS x1, (o + (i * i) % 13)::float8 AS x2,
       ((5 * i) % 9 - 4)::float8 AS x3
FROM unnest(ARRAY[0, 1e6, 1e9, 1e12]::float8[]) AS o, generate_series(1, 500) AS i
ORDER BY o, i;
ALTER TABLE b_shift ADD COLUMN y float8;
UPDATE b_shift SET y = 3 + 2 * x1 - x2 + 0.5 * x3;
SELECT o, pg_temp.close(linreg_coefficients(linreg_fit(y, ARRAY[x1, x2, x3])), '{3,2,-1,0.5}', 1e-12) AS exact,
       pg_temp.close(linreg_coefficients(linreg_fit_cols(y, x1, x2, x3)), '{3,2,-1,0.5}', 1e-12) AS exact_cols,
       linreg_state(y, ARRAY[x1, x2, x3] ORDER BY i)::text
       = (SELECT DISTINCT linreg_state(y, ARRAY[x1, x2, x3]) OVER (ORDER BY i ROWS BETWEEN UNBOUNDED PRECEDING
                                                                     AND UNBOUNDED FOLLOWING)::text
          FROM b_shift AS b WHERE b.o = a.o) AS same_state_as_flat
FROM b_shift AS a GROUP BY o ORDER BY o;
-- DISTINCT: every row of b_ex twice, the duplicates removed before the
-- transition function (sorted input): the fit of the rows once.
SELECT linreg_rows(m) AS rows, pg_temp.close(linreg_coefficients(m), '{3,2,-1,0.5}', 1e-12) AS exact
FROM (SELECT linreg_fit(DISTINCT y, xa) AS m
      FROM (SELECT y, xa FROM b_ex UNION ALL SELECT y, xa FROM b_ex) AS d) AS q;
SELECT count(DISTINCT (y, xa)) AS distinct_rows FROM b_ex;

--
-- 2. NULL rows before and after the batch starts.  By position i in its
-- group: NULL y at 5, 45, 300; NULL x2 (an array element, or the column) at
-- 10, 60, 500; NULL x array (column form: NULL x1) at 33, 700; NULL weight
-- at 20, 80, 900.  Groups of 40, 100 and 1000 rows; group 4: 100 rows of
-- which the first 40 also have a NULL y; group 5: 40 rows, all NULL y.
-- Expected skipped (unweighted / weighted), by group: 3 / 4, 5 / 7, 8 / 11,
-- 42 / 43 (the first 40, then 45, 60 / and 80), 40 / 40.
--
CREATE TEMP TABLE b_nul AS
SELECT row_number() OVER (ORDER BY s.g, i) AS id, s.g::int AS g, i
FROM unnest(ARRAY[40, 100, 1000, 100, 40]) WITH ORDINALITY AS s(n, g),
     generate_series(1, s.n) AS i
ORDER BY 1;
ALTER TABLE b_nul ADD COLUMN x1 float8, ADD COLUMN x2 float8, ADD COLUMN x3 float8,
                  ADD COLUMN xa float8[], ADD COLUMN y float8, ADD COLUMN w float8;
UPDATE b_nul SET x1 = (7 * id) % 11 - 5, x2 = (id * id) % 13, x3 = (5 * id) % 9 - 4,
                 w = 1 + id % 3;
UPDATE b_nul SET y = 3 + 2 * x1 - x2 + 0.5 * x3;
UPDATE b_nul SET y = NULL WHERE i IN (5, 45, 300) OR (g = 4 AND i <= 40) OR g = 5;
UPDATE b_nul SET x2 = NULL WHERE i IN (10, 60, 500);
UPDATE b_nul SET xa = ARRAY[x1, x2, x3];
UPDATE b_nul SET xa = NULL, x1 = NULL WHERE i IN (33, 700);
UPDATE b_nul SET w = NULL WHERE i IN (20, 80, 900);
VACUUM FULL b_nul;
SELECT g, n, linreg_rows(s) AS rows, linreg_skipped(s) AS skipped,
       linreg_rows(sw) AS rows_w, linreg_skipped(sw) AS skipped_w,
       linreg_skipped(sc) AS skipped_cols, linreg_features(s) AS features,
       (SELECT bool_and(CASE WHEN g = 5 THEN m IS NULL
                             ELSE linreg_rows(m) = linreg_rows(s) AND linreg_skipped(m) = linreg_skipped(s)
                                  AND pg_temp.close(linreg_coefficients(m), '{3,2,-1,0.5}', 1e-12) END)
        FROM unnest(ARRAY[f1, f2, f3, f4]) AS m) AS exact,
       CASE WHEN g = 5 THEN fw IS NULL
            ELSE linreg_skipped(fw) = linreg_skipped(sw)
                 AND pg_temp.close(linreg_coefficients(fw), '{3,2,-1,0.5}', 1e-12) END AS exact_w
FROM (SELECT g, count(*) AS n, linreg_state(y, xa) AS s, linreg_state(y, xa, w) AS sw,
             linreg_state_cols(y, x1, x2, x3) AS sc,
             linreg_fit(y, xa) AS f1, linreg_fit(y, ARRAY[x1, x2, x3]) AS f2, linreg_fit_cols(y, x1, x2, x3) AS f3,
             linreg_fit_cols(y, x1, x2::numeric, x3::int) AS f4, linreg_fit(y, xa, w) AS fw
      FROM b_nul GROUP BY g) AS q
ORDER BY g;

--
-- 3. Consistency between the paths on noisy data: groups of 1 .. 1000 rows,
-- weights 0.5 .. 2 and 0 (id % 11 = 0), weights w3 that are not dyadic (so
-- w u is not exact in double), NULL y (id % 97 = 0) and NULL x2
-- (id % 89 = 0).  The window form over the whole partition takes the flat
-- path; both compute the same sums to double-double accuracy, so the
-- coefficients agree to far better than 1e-12 (the designs are well
-- conditioned), and rows and skipped are the same counts.
--
CREATE TEMP TABLE b_noisy AS
SELECT row_number() OVER (ORDER BY s.g, i) AS id, s.g::int AS g, i
FROM unnest(ARRAY[1, 31, 32, 33, 47, 48, 49, 100, 255, 256, 257, 1000]) WITH ORDINALITY AS s(n, g),
     generate_series(1, s.n) AS i
ORDER BY 1;
ALTER TABLE b_noisy ADD COLUMN x1 float8, ADD COLUMN x2 float8, ADD COLUMN x3 float8,
                    ADD COLUMN xa float8[], ADD COLUMN y float8, ADD COLUMN w float8,
                    ADD COLUMN w3 float8;
UPDATE b_noisy SET x1 = sin(id), x2 = 10 * cos(1.7 * id), x3 = (id % 17) / 4.0,
                   w = CASE WHEN id % 11 = 0 THEN 0 ELSE (1 + id % 4) / 2.0 END,
                   w3 = 0.1 + (id % 7) / 3.0;
UPDATE b_noisy SET y = 1.5 + 2 * x1 - 0.3 * x2 + x3 + 0.1 * sin(3.3 * id);
UPDATE b_noisy SET y = NULL WHERE id % 97 = 0;
UPDATE b_noisy SET x2 = NULL WHERE id % 89 = 0;
UPDATE b_noisy SET xa = ARRAY[x1, x2, x3];
VACUUM FULL b_noisy;

CREATE TEMP TABLE b_noisy_plain AS
SELECT g, count(*) FILTER (WHERE y IS NOT NULL AND x2 IS NOT NULL) AS n_ok,
       count(*) FILTER (WHERE y IS NULL OR x2 IS NULL) AS n_null,
       sum(w) FILTER (WHERE y IS NOT NULL AND x2 IS NOT NULL) AS sum_w,
       linreg_fit(y, xa) AS f, linreg_fit(y, xa, w) AS fw, linreg_fit_noint(y, xa) AS fn,
       linreg_fit_noint(y, xa, w) AS fnw, linreg_fit_cols(y, x1, x2, x3) AS fc,
       linreg_fit(y, ARRAY[x1, x2, x3]) AS fa, linreg_fit(y, xa ORDER BY id DESC) AS fo,
       linreg_fit(y, xa, w3) AS fw3, linreg_state(y, xa) AS s, linreg_state(y, xa, w) AS sw,
       sum(w3) FILTER (WHERE y IS NOT NULL AND x2 IS NOT NULL) AS sum_w3
FROM b_noisy GROUP BY g;
CREATE TEMP TABLE b_noisy_window AS
SELECT DISTINCT ON (g) g, linreg_fit(y, xa) OVER wp AS f, linreg_fit(y, xa, w) OVER wp AS fw,
       linreg_fit_noint(y, xa) OVER wp AS fn, linreg_fit_noint(y, xa, w) OVER wp AS fnw,
       linreg_fit_cols(y, x1, x2, x3) OVER wp AS fc, linreg_fit(y, xa, w3) OVER wp AS fw3
FROM b_noisy WINDOW wp AS (PARTITION BY g)
ORDER BY g;
-- per group: the counts, and agreement of every form with the window
SELECT g, linreg_rows(p.f) AS rows, linreg_skipped(p.f) AS skipped,
       linreg_rows(p.f) = n_ok AND linreg_skipped(p.f) = n_null
       AND linreg_rows(p.fw) = n_ok - (SELECT count(*) FROM b_noisy b
                                       WHERE b.g = p.g AND b.w = 0 AND y IS NOT NULL AND x2 IS NOT NULL)
       AND linreg_weight_sum(p.sw) = p.sum_w
       AND abs(linreg_weight_sum(linreg_state(p.fw3)) - p.sum_w3) <= 1e-12 * p.sum_w3 AS counts_ok,
       pg_temp.same(p.f, w.f, 1e-12) AND pg_temp.same(p.fw, w.fw, 1e-12) AND pg_temp.same(p.fn, w.fn, 1e-12)
       AND pg_temp.same(p.fnw, w.fnw, 1e-12) AND pg_temp.same(p.fc, w.fc, 1e-12)
       AND pg_temp.same(p.fa, w.f, 1e-12) AND pg_temp.same(p.fo, w.f, 1e-12)
       AND pg_temp.same(p.fw3, w.fw3, 1e-12) AS same_as_window,
       pg_temp.close(ARRAY[(linreg_stats(p.fw)).rss, (linreg_stats(p.fw)).log_lik, (linreg_stats(p.fw)).r_squared],
                     ARRAY[(linreg_stats(w.fw)).rss, (linreg_stats(w.fw)).log_lik, (linreg_stats(w.fw)).r_squared],
                     1e-9) AS same_stats
FROM b_noisy_plain AS p JOIN b_noisy_window AS w USING (g)
ORDER BY g;
-- the state's text form reads back to the same state, which solves to the
-- same model; the model of a state is the fit (the two aggregates of one
-- query share one transition state)
SELECT count(*) AS groups,
       count(*) FILTER (WHERE s::text::linreg_state::text = s::text
                        AND sw::text::linreg_state::text = sw::text) AS text_round_trip,
       count(*) FILTER (WHERE linreg_coefficients(linreg_solve(s::text::linreg_state)) = linreg_coefficients(f)
                        AND linreg_coefficients(linreg_solve(sw::text::linreg_state)) = linreg_coefficients(fw)
                        AND linreg_rows(s) = n_ok AND linreg_skipped(s) = n_null) AS solves_to_fit
FROM b_noisy_plain;
SELECT count(*) FILTER (WHERE linreg_coefficients(f) = linreg_coefficients(linreg_solve(s))
                        AND linreg_rows(f) = linreg_rows(s)) AS shared_state_same, count(*) AS groups
FROM (SELECT g, linreg_fit(y, xa) AS f, linreg_state(y, xa) AS s FROM b_noisy GROUP BY g) AS q;
-- linreg_merge of the per-group states is the fit over all rows
SELECT pg_temp.same(linreg_solve(m), a, 1e-12) AS merge_is_fit, linreg_rows(m) AS rows,
       linreg_skipped(m) AS skipped,
       pg_temp.same(linreg_solve(mw), aw, 1e-12) AS weighted_merge_is_fit
FROM (SELECT linreg_merge(s) AS m, linreg_merge(sw) AS mw FROM b_noisy_plain) AS q,
     (SELECT linreg_fit(y, xa) AS a, linreg_fit(y, xa, w) AS aw FROM b_noisy) AS r;
SELECT count(*) FILTER (WHERE y IS NOT NULL AND x2 IS NOT NULL) AS expected_rows,
       count(*) FILTER (WHERE y IS NULL OR x2 IS NULL) AS expected_skipped FROM b_noisy;
-- FILTER, ROLLUP (one transition state per grouping set) and LATERAL
-- (the aggregate rescanned for every outer row)
SELECT count(*) FILTER (WHERE pg_temp.same(p.f, w.f, 1e-12) AND pg_temp.same(p.fa, w.f, 1e-12)) AS filter_same,
       count(*) AS groups
FROM (SELECT g, linreg_fit(y, xa) FILTER (WHERE id % 3 <> 0) AS f,
             linreg_fit(y, ARRAY[x1, x2, x3]) FILTER (WHERE id % 3 <> 0) AS fa FROM b_noisy GROUP BY g) AS p
JOIN (SELECT DISTINCT ON (g) g, linreg_fit(y, xa) OVER (PARTITION BY g) AS f
      FROM b_noisy WHERE id % 3 <> 0 ORDER BY g) AS w USING (g);
SELECT count(*) FILTER (WHERE r.g IS NOT NULL AND pg_temp.same(r.f, p.f, 1e-12)) AS per_group_same,
       bool_or(r.g IS NULL AND pg_temp.same(r.f, (SELECT linreg_fit(y, xa) FROM b_noisy), 1e-12)) AS total_same
FROM (SELECT g, linreg_fit(y, xa) AS f FROM b_noisy GROUP BY ROLLUP (g)) AS r
LEFT JOIN b_noisy_plain AS p USING (g);
SELECT count(*) FILTER (WHERE pg_temp.same(l.f, p.f, 1e-12) AND pg_temp.same(l.fc, p.fc, 1e-12)) AS lateral_same
FROM b_noisy_plain AS p,
     LATERAL (SELECT linreg_fit(y, xa) AS f, linreg_fit_cols(y, x1, x2, x3) AS fc
              FROM b_noisy AS b WHERE b.g = p.g) AS l;

--
-- 4. Errors after the batch has started: the bad value at row 100 of the
-- scan (b_err is in id order) must raise the error the flat path raises for
-- the same row as the first row (the feature count: as the second row).
--
CREATE TEMP TABLE b_err AS
SELECT id, ((7 * id) % 11 - 5)::float8 AS x1, ((id * id) % 13)::float8 AS x2,
       ((5 * id) % 9 - 4)::float8 AS x3, (1 + id % 3)::float8 AS w
FROM generate_series(1, 200) AS id ORDER BY id;
ALTER TABLE b_err ADD COLUMN xa float8[], ADD COLUMN y float8;
UPDATE b_err SET xa = ARRAY[x1, x2, x3], y = 3 + 2 * x1 - x2 + 0.5 * x3;
VACUUM FULL b_err;
SELECT linreg_coefficients(linreg_fit(y, xa)) AS coef_without_bad_row FROM b_err;
CREATE TEMP TABLE b_err_cases (k int, kind text, first int, q text);
INSERT INTO b_err_cases VALUES
(1, 'array: y Infinity', 1,
 $$SELECT linreg_fit(CASE WHEN id = %s THEN 'Infinity' ELSE y END, xa) FROM b_err$$),
(2, 'array: x[2] NaN', 1,
 $$SELECT linreg_fit(y, CASE WHEN id = %s THEN ARRAY[x1, 'NaN', x3] ELSE xa END) FROM b_err$$),
(3, 'ARRAY[]: x[3] -Infinity', 1,
 $$SELECT linreg_fit(y, ARRAY[x1, x2, CASE WHEN id = %s THEN '-Infinity' ELSE x3 END]) FROM b_err$$),
(4, 'cols: x[1] 1e200', 1,
 $$SELECT linreg_fit_cols(y, CASE WHEN id = %s THEN 1e200 ELSE x1 END, x2, x3) FROM b_err$$),
(5, 'cols mixed: x[2] NaN', 1,
 $$SELECT linreg_fit_cols(y, x1::int, CASE WHEN id = %s THEN 'NaN'::numeric ELSE x2::numeric END, x3) FROM b_err$$),
(6, 'noint: y -1e151', 1,
 $$SELECT linreg_fit_noint(CASE WHEN id = %s THEN -1e151 ELSE y END, xa) FROM b_err$$),
(7, 'state: x[2] Infinity', 1,
 $$SELECT linreg_state(y, CASE WHEN id = %s THEN ARRAY[x1, 'Infinity', x3] ELSE xa END) FROM b_err$$),
(8, 'weight -1', 1,
 $$SELECT linreg_fit(y, xa, CASE WHEN id = %s THEN -1 ELSE w END) FROM b_err$$),
(9, 'weight NaN', 1,
 $$SELECT linreg_fit(y, xa, CASE WHEN id = %s THEN 'NaN' ELSE w END) FROM b_err$$),
(10, 'noint weight Infinity', 1,
 $$SELECT linreg_fit_noint(y, xa, CASE WHEN id = %s THEN 'Infinity' ELSE w END) FROM b_err$$),
(11, '4 features after 3', 2,
 $$SELECT linreg_fit(y, CASE WHEN id = %s THEN xa || 7.0::float8 ELSE xa END) FROM b_err$$),
(12, 'weighted: 2 features after 3', 2,
 $$SELECT linreg_fit(y, CASE WHEN id = %s THEN xa[1:2] ELSE xa END, w) FROM b_err$$),
(13, 'state: 0 features after 3', 2,
 $$SELECT linreg_state(y, CASE WHEN id = %s THEN '{}' ELSE xa END) FROM b_err$$),
(14, 'weight 0, x[1] NaN', 1,
 $$SELECT linreg_fit(y, CASE WHEN id = %s THEN ARRAY['NaN', x2, x3] ELSE xa END,
                     CASE WHEN id = %s THEN 0 ELSE w END) FROM b_err$$);
SELECT kind, pg_temp.err(format(q, 100, 100)) AS at_row_100,
       pg_temp.err(format(q, 100, 100)) = pg_temp.err(format(q, first, first)) AS same_as_flat
FROM b_err_cases ORDER BY k;
-- the same bad value after the 1000th row of a group, by GROUP BY
SELECT pg_temp.err($$SELECT g, linreg_fit(y, CASE WHEN i = 1000 THEN ARRAY[x1, x2, 'NaN'] ELSE xa END)
                     FROM b_ex GROUP BY g$$) AS in_group;

--
-- 5. Hash aggregation: 2000 groups of 1 .. 90 rows (about 91000 rows),
-- sorted GroupAggregate against HashAggregate that spills (work_mem 64kB;
-- each group's batched state has a memory context of its own), and against
-- the window form (flat).  Then grouping sets mixing hashing and sorting,
-- and a parallel plan.
--
-- (a plain table, not a temporary one: a parallel plan can scan it)
CREATE TABLE b_big AS
SELECT row_number() OVER (ORDER BY g, i) AS id, g, i
FROM generate_series(1, 2000) AS g, generate_series(1, 1 + (g * 37) % 90) AS i;
ALTER TABLE b_big ADD COLUMN x1 float8, ADD COLUMN x2 float8, ADD COLUMN x3 float8,
                  ADD COLUMN xa float8[], ADD COLUMN y float8, ADD COLUMN w float8;
UPDATE b_big SET x1 = sin(id), x2 = 10 * cos(1.7 * id), x3 = (id % 17) / 4.0,
                 w = CASE WHEN id % 11 = 0 THEN 0 ELSE (1 + id % 4) / 2.0 END,
                 y = CASE WHEN id % 97 <> 0 THEN 1.5 + 2 * sin(id) - 3 * cos(1.7 * id) + (id % 17) / 4.0
                                                 + 0.1 * sin(3.3 * id) END;
UPDATE b_big SET xa = ARRAY[x1, x2, x3];
VACUUM FULL b_big;
ALTER TABLE b_big ALTER COLUMN g SET STATISTICS 1000;   -- ANALYZE reads every row: stable plans
ANALYZE b_big;
SELECT count(*) AS rows, count(DISTINCT g) AS groups FROM b_big;
SET max_parallel_workers_per_gather = 0;   -- serial plans first
CREATE FUNCTION pg_temp.hash_batches(q text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    j json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, FORMAT JSON) ' || q INTO j;
    RETURN (j -> 0 -> 'Plan' ->> 'HashAgg Batches')::int;
END
$$;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT g, count(*) AS n, linreg_fit(y, xa) AS f, linreg_fit(y, xa, w) AS fw,
       linreg_fit_cols(y, x1, x2, x3) AS fc, linreg_state(y, xa) AS s
FROM b_big GROUP BY g;
CREATE TEMP TABLE r_sort AS
SELECT g, count(*) AS n, linreg_fit(y, xa) AS f, linreg_fit(y, xa, w) AS fw,
       linreg_fit_cols(y, x1, x2, x3) AS fc, linreg_state(y, xa) AS s
FROM b_big GROUP BY g;
RESET enable_hashagg;
CREATE TEMP TABLE r_window AS
SELECT DISTINCT ON (g) g, linreg_fit(y, xa) OVER wp AS f, linreg_fit(y, xa, w) OVER wp AS fw
FROM b_big WINDOW wp AS (PARTITION BY g) ORDER BY g;
SET enable_sort = off;
SET work_mem = '64kB';
EXPLAIN (COSTS OFF)
SELECT g, count(*) AS n, linreg_fit(y, xa) AS f, linreg_fit(y, xa, w) AS fw,
       linreg_fit_cols(y, x1, x2, x3) AS fc, linreg_state(y, xa) AS s
FROM b_big GROUP BY g;
SELECT pg_temp.hash_batches($$SELECT g, count(*) AS n, linreg_fit(y, xa) AS f, linreg_fit(y, xa, w) AS fw,
       linreg_fit_cols(y, x1, x2, x3) AS fc, linreg_state(y, xa) AS s
FROM b_big GROUP BY g$$) > 1 AS spilled;
CREATE TEMP TABLE r_hash AS
SELECT g, count(*) AS n, linreg_fit(y, xa) AS f, linreg_fit(y, xa, w) AS fw,
       linreg_fit_cols(y, x1, x2, x3) AS fc, linreg_state(y, xa) AS s
FROM b_big GROUP BY g;
RESET work_mem;
RESET enable_sort;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE NOT (h.n = s.n AND pg_temp.same(h.f, s.f, 1e-12) AND pg_temp.same(h.fw, s.fw, 1e-12)
                                   AND pg_temp.same(h.fc, s.fc, 1e-12)
                                   AND linreg_rows(h.s) = linreg_rows(s.s)
                                   AND linreg_skipped(h.s) = linreg_skipped(s.s)
                                   AND linreg_weight_sum(h.s) = linreg_weight_sum(s.s))) AS hash_vs_sort_mismatches,
       count(*) FILTER (WHERE NOT (pg_temp.same(h.f, w.f, 1e-12) AND pg_temp.same(h.fw, w.fw, 1e-12)
                                   AND pg_temp.same(h.fc, w.f, 1e-12))) AS hash_vs_window_mismatches,
       count(*) FILTER (WHERE linreg_rows(h.s) >= 32) AS batched_groups,
       sum(linreg_skipped(h.s)) AS skipped
FROM r_hash AS h JOIN r_sort AS s USING (g) JOIN r_window AS w USING (g);
SELECT count(*) FILTER (WHERE y IS NULL) AS expected_skipped FROM b_big;
SELECT count(*) AS expected_batched_groups
FROM (SELECT g FROM b_big WHERE y IS NOT NULL GROUP BY g HAVING count(*) >= 32) AS q;
-- memory: a hash aggregate holds every group's state at once, so its batched
-- states together stay within a quarter of work_mem (the others stay flat):
-- at work_mem = 1MB and 3 features, each batched state counts its batch
-- (6432 bytes), its state (304) and two 1 kB context blocks: 8784 bytes, so
-- at most 29 of the 1000-odd groups with 32 rows or more are batched.
SET enable_sort = off;
SET work_mem = '1MB';
SELECT max(n) BETWEEN 1 AND 29 AS within_quarter_of_work_mem
FROM (SELECT g, pg_temp.live_batches(linreg_fit(y, xa)) AS n FROM b_big GROUP BY g) AS q;
RESET work_mem;
RESET enable_sort;
-- grouping sets: the per-group sets hashed, the total sorted (MixedAggregate)
SET enable_sort = off;
SET work_mem = '64kB';
EXPLAIN (COSTS OFF)
SELECT g, i % 2 AS h, GROUPING(g, i % 2) AS gr, linreg_fit(y, xa) AS f
FROM b_big GROUP BY GROUPING SETS ((g), (i % 2), ());
CREATE TEMP TABLE r_sets AS
SELECT g, i % 2 AS h, GROUPING(g, i % 2) AS gr, linreg_fit(y, xa) AS f
FROM b_big GROUP BY GROUPING SETS ((g), (i % 2), ());
RESET work_mem;
RESET enable_sort;
SELECT count(*) FILTER (WHERE gr = 1) AS g_sets,
       count(*) FILTER (WHERE gr = 1 AND pg_temp.same(r.f, s.f, 1e-12)) AS g_sets_same,
       bool_and(gr <> 2 OR pg_temp.same(r.f, (SELECT linreg_fit(y, xa) FROM b_big b WHERE b.i % 2 = r.h), 1e-12))
           AS h_sets_same,
       bool_and(gr <> 3 OR pg_temp.same(r.f, (SELECT linreg_fit(y, xa) FROM b_big), 1e-12)) AS total_same
FROM r_sets AS r LEFT JOIN r_sort AS s ON gr = 1 AND s.g = r.g;
-- parallel workers: partial states (batched) sent to the leader and merged,
-- also from partial hash aggregates that spill
CREATE TEMP TABLE r_serial AS SELECT linreg_fit(y, xa) AS f, linreg_fit(y, xa, w) AS fw FROM b_big;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT linreg_fit(y, xa) AS f, linreg_fit(y, xa, w) AS fw FROM b_big;
CREATE TEMP TABLE r_par AS SELECT linreg_fit(y, xa) AS f, linreg_fit(y, xa, w) AS fw FROM b_big;
EXPLAIN (COSTS OFF) SELECT g, linreg_fit(y, xa) AS f FROM b_big GROUP BY g;
CREATE TEMP TABLE r_par_g AS SELECT g, linreg_fit(y, xa) AS f FROM b_big GROUP BY g;
SET enable_sort = off;
SET work_mem = '64kB';
CREATE TEMP TABLE r_par_h AS SELECT g, linreg_fit(y, xa) AS f FROM b_big GROUP BY g;
RESET work_mem;
RESET enable_sort;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT pg_temp.same(p.f, s.f, 1e-12) AS parallel_same, pg_temp.same(p.fw, s.fw, 1e-12) AS parallel_weighted_same,
       linreg_rows(p.f) AS rows, linreg_skipped(p.f) AS skipped
FROM r_par AS p, r_serial AS s;
SELECT count(*) FILTER (WHERE pg_temp.same(p.f, s.f, 1e-12)) AS parallel_groups_same,
       count(*) FILTER (WHERE pg_temp.same(h.f, s.f, 1e-12)) AS parallel_hash_groups_same, count(*) AS groups
FROM r_par_g AS p JOIN r_sort AS s USING (g) JOIN r_par_h AS h USING (g);
DROP TABLE b_big;

--
-- 6. Wide fits: 100 rows, p = 0 .. 17 features (17 is beyond the batch's
-- limit of 16: the flat path), exact data y = 3 + sum beta_j x_j with
-- beta = -1.5 .. 1.5 in steps of 0.5 and integer x in [-8, 8].
--
CREATE TEMP TABLE b_wide AS
SELECT i, array_agg(((((i::bigint * 1103515245 + j * 12345 + i * j * 7919) % 65521) % 17) - 8)::float8 ORDER BY j) AS xa
FROM generate_series(1, 100) AS i, generate_series(1, 17) AS j
GROUP BY i ORDER BY i;
CREATE TEMP TABLE b_beta AS
SELECT array_agg(((j * 3) % 7 - 3) * 0.5::float8 ORDER BY j) AS beta FROM generate_series(1, 17) AS j;
SELECT beta FROM b_beta;
SELECT p, linreg_rows(f) AS rows, linreg_rank(f) AS rank,
       pg_temp.close(linreg_coefficients(f), ARRAY[3::float8] || beta[1:p], 1e-12) AS exact,
       pg_temp.close(linreg_coefficients(fw), ARRAY[3::float8] || beta[1:p], 1e-12) AS exact_weighted,
       CASE WHEN p > 0 THEN pg_temp.close(linreg_coefficients(fn), beta[1:p], 1e-12) END AS exact_noint
FROM (SELECT p, linreg_fit(3 + yp, xa[1:p]) AS f, linreg_fit(3 + yp, xa[1:p], 1 + i % 4) AS fw,
             linreg_fit_noint(yp, xa[1:p]) AS fn
      FROM b_wide, b_beta, generate_series(0, 17) AS p,
           LATERAL (SELECT coalesce(sum(b * x), 0) AS yp FROM unnest(beta[1:p], xa[1:p]) AS u(b, x)) AS l
      GROUP BY p) AS q, b_beta
ORDER BY p;
-- 16 and 17 features as columns and as ARRAY[...] (rewritten to columns)
SELECT pg_temp.close(linreg_coefficients(c16), ARRAY[3::float8] || beta[1:16], 1e-12) AS cols16,
       pg_temp.close(linreg_coefficients(a16), ARRAY[3::float8] || beta[1:16], 1e-12) AS array16,
       pg_temp.close(linreg_coefficients(c17), ARRAY[3::float8] || beta, 1e-12) AS cols17,
       pg_temp.close(linreg_coefficients(a17), ARRAY[3::float8] || beta, 1e-12) AS array17,
       linreg_rows(c16) AS rows16, linreg_rows(c17) AS rows17
FROM (SELECT linreg_fit_cols(y16, xa[1], xa[2], xa[3], xa[4], xa[5], xa[6], xa[7], xa[8], xa[9], xa[10],
                             xa[11], xa[12], xa[13], xa[14], xa[15], xa[16]) AS c16,
             linreg_fit(y16, ARRAY[xa[1], xa[2], xa[3], xa[4], xa[5], xa[6], xa[7], xa[8], xa[9], xa[10],
                                   xa[11], xa[12], xa[13], xa[14], xa[15], xa[16]]) AS a16,
             linreg_fit_cols(y17, xa[1], xa[2], xa[3], xa[4], xa[5], xa[6], xa[7], xa[8], xa[9], xa[10],
                             xa[11], xa[12], xa[13], xa[14], xa[15], xa[16], xa[17]) AS c17,
             linreg_fit(y17, ARRAY[xa[1], xa[2], xa[3], xa[4], xa[5], xa[6], xa[7], xa[8], xa[9], xa[10],
                                   xa[11], xa[12], xa[13], xa[14], xa[15], xa[16], xa[17]]) AS a17
      FROM b_wide, b_beta,
           LATERAL (SELECT 3 + sum(b * x) FILTER (WHERE o <= 16) AS y16, 3 + sum(b * x) AS y17
                    FROM unnest(beta, xa) WITH ORDINALITY AS u(b, x, o)) AS l) AS q, b_beta;
-- the batch takes 16 features, not 17
SELECT pg_temp.live_batches(linreg_fit(3::float8, xa[1:16])) AS batched16 FROM b_wide;
SELECT pg_temp.live_batches(linreg_fit(3::float8, xa)) AS batched17 FROM b_wide;
