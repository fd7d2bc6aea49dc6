/*
 * categorical.c — categorical registry features: a text, varchar or boolean
 * column dummy-coded as R's treatment contrasts do.
 *
 * The levels are learned when the model is created (flinkml.create_model:
 * the distinct non-NULL values among the rows the fit uses, sorted in the
 * "C" collation, i.e. byte order) and stored with the model
 * (flinkml.models.levels, a jsonb array with one element per feature: null
 * for a numeric feature, the array of its levels for a categorical one).
 * The first level is the reference: a feature of k levels becomes k - 1
 * columns, named feature=level, each 1 where the value is that level and 0
 * otherwise.  A boolean's levels are "false" and "true".  A value that is
 * not one of the levels is an error naming it (fit, refit, trigger,
 * prediction): a model never learns or scores a level it has no
 * coefficient for.  A NULL is a NULL feature, as for numeric columns.
 *
 * Here: parsing the levels, expanding one value (for the triggers,
 * score_into and linreg_predict(name, record)), the SQL helper
 * flinkml._dummies that the registry's fit queries use, and
 * linreg_predict(name, record).
 */
#include "flinkml.h"
#include "categorical.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(flinkml_dummies);
PG_FUNCTION_INFO_V1(linreg_predict_row);

bool
flinkml_categorical_type(Oid type)
{
	return type == TEXTOID || type == VARCHAROID || type == BOOLOID;
}

static void
bad_levels(const char *model, const char *why)
{
	if (model == NULL)			/* the decoder's option */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("flinkml decoder: option \"levels\" is malformed: %s", why),
				 errhint("It is a JSON array with an element per feature: null for a numeric one, the levels of a categorical one (at least two strings, distinct, in byte order).")));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("flinkml: the levels of model \"%s\" are malformed: %s", model, why)));
}

FlinkmlLevels *
flinkml_levels_parse(Jsonb *levels, int nraw, bool intercept, const char *model)
{
	FlinkmlLevels *L = palloc0(sizeof(FlinkmlLevels));
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;
	int			feat = -1;
	int			cap = 0;

	L->nraw = nraw;
	L->nlev = palloc0(sizeof(int) * (nraw + 1));
	L->lev = palloc0(sizeof(char **) * (nraw + 1));
	L->len = palloc0(sizeof(int *) * (nraw + 1));
	L->nexp = nraw;
	L->full = -1;
	if (levels == NULL)
		return L;
	if (!JB_ROOT_IS_ARRAY(levels) || JB_ROOT_IS_SCALAR(levels))
		bad_levels(model, "not an array");
	it = JsonbIteratorInit(&levels->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_ARRAY)
		{
			if (++depth > 2)
				bad_levels(model, "nested too deep");
			if (depth == 2)
			{
				if (++feat >= nraw)
					bad_levels(model, "more elements than features");
				cap = 8;
				L->lev[feat] = palloc(sizeof(char *) * cap);
				L->len[feat] = palloc(sizeof(int) * cap);
			}
		}
		else if (tok == WJB_END_ARRAY)
		{
			if (depth == 2 && L->nlev[feat] < 2)
				bad_levels(model, "a categorical feature with fewer than two levels");
			depth--;
		}
		else if (tok == WJB_ELEM && depth == 1)
		{
			if (++feat >= nraw)
				bad_levels(model, "more elements than features");
			if (v.type != jbvNull)
				bad_levels(model, "an element that is neither null nor an array");
		}
		else if (tok == WJB_ELEM && depth == 2)
		{
			int			n = L->nlev[feat];

			if (v.type != jbvString)
				bad_levels(model, "a level that is not a string");
			if (n == cap)
			{
				cap *= 2;
				L->lev[feat] = repalloc(L->lev[feat], sizeof(char *) * cap);
				L->len[feat] = repalloc(L->len[feat], sizeof(int) * cap);
			}
			L->lev[feat][n] = pnstrdup(v.val.string.val, v.val.string.len);
			L->len[feat][n] = v.val.string.len;
			/* strictly increasing in byte order: what the binary search needs */
			if (n > 0)
			{
				int			c = memcmp(L->lev[feat][n - 1], L->lev[feat][n],
									   Min(L->len[feat][n - 1], L->len[feat][n]));

				if (c > 0 || (c == 0 && L->len[feat][n - 1] >= L->len[feat][n]))
					bad_levels(model, "levels not sorted in byte order, or repeated");
			}
			L->nlev[feat] = n + 1;
		}
		else
			bad_levels(model, "an object");
	}
	if (feat != nraw - 1)
		bad_levels(model, "fewer elements than features");
	for (int j = 0; j < nraw && !intercept && L->full < 0; j++)
		if (L->nlev[j] > 0)
			L->full = j;
	L->nexp = 0;
	for (int j = 0; j < nraw; j++)
		L->nexp += flinkml_levels_width(L, j);
	return L;
}

