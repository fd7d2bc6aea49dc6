--
-- Regression diagnostics and the accuracy of everything derived from a model
-- (issue 11): linreg_robust_se (HC0..HC3), linreg_vcov,
-- linreg_predict_interval at any point, linreg_influence, linreg_vif,
-- linreg_anova, linreg_bptest, linreg_white_test, linreg_dwtest.
--
-- 1. Accuracy against exact rational arithmetic (test/data/diag/make_exact.py,
--    fractions + 40-digit square roots) on the float8 data of the eleven NIST
--    StRD linear-regression datasets and R's longley (Employed ~ .): the LRE
--    (correct significant digits, capped at 15) of every figure must be at
--    least 12, at least 6 on Filip.  The design (polynomial columns in float8)
--    is read from test/data/diag/design.csv, the points from points.csv.
--    One documented exception: Wampler2's exact residual variance (sigma =
--    7.0e-16 on y up to 63) lies under the resolution of a double-double
--    state (RSS / TSS = 1e-33 < 2^-106), so the figures from the state alone
--    (vcov, se_fit) come out 0 -- as NIST certifies for the decimal data --
--    where the exact value of the rounded data is below 1e-15; the test
--    asserts exactly that.
-- 2. Everything else against R 4.2 (car::vif, anova, influence.measures,
--    lmtest::bptest, dwtest) on test/data/stats/synth.csv, reference values
--    in test/data/diag/ref_*.csv from make_reference.R: weighted,
--    no-intercept and rank-deficient fits; 1e-10 relative.  Durbin-Watson's
--    exact p value against a 40-digit mpmath computation
--    (test/data/diag/make_dw_exact.py, ref_dw_exact.csv), 1e-12 relative,
--    since R's own (pan, 15 iterations) carries fewer digits.
-- 3. NULL where R gives NA, errors naming the problem on bad input.
--

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;

-------------------------------------------------------------------------------
-- Part 1: exact references
-------------------------------------------------------------------------------
CREATE TABLE dg_design (dataset text, row int, y float8, x1 float8, x2 float8, x3 float8,
                        x4 float8, x5 float8, x6 float8, x7 float8, x8 float8, x9 float8, x10 float8);
CREATE TABLE dg_points (dataset text, pt int, x1 float8, x2 float8, x3 float8, x4 float8,
                        x5 float8, x6 float8, x7 float8, x8 float8, x9 float8, x10 float8);
CREATE TABLE dg_exact (dataset text, figure text, i int, j int, value numeric);
\copy dg_design FROM 'test/data/diag/design.csv' WITH (FORMAT csv, HEADER)
\copy dg_points FROM 'test/data/diag/points.csv' WITH (FORMAT csv, HEADER)
\copy dg_exact FROM 'test/data/diag/exact.csv' WITH (FORMAT csv, HEADER)

CREATE TABLE dg_sets (ord int, dataset text PRIMARY KEY, p int, intercept bool, min_lre numeric);
INSERT INTO dg_sets VALUES
    (1, 'Norris', 1, true, 12), (2, 'Pontius', 2, true, 12), (3, 'NoInt1', 1, false, 12),
    (4, 'NoInt2', 1, false, 12), (5, 'Filip', 10, true, 6), (6, 'Longley', 6, true, 12),
    (7, 'Wampler1', 5, true, 12), (8, 'Wampler2', 5, true, 12), (9, 'Wampler3', 5, true, 12),
    (10, 'Wampler4', 5, true, 12), (11, 'Wampler5', 5, true, 12), (12, 'RLongley', 6, true, 12);

SELECT count(*) AS rows, count(DISTINCT dataset) AS datasets FROM dg_design;
SELECT count(*) AS figures FROM dg_exact;

CREATE FUNCTION dg_x(d dg_design, p int) RETURNS float8[] LANGUAGE sql IMMUTABLE AS
$$ SELECT (ARRAY[d.x1, d.x2, d.x3, d.x4, d.x5, d.x6, d.x7, d.x8, d.x9, d.x10])[1:p] $$;
CREATE FUNCTION dg_xp(d dg_points, p int) RETURNS float8[] LANGUAGE sql IMMUTABLE AS
$$ SELECT (ARRAY[d.x1, d.x2, d.x3, d.x4, d.x5, d.x6, d.x7, d.x8, d.x9, d.x10])[1:p] $$;

-- The exact value of a float8, as numeric (mantissa * 2^e).
CREATE FUNCTION dg_exact_of(v float8) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT sign(v)::numeric
           * (CASE WHEN ex = 0 THEN fr ELSE fr + 4503599627370496 END)::numeric
           * CASE WHEN e2 >= 0 THEN power(2::numeric, e2)
                  ELSE power(5::numeric, -e2) * ('1e' || e2)::numeric END
    FROM (SELECT ex, fr, greatest(ex, 1) - 1075 AS e2
          FROM (SELECT (b >> 52) & 2047 AS ex, b & 4503599627370495 AS fr
                FROM (SELECT ('x' || encode(float8send(v), 'hex'))::bit(64)::bigint AS b) b0
               ) b1
         ) b2
$$;

