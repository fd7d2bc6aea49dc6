/*
 * test_solve.c -- lr_solve: exact solutions, aliasing in R's order, the
 * intercept-only model, NIST StRD data against exact rational solutions,
 * condition numbers, error codes.
 *
 * References: data generated from exact small-integer/dyadic coefficients
 * (the least-squares solution is then known exactly), and gen_refs.py's
 * exact rational solutions (refs.h).
 */
#include "tests.h"
#include "refs.h"

/* Small-integer columns with no exact linear relation among them and 1. */
static double
b1(int i)
{
	return (double) ((i * 7) % 11 - 5);
}
static double
b2(int i)
{
	return (double) ((i * i * 3 + i) % 13 - 6);
}
static double
b3(int i)
{
	return (double) ((i * 5 + 2) % 9 - 4) + ((i % 4) == 1 ? 0.5 : 0.0);
}

typedef void (*row_fn) (int i, double *x, double *y);

static LrState *
build(int n, int p, int icpt, row_fn f)
{
	LrState    *s = st_new(p, icpt);
	double		x[64],
				y;

	for (int i = 0; i < n; i++)
	{
		f(i, x, &y);
		lr_state_add_row(s, y, x, 1.0);
	}
	return s;
}

/* Check fit against exact coefficients (within 1 ulp) and the aliased flags. */
static void
expect_fit(const char *what, const LrState *s, const double *coef, const unsigned char *al, int nterms, int rank)
{
	Fit			f = fit_state(s, LR_DEFAULT_TOL);

	REQUIRE(f.rc == LR_OK, "%s: rc %d", what, f.rc);
	CHECK(f.nterms == nterms, "%s: nterms %d, expected %d", what, f.nterms, nterms);
	CHECK(f.rank == rank, "%s: rank %d, expected %d", what, f.rank, rank);
	CHECK(f.cond >= 1.0 && !isnan(f.cond), "%s: cond %g", what, f.cond);
	CHECK(f.method == LR_METHOD_LAPACK || f.method == LR_METHOD_DD, "%s: method %d", what, f.method);
	for (int j = 0; j < nterms; j++)
	{
		CHECK(f.aliased[j] == (al ? al[j] : 0), "%s: aliased[%d] = %d", what, j, f.aliased[j]);
		if (al && al[j])
			CHECK(f.coef[j] == 0.0, "%s: aliased coef[%d] = %.17g, not 0", what, j, f.coef[j]);
		else
			CHECK(ulp_diff(f.coef[j], coef[j]) <= 1, "%s: coef[%d] = %.17g, exact %.17g", what, j, f.coef[j], coef[j]);
	}
	/* the untouched tail of the arrays */
	CHECK(isnan(f.coef[nterms]) && f.aliased[nterms] == 0xEE, "%s: wrote past nterms", what);
}

/* ------------------------------------------------------------------ exact fits */

static void
row_exact2(int i, double *x, double *y)
{
	x[0] = b1(i);
	x[1] = b2(i);
	*y = 3.0 + 2.0 * x[0] - 0.5 * x[1];
}

static void
row_exact3_noint(int i, double *x, double *y)
{
	x[0] = b1(i);
	x[1] = b2(i);
	x[2] = b3(i);
	*y = 2.0 * x[0] - 0.5 * x[1] + 0.25 * x[2];
}

/* Each point twice, with residuals +e and -e: orthogonal to every column. */
static void
row_resid(int i, double *x, double *y)
{
	int			k = i / 2;
	double		e = 0.25 * (k % 5 + 1) * (i % 2 ? -1.0 : 1.0);

	x[0] = b1(k);
	x[1] = b2(k);
	x[2] = b3(k);
	*y = 3.0 + 2.0 * x[0] - 0.5 * x[1] + 1.75 * x[2] + e;
}

