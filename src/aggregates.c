/*
 * aggregates.c — the transition, inverse, combine and final functions behind
 * linreg_state(), linreg_fit(), linreg_merge() and their variants, and
 * linreg_solve().
 *
 * The state is a linreg_state value in the aggregate memory context,
 * updated in place (the pattern of float8_regr_accum); in a plain aggregate
 * with a few features, after its first rows, an expanded object holding it
 * and a batch of rows (expanded_state.c, core/lr_batch.h).  Memory stays
 * O(p^2) whatever the row count.
 *
 * NULLs: a row whose y, x array, any x element or weight is NULL is skipped
 * and counted in the state's "skipped".  Non-finite values, a negative
 * weight and feature arrays of different lengths are errors.
 */
#include "flinkml.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/lr_solve.h"

PG_FUNCTION_INFO_V1(linreg_accum);
PG_FUNCTION_INFO_V1(linreg_accum_w);
PG_FUNCTION_INFO_V1(linreg_accum_noint);
PG_FUNCTION_INFO_V1(linreg_accum_noint_w);
PG_FUNCTION_INFO_V1(linreg_accum_args);
PG_FUNCTION_INFO_V1(linreg_accum_inv);
PG_FUNCTION_INFO_V1(linreg_accum_inv_w);
PG_FUNCTION_INFO_V1(linreg_accum_args_inv);
PG_FUNCTION_INFO_V1(linreg_combine);
PG_FUNCTION_INFO_V1(linreg_uncombine);
PG_FUNCTION_INFO_V1(linreg_fit_final);
PG_FUNCTION_INFO_V1(linreg_solve);

/* One input row, read from the arguments. */
typedef struct Row
{
	bool		skip;			/* a NULL somewhere: skip and count */
	double		y;
	double		w;
	int			n;				/* feature count */
	const double *x;
	double		buf[FUNC_MAX_ARGS];	/* x when read from separate arguments */
} Row;

static const char *
nonfinite_name(double v)
{
	return isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
}

static void
check_finite(const Row *r)
{
	flinkml_check_row_values(r->y, r->x, r->n, r->w);
}

/* Errors for a non-finite y or x, or a negative or non-finite weight. */
static void
value_error(const char *what, int pos, double v)
{
	char		name[32];

	if (pos > 0)
		snprintf(name, sizeof(name), "%s[%d]", what, pos);
	else
		snprintf(name, sizeof(name), "%s", what);
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("flinkml: %s is %s", name, nonfinite_name(v)),
				 errhint("Filter or impute non-finite values; NULL rows are skipped and counted.")));
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("flinkml: %s is %g, beyond the limit of %g in magnitude", name, v, LR_MAX_ABS),
			 errhint("Rescale the data: sums of squares of such values overflow float8.")));
}

void
flinkml_check_row_values(double y, const double *x, int n, double w)
{
	bool		ok = true;

	if (!lr_value_ok(y))
		value_error("y", 0, y);
	/* one branch-free pass (it vectorises); find the culprit only on failure */
	for (int j = 0; j < n; j++)
		ok &= lr_value_ok(x[j]);
	if (!ok)
		for (int j = 0; j < n; j++)
			if (!lr_value_ok(x[j]))
				value_error("x", j + 1, x[j]);
	if (!isfinite(w) || w < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("flinkml: weight must be a finite number >= 0, got %g", w)));
}

static void
check_feature_count(int n)
{
	if (n > LR_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("flinkml: x has %d features; at most %d are supported", n, LR_MAX_FEATURES)));
}

/* Row from (y float8, x float8[] [, weight float8]) at argument positions 1.. */
static void
read_array_row(FunctionCallInfo fcinfo, bool weighted, Row *r)
{
	ArrayType  *a;

	r->skip = false;
	r->w = 1.0;
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || (weighted && PG_ARGISNULL(3)))
	{
		r->skip = true;
		return;
	}
	r->y = PG_GETARG_FLOAT8(1);
	if (weighted)
		r->w = PG_GETARG_FLOAT8(3);
	a = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("flinkml: x must be a one-dimensional array, got %d dimensions", ARR_NDIM(a))));
	r->n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	check_feature_count(r->n);
	if (ARR_HASNULL(a))
	{
		bits8	   *bitmap = ARR_NULLBITMAP(a);

		for (int j = 0; j < r->n; j++)
			if (!(bitmap[j / 8] & (1 << (j % 8))))
			{
				r->skip = true;
				return;
			}
	}
	r->x = (const double *) ARR_DATA_PTR(a);
}

