/*
 * lr_state.c — adding, removing and merging rows of the regression state.
 * See lr_state.h for what the state holds and why.
 */
#include "lr_state.h"
#include "dd.h"

#include <math.h>
#include <string.h>

/* The row update is the hot loop of every fit: LR_HOT (dd.h) clones it for FMA. */

size_t
lr_state_size(int nfeat)
{
	size_t		d = (size_t) (nfeat + 1);

	return offsetof(LrState, data) + sizeof(double) * (3 * d + 2 * lr_tri_len((int) d));
}

void
lr_state_init(LrState *s, int nfeat, int intercept)
{
	size_t		size = lr_state_size(nfeat);

	memset(s, 0, size);
	s->version = LR_STATE_VERSION;
	s->intercept = intercept ? 1 : 0;
	s->nfeat = nfeat;
}

/* Zero every sum and the weight; keep the dimensions and the skip count. */
static void
reset_sums(LrState *s)
{
	int			d = lr_dim(s);

	s->rows = 0;
	s->wsum_hi = 0.0;
	s->wsum_lo = 0.0;
	s->logw_hi = 0.0;
	s->logw_lo = 0.0;
	memset(s->data, 0, sizeof(double) * (3 * (size_t) d + 2 * lr_tri_len(d)));
}

/*
 * Fold w * u u^T into the packed triangle and w * u into the sums, where
 * u = z - K is held exactly as uh + ul (TwoSum).  Each product
 * w*u_i*u_j is formed to about 2^-106 relative (the exact product of the
 * high parts by FMA, plus the cross terms with the low parts) and added
 * with TwoSum: the float64 sum goes to hi and every rounding error to lo,
 * as in Ogita, Rump & Oishi's Dot2.
 */
static inline __attribute__((always_inline)) void
accumulate_d(LrState *s, const double *restrict uh, const double *restrict ul, double w, int d)
{
	double	   *restrict sum_hi = lr_sum_hi(s);
	double	   *restrict sum_lo = lr_sum_lo(s);
	double	   *restrict hi = lr_cross_hi(s);
	double	   *restrict lo = lr_cross_lo(s);

	for (int i = 0; i < d; i++)
	{
		/* a = w * u_i as ah + al */
		double		ah = w * uh[i];
		double		al = fma(w, ul[i], fma(w, uh[i], -ah));
		double		t = sum_hi[i] + ah;
		double		bb = t - sum_hi[i];
		const double *restrict vh = uh + i;
		const double *restrict vl = ul + i;
		int			len = d - i;

		sum_lo[i] += al + ((sum_hi[i] - (t - bb)) + (ah - bb));
		sum_hi[i] = t;

		for (int k = 0; k < len; k++)
		{
			double		p = ah * vh[k];
			double		e = fma(al, vh[k], fma(ah, vl[k], fma(ah, vh[k], -p)));
			double		sk = hi[k] + p;
			double		bk = sk - hi[k];

			lo[k] += e + ((hi[k] - (sk - bk)) + (p - bk));
			hi[k] = sk;
		}
		hi += len;
		lo += len;
	}
}

/*
 * The update with the feature count known at compile time for small fits,
 * so that the short rows of the triangle unroll into straight vector code;
 * with a count known only at run time the loops spend their time in alias
 * checks and scalar tails.
 */
LR_HOT static void
accumulate(LrState *s, const double *restrict uh, const double *restrict ul, double w)
{
	switch (lr_dim(s))
	{
#define SMALL(D) case D: accumulate_d(s, uh, ul, w, D); return;
			SMALL(1) SMALL(2) SMALL(3) SMALL(4) SMALL(5) SMALL(6) SMALL(7) SMALL(8)
			SMALL(9) SMALL(10) SMALL(11) SMALL(12) SMALL(13) SMALL(14) SMALL(15) SMALL(16)
#undef SMALL
		default:
			accumulate_d(s, uh, ul, w, lr_dim(s));
	}
}

/* W += sign * w and L += sign * log w. */
static void
add_weight(LrState *s, double w, double sign)
{
	dd			t = dd_add_d(dd_make(s->wsum_hi, s->wsum_lo), sign * w);

	s->wsum_hi = t.hi;
	s->wsum_lo = t.lo;
	if (w != 1.0)
	{
		t = dd_add_d(dd_make(s->logw_hi, s->logw_lo), sign * log(w));
		s->logw_hi = t.hi;
		s->logw_lo = t.lo;
	}
}

/*
 * u = z - K for the row [x, y], exactly, as uh + ul; the shift is taken
 * from the row when the state is empty.
 */