-- LRE of est against the exact ref (capped at 15); NULL when est is NULL or not finite.
CREATE FUNCTION dg_lre(est float8, ref numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN est IS NULL OR est = 'NaN'::float8 OR abs(est) = 'Infinity'::float8 THEN NULL
        WHEN dg_exact_of(est) = ref THEN 15
        WHEN ref = 0 THEN least(15, -log(abs(dg_exact_of(est))))
        ELSE least(15, -log(abs(dg_exact_of(est) - ref) / abs(ref)))
    END
$$;

CREATE TABLE dg_model AS
SELECT s.dataset, s.p, s.intercept,
       CASE WHEN s.intercept
            THEN (SELECT linreg_fit(d.y, dg_x(d, s.p)) FROM dg_design d WHERE d.dataset = s.dataset)
            ELSE (SELECT linreg_fit_noint(d.y, dg_x(d, s.p)) FROM dg_design d WHERE d.dataset = s.dataset)
       END AS model
FROM dg_sets s;

-- What flinkml computes, figure by figure.
CREATE TABLE dg_got (dataset text, figure text, i int, j int, est float8);
INSERT INTO dg_got
SELECT m.dataset, 'hc' || t.k, o.i, 0, o.v
FROM dg_model m CROSS JOIN generate_series(0, 3) t(k)
CROSS JOIN LATERAL (SELECT linreg_robust_se(m.model, d.y, dg_x(d, m.p), 'HC' || t.k) AS se
                    FROM dg_design d WHERE d.dataset = m.dataset) r
CROSS JOIN LATERAL unnest(r.se) WITH ORDINALITY o(v, i);
INSERT INTO dg_got
SELECT m.dataset, 'vcov', a.i, b.j, (linreg_vcov(m.model))[a.i][b.j]
FROM dg_model m
CROSS JOIN LATERAL generate_series(1, m.p + m.intercept::int) a(i)
CROSS JOIN LATERAL generate_series(1, m.p + m.intercept::int) b(j);
INSERT INTO dg_got
SELECT m.dataset, f.figure, q.pt, 0, f.v
FROM dg_model m JOIN dg_points q USING (dataset)
CROSS JOIN LATERAL linreg_predict_interval(m.model, dg_xp(q, m.p)) i
CROSS JOIN LATERAL (VALUES ('fit', i.fit), ('se_fit', i.se_fit)) f(figure, v);
INSERT INTO dg_got
SELECT m.dataset, 'vif', o.i, 0, o.v
FROM dg_model m CROSS JOIN LATERAL unnest(linreg_vif(m.model)) WITH ORDINALITY o(v, i)
WHERE m.p >= 2;
INSERT INTO dg_got
SELECT m.dataset, f.figure, d.row, 0, f.v
FROM dg_model m JOIN dg_design d USING (dataset)
CROSS JOIN LATERAL linreg_influence(m.model, d.y, dg_x(d, m.p)) i
CROSS JOIN LATERAL (VALUES ('hat', i.hat), ('rstandard', i.rstandard), ('rstudent', i.rstudent),
                           ('cooks', i.cooks_distance), ('dffits', i.dffits),
                           ('covratio', i.covratio)) f(figure, v)
WHERE m.dataset NOT IN ('Wampler1', 'Wampler2');
-- anova: the model without its last feature against the full model
INSERT INTO dg_got
SELECT m.dataset, f.figure, 0, 0, f.v
FROM dg_model m
CROSS JOIN LATERAL (SELECT CASE WHEN m.intercept THEN linreg_fit(d.y, dg_x(d, m.p - 1))
                                ELSE linreg_fit_noint(d.y, dg_x(d, m.p - 1)) END AS small
                    FROM dg_design d WHERE d.dataset = m.dataset) s
CROSS JOIN LATERAL linreg_anova(s.small, m.model) a
CROSS JOIN LATERAL (VALUES ('anova_ss', a.sum_sq), ('anova_f', a.f)) f(figure, v)
WHERE m.p >= 2;
-- the residual tests (row order = the data's order); Wampler1 is an exact
-- fit (every residual 0: the statistics are 0/0); bptest needs two
-- auxiliary regressors (not NoInt1, NoInt2)
INSERT INTO dg_got
SELECT m.dataset, f.figure, 0, 0, f.v
FROM dg_model m
CROSS JOIN LATERAL (SELECT linreg_bptest(m.model, d.y, dg_x(d, m.p)) AS bs,
                           linreg_bptest(m.model, d.y, dg_x(d, m.p), false) AS bo
                    FROM dg_design d WHERE d.dataset = m.dataset) t
CROSS JOIN LATERAL (VALUES ('bp_stud', (t.bs).statistic), ('bp_orig', (t.bo).statistic),
                           ('bp_df', (t.bs).df)) f(figure, v)
WHERE m.dataset <> 'Wampler1' AND (m.intercept OR m.p >= 2);
INSERT INTO dg_got
SELECT m.dataset, 'dw', 0, 0, (t.dw).statistic
FROM dg_model m
CROSS JOIN LATERAL (SELECT linreg_dwtest(m.model, d.y, dg_x(d, m.p), d.row ORDER BY d.row) AS dw
                    FROM dg_design d WHERE d.dataset = m.dataset) t
WHERE m.dataset <> 'Wampler1';
INSERT INTO dg_got
SELECT m.dataset, f.figure, 0, 0, f.v
FROM dg_model m
CROSS JOIN LATERAL (SELECT linreg_white_test(m.model, d.y, dg_x(d, m.p)) AS wt
                    FROM dg_design d WHERE d.dataset = m.dataset) t
CROSS JOIN LATERAL (VALUES ('white', (t.wt).statistic), ('white_df', (t.wt).df)) f(figure, v)
WHERE m.p = 1;

-- Every exact figure has its computed counterpart, but Wampler2's influence
-- figures: they need the residual variance, which is below the resolution
-- of the state for this dataset (see below).
SELECT e.figure, count(*) AS exact, count(g.est) AS computed
FROM dg_exact e LEFT JOIN dg_got g USING (dataset, figure, i, j)
WHERE e.figure <> 'coef' AND e.figure <> 'sigma' AND e.figure <> 'pse'
GROUP BY e.figure ORDER BY e.figure;

-- The LRE bound per dataset and figure (printed: whether it holds).
SELECT s.dataset, g.figure, count(*) AS n, bool_and(dg_lre(g.est, e.value) >= s.min_lre) AS lre_ok
FROM dg_got g JOIN dg_exact e USING (dataset, figure, i, j) JOIN dg_sets s USING (dataset)
WHERE NOT (s.dataset = 'Wampler2' AND g.figure IN ('vcov', 'se_fit'))
GROUP BY s.ord, s.dataset, g.figure ORDER BY s.ord, g.figure;

-- Wampler2: the state-only figures are 0, and the exact residual standard
-- deviation of the rounded data lies below the state's resolution
-- (sigma <= 1e-15 * max |y|).
SELECT g.figure, count(*) AS n, bool_and(g.est = 0) AS zero,
       (SELECT value FROM dg_exact WHERE dataset = 'Wampler2' AND figure = 'sigma')
         <= 1e-15 * (SELECT max(abs(y)) FROM dg_design WHERE dataset = 'Wampler2') AS sigma_below_resolution
FROM dg_got g
WHERE g.dataset = 'Wampler2' AND g.figure IN ('vcov', 'se_fit')
GROUP BY g.figure ORDER BY g.figure;

-------------------------------------------------------------------------------
-- Part 2: R references on synth.csv
-------------------------------------------------------------------------------
-- est agrees with ref to tol relative; both NULL also agree.
CREATE FUNCTION dg_ok(est float8, ref float8, tol float8 DEFAULT 1e-10) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN ref IS NULL THEN est IS NULL
                WHEN est IS NULL THEN false
                WHEN est = ref THEN true
                ELSE abs(est - ref) <= tol * abs(ref) END
$$;

CREATE TABLE dg_synth (id int, y float8, x1 float8, x2 float8, g float8, xa float8, w float8);
\copy dg_synth FROM 'test/data/stats/synth.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE dg_ref_vif (fit text, term text, vif float8);
\copy dg_ref_vif FROM 'test/data/diag/ref_vif.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE dg_ref_anova (case_ text, res_df_small float8, rss_small float8, res_df float8, rss float8,
                           df float8, sum_sq float8, f float8, p_value float8);
\copy dg_ref_anova FROM 'test/data/diag/ref_anova.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE dg_ref_infl (fit text, id int, hat float8, rstandard float8, rstudent float8,
                          cooks float8, dffits float8, covratio float8);
