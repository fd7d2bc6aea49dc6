/*
 * model_type.c — the linreg type: text and binary I/O and accessors.
 */
#include "flinkml.h"

#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "core/lr_codec.h"

PG_FUNCTION_INFO_V1(linreg_in);
PG_FUNCTION_INFO_V1(linreg_out);
PG_FUNCTION_INFO_V1(linreg_recv);
PG_FUNCTION_INFO_V1(linreg_send);
PG_FUNCTION_INFO_V1(linreg_coefficients);
PG_FUNCTION_INFO_V1(linreg_intercept);
PG_FUNCTION_INFO_V1(linreg_rank);
PG_FUNCTION_INFO_V1(linreg_model_rows);
PG_FUNCTION_INFO_V1(linreg_model_skipped);
PG_FUNCTION_INFO_V1(linreg_model_features);
PG_FUNCTION_INFO_V1(linreg_cond);
PG_FUNCTION_INFO_V1(linreg_model_state);

Datum
linreg_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	LrModel    *m = NULL;
	size_t		size = 0;
	char		err[256];

	if (lr_model_from_text(text, flinkml_palloc_huge, &m, &size, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type linreg: %s", err)));
	SET_VARSIZE(m, size);
	PG_RETURN_POINTER(m);
}

Datum
linreg_out(PG_FUNCTION_ARGS)
{
	LrModel    *m = PG_GETARG_LRMODEL_P(0);
	char	   *buf = palloc_extended(lr_model_text_bound(m) + 1, MCXT_ALLOC_HUGE);

	lr_model_to_text(m, buf);
	PG_RETURN_CSTRING(buf);
}

/*
 * Binary form: version, intercept, method (bytes), features, rank (int4),
 * rows, skipped (int8), cond, lambda, the coefficients (float8), the
 * aliased flags (bytes), the state's binary form, then the names block's
 * length (int4) and bytes.
 */
Datum
linreg_send(PG_FUNCTION_ARGS)
{
	LrModel    *m = PG_GETARG_LRMODEL_P(0);
	int			nt = lr_model_nterms(m);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, m->version);
	pq_sendbyte(&buf, m->intercept);
	pq_sendbyte(&buf, m->method);
	pq_sendint32(&buf, m->nfeat);
	pq_sendint32(&buf, m->rank);
	pq_sendint64(&buf, m->rows);
	pq_sendint64(&buf, m->skipped);
	pq_sendfloat8(&buf, m->cond);
	pq_sendfloat8(&buf, m->lambda);
	for (int j = 0; j < nt; j++)
		pq_sendfloat8(&buf, m->coef[j]);
	for (int j = 0; j < nt; j++)
		pq_sendbyte(&buf, lr_model_caliased(m)[j]);
	flinkml_state_send(&buf, lr_model_state(m));
	pq_sendint32(&buf, m->names_len);
	if (m->names_len > 0)
		pq_sendbytes(&buf, lr_model_names(m), m->names_len);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
linreg_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	int			intercept = pq_getmsgbyte(buf);
	int			method = pq_getmsgbyte(buf);
	int			nfeat = pq_getmsgint(buf, 4);
	LrModel    *m;
	LrState    *s;
	Size		size;
	const char *why;
	LrModel		head;
	const char *names;

	if (version != LR_MODEL_VERSION || intercept > 1 || nfeat < 0 || nfeat > LR_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary linreg: version %d, intercept flag %d, feature count %d",
						version, intercept, nfeat)));
	memset(&head, 0, sizeof(head));
	head.nfeat = nfeat;
	head.intercept = (uint8) intercept;
	head.rank = pq_getmsgint(buf, 4);
	head.rows = pq_getmsgint64(buf);
	head.skipped = pq_getmsgint64(buf);
	head.cond = pq_getmsgfloat8(buf);
	head.lambda = pq_getmsgfloat8(buf);
	size = lr_model_size(nfeat, intercept);
	m = palloc0(size);
	m->version = (uint8) version;
	m->intercept = (uint8) intercept;
	m->method = (uint8) method;
	m->nfeat = nfeat;
	m->rank = head.rank;
	m->rows = head.rows;
	m->skipped = head.skipped;
	m->cond = head.cond;
	m->lambda = head.lambda;
	for (int j = 0; j < nfeat + intercept; j++)
		m->coef[j] = pq_getmsgfloat8(buf);
	for (int j = 0; j < nfeat + intercept; j++)
		lr_model_aliased(m)[j] = (unsigned char) pq_getmsgbyte(buf);
	s = flinkml_state_recv(buf);
	if (s->nfeat != nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary linreg: the state has %d features, the model %d", s->nfeat, nfeat)));
	memcpy((char *) m + lr_model_state_offset(nfeat, intercept), s, lr_state_size(nfeat));
	m->names_len = pq_getmsgint(buf, 4);
	if (m->names_len < 0 || m->names_len > buf->len - buf->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary linreg: names length %d", m->names_len)));
	names = pq_getmsgbytes(buf, m->names_len);
	m = repalloc(m, size + m->names_len);
	memcpy((char *) m + size, names, m->names_len);
	size += m->names_len;
	why = lr_model_check(m, size);
	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary linreg: %s", why)));
	SET_VARSIZE(m, size);
	PG_RETURN_POINTER(m);
}

/* Intercept first (when fitted), then one per feature; NULL for aliased terms. */
Datum
linreg_coefficients(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(flinkml_coef_array(PG_GETARG_LRMODEL_P(0)));
}

Datum
linreg_intercept(PG_FUNCTION_ARGS)
{
	LrModel    *m = PG_GETARG_LRMODEL_P(0);

	if (!m->intercept)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m->coef[0]);
}

Datum
linreg_rank(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_LRMODEL_P(0)->rank);
}

Datum
linreg_model_rows(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_LRMODEL_P(0)->rows);
}

Datum
linreg_model_skipped(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_LRMODEL_P(0)->skipped);
}

Datum
linreg_model_features(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_LRMODEL_P(0)->nfeat);
}

Datum
linreg_cond(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(PG_GETARG_LRMODEL_P(0)->cond);
}

/* The state the model was solved from, to merge new rows into and re-solve. */
Datum
linreg_model_state(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(flinkml_copy_state(lr_model_state(PG_GETARG_LRMODEL_P(0))));
}
