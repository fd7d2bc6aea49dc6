/*
 * lr_diag.h — figures derived from a fitted model at the accuracy its
 * double-double state allows: standard errors of fitted values and
 * intervals at any point, HC0..HC3 sandwich standard errors, per-row
 * influence (as R's influence.measures), variance inflation factors (as
 * car::vif) and the partial F test of two nested models (as anova(small,
 * big)).
 *
 * Plain C, no PostgreSQL header.
 *
 * Everything is computed in centred, whitened coordinates: with the
 * feature means m (0 without intercept), the power-of-two column scale S
 * and the double-double Cholesky factor L L' = S C S of the (centred)
 * cross-product matrix C over the kept features, a point x maps to
 *
 *     z = L^-1 S (x - m)
 *
 * in double-double, and x~'(X'WX)^-1 x~ = 1/W + |z|^2 (|z|^2 without
 * intercept).  There is no cancellation between large raw cross products:
 * the leverage of a point at the data's edge or far beyond it keeps its
 * digits.  Residuals are formed in double-double from the double-double
 * solution of the same factor (not from the float64 coefficients, whose
 * rounding alone moves a residual of Longley by 1e-12 relative).
 */
#ifndef FLINKML_LR_DIAG_H
#define FLINKML_LR_DIAG_H

#include "lr_model.h"
#include "dd.h"

typedef struct LrDiag
{
	int			p;				/* features */
	int			icpt;			/* 1: with intercept */
	int			nt;				/* terms: p + icpt */
	int			k;				/* kept (non-aliased) features */
	int			rank;			/* k + icpt */
	int64_t		n;				/* rows with positive weight */
	double		df_resid;		/* n - rank */
	double		rss;			/* the model's residual sum of squares (lr_state_sse) */
	double		s2;				/* rss / df_resid, as computed (any value without residual df) */
	double		sigma;			/* sqrt(rss / df_resid); NaN without residual df */
	dd			W;				/* weight sum */
	int		   *kept;			/* [k] kept feature indices, in order */
	double	   *scale;			/* [p] power-of-two scale (0: aliased/constant) */
	dd		   *mean;			/* [p + 1] means of x and y (0 without intercept) */
	dd		   *Li;				/* L^-1, lower triangular, packed by rows */
	dd		   *g;				/* [k] L^-1 S m (intercept only; zeros otherwise) */
	dd		   *beta;			/* [p] double-double coefficients (0 for aliased) */
	dd			b0;				/* double-double intercept (0 without) */
	/* float64 copies for the fast path of lr_diag_influence / lr_diag_resid_fast */
	double	   *Lh;				/* hi parts of Li */
	double	   *mh;				/* [p + 1] hi parts of mean */
	double	   *ml;				/* [p + 1] lo parts of mean */
	double	   *bh;				/* [p] hi parts of beta */
	double	   *bl;				/* [p] lo parts of beta */
	double		invW;			/* 1/W (0 without intercept) */
	double	   *zerr;			/* [kb] sum_b |Li_ab| |m_b.lo| s_b: z's error from m's lo parts */
	/*
	 * Lh again, in blocks of 4 rows for lr_diag_point_fast: block r (rows
	 * 4r..4r+3) holds columns 0..min(4r+4, k)-1, 4 doubles each (0 above
	 * the diagonal and past row k-1), so that each column of a block is one
	 * 4-wide multiply-add.
	 */
	int			kb;				/* k rounded up to a multiple of 4 */
	double	   *Lb;
	double	   *zc;				/* [kb] (a + 6) u: z_a's rounding bound per unit of magnitude */
	/* for lr_diag_resid_fast, over the kept features padded to kb (coefficient 0) */
	int		   *kp;				/* [kb] feature index (kept[0] in the padding) */
	double	   *rb;				/* [kb] hi parts of beta */
	double	   *rbl;			/* [kb] lo parts of beta */
	double	   *rm;				/* [kb] hi parts of the means (0 without intercept) */
	double	   *rml;			/* [kb] lo parts of the means (0 without intercept) */
	double		rerr;			/* |m_y.lo| + sum_a |b_a| |m_a.lo|: the dropped lo parts of the means */
} LrDiag;

/*
 * Prepare d from model m (least squares, not ridge).  Returns LR_OK,
 * LR_ENOMEM, or LR_ENOROWS when the model's state cannot be factored over
 * its kept features (a corrupt model).  On failure d holds nothing; in all
 * cases lr_diag_free(d) may be called (also on a zeroed d never initialised).
 * tick, when not NULL, is called once per column of the O(k^3) work; when
 * it returns nonzero the work stops, everything is freed and the result is
 * LR_EINTERRUPTED (a caller checks for interrupts there, never by jumping
 * out of the core: its memory is malloc'd).
 */
