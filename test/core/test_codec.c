/*
 * test_codec.c -- lr_codec: shortest round-trip numbers, exact text forms of
 * states and models (bit-exact round trips), and a parser that must reject
 * every malformed or inconsistent text with a message and never crash
 * (ASan/UBSan are on): truncations, single-character replacements, a list
 * of hostile inputs, and a fixed-seed mutation fuzz.
 *
 * All parser allocations go through t_alloc (tracked, garbage-filled) and are
 * freed by the harness, so the leak checker sees nothing -- except in
 * codec_parse_error_returns_block, whose plain malloc allocator leaves the
 * freeing to the caller, as lr_codec.h allows: a block a failed parse does
 * not hand back through *out is a leak LeakSanitizer reports (and
 * codec_leak_checker_active makes sure LeakSanitizer runs).
 */
#include "tests.h"
#include "refs.h"

#include <sanitizer/lsan_interface.h>
#include <unistd.h>

#define ERRLEN 256

/* ------------------------------------------------------------------ helpers */

static char *
state_text(const LrState *s, size_t *len)
{
	size_t		bound = lr_state_text_bound(s->nfeat);
	char	   *buf = malloc(bound + 1);	/* exact: ASan sees an overrun */
	size_t		n = lr_state_to_text(s, buf);

	CHECK(n <= bound, "state text of %zu bytes exceeds the bound %zu", n, bound);
	CHECK(strlen(buf) == n, "state text length %zu, returned %zu", strlen(buf), n);
	if (len)
		*len = n;
	return buf;
}

static char *
model_text(const LrModel *m, size_t *len)
{
	size_t		bound = lr_model_text_bound(m);
	char	   *buf = malloc(bound + 1);
	size_t		n = lr_model_to_text(m, buf);

	CHECK(n <= bound, "model text of %zu bytes exceeds the bound %zu", n, bound);
	CHECK(strlen(buf) == n, "model text length %zu, returned %zu", strlen(buf), n);
	if (len)
		*len = n;
	return buf;
}

/* Parse, and check the documented contract of either outcome. */
static const char *
parse_state(const char *text, LrState **out, size_t *size, char *err)
{
	const char *r;

	*out = (LrState *) (uintptr_t) 1;
	*size = 0;
	err[0] = 'X';
	r = lr_state_from_text(text, t_alloc, out, size, err, ERRLEN);
	if (r)
	{
		CHECK(r == err && err[0] != '\0' && memchr(err, '\0', ERRLEN) != NULL,
			  "error return is not the message buffer, or empty");
		CHECK(*out != (LrState *) (uintptr_t) 1, "*out not set on error");
	}
	else
	{
		CHECK(*out != NULL && *out != (LrState *) (uintptr_t) 1, "no block on success");
		if (*out && *out != (LrState *) (uintptr_t) 1)
			CHECK(*size == lr_state_size((*out)->nfeat) && lr_state_check(*out, *size) == NULL,
				  "accepted state: size %zu, check %s", *size, lr_state_check(*out, *size));
	}
	return r;
}

static const char *
parse_model(const char *text, LrModel **out, size_t *size, char *err)
{
	const char *r;

	*out = (LrModel *) (uintptr_t) 1;
	*size = 0;
	err[0] = 'X';
	r = lr_model_from_text(text, t_alloc, out, size, err, ERRLEN);
	if (r)
	{
		CHECK(r == err && err[0] != '\0' && memchr(err, '\0', ERRLEN) != NULL,
			  "error return is not the message buffer, or empty");
		CHECK(*out != (LrModel *) (uintptr_t) 1, "*out not set on error");
	}
	else
	{
		CHECK(*out != NULL && *out != (LrModel *) (uintptr_t) 1, "no block on success");
		if (*out && *out != (LrModel *) (uintptr_t) 1)
			CHECK(*size == lr_model_total_size(*out) && lr_model_check(*out, *size) == NULL,
				  "accepted model: size %zu, check %s", *size, lr_model_check(*out, *size));
	}
	return r;
}

/* Bitwise equality of two models, ignoring both length words (the embedded one is not maintained). */
static int
model_same_bits(const LrModel *a, size_t asize, const LrModel *b, size_t bsize)
{
	char	   *x,
			   *y;
	size_t		off;
	int			same;

	if (asize != bsize || a->nfeat != b->nfeat || a->intercept != b->intercept)
		return 0;
	x = malloc(asize);
	y = malloc(bsize);
	memcpy(x, a, asize);
	memcpy(y, b, bsize);
	off = lr_model_state_offset(a->nfeat, a->intercept);
	memset(x, 0, 4);
	memset(y, 0, 4);
	memset(x + off, 0, 4);
	memset(y + off, 0, 4);
	same = memcmp(x, y, asize) == 0;
	free(x);
	free(y);
	return same;
}

static double
finite_bits(Rng *r)
{
	for (;;)
	{
		uint64_t	b = rng_u64(r);
		double		v;

		memcpy(&v, &b, sizeof(v));
		if (isfinite(v))
			return v;
	}
}

static double
denormal(Rng *r)
{
	uint64_t	b = rng_u64(r) & 0x000FFFFFFFFFFFFFULL;
	double		v;

	if (b == 0)
		b = 1;
	memcpy(&v, &b, sizeof(v));
	return v;
}

/*
 * A random state that passes lr_state_check: real rows of wildly different
 * magnitudes, then the entries the check leaves free poked with negative
 * zeros, denormals and arbitrary finite bit patterns.
 */
static LrState *
random_state(Rng *r, int p, int icpt)
{
	LrState    *s = st_new(p, icpt);
	LrState    *base;
	double		mag[16];
	int			d = p + 1;

	s->skipped = (int64_t) (rng_u64(r) >> rng_int(r, 1, 63));
	if (p < 0)
		return s;
	if (rng_int(r, 0, 9) == 0)
		return s;				/* no rows */
	for (int j = 0; j < d; j++)
		mag[j] = pow(10.0, rng_int(r, -150, 150));
	for (int n = rng_int(r, 1, 12), i = 0; i < n; i++)
	{
		double		x[16],
					y,
					w[] = {1.0, 2.0, 0.5, 3.75, 1e-3, 1e3};

		for (int j = 0; j < p; j++)
			x[j] = rng_int(r, 0, 5) == 0 ? 0.0 : mag[j] * rng_normal(r);
		y = mag[p] * rng_normal(r);
		lr_state_add_row(s, y, x, w[rng_int(r, 0, 5)]);
	}
	base = st_clone(s);
	for (int attempt = 0; attempt < 4; attempt++)
	{
		memcpy(s, base, st_size(base));
		for (int i = 0, k = 0; i < d; i++)
			for (int j = i; j < d; j++, k++)
			{
				int			c = rng_int(r, 0, 5);

				if (i != j)
					lr_cross_hi(s)[k] = c == 0 ? -0.0 : c == 1 ? denormal(r) : c == 2 ? finite_bits(r) : lr_cross_hi(s)[k];
				c = rng_int(r, 0, 5);
				lr_cross_lo(s)[k] = c == 0 ? -0.0 : c == 1 ? denormal(r) : lr_cross_lo(s)[k];
			}
		for (int j = 0; j < d; j++)
		{
			int			c = rng_int(r, 0, 5);

			lr_sum_lo(s)[j] = c == 0 ? -0.0 : c == 1 ? denormal(r) : lr_sum_lo(s)[j];
			c = rng_int(r, 0, 5);
			if (icpt)
				lr_shift(s)[j] = c == 0 ? -0.0 : c == 1 ? denormal(r) : c == 2 ? finite_bits(r) : lr_shift(s)[j];
			else
				lr_shift(s)[j] = c == 0 ? -0.0 : 0.0;
		}
		if (rng_int(r, 0, 2) == 0)
			s->wsum_lo = rng_int(r, 0, 1) ? -0.0 : denormal(r);
		s->logw_hi = rng_int(r, 0, 2) ? finite_bits(r) : -0.0;
		s->logw_lo = rng_int(r, 0, 2) ? denormal(r) : -0.0;
		s->rows = 1 + (int64_t) (rng_u64(r) >> rng_int(r, 2, 63));
		if (lr_state_check(s, st_size(s)) == NULL)
			break;
	}
	if (lr_state_check(s, st_size(s)) != NULL)
		memcpy(s, base, st_size(base));
	free(base);
	return s;
}

