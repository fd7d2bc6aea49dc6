/*
 * state_type.c — the linreg_state type: text and binary I/O, accessors,
 * and adding/subtracting states as plain functions.
 */
#include "flinkml.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "core/lr_codec.h"

PG_FUNCTION_INFO_V1(linreg_state_in);
PG_FUNCTION_INFO_V1(linreg_state_out);
PG_FUNCTION_INFO_V1(linreg_state_recv);
PG_FUNCTION_INFO_V1(linreg_state_send);
PG_FUNCTION_INFO_V1(linreg_state_rows);
PG_FUNCTION_INFO_V1(linreg_state_skipped);
PG_FUNCTION_INFO_V1(linreg_state_features);
PG_FUNCTION_INFO_V1(linreg_state_weight_sum);
PG_FUNCTION_INFO_V1(linreg_add);
PG_FUNCTION_INFO_V1(linreg_subtract);
PG_FUNCTION_INFO_V1(flinkml_wire_state);

void *
flinkml_palloc_huge(size_t size)
{
	return palloc_extended(size, MCXT_ALLOC_HUGE);
}

Datum
linreg_state_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	LrState    *s = NULL;
	size_t		size = 0;
	char		err[256];

	if (lr_state_from_text(text, flinkml_palloc_huge, &s, &size, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type linreg_state: %s", err)));
	SET_VARSIZE(s, size);
	PG_RETURN_POINTER(s);
}

Datum
linreg_state_out(PG_FUNCTION_ARGS)
{
	LrState    *s = PG_GETARG_LRSTATE_P(0);
	char	   *buf = palloc_extended(lr_state_text_bound(s->nfeat) + 1, MCXT_ALLOC_HUGE);

	lr_state_to_text(s, buf);
	PG_RETURN_CSTRING(buf);
}

/*
 * Binary form: version, intercept (bytes), features (int4), rows and
 * skipped (int8), then every float8 of the state in order: wsum hi, lo, logw hi, lo,
 * then the data block.
 */
void
flinkml_state_send(StringInfo buf, const LrState *s)
{
	size_t		ndata = (lr_state_size(s->nfeat) - offsetof(LrState, data)) / sizeof(double);

	pq_sendbyte(buf, s->version);
	pq_sendbyte(buf, s->intercept);
	pq_sendint32(buf, s->nfeat);
	pq_sendint64(buf, s->rows);
	pq_sendint64(buf, s->skipped);
	pq_sendfloat8(buf, s->wsum_hi);
	pq_sendfloat8(buf, s->wsum_lo);
	pq_sendfloat8(buf, s->logw_hi);
	pq_sendfloat8(buf, s->logw_lo);
	for (size_t k = 0; k < ndata; k++)
		pq_sendfloat8(buf, s->data[k]);
}

LrState *
flinkml_state_recv(StringInfo buf)
{
	int			version = pq_getmsgbyte(buf);
	int			intercept = pq_getmsgbyte(buf);
	int			nfeat = pq_getmsgint(buf, 4);
	LrState    *s;
	size_t		ndata;
	const char *why;

	if (version != LR_STATE_VERSION || intercept > 1 || nfeat < -1 || nfeat > LR_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary linreg_state: version %d, intercept flag %d, feature count %d",
						version, intercept, nfeat)));
	s = flinkml_new_state(nfeat, intercept);
	s->rows = pq_getmsgint64(buf);
	s->skipped = pq_getmsgint64(buf);
	s->wsum_hi = pq_getmsgfloat8(buf);
	s->wsum_lo = pq_getmsgfloat8(buf);
	s->logw_hi = pq_getmsgfloat8(buf);
	s->logw_lo = pq_getmsgfloat8(buf);
	ndata = (lr_state_size(nfeat) - offsetof(LrState, data)) / sizeof(double);
	for (size_t k = 0; k < ndata; k++)
		s->data[k] = pq_getmsgfloat8(buf);
	why = lr_state_check(s, lr_state_size(nfeat));
	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary linreg_state: %s", why)));
	return s;
}

