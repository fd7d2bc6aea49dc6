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
 *
 * The running state is a value of type linreg_robust_state (RobustFlat
 * below), updated in place in the aggregate context: the HC type, the row
 * and skip counts, the meat (double-double, both parts), and the model
 * itself with a hash of its bytes.
 *
 * Why the model is in the state: the final function needs the model's
 * factor (DiagCache) to apply the bread and map the meat back to the terms,
 * and a combined state arriving from a parallel worker or a Citus worker
 * (as text) has had no transition call in the process that finalises it, so
 * nothing else there knows the model.  The meat alone does not determine
 * it, and no exact shorter identity would let the final rebuild the factor.
 * The model is O(p^2), as the meat is, so the state at most about doubles.
 * The factor is rebuilt from the stored model once per query and model
 * (cached in the final's fn_extra, keyed by the model's bytes).  The hash
 * makes the per-row "same model" check one comparison (the transition's
 * cache is keyed by the argument's bytes, as before); combining compares
 * the stored models byte for byte.
 */
#include "diagnostics.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

#include "core/lr_codec.h"
#include "core/lr_stats.h"
#include "state_text.h"

PG_FUNCTION_INFO_V1(linreg_robust_accum);
PG_FUNCTION_INFO_V1(linreg_robust_accum_w);
PG_FUNCTION_INFO_V1(linreg_robust_combine);
PG_FUNCTION_INFO_V1(linreg_robust_final);
PG_FUNCTION_INFO_V1(linreg_robust_state_in);
PG_FUNCTION_INFO_V1(linreg_robust_state_out);
PG_FUNCTION_INFO_V1(linreg_robust_state_recv);
PG_FUNCTION_INFO_V1(linreg_robust_state_send);

extern Datum linreg_send(PG_FUNCTION_ARGS);
extern Datum linreg_recv(PG_FUNCTION_ARGS);

#define ROBUST_STATE_VERSION 1

/*
 * linreg_robust_state: the header, meat[nq (nq + 1) / 2] (packed upper
 * triangle, as LrHC's), then the model (a linreg value with its length word)
 * of model_size bytes.
 */
typedef struct RobustFlat
{
	int32		vl_len_;
	int32		version;		/* ROBUST_STATE_VERSION */
	int32		type;			/* 0..3 for HC0..HC3 */
	int32		nfeat;			/* the model's features */
	int32		nq;				/* kept terms: the meat's dimension */
	int32		undefined;		/* 1: a row of leverage 1 under HC2/HC3 */
	int64		n;				/* rows of positive weight */
	int64		skipped;
	uint64		model_hash;		/* hash_bytes_extended of the model's bytes, seed 0 */
	int32		model_size;
	int32		reserved;		/* 0 */
	dd			meat[FLEXIBLE_ARRAY_MEMBER];
} RobustFlat;

static inline Size
meat_len(int nq)
{
	return (Size) nq * (Size) (nq + 1) / 2;
}

static inline Size
robust_size(int nq, Size model_size)
{
	return offsetof(RobustFlat, meat) + sizeof(dd) * meat_len(nq) + model_size;
}

static inline LrModel *
robust_model(RobustFlat *r)
{
	return (LrModel *) ((char *) r->meat + sizeof(dd) * meat_len(r->nq));
}

#define DatumGetRobustP(d) ((RobustFlat *) PG_DETOAST_DATUM(d))

static const char *const hc_names[4] = {"HC0", "HC1", "HC2", "HC3"};

static int
hc_type(text *t)
{
	char	   *s = text_to_cstring(t);

	for (int i = 0; i < 4; i++)
		if (pg_strcasecmp(s, hc_names[i]) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("linreg_robust_se: unknown type \"%s\"; use HC0, HC1, HC2 or HC3", s)));
	return -1;
}