#define LR_EINTERRUPTED -11
typedef int (*LrTick) (void);
int			lr_diag_init(LrDiag *d, const LrModel *m, LrTick tick);
void		lr_diag_free(LrDiag *d);

/*
 * z[0..k-1] = L^-1 S (x - m) for the point x[0..p-1], and the return value
 * x~'(X'WX)^-1 x~ (1/W + |z|^2 with intercept).  z may be NULL.
 */
dd			lr_diag_point(const LrDiag *d, const double *x, dd *z);

/* The fitted value b0 + x.beta at x, in double-double, centred. */
dd			lr_diag_fit(const LrDiag *d, const double *x);

/* The residual y - fit(x), in double-double. */
dd			lr_diag_resid(const LrDiag *d, double y, const double *x);

/*
 * The same two figures in float64 when a bound on the float64 rounding
 * errors (inputs, the split of the double-double values, the sums) shows
 * enough correct digits (leverage: 7e-15 relative; residual: 2.3e-13
 * relative, the bound being a worst case several digits above the actual
 * error); otherwise computed in double-double.
 * scratch: k doubles.
 */
double		lr_diag_point_fast(const LrDiag *d, const double *x, double *scratch);
double		lr_diag_resid_fast(const LrDiag *d, double y, const double *x);

/*
 * Sandwich estimators (sandwich::vcovHC).  The meat is accumulated in the
 * whitened coordinates u = [1, z] (or z) in double-double.
 */
typedef struct LrHC
{
	int			type;			/* 0..3 */
	int			nq;				/* k + icpt */
	int64_t		n;				/* rows of positive weight seen */
	int			undefined;		/* a row of leverage 1 under HC2/HC3 */
	dd		   *meat;			/* packed upper triangle, nq(nq+1)/2 */
	dd		   *z;				/* [k] scratch */
} LrHC;

int			lr_hc_init(LrHC *h, const LrDiag *d, int type);
void		lr_hc_free(LrHC *h);
/*
 * Fold one row in (w > 0).  Returns 0, or 1 when the row's leverage is 1
 * (HC2/HC3 undefined: R gives NaN).
 */
int			lr_hc_add(LrHC *h, const LrDiag *d, double y, const double *x, double w);
/* Merge b into a (same model and type). */
void		lr_hc_merge(LrHC *a, const LrHC *b);

/*
 * The meat by blocks of rows: the fast path of the aggregate.  Each row
 * gives the same two factors as in lr_hc_add, rr = omega (w e)^2 and the
 * whitened point u = [1, z] (or z), and the products rr u_a u_b are taken
 * exactly as there (ra = rr u_a rounded once, then ra u_b exact by FMA);
 * they are summed in double-double per row slot of a block of
 * LR_HC_BATCH_ROWS rows (the loop over the slots vectorises) and folded
 * into h->meat by lr_hc_batch_drain.  So the meat equals lr_hc_add's up to
 * double-double rounding (the order of the sums differs).
 *
 * rr and z come from float64 arithmetic when its error bounds show them
 * accurate: z (as lr_diag_point_fast computes it) within 2^-47 sqrt(q) in
 * norm, q = x~'(X'WX)^-1 x~, which is the scale of u in the bread's metric
 * (so each row's term rr u u' is within about 2^-46 of its own size there);
 * the residual by a compensated sum (Dot2-like, the means' and
 * coefficients' low parts included) within 2 ulps; under HC2/HC3 the
 * error of w q below 2^-50 (1 - w q).  Otherwise the row takes lr_hc_add's
 * double-double path.  Error bounds and not luck decide, so data whose
 * whitening loses digits (Longley, Filip, Wampler) gets double-double rows.
 */
#define LR_HC_BATCH_ROWS 16
typedef struct LrHCBatch
{
	int32_t		nq;				/* the meat's dimension: k + icpt */
	int32_t		k;
	int32_t		kb;
	int32_t		count;			/* rows in the open block */
	int64_t		pending;		/* rows taken since the last drain */
	int64_t		fast;			/* rows taken by the float64 path (a statistic) */
	int64_t		slow;			/* rows taken by the double-double path */
	/*
	 * The open block, column-major (column a of row r at a * ROWS + r): u,
	 * then ra = rr u; then the partial sums, LR_HC_BATCH_ROWS per meat
	 * entry, hi and lo; then scratch (2 kb + 8 doubles).
	 */
	double		mem[];
} LrHCBatch;

/* Bytes of a batch for d's meat. */
size_t		lr_hc_batch_size(const LrDiag *d);
void		lr_hc_batch_init(LrHCBatch *b, const LrDiag *d);
/*
 * Take a row (w > 0), as lr_hc_add: h->n and h->undefined are updated now,
 * h->meat only when drained.  h->z: k + 1 dd of scratch.  Returns 0, or 1
 * when the row's leverage is 1 under HC2/HC3.
 */
