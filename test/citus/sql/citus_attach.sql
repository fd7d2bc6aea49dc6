-- flinkml.attach on a Citus distributed table: the model's state lives in
-- a table co-located with the source, one row per shard and statement,
-- appended by the triggers Citus runs on the shards.  Every figure is
-- compared with the same fit of a local table that received the same
-- writes.
SET client_min_messages = warning;
CREATE ROLE flinkml_att_owner LOGIN;
CREATE ROLE flinkml_att_writer LOGIN;
CREATE ROLE flinkml_att_other LOGIN;
RESET client_min_messages;
CREATE TABLE att (id bigint PRIMARY KEY, x1 float8, x2 int, w float8, y float8);
SELECT create_distributed_table('att', 'id', shard_count => 8);
CREATE TABLE att_local (id bigint PRIMARY KEY, x1 float8, x2 int, w float8, y float8);
INSERT INTO att SELECT g, (g * 7919) % 101 / 10.0, g % 13, 1 + g % 3, 2 + 0.5 * ((g * 7919) % 101 / 10.0) - (g % 13) + ((g * 104729) % 1000) / 500.0
FROM generate_series(1, 5000) g;
INSERT INTO att_local SELECT * FROM att;
ALTER TABLE att OWNER TO flinkml_att_owner;
ALTER TABLE att_local OWNER TO flinkml_att_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON att, att_local TO flinkml_att_writer;
-- the local reference and the model's coefficients agree exactly (the
-- merge of per-shard double-double states), or to 1e-12 relative
CREATE FUNCTION att_same(a float8[], b float8[]) RETURNS boolean LANGUAGE sql AS $$
	SELECT bool_and(abs(x - y) <= 1e-12 * greatest(abs(x), abs(y), 1e-300))
	FROM unnest(a, b) u(x, y) $$;
SET client_min_messages = error;	-- Citus: the view stays on the coordinator
CREATE VIEW att_check AS
SELECT att_same(linreg_coefficients(flinkml.current_model('att_m')),
                (SELECT linreg_coefficients(linreg_fit(y, ARRAY[x1, x2])) FROM att_local)) AS same,
       att_same(linreg_coefficients(flinkml.current_model('att_w')),
                (SELECT linreg_coefficients(linreg_fit(y, ARRAY[x1, x2], w)) FROM att_local)) AS same_weighted,
       (SELECT linreg_rows(flinkml.current_model('att_m'))) = (SELECT count(*) FROM att_local WHERE x1 IS NOT NULL) AS rows_match;
RESET client_min_messages;
GRANT SELECT ON att_check TO PUBLIC;

SET ROLE flinkml_att_owner;
SELECT flinkml.create_model('att_m', 'att', 'y', ARRAY['x1', 'x2']);
SELECT flinkml.create_model('att_w', 'att', 'y', ARRAY['x1', 'x2'], weight => 'w');
SELECT flinkml.attach('att_m'), flinkml.attach('att_w');
SELECT name, attached, shard_state = flinkml._shard_state_name('att', name) AS state_table FROM flinkml.models
WHERE name LIKE 'att%' ORDER BY name;
SELECT * FROM att_check;

