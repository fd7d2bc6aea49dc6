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
 *
 * The running state is a value of type linreg_cv_state: one flat varlena
 * (CvFlat below) holding the folds, the lambdas, the skip count and the k
 * fold states one after another.  The transition function updates it in
 * place in the aggregate context (the value is only re-made once, when the
 * first row gives the feature count), so a row costs what it did with the
 * old internal state: one lr_state_add_row into its fold.  Being a plain
 * type, it has a combine function (parallel query: Partial / Finalize
 * Aggregate) and exact text and binary forms (Citus ships partial states
 * as text).
 */
#include "flinkml.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

#include "core/lr_solve.h"
#include "core/lr_split.h"
#include "core/lr_stats.h"
#include "core/lr_codec.h"
#include "state_text.h"

PG_FUNCTION_INFO_V1(linreg_cv_accum);
PG_FUNCTION_INFO_V1(linreg_cv_combine);
PG_FUNCTION_INFO_V1(linreg_cv_final);
PG_FUNCTION_INFO_V1(linreg_cv_state_in);
PG_FUNCTION_INFO_V1(linreg_cv_state_out);
PG_FUNCTION_INFO_V1(linreg_cv_state_recv);
PG_FUNCTION_INFO_V1(linreg_cv_state_send);

/* The same lambda bound as linreg_ridge_path's (stats.c). */
#define CV_MAX_FOLDS	100
#define CV_MAX_LAMBDAS	1000

#define CV_STATE_VERSION 1

/*
 * linreg_cv_state: the header, lambdas[nlambda], then (once a row gave the
 * feature count, nfeat >= 0) k fold states of lr_state_size(nfeat) bytes
 * each, every one with its own length word set (so it is a linreg_state
 * value as it is).  All parts are multiples of 8 bytes.
 */
typedef struct CvFlat
{
	int32		vl_len_;
	int32		version;		/* CV_STATE_VERSION */
	int32		k;				/* folds */
	int32		nlambda;
	int32		nfeat;			/* -1 while no row has been seen: no fold states */
	int32		reserved;		/* 0 */
	int64		skipped;
	double		data[FLEXIBLE_ARRAY_MEMBER];	/* lambdas, then the fold states */
} CvFlat;

static inline Size
cv_size(int nlambda, int k, int nfeat)
{
	Size		s = offsetof(CvFlat, data) + sizeof(double) * (Size) nlambda;

	if (nfeat >= 0)
		s += (Size) k * lr_state_size(nfeat);
	return s;
}

static inline double *
cv_lambdas(CvFlat *cv)
{
	return cv->data;
}

static inline LrState *
cv_fold(CvFlat *cv, int f)
{
	return (LrState *) ((char *) (cv->data + cv->nlambda) + (Size) f * lr_state_size(cv->nfeat));
}

#define DatumGetCvP(d) ((CvFlat *) PG_DETOAST_DATUM(d))

/* The state of k folds of nfeat features must fit in one value (1 GB). */
static void
cv_check_size(int nlambda, int k, int nfeat)
{
	if (nfeat >= 0 && cv_size(nlambda, k, nfeat) > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("linreg_cv: %d folds of %d features need a state of %zu MB; a value holds at most 1 GB",
						k, nfeat, cv_size(nlambda, k, nfeat) >> 20),
				 errhint("Use fewer folds or fewer features.")));
}

/* A header-only state (no row yet) in the current memory context. */
static CvFlat *
cv_new(int k, int nlambda, const double *lambdas)
{
	CvFlat	   *cv = palloc0(cv_size(nlambda, k, -1));

	SET_VARSIZE(cv, cv_size(nlambda, k, -1));
	cv->version = CV_STATE_VERSION;
	cv->k = k;
	cv->nlambda = nlambda;
	cv->nfeat = -1;
	memcpy(cv_lambdas(cv), lambdas, sizeof(double) * nlambda);
	return cv;
}

