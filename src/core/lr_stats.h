/*
 * lr_stats.h — the inference statistics of a fitted model, from its state
 * alone (no second pass over the rows): what R's summary.lm, logLik, AIC,
 * BIC and vcov report.
 *
 * Plain C, no PostgreSQL header.  Distribution functions come from R's
 * standalone math library (Debian's r-mathlib, libRmath).
 */
#ifndef FLINKML_LR_STATS_H
#define FLINKML_LR_STATS_H

#include "lr_model.h"
#include "dd.h"

typedef struct LrStats
{
	int64_t		n;				/* rows with positive weight */
	int			nterms;
	int			rank;			/* non-aliased terms, intercept included */
	double		df_resid;		/* n - rank */
	double		rss;			/* sum w e^2 */
	double		tss;			/* sum w (y - mean)^2, or sum w y^2 without intercept */
	double		sigma;			/* residual standard error sqrt(rss / df_resid) */
	double		r2;				/* 1 - rss/tss (uncentred without intercept, as R) */
	double		adj_r2;
	double		fstat;			/* ((tss - rss)/df1) / (rss/df2) */
	double		f_df1;			/* rank - intercept */
	double		f_df2;			/* df_resid */
	double		f_pvalue;
	double		loglik;			/* R's logLik.lm, weights included */
	double		aic;
	double		bic;
} LrStats;

/*
 * Statistics of model m.  se[nterms] receives the coefficient standard
 * errors and, if cov is not NULL, cov[nterms * nterms] (row-major) the
 * coefficient covariance sigma^2 (X'WX)^-1; aliased terms get NaN.  Values
 * that R reports as NaN or NA (sigma with no residual degrees of freedom,
 * F without features) are NaN here.
 * Returns LR_OK, LR_ENOMEM, or LR_ENOROWS when the model's state cannot be
 * factored over its kept features (a corrupt model).
 */
int			lr_stats(const LrModel *m, LrStats *st, double *se, double *cov);

/*
 * The unscaled covariance (X'WX)^-1 over the model's terms (row-major
 * nterms x nterms, intercept first, NaN for aliased terms): the "bread" of
 * sandwich estimators and, times sigma^2, the coefficient covariance.
 */
int			lr_unscaled_cov(const LrModel *m, double *out);

/*
 * sum w (y - b0 - x.beta)^2 over the rows of state s, for coefficients
 * coef (intercept first when intercept is 1): the squared error of a model
 * on the rows held in s, without a pass over them.  0 for an empty state.
 */
double		lr_state_sse(const LrState *s, const double *coef, int intercept);
/* The same in double-double (0 for an empty state; never negative). */
dd			lr_state_sse_dd(const LrState *s, const double *coef, int intercept);

/* Student t and F distribution functions (R's pt, qt, pf). */
double		lr_t_two_sided_p(double t, double df);
double		lr_t_quantile(double p, double df);
double		lr_f_upper_p(double f, double df1, double df2);
/* Upper tail of chi-squared (R's pchisq(x, df, lower = FALSE)); lower tail of the normal (pnorm). */
double		lr_chisq_upper_p(double x, double df);
double		lr_norm_lower_p(double x, double mean, double sd);

#endif							/* FLINKML_LR_STATS_H */
