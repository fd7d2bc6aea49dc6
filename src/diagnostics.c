/*
 * diagnostics.c — regression diagnostics after a fit: per-row influence
 * (linreg_influence), variance inflation factors (linreg_vif) and the
 * nested-model F test (linreg_anova).  SQL wrappers around
 * src/core/lr_diag.c.
 */
#include "diagnostics.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/lr_stats.h"

PG_FUNCTION_INFO_V1(linreg_influence);
PG_FUNCTION_INFO_V1(linreg_influence_w);
PG_FUNCTION_INFO_V1(linreg_vif);
PG_FUNCTION_INFO_V1(linreg_anova);

int
flinkml_diag_tick(void)
{
	return InterruptPending && INTERRUPTS_CAN_BE_PROCESSED();
}

static void
diag_cache_free(void *arg)
{
	DiagCache  *c = (DiagCache *) arg;

	lr_diag_free(&c->diag);
	c->ready = false;
}

/* 1 when c holds the model whose raw argument bytes are raw[0..rawsize-1] */
static inline bool
cache_holds(const DiagCache *c, const struct varlena *raw, Size rawsize)
{
	return c && c->ready && c->rawsize == rawsize && memcmp(c->raw, raw, rawsize) == 0;
}

/* Load the model d into the cache *slot (allocated on first use), replacing what it held. */
static DiagCache *
diag_cache_load(void **slot, MemoryContext ctx, Datum d, const char *what)
{
	DiagCache  *c = (DiagCache *) *slot;
	struct varlena *raw = (struct varlena *) DatumGetPointer(d);
	Size		rawsize = VARSIZE_ANY(raw);
	MemoryContext old;
	int			rc;

	old = MemoryContextSwitchTo(ctx);
	if (c == NULL)
	{
		MemoryContextCallback *cb;

		c = palloc0(sizeof(DiagCache));
		cb = palloc0(sizeof(MemoryContextCallback));
		cb->func = diag_cache_free;
		cb->arg = c;
		MemoryContextRegisterResetCallback(ctx, cb);
		*slot = c;
	}
	else
	{
		lr_diag_free(&c->diag);
		c->ready = false;
		if (c->raw)
			pfree(c->raw);
		if (c->model)
			pfree(c->model);
		if (c->scratch)
			pfree(c->scratch);
		c->raw = NULL;
		c->model = NULL;
		c->scratch = NULL;
	}
	c->raw = palloc(rawsize);
	memcpy(c->raw, raw, rawsize);
	c->rawsize = rawsize;
	c->model = (LrModel *) PG_DETOAST_DATUM_COPY(d);
	c->hash = hash_bytes_extended((const unsigned char *) c->model, VARSIZE(c->model), 0);
	MemoryContextSwitchTo(old);
	if (c->model->lambda > 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s: not defined for a ridge model (lambda = %g)", what, c->model->lambda),
				 errhint("Fit without penalty (linreg_solve) for diagnostics.")));
	FLINKML_DIAG_RETRY(rc, lr_diag_init(&c->diag, c->model, flinkml_diag_tick));
	if (rc != LR_OK)
		flinkml_core_error(rc, what);
	c->scratch = MemoryContextAlloc(ctx, sizeof(dd) * (c->diag.k + 1));
	c->ready = true;
	c->generation++;
	return c;
}

DiagCache *
flinkml_diag_cache(void **slot, MemoryContext ctx, Datum d, const char *what)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(d);

	if (cache_holds((DiagCache *) *slot, raw, VARSIZE_ANY(raw)))
		return (DiagCache *) *slot;
	return diag_cache_load(slot, ctx, d, what);
}

/*
 * The model is identified by its raw bytes, compared once per row (with the
 * slot that matched last first): a datum's address says nothing, since a
 * value freed and re-made (an initplan evaluated again after a rescan, a
 * PL/pgSQL variable assigned between evaluations of a simple expression)
 * can land at the same address with other contents.
 */
