/*
 * lr_diag.c — leverage, intervals, sandwich standard errors, influence, VIF
 * and nested-model F tests in centred, whitened double-double coordinates.
 * See lr_diag.h.
 */
#include "lr_diag.h"
#include "lr_moments.h"
#include "lr_solve.h"
#include "lr_stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline size_t
rowp(int a)
{
	return (size_t) a * (size_t) (a + 1) / 2;
}

/* doubles in LrDiag.Lb for k kept features */
static size_t
block_size(int k)
{
	size_t		n = 0;

	for (int r = 0; r < k; r += 4)
		n += 4 * (size_t) (r + 4 < k ? r + 4 : k);
	return n;
}

/*
 * L^-1 (packed by rows) of the double-double Cholesky factor of the scaled
 * moments over kept[0..k-1].  Returns LR_OK, LR_ENOMEM or LR_ENOROWS.
 */
LR_HOT static int
inverse_factor(const LrMoments *mo, int *kept, int k, dd **Li_out, LrTick tick)
{
	size_t		tri = rowp(k);
	dd		   *L = malloc(sizeof(dd) * (tri > 0 ? tri : 1));
	dd		   *col = malloc(sizeof(dd) * (size_t) (k > 0 ? k : 1));
	dd		   *Li = calloc(tri > 0 ? tri : 1, sizeof(dd));
	int			kk = k;

	if (!L || !Li || !col)
	{
		free(L);
		free(Li);
		free(col);
		return LR_ENOMEM;
	}
	*Li_out = NULL;
	if (lr_cholesky_dd(mo, kept, &kk, -1.0, L, NULL) != 0 || kk != k)
	{
		free(L);
		free(col);
		free(Li);
		return LR_ENOROWS;
	}
	/* column c of L^-1 by forward substitution of e_c, stored into rows */
	for (int c = 0; c < k; c++)
	{
		if (tick && tick())
		{
			free(L);
			free(col);
			free(Li);
			return LR_EINTERRUPTED;
		}
		col[c] = dd_div(dd_from(1.0), L[rowp(c) + c]);
		for (int i = c + 1; i < k; i++)
		{
			const dd   *ri = L + rowp(i);

			col[i] = dd_neg(dd_div(dd_dot(ri + c, 1, col + c, 1, i - c), ri[i]));
		}
		for (int i = c; i < k; i++)
			Li[rowp(i) + c] = col[i];
	}
	free(L);
	free(col);
	*Li_out = Li;
	return LR_OK;
}

void
lr_diag_free(LrDiag *d)
{
	free(d->kept);
	free(d->scale);
	free(d->mean);
	free(d->Li);
	free(d->g);
	free(d->beta);
	free(d->Lh);
	free(d->mh);
	free(d->ml);
	free(d->bh);
	free(d->bl);
	free(d->zerr);
	free(d->Lb);
	free(d->zc);
	free(d->kp);
	free(d->rb);
	free(d->rbl);
	free(d->rm);
	free(d->rml);
	memset(d, 0, sizeof(*d));
}

int
lr_diag_init(LrDiag *d, const LrModel *m, LrTick tick)
{
	const LrState *s = lr_model_state(m);
	const unsigned char *al = lr_model_caliased(m);
	int			p = m->nfeat;
	int			icpt = m->intercept;
	size_t		pp = (size_t) (p > 0 ? p : 1);
	LrMoments	mo;
	dd		   *c = NULL;
	int			rc;

	memset(d, 0, sizeof(*d));
	rc = lr_moments_build(s, &mo);
	if (rc != LR_OK)
		return rc;
	d->p = p;
	d->icpt = icpt;
	d->nt = p + icpt;
	d->n = s->rows;
	d->W = mo.W;
	d->kept = malloc(sizeof(int) * pp);
	d->scale = malloc(sizeof(double) * pp);
	d->mean = malloc(sizeof(dd) * (size_t) (p + 1));
	d->g = calloc(pp, sizeof(dd));
	d->beta = calloc(pp, sizeof(dd));
	c = calloc(pp, sizeof(dd));
	if (!d->kept || !d->scale || !d->mean || !d->g || !d->beta || !c)
	{
		rc = LR_ENOMEM;
		goto fail;
	}
	memcpy(d->mean, mo.mean, sizeof(dd) * (size_t) (p + 1));
	for (int j = 0; j < p; j++)
	{
		d->scale[j] = 0.0;
		if (!al[icpt + j])
		{
			if (mo.scale[j] == 0.0)
			{
				rc = LR_ENOROWS;	/* kept by the model, constant here */
				goto fail;
			}
			d->scale[j] = mo.scale[j];
			d->kept[d->k++] = j;
		}
	}
	d->rank = d->k + icpt;
	rc = inverse_factor(&mo, d->kept, d->k, &d->Li, tick);
	if (rc != LR_OK)
		goto fail;

	/* c = L^-1 S Cxy (the whitened solution), g = L^-1 S m */
	for (int a = 0; a < d->k; a++)
	{
		const dd   *ra = d->Li + rowp(a);
		dd			vc = dd_from(0.0),
					vg = dd_from(0.0);

		for (int b = 0; b <= a; b++)
		{
			int			jb = d->kept[b];

			vc = dd_add(vc, dd_mul(ra[b], mo.b[jb]));
			if (icpt)
				vg = dd_add(vg, dd_mul(ra[b], dd_mul_d(mo.mean[jb], mo.scale[jb])));
		}
		c[a] = vc;
		d->g[a] = vg;
	}
	/*
	 * xs = L^-T c (the scaled solution), then two steps of refinement
	 * against the double-double moments: xs += L^-T L^-1 (b - A xs).
	 */
	{
		int			k = d->k;
		dd		   *xs = calloc((size_t) (k > 0 ? k : 1), sizeof(dd));
		dd		   *r = calloc((size_t) (k > 0 ? k : 1), sizeof(dd));
		dd		   *t = calloc((size_t) (k > 0 ? k : 1), sizeof(dd));

		if (!xs || !r || !t)
		{
			free(xs);
			free(r);
			free(t);
			rc = LR_ENOMEM;
			goto fail;
		}
		for (int it = 0; it < 3; it++)
		{
			const dd   *src = c;

			if (it > 0)
			{
				/* r = b - A xs;  t = L^-1 r */
				for (int a = 0; a < k; a++)
				{
					dd			acc = mo.b[d->kept[a]];

					for (int q = 0; q < k; q++)
						acc = dd_sub(acc, dd_mul(lr_moments_A(&mo, d->kept[a], d->kept[q]), xs[q]));
					r[a] = acc;
				}
				for (int a = 0; a < k; a++)
					t[a] = dd_dot(d->Li + rowp(a), 1, r, 1, a + 1);
				src = t;
			}
			for (int a = 0; a < k; a++)
			{
				dd			v = dd_from(0.0);

				for (int q = a; q < k; q++)
					v = dd_add(v, dd_mul(d->Li[rowp(q) + a], src[q]));
				xs[a] = it == 0 ? v : dd_add(xs[a], v);
			}
		}
		/* beta = S xs;  b0 = mean_y - m . beta */
		d->b0 = icpt ? mo.mean[p] : dd_from(0.0);
		for (int a = 0; a < k; a++)
		{
			int			j = d->kept[a];

			d->beta[j] = dd_mul_d(xs[a], mo.scale[j]);
			if (icpt)
				d->b0 = dd_sub(d->b0, dd_mul(d->beta[j], mo.mean[j]));
		}
		free(xs);
		free(r);
		free(t);
	}
	free(c);
	lr_moments_free(&mo);
	/* float64 copies for the fast path */
	d->Lh = malloc(sizeof(double) * (rowp(d->k) > 0 ? rowp(d->k) : 1));
	d->mh = malloc(sizeof(double) * (size_t) (p + 1));
	d->ml = malloc(sizeof(double) * (size_t) (p + 1));
	d->bh = malloc(sizeof(double) * pp);
	d->bl = malloc(sizeof(double) * pp);
	d->kb = (d->k + 3) / 4 * 4;
	d->zerr = calloc((size_t) d->kb + 1, sizeof(double));
	d->zc = calloc((size_t) d->kb + 1, sizeof(double));
	d->Lb = calloc(block_size(d->k) + 1, sizeof(double));
	d->kp = calloc((size_t) d->kb + 1, sizeof(int));
	d->rb = calloc((size_t) d->kb + 1, sizeof(double));
	d->rbl = calloc((size_t) d->kb + 1, sizeof(double));
	d->rm = calloc((size_t) d->kb + 1, sizeof(double));
	d->rml = calloc((size_t) d->kb + 1, sizeof(double));
	if (!d->Lh || !d->mh || !d->ml || !d->bh || !d->bl || !d->zerr || !d->zc || !d->Lb ||
		!d->kp || !d->rb || !d->rbl || !d->rm || !d->rml)
	{
		lr_diag_free(d);
		return LR_ENOMEM;
	}
	for (size_t i = 0; i < rowp(d->k); i++)
		d->Lh[i] = d->Li[i].hi;
	for (int j = 0; j <= p; j++)
	{
		d->mh[j] = d->mean[j].hi;
		d->ml[j] = d->mean[j].lo;
	}
	for (int j = 0; j < p; j++)
	{
		d->bh[j] = d->beta[j].hi;
		d->bl[j] = d->beta[j].lo;
	}
	d->invW = icpt ? dd_to_double(dd_div(dd_from(1.0), d->W)) : 0.0;
	if (icpt)
		for (int a = 0; a < d->k; a++)
			for (int b = 0; b <= a; b++)
				d->zerr[a] += fabs(d->Lh[rowp(a) + b]) * fabs(d->ml[d->kept[b]]) * d->scale[d->kept[b]];
	for (int a = 0; a < d->k; a++)
		d->zc[a] = (double) (a + 6) * 0x1p-53;
	/* the residual's copies over the kept features, padded with coefficient 0 */
	d->rerr = icpt ? fabs(d->ml[p]) : 0.0;
	for (int a = 0; a < d->kb; a++)
	{
		int			j = d->kept[a < d->k ? a : 0];

		d->kp[a] = j;
		d->rb[a] = a < d->k ? d->bh[j] : 0.0;
		d->rbl[a] = a < d->k ? d->bl[j] : 0.0;
		d->rm[a] = a < d->k && icpt ? d->mh[j] : 0.0;
		d->rml[a] = a < d->k && icpt ? d->ml[j] : 0.0;
		if (a < d->k && icpt)
			d->rerr += fabs(d->bh[j]) * fabs(d->ml[j]);
	}
	{
		double	   *c = d->Lb;

		for (int r = 0; r < d->kb; r += 4)
			for (int b = 0; b < (r + 4 < d->k ? r + 4 : d->k); b++, c += 4)
				for (int l = 0; l < 4; l++)
					if (r + l < d->k && b <= r + l)
						c[l] = d->Lh[rowp(r + l) + b];
	}
	d->df_resid = (double) d->n - d->rank;
	d->rss = lr_state_sse(s, m->coef, icpt);
	d->s2 = d->rss / d->df_resid;
	d->sigma = d->df_resid > 0 ? sqrt(d->s2) : NAN;
	return LR_OK;
fail:
	free(c);
	lr_moments_free(&mo);
	lr_diag_free(d);
	return rc;
}

