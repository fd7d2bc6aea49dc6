--
-- bad_input: invalid rows and arguments are errors with a message that says
-- what is wrong (and where), and the session carries on after each one.
--
-- (the extension may exist already when this runs after the other tests)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;
\set VERBOSITY terse

CREATE TEMP TABLE bi (id int, y float8, x1 float8, x2 float8, w float8);
INSERT INTO bi SELECT id, 1 + 2 * id - (id % 3), id, id % 3, 1 + id % 2 FROM generate_series(1, 10) AS id;

--
-- Non-finite values in y and x: the error names y, or the position in x.
--
SELECT linreg_fit(CASE WHEN id = 5 THEN 'NaN' ELSE y END, ARRAY[x1, x2]) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(CASE WHEN id = 5 THEN 'Infinity' ELSE y END, ARRAY[x1, x2]) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(y, ARRAY[x1, CASE WHEN id = 5 THEN 'NaN' ELSE x2 END]) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(y, ARRAY[x1, CASE WHEN id = 5 THEN '-Infinity' ELSE x2 END]) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(y, ARRAY[CASE WHEN id = 1 THEN 'Infinity' ELSE x1 END, x2]) FROM bi;
SELECT 1 AS ok;
SELECT linreg_state(y, ARRAY[x1, x2, 'NaN']) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit_noint(y, ARRAY[x1, 'NaN']) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(y, ARRAY[x1, x2], w) FROM (SELECT id, y, x1, 'Infinity'::float8 AS x2, w FROM bi) AS q;
SELECT 1 AS ok;
-- features as arguments: float8, float4 and numeric NaN / Infinity
SELECT linreg_fit_cols(y, x1, CASE WHEN id = 5 THEN 'NaN' ELSE x2 END) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit_cols(y, x1, x2, 'Infinity'::real) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit_cols(y, 'NaN'::numeric, x2) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit_cols(y, x1, '-Infinity'::numeric) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit_cols('NaN', x1, x2) FROM bi;
SELECT 1 AS ok;
-- a numeric too large for float8
SELECT linreg_fit_cols(y, x1, 1e400::numeric) FROM bi;
SELECT 1 AS ok;
-- NaN in a row that is skipped anyway (NULL y) is not looked at
SELECT linreg_rows(s) AS rows, linreg_skipped(s) AS skipped
FROM (SELECT linreg_state(CASE WHEN id = 5 THEN NULL ELSE y END,
                          ARRAY[x1, CASE WHEN id = 5 THEN 'NaN' ELSE x2 END]) AS s FROM bi) AS q;

--
-- Weights: negative, NaN and infinite weights are errors; NULL is skipped.
--
SELECT linreg_fit(y, ARRAY[x1, x2], CASE WHEN id = 5 THEN -1 ELSE w END) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(y, ARRAY[x1, x2], CASE WHEN id = 5 THEN -1e-300 ELSE w END) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(y, ARRAY[x1, x2], CASE WHEN id = 5 THEN 'NaN' ELSE w END) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(y, ARRAY[x1, x2], CASE WHEN id = 5 THEN 'Infinity' ELSE w END) FROM bi;
SELECT 1 AS ok;
SELECT linreg_state_noint(y, ARRAY[x1, x2], -2) FROM bi;
SELECT 1 AS ok;
SELECT linreg_skipped(linreg_state(y, ARRAY[x1, x2], CASE WHEN id = 5 THEN NULL ELSE w END)) AS skipped FROM bi;

--
-- Feature arrays: different lengths in one aggregate (both lengths named),
-- more than one dimension, more than 2000 features.
--
SELECT linreg_fit(y, CASE WHEN id = 7 THEN ARRAY[x1] ELSE ARRAY[x1, x2] END) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(y, CASE WHEN id = 7 THEN ARRAY[x1, x2, x2] ELSE ARRAY[x1, x2] END) FROM bi;
SELECT 1 AS ok;
SELECT linreg_state(y, CASE WHEN id = 1 THEN ARRAY[]::float8[] ELSE ARRAY[x1] END) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(y, ARRAY[[x1, x2], [x2, x1]]) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(y, ARRAY[[x1], [x2]], w) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit(y, array_fill(1.0::float8, ARRAY[2001])) FROM bi;
SELECT 1 AS ok;
SELECT linreg_state_noint(y, array_fill(x1, ARRAY[5000])) FROM bi;
SELECT 1 AS ok;
-- an array that does not start at 1 is still a list of features
SELECT linreg_coefficients(linreg_fit(y, ('[0:1]={' || x1 || ',' || x2 || '}')::float8[]))
     = linreg_coefficients(linreg_fit(y, ARRAY[x1, x2])) AS lower_bound_ignored