/* A model from real rows (some columns aliased), optionally named and poked. */
static LrModel *
random_model(Rng *r, int p, int icpt, int named, size_t *size)
{
	LrState    *s = st_new(p, icpt);
	size_t		base = lr_model_size(p, icpt);
	LrModel    *m0 = malloc(base);
	char	   *blk;
	LrModel    *m;
	int			n = p + 3 + rng_int(r, 0, 20);
	static const char *pool[] = {"age", "income", "x\"quoted\"", "back\\slash", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac",
	"a/b", "sp ace", "tab\x7f", "z"};
	const char *names[16];

	for (int i = 0; i < n; i++)
	{
		double		x[16],
					y;

		for (int j = 0; j < p; j++)
			x[j] = (j % 3 == 2 && rng_int(r, 0, 1)) ? x[j - 1] * 2.0 : rng_normal(r) * pow(10.0, j - 2);
		y = rng_normal(r) + (p > 0 ? x[0] : 0.0);
		lr_state_add_row(s, y, x, rng_int(r, 0, 3) ? 1.0 : 2.5);
	}
	s->skipped = rng_int(r, 0, 1000);
	if (lr_model_build(m0, s, LR_DEFAULT_TOL, rng_int(r, 0, 3) ? 0.0 : 0.125) != LR_OK)
		abort();
	/* pokes that keep the model valid */
	if (rng_int(r, 0, 3) == 0)
		m0->cond = INFINITY;
	for (int j = 0; j < lr_model_nterms(m0); j++)
		if (!lr_model_aliased(m0)[j])
		{
			int			c = rng_int(r, 0, 9);

			if (c == 0)
				m0->coef[j] = -0.0;
			else if (c == 1)
				m0->coef[j] = denormal(r);
			else if (c == 2)
				m0->coef[j] = finite_bits(r);
		}
	for (int j = 0; j < p; j++)
		names[j] = pool[rng_int(r, 0, 9)];
	blk = malloc(base + 16 * (size_t) (p + 1) + 64);
	*size = lr_model_with_names(m0, named && p > 0 ? names : NULL, blk);
	m = (LrModel *) blk;
	free(m0);
	free(s);
	return m;
}

/* Replace the value of the first "key": at or after from (a scalar or a whole [...] array). */
static char *
set_value(const char *text, const char *from, const char *key, const char *val)
{
	char		pat[64];
	const char *k,
			   *v,
			   *e;
	char	   *out;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	k = strstr(from ? from : text, pat);
	if (!k)
		return NULL;
	v = k + strlen(pat);
	if (*v == '[')
	{
		e = strchr(v, ']') + 1;
	}
	else if (*v == '{')
	{
		int			depth = 0;

		for (e = v; *e; e++)
			if (*e == '{')
				depth++;
			else if (*e == '}' && --depth == 0)
			{
				e++;
				break;
			}
	}
	else
	{
		e = v;
		while (*e && *e != ',' && *e != '}')
			e++;
	}
	out = malloc(strlen(text) + strlen(val) + 1);
	memcpy(out, text, (size_t) (v - text));
	strcpy(out + (v - text), val);
	strcat(out, e);
	return out;
}

/* Replace the first occurrence of a literal substring. */
static char *
subst(const char *text, const char *what, const char *with)
{
	const char *k = strstr(text, what);
	char	   *out;

	if (!k)
		return NULL;
	out = malloc(strlen(text) + strlen(with) + 1);
	memcpy(out, text, (size_t) (k - text));
	strcpy(out + (k - text), with);
	strcat(out, k + strlen(what));
	return out;
}

/* ------------------------------------------------------------------ lr_format_double */

