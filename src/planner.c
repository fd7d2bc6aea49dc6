/*
 * planner.c — a planner hook that passes the features of
 *   linreg_fit(y, ARRAY[x1, ..., xn])     and   linreg_state(y, ARRAY[...])
 * to the aggregate as separate arguments instead:
 *   linreg_fit_cols(y, x1, ..., xn)       and   linreg_state_cols(y, ...)
 *
 * Why: an ARRAY[...] argument is built by the executor as a new array for
 * every row, which costs more than the fit itself (with 10 features,
 * count(ARRAY[x1, ..., x10]) takes about 2.4 times regr_slope(y, x1) on the
 * benchmark table).  The column form reads the same values straight from
 * the row.  The two forms are the same aggregate: the same transition state
 * and rows in the same order, NULL elements skip the row in both, and a
 * non-finite value is reported as the same x[i], so the results are
 * identical to the bit.  (When the element expressions themselves fail on
 * one row in several places, say a division by zero and an overflow, the
 * array form evaluates them all before casting any, and the column form
 * evaluates and casts one at a time: the error reported can differ.)
 *
 * Only an array constructor of float8 elements (the parser has already
 * coerced them), or of integer, float4 or numeric elements cast as a whole
 * to float8[] (each element then gets the same cast), in a plain call of flinkml's two-argument linreg_fit or
 * linreg_state is rewritten: no DISTINCT or ORDER BY inside the call, at most
 * 98 elements (an aggregate takes at most 99 arguments), not the window
 * form; and only when the user's function and its column form have the
 * same owner and privileges.  The hook works once the flinkml library is
 * loaded in the session (by the first call of any flinkml function, or from
 * the start with shared_preload_libraries or session_preload_libraries); the
 * setting flinkml.rewrite_array_args turns it off for plans made after it.
 */
#include "flinkml.h"

#include <dlfcn.h>

#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "catalog/dependency.h"
#include "commands/extension.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

static planner_hook_type prev_planner_hook = NULL;
static bool rewrite_array_args = true;

/* An aggregate takes at most FUNC_MAX_ARGS - 1 arguments: y and 98 features. */
#define MAX_COL_FEATURES (FUNC_MAX_ARGS - 2)

/* pg_proc's owner and privileges of a function: equal for both, the same checks. */
static bool
same_privileges(Oid a, Oid b)
{
	HeapTuple	ta = SearchSysCache1(PROCOID, ObjectIdGetDatum(a));
	HeapTuple	tb = SearchSysCache1(PROCOID, ObjectIdGetDatum(b));
	bool		same = false;

	if (HeapTupleIsValid(ta) && HeapTupleIsValid(tb))
	{
		bool		nulla,
					nullb;
		Datum		acla = SysCacheGetAttr(PROCOID, ta, Anum_pg_proc_proacl, &nulla);
		Datum		aclb = SysCacheGetAttr(PROCOID, tb, Anum_pg_proc_proacl, &nullb);

		same = ((Form_pg_proc) GETSTRUCT(ta))->proowner == ((Form_pg_proc) GETSTRUCT(tb))->proowner &&
			nulla == nullb &&
			(nulla || datumIsEqual(acla, aclb, false, -1));
	}
	if (HeapTupleIsValid(ta))
		ReleaseSysCache(ta);
	if (HeapTupleIsValid(tb))
		ReleaseSysCache(tb);
	return same;
}

/*
 * The function name(argtypes) of flinkml in the schema of flinkml's function
 * like, or InvalidOid.  Looked up in the catalog directly: a name lookup
 * would check the user's USAGE on the schema, which running the original
 * call (say, through a view) does not need.  And only when both carry the
 * same owner and privileges, so that the executor's EXECUTE check on the
 * replacement is the check the user's call would have met, for whichever
 * role runs the plan.
 */
static Oid
sibling_function(Oid like, const char *name, Oid *argtypes, int nargs)
{
	Oid			ext = get_extension_oid("flinkml", true);
	Oid			result;

	if (!OidIsValid(ext) || getExtensionOfObject(ProcedureRelationId, like) != ext)
		return InvalidOid;
	result = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(name),
							 PointerGetDatum(buildoidvector(argtypes, nargs)),
							 ObjectIdGetDatum(get_func_namespace(like)));
	if (!OidIsValid(result) || getExtensionOfObject(ProcedureRelationId, result) != ext ||
		!same_privileges(like, result))
		return InvalidOid;
	return result;
}

