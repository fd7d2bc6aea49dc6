--
-- registry: the model registry in schema flinkml.  create_model, refit,
-- versions, activate, rollback, compact, drop_model; linreg_predict by name
-- uses the active version and sees a newly activated one in the next query;
-- model, table and column names are validated and quoted (no SQL injection,
-- odd quoted names work); only a model's owner, or a member of the owner
-- role, can change it.
--
-- References are independent of the registry: exact data with known
-- coefficients, and fresh fits over the table with the aggregates.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
DROP ROLE IF EXISTS regress_flinkml_other;	-- left by an interrupted run
DROP ROLE IF EXISTS regress_flinkml_owner;
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
-- the coefficients rounded for display
CREATE FUNCTION pg_temp.rc(c float8[], digits int DEFAULT 6) RETURNS numeric[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(round(x::numeric, digits) ORDER BY o) FROM unnest(c) WITH ORDINALITY AS u(x, o)
$$;
-- c equals the known coefficients k within 1e-9 relative (absolute for 0)
CREATE FUNCTION pg_temp.is_known(c float8[], k float8[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT cardinality(c) = cardinality(k)
       AND NOT EXISTS (SELECT 1 FROM unnest(c, k) AS u(x, y)
                       WHERE x IS NULL OR NOT abs(x - y) <= 1e-9 * greatest(abs(y), 1))
$$;

--
-- Exact data: price = 3 + 2 age - 0.5 income + 0.25 buys.  Columns of four
-- numeric types, a text column and a timestamp.
--
CREATE TABLE reg_sales (
    id int PRIMARY KEY, price float8, age int, income numeric, buys float4,
    region text, seen timestamptz, vip boolean);
INSERT INTO reg_sales
SELECT id, 3 + 2 * id - 0.5 * ((id * id) % 13) + 0.25 * ((5 * id) % 9),
       id, (id * id) % 13, (5 * id) % 9, 'r' || id % 3, '2024-01-01'::timestamptz, id % 2 = 0
FROM generate_series(1, 40) AS id;

--
-- create_model: registers the model and fits version 1 over the table.
--
SELECT flinkml.create_model('reg_price', 'reg_sales', target => 'price',
                            features => ARRAY['age', 'income', 'buys']);
SELECT name, source, target, features, weight, intercept,
       owner::text = current_user AS owned, head_version, active_version, attached
FROM flinkml.models WHERE name = 'reg_price';
SELECT version, active, made_by, rows, pg_temp.rc(coefficients) AS coefficients,
       pg_temp.is_known(coefficients, '{3, 2, -0.5, 0.25}') AS exact
FROM flinkml.versions('reg_price');
-- the stored fit is the fit of the table, with the feature names
SELECT pg_temp.same(v.fit, (SELECT linreg_fit(price, ARRAY[age, income, buys]) FROM reg_sales)) AS same_as_fresh,
       linreg_names(v.fit) AS names
FROM flinkml.versions v WHERE v.model = 'reg_price' AND v.version = 1;
-- the current model is version 1: no deltas, nothing pinned
SELECT flinkml.current_model('reg_price')::text = v.fit::text AS current_is_v1
FROM flinkml.versions v WHERE v.model = 'reg_price' AND v.version = 1;

--
-- linreg_predict by name: 3 + 2*10 - 0.5*4 + 0.25*2 = 21.5
--
SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p;
-- over many rows, the same numbers as the stored fit of the active version
CREATE TABLE reg_new (id int, x float8[]);
INSERT INTO reg_new SELECT g, ARRAY[g % 17, (g * 7) % 5, g % 3]::float8[] FROM generate_series(1, 500) AS g;
SELECT count(*) AS n,
       bool_and(linreg_predict('reg_price', n.x) = linreg_predict(v.fit, n.x)) AS same_as_v1,
       bool_and(abs(linreg_predict('reg_price', n.x) - (3 + 2 * x[1] - 0.5 * x[2] + 0.25 * x[3])) <= 1e-9 * 100) AS known
FROM reg_new n, flinkml.versions v WHERE v.model = 'reg_price' AND v.version = 1;
SELECT linreg_predict('reg_price', ARRAY[1, 2]::float8[]);
SELECT linreg_predict('reg_price', NULL::float8[]) IS NULL AS null_x;

--
-- refit: a new version from the table as it is now.  New exact data:
-- price = 1 + age + income + buys  (at [10, 4, 2]: 17).
--
UPDATE reg_sales SET price = 1 + age + income + buys;
SELECT flinkml.refit('reg_price');
SELECT version, active, made_by, rows, pg_temp.rc(coefficients) AS coefficients
FROM flinkml.versions('reg_price');
SELECT pg_temp.is_known(coefficients, '{1, 1, 1, 1}') AS v2_exact FROM flinkml.versions('reg_price') WHERE version = 2;
SELECT head_version, active_version FROM flinkml.models WHERE name = 'reg_price';
SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p;

--
-- activate and rollback: the next query uses the newly active version.
--
SELECT flinkml.activate('reg_price', 1);
SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p_v1;
SELECT version, active FROM flinkml.versions('reg_price');
SELECT flinkml.activate('reg_price', 2);
SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p_v2;
SELECT flinkml.rollback('reg_price');
SELECT active_version FROM flinkml.models WHERE name = 'reg_price';
SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p_v1;
-- nothing before version 1
SELECT flinkml.rollback('reg_price');
SELECT flinkml.activate('reg_price', 3);
SELECT flinkml.activate('reg_price', 0);
SELECT flinkml.activate('reg_price', NULL);
SELECT active_version FROM flinkml.models WHERE name = 'reg_price';
-- a refit while an older version is pinned makes a new head and keeps the pin:
-- price = -2 + 0.5 age + 3 income - buys  (at [10, 4, 2]: 13)
UPDATE reg_sales SET price = -2 + 0.5 * age + 3 * income - buys;
SELECT flinkml.refit('reg_price');
SELECT head_version, active_version FROM flinkml.models WHERE name = 'reg_price';
SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p_still_v1;
SELECT flinkml.current_model('reg_price')::text = v.fit::text AS current_is_v1
FROM flinkml.versions v WHERE v.model = 'reg_price' AND v.version = 1;
SELECT flinkml.activate('reg_price', 3);
SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p_v3;
SELECT pg_temp.is_known(coefficients, '{-2, 0.5, 3, -1}') AS v3_exact FROM flinkml.versions('reg_price') WHERE version = 3;
-- rollback from the head goes to the version before it
SELECT flinkml.rollback('reg_price');
SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p_v2;
SELECT flinkml.activate('reg_price', 3);

-- in one transaction: each query sees the version activated by the one before,
-- also through a PL/pgSQL function, and the activation rolls back
CREATE FUNCTION pg_temp.predict_price(x float8[]) RETURNS float8
LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN linreg_predict('reg_price', x); END $$;
BEGIN;
SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p_v3,
       round(pg_temp.predict_price(ARRAY[10, 4, 2]::float8[])::numeric, 9) AS plpgsql_v3;
SELECT flinkml.activate('reg_price', 1);
SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p_v1,
       round(pg_temp.predict_price(ARRAY[10, 4, 2]::float8[])::numeric, 9) AS plpgsql_v1;
SELECT flinkml.activate('reg_price', 2);
SELECT round(pg_temp.predict_price(ARRAY[10, 4, 2]::float8[])::numeric, 9) AS plpgsql_v2;
ROLLBACK;
SELECT active_version FROM flinkml.models WHERE name = 'reg_price';
SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p_v3,
       round(pg_temp.predict_price(ARRAY[10, 4, 2]::float8[])::numeric, 9) AS plpgsql_v3;
-- a prepared statement looks the model up again on each execution
PREPARE reg_q AS SELECT round(linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p;
EXECUTE reg_q;
SELECT flinkml.activate('reg_price', 2);
EXECUTE reg_q;
SELECT flinkml.activate('reg_price', 3);
EXECUTE reg_q;
DEALLOCATE reg_q;
-- two models in one query, each by its own name
SELECT flinkml.create_model('reg_price_b', 'reg_sales', 'price', ARRAY['age', 'income', 'buys']);
SELECT flinkml.activate('reg_price', 1);
SELECT round(linreg_predict(m, ARRAY[10, 4, 2]::float8[])::numeric, 9) AS p
FROM unnest(ARRAY['reg_price', 'reg_price_b', 'reg_price', 'reg_price_b']) WITH ORDINALITY AS u(m, o) ORDER BY o;
SELECT flinkml.activate('reg_price', 3);
SELECT flinkml.drop_model('reg_price_b');

-- compact without pending deltas makes no version
SELECT flinkml.compact('reg_price');
SELECT count(*) AS versions FROM flinkml.versions WHERE model = 'reg_price';

--
-- Options and figures: a weighted model without intercept on noisy data.
-- The figures of a version are those of its fit.
--
CREATE TABLE reg_noisy (y float8, x1 float8, x2 float8, w float8);
INSERT INTO reg_noisy
SELECT 2 + 1.5 * (g % 10) - 0.75 * ((g * 7) % 11) + ((g * 37) % 17 - 8) / 4.0,
       g % 10, (g * 7) % 11, 1 + (g % 4) / 2.0
FROM generate_series(1, 60) AS g;
SELECT flinkml.create_model('reg_noisy', 'reg_noisy', 'y', ARRAY['x1', 'x2']);
SELECT flinkml.create_model('reg_noisy_w0', 'reg_noisy', 'y', ARRAY['x1', 'x2'], weight => 'w', intercept => false);
SELECT name, weight, intercept FROM flinkml.models WHERE name IN ('reg_noisy', 'reg_noisy_w0') ORDER BY name;
SELECT pg_temp.same(v.fit, (SELECT linreg_fit(y, ARRAY[x1, x2]) FROM reg_noisy)) AS plain,
       linreg_intercept(v.fit) IS NOT NULL AS has_intercept
FROM flinkml.versions v WHERE v.model = 'reg_noisy';
SELECT pg_temp.same(v.fit, (SELECT linreg_fit_noint(y, ARRAY[x1, x2], w) FROM reg_noisy)) AS weighted_noint,
       linreg_intercept(v.fit) IS NULL AS no_intercept
FROM flinkml.versions v WHERE v.model = 'reg_noisy_w0';
SELECT v.model, v.rows,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(v.figures) AS k) AS figures,
       abs((v.figures->>'r_squared')::float8 - s.r_squared) <= 1e-12 AS r_squared,
       abs((v.figures->>'sigma')::float8 - s.sigma) <= 1e-12 * s.sigma AS sigma,
       abs((v.figures->>'aic')::float8 - s.aic) <= 1e-12 * abs(s.aic) AS aic
FROM flinkml.versions v,
     LATERAL (SELECT (linreg_stats(CASE WHEN v.model = 'reg_noisy' THEN linreg_fit(y, ARRAY[x1, x2])
                                        ELSE linreg_fit_noint(y, ARRAY[x1, x2], w) END)).*
              FROM reg_noisy) AS s
WHERE v.model IN ('reg_noisy', 'reg_noisy_w0') ORDER BY v.model;
-- and the r_squared of the noisy fit is a plausible figure
SELECT (figures->>'r_squared')::float8 BETWEEN 0.5 AND 1 AS plausible
FROM flinkml.versions WHERE model = 'reg_noisy';

--
-- Validation: bad model names are refused before anything is created.
--
SELECT flinkml.create_model('reg_x''); DROP TABLE reg_sales; --', 'reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model('reg price', 'reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model('reg-price', 'reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model('reg.price', 'reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model('"reg_price"', 'reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model('1reg', 'reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model('', 'reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model(NULL, 'reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model('régression', 'reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model(repeat('r', 49), 'reg_sales', 'price', ARRAY['age']);
-- 48 characters is the limit; letters, digits, underscores; case matters
SELECT flinkml.create_model(repeat('r', 48), 'reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model('Reg_Case', 'reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model('reg_case', 'reg_sales', 'price', ARRAY['income']);
SELECT flinkml.create_model('_reg_9', 'reg_sales', 'price', ARRAY['buys']);
SELECT name, features FROM flinkml.models WHERE name IN ('Reg_Case', 'reg_case', '_reg_9', repeat('r', 48)) ORDER BY name COLLATE "C";
-- the same name twice
SELECT flinkml.create_model('reg_case', 'reg_sales', 'price', ARRAY['income']);
SELECT flinkml.drop_model(repeat('r', 48));
SELECT flinkml.drop_model('Reg_Case');
SELECT flinkml.drop_model('reg_case');
SELECT flinkml.drop_model('_reg_9');
-- names that do not exist
SELECT flinkml.refit('reg_nosuch');
SELECT flinkml.activate('reg_nosuch', 1);
SELECT flinkml.rollback('reg_nosuch');
SELECT flinkml.compact('reg_nosuch');
SELECT flinkml.drop_model('reg_nosuch');
SELECT flinkml.current_model('reg_nosuch');
SELECT linreg_predict('reg_nosuch', ARRAY[1]::float8[]);
SELECT linreg_predict('reg_x''); DROP TABLE reg_sales; --', ARRAY[1]::float8[]);
SELECT flinkml.activate('reg_price', 99);

--
-- Missing table, missing column, non-numeric columns, bad feature lists.
--
SELECT flinkml.create_model('reg_bad', 'reg_nosuch_table', 'price', ARRAY['age']);
SELECT flinkml.create_model('reg_bad', 'reg_sales', 'nosuch', ARRAY['age']);
SELECT flinkml.create_model('reg_bad', 'reg_sales', 'price', ARRAY['age', 'nosuch']);
SELECT flinkml.create_model('reg_bad', 'reg_sales', 'price', ARRAY['age'], weight => 'nosuch');
-- (a text, varchar or boolean feature is categorical: sql/categorical.sql)
SELECT flinkml.create_model('reg_bad', 'reg_sales', 'region', ARRAY['age']);
SELECT flinkml.create_model('reg_bad', 'reg_sales', 'price', ARRAY['seen']);
SELECT flinkml.create_model('reg_bad', 'reg_sales', 'price', ARRAY['age'], weight => 'region');
SELECT flinkml.create_model('reg_bad', 'reg_sales', 'price', ARRAY['ctid']);
SELECT flinkml.create_model('reg_bad', 'reg_sales', 'price', NULL);
SELECT flinkml.create_model('reg_bad', 'reg_sales', 'price', ARRAY['age', NULL]);
-- nothing was registered by the failed calls
SELECT count(*) AS registered FROM flinkml.models WHERE name = 'reg_bad';
-- a model whose table was dropped: refit fails cleanly, drop_model works
CREATE TABLE reg_gone (y float8, x float8);
INSERT INTO reg_gone VALUES (1, 1), (2, 3), (4, 2);
SELECT flinkml.create_model('reg_gone', 'reg_gone', 'y', ARRAY['x']);
DROP TABLE reg_gone;
\set VERBOSITY sqlstate
SELECT flinkml.refit('reg_gone');	-- undefined_table
\set VERBOSITY terse
SELECT flinkml.drop_model('reg_gone');

--
-- SQL injection through table and column names: each attempt fails cleanly
-- or, where the odd name really exists, is quoted; reg_sales survives.
--
SELECT flinkml.create_model('reg_inj', 'reg_sales; DROP TABLE reg_sales', 'price', ARRAY['age']);
SELECT flinkml.create_model('reg_inj', 'reg_sales WHERE false', 'price', ARRAY['age']);
SELECT flinkml.create_model('reg_inj', 'reg_sales', 'price; DROP TABLE reg_sales', ARRAY['age']);
SELECT flinkml.create_model('reg_inj', 'reg_sales', 'price', ARRAY['age"]::float8[]) FROM reg_sales; DROP TABLE reg_sales; --']);
SELECT flinkml.create_model('reg_inj', 'reg_sales', 'price', ARRAY['age) FROM reg_sales; DROP TABLE reg_sales; --']);
SELECT flinkml.create_model('reg_inj', 'reg_sales', 'price', ARRAY['age'], weight => '1); DROP TABLE reg_sales; --');
SELECT count(*) AS reg_sales_rows FROM reg_sales;
-- odd names that exist: a quoted schema and table, columns with spaces,
-- parentheses, quotes, and one that reads like an injection
CREATE SCHEMA "Reg Schema";
CREATE TABLE "Reg Schema"."Sales Table" (
    "Price ($)" float8, "Age (years)" int, "In""come" numeric,
    "x); DROP TABLE reg_sales; --" float4, "Weight, %" float8);
INSERT INTO "Reg Schema"."Sales Table"
SELECT 10 + 2 * g - 0.5 * (g % 5) + 0.25 * ((g * 7) % 3) + ((g * 13) % 7) / 8.0,
       g, g % 5, (g * 7) % 3, 1 + g % 3
FROM generate_series(1, 30) AS g;
SELECT flinkml.create_model('reg_odd', '"Reg Schema"."Sales Table"', 'Price ($)',
                            ARRAY['Age (years)', 'In"come', 'x); DROP TABLE reg_sales; --'],
                            weight => 'Weight, %');
SELECT source, target, features, weight FROM flinkml.models WHERE name = 'reg_odd';
SELECT pg_temp.same(flinkml.current_model('reg_odd'),
                    (SELECT linreg_fit("Price ($)", ARRAY["Age (years)", "In""come", "x); DROP TABLE reg_sales; --"]::float8[], "Weight, %")
                     FROM "Reg Schema"."Sales Table")) AS same_as_fresh,
       linreg_names(flinkml.current_model('reg_odd')) AS names;
-- attached: the triggers on the odd table keep the model exact
SELECT flinkml.attach('reg_odd');
INSERT INTO "Reg Schema"."Sales Table" VALUES (7, 31, 2, 1, 2), (9, 32, NULL, 0, 1);
UPDATE "Reg Schema"."Sales Table" SET "Price ($)" = "Price ($)" + 1 WHERE "Age (years)" < 10;
DELETE FROM "Reg Schema"."Sales Table" WHERE "Age (years)" % 7 = 0;
SELECT pg_temp.same(flinkml.current_model('reg_odd'),
                    (SELECT linreg_fit("Price ($)", ARRAY["Age (years)", "In""come", "x); DROP TABLE reg_sales; --"]::float8[], "Weight, %")
                     FROM "Reg Schema"."Sales Table")) AS same_as_fresh;
SELECT flinkml.refit('reg_odd');
SELECT flinkml.drop_model('reg_odd');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = '"Reg Schema"."Sales Table"'::regclass;
-- a table whose name reads like an injection
CREATE TABLE "reg_sales; DROP TABLE reg_sales; --" (y float8, "x" float8);
INSERT INTO "reg_sales; DROP TABLE reg_sales; --" VALUES (1, 1), (3, 2), (5, 3), (8, 4);
SELECT flinkml.create_model('reg_inj', '"reg_sales; DROP TABLE reg_sales; --"', 'y', ARRAY['x']);
SELECT flinkml.attach('reg_inj');
INSERT INTO "reg_sales; DROP TABLE reg_sales; --" VALUES (9, 5);
SELECT pg_temp.same(flinkml.current_model('reg_inj'),
                    (SELECT linreg_fit(y, ARRAY[x]) FROM "reg_sales; DROP TABLE reg_sales; --")) AS same_as_fresh;
SELECT flinkml.drop_model('reg_inj');
DROP TABLE "reg_sales; DROP TABLE reg_sales; --";
SELECT count(*) AS reg_sales_rows FROM reg_sales;
DROP TABLE "Reg Schema"."Sales Table";
DROP SCHEMA "Reg Schema";

--
-- Ownership: a second role cannot change another role's model, until it is
-- granted the owner role.  It may read the model and predict with it only
-- if it may read the model's source table.
--
CREATE ROLE regress_flinkml_owner;
CREATE ROLE regress_flinkml_other;
CREATE TABLE reg_perm (y float8, x1 float8, x2 float8);
INSERT INTO reg_perm SELECT 1 + 2 * g + 0.5 * (g % 4) + ((g * 11) % 5) / 10.0, g, g % 4 FROM generate_series(1, 20) AS g;
ALTER TABLE reg_perm OWNER TO regress_flinkml_owner;
SET ROLE regress_flinkml_owner;
SELECT flinkml.create_model('reg_owned', 'reg_perm', 'y', ARRAY['x1', 'x2']);
SELECT flinkml.refit('reg_owned');
RESET ROLE;
SELECT owner FROM flinkml.models WHERE name = 'reg_owned';
SET ROLE regress_flinkml_other;
-- not a reader of the source table: the model, its versions and deltas are
-- not visible (a state holds sums over the table's rows)
SELECT count(*) AS visible_models FROM flinkml.models WHERE name = 'reg_owned';
SELECT count(*) AS visible_versions FROM flinkml.versions WHERE model = 'reg_owned';
SELECT count(*) AS visible_deltas FROM flinkml.deltas WHERE model = 'reg_owned';
SELECT flinkml.current_model('reg_owned');
SELECT linreg_predict('reg_owned', ARRAY[1, 1]::float8[]);
RESET ROLE;
GRANT SELECT ON reg_perm TO regress_flinkml_other;
SET ROLE regress_flinkml_other;
-- a reader of the table may read the model and predict with it
SELECT version, active, made_by, rows FROM flinkml.versions('reg_owned');
SELECT flinkml.current_model('reg_owned')::text = v.fit::text AS readable
FROM flinkml.versions v WHERE v.model = 'reg_owned' AND v.version = 2;
SELECT linreg_predict('reg_owned', ARRAY[1, 1]::float8[]) IS NOT NULL AS predicts;
-- changing is not
SELECT flinkml.refit('reg_owned');
SELECT flinkml.activate('reg_owned', 1);
SELECT flinkml.rollback('reg_owned');
SELECT flinkml.compact('reg_owned');
SELECT flinkml.attach('reg_owned');
SELECT flinkml.detach('reg_owned');
SELECT flinkml.drop_model('reg_owned');
-- nor through the registry tables
UPDATE flinkml.models SET active_version = 1 WHERE name = 'reg_owned';
UPDATE flinkml.models SET owner = 'regress_flinkml_other' WHERE name = 'reg_owned';
DELETE FROM flinkml.models WHERE name = 'reg_owned';
UPDATE flinkml.versions SET state = NULL, fit = NULL WHERE model = 'reg_owned';
DELETE FROM flinkml.versions WHERE model = 'reg_owned';
INSERT INTO flinkml.versions (model, version, made_by) VALUES ('reg_owned', 3, 'manual');
INSERT INTO flinkml.models (name, source, target, features, attnums, owner)
VALUES ('reg_forged', 'reg_perm', 'y', ARRAY['x1'], '{1,0,2}', 'regress_flinkml_owner');
-- a pending delta would change the model's predictions: refused too
DO $$
BEGIN
    INSERT INTO flinkml.deltas (model, added, made_by)
    SELECT 'reg_owned', linreg_state(1e6::float8, ARRAY[5, 5]::float8[]), 'trigger';
    RAISE NOTICE 'delta appended to another role''s model';
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'delta refused';
END $$;
-- not a reader of the table: cannot make a model of it
SELECT flinkml.create_model('reg_other', 'reg_sales', 'price', ARRAY['age']);
RESET ROLE;
-- the model is as its owner left it
SELECT head_version, active_version, owner FROM flinkml.models WHERE name = 'reg_owned';
SELECT version, active, made_by, rows FROM flinkml.versions('reg_owned');
SELECT count(*) AS deltas FROM flinkml.deltas WHERE model = 'reg_owned';
SELECT pg_temp.same(flinkml.current_model('reg_owned'), (SELECT linreg_fit(y, ARRAY[x1, x2]) FROM reg_perm)) AS unchanged;
SELECT count(*) AS forged FROM flinkml.models WHERE name = 'reg_forged';
-- granted the owner role, the second role may change the model
GRANT regress_flinkml_owner TO regress_flinkml_other;
SET ROLE regress_flinkml_other;
SELECT flinkml.activate('reg_owned', 1);
SELECT flinkml.refit('reg_owned');
SELECT flinkml.attach('reg_owned');
INSERT INTO reg_perm VALUES (100, 21, 3);
SELECT pg_temp.same(flinkml.current_model('reg_owned'), (SELECT linreg_fit(y, ARRAY[x1, x2]) FROM reg_perm)) AS pinned_same_as_fresh;
SELECT flinkml.activate('reg_owned', 4);
SELECT pg_temp.same(flinkml.current_model('reg_owned'), (SELECT linreg_fit(y, ARRAY[x1, x2]) FROM reg_perm)) AS maintained;
SELECT flinkml.compact('reg_owned');
SELECT flinkml.rollback('reg_owned');
SELECT version, active, made_by, rows FROM flinkml.versions('reg_owned');
SELECT flinkml.detach('reg_owned');
SELECT flinkml.drop_model('reg_owned');
RESET ROLE;
SELECT count(*) AS models FROM flinkml.models WHERE name = 'reg_owned';
SELECT count(*) AS versions FROM flinkml.versions WHERE model = 'reg_owned';
REVOKE regress_flinkml_owner FROM regress_flinkml_other;
DROP TABLE reg_perm;
DROP ROLE regress_flinkml_other;
DROP ROLE regress_flinkml_owner;

--
-- drop_model removes the model, its versions and deltas, and its triggers.
--
SELECT flinkml.attach('reg_price');
INSERT INTO reg_sales VALUES (41, 1, 1, 1, 1, 'r', now(), true);
SELECT count(*) > 0 AS has_deltas FROM flinkml.deltas WHERE model = 'reg_price';
SELECT flinkml.drop_model('reg_price');
SELECT (SELECT count(*) FROM flinkml.models WHERE name = 'reg_price') AS models,
       (SELECT count(*) FROM flinkml.versions WHERE model = 'reg_price') AS versions,
       (SELECT count(*) FROM flinkml.deltas WHERE model = 'reg_price') AS deltas,
       (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'reg_sales'::regclass) AS triggers;
INSERT INTO reg_sales VALUES (42, 1, 1, 1, 1, 'r', now(), true);
SELECT linreg_predict('reg_price', ARRAY[10, 4, 2]::float8[]);
SELECT flinkml.drop_model('reg_price');
SELECT flinkml.drop_model('reg_noisy');
SELECT flinkml.drop_model('reg_noisy_w0');
DROP TABLE reg_sales, reg_new, reg_noisy;
SELECT count(*) AS left_over FROM flinkml.models WHERE name ILIKE 'reg%' OR name IN ('_reg_9', repeat('r', 48));
