--
-- security: two login roles in one database, a model owner
-- (regress_sec_victim) and a hostile co-tenant with no privileges of its own
-- (regress_sec_attacker).  Every attack of the hostile-co-tenant review is
-- tried and must be refused, and the victim's models must still equal
-- fresh fits over their tables.  Each role connects for real (\c).
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
DROP SCHEMA IF EXISTS sec_victim, sec_hidden, sec_shared, sec_attacker CASCADE;
DROP FUNCTION IF EXISTS public.sec_same(linreg, linreg);
DROP ROLE IF EXISTS regress_sec_victim;
DROP ROLE IF EXISTS regress_sec_attacker;
RESET client_min_messages;
\set VERBOSITY terse

CREATE ROLE regress_sec_victim LOGIN REPLICATION;
CREATE ROLE regress_sec_attacker LOGIN;
CREATE SCHEMA sec_victim AUTHORIZATION regress_sec_victim;
CREATE SCHEMA sec_hidden AUTHORIZATION regress_sec_victim;
CREATE SCHEMA sec_attacker AUTHORIZATION regress_sec_attacker;
CREATE SCHEMA sec_shared;
GRANT USAGE, CREATE ON SCHEMA sec_shared TO regress_sec_victim, regress_sec_attacker;
-- a and b are the same model: the same rows and every coefficient within 1e-9 relative
CREATE FUNCTION public.sec_same(a linreg, b linreg) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT linreg_rows(a) = linreg_rows(b)
       AND cardinality(linreg_coefficients(a)) = cardinality(linreg_coefficients(b))
       AND NOT EXISTS (SELECT 1 FROM unnest(linreg_coefficients(a), linreg_coefficients(b)) AS u(ca, cb)
                       WHERE NOT abs(ca - cb) <= 1e-9 * greatest(abs(ca), abs(cb)))
$$;

--
-- The victim: an attached model the attacker may write into (INSERT on the
-- table, as an ordinary writer), a model on a schema nobody else may use,
-- and a model on a table with row-level security.
--
\c - regress_sec_victim
CREATE TABLE sec_victim.sales (id int, y float8, a float8, b int);
INSERT INTO sec_victim.sales SELECT g, 3 + 2 * g - 0.5 * (g % 7), g, g % 7 FROM generate_series(1, 100) g;
SELECT flinkml.create_model('sec_v', 'sec_victim.sales', 'y', ARRAY['a', 'b']);
SELECT flinkml.attach('sec_v');
GRANT USAGE ON SCHEMA sec_victim TO regress_sec_attacker;
GRANT INSERT ON sec_victim.sales TO regress_sec_attacker;
CREATE TABLE sec_hidden.t (y float8, a float8);
INSERT INTO sec_hidden.t SELECT 1 + g, g FROM generate_series(1, 10) g;
SELECT flinkml.create_model('sec_hidden_m', 'sec_hidden.t', 'y', ARRAY['a']);
CREATE TABLE sec_victim.rls (id int, y float8, a float8);
INSERT INTO sec_victim.rls SELECT g, 1 + 3 * g + (g % 5), g FROM generate_series(1, 1000) g;
SELECT flinkml.create_model('sec_rls', 'sec_victim.rls', 'y', ARRAY['a']);
ALTER TABLE sec_victim.rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY few ON sec_victim.rls FOR SELECT TO regress_sec_attacker USING (id <= 10);
GRANT SELECT ON sec_victim.rls TO regress_sec_attacker;
-- a model on a table in a schema both may create in: dropped later, and
-- the attacker makes a table of the same name
CREATE TABLE sec_shared.t (y float8, a float8);
INSERT INTO sec_shared.t SELECT 2 * g, g FROM generate_series(1, 10) g;
SELECT flinkml.create_model('sec_reuse', 'sec_shared.t', 'y', ARRAY['a']);

--
-- 1. Hijacked operators: an attacker's = in its own schema, first in its
-- search_path, must never run inside flinkml code (it would make the
-- attacker superuser from anything that runs with more rights).
--
\c - regress_sec_attacker
CREATE TABLE sec_attacker.log (what text);
CREATE FUNCTION sec_attacker.evil(a oid, b regclass) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sec_attacker.log VALUES (format('evil(oid, regclass) as %s', current_user));
    BEGIN
        EXECUTE 'ALTER ROLE regress_sec_attacker SUPERUSER';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    RETURN a OPERATOR(pg_catalog.=) b::oid;
