-- Event-time window models (create_model's window_length, time_column,
-- bucket): maintained by triggers, equal to a fresh fit over
-- WHERE ts > now() - window at any moment.  Each check compares with the
-- fresh fit computed in the same statement (one snapshot, one now()).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
SET client_min_messages = notice;
\set SHOW_CONTEXT never
CREATE TABLE wev (id serial PRIMARY KEY, ts timestamptz, x1 float8, x2 float8, y float8);
-- rows every 3 seconds over the last two hours, and a few in the future
INSERT INTO wev (ts, x1, x2, y)
SELECT now() - (g * interval '3 seconds'), (g * 37 % 101) / 10.0, (g * 53 % 97) / 9.0,
       1 + 2 * (g * 37 % 101) / 10.0 - 1.5 * (g * 53 % 97) / 9.0 + ((g * 71) % 23 - 11) / 5.0
FROM generate_series(-20, 2400) g;
-- same: every coefficient within 1e-9 relative, same rows
CREATE FUNCTION w_same(a linreg, b linreg) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN a IS NULL OR b IS NULL THEN a IS NULL AND b IS NULL
	ELSE linreg_rows(a) = linreg_rows(b)
	     AND NOT EXISTS (SELECT 1 FROM unnest(linreg_coefficients(a), linreg_coefficients(b)) u(ca, cb)
	                     WHERE NOT abs(ca - cb) <= 1e-9 * greatest(abs(ca), abs(cb))) END
$$;
CREATE FUNCTION w_fresh(win interval) RETURNS linreg LANGUAGE sql STABLE AS $$
	SELECT linreg_fit(y, ARRAY[x1, x2]) FROM wev WHERE ts > now() - win
$$;

-- bad definitions: clear errors naming the problem
SELECT flinkml.create_model('w_bad', 'wev', 'y', ARRAY['x1', 'x2'], window_length => '1 hour');
SELECT flinkml.create_model('w_bad', 'wev', 'y', ARRAY['x1', 'x2'], time_column => 'ts');
SELECT flinkml.create_model('w_bad', 'wev', 'y', ARRAY['x1', 'x2'], window_length => '1 hour', time_column => 'when');
SELECT flinkml.create_model('w_bad', 'wev', 'y', ARRAY['x1', 'x2'], window_length => '1 hour', time_column => 'x1');
SELECT flinkml.create_model('w_bad', 'wev', 'y', ARRAY['x1', 'x2'], window_length => '1 month', time_column => 'ts');
SELECT flinkml.create_model('w_bad', 'wev', 'y', ARRAY['x1', 'x2'], window_length => '1 hour', time_column => 'ts', bucket => '2 hours');
SELECT flinkml.create_model('w_bad', 'wev', 'y', ARRAY['x1', 'x2'], window_length => '1 hour', time_column => 'ts', bucket => '-1 minute');
SELECT flinkml.create_model('w_bad', 'wev', 'y', ARRAY['x1', 'x2'], window_length => '1 day', time_column => 'ts', bucket => '100 milliseconds');
SELECT count(*) FROM flinkml.models WHERE name = 'w_bad';

-- no index on the time column: a notice with the CREATE INDEX to run
SELECT flinkml.create_model('w_noidx', 'wev', 'y', ARRAY['x1', 'x2'], window_length => '1 hour', time_column => 'ts');
SELECT flinkml.drop_model('w_noidx');
CREATE INDEX ON wev (ts);

-- a one-hour window in buckets of a minute (the default: a sixtieth)
SELECT flinkml.create_model('w_hour', 'wev', 'y', ARRAY['x1', 'x2'], window_length => '1 hour', time_column => 'ts');
SELECT time_column, window_length, bucket_width FROM flinkml.models WHERE name = 'w_hour';
SELECT w_same(flinkml.current_model('w_hour'), w_fresh('1 hour')) AS same,
       linreg_rows(flinkml.current_model('w_hour')) AS rows;
SELECT flinkml.attach('w_hour');
SELECT w_same(flinkml.current_model('w_hour'), w_fresh('1 hour')) AS same;

