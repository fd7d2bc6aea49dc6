--
-- planner: the planner hook of src/planner.c, which plans
--   linreg_fit(y, ARRAY[x1, ..., xn])    as  linreg_fit_cols(y, x1, ..., xn)
--   linreg_state(y, ARRAY[x1, ..., xn])  as  linreg_state_cols(y, x1, ..., xn)
-- (flinkml's two-argument forms only; an array constructor of 1..98 float8
-- elements; no DISTINCT or ORDER BY in the call; not the window form).
--
-- The plans are checked with EXPLAIN (VERBOSE, COSTS OFF), which shows the
-- aggregate actually run.  The rewrite must not change anything else: the
-- results with flinkml.rewrite_array_args on and off must be the same to the
-- bit (their text forms write every float8 in the shortest form that reads
-- back to the same bits, so equal text is equal bits), and so must the errors.
--
-- (the extension may exist already when this runs after the other tests)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;
\set VERBOSITY terse

-- The hook is installed when the library is loaded in the backend, which
-- CREATE EXTENSION IF NOT EXISTS does not do when the extension exists.  Load
-- it explicitly; the setting exists from then on.
LOAD 'flinkml';
SHOW flinkml.rewrite_array_args;
SET max_parallel_workers_per_gather = 0;

-- pg_temp.rewritten(q): does EXPLAIN of q show a column-form aggregate?
CREATE FUNCTION pg_temp.rewritten(q text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    line text;
    hit boolean := false;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
        hit := hit OR line ~ 'linreg_(fit|state)_cols\(';
    END LOOP;
    RETURN hit;
END
$$;

-- pg_temp.on_off(q): run q with the rewrite on, then off.  Was it rewritten
-- each time, how many rows does it return, and is the result (every row as
-- text, sorted) identical?
CREATE FUNCTION pg_temp.on_off(q text, OUT nrows bigint, OUT on_rewritten boolean,
                               OUT off_rewritten boolean, OUT identical boolean)
LANGUAGE plpgsql AS $$
DECLARE
    saved text := current_setting('flinkml.rewrite_array_args');
    wrapped text := format('SELECT count(*), string_agg(r::text, E''\n'' ORDER BY r::text) FROM (%s) r', q);
    n_off bigint;
    r_on text;
    r_off text;
BEGIN
    PERFORM set_config('flinkml.rewrite_array_args', 'on', false);
    on_rewritten := pg_temp.rewritten(wrapped);
    EXECUTE wrapped INTO nrows, r_on;
    PERFORM set_config('flinkml.rewrite_array_args', 'off', false);
    off_rewritten := pg_temp.rewritten(wrapped);
    EXECUTE wrapped INTO n_off, r_off;
    PERFORM set_config('flinkml.rewrite_array_args', saved, false);
    identical := nrows = n_off AND r_on = r_off;
END
$$;

-- A small table for the plan shapes.
CREATE TABLE pl_t AS
SELECT id, id % 3 AS k, (id * 1.5)::float8 AS y, (id % 7)::float8 AS a,
       ((id * 5) % 11)::float8 AS b, id AS i, (id % 4)::numeric AS n,
       ARRAY[(id % 7)::float8, ((id * 5) % 11)::float8] AS xs
FROM generate_series(1, 20) AS id;

--
-- 1. Rewritten.
--
-- a plain call, both aggregates
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[a, b]) FROM pl_t;
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_state(y, ARRAY[a, b]) FROM pl_t;
-- one element
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[a]) FROM pl_t;
-- the output column keeps the name of the call as written
SELECT linreg_fit(y, ARRAY[a, b]), linreg_state(y, ARRAY[a, b]) FROM pl_t WHERE false;
-- FILTER stays with the aggregate
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[a, b]) FILTER (WHERE k > 0) FROM pl_t;
-- GROUP BY, with the aggregate in HAVING and ORDER BY too
EXPLAIN (VERBOSE, COSTS OFF)
SELECT k, linreg_fit(y, ARRAY[a, b]) FROM pl_t GROUP BY k
HAVING linreg_rows(linreg_fit(y, ARRAY[a, b])) > 1 ORDER BY linreg_fit(y, ARRAY[a, b])::text;
-- an uncorrelated scalar subquery, a correlated one, a subquery in FROM, a CTE
EXPLAIN (VERBOSE, COSTS OFF) SELECT (SELECT linreg_fit(y, ARRAY[a, b]) FROM pl_t);
EXPLAIN (VERBOSE, COSTS OFF)
SELECT o.id, (SELECT linreg_state(u.y, ARRAY[u.a, o.b]) FROM pl_t u WHERE u.k = o.k)
FROM pl_t o WHERE o.id = 1;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT linreg_rows(m) FROM (SELECT k, linreg_fit(y, ARRAY[a, b]) AS m FROM pl_t GROUP BY k) s WHERE k = 1;
EXPLAIN (VERBOSE, COSTS OFF)
WITH c AS MATERIALIZED (SELECT linreg_state(y, ARRAY[b, a]) AS s FROM pl_t)
SELECT linreg_rows(s) FROM c;
-- integer and numeric elements mixed with a float8 one: the parser casts
-- each element to float8, and the casts become the arguments
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[a, i, n]) FROM pl_t;
-- so does an explicit ::float8[] on the constructor
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(i, ARRAY[i, n]::float8[]) FROM pl_t;
-- NULL and constant elements are float8 constants after the parser
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_state(y, ARRAY[a, NULL, 2]) FROM pl_t;
-- ARRAY[] of integer (or numeric) elements only is built as int4[] (or
-- numeric[]) and then cast as a whole to float8[]: each element gets that
-- cast, and the casts become the arguments
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[i, n]) FROM pl_t;
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_state(y, ARRAY[i, i + 1]) FROM pl_t;