/* A new state (zero meat) for model m of nq kept terms, in the current context. */
static RobustFlat *
robust_new(int type, const LrModel *m, uint64 hash, int nq)
{
	Size		msize = VARSIZE(m);
	Size		size;
	RobustFlat *r;

	if (meat_len(nq) > (MaxAllocSize / sizeof(dd)) || robust_size(nq, msize) > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("linreg_robust_se: the state of a model of %d features is larger than 1 GB", m->nfeat)));
	size = robust_size(nq, msize);
	r = palloc_extended(size, MCXT_ALLOC_ZERO);
	SET_VARSIZE(r, size);
	r->version = ROBUST_STATE_VERSION;
	r->type = type;
	r->nfeat = m->nfeat;
	r->nq = nq;
	r->model_hash = hash;
	r->model_size = (int32) msize;
	memcpy(robust_model(r), m, msize);
	return r;
}

static RobustFlat *
robust_copy(const RobustFlat *r)
{
	RobustFlat *c = palloc(VARSIZE(r));

	memcpy(c, r, VARSIZE(r));
	return c;
}

/*
 * The running state of a plain aggregate once it has rows enough: an
 * expanded object holding the flat state and a block batch of the meat
 * (core lr_hc_batch, the fast path), as the fit's (expanded_state.c) and
 * for the same reason: the batch holds rows the flat meat does not show
 * yet, so whoever reads the value (the final detoasting it, a partial
 * aggregate or Citus's worker_partial_agg sending it, a datumCopy) gets it
 * flattened through the methods below, which fold the batch in first.
 * The executor (and Citus's wrapper) adopt a read-write expanded object
 * whose context is a child of the aggregate context without copying it.
 */
typedef struct ExpandedRobust
{
	ExpandedObjectHeader hdr;
	RobustFlat *r;				/* flat; its meat lacks the rows in batch until drained */
	LrHCBatch  *batch;
} ExpandedRobust;

static Size er_get_flat_size(ExpandedObjectHeader *eohptr);
static void er_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods er_methods = {
	er_get_flat_size,
	er_flatten_into
};

static void
er_drain(ExpandedRobust *er)
{
	LrHC		h;

	memset(&h, 0, sizeof(h));
	h.nq = er->r->nq;
	h.meat = er->r->meat;
	lr_hc_batch_drain(er->batch, &h);
}

static Size
er_get_flat_size(ExpandedObjectHeader *eohptr)
{
	ExpandedRobust *er = (ExpandedRobust *) eohptr;

	er_drain(er);
	return VARSIZE(er->r);
}

static void
er_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ExpandedRobust *er = (ExpandedRobust *) eohptr;
	Size		size = er_get_flat_size(eohptr);

	if (allocated_size != size)
		elog(ERROR, "linreg_robust_se: expanded state flattened into %zu bytes, needs %zu",
				allocated_size, size);
	memcpy(result, er->r, size);
}

/* The expanded state behind a read-write datum, or NULL for a flat value. */
static inline ExpandedRobust *
er_from_datum(Datum d)
{
	ExpandedObjectHeader *eoh;

	if (!VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)))
		return NULL;
	eoh = DatumGetEOHP(d);
	if (eoh->eoh_methods != &er_methods)
		elog(ERROR, "linreg_robust_se: the transition value is not a linreg_robust_state");
	return (ExpandedRobust *) eoh;
}

/*
 * What the functions of one aggregate call keep (flinkml_fn_extra): the
 * model caches, and how many of its states hold a batch.
 */
typedef struct RobustExtra
{
	DiagSlots	slots;
	int			batched;		/* expanded states alive */
} RobustExtra;

/* Rows a state takes one by one before it gets a batch: small groups stay small. */
#define ROBUST_BATCH_AFTER_ROWS 32

static void
er_forget(void *arg)
{
	(*(int *) arg)--;
}

/*
 * A new expanded state holding a copy of r, in a new child context of
 * parent, with a batch for d; or NULL when the batches of this aggregate
 * would pass a quarter of work_mem (a hash aggregate holds one state per
 * group; the first always may), as the fit's batch_allowed.
 */
