-- Test-then-train: before a change is folded in, the active version is
-- scored on the change's added rows from their state (flinkml.evaluations),
-- and flinkml.drift() compares that error with the version's own.
-- References are computed directly over the rows.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;
CREATE FUNCTION ttt_close(a float8, b float8, tol float8 DEFAULT 1e-9) RETURNS boolean
	LANGUAGE sql AS $$ SELECT abs(a - b) <= tol * greatest(abs(b), 1e-300) $$;

CREATE TABLE ttt (id serial, x1 float8, x2 int, w float8, y float8);
INSERT INTO ttt (x1, x2, w, y)
SELECT g % 17, g % 5, 1 + g % 3, 1 + 2 * (g % 17) - (g % 5) + ((g * 7919) % 101) / 100.0
FROM generate_series(1, 1000) g;
SELECT flinkml.create_model('ttt', 'ttt', 'y', ARRAY['x1', 'x2']);
SELECT flinkml.create_model('ttt_w', 'ttt', 'y', ARRAY['x1', 'x2'], weight => 'w');
SELECT flinkml.attach('ttt') AS version, flinkml.attach('ttt_w') AS version_w;

-- a statement of 50 rows: one evaluation per model, of the active version
INSERT INTO ttt (x1, x2, w, y)
SELECT g % 13, g % 7, 1 + g % 2, 1 + 2 * (g % 13) - (g % 7) + ((g * 104729) % 97) / 100.0
FROM generate_series(1, 50) g;
SELECT model, version, made_by, rows FROM flinkml.evaluations ORDER BY model;
-- against the rows themselves, with the active version's coefficients
WITH v AS (SELECT fit FROM flinkml.versions WHERE model = 'ttt' AND version = 2),
     r AS (SELECT sum((y - linreg_predict(v.fit, ARRAY[x1, x2])) ^ 2) AS sse, count(*) AS n,
                  avg(y) AS mean_y, var_pop(y) * count(*) AS m2_y
           FROM ttt, v WHERE id > 1000)
SELECT e.rows = r.n AS rows, e.weight = r.n AS weight, ttt_close(e.sse, r.sse) AS sse,
       ttt_close(e.mean_y, r.mean_y) AS mean_y, ttt_close(e.m2_y, r.m2_y) AS m2_y
FROM flinkml.evaluations e, r WHERE e.model = 'ttt';
-- weighted: sum w (y - prediction)^2 over sum w
WITH v AS (SELECT fit FROM flinkml.versions WHERE model = 'ttt_w' AND version = 2),
     r AS (SELECT sum(w * (y - linreg_predict(v.fit, ARRAY[x1, x2])) ^ 2) AS sse, sum(w) AS sw,
                  sum(w * y) / sum(w) AS mean_y
           FROM ttt, v WHERE id > 1000)
SELECT ttt_close(e.weight, r.sw) AS weight, ttt_close(e.sse, r.sse) AS sse, ttt_close(e.mean_y, r.mean_y) AS mean_y
FROM flinkml.evaluations e, r WHERE e.model = 'ttt_w';

-- an UPDATE is scored on the rows' new values; a DELETE adds nothing new
-- (there is no new row to learn from)
UPDATE ttt SET y = y + 1 WHERE id BETWEEN 1041 AND 1050;
DELETE FROM ttt WHERE id < 5;
SELECT model, made_by, rows FROM flinkml.evaluations WHERE model = 'ttt' ORDER BY at, rows DESC;
SELECT ttt_close((SELECT sse FROM flinkml.evaluations WHERE model = 'ttt' AND rows = 10),
                 (SELECT sum((y - linreg_predict(v.fit, ARRAY[x1, x2])) ^ 2)
                  FROM ttt, flinkml.versions v
                  WHERE id BETWEEN 1041 AND 1050 AND v.model = 'ttt' AND v.version = 2)) AS update_sse;
-- rows with a NULL are skipped: a statement of NULLs only is not scored
INSERT INTO ttt (x1, x2, w, y) VALUES (NULL, 1, 1, 1);
SELECT count(*) AS evaluations FROM flinkml.evaluations WHERE model = 'ttt';

-- the version scored is the active one: an older version activated
SELECT flinkml.activate('ttt', 1);
INSERT INTO ttt (x1, x2, w, y) VALUES (3, 2, 1, 6.1);
SELECT version, rows FROM flinkml.evaluations WHERE model = 'ttt' ORDER BY at DESC, version LIMIT 1;
SELECT ttt_close((SELECT sse FROM flinkml.evaluations WHERE model = 'ttt' AND version = 1),
                 (SELECT (6.1 - linreg_predict(fit, ARRAY[3, 2])) ^ 2 FROM flinkml.versions
                  WHERE model = 'ttt' AND version = 1)) AS version_1_sse;
