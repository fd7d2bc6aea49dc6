/*
 * score_into.c — predictions as rows arrive (flinkml.score_into).
 *
 * A BEFORE INSERT OR UPDATE ... FOR EACH ROW trigger writes the active
 * version's prediction (and optionally its version number) into a float8
 * column of every new row, in the writer's statement.  The features are read
 * from NEW by attribute number: columns of the scored table with the model's
 * feature names (the model's source table, or any table with such columns),
 * resolved once by score_into; renames keep working.
 *
 * The model: the same as flinkml.current_model(name) (what linreg_predict
 * by name uses): the active version, or the head merged with the pending
 * deltas when the active version is the head.  A stale model is an error
 * (current_model's, naming why): the writer's statement fails rather than
 * storing an outdated prediction.  A NULL feature gives a NULL prediction.
 * A categorical feature (text, varchar or boolean column) is dummy-coded with
 * the model's levels (src/categorical.c, read with the model's row per
 * statement); a level the model has not seen is an error naming it, and the
 * writer's statement fails.
 *
 * Who may read it: the trigger runs as the writer, and looks the model up as
 * the writer, so the registry's row-level security applies: a writer who may
 * not read the model (not its owner's member, and not a reader of every row
 * of its source table) gets an error, not predictions — a prediction column
 * filled for chosen feature values would give the model away (its
 * coefficients are p + 1 inserts away).  Nothing here runs with more rights
 * than the writer's: the trigger writes only NEW.
 *
 * Cost per row: the model is looked up once per statement, not per row, and
 * across statements only when it may have changed.  Per statement (a new
 * snapshot or command id) one saved, qualified query, as the writer, reads
 * the model's row (its tuple identity: xmin and ctid — any change of its
 * versions, activation, staleness, owner or definition writes a new row
 * version), whether pending deltas apply (active = head and deltas exist),
 * and that this table is scored by the model with these columns (the
 * flinkml.scorers row).  When the row version is the one the backend's
 * cached model was computed from, and no deltas apply, the cached model is
 * the current one under this snapshot; otherwise current_model() is called
 * (always, while deltas apply: they change with every write of an attached
 * table; and always for a window model whose live window is active: it
 * moves with the clock).  So a version activated by another transaction is seen by the next
 * statement whose snapshot sees it, and a cached model never outlives the
 * row version it came from.
 *
 * Trigger arguments (written by flinkml._start_scoring): the model name, the
 * attribute numbers of the prediction column, of the version column (0:
 * none), then of the features.  The trigger must be the one score_into
 * made: flinkml_score_<model>, BEFORE INSERT OR UPDATE FOR EACH ROW, no WHEN,
 * no column list, matching its flinkml.scorers row.
 */
#include "flinkml.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/itemptr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "categorical.h"
#include "follower.h"

PG_FUNCTION_INFO_V1(flinkml_score_row);
PG_FUNCTION_INFO_V1(flinkml_scoring_gate);

/* The backend's cached current model per model name. */
typedef struct ModelEntry
{
	char		name[NAMEDATALEN];	/* key */
	bool		valid;
	Oid			ext;			/* the extension installation it came from */
	TransactionId row_xmin;		/* the models row version it was computed from */
	ItemPointerData row_tid;
	LrModel    *model;			/* header and coefficients; NULL: no rows */
} ModelEntry;

static HTAB *model_cache = NULL;

/* The saved statements, per installation of the extension. */
static SPIPlanPtr probe_plan = NULL;
static SPIPlanPtr current_plan = NULL;
static Oid	plans_ext = InvalidOid;

