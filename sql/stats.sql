--
-- Inference statistics: linreg_summary, linreg_stats, linreg_vcov,
-- linreg_names / linreg_set_names, linreg_predict_interval and the robust
-- (HC0..HC3) standard errors of linreg_robust_se.
--
-- 1. NIST StRD (test/data/nist/): coefficient standard deviations, residual
--    standard deviation and R^2 of all eleven datasets within 1.0 of the
--    ceilings of test/data/nist/CEILING.md; the certified ANOVA sums of
--    squares and F within 1.0 of their ceilings (the exact least-squares
--    ANOVA of the same float8 data, computed by
--    test/data/stats/make_reference.py into ref_nist_anova.csv).
-- 2. Everything else against R 4.2 (lm, summary.lm, confint, vcov, logLik,
--    AIC, BIC, predict.lm, sandwich::vcovHC) on test/data/stats/synth.csv:
--    reference values in test/data/stats/ref_*.csv, computed by
--    test/data/stats/make_reference.R and checked there against exact
--    rational / 50-digit arithmetic (make_reference.py: agreement 1e-13).
--    Every figure must agree to 1e-10 relative; only booleans are printed.
-- 3. NULL where R gives NA or NaN; errors on bad input.
--

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;

-- est agrees with ref to tol relative; both NULL also agree.
CREATE FUNCTION st_ok(est float8, ref float8, tol float8 DEFAULT 1e-10) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN ref IS NULL THEN est IS NULL
                WHEN est IS NULL THEN false
                WHEN est = ref THEN true
                ELSE abs(est - ref) <= tol * abs(ref) END
$$;

-------------------------------------------------------------------------------
-- Part 1: NIST StRD
-------------------------------------------------------------------------------
CREATE TABLE st_norris   (y float8, x float8);
CREATE TABLE st_pontius  (y float8, x float8);
CREATE TABLE st_noint1   (y float8, x float8);
CREATE TABLE st_noint2   (y float8, x float8);
CREATE TABLE st_filip    (y float8, x float8);
CREATE TABLE st_longley  (y float8, x1 float8, x2 float8, x3 float8,
                          x4 float8, x5 float8, x6 float8);
CREATE TABLE st_wampler1 (y float8, x float8);
CREATE TABLE st_wampler2 (y float8, x float8);
CREATE TABLE st_wampler3 (y float8, x float8);
CREATE TABLE st_wampler4 (y float8, x float8);
CREATE TABLE st_wampler5 (y float8, x float8);

\copy st_norris   FROM 'test/data/nist/Norris.csv'   WITH (FORMAT csv, HEADER)
\copy st_pontius  FROM 'test/data/nist/Pontius.csv'  WITH (FORMAT csv, HEADER)
\copy st_noint1   FROM 'test/data/nist/NoInt1.csv'   WITH (FORMAT csv, HEADER)
\copy st_noint2   FROM 'test/data/nist/NoInt2.csv'   WITH (FORMAT csv, HEADER)
\copy st_filip    FROM 'test/data/nist/Filip.csv'    WITH (FORMAT csv, HEADER)
\copy st_longley  FROM 'test/data/nist/Longley.csv'  WITH (FORMAT csv, HEADER)
\copy st_wampler1 FROM 'test/data/nist/Wampler1.csv' WITH (FORMAT csv, HEADER)
\copy st_wampler2 FROM 'test/data/nist/Wampler2.csv' WITH (FORMAT csv, HEADER)
\copy st_wampler3 FROM 'test/data/nist/Wampler3.csv' WITH (FORMAT csv, HEADER)
\copy st_wampler4 FROM 'test/data/nist/Wampler4.csv' WITH (FORMAT csv, HEADER)
\copy st_wampler5 FROM 'test/data/nist/Wampler5.csv' WITH (FORMAT csv, HEADER)