/* cv grown to hold k empty fold states of nfeat features: a new value in the current context. */
static CvFlat *
cv_with_folds(const CvFlat *cv, int nfeat)
{
	Size		size;
	CvFlat	   *r;

	cv_check_size(cv->nlambda, cv->k, nfeat);
	size = cv_size(cv->nlambda, cv->k, nfeat);
	r = palloc_extended(size, MCXT_ALLOC_ZERO);
	memcpy(r, cv, cv_size(cv->nlambda, cv->k, -1));
	SET_VARSIZE(r, size);
	r->nfeat = nfeat;
	for (int f = 0; f < r->k; f++)
	{
		LrState    *s = cv_fold(r, f);

		lr_state_init(s, nfeat, 1);
		SET_VARSIZE(s, lr_state_size(nfeat));
	}
	return r;
}

static CvFlat *
cv_copy(const CvFlat *cv)
{
	CvFlat	   *r = palloc_extended(VARSIZE(cv), 0);

	memcpy(r, cv, VARSIZE(cv));
	return r;
}

static CvFlat *
cv_start(FunctionCallInfo fcinfo)
{
	int			k;
	ArrayType  *a;
	Datum	   *vals;
	bool	   *nulls;
	int			n;
	double	   *lambdas;

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
	lambdas = palloc(sizeof(double) * n);
	for (int i = 0; i < n; i++)
	{
		double		l = nulls[i] ? NAN : DatumGetFloat8(vals[i]);

		if (!(l >= 0.0) || !isfinite(l))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("linreg_cv: lambda %d must be a finite number >= 0", i + 1)));
		lambdas[i] = l;
	}
	return cv_new(k, n, lambdas);
}

/*
 * The running state of a plain aggregate once a fold has rows enough: the
 * flat state and a batch per fold (rows not yet folded into that fold's
 * state), as the fit's expanded state (expanded_state.c), for the same
 * reason: whoever reads the value (the final detoasting it, a partial
 * aggregate or Citus's worker_partial_agg sending it, a datumCopy) gets it
 * flattened through these methods, which fold the batches in first.
 */
typedef struct ExpandedCv
{
	ExpandedObjectHeader hdr;
	CvFlat	   *cv;				/* flat; its folds lack the rows in their batches until drained */
	LrBatch   **batch;			/* [k] */
} ExpandedCv;

static Size ec_get_flat_size(ExpandedObjectHeader *eohptr);
static void ec_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods ec_methods = {
	ec_get_flat_size,
	ec_flatten_into
};

static Size
ec_get_flat_size(ExpandedObjectHeader *eohptr)
{
	ExpandedCv *ec = (ExpandedCv *) eohptr;

	for (int f = 0; f < ec->cv->k; f++)
		lr_batch_drain(ec->batch[f], cv_fold(ec->cv, f));
	return VARSIZE(ec->cv);
}

static void
ec_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ExpandedCv *ec = (ExpandedCv *) eohptr;
	Size		size = ec_get_flat_size(eohptr);

	if (allocated_size != size)
		elog(ERROR, "linreg_cv: expanded state flattened into %zu bytes, needs %zu", allocated_size, size);
	memcpy(result, ec->cv, size);
}

static inline ExpandedCv *
ec_from_datum(Datum d)
{
	ExpandedObjectHeader *eoh;

	if (!VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)))
		return NULL;
	eoh = DatumGetEOHP(d);
	if (eoh->eoh_methods != &ec_methods)
		elog(ERROR, "linreg_cv: the transition value is not a linreg_cv_state");
	return (ExpandedCv *) eoh;
}

/* Rows a fold takes one by one before the state gets its batches. */
#define CV_BATCH_AFTER_ROWS 32

/* How many expanded states of one aggregate call are alive (flinkml_fn_extra). */
typedef struct CvExtra
{
	int			batched;
} CvExtra;

static void
ec_forget(void *arg)
{
	(*(int *) arg)--;
}

/*
 * A new expanded state holding a copy of cv (with fold states of at most
 * LR_BATCH_MAX_FEATURES features), in a new child context of parent; NULL
 * when the batches of this aggregate would pass a quarter of work_mem (a
 * hash aggregate holds one state per group; the first always may).
 */
