/*
 * predict.c — linreg_predict(model, x): score rows inside any query.
 *
 * The model is decoded once per query, not per row: a model value held in
 * memory (a subquery result, a join's inner row) is read in place, since
 * the coefficients sit at the start of the value; a TOASTed or compressed
 * model (read from a table) is fetched once, only as far as its
 * coefficients, and kept in fn_extra, keyed by the raw value's bytes (a
 * TOAST pointer identifies the stored value).
 */
#include "flinkml.h"

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/snapmgr.h"
#include "utils/array.h"

PG_FUNCTION_INFO_V1(linreg_predict);
PG_FUNCTION_INFO_V1(linreg_predict_args);

typedef struct PredictCache
{
	Size		rawsize;
	char	   *raw;			/* the raw (toasted or compressed) datum bytes */
	LrModel    *model;			/* header and coefficients only */
	FeatureArgs *args;			/* for the VARIADIC "any" form */
} PredictCache;

static PredictCache *
get_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(PredictCache));
	return (PredictCache *) fcinfo->flinfo->fn_extra;
}

const LrModel *
flinkml_model_arg(FunctionCallInfo fcinfo, Datum d)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(d);
	PredictCache *cache;
	Size		rawsize;
	LrModel    *head;
	Size		need;
	MemoryContext old;

	if (!VARATT_IS_EXTENDED(raw))
		return (const LrModel *) raw;	/* plain in-memory value: read in place */
	cache = get_cache(fcinfo);
	if (VARATT_IS_EXTERNAL(raw) && !VARATT_IS_EXTERNAL_ONDISK(raw))
	{
		/* an in-memory indirection: no stable identity, decode each time */
		return (const LrModel *) PG_DETOAST_DATUM(d);
	}
	rawsize = VARSIZE_ANY(raw);
	if (cache->model && cache->rawsize == rawsize && memcmp(cache->raw, raw, rawsize) == 0)
		return cache->model;

	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (cache->raw)
		pfree(cache->raw);
	if (cache->model)
		pfree(cache->model);
	cache->raw = palloc(rawsize);
	memcpy(cache->raw, raw, rawsize);
	cache->rawsize = rawsize;
	head = (LrModel *) detoast_attr_slice(raw, 0, offsetof(LrModel, coef));
	need = lr_model_state_offset(head->nfeat, head->intercept);
	cache->model = (LrModel *) detoast_attr_slice(raw, 0, need);
	pfree(head);
	MemoryContextSwitchTo(old);
	return cache->model;
}

static void
check_count(const LrModel *m, int n)
{
	if (n != m->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_predict: x has %d elements but the model has %d features", n, m->nfeat)));
}

/* linreg_predict(model linreg, x float8[]); strict.  A NULL element gives NULL. */
Datum
linreg_predict(PG_FUNCTION_ARGS)
{
	const LrModel *m = flinkml_model_arg(fcinfo, PG_GETARG_DATUM(0));
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_predict: x must be a one-dimensional array, got %d dimensions", ARR_NDIM(a))));
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	check_count(m, n);
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(lr_model_predict(m, (const double *) ARR_DATA_PTR(a)));
}

/* linreg_predict(model linreg, x1, x2, ...): features as separate arguments. */
Datum
linreg_predict_args(PG_FUNCTION_ARGS)
{
	PredictCache *cache;
	const LrModel *m;
	double		x[LR_MAX_FEATURES];
	int			n = PG_NARGS() - 1;

	cache = get_cache(fcinfo);
	if (cache->args == NULL)
		cache->args = flinkml_feature_args(fcinfo, 1, 1, "linreg_predict");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	m = flinkml_model_arg(fcinfo, PG_GETARG_DATUM(0));
	check_count(m, n);
	if (!flinkml_read_features(fcinfo, cache->args, x))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(lr_model_predict(m, x));
}

PG_FUNCTION_INFO_V1(linreg_predict_by_name);

/* The registry model looked up for this query: name and its current model. */
typedef struct NamedModel
{
	text	   *name;
	LrModel    *model;			/* NULL: the model has no rows */
	/* the snapshot it was looked up under: another one means another query */
	TransactionId xmin;
	TransactionId xmax;
	CommandId	curcid;
} NamedModel;

/*
 * linreg_predict(name text, x float8[]): the registry model's active version
 * (merged with pending deltas when it is the head), looked up once per
 * query through flinkml.current_model(); a version activated later is seen
 * by the next query.
 */
Datum
linreg_predict_by_name(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	NamedModel *nm = (NamedModel *) fcinfo->flinfo->fn_extra;
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
	int			n;

	Snapshot	snap = GetActiveSnapshot();

	/*
	 * Look up again for another name, or under another snapshot: a PL/pgSQL
	 * function keeps this expression's state for the whole transaction, and
	 * each of its statements must see a version activated before it.
	 */
	if (nm == NULL || nm->xmin != snap->xmin || nm->xmax != snap->xmax || nm->curcid != snap->curcid ||
		VARSIZE_ANY_EXHDR(nm->name) != VARSIZE_ANY_EXHDR(name) ||
		memcmp(VARDATA_ANY(nm->name), VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name)) != 0)
	{
		MemoryContext old;
		Oid			argtypes[1] = {TEXTOID};
		Datum		args[1] = {PointerGetDatum(name)};
		bool		isnull;
		Datum		d;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "linreg_predict: SPI_connect failed");
		if (SPI_execute_with_args("SELECT flinkml.current_model($1)", 1, argtypes, args, NULL,
								  true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "linreg_predict: model lookup failed");
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		if (nm == NULL)
			nm = palloc0(sizeof(NamedModel));
		nm->name = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(name));
		nm->model = isnull ? NULL : (LrModel *) PG_DETOAST_DATUM_COPY(d);
		nm->xmin = snap->xmin;
		nm->xmax = snap->xmax;
		nm->curcid = snap->curcid;
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = nm;
		SPI_finish();
	}
	if (nm->model == NULL)
		PG_RETURN_NULL();
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_predict: x must be a one-dimensional array, got %d dimensions", ARR_NDIM(a))));
	check_count(nm->model, n);
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(lr_model_predict(nm->model, (const double *) ARR_DATA_PTR(a)));
}
