/*
 * robust.c — heteroskedasticity-consistent (sandwich) standard errors
 * HC0..HC3, as R's sandwich::vcovHC and statsmodels' cov_type='HC0'..'HC3'.
 *
 * They need each row's residual, so this is a second-pass aggregate over the
 * model and the rows:  V = B M B  with the bread B = (X'WX)^-1 (from the
 * model's state) and the meat M = sum omega_i (w_i e_i)^2 x_i x_i',
 * omega = 1 (HC0), n/(n-k) (HC1, applied at the end), 1/(1-h_i) (HC2),
 * 1/(1-h_i)^2 (HC3), h_i = w_i x_i' B x_i the leverage.  x_i includes the
 * intercept's 1; aliased terms are left out.  The O(k^2) and O(k^3) loops
 * over the terms at the start and the end check for interrupts.
 */
#include "flinkml.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "core/lr_stats.h"

PG_FUNCTION_INFO_V1(linreg_robust_accum);
PG_FUNCTION_INFO_V1(linreg_robust_accum_w);
PG_FUNCTION_INFO_V1(linreg_robust_final);

typedef struct RobustState
{
	int			type;			/* 0..3 for HC0..HC3 */
	int			nt;				/* terms */
	int			k;				/* kept terms */
	int		   *term;			/* [k]: index of each kept term */
	double	   *bread;			/* [k*k] */
	double	   *meat;			/* [k*k] */
	double	   *xt;				/* [k] scratch */
	double	   *bx;				/* [k] scratch */
	int64		n;
	int64		skipped;
} RobustState;

static int
hc_type(text *t)
{
	char	   *s = text_to_cstring(t);

	if (pg_strcasecmp(s, "HC0") == 0)
		return 0;
	if (pg_strcasecmp(s, "HC1") == 0)
		return 1;
	if (pg_strcasecmp(s, "HC2") == 0)
		return 2;
	if (pg_strcasecmp(s, "HC3") == 0)
		return 3;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("linreg_robust_se: unknown type \"%s\"; use HC0, HC1, HC2 or HC3", s)));
	return -1;
}

static RobustState *
robust_start(FunctionCallInfo fcinfo, MemoryContext ctx, int typearg)
{
	LrModel    *m = PG_GETARG_LRMODEL_P(1);
	int			nt = lr_model_nterms(m);
	const unsigned char *al = lr_model_caliased(m);
	MemoryContext old;
	RobustState *r;
	double	   *full;
	int			rc;

	if (PG_ARGISNULL(typearg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("linreg_robust_se: type must not be NULL")));
	if (m->lambda > 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("linreg_robust_se: not defined for a ridge model")));
	old = MemoryContextSwitchTo(ctx);
	r = palloc0(sizeof(RobustState));
	r->type = hc_type(PG_GETARG_TEXT_PP(typearg));
	r->nt = nt;
	r->term = palloc(sizeof(int) * (nt + 1));
	for (int t = 0; t < nt; t++)
		if (!al[t])
			r->term[r->k++] = t;
	r->bread = palloc(sizeof(double) * (r->k * r->k + 1));
	r->meat = palloc0(sizeof(double) * (r->k * r->k + 1));
	r->xt = palloc(sizeof(double) * (r->k + 1));
	r->bx = palloc(sizeof(double) * (r->k + 1));
	MemoryContextSwitchTo(old);

	full = palloc(sizeof(double) * ((Size) nt * nt + 1));
	rc = lr_unscaled_cov(m, full);
	if (rc != LR_OK)
		flinkml_core_error(rc, "linreg_robust_se");
	for (int a = 0; a < r->k; a++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int b = 0; b < r->k; b++)
			r->bread[a * r->k + b] = full[(Size) r->term[a] * nt + r->term[b]];
	}
	return r;
}