static void
test_exact_fits(void)
{
	const double c2[] = {3.0, 2.0, -0.5};
	const double c3[] = {2.0, -0.5, 0.25};
	const double cr[] = {3.0, 2.0, -0.5, 1.75};
	LrState    *s;

	s = build(20, 2, 1, row_exact2);
	expect_fit("y = 3 + 2 x1 - 0.5 x2", s, c2, NULL, 3, 3);
	free(s);
	s = build(3, 2, 1, row_exact2);	/* n = number of terms */
	expect_fit("y = 3 + 2 x1 - 0.5 x2, 3 rows", s, c2, NULL, 3, 3);
	free(s);
	s = build(25, 3, 0, row_exact3_noint);
	expect_fit("no intercept: y = 2 x1 - 0.5 x2 + 0.25 x3", s, c3, NULL, 3, 3);
	free(s);
	s = build(60, 3, 1, row_resid);
	expect_fit("known residuals", s, cr, NULL, 4, 4);
	free(s);
}

/* Dyadic random data with noise: exact rational solutions from gen_refs.py. */
static void
test_dyadic_reference(void)
{
	LrState    *s = st_new(DYI_P, 1);

	st_add_rows(s, DYI_N, dyi_X, dyi_y, dyi_w);
	expect_fit("weighted, intercept", s, dyi_coef_all, NULL, DYI_P + 1, DYI_P + 1);
	free(s);
	s = st_new(DYN_P, 0);
	st_add_rows(s, DYN_N, dyn_X, dyn_y, dyn_w);
	expect_fit("weighted, no intercept", s, dyn_coef_all, NULL, DYN_P, DYN_P);
	free(s);
}

/*
 * Exact solutions of ill-conditioned data (x2 = x1 + small noise): pivot
 * ratio ~1e-6 (the float64 factor and refinement) and ~1e-17 (beyond float64:
 * the double-double factor).  Refinement must reach the correctly rounded
 * coefficients, or what 2^-106 allows at the condition number.
 */
static void
test_ill_conditioned_reference(void)
{
	struct
	{
		const char *name;
		int			n;
		const double *X,
				   *y,
				   *coef;
	}			sets[] = {
		{"x2 = x1 + k/2^16", DYC_N, dyc_X, dyc_y, dyc_coef},
		{"x2 = x1 + k/2^34", DYD_N, dyd_X, dyd_y, dyd_coef},
	};

	for (int k = 0; k < 2; k++)
	{
		LrState    *s = st_new(3, 1);
		Fit			f;

		st_add_rows(s, sets[k].n, sets[k].X, sets[k].y, NULL);
		f = fit_state(s, LR_DEFAULT_TOL);
		REQUIRE(f.rc == LR_OK && f.rank == 4, "%s: rc %d rank %d", sets[k].name, f.rc, f.rank);
		for (int j = 0; j < 4; j++)
		{
			double		rel = fabs(f.coef[j] - sets[k].coef[j]) / fabs(sets[k].coef[j]);

			CHECK(ulp_diff(f.coef[j], sets[k].coef[j]) <= 1 || rel <= 10.0 * f.cond * 0x1p-106,
				  "%s: coef[%d] = %.17g, exact %.17g (cond %.3g, method %d)", sets[k].name, j,
				  f.coef[j], sets[k].coef[j], f.cond, f.method);
		}
		free(s);
	}
}

/* Extreme column scales: equilibration must make them irrelevant. */
static void
row_scaled(int i, double *x, double *y)
{
	x[0] = ldexp(b1(i), -300);
	x[1] = ldexp(b2(i), 300);
	*y = 3.0 + 2.0 * b1(i) - 0.5 * b2(i);
}

/* A large common offset: centring must remove it exactly. */
static void
row_offset(int i, double *x, double *y)
{
	x[0] = 1e9 + b1(i);
	x[1] = -4e11 + b2(i);
	*y = 3.0 + 2.0 * x[0] - 0.5 * x[1];
}

static void
test_scaling_and_offsets(void)
{
	const double cs[] = {3.0, ldexp(2.0, 300), ldexp(-0.5, -300)};
	const double co[] = {3.0, 2.0, -0.5};
	LrState    *s;

	s = build(20, 2, 1, row_scaled);
	expect_fit("columns scaled by 2^-300 and 2^300", s, cs, NULL, 3, 3);
	free(s);
	s = build(20, 2, 1, row_offset);
	expect_fit("columns offset by 1e9 and -4e11", s, co, NULL, 3, 3);
	free(s);
}

/* ------------------------------------------------------------------ aliasing */

static void
row_sum_last(int i, double *x, double *y)
{
	x[0] = b1(i);
	x[1] = b2(i);
	x[2] = x[0] + x[1];
	*y = 3.0 + 2.0 * x[0] - 0.5 * x[1];
}