LR_HOT dd
lr_diag_point(const LrDiag *d, const double *x, dd *z)
{
	int			k = d->k;
	dd			stackbuf[64];
	dd		   *u = k <= 64 ? stackbuf : malloc(sizeof(dd) * (size_t) k);
	dd			q = d->icpt ? dd_div(dd_from(1.0), d->W) : dd_from(0.0);
	double		s = 0.0,
				cc = 0.0;

	if (u == NULL)
		return dd_from(NAN);
	for (int b = 0; b < k; b++)
	{
		int			j = d->kept[b];
		dd			v = d->icpt ? dd_sub(dd_from(x[j]), d->mean[j]) : dd_from(x[j]);

		u[b] = dd_make(v.hi * d->scale[j], v.lo * d->scale[j]);
	}
	for (int a = 0; a < k; a++)
	{
		dd			za = dd_dot(d->Li + rowp(a), 1, u, 1, a + 1);
		double		pr,
					e,
					t,
					bb;

		if (z)
			z[a] = za;
		/* |z|^2 accumulated as in Dot2 */
		pr = za.hi * za.hi;
		e = fma(za.hi, za.hi, -pr) + 2.0 * za.hi * za.lo;
		t = s + pr;
		bb = t - s;
		cc += ((s - (t - bb)) + (pr - bb)) + e;
		s = t;
	}
	if (u != stackbuf)
		free(u);
	return dd_add(q, dd_two_sum(s, cc));
}

LR_HOT dd
lr_diag_fit(const LrDiag *d, const double *x)
{
	dd			f;

	if (d->icpt)
	{
		f = d->mean[d->p];
		for (int a = 0; a < d->k; a++)
		{
			int			j = d->kept[a];

			f = dd_add(f, dd_mul(d->beta[j], dd_sub(dd_from(x[j]), d->mean[j])));
		}
	}
	else
	{
		f = dd_from(0.0);
		for (int a = 0; a < d->k; a++)
		{
			int			j = d->kept[a];

			f = dd_add(f, dd_mul_d(d->beta[j], x[j]));
		}
	}
	return f;
}

dd
lr_diag_resid(const LrDiag *d, double y, const double *x)
{
	return dd_sub(dd_from(y), lr_diag_fit(d, x));
}

/*
 * Error bounds: u = 2^-53; a float64 sum of n products, each of inputs with
 * relative errors e1 and e2, is within (n + 2 + e1/u + e2/u) u sum |terms|
 * of the exact sum (Higham, Accuracy and Stability, 3.1); we use
 * (n + 4) u sum |terms| plus the absolute errors of the inputs (the lo parts
 * dropped from double-double values).  Accept when the bound on the result
 * is under 2^-47 (7e-15) of it.
 */
#define FAST_ACCEPT 0x1p-47
#define FAST_ACCEPT_RESID 0x1p-42
#define U 0x1p-53

/*
 * Four doubles as one value (GCC/Clang vector extension): the compiler
 * emits one 4-wide instruction per operation on the x86-64-v3 clone and
 * pairs of 2-wide ones on the baseline.  aligned(8): loads need not be
 * 32-byte aligned.
 */
typedef double v4d __attribute__((vector_size(32), aligned(8)));
typedef int64_t v4i __attribute__((vector_size(32), aligned(8)));

/* |v| lane by lane: the sign bits cleared (a macro: a function returning v4d warns of ABI) */
#define v4_abs(v) ((v4d) ((v4i) (v) & (v4i) {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX}))

/*
 * Four rows of z = L^-1 u at once, from the 4-wide blocks of L^-1 (c, one
 * block per column b < bend): their sums into *z and the sums of the
 * terms' magnitudes (for the error bound) into *mag.  Returns the next
 * block.
 */
static inline __attribute__((always_inline)) const double *
z_block(const double *c, const double *u, int bend, v4d *z, v4d *mag)
{
	for (int b = 0; b < bend; b++, c += 4)
	{
		v4d			t = *(const v4d *) c * u[b];

		*z += t;
		*mag += v4_abs(t);
	}
	return c;
}

/*
 * z = Lh u four rows at a time, from the column blocks of Lb: each z_a
 * still sums its terms in the order of b (the zeros above the diagonal add
 * nothing), so z is the float64 value of the row-by-row loop, but a column
 * of a block is one 4-wide multiply and add, and the blocks are
 * independent chains.  Each z_a comes with mag_a = sum_b |Lh_ab u_b|:
 * |dz_a| <= (a + 6) u mag_a + zerr_a (u[b] and Lh rounded once each, m's lo
 * parts), which bounds the error of |z|^2.
 */
static inline __attribute__((always_inline)) double
point_fast_k(const LrDiag *d, const double *x, double *u, const int k, const int dense)
{
	const double *c = d->Lb;
	v4d			qv = {0.0, 0.0, 0.0, 0.0},
				ev = {0.0, 0.0, 0.0, 0.0};
	double		q,
				qerr;

	/* u = S (x - m): the difference rounded once; m's lo part is an absolute error */
	if (dense)
	{
		/* every feature kept (kept[b] = b): contiguous, and the loop vectorises */
		const double *mh = d->mh;
		const double *sc = d->scale;

		if (d->icpt)
			for (int b = 0; b < k; b++)
				u[b] = (x[b] - mh[b]) * sc[b];
		else
			for (int b = 0; b < k; b++)
				u[b] = x[b] * sc[b];
	}
	else
		for (int b = 0; b < k; b++)
		{
			int			j = d->kept[b];

			u[b] = (d->icpt ? x[j] - d->mh[j] : x[j]) * d->scale[j];
		}
	for (int r = 0; r < k; r += 4)
	{
		int			bend = r + 4 < k ? r + 4 : k;
		v4d			z = {0.0, 0.0, 0.0, 0.0},
					mag = {0.0, 0.0, 0.0, 0.0},
					abserr;

		c = z_block(c, u, bend, &z, &mag);
		/* rows past k - 1 have z = mag = zc = zerr = 0: they add nothing */
		abserr = *(const v4d *) (d->zc + r) * mag + *(const v4d *) (d->zerr + r);
		qv += z * z;
		ev += 2.0 * v4_abs(z) * abserr + abserr * abserr;
	}
	/* q in four partial sums: at most k + 2 additions on any path, as before */
	q = (qv[0] + qv[1]) + (qv[2] + qv[3]);
	qerr = (ev[0] + ev[1]) + (ev[2] + ev[3]);
	qerr += (double) (k + 2) * U * q;
	q += d->invW;
	if (qerr <= FAST_ACCEPT * q)
		return q;
	return dd_to_double(lr_diag_point(d, x, NULL));
}