static Datum
robust_accum(FunctionCallInfo fcinfo, bool weighted)
{
	int			typearg = weighted ? 5 : 4;
	MemoryContext ctx;
	RobustState *r;
	const LrModel *m;
	ArrayType  *a;
	const double *x;
	double		y,
				w = 1.0,
				e,
				h = 0.0,
				omega = 1.0,
				re2;
	int			n,
				k;

	if (!AggCheckCallContext(fcinfo, &ctx))
		elog(ERROR, "linreg_robust_accum called in non-aggregate context");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	r = PG_ARGISNULL(0) ? robust_start(fcinfo, ctx, typearg) : (RobustState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || (weighted && PG_ARGISNULL(4)))
	{
		r->skipped++;
		PG_RETURN_POINTER(r);
	}
	m = flinkml_model_arg(fcinfo, PG_GETARG_DATUM(1));
	y = PG_GETARG_FLOAT8(2);
	a = PG_GETARG_ARRAYTYPE_P(3);
	if (weighted)
		w = PG_GETARG_FLOAT8(4);
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (ARR_NDIM(a) > 1 || n != m->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_robust_se: x has %d elements but the model has %d features", n, m->nfeat)));
	if (array_contains_nulls(a))
	{
		r->skipped++;
		PG_RETURN_POINTER(r);
	}
	x = (const double *) ARR_DATA_PTR(a);
	flinkml_check_row_values(y, x, n, w);
	if (w == 0.0)
		PG_RETURN_POINTER(r);

	k = r->k;
	for (int i = 0; i < k; i++)
	{
		int			t = r->term[i];

		r->xt[i] = (m->intercept && t == 0) ? 1.0 : x[t - m->intercept];
	}
	e = y - lr_model_predict(m, x);
	if (r->type >= 2)
	{
		for (int i = 0; i < k; i++)
		{
			double		s = 0.0;

			for (int j = 0; j < k; j++)
				s += r->bread[i * k + j] * r->xt[j];
			h += r->xt[i] * s;
		}
		h *= w;
		omega = r->type == 2 ? 1.0 / (1.0 - h) : 1.0 / ((1.0 - h) * (1.0 - h));
	}
	re2 = omega * (w * e) * (w * e);
	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++)
			r->meat[i * k + j] += re2 * r->xt[i] * r->xt[j];
	r->n++;
	PG_RETURN_POINTER(r);
}

Datum
linreg_robust_accum(PG_FUNCTION_ARGS)
{
	return robust_accum(fcinfo, false);
}

Datum
linreg_robust_accum_w(PG_FUNCTION_ARGS)
{
	return robust_accum(fcinfo, true);
}

/* Final: sqrt(diag(B M B)) per term, NULL for aliased terms. */
Datum
linreg_robust_final(PG_FUNCTION_ARGS)
{
	RobustState *r;
	int			k;
	double	   *bm;
	Datum	   *vals;
	bool	   *nulls;
	int			dims[1];
	int			lbs[1] = {1};
	double		scale = 1.0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	r = (RobustState *) PG_GETARG_POINTER(0);
	if (r->n == 0)
		PG_RETURN_NULL();
	k = r->k;
	if (r->type == 1)
		scale = r->n > k ? (double) r->n / (double) (r->n - k) : NAN;
	bm = palloc(sizeof(double) * (k * k + 1));
	for (int i = 0; i < k; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < k; j++)
		{
			double		s = 0.0;

			for (int l = 0; l < k; l++)
				s += r->bread[i * k + l] * r->meat[l * k + j];
			bm[i * k + j] = s;
		}
	}
	vals = palloc(sizeof(Datum) * (r->nt + 1));
	nulls = palloc(sizeof(bool) * (r->nt + 1));
	for (int t = 0; t < r->nt; t++)
		nulls[t] = true;
	for (int i = 0; i < k; i++)
	{
		double		v = 0.0;

		CHECK_FOR_INTERRUPTS();
		for (int l = 0; l < k; l++)
			v += bm[i * k + l] * r->bread[l * k + i];
		v = sqrt(v * scale);
		nulls[r->term[i]] = isnan(v);
		vals[r->term[i]] = Float8GetDatum(v);
	}
	dims[0] = r->nt;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(vals, nulls, 1, dims, lbs,
											 FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
