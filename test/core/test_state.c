/*
 * test_state.c -- lr_state: layout, adding/removing rows, weights, merge,
 * subtract, compatibility, lr_state_check.
 *
 * References: exact moments from gen_refs.py (refs.h) for dyadic data, on
 * which every step the state takes is exact except its double-double
 * rounding; elsewhere a state built directly from the rows that should
 * remain (the documented equivalences).
 */
#include "tests.h"
#include "refs.h"

#include <unistd.h>

/* Random well-conditioned real data: x_j ~ offset_j + scale_j N(0,1), y linear + noise. */
static void
gen_real(Rng *r, int n, int p, double *X, double *y, double *w, int weighted)
{
	for (int i = 0; i < n; i++)
	{
		double		v = 0.75;

		for (int j = 0; j < p; j++)
		{
			double		x = (j * 37.5 - 20.0) + (1.0 + j) * rng_normal(r);

			X[(size_t) i * p + j] = x;
			v += (j % 2 ? -1.25 : 0.6) * (j + 1) * x;
		}
		y[i] = v + 0.3 * rng_normal(r);
		if (w)
			w[i] = weighted ? (double) rng_int(r, 1, 4) * 0.375 : 1.0;
	}
}

/*
 * Largest relative difference of the coefficients of two fits of the same
 * rows.  The intercept is mean_y - mean_x . beta: it is compared relative to
 * |b0| + sum |beta_j mean_j|, the size of what it is computed from (a value
 * near zero after cancellation is only determined to that scale).
 */
static double
max_coef_diff_fit(const LrState *a, const LrState *b)
{
	Fit			fa = fit_state(a, LR_DEFAULT_TOL),
				fb = fit_state(b, LR_DEFAULT_TOL);
	int			icpt = b->intercept;
	double		worst;

	if (fa.rc != LR_OK || fb.rc != LR_OK || fa.nterms != fb.nterms || fa.rank != fb.rank)
		return INFINITY;
	worst = coef_diff(fa.coef + icpt, fb.coef + icpt, fb.nterms - icpt, 1e-300);
	if (icpt)
	{
		int			d = lr_dim(b);
		dd			W,
				   *mean = malloc(sizeof(dd) * (size_t) d),
				   *C = malloc(sizeof(dd) * lr_tri_len(d));
		double		sc = fabs(fb.coef[0]);

		st_moments(b, &W, mean, C);
		for (int j = 0; j < b->nfeat; j++)
			sc += fabs(fb.coef[1 + j] * mean[j].hi);
		worst = fmax(worst, fabs(fa.coef[0] - fb.coef[0]) / fmax(sc, 1e-300));
		free(mean);
		free(C);
	}
	return worst;
}

/* ------------------------------------------------------------------ layout */

static void
test_layout(void)
{
	CHECK(lr_state_size(-1) == offsetof(LrState, data), "size(-1) = %zu", lr_state_size(-1));
	for (int p = 0; p <= 12; p++)
	{
		size_t		d = (size_t) p + 1;

		CHECK(lr_state_size(p) == offsetof(LrState, data) + 8 * (3 * d + d * (d + 1)),
			  "size(%d) = %zu", p, lr_state_size(p));
		/* packed upper triangle: row-major enumeration of i <= j */
		for (int i = 0, k = 0; i < (int) d; i++)
			for (int j = i; j < (int) d; j++, k++)
				CHECK(lr_tri_index((int) d, i, j) == (size_t) k, "tri_index(%d,%d,%d)", (int) d, i, j);
	}
	for (int p = -1; p <= 3; p++)
		for (int icpt = 0; icpt <= 1; icpt++)
		{
			LrState   *s = st_new(p, icpt);

			CHECK(s->version == LR_STATE_VERSION && s->intercept == icpt && s->nfeat == p &&
				  s->rows == 0 && s->skipped == 0 && s->wsum_hi == 0.0 && s->wsum_lo == 0.0 &&
				  s->reserved == 0 && s->reserved2 == 0, "init header p=%d", p);
			for (size_t k = 0; p >= 0 && k < 3 * (size_t) (p + 1) + 2 * lr_tri_len(p + 1); k++)
				CHECK(s->data[k] == 0.0 && !signbit(s->data[k]), "init data[%zu]", k);
			CHECK(lr_state_check(s, st_size(s)) == NULL, "fresh state p=%d fails check: %s",
				  p, lr_state_check(s, st_size(s)));
			free(s);
		}
}

/* ------------------------------------------------------------------ adding */

static void
test_add_exact_moments_intercept(void)
{
	LrState    *s = st_new(DYI_P, 1);
	double		e;

	st_add_rows(s, DYI_N, dyi_X, dyi_y, dyi_w);
	CHECK(s->rows == DYI_N, "rows %lld", (long long) s->rows);
	/* the first row is the shift */
	for (int j = 0; j < DYI_P; j++)
		CHECK(lr_shift(s)[j] == dyi_X[j], "shift[%d] = %g", j, lr_shift(s)[j]);
	CHECK(lr_shift(s)[DYI_P] == dyi_y[0], "shift[y]");
	/* dyadic weights: the weight sum is exact */
	CHECK(s->wsum_hi + s->wsum_lo == dyi_W_all[0] && dyi_W_all[1] == 0.0, "W = %.17g", s->wsum_hi);
	e = moments_diff_ref(s, dyi_W_all, dyi_mean_all, dyi_C_all);
	CHECK(e <= 1e-29, "moments differ from exact by %.3g", e);
	/* L = sum log w */
	{
		long double L = 0.0L;

		for (int i = 0; i < DYI_N; i++)
			L += logl((long double) dyi_w[i]);
		CHECK(fabsl((long double) s->logw_hi + s->logw_lo - L) <= 1e-15L * fabsl(L),
			  "logw %.17g, sum log w %.17Lg", s->logw_hi + s->logw_lo, L);
	}
	free(s);

	/* unweighted rows: L is exactly 0 */
	s = st_new(DYI_P, 1);
	st_add_rows(s, DYI_N, dyi_X, dyi_y, NULL);
	CHECK(s->logw_hi == 0.0 && s->logw_lo == 0.0, "unweighted logw %g", s->logw_hi);
	free(s);
}

