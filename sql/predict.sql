--
-- predict: linreg_predict(model, x float8[]) and linreg_predict_cols(model,
-- x1, x2, ...).  A prediction is intercept + sum coef_j x_j, computed here
-- by hand from linreg_coefficients; aliased terms contribute nothing.
-- Models stored in tables (TOASTed when large) are used over many rows in
-- one query, several different models in the same query.
--
-- (the extension may exist already when this runs after the other tests)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;
\set VERBOSITY terse

-- intercept + dot product from a coefficient array c (with the intercept
-- first when icpt); NULL coefficients (aliased terms) count as 0
CREATE FUNCTION pg_temp.dot(c float8[], icpt boolean, x float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN icpt THEN coalesce(c[1], 0) ELSE 0 END
           + coalesce((SELECT sum(coalesce(c[o + CASE WHEN icpt THEN 1 ELSE 0 END], 0) * x[o])
                       FROM generate_subscripts(x, 1) AS o), 0)
$$;
CREATE FUNCTION pg_temp.by_hand(m linreg, x float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.dot(linreg_coefficients(m), linreg_intercept(m) IS NOT NULL, x)
$$;
-- a and b agree to tol relative to scale
CREATE FUNCTION pg_temp.near(a float8, b float8, scale float8, tol float8) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT a IS NOT NULL AND b IS NOT NULL AND abs(a - b) <= tol * greatest(scale, 1)
$$;

-- Exact data: y = 3 + 2 x1 - 0.5 x2 + 0.25 x3.
CREATE TEMP TABLE pr_data AS
SELECT id, ((7 * id) % 11 - 5)::float8 AS x1, ((id * id) % 13)::float8 AS x2,
       ((5 * id) % 9) / 2.0::float8 AS x3
FROM generate_series(1, 50) AS id;
ALTER TABLE pr_data ADD COLUMN y float8, ADD COLUMN yn float8;
UPDATE pr_data SET y = 3 + 2 * x1 - 0.5 * x2 + 0.25 * x3,
                   yn = 3 + 2 * x1 - 0.5 * x2 + 0.25 * x3 + ((id * 53) % 17 - 8) / 8.0;
CREATE TEMP TABLE pr_models AS
SELECT linreg_fit(y, ARRAY[x1, x2, x3]) AS exact,
       linreg_fit(yn, ARRAY[x1, x2, x3]) AS noisy,
       linreg_fit_noint(yn, ARRAY[x1, x2, x3]) AS noint,
       linreg_fit(y - 0.25 * x3, ARRAY[x1, x2, x1]) AS aliased,
       linreg_fit(yn, ARRAY[]::float8[]) AS icpt_only
FROM pr_data;

-- The exact model predicts the exact values, at the data and elsewhere.
SELECT count(*) AS rows,
       count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(exact, ARRAY[x1, x2, x3]), y, abs(y), 1e-12)) AS wrong
FROM pr_data, pr_models;
SELECT 3 + 2 * 10 - 0.5 * 20 + 0.25 * 30 AS expected,
       pg_temp.near(linreg_predict(exact, ARRAY[10, 20, 30]), 20.5, 20.5, 1e-12) AS ok
FROM pr_models;
-- Noisy and no-intercept models: the prediction is intercept + dot product.
SELECT count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(noisy, ARRAY[x1, x2, x3]),
                                                pg_temp.by_hand(noisy, ARRAY[x1, x2, x3]), abs(yn), 1e-12)) AS wrong_noisy,
       count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(noint, ARRAY[x1, x2, x3]),
                                                pg_temp.by_hand(noint, ARRAY[x1, x2, x3]), abs(yn), 1e-12)) AS wrong_noint
FROM pr_data, pr_models;
-- without intercept the prediction at the origin is 0; with one it is the intercept
SELECT linreg_predict(noint, ARRAY[0, 0, 0]) AS at_origin_noint,
       linreg_predict(noisy, ARRAY[0, 0, 0]) = linreg_intercept(noisy) AS at_origin_is_intercept