-- writes through the coordinator, by another role: INSERT (one statement
-- over many shards), UPDATE, DELETE, COPY
SET ROLE flinkml_att_writer;
INSERT INTO att SELECT g, g % 17, g % 5, 2, 1 + 3 * (g % 17) - (g % 5) FROM generate_series(5001, 6000) g;
INSERT INTO att_local SELECT g, g % 17, g % 5, 2, 1 + 3 * (g % 17) - (g % 5) FROM generate_series(5001, 6000) g;
UPDATE att SET y = y + 1, x1 = x1 * 2 WHERE id % 10 = 3;
UPDATE att_local SET y = y + 1, x1 = x1 * 2 WHERE id % 10 = 3;
DELETE FROM att WHERE id % 7 = 0;
DELETE FROM att_local WHERE id % 7 = 0;
INSERT INTO att VALUES (7001, 1.5, 2, 1, 4.25);
INSERT INTO att_local VALUES (7001, 1.5, 2, 1, 4.25);
COPY att FROM STDIN (FORMAT csv);
7003,2.5,3,1,7.5
7004,3.5,1,2,-1.25
7005,0.5,9,1,3
\.
INSERT INTO att_local VALUES (7003, 2.5, 3, 1, 7.5), (7004, 3.5, 1, 2, -1.25), (7005, 0.5, 9, 1, 3);
-- a row with a NULL is skipped, as the aggregate skips it
INSERT INTO att VALUES (7002, NULL, 2, 1, 4.25);
INSERT INTO att_local VALUES (7002, NULL, 2, 1, 4.25);
SELECT * FROM att_check;
-- exact inside the writer's transaction, nothing left by a rollback
BEGIN;
INSERT INTO att SELECT g, 1, 1, 1, 1000 FROM generate_series(8001, 8100) g;
ROLLBACK;
-- the owner reads the model inside its own writing transaction
SET ROLE flinkml_att_owner;
BEGIN;
INSERT INTO att SELECT g, 1, 1, 1, 1000 FROM generate_series(8001, 8100) g;
SELECT linreg_rows(flinkml.current_model('att_m')) - (SELECT count(*) FROM att_local WHERE x1 IS NOT NULL) AS rows_seen_in_txn;
ROLLBACK;
SET ROLE flinkml_att_writer;
SELECT * FROM att_check;
-- the writer, who may read every row of att, may read the model (the
-- registry's rule: it could fit it itself), through the gate
SELECT att_same(linreg_coefficients(flinkml.current_model('att_m')),
                (SELECT linreg_coefficients(linreg_fit(y, ARRAY[x1, x2])) FROM att_local)) AS writer_reads;
SELECT linreg_rows(flinkml._shard_state('att_m', 'read')) AS rows;
-- a role that may not read att may not read the model either
SET ROLE flinkml_att_other;
SELECT count(*) FROM flinkml.models WHERE name = 'att_m';
SELECT flinkml.current_model('att_m');
SELECT flinkml._shard_state('att_m', 'read');
RESET ROLE;
SELECT shard_state AS att_state FROM flinkml.models WHERE name = 'att_m' \gset
-- the writer may not read the state table itself, nor compact or refit
-- the model (only its owner may)
SET ROLE flinkml_att_writer;
SELECT count(*) FROM :att_state;
SELECT flinkml._shard_state('att_m', 'compact');
SELECT flinkml._shard_state('att_m', 'refit');
-- a role with no privileges at all cannot point a model at a state table,
-- nor read one through the merge function (it runs with the caller's rights)
SET ROLE flinkml_att_other;
UPDATE flinkml.models SET shard_state = 'flinkml.x' WHERE name = 'att_m';
INSERT INTO flinkml.models (name, source, target, features, attnums, shard_state)
VALUES ('att_evil', 'att', 'y', '{x1}', '{5,0,2}', :'att_state');
SELECT flinkml._shard_merge(:'att_state');
-- nor hang a trigger of its own on the trigger function
RESET ROLE;
CREATE TABLE att_fake (id bigint, x1 float8, x2 int, w float8, y float8);
SELECT create_distributed_table('att_fake', 'id', colocate_with => 'att');
ALTER TABLE att_fake OWNER TO flinkml_att_other;
SET ROLE flinkml_att_other;
SET citus.enable_unsafe_triggers = on;
CREATE TRIGGER flinkml_att_m_ins AFTER INSERT ON att_fake REFERENCING NEW TABLE AS n
	FOR EACH STATEMENT EXECUTE FUNCTION flinkml._fold_shard_statement('att_m', 't', 'id', 'y', '', 'x1', 'x2');
RESET citus.enable_unsafe_triggers;
RESET ROLE;
-- a superuser who does hang one (the function is theirs to call) still
-- cannot reach the model: the state table is found from the table fired on
SET citus.enable_unsafe_triggers = on;
CREATE TRIGGER flinkml_att_m_ins AFTER INSERT ON att_fake REFERENCING NEW TABLE AS flinkml_new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION flinkml._fold_shard_statement('att_m', 't', 'id', 'y', '', 'x1', 'x2');
RESET citus.enable_unsafe_triggers;
INSERT INTO att_fake SELECT g, 1, 1, 1, 1e6 FROM generate_series(1, 100) g;
SELECT * FROM att_check;
DROP TABLE att_fake;

-- writes through the workers (Citus routes DML sent to a worker): each
-- worker inserts its own rows, updates and deletes
SELECT bool_and(success) FROM run_command_on_workers($$
	INSERT INTO att SELECT g + 100000 * (SELECT groupid FROM pg_dist_local_group), g % 11, g % 3, 1, 5 - g % 11 + 0.25 * (g % 3)
	FROM generate_series(1, 300) g$$);
INSERT INTO att_local SELECT g + 100000 * n.groupid, g % 11, g % 3, 1, 5 - g % 11 + 0.25 * (g % 3)
FROM generate_series(1, 300) g, pg_dist_node n WHERE n.groupid > 0 AND n.noderole = 'primary';
SELECT bool_and(success) FROM run_command_on_workers($$
	UPDATE att SET y = y * 2 WHERE id > 100000 * (SELECT groupid FROM pg_dist_local_group) AND id % 4 = 1
	  AND id < 100000 * (SELECT groupid FROM pg_dist_local_group) + 1000$$);
UPDATE att_local SET y = y * 2 WHERE id > 100000 AND id % 4 = 1 AND id % 100000 < 1000;
SELECT bool_and(success) FROM run_command_on_workers($$
	DELETE FROM att WHERE id BETWEEN 100000 * (SELECT groupid FROM pg_dist_local_group) + 250
	                     AND 100000 * (SELECT groupid FROM pg_dist_local_group) + 300$$);
DELETE FROM att_local WHERE id > 100000 AND id % 100000 BETWEEN 250 AND 300;
SELECT (SELECT count(*) FROM att) = (SELECT count(*) FROM att_local) AS same_rows;
SELECT * FROM att_check;

-- compact merges each shard's rows into one; refit fits every shard afresh
SET ROLE flinkml_att_owner;
SELECT (SELECT count(*) FROM run_command_on_shards(
	(SELECT shard_state FROM flinkml.models WHERE name = 'att_m'), 'SELECT 1')) AS shards;
SELECT flinkml.compact('att_m') > 1 AS compacted;
RESET ROLE;
SELECT count(*) AS state_rows FROM :att_state;
SELECT * FROM att_check;
SET ROLE flinkml_att_owner;
SELECT flinkml.refit('att_w') > 1 AS refitted;
SELECT * FROM att_check;
-- predictions by name in a query over the distributed table
SELECT bool_and(abs(p.pred - l.pred) <= 1e-9 * abs(l.pred)) AS same_predictions
FROM (SELECT id, linreg_predict('att_m', ARRAY[x1, x2]) AS pred FROM att) p
JOIN (SELECT id, linreg_predict((SELECT linreg_fit(y, ARRAY[x1, x2]) FROM att_local), ARRAY[x1, x2]) AS pred FROM att_local) l
USING (id);

-- TRUNCATE through a worker, then through the coordinator
RESET ROLE;
SELECT bool_and(success) FROM run_command_on_workers($$TRUNCATE att$$);
TRUNCATE att_local;
SELECT flinkml.current_model('att_m') IS NULL AS empty_model;
INSERT INTO att SELECT g, g % 9, g % 4, 1, g % 9 - 2 * (g % 4) + (g % 5) / 7.0 FROM generate_series(1, 2000) g;
INSERT INTO att_local SELECT g, g % 9, g % 4, 1, g % 9 - 2 * (g % 4) + (g % 5) / 7.0 FROM generate_series(1, 2000) g;
SELECT * FROM att_check;
TRUNCATE att;
TRUNCATE att_local;
SELECT flinkml.current_model('att_m') IS NULL AS empty_model;
INSERT INTO att SELECT g, g % 9, g % 4, 1, g % 9 + 2 * (g % 4) + (g % 5) / 7.0 FROM generate_series(1, 2000) g;
INSERT INTO att_local SELECT g, g % 9, g % 4, 1, g % 9 + 2 * (g % 4) + (g % 5) / 7.0 FROM generate_series(1, 2000) g;
SELECT * FROM att_check;

-- a rename loses the triggers' way to the state: the model says so
ALTER TABLE att RENAME TO att_renamed;
SELECT name, stale IS NOT NULL AS stale FROM flinkml.models WHERE name = 'att_m';
SELECT flinkml.current_model('att_m');
ALTER TABLE att_renamed RENAME TO att;
-- back under its name, a refit makes it exact again
SET ROLE flinkml_att_owner;
SELECT flinkml.refit('att_m') > 0 AS refitted, flinkml.refit('att_w') > 0 AS refitted;
SELECT * FROM att_check;
RESET ROLE;

-- what a distributed table cannot keep is refused, naming why
SET ROLE flinkml_att_owner;
ALTER TABLE att ADD COLUMN ts timestamptz DEFAULT now();
SELECT flinkml.create_model('att_win', 'att', 'y', ARRAY['x1'], window_length => '1 hour', time_column => 'ts');
SELECT flinkml.attach('att_win');
SELECT flinkml.drop_model('att_win');
SELECT flinkml.create_model('att_a_model_name_of_forty_one_characters_', 'att', 'y', ARRAY['x1']);
SELECT flinkml.attach('att_a_model_name_of_forty_one_characters_');
SELECT flinkml.drop_model('att_a_model_name_of_forty_one_characters_');

-- detach keeps the model as a version; drop_model removes the state table
-- on every node
RESET ROLE;
SELECT bool_and(result::int > 0) AS state_tables_on_workers FROM run_command_on_workers($$SELECT count(*) FROM pg_class WHERE relname LIKE 'shard\_%' AND relnamespace = 'flinkml'::regnamespace$$);
SET ROLE flinkml_att_owner;
SELECT flinkml.detach('att_w');
SELECT att_same(linreg_coefficients(flinkml.current_model('att_w')),
                (SELECT linreg_coefficients(linreg_fit(y, ARRAY[x1, x2], w)) FROM att_local)) AS kept;
SELECT shard_state INTO TEMP att_states FROM flinkml.models WHERE name = 'att_m';
SELECT flinkml.drop_model('att_m');
SELECT flinkml.drop_model('att_w');
RESET ROLE;
SELECT to_regclass(shard_state) IS NULL AS gone FROM att_states;
DROP TABLE att_states;
SELECT result FROM run_command_on_workers($$SELECT count(*) FROM pg_class WHERE relname LIKE 'shard\_%' AND relnamespace = 'flinkml'::regnamespace$$);
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'att'::regclass AND NOT tgisinternal;
DROP TABLE att, att_local CASCADE;
DROP FUNCTION att_same;
DROP ROLE flinkml_att_owner, flinkml_att_writer, flinkml_att_other;
