/*
 * trigger.c — the statement-level trigger that keeps a registry model exact
 * under INSERT, UPDATE and DELETE (flinkml.attach).
 *
 * It reads the statement's transition tables directly, folds the new rows
 * into an "added" state and the old rows into a "removed" state, and
 * appends one row to flinkml.deltas (one per time bucket touched for a
 * window model): one insert per statement, whatever its row count, and no
 * lock on the model, so concurrent writers never wait for each other.  The
 * same statement scores the active version on the added rows
 * (test-then-train, from their state) into that delta row.  TRUNCATE calls
 * flinkml._truncated(model, table), which starts the model again from no
 * rows.
 *
 * The registry is read and written in C, without SPI: the model's row by
 * its primary key, the scored version's fit by (model, version), and the
 * delta through the table access method and the table's indexes, with the
 * sequence's next id and the transaction's start time as the defaults of
 * id and made_at would give.  A single-row statement so costs the writer
 * two index probes and one insert, instead of planning-cache checks,
 * executor start-up and shutdown of a nine-node plan, which were most of
 * its cost (README, "Event-time windows").
 *
 * It runs as the writer, who may not write the registry; the append runs as
 * the extension's owner, as PostgreSQL's foreign-key triggers act as the
 * table's owner.  So it trusts nothing it is given: the trigger must be one
 * attach made (its name, events and form), on the model's source table (by
 * OID), with the model's columns (and time column and bucket width), and
 * the model attached and not stale (model_takes_deltas, on the row read in
 * the snapshot the append uses).

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

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am_d.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "catalog/pg_trigger.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "categorical.h"
#include "core/lr_stats.h"
#include "follower.h"

PG_FUNCTION_INFO_V1(flinkml_fold_statement);

/*
 * The registry relations the trigger reads and appends to, by OID, and the
 * attribute numbers of the columns it uses: looked up once per backend and
 * installation of the extension (a reinstalled extension has a new OID).
 */
typedef struct Registry
{
	Oid			ext;
	Oid			models,
				models_pkey,
				versions,
				versions_pkey,
				deltas,
				deltas_seq;
	AttrNumber	m_name,
				m_source,
				m_attnums,
				m_intercept,
				m_attached,
				m_stale,
				m_time_attnum,
				m_bucket_width,
				m_active,
				m_head,
				m_policy,
				m_levels;
	AttrNumber	v_model,
				v_version,
				v_fit;
	int			d_natts;
	AttrNumber	d_model,
				d_id,
				d_added,
				d_removed,
				d_made_by,
				d_made_at,
				d_ev_version,
				d_ev_sse,
				d_ch_version,
				d_ch_sse,
				d_bucket;
} Registry;

static Registry registry;
static bool registry_callback = false;

/* A registry table changed (ALTER TABLE, an index made): look it all up again. */
static void
registry_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == registry.models || relid == registry.versions ||
		relid == registry.deltas)
		registry.ext = InvalidOid;
}

static Oid
registry_relid(Oid nsp, const char *name)
{
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "flinkml: relation flinkml.%s not found", name);
	return relid;
}

static AttrNumber
registry_attnum(Oid relid, const char *name)
{
	AttrNumber	a = get_attnum(relid, name);

	if (a == InvalidAttrNumber)
		elog(ERROR, "flinkml: column \"%s\" not found in the registry", name);
	return a;
}

static Oid
registry_pkey(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Oid			pk = RelationGetPrimaryKeyIndex(rel);

	table_close(rel, AccessShareLock);
	if (!OidIsValid(pk))
		elog(ERROR, "flinkml: the registry table %u has no primary key", relid);
	return pk;
}