static void
prepare_plans(Oid ext)
{
	Oid			types[3] = {TEXTOID, OIDOID, INT2ARRAYOID};

	if (probe_plan && plans_ext == ext)
		return;
	if (probe_plan)
		SPI_freeplan(probe_plan);
	if (current_plan)
		SPI_freeplan(current_plan);
	probe_plan = current_plan = NULL;
	probe_plan = SPI_prepare("SELECT m.xmin, m.ctid, m.active_version, "
							 "(m.active_version IS NOT DISTINCT FROM m.head_version AND (m.window_length IS NOT NULL OR EXISTS "
							 "(SELECT 1 FROM flinkml.deltas d WHERE d.model OPERATOR(pg_catalog.=) m.name))), "
							 "s.attnums OPERATOR(pg_catalog.=) $3, m.levels, m.intercept "
							 "FROM flinkml.models m JOIN flinkml.scorers s ON s.model OPERATOR(pg_catalog.=) m.name "
							 "WHERE m.name OPERATOR(pg_catalog.=) $1 "
							 "AND s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $2", 3, types);
	if (probe_plan == NULL || SPI_keepplan(probe_plan) != 0)
		elog(ERROR, "flinkml: cannot prepare the scoring probe");
	current_plan = SPI_prepare("SELECT flinkml.current_model($1)", 1, types);
	if (current_plan == NULL || SPI_keepplan(current_plan) != 0)
		elog(ERROR, "flinkml: cannot prepare the model lookup");
	plans_ext = ext;
}

/* What one statement's trigger call keeps (fn_extra lives for the query). */
typedef struct ScoreState
{
	bool		checked;		/* the arguments and columns below are checked */
	AttrNumber	pred;
	AttrNumber	version;		/* 0: none */
	Oid			version_type;
	int			nfeat;
	AttrNumber *feat;
	Oid		   *feat_type;
	Datum		attnums;		/* int2[] of pred, version, features */
	/* the model for this snapshot */
	bool		have_model;
	TransactionId xmin;
	TransactionId xmax;
	CommandId	curcid;
	LrModel    *model;			/* NULL: the model has no rows */
	bool		version_null;
	int32		active_version;
	double	   *x;
	/* categorical features: the model's levels (NULL: all numeric), x's length */
	FlinkmlLevels *levels;
	int			nx;
} ScoreState;

static bool
numeric_type(Oid t)
{
	return t == FLOAT8OID || t == FLOAT4OID || t == INT2OID || t == INT4OID || t == INT8OID || t == NUMERICOID;
}

/* An attribute number argument naming a live column of the wanted kind. */
static AttrNumber
attnum_arg(const char *s, TupleDesc desc, Relation rel, const char *model, const char *what,
		   bool zero_ok, Oid *type)
{
	int			a = pg_strtoint32(s);
	Form_pg_attribute att;

	*type = InvalidOid;
	if (a == 0 && zero_ok)
		return 0;
	if (a <= 0 || a > desc->natts || TupleDescAttr(desc, a - 1)->attisdropped)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("flinkml: a column that model \"%s\" scores %s with (%s, attribute %d) is no longer there",
						model, RelationGetRelationName(rel), what, a),
				 errhint("SELECT flinkml.stop_scoring('%s', '%s'); then score_into again.", model,
						 RelationGetRelationName(rel))));
	att = TupleDescAttr(desc, a - 1);
	*type = att->atttypid;
	if ((strcmp(what, "prediction") == 0 && att->atttypid != FLOAT8OID) ||
		(strcmp(what, "version") == 0 && att->atttypid != INT4OID && att->atttypid != INT8OID) ||
		(strcmp(what, "feature") == 0 && !numeric_type(att->atttypid) &&
		 !flinkml_categorical_type(att->atttypid)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("flinkml: column %s of %s (the %s column of model \"%s\") is now of type %s",
						NameStr(att->attname), RelationGetRelationName(rel), what, model,
						format_type_be(att->atttypid))));
	return (AttrNumber) a;
}

/* Parse and check the trigger's arguments against the table, once per query. */
static void
check_arguments(ScoreState *st, TriggerData *td, const char *model)
{
	Trigger    *tg = td->tg_trigger;
	Relation	rel = td->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			t;
	Datum	   *nums;

	st->nfeat = tg->tgnargs - 3;
	st->feat = palloc(sizeof(AttrNumber) * (st->nfeat + 1));
	st->feat_type = palloc(sizeof(Oid) * (st->nfeat + 1));
	st->x = palloc(sizeof(double) * (st->nfeat + 1));
	st->pred = attnum_arg(tg->tgargs[1], desc, rel, model, "prediction", false, &t);
	st->version = attnum_arg(tg->tgargs[2], desc, rel, model, "version", true, &st->version_type);
	for (int j = 0; j < st->nfeat; j++)
		st->feat[j] = attnum_arg(tg->tgargs[3 + j], desc, rel, model, "feature", false, &st->feat_type[j]);
	nums = palloc(sizeof(Datum) * (st->nfeat + 2));
	nums[0] = Int16GetDatum(st->pred);
	nums[1] = Int16GetDatum(st->version);
	for (int j = 0; j < st->nfeat; j++)
		nums[2 + j] = Int16GetDatum(st->feat[j]);
	st->attnums = PointerGetDatum(construct_array(nums, st->nfeat + 2, INT2OID, sizeof(int16), true,
												  TYPALIGN_SHORT));
	st->checked = true;
}

