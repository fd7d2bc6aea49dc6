#!/usr/bin/env Rscript
# make_reference.R: the R reference values for sql/categorical.sql
# (categorical registry features), computed from the CSV data in this folder.
#
#     cd test/data/categorical && Rscript make_reference.R     (R 4.2, base only)
#
# Data:
#   sales.csv      28 rows (id, region text, promo boolean, age, price): the
#                  table when the model is created.  Row 7 has no region and
#                  row 15 no promo (skipped); row 11 is the only row of level
#                  "mid" and has no price, so "mid" is not a level of the fit
#                  (lm's model.frame drops unused levels; flinkml learns the
#                  levels from the rows the fit uses).
#   batch.csv      12 more rows, inserted through the model's triggers
#   newpoints.csv  points to predict at (raw columns)
#
# The fits, price ~ age + region + promo with R's treatment contrasts (first
# level the reference, dropped).  Levels are sorted in the "C" collation
# (byte order: "North" < "east" < "south" < "west"), as flinkml sorts them;
# R's default locale would sort "east" first.  A logical column's levels are
# FALSE < TRUE, flinkml's "false" < "true".
#   A  the rows of sales.csv
#   B  sales.csv + batch.csv, then rows 2, 5, 9 deleted, row 12's region set
#      to "west" and row 20's age to 61 (what sql/categorical.sql does
#      through the triggers)
#   C  the rows of sales.csv without intercept, price ~ 0 + age + region +
#      promo: R codes the first factor in full (a column per level, region
#      North included) and the others with treatment contrasts
#
# Writes (every number with 17 significant digits):
#   ref_coef.csv     fit, term (flinkml's name: region=east, promo=true),
#                    estimate, std_error  (summary(lm)$coefficients)
#   ref_stats.csv    fit, n, df, sigma, r_squared
#   ref_predict.csv  fit, point, the prediction of fits B and C at newpoints.csv
invisible(Sys.setlocale("LC_COLLATE", "C"))

read <- function(f) {
	d <- read.csv(f, colClasses = c("integer", "character", "character", "numeric", "numeric")[
		seq_len(ncol(read.csv(f, nrows = 1)))], na.strings = "")
	d$promo <- as.logical(d$promo)
	d
}
sales <- read("sales.csv")
batch <- read("batch.csv")
newp <- read.csv("newpoints.csv", colClasses = c("integer", "character", "character", "numeric"))
newp$promo <- as.logical(newp$promo)

b <- rbind(sales, batch)
b <- b[!(b$id %in% c(2, 5, 9)), ]
b$region[b$id == 12] <- "west"
b$age[b$id == 20] <- 61

# levels as flinkml learns them: sorted (C collation) distinct values of the
# complete rows
prep <- function(d) {
	d <- d[complete.cases(d[, c("price", "age", "region", "promo")]), ]
	d$region <- factor(d$region, levels = sort(unique(d$region)))
	d$promo <- factor(d$promo, levels = c(FALSE, TRUE))
	d
}
A <- prep(sales)
stopifnot(identical(levels(A$region), c("North", "east", "south", "west")))
fitA <- lm(price ~ age + region + promo, data = A)
B <- prep(b)
fitB <- lm(price ~ age + region + promo, data = B)
fitC <- lm(price ~ 0 + age + region + promo, data = A)
stopifnot(identical(names(coef(fitC)), c("age", "regionNorth", "regioneast", "regionsouth", "regionwest", "promoTRUE")))

fl_names <- function(t) {
	t <- sub("^region", "region=", t)
	t <- sub("^promoTRUE$", "promo=true", t)
	t
}
g <- function(x) trimws(formatC(x, digits = 17, format = "g"))

coef_rows <- function(name, fit) {
	cf <- summary(fit)$coefficients
	data.frame(fit = name, term = fl_names(rownames(cf)), estimate = g(cf[, 1]), std_error = g(cf[, 2]))
}
write.csv(rbind(coef_rows("A", fitA), coef_rows("B", fitB), coef_rows("C", fitC)), "ref_coef.csv",
          row.names = FALSE, quote = TRUE)

stat_row <- function(name, fit) {
	s <- summary(fit)
	data.frame(fit = name, n = nobs(fit), df = fit$df.residual, sigma = g(s$sigma), r_squared = g(s$r.squared))
}
write.csv(rbind(stat_row("A", fitA), stat_row("B", fitB), stat_row("C", fitC)), "ref_stats.csv",
          row.names = FALSE, quote = TRUE)

nd <- newp
nd$region <- factor(nd$region, levels = levels(B$region))
nd$promo <- factor(nd$promo, levels = c(FALSE, TRUE))
write.csv(rbind(data.frame(fit = "B", point = newp$point, prediction = g(predict(fitB, newdata = nd))),
                data.frame(fit = "C", point = newp$point, prediction = g(predict(fitC, newdata = nd)))),
          "ref_predict.csv", row.names = FALSE, quote = TRUE)
