/*
 * test_model.c -- lr_model: building, checking, predicting.
 */
#include "tests.h"
#include "refs.h"

static LrModel *
model_of(const LrState *s, int *rc)
{
	size_t		size = lr_model_size(s->nfeat, s->intercept);
	LrModel    *m = malloc(size);

	memset(m, 0x77, size);		/* build must not rely on zeroed memory */
	m->vl_len_ = VL_SENTINEL;
	*rc = lr_model_build(m, s, LR_DEFAULT_TOL, 0.0);
	return m;
}

static LrState *
exact_state(int aliased_col, int icpt)
{
	LrState    *s = st_new(3, icpt);

	for (int i = 0; i < 20; i++)
	{
		double		x[3] = {(i * 7) % 11 - 5, (i * i * 3 + i) % 13 - 6, 0};

		x[2] = aliased_col ? x[0] + x[1] : ((i * 5 + 2) % 9 - 4);
		lr_state_add_row(s, (icpt ? 3.0 : 0.0) + 2.0 * x[0] - 0.5 * x[1] + (aliased_col ? 0.0 : 0.25 * x[2]),
						 x, 1.0 + (i % 2));
	}
	s->skipped = 4;
	return s;
}

static void
test_build_fields(void)
{
	for (int icpt = 0; icpt <= 1; icpt++)
		for (int al = 0; al <= 1; al++)
		{
			LrState    *s = exact_state(al, icpt);
			int			rc;
			LrModel    *m = model_of(s, &rc);
			Fit			f = fit_state(s, LR_DEFAULT_TOL);
			size_t		size = lr_model_size(3, icpt);
			const LrState *es;

			REQUIRE(rc == LR_OK, "rc %d", rc);
			CHECK(m->version == LR_MODEL_VERSION && m->intercept == icpt && m->nfeat == 3 &&
				  m->reserved == 0 && m->names_len == 0 && m->lambda == 0.0, "header");
			CHECK(m->rank == f.rank && m->method == f.method && m->cond == f.cond &&
				  m->rows == 20 && m->skipped == 4, "rank %d method %d cond %g rows %lld skipped %lld",
				  m->rank, m->method, m->cond, (long long) m->rows, (long long) m->skipped);
			CHECK(lr_model_nterms(m) == 3 + icpt, "nterms");
			for (int j = 0; j < 3 + icpt; j++)
				CHECK(m->coef[j] == f.coef[j] && lr_model_aliased(m)[j] == f.aliased[j],
					  "icpt %d al %d: term %d: %.17g/%d vs solve %.17g/%d", icpt, al, j,
					  m->coef[j], lr_model_aliased(m)[j], f.coef[j], f.aliased[j]);
			/* padding after the flags is zero */
			for (size_t k = offsetof(LrModel, coef) + 8 * (size_t) (3 + icpt) + (size_t) (3 + icpt);
				 k < lr_model_state_offset(3, icpt); k++)
				CHECK(((unsigned char *) m)[k] == 0, "padding byte %zu = 0x%02x", k, ((unsigned char *) m)[k]);
			es = lr_model_state(m);
			CHECK(memcmp((const char *) es + 4, (const char *) s + 4, st_size(s) - 4) == 0,
				  "embedded state differs from the source");
			CHECK(lr_model_check(m, size) == NULL, "icpt %d al %d: built model fails check: %s", icpt, al,
				  lr_model_check(m, size));
			free(s), free(m);
		}
}

static void
test_build_errors(void)
{
	LrState    *e = st_new(-1, 1),
			   *z = st_new(2, 1),
			   *s = exact_state(0, 1);
	size_t		size = lr_model_size(3, 1);
	LrModel    *m = malloc(size);
	int			rc;

	free(model_of(z, &rc));
	CHECK(rc == LR_ENOROWS, "empty state: rc %d", rc);
	rc = lr_model_build(m, s, -1.0, 0.0);
	CHECK(rc == LR_EBADTOL, "tol -1: rc %d", rc);
	rc = lr_model_build(m, s, NAN, 0.0);
	CHECK(rc == LR_EBADTOL, "tol NaN: rc %d", rc);
	rc = lr_model_build(m, s, LR_DEFAULT_TOL, -0.5);
	CHECK(rc == LR_EBADLAMBDA, "lambda -0.5: rc %d", rc);
	rc = lr_model_build(m, s, LR_DEFAULT_TOL, NAN);
	CHECK(rc == LR_EBADLAMBDA, "lambda NaN: rc %d", rc);
	rc = lr_model_build(m, s, LR_DEFAULT_TOL, INFINITY);
	CHECK(rc == LR_EBADLAMBDA, "lambda inf: rc %d", rc);
	rc = lr_model_build(m, s, LR_DEFAULT_TOL, 0.25);
	CHECK(rc == LR_OK && m->lambda == 0.25 && lr_model_check(m, size) == NULL, "ridge model: rc %d", rc);
	(void) e;
	free(e), free(z), free(s), free(m);
}

