/*
 * cv.c — k-fold cross-validation of ridge models over a lambda grid, from a
 * single scan.
 *
 * Each row goes into the state of its fold (a hash of the key column, see
 * src/core/lr_split.h).  At the end, for each lambda and fold f, the model
 * is solved from the total minus fold f's state, and its squared error on
 * fold f's rows comes from fold f's state alone (lr_state_sse): k solves
 * per lambda, no second pass.
 *
 * Bounds: at most CV_MAX_FOLDS folds (each holds a state of O(p^2)) and
 * CV_MAX_LAMBDAS lambdas (folds x lambdas solves at the end), refused before
 * anything is allocated; the solves check for interrupts (cancel,
 * statement_timeout) one by one.
 */
#include "flinkml.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "core/lr_solve.h"
#include "core/lr_split.h"
#include "core/lr_stats.h"

PG_FUNCTION_INFO_V1(linreg_cv_accum);
PG_FUNCTION_INFO_V1(linreg_cv_final);

/* The same lambda bound as linreg_ridge_path's (stats.c). */
#define CV_MAX_FOLDS	100
#define CV_MAX_LAMBDAS	1000

typedef struct CvState
{
	int			k;				/* folds */
	int			nlambda;
	double	   *lambdas;
	LrState   **fold;			/* k states, once the feature count is known */
	int64		skipped;
} CvState;

static CvState *
cv_start(FunctionCallInfo fcinfo, MemoryContext ctx)
{
	int			k;
	ArrayType  *a;
	Datum	   *vals;
	bool	   *nulls;
	int			n;
	CvState    *cv;

	if (PG_ARGISNULL(4) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("linreg_cv: folds and lambdas must not be NULL")));
	k = PG_GETARG_INT32(4);
	if (k < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_cv: folds must be at least 2, got %d", k)));
	if (k > CV_MAX_FOLDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_cv: folds must be at most %d, got %d", CV_MAX_FOLDS, k)));
	a = PG_GETARG_ARRAYTYPE_P(5);
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (n > CV_MAX_LAMBDAS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_cv: lambdas must hold at most %d values, got %d", CV_MAX_LAMBDAS, n)));
	deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &vals, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_cv: lambdas must not be empty")));
	cv = MemoryContextAllocZero(ctx, sizeof(CvState));
	cv->k = k;
	cv->nlambda = n;
	cv->lambdas = MemoryContextAlloc(ctx, sizeof(double) * n);
	for (int i = 0; i < n; i++)
	{
		double		l = nulls[i] ? NAN : DatumGetFloat8(vals[i]);

		if (!(l >= 0.0) || !isfinite(l))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("linreg_cv: lambda %d must be a finite number >= 0", i + 1)));
		cv->lambdas[i] = l;
	}
	return cv;
}

/* linreg_cv(y, x, key, folds, lambdas): transition. */
Datum
linreg_cv_accum(PG_FUNCTION_ARGS)
{
	MemoryContext ctx;
	CvState    *cv;
	ArrayType  *a;
	const double *x;
	double		y;
	int			n,
				f;

	if (!AggCheckCallContext(fcinfo, &ctx))
		elog(ERROR, "linreg_cv_accum called in non-aggregate context");
	cv = PG_ARGISNULL(0) ? cv_start(fcinfo, ctx) : (CvState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		cv->skipped++;
		PG_RETURN_POINTER(cv);
	}
	y = PG_GETARG_FLOAT8(1);
	a = PG_GETARG_ARRAYTYPE_P(2);
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (ARR_NDIM(a) > 1 || n > LR_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_cv: x must be a one-dimensional array of at most %d features", LR_MAX_FEATURES)));
	if (array_contains_nulls(a))
	{
		cv->skipped++;
		PG_RETURN_POINTER(cv);
	}
	x = (const double *) ARR_DATA_PTR(a);
	flinkml_check_row_values(y, x, n, 1.0);
	if (cv->fold == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(ctx);

		cv->fold = palloc(sizeof(LrState *) * cv->k);
		for (int i = 0; i < cv->k; i++)
			cv->fold[i] = flinkml_new_state(n, 1);
		MemoryContextSwitchTo(old);
	}
	else if (cv->fold[0]->nfeat != n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_cv: x has %d elements but earlier rows had %d", n, cv->fold[0]->nfeat)));
	f = lr_key_fold((uint64) PG_GETARG_INT64(3), 0, cv->k);
	lr_state_add_row(cv->fold[f], y, x, 1.0);
	PG_RETURN_POINTER(cv);
}

static Datum
float8_array(const double *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Final: the CV error of each lambda, the best lambda and its model on all rows. */
Datum
linreg_cv_final(PG_FUNCTION_ARGS)
{
	CvState    *cv;
	LrState    *total;
	double	   *mse;
	int			best = 0;
	TupleDesc	desc;
	Datum		v[4];
	bool		nulls[4] = {false, false, false, false};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	cv = (CvState *) PG_GETARG_POINTER(0);
	if (cv->fold == NULL)
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "linreg_cv: return type must be a row type");

	total = flinkml_copy_state(cv->fold[0]);
	for (int f = 1; f < cv->k; f++)
	{
		CHECK_FOR_INTERRUPTS();
		if (lr_state_merge(total, cv->fold[f]) != 0)
			elog(ERROR, "linreg_cv: fold states do not match");
	}
	if (total->rows < cv->k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_cv: %d folds for %lld rows: there must be at least as many rows as folds",
						cv->k, (long long) total->rows)));

	mse = palloc(sizeof(double) * cv->nlambda);
	for (int i = 0; i < cv->nlambda; i++)
	{
		double		sse = 0.0,
					w = 0.0;

		for (int f = 0; f < cv->k; f++)
		{
			LrState    *train;
			LrModel    *m;

			CHECK_FOR_INTERRUPTS();
			if (cv->fold[f]->rows == 0)
				continue;
			train = flinkml_copy_state(total);
			if (lr_state_subtract(train, cv->fold[f]) != 0 || train->rows == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("linreg_cv: fold %d holds every row; use more distinct keys", f + 1)));
			m = flinkml_solve(train, LR_DEFAULT_TOL, cv->lambdas[i]);
			sse += lr_state_sse(cv->fold[f], m->coef, m->intercept);
			w += cv->fold[f]->wsum_hi + cv->fold[f]->wsum_lo;
			pfree(train);
			pfree(m);
		}
		mse[i] = sse / w;
		if (mse[i] < mse[best])
			best = i;
	}
	v[0] = float8_array(cv->lambdas, cv->nlambda);
	v[1] = float8_array(mse, cv->nlambda);
	v[2] = Float8GetDatum(cv->lambdas[best]);
	v[3] = PointerGetDatum(flinkml_solve(total, LR_DEFAULT_TOL, cv->lambdas[best]));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, nulls)));
}
