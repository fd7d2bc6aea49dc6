--
-- NIST StRD linear least squares: coefficient accuracy against the certified
-- values, for all eleven datasets (Norris, Pontius, NoInt1, NoInt2, Filip,
-- Longley, Wampler1..5).
--
-- Data and certified values live in test/data/nist/ (NAME.csv, NAME.cert,
-- copied unchanged from the NIST .dat files; see SOURCES.md there).  Both are
-- loaded client-side with \copy, so the certified values used here are the
-- .cert files themselves, token for token.
--
-- Accuracy is the log relative error LRE = -log10(|est - cert| / |cert|),
-- capped at 15 (15 when est = cert), -log10|est| when cert = 0; the minimum
-- over the parameters of a dataset.  test/data/nist/CEILING.md gives the best
-- LRE reachable from float8 inputs with float8 polynomial columns (exact
-- least squares on the rounded data); each dataset must reach its ceiling
-- minus one digit.  Only the pass/fail booleans are printed, never the LREs
-- themselves, so the expected output does not depend on the last bits.
--

-- The extension may already exist when this runs after the other tests.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flinkml;
RESET client_min_messages;

-------------------------------------------------------------------------------
-- Data
-------------------------------------------------------------------------------
CREATE TABLE nist_norris   (y float8, x float8);
CREATE TABLE nist_pontius  (y float8, x float8);
CREATE TABLE nist_noint1   (y float8, x float8);
CREATE TABLE nist_noint2   (y float8, x float8);
CREATE TABLE nist_filip    (y float8, x float8);
CREATE TABLE nist_longley  (y float8, x1 float8, x2 float8, x3 float8,
                            x4 float8, x5 float8, x6 float8);
CREATE TABLE nist_wampler1 (y float8, x float8);
CREATE TABLE nist_wampler2 (y float8, x float8);
CREATE TABLE nist_wampler3 (y float8, x float8);
CREATE TABLE nist_wampler4 (y float8, x float8);
CREATE TABLE nist_wampler5 (y float8, x float8);

\copy nist_norris   FROM 'test/data/nist/Norris.csv'   WITH (FORMAT csv, HEADER)
\copy nist_pontius  FROM 'test/data/nist/Pontius.csv'  WITH (FORMAT csv, HEADER)
\copy nist_noint1   FROM 'test/data/nist/NoInt1.csv'   WITH (FORMAT csv, HEADER)
\copy nist_noint2   FROM 'test/data/nist/NoInt2.csv'   WITH (FORMAT csv, HEADER)
\copy nist_filip    FROM 'test/data/nist/Filip.csv'    WITH (FORMAT csv, HEADER)
\copy nist_longley  FROM 'test/data/nist/Longley.csv'  WITH (FORMAT csv, HEADER)
\copy nist_wampler1 FROM 'test/data/nist/Wampler1.csv' WITH (FORMAT csv, HEADER)
\copy nist_wampler2 FROM 'test/data/nist/Wampler2.csv' WITH (FORMAT csv, HEADER)
\copy nist_wampler3 FROM 'test/data/nist/Wampler3.csv' WITH (FORMAT csv, HEADER)
\copy nist_wampler4 FROM 'test/data/nist/Wampler4.csv' WITH (FORMAT csv, HEADER)
\copy nist_wampler5 FROM 'test/data/nist/Wampler5.csv' WITH (FORMAT csv, HEADER)

-------------------------------------------------------------------------------
-- Certified values: every .cert line verbatim, then parsed.
-------------------------------------------------------------------------------
CREATE TABLE nist_cert_line (dataset text, line text);
CREATE TABLE nist_cert_stage (line text);

