#!/usr/bin/env Rscript
# make_reference.R: R reference values for sql/diagnostics.sql, computed
# from ../stats/synth.csv (the data of sql/stats.sql).
#
#     cd test/data/diag && Rscript make_reference.R
#     (R 4.2; Debian's r-cran-car 3.1, r-cran-lmtest 0.9-40, r-cran-sandwich)
#
# Writes (every number with 17 significant digits, NA as an empty field):
#   ref_vif.csv        car::vif                    fit, term, vif
#   ref_anova.csv      anova(small, big)           case, res_df_small, rss_small,
#                                                  res_df, rss, df, sum_sq, f, p_value
#   ref_influence.csv  influence.measures          fit, id, hat, rstandard, rstudent,
#                                                  cooks, dffits, covratio
#   ref_tests.csv      lmtest::bptest, dwtest      case, statistic, df, p_value
#
# Fits (as sql/stats.sql): A y ~ x1 + x2 + g; B the same, weights = w (four
# weights 0); C y ~ 0 + x1 + x2 + g; D y ~ x1 + x2 + xa + g (xa = x1 + x2,
# aliased); E y ~ 0 + x1 + x2 + g, weights = w.
#
# Notes on what R does and what the references are:
# - car::vif refuses a model with aliased coefficients; flinkml gives NULL for
#   the aliased feature and, for the others, the VIF of the model without it:
#   the reference for D is car::vif of lm(y ~ x1 + x2 + g), NA for xa.
#   Without intercept car warns ("vifs may not be sensible") and computes
#   from the uncentred covariance: that is the reference for C and E.
# - influence.measures drops zero-weight rows (B, E): their rows are absent
#   here and flinkml gives NULL.
# - bptest, White: unweighted fits A, C, D; weighted fits B and E as lmtest
#   0.9-40 tests a weighted lm (sigma^2 = sum w e^2 / n, the auxiliary
#   regression weighted, the studentised statistic n sum w fv^2 / sum (e^2 -
#   sigma^2)^2 with an unweighted denominator).  lmtest keeps the rows of
#   weight 0 in that denominator (lm.wfit gives them residuals); flinkml
#   leaves them out, as the fit does: the references bw_*, bw0_*, whitew_*
#   are of the fits without those four rows (B2, E2), and bwR_B records what
#   lmtest gives with them (not tested: a different statistic).
#   White = bptest with the regressors, their squares and cross products.
# - dwtest: exact = FALSE rows (dw_*, dwx1_*: the normal approximation lmtest
#   uses for n >= 100); dwexact_* rows: dwtest's default for these n < 100
#   rows, the exact p value from Farebrother's pan with its default 15
#   iterations (accurate to about 1e-8 here, worse with few eigenvalues: see
#   make_dw_exact.py for the independent reference flinkml is tested
#   against); alternative "greater" (default).
suppressPackageStartupMessages({library(car); library(lmtest)})
stopifnot(getRversion() >= "4.2.0")

d <- read.csv("../stats/synth.csv")
num <- function(v) ifelse(is.na(v), "", sprintf("%.17g", v))

fits <- list(
  A = lm(y ~ x1 + x2 + g, data = d),
  B = lm(y ~ x1 + x2 + g, data = d, weights = w),
  C = lm(y ~ 0 + x1 + x2 + g, data = d),
  D = lm(y ~ x1 + x2 + xa + g, data = d),
  E = lm(y ~ 0 + x1 + x2 + g, data = d, weights = w)
)

# --- VIF ------------------------------------------------------------------------
rows <- list()
for (f in c("A", "B", "C", "E")) {
  v <- suppressWarnings(vif(fits[[f]]))
  for (nm in c("x1", "x2", "g"))
    rows[[length(rows) + 1]] <- data.frame(fit = f, term = nm, vif = num(v[[nm]]))
}
v <- vif(fits$A)
for (nm in c("x1", "x2", "xa", "g"))
  rows[[length(rows) + 1]] <- data.frame(fit = "D", term = nm,
                                         vif = num(if (nm == "xa") NA else v[[nm]]))
write.csv(do.call(rbind, rows), "ref_vif.csv", row.names = FALSE, quote = FALSE)

# --- anova(small, big) ------------------------------------------------------------
cases <- list(
  A_x1x2   = list(lm(y ~ x1 + x2, data = d), fits$A),
  A_x1     = list(lm(y ~ x1, data = d), fits$A),
  B_x1x2   = list(lm(y ~ x1 + x2, data = d, weights = w), fits$B),
  C_x1x2   = list(lm(y ~ 0 + x1 + x2, data = d), fits$C),
  C0_A     = list(lm(y ~ 0 + x1 + x2, data = d), fits$A),
  D_x1x2   = list(lm(y ~ x1 + x2, data = d), fits$D),
  A_A      = list(fits$A, fits$A)
)
rows <- list()
for (cs in names(cases)) {
  a <- anova(cases[[cs]][[1]], cases[[cs]][[2]])
  rows[[length(rows) + 1]] <- data.frame(
    case = cs, res_df_small = num(a$Res.Df[1]), rss_small = num(a$RSS[1]),
    res_df = num(a$Res.Df[2]), rss = num(a$RSS[2]), df = num(a$Df[2]),
    sum_sq = num(a$"Sum of Sq"[2]), f = num(a$F[2]), p_value = num(a$"Pr(>F)"[2]))
}
write.csv(do.call(rbind, rows), "ref_anova.csv", row.names = FALSE, quote = FALSE)

