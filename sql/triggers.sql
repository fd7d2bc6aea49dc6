--
-- triggers: flinkml.attach installs statement-level AFTER triggers with
-- transition tables; INSERT, UPDATE, DELETE (single- and multi-row, rows with
-- NULLs skipped and counted), upserts, MERGE and TRUNCATE keep
-- flinkml.current_model equal to a fresh fit over the table (every
-- coefficient within 1e-9 relative, same rows and skipped rows).  Rolled-back
-- transactions and savepoints leave no trace; compact() folds the deltas into
-- a new version without changing the model; detach stops the maintenance.
-- Weighted and no-intercept models, several models on one table.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
DROP ROLE IF EXISTS regress_flinkml_writer;	-- left by an interrupted run
RESET client_min_messages;
\set VERBOSITY terse

-- a and b are the same model: both NULL (no rows), or the same rows, skipped
-- rows, rank, and every coefficient within 1e-9 relative (aliased: both NULL)
CREATE FUNCTION pg_temp.same(a linreg, b linreg) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN a IS NULL OR b IS NULL THEN a IS NULL AND b IS NULL
    ELSE linreg_rows(a) = linreg_rows(b) AND linreg_skipped(a) = linreg_skipped(b)
         AND linreg_rank(a) = linreg_rank(b)
         AND cardinality(linreg_coefficients(a)) = cardinality(linreg_coefficients(b))
         AND NOT EXISTS (
             SELECT 1 FROM unnest(linreg_coefficients(a), linreg_coefficients(b)) AS u(ca, cb)
             WHERE NOT ((ca IS NULL AND cb IS NULL)
                        OR abs(ca - cb) <= 1e-9 * greatest(abs(ca), abs(cb))))
    END
$$;
CREATE FUNCTION pg_temp.deltas(model text) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT count(*) FROM flinkml.deltas d WHERE d.model = deltas.model $$;

--
-- The table: y = 4 + 1.5 a - 2 b + 0.7 c + noise, with a float8, b numeric
-- and c integer columns.
--
CREATE TABLE trg_t (id int PRIMARY KEY, y float8, a float8, b numeric, c int);
CREATE FUNCTION pg_temp.gen(lo int, hi int) RETURNS SETOF trg_t
LANGUAGE sql IMMUTABLE AS $$
    SELECT g, 4 + 1.5 * ((g * 37) % 101) / 10.0 - 2 * (((g * 53) % 97) / 7.0 - 5)
              + 0.7 * (g % 11) + ((g * 71) % 23 - 11) / 5.0,
           ((g * 37) % 101) / 10.0, round(((g * 53) % 97) / 7.0 - 5, 6), g % 11
    FROM generate_series(lo, hi) AS g
$$;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(1, 200);
-- the reference: a fresh fit over the table as it is
CREATE FUNCTION pg_temp.exact() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pg_temp.same(flinkml.current_model('trg_m'), (SELECT linreg_fit(y, ARRAY[a, b, c]) FROM trg_t))
$$;

SELECT flinkml.create_model('trg_m', 'trg_t', 'y', ARRAY['a', 'b', 'c']);
SELECT flinkml.attach('trg_m');
SELECT attached, head_version, active_version FROM flinkml.models WHERE name = 'trg_m';
SELECT version, active, made_by, rows FROM flinkml.versions('trg_m');
SELECT tgname, tgtype, tgoldtable IS NOT NULL AS old_rows, tgnewtable IS NOT NULL AS new_rows
FROM pg_trigger WHERE tgrelid = 'trg_t'::regclass ORDER BY tgname COLLATE "C";
SELECT flinkml.attach('trg_m');
SELECT pg_temp.exact() AS exact, pg_temp.deltas('trg_m') AS deltas;
-- the coefficients are far from zero, so relative differences are meaningful
SELECT bool_and(abs(c) > 0.1) AS well_away_from_zero
FROM unnest(linreg_coefficients(flinkml.current_model('trg_m'))) AS c;

--
-- INSERT: one row, many rows.  One delta row per statement.
--
INSERT INTO trg_t VALUES (1001, 7.5, 3.2, 1.5, 4);
SELECT pg_temp.exact() AS exact, pg_temp.deltas('trg_m') AS deltas;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(1002, 1100);
SELECT pg_temp.exact() AS exact, pg_temp.deltas('trg_m') AS deltas;
-- rows with NULLs are skipped and counted, in multi-row and single-row statements
INSERT INTO trg_t VALUES (2001, NULL, 1, 1, 1), (2002, 5, NULL, 2, 2), (2003, 6, 1, NULL, 3),
                         (2004, 7, 2, 2, NULL), (2005, 8, 2, 3, 4);
