-- demo/stream_demo.sql — the streaming half of the demo: events arrive in
-- batches, models learn from them as they commit, each batch is scored
-- before it is learnt (test-then-train), the world changes half way, the
-- drift shows, a one-hour event-time window model falls back, challenger
-- versions are promoted, and a rollback is one call.
--
-- Run by demo/run_demo.sh after demo/demo.sql.  The window models end at
-- now(), so the stream runs in compressed real time: a batch of 2,000 sales
-- arrives every second (event time ts = clock_timestamp() at insert), and a
-- second stands for 5 minutes, so time runs 300 times faster and the
-- one-hour window is 12 seconds (12 batches).  The sales themselves are
-- deterministic (the "random" numbers are hashes of the id); from batch 16
-- on (half way through 30) the price model changes (buy_count 2.5 -> 6.0,
-- intercept +10).  The timings vary a little from run to run; should a
-- batch be late enough to move a window's edge, the window_rows column shows it.

\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
SET extra_float_digits = 0;
\set batches 30
\set change_at 16
SET demo.batches = :batches;
SET demo.change_at = :change_at;

\echo
\echo '== 10. A stream of sales, and models that learn as each batch commits'
\echo 'Time runs 300 times faster here: a batch of 2,000 sales arrives every second and stands'
\echo 'for 5 minutes of sales, so the one-hour window is 12 seconds (12 batches).'
DROP TABLE IF EXISTS stream_sales, demo_batches;
SELECT flinkml.drop_model(name) FROM flinkml.models WHERE name IN ('price_all', 'price_window', 'price_cc');
CREATE FUNCTION pg_temp.u(id int, k int) RETURNS float8
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN ((hashint8(id::int8 * 8 + k) & 2147483647) + 1)::float8 / 2147483648.0;
CREATE TABLE stream_sales (
	id        int PRIMARY KEY,
	region    text NOT NULL,
	age       int NOT NULL,
	income    float8 NOT NULL,
	buy_count int NOT NULL,
	ts        timestamptz NOT NULL,  -- event time: when the sale arrived
	price     float8 NOT NULL,
	predicted float8,         -- written by flinkml.score_into as each row arrives
	model_version integer
);
CREATE INDEX ON stream_sales (ts);
-- batch b: sales b*2000+1 .. b*2000+2000, arriving now
CREATE FUNCTION pg_temp.arrive(b int, change_at int) RETURNS void LANGUAGE sql AS $$
	INSERT INTO stream_sales
	SELECT id, region, age, income, buy_count, clock_timestamp(),
	       round((CASE WHEN b >= change_at THEN 22.5 ELSE 12.5 END + 0.8 * age + 0.0015 * income
	              + CASE WHEN b >= change_at THEN 6.0 ELSE 2.5 END * buy_count
	              + 10 * sqrt(-2 * ln(pg_temp.u(id, 5))) * cos(2 * pi() * pg_temp.u(id, 6)))::numeric, 2)::float8
	FROM (SELECT id,
	             (ARRAY['north', 'south', 'east', 'west'])[1 + floor(pg_temp.u(id, 1) * 4 - 1e-12)::int] AS region,
	             18 + floor(pg_temp.u(id, 2) * 63 - 1e-12)::int AS age,
	             round(20000 + pg_temp.u(id, 3) * 130000) AS income,
	             floor(pg_temp.u(id, 4) * 20 - 1e-12)::int AS buy_count
	      FROM generate_series(b * 2000 + 1, b * 2000 + 2000) id) t
$$;
-- the demo's log of the batches: when each arrived, which version of each
-- model was active then, and the drift test of each right after it
CREATE TABLE demo_batches (
	b int PRIMARY KEY, at timestamptz, inserted_in interval,
	all_v int, window_v int, cc_v int,
	all_drift boolean, window_drift boolean
);
SELECT pg_temp.arrive(0, :change_at);
INSERT INTO demo_batches (b, at) SELECT 0, min(ts) FROM stream_sales;

\echo 'Three registry models over the stream, kept exact by triggers:'
\echo '  price_all:    all history (policy always, compacted after each batch)'
\echo '  price_window: the last hour only: rows with ts > now() - 12 s, in buckets of 1 s'
\echo '                (policy always, compacted after each batch: a version of the window as it is)'
\echo '  price_cc:     the same window as champion and challenger (policy if_better): each'
\echo '                compaction is a challenger, activated once it beats the active version'
\echo '                by 5% on 2,000 new rows'
SELECT flinkml.create_model('price_all', 'stream_sales', 'price', ARRAY['age', 'income', 'buy_count']);
SELECT flinkml.create_model('price_window', 'stream_sales', 'price', ARRAY['age', 'income', 'buy_count'],
                            window_length => interval '12 seconds', time_column => 'ts',
                            bucket => interval '1 second');
