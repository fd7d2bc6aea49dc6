/*
 * lr_solve.c — coefficients from the state: moments, equilibration, LAPACK
 * Cholesky with double-double refinement, and a double-double Cholesky for
 * problems too ill-conditioned for float64.  See lr_solve.h.
 */
#include "lr_solve.h"
#include "dd.h"

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

/* The scaled normal equations over all p features. */
typedef struct Problem
{
	int			p;
	dd		   *A;				/* p x p, row-major, both triangles */
	dd		   *b;				/* p */
	int		   *kept;			/* indices of the features still in the fit */
	int			k;				/* how many */
} Problem;

static inline dd
A_at(const Problem *pr, int i, int j)
{
	return pr->A[(size_t) i * (size_t) pr->p + (size_t) j];
}

/* r = b - A x over the kept features, in double-double. */
static void
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
		if (step <= LR_REFINE_DONE * size)
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

/*
 * Double-double Cholesky, row by row in the natural order (R's lm order):
 * a feature whose pivot falls under tol times its diagonal is aliased and
 * skipped.  Updates pr->kept/k to the surviving features, then solves with
 * two refinement steps.
 */
static int
solve_dd(Problem *pr, double tol, dd *x, unsigned char *alias_feat, double *cond)
{
	int			k0 = pr->k;
	int			k = 0;
	size_t		tri = (size_t) k0 * (size_t) (k0 + 1) / 2;
	dd		   *L = malloc(sizeof(dd) * (tri > 0 ? tri : 1));	/* packed rows */
	dd		   *r = malloc(sizeof(dd) * (size_t) (k0 > 0 ? k0 : 1));
	dd		   *y = malloc(sizeof(dd) * (size_t) (k0 > 0 ? k0 : 1));
	double	   *M = NULL;
	int			rc = LR_OK;

	if (!L || !r || !y)
	{
		rc = LR_ENOMEM;
		goto done;
	}
	for (int q = 0; q < k0; q++)
	{
		int			c = pr->kept[q];
		dd		   *row = L + (size_t) k * (size_t) (k + 1) / 2;
		dd			piv = A_at(pr, c, c);

		/* forward substitution: L[0..k-1] row = A[kept][c] */
		for (int a = 0; a < k; a++)
		{
			const dd   *ra = L + (size_t) a * (size_t) (a + 1) / 2;
			dd			v = A_at(pr, pr->kept[a], c);

			for (int m = 0; m < a; m++)
				v = dd_sub(v, dd_mul(ra[m], row[m]));
			row[a] = dd_div(v, ra[a]);
			piv = dd_sub(piv, dd_mul(row[a], row[a]));
		}
		if (!(piv.hi > tol * A_at(pr, c, c).hi))
		{
			alias_feat[c] = 1;
			continue;
		}
		row[k] = dd_sqrt(piv);
		pr->kept[k++] = c;
	}
	pr->k = k;

	for (int a = 0; a < k; a++)
		x[a] = dd_from(0.0);
	for (int it = 0; it < 3; it++)
	{
		residual(pr, x, r);
		/* L y = r */
		for (int a = 0; a < k; a++)
		{
			const dd   *ra = L + (size_t) a * (size_t) (a + 1) / 2;
			dd			v = r[a];

			for (int m = 0; m < a; m++)
				v = dd_sub(v, dd_mul(ra[m], y[m]));
			y[a] = dd_div(v, ra[a]);
		}
		/* L^T dx = y, in place in y */
		for (int a = k - 1; a >= 0; a--)
		{
			dd			v = y[a];

			for (int m = a + 1; m < k; m++)
				v = dd_sub(v, dd_mul(L[(size_t) m * (size_t) (m + 1) / 2 + a], y[m]));
			y[a] = dd_div(v, L[(size_t) a * (size_t) (a + 1) / 2 + a]);
		}
		for (int a = 0; a < k; a++)
			x[a] = dd_add(x[a], y[a]);
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
			for (int m = 0; m <= a; m++)
				M[(size_t) m * k + a] = L[(size_t) a * (size_t) (a + 1) / 2 + m].hi;
		rc = rcond_of_factor(M, k, anorm_kept(pr), cond);
	}
done:
	free(L);
	free(r);
	free(y);
	free(M);
	return rc;
}