# --- influence ----------------------------------------------------------------------
rows <- list()
for (f in names(fits)) {
  fit <- fits[[f]]
  im <- influence.measures(fit)$infmat
  ids <- d$id[as.integer(rownames(im))]
  hat <- im[, "hat"]
  rows[[length(rows) + 1]] <- data.frame(
    fit = f, id = ids, hat = num(hat),
    rstandard = num(rstandard(fit)[rownames(im)]),
    rstudent = num(rstudent(fit)[rownames(im)]),
    cooks = num(im[, "cook.d"]), dffits = num(im[, "dffit"]), covratio = num(im[, "cov.r"]))
}
write.csv(do.call(rbind, rows), "ref_influence.csv", row.names = FALSE, quote = FALSE)

# --- tests -------------------------------------------------------------------------
rows <- list()
add <- function(cs, h) rows[[length(rows) + 1]] <<- data.frame(
  case = cs, statistic = num(unname(h$statistic)), df = num(if (is.null(h$parameter)) NA else unname(h$parameter)),
  p_value = num(h$p.value))
for (f in c("A", "C", "D")) {
  add(paste0("bp_", f), bptest(fits[[f]]))
  add(paste0("bp0_", f), bptest(fits[[f]], studentize = FALSE))
}
white_A <- ~ x1 + x2 + g + I(x1^2) + I(x2^2) + I(g^2) + I(x1 * x2) + I(x1 * g) + I(x2 * g)
add("white_A", bptest(fits$A, white_A, data = d))
white_C <- ~ 0 + x1 + x2 + g + I(x1^2) + I(x2^2) + I(g^2) + I(x1 * x2) + I(x1 * g) + I(x2 * g)
add("white_C", bptest(fits$C, white_C, data = d))
for (f in c("A", "C", "D")) {
  add(paste0("dw_", f), dwtest(fits[[f]], exact = FALSE))
  add(paste0("dwx1_", f), dwtest(fits[[f]], order.by = d$x1, exact = FALSE))
}
# weighted fits without the zero-weight rows
d2 <- d[d$w > 0, ]
B2 <- lm(y ~ x1 + x2 + g, data = d2, weights = w)
E2 <- lm(y ~ 0 + x1 + x2 + g, data = d2, weights = w)
add("bw_B", bptest(B2))
add("bw0_B", bptest(B2, studentize = FALSE))
add("bw_E", bptest(E2))
add("bw0_E", bptest(E2, studentize = FALSE))
add("whitew_B", bptest(B2, white_A, data = d2))
add("whitew0_B", bptest(B2, white_A, data = d2, studentize = FALSE))
add("bwR_B", bptest(fits$B))
# too few rows: 3 rows for y ~ x1 + x2 (every residual 0: NaN), 4 rows (one residual df)
add("bp3", bptest(lm(y ~ x1 + x2, data = d[1:3, ])))
add("bp4", bptest(lm(y ~ x1 + x2, data = d[1:4, ])))
add("bp04", bptest(lm(y ~ x1 + x2, data = d[1:4, ]), studentize = FALSE))
# White on the aliased fit D: the aliased auxiliary columns lower df (as A's)
white_D <- ~ x1 + x2 + xa + g + I(x1^2) + I(x2^2) + I(xa^2) + I(g^2) + I(x1 * x2) + I(x1 * xa) +
  I(x1 * g) + I(x2 * xa) + I(x2 * g) + I(xa * g)
add("white_D", bptest(fits$D, white_D, data = d))
# dwtest's default (exact, pan) for n < 100
add("dwexact_A", dwtest(fits$A))
add("dwexactx1_A", dwtest(fits$A, order.by = d$x1))
add("dwexact_C", dwtest(fits$C))
add("dwexactx1_C", dwtest(fits$C, order.by = d$x1))
add("dwexact4", dwtest(lm(y ~ x1, data = d[1:4, ])))
add("dwexact5", dwtest(lm(y ~ x1, data = d[1:5, ])))
add("dwexact12_C", dwtest(lm(y ~ 0 + x1 + x2, data = d[1:12, ])))
write.csv(do.call(rbind, rows), "ref_tests.csv", row.names = FALSE, quote = FALSE)
