/*
 * flinkml.h — shared declarations of the PostgreSQL glue.  The glue converts
 * Datums and calls the numerical core in src/core/, which knows nothing of
 * PostgreSQL.
 */
#ifndef FLINKML_H
#define FLINKML_H

#include "postgres.h"
#include "fmgr.h"

#include "core/lr_batch.h"
#include "core/lr_model.h"
#include "core/lr_state.h"
#include "utils/expandeddatum.h"

/* Detoasted (and so 4-byte-header, aligned) values of our two types. */
#define DatumGetLrStateP(d)		((LrState *) PG_DETOAST_DATUM(d))
#define PG_GETARG_LRSTATE_P(n)	DatumGetLrStateP(PG_GETARG_DATUM(n))
#define DatumGetLrModelP(d)		((LrModel *) PG_DETOAST_DATUM(d))
#define PG_GETARG_LRMODEL_P(n)	DatumGetLrModelP(PG_GETARG_DATUM(n))

/* A new empty state in the current memory context, length word set. */
extern LrState *flinkml_new_state(int nfeat, int intercept);
/* A copy of s (as a value of its own, length word set) in the current context. */
extern LrState *flinkml_copy_state(const LrState *s);
/*
 * Solve s into a new model (least squares, or ridge with lambda > 0); NULL
 * when s holds no row.  Errors are reported.
 */
extern LrModel *flinkml_solve(const LrState *s, double tol, double lambda);
/* A feature argument of type float8, float4, int2/4/8 or numeric as a double. */
extern double flinkml_numeric_arg(Oid type, Datum d, int argno);
/*
 * The feature arguments of a VARIADIC "any" call (arguments first ..
 * nargs-1): their types, looked up once per query.
 */
typedef struct FeatureArgs
{
	int			first;
	int			nargs;
	int			argno_offset;	/* SQL argument number = fcinfo index + this */
	bool		all_float8;		/* the common case: no conversion per row */
	Oid			types[FLEXIBLE_ARRAY_MEMBER];
} FeatureArgs;

/* Look the feature arguments up (allocated in fn_mcxt); refuses a VARIADIC array call. */
extern void *flinkml_fn_extra(FunctionCallInfo fcinfo, Size size, MemoryContext *cxt);
extern FeatureArgs *flinkml_feature_args(FunctionCallInfo fcinfo, int first, int argno_offset,
										 const char *what);

/* Read the features into x; false when one of them is NULL. */
static inline bool
flinkml_read_features(FunctionCallInfo fcinfo, const FeatureArgs *fa, double *x)
{
	for (int i = fa->first; i < fa->nargs; i++)
	{
		if (PG_ARGISNULL(i))
			return false;
		x[i - fa->first] = fa->all_float8 ? DatumGetFloat8(PG_GETARG_DATUM(i))
			: flinkml_numeric_arg(fa->types[i - fa->first], PG_GETARG_DATUM(i), i + fa->argno_offset);
	}
	return true;
}
/* Binary forms of a state, shared by linreg_state and linreg. */
struct StringInfoData;
extern void flinkml_state_send(struct StringInfoData *buf, const LrState *s);
extern LrState *flinkml_state_recv(struct StringInfoData *buf);
/*
 * The model argument d with its header and coefficients readable (the
 * state may not be), decoded once per query: cached in fn_extra, which the
 * caller must not use otherwise.
 */
extern const LrModel *flinkml_model_arg(FunctionCallInfo fcinfo, Datum d);
/* Errors for a non-finite y or x[j], or a negative or non-finite weight. */
extern void flinkml_check_row_values(double y, const double *x, int n, double w);
/* A model's coefficients as float8[], intercept first, NULL for aliased terms. */
extern Datum flinkml_coef_array(const LrModel *m);
/* The planner hook that passes ARRAY[...] features as columns (planner.c). */
extern void flinkml_install_planner_hook(void);
extern bool flinkml_is_citus_relation(Oid relid);
/* Raise the error for an LR_* result code from the core. */
extern void *flinkml_palloc_huge(size_t size);
/* Raise an error naming why a and b cannot be merged. */
extern void flinkml_check_compatible(const LrState *a, const LrState *b, const char *what);
extern void flinkml_core_error(int rc, const char *what) pg_attribute_noreturn();

/*
 * The running state of a plain fit aggregate once it has rows enough: an
 * expanded object (expanded_state.c) holding the flat state and a batch of
 * rows not yet folded into it.
 */
typedef struct ExpandedLrState
{
	ExpandedObjectHeader hdr;
	LrState    *state;			/* flat; lacks the rows in batch until drained */
	LrBatch    *batch;			/* rows not yet folded into state */
} ExpandedLrState;

/*
 * A new expanded state holding a copy of s, in a new child context of
 * parent; *alive is incremented, and decremented when the context goes.
 */
extern ExpandedLrState *flinkml_es_new(MemoryContext parent, const LrState *s, int *alive);
extern const ExpandedObjectMethods flinkml_es_methods;

/* The expanded state behind a read-write datum, or NULL for a flat value. */
static inline ExpandedLrState *
flinkml_es_from_datum(Datum d)
{
	ExpandedObjectHeader *eoh;
	varatt_expanded ptr;

	if (!VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)))
		return NULL;
	/* what DatumGetEOHP(d) does, without a call per row */
	memcpy(&ptr, VARDATA_EXTERNAL(DatumGetPointer(d)), sizeof(ptr));
	eoh = ptr.eohptr;
	if (eoh->eoh_methods != &flinkml_es_methods)
		elog(ERROR, "flinkml: a linreg_state transition value is not a flinkml expanded state");
	return (ExpandedLrState *) eoh;
}

/* Its read-write datum. */
static inline Datum
flinkml_es_datum(ExpandedLrState *es)
{
	return EOHPGetRWDatum(&es->hdr);
}
/* Fold the batch into es->state. */
extern void flinkml_es_drain(ExpandedLrState *es);

#endif							/* FLINKML_H */
