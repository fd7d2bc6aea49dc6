--
-- types: the linreg_state and linreg types.  Text and binary forms round-trip
-- bit-exactly, values survive being stored in tables (TOASTed ones too), the
-- text form is JSON that jsonb can inspect, and malformed, truncated,
-- inconsistent or hostile input is rejected with an error saying why.
--
-- (the extension may exist already when this runs after the other tests)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;
\set VERBOSITY terse

-- The error message that reading t as type typ raises ('no error' if none).
CREATE FUNCTION pg_temp.input_error(t text, typ text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT $1::%s', typ) USING t;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLERRM;
END
$$;

-- Non-trivial float data (divisions by 7, 11, 13: inexact, so the
-- double-double low parts are nonzero and every number needs 17 digits).
CREATE TEMP TABLE ty_data AS
SELECT i AS id,
       (i % 17) / 3.0::float8 + i / 11.0::float8 AS y,
       i / 7.0::float8 AS x1,
       (i * i % 13) / 13.0::float8 - 0.5 AS x2,
       CASE WHEN i % 10 = 0 THEN NULL ELSE i / 4.0::float8 END AS w
FROM generate_series(1, 60) AS i;

-- A set of states and models of every shape: 2 features with intercept,
-- weighted, without intercept, intercept only, a state that has seen only
-- NULL rows, a wide one (30 features) and a rank-deficient model.
CREATE TEMP TABLE ty_vals (name text PRIMARY KEY, s linreg_state, m linreg);
INSERT INTO ty_vals
SELECT 'two', linreg_state(y, ARRAY[x1, x2]), linreg_fit(y, ARRAY[x1, x2]) FROM ty_data
UNION ALL
SELECT 'weighted', linreg_state(y, ARRAY[x1, x2], w), linreg_fit(y, ARRAY[x1, x2], w) FROM ty_data
UNION ALL
SELECT 'noint', linreg_state_noint(y, ARRAY[x1]), linreg_fit_noint(y, ARRAY[x1]) FROM ty_data
UNION ALL
SELECT 'icpt_only', linreg_state(y, ARRAY[]::float8[]), linreg_fit(y, ARRAY[]::float8[]) FROM ty_data
UNION ALL
SELECT 'all_null', linreg_state(y, ARRAY[x1, NULL]), linreg_fit(y, ARRAY[x1, NULL]) FROM ty_data
UNION ALL
SELECT 'aliased', linreg_state(y, ARRAY[x1, x2, x1 + x2]), linreg_fit(y, ARRAY[x1, x2, x1 + x2]) FROM ty_data
UNION ALL
SELECT 'wide', linreg_state(y, f), linreg_fit(y, f)
FROM (SELECT y, ARRAY(SELECT x1 * j + ((id * j) % 7) / 3.0 FROM generate_series(1, 30) AS j) AS f
      FROM ty_data) AS q;

-- Text round trip: text -> value -> text is the identity, and the value read
-- back has the same bits (its binary send form is byte-identical).
SELECT name,
       s::text::linreg_state::text = s::text AS state_text_rt,
       linreg_state_send(s::text::linreg_state) = linreg_state_send(s) AS state_bits_rt,
       m::text::linreg::text = m::text AS model_text_rt,
       linreg_send(m::text::linreg) = linreg_send(m) AS model_bits_rt
FROM ty_vals ORDER BY name;

-- Coefficients read back from text are the same float8 values.
SELECT name, linreg_coefficients(m::text::linreg) IS NOT DISTINCT FROM linreg_coefficients(m) AS coef_same
FROM ty_vals ORDER BY name;

-- A hand-written state: rows (x=1, y=1), (x=2, y=3).  The shift is the first
-- row, so the shifted rows are (0, 0) and (1, 2): sums [1, 2], cross products
-- xx = 1, xy = 2, yy = 4.  Input equals the aggregate and prints canonically.
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state::text
     = (SELECT linreg_state(y, ARRAY[x] ORDER BY id)
        FROM (VALUES (1, 1.0::float8, 1.0::float8), (2, 3.0, 2.0)) AS v(id, y, x))::text AS literal_is_aggregate;
-- Any JSON whitespace between tokens is accepted; output is canonical.
SELECT E'{ "version" : 1 ,\n "features": 1, "intercept": true, "rows": 2, "skipped": 0,\t"wsum": [ 2, 0 ], "logw": [0, 0],
  "shift": [1, 1], "sum_hi": [1, 2], "sum_lo": [0, 0], "cross_hi": [1, 2, 4], "cross_lo": [0, 0, 0] }'::linreg_state;
