/*
 * decoder.c — the logical-decoding output plugin "flinkml".
 *
 * It folds each committed transaction's changes to one table into two
 * regression states — the rows it added and the rows it removed (inserts
 * add, deletes remove, updates do both) — and writes one line per
 * transaction that touched the table:
 *
 *     <T or -> TAB <changes> TAB <added state or -> TAB <removed state or -> TAB <commit time>
 *
 * where T says the table was truncated in the transaction before the
 * changes counted in the states (the follower then starts the model from
 * empty).  Options: relid (the table's OID, or a comma-separated list of
 * OIDs whose changes count as one table's: the shards of a distributed
 * table on one Citus node), target (attnum), features
 * (comma-separated attnums, "" for none), all three required; weight
 * (attnum, 0 for none, the default) and intercept (a boolean, default true).
 * Each may be given once.  A window model adds time (the attnum of a
 * timestamptz column) and bucket (the bucket width in microseconds): its
 * rows are folded per time bucket of their own time (as the triggers do,
 * src/trigger.c), and a transaction writes one line per bucket it touched,
 * with a sixth field, the bucket's start; the flag and the change count are
 * on its first line only (the others say "-" and 0).  A row whose time is
 * NULL is in no window and in no state.
 * The options are validated when decoding starts;
 * the columns they name are checked against the table's descriptor as of
 * each change (in range, not dropped, a numeric type) before any value is
 * read, since anyone who may peek a slot chooses them.
 *
 * Option binary (optional, a boolean, default false): the states are
 * written as the hexadecimal digits of their binary form (linreg_state's
 * send format) instead of their JSON text, which the follower reads back
 * with flinkml._wire_state (src/state_type.c): the same bits, without
 * formatting and parsing some forty shortest-decimal floats per state (a
 * window model writes a line per time bucket a transaction touched).
 *
 * Option levels (optional): the model's flinkml.models.levels, a JSON array
 * with an element per feature, null for a numeric one, the sorted levels of
 * a categorical one (text, varchar or boolean column; src/categorical.c),
 * which is dummy-coded as the triggers do.  A row with a value that is not
 * one of the levels cannot be refused here either: it is left out, and the
 * (first) line gets three more fields after the bucket field (empty for a
 * model without a window): the number of such rows and the first one's
 * feature (1-based) and value, on which the follower marks the model stale.
 *
 * Old row values on UPDATE/DELETE need REPLICA IDENTITY FULL; the plugin
 * refuses a table without it.  A row with a NULL in a used column is
 * skipped and counted, as in the aggregates; so is a row with a non-finite
 * value or one beyond LR_MAX_ABS, since a writer's row cannot be refused
 * here and an error would stop the stream for good.
 */
#include "flinkml.h"

#include <errno.h>
#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "access/attnum.h"
#include "nodes/parsenodes.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/rel.h"

#include "core/lr_codec.h"
#include "categorical.h"

extern PGDLLEXPORT void _PG_output_plugin_init(OutputPluginCallbacks *cb);

typedef struct Decoder
{
	MemoryContext txn_ctx;		/* reset per transaction */
	Oid		   *relids;			/* option relid: the tables followed */
	int			nrelids;
	AttrNumber	target;
	int			nfeat;
	AttrNumber *features;
	AttrNumber	weight;			/* 0: none */
	bool		intercept;
	bool		binary;			/* states as hex of their binary form */
	char	   *levels_json;	/* option levels, or NULL */
	FlinkmlLevels *levels;		/* categorical features, or NULL */
	int			nx;				/* columns after dummy coding */
	AttrNumber	time;			/* window models: the time column; 0: none */
	int64		bucket_usec;	/* window models: the bucket width */
	/* per transaction */
	LrState    *added;
	LrState    *removed;
	HTAB	   *buckets;		/* window models: BucketRows by bucket start */
	int64		changes;
	bool		truncated;
	int64		unseen;			/* rows with a level the model has not seen */
	char	   *unseen_what;	/* the first: "feature<TAB>value" */
} Decoder;

/* A window model's rows of one time bucket in a transaction. */
typedef struct BucketRows
{
	int64		bucket;			/* its start, microseconds since 2000-01-01 UTC */
	LrState    *added;
	LrState    *removed;
} BucketRows;

/*
 * An attribute-number option: a plain decimal integer from min to
 * MaxAttrNumber (an AttrNumber is 16 bits: anything larger would wrap).
 * Whether the table has such a column is checked against its descriptor
 * when a change arrives (check_column).  what names the option in errors.
 */
