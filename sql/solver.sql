--
-- solver: rank-deficient designs (aliased columns get a NULL coefficient,
-- as R's lm gives NA: earlier columns are kept, later ones aliased),
-- intercept-only fits, the tolerance argument of linreg_solve, the
-- condition number, and fits without intercept.
--
-- References: exact data (y = 3 + 2 x1 - 0.5 x2), so every kept
-- coefficient is known exactly; exact ranks, pivot columns and the
-- near-collinearity ratio from test/data/functional/exact_refs.py.
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
-- positions of the aliased (NULL) coefficients
CREATE FUNCTION pg_temp.aliased(a float8[]) RETURNS int[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(o::int ORDER BY o), '{}') FROM unnest(a) WITH ORDINALITY AS u(x, o) WHERE x IS NULL
$$;

-- x3 = x1 + x2 exactly; x3n = x1 + x2 + ((id % 3) - 1) * 2^-20 (nearly
-- collinear: its unexplained part has relative squared norm 2.67e-14).
CREATE TEMP TABLE sv AS
SELECT id, ((7 * id) % 11 - 5)::float8 AS x1, ((id * id) % 13)::float8 AS x2
FROM generate_series(1, 30) AS id;
ALTER TABLE sv ADD COLUMN x3 float8, ADD COLUMN x3n float8, ADD COLUMN y float8;
UPDATE sv SET x3 = x1 + x2, x3n = x1 + x2 + ((id % 3) - 1) * 2::float8 ^ -20,
              y = 3 + 2 * x1 - 0.5 * x2;

--
-- Aliased columns.  The coefficients kept are exact; the aliased are NULL.
--
-- x3 = x1 + x2: the later column, x3, is aliased
SELECT linreg_rank(m) AS rank, pg_temp.aliased(linreg_coefficients(m)) AS aliased,
       pg_temp.close(linreg_coefficients(m), ARRAY[3, 2, -0.5, NULL], 1e-12) AS exact
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x3]) AS m FROM sv) AS q;
-- the same columns in another order: x2 is now the later one.  y = 3 + 2 x1
-- - 0.5 x2 = 3 - 0.5 x3 + 2.5 x1
SELECT linreg_rank(m) AS rank, pg_temp.aliased(linreg_coefficients(m)) AS aliased,
       pg_temp.close(linreg_coefficients(m), ARRAY[3, -0.5, 2.5, NULL], 1e-12) AS exact
FROM (SELECT linreg_fit(y, ARRAY[x3, x1, x2]) AS m FROM sv) AS q;
-- a duplicated column
SELECT linreg_rank(m) AS rank, pg_temp.aliased(linreg_coefficients(m)) AS aliased,
       pg_temp.close(linreg_coefficients(m), ARRAY[3, 2, -0.5, NULL], 1e-12) AS exact
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x1]) AS m FROM sv) AS q;
-- a constant column (aliased with the intercept), and an all-zero one
SELECT linreg_rank(m) AS rank, pg_temp.aliased(linreg_coefficients(m)) AS aliased,
       pg_temp.close(linreg_coefficients(m), ARRAY[3, 2, NULL, -0.5, NULL], 1e-12) AS exact
FROM (SELECT linreg_fit(y, ARRAY[x1, 5.0, x2, 0.0]) AS m FROM sv) AS q;
-- a scaled copy (x1 * 2^-30 + 0) and a copy shifted by a constant
SELECT linreg_rank(m) AS rank, pg_temp.aliased(linreg_coefficients(m)) AS aliased,
       pg_temp.close(linreg_coefficients(m), ARRAY[3, 2, -0.5, NULL, NULL], 1e-12) AS exact
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x1 * 2::float8 ^ -30, x2 + 1000]) AS m FROM sv) AS q;
-- several dependencies at once: 1, x1, x2 and x3 = x1 + x2, x1 - x2, 2 x1
SELECT linreg_rank(m) AS rank, pg_temp.aliased(linreg_coefficients(m)) AS aliased,
       pg_temp.close(linreg_coefficients(m), ARRAY[3, 2, -0.5, NULL, NULL, NULL], 1e-12) AS exact
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x3, x1 - x2, 2 * x1]) AS m FROM sv) AS q;
-- the same through linreg_fit_cols and linreg_solve(linreg_state(...))
SELECT pg_temp.close(linreg_coefficients(linreg_fit_cols(y, x1, x2, x3)), ARRAY[3, 2, -0.5, NULL], 1e-12) AS cols_exact,
       pg_temp.close(linreg_coefficients(linreg_solve(linreg_state(y, ARRAY[x1, x2, x3]))), ARRAY[3, 2, -0.5, NULL], 1e-12) AS solve_exact