static void
row_sum_first(int i, double *x, double *y)
{
	x[1] = b1(i);
	x[2] = b2(i);
	x[0] = x[1] + x[2];
	*y = 3.0 + 2.0 * x[1] - 0.5 * x[2];
}

static void
row_const_mid(int i, double *x, double *y)
{
	x[0] = b1(i);
	x[1] = 7.0;
	x[2] = b2(i);
	*y = 3.0 + 2.0 * x[0] - 0.5 * x[2];
}

static void
row_dup_last(int i, double *x, double *y)
{
	x[0] = b1(i);
	x[1] = b2(i);
	x[2] = x[0];
	*y = 3.0 + 2.0 * x[0] - 0.5 * x[1];
}

static void
row_dup_second(int i, double *x, double *y)
{
	x[0] = b1(i);
	x[1] = x[0];
	x[2] = b2(i);
	*y = 3.0 + 2.0 * x[0] - 0.5 * x[2];
}

static void
row_affine(int i, double *x, double *y)
{
	x[0] = b1(i);
	x[1] = b2(i);
	x[2] = 5.0 + 2.0 * x[0];	/* collinear with the intercept and x1 */
	*y = 3.0 + 2.0 * x[0] - 0.5 * x[1];
}

/* Several aliased columns among six. */
static void
row_many(int i, double *x, double *y)
{
	x[0] = b1(i);
	x[1] = x[0] * 3.0;			/* aliased */
	x[2] = b2(i);
	x[3] = 0.0;					/* constant: aliased */
	x[4] = b3(i);
	x[5] = x[0] - x[2] + 2.0 * x[4];	/* aliased */
	*y = -1.0 + 2.0 * x[0] - 0.5 * x[2] + 1.25 * x[4];
}

/* Without an intercept a constant column is the intercept; a zero column is aliased. */
static void
row_noint_const(int i, double *x, double *y)
{
	x[0] = 1.0;
	x[1] = b1(i);
	x[2] = 0.0;
	x[3] = b2(i);
	*y = 3.0 + 2.0 * x[1] - 0.5 * x[3];
}

static void
test_aliasing_exact(void)
{
	LrState    *s;

	{
		const double c[] = {3.0, 2.0, -0.5, 0.0};
		const unsigned char a[] = {0, 0, 0, 1};

		s = build(20, 3, 1, row_sum_last);
		expect_fit("x3 = x1 + x2", s, c, a, 4, 3);
		free(s);
	}
	{
		/* R keeps the earlier columns: y = 3 - 0.5 (x1 + x2) + 2.5 x1, x2 aliased */
		const double c[] = {3.0, -0.5, 2.5, 0.0};
		const unsigned char a[] = {0, 0, 0, 1};

		s = build(20, 3, 1, row_sum_first);
		expect_fit("x1 = x2 + x3 (sum first)", s, c, a, 4, 3);
		free(s);
	}
	{
		const double c[] = {3.0, 2.0, 0.0, -0.5};
		const unsigned char a[] = {0, 0, 1, 0};

		s = build(20, 3, 1, row_const_mid);
		expect_fit("constant column", s, c, a, 4, 3);
		free(s);
		s = build(20, 3, 1, row_dup_second);
		expect_fit("duplicated column (x2 = x1)", s, c, a, 4, 3);
		free(s);
	}
	{
		const double c[] = {3.0, 2.0, -0.5, 0.0};
		const unsigned char a[] = {0, 0, 0, 1};

		s = build(20, 3, 1, row_dup_last);
		expect_fit("duplicated column (x3 = x1)", s, c, a, 4, 3);
		free(s);
		s = build(20, 3, 1, row_affine);
		expect_fit("x3 = 5 + 2 x1", s, c, a, 4, 3);
		free(s);
	}
	{
		const double c[] = {-1.0, 2.0, 0.0, -0.5, 0.0, 1.25, 0.0};
		const unsigned char a[] = {0, 0, 1, 0, 1, 0, 1};

		s = build(30, 6, 1, row_many);
		expect_fit("three aliased columns of six", s, c, a, 7, 4);
		free(s);
	}
	{
		const double c[] = {3.0, 2.0, 0.0, -0.5};
		const unsigned char a[] = {0, 0, 1, 0};

		s = build(20, 4, 0, row_noint_const);
		expect_fit("no intercept: constant and zero columns", s, c, a, 4, 3);
		free(s);
	}
	{
		/* the collinear column is aliased whatever its scale */
		LrState    *t = st_new(3, 1);

		for (int i = 0; i < 20; i++)
		{
			double		x[3] = {b1(i), b2(i), ldexp(b1(i) + b2(i), 200)};

			lr_state_add_row(t, 3.0 + 2.0 * x[0] - 0.5 * x[1], x, 1.0 + (i % 3));
		}
		{
			const double c[] = {3.0, 2.0, -0.5, 0.0};
			const unsigned char a[] = {0, 0, 0, 1};

			expect_fit("x3 = 2^200 (x1 + x2), weighted", t, c, a, 4, 3);
		}
		free(t);
	}
}

