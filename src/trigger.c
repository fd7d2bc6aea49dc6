/*
 * trigger.c — the statement-level trigger that keeps a registry model exact
 * under INSERT, UPDATE and DELETE (flinkml.attach).
 *
 * It reads the statement's transition tables directly, folds the new rows
 * into an "added" state and the old rows into a "removed" state, and
 * appends one row to flinkml.deltas through a saved plan: one insert per
 * statement, whatever its row count, and no lock on the model, so
 * concurrent writers never wait for each other.  The same statement scores
 * the active version on the added rows (test-then-train, from their state)
 * into that delta row.  TRUNCATE calls
 * flinkml._truncated(model, table), which starts the model again from no
 * rows.
 *
 * It runs as the writer, who may not write the registry; the append runs as
 * the extension's owner, as PostgreSQL's foreign-key triggers act as the
 * table's owner.  So it trusts nothing it is given: the trigger must be one
 * attach made (its name, events and form), on the model's source table (by
 * OID), with the model's columns, and the model attached and not stale;
 * the insert itself checks the last three, so that the check costs no
 * extra query.  Every name in its SQL is qualified.
 *
 * Trigger arguments (written by flinkml.attach): the model name, "t" or "f"
 * for the intercept, the target's attribute number, the weight's (0 for
 * none), then the features'.  Attribute numbers survive column renames.
 * Rows with a NULL in a used column are skipped and counted; a non-finite
 * value or a negative weight is an error, as in the aggregates, and the
 * writer's statement fails.  A categorical feature (a text, varchar or
 * boolean column) is dummy-coded with the levels the model learned when it
 * was created (src/categorical.c), read once per statement; a value that is
 * not one of them is an error naming it, and the writer's statement fails.
 */
#include "flinkml.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "categorical.h"
#include "follower.h"

PG_FUNCTION_INFO_V1(flinkml_fold_statement);

/*
 * The saved insert into flinkml.deltas, prepared once per backend and
 * installation of the extension.  It appends only for the model whose
 * source table, columns and intercept the trigger names, while it is
 * attached and fresh.
 */
static SPIPlanPtr insert_plan = NULL;
static Oid	insert_plan_ext = InvalidOid;

static SPIPlanPtr
delta_insert_plan(Oid ext, Oid schema)
{
	Oid			types[6];
	const char *nsp;

	if (insert_plan && insert_plan_ext == ext)
		return insert_plan;
	if (insert_plan)
		SPI_freeplan(insert_plan);
	insert_plan = NULL;
	types[0] = TEXTOID;
	/* the state type lives in the extension's schema */
	types[1] = types[2] = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("linreg_state"),
										  ObjectIdGetDatum(schema));
	types[3] = OIDOID;
	types[4] = INT2ARRAYOID;
	types[5] = BOOLOID;
	if (!OidIsValid(types[1]))
		elog(ERROR, "flinkml: type linreg_state not found");
	/*
	 * Test-then-train: the same statement scores the active version (and
	 * the challenger, policy if_better) on the added rows, from their state
	 * (linreg_state_error), before they are folded in, into the delta's own
	 * row: one insert per statement still.
	 */
	nsp = quote_identifier(get_namespace_name(schema));
	insert_plan = SPI_prepare(psprintf("INSERT INTO flinkml.deltas (model, added, removed, made_by, ev_version, ev_sse, ch_version, ch_sse) "
									   "SELECT m.name, $2, $3, 'trigger', "
									   "CASE WHEN e.ev_sse IS NOT NULL THEN m.active_version END, e.ev_sse, "
									   "CASE WHEN e.ch_sse IS NOT NULL THEN m.head_version END, e.ch_sse "
									   "FROM flinkml.models m CROSS JOIN LATERAL (SELECT "
									   "%s.linreg_state_sse($2, (SELECT a.fit FROM flinkml.versions a "
									   "WHERE a.model OPERATOR(pg_catalog.=) m.name AND a.version OPERATOR(pg_catalog.=) m.active_version)) AS ev_sse, "
									   "CASE WHEN m.policy OPERATOR(pg_catalog.=) 'if_better' AND m.head_version OPERATOR(pg_catalog.<>) m.active_version "
									   "THEN %s.linreg_state_sse($2, (SELECT c.fit FROM flinkml.versions c "
									   "WHERE c.model OPERATOR(pg_catalog.=) m.name AND c.version OPERATOR(pg_catalog.=) m.head_version)) END AS ch_sse"
									   ") e "
									   "WHERE m.name OPERATOR(pg_catalog.=) $1 "
									   "AND m.source::pg_catalog.oid OPERATOR(pg_catalog.=) $4 "
									   "AND m.attnums OPERATOR(pg_catalog.=) $5 "
									   "AND m.intercept OPERATOR(pg_catalog.=) $6 "
									   "AND m.attached AND m.stale IS NULL", nsp, nsp), 6, types);
	if (insert_plan == NULL || SPI_keepplan(insert_plan) != 0)
		elog(ERROR, "flinkml: cannot prepare the delta insert");
	insert_plan_ext = ext;
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
	/* categorical features: the model's levels (NULL: all numeric), and x's length */
	FlinkmlLevels *levels;
	int			nx;
	const char *model;
} Columns;