static AttrNumber
option_attnum(const char *what, const char *v, int min)
{
	long		n;
	char	   *end;

	errno = 0;
	n = (*v >= '0' && *v <= '9') ? strtol(v, &end, 10) : -1;
	if (n < 0 || errno != 0 || *end != '\0' || n < min || n > MaxAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("flinkml decoder: %s must be an attribute number from %d to %d, got \"%s\"",
						what, min, MaxAttrNumber, v)));
	return (AttrNumber) n;
}

static void
parse_options(Decoder *d, List *options)
{
	ListCell   *lc;
	bool		have_relid = false,
				have_target = false,
				have_features = false,
				have_weight = false,
				have_intercept = false,
				have_time = false,
				have_bucket = false,
				have_binary = false,
				have_levels = false;

	d->intercept = true;
	d->weight = 0;
	foreach(lc, options)
	{
		DefElem    *e = (DefElem *) lfirst(lc);
		char	   *v = e->arg ? strVal(e->arg) : NULL;
		bool	   *seen;

		if (strcmp(e->defname, "relid") == 0)
			seen = &have_relid;
		else if (strcmp(e->defname, "target") == 0)
			seen = &have_target;
		else if (strcmp(e->defname, "features") == 0)
			seen = &have_features;
		else if (strcmp(e->defname, "weight") == 0)
			seen = &have_weight;
		else if (strcmp(e->defname, "intercept") == 0)
			seen = &have_intercept;
		else if (strcmp(e->defname, "time") == 0)
			seen = &have_time;
		else if (strcmp(e->defname, "bucket") == 0)
			seen = &have_bucket;
		else if (strcmp(e->defname, "levels") == 0)
			seen = &have_levels;
		else if (strcmp(e->defname, "binary") == 0)
			seen = &have_binary;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("flinkml decoder: unknown option \"%s\"", e->defname),
					 errhint("The options are relid, target, features, weight, intercept, time, bucket, levels and binary.")));
		if (*seen)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("flinkml decoder: option \"%s\" is given more than once", e->defname)));
		*seen = true;
		if (v == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("flinkml decoder: option \"%s\" needs a value", e->defname)));

		if (seen == &have_relid)
		{
			/* one OID, or several separated by commas */
			const char *q = v;

			d->nrelids = 1;
			for (const char *c = v; *c; c++)
				d->nrelids += (*c == ',');
			d->relids = palloc(sizeof(Oid) * d->nrelids);
			for (int i = 0; i < d->nrelids; i++)
			{
				unsigned long n;
				char	   *end;

				errno = 0;
				n = (*q >= '0' && *q <= '9') ? strtoul(q, &end, 10) : 0;
				if (n == 0 || errno != 0 || (*end != '\0' && *end != ',') || n > PG_UINT32_MAX)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("flinkml decoder: option \"relid\" must be a table's OID (an integer from 1 to %u) or a comma-separated list of them, got \"%s\"",
									PG_UINT32_MAX, v)));
				d->relids[i] = (Oid) n;
				q = end + (*end == ',');
			}
		}
		else if (seen == &have_target)
			d->target = option_attnum("option \"target\"", v, 1);
		else if (seen == &have_weight)
			d->weight = option_attnum("option \"weight\" (0 for none)", v, 0);
		else if (seen == &have_levels)
			d->levels_json = pstrdup(v);
		else if (seen == &have_time)
			d->time = option_attnum("option \"time\"", v, 1);
		else if (seen == &have_bucket)
		{
			long long	n;
			char	   *end;

			errno = 0;
			n = (*v >= '1' && *v <= '9') ? strtoll(v, &end, 10) : 0;
			if (n <= 0 || errno != 0 || *end != '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("flinkml decoder: option \"bucket\" must be a positive number of microseconds, got \"%s\"", v)));
			d->bucket_usec = (int64) n;
		}
		else if (seen == &have_binary)
		{
			if (!parse_bool(v, &d->binary))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("flinkml decoder: option \"binary\" must be true or false, got \"%s\"", v)));
		}
		else if (seen == &have_intercept)
		{
			if (!parse_bool(v, &d->intercept))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("flinkml decoder: option \"intercept\" must be true or false, got \"%s\"", v)));
		}
		else
		{
			/* comma-separated attribute numbers; "" is a model without features */
			int			n = *v ? 1 : 0;
			const char *c;
			char	   *copy,
					   *tok;

			for (c = v; *c; c++)
				n += *c == ',';
			if (n > LR_MAX_FEATURES)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("flinkml decoder: option \"features\" lists %d columns; at most %d features are allowed",
								n, LR_MAX_FEATURES)));
			d->features = palloc(sizeof(AttrNumber) * (n + 1));
			d->nfeat = n;
			copy = pstrdup(v);
			tok = copy;
			for (int j = 0; j < n; j++)
			{
				char	   *comma = strchr(tok, ',');
				char		what[64];

				if (comma)
					*comma = '\0';
				snprintf(what, sizeof(what), "option \"features\" element %d", j + 1);
				d->features[j] = option_attnum(what, tok, 1);
				tok = comma ? comma + 1 : NULL;
			}
			pfree(copy);
		}
	}
	if (!have_relid || !have_target || !have_features)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("flinkml decoder: option \"%s\" is required",
						!have_relid ? "relid" : !have_target ? "target" : "features"),
				 errdetail("The options relid, target and features are required; weight, intercept, time, bucket, levels and binary are optional.")));
	d->nx = d->nfeat;
	if (d->levels_json)
	{
		Jsonb	   *j = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(d->levels_json)));

		d->levels = flinkml_levels_parse(j, d->nfeat, d->intercept, NULL);
		if (d->levels->nexp > LR_MAX_FEATURES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("flinkml decoder: option \"levels\" makes %d columns; at most %d features are allowed",
							d->levels->nexp, LR_MAX_FEATURES)));
		d->nx = d->levels->nexp;
	}
	if (have_time != have_bucket)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("flinkml decoder: options \"time\" and \"bucket\" go together")));
}

