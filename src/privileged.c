/*
 * privileged.c — the few registry operations that need more rights than
 * their caller, and the checks in front of them.
 *
 * PostgreSQL cannot tell a SECURITY DEFINER function who called it, so the
 * gates here are plain C functions: each runs as its caller, checks the
 * caller (GetUserId()) against the model's owner and the source table by
 * OID, and only then runs one fixed, schema-qualified statement as the
 * extension's owner (the way PostgreSQL's own foreign-key triggers act as
 * a table's owner).  The functions they run are not executable by PUBLIC.
 *
 *   flinkml._set_attached(model, attach)  create or drop the model's triggers
 *   flinkml._create_stream(model)         register the stream, create its slot
 *   flinkml._drop_stream(model)           stop the follower, drop slot and stream
 *
 * Also here: the output-plugin allowance, the ALTER TABLE subcommand reader
 * of the event trigger, and the DROP EXTENSION hook.
 */
#include "flinkml.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "replication/logical.h"
#include "storage/lmgr.h"
#include "tcop/deparse_utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "follower.h"

PG_FUNCTION_INFO_V1(flinkml_set_attached);
PG_FUNCTION_INFO_V1(flinkml_create_stream);
PG_FUNCTION_INFO_V1(flinkml_drop_stream);
PG_FUNCTION_INFO_V1(flinkml_allow_output_plugin);
PG_FUNCTION_INFO_V1(flinkml_altered_columns);
PG_FUNCTION_INFO_V1(flinkml_alters_triggers);
PG_FUNCTION_INFO_V1(flinkml_on_ddl_start);
PG_FUNCTION_INFO_V1(flinkml_delete_deltas);
PG_FUNCTION_INFO_V1(flinkml_delete_model);
PG_FUNCTION_INFO_V1(flinkml_put_buckets);
PG_FUNCTION_INFO_V1(flinkml_merge_evaluations);
PG_FUNCTION_INFO_V1(flinkml_lock_model);

/* The installed extension: its OID, owner and schema. */
bool
flinkml_extension(Oid *ext, Oid *owner, Oid *schema)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("flinkml"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	found = HeapTupleIsValid(tup);
	if (found)
	{
		Form_pg_extension e = (Form_pg_extension) GETSTRUCT(tup);

		if (ext)
			*ext = e->oid;
		if (owner)
			*owner = e->extowner;
		if (schema)
			*schema = e->extnamespace;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

Oid
flinkml_extension_owner(void)
{
	Oid			owner;

	if (!flinkml_extension(NULL, &owner, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("flinkml: the extension is not installed in this database")));
	return owner;
}

/*
 * Run sql (one fixed statement, every name qualified) with SPI as role; the
 * caller has connected SPI.  An error aborts the (sub)transaction, which
 * restores the user.  Returns SPI_processed.
 */
uint64
flinkml_spi_as(Oid role, const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
			   bool read_only)
{
	Oid			save_user;
	int			save_sec;
	int			rc;

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(role, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
	SetUserIdAndSecContext(save_user, save_sec);
	if (rc < 0)
		elog(ERROR, "flinkml: SPI failed (%d) on: %s", rc, sql);
	return SPI_processed;
}

/* What the gates need of a model, read as the extension's owner. */
typedef struct GateModel
{
	Oid			owner;
	Oid			source;
	bool		stale;
} GateModel;

/*
 * The model, which the caller must be allowed to change (a member of its
 * owner role).  One message for a model that does not exist and one the
 * caller may not change: the gate tells nothing about others' models.
 */
static GateModel
gate_model(const char *model)
{
	GateModel	g;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model)};
	bool		isnull;

	bool		found;

	found = flinkml_spi_as(flinkml_extension_owner(),
						   "SELECT m.owner::pg_catalog.oid, m.source::pg_catalog.oid, m.stale IS NOT NULL "
						   "FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) $1",
						   1, types, values, NULL, true) == 1;
	if (found)
		g.owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!found || !is_member_of_role(GetUserId(), g.owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("flinkml: permission denied to change model \"%s\", or it does not exist", model)));
	g.source = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	g.stale = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	return g;
}