DiagCache *
flinkml_diag_cache_multi(DiagSlots *slots, MemoryContext ctx, Datum d, const char *what)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(d);
	Size		rawsize = VARSIZE_ANY(raw);
	int			slot;

	if (cache_holds((DiagCache *) slots->slot[slots->last], raw, rawsize))
		return (DiagCache *) slots->slot[slots->last];
	for (int i = 0; i < FLINKML_DIAG_SLOTS; i++)
		if (i != slots->last && cache_holds((DiagCache *) slots->slot[i], raw, rawsize))
		{
			slots->last = i;
			return (DiagCache *) slots->slot[i];
		}
	slot = slots->next;
	slots->next = (slots->next + 1) % FLINKML_DIAG_SLOTS;
	slots->last = slot;
	return diag_cache_load(&slots->slot[slot], ctx, d, what);
}

/* The features of array a (length checked against the model); NULL when an element is NULL. */
static const double *
row_features(ArrayType *a, const LrModel *m, const char *what)
{
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s: x must be a one-dimensional array", what)));
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (n != m->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s: x has %d elements but the model has %d features", what, n, m->nfeat)));
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		return NULL;
	return (const double *) ARR_DATA_PTR(a);
}

typedef struct InflExtra
{
	DiagSlots	caches;
	TupleDesc	desc;			/* blessed, in fn_mcxt */
	HeapTupleHeader tmpl;		/* a row without NULLs, as heap_form_tuple makes it */
} InflExtra;

/*
 * The composite datum of the six float8 figures f (NaN as NULL).  Without
 * a NULL, the row is the template's header followed by the six values (no
 * null bitmap, float8 aligned right after the header): the bytes
 * heap_form_tuple would write, without its per-row size computation and
 * per-attribute fill.
 */
#define INFL_NATTS 6
static Datum
influence_tuple(InflExtra *ex, const double *f)
{
	Datum		v[INFL_NATTS];
	bool		nulls[INFL_NATTS];
	bool		any = false;

	for (int i = 0; i < INFL_NATTS; i++)
	{
		nulls[i] = isnan(f[i]);
		any |= nulls[i];
		v[i] = Float8GetDatum(f[i]);
	}
	if (!any)
	{
		uint32		len = HeapTupleHeaderGetDatumLength(ex->tmpl);
		HeapTupleHeader t = palloc(len);

		memcpy(t, ex->tmpl, ex->tmpl->t_hoff);
		memcpy((char *) t + ex->tmpl->t_hoff, f, sizeof(double) * INFL_NATTS);
		return PointerGetDatum(t);
	}
	return HeapTupleGetDatum(heap_form_tuple(ex->desc, v, nulls));
}

static Datum
influence(FunctionCallInfo fcinfo, bool weighted)
{
	const char *what = "linreg_influence";
	InflExtra  *ex = (InflExtra *) fcinfo->flinfo->fn_extra;
	DiagCache  *c;
	ArrayType  *a;
	const double *x;
	double		y,
				w = 1.0;
	LrInfluence inf;
	double		f[INFL_NATTS];

	for (int i = 0; i < (weighted ? 4 : 3); i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();	/* na.exclude: a row with a NULL gets NULL */
	if (ex == NULL)
	{
		TupleDesc	desc;
		MemoryContext old;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "%s: return type must be a row type", what);
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		ex = palloc0(sizeof(InflExtra));
		ex->desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		MemoryContextSwitchTo(old);
		if (ex->desc->natts != INFL_NATTS)
			elog(ERROR, "%s: the return type must have %d columns", what, INFL_NATTS);
		for (int i = 0; i < INFL_NATTS; i++)
			if (TupleDescAttr(ex->desc, i)->atttypid != FLOAT8OID || TupleDescAttr(ex->desc, i)->attisdropped)
				elog(ERROR, "%s: the return type must have float8 columns", what);
		{
			Datum		v[INFL_NATTS];
			bool		nulls[INFL_NATTS];
			HeapTuple	t;

			for (int i = 0; i < INFL_NATTS; i++)
			{
				v[i] = Float8GetDatum(0.0);
				nulls[i] = false;
			}
			old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
			t = heap_form_tuple(ex->desc, v, nulls);
			MemoryContextSwitchTo(old);
			/* the fast path of influence_tuple relies on this layout */
			if (t->t_data->t_hoff + sizeof(double) * INFL_NATTS != t->t_len ||
				t->t_data->t_hoff % sizeof(double) != 0)
				elog(ERROR, "%s: unexpected row layout", what);
			ex->tmpl = t->t_data;
		}
		fcinfo->flinfo->fn_extra = ex;
	}
	c = flinkml_diag_cache_multi(&ex->caches, fcinfo->flinfo->fn_mcxt, PG_GETARG_DATUM(0), what);
	if (!weighted)
	{
		const LrState *ms = lr_model_state(c->model);

		if (ms->wsum_hi != (double) ms->rows || ms->wsum_lo != 0.0 || ms->logw_hi != 0.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: the model was fitted with weights: pass each row's weight", what),
					 errhint("Call linreg_influence(model, y, x, weight).")));
	}
	y = PG_GETARG_FLOAT8(1);
	a = PG_GETARG_ARRAYTYPE_P(2);
	if (weighted)
		w = PG_GETARG_FLOAT8(3);
	x = row_features(a, c->model, what);
	if (x == NULL)
		PG_RETURN_NULL();
	flinkml_check_row_values(y, x, c->model->nfeat, w);
	if (w == 0.0)
		PG_RETURN_NULL();		/* R drops zero-weight cases from influence measures */
	lr_diag_influence(&c->diag, y, x, w, c->scratch, &inf);
	f[0] = inf.hat;
	f[1] = inf.rstandard;
	f[2] = inf.rstudent;
	f[3] = inf.cooks;
	f[4] = inf.dffits;
	f[5] = inf.covratio;
	PG_RETURN_DATUM(influence_tuple(ex, f));
}

