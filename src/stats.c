/*
 * stats.c — inference statistics, term names, prediction intervals and
 * ridge solutions: SQL wrappers around src/core/lr_stats.c and the solver.
 *
 * Loops over terms or lambdas check for interrupts (cancel,
 * statement_timeout); a ridge path takes at most RIDGE_MAX_LAMBDAS lambdas.
 */
#include "diagnostics.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "core/lr_solve.h"
#include "core/lr_stats.h"

PG_FUNCTION_INFO_V1(linreg_set_names);
PG_FUNCTION_INFO_V1(linreg_names);
PG_FUNCTION_INFO_V1(linreg_stats);
PG_FUNCTION_INFO_V1(linreg_summary);
PG_FUNCTION_INFO_V1(linreg_vcov);
PG_FUNCTION_INFO_V1(linreg_predict_interval);
PG_FUNCTION_INFO_V1(linreg_solve_ridge);
PG_FUNCTION_INFO_V1(linreg_ridge_path);

#define NULLABLE(v) (isnan(v) ? (Datum) 0 : Float8GetDatum(v))

/* The longest lambda grid of linreg_ridge_path (one solve each); as linreg_cv's (cv.c). */
#define RIDGE_MAX_LAMBDAS 1000

static void
check_level(double level, const char *what)
{
	if (!(level > 0.0 && level < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: level must be between 0 and 1 (exclusive), got %g", what, level)));
}

static void
check_not_ridge(const LrModel *m, const char *what)
{
	if (m->lambda > 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s: standard errors are not defined for a ridge model (lambda = %g)", what, m->lambda),
				 errhint("Fit without penalty (linreg_solve) for inference statistics.")));
}

/* The name of term t (0-based, intercept first), palloc'd. */
static char *
term_name(const LrModel *m, int t)
{
	const char *nm = lr_model_names(m);
	int			j;

	if (m->intercept && t == 0)
		return pstrdup("(Intercept)");
	j = t - m->intercept;
	if (nm == NULL)
		return psprintf("x%d", j + 1);
	while (j-- > 0)
		nm += strlen(nm) + 1;
	return pstrdup(nm);
}

/* linreg_set_names(model, names text[]): the model with feature names (NULL removes them). */
Datum
linreg_set_names(PG_FUNCTION_ARGS)
{
	LrModel    *m = PG_GETARG_LRMODEL_P(0);
	const char **names = NULL;
	Size		bytes = 0;
	LrModel    *out;

	if (!PG_ARGISNULL(1))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
		Datum	   *vals;
		bool	   *nulls;
		int			n;

		if (ARR_NDIM(a) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("linreg_set_names: names must be a one-dimensional array")));
		deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &vals, &nulls, &n);
		if (n != m->nfeat)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("linreg_set_names: %d names for a model of %d features", n, m->nfeat)));
		names = palloc(sizeof(char *) * (n > 0 ? n : 1));
		for (int j = 0; j < n; j++)
		{
			CHECK_FOR_INTERRUPTS();
			if (nulls[j])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("linreg_set_names: name %d is NULL", j + 1)));
			names[j] = TextDatumGetCString(vals[j]);
			if (names[j][0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("linreg_set_names: name %d is empty", j + 1)));
			for (const char *c = names[j]; *c; c++)
				if ((unsigned char) *c < 0x20)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("linreg_set_names: name %d has a control character", j + 1)));
			bytes += strlen(names[j]) + 1;
		}
		if (n == 0)
			names = NULL;
	}
	out = palloc(lr_model_size(m->nfeat, m->intercept) + bytes);
	SET_VARSIZE(out, lr_model_with_names(m, names, (char *) out));
	PG_RETURN_POINTER(out);
}

/* Term names: (Intercept), then the feature names or x1..xp. */
Datum
linreg_names(PG_FUNCTION_ARGS)
{
	LrModel    *m = PG_GETARG_LRMODEL_P(0);
	int			nt = lr_model_nterms(m);
	Datum	   *vals = palloc(sizeof(Datum) * (nt > 0 ? nt : 1));

	for (int t = 0; t < nt; t++)
		vals[t] = CStringGetTextDatum(term_name(m, t));
	PG_RETURN_ARRAYTYPE_P(construct_array(vals, nt, TEXTOID, -1, false, TYPALIGN_INT));
}

static void
compute_stats(const LrModel *m, LrStats *st, double *se, double *cov, const char *what)
{
	int			rc;

	check_not_ridge(m, what);
	rc = lr_stats(m, st, se, cov);
	if (rc != LR_OK)
		flinkml_core_error(rc, what);
}