-- Certified values: the .cert files verbatim, then parsed.
CREATE TABLE st_cert_line (dataset text, line text);
CREATE TABLE st_cert_stage (line text);
\copy st_cert_stage FROM 'test/data/nist/Norris.cert'
INSERT INTO st_cert_line SELECT 'Norris', line FROM st_cert_stage;
TRUNCATE st_cert_stage;
\copy st_cert_stage FROM 'test/data/nist/Pontius.cert'
INSERT INTO st_cert_line SELECT 'Pontius', line FROM st_cert_stage;
TRUNCATE st_cert_stage;
\copy st_cert_stage FROM 'test/data/nist/NoInt1.cert'
INSERT INTO st_cert_line SELECT 'NoInt1', line FROM st_cert_stage;
TRUNCATE st_cert_stage;
\copy st_cert_stage FROM 'test/data/nist/NoInt2.cert'
INSERT INTO st_cert_line SELECT 'NoInt2', line FROM st_cert_stage;
TRUNCATE st_cert_stage;
\copy st_cert_stage FROM 'test/data/nist/Filip.cert'
INSERT INTO st_cert_line SELECT 'Filip', line FROM st_cert_stage;
TRUNCATE st_cert_stage;
\copy st_cert_stage FROM 'test/data/nist/Longley.cert'
INSERT INTO st_cert_line SELECT 'Longley', line FROM st_cert_stage;
TRUNCATE st_cert_stage;
\copy st_cert_stage FROM 'test/data/nist/Wampler1.cert'
INSERT INTO st_cert_line SELECT 'Wampler1', line FROM st_cert_stage;
TRUNCATE st_cert_stage;
\copy st_cert_stage FROM 'test/data/nist/Wampler2.cert'
INSERT INTO st_cert_line SELECT 'Wampler2', line FROM st_cert_stage;
TRUNCATE st_cert_stage;
\copy st_cert_stage FROM 'test/data/nist/Wampler3.cert'
INSERT INTO st_cert_line SELECT 'Wampler3', line FROM st_cert_stage;
TRUNCATE st_cert_stage;
\copy st_cert_stage FROM 'test/data/nist/Wampler4.cert'
INSERT INTO st_cert_line SELECT 'Wampler4', line FROM st_cert_stage;
TRUNCATE st_cert_stage;
\copy st_cert_stage FROM 'test/data/nist/Wampler5.cert'
INSERT INTO st_cert_line SELECT 'Wampler5', line FROM st_cert_stage;
DROP TABLE st_cert_stage;

-- "Bk value sd": certified standard deviation of parameter k (B0 = intercept).
CREATE TABLE st_cert_sd AS
SELECT dataset, substr(t[1], 2)::int AS k, t[3]::numeric AS cert
FROM (SELECT dataset, regexp_split_to_array(btrim(line), '\s+') AS t
      FROM st_cert_line WHERE line ~ '^B[0-9]+ ') s;

-- residual_sd, r_squared and the ANOVA lines.  F is text: Wampler1 and
-- Wampler2 certify F=Infinity (a perfect fit).
CREATE TABLE st_cert AS
SELECT dataset,
       (SELECT substring(line FROM '^residual_sd (\S+)')::numeric FROM st_cert_line l
        WHERE l.dataset = d.dataset AND line ~ '^residual_sd ') AS residual_sd,
       (SELECT substring(line FROM '^r_squared (\S+)')::numeric FROM st_cert_line l
        WHERE l.dataset = d.dataset AND line ~ '^r_squared ') AS r_squared,
       (SELECT substring(line FROM ' ss=(\S+)')::numeric FROM st_cert_line l
        WHERE l.dataset = d.dataset AND line ~ '^anova_regression ') AS reg_ss,
       (SELECT substring(line FROM ' ss=(\S+)')::numeric FROM st_cert_line l
        WHERE l.dataset = d.dataset AND line ~ '^anova_residual ') AS res_ss,
       (SELECT substring(line FROM ' F=(\S+)') FROM st_cert_line l
        WHERE l.dataset = d.dataset AND line ~ '^anova_regression ') AS f_text
FROM (SELECT DISTINCT dataset FROM st_cert_line) d;

-- Ceilings.  coef SD, residual SD and R^2 copied from CEILING.md; the ANOVA
-- ones computed by make_reference.py (which also recomputes the CEILING.md
-- columns: the check below shows they agree).
CREATE TABLE st_ceiling (ord int, dataset text PRIMARY KEY, sd numeric,
                         residual_sd numeric, r_squared numeric);