-- A view: rewritten when planned, stored as written.
CREATE VIEW pl_v AS
SELECT linreg_fit(y, ARRAY[a, b]) AS m, linreg_state(y, ARRAY[a, i]) AS s FROM pl_t;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM pl_v;
SELECT pg_get_viewdef('pl_v'::regclass);
-- planning did not write into the cached rule: with the rewrite off the view
-- plans as written
SET flinkml.rewrite_array_args = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM pl_v;
RESET flinkml.rewrite_array_args;
-- a materialized view: the stored query is as written too
CREATE MATERIALIZED VIEW pl_mv AS SELECT k, linreg_fit(y, ARRAY[a, b]) AS m FROM pl_t GROUP BY k;
SELECT pg_get_viewdef('pl_mv'::regclass);
SELECT k, linreg_rows(m) FROM pl_mv ORDER BY k;

--
-- 2. Not rewritten.
--
-- the setting off
SET flinkml.rewrite_array_args = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[a, b]) FROM pl_t;
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_state(y, ARRAY[a, b]) FROM pl_t;
RESET flinkml.rewrite_array_args;
-- the weighted forms
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[a, b], i) FROM pl_t;
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_state(y, ARRAY[a, b], 2.0) FROM pl_t;
-- no intercept
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit_noint(y, ARRAY[a, b]) FROM pl_t;
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_state_noint(y, ARRAY[a, b]) FROM pl_t;
-- an array column, an empty array
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, xs) FROM pl_t;
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[]::float8[]) FROM pl_t;
-- a two-dimensional constructor
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[[a, b], [b, a]]) FROM pl_t;
-- the window form
EXPLAIN (VERBOSE, COSTS OFF)
SELECT linreg_fit(y, ARRAY[a, b]) OVER (ORDER BY id ROWS 5 PRECEDING) FROM pl_t;
-- DISTINCT and ORDER BY inside the call
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(DISTINCT y, ARRAY[a, b]) FROM pl_t;
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_state(y, ARRAY[a, b] ORDER BY id) FROM pl_t;

-- 98 elements (y and 98 features: 99 aggregate arguments, the most there
-- can be) are rewritten; 99 and more are not.
SELECT n, pg_temp.rewritten(format('SELECT linreg_fit(y, ARRAY[%s]) FROM pl_t',
                                   string_agg(format('a + %s', j), ', ' ORDER BY j)))
FROM (VALUES (97), (98), (99), (150)) AS v(n), generate_series(1, 150) AS j
WHERE j <= n GROUP BY n ORDER BY n;
-- (that the 99-element call runs as written: section 3)

-- a constructor cast to a domain over float8[]: the domain's check must run
CREATE DOMAIN pl_pos2 AS float8[] CHECK (cardinality(VALUE) = 2 AND VALUE[1] >= 0);
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[a, b]::pl_pos2) FROM pl_t;
SELECT linreg_fit(y, ARRAY[a - 3, b]::pl_pos2) FROM pl_t;
DROP DOMAIN pl_pos2;

