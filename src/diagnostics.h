/*
 * diagnostics.h — the per-query cache of a model's diagnostic factor
 * (src/core/lr_diag.h), shared by the glue of intervals, robust standard
 * errors, influence and the residual tests.
 */
#ifndef FLINKML_DIAGNOSTICS_H
#define FLINKML_DIAGNOSTICS_H

#include "flinkml.h"
#include "miscadmin.h"
#include "core/lr_diag.h"

typedef struct DiagCache
{
	Size		rawsize;
	char	   *raw;			/* the model argument's raw bytes (its identity) */
	LrModel    *model;			/* detoasted copy */
	LrDiag		diag;			/* malloc'd by the core; freed with the context */
	bool		ready;
	int			generation;		/* incremented whenever another model is loaded */
	uint64		hash;			/* of the detoasted model's bytes (hash_bytes_extended, seed 0) */
	dd		   *scratch;		/* [k + 1] */
} DiagCache;

/*
 * The diagnostic factor of the model argument d, computed once and kept in
 * a cache allocated in ctx (freed when ctx is reset or deleted); *slot holds
 * the cache between calls (fn_extra, or a field of an aggregate state).
 * Refuses ridge models.
 */
extern DiagCache *flinkml_diag_cache(void **slot, MemoryContext ctx, Datum d, const char *what);

/*
 * Several models per query: the cache among slots[0..FLINKML_DIAG_SLOTS-1]
 * that holds the model d, or a rebuilt one (round robin, next); the slot
 * that matched last is tried first (last).  A join
 * that gives each row its group's model interleaves models row by row.
 */
#define FLINKML_DIAG_SLOTS 8
typedef struct DiagSlots
{
	void	   *slot[FLINKML_DIAG_SLOTS];
	int			next;
	int			last;			/* the slot that matched or was loaded last */
	bool		registered;		/* robust.c: its reset callback is in place */
} DiagSlots;
extern DiagCache *flinkml_diag_cache_multi(DiagSlots *slots, MemoryContext ctx, Datum d, const char *what);

/*
 * The core's long loops stop when this returns nonzero (an interrupt is
 * pending and may be processed); the caller then runs CHECK_FOR_INTERRUPTS
 * and, if that returns, calls the core again (FLINKML_DIAG_RETRY).
 */
extern int	flinkml_diag_tick(void);
#define FLINKML_DIAG_RETRY(rc, call) \
	do { (rc) = (call); if ((rc) == LR_EINTERRUPTED) CHECK_FOR_INTERRUPTS(); } while ((rc) == LR_EINTERRUPTED)

#endif							/* FLINKML_DIAGNOSTICS_H */