SELECT pg_temp.exact() AS exact, pg_temp.deltas('trg_m') AS deltas;
INSERT INTO trg_t VALUES (2006, NULL, NULL, NULL, NULL);
SELECT pg_temp.exact() AS exact, pg_temp.deltas('trg_m') AS deltas;
SELECT linreg_rows(m) AS rows, linreg_skipped(m) AS skipped,
       (SELECT count(*) FROM trg_t) AS table_rows,
       (SELECT count(*) FROM trg_t WHERE y IS NULL OR a IS NULL OR b IS NULL OR c IS NULL) AS table_nulls
FROM flinkml.current_model('trg_m') AS m;

--
-- UPDATE: one row, many rows, rows becoming NULL and rows ceasing to be NULL,
-- a key-only update.
--
UPDATE trg_t SET y = y + 10 WHERE id = 1001;
SELECT pg_temp.exact() AS exact, pg_temp.deltas('trg_m') AS deltas;
UPDATE trg_t SET a = a * 1.1 + 0.3, c = c + 1 WHERE id % 3 = 0;
SELECT pg_temp.exact() AS exact, pg_temp.deltas('trg_m') AS deltas;
UPDATE trg_t SET y = NULL WHERE id IN (5, 6);
UPDATE trg_t SET a = 1.25 WHERE id = 2002;
UPDATE trg_t SET y = 3, a = 4, b = 5, c = 6 WHERE id = 2006;
SELECT pg_temp.exact() AS exact, pg_temp.deltas('trg_m') AS deltas;
SELECT linreg_skipped(flinkml.current_model('trg_m')) AS skipped,
       (SELECT count(*) FROM trg_t WHERE y IS NULL OR a IS NULL OR b IS NULL OR c IS NULL) AS table_nulls;
UPDATE trg_t SET id = id + 100000 WHERE id BETWEEN 10 AND 19;
SELECT pg_temp.exact() AS exact;
-- statements that change no rows change nothing
UPDATE trg_t SET y = 0 WHERE false;
DELETE FROM trg_t WHERE false;
INSERT INTO trg_t SELECT * FROM trg_t WHERE false;
SELECT pg_temp.exact() AS exact;

--
-- DELETE: one row, many rows, the rows with NULLs.
--
DELETE FROM trg_t WHERE id = 1001;
SELECT pg_temp.exact() AS exact;
DELETE FROM trg_t WHERE id % 7 = 0;
SELECT pg_temp.exact() AS exact;
DELETE FROM trg_t WHERE y IS NULL OR a IS NULL OR b IS NULL OR c IS NULL;
SELECT pg_temp.exact() AS exact, linreg_skipped(flinkml.current_model('trg_m')) AS skipped;

-- a statement of many rows appends one delta row
SELECT pg_temp.deltas('trg_m') AS n \gset before_
UPDATE trg_t SET b = b + 0.5 WHERE id % 2 = 0;
SELECT pg_temp.deltas('trg_m') - :before_n AS new_deltas, pg_temp.exact() AS exact;

--
-- Upserts, MERGE, a writable CTE that deletes and inserts in one statement.
--
INSERT INTO trg_t SELECT * FROM pg_temp.gen(1095, 1110)
ON CONFLICT (id) DO UPDATE SET y = excluded.y + 1, a = excluded.a;
SELECT pg_temp.exact() AS exact;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(1105, 1120) ON CONFLICT (id) DO NOTHING;
SELECT pg_temp.exact() AS exact;
MERGE INTO trg_t t USING pg_temp.gen(1111, 1130) AS s ON t.id = s.id
WHEN MATCHED AND s.id % 2 = 0 THEN DELETE
WHEN MATCHED THEN UPDATE SET y = s.y - 1, b = s.b * 2
WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.y, s.a, s.b, s.c);
SELECT pg_temp.exact() AS exact;
WITH gone AS (DELETE FROM trg_t WHERE id BETWEEN 20 AND 40 RETURNING *)
INSERT INTO trg_t SELECT id + 500000, y * 2, a, b, c FROM gone;
SELECT pg_temp.exact() AS exact;
SELECT linreg_rows(flinkml.current_model('trg_m')) AS rows, (SELECT count(*) FROM trg_t) AS table_rows;

