-- demo/demo.sql — flinkml end to end on an e-commerce table.
--
-- Run by demo/run_demo.sh on a throwaway cluster:
--     psql -X -v ON_ERROR_STOP=1 --echo-queries -f demo/demo.sql
--
-- 100,000 synthetic customers; the price each one pays is a known linear
-- function of age, income and buy_count, plus a per-region offset, plus
-- Gaussian noise (sd 10).  We fit on an 80% training split, check the
-- coefficients against the truth, score the 20% test split, fit per region,
-- write predictions to a table, fit over a sliding window, and merge stored
-- per-region states into one model.  Everything is deterministic: the
-- "random" numbers are hashes of the id, identical on every machine.

\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
SET extra_float_digits = 0;

\echo
\echo '== 1. The extension'
-- (re-runnable: drop what an earlier run left behind)
DROP VIEW IF EXISTS train, test;
DROP TABLE IF EXISTS sales, predictions, models, region_states;
DROP EXTENSION IF EXISTS flinkml;
CREATE EXTENSION flinkml;
SELECT extname, extversion FROM pg_extension WHERE extname = 'flinkml';

\echo
\echo '== 2. 100,000 synthetic customers'
\echo 'True model:  price = 12.5 + 0.8*age + 0.0015*income + 2.5*buy_count'
\echo '                     + region offset (north -4, south +2, east -1, west +3)'
\echo '                     + N(0, 10^2) noise'
-- u(id, k): a uniform number in (0, 1], a deterministic hash of (id, k).
CREATE FUNCTION pg_temp.u(id int, k int) RETURNS float8
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN ((hashint8(id::int8 * 8 + k) & 2147483647) + 1)::float8 / 2147483648.0;

CREATE TABLE sales (
	id        int PRIMARY KEY,
	region    text NOT NULL,
	age       int NOT NULL,
	income    float8 NOT NULL,
	buy_count int NOT NULL,
	ts        timestamp NOT NULL,
	price     float8 NOT NULL
);

INSERT INTO sales
SELECT id, region, age, income, buy_count, ts,
       round((12.5 + 0.8 * age + 0.0015 * income + 2.5 * buy_count
              + CASE region WHEN 'north' THEN -4 WHEN 'south' THEN 2
                            WHEN 'east' THEN -1 ELSE 3 END
              -- Box-Muller: a standard normal from two uniforms
              + 10 * sqrt(-2 * ln(pg_temp.u(id, 5))) * cos(2 * pi() * pg_temp.u(id, 6))
             )::numeric, 2)::float8     -- in cents
FROM (
	SELECT id,
	       (ARRAY['north', 'south', 'east', 'west'])[1 + floor(pg_temp.u(id, 1) * 4 - 1e-12)::int] AS region,
	       18 + floor(pg_temp.u(id, 2) * 63 - 1e-12)::int                 AS age,        -- 18..80
	       round(20000 + pg_temp.u(id, 3) * 130000)                       AS income,     -- 20k..150k
	       floor(pg_temp.u(id, 4) * 50 - 1e-12)::int                      AS buy_count,  -- 0..49
	       timestamp '2024-01-01' + id * interval '5 minutes'             AS ts
	FROM generate_series(1, 100000) AS id
) g;
ANALYZE sales;

SELECT * FROM sales ORDER BY id LIMIT 5;

SELECT region, count(*) AS customers, min(age) AS min_age, max(age) AS max_age,
       round(avg(income)) AS avg_income, round(avg(price)::numeric, 2) AS avg_price
FROM sales GROUP BY region ORDER BY region;

-- A deterministic 80/20 split on the id.
CREATE VIEW train AS SELECT * FROM sales WHERE id % 5 <> 0;
CREATE VIEW test  AS SELECT * FROM sales WHERE id % 5 = 0;
SELECT (SELECT count(*) FROM train) AS train_rows, (SELECT count(*) FROM test) AS test_rows;

\echo
\echo '== 3. Fit on the training split: one aggregate, one pass'
\timing on
CREATE TABLE models AS
SELECT 'global'::text AS name,
       linreg_fit(price, ARRAY[age, income, buy_count]) AS model
FROM train;
\timing off

SELECT linreg_coefficients(model) AS coefficients,
       linreg_rows(model) AS rows, linreg_skipped(model) AS skipped,
       linreg_rank(model) AS rank, linreg_features(model) AS features,
       round(linreg_cond(model)::numeric, 1) AS cond
FROM models WHERE name = 'global';

\echo 'Fitted coefficients against the generating ones (intercept first):'
SELECT t.term, t.truth, round(c.coef::numeric, 7) AS fitted,
       round((100 * (c.coef - t.truth) / t.truth)::numeric, 3) AS error_pct
FROM models m,
     unnest(linreg_coefficients(m.model)) WITH ORDINALITY AS c(coef, i)
     JOIN (VALUES (1, 'intercept', 12.5), (2, 'age', 0.8),
                  (3, 'income', 0.0015), (4, 'buy_count', 2.5)) AS t(i, term, truth)
       USING (i)
WHERE m.name = 'global'
ORDER BY t.i;

\echo
\echo '== 4. Test-set error (noise variance is 100; region offsets add 7.5)'
SELECT count(*) AS test_rows,
       round(avg((price - linreg_predict(m.model, ARRAY[age, income, buy_count]))^2)::numeric, 2) AS mse,
       round(sqrt(avg((price - linreg_predict(m.model, ARRAY[age, income, buy_count]))^2))::numeric, 3) AS rmse