/* flinkml_score_<model>, BEFORE INSERT OR UPDATE FOR EACH ROW, no WHEN, no columns. */
static void
check_trigger_form(const TriggerData *td, const char *model)
{
	const Trigger *tg = td->tg_trigger;
	char		want[NAMEDATALEN * 2];

	snprintf(want, sizeof(want), "flinkml_score_%s", model);
	if (strcmp(tg->tgname, want) != 0 ||
		tg->tgtype != (TRIGGER_TYPE_ROW | TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE) ||
		tg->tgqual != NULL || tg->tgnattr != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("flinkml: trigger \"%s\" on %s was not made by flinkml.score_into for model \"%s\"",
						tg->tgname, RelationGetRelationName(td->tg_relation), model)));
}

static Oid
current_extension(void)
{
	Oid			ext;

	if (!flinkml_extension(&ext, NULL, NULL))
		elog(ERROR, "flinkml: the extension is not installed");
	return ext;
}

/* The current model of the statement's snapshot into st (see the header). */
static void
lookup_model(ScoreState *st, TriggerData *td, const char *model, MemoryContext mcxt)
{
	Relation	rel = td->tg_relation;
	Oid			ext = current_extension();
	Datum		args[3] = {CStringGetTextDatum(model), ObjectIdGetDatum(RelationGetRelid(rel)), st->attnums};
	bool		isnull;
	bool		found;
	bool		deltas_apply;
	TransactionId row_xmin;
	ItemPointerData row_tid;
	ModelEntry *e;
	TupleDesc	rd;
	HeapTuple	row;

	if (model_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = NAMEDATALEN;
		ctl.entrysize = sizeof(ModelEntry);
		model_cache = hash_create("flinkml scoring models", 16, &ctl, HASH_ELEM | HASH_STRINGS);
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "flinkml: SPI_connect failed");
	prepare_plans(ext);
	if (SPI_execute_plan(probe_plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "flinkml: the scoring probe failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("flinkml: %s is scored by model \"%s\", which does not exist or which role %s may not read",
						RelationGetRelationName(rel), model, GetUserNameFromId(GetUserId(), false)),
				 errhint("A model is readable by its owner's members and by roles that may read every row of its source table.")));
	row = SPI_tuptable->vals[0];
	rd = SPI_tuptable->tupdesc;
	if (!DatumGetBool(SPI_getbinval(row, rd, 5, &isnull)) || isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("flinkml: trigger \"%s\" on %s does not match what flinkml.score_into recorded for model \"%s\"",
						td->tg_trigger->tgname, RelationGetRelationName(rel), model)));
	row_xmin = DatumGetTransactionId(SPI_getbinval(row, rd, 1, &isnull));
	ItemPointerCopy((ItemPointer) DatumGetPointer(SPI_getbinval(row, rd, 2, &isnull)), &row_tid);
	st->active_version = DatumGetInt32(SPI_getbinval(row, rd, 3, &st->version_null));
	deltas_apply = DatumGetBool(SPI_getbinval(row, rd, 4, &isnull));
	{
		/* the levels of categorical features, and that the columns are of their kinds */
		bool		intercept = DatumGetBool(SPI_getbinval(row, rd, 7, &isnull));
		Datum		lv = SPI_getbinval(row, rd, 6, &isnull);
		MemoryContext old = MemoryContextSwitchTo(mcxt);

		st->levels = isnull ? NULL : flinkml_levels_parse(DatumGetJsonbP(lv), st->nfeat, intercept, model);
		st->nx = st->levels ? st->levels->nexp : st->nfeat;
		st->x = repalloc(st->x, sizeof(double) * (st->nx + 1));
		MemoryContextSwitchTo(old);
		for (int j = 0; j < st->nfeat; j++)
		{
			bool		cat = st->levels && st->levels->nlev[j] > 0;

			if (cat != flinkml_categorical_type(st->feat_type[j]))
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("flinkml: column %s of %s has type %s, but it is a %s feature of model \"%s\"",
								get_attname(RelationGetRelid(rel), st->feat[j], false), RelationGetRelationName(rel),
								format_type_be(st->feat_type[j]), cat ? "categorical" : "numeric", model),
						 errhint("A categorical feature is read from a text, varchar or boolean column, a numeric one from a float8, float4, integer or numeric column.")));
		}
	}

	e = (ModelEntry *) hash_search(model_cache, model, HASH_ENTER, &found);
	if (!found)
	{
		e->valid = false;
		e->model = NULL;
	}
	if (deltas_apply || !e->valid || e->ext != ext || e->row_xmin != row_xmin ||
		!ItemPointerEquals(&e->row_tid, &row_tid))
	{
		Datum		d;

		/* invalid until the new model is in place: an error leaves no half entry */
		e->valid = false;
		if (e->model)
			pfree(e->model);
		e->model = NULL;
		if (SPI_execute_plan(current_plan, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "flinkml: looking up model \"%s\" failed", model);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
		{
			LrModel    *m = (LrModel *) PG_DETOAST_DATUM(d);
			Size		need = lr_model_state_offset(m->nfeat, m->intercept);

			e->model = MemoryContextAlloc(TopMemoryContext, need);
			memcpy(e->model, m, need);
		}
		e->ext = ext;
		e->row_xmin = row_xmin;
		e->row_tid = row_tid;
		/* with deltas applying, the model is of this snapshot only */
		e->valid = !deltas_apply;
	}
	/* the statement's own copy: a nested statement may replace the entry */
	if (st->model)
		pfree(st->model);
	st->model = NULL;
	if (e->model)
	{
		Size		need = lr_model_state_offset(e->model->nfeat, e->model->intercept);

		st->model = MemoryContextAlloc(mcxt, need);
		memcpy(st->model, e->model, need);
	}
	SPI_finish();
	if (st->model && st->model->nfeat != st->nx)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("flinkml: model \"%s\" has %d features but its trigger on %s reads %d columns",
						model, st->model->nfeat, RelationGetRelationName(rel), st->nx)));
}

