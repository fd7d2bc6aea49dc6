--
-- aggregates: linreg_fit / linreg_state and their variants (weights, no
-- intercept, features as columns, integer and numeric inputs), GROUP BY,
-- merging, adding and subtracting states, accessors, NULL handling, and a
-- wide (1000-feature) fit.
--
-- References are independent of the code under test: data built from exact
-- coefficients (the least-squares solution is then exact), PostgreSQL's own
-- regr_slope/regr_intercept, fits of the same rows another way, and exact
-- rational solutions from test/data/functional/exact_refs.py (its output is
-- test/data/functional/exact_refs.out).
--
-- (the extension may exist already when this runs after the other tests)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;
\set VERBOSITY terse

-- close(a, b, tol): same length, NULLs in the same places, and every pair
-- within tol relative to the larger magnitude (absolute below 1).
CREATE FUNCTION pg_temp.close(a float8[], b float8[], tol float8) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT a IS NOT NULL AND b IS NOT NULL AND cardinality(a) = cardinality(b)
       AND coalesce(bool_and(CASE WHEN x IS NULL OR y IS NULL THEN x IS NULL AND y IS NULL
                                  ELSE abs(x - y) <= tol * greatest(abs(x), abs(y), 1) END), true)
    FROM unnest(a, b) AS u(x, y)
$$;
CREATE FUNCTION pg_temp.rnd(a float8[], digits int) RETURNS numeric[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(round(x::numeric, digits) ORDER BY o) FROM unnest(a) WITH ORDINALITY AS u(x, o)
$$;

-- Exact data: y = 3 + 2 x1 - 0.5 x2 + 0.25 x3 with integer / half-integer x
-- (full rank, also within each group g: checked by exact_refs.py).  yg has
-- different exact coefficients per group g: g + (2 - g) x1 + 0.5 g x2.
CREATE TEMP TABLE ag_exact AS
SELECT id, id % 4 AS g,
       ((7 * id) % 11 - 5)::float8 AS x1,
       ((id * id) % 13)::float8 AS x2,
       ((5 * id) % 9) / 2.0::float8 AS x3
FROM generate_series(1, 40) AS id;
ALTER TABLE ag_exact ADD COLUMN y float8, ADD COLUMN yg float8;
UPDATE ag_exact SET y = 3 + 2 * x1 - 0.5 * x2 + 0.25 * x3,
                    yg = g + (2 - g) * x1 + 0.5 * g * x2;

-- Noisy data (the fit is not exact), 400 rows, 5 groups, weights 1, 2, 3.
CREATE TEMP TABLE ag_noisy AS
SELECT id, id % 5 AS g, (1 + id % 3)::float8 AS w,
       id / 40.0::float8 AS x1,
       ((id * 37) % 101) / 10.0::float8 AS x2
FROM generate_series(1, 400) AS id;
ALTER TABLE ag_noisy ADD COLUMN y float8;
UPDATE ag_noisy SET y = 1.5 + 0.7 * x1 - 1.3 * x2 + ((id * 53) % 17 - 8) / 8.0;

--
-- One feature: PostgreSQL's regr_intercept / regr_slope are references.
--
SELECT linreg_rank(m) AS rank, linreg_rows(m) AS rows, linreg_features(m) AS features,
       abs(linreg_intercept(m) - ri) <= 1e-12 * abs(ri) AS intercept_ok,
       abs((linreg_coefficients(m))[2] - rs) <= 1e-12 * abs(rs) AS slope_ok
FROM (SELECT linreg_fit(y, ARRAY[x1]) AS m, regr_intercept(y, x1) AS ri, regr_slope(y, x1) AS rs
      FROM ag_noisy) AS q;
SELECT abs(linreg_intercept(m) - ri) <= 1e-12 * abs(ri) AS intercept_ok,
       abs((linreg_coefficients(m))[2] - rs) <= 1e-12 * abs(rs) AS slope_ok
FROM (SELECT linreg_fit(y, ARRAY[x2]) AS m, regr_intercept(y, x2) AS ri, regr_slope(y, x2) AS rs
      FROM ag_noisy) AS q;
-- per group too
SELECT g, abs(linreg_intercept(m) - ri) <= 1e-12 * abs(ri) AS intercept_ok,
          abs((linreg_coefficients(m))[2] - rs) <= 1e-12 * abs(rs) AS slope_ok
FROM (SELECT g, linreg_fit(y, ARRAY[x2]) AS m, regr_intercept(y, x2) AS ri, regr_slope(y, x2) AS rs
      FROM ag_noisy GROUP BY g) AS q ORDER BY g;
-- an exact line
SELECT linreg_coefficients(linreg_fit(2.5 - 3 * x1, ARRAY[x1])) FROM ag_exact;

--
-- Three features, exact data: the coefficients are 3, 2, -0.5, 0.25.
--
SELECT linreg_rank(m) AS rank, linreg_rows(m) AS rows, linreg_skipped(m) AS skipped,
       linreg_features(m) AS features,
       pg_temp.close(linreg_coefficients(m), ARRAY[3, 2, -0.5, 0.25], 1e-12) AS exact,
       pg_temp.rnd(linreg_coefficients(m), 9) AS coef
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x3]) AS m FROM ag_exact) AS q;
-- linreg_solve of linreg_state is the same model as linreg_fit
SELECT (SELECT linreg_solve(linreg_state(y, ARRAY[x1, x2, x3] ORDER BY id)) FROM ag_exact)::text
     = (SELECT linreg_fit(y, ARRAY[x1, x2, x3] ORDER BY id) FROM ag_exact)::text AS solve_is_fit;