static void
centre_row(LrState *s, double y, const double *x, double *uh, double *ul)
{
	int			p = s->nfeat;
	double	   *K = lr_shift(s);

	if (s->rows == 0 && s->intercept)
	{
		if (p > 0)
			memcpy(K, x, sizeof(double) * (size_t) p);
		K[p] = y;
	}
	/* TwoSum, written out so that the loop vectorises */
	for (int j = 0; j < p; j++)
	{
		double		h = x[j] - K[j];
		double		b = h - x[j];

		uh[j] = h;
		ul[j] = (x[j] - (h - b)) + (-K[j] - b);
	}
	{
		dd			u = dd_two_sum(y, -K[p]);

		uh[p] = u.hi;
		ul[p] = u.lo;
	}
}

void
lr_state_add_row(LrState *s, double y, const double *x, double w)
{
	double		uh[LR_MAX_FEATURES + 1];
	double		ul[LR_MAX_FEATURES + 1];

	if (w == 0.0)
		return;
	centre_row(s, y, x, uh, ul);
	accumulate(s, uh, ul, w);
	add_weight(s, w, 1.0);
	s->rows++;
}

void
lr_state_remove_row(LrState *s, double y, const double *x, double w)
{
	double		uh[LR_MAX_FEATURES + 1];
	double		ul[LR_MAX_FEATURES + 1];

	if (w == 0.0 || s->rows == 0)
		return;
	if (s->rows == 1)
	{
		/* the last row leaves: the state is empty, exactly */
		reset_sums(s);
		return;
	}
	centre_row(s, y, x, uh, ul);
	accumulate(s, uh, ul, -w);
	add_weight(s, w, -1.0);
	s->rows--;
}

int
lr_state_compatible(const LrState *a, const LrState *b, const char **why)
{
	if (a->nfeat >= 0 && b->nfeat >= 0 && a->nfeat != b->nfeat)
	{
		*why = "feature counts differ";
		return 0;
	}
	if (a->intercept != b->intercept)
	{
		*why = "one state fits an intercept and the other does not";
		return 0;
	}
	return 1;
}

static inline dd
get(const double *hi, const double *lo, size_t k)
{
	return dd_two_sum(hi[k], lo[k]);
}

static inline void
put(double *hi, double *lo, size_t k, dd v)
{
	hi[k] = v.hi;
	lo[k] = v.lo;
}

/*
 * a += sign * b, where a and b hold rows and share nfeat.  b's sums are
 * re-expressed around a's shift first: with delta = K_b - K_a,
 *   sum_a(b)   = sum_b + W_b delta
 *   cross_a(b) = cross_b + delta sum_b^T + sum_b delta^T + W_b delta delta^T
 * all in double-double.
 */
LR_HOT static void
combine(LrState *a, const LrState *b, double sign)
{
	int			d = lr_dim(a);
	const double *Ka = lr_cshift(a);
	const double *Kb = lr_cshift(b);
	double	   *ash = lr_sum_hi(a),
			   *asl = lr_sum_lo(a);
	const double *bsh = lr_csum_hi(b),
			   *bsl = lr_csum_lo(b);
	double	   *ach = lr_cross_hi(a),
			   *acl = lr_cross_lo(a);
	const double *bch = lr_ccross_hi(b),
			   *bcl = lr_ccross_lo(b);
	dd			Wb = dd_two_sum(b->wsum_hi, b->wsum_lo);
	dd			delta[LR_MAX_FEATURES + 1];
	dd			bsum[LR_MAX_FEATURES + 1];
	dd			W;
	size_t		k = 0;

	if (sign < 0)
		Wb = dd_neg(Wb);
	for (int j = 0; j < d; j++)
	{
		delta[j] = dd_two_sum(Kb[j], -Ka[j]);
		bsum[j] = get(bsh, bsl, (size_t) j);
		if (sign < 0)
			bsum[j] = dd_neg(bsum[j]);
	}
	for (int i = 0; i < d; i++)
	{
		dd			v = get(ash, asl, (size_t) i);

		v = dd_add(v, dd_add(bsum[i], dd_mul(Wb, delta[i])));
		put(ash, asl, (size_t) i, v);
	}
	for (int i = 0; i < d; i++)
	{
		for (int j = i; j < d; j++, k++)
		{
			dd			c = get(bch, bcl, k);
			dd			v = get(ach, acl, k);

			if (sign < 0)
				c = dd_neg(c);
			if (delta[i].hi != 0.0 || delta[j].hi != 0.0)
			{
				c = dd_add(c, dd_mul(delta[i], bsum[j]));
				c = dd_add(c, dd_mul(bsum[i], delta[j]));
				c = dd_add(c, dd_mul(Wb, dd_mul(delta[i], delta[j])));
			}
			put(ach, acl, k, dd_add(v, c));
		}
	}
	W = dd_add(dd_two_sum(a->wsum_hi, a->wsum_lo), Wb);
	a->wsum_hi = W.hi;
	a->wsum_lo = W.lo;
	W = dd_add(dd_two_sum(a->logw_hi, a->logw_lo),
			   dd_make(sign * b->logw_hi, sign * b->logw_lo));
	a->logw_hi = W.hi;
	a->logw_lo = W.lo;
}

