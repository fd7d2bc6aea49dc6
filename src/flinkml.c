/*
 * flinkml.c — module entry point and helpers shared by the glue.
 */
#include "flinkml.h"

#include <dlfcn.h>

#include "miscadmin.h"

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "core/lr_codec.h"
#include "core/lr_solve.h"
#include "follower.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Backends are forked processes: a BLAS that runs threads must not.  Debian's
 * reference LAPACK/BLAS (what the Makefile links) is single-threaded; if the
 * system's alternatives point libblas at OpenBLAS, ask it for one thread.
 */
void
_PG_init(void)
{
	void		(*set_threads) (int) = (void (*) (int)) dlsym(RTLD_DEFAULT, "openblas_set_num_threads");

	if (set_threads)
		set_threads(1);

	/*
	 * The digits of the exact text forms from PostgreSQL's Ryu (what
	 * float8out uses) instead of printf and strtod: the same text (see
	 * lr_codec.h), about 30 times faster, which counts where states travel
	 * as text (Citus ships every shard's state to the coordinator so).
	 */
	lr_shortest_hook = double_to_shortest_decimal_buf;
	flinkml_install_planner_hook();
	flinkml_define_follower_settings();
	if (process_shared_preload_libraries_in_progress)
		flinkml_register_launcher();
}

LrState *
flinkml_new_state(int nfeat, int intercept)
{
	Size		size = lr_state_size(nfeat);
	LrState    *s = palloc(size);

	lr_state_init(s, nfeat, intercept);
	SET_VARSIZE(s, size);
	return s;
}

LrState *
flinkml_copy_state(const LrState *s)
{
	Size		size = lr_state_size(s->nfeat);
	LrState    *c = palloc(size);

	memcpy(c, s, size);
	SET_VARSIZE(c, size);
	return c;
}

void
flinkml_core_error(int rc, const char *what)
{
	switch (rc)
	{
		case LR_ENOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("%s: out of memory", what)));
			break;
		case LR_EOVERFLOW:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s: the sums or the coefficients overflow or underflow float8", what),
					 errhint("Rescale the data: squares of values beyond 1e150 overflow, of values below 1e-150 underflow.")));
			break;
		case LR_EBADLAMBDA:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: lambda must be a finite number >= 0", what)));
			break;
		case LR_ENOROWS:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("%s: the model's state cannot be factored over its kept features", what)));
			break;
		case LR_EBADTOL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: tolerance must be in [0, 1)", what)));
			break;
		default:
			elog(ERROR, "%s: internal error %d", what, rc);
	}
	pg_unreachable();
}

LrModel *
flinkml_solve(const LrState *s, double tol, double lambda)
{
	Size		size;
	LrModel    *m;
	int			rc;

	if (s->nfeat < 0 || s->rows == 0)
		return NULL;
	size = lr_model_size(s->nfeat, s->intercept);
	m = palloc(size);
	rc = lr_model_build(m, s, tol, lambda);
	if (rc != LR_OK)
		flinkml_core_error(rc, "linreg_solve");
	SET_VARSIZE(m, size);
	return m;
}

/* Feature value of argument i of a type we accept; the cast is the SQL one. */
double
flinkml_numeric_arg(Oid type, Datum d, int argno)
{
	switch (type)
	{
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case FLOAT4OID:
			return (double) DatumGetFloat4(d);
		case INT2OID:
			return (double) DatumGetInt16(d);
		case INT4OID:
			return (double) DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("flinkml: feature argument %d has type %s; features must be float8, float4, integer or numeric",
							argno, format_type_be(type))));
	}
	return 0.0;					/* not reached */
}

FeatureArgs *
flinkml_feature_args(FunctionCallInfo fcinfo, int first, int argno_offset, const char *what)
{
	int			nargs = PG_NARGS();
	FeatureArgs *fa;

	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s: pass the features as an array, float8[], or as separate arguments, not as VARIADIC", what)));
	fa = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt,
							offsetof(FeatureArgs, types) + sizeof(Oid) * (nargs - first + 1));
	fa->first = first;
	fa->argno_offset = argno_offset;
	fa->nargs = nargs;
	fa->all_float8 = true;
	for (int i = first; i < nargs; i++)
	{
		fa->types[i - first] = get_fn_expr_argtype(fcinfo->flinfo, i);
		if (fa->types[i - first] != FLOAT8OID)
			fa->all_float8 = false;
	}
	return fa;
}

/*
 * Memory a function keeps for one call site (what fn_extra holds), zeroed
 * the first time, and the context to allocate more of it in.  Citus's
 * worker_partial_agg calls transition functions through a FmgrInfo it makes
 * for every row, without the call's expression (fn_expr, which the executor
 * always sets): such a call's memory is kept in the aggregate context
 * instead, found again by that context, the function and the size, and
 * forgotten when the context is reset.  (The fit aggregates' sites,
 * aggregates.c, and the diagnostics' model caches live here.)
 */
typedef struct CallExtra
{
	MemoryContext ctx;
	Oid			fn;
	Size		size;
	MemoryContextCallback cb;
	struct CallExtra *next;
	/* the caller's memory follows, MAXALIGNed */
} CallExtra;

static CallExtra *call_extras = NULL;

static void
call_extra_forget(void *arg)
{
	for (CallExtra **p = &call_extras; *p != NULL; p = &(*p)->next)
		if (*p == (CallExtra *) arg)
		{
			*p = (*p)->next;
			return;
		}
}

void *
flinkml_fn_extra(FunctionCallInfo fcinfo, Size size, MemoryContext *cxt)
{
	MemoryContext agg;
	CallExtra  *e;

	if (fcinfo->flinfo->fn_extra != NULL)
	{
		*cxt = fcinfo->flinfo->fn_mcxt;
		return fcinfo->flinfo->fn_extra;
	}
	if (fcinfo->flinfo->fn_expr != NULL || !AggCheckCallContext(fcinfo, &agg))
	{
		*cxt = fcinfo->flinfo->fn_mcxt;
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(*cxt, size);
		return fcinfo->flinfo->fn_extra;
	}
	*cxt = agg;
	for (e = call_extras; e != NULL; e = e->next)
		if (e->ctx == agg && e->fn == fcinfo->flinfo->fn_oid && e->size == size)
			return (char *) e + MAXALIGN(sizeof(CallExtra));
	e = MemoryContextAllocZero(agg, MAXALIGN(sizeof(CallExtra)) + size);
	e->ctx = agg;
	e->fn = fcinfo->flinfo->fn_oid;
	e->size = size;
	e->cb.func = call_extra_forget;
	e->cb.arg = e;
	MemoryContextRegisterResetCallback(agg, &e->cb);
	e->next = call_extras;
	call_extras = e;
	return (char *) e + MAXALIGN(sizeof(CallExtra));
}