-- The line through (1, 1) and (2, 3) is y = -1 + 2x.
SELECT linreg_coefficients(linreg_solve('{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'));
-- A hand-written model of that fit reads back and answers its accessors.
SELECT linreg_coefficients(m), linreg_intercept(m), linreg_rank(m), linreg_rows(m),
       linreg_features(m), linreg_cond(m), linreg_predict(m, ARRAY[10.0])
FROM (SELECT '{"version":1,"features":1,"intercept":true,"rank":2,"rows":2,"skipped":0,"cond":1,"lambda":0,"method":"lapack","names":null,"coef":[-1,2],"state":{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}}'::linreg AS m) AS q;

-- Binary round trip through COPY (FORMAT binary), which calls the send and
-- receive functions: copy out to a file, copy into another table, compare.
\getenv abs_builddir PG_ABS_BUILDDIR
\set binfile :abs_builddir '/results/types_vals.bin'
CREATE TEMP TABLE ty_vals2 (LIKE ty_vals);
COPY (SELECT name, s, m FROM ty_vals ORDER BY name) TO STDOUT (FORMAT binary) \g :binfile
\set copy_in '\\copy ty_vals2 FROM ' :'binfile' ' (FORMAT binary)'
:copy_in
SELECT a.name,
       linreg_state_send(a.s) = linreg_state_send(b.s) AS state_bits_rt,
       a.s::text = b.s::text AS state_text_same,
       linreg_send(a.m) IS NOT DISTINCT FROM linreg_send(b.m) AS model_bits_rt,
       a.m::text IS NOT DISTINCT FROM b.m::text AS model_text_same
FROM ty_vals AS a JOIN ty_vals2 AS b USING (name) ORDER BY name;

-- Stored values (the wide ones, about 9 kB, are TOASTed) read back equal
-- to the values recomputed from the data.
SELECT (SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'ty_vals'::regclass) > 0 AS toasted,
       s::text = (SELECT linreg_state(y, ARRAY(SELECT x1 * j + ((id * j) % 7) / 3.0 FROM generate_series(1, 30) AS j))
                  FROM ty_data)::text AS state_reads_back,
       m::text = (SELECT linreg_fit(y, ARRAY(SELECT x1 * j + ((id * j) % 7) / 3.0 FROM generate_series(1, 30) AS j))
                  FROM ty_data)::text AS model_reads_back
FROM ty_vals WHERE name = 'wide';
SELECT s::text = (SELECT linreg_state(y, ARRAY[x1, x2], w) FROM ty_data)::text AS state_reads_back,
       m::text = (SELECT linreg_fit(y, ARRAY[x1, x2], w) FROM ty_data)::text AS model_reads_back
FROM ty_vals WHERE name = 'weighted';
-- Updating a stored state in place with new rows.
CREATE TEMP TABLE ty_store (k int PRIMARY KEY, s linreg_state);
INSERT INTO ty_store SELECT 1, linreg_state(y, ARRAY[x1, x2]) FROM ty_data WHERE id <= 30;
UPDATE ty_store SET s = s + (SELECT linreg_state(y, ARRAY[x1, x2]) FROM ty_data WHERE id > 30) WHERE k = 1;
SELECT linreg_rows(s) AS rows, linreg_skipped(s) AS skipped,
       s::text::linreg_state::text = s::text AS text_rt
FROM ty_store;

-- Inspecting the JSON: counts, flags, array lengths ((p+1)(p+2)/2 cross
-- products for p features), coefficients of aliased terms as null.
SELECT name,
       s::text::jsonb -> 'rows' AS rows,
       s::text::jsonb -> 'skipped' AS skipped,
       s::text::jsonb -> 'features' AS features,
       s::text::jsonb -> 'intercept' AS intercept,
       jsonb_array_length(s::text::jsonb -> 'cross_hi') AS ncross,
       jsonb_array_length(s::text::jsonb -> 'shift') AS nshift
