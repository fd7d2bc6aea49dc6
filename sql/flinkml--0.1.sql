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
-------------------------------------------------------------------------------
-- The model registry (schema flinkml): models, their versions, and the
-- pending deltas that triggers and stream followers append.
-------------------------------------------------------------------------------
CREATE SCHEMA flinkml;

CREATE TABLE flinkml.models (
	name text PRIMARY KEY
		CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]*$' AND length(name) <= 48),
	source_schema text NOT NULL,
	source_table text NOT NULL,
	target text NOT NULL,
	features text[] NOT NULL,
	weight text,
	intercept boolean NOT NULL DEFAULT true,
	owner name NOT NULL DEFAULT current_user,
	head_version integer NOT NULL DEFAULT 0,	-- the newest version
	active_version integer,						-- the one predictions use
	attached boolean NOT NULL DEFAULT false,	-- triggers installed
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE flinkml.versions (
	model text NOT NULL REFERENCES flinkml.models (name) ON DELETE CASCADE,
	version integer NOT NULL,
	state @extschema@.linreg_state,		-- NULL: no rows
	fit @extschema@.linreg,				-- NULL: no rows
	made_by text NOT NULL CHECK (made_by IN ('fit', 'trigger', 'stream', 'manual')),
	rows bigint NOT NULL DEFAULT 0,
	figures jsonb,
	created_at timestamptz NOT NULL DEFAULT now(),
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
	made_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON flinkml.deltas (model);

SELECT pg_catalog.pg_extension_config_dump('flinkml.models', '');
SELECT pg_catalog.pg_extension_config_dump('flinkml.versions', '');
SELECT pg_catalog.pg_extension_config_dump('flinkml.deltas', '');
SELECT pg_catalog.pg_extension_config_dump('flinkml.deltas_id_seq', '');

-- Who may change a model: its owner and the roles that are members of it.
-- Who may read it: those, and the roles that may read its source table (who
-- could fit it themselves): a state holds sums over the table's rows, and a
-- model its means and covariances.
ALTER TABLE flinkml.models ENABLE ROW LEVEL SECURITY;
ALTER TABLE flinkml.versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE flinkml.deltas ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON flinkml.models FOR SELECT
	USING (pg_has_role(owner, 'MEMBER')
		   OR has_table_privilege(to_regclass(format('%I.%I', source_schema, source_table)), 'SELECT'));
CREATE POLICY create_own ON flinkml.models FOR INSERT WITH CHECK (pg_has_role(owner, 'MEMBER'));
CREATE POLICY change_own ON flinkml.models FOR UPDATE USING (pg_has_role(owner, 'MEMBER'));
CREATE POLICY drop_own ON flinkml.models FOR DELETE USING (pg_has_role(owner, 'MEMBER'));
CREATE POLICY read ON flinkml.versions FOR SELECT
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name = model));	-- a model one may read
CREATE POLICY write_own ON flinkml.versions FOR ALL
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name = model AND pg_has_role(m.owner, 'MEMBER')));
CREATE POLICY read ON flinkml.deltas FOR SELECT
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name = model));
-- writers append through the trigger (SECURITY DEFINER); directly, only the owner
CREATE POLICY append ON flinkml.deltas FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name = model AND pg_has_role(m.owner, 'MEMBER')));
CREATE POLICY compact_own ON flinkml.deltas FOR DELETE
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name = model AND pg_has_role(m.owner, 'MEMBER')));
GRANT USAGE ON SCHEMA flinkml TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON flinkml.models, flinkml.versions TO PUBLIC;
GRANT SELECT, INSERT, DELETE ON flinkml.deltas TO PUBLIC;
GRANT USAGE ON SEQUENCE flinkml.deltas_id_seq TO PUBLIC;

-- The model row, checked to exist and, with for_change, to be the caller's.
CREATE FUNCTION flinkml._model(model_name text, for_change boolean DEFAULT false)
RETURNS flinkml.models LANGUAGE plpgsql STABLE AS $$
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
			      HINT = format('Only its owner %I, or a role granted %I, can change it.', m.owner, m.owner);
	END IF;
	RETURN m;
END $$;

