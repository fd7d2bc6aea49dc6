#!/usr/bin/env Rscript
# make_wide_reference.R: data and R reference values for the influence
# measures of models with more than 16 features (sql/diagnostics.sql, "wide
# models"): the leverage and the residual take other code paths there than
# for the small models of make_reference.R.
#
#     cd test/data/diag && Rscript make_wide_reference.R
#     (R 4.2)
#
# Writes (every number with 17 significant digits, NA as an empty field):
#   wide.csv                 id, y, x1 .. x20 (4 decimals, so the CSV is the data)
#   ref_influence_wide.csv   fit, id, hat, rstandard, rstudent, cooks, dffits, covratio
#
# Fits: W y ~ x1 + .. + x20; Wa the same with x20 replaced by 2 x1 (aliased:
# R's coefficient NA, flinkml's aliased term); Wn y ~ 0 + x1 + .. + x20.
set.seed(20261203)
n <- 60
p <- 20
X <- sapply(1:p, function(j) round(rnorm(n, mean = j, sd = 1 + j / 10), 4))
colnames(X) <- paste0("x", 1:p)
y <- round(1 + X %*% ((-1)^(1:p) * 0.3) + rnorm(n), 4)
d <- data.frame(id = 1:n, y = as.vector(y), X)
write.csv(d, "wide.csv", row.names = FALSE, quote = FALSE)
d <- read.csv("wide.csv")

num <- function(v) ifelse(is.na(v), "", sprintf("%.17g", v))
xs <- paste0("x", 1:p)
fits <- list(
  W = lm(reformulate(xs, "y"), data = d),
  Wa = lm(reformulate(c(xs[1:(p - 1)], "I(2 * x1)"), "y"), data = d),
  Wn = lm(reformulate(c("0", xs), "y"), data = d))
stopifnot(is.na(coef(fits$Wa)["I(2 * x1)"]))
rows <- list()
for (f in names(fits)) {
  fit <- fits[[f]]
  im <- influence.measures(fit)$infmat
  rows[[length(rows) + 1]] <- data.frame(
    fit = f, id = d$id[as.integer(rownames(im))], hat = num(im[, "hat"]),
    rstandard = num(rstandard(fit)[rownames(im)]),
    rstudent = num(rstudent(fit)[rownames(im)]),
    cooks = num(im[, "cook.d"]), dffits = num(im[, "dffit"]), covratio = num(im[, "cov.r"]))
}
write.csv(do.call(rbind, rows), "ref_influence_wide.csv", row.names = FALSE, quote = FALSE)