static void
test_predict(void)
{
	Rng			r = {31};

	/* exact coefficients and integer x: the prediction is exact */
	for (int icpt = 0; icpt <= 1; icpt++)
	{
		LrState    *s = exact_state(0, icpt);
		int			rc;
		LrModel    *m = model_of(s, &rc);

		REQUIRE(rc == LR_OK, "rc %d", rc);
		for (int t = 0; t < 50; t++)
		{
			double		x[3] = {rng_int(&r, -1000, 1000), rng_int(&r, -1000, 1000), rng_int(&r, -1000, 1000)};
			double		want = (icpt ? 3.0 : 0.0) + 2.0 * x[0] - 0.5 * x[1] + 0.25 * x[2];
			double		got = lr_model_predict(m, x);

			CHECK(got == want, "icpt %d: predict(%g,%g,%g) = %.17g, exact %.17g", icpt, x[0], x[1], x[2], got, want);
		}
		free(s), free(m);
	}

	/* aliased terms contribute nothing, whatever their x */
	{
		LrState    *s = exact_state(1, 1);
		int			rc;
		LrModel    *m = model_of(s, &rc);
		double		x[3] = {4.0, -6.0, 1e300};

		REQUIRE(rc == LR_OK && lr_model_aliased(m)[3] == 1, "aliased model");
		CHECK(lr_model_predict(m, x) == 3.0 + 8.0 + 3.0, "aliased predict = %.17g", lr_model_predict(m, x));
		free(s), free(m);
	}

	/* general coefficients: intercept + dot product, to rounding */
	for (int t = 0; t < 20; t++)
	{
		LrState    *s = st_new(5, 1);
		int			rc;
		LrModel    *m;

		for (int i = 0; i < 30; i++)
		{
			double		x[5];

			for (int j = 0; j < 5; j++)
				x[j] = rng_normal(&r) * (j + 1);
			lr_state_add_row(s, rng_normal(&r) + x[0] * 0.3, x, 1.0);
		}
		m = model_of(s, &rc);
		REQUIRE(rc == LR_OK, "rc %d", rc);
		for (int k = 0; k < 20; k++)
		{
			double		x[5];
			long double acc;
			long double mag;
			double		got;

			for (int j = 0; j < 5; j++)
				x[j] = rng_normal(&r) * 100.0;
			acc = m->coef[0];
			mag = fabsl(acc);
			for (int j = 0; j < 5; j++)
			{
				acc += (long double) m->coef[1 + j] * x[j];
				mag += fabsl((long double) m->coef[1 + j] * x[j]);
			}
			got = lr_model_predict(m, x);
			CHECK(fabsl(got - acc) <= 8e-16L * mag, "predict %.17g vs %.17Lg", got, acc);
		}
		free(s), free(m);
	}
}

#define EXPECT_BAD(stmt, label) \
	do { memcpy(m, good, size); stmt; CHECK(lr_model_check(m, size) != NULL, "lr_model_check accepted: %s", label); } while (0)

static void
test_check_corrupt(void)
{
	LrState    *s = exact_state(1, 1);
	int			rc;
	LrModel    *good = model_of(s, &rc);
	size_t		size = lr_model_size(3, 1);
	LrModel    *m = malloc(size);
	LrState    *es;

	REQUIRE(rc == LR_OK && lr_model_check(good, size) == NULL, "good model");
	CHECK(lr_model_check(good, size - 8) != NULL, "size - 8 accepted");
	CHECK(lr_model_check(good, size + 8) != NULL, "size + 8 accepted");
	for (size_t n = 0; n < offsetof(LrModel, coef); n += 5)
	{
		char	   *blk = calloc(1, n ? n : 1);

		CHECK(lr_model_check((LrModel *) blk, n) != NULL, "short block of %zu accepted", n);
		free(blk);
	}
	EXPECT_BAD(m->version = 2, "version 2");
	EXPECT_BAD(m->intercept = 2, "intercept 2");
	EXPECT_BAD(m->method = 0, "method 0");
	EXPECT_BAD(m->method = 3, "method 3");
	EXPECT_BAD(m->reserved = 1, "reserved");
	EXPECT_BAD(m->names_len = -1, "names_len -1");
	EXPECT_BAD(m->names_len = 8, "names_len 8 beyond the block");
	EXPECT_BAD(m->lambda = -1.0, "lambda -1");
	EXPECT_BAD(m->lambda = NAN, "lambda NaN");
	EXPECT_BAD(m->lambda = INFINITY, "lambda inf");
	EXPECT_BAD(m->nfeat = -1, "nfeat -1");
	EXPECT_BAD(m->nfeat = 2001, "nfeat 2001");
	EXPECT_BAD(m->nfeat = 2, "nfeat 2");
	EXPECT_BAD(m->rank = 4, "rank 4 with one aliased");
	EXPECT_BAD(m->rank = 2, "rank 2");
	EXPECT_BAD(m->coef[1] = NAN, "NaN coefficient");
	EXPECT_BAD(m->coef[0] = INFINITY, "infinite intercept");
	EXPECT_BAD(m->coef[3] = 1.0, "aliased coefficient nonzero");
	EXPECT_BAD(lr_model_aliased(m)[1] = 2, "aliased flag 2");
	EXPECT_BAD((lr_model_aliased(m)[0] = 1, m->coef[0] = 0.0, m->rank = 2), "aliased intercept");
	EXPECT_BAD((lr_model_aliased(m)[3] = 0, m->rank = 3), "rank not matching flags");
	EXPECT_BAD(m->cond = 0.5, "cond 0.5");
	EXPECT_BAD(m->cond = NAN, "cond NaN");
	EXPECT_BAD(m->cond = -INFINITY, "cond -inf");
	EXPECT_BAD(m->rows = 19, "rows differ from the state's");
	EXPECT_BAD(m->skipped = 0, "skipped differ from the state's");
	EXPECT_BAD((m->rows = 0, ((LrState *) lr_model_state(m))->rows = 0), "rows 0");
	EXPECT_BAD(((LrState *) lr_model_state(m))->intercept = 0, "embedded intercept differs");
	EXPECT_BAD(((LrState *) lr_model_state(m))->version = 9, "embedded version");
	EXPECT_BAD(((LrState *) lr_model_state(m))->data[5] = NAN, "embedded NaN");
	EXPECT_BAD(((LrState *) lr_model_state(m))->wsum_hi = -1.0, "embedded negative weight");
	/* the embedded state's length word is not maintained: anything goes */
	memcpy(m, good, size);
	es = (LrState *) lr_model_state(m);
	es->vl_len_ = -12345;
	CHECK(lr_model_check(m, size) == NULL, "embedded length word is checked");
	free(s), free(good), free(m);
}