FROM pr_models;
-- intercept only: the prediction is the mean, whatever (no) x
SELECT linreg_predict(icpt_only, ARRAY[]::float8[]) = linreg_intercept(icpt_only) AS is_intercept,
       pg_temp.near(linreg_predict(icpt_only, '{}'), (SELECT avg(yn) FROM pr_data), 10, 1e-14) AS is_mean
FROM pr_models;
-- One feature: predictions give R^2 = 1 - SSE/SST equal to regr_r2.
SELECT abs((1 - sum((yn - p) ^ 2) / sum((yn - my) ^ 2)) - regr_r2(yn, x1)) <= 1e-10 AS r2_ok
FROM (SELECT yn, x1, linreg_predict(m, ARRAY[x1]) AS p, avg(yn) OVER () AS my
      FROM pr_data, (SELECT linreg_fit(yn, ARRAY[x1]) AS m FROM pr_data) AS q) AS r;

-- Aliased terms contribute 0: the value given for the aliased third
-- feature (a copy of the first) does not matter.  The model is
-- 3 + 2 x1 - 0.5 x2.
SELECT (linreg_coefficients(aliased))[4] IS NULL AS third_aliased,
       linreg_predict(aliased, ARRAY[10, 20, 1e6]) = linreg_predict(aliased, ARRAY[10, 20, 0]) AS ignores_aliased,
       pg_temp.near(linreg_predict(aliased, ARRAY[10, 20, -7]), 3 + 20 - 10, 13, 1e-12) AS ok
FROM pr_models;
SELECT count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(aliased, ARRAY[x1, x2, id]), y - 0.25 * x3, abs(y), 1e-12)) AS wrong
FROM pr_data, pr_models;

-- NULLs: a NULL element gives NULL (even in an aliased position), a NULL
-- model or array gives NULL.
SELECT linreg_predict(exact, ARRAY[1, NULL, 3]) IS NULL AS null_element,
       linreg_predict(aliased, ARRAY[1, 2, NULL]) IS NULL AS null_aliased_element,
       linreg_predict(NULL::linreg, ARRAY[1, 2, 3]) IS NULL AS null_model,
       linreg_predict(exact, NULL::float8[]) IS NULL AS null_array,
       linreg_predict_cols(exact, 1, NULL, 3) IS NULL AS cols_null_arg,
       linreg_predict_cols(NULL::linreg, 1, 2, 3) IS NULL AS cols_null_model
FROM pr_models;

-- linreg_predict_cols: float8, integer, numeric and real arguments, the
-- same as the array form.
SELECT count(*) FILTER (WHERE linreg_predict_cols(noisy, x1, x2, x3) <> linreg_predict(noisy, ARRAY[x1, x2, x3])) AS differ
FROM pr_data, pr_models;
SELECT linreg_predict_cols(noisy, 1, 2::smallint, 3::bigint) = linreg_predict(noisy, ARRAY[1, 2, 3]) AS ints,
       linreg_predict_cols(noisy, 1.5::numeric, 2.25::real, 3) = linreg_predict(noisy, ARRAY[1.5, 2.25, 3]) AS numeric_real,
       linreg_predict(noisy, ARRAY[1, 2, 3]::int[]) = linreg_predict(noisy, ARRAY[1.0, 2.0, 3.0]) AS int_array,
       linreg_predict(noisy, ARRAY[1.5, 2, 3]::numeric[]) = linreg_predict(noisy, ARRAY[1.5::float8, 2, 3]) AS numeric_array
FROM pr_models;

-- Wrong feature counts and shapes are errors naming both counts.
SELECT linreg_predict(exact, ARRAY[1, 2]) FROM pr_models;
SELECT linreg_predict(exact, ARRAY[1, 2, 3, 4]) FROM pr_models;
SELECT linreg_predict(exact, ARRAY[]::float8[]) FROM pr_models;
SELECT linreg_predict(exact, ARRAY[[1, 2, 3], [4, 5, 6]]) FROM pr_models;
SELECT linreg_predict(icpt_only, ARRAY[1]) FROM pr_models;
SELECT linreg_predict_cols(exact, 1, 2) FROM pr_models;
SELECT linreg_predict_cols(exact, 1, 2, 3, 4) FROM pr_models;
-- a wrong count is an error even when an element is NULL
SELECT linreg_predict(exact, ARRAY[1, NULL]) FROM pr_models;
SELECT 1 AS still_alive;