FROM ty_vals ORDER BY name;
SELECT name,
       m::text::jsonb -> 'rank' AS rank,
       m::text::jsonb -> 'rows' AS rows,
       jsonb_array_length(m::text::jsonb -> 'coef') AS ncoef,
       (SELECT count(*) FROM jsonb_array_elements(m::text::jsonb -> 'coef') AS e WHERE e = 'null') AS nnull,
       (m::text::jsonb -> 'state') = s::text::jsonb AS embeds_state
FROM ty_vals WHERE m IS NOT NULL ORDER BY name;
-- The weight sum in the JSON is the sum of the weights (exact: quarters), and
-- logw the sum of their logarithms (0 for unweighted states).
SELECT (s::text::jsonb -> 'wsum' ->> 0)::float8 = (SELECT sum(w) FROM ty_data) AS wsum_ok,
       abs((s::text::jsonb -> 'logw' ->> 0)::float8 - (SELECT sum(ln(w)) FROM ty_data))
           <= 1e-12 * (SELECT sum(ln(w)) FROM ty_data) AS logw_ok
FROM ty_vals WHERE name = 'weighted';
SELECT name, s::text::jsonb -> 'logw' AS logw FROM ty_vals WHERE name IN ('two', 'noint', 'all_null') ORDER BY name;

--
-- Malformed text.  Each variant of the valid literal above is rejected.
--
-- truncated, anywhere (every proper prefix of a valid state is rejected)
SELECT count(*) AS prefixes,
       count(*) FILTER (WHERE pg_temp.input_error(left(t, n), 'linreg_state') LIKE 'invalid input syntax for type linreg_state: %') AS rejected
FROM (SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::text AS t) AS v,
     generate_series(0, length(t) - 1) AS n;
-- empty string, whitespace only, not an object
SELECT ''::linreg_state;
SELECT '   '::linreg_state;
SELECT '[1,2,3]'::linreg_state;
-- NaN and Infinity are not JSON numbers
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[NaN,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[Infinity,2,4],"cross_lo":[0,0,0]}'::linreg_state;
-- a number that overflows float8
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1e400,2,4],"cross_lo":[0,0,0]}'::linreg_state;
-- wrong array lengths: too many values, and too few (the message names the
-- array and both counts)
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4,5],"cross_lo":[0,0,0]}'::linreg_state;
SELECT pg_temp.input_error('{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2],"cross_lo":[0,0,0]}', 'linreg_state')
       LIKE 'invalid input syntax for type linreg_state: at character %: cross_hi: expected 3 values, found 2' AS cross_hi_too_few,
       pg_temp.input_error('{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}', 'linreg_state')
       LIKE 'invalid input syntax for type linreg_state: at character %: wsum: expected 2 values, found 1' AS wsum_too_few,
       pg_temp.input_error('{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}', 'linreg_state')
       LIKE 'invalid input syntax for type linreg_state: at character %: shift: expected 2 values, found 1' AS shift_too_few,
       pg_temp.input_error('{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}', 'linreg_state')
       LIKE 'invalid input syntax for type linreg_state: at character %: shift: expected 2 values, found 0' AS shift_empty;