/*
 * The column an attribute-number option names must exist in the table as
 * the change saw it (desc is the historic descriptor, as of the change):
 * in range, not dropped, and of a type the features may have.  Checked
 * before any value is read.
 */
static void
check_column(Relation rel, TupleDesc desc, const char *what, AttrNumber att, bool categorical)
{
	Form_pg_attribute a;

	if (att < 1 || att > desc->natts)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("flinkml decoder: %s is attribute %d, but table \"%s\" has %d columns",
						what, att, RelationGetRelationName(rel), desc->natts)));
	a = TupleDescAttr(desc, att - 1);
	if (a->attisdropped)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("flinkml decoder: %s is attribute %d of table \"%s\", a dropped column",
						what, att, RelationGetRelationName(rel))));
	if (categorical)
	{
		if (!flinkml_categorical_type(a->atttypid))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("flinkml decoder: %s is attribute %d of table \"%s\", column \"%s\" of type %s; a categorical feature must be text, varchar or boolean",
							what, att, RelationGetRelationName(rel), NameStr(a->attname),
							format_type_be(a->atttypid))));
		return;
	}
	switch (a->atttypid)
	{
		case FLOAT8OID:
		case FLOAT4OID:
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
			return;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("flinkml decoder: %s is attribute %d of table \"%s\", column \"%s\" of type %s; it must be float8, float4, smallint, integer, bigint or numeric",
							what, att, RelationGetRelationName(rel), NameStr(a->attname),
							format_type_be(a->atttypid))));
	}
}

static void
check_columns(Decoder *d, Relation rel, TupleDesc desc)
{
	check_column(rel, desc, "option \"target\"", d->target, false);
	for (int j = 0; j < d->nfeat; j++)
	{
		char		what[64];

		snprintf(what, sizeof(what), "option \"features\" element %d", j + 1);
		check_column(rel, desc, what, d->features[j], d->levels && d->levels->nlev[j] > 0);
	}
	if (d->weight != 0)
		check_column(rel, desc, "option \"weight\"", d->weight, false);
	if (d->time != 0)
	{
		if (d->time > desc->natts || TupleDescAttr(desc, d->time - 1)->attisdropped ||
			TupleDescAttr(desc, d->time - 1)->atttypid != TIMESTAMPTZOID)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("flinkml decoder: option \"time\" is attribute %d of table \"%s\", which is not a timestamptz column",
							d->time, RelationGetRelationName(rel))));
	}
}

static void
decoder_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool is_init)
{
	Decoder    *d = palloc0(sizeof(Decoder));

	d->txn_ctx = AllocSetContextCreate(ctx->context, "flinkml decoder", ALLOCSET_DEFAULT_SIZES);
	ctx->output_plugin_private = d;
	opt->output_type = OUTPUT_PLUGIN_TEXTUAL_OUTPUT;
	opt->receive_rewrites = false;
	if (!is_init)
		parse_options(d, ctx->output_plugin_options);
}

