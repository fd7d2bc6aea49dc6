--
-- Categorical registry features: a text, varchar or boolean column as a
-- feature of a registry model is dummy-coded as R's treatment contrasts do.
-- The levels are learned when the model is created (the distinct values of
-- the rows the fit uses, sorted in the "C" collation) and stored with it
-- (flinkml.models.levels); the first level is the reference and has no
-- column; the others are named feature=level.  A level the model has not
-- seen is an error naming it, everywhere (refit, triggers, score_into,
-- linreg_predict by name; a follower, which cannot refuse a committed row,
-- makes the model stale naming it: t/004_categorical_follow.pl); a NULL is a
-- NULL feature (the row is skipped, the prediction NULL).
--
-- Reference values: test/data/categorical/make_reference.R (R 4.2, lm with
-- the same levels), from the CSV data in that folder.  Every number is
-- checked against R with a relative tolerance of 1e-10; only booleans are
-- printed.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;
-- errors with their detail and hint, without the PL/pgSQL context lines
\set SHOW_CONTEXT never

CREATE TABLE cat_sales (id integer PRIMARY KEY, region text, promo boolean, age integer, price float8);
\copy cat_sales FROM 'test/data/categorical/sales.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cat_batch (LIKE cat_sales);
\copy cat_batch FROM 'test/data/categorical/batch.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cat_newpoints (point integer, region text, promo boolean, age float8);
\copy cat_newpoints FROM 'test/data/categorical/newpoints.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cat_ref_coef (fit text, term text, estimate float8, std_error float8);
\copy cat_ref_coef FROM 'test/data/categorical/ref_coef.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cat_ref_stats (fit text, n bigint, df float8, sigma float8, r_squared float8);
\copy cat_ref_stats FROM 'test/data/categorical/ref_stats.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cat_ref_predict (fit text, point integer, prediction float8);
\copy cat_ref_predict FROM 'test/data/categorical/ref_predict.csv' WITH (FORMAT csv, HEADER)

CREATE FUNCTION pg_temp.close(a float8, b float8) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT abs(a - b) <= 1e-10 * abs(b) $$;

-- A model's summary against R's fit: every term, its estimate and standard
-- error, in R's order; and n, residual df, sigma and R^2.
-- (region, the categorical feature, may have been renamed: called so here)
CREATE FUNCTION pg_temp.check_fit(m linreg, ref text, region text DEFAULT 'region')
RETURNS TABLE (term text, estimate_ok boolean, std_error_ok boolean)
LANGUAGE sql STABLE AS $$
	SELECT coalesce(s.term, r.term), pg_temp.close(s.estimate, r.estimate), pg_temp.close(s.std_error, r.std_error)
	FROM (SELECT replace(x.term, region || '=', 'region=') AS term, x.estimate, x.std_error, x.k
	      FROM linreg_summary(m) WITH ORDINALITY x(term, estimate, std_error, t_value, p_value, conf_low, conf_high, k)) s
	FULL JOIN (SELECT c.term, c.estimate, c.std_error FROM cat_ref_coef c WHERE c.fit = ref) r ON r.term = s.term
	ORDER BY s.k
$$;
CREATE FUNCTION pg_temp.check_stats(m linreg, ref text) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT st.n = r.n AND st.df_resid = r.df AND pg_temp.close(st.sigma, r.sigma) AND pg_temp.close(st.r_squared, r.r_squared)
	FROM linreg_stats(m) st, cat_ref_stats r WHERE r.fit = ref
$$;