-- inserts inside and outside the window, in many buckets in one statement
INSERT INTO wev (ts, x1, x2, y)
SELECT now() - (g * interval '7 seconds'), g % 5, g % 7, (g % 5) - (g % 7) + (g % 3)
FROM generate_series(1, 1000) g;
SELECT w_same(flinkml.current_model('w_hour'), w_fresh('1 hour')) AS same;
-- one delta per bucket the statement touched, each with its bucket
SELECT count(*) > 100 AS many_buckets, count(*) = count(DISTINCT bucket) AS one_per_bucket,
       bool_and(bucket IS NOT NULL) AS all_bucketed
FROM flinkml.deltas WHERE model = 'w_hour' AND id > (SELECT min(id) FROM flinkml.deltas WHERE model = 'w_hour');
-- deleting rows older than the window changes nothing: the row's own time decides
SELECT linreg_coefficients(flinkml.current_model('w_hour')) AS before \gset
DELETE FROM wev WHERE ts < now() - interval '90 minutes' AND id % 2 = 0;
SELECT linreg_coefficients(flinkml.current_model('w_hour')) = :'before'::float8[] AS unchanged;
-- deletes and updates inside the window; updates moving rows out of it and into it
DELETE FROM wev WHERE id % 13 = 0;
UPDATE wev SET y = y + 3 WHERE id % 7 = 0;
UPDATE wev SET ts = ts - interval '55 minutes' WHERE id % 11 = 0;
UPDATE wev SET ts = now() - interval '1 minute' WHERE id % 17 = 0;
SELECT w_same(flinkml.current_model('w_hour'), w_fresh('1 hour')) AS same;
-- a row without a time is in no window
INSERT INTO wev (ts, x1, x2, y) VALUES (NULL, 1, 2, 100);
SELECT w_same(flinkml.current_model('w_hour'), w_fresh('1 hour')) AS same;
-- a rolled-back writer leaves no trace
SELECT count(*) AS deltas FROM flinkml.deltas WHERE model = 'w_hour' \gset
BEGIN;
INSERT INTO wev (ts, x1, x2, y) SELECT now(), g, g, g FROM generate_series(1, 10) g;
ROLLBACK;
SELECT count(*) = :deltas AS no_trace FROM flinkml.deltas WHERE model = 'w_hour';
SELECT w_same(flinkml.current_model('w_hour'), w_fresh('1 hour')) AS same;

-- test-then-train on a window model: the active version scored on each
-- bucket's added rows, from their state; summed over the statement, equal
-- to the direct computation over its rows
SELECT max(id) AS last_delta FROM flinkml.deltas WHERE model = 'w_hour' \gset
CREATE TEMP TABLE w_batch AS
SELECT now() - (g * interval '20 seconds') AS ts, (g % 9) / 2.0 AS x1, (g % 4) * 1.5 AS x2, g % 10 AS y
FROM generate_series(1, 120) g;
INSERT INTO wev (ts, x1, x2, y) SELECT ts, x1, x2, y FROM w_batch;
SELECT abs(e.sse - d.sse) <= 1e-9 * d.sse AS sse_right, e.rows = 120 AS rows_right
FROM (SELECT sum(sse) AS sse, sum(rows) AS rows FROM flinkml.evaluations
      WHERE model = 'w_hour' AND change > :last_delta) e,
     (SELECT sum((b.y - linreg_predict(v.fit, ARRAY[b.x1, b.x2])) ^ 2) AS sse
      FROM w_batch b, flinkml.versions v, flinkml.models m
      WHERE m.name = 'w_hour' AND v.model = m.name AND v.version = m.active_version) d;

