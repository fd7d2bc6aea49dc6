/*
 * lr_solve.c — coefficients from the state: moments, equilibration, LAPACK
 * Cholesky with double-double refinement, and a double-double Cholesky for
 * problems too ill-conditioned for float64.  See lr_solve.h.
 */
#include "lr_solve.h"
#include "lr_moments.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK, Fortran calling convention (gfortran passes string lengths last). */
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda,
					int *info, size_t uplo_len);
extern void dpotrs_(const char *uplo, const int *n, const int *nrhs,
					const double *a, const int *lda, double *b, const int *ldb,
					int *info, size_t uplo_len);
extern void dpocon_(const char *uplo, const int *n, const double *a,
					const int *lda, const double *anorm, double *rcond,
					double *work, int *iwork, int *info, size_t uplo_len);

/* A feature whose centred spread is below this, relative to its magnitude, is constant. */
#define LR_CONSTANT_RATIO 1e-24
/* Refinement stops when the correction is below this, relative to x. */
#define LR_REFINE_DONE 1e-31
#define LR_REFINE_MAX 40
/* Smallest relative pivot the float64 factorisation is trusted with. */
#define LR_FLOAT64_PIVOT 1e-8

typedef LrMoments Problem;

static inline dd
A_at(const Problem *pr, int i, int j)
{
	return lr_moments_A(pr, i, j);
}

/* r = b - A x over the kept features, in double-double. */
LR_HOT static void
residual(const Problem *pr, const dd *x, dd *r)
{
	for (int a = 0; a < pr->k; a++)
	{
		int			i = pr->kept[a];
		dd			acc = pr->b[i];

		for (int c = 0; c < pr->k; c++)
			acc = dd_sub(acc, dd_mul(A_at(pr, i, pr->kept[c]), x[c]));
		r[a] = acc;
	}
}

static double
norm_inf_hi(const dd *v, int n)
{
	double		m = 0.0;

	for (int i = 0; i < n; i++)
		m = fmax(m, fabs(v[i].hi));
	return m;
}

/* 1-norm of the float64 rounding of A over the kept features. */
static double
anorm_kept(const Problem *pr)
{
	double		best = 0.0;

	for (int c = 0; c < pr->k; c++)
	{
		double		col = 0.0;

		for (int a = 0; a < pr->k; a++)
			col += fabs(A_at(pr, pr->kept[a], pr->kept[c]).hi);
		best = fmax(best, col);
	}
	return best;
}

static int
rcond_of_factor(const double *M, int k, double anorm, double *cond)
{
	double	   *work = malloc(sizeof(double) * 3 * (size_t) k);
	int		   *iwork = malloc(sizeof(int) * (size_t) k);
	double		rcond = 0.0;
	int			info = 0;

	if (!work || !iwork)
	{
		free(work);
		free(iwork);
		return LR_ENOMEM;
	}
	dpocon_("L", &k, M, &k, &anorm, &rcond, work, iwork, &info, 1);
	/* a condition number is at least 1; the estimate can round just below */
	*cond = rcond > 0.0 ? fmax(1.0, 1.0 / rcond) : INFINITY;
	free(work);
	free(iwork);
	return LR_OK;
}

/*
 * LAPACK Cholesky of the float64 matrix, then refinement in double-double.
 * Returns 1 on success (x holds the solution over kept), 0 when the
 * double-double factorisation must take over, or LR_ENOMEM.
 */