static const Registry *
registry_of(Oid ext)
{
	Registry	r;
	Oid			nsp;
	Relation	rel;
	TupleDesc	desc;
	const char *cols[] = {"model", "id", "added", "removed", "made_by", "made_at", "ev_version", "ev_sse",
		"ch_version", "ch_sse", "bucket"};

	if (registry.ext == ext)
		return &registry;
	if (!registry_callback)
	{
		CacheRegisterRelcacheCallback(registry_invalidate, (Datum) 0);
		registry_callback = true;
	}
	nsp = get_namespace_oid("flinkml", false);
	r.models = registry_relid(nsp, "models");
	r.versions = registry_relid(nsp, "versions");
	r.deltas = registry_relid(nsp, "deltas");
	r.deltas_seq = registry_relid(nsp, "deltas_id_seq");
	r.models_pkey = registry_pkey(r.models);
	r.versions_pkey = registry_pkey(r.versions);
	r.m_name = registry_attnum(r.models, "name");
	r.m_source = registry_attnum(r.models, "source");
	r.m_attnums = registry_attnum(r.models, "attnums");
	r.m_intercept = registry_attnum(r.models, "intercept");
	r.m_attached = registry_attnum(r.models, "attached");
	r.m_stale = registry_attnum(r.models, "stale");
	r.m_time_attnum = registry_attnum(r.models, "time_attnum");
	r.m_bucket_width = registry_attnum(r.models, "bucket_width");
	r.m_active = registry_attnum(r.models, "active_version");
	r.m_head = registry_attnum(r.models, "head_version");
	r.m_policy = registry_attnum(r.models, "policy");
	r.m_levels = registry_attnum(r.models, "levels");
	r.v_model = registry_attnum(r.versions, "model");
	r.v_version = registry_attnum(r.versions, "version");
	r.v_fit = registry_attnum(r.versions, "fit");
	r.d_model = registry_attnum(r.deltas, "model");
	r.d_id = registry_attnum(r.deltas, "id");
	r.d_added = registry_attnum(r.deltas, "added");
	r.d_removed = registry_attnum(r.deltas, "removed");
	r.d_made_by = registry_attnum(r.deltas, "made_by");
	r.d_made_at = registry_attnum(r.deltas, "made_at");
	r.d_ev_version = registry_attnum(r.deltas, "ev_version");
	r.d_ev_sse = registry_attnum(r.deltas, "ev_sse");
	r.d_ch_version = registry_attnum(r.deltas, "ch_version");
	r.d_ch_sse = registry_attnum(r.deltas, "ch_sse");
	r.d_bucket = registry_attnum(r.deltas, "bucket");
	/* every column of a delta is one written here: no default is left to the executor */
	rel = table_open(r.deltas, AccessShareLock);
	desc = RelationGetDescr(rel);
	r.d_natts = desc->natts;
	for (int i = 0; i < desc->natts; i++)
	{
		bool		known = TupleDescAttr(desc, i)->attisdropped;

		for (int k = 0; !known && k < lengthof(cols); k++)
			known = strcmp(NameStr(TupleDescAttr(desc, i)->attname), cols[k]) == 0;
		if (!known)
			elog(ERROR, "flinkml: flinkml.deltas has a column \"%s\" the trigger does not write",
				 NameStr(TupleDescAttr(desc, i)->attname));
	}
	table_close(rel, AccessShareLock);
	r.ext = ext;
	registry = r;
	return &registry;
}

/*
 * What the trigger needs of the model's row in flinkml.models, read in the
 * statement's snapshot (as the query it replaces did).
 */
typedef struct ModelRow
{
	bool		found;
	Oid			source;
	ArrayType  *attnums;
	bool		intercept;
	bool		attached;
	bool		fresh;			/* stale IS NULL */
	AttrNumber	time;			/* time_attnum; 0: NULL */
	bool		width_ok;		/* bucket_width not NULL and bucket_usec its length */
	int64		bucket_usec;
	bool		has_active;
	int32		active;
	int32		head;
	bool		if_better;		/* policy 'if_better' */
	Jsonb	   *levels;			/* NULL: none */
} ModelRow;

/*
 * A bucket width in microseconds as flinkml._bucket_usec computes it,
 * (EXTRACT(epoch FROM width) * 1000000)::bigint; false where that
 * overflows.
 */
static bool
interval_usec(const Interval *iv, int64 *out)
{
	int64		secs = ((int64) DAYS_PER_YEAR * (iv->month / MONTHS_PER_YEAR) +
						(int64) DAYS_PER_MONTH * (iv->month % MONTHS_PER_YEAR) + iv->day) * SECS_PER_DAY;

	return !pg_mul_s64_overflow(secs, USECS_PER_SEC, out) && !pg_add_s64_overflow(*out, iv->time, out);
}