INSERT INTO st_ceiling VALUES
    (1, 'Norris', 13.9, 14.0, 15.0), (2, 'Pontius', 13.8, 13.8, 15.0),
    (3, 'NoInt1', 15.0, 15.0, 15.0), (4, 'NoInt2', 14.9, 15.0, 15.0),
    (5, 'Filip', 7.6, 9.6, 11.8), (6, 'Longley', 14.9, 15.0, 15.0),
    (7, 'Wampler1', 15.0, 15.0, 15.0), (8, 'Wampler2', 15.0, 15.0, 15.0),
    (9, 'Wampler3', 14.5, 14.8, 15.0), (10, 'Wampler4', 14.5, 14.8, 15.0),
    (11, 'Wampler5', 14.5, 14.8, 15.0);
CREATE TABLE st_anova_ceiling (dataset text PRIMARY KEY, sd numeric, residual_sd numeric,
                               r_squared numeric, reg_ss numeric, res_ss numeric, f text,
                               reg_ss_f8 numeric);
\copy st_anova_ceiling FROM 'test/data/stats/ref_nist_anova.csv' WITH (FORMAT csv, HEADER)

SELECT count(*) AS datasets,
       bool_and(a.sd = c.sd AND a.residual_sd = c.residual_sd
                AND a.r_squared = c.r_squared) AS ceilings_agree_with_ceiling_md
FROM st_ceiling c JOIN st_anova_ceiling a USING (dataset);

-- What was parsed.
SELECT c.dataset, (SELECT count(*) FROM st_cert_sd s WHERE s.dataset = c.dataset) AS sds,
       c.residual_sd IS NOT NULL AS has_rsd, c.r_squared IS NOT NULL AS has_r2,
       c.reg_ss IS NOT NULL AS has_reg_ss, c.res_ss IS NOT NULL AS has_res_ss, c.f_text
FROM st_cert c JOIN st_ceiling z USING (dataset) ORDER BY z.ord;

-- LRE in numeric, from the exact binary value of a float8 (as sql/nist.sql).
CREATE FUNCTION st_exact(v float8) RETURNS numeric
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

-- LRE of an exact (numeric) estimate; NULL estimate -> NULL (fails).
CREATE FUNCTION st_lre_n(est numeric, cert numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN est IS NULL THEN NULL
        WHEN est = cert THEN 15
        WHEN cert = 0 THEN least(15, -log(abs(est)))
        ELSE least(15, -log(abs(est - cert) / abs(cert)))
    END
$$;

CREATE FUNCTION st_lre(est float8, cert numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN est IS NULL OR est = 'NaN'::float8 OR abs(est) = 'Infinity'::float8 THEN NULL
        ELSE st_lre_n(st_exact(est), cert)
    END
$$;

CREATE TABLE st_nist_fit (dataset text PRIMARY KEY, intercept bool, model linreg);
INSERT INTO st_nist_fit SELECT 'Norris', true, linreg_fit(y, ARRAY[x]) FROM st_norris;
INSERT INTO st_nist_fit SELECT 'Pontius', true, linreg_fit(y, ARRAY[x, x^2]) FROM st_pontius;
INSERT INTO st_nist_fit SELECT 'NoInt1', false, linreg_fit_noint(y, ARRAY[x]) FROM st_noint1;
INSERT INTO st_nist_fit SELECT 'NoInt2', false, linreg_fit_noint(y, ARRAY[x]) FROM st_noint2;
INSERT INTO st_nist_fit SELECT 'Filip', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5, x^6, x^7, x^8, x^9, x^10]) FROM st_filip;
INSERT INTO st_nist_fit SELECT 'Longley', true,
    linreg_fit(y, ARRAY[x1, x2, x3, x4, x5, x6]) FROM st_longley;
INSERT INTO st_nist_fit SELECT 'Wampler1', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5]) FROM st_wampler1;
INSERT INTO st_nist_fit SELECT 'Wampler2', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5]) FROM st_wampler2;
INSERT INTO st_nist_fit SELECT 'Wampler3', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5]) FROM st_wampler3;
INSERT INTO st_nist_fit SELECT 'Wampler4', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5]) FROM st_wampler4;
INSERT INTO st_nist_fit SELECT 'Wampler5', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5]) FROM st_wampler5;