static void
decoder_shutdown(LogicalDecodingContext *ctx)
{
	Decoder    *d = ctx->output_plugin_private;

	MemoryContextDelete(d->txn_ctx);
}

static void
decoder_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	Decoder    *d = ctx->output_plugin_private;

	MemoryContextReset(d->txn_ctx);
	d->added = d->removed = NULL;
	d->buckets = NULL;
	d->changes = 0;
	d->truncated = false;
	d->unseen = 0;
	d->unseen_what = NULL;
	if (d->time != 0)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(BucketRows);
		ctl.hcxt = d->txn_ctx;
		d->buckets = hash_create("flinkml decoder buckets", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
}

/* The bucket a time falls in: floor to a multiple of the width (date_bin). */
static int64
bucket_of(TimestampTz t, int64 width)
{
	int64		q = t / width;

	if (t % width != 0 && t < 0)
		q--;
	return q * width;
}

/*
 * The raw value of a column, NULL-aware; false when it is NULL or cannot be
 * had.  An UPDATE's new row carries an unchanged TOASTed value as a
 * pointer: the old row (REPLICA IDENTITY FULL logs it whole) has the same
 * value.
 */
static bool
column_datum(HeapTuple tuple, HeapTuple same_values, TupleDesc desc, AttrNumber att, Datum *out)
{
	bool		isnull;
	Datum		v = heap_getattr(tuple, att, desc, &isnull);
	Form_pg_attribute a = TupleDescAttr(desc, att - 1);

	if (isnull)
		return false;
	if (a->attlen == -1 && VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(v)))
	{
		if (same_values == NULL)
			return false;
		v = heap_getattr(same_values, att, desc, &isnull);
		if (isnull || VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(v)))
			return false;
	}
	*out = v;
	return true;
}

/*
 * Read a column as a double (column_datum's rules); false when it is NULL
 * or cannot be had.  A numeric
 * beyond float8 becomes an infinity, which the caller skips and counts: a
 * writer's row cannot be refused here, and an error would stop the stream
 * for good.
 */
static bool
column_value(HeapTuple tuple, HeapTuple same_values, TupleDesc desc, AttrNumber att, double *out)
{
	Oid			type = TupleDescAttr(desc, att - 1)->atttypid;
	Datum		v;

	if (!column_datum(tuple, same_values, desc, att, &v))
		return false;
	if (type == NUMERICOID)
		*out = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, v));
	else
		*out = flinkml_numeric_arg(type, v, att);
	return true;
}


/*
 * The dummies of categorical feature j for value v into out; false (and
 * the row counted as unseen, the first one described) when v is not one of
 * the levels.
 */
static bool
categorical_value(Decoder *d, int j, Oid type, Datum v, double *out)
{
	bool		ok = flinkml_levels_lookup(d->levels, j, type, v, out);

	if (!ok)
	{
		if (d->unseen++ == 0)
		{
			StringInfoData buf;
			const char *s;
			int			len;

			if (type == BOOLOID)
				s = DatumGetBool(v) ? "true" : "false", len = strlen(s);
			else
			{
				text	   *t = DatumGetTextPP(v);

				s = VARDATA_ANY(t);
				len = Min(VARSIZE_ANY_EXHDR(t), 200);
			}
			initStringInfo(&buf);
			appendStringInfo(&buf, "%d\t", j + 1);
			/* one line, one field: control characters as spaces */
			for (int i = 0; i < len; i++)
				appendStringInfoChar(&buf, (unsigned char) s[i] < 0x20 ? ' ' : s[i]);
			d->unseen_what = buf.data;
		}
	}
	return ok;
}

/*
 * Fold one row image into the added (sign > 0) or removed state; a row with
 * a value that cannot be had is skipped and counted.  same_values: the old
 * row of an UPDATE, for unchanged TOASTed values of the new one.
 */
