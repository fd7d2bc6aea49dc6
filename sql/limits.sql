--
-- limits: what a caller chooses cannot crash the server, exhaust its memory
-- or hold it past a cancel.
--
-- 1. The output plugin flinkml validates its options (anyone who may peek a
--    slot chooses them) and, before reading any value, checks every column
--    they name against the table's descriptor as of the change: in range,
--    not dropped, of a numeric type.  Each error names the option and the
--    value.  With good options the decoded states equal linreg_state over the
--    same rows.
-- 2. linreg_cv takes at most 100 folds and 1000 lambdas, linreg_ridge_path
--    at most 1000 lambdas; larger values are refused up front, naming the
--    argument, its value and the limit.
-- 3. Their loops check for interrupts: statement_timeout stops a call that
--    would run for many seconds (100 folds x 1000 lambdas over 50 features
--    ran 18 s, 1000 ridge solves over 300 features 27 s, before the checks).
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
DO $$ BEGIN    -- left by an interrupted run
    PERFORM pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'regress_limits';
END $$;
RESET client_min_messages;
\set VERBOSITY terse
-- decoding reads only flushed WAL: each commit here must be flushed when it returns
SET synchronous_commit = on;

-- a and b are the same model: the same rows, skipped rows and rank, and
-- every coefficient within 1e-12 relative (aliased: both NULL)
CREATE FUNCTION pg_temp.same(a linreg, b linreg) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT linreg_rows(a) = linreg_rows(b) AND linreg_skipped(a) = linreg_skipped(b)
       AND linreg_rank(a) = linreg_rank(b)
       AND cardinality(linreg_coefficients(a)) = cardinality(linreg_coefficients(b))
       AND NOT EXISTS (
           SELECT 1 FROM unnest(linreg_coefficients(a), linreg_coefficients(b)) AS u(ca, cb)
           WHERE NOT ((ca IS NULL AND cb IS NULL)
                      OR abs(ca - cb) <= 1e-12 * greatest(abs(ca), abs(cb))))
$$;

--
-- 1. The output plugin.
--
-- attnums: id 1, y 2, a 3 (int), 4 dropped before any change, b 5
-- (numeric), label 6 (text), w 7 (float4), later 8 (dropped after the
-- changes below, before the last one)
CREATE TABLE lim_t (id int, y float8, a int, gone float8, b numeric, label text, w float4, later float8);
ALTER TABLE lim_t REPLICA IDENTITY FULL;
ALTER TABLE lim_t DROP COLUMN gone;
SELECT attnum, attname, atttypid::regtype AS type, attisdropped
FROM pg_attribute WHERE attrelid = 'lim_t'::regclass AND attnum > 0 ORDER BY attnum;
SELECT 'lim_t'::regclass::oid AS relid \gset

-- PostgreSQL 15.20 and later decode only with the plugins listed in
-- output_plugin_libraries: _allow_output_plugin adds flinkml for the
-- transaction (as follow() does)
CREATE FUNCTION pg_temp.peek(opts text[], upto pg_lsn DEFAULT NULL) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM flinkml._allow_output_plugin();
    RETURN QUERY SELECT data FROM pg_logical_slot_peek_changes('regress_limits', upto, NULL, VARIADIC opts);
END $$;
DO $$ BEGIN
    PERFORM flinkml._allow_output_plugin();
    PERFORM pg_create_logical_replication_slot('regress_limits', 'flinkml');
END $$;
SELECT slot_name, plugin, slot_type FROM pg_replication_slots WHERE slot_name = 'regress_limits';

-- transaction 1: 12 rows of y = 1 + 2a - 0.5b exactly
INSERT INTO lim_t (id, y, a, b, label, w, later)
SELECT g, 1 + 2 * g - 0.5 * ((g * g) % 7), g, (g * g) % 7, 'row ' || g, 1 + g % 3, g * 0.25
FROM generate_series(1, 12) g;
SELECT pg_current_wal_lsn() AS lsn1 \gset
CREATE TEMP TABLE ref1 AS
SELECT linreg_state(y, ARRAY[a, b]) AS s, linreg_state(y, ARRAY[a, b], w) AS sw,
       linreg_state_noint(y, ARRAY[a, b]) AS s0, linreg_state(y, ARRAY[a, later]) AS sl,
       sum(w::float8) AS wsum, avg(y) AS ymean