-- Standard error of parameter Bk: summary row k+1 with an intercept, k without.
-- (A missing row gives a NULL estimate, which fails.)
CREATE TABLE st_nist_sd AS
SELECT f.dataset, c.k, c.cert, s.std_error AS est
FROM st_nist_fit f
JOIN st_cert_sd c USING (dataset)
LEFT JOIN LATERAL (SELECT std_error FROM linreg_summary(f.model) WITH ORDINALITY s
                   WHERE s.ordinality = CASE WHEN f.intercept THEN c.k + 1 ELSE c.k END) s
     ON true;

CREATE TABLE st_nist_stats AS
SELECT f.dataset, (linreg_stats(f.model)).* FROM st_nist_fit f;

-- The LREs (kept, not printed: the report quotes them).
CREATE TABLE st_nist_lre AS
SELECT c.dataset,
       (SELECT min(st_lre(est, cert)) FROM st_nist_sd s WHERE s.dataset = c.dataset) AS sd,
       (SELECT count(st_lre(est, cert)) = count(*) FROM st_nist_sd s
        WHERE s.dataset = c.dataset) AS sd_all,
       st_lre(s.sigma, c.residual_sd) AS residual_sd,
       st_lre(s.r_squared, c.r_squared) AS r_squared,
       st_lre_n(st_exact(s.tss) - st_exact(s.rss), c.reg_ss) AS reg_ss,
       st_lre(s.rss, c.res_ss) AS res_ss,
       CASE WHEN c.f_text = 'Infinity' THEN NULL
            ELSE st_lre(s.f_statistic, c.f_text::numeric) END AS f,
       s.f_statistic AS f_est, c.f_text
FROM st_cert c JOIN st_nist_stats s USING (dataset);

-- Coefficient SDs, residual SD and R^2: within 1.0 of the CEILING.md ceilings.
SELECT l.dataset,
       l.sd_all AND l.sd >= z.sd - 1.0 AS sd_ok,
       l.residual_sd >= z.residual_sd - 1.0 AS residual_sd_ok,
       l.r_squared >= z.r_squared - 1.0 AS r_squared_ok
FROM st_nist_lre l JOIN st_ceiling z USING (dataset)
ORDER BY z.ord;

-- ANOVA: regression SS, residual SS and F within 1.0 of their ceilings; a
-- certified F = Infinity (perfect fit) must come out infinite or above 1e15.
-- The regression SS is tss - rss (exact in numeric): its ceiling is the one
-- of the float8 roundings of the exact TSS and RSS (reg_ss_f8; only
-- Wampler5 differs from the exact ANOVA: 13.8 instead of 14.8, as the
-- rounding of its TSS ~ 8.4e15 is 2.7e-14 of its regression SS).
SELECT l.dataset,
       l.reg_ss >= a.reg_ss_f8 - 1.0 AS reg_ss_ok,
       l.res_ss >= a.res_ss - 1.0 AS res_ss_ok,
       CASE WHEN l.f_text = 'Infinity' THEN l.f_est >= 1e15
            ELSE l.f >= a.f::numeric - 1.0 END AS f_ok
FROM st_nist_lre l JOIN st_anova_ceiling a USING (dataset) JOIN st_ceiling z USING (dataset)
ORDER BY z.ord;

-- Counts and degrees of freedom as NIST's ANOVA.
SELECT f.dataset, s.n, s.df_resid, s.f_df1, s.f_df2
FROM st_nist_fit f JOIN st_nist_stats s USING (dataset) JOIN st_ceiling z USING (dataset)
ORDER BY z.ord;

DROP TABLE st_nist_lre, st_nist_stats, st_nist_sd, st_nist_fit, st_cert, st_cert_sd,
    st_cert_line, st_ceiling, st_anova_ceiling, st_norris, st_pontius, st_noint1,
    st_noint2, st_filip, st_longley, st_wampler1, st_wampler2, st_wampler3,
    st_wampler4, st_wampler5;
DROP FUNCTION st_lre(float8, numeric), st_lre_n(numeric, numeric), st_exact(float8);

