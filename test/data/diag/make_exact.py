#!/usr/bin/env python3
"""make_exact.py: exact references for the accuracy tests of sql/diagnostics.sql.

    cd test/data/diag && /usr/bin/python3 make_exact.py

Standard-library Python only (fractions, decimal).  For the eleven NIST StRD
linear-regression datasets (../nist/*.csv) and R's longley (RLongley.csv,
written from R's datasets::longley: Employed ~ GNP.deflator + GNP +
Unemployed + Armed.Forces + Population + Year) it forms the design of the
float8 data exactly as the tests load it (polynomial columns x^k rounded to
float8 by Python's float power, which is C's pow() as PostgreSQL's ^ is; the
test loads these very values from design.csv), and computes in exact
rational arithmetic, square roots at 40 digits:

  design.csv   dataset, row, y, x1..x10 (the float8 values, shortest repr)
  points.csv   dataset, pt, x1..x10: 1 = the first row, 2 = the data's edge
               (each column's maximum; for polynomials t = max x), 3 = far
               outside (2 max - min; for polynomials t = max + (max - min))
  exact.csv    dataset, figure, i, j, value (30 significant digits):
     vcov i j            sigma^2 (X'X)^-1
     hc0..hc3 i          sqrt(diag(sandwich::vcovHC(type))) (sandwich's
                         definitions: HC1 scaled n/(n-k))
     fit pt, se_fit pt   predict.lm(se.fit = TRUE): x~'b and sigma sqrt(h)
     pse pt              sigma sqrt(1 + h) (the prediction interval's scale)
     vif j               car::vif: A_jj (A^-1)_jj, A the centred cross
                         products (uncentred without intercept)
     hat, rstandard, rstudent, cooks, dffits, covratio  row: as R's
                         influence.measures
     anova_ss, anova_f   anova(small, big), small = big without its last
                         feature (datasets with at least two features)
     sigma               residual standard error
     bp_stud, bp_orig    lmtest::bptest(studentize = TRUE / FALSE) statistic,
                         Z = the model's own regressors
     white               bptest with Z = the regressors, their squares and
                         cross products formed in float8 (aliased columns
                         dropped: rank - 1 df); one-feature datasets only
                         (polynomial designs make the auxiliary columns
                         duplicates up to rounding, Longley's 28 auxiliary
                         columns exceed its 16 rows)
     white_df, bp_df     the degrees of freedom of those statistics
     dw                  lmtest::dwtest's statistic in row order
"""
import csv
import os
from decimal import Decimal, getcontext
from fractions import Fraction as F

getcontext().prec = 40
D = os.path.dirname(os.path.abspath(__file__))
NIST = os.path.join(D, '..', 'nist')

# name, file, kind, degree (poly) ; kind: linear / noint / poly / multi
SETS = [
    ('Norris', 'Norris', 'poly', 1), ('Pontius', 'Pontius', 'poly', 2),
    ('NoInt1', 'NoInt1', 'noint', 1), ('NoInt2', 'NoInt2', 'noint', 1),
    ('Filip', 'Filip', 'poly', 10), ('Longley', 'Longley', 'multi', 6),
    ('Wampler1', 'Wampler1', 'poly', 5), ('Wampler2', 'Wampler2', 'poly', 5),
    ('Wampler3', 'Wampler3', 'poly', 5), ('Wampler4', 'Wampler4', 'poly', 5),
    ('Wampler5', 'Wampler5', 'poly', 5), ('RLongley', None, 'multi', 6),
]


def read_rows(name, file):
    path = os.path.join(NIST, file + '.csv') if file else os.path.join(D, name + '.csv')
    rows = list(csv.reader(open(path)))[1:]
    return [[float(v) for v in r] for r in rows]


def features(kind, deg, raw):
    """float8 feature values of one raw row [y, x...] (without y)."""
    if kind in ('poly', 'noint'):
        t = raw[1]
        return [t ** k for k in range(1, deg + 1)]
    return raw[1:]


def point_features(kind, deg, t_or_row):
    if kind in ('poly', 'noint'):
        return [t_or_row ** k for k in range(1, deg + 1)]
    return list(t_or_row)


def solve(A, b):
    n = len(A)
    M = [row[:] + [bb] for row, bb in zip(A, b)]
    for i in range(n):
        p = next(k for k in range(i, n) if M[k][i] != 0)
        M[i], M[p] = M[p], M[i]
        for k in range(n):
            if k != i and M[k][i] != 0:
                f = M[k][i] / M[i][i]
                M[k] = [a - f * c for a, c in zip(M[k], M[i])]
    return [M[i][n] / M[i][i] for i in range(n)]