/* flinkml._score_row(): the trigger function. */
Datum
flinkml_score_row(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *tg;
	const char *model;
	ScoreState *st;
	TupleTableSlot *slot;
	HeapTuple	tuple;
	Snapshot	snap;
	int			cols[2];
	Datum		values[2];
	bool		nulls[2];
	int			ncols;
	bool		anynull = false;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		elog(ERROR, "flinkml._score_row: not called as a BEFORE INSERT OR UPDATE ... FOR EACH ROW trigger");
	tg = td->tg_trigger;
	if (tg->tgnargs < 3)
		elog(ERROR, "flinkml._score_row: trigger arguments missing");
	model = tg->tgargs[0];

	st = (ScoreState *) fcinfo->flinfo->fn_extra;
	if (st == NULL)
	{
		check_trigger_form(td, model);
		st = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ScoreState));
		fcinfo->flinfo->fn_extra = st;
	}
	if (!st->checked)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		check_arguments(st, td, model);
		MemoryContextSwitchTo(old);
	}
	snap = GetActiveSnapshot();
	if (!st->have_model || st->xmin != snap->xmin || st->xmax != snap->xmax || st->curcid != snap->curcid)
	{
		st->have_model = false;
		lookup_model(st, td, model, fcinfo->flinfo->fn_mcxt);
		st->xmin = snap->xmin;
		st->xmax = snap->xmax;
		st->curcid = snap->curcid;
		st->have_model = true;
	}

	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		slot = td->tg_newslot;
		tuple = td->tg_newtuple;
	}
	else
	{
		slot = td->tg_trigslot;
		tuple = td->tg_trigtuple;
	}
	/* a NULL feature gives a NULL prediction, before any level is checked */
	for (int j = 0; st->levels && j < st->nfeat && !anynull; j++)
		(void) slot_getattr(slot, st->feat[j], &anynull);
	for (int j = 0, k = 0; j < st->nfeat && !anynull; j++)
	{
		bool		isnull;
		Datum		v = slot_getattr(slot, st->feat[j], &isnull);

		if (isnull)
			anynull = true;
		else if (st->levels && st->levels->nlev[j] > 0)
		{
			/* categorical: its dummies; a level the model has not seen is an error */
			flinkml_levels_expand(st->levels, j, st->feat_type[j], v, st->x + k, model,
								  NameStr(TupleDescAttr(RelationGetDescr(td->tg_relation), st->feat[j] - 1)->attname));
			k += flinkml_levels_width(st->levels, j);
		}
		else
			st->x[k++] = st->feat_type[j] == FLOAT8OID ? DatumGetFloat8(v)
				: flinkml_numeric_arg(st->feat_type[j], v, j + 1);
	}
	cols[0] = st->pred;
	nulls[0] = anynull || st->model == NULL;
	values[0] = nulls[0] ? (Datum) 0 : Float8GetDatum(lr_model_predict(st->model, st->x));
	ncols = 1;
	if (st->version > 0)
	{
		cols[1] = st->version;
		nulls[1] = st->version_null;
		values[1] = st->version_type == INT8OID ? Int64GetDatum((int64) st->active_version)
			: Int32GetDatum(st->active_version);
		ncols = 2;
	}
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, RelationGetDescr(td->tg_relation), ncols, cols,
													 values, nulls));
}