static ExpandedRobust *
er_new(MemoryContext parent, const RobustFlat *r, const LrDiag *d, int *alive)
{
	Size		each = lr_hc_batch_size(d) + VARSIZE(r) + 2 * ALLOCSET_SMALL_INITSIZE;
	MemoryContext cxt;
	ExpandedRobust *er;
	MemoryContextCallback *cb;

	if (*alive > 0 && (Size) (*alive + 1) * each > (Size) work_mem * 1024 / 4)
		return NULL;
	cxt = AllocSetContextCreate(parent, "flinkml linreg_robust_state", ALLOCSET_SMALL_SIZES);
	er = MemoryContextAlloc(cxt, sizeof(ExpandedRobust));
	cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	EOH_init_header(&er->hdr, &er_methods, cxt);
	cb->func = er_forget;
	cb->arg = alive;
	MemoryContextRegisterResetCallback(cxt, cb);
	(*alive)++;
	er->r = MemoryContextAlloc(cxt, VARSIZE(r));
	memcpy(er->r, r, VARSIZE(r));
	er->batch = MemoryContextAllocHuge(cxt, lr_hc_batch_size(d));
	lr_hc_batch_init(er->batch, d);
	return er;
}

/*
 * The cache a transition used last in this backend: a serial final (or the
 * leader's, when it scanned rows too) takes the factor from there instead
 * of building it again from the state's model.  Cleared when the context
 * of any transition's caches goes; checked against the state's model bytes
 * before use.
 */
static DiagCache *last_cache = NULL;

static void
forget_last_cache(void *arg)
{
	last_cache = NULL;
}

/* The per-query caches of a transition or final function (several models: grouped calls). */
static RobustExtra *
robust_extra(FunctionCallInfo fcinfo, bool transition, MemoryContext *cx)
{
	RobustExtra *ex = flinkml_fn_extra(fcinfo, sizeof(RobustExtra), cx);

	if (transition && !ex->slots.registered)
	{
		MemoryContextCallback *cb = MemoryContextAllocZero(*cx, sizeof(MemoryContextCallback));

		cb->func = forget_last_cache;
		MemoryContextRegisterResetCallback(*cx, cb);
		ex->slots.registered = true;
	}
	return ex;
}

/*
 * The transition.  The state is updated in place; a new value (in the
 * current per-row context, which the executor copies into the aggregate
 * context) only at the first row with a model, and an expanded state with
 * a batch (in a child of the aggregate context, which the executor adopts)
 * once a plain aggregate's state has ROBUST_BATCH_AFTER_ROWS rows.
 */
static Datum
robust_accum(FunctionCallInfo fcinfo, bool weighted)
{
	int			typearg = weighted ? 5 : 4;
	MemoryContext ctx;
	int			kind;
	RobustFlat *r;
	ExpandedRobust *er = NULL;
	DiagCache  *c;
	RobustExtra *ex;
	MemoryContext cx;
	const LrModel *m;
	ArrayType  *a;
	const double *x;
	double		y,
				w = 1.0;
	int			n;
	int			type = -1;
	LrHC		h;

	kind = AggCheckCallContext(fcinfo, &ctx);
	if (!kind)
		elog(ERROR, "linreg_robust_accum called in non-aggregate context");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (PG_ARGISNULL(0))
	{
		if (PG_ARGISNULL(typearg))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("linreg_robust_se: type must not be NULL")));
		type = hc_type(PG_GETARG_TEXT_PP(typearg));
	}
	ex = robust_extra(fcinfo, true, &cx);
	c = flinkml_diag_cache_multi(&ex->slots, cx, PG_GETARG_DATUM(1), "linreg_robust_se");
	last_cache = c;
	m = c->model;
	if (PG_ARGISNULL(0))
		r = robust_new(type, m, c->hash, c->diag.k + c->diag.icpt);
	else
	{
		er = er_from_datum(PG_GETARG_DATUM(0));
		r = er ? er->r : DatumGetRobustP(PG_GETARG_DATUM(0));
		if (r->model_hash != c->hash || r->model_size != (int32) VARSIZE(m) || r->nfeat != m->nfeat)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("linreg_robust_se: the model must be the same on every row")));
	}