/*
 * flinkml._wire_state(text): a state as the decoder writes it in a line
 * (src/decoder.c): its JSON text, or with option binary the hexadecimal
 * digits of its binary form, read as linreg_state_recv reads it (every
 * value checked) and refused with anything left over.
 */
Datum
flinkml_wire_state(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *p = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	StringInfoData buf;
	LrState    *s;

	if (len > 0 && (*p == '{' || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		PG_RETURN_DATUM(DirectFunctionCall1(linreg_state_in, CStringGetDatum(text_to_cstring(t))));
	if (len % 2 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid linreg_state in a decoder line: an odd number of hexadecimal digits")));
	initStringInfo(&buf);
	enlargeStringInfo(&buf, len / 2 + 1);
	buf.len = (int) hex_decode(p, len, buf.data);
	buf.data[buf.len] = '\0';
	s = flinkml_state_recv(&buf);
	if (buf.cursor != buf.len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid linreg_state in a decoder line: %d byte%s after the state",
						buf.len - buf.cursor, buf.len - buf.cursor == 1 ? "" : "s")));
	pfree(buf.data);
	PG_RETURN_POINTER(s);
}

Datum
linreg_state_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	flinkml_state_send(&buf, PG_GETARG_LRSTATE_P(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
linreg_state_recv(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(flinkml_state_recv((StringInfo) PG_GETARG_POINTER(0)));
}

Datum
linreg_state_rows(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_LRSTATE_P(0)->rows);
}

Datum
linreg_state_skipped(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_LRSTATE_P(0)->skipped);
}

Datum
linreg_state_features(PG_FUNCTION_ARGS)
{
	LrState    *s = PG_GETARG_LRSTATE_P(0);

	if (s->nfeat < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(s->nfeat);
}

Datum
linreg_state_weight_sum(PG_FUNCTION_ARGS)
{
	LrState    *s = PG_GETARG_LRSTATE_P(0);

	PG_RETURN_FLOAT8(s->wsum_hi + s->wsum_lo);
}

/* Check that a and b can be merged, or raise an error naming the difference. */
void
flinkml_check_compatible(const LrState *a, const LrState *b, const char *what)
{
	const char *why;

	if (!lr_state_compatible(a, b, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: cannot combine these states: %s", what, why),
				 errdetail("The first state has %d features%s, the second %d features%s.",
						   a->nfeat, a->intercept ? " and an intercept" : " and no intercept",
						   b->nfeat, b->intercept ? " and an intercept" : " and no intercept")));
}

/* a + b (or a - b) as a new value; neither input is modified. */
static LrState *
add_states(const LrState *a, const LrState *b, bool subtract, const char *what)
{
	LrState    *r;

	flinkml_check_compatible(a, b, what);
	if (a->nfeat < 0 && b->nfeat >= 0)
	{
		if (subtract)
		{
			if (b->rows > 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s: cannot subtract %lld rows from a state that holds none",
								what, (long long) b->rows)));
			r = flinkml_new_state(b->nfeat, b->intercept);
			r->skipped = a->skipped;
		}
		else
		{
			r = flinkml_copy_state(b);
			r->skipped += a->skipped;
			return r;
		}
	}
	else
		r = flinkml_copy_state(a);
	if (!subtract)
	{
		if (lr_state_merge(r, b) != 0)
			elog(ERROR, "%s: states do not match", what);
	}
	else if (lr_state_subtract(r, b) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: cannot subtract a state of %lld rows (%lld skipped) from one of %lld rows (%lld skipped)",
						what, (long long) b->rows, (long long) b->skipped,
						(long long) a->rows, (long long) a->skipped)));
	return r;
}

Datum
linreg_add(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(add_states(PG_GETARG_LRSTATE_P(0), PG_GETARG_LRSTATE_P(1), false, "linreg_add"));
}

Datum
linreg_subtract(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(add_states(PG_GETARG_LRSTATE_P(0), PG_GETARG_LRSTATE_P(1), true, "linreg_subtract"));
}