-- compaction folds the deltas into the buckets and drops the buckets that
-- left the window; the model is the same
-- (one transaction: now() is the compaction's, whatever minute the clock
-- turns meanwhile)
BEGIN;
SELECT flinkml.compact('w_hour') AS version;
SELECT count(*) AS pending FROM flinkml.deltas WHERE model = 'w_hour';
SELECT count(*) AS expired FROM flinkml.window_buckets
WHERE model = 'w_hour' AND bucket < flinkml._bucket_of('1 minute', now() - interval '1 hour');
COMMIT;
SELECT w_same(flinkml.current_model('w_hour'), w_fresh('1 hour')) AS same;
INSERT INTO wev (ts, x1, x2, y) SELECT now() - g * interval '1 minute', g, g % 3, g FROM generate_series(1, 30) g;
SELECT w_same(flinkml.current_model('w_hour'), w_fresh('1 hour')) AS same;

-- versions: each is the window as it was; an older one active stays frozen
SELECT flinkml.activate('w_hour', 1);
SELECT linreg_coefficients(flinkml.current_model('w_hour')) = linreg_coefficients(fit) AS frozen
FROM flinkml.versions WHERE model = 'w_hour' AND version = 1;
SELECT flinkml.activate('w_hour', (SELECT head_version FROM flinkml.models WHERE name = 'w_hour'));
SELECT w_same(flinkml.current_model('w_hour'), w_fresh('1 hour')) AS same;
-- a refit fills the buckets again
SELECT flinkml.refit('w_hour') > 1 AS refitted;
SELECT w_same(flinkml.current_model('w_hour'), w_fresh('1 hour')) AS same;
SELECT w_same(linreg_solve(flinkml.current_state('w_hour')), w_fresh('1 hour')) AS same_state;

-- renaming the time column: the model follows it; dropping it: stale
ALTER TABLE wev RENAME COLUMN ts TO happened_at;
SELECT time_column FROM flinkml.models WHERE name = 'w_hour';
INSERT INTO wev (happened_at, x1, x2, y) VALUES (now(), 3, 4, 5);
SELECT w_same(flinkml.current_model('w_hour'),
              (SELECT linreg_fit(y, ARRAY[x1, x2]) FROM wev WHERE happened_at > now() - interval '1 hour')) AS same;
ALTER TABLE wev RENAME COLUMN happened_at TO ts;

-- TRUNCATE: no rows, then it learns again
TRUNCATE wev;
SELECT flinkml.current_model('w_hour') IS NULL AS empty;
INSERT INTO wev (ts, x1, x2, y)
SELECT now() - g * interval '10 seconds', g % 7, g % 5, g % 11 FROM generate_series(1, 500) g;
SELECT w_same(flinkml.current_model('w_hour'), w_fresh('1 hour')) AS same;

-- rows age out without a write: a three-second window in one-second buckets
CREATE TABLE wsec (ts timestamptz, x float8, y float8);
CREATE INDEX ON wsec (ts);
SELECT flinkml.create_model('w_sec', 'wsec', 'y', ARRAY['x'], window_length => '3 seconds', time_column => 'ts',
                            bucket => '1 second');
SELECT flinkml.attach('w_sec');
-- rows over the last six seconds, every 50 ms
INSERT INTO wsec SELECT clock_timestamp() - g * interval '50 milliseconds', g % 10, (g % 10) * 2 + (g % 3)
FROM generate_series(0, 119) g;
SELECT w_same(flinkml.current_model('w_sec'),
              (SELECT linreg_fit(y, ARRAY[x]) FROM wsec WHERE ts > now() - interval '3 seconds')) AS same,
       linreg_rows(flinkml.current_model('w_sec')) BETWEEN 1 AND 61 AS at_most_three_seconds;
SELECT linreg_rows(flinkml.current_model('w_sec')) AS rows_then \gset
-- predictions as rows arrive from the live window, also into another table
-- (no delta between the statements: the window moved by the clock alone)
SELECT flinkml.compact('w_sec') > 0 AS compacted;
CREATE TABLE wscore (x float8, pred float8);
SELECT flinkml.score_into('w_sec', 'wscore', 'pred');
INSERT INTO wscore (x) VALUES (3)
RETURNING pred = linreg_predict(flinkml.current_model('w_sec'), ARRAY[3::float8]) AS live;
SELECT pg_sleep(1.2);
INSERT INTO wscore (x) VALUES (3)
RETURNING pred = linreg_predict(flinkml.current_model('w_sec'), ARRAY[3::float8]) AS live;
SELECT count(DISTINCT pred) = 2 AS moved FROM wscore;
SELECT w_same(flinkml.current_model('w_sec'),
              (SELECT linreg_fit(y, ARRAY[x]) FROM wsec WHERE ts > now() - interval '3 seconds')) AS same,
       linreg_rows(flinkml.current_model('w_sec')) < :rows_then AS aged;