/* The significant digits of a decimal string (no sign, point, exponent, leading or trailing zeros). */
static void
decimal_digits(const char *s, char *digits)
{
	int			n = 0,
				lead = 1;

	for (const char *p = s; *p && *p != 'e' && *p != 'E'; p++)
	{
		if (*p == '-' || *p == '.' || (lead && *p == '0'))
			continue;
		lead = 0;
		digits[n++] = *p;
	}
	while (n > 0 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
}

/* JSON number grammar, and nothing else. */
static int
json_number(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (*p == '.')
	{
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

static int
same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(double)) == 0;
}

static void
test_format_examples(void)
{
	char		buf[64];
	struct
	{
		double		v;
		const char *want;
	}			ex[] = {
		{0.1, "0.1"}, {-0.0, "-0"}, {0.0, "0"}, {1.0, "1"}, {-2.5, "-2.5"}, {100.0, "100"},
		{1.0 / 3.0, "0.3333333333333333"}, {0.30000000000000004, "0.30000000000000004"},
		{123456789.0, "123456789"},
	};

	for (size_t k = 0; k < sizeof(ex) / sizeof(ex[0]); k++)
	{
		int			n = lr_format_double(ex[k].v, buf);

		CHECK(n == (int) strlen(buf) && strcmp(buf, ex[k].want) == 0, "%.17g -> \"%s\", want \"%s\"", ex[k].v, buf, ex[k].want);
	}
	/* 1e300 and 5e-324: one significant digit */
	lr_format_double(1e300, buf);
	CHECK(strtod(buf, NULL) == 1e300 && (strcmp(buf, "1e300") == 0 || strcmp(buf, "1e+300") == 0),
		  "1e300 -> \"%s\"", buf);
	lr_format_double(5e-324, buf);
	/* (that it is the shortest, "5e-324", is codec_format_double_shortest's business) */
	CHECK(same_bits(strtod(buf, NULL), 5e-324), "5e-324 -> \"%s\" does not read back", buf);
	lr_format_double(-1.7976931348623157e308, buf);
	CHECK(strcmp(buf, "-1.7976931348623157e+308") == 0 || strcmp(buf, "-1.7976931348623157e308") == 0,
		  "-DBL_MAX -> \"%s\"", buf);
}

/* Against Python's repr (shortest round trip): same digits, same value. */
static void
test_format_shortest(void)
{
	int			longer = 0;
	char		first[200] = "";

	for (int k = 0; k < N_SHORT; k++)
	{
		double		v;
		char		buf[64],
					dg[64],
					dr[64];
		int			n;

		memcpy(&v, &short_refs[k].bits, sizeof(v));
		memset(buf, 0x55, sizeof(buf));
		n = lr_format_double(v, buf);
		CHECK(n == (int) strlen(buf) && n <= 24, "%s: length %d", short_refs[k].repr, n);
		CHECK(json_number(buf), "%s -> \"%s\" is not a JSON number", short_refs[k].repr, buf);
		CHECK(same_bits(strtod(buf, NULL), v), "%s -> \"%s\" does not read back", short_refs[k].repr, buf);
		decimal_digits(buf, dg);
		decimal_digits(short_refs[k].repr, dr);
		if (strlen(dg) > strlen(dr))
		{
			if (!longer++)
				snprintf(first, sizeof(first), "%s -> \"%s\"", short_refs[k].repr, buf);
		}
	}
	CHECK(longer == 0, "%d of %d values are written with more digits than the shortest round trip, e.g. %s",
		  longer, N_SHORT, first);
}

static void
test_format_random(void)
{
	Rng			r = {41};
	char		buf[64];

	for (int k = 0; k < 100000; k++)
	{
		double		v = (k & 3) == 0 ? denormal(&r) : finite_bits(&r);
		int			n = lr_format_double(v, buf);

		if (!(n == (int) strlen(buf) && n <= 24 && json_number(buf) && same_bits(strtod(buf, NULL), v)))
		{
			CHECK(0, "%a -> \"%s\"", v, buf);
			return;
		}
	}
}

/* ------------------------------------------------------------------ state text */

static void
test_state_text_example(void)
{
	LrState    *s = st_new(1, 0),
			   *e = st_new(-1, 1),
			   *z = st_new(2, 1);
	double		x1 = 1.0,
				x2 = 2.0;
	char	   *t;
	const char *want = "{\"version\":1,\"features\":1,\"intercept\":false,\"rows\":2,\"skipped\":0,"
		"\"wsum\":[2,0],\"logw\":[0,0],\"shift\":[0,0],\"sum_hi\":[3,5],\"sum_lo\":[0,0],"
		"\"cross_hi\":[5,8,13],\"cross_lo\":[0,0,0]}";
	const char *want_e = "{\"version\":1,\"features\":null,\"intercept\":true,\"rows\":0,\"skipped\":4,"
		"\"wsum\":[0,0],\"logw\":[0,0],\"shift\":[],\"sum_hi\":[],\"sum_lo\":[],\"cross_hi\":[],\"cross_lo\":[]}";

	/* rows (x=1, y=2), (x=2, y=3): sums 3, 5; cross 1+4, 2+6, 4+9 */
	lr_state_add_row(s, 2.0, &x1, 1.0);
	lr_state_add_row(s, 3.0, &x2, 1.0);
	t = state_text(s, NULL);
	CHECK(strcmp(t, want) == 0, "text\n  %s\nwant\n  %s", t, want);
	free(t);
	e->skipped = 4;
	t = state_text(e, NULL);
	CHECK(strcmp(t, want_e) == 0, "empty text\n  %s\nwant\n  %s", t, want_e);
	free(t);
	t = state_text(z, NULL);
	CHECK(strstr(t, "\"features\":2,\"intercept\":true,\"rows\":0") != NULL &&
		  strstr(t, "\"cross_hi\":[0,0,0,0,0,0]") != NULL, "rows-0 text %s", t);
	free(t);
	free(s), free(e), free(z);
}

static void
state_roundtrip_one(const LrState *s, const char *what)
{
	char		err[ERRLEN];
	size_t		len,
				size,
				mark = t_mark();
	char	   *t = state_text(s, &len),
			   *t2;
	LrState    *back;

	if (parse_state(t, &back, &size, err))
		CHECK(0, "%s: own text rejected: %s\n%s", what, err, t);
	else
	{
		CHECK(st_same_bits(back, s), "%s: round trip is not bit-exact\n%s", what, t);
		t2 = state_text(back, NULL);
		CHECK(strcmp(t, t2) == 0, "%s: text of the round trip differs", what);
		free(t2);
	}
	free(t);
	t_release(mark);
}

static void
test_state_roundtrip_random(void)
{
	Rng			r = {42};
	int			ps[] = {-1, 0, 1, 2, 3, 5, 8};

	for (int k = 0; k < 400 && !t_failed(); k++)
	{
		int			p = ps[k % 7];
		LrState    *s = random_state(&r, p, rng_int(&r, 0, 1) || p < 0);
		char		what[64];

		if (lr_state_check(s, st_size(s)) != NULL)
		{
			CHECK(0, "generator made an invalid state: %s", lr_state_check(s, st_size(s)));
			free(s);
			continue;
		}
		snprintf(what, sizeof(what), "state %d (p=%d)", k, p);
		state_roundtrip_one(s, what);
		free(s);
	}
}

/* Valid states at the edges of every field. */
static void
test_state_roundtrip_extremes(void)
{
	LrState    *s = st_new(2, 1);
	double		x[2] = {1e-300, -1e150};

	lr_state_add_row(s, 4.9406564584124654e-324, x, 1.0);
	x[0] = 2e-300;
	x[1] = 1e150;
	lr_state_add_row(s, -4.9406564584124654e-324, x, 3.0);
	REQUIRE(lr_state_check(s, st_size(s)) == NULL, "extreme state invalid: %s", lr_state_check(s, st_size(s)));
	state_roundtrip_one(s, "magnitudes 1e-300..1e150 and denormals");
	s->skipped = INT64_MAX - 8;
	s->rows = INT64_MAX - 8;
	state_roundtrip_one(s, "counts 2^63 - 9");
	s->skipped = INT64_MAX;
	state_roundtrip_one(s, "skipped = INT64_MAX (9223372036854775807)");
	s->skipped = 0;
	s->rows = INT64_MAX;
	state_roundtrip_one(s, "rows = INT64_MAX (9223372036854775807)");
	free(s);

	/* many features, no rows (all zeros, cheap) */
	s = st_new(400, 0);
	s->skipped = 3;
	state_roundtrip_one(s, "400 features");
	free(s);
	/* the largest feature count is in range: a text cut short fails on the arrays, not on "features" */
	{
		char		err[ERRLEN];
		LrState    *out;
		size_t		size,
					mark = t_mark();
		const char *t = "{\"version\":1,\"features\":2000,\"intercept\":true,\"rows\":0,\"skipped\":0,"
			"\"wsum\":[0,0],\"logw\":[0,0],\"shift\":[0]}";

		CHECK(parse_state(t, &out, &size, err) != NULL && strstr(err, "shift") != NULL,
			  "2000 features: %s", err);
		t = "{\"version\":1,\"features\":2001,\"intercept\":true,\"rows\":0,\"skipped\":0,"
			"\"wsum\":[0,0],\"logw\":[0,0],\"shift\":[0]}";
		CHECK(parse_state(t, &out, &size, err) != NULL && strstr(err, "features") != NULL,
			  "2001 features: %s", err);
		t_release(mark);
	}
}

/* The text bound holds for the longest valid texts. */
static void
test_text_bounds(void)
{
	for (int p = 0; p <= 6; p++)
	{
		LrState    *s = st_new(p, 1);
		int			d = p + 1;
		char	   *t;
		size_t		len;

		s->rows = INT64_MAX;
		s->skipped = INT64_MAX;
		s->wsum_hi = 1.2345678901234567e+300;
		s->wsum_lo = -1.2345678901234567e-300;
		s->logw_hi = -1.2345678901234567e+300;
		s->logw_lo = -1.2345678901234567e-300;
		for (int j = 0; j < d; j++)
		{
			lr_shift(s)[j] = -1.2345678901234567e-300;
			lr_sum_hi(s)[j] = -1.2345678901234567e-300;
			lr_sum_lo(s)[j] = -1.2345678901234567e-300;
		}
		for (int i = 0, k = 0; i < d; i++)
			for (int j = i; j < d; j++, k++)
			{
				lr_cross_hi(s)[k] = i == j ? 1.2345678901234567e+300 : -1.2345678901234567e-300;
				lr_cross_lo(s)[k] = -1.2345678901234567e-300;
			}
		REQUIRE(lr_state_check(s, st_size(s)) == NULL, "worst-case state invalid: %s", lr_state_check(s, st_size(s)));
		t = state_text(s, &len);	/* checks len <= bound, in a block of bound + 1 */
		free(t);

		/* and as the state of a model, with long names and long numbers */
		{
			size_t		base = lr_model_size(p, 1);
			LrModel    *m = calloc(1, base);
			char	   *blk = malloc(base + 64 * (size_t) d);
			const char *names[8];
			size_t		size;

			m->version = LR_MODEL_VERSION;
			m->intercept = 1;
			m->method = LR_METHOD_LAPACK;
			m->nfeat = p;
			m->rank = p + 1;
			m->rows = INT64_MAX;
			m->skipped = INT64_MAX;
			m->cond = 1.2345678901234567e+300;
			m->lambda = 1.2345678901234567e+300;
			for (int j = 0; j <= p; j++)
				m->coef[j] = -1.2345678901234567e-300;
			memcpy((char *) m + lr_model_state_offset(p, 1), s, st_size(s));
			for (int j = 0; j < p; j++)
				names[j] = "\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"";
			size = lr_model_with_names(m, names, blk);
			REQUIRE(lr_model_check((LrModel *) blk, size) == NULL, "worst-case model invalid: %s",
					lr_model_check((LrModel *) blk, size));
			t = model_text((LrModel *) blk, &len);
			free(t);
			free(m);
			free(blk);
		}
		free(s);
	}
}

/* Any JSON whitespace between tokens. */
static char *
spaced(Rng *r, const char *t)
{
	static const char *ws[] = {" ", "\n", "\t", "\r", "  \n\t "};
	size_t		n = strlen(t);
	char	   *out = malloc(n * 7 + 16);
	char	   *o = out;
	int			instr = 0;

	o += sprintf(o, "%s", ws[rng_int(r, 0, 4)]);
	for (size_t i = 0; i < n; i++)
	{
		char		ch = t[i];

		if (ch == '"' && (i == 0 || t[i - 1] != '\\'))
			instr = !instr;
		if (!instr && (ch == '}' || ch == ']' || ch == ',' || ch == ':') && ch != '"')
			o += sprintf(o, "%s", ws[rng_int(r, 0, 4)]);
		*o++ = ch;
		if (!instr && (ch == '{' || ch == '[' || ch == ',' || ch == ':'))
			o += sprintf(o, "%s", ws[rng_int(r, 0, 4)]);
	}
	o += sprintf(o, "%s", ws[rng_int(r, 0, 4)]);
	*o = '\0';
	return out;
}

static void
test_whitespace(void)
{
	Rng			r = {43};

	for (int k = 0; k < 30 && !t_failed(); k++)
	{
		LrState    *s = random_state(&r, k % 5, 1);
		char	   *t = state_text(s, NULL),
				   *w = spaced(&r, t);
		char		err[ERRLEN];
		LrState    *back;
		size_t		size;

		if (parse_state(w, &back, &size, err))
			CHECK(0, "spaced state text rejected: %s\n%s", err, w);
		else
			CHECK(st_same_bits(back, s), "spaced state text parsed differently");
		free(t), free(w), free(s);
		t_free_all();
	}
	for (int k = 0; k < 20 && !t_failed(); k++)
	{
		size_t		size,
					bsize;
		LrModel    *m = random_model(&r, k % 4, k % 2, 1, &size),
				   *back;
		char	   *t = model_text(m, NULL),
				   *w = spaced(&r, t);
		char		err[ERRLEN];

		if (parse_model(w, &back, &bsize, err))
			CHECK(0, "spaced model text rejected: %s\n%s", err, w);
		else
			CHECK(model_same_bits(back, bsize, m, size), "spaced model text parsed differently");
		free(t), free(w), free(m);
		t_free_all();
	}
}

/* ------------------------------------------------------------------ model text */

static void
model_roundtrip_one(const LrModel *m, size_t size, const char *what)
{
	char		err[ERRLEN];
	size_t		len,
				bsize,
				mark = t_mark();
	char	   *t = model_text(m, &len),
			   *t2;
	LrModel    *back;

	if (parse_model(t, &back, &bsize, err))
		CHECK(0, "%s: own text rejected: %s\n%s", what, err, t);
	else
	{
		CHECK(model_same_bits(back, bsize, m, size), "%s: round trip is not bit-exact\n%s", what, t);
		t2 = model_text(back, NULL);
		CHECK(strcmp(t, t2) == 0, "%s: text of the round trip differs", what);
		free(t2);
	}
	free(t);
	t_release(mark);
}

static void
test_model_text_example(void)
{
	LrState    *s = st_new(3, 1);
	size_t		size = lr_model_size(3, 1);
	LrModel    *m = malloc(size);
	char	   *t;
	char	   *blk;
	const char *names[3] = {"a", "b \"q\"", "c"};

	for (int i = 0; i < 20; i++)
	{
		double		x[3] = {(i * 7) % 11 - 5, (i * i * 3 + i) % 13 - 6, 0};

		x[2] = x[0] + x[1];
		lr_state_add_row(s, 3.0 + 2.0 * x[0] - 0.5 * x[1], x, 1.0);
	}
	REQUIRE(lr_model_build(m, s, LR_DEFAULT_TOL, 0.0) == LR_OK, "build");
	t = model_text(m, NULL);
	{
		const char *head = "{\"version\":1,\"features\":3,\"intercept\":true,\"rank\":3,\"rows\":20,\"skipped\":0,\"cond\":";

		CHECK(strncmp(t, head, strlen(head)) == 0, "model text starts %.90s", t);
	}
	CHECK(strstr(t, ",\"lambda\":0,\"method\":\"") != NULL, "lambda/method in %s", t);
	CHECK(strstr(t, "\"names\":null,\"coef\":[3,2,-0.5,null],\"state\":{\"version\":1,\"features\":3,") != NULL,
		  "coef in %s", t);
	CHECK(strcmp(t + strlen(t) - 3, "]}}") == 0, "ends %s", t + strlen(t) - 10);
	free(t);
	blk = malloc(size + 32);
	size = lr_model_with_names(m, names, blk);
	t = model_text((LrModel *) blk, NULL);
	CHECK(strstr(t, "\"names\":[\"a\",\"b \\\"q\\\"\",\"c\"],\"coef\"") != NULL, "names in %s", t);
	model_roundtrip_one((LrModel *) blk, size, "named example");
	free(t), free(blk), free(m), free(s);
}

static void
test_model_roundtrip_random(void)
{
	Rng			r = {44};

	for (int k = 0; k < 150 && !t_failed(); k++)
	{
		size_t		size;
		int			p = k % 7;
		LrModel    *m = random_model(&r, p, rng_int(&r, 0, 1), rng_int(&r, 0, 1), &size);
		char		what[64];

		if (lr_model_check(m, size) != NULL)
			CHECK(0, "generator made an invalid model: %s", lr_model_check(m, size));
		else
		{
			snprintf(what, sizeof(what), "model %d (p=%d)", k, p);
			model_roundtrip_one(m, size, what);
		}
		free(m);
	}
}

/* \u escapes in names read back as UTF-8. */
static void
test_model_name_escapes(void)
{
	Rng			r = {45};
	size_t		size,
				bsize;
	LrModel    *m = random_model(&r, 2, 1, 1, &size),
			   *back;
	char	   *t = model_text(m, NULL),
			   *t2,
			   *t3;
	char		err[ERRLEN];

	t2 = set_value(t, NULL, "names", "[\"\\u00e9\\u65e5\\/\\n\",\"x\\\"\\\\\\t\"]");
	t3 = set_value(t, NULL, "names", "[\"\\u00e9\\u65e5\\/\",\"x\\\"\\\\\"]");
	/* control characters are not allowed in names: \n and \t are rejected */
	CHECK(parse_model(t2, &back, &bsize, err) != NULL, "names with control characters accepted");
	if (parse_model(t3, &back, &bsize, err))
		CHECK(0, "escaped names rejected: %s", err);
	else
	{
		const char *nm = lr_model_names(back);

		CHECK(nm && strcmp(nm, "\xc3\xa9\xe6\x97\xa5/") == 0 && strcmp(nm + strlen(nm) + 1, "x\"\\") == 0,
			  "escaped names read as '%s'", nm ? nm : "(none)");
	}
	free(t), free(t2), free(t3), free(m);
}

/* ------------------------------------------------------------------ hostile texts */

static const char *
base_state_text(void)
{
	static char buf[4096];
	LrState    *s = st_new(2, 1);

	for (int i = 0; i < 6; i++)
	{
		double		x[2] = {i * 0.5, (i * i) % 5};

		lr_state_add_row(s, 1.0 + i, x, i == 2 ? 2.0 : 1.0);
	}
	s->skipped = 1;
	lr_state_to_text(s, buf);
	free(s);
	return buf;
}

static void
expect_state_rejected(const char *text, const char *label)
{
	char		err[ERRLEN];
	LrState    *out;
	size_t		size,
				mark = t_mark();

	if (!text)
	{
		CHECK(0, "%s: could not build the hostile text", label);
		return;
	}
	CHECK(parse_state(text, &out, &size, err) != NULL, "accepted: %s\n%s", label, text);
	t_release(mark);
}

static void
test_hostile_state(void)
{
	const char *T = base_state_text();
	char		err[ERRLEN];
	LrState    *out;
	size_t		size;
	struct
	{
		const char *key,
				   *val;
	}			vals[] = {
		{"version", "2"}, {"version", "0"}, {"version", "1.0"}, {"version", "null"}, {"version", "\"1\""},
		{"features", "-2"}, {"features", "2001"}, {"features", "-1"}, {"features", "1.5"}, {"features", "2e0"},
		{"features", "\"2\""}, {"features", "true"}, {"features", ""}, {"features", "99999999999999999999"},
		{"features", "4294967298"}, {"features", "3"}, {"features", "1"}, {"features", "2000"}, {"features", "2 2"},
		{"features", "null"},
		{"intercept", "1"}, {"intercept", "\"true\""}, {"intercept", "null"}, {"intercept", "tru"}, {"intercept", "True"},
		{"intercept", "false"},	/* nonzero shift without intercept */
		{"rows", "-1"}, {"rows", "9223372036854775808"}, {"rows", "18446744073709551616"}, {"rows", "1e3"},
		{"rows", "0x10"}, {"rows", "+3"}, {"rows", ""}, {"rows", "6.0"}, {"rows", "0"}, {"rows", "-0"},
		{"rows", "99999999999999999999999999999999"},
		{"skipped", "-5"}, {"skipped", "9223372036854775808"}, {"skipped", "null"},
		{"wsum", "[1]"}, {"wsum", "[7,0,0]"}, {"wsum", "[]"}, {"wsum", "[NaN,0]"}, {"wsum", "[Infinity,0]"},
		{"wsum", "[-Infinity,0]"}, {"wsum", "[1e999,0]"}, {"wsum", "[-1e999,0]"}, {"wsum", "[nan,0]"},
		{"wsum", "[inf,0]"}, {"wsum", "[0,0]"}, {"wsum", "[-7,0]"}, {"wsum", "[7,null]"}, {"wsum", "[\"7\",0]"},
		{"wsum", "[7 0]"}, {"wsum", "[7,,0]"}, {"wsum", "[7,0,]"}, {"wsum", "[.5,0]"}, {"wsum", "[7.,0]"},
		{"wsum", "[+7,0]"}, {"wsum", "[0x7,0]"}, {"wsum", "[7e,0]"}, {"wsum", "[07,0]"}, {"wsum", "[7,0"},
		{"wsum", "7"}, {"wsum", "null"},
		{"logw", "[1]"}, {"logw", "[NaN,0]"}, {"logw", "[1e999,0]"}, {"logw", "[0,0,0]"},
		{"shift", "[0,0]"}, {"shift", "[0,0,0,0]"}, {"shift", "[]"}, {"shift", "[0,NaN,0]"},
		{"sum_hi", "[1,2]"}, {"sum_hi", "[1,2,3,4]"}, {"sum_hi", "[1e999,0,0]"},
		{"sum_lo", "[0,0]"}, {"sum_lo", "[0,0,0,0]"},
		{"cross_hi", "[1,2,3,4,5]"}, {"cross_hi", "[1,2,3,4,5,6,7]"}, {"cross_hi", "[-1,0,0,1,0,1]"},
		{"cross_hi", "[1,0,0,-1e-300,0,1]"}, {"cross_hi", "[1,0,0,1,0,-5]"}, {"cross_hi", "[]"},
		{"cross_lo", "[0,0,0,0,0]"}, {"cross_lo", "[0,0,0,0,0,0,0]"}, {"cross_lo", "[0,0,0,0,0,Infinity]"},
	};

	REQUIRE(parse_state(T, &out, &size, err) == NULL, "base text rejected: %s", err);
	for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++)
	{
		char	   *h = set_value(T, NULL, vals[k].key, vals[k].val);
		char		label[128];

		snprintf(label, sizeof(label), "\"%s\":%s", vals[k].key, vals[k].val);
		expect_state_rejected(h, label);
		free(h);
	}
	/* rows = 0 with nonzero sums (also W = 0) */
	{
		char	   *a = set_value(T, NULL, "rows", "0"),
				   *b = a ? set_value(a, NULL, "wsum", "[0,0]") : NULL,
				   *c = b ? set_value(b, NULL, "logw", "[0,0]") : NULL;

		expect_state_rejected(c, "rows 0, W 0, nonzero sums");
		free(a), free(b), free(c);
	}
	/* features null with rows, or with data */
	expect_state_rejected("{\"version\":1,\"features\":null,\"intercept\":true,\"rows\":1,\"skipped\":0,\"wsum\":[1,0],"
						  "\"logw\":[0,0],\"shift\":[],\"sum_hi\":[],\"sum_lo\":[],\"cross_hi\":[],\"cross_lo\":[]}",
						  "features null with a row");
	expect_state_rejected("{\"version\":1,\"features\":null,\"intercept\":true,\"rows\":0,\"skipped\":0,\"wsum\":[1,0],"
						  "\"logw\":[0,0],\"shift\":[],\"sum_hi\":[],\"sum_lo\":[],\"cross_hi\":[],\"cross_lo\":[]}",
						  "features null with a weight");
	expect_state_rejected("{\"version\":1,\"features\":null,\"intercept\":true,\"rows\":0,\"skipped\":0,\"wsum\":[0,0],"
						  "\"logw\":[0,0],\"shift\":[0],\"sum_hi\":[],\"sum_lo\":[],\"cross_hi\":[],\"cross_lo\":[]}",
						  "features null with a shift");
	/* a valid empty one, for contrast */
	{
		size_t		mark = t_mark();

		CHECK(parse_state("{\"version\":1,\"features\":null,\"intercept\":false,\"rows\":0,\"skipped\":9,\"wsum\":[0,0],"
						  "\"logw\":[0,0],\"shift\":[],\"sum_hi\":[],\"sum_lo\":[],\"cross_hi\":[],\"cross_lo\":[]}",
						  &out, &size, err) == NULL && out->nfeat == -1 && out->skipped == 9,
			  "valid empty state rejected: %s", err);
		t_release(mark);
	}
	/* keys: extra, missing, reordered, duplicated */
	{
		const char *keys[] = {"version", "features", "intercept", "rows", "skipped", "wsum", "logw",
		"shift", "sum_hi", "sum_lo", "cross_hi", "cross_lo"};
		char	   *h;

		h = subst(T, "{", "{\"extra\":1,");
		expect_state_rejected(h, "extra key first");
		free(h);
		h = subst(T, "\"rows\"", "\"extra\":[1,2],\"rows\"");
		expect_state_rejected(h, "extra key in the middle");
		free(h);
		h = malloc(strlen(T) + 32);
		strcpy(h, T);
		strcpy(h + strlen(h) - 1, ",\"extra\":null}");
		expect_state_rejected(h, "extra key last");
		free(h);
		for (int k = 0; k < 12; k++)
		{
			char		pat[32],
						label[64],
					   *a,
					   *b;

			/* cut "key":value and the comma that joins it */
			a = set_value(T, NULL, keys[k], "@");
			if (k == 0)
				snprintf(pat, sizeof(pat), "\"%s\":@,", keys[k]);
			else
				snprintf(pat, sizeof(pat), ",\"%s\":@", keys[k]);
			b = a ? subst(a, pat, "") : NULL;
			snprintf(label, sizeof(label), "missing %s", keys[k]);
			expect_state_rejected(b, label);
			free(a), free(b);
		}
		h = subst(T, "\"rows\"", "\"Rows\"");
		expect_state_rejected(h, "key case");
		free(h);
		h = subst(T, "\"rows\"", "\"rows \"");
		expect_state_rejected(h, "key with a space");
		free(h);
		h = subst(T, "\"rows\"", "rows");
		expect_state_rejected(h, "unquoted key");
		free(h);
		{
			/* swap rows and skipped */
			char	   *a = set_value(T, NULL, "rows", "1"),
					   *b = a ? subst(a, "\"rows\":1,\"skipped\":1", "\"skipped\":1,\"rows\":6") : NULL;

			expect_state_rejected(b, "rows and skipped swapped");
			free(a), free(b);
		}
		h = subst(T, "\"skipped\"", "\"rows\":6,\"skipped\"");
		expect_state_rejected(h, "rows twice");
		free(h);
	}
	/* trailing and leading garbage, not an object */
	{
		const char *tails[] = {"x", "}", ",", " {}", "\x01", " 0", "]", "\"", "/*c*/"};
		const char *others[] = {"", " ", "{}", "null", "[]", "\"state\"", "0", "{", "{\"version\":1}",
		"{\"version\":1,\"features\":2", "\xef\xbb\xbf{", "{\"version\":1,\"features\":0,\"intercept\":true"};

		for (size_t k = 0; k < sizeof(tails) / sizeof(tails[0]); k++)
		{
			char	   *h = malloc(strlen(T) + 16);

			sprintf(h, "%s%s", T, tails[k]);
			expect_state_rejected(h, "trailing garbage");
			sprintf(h, "%s%s", tails[k], T);
			expect_state_rejected(h, "leading garbage");
			free(h);
		}
		for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++)
			expect_state_rejected(others[k], others[k]);
	}
}