FROM sv;
-- the aliased coefficients are null in the JSON form too
SELECT m::text::jsonb -> 'coef' -> 3 AS x3_coef, m::text::jsonb -> 'rank' AS rank
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x3]) AS m FROM sv) AS q;
-- more features than rows: with 3 rows, the intercept and x1, x2 (two free
-- directions) are kept and every later column aliased
SELECT linreg_rank(m) AS rank, linreg_rows(m) AS rows, pg_temp.aliased(linreg_coefficients(m)) AS aliased,
       pg_temp.close(linreg_coefficients(m), ARRAY[3, 2, -0.5, NULL, NULL], 1e-12) AS exact
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x3n, id]) AS m FROM sv WHERE id IN (1, 2, 4)) AS q;
-- a single row: every feature is constant, the intercept is y
SELECT linreg_rank(m) AS rank, linreg_coefficients(m) AS coef
FROM (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM sv WHERE id = 7) AS q;
SELECT y FROM sv WHERE id = 7;
-- a pattern of exact dependencies in a wider design (types.sql's "wide":
-- feature j = j id / 7 + ((id j) % 7) / 3, id 1..60, j 1..30).  Exact
-- arithmetic gives rank 6 with pivots intercept, f1, f2, f3, f4, f7
-- (exact_refs.out); the features are float8 roundings, so the dependencies
-- hold to rounding and the same columns must be aliased.
SELECT linreg_rank(m) AS rank,
       ARRAY(SELECT o - 1 FROM unnest(linreg_coefficients(m)) WITH ORDINALITY AS u(c, o)
             WHERE c IS NOT NULL ORDER BY o) AS kept
FROM (SELECT linreg_fit((id % 17) / 3.0::float8 + id / 11.0::float8,
                        ARRAY(SELECT (id / 7.0::float8) * j + ((id * j) % 7) / 3.0 FROM generate_series(1, 30) AS j)) AS m
      FROM generate_series(1, 60) AS id) AS q;

--
-- Intercept only: ARRAY[]::float8[].  The coefficient is the (weighted) mean.
--
SELECT linreg_rank(m) AS rank, linreg_features(m) AS features, cardinality(linreg_coefficients(m)) AS ncoef,
       abs(linreg_intercept(m) - (SELECT avg(y::numeric) FROM sv)) < 1e-15 * abs((SELECT avg(y::numeric) FROM sv)) AS is_mean
FROM (SELECT linreg_fit(y, ARRAY[]::float8[]) AS m FROM sv) AS q;
SELECT abs(linreg_intercept(m) - wm) < 1e-15 * abs(wm) AS is_weighted_mean
FROM (SELECT linreg_fit(y, ARRAY[]::float8[], id) AS m, sum(id * y::numeric) / sum(id) AS wm FROM sv) AS q;
-- a mean that is not a binary fraction
SELECT abs(linreg_intercept(m) - 1.0 / 3) < 1e-15 AS third
FROM (SELECT linreg_fit(v, '{}') AS m FROM (VALUES (0.0), (0.0), (1.0)) AS t(v)) AS q;

--
-- linreg_solve(state, tol): the aliasing tolerance.  x3n's unexplained part
-- is 2.67e-14 of its squared norm: kept at the default (1e-20) and at
-- 1e-16, aliased at 1e-12.  The data is exact in x1, x2 so the fit is exact
-- either way, with a zero coefficient for x3n when it is kept.
--
CREATE TEMP TABLE sv_state AS SELECT linreg_state(y, ARRAY[x1, x2, x3n]) AS s FROM sv;
SELECT tol, linreg_rank(m) AS rank, pg_temp.aliased(linreg_coefficients(m)) AS aliased,
       pg_temp.close(linreg_coefficients(m), ARRAY[3, 2, -0.5, CASE WHEN linreg_rank(m) = 4 THEN 0 END], 1e-6) AS exact
FROM sv_state, LATERAL (VALUES (1e-20), (1e-16), (1e-12), (0.5)) AS t(tol),
     LATERAL (SELECT linreg_solve(s, tol) AS m) AS q
ORDER BY tol;
-- the default tolerance is 1e-20
SELECT linreg_solve(s)::text = linreg_solve(s, 1e-20)::text AS default_is_1e_20,
       linreg_solve(s)::text = (SELECT linreg_fit(y, ARRAY[x1, x2, x3n]) FROM sv)::text AS default_is_fit
FROM sv_state;
-- tol 0 on a well-conditioned design changes nothing
SELECT linreg_coefficients(linreg_solve(s, 0)) = linreg_coefficients(linreg_solve(s)) AS tol0_same
FROM (SELECT linreg_state(y, ARRAY[x1, x2]) AS s FROM sv) AS q;
-- tol must be in [0, 1)
SELECT linreg_solve(s, -1e-30) FROM sv_state;
SELECT linreg_solve(s, 1) FROM sv_state;
SELECT linreg_solve(s, 1.5) FROM sv_state;
SELECT linreg_solve(s, 'NaN') FROM sv_state;
SELECT linreg_solve(s, 'Infinity') FROM sv_state;
-- linreg_solve is strict
SELECT linreg_solve(s, NULL) IS NULL AS null_tol, linreg_solve(NULL::linreg_state) IS NULL AS null_state FROM sv_state;
SELECT 1 AS still_alive;