static ExpandedCv *
ec_new(MemoryContext parent, const CvFlat *cv, int *alive)
{
	Size		each = (Size) cv->k * (lr_batch_size(cv->nfeat) + sizeof(LrBatch *)) + VARSIZE(cv)
		+ 2 * ALLOCSET_SMALL_INITSIZE;
	MemoryContext cxt;
	ExpandedCv *ec;
	MemoryContextCallback *cb;

	if (*alive > 0 && (Size) (*alive + 1) * each > (Size) work_mem * 1024 / 4)
		return NULL;
	cxt = AllocSetContextCreate(parent, "flinkml linreg_cv_state", ALLOCSET_DEFAULT_SIZES);
	ec = MemoryContextAlloc(cxt, sizeof(ExpandedCv));
	cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	EOH_init_header(&ec->hdr, &ec_methods, cxt);
	cb->func = ec_forget;
	cb->arg = alive;
	MemoryContextRegisterResetCallback(cxt, cb);
	(*alive)++;
	ec->cv = MemoryContextAllocHuge(cxt, VARSIZE(cv));
	memcpy(ec->cv, cv, VARSIZE(cv));
	ec->batch = MemoryContextAlloc(cxt, sizeof(LrBatch *) * cv->k);
	for (int f = 0; f < cv->k; f++)
	{
		ec->batch[f] = MemoryContextAlloc(cxt, lr_batch_size(cv->nfeat));
		lr_batch_init(ec->batch[f], cv->nfeat);
	}
	return ec;
}

/*
 * linreg_cv(y, x, key, folds, lambdas): transition.  The state is updated in
 * place: it lives in the aggregate context once the executor has adopted it.
 * A new value (made in the current, per-row context, which the executor
 * copies into the aggregate context) only for the first call and for the
 * first row with features; an expanded state with batches (in a child of
 * the aggregate context, which the executor adopts) once a fold of a plain
 * aggregate has CV_BATCH_AFTER_ROWS rows.
 */
Datum
linreg_cv_accum(PG_FUNCTION_ARGS)
{
	MemoryContext ctx;
	int			kind;
	CvFlat	   *cv;
	ExpandedCv *ec = NULL;
	ArrayType  *a;
	const double *x;
	double		y;
	int			n,
				f;
	LrState    *s;

	kind = AggCheckCallContext(fcinfo, &ctx);
	if (!kind)
		elog(ERROR, "linreg_cv_accum called in non-aggregate context");
	if (PG_ARGISNULL(0))
		cv = cv_start(fcinfo);
	else if ((ec = ec_from_datum(PG_GETARG_DATUM(0))) != NULL)
		cv = ec->cv;
	else
		cv = DatumGetCvP(PG_GETARG_DATUM(0));
#define CV_RETURN() return ec ? EOHPGetRWDatum(&ec->hdr) : PointerGetDatum(cv)
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		cv->skipped++;
		CV_RETURN();
	}
	y = PG_GETARG_FLOAT8(1);
	a = PG_GETARG_ARRAYTYPE_P(2);
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (ARR_NDIM(a) > 1 || n > LR_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_cv: x must be a one-dimensional array of at most %d features", LR_MAX_FEATURES)));
	if (ARR_HASNULL(a) && array_contains_nulls(a))
	{
		cv->skipped++;
		CV_RETURN();
	}
	x = (const double *) ARR_DATA_PTR(a);
	if (cv->nfeat != n)
	{
		if (cv->nfeat >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("linreg_cv: x has %d elements but earlier rows had %d", n, cv->nfeat)));
		flinkml_check_row_values(y, x, n, 1.0);
		cv = cv_with_folds(cv, n);
	}
	f = lr_key_fold((uint64) PG_GETARG_INT64(3), 0, cv->k);
	s = cv_fold(cv, f);
	if (ec)
	{
		/* the batch checks the values; the error names the bad one */
		if (lr_batch_add_row(ec->batch[f], s, y, x, 1.0) != 0)
			flinkml_check_row_values(y, x, n, 1.0);
		CV_RETURN();
	}
	flinkml_check_row_values(y, x, n, 1.0);
	lr_state_add_row(s, y, x, 1.0);
	if (kind == AGG_CONTEXT_AGGREGATE && s->rows == CV_BATCH_AFTER_ROWS && cv->nfeat <= LR_BATCH_MAX_FEATURES)
	{
		MemoryContext cxt;
		CvExtra    *site = flinkml_fn_extra(fcinfo, sizeof(CvExtra), &cxt);

		ec = ec_new(ctx, cv, &site->batched);
	}
	CV_RETURN();
#undef CV_RETURN
}