FROM test, models m
WHERE m.name = 'global';

\echo
\echo '== 5. One model per region: GROUP BY'
INSERT INTO models
SELECT region, linreg_fit(price, ARRAY[age, income, buy_count])
FROM train GROUP BY region;

SELECT name AS region,
       round(linreg_intercept(model)::numeric, 3) AS intercept,
       round(linreg_intercept(model)::numeric - 12.5, 3) AS offset_fitted,
       CASE name WHEN 'north' THEN -4 WHEN 'south' THEN 2 WHEN 'east' THEN -1 ELSE 3 END AS offset_true,
       (SELECT array_agg(round(c::numeric, 5)) FROM unnest((linreg_coefficients(model))[2:4]) c) AS slopes,
       linreg_rows(model) AS rows
FROM models WHERE name <> 'global' ORDER BY name;

\echo 'Test error of the per-region models (close to the noise variance, 100):'
SELECT round(avg((t.price - linreg_predict(m.model, ARRAY[t.age, t.income, t.buy_count]))^2)::numeric, 2) AS mse_per_region
FROM test t JOIN models m ON m.name = t.region;

\echo
\echo '== 6. Serve predictions for the test set into a table'
CREATE TABLE predictions AS
SELECT t.id, t.price,
       linreg_predict(m.model, ARRAY[t.age, t.income, t.buy_count]) AS predicted
FROM test t JOIN models m ON m.name = t.region;
SELECT id, price, round(predicted::numeric, 2) AS predicted,
       round((price - predicted)::numeric, 2) AS residual
FROM predictions ORDER BY id LIMIT 8;
SELECT count(*) AS predictions FROM predictions;

\echo
\echo '== 7. Features as separate columns: linreg_fit_cols (no array per row)'
SELECT (SELECT array_agg(round(c::numeric, 6))
        FROM unnest(linreg_coefficients(linreg_fit_cols(price, age, income, buy_count))) c) AS fit_cols,
       (SELECT array_agg(round(c::numeric, 6))
        FROM unnest(linreg_coefficients(linreg_fit(price, ARRAY[age, income, buy_count]))) c) AS fit_array
FROM train;
SELECT round(linreg_predict_cols(model, 40, 85000, 12)::numeric, 3) AS predict_cols,
       round(linreg_predict(model, ARRAY[40, 85000, 12]::float8[])::numeric, 3) AS predict_array,
       12.5 + 0.8 * 40 + 0.0015 * 85000 + 2.5 * 12 AS truth_without_offset
FROM models WHERE name = 'global';

\echo
\echo '== 8. A sliding window: a fit over the last 1000 sales (by ts) at each row'
-- The moving aggregate adds the entering row and subtracts the leaving one,
-- so each step costs the same whatever the frame size.
WITH recent AS (
	SELECT * FROM sales ORDER BY ts DESC LIMIT 1005
), windowed AS (
	SELECT id, ts,
	       count(*) OVER w AS frame_rows,
	       linreg_fit(price, ARRAY[age, income, buy_count]) OVER w AS model
	FROM recent
	WINDOW w AS (ORDER BY ts ROWS BETWEEN 999 PRECEDING AND CURRENT ROW)
)
SELECT id, ts, frame_rows, linreg_rows(model) AS model_rows,
       (SELECT array_agg(round(c::numeric, 4)) FROM unnest(linreg_coefficients(model)) c) AS coefficients
FROM windowed ORDER BY ts DESC LIMIT 5;

\echo
\echo '== 9. Store per-region states; merge them into one model later'
CREATE TABLE region_states AS
SELECT region, linreg_state(price, ARRAY[age, income, buy_count]) AS s
FROM train GROUP BY region;
SELECT region, linreg_rows(s) AS rows, linreg_features(s) AS features,
       pg_column_size(s) AS bytes
FROM region_states ORDER BY region;

\echo 'linreg_solve(linreg_merge(s)) equals the fit over all training rows:'
SELECT (SELECT array_agg(round(c::numeric, 6))
        FROM unnest(linreg_coefficients(linreg_solve(merged))) c) AS merged_coefficients,
       linreg_rows(merged) AS merged_rows,
       (SELECT max(abs(a - b)) FROM unnest(linreg_coefficients(linreg_solve(merged)),
                                           linreg_coefficients(m.model)) AS z(a, b)) AS max_abs_difference
FROM (SELECT linreg_merge(s) AS merged FROM region_states) r,
     models m
WHERE m.name = 'global';

\echo 'States also add and subtract: north + south, then minus south again:'
SELECT linreg_rows(n.s + so.s) AS north_plus_south,
       linreg_rows((n.s + so.s) - so.s) AS minus_south,
       (SELECT array_agg(round(c::numeric, 6))
        FROM unnest(linreg_coefficients(linreg_solve((n.s + so.s) - so.s))) c) AS coefficients,
       (SELECT array_agg(round(c::numeric, 6))
        FROM unnest(linreg_coefficients(linreg_solve(n.s))) c) AS north_alone
FROM region_states n, region_states so
WHERE n.region = 'north' AND so.region = 'south';

\echo
\echo '== Done.'