/* Index of s among sorted levels (byte order), -1 when it is none of them. */
static int
level_index(char *const *lev, const int *len, int k, const char *s, int slen)
{
	int			lo = 0,
				hi = k - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = memcmp(lev[mid], s, Min(len[mid], slen));

		if (c == 0)
			c = (len[mid] > slen) - (len[mid] < slen);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* The error for a value that is not a level. */
static void
unseen_level(const char *model, const char *column, const char *s, int slen, char *const *lev, int k)
{
	StringInfoData list;

	initStringInfo(&list);
	for (int i = 0; i < k && i < 20; i++)
		appendStringInfo(&list, "%s%s", i > 0 ? ", " : "", quote_literal_cstr(lev[i]));
	if (k > 20)
		appendStringInfo(&list, " and %d more", k - 20);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("flinkml: model \"%s\" has no level %s for column \"%s\"",
					model, quote_literal_cstr(pnstrdup(s, slen)), column),
			 errdetail("The levels of \"%s\", learned when the model was created, are %s; the first is the reference.",
					   column, list.data),
			 errhint("A model keeps the levels it was created with: drop it and create it again to learn new ones, or leave such rows out.")));
}

static int	expand_value(const FlinkmlLevels *L, int j, Oid type, Datum v, double *out,
						 const char *model, const char *column, bool raise);

void
flinkml_levels_expand(const FlinkmlLevels *L, int j, Oid type, Datum v, double *out,
					  const char *model, const char *column)
{
	(void) expand_value(L, j, type, v, out, model, column, true);
}

bool
flinkml_levels_lookup(const FlinkmlLevels *L, int j, Oid type, Datum v, double *out)
{
	return expand_value(L, j, type, v, out, NULL, NULL, false) >= 0;
}

/* The level index of v (its dummies in out), -1 when none (an error with raise). */
static int
expand_value(const FlinkmlLevels *L, int j, Oid type, Datum v, double *out,
			 const char *model, const char *column, bool raise)
{
	int			k = L->nlev[j];
	const char *s;
	int			slen;
	int			idx;

	if (type == BOOLOID)
	{
		s = DatumGetBool(v) ? "true" : "false";
		slen = strlen(s);
	}
	else if (type == TEXTOID || type == VARCHAROID)
	{
		text	   *t = DatumGetTextPP(v);

		s = VARDATA_ANY(t);
		slen = VARSIZE_ANY_EXHDR(t);
	}
	else
	{
		if (!raise)
			return -1;
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("flinkml: column \"%s\" (a categorical feature of model \"%s\") has type %s; it must be text, varchar or boolean",
						column, model, format_type_be(type))));
		return -1;
	}
	idx = level_index(L->lev[j], L->len[j], k, s, slen);
	if (idx < 0)
	{
		if (raise)
			unseen_level(model, column, s, slen, L->lev[j], k);
		return -1;
	}
	if (j == L->full)
	{
		/* coded in full: a column per level */
		for (int i = 0; i < k; i++)
			out[i] = 0.0;
		out[idx] = 1.0;
		return idx;
	}
	for (int i = 0; i < k - 1; i++)
		out[i] = 0.0;
	if (idx > 0)
		out[idx - 1] = 1.0;
	return idx;
}

