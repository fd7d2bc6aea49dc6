/*
 * lr_state.h — the sufficient statistics of a linear regression: the state
 * every flinkml aggregate, model and stream shares.
 *
 * Plain C, no PostgreSQL header.  The state is one contiguous block so that
 * it can be the payload of a PostgreSQL varlena as it is: the first four
 * bytes are reserved for the container's length word and never read here.
 *
 * What it holds, for rows z = [x_1 .. x_p, y] with weights w > 0:
 *
 *   W          = sum w                              (double-double)
 *   L          = sum log w (0 for unweighted rows)  (double-double)
 *   K_j        = a fixed per-column shift: the first row added
 *                (0 for fits without intercept)
 *   sum_j      = sum w (z_j - K_j)                  (double-double)
 *   cross_ij   = sum w (z_i - K_i)(z_j - K_j)       (double-double, i <= j,
 *                                                    packed upper triangle)
 *
 * z_j - K_j is held exactly (TwoSum gives it as a double-double) and every
 * product and sum is carried in double-double (exact products by FMA, TwoSum
 * accumulation), so the state is exact to about 2^-106 relative whatever the
 * shift, and removing a row (a delete, an update's old values, a row leaving
 * a window frame) subtracts what adding it added.  The means and the centred
 * co-moments follow from these when the model is solved:
 *   mean_j = K_j + sum_j / W,   C_ij = cross_ij - sum_i sum_j / W.
 *
 * Sums are kept as separate hi and lo arrays (not interleaved) so the row
 * update is a straight loop over contiguous memory that the compiler
 * vectorises.
 */
#ifndef FLINKML_LR_STATE_H
#define FLINKML_LR_STATE_H

#include <stddef.h>
#include <stdint.h>

#define LR_STATE_VERSION 1

/*
 * The largest feature count.  The state of p features holds
 * (p+1)(p+2)/2 double-doubles: 32 MB at 2000 features, and its exact text
 * form about 50 MB, comfortably under PostgreSQL's 1 GB value limit.
 */
#define LR_MAX_FEATURES 2000

/*
 * The largest magnitude of an input value: its square, summed over many
 * rows, stays far from float64's limit (1.8e308).
 */
#define LR_MAX_ABS 1e150

/* A value the state can hold: finite and at most LR_MAX_ABS in magnitude. */
static inline int
lr_value_ok(double v)
{
	return v >= -LR_MAX_ABS && v <= LR_MAX_ABS;
}

typedef struct LrState
{
	int32_t		vl_len_;		/* reserved for the container's length word */
	uint8_t		version;		/* LR_STATE_VERSION */
	uint8_t		intercept;		/* 1: fit with intercept; 0: through the origin */
	uint16_t	reserved;		/* 0 */
	int32_t		nfeat;			/* p; -1 while no row has been seen */
	int32_t		reserved2;		/* 0 */
	int64_t		rows;			/* rows with positive weight */
	int64_t		skipped;		/* rows skipped because of a NULL */
	double		wsum_hi;		/* W */
	double		wsum_lo;
	double		logw_hi;		/* sum of log w, for the weighted log-likelihood */
	double		logw_lo;
	double		data[];			/* shift[d], sum_hi[d], sum_lo[d],
								 * cross_hi[m], cross_lo[m]; d = p + 1,
								 * m = d(d+1)/2 */
} LrState;

/* Dimensions and accessors. */
static inline int
lr_dim(const LrState *s)
{
	return s->nfeat + 1;
}

static inline size_t
lr_tri_len(int d)
{
	return (size_t) d * (size_t) (d + 1) / 2;
}

/* Index of (i, j), i <= j, in the packed upper triangle of a d x d matrix. */
static inline size_t
lr_tri_index(int d, int i, int j)
{
	return (size_t) i * (size_t) d - (size_t) i * (size_t) (i - 1) / 2 + (size_t) (j - i);
}

size_t		lr_state_size(int nfeat);

static inline double *lr_shift(LrState *s)
{
	return s->data;
}
static inline double *lr_sum_hi(LrState *s)
{
	return s->data + lr_dim(s);
}
static inline double *lr_sum_lo(LrState *s)
{
	return s->data + 2 * lr_dim(s);
}
static inline double *lr_cross_hi(LrState *s)
{
	return s->data + 3 * lr_dim(s);
}
static inline double *lr_cross_lo(LrState *s)
{
	return s->data + 3 * lr_dim(s) + lr_tri_len(lr_dim(s));
}
static inline const double *lr_cshift(const LrState *s)
{
	return s->data;
}
static inline const double *lr_csum_hi(const LrState *s)
{
	return s->data + lr_dim(s);
}
static inline const double *lr_csum_lo(const LrState *s)
{
	return s->data + 2 * lr_dim(s);
}
static inline const double *lr_ccross_hi(const LrState *s)
{
	return s->data + 3 * lr_dim(s);
}
static inline const double *lr_ccross_lo(const LrState *s)
{
	return s->data + 3 * lr_dim(s) + lr_tri_len(lr_dim(s));
}

/*
 * Initialise an empty state in a zeroed or uninitialised block of
 * lr_state_size(nfeat) bytes (nfeat = -1 for "no row seen yet", which needs
 * lr_state_size(-1) bytes and holds only the counts).
 */
void		lr_state_init(LrState *s, int nfeat, int intercept);

/*
 * Add (sign = +1) or remove (sign = -1) one row: y, x[0..p-1], weight w > 0.
 * The caller has checked that the values are finite and w >= 0; a row of
 * weight 0 changes nothing.  Removing a row leaves the state as if it had
 * never been added, up to double-double rounding; a state whose row count
 * returns to zero is reset to exact zeros.
 */
void		lr_state_add_row(LrState *s, double y, const double *x, double w);
void		lr_state_remove_row(LrState *s, double y, const double *x, double w);

/*
 * a += b, or a -= b.  Returns 0, or -1 (a unchanged) when b holds rows and
 * a does not have b's feature count and intercept flag (an a with
 * nfeat = -1 is too small for b's rows: copy b and add a's skip count
 * instead), or when subtracting would leave a negative count.
 */
int			lr_state_merge(LrState *a, const LrState *b);
int			lr_state_subtract(LrState *a, const LrState *b);

/* 1 when a and b can be merged; otherwise 0 and a reason in *why. */
int			lr_state_compatible(const LrState *a, const LrState *b, const char **why);

/*
 * Check a state read from outside (text, binary, a table): sizes, version,
 * counts, finiteness, consistency.  Returns NULL when valid, or a message
 * naming the first problem.
 */
const char *lr_state_check(const LrState *s, size_t nbytes);

#endif							/* FLINKML_LR_STATE_H */