/* Feature names appended after the base layout. */
static void
test_names(void)
{
	LrState    *s = exact_state(1, 1);
	int			rc;
	LrModel    *m = model_of(s, &rc);
	const char *names[3] = {"age", "income \"net\"", "x\xc3\xa9"};
	size_t		base = lr_model_size(3, 1),
				want = base + 4 + 13 + 4;
	char	   *blk = malloc(want + 16);
	LrModel    *mn = (LrModel *) blk;
	size_t		got;

	REQUIRE(rc == LR_OK, "rc %d", rc);
	got = lr_model_with_names(m, names, blk);
	CHECK(got == want && mn->names_len == (int32_t) (want - base) && lr_model_total_size(mn) == want,
		  "size %zu (want %zu), names_len %d", got, want, mn->names_len);
	CHECK(lr_model_check(mn, got) == NULL, "named model fails check: %s", lr_model_check(mn, got));
	{
		const char *nm = lr_model_names(mn);

		for (int j = 0; j < 3 && nm; j++, nm += strlen(nm) + 1)
			CHECK(strcmp(nm, names[j]) == 0, "name %d = '%s'", j, nm);
	}
	CHECK(memcmp(blk + 4, (char *) m + 4, offsetof(LrModel, names_len) - 4) == 0 &&
		  memcmp(blk + offsetof(LrModel, rows), (char *) m + offsetof(LrModel, rows), base - offsetof(LrModel, rows)) == 0,
		  "the base layout changed");
	CHECK(lr_model_names(m) == NULL, "a model without names has names");
	got = lr_model_with_names(m, NULL, blk);
	CHECK(got == base && mn->names_len == 0 && lr_model_check(mn, got) == NULL, "no names: size %zu", got);

	/* corrupt name blocks */
	lr_model_with_names(m, names, blk);
	blk[want - 1] = 'x';
	CHECK(lr_model_check(mn, want) != NULL, "unterminated names accepted");
	lr_model_with_names(m, names, blk);
	blk[base] = '\0';			/* first name empty, and 4 NULs in all */
	CHECK(lr_model_check(mn, want) != NULL, "empty name accepted");
	lr_model_with_names(m, names, blk);
	blk[base + 1] = '\n';
	CHECK(lr_model_check(mn, want) != NULL, "control character in a name accepted");
	{
		const char *two[3] = {"a", "b", "c"};

		got = lr_model_with_names(m, two, blk);
		blk[got - 3] = 'z';		/* "a\0bzc\0": two names for three features */
		CHECK(lr_model_check(mn, got) != NULL, "two names for three features accepted");
		got = lr_model_with_names(m, two, blk);
		blk[base + 1] = 'q';		/* "aqb\0c\0": two names for three features */
		CHECK(lr_model_check(mn, got) != NULL, "two names for three features accepted");
	}
	free(s), free(m), free(blk);
}

void
run_model_tests(void)
{
	t_run("model_build_fields", test_build_fields);
	t_run("model_build_errors", test_build_errors);
	t_run("model_predict", test_predict);
	t_run("model_check_corrupt", test_check_corrupt);
	t_run("model_names", test_names);
}