static void
test_add_exact_moments_no_intercept(void)
{
	LrState    *s = st_new(DYN_P, 0);
	int			d = DYN_P + 1;
	double		e;

	st_add_rows(s, DYN_N, dyn_X, dyn_y, dyn_w);
	for (int j = 0; j < d; j++)
		CHECK(lr_shift(s)[j] == 0.0, "no-intercept shift[%d] = %g", j, lr_shift(s)[j]);
	/* exact products of short dyadic numbers: the raw sums are exact */
	for (size_t k = 0; k < lr_tri_len(d); k++)
	{
		dd			c = dd_two_sum(lr_cross_hi(s)[k], lr_cross_lo(s)[k]);

		CHECK(c.hi == dyn_C_all[2 * k] && c.lo == dyn_C_all[2 * k + 1],
			  "cross[%zu] = %.17g%+.3g, exact %.17g%+.3g", k, c.hi, c.lo, dyn_C_all[2 * k], dyn_C_all[2 * k + 1]);
	}
	e = moments_diff_ref(s, dyn_W_all, dyn_mean_all, dyn_C_all);
	CHECK(e <= 1e-29, "moments differ from exact by %.3g", e);
	free(s);
}

/* Real values and weights that are not dyadic: every product's rounding error must be kept. */
static void
test_add_exact_moments_real_weights(void)
{
	LrState    *s = st_new(DRW_P, 0);
	double		e;

	st_add_rows(s, DRW_N, drw_X, drw_y, drw_w);
	e = moments_diff_ref(s, drw_W, drw_mean, drw_C);
	CHECK(e <= 1e-29, "moments differ from exact by %.3g", e);
	free(s);
}

/* ------------------------------------------------------------------ removing */

/* Remove rows that are not the first: the survivors keep the same shift. */
static void
test_remove_equals_fresh(void)
{
	Rng			r = {11};

	for (int icpt = 0; icpt <= 1; icpt++)
		for (int trial = 0; trial < 20; trial++)
		{
			int			n = 60,
						p = 1 + trial % 5;
			double	   *X = malloc(sizeof(double) * n * p),
					   *y = malloc(sizeof(double) * n),
					   *w = malloc(sizeof(double) * n);
			unsigned char gone[60] = {0};
			LrState    *a = st_new(p, icpt),
					   *b = st_new(p, icpt);
			double		e,
						c;

			gen_real(&r, n, p, X, y, w, trial % 2);
			st_add_rows(a, n, X, y, w);
			/* remove about a third of the rows, never row 0, in random order */
			for (int k = 0; k < n / 3; k++)
			{
				int			i = rng_int(&r, 1, n - 1);

				if (gone[i])
					continue;
				gone[i] = 1;
				lr_state_remove_row(a, y[i], X + (size_t) i * p, w[i]);
			}
			for (int i = 0; i < n; i++)
				if (!gone[i])
					lr_state_add_row(b, y[i], X + (size_t) i * p, w[i]);
			CHECK(a->rows == b->rows, "rows %lld vs %lld", (long long) a->rows, (long long) b->rows);
			e = moments_diff_states(a, b);
			CHECK(e <= 1e-25, "icpt=%d trial %d: moments differ by %.3g", icpt, trial, e);
			c = max_coef_diff_fit(a, b);
			CHECK(c <= 1e-14, "icpt=%d trial %d: coefficients differ by %.3g", icpt, trial, c);
			free(X), free(y), free(w), free(a), free(b);
		}
}

/* Remove rows including the first (the shift) on dyadic data: exact reference. */
static void
test_remove_dyadic_exact(void)
{
	LrState    *s = st_new(DYI_P, 1);
	Fit			f;
	double		e;

	st_add_rows(s, DYI_N, dyi_X, dyi_y, dyi_w);
	for (int k = DYI_NREMOVED - 1; k >= 0; k--)
	{
		int			i = dyi_removed[k];

		lr_state_remove_row(s, dyi_y[i], dyi_X + (size_t) i * DYI_P, dyi_w[i]);
	}
	CHECK(s->rows == DYI_N - DYI_NREMOVED, "rows %lld", (long long) s->rows);
	e = moments_diff_ref(s, dyi_W_keep, dyi_mean_keep, dyi_C_keep);
	CHECK(e <= 1e-28, "moments differ from exact by %.3g", e);
	f = fit_state(s, LR_DEFAULT_TOL);
	REQUIRE(f.rc == LR_OK, "rc %d", f.rc);
	for (int j = 0; j < DYI_P + 1; j++)
		CHECK(ulp_diff(f.coef[j], dyi_coef_keep[j]) <= 1, "coef[%d] = %.17g, exact %.17g",
			  j, f.coef[j], dyi_coef_keep[j]);
	free(s);

	/* the same without intercept */
	s = st_new(DYN_P, 0);
	st_add_rows(s, DYN_N, dyn_X, dyn_y, dyn_w);
	for (int k = 0; k < DYN_NREMOVED; k++)
	{
		int			i = dyn_removed[k];

		lr_state_remove_row(s, dyn_y[i], dyn_X + (size_t) i * DYN_P, dyn_w[i]);
	}
	e = moments_diff_ref(s, dyn_W_keep, dyn_mean_keep, dyn_C_keep);
	CHECK(e <= 1e-29, "no intercept: moments differ from exact by %.3g", e);
	f = fit_state(s, LR_DEFAULT_TOL);
	REQUIRE(f.rc == LR_OK, "rc %d", f.rc);
	for (int j = 0; j < DYN_P; j++)
		CHECK(ulp_diff(f.coef[j], dyn_coef_keep[j]) <= 1, "no intercept coef[%d] = %.17g, exact %.17g",
			  j, f.coef[j], dyn_coef_keep[j]);
	free(s);
}

