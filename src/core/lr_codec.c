/*
 * lr_codec.c — exact JSON text forms of states and models.  See lr_codec.h.
 */
#include "lr_codec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_MAX 26				/* one formatted number plus separator */

/* ---------- writing ---------- */

/*
 * The p-significant-digit decimal next to the one printf rounded to, on the
 * other side of v: when v sits near the middle of two p-digit decimals,
 * only the farther one may read back as v.  Returns 0 if it does not.
 */
static int
other_neighbour(double v, int prec, const char *nearest, char *buf)
{
	char		mant[32];
	int			exp10,
				n = 0;
	long long	digits = 0;
	int			neg = v < 0;

	if (sscanf(nearest, "%*[-]%31[0-9.]e%d", mant, &exp10) != 2 &&
		sscanf(nearest, "%31[0-9.]e%d", mant, &exp10) != 2)
		return 0;
	for (const char *c = mant; *c; c++)
		if (*c != '.')
		{
			digits = digits * 10 + (*c - '0');
			n++;
		}
	if (n != prec)
		return 0;
	digits += (fabs(strtod(nearest, NULL)) < fabs(v)) ? 1 : -1;
	n = snprintf(mant, sizeof(mant), "%lld", digits);
	if (n > prec)				/* 9.99 + 1 ulp of the last digit = 10.0 */
	{
		mant[prec] = '\0';
		exp10++;
	}
	else if (n < prec)			/* 1.00 - 1 = 0.999: not of this precision */
		return 0;
	snprintf(buf, NUM_MAX, "%s%c%s%se%d", neg ? "-" : "", mant[0], prec > 1 ? "." : "", mant + 1, exp10);
	return strtod(buf, NULL) == v ? (int) strlen(buf) : 0;
}

int
lr_format_double_printf(double v, char *buf)
{
	/*
	 * The shortest decimal that reads back exactly.  For a normal double no
	 * decimal of fewer than 15 digits reads back unless %.15g finds it; a
	 * subnormal has fewer significant bits, so start from one digit.  At
	 * each precision both decimals around v are tried.
	 */
	for (int prec = (v != 0.0 && fabs(v) < 0x1p-1022) ? 1 : 15; prec <= 17; prec++)
	{
		int			len = snprintf(buf, NUM_MAX, "%.*g", prec, v);
		char		e[NUM_MAX];
		int			elen;

		if (prec == 17 || strtod(buf, NULL) == v)
			return len;
		snprintf(e, NUM_MAX, "%.*e", prec - 1, v);
		elen = other_neighbour(v, prec, e, buf);
		if (elen > 0)
			return elen;
	}
	return 0;					/* not reached */
}

LrShortestFn lr_shortest_hook = NULL;

/*
 * The digits of a shortest decimal as the hook writes it (sign, digits with
 * or without a point, an optional exponent): *neg, the significant digits
 * without leading or trailing zeros into dig (returns their count; 0 for a
 * zero) and *x10, the decimal exponent of the first digit.  -1 when the
 * text is not of that form.
 */
static int
shortest_digits(const char *s, int *neg, char *dig, int *x10)
{
	int			n = 0,
				before = 0,		/* digits before the point, leading zeros included */
				point = 0,
				lead = 0,		/* leading zeros dropped */
				e = 0;

	*neg = *s == '-';
	if (*s == '-')
		s++;
	for (; (*s >= '0' && *s <= '9') || *s == '.'; s++)
	{
		if (*s == '.')
		{
			if (point)
				return -1;
			point = 1;
			continue;
		}
		if (!point)
			before++;
		if (n == 0 && *s == '0')
		{
			lead++;
			continue;
		}
		if (n >= 17)
			return -1;
		dig[n++] = *s;
	}
	if (*s == 'e' || *s == 'E')
	{
		int			sign = 1;

		s++;
		if (*s == '+' || *s == '-')
			sign = *s++ == '-' ? -1 : 1;
		if (!(*s >= '0' && *s <= '9'))
			return -1;
		for (; *s >= '0' && *s <= '9'; s++)
			if ((e = e * 10 + (*s - '0')) > 1000)
				return -1;
		e *= sign;
	}
	if (*s != '\0' || before + (point ? 1 : 0) + n == 0)
		return -1;
	while (n > 0 && dig[n - 1] == '0')
		n--;
	/* the first significant digit is digit number lead (0-based) of the mantissa */
	*x10 = e + before - lead - 1;
	return n;
}