/*
 * Combine (strict): a + b fold by fold.  Both must have the same folds,
 * lambdas (bit for bit) and feature count.  a is updated in place when it
 * is the aggregate's transition value.
 */
Datum
linreg_cv_combine(PG_FUNCTION_ARGS)
{
	CvFlat	   *a = DatumGetCvP(PG_GETARG_DATUM(0));
	CvFlat	   *b = DatumGetCvP(PG_GETARG_DATUM(1));
	bool		inplace = AggCheckCallContext(fcinfo, NULL) != 0;
	CvFlat	   *r;

	if (a->k != b->k || a->nlambda != b->nlambda
		|| memcmp(cv_lambdas(a), cv_lambdas(b), sizeof(double) * a->nlambda) != 0
		|| (a->nfeat >= 0 && b->nfeat >= 0 && a->nfeat != b->nfeat))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linreg_cv: cannot combine states of different folds, lambdas or feature counts"),
				 errdetail("The first state has %d folds, %d lambdas and %d features, the second %d folds, %d lambdas and %d features%s.",
						   a->k, a->nlambda, a->nfeat, b->k, b->nlambda, b->nfeat,
						   a->k == b->k && a->nlambda == b->nlambda && a->nfeat == b->nfeat
						   ? "; their lambdas differ" : "")));
	if (b->nfeat < 0)
	{
		r = inplace ? a : cv_copy(a);
		r->skipped += b->skipped;
		PG_RETURN_POINTER(r);
	}
	if (a->nfeat < 0)
	{
		r = cv_copy(b);
		r->skipped += a->skipped;
		PG_RETURN_POINTER(r);
	}
	r = inplace ? a : cv_copy(a);
	for (int f = 0; f < r->k; f++)
		if (lr_state_merge(cv_fold(r, f), cv_fold(b, f)) != 0)
			elog(ERROR, "linreg_cv: fold states do not match");
	r->skipped += b->skipped;
	PG_RETURN_POINTER(r);
}

/*
 * Validate the header fields of a state read from outside; errors with
 * code.  Fold states are checked where they are read.
 */
static void
cv_check_header(int errcode_, const char *form, int64 version, int64 k, int64 nlambda,
				const double *lambdas, int64 nfeat, int64 skipped)
{
	const char *why = NULL;
	char		msg[128];

	if (version != CV_STATE_VERSION)
		why = "unsupported version";
	else if (k < 2 || k > CV_MAX_FOLDS)
		why = "folds out of range";
	else if (nlambda < 1 || nlambda > CV_MAX_LAMBDAS)
		why = "lambda count out of range";
	else if (nfeat < -1 || nfeat > LR_MAX_FEATURES)
		why = "feature count out of range";
	else if (skipped < 0)
		why = "negative skip count";
	else
		for (int i = 0; i < nlambda && why == NULL; i++)
			if (!(lambdas[i] >= 0.0) || !isfinite(lambdas[i]))
			{
				snprintf(msg, sizeof(msg), "lambda %d is not a finite number >= 0", i + 1);
				why = msg;
			}
	if (why)
		ereport(ERROR,
				(errcode(errcode_),
				 errmsg("invalid %s linreg_cv_state: %s", form, why)));
	cv_check_size((int) nlambda, (int) k, (int) nfeat);
}

/* A fold state read from outside must be a state of nfeat features with intercept. */
static void
cv_check_fold(int errcode_, const char *form, const LrState *s, int nfeat, int f)
{
	if (s->nfeat != nfeat || s->intercept != 1)
		ereport(ERROR,
				(errcode(errcode_),
				 errmsg("invalid %s linreg_cv_state: fold %d has %d features%s, expected %d with an intercept",
						form, f + 1, s->nfeat, s->intercept ? "" : " and no intercept", nfeat)));
}

/*
 * Text form:
 *   {"version":1,"folds":5,"lambdas":[0,0.5],"skipped":0,"features":2,
 *    "states":[{linreg_state},...]}
 * ("features" null and "states" empty while no row has been seen).
 */