/* The column form of flinkml's aggregate aggfnoid, or InvalidOid. */
static Oid
column_form(Oid aggfnoid)
{
	char	   *name = get_func_name(aggfnoid);
	Oid			argtypes[2] = {FLOAT8OID, ANYOID};

	if (name == NULL)
		return InvalidOid;
	if (strcmp(name, "linreg_fit") == 0)
		return sibling_function(aggfnoid, "linreg_fit_cols", argtypes, 2);
	if (strcmp(name, "linreg_state") == 0)
		return sibling_function(aggfnoid, "linreg_state_cols", argtypes, 2);
	return InvalidOid;
}

/*
 * The array constructor behind a float8[] argument: ARRAY[...] of float8
 * elements, or (*cast set) ARRAY[...] of integer, float4 or numeric elements
 * cast to float8[] as a whole, which is what the parser makes of
 * ARRAY[int_column, ...].  NULL otherwise.
 */
static ArrayExpr *
float8_array_constructor(Node *x, bool *cast)
{
	ArrayExpr  *arr;

	*cast = false;
	if (IsA(x, ArrayCoerceExpr) && ((ArrayCoerceExpr *) x)->resulttype == FLOAT8ARRAYOID)
	{
		x = (Node *) ((ArrayCoerceExpr *) x)->arg;
		*cast = true;
	}
	if (!IsA(x, ArrayExpr))
		return NULL;
	arr = (ArrayExpr *) x;
	if (arr->multidims)
		return NULL;
	if (*cast)
	{
		switch (arr->element_typeid)
		{
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case FLOAT4OID:
			case NUMERICOID:
				return arr;
			default:
				return NULL;
		}
	}
	return arr->element_typeid == FLOAT8OID ? arr : NULL;
}

/* Rewrite agg in place when it is linreg_fit/linreg_state(y, ARRAY[...]). */
static void
rewrite_aggref(Aggref *agg)
{
	TargetEntry *y;
	TargetEntry *x;
	ArrayExpr  *arr;
	bool		cast;
	Oid			cols;
	List	   *args;
	List	   *types;
	AttrNumber	resno = 2;
	ListCell   *lc;

	if (agg->aggkind != AGGKIND_NORMAL || agg->aggorder != NIL || agg->aggdistinct != NIL ||
		agg->aggstar || agg->aggvariadic || list_length(agg->args) != 2 ||
		list_length(agg->aggargtypes) != 2 ||
		linitial_oid(agg->aggargtypes) != FLOAT8OID || lsecond_oid(agg->aggargtypes) != FLOAT8ARRAYOID)
		return;
	y = linitial_node(TargetEntry, agg->args);
	x = lsecond_node(TargetEntry, agg->args);
	if (y->resjunk || x->resjunk)
		return;
	arr = float8_array_constructor((Node *) x->expr, &cast);
	if (arr == NULL || list_length(arr->elements) < 1 || list_length(arr->elements) > MAX_COL_FEATURES)
		return;
	cols = column_form(agg->aggfnoid);
	if (!OidIsValid(cols))
		return;

	args = list_make1(y);
	types = list_make1_oid(FLOAT8OID);
	foreach(lc, arr->elements)
	{
		Node	   *e = (Node *) lfirst(lc);

		/* each element cast as the array cast would have cast it */
		if (cast)
			e = coerce_to_target_type(NULL, e, exprType(e), FLOAT8OID, -1,
									  COERCION_IMPLICIT, COERCE_IMPLICIT_CAST, -1);
		if (e == NULL || exprType(e) != FLOAT8OID)
			return;				/* not what the parser makes; leave the call alone */
		args = lappend(args, makeTargetEntry((Expr *) e, resno++, NULL, false));
		types = lappend_oid(types, FLOAT8OID);
	}
	agg->aggfnoid = cols;
	agg->args = args;
	agg->aggargtypes = types;
}

static bool
rewrite_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, rewrite_walker, context, 0);
	if (IsA(node, Aggref))
		rewrite_aggref((Aggref *) node);
	return expression_tree_walker(node, rewrite_walker, context);
}

/*
 * Citus.  A query over a Citus table is planned by Citus, whose planner
 * hook runs inside ours (flinkml's library is always loaded after Citus's,
 * which must come first in shared_preload_libraries).  Citus runs a custom
 * aggregate as worker_partial_agg(aggregate, args) on the shards and
 * coord_combine_agg on the coordinator; that wrapper calls our transition
 * function without the call's expression, so it can check and pass only
 * arguments of the aggregate's declared types: the column forms, VARIADIC
 * "any", cannot work there.  And Citus runs the expressions of the target
 * list on the workers, whose registries do not hold the coordinator's
 * models.  So in a query over a Citus table:
 *   - linreg_fit/linreg_state(y, ARRAY[...]) are left as they are, and the
 *     user's linreg_fit_cols/linreg_state_cols(y, x1, ...) become
 *     linreg_fit/linreg_state(y, ARRAY[x1::float8, ...]): the same rows, the
 *     same casts (the column forms read every feature type through the SQL
 *     cast to float8), the same state;
 *   - linreg_predict(name, x) becomes linreg_predict(<the model>, x), the
 *     model looked up once, here, with the caller's rights: the model a
 *     query sees is the one current when it is planned, as linreg_predict by
 *     name looks it up once per query.  The plan depends on the registry's
 *     tables, so a cached plan is replanned when a model's versions change
 *     (flinkml._invalidate_plans).
 * Citus's IsCitusTable() is found by symbol: PostgreSQL loads libraries
 * with RTLD_GLOBAL, and without Citus loaded no table is a Citus table.
 */
