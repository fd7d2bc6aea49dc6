#!/usr/bin/env Rscript
# make_reference.R: the R reference values for sql/stats.sql and
# sql/evaluate.sql, computed from the CSV data in this folder.
#
#     cd test/data/stats && Rscript make_reference.R     (R 4.2, package sandwich)
#
# Writes (every number with 17 significant digits, NA as an empty field):
#   ref_summary.csv  summary(lm)$coefficients and confint() at levels 0.95, 0.9
#   ref_stats.csv    n, df, sigma, R^2, adj R^2, F, its df and p, logLik, AIC,
#                    BIC, RSS, TSS
#   ref_vcov.csv     vcov(lm) (complete: NA rows/columns for aliased terms)
#   ref_predict.csv  predict.lm(se.fit = TRUE, interval = "confidence" and
#                    "prediction") at newpoints.csv, levels 0.95 and 0.8
#   ref_hc.csv       sqrt(diag(sandwich::vcovHC(fit, type))) for HC0..HC3
#   ref_score.csv    n, MSE, RMSE, MAE, R^2 of fit A's predictions on
#                    holdout.csv (rows with an NA skipped, and counted); and
#                    the same with 1e6 added to every y (A_shift)
#
# The fits (data synth.csv; x3 is the integer column g):
#   A  lm(y ~ x1 + x2 + g)                       unweighted
#   B  lm(y ~ x1 + x2 + g, weights = w)          weighted, four weights 0
#   C  lm(y ~ 0 + x1 + x2 + g)                   no intercept (uncentred R^2)
#   D  lm(y ~ x1 + x2 + xa + g)                  xa = x1 + x2: aliased (NA)
#   E  lm(y ~ 0 + x1 + x2 + g, weights = w)      weighted, no intercept
#
# HC for B is computed on the rows with w > 0 (subset = w > 0): with
# zero-weight rows present, sandwich 3.0-2 mixes row counts (bread scaled by
# the 56 non-zero-weight rows, meat by all 60; hatvalues() drop the zero
# weights and are recycled against 60 residuals), so its HC0..HC3 for the
# full B fit are not the sandwich estimator of that fit.  A zero-weight row
# contributes nothing to the estimator, so the subset value is the correct
# one for the full fit too.
suppressPackageStartupMessages(library(sandwich))
stopifnot(getRversion() >= "4.2.0")

d <- read.csv("synth.csv")
np <- read.csv("newpoints.csv")
np$xa <- np$x1 + np$x2
ho <- read.csv("holdout.csv")

fits <- list(
  A = lm(y ~ x1 + x2 + g, data = d),
  B = lm(y ~ x1 + x2 + g, data = d, weights = w),
  C = lm(y ~ 0 + x1 + x2 + g, data = d),
  D = lm(y ~ x1 + x2 + xa + g, data = d),
  E = lm(y ~ 0 + x1 + x2 + g, data = d, weights = w)
)
hc_fits <- list(
  A = fits$A,
  B = lm(y ~ x1 + x2 + g, data = d, weights = w, subset = w > 0),
  C = fits$C,
  D = fits$D
)

num <- function(v) ifelse(is.na(v), "", sprintf("%.17g", v))

# --- summary table -----------------------------------------------------------
rows <- list()
for (f in names(fits)) {
  fit <- fits[[f]]
  cf <- coef(fit)                       # all terms, NA for aliased
  sm <- summary(fit)$coefficients        # non-aliased terms only
  for (level in c(0.95, 0.9)) {
    ci <- confint(fit, level = level)    # NA rows for aliased terms
    for (k in seq_along(cf)) {
      nm <- names(cf)[k]
      ok <- nm %in% rownames(sm)
      rows[[length(rows) + 1]] <- data.frame(
        fit = f, level = level, ord = k, term = nm,
        estimate = num(cf[[k]]),
        std_error = num(if (ok) sm[nm, 2] else NA),
        t_value = num(if (ok) sm[nm, 3] else NA),
        p_value = num(if (ok) sm[nm, 4] else NA),
        conf_low = num(ci[nm, 1]), conf_high = num(ci[nm, 2]))
    }
  }
}
write.csv(do.call(rbind, rows), "ref_summary.csv", row.names = FALSE, quote = FALSE)

