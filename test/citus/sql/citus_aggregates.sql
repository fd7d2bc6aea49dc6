-- flinkml's aggregates on a Citus cluster (coordinator + two workers; see
-- test/citus/run_citus_tests.sh), against the same queries on a local
-- table holding the same rows.
--
-- Row gathering is switched off: every aggregate below must run as
-- worker_partial_agg on the shards and coord_combine_agg here, or fail.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;
-- CREATE EXTENSION on the coordinator reaches every worker
SELECT success, result FROM run_command_on_workers(
	$$SELECT extversion FROM pg_extension WHERE extname = 'flinkml'$$);

CREATE TABLE sales (id bigint, age int, income float8, buy_count int, region int,
                    w float8, price float8);
SELECT create_distributed_table('sales', 'id');
INSERT INTO sales
SELECT g, 20 + g % 50, 1000 + (g * 7919) % 5000, g % 13, g % 7,
       1 + (g % 3) * 0.5,
       3 + 0.5 * (20 + g % 50) + 0.01 * (1000 + (g * 7919) % 5000) + 2 * (g % 13)
         + ((g * 104729) % 1000) / 1000.0
FROM generate_series(1::bigint, 20000) g;
-- a few rows with a NULL: skipped the same way on both sides
UPDATE sales SET income = NULL WHERE id % 997 = 0;
UPDATE sales SET price = NULL WHERE id % 1009 = 0;
CREATE TABLE sales_local AS SELECT * FROM sales;
SELECT count(*) AS local_rows FROM sales_local;

SET citus.coordinator_aggregation_strategy = disabled;