-- the state's accessors
SELECT linreg_rows(s) AS rows, linreg_skipped(s) AS skipped, linreg_features(s) AS features,
       linreg_weight_sum(s) AS weight_sum
FROM (SELECT linreg_state(y, ARRAY[x1, x2, x3]) AS s FROM ag_exact) AS q;
-- the state a model was solved from is the state of the same rows
SELECT linreg_state(m)::text = s::text AS model_state_is_state
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x3] ORDER BY id) AS m,
             linreg_state(y, ARRAY[x1, x2, x3] ORDER BY id) AS s FROM ag_exact) AS q;

--
-- Weights.  R's lm(weights = w): minimise sum w (y - X b)^2.
--
-- Exact weighted solutions of data set "w" (exact_refs.out):
CREATE TEMP TABLE ag_w (id int, y float8, x1 float8, x2 float8, w float8);
INSERT INTO ag_w VALUES
(1, 12.5, 1.0, 3.0, 1.0),
(2, 19.0, 2.0, 5.0, 2.0),
(3, 27.0, 3.0, 6.0, 0.5),
(4, 27.0, 4.0, 6.0, 3.0),
(5, 24.5, 5.0, 5.0, 1.0),
(6, 23.0, 6.0, 3.0, 0.25),
(7, 15.25, 7.0, 0.0, 2.0),
(8, 25.25, 8.0, 3.0, 1.0),
(9, 35.5, 9.0, 5.0, 1.5),
(10, 37.0, 10.0, 6.0, 0.5),
(11, 41.5, 11.0, 6.0, 4.0),
(12, 39.5, 12.0, 5.0, 1.0);
SELECT pg_temp.close(linreg_coefficients(linreg_fit(y, ARRAY[x1, x2], w)),
                     ARRAY[0.74509139065675001, 2.054985778479042, 2.9829040210412048], 1e-12) AS weighted_ok,
       pg_temp.close(linreg_coefficients(linreg_fit(y, ARRAY[x1, x2])),
                     ARRAY[1.5697680932108447, 1.9451802119010275, 2.9516740821356549], 1e-12) AS unweighted_ok,
       pg_temp.close(linreg_coefficients(linreg_fit_noint(y, ARRAY[x1, x2], w)),
                     ARRAY[2.0908152416828685, 3.0738485138880969], 1e-12) AS noint_weighted_ok,
       pg_temp.close(linreg_coefficients(linreg_fit_noint(y, ARRAY[x1, x2])),
                     ARRAY[2.019159504084127, 3.1623125278904172], 1e-12) AS noint_ok
FROM ag_w;
-- weights scaled by a constant (a power of two: exact) give the same fit
SELECT pg_temp.close(linreg_coefficients(linreg_fit(y, ARRAY[x1, x2], 8 * w)),
                     linreg_coefficients(linreg_fit(y, ARRAY[x1, x2], w)), 1e-13) AS scale_invariant