SELECT flinkml.create_model('price_cc', 'stream_sales', 'price', ARRAY['age', 'income', 'buy_count'],
                            window_length => interval '12 seconds', time_column => 'ts',
                            bucket => interval '1 second');
SELECT flinkml.attach('price_all'), flinkml.attach('price_window'), flinkml.attach('price_cc');
SELECT flinkml.set_policy('price_cc', 'if_better', margin => 0.05, min_rows => 2000);
SELECT name, time_column, window_length, bucket_width FROM flinkml.models
WHERE name IN ('price_all', 'price_window', 'price_cc') ORDER BY name;
\echo 'Every arriving row gets price_cc''s prediction and version in the same statement:'
SELECT flinkml.score_into('price_cc', 'stream_sales', 'predicted', 'model_version');

\echo
\echo 'Batches 1..':batches' arrive, one a second, each in its own transaction; half a second after'
\echo 'each (but the last), the models are compacted (the window models: a version of the last'
\echo '12 seconds, which scores the next batch).'
\echo 'The price model changes from batch ':change_at' on.'
DO $$
DECLARE
	t0 timestamptz := (SELECT at FROM demo_batches WHERE b = 0);
	t timestamptz;
	d record;
	n int := current_setting('demo.batches')::int;
	change_at int := current_setting('demo.change_at')::int;
BEGIN
	FOR batch IN 1..n LOOP
		PERFORM pg_sleep(greatest(0, extract(epoch FROM t0 + batch * interval '1 second' - clock_timestamp())));
		COMMIT;  -- a new transaction: now() is the batch's arrival
		INSERT INTO demo_batches (b, at, all_v, window_v, cc_v)
		SELECT batch, now(), max(active_version) FILTER (WHERE name = 'price_all'),
		       max(active_version) FILTER (WHERE name = 'price_window'),
		       max(active_version) FILTER (WHERE name = 'price_cc')
		FROM flinkml.models WHERE name IN ('price_all', 'price_window', 'price_cc');
		t := clock_timestamp();
		PERFORM pg_temp.arrive(batch, change_at);
		UPDATE demo_batches SET inserted_in = clock_timestamp() - t WHERE b = batch;
		-- the drift test of the active version on this batch (the changes of the last half second)
		SELECT * INTO d FROM flinkml.drift('price_all', recent => interval '0.5 seconds');
		UPDATE demo_batches SET all_drift = d.drifting WHERE b = batch;
		SELECT * INTO d FROM flinkml.drift('price_window', recent => interval '0.5 seconds');
		UPDATE demo_batches SET window_drift = d.drifting WHERE b = batch;
		COMMIT;
		EXIT WHEN batch = n;  -- the last batch stays scored by the versions that saw it (model_drift below)
		PERFORM pg_sleep(greatest(0, extract(epoch FROM t0 + (batch + 0.5) * interval '1 second' - clock_timestamp())));
		COMMIT;
		PERFORM flinkml.compact('price_all');
		PERFORM flinkml.compact('price_window');
		PERFORM flinkml.compact('price_cc');  -- judges the challenger it replaces
		COMMIT;
	END LOOP;
END $$;

\echo
\echo 'The per-batch figures are collected (the table is printed at the end); how well the stream'
\echo 'kept time: the slowest batch insert, and the latest a batch arrived after its second:'
CREATE TEMP TABLE report AS
SELECT d.b, extract(epoch FROM d.at - t0.at) AS t, (d.at - t0.at) * 300 AS stands_for,
       ev.all_mse, ev.window_mse, ev.cc_mse,
       (SELECT v.rows FROM flinkml.versions v WHERE v.model = 'price_window' AND v.version = d.window_v) AS window_rows,
       d.cc_v, d.all_drift, d.window_drift, d.inserted_in
FROM demo_batches d CROSS JOIN (SELECT at FROM demo_batches WHERE b = 0) t0
CROSS JOIN LATERAL (
	SELECT sum(e.sse) FILTER (WHERE e.model = 'price_all') / sum(e.weight) FILTER (WHERE e.model = 'price_all') AS all_mse,
	       sum(e.sse) FILTER (WHERE e.model = 'price_window') / sum(e.weight) FILTER (WHERE e.model = 'price_window') AS window_mse,
	       sum(e.sse) FILTER (WHERE e.model = 'price_cc') / sum(e.weight) FILTER (WHERE e.model = 'price_cc') AS cc_mse
	FROM flinkml.evaluations e
	WHERE e.at = d.at AND (e.model, e.version) IN (('price_all', d.all_v), ('price_window', d.window_v), ('price_cc', d.cc_v))
) ev
WHERE d.b > 0;
\o :outdir/error_over_time.dat
\qecho '# change_at' :change_at
SELECT b, round(all_mse::numeric, 1) AS all_history_mse, round(window_mse::numeric, 1) AS window_mse,
       round(cc_mse::numeric, 1) AS cc_mse
