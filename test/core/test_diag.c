/*
 * test_diag.c -- the diagnostics of src/core/lr_diag.c against exact
 * rational references (gen_diag_refs.py -> diag_refs.h): leverage and fit at
 * points, HC0..HC3, influence measures, VIF, Breusch-Pagan and
 * Durbin-Watson statistics; weighted and unweighted, with and without
 * intercept; the same with the first feature shifted by 2^27 (figures that
 * do not depend on the origin must keep their digits: the centred, whitened
 * coordinates remove the offset exactly); an aliased feature; the nested
 * F test's checks; dropping a state's last feature.
 */
#include "tests.h"

#include "core/lr_diag.h"
#include "core/lr_stats.h"
#include "diag_refs.h"

#define NROWS ((int) (sizeof(DIAG_ROWS) / sizeof(DIAG_ROWS[0])))

typedef struct Built
{
	LrState    *s;
	LrModel    *m;
	LrDiag		d;
} Built;

/* the fit of the eight rows: features x1 (+ shift), x2 [, x1 + x2 when alias] */
static int
build(Built *b, int icpt, int weighted, double shift, int alias)
{
	int			p = alias ? 3 : 2;
	double		X[NROWS * 3],
				y[NROWS],
				w[NROWS];

	for (int t = 0; t < NROWS; t++)
	{
		X[t * p] = DIAG_ROWS[t][0] + shift;
		X[t * p + 1] = DIAG_ROWS[t][1];
		if (alias)
			X[t * p + 2] = DIAG_ROWS[t][0] + DIAG_ROWS[t][1];
		y[t] = DIAG_ROWS[t][2];
		w[t] = weighted ? DIAG_ROWS[t][3] : 1.0;
	}
	b->s = st_new(p, icpt);
	st_add_rows(b->s, NROWS, X, y, w);
	b->m = malloc(lr_model_size(p, icpt));
	if (lr_model_build(b->m, b->s, LR_DEFAULT_TOL, 0.0) != LR_OK)
		return -1;
	return lr_diag_init(&b->d, b->m, NULL);
}

static void
unbuild(Built *b)
{
	lr_diag_free(&b->d);
	free(b->m);
	free(b->s);
}

static double
rel(double a, double ref)
{
	if (a == ref)
		return 0.0;
	return fabs(a - ref) / fmax(fabs(ref), 1e-300);
}

/* point j's features, shifted */
static void
point(int q, double shift, int alias, double *x)
{
	x[0] = DIAG_POINTS[q][0] + shift;
	x[1] = DIAG_POINTS[q][1];
	if (alias)
		x[2] = DIAG_POINTS[q][0] + DIAG_POINTS[q][1];
}

static void
row(int t, double shift, int alias, double *x)
{
	x[0] = DIAG_ROWS[t][0] + shift;
	x[1] = DIAG_ROWS[t][1];
	if (alias)
		x[2] = DIAG_ROWS[t][0] + DIAG_ROWS[t][1];
}

/*
 * Every figure of refs against the fit; with shift != 0 only the figures
 * that do not depend on the origin of x1 (not the intercept's HC).
 */