\copy nist_cert_stage FROM 'test/data/nist/Norris.cert'
INSERT INTO nist_cert_line SELECT 'Norris', line FROM nist_cert_stage;
TRUNCATE nist_cert_stage;
\copy nist_cert_stage FROM 'test/data/nist/Pontius.cert'
INSERT INTO nist_cert_line SELECT 'Pontius', line FROM nist_cert_stage;
TRUNCATE nist_cert_stage;
\copy nist_cert_stage FROM 'test/data/nist/NoInt1.cert'
INSERT INTO nist_cert_line SELECT 'NoInt1', line FROM nist_cert_stage;
TRUNCATE nist_cert_stage;
\copy nist_cert_stage FROM 'test/data/nist/NoInt2.cert'
INSERT INTO nist_cert_line SELECT 'NoInt2', line FROM nist_cert_stage;
TRUNCATE nist_cert_stage;
\copy nist_cert_stage FROM 'test/data/nist/Filip.cert'
INSERT INTO nist_cert_line SELECT 'Filip', line FROM nist_cert_stage;
TRUNCATE nist_cert_stage;
\copy nist_cert_stage FROM 'test/data/nist/Longley.cert'
INSERT INTO nist_cert_line SELECT 'Longley', line FROM nist_cert_stage;
TRUNCATE nist_cert_stage;
\copy nist_cert_stage FROM 'test/data/nist/Wampler1.cert'
INSERT INTO nist_cert_line SELECT 'Wampler1', line FROM nist_cert_stage;
TRUNCATE nist_cert_stage;
\copy nist_cert_stage FROM 'test/data/nist/Wampler2.cert'
INSERT INTO nist_cert_line SELECT 'Wampler2', line FROM nist_cert_stage;
TRUNCATE nist_cert_stage;
\copy nist_cert_stage FROM 'test/data/nist/Wampler3.cert'
INSERT INTO nist_cert_line SELECT 'Wampler3', line FROM nist_cert_stage;
TRUNCATE nist_cert_stage;
\copy nist_cert_stage FROM 'test/data/nist/Wampler4.cert'
INSERT INTO nist_cert_line SELECT 'Wampler4', line FROM nist_cert_stage;
TRUNCATE nist_cert_stage;
\copy nist_cert_stage FROM 'test/data/nist/Wampler5.cert'
INSERT INTO nist_cert_line SELECT 'Wampler5', line FROM nist_cert_stage;
DROP TABLE nist_cert_stage;

-- "Bk value sd" lines: parameter k (B0 = intercept), certified value as
-- numeric, parsed from the verbatim token (e.g. -0.670191154593408E-01).
CREATE TABLE nist_cert AS
SELECT dataset,
       substr(t[1], 2)::int AS k,
       t[2] AS cert_text,
       t[2]::numeric AS cert
FROM (SELECT dataset, regexp_split_to_array(btrim(line), '\s+') AS t
      FROM nist_cert_line WHERE line ~ '^B[0-9]+ ') s;

-- Observation counts from the "# n N" header lines.
CREATE TABLE nist_cert_n AS
SELECT dataset, substring(line FROM '^# n ([0-9]+)$')::bigint AS n
FROM nist_cert_line WHERE line ~ '^# n [0-9]+$';

-- The ceiling coefficient LRE per dataset, copied from CEILING.md ("coef").
CREATE TABLE nist_ceiling (ord int, dataset text PRIMARY KEY, ceiling numeric);
INSERT INTO nist_ceiling VALUES
    (1, 'Norris', 14.1), (2, 'Pontius', 13.5), (3, 'NoInt1', 14.7),
    (4, 'NoInt2', 15.0), (5, 'Filip', 7.6), (6, 'Longley', 14.6),
    (7, 'Wampler1', 15.0), (8, 'Wampler2', 13.2), (9, 'Wampler3', 15.0),
    (10, 'Wampler4', 15.0), (11, 'Wampler5', 15.0);

-- What was parsed: parameters, their indices and the observation counts.
SELECT c.dataset, count(*) AS params, min(k) AS first_k, max(k) AS last_k,
       (SELECT n FROM nist_cert_n WHERE dataset = c.dataset) AS n
FROM nist_cert c JOIN nist_ceiling USING (dataset)
GROUP BY c.dataset, ord ORDER BY ord;

-------------------------------------------------------------------------------
-- LRE of one estimate, in numeric.  The float8 estimate is converted to
-- numeric exactly, from its bits: mantissa * 2^e, and 2^-k = 5^k * 1e-k
-- (numeric power() of an integer is exact, and so is numeric *).  Not
-- float8::numeric, which rounds to 15 significant digits and would make an
-- estimate one ulp off the certified value look exact.  The difference to
-- the certified value is then exact too.  NULL (aliased), NaN or infinite
-- estimates give a NULL LRE, which fails the count check below.  (1e-k is
-- numeric input, so |est| must exceed about 1e-285: no coefficient is near.)
-------------------------------------------------------------------------------
CREATE FUNCTION nist_exact(v float8) RETURNS numeric
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