Datum
linreg_cv_state_out(PG_FUNCTION_ARGS)
{
	CvFlat	   *cv = DatumGetCvP(PG_GETARG_DATUM(0));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\":%d,\"folds\":%d,\"lambdas\":[", cv->version, cv->k);
	for (int i = 0; i < cv->nlambda; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		st_put_double(&buf, cv_lambdas(cv)[i]);
	}
	appendStringInfo(&buf, "],\"skipped\":" INT64_FORMAT ",\"features\":", cv->skipped);
	if (cv->nfeat < 0)
		appendStringInfoString(&buf, "null,\"states\":[]}");
	else
	{
		size_t		bound = lr_state_text_bound(cv->nfeat);

		appendStringInfo(&buf, "%d,\"states\":[", cv->nfeat);
		for (int f = 0; f < cv->k; f++)
		{
			CHECK_FOR_INTERRUPTS();
			if (f > 0)
				appendStringInfoChar(&buf, ',');
			enlargeStringInfo(&buf, (int) bound + 1);
			buf.len += (int) lr_state_to_text(cv_fold(cv, f), buf.data + buf.len);
			buf.data[buf.len] = '\0';
		}
		appendStringInfoString(&buf, "]}");
	}
	PG_RETURN_CSTRING(buf.data);
}

