-- demo/stream_demo.sql — the streaming half of the demo: events arrive in
-- batches, models learn from them as they commit, each batch is scored
-- before it is learnt (test-then-train), the world changes half way, the
-- drift shows, a challenger version is promoted, and a rollback is one call.
--
-- Run by demo/run_demo.sh after demo/demo.sql.  Deterministic: the "random"
-- numbers are hashes of the id.  Event time advances 5 minutes per batch of
-- 2,000 sales; at batch 13 the price model changes (buy_count 2.5 -> 6.0,
-- intercept +10).

\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
SET extra_float_digits = 0;

\echo
\echo '== 10. A stream of sales, and models that learn as each batch commits'
DROP TABLE IF EXISTS stream_sales, demo_batches;
SELECT flinkml.drop_model(name) FROM flinkml.models WHERE name IN ('price_all', 'price_cc');
CREATE FUNCTION pg_temp.u(id int, k int) RETURNS float8
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN ((hashint8(id::int8 * 8 + k) & 2147483647) + 1)::float8 / 2147483648.0;
CREATE TABLE stream_sales (
	id        int PRIMARY KEY,
	region    text NOT NULL,
	age       int NOT NULL,
	income    float8 NOT NULL,
	buy_count int NOT NULL,
	ts        timestamptz NOT NULL,
	price     float8 NOT NULL,
	predicted float8,         -- written by flinkml.score_into as each row arrives
	model_version integer
);
-- batch b: 2,000 sales at event time 2026-01-01 + 5 min * b
CREATE FUNCTION pg_temp.arrive(b int) RETURNS void LANGUAGE sql AS $$
	INSERT INTO stream_sales
	SELECT id, region, age, income, buy_count, TIMESTAMPTZ '2026-01-01 00:00+00' + b * interval '5 minutes',
	       round((CASE WHEN b >= 13 THEN 22.5 ELSE 12.5 END + 0.8 * age + 0.0015 * income
	              + CASE WHEN b >= 13 THEN 6.0 ELSE 2.5 END * buy_count
	              + 10 * sqrt(-2 * ln(pg_temp.u(id, 5))) * cos(2 * pi() * pg_temp.u(id, 6)))::numeric, 2)::float8
	FROM (SELECT id,
	             (ARRAY['north', 'south', 'east', 'west'])[1 + floor(pg_temp.u(id, 1) * 4 - 1e-12)::int] AS region,
	             18 + floor(pg_temp.u(id, 2) * 63 - 1e-12)::int AS age,
	             round(20000 + pg_temp.u(id, 3) * 130000) AS income,
	             floor(pg_temp.u(id, 4) * 20 - 1e-12)::int AS buy_count
	      FROM generate_series(b * 2000 + 1, b * 2000 + 2000) id) t
$$;
SELECT pg_temp.arrive(0);
\echo 'Two registry models over the stream, kept exact by triggers:'
\echo '  price_all: learns every batch (policy always, compacted after each batch)'
\echo '  price_cc:  champion/challenger (policy if_better): a refit every 4 batches is a'
\echo '             challenger, activated once it beats the active version by 5% on 2,000 new rows'
SELECT flinkml.create_model('price_all', 'stream_sales', 'price', ARRAY['age', 'income', 'buy_count']);
SELECT flinkml.create_model('price_cc', 'stream_sales', 'price', ARRAY['age', 'income', 'buy_count']);
SELECT flinkml.attach('price_all'), flinkml.attach('price_cc');
SELECT flinkml.set_policy('price_cc', 'if_better', margin => 0.05, min_rows => 2000);
\echo 'Every arriving row gets price_cc''s prediction and version in the same statement:'
SELECT flinkml.score_into('price_cc', 'stream_sales', 'predicted', 'model_version');

-- The one-hour window (12 batches) is kept with state arithmetic: the state
-- of each batch is stored, the window is the sum of the last 12, and a
-- batch leaving the window is subtracted exactly.
CREATE TABLE demo_batches (b int PRIMARY KEY, ts timestamptz, s linreg_state,
                           window_mse float8, window_r2 float8);
INSERT INTO demo_batches
SELECT 0, min(ts), linreg_state(price, ARRAY[age, income, buy_count]), NULL, NULL FROM stream_sales;

\echo
\echo 'Batches 1..24 arrive, each in its own transaction:'
DO $$
DECLARE
	w linreg_state;
	bs linreg_state;
	e linreg_error_stats;
BEGIN
	FOR batch IN 1..24 LOOP
		-- the window model as it stands before batch b
		SELECT linreg_merge(s ORDER BY demo_batches.b) INTO w FROM demo_batches WHERE demo_batches.b > batch - 13;
		PERFORM pg_temp.arrive(batch);
		SELECT linreg_state(price, ARRAY[age, income, buy_count]) INTO bs FROM stream_sales
		WHERE id > batch * 2000 AND id <= batch * 2000 + 2000;
		e := linreg_state_error(bs, linreg_solve(w));
		INSERT INTO demo_batches VALUES (batch, TIMESTAMPTZ '2026-01-01 00:00+00' + batch * interval '5 minutes', bs,
		                                 e.sse / e.weight, 1 - e.sse / e.m2_y);
		PERFORM flinkml.compact('price_all');
		IF batch % 4 = 0 THEN
			PERFORM flinkml.refit('price_cc');
		END IF;
		PERFORM flinkml.review('price_cc');
		COMMIT;
	END LOOP;