#define ROBUST_RETURN() return er ? EOHPGetRWDatum(&er->hdr) : PointerGetDatum(r)
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || (weighted && PG_ARGISNULL(4)))
	{
		r->skipped++;
		ROBUST_RETURN();
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
	if (ARR_HASNULL(a) && array_contains_nulls(a))
	{
		r->skipped++;
		ROBUST_RETURN();
	}
	x = (const double *) ARR_DATA_PTR(a);
	flinkml_check_row_values(y, x, n, w);
	if (w == 0.0)
		ROBUST_RETURN();
	/* the core's accumulator over the state's meat; z is the cache's scratch of k + 1 */
	h.type = r->type;
	h.nq = r->nq;
	h.n = r->n;
	h.undefined = r->undefined;
	h.meat = r->meat;
	h.z = c->scratch;
	if (er)
		lr_hc_batch_add(er->batch, &h, &c->diag, y, x, w);
	else
		lr_hc_add(&h, &c->diag, y, x, w);
	r->n = h.n;
	r->undefined = h.undefined;
	if (er == NULL && kind == AGG_CONTEXT_AGGREGATE && r->n == ROBUST_BATCH_AFTER_ROWS)
	{
		er = er_new(ctx, r, &c->diag, &ex->batched);
		if (er)
			return EOHPGetRWDatum(&er->hdr);
	}
	ROBUST_RETURN();
#undef ROBUST_RETURN
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

/*
 * Combine (strict): the meats added in double-double.  Both states must be
 * of the same type and the same model (bytes compared).  a is updated in
 * place when it is the aggregate's transition value.
 */
Datum
linreg_robust_combine(PG_FUNCTION_ARGS)
{
	RobustFlat *a = DatumGetRobustP(PG_GETARG_DATUM(0));
	RobustFlat *b = DatumGetRobustP(PG_GETARG_DATUM(1));
	RobustFlat *r;
	Size		len;

	if (a->type != b->type)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_robust_se: cannot combine states of different types (%s and %s)",
						hc_names[a->type], hc_names[b->type])));
	if (a->nfeat != b->nfeat || a->nq != b->nq || a->model_hash != b->model_hash
		|| a->model_size != b->model_size
		|| memcmp(robust_model(a), robust_model(b), a->model_size) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_robust_se: cannot combine states of different models"),
				 errdetail("The first state's model has %d features, the second's %d.", a->nfeat, b->nfeat)));
	r = AggCheckCallContext(fcinfo, NULL) ? a : robust_copy(a);
	len = meat_len(r->nq);
	for (Size i = 0; i < len; i++)
		r->meat[i] = dd_add(r->meat[i], b->meat[i]);
	r->n += b->n;
	r->skipped += b->skipped;
	r->undefined |= b->undefined;
	PG_RETURN_POINTER(r);
}