/* Removing the first row of real data changes the shift of nothing, but the fit must follow. */
static void
test_remove_first_row_real(void)
{
	Rng			r = {12};

	for (int trial = 0; trial < 10; trial++)
	{
		int			n = 50,
					p = 2 + trial % 4;
		double		X[50 * 6],
					y[50],
					w[50];
		LrState    *a = st_new(p, 1),
				   *b = st_new(p, 1);
		double		c,
					e;

		gen_real(&r, n, p, X, y, w, 1);
		st_add_rows(a, n, X, y, w);
		for (int i = 0; i < 5; i++)
			lr_state_remove_row(a, y[i], X + (size_t) i * p, w[i]);
		st_add_rows(b, n - 5, X + 5 * p, y + 5, w + 5);
		c = max_coef_diff_fit(a, b);
		CHECK(c <= 1e-14, "trial %d: coefficients differ by %.3g", trial, c);
		/* different shifts: z - K is rounded differently, 1e-16 relative */
		e = moments_diff_states(a, b);
		CHECK(e <= 1e-14, "trial %d: moments differ by %.3g", trial, e);
		free(a), free(b);
	}
}

/*
 * The first row fixes the shift K; later rows are held as fl(z - K).  When a
 * first row far from the rest (1e8 against data of unit spread) leaves, as in
 * a sliding window over a series that moved, the remaining rows carry the
 * rounding of z - K at the scale of K, not of z: the documented "as if it had
 * never been added, up to double-double rounding" then fails by ~1e-9.
 */
static void
test_remove_far_first_row(void)
{
	Rng			r = {20};
	double		worst = 0.0;

	for (int trial = 0; trial < 5; trial++)
	{
		double		X[40 * 2],
					y[40],
					far[2] = {1e8 * (trial + 1), -3e7};
		LrState    *a = st_new(2, 1),
				   *b = st_new(2, 1);

		for (int i = 0; i < 40; i++)
		{
			X[2 * i] = rng_normal(&r);
			X[2 * i + 1] = 3.0 * rng_normal(&r) + 1.0;
			y[i] = 1.0 + 2.0 * X[2 * i] - 0.7 * X[2 * i + 1] + 0.1 * rng_normal(&r);
		}
		lr_state_add_row(a, 5e8, far, 1.0);
		st_add_rows(a, 40, X, y, NULL);
		lr_state_remove_row(a, 5e8, far, 1.0);
		st_add_rows(b, 40, X, y, NULL);
		worst = fmax(worst, max_coef_diff_fit(a, b));
		free(a), free(b);
	}
	CHECK(worst <= 1e-13, "after the far first row left, coefficients differ from a fresh fit of the same rows by %.3g", worst);
}

static void
test_remove_all_exact_zero(void)
{
	Rng			r = {13};

	for (int icpt = 0; icpt <= 1; icpt++)
	{
		int			n = 40,
					p = 4;
		double		X[40 * 4],
					y[40],
					w[40];
		int			order[40];
		LrState    *s = st_new(p, icpt),
				   *fresh = st_new(p, icpt),
				   *again = st_new(p, icpt);

		gen_real(&r, n, p, X, y, w, 1);
		s->skipped = 7;
		st_add_rows(s, n, X, y, w);
		for (int i = 0; i < n; i++)
			order[i] = i;
		for (int i = n - 1; i > 0; i--)
		{
			int			k = rng_int(&r, 0, i),
						t = order[i];

			order[i] = order[k];
			order[k] = t;
		}
		for (int i = 0; i < n; i++)
			lr_state_remove_row(s, y[order[i]], X + (size_t) order[i] * p, w[order[i]]);
		CHECK(s->rows == 0, "rows %lld", (long long) s->rows);
		CHECK(s->skipped == 7, "skipped %lld", (long long) s->skipped);
		fresh->skipped = 7;
		CHECK(st_same_bits(s, fresh), "icpt=%d: emptied state is not exactly a fresh one", icpt);
		CHECK(lr_state_check(s, st_size(s)) == NULL, "emptied state fails check: %s", lr_state_check(s, st_size(s)));

		/* removing from an empty state changes nothing */
		lr_state_remove_row(s, y[0], X, 1.0);
		CHECK(st_same_bits(s, fresh), "remove from empty changed the state");

		/* refilled: bit-identical to a state that only ever saw the new rows */
		for (int i = n / 2; i < n; i++)
			lr_state_add_row(s, y[i], X + (size_t) i * p, w[i]);
		again->skipped = 7;
		for (int i = n / 2; i < n; i++)
			lr_state_add_row(again, y[i], X + (size_t) i * p, w[i]);
		CHECK(st_same_bits(s, again), "icpt=%d: refilled state differs from a fresh fill", icpt);
		free(s), free(fresh), free(again);
	}
}

/* ------------------------------------------------------------------ weights */

static void
test_weight_two_is_twice(void)
{
	Rng			r = {14};

	for (int icpt = 0; icpt <= 1; icpt++)
	{
		int			n = 30,
					p = 3;
		double		X[30 * 3],
					y[30],
					w[30];
		LrState    *a = st_new(p, icpt),
				   *b = st_new(p, icpt),
				   *c = st_new(p, icpt),
				   *d1 = st_new(p, icpt);
		double		e;

		gen_real(&r, n, p, X, y, w, 0);
		for (int i = 0; i < n; i++)
		{
			lr_state_add_row(a, y[i], X + (size_t) i * p, 2.0);
			lr_state_add_row(b, y[i], X + (size_t) i * p, 1.0);
			lr_state_add_row(b, y[i], X + (size_t) i * p, 1.0);
			lr_state_add_row(c, y[i], X + (size_t) i * p, 0.5);
			lr_state_add_row(c, y[i], X + (size_t) i * p, 0.5);
			lr_state_add_row(d1, y[i], X + (size_t) i * p, 1.0);
		}
		CHECK(a->rows == n && b->rows == 2 * n && c->rows == 2 * n, "rows");
		e = moments_diff_states(a, b);
		CHECK(e <= 1e-29, "icpt=%d: weight 2 vs twice: moments differ by %.3g", icpt, e);
		e = max_coef_diff_fit(a, b);
		CHECK(e <= 1e-15, "icpt=%d: weight 2 vs twice: coefficients differ by %.3g", icpt, e);
		e = moments_diff_states(c, d1);
		CHECK(e <= 1e-29, "icpt=%d: 0.5 twice vs 1 once: moments differ by %.3g", icpt, e);
		/* a weight scales W but not the fit */
		e = max_coef_diff_fit(a, d1);
		CHECK(e <= 1e-14, "icpt=%d: all weights 2 vs all 1: coefficients differ by %.3g", icpt, e);
		CHECK(a->wsum_hi == 2.0 * n && d1->wsum_hi == (double) n, "W");
		free(a), free(b), free(c), free(d1);
	}
}

