/*
 * test_batch.c -- lr_batch: rows taken in blocks give the state that rows
 * added one by one give.
 *
 * References: the exact moments of gen_refs.py (refs.h) for dyadic data,
 * bit for bit where the sums are exact; elsewhere the same rows added with
 * lr_state_add_row, to double-double rounding.
 */
#include "tests.h"
#include "refs.h"

#include "core/lr_batch.h"

static LrBatch *
batch_new(int nfeat)
{
	LrBatch    *b = malloc(lr_batch_size(nfeat));

	memset(b, 0xA5, lr_batch_size(nfeat));	/* init must not rely on zeroed memory */
	lr_batch_init(b, nfeat);
	return b;
}

/* Feed n rows through a batch (draining at the end); 0, or the first failure. */
static int
batch_rows(LrState *s, LrBatch *b, int n, const double *X, const double *y, const double *w)
{
	for (int i = 0; i < n; i++)
	{
		int			rc = lr_batch_add_row(b, s, y[i], X + (size_t) i * s->nfeat, w ? w[i] : 1.0);

		if (rc != 0)
			return rc;
	}
	lr_batch_drain(b, s);
	return 0;
}

static void
test_batch_exact_moments(void)
{
	LrState    *s = st_new(DYI_P, 1);
	LrBatch    *b = batch_new(DYI_P);
	double		e;

	REQUIRE(batch_rows(s, b, DYI_N, dyi_X, dyi_y, dyi_w) == 0, "rows refused");
	CHECK(s->rows == DYI_N, "rows %lld", (long long) s->rows);
	for (int j = 0; j < DYI_P; j++)
		CHECK(lr_shift(s)[j] == dyi_X[j], "shift[%d] = %g", j, lr_shift(s)[j]);
	CHECK(lr_shift(s)[DYI_P] == dyi_y[0], "shift[y]");
	CHECK(s->wsum_hi + s->wsum_lo == dyi_W_all[0] && dyi_W_all[1] == 0.0, "W = %.17g", s->wsum_hi);
	e = moments_diff_ref(s, dyi_W_all, dyi_mean_all, dyi_C_all);
	CHECK(e <= 1e-29, "intercept: moments differ from exact by %.3g", e);
	{
		LrState    *t = st_new(DYI_P, 1);

		st_add_rows(t, DYI_N, dyi_X, dyi_y, dyi_w);
		CHECK(fabs((s->logw_hi + s->logw_lo) - (t->logw_hi + t->logw_lo)) <= 1e-15 * fabs(t->logw_hi),
			  "logw %.17g, row by row %.17g", s->logw_hi + s->logw_lo, t->logw_hi + t->logw_lo);
		free(t);
	}
	free(s);
	free(b);

	/* no intercept, dyadic: the raw sums are exact, so they are the same bits */
	s = st_new(DYN_P, 0);
	b = batch_new(DYN_P);
	REQUIRE(batch_rows(s, b, DYN_N, dyn_X, dyn_y, dyn_w) == 0, "rows refused");
	for (size_t k = 0; k < lr_tri_len(DYN_P + 1); k++)
	{
		dd			c = dd_two_sum(lr_cross_hi(s)[k], lr_cross_lo(s)[k]);

		CHECK(c.hi == dyn_C_all[2 * k] && c.lo == dyn_C_all[2 * k + 1],
			  "cross[%zu] = %.17g%+.3g, exact %.17g%+.3g", k, c.hi, c.lo, dyn_C_all[2 * k], dyn_C_all[2 * k + 1]);
	}
	free(s);
	free(b);

	/* real values and weights: every product's rounding error is kept */
	s = st_new(DRW_P, 0);
	b = batch_new(DRW_P);
	REQUIRE(batch_rows(s, b, DRW_N, drw_X, drw_y, drw_w) == 0, "rows refused");
	e = moments_diff_ref(s, drw_W, drw_mean, drw_C);
	CHECK(e <= 1e-29, "real weights: moments differ from exact by %.3g", e);
	free(s);
	free(b);
}

