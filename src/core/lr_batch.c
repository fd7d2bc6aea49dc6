/*
 * lr_batch.c — blocks of rows folded into a state.  See lr_batch.h.
 */
#include "lr_batch.h"
#include "dd.h"

#include <math.h>
#include <string.h>

#define B LR_BATCH_ROWS

static inline size_t
pairs(int m)
{
	return (size_t) m * (size_t) (m + 1) / 2;
}

/* The arrays in mem[], in order. */
static inline double *
col_uh(LrBatch *b)
{
	return b->mem;
}
static inline double *
col_ul(LrBatch *b)
{
	return b->mem + (size_t) b->m * B;
}
static inline double *
col_ah(LrBatch *b)
{
	return b->mem + 2 * (size_t) b->m * B;
}
static inline double *
col_al(LrBatch *b)
{
	return b->mem + 3 * (size_t) b->m * B;
}
static inline double *
acc_hi(LrBatch *b)
{
	return b->mem + 4 * (size_t) b->m * B;
}
static inline double *
acc_lo(LrBatch *b)
{
	return acc_hi(b) + pairs(b->m) * B;
}

size_t
lr_batch_size(int nfeat)
{
	int			m = nfeat + 2;

	return offsetof(LrBatch, mem) + sizeof(double) * (4 * (size_t) m * B + 2 * pairs(m) * B);
}

void
lr_batch_init(LrBatch *b, int nfeat)
{
	memset(b, 0, lr_batch_size(nfeat));
	b->m = nfeat + 2;
}

/*
 * Fold the open block (all B rows; unused rows have zero factors) into the
 * partial sums: entry (i, j) keeps one partial sum per row slot r, and adds
 * p = a_i v_j of the block's row r to it, the product exact as p + e (FMA,
 * plus the cross terms of the low parts) and the sum by TwoSum, the rounding
 * error going to lo, as in lr_state.c.  The slots are independent, so the
 * loop over r is a plain vector loop, and a_i stays in registers over j.
 */
static inline __attribute__((always_inline)) void
fold_pair(double *restrict hi, double *restrict lo,
		  const double *restrict ah, const double *restrict al,
		  const double *restrict vh, const double *restrict vl)
{
	for (int r = 0; r < B; r++)
	{
		double		a = ah[r];
		double		p = a * vh[r];
		double		e = fma(al[r], vh[r], fma(a, vl[r], fma(a, vh[r], -p)));
		double		s = hi[r] + p;
		double		bb = s - hi[r];

		lo[r] += e + ((hi[r] - (s - bb)) + (p - bb));
		hi[r] = s;
	}
}

LR_HOT static void
fold_block(LrBatch *b)
{
	const int	m = b->m;
	const double *vh = col_uh(b);
	const double *vl = col_ul(b);
	const double *ah = b->weighted ? col_ah(b) : vh;
	const double *al = b->weighted ? col_al(b) : vl;
	double	   *hi = acc_hi(b);
	double	   *lo = acc_lo(b);

	for (int i = 0; i < m; i++)
		for (int j = i; j < m; j++)
		{
			fold_pair(hi, lo, ah + (size_t) i * B, al + (size_t) i * B,
					  vh + (size_t) j * B, vl + (size_t) j * B);
			hi += B;
			lo += B;
		}
}

/* Close the open block: zero the factors of its unused rows, fold it. */
static void
close_block(LrBatch *b)
{
	if (b->count == 0)
		return;
	for (int c = 0; c < b->m; c++)
		for (int r = b->count; r < B; r++)
		{
			size_t		k = (size_t) c * B + (size_t) r;

			col_uh(b)[k] = 0.0;
			col_ul(b)[k] = 0.0;
			col_ah(b)[k] = 0.0;
			col_al(b)[k] = 0.0;
		}
	fold_block(b);
	b->count = 0;
	b->weighted = 0;
}

/* The open block gets a weighted row: its earlier rows had w = 1, so a = u. */
static void
start_weighting(LrBatch *b)
{
	for (int c = 0; c < b->m; c++)
	{
		size_t		k = (size_t) c * B;

		memcpy(col_ah(b) + k, col_uh(b) + k, sizeof(double) * (size_t) b->count);
		memcpy(col_al(b) + k, col_ul(b) + k, sizeof(double) * (size_t) b->count);
	}
	b->weighted = 1;
}

/* 1 when every x[j] is a value the state can hold: one branch-free pass. */
static inline int
values_ok(const double *restrict x, int n)
{
	int			ok = 1;

	for (int j = 0; j < n; j++)
		ok &= fabs(x[j]) <= LR_MAX_ABS; /* false for NaN too */
	return ok;
}

/*
 * Row r of the block: u = z - K exactly (TwoSum, written out so that it
 * vectorises), column j + 1 for x[j]; column 0 is the constant 1.
 */