FROM lim_t;
-- transaction 2: an insert, a delete, an update (old row removed, new row
-- added) and a row with a NULL (skipped and counted)
BEGIN;
INSERT INTO lim_t (id, y, a, b, w, later) VALUES (13, 1 + 2 * 13 - 0.5 * 3, 13, 3, 2, 3.25);
DELETE FROM lim_t WHERE id = 1;
UPDATE lim_t SET a = 20, y = 1 + 2 * 20 - 0.5 * b WHERE id = 2;
INSERT INTO lim_t (id, y, a, b, w) VALUES (14, 5, 14, NULL, 1);
COMMIT;
SELECT pg_current_wal_lsn() AS lsn2 \gset

-- attribute numbers the table does not have, or that are no columns
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '30000', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3,30000']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3', 'weight', '30000']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '0', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '-1', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3,-1']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3', 'weight', '-1']);
-- beyond an attribute number's 16 bits (40000 would have wrapped to -25536)
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '40000', 'features', '3']);
-- a dropped column, a text column
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3,4']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '4', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '6']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '6', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3', 'weight', '6']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3', 'weight', '4']);
-- junk text
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', 'y', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2x', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', ' 2', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3,,5']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3,5,']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', 'a,b']);
SELECT * FROM pg_temp.peek(ARRAY['relid', 'lim_t', 'target', '2', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', '-5', 'target', '2', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', '0', 'target', '2', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', '99999999999', 'target', '2', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3', 'intercept', 'maybe']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3', 'colour', 'red']);
-- (an option without a value: PostgreSQL refuses it before the plugin sees it)
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', NULL, 'features', '3']);
-- too many features: LR_MAX_FEATURES is 2000
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2',
                                 'features', array_to_string(array_fill(3, ARRAY[2001]), ',')]);
-- missing and repeated options
SELECT * FROM pg_temp.peek(ARRAY['target', '2', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3', 'target', '30000']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3', 'features', '5']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'relid', :'relid', 'target', '2', 'features', '3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3', 'weight', '0', 'weight', '7']);
-- the server is still up, and the slot where it was
SELECT count(*) AS lines FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3,5']);

-- good options: one line per transaction that touched the table
CREATE TEMP VIEW lim_opts(name, opts) AS VALUES
    ('plain', ARRAY['relid', :'relid', 'target', '2', 'features', '3,5']),
    ('weighted', ARRAY['relid', :'relid', 'target', '2', 'features', '3,5', 'weight', '7', 'intercept', 'true']),
    ('noint', ARRAY['relid', :'relid', 'target', '2', 'features', '3,5', 'weight', '0', 'intercept', 'false']),
    ('later', ARRAY['relid', :'relid', 'target', '2', 'features', '3,8']),
    ('none', ARRAY['relid', :'relid', 'target', '2', 'features', '']);
CREATE FUNCTION pg_temp.lines(which text, upto pg_lsn DEFAULT NULL)
RETURNS TABLE (n bigint, flag text, changes bigint, added linreg_state, removed linreg_state, committed timestamptz)
LANGUAGE sql AS $$
    SELECT row_number() OVER (), split_part(d, E'\t', 1), split_part(d, E'\t', 2)::bigint,
           nullif(split_part(d, E'\t', 3), '-')::linreg_state,
           nullif(split_part(d, E'\t', 4), '-')::linreg_state,
           split_part(d, E'\t', 5)::timestamptz
    FROM pg_temp.peek((SELECT opts FROM lim_opts WHERE name = which), upto) AS d
$$;
SELECT n, flag, changes, linreg_rows(added) AS added_rows, linreg_skipped(added) AS added_skipped,
       linreg_features(added) AS p, linreg_rows(removed) AS removed_rows,
       committed BETWEEN now() - interval '1 hour' AND now() AS committed_ok
FROM pg_temp.lines('plain') ORDER BY n;
-- transaction 1's state is linreg_state over its 12 rows, and the model is
-- the true one
SELECT pg_temp.same(linreg_solve(l.added), linreg_solve(r.s)) AS same,
       linreg_weight_sum(l.added) AS wsum,
       (SELECT array_agg(round(c::numeric, 9)) FROM unnest(linreg_coefficients(linreg_solve(l.added))) c) AS coef
FROM pg_temp.lines('plain') l, ref1 r WHERE l.n = 1;
SELECT pg_temp.same(linreg_solve(l.added), linreg_solve(r.sw)) AS same,
       linreg_weight_sum(l.added) = r.wsum AS wsum_ok, linreg_weight_sum(l.added) AS wsum