/* linreg_influence(model, y, x): hat, rstandard, rstudent, cooks_distance, dffits, covratio. */
Datum
linreg_influence(PG_FUNCTION_ARGS)
{
	return influence(fcinfo, false);
}

/* linreg_influence(model, y, x, weight) for a weighted fit. */
Datum
linreg_influence_w(PG_FUNCTION_ARGS)
{
	return influence(fcinfo, true);
}

static void
check_not_ridge(const LrModel *m, const char *what)
{
	if (m->lambda > 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s: not defined for a ridge model (lambda = %g)", what, m->lambda)));
}

/* linreg_vif(model): one variance inflation factor per feature, NULL for aliased features. */
Datum
linreg_vif(PG_FUNCTION_ARGS)
{
	LrModel    *m = PG_GETARG_LRMODEL_P(0);
	int			p = m->nfeat;
	double	   *vif = palloc(sizeof(double) * (p + 1));
	Datum	   *vals = palloc(sizeof(Datum) * (p + 1));
	bool	   *nulls = palloc(sizeof(bool) * (p + 1));
	int			dims[1] = {p};
	int			lbs[1] = {1};
	int			rc;

	check_not_ridge(m, "linreg_vif");
	if (m->rank - m->intercept < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_vif: the model has %d non-aliased feature%s; variance inflation needs at least 2",
						m->rank - m->intercept, m->rank - m->intercept == 1 ? "" : "s")));
	FLINKML_DIAG_RETRY(rc, lr_vif(m, vif, flinkml_diag_tick));
	if (rc != LR_OK)
		flinkml_core_error(rc, "linreg_vif");
	for (int j = 0; j < p; j++)
	{
		nulls[j] = isnan(vif[j]);
		vals[j] = Float8GetDatum(vif[j]);
	}
	PG_RETURN_ARRAYTYPE_P(construct_md_array(vals, nulls, 1, dims, lbs,
											 FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * linreg_anova(small, big): res_df_small, rss_small, res_df, rss, df,
 * sum_sq, f, p_value (the two rows of R's anova(small, big) in one).
 */
Datum
linreg_anova(PG_FUNCTION_ARGS)
{
	LrModel    *s = PG_GETARG_LRMODEL_P(0);
	LrModel    *b = PG_GETARG_LRMODEL_P(1);
	LrAnova		an;
	const char *why = NULL;
	TupleDesc	desc;
	Datum		v[8];
	bool		nulls[8];
	double		f[8];
	int			rc;

	check_not_ridge(s, "linreg_anova");
	check_not_ridge(b, "linreg_anova");
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "linreg_anova: return type must be a row type");
	CHECK_FOR_INTERRUPTS();
	rc = lr_anova(s, b, &an, NULL, &why);
	if (rc == LR_EMISMATCH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_anova: %s", why),
				 errdetail("First model: %d features, %lld rows%s; second: %d features, %lld rows%s.",
						   s->nfeat, (long long) s->rows, s->intercept ? ", intercept" : ", no intercept",
						   b->nfeat, (long long) b->rows, b->intercept ? ", intercept" : ", no intercept")));
	if (rc != LR_OK)
		flinkml_core_error(rc, "linreg_anova");
	f[0] = an.df_small;
	f[1] = an.rss_small;
	f[2] = an.df_big;
	f[3] = an.rss_big;
	f[4] = an.df;
	f[5] = an.ss;
	f[6] = an.f;
	f[7] = an.p_value;
	for (int i = 0; i < 8; i++)
	{
		nulls[i] = isnan(f[i]);
		v[i] = Float8GetDatum(f[i]);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, nulls)));
}