/*
 * flinkml._scoring_gate(model, tbl, column, version_column, start): the
 * caller must be a member of the model's owner; to start, it also needs what
 * CREATE TRIGGER needs on the table (TRIGGER privilege, by OID).  Then,
 * as the extension's owner, flinkml._start_scoring or _stop_scoring, which
 * check the columns and create or drop the trigger.  Stopping needs only
 * the model: its owner can always take its trigger away (drop_model must
 * never leave one behind).
 */
Datum
flinkml_scoring_gate(PG_FUNCTION_ARGS)
{
	text	   *model;
	Oid			tbl;
	bool		start;
	Oid			owner;
	bool		isnull;
	Oid			types[4] = {TEXTOID, OIDOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	char	   *name;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(4))
		elog(ERROR, "flinkml._scoring_gate: model, table and start must not be NULL");
	model = PG_GETARG_TEXT_PP(0);
	name = text_to_cstring(model);
	tbl = PG_GETARG_OID(1);
	start = PG_GETARG_BOOL(4);
	SPI_connect();
	values[0] = PointerGetDatum(model);
	if (flinkml_spi_as(flinkml_extension_owner(),
					   "SELECT m.owner::pg_catalog.oid FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) $1",
					   1, types, values, NULL, true) != 1 ||
		!is_member_of_role(GetUserId(),
						   (owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("flinkml: permission denied to change model \"%s\", or it does not exist", name)));
	(void) owner;
	values[1] = ObjectIdGetDatum(tbl);
	if (start)
	{
		if (get_rel_name(tbl) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("flinkml: relation with OID %u does not exist", tbl)));
		if (pg_class_aclcheck(tbl, GetUserId(), ACL_TRIGGER) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("flinkml: permission denied to score table %s with model \"%s\"", get_rel_name(tbl), name),
					 errhint("Scoring creates a trigger: it needs the TRIGGER privilege on the table, or its ownership.")));
		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("flinkml: score_into needs the name of the prediction column")));
		values[2] = PG_GETARG_DATUM(2);
		values[3] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
		nulls[3] = PG_ARGISNULL(3) ? 'n' : ' ';
		flinkml_spi_as(flinkml_extension_owner(), "SELECT flinkml._start_scoring($1, $2, $3, $4)",
					   4, types, values, nulls, false);
	}
	else
		flinkml_spi_as(flinkml_extension_owner(), "SELECT flinkml._stop_scoring($1, $2)",
					   2, types, values, NULL, false);
	SPI_finish();
	PG_RETURN_VOID();
}