static void
fold_row(Decoder *d, HeapTuple tuple, HeapTuple same_values, TupleDesc desc, bool add)
{
	LrState   **target = add ? &d->added : &d->removed;
	double		y,
				w = 1.0;
	double	   *x;
	bool		ok;
	Datum	   *cat;

	if (d->time != 0)
	{
		/* the row's own time decides its bucket; a NULL time is in no window */
		bool		isnull;
		Datum		t = heap_getattr(tuple, d->time, desc, &isnull);
		BucketRows *b;
		int64		key;
		bool		found;

		if (isnull)
			return;
		key = bucket_of(DatumGetTimestampTz(t), d->bucket_usec);
		b = hash_search(d->buckets, &key, HASH_ENTER, &found);
		if (!found)
			b->added = b->removed = NULL;
		target = add ? &b->added : &b->removed;
	}
	x = palloc(sizeof(double) * (d->nx + 1));
	ok = column_value(tuple, same_values, desc, d->target, &y);
	cat = d->levels ? palloc(sizeof(Datum) * (d->nfeat + 1)) : NULL;

	for (int j = 0, k = 0; ok && j < d->nfeat; j++)
	{
		if (d->levels && d->levels->nlev[j] > 0)
		{
			/* dummy-coded below, once no value of the row is NULL */
			ok = column_datum(tuple, same_values, desc, d->features[j], &cat[j]);
			k += flinkml_levels_width(d->levels, j);
		}
		else
			ok = column_value(tuple, same_values, desc, d->features[j], &x[k++]);
	}
	if (ok && d->weight > 0)
		ok = column_value(tuple, same_values, desc, d->weight, &w);
	for (int j = 0, k = 0; ok && d->levels && j < d->nfeat; j++)
	{
		if (d->levels->nlev[j] > 0)
		{
			if (!categorical_value(d, j, TupleDescAttr(desc, d->features[j] - 1)->atttypid, cat[j], x + k))
			{
				/* a level the model has not seen: left out, and reported */
				if (cat)
					pfree(cat);
				pfree(x);
				return;
			}
			k += flinkml_levels_width(d->levels, j);
		}
		else
			k++;
	}
	if (ok)
	{
		ok = lr_value_ok(y) && lr_value_ok(w) && w >= 0;
		for (int j = 0; ok && j < d->nx; j++)
			ok = lr_value_ok(x[j]);
	}
	if (*target == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(d->txn_ctx);

		*target = flinkml_new_state(d->nx, d->intercept);
		MemoryContextSwitchTo(old);
	}
	if (ok)
		lr_state_add_row(*target, y, x, w);
	else
		(*target)->skipped++;
	if (cat)
		pfree(cat);
	pfree(x);
}

/* Is relid one of the tables the option relid names? */
static bool
followed(const Decoder *d, Oid relid)
{
	for (int i = 0; i < d->nrelids; i++)
		if (d->relids[i] == relid)
			return true;
	return false;
}

static void
decoder_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, Relation rel,
			   ReorderBufferChange *change)
{
	Decoder    *d = ctx->output_plugin_private;
	TupleDesc	desc = RelationGetDescr(rel);
	MemoryContext old;

	if (!followed(d, RelationGetRelid(rel)))
		return;
	if (rel->rd_rel->relreplident != REPLICA_IDENTITY_FULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("flinkml: table \"%s\" must have REPLICA IDENTITY FULL to be followed",
						RelationGetRelationName(rel)),
				 errhint("ALTER TABLE %s REPLICA IDENTITY FULL;",
						 quote_identifier(RelationGetRelationName(rel)))));
	check_columns(d, rel, desc);
	old = MemoryContextSwitchTo(d->txn_ctx);
	switch (change->action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			if (change->data.tp.newtuple)
				fold_row(d, &change->data.tp.newtuple->tuple, NULL, desc, true);
			break;
		case REORDER_BUFFER_CHANGE_UPDATE:
			if (change->data.tp.oldtuple)
				fold_row(d, &change->data.tp.oldtuple->tuple, NULL, desc, false);
			if (change->data.tp.newtuple)
				fold_row(d, &change->data.tp.newtuple->tuple,
						 change->data.tp.oldtuple ? &change->data.tp.oldtuple->tuple : NULL, desc, true);
			break;
		case REORDER_BUFFER_CHANGE_DELETE:
			if (change->data.tp.oldtuple)
				fold_row(d, &change->data.tp.oldtuple->tuple, NULL, desc, false);
			break;
		default:
			break;
	}
	d->changes++;
	MemoryContextSwitchTo(old);
}

static void
decoder_truncate(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, int nrelations,
				 Relation relations[], ReorderBufferChange *change)
{
	Decoder    *d = ctx->output_plugin_private;

	for (int i = 0; i < nrelations; i++)
		if (followed(d, RelationGetRelid(relations[i])))
		{
			/* everything before is gone; what follows in this transaction counts */
			d->truncated = true;
			d->added = d->removed = NULL;
			d->changes = 0;
			d->unseen = 0;
			d->unseen_what = NULL;
			if (d->buckets)
			{
				HASH_SEQ_STATUS seq;
				BucketRows *b;

				hash_seq_init(&seq, d->buckets);
				while ((b = hash_seq_search(&seq)) != NULL)
					b->added = b->removed = NULL;
			}
		}
}