int			lr_hc_batch_add(LrHCBatch *b, LrHC *h, const LrDiag *d, double y, const double *x, double w);
/* Fold what the batch holds into h->meat; the batch is empty after. */
void		lr_hc_batch_drain(LrHCBatch *b, LrHC *h);
/*
 * Standard errors se[0..nt-1] (NaN for aliased terms); when cov is not
 * NULL, the full nt x nt covariance (row-major, NaN rows/columns for
 * aliased terms).  Returns LR_OK, LR_ENOMEM or LR_EINTERRUPTED (tick as
 * in lr_diag_init, once per term of the O(k^3) work).
 */
int			lr_hc_result(const LrHC *h, const LrDiag *d, double *se, double *cov,
						 LrTick tick);

/*
 * Influence of one row (R's hatvalues, rstandard, rstudent, cooks.distance,
 * dffits, covratio of a weighted lm).  NaN where R gives NaN/NA: every
 * figure but the leverage when the leverage is 1, the deleted figures when
 * no residual df would remain.  w > 0.
 */
typedef struct LrInfluence
{
	double		hat;
	double		rstandard;
	double		rstudent;
	double		cooks;
	double		dffits;
	double		covratio;
} LrInfluence;

void		lr_diag_influence(const LrDiag *d, double y, const double *x, double w,
							  dd *scratch, LrInfluence *out);

/*
 * Variance inflation factors (car::vif for numeric terms, one column per
 * term) of the features of m: vif[j] = A_jj (A^-1)_jj over the kept
 * features, A the centred (uncentred without intercept) cross-product
 * matrix; NaN for aliased features.  Returns LR_OK, LR_ENOMEM, LR_ENOROWS,
 * LR_EINTERRUPTED (tick as in lr_diag_init).
 */
int			lr_vif(const LrModel *m, double *vif, LrTick tick);

/* anova(small, big): the second row of R's anova table. */
typedef struct LrAnova
{
	double		df_small;		/* residual df of the small model */
	double		rss_small;
	double		df_big;
	double		rss_big;
	double		df;				/* df_small - df_big */
	double		ss;				/* rss_small - rss_big */
	double		f;				/* (ss / df) / (rss_big / df_big); NaN when undefined */
	double		p_value;
} LrAnova;

/*
 * The partial F test of small against big.  Returns LR_OK, LR_ENOMEM, or
 * LR_EMISMATCH with *why naming the problem: not the same rows (row count,
 * weight sum, response), an intercept in small but not in big, more
 * features in small, or
 * a feature of small that is not a feature of big (the features are matched
 * by their moments: means and cross products with every other feature and
 * the response; raw moments when small has no intercept and big has one).
 * map[j], when not NULL, receives the feature of big that matches feature j
 * of small.
 */
#define LR_EMISMATCH -10
int			lr_anova(const LrModel *small, const LrModel *big, LrAnova *out,
					 int *map, const char **why);

/* A test's result. */
typedef struct LrTest
{
	double		statistic;
	double		df;
	double		p_value;
} LrTest;

/*
 * Breusch-Pagan from the auxiliary state aux: the regression of u = e^2 (e
 * the model's residuals) on Z (the model's regressors, or for White's test
 * also their squares and cross products), with the model's intercept
 * setting, unweighted.  As lmtest::bptest: studentised (Koenker)
 * n * sum fv^2 / sum w^2 with w = u - mean(u) regressed on Z; otherwise
 * sum fv^2 / (2 sigma^4) for f = u / sigma^2 - 1, sigma^2 = mean(u); df =
 * the auxiliary rank - 1; p from the chi-squared upper tail.  Returns
 * LR_OK, LR_ENOMEM, LR_ENOROWS (an empty state) or LR_EOVERFLOW.
 */
int			lr_bptest(const LrState *aux, int studentize, LrTest *out);

/*
 * The same for a weighted model (lmtest::bptest of a weighted lm, 0.9-40):
 * aux is the weighted regression of u = e^2 on Z (e the model's raw
 * residuals, the model's weights), n its rows (positive weights), sigma^2
 * = sum w u / n; the auxiliary regression is of v = u - sigma^2 (or
 * v / sigma^2 = u / sigma^2 - 1) with those weights, and its fitted values
 * fv enter as sum w fv^2: studentised, n sum w fv^2 / sum (u - sigma^2)^2
 * (the denominator unweighted, as lmtest computes it: unw[0] = sum u,
 * unw[1] = sum u^2 over the rows); otherwise sum w fv^2 / (2 sigma^4).
 * unw NULL: unweighted rows (lr_bptest).  With all weights 1 both agree.
 */
int			lr_bptest_w(const LrState *aux, int studentize, const dd *unw, LrTest *out);