-------------------------------------------------------------------------------
-- Part 2: against R on test/data/stats/synth.csv
--   A  y ~ x1 + x2 + g                     (names set: x1, x2, g)
--   B  y ~ x1 + x2 + g, weights w          (four weights are 0)
--   C  y ~ 0 + x1 + x2 + g                 (no intercept: uncentred R^2)
--   D  y ~ x1 + x2 + xa + g, xa = x1 + x2  (xa aliased; names set)
--   E  y ~ 0 + x1 + x2 + g, weights w
-------------------------------------------------------------------------------
CREATE TABLE st_synth (id int, y float8, x1 float8, x2 float8, g float8, xa float8, w float8);
\copy st_synth FROM 'test/data/stats/synth.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE st_newpoints (pt int, x1 float8, x2 float8, g float8);
\copy st_newpoints FROM 'test/data/stats/newpoints.csv' WITH (FORMAT csv, HEADER)

CREATE TABLE st_ref_summary (fit text, level float8, ord int, term text, estimate float8,
    std_error float8, t_value float8, p_value float8, conf_low float8, conf_high float8);
\copy st_ref_summary FROM 'test/data/stats/ref_summary.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE st_ref_stats (fit text, n bigint, df_resid float8, sigma float8, r_squared float8,
    adj_r_squared float8, f_statistic float8, f_df1 float8, f_df2 float8, f_p_value float8,
    log_lik float8, aic float8, bic float8, rss float8, tss float8, rank int);
\copy st_ref_stats FROM 'test/data/stats/ref_stats.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE st_ref_vcov (fit text, i int, j int, value float8);
\copy st_ref_vcov FROM 'test/data/stats/ref_vcov.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE st_ref_predict (fit text, level float8, pt int, fitted float8, se_fit float8,
    conf_low float8, conf_high float8, pred_low float8, pred_high float8);
\copy st_ref_predict FROM 'test/data/stats/ref_predict.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE st_ref_hc (fit text, type text, ord int, term text, se float8);
\copy st_ref_hc FROM 'test/data/stats/ref_hc.csv' WITH (FORMAT csv, HEADER)

SELECT count(*) AS rows, count(*) FILTER (WHERE w = 0) AS zero_weights FROM st_synth;
SELECT fit, count(*) AS rows FROM st_ref_summary GROUP BY fit ORDER BY fit;

CREATE TABLE st_model (fit text PRIMARY KEY, model linreg);
INSERT INTO st_model
SELECT 'A', linreg_set_names(linreg_fit(y, ARRAY[x1, x2, g]), ARRAY['x1', 'x2', 'g']) FROM st_synth
UNION ALL
SELECT 'B', linreg_fit(y, ARRAY[x1, x2, g], w) FROM st_synth
UNION ALL
SELECT 'C', linreg_fit_noint(y, ARRAY[x1, x2, g]) FROM st_synth
UNION ALL
SELECT 'D', linreg_set_names(linreg_fit(y, ARRAY[x1, x2, xa, g]), ARRAY['x1', 'x2', 'xa', 'g'])
FROM st_synth
UNION ALL
SELECT 'E', linreg_fit_noint(y, ARRAY[x1, x2, g], w) FROM st_synth;

-- Names: set on A and D; x1..xp otherwise; NULL removes them.
SELECT fit, linreg_names(model), linreg_rank(model) FROM st_model ORDER BY fit;
SELECT linreg_names(linreg_set_names(model, NULL)) AS removed FROM st_model WHERE fit = 'A';

-- The summary table, term by term: names as R's (g is x3 where no name was
-- set), numbers within 1e-10 of R, NULL for the aliased term xa.
CREATE TABLE st_summary AS
SELECT m.fit, l.level, s.ordinality::int AS ord, s.*
FROM st_model m
CROSS JOIN (VALUES (0.95::float8), (0.9)) l(level)
CROSS JOIN LATERAL linreg_summary(m.model, l.level) WITH ORDINALITY s;

SELECT r.fit, r.level, count(s.term) AS terms,
       bool_and(s.term = CASE WHEN r.fit IN ('A', 'D') OR r.term <> 'g' THEN r.term ELSE 'x3' END) AS term_ok,
       bool_and(st_ok(s.estimate, r.estimate)) AS estimate_ok,
       bool_and(st_ok(s.std_error, r.std_error)) AS se_ok,
       bool_and(st_ok(s.t_value, r.t_value)) AS t_ok,
       bool_and(st_ok(s.p_value, r.p_value)) AS p_ok,
       bool_and(st_ok(s.conf_low, r.conf_low) AND st_ok(s.conf_high, r.conf_high)) AS ci_ok,
       count(*) FILTER (WHERE s.estimate IS NULL) AS null_terms