/*
 * What a transition function keeps per aggregate call (fn_extra, in the
 * query's memory): the feature argument types of the column form, and how
 * many of its states hold a batch.
 */
typedef struct AccumSite
{
	FeatureArgs *args;			/* column form, looked up on the first row */
	int			batched;		/* expanded states alive */
} AccumSite;

/*
 * A call without a lasting FmgrInfo (Citus's worker_partial_agg makes one
 * per row) keeps its site in the aggregate context: flinkml_fn_extra.  The
 * site outlives the states it counts, which are children of that context.
 */
static AccumSite *
accum_site(FunctionCallInfo fcinfo)
{
	MemoryContext cxt;

	return (AccumSite *) flinkml_fn_extra(fcinfo, sizeof(AccumSite), &cxt);
}

/* Row from (y float8, VARIADIC x "any"): features as separate arguments. */
static void
read_args_row(FunctionCallInfo fcinfo, Row *r)
{
	AccumSite  *site = accum_site(fcinfo);
	FeatureArgs *fa = site->args;

	if (fa == NULL)
	{
		fa = flinkml_feature_args(fcinfo, 2, 0, "flinkml");	/* index 0: the state */
		site->args = fa;
	}
	r->skip = false;
	r->w = 1.0;
	r->n = fa->nargs - 2;
	r->x = r->buf;
	r->y = PG_GETARG_FLOAT8(1);
	if (fa->all_float8)
	{
		/* the common case, without a branch per argument */
		bool		anynull = PG_ARGISNULL(1);

		for (int j = 0; j < r->n; j++)
		{
			anynull |= fcinfo->args[j + 2].isnull;
			r->buf[j] = DatumGetFloat8(fcinfo->args[j + 2].value);
		}
		r->skip = anynull;
	}
	else
		r->skip = PG_ARGISNULL(1) || !flinkml_read_features(fcinfo, fa, r->buf);
}

static MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext ctx;

	if (!AggCheckCallContext(fcinfo, &ctx))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return ctx;
}

/*
 * Rows a plain aggregate's state takes one by one before it becomes an
 * expanded state with a batch (expanded_state.c): a group of a few rows
 * keeps the small flat state.
 */
#define BATCH_AFTER_ROWS 32

/*
 * Whether one more state of this aggregate may take a batch.  A plain or
 * sorted aggregate holds one state at a time; a hash aggregate holds one per
 * group, and PostgreSQL checks its memory limit only when it creates a
 * group, not when a state grows.  So the batches of one aggregate together
 * stay within a quarter of work_mem (the first one always may); the other
 * groups keep the flat state, which is slower to update but small.
 */
static bool
batch_allowed(AccumSite *site, int nfeat)
{
	Size		each = lr_batch_size(nfeat) + lr_state_size(nfeat) + 2 * ALLOCSET_SMALL_INITSIZE;

	return site->batched == 0 || (Size) (site->batched + 1) * each <= (Size) work_mem * 1024 / 4;
}

/*
 * The running state given to a transition function, flat: NULL, a flat
 * state of ours in the aggregate context, updated in place, or the state of
 * the expanded state behind a read-write datum (*es set), its batch folded
 * in.
 */
static LrState *
running_state(FunctionCallInfo fcinfo, ExpandedLrState **es)
{
	Datum		d;

	*es = NULL;
	if (PG_ARGISNULL(0))
		return NULL;
	d = PG_GETARG_DATUM(0);
	*es = flinkml_es_from_datum(d);
	if (*es != NULL)
	{
		flinkml_es_drain(*es);
		return (*es)->state;
	}
	if (VARATT_IS_EXTENDED(DatumGetPointer(d)))
		elog(ERROR, "flinkml: unexpected form of a linreg_state transition value");
	return (LrState *) DatumGetPointer(d);
}