FROM bi;

--
-- Features as separate arguments: only numbers; a text or other argument
-- is an error naming the argument and its type.
--
SELECT linreg_fit_cols(y, x1, x2::text) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit_cols(y, x1::text, x2) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit_cols(y, x1, now()) FROM bi;
SELECT 1 AS ok;
SELECT linreg_fit_cols(y, x1, x1 > 2) FROM bi;
SELECT 1 AS ok;
SELECT linreg_state_cols(y, ARRAY[x1, x2]) FROM bi;
SELECT 1 AS ok;
-- VARIADIC with an array is refused: the array form is linreg_fit
SELECT linreg_fit_cols(y, VARIADIC ARRAY[x1, x2]) FROM bi;
SELECT 1 AS ok;
-- no feature at all
SELECT linreg_fit_cols(y) FROM bi;
SELECT 1 AS ok;

--
-- Merging, adding and subtracting incompatible states.
--
CREATE TEMP TABLE bi_states AS
SELECT linreg_state(y, ARRAY[x1, x2]) AS s2,
       linreg_state(y, ARRAY[x1]) AS s1,
       linreg_state_noint(y, ARRAY[x1, x2]) AS n2,
       (SELECT linreg_state(y, ARRAY[x1, x2]) FROM bi WHERE id <= 3) AS s2_part,
       (SELECT linreg_state(NULL::float8, ARRAY[x1, x2]) FROM bi) AS s_nulls
FROM bi;
-- different feature counts
SELECT linreg_merge(s) FROM (SELECT s2 AS s FROM bi_states UNION ALL SELECT s1 FROM bi_states) AS u;
SELECT 1 AS ok;
SELECT s2 + s1 FROM bi_states;
SELECT 1 AS ok;
SELECT linreg_add(s1, s2) FROM bi_states;
SELECT 1 AS ok;
SELECT s2 - s1 FROM bi_states;
SELECT 1 AS ok;
-- with and without intercept
SELECT linreg_merge(s) FROM (SELECT s2 AS s FROM bi_states UNION ALL SELECT n2 FROM bi_states) AS u;
SELECT 1 AS ok;
SELECT s2 + n2 FROM bi_states;
SELECT 1 AS ok;
SELECT linreg_subtract(s2, n2) FROM bi_states;
SELECT 1 AS ok;
-- a state of only NULL rows (features unknown) merged with a no-intercept one
SELECT s_nulls + n2 FROM bi_states;
SELECT 1 AS ok;
-- subtracting more rows than there are
SELECT s2_part - s2 FROM bi_states;
SELECT 1 AS ok;
SELECT s2 - s2 - s2_part FROM bi_states;
SELECT 1 AS ok;
-- subtracting rows from a state that has none
SELECT s_nulls - s2_part FROM bi_states;
SELECT 1 AS ok;
-- subtracting more skipped rows than there are
SELECT s2 - s_nulls FROM bi_states;
SELECT 1 AS ok;
-- the operands were not changed by the failed operations
SELECT linreg_rows(s2) AS rows2, linreg_rows(s2_part) AS rows_part, linreg_skipped(s_nulls) AS skipped_nulls
FROM bi_states;

