-- score_into: predictions as rows arrive (src/score_into.c)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
CREATE TABLE si_sales AS
SELECT g AS id, (18 + g % 60)::int AS age, (20000 + (g * 7919) % 80000)::float8 AS income,
       (g % 13)::numeric AS buy_count,
       12.5 + 0.8 * (18 + g % 60) + 0.001 * (20000 + (g * 7919) % 80000) + 3.0 * (g % 13)
            + ((g * 37) % 11 - 5) * 0.1 AS price
FROM generate_series(1, 1000) g;
ALTER TABLE si_sales ADD COLUMN pred float8, ADD COLUMN ver integer;
SELECT flinkml.create_model('si_price', 'si_sales', 'price', ARRAY['age', 'income', 'buy_count']);

-- errors naming the column or type
SELECT flinkml.score_into('si_nope', 'si_sales', 'pred');
SELECT flinkml.score_into('si_price', 'si_sales', 'nocol');
SELECT flinkml.score_into('si_price', 'si_sales', 'id');
SELECT flinkml.score_into('si_price', 'si_sales', 'pred', 'income');
SELECT flinkml.score_into('si_price', 'si_sales', 'price');
CREATE TABLE si_other (id int, age int, income text, pred float8);
SELECT flinkml.score_into('si_price', 'si_other', 'pred');
DROP TABLE si_other;

SELECT flinkml.score_into('si_price', 'si_sales', 'pred', 'ver');
SELECT flinkml.score_into('si_price', 'si_sales', 'pred', 'ver');
SELECT model, tbl, column_name, version_column FROM flinkml.scorers;

-- inserts: one row, several rows, INSERT ... SELECT, a NULL feature
INSERT INTO si_sales (id, age, income, buy_count, price) VALUES (1001, 35, 52000, 4, 70.1);
INSERT INTO si_sales (id, age, income, buy_count, price) VALUES (1002, 40, 30000, 2, 60), (1003, NULL, 30000, 2, 61);
INSERT INTO si_sales (id, age, income, buy_count, price)
SELECT 2000 + g, 20 + g, 25000 + 100 * g, g % 5, 50 FROM generate_series(1, 50) g;
SELECT count(*) AS scored, count(pred) AS predicted, count(*) FILTER (WHERE ver = 1) AS version_1
FROM si_sales WHERE id > 1000;
SELECT pred IS NULL AS null_pred, ver FROM si_sales WHERE id = 1003;
-- equal to linreg_predict by name, computed independently
SELECT bool_and(pred = linreg_predict('si_price', ARRAY[age, income, buy_count])) AS equal
FROM si_sales WHERE id > 1000 AND age IS NOT NULL;
-- updates recompute
UPDATE si_sales SET age = 50 WHERE id = 1001;
UPDATE si_sales SET age = 30 WHERE id = 1003;
SELECT bool_and(pred = linreg_predict('si_price', ARRAY[age, income, buy_count])) AS equal, count(*)
FROM si_sales WHERE id IN (1001, 1003);

-- a new version, activated and rolled back: seen by the next statement
SELECT flinkml.refit('si_price');
INSERT INTO si_sales (id, age, income, buy_count, price) VALUES (1004, 35, 52000, 4, 70.1);
SELECT ver, pred = linreg_predict('si_price', ARRAY[age, income, buy_count]) AS equal FROM si_sales WHERE id = 1004;
SELECT flinkml.rollback('si_price');
INSERT INTO si_sales (id, age, income, buy_count, price) VALUES (1005, 35, 52000, 4, 70.1);
SELECT ver, pred = linreg_predict('si_price', ARRAY[age, income, buy_count]) AS equal
FROM si_sales WHERE id = 1005;
SELECT (SELECT pred FROM si_sales WHERE id = 1004) <> (SELECT pred FROM si_sales WHERE id = 1005) AS versions_differ;
SELECT flinkml.activate('si_price', 2);

-- attached: the head merged with the pending deltas, as current_model
-- (the model before the statement: its own rows come in after it)
SELECT flinkml.attach('si_price');
INSERT INTO si_sales (id, age, income, buy_count, price) VALUES (1006, 70, 90000, 12, 300);
CREATE TEMP TABLE si_before AS SELECT flinkml.current_model('si_price') AS m;
SELECT count(*) > 0 AS deltas_pending FROM flinkml.deltas WHERE model = 'si_price';
INSERT INTO si_sales (id, age, income, buy_count, price) VALUES (1007, 35, 52000, 4, 70.1);
SELECT pred = linreg_predict_cols(b.m, age, income, buy_count) AS equal,
       pred <> linreg_predict_cols(v.fit, age, income, buy_count) AS not_the_head_alone
FROM si_sales, si_before b, flinkml.versions v WHERE id = 1007 AND v.model = 'si_price' AND v.version = 3;
SELECT flinkml.detach('si_price');

-- in one transaction: each statement sees what the one before activated
BEGIN;
SELECT flinkml.activate('si_price', 1);
INSERT INTO si_sales (id, age, income, buy_count, price) VALUES (1008, 35, 52000, 4, 70.1);
SELECT flinkml.activate('si_price', 3);
INSERT INTO si_sales (id, age, income, buy_count, price) VALUES (1009, 35, 52000, 4, 70.1);
COMMIT;
SELECT id, ver FROM si_sales WHERE id IN (1008, 1009) ORDER BY id;
SELECT bool_and(pred = linreg_predict_cols((SELECT fit FROM flinkml.versions v WHERE v.model = 'si_price' AND v.version = s.ver),
                                           age, income, buy_count)) AS equal_to_version
