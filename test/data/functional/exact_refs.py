#!/usr/bin/env python3
"""Exact least-squares references for the functional regression tests.
Pure stdlib: fractions.Fraction.

  sql/aggregates.sql  data set "w": exact weighted / unweighted solutions,
                      with and without intercept; ranks of ag_exact (also
                      per group)
  sql/solver.sql      rank and pivot columns of the "wide" design (also
                      used in sql/types.sql); the near-collinearity ratio
                      of x3n that the tolerance tests are placed around

Every input below is an exactly representable binary fraction, so the
float8 values the tests store are these very rationals; the printed
references are the exact solutions rounded to 17 significant digits.
Run:  python3 test/data/functional/exact_refs.py > test/data/functional/exact_refs.out
"""
from fractions import Fraction as F

# ---- data set "w": 12 rows, two features, noisy, with weights ----------
E = ['0.5', '-1', '2', '0', '-1.5', '1', '0.25', '-0.75', '1.5', '-2', '0.5', '-0.5']
W = ['1', '2', '0.5', '3', '1', '0.25', '2', '1', '1.5', '0.5', '4', '1']
ROWS = []
for i in range(1, 13):
    x1 = F(i)
    x2 = F((3 * i * i) % 7)
    y = 1 + 2 * x1 + 3 * x2 + F(E[i - 1])
    ROWS.append((i, y, x1, x2, F(W[i - 1])))


def solve(A, b):
    """Gauss-Jordan elimination in exact arithmetic (A nonsingular)."""
    n = len(A)
    M = [list(r) + [v] for r, v in zip(A, b)]
    for i in range(n):
        p = next(k for k in range(i, n) if M[k][i] != 0)
        M[i], M[p] = M[p], M[i]
        for k in range(n):
            if k != i and M[k][i] != 0:
                f = M[k][i] / M[i][i]
                M[k] = [a - f * c for a, c in zip(M[k], M[i])]
    return [M[i][n] / M[i][i] for i in range(n)]


def wls(rows, intercept, weighted):
    """Minimise sum w (y - X b)^2: normal equations X'WX b = X'Wy."""
    X = [([F(1)] if intercept else []) + [r[2], r[3]] for r in rows]
    y = [r[1] for r in rows]
    w = [r[4] if weighted else F(1) for r in rows]
    k = len(X[0])
    A = [[sum(w[n] * X[n][i] * X[n][j] for n in range(len(X))) for j in range(k)] for i in range(k)]
    b = [sum(w[n] * X[n][i] * y[n] for n in range(len(X))) for i in range(k)]
    return solve(A, b)


def show(name, coef):
    print(name, '{' + ','.join('%.17g' % float(c) for c in coef) + '}',
          '  exact:', ', '.join(str(c) for c in coef))


print('-- data set w (id, y, x1, x2, w) as SQL VALUES:')
print(',\n'.join('(%d, %s, %s, %s, %s)' % (i, float(y), float(a), float(b), float(w))
                 for i, y, a, b, w in ROWS))
show('w_intercept_weighted  ', wls(ROWS, True, True))
show('w_intercept_unweighted', wls(ROWS, True, False))
show('w_noint_unweighted    ', wls(ROWS, False, False))
show('w_noint_weighted      ', wls(ROWS, False, True))


# ---- rank checks of the exact designs used by the tests ----------------
def rank_pivots(rows):
    """Rank and pivot columns in natural order (R's lm keeps the earliest)."""
    M = [list(r) for r in rows]
    r, piv = 0, []
    for c in range(len(M[0])):
        p = next((k for k in range(r, len(M)) if M[k][c] != 0), None)
        if p is None:
            continue
        M[r], M[p] = M[p], M[r]
        for k in range(len(M)):
            if k != r and M[k][c] != 0:
                f = M[k][c] / M[r][c]
                M[k] = [a - f * b for a, b in zip(M[k], M[r])]
        piv.append(c)
        r += 1
    return r, piv


# sql/aggregates.sql ag_exact: x1 = (7 id) % 11 - 5, x2 = id^2 % 13,
# x3 = (5 id % 9) / 2, id = 1..40; with an intercept.
EX = [[F(1), F((7 * i) % 11 - 5), F((i * i) % 13), F((5 * i) % 9, 2)] for i in range(1, 41)]
print('ag_exact [1,x1,x2,x3] rank, pivots:', rank_pivots(EX))
# and per group g = id % 4 (each group's design must be full rank too)
for g in range(4):
    print('ag_exact group', g, 'rank:', rank_pivots([r for i, r in enumerate(EX, 1) if i % 4 == g])[0])

# sql/types.sql "wide": feature j = j*id/7 + ((id*j) % 7)/3, id 1..60, j 1..30.
WIDE = [[F(1)] + [F(j * i, 7) + F((i * j) % 7, 3) for j in range(1, 31)] for i in range(1, 61)]
print('types wide rank, pivots (0 = intercept):', rank_pivots(WIDE))

# sql/solver.sql sv: id = 1..30, x1 = (7 id) % 11 - 5, x2 = id^2 % 13,
# x3n = x1 + x2 + ((id % 3) - 1) * 2^-20 (nearly collinear).  The aliasing
# criterion (lr_solve.h): the part of x3n that [1, x1, x2] does not explain
# has squared norm below tol times the centred squared norm of x3n.
def resid_ratio(cols, target):
    """|| target - proj_{span cols} target ||^2 / || target - mean ||^2, exactly."""
    k = len(cols)
    A = [[sum(a * b for a, b in zip(cols[i], cols[j])) for j in range(k)] for i in range(k)]
    b = [sum(a * t for a, t in zip(cols[i], target)) for i in range(k)]
    beta = solve(A, b)
    res = [t - sum(beta[i] * cols[i][n] for i in range(k)) for n, t in enumerate(target)]
    m = sum(target) / len(target)
    return sum(r * r for r in res) / sum((t - m) ** 2 for t in target)


ids = range(1, 31)
one = [F(1) for i in ids]
sx1 = [F((7 * i) % 11 - 5) for i in ids]
sx2 = [F((i * i) % 13) for i in ids]
sx3n = [a + b + F((i % 3) - 1, 2 ** 20) for a, b, i in zip(sx1, sx2, ids)]
r = resid_ratio([one, sx1, sx2], sx3n)
print('solver sv: x3n unexplained/centred squared norm = %.6g' % float(r))
print('solver sv [1,x1,x2] rank:', rank_pivots(list(zip(one, sx1, sx2)))[0])