int
lr_format_double(double v, char *buf)
{
	char		tmp[64];
	char		dig[18];
	int			neg,
				n,
				x,
				prec;
	char	   *p = buf;

	/*
	 * Where the two may differ, printf: a power of two (its rounding
	 * interval is not symmetric, so lr_format_double_printf may take the
	 * farther neighbour and writes that one in its own form), and
	 * magnitudes from 2^53 on (every such double is an integer, and the
	 * hook may write all of its digits).
	 */
	if (lr_shortest_hook == NULL || !(fabs(v) < 0x1p53) || v == 0.0 || frexp(v, &x) == 0.5 || frexp(v, &x) == -0.5)
		return lr_format_double_printf(v, buf);
	if (lr_shortest_hook(v, tmp) <= 0 || (n = shortest_digits(tmp, &neg, dig, &x)) <= 0)
		return lr_format_double_printf(v, buf);
	/* the precision %.*g had when it first read back (see lr_format_double_printf) */
	prec = fabs(v) < 0x1p-1022 ? n : (n > 15 ? n : 15);
	if (neg)
		*p++ = '-';
	if (x < -4 || x >= prec)
	{
		/* d.ddde[+-]XX, at least two exponent digits */
		*p++ = dig[0];
		if (n > 1)
		{
			*p++ = '.';
			memcpy(p, dig + 1, (size_t) (n - 1));
			p += n - 1;
		}
		p += sprintf(p, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
	}
	else if (x < 0)
	{
		*p++ = '0';
		*p++ = '.';
		for (int i = 0; i < -x - 1; i++)
			*p++ = '0';
		memcpy(p, dig, (size_t) n);
		p += n;
	}
	else
	{
		for (int i = 0; i <= x; i++)
			*p++ = i < n ? dig[i] : '0';
		if (n > x + 1)
		{
			*p++ = '.';
			memcpy(p, dig + x + 1, (size_t) (n - x - 1));
			p += n - x - 1;
		}
	}
	*p = '\0';
	return (int) (p - buf);
}

static char *
put_str(char *p, const char *s)
{
	size_t		n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *
put_i64(char *p, int64_t v)
{
	return p + sprintf(p, "%lld", (long long) v);
}

static char *
put_array(char *p, const char *key, const double *v, size_t n)
{
	p = put_str(p, key);
	*p++ = '[';
	for (size_t i = 0; i < n; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += lr_format_double(v[i], p);
	}
	*p++ = ']';
	return p;
}

/* A JSON string: quote, backslash and control characters escaped. */
static char *
put_json_string(char *p, const char *s)
{
	*p++ = '"';
	for (; *s; s++)
	{
		unsigned char ch = (unsigned char) *s;

		if (ch == '"' || ch == '\\')
		{
			*p++ = '\\';
			*p++ = (char) ch;
		}
		else if (ch < 0x20)
			p += sprintf(p, "\\u%04x", ch);
		else
			*p++ = (char) ch;
	}
	*p++ = '"';
	return p;
}

size_t
lr_state_text_bound(int nfeat)
{
	size_t		d = (size_t) (nfeat + 1);

	return 256 + NUM_MAX * (2 + 3 * d + 2 * lr_tri_len((int) d));
}

static char *
write_state(const LrState *s, char *p)
{
	int			d = s->nfeat >= 0 ? lr_dim(s) : 0;
	size_t		m = s->nfeat >= 0 ? lr_tri_len(d) : 0;
	double		wsum[2] = {s->wsum_hi, s->wsum_lo};
	double		logw[2] = {s->logw_hi, s->logw_lo};

	p = put_str(p, "{\"version\":");
	p = put_i64(p, s->version);
	p = put_str(p, ",\"features\":");
	p = s->nfeat >= 0 ? put_i64(p, s->nfeat) : put_str(p, "null");
	p = put_str(p, s->intercept ? ",\"intercept\":true" : ",\"intercept\":false");
	p = put_str(p, ",\"rows\":");
	p = put_i64(p, s->rows);
	p = put_str(p, ",\"skipped\":");
	p = put_i64(p, s->skipped);
	p = put_array(p, ",\"wsum\":", wsum, 2);
	p = put_array(p, ",\"logw\":", logw, 2);
	p = put_array(p, ",\"shift\":", s->data, (size_t) d);
	p = put_array(p, ",\"sum_hi\":", s->data + d, (size_t) d);
	p = put_array(p, ",\"sum_lo\":", s->data + 2 * d, (size_t) d);
	p = put_array(p, ",\"cross_hi\":", s->data + 3 * d, m);
	p = put_array(p, ",\"cross_lo\":", s->data + 3 * d + m, m);
	*p++ = '}';
	return p;
}

size_t
lr_state_to_text(const LrState *s, char *buf)
{
	char	   *end = write_state(s, buf);

	*end = '\0';
	return (size_t) (end - buf);
}

size_t
lr_model_text_bound(const LrModel *m)
{
	/* a name byte takes at most 6 characters escaped, plus quotes and comma */
	return 320 + NUM_MAX * (size_t) lr_model_nterms(m) + lr_state_text_bound(m->nfeat) +
		6 * (size_t) m->names_len + 3 * (size_t) m->nfeat;
}

size_t
lr_model_to_text(const LrModel *m, char *buf)
{
	char	   *p = buf;
	int			nt = lr_model_nterms(m);

	p = put_str(p, "{\"version\":");
	p = put_i64(p, m->version);
	p = put_str(p, ",\"features\":");
	p = put_i64(p, m->nfeat);
	p = put_str(p, m->intercept ? ",\"intercept\":true" : ",\"intercept\":false");
	p = put_str(p, ",\"rank\":");
	p = put_i64(p, m->rank);
	p = put_str(p, ",\"rows\":");
	p = put_i64(p, m->rows);
	p = put_str(p, ",\"skipped\":");
	p = put_i64(p, m->skipped);
	p = put_str(p, ",\"cond\":");
	p = isfinite(m->cond) ? p + lr_format_double(m->cond, p) : put_str(p, "null");
	p = put_str(p, ",\"lambda\":");
	p += lr_format_double(m->lambda, p);
	p = put_str(p, m->method == LR_METHOD_DD ? ",\"method\":\"dd\"" : ",\"method\":\"lapack\"");
	p = put_str(p, ",\"names\":");
	if (m->names_len == 0)
		p = put_str(p, "null");
	else
	{
		const char *nm = lr_model_names(m);

		*p++ = '[';
		for (int j = 0; j < m->nfeat; j++)
		{
			if (j > 0)
				*p++ = ',';
			p = put_json_string(p, nm);
			nm += strlen(nm) + 1;
		}
		*p++ = ']';
	}
	p = put_str(p, ",\"coef\":[");
	for (int j = 0; j < nt; j++)
	{
		if (j > 0)
			*p++ = ',';
		if (lr_model_caliased(m)[j])
			p = put_str(p, "null");
		else
			p += lr_format_double(m->coef[j], p);
	}
	p = put_str(p, "],\"state\":");
	p = write_state(lr_model_state(m), p);
	*p++ = '}';
	*p = '\0';
	return (size_t) (p - buf);
}

/* ---------- reading ---------- */

typedef struct Cursor
{
	const char *start;
	const char *pos;
	char	   *err;
	size_t		errlen;
	int			failed;
} Cursor;

static int
fail(Cursor *c, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static int
fail(Cursor *c, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (c->failed)
		return 0;
	c->failed = 1;
	n = snprintf(c->err, c->errlen, "at character %ld: ", (long) (c->pos - c->start) + 1);
	if (n < 0 || (size_t) n >= c->errlen)
		return 0;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t) n, fmt, ap);
	va_end(ap);
	return 0;
}

static void
skip_ws(Cursor *c)
{
	while (*c->pos == ' ' || *c->pos == '\t' || *c->pos == '\n' || *c->pos == '\r')
		c->pos++;
}

static int
expect(Cursor *c, const char *tok)
{
	size_t		n = strlen(tok);

	if (c->failed)
		return 0;
	skip_ws(c);
	if (strncmp(c->pos, tok, n) != 0)
		return fail(c, "expected %s", tok);
	c->pos += n;
	return 1;
}

/* "key": */
static int
expect_key(Cursor *c, const char *key, int first)
{
	char		tok[64];

	if (!first && !expect(c, ","))
		return 0;
	snprintf(tok, sizeof(tok), "\"%s\"", key);
	return expect(c, tok) && expect(c, ":");
}

static int
try_literal(Cursor *c, const char *lit)
{
	size_t		n = strlen(lit);

	skip_ws(c);
	if (strncmp(c->pos, lit, n) == 0)
	{
		c->pos += n;
		return 1;
	}
	return 0;
}

/* A JSON number's extent, or 0 if there is none here. */
static size_t
number_len(const char *s)
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
	return (size_t) (p - s);
}