typedef bool (*IsCitusTableFn) (Oid relid);

static bool
is_citus_table(Oid relid)
{
	static IsCitusTableFn fn = NULL;
	static bool looked = false;

	if (!looked)
	{
		fn = (IsCitusTableFn) dlsym(RTLD_DEFAULT, "IsCitusTable");
		looked = true;
	}
	return fn != NULL && fn(relid);
}

/* For the rest of flinkml: whether relid is a Citus table (false without Citus). */
bool
flinkml_is_citus_relation(Oid relid)
{
	return is_citus_table(relid);
}

static bool
citus_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		return rte->rtekind == RTE_RELATION && is_citus_table(rte->relid);
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, citus_walker, context, QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, citus_walker, context);
}

/* Whether the query reads or writes a Citus table anywhere. */
static bool
uses_citus_table(Query *parse)
{
	return citus_walker((Node *) parse, NULL);
}

/* linreg_fit_cols/linreg_state_cols(y, x1, ...) -> linreg_fit/linreg_state(y, ARRAY[...]) */
static void
array_form_aggref(Aggref *agg)
{
	char	   *name;
	const char *target;
	Oid			argtypes[2] = {FLOAT8OID, FLOAT8ARRAYOID};
	Oid			fn;
	ArrayExpr  *arr;
	List	   *elems = NIL;
	ListCell   *lc;

	if (agg->aggkind != AGGKIND_NORMAL || agg->aggorder != NIL || agg->aggdistinct != NIL ||
		agg->aggstar || agg->aggvariadic || list_length(agg->args) < 2 ||
		linitial_oid(agg->aggargtypes) != FLOAT8OID)
		return;
	name = get_func_name(agg->aggfnoid);
	if (name == NULL)
		return;
	if (strcmp(name, "linreg_fit_cols") == 0)
		target = "linreg_fit";
	else if (strcmp(name, "linreg_state_cols") == 0)
		target = "linreg_state";
	else
		return;
	fn = sibling_function(agg->aggfnoid, target, argtypes, 2);
	if (!OidIsValid(fn))
		return;
	for_each_from(lc, agg->args, 1)
	{
		TargetEntry *te = lfirst_node(TargetEntry, lc);
		Node	   *e = (Node *) te->expr;
		Oid			t = exprType(e);

		if (te->resjunk)
			return;
		switch (t)
		{
			case FLOAT8OID:
			case FLOAT4OID:
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case NUMERICOID:
				break;
			default:
				return;			/* the column form reports the type */
		}
		if (t != FLOAT8OID)
			e = coerce_to_target_type(NULL, e, t, FLOAT8OID, -1,
									  COERCION_EXPLICIT, COERCE_EXPLICIT_CAST, -1);
		if (e == NULL)
			return;
		elems = lappend(elems, e);
	}
	arr = makeNode(ArrayExpr);
	arr->array_typeid = FLOAT8ARRAYOID;
	arr->array_collid = InvalidOid;
	arr->element_typeid = FLOAT8OID;
	arr->elements = elems;
	arr->multidims = false;
	arr->location = -1;
	agg->aggfnoid = fn;
	agg->args = list_make2(linitial(agg->args),
						   makeTargetEntry((Expr *) arr, 2, NULL, false));
	agg->aggargtypes = list_make2_oid(FLOAT8OID, FLOAT8ARRAYOID);
}

