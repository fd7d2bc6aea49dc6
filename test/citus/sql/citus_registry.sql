-- The registry on a Citus table (run after citus_aggregates, which made
-- sales, distributed by id, and sales_local with the same rows).
SET citus.coordinator_aggregation_strategy = disabled;
SET client_min_messages = warning;
CREATE ROLE flinkml_citus_owner LOGIN;
CREATE ROLE flinkml_citus_other LOGIN;
RESET client_min_messages;
GRANT SELECT, INSERT, UPDATE, DELETE ON sales, sales_local TO flinkml_citus_owner;
GRANT CREATE ON SCHEMA public TO flinkml_citus_owner;

SET ROLE flinkml_citus_owner;
-- create_model's fit runs on the workers
SELECT flinkml.create_model('p', 'sales', 'price', ARRAY['age', 'income', 'buy_count']);
SELECT flinkml.create_model('p_local', 'sales_local', 'price', ARRAY['age', 'income', 'buy_count']);
SELECT linreg_coefficients(flinkml.current_model('p')) = linreg_coefficients(flinkml.current_model('p_local'))
       AS same_fit;

-- linreg_predict by name in a query over the distributed table: the model
-- goes to the workers folded into the query, each row's prediction equals
-- the local table's
CREATE TABLE pred AS SELECT id, linreg_predict('p', ARRAY[age, income, buy_count]) AS y FROM sales;
SELECT count(*) AS rows, count(y) AS predicted,
       bool_and(p.y IS NOT DISTINCT FROM linreg_predict('p_local', ARRAY[l.age, l.income, l.buy_count])) AS equal
FROM pred p JOIN sales_local l USING (id);
-- in a WHERE clause, and grouped
SELECT count(*) AS above FROM sales WHERE linreg_predict('p', ARRAY[age, income, buy_count]) > price \gset
SELECT count(*) = :above AS where_clause, :above > 0 AS some
FROM sales_local WHERE linreg_predict('p_local', ARRAY[age, income, buy_count]) > price;
CREATE TABLE pred_region AS
SELECT region, avg(linreg_predict('p', ARRAY[age, income, buy_count])) AS a FROM sales GROUP BY region;
SELECT count(*) AS groups, bool_and(abs(pred_region.a - l.a) <= 1e-12 * abs(l.a)) AS grouped
FROM pred_region JOIN (SELECT region, avg(linreg_predict('p_local', ARRAY[age, income, buy_count])) AS a
                     FROM sales_local GROUP BY region) l USING (region);

-- refit, versions, activate, rollback
INSERT INTO sales SELECT id + 100000, age, income, buy_count, region, w, price * 1.5 FROM sales_local WHERE id <= 5000;
INSERT INTO sales_local SELECT id + 100000, age, income, buy_count, region, w, price * 1.5 FROM sales_local WHERE id <= 5000;
SELECT flinkml.refit('p') AS p_version, flinkml.refit('p_local') AS p_local_version;
SELECT version, active, made_by, rows FROM flinkml.versions('p') ORDER BY version;
SELECT bool_and(linreg_coefficients(a.fit) = linreg_coefficients(b.fit)) AS versions_equal
FROM flinkml.versions a JOIN flinkml.versions b USING (version)
WHERE a.model = 'p' AND b.model = 'p_local';

-- a prepared statement keeps working across activate/rollback: its plan
-- holds the model and is replanned when the model's versions change
PREPARE total AS SELECT sum(linreg_predict('p', ARRAY[age, income, buy_count])) FROM sales;
CREATE TABLE expected_total AS
SELECT v.version, sum(linreg_predict(v.fit, ARRAY[age, income, buy_count])) AS total
FROM sales_local, flinkml.versions v WHERE v.model = 'p' GROUP BY v.version;
SET plan_cache_mode = force_generic_plan;
EXECUTE total \gset
SELECT close(:sum, total) AS version_2 FROM expected_total WHERE version = 2;
SELECT flinkml.rollback('p');
EXECUTE total \gset
SELECT close(:sum, total) AS version_1 FROM expected_total WHERE version = 1;
SELECT flinkml.activate('p', 2);
EXECUTE total \gset
SELECT close(:sum, total) AS version_2_again FROM expected_total WHERE version = 2;
RESET plan_cache_mode;
DEALLOCATE total;

-- a name that is not a constant cannot be looked up at planning
SELECT linreg_predict(CASE WHEN id > 0 THEN 'p' END, ARRAY[age, income, buy_count]) FROM sales LIMIT 1;

-- a follower runs as the model's owner, on every node's WAL: an owner
-- without REPLICATION is refused, saying so (follow itself:
-- test/citus/sql/citus_follow.sql; attach: citus_attach.sql)
RESET ROLE;
ALTER TABLE sales REPLICA IDENTITY FULL;
SET ROLE flinkml_citus_owner;
SELECT flinkml.follow('p');
RESET ROLE;

-- Row-level security is unchanged: to a role that may not read sales the
-- model does not exist, here or in a query over the distributed table
SET ROLE flinkml_citus_other;
SELECT count(*) AS models_seen FROM flinkml.models;
SELECT linreg_predict('p', ARRAY[1, 2, 3]);
RESET ROLE;
GRANT SELECT ON sales TO flinkml_citus_other;
SET ROLE flinkml_citus_other;
SELECT name FROM flinkml.models ORDER BY name;
SELECT count(linreg_predict('p', ARRAY[age, income, buy_count])) AS predicted FROM sales;
-- and may not change it
SELECT flinkml.refit('p');
RESET ROLE;

SET ROLE flinkml_citus_owner;
SELECT flinkml.drop_model('p');
SELECT flinkml.drop_model('p_local');
SELECT count(*) AS models_left FROM flinkml.models;
RESET ROLE;
DROP TABLE pred, expected_total, pred_region;
REVOKE ALL ON sales, sales_local FROM flinkml_citus_owner, flinkml_citus_other;
REVOKE CREATE ON SCHEMA public FROM flinkml_citus_owner;
SET client_min_messages = warning;
DROP ROLE flinkml_citus_owner;
DROP ROLE flinkml_citus_other;

-- A local table with a model becomes a Citus table: attached, Citus
-- refuses (triggers); followed, the model turns stale, saying why
CREATE TABLE t_attached AS SELECT * FROM sales_local WHERE id <= 100;
SELECT flinkml.create_model('t_attached', 't_attached', 'price', ARRAY['age', 'income']);
SELECT flinkml.attach('t_attached');
SELECT create_distributed_table('t_attached', 'id');
CREATE TABLE t_followed AS SELECT * FROM sales_local WHERE id <= 100;
ALTER TABLE t_followed REPLICA IDENTITY FULL;
SELECT flinkml.create_model('t_followed', 't_followed', 'price', ARRAY['age', 'income']);
SELECT flinkml.follow('t_followed') > 0 AS following;
SET client_min_messages = warning;
SELECT create_distributed_table('t_followed', 'id');
RESET client_min_messages;
INSERT INTO t_followed SELECT * FROM sales_local WHERE id BETWEEN 101 AND 110;
-- wait (at most 30 s) for the follower's next poll
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN (SELECT stale IS NOT NULL FROM flinkml.models WHERE name = 't_followed');
		PERFORM pg_sleep(0.1);
	END LOOP;
END $$;
SELECT name, stale FROM flinkml.models WHERE name = 't_followed';
SELECT linreg_predict('t_followed', ARRAY[1, 2]);
SELECT flinkml.drop_model('t_attached');
SELECT flinkml.drop_model('t_followed');
DROP TABLE t_attached, t_followed;