/* A combination of real-valued columns, rounded to float64, is aliased. */
static void
test_aliasing_rounded(void)
{
	Rng			r = {21};

	for (int trial = 0; trial < 10; trial++)
	{
		int			n = 40;
		LrState    *s = st_new(3, 1),
				   *s2 = st_new(2, 1);
		Fit			f,
					f2;

		for (int i = 0; i < n; i++)
		{
			double		x[3];

			x[0] = 10.0 * rng_normal(&r) + 3.0;
			x[1] = 0.01 * rng_normal(&r) - 1.0;
			x[2] = 0.1 * x[0] + 0.7 * x[1];
			double		y = 1.0 + x[0] - 30.0 * x[1] + rng_normal(&r);

			lr_state_add_row(s, y, x, 1.0);
			lr_state_add_row(s2, y, x, 1.0);
		}
		f = fit_state(s, LR_DEFAULT_TOL);
		f2 = fit_state(s2, LR_DEFAULT_TOL);
		REQUIRE(f.rc == LR_OK && f2.rc == LR_OK, "rc");
		CHECK(f.rank == 3 && f.aliased[3] == 1 && f.aliased[1] == 0 && f.aliased[2] == 0 && f.coef[3] == 0.0,
			  "trial %d: fl(0.1 x1 + 0.7 x2) not aliased (rank %d, coef %.17g)", trial, f.rank, f.coef[3]);
		CHECK(coef_diff(f.coef, f2.coef, 3, 1e-300) <= 1e-13,
			  "trial %d: kept coefficients differ from the fit without the column by %.3g",
			  trial, coef_diff(f.coef, f2.coef, 3, 1e-300));
		free(s), free(s2);
	}
}

/*
 * The tolerance is on the squared relative residual of a column after the
 * earlier ones (lr_solve.h).  x2 = x1 + e z, with z = +-1 orthogonal to 1 and
 * x1: that ratio is e^2 |z|^2 / (|x1 - mean|^2 + e^2 |z|^2), known exactly.
 * y = 3 + 2 x1 - 0.5 x2 = 3 + 1.5 x1 - 0.5 e z: kept, the coefficients are
 * (3, 2, -0.5); aliased, regressing on x1 alone gives (3, 1.5) exactly.
 */
static void
test_tolerance_threshold(void)
{
	const double e = 0x1p-26;
	int			n = 40;
	LrState    *s = st_new(2, 1);
	double		sxx = 0.0,
				mean = 0.0,
				ratio;
	Fit			f;

	for (int i = 0; i < n; i++)
		mean += b1(i / 2);
	mean /= n;
	for (int i = 0; i < n; i++)
	{
		double		x1 = b1(i / 2),
					z = (i % 2) ? -1.0 : 1.0,
					x[2] = {x1, x1 + e * z};

		sxx += (x1 - mean) * (x1 - mean);
		lr_state_add_row(s, 3.0 + 2.0 * x[0] - 0.5 * x[1], x, 1.0);
	}
	ratio = e * e * n / (sxx + e * e * n);

	f = fit_state(s, ratio / 2);
	CHECK(f.rc == LR_OK && f.rank == 3 && !f.aliased[2], "tol = ratio/2 (%.3g): rank %d", ratio / 2, f.rank);
	CHECK(ulp_diff(f.coef[0], 3.0) <= 4 && ulp_diff(f.coef[1], 2.0) <= 4 && ulp_diff(f.coef[2], -0.5) <= 4,
		  "kept: coefficients %.17g %.17g %.17g, exact 3 2 -0.5", f.coef[0], f.coef[1], f.coef[2]);
	f = fit_state(s, ratio * 2);
	CHECK(f.rc == LR_OK && f.rank == 2 && f.aliased[2] && f.coef[2] == 0.0, "tol = 2 ratio (%.3g): rank %d", ratio * 2, f.rank);
	CHECK(ulp_diff(f.coef[0], 3.0) <= 1 && ulp_diff(f.coef[1], 1.5) <= 1,
		  "aliased: coefficients %.17g %.17g, exact 3 1.5", f.coef[0], f.coef[1]);
	/* the default tolerance (1e-20) keeps a ratio of ~2e-17 */
	f = fit_state(s, LR_DEFAULT_TOL);
	CHECK(ratio > LR_DEFAULT_TOL && f.rank == 3, "default tol: rank %d (ratio %.3g)", f.rank, ratio);
	free(s);
}