static Datum
state_result(ExpandedLrState *es, LrState *s)
{
	return es != NULL ? flinkml_es_datum(es) : PointerGetDatum(s);
}

static void
feature_count_error(int n, int nfeat)
{
	ereport(ERROR,
			(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
			 errmsg("flinkml: x has %d elements but earlier rows had %d", n, nfeat),
			 errhint("Every row of one fit must have the same number of features.")));
}

/* Fold a row into the state (allocating it on the first row). */
static Datum
accumulate(FunctionCallInfo fcinfo, const Row *r, bool intercept)
{
	MemoryContext ctx;
	int			kind;
	ExpandedLrState *es;
	LrState    *s;

	/*
	 * The fast path, every row but the first few of a plain aggregate: an
	 * expanded state with a batch (only a transition function in an
	 * aggregate makes one).  The batch checks the values; the error names
	 * the bad one.
	 */
	if (!PG_ARGISNULL(0) && (es = flinkml_es_from_datum(PG_GETARG_DATUM(0))) != NULL)
	{
		s = es->state;
		if (r->skip)
			s->skipped++;
		else if (s->nfeat != r->n)
			feature_count_error(r->n, s->nfeat);
		else if (lr_batch_add_row(es->batch, s, r->y, r->x, r->w) != 0)
			check_finite(r);
		return flinkml_es_datum(es);
	}

	kind = AggCheckCallContext(fcinfo, &ctx);
	if (kind == 0)
		elog(ERROR, "linreg transition function called in non-aggregate context");
	s = running_state(fcinfo, &es);		/* flat: an expanded one took the path above */
	if (r->skip)
	{
		/*
		 * A new state is made in the call's memory: the executor copies a
		 * transition value it has not seen into the aggregate context.
		 */
		if (s == NULL)
			s = flinkml_new_state(-1, intercept);
		s->skipped++;
		PG_RETURN_POINTER(s);
	}
	if (s == NULL || s->nfeat < 0)
	{
		LrState    *fresh = flinkml_new_state(r->n, intercept);	/* copied, as above */

		if (s != NULL)
			fresh->skipped = s->skipped;
		s = fresh;
	}
	else if (s->nfeat != r->n)
		feature_count_error(r->n, s->nfeat);

	check_finite(r);
	lr_state_add_row(s, r->y, r->x, r->w);

	/*
	 * A plain aggregate (not a window: it removes rows and reads the state at
	 * every row) whose state has rows enough goes on with a batch.  The
	 * executor adopts the expanded state and frees the flat one.
	 */
	if (kind == AGG_CONTEXT_AGGREGATE && s->rows == BATCH_AFTER_ROWS &&
		s->nfeat <= LR_BATCH_MAX_FEATURES)
	{
		AccumSite  *site = accum_site(fcinfo);

		if (batch_allowed(site, s->nfeat))
			return flinkml_es_datum(flinkml_es_new(ctx, s, &site->batched));
	}
	PG_RETURN_POINTER(s);
}

/* Remove a row that accumulate() added (a row leaving a window frame). */
static Datum
unaccumulate(FunctionCallInfo fcinfo, const Row *r)
{
	ExpandedLrState *es;
	LrState    *s;

	agg_context(fcinfo, "linreg inverse transition function");
	s = running_state(fcinfo, &es);
	if (s == NULL)
		PG_RETURN_NULL();		/* nothing to remove from: recompute */
	if (r->skip)
	{
		if (s->skipped <= 0)
			PG_RETURN_NULL();
		s->skipped--;
		return state_result(es, s);
	}
	if (s->nfeat != r->n || s->rows <= 0)
		PG_RETURN_NULL();
	lr_state_remove_row(s, r->y, r->x, r->w);
	return state_result(es, s);
}

Datum
linreg_accum(PG_FUNCTION_ARGS)
{
	Row			r;

	read_array_row(fcinfo, false, &r);
	return accumulate(fcinfo, &r, true);
}

Datum
linreg_accum_w(PG_FUNCTION_ARGS)
{
	Row			r;

	read_array_row(fcinfo, true, &r);
	return accumulate(fcinfo, &r, true);
}