/*
 * out = s without its last feature (out: lr_state_size(s->nfeat - 1)
 * bytes; s->nfeat >= 1).
 */
void		lr_state_drop_last_feature(const LrState *s, LrState *out);

/*
 * Durbin-Watson over rows in order (lmtest::dwtest): the statistic
 * sum (e_t - e_t-1)^2 / sum e_t^2 and its p value against positive
 * autocorrelation (alternative "greater": P(DW <= d) under the null).
 *
 * Approximate p value (dwtest(exact = FALSE)): the normal approximation of
 * the null distribution, with mean P/(n-k) and variance
 * 2 (Q - P mean) / ((n-k)(n-k+2)) where P = 2(n-1) - tr(X'AX (X'X)^-1),
 * Q = 2(3n-4) - 2 tr((AX)'AX (X'X)^-1) + tr((X'AX (X'X)^-1)^2), A the
 * differencing matrix.  In the whitened coordinates of LrDiag, (X'X)^-1 is
 * diag(1/n, I) and the intercept's differences vanish, so the traces are
 * sums over the rows of |dz|^2 and |(Az)_t|^2 and the Frobenius norm of
 * sum dz dz'.
 *
 * Exact p value (dwtest's default below 100 rows): under the null, DW =
 * e'Ae / e'e with e = M eps, M the residual maker, so P(DW <= d) =
 * P(sum_i (lambda_i - d) chi2_1,i <= 0) over the n - rank nonzero
 * eigenvalues lambda_i of M A M.  The rows' whitened coordinates z (with
 * the constant column) are kept for the first rows, orthonormalised into
 * Q (modified Gram-Schmidt, twice); M = I - QQ'; the eigenvalues of the
 * symmetric M A M come from LAPACK's dsyev; the probability is Imhof's
 * (1961) inversion of the characteristic function,
 *   P(Q <= 0) = 1/2 - (1/pi) int_0^inf sin(theta(u)) / (u rho(u)) du,
 *   theta(u) = 1/2 sum atan(nu_i u), rho(u) = prod (1 + nu_i^2 u^2)^(1/4),
 * nu_i = lambda_i - d, integrated by the double-exponential (exp-sinh)
 * trapezoidal rule to an absolute error near 1e-15.  (lmtest evaluates
 * the same probability with Farebrother's AS 153 implementation of Pan's
 * formula; the two agree to its accuracy.)  As dwtest, eigenvalues at or
 * below 1e-10 are dropped.
 */
#define LR_DW_EXACT_ROWS 100	/* default: exact below this many rows */
#define LR_DW_EXACT_MAX 2000	/* exact on request: at most this many rows */

typedef struct LrDW
{
	int			k;				/* kept features */
	int			icpt;			/* the model has an intercept */
	int			mode;			/* -1: exact below LR_DW_EXACT_ROWS rows; 0: approximate; 1: exact */
	int64_t		n;
	dd			num;			/* sum (e_t - e_t-1)^2 */
	dd			den;			/* sum e_t^2 */
	double		e_prev;
	double	   *z_prev;			/* [k] */
	double	   *z_prev2;		/* [k] */
	double	   *z;				/* [k] */
	dd		   *zs;				/* [k] scratch */
	double	   *G;				/* [k*k] sum dz dz' */
	double		H;				/* sum |(Az)_t|^2 over finished rows */
	int			cap;			/* rows rowz can hold */
	double	   *rowz;			/* [cap * k] z of the first cap rows (NULL when cap is 0) */
} LrDW;

/* mode as in LrDW.mode.  Returns LR_OK or LR_ENOMEM. */
int			lr_dw_init(LrDW *w, const LrDiag *d, int mode);
void		lr_dw_free(LrDW *w);
void		lr_dw_add(LrDW *w, const LrDiag *d, double y, const double *x);

/*
 * Statistic and p value (out->df: 1 when the p value is exact, 0 when it
 * is the normal approximation, NaN when there is none).  No p value (NaN)
 * below 3 rows, or for the approximation below max(5, rank) rows, where R
 * gives 1 with a warning; none either when no eigenvalue of M A M is
 * positive (n <= rank).  An exact p value is clamped to [0, 1].  Returns
 * LR_OK, LR_ENOMEM, LR_ENOROWS (exact requested, mode 1, with more than
 * LR_DW_EXACT_MAX rows) or LR_EINTERRUPTED (tick as in lr_diag_init, per
 * column of the O(n^3) work).
 */
int			lr_dw_result(const LrDW *w, const LrDiag *d, LrTest *out, LrTick tick);

/*
 * P(sum_i nu_i chi2_1,i <= 0) for independent chi-squared(1) variables, by
 * Imhof's integral (as above); m >= 1.  Exposed for the core tests.
 */
double		lr_qf_lower_p(const double *nu, int m);

#endif							/* FLINKML_LR_DIAG_H */