/* Run "SELECT fn($1)" as the extension's owner for the model; returns the result as text. */
static char *
run_privileged(const char *sql, const char *model)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model)};
	char	   *result = NULL;

	if (flinkml_spi_as(flinkml_extension_owner(), sql, 1, types, values, NULL, false) == 1 &&
		SPI_tuptable != NULL)
		result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return result;
}

/* flinkml._set_attached(model, attach): create or drop the model's triggers. */
Datum
flinkml_set_attached(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		attach = PG_GETARG_BOOL(1);
	GateModel	g;

	SPI_connect();
	g = gate_model(model);
	if (attach)
	{
		/* a stale model may attach: attach fits it afresh */
		if (get_rel_name(g.source) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("flinkml: the table of model \"%s\" was dropped", model)));
		/* PostgreSQL's rule for CREATE TRIGGER, by OID */
		if (pg_class_aclcheck(g.source, GetUserId(), ACL_TRIGGER) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("flinkml: permission denied to attach model \"%s\" to table %s", model,
							get_rel_name(g.source)),
					 errhint("Attaching creates triggers: it needs the TRIGGER privilege on the table, or its ownership.")));
		run_privileged("SELECT flinkml._attach_triggers($1)", model);
	}
	else
		run_privileged("SELECT flinkml._detach_triggers($1)", model);
	SPI_finish();
	PG_RETURN_VOID();
}

/* Is flinkml among the libraries output_plugin_libraries allows? */
static bool
plugin_allowed(void)
{
	char	   *copy;
	List	   *names;
	ListCell   *lc;
	bool		found = false;

	if (output_plugin_libraries_string == NULL)
		return true;
	copy = pstrdup(output_plugin_libraries_string);
	if (!SplitIdentifierString(copy, ',', &names))
		return false;
	foreach(lc, names)
		if (strcmp((char *) lfirst(lc), "flinkml") == 0)
			found = true;
	return found;
}

/*
 * output_plugin_libraries with flinkml added, as the value of a SET or
 * ALTER SYSTEM SET: one quoted item per library.  (It is a list: ALTER
 * SYSTEM SET output_plugin_libraries = 'pgoutput, flinkml' would set one
 * library named "pgoutput, flinkml".)
 */
static char *
allowed_list_with_flinkml(void)
{
	StringInfoData list;
	char	   *copy;
	List	   *names = NIL;
	ListCell   *lc;

	initStringInfo(&list);
	copy = pstrdup(output_plugin_libraries_string ? output_plugin_libraries_string : "");
	(void) SplitIdentifierString(copy, ',', &names);
	foreach(lc, names)
		appendStringInfo(&list, "%s, ", quote_literal_cstr((char *) lfirst(lc)));
	appendStringInfoString(&list, "'flinkml'");
	return list.data;
}

/*
 * flinkml._delete_deltas(model, ids bigint[] DEFAULT NULL): delete the
 * model's deltas with those ids (all of them for NULL).  Users hold no
 * DELETE on the registry (it would let them LOCK it).
 */