static int
solve_lapack(const Problem *pr, double tol, dd *x, double *cond)
{
	int			k = pr->k;
	int			one = 1;
	int			info = 0;
	int			ok = 0;
	double		anorm = anorm_kept(pr);
	double		prev = INFINITY;
	double	   *M = malloc(sizeof(double) * (size_t) k * (size_t) k);
	double	   *rhs = malloc(sizeof(double) * (size_t) k);
	dd		   *r = malloc(sizeof(dd) * (size_t) k);

	if (!M || !rhs || !r)
	{
		ok = LR_ENOMEM;
		goto done;
	}
	for (int c = 0; c < k; c++)
		for (int a = 0; a < k; a++)
			M[(size_t) c * k + a] = A_at(pr, pr->kept[a], pr->kept[c]).hi;
	dpotrf_("L", &k, M, &k, &info, 1);
	if (info != 0)
		goto done;
	/*
	 * An unpivoted Cholesky's squared diagonal is the ordered pivot.  In
	 * float64 a pivot is only resolved well above the rounding level, so
	 * aliasing is decided here only when every pivot is clearly large; any
	 * smaller pivot sends the problem to the double-double factorisation.
	 */
	for (int a = 0; a < k; a++)
	{
		double		l = M[(size_t) a * k + a];

		if (l * l < fmax(LR_FLOAT64_PIVOT, 16.0 * tol) * A_at(pr, pr->kept[a], pr->kept[a]).hi)
			goto done;
	}
	if (rcond_of_factor(M, k, anorm, cond) != LR_OK)
	{
		ok = LR_ENOMEM;
		goto done;
	}

	for (int a = 0; a < k; a++)
		x[a] = dd_from(0.0);
	for (int it = 0; it < LR_REFINE_MAX; it++)
	{
		double		step,
					size;

		residual(pr, x, r);
		for (int a = 0; a < k; a++)
			rhs[a] = r[a].hi;
		dpotrs_("L", &k, &one, M, &k, rhs, &k, &info, 1);
		step = 0.0;
		for (int a = 0; a < k; a++)
		{
			x[a] = dd_add_d(x[a], rhs[a]);
			step = fmax(step, fabs(rhs[a]));
		}
		size = norm_inf_hi(x, k);
		/*
		 * Done when the correction is at the level double-double arithmetic
		 * resolves for this conditioning (about cond * 2^-106), or below.
		 */
		if (step <= fmax(LR_REFINE_DONE, 8.0 * *cond * 0x1p-106) * size)
		{
			ok = 1;
			break;
		}
		/* converging at least by half each step, or give up */
		if (it >= 2 && step > 0.5 * prev)
			break;
		prev = step;
	}
done:
	free(M);
	free(rhs);
	free(r);
	return ok;
}

LR_HOT int
lr_cholesky_dd(const LrMoments *m, int *kept, int *kp, double tol, dd *L, unsigned char *drop)
{
	int			k0 = *kp;
	int			k = 0;

	for (int q = 0; q < k0; q++)
	{
		int			c = kept[q];
		dd		   *row = L + (size_t) k * (size_t) (k + 1) / 2;
		dd			piv = lr_moments_A(m, c, c);

		/* forward substitution: row = L^-1 A[kept][c] */
		for (int a = 0; a < k; a++)
		{
			const dd   *ra = L + (size_t) a * (size_t) (a + 1) / 2;
			dd			v = dd_sub(lr_moments_A(m, kept[a], c), dd_dot(ra, 1, row, 1, a));

			row[a] = dd_div(v, ra[a]);
		}
		piv = dd_sub(piv, dd_dot(row, 1, row, 1, k));
		if (tol < 0.0 && !(piv.hi > 0.0))
			return -1;
		if (tol >= 0.0 && !(piv.hi > tol * lr_moments_A(m, c, c).hi))
		{
			drop[c] = 1;
			continue;
		}
		row[k] = dd_sqrt(piv);
		kept[k++] = c;
	}
	*kp = k;
	return 0;
}

LR_HOT void
lr_cholesky_solve_dd(const dd *L, int k, dd *r)
{
	/* L y = r */
	for (int a = 0; a < k; a++)
	{
		const dd   *ra = L + (size_t) a * (size_t) (a + 1) / 2;
		dd			v = r[a];

		for (int j = 0; j < a; j++)
			v = dd_sub(v, dd_mul(ra[j], r[j]));
		r[a] = dd_div(v, ra[a]);
	}
	/* L^T x = y */
	for (int a = k - 1; a >= 0; a--)
	{
		dd			v = r[a];

		for (int j = a + 1; j < k; j++)
			v = dd_sub(v, dd_mul(L[(size_t) j * (size_t) (j + 1) / 2 + a], r[j]));
		r[a] = dd_div(v, L[(size_t) a * (size_t) (a + 1) / 2 + a]);
	}
}

/*
 * Double-double Cholesky in the natural order (R's lm order), aliased
 * features skipped; then the solve with two refinement steps.
 */
