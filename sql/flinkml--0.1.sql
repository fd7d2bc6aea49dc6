-- flinkml 0.1: the linreg_state and linreg types, the fit and merge
-- aggregates, the solver and linreg_predict.
\echo Use "CREATE EXTENSION flinkml" to load this file. \quit

-------------------------------------------------------------------------------
-- linreg_state: the sufficient statistics of a regression (see src/core/lr_state.h)
-------------------------------------------------------------------------------
CREATE TYPE linreg_state;

CREATE FUNCTION linreg_state_in(cstring) RETURNS linreg_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_state_out(linreg_state) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_state_recv(internal) RETURNS linreg_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_state_send(linreg_state) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE linreg_state (
	INPUT = linreg_state_in,
	OUTPUT = linreg_state_out,
	RECEIVE = linreg_state_recv,
	SEND = linreg_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);

-------------------------------------------------------------------------------
-- linreg: a solved model (coefficients, rank, counts, condition, its state)
-------------------------------------------------------------------------------
CREATE TYPE linreg;

CREATE FUNCTION linreg_in(cstring) RETURNS linreg
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_out(linreg) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_recv(internal) RETURNS linreg
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_send(linreg) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE linreg (
	INPUT = linreg_in,
	OUTPUT = linreg_out,
	RECEIVE = linreg_recv,
	SEND = linreg_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);

-------------------------------------------------------------------------------
-- Aggregate support functions.  Transition functions update the state in
-- place in the aggregate memory context; they are not strict because a row
-- with a NULL is skipped and counted.
-------------------------------------------------------------------------------
CREATE FUNCTION linreg_accum(linreg_state, float8, float8[]) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_accum(linreg_state, float8, float8[], float8) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_accum_w' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_accum_noint(linreg_state, float8, float8[]) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_accum_noint' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_accum_noint(linreg_state, float8, float8[], float8) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_accum_noint_w' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_accum_args(linreg_state, float8, VARIADIC "any") RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_accum_args' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION linreg_accum_inv(linreg_state, float8, float8[]) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_accum_inv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_accum_inv(linreg_state, float8, float8[], float8) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_accum_inv_w' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_accum_noint_inv(linreg_state, float8, float8[]) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_accum_inv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_accum_noint_inv(linreg_state, float8, float8[], float8) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_accum_inv_w' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_accum_args_inv(linreg_state, float8, VARIADIC "any") RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_accum_args_inv' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION linreg_combine(linreg_state, linreg_state) RETURNS linreg_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_uncombine(linreg_state, linreg_state) RETURNS linreg_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_fit_final(linreg_state) RETURNS linreg
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-------------------------------------------------------------------------------
-- Aggregates.  linreg_state* return the state; linreg_fit* solve it.
-- The *_noint forms fit without an intercept (through the origin).
-------------------------------------------------------------------------------
CREATE AGGREGATE linreg_state(y float8, x float8[]) (
	SFUNC = linreg_accum, STYPE = linreg_state,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE,
	MSFUNC = linreg_accum, MINVFUNC = linreg_accum_inv, MSTYPE = linreg_state
);
CREATE AGGREGATE linreg_state(y float8, x float8[], weight float8) (
	SFUNC = linreg_accum, STYPE = linreg_state,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE,
	MSFUNC = linreg_accum, MINVFUNC = linreg_accum_inv, MSTYPE = linreg_state
);
CREATE AGGREGATE linreg_state_noint(y float8, x float8[]) (
	SFUNC = linreg_accum_noint, STYPE = linreg_state,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE,
	MSFUNC = linreg_accum_noint, MINVFUNC = linreg_accum_noint_inv, MSTYPE = linreg_state
);
CREATE AGGREGATE linreg_state_noint(y float8, x float8[], weight float8) (
	SFUNC = linreg_accum_noint, STYPE = linreg_state,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE,
	MSFUNC = linreg_accum_noint, MINVFUNC = linreg_accum_noint_inv, MSTYPE = linreg_state
);
CREATE AGGREGATE linreg_state_cols(y float8, VARIADIC x "any") (
	SFUNC = linreg_accum_args, STYPE = linreg_state,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE,
	MSFUNC = linreg_accum_args, MINVFUNC = linreg_accum_args_inv, MSTYPE = linreg_state
);

CREATE AGGREGATE linreg_fit(y float8, x float8[]) (
	SFUNC = linreg_accum, STYPE = linreg_state,
	FINALFUNC = linreg_fit_final, FINALFUNC_MODIFY = READ_ONLY,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE,
	MSFUNC = linreg_accum, MINVFUNC = linreg_accum_inv, MSTYPE = linreg_state,
	MFINALFUNC = linreg_fit_final, MFINALFUNC_MODIFY = READ_ONLY
);
CREATE AGGREGATE linreg_fit(y float8, x float8[], weight float8) (
	SFUNC = linreg_accum, STYPE = linreg_state,
	FINALFUNC = linreg_fit_final, FINALFUNC_MODIFY = READ_ONLY,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE,
	MSFUNC = linreg_accum, MINVFUNC = linreg_accum_inv, MSTYPE = linreg_state,
	MFINALFUNC = linreg_fit_final, MFINALFUNC_MODIFY = READ_ONLY
);
CREATE AGGREGATE linreg_fit_noint(y float8, x float8[]) (
	SFUNC = linreg_accum_noint, STYPE = linreg_state,
	FINALFUNC = linreg_fit_final, FINALFUNC_MODIFY = READ_ONLY,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE,
	MSFUNC = linreg_accum_noint, MINVFUNC = linreg_accum_noint_inv, MSTYPE = linreg_state,
	MFINALFUNC = linreg_fit_final, MFINALFUNC_MODIFY = READ_ONLY
);
CREATE AGGREGATE linreg_fit_noint(y float8, x float8[], weight float8) (
	SFUNC = linreg_accum_noint, STYPE = linreg_state,
	FINALFUNC = linreg_fit_final, FINALFUNC_MODIFY = READ_ONLY,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE,
	MSFUNC = linreg_accum_noint, MINVFUNC = linreg_accum_noint_inv, MSTYPE = linreg_state,
	MFINALFUNC = linreg_fit_final, MFINALFUNC_MODIFY = READ_ONLY
);
-- Features as separate arguments: linreg_fit_cols(y, x1, x2, ...).  No array
-- is built per row, which is what makes wide fits fast.
CREATE AGGREGATE linreg_fit_cols(y float8, VARIADIC x "any") (
	SFUNC = linreg_accum_args, STYPE = linreg_state,
	FINALFUNC = linreg_fit_final, FINALFUNC_MODIFY = READ_ONLY,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE,
	MSFUNC = linreg_accum_args, MINVFUNC = linreg_accum_args_inv, MSTYPE = linreg_state,
	MFINALFUNC = linreg_fit_final, MFINALFUNC_MODIFY = READ_ONLY
);

-- Merge stored or shipped states: linreg_solve(linreg_merge(s)).
CREATE AGGREGATE linreg_merge(linreg_state) (
	SFUNC = linreg_combine, STYPE = linreg_state,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE,
	MSFUNC = linreg_combine, MINVFUNC = linreg_uncombine, MSTYPE = linreg_state
);

-------------------------------------------------------------------------------
-- Functions on states
-------------------------------------------------------------------------------
CREATE FUNCTION linreg_solve(state linreg_state, tol float8 DEFAULT 1e-20) RETURNS linreg
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_add(a linreg_state, b linreg_state) RETURNS linreg_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_subtract(a linreg_state, b linreg_state) RETURNS linreg_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_rows(state linreg_state) RETURNS bigint
	AS 'MODULE_PATHNAME', 'linreg_state_rows' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_skipped(state linreg_state) RETURNS bigint
	AS 'MODULE_PATHNAME', 'linreg_state_skipped' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_features(state linreg_state) RETURNS integer
	AS 'MODULE_PATHNAME', 'linreg_state_features' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_weight_sum(state linreg_state) RETURNS float8
	AS 'MODULE_PATHNAME', 'linreg_state_weight_sum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR + (LEFTARG = linreg_state, RIGHTARG = linreg_state,
	FUNCTION = linreg_add, COMMUTATOR = +);
CREATE OPERATOR - (LEFTARG = linreg_state, RIGHTARG = linreg_state,
	FUNCTION = linreg_subtract);

-------------------------------------------------------------------------------
-- Functions on models
-------------------------------------------------------------------------------
CREATE FUNCTION linreg_coefficients(model linreg) RETURNS float8[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_intercept(model linreg) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_rank(model linreg) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_rows(model linreg) RETURNS bigint
	AS 'MODULE_PATHNAME', 'linreg_model_rows' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_skipped(model linreg) RETURNS bigint
	AS 'MODULE_PATHNAME', 'linreg_model_skipped' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_features(model linreg) RETURNS integer
	AS 'MODULE_PATHNAME', 'linreg_model_features' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_cond(model linreg) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_state(model linreg) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_model_state' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION linreg_predict(model linreg, x float8[]) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_predict_cols(model linreg, VARIADIC x "any") RETURNS float8
	AS 'MODULE_PATHNAME', 'linreg_predict_args' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-------------------------------------------------------------------------------
-- Inference statistics (what R's summary.lm, vcov, logLik, AIC, BIC report),
-- term names, prediction intervals, ridge
-------------------------------------------------------------------------------
CREATE FUNCTION linreg_set_names(model linreg, names text[]) RETURNS linreg
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_names(model linreg) RETURNS text[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE linreg_fit_stats AS (
	n bigint,				-- rows with positive weight
	df_resid float8,		-- n - rank
	sigma float8,			-- residual standard error
	r_squared float8,		-- uncentred without intercept, as R
	adj_r_squared float8,
	f_statistic float8,
	f_df1 float8,
	f_df2 float8,
	f_p_value float8,
	log_lik float8,			-- R's logLik.lm, weights included
	aic float8,
	bic float8,
	rss float8,				-- weighted residual sum of squares
	tss float8,				-- total sum of squares (centred with intercept)
	cond float8				-- the model's condition number
);
CREATE FUNCTION linreg_stats(model linreg) RETURNS linreg_fit_stats
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_summary(model linreg, level float8 DEFAULT 0.95,
	OUT term text, OUT estimate float8, OUT std_error float8, OUT t_value float8,
	OUT p_value float8, OUT conf_low float8, OUT conf_high float8)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
CREATE FUNCTION linreg_vcov(model linreg) RETURNS float8[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_predict_interval(model linreg, x float8[], level float8 DEFAULT 0.95,
	OUT fit float8, OUT se_fit float8, OUT conf_low float8, OUT conf_high float8,
	OUT pred_low float8, OUT pred_high float8)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION linreg_solve_ridge(state linreg_state, lambda float8) RETURNS linreg
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_ridge_path(state linreg_state, lambdas float8[],
	OUT lambda float8, OUT coefficients float8[])
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-------------------------------------------------------------------------------
-- Evaluation on held-out rows, and the deterministic train/test split
-------------------------------------------------------------------------------
CREATE TYPE linreg_score_result AS (
	n bigint, mse float8, rmse float8, mae float8, r2 float8, skipped bigint
);
CREATE FUNCTION linreg_score_accum(float8[], linreg, float8, float8[]) RETURNS float8[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_score_combine(float8[], float8[]) RETURNS float8[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_score_final(float8[]) RETURNS linreg_score_result
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE linreg_score(model linreg, y float8, x float8[]) (
	SFUNC = linreg_score_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0,0}',
	FINALFUNC = linreg_score_final,
	COMBINEFUNC = linreg_score_combine, PARALLEL = SAFE
);

-- How a model does on the rows of a state, from the state alone (the
-- test-then-train error of a change, src/evaluate.c).
CREATE TYPE linreg_error_stats AS (rows bigint, weight float8, sse float8, mean_y float8, m2_y float8);
CREATE FUNCTION linreg_state_error(state linreg_state, model linreg) RETURNS linreg_error_stats
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_state_sse(state linreg_state, model linreg) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_state_y_moments(state linreg_state) RETURNS linreg_error_stats
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION linreg_in_train(key bigint, fraction float8, seed integer DEFAULT 0) RETURNS boolean
	AS 'MODULE_PATHNAME', 'linreg_in_train' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_in_train(key text, fraction float8, seed integer DEFAULT 0) RETURNS boolean
	AS 'MODULE_PATHNAME', 'linreg_in_train_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-------------------------------------------------------------------------------
-- Cross-validation of ridge models from one scan; robust standard errors
-------------------------------------------------------------------------------
CREATE TYPE linreg_cv_result AS (
	lambdas float8[], cv_mse float8[], best_lambda float8, model linreg
);
-- The running states of linreg_cv and linreg_robust_se are plain types with
-- exact text and binary forms and a combine function: the aggregates run in
-- parallel workers, and Citus can ship their partial states as text.
CREATE TYPE linreg_cv_state;
CREATE FUNCTION linreg_cv_state_in(cstring) RETURNS linreg_cv_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_cv_state_out(linreg_cv_state) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_cv_state_recv(internal) RETURNS linreg_cv_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_cv_state_send(linreg_cv_state) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE linreg_cv_state (
	INPUT = linreg_cv_state_in,
	OUTPUT = linreg_cv_state_out,
	RECEIVE = linreg_cv_state_recv,
	SEND = linreg_cv_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
CREATE FUNCTION linreg_cv_accum(linreg_cv_state, float8, float8[], bigint, integer, float8[]) RETURNS linreg_cv_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_cv_combine(linreg_cv_state, linreg_cv_state) RETURNS linreg_cv_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_cv_final(linreg_cv_state) RETURNS linreg_cv_result
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE linreg_cv(y float8, x float8[], key bigint, folds integer, lambdas float8[]) (
	SFUNC = linreg_cv_accum, STYPE = linreg_cv_state, FINALFUNC = linreg_cv_final,
	COMBINEFUNC = linreg_cv_combine, PARALLEL = SAFE
);

CREATE TYPE linreg_robust_state;
CREATE FUNCTION linreg_robust_state_in(cstring) RETURNS linreg_robust_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_robust_state_out(linreg_robust_state) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_robust_state_recv(internal) RETURNS linreg_robust_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_robust_state_send(linreg_robust_state) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE linreg_robust_state (
	INPUT = linreg_robust_state_in,
	OUTPUT = linreg_robust_state_out,
	RECEIVE = linreg_robust_state_recv,
	SEND = linreg_robust_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
CREATE FUNCTION linreg_robust_accum(linreg_robust_state, linreg, float8, float8[], text) RETURNS linreg_robust_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_robust_accum_w(linreg_robust_state, linreg, float8, float8[], float8, text) RETURNS linreg_robust_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_robust_combine(linreg_robust_state, linreg_robust_state) RETURNS linreg_robust_state
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_robust_final(linreg_robust_state) RETURNS float8[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE linreg_robust_se(model linreg, y float8, x float8[], type text) (
	SFUNC = linreg_robust_accum, STYPE = linreg_robust_state, FINALFUNC = linreg_robust_final,
	COMBINEFUNC = linreg_robust_combine, PARALLEL = SAFE
);
CREATE AGGREGATE linreg_robust_se(model linreg, y float8, x float8[], weight float8, type text) (
	SFUNC = linreg_robust_accum_w, STYPE = linreg_robust_state, FINALFUNC = linreg_robust_final,
	COMBINEFUNC = linreg_robust_combine, PARALLEL = SAFE
);
-------------------------------------------------------------------------------
-- The model registry (schema flinkml): models, their versions, and the
-- pending deltas that triggers and stream followers append.
--
-- Privileges (README, "Security"): a model belongs to its owner role.  Its
-- owner and the owner's members may change it; they and the roles that may
-- read every row of its source table may read it; to anyone else it does
-- not exist.  The source table is held by OID, never by name.  What needs
-- more rights than its caller (creating the triggers, the stream's slot and
-- row, starting a follower, the trigger's own append) goes through C gates
-- in src/privileged.c and src/trigger.c that check the caller, the model's
-- owner and the table by OID, then run fixed, schema-qualified SQL; the
-- functions they run are not executable by PUBLIC.  Followers run as the
-- model's owner.  Every name in this section is schema-qualified.
-------------------------------------------------------------------------------
CREATE SCHEMA flinkml;

CREATE TABLE flinkml.models (
	name text PRIMARY KEY
		CHECK (name OPERATOR(pg_catalog.~) '^[A-Za-z_][A-Za-z0-9_]*$'
		       AND pg_catalog.length(name) OPERATOR(pg_catalog.<=) 48),
	source regclass NOT NULL,					-- the table, by OID (a dump names it)
	target text NOT NULL,
	features text[] NOT NULL,
	weight text,
	intercept boolean NOT NULL DEFAULT true,
	-- attribute numbers of the target, the weight (0: none) and the
	-- features: what triggers and followers read; renames keep them
	attnums int2[] NOT NULL
		CHECK (pg_catalog.cardinality(attnums) OPERATOR(pg_catalog.=) (pg_catalog.cardinality(features) OPERATOR(pg_catalog.+) 2)
		       AND (attnums[1] OPERATOR(pg_catalog.>) 0) AND (attnums[2] OPERATOR(pg_catalog.>=) 0)
		       AND ((weight IS NULL) OPERATOR(pg_catalog.=) (attnums[2] OPERATOR(pg_catalog.=) 0))),
	owner regrole NOT NULL DEFAULT pg_catalog.quote_ident(CURRENT_USER)::pg_catalog.regrole,
	head_version integer NOT NULL DEFAULT 0,	-- the newest version
	active_version integer,						-- the one predictions use
	attached boolean NOT NULL DEFAULT false,	-- triggers installed
	stale text,									-- NULL: exact; else why it is not (a refit is needed)
	stale_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	-- which new version becomes active (flinkml.set_policy): 'always' the
	-- newest, unless an older one is pinned; 'manual' none; 'if_better' the
	-- newest once it beats the active one on the changes that came after it
	policy text NOT NULL DEFAULT 'always'
		CHECK (policy OPERATOR(pg_catalog.=) ANY (ARRAY['always', 'manual', 'if_better'])),
	promote_margin float8 NOT NULL DEFAULT 0.05
		CHECK (promote_margin OPERATOR(pg_catalog.>=) 0 AND promote_margin OPERATOR(pg_catalog.<) 1),
	promote_min_rows bigint NOT NULL DEFAULT 100 CHECK (promote_min_rows OPERATOR(pg_catalog.>) 0),
	-- an event-time window model (create_model's window_length): the rows
	-- whose time column (a timestamptz, followed by attribute number) lies
	-- in (now() - window_length, ...), kept per time bucket of bucket_width
	-- (flinkml.window_buckets); window_since: the oldest bucket kept whole
	time_column text,
	time_attnum int2,
	window_length interval,
	bucket_width interval,
	window_since timestamptz,
	-- categorical features (flinkml._learn_levels): one element per feature,
	-- null for a numeric one, the array of its levels (sorted in the "C"
	-- collation; the first is the reference) for a text, varchar or boolean
	-- one; NULL when every feature is numeric.  Learned at creation, kept.
	levels jsonb
		CHECK (levels IS NULL OR (pg_catalog.jsonb_typeof(levels) OPERATOR(pg_catalog.=) 'array'
		       AND pg_catalog.jsonb_array_length(levels) OPERATOR(pg_catalog.=) pg_catalog.cardinality(features))),
	-- attached to a Citus distributed table: the table (flinkml.shard_...)
	-- that holds its state per shard, co-located with the source; see
	-- flinkml._shard_state_name
	shard_state text,
	CHECK ((time_column IS NULL) OPERATOR(pg_catalog.=) (window_length IS NULL)
	       AND (time_column IS NULL) OPERATOR(pg_catalog.=) (time_attnum IS NULL)
	       AND (time_column IS NULL) OPERATOR(pg_catalog.=) (bucket_width IS NULL))
);

CREATE TABLE flinkml.versions (
	model text NOT NULL REFERENCES flinkml.models (name) ON DELETE CASCADE,
	version integer NOT NULL,
	state @extschema@.linreg_state,		-- NULL: no rows
	fit @extschema@.linreg,				-- NULL: no rows
	made_by text NOT NULL CHECK (made_by OPERATOR(pg_catalog.=) ANY (ARRAY['fit', 'trigger', 'stream', 'manual'])),
	rows bigint NOT NULL DEFAULT 0,
	figures jsonb,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	note text,							-- why it became active, or not (policy if_better)
	PRIMARY KEY (model, version)
);

-- One row per statement (trigger) or transaction (stream): the rows it added
-- and the rows it removed, as two states.  Appending never touches another
-- session's row, so concurrent writers do not wait for each other.
CREATE TABLE flinkml.deltas (
	model text NOT NULL,
	id bigserial,
	added @extschema@.linreg_state,
	removed @extschema@.linreg_state,
	made_by text NOT NULL,
	made_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	-- test-then-train (triggers): the active version (ev_*) and, under policy
	-- if_better, the challenger (ch_*) scored on the added rows, kept in the
	-- delta's own row (no second insert on the writer's path) and moved to
	-- flinkml.evaluation_history when the delta is folded in
	ev_version integer,
	ev_sse float8,
	ch_version integer,
	ch_sse float8,
	-- window models: the time bucket of the rows (one delta per bucket a
	-- statement touched); NULL for the others
	bucket timestamptz
);
CREATE INDEX ON flinkml.deltas (model);

-- Window models: the state of the rows of each time bucket (date_bin of
-- the model's bucket_width from 2000-01-01 UTC), as of the last fill or
-- compaction; pending changes are in flinkml.deltas.  Written only through
-- the gate flinkml._put_buckets and by TRUNCATE's trigger.
CREATE TABLE flinkml.window_buckets (
	model text NOT NULL REFERENCES flinkml.models (name) ON DELETE CASCADE,
	bucket timestamptz NOT NULL,
	state @extschema@.linreg_state NOT NULL,
	PRIMARY KEY (model, bucket)
);

-- Test-then-train: before a change is folded in, the active version is
-- scored on its added rows (per statement for triggers, per transaction for
-- followers), from the change's state: one row per change and version
-- scored.  Followers write here; a trigger's evaluation rides in its delta
-- row and comes here when the delta is folded in (flinkml._delete_deltas).
-- Read flinkml.evaluations, the view of both.
CREATE TABLE flinkml.evaluation_history (
	model text NOT NULL,
	version integer NOT NULL,					-- the active version scored
	made_by text NOT NULL CHECK (made_by OPERATOR(pg_catalog.=) ANY (ARRAY['trigger', 'stream'])),
	change bigint NOT NULL,						-- the change: its delta's id (trigger), its commit LSN (stream)
	at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	rows bigint NOT NULL,						-- rows of the change (with positive weight)
	weight float8 NOT NULL,						-- their weight sum
	sse float8 NOT NULL,						-- sum w (y - prediction)^2
	mean_y float8 NOT NULL,						-- weighted mean of y
	m2_y float8 NOT NULL,						-- sum w (y - mean_y)^2
	-- scored as the challenger (policy if_better: the head, not yet
	-- active), not as the version that predicted at that change
	challenger boolean NOT NULL DEFAULT false
);
CREATE INDEX ON flinkml.evaluation_history (model, at);

SELECT pg_catalog.pg_extension_config_dump('flinkml.models', '');
SELECT pg_catalog.pg_extension_config_dump('flinkml.versions', '');
SELECT pg_catalog.pg_extension_config_dump('flinkml.deltas', '');
SELECT pg_catalog.pg_extension_config_dump('flinkml.deltas_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('flinkml.evaluation_history', '');
SELECT pg_catalog.pg_extension_config_dump('flinkml.window_buckets', '');

-- Who may change a model: its owner and the roles that are members of it.
-- Who may read it: those, and the roles that may read every row of its
-- source table (SELECT on it, no row-level security applying to them), who
-- could fit it themselves: a state holds sums over the table's rows, and a
-- model its means and covariances.  By OID: a dropped table's models are
-- readable by their owners only, and a table made later under the same name
-- gives no one access.  Nothing here can raise for another role's model.
ALTER TABLE flinkml.models ENABLE ROW LEVEL SECURITY;
ALTER TABLE flinkml.versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE flinkml.deltas ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON flinkml.models FOR SELECT
	USING (pg_catalog.pg_has_role(owner, 'MEMBER')
		   OR (pg_catalog.has_table_privilege(source, 'SELECT')
		       AND NOT pg_catalog.row_security_active(source)));
-- a model of one's own, over a table one may read: no model can claim a
-- table its owner cannot read, and be shown to that table's readers
CREATE POLICY create_own ON flinkml.models FOR INSERT
	WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER') AND pg_catalog.has_table_privilege(source, 'SELECT'));
CREATE POLICY change_own ON flinkml.models FOR UPDATE USING (pg_catalog.pg_has_role(owner, 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER'));
CREATE POLICY drop_own ON flinkml.models FOR DELETE USING (pg_catalog.pg_has_role(owner, 'MEMBER'));
CREATE POLICY read ON flinkml.versions FOR SELECT	-- of a model one may read
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) model));
CREATE POLICY write_own ON flinkml.versions FOR ALL
	USING (EXISTS (SELECT 1 FROM flinkml.models m
	               WHERE m.name OPERATOR(pg_catalog.=) model AND pg_catalog.pg_has_role(m.owner, 'MEMBER')));
CREATE POLICY read ON flinkml.deltas FOR SELECT
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) model));
-- writers append through the trigger (src/trigger.c); directly, only the owner
CREATE POLICY append ON flinkml.deltas FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM flinkml.models m
	                    WHERE m.name OPERATOR(pg_catalog.=) model AND pg_catalog.pg_has_role(m.owner, 'MEMBER')));
ALTER TABLE flinkml.window_buckets ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON flinkml.window_buckets FOR SELECT
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) model));
ALTER TABLE flinkml.evaluation_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON flinkml.evaluation_history FOR SELECT
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) model));
-- triggers append as the extension's owner; followers as the model's owner
CREATE POLICY append ON flinkml.evaluation_history FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM flinkml.models m
	                    WHERE m.name OPERATOR(pg_catalog.=) model AND pg_catalog.pg_has_role(m.owner, 'MEMBER')));