static void
expect_model_rejected(const char *text, const char *label)
{
	char		err[ERRLEN];
	LrModel    *out;
	size_t		size,
				mark = t_mark();

	if (!text)
	{
		CHECK(0, "%s: could not build the hostile text", label);
		return;
	}
	CHECK(parse_model(text, &out, &size, err) != NULL, "accepted: %s\n%s", label, text);
	t_release(mark);
}

static char *
base_model_text(int named)
{
	LrState    *s = st_new(3, 1);
	size_t		size = lr_model_size(3, 1);
	LrModel    *m = malloc(size);
	char	   *blk = malloc(size + 64);
	char	   *t;
	const char *names[3] = {"a", "bb", "c"};

	for (int i = 0; i < 20; i++)
	{
		double		x[3] = {(i * 7) % 11 - 5, (i * i * 3 + i) % 13 - 6, 0};

		x[2] = x[0] + x[1];
		lr_state_add_row(s, 3.0 + 2.0 * x[0] - 0.5 * x[1], x, 1.0);
	}
	s->skipped = 2;
	if (lr_model_build(m, s, LR_DEFAULT_TOL, 0.0) != LR_OK)
		abort();
	lr_model_with_names(m, named ? names : NULL, blk);
	t = model_text((LrModel *) blk, NULL);
	free(s), free(m), free(blk);
	return t;
}