FROM ag_w;
-- weight 2 (or 3) is the row duplicated (or triplicated)
SELECT pg_temp.close(linreg_coefficients(a.m), linreg_coefficients(b.m), 1e-12) AS weight_is_duplicate,
       linreg_rows(a.m) AS weighted_rows, linreg_rows(b.m) AS duplicated_rows,
       linreg_weight_sum(linreg_state(a.m)) AS weight_sum
FROM (SELECT linreg_fit(y, ARRAY[x1, x2], w) AS m FROM ag_noisy) AS a,
     (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m
      FROM ag_noisy, generate_series(1, w::int) AS k) AS b;
SELECT sum(w) AS expected_weight_sum FROM ag_noisy;
-- weight 0 is the row absent: the state is bit-identical to the state
-- without those rows, and they are not counted.  The first row (k = 1) has
-- weight 0, so it must not become the state's shift either.
CREATE TEMP TABLE ag_w0 AS
SELECT 2 * id AS k, y, x1, x2, w FROM ag_noisy
UNION ALL
SELECT 2 * id + 1, 1e6 + id, -1e3 * id, 7.0, 0.0 FROM generate_series(0, 60) AS id;
SELECT (SELECT linreg_state(y, ARRAY[x1, x2], w ORDER BY k) FROM ag_w0)::text
     = (SELECT linreg_state(y, ARRAY[x1, x2], w ORDER BY k) FROM ag_w0 WHERE w > 0)::text AS zero_weight_absent,
       (SELECT linreg_rows(linreg_state(y, ARRAY[x1, x2], w)) FROM ag_w0) AS rows;
-- all weights 0: no row, no model
SELECT linreg_rows(linreg_state(y, ARRAY[x1, x2], 0.0)) AS rows,
       linreg_fit(y, ARRAY[x1, x2], 0.0) IS NULL AS no_model
FROM ag_noisy;
-- weight 1 everywhere is the unweighted fit, bit for bit
SELECT (SELECT linreg_fit(y, ARRAY[x1, x2], 1.0 ORDER BY id) FROM ag_noisy)::text
     = (SELECT linreg_fit(y, ARRAY[x1, x2] ORDER BY id) FROM ag_noisy)::text AS unit_weight;

--
-- Without intercept: exact data through the origin, and the noisy
-- reference above.  No intercept term: linreg_intercept is NULL.
--
SELECT pg_temp.close(linreg_coefficients(m), ARRAY[2, -0.5, 0.25], 1e-12) AS exact,
       linreg_intercept(m) IS NULL AS no_intercept, linreg_rank(m) AS rank,
       linreg_features(m) AS features
FROM (SELECT linreg_fit_noint(2 * x1 - 0.5 * x2 + 0.25 * x3, ARRAY[x1, x2, x3]) AS m FROM ag_exact) AS q;
SELECT linreg_rows(s) AS rows, s::text::jsonb -> 'intercept' AS intercept
FROM (SELECT linreg_state_noint(y, ARRAY[x1, x2]) AS s FROM ag_w) AS q;
SELECT linreg_solve(linreg_state_noint(y, ARRAY[x1, x2] ORDER BY id))::text
     = linreg_fit_noint(y, ARRAY[x1, x2] ORDER BY id)::text AS solve_is_fit
FROM ag_w;
-- with the origin as the only regressor: slope = sum(xy) / sum(x^2)
SELECT abs((linreg_coefficients(linreg_fit_noint(y, ARRAY[x1])))[1] - sum(x1 * y) / sum(x1 * x1))
       <= 1e-12 * abs(sum(x1 * y) / sum(x1 * x1)) AS origin_slope_ok
FROM ag_noisy;

--
-- Features as separate arguments: the same state and model as the array.
--
SELECT (SELECT linreg_fit_cols(y, x1, x2 ORDER BY id) FROM ag_noisy)::text
     = (SELECT linreg_fit(y, ARRAY[x1, x2] ORDER BY id) FROM ag_noisy)::text AS fit_cols_same,
       (SELECT linreg_state_cols(y, x1, x2, x3 ORDER BY id) FROM ag_exact)::text
     = (SELECT linreg_state(y, ARRAY[x1, x2, x3] ORDER BY id) FROM ag_exact)::text AS state_cols_same;