FROM report ORDER BY b;
\o
SELECT round(extract(epoch FROM max(inserted_in))::numeric, 3) AS slowest_batch_insert_s,
       round(max(abs(t - b))::numeric, 3) AS largest_lateness_s FROM report;

\echo
\echo 'The same figures by time bucket (flinkml.evaluation_series, buckets of 6 s = half an hour):'
SELECT (SELECT min(d.b) || '..' || max(d.b) FROM demo_batches d
        WHERE d.b > 0 AND date_bin('6 seconds', d.at, TIMESTAMPTZ '2000-01-01') = a.bucket_start) AS batches,
       a.changes, a.rows, round(a.mse::numeric, 1) AS all_history_mse, round(a.r2::numeric, 3) AS all_history_r2,
       round(w.mse::numeric, 1) AS window_mse, round(w.r2::numeric, 3) AS window_r2
FROM flinkml.evaluation_series('price_all', '6 seconds') a
JOIN flinkml.evaluation_series('price_window', '6 seconds') w USING (bucket_start) ORDER BY bucket_start;
\echo
\echo 'The window''s versions (flinkml.compact(''price_window'') after every batch): each is the'
\echo 'window as it was, and its coefficients move from the old world (12.5, 0.8, 0.0015, 2.5)'
\echo 'to the new one (22.5, 0.8, 0.0015, 6.0) as the change passes through the window:'
SELECT version, made_by, rows, to_char(created_at - (SELECT at FROM demo_batches WHERE b = 0), 'SS.MS') AS made_at_t,
       round(coefficients[1]::numeric, 2) AS intercept, round(coefficients[2]::numeric, 4) AS age,
       round(coefficients[3]::numeric, 5) AS income, round(coefficients[4]::numeric, 3) AS buy_count
FROM flinkml.versions('price_window')
WHERE version % 3 = 0 OR version = (SELECT head_version FROM flinkml.models WHERE name = 'price_window')
ORDER BY version;
\echo
\echo 'What price_cc decided (flinkml.versions.note): before the change no compaction of the'
\echo 'window beat the champion by 5%; after it, one after another did, until the window held'
\echo 'the new world only:'
SELECT split_part(note, ':', 1) AS decision, count(*) AS versions, min(version) AS first, max(version) AS last
FROM flinkml.versions WHERE model = 'price_cc' AND note IS NOT NULL GROUP BY 1 ORDER BY min(version);
SELECT version, active, rows, note FROM flinkml.versions v JOIN LATERAL
       (SELECT v.version = m.active_version AS active FROM flinkml.models m WHERE m.name = 'price_cc') a ON true
WHERE v.model = 'price_cc' AND (note LIKE 'activated%' OR version >= (SELECT head_version - 1 FROM flinkml.models WHERE name = 'price_cc'))
ORDER BY version;
\echo
\echo 'The drift view now (flinkml.model_drift: the active version''s error on the changes of the'
\echo 'last hour that it scored: for price_all and price_window the last batch, for price_cc every'
\echo 'batch since its champion was activated):'
SELECT model, version, round(train_mse::numeric, 1) AS train_mse, recent_rows,
       round(recent_mse::numeric, 1) AS recent_mse, round(ratio::numeric, 2) AS ratio, drifting
FROM flinkml.model_drift WHERE model IN ('price_all', 'price_window', 'price_cc') ORDER BY model;
\echo
\echo 'The all-history model now, between the old world and the new one:'
SELECT term, round(estimate::numeric, 4) AS estimate, round(std_error::numeric, 4) AS std_error
FROM linreg_summary(flinkml.current_model('price_all'));
\echo 'The last version of the window (the last hour as of the last batch): the new world'
SELECT term, round(estimate::numeric, 4) AS estimate, round(std_error::numeric, 4) AS std_error
FROM linreg_summary((SELECT fit FROM flinkml.versions v JOIN flinkml.models m ON m.name = v.model
                     WHERE m.name = 'price_window' AND v.version = m.head_version));