FROM st_ref_summary r
LEFT JOIN st_summary s USING (fit, level, ord)
GROUP BY r.fit, r.level ORDER BY r.fit, r.level DESC;

-- No extra rows, and the default level is 0.95.
SELECT (SELECT count(*) FROM st_summary) = (SELECT count(*) FROM st_ref_summary) AS same_rows,
       (SELECT array_agg(s ORDER BY ord) FROM (SELECT s.*, s.ordinality AS ord
            FROM st_model m, linreg_summary(m.model) WITH ORDINALITY s WHERE m.fit = 'B') s)
     = (SELECT array_agg(s ORDER BY ord) FROM (SELECT s.*, s.ordinality AS ord
            FROM st_model m, linreg_summary(m.model, 0.95) WITH ORDINALITY s WHERE m.fit = 'B') s)
       AS default_level_095;

-- The aliased row of D, as R prints it.
SELECT term, estimate, std_error, t_value, p_value, conf_low, conf_high
FROM st_summary WHERE fit = 'D' AND level = 0.95 AND ord = 4;

-- Model figures.
CREATE TABLE st_stats AS SELECT m.fit, (linreg_stats(m.model)).* FROM st_model m;
SELECT r.fit, s.n = r.n AS n_ok, s.df_resid = r.df_resid AS df_ok,
       st_ok(s.sigma, r.sigma) AS sigma_ok,
       st_ok(s.r_squared, r.r_squared) AS r2_ok,
       st_ok(s.adj_r_squared, r.adj_r_squared) AS adj_r2_ok,
       st_ok(s.f_statistic, r.f_statistic) AND s.f_df1 = r.f_df1 AND s.f_df2 = r.f_df2 AS f_ok,
       st_ok(s.f_p_value, r.f_p_value) AS f_p_ok,
       st_ok(s.log_lik, r.log_lik) AS loglik_ok,
       st_ok(s.aic, r.aic) AS aic_ok,
       st_ok(s.bic, r.bic) AS bic_ok,
       st_ok(s.rss, r.rss) AND st_ok(s.tss, r.tss) AS ss_ok,
       s.cond = linreg_cond(m.model) AS cond_ok
FROM st_ref_stats r JOIN st_stats s USING (fit) JOIN st_model m USING (fit)
ORDER BY r.fit;

-- Coefficient covariance: R's vcov(), NULL rows and columns for xa.
SELECT r.fit, count(*) AS entries,
       bool_and(st_ok((linreg_vcov(m.model))[r.i][r.j], r.value)) AS vcov_ok,
       count(*) FILTER (WHERE (linreg_vcov(m.model))[r.i][r.j] IS NULL) AS null_entries,
       min(array_length(linreg_vcov(m.model), 1)) = max(r.i)
           AND min(array_length(linreg_vcov(m.model), 2)) = max(r.j) AS dims_ok
FROM st_ref_vcov r JOIN st_model m USING (fit)
GROUP BY r.fit ORDER BY r.fit;

-- Prediction intervals at the new points (new observation weight 1), at
-- levels 0.95 and 0.8; D needs its xa = x1 + x2 too.
CREATE TABLE st_predict AS
SELECT m.fit, l.level, p.pt, i.fit AS fitted, i.se_fit, i.conf_low, i.conf_high,
       i.pred_low, i.pred_high
FROM st_model m
CROSS JOIN (VALUES (0.95::float8), (0.8)) l(level)
CROSS JOIN st_newpoints p
CROSS JOIN LATERAL linreg_predict_interval(m.model,
    CASE WHEN m.fit = 'D' THEN ARRAY[p.x1, p.x2, p.x1 + p.x2, p.g] ELSE ARRAY[p.x1, p.x2, p.g] END,
    l.level) i;