Datum
flinkml_delete_deltas(PG_FUNCTION_ARGS)
{
	Oid			types[2] = {TEXTOID, INT8ARRAYOID};
	Datum		values[2];
	char		nulls[2] = {' ', PG_ARGISNULL(1) ? 'n' : ' '};
	Oid			schema;

	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	SPI_connect();
	(void) gate_model(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (!flinkml_extension(NULL, NULL, &schema))
		elog(ERROR, "flinkml: the extension is not installed");
	flinkml_spi_as(flinkml_extension_owner(), psprintf(
				   "WITH d AS (DELETE FROM flinkml.deltas d WHERE d.model OPERATOR(pg_catalog.=) $1 "
				   "AND ($2 IS NULL OR d.id OPERATOR(pg_catalog.=) ANY ($2)) RETURNING d.*) "
				   /* the trigger evaluations they carry go to the history */
				   "INSERT INTO flinkml.evaluation_history (model, version, made_by, change, at, rows, weight, sse, mean_y, m2_y, challenger) "
				   "SELECT d.model, e.version, 'trigger', d.id, d.made_at, y.rows, y.weight, e.sse, y.mean_y, y.m2_y, e.challenger "
				   "FROM d CROSS JOIN LATERAL %s.linreg_state_y_moments(d.added) y "
				   "CROSS JOIN LATERAL (VALUES (d.ev_version, d.ev_sse, false), (d.ch_version, d.ch_sse, true)) e(version, sse, challenger) "
				   "WHERE e.version IS NOT NULL AND y.rows IS NOT NULL",
				   quote_identifier(get_namespace_name(schema))),
				   2, types, values, nulls, false);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * flinkml._put_buckets(model, clear_all, keep_from, buckets[], states[]):
 * a window model's buckets (flinkml.window_buckets), which users may not
 * write.  Deletes them all (clear_all) or those before keep_from, writes the
 * given ones (a NULL state deletes the bucket), and records keep_from as
 * the oldest bucket kept whole.
 */
Datum
flinkml_put_buckets(PG_FUNCTION_ARGS)
{
	Oid			types[5] = {TEXTOID, BOOLOID, TIMESTAMPTZOID, InvalidOid, InvalidOid};
	Datum		values[5];
	char		nulls[5];
	Oid			owner;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("flinkml: _put_buckets needs a model, clear_all and keep_from")));
	for (int i = 0; i < 5; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	types[3] = get_fn_expr_argtype(fcinfo->flinfo, 3);
	types[4] = get_fn_expr_argtype(fcinfo->flinfo, 4);
	if (types[3] != TIMESTAMPTZARRAYOID || !OidIsValid(types[4]))
		elog(ERROR, "flinkml: _put_buckets: argument types not known");
	SPI_connect();
	(void) gate_model(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	owner = flinkml_extension_owner();
	flinkml_spi_as(owner,
				   "DELETE FROM flinkml.window_buckets b WHERE b.model OPERATOR(pg_catalog.=) $1 "
				   "AND ($2 OR b.bucket OPERATOR(pg_catalog.<) $3 "
				   "OR b.bucket OPERATOR(pg_catalog.=) ANY (SELECT u.b FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5)) u(b, s) WHERE u.s IS NULL))",
				   5, types, values, nulls, false);
	flinkml_spi_as(owner,
				   "INSERT INTO flinkml.window_buckets (model, bucket, state) "
				   "SELECT $1, u.b, u.s FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5)) u(b, s) "
				   "WHERE u.b IS NOT NULL AND u.s IS NOT NULL AND ($2 OR u.b OPERATOR(pg_catalog.>=) $3) "
				   "ON CONFLICT (model, bucket) DO UPDATE SET state = EXCLUDED.state",
				   5, types, values, nulls, false);
	flinkml_spi_as(owner,
				   "UPDATE flinkml.models m SET window_since = $3 WHERE m.name OPERATOR(pg_catalog.=) $1",
				   5, types, values, nulls, false);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * flinkml._merge_evaluations(model, before, bucket) → rows merged away: the
 * model's test-then-train history before that time, merged per version,
 * maker and time bucket into one row each (sums of rows, weights and
 * squared errors; the weighted mean of y and the sum of squares about it
 * combined exactly as for two samples).  Users may not delete history rows.
 */
Datum
flinkml_merge_evaluations(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {TEXTOID, TIMESTAMPTZOID, INTERVALOID};
	Datum		values[3];
	int64		before,
				after;
	bool		isnull;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("flinkml: _merge_evaluations needs a model, a time and a bucket")));
	for (int i = 0; i < 3; i++)
		values[i] = PG_GETARG_DATUM(i);
	SPI_connect();
	(void) gate_model(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	flinkml_spi_as(flinkml_extension_owner(),
				   "SELECT pg_catalog.count(*) FROM flinkml.evaluation_history h WHERE h.model OPERATOR(pg_catalog.=) $1",
				   3, types, values, NULL, true);
	before = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	flinkml_spi_as(flinkml_extension_owner(),
				   /* only groups of more than one row: merged rows are not rewritten again */
				   "WITH c AS (SELECT h.ctid AS tid, h.version, h.made_by, h.challenger, "
				   "pg_catalog.date_bin($3, h.at, '2000-01-01 00:00:00+00'::pg_catalog.timestamptz) AS b "
				   "FROM flinkml.evaluation_history h WHERE h.model OPERATOR(pg_catalog.=) $1 AND h.at OPERATOR(pg_catalog.<) $2), "
				   "multi AS (SELECT c.tid, c.b FROM c JOIN (SELECT c2.version, c2.made_by, c2.challenger, c2.b FROM c c2 "
				   "GROUP BY c2.version, c2.made_by, c2.challenger, c2.b HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1) k "
				   "ON k.version OPERATOR(pg_catalog.=) c.version AND k.made_by OPERATOR(pg_catalog.=) c.made_by "
				   "AND k.challenger OPERATOR(pg_catalog.=) c.challenger AND k.b OPERATOR(pg_catalog.=) c.b), "
				   "old AS (DELETE FROM flinkml.evaluation_history h USING multi "
				   "WHERE h.ctid OPERATOR(pg_catalog.=) multi.tid RETURNING h.*, multi.b), "
				   "g AS (SELECT o.version, o.made_by, o.challenger, o.b, pg_catalog.min(o.change) AS change, "
				   "pg_catalog.sum(o.rows)::pg_catalog.int8 AS rows, pg_catalog.sum(o.weight) AS weight, "
				   "pg_catalog.sum(o.sse) AS sse, "
				   "pg_catalog.sum(o.weight OPERATOR(pg_catalog.*) o.mean_y) OPERATOR(pg_catalog./) "
				   "pg_catalog.sum(o.weight) AS mean_y FROM old o GROUP BY o.version, o.made_by, o.challenger, o.b) "
				   "INSERT INTO flinkml.evaluation_history (model, version, made_by, change, at, rows, weight, sse, mean_y, m2_y, challenger) "
				   "SELECT $1, g.version, g.made_by, g.change, g.b, g.rows, g.weight, g.sse, g.mean_y, "
				   /* OPERATOR() forms bind alike, left to right: parenthesised */
				   "pg_catalog.sum(o.m2_y OPERATOR(pg_catalog.+) (o.weight OPERATOR(pg_catalog.*) "
				   "((o.mean_y OPERATOR(pg_catalog.-) g.mean_y) OPERATOR(pg_catalog.^) 2::pg_catalog.float8))) "
				   ", g.challenger "
				   "FROM g JOIN old o ON o.version OPERATOR(pg_catalog.=) g.version AND o.made_by OPERATOR(pg_catalog.=) g.made_by "
				   "AND o.challenger OPERATOR(pg_catalog.=) g.challenger AND o.b OPERATOR(pg_catalog.=) g.b "
				   "GROUP BY g.version, g.made_by, g.challenger, g.b, g.change, g.rows, g.weight, g.sse, g.mean_y",
				   3, types, values, NULL, false);
	flinkml_spi_as(flinkml_extension_owner(),
				   "SELECT pg_catalog.count(*) FROM flinkml.evaluation_history h WHERE h.model OPERATOR(pg_catalog.=) $1",
				   3, types, values, NULL, false);	/* not read-only: it must see the merge */
	after = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PG_RETURN_INT64(before - after);
}

/* flinkml._delete_model(model): the model row (its versions and stream go with it). */
Datum
flinkml_delete_model(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));

	SPI_connect();
	(void) gate_model(model);
	run_privileged("DELETE FROM flinkml.deltas d WHERE d.model OPERATOR(pg_catalog.=) $1", model);
	run_privileged("DELETE FROM flinkml.evaluation_history e WHERE e.model OPERATOR(pg_catalog.=) $1", model);
	run_privileged("DELETE FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) $1", model);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * flinkml._lock_model(model, 'follower' | 'start') → taken?  Not executable
 * by PUBLIC (whoever holds the follower lock keeps followers out): for the
 * privileged stream functions, run as the extension's owner.
 */
Datum
flinkml_lock_model(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *what = text_to_cstring(PG_GETARG_TEXT_PP(1));

	if (strcmp(what, "follower") == 0)
		PG_RETURN_BOOL(flinkml_lock_model_key(model, FOLLOWER_LOCK_CLASS, false, false));
	if (strcmp(what, "start") == 0)
		PG_RETURN_BOOL(flinkml_lock_model_key(model, FOLLOWER_START_LOCK_CLASS, false, true));
	elog(ERROR, "flinkml._lock_model: unknown lock \"%s\"", what);
	PG_RETURN_BOOL(false);
}

/*
 * The follower runs as the model's owner: it must be able to log in, to
 * decode (REPLICATION), and to read every row of the table; and, unless it
 * is a superuser (for whom _allow_output_plugin adds flinkml for the
 * transaction), output_plugin_libraries must allow the plugin flinkml, or
 * the follower would fail on every poll and be restarted every second.
 */
void
flinkml_check_follower_owner(Oid owner, Oid source, const char *model)
{
	HeapTuple	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(owner));
	Form_pg_authid r;
	bool		login,
				replication;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("flinkml: the owner of model \"%s\" no longer exists", model)));
	r = (Form_pg_authid) GETSTRUCT(tup);
	login = r->rolcanlogin;
	replication = r->rolreplication || r->rolsuper;
	ReleaseSysCache(tup);
	if (!login || !replication)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("flinkml: the follower of model \"%s\" runs as its owner %s, which lacks %s",
						model, GetUserNameFromId(owner, false),
						!login && !replication ? "LOGIN and REPLICATION" : !login ? "LOGIN" : "REPLICATION"),
				 errhint("ALTER ROLE %s %s;", quote_identifier(GetUserNameFromId(owner, false)),
						 !login && !replication ? "LOGIN REPLICATION" : !login ? "LOGIN" : "REPLICATION")));
	if (pg_class_aclcheck(source, owner, ACL_SELECT) != ACLCHECK_OK ||
		check_enable_rls(source, owner, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("flinkml: the owner of model \"%s\" may not read every row of its table", model)));
	if (!superuser_arg(owner) && !plugin_allowed())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("flinkml: the follower of model \"%s\" runs as its owner %s, which may not decode with the output plugin flinkml",
						model, GetUserNameFromId(owner, false)),
				 errdetail("output_plugin_libraries is %s.", output_plugin_libraries_string ? output_plugin_libraries_string : ""),
				 errhint("As a superuser: ALTER SYSTEM SET output_plugin_libraries = %s; SELECT pg_reload_conf();",
						 allowed_list_with_flinkml())));
}