-- An aggregate of the same name and signature in another schema is not
-- flinkml's: left alone.  A column form of the same name in that schema
-- (not flinkml's either; it returns linreg_state, not linreg) must not be
-- taken for public.linreg_fit's even when it comes first in search_path.
CREATE SCHEMA pl_other;
CREATE FUNCTION pl_other.acc(s float8, y float8, x float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE AS 'SELECT coalesce(s, 0) + y * x[1]';
CREATE AGGREGATE pl_other.linreg_fit(y float8, x float8[]) (SFUNC = pl_other.acc, STYPE = float8);
CREATE AGGREGATE pl_other.linreg_fit_cols(y float8, VARIADIC x "any") (
    SFUNC = public.linreg_accum_args, STYPE = public.linreg_state);
EXPLAIN (VERBOSE, COSTS OFF) SELECT pl_other.linreg_fit(y, ARRAY[a, b]) FROM pl_t;
SELECT pl_other.linreg_fit(y, ARRAY[a, b]) FROM pl_t;	-- sum(y * a) = 1.5 * sum(id * (id % 7))
SET search_path = pl_other, public;
-- (unqualified: pl_other's, which public's would be deparsed qualified)
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[a, b]) FROM pl_t;
EXPLAIN (VERBOSE, COSTS OFF) SELECT public.linreg_fit(y, ARRAY[a, b]) FROM pl_t;
SELECT linreg_rows(public.linreg_fit(y, ARRAY[a, b])) FROM pl_t;
RESET search_path;
DROP SCHEMA pl_other CASCADE;

--
-- 3. Identical results.
--
-- 12000 rows in four groups:
--   big    ids     1..10000: y NULL at multiples of 97 (103), x2n NULL at
--                            multiples of 89 (112), both at 8633: 214 skipped
--   small  ids 10001..10010: 10 rows, none NULL (stays in the flat state)
--   nulls  ids 10011..10020: y NULL everywhere (no row, 10 skipped)
--   late   ids 10021..12000: x2n NULL for the first 40 (skipped before any row
--                            is used), then at 21 multiples of 89, y NULL at
--                            20 multiples of 97: 81 skipped
-- x3 is integer and x4 numeric (cast to float8 element by element); x5 is
-- no binary fraction, so the double-double sums use their low parts.
CREATE TABLE pl_data AS
SELECT id,
       CASE WHEN id <= 10000 THEN 'big' WHEN id <= 10010 THEN 'small'
            WHEN id <= 10020 THEN 'nulls' ELSE 'late' END AS grp,
       CASE WHEN id % 97 <> 0 AND id NOT BETWEEN 10011 AND 10020
            THEN 2 + 0.5 * x1 - 1.25 * x2 + 0.125 * x3 + 0.3 * x5 + ((id * 53) % 17 - 8) / 32.0
       END AS y,
       x1,
       CASE WHEN id % 89 <> 0 AND id NOT BETWEEN 10021 AND 10060 THEN x2 END AS x2n,
       x3, x4, x5
FROM (SELECT id, (id % 1000) / 128.0::float8 AS x1, ((id * 7919) % 10007) / 1024.0::float8 AS x2,
             (id * 31) % 97 AS x3, ((id * 17) % 23 / 8.0)::numeric AS x4, 1.0::float8 / (1 + id % 13) AS x5
      FROM generate_series(1, 12000) AS id) AS s
ORDER BY id;
ALTER TABLE pl_data SET (parallel_workers = 2);
VACUUM ANALYZE pl_data;

-- the counts of the groups (as computed above)
SELECT grp, linreg_rows(m), linreg_skipped(m), linreg_features(m), m IS NULL AS no_model
FROM (SELECT grp, linreg_fit(y, ARRAY[x1, x2n, x3, x4, x5]) AS m FROM pl_data GROUP BY grp) s
ORDER BY grp;
SELECT grp, linreg_rows(s), linreg_skipped(s), linreg_features(s)
FROM (SELECT grp, linreg_state(y, ARRAY[x1, x2n, x3, x4, x5]) AS s FROM pl_data GROUP BY grp) s
ORDER BY grp;

-- on and off: the model and state texts are the same
SELECT name, o.*
FROM (VALUES
  (1, 'fit by group',
   'SELECT grp, linreg_fit(y, ARRAY[x1, x2n, x3, x4, x5]) FROM pl_data GROUP BY grp'),
  (2, 'state by group',
   'SELECT grp, linreg_state(y, ARRAY[x1, x2n, x3, x4, x5]) FROM pl_data GROUP BY grp'),
  (3, 'fit, whole table',
   'SELECT linreg_fit(y, ARRAY[x1, x2n, x3]) FROM pl_data'),
  (4, 'fit and state together',
   'SELECT grp, linreg_fit(y, ARRAY[x1, x2n, x5]), linreg_state(y, ARRAY[x1, x2n, x5]) FROM pl_data GROUP BY grp'),
  (5, 'fit with FILTER',
   'SELECT grp, linreg_fit(y, ARRAY[x1, x2n, x4]) FILTER (WHERE id % 3 <> 0) FROM pl_data GROUP BY grp'),
  (6, '20 features (no batch)',
   'SELECT grp, linreg_fit(y, ARRAY[x1, x2n, x3, x4, x5, x1 * x1, x2n * x2n, x5 * x5, x1 * x5, x2n * x5,
                                    x1 * x3, sqrt(x1), sqrt(x5), x3 * x5, x1 / (1 + x3), x5 * x5 * x5,
                                    x2n / 7, x1 * x2n, ln(1 + x1), x4 * x5]) FROM pl_data GROUP BY grp'),
  (7, 'NULL element everywhere',
   'SELECT grp, linreg_state(y, ARRAY[x1, NULL]) FROM pl_data GROUP BY grp'),
  (8, 'no rows',
   'SELECT linreg_fit(y, ARRAY[x1, x2n]), linreg_state(y, ARRAY[x1, x2n]) FROM pl_data WHERE id < 0'),
  (9, 'a subquery and a CTE',
   'WITH c AS (SELECT linreg_state(y, ARRAY[x1, x5]) AS s FROM pl_data WHERE grp = ''big'')
    SELECT (SELECT s FROM c), (SELECT linreg_fit(y, ARRAY[x5, x2n]) FROM pl_data WHERE grp = ''late'')'),
  (10, '98 features',
   (SELECT format('SELECT linreg_fit(y, ARRAY[%s]) FROM pl_data WHERE id <= 2000',
                  string_agg(format('((id * %s) %% 101) / 7.0::float8 + x5', 2 * j + 1), ', ' ORDER BY j))
    FROM generate_series(1, 98) AS j)),
  (11, '99 features (as written)',
   (SELECT format('SELECT linreg_fit(y, ARRAY[%s]) FROM pl_data WHERE id <= 2000',
                  string_agg(format('((id * %s) %% 101) / 7.0::float8 + x5', 2 * j + 1), ', ' ORDER BY j))
    FROM generate_series(1, 99) AS j)),
  (12, 'outer-level aggregate',
   'SELECT (SELECT linreg_fit(o.y, ARRAY[o.x1, o.x5])) FROM pl_data o'),
  (13, 'grouping sets',
   'SELECT grp, id % 2, linreg_state(y, ARRAY[x2n, x3]) FROM pl_data GROUP BY GROUPING SETS ((grp), (id % 2), ())'),
  (14, 'integer and numeric elements only',
   'SELECT grp, linreg_fit(y, ARRAY[x3, x4, x3 * x3, x4 * x3]) FROM pl_data GROUP BY grp')
) AS v(ord, name, q), pg_temp.on_off(q) AS o
ORDER BY ord;

-- Parallel: Partial Aggregate runs the column form in the workers, and the
-- result equals the serial one (the workers add the rows in another order:
-- equal within 1e-12, the counts exactly).
CREATE TEMP TABLE pl_serial AS
SELECT linreg_fit(y, ARRAY[x1, x2n, x3]) AS m, linreg_state(y, ARRAY[x1, x5]) AS s FROM pl_data;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[x1, x2n, x3]) FROM pl_data;
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_state(y, ARRAY[x1, x5]) FROM pl_data;
CREATE TEMP TABLE pl_par_m AS SELECT linreg_fit(y, ARRAY[x1, x2n, x3]) AS m FROM pl_data;
CREATE TEMP TABLE pl_par_s AS SELECT linreg_state(y, ARRAY[x1, x5]) AS s FROM pl_data;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SET max_parallel_workers_per_gather = 0;
SELECT linreg_rows(p.m) = linreg_rows(s.m) AS rows_equal,
       linreg_skipped(p.m) = linreg_skipped(s.m) AS skipped_equal,
       (SELECT bool_and(abs(c1 - c2) <= 1e-12 * greatest(abs(c1), abs(c2), 1))
        FROM unnest(linreg_coefficients(p.m), linreg_coefficients(s.m)) AS u(c1, c2)) AS coef_close,
       cardinality(linreg_coefficients(p.m)) AS ncoef