/* ------------------------------------------------------------------ p = 0 */

static void
test_intercept_only(void)
{
	LrState    *s = st_new(0, 1);
	Fit			f;
	double		nox[1] = {0.0};	/* p = 0: x has no element (a valid pointer all the same) */

	for (int i = 1; i <= 10; i++)
		lr_state_add_row(s, (double) i, nox, 1.0);
	f = fit_state(s, LR_DEFAULT_TOL);
	REQUIRE(f.rc == LR_OK, "rc %d", f.rc);
	CHECK(f.nterms == 1 && f.rank == 1 && f.aliased[0] == 0, "nterms %d rank %d", f.nterms, f.rank);
	CHECK(f.coef[0] == 5.5, "mean of 1..10 = %.17g", f.coef[0]);
	CHECK(f.cond == 1.0, "cond %g, documented 1 with no feature", f.cond);
	free(s);

	/* weighted mean of the dyadic y's: exact reference */
	s = st_new(0, 1);
	for (int i = 0; i < DYI_N; i++)
		lr_state_add_row(s, dyi_y[i], nox, dyi_w[i]);
	f = fit_state(s, LR_DEFAULT_TOL);
	REQUIRE(f.rc == LR_OK, "rc %d", f.rc);
	CHECK(ulp_diff(f.coef[0], dyi_mean_all[2 * DYI_P]) <= 0.5, "weighted mean %.17g, exact %.17g",
		  f.coef[0], dyi_mean_all[2 * DYI_P]);
	free(s);

	/* mean of 0.1 .. 0.9 (float64 values): the exact mean of the stored values */
	s = st_new(0, 1);
	{
		/* sum of the doubles 0.1 .. 0.9 is 4.5 + small; the mean rounds to 0.5 */
		for (int i = 1; i <= 9; i++)
			lr_state_add_row(s, i / 10.0, nox, 1.0);
		f = fit_state(s, LR_DEFAULT_TOL);
		CHECK(f.rc == LR_OK && f.coef[0] == 0.5, "mean of 0.1..0.9 = %.17g", f.coef[0]);
	}
	free(s);

	/* no intercept and no feature: nothing to estimate */
	s = st_new(0, 0);
	lr_state_add_row(s, 2.0, nox, 1.0);
	f = fit_state(s, LR_DEFAULT_TOL);
	CHECK(f.rc == LR_OK && f.nterms == 0 && f.rank == 0, "p=0 no intercept: rc %d nterms %d rank %d",
		  f.rc, f.nterms, f.rank);
	free(s);
}

/* ------------------------------------------------------------------ NIST */

