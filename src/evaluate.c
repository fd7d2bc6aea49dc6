/*
 * evaluate.c — scoring a model on held-out rows in one pass, and the
 * deterministic train/test split.
 *
 * linreg_score(model, y, x) keeps [n, sse, sae, mean_y, m2_y, skipped] in
 * a float8[] state (updated in place, merged for parallel plans with
 * Chan et al.'s formula for the centred sum of squares of y) and returns
 * (n, mse, rmse, mae, r2, skipped), r2 = 1 - sse / sum (y - mean y)^2.
 */
#include "flinkml.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "core/lr_split.h"
#include "core/lr_stats.h"

PG_FUNCTION_INFO_V1(linreg_score_accum);
PG_FUNCTION_INFO_V1(linreg_score_combine);
PG_FUNCTION_INFO_V1(linreg_score_final);
PG_FUNCTION_INFO_V1(linreg_in_train);
PG_FUNCTION_INFO_V1(linreg_in_train_text);

enum
{
	SC_N, SC_SSE, SC_SAE, SC_MEAN, SC_M2, SC_SKIPPED, SC_LEN
};

static double *
score_values(ArrayType *a)
{
	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != SC_LEN || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT8OID)
		elog(ERROR, "linreg_score: malformed state");
	return (double *) ARR_DATA_PTR(a);
}

/* linreg_score(model, y, x): transition (state is the INITCOND array, updated in place). */
Datum
linreg_score_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *st = PG_GETARG_ARRAYTYPE_P(0);
	double	   *v = score_values(st);
	const LrModel *m;
	ArrayType  *a;
	const double *x;
	double		y,
				e,
				delta;
	int			n;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "linreg_score_accum called in non-aggregate context");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		v[SC_SKIPPED] += 1;
		PG_RETURN_ARRAYTYPE_P(st);
	}
	m = flinkml_model_arg(fcinfo, PG_GETARG_DATUM(1));
	y = PG_GETARG_FLOAT8(2);
	a = PG_GETARG_ARRAYTYPE_P(3);
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (ARR_NDIM(a) > 1 || n != m->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_score: x has %d elements but the model has %d features", n, m->nfeat)));
	if (array_contains_nulls(a))
	{
		v[SC_SKIPPED] += 1;
		PG_RETURN_ARRAYTYPE_P(st);
	}
	x = (const double *) ARR_DATA_PTR(a);
	if (!isfinite(y))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("linreg_score: y is %s", isnan(y) ? "NaN" : "infinite")));
	e = y - lr_model_predict(m, x);
	if (!isfinite(e))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("linreg_score: x holds a non-finite value")));
	v[SC_N] += 1;
	v[SC_SSE] += e * e;
	v[SC_SAE] += fabs(e);
	/* Welford for the spread of y */
	delta = y - v[SC_MEAN];
	v[SC_MEAN] += delta / v[SC_N];
	v[SC_M2] += delta * (y - v[SC_MEAN]);
	PG_RETURN_ARRAYTYPE_P(st);
}

Datum
linreg_score_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *sa = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *sb = PG_GETARG_ARRAYTYPE_P(1);
	double	   *a = score_values(sa);
	double	   *b = score_values(sb);
	double		n,
				delta;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "linreg_score_combine called in non-aggregate context");
	n = a[SC_N] + b[SC_N];
	if (b[SC_N] > 0)
	{
		delta = b[SC_MEAN] - a[SC_MEAN];
		a[SC_M2] += b[SC_M2] + delta * delta * a[SC_N] * b[SC_N] / n;
		a[SC_MEAN] += delta * b[SC_N] / n;
	}
	a[SC_N] = n;
	a[SC_SSE] += b[SC_SSE];
	a[SC_SAE] += b[SC_SAE];
	a[SC_SKIPPED] += b[SC_SKIPPED];
	PG_RETURN_ARRAYTYPE_P(sa);
}

Datum
linreg_score_final(PG_FUNCTION_ARGS)
{
	double	   *v = score_values(PG_GETARG_ARRAYTYPE_P(0));
	TupleDesc	desc;
	Datum		d[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	double		n = v[SC_N];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "linreg_score: return type must be a row type");
	d[0] = Int64GetDatum((int64) n);
	d[1] = Float8GetDatum(v[SC_SSE] / n);
	d[2] = Float8GetDatum(sqrt(v[SC_SSE] / n));
	d[3] = Float8GetDatum(v[SC_SAE] / n);
	d[4] = Float8GetDatum(1.0 - v[SC_SSE] / v[SC_M2]);
	d[5] = Int64GetDatum((int64) v[SC_SKIPPED]);
	nulls[1] = nulls[2] = nulls[3] = (n == 0);
	nulls[4] = !(v[SC_M2] > 0);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), d, nulls)));
}