FROM pl_par_m p, pl_serial s;
SELECT linreg_rows(p.s) = linreg_rows(s.s) AS rows_equal,
       linreg_skipped(p.s) = linreg_skipped(s.s) AS skipped_equal,
       (SELECT bool_and(abs(c1 - c2) <= 1e-12 * greatest(abs(c1), abs(c2), 1))
        FROM unnest(linreg_coefficients(linreg_solve(p.s)),
                    linreg_coefficients(linreg_solve(s.s))) AS u(c1, c2)) AS coef_close
FROM pl_par_s p, pl_serial s;

--
-- 4. The same errors.  Rows are read in insertion order: x2 is NaN at id 50
-- (after 47 rows used: the batched path), id 10 has x1 NULL and x2 NaN and
-- id 20 y NULL and x3 Infinity (both skipped: no error).
--
CREATE TABLE pl_bad AS
SELECT id,
       CASE WHEN id <> 20 THEN id * 0.5 END AS y,
       CASE WHEN id <> 10 THEN (id % 9)::float8 END AS x1,
       CASE WHEN id IN (10, 50) THEN 'NaN'::float8 ELSE (id % 5)::float8 END AS x2,
       CASE WHEN id = 20 THEN 'Infinity'::float8 ELSE (id * 7 % 13)::float8 END AS x3