SELECT flinkml.activate('ttt', (SELECT max(version) FROM flinkml.versions WHERE model = 'ttt'));

-- Drift: changes from the same process as the training rows do not set it
-- off; changes from another one do.  The figures against a direct count.
SELECT flinkml.refit('ttt') > 0 AS refitted;
INSERT INTO ttt (x1, x2, w, y)
SELECT g % 17, g % 5, 1, 1 + 2 * (g % 17) - (g % 5) + ((g * 7919) % 101) / 100.0
FROM generate_series(2001, 2300) g;
SELECT recent_changes, recent_rows, round(ratio::numeric, 1) AS ratio, p_value > 0.01 AS p_not_small, drifting
FROM flinkml.drift('ttt');
SELECT ttt_close(d.train_mse, st.sigma ^ 2) AS train_mse, d.train_df = st.df_resid AS train_df
FROM flinkml.drift('ttt') d, flinkml.versions v, linreg_stats(v.fit) st
WHERE v.model = 'ttt' AND v.version = d.version;
INSERT INTO ttt (x1, x2, w, y)
SELECT g % 17, g % 5, 1, 1 + 2.5 * (g % 17) - (g % 5) + ((g * 7919) % 101) / 100.0
FROM generate_series(3001, 3100) g;
SELECT recent_changes, recent_rows, p_value < 1e-6 AS p_small, drifting FROM flinkml.drift('ttt');
SELECT model, drifting FROM flinkml.model_drift ORDER BY model;
-- the series, one bucket (a day: the whole test); R^2 against the y values
-- of the rows scored: ids 1001..1050 as inserted (1041..1050 before their
-- update), the updated 1041..1050, and every later row but the NULL one
SELECT changes, rows, ttt_close(mse, (SELECT sum(sse) / sum(weight) FROM flinkml.evaluations WHERE model = 'ttt')) AS mse,
       ttt_close(r2, 1 - (SELECT sum(sse) FROM flinkml.evaluations WHERE model = 'ttt')
                         / (SELECT var_pop(y) * count(*) FROM (
                                SELECT y - CASE WHEN id BETWEEN 1041 AND 1050 THEN 1 ELSE 0 END AS y
                                FROM ttt WHERE id BETWEEN 1001 AND 1050
                                UNION ALL SELECT y FROM ttt WHERE id BETWEEN 1041 AND 1050
                                UNION ALL SELECT y FROM ttt WHERE id > 1050 AND x1 IS NOT NULL) ys)) AS r2
FROM flinkml.evaluation_series('ttt', '1 day');

-- Another role sees no evaluations of a model it may not read, and may
-- not write any
CREATE ROLE regress_ttt_other;
SET ROLE regress_ttt_other;
SELECT count(*) AS seen FROM flinkml.evaluations;
SELECT count(*) AS drift_rows FROM flinkml.model_drift;
INSERT INTO flinkml.evaluation_history (model, version, made_by, change, rows, weight, sse, mean_y, m2_y)
VALUES ('ttt', 1, 'trigger', 1, 1, 1, 1e9, 0, 0);
SELECT * FROM flinkml.drift('ttt');
RESET ROLE;

-- Followers: one evaluation per transaction, scored before it is applied
ALTER SYSTEM SET output_plugin_libraries = 'pgoutput', 'test_decoding', 'flinkml';
SELECT pg_reload_conf();
CREATE TABLE ttf (x1 float8, y float8);
ALTER TABLE ttf REPLICA IDENTITY FULL;
INSERT INTO ttf SELECT g, 2 + 3 * g + (g % 7) / 10.0 FROM generate_series(1, 100) g;
SELECT flinkml.create_model('ttf', 'ttf', 'y', ARRAY['x1']);
SELECT flinkml.follow('ttf') > 0 AS following;
BEGIN;
INSERT INTO ttf SELECT g, 2 + 3 * g + (g % 5) / 10.0 FROM generate_series(101, 110) g;
INSERT INTO ttf VALUES (111, 335);
COMMIT;
INSERT INTO ttf SELECT g, 2 + 3 * g FROM generate_series(112, 115) g;
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN (SELECT rows_applied FROM flinkml.stream_status WHERE model = 'ttf') >= 15;
		PERFORM pg_sleep(0.05);
	END LOOP;
END $$;
SELECT rows_applied FROM flinkml.stream_status WHERE model = 'ttf';
SELECT made_by, version, rows FROM flinkml.evaluations WHERE model = 'ttf' ORDER BY at;
SELECT ttt_close(e.sse, (SELECT sum((y - linreg_predict(v.fit, ARRAY[x1])) ^ 2) FROM ttf, flinkml.versions v
                         WHERE x1 BETWEEN 101 AND 111 AND v.model = 'ttf' AND v.version = e.version)) AS txn_sse