\copy dg_ref_infl FROM 'test/data/diag/ref_influence.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE dg_ref_tests (case_ text, statistic float8, df float8, p_value float8);
\copy dg_ref_tests FROM 'test/data/diag/ref_tests.csv' WITH (FORMAT csv, HEADER)

-- The fits of sql/stats.sql: A y ~ x1 + x2 + g; B weighted; C no intercept;
-- D with xa = x1 + x2 (aliased); E weighted, no intercept.
CREATE TABLE dg_fit AS
SELECT 'A' AS fit, linreg_fit(y, ARRAY[x1, x2, g]) AS model FROM dg_synth
UNION ALL SELECT 'B', linreg_fit(y, ARRAY[x1, x2, g], w) FROM dg_synth
UNION ALL SELECT 'C', linreg_fit_noint(y, ARRAY[x1, x2, g]) FROM dg_synth
UNION ALL SELECT 'D', linreg_fit(y, ARRAY[x1, x2, xa, g]) FROM dg_synth
UNION ALL SELECT 'E', linreg_fit_noint(y, ARRAY[x1, x2, g], w) FROM dg_synth;
CREATE FUNCTION dg_row_x(fit text, s dg_synth) RETURNS float8[] LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN fit = 'D' THEN ARRAY[s.x1, s.x2, s.xa, s.g] ELSE ARRAY[s.x1, s.x2, s.g] END $$;

-- VIF (car::vif); D's aliased xa is NULL
SELECT r.fit, count(*) AS terms, bool_and(dg_ok(v.vif, r.vif)) AS vif_ok
FROM dg_ref_vif r
JOIN (SELECT f.fit, n.term, o.v AS vif
      FROM dg_fit f
      CROSS JOIN LATERAL unnest(linreg_vif(f.model)) WITH ORDINALITY o(v, i)
      JOIN LATERAL (SELECT CASE WHEN f.fit = 'D' THEN (ARRAY['x1', 'x2', 'xa', 'g'])[o.i]
                                ELSE (ARRAY['x1', 'x2', 'g'])[o.i] END AS term) n ON true) v
  USING (fit, term)
GROUP BY r.fit ORDER BY r.fit;

-- anova(small, big)
CREATE TABLE dg_anova AS
SELECT c.case_, (linreg_anova(c.small, c.big)).*
FROM (SELECT 'A_x1x2' AS case_, (SELECT linreg_fit(y, ARRAY[x1, x2]) FROM dg_synth) AS small,
             (SELECT model FROM dg_fit WHERE fit = 'A') AS big
      UNION ALL SELECT 'A_x1', (SELECT linreg_fit(y, ARRAY[x1]) FROM dg_synth),
             (SELECT model FROM dg_fit WHERE fit = 'A')
      UNION ALL SELECT 'B_x1x2', (SELECT linreg_fit(y, ARRAY[x1, x2], w) FROM dg_synth),
             (SELECT model FROM dg_fit WHERE fit = 'B')
      UNION ALL SELECT 'C_x1x2', (SELECT linreg_fit_noint(y, ARRAY[x1, x2]) FROM dg_synth),
             (SELECT model FROM dg_fit WHERE fit = 'C')
      UNION ALL SELECT 'C0_A', (SELECT linreg_fit_noint(y, ARRAY[x1, x2]) FROM dg_synth),
             (SELECT model FROM dg_fit WHERE fit = 'A')
      UNION ALL SELECT 'D_x1x2', (SELECT linreg_fit(y, ARRAY[x1, x2]) FROM dg_synth),
             (SELECT model FROM dg_fit WHERE fit = 'D')
      UNION ALL SELECT 'A_A', (SELECT model FROM dg_fit WHERE fit = 'A'),
             (SELECT model FROM dg_fit WHERE fit = 'A')) c;
SELECT r.case_,
       dg_ok(a.res_df_small, r.res_df_small) AND dg_ok(a.res_df, r.res_df) AND dg_ok(a.df, r.df) AS df_ok,
       dg_ok(a.rss_small, r.rss_small) AND dg_ok(a.rss, r.rss) AS rss_ok,
       dg_ok(a.sum_sq, r.sum_sq, 1e-9) AS ss_ok,
       dg_ok(a.f, r.f, 1e-9) AS f_ok, dg_ok(a.p_value, r.p_value, 1e-9) AS p_ok
FROM dg_ref_anova r LEFT JOIN dg_anova a USING (case_) ORDER BY r.case_;
-- the features are matched whatever their order in the bigger model
SELECT (linreg_anova((SELECT linreg_fit(y, ARRAY[g, x1]) FROM dg_synth),
                     (SELECT linreg_fit(y, ARRAY[x2, x1, g]) FROM dg_synth))).f
       = (linreg_anova((SELECT linreg_fit(y, ARRAY[x1, g]) FROM dg_synth),
                       (SELECT model FROM dg_fit WHERE fit = 'A'))).f AS order_free;

-- influence.measures; zero-weight rows of B and E are NULL (R drops them)
CREATE TABLE dg_infl AS
SELECT f.fit, s.id, (CASE WHEN f.fit IN ('B', 'E') THEN linreg_influence(f.model, s.y, dg_row_x(f.fit, s), s.w)
                         ELSE linreg_influence(f.model, s.y, dg_row_x(f.fit, s)) END).*
FROM dg_fit f CROSS JOIN dg_synth s;
SELECT f.fit, count(r.id) AS rows_r, count(i.hat) AS rows_flinkml,
       bool_and(dg_ok(i.hat, r.hat)) AS hat_ok,
       bool_and(dg_ok(i.rstandard, r.rstandard)) AS rstandard_ok,
       bool_and(dg_ok(i.rstudent, r.rstudent)) AS rstudent_ok,
       bool_and(dg_ok(i.cooks_distance, r.cooks)) AS cooks_ok,
       bool_and(dg_ok(i.dffits, r.dffits)) AS dffits_ok,
       bool_and(dg_ok(i.covratio, r.covratio)) AS covratio_ok