FROM generate_series(1, 100) AS id ORDER BY id;
SELECT pg_temp.rewritten('SELECT linreg_fit(y, ARRAY[x1, x2, x3]) FROM pl_bad');
SELECT linreg_fit(y, ARRAY[x1, x2, x3]) FROM pl_bad;
SELECT linreg_state(y, ARRAY[x1, x2, x3]) FROM pl_bad;
-- the bad row first (the flat state)
SELECT linreg_fit(y, ARRAY[x1, x2, x3]) FROM pl_bad WHERE id >= 50;
-- y infinite; an element beyond the magnitude limit
SELECT linreg_fit(CASE WHEN id = 60 THEN 'Infinity' ELSE y END, ARRAY[x1, x3]) FROM pl_bad;
SELECT linreg_fit(y, ARRAY[x1, x3, CASE WHEN id = 70 THEN 1e200 ELSE x1 END]) FROM pl_bad;
-- without the NaN row all is well
SELECT linreg_rows(linreg_fit(y, ARRAY[x1, x2, x3])), linreg_skipped(linreg_fit(y, ARRAY[x1, x2, x3]))
FROM pl_bad WHERE id <> 50;
SET flinkml.rewrite_array_args = off;
SELECT linreg_fit(y, ARRAY[x1, x2, x3]) FROM pl_bad;
SELECT linreg_state(y, ARRAY[x1, x2, x3]) FROM pl_bad;
SELECT linreg_fit(y, ARRAY[x1, x2, x3]) FROM pl_bad WHERE id >= 50;
SELECT linreg_fit(CASE WHEN id = 60 THEN 'Infinity' ELSE y END, ARRAY[x1, x3]) FROM pl_bad;
SELECT linreg_fit(y, ARRAY[x1, x3, CASE WHEN id = 70 THEN 1e200 ELSE x1 END]) FROM pl_bad;
SELECT linreg_rows(linreg_fit(y, ARRAY[x1, x2, x3])), linreg_skipped(linreg_fit(y, ARRAY[x1, x2, x3]))
FROM pl_bad WHERE id <> 50;
RESET flinkml.rewrite_array_args;