/* ---- Breusch-Pagan and White: aggregates with a linreg_state as state ---- */

PG_FUNCTION_INFO_V1(linreg_bp_accum);
PG_FUNCTION_INFO_V1(linreg_bp_accum_flag);
PG_FUNCTION_INFO_V1(linreg_white_accum);
PG_FUNCTION_INFO_V1(linreg_white_accum_flag);
PG_FUNCTION_INFO_V1(linreg_bp_final);
PG_FUNCTION_INFO_V1(linreg_bp_final_flag);
PG_FUNCTION_INFO_V1(linreg_bp_accum_w);
PG_FUNCTION_INFO_V1(linreg_white_accum_w);
PG_FUNCTION_INFO_V1(linreg_bp_final_w);

/*
 * The per-query caches of the residual-test aggregates: several models (a
 * grouped call with one model per group, whose rows a hash aggregate
 * interleaves, would otherwise rebuild the factor at every row).
 */
typedef struct RowExtra
{
	DiagSlots	caches;
	double	   *z;
	int			zlen;
	int			batched;		/* expanded states with a batch alive */
	/* the previous row's state, model argument and its cache (see bp_accum) */
	const void *last_state;
	const void *last_model;
	DiagCache  *last_cache;
	int			last_generation;
} RowExtra;

/* as the fit aggregates (aggregates.c): a batch after this many rows, within a quarter of work_mem */
#define BP_BATCH_AFTER_ROWS 32

static RowExtra *
row_extra(FunctionCallInfo fcinfo, MemoryContext *cx)
{
	return (RowExtra *) flinkml_fn_extra(fcinfo, sizeof(RowExtra), cx);
}

static void
check_unweighted(const LrModel *m, const char *what)
{
	const LrState *s = lr_model_state(m);

	if (s->wsum_hi != (double) s->rows || s->wsum_lo != 0.0 || s->logw_hi != 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 strcmp(what, "linreg_dwtest") == 0
				 ? errmsg("%s: weighted models are not supported", what)
				 : errmsg("%s: the model is weighted, and no weights were given", what),
				 errhint("%s", strcmp(what, "linreg_dwtest") == 0
						 ? "Durbin-Watson is defined for unweighted fits (as lmtest::dwtest, which refuses weights)."
						 : "Pass the model's weights: (model, y, x, studentize, weight).")));
}

/* Auxiliary regressors of White's test: x, then x_i x_j for i <= j (products in float8). */
static int
white_len(int p)
{
	return p + p * (p + 1) / 2;
}

/*
 * The auxiliary state's columns: the regressors (x, or White's), then for
 * a weighted test u/w and u^2/w (whose weighted sums are the unweighted
 * sums of u and u^2 the studentised statistic divides by), then the
 * studentize flag when given.
 */