CREATE POLICY compact_own ON flinkml.deltas FOR DELETE
	USING (EXISTS (SELECT 1 FROM flinkml.models m
	               WHERE m.name OPERATOR(pg_catalog.=) model AND pg_catalog.pg_has_role(m.owner, 'MEMBER')));
GRANT USAGE ON SCHEMA flinkml TO PUBLIC;
-- a model's definition is set by create_model and the gates: users write
-- only the columns that the registry functions running as them write
-- No table-level UPDATE or DELETE for PUBLIC: with either, LOCK TABLE ...
-- ACCESS EXCLUSIVE is allowed, and row-level security does not apply to
-- locks (one role could stop every writer and every ALTER TABLE).  Deleting
-- deltas and models goes through gates (flinkml._delete_deltas,
-- flinkml._delete_model); column-level UPDATE allows no such lock.
GRANT SELECT ON flinkml.models TO PUBLIC;
GRANT INSERT (name, source, target, features, weight, intercept, attnums, owner, levels,
              time_column, time_attnum, window_length, bucket_width) ON flinkml.models TO PUBLIC;
GRANT UPDATE (owner, head_version, active_version, stale, stale_at, policy, promote_margin, promote_min_rows)
	ON flinkml.models TO PUBLIC;
GRANT SELECT ON flinkml.window_buckets TO PUBLIC;
GRANT UPDATE (note) ON flinkml.versions TO PUBLIC;
GRANT SELECT, INSERT ON flinkml.versions TO PUBLIC;
GRANT SELECT, INSERT ON flinkml.deltas TO PUBLIC;
GRANT SELECT, INSERT ON flinkml.evaluation_history TO PUBLIC;
-- every evaluation: the history and those still in pending deltas
CREATE VIEW flinkml.evaluations WITH (security_invoker = true) AS
	SELECT h.model, h.version, h.made_by, h.change, h.at, h.rows, h.weight, h.sse, h.mean_y, h.m2_y, h.challenger
	FROM flinkml.evaluation_history h
	UNION ALL
	SELECT d.model, e.version, 'trigger', d.id, d.made_at, y.rows, y.weight, e.sse, y.mean_y, y.m2_y, e.challenger
	FROM flinkml.deltas d
	CROSS JOIN LATERAL @extschema@.linreg_state_y_moments(d.added) y
	CROSS JOIN LATERAL (VALUES (d.ev_version, d.ev_sse, false), (d.ch_version, d.ch_sse, true)) e(version, sse, challenger)
	WHERE e.version IS NOT NULL AND y.rows IS NOT NULL;
GRANT SELECT ON flinkml.evaluations TO PUBLIC;
GRANT USAGE ON SEQUENCE flinkml.deltas_id_seq TO PUBLIC;

-- A query over a Citus table carries the models it scores with by name in
-- its plan (src/planner.c): a change of a model's versions or definition
-- replans such cached plans.
CREATE FUNCTION flinkml._invalidate_plans() RETURNS trigger
	AS 'MODULE_PATHNAME', 'flinkml_invalidate_plans' LANGUAGE C;
REVOKE EXECUTE ON FUNCTION flinkml._invalidate_plans() FROM PUBLIC;
CREATE TRIGGER invalidate_plans AFTER UPDATE OR DELETE ON flinkml.models
	FOR EACH STATEMENT EXECUTE FUNCTION flinkml._invalidate_plans();

