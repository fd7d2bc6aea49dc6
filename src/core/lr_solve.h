/*
 * lr_solve.h — least-squares coefficients from a regression state.
 *
 * Plain C, no PostgreSQL header.  The state is never modified.
 */
#ifndef FLINKML_LR_SOLVE_H
#define FLINKML_LR_SOLVE_H

#include "lr_state.h"

/*
 * Default aliasing tolerance.  Working in the natural column order (as R's
 * lm does), a feature is aliased when the part of it that the earlier kept
 * features do not explain has a squared norm below tol times its own
 * squared norm (centred when the fit has an intercept): relative residual
 * norm below 1e-10.  R's lm uses 1e-7 on the norm (1e-14 on the square),
 * which drops a column of NIST Filip (whose smallest ratio is 3.7e-15);
 * columns that are exact combinations of others, rounded to float8, land
 * near 1e-30.
 */
#define LR_DEFAULT_TOL 1e-20

/* How the coefficients were obtained. */
#define LR_METHOD_LAPACK 1		/* LAPACK Cholesky + double-double refinement */
#define LR_METHOD_DD	 2		/* double-double Cholesky + refinement */

typedef struct LrSolution
{
	int			nterms;			/* intercept (if any) + features */
	int			rank;			/* non-aliased terms, intercept included */
	int			method;			/* LR_METHOD_* */
	double		cond;			/* 1-norm condition number, see lr_solve() */
	double	   *coef;			/* [nterms], intercept first; aliased = 0 */
	unsigned char *aliased;		/* [nterms], 1 for aliased terms */
} LrSolution;

/* Result codes. */
#define LR_OK		   0
#define LR_ENOROWS	  -1		/* the state holds no row */
#define LR_ENOMEM	  -2
#define LR_EBADTOL	  -3
#define LR_EBADLAMBDA -4
#define LR_EOVERFLOW  -5		/* sums or coefficients beyond float64 */

/*
 * Solve the least-squares problem held in s.  The caller provides coef and
 * aliased arrays of nterms = p + intercept entries.
 *
 * Method: the centred (or, without intercept, uncentred) cross-product
 * matrix A and right-hand side b are formed in double-double from the state;
 * columns are scaled by powers of two to unit-order diagonal (exact);
 * LAPACK's Cholesky factors the float64 rounding of the scaled matrix and
 * iterative refinement against the double-double A brings the solution to
 * double-double accuracy.  When LAPACK's factor fails, shows a pivot under
 * the aliasing tolerance, or refinement stops converging (a condition near
 * 1/eps, as NIST Filip), the matrix is factored in double-double with the
 * aliased columns skipped in order.  The intercept is mean_y - mean_x . beta.
 *
 * cond is LAPACK's estimate (dpocon) of the 1-norm condition number of the
 * scaled cross-product matrix of the kept features; 1 when there are none.
 */
int			lr_solve(const LrState *s, double tol, LrSolution *out);

/*
 * Ridge regression on standardised features, coefficients on the original
 * scale: minimises (1/W) sum w (y - b0 - x.beta)^2 + lambda sum (s_j beta_j)^2
 * where s_j is feature j's weighted population standard deviation (its root
 * mean square without intercept); the intercept is not penalised.
 * Equivalently (Cxx + lambda diag(Cxx)) beta = Cxy.  lambda = 0 is lr_solve.
 */
int			lr_solve_ridge(const LrState *s, double tol, double lambda, LrSolution *out);

#endif							/* FLINKML_LR_SOLVE_H */