FROM dg_infl i JOIN (SELECT DISTINCT fit FROM dg_fit) f USING (fit)
LEFT JOIN dg_ref_infl r USING (fit, id)
GROUP BY f.fit ORDER BY f.fit;
-- a model per group, joined in (rows of the groups interleave): each row
-- gets its group's figures
CREATE TABLE dg_gm AS SELECT g, linreg_fit(y, ARRAY[x1, x2]) AS model FROM dg_synth GROUP BY g;
SELECT count(*) AS rows,
       bool_and(dg_ok((linreg_influence(m.model, s.y, ARRAY[s.x1, s.x2])).cooks_distance,
                      (linreg_influence((SELECT model FROM dg_gm WHERE g = s.g), s.y, ARRAY[s.x1, s.x2])).cooks_distance,
                      1e-15)) AS per_group_ok,
       bool_and(dg_ok((linreg_predict_interval(m.model, ARRAY[s.x1, s.x2])).se_fit,
                      (linreg_predict_interval((SELECT model FROM dg_gm WHERE g = s.g), ARRAY[s.x1, s.x2])).se_fit,
                      1e-15)) AS interval_ok
FROM (SELECT * FROM dg_synth ORDER BY id) s JOIN dg_gm m USING (g);
-- Breusch-Pagan with a model per group: rows of the groups interleaved in one
-- hash aggregate, and a subquery rescanned once per group, each time with
-- another model (possibly at the address of the one before); both must give
-- each group's own statistic
SET enable_sort = off;
SELECT count(*) AS groups,
       bool_and(dg_ok((h.bp).statistic, (SELECT (linreg_bptest(gm.model, s.y, ARRAY[s.x1, s.x2])).statistic
                                         FROM dg_synth s WHERE s.g = gm.g), 1e-13)) AS per_group_bp_ok
FROM (SELECT s.g, linreg_bptest((SELECT model FROM dg_gm WHERE g = s.g), s.y, ARRAY[s.x1, s.x2]) AS bp
      FROM (SELECT * FROM dg_synth ORDER BY id) s GROUP BY s.g) h
JOIN dg_gm gm USING (g);
RESET enable_sort;
-- the leverages sum to the rank (the trace of the hat matrix)
SELECT i.fit, dg_ok(sum(i.hat), max(linreg_rank(f.model))::float8, 1e-12) AS trace_is_rank
FROM dg_infl i JOIN dg_fit f USING (fit) GROUP BY i.fit ORDER BY i.fit;
-- the rows R leaves out are exactly the NULL ones
SELECT i.fit, count(*) AS null_rows, bool_and(s.w = 0) AS all_zero_weight
FROM dg_infl i JOIN dg_synth s USING (id) WHERE i.hat IS NULL GROUP BY i.fit ORDER BY i.fit;

-- wide models (20 features: the leverage and the residual take the general
-- paths, past the unrolled ones for up to 16 kept features): influence.measures
-- of y ~ x1..x20, of the same with x20 = 2 x1 (aliased) and without intercept
-- (test/data/diag/make_wide_reference.R)
CREATE TABLE dg_wide (id int, y float8, x1 float8, x2 float8, x3 float8, x4 float8, x5 float8,
    x6 float8, x7 float8, x8 float8, x9 float8, x10 float8, x11 float8, x12 float8, x13 float8,
    x14 float8, x15 float8, x16 float8, x17 float8, x18 float8, x19 float8, x20 float8);
\copy dg_wide FROM 'test/data/diag/wide.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE dg_ref_infl_wide (fit text, id int, hat float8, rstandard float8, rstudent float8,
    cooks float8, dffits float8, covratio float8);