-- The model row, checked to exist and, with for_change, to be the caller's.
CREATE FUNCTION flinkml._model(model_name text, for_change boolean DEFAULT false)
RETURNS flinkml.models LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
BEGIN
	SELECT * INTO m FROM flinkml.models WHERE name = model_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'flinkml: model "%" does not exist', model_name
			USING ERRCODE = 'undefined_object';
	END IF;
	IF for_change AND NOT pg_has_role(m.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'flinkml: permission denied to change model "%"', model_name
			USING ERRCODE = 'insufficient_privilege',
			      HINT = format('Only its owner %s, or a role granted %s, can change it.', m.owner, m.owner);
	END IF;
	RETURN m;
END $$;

-- Gates (C, src/privileged.c): the caller must be allowed to change the
-- model; then, as the extension's owner, delete the model's deltas (those
-- with the given ids, or all of them) or the model itself.
CREATE FUNCTION flinkml._delete_deltas(model_name text, ids bigint[] DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'flinkml_delete_deltas' LANGUAGE C;
CREATE FUNCTION flinkml._delete_model(model_name text) RETURNS void
	AS 'MODULE_PATHNAME', 'flinkml_delete_model' LANGUAGE C STRICT;

-- The source table, schema-qualified and quoted, for dynamic SQL; an error
-- naming the model when the table was dropped.
CREATE FUNCTION flinkml._source(m flinkml.models) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	src text;
BEGIN
	SELECT format('%I.%I', n.nspname, c.relname) INTO src
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = m.source;
	IF src IS NULL THEN
		RAISE EXCEPTION 'flinkml: the table of model "%" was dropped', m.name
			USING ERRCODE = 'undefined_table',
			      HINT = format('SELECT flinkml.drop_model(%L);', m.name);
	END IF;
	RETURN src;
END $$;

-- Refuse a table whose rows the caller sees only in part: a model over some
-- rows, read by roles that see all of them or kept by triggers that add all
-- of them, would be wrong.
CREATE FUNCTION flinkml._check_readable(rel regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT has_table_privilege(rel, 'SELECT') THEN
		RAISE EXCEPTION 'flinkml: permission denied to read %', rel
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF row_security_active(rel) THEN
		RAISE EXCEPTION 'flinkml: row-level security of % hides rows from role %', rel, current_user
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'A model is fitted over every row of its table; its owner must see them all.';
	END IF;
END $$;

-- The attribute numbers of m's columns by their names (target, weight or 0,
-- features): what a restore from a dump gives when columns had been dropped
-- before (it renumbers them); NULL when a column is missing.
CREATE FUNCTION flinkml._attnums_by_name(m flinkml.models) RETURNS int2[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN count(*) FILTER (WHERE u.c IS NOT NULL AND a.attnum IS NULL) = 0
	            THEN array_agg(coalesce(a.attnum, 0::int2) ORDER BY u.i) END
	FROM unnest(ARRAY[m.target, m.weight] || m.features) WITH ORDINALITY u(c, i)
	LEFT JOIN pg_attribute a ON a.attrelid = m.source AND a.attname = u.c AND a.attnum > 0 AND NOT a.attisdropped
$$;

-- Are the four triggers attach made for m all there and enabled?
CREATE FUNCTION flinkml._triggers_intact(m flinkml.models) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT count(*) = 4 FROM pg_trigger t
	WHERE t.tgrelid = m.source AND t.tgenabled IN ('O', 'A')
	  AND t.tgname IN ('flinkml_' || m.name || '_ins', 'flinkml_' || m.name || '_upd',
	                   'flinkml_' || m.name || '_del', 'flinkml_' || m.name || '_trunc')
$$;

-- A model that no longer matches its table says so, naming why.
CREATE FUNCTION flinkml._check_fresh(m flinkml.models) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF m.stale IS NOT NULL THEN
		RAISE EXCEPTION 'flinkml: model "%" is stale: %', m.name, m.stale
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = format('SELECT flinkml.refit(%L); fits it again over the table as it is now.', m.name);
	END IF;
END $$;

-- Categorical features (src/categorical.c): a text, varchar or boolean
-- column is dummy-coded as R's treatment contrasts do, with the levels
-- learned at creation (flinkml.models.levels).  _dummies(value, levels,
-- model, column, used, full): the k - 1 dummies of a value, k with full
-- (NULLs for a NULL value: the row is skipped); a value that is not a level
-- is an error naming it when the row is used (no other model column NULL),
-- else NULLs.
CREATE FUNCTION flinkml._dummies(value text, levels text[], model text, col text, used boolean, full boolean) RETURNS float8[]
	AS 'MODULE_PATHNAME', 'flinkml_dummies' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- The levels of the categorical features among features (those whose
-- column in source is text, varchar or boolean): the sorted ("C" collation,
-- byte order) distinct values of the rows the fit uses (target, weight and
-- every feature not NULL; R's model.frame drops unused levels likewise), as
-- the jsonb that flinkml.models.levels holds; NULL when every feature is
-- numeric.  A categorical feature needs at least two levels.
CREATE FUNCTION flinkml._learn_levels(source regclass, target text, weight text, features text[]) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cat boolean[];
	q text;
	lv jsonb;
	n integer;
BEGIN
	SELECT array_agg(coalesce(a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bool'::regtype), false) ORDER BY u.i)
	INTO cat
	FROM unnest(features) WITH ORDINALITY u(f, i)
	LEFT JOIN pg_attribute a ON a.attrelid = source AND a.attname = u.f AND a.attnum > 0 AND NOT a.attisdropped;
	IF cardinality(features) = 0 OR NOT true = ANY (cat) THEN
		RETURN NULL;
	END IF;
	SELECT format('SELECT pg_catalog.jsonb_build_array(%s) FROM %s WHERE %s',
	              string_agg(CASE WHEN cat[i] THEN format('pg_catalog.to_jsonb(pg_catalog.array_agg(DISTINCT %1$I::pg_catalog.text COLLATE pg_catalog."C" ORDER BY %1$I::pg_catalog.text COLLATE pg_catalog."C"))', f)
	                              ELSE 'NULL' END, ', ' ORDER BY i),
	              source::text,
	              concat_ws(' AND ', format('%I IS NOT NULL', target),
	                        CASE WHEN weight IS NOT NULL THEN format('%I IS NOT NULL', weight) END,
	                        string_agg(format('%I IS NOT NULL', f), ' AND ' ORDER BY i)))
	INTO q FROM unnest(features) WITH ORDINALITY u(f, i);
	EXECUTE q INTO lv;
	FOR i IN 1 .. cardinality(features) LOOP
		CONTINUE WHEN NOT cat[i];
		n := coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(lv -> (i - 1)) = 'array' THEN lv -> (i - 1) END), 0);
		IF n < 2 THEN
			RAISE EXCEPTION 'flinkml: categorical feature "%" of % has % among the rows the fit uses; it needs at least two',
				features[i], source,
				CASE n WHEN 0 THEN 'no value' ELSE format('one value, %s,', lv -> (i - 1) ->> 0) END
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'The levels of a text, varchar or boolean feature are the distinct values of the rows where no model column is NULL, learned when the model is created.';
		END IF;
	END LOOP;
	RETURN lv;
END $$;

-- The first categorical feature of model m when it has no intercept (it is
-- coded in full, a column per level, as R's lm(y ~ 0 + f) does), else NULL.
CREATE FUNCTION flinkml._full_feature(m flinkml.models) RETURNS integer
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN NOT m.intercept THEN
		(SELECT min(i)::integer FROM generate_series(1, cardinality(m.features)) i
		 WHERE jsonb_typeof(m.levels -> (i - 1)) = 'array') END
$$;

-- The x array expression of model m: ARRAY[...]::float8[] of its numeric
-- features, with each categorical one's dummies (flinkml._dummies) in its
-- place.
CREATE FUNCTION flinkml._feature_exprs(m flinkml.models) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN m.levels IS NULL THEN
		format('ARRAY[%s]::pg_catalog.float8[]',
		       (SELECT coalesce(string_agg(format('%I', f), ', ' ORDER BY i), '') FROM unnest(m.features) WITH ORDINALITY AS u(f, i)))
	ELSE
		(SELECT '(' || string_agg(CASE WHEN jsonb_typeof(m.levels -> (i::integer - 1)) = 'array'
		                                THEN format('flinkml._dummies(%I::pg_catalog.text, %L::pg_catalog.text[], %L, %L, %s, %s)', f,
		                                            (SELECT array_agg(l ORDER BY o) FROM jsonb_array_elements_text(m.levels -> (i::integer - 1)) WITH ORDINALITY e(l, o)),
		                                            m.name, f,
		                                            -- the row is used: no other model column NULL
		                                            (SELECT string_agg(format('%I IS NOT NULL', c), ' AND ')
		                                             FROM unnest(ARRAY[m.target, m.weight] || m.features) c WHERE c IS NOT NULL),
		                                            CASE WHEN i IS NOT DISTINCT FROM flinkml._full_feature(m) THEN 'true' ELSE 'false' END)
		                                ELSE format('ARRAY[%I::pg_catalog.float8]', f) END,
		                           ' OPERATOR(pg_catalog.||) ' ORDER BY i) || ')'
		 FROM unnest(m.features) WITH ORDINALITY AS u(f, i))
	END
$$;

-- The names of model m's columns: its features, each categorical one as
-- its dummies feature=level (the reference level has none, but for the
-- feature coded in full, flinkml._full_feature).
CREATE FUNCTION flinkml._feature_names(m flinkml.models) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN m.levels IS NULL THEN m.features ELSE
		(SELECT coalesce(array_agg(n ORDER BY i, o), '{}')
		 FROM unnest(m.features) WITH ORDINALITY AS u(f, i)
		 CROSS JOIN LATERAL (
			SELECT f || '=' || l, e.o FROM jsonb_array_elements_text(
				CASE WHEN jsonb_typeof(m.levels -> (i::integer - 1)) = 'array' THEN m.levels -> (i::integer - 1) END)
				WITH ORDINALITY e(l, o) WHERE e.o > 1 OR i IS NOT DISTINCT FROM flinkml._full_feature(m)
			UNION ALL
			SELECT f, 1 WHERE jsonb_typeof(m.levels -> (i::integer - 1)) IS DISTINCT FROM 'array') x(n, o))
	END
$$;

-- The aggregate call that folds rows into a state for model m.
CREATE FUNCTION flinkml._state_expr(m flinkml.models) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT format('@extschema@.%s(%I::pg_catalog.float8, %s%s)',
		CASE WHEN m.intercept THEN 'linreg_state' ELSE 'linreg_state_noint' END,
		m.target,
		flinkml._feature_exprs(m),
		CASE WHEN m.weight IS NULL THEN '' ELSE format(', %I::pg_catalog.float8', m.weight) END)
$$;

-- SELECT list that folds rows of relation rel into a state for model m.
CREATE FUNCTION flinkml._state_query(m flinkml.models, rel text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT format('SELECT %s FROM %s', flinkml._state_expr(m), rel)
$$;

-------------------------------------------------------------------------------
-- Event-time windows.  A window model (create_model's window_length and
-- time_column) is over the rows whose time lies in (now() - window_length,
-- ...).  Each row belongs to the time bucket date_bin(bucket_width, time,
-- 2000-01-01 UTC); the triggers write one delta per bucket a statement
-- touched, with the row's own time deciding (an old row's delete lands in
-- its old bucket).  Reading the window sums the buckets entirely inside it
-- (window_buckets and the pending deltas) and scans the table for the rows
-- of the one bucket the window's start cuts (an index on the time column
-- makes that a range scan): exact at any moment, and rows age out without
-- a write.  Compaction folds the deltas into window_buckets and drops the
-- buckets that have left the window.
-------------------------------------------------------------------------------

-- A bucket width in microseconds (what the triggers compute with).
CREATE FUNCTION flinkml._bucket_usec(width interval) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT (extract(epoch FROM width) * 1000000)::bigint
$$;

-- The bucket a time falls in (src/trigger.c computes the same in C).
CREATE FUNCTION flinkml._bucket_of(width interval, t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.date_bin(width, t, '2000-01-01 00:00:00+00'::pg_catalog.timestamptz)
$$;

-- The gate (C, src/privileged.c): the caller must be allowed to change the
-- model; then, as the extension's owner, delete its buckets (all, or those
-- before keep_from), write the given ones (a NULL state deletes a bucket),
-- and record keep_from as the oldest bucket kept whole.
CREATE FUNCTION flinkml._put_buckets(model_name text, clear_all boolean, keep_from timestamptz,
	buckets timestamptz[], states @extschema@.linreg_state[]) RETURNS void
	AS 'MODULE_PATHNAME', 'flinkml_put_buckets' LANGUAGE C;

-- Fill the buckets of a window model from its table (create_model, refit,
-- attach): every bucket from the one the window's start is in.  In the same
-- snapshot, the pending deltas the fill holds are consumed.
CREATE FUNCTION flinkml._window_fill(m flinkml.models, OUT lo timestamptz, OUT ids bigint[],
	OUT bs timestamptz[], OUT ss @extschema@.linreg_state[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	lo := flinkml._bucket_of(m.bucket_width, now() - m.window_length);
	EXECUTE format('SELECT (SELECT pg_catalog.array_agg(d.id) FROM flinkml.deltas d WHERE d.model OPERATOR(pg_catalog.=) $3), '
	               'pg_catalog.array_agg(q.b ORDER BY q.b), pg_catalog.array_agg(q.s ORDER BY q.b) '
	               'FROM (SELECT flinkml._bucket_of($2, %I) AS b, %s AS s FROM %s '
	               'WHERE %I OPERATOR(pg_catalog.>=) $1 GROUP BY 1) q',
	               m.time_column, flinkml._state_expr(m), flinkml._source(m), m.time_column)
	INTO ids, bs, ss USING lo, m.bucket_width, m.name;
END $$;

CREATE FUNCTION flinkml._fill_window(m flinkml.models) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	f record;
BEGIN
	SELECT * INTO f FROM flinkml._window_fill(m);
	PERFORM flinkml._put_buckets(m.name, true, f.lo, f.bs, f.ss);
	IF f.ids IS NOT NULL THEN
		PERFORM flinkml._delete_deltas(m.name, f.ids);
	END IF;
END $$;

-- The state of a window model's rows now: the whole buckets after the one
-- the window's start cuts (kept and pending), and that bucket's rows in
-- the window from the table.  All in the caller's snapshot.
CREATE FUNCTION flinkml._window_state(m flinkml.models) RETURNS @extschema@.linreg_state
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	lo timestamptz := now() - m.window_length;
	b0 timestamptz := flinkml._bucket_of(m.bucket_width, lo);
	src text := flinkml._source(m);
	whole @extschema@.linreg_state;
	edge @extschema@.linreg_state;
	a @extschema@.linreg_state;
	r @extschema@.linreg_state;
BEGIN
	IF row_security_active(m.source) THEN
		RAISE EXCEPTION 'flinkml: row-level security of % hides rows from role %', src, current_user
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'A window model reads the rows at the window''s start from its table: its readers must see them all.';
	END IF;
	IF m.window_since IS NULL OR b0 + m.bucket_width < m.window_since THEN
		-- a window older than the buckets kept (a transaction that began
		-- before the last compaction): from the table
		EXECUTE flinkml._state_query(m, format('%s WHERE %I OPERATOR(pg_catalog.>) $1', src, m.time_column))
		INTO whole USING lo;
		RETURN whole;
	END IF;
	SELECT @extschema@.linreg_merge(b.state) INTO whole
	FROM flinkml.window_buckets b WHERE b.model = m.name AND b.bucket > b0;
	SELECT @extschema@.linreg_merge(d.added), @extschema@.linreg_merge(d.removed) INTO a, r
	FROM flinkml.deltas d WHERE d.model = m.name AND d.bucket > b0;
	EXECUTE flinkml._state_query(m, format('%s WHERE %I OPERATOR(pg_catalog.>) $1 AND %I OPERATOR(pg_catalog.<) $2',
	                                       src, m.time_column, m.time_column))
	INTO edge USING lo, b0 + m.bucket_width;
	RETURN flinkml._apply(flinkml._apply(whole, edge, NULL), a, r);
END $$;

-- Compaction of a window model: the pending deltas folded into their
-- buckets, the buckets that left the window dropped.
CREATE FUNCTION flinkml._compact_window(m flinkml.models) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	-- the oldest bucket the window can still need (never one older than
	-- those kept whole)
	keep timestamptz := GREATEST(flinkml._bucket_of(m.bucket_width, now() - m.window_length), m.window_since);
	ids bigint[];
	bs timestamptz[];
	ss @extschema@.linreg_state[];
BEGIN
	-- one statement: the deltas consumed are the ones summed
	WITH d AS (SELECT d.id, d.bucket, d.added, d.removed FROM flinkml.deltas d WHERE d.model = m.name),
	     per AS (SELECT d.bucket, @extschema@.linreg_merge(d.added) AS a, @extschema@.linreg_merge(d.removed) AS r
	             FROM d WHERE d.bucket >= keep GROUP BY d.bucket)
	SELECT (SELECT array_agg(d.id) FROM d),
	       array_agg(per.bucket ORDER BY per.bucket),
	       array_agg(flinkml._apply(b.state, per.a, per.r) ORDER BY per.bucket)
	INTO ids, bs, ss
	FROM per LEFT JOIN flinkml.window_buckets b ON b.model = m.name AND b.bucket = per.bucket;
	PERFORM flinkml._put_buckets(m.name, false, keep, bs, ss);
	IF ids IS NOT NULL THEN
		PERFORM flinkml._delete_deltas(m.name, ids);
	END IF;
END $$;

-- A new version from a state; it becomes the head, and the active one
-- unless an older version was pinned by activate().
CREATE FUNCTION flinkml._add_version(m flinkml.models, s @extschema@.linreg_state, how text)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v integer;
	f @extschema@.linreg := CASE WHEN s IS NULL THEN NULL ELSE @extschema@.linreg_solve(s) END;
	fig jsonb;
BEGIN
	-- the models row is the lock that numbers versions: read it afresh (NO
	-- KEY: writers' appends and readers never wait for it)
	SELECT * INTO m FROM flinkml.models WHERE name = m.name FOR NO KEY UPDATE;
	-- if_better: the challenger it replaces is judged first, on the changes
	-- it has seen
	IF m.policy = 'if_better' AND m.active_version IS DISTINCT FROM m.head_version THEN
		PERFORM flinkml._review(m.name);
		SELECT * INTO m FROM flinkml.models WHERE name = m.name;
	END IF;
	v := m.head_version + 1;
	IF f IS NOT NULL THEN
		BEGIN
			SELECT jsonb_build_object('r_squared', st.r_squared, 'sigma', st.sigma, 'aic', st.aic)
			INTO fig FROM @extschema@.linreg_stats(f) st;
		EXCEPTION WHEN OTHERS THEN
			fig := NULL;
		END;
		IF m.features IS NOT NULL AND cardinality(m.features) > 0 THEN
			f := @extschema@.linreg_set_names(f, flinkml._feature_names(m));
		END IF;
	END IF;
	INSERT INTO flinkml.versions (model, version, state, fit, made_by, rows, figures, note)
	VALUES (m.name, v, s, f, how, coalesce(@extschema@.linreg_rows(s), 0), fig,
	        CASE WHEN m.active_version IS NULL THEN NULL
	             WHEN m.policy = 'manual' THEN 'not activated: policy manual'
	             WHEN m.policy = 'if_better' THEN format('challenger of version %s: activated once it beats it by %s%% on at least %s rows of the changes after it',
	                                                     m.active_version, round((m.promote_margin * 100)::numeric, 1), m.promote_min_rows) END);
	UPDATE flinkml.models
	SET head_version = v,
	    active_version = CASE WHEN active_version IS NULL THEN v
	                          WHEN policy = 'always' AND active_version = m.head_version THEN v
	                          ELSE active_version END
	WHERE name = m.name;
	RETURN v;
END $$;

-- create_model: register a model over a table and fit version 1.
-- The time column of a window model, checked: its attribute number.  The
-- window and its buckets must be positive lengths of time without months
-- (a month has no fixed length), the bucket at most the window, and at
-- most 100,000 buckets to a window.
CREATE FUNCTION flinkml._window_column(source regclass, time_column text, window_length interval, bucket interval)
RETURNS int2 LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	typ regtype;
	num int2;
BEGIN
	IF time_column IS NULL OR window_length IS NULL THEN
		RAISE EXCEPTION 'flinkml: a window model needs both window_length and time_column'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'create_model(..., window_length => interval ''1 hour'', time_column => ''ts'')';
	END IF;
	SELECT a.atttypid::regtype, a.attnum INTO typ, num FROM pg_attribute a
	WHERE a.attrelid = source AND a.attname = time_column AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'flinkml: time column "%" does not exist in %', time_column, source
			USING ERRCODE = 'undefined_column';
	END IF;
	IF typ <> 'timestamptz'::regtype THEN
		RAISE EXCEPTION 'flinkml: time column "%" of % has type %; it must be timestamp with time zone', time_column, source, typ
			USING ERRCODE = 'datatype_mismatch',
			      HINT = 'A timestamp without time zone means a different moment in each time zone; the window ends at now().';
	END IF;
	IF window_length <= interval '0' OR extract(month FROM window_length) <> 0 OR extract(year FROM window_length) <> 0 THEN
		RAISE EXCEPTION 'flinkml: window_length % must be a positive length of time without months or years', window_length
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF bucket <= interval '0' OR extract(month FROM bucket) <> 0 OR extract(year FROM bucket) <> 0 OR bucket > window_length THEN
		RAISE EXCEPTION 'flinkml: bucket % must be a positive length of time without months, at most window_length %', bucket, window_length
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF bucket < interval '1 millisecond' OR extract(epoch FROM window_length) / extract(epoch FROM bucket) > 100000 THEN
		RAISE EXCEPTION 'flinkml: bucket % is too small: at least 1 millisecond and at most 100000 buckets to the window of %', bucket, window_length
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = source AND i.indkey[0] = num) THEN
		RAISE NOTICE 'flinkml: no index on %(%): reading the window scans the table for the rows at its start', source, time_column
			USING HINT = format('CREATE INDEX ON %s (%I);', source, time_column);
	END IF;
	RETURN num;
END $$;

-- create_model: register a model over a table and fit version 1.  With
-- window_length and time_column, a model of the rows whose time column
-- lies in the last window_length (bucket: the grain at which rows age out,
-- by default a sixtieth of the window).
CREATE FUNCTION flinkml.create_model(name text, source regclass, target text, features text[],
	weight text DEFAULT NULL, intercept boolean DEFAULT true,
	window_length interval DEFAULT NULL, time_column text DEFAULT NULL, bucket interval DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
	s @extschema@.linreg_state;
	col text;
	typ regtype;
	num int2;
	nums int2[] := '{}';
	time_num int2;
BEGIN
	IF name IS NULL OR name !~ '^[A-Za-z_][A-Za-z0-9_]*$' OR length(name) > 48 THEN
		RAISE EXCEPTION 'flinkml: invalid model name %', coalesce(quote_literal(name), 'NULL')
			USING ERRCODE = 'invalid_name',
			      HINT = 'A model name is a letter or underscore followed by letters, digits or underscores (at most 48).';
	END IF;
	IF source IS NULL THEN
		RAISE EXCEPTION 'flinkml: source must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF features IS NULL OR array_position(features, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'flinkml: features must be an array of column names without NULLs'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM flinkml._check_readable(source);
	-- every column must exist in the table and be numeric; by attribute number
	FOREACH col IN ARRAY ARRAY[target, weight] || features LOOP
		IF col IS NULL THEN		-- no weight
			nums := nums || 0::int2;
			CONTINUE;
		END IF;
		SELECT a.atttypid::regtype, a.attnum INTO typ, num FROM pg_attribute a
		WHERE a.attrelid = source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'flinkml: column "%" does not exist in %', col, source
				USING ERRCODE = 'undefined_column';
		END IF;
		IF typ NOT IN ('float8'::regtype, 'float4'::regtype, 'int2'::regtype, 'int4'::regtype,
		               'int8'::regtype, 'numeric'::regtype)
		   -- a feature (after the target and the weight) may be categorical
		   AND NOT (cardinality(nums) >= 2 AND typ IN ('text'::regtype, 'varchar'::regtype, 'bool'::regtype)) THEN
			RAISE EXCEPTION 'flinkml: column "%" of % has type %; it must be numeric%', col, source, typ,
				CASE WHEN cardinality(nums) >= 2 THEN ' (float8, float4, integer, numeric), or text, varchar or boolean for a categorical feature' ELSE '' END
				USING ERRCODE = 'datatype_mismatch';
		END IF;
		nums := nums || num;
	END LOOP;
	IF window_length IS NOT NULL OR time_column IS NOT NULL OR bucket IS NOT NULL THEN
		bucket := coalesce(bucket, window_length / 60);
		time_num := flinkml._window_column(source, time_column, window_length, bucket);
	END IF;
	BEGIN
		INSERT INTO flinkml.models (name, source, target, features, weight, intercept, attnums, levels,
		                            time_column, time_attnum, window_length, bucket_width)
		VALUES (create_model.name, create_model.source, create_model.target, create_model.features,
		        create_model.weight, create_model.intercept, nums,
		        flinkml._learn_levels(create_model.source, create_model.target, create_model.weight, create_model.features),
		        create_model.time_column, time_num, create_model.window_length, create_model.bucket)
		RETURNING * INTO m;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'flinkml: model "%" already exists', name
			USING ERRCODE = 'duplicate_object', HINT = 'Use flinkml.refit() for a new version, or flinkml.drop_model() first.';
	END;
	-- a model starts clean
	PERFORM flinkml._delete_deltas(m.name);
	IF m.window_length IS NOT NULL THEN
		PERFORM flinkml._fill_window(m);
		SELECT * INTO m FROM flinkml.models WHERE models.name = m.name;
		s := flinkml._window_state(m);
	ELSE
		EXECUTE flinkml._state_query(m, flinkml._source(m)) INTO s;
	END IF;
	RETURN flinkml._add_version(m, s, 'fit');
END $$;

-- refit: a full fit over the table as a new version; pending deltas are
-- consumed (the fit already holds their rows).  A stale model (a feature's
-- type changed) is exact again after it.
CREATE FUNCTION flinkml.refit(name text) RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	src text := flinkml._source(m);
	s @extschema@.linreg_state;
	ids bigint[];
	missing text;
BEGIN
	SELECT string_agg(quote_ident(c), ', ') INTO missing
	FROM unnest(ARRAY[m.target, m.weight, m.time_column] || m.features) c
	WHERE c IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = m.source AND a.attname = c
	                                    AND a.attnum > 0 AND NOT a.attisdropped);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'flinkml: model "%" cannot be refitted: column % of % was dropped', m.name, missing, src
			USING ERRCODE = 'undefined_column',
			      HINT = format('SELECT flinkml.drop_model(%L); then create it again.', m.name);
	END IF;
	PERFORM flinkml._check_readable(m.source);
	SELECT * INTO m FROM flinkml.models WHERE models.name = m.name FOR NO KEY UPDATE;
	IF (m.attached OR EXISTS (SELECT 1 FROM flinkml.streams st WHERE st.model = m.name))
	   AND flinkml._in_hierarchy(m.source) THEN
		RAISE EXCEPTION 'flinkml: % is a partition, partitioned, or has a parent or children: its triggers and the WAL would miss rows written through the others', src
			USING ERRCODE = 'wrong_object_type',
			      HINT = format('SELECT flinkml.detach(%L); keeps it a model refitted by hand.', m.name);
	END IF;
	IF m.attached AND NOT flinkml._triggers_intact(m) THEN
		RAISE EXCEPTION 'flinkml: the triggers of model "%" on % are not all in place and enabled', m.name, src
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = format('SELECT flinkml.detach(%L); SELECT flinkml.attach(%L); makes them again.', m.name, m.name);
	END IF;
	IF m.stale IS NOT NULL AND m.attached AND m.shard_state IS NULL THEN
		-- the triggers skip a stale model: no writer may commit between the
		-- fit and the moment the model is fresh again (a distributed
		-- table's refill locks it itself, as the user who then reads it)
		EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', src);
	END IF;
	IF m.shard_state IS NOT NULL AND m.shard_state IS DISTINCT FROM flinkml._shard_state_name(m.source, m.name) THEN
		RAISE EXCEPTION 'flinkml: model "%" cannot be refitted: its distributed table % was renamed', m.name, src
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = format('SELECT flinkml.detach(%L); SELECT flinkml.attach(%L); makes its triggers and state again.', m.name, m.name);
	END IF;
	IF m.shard_state IS NOT NULL THEN
		-- a distributed table's model: every shard fitted afresh, writers
		-- locked out meanwhile (their appends must not cross the fit)
		s := flinkml._shard_state(m.name, 'refit');
		IF m.stale IS NOT NULL THEN
			UPDATE flinkml.models SET stale = NULL, stale_at = NULL WHERE models.name = m.name;
		END IF;
		RETURN flinkml._add_version(m, s, 'fit');
	END IF;
	IF m.window_length IS NOT NULL THEN
		PERFORM flinkml._fill_window(m);
		IF m.stale IS NOT NULL THEN
			UPDATE flinkml.models SET stale = NULL, stale_at = NULL WHERE models.name = m.name;
		END IF;
		SELECT * INTO m FROM flinkml.models WHERE models.name = m.name;
		RETURN flinkml._add_version(m, flinkml._window_state(m), 'fit');
	END IF;
	-- one statement, one snapshot: a delta is either in the fit's rows and
	-- consumed (its id is read in that snapshot), or committed later and kept
	EXECUTE format('SELECT (SELECT pg_catalog.array_agg(d.id) FROM flinkml.deltas d WHERE d.model OPERATOR(pg_catalog.=) %L), (%s)',
	               m.name, flinkml._state_query(m, src)) INTO ids, s;
	IF ids IS NOT NULL THEN
		PERFORM flinkml._delete_deltas(m.name, ids);
	END IF;
	IF m.stale IS NOT NULL THEN
		UPDATE flinkml.models SET stale = NULL, stale_at = NULL WHERE models.name = m.name;
	END IF;
	RETURN flinkml._add_version(m, s, 'fit');
END $$;

-- base + added - removed, any of them NULL (no rows).
CREATE FUNCTION flinkml._apply(base @extschema@.linreg_state, added @extschema@.linreg_state,
	removed @extschema@.linreg_state)
RETURNS @extschema@.linreg_state LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE
		WHEN removed IS NULL THEN
			CASE WHEN base IS NULL THEN added WHEN added IS NULL THEN base
			     ELSE @extschema@.linreg_add(base, added) END
		ELSE @extschema@.linreg_subtract(
			CASE WHEN base IS NULL THEN added WHEN added IS NULL THEN base
			     ELSE @extschema@.linreg_add(base, added) END, removed)
	END
$$;

-- The state of the head version plus every committed pending delta.
CREATE FUNCTION flinkml.current_state(name text) RETURNS @extschema@.linreg_state
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name);
	base @extschema@.linreg_state;
	a @extschema@.linreg_state;
	r @extschema@.linreg_state;
BEGIN
	PERFORM flinkml._check_fresh(m);
	IF m.window_length IS NOT NULL THEN
		RETURN flinkml._window_state(m);
	END IF;
	IF m.shard_state IS NOT NULL THEN
		RETURN flinkml._shard_state(m.name, 'read');
	END IF;
	SELECT v.state INTO base FROM flinkml.versions v WHERE v.model = m.name AND v.version = m.head_version;
	SELECT @extschema@.linreg_merge(d.added), @extschema@.linreg_merge(d.removed) INTO a, r
	FROM flinkml.deltas d WHERE d.model = m.name;
	RETURN flinkml._apply(base, a, r);
END $$;

-- The model predictions use: the active version, or, when the active
-- version is the head, the head merged with the pending deltas.  A stale
-- model is an error that says why, not a silently outdated answer.
CREATE FUNCTION flinkml.current_model(name text) RETURNS @extschema@.linreg
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name);
	f @extschema@.linreg;
	s @extschema@.linreg_state;
BEGIN
	PERFORM flinkml._check_fresh(m);
	IF m.active_version IS DISTINCT FROM m.head_version THEN
		SELECT v.fit INTO f FROM flinkml.versions v WHERE v.model = m.name AND v.version = m.active_version;
		RETURN f;
	END IF;
	-- a window model moves with the clock: its head is always the live window
	-- so does a distributed table's model: its state is in the shards
	IF m.window_length IS NULL AND m.shard_state IS NULL
	   AND NOT EXISTS (SELECT 1 FROM flinkml.deltas d WHERE d.model = m.name) THEN
		SELECT v.fit INTO f FROM flinkml.versions v WHERE v.model = m.name AND v.version = m.head_version;
		RETURN f;
	END IF;
	s := flinkml.current_state(name);
	IF s IS NULL THEN
		RETURN NULL;
	END IF;
	f := @extschema@.linreg_solve(s);
	IF f IS NOT NULL AND cardinality(m.features) > 0 THEN
		f := @extschema@.linreg_set_names(f, flinkml._feature_names(m));
	END IF;
	RETURN f;
END $$;

-- compact: fold the pending deltas into a new head version.  Writers keep
-- appending meanwhile: only the deltas this transaction sees are consumed.
CREATE FUNCTION flinkml.compact(name text, how text DEFAULT 'trigger') RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	base @extschema@.linreg_state;
	a @extschema@.linreg_state;
	r @extschema@.linreg_state;
	ids bigint[];
BEGIN
	-- one compaction at a time per model: the models row is the lock
	SELECT * INTO m FROM flinkml.models WHERE models.name = m.name FOR NO KEY UPDATE;
	-- the evaluation history is compacted as it ages
	PERFORM flinkml.compact_evaluations(m.name);
	IF m.window_length IS NOT NULL THEN
		-- the window moved even without changes: always a new version
		PERFORM flinkml._check_fresh(m);
		PERFORM flinkml._compact_window(m);
		SELECT * INTO m FROM flinkml.models WHERE models.name = m.name;
		RETURN flinkml._add_version(m, flinkml._window_state(m), how);
	END IF;
	IF m.shard_state IS NOT NULL THEN
		-- each shard's rows merged into one; the model as a new version
		PERFORM flinkml._check_fresh(m);
		RETURN flinkml._add_version(m, flinkml._shard_state(m.name, 'compact'), how);
	END IF;
	-- the deltas this snapshot sees, and their ids, consumed together
	SELECT array_agg(d.id), @extschema@.linreg_merge(d.added), @extschema@.linreg_merge(d.removed) INTO ids, a, r
	FROM flinkml.deltas d WHERE d.model = m.name;
	IF ids IS NULL THEN
		RETURN m.head_version;
	END IF;
	PERFORM flinkml._delete_deltas(m.name, ids);
	SELECT v.state INTO base FROM flinkml.versions v WHERE v.model = m.name AND v.version = m.head_version;
	RETURN flinkml._add_version(m, flinkml._apply(base, a, r), how);
END $$;

-- The gate (C, src/privileged.c) that merges a model's evaluation history
-- before a time into one row per version, maker and time bucket.
CREATE FUNCTION flinkml._merge_evaluations(model_name text, before timestamptz, bucket interval) RETURNS bigint
	AS 'MODULE_PATHNAME', 'flinkml_merge_evaluations' LANGUAGE C;

-- compact_evaluations: the test-then-train history older than older_than,
-- merged into one row per version and bucket (sums of rows, weights and
-- squared errors, so MSE and R² per bucket stay exact).  A pending
-- challenger's evaluations are kept as they are (if_better pairs them with
-- the active version's change by change).  compact() runs it with the
-- defaults, so the history is compacted as it ages.
CREATE FUNCTION flinkml.compact_evaluations(name text, older_than interval DEFAULT '1 day',
	bucket interval DEFAULT '1 hour') RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	cutoff timestamptz := now() - older_than;
BEGIN
	IF older_than IS NULL OR older_than < interval '0' OR bucket IS NULL OR bucket <= interval '0'
	   OR extract(month FROM bucket) <> 0 OR extract(year FROM bucket) <> 0 THEN
		RAISE EXCEPTION 'flinkml: older_than % must not be negative, bucket % a positive length of time without months', older_than, bucket
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF m.policy = 'if_better' AND m.active_version IS DISTINCT FROM m.head_version THEN
		SELECT least(cutoff, v.created_at) INTO cutoff FROM flinkml.versions v
		WHERE v.model = m.name AND v.version = m.head_version;
	END IF;
	RETURN flinkml._merge_evaluations(m.name, cutoff, bucket);
END $$;

CREATE FUNCTION flinkml.versions(name text)
RETURNS TABLE (version integer, active boolean, made_by text, rows bigint, created_at timestamptz,
               coefficients float8[], figures jsonb)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT v.version, v.version = m.active_version, v.made_by, v.rows, v.created_at,
	       @extschema@.linreg_coefficients(v.fit), v.figures
	FROM flinkml.versions v JOIN flinkml.models m ON m.name = v.model
	WHERE v.model = versions.name
	ORDER BY v.version
$$;

-- Champion and challenger (policy if_better): the newest version is the
-- challenger of the active one while both are scored on every change that
-- comes after it (flinkml.evaluations); the challenger becomes active when,
-- over at least promote_min_rows rows of those changes, its mean squared
-- error is below the active version's by promote_margin (relative).  Runs
-- at every new version (judging the challenger it replaces), at every
-- follower poll, and when called.  Returns what it decided, also written to
-- the challenger's versions.note.
-- It runs as its caller (the owner, or a follower as the owner): the rows it
-- reads and writes are the caller's to read and write (row-level security).
CREATE FUNCTION flinkml._review(model_name text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
	since timestamptz;
	champ_w float8;
	champ_sse float8;
	chall_w float8;
	chall_sse float8;
	chall_rows bigint;
	why text;
BEGIN
	SELECT * INTO m FROM flinkml.models WHERE name = model_name;
	IF NOT FOUND OR m.policy <> 'if_better' OR m.active_version IS NULL OR m.active_version >= m.head_version THEN
		RETURN 'no challenger';
	END IF;
	SELECT v.created_at INTO since FROM flinkml.versions v WHERE v.model = m.name AND v.version = m.head_version;
	-- the same changes for both: those scored for the challenger
	SELECT sum(c.weight), sum(c.sse), sum(c.rows)::bigint, sum(a.weight), sum(a.sse)
	INTO chall_w, chall_sse, chall_rows, champ_w, champ_sse
	FROM flinkml.evaluations c
	JOIN flinkml.evaluations a ON a.model = c.model AND a.made_by = c.made_by AND a.change = c.change
	                          AND a.version = m.active_version
	WHERE c.model = m.name AND c.version = m.head_version AND c.at >= since;
	IF coalesce(chall_rows, 0) < m.promote_min_rows THEN
		RETURN format('challenger %s: %s of %s rows seen', m.head_version, coalesce(chall_rows, 0), m.promote_min_rows);
	END IF;
	IF chall_sse / chall_w < (1 - m.promote_margin) * (champ_sse / champ_w) THEN
		why := format('activated (policy if_better): mean squared error %s on %s rows of the changes after it, against %s of version %s',
		              round((chall_sse / chall_w)::numeric, 6), chall_rows, round((champ_sse / champ_w)::numeric, 6), m.active_version);
		UPDATE flinkml.models SET active_version = m.head_version WHERE name = m.name;
		UPDATE flinkml.versions v SET note = why WHERE v.model = m.name AND v.version = m.head_version;
		RETURN why;
	END IF;
	why := format('challenger %s not better: mean squared error %s on %s rows, against %s of version %s (margin %s%%)',
	              m.head_version, round((chall_sse / chall_w)::numeric, 6), chall_rows,
	              round((champ_sse / champ_w)::numeric, 6), m.active_version, round((m.promote_margin * 100)::numeric, 1));
	RETURN why;
END $$;

CREATE FUNCTION flinkml.review(name text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
BEGIN
	SELECT * INTO m FROM flinkml.models WHERE models.name = m.name FOR NO KEY UPDATE;
	RETURN flinkml._review(m.name);
END $$;

CREATE FUNCTION flinkml.set_policy(name text, policy text, margin float8 DEFAULT 0.05, min_rows bigint DEFAULT 100)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
BEGIN
	IF policy IS NULL OR policy NOT IN ('always', 'manual', 'if_better') THEN
		RAISE EXCEPTION 'flinkml: unknown policy %; use always, manual or if_better', coalesce(quote_literal(policy), 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF margin IS NULL OR NOT (margin >= 0 AND margin < 1) THEN
		RAISE EXCEPTION 'flinkml: margin must be in [0, 1), got %', margin USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF min_rows IS NULL OR min_rows < 1 THEN
		RAISE EXCEPTION 'flinkml: min_rows must be at least 1, got %', min_rows USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE flinkml.models SET policy = set_policy.policy, promote_margin = margin, promote_min_rows = min_rows
	WHERE models.name = m.name;
END $$;

-- activate: predictions use this version (pinned); activating the head
-- version unpins (pending deltas apply again).
CREATE FUNCTION flinkml.activate(name text, version integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
BEGIN
	IF NOT EXISTS (SELECT 1 FROM flinkml.versions v WHERE v.model = m.name AND v.version = activate.version) THEN
		RAISE EXCEPTION 'flinkml: model "%" has no version %', m.name, version
			USING ERRCODE = 'undefined_object';
	END IF;
	UPDATE flinkml.models SET active_version = activate.version WHERE models.name = m.name;
END $$;

-- rollback: activate the version before the active one.
CREATE FUNCTION flinkml.rollback(name text) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	v integer;
BEGIN
	SELECT max(x.version) INTO v FROM flinkml.versions x
	WHERE x.model = m.name AND x.version < coalesce(m.active_version, m.head_version + 1);
	IF v IS NULL THEN
		RAISE EXCEPTION 'flinkml: model "%" has no version before %', m.name, m.active_version
			USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM flinkml.activate(m.name, v);
	RETURN v;
END $$;

-------------------------------------------------------------------------------
-- Trigger maintenance: statement-level AFTER triggers with transition tables
-- fold each statement's rows into one delta row, in the writer's transaction.
-------------------------------------------------------------------------------
-- The trigger (src/trigger.c) folds the statement's transition tables into
-- one delta row.  It runs as the writer and appends as the extension's owner
-- (as PostgreSQL's foreign-key triggers act as the table's owner), with one
-- fixed, qualified statement that appends only when the trigger is the one
-- attach made, on the model's source table, for a model that is attached
-- and not stale.  Nobody may create a trigger with it but attach.
CREATE FUNCTION flinkml._fold_statement() RETURNS trigger
	AS 'MODULE_PATHNAME', 'flinkml_fold_statement' LANGUAGE C;
REVOKE ALL ON FUNCTION flinkml._fold_statement() FROM PUBLIC;

-- The four statement-level triggers attach makes on a model's table (run
-- as the extension's owner): one per event, named flinkml_<model>_<event>,
-- with the transition tables the trigger function fn reads.
CREATE FUNCTION flinkml._create_model_triggers(m flinkml.models, src text, fn text, args text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	ev text[];
BEGIN
	FOREACH ev SLICE 1 IN ARRAY ARRAY[
		['_ins', 'INSERT', 'REFERENCING NEW TABLE AS flinkml_new_rows'],
		['_upd', 'UPDATE', 'REFERENCING OLD TABLE AS flinkml_old_rows NEW TABLE AS flinkml_new_rows'],
		['_del', 'DELETE', 'REFERENCING OLD TABLE AS flinkml_old_rows'],
		['_trunc', 'TRUNCATE', '']] LOOP
		EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s %s FOR EACH STATEMENT EXECUTE FUNCTION %s(%s)',
		               'flinkml_' || m.name || ev[1], ev[2], src, ev[3], fn, args);
	END LOOP;
END $$;
REVOKE ALL ON FUNCTION flinkml._create_model_triggers(flinkml.models, text, text, text) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Models attached to a Citus distributed table.  Citus runs the table's
-- triggers on its shards, on the workers; so the model's state lives where
-- the rows are, in a table of its own distributed like the source and
-- co-located with it: one row per shard and statement (k, a value of the
-- shard's distribution column; the added and removed states), appended in
-- the writer's transaction on the writer's shard (src/trigger.c,
-- flinkml_fold_shard_statement).  Each shard starts from a fit of its own
-- rows; the model is the merge of every row.  Only the extension's owner
-- reads and writes that table, through the gate flinkml._shard_state.
-------------------------------------------------------------------------------
CREATE FUNCTION flinkml._fold_shard_statement() RETURNS trigger
	AS 'MODULE_PATHNAME', 'flinkml_fold_shard_statement' LANGUAGE C;
REVOKE ALL ON FUNCTION flinkml._fold_shard_statement() FROM PUBLIC;

-- The state table's name, made from the source table's name and the
-- model's, in schema flinkml (where only the extension creates tables):
-- what the trigger on a shard finds from the shard's table, on any node.
CREATE FUNCTION flinkml._shard_state_name(src regclass, model_name text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT 'flinkml.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident('shard_' OPERATOR(pg_catalog.||)
	       pg_catalog.md5(pg_catalog.format('%I.%I/%s', n.nspname, c.relname, model_name)))
	FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	WHERE c.oid OPERATOR(pg_catalog.=) src::pg_catalog.oid
$$;

-- The model's state: the merge of its state table, read with the caller's
-- rights (the gate flinkml._shard_state calls it as the reader).
CREATE FUNCTION flinkml._shard_merge(tbl text) RETURNS @extschema@.linreg_state
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	s @extschema@.linreg_state;
BEGIN
	EXECUTE format('SELECT flinkml._apply(NULL, @extschema@.linreg_merge(t.added), @extschema@.linreg_merge(t.removed)) FROM %s t',
	               tbl) INTO s;
	RETURN s;
END $$;

-- The distribution column of a hash-distributed Citus table, and its type;
-- NULL for any other table.
CREATE FUNCTION flinkml._distribution_column(src regclass, OUT col text, OUT coltype text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT flinkml._is_citus_table(src) THEN
		RETURN;
	END IF;
	EXECUTE 'SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod) '
	        'FROM pg_catalog.pg_dist_partition p JOIN pg_catalog.pg_attribute a '
	        'ON a.attrelid OPERATOR(pg_catalog.=) p.logicalrelid::pg_catalog.oid '
	        'AND a.attname OPERATOR(pg_catalog.=) pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) '
	        'WHERE p.logicalrelid::pg_catalog.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid '
	        'AND p.partmethod OPERATOR(pg_catalog.=) ''h'''
	INTO col, coltype USING src;
END $$;

-- Fill the state table afresh: each shard a fit of its own rows (run as
-- the extension's owner, by attach and refit, with writers locked out).
CREATE FUNCTION flinkml._shard_refill(model_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
	src text;
	dist text;
BEGIN
	SELECT * INTO STRICT m FROM flinkml.models WHERE name = model_name;
	src := flinkml._source(m);
	SELECT d.col INTO dist FROM flinkml._distribution_column(m.source) d;
	EXECUTE format('LOCK TABLE %s IN SHARE MODE', src);
	EXECUTE format('DELETE FROM %s', m.shard_state);
	-- grouped by shard: each group's rows are one shard's, so the states
	-- are summed on the workers and one row per shard comes back
	EXECUTE format('INSERT INTO %s (k, added) SELECT pg_catalog.min(%I), %s FROM %s '
	               'GROUP BY pg_catalog.get_shard_id_for_distribution_column(%L, %I)',
	               m.shard_state, dist, flinkml._state_expr(m), src, src, dist);
END $$;
REVOKE ALL ON FUNCTION flinkml._shard_refill(text) FROM PUBLIC;

-- Merge each shard's rows into one: deleted and inserted in the same
-- worker transaction, so every shard's sum is whole at any moment.
CREATE FUNCTION flinkml._shard_compact(model_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
BEGIN
	SELECT * INTO STRICT m FROM flinkml.models WHERE name = model_name;
	EXECUTE format('WITH o AS (DELETE FROM %1$s RETURNING k, added, removed) '
	               'INSERT INTO %1$s (k, added, removed) '
	               'SELECT pg_catalog.min(o.k), @extschema@.linreg_merge(o.added), @extschema@.linreg_merge(o.removed) '
	               'FROM o GROUP BY pg_catalog.get_shard_id_for_distribution_column(%2$L, o.k)',
	               m.shard_state, m.shard_state);
END $$;
REVOKE ALL ON FUNCTION flinkml._shard_compact(text) FROM PUBLIC;

-- TRUNCATE of the distributed table (its trigger fires on the node the
-- statement came to): the state table emptied, and on the coordinator a
-- version of no rows.
CREATE FUNCTION flinkml._shard_truncated(model_name text, relid oid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	tbl text := flinkml._shard_state_name(relid, model_name);
	m flinkml.models;
BEGIN
	IF tbl IS NULL OR pg_catalog.to_regclass(tbl) IS NULL THEN
		RETURN;
	END IF;
	EXECUTE format('DELETE FROM %s', tbl);
	SELECT * INTO m FROM flinkml.models
	WHERE name = model_name AND source = relid AND shard_state = tbl AND stale IS NULL FOR NO KEY UPDATE;
	IF FOUND THEN
		PERFORM flinkml._add_version(m, NULL, 'trigger');
	END IF;
END $$;
REVOKE ALL ON FUNCTION flinkml._shard_truncated(text, oid) FROM PUBLIC;

-- The gate (C, src/privileged.c): op 'read' (the caller may read the
-- model), 'compact' or 'refit' (the caller may change it); returns the
-- model's state, after compacting or refitting its state table.
CREATE FUNCTION flinkml._shard_state(model_name text, op text) RETURNS @extschema@.linreg_state
	AS 'MODULE_PATHNAME', 'flinkml_shard_state' LANGUAGE C STRICT;

-- Create the state table and the triggers (run by _attach_triggers, as the
-- extension's owner).  The triggers first: creating one on a shard locks
-- the shard against writers until attach commits, so each shard's fill
-- sees every row written before, and the triggers every row after.
CREATE FUNCTION flinkml._attach_shard_triggers(m flinkml.models) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	src text := flinkml._source(m);
	tbl text := flinkml._shard_state_name(m.source, m.name);
	dist text;
	disttype text;
	args text;
	unsafe text := pg_catalog.current_setting('citus.enable_unsafe_triggers', true);
BEGIN
	SELECT d.col, d.coltype INTO dist, disttype FROM flinkml._distribution_column(m.source) d;
	IF dist IS NULL THEN
		RAISE EXCEPTION 'flinkml: cannot attach model "%": % is a Citus table without a distribution column (a reference or local table)', m.name, src
			USING ERRCODE = 'feature_not_supported',
			      HINT = 'Keep such a model current with flinkml.refit().';
	END IF;
	EXECUTE format('CREATE TABLE %s (k %s NOT NULL, added @extschema@.linreg_state, removed @extschema@.linreg_state)',
	               tbl, disttype);
	EXECUTE format('SELECT pg_catalog.create_distributed_table(%L, %L, colocate_with => %L)', tbl, 'k', src);
	-- its owner reads it (flinkml._shard_state); writers append as the
	-- extension's owner; no one else
	EXECUTE format('GRANT SELECT ON %s TO %s', tbl, m.owner);
	UPDATE flinkml.models SET shard_state = tbl WHERE name = m.name;
	args := format('%L, %L, %L, %L, %L', m.name, CASE WHEN m.intercept THEN 't' ELSE 'f' END, dist, m.target,
	               coalesce(m.weight, ''))
	     || (SELECT coalesce(string_agg(format(', %L', f), '' ORDER BY i), '')
	         FROM unnest(m.features) WITH ORDINALITY u(f, i));
	-- Citus creates a distributed table's triggers on its shards only
	-- when told to: this trigger touches nothing but its own shard's
	-- co-located shard, the case that setting's warning is not about
	PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
	PERFORM flinkml._create_model_triggers(m, src, 'flinkml._fold_shard_statement', args);
	PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', coalesce(unsafe, 'off'), true);
	PERFORM flinkml._shard_refill(m.name);
	UPDATE flinkml.models SET attached = true WHERE name = m.name;
END $$;
REVOKE ALL ON FUNCTION flinkml._attach_shard_triggers(flinkml.models) FROM PUBLIC;

-- TRUNCATE: the table is empty, so is the model (a new version without
-- rows).  Called by the trigger only, as the extension's owner, for the
-- table it fired on.
CREATE FUNCTION flinkml._truncated(model_name text, relid oid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
BEGIN
	SELECT * INTO m FROM flinkml.models
	WHERE name = model_name AND source = relid AND attached AND stale IS NULL FOR NO KEY UPDATE;
	IF FOUND THEN
		DELETE FROM flinkml.deltas d WHERE d.model = m.name;
		IF m.window_length IS NOT NULL THEN
			DELETE FROM flinkml.window_buckets b WHERE b.model = m.name;
			UPDATE flinkml.models SET window_since = flinkml._bucket_of(m.bucket_width, now() - m.window_length)
			WHERE name = m.name;
		END IF;
		PERFORM flinkml._add_version(m, NULL, 'trigger');
	END IF;
END $$;
REVOKE ALL ON FUNCTION flinkml._truncated(text, oid) FROM PUBLIC;

-- Run as the extension's owner by the gate flinkml._set_attached (C), which
-- checked that the caller may change the model and has TRIGGER on its table.
-- Trigger arguments: model, intercept, then the attribute numbers of the
-- target, the weight (0: none) and the features, so renames do no harm.
CREATE FUNCTION flinkml._attach_triggers(model_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
	src text;
	args text;
BEGIN
	SELECT * INTO STRICT m FROM flinkml.models WHERE name = model_name FOR NO KEY UPDATE;
	IF flinkml._is_citus_table(m.source) THEN
		PERFORM flinkml._attach_shard_triggers(m);
		RETURN;
	END IF;
	src := flinkml._source(m);
	-- the triggers read attribute numbers: take them from the names now
	UPDATE flinkml.models x SET attnums = coalesce(flinkml._attnums_by_name(m), x.attnums),
	       time_attnum = coalesce((SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = m.source
	                               AND a.attname = m.time_column AND a.attnum > 0 AND NOT a.attisdropped), x.time_attnum)
	WHERE x.name = m.name RETURNING * INTO m;
	-- a window model's second argument also names the time column and the
	-- bucket width in microseconds: t:<attnum>:<usec>
	args := format('%L, %L', m.name, CASE WHEN m.intercept THEN 't' ELSE 'f' END
	               || CASE WHEN m.window_length IS NULL THEN ''
	                       ELSE format(':%s:%s', m.time_attnum, flinkml._bucket_usec(m.bucket_width)) END)
	     || (SELECT string_agg(format(', %L', a), '' ORDER BY i) FROM unnest(m.attnums) WITH ORDINALITY u(a, i));
	PERFORM flinkml._create_model_triggers(m, src, 'flinkml._fold_statement', args);
	UPDATE flinkml.models SET attached = true WHERE name = m.name;
END $$;
REVOKE ALL ON FUNCTION flinkml._attach_triggers(text) FROM PUBLIC;

CREATE FUNCTION flinkml._detach_triggers(model_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
	t text;
BEGIN
	SELECT * INTO STRICT m FROM flinkml.models WHERE name = model_name FOR NO KEY UPDATE;
	-- first: dropping the triggers of an attached model marks it stale
	UPDATE flinkml.models SET attached = false WHERE name = m.name;
	IF m.shard_state IS NOT NULL THEN
		-- a distributed table's model: its state becomes a version (what
		-- it predicts with from now on), its state table goes
		IF m.stale IS NULL AND pg_catalog.to_regclass(m.shard_state) IS NOT NULL THEN
			PERFORM flinkml._add_version(m, flinkml._shard_merge(m.shard_state), 'trigger');
		END IF;
	END IF;
	IF flinkml._is_citus_table(m.source) THEN
		-- Citus refuses even DROP TRIGGER IF EXISTS on a distributed table without it
		PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
	END IF;
	IF EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = m.source) THEN
		FOREACH t IN ARRAY ARRAY['_ins', '_upd', '_del', '_trunc'] LOOP
			EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'flinkml_' || m.name || t, flinkml._source(m));
		END LOOP;
	END IF;
	IF m.shard_state IS NOT NULL THEN
		EXECUTE format('DROP TABLE IF EXISTS %s', m.shard_state);
		UPDATE flinkml.models SET shard_state = NULL WHERE name = m.name;
	END IF;
END $$;
REVOKE ALL ON FUNCTION flinkml._detach_triggers(text) FROM PUBLIC;

-- The gate: checks the caller (member of the model's owner; for attach,
-- TRIGGER privilege on the source table by OID), then runs one of the two
-- functions above as the extension's owner.
CREATE FUNCTION flinkml._set_attached(model_name text, attach boolean) RETURNS void
	AS 'MODULE_PATHNAME', 'flinkml_set_attached' LANGUAGE C STRICT;

-- attach: keep the model exact under INSERT/UPDATE/DELETE/TRUNCATE.  The
-- table is locked against writers while the triggers are created and the
-- model is refitted, so no change falls between the fit and the triggers.
CREATE FUNCTION flinkml.attach(name text) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	src text := flinkml._source(m);
	s @extschema@.linreg_state;
BEGIN
	IF m.attached THEN
		RAISE EXCEPTION 'flinkml: model "%" is already attached to %', m.name, src
			USING ERRCODE = 'duplicate_object';
	END IF;
	IF EXISTS (SELECT 1 FROM flinkml.streams st WHERE st.model = m.name) THEN
		RAISE EXCEPTION 'flinkml: model "%" is following the WAL; unfollow it first', m.name
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	PERFORM flinkml._check_readable(m.source);
	IF flinkml._is_citus_table(m.source) AND length(m.name) > 40 THEN
		RAISE EXCEPTION 'flinkml: cannot attach model "%" to %: on a Citus table a model''s name is at most 40 characters', m.name, src
			USING ERRCODE = 'name_too_long',
			      DETAIL = 'Citus names the triggers on the shards after the shard (flinkml_<model>_trunc_<shard id>), within PostgreSQL''s 63 characters.';
	END IF;
	IF flinkml._is_citus_table(m.source) AND (m.window_length IS NOT NULL OR m.levels IS NOT NULL) THEN
		RAISE EXCEPTION 'flinkml: cannot attach model "%" to %: a Citus table keeps only models of numeric features over all its rows', m.name, src
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = CASE WHEN m.window_length IS NOT NULL
			                    THEN 'An event-time window needs its rows in time order, which Citus gathers on the coordinator.'
			                    ELSE 'Its categorical features need the model''s levels on every worker.' END,
			      HINT = 'Keep such a model current with flinkml.refit() (its fit runs on the workers).';
	END IF;
	IF flinkml._in_hierarchy(m.source) THEN
		RAISE EXCEPTION 'flinkml: % is a partition, partitioned, or has a parent or children: triggers would miss rows written through the others', src
			USING ERRCODE = 'wrong_object_type',
			      HINT = 'Keep such a model current with flinkml.refit().';
	END IF;
	-- (a Citus table: creating its triggers locks each shard instead, and
	-- the shards' fill comes after; a lock here would be a second
	-- connection's, which Citus would see as a deadlock with the first)
	IF NOT flinkml._is_citus_table(m.source) THEN
		EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', src);
	END IF;
	PERFORM flinkml._set_attached(m.name, true);
	-- start exact: a fresh fit of the table as it is now
	SELECT * INTO m FROM flinkml.models WHERE models.name = m.name;
	PERFORM flinkml._delete_deltas(m.name);
	IF m.shard_state IS NOT NULL THEN
		-- a distributed table: the merge of the shards' fits
		s := flinkml._shard_state(m.name, 'attach');
	ELSIF m.window_length IS NOT NULL THEN
		PERFORM flinkml._fill_window(m);
		SELECT * INTO m FROM flinkml.models WHERE models.name = m.name;
		s := flinkml._window_state(m);
	ELSE
		EXECUTE flinkml._state_query(m, src) INTO s;
	END IF;
	IF m.stale IS NOT NULL THEN
		UPDATE flinkml.models SET stale = NULL, stale_at = NULL WHERE models.name = m.name;
	END IF;
	RETURN flinkml._add_version(m, s, 'fit');
END $$;

CREATE FUNCTION flinkml.detach(name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
BEGIN
	PERFORM flinkml._set_attached(m.name, false);
END $$;

-- Score with a registry model by name (the active version, looked up once per query).
CREATE FUNCTION linreg_predict(name text, x float8[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'linreg_predict_by_name' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
-- The same model at a row of raw columns, found by the model's feature
-- names (a table's row, or a subquery's): categorical features as their
-- text, varchar or boolean values (src/categorical.c).
CREATE FUNCTION linreg_predict(name text, x record) RETURNS float8
	AS 'MODULE_PATHNAME', 'linreg_predict_row' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

-------------------------------------------------------------------------------
-- Following the WAL: the output plugin "flinkml" (src/decoder.c) and a
-- background worker per model (src/follower.c), running as the model's
-- owner, apply each committed transaction exactly once.
-------------------------------------------------------------------------------
CREATE TABLE flinkml.streams (
	model text PRIMARY KEY REFERENCES flinkml.models (name) ON DELETE CASCADE,
	slot name NOT NULL UNIQUE,				-- made by flinkml for this model
	options text[] NOT NULL,				-- decoder options, name/value pairs
	enabled boolean NOT NULL DEFAULT true,	-- false: stopped (see last_error)
	last_lsn pg_lsn NOT NULL,				-- everything up to here is in the model
	synced_at timestamptz NOT NULL DEFAULT pg_catalog.now(),	-- of the last apply
	last_commit_time timestamptz,			-- of the newest applied transaction
	rows_applied bigint NOT NULL DEFAULT 0,
	transactions_applied bigint NOT NULL DEFAULT 0,
	worker_pid integer,
	last_error text,						-- cleared once the follower applies again
	last_error_at timestamptz,
	started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	-- a Citus table's stream: a slot on every node (flinkml.stream_nodes),
	-- slot is their name and last_lsn is unused
	distributed boolean NOT NULL DEFAULT false
);
SELECT pg_catalog.pg_extension_config_dump('flinkml.streams', '');
ALTER TABLE flinkml.streams ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON flinkml.streams FOR SELECT	-- of a model one may read
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) model));
CREATE POLICY progress_own ON flinkml.streams FOR UPDATE
	USING (EXISTS (SELECT 1 FROM flinkml.models m
	               WHERE m.name OPERATOR(pg_catalog.=) model AND pg_catalog.pg_has_role(m.owner, 'MEMBER')));
-- the model, slot and options are written by the gates only; the follower
-- (its owner) records its progress
GRANT SELECT ON flinkml.streams TO PUBLIC;
GRANT UPDATE (last_lsn, synced_at, last_commit_time, rows_applied, transactions_applied, worker_pid,
              last_error, last_error_at) ON flinkml.streams TO PUBLIC;

-- PostgreSQL 15.20 and later only let the output plugins listed in
-- output_plugin_libraries decode for non-superusers: C, reading the setting
-- directly; a superuser gets flinkml added for the transaction, anyone else
-- an error whose hint is the command that allows it.
CREATE FUNCTION flinkml._allow_output_plugin() RETURNS void
	AS 'MODULE_PATHNAME', 'flinkml_allow_output_plugin' LANGUAGE C;

-- The slot name of a model (slot names are lower case: distinct models stay distinct).
CREATE FUNCTION flinkml._slot_name(model_name text) RETURNS name
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT ('flinkml_' || left(lower(model_name), 40) ||
	        CASE WHEN model_name <> lower(model_name) OR length(model_name) > 40
	             THEN '_' || left(md5(model_name), 8) ELSE '' END)::name
$$;

-- Run as the extension's owner by the gate flinkml._create_stream (C), which
-- checked the caller, the owner's LOGIN and REPLICATION and its right to
-- read every row of the table.  Creates the model's slot, then registers the
-- stream; returns the slot's start.  PostgreSQL creates a logical slot only
-- in a transaction that has written nothing (no transaction ID yet): so the
-- slot comes first, and nothing before it here may lock or write a row
-- (follow() fits the table before and writes the version after).  One
-- follow of a model at a time: a lock, which takes no ID.  A slot
-- of an earlier follow whose transaction rolled back after creating it (a
-- slot is not transactional) is dropped first.
CREATE FUNCTION flinkml._create_stream_privileged(model_name text) RETURNS pg_lsn
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
	new_slot name := flinkml._slot_name(model_name);
	db oid := (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());
	start pg_lsn;
BEGIN
	PERFORM flinkml._lock_model(model_name, 'start');
	SELECT * INTO STRICT m FROM flinkml.models WHERE name = model_name;
	-- (a Citus table's stream has its slots, named by _node_slot_name, on the nodes)
	IF EXISTS (SELECT 1 FROM flinkml.streams s
	           WHERE s.model = m.name OR s.slot IN (new_slot, flinkml._node_slot_name(model_name))) THEN
		RAISE EXCEPTION 'flinkml: model "%" is already following', m.name
			USING ERRCODE = 'duplicate_object';
	END IF;
	IF flinkml._is_citus_table(m.source) THEN
		-- a slot on every node instead (see "Following a Citus table")
		PERFORM flinkml._create_node_streams(m);
		RETURN NULL;
	END IF;
	PERFORM pg_drop_replication_slot(r.slot_name) FROM pg_replication_slots r
	WHERE r.slot_name = new_slot AND r.plugin = 'flinkml' AND r.datoid = db AND NOT r.active;
	-- slot names are the cluster's: a model of the same name may follow in another database
	IF EXISTS (SELECT 1 FROM pg_replication_slots r WHERE r.slot_name = new_slot) THEN
		RAISE EXCEPTION 'flinkml: the slot % of model "%" is taken%', new_slot, m.name,
			(SELECT coalesce(' (by database ' || quote_ident(r.database) || ')', '') FROM pg_replication_slots r WHERE r.slot_name = new_slot)
			USING ERRCODE = 'duplicate_object',
			      HINT = 'Replication slot names are shared by every database of the server: give the model another name.';
	END IF;
	PERFORM flinkml._allow_output_plugin();
	SELECT lsn INTO start FROM pg_create_logical_replication_slot(new_slot, 'flinkml');
	BEGIN
		-- the decoder reads attribute numbers: take them from the names now
		UPDATE flinkml.models x SET attnums = coalesce(flinkml._attnums_by_name(m), x.attnums)
		WHERE x.name = m.name RETURNING * INTO m;
		INSERT INTO flinkml.streams (model, slot, options, last_lsn)
		VALUES (m.name, new_slot,
		        ARRAY['relid', m.source::oid::text,
		              'target', m.attnums[1]::text,
		              'weight', m.attnums[2]::text,
		              'features', array_to_string(m.attnums[3:], ','),
		              'intercept', m.intercept::text,
		              -- states as hex of their binary form (read by flinkml._wire_state)
		              'binary', 'true']
		        -- categorical features: their levels (src/decoder.c)
		        || CASE WHEN m.levels IS NOT NULL THEN ARRAY['levels', m.levels::text] ELSE '{}' END
		        -- a window model: rows per bucket of their own time
		        || CASE WHEN m.window_length IS NULL THEN '{}'::text[]
		                ELSE ARRAY['time', m.time_attnum::text, 'bucket', flinkml._bucket_usec(m.bucket_width)::text] END,
		        start);
	EXCEPTION WHEN OTHERS THEN
		PERFORM pg_drop_replication_slot(new_slot);
		RAISE;
	END;
	RETURN start;
END $$;
REVOKE ALL ON FUNCTION flinkml._create_stream_privileged(text) FROM PUBLIC;

-- Lock a model's follower ('follower': the lock a follower holds for its
-- life, tried) or its start ('start': waited for), for the transaction.
-- These are object locks of a class no catalog has: no SQL command can take
-- them (advisory locks anyone can take, and hold to keep a follower out).
CREATE FUNCTION flinkml._lock_model(model_name text, what text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'flinkml_lock_model' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION flinkml._lock_model(text, text) FROM PUBLIC;

CREATE FUNCTION flinkml._create_stream(model_name text) RETURNS pg_lsn
	AS 'MODULE_PATHNAME', 'flinkml_create_stream' LANGUAGE C STRICT;

-- Run as the extension's owner by the gate flinkml._drop_stream (C): stop
-- the model's follower, drop its slot and its stream row.
CREATE FUNCTION flinkml._drop_stream_privileged(model_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	st flinkml.streams;
BEGIN
	-- locked: the starter skips a model whose row is locked
	SELECT * INTO st FROM flinkml.streams s WHERE s.model = model_name FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	-- stop the worker, then take the lock a follower holds for its whole
	-- life: once granted, no follower runs and none can start until this
	-- transaction ends
	FOR i IN 1..100 LOOP
		EXIT WHEN flinkml._lock_model(model_name, 'follower');
		PERFORM pg_terminate_backend(l.pid)
		FROM pg_locks l
		WHERE l.locktype = 'object' AND l.granted AND l.pid <> pg_backend_pid()
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND l.classid = 1718382445::oid AND l.objid = hashtext(model_name)::oid
		  AND l.objsubid = (hashtextextended(model_name, 0) & 32767)::int2;
		PERFORM pg_sleep(0.1);
		IF i = 100 THEN
			RAISE EXCEPTION 'flinkml: the follower of model "%" did not stop', model_name
				USING ERRCODE = 'lock_not_available';
		END IF;
	END LOOP;
	IF st.distributed THEN
		PERFORM flinkml._drop_node_slots(model_name);
	ELSE
		PERFORM pg_drop_replication_slot(r.slot_name) FROM pg_replication_slots r
		WHERE r.slot_name = st.slot AND r.plugin = 'flinkml'
		  AND r.datoid = (SELECT oid FROM pg_database WHERE datname = current_database());
	END IF;
	DELETE FROM flinkml.streams s WHERE s.model = model_name;
END $$;
REVOKE ALL ON FUNCTION flinkml._drop_stream_privileged(text) FROM PUBLIC;

CREATE FUNCTION flinkml._drop_stream(model_name text) RETURNS void
	AS 'MODULE_PATHNAME', 'flinkml_drop_stream' LANGUAGE C STRICT;

-- resume: start the follower of a model that is following but has none
-- running.  Checks the caller; the follower runs as the model's owner.
-- Returns its pid, or NULL with a WARNING saying why it could not start.
CREATE FUNCTION flinkml.resume(name text) RETURNS integer
	AS 'MODULE_PATHNAME', 'flinkml_resume' LANGUAGE C STRICT;

-- A state as the decoder writes it in a line: its JSON text, or (option
-- binary, which followers use) the hexadecimal digits of its binary form,
-- checked as linreg_state_recv checks it.  No more than a cast: anyone may
-- send a state in binary.
CREATE FUNCTION flinkml._wire_state(line_field text) RETURNS @extschema@.linreg_state
	AS 'MODULE_PATHNAME', 'flinkml_wire_state' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- One poll of a follower, as the model's owner: apply the decoded
-- transactions committed after the stored LSN, up to the WAL position now,
-- as one delta; store that position.  The caller commits, then advances the
-- slot to the result.  Nothing is written when nothing for the model came.
CREATE FUNCTION flinkml._stream_apply(model_name text) RETURNS pg_lsn
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	st flinkml.streams;
	m flinkml.models;
	-- decoding reads only flushed WAL: peeking "up to" the insert position
	-- could stop short of it, and storing that position would skip commits
	upto pg_lsn := pg_current_wal_flush_lsn();
	seen timestamptz := clock_timestamp();
	t_lsn pg_lsn;
	last_seen pg_lsn;
	a @extschema@.linreg_state;
	r @extschema@.linreg_state;
	changes bigint;
	txns bigint;
	committed timestamptz;
	txn_added @extschema@.linreg_state[];
	txn_committed timestamptz[];
	txn_lsn pg_lsn[];
	win_b timestamptz[];
	win_a @extschema@.linreg_state[];
	win_r @extschema@.linreg_state[];
BEGIN
	-- a plain read: a poll that finds nothing writes nothing, not even a
	-- row lock (a lock is WAL, and new WAL wakes the follower again)
	SELECT * INTO st FROM flinkml.streams s WHERE s.model = model_name;
	IF NOT FOUND OR NOT st.enabled THEN
		RETURN NULL;
	END IF;
	SELECT * INTO m FROM flinkml.models WHERE name = model_name;
	IF st.distributed THEN
		PERFORM flinkml._check_fresh(m);
		PERFORM flinkml._check_readable(m.source);
		-- no slot here (each node's moves at its next poll): the result
		-- only says whether anything was applied ('0/0'), which makes the
		-- follower ask again sooner
		RETURN CASE WHEN flinkml._stream_apply_nodes(m.name) THEN '0/0'::pg_lsn END;
	END IF;
	-- a followed table distributed with Citus since: its rows go to the
	-- workers' shards and never reach this WAL; say so, do not go stale silently
	IF m.stale IS NULL AND flinkml._is_citus_table(m.source) THEN
		UPDATE flinkml.models SET stale = format('%s became a Citus table: its rows are written on the workers and this server''s WAL no longer carries them', m.source),
		       stale_at = now()
		WHERE name = m.name AND stale IS NULL;
		RETURN NULL;
	END IF;
	PERFORM flinkml._check_fresh(m);
	-- decoding sees every row: the owner must still be allowed to
	PERFORM flinkml._check_readable(m.source);
	PERFORM flinkml._allow_output_plugin();
	-- categorical features: a committed row with a level the model has not
	-- seen was left out by the decoder (a writer's row cannot be refused
	-- from the WAL), so the model would no longer match its table: stale,
	-- naming the level, and nothing of these changes applied
	IF m.levels IS NOT NULL THEN
		UPDATE flinkml.models x
		SET stale = format('a row committed with value %L in column %s, which is not one of the levels the model learned when it was created (%s), was left out: drop the model and create it again to learn it',
		                   u.val, quote_ident(m.features[u.feat]),
		                   (SELECT string_agg(quote_literal(l), ', ') FROM jsonb_array_elements_text(m.levels -> (u.feat - 1)) l)),
		    stale_at = now()
		-- fields 7-9 of a line (after the bucket field): unseen rows, feature, value
		FROM (SELECT split_part(data, E'\t', 8)::integer AS feat, split_part(data, E'\t', 9) AS val
		      FROM pg_logical_slot_peek_changes(st.slot, upto, NULL, VARIADIC st.options)
		      WHERE lsn > st.last_lsn AND split_part(data, E'\t', 7) <> '' ORDER BY lsn LIMIT 1) u
		WHERE x.name = m.name AND x.stale IS NULL;
		IF FOUND THEN
			-- the follower sees the stale model and ends, dropping its slot
			UPDATE flinkml.streams s SET last_error = 'the model is stale: ' || x.stale, last_error_at = now()
			FROM flinkml.models x WHERE s.model = m.name AND x.name = m.name;
			RETURN NULL;
		END IF;
	END IF;
	-- one line per transaction (per transaction and time bucket for a window
	-- model, the flag and count on its first line); only what follows the
	-- last truncation counts
	WITH c AS (
		SELECT lsn,
		       split_part(data, E'\t', 1) AS flag,
		       split_part(data, E'\t', 2)::bigint AS changes,
		       flinkml._wire_state(nullif(split_part(data, E'\t', 3), '-')) AS added,
		       flinkml._wire_state(nullif(split_part(data, E'\t', 4), '-')) AS removed,
		       split_part(data, E'\t', 5)::timestamptz AS committed,
		       nullif(split_part(data, E'\t', 6), '')::timestamptz AS bucket
		FROM pg_logical_slot_peek_changes(st.slot, upto, NULL, VARIADIC st.options)
		WHERE lsn > st.last_lsn
	), t AS (
		SELECT max(lsn) FILTER (WHERE flag = 'T') AS t_lsn FROM c
	), f AS (
		SELECT c.* FROM c, t WHERE t.t_lsn IS NULL OR c.lsn >= t.t_lsn
	), x AS (		-- each transaction's added rows
		SELECT f.lsn, max(f.committed) AS committed, @extschema@.linreg_merge(f.added) AS added
		FROM f WHERE f.added IS NOT NULL GROUP BY f.lsn
	), b AS (		-- each bucket's rows
		SELECT f.bucket, @extschema@.linreg_merge(f.added) AS a,
		       @extschema@.linreg_merge(f.removed) AS r
		FROM f WHERE f.bucket IS NOT NULL GROUP BY f.bucket
	)
	SELECT (SELECT t.t_lsn FROM t), (SELECT max(c.lsn) FROM c),
	       (SELECT @extschema@.linreg_merge(f.added) FROM f),
	       (SELECT @extschema@.linreg_merge(f.removed) FROM f),
	       (SELECT sum(c.changes) FROM c), (SELECT count(DISTINCT c.lsn) FROM c), (SELECT max(c.committed) FROM c),
	       (SELECT array_agg(x.added ORDER BY x.lsn) FROM x),
	       (SELECT array_agg(x.committed ORDER BY x.lsn) FROM x),
	       (SELECT array_agg(x.lsn ORDER BY x.lsn) FROM x),
	       (SELECT array_agg(b.bucket ORDER BY b.bucket) FROM b),
	       (SELECT array_agg(b.a ORDER BY b.bucket) FROM b),
	       (SELECT array_agg(b.r ORDER BY b.bucket) FROM b)
	INTO t_lsn, last_seen, a, r, changes, txns, committed, txn_added, txn_committed, txn_lsn, win_b, win_a, win_r;

	-- a commit record may end past the flush position: never store less
	-- than the position of what was applied, or a redelivery would count it again
	upto := greatest(upto, last_seen);
	IF coalesce(txns, 0) = 0 AND st.worker_pid IS NOT DISTINCT FROM pg_backend_pid() AND st.last_error IS NULL THEN
		-- nothing for this model: the slot may move on, the row need not
		-- (an idle follower writes nothing)
		RETURN upto;
	END IF;
	-- SKIP LOCKED: a row locked by unfollow() means stop, not wait; and
	-- what was read above must still hold
	PERFORM 1 FROM flinkml.streams s
	WHERE s.model = model_name AND s.enabled AND s.last_lsn = st.last_lsn FOR UPDATE SKIP LOCKED;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	IF coalesce(txns, 0) = 0 THEN
		-- a new follower, or the first poll that worked after an error
		UPDATE flinkml.streams s SET worker_pid = pg_backend_pid(), last_error = NULL, last_error_at = NULL
		WHERE s.model = model_name;
		RETURN upto;
	END IF;
	IF t_lsn IS NOT NULL THEN
		-- the table was truncated: the model starts again from no rows
		PERFORM flinkml._delete_deltas(m.name);
		IF m.window_length IS NOT NULL THEN
			PERFORM flinkml._put_buckets(m.name, true, flinkml._bucket_of(m.bucket_width, now() - m.window_length), NULL, NULL);
		END IF;
		PERFORM flinkml._add_version(m, NULL, 'stream');
	END IF;
	-- test-then-train: the active version scored on each transaction's added
	-- rows, from their state, before they are folded in
	IF txn_added IS NOT NULL THEN
		INSERT INTO flinkml.evaluation_history (model, version, made_by, change, at, rows, weight, sse, mean_y, m2_y, challenger)
		SELECT m.name, v.version, 'stream', u.lsn - '0/0'::pg_lsn, u.at, x.rows, x.weight, x.sse, x.mean_y, x.m2_y,
		       v.version IS DISTINCT FROM m.active_version
		FROM flinkml.versions v
		CROSS JOIN LATERAL unnest(txn_added, txn_committed, txn_lsn) u(st, at, lsn)
		CROSS JOIN LATERAL @extschema@.linreg_state_error(u.st, v.fit) x
		WHERE v.model = m.name AND x.rows IS NOT NULL
		  AND (v.version = m.active_version OR (m.policy = 'if_better' AND v.version = m.head_version));
	END IF;
	IF m.window_length IS NOT NULL THEN
		INSERT INTO flinkml.deltas (model, added, removed, made_by, bucket)
		SELECT m.name, u.a, u.r, 'stream', u.b FROM unnest(win_b, win_a, win_r) u(b, a, r);
	ELSIF a IS NOT NULL OR r IS NOT NULL THEN
		INSERT INTO flinkml.deltas (model, added, removed, made_by) VALUES (m.name, a, r, 'stream');
	END IF;
	IF m.policy = 'if_better' AND m.active_version IS DISTINCT FROM m.head_version THEN
		PERFORM flinkml._review(m.name);
	END IF;
	UPDATE flinkml.streams s
	SET last_lsn = upto, synced_at = seen,
	    last_commit_time = coalesce(committed, s.last_commit_time),
	    rows_applied = s.rows_applied + coalesce(changes, 0),
	    transactions_applied = s.transactions_applied + coalesce(txns, 0),
	    worker_pid = pg_backend_pid(), last_error = NULL, last_error_at = NULL
	WHERE s.model = model_name;
	-- keep reads cheap: fold the pending deltas into a version now and then
	IF (SELECT count(*) FROM flinkml.deltas d WHERE d.model = m.name) >= 100 THEN
		PERFORM flinkml.compact(m.name, 'stream');
	END IF;
	RETURN upto;
END $$;

-------------------------------------------------------------------------------
-- Following a Citus table.  Citus writes a distributed table's rows into
-- its shards, on the workers: their WAL, not this server's, carries them.
-- follow() makes a slot on every node that holds a shard ("flinkmld_...",
-- flinkml.stream_nodes); the follower, here, asks each node at every poll
-- (master_run_on_worker, as the model's owner) for the changes to its shards
-- committed after the position stored for that node, folded there into
-- one added and one removed state (flinkml._node_changes), and applies them
-- all as one delta in one transaction, with each node's new position: so
-- each committed change is applied exactly once, whatever node or
-- connection fails when.  A node that cannot be reached keeps its position
-- and its error (stream_status.nodes); the others go on.
-------------------------------------------------------------------------------
CREATE TABLE flinkml.stream_nodes (
	model text NOT NULL REFERENCES flinkml.streams (model) ON DELETE CASCADE,
	node_name text NOT NULL,
	node_port integer NOT NULL,
	shard_ids bigint[] NOT NULL,				-- the table's shards on the node (named afresh at each poll: a rename renames them)
	last_lsn pg_lsn,							-- the node's changes up to here are in the model (NULL: not started)
	flush_lsn pg_lsn,							-- the node's WAL end at the last poll
	state @extschema@.linreg_state,				-- the node's rows in the model (a TRUNCATE there takes them out)
	synced_at timestamptz,
	last_commit_time timestamptz,
	rows_applied bigint NOT NULL DEFAULT 0,
	transactions_applied bigint NOT NULL DEFAULT 0,
	last_error text,
	last_error_at timestamptz,
	PRIMARY KEY (model, node_name, node_port)
);
ALTER TABLE flinkml.stream_nodes ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON flinkml.stream_nodes FOR SELECT
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) model));
CREATE POLICY progress_own ON flinkml.stream_nodes FOR UPDATE
	USING (EXISTS (SELECT 1 FROM flinkml.models m
	               WHERE m.name OPERATOR(pg_catalog.=) model AND pg_catalog.pg_has_role(m.owner, 'MEMBER')));
GRANT SELECT ON flinkml.stream_nodes TO PUBLIC;
GRANT UPDATE (last_lsn, flush_lsn, state, synced_at, last_commit_time, rows_applied, transactions_applied,
              last_error, last_error_at) ON flinkml.stream_nodes TO PUBLIC;

-- The name of a model's slots on the nodes ("flinkml_" slots are local streams').
CREATE FUNCTION flinkml._node_slot_name(model_name text) RETURNS name
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT ('flinkmld_' || substr(flinkml._slot_name(model_name), 9))::name
$$;

-- The nodes that hold a shard of a hash-distributed Citus table, with those
-- shards; an error naming the table when it is not one whose every row is
-- in exactly one shard placement.
CREATE FUNCTION flinkml._citus_placements(src regclass)
RETURNS TABLE (node_name text, node_port integer, shard_ids bigint[], shards text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	copies record;
BEGIN
	IF (SELECT d.col FROM flinkml._distribution_column(src) d) IS NULL THEN
		RAISE EXCEPTION 'flinkml: % is a Citus table but not a hash-distributed one', src
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = 'A reference table has a copy of every row on every node, a Citus local table has no shards on the workers.',
			      HINT = 'Keep such a model current with flinkml.refit().';
	END IF;
	SELECT p.shardid, count(*) AS n INTO copies
	FROM pg_dist_shard s JOIN pg_dist_placement p ON p.shardid = s.shardid
	WHERE s.logicalrelid = src GROUP BY p.shardid HAVING count(*) > 1 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'flinkml: shard % of % has % placements', copies.shardid, src, copies.n
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = 'Each placement''s WAL carries the shard''s rows: followed, they would count once per placement.',
			      HINT = 'Follow tables distributed with citus.shard_replication_factor = 1 (the default).';
	END IF;
	RETURN QUERY
	SELECT n.nodename::text, n.nodeport::integer,
	       array_agg(s.shardid ORDER BY s.shardid),
	       array_agg(pg_catalog.shard_name(s.logicalrelid, s.shardid, false)::text ORDER BY s.shardid)
	FROM pg_dist_shard s
	JOIN pg_dist_placement p ON p.shardid = s.shardid
	JOIN pg_dist_node n ON n.groupid = p.groupid AND n.noderole = 'primary'
	WHERE s.logicalrelid = src
	GROUP BY n.nodename, n.nodeport
	ORDER BY n.nodename, n.nodeport;
END $$;

-- The current names of shards (schema-qualified, quoted as needed).
CREATE FUNCTION flinkml._shard_names(src regclass, ids bigint[]) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT array_agg(pg_catalog.shard_name(src, i, false)::text ORDER BY o) FROM unnest(ids) WITH ORDINALITY u(i, o)
$$;

-- Do the table's shards now lie elsewhere than m's stream recorded
-- (flinkml.stream_nodes: which node holds which shards)?
CREATE FUNCTION flinkml._shards_moved(m flinkml.models) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT EXISTS (SELECT c.node_name, c.node_port, c.shard_ids FROM flinkml._citus_placements(m.source) c
	               EXCEPT SELECT n.node_name, n.node_port, n.shard_ids FROM flinkml.stream_nodes n WHERE n.model = m.name)
	    OR EXISTS (SELECT n.node_name, n.node_port, n.shard_ids FROM flinkml.stream_nodes n WHERE n.model = m.name
	               EXCEPT SELECT c.node_name, c.node_port, c.shard_ids FROM flinkml._citus_placements(m.source) c)
$$;

-- Run one command per node (each its own connection and transaction, as
-- the current role); the rows say whether each succeeded, and its result
-- or error.
CREATE FUNCTION flinkml._on_nodes(names text[], ports integer[], commands text[])
RETURNS TABLE (node_name text, node_port integer, success boolean, result text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF coalesce(cardinality(names), 0) = 0 THEN
		RETURN;
	END IF;
	RETURN QUERY SELECT w.node_name, w.node_port, w.success, w.result
	             FROM pg_catalog.master_run_on_worker(names, ports, commands, true) w;
END $$;

-- On a node, as the extension's owner (flinkml._create_stream_privileged
-- asks): make the slot, dropping an unused one of the name left by a
-- follow that failed after making it.  Returns its start.
CREATE FUNCTION flinkml._node_create_slot(slot name) RETURNS pg_lsn
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	db oid := (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());
	start pg_lsn;
BEGIN
	PERFORM pg_drop_replication_slot(r.slot_name) FROM pg_replication_slots r
	WHERE r.slot_name = slot AND r.plugin = 'flinkml' AND r.datoid = db AND NOT r.active;
	IF EXISTS (SELECT 1 FROM pg_replication_slots r WHERE r.slot_name = slot) THEN
		RAISE EXCEPTION 'flinkml: the slot % is taken%', slot,
			(SELECT coalesce(' (by database ' || quote_ident(r.database) || ')', '') FROM pg_replication_slots r WHERE r.slot_name = slot)
			USING ERRCODE = 'duplicate_object';
	END IF;
	PERFORM flinkml._allow_output_plugin();
	SELECT lsn INTO start FROM pg_create_logical_replication_slot(slot, 'flinkml');
	RETURN start;
END $$;
REVOKE ALL ON FUNCTION flinkml._node_create_slot(name) FROM PUBLIC;

-- On a node, as the extension's owner: drop the slot (stopping a decoding
-- session left by a follower that was stopped).
CREATE FUNCTION flinkml._node_drop_slot(slot name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	db oid := (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());
	busy integer;
BEGIN
	FOR i IN 1..100 LOOP
		SELECT r.active_pid INTO busy FROM pg_replication_slots r
		WHERE r.slot_name = slot AND r.plugin = 'flinkml' AND r.datoid = db;
		IF NOT FOUND THEN
			RETURN;
		END IF;
		IF busy IS NULL THEN
			PERFORM pg_drop_replication_slot(slot);
			RETURN;
		END IF;
		PERFORM pg_terminate_backend(busy);
		PERFORM pg_sleep(0.05);
	END LOOP;
	RAISE EXCEPTION 'flinkml: the slot % stays in use by process %', slot, busy
		USING ERRCODE = 'object_in_use';
END $$;
REVOKE ALL ON FUNCTION flinkml._node_drop_slot(name) FROM PUBLIC;

-- On a node, as the model's owner, in follow() while the table is locked
-- against writers: wait for the prepared transactions that hold a lock on
-- one of the shards (Citus commits a multi-shard write on the workers after
-- the coordinator's commit released its locks), then return the node's WAL
-- position: every change to the shards committed up to it is in the fit
-- that follows, every later one comes from the slot.
CREATE FUNCTION flinkml._node_quiet_lsn(shards text[]) RETURNS pg_lsn
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	rels oid[] := (SELECT array_agg(to_regclass(s)::oid) FROM unnest(shards) s);
BEGIN
	FOR i IN 1..200 LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_locks l
		               WHERE l.pid IS NULL AND l.locktype = 'relation' AND l.relation = ANY (rels)) THEN
			RETURN pg_current_wal_insert_lsn();
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RAISE EXCEPTION 'flinkml: prepared transactions still hold shards of the table after 10 s'
		USING ERRCODE = 'lock_not_available',
		      HINT = 'See pg_prepared_xacts on the node: Citus''s recovery commits or aborts those of failed writes.';
END $$;

-- On a node, as the model's owner (the follower asks at every poll): move
-- the slot to after, the position the model already holds (committed: so
-- nothing before it is needed again), then decode the changes to the
-- shards committed after it, up to the WAL's flushed end.  The shards must
-- have the model's columns at the attribute numbers the coordinator gave
-- (the decoder reads them by number).  Returns one line: the position
-- reached, the position of the last TRUNCATE or -, the added and the
-- removed state (after that TRUNCATE) as hexadecimal of their binary form
-- or -, the changes and transactions counted, the last commit time or -.
CREATE FUNCTION flinkml._node_changes(slot name, after pg_lsn, options text[], shards text[],
                                      cols text[], attnums int2[]) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	upto pg_lsn := pg_current_wal_flush_lsn();
	rels oid[] := (SELECT array_agg(to_regclass(s)::oid ORDER BY i) FROM unnest(shards) WITH ORDINALITY u(s, i));
	bad record;
	line text;
BEGIN
	SELECT u.s INTO bad FROM unnest(shards, rels) u(s, r) WHERE u.r IS NULL LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'flinkml: shard % is not on node %:%', bad.s,
			current_setting('citus.local_hostname', true), current_setting('port')
			USING ERRCODE = 'undefined_table';
	END IF;
	SELECT r.r::regclass AS shard, c.name, c.num, a.attnum INTO bad
	FROM unnest(rels) r(r) CROSS JOIN unnest(cols, attnums) c(name, num)
	LEFT JOIN pg_attribute a ON a.attrelid = r.r AND a.attname = c.name AND a.attnum > 0 AND NOT a.attisdropped
	WHERE a.attnum IS DISTINCT FROM c.num LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'flinkml: column % of shard % is %, not attribute % as in the distributed table', bad.name, bad.shard,
			coalesce('attribute ' || bad.attnum, 'missing'), bad.num
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	PERFORM flinkml._allow_output_plugin();
	PERFORM pg_replication_slot_advance(slot, after)
	FROM pg_replication_slots r WHERE r.slot_name = slot AND r.confirmed_flush_lsn < after;
	WITH c AS (
		SELECT lsn,
		       split_part(data, E'\t', 1) AS flag,
		       split_part(data, E'\t', 2)::bigint AS changes,
		       flinkml._wire_state(nullif(split_part(data, E'\t', 3), '-')) AS added,
		       flinkml._wire_state(nullif(split_part(data, E'\t', 4), '-')) AS removed,
		       split_part(data, E'\t', 5)::timestamptz AS committed
		FROM pg_logical_slot_peek_changes(slot, upto, NULL,
		                                  VARIADIC options || ARRAY['relid', array_to_string(rels, ',')])
		WHERE lsn > after
	), t AS (
		SELECT max(lsn) FILTER (WHERE flag = 'T') AS t_lsn FROM c
	), f AS (
		SELECT c.* FROM c, t WHERE t.t_lsn IS NULL OR c.lsn >= t.t_lsn
	)
	SELECT concat_ws(E'\t',
	                 greatest(upto, (SELECT max(c.lsn) FROM c)),
	                 coalesce((SELECT t.t_lsn FROM t)::text, '-'),
	                 coalesce(encode(@extschema@.linreg_state_send((SELECT @extschema@.linreg_merge(f.added) FROM f)), 'hex'), '-'),
	                 coalesce(encode(@extschema@.linreg_state_send((SELECT @extschema@.linreg_merge(f.removed) FROM f)), 'hex'), '-'),
	                 coalesce((SELECT sum(c.changes) FROM c), 0),
	                 (SELECT count(DISTINCT c.lsn) FROM c),
	                 -- (epoch seconds: a time's text depends on each server's DateStyle)
	                 coalesce(extract(epoch FROM (SELECT max(c.committed) FROM c))::text, '-'))
	INTO line;
	RETURN line;
END $$;

-- Make the slots on the nodes and register the stream (run as the
-- extension's owner by flinkml._create_stream_privileged).  The slots come
-- before follow() locks and fits the table: making one waits for the
-- transactions running on its node, which may wait for that lock.
CREATE FUNCTION flinkml._create_node_streams(m flinkml.models) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	slot name := flinkml._node_slot_name(m.name);
	p record;
	drops text[];		-- the command that drops the slot, per node
	failed record;
BEGIN
	SELECT array_agg(c.node_name) AS names, array_agg(c.node_port) AS ports INTO p
	FROM flinkml._citus_placements(m.source) c;
	IF p.names IS NULL THEN
		RAISE EXCEPTION 'flinkml: % has no shards', m.source USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	drops := array_fill(format('SELECT flinkml._node_drop_slot(%L)', slot), ARRAY[cardinality(p.names)]);
	SELECT w.* INTO failed
	FROM flinkml._on_nodes(p.names, p.ports, array_fill(format('SELECT flinkml._node_create_slot(%L)', slot), ARRAY[cardinality(p.names)])) w
	WHERE NOT w.success LIMIT 1;
	IF FOUND THEN
		PERFORM flinkml._on_nodes(p.names, p.ports, drops);
		RAISE EXCEPTION 'flinkml: could not make the slot % on node %:% for model "%": %', slot, failed.node_name, failed.node_port,
			m.name, failed.result USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	BEGIN
		UPDATE flinkml.models x SET attnums = coalesce(flinkml._attnums_by_name(m), x.attnums)
		WHERE x.name = m.name RETURNING * INTO m;
		INSERT INTO flinkml.streams (model, slot, options, last_lsn, distributed)
		VALUES (m.name, slot,
		        ARRAY['target', m.attnums[1]::text,
		              'weight', m.attnums[2]::text,
		              'features', array_to_string(m.attnums[3:], ','),
		              'intercept', m.intercept::text,
		              'binary', 'true'],
		        '0/0', true);
		-- (follow() checks, once the table is locked, that they are still there)
		INSERT INTO flinkml.stream_nodes (model, node_name, node_port, shard_ids)
		SELECT m.name, c.node_name, c.node_port, c.shard_ids FROM flinkml._citus_placements(m.source) c;
		-- the nodes with a slot, no more, no fewer
		IF EXISTS (SELECT n.node_name, n.node_port FROM flinkml.stream_nodes n WHERE n.model = m.name
		           EXCEPT SELECT * FROM unnest(p.names, p.ports))
		   OR EXISTS (SELECT * FROM unnest(p.names, p.ports)
		              EXCEPT SELECT n.node_name, n.node_port FROM flinkml.stream_nodes n WHERE n.model = m.name) THEN
			RAISE EXCEPTION 'flinkml: shards of % moved while model "%" started following; try again', m.source, m.name
				USING ERRCODE = 'object_not_in_prerequisite_state';
		END IF;
	EXCEPTION WHEN OTHERS THEN
		PERFORM flinkml._on_nodes(p.names, p.ports, drops);
		RAISE;
	END;
END $$;
REVOKE ALL ON FUNCTION flinkml._create_node_streams(flinkml.models) FROM PUBLIC;

-- Drop a model's slots on the nodes (as the extension's owner, its
-- follower stopped): an error naming the node whose slot could not be
-- dropped (a slot left behind would keep that node's WAL for ever).
CREATE FUNCTION flinkml._drop_node_slots(model_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	failed record;
BEGIN
	-- a node removed from the cluster since is gone with its slots: say so, go on
	FOR failed IN SELECT n.node_name, n.node_port FROM flinkml.stream_nodes n
	              WHERE n.model = model_name
	                AND NOT EXISTS (SELECT 1 FROM pg_dist_node d WHERE d.nodename = n.node_name AND d.nodeport = n.node_port) LOOP
		RAISE WARNING 'flinkml: node %:% of model "%" is no longer in the cluster; its slot there, if the node still runs, is not dropped',
			failed.node_name, failed.node_port, model_name;
	END LOOP;
	SELECT w.* INTO failed
	FROM (SELECT array_agg(n.node_name) AS names, array_agg(n.node_port) AS ports,
	             array_agg(format('SELECT flinkml._node_drop_slot(%L)', s.slot)) AS cmds
	      FROM flinkml.stream_nodes n JOIN flinkml.streams s ON s.model = n.model
	      WHERE n.model = model_name
	        AND EXISTS (SELECT 1 FROM pg_dist_node d WHERE d.nodename = n.node_name AND d.nodeport = n.node_port)) a
	CROSS JOIN LATERAL flinkml._on_nodes(a.names, a.ports, a.cmds) w
	WHERE NOT w.success LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'flinkml: could not drop the slot of model "%" on node %:%: %', model_name,
			failed.node_name, failed.node_port, failed.result
			USING ERRCODE = 'object_in_use',
			      HINT = 'The stream is kept; try again once the node can be reached.';
	END IF;
END $$;
REVOKE ALL ON FUNCTION flinkml._drop_node_slots(text) FROM PUBLIC;

-- As the model's owner, by its follower when its stream ends (the model
-- turned stale): drop the model's idle slots on the nodes, which would
-- hold their WAL (best effort; unfollow and drop_model drop what is left).
CREATE FUNCTION flinkml._release_node_slots(model_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM flinkml._model(model_name, true);	-- its owner only
	PERFORM flinkml._on_nodes(array_agg(n.node_name), array_agg(n.node_port),
	        array_agg(format('SELECT pg_catalog.pg_drop_replication_slot(r.slot_name) FROM pg_catalog.pg_replication_slots r '
	                         'WHERE r.slot_name OPERATOR(pg_catalog.=) %L AND r.plugin OPERATOR(pg_catalog.=) ''flinkml'' '
	                         'AND r.database OPERATOR(pg_catalog.=) pg_catalog.current_database() AND NOT r.active', s.slot)))
	FROM flinkml.stream_nodes n JOIN flinkml.streams s ON s.model = n.model
	WHERE n.model = model_name;
END $$;

-- follow() on a Citus table, after its checks and the slots: with writers
-- locked out on every node, each node's position and the fit
-- of its shards, which start the stream there; the version is their merge.
CREATE FUNCTION flinkml._follow_nodes(model_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(model_name, true);
	src text := flinkml._source(m);
	dist text := (SELECT d.col FROM flinkml._distribution_column(m.source) d);
	p record;
	r record;
	fit_shards bigint[];
	fit_states @extschema@.linreg_state[];
	s @extschema@.linreg_state;
BEGIN
	-- only inside follow(), on the stream it has just made: positions and a
	-- fit reset under a running follower would count changes twice
	IF EXISTS (SELECT 1 FROM flinkml.stream_nodes n WHERE n.model = m.name AND n.last_lsn IS NOT NULL)
	   OR NOT EXISTS (SELECT 1 FROM flinkml.stream_nodes n WHERE n.model = m.name) THEN
		RAISE EXCEPTION 'flinkml: the stream of model "%" is started by flinkml.follow()', m.name
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	EXECUTE format('LOCK TABLE %s IN SHARE MODE', src);
	-- the shards may not have moved since the slots were made
	IF flinkml._shards_moved(m) THEN
		RAISE EXCEPTION 'flinkml: shards of % moved while model "%" started following; try again', src, m.name
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	SELECT array_agg(n.node_name) AS names, array_agg(n.node_port) AS ports,
	       array_agg(format('SELECT flinkml._node_quiet_lsn(%L)', flinkml._shard_names(m.source, n.shard_ids))) AS cmds INTO p
	FROM flinkml.stream_nodes n WHERE n.model = m.name;
	SELECT array_agg(w.node_name) AS names, array_agg(w.node_port) AS ports,
	       array_agg(CASE WHEN w.success THEN w.result::pg_lsn END) AS lsns,
	       (array_agg(format('node %s:%s: %s', w.node_name, w.node_port, w.result)) FILTER (WHERE NOT w.success))[1] AS failed
	INTO r FROM flinkml._on_nodes(p.names, p.ports, p.cmds) w;
	IF r.failed IS NOT NULL THEN
		RAISE EXCEPTION 'flinkml: a node of % did not answer: %', src, r.failed
			USING ERRCODE = 'connection_failure';
	END IF;
	-- each node's rows: one state per shard, summed on the workers
	EXECUTE format('SELECT array_agg(f.shard), array_agg(f.st) FROM (SELECT pg_catalog.get_shard_id_for_distribution_column(%L, %I) AS shard, %s AS st FROM %s GROUP BY 1) f',
	               src, dist, flinkml._state_expr(m), src) INTO fit_shards, fit_states;
	UPDATE flinkml.stream_nodes n
	SET last_lsn = l.lsn, flush_lsn = l.lsn, synced_at = clock_timestamp(),
	    state = (SELECT @extschema@.linreg_merge(f.st) FROM unnest(fit_shards, fit_states) f(shard, st) WHERE f.shard = ANY (n.shard_ids))
	FROM unnest(r.names, r.ports, r.lsns) l(node_name, node_port, lsn)
	WHERE n.model = m.name AND l.node_name = n.node_name AND l.node_port = n.node_port;
	SELECT @extschema@.linreg_merge(f.st) INTO s FROM unnest(fit_states) f(st);
	IF s IS NULL THEN	-- no rows yet: an empty state of the model's shape
		EXECUTE flinkml._state_query(m, format('%s WHERE false', src)) INTO s;
	END IF;
	PERFORM flinkml._delete_deltas(m.name);
	PERFORM flinkml._add_version(m, s, 'fit');
END $$;

-- One poll of a follower of a Citus table, as the model's owner (see the
-- section's comment): true when it applied something.
CREATE FUNCTION flinkml._stream_apply_nodes(model_name text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(model_name, true);
	st flinkml.streams;
	cols text[] := ARRAY[m.target] || CASE WHEN m.weight IS NULL THEN '{}'::text[] ELSE ARRAY[m.weight] END || m.features;
	nums int2[] := ARRAY[m.attnums[1]] || CASE WHEN m.weight IS NULL THEN '{}'::int2[] ELSE ARRAY[m.attnums[2]] END || m.attnums[3:];
	p record;
	q record;
	r record;
	a @extschema@.linreg_state;
	rm @extschema@.linreg_state;
	na @extschema@.linreg_state;
	nr @extschema@.linreg_state;
	parts text[];
	seen timestamptz := clock_timestamp();
	wrote boolean := false;
	changes bigint := 0;
	txns bigint := 0;
	committed timestamptz;
	errors text;
BEGIN
	SELECT * INTO STRICT st FROM flinkml.streams s WHERE s.model = m.name AND s.distributed;
	-- a shard moved (rebalanced, split, a node removed): its rows' WAL is
	-- now another node's, from a point this stream does not know
	IF flinkml._shards_moved(m) THEN
		UPDATE flinkml.models SET stale = format('shards of %s moved to other nodes (a rebalance, a split or a node removed) while the model followed them', m.source),
		       stale_at = now()
		WHERE name = m.name AND stale IS NULL;
		RETURN false;
	END IF;
	SELECT array_agg(n.node_name) AS names, array_agg(n.node_port) AS ports, array_agg(n.last_lsn) AS afters,
	       array_agg(format('SELECT flinkml._node_changes(%L, %L, %L, %L, %L, %L)',
	                        st.slot, n.last_lsn, st.options, flinkml._shard_names(m.source, n.shard_ids), cols, nums)) AS cmds INTO p
	FROM flinkml.stream_nodes n WHERE n.model = m.name AND n.last_lsn IS NOT NULL;
	IF p.names IS NULL THEN
		RAISE EXCEPTION 'flinkml: model "%" has no nodes to follow', m.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = format('SELECT flinkml.unfollow(%L); SELECT flinkml.follow(%L);', m.name, m.name);
	END IF;
	-- the answers (kept in arrays: a poll that finds nothing writes nothing)
	SELECT array_agg(w.node_name) AS names, array_agg(w.node_port) AS ports, array_agg(w.success) AS oks,
	       array_agg(w.result) AS results INTO q
	FROM flinkml._on_nodes(p.names, p.ports, p.cmds) w;
	IF EXISTS (SELECT 1 FROM unnest(q.oks, q.results) w(success, result)
	           WHERE w.success AND split_part(w.result, E'\t', 6)::bigint > 0) THEN
		-- unfollow() holds the stream's row to stop the follower: stop, do
		-- not wait; and what was sent must still be each node's position
		-- (another poll that applied the same changes since would have moved it)
		PERFORM 1 FROM flinkml.streams s WHERE s.model = m.name AND s.enabled FOR UPDATE SKIP LOCKED;
		IF NOT FOUND OR EXISTS (SELECT 1 FROM flinkml.stream_nodes n
		                        JOIN unnest(p.names, p.ports, p.afters) x(node_name, node_port, after)
		                          ON x.node_name = n.node_name AND x.node_port = n.node_port
		                        WHERE n.model = m.name AND n.last_lsn IS DISTINCT FROM x.after) THEN
			RETURN false;
		END IF;
	END IF;
	FOR r IN SELECT w.success, w.result, n.*
	         FROM unnest(q.names, q.ports, q.oks, q.results) w(node_name, node_port, success, result)
	         JOIN flinkml.stream_nodes n ON n.model = m.name AND n.node_name = w.node_name AND n.node_port = w.node_port
	LOOP
		IF NOT r.success THEN
			errors := concat_ws('; ', errors, format('node %s:%s: %s', r.node_name, r.node_port, r.result));
			IF r.last_error IS DISTINCT FROM r.result THEN
				UPDATE flinkml.stream_nodes n SET last_error = r.result, last_error_at = now()
				WHERE n.model = m.name AND n.node_name = r.node_name AND n.node_port = r.node_port;
			END IF;
			CONTINUE;
		END IF;
		parts := string_to_array(r.result, E'\t');
		IF parts[6]::bigint = 0 THEN
			-- nothing for the model: the stored position moves on now and then
			-- (it is where the slot moves to), and the error clears
			IF r.last_error IS NOT NULL OR r.synced_at IS NULL OR r.synced_at < seen - interval '5 s' THEN
				UPDATE flinkml.stream_nodes n
				SET last_lsn = greatest(n.last_lsn, parts[1]::pg_lsn), flush_lsn = parts[1]::pg_lsn, synced_at = seen,
				    last_error = NULL, last_error_at = NULL
				WHERE n.model = m.name AND n.node_name = r.node_name AND n.node_port = r.node_port;
			END IF;
			CONTINUE;
		END IF;
		na := flinkml._wire_state(nullif(parts[3], '-'));
		nr := flinkml._wire_state(nullif(parts[4], '-'));
		IF parts[2] <> '-' THEN
			-- the node's shards were truncated: its rows so far leave the model
			nr := flinkml._apply(r.state, nr, NULL);
		END IF;
		-- test-then-train: the active version scored on the node's new rows
		IF na IS NOT NULL THEN
			INSERT INTO flinkml.evaluation_history (model, version, made_by, change, at, rows, weight, sse, mean_y, m2_y, challenger)
			SELECT m.name, v.version, 'stream', parts[1]::pg_lsn - '0/0'::pg_lsn,
			       coalesce(to_timestamp(nullif(parts[7], '-')::float8), now()), x.rows, x.weight, x.sse, x.mean_y, x.m2_y,
			       v.version IS DISTINCT FROM m.active_version
			FROM flinkml.versions v
			CROSS JOIN LATERAL @extschema@.linreg_state_error(na, v.fit) x
			WHERE v.model = m.name AND x.rows IS NOT NULL
			  AND (v.version = m.active_version OR (m.policy = 'if_better' AND v.version = m.head_version));
		END IF;
		a := flinkml._apply(a, na, NULL);
		rm := flinkml._apply(rm, nr, NULL);
		UPDATE flinkml.stream_nodes n
		SET last_lsn = parts[1]::pg_lsn, flush_lsn = parts[1]::pg_lsn, synced_at = seen,
		    state = flinkml._apply(CASE WHEN parts[2] <> '-' THEN NULL ELSE n.state END, na,
		                           flinkml._wire_state(nullif(parts[4], '-'))),
		    last_commit_time = coalesce(to_timestamp(nullif(parts[7], '-')::float8), n.last_commit_time),
		    rows_applied = n.rows_applied + parts[5]::bigint,
		    transactions_applied = n.transactions_applied + parts[6]::bigint,
		    last_error = NULL, last_error_at = NULL
		WHERE n.model = m.name AND n.node_name = r.node_name AND n.node_port = r.node_port;
		changes := changes + parts[5]::bigint;
		txns := txns + parts[6]::bigint;
		committed := greatest(committed, to_timestamp(nullif(parts[7], '-')::float8));
		wrote := true;
	END LOOP;
	IF a IS NOT NULL OR rm IS NOT NULL THEN
		INSERT INTO flinkml.deltas (model, added, removed, made_by) VALUES (m.name, a, rm, 'stream');
		IF m.policy = 'if_better' AND m.active_version IS DISTINCT FROM m.head_version THEN
			PERFORM flinkml._review(m.name);
		END IF;
	END IF;
	IF wrote OR st.last_error IS DISTINCT FROM errors OR st.worker_pid IS DISTINCT FROM pg_backend_pid() THEN
		UPDATE flinkml.streams s
		SET synced_at = seen,
		    last_commit_time = coalesce(committed, s.last_commit_time),
		    rows_applied = s.rows_applied + changes,
		    transactions_applied = s.transactions_applied + txns,
		    worker_pid = pg_backend_pid(),
		    last_error = errors, last_error_at = CASE WHEN errors IS NULL THEN NULL ELSE now() END
		WHERE s.model = m.name;
	END IF;
	IF wrote AND (SELECT count(*) FROM flinkml.deltas d WHERE d.model = m.name) >= 100 THEN
		PERFORM flinkml.compact(m.name, 'stream');
	END IF;
	RETURN wrote;
END $$;

-- follow: learn from the WAL through logical decoding, off the writers'
-- path.  Fits the table (locked against writers for that moment), creates
-- the slot "flinkml_<model>" at that point, and starts the follower, which
-- runs as the model's owner: the owner needs LOGIN and REPLICATION.  Call it
-- in a transaction of its own.
CREATE FUNCTION flinkml.follow(name text) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	src text := flinkml._source(m);
	rel pg_class;
	s @extschema@.linreg_state;
	fill record;
BEGIN
	IF m.attached THEN
		RAISE EXCEPTION 'flinkml: model "%" is maintained by triggers; detach it first', m.name
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	PERFORM flinkml._check_fresh(m);
	IF EXISTS (SELECT 1 FROM flinkml.streams WHERE model = m.name) THEN
		RAISE EXCEPTION 'flinkml: model "%" is already following', m.name
			USING ERRCODE = 'duplicate_object';
	END IF;
	SELECT * INTO rel FROM pg_class c WHERE c.oid = m.source;
	IF flinkml._is_citus_table(m.source) THEN
		IF m.window_length IS NOT NULL OR m.levels IS NOT NULL THEN
			RAISE EXCEPTION 'flinkml: cannot follow model "%" on the Citus table %: it is a % model', m.name, src,
				CASE WHEN m.window_length IS NOT NULL THEN 'window' ELSE 'categorical' END
				USING ERRCODE = 'feature_not_supported',
				      HINT = 'On Citus tables only models of numeric features over every row follow the WAL; keep this one current with flinkml.refit().';
		END IF;
		PERFORM flinkml._citus_placements(m.source);	-- hash-distributed, one placement per shard
		IF flinkml._in_hierarchy(m.source) THEN
			RAISE EXCEPTION 'flinkml: cannot follow model "%": the Citus table % is partitioned or inherits', m.name, src
				USING ERRCODE = 'wrong_object_type',
				      HINT = 'Its rows are in the shards of its partitions, which the WAL carries as theirs; keep the model current with flinkml.refit().';
		END IF;
		IF rel.relreplident <> 'f' THEN
			RAISE EXCEPTION 'flinkml: table % must have REPLICA IDENTITY FULL to be followed', src
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = format('ALTER TABLE %s REPLICA IDENTITY FULL; (Citus sets it on the shards too) so that deletes and updates carry the old row.', src);
		END IF;
		PERFORM flinkml._check_readable(m.source);
		-- the slots first: see flinkml._create_node_streams
		PERFORM flinkml._create_stream(m.name);
		BEGIN
			PERFORM flinkml._follow_nodes(m.name);
			RETURN flinkml.resume(m.name);
		EXCEPTION WHEN OTHERS THEN
			-- the slots on the nodes are not transactional
			PERFORM flinkml._drop_stream(m.name);
			RAISE;
		END;
	END IF;
	IF rel.relkind <> 'r' OR rel.relpersistence <> 'p' OR flinkml._in_hierarchy(m.source) THEN
		RAISE EXCEPTION 'flinkml: % is not a logged plain table; only those can be followed', src
			USING ERRCODE = 'wrong_object_type',
			      HINT = 'Partitions, partitioned, inheriting and inherited, unlogged and temporary tables, views and foreign tables do not reach the WAL as one table.';
	END IF;
	IF rel.relreplident <> 'f' THEN
		RAISE EXCEPTION 'flinkml: table % must have REPLICA IDENTITY FULL to be followed', src
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = format('ALTER TABLE %s REPLICA IDENTITY FULL; so that deletes and updates carry the old row.', src);
	END IF;
	PERFORM flinkml._check_readable(m.source);
	-- no writer may commit between the fit and the slot's start; the slot
	-- must be made before this transaction writes (see
	-- _create_stream_privileged), so: fit, slot, then the new version
	EXECUTE format('LOCK TABLE %s IN SHARE MODE', src);
	IF m.window_length IS NOT NULL THEN
		-- read now, written after the slot is made
		SELECT * INTO fill FROM flinkml._window_fill(m);
	ELSE
		EXECUTE flinkml._state_query(m, src) INTO s;
	END IF;
	PERFORM flinkml._create_stream(m.name);
	-- a slot is not transactional: if what follows fails, drop it (else it
	-- would hold WAL until the next follow of this model)
	BEGIN
		PERFORM flinkml._delete_deltas(m.name);
		IF m.window_length IS NOT NULL THEN
			PERFORM flinkml._put_buckets(m.name, true, fill.lo, fill.bs, fill.ss);
			SELECT * INTO m FROM flinkml.models WHERE models.name = m.name;
			s := flinkml._window_state(m);
		END IF;
		PERFORM flinkml._add_version(m, s, 'fit');
		RETURN flinkml.resume(m.name);
	EXCEPTION WHEN OTHERS THEN
		PERFORM flinkml._drop_stream(m.name);
		RAISE;
	END;
END $$;

-- unfollow: stop the follower, drop the slot and the stream.
CREATE FUNCTION flinkml.unfollow(name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
BEGIN
	IF NOT EXISTS (SELECT 1 FROM flinkml.streams s WHERE s.model = m.name) THEN
		RAISE EXCEPTION 'flinkml: model "%" is not following', m.name USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM flinkml._drop_stream(m.name);
END $$;

-- Whether flinkml was preloaded (a launcher brings followers back after a restart).
CREATE FUNCTION flinkml._launcher_loaded() RETURNS boolean
	AS 'MODULE_PATHNAME', 'flinkml_launcher_loaded' LANGUAGE C STABLE;

-- Rows for the models the caller may read only (the view runs as its
-- caller: the streams table's row-level security applies).
CREATE VIEW flinkml.stream_status WITH (security_invoker = true) AS
SELECT s.model, s.slot, s.enabled, f.running, s.worker_pid,
       CASE
           WHEN f.running AND s.last_error IS NOT NULL THEN 'running, retrying after: ' OPERATOR(pg_catalog.||) s.last_error
           WHEN f.running THEN 'running'
           WHEN m.stale IS NOT NULL THEN 'stopped: the model is stale: ' OPERATOR(pg_catalog.||) m.stale
           WHEN NOT s.enabled THEN 'stopped: ' OPERATOR(pg_catalog.||) coalesce(s.last_error, 'disabled')
           WHEN s.last_error IS NOT NULL THEN 'not running: ' OPERATOR(pg_catalog.||) s.last_error
           WHEN NOT flinkml._launcher_loaded() THEN
               pg_catalog.format('not running: no launcher (flinkml is not in shared_preload_libraries) '
                                 'restarts it after a server restart; SELECT flinkml.resume(%L);', s.model)
           ELSE pg_catalog.format('not running: SELECT flinkml.resume(%L);', s.model)
       END AS state,
       -- everything up to here is in the model: the last applied position,
       -- or where the slot moved on to since (past changes of other tables)
       -- (a Citus table's stream: per node, in nodes)
       CASE WHEN NOT s.distributed THEN GREATEST(s.last_lsn, r.confirmed_flush_lsn) END AS last_lsn,
       CASE WHEN NOT s.distributed THEN lag.bytes END AS lag_bytes,
       CASE WHEN s.distributed THEN nd.lag_seconds
            WHEN lag.bytes OPERATOR(pg_catalog.<=) 0 THEN 0::float8
            ELSE pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) s.synced_at) END AS lag_seconds,
       s.rows_applied, s.transactions_applied, s.last_commit_time,
       s.last_error, s.last_error_at, s.started_at,
       -- a Citus table's stream: each node's slot, position, lag (seconds
       -- since its last poll that worked, 0 while they work) and error
       nd.nodes
FROM flinkml.streams s
JOIN flinkml.models m ON m.name OPERATOR(pg_catalog.=) s.model
LEFT JOIN pg_catalog.pg_replication_slots r ON r.slot_name OPERATOR(pg_catalog.=) s.slot
CROSS JOIN LATERAL (
	SELECT EXISTS (
		SELECT 1 FROM pg_catalog.pg_locks l
		WHERE l.locktype OPERATOR(pg_catalog.=) 'object' AND l.granted
		  AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
		                                         WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
		  AND l.classid OPERATOR(pg_catalog.=) 1718382445::pg_catalog.oid
		  AND l.objid OPERATOR(pg_catalog.=) pg_catalog.hashtext(s.model)::pg_catalog.oid
		  AND l.objsubid OPERATOR(pg_catalog.=)
		      (pg_catalog.hashtextextended(s.model, 0) OPERATOR(pg_catalog.&) 32767)::pg_catalog.int2) AS running) f
CROSS JOIN LATERAL (
	SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_flush_lsn(),
	                                  GREATEST(s.last_lsn, r.confirmed_flush_lsn))::bigint AS bytes) lag
LEFT JOIN LATERAL (
	SELECT pg_catalog.max(x.lag) AS lag_seconds,
	       pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
	           'node', n.node_name OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) n.node_port,
	           'slot', s.slot, 'shards', pg_catalog.cardinality(n.shard_ids),
	           'last_lsn', n.last_lsn, 'lag_seconds', x.lag, 'synced_at', n.synced_at,
	           'rows_applied', n.rows_applied, 'transactions_applied', n.transactions_applied,
	           'last_commit_time', n.last_commit_time,
	           'last_error', n.last_error, 'last_error_at', n.last_error_at)
	           ORDER BY n.node_name, n.node_port) AS nodes
	FROM flinkml.stream_nodes n
	CROSS JOIN LATERAL (
		SELECT CASE WHEN n.last_error IS NULL THEN 0::float8
		            ELSE pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) n.synced_at) END AS lag) x
	WHERE n.model OPERATOR(pg_catalog.=) s.model) nd ON s.distributed;
GRANT SELECT ON flinkml.stream_status TO PUBLIC;

-- The state of every model one may read: stale or exact, maintained how.
CREATE VIEW flinkml.model_status WITH (security_invoker = true) AS
SELECT m.name, m.owner, m.source, m.head_version, m.active_version, m.attached,
       EXISTS (SELECT 1 FROM flinkml.streams s WHERE s.model OPERATOR(pg_catalog.=) m.name) AS following,
       m.stale, m.stale_at
FROM flinkml.models m;
GRANT SELECT ON flinkml.model_status TO PUBLIC;

CREATE FUNCTION flinkml.drop_model(name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
BEGIN
	IF m.attached THEN
		PERFORM flinkml._set_attached(m.name, false);
	END IF;
	IF EXISTS (SELECT 1 FROM flinkml.streams s WHERE s.model = m.name) THEN
		PERFORM flinkml._drop_stream(m.name);
	END IF;
	-- its scoring triggers (score_into): none may call a missing model
	PERFORM flinkml._scoring_gate(m.name, s.tbl, NULL, NULL, false)
	FROM flinkml.scorers s WHERE s.model = m.name;
	PERFORM flinkml._delete_model(m.name);
END $$;

-------------------------------------------------------------------------------
-- Schema changes: event triggers keep every model exact or visibly stale.
-- They run as the extension's owner (SECURITY DEFINER, fixed search_path),
-- on the objects PostgreSQL reports by OID, and touch only the registry.
-------------------------------------------------------------------------------
-- After the current transaction, drop the model's slot if the transaction
-- ended its stream and no follower runs (C: a short-lived worker).
CREATE FUNCTION flinkml._reap_after_commit(model_name text) RETURNS void
	AS 'MODULE_PATHNAME', 'flinkml_reap_after_commit_sql' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION flinkml._reap_after_commit(text) FROM PUBLIC;

-- Mark a model stale and stop its stream: its follower drops the slot, or,
-- when none runs, a reaper does once this transaction commits.
CREATE FUNCTION flinkml._mark_stale(model_name text, reason text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE flinkml.models SET stale = reason, stale_at = now() WHERE name = model_name AND stale IS NULL;
	UPDATE flinkml.streams SET enabled = false, last_error = 'the model is stale: ' || reason, last_error_at = now()
	WHERE model = model_name AND enabled;
	IF FOUND THEN
		PERFORM flinkml._reap_after_commit(model_name);
	END IF;
END $$;
REVOKE ALL ON FUNCTION flinkml._mark_stale(text, text) FROM PUBLIC;

-- The names of the columns an ALTER TABLE command changed the type of (C:
-- the command's subcommands are not visible to SQL).
CREATE FUNCTION flinkml._altered_columns(cmd pg_ddl_command) RETURNS text[]
	AS 'MODULE_PATHNAME', 'flinkml_altered_columns' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION flinkml._altered_columns(pg_ddl_command) FROM PUBLIC;
CREATE FUNCTION flinkml._alters_triggers(cmd pg_ddl_command) RETURNS boolean
	AS 'MODULE_PATHNAME', 'flinkml_alters_triggers' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION flinkml._alters_triggers(pg_ddl_command) FROM PUBLIC;

-- Check the models of one table after an ALTER: columns followed by attribute
-- number (a rename renames them in the model; a dropped column or a changed
-- type makes it stale), the triggers of attached models (present, enabled)
-- when the command touched triggers, the WAL of followed ones (REPLICA
-- IDENTITY FULL, logged).
CREATE FUNCTION flinkml._check_table(relid oid, retyped text[], triggers boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
BEGIN
	FOR m IN SELECT * FROM flinkml.models WHERE source = relid AND stale IS NULL FOR NO KEY UPDATE LOOP
		BEGIN
			PERFORM flinkml._check_model(m, retyped, triggers);
		EXCEPTION WHEN OTHERS THEN
			-- no model, however odd its row, may stop another role's DDL
			PERFORM flinkml._mark_stale(m.name, 'it could not be checked after a change of its table: ' || left(SQLERRM, 200));
		END;
	END LOOP;
END $$;
REVOKE ALL ON FUNCTION flinkml._check_table(oid, text[], boolean) FROM PUBLIC;

-- Is the table a Citus table (distributed, reference, or Citus-managed
-- local)?  Its rows are written on the workers' shards: the coordinator's
-- triggers never fire and its WAL never carries them.
CREATE FUNCTION flinkml._is_citus_table(rel regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'flinkml_is_citus_table' LANGUAGE C STABLE STRICT;

-- Does the table take part in inheritance (a partition, partitioned, a
-- parent or a child)?  Its triggers then see only the statements naming
-- it, and the WAL carries its children's rows as theirs.
CREATE FUNCTION flinkml._in_hierarchy(rel regclass) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = rel AND (c.relispartition OR c.relkind = 'p'))
	    OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = rel OR i.inhparent = rel)
$$;

CREATE FUNCTION flinkml._check_model(m flinkml.models, retyped text[], triggers boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	names text[];
	gone text;
	changed text;
	rel pg_class;
	following boolean := EXISTS (SELECT 1 FROM flinkml.streams s WHERE s.model = m.name);
	time_name text;
BEGIN
	SELECT * INTO rel FROM pg_class WHERE oid = m.source;
	-- a window model's time column, followed by attribute number too
	IF m.time_attnum IS NOT NULL THEN
		SELECT a.attname INTO time_name FROM pg_attribute a
		WHERE a.attrelid = m.source AND a.attnum = m.time_attnum AND NOT a.attisdropped;
		IF time_name IS NULL THEN
			PERFORM flinkml._mark_stale(m.name, format('the time column of %s (attribute %s) was dropped', m.source, m.time_attnum));
			RETURN;
		ELSIF time_name = ANY (retyped) THEN
			PERFORM flinkml._mark_stale(m.name, format('time column %I of %s changed type', time_name, m.source));
			RETURN;
		ELSIF time_name IS DISTINCT FROM m.time_column THEN
			UPDATE flinkml.models SET time_column = time_name WHERE name = m.name;
		END IF;
	END IF;
	-- every column still under its name but at another number: renumbered
	-- (a restore), not renamed; triggers and followers read numbers
	IF flinkml._attnums_by_name(m) IS DISTINCT FROM m.attnums AND flinkml._attnums_by_name(m) IS NOT NULL THEN
		IF m.attached OR following THEN
			PERFORM flinkml._mark_stale(m.name, format('the columns of %s were renumbered (as a restore from a dump does after dropped columns): detach and attach, or unfollow and follow, again', m.source));
		ELSE
			UPDATE flinkml.models SET attnums = flinkml._attnums_by_name(m) WHERE name = m.name;
		END IF;
		RETURN;
	END IF;
	SELECT array_agg(a.attname::text ORDER BY u.i),
	       string_agg(format('%s', u.n), ', ') FILTER (WHERE a.attname IS NULL AND u.n > 0)
	INTO names, gone
	FROM unnest(m.attnums) WITH ORDINALITY u(n, i)
	LEFT JOIN pg_attribute a ON a.attrelid = m.source AND a.attnum = u.n AND u.n > 0 AND NOT a.attisdropped;
	IF gone IS NOT NULL THEN
		PERFORM flinkml._mark_stale(m.name, format('a column of %s (attribute %s) was dropped', m.source, gone));
		RETURN;
	END IF;
	-- names[1] target, names[2] weight (NULL: none), names[3:] features
	IF names[1] IS DISTINCT FROM m.target OR names[2] IS DISTINCT FROM m.weight
	   OR coalesce(names[3:], '{}') IS DISTINCT FROM m.features THEN
		UPDATE flinkml.models SET target = names[1], weight = names[2], features = coalesce(names[3:], '{}')
		WHERE name = m.name;
	END IF;
	SELECT string_agg(quote_ident(c), ', ') INTO changed FROM unnest(retyped) c WHERE c = ANY (names);
	IF changed IS NOT NULL THEN
		PERFORM flinkml._mark_stale(m.name, format('column %s of %s changed type (ALTER COLUMN TYPE rewrites the rows without firing triggers)', changed, m.source));
	ELSIF triggers AND m.attached AND NOT flinkml._triggers_intact(m) THEN
		PERFORM flinkml._mark_stale(m.name, format('a trigger of the model on %s was disabled, renamed or dropped', m.source));
	ELSIF (m.attached OR following) AND flinkml._in_hierarchy(m.source) THEN
		PERFORM flinkml._mark_stale(m.name, format('%s became a partition, a parent or a child: its triggers and the WAL would miss rows written through the others', m.source));
	ELSIF following AND (rel.relreplident <> 'f' OR rel.relpersistence <> 'p') THEN
		PERFORM flinkml._mark_stale(m.name, format('%s is no longer a logged table with REPLICA IDENTITY FULL', m.source));
	END IF;
END $$;
REVOKE ALL ON FUNCTION flinkml._check_model(flinkml.models, text[], boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION flinkml._check_table(oid, text[], boolean) FROM PUBLIC;

CREATE FUNCTION flinkml._on_ddl_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c record;
	r record;
BEGIN
	FOR c IN
		SELECT CASE WHEN d.classid = 'pg_class'::regclass THEN d.objid
		            ELSE (SELECT t.tgrelid FROM pg_trigger t WHERE t.oid = d.objid) END AS relid,
		       CASE WHEN d.command_tag = 'ALTER TABLE' THEN flinkml._altered_columns(d.command) END AS retyped,
		       d.command_tag = 'ALTER TRIGGER'
		       OR (d.command_tag = 'ALTER TABLE' AND flinkml._alters_triggers(d.command)) AS triggers
		FROM pg_event_trigger_ddl_commands() d
		WHERE d.classid IN ('pg_class'::regclass, 'pg_trigger'::regclass)
	LOOP
		-- the table, its parents (CREATE TABLE ... PARTITION OF / INHERITS) and
		-- its children (ATTACH PARTITION, ALTER TABLE ... INHERIT runs on the child)
		FOR r IN SELECT c.relid AS oid
		         UNION SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid = c.relid
		         UNION SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = c.relid LOOP
			IF r.oid IS NOT NULL AND EXISTS (SELECT 1 FROM flinkml.models m WHERE m.source = r.oid) THEN
				PERFORM flinkml._check_table(r.oid, coalesce(c.retyped, '{}'), c.triggers);
			END IF;
		END LOOP;
		-- a distributed table's model finds its state table by the table's
		-- name (flinkml._shard_state_name): renamed, it is lost, and says so
		PERFORM flinkml._mark_stale(m.name, format('its distributed table was renamed to %s: the triggers on its shards no longer find the model''s state (detach and attach it again)',
		                                           m.source::regclass))
		FROM flinkml.models m
		WHERE m.source = c.relid AND m.shard_state IS NOT NULL AND m.stale IS NULL
		  AND m.shard_state IS DISTINCT FROM flinkml._shard_state_name(m.source, m.name);
	END LOOP;
END $$;
REVOKE ALL ON FUNCTION flinkml._on_ddl_end() FROM PUBLIC;

CREATE FUNCTION flinkml._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	d record;
	m flinkml.models;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'flinkml') THEN
		RETURN;		-- DROP EXTENSION flinkml itself
	END IF;
	-- tables and columns first: a dropped table's triggers go with it
	FOR d IN SELECT * FROM pg_event_trigger_dropped_objects() o
	         WHERE o.classid IN ('pg_class'::regclass, 'pg_trigger'::regclass)
	         ORDER BY o.classid = 'pg_trigger'::regclass LOOP
		IF d.classid = 'pg_class'::regclass THEN
			FOR m IN SELECT * FROM flinkml.models
			         WHERE source = d.objid AND (d.objsubid = 0 OR d.objsubid = ANY (attnums)) LOOP
				IF d.objsubid = 0 THEN
					UPDATE flinkml.models SET attached = false WHERE name = m.name;
					PERFORM flinkml._mark_stale(m.name, format('its table %s was dropped', d.object_identity));
				ELSE
					PERFORM flinkml._mark_stale(m.name, format('column %s was dropped', d.object_identity));
				END IF;
			END LOOP;
		ELSE
			FOR m IN SELECT * FROM flinkml.models x WHERE x.attached AND x.stale IS NULL
			         AND d.object_identity = ANY (ARRAY(
			             SELECT format('%I on %s', 'flinkml_' || x.name || sfx, x.source::regclass::text)
			             FROM unnest(ARRAY['_ins', '_upd', '_del', '_trunc']) sfx)) LOOP
				PERFORM flinkml._mark_stale(m.name, format('its trigger %s was dropped', d.object_identity));
			END LOOP;
		END IF;
	END LOOP;
END $$;
REVOKE ALL ON FUNCTION flinkml._on_sql_drop() FROM PUBLIC;

-- DROP EXTENSION flinkml: every slot flinkml made gets a follower, which
-- drops it and exits once the drop has committed (C: the command's target
-- is not visible to SQL).
CREATE FUNCTION flinkml._on_ddl_start() RETURNS event_trigger
	AS 'MODULE_PATHNAME', 'flinkml_on_ddl_start' LANGUAGE C;
REVOKE ALL ON FUNCTION flinkml._on_ddl_start() FROM PUBLIC;

CREATE EVENT TRIGGER flinkml_ddl_end ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER', 'CREATE TABLE', 'CREATE TRIGGER') EXECUTE FUNCTION flinkml._on_ddl_end();
CREATE EVENT TRIGGER flinkml_sql_drop ON sql_drop EXECUTE FUNCTION flinkml._on_sql_drop();
CREATE EVENT TRIGGER flinkml_ddl_start ON ddl_command_start
	WHEN TAG IN ('DROP EXTENSION') EXECUTE FUNCTION flinkml._on_ddl_start();
-- Issue 11: regression diagnostics (src/diagnostics.c, src/core/lr_diag.c).
-- Influence per row, variance inflation factors, nested-model F tests,
-- heteroskedasticity and autocorrelation tests.
-------------------------------------------------------------------------------
CREATE TYPE linreg_influence_result AS (
	hat float8,				-- leverage (R's hatvalues)
	rstandard float8,		-- internally studentised residual
	rstudent float8,		-- externally studentised residual
	cooks_distance float8,
	dffits float8,
	covratio float8
);
CREATE FUNCTION linreg_influence(model linreg, y float8, x float8[]) RETURNS linreg_influence_result
	AS 'MODULE_PATHNAME', 'linreg_influence' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION linreg_influence(model linreg, y float8, x float8[], weight float8)
	RETURNS linreg_influence_result
	AS 'MODULE_PATHNAME', 'linreg_influence_w' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION linreg_vif(model linreg) RETURNS float8[]
	AS 'MODULE_PATHNAME', 'linreg_vif' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE linreg_anova_result AS (
	res_df_small float8,	-- residual df of the smaller model
	rss_small float8,
	res_df float8,			-- residual df of the bigger model
	rss float8,
	df float8,				-- res_df_small - res_df
	sum_sq float8,			-- rss_small - rss
	f float8,
	p_value float8
);
CREATE FUNCTION linreg_anova(small linreg, big linreg) RETURNS linreg_anova_result
	AS 'MODULE_PATHNAME', 'linreg_anova' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE linreg_test_result AS (statistic float8, df float8, p_value float8);
CREATE FUNCTION linreg_bp_accum(linreg_state, linreg, float8, float8[]) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_bp_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_bp_accum(linreg_state, linreg, float8, float8[], boolean) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_bp_accum_flag' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_white_accum(linreg_state, linreg, float8, float8[]) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_white_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_white_accum(linreg_state, linreg, float8, float8[], boolean) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_white_accum_flag' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_bp_accum(linreg_state, linreg, float8, float8[], boolean, float8) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_bp_accum_w' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_white_accum(linreg_state, linreg, float8, float8[], boolean, float8) RETURNS linreg_state
	AS 'MODULE_PATHNAME', 'linreg_white_accum_w' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_bp_final_w(linreg_state) RETURNS linreg_test_result
	AS 'MODULE_PATHNAME', 'linreg_bp_final_w' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_bp_final(linreg_state) RETURNS linreg_test_result
	AS 'MODULE_PATHNAME', 'linreg_bp_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_bp_final_flag(linreg_state) RETURNS linreg_test_result
	AS 'MODULE_PATHNAME', 'linreg_bp_final_flag' LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- The state is the auxiliary regression's linreg_state (of e^2 on the
-- regressors): combinable, shippable in text, so parallel safe and pushed
-- down where linreg_state aggregates are.
CREATE AGGREGATE linreg_bptest(model linreg, y float8, x float8[]) (
	SFUNC = linreg_bp_accum, STYPE = linreg_state, FINALFUNC = linreg_bp_final,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE
);
CREATE AGGREGATE linreg_bptest(model linreg, y float8, x float8[], studentize boolean) (
	SFUNC = linreg_bp_accum, STYPE = linreg_state, FINALFUNC = linreg_bp_final_flag,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE
);
-- Weighted models (lmtest::bptest of a weighted lm): the model's weights, row by row.
CREATE AGGREGATE linreg_bptest(model linreg, y float8, x float8[], studentize boolean, weight float8) (
	SFUNC = linreg_bp_accum, STYPE = linreg_state, FINALFUNC = linreg_bp_final_w,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE
);
CREATE AGGREGATE linreg_white_test(model linreg, y float8, x float8[]) (
	SFUNC = linreg_white_accum, STYPE = linreg_state, FINALFUNC = linreg_bp_final,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE
);
CREATE AGGREGATE linreg_white_test(model linreg, y float8, x float8[], studentize boolean) (
	SFUNC = linreg_white_accum, STYPE = linreg_state, FINALFUNC = linreg_bp_final_flag,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE
);
CREATE AGGREGATE linreg_white_test(model linreg, y float8, x float8[], studentize boolean, weight float8) (
	SFUNC = linreg_white_accum, STYPE = linreg_state, FINALFUNC = linreg_bp_final_w,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE
);

CREATE TYPE linreg_dw_result AS (statistic float8, p_value float8, n bigint, skipped bigint, exact boolean);
CREATE FUNCTION linreg_dw_accum(internal, linreg, float8, float8[], float8) RETURNS internal
	AS 'MODULE_PATHNAME', 'linreg_dw_accum' LANGUAGE C IMMUTABLE;
CREATE FUNCTION linreg_dw_accum(internal, linreg, float8, float8[], timestamptz) RETURNS internal
	AS 'MODULE_PATHNAME', 'linreg_dw_accum_ts' LANGUAGE C IMMUTABLE;
CREATE FUNCTION linreg_dw_accum(internal, linreg, float8, float8[], float8, boolean) RETURNS internal
	AS 'MODULE_PATHNAME', 'linreg_dw_accum_exact' LANGUAGE C IMMUTABLE;
CREATE FUNCTION linreg_dw_accum(internal, linreg, float8, float8[], timestamptz, boolean) RETURNS internal
	AS 'MODULE_PATHNAME', 'linreg_dw_accum_ts_exact' LANGUAGE C IMMUTABLE;
CREATE FUNCTION linreg_dw_final(internal) RETURNS linreg_dw_result
	AS 'MODULE_PATHNAME', 'linreg_dw_final' LANGUAGE C IMMUTABLE;
-- Call as linreg_dwtest(model, y, x, key ORDER BY key): the rows must come in key order.
-- exact: NULL for lmtest's default (the exact p value below 100 rows, the
-- normal approximation from 100), true or false to choose.
CREATE AGGREGATE linreg_dwtest(model linreg, y float8, x float8[], order_key float8) (
	SFUNC = linreg_dw_accum, STYPE = internal, FINALFUNC = linreg_dw_final
);
CREATE AGGREGATE linreg_dwtest(model linreg, y float8, x float8[], order_key timestamptz) (
	SFUNC = linreg_dw_accum, STYPE = internal, FINALFUNC = linreg_dw_final
);
CREATE AGGREGATE linreg_dwtest(model linreg, y float8, x float8[], order_key float8, exact boolean) (
	SFUNC = linreg_dw_accum, STYPE = internal, FINALFUNC = linreg_dw_final
);
CREATE AGGREGATE linreg_dwtest(model linreg, y float8, x float8[], order_key timestamptz, exact boolean) (
	SFUNC = linreg_dw_accum, STYPE = internal, FINALFUNC = linreg_dw_final
);

-------------------------------------------------------------------------------
-- Test-then-train error and drift (flinkml.evaluations, filled by the
-- triggers and followers before each change is folded in).
CREATE FUNCTION flinkml._f_upper_p(f float8, df1 float8, df2 float8) RETURNS float8
	AS 'MODULE_PATHNAME', 'flinkml_f_upper_p' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The error of the model on the changes, per time bucket: changes, rows,
-- the mean squared error and R^2 of the version that was active when each
-- change arrived (versions in the bucket: the newest one).
CREATE FUNCTION flinkml.evaluation_series(name text, bucket interval DEFAULT '1 minute',
	OUT bucket_start timestamptz, OUT version integer, OUT changes bigint, OUT rows bigint,
	OUT mse float8, OUT r2 float8)
RETURNS SETOF record LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	WITH e AS (
		SELECT pg_catalog.date_bin(bucket, e.at, TIMESTAMPTZ '2000-01-01') AS b, e.*
		FROM flinkml.evaluations e WHERE e.model OPERATOR(pg_catalog.=) name
		AND NOT e.challenger	-- the version that predicted, not a challenger beside it
	), g AS (
		SELECT b, pg_catalog.max(e.version) AS version, pg_catalog.count(*) AS changes,
		       pg_catalog.sum(e.rows)::bigint AS rows, pg_catalog.sum(e.weight) AS w,
		       pg_catalog.sum(e.sse) AS sse,
		       pg_catalog.sum(e.weight OPERATOR(pg_catalog.*) e.mean_y) OPERATOR(pg_catalog./) pg_catalog.sum(e.weight) AS mean_y
		FROM e GROUP BY b
	)
	-- OPERATOR(...) binds every operator at one precedence, left to right:
	-- each product and quotient below is in its own parentheses.
	SELECT g.b, g.version, g.changes, g.rows, g.sse OPERATOR(pg_catalog./) g.w,
	       1.0::float8 OPERATOR(pg_catalog.-) (g.sse OPERATOR(pg_catalog./) NULLIF(
	           (SELECT pg_catalog.sum(e.m2_y OPERATOR(pg_catalog.+) (e.weight OPERATOR(pg_catalog.*)
	                   ((e.mean_y OPERATOR(pg_catalog.-) g.mean_y) OPERATOR(pg_catalog.^) 2::float8)))
	            FROM e WHERE e.b OPERATOR(pg_catalog.=) g.b), 0::float8))
	FROM g ORDER BY g.b
$$;

-- Drift: the active version's mean squared error on the changes of the
-- last `recent` against its residual variance on the rows it was fitted on.
-- Without drift a new row's prediction error has variance sigma^2 (1 + h),
-- h its leverage (small against 1 for a model of many rows), so the ratio
-- of the two is about F(recent rows, residual df): p_value = P(F >= ratio),
-- and drifting when it is below alpha.
CREATE FUNCTION flinkml.drift(name text, recent interval DEFAULT '1 hour', alpha float8 DEFAULT 0.01,
	OUT model text, OUT version integer, OUT train_mse float8, OUT train_df float8,
	OUT recent_changes bigint, OUT recent_rows bigint, OUT recent_mse float8,
	OUT ratio float8, OUT p_value float8, OUT drifting boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(name);
	f @extschema@.linreg;
	w float8;
	sse float8;
BEGIN
	model := m.name;
	version := m.active_version;
	SELECT v.fit INTO f FROM flinkml.versions v WHERE v.model = m.name AND v.version = m.active_version;
	IF f IS NOT NULL THEN
		SELECT st.sigma ^ 2, st.df_resid INTO train_mse, train_df FROM @extschema@.linreg_stats(f) st;
	END IF;
	SELECT count(*), sum(e.rows)::bigint, sum(e.weight), sum(e.sse)
	INTO recent_changes, recent_rows, w, sse
	FROM flinkml.evaluations e
	WHERE e.model = m.name AND e.version = m.active_version AND e.at > now() - recent;
	recent_mse := sse / nullif(w, 0);
	ratio := recent_mse / nullif(train_mse, 0);
	IF ratio IS NOT NULL AND train_df > 0 AND recent_rows > 0 THEN
		p_value := flinkml._f_upper_p(ratio, recent_rows, train_df);
	END IF;
	drifting := p_value < alpha;
	RETURN;
END $$;

-- Drift of every model one may read, with the defaults above.
CREATE VIEW flinkml.model_drift WITH (security_invoker = true) AS
	SELECT d.* FROM flinkml.models m, LATERAL flinkml.drift(m.name) d;
GRANT SELECT ON flinkml.model_drift TO PUBLIC;

-------------------------------------------------------------------------------
-- Scale-out: one state over the leaf partitions of a partitioned table, one
-- aggregate per leaf (README "postgres_fdw: one model over foreign partitions").
--
-- PostgreSQL 15's postgres_fdw never ships a partial aggregate: an aggregate
-- over a parent whose partitions are foreign tables fetches every row (a
-- partitionwise aggregate pushes down only when grouped by the partition
-- key).  An aggregate over one foreign table is shipped whole when its server
-- lists `extensions 'flinkml'` and every argument is shippable.  So the query
-- built here is a UNION ALL of one linreg_state per leaf, merged locally in
-- leaf order:
--
--   SELECT linreg_merge(p.s ORDER BY p.i) FROM (
--     SELECT linreg_state(y::float8, ARRAY[x1, x2]::float8[]) AS s, 1 AS i FROM leaf_1
--     UNION ALL ...) p
--
-- - `ARRAY[...]::float8[]` casts each element (the parser pushes the cast
--   into the constructor), which postgres_fdw ships; an all-integer
--   `ARRAY[a, b]` left to the aggregate's implicit cast is an ArrayCoerceExpr
--   (int4[] to float8[]), which postgres_fdw 15 does not ship.
-- - The Append under linreg_merge runs the remote aggregates concurrently
--   when the servers have `async_capable 'true'`; `ORDER BY p.i` fixes the
--   merge order whatever order they finish in (a merge is exact to the
--   double-double's last bits, not commutative in them), so the state is the
--   same bits every time, and the same as over local partitions with the same
--   rows.  The coefficients equal those of one aggregate over all the rows.
-- - Columns only, no expressions: every identifier is quoted (%I), the leaves
--   are named by OID (%s of a regclass, schema-qualified under this search
--   path), every function and type is schema-qualified.  SECURITY INVOKER:
--   the caller needs SELECT on the parent's columns (checked here, so it
--   reads nothing the plain aggregate over the parent would not) and on each
--   leaf (checked by PostgreSQL, as a query of the leaf does).  Row-level
--   security active on the parent or a leaf is refused: the parent's policies
--   do not apply to a query of a leaf, and a leaf's do not to a query of the
--   parent, so the result would not be the parent's.
-- - A postgres_fdw leaf whose server does not list extensions 'flinkml' has
--   its rows fetched (the same result, slowly): a NOTICE names it.
-- - One statement: a cancel or statement_timeout stops it, and postgres_fdw
--   cancels the remote queries.
-- - The leaves are read from the catalog (pg_partition_tree, in its order)
--   before the statement runs; a partition attached or detached concurrently
--   may be missed or seen, as by any query planned in between.
-------------------------------------------------------------------------------

-- The statement linreg_state_partitions runs, for EXPLAIN VERBOSE; errors
-- name the argument.
CREATE FUNCTION flinkml.linreg_state_partitions_query(parent regclass, y text, x text[],
	weight text DEFAULT NULL, intercept boolean DEFAULT true)
RETURNS text LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	kind "char";
	leaves regclass[];
	leaf regclass;
	cols text[] := ARRAY[y, weight] || x;
	col text;
	what text;
	typ regtype;
	num int2;
	i integer;
	agg text;
	xs text;
	parts text[] := '{}';
	srv name;
BEGIN
	IF parent IS NULL THEN
		RAISE EXCEPTION 'flinkml: parent must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF y IS NULL THEN
		RAISE EXCEPTION 'flinkml: y must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF x IS NULL OR pg_catalog.array_position(x, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'flinkml: x must be an array of column names without NULLs'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF intercept IS NULL THEN
		RAISE EXCEPTION 'flinkml: intercept must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT c.relkind INTO kind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) parent;
	IF kind IS DISTINCT FROM 'p' THEN
		RAISE EXCEPTION 'flinkml: parent % is not a partitioned table', parent
			USING ERRCODE = 'wrong_object_type',
			      HINT = 'Aggregate over it directly: SELECT linreg_state(y, ARRAY[x1, x2]::float8[]) FROM t.';
	END IF;
	-- every column must exist in the parent, be numeric, and be readable
	FOR i IN 1 .. pg_catalog.cardinality(cols) LOOP
		col := cols[i];
		CONTINUE WHEN col IS NULL;		-- no weight
		what := CASE i WHEN 1 THEN 'y' WHEN 2 THEN 'weight' ELSE pg_catalog.format('x[%s]', i - 2) END;
		SELECT a.atttypid::regtype, a.attnum INTO typ, num FROM pg_catalog.pg_attribute a
		WHERE a.attrelid OPERATOR(pg_catalog.=) parent AND a.attname OPERATOR(pg_catalog.=) col
		  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'flinkml: %: column "%" does not exist in %', what, col, parent
				USING ERRCODE = 'undefined_column';
		END IF;
		IF typ NOT IN ('pg_catalog.float8'::regtype, 'pg_catalog.float4'::regtype, 'pg_catalog.int2'::regtype,
		               'pg_catalog.int4'::regtype, 'pg_catalog.int8'::regtype, 'pg_catalog.numeric'::regtype) THEN
			RAISE EXCEPTION 'flinkml: %: column "%" of % has type %; it must be numeric', what, col, parent, typ
				USING ERRCODE = 'datatype_mismatch';
		END IF;
		IF NOT pg_catalog.has_column_privilege(parent, num, 'SELECT') THEN
			RAISE EXCEPTION 'flinkml: permission denied to read column "%" of %', col, parent
				USING ERRCODE = 'insufficient_privilege';
		END IF;
	END LOOP;
	SELECT pg_catalog.array_agg(t.relid ORDER BY t.ord) INTO leaves
	FROM pg_catalog.pg_partition_tree(parent) WITH ORDINALITY AS t(relid, parentrelid, isleaf, level, ord)
	WHERE t.isleaf;
	IF leaves IS NULL THEN
		RAISE EXCEPTION 'flinkml: parent % has no partitions', parent
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	FOREACH leaf IN ARRAY parent || leaves LOOP
		IF pg_catalog.row_security_active(leaf) THEN
			RAISE EXCEPTION 'flinkml: row-level security of % applies to role %', leaf, current_user
				USING ERRCODE = 'feature_not_supported',
				      HINT = pg_catalog.format('A query of each partition would not see the rows a query of %s sees; aggregate over %s directly.', parent, parent);
		END IF;
	END LOOP;
	-- a postgres_fdw leaf whose server does not list extensions 'flinkml'
	-- gives the same result, but its rows are fetched: say so
	FOR leaf, srv IN
		SELECT t.leaf, s.srvname FROM pg_catalog.unnest(leaves) AS t(leaf)
		JOIN pg_catalog.pg_foreign_table ft ON ft.ftrelid OPERATOR(pg_catalog.=) t.leaf
		JOIN pg_catalog.pg_foreign_server s ON s.oid OPERATOR(pg_catalog.=) ft.ftserver
		JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid OPERATOR(pg_catalog.=) s.srvfdw
		WHERE w.fdwname OPERATOR(pg_catalog.=) 'postgres_fdw'
		  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_options_to_table(s.srvoptions) o
		                  WHERE o.option_name OPERATOR(pg_catalog.=) 'extensions'
		                    AND 'flinkml' OPERATOR(pg_catalog.=) ANY (pg_catalog.string_to_array(
		                        pg_catalog.replace(o.option_value, ' ', ''), ',')))
	LOOP
		RAISE NOTICE 'flinkml: the server % of partition % does not list extensions ''flinkml'': its rows are fetched, not aggregated there', srv, leaf
			USING HINT = pg_catalog.format('ALTER SERVER %I OPTIONS (ADD extensions %L), or SET extensions to a list that includes flinkml.', srv, 'flinkml');
	END LOOP;
	xs := (SELECT pg_catalog.string_agg(pg_catalog.format('%I', f), ', ' ORDER BY o)
	       FROM pg_catalog.unnest(x) WITH ORDINALITY AS u(f, o));
	agg := pg_catalog.format('@extschema@.%s(%I::pg_catalog.float8, ARRAY[%s]::pg_catalog.float8[]%s)',
		CASE WHEN intercept THEN 'linreg_state' ELSE 'linreg_state_noint' END,
		y, coalesce(xs, ''),
		CASE WHEN weight IS NULL THEN '' ELSE pg_catalog.format(', %I::pg_catalog.float8', weight) END);
	FOR i IN 1 .. pg_catalog.cardinality(leaves) LOOP
		parts := parts || pg_catalog.format('SELECT %s AS s, %s AS i FROM %s', agg, i, leaves[i]);
	END LOOP;
	RETURN pg_catalog.format('SELECT @extschema@.linreg_merge(p.s ORDER BY p.i) FROM (%s) p',
		pg_catalog.array_to_string(parts, ' UNION ALL '));
END $$;

-- linreg_state over the leaf partitions of parent, each leaf's aggregate run
-- where the leaf is (shipped to its server for a postgres_fdw foreign table
-- whose server lists extensions 'flinkml'), merged here:
--   SELECT linreg_solve(flinkml.linreg_state_partitions('sales', 'price', ARRAY['age', 'income']));
CREATE FUNCTION flinkml.linreg_state_partitions(parent regclass, y text, x text[],
	weight text DEFAULT NULL, intercept boolean DEFAULT true)
RETURNS @extschema@.linreg_state LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	s @extschema@.linreg_state;
BEGIN
	EXECUTE flinkml.linreg_state_partitions_query(parent, y, x, weight, intercept) INTO s;
	RETURN s;
END $$;

-------------------------------------------------------------------------------
-- Issue 10, point 4: predictions as rows arrive (src/score_into.c).
-- score_into(model, table, column [, version_column]) puts a BEFORE INSERT OR
-- UPDATE ... FOR EACH ROW trigger on the table that writes the prediction of
-- the model's active version (flinkml.current_model: what linreg_predict by
-- name uses) into a float8 column of every new row, and the version number
-- into an integer column, in the writer's statement; NULL where a feature is
-- NULL.  The features are the table's columns with the model's feature
-- names (the model's source table, or any table with such columns), read by
-- attribute number.  stop_scoring takes the trigger away and leaves the
-- column's values.  The trigger runs as the writer and reads the model as
-- the writer (row-level security applies: a writer who may not read the
-- model gets an error, never its predictions); a stale model is an error.
-- An external consumer reads the predictions through ordinary logical
-- replication of the table (CREATE PUBLICATION ... FOR TABLE ..., README).
-------------------------------------------------------------------------------
-- What is scored where: one row per model and table, readable like the model.
-- Written by the gate only (as the extension's owner); drop_model stops
-- every scorer of the model first, and the row goes with the model.
CREATE TABLE flinkml.scorers (
	model text NOT NULL REFERENCES flinkml.models (name) ON DELETE CASCADE,
	tbl regclass NOT NULL,						-- by OID (a dump names it)
	column_name text NOT NULL,					-- float8: the prediction
	version_column text,						-- integer or bigint: the version, or NULL
	-- attribute numbers of the prediction, the version (0: none) and the
	-- features in tbl: what the trigger reads and writes
	attnums int2[] NOT NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (model, tbl)
);
SELECT pg_catalog.pg_extension_config_dump('flinkml.scorers', '');
ALTER TABLE flinkml.scorers ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON flinkml.scorers FOR SELECT	-- of a model one may read
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) model));
GRANT SELECT ON flinkml.scorers TO PUBLIC;

-- The trigger function (C).  Not executable by PUBLIC: only _start_scoring
-- makes triggers with it, and it checks it is one of those (its name
-- flinkml_score_<model>, its form, its flinkml.scorers row).
CREATE FUNCTION flinkml._score_row() RETURNS trigger
	AS 'MODULE_PATHNAME', 'flinkml_score_row' LANGUAGE C;
REVOKE ALL ON FUNCTION flinkml._score_row() FROM PUBLIC;

-- Run as the extension's owner by the gate flinkml._scoring_gate (C), which
-- checked that the caller may change the model and has TRIGGER on the table.
-- Checks the columns (an error naming the column and its type), records the
-- scorer and creates the trigger.  Trigger arguments: model, then the
-- attribute numbers of the prediction, the version (0: none) and the
-- features, so renames do no harm.
CREATE FUNCTION flinkml._start_scoring(model_name text, tbl regclass, column_name text, version_column text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
	rel pg_class;
	src text;
	a pg_attribute;
	nums int2[];
	f text;
	args text;
BEGIN
	SELECT * INTO STRICT m FROM flinkml.models WHERE name = model_name FOR NO KEY UPDATE;
	SELECT * INTO rel FROM pg_class c WHERE c.oid = tbl;
	SELECT format('%I.%I', n.nspname, rel.relname) INTO src FROM pg_namespace n WHERE n.oid = rel.relnamespace;
	IF rel.relkind <> 'r' THEN
		RAISE EXCEPTION 'flinkml: % is not an ordinary table (partitioned tables, views and foreign tables cannot be scored)', src
			USING ERRCODE = 'wrong_object_type';
	END IF;
	-- a scorer whose trigger is gone (dropped with its table, or by the
	-- table's owner) is forgotten
	DELETE FROM flinkml.scorers s WHERE s.model = m.name AND NOT EXISTS (
		SELECT 1 FROM pg_trigger t WHERE t.tgrelid = s.tbl AND t.tgname = 'flinkml_score_' || m.name);
	IF EXISTS (SELECT 1 FROM flinkml.scorers s WHERE s.model = m.name AND s.tbl = _start_scoring.tbl) THEN
		RAISE EXCEPTION 'flinkml: model "%" already scores %', m.name, src
			USING ERRCODE = 'duplicate_object',
			      HINT = format('SELECT flinkml.stop_scoring(%L, %L); first.', m.name, src);
	END IF;
	-- the prediction column: float8, writable, not one the model reads
	SELECT * INTO a FROM pg_attribute x
	WHERE x.attrelid = tbl AND x.attname = column_name AND x.attnum > 0 AND NOT x.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'flinkml: table % has no column "%" for the predictions', src, column_name
			USING ERRCODE = 'undefined_column';
	ELSIF a.atttypid <> 'float8'::regtype OR a.attgenerated <> '' THEN
		RAISE EXCEPTION 'flinkml: the prediction column "%" of % is of type %; it must be a float8 (double precision) column that is not generated',
			column_name, src, CASE WHEN a.attgenerated <> '' THEN 'generated ' ELSE '' END || format_type(a.atttypid, a.atttypmod)
			USING ERRCODE = 'datatype_mismatch';
	ELSIF column_name = ANY (m.features) OR (tbl = m.source AND column_name IN (m.target, m.weight)) THEN
		RAISE EXCEPTION 'flinkml: column "%" of % is read by model "%"; predictions need a column of their own', column_name, src, m.name
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- one writer per column: BEFORE triggers fire in name order, the last would win
	IF EXISTS (SELECT 1 FROM flinkml.scorers s WHERE s.tbl = _start_scoring.tbl
	           AND ARRAY[_start_scoring.column_name, _start_scoring.version_column] OPERATOR(pg_catalog.&&) ARRAY[s.column_name, s.version_column]) THEN
		RAISE EXCEPTION 'flinkml: a column among "%" of % is already written by another scorer',
			concat_ws('", "', column_name, version_column), src
			USING ERRCODE = 'duplicate_object';
	END IF;
	nums := ARRAY[a.attnum];
	IF version_column IS NULL THEN
		nums := nums || 0::int2;
	ELSE
		SELECT * INTO a FROM pg_attribute x
		WHERE x.attrelid = tbl AND x.attname = version_column AND x.attnum > 0 AND NOT x.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'flinkml: table % has no column "%" for the version', src, version_column
				USING ERRCODE = 'undefined_column';
		ELSIF a.atttypid NOT IN ('int4'::regtype, 'int8'::regtype) OR a.attgenerated <> '' THEN
			RAISE EXCEPTION 'flinkml: the version column "%" of % is of type %; it must be an integer or bigint column that is not generated',
				version_column, src, CASE WHEN a.attgenerated <> '' THEN 'generated ' ELSE '' END || format_type(a.atttypid, a.atttypmod)
				USING ERRCODE = 'datatype_mismatch';
		ELSIF version_column = column_name OR version_column = ANY (m.features)
		      OR (tbl = m.source AND version_column IN (m.target, m.weight)) THEN
			RAISE EXCEPTION 'flinkml: column "%" of % is already used; the version needs a column of its own', version_column, src
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		nums := nums || a.attnum;
	END IF;
	-- the features: the table's columns of the model's feature names
	FOREACH f IN ARRAY m.features LOOP
		SELECT * INTO a FROM pg_attribute x
		WHERE x.attrelid = tbl AND x.attname = f AND x.attnum > 0 AND NOT x.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'flinkml: table % has no column "%" (a feature of model "%")', src, f, m.name
				USING ERRCODE = 'undefined_column';
		ELSIF jsonb_typeof(m.levels -> (array_position(m.features, f) - 1)) IS DISTINCT FROM 'array' AND a.atttypid NOT IN ('float8'::regtype, 'float4'::regtype, 'int2'::regtype, 'int4'::regtype,
		                         'int8'::regtype, 'numeric'::regtype) THEN
			RAISE EXCEPTION 'flinkml: column "%" of % (a feature of model "%") is of type %; features must be float8, float4, integer or numeric',
				f, src, m.name, format_type(a.atttypid, a.atttypmod)
				USING ERRCODE = 'datatype_mismatch';
		END IF;
		-- a categorical feature (its levels are the model's): a text, varchar or boolean column
		IF jsonb_typeof(m.levels -> (array_position(m.features, f) - 1)) = 'array'
		   AND a.atttypid NOT IN ('text'::regtype, 'varchar'::regtype, 'bool'::regtype) THEN
			RAISE EXCEPTION 'flinkml: column "%" of % (a categorical feature of model "%") is of type %; it must be text, varchar or boolean',
				f, src, m.name, format_type(a.atttypid, a.atttypmod)
				USING ERRCODE = 'datatype_mismatch';
		END IF;
		nums := nums || a.attnum;
	END LOOP;
	INSERT INTO flinkml.scorers (model, tbl, column_name, version_column, attnums)
	VALUES (m.name, tbl, column_name, version_column, nums);
	SELECT string_agg(format(', %L', n), '' ORDER BY i) INTO args FROM unnest(nums) WITH ORDINALITY u(n, i);
	EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION flinkml._score_row(%L%s)',
	               'flinkml_score_' || m.name, src, m.name, args);
END $$;
REVOKE ALL ON FUNCTION flinkml._start_scoring(text, regclass, text, text) FROM PUBLIC;

-- Run as the extension's owner by the gate: drop the trigger (if the table
-- is still there) and forget the scorer.  The column keeps its values.
CREATE FUNCTION flinkml._stop_scoring(model_name text, tbl oid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	src text;
BEGIN
	SELECT format('%I.%I', n.nspname, c.relname) INTO src
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
	IF src IS NOT NULL THEN
		EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'flinkml_score_' || model_name, src);
	END IF;
	DELETE FROM flinkml.scorers s WHERE s.model = model_name AND s.tbl = _stop_scoring.tbl;
END $$;
REVOKE ALL ON FUNCTION flinkml._stop_scoring(text, oid) FROM PUBLIC;

-- The gate (C, src/score_into.c): the caller must be a member of the
-- model's owner; to start, it needs the TRIGGER privilege on the table (by
-- OID).  Then one of the two functions above, as the extension's owner.
CREATE FUNCTION flinkml._scoring_gate(model_name text, tbl regclass, column_name text, version_column text,
                                      start boolean) RETURNS void
	AS 'MODULE_PATHNAME', 'flinkml_scoring_gate' LANGUAGE C;

-- score_into: from now on every inserted or updated row of tbl gets the
-- active version's prediction in column_name (and its number in
-- version_column).  Rows already there are not touched (UPDATE them, or
-- fill them with linreg_predict(name, ...)).
CREATE FUNCTION flinkml.score_into(model text, tbl regclass, column_name text, version_column text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(model, true);
BEGIN
	PERFORM flinkml._scoring_gate(m.name, tbl, column_name, version_column, true);
END $$;

-- stop_scoring: take the trigger away; the column keeps its values.
CREATE FUNCTION flinkml.stop_scoring(model text, tbl regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models := flinkml._model(model, true);
BEGIN
	IF NOT EXISTS (SELECT 1 FROM flinkml.scorers s WHERE s.model = m.name AND s.tbl = stop_scoring.tbl) THEN
		RAISE EXCEPTION 'flinkml: model "%" does not score %', m.name, tbl
			USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM flinkml._scoring_gate(m.name, tbl, NULL, NULL, false);
END $$;