static void
test_hostile_model(void)
{
	char	   *T = base_model_text(1);
	char		err[ERRLEN];
	LrModel    *out;
	size_t		size;
	const char *S;
	struct
	{
		const char *key,
				   *val;
	}			vals[] = {
		{"version", "2"}, {"features", "2"}, {"features", "4"}, {"features", "-1"}, {"features", "null"},
		{"features", "2001"}, {"intercept", "false"}, {"intercept", "0"},
		{"rank", "-1"}, {"rank", "5"}, {"rank", "4"}, {"rank", "2"}, {"rank", "3.0"}, {"rank", "null"},
		{"rows", "0"}, {"rows", "-1"}, {"rows", "19"}, {"rows", "21"}, {"rows", "9223372036854775808"},
		{"skipped", "3"}, {"skipped", "-2"},
		{"cond", "0.5"}, {"cond", "0"}, {"cond", "-1"}, {"cond", "NaN"}, {"cond", "Infinity"}, {"cond", "\"x\""},
		{"cond", "1e999"}, {"cond", ""},
		{"lambda", "-1"}, {"lambda", "NaN"}, {"lambda", "null"}, {"lambda", "1e999"}, {"lambda", "-0.5"},
		{"method", "\"qr\""}, {"method", "1"}, {"method", "null"}, {"method", "\"LAPACK\""}, {"method", "\"lapack"},
		{"method", "lapack"},
		{"names", "[\"a\"]"}, {"names", "[\"a\",\"b\"]"}, {"names", "[\"a\",\"b\",\"c\",\"d\"]"},
		{"names", "[\"\",\"b\",\"c\"]"}, {"names", "[\"a\\u0000\",\"b\",\"c\"]"}, {"names", "[\"a\",\"b\",\"c\\n\"]"},
		{"names", "[\"a\",\"b\",\"\\ud800\"]"}, {"names", "[\"a\",\"b\",\"\\x\"]"}, {"names", "[\"a\",\"b\",\"c]"},
		{"names", "[1,2,3]"}, {"names", "[\"a\",\"b\",\"\\u12\"]"}, {"names", "[\"a\",\"b\",\"\\u12g4\"]"},
		{"names", "[\"a\",\"b\",\"c\x01\"]"}, {"names", "[\"a\",\"b\",null]"}, {"names", "\"abc\""},
		{"names", "[\"a\",\"b\",\"c\""}, {"names", "[\"a\"\"b\",\"c\"]"}, {"names", "[\"a\",\"b\",\"c\",]"},
		{"names", "[]"},
		{"coef", "[3,2,-0.5]"}, {"coef", "[3,2,-0.5,null,1]"}, {"coef", "[null,2,-0.5,null]"},
		{"coef", "[3,2,-0.5,0]"}, {"coef", "[3,2,null,null]"}, {"coef", "[3,2,NaN,null]"},
		{"coef", "[3,2,1e999,null]"}, {"coef", "[3,2,-0.5,nul]"}, {"coef", "null"}, {"coef", "[]"},
		{"state", "null"}, {"state", "{}"}, {"state", "[]"},
	};

	REQUIRE(parse_model(T, &out, &size, err) == NULL, "base text rejected: %s", err);
	t_free_all();
	for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++)
	{
		char	   *h = set_value(T, NULL, vals[k].key, vals[k].val);
		char		label[160];

		snprintf(label, sizeof(label), "\"%s\":%s", vals[k].key, vals[k].val);
		expect_model_rejected(h, label);
		free(h);
	}
	/* the embedded state */
	S = strstr(T, "\"state\":");
	REQUIRE(S, "no state in %s", T);
	{
		struct
		{
			const char *key,
					   *val;
		}			sv[] = {
			{"features", "2"}, {"features", "4"}, {"features", "null"}, {"intercept", "false"}, {"rows", "19"},
			{"skipped", "0"}, {"cross_hi", "[-1,0,0,0,1,0,0,1,0,1]"}, {"wsum", "[0,0]"}, {"version", "2"},
			{"shift", "[0,0,0]"},
		};

		for (size_t k = 0; k < sizeof(sv) / sizeof(sv[0]); k++)
		{
			char	   *h = set_value(T, S, sv[k].key, sv[k].val);
			char		label[160];

			snprintf(label, sizeof(label), "state \"%s\":%s", sv[k].key, sv[k].val);
			expect_model_rejected(h, label);
			free(h);
		}
	}
	/* structure */
	{
		char	   *h = malloc(strlen(T) + 16);

		sprintf(h, "%sx", T);
		expect_model_rejected(h, "trailing garbage");
		sprintf(h, "%s}", T);
		expect_model_rejected(h, "extra brace");
		strcpy(h, T);
		h[strlen(h) - 1] = '\0';
		expect_model_rejected(h, "missing final brace");
		strcpy(h, T);
		h[strlen(h) - 2] = '\0';
		strcat(h, "}");
		expect_model_rejected(h, "missing state brace");
		free(h);
		h = subst(T, ",\"lambda\"", ",\"extra\":0,\"lambda\"");
		expect_model_rejected(h, "extra key");
		free(h);
		h = subst(T, ",\"state\"", ",\"extra\":0,\"state\"");
		expect_model_rejected(h, "extra key before state");
		free(h);
		{
			char	   *a = set_value(T, NULL, "lambda", "@"),
					   *b = a ? subst(a, ",\"lambda\":@", "") : NULL;

			expect_model_rejected(b, "missing lambda");
			free(a), free(b);
			a = set_value(T, NULL, "names", "@");
			b = a ? subst(a, ",\"names\":@", "") : NULL;
			expect_model_rejected(b, "missing names");
			free(a), free(b);
			a = set_value(T, NULL, "state", "@");
			b = a ? subst(a, ",\"state\":@", "") : NULL;
			expect_model_rejected(b, "missing state");
			free(a), free(b);
		}
		expect_model_rejected(base_state_text(), "a state where a model is expected");
	}
	/* the rank must match the nulls: with the aliased column given a value */
	{
		char	   *a = set_value(T, NULL, "coef", "[3,2,-0.5,0]"),
				   *b = a ? set_value(a, NULL, "rank", "4") : NULL;
		size_t		mark = t_mark();

		/* a full-rank model with a zero coefficient is consistent: accepted */
		CHECK(b && parse_model(b, &out, &size, err) == NULL && out->rank == 4,
			  "consistent rank-4 model rejected: %s", err);
		t_release(mark);
		free(a), free(b);
	}
	free(T);
}