Datum
linreg_accum_noint(PG_FUNCTION_ARGS)
{
	Row			r;

	read_array_row(fcinfo, false, &r);
	return accumulate(fcinfo, &r, false);
}

Datum
linreg_accum_noint_w(PG_FUNCTION_ARGS)
{
	Row			r;

	read_array_row(fcinfo, true, &r);
	return accumulate(fcinfo, &r, false);
}

Datum
linreg_accum_args(PG_FUNCTION_ARGS)
{
	Row			r;

	read_args_row(fcinfo, &r);
	return accumulate(fcinfo, &r, true);
}

Datum
linreg_accum_inv(PG_FUNCTION_ARGS)
{
	Row			r;

	read_array_row(fcinfo, false, &r);
	return unaccumulate(fcinfo, &r);
}

Datum
linreg_accum_inv_w(PG_FUNCTION_ARGS)
{
	Row			r;

	read_array_row(fcinfo, true, &r);
	return unaccumulate(fcinfo, &r);
}

Datum
linreg_accum_args_inv(PG_FUNCTION_ARGS)
{
	Row			r;

	read_args_row(fcinfo, &r);
	return unaccumulate(fcinfo, &r);
}

/*
 * Combine (parallel partial states, linreg_merge): a += b in place.  The
 * second argument is never modified; when the running state is NULL, b is
 * copied into the aggregate context rather than returned as it is.
 */
Datum
linreg_combine(PG_FUNCTION_ARGS)
{
	ExpandedLrState *es;
	LrState    *a,
			   *b;

	agg_context(fcinfo, "linreg_combine");
	a = running_state(fcinfo, &es);
	if (PG_ARGISNULL(1))
	{
		if (a == NULL)
			PG_RETURN_NULL();
		return state_result(es, a);
	}
	b = PG_GETARG_LRSTATE_P(1);
	if (a != NULL)
		flinkml_check_compatible(a, b, "linreg_merge");
	if (a == NULL || (a->nfeat < 0 && b->nfeat >= 0))
	{
		/* in the call's memory: the executor copies it into the aggregate context */
		LrState    *c = flinkml_copy_state(b);

		if (a != NULL)
			c->skipped += a->skipped;
		PG_RETURN_POINTER(c);
	}
	if (lr_state_merge(a, b) != 0)
		elog(ERROR, "linreg_merge: states do not match");
	return state_result(es, a);
}

/* Inverse of linreg_combine for linreg_merge over sliding window frames. */
Datum
linreg_uncombine(PG_FUNCTION_ARGS)
{
	ExpandedLrState *es;
	LrState    *a,
			   *b;
	const char *why;

	agg_context(fcinfo, "linreg_uncombine");
	a = running_state(fcinfo, &es);
	if (PG_ARGISNULL(1))
	{
		if (a == NULL)
			PG_RETURN_NULL();
		return state_result(es, a);
	}
	if (a == NULL)
		PG_RETURN_NULL();
	b = PG_GETARG_LRSTATE_P(1);
	if (!lr_state_compatible(a, b, &why) ||
		(a->nfeat < 0 && b->nfeat >= 0 && b->rows > 0) ||
		lr_state_subtract(a, b) != 0)
		PG_RETURN_NULL();		/* let the executor recompute the frame */
	return state_result(es, a);
}

/* Final function of linreg_fit*: solves, never modifies the state. */
Datum
linreg_fit_final(PG_FUNCTION_ARGS)
{
	LrModel    *m;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	m = flinkml_solve(PG_GETARG_LRSTATE_P(0), LR_DEFAULT_TOL, 0.0);
	if (m == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(m);
}

Datum
linreg_solve(PG_FUNCTION_ARGS)
{
	LrState    *s = PG_GETARG_LRSTATE_P(0);
	double		tol = PG_GETARG_FLOAT8(1);
	LrModel    *m;

	if (!(tol >= 0.0 && tol < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_solve: tol must be in [0, 1), got %g", tol)));
	m = flinkml_solve(s, tol, 0.0);
	if (m == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(m);
}
