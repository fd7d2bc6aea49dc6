/*
 * lr_batch.h — rows taken in blocks and folded into a state by a kernel
 * that vectorises across rows: the fast path of the fit aggregates.
 *
 * Plain C, no PostgreSQL header.
 *
 * lr_state_add_row() folds one row into the packed triangle at a time: each
 * entry's double-double sum is loaded, updated and stored for every row, and
 * the short rows of a small triangle leave vector lanes idle.  A batch
 * instead collects LR_BATCH_ROWS centred rows, column by column, and folds
 * the block into per-entry partial sums, one per row slot of the block: the
 * kernel's loop runs over the rows of the block, which fill every vector
 * lane whatever the feature count, and each column's factors stay in
 * registers while they multiply the other columns.
 *
 * The row is augmented with a leading constant column, [1, u] with
 * u = z - K as in lr_state.h, and weighted on the left: entry (i, j) of the
 * triangle sums w a_i a_j.  So entry (0, 0) is the weight sum W, entries
 * (0, j) are the sums of w u, and the rest is the cross-product triangle:
 * one kernel computes all of the state's sums.  Every product and sum is
 * carried in double-double exactly as in lr_state_add_row (exact products
 * by FMA, TwoSum accumulation), so a state fed through a batch equals one
 * fed row by row up to double-double rounding (the summation order
 * differs).  Where every sum is exact the values are equal, but not always
 * their split into hi and lo: the batch stores each sum normalised, the
 * row-by-row update keeps the running float64 sum in hi and the gathered
 * errors in lo.  So the text of two such states can differ.
 *
 * The batch belongs to one state: its shift is the state's, taken from the
 * first row when the state is empty.  lr_batch_drain() folds what the batch
 * holds into the state; until then the state does not show those rows.
 */
#ifndef FLINKML_LR_BATCH_H
#define FLINKML_LR_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "lr_state.h"

/* Rows per block, and so partial sums per entry of the triangle. */
#define LR_BATCH_ROWS 16

/*
 * The largest feature count a batch takes.  Beyond it the triangle's rows
 * are long enough for the row-by-row update to fill the vector lanes, and
 * the partial sums (LR_BATCH_ROWS times the triangle: 44 kB at 16
 * features) grow past the processor's fastest caches.
 */
#define LR_BATCH_MAX_FEATURES 16

typedef struct LrBatch
{
	int32_t		m;				/* columns of the augmented row: nfeat + 2 */
	int32_t		count;			/* rows in the open block */
	int32_t		weighted;		/* a row of the open block has weight != 1 */
	int32_t		reserved;
	int64_t		rows;			/* rows taken since the last drain */
	double		logw_hi;		/* their sum of log w */
	double		logw_lo;
	/*
	 * The open block, column-major (column c of row r at c * ROWS + r):
	 * u exactly as uh + ul, and w * u as ah + al when the block is weighted
	 * (otherwise the kernel reads u for both factors).  Then the partial
	 * sums, LR_BATCH_ROWS per entry of the augmented triangle, as hi and lo.
	 */
	double		mem[];
} LrBatch;

/* Bytes of a batch for nfeat features (0 <= nfeat <= LR_BATCH_MAX_FEATURES). */
size_t		lr_batch_size(int nfeat);

/* Initialise an empty batch in a block of lr_batch_size(nfeat) bytes. */
void		lr_batch_init(LrBatch *b, int nfeat);

/*
 * Take the row (y, x[0..nfeat-1], weight w) for the state s, whose feature
 * count is the batch's.  Returns 0; or -1 and changes nothing when y or an
 * x is not a value the state can hold (lr_value_ok) or w is negative or not
 * finite: the caller reports which.  A row of weight 0 changes nothing.
 */
int			lr_batch_add_row(LrBatch *b, LrState *s, double y, const double *x, double w);

/* Fold every row taken into s (sums, weights and row count); b is empty after. */
void		lr_batch_drain(LrBatch *b, LrState *s);

#endif							/* FLINKML_LR_BATCH_H */