static void
test_nist(void)
{
	for (int k = 0; k < N_NIST; k++)
	{
		const NistRef *nr = &nist_refs[k];
		LrState    *s = st_new(nr->p, nr->intercept);
		int			nt = nr->p + nr->intercept;
		Fit			f;
		double		worst = 0.0;

		st_add_rows(s, nr->n, nr->X, nr->y, NULL);
		f = fit_state(s, LR_DEFAULT_TOL);
		CHECK(f.rc == LR_OK, "%s: rc %d", nr->name, f.rc);
		CHECK(f.rank == nt, "%s: rank %d of %d", nr->name, f.rank, nt);
		CHECK(f.cond >= 1.0 && isfinite(f.cond), "%s: cond %g", nr->name, f.cond);
		/*
		 * Against the exact solution of what the state holds: a few ulps, or
		 * what double-double (2^-106) allows at this condition number
		 * (Filip: cond 4e19, 1e-13).
		 */
		{
			double		tol = fmax(4.0 * 0x1p-53, 10.0 * f.cond * 0x1p-106);

			for (int j = 0; j < nt; j++)
				worst = fmax(worst, fabs(f.coef[j] - nr->exact[j]) / fabs(nr->exact[j]));
			CHECK(worst <= tol, "%s: coefficients %.3g from the exact solution (allowed %.3g; cond %.3g, method %d)",
				  nr->name, worst, tol, f.cond, f.method);
		}
		if (strcmp(nr->name, "Wampler1") == 0)
			for (int j = 0; j < nt; j++)
				CHECK(fabs(f.coef[j] - 1.0) <= 1e-13, "Wampler1 coef[%d] = %.17g, certified 1", j, f.coef[j]);
		free(s);
	}
}

/* ------------------------------------------------------------------ cond, errors, purity */

static void
row_orth(int i, double *x, double *y)
{
	x[0] = (i & 1) ? 1.0 : -1.0;
	x[1] = (i & 2) ? 1.0 : -1.0;
	*y = 3.0 + 2.0 * x[0] - 0.5 * x[1] + ((i & 4) ? 0.125 : -0.125) * x[0] * x[1];
}

static void
test_cond(void)
{
	LrState    *s = build(16, 2, 1, row_orth);
	Fit			f = fit_state(s, LR_DEFAULT_TOL);
	const double c[] = {3.0, 2.0, -0.5};

	CHECK(f.rc == LR_OK && f.cond >= 1.0 && f.cond <= 1.0 + 1e-12, "orthogonal design: cond %.17g", f.cond);
	CHECK(coef_diff(f.coef, c, 3, 1.0) == 0.0, "orthogonal design: coefficients not exact");
	free(s);

	/* Wampler1: badly conditioned, cond far above 1 */
	for (int k = 0; k < N_NIST; k++)
		if (strcmp(nist_refs[k].name, "Wampler1") == 0)
		{
			s = st_new(nist_refs[k].p, 1);
			st_add_rows(s, nist_refs[k].n, nist_refs[k].X, nist_refs[k].y, NULL);
			f = fit_state(s, LR_DEFAULT_TOL);
			CHECK(f.cond > 1e3 && isfinite(f.cond), "Wampler1 cond %g", f.cond);
			free(s);
		}
}

static void
test_errors(void)
{
	LrState    *e = st_new(-1, 1),
			   *z = st_new(2, 1),
			   *s = build(10, 2, 1, row_exact2);
	double		bad[] = {-1e-300, -1.0, 1.0, 2.0, NAN, INFINITY, -INFINITY};
	Fit			f;

	f = fit_state(e, LR_DEFAULT_TOL);
	CHECK(f.rc == LR_ENOROWS, "nfeat -1: rc %d", f.rc);
	f = fit_state(z, LR_DEFAULT_TOL);
	CHECK(f.rc == LR_ENOROWS, "rows 0: rc %d", f.rc);
	{
		double		x[2] = {1, 2};

		lr_state_add_row(z, 1.0, x, 1.0);
		lr_state_remove_row(z, 1.0, x, 1.0);
		f = fit_state(z, LR_DEFAULT_TOL);
		CHECK(f.rc == LR_ENOROWS, "emptied state: rc %d", f.rc);
	}
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
	{
		f = fit_state(s, bad[k]);
		CHECK(f.rc == LR_EBADTOL, "tol %g: rc %d", bad[k], f.rc);
	}
	f = fit_state(s, 0.0);
	CHECK(f.rc == LR_OK, "tol 0: rc %d", f.rc);
	f = fit_state(s, 0.999);
	CHECK(f.rc == LR_OK, "tol 0.999: rc %d", f.rc);
	free(e), free(z), free(s);
}

static void
test_solve_pure(void)
{
	LrState    *s = build(20, 3, 1, row_sum_last);
	LrState    *c = st_clone(s);

	(void) fit_state(s, LR_DEFAULT_TOL);
	CHECK(memcmp(s, c, st_size(s)) == 0, "lr_solve modified the state");
	free(s), free(c);
}