/*
 * The body above with the kept-feature count known at compile time for
 * small models without aliased features (the loops unroll into straight
 * vector code; the same operations in the same order, so the same bits).
 */
LR_HOT double
lr_diag_point_fast(const LrDiag *d, const double *x, double *u)
{
	if (d->k == d->p)
		switch (d->k)
		{
#define SMALL(K) case K: return point_fast_k(d, x, u, K, 1);
				SMALL(1) SMALL(2) SMALL(3) SMALL(4) SMALL(5) SMALL(6) SMALL(7) SMALL(8)
				SMALL(9) SMALL(10) SMALL(11) SMALL(12) SMALL(13) SMALL(14) SMALL(15) SMALL(16)
#undef SMALL
			default:
				return point_fast_k(d, x, u, d->k, 1);
		}
	return point_fast_k(d, x, u, d->k, 0);
}

/*
 * e = (y - m_y) - sum_a b_a (x_a - m_a) over the kept features, the
 * differences and products four at a time from the padded copies rb/rbl/rm
 * (0 beyond k; without intercept the means are 0 and the differences
 * exact).  The products are subtracted one by one in the order of a, so e
 * is the float64 value of a plain loop over a (the padding subtracts 0).
 * The bound: k + 1 additions and one rounding per product and per
 * difference, within (2k + 6) u sum of the magnitudes, plus the dropped lo
 * parts: |b_a| |m_a.lo| (a constant, rerr) and |b_a.lo (x_a - m_a)|.
 */
static inline __attribute__((always_inline)) double
resid_fast_k(const LrDiag *d, double y, const double *x, const int k, const int dense)
{
	const int  *kp = d->kp;
	v4d			magv = {0.0, 0.0, 0.0, 0.0},
				errv = {0.0, 0.0, 0.0, 0.0};
	double		e0 = d->icpt ? y - d->mh[d->p] : y,
				e = e0,
				mag,
				abserr;

	for (int a = 0; a < k; a += 4)
	{
		/* every feature kept: x itself, but for the padded last block (x has k values) */
		v4d			xv = dense && a + 4 <= k ? *(const v4d *) (x + a)
			: (v4d) {x[kp[a]], x[kp[a + 1]], x[kp[a + 2]], x[kp[a + 3]]};
		v4d			dx = xv - *(const v4d *) (d->rm + a);
		v4d			t = *(const v4d *) (d->rb + a) * dx;

		e -= t[0];
		e -= t[1];
		e -= t[2];
		e -= t[3];
		magv += v4_abs(t);
		errv += v4_abs(*(const v4d *) (d->rbl + a) * dx);
	}
	mag = fabs(e0) + ((magv[0] + magv[1]) + (magv[2] + magv[3]));
	abserr = d->rerr + ((errv[0] + errv[1]) + (errv[2] + errv[3]));
	abserr += (double) (2 * k + 6) * U * mag;
	if (abserr <= FAST_ACCEPT_RESID * fabs(e))
		return e;
	return dd_to_double(lr_diag_resid(d, y, x));
}

/* The body above with the count known at compile time for small dense models (same bits). */
LR_HOT double
lr_diag_resid_fast(const LrDiag *d, double y, const double *x)
{
	if (d->k == d->p)
		switch (d->k)
		{
#define SMALL(K) case K: return resid_fast_k(d, y, x, K, 1);
				SMALL(1) SMALL(2) SMALL(3) SMALL(4) SMALL(5) SMALL(6) SMALL(7) SMALL(8)
				SMALL(9) SMALL(10) SMALL(11) SMALL(12) SMALL(13) SMALL(14) SMALL(15) SMALL(16)
#undef SMALL
			default:
				return resid_fast_k(d, y, x, d->k, 1);
		}
	return resid_fast_k(d, y, x, d->k, 0);
}

/* ---- sandwich ---- */

int
lr_hc_init(LrHC *h, const LrDiag *d, int type)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->nq = d->k + d->icpt;
	h->meat = calloc(rowp(h->nq) > 0 ? rowp(h->nq) : 1, sizeof(dd));
	h->z = malloc(sizeof(dd) * (size_t) (d->k + 1));
	if (!h->meat || !h->z)
	{
		lr_hc_free(h);
		return LR_ENOMEM;
	}
	return LR_OK;
}

void
lr_hc_free(LrHC *h)
{
	free(h->meat);
	free(h->z);
	memset(h, 0, sizeof(*h));
}

/*
 * rr = omega (w e)^2 of a row and its z (into h->z), in double-double as
 * the meat has always taken them.  Returns 1 when the leverage is 1 under
 * HC2/HC3 (rr undefined).
 */
LR_HOT static int
hc_factors_dd(const LrHC *h, const LrDiag *d, double y, const double *x, double w, double *rr)
{
	dd			q = lr_diag_point(d, x, h->z + 0);
	dd			e = lr_diag_resid(d, y, x);
	dd			r2;

	/* omega (w e)^2: omega = 1, 1/(1-h), 1/(1-h)^2 with h = w q */
	r2 = dd_mul(e, e);
	r2 = dd_mul_d(r2, w * w);
	if (h->type >= 2)
	{
		dd			omh = dd_sub(dd_from(1.0), dd_mul_d(q, w));

		if (!(omh.hi > 0.0))
			return 1;
		r2 = dd_div(r2, omh);
		if (h->type == 3)
			r2 = dd_div(r2, omh);
	}
	*rr = dd_to_double(r2);
	return 0;
}

LR_HOT int
lr_hc_add(LrHC *h, const LrDiag *d, double y, const double *x, double w)
{
	int			icpt = d->icpt;
	int			nq = h->nq;
	double		rr;

	h->n++;
	if (hc_factors_dd(h, d, y, x, w, &rr))
	{
		h->undefined = 1;
		return 1;
	}
	/* meat += rr u u', u = [1, z] or z: each product rounded once, summed in dd */
	for (int a = 0; a < nq; a++)
	{
		double		ua = (icpt && a == 0) ? 1.0 : dd_to_double(h->z[a - icpt]);
		double		ra = rr * ua;
		dd		   *row = h->meat + (size_t) a * (size_t) nq - rowp(a) + (size_t) a;

		for (int b = a; b < nq; b++)
		{
			double		ub = (icpt && b == 0) ? 1.0 : dd_to_double(h->z[b - icpt]);

			row[b - a] = dd_add(row[b - a], dd_two_prod(ra, ub));
		}
	}
	return 0;
}

void
lr_hc_merge(LrHC *a, const LrHC *b)
{
	for (size_t i = 0; i < rowp(a->nq); i++)
		a->meat[i] = dd_add(a->meat[i], b->meat[i]);
	a->n += b->n;
	a->undefined |= b->undefined;
}

/* ---- sandwich by blocks (see lr_diag.h) ---- */

#define HB LR_HC_BATCH_ROWS

static inline double *
hb_u(LrHCBatch *b)
{
	return b->mem;
}
static inline double *
hb_ra(LrHCBatch *b)
{
	return b->mem + (size_t) b->nq * HB;
}
static inline double *
hb_hi(LrHCBatch *b)
{
	return b->mem + 2 * (size_t) b->nq * HB;
}
static inline double *
hb_lo(LrHCBatch *b)
{
	return hb_hi(b) + rowp(b->nq) * HB;
}
static inline double *
hb_scratch(LrHCBatch *b)
{
	return hb_lo(b) + rowp(b->nq) * HB;
}

size_t
lr_hc_batch_size(const LrDiag *d)
{
	size_t		nq = (size_t) (d->k + d->icpt);

	return offsetof(LrHCBatch, mem)
		+ sizeof(double) * (2 * nq * HB + 2 * rowp((int) nq) * HB + 4 * (size_t) d->kb + 8);
}

void
lr_hc_batch_init(LrHCBatch *b, const LrDiag *d)
{
	memset(b, 0, lr_hc_batch_size(d));
	b->nq = d->k + d->icpt;
	b->k = d->k;
	b->kb = d->kb;
}

