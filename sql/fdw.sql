--
-- fdw: flinkml.linreg_state_partitions, one linreg_state per leaf partition
-- merged in leaf order (README "postgres_fdw: one model over foreign
-- partitions"; t/003_postgres_fdw.pl runs it over postgres_fdw partitions on
-- two other servers).  Here, on local partitions: the query it builds, its
-- results against one aggregate over the same rows, and its errors, each
-- naming the argument.
--
-- (the extension may exist already when this runs after the other tests)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;
\set VERBOSITY terse
SET max_parallel_workers_per_gather = 0;

CREATE TABLE fdw_rows AS
SELECT g AS id,
       CASE WHEN g % 97 = 0 THEN NULL ELSE 18 + (g * 31) % 60 END AS age,
       20000 + ((g * 7919) % 80000)::float8 / 3 AS income,
       (g * 17) % 13 AS buy_count,
       12.5 + 0.8 * (18 + (g * 31) % 60) + 0.001 * (20000 + (g * 7919) % 80000)
            + 3.0 * ((g * 17) % 13) + ((g * 37) % 11 - 5) * 0.1 AS price
FROM generate_series(1, 3000) g;
-- two levels: the leaves are fdw_p1, fdw_p2a, fdw_p2b
CREATE TABLE fdw_parts (id int, age int, income float8, buy_count int, price float8) PARTITION BY RANGE (id);
CREATE TABLE fdw_p1 PARTITION OF fdw_parts FOR VALUES FROM (1) TO (1001);
CREATE TABLE fdw_p2 PARTITION OF fdw_parts FOR VALUES FROM (1001) TO (3001) PARTITION BY RANGE (id);
CREATE TABLE fdw_p2a PARTITION OF fdw_p2 FOR VALUES FROM (1001) TO (2001);
CREATE TABLE fdw_p2b PARTITION OF fdw_p2 FOR VALUES FROM (2001) TO (3001);
INSERT INTO fdw_parts SELECT * FROM fdw_rows ORDER BY id;

-- the statement: one aggregate per leaf, columns quoted, relations qualified
SELECT flinkml.linreg_state_partitions_query('fdw_parts', 'price', ARRAY['age', 'income', 'buy_count']);
SELECT flinkml.linreg_state_partitions_query('fdw_parts', 'price', ARRAY['age'], 'buy_count', false);