Datum
linreg_cv_state_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	TextReader	r;
	int64		version,
				k,
				nfeat = -1,
				skipped;
	int			nlambda = 0;
	double	   *lambdas = palloc(sizeof(double) * (CV_MAX_LAMBDAS + 1));
	CvFlat	   *cv;

	st_init(&r, text, "linreg_cv_state");
	st_expect(&r, "{");
	st_key(&r, "version");
	version = st_int(&r, CV_STATE_VERSION, CV_STATE_VERSION, "version");
	st_expect(&r, ",");
	st_key(&r, "folds");
	k = st_int(&r, 2, CV_MAX_FOLDS, "folds");
	st_expect(&r, ",");
	st_key(&r, "lambdas");
	st_expect(&r, "[");
	if (!st_accept(&r, "]"))
	{
		do
		{
			if (nlambda == CV_MAX_LAMBDAS)
				st_error(&r, "more than %d lambdas", CV_MAX_LAMBDAS);
			lambdas[nlambda] = st_double(&r, "a lambda");
			if (!(lambdas[nlambda] >= 0.0))
				st_error(&r, "lambda %d must be >= 0", nlambda + 1);
			nlambda++;
		} while (st_accept(&r, ","));
		st_expect(&r, "]");
	}
	if (nlambda == 0)
		st_error(&r, "lambdas must not be empty");
	st_expect(&r, ",");
	st_key(&r, "skipped");
	skipped = st_int(&r, 0, PG_INT64_MAX, "skipped");
	st_expect(&r, ",");
	st_key(&r, "features");
	if (!st_accept(&r, "null"))
		nfeat = st_int(&r, 0, LR_MAX_FEATURES, "features");
	cv_check_header(ERRCODE_INVALID_TEXT_REPRESENTATION, "text", version, k, nlambda, lambdas, nfeat, skipped);
	st_expect(&r, ",");
	st_key(&r, "states");
	st_expect(&r, "[");
	cv = cv_new((int) k, nlambda, lambdas);
	cv->skipped = skipped;
	if (nfeat >= 0)
	{
		cv = cv_with_folds(cv, (int) nfeat);
		for (int f = 0; f < k; f++)
		{
			char	   *obj;
			LrState    *s = NULL;
			size_t		size = 0;
			char		err[256];

			CHECK_FOR_INTERRUPTS();
			if (f > 0 && !st_accept(&r, ","))
				st_error(&r, "expected %d fold states, found %d", (int) k, f);
			obj = st_object(&r, "a fold state");
			if (lr_state_from_text(obj, flinkml_palloc_huge, &s, &size, err, sizeof(err)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid input syntax for type linreg_cv_state: fold %d: %s", f + 1, err)));
			cv_check_fold(ERRCODE_INVALID_TEXT_REPRESENTATION, "text", s, (int) nfeat, f);
			memcpy(cv_fold(cv, f), s, lr_state_size((int) nfeat));
			SET_VARSIZE(cv_fold(cv, f), lr_state_size((int) nfeat));
			pfree(obj);
			pfree(s);
		}
	}
	if (st_accept(&r, ","))
		st_error(&r, "more fold states than the %d folds", (int) k);
	st_expect(&r, "]");
	st_expect(&r, "}");
	st_end(&r);
	PG_RETURN_POINTER(cv);
}

/*
 * Binary form: version, folds, lambda count, features (int4; -1 without
 * rows), skipped (int8), the lambdas (float8), then each fold's
 * linreg_state binary form.
 */
Datum
linreg_cv_state_send(PG_FUNCTION_ARGS)
{
	CvFlat	   *cv = DatumGetCvP(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, cv->version);
	pq_sendint32(&buf, cv->k);
	pq_sendint32(&buf, cv->nlambda);
	pq_sendint32(&buf, cv->nfeat);
	pq_sendint64(&buf, cv->skipped);
	for (int i = 0; i < cv->nlambda; i++)
		pq_sendfloat8(&buf, cv_lambdas(cv)[i]);
	if (cv->nfeat >= 0)
		for (int f = 0; f < cv->k; f++)
			flinkml_state_send(&buf, cv_fold(cv, f));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
linreg_cv_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		version = pq_getmsgint(buf, 4);
	int64		k = pq_getmsgint(buf, 4);
	int64		nlambda = pq_getmsgint(buf, 4);
	int64		nfeat = (int32) pq_getmsgint(buf, 4);
	int64		skipped = pq_getmsgint64(buf);
	double	   *lambdas;
	CvFlat	   *cv;

	version = (int32) version;
	k = (int32) k;
	nlambda = (int32) nlambda;
	if (nlambda < 1 || nlambda > CV_MAX_LAMBDAS)
		cv_check_header(ERRCODE_INVALID_BINARY_REPRESENTATION, "binary", version, k, nlambda, NULL, nfeat, skipped);
	lambdas = palloc(sizeof(double) * nlambda);
	for (int i = 0; i < nlambda; i++)
		lambdas[i] = pq_getmsgfloat8(buf);
	cv_check_header(ERRCODE_INVALID_BINARY_REPRESENTATION, "binary", version, k, nlambda, lambdas, nfeat, skipped);
	cv = cv_new((int) k, (int) nlambda, lambdas);
	cv->skipped = skipped;
	if (nfeat >= 0)
	{
		cv = cv_with_folds(cv, (int) nfeat);
		for (int f = 0; f < k; f++)
		{
			LrState    *s;

			CHECK_FOR_INTERRUPTS();
			s = flinkml_state_recv(buf);
			cv_check_fold(ERRCODE_INVALID_BINARY_REPRESENTATION, "binary", s, (int) nfeat, f);
			memcpy(cv_fold(cv, f), s, lr_state_size((int) nfeat));
			SET_VARSIZE(cv_fold(cv, f), lr_state_size((int) nfeat));
			pfree(s);
		}
	}
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
	CvFlat	   *cv;
	LrState    *total;
	double	   *mse;
	int			best = 0;
	TupleDesc	desc;
	Datum		v[4];
	bool		nulls[4] = {false, false, false, false};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	cv = DatumGetCvP(PG_GETARG_DATUM(0));
	if (cv->nfeat < 0)
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "linreg_cv: return type must be a row type");

	total = flinkml_copy_state(cv_fold(cv, 0));
	for (int f = 1; f < cv->k; f++)
	{
		CHECK_FOR_INTERRUPTS();
		if (lr_state_merge(total, cv_fold(cv, f)) != 0)
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
			if (cv_fold(cv, f)->rows == 0)
				continue;
			train = flinkml_copy_state(total);
			if (lr_state_subtract(train, cv_fold(cv, f)) != 0 || train->rows == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("linreg_cv: fold %d holds every row; use more distinct keys", f + 1)));
			m = flinkml_solve(train, LR_DEFAULT_TOL, cv_lambdas(cv)[i]);
			sse += lr_state_sse(cv_fold(cv, f), m->coef, m->intercept);
			w += cv_fold(cv, f)->wsum_hi + cv_fold(cv, f)->wsum_lo;
			pfree(train);
			pfree(m);
		}
		mse[i] = sse / w;
		if (mse[i] < mse[best])
			best = i;
	}
	v[0] = float8_array(cv_lambdas(cv), cv->nlambda);
	v[1] = float8_array(mse, cv->nlambda);
	v[2] = Float8GetDatum(cv_lambdas(cv)[best]);
	v[3] = PointerGetDatum(flinkml_solve(total, LR_DEFAULT_TOL, cv_lambdas(cv)[best]));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, nulls)));
}