def inverse(A):
    n = len(A)
    M = [row[:] + [F(int(i == j)) for j in range(n)] for i, row in enumerate(A)]
    for i in range(n):
        p = next(k for k in range(i, n) if M[k][i] != 0)
        M[i], M[p] = M[p], M[i]
        piv = M[i][i]
        M[i] = [v / piv for v in M[i]]
        for k in range(n):
            if k != i and M[k][i] != 0:
                f = M[k][i]
                M[k] = [a - f * c for a, c in zip(M[k], M[i])]
    return [row[n:] for row in M]


def rank_of(A):
    """rank of a rational matrix (list of rows)"""
    M = [r[:] for r in A]
    rk, cols = 0, len(M[0]) if M else 0
    for c in range(cols):
        p = next((k for k in range(rk, len(M)) if M[k][c] != 0), None)
        if p is None:
            continue
        M[rk], M[p] = M[p], M[rk]
        for k in range(len(M)):
            if k != rk and M[k][c] != 0:
                f = M[k][c] / M[rk][c]
                M[k] = [a - f * b for a, b in zip(M[k], M[rk])]
        rk += 1
    return rk


def dec(q):
    return Decimal(q.numerator) / Decimal(q.denominator)


def dsqrt(q):
    return dec(q).sqrt() if q > 0 else Decimal(0)


def g30(v):
    if isinstance(v, F):
        v = dec(v)
    return format(v, '.30g')


def ols(X, y):
    n, p = len(X), len(X[0])
    XtX = [[sum(X[k][i] * X[k][j] for k in range(n)) for j in range(p)] for i in range(p)]
    Xty = [sum(X[k][i] * y[k] for k in range(n)) for i in range(p)]
    Bi = inverse(XtX)
    b = [sum(Bi[i][j] * Xty[j] for j in range(p)) for i in range(p)]
    e = [y[k] - sum(X[k][j] * b[j] for j in range(p)) for k in range(n)]
    return XtX, Bi, b, e


def quad(Bi, x):
    return sum(x[i] * sum(Bi[i][j] * x[j] for j in range(len(x))) for i in range(len(x)))


def aux_stats(Z, u, icpt):
    """lmtest::bptest pieces for regressing u on Z: (sum fv^2 of w = u - mean u, rank)."""
    n = len(u)
    sigma2 = sum(u) / n
    w = [v - sigma2 for v in u]
    # drop aliased columns of Z (in order), as lm.fit's pivoting would for exact collinearity
    keep = []
    for c in range(len(Z[0])):
        cols = keep + [c]
        if rank_of([[Z[k][cc] for cc in cols] for k in range(n)]) == len(cols):
            keep.append(c)
    Zk = [[Z[k][c] for c in keep] for k in range(n)]
    _, _, _, res = ols(Zk, w)
    fv2 = sum((w[k] - res[k]) ** 2 for k in range(n))
    return fv2, sum(v * v for v in w), sigma2, len(keep)