int
lr_state_merge(LrState *a, const LrState *b)
{
	if (b->nfeat < 0 || b->rows == 0)
	{
		a->skipped += b->skipped;
		return 0;
	}
	/* b's rows need a block of b's size: the caller must copy b instead */
	if (a->nfeat != b->nfeat || a->intercept != b->intercept)
		return -1;
	if (a->rows == 0)
	{
		int64_t		skipped = a->skipped + b->skipped;
		int32_t		len = a->vl_len_;

		memcpy(a, b, lr_state_size(b->nfeat));
		a->vl_len_ = len;		/* the container's word is not ours */
		a->skipped = skipped;
		return 0;
	}
	combine(a, b, 1.0);
	a->rows += b->rows;
	a->skipped += b->skipped;
	return 0;
}

int
lr_state_subtract(LrState *a, const LrState *b)
{
	int64_t		rows = a->rows - (b->nfeat < 0 ? 0 : b->rows);
	int64_t		skipped = a->skipped - b->skipped;

	if (rows < 0 || skipped < 0)
		return -1;
	if (b->nfeat >= 0 && b->rows > 0 && (a->nfeat != b->nfeat || a->intercept != b->intercept))
		return -1;
	if (b->nfeat >= 0 && b->rows > 0)
	{
		if (rows == 0)
			reset_sums(a);
		else
			combine(a, b, -1.0);
	}
	a->rows = rows;
	a->skipped = skipped;
	return 0;
}

/*
 * Below this a sum of squares may have lost its value to underflow (values
 * near 1e-154 and smaller square to subnormals), so the inequalities
 * between sums are not checked there.
 */
#define LR_CHECK_TINY 1e-280

const char *
lr_state_check(const LrState *s, size_t nbytes)
{
	int			d;
	size_t		m;
	dd			W;

	if (nbytes < offsetof(LrState, data))
		return "too short for a linreg_state header";
	if (s->version != LR_STATE_VERSION)
		return "unknown linreg_state version";
	if (s->intercept > 1 || s->reserved != 0 || s->reserved2 != 0)
		return "malformed linreg_state header";
	if (s->nfeat < -1 || s->nfeat > LR_MAX_FEATURES)
		return "feature count out of range";
	if (nbytes != lr_state_size(s->nfeat))
		return "size does not match the feature count";
	if (s->rows < 0 || s->skipped < 0)
		return "negative row count";
	if (!isfinite(s->wsum_hi) || !isfinite(s->wsum_lo) ||
		!isfinite(s->logw_hi) || !isfinite(s->logw_lo))
		return "weight sum is not finite";
	W = dd_two_sum(s->wsum_hi, s->wsum_lo);
	if (s->nfeat < 0)
		return (s->rows == 0 && W.hi == 0.0 && s->logw_hi == 0.0) ? NULL : "a state without features cannot hold rows";
	d = lr_dim(s);
	m = 3 * (size_t) d + 2 * lr_tri_len(d);
	for (size_t k = 0; k < m; k++)
		if (!isfinite(s->data[k]))
			return "a sum is not finite";
	if (s->rows == 0)
	{
		if (W.hi != 0.0 || s->logw_hi != 0.0 || s->logw_lo != 0.0)
			return "an empty state has a nonzero weight sum";
		for (size_t k = 0; k < m; k++)
			if (s->data[k] != 0.0)
				return "an empty state has nonzero sums";
		return NULL;
	}
	if (!(W.hi > 0.0))
		return "weight sum is not positive";
	for (int j = 0; j < d; j++)
	{
		size_t		kk = lr_tri_index(d, j, j);
		dd			c = get(lr_ccross_hi(s), lr_ccross_lo(s), kk);
		dd			t = get(lr_csum_hi(s), lr_csum_lo(s), (size_t) j);

		if (!s->intercept && lr_cshift(s)[j] != 0.0)
			return "a state without intercept has a nonzero shift";
		/* Cauchy-Schwarz: |sum w u| <= sqrt(W) sqrt(sum w u^2) */
		if (c.hi < 0.0 ||
			(c.hi > LR_CHECK_TINY && fabs(t.hi) > sqrt(W.hi) * sqrt(c.hi) * (1.0 + 1e-9)))
			return "sums of squares are inconsistent (negative variance)";
	}
	/* and between columns: (sum w u_i u_j)^2 <= sum w u_i^2 * sum w u_j^2 */
	for (int i = 0; i < d; i++)
	{
		double		cii = lr_ccross_hi(s)[lr_tri_index(d, i, i)];

		for (int j = i + 1; j < d; j++)
		{
			double		cij = lr_ccross_hi(s)[lr_tri_index(d, i, j)];
			double		cjj = lr_ccross_hi(s)[lr_tri_index(d, j, j)];

			if (cii > LR_CHECK_TINY && cjj > LR_CHECK_TINY &&
				fabs(cij) > sqrt(cii) * sqrt(cjj) * (1.0 + 1e-9))
				return "cross products are inconsistent (correlation above 1)";
		}
	}
	return NULL;
}