FROM flinkml.evaluations e WHERE e.model = 'ttf' AND e.rows = 11;
SELECT flinkml.unfollow('ttf');

-- dropping a model drops its evaluations
SELECT flinkml.drop_model('ttf');
SELECT flinkml.drop_model('ttt');
SELECT flinkml.drop_model('ttt_w');
SELECT count(*) AS left_over FROM flinkml.evaluations;
DROP TABLE ttf;

-- Champion and challenger.  'always' (the default): a refit is active at
-- once; 'manual': never by itself; 'if_better': once it beats the active
-- version on the changes after it.
CREATE TABLE cc (id serial, x float8, y float8);
INSERT INTO cc (x, y) SELECT g % 20, 1 + 2 * (g % 20) + ((g * 7919) % 101) / 100.0 FROM generate_series(1, 500) g;
SELECT flinkml.create_model('cc', 'cc', 'y', ARRAY['x']);
SELECT flinkml.refit('cc') AS version;
SELECT version, active FROM flinkml.versions('cc');
SELECT flinkml.set_policy('cc', 'manual');
SELECT flinkml.refit('cc') AS version;
SELECT version, active FROM flinkml.versions('cc');
SELECT note FROM flinkml.versions WHERE model = 'cc' AND version = 3;
SELECT flinkml.activate('cc', 3);
SELECT flinkml.set_policy('cc', 'always');
SELECT flinkml.attach('cc') AS version;
SELECT version, active FROM flinkml.versions('cc') WHERE active;
SELECT flinkml.set_policy('cc', 'if_better', margin => 0.05, min_rows => 50);
-- the world changes: y = 1 + 3x now.  Scored by the active version 4 (the
-- triggers keep it current); a refit is the challenger, version 4 is pinned
INSERT INTO cc (x, y) SELECT g % 20, 1 + 3 * (g % 20) + ((g * 7919) % 101) / 100.0 FROM generate_series(1, 300) g;
SELECT flinkml.refit('cc') AS challenger;
SELECT version, active FROM flinkml.versions('cc') WHERE version >= 4;
SELECT note FROM flinkml.versions WHERE model = 'cc' AND version = 5;
-- 20 rows of changes: both are scored, too few rows to decide
INSERT INTO cc (x, y) SELECT g % 20, 1 + 3 * (g % 20) + ((g * 104729) % 97) / 100.0 FROM generate_series(1, 20) g;
SELECT version, rows, challenger FROM flinkml.evaluations WHERE model = 'cc' ORDER BY change, version;
-- the series is the error of the version that predicted (4), over the 320
-- rows since the attach: the challenger scored beside it is not summed in
SELECT s.rows, s.version, s.changes,
       abs(s.mse - (SELECT avg((cc.y - linreg_predict(v4.fit, ARRAY[cc.x])) ^ 2) FROM cc, flinkml.versions v4
                    WHERE cc.id > 500 AND v4.model = 'cc' AND v4.version = 4)) <= 1e-9 * s.mse AS mse_of_version_4