/*
 * Random rows, every feature count a batch takes, row counts around the
 * block size, unweighted, weighted, and mixed within blocks (weights 1,
 * other and 0): the batch gives the row-by-row state.
 */
static void
test_batch_equals_rows(void)
{
	static const int counts[] = {1, 2, LR_BATCH_ROWS - 1, LR_BATCH_ROWS, LR_BATCH_ROWS + 1, 100, 1003};
	Rng			r = {20261125};
	double		worst = 0.0;

	for (int p = 0; p <= LR_BATCH_MAX_FEATURES; p++)
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
			for (int mode = 0; mode < 3; mode++)
				for (int icpt = 0; icpt <= 1; icpt++)
				{
					int			n = counts[c];
					double	   *X = malloc(sizeof(double) * ((size_t) n * p + 1));
					double	   *y = malloc(sizeof(double) * (size_t) n);
					double	   *w = malloc(sizeof(double) * (size_t) n);
					LrState    *a = st_new(p, icpt),
							   *ref = st_new(p, icpt);
					LrBatch    *b = batch_new(p);
					double		e;

					for (int i = 0; i < n; i++)
					{
						double		v = 0.5;

						for (int j = 0; j < p; j++)
						{
							double		x = (j * 7.25 - 3.0) + (1.0 + j) * rng_normal(&r);

							X[(size_t) i * p + j] = x;
							v += (j % 3 - 1) * 0.75 * x;
						}
						y[i] = v + rng_normal(&r);
						w[i] = mode == 0 ? 1.0
							: mode == 1 ? 0.1 + rng_unif(&r)
							: (i % 5 == 0 ? 0.0 : i % 3 == 0 ? 1.7 + rng_unif(&r) : 1.0);
					}
					REQUIRE(batch_rows(a, b, n, X, y, w) == 0, "rows refused");
					st_add_rows(ref, n, X, y, w);
					CHECK(a->rows == ref->rows, "p=%d n=%d mode=%d: rows %lld, row by row %lld",
						  p, n, mode, (long long) a->rows, (long long) ref->rows);
					CHECK(memcmp(lr_shift(a), lr_shift(ref), sizeof(double) * (size_t) (p + 1)) == 0,
						  "p=%d n=%d mode=%d: shifts differ", p, n, mode);
					CHECK(fabs((a->logw_hi + a->logw_lo) - (ref->logw_hi + ref->logw_lo)) <=
						  1e-14 * fmax(1.0, fabs(ref->logw_hi)), "p=%d n=%d mode=%d: logw", p, n, mode);
					CHECK(lr_state_check(a, st_size(a)) == NULL, "p=%d n=%d: check: %s", p, n,
						  lr_state_check(a, st_size(a)));
					if (ref->rows > 0)
					{
						e = moments_diff_states(a, ref);
						worst = fmax(worst, e);
						CHECK(e <= 1e-28, "p=%d n=%d mode=%d icpt=%d: moments differ by %.3g",
							  p, n, mode, icpt, e);
					}
					free(X), free(y), free(w), free(a), free(ref), free(b);
				}
	CHECK(worst <= 1e-28, "worst %.3g", worst);
}

/*
 * Drain in the middle and go on, drain twice, drain an empty batch, and feed
 * a state that already holds rows (its shift stays): all as row by row.
 */
