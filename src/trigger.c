/*
 * trigger.c — the statement-level trigger that keeps a registry model exact
 * under INSERT, UPDATE and DELETE (flinkml.attach).
 *
 * It reads the statement's transition tables directly, folds the new rows
 * into an "added" state and the old rows into a "removed" state, and
 * appends one row to flinkml.deltas through a saved plan: one insert per
 * statement, whatever its row count, and no lock on the model, so
 * concurrent writers never wait for each other.  TRUNCATE calls
 * flinkml._truncated(model), which starts the model again from no rows.
 *
 * Trigger arguments (written by flinkml.attach): the model name, "t" or "f"
 * for the intercept, the target's attribute number, the weight's (0 for
 * none), then the features'.  Attribute numbers survive column renames.
 * Rows with a NULL in a used column are skipped and counted; a non-finite
 * value or a negative weight is an error, as in the aggregates, and the
 * writer's statement fails.
 */
#include "flinkml.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(flinkml_fold_statement);

/* The saved insert into flinkml.deltas, prepared once per backend. */
static SPIPlanPtr insert_plan = NULL;

static SPIPlanPtr
delta_insert_plan(void)
{
	Oid			types[3];
	bool		isnull;

	if (insert_plan)
		return insert_plan;
	/* the state type is the deltas table's column type (the extension's schema may vary) */
	if (SPI_execute("SELECT atttypid FROM pg_catalog.pg_attribute "
					"WHERE attrelid = 'flinkml.deltas'::pg_catalog.regclass AND attname = 'added'",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "flinkml: cannot find flinkml.deltas");
	types[0] = TEXTOID;
	types[1] = types[2] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	insert_plan = SPI_prepare("INSERT INTO flinkml.deltas (model, added, removed, made_by) "
							  "VALUES ($1, $2, $3, 'trigger')", 3, types);
	if (insert_plan == NULL || SPI_keepplan(insert_plan) != 0)
		elog(ERROR, "flinkml: cannot prepare the delta insert");
	return insert_plan;
}

typedef struct Columns
{
	bool		intercept;
	AttrNumber	target;
	AttrNumber	weight;			/* 0: none */
	int			nfeat;
	AttrNumber	features[FUNC_MAX_ARGS];	/* more come from the argument list below */
	AttrNumber *feat;
} Columns;

static AttrNumber
attnum_arg(const char *s, TupleDesc desc, const char *model)
{
	int			a = pg_strtoint32(s);

	if (a < 0 || a > desc->natts || (a > 0 && TupleDescAttr(desc, a - 1)->attisdropped))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("flinkml: a column of model \"%s\" was dropped", model),
				 errhint("SELECT flinkml.detach('%s'); then create the model again.", model)));
	return (AttrNumber) a;
}

/* Fold the rows of a transition table into a new state (NULL if none). */
static LrState *
fold_table(Tuplestorestate *ts, TupleDesc desc, const Columns *c)
{
	TupleTableSlot *slot;
	LrState    *s = NULL;
	double	   *x = palloc(sizeof(double) * (c->nfeat + 1));

	if (ts == NULL)
		return NULL;
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;
		bool		skip = false;
		double		y = 0.0,
					w = 1.0;
		Datum		v;

		if (s == NULL)
			s = flinkml_new_state(c->nfeat, c->intercept);
		v = slot_getattr(slot, c->target, &isnull);
		if (isnull)
			skip = true;
		else
			y = flinkml_numeric_arg(TupleDescAttr(desc, c->target - 1)->atttypid, v, c->target);
		for (int j = 0; !skip && j < c->nfeat; j++)
		{
			v = slot_getattr(slot, c->feat[j], &isnull);
			if (isnull)
				skip = true;
			else
				x[j] = flinkml_numeric_arg(TupleDescAttr(desc, c->feat[j] - 1)->atttypid, v, c->feat[j]);
		}
		if (!skip && c->weight > 0)
		{
			v = slot_getattr(slot, c->weight, &isnull);
			if (isnull)
				skip = true;
			else
				w = flinkml_numeric_arg(TupleDescAttr(desc, c->weight - 1)->atttypid, v, c->weight);
		}
		if (skip)
		{
			s->skipped++;
			continue;
		}
		flinkml_check_row_values(y, x, c->nfeat, w);
		lr_state_add_row(s, y, x, w);
	}
	ExecDropSingleTupleTableSlot(slot);
	pfree(x);
	return s;
}

Datum
flinkml_fold_statement(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *tg;
	TupleDesc	desc;
	const char *model;
	Columns		c;
	LrState    *added = NULL,
			   *removed = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_AFTER(td->tg_event))
		elog(ERROR, "flinkml_fold_statement: not called as an AFTER ... FOR EACH STATEMENT trigger");
	tg = td->tg_trigger;
	if (tg->tgnargs < 4)
		elog(ERROR, "flinkml_fold_statement: trigger arguments missing");
	model = tg->tgargs[0];

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "flinkml: SPI_connect failed");
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		Oid			argtypes[1] = {TEXTOID};
		Datum		args[1] = {CStringGetTextDatum(model)};

		if (SPI_execute_with_args("SELECT flinkml._truncated($1)", 1, argtypes, args, NULL, false, 0) < 0)
			elog(ERROR, "flinkml: resetting model \"%s\" failed", model);
		SPI_finish();
		return PointerGetDatum(NULL);
	}

	desc = RelationGetDescr(td->tg_relation);
	c.intercept = strcmp(tg->tgargs[1], "t") == 0;
	c.target = attnum_arg(tg->tgargs[2], desc, model);
	c.weight = attnum_arg(tg->tgargs[3], desc, model);
	c.nfeat = tg->tgnargs - 4;
	c.feat = palloc(sizeof(AttrNumber) * (c.nfeat + 1));
	for (int j = 0; j < c.nfeat; j++)
		c.feat[j] = attnum_arg(tg->tgargs[4 + j], desc, model);
	if (c.target == 0)
		elog(ERROR, "flinkml: model \"%s\" has no target column", model);

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		added = fold_table(td->tg_newtable, desc, &c);
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		removed = fold_table(td->tg_oldtable, desc, &c);
	if (added || removed)
	{
		Datum		args[3] = {CStringGetTextDatum(model), PointerGetDatum(added), PointerGetDatum(removed)};
		char		nulls[3] = {' ', added ? ' ' : 'n', removed ? ' ' : 'n'};

		if (SPI_execute_plan(delta_insert_plan(), args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "flinkml: appending a delta for model \"%s\" failed", model);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}