/* ------------------------------------------------------------------ truncations, replacements */

static void
check_prefixes(const char *T, int model)
{
	size_t		n = strlen(T);

	for (size_t len = 0; len < n; len++)
	{
		char	   *h = malloc(len + 1);	/* exact size: ASan sees over-reads */
		char		err[ERRLEN];
		size_t		size,
					mark = t_mark();
		void	   *out;

		memcpy(h, T, len);
		h[len] = '\0';
		if (model)
			CHECK(parse_model(h, (LrModel **) &out, &size, err) != NULL, "prefix of %zu accepted", len);
		else
			CHECK(parse_state(h, (LrState **) &out, &size, err) != NULL, "prefix of %zu accepted", len);
		t_release(mark);
		free(h);
	}
}

static void
test_truncations(void)
{
	char	   *M = base_model_text(1);

	check_prefixes(base_state_text(), 0);
	check_prefixes(M, 1);
	free(M);
}

/* Each character replaced by others: rejected, or accepted as a valid value that round-trips. */
static void
check_replacements(const char *T, int model)
{
	static const char repl[] = "0159-+.eE,:[]{}\" nutfx\\/\x01\x7f\xc3";
	size_t		n = strlen(T);
	char	   *h = malloc(n + 1);
	int			accepted = 0;

	for (size_t i = 0; i < n && !t_failed(); i++)
		for (size_t k = 0; k < sizeof(repl) - 1; k++)
		{
			char		err[ERRLEN];
			size_t		size,
						mark = t_mark();
			void	   *out;

			if (T[i] == repl[k])
				continue;
			memcpy(h, T, n + 1);
			h[i] = repl[k];
			if (model)
			{
				if (parse_model(h, (LrModel **) &out, &size, err) == NULL)
				{
					accepted++;
					model_roundtrip_one(out, size, "accepted replacement");
				}
			}
			else if (parse_state(h, (LrState **) &out, &size, err) == NULL)
			{
				accepted++;
				state_roundtrip_one(out, "accepted replacement");
			}
			t_release(mark);
		}
	free(h);
	/* digits replaced by digits are valid texts: the accepting path ran */
	CHECK(accepted > 0, "no replacement was accepted");
}

static void
test_replacements(void)
{
	char	   *M = base_model_text(1);

	check_replacements(base_state_text(), 0);
	check_replacements(M, 1);
	free(M);
}

/* ------------------------------------------------------------------ fuzz */

static const char *dict[] = {
	"null", "true", "false", "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-999", "0", "-0", "-1",
	"2001", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1e308", "4.9e-324",
	"\"\"", "\"x\"", "[]", "{}", "[", "]", "{", "}", ",", ":", "\"version\"", "\"state\"", "\\u0000",
	"\\ud800", "\\", "\"names\"", "0.5", "1.7976931348623157e308", "\"lapack\"", "\"dd\"", " ", "\"",
	"[\"a\",\"b\"]", "1.5", "00", "1e", "-", "\xff", "features", "9", "2000",
};