static void
check_case(const DiagRef *refs, int icpt, int weighted, double shift, int alias, double tol)
{
	Built		b;
	double		worst = 0.0;
	const char *wfig = "";
	int			wi = 0;
	int			nt;
	double		se[4][4],
				seb[4][4];
	LrHC		hc[4];
	LrInfluence inf[NROWS];
	dd			z[4];
	double		vif[3];
	LrTest		bps, bpo;
	LrDW		dw;
	LrTest		dwt;

	REQUIRE(build(&b, icpt, weighted, shift, alias) == LR_OK, "build failed");
	nt = b.d.nt;
	for (int typ = 0; typ < 4; typ++)
	{
		REQUIRE(lr_hc_init(&hc[typ], &b.d, typ) == LR_OK, "hc init");
		for (int t = 0; t < NROWS; t++)
		{
			double		x[3];

			row(t, shift, alias, x);
			lr_hc_add(&hc[typ], &b.d, DIAG_ROWS[t][2], x, weighted ? DIAG_ROWS[t][3] : 1.0);
		}
		REQUIRE(lr_hc_result(&hc[typ], &b.d, se[typ], NULL, NULL) == LR_OK, "hc result");
		lr_hc_free(&hc[typ]);
	}
	/* the same through the block batch, drained midway and at the end */
	for (int typ = 0; typ < 4; typ++)
	{
		LrHCBatch  *hb = malloc(lr_hc_batch_size(&b.d));

		REQUIRE(hb && lr_hc_init(&hc[typ], &b.d, typ) == LR_OK, "hc batch init");
		lr_hc_batch_init(hb, &b.d);
		for (int t = 0; t < NROWS; t++)
		{
			double		x[3];

			row(t, shift, alias, x);
			lr_hc_batch_add(hb, &hc[typ], &b.d, DIAG_ROWS[t][2], x, weighted ? DIAG_ROWS[t][3] : 1.0);
			if (t == NROWS / 2)
				lr_hc_batch_drain(hb, &hc[typ]);
		}
		lr_hc_batch_drain(hb, &hc[typ]);
		lr_hc_batch_drain(hb, &hc[typ]);
		CHECK(hc[typ].n == NROWS && hb->fast + hb->slow == NROWS, "batch rows %lld", (long long) hc[typ].n);
		REQUIRE(lr_hc_result(&hc[typ], &b.d, seb[typ], NULL, NULL) == LR_OK, "hc batch result");
		lr_hc_free(&hc[typ]);
		free(hb);
	}
	for (int t = 0; t < NROWS; t++)
	{
		double		x[3];

		row(t, shift, alias, x);
		lr_diag_influence(&b.d, DIAG_ROWS[t][2], x, weighted ? DIAG_ROWS[t][3] : 1.0, z, &inf[t]);
	}
	REQUIRE(lr_vif(b.m, vif, NULL) == LR_OK, "vif");
	if (alias)
		CHECK(isnan(vif[2]), "aliased VIF is %g, not NaN", vif[2]);
	if (!weighted)
	{
		/* the auxiliary state of e^2 on x, as the aggregates build it */
		LrState    *aux = st_new(b.m->nfeat, icpt);

		for (int t = 0; t < NROWS; t++)
		{
			double		x[3];
			double		e;

			row(t, shift, alias, x);
			e = dd_to_double(lr_diag_resid(&b.d, DIAG_ROWS[t][2], x));
			lr_state_add_row(aux, e * e, x, 1.0);
		}
		REQUIRE(lr_bptest(aux, 1, &bps) == LR_OK && lr_bptest(aux, 0, &bpo) == LR_OK, "bptest");
		CHECK(bps.df == 1.0 + icpt && bpo.df == 1.0 + icpt, "BP df %g %g", bps.df, bpo.df);
		free(aux);
		REQUIRE(lr_dw_init(&dw, &b.d, -1) == LR_OK, "dw init");
		for (int t = 0; t < NROWS; t++)
		{
			double		x[3];

			row(t, shift, alias, x);
			lr_dw_add(&dw, &b.d, DIAG_ROWS[t][2], x);
		}
		REQUIRE(lr_dw_result(&dw, &b.d, &dwt, NULL) == LR_OK, "dw result");
		lr_dw_free(&dw);
	}
	for (const DiagRef *r = refs; r->fig; r++)
	{
		double		got = NAN;

		if (strcmp(r->fig, "lev") == 0 || strcmp(r->fig, "fit") == 0)
		{
			double		x[3];

			point(r->i, shift, alias, x);
			got = r->fig[0] == 'l' ? dd_to_double(lr_diag_point(&b.d, x, z))
				: dd_to_double(lr_diag_fit(&b.d, x));
		}
		else if (strncmp(r->fig, "hc", 2) == 0)
		{
			/* the intercept's SE depends on the origin; the aliased feature's is NaN */
			if (shift != 0.0 && icpt && r->i == 0)
				continue;
			got = se[r->fig[2] - '0'][r->i];
			/* the batch's figure, when it is the worse of the two */
			if (rel(seb[r->fig[2] - '0'][r->i], r->v) > rel(got, r->v) || isnan(seb[r->fig[2] - '0'][r->i]))
				got = seb[r->fig[2] - '0'][r->i];
		}
		else if (strcmp(r->fig, "hat") == 0)
			got = inf[r->i].hat;
		else if (strcmp(r->fig, "rstandard") == 0)
			got = inf[r->i].rstandard;
		else if (strcmp(r->fig, "rstudent") == 0)
			got = inf[r->i].rstudent;
		else if (strcmp(r->fig, "cooks") == 0)
			got = inf[r->i].cooks;
		else if (strcmp(r->fig, "dffits") == 0)
			got = inf[r->i].dffits;
		else if (strcmp(r->fig, "covratio") == 0)
			got = inf[r->i].covratio;
		else if (strcmp(r->fig, "vif") == 0)
			got = vif[r->i];
		else if (strcmp(r->fig, "bp_stud") == 0)
			got = bps.statistic;
		else if (strcmp(r->fig, "bp_orig") == 0)
			got = bpo.statistic;
		else if (strcmp(r->fig, "dw") == 0)
			got = dwt.statistic;
		/*
		 * The influence figures come from the float64 fast path where its
		 * error bound allows (lr_diag_resid_fast): 1e-13 relative for them
		 * (COVRATIO raises an error of the deleted variance to the power p).
		 */
		double		err = rel(got, r->v);

		if (strcmp(r->fig, "hat") == 0 || strcmp(r->fig, "rstandard") == 0 ||
			strcmp(r->fig, "rstudent") == 0 || strcmp(r->fig, "cooks") == 0 ||
			strcmp(r->fig, "dffits") == 0 || strcmp(r->fig, "covratio") == 0)
			err = err * tol / fmax(tol, 1e-13);
		if (!(err <= worst))
		{
			worst = isnan(got) ? INFINITY : err;
			wfig = r->fig;
			wi = r->i;
		}
	}
	if (alias)
		for (int typ = 0; typ < 4; typ++)
			CHECK(isnan(se[typ][nt - 1]), "HC%d of the aliased term is %g", typ, se[typ][nt - 1]);
	CHECK(worst <= tol, "worst relative error %.3g (%s %d), tolerance %.1g", worst, wfig, wi, tol);
	unbuild(&b);
}