/*
 * flinkml._dummies(value text, levels text[], model text, col text,
 * used boolean, full boolean): float8[] of k - 1 dummies, or k with full (the
 * first categorical feature of a model without intercept); NULLs for a NULL
 * value: the row is skipped, as for a NULL numeric feature.  The levels
 * sorted in byte order.  used: the row's other model columns are not NULL,
 * so the fit uses it; a value that is not a level is an error only then
 * (levels are learned from the rows a fit uses), else NULLs.
 * Not strict.  The levels are deconstructed once per query (cached in
 * fn_extra, keyed by the array's bytes).
 */
typedef struct DummiesCache
{
	Size		size;
	char	   *raw;
	int			k;
	char	  **lev;
	int		   *len;
	char	   *model;
	char	   *col;
} DummiesCache;

Datum
flinkml_dummies(PG_FUNCTION_ARGS)
{
	DummiesCache *c = (DummiesCache *) fcinfo->flinfo->fn_extra;
	ArrayType  *a;
	Datum	   *out;
	bool	   *nulls;
	int			dims[1],
				lbs[1] = {1};
	bool		full;
	int			width;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(5))
		elog(ERROR, "flinkml._dummies: levels, model, column and full must not be NULL");
	full = PG_GETARG_BOOL(5);
	a = PG_GETARG_ARRAYTYPE_P(1);
	if (c == NULL || c->size != VARSIZE(a) || memcmp(c->raw, a, c->size) != 0)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		Datum	   *elems;
		bool	   *enulls;
		int			n;

		if (c == NULL)
			c = palloc0(sizeof(DummiesCache));
		if (ARR_NDIM(a) != 1 || ARR_ELEMTYPE(a) != TEXTOID)
			elog(ERROR, "flinkml._dummies: levels must be a one-dimensional text[]");
		deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
		if (n < 2)
			elog(ERROR, "flinkml._dummies: at least two levels are needed");
		c->lev = palloc(sizeof(char *) * n);
		c->len = palloc(sizeof(int) * n);
		for (int i = 0; i < n; i++)
		{
			if (enulls[i])
				elog(ERROR, "flinkml._dummies: a level is NULL");
			c->lev[i] = text_to_cstring(DatumGetTextPP(elems[i]));
			c->len[i] = strlen(c->lev[i]);
			if (i > 0)
			{
				int			cmp = memcmp(c->lev[i - 1], c->lev[i], Min(c->len[i - 1], c->len[i]));

				if (cmp > 0 || (cmp == 0 && c->len[i - 1] >= c->len[i]))
					elog(ERROR, "flinkml._dummies: levels must be sorted in byte order and distinct");
			}
		}
		c->k = n;
		c->model = text_to_cstring(PG_GETARG_TEXT_PP(2));
		c->col = text_to_cstring(PG_GETARG_TEXT_PP(3));
		c->raw = palloc(VARSIZE(a));
		memcpy(c->raw, a, VARSIZE(a));
		c->size = VARSIZE(a);
		fcinfo->flinfo->fn_extra = c;
		MemoryContextSwitchTo(old);
	}
	width = full ? c->k : c->k - 1;
	out = palloc(sizeof(Datum) * width);
	nulls = palloc(sizeof(bool) * width);
	if (PG_ARGISNULL(0))
	{
		for (int i = 0; i < width; i++)
			out[i] = Float8GetDatum(0.0), nulls[i] = true;
	}
	else
	{
		text	   *t = PG_GETARG_TEXT_PP(0);
		int			idx = level_index(c->lev, c->len, c->k, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

		bool		used = PG_ARGISNULL(4) || PG_GETARG_BOOL(4);

		if (idx < 0 && used)
			unseen_level(c->model, c->col, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), c->lev, c->k);
		for (int i = 0; i < width; i++)
			out[i] = Float8GetDatum(i == (full ? idx : idx - 1) ? 1.0 : 0.0), nulls[i] = idx < 0;
	}
	dims[0] = width;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(out, nulls, 1, dims, lbs, FLOAT8OID, sizeof(float8),
											 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * linreg_predict(name text, x record): the registry model predictions use
 * (flinkml.current_model), at a row of raw columns found by the model's
 * feature names: numeric features from numeric columns, categorical ones
 * from text, varchar or boolean columns, dummy-coded with the model's
 * levels.  NULL when a feature is NULL or the model has no rows; an error
 * for a missing column, a column of the wrong kind, or a level the model
 * has not seen.  The model is looked up once per query (per snapshot, as
 * linreg_predict(name, float8[])), the row type's columns once per row type.
 */
typedef struct RowPredict
{
	text	   *name;
	TransactionId xmin;
	TransactionId xmax;
	CommandId	curcid;
	LrModel    *model;			/* NULL: no rows */
	int			nraw;
	char	  **features;
	FlinkmlLevels *levels;
	/* the row type last seen, and where its features are */
	Oid			rowtype;
	int32		rowtypmod;
	int		   *col;			/* per raw feature: attribute index (0-based) */
	Oid		   *coltype;
	double	   *x;
} RowPredict;

static void
row_lookup_model(FunctionCallInfo fcinfo, RowPredict **pp, text *name)
{
	RowPredict *p = *pp;
	Snapshot	snap = GetActiveSnapshot();
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {PointerGetDatum(name)};
	bool		isnull;
	Datum		d;
	MemoryContext old;
	HeapTuple	row;
	TupleDesc	rd;
	char	   *model = text_to_cstring(name);

	if (p != NULL && p->xmin == snap->xmin && p->xmax == snap->xmax && p->curcid == snap->curcid &&
		VARSIZE_ANY_EXHDR(p->name) == VARSIZE_ANY_EXHDR(name) &&
		memcmp(VARDATA_ANY(p->name), VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name)) == 0)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "linreg_predict: SPI_connect failed");
	/* _model: an error for a model that does not exist or cannot be read */
	if (SPI_execute_with_args("SELECT flinkml.current_model(m.name), m.features, m.levels, m.intercept "
							  "FROM flinkml._model($1) m", 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "linreg_predict: model lookup failed");
	row = SPI_tuptable->vals[0];
	rd = SPI_tuptable->tupdesc;
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (p == NULL)
		p = palloc0(sizeof(RowPredict));
	p->name = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(name));
	d = SPI_getbinval(row, rd, 1, &isnull);
	p->model = isnull ? NULL : (LrModel *) PG_DETOAST_DATUM_COPY(d);
	{
		ArrayType  *fa = DatumGetArrayTypeP(SPI_getbinval(row, rd, 2, &isnull));
		Datum	   *elems;
		bool	   *enulls;
		int			n;
		Datum		lv;
		bool		intercept_null;

		deconstruct_array(fa, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
		p->nraw = n;
		p->features = palloc(sizeof(char *) * (n + 1));
		for (int j = 0; j < n; j++)
			p->features[j] = TextDatumGetCString(elems[j]);
		lv = SPI_getbinval(row, rd, 3, &isnull);
		p->levels = flinkml_levels_parse(isnull ? NULL : DatumGetJsonbP(lv), n,
										 DatumGetBool(SPI_getbinval(row, rd, 4, &intercept_null)), model);
		p->x = palloc(sizeof(double) * (p->levels->nexp + 1));
		p->col = palloc(sizeof(int) * (n + 1));
		p->coltype = palloc(sizeof(Oid) * (n + 1));
	}
	p->rowtype = InvalidOid;	/* the columns again, for the new model */
	p->xmin = snap->xmin;
	p->xmax = snap->xmax;
	p->curcid = snap->curcid;
	MemoryContextSwitchTo(old);
	*pp = p;
	fcinfo->flinfo->fn_extra = p;
	SPI_finish();
	if (p->model != NULL && p->model->nfeat != p->levels->nexp)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("linreg_predict: model \"%s\" has %d features but its definition expands to %d",
						model, p->model->nfeat, p->levels->nexp)));
}