CREATE FUNCTION nist_lre(est float8, cert numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN est IS NULL OR est = 'NaN'::float8 OR abs(est) = 'Infinity'::float8
            THEN NULL
        WHEN nist_exact(est) = cert THEN 15
        WHEN cert = 0 THEN least(15, -log(abs(nist_exact(est))))
        ELSE least(15, -log(abs(nist_exact(est) - cert) / abs(cert)))
    END
$$;

-- The conversion is exact: powers of two and ulp-sized steps round-trip.
SELECT nist_exact(0.1::float8) = 0.1000000000000000055511151231257827021181583404541015625 AS tenth,
       nist_exact(-1.5::float8) = -1.5 AS neg,
       nist_exact(2::float8^70) = 1180591620717411303424 AS big,
       nist_exact(1 + 2::float8 ^ (-52)) - 1 = power(5::numeric, 52) * 1e-52 AS ulp,
       nist_exact(0::float8) = 0 AS zero;

-------------------------------------------------------------------------------
-- Fits, from float8 columns; polynomial terms with float8 ^ (pow), as assumed
-- by CEILING.md.
-------------------------------------------------------------------------------
CREATE TABLE nist_fit (dataset text, how text, intercept bool, model linreg);

INSERT INTO nist_fit SELECT 'Norris', 'fit', true, linreg_fit(y, ARRAY[x]) FROM nist_norris;
INSERT INTO nist_fit SELECT 'Pontius', 'fit', true, linreg_fit(y, ARRAY[x, x^2]) FROM nist_pontius;
INSERT INTO nist_fit SELECT 'NoInt1', 'fit', false, linreg_fit_noint(y, ARRAY[x]) FROM nist_noint1;
INSERT INTO nist_fit SELECT 'NoInt2', 'fit', false, linreg_fit_noint(y, ARRAY[x]) FROM nist_noint2;
INSERT INTO nist_fit SELECT 'Filip', 'fit', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5, x^6, x^7, x^8, x^9, x^10]) FROM nist_filip;
INSERT INTO nist_fit SELECT 'Longley', 'fit', true,
    linreg_fit(y, ARRAY[x1, x2, x3, x4, x5, x6]) FROM nist_longley;
INSERT INTO nist_fit SELECT 'Wampler1', 'fit', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5]) FROM nist_wampler1;
INSERT INTO nist_fit SELECT 'Wampler2', 'fit', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5]) FROM nist_wampler2;
INSERT INTO nist_fit SELECT 'Wampler3', 'fit', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5]) FROM nist_wampler3;
INSERT INTO nist_fit SELECT 'Wampler4', 'fit', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5]) FROM nist_wampler4;
INSERT INTO nist_fit SELECT 'Wampler5', 'fit', true,
    linreg_fit(y, ARRAY[x, x^2, x^3, x^4, x^5]) FROM nist_wampler5;

-- Longley again: features as separate arguments ...
INSERT INTO nist_fit SELECT 'Longley', 'fit_cols', true,
    linreg_fit_cols(y, x1, x2, x3, x4, x5, x6) FROM nist_longley;
-- ... and the states of two halves (1947-1954, 1955-1962) merged, then solved.
INSERT INTO nist_fit SELECT 'Longley', 'merge', true, linreg_solve(linreg_merge(s))
FROM (SELECT linreg_state(y, ARRAY[x1, x2, x3, x4, x5, x6]) AS s
      FROM nist_longley GROUP BY x6 < 1955) halves;

-- Coefficient k of a model: B0 is the intercept (array element 1); without
-- an intercept the array starts at B1.
CREATE VIEW nist_est AS
SELECT f.dataset, f.how, c.k, c.cert,
       (linreg_coefficients(f.model))[CASE WHEN f.intercept THEN c.k + 1 ELSE c.k END] AS est
FROM nist_fit f JOIN nist_cert c USING (dataset);

-------------------------------------------------------------------------------
-- The assertions.  Per dataset and fit:
--   coef_ok:   every certified parameter has an estimate, and the minimum LRE
--              over them is at least the ceiling minus 1;
--   full_rank: rank = number of certified parameters (nothing aliased; Filip
--              keeps all eleven terms), and exactly that many coefficients;
--   all_rows:  the model saw all n observations, none skipped.
-------------------------------------------------------------------------------
SELECT e.dataset, e.how, z.ceiling - 1.0 AS threshold,
       count(nist_lre(e.est, e.cert)) = count(*)
           AND min(nist_lre(e.est, e.cert)) >= z.ceiling - 1.0 AS coef_ok,
       bool_and(linreg_rank(f.model) = p.params
                AND cardinality(linreg_coefficients(f.model)) = p.params) AS full_rank,
       bool_and(linreg_rows(f.model) = cn.n AND linreg_skipped(f.model) = 0) AS all_rows
FROM nist_est e
JOIN nist_fit f USING (dataset, how)
JOIN nist_ceiling z USING (dataset)
JOIN nist_cert_n cn USING (dataset)
JOIN (SELECT dataset, count(*) AS params FROM nist_cert GROUP BY dataset) p USING (dataset)
GROUP BY z.ord, e.dataset, e.how, z.ceiling
ORDER BY z.ord, e.how;

DROP VIEW nist_est;
DROP FUNCTION nist_lre(float8, numeric), nist_exact(float8);
DROP TABLE nist_fit, nist_cert, nist_cert_n, nist_cert_line, nist_ceiling,
    nist_norris, nist_pontius, nist_noint1, nist_noint2, nist_filip,
    nist_longley, nist_wampler1, nist_wampler2, nist_wampler3,
    nist_wampler4, nist_wampler5;