static void
test_weight_zero_is_absent(void)
{
	Rng			r = {15};

	for (int icpt = 0; icpt <= 1; icpt++)
	{
		int			n = 20,
					p = 3;
		double		X[20 * 3],
					y[20],
					junk[3] = {1e10, -3.5, 7.0};
		LrState    *a = st_new(p, icpt),
				   *b = st_new(p, icpt),
				   *snap;

		gen_real(&r, n, p, X, y, NULL, 0);
		/* a zero-weight row first must not become the shift */
		lr_state_add_row(a, 42.0, junk, 0.0);
		for (int i = 0; i < n; i++)
		{
			lr_state_add_row(a, y[i], X + (size_t) i * p, 1.0);
			lr_state_add_row(a, -y[i] * 3.0, junk, 0.0);
			lr_state_add_row(b, y[i], X + (size_t) i * p, 1.0);
		}
		CHECK(st_same_bits(a, b), "icpt=%d: zero-weight rows changed the state", icpt);
		snap = st_clone(a);
		lr_state_remove_row(a, y[3], X + 3 * p, 0.0);
		lr_state_remove_row(a, 5.0, junk, 0.0);
		CHECK(st_same_bits(a, snap), "icpt=%d: removing zero-weight rows changed the state", icpt);
		free(a), free(b), free(snap);
	}
}

/* ------------------------------------------------------------------ merge */

/* Shard assignment schemes for n rows into k shards. */
static int
shard_of(int scheme, int i, int n, int k, Rng *r)
{
	switch (scheme)
	{
		case 0:
			return i * k / n;	/* contiguous */
		case 1:
			return i % k;		/* interleaved */
		case 2:
			return (n - 1 - i) * k / n; /* contiguous, reversed */
		default:
			return rng_int(r, 0, k - 1);	/* random */
	}
}