/*
 * A trigger argument as an attribute number of a numeric column of the
 * table (0 allowed for the weight); false when it is not one (a column
 * dropped, or renumbered by a restore).
 */
static bool
attnum_arg(const char *s, TupleDesc desc, bool zero_ok, bool cat_ok, AttrNumber *out)
{
	int			a = pg_strtoint32(s);
	Form_pg_attribute att;

	*out = 0;
	if (a == 0)
		return zero_ok;
	if (a < 0 || a > desc->natts)
		return false;
	att = TupleDescAttr(desc, a - 1);
	if (att->attisdropped ||
		(att->atttypid != FLOAT8OID && att->atttypid != FLOAT4OID && att->atttypid != INT2OID &&
		 att->atttypid != INT4OID && att->atttypid != INT8OID && att->atttypid != NUMERICOID &&
		 !(cat_ok && flinkml_categorical_type(att->atttypid))))
		return false;
	*out = (AttrNumber) a;
	return true;
}

/*
 * The trigger's columns are not the table's: if the model is stale or
 * detached (the event triggers saw the change), there is nothing to keep;
 * otherwise an error, never a fold of other columns.
 */
static void
columns_gone(Oid owner, const char *model, Oid relid)
{
	Oid			types[2] = {TEXTOID, OIDOID};
	Datum		args[2] = {CStringGetTextDatum(model), ObjectIdGetDatum(relid)};
	bool		isnull;

	if (flinkml_spi_as(owner,
					   "SELECT m.stale IS NULL AND m.attached AND m.source::pg_catalog.oid OPERATOR(pg_catalog.=) $2 "
					   "FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) $1",
					   2, types, args, NULL, true) == 0 ||
		!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("flinkml: a column of model \"%s\" is no longer in the table", model),
			 errhint("SELECT flinkml.detach('%s'); SELECT flinkml.attach('%s');", model, model)));
}

/*
 * The model's levels when a feature column is categorical (text, varchar or
 * boolean), read as the extension's owner once per statement, into *out
 * (NULL when every feature column is numeric).  False when the model is
 * gone or its categorical features are not the categorical columns (a
 * column's type changed: the model is stale, or the trigger is not its).
 * The levels are fixed when a model is created, and the writer's table lock
 * keeps drop_model (which drops this trigger) from running meanwhile: they
 * are the model's for the whole statement.
 */
static bool
categorical_levels(Oid owner, const char *model, TupleDesc desc, const Columns *c, FlinkmlLevels **out)
{
	bool		any = false;
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(model)};
	bool		isnull;
	Datum		d;
	FlinkmlLevels *L;

	for (int j = 0; j < c->nfeat && !any; j++)
		any = flinkml_categorical_type(TupleDescAttr(desc, c->feat[j] - 1)->atttypid);
	*out = NULL;
	if (!any)
		return true;
	/* no such model: nothing to keep (as check_not_appended decides) */
	if (flinkml_spi_as(owner, "SELECT m.levels FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) $1",
					   1, types, args, NULL, true) != 1)
		return false;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	L = flinkml_levels_parse(isnull ? NULL : DatumGetJsonbP(d), c->nfeat, c->intercept, model);
	for (int j = 0; j < c->nfeat; j++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, c->feat[j] - 1);

		if ((L->nlev[j] > 0) != flinkml_categorical_type(att->atttypid))
			return false;
	}
	*out = L;
	return true;
}