static int
solve_dd(Problem *pr, double tol, dd *x, unsigned char *alias_feat, double *cond)
{
	int			k0 = pr->k;
	size_t		tri = (size_t) k0 * (size_t) (k0 + 1) / 2;
	dd		   *L = malloc(sizeof(dd) * (tri > 0 ? tri : 1));
	dd		   *r = malloc(sizeof(dd) * (size_t) (k0 > 0 ? k0 : 1));
	double	   *M = NULL;
	int			rc = LR_OK;
	int			k;

	if (!L || !r)
	{
		rc = LR_ENOMEM;
		goto done;
	}
	lr_cholesky_dd(pr, pr->kept, &pr->k, tol, L, alias_feat);
	k = pr->k;
	for (int a = 0; a < k; a++)
		x[a] = dd_from(0.0);
	for (int it = 0; it < 3; it++)
	{
		residual(pr, x, r);
		lr_cholesky_solve_dd(L, k, r);
		for (int a = 0; a < k; a++)
			x[a] = dd_add(x[a], r[a]);
	}

	/* condition estimate from the float64 rounding of the factor */
	*cond = 1.0;
	if (k > 0)
	{
		M = calloc((size_t) k * (size_t) k, sizeof(double));
		if (!M)
		{
			rc = LR_ENOMEM;
			goto done;
		}
		for (int a = 0; a < k; a++)
			for (int j = 0; j <= a; j++)
				M[(size_t) j * k + a] = L[(size_t) a * (size_t) (a + 1) / 2 + j].hi;
		rc = rcond_of_factor(M, k, anorm_kept(pr), cond);
	}
done:
	free(L);
	free(r);
	free(M);
	return rc;
}

LR_HOT int
lr_moments_build(const LrState *s, LrMoments *m)
{
	int			p = s->nfeat;
	int			d = p + 1;
	int			icpt = s->intercept;
	const double *K = lr_cshift(s);
	const double *sh = lr_csum_hi(s),
			   *sl = lr_csum_lo(s),
			   *ch = lr_ccross_hi(s),
			   *cl = lr_ccross_lo(s);
	size_t		pp = (size_t) (p > 0 ? p : 1);
	dd		   *C;

	memset(m, 0, sizeof(*m));
	m->p = p;
	m->intercept = icpt;
	m->mean = malloc(sizeof(dd) * (size_t) d);
	m->C = C = malloc(sizeof(dd) * lr_tri_len(d));
	m->scale = malloc(sizeof(double) * pp);
	m->A = malloc(sizeof(dd) * pp * pp);
	m->b = malloc(sizeof(dd) * pp);
	m->kept = malloc(sizeof(int) * pp);
	if (!m->mean || !m->C || !m->scale || !m->A || !m->b || !m->kept)
	{
		lr_moments_free(m);
		return LR_ENOMEM;
	}

	/* t = sum / W, C = cross - t sum^T (centred) or cross (origin). */
	m->W = dd_two_sum(s->wsum_hi, s->wsum_lo);
	for (int j = 0; j < d; j++)
		m->mean[j] = icpt ? dd_div(dd_two_sum(sh[j], sl[j]), m->W) : dd_from(0.0);
	for (int i = 0, k = 0; i < d; i++)
		for (int j = i; j < d; j++, k++)
		{
			C[k] = dd_two_sum(ch[k], cl[k]);
			if (icpt)
				C[k] = dd_sub(C[k], dd_mul(m->mean[i], dd_two_sum(sh[j], sl[j])));
		}
	if (icpt)
		for (int j = 0; j < d; j++)
			m->mean[j] = dd_add_d(m->mean[j], K[j]);
	/* sums that overflowed float64 (rows near 1e154 and beyond) cannot be solved */
	for (size_t k = 0; k < lr_tri_len(d); k++)
		if (!isfinite(C[k].hi) || !isfinite(C[k].lo))
		{
			lr_moments_free(m);
			return LR_EOVERFLOW;
		}
	for (int j = 0; j < d; j++)
		if (!isfinite(m->mean[j].hi))
		{
			lr_moments_free(m);
			return LR_EOVERFLOW;
		}

	/*
	 * Columns of values so small that their squares underflow (|z| below
	 * about 1e-150) would look constant or lose precision: refuse them.
	 */
	for (int j = 0; j < d; j++)
	{
		dd			cjj = C[lr_tri_index(d, j, j)];
		double		raw = dd_add(cjj, dd_mul(m->W, dd_mul(m->mean[j], m->mean[j]))).hi;

		if (raw < 1e-280 * m->W.hi && (sh[j] != 0.0 || sl[j] != 0.0 || K[j] != 0.0))
		{
			lr_moments_free(m);
			return LR_EOVERFLOW;
		}
	}

	/* Constant features (with the intercept, or all-zero) are set aside. */
	for (int j = 0; j < p; j++)
	{
		dd			cjj = C[lr_tri_index(d, j, j)];
		double		raw = dd_add(cjj, dd_mul(m->W, dd_mul(m->mean[j], m->mean[j]))).hi;
		int			e;

		if (!(cjj.hi > LR_CONSTANT_RATIO * raw))
		{
			m->scale[j] = 0.0;
			continue;
		}
		frexp(sqrt(cjj.hi), &e);
		m->scale[j] = ldexp(1.0, -e);
		m->kept[m->k++] = j;
	}
	/* Scaled normal equations: A = S Cxx S, b = S Cxy (powers of two: exact). */
	for (int i = 0; i < p; i++)
	{
		dd			bi = C[lr_tri_index(d, i, p)];

		for (int j = 0; j < p; j++)
		{
			dd			v = C[i <= j ? lr_tri_index(d, i, j) : lr_tri_index(d, j, i)];
			double		f = m->scale[i] * m->scale[j];

			m->A[(size_t) i * p + j] = dd_make(v.hi * f, v.lo * f);
		}
		m->b[i] = dd_make(bi.hi * m->scale[i], bi.lo * m->scale[i]);
	}
	return LR_OK;
}

