--
-- Ridge regression: linreg_solve_ridge, linreg_ridge_path and the
-- cross-validation aggregate linreg_cv.
--
-- Ridge on standardised features, intercept unpenalised:
--   (Cxx + lambda diag(Cxx)) beta = Cxy,  b0 = mean_y - mean_x . beta
-- (Cxx the weighted centred cross-products; uncentred without intercept).
-- References (test/data/stats/, computed by make_reference.py in exact
-- rational arithmetic on the float8 values of the CSV data):
--   ref_ridge.csv     coefficients on synth.csv for seven lambdas: fit A
--                     (x1, x2, g), B (the same with weights w), C (no intercept)
--   ref_cv.csv        5-fold CV MSE per lambda on cv.csv, folds by
--                     lr_key_fold(id, 0, 5) (src/core/lr_split.h, reimplemented)
--   ref_cv_model.csv  the chosen lambda and the ridge fit on all rows at it
-- Numbers must agree to 1e-10 relative; only booleans are printed.
--

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;

-- Arrays agree element by element to tol relative (same length, no NULL).
CREATE FUNCTION rg_ok(est float8[], ref float8[], tol float8 DEFAULT 1e-10) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT cardinality(est) = cardinality(ref)
           AND coalesce(bool_and(e IS NOT NULL
                                 AND (e = r OR abs(e - r) <= tol * abs(r))), false)
    FROM unnest(est, ref) u(e, r)
$$;

CREATE TABLE rg_synth (id int, y float8, x1 float8, x2 float8, g float8, xa float8, w float8);
\copy rg_synth FROM 'test/data/stats/synth.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE rg_cv (id bigint, y float8, x1 float8, x2 float8, x3 float8, x4 float8, x5 float8);
\copy rg_cv FROM 'test/data/stats/cv.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE rg_ref_ridge (fit text, lambda float8, coefficients float8[]);
\copy rg_ref_ridge FROM 'test/data/stats/ref_ridge.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE rg_ref_cv (ord int, lambda float8, cv_mse float8);
\copy rg_ref_cv FROM 'test/data/stats/ref_cv.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE rg_ref_cv_model (folds int, best_lambda float8, coefficients float8[], fold_sizes int[]);
\copy rg_ref_cv_model FROM 'test/data/stats/ref_cv_model.csv' WITH (FORMAT csv, HEADER)

SELECT fit, count(*) AS lambdas, min(cardinality(coefficients)) AS coefficients
FROM rg_ref_ridge GROUP BY fit ORDER BY fit;

CREATE TABLE rg_state (fit text PRIMARY KEY, state linreg_state);
INSERT INTO rg_state
SELECT 'A', linreg_state(y, ARRAY[x1, x2, g]) FROM rg_synth
UNION ALL
SELECT 'B', linreg_state(y, ARRAY[x1, x2, g], w) FROM rg_synth
UNION ALL
SELECT 'C', linreg_state_noint(y, ARRAY[x1, x2, g]) FROM rg_synth;

-------------------------------------------------------------------------------
-- linreg_solve_ridge against the closed form.
-------------------------------------------------------------------------------
SELECT r.fit, r.lambda,
       rg_ok(linreg_coefficients(linreg_solve_ridge(s.state, r.lambda)), r.coefficients) AS coef_ok
FROM rg_ref_ridge r JOIN rg_state s USING (fit)
ORDER BY r.fit, r.lambda;

-- lambda = 0 is linreg_solve (the same coefficients, bit for bit), and the
-- ridge model keeps the state's counts.
SELECT s.fit,
       linreg_coefficients(linreg_solve_ridge(s.state, 0)) = linreg_coefficients(linreg_solve(s.state)) AS zero_is_ols,
       linreg_rows(linreg_solve_ridge(s.state, 1)) = linreg_rows(s.state) AS rows_ok,
       linreg_rank(linreg_solve_ridge(s.state, 1)) AS rank,
       linreg_features(linreg_solve_ridge(s.state, 1)) AS features
FROM rg_state s ORDER BY s.fit;

-- A ridge model predicts b0 + x . beta with its own coefficients.
SELECT bool_and(abs(linreg_predict(m, ARRAY[x1, x2, g])
                    - (c[1] + c[2] * x1 + c[3] * x2 + c[4] * g))
                <= 1e-12 * abs(c[1] + c[2] * x1 + c[3] * x2 + c[4] * g)) AS predict_ok
FROM rg_synth,
     (SELECT m, linreg_coefficients(m) AS c
      FROM (SELECT linreg_solve_ridge(state, 0.1) AS m FROM rg_state WHERE fit = 'A') m0) m1;

-------------------------------------------------------------------------------
-- linreg_ridge_path: one row per lambda, in the given order, each equal to
-- linreg_solve_ridge at that lambda (and to the closed form).
-------------------------------------------------------------------------------
CREATE TABLE rg_path AS
SELECT s.fit, p.ordinality::int AS ord, p.lambda, p.coefficients
FROM rg_state s,
     linreg_ridge_path(s.state, ARRAY[1000, 10, 1, 0.1, 0.01, 0.0001, 0]) WITH ORDINALITY p;