SELECT pg_temp.close(linreg_coefficients(linreg_fit_cols(y, x1, x2, x3)), ARRAY[3, 2, -0.5, 0.25], 1e-12) AS exact
FROM ag_exact;

--
-- Integer and numeric inputs: converted as the SQL casts convert them.
--
CREATE TEMP TABLE ag_int AS
SELECT id, (3 + 2 * i1 - i2 + 4 * i3)::int AS yi, i1, i2, i3,
       (i1 / 4.0)::numeric AS n1, (i2 / 8.0)::real AS f1,
       (3 + 2 * i1 - i2 + 4 * i3)::numeric AS yn
FROM (SELECT id, ((7 * id) % 11 - 5)::int AS i1, ((id * id) % 13)::smallint AS i2,
             ((5 * id) % 9)::bigint AS i3
      FROM generate_series(1, 40) AS id) AS q;
-- int, smallint and bigint in one ARRAY[] (bigint[], cast to float8[])
SELECT (SELECT linreg_fit(yi, ARRAY[i1, i2, i3] ORDER BY id) FROM ag_int)::text
     = (SELECT linreg_fit(yi::float8, ARRAY[i1::float8, i2::float8, i3::float8] ORDER BY id) FROM ag_int)::text AS int_array_same,
       (SELECT linreg_coefficients(linreg_fit(yi, ARRAY[i1, i2, i3])) FROM ag_int) AS coef;
-- numeric y and numeric[] x
SELECT (SELECT linreg_fit(yn, ARRAY[n1, i2::numeric] ORDER BY id) FROM ag_int)::text
     = (SELECT linreg_fit(yn::float8, ARRAY[n1::float8, i2::float8] ORDER BY id) FROM ag_int)::text AS numeric_array_same;
-- linreg_fit_cols with int, smallint, bigint, numeric and real arguments
SELECT (SELECT linreg_fit_cols(yi, i1, i2, i3, n1, f1 ORDER BY id) FROM ag_int)::text
     = (SELECT linreg_fit(yi::float8, ARRAY[i1::float8, i2::float8, i3::float8, n1::float8, f1::float8] ORDER BY id)
        FROM ag_int)::text AS cols_mixed_same,
       (SELECT linreg_state_cols(yn, n1, i3 ORDER BY id) FROM ag_int)::text
     = (SELECT linreg_state(yn::float8, ARRAY[n1::float8, i3::float8] ORDER BY id) FROM ag_int)::text AS state_cols_numeric_same;
SELECT pg_temp.close(linreg_coefficients(linreg_fit_cols(yi, i1, i2, i3)), ARRAY[3, 2, -1, 4], 1e-12) AS exact
FROM ag_int;

--
-- GROUP BY: one model per group, each the fit of that group alone.
--
-- exact per-group coefficients g, 2 - g, 0.5 g
SELECT g, linreg_rows(m) AS rows,
       pg_temp.close(linreg_coefficients(m), ARRAY[g, 2 - g, 0.5 * g], 1e-12) AS exact,
       pg_temp.rnd(linreg_coefficients(m), 9) AS coef
FROM (SELECT g, linreg_fit(yg, ARRAY[x1, x2]) AS m FROM ag_exact GROUP BY g) AS q ORDER BY g;
-- noisy groups against a fit of the group's rows on their own
SELECT q.g, linreg_rows(q.m) AS rows,
       pg_temp.close(linreg_coefficients(q.m), linreg_coefficients(alone.m), 1e-12) AS same_as_alone
FROM (SELECT g, linreg_fit(y, ARRAY[x1, x2], w) AS m FROM ag_noisy GROUP BY g) AS q,
     LATERAL (SELECT linreg_fit(y, ARRAY[x1, x2], w) AS m FROM ag_noisy AS n WHERE n.g = q.g) AS alone
