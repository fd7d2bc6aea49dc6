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
 * A window model's second argument is "t:<attnum>:<usec>": the time
 * column and the bucket width in microseconds; its rows are folded per
 * time bucket (floor of the time since 2000-01-01 UTC to a multiple of the
 * width, as date_bin), one delta row per bucket, and a row whose time is
 * NULL is in no window and left out.
 * Rows with a NULL in a used column are skipped and counted; a non-finite
 * value or a negative weight is an error, as in the aggregates, and the
 * writer's statement fails.  A categorical feature (a text, varchar or
 * boolean column) is dummy-coded with the levels the model learned when it
 * was created (src/categorical.c), read once per statement; a value that is
 * not one of them is an error naming it, and the writer's statement fails.
 */
#include "flinkml.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_am_d.h"
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
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/hsearch.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
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
static SPIPlanPtr window_insert_plan = NULL;
static Oid	insert_plan_ext = InvalidOid;

/*
 * Test-then-train: the same statement scores the active version (and the
 * challenger, policy if_better) on the added rows, from their state
 * (linreg_state_error), before they are folded in, into the delta's own
 * row: one insert per statement (per bucket for window models) still.
 * added, removed and bucket are the SQL of the values to insert; the
 * model must match the trigger ($1 name, $4 table, $5 columns, $6
 * intercept) and be attached and fresh.
 */
static char *
delta_insert_sql(const char *nsp, const char *added, const char *removed, const char *bucket,
				 const char *from, const char *window_check)
{
	return psprintf("INSERT INTO flinkml.deltas (model, added, removed, made_by, ev_version, ev_sse, ch_version, ch_sse, bucket) "
					"SELECT m.name, %s, %s, 'trigger', "
					"CASE WHEN e.ev_sse IS NOT NULL THEN m.active_version END, e.ev_sse, "
					"CASE WHEN e.ch_sse IS NOT NULL THEN m.head_version END, e.ch_sse, %s "
					"FROM flinkml.models m %s CROSS JOIN LATERAL (SELECT "
					"%s.linreg_state_sse(%s, (SELECT a.fit FROM flinkml.versions a "
					"WHERE a.model OPERATOR(pg_catalog.=) m.name AND a.version OPERATOR(pg_catalog.=) m.active_version)) AS ev_sse, "
					"CASE WHEN m.policy OPERATOR(pg_catalog.=) 'if_better' AND m.head_version OPERATOR(pg_catalog.<>) m.active_version "
					"THEN %s.linreg_state_sse(%s, (SELECT c.fit FROM flinkml.versions c "
					"WHERE c.model OPERATOR(pg_catalog.=) m.name AND c.version OPERATOR(pg_catalog.=) m.head_version)) END AS ch_sse"
					/* OFFSET 0: scored once (flattened, each use would score again) */
					" OFFSET 0) e "
					"WHERE m.name OPERATOR(pg_catalog.=) $1 "
					"AND m.source::pg_catalog.oid OPERATOR(pg_catalog.=) $4 "
					"AND m.attnums OPERATOR(pg_catalog.=) $5 "
					"AND m.intercept OPERATOR(pg_catalog.=) $6 "
					"AND m.attached AND m.stale IS NULL AND %s",
					added, removed, bucket, from, nsp, added, nsp, added, window_check);
}

/*
 * The saved inserts, prepared once per backend and installation of the
 * extension: one delta ($2 added, $3 removed), or one per bucket for a
 * window model ($2, $3 arrays of states, $7 their buckets, $8 and $9 the
 * time column and bucket width the model must have).
 */