/* flinkml._create_stream(model) → the slot's start LSN. */
Datum
flinkml_create_stream(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	GateModel	g;
	char	   *lsn;
	Datum		result;

	SPI_connect();
	g = gate_model(model);
	if (g.stale)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("flinkml: model \"%s\" is stale; refit it first", model)));
	if (get_rel_name(g.source) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("flinkml: the table of model \"%s\" was dropped", model)));
	flinkml_check_follower_owner(g.owner, g.source, model);
	/*
	 * Only inside follow(), which holds the table against writers for its
	 * fit.  A Citus table's slots, on its nodes, are made before that lock
	 * (making one waits for the node's running transactions, which may wait
	 * for it); its stream starts only once follow() has fitted the table
	 * under the lock and stored each node's position (stream_nodes.last_lsn).
	 */
	if (!flinkml_is_citus_relation(g.source))
	{
		Relation	rel = relation_open(g.source, AccessShareLock);
		bool		held = CheckRelationLockedByMe(rel, ShareLock, true);

		relation_close(rel, AccessShareLock);
		if (!held)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("flinkml: the stream of model \"%s\" is made by flinkml.follow()", model)));
	}
	lsn = run_privileged("SELECT flinkml._create_stream_privileged($1)", model);
	/* NULL for a Citus table's stream: its slots are on the nodes */
	if (lsn == NULL)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	result = DirectFunctionCall1(pg_lsn_in, CStringGetDatum(lsn));
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* flinkml._drop_stream(model): stop the follower, drop the slot and the stream. */
Datum
flinkml_drop_stream(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));

	SPI_connect();
	(void) gate_model(model);
	run_privileged("SELECT flinkml._drop_stream_privileged($1)", model);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * flinkml._allow_output_plugin(): PostgreSQL 15.20 lets only the output
 * plugins listed in output_plugin_libraries decode.  A superuser gets
 * flinkml added for the transaction; anyone else an error whose hint is
 * the command that allows it for good: each library a quoted list item
 * ('a', 'b'; one string 'a, b' would be one item naming no library).
 */