-------------------------------------------------------------------------------
-- Levels: learned at creation, sorted in the "C" collation ("North" before
-- "east"); "mid" appears only in a row without a price, so it is not a level
-- (as R's model.frame drops unused levels); booleans are false < true.
-------------------------------------------------------------------------------
SELECT flinkml.create_model('cat_price', 'cat_sales', 'price', ARRAY['age', 'region', 'promo']);
SELECT features, levels FROM flinkml.models WHERE name = 'cat_price';
SELECT linreg_rows(fit), linreg_skipped(fit), linreg_features(fit) FROM flinkml.versions WHERE model = 'cat_price';

-- summary names (feature=level, the reference level dropped) and fit A
SELECT linreg_names(flinkml.current_model('cat_price'));
SELECT * FROM pg_temp.check_fit(flinkml.current_model('cat_price'), 'A');
SELECT pg_temp.check_stats(flinkml.current_model('cat_price'), 'A');
SELECT version, coefficients IS NOT NULL AS has_coefficients FROM flinkml.versions('cat_price');

-- a varchar column is the same feature
CREATE TABLE cat_sales_v AS SELECT id, region::varchar(10) AS region, promo, age, price FROM cat_sales;
SELECT flinkml.create_model('cat_price_v', 'cat_sales_v', 'price', ARRAY['age', 'region', 'promo']);
SELECT * FROM pg_temp.check_fit(flinkml.current_model('cat_price_v'), 'A');

-- without intercept the first categorical feature is coded in full (a
-- column per level, region=North too), as R's lm(price ~ 0 + ...) does (fit C)
SELECT flinkml.create_model('cat_noint', 'cat_sales', 'price', ARRAY['age', 'region', 'promo'], intercept => false);
SELECT linreg_names(flinkml.current_model('cat_noint'));
SELECT * FROM pg_temp.check_fit(flinkml.current_model('cat_noint'), 'C');
SELECT pg_temp.check_stats(flinkml.current_model('cat_noint'), 'C');
SELECT p.point, pg_temp.close(linreg_predict('cat_noint', p), r.prediction) AS predict_ok
FROM cat_newpoints p JOIN cat_ref_predict r USING (point) WHERE r.fit = 'C' ORDER BY p.point;
SELECT pg_temp.close(linreg_predict('cat_noint', ARRAY[30, 1, 0, 0, 0, 0]), r.prediction) AS predict_ok
FROM cat_ref_predict r WHERE r.fit = 'C' AND r.point = 1;
-- its triggers code rows the same way: a row in and out again leaves fit C
SELECT flinkml.attach('cat_noint');
INSERT INTO cat_sales VALUES (41, 'North', true, 50, 60), (42, 'west', false, 35, 45);
SELECT linreg_rows(flinkml.current_state('cat_noint'));
DELETE FROM cat_sales WHERE id IN (41, 42);
SELECT * FROM pg_temp.check_fit(flinkml.current_model('cat_noint'), 'C');
-- and score_into
CREATE TABLE cat_scored_c (point integer, region text, promo boolean, age float8, predicted float8);
SELECT flinkml.score_into('cat_noint', 'cat_scored_c', 'predicted');
INSERT INTO cat_scored_c (point, region, promo, age) SELECT point, region, promo, age FROM cat_newpoints;
SELECT s.point, pg_temp.close(s.predicted, r.prediction) AS predict_ok
FROM cat_scored_c s JOIN cat_ref_predict r USING (point) WHERE r.fit = 'C' ORDER BY s.point;
SELECT flinkml.drop_model('cat_noint');
DROP TABLE cat_scored_c;

-- bad definitions: an error naming the column
SELECT flinkml.create_model('cat_bad', 'cat_sales', 'region', ARRAY['age']);
CREATE TABLE cat_one AS SELECT * FROM cat_sales WHERE region = 'east';
SELECT flinkml.create_model('cat_bad', 'cat_one', 'price', ARRAY['age', 'region']);
SELECT flinkml.create_model('cat_bad', 'cat_one', 'price', ARRAY['age', 'region', 'promo']);
CREATE TABLE cat_none AS SELECT * FROM cat_sales WHERE false;
SELECT flinkml.create_model('cat_bad', 'cat_none', 'price', ARRAY['age', 'region']);
ALTER TABLE cat_one ADD COLUMN day date;
SELECT flinkml.create_model('cat_bad', 'cat_one', 'price', ARRAY['age', 'day']);
SELECT count(*) FROM flinkml.models WHERE name = 'cat_bad';

-- (followers: t/004_categorical_follow.pl)

-------------------------------------------------------------------------------
-- Triggers keep the model exact: inserts, deletes, updates (fit B)
-------------------------------------------------------------------------------
SELECT flinkml.attach('cat_price');
INSERT INTO cat_sales SELECT * FROM cat_batch;
DELETE FROM cat_sales WHERE id IN (2, 5, 9);
UPDATE cat_sales SET region = 'west' WHERE id = 12;
UPDATE cat_sales SET age = 61 WHERE id = 20;
SELECT * FROM pg_temp.check_fit(flinkml.current_model('cat_price'), 'B');
SELECT pg_temp.check_stats(flinkml.current_model('cat_price'), 'B');

-- an unseen level: the writer's statement fails, naming it; nothing is folded
INSERT INTO cat_sales VALUES (41, 'central', true, 30, 40);
UPDATE cat_sales SET region = 'North ' WHERE id = 3;
SELECT linreg_rows(flinkml.current_state('cat_price'));
-- a NULL elsewhere in the row: skipped, as for numeric features, before its level is looked at
INSERT INTO cat_sales VALUES (41, 'central', true, 30, NULL);
SELECT linreg_rows(flinkml.current_state('cat_price')), linreg_skipped(flinkml.current_state('cat_price'));
DELETE FROM cat_sales WHERE id = 41;

-- compaction and refit keep the levels learned at creation
SELECT flinkml.compact('cat_price') > 0;
SELECT * FROM pg_temp.check_fit(flinkml.current_model('cat_price'), 'B');
SELECT flinkml.refit('cat_price') > 0;
SELECT * FROM pg_temp.check_fit(flinkml.current_model('cat_price'), 'B');
SELECT levels FROM flinkml.models WHERE name = 'cat_price';

-- a refit over a row with a level the model has not seen is an error naming it
SELECT flinkml.detach('cat_price');
INSERT INTO cat_sales VALUES (42, 'central', false, 44, 50);
SELECT flinkml.refit('cat_price');
DELETE FROM cat_sales WHERE id = 42;
SELECT flinkml.attach('cat_price') > 0;
SELECT * FROM pg_temp.check_fit(flinkml.current_model('cat_price'), 'B');

-------------------------------------------------------------------------------
-- linreg_predict by name with raw columns: a table's row, or a subquery's
-------------------------------------------------------------------------------
SELECT p.point, pg_temp.close(linreg_predict('cat_price', p), r.prediction) AS predict_ok
FROM cat_newpoints p JOIN cat_ref_predict r USING (point) WHERE r.fit = 'B' ORDER BY p.point;
SELECT pg_temp.close(linreg_predict('cat_price', t), r.prediction) AS predict_ok
FROM (VALUES (45, 'east', true)) t(age, region, promo), cat_ref_predict r WHERE r.fit = 'B' AND r.point = 2;
-- the float8[] form takes the dummy-coded columns, in the order of linreg_names
SELECT pg_temp.close(linreg_predict('cat_price', ARRAY[45, 1, 0, 0, 1]), r.prediction) AS predict_ok
FROM cat_ref_predict r WHERE r.fit = 'B' AND r.point = 2;
-- NULL feature: NULL; a level not seen, a missing column or one of the wrong kind: an error
SELECT linreg_predict('cat_price', t) IS NULL AS is_null FROM (VALUES (45, NULL::text, true)) t(age, region, promo);
SELECT linreg_predict('cat_price', t) IS NULL AS is_null FROM (VALUES (45, 'central', NULL::boolean)) t(age, region, promo);
SELECT linreg_predict('cat_price', t) FROM (VALUES (45, 'central', true)) t(age, region, promo);
SELECT linreg_predict('cat_price', t) FROM (VALUES (45, 'east')) t(age, region);
SELECT linreg_predict('cat_price', t) FROM (VALUES (45, 3, true)) t(age, region, promo);
SELECT linreg_predict('cat_price', t) FROM (VALUES ('45', 'east', true)) t(age, region, promo);
SELECT linreg_predict('cat_nosuch', t) FROM (VALUES (45, 'east', true)) t(age, region, promo);
-- to a role that may not read the model (nor its table) it does not exist
CREATE ROLE regress_cat_nobody;
SET ROLE regress_cat_nobody;
SELECT linreg_predict('cat_price', t) FROM (VALUES (45, 'east', true)) t(age, region, promo);
RESET ROLE;
DROP ROLE regress_cat_nobody;
-- a numeric model by raw columns too
SELECT flinkml.create_model('cat_num', 'cat_sales', 'price', ARRAY['age']);
SELECT linreg_predict('cat_num', t) = linreg_predict('cat_num', ARRAY[45]) AS same
FROM (VALUES (45)) t(age);

-------------------------------------------------------------------------------
-- score_into: predictions from the raw columns of each inserted row
-------------------------------------------------------------------------------
CREATE TABLE cat_scored (point integer, region text, promo boolean, age float8, predicted float8);
SELECT flinkml.score_into('cat_price', 'cat_scored', 'predicted');
INSERT INTO cat_scored (point, region, promo, age) SELECT point, region, promo, age FROM cat_newpoints;
SELECT s.point, pg_temp.close(s.predicted, r.prediction) AS predict_ok
FROM cat_scored s JOIN cat_ref_predict r USING (point) WHERE r.fit = 'B' ORDER BY s.point;
INSERT INTO cat_scored (point, region, promo, age) VALUES (6, NULL, true, 40) RETURNING predicted IS NULL AS is_null;
INSERT INTO cat_scored (point, region, promo, age) VALUES (7, 'central', true, 40);
UPDATE cat_scored SET region = 'South' WHERE point = 1;
SELECT count(*) FROM cat_scored;
-- a table whose column of a categorical feature is not text, varchar or boolean
CREATE TABLE cat_scored_bad (region integer, promo boolean, age float8, predicted float8);
SELECT flinkml.score_into('cat_price', 'cat_scored_bad', 'predicted');
SELECT flinkml.stop_scoring('cat_price', 'cat_scored');

-------------------------------------------------------------------------------
-- A renamed column is followed: the triggers read attribute numbers, the
-- error names the column as it is now called
-------------------------------------------------------------------------------
ALTER TABLE cat_sales RENAME COLUMN region TO area;
SELECT features FROM flinkml.models WHERE name = 'cat_price';
INSERT INTO cat_sales VALUES (43, 'central', false, 44, 50);
INSERT INTO cat_sales VALUES (43, 'east', false, 44, 50);
DELETE FROM cat_sales WHERE id = 43;
SELECT linreg_names(flinkml.current_model('cat_price'));
SELECT * FROM pg_temp.check_fit(flinkml.current_model('cat_price'), 'B', 'area');
-- a retyped categorical column makes the model stale
ALTER TABLE cat_sales ALTER COLUMN area TYPE varchar(20);
SELECT stale IS NOT NULL AS stale FROM flinkml.models WHERE name = 'cat_price';
SELECT flinkml.refit('cat_price') > 0;
SELECT * FROM pg_temp.check_fit(flinkml.current_model('cat_price'), 'B', 'area');

-------------------------------------------------------------------------------
-- Levels are bytes: quotes, commas, braces, backslashes, the word NULL, the
-- empty string and non-ASCII text are levels like any other (here checked
-- against the same fit with the dummies written out by hand)
-------------------------------------------------------------------------------
CREATE TABLE cat_odd (g integer, label text, y float8);
INSERT INTO cat_odd
SELECT g, (ARRAY['', 'a,b', 'x"y', '{z}', 'NULL', 'back\slash', 'é', 'E'])[1 + g % 8],
       1 + 0.5 * g + (g % 8) * (g % 8) * 0.25 + ((g * 7) % 5) * 0.1
FROM generate_series(1, 64) g;
SELECT flinkml.create_model('cat_odd', 'cat_odd', 'y', ARRAY['g', 'label']);
SELECT levels FROM flinkml.models WHERE name = 'cat_odd';
SELECT linreg_names(flinkml.current_model('cat_odd'));
CREATE FUNCTION pg_temp.odd_by_hand() RETURNS linreg LANGUAGE sql STABLE AS $$
	SELECT linreg_fit(y, ARRAY[g, (label = 'E')::int, (label = 'NULL')::int, (label = 'a,b')::int,
	                           (label = 'back\slash')::int, (label = 'x"y')::int, (label = '{z}')::int, (label = 'é')::int])
	FROM cat_odd
$$;
SELECT bool_and(pg_temp.close(a, b)) AS same_as_by_hand
FROM unnest(linreg_coefficients(flinkml.current_model('cat_odd')), linreg_coefficients(pg_temp.odd_by_hand())) u(a, b);
SELECT flinkml.attach('cat_odd') > 0;
INSERT INTO cat_odd SELECT g + 64, label, y + 1 FROM cat_odd;
UPDATE cat_odd SET label = 'x"y' WHERE g % 3 = 0;
SELECT bool_and(pg_temp.close(a, b)) AS same_as_by_hand
FROM unnest(linreg_coefficients(flinkml.current_model('cat_odd')), linreg_coefficients(pg_temp.odd_by_hand())) u(a, b);
SELECT bool_and(pg_temp.close(linreg_predict('cat_odd', o), linreg_predict(pg_temp.odd_by_hand(), ARRAY[g,
	(label = 'E')::int, (label = 'NULL')::int, (label = 'a,b')::int, (label = 'back\slash')::int, (label = 'x"y')::int,
	(label = '{z}')::int, (label = 'é')::int]))) AS predictions_same
FROM cat_odd o;
INSERT INTO cat_odd VALUES (0, 'e', 1);
SELECT flinkml.drop_model('cat_odd');

-------------------------------------------------------------------------------
-- The output plugin with option levels (what follow() passes for a model
-- with categorical features): validated like every option; a categorical
-- column is dummy-coded; a row with a level not among them is left out and
-- reported (two more fields: rows, feature and value), for the follower to
-- mark the model stale (t/004_categorical_follow.pl).
-------------------------------------------------------------------------------
SET synchronous_commit = on;
CREATE TABLE cat_dec (y float8, region text, flag boolean);
ALTER TABLE cat_dec REPLICA IDENTITY FULL;
SELECT 'cat_dec'::regclass::oid AS dec_relid \gset
DO $$ BEGIN
	PERFORM flinkml._allow_output_plugin();
	PERFORM pg_create_logical_replication_slot('regress_categorical', 'flinkml');
END $$;
CREATE FUNCTION pg_temp.peek(opts text[]) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM flinkml._allow_output_plugin();
	RETURN QUERY SELECT data FROM pg_logical_slot_peek_changes('regress_categorical', NULL, NULL, VARIADIC opts);
END $$;
INSERT INTO cat_dec SELECT g * 1.5 + (g % 3) * 2 + (g % 2), (ARRAY['a', 'b', 'c'])[1 + g % 3], g % 2 = 0
FROM generate_series(1, 12) g;
INSERT INTO cat_dec VALUES (100, 'zz', true), (101, NULL, false), (7, 'b', true);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'dec_relid', 'target', '1', 'features', '2,3']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'dec_relid', 'target', '1', 'features', '2,3', 'levels', '[null']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'dec_relid', 'target', '1', 'features', '2,3', 'levels', '[["a", "b", "c"]]']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'dec_relid', 'target', '1', 'features', '2,3', 'levels', '[["b", "a"], ["false", "true"]]']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'dec_relid', 'target', '1', 'features', '2,3', 'levels', '[["a"], ["false", "true"]]']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'dec_relid', 'target', '1', 'features', '2,3', 'levels', '[{"a": 1}, null]']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'dec_relid', 'target', '2', 'features', '3', 'levels', '[["false", "true"]]']);
SELECT * FROM pg_temp.peek(ARRAY['relid', :'dec_relid', 'target', '1', 'features', '2,3', 'levels', '[["a", "b", "c"], ["false", "true"]]', 'levels', '[]']);
-- the first transaction: every row coded; the second: 'zz' left out and
-- reported, the NULL skipped and counted, 'b' folded in
CREATE TEMP TABLE cat_dec_out AS
SELECT split_part(d, E'\t', 3)::linreg_state AS added, split_part(d, E'\t', 7) AS unseen,
       split_part(d, E'\t', 8) AS feature, split_part(d, E'\t', 9) AS value, row_number() OVER () AS txn