static void
test_weighted_intercept(void)
{
	check_case(DIAG_W_ICPT, 1, 1, 0.0, 0, 4e-15);
}

static void
test_unweighted_intercept(void)
{
	check_case(DIAG_ICPT, 1, 0, 0.0, 0, 4e-15);
}

static void
test_no_intercept(void)
{
	check_case(DIAG_NOINT, 0, 0, 0.0, 0, 4e-15);
	check_case(DIAG_W_NOINT, 0, 1, 0.0, 0, 4e-15);
}

/* x1 + 2^27: the raw cross products are 1e16 times the centred ones */
static void
test_shifted_origin(void)
{
	check_case(DIAG_W_ICPT, 1, 1, 134217728.0, 0, 2e-14);
	check_case(DIAG_ICPT, 1, 0, 134217728.0, 0, 2e-14);
}

/* x3 = x1 + x2 is aliased: every figure is that of the fit without it */
static void
test_aliased(void)
{
	check_case(DIAG_W_ICPT, 1, 1, 0.0, 1, 4e-15);
	check_case(DIAG_ICPT, 1, 0, 0.0, 1, 4e-15);
}

static void
test_drop_last_feature(void)
{
	Built		a,
				b;
	LrState    *r;

	REQUIRE(build(&a, 1, 1, 0.0, 1) == LR_OK && build(&b, 1, 1, 0.0, 0) == LR_OK, "build");
	r = malloc(lr_state_size(2));
	lr_state_drop_last_feature(a.s, r);
	r->vl_len_ = VL_SENTINEL;
	CHECK(r->nfeat == 2 && r->rows == b.s->rows, "dropped state: %d features, %lld rows",
		  r->nfeat, (long long) r->rows);
	CHECK(st_same_bits(r, b.s), "dropping the last feature differs from never adding it");
	free(r);
	unbuild(&a);
	unbuild(&b);
}