ORDER BY q.g;
-- group states kept in a table
CREATE TEMP TABLE ag_gstates AS
SELECT g, linreg_state(y, ARRAY[x1, x2]) AS s, linreg_state(y, ARRAY[x1, x2], w) AS sw
FROM ag_noisy GROUP BY g;
SELECT g, linreg_rows(s) AS rows, linreg_weight_sum(sw) AS weight_sum,
       linreg_weight_sum(sw) = (SELECT sum(w) FROM ag_noisy AS n WHERE n.g = ag_gstates.g) AS weight_sum_ok
FROM ag_gstates ORDER BY g;

--
-- Merging states: the merged state solves to the fit of all rows, however
-- the rows were split and in whatever order the states are merged.
--
CREATE TEMP TABLE ag_full AS
SELECT linreg_coefficients(linreg_fit(y, ARRAY[x1, x2])) AS c,
       linreg_coefficients(linreg_fit(y, ARRAY[x1, x2], w)) AS cw FROM ag_noisy;
SELECT pg_temp.close(linreg_coefficients(linreg_solve(linreg_merge(s))), c, 1e-12) AS merge_ok,
       pg_temp.close(linreg_coefficients(linreg_solve(linreg_merge(sw))), cw, 1e-12) AS merge_w_ok,
       linreg_rows(linreg_merge(s)) AS rows,
       linreg_weight_sum(linreg_merge(sw)) AS weight_sum
FROM ag_gstates, ag_full GROUP BY c, cw;
-- merge order does not matter
SELECT pg_temp.close(linreg_coefficients(linreg_solve(linreg_merge(s ORDER BY g))),
                     linreg_coefficients(linreg_solve(linreg_merge(s ORDER BY g DESC))), 1e-12) AS order_free
FROM ag_gstates;
-- merging merged states (two levels: groups {0,1} and {2,3,4}) is the same
SELECT pg_temp.close(linreg_coefficients(linreg_solve(linreg_merge(s2))), c, 1e-12) AS two_level_ok,
       linreg_rows(linreg_merge(s2)) AS rows
FROM (SELECT linreg_merge(s) AS s2 FROM ag_gstates GROUP BY g < 2) AS q, ag_full GROUP BY c;
-- states of a different split of the rows (id % 7) merge to the same fit
SELECT pg_temp.close(linreg_coefficients(linreg_solve(linreg_merge(s))), c, 1e-12) AS other_split_ok
FROM (SELECT linreg_state(y, ARRAY[x1, x2]) AS s FROM ag_noisy GROUP BY id % 7) AS q, ag_full GROUP BY c;
-- one state per row, merged
SELECT pg_temp.close(linreg_coefficients(linreg_solve(linreg_merge(s))), c, 1e-12) AS per_row_ok
FROM (SELECT linreg_state(y, ARRAY[x1, x2]) AS s FROM ag_noisy GROUP BY id) AS q, ag_full GROUP BY c;
-- exact data: merged per-group states give the exact coefficients
SELECT pg_temp.close(linreg_coefficients(linreg_solve(linreg_merge(s))), ARRAY[3, 2, -0.5, 0.25], 1e-12) AS exact
FROM (SELECT linreg_state(y, ARRAY[x1, x2, x3]) AS s FROM ag_exact GROUP BY g) AS q;
-- merging no-intercept states
SELECT pg_temp.close(linreg_coefficients(linreg_solve(linreg_merge(s))),
                     (SELECT linreg_coefficients(linreg_fit_noint(y, ARRAY[x1, x2])) FROM ag_noisy), 1e-12) AS noint_merge_ok
FROM (SELECT linreg_state_noint(y, ARRAY[x1, x2]) AS s FROM ag_noisy GROUP BY g) AS q;

--
-- linreg_add / + and linreg_subtract / -.
--
CREATE TEMP TABLE ag_g3 AS
SELECT (SELECT s FROM ag_gstates WHERE g = 0) AS a,
       (SELECT s FROM ag_gstates WHERE g = 1) AS b,
       (SELECT s FROM ag_gstates WHERE g = 2) AS c,
       (SELECT linreg_state(y, ARRAY[x1, x2]) FROM ag_noisy WHERE g < 3) AS abc,
       (SELECT linreg_state(y, ARRAY[x1, x2]) FROM ag_noisy) AS total;