static Datum
bp_accum(FunctionCallInfo fcinfo, bool white, bool flag, bool weighted)
{
	const char *what = white ? "linreg_white_test" : "linreg_bptest";
	MemoryContext ctx;
	RowExtra   *ex;
	DiagCache  *c;
	MemoryContext excx;
	LrState    *s;
	ArrayType  *a;
	const double *x;
	const LrModel *m;
	const double *zrow;
	double		y,
				w = 1.0;
	int			p,
				q,
				nz;

	int			kind = AggCheckCallContext(fcinfo, &ctx);
	ExpandedLrState *es = NULL;

	if (kind == 0)
		elog(ERROR, "%s called in non-aggregate context", what);
	if (PG_ARGISNULL(0))
		s = NULL;
	else if ((es = flinkml_es_from_datum(PG_GETARG_DATUM(0))) != NULL)
		s = es->state;			/* rows go through its batch */
	else
		s = (LrState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		return es ? flinkml_es_datum(es) : PointerGetDatum(s);
	}
	ex = row_extra(fcinfo, &excx);

	/*
	 * The rows of one state must have one model (otherwise the statistic
	 * mixes them), so a row of the previous row's state whose model argument
	 * is at the same address, with that model still in its cache slot, takes
	 * it without comparing the model's bytes again (a memcmp of the whole
	 * model per row, about 7% of the aggregate's time with 10 features).
	 * Every state starts with a NULL transition value, which always takes the
	 * full look-up: another model at an old address (a rescanned initplan, a
	 * correlated subquery's next row) comes with a new state, or with a state
	 * that had other rows in between.
	 */
	if (s != NULL && s == ex->last_state && DatumGetPointer(PG_GETARG_DATUM(1)) == ex->last_model &&
		ex->last_cache->ready && ex->last_cache->generation == ex->last_generation)
		c = ex->last_cache;
	else
		c = flinkml_diag_cache_multi(&ex->caches, excx, PG_GETARG_DATUM(1), what);
	m = c->model;
	p = m->nfeat;
	nz = white ? white_len(p) : p;
	q = nz + (weighted ? 2 : 0) + (flag ? 1 : 0);
	if (s == NULL)
	{
		if (!weighted)
			check_unweighted(m, what);
		if ((white ? white_len(p) : p) + m->intercept < 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: the auxiliary variance regression needs at least two regressors; the model has %d feature%s and %s",
							what, p, p == 1 ? "" : "s", m->intercept ? "an intercept" : "no intercept")));
		if (q > LR_MAX_FEATURES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s: %d auxiliary regressors for %d features; at most %d", what, q, p, LR_MAX_FEATURES)));
		s = flinkml_new_state(q, m->intercept);
	}
	else if (s->nfeat >= 0 && (s->nfeat != q || s->intercept != m->intercept))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the model must be the same on every row", what)));
	ex->last_state = s;
	ex->last_model = DatumGetPointer(PG_GETARG_DATUM(1));
	ex->last_cache = c;
	ex->last_generation = c->generation;
	if (flag && PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: studentize must not be NULL", what)));
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || (weighted && PG_ARGISNULL(5)))
	{
		s->skipped++;
		return es ? flinkml_es_datum(es) : PointerGetDatum(s);
	}
	y = PG_GETARG_FLOAT8(2);
	a = PG_GETARG_ARRAYTYPE_P(3);
	x = row_features(a, m, what);
	if (x == NULL)
	{
		s->skipped++;
		return es ? flinkml_es_datum(es) : PointerGetDatum(s);
	}
	if (weighted)
		w = PG_GETARG_FLOAT8(5);
	flinkml_check_row_values(y, x, p, w);
	/* a row of weight 0 is left out, as in the fit (lmtest counts it in one sum: see the README) */
	if (w == 0.0)
		return es ? flinkml_es_datum(es) : PointerGetDatum(s);
	if (ex->z == NULL || ex->zlen < q)
	{
		ex->z = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(double) * (q + 1));
		ex->zlen = q;
	}
	/* the plain test's regressors are x itself; White's and the flag's go to ex->z */
	zrow = x;
	if (white || flag || weighted)
	{
		memcpy(ex->z, x, sizeof(double) * p);
		zrow = ex->z;
	}
	if (white)
	{
		int			t = p;
		int			ok = 1;

		/* one pass without branches; find the culprit only on failure */
		for (int i = 0; i < p; i++)
			for (int j = i; j < p; j++)
			{
				double		v = x[i] * x[j];

				ok &= lr_value_ok(v);
				ex->z[t++] = v;
			}
		if (!ok)
			for (int i = 0; i < p; i++)
				for (int j = i; j < p; j++)
					if (!lr_value_ok(x[i] * x[j]))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("%s: x[%d] * x[%d] is out of range for the auxiliary regression", what, i + 1, j + 1)));
	}
	if (flag)
		ex->z[q - 1] = PG_GETARG_BOOL(4) ? 1.0 : 0.0;
	{
		/*
		 * Without residual degrees of freedom the fit interpolates its rows:
		 * every residual is 0 (what is left is rounding), and the statistic
		 * is 0/0, NULL (R: NaN).
		 */
		double		e = c->diag.df_resid > 0 ? lr_diag_resid_fast(&c->diag, y, x) : 0.0;
		double		u = e * e;

		if (!lr_value_ok(u))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s: a squared residual is out of range", what)));
		if (weighted)
		{
			ex->z[nz] = u / w;
			ex->z[nz + 1] = (u / w) * u;
			if (!lr_value_ok(ex->z[nz]) || !lr_value_ok(ex->z[nz + 1]))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("%s: a squared residual divided by its weight (%g) is out of range", what, w)));
		}
		if (es != NULL)
		{
			if (lr_batch_add_row(es->batch, s, u, zrow, w) != 0)
				elog(ERROR, "%s: a value of the auxiliary regression is not finite", what);
			return flinkml_es_datum(es);
		}
		lr_state_add_row(s, u, zrow, w);
	}
	/* a plain aggregate with rows enough goes on with a batch, as the fit aggregates do */
	if (kind == AGG_CONTEXT_AGGREGATE && s->rows == BP_BATCH_AFTER_ROWS && q <= LR_BATCH_MAX_FEATURES)
	{
		Size		each = lr_batch_size(q) + lr_state_size(q) + 2 * ALLOCSET_SMALL_INITSIZE;

		if (ex->batched == 0 || (Size) (ex->batched + 1) * each <= (Size) work_mem * 1024 / 4)
			return flinkml_es_datum(flinkml_es_new(ctx, s, &ex->batched));
	}
	PG_RETURN_POINTER(s);
}