/* A text scan key for column attno of rel (its collation: the index's). */
static void
text_key(ScanKey key, Relation rel, AttrNumber attno, Datum value)
{
	ScanKeyEntryInitialize(key, 0, attno, BTEqualStrategyNumber, InvalidOid,
						   TupleDescAttr(RelationGetDescr(rel), attno - 1)->attcollation, F_TEXTEQ, value);
}

static void
read_model_row(const Registry *reg, Snapshot snap, Datum name, ModelRow *row)
{
	Relation	rel = table_open(reg->models, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	memset(row, 0, sizeof(*row));
	text_key(&key, rel, reg->m_name, name);
	scan = systable_beginscan(rel, reg->models_pkey, true, snap, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		Datum	   *v = palloc(sizeof(Datum) * desc->natts);
		bool	   *n = palloc(sizeof(bool) * desc->natts);

		/* one pass over the row (it has NULLs: attribute by attribute would walk it each time) */
		heap_deform_tuple(tup, desc, v, n);
#define COL(a) v[(a) - 1]
#define NUL(a) n[(a) - 1]
		row->found = true;
		row->source = NUL(reg->m_source) ? InvalidOid : DatumGetObjectId(COL(reg->m_source));
		row->attnums = NUL(reg->m_attnums) ? NULL : DatumGetArrayTypePCopy(COL(reg->m_attnums));
		row->intercept = !NUL(reg->m_intercept) && DatumGetBool(COL(reg->m_intercept));
		row->attached = !NUL(reg->m_attached) && DatumGetBool(COL(reg->m_attached));
		row->fresh = NUL(reg->m_stale);
		row->time = NUL(reg->m_time_attnum) ? 0 : DatumGetInt16(COL(reg->m_time_attnum));
		row->width_ok = !NUL(reg->m_bucket_width) &&
			interval_usec(DatumGetIntervalP(COL(reg->m_bucket_width)), &row->bucket_usec);
		row->has_active = !NUL(reg->m_active);
		row->active = row->has_active ? DatumGetInt32(COL(reg->m_active)) : 0;
		row->head = NUL(reg->m_head) ? 0 : DatumGetInt32(COL(reg->m_head));
		if (!NUL(reg->m_policy))
		{
			text	   *t = DatumGetTextPP(COL(reg->m_policy));

			row->if_better = VARSIZE_ANY_EXHDR(t) == 9 && memcmp(VARDATA_ANY(t), "if_better", 9) == 0;
		}
		row->levels = NUL(reg->m_levels) ? NULL : DatumGetJsonbPCopy(COL(reg->m_levels));
#undef COL
#undef NUL
	}
	systable_endscan(scan);
	table_close(rel, NoLock);
}

/* The fit of a version (detoasted, in the current context), or NULL. */
static LrModel *
read_fit(const Registry *reg, Snapshot snap, Datum name, int32 version)
{
	Relation	rel = table_open(reg->versions, AccessShareLock);
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	LrModel    *fit = NULL;

	text_key(&keys[0], rel, reg->v_model, name);
	ScanKeyInit(&keys[1], reg->v_version, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(version));
	scan = systable_beginscan(rel, reg->versions_pkey, true, snap, 2, keys);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, reg->v_fit, RelationGetDescr(rel), &isnull);

		if (!isnull)
			fit = (LrModel *) PG_DETOAST_DATUM_COPY(d);
	}
	systable_endscan(scan);
	table_close(rel, NoLock);
	return fit;
}

/*
 * linreg_state_sse(state, fit), the test-then-train figure of a change: NULL
 * (false) without a state, a fit or a row, as the strict SQL function.
 */