/*
 * The row's centred differences over the kept features, padded to kb:
 * x_a - m_a exactly as dh + dl (TwoSum, then m's low part, which rounds at
 * u^2 |x_a - m_a|), and u = S (x - m) with the difference rounded once, as
 * lr_diag_point_fast computes it (dh is that rounded difference; the scale
 * is a power of two).  Without intercept the means are 0: dh = x, dl = 0.
 */
LR_HOT static void
centred_diffs(const LrDiag *d, const double *x, double *dh, double *dl, double *u)
{
	const int  *kp = d->kp;

	for (int a = 0; a < d->kb; a += 4)
	{
		v4d			xv = {x[kp[a]], x[kp[a + 1]], x[kp[a + 2]], x[kp[a + 3]]};
		v4d			mh = *(const v4d *) (d->rm + a);
		v4d			h = xv - mh;
		v4d			bb = h - xv;

		*(v4d *) (dh + a) = h;
		*(v4d *) (dl + a) = ((xv - (h - bb)) + (-mh - bb)) - *(const v4d *) (d->rml + a);
	}
	for (int b = 0; b < d->k; b++)
		u[b] = dh[b] * d->scale[d->kept[b]];
}

/*
 * z and q as lr_diag_point_fast computes them from u, z into zf[0..kb-1],
 * with the bounds of lr_diag_point_fast: *qerr on q, and *ez2 = sum_a
 * bound(dz_a)^2 on |dz|^2.
 */
LR_HOT static double
point_fast_z(const LrDiag *d, const double *u, double *zf, double *qerr_out, double *ez2_out)
{
	int			k = d->k;
	const double *c = d->Lb;
	v4d			qv = {0.0, 0.0, 0.0, 0.0},
				ev = {0.0, 0.0, 0.0, 0.0},
				e2v = {0.0, 0.0, 0.0, 0.0};
	double		q,
				qerr;

	for (int r = 0; r < k; r += 4)
	{
		int			bend = r + 4 < k ? r + 4 : k;
		v4d			z = {0.0, 0.0, 0.0, 0.0},
					mag = {0.0, 0.0, 0.0, 0.0},
					abserr;

		c = z_block(c, u, bend, &z, &mag);
		abserr = *(const v4d *) (d->zc + r) * mag + *(const v4d *) (d->zerr + r);
		*(v4d *) (zf + r) = z;
		qv += z * z;
		ev += 2.0 * v4_abs(z) * abserr + abserr * abserr;
		e2v += abserr * abserr;
	}
	q = (qv[0] + qv[1]) + (qv[2] + qv[3]);
	qerr = (ev[0] + ev[1]) + (ev[2] + ev[3]);
	qerr += (double) (k + 2) * U * q;
	*qerr_out = qerr;
	*ez2_out = (e2v[0] + e2v[1]) + (e2v[2] + e2v[3]);
	return q + d->invW;
}

/* a b + c lane by lane, rounded once (one vfmadd on the x86-64-v3 clone) */
#define v4_fma(a, b, c) ((v4d) {fma((a)[0], (b)[0], (c)[0]), fma((a)[1], (b)[1], (c)[1]), \
								fma((a)[2], (b)[2], (c)[2]), fma((a)[3], (b)[3], (c)[3])})

/*
 * The residual (y - m_y) - sum_a b_a (x_a - m_a) by a compensated sum, from
 * the exact differences dh + dl: each product exact in its high part
 * (FMA) with the low parts' cross terms rounded, the terms summed four
 * lanes at a time with TwoSum (errors gathered), then the lanes onto e0 the
 * same way.  As Dot2 (Ogita, Rump, Oishi 2005), the result is within
 * u |e| + gamma_n^2 sum |terms| (n <= k + 8 terms on any path), plus the
 * dropped lo x lo products (u^2 each): 1 is returned (*e set) when that
 * bound is under 2 u |e|; 0 otherwise.  The padding adds exact zeros.
 */
LR_HOT static int
resid_comp(const LrDiag *d, double y, const double *dh, const double *dl, double *e_out)
{
	int			k = d->k;
	v4d			sh = {0.0, 0.0, 0.0, 0.0},
				sl = {0.0, 0.0, 0.0, 0.0},
				mg = {0.0, 0.0, 0.0, 0.0};
	dd			e0 = d->icpt ? dd_two_sum(y, -d->mh[d->p]) : dd_from(y);
	dd			s;
	double		mag,
				e;

	if (d->icpt)
		e0.lo -= d->ml[d->p];
	for (int a = 0; a < k; a += 4)
	{
		v4d			h = *(const v4d *) (dh + a);
		v4d			l = *(const v4d *) (dl + a);
		v4d			bh = *(const v4d *) (d->rb + a);
		v4d			th = bh * h;
		v4d			tl = v4_fma(bh, h, -th) + (bh * l + *(const v4d *) (d->rbl + a) * h);
		v4d			t = sh - th;
		v4d			b2 = t - sh;

		sl += ((sh - (t - b2)) + (-th - b2)) - tl;
		sh = t;
		mg += v4_abs(th);
	}
	/* the lanes' high parts onto e0 by TwoSum, the low parts and errors gathered */
	s = e0;
	for (int l = 0; l < 4; l++)
	{
		dd			t = dd_two_sum(s.hi, sh[l]);

		s.hi = t.hi;
		s.lo += t.lo + sl[l];
	}
	e = s.hi + s.lo;
	mag = fabs(e0.hi) + ((mg[0] + mg[1]) + (mg[2] + mg[3]));
	*e_out = e;
	return (double) ((k + 8) * (k + 8) + 8) * 0x1p-106 * mag <= U * fabs(e);
}

/*
 * Slot r of entry (a, b) += ra_a u_b: the product exact as p + err (FMA),
 * the sum by TwoSum with the errors gathered in lo, as lr_batch.c does.
 */
static inline __attribute__((always_inline)) void
hb_fold_pair(double *restrict hi, double *restrict lo, const double *restrict ra, const double *restrict ub)
{
	for (int r = 0; r < HB; r++)
	{
		double		p = ra[r] * ub[r];
		double		e = fma(ra[r], ub[r], -p);
		double		s = hi[r] + p;
		double		bb = s - hi[r];

		lo[r] += e + ((hi[r] - (s - bb)) + (p - bb));
		hi[r] = s;
	}
}

LR_HOT static void
hb_fold_block(LrHCBatch *b)
{
	const int	nq = b->nq;
	const double *u = hb_u(b);
	const double *ra = hb_ra(b);
	double	   *hi = hb_hi(b);
	double	   *lo = hb_lo(b);

	for (int a = 0; a < nq; a++)
		for (int c = a; c < nq; c++)
		{
			hb_fold_pair(hi, lo, ra + (size_t) a * HB, u + (size_t) c * HB);
			hi += HB;
			lo += HB;
		}
}

LR_HOT int
lr_hc_batch_add(LrHCBatch *b, LrHC *h, const LrDiag *d, double y, const double *x, double w)
{
	const int	nq = b->nq;
	const int	icpt = d->icpt;
	const int	r = b->count;
	double	   *u = hb_u(b);
	double	   *ra = hb_ra(b);
	double	   *zf = hb_scratch(b);
	double	   *dh = zf + b->kb;
	double	   *dl = dh + b->kb;
	double	   *us = dl + b->kb;
	double		qerr,
				ez2,
				e = 0.0,
				rr = 0.0,
				q;
	int			fast;

	centred_diffs(d, x, dh, dl, us);
	q = point_fast_z(d, us, zf, &qerr, &ez2);
	fast = qerr <= FAST_ACCEPT * q && ez2 <= FAST_ACCEPT * FAST_ACCEPT * q && resid_comp(d, y, dh, dl, &e);

	if (fast)
	{
		double		we = w * e;

		rr = we * we;
		if (h->type >= 2)
		{
			double		omh = 1.0 - w * q;

			if (!(omh > 0.0) || !(w * qerr <= 0x1p-50 * omh))
				fast = 0;
			else
			{
				rr /= omh;
				if (h->type == 3)
					rr /= omh;
			}
		}
	}
	h->n++;
	if (fast)
	{
		b->fast++;
		for (int a = 0; a < d->k; a++)
			u[(size_t) (icpt + a) * HB + r] = zf[a];
	}
	else
	{
		b->slow++;
		if (hc_factors_dd(h, d, y, x, w, &rr))
		{
			h->undefined = 1;
			return 1;
		}
		for (int a = 0; a < d->k; a++)
			u[(size_t) (icpt + a) * HB + r] = dd_to_double(h->z[a]);
	}
	if (icpt)
		u[r] = 1.0;
	for (int a = 0; a < nq; a++)
		ra[(size_t) a * HB + r] = rr * u[(size_t) a * HB + r];
	b->pending++;
	if (++b->count == HB)
	{
		hb_fold_block(b);
		b->count = 0;
	}
	return 0;
}