Datum
linreg_bp_accum(PG_FUNCTION_ARGS)
{
	return bp_accum(fcinfo, false, false, false);
}

Datum
linreg_bp_accum_flag(PG_FUNCTION_ARGS)
{
	return bp_accum(fcinfo, false, true, false);
}

Datum
linreg_bp_accum_w(PG_FUNCTION_ARGS)
{
	return bp_accum(fcinfo, false, true, true);
}

Datum
linreg_white_accum(PG_FUNCTION_ARGS)
{
	return bp_accum(fcinfo, true, false, false);
}

Datum
linreg_white_accum_flag(PG_FUNCTION_ARGS)
{
	return bp_accum(fcinfo, true, true, false);
}

Datum
linreg_white_accum_w(PG_FUNCTION_ARGS)
{
	return bp_accum(fcinfo, true, true, true);
}

static Datum
test_tuple(FunctionCallInfo fcinfo, const LrTest *t)
{
	TupleDesc	desc;
	Datum		v[3];
	bool		nulls[3];
	double		f[3] = {t->statistic, t->df, t->p_value};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	for (int i = 0; i < 3; i++)
	{
		nulls[i] = isnan(f[i]);
		v[i] = Float8GetDatum(f[i]);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, nulls)));
}

/* sum w z_j over the state's rows (the shift added back with intercept) */
static dd
state_wsum(const LrState *s, int j)
{
	dd			v = dd_two_sum(lr_csum_hi(s)[j], lr_csum_lo(s)[j]);

	if (s->intercept)
		v = dd_add(v, dd_mul(dd_two_sum(s->wsum_hi, s->wsum_lo), dd_from(lr_cshift(s)[j])));
	return v;
}

