/*
 * expanded_state.c — the running state of a fit aggregate as a PostgreSQL
 * "expanded object": the flat linreg_state plus a batch of rows (core
 * lr_batch) that is folded into it in blocks, the fast path of the fit.
 *
 * Why an expanded object: a batch holds rows the flat state does not show
 * yet, so whoever reads the state must fold them in first.  The executor
 * reads a transition value only through the methods below whenever it
 * needs the flat bytes (a final function detoasting its argument, a partial
 * aggregate sending its state to the leader, a datumCopy), so the state is
 * always seen complete, and the value's type stays linreg_state.  Folding
 * in the batch when the flat size is asked for changes the representation,
 * never the value, which is what expanded objects allow (see
 * src/include/utils/expandeddatum.h).
 *
 * A plain aggregate adopts the object as its transition value without
 * copying it when it is a read-write expanded object whose memory context
 * is a child of the aggregate context (ExecAggTransReparent).  Window
 * aggregates are left flat (aggregates.c): they remove rows too and call the
 * final function at every row.
 */
#include "flinkml.h"

#include "utils/expandeddatum.h"
#include "utils/memutils.h"

static Size es_get_flat_size(ExpandedObjectHeader *eohptr);
static void es_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

const ExpandedObjectMethods flinkml_es_methods = {
	es_get_flat_size,
	es_flatten_into
};

/* Fold the batch into the flat state: the state then holds every row. */
void
flinkml_es_drain(ExpandedLrState *es)
{
	lr_batch_drain(es->batch, es->state);
}

static Size
es_get_flat_size(ExpandedObjectHeader *eohptr)
{
	ExpandedLrState *es = (ExpandedLrState *) eohptr;

	flinkml_es_drain(es);
	return lr_state_size(es->state->nfeat);
}

static void
es_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ExpandedLrState *es = (ExpandedLrState *) eohptr;
	Size		size = es_get_flat_size(eohptr);

	if (allocated_size != size)
		elog(ERROR, "flinkml: expanded linreg_state flattened into %zu bytes, needs %zu",
			 allocated_size, size);
	memcpy(result, es->state, size);
	SET_VARSIZE(result, size);
}

/* When the state's context goes (its group is done), one state fewer alive. */
static void
es_forget(void *arg)
{
	(*(int *) arg)--;
}

/*
 * A new expanded state in a context of its own under parent, holding a copy
 * of s (which stays the caller's; it has a feature count the batch takes,
 * 0 .. LR_BATCH_MAX_FEATURES) and a batch.  *alive counts it until its
 * context is deleted.
 */
ExpandedLrState *
flinkml_es_new(MemoryContext parent, const LrState *s, int *alive)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "flinkml linreg_state",
											  ALLOCSET_SMALL_SIZES);
	ExpandedLrState *es = MemoryContextAlloc(cxt, sizeof(ExpandedLrState));
	MemoryContextCallback *cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	MemoryContext old;

	Assert(s->nfeat >= 0 && s->nfeat <= LR_BATCH_MAX_FEATURES);
	EOH_init_header(&es->hdr, &flinkml_es_methods, cxt);
	cb->func = es_forget;
	cb->arg = alive;
	MemoryContextRegisterResetCallback(cxt, cb);
	(*alive)++;
	old = MemoryContextSwitchTo(cxt);
	es->state = flinkml_copy_state(s);
	es->batch = palloc(lr_batch_size(s->nfeat));
	lr_batch_init(es->batch, s->nfeat);
	MemoryContextSwitchTo(old);
	return es;
}