int
lr_solve(const LrState *s, double tol, LrSolution *out)
{
	int			p = s->nfeat;
	int			d = p + 1;
	int			icpt = s->intercept;
	const double *K = lr_cshift(s);
	const double *sh = lr_csum_hi(s),
			   *sl = lr_csum_lo(s),
			   *ch = lr_ccross_hi(s),
			   *cl = lr_ccross_lo(s);
	dd			W;
	dd		   *t = NULL,
			   *C = NULL,
			   *x = NULL;
	double	   *scale = NULL;
	unsigned char *alias_feat = NULL;
	Problem		pr = {p, NULL, NULL, NULL, 0};
	int			rc = LR_OK;

	if (p < 0 || s->rows == 0)
		return LR_ENOROWS;
	if (!(tol >= 0.0 && tol < 1.0))
		return LR_EBADTOL;

	out->nterms = p + icpt;
	memset(out->coef, 0, sizeof(double) * (size_t) out->nterms);
	memset(out->aliased, 0, (size_t) out->nterms);
	out->cond = 1.0;
	out->method = LR_METHOD_LAPACK;

	t = malloc(sizeof(dd) * (size_t) d);
	C = malloc(sizeof(dd) * lr_tri_len(d));
	x = malloc(sizeof(dd) * (size_t) (p > 0 ? p : 1));
	scale = malloc(sizeof(double) * (size_t) (p > 0 ? p : 1));
	alias_feat = calloc((size_t) (p > 0 ? p : 1), 1);
	pr.A = malloc(sizeof(dd) * (size_t) (p > 0 ? p : 1) * (size_t) (p > 0 ? p : 1));
	pr.b = malloc(sizeof(dd) * (size_t) (p > 0 ? p : 1));
	pr.kept = malloc(sizeof(int) * (size_t) (p > 0 ? p : 1));
	if (!t || !C || !x || !scale || !alias_feat || !pr.A || !pr.b || !pr.kept)
	{
		rc = LR_ENOMEM;
		goto done;
	}

	/* Moments: t = sum / W, C = cross - t sum^T (centred) or cross (origin). */
	W = dd_two_sum(s->wsum_hi, s->wsum_lo);
	for (int j = 0; j < d; j++)
		t[j] = icpt ? dd_div(dd_two_sum(sh[j], sl[j]), W) : dd_from(0.0);
	for (int i = 0, k = 0; i < d; i++)
		for (int j = i; j < d; j++, k++)
		{
			C[k] = dd_two_sum(ch[k], cl[k]);
			if (icpt)
				C[k] = dd_sub(C[k], dd_mul(t[i], dd_two_sum(sh[j], sl[j])));
		}

	/* Constant features are aliased (with the intercept, or as all-zero). */
	for (int j = 0; j < p; j++)
	{
		dd			cjj = C[lr_tri_index(d, j, j)];
		dd			mean = dd_add_d(t[j], K[j]);
		double		raw = dd_add(cjj, dd_mul(W, dd_mul(mean, mean))).hi;
		int			e;

		if (!(cjj.hi > LR_CONSTANT_RATIO * raw))
		{
			alias_feat[j] = 1;
			scale[j] = 0.0;
			continue;
		}
		frexp(sqrt(cjj.hi), &e);
		scale[j] = ldexp(1.0, -e);
		pr.kept[pr.k++] = j;
	}
	/* Scaled normal equations: A = S Cxx S, b = S Cxy (powers of two: exact). */
	for (int i = 0; i < p; i++)
	{
		for (int j = 0; j < p; j++)
		{
			dd			v = C[i <= j ? lr_tri_index(d, i, j) : lr_tri_index(d, j, i)];

			pr.A[(size_t) i * p + j] = dd_make(v.hi * scale[i] * scale[j], v.lo * scale[i] * scale[j]);
		}
		pr.b[i] = dd_make(C[lr_tri_index(d, i, p)].hi * scale[i], C[lr_tri_index(d, i, p)].lo * scale[i]);
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
		dd			b0 = dd_add_d(t[p], K[p]);

		for (int a = 0; a < pr.k; a++)
		{
			int			j = pr.kept[a];
			dd			beta = dd_make(x[a].hi * scale[j], x[a].lo * scale[j]);

			out->coef[icpt + j] = dd_to_double(beta);
			if (icpt)
				b0 = dd_sub(b0, dd_mul(beta, dd_add_d(t[j], K[j])));
		}
		if (icpt)
			out->coef[0] = dd_to_double(b0);
		for (int j = 0; j < p; j++)
			out->aliased[icpt + j] = alias_feat[j];
		out->rank = pr.k + icpt;
	}
done:
	free(t);
	free(C);
	free(x);
	free(scale);
	free(alias_feat);
	free(pr.A);
	free(pr.b);
	free(pr.kept);
	return rc;
}