static Datum
bp_final(FunctionCallInfo fcinfo, bool flag, bool weighted)
{
	LrState    *s;
	LrTest		t;
	int			studentize = 1;
	int			rc;
	dd			unw[2];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = PG_GETARG_LRSTATE_P(0);
	if (s->nfeat < 0 || s->rows == 0)
		PG_RETURN_NULL();
	if (flag)
	{
		/* the last auxiliary column holds the studentize flag (1 or 0) on every row */
		int			q = s->nfeat - 1;
		double		mk = s->intercept
			? lr_cshift(s)[q] + (lr_csum_hi(s)[q] + lr_csum_lo(s)[q]) / (s->wsum_hi + s->wsum_lo)
			: (lr_csum_hi(s)[q] + lr_csum_lo(s)[q]) / (s->wsum_hi + s->wsum_lo);
		LrState    *r;

		if (mk != 0.0 && mk != 1.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("linreg_bptest: studentize must be the same on every row")));
		studentize = mk == 1.0;
		r = palloc(lr_state_size(q));
		lr_state_drop_last_feature(s, r);
		SET_VARSIZE(r, lr_state_size(q));
		s = r;
	}
	if (weighted)
	{
		/* the last two columns: u/w and u^2/w */
		for (int i = 0; i < 2; i++)
		{
			int			q = s->nfeat - 1;
			LrState    *r;

			unw[1 - i] = state_wsum(s, q);
			r = palloc(lr_state_size(q));
			lr_state_drop_last_feature(s, r);
			SET_VARSIZE(r, lr_state_size(q));
			s = r;
		}
	}
	CHECK_FOR_INTERRUPTS();
	rc = lr_bptest_w(s, studentize, weighted ? unw : NULL, &t);
	if (rc != LR_OK)
		flinkml_core_error(rc, "linreg_bptest");
	return test_tuple(fcinfo, &t);
}

Datum
linreg_bp_final(PG_FUNCTION_ARGS)
{
	return bp_final(fcinfo, false, false);
}

Datum
linreg_bp_final_flag(PG_FUNCTION_ARGS)
{
	return bp_final(fcinfo, true, false);
}

Datum
linreg_bp_final_w(PG_FUNCTION_ARGS)
{
	return bp_final(fcinfo, true, true);
}

/* ---- Durbin-Watson: an ordered aggregate with an internal state ---- */

PG_FUNCTION_INFO_V1(linreg_dw_accum);
PG_FUNCTION_INFO_V1(linreg_dw_accum_ts);
PG_FUNCTION_INFO_V1(linreg_dw_accum_exact);
PG_FUNCTION_INFO_V1(linreg_dw_accum_ts_exact);
PG_FUNCTION_INFO_V1(linreg_dw_final);

typedef struct DwState
{
	void	   *cache;			/* DiagCache */
	LrDW		dw;
	bool		started;
	int			generation;		/* of the cache when started */
	bool		have_key;
	double		key;
	int64		seen;			/* rows seen, skipped included */
	int64		skipped;
	int			mode;			/* LrDW.mode: -1 default, 0 approximate, 1 exact */
} DwState;

static void
dw_free(void *arg)
{
	lr_dw_free(&((DwState *) arg)->dw);
}