END $$;
CREATE FUNCTION sec_attacker.evil(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sec_attacker.log VALUES (format('evil(text, text) as %s', current_user));
    BEGIN
        EXECUTE 'ALTER ROLE regress_sec_attacker SUPERUSER';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    RETURN a OPERATOR(pg_catalog.=) b;
END $$;
CREATE OPERATOR sec_attacker.= (LEFTARG = oid, RIGHTARG = regclass, FUNCTION = sec_attacker.evil);
CREATE OPERATOR sec_attacker.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_attacker.evil);
CREATE TABLE sec_attacker.mine (y float8, a float8, b float8);
INSERT INTO sec_attacker.mine SELECT 1 + g + 2 * (g % 3), g, g % 3 FROM generate_series(1, 50) g;
SET search_path = sec_attacker, pg_catalog, public;
-- the victim's trigger fires for the attacker's rows
INSERT INTO sec_victim.sales SELECT g, 3 + 2 * g - 0.5 * (g % 7), g, g % 7 FROM generate_series(101, 150) g;
-- the event triggers fire for the attacker's DDL
ALTER TABLE sec_attacker.mine ADD COLUMN c float8;
ALTER TABLE sec_attacker.mine RENAME COLUMN c TO d;
-- the registry functions, as the attacker, on its own model
SELECT flinkml.create_model('sec_a', 'sec_attacker.mine', 'y', ARRAY['a', 'b']);
SELECT flinkml.attach('sec_a');
INSERT INTO sec_attacker.mine VALUES (1, 2, 3);
SELECT flinkml.refit('sec_a') > 0 AS refitted;
SELECT linreg_rows(flinkml.current_model('sec_a')) AS rows;
SELECT flinkml.compact('sec_a') > 0 AS compacted;
SELECT count(*) AS versions FROM flinkml.versions('sec_a');
ALTER TABLE sec_attacker.mine DROP COLUMN d;
RESET search_path;
-- no flinkml code ran the attacker's operators, and it is no superuser
SELECT count(*) AS evil_calls FROM sec_attacker.log;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_sec_attacker';