SELECT linreg_add(a, b)::text = (a + b)::text AS add_is_plus,
       linreg_subtract(abc, c)::text = (abc - c)::text AS subtract_is_minus,
       pg_temp.close(linreg_coefficients(linreg_solve((a + b) + c)),
                     linreg_coefficients(linreg_solve(a + (b + c))), 1e-12) AS associative,
       pg_temp.close(linreg_coefficients(linreg_solve(a + b)),
                     linreg_coefficients(linreg_solve(b + a)), 1e-12) AS commutative,
       pg_temp.close(linreg_coefficients(linreg_solve(a + b + c)),
                     linreg_coefficients(linreg_solve(abc)), 1e-12) AS sum_is_fit,
       linreg_rows(a + b + c) AS rows
FROM ag_g3;
-- the inputs are not modified by + and -
SELECT a::text = (SELECT s FROM ag_gstates WHERE g = 0)::text AS a_unchanged FROM ag_g3 WHERE (a + b) IS NOT NULL;
-- total minus one group's state is the fit of the other groups
SELECT q.g,
       pg_temp.close(linreg_coefficients(linreg_solve(total - q.s)),
                     (SELECT linreg_coefficients(linreg_fit(y, ARRAY[x1, x2])) FROM ag_noisy AS n WHERE n.g <> q.g),
                     1e-12) AS rest_ok,
       linreg_rows(total - q.s) AS rows
FROM ag_g3, ag_gstates AS q ORDER BY q.g;
-- subtracting two groups, then adding one back
SELECT pg_temp.close(linreg_coefficients(linreg_solve(abc - a - b + a)),
                     (SELECT linreg_coefficients(linreg_fit(y, ARRAY[x1, x2])) FROM ag_noisy WHERE g IN (0, 2)),
                     1e-12) AS sub_add_ok
FROM ag_g3;
-- exact data: the exact coefficients survive subtraction
SELECT pg_temp.close(linreg_coefficients(linreg_solve(t - s)), ARRAY[3, 2, -0.5, 0.25], 1e-12) AS exact_rest
FROM (SELECT linreg_state(y, ARRAY[x1, x2, x3]) AS t FROM ag_exact) AS a,
     (SELECT linreg_state(y, ARRAY[x1, x2, x3]) AS s FROM ag_exact WHERE g = 1) AS b;
-- a state minus itself holds no row: no model
SELECT linreg_rows(total - total) AS rows, linreg_solve(total - total) IS NULL AS no_model FROM ag_g3;

--
-- A state stored in a table, merged later with new rows' state and solved
-- again, is the fit over all rows.
--
CREATE TEMP TABLE ag_store (name text PRIMARY KEY, s linreg_state);
INSERT INTO ag_store SELECT 'sales', linreg_state(y, ARRAY[x1, x2], w) FROM ag_noisy WHERE id <= 300;
SELECT pg_temp.close(linreg_coefficients(linreg_solve(st.s + nw.s)), cw, 1e-12) AS stored_plus_new,
       linreg_rows(st.s + nw.s) AS rows
FROM ag_store AS st,
     (SELECT linreg_state(y, ARRAY[x1, x2], w) AS s FROM ag_noisy WHERE id > 300) AS nw, ag_full;
UPDATE ag_store SET s = linreg_merge2.s
FROM (SELECT linreg_merge(s) AS s
      FROM (SELECT s FROM ag_store WHERE name = 'sales'
            UNION ALL
            SELECT linreg_state(y, ARRAY[x1, x2], w) FROM ag_noisy WHERE id > 300) AS u) AS linreg_merge2
WHERE name = 'sales';
SELECT pg_temp.close(linreg_coefficients(linreg_solve(s)), cw, 1e-12) AS stored_merged,
       linreg_rows(s) AS rows
FROM ag_store, ag_full;
-- a model stored in a table keeps learning: its state plus new rows
CREATE TEMP TABLE ag_models AS SELECT linreg_fit(y, ARRAY[x1, x2, x3]) AS m FROM ag_exact WHERE id <= 20;
SELECT pg_temp.close(linreg_coefficients(linreg_solve(linreg_state(m) + n.s)), ARRAY[3, 2, -0.5, 0.25], 1e-12) AS relearned,
       linreg_rows(linreg_state(m) + n.s) AS rows