/*
 * lr_solve.h: the double-double factorisation takes over only when LAPACK's
 * factor fails, shows a pivot under the tolerance, or refinement stops
 * converging "(a condition near 1/eps, as NIST Filip)".  Problems of
 * condition 1e1..1e5, pivots far above LR_FLOAT64_PIVOT, are LAPACK's.
 */
static void
lapack_path_at(double eps, int *used_dd, int *trials, double *worst_cond, Rng *r)
{
	for (int t = 0; t < 10; t++)
	{
		LrState    *s = st_new(4, 1);
		Fit			f;

		for (int i = 0; i < 60; i++)
		{
			double		x[4];

			for (int j = 0; j < 4; j++)
				x[j] = rng_normal(r);
			x[1] = x[0] + eps * x[1];
			lr_state_add_row(s, 1.0 + x[0] - 2.0 * x[1] + 0.5 * x[2] + 3.0 * x[3] + 0.1 * rng_normal(r), x, 1.0);
		}
		f = fit_state(s, LR_DEFAULT_TOL);
		*worst_cond = fmax(*worst_cond, f.cond);
		(*trials)++;
		if (f.method != LR_METHOD_LAPACK)
			(*used_dd)++;
		free(s);
	}
}

static void
test_lapack_path(void)
{
	Rng			r = {22};
	int			used_dd = 0,
				trials = 0;
	double		worst_cond = 0.0;

	lapack_path_at(1.0, &used_dd, &trials, &worst_cond, &r);
	CHECK(used_dd == 0, "%d of %d well-conditioned fits (cond <= %.3g) fell back to the double-double factorisation",
		  used_dd, trials, worst_cond);
	used_dd = trials = 0;
	worst_cond = 0.0;
	lapack_path_at(0.1, &used_dd, &trials, &worst_cond, &r);
	lapack_path_at(0.01, &used_dd, &trials, &worst_cond, &r);
	CHECK(used_dd == 0, "%d of %d fits of condition <= %.3g (far from 1/eps) fell back to the double-double factorisation",
		  used_dd, trials, worst_cond);
}

/* ------------------------------------------------------------------ ridge */

static Fit
fit_ridge(const LrState *s, double lambda)
{
	Fit			f;
	LrSolution	sol;

	memset(&f, 0, sizeof(f));
	sol.coef = f.coef;
	sol.aliased = f.aliased;
	f.rc = lr_solve_ridge(s, LR_DEFAULT_TOL, lambda, &sol);
	f.nterms = sol.nterms;
	f.rank = sol.rank;
	f.method = sol.method;
	f.cond = sol.cond;
	return f;
}

static void
test_ridge(void)
{
	struct
	{
		const char *name;
		int			n,
					p,
					icpt;
		const double *X,
				   *y,
				   *w,
				   *half,
				   *three;
	}			sets[] = {
		{"intercept", DYI_N, DYI_P, 1, dyi_X, dyi_y, dyi_w, dyi_ridge_half, dyi_ridge_three},
		{"no intercept", DYN_N, DYN_P, 0, dyn_X, dyn_y, dyn_w, dyn_ridge_half, dyn_ridge_three},
	};

	for (int k = 0; k < 2; k++)
	{
		LrState    *s = st_new(sets[k].p, sets[k].icpt);
		int			nt = sets[k].p + sets[k].icpt;
		Fit			f0,
					f,
					fl;

		st_add_rows(s, sets[k].n, sets[k].X, sets[k].y, sets[k].w);
		/* lambda = 0 is least squares, bit for bit */
		f0 = fit_ridge(s, 0.0);
		fl = fit_state(s, LR_DEFAULT_TOL);
		CHECK(f0.rc == LR_OK && memcmp(f0.coef, fl.coef, sizeof(double) * nt) == 0 && f0.rank == fl.rank,
			  "%s: ridge(0) differs from lr_solve", sets[k].name);
		f = fit_ridge(s, 0.5);
		CHECK(f.rc == LR_OK && f.rank == nt, "%s: ridge 0.5 rc %d rank %d", sets[k].name, f.rc, f.rank);
		for (int j = 0; j < nt; j++)
			CHECK(ulp_diff(f.coef[j], sets[k].half[j]) <= 1, "%s: ridge 0.5 coef[%d] = %.17g, exact %.17g",
				  sets[k].name, j, f.coef[j], sets[k].half[j]);
		f = fit_ridge(s, 3.0);
		for (int j = 0; j < nt; j++)
			CHECK(ulp_diff(f.coef[j], sets[k].three[j]) <= 1, "%s: ridge 3 coef[%d] = %.17g, exact %.17g",
				  sets[k].name, j, f.coef[j], sets[k].three[j]);
		/* bad penalties */
		CHECK(fit_ridge(s, -1e-9).rc == LR_EBADLAMBDA && fit_ridge(s, NAN).rc == LR_EBADLAMBDA &&
			  fit_ridge(s, INFINITY).rc == LR_EBADLAMBDA, "%s: bad lambda accepted", sets[k].name);
		free(s);
	}
}

