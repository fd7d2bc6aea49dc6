-- flinkml.follow on a Citus distributed table: a slot on every worker, the
-- follower on the coordinator applying each node's committed changes.
-- Every figure is compared with the same fit of a local table that
-- received the same writes.  (A worker's immediate shutdown under a
-- follower: test/citus/follow_restart.sh.)
SET client_min_messages = warning;
CREATE ROLE flinkml_fol_owner LOGIN REPLICATION;
CREATE ROLE flinkml_fol_writer LOGIN;
CREATE ROLE flinkml_fol_other LOGIN;
RESET client_min_messages;
CREATE TABLE fol (id bigint PRIMARY KEY, x1 float8, x2 int, w float8, y float8);
SELECT create_distributed_table('fol', 'id', shard_count => 8);
CREATE TABLE fol_local (id bigint PRIMARY KEY, x1 float8, x2 int, w float8, y float8);
INSERT INTO fol SELECT g, (g * 7919) % 101 / 10.0, g % 13, 1 + g % 3, 2 + 0.5 * ((g * 7919) % 101 / 10.0) - (g % 13) + ((g * 104729) % 1000) / 500.0
FROM generate_series(1, 3000) g;
INSERT INTO fol_local SELECT * FROM fol;
ALTER TABLE fol OWNER TO flinkml_fol_owner;
ALTER TABLE fol_local OWNER TO flinkml_fol_owner;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON fol, fol_local TO flinkml_fol_writer;
-- (a shard moved below is created on its new node as the table's owner)
GRANT CREATE ON SCHEMA public TO flinkml_fol_owner;
CREATE FUNCTION fol_same(a float8[], b float8[]) RETURNS boolean LANGUAGE sql AS $$
	SELECT bool_and(abs(x - y) <= 1e-12 * greatest(abs(x), abs(y), 1e-300))
	FROM unnest(a, b) u(x, y) $$;
-- Wait (up to 30 s) until both models equal the local fits, row count and
-- coefficients; false if they never do.
CREATE FUNCTION fol_caught_up() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..300 LOOP
		IF (SELECT linreg_rows(flinkml.current_model('fol_m')) = (SELECT count(*) FROM fol_local WHERE x1 IS NOT NULL)
		       AND fol_same(linreg_coefficients(flinkml.current_model('fol_m')),
		                    (SELECT linreg_coefficients(linreg_fit(y, ARRAY[x1, x2])) FROM fol_local))
		       AND linreg_rows(flinkml.current_model('fol_w')) = (SELECT count(*) FROM fol_local WHERE x1 IS NOT NULL)
		       AND fol_same(linreg_coefficients(flinkml.current_model('fol_w')),
		                    (SELECT linreg_coefficients(linreg_fit(y, ARRAY[x1, x2], w)) FROM fol_local))) THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN false;
END $$;
GRANT EXECUTE ON FUNCTION fol_caught_up() TO PUBLIC;
-- the model's slots on every node
CREATE FUNCTION fol_slots(model text) RETURNS bigint LANGUAGE sql AS $$
	SELECT sum(result::bigint) FROM run_command_on_workers(format(
		$c$SELECT count(*) FROM pg_replication_slots WHERE slot_name = %L AND plugin = 'flinkml'$c$,
		flinkml._node_slot_name(model))) $$;

SET ROLE flinkml_fol_owner;
SELECT flinkml.create_model('fol_m', 'fol', 'y', ARRAY['x1', 'x2']);
SELECT flinkml.create_model('fol_w', 'fol', 'y', ARRAY['x1', 'x2'], weight => 'w');
-- deletes and updates must carry the old row
SELECT flinkml.follow('fol_m');
RESET ROLE;
ALTER TABLE fol REPLICA IDENTITY FULL;
SET ROLE flinkml_fol_owner;
SELECT flinkml.follow('fol_m') > 0 AS following, flinkml.follow('fol_w') > 0 AS following_w;
-- one slot per model on each worker, nothing on the coordinator
SELECT fol_slots('fol_m') AS slots_m, fol_slots('fol_w') AS slots_w,
       (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'flinkml%') AS local_slots;
SELECT model, slot, jsonb_array_length(nodes) AS nodes,
       (SELECT sum((e ->> 'shards')::int) FROM jsonb_array_elements(nodes) e) AS shards
FROM flinkml.stream_status ORDER BY model;
SELECT fol_caught_up();

-- writes through the coordinator, by another role: INSERT (one statement
-- over many shards), UPDATE, DELETE, COPY, a row with a NULL (skipped)
SET ROLE flinkml_fol_writer;
INSERT INTO fol SELECT g, g % 17, g % 5, 2, 1 + 3 * (g % 17) - (g % 5) FROM generate_series(3001, 4000) g;
INSERT INTO fol_local SELECT g, g % 17, g % 5, 2, 1 + 3 * (g % 17) - (g % 5) FROM generate_series(3001, 4000) g;
UPDATE fol SET y = y + 1, x1 = x1 * 2 WHERE id % 10 = 3;
UPDATE fol_local SET y = y + 1, x1 = x1 * 2 WHERE id % 10 = 3;
DELETE FROM fol WHERE id % 7 = 0;
DELETE FROM fol_local WHERE id % 7 = 0;
INSERT INTO fol VALUES (4001, 1.5, 2, 1, 4.25), (4002, NULL, 2, 1, 4.25);
INSERT INTO fol_local VALUES (4001, 1.5, 2, 1, 4.25), (4002, NULL, 2, 1, 4.25);
COPY fol FROM STDIN (FORMAT csv);
4003,2.5,3,1,7.5
4004,3.5,1,2,-1.25
4005,0.5,9,1,3
\.
INSERT INTO fol_local VALUES (4003, 2.5, 3, 1, 7.5), (4004, 3.5, 1, 2, -1.25), (4005, 0.5, 9, 1, 3);
-- a rollback leaves nothing
BEGIN;
INSERT INTO fol SELECT g, 1, 1, 1, 1000 FROM generate_series(8001, 8100) g;
ROLLBACK;
SELECT fol_caught_up();

-- writes through the workers (Citus routes DML sent to a worker)
RESET ROLE;
SELECT bool_and(success) FROM run_command_on_workers($$
	INSERT INTO fol SELECT g + 100000 * (SELECT groupid FROM pg_dist_local_group), g % 11, g % 3, 1, 5 - g % 11 + 0.25 * (g % 3)
	FROM generate_series(1, 300) g$$);
INSERT INTO fol_local SELECT g + 100000 * n.groupid, g % 11, g % 3, 1, 5 - g % 11 + 0.25 * (g % 3)
FROM generate_series(1, 300) g, pg_dist_node n WHERE n.groupid > 0 AND n.noderole = 'primary';
SELECT bool_and(success) FROM run_command_on_workers($$
	DELETE FROM fol WHERE id BETWEEN 100000 * (SELECT groupid FROM pg_dist_local_group) + 250
	                     AND 100000 * (SELECT groupid FROM pg_dist_local_group) + 300$$);
DELETE FROM fol_local WHERE id > 100000 AND id % 100000 BETWEEN 250 AND 300;
SELECT fol_caught_up();

-- a rename renames the shards: the stream names them afresh at each poll
RESET ROLE;
ALTER TABLE fol RENAME TO fol_renamed;
SET ROLE flinkml_fol_writer;
INSERT INTO fol_renamed SELECT g, g % 23, g % 4, 1, 2 * (g % 23) - g % 4 FROM generate_series(5001, 5200) g;
INSERT INTO fol_local SELECT g, g % 23, g % 4, 1, 2 * (g % 23) - g % 4 FROM generate_series(5001, 5200) g;
SELECT fol_caught_up();
RESET ROLE;
ALTER TABLE fol_renamed RENAME TO fol;

-- TRUNCATE (every shard, on both workers), then new rows
SET ROLE flinkml_fol_writer;
TRUNCATE fol;
TRUNCATE fol_local;
INSERT INTO fol SELECT g, g % 19, g % 7, 1 + g % 2, 0.5 * (g % 19) + (g % 7) + (g % 3) / 3.0 FROM generate_series(1, 500) g;
INSERT INTO fol_local SELECT g, g % 19, g % 7, 1 + g % 2, 0.5 * (g % 19) + (g % 7) + (g % 3) / 3.0 FROM generate_series(1, 500) g;
SELECT fol_caught_up();
-- the stream's figures: every node applied changes, none has an error
SELECT model, state, rows_applied > 0 AS applied,
       (SELECT bool_and((e ->> 'transactions_applied')::int > 0 AND e ->> 'last_error' IS NULL)
        FROM jsonb_array_elements(nodes) e) AS every_node_applied
FROM flinkml.stream_status ORDER BY model;
-- test-then-train: the stream's new rows were scored per node and poll
SELECT count(*) > 0 AS evaluated FROM flinkml.evaluations WHERE model = 'fol_m' AND made_by = 'stream';

-- the owner cannot restart a running stream's positions by hand
SET ROLE flinkml_fol_owner;
SELECT flinkml._follow_nodes('fol_m');

-- the extension cannot be dropped while a stream's slots are on the workers
RESET ROLE;
DROP EXTENSION flinkml CASCADE;
SET ROLE flinkml_fol_writer;

-- privileges: the writer reads the stream (it may read the table) but
-- cannot move a node's position, stop the stream, or reach the node gates
WITH u AS (UPDATE flinkml.stream_nodes SET last_lsn = '0/0' WHERE model = 'fol_m' RETURNING 1)
SELECT (SELECT count(*) FROM flinkml.stream_nodes WHERE model = 'fol_m') AS nodes_seen, (SELECT count(*) FROM u) AS moved;
SELECT flinkml.unfollow('fol_m');
SELECT flinkml._node_create_slot('flinkmld_fol_m');
SELECT flinkml._node_drop_slot('flinkmld_fol_m');
SELECT flinkml._drop_node_slots('fol_m');
SELECT flinkml._create_node_streams(m) FROM flinkml.models m WHERE name = 'fol_m';
-- a role that may not read the table sees neither model nor stream
SET ROLE flinkml_fol_other;
SELECT count(*) AS models, (SELECT count(*) FROM flinkml.stream_nodes) AS nodes,
       (SELECT count(*) FROM flinkml.stream_status) AS streams
FROM flinkml.models WHERE name LIKE 'fol%';
-- nor can it poll the stream, restart it or drop its slots through the
-- functions the follower and follow() use (they run as the caller)
SELECT flinkml._stream_apply_nodes('fol_m');
SELECT flinkml._follow_nodes('fol_m');
SELECT flinkml._release_node_slots('fol_m');
SELECT fol_slots('fol_m') AS slots_m;

-- refused, naming why: a window model, a reference table
RESET ROLE;
CREATE TABLE fol_win (id bigint, ts timestamptz, x1 float8, y float8);
SELECT create_distributed_table('fol_win', 'id');
CREATE TABLE fol_ref (id bigint, x1 float8, y float8);
SELECT create_reference_table('fol_ref');
ALTER TABLE fol_win REPLICA IDENTITY FULL;
ALTER TABLE fol_ref REPLICA IDENTITY FULL;
ALTER TABLE fol_win OWNER TO flinkml_fol_owner;
ALTER TABLE fol_ref OWNER TO flinkml_fol_owner;
SET ROLE flinkml_fol_owner;
SET client_min_messages = warning;	-- (no index on ts)
SELECT flinkml.create_model('fol_wm', 'fol_win', 'y', ARRAY['x1'], window_length => '1 hour', time_column => 'ts');
RESET client_min_messages;
SELECT flinkml.follow('fol_wm');
SELECT flinkml.drop_model('fol_wm');
SELECT flinkml.create_model('fol_rm', 'fol_ref', 'y', ARRAY['x1']);
SELECT flinkml.follow('fol_rm');
SELECT flinkml.drop_model('fol_rm');
-- a partitioned distributed table: its rows are in its partitions' shards
RESET ROLE;
CREATE TABLE fol_part (id bigint, x1 float8, y float8) PARTITION BY RANGE (id);
CREATE TABLE fol_part_1 PARTITION OF fol_part FOR VALUES FROM (0) TO (1000000);
SELECT create_distributed_table('fol_part', 'id');
ALTER TABLE fol_part REPLICA IDENTITY FULL;
ALTER TABLE fol_part OWNER TO flinkml_fol_owner;
SET ROLE flinkml_fol_owner;
SELECT flinkml.create_model('fol_pm', 'fol_part', 'y', ARRAY['x1']);
SELECT flinkml.follow('fol_pm');
SELECT flinkml.drop_model('fol_pm');

-- a shard moved to another node: the model turns stale and says why
RESET ROLE;
SELECT citus_move_shard_placement(s.shardid, n1.nodename, n1.nodeport, n2.nodename, n2.nodeport, shard_transfer_mode => 'block_writes')
FROM pg_dist_shard s
JOIN pg_dist_placement p ON p.shardid = s.shardid
JOIN pg_dist_node n1 ON n1.groupid = p.groupid
JOIN pg_dist_node n2 ON n2.groupid <> p.groupid AND n2.groupid > 0 AND n2.noderole = 'primary'
WHERE s.logicalrelid = 'fol'::regclass AND n1.groupid > 0
ORDER BY s.shardid LIMIT 1;
DO $$ BEGIN
	FOR i IN 1..100 LOOP
		EXIT WHEN (SELECT bool_and(stale IS NOT NULL) FROM flinkml.models WHERE name IN ('fol_m', 'fol_w'));
		PERFORM pg_sleep(0.1);
	END LOOP;
END $$;
SELECT name, stale FROM flinkml.models WHERE name LIKE 'fol%' ORDER BY name;
-- their followers stop and drop their slots on the nodes (no WAL held there)
DO $$ BEGIN
	FOR i IN 1..100 LOOP
		EXIT WHEN fol_slots('fol_m') = 0 AND fol_slots('fol_w') = 0;
		PERFORM pg_sleep(0.1);
	END LOOP;
END $$;
SELECT fol_slots('fol_m') AS slots_m, fol_slots('fol_w') AS slots_w;

-- unfollow and drop_model remove the streams (and any slot left on the nodes)
SET ROLE flinkml_fol_owner;
SELECT flinkml.unfollow('fol_m');
SELECT fol_slots('fol_m') AS slots_m, (SELECT count(*) FROM flinkml.stream_nodes WHERE model = 'fol_m') AS nodes_m;
SELECT flinkml.drop_model('fol_w');
SELECT fol_slots('fol_w') AS slots_w, (SELECT count(*) FROM flinkml.stream_nodes) AS nodes;
SELECT flinkml.drop_model('fol_m');
RESET ROLE;
DROP TABLE fol, fol_local, fol_ref, fol_win, fol_part;
DROP FUNCTION fol_same(float8[], float8[]), fol_caught_up(), fol_slots(text);
SET client_min_messages = warning;
CALL citus_cleanup_orphaned_resources();	-- the moved shard's old copy
REVOKE CREATE ON SCHEMA public FROM flinkml_fol_owner;
DROP ROLE flinkml_fol_owner, flinkml_fol_writer, flinkml_fol_other;
