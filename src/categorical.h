/*
 * categorical.h — dummy coding of categorical registry features (text,
 * varchar or boolean columns), shared by the statement triggers
 * (trigger.c), score_into (score_into.c) and linreg_predict(name, record).
 */
#ifndef FLINKML_CATEGORICAL_H
#define FLINKML_CATEGORICAL_H

#include "postgres.h"
#include "utils/jsonb.h"

/*
 * A model's levels (flinkml.models.levels), per raw feature: 0 levels for a
 * numeric feature, else k >= 2 levels sorted in the "C" collation (byte
 * order); the first is the reference and has no column, so the feature
 * expands to k - 1 dummy columns.  Without an intercept the first
 * categorical feature is coded in full, k columns, as R's lm does
 * (lm(y ~ 0 + f) has a column per level of f).
 */
typedef struct FlinkmlLevels
{
	int			nraw;			/* raw features */
	int			nexp;			/* columns after expansion */
	int			full;			/* the feature coded in full (no intercept), or -1 */
	int		   *nlev;			/* per raw feature: 0 numeric, else k */
	char	 ***lev;			/* per raw feature: its levels, NUL-terminated */
	int		  **len;			/* their lengths in bytes */
} FlinkmlLevels;

/* A column type a categorical feature may have (text, varchar, boolean). */
extern bool flinkml_categorical_type(Oid type);

/*
 * The levels of a model of nraw raw features from its levels value (NULL:
 * every feature numeric), in the current memory context; an error naming
 * the model when the value is malformed (model NULL: the decoder's option).
 */
extern FlinkmlLevels *flinkml_levels_parse(Jsonb *levels, int nraw, bool intercept, const char *model);

/* The number of columns raw feature j expands to (1 for a numeric one). */
static inline int
flinkml_levels_width(const FlinkmlLevels *L, int j)
{
	return L->nlev[j] == 0 ? 1 : j == L->full ? L->nlev[j] : L->nlev[j] - 1;
}

/*
 * The dummy columns of raw feature j for the non-NULL value v of type
 * `type` (text, varchar or boolean) into out[0 .. width-1]; a value that is not
 * one of the levels is an error naming the model, the column and the value.
 */
/* The same without the error: false when v is not one of the levels. */
extern bool flinkml_levels_lookup(const FlinkmlLevels *L, int j, Oid type, Datum v, double *out);
extern void flinkml_levels_expand(const FlinkmlLevels *L, int j, Oid type, Datum v, double *out,
								  const char *model, const char *column);

#endif
