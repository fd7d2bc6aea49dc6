/*
 * state_text.c — the reader and writer of state_text.h.
 */
#include "state_text.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "core/lr_codec.h"

void
st_init(TextReader *r, const char *text, const char *type)
{
	r->start = text;
	r->p = text;
	r->type = type;
}

void
st_error(TextReader *r, const char *fmt,...)
{
	char		msg[256];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: %s at position %d",
					r->type, msg, (int) (r->p - r->start) + 1)));
	pg_unreachable();
}

static void
skip_ws(TextReader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

bool
st_accept(TextReader *r, const char *tok)
{
	size_t		n = strlen(tok);

	skip_ws(r);
	if (strncmp(r->p, tok, n) != 0)
		return false;
	r->p += n;
	return true;
}

void
st_expect(TextReader *r, const char *tok)
{
	if (!st_accept(r, tok))
		st_error(r, "expected %s", tok);
}

void
st_key(TextReader *r, const char *key)
{
	char		q[64];

	snprintf(q, sizeof(q), "\"%s\"", key);
	st_expect(r, q);
	st_expect(r, ":");
}

int64
st_int(TextReader *r, int64 min, int64 max, const char *what)
{
	char	   *end;
	long long	v;

	skip_ws(r);
	if (!(*r->p == '-' || (*r->p >= '0' && *r->p <= '9')))
		st_error(r, "expected an integer for %s", what);
	errno = 0;
	v = strtoll(r->p, &end, 10);
	if (errno != 0 || v < min || v > max)
		st_error(r, "%s must be between " INT64_FORMAT " and " INT64_FORMAT, what, min, max);
	if (*end == '.' || *end == 'e' || *end == 'E')
		st_error(r, "expected an integer for %s", what);
	r->p = end;
	return (int64) v;
}

double
st_double(TextReader *r, const char *what)
{
	char	   *end;
	double		v;
	const char *q;

	skip_ws(r);
	/* JSON numbers only: strtod would also take inf, nan and hex */
	q = r->p;
	if (*q == '-')
		q++;
	if (!(*q >= '0' && *q <= '9'))
		st_error(r, "expected a number for %s", what);
	errno = 0;
	v = strtod(r->p, &end);
	if (end == r->p)
		st_error(r, "expected a number for %s", what);
	for (const char *c = r->p; c < end; c++)
		if (!strchr("0123456789.eE+-", *c))
			st_error(r, "expected a number for %s", what);
	if (!isfinite(v))
		st_error(r, "%s must be finite", what);
	r->p = end;
	return v;
}

char *
st_object(TextReader *r, const char *what)
{
	const char *b;
	int			depth = 0;
	bool		instr = false;
	char	   *out;

	skip_ws(r);
	if (*r->p != '{')
		st_error(r, "expected an object for %s", what);
	b = r->p;
	for (;; r->p++)
	{
		char		ch = *r->p;

		if (ch == '\0')
			st_error(r, "unterminated object for %s", what);
		if (instr)
		{
			if (ch == '\\' && r->p[1] != '\0')
				r->p++;
			else if (ch == '"')
				instr = false;
			continue;
		}
		if (ch == '"')
			instr = true;
		else if (ch == '{')
			depth++;
		else if (ch == '}' && --depth == 0)
			break;
	}
	r->p++;
	out = palloc_extended(r->p - b + 1, MCXT_ALLOC_HUGE);
	memcpy(out, b, r->p - b);
	out[r->p - b] = '\0';
	return out;
}

void
st_end(TextReader *r)
{
	skip_ws(r);
	if (*r->p != '\0')
		st_error(r, "unexpected text after the end");
}

void
st_put_double(StringInfo buf, double v)
{
	char		num[32];

	lr_format_double(v, num);
	appendStringInfoString(buf, num);
}