static void
test_anova_checks(void)
{
	Built		big,
				alias,
				noint,
				shifted;
	LrAnova		an;
	const char *why;
	int			map[3];

	REQUIRE(build(&big, 1, 1, 0.0, 0) == LR_OK && build(&alias, 1, 1, 0.0, 1) == LR_OK &&
			build(&noint, 0, 1, 0.0, 0) == LR_OK && build(&shifted, 1, 1, 1.0, 0) == LR_OK, "build");
	/* the same model against itself: df 0, F undefined */
	CHECK(lr_anova(big.m, big.m, &an, map, &why) == LR_OK && an.df == 0 && isnan(an.f) &&
		  map[0] == 0 && map[1] == 1, "self anova");
	/* big within the aliased model: the extra column explains nothing */
	CHECK(lr_anova(big.m, alias.m, &an, map, &why) == LR_OK && an.df == 0 && fabs(an.ss) < 1e-12,
		  "nested in aliased: df %g ss %g", an.df, an.ss);
	CHECK(lr_anova(alias.m, big.m, &an, NULL, &why) == LR_EMISMATCH && strstr(why, "more features"),
		  "more features: %s", why ? why : "ok");
	/* through the origin within the model with intercept: one more term */
	CHECK(lr_anova(noint.m, big.m, &an, map, &why) == LR_OK && an.df == 1 && map[0] == 0 && map[1] == 1,
		  "origin in intercept: %s df %g", why ? why : "ok", an.df);
	CHECK(lr_anova(big.m, noint.m, &an, NULL, &why) == LR_EMISMATCH && strstr(why, "intercept"),
		  "intercept: %s", why ? why : "ok");
	CHECK(lr_anova(shifted.m, big.m, &an, NULL, &why) == LR_EMISMATCH && strstr(why, "not nested"),
		  "shifted column: %s", why ? why : "ok");
	/* a model of x2 alone within big: matched to feature 1 */
	{
		double		X[NROWS],
					y[NROWS],
					w[NROWS];
		LrState    *s = st_new(1, 1);
		LrModel    *m = malloc(lr_model_size(1, 1));

		for (int t = 0; t < NROWS; t++)
		{
			X[t] = DIAG_ROWS[t][1];
			y[t] = DIAG_ROWS[t][2];
			w[t] = DIAG_ROWS[t][3];
		}
		st_add_rows(s, NROWS, X, y, w);
		REQUIRE(lr_model_build(m, s, LR_DEFAULT_TOL, 0.0) == LR_OK, "small");
		CHECK(lr_anova(m, big.m, &an, map, &why) == LR_OK && map[0] == 1 && an.df == 1 && an.f > 0,
			  "x2 in big: rc, map %d df %g f %g", map[0], an.df, an.f);
		free(m);
		free(s);
	}
	unbuild(&big);
	unbuild(&alias);
	unbuild(&noint);
	unbuild(&shifted);
}

/*
 * The float64 leverage (lr_diag_point_fast, four rows of L^-1 at a time)
 * against the double-double one, for 1..13 features (every padding of the
 * blocks), with and without intercept, with an aliased feature and an
 * offset: within the accepted bound (2^-47 relative).
 */