-- The source table, schema-qualified and quoted, for dynamic SQL.
CREATE FUNCTION flinkml._source(m flinkml.models) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT format('%I.%I', m.source_schema, m.source_table) $$;

-- SELECT list that folds rows of relation rel into a state for model m.
CREATE FUNCTION flinkml._state_query(m flinkml.models, rel text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT format('SELECT @extschema@.%s(%I::float8, ARRAY[%s]::float8[]%s) FROM %s',
		CASE WHEN m.intercept THEN 'linreg_state' ELSE 'linreg_state_noint' END,
		m.target,
		(SELECT coalesce(string_agg(format('%I', f), ', ' ORDER BY i), '') FROM unnest(m.features) WITH ORDINALITY AS u(f, i)),
		CASE WHEN m.weight IS NULL THEN '' ELSE format(', %I::float8', m.weight) END,
		rel)
$$;

-- A new version from a state; it becomes the head, and the active one
-- unless an older version was pinned by activate().
CREATE FUNCTION flinkml._add_version(m flinkml.models, s @extschema@.linreg_state, how text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	v integer;
	f @extschema@.linreg := CASE WHEN s IS NULL THEN NULL ELSE @extschema@.linreg_solve(s) END;
	fig jsonb;
BEGIN
	-- the models row is the lock that numbers versions: read it afresh
	SELECT * INTO m FROM flinkml.models WHERE name = m.name FOR UPDATE;
	v := m.head_version + 1;
	IF f IS NOT NULL THEN
		BEGIN
			SELECT jsonb_build_object('r_squared', st.r_squared, 'sigma', st.sigma, 'aic', st.aic)
			INTO fig FROM @extschema@.linreg_stats(f) st;
		EXCEPTION WHEN OTHERS THEN
			fig := NULL;
		END;
		IF m.features IS NOT NULL AND cardinality(m.features) > 0 THEN
			f := @extschema@.linreg_set_names(f, m.features);
		END IF;
	END IF;
	INSERT INTO flinkml.versions (model, version, state, fit, made_by, rows, figures)
	VALUES (m.name, v, s, f, how, coalesce(@extschema@.linreg_rows(s), 0), fig);
	UPDATE flinkml.models
	SET head_version = v,
	    active_version = CASE WHEN active_version IS NULL OR active_version = m.head_version THEN v ELSE active_version END
	WHERE name = m.name;
	RETURN v;
END $$;

-- create_model: register a model over a table and fit version 1.
CREATE FUNCTION flinkml.create_model(name text, source regclass, target text, features text[],
	weight text DEFAULT NULL, intercept boolean DEFAULT true)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	m flinkml.models;
	s @extschema@.linreg_state;
	col text;
	typ regtype;
BEGIN
	IF name IS NULL OR name !~ '^[A-Za-z_][A-Za-z0-9_]*$' OR length(name) > 48 THEN
		RAISE EXCEPTION 'flinkml: invalid model name %', coalesce(quote_literal(name), 'NULL')
			USING ERRCODE = 'invalid_name',
			      HINT = 'A model name is a letter or underscore followed by letters, digits or underscores (at most 48).';
	END IF;
	IF EXISTS (SELECT 1 FROM flinkml.models x WHERE x.name = create_model.name) THEN
		RAISE EXCEPTION 'flinkml: model "%" already exists', name
			USING ERRCODE = 'duplicate_object', HINT = 'Use flinkml.refit() for a new version, or flinkml.drop_model() first.';
	END IF;
	IF features IS NULL OR array_position(features, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'flinkml: features must be an array of column names without NULLs'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT has_table_privilege(source, 'SELECT') THEN
		RAISE EXCEPTION 'flinkml: permission denied to read %', source
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- every column must exist in the table and be numeric
	FOREACH col IN ARRAY features || target || CASE WHEN weight IS NULL THEN '{}'::text[] ELSE ARRAY[weight] END LOOP
		SELECT a.atttypid::regtype INTO typ FROM pg_attribute a
		WHERE a.attrelid = source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'flinkml: column "%" does not exist in %', col, source
				USING ERRCODE = 'undefined_column';
		END IF;
		IF typ NOT IN ('float8'::regtype, 'float4'::regtype, 'int2'::regtype, 'int4'::regtype,
		               'int8'::regtype, 'numeric'::regtype) THEN
			RAISE EXCEPTION 'flinkml: column "%" of % has type %; it must be numeric', col, source, typ
				USING ERRCODE = 'datatype_mismatch';
		END IF;
	END LOOP;
	INSERT INTO flinkml.models (name, source_schema, source_table, target, features, weight, intercept)
	SELECT create_model.name, n.nspname, c.relname, create_model.target, create_model.features,
	       create_model.weight, create_model.intercept
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source
	RETURNING * INTO m;
	EXECUTE flinkml._state_query(m, flinkml._source(m)) INTO s;
	RETURN flinkml._add_version(m, s, 'fit');
END $$;

-- refit: a full fit over the table as a new version; pending deltas are
-- consumed (the fit already holds their rows).
CREATE FUNCTION flinkml.refit(name text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	s @extschema@.linreg_state;
BEGIN
	PERFORM 1 FROM flinkml.models WHERE models.name = m.name FOR UPDATE;
	-- one statement, one snapshot: a delta is either in the fit's rows and
	-- consumed, or committed later and kept
	EXECUTE format('WITH consumed AS (DELETE FROM flinkml.deltas d WHERE d.model = %L RETURNING 1) %s',
	               m.name, flinkml._state_query(m, flinkml._source(m))) INTO s;
	RETURN flinkml._add_version(m, s, 'fit');
END $$;

-- The state of the head version plus every committed pending delta.
CREATE FUNCTION flinkml.current_state(name text) RETURNS @extschema@.linreg_state
LANGUAGE plpgsql STABLE AS $$
DECLARE
	m flinkml.models := flinkml._model(name);
	base @extschema@.linreg_state;
	a @extschema@.linreg_state;
	r @extschema@.linreg_state;
BEGIN
	SELECT v.state INTO base FROM flinkml.versions v WHERE v.model = m.name AND v.version = m.head_version;
	SELECT @extschema@.linreg_merge(d.added), @extschema@.linreg_merge(d.removed) INTO a, r
	FROM flinkml.deltas d WHERE d.model = m.name;
	RETURN flinkml._apply(base, a, r);
END $$;

-- base + added - removed, any of them NULL (no rows).
CREATE FUNCTION flinkml._apply(base @extschema@.linreg_state, added @extschema@.linreg_state,
	removed @extschema@.linreg_state)
RETURNS @extschema@.linreg_state LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN removed IS NULL THEN
			CASE WHEN base IS NULL THEN added WHEN added IS NULL THEN base
			     ELSE @extschema@.linreg_add(base, added) END
		ELSE @extschema@.linreg_subtract(
			CASE WHEN base IS NULL THEN added WHEN added IS NULL THEN base
			     ELSE @extschema@.linreg_add(base, added) END, removed)
	END
$$;

-- The model predictions use: the active version, or, when the active
-- version is the head, the head merged with the pending deltas.
CREATE FUNCTION flinkml.current_model(name text) RETURNS @extschema@.linreg
LANGUAGE plpgsql STABLE AS $$
DECLARE
	m flinkml.models := flinkml._model(name);
	f @extschema@.linreg;
	s @extschema@.linreg_state;
BEGIN
	IF m.active_version IS DISTINCT FROM m.head_version THEN
		SELECT v.fit INTO f FROM flinkml.versions v WHERE v.model = m.name AND v.version = m.active_version;
		RETURN f;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM flinkml.deltas d WHERE d.model = m.name) THEN
		SELECT v.fit INTO f FROM flinkml.versions v WHERE v.model = m.name AND v.version = m.head_version;
		RETURN f;
	END IF;
	s := flinkml.current_state(name);
	IF s IS NULL THEN
		RETURN NULL;
	END IF;
	f := @extschema@.linreg_solve(s);
	IF f IS NOT NULL AND cardinality(m.features) > 0 THEN
		f := @extschema@.linreg_set_names(f, m.features);
	END IF;
	RETURN f;
END $$;

-- compact: fold the pending deltas into a new head version.  Writers keep
-- appending meanwhile: only the deltas this transaction sees are consumed.
CREATE FUNCTION flinkml.compact(name text, how text DEFAULT 'trigger') RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	base @extschema@.linreg_state;
	a @extschema@.linreg_state;
	r @extschema@.linreg_state;
	n bigint;
BEGIN
	-- one compaction at a time per model: the models row is the lock
	SELECT * INTO m FROM flinkml.models WHERE models.name = m.name FOR UPDATE;
	WITH d AS (DELETE FROM flinkml.deltas d WHERE d.model = m.name RETURNING d.added, d.removed)
	SELECT @extschema@.linreg_merge(d.added), @extschema@.linreg_merge(d.removed), count(*) INTO a, r, n FROM d;
	IF n = 0 THEN
		RETURN m.head_version;
	END IF;
	SELECT v.state INTO base FROM flinkml.versions v WHERE v.model = m.name AND v.version = m.head_version;
	RETURN flinkml._add_version(m, flinkml._apply(base, a, r), how);
END $$;

CREATE FUNCTION flinkml.versions(name text)
RETURNS TABLE (version integer, active boolean, made_by text, rows bigint, created_at timestamptz,
               coefficients float8[], figures jsonb)
LANGUAGE sql STABLE AS $$
	SELECT v.version, v.version = m.active_version, v.made_by, v.rows, v.created_at,
	       @extschema@.linreg_coefficients(v.fit), v.figures
	FROM flinkml.versions v JOIN flinkml.models m ON m.name = v.model
	WHERE v.model = versions.name
	ORDER BY v.version
$$;

-- activate: predictions use this version (pinned); activating the head
-- version unpins (pending deltas apply again).
CREATE FUNCTION flinkml.activate(name text, version integer) RETURNS void
LANGUAGE plpgsql AS $$
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
LANGUAGE plpgsql AS $$
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

CREATE FUNCTION flinkml.drop_model(name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
BEGIN
	IF m.attached THEN
		PERFORM flinkml.detach(m.name);
	END IF;
	IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	           WHERE n.nspname = 'flinkml' AND c.relname = 'streams') THEN
		IF EXISTS (SELECT 1 FROM flinkml.streams s WHERE s.model = m.name) THEN
			PERFORM flinkml.unfollow(m.name);
		END IF;
	END IF;
	DELETE FROM flinkml.deltas d WHERE d.model = m.name;
	DELETE FROM flinkml.models WHERE models.name = m.name;
END $$;

-------------------------------------------------------------------------------
-- Trigger maintenance: statement-level AFTER triggers with transition tables
-- fold each statement's rows into one delta row, in the writer's transaction.
-------------------------------------------------------------------------------
-- The trigger (src/trigger.c) folds the statement's transition tables into
-- one delta row.  SECURITY DEFINER: any role that may write the table
-- maintains its model (appending deltas, and on TRUNCATE a new version),
-- though only the model's owner may write the registry directly.
-- (No SET search_path: every name it uses is schema-qualified, and a SET
-- clause would cost a configuration save and restore per statement.)
CREATE FUNCTION flinkml._fold_statement() RETURNS trigger
	AS 'MODULE_PATHNAME', 'flinkml_fold_statement'
	LANGUAGE C SECURITY DEFINER;

-- TRUNCATE: the table is empty, so is the model (a new version without rows).
CREATE FUNCTION flinkml._truncated(model_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m flinkml.models;
BEGIN
	SELECT * INTO m FROM flinkml.models WHERE name = model_name FOR UPDATE;
	IF FOUND THEN
		DELETE FROM flinkml.deltas d WHERE d.model = m.name;
		PERFORM flinkml._add_version(m, NULL, 'trigger');
	END IF;
END $$;

-- Trigger arguments: model, intercept, then attribute numbers of the
-- target, the weight (0: none) and the features, so renames do no harm.
CREATE FUNCTION flinkml._trigger_args(m flinkml.models) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT format('%L, %L, %L, %L', m.name, CASE WHEN m.intercept THEN 't' ELSE 'f' END,
	              (SELECT attnum FROM pg_attribute WHERE attrelid = flinkml._source(m)::regclass AND attname = m.target),
	              coalesce((SELECT attnum FROM pg_attribute WHERE attrelid = flinkml._source(m)::regclass AND attname = m.weight), 0))
	    || coalesce((SELECT string_agg(format(', %L', a.attnum), '' ORDER BY u.i)
	                 FROM unnest(m.features) WITH ORDINALITY u(f, i)
	                 JOIN pg_attribute a ON a.attrelid = flinkml._source(m)::regclass AND a.attname = u.f), '')
$$;

-- attach: keep the model exact under INSERT/UPDATE/DELETE/TRUNCATE.  The
-- table is locked against writers while the triggers are created and the
-- model is refitted, so no change falls between the fit and the triggers.
CREATE FUNCTION flinkml.attach(name text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	src text := flinkml._source(m);
	s @extschema@.linreg_state;
	args text;
BEGIN
	IF m.attached THEN
		RAISE EXCEPTION 'flinkml: model "%" is already attached to %', m.name, src
			USING ERRCODE = 'duplicate_object';
	END IF;
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', src);
	args := flinkml._trigger_args(m);
	EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS flinkml_new_rows '
	               'FOR EACH STATEMENT EXECUTE FUNCTION flinkml._fold_statement(%s)',
	               'flinkml_' || m.name || '_ins', src, args);
	EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS flinkml_old_rows '
	               'NEW TABLE AS flinkml_new_rows FOR EACH STATEMENT EXECUTE FUNCTION flinkml._fold_statement(%s)',
	               'flinkml_' || m.name || '_upd', src, args);
	EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS flinkml_old_rows '
	               'FOR EACH STATEMENT EXECUTE FUNCTION flinkml._fold_statement(%s)',
	               'flinkml_' || m.name || '_del', src, args);
	EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s '
	               'FOR EACH STATEMENT EXECUTE FUNCTION flinkml._fold_statement(%s)',
	               'flinkml_' || m.name || '_trunc', src, args);
	UPDATE flinkml.models SET attached = true WHERE models.name = m.name;
	-- start exact: a fresh fit of the table as it is now
	SELECT * INTO m FROM flinkml.models WHERE models.name = m.name;
	EXECUTE flinkml._state_query(m, src) INTO s;
	DELETE FROM flinkml.deltas d WHERE d.model = m.name;
	RETURN flinkml._add_version(m, s, 'fit');
END $$;

CREATE FUNCTION flinkml.detach(name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	src text := flinkml._source(m);
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['_ins', '_upd', '_del', '_trunc'] LOOP
		EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'flinkml_' || m.name || t, src);
	END LOOP;
	UPDATE flinkml.models SET attached = false WHERE models.name = m.name;
END $$;

-- Score with a registry model by name (the active version, looked up once per query).
CREATE FUNCTION linreg_predict(name text, x float8[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'linreg_predict_by_name' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

-------------------------------------------------------------------------------
-- Following the WAL: the output plugin "flinkml" (src/decoder.c) and a
-- background worker per model (src/follower.c) apply each committed
-- transaction exactly once.
-------------------------------------------------------------------------------
CREATE TABLE flinkml.streams (
	model text PRIMARY KEY REFERENCES flinkml.models (name) ON DELETE CASCADE,
	slot name NOT NULL,
	options text[] NOT NULL,				-- decoder options, name/value pairs
	enabled boolean NOT NULL DEFAULT true,
	last_lsn pg_lsn NOT NULL,				-- everything up to here is in the model
	synced_at timestamptz NOT NULL DEFAULT now(),	-- when the WAL ended at last_lsn
	last_commit_time timestamptz,			-- of the newest applied transaction
	rows_applied bigint NOT NULL DEFAULT 0,
	transactions_applied bigint NOT NULL DEFAULT 0,
	worker_pid integer,
	last_error text,
	last_error_at timestamptz,
	started_at timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('flinkml.streams', '');
ALTER TABLE flinkml.streams ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON flinkml.streams FOR SELECT USING (true);
CREATE POLICY write_own ON flinkml.streams FOR ALL
	USING (EXISTS (SELECT 1 FROM flinkml.models m WHERE m.name = model AND pg_has_role(m.owner, 'MEMBER')));
GRANT SELECT, INSERT, UPDATE, DELETE ON flinkml.streams TO PUBLIC;

CREATE FUNCTION flinkml._start_follower(model text) RETURNS integer
	AS 'MODULE_PATHNAME', 'flinkml_start_follower' LANGUAGE C STRICT;

-- PostgreSQL 15.20 and later only let the output plugins listed in
-- output_plugin_libraries decode; add flinkml for this transaction (a
-- superuser may), or explain how to allow it for good.
CREATE FUNCTION flinkml._allow_output_plugin() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	libs text := current_setting('output_plugin_libraries', true);
BEGIN
	IF libs IS NULL OR 'flinkml' = ANY (string_to_array(replace(libs, ' ', ''), ',')) THEN
		RETURN;
	END IF;
	BEGIN
		PERFORM set_config('output_plugin_libraries', libs || ', flinkml', true);
	EXCEPTION WHEN insufficient_privilege THEN
		RAISE EXCEPTION 'flinkml: the output plugin flinkml is not in output_plugin_libraries'
			USING ERRCODE = 'insufficient_privilege',
			      HINT = format('As a superuser: ALTER SYSTEM SET output_plugin_libraries = %L; SELECT pg_reload_conf();',
			                    libs || ', flinkml');
	END;
END $$;

-- One poll of a follower: apply the decoded transactions committed after
-- the stored LSN, up to the WAL position now, as one delta; store that
-- position.  The caller commits, then advances the slot to the result.
CREATE FUNCTION flinkml._stream_apply(model_name text) RETURNS pg_lsn
LANGUAGE plpgsql AS $$
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
BEGIN
	-- SKIP LOCKED: a row locked by unfollow() means stop, not wait
	SELECT * INTO st FROM flinkml.streams s WHERE s.model = model_name FOR UPDATE SKIP LOCKED;
	IF NOT FOUND OR NOT st.enabled THEN
		RETURN NULL;
	END IF;
	IF st.worker_pid IS DISTINCT FROM pg_backend_pid() THEN
		UPDATE flinkml.streams s SET worker_pid = pg_backend_pid() WHERE s.model = model_name;
	END IF;
	SELECT * INTO m FROM flinkml.models WHERE name = model_name;
	PERFORM flinkml._allow_output_plugin();
	WITH c AS (
		SELECT lsn,
		       split_part(data, E'\t', 1) AS flag,
		       split_part(data, E'\t', 2)::bigint AS changes,
		       nullif(split_part(data, E'\t', 3), '-') AS added,
		       nullif(split_part(data, E'\t', 4), '-') AS removed,
		       split_part(data, E'\t', 5)::timestamptz AS committed
		FROM pg_logical_slot_peek_changes(st.slot, upto, NULL, VARIADIC st.options)
		WHERE lsn > st.last_lsn
	), t AS (
		SELECT max(lsn) FILTER (WHERE flag = 'T') AS t_lsn FROM c
	)
	SELECT t.t_lsn, max(c.lsn),
	       @extschema@.linreg_merge(c.added::@extschema@.linreg_state) FILTER (WHERE t.t_lsn IS NULL OR c.lsn >= t.t_lsn),
	       @extschema@.linreg_merge(c.removed::@extschema@.linreg_state) FILTER (WHERE t.t_lsn IS NULL OR c.lsn >= t.t_lsn),
	       sum(c.changes), count(*), max(c.committed)
	INTO t_lsn, last_seen, a, r, changes, txns, committed
	FROM c, t GROUP BY t.t_lsn;

	-- a commit record may end past the flush position: never store less
	-- than the position of what was applied, or a redelivery would count it again
	upto := greatest(upto, last_seen);
	IF coalesce(txns, 0) = 0 AND st.synced_at > seen - interval '1 second' THEN
		-- nothing for this model: the slot may move on, the row need not
		RETURN upto;
	END IF;
	IF t_lsn IS NOT NULL THEN
		-- the table was truncated: the model starts again from no rows
		DELETE FROM flinkml.deltas d WHERE d.model = m.name;
		PERFORM flinkml._add_version(m, NULL, 'stream');
	END IF;
	IF a IS NOT NULL OR r IS NOT NULL THEN
		INSERT INTO flinkml.deltas (model, added, removed, made_by) VALUES (m.name, a, r, 'stream');
	END IF;
	UPDATE flinkml.streams s
	SET last_lsn = upto, synced_at = seen,
	    last_commit_time = coalesce(committed, s.last_commit_time),
	    rows_applied = s.rows_applied + coalesce(changes, 0),
	    transactions_applied = s.transactions_applied + coalesce(txns, 0)
	WHERE s.model = model_name;
	-- keep reads cheap: fold the pending deltas into a version now and then
	IF (SELECT count(*) FROM flinkml.deltas d WHERE d.model = m.name) >= 100 THEN
		PERFORM flinkml.compact(m.name, 'stream');
	END IF;
	RETURN upto;
END $$;

-- follow: learn from the WAL through logical decoding, off the writers'
-- path.  Creates the slot "flinkml_<model>", fits the table as of the slot's
-- start (the table is locked against writers for that moment), and starts
-- the follower.  Call it in a transaction of its own.
CREATE FUNCTION flinkml.follow(name text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	src text := flinkml._source(m);
	ident "char";
	-- slot names are lower case: keep distinct models distinct
	slot name := 'flinkml_' || left(lower(m.name), 40) ||
	             CASE WHEN m.name <> lower(m.name) OR length(m.name) > 40 THEN '_' || left(md5(m.name), 8) ELSE '' END;
	start pg_lsn;
	opts text[];
	s @extschema@.linreg_state;
BEGIN
	IF m.attached THEN
		RAISE EXCEPTION 'flinkml: model "%" is maintained by triggers; detach it first', m.name
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF EXISTS (SELECT 1 FROM flinkml.streams WHERE model = m.name) THEN
		RAISE EXCEPTION 'flinkml: model "%" is already following', m.name
			USING ERRCODE = 'duplicate_object';
	END IF;
	SELECT c.relreplident INTO ident FROM pg_class c WHERE c.oid = src::regclass;
	IF ident <> 'f' THEN
		RAISE EXCEPTION 'flinkml: table % must have REPLICA IDENTITY FULL to be followed', src
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = format('ALTER TABLE %s REPLICA IDENTITY FULL; so that deletes and updates carry the old row.', src);
	END IF;
	opts := ARRAY['relid', (src::regclass::oid)::text,
	              'target', (SELECT attnum::text FROM pg_attribute WHERE attrelid = src::regclass AND attname = m.target),
	              'features', (SELECT coalesce(string_agg(a.attnum::text, ',' ORDER BY u.i), '')
	                           FROM unnest(m.features) WITH ORDINALITY u(f, i)
	                           JOIN pg_attribute a ON a.attrelid = src::regclass AND a.attname = u.f),
	              'weight', coalesce((SELECT attnum::text FROM pg_attribute WHERE attrelid = src::regclass AND attname = m.weight), '0'),
	              'intercept', m.intercept::text];
	PERFORM flinkml._allow_output_plugin();
	-- no writer may commit between the slot's start and the fit
	EXECUTE format('LOCK TABLE %s IN SHARE MODE', src);
	SELECT lsn INTO start FROM pg_create_logical_replication_slot(slot, 'flinkml');
	EXECUTE flinkml._state_query(m, src) INTO s;
	DELETE FROM flinkml.deltas d WHERE d.model = m.name;
	PERFORM flinkml._add_version(m, s, 'fit');
	INSERT INTO flinkml.streams (model, slot, options, last_lsn) VALUES (m.name, slot, opts, start);
	RETURN flinkml._start_follower(m.name);
END $$;

-- unfollow: stop the follower; it drops its slot on the way out.
CREATE FUNCTION flinkml.unfollow(name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
	st flinkml.streams;
BEGIN
	-- locked: the launcher skips a model whose row is locked
	SELECT * INTO st FROM flinkml.streams s WHERE s.model = m.name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'flinkml: model "%" is not following', m.name USING ERRCODE = 'undefined_object';
	END IF;
	-- stop the worker, then take the lock a follower holds for its whole
	-- life: once granted, no follower runs and none can start (the launcher
	-- and new followers see it taken) until this transaction ends
	FOR i IN 1..100 LOOP
		EXIT WHEN pg_try_advisory_xact_lock(1718382445, hashtext(m.name));
		-- whoever follows the model now (the launcher may have started one)
		PERFORM pg_terminate_backend(l.pid)
		FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND l.classid = 1718382445::oid AND l.objid = hashtext(m.name)::oid AND l.objsubid = 2;
		PERFORM pg_sleep(0.1);
		IF i = 100 THEN
			RAISE EXCEPTION 'flinkml: the follower of model "%" did not stop', m.name
				USING ERRCODE = 'lock_not_available';
		END IF;
	END LOOP;
	PERFORM pg_drop_replication_slot(st.slot) FROM pg_replication_slots WHERE slot_name = st.slot;
	DELETE FROM flinkml.streams s WHERE s.model = m.name;
END $$;

CREATE VIEW flinkml.stream_status AS
SELECT s.model, s.slot, s.enabled,
       (a.pid IS NOT NULL) AS running, s.worker_pid,
       s.last_lsn,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.last_lsn)::bigint AS lag_bytes,
       extract(epoch FROM now() - s.synced_at)::float8 AS lag_seconds,
       s.rows_applied, s.transactions_applied, s.last_commit_time,
       s.last_error, s.last_error_at, s.started_at
FROM flinkml.streams s
LEFT JOIN pg_stat_activity a ON a.pid = s.worker_pid AND a.backend_type = 'flinkml follower';
GRANT SELECT ON flinkml.stream_status TO PUBLIC;

-- resume: start the follower of a model that is following but has none
-- running (after a server restart without the launcher).
CREATE FUNCTION flinkml.resume(name text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	m flinkml.models := flinkml._model(name, true);
BEGIN
	IF NOT EXISTS (SELECT 1 FROM flinkml.streams s WHERE s.model = m.name AND s.enabled) THEN
		RAISE EXCEPTION 'flinkml: model "%" is not following', m.name USING ERRCODE = 'undefined_object';
	END IF;
	RETURN flinkml._start_follower(m.name);
END $$;

-------------------------------------------------------------------------------
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
CREATE AGGREGATE linreg_white_test(model linreg, y float8, x float8[]) (
	SFUNC = linreg_white_accum, STYPE = linreg_state, FINALFUNC = linreg_bp_final,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE
);
CREATE AGGREGATE linreg_white_test(model linreg, y float8, x float8[], studentize boolean) (
	SFUNC = linreg_white_accum, STYPE = linreg_state, FINALFUNC = linreg_bp_final_flag,
	COMBINEFUNC = linreg_combine, PARALLEL = SAFE
);

CREATE TYPE linreg_dw_result AS (statistic float8, p_value float8, n bigint, skipped bigint);
CREATE FUNCTION linreg_dw_accum(internal, linreg, float8, float8[], float8) RETURNS internal
	AS 'MODULE_PATHNAME', 'linreg_dw_accum' LANGUAGE C IMMUTABLE;
CREATE FUNCTION linreg_dw_accum(internal, linreg, float8, float8[], timestamptz) RETURNS internal
	AS 'MODULE_PATHNAME', 'linreg_dw_accum_ts' LANGUAGE C IMMUTABLE;
CREATE FUNCTION linreg_dw_final(internal) RETURNS linreg_dw_result
	AS 'MODULE_PATHNAME', 'linreg_dw_final' LANGUAGE C IMMUTABLE;
-- Call as linreg_dwtest(model, y, x, key ORDER BY key): the rows must come in key order.
CREATE AGGREGATE linreg_dwtest(model linreg, y float8, x float8[], order_key float8) (
	SFUNC = linreg_dw_accum, STYPE = internal, FINALFUNC = linreg_dw_final
);
CREATE AGGREGATE linreg_dwtest(model linreg, y float8, x float8[], order_key timestamptz) (
	SFUNC = linreg_dw_accum, STYPE = internal, FINALFUNC = linreg_dw_final
);