-- predictions by name follow the table
SELECT bool_and(abs(linreg_predict('trg_m', x) - linreg_predict(f.m, x)) <= 1e-9 * greatest(abs(linreg_predict(f.m, x)), 1)) AS predictions
FROM (SELECT linreg_fit(y, ARRAY[a, b, c]) AS m FROM trg_t) AS f,
     (SELECT ARRAY[g % 10, g % 7 - 3, g % 11]::float8[] AS x FROM generate_series(1, 100) AS g) AS p;

--
-- A rolled-back transaction leaves no trace: no delta, the same model.
--
SELECT pg_temp.deltas('trg_m') AS n, flinkml.current_model('trg_m')::text AS m,
       (SELECT head_version FROM flinkml.models WHERE name = 'trg_m') AS head \gset before_
BEGIN;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(3001, 3050);
UPDATE trg_t SET y = y * 3 WHERE id < 100;
DELETE FROM trg_t WHERE id % 5 = 0;
-- inside, the transaction sees its own deltas
SELECT pg_temp.exact() AS exact_inside, pg_temp.deltas('trg_m') - :before_n AS new_deltas;
ROLLBACK;
SELECT pg_temp.deltas('trg_m') = :before_n AS deltas_unchanged,
       flinkml.current_model('trg_m')::text = :'before_m' AS model_unchanged,
       pg_temp.exact() AS exact;
-- a rolled-back TRUNCATE too
BEGIN;
TRUNCATE trg_t;
SELECT flinkml.current_model('trg_m') IS NULL AS empty_inside, pg_temp.exact() AS exact_inside;
ROLLBACK;
SELECT (SELECT head_version FROM flinkml.models WHERE name = 'trg_m') = :before_head AS head_unchanged,
       pg_temp.deltas('trg_m') = :before_n AS deltas_unchanged,
       flinkml.current_model('trg_m')::text = :'before_m' AS model_unchanged,
       pg_temp.exact() AS exact;
-- a statement that fails leaves no delta
INSERT INTO trg_t SELECT * FROM pg_temp.gen(1, 5);
SELECT pg_temp.deltas('trg_m') = :before_n AS deltas_unchanged, pg_temp.exact() AS exact;

--
-- Savepoints: what is rolled back to a savepoint leaves no trace; the rest
-- of the transaction counts.
--
BEGIN;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(4001, 4010);
SAVEPOINT s1;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(4011, 4100);
UPDATE trg_t SET y = -y;
DELETE FROM trg_t WHERE id % 2 = 1;
ROLLBACK TO SAVEPOINT s1;
SAVEPOINT s2;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(4001, 4001);
ROLLBACK TO SAVEPOINT s2;
SAVEPOINT s3;
UPDATE trg_t SET c = c + 2 WHERE id BETWEEN 4001 AND 4005;
RELEASE SAVEPOINT s3;
SELECT pg_temp.exact() AS exact_inside;
COMMIT;
SELECT pg_temp.deltas('trg_m') - :before_n AS new_deltas, pg_temp.exact() AS exact;

--
-- compact(): the pending deltas become a new version; the model does not
-- change; a second compact() without deltas makes no version.
--
SELECT flinkml.current_model('trg_m')::text AS m,
       (SELECT head_version FROM flinkml.models WHERE name = 'trg_m') AS head \gset pre_
SELECT flinkml.compact('trg_m') = :pre_head + 1 AS new_version;
SELECT pg_temp.deltas('trg_m') AS deltas,
       pg_temp.same(flinkml.current_model('trg_m'), :'pre_m'::linreg) AS unchanged_by_compaction,
       pg_temp.exact() AS exact;
SELECT made_by, rows = (SELECT count(*) FROM trg_t WHERE y IS NOT NULL AND a IS NOT NULL AND b IS NOT NULL AND c IS NOT NULL) AS rows_right,
       active, version = :pre_head + 1 AS is_new