void
lr_hc_batch_drain(LrHCBatch *b, LrHC *h)
{
	const int	nq = b->nq;
	double	   *hi;
	double	   *lo;

	if (b->pending == 0)
		return;
	if (b->count > 0)
	{
		for (int a = 0; a < nq; a++)
			for (int r = b->count; r < HB; r++)
			{
				hb_u(b)[(size_t) a * HB + r] = 0.0;
				hb_ra(b)[(size_t) a * HB + r] = 0.0;
			}
		hb_fold_block(b);
		b->count = 0;
	}
	hi = hb_hi(b);
	lo = hb_lo(b);
	for (size_t k = 0; k < rowp(nq); k++)
	{
		dd			v = dd_two_sum(hi[k * HB], lo[k * HB]);

		for (int r = 1; r < HB; r++)
			v = dd_add(v, dd_two_sum(hi[k * HB + r], lo[k * HB + r]));
		h->meat[k] = dd_add(h->meat[k], v);
	}
	memset(hi, 0, sizeof(double) * 2 * rowp(nq) * HB);
	b->pending = 0;
}

static inline dd
meat_at(const LrHC *h, int a, int b)
{
	if (a > b)
	{
		int			t = a;

		a = b;
		b = t;
	}
	return h->meat[(size_t) a * (size_t) h->nq - rowp(a) + (size_t) a + (size_t) (b - a)];
}

/*
 * Cov(beta) = T V T' with V = B M B in the whitened coordinates, B =
 * diag(1/W, I), and T the map from whitened coefficients to the terms:
 * row of feature j (kept index a): s_j L^-T row a, i.e. entries
 * s_j Li[r][a] for r >= a over z; the intercept's row [1, -g].
 */
LR_HOT int
lr_hc_result(const LrHC *h, const LrDiag *d, double *se, double *cov, LrTick tick)
{
	int			icpt = d->icpt;
	int			nq = h->nq;
	int			nt = d->nt;
	int			k = d->k;
	dd		   *T = calloc((size_t) (d->rank > 0 ? d->rank : 1) * (size_t) (nq > 0 ? nq : 1), sizeof(dd));
	dd		   *V = malloc(sizeof(dd) * (size_t) (nq > 0 ? nq : 1) * (size_t) (nq > 0 ? nq : 1));
	dd		   *TV = malloc(sizeof(dd) * (size_t) (d->rank > 0 ? d->rank : 1) * (size_t) (nq > 0 ? nq : 1));
	int		   *term = malloc(sizeof(int) * (size_t) (d->rank > 0 ? d->rank : 1));
	double		scale = 1.0;
	dd			invW = icpt ? dd_div(dd_from(1.0), d->W) : dd_from(0.0);

	if (!T || !V || !TV || !term)
	{
		free(T);
		free(V);
		free(TV);
		free(term);
		return LR_ENOMEM;
	}
	if (h->type == 1)
		scale = h->n > d->rank ? (double) h->n / (double) (h->n - d->rank) : NAN;
	for (int a = 0; a < nq; a++)
		for (int b = 0; b < nq; b++)
		{
			dd			v = meat_at(h, a, b);

			if (icpt && a == 0)
				v = dd_mul(v, invW);
			if (icpt && b == 0)
				v = dd_mul(v, invW);
			V[(size_t) a * nq + b] = v;
		}
	/* T: rows over the rank terms (intercept first), columns over u */
	{
		int			r = 0;

		if (icpt)
		{
			T[0] = dd_from(1.0);
			for (int b = 0; b < k; b++)
				T[1 + b] = dd_neg(d->g[b]);
			term[r++] = 0;
		}
		for (int a = 0; a < k; a++, r++)
		{
			int			j = d->kept[a];

			term[r] = icpt + j;
			for (int rr = a; rr < k; rr++)
				T[(size_t) r * nq + icpt + rr] = dd_mul_d(d->Li[rowp(rr) + a], d->scale[j]);
		}
	}
	for (int r = 0; r < d->rank; r++)
	{
		if (tick && tick())
		{
			free(T);
			free(V);
			free(TV);
			free(term);
			return LR_EINTERRUPTED;
		}
		for (int b = 0; b < nq; b++)
			TV[(size_t) r * nq + b] = dd_dot(T + (size_t) r * nq, 1, V + b, (size_t) nq, nq);
	}
	if (h->undefined)
		scale = NAN;
	for (int t = 0; t < nt; t++)
	{
		se[t] = NAN;
		if (cov)
			for (int u = 0; u < nt; u++)
				cov[(size_t) t * nt + u] = NAN;
	}
	for (int r = 0; r < d->rank; r++)
		for (int r2 = cov ? 0 : r; r2 <= (cov ? d->rank - 1 : r); r2++)
		{
			dd			v = dd_dot(TV + (size_t) r * nq, 1, T + (size_t) r2 * nq, 1, nq);
			double		vv = dd_to_double(v) * scale;

			if (r == r2)
				se[term[r]] = vv >= 0.0 ? sqrt(vv) : NAN;
			if (cov)
				cov[(size_t) term[r] * nt + term[r2]] = vv;
		}
	free(T);
	free(V);
	free(TV);
	free(term);
	return LR_OK;
}

/* ---- influence ---- */

/* v^n for an integer n >= 0 by repeated squaring (about log2(n) roundings) */
static double
ipow(double v, int n)
{
	double		r = 1.0;

	while (n > 0)
	{
		if (n & 1)
			r *= v;
		v *= v;
		n >>= 1;
	}
	return r;
}

void
lr_diag_influence(const LrDiag *d, double y, const double *x, double w,
				  dd *scratch, LrInfluence *out)
{
	double		q = lr_diag_point_fast(d, x, (double *) scratch);
	double		e = lr_diag_resid_fast(d, y, x);
	double		h = q * w,
				r = w == 1.0 ? e : e * sqrt(w),	/* the weighted residual */
				s = d->sigma,
				p = (double) d->rank,
				om,
				sq;

	out->hat = h;
	out->rstandard = out->rstudent = out->cooks = out->dffits = out->covratio = NAN;
	/* R: leverage above 1 - 10 eps is taken as 1 and the rest is NaN */
	if (h > 1.0 - 10.0 * DBL_EPSILON)
	{
		out->hat = 1.0;
		return;
	}
	/* 1 - h exactly rounded (h = q w is not rounded twice) */
	om = dd_to_double(dd_sub(dd_from(1.0), dd_two_prod(q, w)));
	sq = sqrt(om);
	if (d->df_resid > 0 && s > 0)
	{
		double		c = r / (s * om);

		out->rstandard = r / (s * sq);
		out->cooks = c * c * h / p;
	}
	if (d->df_resid > 1)
	{
		/* deleted residual variance: (rss - r^2/(1-h)) / (df - 1); in dd when it cancels */
		double		r2 = r * r / om;
		double		rd = d->rss - r2;
		double		si2;

		if (!(rd >= 0.0625 * d->rss))
			rd = dd_to_double(dd_sub(dd_from(d->rss),
									 dd_div(dd_mul(dd_from(r), dd_from(r)),
											dd_sub(dd_from(1.0), dd_two_prod(q, w)))));
		si2 = rd / (d->df_resid - 1.0);
		if (si2 > 0)
		{
			double		si = sqrt(si2);

			out->rstudent = r / (si * sq);
			out->dffits = out->rstudent * sqrt(h / om);
			if (s > 0)
				out->covratio = ipow(si2 / d->s2, d->rank) / om;	/* (si/s)^(2p) */
		}
		else if (si2 == 0.0 && s > 0)
			out->covratio = 0.0;
	}
}

/* ---- VIF ---- */