/* linreg_stats(model): one row of figures, as R's summary.lm / glance. */
Datum
linreg_stats(PG_FUNCTION_ARGS)
{
	LrModel    *m = PG_GETARG_LRMODEL_P(0);
	double	   *se = palloc(sizeof(double) * (lr_model_nterms(m) + 1));
	LrStats		st;
	TupleDesc	desc;
	Datum		v[15];
	bool		nulls[15];
	double		f[15];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "linreg_stats: return type must be a row type");
	compute_stats(m, &st, se, NULL, "linreg_stats");
	f[0] = 0;
	f[1] = st.df_resid;
	f[2] = st.sigma;
	f[3] = st.r2;
	f[4] = st.adj_r2;
	f[5] = st.fstat;
	f[6] = st.f_df1;
	f[7] = st.f_df2;
	f[8] = st.f_pvalue;
	f[9] = st.loglik;
	f[10] = st.aic;
	f[11] = st.bic;
	f[12] = st.rss;
	f[13] = st.tss;
	f[14] = m->cond;
	for (int i = 1; i < 15; i++)
	{
		nulls[i] = isnan(f[i]);
		v[i] = Float8GetDatum(f[i]);
	}
	v[0] = Int64GetDatum(st.n);
	nulls[0] = false;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, nulls)));
}