FROM flinkml.evaluation_series('cc', '1 day') s;
SELECT flinkml.review('cc');
-- 40 more: the challenger is better, and is activated
INSERT INTO cc (x, y) SELECT g % 20, 1 + 3 * (g % 20) + ((g * 104729) % 97) / 100.0 FROM generate_series(21, 60) g;
SELECT flinkml.review('cc') LIKE 'activated (policy if_better)%' AS activated;
SELECT version, active FROM flinkml.versions('cc') WHERE active;
SELECT note LIKE 'activated (policy if_better): mean squared error % on 60 rows of the changes after it, against % of version 4' AS why
FROM flinkml.versions WHERE model = 'cc' AND version = 5;
-- the decision against a direct computation over those 60 rows
SELECT sum((y - linreg_predict(v5.fit, ARRAY[x])) ^ 2) < 0.95 * sum((y - linreg_predict(v4.fit, ARRAY[x])) ^ 2) AS better
FROM cc, flinkml.versions v4, flinkml.versions v5
WHERE cc.id > 800 AND v4.model = 'cc' AND v4.version = 4 AND v5.model = 'cc' AND v5.version = 5;
-- a challenger that is not better stays a challenger
SELECT flinkml.set_policy('cc', 'if_better', margin => 0.9, min_rows => 10);
SELECT flinkml.refit('cc') AS challenger;
INSERT INTO cc (x, y) SELECT g % 20, 1 + 3 * (g % 20) + ((g * 104729) % 97) / 100.0 FROM generate_series(61, 80) g;
SELECT flinkml.review('cc') LIKE 'challenger 6 not better: %' AS kept;
SELECT version, active FROM flinkml.versions('cc') WHERE active;
-- rollback is still one call
SELECT flinkml.rollback('cc');
SELECT version, active FROM flinkml.versions('cc') WHERE active;
-- bad input, and another role
SELECT flinkml.set_policy('cc', 'sometimes');
SELECT flinkml.set_policy('cc', 'if_better', margin => 1.5);
SET ROLE regress_ttt_other;
SELECT flinkml.set_policy('cc', 'always');
SELECT flinkml.review('cc');
RESET ROLE;
SELECT flinkml.drop_model('cc');
-- an owner who is not a superuser: a refit judges the challenger it
-- replaces, and review(), with the owner's own rights
CREATE ROLE regress_ttt_owner;
GRANT CREATE ON SCHEMA public TO regress_ttt_owner;
SET ROLE regress_ttt_owner;
CREATE TABLE cco (x float8, y float8);
INSERT INTO cco SELECT g, 1 + 2 * g + (g % 7) FROM generate_series(1, 100) g;
SELECT flinkml.create_model('cco', 'cco', 'y', ARRAY['x']);
SELECT flinkml.attach('cco') AS version;
SELECT flinkml.set_policy('cco', 'if_better', min_rows => 5);
SELECT flinkml.refit('cco') AS challenger;
INSERT INTO cco SELECT g, 1 + 2 * g + (g % 7) FROM generate_series(101, 110) g;
SELECT flinkml.review('cco') IS NOT NULL AS reviewed;
SELECT flinkml.refit('cco') AS next_challenger;
SELECT flinkml.drop_model('cco');
DROP TABLE cco;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM regress_ttt_owner;
DROP ROLE regress_ttt_owner;
-- the history compacted as it ages: rows older than a day merged per
-- version and hour, the totals and each hour's MSE and R² unchanged (the
-- test backdates the history: only it may write the table directly)
CREATE TABLE eh (x float8, y float8);
INSERT INTO eh SELECT g, 3 + 0.5 * g + (g % 5) FROM generate_series(1, 50) g;
SELECT flinkml.create_model('eh', 'eh', 'y', ARRAY['x']);
SELECT flinkml.attach('eh') AS version;
INSERT INTO eh SELECT g, 3 + 0.5 * g + (g % 7) FROM generate_series(51, 60) g;
INSERT INTO eh SELECT g, 3 + 0.5 * g + (g % 3) FROM generate_series(61, 75) g;
INSERT INTO eh SELECT g, 4 + 0.5 * g FROM generate_series(76, 80) g;
INSERT INTO eh SELECT g, 2 + 0.5 * g + (g % 4) FROM generate_series(81, 99) g;
SELECT flinkml.compact('eh') AS version;
UPDATE flinkml.evaluation_history SET at = TIMESTAMPTZ '2026-01-01 10:00+00' + (change % 2) * interval '20 minutes'
WHERE model = 'eh';
CREATE TEMP TABLE eh_before AS SELECT * FROM flinkml.evaluation_series('eh', '1 hour');
SELECT count(*) AS history_rows, sum(rows) AS rows FROM flinkml.evaluation_history WHERE model = 'eh';
-- the hour's R² against the rows scored (g 51..99), computed directly
SELECT ttt_close(s.r2, 1 - (SELECT sum(sse) FROM flinkml.evaluations WHERE model = 'eh')
                           / (SELECT sum((y - (SELECT avg(y) FROM eh WHERE x > 50)) ^ 2) FROM eh WHERE x > 50), 1e-12) AS r2
FROM eh_before s;
SET ROLE regress_ttt_other;
SELECT flinkml.compact_evaluations('eh');
RESET ROLE;
SELECT flinkml.compact_evaluations('eh', bucket => '0 seconds');
SELECT flinkml.compact_evaluations('eh') AS merged_away;
SELECT count(*) AS history_rows, sum(rows) AS rows FROM flinkml.evaluation_history WHERE model = 'eh';
SELECT b.bucket_start = a.bucket_start AND b.rows = a.rows AND ttt_close(a.mse, b.mse, 1e-12)
       AND ttt_close(a.r2, b.r2, 1e-12) AS same_series
FROM eh_before b JOIN flinkml.evaluation_series('eh', '1 hour') a USING (bucket_start);
SELECT flinkml.compact_evaluations('eh') AS merged_again;
SELECT flinkml.drop_model('eh');
DROP TABLE eh;
DROP TABLE ttt, cc;
DROP ROLE regress_ttt_other;
DROP FUNCTION ttt_close(float8, float8, float8);
