/*
 * lr_stats.c — standard errors, tests and fit figures from the state.
 * See lr_stats.h.
 *
 * The residual sum of squares is evaluated as the quadratic form of the
 * state's raw shifted sums at the (rounded) coefficients, without any
 * division: for data with an exact fit (NIST Wampler1) it comes out exactly
 * zero, where the textbook C_yy - b'A^-1 b would leave 1e-32 * C_yy.
 * The inverse of the cross-product matrix comes from a double-double
 * Cholesky of the equilibrated matrix over the kept features.
 */
#include "lr_stats.h"
#include "lr_moments.h"
#include "lr_solve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MATHLIB_STANDALONE 1
#include <Rmath.h>

double
lr_t_two_sided_p(double t, double df)
{
	if (isnan(t) || !(df > 0))
		return NAN;
	return 2.0 * pt(-fabs(t), df, 1, 0);
}

double
lr_t_quantile(double p, double df)
{
	if (!(df > 0))
		return NAN;
	return qt(p, df, 1, 0);
}

double
lr_f_upper_p(double f, double df1, double df2)
{
	if (isnan(f) || !(df1 > 0) || !(df2 > 0))
		return NAN;
	return pf(f, df1, df2, 0, 0);
}

double
lr_chisq_upper_p(double x, double df)
{
	if (isnan(x) || !(df > 0))
		return NAN;
	return pchisq(x, df, 0, 0);
}

double
lr_norm_lower_p(double x, double mean, double sd)
{
	if (isnan(x) || !(sd > 0))
		return NAN;
	return pnorm(x, mean, sd, 1, 0);
}

/* Residual sum of squares at coefficients coef (intercept first), from the raw sums. */
LR_HOT static dd
residual_ss(const double *coef, int icpt, const LrState *s)
{
	int			p = s->nfeat;
	int			d = p + 1;
	const double *beta = coef + icpt;
	const double *K = lr_cshift(s);
	const double *ch = lr_ccross_hi(s),
			   *cl = lr_ccross_lo(s);
	const double *sh = lr_csum_hi(s),
			   *sl = lr_csum_lo(s);
	dd			W = dd_two_sum(s->wsum_hi, s->wsum_lo);
	dd			Q,
				S,
				c;

	/* a_i = u_y - sum_j beta_j u_j:  Q = sum w a^2,  S = sum w a */
	Q = dd_two_sum(ch[lr_tri_index(d, p, p)], cl[lr_tri_index(d, p, p)]);
	S = dd_two_sum(sh[p], sl[p]);
	c = icpt ? dd_two_sum(K[p], -coef[0]) : dd_from(0.0);
	for (int i = 0; i < p; i++)
	{
		size_t		iy = lr_tri_index(d, i, p);

		if (beta[i] == 0.0)
			continue;
		Q = dd_sub(Q, dd_mul_d(dd_two_sum(ch[iy], cl[iy]), 2.0 * beta[i]));
		S = dd_sub(S, dd_mul_d(dd_two_sum(sh[i], sl[i]), beta[i]));
		c = dd_sub(c, dd_two_prod(beta[i], K[i]));
		for (int j = 0; j < p; j++)
		{
			size_t		ij = i <= j ? lr_tri_index(d, i, j) : lr_tri_index(d, j, i);

			if (beta[j] == 0.0)
				continue;
			Q = dd_add(Q, dd_mul(dd_two_sum(ch[ij], cl[ij]), dd_two_prod(beta[i], beta[j])));
		}
	}
	/* sum w (a + c)^2 = Q + 2 c S + W c^2 */
	return dd_add(Q, dd_add(dd_mul_d(dd_mul(c, S), 2.0), dd_mul(W, dd_mul(c, c))));
}

/*
 * X = L^-1 for the kept block of A (scaled), from the double-double
 * Cholesky factor L.  X is lower triangular and stored by columns: column
 * c (rows c..k-1) starts at col_start(k, c), so every inner loop below runs
 * over contiguous memory.
 */
static inline size_t
col_start(int k, int c)
{
	return (size_t) c * (size_t) k - (size_t) c * (size_t) (c - 1) / 2;
}

/* X[i][c], i >= c */
static inline dd *
xat(dd *X, int k, int i, int c)
{
	return X + col_start(k, c) + (size_t) (i - c);
}