/* linreg_summary(model, level): the coefficient table, one row per term. */
Datum
linreg_summary(PG_FUNCTION_ARGS)
{
	LrModel    *m = PG_GETARG_LRMODEL_P(0);
	double		level = PG_GETARG_FLOAT8(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			nt = lr_model_nterms(m);
	double	   *se = palloc(sizeof(double) * (nt + 1));
	const unsigned char *al = lr_model_caliased(m);
	LrStats		st;
	double		q;

	check_level(level, "linreg_summary");
	compute_stats(m, &st, se, NULL, "linreg_summary");
	q = lr_t_quantile(1.0 - (1.0 - level) / 2.0, st.df_resid);
	InitMaterializedSRF(fcinfo, 0);
	for (int t = 0; t < nt; t++)
	{
		Datum		v[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};
		double		est = m->coef[t];
		double		tv = est / se[t];
		double		f[6];

		CHECK_FOR_INTERRUPTS();
		f[0] = est;
		f[1] = se[t];
		f[2] = tv;
		f[3] = lr_t_two_sided_p(tv, st.df_resid);
		f[4] = est - q * se[t];
		f[5] = est + q * se[t];
		v[0] = CStringGetTextDatum(term_name(m, t));
		for (int i = 0; i < 6; i++)
		{
			nulls[i + 1] = al[t] || isnan(f[i]);
			v[i + 1] = Float8GetDatum(f[i]);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
	}
	return (Datum) 0;
}

/* linreg_vcov(model): the coefficient covariance matrix, NULL rows for aliased terms. */
Datum
linreg_vcov(PG_FUNCTION_ARGS)
{
	LrModel    *m = PG_GETARG_LRMODEL_P(0);
	int			nt = lr_model_nterms(m);
	double	   *se = palloc(sizeof(double) * (nt + 1));
	double	   *cov = palloc(sizeof(double) * ((Size) nt * nt + 1));
	Datum	   *vals = palloc(sizeof(Datum) * ((Size) nt * nt + 1));
	bool	   *nulls = palloc(sizeof(bool) * ((Size) nt * nt + 1));
	int			dims[2] = {nt, nt};
	int			lbs[2] = {1, 1};
	LrStats		st;

	compute_stats(m, &st, se, cov, "linreg_vcov");
	for (Size k = 0; k < (Size) nt * nt; k++)
	{
		nulls[k] = isnan(cov[k]);
		vals[k] = Float8GetDatum(cov[k]);
	}
	PG_RETURN_ARRAYTYPE_P(construct_md_array(vals, nulls, nt > 0 ? 2 : 0, dims, lbs,
											 FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * linreg_predict_interval(model, x, level): the fit, its standard error,
 * the confidence interval of the mean and the prediction interval of a new
 * observation (of weight 1), as R's predict.lm(interval = ...).
 *
 * Computed in the centred, whitened coordinates of src/core/lr_diag.h (the
 * factor cached for the query): fit = mean_y + (x - m).beta and
 * x~'(X'WX)^-1 x~ = 1/W + |L^-1 S (x - m)|^2 in double-double, so a point
 * at the data's edge or far outside it keeps its digits.
 */
Datum
linreg_predict_interval(PG_FUNCTION_ARGS)
{
	const char *what = "linreg_predict_interval";
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
	double		level = PG_GETARG_FLOAT8(2);
	DiagCache  *c;
	const LrModel *m;
	TupleDesc	desc;
	const double *x;
	double		fit,
				se,
				q,
				pse,
				sigma;
	dd			h;
	Datum		v[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	double		f[6];
	int			n;

	check_level(level, what);
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "linreg_predict_interval: return type must be a row type");
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_predict_interval: x must be a one-dimensional array")));
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(DiagSlots));
	c = flinkml_diag_cache_multi((DiagSlots *) fcinfo->flinfo->fn_extra, fcinfo->flinfo->fn_mcxt,
								 PG_GETARG_DATUM(0), what);
	m = c->model;
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (n != m->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_predict_interval: x has %d elements but the model has %d features", n, m->nfeat)));
	if (array_contains_nulls(a))
		PG_RETURN_NULL();
	x = (const double *) ARR_DATA_PTR(a);
	h = lr_diag_point(&c->diag, x, c->scratch);
	fit = dd_to_double(lr_diag_fit(&c->diag, x));
	sigma = c->diag.sigma;
	se = sigma * sqrt(fmax(dd_to_double(h), 0.0));
	pse = sigma * sqrt(dd_to_double(dd_add_d(h, 1.0)));
	q = lr_t_quantile(1.0 - (1.0 - level) / 2.0, c->diag.df_resid);
	f[0] = fit;
	f[1] = se;
	f[2] = fit - q * se;
	f[3] = fit + q * se;
	f[4] = fit - q * pse;
	f[5] = fit + q * pse;
	for (int i = 0; i < 6; i++)
	{
		nulls[i] = isnan(f[i]);
		v[i] = Float8GetDatum(f[i]);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, nulls)));
}

static void
check_lambda(double lambda, const char *what)
{
	if (!(lambda >= 0.0) || !isfinite(lambda))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: lambda must be a finite number >= 0, got %g", what, lambda)));
}

/* linreg_solve_ridge(state, lambda): ridge on standardised features. */
Datum
linreg_solve_ridge(PG_FUNCTION_ARGS)
{
	LrState    *s = PG_GETARG_LRSTATE_P(0);
	double		lambda = PG_GETARG_FLOAT8(1);
	LrModel    *m;

	check_lambda(lambda, "linreg_solve_ridge");
	m = flinkml_solve(s, LR_DEFAULT_TOL, lambda);
	if (m == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(m);
}

/* Coefficients of m as a float8[] with NULL for aliased terms. */
Datum
flinkml_coef_array(const LrModel *m)
{
	int			nt = lr_model_nterms(m);
	Datum	   *vals = palloc(sizeof(Datum) * (nt > 0 ? nt : 1));
	bool	   *nulls = palloc(sizeof(bool) * (nt > 0 ? nt : 1));
	int			dims[1] = {nt};
	int			lbs[1] = {1};

	for (int j = 0; j < nt; j++)
	{
		vals[j] = Float8GetDatum(m->coef[j]);
		nulls[j] = lr_model_caliased(m)[j] != 0;
	}
	return PointerGetDatum(construct_md_array(vals, nulls, 1, dims, lbs,
											  FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* linreg_ridge_path(state, lambdas): (lambda, coefficients) for each lambda. */
Datum
linreg_ridge_path(PG_FUNCTION_ARGS)
{
	LrState    *s = PG_GETARG_LRSTATE_P(0);
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum	   *vals;
	bool	   *nulls;
	int			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));

	if (n > RIDGE_MAX_LAMBDAS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_ridge_path: lambdas must hold at most %d values, got %d", RIDGE_MAX_LAMBDAS, n)));
	deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &vals, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("linreg_ridge_path: lambda %d is NULL", i + 1)));
		check_lambda(DatumGetFloat8(vals[i]), "linreg_ridge_path");
	}
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		LrModel    *m;
		Datum		v[2];
		bool		nl[2];

		CHECK_FOR_INTERRUPTS();
		m = flinkml_solve(s, LR_DEFAULT_TOL, DatumGetFloat8(vals[i]));
		nl[0] = false;
		nl[1] = m == NULL;
		v[0] = vals[i];
		v[1] = m ? flinkml_coef_array(m) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nl);
	}
	return (Datum) 0;
}