FROM flinkml.versions('trg_m') ORDER BY version DESC LIMIT 1;
SELECT flinkml.compact('trg_m') = :pre_head + 1 AS same_version;
SELECT pg_temp.same(v.fit, (SELECT linreg_fit(y, ARRAY[a, b, c]) FROM trg_t)) AS stored_fit_exact
FROM flinkml.versions v JOIN flinkml.models m ON m.name = v.model AND m.head_version = v.version
WHERE v.model = 'trg_m';
-- and writing goes on after it
INSERT INTO trg_t SELECT * FROM pg_temp.gen(5001, 5020);
DELETE FROM trg_t WHERE id BETWEEN 50 AND 60;
SELECT pg_temp.exact() AS exact, pg_temp.deltas('trg_m') AS deltas;

--
-- A pinned older version is used exactly while the triggers keep working;
-- compact() and activating the head again bring back the exact model.
--
SELECT flinkml.activate('trg_m', 2);
SELECT flinkml.current_model('trg_m')::text = fit::text AS pinned_v2
FROM flinkml.versions WHERE model = 'trg_m' AND version = 2;
UPDATE trg_t SET y = y + 1 WHERE id % 4 = 0;
SELECT flinkml.current_model('trg_m')::text = fit::text AS still_v2, pg_temp.exact() AS exact
FROM flinkml.versions WHERE model = 'trg_m' AND version = 2;
SELECT flinkml.compact('trg_m') AS head \gset now_
SELECT active_version = 2 AS still_pinned, head_version = :now_head AS head FROM flinkml.models WHERE name = 'trg_m';
INSERT INTO trg_t SELECT * FROM pg_temp.gen(5021, 5030);
SELECT flinkml.activate('trg_m', :now_head);
SELECT pg_temp.exact() AS exact;
-- rollback() from the head with pending deltas goes to the version before it
SELECT flinkml.rollback('trg_m') = :now_head - 1 AS rolled_back;
SELECT flinkml.current_model('trg_m')::text = v.fit::text AS is_previous
FROM flinkml.versions v WHERE v.model = 'trg_m' AND v.version = :now_head - 1;
SELECT flinkml.activate('trg_m', :now_head);
SELECT pg_temp.exact() AS exact;

--
-- refit() consumes the pending deltas: its fit already holds their rows.
--
UPDATE trg_t SET y = y - 2 WHERE id % 6 = 0;
SELECT pg_temp.deltas('trg_m') > 0 AS has_deltas;
SELECT flinkml.refit('trg_m') = :now_head + 1 AS new_version;
SELECT pg_temp.deltas('trg_m') AS deltas, pg_temp.exact() AS exact;

--
-- TRUNCATE: a new empty version; writing starts again from no rows.
--
INSERT INTO trg_t SELECT * FROM pg_temp.gen(6001, 6010);
SELECT head_version AS head FROM flinkml.models WHERE name = 'trg_m' \gset pre_
TRUNCATE trg_t;
SELECT head_version = :pre_head + 1 AS new_version, active_version = head_version AS active
FROM flinkml.models WHERE name = 'trg_m';
SELECT made_by, rows, coefficients IS NULL AS no_fit FROM flinkml.versions('trg_m') ORDER BY version DESC LIMIT 1;
SELECT pg_temp.deltas('trg_m') AS deltas, flinkml.current_model('trg_m') IS NULL AS no_model,
       linreg_predict('trg_m', ARRAY[1, 2, 3]::float8[]) IS NULL AS no_prediction, pg_temp.exact() AS exact;
INSERT INTO trg_t VALUES (1, 10, 1, 1, 1);
SELECT pg_temp.exact() AS exact;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(2, 150);
SELECT pg_temp.exact() AS exact;
-- TRUNCATE between writes in one transaction
BEGIN;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(151, 170);
TRUNCATE trg_t;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(171, 260);
UPDATE trg_t SET a = a + 1 WHERE id % 2 = 0;
COMMIT;
SELECT pg_temp.exact() AS exact, linreg_rows(flinkml.current_model('trg_m')) AS rows;

--
-- detach: the triggers are gone, writes no longer reach the model.
--
SELECT flinkml.compact('trg_m') IS NOT NULL AS compacted;
SELECT flinkml.current_model('trg_m')::text AS m \gset pre_
SELECT flinkml.detach('trg_m');
SELECT attached FROM flinkml.models WHERE name = 'trg_m';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'trg_t'::regclass;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(261, 300);
DELETE FROM trg_t WHERE id < 200;
TRUNCATE trg_t;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(1, 100);
SELECT pg_temp.deltas('trg_m') AS deltas,
       flinkml.current_model('trg_m')::text = :'pre_m' AS model_unchanged,
       pg_temp.exact() AS exact;