Datum
flinkml_allow_output_plugin(PG_FUNCTION_ARGS)
{
	StringInfoData list;
	char	   *copy;
	List	   *names = NIL;
	ListCell   *lc;

	if (plugin_allowed())
		PG_RETURN_VOID();
	if (superuser())
	{
		/* a GUC's value, flattened: identifiers, quoted where needed */
		initStringInfo(&list);
		copy = pstrdup(output_plugin_libraries_string);
		(void) SplitIdentifierString(copy, ',', &names);
		foreach(lc, names)
			appendStringInfo(&list, "%s, ", quote_identifier((char *) lfirst(lc)));
		appendStringInfoString(&list, "flinkml");
		(void) set_config_option("output_plugin_libraries", list.data, PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
		PG_RETURN_VOID();
	}
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("flinkml: the output plugin flinkml is not in output_plugin_libraries"),
			 errhint("As a superuser: ALTER SYSTEM SET output_plugin_libraries = %s; SELECT pg_reload_conf();",
					 allowed_list_with_flinkml())));
	PG_RETURN_VOID();
}

/*
 * flinkml._altered_columns(pg_ddl_command) → text[]: the columns an ALTER
 * TABLE command changed the type of (ALTER COLUMN ... TYPE rewrites the
 * rows without firing triggers, even to the same type with USING).
 */