SELECT p.fit, count(*) AS rows,
       array_agg(p.lambda ORDER BY p.ord) = ARRAY[1000, 10, 1, 0.1, 0.01, 0.0001, 0]::float8[] AS order_ok,
       bool_and(p.coefficients = linreg_coefficients(linreg_solve_ridge(s.state, p.lambda))) AS equals_solve,
       bool_and(rg_ok(p.coefficients, r.coefficients)) AS coef_ok
FROM rg_path p JOIN rg_state s USING (fit) JOIN rg_ref_ridge r USING (fit, lambda)
GROUP BY p.fit ORDER BY p.fit;
SELECT count(*) AS empty_path
FROM linreg_ridge_path((SELECT state FROM rg_state WHERE fit = 'A'), '{}');

-------------------------------------------------------------------------------
-- linreg_cv: 5-fold cross-validation over 7 lambdas from one scan.
-------------------------------------------------------------------------------
SELECT r.folds, r.best_lambda, r.fold_sizes FROM rg_ref_cv_model r;

CREATE TABLE rg_cvres AS
SELECT linreg_cv(y, ARRAY[x1, x2, x3, x4, x5], id, 5, ARRAY[0, 0.01, 0.1, 0.3, 1, 3, 10]) AS r
FROM rg_cv;

SELECT (r).lambdas = (SELECT array_agg(lambda ORDER BY ord) FROM rg_ref_cv) AS lambdas_ok,
       rg_ok((r).cv_mse, (SELECT array_agg(cv_mse ORDER BY ord) FROM rg_ref_cv)) AS cv_mse_ok,
       (r).best_lambda = m.best_lambda AS best_lambda_ok,
       rg_ok(linreg_coefficients((r).model), m.coefficients) AS model_ok,
       rg_ok(linreg_coefficients((r).model),
             linreg_coefficients(linreg_solve_ridge(
                 (SELECT linreg_state(y, ARRAY[x1, x2, x3, x4, x5]) FROM rg_cv), m.best_lambda)),
             1e-12) AS model_is_ridge_fit,
       linreg_rows((r).model) AS model_rows
FROM rg_cvres, rg_ref_cv_model m;

-- The CV MSE per lambda, rounded.
SELECT u.ord, u.lambda, round(u.cv_mse::numeric, 6) AS cv_mse
FROM rg_cvres, unnest((r).lambdas, (r).cv_mse) WITH ORDINALITY u(lambda, cv_mse, ord)
ORDER BY u.ord;

-- Row order does not matter; NULL rows are skipped.
SELECT rg_ok((a.r).cv_mse, (c.r).cv_mse, 1e-12) AS order_independent,
       (a.r).best_lambda = (c.r).best_lambda AS same_best
FROM rg_cvres c,
     (SELECT linreg_cv(y, ARRAY[x1, x2, x3, x4, x5], id, 5, ARRAY[0, 0.01, 0.1, 0.3, 1, 3, 10]
                       ORDER BY id DESC) AS r
      FROM rg_cv) a;
SELECT rg_ok((a.r).cv_mse, (c.r).cv_mse, 1e-12) AS nulls_skipped
FROM rg_cvres c,
     (SELECT linreg_cv(y, ARRAY[x1, x2, x3, x4, x5], id, 5, ARRAY[0, 0.01, 0.1, 0.3, 1, 3, 10]) AS r
      FROM (SELECT * FROM rg_cv
            UNION ALL SELECT 1, NULL, 1, 2, 3, 4, 5
            UNION ALL SELECT 2, 1.5, 1, NULL, 3, 4, 5) v) a;

-------------------------------------------------------------------------------
-- Bad input
-------------------------------------------------------------------------------
-- negative (or not finite) lambda
SELECT linreg_solve_ridge(state, -0.1) FROM rg_state WHERE fit = 'A';
SELECT linreg_solve_ridge(state, 'NaN') FROM rg_state WHERE fit = 'A';
SELECT * FROM linreg_ridge_path((SELECT state FROM rg_state WHERE fit = 'A'), ARRAY[1, -1]);
SELECT linreg_cv(y, ARRAY[x1, x2, x3, x4, x5], id, 5, ARRAY[0.1, -2]) FROM rg_cv;
-- folds < 2
SELECT linreg_cv(y, ARRAY[x1, x2, x3, x4, x5], id, 1, ARRAY[0.1]) FROM rg_cv;
SELECT linreg_cv(y, ARRAY[x1, x2, x3, x4, x5], id, 0, ARRAY[0.1]) FROM rg_cv;
SELECT linreg_cv(y, ARRAY[x1, x2, x3, x4, x5], id, -3, ARRAY[0.1]) FROM rg_cv;
-- more folds than rows
SELECT linreg_cv(y, ARRAY[x1, x2, x3, x4, x5], id, 5, ARRAY[0.1]) FROM rg_cv WHERE id < 4000000;
-- rows of another length
SELECT linreg_cv(y, x, id, 5, ARRAY[0.1])
FROM (SELECT id, y, CASE WHEN id = 17 THEN ARRAY[x1, x2] ELSE ARRAY[x1, x2, x3] END AS x FROM rg_cv) v;

DROP TABLE rg_cvres, rg_path, rg_state, rg_ref_cv_model, rg_ref_cv, rg_ref_ridge, rg_cv, rg_synth;
DROP FUNCTION rg_ok(float8[], float8[], float8);