static bool
state_sse(const LrState *s, const LrModel *m, double *sse)
{
	if (s == NULL || m == NULL || s->nfeat < 0 || s->rows == 0)
		return false;
	if (s->nfeat != m->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linreg_state_sse: the state has %d features but the model has %d", s->nfeat, m->nfeat)));
	*sse = lr_state_sse(s, m->coef, m->intercept);
	return true;
}

/* One delta to append: a statement's (or a bucket's) added and removed rows. */
typedef struct Delta
{
	LrState    *added;
	LrState    *removed;
	bool		has_bucket;
	TimestampTz bucket;
} Delta;

/*
 * Append the deltas to flinkml.deltas, in order, each scored with the
 * active version (and the challenger under if_better): what
 * INSERT INTO flinkml.deltas ... would write, with the sequence's next id
 * and the transaction's start time, through the table access method and
 * the table's indexes (expressions and predicates included), without
 * planning or starting an executor for it.  As the extension's owner owns
 * the table, no permission or row-level security check applied to the
 * INSERT this replaces either; triggers on flinkml.deltas (flinkml makes
 * none) do not fire.
 */
static void
append_deltas(const Registry *reg, Snapshot snap, Datum name, const ModelRow *row, const Delta *deltas, int n)
{
	LrModel    *ev_fit = row->has_active ? read_fit(reg, snap, name, row->active) : NULL;
	LrModel    *ch_fit = row->if_better && row->has_active && row->head != row->active
		? read_fit(reg, snap, name, row->head) : NULL;
	Relation	rel = table_open(reg->deltas, RowExclusiveLock);
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	CommandId	cid = GetCurrentCommandId(true);
	Datum		made_by = CStringGetTextDatum("trigger");
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	/* the columns looked up are the table's (it is not altered under a writer's lock) */
	if (RelationGetDescr(rel)->natts != reg->d_natts)
		elog(ERROR, "flinkml: flinkml.deltas changed during the statement");
	estate->es_snapshot = snap;
	estate->es_output_cid = cid;
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	for (int i = 0; i < n; i++)
	{
		Datum	   *v;
		bool	   *isnull;
		double		sse;

		ExecClearTuple(slot);
		v = slot->tts_values;
		isnull = slot->tts_isnull;
		for (int a = 0; a < reg->d_natts; a++)
			isnull[a] = true;
		v[reg->d_model - 1] = name;
		isnull[reg->d_model - 1] = false;
		v[reg->d_id - 1] = Int64GetDatum(nextval_internal(reg->deltas_seq, false));
		isnull[reg->d_id - 1] = false;
		v[reg->d_added - 1] = PointerGetDatum(deltas[i].added);
		isnull[reg->d_added - 1] = deltas[i].added == NULL;
		v[reg->d_removed - 1] = PointerGetDatum(deltas[i].removed);
		isnull[reg->d_removed - 1] = deltas[i].removed == NULL;
		v[reg->d_made_by - 1] = made_by;
		isnull[reg->d_made_by - 1] = false;
		v[reg->d_made_at - 1] = TimestampTzGetDatum(now);
		isnull[reg->d_made_at - 1] = false;
		if (state_sse(deltas[i].added, ev_fit, &sse))
		{
			v[reg->d_ev_version - 1] = Int32GetDatum(row->active);
			v[reg->d_ev_sse - 1] = Float8GetDatum(sse);
			isnull[reg->d_ev_version - 1] = isnull[reg->d_ev_sse - 1] = false;
		}
		if (state_sse(deltas[i].added, ch_fit, &sse))
		{
			v[reg->d_ch_version - 1] = Int32GetDatum(row->head);
			v[reg->d_ch_sse - 1] = Float8GetDatum(sse);
			isnull[reg->d_ch_version - 1] = isnull[reg->d_ch_sse - 1] = false;
		}
		v[reg->d_bucket - 1] = TimestampTzGetDatum(deltas[i].bucket);
		isnull[reg->d_bucket - 1] = !deltas[i].has_bucket;
		ExecStoreVirtualTuple(slot);
		table_tuple_insert(rel, slot, cid, 0, NULL);
		if (rri->ri_NumIndices > 0)
			(void) ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL);
	}
	ExecDropSingleTupleTableSlot(slot);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
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
 * An attribute number of a numeric column (or, with cat_ok, a categorical one) of the
 * table (0 allowed for the weight); false when it is not one (a column
 * dropped, or renumbered by a restore).
 */
static bool
attnum_ok(int a, TupleDesc desc, bool zero_ok, bool cat_ok, AttrNumber *out)
{
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

/* The same for a trigger argument, an attribute number as text. */
static bool
attnum_arg(const char *s, TupleDesc desc, bool zero_ok, bool cat_ok, AttrNumber *out)
{
	return attnum_ok(pg_strtoint32(s), desc, zero_ok, cat_ok, out);
}

/*
 * The trigger's columns are not the table's: if the model is stale or
 * detached (the event triggers saw the change), or gone, there is nothing
 * to keep; otherwise an error, never a fold of other columns.
 */
static void
columns_gone(const ModelRow *row, const char *model, Oid relid)
{
	if (!row->found || !(row->fresh && row->attached && row->source == relid))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("flinkml: a column of model \"%s\" is no longer in the table", model),
			 errhint("SELECT flinkml.detach('%s'); SELECT flinkml.attach('%s');", model, model)));
}