--
-- 2. Writing into another's model: no trigger of one's own may call the
-- trigger function; no delta, model or stream row for another's model or
-- for a model that does not exist yet.
--
CREATE TABLE sec_attacker.t2 (y float8, a float8, b int);
CREATE TRIGGER flinkml_sec_v_ins AFTER INSERT ON sec_attacker.t2 REFERENCING NEW TABLE AS flinkml_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION flinkml._fold_statement('sec_v', 't', '1', '0', '2', '3');
INSERT INTO flinkml.deltas (model, added, made_by)
SELECT 'sec_v', linreg_state(y, ARRAY[a, b]), 'trigger' FROM sec_attacker.mine;
INSERT INTO flinkml.deltas (model, added, made_by)
SELECT 'sec_future', linreg_state(y, ARRAY[a, b]), 'trigger' FROM sec_attacker.mine;
INSERT INTO flinkml.models (name, source, target, features, attnums, owner)
VALUES ('sec_forged', 'sec_victim.sales', 'y', ARRAY['a'], '{2,0,3}', 'regress_sec_victim');
INSERT INTO flinkml.models (name, source, target, features, attnums, attached)
VALUES ('sec_forged', 'sec_victim.sales', 'y', ARRAY['a'], '{2,0,3}', true);
-- nor a model of its own that claims a table it cannot read (and would be
-- shown to that table's readers)
INSERT INTO flinkml.models (name, source, target, features, attnums)
VALUES ('sec_forged', 'sec_victim.sales', 'y', ARRAY['a'], '{2,0,3}');
UPDATE flinkml.models SET stale = 'forged', head_version = 0 WHERE name = 'sec_v';
UPDATE flinkml.models SET attached = false WHERE name = 'sec_v';
DELETE FROM flinkml.models WHERE name = 'sec_v';
DELETE FROM flinkml.versions WHERE model = 'sec_v';
DELETE FROM flinkml.deltas WHERE model = 'sec_v';
INSERT INTO flinkml.streams (model, slot, options, last_lsn)
VALUES ('sec_a', 'flinkml_sec_v', ARRAY['relid', '1', 'target', '30000', 'features', ''], '0/0');
UPDATE flinkml.streams SET options = '{}', slot = 'x' WHERE model = 'sec_a';
TRUNCATE sec_victim.sales;

--
-- 3. Internal functions are not executable by PUBLIC; the gates check the
-- caller and say nothing of others' models.
--
SELECT flinkml._truncated('sec_v', 'sec_victim.sales'::regclass);
SELECT flinkml._attach_triggers('sec_v');
SELECT flinkml._detach_triggers('sec_v');
SELECT flinkml._mark_stale('sec_v', 'forged');
SELECT flinkml._check_table('sec_victim.sales'::regclass, '{}', true);
SELECT flinkml._create_stream_privileged('sec_v');
SELECT flinkml._drop_stream_privileged('sec_v');
SELECT flinkml._set_attached('sec_v', false);
SELECT flinkml._set_attached('sec_nosuch', false);
SELECT flinkml._create_stream('sec_v');
SELECT flinkml._drop_stream('sec_v');
SELECT flinkml.resume('sec_v');
SELECT flinkml.detach('sec_v');
SELECT flinkml.drop_model('sec_v');
SELECT flinkml.refit('sec_v');
SELECT flinkml._delete_deltas('sec_v');
SELECT flinkml._delete_model('sec_v');
SELECT flinkml._lock_model('sec_v', 'follower');
-- the gate of its own model deletes only that model's deltas, whatever ids it is given
SELECT flinkml._delete_deltas('sec_a', ARRAY(SELECT generate_series(1, 100000)::bigint));
-- no lock on the registry that would stop every writer and every ALTER TABLE
BEGIN;
LOCK TABLE flinkml.models IN ACCESS EXCLUSIVE MODE;
ROLLBACK;
BEGIN;
LOCK TABLE flinkml.versions IN SHARE MODE;
ROLLBACK;
BEGIN;
LOCK TABLE flinkml.deltas IN EXCLUSIVE MODE;
ROLLBACK;
BEGIN;
LOCK TABLE flinkml.streams IN ACCESS EXCLUSIVE MODE;
ROLLBACK;
-- a DROP EXTENSION that fails for want of ownership does nothing first
SELECT count(*) AS followers_before FROM pg_stat_activity WHERE backend_type = 'flinkml follower';
DROP EXTENSION flinkml;
SELECT count(*) AS followers_after FROM pg_stat_activity WHERE backend_type = 'flinkml follower';
-- a models row of one's own stops nobody's DDL: inconsistent attribute
-- numbers are refused, odd ones are set right from the names (or make only
-- that model stale)
INSERT INTO flinkml.models (name, source, target, features, attnums)
VALUES ('sec_odd', 'sec_attacker.mine', 'y', '{}', '{0,0}');
INSERT INTO flinkml.models (name, source, target, features, attnums)
VALUES ('sec_odd', 'sec_attacker.mine', 'y', '{a}', '{1,0,99}');
ALTER TABLE sec_attacker.mine ADD COLUMN e int;
SELECT name, stale IS NOT NULL AS stale, attnums FROM flinkml.models WHERE name = 'sec_odd';
-- a table whose rows row-level security hides in part: no model of it
SELECT flinkml.create_model('sec_a_on_rls', 'sec_victim.rls', 'y', ARRAY['a']);

--
-- 4. Reading: to the attacker, the victim's models do not exist, even
-- where it may SELECT the table but row-level security hides rows from it.
--
SELECT name FROM flinkml.models ORDER BY name;
SELECT count(*) AS versions FROM flinkml.versions('sec_v');
SELECT count(*) AS rls_versions FROM flinkml.versions('sec_rls');
SELECT count(*) AS deltas FROM flinkml.deltas WHERE model = 'sec_v';
SELECT flinkml.current_model('sec_v');
SELECT flinkml.current_model('sec_rls');
SELECT linreg_predict('sec_v', ARRAY[1, 2]::float8[]);
SELECT count(*) AS visible_rows FROM sec_victim.rls;

--
-- 5. The victim's models are as the victim left them, and exact: equal to
-- fresh fits over their tables (the attacker's 50 rows are real rows of the
-- table, written with its INSERT privilege).
--
\c - regress_sec_victim
SELECT sec_same(flinkml.current_model('sec_v'), (SELECT linreg_fit(y, ARRAY[a, b]) FROM sec_victim.sales)) AS exact,
       linreg_rows(flinkml.current_model('sec_v')) AS rows,
       (SELECT stale FROM flinkml.models WHERE name = 'sec_v') AS stale;
SELECT made_by, count(*) FROM flinkml.versions WHERE model = 'sec_v' GROUP BY made_by ORDER BY made_by;
SELECT count(*) AS deltas FROM flinkml.deltas WHERE model = 'sec_v';
SELECT count(*) AS forged FROM flinkml.models WHERE name IN ('sec_forged', 'sec_future');
-- the owner may grant reading: a role that may SELECT the table reads the model
GRANT SELECT ON sec_victim.sales TO regress_sec_attacker;
-- the table is dropped: the model is stale; a table of the same name is another table
DROP TABLE sec_shared.t;
SELECT stale FROM flinkml.models WHERE name = 'sec_reuse';

\c - regress_sec_attacker
SELECT count(*) AS readable_after_grant FROM flinkml.versions('sec_v');
-- a reader is no owner: the registry's helpers and functions change nothing
SELECT flinkml.compact('sec_v');
SELECT flinkml._add_version(m, NULL, 'fit') FROM flinkml.models m WHERE m.name = 'sec_v';
SELECT flinkml.activate('sec_v', 1);
-- a reader may fit a model of its own, but not put triggers on another's table
SELECT flinkml.create_model('sec_a_on_v', 'sec_victim.sales', 'y', ARRAY['a']);
SELECT flinkml.attach('sec_a_on_v');
SELECT flinkml._set_attached('sec_a_on_v', true);
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'sec_victim.sales'::regclass AND tgname LIKE 'flinkml_sec_a%';
SELECT flinkml.drop_model('sec_a_on_v');
CREATE TABLE sec_shared.t (y float8, a float8);
SELECT count(*) AS reuse_readable FROM flinkml.models WHERE name = 'sec_reuse';
-- a model on a schema the attacker may not use breaks nothing for it
SELECT flinkml.refit('sec_a') > 0 AS refitted;
SELECT count(*) > 0 AS has_versions FROM flinkml.versions('sec_a');
SELECT round(linreg_predict('sec_a', ARRAY[1, 2]::float8[])::numeric, 6) IS NOT NULL AS predicted;
SELECT count(*) AS visible_models FROM flinkml.model_status;

--
-- 6. Streams: the follower runs as the model's owner, not as a superuser;
-- other roles see nothing of the stream and cannot touch it.
--
-- (the documented command: each library a quoted list item)
\c - postgres
ALTER SYSTEM SET output_plugin_libraries = 'pgoutput', 'test_decoding', 'flinkml';
SELECT pg_reload_conf();
SELECT pg_sleep(0.2);
SHOW output_plugin_libraries;
\c - regress_sec_victim
CREATE TABLE sec_victim.s (y float8, a numeric);
ALTER TABLE sec_victim.s REPLICA IDENTITY FULL;
GRANT INSERT ON sec_victim.s TO regress_sec_attacker;
INSERT INTO sec_victim.s SELECT 1 + 2 * g, g FROM generate_series(1, 20) g;
SELECT flinkml.create_model('sec_s', 'sec_victim.s', 'y', ARRAY['a']);
SELECT flinkml.follow('sec_s') > 0 AS started;
SELECT slot, enabled FROM flinkml.stream_status WHERE model = 'sec_s';
-- wait until the follower holds its lock, then look at who it is
DO $$
BEGIN
    FOR i IN 1..200 LOOP
        EXIT WHEN (SELECT running FROM flinkml.stream_status WHERE model = 'sec_s');
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT running, state FROM flinkml.stream_status WHERE model = 'sec_s';
-- it learns as the owner: a committed insert reaches the model
INSERT INTO sec_victim.s VALUES (43, 21);
DO $$
BEGIN
    FOR i IN 1..200 LOOP
        EXIT WHEN (SELECT rows_applied FROM flinkml.stream_status WHERE model = 'sec_s') = 1;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT rows_applied, last_error FROM flinkml.stream_status WHERE model = 'sec_s';
SELECT sec_same(flinkml.current_model('sec_s'), (SELECT linreg_fit(y, ARRAY[a]) FROM sec_victim.s)) AS exact;
-- a writer's value beyond float8 is skipped and counted, not a stream
-- stopped for good; an unchanged TOASTed value of an UPDATE comes from the
-- old row
\c - regress_sec_attacker
INSERT INTO sec_victim.s VALUES (1, 1e400);
\c - regress_sec_victim
INSERT INTO sec_victim.s SELECT 7, ('0.' || string_agg((g % 10)::text, ''))::numeric FROM generate_series(1, 16383) g;
UPDATE sec_victim.s SET y = 8 WHERE y = 7;
INSERT INTO sec_victim.s VALUES (45, 22);
DO $$
BEGIN
    FOR i IN 1..200 LOOP
        EXIT WHEN (SELECT rows_applied FROM flinkml.stream_status WHERE model = 'sec_s') >= 6;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT rows_applied, last_error, running FROM flinkml.stream_status WHERE model = 'sec_s';
SELECT linreg_skipped(flinkml.current_model('sec_s')) AS skipped,
       sec_same(flinkml.current_model('sec_s'), (SELECT linreg_fit(y, ARRAY[a]) FROM sec_victim.s WHERE a < 1e300)) AS exact;
SELECT a.usename, r.rolsuper FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename
WHERE a.backend_type = 'flinkml follower';
-- a stream is made by follow() only (which fits the table while holding it)
SELECT flinkml._create_stream('sec_hidden_m');
-- one follower per model, however often it is resumed
SELECT flinkml.resume('sec_s') = (SELECT worker_pid FROM flinkml.stream_status WHERE model = 'sec_s') AS same_follower;
SELECT flinkml.resume('sec_s') = flinkml.resume('sec_s') AS still_the_same;
SELECT count(*) AS followers FROM pg_stat_activity WHERE backend_type = 'flinkml follower';
\c - regress_sec_attacker
SELECT count(*) AS streams_seen FROM flinkml.stream_status;
SELECT count(*) AS stream_rows FROM flinkml.streams;
SELECT flinkml.unfollow('sec_s');
SELECT flinkml._drop_stream('sec_s');
UPDATE flinkml.streams SET last_lsn = '0/0' WHERE model = 'sec_s';
\c - regress_sec_victim
SELECT flinkml.unfollow('sec_s');
SELECT count(*) AS slots_left FROM pg_replication_slots WHERE plugin = 'flinkml';

--
-- 7. Schema changes leave a model exact or visibly stale, never silently
-- wrong: a rename is followed; a type change (which rewrites the rows
-- without firing triggers), a disabled or dropped trigger, a dropped column
-- make it stale with the reason, until a refit.
--
\c - regress_sec_victim
CREATE TABLE sec_victim.ch (y float8, a float8, b int, c int);
INSERT INTO sec_victim.ch SELECT 1 + 2 * g - 3 * (g % 5), g, g % 5, g % 3 FROM generate_series(1, 60) g;
SELECT flinkml.create_model('sec_ch', 'sec_victim.ch', 'y', ARRAY['a', 'b']);
SELECT flinkml.attach('sec_ch');
ALTER TABLE sec_victim.ch RENAME COLUMN a TO a_renamed;
SELECT features, stale FROM flinkml.models WHERE name = 'sec_ch';
INSERT INTO sec_victim.ch VALUES (5, 61, 2, 0);
SELECT sec_same(flinkml.current_model('sec_ch'), (SELECT linreg_fit(y, ARRAY[a_renamed, b]) FROM sec_victim.ch)) AS exact_after_rename;
SELECT flinkml.refit('sec_ch') > 0 AS refit_by_new_name;
-- a column the model does not use may change as it likes
ALTER TABLE sec_victim.ch ALTER COLUMN c TYPE float8 USING c * 2;
SELECT stale FROM flinkml.models WHERE name = 'sec_ch';
-- a feature rewritten in place (same type, new values)
ALTER TABLE sec_victim.ch ALTER COLUMN b TYPE int USING b * 10;
SELECT stale FROM flinkml.models WHERE name = 'sec_ch';
SELECT flinkml.current_model('sec_ch');
SELECT linreg_predict('sec_ch', ARRAY[1, 2]::float8[]);
SELECT stale IS NOT NULL AS stale_shown FROM flinkml.model_status WHERE name = 'sec_ch';
-- the triggers skip a stale model; a refit makes it exact again
INSERT INTO sec_victim.ch VALUES (7, 62, 30, 0);
SELECT flinkml.refit('sec_ch') > 0 AS refitted;
INSERT INTO sec_victim.ch VALUES (9, 63, 40, 1);
SELECT stale, sec_same(flinkml.current_model('sec_ch'), (SELECT linreg_fit(y, ARRAY[a_renamed, b]) FROM sec_victim.ch)) AS exact_after_refit
FROM flinkml.models WHERE name = 'sec_ch';
-- a disabled trigger: stale, and a refit alone cannot fix it
ALTER TABLE sec_victim.ch DISABLE TRIGGER flinkml_sec_ch_ins;
SELECT stale FROM flinkml.models WHERE name = 'sec_ch';
SELECT flinkml.refit('sec_ch');
ALTER TABLE sec_victim.ch ENABLE TRIGGER flinkml_sec_ch_ins;
SELECT flinkml.refit('sec_ch') > 0 AS refitted;
-- a dropped trigger
DROP TRIGGER flinkml_sec_ch_del ON sec_victim.ch;
SELECT stale FROM flinkml.models WHERE name = 'sec_ch';
SELECT flinkml.detach('sec_ch');
SELECT flinkml.attach('sec_ch') > 0 AS attached_again;
SELECT stale FROM flinkml.models WHERE name = 'sec_ch';
-- a table that gets children or becomes a partition: stale (its triggers
-- would miss rows written through the others), and no refit while it is one
CREATE TABLE sec_victim.kid () INHERITS (sec_victim.ch);
SELECT stale FROM flinkml.models WHERE name = 'sec_ch';
SELECT flinkml.refit('sec_ch');
DROP TABLE sec_victim.kid;
SELECT flinkml.refit('sec_ch') > 0 AS refitted;
CREATE TABLE sec_victim.par (y float8, a_renamed float8, b int, c float8) PARTITION BY RANGE (a_renamed);
ALTER TABLE sec_victim.par ATTACH PARTITION sec_victim.ch FOR VALUES FROM (0) TO (1000);
SELECT stale FROM flinkml.models WHERE name = 'sec_ch';
ALTER TABLE sec_victim.par DETACH PARTITION sec_victim.ch;
DROP TABLE sec_victim.par;
SELECT flinkml.refit('sec_ch') > 0 AS refitted;
-- renumbered columns (what a restore from a dump does after dropped
-- columns; simulated here): stale for an attached model, until detach and
-- attach take the numbers from the names again
\c - postgres
UPDATE flinkml.models SET attnums = attnums[1:1] || attnums[2:2] || attnums[4:4] || attnums[3:3] WHERE name = 'sec_ch';
\c - regress_sec_victim
ALTER TABLE sec_victim.ch ADD COLUMN f int;
SELECT stale FROM flinkml.models WHERE name = 'sec_ch';
SELECT flinkml.detach('sec_ch');
SELECT flinkml.attach('sec_ch') > 0 AS attached_again;
INSERT INTO sec_victim.ch (y, a_renamed, b) VALUES (11, 64, 50);
SELECT stale, sec_same(flinkml.current_model('sec_ch'), (SELECT linreg_fit(y, ARRAY[a_renamed, b]) FROM sec_victim.ch)) AS exact
FROM flinkml.models WHERE name = 'sec_ch';
-- a dropped feature: stale for good
ALTER TABLE sec_victim.ch DROP COLUMN b;
SELECT stale FROM flinkml.models WHERE name = 'sec_ch';
SELECT flinkml.refit('sec_ch');
SELECT flinkml.drop_model('sec_ch');

--
-- Clean up
--
\c - postgres
ALTER SYSTEM RESET output_plugin_libraries;
SELECT pg_reload_conf();
SET client_min_messages = warning;
SELECT flinkml.drop_model(name) FROM flinkml.models
WHERE name IN ('sec_v', 'sec_hidden_m', 'sec_rls', 'sec_reuse', 'sec_a', 'sec_odd', 'sec_s') ORDER BY name;
DROP SCHEMA sec_victim, sec_hidden, sec_shared, sec_attacker CASCADE;
DROP FUNCTION public.sec_same(linreg, linreg);
DROP ROLE regress_sec_victim;
DROP ROLE regress_sec_attacker;
