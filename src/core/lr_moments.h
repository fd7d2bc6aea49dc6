/*
 * lr_moments.h — the normal equations of a state, in double-double, shared
 * by the solver (lr_solve.c) and the statistics (lr_stats.c).
 *
 * Plain C, no PostgreSQL header.
 */
#ifndef FLINKML_LR_MOMENTS_H
#define FLINKML_LR_MOMENTS_H

#include "dd.h"
#include "lr_state.h"

typedef struct LrMoments
{
	int			p;				/* features */
	int			intercept;
	dd			W;				/* sum of weights */
	dd		   *mean;			/* [p+1]: K + sum/W with intercept, else 0 */
	dd		   *C;				/* packed (p+1)(p+2)/2: centred (or, without
								 * intercept, raw) cross products of [x, y] */
	double	   *scale;			/* [p]: power-of-two column scale; 0 = constant */
	dd		   *A;				/* [p*p] row-major: S Cxx S */
	dd		   *b;				/* [p]: S Cxy */
	int		   *kept;			/* [p]: non-constant features, in order */
	int			k;				/* how many */
} LrMoments;

/* Build from a state holding rows; returns LR_OK or LR_ENOMEM. */
int			lr_moments_build(const LrState *s, LrMoments *m);
void		lr_moments_free(LrMoments *m);

static inline dd
lr_moments_A(const LrMoments *m, int i, int j)
{
	return m->A[(size_t) i * (size_t) m->p + (size_t) j];
}

/*
 * Double-double Cholesky of A over the features in kept[0..k-1], in that
 * order, packed by rows into L (k(k+1)/2 entries).  A feature whose pivot
 * falls under tol times its diagonal is dropped (marked in drop[feature])
 * and removed from kept; *k is updated.  With tol < 0 nothing is dropped
 * and a nonpositive pivot returns -1.
 */
int			lr_cholesky_dd(const LrMoments *m, int *kept, int *k, double tol,
						   dd *L, unsigned char *drop);

/* Solve L L^T x = r in place (x overwrites r), L packed by rows, order k. */
void		lr_cholesky_solve_dd(const dd *L, int k, dd *r);

#endif							/* FLINKML_LR_MOMENTS_H */