--
-- Condition number: at least 1; 1 for an orthogonal design with equal
-- column norms (a balanced 2x2 factorial); larger as columns get closer to
-- collinear.
--
SELECT linreg_cond(m) >= 1 AS at_least_1, linreg_cond(m) < 1 + 1e-12 AS is_1
FROM (SELECT linreg_fit(a * 1.5 + b, ARRAY[a, b]) AS m
      FROM (VALUES (-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)) AS t(a, b)) AS q;
SELECT linreg_cond(m12) >= 1 AS c12_at_least_1,
       linreg_cond(m12) < linreg_cond(m3n) AS more_collinear_larger,
       linreg_cond(m3n) > 1e10 AS near_singular_large,
       linreg_cond(m1) < 1 + 1e-12 AS single_feature_1
FROM (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m12, linreg_fit(y, ARRAY[x1, x2, x3n]) AS m3n,
             linreg_fit(y, ARRAY[x1]) AS m1 FROM sv) AS q;
-- x1 and x1 + t * x2 get closer as t shrinks: the condition number grows
SELECT bool_and(c1 < c2) AS increasing
FROM (SELECT t, linreg_cond(m) AS c1, lead(linreg_cond(m)) OVER (ORDER BY t DESC) AS c2
      FROM (SELECT t, linreg_fit(y, ARRAY[x1, x1 + t * x2]) AS m
            FROM sv, (VALUES (1.0), (0.1), (0.01), (0.001), (0.0001)) AS v(t) GROUP BY t) AS q) AS r
WHERE c2 IS NOT NULL;
-- aliased columns do not make the condition number infinite: it is that of
-- the kept columns
SELECT abs(linreg_cond(a) - linreg_cond(b)) < 1e-6 * linreg_cond(b) AS cond_of_kept
FROM (SELECT linreg_fit(y, ARRAY[x1, x2, x3]) AS a, linreg_fit(y, ARRAY[x1, x2]) AS b FROM sv) AS q;

--
-- Without intercept.
--
-- exact through the origin; linreg_intercept is NULL, all terms are features
SELECT linreg_intercept(m) IS NULL AS no_intercept, linreg_rank(m) AS rank,
       pg_temp.close(linreg_coefficients(m), ARRAY[2, -0.5], 1e-12) AS exact
FROM (SELECT linreg_fit_noint(2 * x1 - 0.5 * x2, ARRAY[x1, x2]) AS m FROM sv) AS q;
-- a constant column is not aliased without intercept: it is the intercept
SELECT linreg_rank(m) AS rank, pg_temp.close(linreg_coefficients(m), ARRAY[3, 2, -0.5], 1e-12) AS exact
FROM (SELECT linreg_fit_noint(y, ARRAY[1.0, x1, x2]) AS m FROM sv) AS q;
-- ... and it gives the intercept fit's coefficients on noisy data
SELECT pg_temp.close(linreg_coefficients(linreg_fit_noint(y + (id % 5) * 0.25, ARRAY[1.0, x1, x2])),
                     linreg_coefficients(linreg_fit(y + (id % 5) * 0.25, ARRAY[x1, x2])), 1e-12) AS same_as_intercept
FROM sv;
-- an all-zero column and a collinear column are aliased
SELECT linreg_rank(m) AS rank, pg_temp.aliased(linreg_coefficients(m)) AS aliased,
       pg_temp.close(linreg_coefficients(m), ARRAY[2, NULL, -0.5, NULL], 1e-12) AS exact
FROM (SELECT linreg_fit_noint(2 * x1 - 0.5 * x2, ARRAY[x1, 0.0, x2, x3]) AS m FROM sv) AS q;
-- one feature through the origin: sum(x y) / sum(x^2) = 29 / 14
SELECT cardinality(linreg_coefficients(m)) AS ncoef,
       abs((linreg_coefficients(m))[1] - 29 / 14.0::float8) < 1e-15 AS slope_ok
FROM (SELECT linreg_fit_noint(v, ARRAY[u]) AS m
      FROM (VALUES (1.0, 2.0), (2.0, 3.0), (3.0, 7.0)) AS t(u, v)) AS q;

--
-- Far from the origin: x around 1e9 (exact in float8).  The shifted state
-- keeps the fit exact where naive normal equations lose every digit of
-- the intercept.
--
SELECT abs(linreg_intercept(m) - 3) < 1e-6 AS intercept_ok,
       abs((linreg_coefficients(m))[2] - 2) < 1e-15 AS slope_ok
FROM (SELECT linreg_fit(3 + 2 * (1e9 + id), ARRAY[1e9 + id]) AS m FROM generate_series(1, 100) AS id) AS q;
SELECT pg_temp.close(linreg_coefficients(m), ARRAY[3, 2, -0.5], 1e-9) AS offset_exact
FROM (SELECT linreg_fit(3 + 2 * (x1 + 1e8) - 0.5 * (x2 - 1e8), ARRAY[x1 + 1e8, x2 - 1e8]) AS m FROM sv) AS q;
