/*
 * lr_model.h — a solved linear model: coefficients, rank, counts, condition
 * number, and the state it was solved from (so a model can keep learning).
 *
 * Plain C, no PostgreSQL header.  One contiguous block, payload of a
 * PostgreSQL varlena: the first four bytes are the container's length word.
 * The coefficients come first so that scoring reads them in place.
 *
 * Layout: header | coef[nterms] | aliased[nterms] (bytes, padded to 8) | state
 *         | names (optional: names_len bytes, p NUL-terminated feature names)
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
	int32_t		names_len;		/* bytes of the names block; 0: no names */
	int64_t		rows;			/* rows the model was fitted on */
	int64_t		skipped;		/* rows skipped because of a NULL */
	double		cond;			/* see lr_solve() */
	double		lambda;			/* ridge penalty; 0 for least squares */
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

/* The whole value: the base layout plus the names block. */
static inline size_t
lr_model_total_size(const LrModel *m)
{
	return lr_model_size(m->nfeat, m->intercept) + (size_t) m->names_len;
}

/* The feature names, p NUL-terminated strings one after another; NULL if none. */
static inline const char *
lr_model_names(const LrModel *m)
{
	return m->names_len > 0 ? (const char *) m + lr_model_size(m->nfeat, m->intercept) : NULL;
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
 * Solve s into m, a block of lr_model_size(s->nfeat, s->intercept) bytes
 * (no names), by least squares (lambda = 0) or ridge (lambda > 0, see
 * lr_solve_ridge).  Returns an LR_* code from the solver.
 */
int			lr_model_build(LrModel *m, const LrState *s, double tol, double lambda);

/*
 * Copy m's base layout into out and append names[0..p-1] (or none when
 * names is NULL); out must hold lr_model_size() + the names' bytes with
 * their NULs.  Returns the size written.
 */
size_t		lr_model_with_names(const LrModel *m, const char *const *names, char *out);

/* Validate a model read from outside; NULL when valid, else the problem. */
const char *lr_model_check(const LrModel *m, size_t nbytes);

/*
 * The prediction for x[0..p-1]: intercept + sum coef_j x_j, aliased terms
 * contributing nothing (as R's predict does for a rank-deficient fit).
 */
double		lr_model_predict(const LrModel *m, const double *x);

#endif							/* FLINKML_LR_MODEL_H */