static void
append_state(StringInfo out, const LrState *s, bool binary)
{
	char	   *buf;

	if (s == NULL)
	{
		appendStringInfoChar(out, '-');
		return;
	}
	if (binary)
	{
		StringInfoData bin;

		initStringInfo(&bin);
		flinkml_state_send(&bin, s);
		enlargeStringInfo(out, bin.len * 2 + 1);
		out->len += (int) hex_encode(bin.data, bin.len, out->data + out->len);
		out->data[out->len] = '\0';
		pfree(bin.data);
		return;
	}
	buf = palloc(lr_state_text_bound(s->nfeat) + 1);
	lr_state_to_text(s, buf);
	appendStringInfoString(out, buf);
	pfree(buf);
}

static int
bucket_cmp(const void *a, const void *b)
{
	int64		x = ((const BucketRows *) a)->bucket,
				y = ((const BucketRows *) b)->bucket;

	return (x > y) - (x < y);
}

/*
 * A window model's transaction: one line per bucket with rows, in time
 * order, the flag and the change count on the first (a line without
 * states when there is none: a truncation, or rows without a time).
 */
static void
write_buckets(LogicalDecodingContext *ctx, Decoder *d, ReorderBufferTXN *txn)
{
	long		n = 0;
	BucketRows *all = palloc(sizeof(BucketRows) * (hash_get_num_entries(d->buckets) + 1));
	HASH_SEQ_STATUS seq;
	BucketRows *b;
	const char *committed = pstrdup(timestamptz_to_str(txn->xact_time.commit_time));

	hash_seq_init(&seq, d->buckets);
	while ((b = hash_seq_search(&seq)) != NULL)
		if (b->added || b->removed)
			all[n++] = *b;
	qsort(all, n, sizeof(BucketRows), bucket_cmp);
	for (long i = 0; i < (n > 0 ? n : 1); i++)
	{
		OutputPluginPrepareWrite(ctx, i == (n > 0 ? n : 1) - 1);
		if (i == 0)
			appendStringInfo(ctx->out, "%s\t" INT64_FORMAT "\t", d->truncated ? "T" : "-", d->changes);
		else
			appendStringInfoString(ctx->out, "-\t0\t");
		append_state(ctx->out, n > 0 ? all[i].added : NULL, d->binary);
		appendStringInfoChar(ctx->out, '\t');
		append_state(ctx->out, n > 0 ? all[i].removed : NULL, d->binary);
		appendStringInfo(ctx->out, "\t%s\t%s", committed,
						 n > 0 ? timestamptz_to_str(all[i].bucket) : "");
		if (i == 0 && d->unseen > 0)
			appendStringInfo(ctx->out, "\t" INT64_FORMAT "\t%s", d->unseen, d->unseen_what);
		OutputPluginWrite(ctx, i == (n > 0 ? n : 1) - 1);
	}
}

static void
decoder_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr commit_lsn)
{
	Decoder    *d = ctx->output_plugin_private;
	MemoryContext old;

	if (!d->truncated && d->changes == 0)
		return;
	old = MemoryContextSwitchTo(d->txn_ctx);
	if (d->buckets)
		write_buckets(ctx, d, txn);
	else
	{
		OutputPluginPrepareWrite(ctx, true);
		appendStringInfo(ctx->out, "%s\t" INT64_FORMAT "\t", d->truncated ? "T" : "-", d->changes);
		append_state(ctx->out, d->added, d->binary);
		appendStringInfoChar(ctx->out, '\t');
		append_state(ctx->out, d->removed, d->binary);
		appendStringInfo(ctx->out, "\t%s", timestamptz_to_str(txn->xact_time.commit_time));
		if (d->unseen > 0)		/* an empty bucket field, then the unseen rows */
			appendStringInfo(ctx->out, "\t\t" INT64_FORMAT "\t%s", d->unseen, d->unseen_what);
		OutputPluginWrite(ctx, true);
	}
	MemoryContextSwitchTo(old);
}

void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = decoder_startup;
	cb->begin_cb = decoder_begin;
	cb->change_cb = decoder_change;
	cb->truncate_cb = decoder_truncate;
	cb->commit_cb = decoder_commit;
	cb->shutdown_cb = decoder_shutdown;
}
