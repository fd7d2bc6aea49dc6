#!/usr/bin/env python3
"""gen_diag_refs.py: exact references for test_diag.c (the diagnostics of
src/core/lr_diag.c), in rational arithmetic (fractions), square roots to
40 digits (decimal).  Standard-library Python only.

    cd test/core && python3 gen_diag_refs.py > diag_refs.h

Data: eight rows of small dyadic numbers (exact in float8), weights w; the
unweighted fits use w = 1.  Figures: leverage x~'(X'WX)^-1 x~ and the fit at
three points, HC0..HC3 standard errors (weighted: meat sum omega (w e)^2 x x',
leverage w x'Bx), R's influence measures per row (weighted residual
sqrt(w) e), VIF, and for the unweighted fit the Breusch-Pagan statistics and
the Durbin-Watson statistic."""
from decimal import Decimal, getcontext
from fractions import Fraction as F

getcontext().prec = 40

ROWS = [  # x1, x2, y, w
    (1, 2, 3.5, 1), (2, 1, 4.25, 2), (3, 5, 8.0, 1), (4, 3, 7.5, 0.5),
    (5, 8, 13.0, 1), (6, 4, 9.75, 3), (7, 9, 15.5, 1), (8.5, 2, 10.0, 1),
]
POINTS = [(1, 2), (8.5, 9), (40, -30)]


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


def quad(B, x):
    return sum(x[i] * B[i][j] * x[j] for i in range(len(x)) for j in range(len(x)))


def dsqrt(q):
    return (Decimal(q.numerator) / Decimal(q.denominator)).sqrt()


def d17(v):
    if isinstance(v, F):
        v = Decimal(v.numerator) / Decimal(v.denominator)
    return format(v, '.25e')


def fit(icpt, weighted):
    X = [([F(1)] if icpt else []) + [F(r[0]), F(r[1])] for r in ROWS]
    y = [F(r[2]) for r in ROWS]
    w = [F(r[3]) if weighted else F(1) for r in ROWS]
    n, k = len(X), len(X[0])
    A = [[sum(w[t] * X[t][i] * X[t][j] for t in range(n)) for j in range(k)] for i in range(k)]
    B = inverse(A)
    Xty = [sum(w[t] * X[t][i] * y[t] for t in range(n)) for i in range(k)]
    b = [sum(B[i][j] * Xty[j] for j in range(k)) for i in range(k)]
    e = [y[t] - sum(X[t][j] * b[j] for j in range(k)) for t in range(n)]
    return X, y, w, B, b, e


def emit(name, icpt, weighted):
    X, y, w, B, b, e = fit(icpt, weighted)
    n, k = len(X), len(X[0])
    out = []
    h = [w[t] * quad(B, X[t]) for t in range(n)]
    for q, (p1, p2) in enumerate(POINTS):
        x = ([F(1)] if icpt else []) + [F(p1), F(p2)]
        out.append(('lev', q, quad(B, x)))
        out.append(('fit', q, sum(bb * xx for bb, xx in zip(b, x))))
    for typ in range(4):
        M = [[F(0)] * k for _ in range(k)]
        for t in range(n):
            om = [F(1), F(1), 1 / (1 - h[t]), 1 / (1 - h[t]) ** 2][typ]
            r2 = om * (w[t] * e[t]) ** 2
            for i in range(k):
                for j in range(k):
                    M[i][j] += r2 * X[t][i] * X[t][j]
        for i in range(k):
            v = sum(B[i][a] * M[a][c] * B[c][i] for a in range(k) for c in range(k))
            if typ == 1:
                v = v * n / (n - k)
            out.append(('hc%d' % typ, i, dsqrt(v)))
    rss = sum(w[t] * e[t] ** 2 for t in range(n))
    df = n - k
    s2 = rss / df
    for t in range(n):
        r = e[t] * 1
        rw2 = w[t] * r * r
        omh = 1 - h[t]
        si2 = (rss - rw2 / omh) / (df - 1)
        rw = dsqrt(w[t]) * (Decimal(r.numerator) / Decimal(r.denominator))
        out.append(('hat', t, h[t]))
        out.append(('rstandard', t, rw / (dsqrt(s2) * dsqrt(omh))))
        rst = rw / (dsqrt(si2) * dsqrt(omh))
        out.append(('rstudent', t, rst))
        out.append(('cooks', t, rw2 * h[t] / (k * s2 * omh * omh)))
        out.append(('dffits', t, rst * dsqrt(h[t] / omh)))
        out.append(('covratio', t, (si2 / s2) ** k / omh))
    # VIF over the two features
    fx = [[F(r[0]), F(r[1])] for r in ROWS]
    W = sum(w)
    if icpt:
        mu = [sum(w[t] * fx[t][j] for t in range(n)) / W for j in range(2)]
        A = [[sum(w[t] * (fx[t][i] - mu[i]) * (fx[t][j] - mu[j]) for t in range(n)) for j in range(2)] for i in range(2)]
    else:
        A = [[sum(w[t] * fx[t][i] * fx[t][j] for t in range(n)) for j in range(2)] for i in range(2)]
    Ai = inverse(A)
    for j in range(2):
        out.append(('vif', j, A[j][j] * Ai[j][j]))
    if not weighted:
        u = [v * v for v in e]
        sig2 = sum(u) / n
        wv = [v - sig2 for v in u]
        Bz = B          # Z = X
        Ztw = [sum(X[t][i] * wv[t] for t in range(n)) for i in range(k)]
        fv2 = sum(Ztw[i] * Bz[i][j] * Ztw[j] for i in range(k) for j in range(k))
        out.append(('bp_stud', 0, n * fv2 / sum(v * v for v in wv)))
        out.append(('bp_orig', 0, fv2 / (2 * sig2 * sig2)))
        out.append(('dw', 0, sum((e[t] - e[t - 1]) ** 2 for t in range(1, n)) / sum(u)))
    print('static const DiagRef %s[] = {' % name)
    for fig, i, v in out:
        print('\t{"%s", %d, %s},' % (fig, i, d17(v)))
    print('\t{NULL, 0, 0}\n};')


print('/* diag_refs.h: generated by gen_diag_refs.py (exact rational references); do not edit. */')
print('typedef struct DiagRef { const char *fig; int i; double v; } DiagRef;')
print('static const double DIAG_ROWS[][4] = {')
for r in ROWS:
    print('\t{%r, %r, %r, %r},' % tuple(float(v) for v in r))
print('};')
print('static const double DIAG_POINTS[][2] = {')
for p in POINTS:
    print('\t{%r, %r},' % tuple(float(v) for v in p))
print('};')
emit('DIAG_W_ICPT', True, True)
emit('DIAG_ICPT', True, False)
emit('DIAG_NOINT', False, False)
emit('DIAG_W_NOINT', False, True)