int
lr_vif(const LrModel *m, double *vif, LrTick tick)
{
	const LrState *s = lr_model_state(m);
	const unsigned char *al = lr_model_caliased(m);
	int			p = m->nfeat;
	int			icpt = m->intercept;
	LrMoments	mo;
	int		   *kept = malloc(sizeof(int) * (size_t) (p > 0 ? p : 1));
	dd		   *Li = NULL;
	int			k = 0;
	int			rc;

	if (!kept)
		return LR_ENOMEM;
	rc = lr_moments_build(s, &mo);
	if (rc != LR_OK)
	{
		free(kept);
		return rc;
	}
	for (int j = 0; j < p; j++)
	{
		vif[j] = NAN;
		if (!al[icpt + j])
		{
			if (mo.scale[j] == 0.0)
			{
				rc = LR_ENOROWS;
				goto done;
			}
			kept[k++] = j;
		}
	}
	rc = inverse_factor(&mo, kept, k, &Li, tick);
	if (rc != LR_OK)
		goto done;
	/* (A^-1)_aa = sum over r >= a of Li[r][a]^2 */
	for (int a = 0; a < k; a++)
	{
		dd			v = dd_from(0.0);

		for (int r = a; r < k; r++)
		{
			dd			x = Li[rowp(r) + a];

			v = dd_add(v, dd_mul(x, x));
		}
		vif[kept[a]] = dd_to_double(dd_mul(v, lr_moments_A(&mo, kept[a], kept[a])));
	}
done:
	free(Li);
	free(kept);
	lr_moments_free(&mo);
	return rc;
}

/* ---- anova ---- */

/* two double-double moments agree to tol relative to scale */
static int
close_to(dd a, dd b, double scale)
{
	dd			diff = dd_sub(a, b);

	return fabs(diff.hi) <= 1e-13 * scale;
}

int
lr_anova(const LrModel *small, const LrModel *big, LrAnova *out, int *map, const char **why)
{
	const LrState *ss = lr_model_state(small);
	const LrState *sb = lr_model_state(big);
	int			ps = small->nfeat,
				pb = big->nfeat;
	LrMoments	ms,
				mb;
	int		   *pi = NULL;
	unsigned char *used = NULL;
	int			mixed = !small->intercept && big->intercept;
	int			rc;

	*why = NULL;
	if (small->intercept && !big->intercept)
	{
		*why = "the first model has an intercept and the second has not: the first is not nested in the second";
		return LR_EMISMATCH;
	}
	if (ps > pb)
	{
		*why = "the first model has more features than the second: pass the smaller model first";
		return LR_EMISMATCH;
	}
	if (ss->rows != sb->rows)
	{
		*why = "the models were not fitted on the same rows: their row counts differ";
		return LR_EMISMATCH;
	}
	rc = lr_moments_build(ss, &ms);
	if (rc != LR_OK)
		return rc;
	rc = lr_moments_build(sb, &mb);
	if (rc != LR_OK)
	{
		lr_moments_free(&ms);
		return rc;
	}
	if (mixed)
	{
		/*
		 * small through the origin, big with intercept: compare big's raw
		 * moments (C + W m m') with small's, which are raw.
		 */
		int			db = pb + 1;

		for (int i = 0; i < db; i++)
			for (int j = i; j < db; j++)
			{
				size_t		ij = lr_tri_index(db, i, j);

				mb.C[ij] = dd_add(mb.C[ij], dd_mul(mb.W, dd_mul(mb.mean[i], mb.mean[j])));
			}
		for (int j = 0; j < db; j++)
			mb.mean[j] = dd_from(0.0);
	}
	pi = malloc(sizeof(int) * (size_t) (ps + 1));
	used = calloc((size_t) (pb + 1), 1);
	if (!pi || !used)
	{
		rc = LR_ENOMEM;
		goto done;
	}
	if (!close_to(ms.W, mb.W, fabs(mb.W.hi)))
	{
		*why = "the models were not fitted on the same rows: their weight sums differ";
		rc = LR_EMISMATCH;
		goto done;
	}
	{
		int			ds = ps + 1,
					db = pb + 1;

		/* sizes for comparisons: the root mean squares of the columns */
#define RAWSD(mo, dim, j) sqrt(fabs(mo.C[lr_tri_index(dim, j, j)].hi) / mo.W.hi + \
							   mo.mean[j].hi * mo.mean[j].hi)
#define CS(mo, dim, i, j) ((i) <= (j) ? mo.C[lr_tri_index(dim, i, j)] : mo.C[lr_tri_index(dim, j, i)])
		double		ysd = RAWSD(mb, db, pb);

		if (!close_to(ms.mean[ps], mb.mean[pb], ysd) ||
			!close_to(CS(ms, ds, ps, ps), CS(mb, db, pb, pb), ysd * ysd * mb.W.hi))
		{
			*why = "the models do not have the same response (or not the same rows)";
			rc = LR_EMISMATCH;
			goto done;
		}
		/* match each feature of small to an unused feature of big with the same moments */
		for (int i = 0; i < ps; i++)
		{
			double		si = RAWSD(ms, ds, i);

			pi[i] = -1;
			for (int c = 0; c < pb && pi[i] < 0; c++)
			{
				double		sc = RAWSD(mb, db, c);
				int			ok;

				if (used[c])
					continue;
				ok = close_to(ms.mean[i], mb.mean[c], fmax(si, sc)) &&
					close_to(CS(ms, ds, i, i), CS(mb, db, c, c), si * sc * mb.W.hi) &&
					close_to(CS(ms, ds, i, ps), CS(mb, db, c, pb), si * ysd * mb.W.hi);
				for (int i2 = 0; i2 < i && ok; i2++)
				{
					double		s2 = RAWSD(ms, ds, i2);

					ok = close_to(CS(ms, ds, i, i2), CS(mb, db, c, pi[i2]), si * s2 * mb.W.hi);
				}
				if (ok)
				{
					pi[i] = c;
					used[c] = 1;
				}
			}
			if (pi[i] < 0)
			{
				*why = "the models are not nested: a feature of the first model is not a feature of the second";
				rc = LR_EMISMATCH;
				goto done;
			}
		}
#undef RAWSD
#undef CS
	}
	if (map)
		memcpy(map, pi, sizeof(int) * (size_t) ps);
	{
		double		n = (double) ss->rows;
		dd			rs = lr_state_sse_dd(ss, small->coef, small->intercept);
		dd			rb = lr_state_sse_dd(sb, big->coef, big->intercept);

		out->df_small = n - small->rank;
		out->df_big = n - big->rank;
		out->rss_small = dd_to_double(rs);
		out->rss_big = dd_to_double(rb);
		out->df = out->df_small - out->df_big;
		out->ss = dd_to_double(dd_sub(rs, rb));
		out->f = out->p_value = NAN;
		if (out->df != 0 && out->df_big > 0)
		{
			out->f = (out->ss / out->df) / (out->rss_big / out->df_big);
			out->p_value = out->df > 0 ? lr_f_upper_p(out->f, out->df, out->df_big) : NAN;
		}
	}
	rc = LR_OK;
done:
	free(pi);
	free(used);
	lr_moments_free(&ms);
	lr_moments_free(&mb);
	return rc;
}

/* ---- Breusch-Pagan and White ---- */

void
lr_state_drop_last_feature(const LrState *s, LrState *out)
{
	int			d = s->nfeat + 1;	/* old dimension: features, then y */
	int			q = s->nfeat - 1;	/* the dropped feature */
	int			nd = d - 1;

	lr_state_init(out, s->nfeat - 1, s->intercept);
	out->rows = s->rows;
	out->skipped = s->skipped;
	out->wsum_hi = s->wsum_hi;
	out->wsum_lo = s->wsum_lo;
	out->logw_hi = s->logw_hi;
	out->logw_lo = s->logw_lo;
	for (int i = 0, ni = 0; i < d; i++)
	{
		if (i == q)
			continue;
		lr_shift(out)[ni] = lr_cshift(s)[i];
		lr_sum_hi(out)[ni] = lr_csum_hi(s)[i];
		lr_sum_lo(out)[ni] = lr_csum_lo(s)[i];
		for (int j = i, nj = ni; j < d; j++)
		{
			if (j == q)
				continue;
			lr_cross_hi(out)[lr_tri_index(nd, ni, nj)] = lr_ccross_hi(s)[lr_tri_index(d, i, j)];
			lr_cross_lo(out)[lr_tri_index(nd, ni, nj)] = lr_ccross_lo(s)[lr_tri_index(d, i, j)];
			nj++;
		}
		ni++;
	}
}

int
lr_bptest(const LrState *aux, int studentize, LrTest *out)
{
	return lr_bptest_w(aux, studentize, NULL, out);
}