FROM ag_models, (SELECT linreg_state(y, ARRAY[x1, x2, x3]) AS s FROM ag_exact WHERE id > 20) AS n;

--
-- No rows, and only NULL rows.
--
SELECT linreg_fit(y, ARRAY[x1, x2]) IS NULL AS fit_null,
       linreg_state(y, ARRAY[x1, x2]) IS NULL AS state_null,
       linreg_fit(y, ARRAY[x1, x2], w) IS NULL AS fit_w_null,
       linreg_fit_noint(y, ARRAY[x1, x2]) IS NULL AS noint_null,
       linreg_fit_cols(y, x1, x2) IS NULL AS cols_null,
       linreg_state_cols(y, x1, x2) IS NULL AS state_cols_null
FROM ag_noisy WHERE false;
SELECT linreg_merge(s) IS NULL AS merge_null FROM ag_gstates WHERE false;
-- only NULL rows: no model, but the state counts them
SELECT linreg_fit(NULL::float8, ARRAY[x1, x2]) IS NULL AS fit_null,
       linreg_rows(linreg_state(NULL::float8, ARRAY[x1, x2])) AS rows,
       linreg_skipped(linreg_state(NULL::float8, ARRAY[x1, x2])) AS skipped,
       linreg_features(linreg_state(NULL::float8, ARRAY[x1, x2])) IS NULL AS features_unknown,
       linreg_weight_sum(linreg_state(NULL::float8, ARRAY[x1, x2])) AS weight_sum,
       linreg_solve(linreg_state(NULL::float8, ARRAY[x1, x2])) IS NULL AS solve_null
FROM ag_exact;
-- such a state merges with real ones, adding its skip count
SELECT linreg_rows(s) AS rows, linreg_skipped(s) AS skipped,
       pg_temp.close(linreg_coefficients(linreg_solve(s)), ARRAY[3, 2, -0.5, 0.25], 1e-12) AS exact
FROM (SELECT linreg_merge(s) AS s FROM (
        SELECT linreg_state(NULL::float8, ARRAY[x1, x2, x3]) AS s FROM ag_exact
        UNION ALL
        SELECT linreg_state(y, ARRAY[x1, x2, x3]) FROM ag_exact) AS u) AS q;
SELECT linreg_rows(a + b) AS rows, linreg_skipped(a + b) AS skipped, linreg_features(a + b) AS features,
       linreg_rows(b + a) AS rows2, linreg_skipped(b + a) AS skipped2
FROM (SELECT linreg_state(NULL::float8, ARRAY[x1]) AS a FROM ag_exact WHERE id <= 5) AS p,
     (SELECT linreg_state(y, ARRAY[x1]) AS b FROM ag_exact) AS q;

--
-- NULLs are skipped and counted: NULL y, NULL array, a NULL element, a NULL
-- weight (for the weighted forms), and a NULL argument of linreg_fit_cols.
-- The first row is a NULL row, so the state starts out empty.
--
CREATE TEMP TABLE ag_nulls AS
SELECT id, y, x1, x2, x3, 1.0::float8 AS w FROM ag_exact;
INSERT INTO ag_nulls VALUES
    (0, NULL, 1, 1, 1, 1),       -- NULL y, first row
    (41, NULL, 2, 2, 2, 1),      -- NULL y
    (42, 5, NULL, 3, 3, 1),      -- NULL x1
    (43, 6, 4, NULL, 4, 1),      -- NULL x2
    (44, 7, 5, 5, 5, NULL);      -- NULL weight only
SELECT linreg_rows(s) AS rows, linreg_skipped(s) AS skipped
FROM (SELECT linreg_state(y, ARRAY[x1, x2, x3] ORDER BY id) AS s FROM ag_nulls) AS q;
SELECT linreg_rows(s) AS rows, linreg_skipped(s) AS skipped
FROM (SELECT linreg_state(y, ARRAY[x1, x2, x3], w ORDER BY id) AS s FROM ag_nulls) AS q;
SELECT linreg_rows(s) AS rows, linreg_skipped(s) AS skipped
FROM (SELECT linreg_state_cols(y, x1, x2, x3 ORDER BY id) AS s FROM ag_nulls) AS q;
SELECT linreg_rows(m) AS rows, linreg_skipped(m) AS skipped
FROM (SELECT linreg_fit_noint(y, ARRAY[x1, x2, x3] ORDER BY id) AS m FROM ag_nulls) AS q;
-- a NULL array (not just a NULL element) is skipped too
SELECT linreg_skipped(linreg_state(y, CASE WHEN id % 2 = 0 THEN ARRAY[x1] END)) AS skipped,
       linreg_rows(linreg_state(y, CASE WHEN id % 2 = 0 THEN ARRAY[x1] END)) AS rows
