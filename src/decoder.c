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
 * empty).  Options (all required but
 * weight): relid, target (attnum), features (comma-separated attnums),
 * weight (attnum, 0 for none), intercept (true/false).
 *
 * Old row values on UPDATE/DELETE need REPLICA IDENTITY FULL; the plugin
 * refuses a table without it.  A row with a NULL in a used column is
 * skipped and counted, as in the aggregates; so is a row with a non-finite
 * value or one beyond LR_MAX_ABS, since a writer's row cannot be refused
 * here and an error would stop the stream for good.
 */
#include "flinkml.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "nodes/parsenodes.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/lr_codec.h"

extern PGDLLEXPORT void _PG_output_plugin_init(OutputPluginCallbacks *cb);

typedef struct Decoder
{
	MemoryContext txn_ctx;		/* reset per transaction */
	Oid			relid;
	AttrNumber	target;
	int			nfeat;
	AttrNumber *features;
	AttrNumber	weight;			/* 0: none */
	bool		intercept;
	/* per transaction */
	LrState    *added;
	LrState    *removed;
	int64		changes;
	bool		truncated;
} Decoder;

static void
parse_options(Decoder *d, List *options)
{
	ListCell   *lc;
	bool		have_relid = false,
				have_target = false,
				have_features = false;

	d->intercept = true;
	foreach(lc, options)
	{
		DefElem    *e = (DefElem *) lfirst(lc);
		char	   *v = e->arg ? strVal(e->arg) : NULL;

		if (v == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("flinkml decoder: option \"%s\" needs a value", e->defname)));
		if (strcmp(e->defname, "relid") == 0)
		{
			d->relid = (Oid) strtoul(v, NULL, 10);
			have_relid = true;
		}
		else if (strcmp(e->defname, "target") == 0)
		{
			d->target = (AttrNumber) pg_strtoint32(v);
			have_target = true;
		}
		else if (strcmp(e->defname, "weight") == 0)
			d->weight = (AttrNumber) pg_strtoint32(v);
		else if (strcmp(e->defname, "intercept") == 0)
			d->intercept = strcmp(v, "true") == 0 || strcmp(v, "t") == 0;
		else if (strcmp(e->defname, "features") == 0)
		{
			char	   *copy = pstrdup(v);
			char	   *tok;
			int			n = 0;

			d->features = palloc(sizeof(AttrNumber) * (LR_MAX_FEATURES + 1));
			for (tok = strtok(copy, ","); tok; tok = strtok(NULL, ","))
			{
				if (n >= LR_MAX_FEATURES)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("flinkml decoder: more than %d features", LR_MAX_FEATURES)));
				d->features[n++] = (AttrNumber) pg_strtoint32(tok);
			}
			d->nfeat = n;
			have_features = true;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("flinkml decoder: unknown option \"%s\"", e->defname)));
	}
	if (!have_relid || !have_target || !have_features)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("flinkml decoder: options relid, target and features are required")));
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
	d->changes = 0;
	d->truncated = false;
}

/* Read a column as a double; false when it is NULL. */
static bool
column_value(HeapTuple tuple, TupleDesc desc, AttrNumber att, double *out)
{
	bool		isnull;
	Datum		v = heap_getattr(tuple, att, desc, &isnull);
	Form_pg_attribute a = TupleDescAttr(desc, att - 1);

	if (isnull)
		return false;
	if (a->attlen == -1 && VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(v)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("flinkml decoder: column \"%s\" arrived as an unchanged TOASTed value",
						NameStr(a->attname))));
	*out = flinkml_numeric_arg(a->atttypid, v, att);
	return true;
}

/* Fold one row image into the added (sign > 0) or removed state. */
static void
fold_row(Decoder *d, HeapTuple tuple, TupleDesc desc, bool add)
{
	LrState   **target = add ? &d->added : &d->removed;
	double		y,
				w = 1.0;
	double	   *x = palloc(sizeof(double) * (d->nfeat + 1));
	bool		ok = column_value(tuple, desc, d->target, &y);

	for (int j = 0; ok && j < d->nfeat; j++)
		ok = column_value(tuple, desc, d->features[j], &x[j]);
	if (ok && d->weight > 0)
		ok = column_value(tuple, desc, d->weight, &w);
	if (ok)
	{
		ok = lr_value_ok(y) && lr_value_ok(w) && w >= 0;
		for (int j = 0; ok && j < d->nfeat; j++)
			ok = lr_value_ok(x[j]);
	}
	if (*target == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(d->txn_ctx);

		*target = flinkml_new_state(d->nfeat, d->intercept);
		MemoryContextSwitchTo(old);
	}
	if (ok)
		lr_state_add_row(*target, y, x, w);
	else
		(*target)->skipped++;
	pfree(x);
}

static void
decoder_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, Relation rel,
			   ReorderBufferChange *change)
{
	Decoder    *d = ctx->output_plugin_private;
	TupleDesc	desc = RelationGetDescr(rel);
	MemoryContext old;

	if (RelationGetRelid(rel) != d->relid)
		return;
	if (rel->rd_rel->relreplident != REPLICA_IDENTITY_FULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("flinkml: table \"%s\" must have REPLICA IDENTITY FULL to be followed",
						RelationGetRelationName(rel)),
				 errhint("ALTER TABLE %s REPLICA IDENTITY FULL;",
						 quote_identifier(RelationGetRelationName(rel)))));
	old = MemoryContextSwitchTo(d->txn_ctx);
	switch (change->action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			if (change->data.tp.newtuple)
				fold_row(d, &change->data.tp.newtuple->tuple, desc, true);
			break;
		case REORDER_BUFFER_CHANGE_UPDATE:
			if (change->data.tp.oldtuple)
				fold_row(d, &change->data.tp.oldtuple->tuple, desc, false);
			if (change->data.tp.newtuple)
				fold_row(d, &change->data.tp.newtuple->tuple, desc, true);
			break;
		case REORDER_BUFFER_CHANGE_DELETE:
			if (change->data.tp.oldtuple)
				fold_row(d, &change->data.tp.oldtuple->tuple, desc, false);
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
		if (RelationGetRelid(relations[i]) == d->relid)
		{
			/* everything before is gone; what follows in this transaction counts */
			d->truncated = true;
			d->added = d->removed = NULL;
			d->changes = 0;
		}
}

static void
append_state(StringInfo out, const LrState *s)
{
	char	   *buf;

	if (s == NULL)
	{
		appendStringInfoChar(out, '-');
		return;
	}
	buf = palloc(lr_state_text_bound(s->nfeat) + 1);
	lr_state_to_text(s, buf);
	appendStringInfoString(out, buf);
	pfree(buf);
}

static void
decoder_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr commit_lsn)
{
	Decoder    *d = ctx->output_plugin_private;
	MemoryContext old;

	if (!d->truncated && d->changes == 0)
		return;
	old = MemoryContextSwitchTo(d->txn_ctx);
	OutputPluginPrepareWrite(ctx, true);
	appendStringInfo(ctx->out, "%s\t" INT64_FORMAT "\t", d->truncated ? "T" : "-", d->changes);
	append_state(ctx->out, d->added);
	appendStringInfoChar(ctx->out, '\t');
	append_state(ctx->out, d->removed);
	appendStringInfo(ctx->out, "\t%s", timestamptz_to_str(txn->xact_time.commit_time));
	OutputPluginWrite(ctx, true);
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