--
-- linreg_predict with the wrong number of features.
--
SELECT linreg_predict(linreg_fit(y, ARRAY[x1, x2]), ARRAY[1.0]) FROM bi;
SELECT 1 AS ok;
SELECT linreg_predict_cols(linreg_fit(y, ARRAY[x1, x2]), 1, 2, 3) FROM bi;
SELECT 1 AS ok;
-- a text argument: named by its position in the call, as linreg_fit_cols
-- does above (there, argument 3 of linreg_fit_cols(y, x1, x2::text)); here
-- 'two' is argument 3 of linreg_predict_cols(model, 1, 'two')
CREATE FUNCTION pg_temp.query_error(q text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLERRM;
END
$$;
SELECT pg_temp.query_error($q$SELECT linreg_predict_cols(linreg_fit(y, ARRAY[x1, x2]), 1, 'two'::text) FROM bi$q$)
       LIKE '%feature argument 3 has type text%' AS names_argument_3,
       pg_temp.query_error($q$SELECT linreg_fit_cols(y, x1, 'two'::text) FROM bi$q$)
       LIKE '%feature argument 3 has type text%' AS fit_cols_names_argument_3;
SELECT 1 AS ok;
SELECT linreg_predict_cols(linreg_fit(y, ARRAY[x1, x2]), VARIADIC ARRAY[1.0, 2.0]) FROM bi;
SELECT 1 AS ok;

--
-- Errors inside a transaction: roll back, and everything still works.
--
BEGIN;
CREATE TEMP TABLE bi_tx AS SELECT linreg_state(y, ARRAY[x1, x2]) AS s FROM bi;
SELECT linreg_fit(y, ARRAY[x1, 'NaN']) FROM bi;
SELECT 1 AS in_failed_tx;
ROLLBACK;
SELECT linreg_rank(linreg_fit(y, ARRAY[x1, x2])) AS rank, linreg_rows(linreg_state(y, ARRAY[x1, x2])) AS rows FROM bi;
-- an error in a window aggregate, then a window fit that works
SELECT linreg_fit(CASE WHEN id = 8 THEN 'NaN' ELSE y END, ARRAY[x1, x2]) OVER (ORDER BY id ROWS 2 PRECEDING) FROM bi;
SELECT count(m) AS fits FROM (SELECT linreg_fit(y, ARRAY[x1, x2]) OVER (ORDER BY id ROWS 2 PRECEDING) AS m FROM bi) AS q;

--
-- Finite inputs whose squares overflow float8 (x near 1e160 and 1e200) or
-- underflow it (x near 1e-160 and 1e-200).  Exactly: x = c (1, 2, 4), y = (1, 2, 3)
-- has intercept 0.5 and slope (9/14) / c.  Acceptable behaviours: the
-- right coefficients, or an error.  Not acceptable: a silently wrong
-- model, or a state or model whose text form cannot be read back.
--
CREATE FUNCTION pg_temp.error_or_close(q text, expect float8[]) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    c float8[];
BEGIN
    BEGIN
        EXECUTE q INTO c;
    EXCEPTION WHEN others THEN
        RETURN true;
    END;
    RETURN c IS NOT NULL AND cardinality(c) = cardinality(expect)
       AND (SELECT bool_and(a IS NOT NULL AND abs(a - b) <= 1e-9 * abs(b)) FROM unnest(c, expect) AS u(a, b));
END
$$;
-- q returns the text of a state (typ = 'linreg_state') or model ('linreg')
CREATE FUNCTION pg_temp.error_or_readable(q text, typ text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    s text;
    r boolean;
BEGIN
    BEGIN
        EXECUTE q INTO s;
    EXCEPTION WHEN others THEN
        RETURN true;
    END;
    BEGIN
        EXECUTE format('SELECT $1::%s::text = $1', typ) INTO r USING s;
        RETURN r;
    EXCEPTION WHEN others THEN
        RETURN false;
    END;
END
$$;
SELECT c, pg_temp.error_or_close(format(
         'SELECT linreg_coefficients(linreg_fit(y, ARRAY[x * %s])) FROM (VALUES (1.0::float8, 1.0::float8), (2, 2), (3, 4)) AS v(y, x)', c),
         ARRAY[0.5, (9 / 14.0::float8) / c::float8]) AS fit_ok,
       pg_temp.error_or_readable(format(
         'SELECT linreg_state(y, ARRAY[x * %s])::text FROM (VALUES (1.0::float8, 1.0::float8), (2, 2), (3, 4)) AS v(y, x)', c),
         'linreg_state') AS state_ok,
       pg_temp.error_or_readable(format(
         'SELECT linreg_fit(y, ARRAY[x * %s])::text FROM (VALUES (1.0::float8, 1.0::float8), (2, 2), (3, 4)) AS v(y, x)', c),
         'linreg') AS model_ok
FROM (VALUES ('1e100'), ('1e150'), ('1e160'), ('1e200'), ('1e-100'), ('1e-150'), ('1e-160'), ('1e-200')) AS t(c);
SELECT 1 AS ok;