FROM pg_temp.lines('weighted') l, ref1 r WHERE l.n = 1;
SELECT pg_temp.same(linreg_solve(l.added), linreg_solve(r.s0)) AS same,
       cardinality(linreg_coefficients(linreg_solve(l.added))) AS terms
FROM pg_temp.lines('noint') l, ref1 r WHERE l.n = 1;
SELECT linreg_rows(l.added) AS rows, linreg_features(l.added) AS p,
       abs(linreg_intercept(linreg_solve(l.added)) - r.ymean) < 1e-12 AS mean_ok
FROM pg_temp.lines('none') l, ref1 r WHERE l.n = 1;
-- both transactions: what was added less what was removed is the table now
SELECT pg_temp.same(linreg_solve(linreg_merge(added) - linreg_merge(removed)),
                    (SELECT linreg_fit(y, ARRAY[a, b]) FROM lim_t)) AS same,
       linreg_rows(linreg_merge(added) - linreg_merge(removed)) AS rows,
       (SELECT count(*) FROM lim_t WHERE b IS NOT NULL) AS table_rows
FROM pg_temp.lines('plain');

-- option binary (what followers use): the same states as the hexadecimal
-- digits of their binary form, which flinkml._wire_state reads back bit for
-- bit (the JSON text of each is the JSON line's); _wire_state reads the
-- JSON form too, and refuses what linreg_state_recv refuses
SELECT count(*) AS lines,
       bool_and(split_part(b, E'\t', 3) ~ '^([0-9a-f]+|-)$' AND split_part(b, E'\t', 4) ~ '^([0-9a-f]+|-)$') AS hex,
       bool_and(coalesce(flinkml._wire_state(nullif(split_part(b, E'\t', 3), '-'))::text, '-') = split_part(j, E'\t', 3)
                AND coalesce(flinkml._wire_state(nullif(split_part(b, E'\t', 4), '-'))::text, '-') = split_part(j, E'\t', 4)
                AND coalesce(flinkml._wire_state(nullif(split_part(j, E'\t', 3), '-'))::text, '-') = split_part(j, E'\t', 3)
                AND split_part(b, E'\t', 1) = split_part(j, E'\t', 1) AND split_part(b, E'\t', 2) = split_part(j, E'\t', 2)
                AND split_part(b, E'\t', 5) = split_part(j, E'\t', 5)) AS same
FROM (SELECT row_number() OVER () AS n, d AS j
      FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3,5', 'weight', '7']) AS d) x
JOIN (SELECT row_number() OVER () AS n, d AS b
      FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3,5', 'weight', '7', 'binary', 'true']) AS d) y
USING (n);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3', 'binary', 'hex']);
SELECT encode(linreg_state_send(s), 'hex') AS good FROM ref1 \gset
SELECT linreg_rows(flinkml._wire_state(:'good')) AS rows,
       flinkml._wire_state(:'good')::text = (SELECT s::text FROM ref1) AS same;
SELECT flinkml._wire_state(:'good' || '0');
SELECT flinkml._wire_state(:'good' || '00');
SELECT flinkml._wire_state(left(:'good', 40));
SELECT flinkml._wire_state('zz' || :'good');
-- a NaN for the weight sum (bytes 23 to 30 of the binary form)
SELECT flinkml._wire_state(overlay(:'good' placing '7ff8000000000000' from 45 for 16));
SELECT flinkml._wire_state('{"version":1}');

-- The columns are checked against the table as each change saw it.  Drop
-- "later" (attnum 8) and add "added" (attnum 9), then one more transaction.
ALTER TABLE lim_t DROP COLUMN later;
ALTER TABLE lim_t ADD COLUMN added float8;
INSERT INTO lim_t (id, y, a, b, w, added) VALUES (15, 1 + 2 * 15 - 0.5 * 1, 15, 1, 1, 7);
-- "later" was a column when transactions 1 and 2 changed the table ...
SELECT pg_temp.same(linreg_solve(l.added), linreg_solve(r.sl)) AS same
FROM pg_temp.lines('later', :'lsn2') l, ref1 r WHERE l.n = 1;
SELECT count(*) AS lines FROM pg_temp.lines('later', :'lsn2');
-- ... but not when transaction 3 did
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3,8']);
-- and "added" was none yet for transaction 1
SELECT * FROM pg_temp.peek(ARRAY['relid', :'relid', 'target', '2', 'features', '3,9']);
SELECT count(*) AS lines FROM pg_temp.lines('plain');

SELECT pg_drop_replication_slot('regress_limits');
SELECT count(*) AS slots FROM pg_replication_slots WHERE slot_name = 'regress_limits';

--
-- 2. Bounds of linreg_cv and linreg_ridge_path.
--
-- y = 3 + 2 x1 - x2 exactly: lambda 0 fits every fold exactly
CREATE TABLE lim_cv AS
SELECT g AS id, 3 + 2 * (g % 17) - (g * 7 % 11)::float8 AS y, ARRAY[(g % 17)::float8, (g * 7 % 11)::float8] AS x
FROM generate_series(1, 300) g;
SELECT linreg_cv(y, x, id, 101, ARRAY[0, 1]) FROM lim_cv;
SELECT linreg_cv(y, x, id, 1000000, ARRAY[0, 1]) FROM lim_cv;
SELECT linreg_cv(y, x, id, 2147483647, ARRAY[0, 1]) FROM lim_cv;
SELECT linreg_cv(y, x, id, 5, array_fill(0.5::float8, ARRAY[1001])) FROM lim_cv;
SELECT linreg_cv(y, x, id, 5, array_fill(0.5::float8, ARRAY[2, 501])) FROM lim_cv;
-- the bounds themselves are allowed
SELECT best_lambda, cardinality(cv_mse) AS lambdas, cv_mse[1] < 1e-20 AS exact_at_0,
       linreg_rows(model) AS rows
FROM (SELECT (linreg_cv(y, x, id, 100, ARRAY[0, 0.5, 2])).* FROM lim_cv) t;
SELECT best_lambda, cardinality(cv_mse) AS lambdas, cv_mse[1] < 1e-20 AS exact_at_0,
       (SELECT bool_and(v > cv_mse[1]) FROM unnest(cv_mse[2:]) v) AS penalised_worse
FROM (SELECT (linreg_cv(y, x, id, 5, array_prepend(0::float8, array_fill(0.5::float8, ARRAY[999])))).* FROM lim_cv) t;
CREATE TEMP TABLE lim_cv_state AS SELECT linreg_state(y, x) AS s FROM lim_cv;
SELECT count(*) FROM linreg_ridge_path((SELECT s FROM lim_cv_state), array_fill(0.5::float8, ARRAY[1001]));
SELECT count(*) FROM linreg_ridge_path((SELECT s FROM lim_cv_state), array_fill(0.5::float8, ARRAY[10, 101]));
-- 1000 lambdas 0, 0.01, ..., 9.99: the exact fit at 0, slopes shrinking as lambda grows
WITH p AS (
    SELECT lambda, coefficients AS c,
           lag(abs(coefficients[2]) + abs(coefficients[3])) OVER (ORDER BY lambda) AS prev
    FROM linreg_ridge_path((SELECT s FROM lim_cv_state), ARRAY(SELECT g * 0.01 FROM generate_series(0, 999) g)))
SELECT count(*) AS rows, min(lambda) AS min_lambda, max(lambda) AS max_lambda,
       (SELECT array_agg(round(v::numeric, 9)) FROM unnest((SELECT c FROM p WHERE lambda = 0)) v) AS at_0,
       bool_and(prev IS NULL OR abs(c[2]) + abs(c[3]) < prev) AS shrinking
FROM p;

--
-- 3. Cancellation: statement_timeout stops the loops.
--
-- 2000 rows of 50 features; a 300-feature state
CREATE TABLE lim_wide AS
SELECT g AS id, sin(g * 0.37) * 10 + g % 7 AS y,
       ARRAY(SELECT sin(g * j * 0.013 + j) FROM generate_series(1, 50) j) AS x
FROM generate_series(1, 2000) g;
CREATE TABLE lim_wide_state AS
SELECT linreg_state(sin(g * 0.37) * 10 + g % 7, ARRAY(SELECT sin(g * j * 0.013 + j) FROM generate_series(1, 300) j)) AS s
FROM generate_series(1, 400) g;
SET statement_timeout = '300ms';
-- 100 x 1000 ridge solves of 50 features
SELECT (linreg_cv(y, x, id, 100, array_fill(0.5::float8, ARRAY[1000]))).best_lambda FROM lim_wide;
-- 1000 ridge solves of 300 features
SELECT count(*) FROM linreg_ridge_path((SELECT s FROM lim_wide_state), array_fill(0.5::float8, ARRAY[1000]));
RESET statement_timeout;
SELECT count(*) FROM linreg_ridge_path((SELECT s FROM lim_wide_state), ARRAY[0.5]);

DROP TABLE lim_t, lim_cv, lim_wide, lim_wide_state;