/* Fold the rows of a transition table into a new state (NULL if none). */
static LrState *
fold_table(Tuplestorestate *ts, TupleDesc desc, const Columns *c)
{
	TupleTableSlot *slot;
	LrState    *s = NULL;
	double	   *x = palloc(sizeof(double) * (c->nx + 1));

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
			s = flinkml_new_state(c->nx, c->intercept);
		v = slot_getattr(slot, c->target, &isnull);
		if (isnull)
			skip = true;
		else
			y = flinkml_numeric_arg(TupleDescAttr(desc, c->target - 1)->atttypid, v, c->target);
		if (!skip && c->levels)
		{
			/* a row with a NULL is skipped before any level is checked */
			if (c->weight > 0)
			{
				(void) slot_getattr(slot, c->weight, &isnull);
				skip = isnull;
			}
			for (int j = 0; !skip && j < c->nfeat; j++)
			{
				(void) slot_getattr(slot, c->feat[j], &isnull);
				skip = isnull;
			}
		}
		for (int j = 0, k = 0; !skip && j < c->nfeat; j++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, c->feat[j] - 1);

			v = slot_getattr(slot, c->feat[j], &isnull);
			if (isnull)
				skip = true;
			else if (c->levels && c->levels->nlev[j] > 0)
			{
				/* categorical: its dummies; a level not learned is an error */
				flinkml_levels_expand(c->levels, j, att->atttypid, v, x + k, c->model, NameStr(att->attname));
				k += flinkml_levels_width(c->levels, j);
			}
			else
				x[k++] = flinkml_numeric_arg(att->atttypid, v, c->feat[j]);
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
		flinkml_check_row_values(y, x, c->nx, w);
		lr_state_add_row(s, y, x, w);
	}
	ExecDropSingleTupleTableSlot(slot);
	pfree(x);
	return s;
}

/*
 * The extension (OID, owner, schema) this trigger function belongs to,
 * looked up once per backend and function: a reinstalled extension has a
 * new trigger function, so its OID keys the cache.
 */
static void
extension_of_trigger(Oid fn, Oid *ext, Oid *owner, Oid *schema)
{
	static Oid	cached_fn = InvalidOid;
	static Oid	cached_ext,
				cached_owner,
				cached_schema;

	if (fn != cached_fn)
	{
		if (!flinkml_extension(&cached_ext, &cached_owner, &cached_schema))
			elog(ERROR, "flinkml: the extension is not installed");
		cached_fn = fn;
	}
	*ext = cached_ext;
	*owner = cached_owner;
	*schema = cached_schema;
}

/*
 * The trigger must be the one attach made for this model and event:
 * flinkml_<model>_ins|_upd|_del|_trunc, AFTER ... FOR EACH STATEMENT on that
 * one event, with no WHEN condition.
 */
static void
check_trigger_form(const TriggerData *td, const char *model)
{
	const Trigger *tg = td->tg_trigger;
	const char *suffix;
	int16		event;
	char		want[NAMEDATALEN * 2];

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		suffix = "_ins", event = TRIGGER_TYPE_INSERT;
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		suffix = "_upd", event = TRIGGER_TYPE_UPDATE;
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		suffix = "_del", event = TRIGGER_TYPE_DELETE;
	else
		suffix = "_trunc", event = TRIGGER_TYPE_TRUNCATE;
	snprintf(want, sizeof(want), "flinkml_%s%s", model, suffix);
	if (strcmp(tg->tgname, want) != 0 || tg->tgtype != (TRIGGER_TYPE_AFTER | event) ||
		tg->tgqual != NULL || tg->tgnattr != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("flinkml: trigger \"%s\" on %s was not made by flinkml.attach for model \"%s\"",
						tg->tgname, RelationGetRelationName(td->tg_relation), model)));
}