-- attach again: a fresh fit, then maintained again
SELECT flinkml.attach('trg_m') IS NOT NULL AS attached;
SELECT pg_temp.exact() AS exact;
UPDATE trg_t SET y = y / 2 WHERE id > 50;
SELECT pg_temp.exact() AS exact;

--
-- A role that may write the table but does not own the model: its writes
-- are folded into the model like any other, TRUNCATE included.
--
CREATE ROLE regress_flinkml_writer;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON trg_t TO regress_flinkml_writer;
SET ROLE regress_flinkml_writer;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(101, 120);
UPDATE trg_t SET c = c * 2 WHERE id % 3 = 1;
DELETE FROM trg_t WHERE id % 10 = 0;
RESET ROLE;
SELECT pg_temp.exact() AS exact;
SELECT head_version AS head FROM flinkml.models WHERE name = 'trg_m' \gset pre_
SET ROLE regress_flinkml_writer;
TRUNCATE trg_t;
INSERT INTO trg_t SELECT * FROM pg_temp.gen(1, 30);
RESET ROLE;
SELECT head_version = :pre_head + 1 AS truncated_version FROM flinkml.models WHERE name = 'trg_m';
SELECT linreg_rows(flinkml.current_model('trg_m')) AS rows, pg_temp.exact() AS exact;

--
-- Weighted, no-intercept, and weighted no-intercept models, all three on one
-- table: each statement appends one delta row per model.  Weights of zero
-- count no row; a NULL weight is skipped like any NULL.
--
CREATE TABLE trg_w (id int PRIMARY KEY, y float8, x1 float8, x2 float8, w float8);
CREATE FUNCTION pg_temp.genw(lo int, hi int) RETURNS SETOF trg_w
LANGUAGE sql IMMUTABLE AS $$
    SELECT g, 2 - 3 * (g % 13) / 4.0 + 0.8 * ((g * 29) % 17) + ((g * 43) % 19 - 9) / 3.0,
           (g % 13) / 4.0, (g * 29) % 17, 0.5 + (g % 5) * 0.75
    FROM generate_series(lo, hi) AS g
$$;
INSERT INTO trg_w SELECT * FROM pg_temp.genw(1, 150);
CREATE FUNCTION pg_temp.exact_w() RETURNS TABLE (weighted boolean, noint boolean, weighted_noint boolean)
LANGUAGE sql STABLE AS $$
    SELECT pg_temp.same(flinkml.current_model('trg_wm'), (SELECT linreg_fit(y, ARRAY[x1, x2], w) FROM trg_w)),
           pg_temp.same(flinkml.current_model('trg_nm'), (SELECT linreg_fit_noint(y, ARRAY[x1, x2]) FROM trg_w)),
           pg_temp.same(flinkml.current_model('trg_nwm'), (SELECT linreg_fit_noint(y, ARRAY[x1, x2], w) FROM trg_w))
$$;
SELECT flinkml.create_model('trg_wm', 'trg_w', 'y', ARRAY['x1', 'x2'], weight => 'w');
SELECT flinkml.create_model('trg_nm', 'trg_w', 'y', ARRAY['x1', 'x2'], intercept => false);
SELECT flinkml.create_model('trg_nwm', 'trg_w', 'y', ARRAY['x1', 'x2'], weight => 'w', intercept => false);
SELECT flinkml.attach('trg_wm'), flinkml.attach('trg_nm'), flinkml.attach('trg_nwm');
SELECT * FROM pg_temp.exact_w();
SELECT linreg_intercept(flinkml.current_model('trg_wm')) IS NOT NULL AS wm_intercept,
       linreg_intercept(flinkml.current_model('trg_nm')) IS NULL AS nm_no_intercept,
       linreg_intercept(flinkml.current_model('trg_nwm')) IS NULL AS nwm_no_intercept;