int
lr_bptest_w(const LrState *aux, int studentize, const dd *unw, LrTest *out)
{
	int			q = aux->nfeat;
	int			d = q + 1;
	double		n = (double) aux->rows;
	LrState    *ws = NULL;
	LrModel    *m = NULL;
	dd			W,
				swu,			/* sum w u */
				sigma2,			/* sum w u / n */
				vbar,			/* weighted mean of v = u - sigma^2 (intercept) */
				fvss,			/* sum w fv^2, fv the fitted values of v */
				sw2,			/* sum w (v - vbar)^2 (intercept), sum w v^2 (without) */
				den;			/* studentised: sum (u - sigma^2)^2 */
	int			rc;

	out->statistic = out->df = out->p_value = NAN;
	if (q < 0 || aux->rows == 0)
		return LR_ENOROWS;
	ws = malloc(lr_state_size(q));
	m = malloc(lr_model_size(q, aux->intercept));
	if (!ws || !m)
	{
		free(ws);
		free(m);
		return LR_ENOMEM;
	}
	memcpy(ws, aux, lr_state_size(q));
	W = dd_two_sum(aux->wsum_hi, aux->wsum_lo);
	{
		dd			su = dd_two_sum(lr_csum_hi(aux)[q], lr_csum_lo(aux)[q]);

		/* u's own shift added back with intercept (the shifts are 0 without) */
		swu = aux->intercept ? dd_add(su, dd_mul(W, dd_from(lr_cshift(aux)[q]))) : su;
		sigma2 = dd_div(swu, dd_from(n));
		vbar = dd_sub(dd_div(swu, W), sigma2);
		if (!aux->intercept)
		{
			/*
			 * Through the origin: regress v = u - sigma^2 on Z instead:
			 * sum w z v = sum w z u - sigma^2 sum w z, sum w v^2 = sum w u^2
			 * - 2 sigma^2 sum w u + sigma^4 W, sum w v = sum w u - sigma^2 W.
			 */
			for (int i = 0; i < q; i++)
			{
				size_t		iy = lr_tri_index(d, i, q);
				dd			v = dd_sub(dd_two_sum(lr_ccross_hi(aux)[iy], lr_ccross_lo(aux)[iy]),
									   dd_mul(sigma2, dd_two_sum(lr_csum_hi(aux)[i], lr_csum_lo(aux)[i])));

				lr_cross_hi(ws)[iy] = v.hi;
				lr_cross_lo(ws)[iy] = v.lo;
			}
			{
				size_t		yy = lr_tri_index(d, q, q);
				dd			v = dd_add(dd_sub(dd_two_sum(lr_ccross_hi(aux)[yy], lr_ccross_lo(aux)[yy]),
											  dd_mul(dd_mul(dd_from(2.0), sigma2), swu)),
									   dd_mul(dd_mul(sigma2, sigma2), W));
				dd			sv = dd_sub(swu, dd_mul(sigma2, W));

				lr_cross_hi(ws)[yy] = v.hi;
				lr_cross_lo(ws)[yy] = v.lo;
				lr_sum_hi(ws)[q] = sv.hi;
				lr_sum_lo(ws)[q] = sv.lo;
				sw2 = v;
			}
		}
	}
	rc = lr_model_build(m, ws, LR_DEFAULT_TOL, 0.0);
	if (rc != LR_OK)
		goto done;
	if (aux->intercept)
	{
		LrMoments	mo;

		rc = lr_moments_build(ws, &mo);
		if (rc != LR_OK)
			goto done;
		sw2 = mo.C[lr_tri_index(d, q, q)];
		lr_moments_free(&mo);
	}
	fvss = dd_sub(sw2, lr_state_sse_dd(ws, m->coef, ws->intercept));
	if (fvss.hi < 0.0 || m->rank == aux->intercept)
		fvss = dd_from(0.0);
	/* with intercept, the fitted values of v have the weighted mean vbar (0 unweighted) */
	if (aux->intercept)
		fvss = dd_add(fvss, dd_mul(W, dd_mul(vbar, vbar)));
	/* the studentised denominator: unweighted, over the rows */
	if (unw != NULL)
		den = dd_add(dd_sub(unw[1], dd_mul(dd_mul(dd_from(2.0), sigma2), unw[0])),
					 dd_mul(dd_from(n), dd_mul(sigma2, sigma2)));
	else
		den = sw2;
	out->df = (double) m->rank - 1.0;
	if (studentize)
		out->statistic = den.hi > 0.0 ? n * dd_to_double(dd_div(fvss, den)) : NAN;
	else
		out->statistic = sigma2.hi > 0.0
			? 0.5 * dd_to_double(dd_div(fvss, dd_mul(sigma2, sigma2))) : NAN;
	out->p_value = out->df > 0 ? lr_chisq_upper_p(out->statistic, out->df) : NAN;
	rc = LR_OK;
done:
	free(ws);
	free(m);
	return rc;
}

/* ---- Durbin-Watson ---- */

extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a,
				   const int *lda, double *w, double *work, const int *lwork, int *info);

int
lr_dw_init(LrDW *w, const LrDiag *d, int mode)
{
	int			k = d->k;
	size_t		kk = (size_t) (k > 0 ? k : 1);

	memset(w, 0, sizeof(*w));
	w->k = k;
	w->icpt = d->icpt;
	w->mode = mode;
	w->cap = mode == 0 ? 0 : mode < 0 ? LR_DW_EXACT_ROWS - 1 : LR_DW_EXACT_MAX;
	w->z_prev = calloc(kk, sizeof(double));
	w->z_prev2 = calloc(kk, sizeof(double));
	w->z = calloc(kk, sizeof(double));
	w->zs = calloc(kk, sizeof(dd));
	w->G = calloc(kk * kk, sizeof(double));
	if (w->cap > 0 && k > 0)
		w->rowz = malloc(sizeof(double) * (size_t) w->cap * kk);
	if (!w->z_prev || !w->z_prev2 || !w->z || !w->zs || !w->G || (w->cap > 0 && k > 0 && !w->rowz))
	{
		lr_dw_free(w);
		return LR_ENOMEM;
	}
	w->num = w->den = dd_from(0.0);
	return LR_OK;
}

void
lr_dw_free(LrDW *w)
{
	free(w->z_prev);
	free(w->z_prev2);
	free(w->z);
	free(w->zs);
	free(w->G);
	free(w->rowz);
	memset(w, 0, sizeof(*w));
}

void
lr_dw_add(LrDW *w, const LrDiag *d, double y, const double *x)
{
	int			k = w->k;
	/* no residual df: the residuals are 0 but for rounding (the statistic is then 0/0) */
	double		e = d->df_resid > 0 ? dd_to_double(lr_diag_resid(d, y, x)) : 0.0;

	lr_diag_point(d, x, w->zs);
	for (int a = 0; a < k; a++)
		w->z[a] = dd_to_double(w->zs[a]);
	if (w->rowz != NULL && w->n < w->cap)
		memcpy(w->rowz + (size_t) w->n * k, w->z, sizeof(double) * k);
	w->den = dd_add(w->den, dd_two_prod(e, e));
	if (w->n >= 1)
	{
		double		de = e - w->e_prev;

		w->num = dd_add(w->num, dd_two_prod(de, de));
		for (int a = 0; a < k; a++)
		{
			double		da = w->z[a] - w->z_prev[a];

			for (int b = 0; b < k; b++)
				w->G[(size_t) a * k + b] += da * (w->z[b] - w->z_prev[b]);
		}
		/* (Az) of the previous row is complete now */
		{
			double		s = 0.0;

			for (int a = 0; a < k; a++)
			{
				double		v = w->n == 1 ? w->z_prev[a] - w->z[a]
					: 2.0 * w->z_prev[a] - w->z_prev2[a] - w->z[a];

				s += v * v;
			}
			w->H += s;
		}
	}
	{
		double	   *t = w->z_prev2;

		w->z_prev2 = w->z_prev;
		w->z_prev = w->z;
		w->z = t;
	}
	w->e_prev = e;
	w->n++;
}

/*
 * Imhof's integrand after the exp-sinh substitution u = exp(pi/2 sinh t):
 * sin(theta(u)) / (u rho(u)) du/dt, du/dt = u pi/2 cosh t.
 */
static double
imhof_term(const double *nu, int m, double t)
{
	double		u = exp(M_PI_2 * sinh(t));
	double		th = 0.0,
				lr = 0.0;

	if (u == 0.0 || !isfinite(u))
		return 0.0;
	for (int i = 0; i < m; i++)
	{
		double		v = nu[i] * u;

		th += atan(v);
		lr += log1p(v * v);
	}
	return sin(0.5 * th) * exp(-0.25 * lr) * M_PI_2 * cosh(t);
}

/* the trapezoidal sum of imhof_term over t = t0 + j h, j in Z, until the terms vanish */
static double
imhof_sum(const double *nu, int m, double t0, double h, double *absum)
{
	double		s = 0.0,
				a = 0.0;

	for (int dir = 0; dir < 2; dir++)
	{
		int			small = 0;

		for (int j = 0;; j++)
		{
			double		t = dir == 0 ? t0 + j * h : t0 - (j + 1) * h;
			double		g;

			if (fabs(t) > 7.0)	/* u beyond 1e+-427: nothing left */
				break;
			g = imhof_term(nu, m, t);
			s += g;
			a += fabs(g);
			if (fabs(g) <= 1e-18 * a)
			{
				if (++small >= 3)
					break;
			}
			else
				small = 0;
		}
	}
	*absum = a;
	return s;
}