static Datum
dw_accum(FunctionCallInfo fcinfo, bool ts, bool flag)
{
	const char *what = "linreg_dwtest";
	MemoryContext ctx;
	DwState    *st;
	DiagCache  *c;
	ArrayType  *a;
	const double *x;
	double		y,
				key;

	if (!AggCheckCallContext(fcinfo, &ctx))
		elog(ERROR, "%s called in non-aggregate context", what);
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	if (PG_ARGISNULL(0))
	{
		MemoryContextCallback *cb;

		st = MemoryContextAllocZero(ctx, sizeof(DwState));
		cb = MemoryContextAllocZero(ctx, sizeof(MemoryContextCallback));
		cb->func = dw_free;
		cb->arg = st;
		MemoryContextRegisterResetCallback(ctx, cb);
	}
	else
		st = (DwState *) PG_GETARG_POINTER(0);
	c = flinkml_diag_cache(&st->cache, ctx, PG_GETARG_DATUM(1), what);
	{
		/* exact: NULL (or absent) for lmtest's default, exact below 100 rows */
		int			mode = (!flag || PG_ARGISNULL(5)) ? -1 : PG_GETARG_BOOL(5) ? 1 : 0;

		if (!st->started)
		{
			check_unweighted(c->model, what);
			if (lr_dw_init(&st->dw, &c->diag, mode) != LR_OK)
				flinkml_core_error(LR_ENOMEM, what);
			st->started = true;
			st->generation = c->generation;
			st->mode = mode;
		}
		else if (st->generation != c->generation)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: the model must be the same on every row", what)));
		else if (st->mode != mode)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: exact must be the same on every row", what)));
	}
	st->seen++;
	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: the order key is NULL (row %lld in order)", what, (long long) st->seen),
				 errhint("Durbin-Watson needs every row in a defined order: filter out rows without a key.")));
	key = ts ? (double) PG_GETARG_TIMESTAMPTZ(4) : PG_GETARG_FLOAT8(4);
	if (isnan(key))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the order key is NaN (row %lld in order)", what, (long long) st->seen)));
	if (st->have_key && key < st->key)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the rows are not in the order of the key", what),
				 errhint("Call it as linreg_dwtest(model, y, x, key ORDER BY key).")));
	st->key = key;
	st->have_key = true;
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		st->skipped++;
		PG_RETURN_POINTER(st);
	}
	y = PG_GETARG_FLOAT8(2);
	a = PG_GETARG_ARRAYTYPE_P(3);
	x = row_features(a, c->model, what);
	if (x == NULL)
	{
		st->skipped++;
		PG_RETURN_POINTER(st);
	}
	flinkml_check_row_values(y, x, c->model->nfeat, 1.0);
	if (st->mode > 0 && st->dw.n >= LR_DW_EXACT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: the exact p value is computed for at most %d rows", what, LR_DW_EXACT_MAX),
				 errhint("Pass exact => NULL (exact below %d rows) or false (the normal approximation).",
						 LR_DW_EXACT_ROWS)));
	lr_dw_add(&st->dw, &c->diag, y, x);
	PG_RETURN_POINTER(st);
}

Datum
linreg_dw_accum(PG_FUNCTION_ARGS)
{
	return dw_accum(fcinfo, false, false);
}

Datum
linreg_dw_accum_ts(PG_FUNCTION_ARGS)
{
	return dw_accum(fcinfo, true, false);
}

Datum
linreg_dw_accum_exact(PG_FUNCTION_ARGS)
{
	return dw_accum(fcinfo, false, true);
}

Datum
linreg_dw_accum_ts_exact(PG_FUNCTION_ARGS)
{
	return dw_accum(fcinfo, true, true);
}

Datum
linreg_dw_final(PG_FUNCTION_ARGS)
{
	DwState    *st;
	DiagCache  *c;
	LrTest		t;
	TupleDesc	desc;
	Datum		v[5];
	bool		nulls[5] = {false, false, false, false, false};
	int			rc;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (DwState *) PG_GETARG_POINTER(0);
	c = (DiagCache *) st->cache;
	if (!st->started || st->dw.n == 0 || c == NULL || !c->ready)
		PG_RETURN_NULL();

	/*
	 * The residuals are the model's: the test is of the rows it was fitted
	 * on (the approximation's traces and the exact eigenvalues assume them).
	 */
	if (st->dw.n != c->diag.n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_dwtest: %lld rows with values here, the model was fitted on %lld",
						(long long) st->dw.n, (long long) c->diag.n),
				 errhint("Durbin-Watson tests the residuals of the rows the model was fitted on: pass those rows.")));
	FLINKML_DIAG_RETRY(rc, lr_dw_result(&st->dw, &c->diag, &t, flinkml_diag_tick));
	if (rc != LR_OK)
		flinkml_core_error(rc, "linreg_dwtest");
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "linreg_dwtest: return type must be a row type");
	v[0] = Float8GetDatum(t.statistic);
	nulls[0] = isnan(t.statistic);
	v[1] = Float8GetDatum(t.p_value);
	nulls[1] = isnan(t.p_value);
	v[2] = Int64GetDatum(st->dw.n);
	v[3] = Int64GetDatum(st->skipped);
	v[4] = BoolGetDatum(t.df == 1.0);
	nulls[4] = isnan(t.df);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, nulls)));
}