FROM si_sales s WHERE id > 1000 AND id NOT IN (1006, 1007) AND ver < 3 AND pred IS NOT NULL;
-- version 3 is the head: merged with the deltas left by the attached inserts
SELECT pred = linreg_predict('si_price', ARRAY[age, income, buy_count]) AS equal FROM si_sales WHERE id = 1009;

-- a stale model is an error
SELECT flinkml.attach('si_price');
ALTER TABLE si_sales ALTER COLUMN income TYPE float8 USING income + 0;
INSERT INTO si_sales (id, age, income, buy_count, price) VALUES (1010, 35, 52000, 4, 70.1);
SELECT flinkml.detach('si_price');
SELECT flinkml.refit('si_price') > 0 AS refitted;
INSERT INTO si_sales (id, age, income, buy_count, price) VALUES (1010, 35, 52000, 4, 70.1);

-- another table with columns of the same names
CREATE TABLE si_leads (lead_id int, buy_count int, age float4, income numeric, score float8, v bigint, score2 float8);
SELECT flinkml.score_into('si_price', 'si_leads', 'score', 'v');
INSERT INTO si_leads VALUES (1, 4, 35, 52000), (2, NULL, 35, 52000);
SELECT lead_id, score = linreg_predict('si_price', ARRAY[age, income, buy_count]) AS equal, score IS NULL AS null_score,
       v = (SELECT active_version FROM flinkml.models WHERE name = 'si_price') AS version_ok
FROM si_leads ORDER BY lead_id;

-- the trigger function is not for anyone else
CREATE FUNCTION si_dummy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TABLE si_x (age int, income int, buy_count int, p float8);
CREATE TRIGGER flinkml_score_si_price BEFORE INSERT ON si_x FOR EACH ROW EXECUTE FUNCTION flinkml._score_row('si_price', '4', '0', '1', '2', '3');
INSERT INTO si_x VALUES (1, 2, 3);
DROP TABLE si_x;

-- stop_scoring leaves the values
SELECT flinkml.stop_scoring('si_price', 'si_sales');
SELECT flinkml.stop_scoring('si_price', 'si_sales');
INSERT INTO si_sales (id, age, income, buy_count, price) VALUES (1011, 35, 52000, 4, 70.1);
SELECT pred IS NULL AS not_scored FROM si_sales WHERE id = 1011;
SELECT count(pred) > 50 AS values_kept FROM si_sales WHERE id > 1000;

-- two roles
RESET client_min_messages;
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_si_owner;
DROP ROLE IF EXISTS regress_si_writer;
CREATE ROLE regress_si_owner;
CREATE ROLE regress_si_writer;
GRANT SELECT, INSERT, UPDATE, TRIGGER ON si_leads TO regress_si_writer;
GRANT SELECT ON si_sales TO regress_si_owner;
SET ROLE regress_si_owner;
SELECT flinkml.create_model('si_owned', 'si_sales', 'price', ARRAY['age', 'income', 'buy_count']) AS version;
RESET ROLE;
SET ROLE regress_si_writer;
-- may not score someone else's model, nor stop its scoring
SELECT flinkml.score_into('si_owned', 'si_leads', 'score');
SELECT flinkml._scoring_gate('si_owned', 'si_leads', 'score', NULL, true);
SELECT flinkml._start_scoring('si_owned', 'si_leads', 'score', NULL);
SELECT flinkml.stop_scoring('si_price', 'si_leads');
-- writing a table scored by a model it may not read: an error, no predictions
INSERT INTO si_leads VALUES (3, 4, 35, 52000);
RESET ROLE;
-- the model's owner may not score a table it has no TRIGGER privilege on
SET ROLE regress_si_owner;
SELECT flinkml.score_into('si_owned', 'si_leads', 'score');
RESET ROLE;
GRANT TRIGGER ON si_leads TO regress_si_owner;
SET ROLE regress_si_owner;
SELECT flinkml.score_into('si_owned', 'si_leads', 'score');
SELECT flinkml.score_into('si_owned', 'si_leads', 'score2');
SELECT model, tbl FROM flinkml.scorers ORDER BY model;
RESET ROLE;
-- a writer that may read the source table reads the model
GRANT SELECT ON si_sales TO regress_si_writer;
SET ROLE regress_si_writer;
INSERT INTO si_leads VALUES (4, 4, 35, 52000);
SELECT score2 = linreg_predict('si_owned', ARRAY[age, income, buy_count]) AS equal,
       score = linreg_predict('si_price', ARRAY[age, income, buy_count]) AS equal_too FROM si_leads WHERE lead_id = 4;
SELECT model FROM flinkml.scorers ORDER BY model;
RESET ROLE;

-- drop_model takes its triggers away
SELECT flinkml.drop_model('si_price');
SET ROLE regress_si_owner;
SELECT flinkml.drop_model('si_owned');
RESET ROLE;
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgname LIKE 'flinkml_score_%';
SELECT count(*) AS scorers_left FROM flinkml.scorers;
INSERT INTO si_leads VALUES (5, 4, 35, 52000);
SELECT count(score) AS kept FROM si_leads;

DROP TABLE si_leads, si_sales;
DROP FUNCTION si_dummy();
DROP ROLE regress_si_owner;
DROP ROLE regress_si_writer;