--
-- 5. Prepared statements: the same result as the direct query, executed twice
-- and with a generic plan; planning did not write into the cached query.
--
CREATE TEMP TABLE pl_direct AS
SELECT grp, linreg_fit(y, ARRAY[x1, x2n, x3])::text AS m FROM pl_data WHERE id <= 10500 GROUP BY grp;
PREPARE pl_p(int) AS
SELECT grp, linreg_fit(y, ARRAY[x1, x2n, x3])::text AS m FROM pl_data WHERE id <= $1 GROUP BY grp;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE pl_p(10500);
CREATE TEMP TABLE pl_e1 AS EXECUTE pl_p(10500);
CREATE TEMP TABLE pl_e2 AS EXECUTE pl_p(10500);
SET plan_cache_mode = force_generic_plan;
CREATE TEMP TABLE pl_e3 AS EXECUTE pl_p(10500);
SELECT (SELECT count(*) FROM pl_direct) AS groups,
       (SELECT count(*) FROM (TABLE pl_direct EXCEPT TABLE pl_e1) d) AS differ_1,
       (SELECT count(*) FROM (TABLE pl_e1 EXCEPT TABLE pl_direct) d) AS differ_1b,
       (SELECT count(*) FROM (TABLE pl_direct EXCEPT TABLE pl_e2) d) AS differ_2,
       (SELECT count(*) FROM (TABLE pl_direct EXCEPT TABLE pl_e3) d) AS differ_3;
-- with a custom plan (planned anew from the cached query at each EXECUTE)
-- and the rewrite off, the plan is the call as written
SET plan_cache_mode = force_custom_plan;
SET flinkml.rewrite_array_args = off;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE pl_p(10500);
RESET flinkml.rewrite_array_args;
RESET plan_cache_mode;
DEALLOCATE pl_p;

DROP MATERIALIZED VIEW pl_mv;
DROP VIEW pl_v;
DROP TABLE pl_t, pl_data, pl_bad;
RESET max_parallel_workers_per_gather;

--
-- 6. Privileges: the rewrite never changes who may run the aggregate (all in
-- a transaction that is rolled back: roles and grants stay as they were).
--
BEGIN;
CREATE ROLE pl_alice;
CREATE TABLE pl_priv AS SELECT g::float8 AS y, g::float8 AS a, (g % 7)::float8 AS b
FROM generate_series(1, 50) AS g;
GRANT SELECT ON pl_priv TO pl_alice;
-- EXECUTE on linreg_fit revoked: the call stays denied (it is not planned as
-- linreg_fit_cols, whose privileges now differ), the column form is allowed
REVOKE EXECUTE ON FUNCTION linreg_fit(float8, float8[]) FROM PUBLIC;
EXPLAIN (VERBOSE, COSTS OFF) SELECT linreg_fit(y, ARRAY[a, b]) FROM pl_priv;
SET ROLE pl_alice;
SAVEPOINT s1;
SELECT linreg_rows(linreg_fit(y, ARRAY[a, b])) FROM pl_priv;
ROLLBACK TO s1;
SELECT linreg_rows(linreg_fit_cols(y, a, b)) FROM pl_priv;
RESET ROLE;
-- EXECUTE on linreg_fit_cols revoked instead: linreg_fit(y, ARRAY[...]) keeps working
GRANT EXECUTE ON FUNCTION linreg_fit(float8, float8[]) TO PUBLIC;
REVOKE EXECUTE ON FUNCTION linreg_fit_cols(float8, "any") FROM PUBLIC;
SET ROLE pl_alice;
SELECT linreg_rows(linreg_fit(y, ARRAY[a, b])) FROM pl_priv;
SELECT linreg_rows(linreg_fit(y, ARRAY[a, b])) FROM pl_priv;
RESET ROLE;
ROLLBACK;
-- A view read by a role without USAGE on the extension's schema (which
-- running the view's aggregate does not need): planning the column form
-- must not ask for it either.
BEGIN;
CREATE ROLE pl_bob;
CREATE SCHEMA pl_views;
GRANT USAGE ON SCHEMA pl_views TO pl_bob;
CREATE TABLE pl_views.t AS SELECT g::float8 AS y, g::float8 AS a, (g % 5)::float8 AS b
FROM generate_series(1, 40) AS g;
CREATE VIEW pl_views.v AS SELECT linreg_rows(linreg_fit(y, ARRAY[a, b])) AS n FROM pl_views.t;
GRANT SELECT ON pl_views.v TO pl_bob;
REVOKE USAGE ON SCHEMA public FROM PUBLIC;
SET ROLE pl_bob;
SELECT n FROM pl_views.v;
SELECT n FROM pl_views.v;
RESET ROLE;
EXPLAIN (VERBOSE, COSTS OFF) SELECT n FROM pl_views.v;
ROLLBACK;