static size_t
mutate(Rng *r, const char *src, char *dst, size_t cap)
{
	size_t		n = strlen(src);
	int			ops = rng_int(r, 1, 3);

	if (n + 1 > cap)
		abort();
	memcpy(dst, src, n + 1);
	for (int o = 0; o < ops; o++)
	{
		size_t		pos = n ? (size_t) rng_int(r, 0, (int) n - 1) : 0;

		switch (rng_int(r, 0, 7))
		{
			case 0:
				if (n)
					dst[pos] = (char) rng_int(r, 1, 255);
				break;
			case 1:
				if (n)
					dst[pos] = "0123456789-+.eE,:[]{}\" ntfl"[rng_int(r, 0, 27)];
				break;
			case 2:
				{
					size_t		len = (size_t) rng_int(r, 1, 8);

					if (pos + len > n)
						len = n - pos;
					memmove(dst + pos, dst + pos + len, n - pos - len + 1);
					n -= len;
				}
				break;
			case 3:
				{
					size_t		len = (size_t) rng_int(r, 1, 16),
								at = n ? (size_t) rng_int(r, 0, (int) n) : 0;
					char		tmp[16];

					if (pos + len > n)
						len = n - pos;
					if (n + len + 1 > cap)
						break;
					memcpy(tmp, dst + pos, len);
					memmove(dst + at + len, dst + at, n - at + 1);
					memcpy(dst + at, tmp, len);
					n += len;
				}
				break;
			case 4:
			case 6:
				{
					const char *tok = dict[rng_int(r, 0, (int) (sizeof(dict) / sizeof(dict[0])) - 1)];
					size_t		len = strlen(tok),
								at = pos,
								cut = 0;

					if (rng_int(r, 0, 1))
					{
						/* replace the number or word at pos */
						while (at > 0 && strchr("0123456789-+.eEaflnrstu", dst[at - 1]))
							at--;
						while (at + cut < n && strchr("0123456789-+.eEaflnrstu", dst[at + cut]))
							cut++;
					}
					if (n - cut + len + 1 > cap)
						break;
					memmove(dst + at + len, dst + at + cut, n - at - cut + 1);
					memcpy(dst + at, tok, len);
					n = n - cut + len;
				}
				break;
			case 5:
				n = pos;
				dst[n] = '\0';
				break;
			default:
				if (n > 1)
				{
					size_t		q = (size_t) rng_int(r, 0, (int) n - 1);
					char		t = dst[pos];

					dst[pos] = dst[q];
					dst[q] = t;
				}
		}
	}
	return n;
}

static void
test_fuzz(void)
{
	Rng			r = {46};
	char	   *seeds[6];
	int			accepted = 0,
				total = 0;

	seeds[0] = strdup(base_state_text());
	{
		LrState    *s = random_state(&r, 4, 1);

		seeds[1] = state_text(s, NULL);
		free(s);
		s = st_new(-1, 0);
		seeds[2] = state_text(s, NULL);
		free(s);
	}
	seeds[3] = base_model_text(1);
	seeds[4] = base_model_text(0);
	{
		size_t		size;
		LrModel    *m = random_model(&r, 2, 0, 1, &size);

		seeds[5] = model_text(m, NULL);
		free(m);
	}
	for (int it = 0; it < 20000 && !t_failed(); it++)
	{
		int			si = it % 6;
		size_t		cap = strlen(seeds[si]) + 256;
		char	   *h = malloc(cap),
				   *exact;
		size_t		n = mutate(&r, seeds[si], h, cap),
					size,
					mark = t_mark();
		char		err[ERRLEN];
		void	   *out;

		exact = malloc(n + 1);	/* exact size: over-reads are caught */
		memcpy(exact, h, n + 1);
		total++;
		/* both parsers on every text */
		if (parse_state(exact, (LrState **) &out, &size, err) == NULL)
		{
			accepted++;
			state_roundtrip_one(out, "fuzzed state");
		}
		t_release(mark);
		if (parse_model(exact, (LrModel **) &out, &size, err) == NULL)
		{
			accepted++;
			model_roundtrip_one(out, size, "fuzzed model");
		}
		t_release(mark);
		free(exact);
		free(h);
	}
	for (int k = 0; k < 6; k++)
		free(seeds[k]);
	CHECK(accepted > total / 50, "only %d of %d mutated texts were accepted: the fuzz explores too little", accepted, total);
	if (getenv("FUZZ_STATS"))
		fprintf(stderr, "fuzz: %d of %d accepted\n", accepted, total);
}

/*
 * A model accepted by lr_model_check must survive its text form: read back,
 * and written again to the same text.  (Not bit-exact: the header's padding
 * bytes and the sign of an aliased coefficient's zero are not part of it.)
 */
static void
model_text_fixpoint(const LrModel *m, const char *what)
{
	char		err[ERRLEN];
	size_t		bsize,
				mark = t_mark();
	char	   *t = model_text(m, NULL),
			   *t2;
	LrModel    *back;

	if (parse_model(t, &back, &bsize, err))
		CHECK(0, "%s: own text rejected: %s\n%s", what, err, t);
	else
	{
		t2 = model_text(back, NULL);
		CHECK(strcmp(t, t2) == 0, "%s: text of the round trip differs", what);
		free(t2);
	}
	free(t);
	t_release(mark);
}

/* Corrupted binary blocks: the checks never crash, and what they accept is usable. */
static void
test_binary_fuzz(void)
{
	Rng			r = {47};

	for (int it = 0; it < 3000 && !t_failed(); it++)
	{
		int			p = it % 4;
		LrState    *s = random_state(&r, p, it % 3 != 0);
		size_t		n = st_size(s);
		int			flips = rng_int(&r, 1, 4);

		for (int f = 0; f < flips; f++)
		{
			size_t		at = (size_t) rng_int(&r, 4, (int) n - 1);

			if (rng_int(&r, 0, 1))
				((unsigned char *) s)[at] ^= (unsigned char) (1u << rng_int(&r, 0, 7));
			else
				((unsigned char *) s)[at] = (unsigned char) rng_u64(&r);
		}
		if (lr_state_check(s, n) == NULL)
		{
			Fit			fit = fit_state(s, LR_DEFAULT_TOL);

			(void) fit;
			state_roundtrip_one(s, "accepted corrupted block");
		}
		/* the checks with sizes that do not match */
		(void) lr_state_check(s, n - 8);
		free(s);
	}
	for (int it = 0; it < 1500 && !t_failed(); it++)
	{
		size_t		size;
		LrModel    *m = random_model(&r, it % 4, it % 2, it % 3 == 0, &size);
		int			flips = rng_int(&r, 1, 3);

		for (int f = 0; f < flips; f++)
		{
			size_t		at = (size_t) rng_int(&r, 4, (int) size - 1);

			((unsigned char *) m)[at] ^= (unsigned char) (1u << rng_int(&r, 0, 7));
		}
		if (lr_model_check(m, size) == NULL)
		{
			double		x[8] = {1, 2, 3, 4, 5, 6, 7, 8};

			(void) lr_model_predict(m, x);
			model_text_fixpoint(m, "accepted corrupted model");
		}
		free(m);
	}
}

/* ------------------------------------------------------------------ allocation failure, small error buffers */

static void
test_alloc_fail_and_errlen(void)
{
	const char *T = base_state_text();
	char	   *M = base_model_text(1);
	char		err[ERRLEN];
	LrState    *s;
	LrModel    *m;
	size_t		size;
	const char *r;

	r = lr_state_from_text(T, t_alloc_fail, &s, &size, err, sizeof(err));
	CHECK(r == err && strstr(err, "memory") != NULL, "state, no memory: %s", r ? r : "(accepted)");
	r = lr_model_from_text(M, t_alloc_fail, &m, &size, err, sizeof(err));
	CHECK(r == err && strstr(err, "memory") != NULL, "model, no memory: %s", r ? r : "(accepted)");

	/* tiny message buffers are respected and terminated */
	for (size_t len = 1; len < 40; len += 3)
	{
		char	   *e = malloc(len);	/* exact size */
		char	   *h = set_value(T, NULL, "rows", "-1");

		r = lr_state_from_text(h, t_alloc, &s, &size, e, len);
		CHECK(r == e && memchr(e, '\0', len) != NULL, "errlen %zu: not terminated", len);
		r = lr_state_from_text(T, t_alloc, &s, &size, e, len);
		CHECK(r == NULL, "errlen %zu: valid text rejected", len);
		free(h);
		h = set_value(T, NULL, "wsum", "[0,0]");	/* a check failure, not a syntax one */
		r = lr_state_from_text(h, t_alloc, &s, &size, e, len);
		CHECK(r == e && memchr(e, '\0', len) != NULL, "errlen %zu: check message not terminated", len);
		free(h);
		h = set_value(M, NULL, "rank", "2");
		r = lr_model_from_text(h, t_alloc, &m, &size, e, len);
		CHECK(r == e && memchr(e, '\0', len) != NULL, "errlen %zu: model message not terminated", len);
		free(h);
		free(e);
		t_free_all();
	}
	/* the message names the position */
	{
		char	   *h = set_value(T, NULL, "rows", "-1");

		r = lr_state_from_text(h, t_alloc, &s, &size, err, sizeof(err));
		CHECK(r && strstr(err, "rows") != NULL, "message does not name the field: %s", err);
		free(h);
	}
	free(M);
}