/*
 * The model's levels when a feature column is categorical (text, varchar or
 * boolean), from its row, into *out (NULL when every feature column is
 * numeric).  False when the model is gone or its categorical features are
 * not the categorical columns (a column's type changed: the model is stale,
 * or the trigger is not its).  The levels are fixed when a model is
 * created, and the writer's table lock keeps drop_model (which drops this
 * trigger) from running meanwhile: they are the model's for the whole
 * statement.
 */
static bool
categorical_levels(const ModelRow *row, const char *model, TupleDesc desc, const Columns *c, FlinkmlLevels **out)
{
	bool		any = false;
	FlinkmlLevels *L;

	for (int j = 0; j < c->nfeat && !any; j++)
		any = flinkml_categorical_type(TupleDescAttr(desc, c->feat[j] - 1)->atttypid);
	*out = NULL;
	if (!any)
		return true;
	/* no such model: nothing to keep (as model_takes_deltas decides) */
	if (!row->found)
		return false;
	L = flinkml_levels_parse(row->levels, c->nfeat, c->intercept, model);
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

/* The buckets as deltas in time order (n of them, at least one). */
static Delta *
bucket_deltas(HTAB *buckets, int *n)
{
	long		count = hash_get_num_entries(buckets);
	BucketRows *all,
			   *e;
	HASH_SEQ_STATUS seq;
	Delta	   *out;
	long		i = 0;

	all = palloc(sizeof(BucketRows) * (count + 1));
	hash_seq_init(&seq, buckets);
	while ((e = hash_seq_search(&seq)) != NULL)
		all[i++] = *e;
	qsort(all, count, sizeof(BucketRows), bucket_cmp);
	out = palloc(sizeof(Delta) * (count + 1));
	for (i = 0; i < count; i++)
	{
		out[i].added = all[i].added;
		out[i].removed = all[i].removed;
		out[i].has_bucket = true;
		out[i].bucket = (TimestampTz) all[i].bucket;
	}
	*n = (int) count;
	return out;
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

/*
 * The model's attnums are the trigger's: target, weight, features, as a
 * one-dimensional int2 array from 1 without NULLs (what the SQL equality
 * with the trigger's array compared).
 */
static bool
attnums_match(ArrayType *a, const Columns *c)
{
	int16	   *v;

	if (a == NULL || ARR_NDIM(a) != 1 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != INT2OID ||
		ARR_DIMS(a)[0] != c->nfeat + 2 || ARR_LBOUND(a)[0] != 1)
		return false;
	v = (int16 *) ARR_DATA_PTR(a);
	if (v[0] != c->target || v[1] != c->weight)
		return false;
	for (int j = 0; j < c->nfeat; j++)
		if (v[2 + j] != c->feat[j])
			return false;
	return true;
}

/*
 * Whether the statement's deltas go to the model: it is the trigger's
 * (source table by OID, columns, intercept, time column and bucket width)
 * and attached and fresh.  A model dropped, detached or stale takes none
 * and there is nothing to keep; a trigger that is not the model's is an
 * error.
 */
static bool
model_takes_deltas(const ModelRow *row, const char *model, Oid relid, const Columns *c)
{
	bool		ours;

	if (!row->found)
		return false;
	ours = row->source == relid && attnums_match(row->attnums, c) && row->intercept == c->intercept &&
		row->time == c->time && (c->time > 0 ? row->width_ok && row->bucket_usec == c->bucket_usec : !row->width_ok);
	if (ours)
		return row->attached && row->fresh;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("flinkml: this trigger on %s does not belong to model \"%s\"", get_rel_name(relid), model)));
	return false;				/* not reached */
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
	HTAB	   *buckets = NULL;
	const Registry *reg;
	Datum		name;
	ModelRow	row = {0};
	bool		have_row = false;
	bool		usable;
	Delta	   *deltas;
	int			ndeltas;
	Oid			save_user;
	int			save_sec;

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

	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		Oid			argtypes[2] = {TEXTOID, OIDOID};
		Datum		args[2] = {CStringGetTextDatum(model), ObjectIdGetDatum(relid)};

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "flinkml: SPI_connect failed");
		flinkml_spi_as(owner, "SELECT flinkml._truncated($1, $2)", 2, argtypes, args, NULL, false);
		SPI_finish();
		return PointerGetDatum(NULL);
	}

	/*
	 * The registry is read and written as the extension's owner (no
	 * permission or row-level security check applies below; what decides is
	 * model_takes_deltas), in a snapshot of its own after the statement's
	 * changes, as SPI would run a query: so a change to the model committed
	 * meanwhile is seen under READ COMMITTED.
	 */
	reg = registry_of(ext);
	name = CStringGetTextDatum(model);
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PushActiveSnapshot(GetTransactionSnapshot());
	CommandCounterIncrement();
	UpdateActiveSnapshotCommandId();

	desc = RelationGetDescr(td->tg_relation);
	c.intercept = tg->tgargs[1][0] == 't';
	c.time = 0;
	c.bucket_usec = 0;
	c.nfeat = tg->tgnargs - 4;
	c.feat = palloc(sizeof(AttrNumber) * (c.nfeat + 1));
	usable = attnum_arg(tg->tgargs[2], desc, false, false, &c.target) &&
		attnum_arg(tg->tgargs[3], desc, true, false, &c.weight);
	{
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
	}
	for (int j = 0; usable && j < c.nfeat; j++)
		usable = attnum_arg(tg->tgargs[4 + j], desc, false, true, &c.feat[j]);
	c.model = model;
	if (usable)
	{
		/* the model's row is needed now only for a categorical feature's levels */
		for (int j = 0; j < c.nfeat && !have_row; j++)
			if (flinkml_categorical_type(TupleDescAttr(desc, c.feat[j] - 1)->atttypid))
			{
				read_model_row(reg, GetActiveSnapshot(), name, &row);
				have_row = true;
			}
		/* a column's kind is not the model's: gone as far as the model goes */
		usable = categorical_levels(&row, model, desc, &c, &c.levels);
	}
	if (!usable)
	{
		if (!have_row)
			read_model_row(reg, GetActiveSnapshot(), name, &row);
		columns_gone(&row, model, relid);
		goto done;
	}
	c.nx = c.levels ? c.levels->nexp : c.nfeat;

	if (c.time > 0)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(BucketRows);
		ctl.hcxt = CurrentMemoryContext;
		buckets = hash_create("flinkml window buckets", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	/* the rows are the writer's: folded as the writer (a value's errors are the writer's) */
	SetUserIdAndSecContext(save_user, save_sec);
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		fold_table(td->tg_newtable, desc, &c, &added, buckets, false);
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		fold_table(td->tg_oldtable, desc, &c, &removed, buckets, true);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);

	if (c.time > 0)
	{
		if (hash_get_num_entries(buckets) == 0)
			goto done;			/* no row with a time */
		deltas = bucket_deltas(buckets, &ndeltas);
	}
	else
	{
		if (added == NULL && removed == NULL)
			goto done;
		deltas = palloc0(sizeof(Delta));
		deltas[0].added = added;
		deltas[0].removed = removed;
		ndeltas = 1;
	}
	if (!have_row)
		read_model_row(reg, GetActiveSnapshot(), name, &row);
	if (model_takes_deltas(&row, model, relid, &c))
		append_deltas(reg, GetActiveSnapshot(), name, &row, deltas, ndeltas);
done:
	PopActiveSnapshot();
	SetUserIdAndSecContext(save_user, save_sec);
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
	return attnum_ok(a, RelationGetDescr(rel), zero_ok, false, out);
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