-- the same coefficients, rows and skipped counts as one aggregate over the
-- rows (integer features, weighted, without intercept, no feature)
SELECT linreg_coefficients(linreg_solve(flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age', 'income', 'buy_count'])))
     = (SELECT linreg_coefficients(linreg_fit(price, ARRAY[age, income, buy_count])) FROM fdw_rows) AS same_coefficients,
       linreg_rows(flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age', 'income', 'buy_count'])) AS rows,
       linreg_skipped(flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age', 'income', 'buy_count'])) AS skipped;
SELECT linreg_coefficients(linreg_solve(flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age', 'buy_count'], 'buy_count')))
     = (SELECT linreg_coefficients(linreg_fit(price, ARRAY[age, buy_count], buy_count)) FROM fdw_rows) AS weighted,
       linreg_coefficients(linreg_solve(flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age', 'buy_count'], intercept => false)))
     = (SELECT linreg_coefficients(linreg_fit_noint(price, ARRAY[age, buy_count])) FROM fdw_rows) AS noint,
       linreg_coefficients(linreg_solve(flinkml.linreg_state_partitions('fdw_parts', 'price', '{}')))
     = (SELECT linreg_coefficients(linreg_fit(price, '{}')) FROM fdw_rows) AS intercept_only;
-- the merge of the leaves' own states, in leaf order, to the bit
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age', 'income'])::text
     = (SELECT ((SELECT linreg_state(price, ARRAY[age, income]) FROM fdw_p1)
              + (SELECT linreg_state(price, ARRAY[age, income]) FROM fdw_p2a))
              + (SELECT linreg_state(price, ARRAY[age, income]) FROM fdw_p2b))::text AS same_state;
-- quoted identifiers
CREATE TABLE "Fdw Odd" ("Y" float8, "x,1" int, k int) PARTITION BY LIST (k);
CREATE TABLE "Fdw Odd 1" PARTITION OF "Fdw Odd" FOR VALUES IN (1);
INSERT INTO "Fdw Odd" VALUES (1, 1, 1), (3, 2, 1), (4, 3, 1);
SELECT flinkml.linreg_state_partitions_query('"Fdw Odd"', 'Y', ARRAY['x,1']);
SELECT linreg_coefficients(linreg_solve(flinkml.linreg_state_partitions('"Fdw Odd"', 'Y', ARRAY['x,1'])));
-- all leaves empty: NULL, as the aggregate over no rows
CREATE TABLE fdw_none_rows (a int, b float8) PARTITION BY LIST (a);
CREATE TABLE fdw_none_rows_1 PARTITION OF fdw_none_rows FOR VALUES IN (1);
SELECT flinkml.linreg_state_partitions('fdw_none_rows', 'b', ARRAY['a']) IS NULL AS no_rows;

-- errors, each naming the argument
SELECT flinkml.linreg_state_partitions('fdw_rows', 'price', ARRAY['age']);
SELECT flinkml.linreg_state_partitions('fdw_p1', 'price', ARRAY['age']);
CREATE TABLE fdw_empty (a int, b float8) PARTITION BY LIST (a);
SELECT flinkml.linreg_state_partitions('fdw_empty', 'b', ARRAY['a']);
SELECT flinkml.linreg_state_partitions('fdw_parts', 'pricex', ARRAY['age']);
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age', 'nope']);
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age'], 'nope');
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age', 'tableoid']);
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age', NULL]);
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', NULL);
SELECT flinkml.linreg_state_partitions('fdw_parts', NULL, ARRAY['age']);
SELECT flinkml.linreg_state_partitions(NULL, 'price', ARRAY['age']);
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age'], intercept => NULL);
SELECT flinkml.linreg_state_partitions('fdw_nosuch', 'price', ARRAY['age']);
CREATE TABLE fdw_text (k int, y float8, t text) PARTITION BY LIST (k);
CREATE TABLE fdw_text_1 PARTITION OF fdw_text FOR VALUES IN (1);
SELECT flinkml.linreg_state_partitions('fdw_text', 'y', ARRAY['t']);
-- the aggregate's own errors come through (a negative weight)
UPDATE fdw_parts SET buy_count = -1 WHERE id = 2500;
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age'], 'buy_count');

-- privileges and row-level security: a role that may read the parent's
-- columns but not a leaf is stopped by PostgreSQL at the leaf; one that may
-- not read the parent is stopped here; active row-level security is refused
CREATE ROLE fdw_reader;
GRANT SELECT ON fdw_parts TO fdw_reader;
GRANT SELECT (price, age) ON fdw_p1, fdw_p2a TO fdw_reader;
SET ROLE fdw_reader;
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age']);
SELECT flinkml.linreg_state_partitions('fdw_p2', 'price', ARRAY['age']);
RESET ROLE;
REVOKE SELECT ON fdw_parts FROM fdw_reader;
GRANT SELECT (price) ON fdw_parts TO fdw_reader;
SET ROLE fdw_reader;
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age']);
RESET ROLE;
GRANT SELECT ON fdw_parts, fdw_p1, fdw_p2a, fdw_p2b TO fdw_reader;
ALTER TABLE fdw_p2a ENABLE ROW LEVEL SECURITY;
CREATE POLICY half ON fdw_p2a USING (id % 2 = 0);
SET ROLE fdw_reader;
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age']);
RESET ROLE;
ALTER TABLE fdw_p2a DISABLE ROW LEVEL SECURITY;
ALTER TABLE fdw_parts ENABLE ROW LEVEL SECURITY;
CREATE POLICY half ON fdw_parts USING (id % 2 = 0);
SET ROLE fdw_reader;
SELECT flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age']);
RESET ROLE;
-- a superuser (here also the owner) is not subject to the policies: allowed
SELECT linreg_rows(flinkml.linreg_state_partitions('fdw_parts', 'price', ARRAY['age'])) AS owner_rows;

-- a postgres_fdw partition whose server does not list extensions 'flinkml':
-- a NOTICE (its rows would be fetched); none when the list has flinkml
-- (spaces allowed); other wrappers are not looked at.  Nothing connects.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
RESET client_min_messages;
CREATE SERVER fdw_noext FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'nowhere');
CREATE SERVER fdw_ext FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'nowhere', extensions 'postgres_fdw, flinkml');
CREATE FOREIGN DATA WRAPPER fdw_dummy;
CREATE SERVER fdw_other FOREIGN DATA WRAPPER fdw_dummy;
CREATE TABLE fdw_remote (k int, y float8, x int) PARTITION BY LIST (k);
CREATE FOREIGN TABLE fdw_remote_1 PARTITION OF fdw_remote FOR VALUES IN (1) SERVER fdw_noext;
CREATE FOREIGN TABLE fdw_remote_2 PARTITION OF fdw_remote FOR VALUES IN (2) SERVER fdw_ext;
CREATE FOREIGN TABLE fdw_remote_3 PARTITION OF fdw_remote FOR VALUES IN (3) SERVER fdw_other;
SELECT flinkml.linreg_state_partitions_query('fdw_remote', 'y', ARRAY['x']);
ALTER SERVER fdw_noext OPTIONS (ADD extensions 'flinkml');
SELECT flinkml.linreg_state_partitions_query('fdw_remote', 'y', ARRAY['x']) IS NOT NULL AS no_notice;
DROP TABLE fdw_remote;
DROP SERVER fdw_noext, fdw_ext, fdw_other;
DROP FOREIGN DATA WRAPPER fdw_dummy;
DROP EXTENSION postgres_fdw;

DROP TABLE fdw_rows, fdw_parts, "Fdw Odd", fdw_none_rows, fdw_empty, fdw_text CASCADE;
DROP ROLE fdw_reader;