void
lr_moments_free(LrMoments *m)
{
	free(m->mean);
	free(m->C);
	free(m->scale);
	free(m->A);
	free(m->b);
	free(m->kept);
	memset(m, 0, sizeof(*m));
}

int
lr_solve(const LrState *s, double tol, LrSolution *out)
{
	return lr_solve_ridge(s, tol, 0.0, out);
}

int
lr_solve_ridge(const LrState *s, double tol, double lambda, LrSolution *out)
{
	int			p = s->nfeat;
	int			icpt = s->intercept;
	LrMoments	pr;
	unsigned char *alias_feat = NULL;
	dd		   *x = NULL;
	int			rc;

	if (p < 0 || s->rows == 0)
		return LR_ENOROWS;
	if (!(tol >= 0.0 && tol < 1.0))
		return LR_EBADTOL;
	if (!(lambda >= 0.0 && isfinite(lambda)))
		return LR_EBADLAMBDA;

	out->nterms = p + icpt;
	memset(out->coef, 0, sizeof(double) * (size_t) out->nterms);
	memset(out->aliased, 0, (size_t) out->nterms);
	out->cond = 1.0;
	out->method = LR_METHOD_LAPACK;

	rc = lr_moments_build(s, &pr);
	if (rc != LR_OK)
		return rc;
	x = malloc(sizeof(dd) * (size_t) (p > 0 ? p : 1));
	alias_feat = calloc((size_t) (p > 0 ? p : 1), 1);
	if (!x || !alias_feat)
	{
		rc = LR_ENOMEM;
		goto done;
	}
	for (int j = 0; j < p; j++)
		alias_feat[j] = pr.scale[j] == 0.0;

	/* Ridge on standardised features: (Cxx + lambda diag(Cxx)) beta = Cxy. */
	if (lambda > 0.0)
		for (int a = 0; a < pr.k; a++)
		{
			size_t		jj = (size_t) pr.kept[a] * (size_t) (p + 1);

			pr.A[jj] = dd_add(pr.A[jj], dd_mul_d(pr.A[jj], lambda));
		}

	if (pr.k > 0)
	{
		int			got = solve_lapack(&pr, tol, x, &out->cond);

		if (got == LR_ENOMEM)
		{
			rc = LR_ENOMEM;
			goto done;
		}
		if (got != 1)
		{
			out->method = LR_METHOD_DD;
			rc = solve_dd(&pr, tol, x, alias_feat, &out->cond);
			if (rc != LR_OK)
				goto done;
		}
	}

	/* Coefficients on the original scale; the intercept from the means. */
	{
		dd			b0 = pr.mean[p];

		for (int a = 0; a < pr.k; a++)
		{
			int			j = pr.kept[a];
			dd			beta = dd_make(x[a].hi * pr.scale[j], x[a].lo * pr.scale[j]);

			out->coef[icpt + j] = dd_to_double(beta);
			if (icpt)
				b0 = dd_sub(b0, dd_mul(beta, pr.mean[j]));
		}
		if (icpt)
			out->coef[0] = dd_to_double(b0);
		for (int j = 0; j < p; j++)
			out->aliased[icpt + j] = alias_feat[j];
		out->rank = pr.k + icpt;
	}
	rc = LR_OK;
	for (int t = 0; t < out->nterms; t++)
		if (!isfinite(out->coef[t]))
			rc = LR_EOVERFLOW;
	if (!(out->cond >= 1.0))
		out->cond = INFINITY;
done:
	free(x);
	free(alias_feat);
	lr_moments_free(&pr);
	return rc;
}