LR_HOT static int
factor_inverse(const LrMoments *mo, int *kept, int k, dd **X_out)
{
	size_t		tri = (size_t) k * (size_t) (k + 1) / 2;
	dd		   *L = malloc(sizeof(dd) * (tri > 0 ? tri : 1));
	dd		   *X = calloc(tri > 0 ? tri : 1, sizeof(dd));
	int			kk = k;

	if (!L || !X)
	{
		free(L);
		free(X);
		return LR_ENOMEM;
	}
	if (lr_cholesky_dd(mo, kept, &kk, -1.0, L, NULL) != 0 || kk != k)
	{
		free(L);
		free(X);
		return LR_ENOROWS;
	}
	/* column c of L^-1: forward substitution of e_c */
	for (int c = 0; c < k; c++)
	{
		dd		   *xc = xat(X, k, c, c);

		xc[0] = dd_div(dd_from(1.0), L[(size_t) c * (c + 1) / 2 + c]);
		for (int i = c + 1; i < k; i++)
		{
			const dd   *ri = L + (size_t) i * (i + 1) / 2;

			xc[i - c] = dd_neg(dd_div(dd_dot(ri + c, 1, xc, 1, i - c), ri[i]));
		}
	}
	free(L);
	*X_out = X;
	return LR_OK;
}

/*
 * (X'WX)^-1 in dd over the terms: with intercept, for features i, j
 * (centred Gram C):  V_ij = Cinv_ij,  V_0j = -(Cinv m)_j,
 * V_00 = 1/W + m' Cinv m, where m are the feature means.  Cinv = S Ainv S.
 * Fills diag only when full is 0.
 */
LR_HOT static int
unscaled(const LrModel *m, double *diag, double *full)
{
	const LrState *s = lr_model_state(m);
	int			p = m->nfeat;
	int			icpt = m->intercept;
	int			nt = p + icpt;
	const unsigned char *al = lr_model_caliased(m);
	LrMoments	mo;
	int		   *kept = NULL;
	int			k = 0;
	dd		   *Li = NULL;
	dd		   *g = NULL;		/* L^-1 (S m) over kept */
	int			rc;

	rc = lr_moments_build(s, &mo);
	if (rc != LR_OK)
		return rc;
	kept = malloc(sizeof(int) * (size_t) (p > 0 ? p : 1));
	g = calloc((size_t) (p > 0 ? p : 1), sizeof(dd));
	if (!kept || !g)
	{
		rc = LR_ENOMEM;
		goto done;
	}
	for (int j = 0; j < p; j++)
		if (!al[icpt + j])
		{
			if (mo.scale[j] == 0.0)
			{
				rc = LR_ENOROWS;	/* kept by the model, constant here */
				goto done;
			}
			kept[k++] = j;
		}
	rc = factor_inverse(&mo, kept, k, &Li);
	if (rc != LR_OK)
		goto done;

	for (int a = 0; a < nt; a++)
	{
		if (diag)
			diag[a] = NAN;
		if (full)
			for (int b = 0; b < nt; b++)
				full[(size_t) a * nt + b] = NAN;
	}
	/* g = L^-1 (S m) */
	if (icpt)
		for (int a = 0; a < k; a++)
			for (int j = 0; j <= a; j++)
				g[a] = dd_add(g[a], dd_mul(*xat(Li, k, a, j),
										   dd_mul_d(mo.mean[kept[j]], mo.scale[kept[j]])));
	for (int a = 0; a < k; a++)
	{
		int			ja = kept[a];

		for (int b = full ? 0 : a; b <= (full ? k - 1 : a); b++)
		{
			int			jb = kept[b];
			int			lo = a > b ? a : b;
			/* (L^-T L^-1)_ab = sum over rows r >= max(a, b) of X[r][a] X[r][b] */
			dd			v = dd_dot(xat(Li, k, lo, a), 1, xat(Li, k, lo, b), 1, k - lo);

			v = dd_mul_d(v, mo.scale[ja] * mo.scale[jb]);
			if (a == b && diag)
				diag[icpt + ja] = dd_to_double(v);
			if (full)
				full[(size_t) (icpt + ja) * nt + icpt + jb] = dd_to_double(v);
		}
	}
	if (icpt)
	{
		/* V_00 = 1/W + |g|^2;  V_0j = -(S Ainv S m)_j = -s_j (L^-T g)_j */
		dd			v00 = dd_div(dd_from(1.0), mo.W);

		for (int a = 0; a < k; a++)
			v00 = dd_add(v00, dd_mul(g[a], g[a]));
		if (diag)
			diag[0] = dd_to_double(v00);
		if (full)
		{
			full[0] = dd_to_double(v00);
			for (int a = 0; a < k; a++)
			{
				dd			v = dd_from(0.0);

				v = dd_dot(xat(Li, k, a, a), 1, g + a, 1, k - a);
				v = dd_neg(dd_mul_d(v, mo.scale[kept[a]]));
				full[icpt + kept[a]] = dd_to_double(v);
				full[(size_t) (icpt + kept[a]) * nt] = dd_to_double(v);
			}
		}
	}
	rc = LR_OK;
done:
	free(kept);
	free(g);
	free(Li);
	lr_moments_free(&mo);
	return rc;
}