static bool
in_train(uint64 key, double fraction, int64 seed)
{
	if (!(fraction >= 0.0 && fraction <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_in_train: fraction must be between 0 and 1, got %g", fraction)));
	return lr_key_uniform(key, seed) < fraction;
}

/* linreg_in_train(key bigint, fraction, seed): true for about fraction of the keys. */
Datum
linreg_in_train(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(in_train((uint64) PG_GETARG_INT64(0), PG_GETARG_FLOAT8(1), PG_GETARG_INT32(2)));
}

Datum
linreg_in_train_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	uint64		key = lr_bytes_key((const unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

	PG_RETURN_BOOL(in_train(key, PG_GETARG_FLOAT8(1), PG_GETARG_INT32(2)));
}

/* The weight, mean of y and centred sum of squares of y of a state with rows. */
static void
state_y_moments(const LrState *s, double *w, double *mean_y, double *m2_y)
{
	int			p = s->nfeat;
	size_t		yy = lr_tri_index(p + 1, p, p);
	double		sy = lr_csum_hi(s)[p] + lr_csum_lo(s)[p];
	double		cyy;

	*w = s->wsum_hi + s->wsum_lo;
	*mean_y = lr_cshift(s)[p] + sy / *w;
	cyy = (lr_ccross_hi(s)[yy] + lr_ccross_lo(s)[yy]) - sy * sy / *w;
	*m2_y = cyy > 0.0 ? cyy : 0.0;
}

PG_FUNCTION_INFO_V1(linreg_state_error);

/*
 * linreg_state_error(state, model): how the model does on the rows of a
 * state, from the state alone (test-then-train: a change is scored before
 * it is folded in, and no row is read again).  The squared error of the
 * coefficients over the rows is a quadratic form of the state's moments
 * (lr_state_sse, in double-double); the mean of y and its centred sum of
 * squares come from the state's shifted sums.  Returns (rows, weight, sse,
 * mean_y, m2_y); weights count as in the fit.  NULL for a state of no rows.
 */
Datum
linreg_state_error(PG_FUNCTION_ARGS)
{
	const LrState *s = PG_GETARG_LRSTATE_P(0);
	const LrModel *m = PG_GETARG_LRMODEL_P(1);
	TupleDesc	desc;
	Datum		d[5];
	bool		nulls[5] = {false, false, false, false, false};
	double		w,
				my,
				m2;

	if (s->nfeat < 0 || s->rows == 0)
		PG_RETURN_NULL();
	if (s->nfeat != m->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_state_error: the state has %d features but the model has %d", s->nfeat, m->nfeat)));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "linreg_state_error: return type must be a row type");
	state_y_moments(s, &w, &my, &m2);
	d[0] = Int64GetDatum(s->rows);
	d[1] = Float8GetDatum(w);
	d[2] = Float8GetDatum(lr_state_sse(s, m->coef, m->intercept));
	d[3] = Float8GetDatum(my);
	d[4] = Float8GetDatum(m2);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), d, nulls)));
}

PG_FUNCTION_INFO_V1(linreg_state_sse);
PG_FUNCTION_INFO_V1(linreg_state_y_moments);

/*
 * linreg_state_sse(state, model): sum w (y - prediction)^2 over the state's
 * rows, the one figure a trigger keeps per statement (the rest of
 * linreg_state_error follows from the state: linreg_state_y_moments).
 */
Datum
linreg_state_sse(PG_FUNCTION_ARGS)
{
	const LrState *s = PG_GETARG_LRSTATE_P(0);
	const LrModel *m = PG_GETARG_LRMODEL_P(1);

	if (s->nfeat < 0 || s->rows == 0)
		PG_RETURN_NULL();
	if (s->nfeat != m->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_state_sse: the state has %d features but the model has %d", s->nfeat, m->nfeat)));
	PG_RETURN_FLOAT8(lr_state_sse(s, m->coef, m->intercept));
}

/* linreg_state_y_moments(state): (rows, weight, NULL, mean_y, m2_y) of a state. */
Datum
linreg_state_y_moments(PG_FUNCTION_ARGS)
{
	const LrState *s = PG_GETARG_LRSTATE_P(0);
	TupleDesc	desc;
	Datum		d[5];
	bool		nulls[5] = {false, false, true, false, false};
	double		w,
				my,
				m2;

	if (s->nfeat < 0 || s->rows == 0)
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "linreg_state_y_moments: return type must be a row type");
	state_y_moments(s, &w, &my, &m2);
	d[0] = Int64GetDatum(s->rows);
	d[1] = Float8GetDatum(w);
	d[2] = (Datum) 0;
	d[3] = Float8GetDatum(my);
	d[4] = Float8GetDatum(m2);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), d, nulls)));
}

PG_FUNCTION_INFO_V1(flinkml_f_upper_p);

/* flinkml._f_upper_p(f, df1, df2): P(F(df1, df2) >= f), Rmath's pf. */
Datum
flinkml_f_upper_p(PG_FUNCTION_ARGS)
{
	double		p = lr_f_upper_p(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2));

	if (isnan(p))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(p);
}