SELECT pg_sleep(3.1);
SELECT flinkml.current_model('w_sec') IS NULL AS all_aged_out,
       (SELECT count(*) FROM wsec WHERE ts > now() - interval '3 seconds') AS fresh_rows;
-- a compaction after all of it left the window keeps no bucket
SELECT flinkml.compact('w_sec') > 0 AS compacted;
SELECT count(*) AS buckets_left FROM flinkml.window_buckets WHERE model = 'w_sec';

-- a window model with a categorical feature: its dummies per bucket
CREATE TABLE wcat (ts timestamptz, r text, x float8, y float8);
CREATE INDEX ON wcat (ts);
INSERT INTO wcat SELECT now() - g * interval '1 minute', (ARRAY['a', 'b', 'c'])[1 + g % 3], g % 7,
                        g % 7 + (g % 3) * 2 + (g % 5) * 0.1
FROM generate_series(1, 200) g;
SELECT flinkml.create_model('w_cat', 'wcat', 'y', ARRAY['x', 'r'], window_length => '1 hour', time_column => 'ts');
SELECT flinkml.attach('w_cat');
INSERT INTO wcat SELECT now() - g * interval '50 seconds', (ARRAY['a', 'b', 'c'])[1 + g % 3], g % 4, g % 9
FROM generate_series(1, 100) g;
DELETE FROM wcat WHERE x = 2;
SELECT w_same(flinkml.current_model('w_cat'),
              (SELECT linreg_fit(y, ARRAY[x, (r = 'b')::int, (r = 'c')::int]) FROM wcat
               WHERE ts > now() - interval '1 hour')) AS same,
       linreg_names(flinkml.current_model('w_cat')) AS names;
SELECT flinkml.drop_model('w_cat');
DROP TABLE wcat;

-- another role: cannot read the model's buckets, nor write them; may
-- write the table, and the model keeps its rows
CREATE ROLE regress_w_owner;
CREATE ROLE regress_w_other;
CREATE TABLE wown (ts timestamptz, x float8, y float8);
CREATE INDEX ON wown (ts);
GRANT ALL ON wown TO regress_w_owner;
GRANT INSERT ON wown TO regress_w_other;
SET ROLE regress_w_owner;
SELECT flinkml.create_model('w_own', 'wown', 'y', ARRAY['x'], window_length => '1 hour', time_column => 'ts');
SELECT flinkml.attach('w_own');
RESET ROLE;
SET ROLE regress_w_other;
INSERT INTO wown SELECT now() - g * interval '1 minute', g, 2 * g + g % 3 FROM generate_series(1, 50) g;
SELECT count(*) AS visible_buckets FROM flinkml.window_buckets WHERE model = 'w_own';
SELECT flinkml._put_buckets('w_own', true, now(), NULL, NULL);
DELETE FROM flinkml.window_buckets;
SELECT flinkml.current_model('w_own');
RESET ROLE;
SET ROLE regress_w_owner;
SELECT w_same(flinkml.current_model('w_own'),
              (SELECT linreg_fit(y, ARRAY[x]) FROM wown WHERE ts > now() - interval '1 hour')) AS same;
SELECT flinkml.compact('w_own') AS version;
SELECT count(*) > 0 AS owner_sees_buckets FROM flinkml.window_buckets WHERE model = 'w_own';
SELECT w_same(flinkml.current_model('w_own'),
              (SELECT linreg_fit(y, ARRAY[x]) FROM wown WHERE ts > now() - interval '1 hour')) AS same;
SELECT flinkml.drop_model('w_own');
RESET ROLE;
DROP TABLE wown;
DROP ROLE regress_w_owner;
DROP ROLE regress_w_other;