static SPIPlanPtr
delta_insert_plan(Oid ext, Oid schema, bool window)
{
	Oid			types[9];
	const char *nsp;

	if (insert_plan && insert_plan_ext == ext)
		return window ? window_insert_plan : insert_plan;
	if (insert_plan)
		SPI_freeplan(insert_plan);
	if (window_insert_plan)
		SPI_freeplan(window_insert_plan);
	insert_plan = window_insert_plan = NULL;
	types[0] = TEXTOID;
	/* the state type lives in the extension's schema */
	types[1] = types[2] = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("linreg_state"),
										  ObjectIdGetDatum(schema));
	types[3] = OIDOID;
	types[4] = INT2ARRAYOID;
	types[5] = BOOLOID;
	if (!OidIsValid(types[1]))
		elog(ERROR, "flinkml: type linreg_state not found");
	nsp = quote_identifier(get_namespace_name(schema));
	/*
	 * Generic plans from the start: the plan cache would otherwise plan
	 * afresh for every statement while a plan for the given values looks
	 * cheaper (arrays of one element do), which costs more than the insert.
	 */
	insert_plan = SPI_prepare_cursor(delta_insert_sql(nsp, "$2", "$3", "NULL::pg_catalog.timestamptz", "",
													  "m.time_attnum IS NULL"), 6, types, CURSOR_OPT_GENERIC_PLAN);
	if (insert_plan == NULL || SPI_keepplan(insert_plan) != 0)
		elog(ERROR, "flinkml: cannot prepare the delta insert");
	types[1] = types[2] = get_array_type(types[1]);
	types[6] = TIMESTAMPTZARRAYOID;
	types[7] = INT2OID;
	types[8] = INT8OID;
	window_insert_plan = SPI_prepare_cursor(delta_insert_sql(nsp, "u.a", "u.r", "u.b",
													  "CROSS JOIN ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($7)) u(a, r, b)",
													  "m.time_attnum OPERATOR(pg_catalog.=) $8 "
													  "AND (EXTRACT(epoch FROM m.bucket_width) OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8 "
													  "OPERATOR(pg_catalog.=) $9"),
											9, types, CURSOR_OPT_GENERIC_PLAN);
	if (window_insert_plan == NULL || SPI_keepplan(window_insert_plan) != 0)
		elog(ERROR, "flinkml: cannot prepare the window delta insert");
	insert_plan_ext = ext;
	return window ? window_insert_plan : insert_plan;
}

typedef struct Columns
{
	bool		intercept;
	AttrNumber	time;			/* window models: the time column; 0: none */
	int64		bucket_usec;	/* window models: the bucket width */
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

/* A window model's rows of one time bucket, added and removed. */
typedef struct BucketRows
{
	int64		bucket;			/* its start, microseconds since 2000-01-01 UTC */
	LrState    *added;
	LrState    *removed;
} BucketRows;

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
 * Fold the rows of a transition table: into *whole (a new state if NULL),
 * or, for a window model, into the added or removed state of each row's
 * time bucket in buckets.
 */
static void
fold_table(Tuplestorestate *ts, TupleDesc desc, const Columns *c, LrState **whole, HTAB *buckets,
		   bool removed)
{
	TupleTableSlot *slot;
	double	   *x = palloc(sizeof(double) * (c->nx + 1));

	if (ts == NULL)
		return;
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;
		bool		skip = false;
		double		y = 0.0,
					w = 1.0;
		Datum		v;
		LrState   **sp = whole;

		if (c->time > 0)
		{
			BucketRows *b;
			int64		key;
			bool		found;

			v = slot_getattr(slot, c->time, &isnull);
			if (isnull)
				continue;		/* in no window */
			key = bucket_of(DatumGetTimestampTz(v), c->bucket_usec);
			b = hash_search(buckets, &key, HASH_ENTER, &found);
			if (!found)
				b->added = b->removed = NULL;
			sp = removed ? &b->removed : &b->added;
		}
		if (*sp == NULL)
			*sp = flinkml_new_state(c->nx, c->intercept);
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
			(*sp)->skipped++;
			continue;
		}
		flinkml_check_row_values(y, x, c->nx, w);
		lr_state_add_row(*sp, y, x, w);
	}
	ExecDropSingleTupleTableSlot(slot);
	pfree(x);
}