/* ------------------------------------------------------------------ consistency with lr_model_check */

static void
check_build_consistent(const char *what, const LrState *s)
{
	size_t		size = lr_model_size(s->nfeat, s->intercept);
	LrModel    *m = malloc(size);
	int			rc = lr_model_build(m, s, LR_DEFAULT_TOL, 0.0);
	const char *why = rc == LR_OK ? lr_model_check(m, size) : NULL;

	CHECK(why == NULL, "%s: lr_model_build returned LR_OK (coef %g %g ...) but lr_model_check says: %s",
		  what, m->coef[0], m->coef[1], why);
	free(m);
}

/*
 * Finite input rows whose products overflow float64 (|x| ~ 1e200, as the
 * SQL layer accepts) leave infinite sums: solving must not report success
 * with a model that the model check itself rejects.
 */
static void
test_overflow(void)
{
	LrState    *s = st_new(2, 1);

	for (int i = 0; i < 10; i++)
	{
		double		x[2] = {1e200 * (i % 3), 1e200 * ((i * i) % 5)};

		lr_state_add_row(s, 1e200 * i, x, 1.0);
	}
	CHECK(lr_state_check(s, st_size(s)) != NULL, "overflowed state passes lr_state_check");
	check_build_consistent("rows of magnitude 1e200", s);
	free(s);
}

/*
 * A state that passes lr_state_check (the gate of every external input:
 * text, binary) must solve to a model that passes lr_model_check, or fail.
 * Here the (x, y) cross product is far beyond what Cauchy-Schwarz allows,
 * which lr_state_check must refuse (solving it would overflow the intercept).
 */
static void
test_checked_state_builds_valid_model(void)
{
	LrState    *s = st_new(1, 1);

	for (int i = 0; i < 10; i++)
	{
		double		x[1] = {i % 4};

		lr_state_add_row(s, i, x, 1.0);
	}
	lr_shift(s)[0] = 1e11;
	lr_cross_hi(s)[1] = 1e298 * lr_cross_hi(s)[0];
	/* the gate refuses it: a correlation above 1 cannot come from rows */
	CHECK(lr_state_check(s, st_size(s)) != NULL, "a state with |C_xy| >> sqrt(C_xx C_yy) passes lr_state_check");
	free(s);
}

void
run_solve_tests(void)
{
	t_run("solve_exact_fits", test_exact_fits);
	t_run("solve_dyadic_exact_reference", test_dyadic_reference);
	t_run("solve_ill_conditioned_exact_reference", test_ill_conditioned_reference);
	t_run("solve_scaling_and_offsets", test_scaling_and_offsets);
	t_run("solve_aliased_columns_exact", test_aliasing_exact);
	t_run("solve_aliased_rounded_combination", test_aliasing_rounded);
	t_run("solve_tolerance_threshold", test_tolerance_threshold);
	t_run("solve_intercept_only", test_intercept_only);
	t_run("solve_nist_exact_references", test_nist);
	t_run("solve_cond", test_cond);
	t_run("solve_errors", test_errors);
	t_run("solve_does_not_modify_state", test_solve_pure);
	t_run("solve_moderate_condition_uses_lapack", test_lapack_path);
	t_run("solve_ridge_exact_reference", test_ridge);
	t_run("solve_overflowed_sums_not_ok", test_overflow);
	t_run("solve_checked_state_gives_valid_model", test_checked_state_builds_valid_model);
}
