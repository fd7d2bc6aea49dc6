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
CREATE FUNCTION linreg_cv_accum(internal, float8, float8[], bigint, integer, float8[]) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_cv_final(internal) RETURNS linreg_cv_result
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE linreg_cv(y float8, x float8[], key bigint, folds integer, lambdas float8[]) (
	SFUNC = linreg_cv_accum, STYPE = internal, FINALFUNC = linreg_cv_final
);

CREATE FUNCTION linreg_robust_accum(internal, linreg, float8, float8[], text) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_robust_accum_w(internal, linreg, float8, float8[], float8, text) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION linreg_robust_final(internal) RETURNS float8[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE linreg_robust_se(model linreg, y float8, x float8[], type text) (
	SFUNC = linreg_robust_accum, STYPE = internal, FINALFUNC = linreg_robust_final
);
CREATE AGGREGATE linreg_robust_se(model linreg, y float8, x float8[], weight float8, type text) (
	SFUNC = linreg_robust_accum_w, STYPE = internal, FINALFUNC = linreg_robust_final
);
