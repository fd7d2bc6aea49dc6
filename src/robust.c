/*
 * robust.c — heteroskedasticity-consistent (sandwich) standard errors
 * HC0..HC3, as R's sandwich::vcovHC and statsmodels' cov_type='HC0'..'HC3'.
 *
 * They need each row's residual, so this is a second-pass aggregate over the
 * model and the rows:  V = B M B  with the bread B = (X'WX)^-1 (from the
 * model's state) and the meat M = sum omega_i (w_i e_i)^2 x_i x_i',
 * omega = 1 (HC0), n/(n-k) (HC1, applied at the end), 1/(1-h_i) (HC2),
 * 1/(1-h_i)^2 (HC3), h_i = w_i x_i' B x_i the leverage.  x_i includes the
 * intercept's 1; aliased terms are left out.
 *
 * All of it is computed in the centred, whitened coordinates of
 * src/core/lr_diag.h, in double-double: residuals from the double-double
 * solution, leverages as 1/W + |z|^2, the meat summed in double-double, the
 * bread applied exactly (diag(1/W, I) in those coordinates) and the map
 * back to the terms in double-double.
 */
#include "diagnostics.h"

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
	void	   *cache;			/* DiagCache of the model */
	LrHC		hc;				/* malloc'd meat; freed with the aggregate context */
	bool		started;
	int			generation;		/* of the cache when started */
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

static void
robust_free(void *arg)
{
	lr_hc_free(&((RobustState *) arg)->hc);
}

static RobustState *
robust_start(FunctionCallInfo fcinfo, MemoryContext ctx, int typearg)
{
	MemoryContextCallback *cb;
	RobustState *r;

	if (PG_ARGISNULL(typearg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("linreg_robust_se: type must not be NULL")));
	r = MemoryContextAllocZero(ctx, sizeof(RobustState));
	r->type = hc_type(PG_GETARG_TEXT_PP(typearg));
	cb = MemoryContextAllocZero(ctx, sizeof(MemoryContextCallback));
	cb->func = robust_free;
	cb->arg = r;
	MemoryContextRegisterResetCallback(ctx, cb);
	return r;
}

static Datum
robust_accum(FunctionCallInfo fcinfo, bool weighted)
{
	int			typearg = weighted ? 5 : 4;
	MemoryContext ctx;
	RobustState *r;
	DiagCache  *c;
	const LrModel *m;
	ArrayType  *a;
	const double *x;
	double		y,
				w = 1.0;
	int			n;

	if (!AggCheckCallContext(fcinfo, &ctx))
		elog(ERROR, "linreg_robust_accum called in non-aggregate context");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	r = PG_ARGISNULL(0) ? robust_start(fcinfo, ctx, typearg) : (RobustState *) PG_GETARG_POINTER(0);
	c = flinkml_diag_cache(&r->cache, ctx, PG_GETARG_DATUM(1), "linreg_robust_se");
	m = c->model;
	if (!r->started)
	{
		if (lr_hc_init(&r->hc, &c->diag, r->type) != LR_OK)
			flinkml_core_error(LR_ENOMEM, "linreg_robust_se");
		r->started = true;
		r->generation = c->generation;
	}
	else if (r->generation != c->generation)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_robust_se: the model must be the same on every row")));
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || (weighted && PG_ARGISNULL(4)))
	{
		r->skipped++;
		PG_RETURN_POINTER(r);
	}
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
	lr_hc_add(&r->hc, &c->diag, y, x, w);
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
	DiagCache  *c;
	int			nt;
	double	   *se;
	Datum	   *vals;
	bool	   *nulls;
	int			dims[1];
	int			lbs[1] = {1};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	r = (RobustState *) PG_GETARG_POINTER(0);
	c = (DiagCache *) r->cache;
	if (!r->started || r->hc.n == 0 || c == NULL || !c->ready)
		PG_RETURN_NULL();
	nt = c->diag.nt;
	se = palloc(sizeof(double) * (nt + 1));
	{
		int			rc;

		FLINKML_DIAG_RETRY(rc, lr_hc_result(&r->hc, &c->diag, se, NULL, flinkml_diag_tick));
		if (rc != LR_OK)
			flinkml_core_error(rc, "linreg_robust_se");
	}
	vals = palloc(sizeof(Datum) * (nt + 1));
	nulls = palloc(sizeof(bool) * (nt + 1));
	for (int t = 0; t < nt; t++)
	{
		nulls[t] = isnan(se[t]);
		vals[t] = Float8GetDatum(se[t]);
	}
	dims[0] = nt;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(vals, nulls, 1, dims, lbs,
											 FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