def main():
    out = open(os.path.join(D, 'exact.csv'), 'w')
    out.write('dataset,figure,i,j,value\n')
    des = open(os.path.join(D, 'design.csv'), 'w')
    des.write('dataset,row,y,' + ','.join('x%d' % k for k in range(1, 11)) + '\n')
    pts = open(os.path.join(D, 'points.csv'), 'w')
    pts.write('dataset,pt,' + ','.join('x%d' % k for k in range(1, 11)) + '\n')

    def put(ds, fig, i, j, v):
        out.write('%s,%s,%s,%s,%s\n' % (ds, fig, i, j, g30(v)))

    for name, file, kind, deg in SETS:
        raw = read_rows(name, file)
        icpt = kind != 'noint'
        feats = [features(kind, deg, r) for r in raw]
        ys = [r[0] for r in raw]
        p = len(feats[0])
        for k, (yy, fx) in enumerate(zip(ys, feats)):
            des.write('%s,%d,%r,%s%s\n' % (name, k + 1, yy, ','.join(repr(v) for v in fx), ',' * (10 - p)))
        # points
        if kind in ('poly', 'noint'):
            ts = [r[1] for r in raw]
            lo, hi = min(ts), max(ts)
            plist = [feats[0], point_features(kind, deg, hi), point_features(kind, deg, hi + (hi - lo))]
        else:
            cols = list(zip(*feats))
            plist = [feats[0], [max(c) for c in cols], [2 * max(c) - min(c) for c in cols]]
        for q, pt in enumerate(plist):
            pts.write('%s,%d,%s%s\n' % (name, q + 1, ','.join(repr(v) for v in pt), ',' * (10 - p)))

        X = [([F(1)] if icpt else []) + [F(v) for v in fx] for fx in feats]
        y = [F(v) for v in ys]
        n, nt = len(X), len(X[0])
        XtX, Bi, b, e = ols(X, y)
        rss = sum(v * v for v in e)
        df = n - nt
        s2 = rss / df
        put(name, 'sigma', 0, 0, dsqrt(s2))
        for i in range(nt):
            put(name, 'coef', i + 1, 0, b[i])
            for j in range(nt):
                put(name, 'vcov', i + 1, j + 1, s2 * Bi[i][j])
        # sandwich
        h = [quad(Bi, x) for x in X]
        for typ in range(4):
            meat = [[F(0)] * nt for _ in range(nt)]
            for k in range(n):
                om = F(1)
                if typ == 2:
                    om = 1 / (1 - h[k])
                elif typ == 3:
                    om = 1 / (1 - h[k]) ** 2
                r2 = om * e[k] * e[k]
                for i in range(nt):
                    for j in range(nt):
                        meat[i][j] += r2 * X[k][i] * X[k][j]
            for i in range(nt):
                v = sum(Bi[i][a] * sum(meat[a][c] * Bi[c][i] for c in range(nt)) for a in range(nt))
                if typ == 1:
                    v = v * n / (n - nt)
                put(name, 'hc%d' % typ, i + 1, 0, dsqrt(v))
        # points
        for q, pt in enumerate(plist):
            x = ([F(1)] if icpt else []) + [F(v) for v in pt]
            hq = quad(Bi, x)
            put(name, 'fit', q + 1, 0, sum(bb * xx for bb, xx in zip(b, x)))
            put(name, 'se_fit', q + 1, 0, dsqrt(s2 * hq))
            put(name, 'pse', q + 1, 0, dsqrt(s2 * (1 + hq)))
        # VIF
        if p >= 2:
            fx = [[F(v) for v in r] for r in feats]
            if icpt:
                mu = [sum(r[j] for r in fx) / n for j in range(p)]
                A = [[sum((r[i] - mu[i]) * (r[j] - mu[j]) for r in fx) for j in range(p)] for i in range(p)]
            else:
                A = [[sum(r[i] * r[j] for r in fx) for j in range(p)] for i in range(p)]
            Ai = inverse(A)
            for j in range(p):
                put(name, 'vif', j + 1, 0, A[j][j] * Ai[j][j])
        if rss == 0:
            continue            # an exact fit (Wampler1): the rest is 0/0, NaN in R
        # influence
        pr = nt
        for k in range(n):
            hk = h[k]
            r = e[k]
            omh = 1 - hk
            si2 = (rss - r * r / omh) / (df - 1)
            put(name, 'hat', k + 1, 0, hk)
            put(name, 'rstandard', k + 1, 0, dec(r) / (dsqrt(s2) * dsqrt(omh)))
            rst = dec(r) / (dsqrt(si2) * dsqrt(omh))
            put(name, 'rstudent', k + 1, 0, rst)
            put(name, 'cooks', k + 1, 0, r * r * hk / (pr * s2 * omh * omh))
            put(name, 'dffits', k + 1, 0, rst * dsqrt(hk / omh))
            put(name, 'covratio', k + 1, 0, (si2 / s2) ** pr / omh)
        # anova: drop the last feature
        if p >= 2:
            Xs = [row[:-1] for row in X]
            _, _, _, es = ols(Xs, y)
            rss_s = sum(v * v for v in es)
            ss = rss_s - rss
            put(name, 'anova_ss', 0, 0, ss)
            put(name, 'anova_f', 0, 0, (ss / 1) / (rss / df))
        # Breusch-Pagan (Z = X) and White (Z = X, squares, cross products)
        u = [v * v for v in e]
        if nt >= 2:             # bptest needs two auxiliary regressors
            fv2, w2, sig2, rk = aux_stats(X, u, icpt)
            put(name, 'bp_stud', 0, 0, n * fv2 / w2)
            put(name, 'bp_orig', 0, 0, fv2 / (2 * sig2 * sig2))
            put(name, 'bp_df', 0, 0, F(rk - 1))
        if p == 1:
            # White: squares and cross products formed in float8, as the SQL does
            Zw = []
            for k in range(n):
                fx = feats[k]
                row = ([F(1)] if icpt else []) + [F(v) for v in fx]
                for i in range(p):
                    for j in range(i, p):
                        row.append(F(fx[i] * fx[j]))
                Zw.append(row)
            fv2, w2, sig2, rk = aux_stats(Zw, u, icpt)
            put(name, 'white', 0, 0, n * fv2 / w2)
            put(name, 'white_df', 0, 0, F(rk - 1))
        # Durbin-Watson in row order
        put(name, 'dw', 0, 0, sum((e[k] - e[k - 1]) ** 2 for k in range(1, n)) / rss)
    out.close()
    des.close()
    pts.close()


if __name__ == '__main__':
    main()