Datum
flinkml_altered_columns(PG_FUNCTION_ARGS)
{
	CollectedCommand *cmd = (CollectedCommand *) PG_GETARG_POINTER(0);
	ListCell   *lc;
	List	   *names = NIL;
	Datum	   *d;
	int			n = 0;

	if (cmd->type == SCT_AlterTable)
		foreach(lc, cmd->d.alterTable.subcmds)
		{
			CollectedATSubcmd *sub = lfirst(lc);
			AlterTableCmd *at = (AlterTableCmd *) sub->parsetree;

			if (IsA(at, AlterTableCmd) && at->subtype == AT_AlterColumnType && at->name)
				names = lappend(names, at->name);
		}
	d = palloc(sizeof(Datum) * (list_length(names) + 1));
	foreach(lc, names)
		d[n++] = CStringGetTextDatum((char *) lfirst(lc));
	PG_RETURN_ARRAYTYPE_P(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * flinkml._alters_triggers(pg_ddl_command) → boolean: does an ALTER TABLE
 * command enable or disable triggers?  (Only then are a model's triggers
 * checked: during a restore, ALTER TABLE runs before they are made.)
 */
Datum
flinkml_alters_triggers(PG_FUNCTION_ARGS)
{
	CollectedCommand *cmd = (CollectedCommand *) PG_GETARG_POINTER(0);
	ListCell   *lc;

	if (cmd->type == SCT_AlterTable)
		foreach(lc, cmd->d.alterTable.subcmds)
		{
			AlterTableCmd *at = (AlterTableCmd *) ((CollectedATSubcmd *) lfirst(lc))->parsetree;

			if (IsA(at, AlterTableCmd))
				switch (at->subtype)
				{
					case AT_EnableTrig:
					case AT_EnableAlwaysTrig:
					case AT_EnableReplicaTrig:
					case AT_EnableTrigAll:
					case AT_EnableTrigUser:
					case AT_DisableTrig:
					case AT_DisableTrigAll:
					case AT_DisableTrigUser:
						PG_RETURN_BOOL(true);
					default:
						break;
				}
		}
	PG_RETURN_BOOL(false);
}

/*
 * ddl_command_start of DROP EXTENSION: if it drops flinkml, every stream
 * with a slot gets a reaper, which waits for the drop to end and, if it
 * committed, drops the slot unless a follower runs (a running follower
 * finds the extension gone, drops its slot and exits).  Nothing is dropped
 * here: the drop may still roll back.  (Followers are not started for
 * this: one whose owner may not log in would fail, and be restarted, for
 * ever.)
 */
Datum
flinkml_on_ddl_start(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig = (EventTriggerData *) fcinfo->context;
	DropStmt   *drop;
	ListCell   *lc;
	bool		ours = false;

	Oid			ext;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "flinkml_on_ddl_start: not called by the event trigger manager");
	/* this runs before PostgreSQL checks that the caller may drop it */
	if (!flinkml_extension(&ext, NULL, NULL) || !pg_extension_ownercheck(ext, GetUserId()))
		PG_RETURN_VOID();
	drop = (DropStmt *) trig->parsetree;
	if (!IsA(drop, DropStmt) || drop->removeType != OBJECT_EXTENSION)
		PG_RETURN_VOID();
	foreach(lc, drop->objects)
		if (IsA(lfirst(lc), String) && strcmp(strVal(lfirst(lc)), "flinkml") == 0)
			ours = true;
	if (ours)
	{
		SPI_connect();
		/*
		 * A Citus table's stream has its slots on the workers, which no
		 * reaper here can reach once the extension is gone (and each would
		 * hold its node's WAL for ever): refuse, naming the model.
		 */
		if (flinkml_spi_as(flinkml_extension_owner(),
						   "SELECT s.model FROM flinkml.streams s WHERE s.distributed ORDER BY s.model LIMIT 1",
						   0, NULL, NULL, NULL, true) == 1)
		{
			char	   *model = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("flinkml: cannot drop extension flinkml while model \"%s\" follows a Citus table", model),
					 errdetail("Its slots are on the workers; dropping the extension would leave them there, holding their WAL."),
					 errhint("SELECT flinkml.unfollow(%s); first (it drops them).", quote_literal_cstr(model))));
		}
		flinkml_reap_after_commit(NULL);
		SPI_finish();
	}
	PG_RETURN_VOID();
}