static int
read_double(Cursor *c, const char *what, double *v)
{
	size_t		n;
	char		buf[64];

	if (c->failed)
		return 0;
	skip_ws(c);
	n = number_len(c->pos);
	if (n == 0)
		return fail(c, "%s: expected a number", what);
	if (n >= sizeof(buf))
		return fail(c, "%s: number too long", what);
	memcpy(buf, c->pos, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL);
	if (!isfinite(*v))
		return fail(c, "%s: %s is out of range for float8", what, buf);
	c->pos += n;
	return 1;
}

static int
read_int(Cursor *c, const char *what, int64_t lo, int64_t hi, int64_t *v)
{
	const char *p;
	int64_t		acc = 0;
	int			neg = 0;

	if (c->failed)
		return 0;
	skip_ws(c);
	p = c->pos;
	if (*p == '-')
	{
		neg = 1;
		p++;
	}
	if (!(*p >= '0' && *p <= '9'))
		return fail(c, "%s: expected an integer", what);
	while (*p >= '0' && *p <= '9')
	{
		int			digit = *p++ - '0';

		if (acc > (INT64_MAX - digit) / 10)
			return fail(c, "%s: integer out of range", what);
		acc = acc * 10 + digit;
	}
	if (*p == '.' || *p == 'e' || *p == 'E')
		return fail(c, "%s: expected an integer", what);
	if (neg)
		acc = -acc;
	if (acc < lo || acc > hi)
		return fail(c, "%s: %lld is out of range [%lld, %lld]", what,
					(long long) acc, (long long) lo, (long long) hi);
	c->pos = p;
	*v = acc;
	return 1;
}