FROM pg_temp.peek(ARRAY['relid', :'dec_relid', 'target', '1', 'features', '2,3', 'levels', '[["a", "b", "c"], ["false", "true"]]']) d;
SELECT txn, linreg_rows(added), linreg_skipped(added), linreg_features(added), unseen, feature, value FROM cat_dec_out ORDER BY txn;
SELECT bool_and(pg_temp.close(a, b)) AS same_as_by_hand
FROM unnest(linreg_coefficients(linreg_solve((SELECT linreg_merge(added) FROM cat_dec_out))),
            (SELECT linreg_coefficients(linreg_fit(y, ARRAY[(region = 'b')::int, (region = 'c')::int, flag::int]))
             FROM cat_dec WHERE region IN ('a', 'b', 'c'))) u(a, b);
SELECT pg_drop_replication_slot('regress_categorical');
RESET synchronous_commit;

SELECT flinkml.drop_model('cat_price');
SELECT flinkml.drop_model('cat_price_v');
SELECT flinkml.drop_model('cat_num');
DROP TABLE cat_sales, cat_batch, cat_newpoints, cat_ref_coef, cat_ref_stats, cat_ref_predict, cat_sales_v,
	cat_one, cat_none, cat_scored, cat_scored_bad, cat_odd, cat_dec;
