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
 * The column form of flinkml's aggregate aggfnoid, or InvalidOid.  Looked up
 * in the catalog directly: a name lookup would check the user's USAGE on the
 * schema, which running the aggregate (say, through a view) does not need.
 * And only when both carry the same owner and privileges, so that the
 * executor's EXECUTE check on the column form is the check the user's call
 * would have met, for whichever role runs the plan.
 */
static Oid
column_form(Oid aggfnoid)
{
	char	   *name = get_func_name(aggfnoid);
	const char *cols;
	Oid			ext;
	Oid			argtypes[2] = {FLOAT8OID, ANYOID};
	Oid			result;

	if (name == NULL)
		return InvalidOid;
	if (strcmp(name, "linreg_fit") == 0)
		cols = "linreg_fit_cols";
	else if (strcmp(name, "linreg_state") == 0)
		cols = "linreg_state_cols";
	else
		return InvalidOid;
	ext = get_extension_oid("flinkml", true);
	if (!OidIsValid(ext) || getExtensionOfObject(ProcedureRelationId, aggfnoid) != ext)
		return InvalidOid;
	result = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(cols),
							 PointerGetDatum(buildoidvector(argtypes, 2)),
							 ObjectIdGetDatum(get_func_namespace(aggfnoid)));
	if (!OidIsValid(result) || getExtensionOfObject(ProcedureRelationId, result) != ext ||
		!same_privileges(aggfnoid, result))
		return InvalidOid;
	return result;
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

static PlannedStmt *
flinkml_planner(Query *parse, const char *query_string, int cursorOptions, ParamListInfo boundParams)
{
	/* the planner owns parse and may scribble on it: so may we */
	if (rewrite_array_args)
		(void) query_tree_walker(parse, rewrite_walker, NULL, 0);
	if (prev_planner_hook)
		return prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
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