-- rows = 0 with nonzero sums
SELECT '{"version":1,"features":1,"intercept":true,"rows":0,"skipped":0,"wsum":[0,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
-- rows = 0 with a nonzero weight sum
SELECT '{"version":1,"features":1,"intercept":true,"rows":0,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[0,0],"sum_hi":[0,0],"sum_lo":[0,0],"cross_hi":[0,0,0],"cross_lo":[0,0,0]}'::linreg_state;
-- rows > 0 with a zero weight sum
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[0,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
-- rows = 0 with a nonzero sum of log weights
SELECT '{"version":1,"features":1,"intercept":true,"rows":0,"skipped":0,"wsum":[0,0],"logw":[0.5,0],"shift":[0,0],"sum_hi":[0,0],"sum_lo":[0,0],"cross_hi":[0,0,0],"cross_lo":[0,0,0]}'::linreg_state;
-- a state without the "logw" key
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
-- no intercept but a nonzero shift
SELECT '{"version":1,"features":1,"intercept":false,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
-- feature count over the limit (2000), negative, not an integer
SELECT '{"version":1,"features":5000,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
SELECT '{"version":1,"features":-1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
SELECT '{"version":1,"features":1.5,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
-- a feature count that would be a 32 MB state, with arrays that do not match it
SELECT pg_temp.input_error('{"version":1,"features":2000,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}', 'linreg_state')
       LIKE 'invalid input syntax for type linreg_state: at character %: shift: expected 2001 values, found 2' AS shift_too_few;
-- negative row and skip counts; a row count beyond int8
SELECT '{"version":1,"features":1,"intercept":true,"rows":-2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":-1,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
SELECT '{"version":1,"features":1,"intercept":true,"rows":99999999999999999999,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
-- sums that no data can produce: a negative sum of squares, and a sum too
-- large for its sum of squares (Cauchy-Schwarz)
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[-1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[10,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
-- no features seen, but rows claimed
SELECT '{"version":1,"features":null,"intercept":true,"rows":3,"skipped":0,"wsum":[3,0],"logw":[0,0],"shift":[],"sum_hi":[],"sum_lo":[],"cross_hi":[],"cross_lo":[]}'::linreg_state;
-- trailing garbage, unknown version, keys out of order, a missing key, an extra key
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]} x'::linreg_state;
SELECT '{"version":2,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
SELECT '{"features":1,"version":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
SELECT '{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0],"extra":1}'::linreg_state;
-- hostile: an absurdly long number, deep nesting, a quoted number, a bad boolean
SELECT ('{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,' || repeat('4', 100) || '],"cross_lo":[0,0,0]}')::linreg_state;
SELECT (repeat('[', 10000) || repeat(']', 10000))::linreg_state;
SELECT '{"version":"1","features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
SELECT '{"version":1,"features":1,"intercept":yes,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}'::linreg_state;
SELECT 1 AS still_alive;

-- Malformed models, as edits of the valid model text above.
CREATE TEMP TABLE ty_model_text (t text);
INSERT INTO ty_model_text VALUES ('{"version":1,"features":1,"intercept":true,"rank":2,"rows":2,"skipped":0,"cond":1,"lambda":0,"method":"lapack","names":null,"coef":[-1,2],"state":{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}}');
SELECT t::linreg IS NOT NULL AS valid FROM ty_model_text;
-- rank that does not match the aliased (null) coefficients
SELECT replace(t, '"rank":2', '"rank":1')::linreg FROM ty_model_text;
-- rank beyond the number of terms
SELECT replace(t, '"rank":2', '"rank":3')::linreg FROM ty_model_text;
-- too many and too few coefficients
SELECT replace(t, '"coef":[-1,2]', '"coef":[-1,2,3]')::linreg FROM ty_model_text;
SELECT pg_temp.input_error(replace(t, '"coef":[-1,2]', '"coef":[-1]'), 'linreg')
       LIKE 'invalid input syntax for type linreg: at character %: coef: expected 2 values, found 1' AS coef_too_few
FROM ty_model_text;
-- an aliased intercept
SELECT replace(replace(t, '"coef":[-1,2]', '"coef":[null,2]'), '"rank":2', '"rank":1')::linreg FROM ty_model_text;
-- condition number below 1
SELECT replace(t, '"cond":1', '"cond":0.5')::linreg FROM ty_model_text;
-- unknown method
SELECT replace(t, '"method":"lapack"', '"method":"magic"')::linreg FROM ty_model_text;
-- a model of 0 rows
SELECT replace(t, '"rank":2,"rows":2', '"rank":2,"rows":0')::linreg FROM ty_model_text;
-- row counts that differ from the embedded state's
SELECT replace(t, '"rank":2,"rows":2', '"rank":2,"rows":3')::linreg FROM ty_model_text;
-- an embedded state without intercept under a model with one
SELECT replace(t, '"state":{"version":1,"features":1,"intercept":true', '"state":{"version":1,"features":1,"intercept":false')::linreg FROM ty_model_text;
-- a valid state without intercept (same rows: sums [3, 4], cross 5, 7, 10)
-- embedded in a model with one
SELECT replace(t, '"state":{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4]',
                  '"state":{"version":1,"features":1,"intercept":false,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[0,0],"sum_hi":[3,4],"sum_lo":[0,0],"cross_hi":[5,7,10]')::linreg
FROM ty_model_text;
-- an embedded state that is itself inconsistent
SELECT replace(t, '"cross_hi":[1,2,4]', '"cross_hi":[-1,2,4]')::linreg FROM ty_model_text;
-- trailing garbage; truncation anywhere
SELECT (t || '}')::linreg FROM ty_model_text;
SELECT count(*) AS prefixes,
       count(*) FILTER (WHERE pg_temp.input_error(left(t, n), 'linreg') LIKE 'invalid input syntax for type linreg: %') AS rejected
FROM ty_model_text, generate_series(0, length(t) - 1) AS n;
SELECT 1 AS still_alive;

--
-- Malformed binary input.  Binary COPY carries no type information, so the
-- send form of a valid state, edited as bytea and copied out as a bytea
-- column, reaches linreg_state's receive function when copied into a
-- linreg_state column.  Layout: version (1 byte), intercept (1), features
-- (int4), rows (int8), skipped (int8), then float8s: the sums, the last of
-- which is the last cross product's low part.
--
CREATE TEMP TABLE ty_bin (k int, b bytea);
INSERT INTO ty_bin
SELECT k, CASE k
          WHEN 0 THEN b                                                 -- valid
          WHEN 1 THEN substring(b FROM 1 FOR length(b) - 8)             -- truncated
          WHEN 2 THEN b || '\x00'::bytea                                -- trailing byte
          WHEN 3 THEN set_byte(b, 0, 9)                                 -- version 9
          WHEN 4 THEN overlay(b PLACING '\x00001388'::bytea FROM 3 FOR 4) -- 5000 features
          WHEN 5 THEN overlay(b PLACING '\xffffffffffffffff'::bytea FROM 7 FOR 8) -- rows -1
          WHEN 6 THEN overlay(b PLACING '\x7ff8000000000000'::bytea FROM length(b) - 7 FOR 8) -- NaN sum
          WHEN 7 THEN set_byte(b, 1, 0)                                 -- intercept off, shift nonzero
          END
FROM (SELECT linreg_state_send('{"version":1,"features":1,"intercept":true,"rows":2,"skipped":0,"wsum":[2,0],"logw":[0,0],"shift":[1,1],"sum_hi":[1,2],"sum_lo":[0,0],"cross_hi":[1,2,4],"cross_lo":[0,0,0]}') AS b) AS v,
     generate_series(0, 7) AS k;
CREATE TEMP TABLE ty_bin_in (s linreg_state);
\set badfile :abs_builddir '/results/types_bad.bin'
\set copy_bad '\\copy ty_bin_in FROM ' :'badfile' ' (FORMAT binary)'
COPY (SELECT b FROM ty_bin WHERE k = 0) TO STDOUT (FORMAT binary) \g :badfile
:copy_bad
SELECT s::text FROM ty_bin_in;
COPY (SELECT b FROM ty_bin WHERE k = 1) TO STDOUT (FORMAT binary) \g :badfile
:copy_bad
COPY (SELECT b FROM ty_bin WHERE k = 2) TO STDOUT (FORMAT binary) \g :badfile
:copy_bad
COPY (SELECT b FROM ty_bin WHERE k = 3) TO STDOUT (FORMAT binary) \g :badfile
:copy_bad
COPY (SELECT b FROM ty_bin WHERE k = 4) TO STDOUT (FORMAT binary) \g :badfile
:copy_bad
COPY (SELECT b FROM ty_bin WHERE k = 5) TO STDOUT (FORMAT binary) \g :badfile
:copy_bad
COPY (SELECT b FROM ty_bin WHERE k = 6) TO STDOUT (FORMAT binary) \g :badfile
:copy_bad
COPY (SELECT b FROM ty_bin WHERE k = 7) TO STDOUT (FORMAT binary) \g :badfile
:copy_bad
-- only the valid one went in
SELECT count(*) FROM ty_bin_in;
SELECT 1 AS still_alive;
