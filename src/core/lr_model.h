/*
 * lr_model.h — a solved linear model: coefficients, rank, counts, condition
 * number, and the state it was solved from (so a model can keep learning).
 *
 * Plain C, no PostgreSQL header.  One contiguous block, payload of a
 * PostgreSQL varlena: the first four bytes are the container's length word.
 * The coefficients come first so that scoring reads them in place.
 *
 * Layout: header | coef[nterms] | aliased[nterms] (bytes, padded to 8) | state
 */
#ifndef FLINKML_LR_MODEL_H
#define FLINKML_LR_MODEL_H

#include "lr_solve.h"
#include "lr_state.h"

#define LR_MODEL_VERSION 1

typedef struct LrModel
{
	int32_t		vl_len_;		/* reserved for the container's length word */
	uint8_t		version;		/* LR_MODEL_VERSION */
	uint8_t		intercept;		/* 1: coef[0] is the intercept */
	uint8_t		method;			/* LR_METHOD_* */
	uint8_t		reserved;		/* 0 */
	int32_t		nfeat;			/* p */
	int32_t		rank;			/* non-aliased terms, intercept included */
	int32_t		reserved2;		/* 0 */
	int64_t		rows;			/* rows the model was fitted on */
	int64_t		skipped;		/* rows skipped because of a NULL */
	double		cond;			/* see lr_solve() */
	double		coef[];			/* intercept first; aliased terms hold 0 */
} LrModel;

static inline int
lr_model_nterms(const LrModel *m)
{
	return m->nfeat + m->intercept;
}

static inline size_t
lr_model_state_offset(int nfeat, int intercept)
{
	size_t		nt = (size_t) (nfeat + intercept);

	return offsetof(LrModel, coef) + sizeof(double) * nt + ((nt + 7) & ~(size_t) 7);
}

static inline size_t
lr_model_size(int nfeat, int intercept)
{
	return lr_model_state_offset(nfeat, intercept) + lr_state_size(nfeat);
}

static inline unsigned char *
lr_model_aliased(LrModel *m)
{
	return (unsigned char *) (m->coef + lr_model_nterms(m));
}

static inline const unsigned char *
lr_model_caliased(const LrModel *m)
{
	return (const unsigned char *) (m->coef + lr_model_nterms(m));
}

/* The embedded state; its length word is not maintained (copy it out to use it as a value). */
static inline const LrState *
lr_model_state(const LrModel *m)
{
	return (const LrState *) ((const char *) m + lr_model_state_offset(m->nfeat, m->intercept));
}

/*
 * Solve s into m, a block of lr_model_size(s->nfeat, s->intercept) bytes.
 * Returns an LR_* code from lr_solve().
 */
int			lr_model_build(LrModel *m, const LrState *s, double tol);

/* Validate a model read from outside; NULL when valid, else the problem. */
const char *lr_model_check(const LrModel *m, size_t nbytes);

/*
 * The prediction for x[0..p-1]: intercept + sum coef_j x_j, aliased terms
 * contributing nothing (as R's predict does for a rank-deficient fit).
 */
double		lr_model_predict(const LrModel *m, const double *x);

#endif							/* FLINKML_LR_MODEL_H */