/* ------------------------------------------------------------------ a failed parse hands its block back */

/*
 * lr_codec.h promises that on error *out is the partly filled block, or
 * NULL when none was allocated, so that a caller whose allocator needs a
 * free can free it.  plain_alloc is such an allocator: plain malloc, not
 * tracked by the harness, so a block the parser loses is a leak that
 * LeakSanitizer reports.  It remembers how many blocks it handed out and
 * the last one's address, masked so that this record does not keep the
 * block reachable in LeakSanitizer's eyes.
 */
#define HIDE_PTR(p) ((uintptr_t) (p) ^ (uintptr_t) 0xA5A5A5A5A5A5A5A5u)
static int	plain_count;
static uintptr_t plain_last;

static void *
plain_alloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	plain_count++;
	plain_last = HIDE_PTR(p);
	return p;
}

/* Overwrite the dead stack below us, so no stale copy of a pointer hides a leak. */
static void __attribute__((noinline))
scrub_stack(void)
{
	volatile char buf[65536];

	memset((char *) buf, 0, sizeof(buf));
}

/*
 * Parse text (which must be rejected) with plain_alloc; *out must be the
 * block allocated (allocated says whether the text gets that far), and the
 * caller frees it, as a PostgreSQL-free caller would.
 */
static void __attribute__((noinline))
rejected_keeps_block(const char *text, int model, int allocated, const char *label)
{
	char		err[ERRLEN];
	void	   *out = (void *) (uintptr_t) 1;
	size_t		size = 0;
	const char *r;

	if (!text)
	{
		CHECK(0, "%s: could not build the text", label);
		return;
	}
	plain_count = 0;
	plain_last = 0;
	r = model ? lr_model_from_text(text, plain_alloc, (LrModel **) &out, &size, err, sizeof(err))
		: lr_state_from_text(text, plain_alloc, (LrState **) &out, &size, err, sizeof(err));
	CHECK(r == err, "%s: accepted", label);
	CHECK(plain_count == allocated, "%s: %d blocks allocated, expected %d", label, plain_count, allocated);
	if (plain_count == 1)
		CHECK(out != NULL && HIDE_PTR(out) == plain_last,
			  "%s: the parse failed (%s) after allocating a block, but *out is %s, not that block",
			  label, r ? err : "-", out ? "another pointer" : "NULL");
	else
		CHECK(out == NULL, "%s: no block was allocated, but *out is not NULL", label);
	if (out != (void *) (uintptr_t) 1)
		free(out);
}

static void
test_parse_error_returns_block(void)
{
	const char *T = base_state_text();
	char	   *M = base_model_text(1);
	char	   *h,
			   *k;

	/* the state: failures after the block is allocated (past "logw") */
	rejected_keeps_block(h = set_value(T, NULL, "shift", "[1]"), 0, 1, "state, shift of 1 value"), free(h);
	rejected_keeps_block(h = set_value(T, NULL, "sum_lo", "[0,0,x]"), 0, 1, "state, sum_lo not a number"), free(h);
	rejected_keeps_block(h = set_value(T, NULL, "cross_lo", "[]"), 0, 1, "state, cross_lo empty"), free(h);
	h = strdup(T);
	h[strstr(h, "\"sum_hi\"") - h] = '\0';
	rejected_keeps_block(h, 0, 1, "state, truncated before sum_hi"), free(h);
	h = strdup(T);
	h[strlen(h) - 1] = '\0';
	rejected_keeps_block(h, 0, 1, "state, no closing brace"), free(h);
	/* after the object: trailing text, and a consistency check */
	k = malloc(strlen(T) + 3);
	sprintf(k, "%s x", T);
	rejected_keeps_block(k, 0, 1, "state, text after the end"), free(k);
	rejected_keeps_block(h = set_value(T, NULL, "wsum", "[0,0]"), 0, 1, "state, wsum 0 with rows"), free(h);
	/* before it: nothing allocated */
	rejected_keeps_block(h = set_value(T, NULL, "rows", "-1"), 0, 0, "state, rows -1"), free(h);

	/* the model: its block is allocated at "names" */
	rejected_keeps_block(h = set_value(M, NULL, "names", "[\"a\",\"\",\"c\"]"), 1, 1, "model, empty name"), free(h);
	rejected_keeps_block(h = set_value(M, NULL, "coef", "[1,2]"), 1, 1, "model, 2 coefficients"), free(h);
	rejected_keeps_block(h = set_value(M, NULL, "features", "2"), 1, 1, "model, 2 features"), free(h);
	k = strstr(M, "\"state\":");
	rejected_keeps_block(h = set_value(M, k, "cross_lo", "[1]"), 1, 1, "model, state's cross_lo of 1 value"), free(h);
	h = strdup(M);
	h[strstr(h, "\"cross_hi\"") - h] = '\0';
	rejected_keeps_block(h, 1, 1, "model, truncated in the state"), free(h);
	rejected_keeps_block(h = set_value(M, NULL, "rank", "2"), 1, 1, "model, rank 2"), free(h);
	rejected_keeps_block(h = set_value(M, NULL, "cond", "x"), 1, 0, "model, cond not a number"), free(h);
	free(M);

	/* every block was freed through *out: LeakSanitizer finds none lost */
	scrub_stack();
	CHECK(__lsan_do_recoverable_leak_check() == 0,
		  "LeakSanitizer found a block a failed parse lost (its report is on stderr)");
}

/* Leaks a block in a child process: LeakSanitizer must find it (exit 0 if it does). */
static void __attribute__((noinline))
leak_one(void)
{
	volatile uintptr_t hidden = HIDE_PTR(malloc(48));

	(void) hidden;
}

static void
leak_child(void *arg)
{
	(void) arg;
	leak_one();
	scrub_stack();
	_exit(__lsan_do_recoverable_leak_check() ? 0 : 1);
}

/*
 * The leak tests mean something only if LeakSanitizer runs: it is off when
 * ASAN_OPTIONS says detect_leaks=0, and cannot run under ptrace.
 */
static void
test_leak_checker_active(void)
{
	char		what[400];

	CHECK(t_in_child(leak_child, NULL, what, sizeof(what)),
		  "LeakSanitizer did not report a leaked block: it is not active (ASAN_OPTIONS=detect_leaks=1? under ptrace?): %s",
		  what);
}

void
run_codec_tests(void)
{
	t_run("codec_format_double_examples", test_format_examples);
	t_run("codec_format_double_shortest", test_format_shortest);
	t_run("codec_format_double_random_roundtrip", test_format_random);
	t_run("codec_state_text_example", test_state_text_example);
	t_run("codec_state_roundtrip_random", test_state_roundtrip_random);
	t_run("codec_state_roundtrip_extremes", test_state_roundtrip_extremes);
	t_run("codec_text_bounds", test_text_bounds);
	t_run("codec_whitespace", test_whitespace);
	t_run("codec_model_text_example", test_model_text_example);
	t_run("codec_model_roundtrip_random", test_model_roundtrip_random);
	t_run("codec_model_name_escapes", test_model_name_escapes);
	t_run("codec_hostile_state", test_hostile_state);
	t_run("codec_hostile_model", test_hostile_model);
	t_run("codec_truncated_prefixes", test_truncations);
	t_run("codec_single_char_replacements", test_replacements);
	t_run("codec_fuzz", test_fuzz);
	t_run("codec_binary_fuzz", test_binary_fuzz);
	t_run("codec_alloc_failure_and_errlen", test_alloc_fail_and_errlen);
	t_run("codec_leak_checker_active", test_leak_checker_active);
	t_run("codec_parse_error_returns_block", test_parse_error_returns_block);
}