static void
test_point_fast_blocks(void)
{
	Rng			rng = {12345};

	for (int p = 1; p <= 13; p++)
		for (int icpt = 0; icpt <= 1; icpt++)
		{
			int			n = 40 + 3 * p;
			double	   *X = malloc(sizeof(double) * (size_t) (n * p));
			double	   *y = malloc(sizeof(double) * (size_t) n);
			double	   *u = malloc(sizeof(double) * (size_t) (p + 1));
			double		x[13];
			LrState    *s = st_new(p, icpt);
			LrModel    *m = malloc(lr_model_size(p, icpt));
			LrDiag		d;
			double		worst = 0.0;

			for (int t = 0; t < n; t++)
			{
				for (int j = 0; j < p; j++)
					X[t * p + j] = rng_normal(&rng) + (j == 0 ? 1000.0 : 0.0);
				if (p >= 3)
					X[t * p + 2] = X[t * p] - X[t * p + 1];	/* aliased */
				y[t] = rng_normal(&rng);
			}
			st_add_rows(s, n, X, y, NULL);
			REQUIRE(lr_model_build(m, s, LR_DEFAULT_TOL, 0.0) == LR_OK, "build p=%d", p);
			REQUIRE(lr_diag_init(&d, m, NULL) == LR_OK, "diag init p=%d", p);
			for (int t = 0; t < 50; t++)
			{
				double		f;

				for (int j = 0; j < p; j++)
					x[j] = t < n ? X[t * p + j] : 3.0 * rng_normal(&rng) + (j == 0 ? 1000.0 : 0.0);
				f = lr_diag_point_fast(&d, x, u);
				worst = fmax(worst, rel(f, dd_to_double(lr_diag_point(&d, x, NULL))));
			}
			CHECK(worst <= 0x1p-47, "p=%d icpt=%d: leverage off by %.3g", p, icpt, worst);
			lr_diag_free(&d);
			free(m);
			free(s);
			free(u);
			free(y);
			free(X);
		}
}

/*
 * Imhof's integral (lr_qf_lower_p) against closed forms: for chi-squared
 * variables, P(a X1 - b X2 <= 0) = (2/pi) atan(sqrt(b/a)) (F(1,1)),
 * P(X1 + X2 - c (X3 + X4) <= 0) = c / (1 + c) (F(2,2)), and F(4,4):
 * x^2 (3 - 2x) with x = c / (1 + c); all of one sign gives 0 or 1.
 */
static void
test_qf_lower_p(void)
{
	double		worst = 0.0;

	for (double c = 0.05; c < 40.0; c *= 1.7)
	{
		double		nu2[2] = {1.0, -c};
		double		nu4[4] = {1.0, 1.0, -c, -c};
		double		nu8[8] = {0.5, 0.5, 0.5, 0.5, -0.5 * c, -0.5 * c, -0.5 * c, -0.5 * c};
		double		x = c / (1.0 + c);

		worst = fmax(worst, fabs(lr_qf_lower_p(nu2, 2) - 2.0 / M_PI * atan(sqrt(c))));
		worst = fmax(worst, fabs(lr_qf_lower_p(nu4, 4) - x));
		worst = fmax(worst, fabs(lr_qf_lower_p(nu8, 8) - x * x * (3.0 - 2.0 * x)));
	}
	CHECK(worst <= 1e-14, "Imhof off by %.3g (absolute)", worst);
	{
		double		pos[3] = {1.0, 2.0, 3.5};
		double		neg[2] = {-0.25, -3.0};

		CHECK(fabs(lr_qf_lower_p(pos, 3)) <= 1e-15, "all positive: %.17g", lr_qf_lower_p(pos, 3));
		CHECK(fabs(lr_qf_lower_p(neg, 2) - 1.0) <= 1e-15, "all negative: %.17g", lr_qf_lower_p(neg, 2));
	}
}

/*
 * The block batch of the meat against lr_hc_add on 3000 rows of four
 * features (weighted, with and without intercept): the float64 path takes
 * well-conditioned rows, and the figures agree to double-double rounding
 * of the sums and the float64 factors' bounds (1e-14 relative).  With a
 * fourth feature within 1e-9 of the first the float64 whitening cannot be
 * shown accurate and the rows take the double-double path.
 */