-- The fit with the planner rewrite on (it is on unless turned off): over a
-- Citus table the array form stays, and it is pushed down.
SHOW flinkml.rewrite_array_args;
-- pushed_down(q): q's plan runs worker_partial_agg on the shards and
-- coord_combine_agg on the coordinator
CREATE FUNCTION pushed_down(q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	line text;
	plan text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
		plan := plan || line || E'\n';
	END LOOP;
	RETURN plan LIKE '%coord_combine_agg(%' AND plan LIKE '%worker_partial_agg(%';
END $$;
SELECT pushed_down('SELECT linreg_fit(price, ARRAY[age, income, buy_count]) FROM sales') AS fit,
       pushed_down('SELECT linreg_fit_cols(price, age, income, buy_count) FROM sales') AS cols,
       pushed_down('SELECT linreg_state_cols(price, age, income, buy_count) FROM sales GROUP BY region') AS grouped;

-- equal coefficients, bit for bit, and the same row counts
CREATE FUNCTION same_fit(a linreg, b linreg) RETURNS boolean LANGUAGE sql AS $$
	SELECT linreg_coefficients(a) = linreg_coefficients(b)
	   AND linreg_rows(a) = linreg_rows(b) AND linreg_skipped(a) = linreg_skipped(b)
$$;
-- states: counts equal, every sum within 1e-12 relative (double-double sums
-- merged shard by shard round the low word differently)
CREATE FUNCTION same_state(a linreg_state, b linreg_state) RETURNS boolean LANGUAGE sql AS $$
	SELECT linreg_rows(a) = linreg_rows(b) AND linreg_skipped(a) = linreg_skipped(b)
	   AND linreg_weight_sum(a) = linreg_weight_sum(b)
	   AND linreg_coefficients(linreg_solve(a)) = linreg_coefficients(linreg_solve(b))
$$;

SELECT same_fit((SELECT linreg_fit(price, ARRAY[age, income, buy_count]) FROM sales),
                (SELECT linreg_fit(price, ARRAY[age, income, buy_count]) FROM sales_local)) AS fit;
SELECT same_fit((SELECT linreg_fit(price, ARRAY[age, income, buy_count], w) FROM sales),
                (SELECT linreg_fit(price, ARRAY[age, income, buy_count], w) FROM sales_local)) AS weighted;
SELECT same_fit((SELECT linreg_fit_noint(price, ARRAY[age, income, buy_count]) FROM sales),
                (SELECT linreg_fit_noint(price, ARRAY[age, income, buy_count]) FROM sales_local)) AS noint;
SELECT same_fit((SELECT linreg_fit_noint(price, ARRAY[age, income, buy_count], w) FROM sales),
                (SELECT linreg_fit_noint(price, ARRAY[age, income, buy_count], w) FROM sales_local)) AS noint_weighted;
-- the column forms (integer columns as they are) become the array form
SELECT same_fit((SELECT linreg_fit_cols(price, age, income, buy_count) FROM sales),
                (SELECT linreg_fit_cols(price, age, income, buy_count) FROM sales_local)) AS cols;
SELECT same_state((SELECT linreg_state_cols(price, age, income, buy_count) FROM sales),
                  (SELECT linreg_state_cols(price, age, income, buy_count) FROM sales_local)) AS state_cols;
SELECT same_state((SELECT linreg_state(price, ARRAY[age, income, buy_count]) FROM sales),
                  (SELECT linreg_state(price, ARRAY[age, income, buy_count]) FROM sales_local)) AS state;
SELECT same_state((SELECT linreg_state(price, ARRAY[age, income, buy_count], w) FROM sales),
                  (SELECT linreg_state(price, ARRAY[age, income, buy_count], w) FROM sales_local)) AS state_weighted;
SELECT same_state((SELECT linreg_state_noint(price, ARRAY[age, income, buy_count]) FROM sales),
                  (SELECT linreg_state_noint(price, ARRAY[age, income, buy_count]) FROM sales_local)) AS state_noint;

-- GROUP BY the distribution column (whole aggregates on the shards) and
-- by another column (partial aggregates combined here)
CREATE TABLE by_region AS
SELECT region, linreg_fit(price, ARRAY[age, income, buy_count]) AS f FROM sales GROUP BY region;
CREATE TABLE by_region_local AS
SELECT region, linreg_fit(price, ARRAY[age, income, buy_count]) AS f FROM sales_local GROUP BY region;
SELECT count(*) AS groups, bool_and(same_fit(d.f, l.f)) AS equal
FROM by_region d JOIN by_region_local l USING (region);
CREATE TABLE by_id AS
SELECT id, linreg_state(price, ARRAY[age, income]) AS s FROM sales WHERE id <= 300 GROUP BY id;
CREATE TABLE by_id_local AS
SELECT id, linreg_state(price, ARRAY[age, income]) AS s FROM sales_local WHERE id <= 300 GROUP BY id;
SELECT count(*) AS groups, bool_and(linreg_rows(d.s) = linreg_rows(l.s)) AS equal
FROM by_id d JOIN by_id_local l USING (id);

-- linreg_merge over a distributed table of states
CREATE TABLE region_states AS
SELECT region, linreg_state(price, ARRAY[age, income, buy_count]) AS s FROM sales_local GROUP BY region;
SELECT create_distributed_table('region_states', 'region');
SELECT same_state((SELECT linreg_merge(s) FROM region_states),
                  (SELECT linreg_state(price, ARRAY[age, income, buy_count]) FROM sales_local)) AS merge;

-- linreg_score: figures summed in float8, within 1e-12 relative
CREATE TABLE m AS SELECT linreg_fit(price, ARRAY[age, income, buy_count]) AS f FROM sales_local;
CREATE TABLE mw AS SELECT linreg_fit(price, ARRAY[age, income, buy_count], w) AS f FROM sales_local;
CREATE FUNCTION close(a float8, b float8) RETURNS boolean LANGUAGE sql
	AS $$ SELECT abs(a - b) <= 1e-12 * abs(b) $$;
SELECT (d).n = (l).n AND (d).skipped = (l).skipped AND close((d).mse, (l).mse)
       AND close((d).rmse, (l).rmse) AND close((d).mae, (l).mae) AND close((d).r2, (l).r2) AS score
FROM (SELECT linreg_score(m.f, price, ARRAY[age, income, buy_count]) AS d FROM sales, m) d,
     (SELECT linreg_score(m.f, price, ARRAY[age, income, buy_count]) AS l FROM sales_local, m) l;

-- the heteroskedasticity tests (linreg_state states, pushed down)
SELECT close((d).statistic, (l).statistic) AND (d).df = (l).df AND close((d).p_value, (l).p_value) AS bptest
FROM (SELECT linreg_bptest(m.f, price, ARRAY[age, income, buy_count]) AS d FROM sales, m) d,
     (SELECT linreg_bptest(m.f, price, ARRAY[age, income, buy_count]) AS l FROM sales_local, m) l;
SELECT close((d).statistic, (l).statistic) AND (d).df = (l).df AND close((d).p_value, (l).p_value) AS bptest_original
FROM (SELECT linreg_bptest(m.f, price, ARRAY[age, income, buy_count], false) AS d FROM sales, m) d,
     (SELECT linreg_bptest(m.f, price, ARRAY[age, income, buy_count], false) AS l FROM sales_local, m) l;
SELECT close((d).statistic, (l).statistic) AND (d).df = (l).df AND close((d).p_value, (l).p_value) AS white
FROM (SELECT linreg_white_test(m.f, price, ARRAY[age, income, buy_count]) AS d FROM sales, m) d,
     (SELECT linreg_white_test(m.f, price, ARRAY[age, income, buy_count]) AS l FROM sales_local, m) l;
-- cross-validation and robust standard errors: non-internal states with a
-- combine function, pushed down
SELECT pushed_down('SELECT linreg_cv(price, ARRAY[age, income, buy_count], id, 5, ARRAY[0, 1, 10]) FROM sales') AS cv,
       pushed_down('SELECT linreg_robust_se(m.f, price, ARRAY[age, income, buy_count], ''HC3'') FROM sales, m') AS robust_se;
SELECT (d).lambdas = (l).lambdas AND (d).best_lambda = (l).best_lambda
       AND (SELECT bool_and(close(a, b)) FROM unnest((d).cv_mse, (l).cv_mse) u(a, b))
       AND linreg_coefficients((d).model) = linreg_coefficients((l).model) AS cv
FROM (SELECT linreg_cv(price, ARRAY[age, income, buy_count], id, 5, ARRAY[0, 1, 10, 100]) AS d FROM sales) d,
     (SELECT linreg_cv(price, ARRAY[age, income, buy_count], id, 5, ARRAY[0, 1, 10, 100]) AS l FROM sales_local) l;
SELECT (SELECT bool_and(close(a, b)) FROM unnest(d, l) u(a, b)) AS robust_se_hc0
FROM (SELECT linreg_robust_se(m.f, price, ARRAY[age, income, buy_count], 'HC0') AS d FROM sales, m) d,
     (SELECT linreg_robust_se(m.f, price, ARRAY[age, income, buy_count], 'HC0') AS l FROM sales_local, m) l;
SELECT (SELECT bool_and(close(a, b)) FROM unnest(d, l) u(a, b)) AS robust_se_hc1
FROM (SELECT linreg_robust_se(m.f, price, ARRAY[age, income, buy_count], 'HC1') AS d FROM sales, m) d,
     (SELECT linreg_robust_se(m.f, price, ARRAY[age, income, buy_count], 'HC1') AS l FROM sales_local, m) l;
SELECT (SELECT bool_and(close(a, b)) FROM unnest(d, l) u(a, b)) AS robust_se_hc2
FROM (SELECT linreg_robust_se(m.f, price, ARRAY[age, income, buy_count], 'HC2') AS d FROM sales, m) d,
     (SELECT linreg_robust_se(m.f, price, ARRAY[age, income, buy_count], 'HC2') AS l FROM sales_local, m) l;
SELECT (SELECT bool_and(close(a, b)) FROM unnest(d, l) u(a, b)) AS robust_se_hc3
FROM (SELECT linreg_robust_se(m.f, price, ARRAY[age, income, buy_count], 'HC3') AS d FROM sales, m) d,
     (SELECT linreg_robust_se(m.f, price, ARRAY[age, income, buy_count], 'HC3') AS l FROM sales_local, m) l;
SELECT (SELECT bool_and(close(a, b)) FROM unnest(d, l) u(a, b)) AS robust_se_weighted
FROM (SELECT linreg_robust_se(mw.f, price, ARRAY[age, income, buy_count], w, 'HC1') AS d FROM sales, mw) d,
     (SELECT linreg_robust_se(mw.f, price, ARRAY[age, income, buy_count], w, 'HC1') AS l FROM sales_local, mw) l;

-- Durbin-Watson reads the rows in order: Citus must gather them, which it
-- refuses with row gathering off, and does with it on
SELECT linreg_dwtest(m.f, price, ARRAY[age, income, buy_count], id ORDER BY id) FROM sales, m;
SET citus.coordinator_aggregation_strategy = 'row-gather';
SELECT close((d).statistic, (l).statistic) AS dwtest_gathered
FROM (SELECT linreg_dwtest(m.f, price, ARRAY[age, income, buy_count], id ORDER BY id) AS d FROM sales, m) d,
     (SELECT linreg_dwtest(m.f, price, ARRAY[age, income, buy_count], id ORDER BY id) AS l FROM sales_local, m) l;
SET citus.coordinator_aggregation_strategy = disabled;

-- window fits: Citus gathers the rows of a window not partitioned by the
-- distribution column (row gathering must be allowed for that)
RESET citus.coordinator_aggregation_strategy;
CREATE TABLE win AS
SELECT id, linreg_coefficients(linreg_fit(price, ARRAY[age, income])
           OVER (ORDER BY id ROWS BETWEEN 99 PRECEDING AND CURRENT ROW)) AS c
FROM sales WHERE id <= 2000;
CREATE TABLE win_local AS
SELECT id, linreg_coefficients(linreg_fit(price, ARRAY[age, income])
           OVER (ORDER BY id ROWS BETWEEN 99 PRECEDING AND CURRENT ROW)) AS c
FROM sales_local WHERE id <= 2000;
SELECT count(*) AS windows, bool_and(d.c IS NOT DISTINCT FROM l.c) AS equal
FROM win d JOIN win_local l USING (id);
SET citus.coordinator_aggregation_strategy = disabled;

-- The batch-memory budget holds under Citus's per-row wrapper: the states
-- of a hash aggregate of 200 groups stay within work_mem (1 MB), as they
-- do without the wrapper.  (Before, every row looked like a new call and
-- every group took a batch: 2.2 MB.)
SET work_mem = '1MB';
SET enable_sort = off;
CREATE FUNCTION hash_agg_memory(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON, COSTS OFF, TIMING OFF) ' || q INTO plan;
	RETURN (plan -> 0 -> 'Plan' ->> 'Peak Memory Usage')::int;
END $$;
SELECT hash_agg_memory($$SELECT worker_partial_agg('linreg_state(float8,float8[])'::regprocedure,
                               ROW(price, ARRAY[age, income, buy_count]::float8[]))
                        FROM sales_local GROUP BY id % 200$$) <= 1.2 * 1024 AS wrapper_within_work_mem;
SELECT hash_agg_memory($$SELECT linreg_state(price, ARRAY[age, income, buy_count]::float8[])
                        FROM sales_local GROUP BY id % 200$$) <= 1.2 * 1024 AS plain_within_work_mem;
RESET work_mem;
RESET enable_sort;

-- A new session: the library is loaded from the start (shared_preload_libraries)
\c
SET citus.coordinator_aggregation_strategy = disabled;
SELECT same_fit((SELECT linreg_fit(price, ARRAY[age, income, buy_count]) FROM sales),
                (SELECT linreg_fit(price, ARRAY[age, income, buy_count]) FROM sales_local)) AS new_session;
SELECT same_fit((SELECT linreg_fit(price, ARRAY[age, income, buy_count]) FROM sales),
                (SELECT linreg_fit(price, ARRAY[age, income, buy_count]) FROM sales_local)) AS second_call;