static int
read_bool(Cursor *c, const char *what, int *v)
{
	if (c->failed)
		return 0;
	if (try_literal(c, "true"))
		*v = 1;
	else if (try_literal(c, "false"))
		*v = 0;
	else
		return fail(c, "%s: expected true or false", what);
	return 1;
}

/*
 * A JSON string into out (at most outlen bytes with its NUL); \\u escapes
 * of the Basic Multilingual Plane become UTF-8.  Returns its length.
 */
static int
read_string(Cursor *c, const char *what, char *out, size_t outlen, size_t *len)
{
	size_t		n = 0;

	if (c->failed)
		return 0;
	skip_ws(c);
	if (*c->pos != '"')
		return fail(c, "%s: expected a string", what);
	c->pos++;
	for (;;)
	{
		unsigned char ch = (unsigned char) *c->pos;
		unsigned int cp;
		char		enc[4];
		size_t		elen = 1;

		if (ch == '\0')
			return fail(c, "%s: unterminated string", what);
		if (ch == '"')
			break;
		if (ch < 0x20)
			return fail(c, "%s: control character in a string", what);
		if (ch != '\\')
		{
			enc[0] = (char) ch;
			c->pos++;
		}
		else
		{
			c->pos++;
			switch (*c->pos)
			{
				case '"':
				case '\\':
				case '/':
					enc[0] = *c->pos;
					break;
				case 'b':
					enc[0] = '\b';
					break;
				case 'f':
					enc[0] = '\f';
					break;
				case 'n':
					enc[0] = '\n';
					break;
				case 'r':
					enc[0] = '\r';
					break;
				case 't':
					enc[0] = '\t';
					break;
				case 'u':
					cp = 0;
					for (int i = 1; i <= 4; i++)
					{
						char		h = c->pos[i];

						cp <<= 4;
						if (h >= '0' && h <= '9')
							cp |= (unsigned int) (h - '0');
						else if (h >= 'a' && h <= 'f')
							cp |= (unsigned int) (h - 'a' + 10);
						else if (h >= 'A' && h <= 'F')
							cp |= (unsigned int) (h - 'A' + 10);
						else
							return fail(c, "%s: bad \\u escape", what);
					}
					if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
						return fail(c, "%s: \\u%04x is not allowed", what, cp);
					c->pos += 4;
					if (cp < 0x80)
						enc[0] = (char) cp;
					else if (cp < 0x800)
					{
						enc[0] = (char) (0xC0 | (cp >> 6));
						enc[1] = (char) (0x80 | (cp & 0x3F));
						elen = 2;
					}
					else
					{
						enc[0] = (char) (0xE0 | (cp >> 12));
						enc[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
						enc[2] = (char) (0x80 | (cp & 0x3F));
						elen = 3;
					}
					break;
				default:
					return fail(c, "%s: bad escape in a string", what);
			}
			c->pos++;
		}
		if (n + elen >= outlen)
			return fail(c, "%s: string too long", what);
		memcpy(out + n, enc, elen);
		n += elen;
	}
	c->pos++;
	out[n] = '\0';
	*len = n;
	return 1;
}

/* [v0,...,v(n-1)], exactly n numbers; null entries allowed when isnull is given. */
static int
read_array(Cursor *c, const char *what, double *v, size_t n, unsigned char *isnull)
{
	if (!expect(c, "["))
		return 0;
	for (size_t i = 0; i < n; i++)
	{
		skip_ws(c);
		if (*c->pos == ']')
			return fail(c, "%s: expected %zu values, found %zu", what, n, i);
		if (i > 0 && !expect(c, ","))
			return 0;
		if (isnull && try_literal(c, "null"))
		{
			isnull[i] = 1;
			v[i] = 0.0;
			continue;
		}
		if (isnull)
			isnull[i] = 0;
		skip_ws(c);
		if (*c->pos == ']')
			return fail(c, "%s: expected %zu values, found %zu", what, n, i);
		if (!read_double(c, what, &v[i]))
			return 0;
	}
	skip_ws(c);
	if (*c->pos != ']')
		return fail(c, "%s: expected %zu values, found more", what, n);
	c->pos++;
	return 1;
}

/*
 * Reads the state object at the cursor into a new block from alloc, or,
 * when into is given, into that block, which has room for a state of
 * want_nfeat features (any other count is an error).  Returns the state,
 * or NULL on error.  *block is set to the new block as soon as it is
 * allocated, so that a caller can hand it back even when reading fails
 * later (it stays NULL when nothing was allocated, and with into).
 */
static LrState *
read_state(Cursor *c, lr_alloc_fn alloc, size_t *size, LrState *into, int want_nfeat,
		   LrState **block)
{
	int64_t		version,
				nfeat = -1,
				rows,
				skipped;
	int			intercept = 0;
	LrState    *s;
	double		wsum[2];
	double		logw[2];
	int			d;
	size_t		m;

	if (!expect(c, "{") || !expect_key(c, "version", 1) ||
		!read_int(c, "version", 1, 1, &version) ||
		!expect_key(c, "features", 0))
		return NULL;
	if (!try_literal(c, "null") &&
		!read_int(c, "features", 0, LR_MAX_FEATURES, &nfeat))
		return NULL;
	if (!expect_key(c, "intercept", 0) || !read_bool(c, "intercept", &intercept) ||
		!expect_key(c, "rows", 0) || !read_int(c, "rows", 0, INT64_MAX, &rows) ||
		!expect_key(c, "skipped", 0) || !read_int(c, "skipped", 0, INT64_MAX, &skipped) ||
		!expect_key(c, "wsum", 0) || !read_array(c, "wsum", wsum, 2, NULL) ||
		!expect_key(c, "logw", 0) || !read_array(c, "logw", logw, 2, NULL))
		return NULL;

	*size = lr_state_size((int) nfeat);
	if (into && nfeat != want_nfeat)
	{
		fail(c, "state: has %d features, the model %d", (int) nfeat, want_nfeat);
		return NULL;
	}
	s = into ? into : alloc(*size);
	if (!into)
		*block = s;
	if (!s)
	{
		fail(c, "out of memory");
		return NULL;
	}
	lr_state_init(s, (int) nfeat, intercept);
	s->rows = rows;
	s->skipped = skipped;
	s->wsum_hi = wsum[0];
	s->wsum_lo = wsum[1];
	s->logw_hi = logw[0];
	s->logw_lo = logw[1];
	d = nfeat >= 0 ? (int) nfeat + 1 : 0;
	m = nfeat >= 0 ? lr_tri_len(d) : 0;
	if (!expect_key(c, "shift", 0) || !read_array(c, "shift", s->data, (size_t) d, NULL) ||
		!expect_key(c, "sum_hi", 0) || !read_array(c, "sum_hi", s->data + d, (size_t) d, NULL) ||
		!expect_key(c, "sum_lo", 0) || !read_array(c, "sum_lo", s->data + 2 * d, (size_t) d, NULL) ||
		!expect_key(c, "cross_hi", 0) || !read_array(c, "cross_hi", s->data + 3 * d, m, NULL) ||
		!expect_key(c, "cross_lo", 0) || !read_array(c, "cross_lo", s->data + 3 * d + m, m, NULL) ||
		!expect(c, "}"))
		return NULL;
	return s;
}

static const char *
finish(Cursor *c)
{
	if (c->failed)
		return c->err;
	skip_ws(c);
	if (*c->pos != '\0')
	{
		fail(c, "unexpected text after the end");
		return c->err;
	}
	return NULL;
}

const char *
lr_state_from_text(const char *text, lr_alloc_fn alloc, LrState **out,
				   size_t *outsize, char *err, size_t errlen)
{
	Cursor		c = {text, text, err, errlen, 0};
	LrState    *s;
	const char *why;

	*out = NULL;
	/* *out is the block from here on, on error too, for allocators that need a free */
	s = read_state(&c, alloc, outsize, NULL, 0, out);
	if (finish(&c))				/* set when s is NULL */
		return err;
	why = lr_state_check(s, *outsize);
	if (why)
	{
		snprintf(err, errlen, "%s", why);
		return err;
	}
	return NULL;
}

const char *
lr_model_from_text(const char *text, lr_alloc_fn alloc, LrModel **out,
				   size_t *outsize, char *err, size_t errlen)
{
	Cursor		c = {text, text, err, errlen, 0};
	int64_t		version,
				nfeat,
				rank,
				rows,
				skipped;
	int			intercept = 0,
				method;
	double		cond = INFINITY;
	double		lambda = 0.0;
	char	   *names;
	size_t		names_cap,
				base;
	int32_t		names_len = 0;
	double	   *coef = NULL;
	unsigned char *isnull = NULL;
	LrModel    *m = NULL;
	LrState    *s,
			   *unused = NULL;
	size_t		ssize = 0;
	const char *why;

	*out = NULL;
	if (!expect(&c, "{") || !expect_key(&c, "version", 1) ||
		!read_int(&c, "version", 1, 1, &version) ||
		!expect_key(&c, "features", 0) ||
		!read_int(&c, "features", 0, LR_MAX_FEATURES, &nfeat) ||
		!expect_key(&c, "intercept", 0) || !read_bool(&c, "intercept", &intercept) ||
		!expect_key(&c, "rank", 0) || !read_int(&c, "rank", 0, nfeat + intercept, &rank) ||
		!expect_key(&c, "rows", 0) || !read_int(&c, "rows", 1, INT64_MAX, &rows) ||
		!expect_key(&c, "skipped", 0) || !read_int(&c, "skipped", 0, INT64_MAX, &skipped) ||
		!expect_key(&c, "cond", 0))
		return finish(&c);
	if (!try_literal(&c, "null") && !read_double(&c, "cond", &cond))
		return finish(&c);
	if (!expect_key(&c, "lambda", 0) || !read_double(&c, "lambda", &lambda) ||
		!expect_key(&c, "method", 0))
		return finish(&c);
	if (try_literal(&c, "\"lapack\""))
		method = LR_METHOD_LAPACK;
	else if (try_literal(&c, "\"dd\""))
		method = LR_METHOD_DD;
	else
	{
		fail(&c, "method: expected \"lapack\" or \"dd\"");
		return finish(&c);
	}

	/*
	 * One block for the whole model: the names' length is not known before
	 * they are read, so room for the longest they could be (the rest of the
	 * text) is reserved at the end.
	 */
	if (!expect_key(&c, "names", 0))
		return finish(&c);
	names_cap = strlen(c.pos) + 1;
	base = lr_model_size((int) nfeat, intercept);
	m = alloc(base + names_cap);
	*out = m;					/* on error too, for allocators that need a free */
	if (!m)
	{
		fail(&c, "out of memory");
		return finish(&c);
	}
	memset(m, 0, lr_model_state_offset((int) nfeat, intercept));
	names = (char *) m + base;
	if (!try_literal(&c, "null"))
	{
		size_t		cap = names_cap;

		if (!expect(&c, "["))
			return finish(&c);
		for (int j = 0; j < nfeat; j++)
		{
			size_t		len = 0;

			if ((j > 0 && !expect(&c, ",")) ||
				!read_string(&c, "names", names + names_len, cap - (size_t) names_len, &len))
				return finish(&c);
			if (len == 0 || strlen(names + names_len) != len)
			{
				fail(&c, "names: a name is empty or holds a NUL");
				return finish(&c);
			}
			names_len += (int32_t) len + 1;
		}
		if (!expect(&c, "]"))
			return finish(&c);
		if (nfeat == 0)
		{
			fail(&c, "names: a model without features has no names");
			return finish(&c);
		}
	}

	*outsize = base + (size_t) names_len;
	m->version = (uint8_t) version;
	m->intercept = (uint8_t) intercept;
	m->method = (uint8_t) method;
	m->nfeat = (int32_t) nfeat;
	m->rank = (int32_t) rank;
	m->rows = rows;
	m->skipped = skipped;
	m->cond = cond;
	m->lambda = lambda;
	m->names_len = names_len;
	coef = m->coef;
	isnull = lr_model_aliased(m);
	if (!expect_key(&c, "coef", 0) ||
		!read_array(&c, "coef", coef, (size_t) (nfeat + intercept), isnull) ||
		!expect_key(&c, "state", 0))
		return finish(&c);
	s = read_state(&c, alloc, &ssize,
				   (LrState *) ((char *) m + lr_model_state_offset((int) nfeat, intercept)), (int) nfeat,
				   &unused);
	if (!s || !expect(&c, "}") || finish(&c))
		return finish(&c);
	why = lr_state_check(s, ssize);
	if (!why && s->intercept != intercept)
		why = "the embedded state does not match the model";
	if (why)
	{
		snprintf(err, errlen, "state: %s", why);
		return err;
	}
	why = lr_model_check(m, *outsize);
	if (why)
	{
		snprintf(err, errlen, "%s", why);
		return err;
	}
	return NULL;
}