static void
test_batch_drain_and_resume(void)
{
	enum
	{
		P = 5, N = 77
	};
	Rng			r = {7};
	double		X[N * P],
				y[N];
	LrState    *a = st_new(P, 1),
			   *ref = st_new(P, 1);
	LrBatch    *b = batch_new(P);
	unsigned char before[8192];
	double		e;

	for (int i = 0; i < N * P; i++)
		X[i] = 1e3 + rng_normal(&r);
	for (int i = 0; i < N; i++)
		y[i] = 2.0 * X[i * P] - X[i * P + 3] + rng_normal(&r);

	/* an empty drain changes nothing */
	memcpy(before, a, st_size(a));
	lr_batch_drain(b, a);
	CHECK(memcmp(before, a, st_size(a)) == 0, "empty drain changed the state");

	/* the first 10 rows row by row: the state's shift is theirs */
	st_add_rows(a, 10, X, y, NULL);
	for (int i = 10; i < N; i++)
	{
		REQUIRE(lr_batch_add_row(b, a, y[i], X + i * P, 1.0) == 0, "row %d refused", i);
		if (i == 30 || i == 31 || i == 47)
			lr_batch_drain(b, a);
	}
	lr_batch_drain(b, a);
	lr_batch_drain(b, a);
	st_add_rows(ref, N, X, y, NULL);
	CHECK(a->rows == N, "rows %lld", (long long) a->rows);
	CHECK(memcmp(lr_shift(a), lr_shift(ref), sizeof(double) * (P + 1)) == 0, "shift changed");
	e = moments_diff_states(a, ref);
	CHECK(e <= 1e-28, "moments differ by %.3g", e);
	free(a), free(ref), free(b);
}

/* A value the state cannot hold, or a bad weight: refused, nothing changes. */
static void
test_batch_refuses_bad_rows(void)
{
	enum
	{
		P = 3
	};
	const double good[P] = {1.0, 2.0, 3.0};
	const double bad_x[][P] = {{NAN, 0, 0}, {0, INFINITY, 0}, {0, 0, -INFINITY}, {0, 0, 1e151}};
	const double bad_y[] = {NAN, INFINITY, -1e200};
	const double bad_w[] = {-1.0, NAN, INFINITY, -0.0 - 1e-300};
	LrState    *s = st_new(P, 1);
	LrBatch    *b = batch_new(P);
	size_t		bs = lr_batch_size(P);
	unsigned char *sb = malloc(st_size(s)),
			   *bb = malloc(bs);

	for (int i = 0; i < 5; i++)
		REQUIRE(lr_batch_add_row(b, s, 4.0 + i, good, 1.5) == 0, "good row refused");
	memcpy(sb, s, st_size(s));
	memcpy(bb, b, bs);
	for (size_t k = 0; k < sizeof(bad_x) / sizeof(bad_x[0]); k++)
		CHECK(lr_batch_add_row(b, s, 1.0, bad_x[k], 1.0) == -1, "bad x %zu taken", k);
	for (size_t k = 0; k < sizeof(bad_y) / sizeof(bad_y[0]); k++)
		CHECK(lr_batch_add_row(b, s, bad_y[k], good, 1.0) == -1, "bad y %zu taken", k);
	for (size_t k = 0; k < sizeof(bad_w) / sizeof(bad_w[0]); k++)
		CHECK(lr_batch_add_row(b, s, 1.0, good, bad_w[k]) == -1, "bad w %zu taken", k);
	CHECK(memcmp(sb, s, st_size(s)) == 0, "a refused row changed the state");
	CHECK(memcmp(bb, b, bs) == 0, "a refused row changed the batch");
	/* weight 0: taken, and changes nothing */
	CHECK(lr_batch_add_row(b, s, 9.0, good, 0.0) == 0, "weight 0 refused");
	CHECK(memcmp(bb, b, bs) == 0 && memcmp(sb, s, st_size(s)) == 0, "weight 0 changed something");
	lr_batch_drain(b, s);
	CHECK(s->rows == 5, "rows %lld", (long long) s->rows);
	free(s), free(b), free(sb), free(bb);
}

void
run_batch_tests(void)
{
	t_run("batch_exact_moments", test_batch_exact_moments);
	t_run("batch_equals_rows", test_batch_equals_rows);
	t_run("batch_drain_and_resume", test_batch_drain_and_resume);
	t_run("batch_refuses_bad_rows", test_batch_refuses_bad_rows);
}