/* Merge shards[0..k-1] into a fresh state in one of several orders/groupings. */
static LrState *
merge_all(LrState **sh, int k, int how, Rng *r)
{
	LrState    *acc;
	int			order[16];

	for (int i = 0; i < k; i++)
		order[i] = i;
	if (how == 1)				/* reverse */
		for (int i = 0; i < k / 2; i++)
		{
			int			t = order[i];

			order[i] = order[k - 1 - i];
			order[k - 1 - i] = t;
		}
	else if (how == 3)			/* random */
		for (int i = k - 1; i > 0; i--)
		{
			int			j = rng_int(r, 0, i),
						t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
	if (how == 2)
	{
		/* tree: pairwise merges of clones, then the pairs */
		LrState    *lvl[16];
		int			m = k;

		for (int i = 0; i < k; i++)
			lvl[i] = st_clone(sh[i]);
		while (m > 1)
		{
			int			h = 0;

			for (int i = 0; i < m; i += 2)
			{
				if (i + 1 < m)
				{
					CHECK(lr_state_merge(lvl[i], lvl[i + 1]) == 0, "merge returned nonzero");
					free(lvl[i + 1]);
				}
				lvl[h++] = lvl[i];
			}
			m = h;
		}
		return lvl[0];
	}
	acc = st_clone(sh[order[0]]);
	for (int i = 1; i < k; i++)
		CHECK(lr_state_merge(acc, sh[order[i]]) == 0, "merge returned nonzero");
	return acc;
}

static void
test_merge_shards_dyadic_exact(void)
{
	Rng			r = {16};
	int			ks[] = {2, 3, 5, 8};

	for (int scheme = 0; scheme < 4; scheme++)
		for (int ki = 0; ki < 4; ki++)
			for (int how = 0; how < 4; how++)
			{
				int			k = ks[ki];
				LrState    *sh[16];
				LrState    *m;
				int64_t		skipped = 0;
				Fit			f;
				double		e;

				for (int i = 0; i < k; i++)
				{
					sh[i] = st_new(DYI_P, 1);
					sh[i]->skipped = i;
					skipped += i;
				}
				for (int i = 0; i < DYI_N; i++)
					lr_state_add_row(sh[shard_of(scheme, i, DYI_N, k, &r)], dyi_y[i],
									 dyi_X + (size_t) i * DYI_P, dyi_w[i]);
				m = merge_all(sh, k, how, &r);
				CHECK(m->rows == DYI_N && m->skipped == skipped, "scheme %d k %d how %d: rows %lld skipped %lld",
					  scheme, k, how, (long long) m->rows, (long long) m->skipped);
				e = moments_diff_ref(m, dyi_W_all, dyi_mean_all, dyi_C_all);
				CHECK(e <= 1e-28, "scheme %d k %d how %d: moments differ from exact by %.3g", scheme, k, how, e);
				f = fit_state(m, LR_DEFAULT_TOL);
				CHECK(f.rc == LR_OK, "rc %d", f.rc);
				for (int j = 0; j <= DYI_P; j++)
					CHECK(ulp_diff(f.coef[j], dyi_coef_all[j]) <= 1, "scheme %d k %d how %d: coef[%d] = %.17g, exact %.17g",
						  scheme, k, how, j, f.coef[j], dyi_coef_all[j]);
				CHECK(lr_state_check(m, st_size(m)) == NULL, "merged state fails check");
				for (int i = 0; i < k; i++)
					free(sh[i]);
				free(m);
			}
}

static void
test_merge_shards_real(void)
{
	Rng			r = {17};

	for (int icpt = 0; icpt <= 1; icpt++)
		for (int trial = 0; trial < 16; trial++)
		{
			int			n = 64,
						p = 1 + trial % 6,
						k = 2 + trial % 5,
						scheme = trial % 4,
						how = (trial / 4) % 4;
			double		X[64 * 6],
						y[64],
						w[64];
			LrState    *full = st_new(p, icpt),
					   *sh[16],
					   *m;
			double		c,
						e;

			gen_real(&r, n, p, X, y, w, trial % 3 == 0);
			st_add_rows(full, n, X, y, w);
			for (int i = 0; i < k; i++)
				sh[i] = st_new(p, icpt);
			for (int i = 0; i < n; i++)
				lr_state_add_row(sh[shard_of(scheme, i, n, k, &r)], y[i], X + (size_t) i * p, w[i]);
			m = merge_all(sh, k, how, &r);
			CHECK(m->rows == n, "rows");
			c = max_coef_diff_fit(m, full);
			CHECK(c <= 1e-14, "icpt=%d trial %d: coefficients differ by %.3g", icpt, trial, c);
			e = moments_diff_states(m, full);
			/* no intercept: no shift, every z - K is exact */
			CHECK(e <= (icpt ? 1e-14 : 1e-28), "icpt=%d trial %d: moments differ by %.3g", icpt, trial, e);
			for (int i = 0; i < k; i++)
				free(sh[i]);
			free(full), free(m);
		}
}

static void
test_merge_empty(void)
{
	LrState    *b = st_new(DYI_P, 1),
			   *snap,
			   *e1 = st_new(-1, 1),
			   *e2 = st_new(-1, 1),
			   *z = st_new(DYI_P, 1),
			   *big;

	st_add_rows(b, DYI_N, dyi_X, dyi_y, dyi_w);
	b->skipped = 2;
	snap = st_clone(b);
	e1->skipped = 3;
	e2->skipped = 4;

	/* full += empty(-1): only the skip count moves */
	CHECK(lr_state_merge(b, e1) == 0, "merge returned nonzero");
	CHECK(b->skipped == 5, "skipped %lld", (long long) b->skipped);
	b->skipped = 2;
	CHECK(st_same_bits(b, snap), "merging an empty state changed the sums");

	/* full += empty(p, rows 0) */
	z->skipped = 1;
	CHECK(lr_state_merge(b, z) == 0, "merge returned nonzero");
	CHECK(b->skipped == 3, "skipped %lld", (long long) b->skipped);
	b->skipped = 2;
	CHECK(st_same_bits(b, snap), "merging an empty p-state changed the sums");

	/* empty(p, rows 0) += full: the full state, counts added */
	CHECK(lr_state_merge(z, b) == 0, "merge returned nonzero");
	CHECK(z->rows == DYI_N && z->skipped == 3, "rows %lld skipped %lld", (long long) z->rows, (long long) z->skipped);
	z->skipped = 2;
	CHECK(st_same_bits(z, snap), "empty += full is not the full state");

	/*
	 * empty(-1) += full: a block of nfeat = -1 has no room for b's rows, so
	 * the merge refuses (-1) and leaves a alone (lr_state.h: copy b instead),
	 * even when the block happens to be big enough.
	 */
	big = malloc(lr_state_size(DYI_P));
	lr_state_init(big, -1, 1);
	big->skipped = 6;
	{
		LrState    *bsnap = malloc(lr_state_size(DYI_P));

		memcpy(bsnap, big, lr_state_size(DYI_P));
		CHECK(lr_state_merge(big, b) == -1, "merge of rows into an nfeat=-1 state did not return -1");
		CHECK(memcmp(big, bsnap, lr_state_size(-1)) == 0, "refused merge changed a");
		free(bsnap);
	}
	/* a state of another feature count or intercept flag is refused too */
	{
		LrState    *o = st_new(DYI_P + 1, 1),
				   *ni = st_new(DYI_P, 0),
				   *osnap;
		double		x[DYI_P + 1] = {1, 2, 3, 4};

		lr_state_add_row(o, 1.0, x, 1.0);
		osnap = st_clone(o);
		CHECK(lr_state_merge(o, b) == -1 && st_same_bits(o, osnap), "merge of a different nfeat not refused");
		CHECK(lr_state_subtract(o, b) == -1 && st_same_bits(o, osnap), "subtract of a different nfeat not refused");
		lr_state_add_row(ni, 1.0, x, 1.0);
		free(osnap);
		osnap = st_clone(ni);
		CHECK(lr_state_merge(ni, b) == -1 && st_same_bits(ni, osnap), "merge of a different intercept not refused");
		free(o), free(ni), free(osnap);
	}

	/* empty(-1) += empty(-1) */
	CHECK(lr_state_merge(e1, e2) == 0 && e1->skipped == 7 && e1->nfeat == -1 && e1->rows == 0,
		  "empty + empty: skipped %lld", (long long) e1->skipped);
	CHECK(lr_state_check(e1, st_size(e1)) == NULL, "empty + empty fails check");

	free(b), free(snap), free(e1), free(e2), free(z), free(big);
}

/*
 * lr_state.h allows a state of nfeat = -1 as the target of a merge; its block
 * holds lr_state_size(-1) bytes.  Merging a state with rows into it must not
 * write past the block (it can fail, or the header can demand a bigger block,
 * but it must not corrupt memory).  Run in a child: ASan aborts on overflow.
 */
static void
merge_into_small_child(void *arg)
{
	const LrState *b = arg;
	LrState    *a = malloc(lr_state_size(-1));

	lr_state_init(a, -1, b->intercept);
	if (lr_state_merge(a, b) != -1 || a->nfeat != -1 || a->rows != 0)
		_exit(3);
	free(a);
}

static void
test_merge_into_unsized_empty(void)
{
	LrState    *b = st_new(2, 1);
	double		x[2] = {1, 2};
	char		what[400];

	lr_state_add_row(b, 3.0, x, 1.0);
	CHECK(t_in_child(merge_into_small_child, b, what, sizeof(what)),
		  "lr_state_merge(a with nfeat=-1 in a block of lr_state_size(-1) bytes, b with rows) overflows a: %s", what);
	free(b);
}

/* ------------------------------------------------------------------ subtract */

static void
test_subtract_inverse(void)
{
	Rng			r = {18};

	for (int icpt = 0; icpt <= 1; icpt++)
		for (int trial = 0; trial < 12; trial++)
		{
			int			n = 60,
						p = 1 + trial % 5,
						na = 20 + trial;
			double		X[60 * 5],
						y[60],
						w[60];
			LrState    *a = st_new(p, icpt),
					   *b = st_new(p, icpt),
					   *ab,
					   *abmb,
					   *abma;
			double		e,
						c;

			gen_real(&r, n, p, X, y, w, trial % 2);
			st_add_rows(a, na, X, y, w);
			st_add_rows(b, n - na, X + (size_t) na * p, y + na, w + na);
			a->skipped = 3;
			b->skipped = 5;
			ab = st_clone(a);
			CHECK(lr_state_merge(ab, b) == 0, "merge");
			abmb = st_clone(ab);
			abma = st_clone(ab);
			CHECK(lr_state_subtract(abmb, b) == 0, "subtract returned nonzero");
			CHECK(lr_state_subtract(abma, a) == 0, "subtract returned nonzero");
			CHECK(abmb->rows == a->rows && abmb->skipped == 3, "(a+b)-b rows %lld skipped %lld",
				  (long long) abmb->rows, (long long) abmb->skipped);
			CHECK(abma->rows == b->rows && abma->skipped == 5, "(a+b)-a rows");
			/* (a+b)-b keeps a's shift: everything but rounding is identical */
			e = moments_diff_states(abmb, a);
			CHECK(e <= 1e-25, "icpt=%d trial %d: (a+b)-b moments differ by %.3g", icpt, trial, e);
			c = max_coef_diff_fit(abmb, a);
			CHECK(c <= 1e-14, "icpt=%d trial %d: (a+b)-b coefficients differ by %.3g", icpt, trial, c);
			/* (a+b)-a holds b's rows around a's shift */
			e = moments_diff_states(abma, b);
			CHECK(e <= 1e-25, "icpt=%d trial %d: (a+b)-a moments differ by %.3g", icpt, trial, e);
			c = max_coef_diff_fit(abma, b);
			CHECK(c <= 1e-14, "icpt=%d trial %d: (a+b)-a coefficients differ by %.3g", icpt, trial, c);
			/* the sum of log weights follows */
			{
				double		La = a->logw_hi + a->logw_lo,
							Lb = b->logw_hi + b->logw_lo;
				double		sc = 1e-15 * (fabs(La) + fabs(Lb) + 1.0);

				CHECK(fabs(abmb->logw_hi + abmb->logw_lo - La) <= sc &&
					  fabs(abma->logw_hi + abma->logw_lo - Lb) <= sc &&
					  fabs(ab->logw_hi + ab->logw_lo - La - Lb) <= sc, "icpt=%d trial %d: logw", icpt, trial);
			}
			free(a), free(b), free(ab), free(abmb), free(abma);
		}
}

static void
test_subtract_all_and_too_many(void)
{
	LrState    *a = st_new(DYI_P, 1),
			   *b = st_new(DYI_P, 1),
			   *snap,
			   *fresh = st_new(DYI_P, 1),
			   *e = st_new(-1, 1),
			   *bigskip = st_new(-1, 1);

	st_add_rows(a, 10, dyi_X, dyi_y, dyi_w);
	st_add_rows(b, DYI_N - 10, dyi_X + 10 * DYI_P, dyi_y + 10, dyi_w + 10);
	a->skipped = 1;
	b->skipped = 2;

	/* subtracting more rows than present: -1, nothing changed */
	snap = st_clone(a);
	CHECK(lr_state_subtract(a, b) == -1, "a - (bigger b) did not return -1");
	CHECK(memcmp(a, snap, st_size(a)) == 0, "a failed subtraction changed a");
	/* more skipped rows than present */
	bigskip->skipped = 2;
	CHECK(lr_state_subtract(a, bigskip) == -1, "a - (more skipped) did not return -1");
	CHECK(memcmp(a, snap, st_size(a)) == 0, "a failed subtraction changed a");
	/* from an empty state */
	e->skipped = 1;
	CHECK(lr_state_subtract(e, a) == -1, "empty - a did not return -1");
	CHECK(e->rows == 0 && e->skipped == 1 && e->nfeat == -1, "failed subtraction changed the empty state");

	/* x - x: exact zeros */
	CHECK(lr_state_merge(a, b) == 0, "merge");
	free(snap);
	snap = st_clone(a);
	CHECK(lr_state_subtract(a, snap) == 0, "a - a returned nonzero");
	CHECK(st_same_bits(a, fresh), "a - a is not exactly the empty state");
	CHECK(lr_state_check(a, st_size(a)) == NULL, "a - a fails check");

	/* subtracting an empty(-1) state only moves the skip count */
	free(a);
	a = st_clone(snap);
	bigskip->skipped = 2;
	CHECK(lr_state_subtract(a, bigskip) == 0 && a->skipped == 1, "a - empty: skipped %lld", (long long) a->skipped);
	a->skipped = snap->skipped;
	CHECK(st_same_bits(a, snap), "a - empty changed the sums");
	free(a), free(b), free(snap), free(fresh), free(e), free(bigskip);
}

static void
test_compatible(void)
{
	LrState    *a2i = st_new(2, 1),
			   *a3i = st_new(3, 1),
			   *a2n = st_new(2, 0),
			   *ei = st_new(-1, 1),
			   *en = st_new(-1, 0);
	const char *why = NULL;

	CHECK(lr_state_compatible(a2i, a2i, &why) == 1, "same: incompatible");
	why = NULL;
	CHECK(lr_state_compatible(a2i, a3i, &why) == 0 && why && *why, "different nfeat accepted");
	why = NULL;
	CHECK(lr_state_compatible(a3i, a2i, &why) == 0 && why && *why, "different nfeat accepted");
	why = NULL;
	CHECK(lr_state_compatible(a2i, a2n, &why) == 0 && why && *why, "different intercept accepted");
	why = NULL;
	CHECK(lr_state_compatible(a2n, a2i, &why) == 0 && why && *why, "different intercept accepted");
	CHECK(lr_state_compatible(ei, a2i, &why) == 1 && lr_state_compatible(a3i, ei, &why) == 1,
		  "an empty (-1) state is incompatible");
	CHECK(lr_state_compatible(en, a2n, &why) == 1, "an empty (-1) no-intercept state is incompatible");
	why = NULL;
	CHECK(lr_state_compatible(en, a2i, &why) == 0 && why, "empty no-intercept vs intercept accepted");
	free(a2i), free(a3i), free(a2n), free(ei), free(en);
}

/* The first four bytes belong to the container: the core never touches them. */
static void
test_length_word_untouched(void)
{
	LrState    *a = st_new(DYI_P, 1),
			   *b = st_new(DYI_P, 1),
			   *e = st_new(DYI_P, 1);

	b->vl_len_ = 0x12345678;
	st_add_rows(a, 5, dyi_X, dyi_y, dyi_w);
	st_add_rows(b, 5, dyi_X + 5 * DYI_P, dyi_y + 5, dyi_w + 5);
	CHECK(a->vl_len_ == VL_SENTINEL, "add_row changed the length word");
	lr_state_remove_row(a, dyi_y[1], dyi_X + DYI_P, dyi_w[1]);
	CHECK(a->vl_len_ == VL_SENTINEL, "remove_row changed the length word");
	lr_state_merge(a, b);
	CHECK(a->vl_len_ == VL_SENTINEL, "merge changed the length word");
	lr_state_subtract(a, b);
	CHECK(a->vl_len_ == VL_SENTINEL, "subtract changed the length word");
	for (int i = 0; i < 5; i++)
		if (i != 1)
			lr_state_remove_row(a, dyi_y[i], dyi_X + i * DYI_P, dyi_w[i]);
	CHECK(a->rows == 0 && a->vl_len_ == VL_SENTINEL, "emptying changed the length word");
	/* merge into an empty state of the same size (the copy path) */
	lr_state_merge(e, b);
	CHECK(e->vl_len_ == VL_SENTINEL,
		  "merge into an empty state copied b's length word (0x%x) over a's (0x%x)",
		  (unsigned) e->vl_len_, (unsigned) VL_SENTINEL);
	free(a), free(b), free(e);
}

/* ------------------------------------------------------------------ lr_state_check */

static LrState *
filled(int p, int icpt)
{
	LrState    *s = st_new(p, icpt);
	Rng			r = {19};
	double		X[10 * 4],
				y[10],
				w[10];

	gen_real(&r, 10, p, X, y, w, 1);
	st_add_rows(s, 10, X, y, w);
	return s;
}

#define EXPECT_BAD(s, n, label) \
	CHECK(lr_state_check((s), (n)) != NULL, "lr_state_check accepted: %s", (label))

static void
test_check_corrupt(void)
{
	int			p = 3,
				d = 4;
	size_t		m = 3 * (size_t) d + 2 * lr_tri_len(d);
	LrState    *good = filled(p, 1),
			   *goodn = filled(p, 0),
			   *s;
	char		label[100];

	CHECK(lr_state_check(good, st_size(good)) == NULL, "good state rejected: %s", lr_state_check(good, st_size(good)));
	CHECK(lr_state_check(goodn, st_size(goodn)) == NULL, "good no-intercept state rejected");

	/* too short for a header: the check must not read past nbytes */
	for (size_t n = 0; n < offsetof(LrState, data); n += 3)
	{
		char	   *blk = malloc(n ? n : 1);

		memset(blk, 0, n);
		EXPECT_BAD((LrState *) blk, n, "short block");
		free(blk);
	}
	s = st_clone(good);
	EXPECT_BAD(s, st_size(s) - 8, "size - 8");
	EXPECT_BAD(s, st_size(s) + 8, "size + 8");
	EXPECT_BAD(s, lr_state_size(p - 1), "size of p-1");
#define MUT(stmt, label) do { memcpy(s, good, st_size(good)); stmt; EXPECT_BAD(s, st_size(good), label); } while (0)
	MUT(s->version = 0, "version 0");
	MUT(s->version = 2, "version 2");
	MUT(s->version = 255, "version 255");
	MUT(s->intercept = 2, "intercept 2");
	MUT(s->reserved = 1, "reserved");
	MUT(s->reserved2 = -1, "reserved2");
	MUT(s->nfeat = 2, "nfeat 2 in a 3-block");
	MUT(s->nfeat = 4, "nfeat 4 in a 3-block");
	MUT(s->nfeat = -2, "nfeat -2");
	MUT(s->nfeat = LR_MAX_FEATURES + 1, "nfeat 2001");
	MUT(s->nfeat = INT32_MIN, "nfeat INT32_MIN");
	MUT(s->rows = -1, "rows -1");
	MUT(s->rows = INT64_MIN, "rows INT64_MIN");
	MUT(s->skipped = -1, "skipped -1");
	MUT(s->wsum_hi = NAN, "wsum NaN");
	MUT(s->wsum_hi = INFINITY, "wsum inf");
	MUT(s->wsum_lo = NAN, "wsum_lo NaN");
	MUT(s->wsum_lo = -INFINITY, "wsum_lo -inf");
	MUT(s->logw_hi = NAN, "logw NaN");
	MUT(s->logw_lo = INFINITY, "logw_lo inf");
	MUT(s->wsum_hi = 0.0, "rows > 0, wsum 0");
	MUT((s->wsum_hi = 0.0, s->wsum_lo = 0.0), "rows > 0, wsum 0,0");
	MUT(s->wsum_hi = -s->wsum_hi, "rows > 0, wsum < 0");
	MUT(s->wsum_hi = -1e-300, "rows > 0, wsum tiny negative");
	for (size_t k = 0; k < m; k++)
	{
		snprintf(label, sizeof(label), "NaN at data[%zu]", k);
		MUT(s->data[k] = NAN, label);
		snprintf(label, sizeof(label), "-inf at data[%zu]", k);
		MUT(s->data[k] = -INFINITY, label);
	}
	for (int j = 0; j < d; j++)
	{
		snprintf(label, sizeof(label), "tiny negative diagonal %d, zero sum", j);
		MUT((lr_sum_hi(s)[j] = 0.0, lr_sum_lo(s)[j] = 0.0, lr_cross_hi(s)[lr_tri_index(d, j, j)] = -1e-310,
			 lr_cross_lo(s)[lr_tri_index(d, j, j)] = 0.0), label);
		snprintf(label, sizeof(label), "negative diagonal %d", j);
		MUT(lr_cross_hi(s)[lr_tri_index(d, j, j)] = -1.0, label);
		snprintf(label, sizeof(label), "sum^2 > W * diagonal at %d", j);
		MUT((lr_sum_hi(s)[j] = 1e6, lr_cross_hi(s)[lr_tri_index(d, j, j)] = 1.0), label);
	}
	/* no intercept: the shift must be zero */
	for (int j = 0; j < d; j++)
	{
		memcpy(s, goodn, st_size(goodn));
		lr_shift(s)[j] = 0.5;
		snprintf(label, sizeof(label), "no intercept, shift[%d] = 0.5", j);
		EXPECT_BAD(s, st_size(s), label);
	}
	free(s);

	/* empty states must be all zero */
	s = st_new(p, 1);
	{
		LrState    *e = st_clone(s);

		for (size_t k = 0; k < m; k++)
		{
			memcpy(s, e, st_size(e));
			s->data[k] = 1.0;
			snprintf(label, sizeof(label), "rows 0, data[%zu] = 1", k);
			EXPECT_BAD(s, st_size(s), label);
		}
		memcpy(s, e, st_size(e));
		s->wsum_hi = 1.0;
		EXPECT_BAD(s, st_size(s), "rows 0, wsum 1");
		memcpy(s, e, st_size(e));
		s->logw_hi = 0.5;
		EXPECT_BAD(s, st_size(s), "rows 0, logw 0.5");
		free(e);
	}
	free(s);
	s = st_new(-1, 1);
	s->rows = 1;
	EXPECT_BAD(s, st_size(s), "nfeat -1 with rows");
	s->rows = 0;
	s->wsum_hi = 2.0;
	EXPECT_BAD(s, st_size(s), "nfeat -1 with weight");
	s->wsum_hi = 0.0;
	s->skipped = 12;
	CHECK(lr_state_check(s, st_size(s)) == NULL, "nfeat -1 with skipped rows rejected");
	free(s);
#undef MUT
	free(good), free(goodn);
}

/* ------------------------------------------------------------------ large p */

static void
test_large_p(void)
{
	int			p = LR_MAX_FEATURES;
	LrState    *s = st_new(p, 1),
			   *t;
	double	   *x = malloc(sizeof(double) * p);

	for (int j = 0; j < p; j++)
		x[j] = j;
	lr_state_add_row(s, 1.0, x, 1.0);
	for (int j = 0; j < p; j++)
		x[j] = j + 0.5 * (j % 3);
	lr_state_add_row(s, 2.0, x, 2.0);
	CHECK(lr_state_check(s, st_size(s)) == NULL, "p = %d state fails check", p);
	/* C_jj = W1 W2 / W (x2 - x1)^2 */
	CHECK(fabs(lr_cross_hi(s)[lr_tri_index(p + 1, p - 1, p - 1)] - 2.0 * 0.25) < 1e-15,
		  "cross[p-1,p-1] = %.17g", lr_cross_hi(s)[lr_tri_index(p + 1, p - 1, p - 1)]);
	t = st_clone(s);
	CHECK(lr_state_merge(t, s) == 0 && t->rows == 4, "merge at p = %d", p);
	CHECK(lr_state_subtract(t, s) == 0 && t->rows == 2, "subtract at p = %d", p);
	CHECK(moments_diff_states(t, s) <= 1e-28, "p = %d: (s+s)-s != s", p);
	lr_state_remove_row(s, 2.0, x, 2.0);
	for (int j = 0; j < p; j++)
		x[j] = j;
	lr_state_remove_row(s, 1.0, x, 1.0);
	CHECK(s->rows == 0 && lr_state_check(s, st_size(s)) == NULL, "emptied p = %d state", p);
	free(s), free(t), free(x);
}

void
run_state_tests(void)
{
	t_run("state_layout_and_init", test_layout);
	t_run("state_add_exact_moments_intercept", test_add_exact_moments_intercept);
	t_run("state_add_exact_moments_no_intercept", test_add_exact_moments_no_intercept);
	t_run("state_add_exact_moments_real_weights", test_add_exact_moments_real_weights);
	t_run("state_remove_equals_fresh", test_remove_equals_fresh);
	t_run("state_remove_dyadic_exact", test_remove_dyadic_exact);
	t_run("state_remove_first_rows_real", test_remove_first_row_real);
	t_run("state_remove_far_first_row", test_remove_far_first_row);
	t_run("state_remove_all_exact_zero", test_remove_all_exact_zero);
	t_run("state_weight_two_is_twice", test_weight_two_is_twice);
	t_run("state_weight_zero_is_absent", test_weight_zero_is_absent);
	t_run("merge_shards_dyadic_exact", test_merge_shards_dyadic_exact);
	t_run("merge_shards_real", test_merge_shards_real);
	t_run("merge_empty_states", test_merge_empty);
	t_run("merge_into_unsized_empty_state", test_merge_into_unsized_empty);
	t_run("subtract_inverse_of_merge", test_subtract_inverse);
	t_run("subtract_all_and_too_many", test_subtract_all_and_too_many);
	t_run("state_compatible", test_compatible);
	t_run("state_length_word_untouched", test_length_word_untouched);
	t_run("state_check_corrupt", test_check_corrupt);
	t_run("state_max_features", test_large_p);
}
