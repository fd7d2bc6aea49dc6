/*
 * lr_model.c — building, checking and applying a solved model.
 */
#include "lr_model.h"

#include <math.h>
#include <string.h>

int
lr_model_build(LrModel *m, const LrState *s, double tol, double lambda)
{
	LrSolution sol;
	int			rc;

	memset(m, 0, lr_model_state_offset(s->nfeat, s->intercept));
	m->version = LR_MODEL_VERSION;
	m->intercept = s->intercept;
	m->nfeat = s->nfeat;
	sol.coef = m->coef;
	sol.aliased = lr_model_aliased(m);
	m->lambda = lambda;
	rc = lr_solve_ridge(s, tol, lambda, &sol);
	if (rc != LR_OK)
		return rc;
	m->method = (uint8_t) sol.method;
	m->rank = sol.rank;
	m->rows = s->rows;
	m->skipped = s->skipped;
	m->cond = sol.cond;
	memcpy((char *) m + lr_model_state_offset(s->nfeat, s->intercept), s, lr_state_size(s->nfeat));
	return LR_OK;
}

const char *
lr_model_check(const LrModel *m, size_t nbytes)
{
	const LrState *s;
	const char *why;
	int			nt,
				aliased = 0;

	if (nbytes < offsetof(LrModel, coef))
		return "too short for a linreg header";
	if (m->version != LR_MODEL_VERSION)
		return "unknown linreg version";
	if (m->intercept > 1 || m->reserved != 0 || m->names_len < 0 ||
		(m->method != LR_METHOD_LAPACK && m->method != LR_METHOD_DD))
		return "malformed linreg header";
	if (m->nfeat < 0 || m->nfeat > LR_MAX_FEATURES)
		return "feature count out of range";
	if (nbytes != lr_model_size(m->nfeat, m->intercept) + (size_t) m->names_len)
		return "size does not match the feature count";
	if (!(m->lambda >= 0.0) || !isfinite(m->lambda))
		return "ridge penalty is not a finite number >= 0";
	if (m->names_len > 0)
	{
		const char *nm = lr_model_names(m);
		int			count = 0;

		if (nm[m->names_len - 1] != '\0')
			return "names block is not terminated";
		for (int32_t k = 0; k < m->names_len; k++)
		{
			if (nm[k] == '\0')
			{
				if (k == 0 || nm[k - 1] == '\0')
					return "a feature name is empty";
				count++;
			}
			else if ((unsigned char) nm[k] < 0x20)
				return "a feature name has a control character";
		}
		if (count != m->nfeat)
			return "the number of names does not match the feature count";
	}
	nt = lr_model_nterms(m);
	for (int j = 0; j < nt; j++)
	{
		unsigned char a = lr_model_caliased(m)[j];

		if (a > 1)
			return "malformed aliased flags";
		if (!isfinite(m->coef[j]))
			return "a coefficient is not finite";
		if (a && m->coef[j] != 0.0)
			return "an aliased coefficient is nonzero";
		aliased += a;
	}
	if (m->intercept && lr_model_caliased(m)[0])
		return "the intercept cannot be aliased";
	if (m->rank != nt - aliased)
		return "rank does not match the aliased terms";
	if (!(m->cond >= 1.0))
		return "condition number below 1";
	s = lr_model_state(m);
	/* the embedded state's length word is not maintained: check the rest */
	why = lr_state_check(s, lr_state_size(m->nfeat));
	if (why)
		return why;
	if (s->nfeat != m->nfeat || s->intercept != m->intercept)
		return "the embedded state does not match the model";
	if (s->rows != m->rows || s->skipped != m->skipped || m->rows <= 0)
		return "row counts do not match the embedded state";
	return NULL;
}

double
lr_model_predict(const LrModel *m, const double *x)
{
	const double *c = m->coef;
	double		acc = m->intercept ? c[0] : 0.0;

	c += m->intercept;
	for (int j = 0; j < m->nfeat; j++)
		acc += c[j] * x[j];
	return acc;
}

size_t
lr_model_with_names(const LrModel *m, const char *const *names, char *out)
{
	size_t		base = lr_model_size(m->nfeat, m->intercept);
	size_t		len = 0;

	memcpy(out, m, base);
	if (names)
		for (int j = 0; j < m->nfeat; j++)
		{
			size_t		n = strlen(names[j]) + 1;

			memcpy(out + base + len, names[j], n);
			len += n;
		}
	((LrModel *) out)->names_len = (int32_t) len;
	return base + len;
}