/*
 * flinkml._shard_state(model, op): the state of a model attached to a
 * Citus distributed table, kept in its shard state table (see
 * src/trigger.c), which only the extension's owner may read or write.
 *   'read'     the merge of every shard's rows: for a caller who may read
 *              the model (the registry's row-level security, as the caller)
 *   'compact'  first merge each shard's rows into one (each shard in its
 *              own worker's transaction, so a reader sees every shard whole)
 *   'refit'    first fit each shard afresh, writers locked out meanwhile
 *   'attach'   as 'read', for attach, whose shards the extension's owner
 *              has just written (Citus runs a transaction's queries on a
 *              shard through one connection per user: so the read is as
 *              the user who wrote)
 * For all but 'read' the caller must be allowed to change the model.
 */
PG_FUNCTION_INFO_V1(flinkml_shard_state);

Datum
flinkml_shard_state(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *op = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model)};
	bool		isnull;
	Datum		d;
	char	   *table;
	Datum		result = (Datum) 0;
	bool		result_null = true;
	Oid			reader = flinkml_extension_owner();

	if (strcmp(op, "read") != 0 && strcmp(op, "compact") != 0 && strcmp(op, "refit") != 0 &&
		strcmp(op, "attach") != 0)
		elog(ERROR, "flinkml._shard_state: unknown operation \"%s\"", op);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "flinkml: SPI_connect failed");
	if (strcmp(op, "read") == 0)
	{
		/* as the caller: the model must be one the caller may read */
		if (SPI_execute_with_args("SELECT m.shard_state, m.owner::pg_catalog.oid FROM flinkml.models m "
								  "WHERE m.name OPERATOR(pg_catalog.=) $1",
								  1, types, values, NULL, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("flinkml: model \"%s\" does not exist", model)));
		/*
		 * The model's owner reads its state table as itself (it holds
		 * SELECT on it): Citus runs a transaction's queries on a shard
		 * through one connection per user, so a read as another role after
		 * the owner's own writes in the same transaction would be refused.
		 */
		reader = is_member_of_role(GetUserId(),
								   DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
																  &isnull)))
			? GetUserId() : flinkml_extension_owner();
	}
	else
	{
		(void) gate_model(model);
		flinkml_spi_as(flinkml_extension_owner(),
					   "SELECT m.shard_state FROM flinkml.models m WHERE m.name OPERATOR(pg_catalog.=) $1",
					   1, types, values, NULL, true);
	}
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("flinkml: model \"%s\" is not attached to a Citus distributed table", model)));
	table = TextDatumGetCString(d);
	if (strcmp(op, "compact") == 0)
		run_privileged("SELECT flinkml._shard_compact($1)", model);
	else if (strcmp(op, "refit") == 0)
		run_privileged("SELECT flinkml._shard_refill($1)", model);
	{
		Datum		tv[1] = {CStringGetTextDatum(table)};

		if (flinkml_spi_as(reader, "SELECT flinkml._shard_merge($1)", 1, types, tv, NULL,
						   strcmp(op, "read") == 0) == 1)
		{
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &result_null);
			if (!result_null)
				result = SPI_datumTransfer(d, false, -1);
		}
	}
	SPI_finish();
	if (result_null)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}