END $$;

\echo
\echo 'Per batch: the test-then-train error of each model on the batch, before it learnt it'
\echo '(noise variance is 100), and the drift test of price_all on that batch'
CREATE TEMP TABLE report AS
WITH ev AS (
	SELECT e.model, e.version, e.rows, e.sse / e.weight AS mse, 1 - e.sse / e.m2_y AS r2,
	       row_number() OVER (PARTITION BY e.model, e.version ORDER BY e.change) AS k, e.change
	FROM flinkml.evaluations e WHERE e.model IN ('price_all', 'price_cc')
), all_h AS (
	SELECT row_number() OVER (ORDER BY change) AS b, version, mse, r2, rows FROM ev WHERE model = 'price_all'
), cc AS (
	-- the version that was active for each batch: its evaluation is the
	-- earliest of the batch's (the active version's row comes first)
	SELECT DISTINCT ON (change) change, version, mse FROM ev WHERE model = 'price_cc' ORDER BY change, version
), cc_b AS (
	SELECT row_number() OVER (ORDER BY change) AS b, version, mse FROM cc
)
SELECT a.b, d.ts, round(a.mse::numeric, 1) AS all_history_mse, round(d.window_mse::numeric, 1) AS window_mse,
       c.version AS cc_active, round(c.mse::numeric, 1) AS cc_mse,
       flinkml._f_upper_p(a.mse / st.sigma ^ 2, a.rows, st.df_resid) < 0.01 AS drift
FROM all_h a JOIN demo_batches d ON d.b = a.b JOIN cc_b c ON c.b = a.b
JOIN flinkml.versions v ON v.model = 'price_all' AND v.version = a.version
CROSS JOIN LATERAL linreg_stats(v.fit) st
ORDER BY a.b;
SELECT b AS batch, to_char(ts, 'HH24:MI') AS event_time, all_history_mse, window_mse, cc_active, cc_mse, drift
FROM report ORDER BY b;
\o :outdir/error_over_time.dat
SELECT b, all_history_mse, window_mse, cc_mse FROM report ORDER BY b;
\o

\echo
\echo 'What price_cc decided, version by version (flinkml.versions.note):'
SELECT version, active, made_by, rows, note FROM flinkml.versions v JOIN LATERAL
       (SELECT v.version = m.active_version AS active FROM flinkml.models m WHERE m.name = 'price_cc') a ON true
WHERE v.model = 'price_cc' ORDER BY version;
\echo
\echo 'The drift view over the last hour of wall-clock time (every batch above; price_all'
\echo 'was compacted after the last batch, and its newest version has not been scored yet):'
SELECT model, version, round(train_mse::numeric, 1) AS train_mse, recent_rows,
       round(recent_mse::numeric, 1) AS recent_mse, round(ratio::numeric, 2) AS ratio, drifting
FROM flinkml.model_drift WHERE model IN ('price_all', 'price_cc') ORDER BY model;
\echo
\echo 'The active price_cc model now: an all-history fit, between the old world (12.5, 0.8, 0.0015, 2.5)'
\echo 'and the new one (22.5, 0.8, 0.0015, 6.0):'
SELECT term, round(estimate::numeric, 4) AS estimate, round(std_error::numeric, 4) AS std_error
FROM linreg_summary(flinkml.current_model('price_cc'));
\echo 'The one-hour window (the last 12 batch states, merged): the new world'
SELECT term, round(estimate::numeric, 4) AS estimate, round(std_error::numeric, 4) AS std_error
FROM linreg_summary((SELECT linreg_solve(linreg_merge(s ORDER BY b)) FROM demo_batches WHERE b > 12));
\echo
\echo 'Rollback is one call, and predictions follow it at once:'
SELECT flinkml.rollback('price_cc') AS now_active;
SELECT round(linreg_predict('price_cc', ARRAY[40, 80000, 10])::numeric, 2) AS predicted_after_rollback;
SELECT flinkml.activate('price_cc', (SELECT max(version) FROM flinkml.versions WHERE model = 'price_cc')) ;
SELECT round(linreg_predict('price_cc', ARRAY[40, 80000, 10])::numeric, 2) AS predicted_newest;
\echo
\echo 'The predictions written into the arriving rows (score_into), and by name in a query:'
SELECT id, price, round(predicted::numeric, 2) AS predicted_on_arrival, model_version,
       round(linreg_predict('price_cc', ARRAY[age, income, buy_count])::numeric, 2) AS predicted_now
FROM stream_sales ORDER BY id DESC LIMIT 3;
SELECT model_version, count(*) AS rows_scored FROM stream_sales WHERE model_version IS NOT NULL
GROUP BY model_version ORDER BY model_version;
\echo 'A consumer outside PostgreSQL reads them through logical replication, e.g.:'
\echo '  CREATE PUBLICATION price_predictions FOR TABLE stream_sales (id, predicted, model_version);'