# --- fit statistics ----------------------------------------------------------
rows <- list()
for (f in names(fits)) {
  fit <- fits[[f]]
  s <- summary(fit)
  w <- weights(fit); if (is.null(w)) w <- rep(1, length(residuals(fit)))
  fv <- fitted(fit); yv <- fv + residuals(fit)
  rss <- sum(w * residuals(fit)^2)
  has_int <- attr(terms(fit), "intercept") == 1
  tss <- if (has_int) sum(w * (yv - sum(w * yv) / sum(w))^2) else sum(w * yv^2)
  fs <- s$fstatistic
  rows[[length(rows) + 1]] <- data.frame(
    fit = f, n = nobs(fit), df_resid = num(fit$df.residual), sigma = num(s$sigma),
    r_squared = num(s$r.squared), adj_r_squared = num(s$adj.r.squared),
    f_statistic = num(fs[["value"]]), f_df1 = num(fs[["numdf"]]), f_df2 = num(fs[["dendf"]]),
    f_p_value = num(pf(fs[["value"]], fs[["numdf"]], fs[["dendf"]], lower.tail = FALSE)),
    log_lik = num(as.numeric(logLik(fit))), aic = num(AIC(fit)), bic = num(BIC(fit)),
    rss = num(rss), tss = num(tss), rank = fit$rank)
}
write.csv(do.call(rbind, rows), "ref_stats.csv", row.names = FALSE, quote = FALSE)

# --- covariance ----------------------------------------------------------------
rows <- list()
for (f in names(fits)) {
  v <- vcov(fits[[f]])                  # complete = TRUE: NA for aliased
  for (i in seq_len(nrow(v))) for (j in seq_len(ncol(v)))
    rows[[length(rows) + 1]] <- data.frame(fit = f, i = i, j = j, value = num(v[i, j]))
}
write.csv(do.call(rbind, rows), "ref_vcov.csv", row.names = FALSE, quote = FALSE)

# --- prediction intervals ------------------------------------------------------
rows <- list()
for (f in names(fits)) {
  fit <- fits[[f]]
  for (level in c(0.95, 0.8)) {
    pc <- suppressWarnings(predict(fit, np, se.fit = TRUE, interval = "confidence", level = level))
    pp <- suppressWarnings(predict(fit, np, interval = "prediction", level = level))  # new weight 1
    for (k in seq_len(nrow(np)))
      rows[[length(rows) + 1]] <- data.frame(
        fit = f, level = level, pt = np$pt[k],
        fitted = num(pc$fit[k, "fit"]), se_fit = num(pc$se.fit[k]),
        conf_low = num(pc$fit[k, "lwr"]), conf_high = num(pc$fit[k, "upr"]),
        pred_low = num(pp[k, "lwr"]), pred_high = num(pp[k, "upr"]))
  }
}
write.csv(do.call(rbind, rows), "ref_predict.csv", row.names = FALSE, quote = FALSE)

# --- heteroskedasticity-consistent standard errors ---------------------------
rows <- list()
for (f in names(hc_fits)) {
  fit <- hc_fits[[f]]
  cf <- coef(fit)
  for (type in c("HC0", "HC1", "HC2", "HC3")) {
    se <- sqrt(diag(vcovHC(fit, type = type)))    # aliased terms left out
    for (k in seq_along(cf))
      rows[[length(rows) + 1]] <- data.frame(
        fit = f, type = type, ord = k, term = names(cf)[k],
        se = num(if (names(cf)[k] %in% names(se)) se[[names(cf)[k]]] else NA))
  }
}
write.csv(do.call(rbind, rows), "ref_hc.csv", row.names = FALSE, quote = FALSE)

# --- scoring fit A on the held-out rows --------------------------------------
# "A": fit A scored on holdout.csv; "A_shift": the same with 1e6 added to y
# in float8 (training and held-out rows): large mean, small spread.
ok <- complete.cases(ho)
h <- ho[ok, ]
ds <- d; ds$y <- ds$y + 1e6
hs <- h; hs$y <- hs$y + 1e6
fit_shift <- lm(y ~ x1 + x2 + g, data = ds)
score <- function(name, fit, h) {
  e <- h$y - predict(fit, h)
  data.frame(case = name, n = nrow(h), mse = num(mean(e^2)), rmse = num(sqrt(mean(e^2))),
             mae = num(mean(abs(e))), r2 = num(1 - sum(e^2) / sum((h$y - mean(h$y))^2)),
             skipped = sum(!ok))
}
write.csv(rbind(score("A", fits$A, h), score("A_shift", fit_shift, hs)),
          "ref_score.csv", row.names = FALSE, quote = FALSE)
cat("make_reference.R: wrote ref_summary.csv ref_stats.csv ref_vcov.csv ref_predict.csv ref_hc.csv ref_score.csv\n")