/* A statement that appended nothing: refuse a trigger that is not the model's. */
static void
check_not_appended(Oid owner, const char *model, Oid relid, Datum attnums, bool intercept)
{
	Oid			types[4] = {TEXTOID, OIDOID, INT2ARRAYOID, BOOLOID};
	Datum		args[4] = {CStringGetTextDatum(model), ObjectIdGetDatum(relid), attnums, BoolGetDatum(intercept)};
	bool		isnull;

	/* no such model (dropped), or one detached or stale: nothing to keep */
	if (flinkml_spi_as(owner,
					   "SELECT m.source::pg_catalog.oid OPERATOR(pg_catalog.=) $2 "
					   "AND m.attnums OPERATOR(pg_catalog.=) $3 AND m.intercept OPERATOR(pg_catalog.=) $4 "
					   "FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) $1",
					   4, types, args, NULL, true) == 0 ||
		DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("flinkml: this trigger on %s does not belong to model \"%s\"", get_rel_name(relid), model)));
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
	Oid			ext,
				owner,
				schema;
	Oid			relid;
	Datum	   *nums;
	Datum		attnums;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_AFTER(td->tg_event))
		elog(ERROR, "flinkml_fold_statement: not called as an AFTER ... FOR EACH STATEMENT trigger");
	tg = td->tg_trigger;
	if (tg->tgnargs < 4)
		elog(ERROR, "flinkml_fold_statement: trigger arguments missing");
	model = tg->tgargs[0];
	check_trigger_form(td, model);
	relid = RelationGetRelid(td->tg_relation);
	extension_of_trigger(fcinfo->flinfo->fn_oid, &ext, &owner, &schema);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "flinkml: SPI_connect failed");
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		Oid			argtypes[2] = {TEXTOID, OIDOID};
		Datum		args[2] = {CStringGetTextDatum(model), ObjectIdGetDatum(relid)};

		flinkml_spi_as(owner, "SELECT flinkml._truncated($1, $2)", 2, argtypes, args, NULL, false);
		SPI_finish();
		return PointerGetDatum(NULL);
	}

	desc = RelationGetDescr(td->tg_relation);
	c.intercept = strcmp(tg->tgargs[1], "t") == 0;
	c.nfeat = tg->tgnargs - 4;
	c.feat = palloc(sizeof(AttrNumber) * (c.nfeat + 1));
	{
		bool		usable = attnum_arg(tg->tgargs[2], desc, false, false, &c.target) &&
			attnum_arg(tg->tgargs[3], desc, true, false, &c.weight);

		for (int j = 0; usable && j < c.nfeat; j++)
			usable = attnum_arg(tg->tgargs[4 + j], desc, false, true, &c.feat[j]);
		if (!usable)
		{
			columns_gone(owner, model, relid);
			SPI_finish();
			return PointerGetDatum(NULL);
		}
	}
	c.model = model;
	if (!categorical_levels(owner, model, desc, &c, &c.levels))
	{
		/* a column's kind is not the model's: gone as far as the model goes */
		columns_gone(owner, model, relid);
		SPI_finish();
		return PointerGetDatum(NULL);
	}
	c.nx = c.levels ? c.levels->nexp : c.nfeat;
	nums = palloc(sizeof(Datum) * (c.nfeat + 2));
	nums[0] = Int16GetDatum(c.target);
	nums[1] = Int16GetDatum(c.weight);
	for (int j = 0; j < c.nfeat; j++)
		nums[2 + j] = Int16GetDatum(c.feat[j]);
	attnums = PointerGetDatum(construct_array(nums, c.nfeat + 2, INT2OID, sizeof(int16), true, TYPALIGN_SHORT));

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		added = fold_table(td->tg_newtable, desc, &c);
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		removed = fold_table(td->tg_oldtable, desc, &c);
	if (added || removed)
	{
		Datum		args[6] = {CStringGetTextDatum(model), PointerGetDatum(added), PointerGetDatum(removed),
			ObjectIdGetDatum(relid), attnums, BoolGetDatum(c.intercept)};
		char		nulls[6] = {' ', added ? ' ' : 'n', removed ? ' ' : 'n', ' ', ' ', ' '};
		Oid			save_user;
		int			save_sec;
		int			rc;

		GetUserIdAndSecContext(&save_user, &save_sec);
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
		rc = SPI_execute_plan(delta_insert_plan(ext, schema), args, nulls, false, 0);
		SetUserIdAndSecContext(save_user, save_sec);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "flinkml: appending a delta for model \"%s\" failed", model);
		if (SPI_processed == 0)
			check_not_appended(owner, model, relid, attnums, c.intercept);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}