--
-- Many models in one query.  Six groups, 300 features each: the stored
-- models are large (TOASTed), and every row is predicted with its own
-- group's model, the groups interleaved row by row.  x are integers in
-- [-10, 10]; y = g + sum_j c_gj x_j with c_gj = ((j + g) % 7) - 3 exactly.
--
CREATE TEMP TABLE pr_wide AS
SELECT id, id % 6 + 1 AS g,
       ARRAY(SELECT (hashint4(id * 1000 + j) % 11)::float8 FROM generate_series(1, 300) AS j) AS x
FROM generate_series(1, 2400) AS id;
ALTER TABLE pr_wide ADD COLUMN y float8;
UPDATE pr_wide SET y = g + (SELECT sum((((j + g) % 7) - 3) * x[j]) FROM generate_subscripts(x, 1) AS j);
CREATE TEMP TABLE pr_wmodels (g int PRIMARY KEY, m linreg);
INSERT INTO pr_wmodels SELECT g, linreg_fit(y, x) FROM pr_wide GROUP BY g;
ANALYZE pr_wmodels;
-- the models are stored out of line
SELECT pg_relation_size(reltoastrelid) > 0 AS toasted FROM pg_class WHERE oid = 'pr_wmodels'::regclass;
SELECT g, linreg_rank(m) AS rank, linreg_rows(m) AS rows,
       (SELECT max(abs(c - CASE WHEN o = 1 THEN g ELSE (((o - 1 + g) % 7) - 3) END))
        FROM unnest(linreg_coefficients(m)) WITH ORDINALITY AS u(c, o)) < 1e-9 AS coef_ok
FROM pr_wmodels ORDER BY g;
-- every row with its own group's model (a join: each row a different
-- stored model than the row before)
SELECT count(*) AS rows,
       count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(m.m, r.x), r.y, 300, 1e-9)) AS wrong
FROM pr_wide AS r JOIN pr_wmodels AS m USING (g);
-- against the prediction by hand from the same model's coefficients
CREATE TEMP TABLE pr_wcoef AS SELECT g, linreg_coefficients(m) AS c FROM pr_wmodels;
SELECT count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(m.m, r.x), pg_temp.dot(c.c, true, r.x), 300, 1e-12)) AS wrong
FROM pr_wide AS r JOIN pr_wmodels AS m USING (g) JOIN pr_wcoef AS c USING (g) WHERE r.id <= 600;
-- every row with the model of ANOTHER group (the next one): that group's
-- prediction, not a cached model's
SELECT count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(m.m, r.x), pg_temp.dot(c.c, true, r.x), 300, 1e-12)) AS wrong,
       count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(m.m, r.x),
                                               m.g + (SELECT sum((((j + m.g) % 7) - 3) * r.x[j]) FROM generate_subscripts(r.x, 1) AS j),
                                               300, 1e-9)) AS wrong_vs_exact
FROM pr_wide AS r JOIN pr_wmodels AS m ON m.g = r.g % 6 + 1 JOIN pr_wcoef AS c ON c.g = m.g WHERE r.id <= 600;
-- two models per row in the same query: own group and group 1
SELECT count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(m.m, r.x), r.y, 300, 1e-9)) AS wrong_own,
       count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(m1.m, r.x),
                                               1 + (SELECT sum((((j + 1) % 7) - 3) * r.x[j]) FROM generate_subscripts(r.x, 1) AS j),
                                               300, 1e-9)) AS wrong_g1