-- the delta rows a statement appends, written in C (src/trigger.c, no
-- SPI): one per bucket touched, in time order, ids from the sequence, at
-- the transaction's start, each scored with the active version exactly as
-- linreg_state_sse scores the row's own state
CREATE TABLE wdel (id int, ts timestamptz, x float8, y float8);
CREATE INDEX ON wdel (ts);
INSERT INTO wdel SELECT g, now() - g * interval '1 minute', g, 2 * g + g % 3 FROM generate_series(1, 50) g;
SELECT flinkml.create_model('w_del', 'wdel', 'y', ARRAY['x'], window_length => '1 hour', time_column => 'ts',
                            bucket => '10 minutes');
SELECT flinkml.attach('w_del');
CREATE FUNCTION pg_temp.b0() RETURNS timestamptz LANGUAGE sql STABLE
AS $$ SELECT date_bin('10 minutes', now() - interval '30 minutes', '2000-01-01 00:00:00+00') $$;
CREATE FUNCTION pg_temp.del_rows() RETURNS TABLE (bucket interval, added bigint, removed bigint, made_by text,
    at_start boolean, ev_active boolean, ev_exact boolean, ch_version integer, ch_exact boolean, id_step bigint)
LANGUAGE sql AS $$
    SELECT d.bucket - pg_temp.b0(), linreg_rows(d.added), linreg_rows(d.removed), d.made_by, d.made_at = now(),
           d.ev_version = m.active_version,
           d.ev_sse IS NOT DISTINCT FROM linreg_state_sse(d.added, (SELECT v.fit FROM flinkml.versions v
                                                                   WHERE v.model = d.model AND v.version = m.active_version)),
           d.ch_version - m.active_version,
           d.ch_sse IS NOT DISTINCT FROM (SELECT linreg_state_sse(d.added, v.fit) FROM flinkml.versions v
                                          WHERE v.model = d.model AND v.version = d.ch_version),
           d.id - min(d.id) OVER ()
    FROM flinkml.deltas d JOIN flinkml.models m ON m.name = d.model
    WHERE d.model = 'w_del' AND d.made_at = now() ORDER BY d.id
$$;
BEGIN;
INSERT INTO wdel SELECT 100 + g, pg_temp.b0() + g * interval '4 minutes', g, 3 * g - 1 + g % 2
FROM generate_series(0, 9) g;
SELECT * FROM pg_temp.del_rows();
-- moving two rows from the first bucket to the last: removed from one, added to the other
UPDATE wdel SET ts = ts + interval '30 minutes' WHERE id IN (100, 101);
SELECT * FROM pg_temp.del_rows() WHERE removed IS NOT NULL OR id_step >= 4;
COMMIT;
SELECT w_same(flinkml.current_model('w_del'),
              (SELECT linreg_fit(y, ARRAY[x]) FROM wdel WHERE ts > now() - interval '1 hour')) AS same;
-- a statement without a row with a time appends nothing
BEGIN;
INSERT INTO wdel VALUES (300, NULL, 1, 1);
SELECT count(*) AS deltas FROM flinkml.deltas WHERE model = 'w_del' AND made_at = now();
COMMIT;
-- an index on flinkml.deltas with an expression and a predicate is kept (the
-- append goes through the table's indexes, as an INSERT does)
CREATE INDEX regress_deltas_expr ON flinkml.deltas ((id % 3)) WHERE made_by = 'trigger';
BEGIN;
INSERT INTO wdel SELECT 400 + g, pg_temp.b0() - interval '20 minutes' + g * interval '3 minutes', g, g
FROM generate_series(1, 8) g;
SELECT bucket - pg_temp.b0() AS bucket, linreg_rows(added) AS added FROM flinkml.deltas
WHERE model = 'w_del' AND made_at = now() ORDER BY id;
COMMIT;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM flinkml.deltas WHERE id % 3 = 1 AND made_by = 'trigger';
SELECT count(*) AS by_index FROM flinkml.deltas WHERE id % 3 = 1 AND made_by = 'trigger' \gset
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) = :by_index AS same_by_scan, :by_index > 0 AS some
FROM (SELECT * FROM flinkml.deltas OFFSET 0) d WHERE id % 3 = 1 AND made_by = 'trigger';
DROP INDEX flinkml.regress_deltas_expr;
-- the registry's columns are looked up again when its tables change: a
-- column the trigger does not write is refused (not left to a default or
-- NULL), and once dropped the appends go on
ALTER TABLE flinkml.deltas ADD COLUMN regress_extra integer;
INSERT INTO wdel VALUES (500, now(), 1, 2);
ALTER TABLE flinkml.deltas DROP COLUMN regress_extra;
INSERT INTO wdel VALUES (500, now(), 1, 2);
SELECT w_same(flinkml.current_model('w_del'),
              (SELECT linreg_fit(y, ARRAY[x]) FROM wdel WHERE ts > now() - interval '1 hour')) AS same;