/* Final: sqrt(diag(B M B)) per term, NULL for aliased terms. */
Datum
linreg_robust_final(PG_FUNCTION_ARGS)
{
	RobustFlat *r;
	DiagCache  *c;
	LrHC		h;
	int			nt;
	double	   *se;
	Datum	   *vals;
	bool	   *nulls;
	int			dims[1];
	int			lbs[1] = {1};
	int			rc;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	r = DatumGetRobustP(PG_GETARG_DATUM(0));
	if (r->n == 0)
		PG_RETURN_NULL();
	c = last_cache;
	if (c == NULL || !c->ready || c->hash != r->model_hash || (int32) VARSIZE(c->model) != r->model_size
		|| memcmp(c->model, robust_model(r), r->model_size) != 0)
	{
		MemoryContext cx;
		RobustExtra *ex = robust_extra(fcinfo, false, &cx);

		c = flinkml_diag_cache_multi(&ex->slots, cx, PointerGetDatum(robust_model(r)), "linreg_robust_se");
	}
	if (c->diag.k + c->diag.icpt != r->nq || c->model->nfeat != r->nfeat)
		elog(ERROR, "linreg_robust_se: the state's meat does not match its model");
	h.type = r->type;
	h.nq = r->nq;
	h.n = r->n;
	h.undefined = r->undefined;
	h.meat = r->meat;			/* read only */
	h.z = NULL;
	nt = c->diag.nt;
	se = palloc(sizeof(double) * (nt + 1));
	FLINKML_DIAG_RETRY(rc, lr_hc_result(&h, &c->diag, se, NULL, flinkml_diag_tick));
	if (rc != LR_OK)
		flinkml_core_error(rc, "linreg_robust_se");
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

/*
 * The last model whose factor robust_from_parts checked (a copy in
 * TopMemoryContext, compared byte for byte), with its kept term count: the
 * check is a function of those bytes, so a state of the same model does
 * not factor it again.
 */
static LrModel *last_checked = NULL;
static int64 last_checked_nq = -1;

/*
 * A state read from outside: check the model (a least-squares model whose
 * factor has nq kept terms and nfeat features) and the counts, then build
 * it.  meat holds 2 meat_len(nq) doubles, hi and lo of each entry, all
 * finite.  errcode_ and form ("text", "binary") for the messages.
 */
static RobustFlat *
robust_from_parts(int errcode_, const char *form, int64 version, int type, int64 nfeat, int64 nq,
				  bool undefined, int64 n, int64 skipped, const double *meat, LrModel *m)
{
	LrDiag		d;
	int			rc;
	const char *why = NULL;
	RobustFlat *r;

	if (version != ROBUST_STATE_VERSION)
		why = "unsupported version";
	else if (type < 0 || type > 3)
		why = "unknown type";
	else if (n < 0 || skipped < 0)
		why = "negative count";
	else if (m->nfeat != nfeat)
		why = "the feature count is not the model's";
	else if (m->lambda > 0.0)
		why = "a ridge model";
	if (why == NULL && !(last_checked != NULL && VARSIZE(last_checked) == VARSIZE(m)
						 && memcmp(last_checked, m, VARSIZE(m)) == 0 && last_checked_nq == nq))
	{
		memset(&d, 0, sizeof(d));
		FLINKML_DIAG_RETRY(rc, lr_diag_init(&d, m, flinkml_diag_tick));
		if (rc == LR_ENOMEM)
		{
			lr_diag_free(&d);
			flinkml_core_error(rc, "linreg_robust_se");
		}
		if (rc != LR_OK)
			why = "the model cannot be factored";
		else if (d.k + d.icpt != nq)
			why = "the meat's dimension is not the model's kept term count";
		lr_diag_free(&d);
		if (why == NULL)
		{
			/* remembered: Citus sends one state per shard, all of the same model */
			if (last_checked)
				pfree(last_checked);
			last_checked = MemoryContextAlloc(TopMemoryContext, VARSIZE(m));
			memcpy(last_checked, m, VARSIZE(m));
			last_checked_nq = nq;
		}
	}
	if (why == NULL)
		for (Size i = 0; i < 2 * meat_len((int) nq); i++)
			if (!isfinite(meat[i]))
			{
				why = "a meat value is not finite";
				break;
			}
	if (why)
		ereport(ERROR,
				(errcode(errcode_),
				 errmsg("invalid %s linreg_robust_state: %s", form, why)));
	r = robust_new(type, m, hash_bytes_extended((const unsigned char *) m, VARSIZE(m), 0), (int) nq);
	r->undefined = undefined ? 1 : 0;
	r->n = n;
	r->skipped = skipped;
	for (Size i = 0; i < meat_len((int) nq); i++)
	{
		r->meat[i].hi = meat[2 * i];
		r->meat[i].lo = meat[2 * i + 1];
	}
	return r;
}

/*
 * Text form:
 *   {"version":1,"type":"HC3","rows":100,"skipped":0,"undefined":false,
 *    "features":2,"terms":3,"meat":[hi,lo,hi,lo,...],"model":{linreg}}
 */
Datum
linreg_robust_state_out(PG_FUNCTION_ARGS)
{
	RobustFlat *r = DatumGetRobustP(PG_GETARG_DATUM(0));
	LrModel    *m = robust_model(r);
	StringInfoData buf;
	size_t		bound = lr_model_text_bound(m);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\":%d,\"type\":\"%s\",\"rows\":" INT64_FORMAT ",\"skipped\":" INT64_FORMAT
					 ",\"undefined\":%s,\"features\":%d,\"terms\":%d,\"meat\":[",
					 r->version, hc_names[r->type], r->n, r->skipped, r->undefined ? "true" : "false",
					 r->nfeat, r->nq);
	for (Size i = 0; i < meat_len(r->nq); i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		st_put_double(&buf, r->meat[i].hi);
		appendStringInfoChar(&buf, ',');
		st_put_double(&buf, r->meat[i].lo);
	}
	appendStringInfoString(&buf, "],\"model\":");
	enlargeStringInfo(&buf, (int) bound + 1);
	buf.len += (int) lr_model_to_text(m, buf.data + buf.len);
	buf.data[buf.len] = '\0';
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

Datum
linreg_robust_state_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	TextReader	rd;
	int64		version,
				n,
				skipped,
				nfeat,
				nq;
	int			type = -1;
	bool		undefined;
	double	   *meat;
	Size		want,
				got = 0;
	char	   *obj;
	LrModel    *m = NULL;
	size_t		size = 0;
	char		err[256];

	st_init(&rd, text, "linreg_robust_state");
	st_expect(&rd, "{");
	st_key(&rd, "version");
	version = st_int(&rd, ROBUST_STATE_VERSION, ROBUST_STATE_VERSION, "version");
	st_expect(&rd, ",");
	st_key(&rd, "type");
	for (int i = 0; i < 4 && type < 0; i++)
	{
		char		q[8];

		snprintf(q, sizeof(q), "\"%s\"", hc_names[i]);
		if (st_accept(&rd, q))
			type = i;
	}
	if (type < 0)
		st_error(&rd, "expected \"HC0\", \"HC1\", \"HC2\" or \"HC3\"");
	st_expect(&rd, ",");
	st_key(&rd, "rows");
	n = st_int(&rd, 0, PG_INT64_MAX, "rows");
	st_expect(&rd, ",");
	st_key(&rd, "skipped");
	skipped = st_int(&rd, 0, PG_INT64_MAX, "skipped");
	st_expect(&rd, ",");
	st_key(&rd, "undefined");
	if (st_accept(&rd, "true"))
		undefined = true;
	else if (st_accept(&rd, "false"))
		undefined = false;
	else
		st_error(&rd, "expected true or false");
	st_expect(&rd, ",");
	st_key(&rd, "features");
	nfeat = st_int(&rd, 0, LR_MAX_FEATURES, "features");
	st_expect(&rd, ",");
	st_key(&rd, "terms");
	nq = st_int(&rd, 0, nfeat + 1, "terms");
	st_expect(&rd, ",");
	st_key(&rd, "meat");
	st_expect(&rd, "[");
	want = 2 * meat_len((int) nq);
	meat = palloc_extended(sizeof(double) * (want + 1), MCXT_ALLOC_HUGE);
	if (!st_accept(&rd, "]"))
	{
		do
		{
			if (got == want)
				st_error(&rd, "more than the %zu meat values of %d terms", want, (int) nq);
			meat[got++] = st_double(&rd, "a meat value");
		} while (st_accept(&rd, ","));
		st_expect(&rd, "]");
	}
	if (got != want)
		st_error(&rd, "%zu meat values, expected %zu for %d terms", got, want, (int) nq);
	st_expect(&rd, ",");
	st_key(&rd, "model");
	obj = st_object(&rd, "the model");
	st_expect(&rd, "}");
	st_end(&rd);
	if (lr_model_from_text(obj, flinkml_palloc_huge, &m, &size, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type linreg_robust_state: model: %s", err)));
	SET_VARSIZE(m, size);
	PG_RETURN_POINTER(robust_from_parts(ERRCODE_INVALID_TEXT_REPRESENTATION, "text", version, type, nfeat, nq,
										undefined, n, skipped, meat, m));
}

/*
 * Binary form: version, type, features, terms (int4), undefined (byte),
 * rows, skipped (int8), the meat (float8 hi, lo per entry), then the
 * model's linreg binary form with its length (int4) first.
 */
Datum
linreg_robust_state_send(PG_FUNCTION_ARGS)
{
	RobustFlat *r = DatumGetRobustP(PG_GETARG_DATUM(0));
	StringInfoData buf;
	bytea	   *mb;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, r->version);
	pq_sendint32(&buf, r->type);
	pq_sendint32(&buf, r->nfeat);
	pq_sendint32(&buf, r->nq);
	pq_sendbyte(&buf, r->undefined ? 1 : 0);
	pq_sendint64(&buf, r->n);
	pq_sendint64(&buf, r->skipped);
	for (Size i = 0; i < meat_len(r->nq); i++)
	{
		pq_sendfloat8(&buf, r->meat[i].hi);
		pq_sendfloat8(&buf, r->meat[i].lo);
	}
	mb = DatumGetByteaPP(DirectFunctionCall1(linreg_send, PointerGetDatum(robust_model(r))));
	pq_sendint32(&buf, VARSIZE_ANY_EXHDR(mb));
	pq_sendbytes(&buf, VARDATA_ANY(mb), VARSIZE_ANY_EXHDR(mb));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
linreg_robust_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		version = (int32) pq_getmsgint(buf, 4);
	int64		type = (int32) pq_getmsgint(buf, 4);
	int64		nfeat = (int32) pq_getmsgint(buf, 4);
	int64		nq = (int32) pq_getmsgint(buf, 4);
	int			undefined = pq_getmsgbyte(buf);
	int64		n = pq_getmsgint64(buf);
	int64		skipped = pq_getmsgint64(buf);
	double	   *meat;
	Size		want;
	int			mlen;
	StringInfoData sub;
	LrModel    *m;

	if (nfeat < 0 || nfeat > LR_MAX_FEATURES || nq < 0 || nq > nfeat + 1 || undefined > 1
		|| type < 0 || type > 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary linreg_robust_state: type %lld, %lld features, %lld terms, undefined flag %d",
						(long long) type, (long long) nfeat, (long long) nq, undefined)));
	want = 2 * meat_len((int) nq);
	meat = palloc_extended(sizeof(double) * (want + 1), MCXT_ALLOC_HUGE);
	for (Size i = 0; i < want; i++)
		meat[i] = pq_getmsgfloat8(buf);
	mlen = pq_getmsgint(buf, 4);
	if (mlen < 0 || mlen > buf->len - buf->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary linreg_robust_state: model length %d", mlen)));
	sub.data = unconstify(char *, pq_getmsgbytes(buf, mlen));
	sub.len = mlen;
	sub.maxlen = mlen;
	sub.cursor = 0;
	m = (LrModel *) DatumGetPointer(DirectFunctionCall1(linreg_recv, PointerGetDatum(&sub)));
	if (sub.cursor != sub.len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary linreg_robust_state: %d bytes after the model", sub.len - sub.cursor)));
	PG_RETURN_POINTER(robust_from_parts(ERRCODE_INVALID_BINARY_REPRESENTATION, "binary", version, (int) type,
										nfeat, nq, undefined != 0, n, skipped, meat, m));
}