\copy dg_ref_infl_wide FROM 'test/data/diag/ref_influence_wide.csv' WITH (FORMAT csv, HEADER)
CREATE FUNCTION dg_wide_x(w dg_wide, fit text) RETURNS float8[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[w.x1, w.x2, w.x3, w.x4, w.x5, w.x6, w.x7, w.x8, w.x9, w.x10, w.x11, w.x12, w.x13,
                 w.x14, w.x15, w.x16, w.x17, w.x18, w.x19,
                 CASE WHEN fit = 'Wa' THEN 2 * w.x1 ELSE w.x20 END]
$$;
CREATE TABLE dg_wide_fit AS
SELECT f.fit, CASE WHEN f.fit = 'Wn' THEN (SELECT linreg_fit_noint(w.y, dg_wide_x(w, f.fit)) FROM dg_wide w)
                   ELSE (SELECT linreg_fit(w.y, dg_wide_x(w, f.fit)) FROM dg_wide w) END AS model
FROM (VALUES ('W'), ('Wa'), ('Wn')) f(fit);
SELECT f.fit, max(linreg_rank(f.model)) AS rank, count(r.id) AS rows_r, count(i.hat) AS rows_flinkml,
       bool_and(dg_ok(i.hat, r.hat)) AS hat_ok,
       bool_and(dg_ok(i.rstandard, r.rstandard)) AS rstandard_ok,
       bool_and(dg_ok(i.rstudent, r.rstudent)) AS rstudent_ok,
       bool_and(dg_ok(i.cooks_distance, r.cooks)) AS cooks_ok,
       bool_and(dg_ok(i.dffits, r.dffits)) AS dffits_ok,
       bool_and(dg_ok(i.covratio, r.covratio)) AS covratio_ok
FROM dg_wide_fit f CROSS JOIN dg_wide w
CROSS JOIN LATERAL linreg_influence(f.model, w.y, dg_wide_x(w, f.fit)) i
LEFT JOIN dg_ref_infl_wide r ON r.fit = f.fit AND r.id = w.id
GROUP BY f.fit ORDER BY f.fit;

-- Breusch-Pagan, White (on D: the aliased auxiliary columns lower df, as
-- R's auxiliary rank), Durbin-Watson.  lmtest's dwtest mishandles the
-- aliased column of D (its p value comes from a singular X'X); the
-- reference for D is A's (same column space).
CREATE TABLE dg_tests AS
SELECT 'bp_' || f.fit AS case_, (linreg_bptest(f.model, s.y, dg_row_x(f.fit, s))).*
FROM dg_fit f, dg_synth s WHERE f.fit IN ('A', 'C', 'D') GROUP BY f.fit
UNION ALL
SELECT 'bp0_' || f.fit, (linreg_bptest(f.model, s.y, dg_row_x(f.fit, s), false)).*
FROM dg_fit f, dg_synth s WHERE f.fit IN ('A', 'C', 'D') GROUP BY f.fit
UNION ALL
SELECT 'white_' || f.fit, (linreg_white_test(f.model, s.y, dg_row_x(f.fit, s))).*
FROM dg_fit f, dg_synth s WHERE f.fit IN ('A', 'C', 'D') GROUP BY f.fit
UNION ALL
-- too few rows: y ~ x1 + x2 on 3 rows (no residual: NULL where R gives NaN), on 4
SELECT 'bp' || k, (t.b).* FROM (SELECT k, (SELECT linreg_bptest(m.model, s.y, ARRAY[s.x1, s.x2])
        FROM (SELECT linreg_fit(y, ARRAY[x1, x2]) AS model FROM dg_synth WHERE id <= k) m, dg_synth s
        WHERE s.id <= k) AS b FROM (VALUES (3), (4)) v(k)) t
UNION ALL
SELECT 'bp04', (linreg_bptest(m.model, s.y, ARRAY[s.x1, s.x2], false)).*
FROM (SELECT linreg_fit(y, ARRAY[x1, x2]) AS model FROM dg_synth WHERE id <= 4) m, dg_synth s WHERE s.id <= 4
UNION ALL
SELECT 'dw_' || f.fit, d.statistic, NULL, d.p_value
FROM (SELECT f.fit, linreg_dwtest(f.model, s.y, dg_row_x(f.fit, s), s.id, false ORDER BY s.id) AS d
      FROM dg_fit f, dg_synth s WHERE f.fit IN ('A', 'C', 'D') GROUP BY f.fit) f,
     LATERAL (SELECT (f.d).*) d
UNION ALL
SELECT 'dwx1_' || f.fit, d.statistic, NULL, d.p_value
FROM (SELECT f.fit, linreg_dwtest(f.model, s.y, dg_row_x(f.fit, s), s.x1, false ORDER BY s.x1) AS d
      FROM dg_fit f, dg_synth s WHERE f.fit IN ('A', 'C', 'D') GROUP BY f.fit) f,
     LATERAL (SELECT (f.d).*) d;
SELECT r.case_, dg_ok(t.statistic, r.statistic) AS statistic_ok, dg_ok(t.df, r.df) AS df_ok,
       dg_ok(t.p_value, r.p_value) AS p_ok
FROM (SELECT case_, statistic, df, p_value FROM dg_ref_tests
      WHERE case_ NOT IN ('dw_D', 'dwx1_D') AND case_ !~ '^(bw|whitew|dwexact)'
      UNION ALL SELECT replace(case_, '_A', '_D'), statistic, df, p_value FROM dg_ref_tests
      WHERE case_ IN ('dw_A', 'dwx1_A')) r
LEFT JOIN dg_tests t USING (case_) ORDER BY r.case_;

-- Weighted fits (lmtest::bptest of a weighted lm): B (with intercept) and E
-- (through the origin), the model's weights row by row.  The four rows of
-- weight 0 are left out, as in the fit; the references are R's on the fits
-- without them (make_reference.R: lmtest counts them in the studentised
-- denominator; its figure with them, bwR_B, differs, as shown).
CREATE TABLE dg_wtests AS
SELECT 'bw_' || f.fit AS case_, (linreg_bptest(f.model, s.y, dg_row_x(f.fit, s), true, s.w)).*
FROM dg_fit f, dg_synth s WHERE f.fit IN ('B', 'E') GROUP BY f.fit
UNION ALL
SELECT 'bw0_' || f.fit, (linreg_bptest(f.model, s.y, dg_row_x(f.fit, s), false, s.w)).*
FROM dg_fit f, dg_synth s WHERE f.fit IN ('B', 'E') GROUP BY f.fit
UNION ALL
SELECT 'whitew_B', (linreg_white_test(f.model, s.y, dg_row_x(f.fit, s), true, s.w)).*
FROM dg_fit f, dg_synth s WHERE f.fit = 'B'
UNION ALL
SELECT 'whitew0_B', (linreg_white_test(f.model, s.y, dg_row_x(f.fit, s), false, s.w)).*
FROM dg_fit f, dg_synth s WHERE f.fit = 'B';
SELECT r.case_, dg_ok(t.statistic, r.statistic) AS statistic_ok, dg_ok(t.df, r.df) AS df_ok,
       dg_ok(t.p_value, r.p_value) AS p_ok
FROM dg_ref_tests r LEFT JOIN dg_wtests t USING (case_)
WHERE r.case_ ~ '^(bw|whitew)' AND r.case_ <> 'bwR_B' ORDER BY r.case_;
-- lmtest's figure with the zero-weight rows in its denominator
SELECT round((r.statistic / t.statistic)::numeric, 6) AS lmtest_with_zero_weight_rows_over_flinkml
FROM dg_ref_tests r, dg_wtests t WHERE r.case_ = 'bwR_B' AND t.case_ = 'bw_B';
-- weights all 1: the weighted form is the unweighted test
SELECT dg_ok((w.b).statistic, (u.b).statistic, 1e-12) AS bp_ok, dg_ok((w.wt).statistic, (u.wt).statistic, 1e-12) AS white_ok
FROM (SELECT linreg_bptest(f.model, s.y, dg_row_x(f.fit, s), true, 1.0) AS b,
             linreg_white_test(f.model, s.y, dg_row_x(f.fit, s), false, 1) AS wt
      FROM dg_fit f, dg_synth s WHERE f.fit = 'A') w,
     (SELECT linreg_bptest(f.model, s.y, dg_row_x(f.fit, s)) AS b,
             linreg_white_test(f.model, s.y, dg_row_x(f.fit, s), false) AS wt
      FROM dg_fit f, dg_synth s WHERE f.fit = 'A') u;

-- Durbin-Watson's exact p value (dwtest's default below 100 rows) against an
-- independent reference: test/data/diag/make_dw_exact.py (mpmath, 40
-- digits: exact residuals, the eigenvalues of M A M, Imhof's integral by two
-- quadratures) -- 1e-12 relative.  Fits A and C (and D, A's column space
-- with an aliased column) in id and x1 order; y ~ x1 on the first 4 and 5
-- rows; y ~ 0 + x1 + x2 on the first 12.
CREATE TABLE dg_ref_dw_exact (case_ text, n int, rank int, statistic float8, p_value float8);
\copy dg_ref_dw_exact FROM 'test/data/diag/ref_dw_exact.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE dg_dw_exact AS
SELECT 'dw_' || f.fit AS case_, (d).*
FROM (SELECT f.fit, linreg_dwtest(f.model, s.y, dg_row_x(f.fit, s), s.id ORDER BY s.id) AS d
      FROM dg_fit f, dg_synth s WHERE f.fit IN ('A', 'C', 'D') GROUP BY f.fit) f
UNION ALL
SELECT 'dwx1_' || f.fit, (d).*
FROM (SELECT f.fit, linreg_dwtest(f.model, s.y, dg_row_x(f.fit, s), s.x1 ORDER BY s.x1) AS d
      FROM dg_fit f, dg_synth s WHERE f.fit IN ('A', 'C', 'D') GROUP BY f.fit) f
UNION ALL
SELECT 'dw' || k, (d).*
FROM (SELECT k, (SELECT linreg_dwtest(m.model, s.y, ARRAY[s.x1], s.id::float8 ORDER BY s.id)
                 FROM (SELECT linreg_fit(y, ARRAY[x1]) AS model FROM dg_synth WHERE id <= k) m, dg_synth s
                 WHERE s.id <= k) AS d
      FROM (VALUES (4), (5)) v(k)) t
UNION ALL
SELECT 'dw12_C', (linreg_dwtest(m.model, s.y, ARRAY[s.x1, s.x2], s.id ORDER BY s.id)).*
FROM (SELECT linreg_fit_noint(y, ARRAY[x1, x2]) AS model FROM dg_synth WHERE id <= 12) m, dg_synth s
WHERE s.id <= 12;
SELECT r.case_, t.n = r.n AS n_ok, t.exact, dg_ok(t.statistic, r.statistic, 1e-13) AS statistic_ok,
       dg_ok(t.p_value, r.p_value, 1e-12) AS p_ok
FROM (SELECT * FROM dg_ref_dw_exact UNION ALL
      SELECT replace(case_, '_A', '_D'), n, rank, statistic, p_value FROM dg_ref_dw_exact WHERE case_ LIKE '%\_A')
     r LEFT JOIN dg_dw_exact t USING (case_) ORDER BY r.case_;
-- R's dwtest() itself (Farebrother's pan, 15 iterations by default) agrees
-- to its own accuracy: about 1e-8 on 60 rows, 1e-13 on 5, but 2% on 4 rows
-- (two eigenvalues: there the probability has the closed form
-- (2/pi) atan(sqrt(-nu2/nu1)), which the reference checks; pan with 1000
-- iterations reaches 4e-6).  The relative differences, bucketed:
SELECT r.case_, CASE WHEN abs(t.p_value - r.p_value) <= 1e-12 * r.p_value THEN '<= 1e-12'
                     WHEN abs(t.p_value - r.p_value) <= 1e-7 * r.p_value THEN '<= 1e-7'
                     ELSE round((abs(t.p_value - r.p_value) / r.p_value)::numeric, 3)::text END AS rel_diff
FROM (SELECT replace(replace(replace(case_, 'dwexactx1', 'dwx1'), 'dwexact_', 'dw_'), 'dwexact', 'dw') AS case_,
             p_value
      FROM dg_ref_tests WHERE case_ LIKE 'dwexact%') r
JOIN dg_dw_exact t USING (case_) ORDER BY r.case_;
-- exact => true: the same (beyond 100 rows and false below: see dg_big below)
SELECT (d).exact, dg_ok((d).p_value, (SELECT p_value FROM dg_ref_dw_exact WHERE case_ = 'dw_A'), 1e-12) AS p_ok
FROM (SELECT linreg_dwtest(f.model, s.y, dg_row_x(f.fit, s), s.id, true ORDER BY s.id) AS d
      FROM dg_fit f, dg_synth s WHERE f.fit = 'A') t;

-- Parallel: the heteroskedasticity aggregates combine partial states
CREATE TABLE dg_big AS
SELECT g AS id, (g % 17)::float8 AS x1, ((g * 7) % 23)::float8 AS x2,
       1 + 0.5 * (g % 17) - 0.25 * ((g * 7) % 23) + ((g * 37) % 11 - 5) * 0.01 * (1 + (g % 17)) AS y
FROM generate_series(1, 60000) g;
ANALYZE dg_big;
CREATE TABLE dg_big_model AS SELECT linreg_fit(y, ARRAY[x1, x2]) AS model FROM dg_big;
CREATE TABLE dg_big_wmodel AS SELECT linreg_fit(y, ARRAY[x1, x2], 1 + id % 3) AS model FROM dg_big;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT linreg_bptest((SELECT model FROM dg_big_model), y, ARRAY[x1, x2]) FROM dg_big;
CREATE TABLE dg_par AS
SELECT linreg_bptest((SELECT model FROM dg_big_model), y, ARRAY[x1, x2]) AS bp,
       linreg_white_test((SELECT model FROM dg_big_model), y, ARRAY[x1, x2]) AS wt,
       linreg_bptest((SELECT model FROM dg_big_wmodel), y, ARRAY[x1, x2], true, 1 + id % 3) AS bpw,
       linreg_white_test((SELECT model FROM dg_big_wmodel), y, ARRAY[x1, x2], true, 1 + id % 3) AS wtw
FROM dg_big;
RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE dg_ser AS
SELECT linreg_bptest((SELECT model FROM dg_big_model), y, ARRAY[x1, x2]) AS bp,
       linreg_white_test((SELECT model FROM dg_big_model), y, ARRAY[x1, x2]) AS wt,
       linreg_bptest((SELECT model FROM dg_big_wmodel), y, ARRAY[x1, x2], true, 1 + id % 3) AS bpw,
       linreg_white_test((SELECT model FROM dg_big_wmodel), y, ARRAY[x1, x2], true, 1 + id % 3) AS wtw
FROM dg_big;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
SELECT dg_ok((p.bp).statistic, (s.bp).statistic, 1e-12) AND (p.bp).df = (s.bp).df AS bp_parallel_ok,
       dg_ok((p.wt).statistic, (s.wt).statistic, 1e-12) AND (p.wt).df = (s.wt).df AS white_parallel_ok,
       dg_ok((p.bpw).statistic, (s.bpw).statistic, 1e-12) AS bpw_parallel_ok,
       dg_ok((p.wtw).statistic, (s.wtw).statistic, 1e-12) AS whitew_parallel_ok,
       (s.bp).df AS bp_df, (s.wt).df AS white_df
FROM dg_par p, dg_ser s;
-- Durbin-Watson from 100 rows: the normal approximation unless exact => true
-- (at most 2000 rows)
SELECT (linreg_dwtest(m.model, b.y, ARRAY[b.x1, b.x2], b.id ORDER BY b.id)).exact AS default_exact,
       (linreg_dwtest(m.model, b.y, ARRAY[b.x1, b.x2], b.id, true ORDER BY b.id)).exact AS asked_exact,
       (linreg_dwtest(m.model, b.y, ARRAY[b.x1, b.x2], b.id, NULL ORDER BY b.id)).exact AS null_exact
FROM (SELECT linreg_fit(y, ARRAY[x1, x2]) AS model FROM dg_big WHERE id <= 150) m, dg_big b WHERE b.id <= 150;
SELECT linreg_dwtest((SELECT model FROM dg_big_model), y, ARRAY[x1, x2], id, true ORDER BY id) FROM dg_big;

-- Groups: a hash aggregate's states (batched or flat, within a quarter of
-- work_mem) give what each group gives alone
SET work_mem = '64kB';
SET enable_sort = off;
CREATE TABLE dg_grp AS
SELECT id % 3 AS grp, linreg_bptest((SELECT model FROM dg_big_model), y, ARRAY[x1, x2]) AS bp
FROM dg_big GROUP BY id % 3;
RESET enable_sort;
RESET work_mem;
SELECT g.grp, dg_ok((g.bp).statistic, (o.bp).statistic, 1e-12) AS same_as_alone
FROM dg_grp g,
     LATERAL (SELECT linreg_bptest((SELECT model FROM dg_big_model), y, ARRAY[x1, x2]) AS bp
              FROM dg_big WHERE id % 3 = g.grp) o