INSERT INTO trg_w VALUES (1001, 4, 1, 2, 1.5);
SELECT * FROM pg_temp.exact_w();
SELECT pg_temp.deltas('trg_wm') AS wm, pg_temp.deltas('trg_nm') AS nm, pg_temp.deltas('trg_nwm') AS nwm;
INSERT INTO trg_w SELECT * FROM pg_temp.genw(1002, 1100);
SELECT * FROM pg_temp.exact_w();
-- zero weights, NULL weights, NULL values
INSERT INTO trg_w VALUES (2001, 5, 1, 1, 0), (2002, 6, 2, 1, 0), (2003, 7, 3, 1, NULL),
                         (2004, NULL, 1, 1, 1), (2005, 8, NULL, 2, 2);
SELECT * FROM pg_temp.exact_w();
SELECT linreg_rows(flinkml.current_model('trg_wm')) AS wm_rows, linreg_skipped(flinkml.current_model('trg_wm')) AS wm_skipped,
       linreg_rows(flinkml.current_model('trg_nm')) AS nm_rows, linreg_skipped(flinkml.current_model('trg_nm')) AS nm_skipped,
       (SELECT count(*) FROM trg_w) AS table_rows;
-- weight-only updates, value updates, weights to zero and back, deletes
UPDATE trg_w SET w = w * 2 WHERE id % 3 = 0;
SELECT * FROM pg_temp.exact_w();
UPDATE trg_w SET w = 0 WHERE id % 10 = 1;
UPDATE trg_w SET w = 1 WHERE id = 2001;
UPDATE trg_w SET w = NULL WHERE id = 2002;
UPDATE trg_w SET x2 = x2 + 1, y = y - 0.5 WHERE id % 4 = 2;
SELECT * FROM pg_temp.exact_w();
DELETE FROM trg_w WHERE id % 9 = 0 OR w IS NULL OR id = 2005;
SELECT * FROM pg_temp.exact_w();
SELECT pg_temp.deltas('trg_wm') AS wm, pg_temp.deltas('trg_nm') AS nm, pg_temp.deltas('trg_nwm') AS nwm;
-- rolled back: no trace in any of the three
BEGIN;
INSERT INTO trg_w SELECT * FROM pg_temp.genw(3001, 3100);
UPDATE trg_w SET w = w + 1;
ROLLBACK;
SELECT pg_temp.deltas('trg_wm') AS wm, pg_temp.deltas('trg_nm') AS nm, pg_temp.deltas('trg_nwm') AS nwm;
SELECT * FROM pg_temp.exact_w();
-- compaction of each, then more writes
SELECT flinkml.compact('trg_wm') AS wm, flinkml.compact('trg_nm') AS nm, flinkml.compact('trg_nwm') AS nwm;
SELECT pg_temp.deltas('trg_wm') AS wm, pg_temp.deltas('trg_nm') AS nm, pg_temp.deltas('trg_nwm') AS nwm;
SELECT * FROM pg_temp.exact_w();
INSERT INTO trg_w SELECT * FROM pg_temp.genw(151, 200);
DELETE FROM trg_w WHERE id BETWEEN 1 AND 20;
SELECT * FROM pg_temp.exact_w();
-- detaching one leaves the others maintained
SELECT flinkml.detach('trg_nm');
UPDATE trg_w SET y = y + 3 WHERE id % 2 = 0;
SELECT * FROM pg_temp.exact_w();
SELECT flinkml.refit('trg_nm') IS NOT NULL AS refitted;
SELECT * FROM pg_temp.exact_w();
-- TRUNCATE empties the attached models
TRUNCATE trg_w;
SELECT flinkml.current_model('trg_wm') IS NULL AS wm_empty, flinkml.current_model('trg_nwm') IS NULL AS nwm_empty,
       flinkml.current_model('trg_nm') IS NULL AS nm_empty;
INSERT INTO trg_w SELECT * FROM pg_temp.genw(1, 60);
SELECT (e).weighted, (e).weighted_noint FROM (SELECT pg_temp.exact_w() AS e) AS q;

--
-- Clean up.
--
SELECT flinkml.drop_model('trg_m');
SELECT flinkml.drop_model('trg_wm');
SELECT flinkml.drop_model('trg_nm');
SELECT flinkml.drop_model('trg_nwm');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid IN ('trg_t'::regclass, 'trg_w'::regclass);
DROP FUNCTION pg_temp.gen(int, int), pg_temp.genw(int, int);
DROP TABLE trg_t, trg_w;
DROP ROLE regress_flinkml_writer;
SELECT count(*) AS left_over FROM flinkml.models WHERE name LIKE 'trg\_%';