-- under if_better the challenger is scored too, seen in the same transaction
-- as the compaction that made it
BEGIN;
SELECT flinkml.set_policy('w_del', 'if_better', min_rows => 1000000);
SELECT flinkml.compact('w_del') AS challenger;
INSERT INTO wdel VALUES (200, now(), 5, 11), (201, now(), 6, 12);
SELECT * FROM pg_temp.del_rows();
COMMIT;
-- a trigger that is not the model's: on another table, or with another
-- bucket width, is refused; once the model is detached, a trigger left
-- behind appends nothing
CREATE TABLE wdel2 (LIKE wdel);
DO $$ BEGIN
    EXECUTE format('CREATE TRIGGER flinkml_w_del_ins AFTER INSERT ON wdel2 REFERENCING NEW TABLE AS n '
                   'FOR EACH STATEMENT EXECUTE FUNCTION flinkml._fold_statement(%s)',
                   (SELECT string_agg(quote_literal(a), ', ' ORDER BY o)
                    FROM pg_trigger t, unnest(string_to_array(rtrim(encode(t.tgargs, 'escape'), E'\\000'), E'\\000'))
                         WITH ORDINALITY u(a, o)
                    WHERE t.tgrelid = 'wdel'::regclass AND t.tgname = 'flinkml_w_del_ins'));
END $$;
INSERT INTO wdel2 VALUES (1, now(), 1, 2);
DROP TABLE wdel2;
SELECT flinkml.detach('w_del');
SELECT count(*) AS deltas_before FROM flinkml.deltas WHERE model = 'w_del' \gset
CREATE TRIGGER flinkml_w_del_ins AFTER INSERT ON wdel REFERENCING NEW TABLE AS n
    FOR EACH STATEMENT EXECUTE FUNCTION flinkml._fold_statement('w_del', 't:2:60000000', '4', '0', '3');
INSERT INTO wdel VALUES (600, now(), 1, 2);
DROP TRIGGER flinkml_w_del_ins ON wdel;
CREATE TRIGGER flinkml_w_del_ins AFTER INSERT ON wdel REFERENCING NEW TABLE AS n
    FOR EACH STATEMENT EXECUTE FUNCTION flinkml._fold_statement('w_del', 't:2:600000000', '4', '0', '3');
INSERT INTO wdel VALUES (601, now(), 1, 2);
DROP TRIGGER flinkml_w_del_ins ON wdel;
SELECT count(*) - :deltas_before AS appended_after_detach FROM flinkml.deltas WHERE model = 'w_del';
SELECT flinkml.drop_model('w_del');
DROP TABLE wdel;

-- dropping the time column makes the model stale, naming why
ALTER TABLE wsec DROP COLUMN ts;
SELECT stale FROM flinkml.models WHERE name = 'w_sec';
SELECT flinkml.current_model('w_sec');
SELECT flinkml.drop_model('w_sec');
SELECT flinkml.drop_model('w_hour');
SELECT count(*) AS buckets_left FROM flinkml.window_buckets;
DROP TABLE wsec;
DROP TABLE wscore;
DROP TABLE wev;
DROP FUNCTION w_fresh(interval);
DROP FUNCTION w_same(linreg, linreg);