static void
test_hc_batch(void)
{
	enum
	{
		N = 3000, P = 4
	};
	double	   *X = malloc(sizeof(double) * N * P);
	double	   *y = malloc(sizeof(double) * N);
	double	   *w = malloc(sizeof(double) * N);
	uint64_t	seed = 12345;

	for (int shifted = 0; shifted < 2; shifted++)
		for (int icpt = 0; icpt < 2; icpt++)
		{
			LrState    *s = st_new(P, icpt);
			LrModel    *m = malloc(lr_model_size(P, icpt));
			LrDiag		d;
			double		worst = 0.0;
			int64_t		fast = 0,
						slow = 0;

			for (int i = 0; i < N; i++)
			{
				double		e;

				for (int j = 0; j < P; j++)
				{
					seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
					X[i * P + j] = (double) (seed >> 11) * 0x1p-53;
				}
				if (shifted)
					X[i * P + 3] = X[i * P] + 1e-9 * X[i * P + 3];
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				e = ((double) (seed >> 11) * 0x1p-53 - 0.5) * (1.0 + X[i * P + 1]);
				y[i] = 1.0 + 2.0 * X[i * P + 1] - X[i * P + 2] + 0.5 * X[i * P + 3] + e;
				w[i] = 0.5 + (double) (i % 7);
			}
			st_add_rows(s, N, X, y, w);
			REQUIRE(lr_model_build(m, s, LR_DEFAULT_TOL, 0.0) == LR_OK && lr_diag_init(&d, m, NULL) == LR_OK,
					"build");
			for (int typ = 0; typ < 4; typ++)
			{
				LrHC		a,
							b;
				LrHCBatch  *hb = malloc(lr_hc_batch_size(&d));
				double		sa[P + 1],
							sb[P + 1];

				REQUIRE(hb && lr_hc_init(&a, &d, typ) == LR_OK && lr_hc_init(&b, &d, typ) == LR_OK, "init");
				lr_hc_batch_init(hb, &d);
				for (int i = 0; i < N; i++)
				{
					lr_hc_add(&a, &d, y[i], X + i * P, w[i]);
					lr_hc_batch_add(hb, &b, &d, y[i], X + i * P, w[i]);
				}
				lr_hc_batch_drain(hb, &b);
				fast += hb->fast;
				slow += hb->slow;
				REQUIRE(lr_hc_result(&a, &d, sa, NULL, NULL) == LR_OK &&
						lr_hc_result(&b, &d, sb, NULL, NULL) == LR_OK, "result");
				for (int t = 0; t < d.nt; t++)
					worst = fmax(worst, rel(sb[t], sa[t]));
				lr_hc_free(&a);
				lr_hc_free(&b);
				free(hb);
			}
			CHECK(worst <= 1e-14, "collinear %d icpt %d: batch vs row by row %.3g", shifted, icpt, worst);
			if (!shifted)
				CHECK(fast >= 4 * N * 99 / 100, "icpt %d: %lld of %d rows on the float64 path", icpt,
					  (long long) fast, 4 * N);
			else
				CHECK(slow == 4 * N, "collinear: %lld of %d rows on the double-double path",
					  (long long) slow, 4 * N);
			lr_diag_free(&d);
			free(m);
			free(s);
		}
	free(X);
	free(y);
	free(w);
}

void
run_diag_tests(void)
{
	t_run("diag: Imhof's integral against closed forms", test_qf_lower_p);
	t_run("diag: weighted fit with intercept (exact references)", test_weighted_intercept);
	t_run("diag: unweighted fit with intercept, BP and DW", test_unweighted_intercept);
	t_run("diag: fits through the origin", test_no_intercept);
	t_run("diag: origin shifted by 2^27 keeps every digit", test_shifted_origin);
	t_run("diag: aliased feature", test_aliased);
	t_run("diag: dropping a state's last feature", test_drop_last_feature);
	t_run("diag: nested-model checks", test_anova_checks);
	t_run("diag: float64 leverage in blocks of four rows", test_point_fast_blocks);
	t_run("diag: the sandwich meat by blocks equals row by row", test_hc_batch);
}