SELECT r.fit, r.level, count(p.fitted) AS points,
       bool_and(st_ok(p.fitted, r.fitted)) AS fit_ok,
       bool_and(st_ok(p.se_fit, r.se_fit)) AS se_fit_ok,
       bool_and(st_ok(p.conf_low, r.conf_low) AND st_ok(p.conf_high, r.conf_high)) AS conf_ok,
       bool_and(st_ok(p.pred_low, r.pred_low) AND st_ok(p.pred_high, r.pred_high)) AS pred_ok
FROM st_ref_predict r LEFT JOIN st_predict p USING (fit, level, pt)
GROUP BY r.fit, r.level ORDER BY r.fit, r.level DESC;

-- The default level is 0.95; the fit agrees with linreg_predict (which sums
-- in float64; the interval's fit is formed centred in double-double).
SELECT (linreg_predict_interval(model, ARRAY[5, 50, 2]))
           = (linreg_predict_interval(model, ARRAY[5, 50, 2], 0.95)) AS default_level_095,
       st_ok((linreg_predict_interval(model, ARRAY[5, 50, 2])).fit,
             linreg_predict(model, ARRAY[5, 50, 2]), 1e-14) AS fit_is_predict
FROM st_model WHERE fit = 'A';

-- Robust standard errors: sandwich::vcovHC.  B's reference is computed on its
-- rows with w > 0 (see make_reference.R); a zero-weight row contributes
-- nothing, so the aggregate over all 60 rows must give the same.
CREATE TABLE st_hc (fit text, type text, rows_used text, se float8[]);
INSERT INTO st_hc
SELECT m.fit, t.type, 'all', linreg_robust_se(m.model, s.y, ARRAY[s.x1, s.x2, s.g], t.type)
FROM st_model m
CROSS JOIN (VALUES ('HC0'), ('HC1'), ('HC2'), ('HC3')) t(type)
CROSS JOIN st_synth s
WHERE m.fit IN ('A', 'C')
GROUP BY m.fit, t.type;
INSERT INTO st_hc
SELECT 'D', t.type, 'all', linreg_robust_se(m.model, s.y, ARRAY[s.x1, s.x2, s.xa, s.g], t.type)
FROM st_model m
CROSS JOIN (VALUES ('HC0'), ('HC1'), ('HC2'), ('HC3')) t(type)
CROSS JOIN st_synth s
WHERE m.fit = 'D'
GROUP BY t.type;
INSERT INTO st_hc
SELECT 'B', t.type, 'all', linreg_robust_se(m.model, s.y, ARRAY[s.x1, s.x2, s.g], s.w, t.type)
FROM st_model m
CROSS JOIN (VALUES ('HC0'), ('HC1'), ('HC2'), ('HC3')) t(type)
CROSS JOIN st_synth s
WHERE m.fit = 'B'
GROUP BY t.type;
INSERT INTO st_hc
SELECT 'B', t.type, 'w>0', linreg_robust_se(m.model, s.y, ARRAY[s.x1, s.x2, s.g], s.w, t.type)
FROM st_model m
CROSS JOIN (VALUES ('HC0'), ('HC1'), ('HC2'), ('HC3')) t(type)
CROSS JOIN st_synth s
WHERE m.fit = 'B' AND s.w > 0
GROUP BY t.type;

SELECT h.fit, h.type, h.rows_used, cardinality(h.se) AS terms,
       bool_and(st_ok(h.se[r.ord], r.se)) AS se_ok,
       count(*) FILTER (WHERE h.se[r.ord] IS NULL) AS null_terms
FROM st_hc h JOIN st_ref_hc r USING (fit, type)
GROUP BY h.fit, h.type, h.rows_used, h.se ORDER BY h.fit, h.rows_used, h.type;

-------------------------------------------------------------------------------
-- Part 3: NULL where R gives NA / NaN
-------------------------------------------------------------------------------
-- No residual degrees of freedom (two rows, two terms): R gives NaN for
-- sigma, the standard errors, t, p, the intervals, adjusted R^2 and F; its
-- logLik is +Inf (RSS = 0), AIC and BIC -Inf.
CREATE TABLE st_df0 AS
SELECT linreg_fit(y, ARRAY[x]) AS model
FROM (VALUES (1.0::float8, 1.0::float8), (3.0, 2.0)) v(y, x);
SELECT n, df_resid, sigma, r_squared, adj_r_squared, f_statistic, f_df1, f_df2, f_p_value,
       log_lik, aic, bic, rss
FROM st_df0, linreg_stats(model);
SELECT term, estimate, std_error, t_value, p_value, conf_low, conf_high
FROM st_df0, linreg_summary(model);
SELECT linreg_vcov(model) FROM st_df0;
SELECT fit, se_fit, conf_low, conf_high, pred_low, pred_high
FROM st_df0, linreg_predict_interval(model, ARRAY[3.0]);

-- No feature left (the only feature is constant, aliased): R reports no F,
-- R^2 = adjusted R^2 = 0, and the intercept's standard error.
CREATE TABLE st_nofeat AS
SELECT linreg_fit(y, ARRAY[x]) AS model
FROM (VALUES (1.0::float8, 2.0::float8), (3.0, 2.0), (4.0, 2.0)) v(y, x);
SELECT linreg_rank(model), s.n, s.df_resid, round(s.sigma::numeric, 12) AS sigma,
       s.r_squared, s.adj_r_squared, s.f_statistic, s.f_p_value
FROM st_nofeat, linreg_stats(model) s;
SELECT term, round(estimate::numeric, 12) AS estimate, round(std_error::numeric, 12) AS std_error
FROM st_nofeat, linreg_summary(model);

-------------------------------------------------------------------------------
-- Bad input
-------------------------------------------------------------------------------
-- level outside (0, 1)
SELECT * FROM linreg_summary((SELECT model FROM st_model WHERE fit = 'A'), 0);
SELECT * FROM linreg_summary((SELECT model FROM st_model WHERE fit = 'A'), 1);
SELECT * FROM linreg_summary((SELECT model FROM st_model WHERE fit = 'A'), 1.5);
SELECT * FROM linreg_summary((SELECT model FROM st_model WHERE fit = 'A'), -0.05);
SELECT * FROM linreg_summary((SELECT model FROM st_model WHERE fit = 'A'), 'NaN');
SELECT * FROM linreg_predict_interval((SELECT model FROM st_model WHERE fit = 'A'), ARRAY[5, 50, 2], 0);
SELECT * FROM linreg_predict_interval((SELECT model FROM st_model WHERE fit = 'A'), ARRAY[5, 50, 2], 1);
SELECT * FROM linreg_predict_interval((SELECT model FROM st_model WHERE fit = 'A'), ARRAY[5, 50, 2], 2);
-- a model applied to arrays of another length
SELECT * FROM linreg_predict_interval((SELECT model FROM st_model WHERE fit = 'A'), ARRAY[5, 50]);
SELECT * FROM linreg_predict_interval((SELECT model FROM st_model WHERE fit = 'A'), ARRAY[5, 50, 2, 1]);
SELECT linreg_robust_se(m.model, s.y, ARRAY[s.x1, s.x2], 'HC0')
FROM st_model m, st_synth s WHERE m.fit = 'A';
SELECT linreg_robust_se(m.model, s.y, ARRAY[s.x1, s.x2, s.g, s.xa], s.w, 'HC1')
FROM st_model m, st_synth s WHERE m.fit = 'B';
-- names of another count
SELECT linreg_set_names(model, ARRAY['a', 'b']) FROM st_model WHERE fit = 'A';
SELECT linreg_set_names(model, ARRAY['a', 'b', 'c', 'd']) FROM st_model WHERE fit = 'A';
-- an unknown HC type
SELECT linreg_robust_se(m.model, s.y, ARRAY[s.x1, s.x2, s.g], 'HC5')
FROM st_model m, st_synth s WHERE m.fit = 'A';
SELECT linreg_robust_se(m.model, s.y, ARRAY[s.x1, s.x2, s.g], 'white')
FROM st_model m, st_synth s WHERE m.fit = 'A';
-- inference on a ridge model
SELECT * FROM linreg_summary(linreg_solve_ridge(
    (SELECT linreg_state(y, ARRAY[x1, x2, g]) FROM st_synth), 0.5));

DROP TABLE st_df0, st_nofeat, st_hc, st_predict, st_stats, st_summary, st_model,
    st_ref_hc, st_ref_predict, st_ref_vcov, st_ref_stats, st_ref_summary,
    st_newpoints, st_synth;
DROP FUNCTION st_ok(float8, float8, float8);