/* linreg_predict(name, x) -> linreg_predict(<model>, x); false if it is not that call */
static bool
fold_predict_by_name(FuncExpr *f)
{
	char	   *name;
	Oid			argtypes[2];
	Oid			model_type;
	Oid			fn;
	Oid			lookup;
	Const	   *c;
	Node	   *arg;
	Datum		model;
	LOCAL_FCINFO(fcinfo, 1);
	FmgrInfo	flinfo;

	if (list_length(f->args) != 2 || exprType(linitial(f->args)) != TEXTOID ||
		exprType(lsecond(f->args)) != FLOAT8ARRAYOID)
		return false;
	name = get_func_name(f->funcid);
	if (name == NULL || strcmp(name, "linreg_predict") != 0)
		return false;
	model_type = get_func_rettype(f->funcid) == FLOAT8OID ?
		GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("linreg"),
						ObjectIdGetDatum(get_func_namespace(f->funcid))) : InvalidOid;
	if (!OidIsValid(model_type))
		return false;
	argtypes[0] = model_type;
	argtypes[1] = FLOAT8ARRAYOID;
	fn = sibling_function(f->funcid, "linreg_predict", argtypes, 2);
	if (!OidIsValid(fn))
		return false;

	arg = linitial(f->args);
	if (!IsA(arg, Const))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("linreg_predict: over a Citus table the model's name must be a constant"),
				 errdetail("Citus evaluates the call on its workers, which do not hold the coordinator's registry; "
						   "flinkml looks the model up when the query is planned.")));
	c = (Const *) arg;
	if (c->constisnull)
		model = (Datum) 0;
	else
	{
		/* flinkml.current_model(name), in the schema "flinkml", with the caller's rights */
		Oid			ct[1] = {TEXTOID};
		Oid			nsp = get_namespace_oid("flinkml", false);

		lookup = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum("current_model"),
								 PointerGetDatum(buildoidvector(ct, 1)), ObjectIdGetDatum(nsp));
		if (!OidIsValid(lookup) ||
			getExtensionOfObject(ProcedureRelationId, lookup) != get_extension_oid("flinkml", false))
			elog(ERROR, "flinkml: flinkml.current_model(text) is missing");
		fmgr_info(lookup, &flinfo);
		InitFunctionCallInfoData(*fcinfo, &flinfo, 1, InvalidOid, NULL, NULL);
		fcinfo->args[0].value = c->constvalue;
		fcinfo->args[0].isnull = false;
		model = FunctionCallInvoke(fcinfo);
		if (fcinfo->isnull)
			model = (Datum) 0;
	}
	f->funcid = fn;
	linitial(f->args) = makeConst(model_type, -1, InvalidOid, -1, model, model == (Datum) 0, false);
	return true;
}

static bool
citus_rewrite_walker(Node *node, bool *folded)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, citus_rewrite_walker, folded, 0);
	if (IsA(node, Aggref))
		array_form_aggref((Aggref *) node);
	else if (IsA(node, FuncExpr) && fold_predict_by_name((FuncExpr *) node))
		*folded = true;
	return expression_tree_walker(node, citus_rewrite_walker, folded);
}

/*
 * A plan with a folded model depends on the registry: its relations go into
 * the plan's dependencies, so flinkml._invalidate_plans() replans it.
 */
static void
depend_on_registry(PlannedStmt *stmt)
{
	Oid			nsp = get_namespace_oid("flinkml", true);
	const char *rels[] = {"models", "versions"};

	if (!OidIsValid(nsp))
		return;
	for (int i = 0; i < lengthof(rels); i++)
	{
		Oid			r = get_relname_relid(rels[i], nsp);

		if (OidIsValid(r))
			stmt->relationOids = lappend_oid(stmt->relationOids, r);
	}
}

PG_FUNCTION_INFO_V1(flinkml_is_citus_table);
PG_FUNCTION_INFO_V1(flinkml_invalidate_plans);

/* flinkml._is_citus_table(regclass) */
Datum
flinkml_is_citus_table(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(is_citus_table(PG_GETARG_OID(0)));
}

/* Statement trigger on flinkml.models: replan the plans that folded a model in. */
Datum
flinkml_invalidate_plans(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "flinkml._invalidate_plans: not called as a trigger");
	CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
	return PointerGetDatum(NULL);
}

static PlannedStmt *
flinkml_planner(Query *parse, const char *query_string, int cursorOptions, ParamListInfo boundParams)
{
	bool		folded = false;
	PlannedStmt *stmt;

	/* the planner owns parse and may scribble on it: so may we */
	if (uses_citus_table(parse))
		(void) query_tree_walker(parse, citus_rewrite_walker, &folded, 0);
	else if (rewrite_array_args)
		(void) query_tree_walker(parse, rewrite_walker, NULL, 0);
	if (prev_planner_hook)
		stmt = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	else
		stmt = standard_planner(parse, query_string, cursorOptions, boundParams);
	if (folded)
		depend_on_registry(stmt);
	return stmt;
}

void
flinkml_install_planner_hook(void)
{
	DefineCustomBoolVariable("flinkml.rewrite_array_args",
							 "Pass the elements of ARRAY[...] in linreg_fit and linreg_state as separate arguments.",
							 "The same aggregate without building an array per row.",
							 &rewrite_array_args, true, PGC_USERSET, 0, NULL, NULL, NULL);
	prev_planner_hook = planner_hook;
	planner_hook = flinkml_planner;
}