FROM ag_exact;
-- skipping a row leaves the sums untouched: the coefficients are exactly
-- those of the fit without the NULL rows (the row with only a NULL weight
-- is used by the unweighted fit and skipped by the weighted one)
SELECT linreg_coefficients(a.m) = linreg_coefficients(b.m) AS same_coef,
       linreg_coefficients(aw.m) = linreg_coefficients(bw.m) AS same_coef_w,
       pg_temp.close(linreg_coefficients(aw.m), ARRAY[3, 2, -0.5, 0.25], 1e-12) AS exact
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x3] ORDER BY id) AS m FROM ag_nulls) AS a,
     (SELECT linreg_fit(y, ARRAY[x1, x2, x3] ORDER BY id) AS m FROM ag_nulls
      WHERE y IS NOT NULL AND x1 IS NOT NULL AND x2 IS NOT NULL) AS b,
     (SELECT linreg_fit(y, ARRAY[x1, x2, x3], w ORDER BY id) AS m FROM ag_nulls) AS aw,
     (SELECT linreg_fit(y, ARRAY[x1, x2, x3], w ORDER BY id) AS m FROM ag_nulls WHERE id BETWEEN 1 AND 40) AS bw;

--
-- Many groups under a tiny work_mem: the hash aggregate spills its states
-- to disk and reads them back; the results equal those of a sorted plan.
--
CREATE TEMP TABLE ag_many AS
SELECT id, id % 3000 AS g, (id % 97)::float8 AS x1, ((id * 7) % 101)::float8 AS x2,
       (id % 89 + (id * 13) % 7)::float8 AS y
FROM generate_series(1, 60000) AS id;
ANALYZE ag_many;
CREATE TEMP TABLE ag_many_sorted AS
SELECT g, linreg_coefficients(linreg_fit(y, ARRAY[x1, x2] ORDER BY id)) AS c FROM ag_many GROUP BY g;
SET work_mem = '64kB';
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT g, linreg_fit(y, ARRAY[x1, x2]) FROM ag_many GROUP BY g;
SELECT count(*) AS groups, count(*) FILTER (WHERE NOT pg_temp.close(h.c, s.c, 1e-12)) AS mismatches
FROM (SELECT g, linreg_coefficients(linreg_fit(y, ARRAY[x1, x2])) AS c FROM ag_many GROUP BY g) AS h
JOIN ag_many_sorted AS s USING (g);
RESET work_mem;
RESET enable_sort;

--
-- 1000 features: 1200 rows of pseudo-random integers in [-20, 20] (from
-- hashint4), y = 5 + sum_j c_j x_j exactly with c_j = (j % 9) - 4.  The fit
-- is full rank and recovers the coefficients.
--
CREATE TEMP TABLE ag_wide AS
SELECT id, x, 5 + (SELECT sum(((j % 9) - 4) * x[j]) FROM generate_subscripts(x, 1) AS j) AS y
FROM (SELECT id, ARRAY(SELECT (hashint4(id * 1000 + j) % 21)::float8 FROM generate_series(1, 1000) AS j) AS x
      FROM generate_series(1, 1200) AS id) AS q;
CREATE TEMP TABLE ag_wide_model AS SELECT linreg_fit(y, x) AS m FROM ag_wide;
SELECT linreg_rank(m) AS rank, linreg_rows(m) AS rows, linreg_features(m) AS features,
       cardinality(linreg_coefficients(m)) AS ncoef,
       (SELECT max(abs(c - CASE WHEN o = 1 THEN 5 ELSE ((o - 1) % 9) - 4 END))
        FROM unnest(linreg_coefficients(m)) WITH ORDINALITY AS u(c, o)) < 1e-9 AS coef_ok
FROM ag_wide_model;