static int
bucket_cmp(const void *a, const void *b)
{
	int64		x = ((const BucketRows *) a)->bucket,
				y = ((const BucketRows *) b)->bucket;

	return (x > y) - (x < y);
}

/*
 * The buckets as three arrays in time order, for the window insert:
 * out[0] the added states, out[1] the removed ones (NULL elements where a
 * bucket has none), out[2] the bucket starts.  False when there is none.
 */
static bool
bucket_arrays(HTAB *buckets, Oid state_type, Datum out[3])
{
	long		n = hash_get_num_entries(buckets);
	BucketRows *all,
			   *e;
	HASH_SEQ_STATUS seq;
	Datum	   *vals[3];
	bool	   *nulls[2];
	int			dims[1],
				lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;
	long		i = 0;

	if (n == 0)
		return false;
	all = palloc(sizeof(BucketRows) * n);
	hash_seq_init(&seq, buckets);
	while ((e = hash_seq_search(&seq)) != NULL)
		all[i++] = *e;
	qsort(all, n, sizeof(BucketRows), bucket_cmp);
	for (int k = 0; k < 3; k++)
		vals[k] = palloc(sizeof(Datum) * n);
	nulls[0] = palloc(sizeof(bool) * n);
	nulls[1] = palloc(sizeof(bool) * n);
	for (i = 0; i < n; i++)
	{
		vals[0][i] = PointerGetDatum(all[i].added);
		nulls[0][i] = all[i].added == NULL;
		vals[1][i] = PointerGetDatum(all[i].removed);
		nulls[1][i] = all[i].removed == NULL;
		vals[2][i] = TimestampTzGetDatum(all[i].bucket);
	}
	dims[0] = (int) n;
	get_typlenbyvalalign(state_type, &typlen, &typbyval, &typalign);
	for (int k = 0; k < 2; k++)
		out[k] = PointerGetDatum(construct_md_array(vals[k], nulls[k], 1, dims, lbs, state_type, typlen,
													typbyval, typalign));
	out[2] = PointerGetDatum(construct_array(vals[2], (int) n, TIMESTAMPTZOID, sizeof(TimestampTz),
											 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	return true;
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
check_trigger_form_named(const TriggerData *td, const char *model, const char *shard_suffix)
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
	/* on a Citus shard, Citus names the trigger after the shard */
	snprintf(want, sizeof(want), "flinkml_%s%s%s", model, suffix, shard_suffix);
	if (strcmp(tg->tgname, want) != 0 || tg->tgtype != (TRIGGER_TYPE_AFTER | event) ||
		tg->tgqual != NULL || tg->tgnattr != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("flinkml: trigger \"%s\" on %s was not made by flinkml.attach for model \"%s\"",
						tg->tgname, RelationGetRelationName(td->tg_relation), model)));
}

static void
check_trigger_form(const TriggerData *td, const char *model)
{
	check_trigger_form_named(td, model, "");
}

/* A statement that appended nothing: refuse a trigger that is not the model's. */
static void
check_not_appended(Oid owner, const char *model, Oid relid, Datum attnums, const Columns *c)
{
	Oid			types[6] = {TEXTOID, OIDOID, INT2ARRAYOID, BOOLOID, INT2OID, INT8OID};
	Datum		args[6] = {CStringGetTextDatum(model), ObjectIdGetDatum(relid), attnums, BoolGetDatum(c->intercept),
		Int16GetDatum(c->time), Int64GetDatum(c->bucket_usec)};
	bool		isnull;

	/* no such model (dropped), or one detached or stale: nothing to keep */
	if (flinkml_spi_as(owner,
					   "SELECT m.source::pg_catalog.oid OPERATOR(pg_catalog.=) $2 "
					   "AND m.attnums OPERATOR(pg_catalog.=) $3 AND m.intercept OPERATOR(pg_catalog.=) $4 "
					   "AND COALESCE(m.time_attnum, 0::pg_catalog.int2) OPERATOR(pg_catalog.=) $5 "
					   "AND COALESCE(flinkml._bucket_usec(m.bucket_width), 0) OPERATOR(pg_catalog.=) $6 "
					   "FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) $1",
					   6, types, args, NULL, true) == 0 ||
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
	HTAB	   *buckets = NULL;

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
	c.intercept = tg->tgargs[1][0] == 't';
	c.time = 0;
	c.bucket_usec = 0;
	c.nfeat = tg->tgnargs - 4;
	c.feat = palloc(sizeof(AttrNumber) * (c.nfeat + 1));
	{
		bool		usable = attnum_arg(tg->tgargs[2], desc, false, false, &c.target) &&
			attnum_arg(tg->tgargs[3], desc, true, false, &c.weight);
		const char *window = strchr(tg->tgargs[1], ':');

		if (window != NULL)
		{
			/* t:<attnum>:<usec>: the time column must still be a timestamptz */
			int			a = atoi(window + 1);
			const char *w = strchr(window + 1, ':');

			if (w == NULL || (c.bucket_usec = strtoll(w + 1, NULL, 10)) <= 0)
				elog(ERROR, "flinkml_fold_statement: malformed window argument \"%s\"", tg->tgargs[1]);
			if (a > 0 && a <= desc->natts && !TupleDescAttr(desc, a - 1)->attisdropped &&
				TupleDescAttr(desc, a - 1)->atttypid == TIMESTAMPTZOID)
				c.time = (AttrNumber) a;
			else
				usable = false;
		}

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

	if (c.time > 0)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(BucketRows);
		ctl.hcxt = CurrentMemoryContext;
		buckets = hash_create("flinkml window buckets", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		fold_table(td->tg_newtable, desc, &c, &added, buckets, false);
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		fold_table(td->tg_oldtable, desc, &c, &removed, buckets, true);
	if (c.time > 0 || added || removed)
	{
		Datum		args[9] = {CStringGetTextDatum(model), PointerGetDatum(added), PointerGetDatum(removed),
			ObjectIdGetDatum(relid), attnums, BoolGetDatum(c.intercept), 0, Int16GetDatum(c.time),
		Int64GetDatum(c.bucket_usec)};
		char		nulls[9] = {' ', added ? ' ' : 'n', removed ? ' ' : 'n', ' ', ' ', ' ', ' ', ' ', ' '};
		Oid			save_user;
		int			save_sec;
		int			rc;
		SPIPlanPtr	plan = delta_insert_plan(ext, schema, c.time > 0);

		if (c.time > 0)
		{
			Datum		arrays[3];

			if (!bucket_arrays(buckets, GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
														CStringGetDatum("linreg_state"), ObjectIdGetDatum(schema)),
							   arrays))
			{
				SPI_finish();
				return PointerGetDatum(NULL);	/* no row with a time */
			}
			args[1] = arrays[0];
			args[2] = arrays[1];
			args[6] = arrays[2];
			nulls[1] = nulls[2] = ' ';
		}
		GetUserIdAndSecContext(&save_user, &save_sec);
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
		rc = SPI_execute_plan(plan, args, nulls, false, 0);
		SetUserIdAndSecContext(save_user, save_sec);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "flinkml: appending a delta for model \"%s\" failed", model);
		if (SPI_processed == 0)
			check_not_appended(owner, model, relid, attnums, &c);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * Models attached to a Citus distributed table (flinkml.attach on one).
 *
 * Citus runs a distributed table's triggers on its shards, on the workers,
 * each with the statement's rows of one shard.  So such a model keeps its
 * state where the rows are: in a table of its own, distributed like the
 * source and co-located with it (flinkml._shard_state_name: a name made
 * from the source table and the model, in schema flinkml, where only the
 * extension creates tables), one row per shard and statement (k: a value
 * of the shard's distribution column, so the row lies in the shard's hash
 * range; added and removed: the two states).  The trigger appends to the
 * co-located shard of that table, on the same node and in the writer's
 * transaction: exact at commit, nothing left by a rollback, and concurrent
 * writers never wait for each other.  The model is the merge of all its
 * rows (flinkml._shard_state), each shard starting from a fit of its rows
 * at attach.
 *
 * It trusts nothing it is given: the state table is found from the table
 * the trigger fires on (the shard's distributed table, by Citus's
 * metadata), not from an argument, so a trigger on another table finds no
 * state table and does nothing.  It appends as the extension's owner.
 *
 * Arguments (by name: a shard's attribute numbers need not be the
 * distributed table's): the model, "t" or "f" for the intercept, the
 * distribution column, the target, the weight ('' for none), the features.
 *
 * TRUNCATE fires on the distributed table itself, on the node the
 * statement was sent to (coordinator or worker), never on the shards:
 * flinkml._shard_truncated empties the state table there.
 */
PG_FUNCTION_INFO_V1(flinkml_fold_shard_statement);

/* A shard's append, kept per backend: the state table's shard and its plan. */
typedef struct ShardTarget
{
	/* key: the shard the trigger fires on, and the model */
	Oid			shard;
	char		model[NAMEDATALEN];
	Oid			ext;
	Oid			target;			/* the state table's co-located shard */
	char	   *target_name;
	SPIPlanPtr	plan;
} ShardTarget;

static HTAB *shard_targets = NULL;

/*
 * The co-located shard of the model's state table for the shard relid, or
 * InvalidOid when there is none (no model of this name on this table: the
 * trigger is not a model's, or the model was detached).
 */
static Oid
shard_state_target(Oid owner, Oid relid, const char *model)
{
	const char *name = get_rel_name(relid);
	const char *us = name ? strrchr(name, '_') : NULL;
	int64		shardid;
	Oid			types[3] = {INT8OID, TEXTOID, OIDOID};
	Datum		args[3];
	bool		isnull;
	Datum		d;

	if (us == NULL || us[1] == '\0' || strspn(us + 1, "0123456789") != strlen(us + 1))
		return InvalidOid;		/* not a shard's name */
	shardid = strtoll(us + 1, NULL, 10);
	args[0] = Int64GetDatum(shardid);
	args[1] = CStringGetTextDatum(model);
	args[2] = ObjectIdGetDatum(relid);
	/* Citus's own functions and catalogs, all in pg_catalog */
	if (flinkml_spi_as(owner,
					   "SELECT pg_catalog.to_regclass(pg_catalog.shard_name(s2.logicalrelid, s2.shardid))::pg_catalog.oid "
					   "FROM pg_catalog.pg_dist_shard s1 JOIN pg_catalog.pg_dist_shard s2 "
					   "ON s2.logicalrelid::pg_catalog.oid OPERATOR(pg_catalog.=) "
					   "pg_catalog.to_regclass(flinkml._shard_state_name(s1.logicalrelid, $2))::pg_catalog.oid "
					   "AND s2.shardminvalue OPERATOR(pg_catalog.=) s1.shardminvalue "
					   "WHERE s1.shardid OPERATOR(pg_catalog.=) $1 "
					   "AND pg_catalog.to_regclass(pg_catalog.shard_name(s1.logicalrelid, s1.shardid))::pg_catalog.oid "
					   "OPERATOR(pg_catalog.=) $3",
					   3, types, args, NULL, true) != 1)
		return InvalidOid;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? InvalidOid : DatumGetObjectId(d);
}

/* A column of the shard by name, as attnum_arg checks it; false if unusable. */
static bool
attnum_by_name(Relation rel, const char *column, bool zero_ok, AttrNumber *out)
{
	AttrNumber	a;

	*out = 0;
	if (column[0] == '\0')
		return zero_ok;
	a = get_attnum(RelationGetRelid(rel), column);
	if (a == InvalidAttrNumber)
		return false;
	return attnum_arg(psprintf("%d", a), RelationGetDescr(rel), zero_ok, false, out);
}

/* The distribution column's value in the first row of a transition table. */
static bool
first_key(Tuplestorestate *ts, TupleDesc desc, AttrNumber key, Datum *out)
{
	TupleTableSlot *slot;
	bool		found = false;
	bool		isnull = true;

	if (ts == NULL)
		return false;
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(ts);
	if (tuplestore_gettupleslot(ts, true, false, slot))
	{
		Form_pg_attribute att = TupleDescAttr(desc, key - 1);
		Datum		v = slot_getattr(slot, key, &isnull);

		if (!isnull)
		{
			*out = datumCopy(v, att->attbyval, att->attlen);
			found = true;
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	return found;
}

/* The cached append for this shard and model, looked up afresh when its target is gone. */
static ShardTarget *
shard_target(Oid ext, Oid owner, Oid schema, Relation rel, const char *model, AttrNumber key)
{
	ShardTarget key_;
	ShardTarget *e;
	bool		found;
	Oid			target;
	Oid			types[3];
	MemoryContext old;

	if (shard_targets == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = offsetof(ShardTarget, ext);
		ctl.entrysize = sizeof(ShardTarget);
		shard_targets = hash_create("flinkml shard targets", 16, &ctl, HASH_ELEM | HASH_BLOBS);
	}
	memset(&key_, 0, sizeof(key_));
	key_.shard = RelationGetRelid(rel);
	strlcpy(key_.model, model, NAMEDATALEN);
	e = hash_search(shard_targets, &key_, HASH_ENTER, &found);
	if (found && e->ext == ext && e->target_name != NULL)
	{
		const char *now = get_rel_name(e->target);

		/* the same state table still (a detach and attach make a new one) */
		if (now != NULL && strcmp(now, e->target_name) == 0)
			return e;
	}
	if (found && e->plan)
		SPI_freeplan(e->plan);
	if (found && e->target_name)
		pfree(e->target_name);
	e->plan = NULL;
	e->target_name = NULL;
	e->ext = ext;
	target = shard_state_target(owner, key_.shard, model);
	if (!OidIsValid(target))
		return NULL;
	types[0] = TupleDescAttr(RelationGetDescr(rel), key - 1)->atttypid;
	types[1] = types[2] = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("linreg_state"),
										  ObjectIdGetDatum(schema));
	e->plan = SPI_prepare(psprintf("INSERT INTO %s (k, added, removed) VALUES ($1, $2, $3)",
								   quote_qualified_identifier(get_namespace_name(get_rel_namespace(target)),
															  get_rel_name(target))),
						  3, types);
	if (e->plan == NULL || SPI_keepplan(e->plan) != 0)
		elog(ERROR, "flinkml: cannot prepare the shard state append for model \"%s\"", model);
	old = MemoryContextSwitchTo(TopMemoryContext);
	e->target_name = pstrdup(get_rel_name(target));
	MemoryContextSwitchTo(old);
	e->target = target;
	return e;
}

Datum
flinkml_fold_shard_statement(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *tg;
	Relation	rel;
	const char *model;
	Columns		c;
	AttrNumber	key;
	LrState    *added = NULL,
			   *removed = NULL;
	Oid			ext,
				owner,
				schema;
	bool		usable;
	ShardTarget *t;
	Datum		k;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_AFTER(td->tg_event))
		elog(ERROR, "flinkml_fold_shard_statement: not called as an AFTER ... FOR EACH STATEMENT trigger");
	tg = td->tg_trigger;
	if (tg->tgnargs < 5)
		elog(ERROR, "flinkml_fold_shard_statement: trigger arguments missing");
	model = tg->tgargs[0];
	rel = td->tg_relation;
	{
		/* a shard's trigger is named after the shard: _<shard id> */
		const char *us = strrchr(RelationGetRelationName(rel), '_');

		check_trigger_form_named(td, model,
								 flinkml_is_citus_relation(RelationGetRelid(rel)) || us == NULL ? "" : us);
	}
	extension_of_trigger(fcinfo->flinfo->fn_oid, &ext, &owner, &schema);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "flinkml: SPI_connect failed");
	if (flinkml_is_citus_relation(RelationGetRelid(rel)))
	{
		/* the distributed table: only TRUNCATE fires here */
		if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		{
			Oid			argtypes[2] = {TEXTOID, OIDOID};
			Datum		args[2] = {CStringGetTextDatum(model), ObjectIdGetDatum(RelationGetRelid(rel))};

			flinkml_spi_as(owner, "SELECT flinkml._shard_truncated($1, $2)", 2, argtypes, args, NULL, false);
		}
		SPI_finish();
		return PointerGetDatum(NULL);
	}
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		SPI_finish();			/* a shard alone: Citus's own business */
		return PointerGetDatum(NULL);
	}

	memset(&c, 0, sizeof(c));
	c.intercept = tg->tgargs[1][0] == 't';
	c.nfeat = tg->tgnargs - 5;
	c.feat = palloc(sizeof(AttrNumber) * (c.nfeat + 1));
	c.model = model;
	usable = attnum_by_name(rel, tg->tgargs[2], false, &key) &&
		attnum_by_name(rel, tg->tgargs[3], false, &c.target) &&
		attnum_by_name(rel, tg->tgargs[4], true, &c.weight);
	for (int j = 0; usable && j < c.nfeat; j++)
		usable = attnum_by_name(rel, tg->tgargs[5 + j], false, &c.feat[j]);
	if (!usable)
	{
		/*
		 * A column of the model is no longer the table's: the event trigger
		 * on the coordinator marked the model stale when it was dropped or
		 * retyped, so there is nothing left to keep exact.
		 */
		SPI_finish();
		return PointerGetDatum(NULL);
	}
	c.nx = c.nfeat;
	t = shard_target(ext, owner, schema, rel, model, key);
	if (t == NULL)
	{
		SPI_finish();			/* no such model on this table */
		return PointerGetDatum(NULL);
	}
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		fold_table(td->tg_newtable, RelationGetDescr(rel), &c, &added, NULL, false);
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		fold_table(td->tg_oldtable, RelationGetDescr(rel), &c, &removed, NULL, true);
	if ((added || removed) &&
		(first_key(td->tg_newtable, RelationGetDescr(rel), key, &k) ||
		 first_key(td->tg_oldtable, RelationGetDescr(rel), key, &k)))
	{
		Datum		args[3] = {k, PointerGetDatum(added), PointerGetDatum(removed)};
		char		nulls[3] = {' ', added ? ' ' : 'n', removed ? ' ' : 'n'};
		Relation	target = table_open(t->target, RowExclusiveLock);
		TupleDesc	tdesc = RelationGetDescr(target);

		if (target->rd_rel->relam == HEAP_TABLE_AM_OID &&
			!target->rd_rel->relhasindex && !target->rd_rel->relhastriggers &&
			!target->rd_rel->relrowsecurity && tdesc->natts == 3 &&
			(tdesc->constr == NULL || tdesc->constr->num_check == 0) &&
			TupleDescAttr(tdesc, 0)->atttypid == TupleDescAttr(RelationGetDescr(rel), key - 1)->atttypid)
		{
			/*
			 * The state table as attach made it (no index, trigger, policy
			 * or check; k never NULL here): the row goes straight into the
			 * heap.  The planner and executor (and Citus's hooks on them)
			 * would cost more than the row, once per shard and statement.
			 */
			bool		isnull[3] = {false, added == NULL, removed == NULL};

			simple_heap_insert(target, heap_form_tuple(tdesc, args, isnull));
			table_close(target, NoLock);	/* the lock is kept until commit, as by any insert */
		}
		else
		{
			Oid			save_user;
			int			save_sec;
			int			rc;

			table_close(target, NoLock);
			GetUserIdAndSecContext(&save_user, &save_sec);
			SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
			rc = SPI_execute_plan(t->plan, args, nulls, false, 0);
			SetUserIdAndSecContext(save_user, save_sec);
			if (rc != SPI_OK_INSERT)
				elog(ERROR, "flinkml: appending to the shard state of model \"%s\" failed", model);
		}
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}