static bool
numeric_type(Oid t)
{
	return t == FLOAT8OID || t == FLOAT4OID || t == INT2OID || t == INT4OID || t == INT8OID || t == NUMERICOID;
}

Datum
linreg_predict_row(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(1);
	Oid			rowtype = HeapTupleHeaderGetTypeId(rec);
	int32		rowtypmod = HeapTupleHeaderGetTypMod(rec);
	RowPredict *p = (RowPredict *) fcinfo->flinfo->fn_extra;
	HeapTupleData tuple;
	TupleDesc	desc;
	char	   *model;
	int			k = 0;

	row_lookup_model(fcinfo, &p, name);
	if (p->model == NULL)
		PG_RETURN_NULL();
	model = text_to_cstring(name);
	desc = lookup_rowtype_tupdesc(rowtype, rowtypmod);
	if (p->rowtype != rowtype || p->rowtypmod != rowtypmod)
	{
		for (int j = 0; j < p->nraw; j++)
		{
			int			a;

			for (a = 0; a < desc->natts; a++)
			{
				Form_pg_attribute att = TupleDescAttr(desc, a);

				if (!att->attisdropped && strcmp(NameStr(att->attname), p->features[j]) == 0)
					break;
			}
			if (a == desc->natts)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("linreg_predict: the row has no column \"%s\" (a feature of model \"%s\")",
								p->features[j], model),
						 errhint("Pass a row with the model's feature columns by name, e.g. a table's row or (SELECT ... AS %s, ...).",
								 quote_identifier(p->features[j]))));
			p->col[j] = a;
			p->coltype[j] = TupleDescAttr(desc, a)->atttypid;
			if (p->levels->nlev[j] > 0 ? !flinkml_categorical_type(p->coltype[j]) : !numeric_type(p->coltype[j]))
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("linreg_predict: column \"%s\" of the row has type %s; feature \"%s\" of model \"%s\" is %s",
								p->features[j], format_type_be(p->coltype[j]), p->features[j], model,
								p->levels->nlev[j] > 0 ? "categorical (text, varchar or boolean)"
								: "numeric (float8, float4, integer or numeric)")));
		}
		p->rowtype = rowtype;
		p->rowtypmod = rowtypmod;
	}
	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&(tuple.t_self));
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	/* a NULL feature gives NULL, before any level is checked */
	for (int j = 0; j < p->nraw; j++)
	{
		bool		isnull;

		(void) heap_getattr(&tuple, p->col[j] + 1, desc, &isnull);
		if (isnull)
		{
			ReleaseTupleDesc(desc);
			PG_RETURN_NULL();
		}
	}
	for (int j = 0; j < p->nraw; j++)
	{
		bool		isnull;
		Datum		v = heap_getattr(&tuple, p->col[j] + 1, desc, &isnull);

		if (p->levels->nlev[j] > 0)
		{
			flinkml_levels_expand(p->levels, j, p->coltype[j], v, p->x + k, model, p->features[j]);
			k += flinkml_levels_width(p->levels, j);
		}
		else
			p->x[k++] = flinkml_numeric_arg(p->coltype[j], v, j + 1);
	}
	ReleaseTupleDesc(desc);
	PG_RETURN_FLOAT8(lr_model_predict(p->model, p->x));
}