double
lr_qf_lower_p(const double *nu, int m)
{
	double		h = 0.5,
				a,
				I,
				prev;
	int			agree = 0;

	/* the level of step h, then each halving adds the midpoints */
	I = h * imhof_sum(nu, m, 0.0, h, &a);
	for (int level = 1; level <= 12; level++)
	{
		double		am;
		double		mid = imhof_sum(nu, m, 0.5 * h, h, &am);

		prev = I;
		h *= 0.5;
		I = 0.5 * prev + h * mid;
		a = am;
		if (fabs(I - prev) <= 1e-15 * fmax(fabs(I), 1.0))
		{
			if (++agree >= 2)
				break;
		}
		else
			agree = 0;
	}
	return 0.5 - I / M_PI;
}

/*
 * The nonzero eigenvalues of M A M for the rows' coordinates rowz (n rows,
 * k columns) with the constant column when icpt: ev[0..*m-1] (at least n
 * doubles), the largest n - rank, those above 1e-10.
 */
static int
dw_eigen(const double *rowz, int n, int k, int icpt, double *ev, int *m, LrTick tick)
{
	int			nq = k + icpt;
	double	   *Q = malloc(sizeof(double) * (size_t) n * (nq > 0 ? nq : 1));
	double	   *M = malloc(sizeof(double) * (size_t) n * n);
	double	   *T = malloc(sizeof(double) * (size_t) n * n);
	double	   *work = NULL;
	double		wq;
	int			r = 0,
				lwork = -1,
				info = 0,
				rc = LR_OK;

	*m = 0;
	if (!Q || !M || !T)
	{
		rc = LR_ENOMEM;
		goto done;
	}
	/* columns of Q (column-major, n each), orthonormalised */
	for (int c = 0; c < nq; c++)
	{
		double	   *q = Q + (size_t) r * n;
		double		norm0 = 0.0,
					norm = 0.0;

		for (int i = 0; i < n; i++)
			q[i] = (icpt && c == 0) ? 1.0 : rowz[(size_t) i * k + (c - icpt)];
		for (int i = 0; i < n; i++)
			norm0 += q[i] * q[i];
		for (int pass = 0; pass < 2; pass++)
			for (int b = 0; b < r; b++)
			{
				const double *qb = Q + (size_t) b * n;
				double		dot = 0.0;

				for (int i = 0; i < n; i++)
					dot += qb[i] * q[i];
				for (int i = 0; i < n; i++)
					q[i] -= dot * qb[i];
			}
		for (int i = 0; i < n; i++)
			norm += q[i] * q[i];
		if (!(norm > 1e-18 * norm0) || norm0 == 0.0)
			continue;			/* in the span of the columns before it */
		norm = sqrt(norm);
		for (int i = 0; i < n; i++)
			q[i] /= norm;
		r++;
	}
	if (n - r <= 0)
		goto done;
	/* M = I - Q Q' (row-major = column-major: symmetric) */
	for (int i = 0; i < n; i++)
	{
		if (tick && tick())
		{
			rc = LR_EINTERRUPTED;
			goto done;
		}
		for (int j = 0; j <= i; j++)
		{
			double		v = i == j ? 1.0 : 0.0;

			for (int b = 0; b < r; b++)
				v -= Q[(size_t) b * n + i] * Q[(size_t) b * n + j];
			M[(size_t) i * n + j] = M[(size_t) j * n + i] = v;
		}
	}
	/* T = A M, A tridiagonal: rows 1 -1 / -1 2 -1 / -1 1 */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
		{
			double		v;

			if (n == 1)
				v = 0.0;
			else if (i == 0)
				v = M[j] - M[(size_t) n + j];
			else if (i == n - 1)
				v = M[(size_t) (n - 1) * n + j] - M[(size_t) (n - 2) * n + j];
			else
				v = 2.0 * M[(size_t) i * n + j] - M[(size_t) (i - 1) * n + j] - M[(size_t) (i + 1) * n + j];
			T[(size_t) i * n + j] = v;
		}
	/* B = M T, symmetric in exact arithmetic: keep the average (into Q's place? no: a new M) */
	{
		double	   *B = malloc(sizeof(double) * (size_t) n * n);

		if (!B)
		{
			rc = LR_ENOMEM;
			goto done;
		}
		for (int i = 0; i < n; i++)
		{
			if (tick && tick())
			{
				free(B);
				rc = LR_EINTERRUPTED;
				goto done;
			}
			for (int j = 0; j < n; j++)
			{
				double		v = 0.0;

				for (int l = 0; l < n; l++)
					v += M[(size_t) i * n + l] * T[(size_t) l * n + j];
				B[(size_t) i * n + j] = v;
			}
		}
		for (int i = 0; i < n; i++)
			for (int j = 0; j < i; j++)
			{
				double		v = 0.5 * (B[(size_t) i * n + j] + B[(size_t) j * n + i]);

				B[(size_t) i * n + j] = B[(size_t) j * n + i] = v;
			}
		free(T);
		T = B;
	}
	dsyev_("N", "U", &n, T, &n, ev, &wq, &lwork, &info);
	if (info != 0)
	{
		rc = LR_ENOROWS;
		goto done;
	}
	lwork = (int) wq;
	work = malloc(sizeof(double) * (size_t) (lwork > 1 ? lwork : 1));
	if (!work)
	{
		rc = LR_ENOMEM;
		goto done;
	}
	dsyev_("N", "U", &n, T, &n, ev, work, &lwork, &info);
	if (info != 0)
	{
		rc = LR_ENOROWS;
		goto done;
	}
	/* ascending: the largest n - r are ev[r..n-1] */
	for (int i = r; i < n; i++)
		if (ev[i] > 1e-10)
			ev[(*m)++] = ev[i];
done:
	free(Q);
	free(M);
	free(T);
	free(work);
	return rc;
}

static void
dw_approx(const LrDW *w, const LrDiag *d, LrTest *out)
{
	double		n = (double) w->n;
	double		kk = (double) d->rank;
	int			k = w->k;
	double		H = w->H,
				trG = 0.0,
				fro = 0.0,
				P,
				Q,
				mean,
				var;

	if (n < fmax(5.0, kk))
		return;
	/* the last row's (Az) = z_n - z_n-1 (z_prev is z_n, z_prev2 is z_n-1) */
	for (int a = 0; a < k; a++)
	{
		double		v = w->z_prev[a] - w->z_prev2[a];

		H += v * v;
	}
	for (int a = 0; a < k; a++)
	{
		trG += w->G[(size_t) a * k + a];
		for (int b = 0; b < k; b++)
			fro += w->G[(size_t) a * k + b] * w->G[(size_t) a * k + b];
	}
	P = 2.0 * (n - 1.0) - trG;
	Q = 2.0 * (3.0 * n - 4.0) - 2.0 * H + fro;
	mean = P / (n - kk);
	var = 2.0 / ((n - kk) * (n - kk + 2.0)) * (Q - P * mean);
	if (var > 0)
	{
		out->p_value = lr_norm_lower_p(out->statistic, mean, sqrt(var));
		out->df = 0.0;
	}
}

int
lr_dw_result(const LrDW *w, const LrDiag *d, LrTest *out, LrTick tick)
{
	int			exact;

	out->df = NAN;
	out->p_value = NAN;
	out->statistic = w->den.hi > 0.0 ? dd_to_double(dd_div(w->num, w->den)) : NAN;
	if (w->n < 3 || isnan(out->statistic))
		return LR_OK;
	exact = w->mode > 0 || (w->mode < 0 && w->n < LR_DW_EXACT_ROWS);
	if (exact && w->n > w->cap)
		return LR_ENOROWS;
	if (exact)
	{
		int			n = (int) w->n,
					m,
					rc;
		double	   *ev = malloc(sizeof(double) * (size_t) n);

		if (!ev)
			return LR_ENOMEM;
		rc = dw_eigen(w->rowz, n, w->k, w->icpt, ev, &m, tick);
		if (rc == LR_OK && m > 0)
		{
			double		p;

			for (int i = 0; i < m; i++)
				ev[i] -= out->statistic;
			p = lr_qf_lower_p(ev, m);
			out->p_value = fmin(1.0, fmax(0.0, p));
			out->df = 1.0;
		}
		free(ev);
		return rc;
	}
	dw_approx(w, d, out);
	return LR_OK;
}