ORDER BY g.grp;

-- one model per group (a hash aggregate interleaves the groups' rows)
CREATE TABLE dg_grp_models AS
SELECT id % 3 AS grp, linreg_fit(y, ARRAY[x1, x2]) AS model FROM dg_big GROUP BY id % 3;
SET enable_sort = off;
CREATE TABLE dg_grp2 AS
SELECT b.id % 3 AS grp, linreg_bptest(m.model, b.y, ARRAY[b.x1, b.x2]) AS bp
FROM dg_big b JOIN dg_grp_models m ON m.grp = b.id % 3 GROUP BY b.id % 3;
RESET enable_sort;
SELECT g.grp, dg_ok((g.bp).statistic, (o.bp).statistic, 1e-12) AS own_model_ok
FROM dg_grp2 g,
     LATERAL (SELECT linreg_bptest((SELECT model FROM dg_grp_models WHERE grp = g.grp), y, ARRAY[x1, x2]) AS bp
              FROM dg_big WHERE id % 3 = g.grp) o
ORDER BY g.grp;

-------------------------------------------------------------------------------
-- Part 3: NULLs and bad input
-------------------------------------------------------------------------------
-- a row with a NULL: NULL influence (na.exclude)
SELECT linreg_influence(model, NULL, ARRAY[1, 2, 3]) IS NULL AS null_y,
       linreg_influence(model, 1, ARRAY[1, NULL, 3]) IS NULL AS null_x,
       linreg_influence(model, 1, ARRAY[1, 2, 3], NULL) IS NULL AS null_w,
       linreg_influence(model, 1, ARRAY[1, 2, 3], 0) IS NULL AS zero_weight
FROM dg_fit WHERE fit = 'A';
-- NULL rows are skipped by the tests (the model fitted without them, as lm's na.omit)
SELECT (d).skipped AS dw_skipped, (d).n AS dw_n
FROM (SELECT linreg_dwtest(m.model, s.y, CASE WHEN s.id % 10 = 0 THEN NULL ELSE dg_row_x('A', s) END,
                           s.id ORDER BY s.id) AS d
      FROM (SELECT linreg_fit(y, CASE WHEN id % 10 = 0 THEN NULL ELSE ARRAY[x1, x2, g] END) AS model
            FROM dg_synth) m, dg_synth s) t;
-- Durbin-Watson tests the residuals of the model's own rows: other rows are an error
SELECT linreg_dwtest(f.model, s.y, dg_row_x(f.fit, s), s.id ORDER BY s.id)
FROM dg_fit f, dg_synth s WHERE f.fit = 'A' AND s.id > 5 GROUP BY f.fit;
-- leverage 1: a point fixed by its own term; R gives NaN (NULL here) for all but the hat value
CREATE TABLE dg_lev AS SELECT * FROM (VALUES (1.0::float8, 0.0::float8, 0.0::float8), (2, 1, 0), (2.5, 2, 0),
                                             (4, 3, 0), (5, 4, 1)) v(y, x1, x2);
SELECT i.hat, i.rstandard IS NULL AS rstandard_null, i.cooks_distance IS NULL AS cooks_null
FROM (SELECT linreg_fit(y, ARRAY[x1, x2]) AS m FROM dg_lev) f, dg_lev l,
     LATERAL linreg_influence(f.m, l.y, ARRAY[l.x1, l.x2]) i WHERE l.x2 = 1;
-- VIF: fewer than two kept features
SELECT linreg_vif(linreg_fit(y, ARRAY[x1])) FROM dg_synth;
SELECT linreg_vif(linreg_fit(y, ARRAY[x1, x1 * 2])) FROM dg_synth;
-- ridge models have no diagnostics
SELECT linreg_vif(linreg_solve_ridge(linreg_state(y, ARRAY[x1, x2]), 0.5)) FROM dg_synth;
SELECT linreg_influence((SELECT linreg_solve_ridge(linreg_state(y, ARRAY[x1, x2]), 0.5) FROM dg_synth), 1, ARRAY[1, 2]);
-- anova: not nested, not the same rows, not the same response, more features, intercept
SELECT linreg_anova((SELECT linreg_fit(y, ARRAY[x1, xa]) FROM dg_synth), (SELECT model FROM dg_fit WHERE fit = 'A'));
SELECT linreg_anova((SELECT linreg_fit(y, ARRAY[x1]) FROM dg_synth WHERE id > 1), (SELECT model FROM dg_fit WHERE fit = 'A'));
SELECT linreg_anova((SELECT linreg_fit(y, ARRAY[x1, x2], w + 1) FROM dg_synth), (SELECT model FROM dg_fit WHERE fit = 'A'));
SELECT linreg_anova((SELECT linreg_fit(x2, ARRAY[x1]) FROM dg_synth), (SELECT model FROM dg_fit WHERE fit = 'A'));
SELECT linreg_anova((SELECT model FROM dg_fit WHERE fit = 'A'), (SELECT linreg_fit(y, ARRAY[x1, x2]) FROM dg_synth));
SELECT linreg_anova((SELECT linreg_fit(y, ARRAY[x1]) FROM dg_synth), (SELECT model FROM dg_fit WHERE fit = 'C'));
-- Durbin-Watson: NULL or unordered keys; weighted models
SELECT linreg_dwtest(f.model, s.y, dg_row_x(f.fit, s), CASE WHEN s.id = 7 THEN NULL ELSE s.id END ORDER BY s.id)
FROM dg_fit f, dg_synth s WHERE f.fit = 'A' GROUP BY f.fit;
SELECT linreg_dwtest(f.model, s.y, dg_row_x(f.fit, s), s.id ORDER BY s.x1)
FROM dg_fit f, dg_synth s WHERE f.fit = 'A' GROUP BY f.fit;
SELECT linreg_dwtest(f.model, s.y, dg_row_x(f.fit, s), s.id ORDER BY s.id)
FROM dg_fit f, dg_synth s WHERE f.fit = 'B' GROUP BY f.fit;
SELECT linreg_bptest(f.model, s.y, dg_row_x(f.fit, s))
FROM dg_fit f, dg_synth s WHERE f.fit = 'B' GROUP BY f.fit;
-- too few rows for the approximate p value (below max(5, rank)): the
-- statistic, a NULL p value (R: 1, with a warning); the exact p value of
-- these 4 rows is above (dw4)
SELECT (d).statistic IS NOT NULL AS has_statistic, (d).p_value IS NULL AS p_null, (d).n, (d).exact
FROM (SELECT linreg_dwtest(m.model, s.y, ARRAY[s.x1], s.id, false ORDER BY s.id) AS d
      FROM (SELECT linreg_fit(y, ARRAY[x1]) AS model FROM dg_synth WHERE id <= 4) m, dg_synth s
      WHERE s.id <= 4) t;
-- below 3 rows no p value at all (R: 1, with a warning)
SELECT (d).statistic, (d).p_value IS NULL AS p_null, (d).n, (d).exact
FROM (SELECT linreg_dwtest(m.model, s.y, ARRAY[s.x1], s.id ORDER BY s.id) AS d
      FROM (SELECT linreg_fit(y, ARRAY[x1]) AS model FROM dg_synth WHERE id <= 2) m, dg_synth s
      WHERE s.id <= 2) t;
-- no residual degrees of freedom (n = rank): every residual 0, no statistic
-- (R: NaN), no p value
SELECT (d).statistic IS NULL AS statistic_null, (d).p_value IS NULL AS p_null, (d).n, (d).exact
FROM (SELECT linreg_dwtest(m.model, s.y, ARRAY[s.x1, s.x2], s.id ORDER BY s.id) AS d
      FROM (SELECT linreg_fit(y, ARRAY[x1, x2]) AS model FROM dg_synth WHERE id <= 3) m, dg_synth s
      WHERE s.id <= 3) t;
-- weighted Breusch-Pagan: a negative weight, a NULL weight (the row skipped), NULL studentize
SELECT linreg_bptest(f.model, s.y, dg_row_x(f.fit, s), true, CASE WHEN s.id = 3 THEN -1 ELSE s.w END)
FROM dg_fit f, dg_synth s WHERE f.fit = 'B' GROUP BY f.fit;
SELECT (linreg_bptest(f.model, s.y, dg_row_x(f.fit, s), true, CASE WHEN s.id = 3 THEN NULL ELSE s.w END)).statistic
     = (linreg_bptest(f.model, s.y, dg_row_x(f.fit, s), true, CASE WHEN s.id = 3 THEN 0 ELSE s.w END)).statistic
       AS null_weight_skipped
FROM dg_fit f, dg_synth s WHERE f.fit = 'B' GROUP BY f.fit;
SELECT linreg_white_test(f.model, s.y, dg_row_x(f.fit, s), NULL, s.w) FROM dg_fit f, dg_synth s
WHERE f.fit = 'B' GROUP BY f.fit;
-- exact must not change between rows
SELECT linreg_dwtest(f.model, s.y, dg_row_x(f.fit, s), s.id, s.id > 30 ORDER BY s.id)
FROM dg_fit f, dg_synth s WHERE f.fit = 'A' GROUP BY f.fit;
-- one regressor without intercept: no auxiliary regression (as bptest)
SELECT linreg_bptest(m.model, s.y, ARRAY[s.x1])
FROM (SELECT linreg_fit_noint(y, ARRAY[x1]) AS model FROM dg_synth) m, dg_synth s;
-- an intercept alone: no auxiliary regression either
SELECT linreg_bptest(m.model, s.y, ARRAY[]::float8[])
FROM (SELECT linreg_fit(y, ARRAY[]::float8[]) AS model FROM dg_synth) m, dg_synth s;
-- one model per aggregate: another model on a later row is an error
SELECT linreg_dwtest(CASE WHEN s.id < 30 THEN a.model ELSE c.model END, s.y, ARRAY[s.x1, s.x2, s.g], s.id ORDER BY s.id)
FROM dg_synth s, (SELECT model FROM dg_fit WHERE fit = 'A') a, (SELECT model FROM dg_fit WHERE fit = 'C') c;
SELECT linreg_robust_se(CASE WHEN s.id < 30 THEN a.model ELSE c.model END, s.y, ARRAY[s.x1, s.x2, s.g], 'HC0')
FROM dg_synth s, (SELECT model FROM dg_fit WHERE fit = 'A') a, (SELECT model FROM dg_fit WHERE fit = 'C') c;
SELECT linreg_bptest(m.model, s.y, ARRAY[s.x1, s.x2, s.g], NULL) FROM dg_fit m, dg_synth s WHERE m.fit = 'A';
-- a weighted model needs each row's weight
SELECT linreg_influence(model, 1, ARRAY[1, 2, 3]) FROM dg_fit WHERE fit = 'B';
-- wrong feature counts
SELECT linreg_influence(model, 1, ARRAY[1, 2]) FROM dg_fit WHERE fit = 'A';
SELECT linreg_bptest(f.model, s.y, ARRAY[s.x1]) FROM dg_fit f, dg_synth s WHERE f.fit = 'A' GROUP BY f.fit;