double
lr_state_sse(const LrState *s, const double *coef, int intercept)
{
	dd			v;

	if (s->nfeat < 0 || s->rows == 0)
		return 0.0;
	v = residual_ss(coef, intercept, s);
	return v.hi > 0.0 ? dd_to_double(v) : 0.0;
}

dd
lr_state_sse_dd(const LrState *s, const double *coef, int intercept)
{
	dd			v;

	if (s->nfeat < 0 || s->rows == 0)
		return dd_from(0.0);
	v = residual_ss(coef, intercept, s);
	return v.hi > 0.0 ? v : dd_from(0.0);
}

int
lr_unscaled_cov(const LrModel *m, double *out)
{
	return unscaled(m, NULL, out);
}

int
lr_stats(const LrModel *m, LrStats *st, double *se, double *cov)
{
	const LrState *s = lr_model_state(m);
	int			icpt = m->intercept;
	int			nt = lr_model_nterms(m);
	double		n = (double) s->rows;
	double		df1;
	double		s2;
	int			rc;
	LrMoments	mo;
	dd			rss,
				tss,
				ess;

	memset(st, 0, sizeof(*st));
	st->n = s->rows;
	st->nterms = nt;
	st->rank = m->rank;
	st->df_resid = n - m->rank;

	rss = residual_ss(m->coef, icpt, s);
	st->rss = rss.hi > 0.0 ? dd_to_double(rss) : 0.0;
	rc = lr_moments_build(s, &mo);
	if (rc != LR_OK)
		return rc;
	{
		int			d = s->nfeat + 1;

		tss = mo.C[lr_tri_index(d, d - 1, d - 1)];
	}
	lr_moments_free(&mo);
	if (!(rss.hi > 0.0))
		rss = dd_from(0.0);
	/* the explained sum of squares in double-double: R^2 near 0 keeps its digits */
	ess = dd_sub(tss, rss);
	if (m->rank == icpt || ess.hi < 0.0)
		ess = dd_from(0.0);		/* nothing explained beyond the mean (or rounding) */
	st->tss = dd_to_double(tss);

	st->sigma = st->df_resid > 0 ? sqrt(st->rss / st->df_resid) : NAN;
	st->r2 = st->tss > 0 ? dd_to_double(dd_div(ess, tss)) : NAN;
	st->adj_r2 = st->df_resid > 0 ? 1.0 - (1.0 - st->r2) * ((n - icpt) / st->df_resid) : NAN;
	df1 = (double) (m->rank - icpt);
	st->f_df1 = df1;
	st->f_df2 = st->df_resid;
	if (df1 > 0 && st->df_resid > 0)
	{
		st->fstat = rss.hi > 0.0
			? dd_to_double(dd_div(dd_mul_d(ess, st->df_resid), dd_mul_d(rss, df1)))
			: (ess.hi > 0.0 ? INFINITY : NAN);
		st->f_pvalue = lr_f_upper_p(st->fstat, df1, st->df_resid);
	}
	else
		st->fstat = st->f_pvalue = NAN;
	/* R's logLik.lm: 0.5 (sum log w - n (log 2pi + 1 - log n + log rss)) */
	st->loglik = 0.5 * (dd_to_double(dd_two_sum(s->logw_hi, s->logw_lo)) -
						n * (log(2.0 * M_PI) + 1.0 - log(n) + log(st->rss)));
	st->aic = -2.0 * st->loglik + 2.0 * (m->rank + 1);
	st->bic = -2.0 * st->loglik + log(n) * (m->rank + 1);

	/* standard errors: sqrt(sigma^2 diag (X'WX)^-1) */
	rc = unscaled(m, cov ? NULL : se, cov);
	if (rc != LR_OK)
		return rc;
	s2 = st->df_resid > 0 ? st->rss / st->df_resid : NAN;
	if (cov)
	{
		for (size_t k = 0; k < (size_t) nt * nt; k++)
			cov[k] *= s2;
		for (int a = 0; a < nt; a++)
			se[a] = sqrt(cov[(size_t) a * nt + a]);
	}
	else
		for (int a = 0; a < nt; a++)
			se[a] = sqrt(s2 * se[a]);
	return LR_OK;
}