static inline void
centre_into(double *restrict uh, double *restrict ul, int r,
			const double *restrict x, const double *restrict K, int p)
{
	uh[r] = 1.0;
	ul[r] = 0.0;
	uh += B;
	ul += B;
	for (int j = 0; j < p; j++)
	{
		double		h = x[j] - K[j];
		double		bb = h - x[j];

		uh[(size_t) j * B + r] = h;
		ul[(size_t) j * B + r] = (x[j] - (h - bb)) + (-K[j] - bb);
	}
}

/*
 * Check the row and put it into row r of the block; 0, or -1 (nothing
 * changed) for a bad value.  Inlined with the feature count known at
 * compile time for the small counts, so that the short loops unroll.
 */
static inline __attribute__((always_inline)) int
take_row(LrBatch *b, LrState *s, double y, const double *x, double w, int p)
{
	const int	r = b->count;
	double	   *K = lr_shift(s);
	double	   *uh = col_uh(b);
	double	   *ul = col_ul(b);

	if (!(values_ok(x, p) & (fabs(y) <= LR_MAX_ABS) & (w >= 0.0) & (w < HUGE_VAL)))
		return -1;
	if (w == 0.0)
		return 0;
	if (s->rows == 0 && b->rows == 0 && s->intercept)
	{
		if (p > 0)
			memcpy(K, x, sizeof(double) * (size_t) p);
		K[p] = y;
	}
	centre_into(uh, ul, r, x, K, p);
	{
		dd			u = dd_two_sum(y, -K[p]);

		uh[(size_t) (p + 1) * B + r] = u.hi;
		ul[(size_t) (p + 1) * B + r] = u.lo;
	}
	return 1;
}

LR_HOT int
lr_batch_add_row(LrBatch *b, LrState *s, double y, const double *x, double w)
{
	const int	r = b->count;
	int			rc;

	switch (s->nfeat)
	{
#define SMALL(P) case P: rc = take_row(b, s, y, x, w, P); break;
			SMALL(0) SMALL(1) SMALL(2) SMALL(3) SMALL(4) SMALL(5) SMALL(6) SMALL(7) SMALL(8)
			SMALL(9) SMALL(10) SMALL(11) SMALL(12)
#undef SMALL
		default:
			rc = take_row(b, s, y, x, w, s->nfeat);
	}
	if (rc <= 0)
		return rc;

	if (w != 1.0)
	{
		dd			t = dd_add_d(dd_make(b->logw_hi, b->logw_lo), log(w));

		b->logw_hi = t.hi;
		b->logw_lo = t.lo;
		if (!b->weighted)
			start_weighting(b);
	}
	if (b->weighted)
	{
		double	   *uh = col_uh(b);
		double	   *ul = col_ul(b);
		double	   *ah = col_ah(b);
		double	   *al = col_al(b);

		for (int c = 0; c < b->m; c++)
		{
			size_t		k = (size_t) c * B + (size_t) r;
			double		h = w * uh[k];

			ah[k] = h;
			al[k] = fma(w, ul[k], fma(w, uh[k], -h));
		}
	}

	b->rows++;
	if (++b->count == B)
	{
		fold_block(b);
		b->count = 0;
		b->weighted = 0;
	}
	return 0;
}

/* hi + lo of x += v */
static inline void
add_to(double *hi, double *lo, dd v)
{
	dd			t = dd_add(dd_two_sum(*hi, *lo), v);

	*hi = t.hi;
	*lo = t.lo;
}

void
lr_batch_drain(LrBatch *b, LrState *s)
{
	const int	m = b->m;
	const int	d = lr_dim(s);
	double	   *hi;
	double	   *lo;
	size_t		k = 0;

	if (b->rows == 0)
		return;
	close_block(b);
	hi = acc_hi(b);
	lo = acc_lo(b);
	for (int i = 0; i < m; i++)
		for (int j = i; j < m; j++, k++)
		{
			dd			v = dd_two_sum(hi[k * B], lo[k * B]);

			for (int r = 1; r < B; r++)
				v = dd_add(v, dd_two_sum(hi[k * B + r], lo[k * B + r]));
			if (i == 0 && j == 0)
				add_to(&s->wsum_hi, &s->wsum_lo, v);
			else if (i == 0)
				add_to(&lr_sum_hi(s)[j - 1], &lr_sum_lo(s)[j - 1], v);
			else
			{
				size_t		t = lr_tri_index(d, i - 1, j - 1);

				add_to(&lr_cross_hi(s)[t], &lr_cross_lo(s)[t], v);
			}
		}
	add_to(&s->logw_hi, &s->logw_lo, dd_make(b->logw_hi, b->logw_lo));
	s->rows += b->rows;
	memset(hi, 0, sizeof(double) * 2 * pairs(m) * B);
	b->rows = 0;
	b->logw_hi = 0.0;
	b->logw_lo = 0.0;
}