FROM pr_wide AS r JOIN pr_wmodels AS m USING (g), pr_wmodels AS m1 WHERE m1.g = 1 AND r.id <= 600;
-- the same models not stored (computed in the query, held in memory)
SELECT count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(m.m, r.x), r.y, 300, 1e-9)) AS wrong
FROM pr_wide AS r
JOIN (SELECT g, linreg_fit(y, x) AS m FROM pr_wide WHERE id <= 2400 GROUP BY g) AS m USING (g)
WHERE r.id % 4 = 0;
-- models stored compressed in line (integer data: the low parts of the
-- sums are zeros, so a 2.5 kB model compresses), 14 features, one per group:
-- y = g + sum_j (((j + g) % 5) - 2) x_j
CREATE TEMP TABLE pr_crows AS
SELECT id, id % 4 + 1 AS g, ARRAY(SELECT (hashint4(id * 100 + j) % 4)::float8 FROM generate_series(1, 14) AS j) AS x
FROM generate_series(1, 400) AS id;
ALTER TABLE pr_crows ADD COLUMN y float8;
UPDATE pr_crows SET y = g + (SELECT sum((((j + g) % 5) - 2) * x[j]) FROM generate_subscripts(x, 1) AS j);
CREATE TEMP TABLE pr_cmodels (g int PRIMARY KEY, m linreg);
INSERT INTO pr_cmodels SELECT g, linreg_fit(y, x) FROM pr_crows GROUP BY g;
SELECT bool_and(pg_column_compression(m) IS NOT NULL) AS compressed,
       (SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'pr_cmodels'::regclass) = 0 AS in_line,
       bool_and(linreg_rank(m) = 15) AS full_rank
FROM pr_cmodels;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(m.m, r.x), r.y, 30, 1e-12)) AS wrong,
       count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict_cols(m.m, r.x[1], r.x[2], r.x[3], r.x[4], r.x[5], r.x[6],
                                                                   r.x[7], r.x[8], r.x[9], r.x[10], r.x[11], r.x[12], r.x[13], r.x[14]),
                                               r.y, 30, 1e-12)) AS wrong_cols
FROM pr_crows AS r JOIN pr_cmodels AS m USING (g);
-- and with the model of the next group: that group's exact prediction
SELECT count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(m.m, r.x),
                                               m.g + (SELECT sum((((j + m.g) % 5) - 2) * r.x[j]) FROM generate_subscripts(r.x, 1) AS j),
                                               30, 1e-12)) AS wrong
FROM pr_crows AS r JOIN pr_cmodels AS m ON m.g = r.g % 4 + 1;
-- a small model per group (inline storage), used the same way: y per
-- group is g + (2 - g) x1 + 0.5 g x2
CREATE TEMP TABLE pr_smodels (g int PRIMARY KEY, m linreg);
INSERT INTO pr_smodels
SELECT g, linreg_fit(g + (2 - g) * x1 + 0.5 * g * x2, ARRAY[x1, x2])
FROM pr_data, generate_series(1, 6) AS g GROUP BY g;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict(m.m, ARRAY[d.x1, d.x2]),
                                               m.g + (2 - m.g) * d.x1 + 0.5 * m.g * d.x2, 20, 1e-12)) AS wrong,
       count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict_cols(m.m, d.x1, d.x2),
                                               m.g + (2 - m.g) * d.x1 + 0.5 * m.g * d.x2, 20, 1e-12)) AS wrong_cols
FROM pr_data AS d, pr_smodels AS m;
-- linreg_predict_cols over many rows, a stored model per group (a call
-- takes at most 100 arguments: ten-feature models on the first ten
-- features)
CREATE TEMP TABLE pr_w10 (g int PRIMARY KEY, m linreg);
INSERT INTO pr_w10
SELECT g, linreg_fit(y10, x[1:10])
FROM (SELECT g, x, g + (SELECT sum((((j + g) % 7) - 3) * x[j]) FROM generate_series(1, 10) AS j) AS y10 FROM pr_wide) AS q
GROUP BY g;
SELECT count(*) FILTER (WHERE NOT pg_temp.near(linreg_predict_cols(m.m, r.x[1], r.x[2], r.x[3], r.x[4], r.x[5],
                                                                   r.x[6], r.x[7], r.x[8], r.x[9], r.x[10]),
                                               linreg_predict(m.m, r.x[1:10]), 30, 1e-12)) AS wrong
FROM pr_wide AS r JOIN pr_w10 AS m USING (g);