\echo
\echo 'Rollback is one call, and predictions follow it at once:'
SELECT round(linreg_predict('price_cc', ARRAY[40, 80000, 10])::numeric, 2) AS predicted_now;
SELECT flinkml.rollback('price_cc') AS now_active;
SELECT round(linreg_predict('price_cc', ARRAY[40, 80000, 10])::numeric, 2) AS predicted_after_rollback;
SELECT flinkml.activate('price_cc', (SELECT max(version) FROM flinkml.versions WHERE model = 'price_cc' AND note LIKE 'activated%'));
SELECT round(linreg_predict('price_cc', ARRAY[40, 80000, 10])::numeric, 2) AS predicted_champion_again;
\echo
\echo 'The predictions written into the arriving rows (score_into), and by name in a query:'
SELECT id, price, round(predicted::numeric, 2) AS predicted_on_arrival, model_version,
       round(linreg_predict('price_cc', ARRAY[age, income, buy_count])::numeric, 2) AS predicted_now
FROM stream_sales ORDER BY id DESC LIMIT 3;
SELECT model_version, count(*) AS rows_scored, min((id - 1) / 2000) AS first_batch, max((id - 1) / 2000) AS last_batch
FROM stream_sales WHERE model_version IS NOT NULL
GROUP BY model_version ORDER BY model_version;
\echo 'A consumer outside PostgreSQL reads them through logical replication, e.g.:'
\echo '  CREATE PUBLICATION price_predictions FOR TABLE stream_sales (id, predicted, model_version);'
\echo
\echo 'Rows age out of the window without a write: nothing has arrived since the last batch.'
\echo '(same_as_a_fresh_fit: the live window model against linreg_fit over WHERE ts > now() - 12 s,'
\echo 'in the same statement: the same rows, every coefficient within 1e-9 relative)'
CREATE FUNCTION pg_temp.window_now() RETURNS TABLE (seconds_since_last_sale numeric, window_rows_now bigint,
                                                   rows_with_ts_in_last_12_s bigint, same_as_a_fresh_fit boolean)
LANGUAGE sql AS $$
	SELECT round(extract(epoch FROM now() - (SELECT max(ts) FROM stream_sales))::numeric, 1),
	       linreg_rows(w.m), linreg_rows(f.m),
	       linreg_rows(w.m) = linreg_rows(f.m)
	       AND NOT EXISTS (SELECT 1 FROM unnest(linreg_coefficients(w.m), linreg_coefficients(f.m)) c(a, b)
	                       WHERE NOT abs(a - b) <= 1e-9 * greatest(abs(a), abs(b)))
	FROM (SELECT flinkml.current_model('price_window')) w(m),
	     (SELECT linreg_fit(price, ARRAY[age, income, buy_count]) FROM stream_sales
	      WHERE ts > now() - interval '12 seconds') f(m)
$$;
SELECT * FROM pg_temp.window_now();
SELECT pg_sleep(3);
SELECT * FROM pg_temp.window_now();
\echo
\echo 'Per batch: the test-then-train error of each model on the batch, before it learnt it'
\echo '(flinkml.evaluations: the active version scored on the batch''s rows; noise variance 100),'
\echo 'the rows of the window version that scored it, and the drift test (flinkml.drift) of the'
\echo 'all-history and the window model on that batch.  t: seconds since batch 0; stands for: x300.'
SELECT b AS batch, round(t::numeric, 2) AS t, to_char(stands_for, 'HH24:MI') AS stands_for,
       round(all_mse::numeric, 1) AS all_history_mse, round(window_mse::numeric, 1) AS window_mse,
       window_rows, cc_v AS cc_active, round(cc_mse::numeric, 1) AS cc_mse,
       all_drift, window_drift
FROM report ORDER BY b;
\echo 'The test-then-train error before and after the change (mean of the per-batch MSEs):'
SELECT CASE WHEN b < :change_at THEN 'before (batches 1..' || :change_at - 1 || ')'
            WHEN b < :change_at + 12 THEN 'change (batches ' || :change_at || '..' || :change_at + 11 || ')'
            ELSE 'after (batches ' || :change_at + 12 || '..' || :batches || ')' END AS phase,
       count(*) AS batches, round(avg(all_mse)::numeric, 1) AS all_history_mse,
       round(avg(window_mse)::numeric, 1) AS window_mse, round(avg(cc_mse)::numeric, 1) AS cc_mse,
       count(*) FILTER (WHERE all_drift) AS all_drift_batches, count(*) FILTER (WHERE window_drift) AS window_drift_batches
FROM report GROUP BY 1 ORDER BY min(b);
