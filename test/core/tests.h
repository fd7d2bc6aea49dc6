/*
 * tests.h -- the flinkml core unit tests: a tiny harness and shared helpers.
 *
 * Every test is a void function run by t_run(); a failed CHECK records the
 * first failure's detail and the test goes on (later checks of the same test
 * are not reported).  The binary prints "ok - name" or "not ok - name: detail"
 * per test and "core: N passed, N failed" at the end.
 */
#ifndef FLINKML_TESTS_H
#define FLINKML_TESTS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dd.h"
#include "core/lr_codec.h"
#include "core/lr_model.h"
#include "core/lr_solve.h"
#include "core/lr_state.h"

/* ---- harness ---- */
void		t_fail(const char *file, int line, const char *fmt,...) __attribute__((format(printf, 3, 4)));
int			t_failed(void);		/* the current test has failed */
void		t_run(const char *name, void (*fn) (void));

#define CHECK(cond, ...) \
	do { if (!(cond)) t_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
/* Stop the current test function when the check fails. */
#define REQUIRE(cond, ...) \
	do { if (!(cond)) { t_fail(__FILE__, __LINE__, __VA_ARGS__); return; } } while (0)

/* Run fn(arg) in a child process; 1 when it exited with status 0. */
int			t_in_child(void (*fn) (void *), void *arg, char *what, size_t whatlen);

/* ---- deterministic random numbers (splitmix64) ---- */
typedef struct Rng
{
	uint64_t	s;
} Rng;
uint64_t	rng_u64(Rng *r);
double		rng_unif(Rng *r);	/* [0, 1) */
int			rng_int(Rng *r, int lo, int hi);	/* [lo, hi] */
double		rng_normal(Rng *r);

/* ---- states ---- */
#define VL_SENTINEL 0x0BADF00D	/* what the tests put in the length word */
LrState    *st_new(int nfeat, int intercept);	/* malloc'd, exactly sized */
LrState    *st_clone(const LrState *s);
size_t		st_size(const LrState *s);
/* Add n rows of X (n x p, row-major), y, w (w may be NULL: all 1). */
void		st_add_rows(LrState *s, int n, const double *X, const double *y, const double *w);
/* Bitwise equality of two blocks after the length word. */
int			st_same_bits(const LrState *a, const LrState *b);

/*
 * The moments a state stands for, in double-double: W, means, and the
 * co-moments (centred with an intercept, uncentred = the raw cross products
 * without), packed upper triangle of d = p + 1.  mean and C hold d and
 * d(d+1)/2 entries.
 */
void		st_moments(const LrState *s, dd *W, dd *mean, dd *C);
/*
 * Largest relative difference between the moments of a and those given by
 * (W, mean, C): entries of C relative to sqrt(C_ii C_jj) of the reference,
 * means relative to |mean| + sqrt(C_jj / W), W relative.
 */
double		moments_diff(const LrState *a, dd W, const dd *mean, const dd *C);
double		moments_diff_states(const LrState *a, const LrState *ref);
/* The same, against reference arrays of (hi, lo) pairs from refs.h. */
double		moments_diff_ref(const LrState *a, const double *W2, const double *mean2, const double *C2);

/* ---- solving ---- */
typedef struct Fit
{
	int			rc;
	int			nterms;
	int			rank;
	int			method;
	double		cond;
	double		coef[64];
	unsigned char aliased[64];
} Fit;
Fit			fit_state(const LrState *s, double tol);
/* max_j |a_j - b_j| / max(|b_j|, floor) over the coefficients. */
double		coef_diff(const double *a, const double *b, int n, double floor);
/* distance in units in the last place (0 when equal, huge for sign changes) */
double		ulp_diff(double a, double ref);

/* ---- allocation for the codec: every block is tracked and freed together ---- */
void	   *t_alloc(size_t size);	/* malloc, filled with garbage bytes */
void	   *t_alloc_fail(size_t size);	/* always NULL */
void		t_free_all(void);
size_t		t_mark(void);			/* blocks allocated so far */
void		t_release(size_t mark);	/* free the blocks allocated after mark */
size_t		t_alloc_count(void);

/* ---- test groups ---- */
void		run_state_tests(void);
void		run_solve_tests(void);
void		run_model_tests(void);
void		run_codec_tests(void);
void		run_batch_tests(void);
void		run_diag_tests(void);

#endif
