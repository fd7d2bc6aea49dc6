#!/usr/bin/env python3
"""make_dw_exact.py: an independent reference for the exact Durbin-Watson p
value of sql/diagnostics.sql (lmtest::dwtest's default below 100 rows), in
high precision with mpmath (Debian's python3-mpmath), not R.

    cd test/data/diag && python3 make_dw_exact.py     # about a minute

For each case: the float8 data of ../stats/synth.csv (each decimal read as
the float8 PostgreSQL stores, then exact), rows in the given order; the
least-squares residuals e = M y, M = I - X (X'X)^-1 X'; the statistic
DW = sum (e_t - e_t-1)^2 / sum e_t^2; the eigenvalues of M A M (A the
differencing matrix) by mpmath's symmetric eigensolver; and
P(DW <= d) = P(sum (lambda_i - d) chi2_1 <= 0) by Imhof's integral,
    1/2 - (1/pi) int_0^inf sin(1/2 sum atan(nu_i u)) / (u prod (1 + nu_i^2 u^2)^(1/4)) du,
integrated by mpmath's tanh-sinh quadrature at 40 digits.  The eigenvalues
kept are the n - rank largest (the others vanish).  The p value is written
with 17 significant digits; two quadratures (tanh-sinh, Gauss-Legendre)
at two sets of breakpoints must agree to 1e-25 or the script stops (and,
with two eigenvalues, the closed form (2/pi) atan(sqrt(-nu_2/nu_1))).

Writes ref_dw_exact.csv: case, n, rank, statistic, p_value.
"""
import csv
import mpmath as mp

mp.mp.dps = 40

rows = list(csv.DictReader(open("../stats/synth.csv")))


def num(s):
    return mp.mpf(float(s))     # the float8 of the decimal, exactly


def design(rs, cols, icpt):
    return [([mp.mpf(1)] if icpt else []) + [num(r[c]) for c in cols] for r in rs]


def solve(A, b):
    return mp.lu_solve(A, b)


def case(name, rs, cols, icpt, order):
    rs = sorted(rs, key=lambda r: float(r[order]))
    X = mp.matrix(design(rs, cols, icpt))
    y = mp.matrix([num(r["y"]) for r in rs])
    n, k = X.rows, X.cols
    XtX = X.T * X
    beta = solve(XtX, X.T * y)
    e = y - X * beta
    dw = sum((e[t] - e[t - 1]) ** 2 for t in range(1, n)) / sum(e[t] ** 2 for t in range(n))
    H = X * mp.inverse(XtX) * X.T
    M = mp.eye(n) - H
    A = mp.zeros(n, n)
    for i in range(n):
        A[i, i] = 1 if i in (0, n - 1) else 2
        if i > 0:
            A[i, i - 1] = A[i - 1, i] = -1
    B = M * A * M
    B = (B + B.T) / 2
    ev = sorted(mp.eigsy(B, eigvals_only=True), reverse=True)[: n - k]
    ev = [v for v in ev if v > mp.mpf("1e-10")]
    nu = [v - dw for v in ev]

    def f(u):
        if u == 0:
            return sum(nu) / 2
        th = sum(mp.atan(v * u) for v in nu) / 2
        rho = mp.exp(sum(mp.log1p((v * u) ** 2) for v in nu) / 4)
        return mp.sin(th) / (u * rho)

    pts = [0, mp.mpf("0.25"), 1, 4, 16, 64, 256, 4096, 2 ** 20, mp.inf]
    pts2 = [0, mp.mpf("0.5"), 2, 8, 32, 128, 1024, 10 ** 5, 10 ** 7, mp.inf]
    i1 = mp.quad(f, pts, method="tanh-sinh", maxdegree=10)
    i2 = mp.quad(f, pts2, method="tanh-sinh", maxdegree=10)
    if abs(i1 - i2) > mp.mpf("1e-25"):
        raise SystemExit("%s: quadratures disagree by %s" % (name, mp.nstr(abs(i1 - i2), 3)))
    p = mp.mpf(1) / 2 - i1 / mp.pi
    if len(nu) == 2:
        # closed form: P(a X1 - b X2 <= 0) = (2/pi) atan(sqrt(b/a)), X1/X2 ~ F(1, 1)
        a, b = max(nu), -min(nu)
        if abs(p - 2 / mp.pi * mp.atan(mp.sqrt(b / a))) > mp.mpf("1e-25"):
            raise SystemExit("%s: Imhof disagrees with the closed form" % name)
    print(name, n, k, mp.nstr(dw, 17), mp.nstr(p, 17))
    return [name, n, k, mp.nstr(dw, 17, min_fixed=-1, max_fixed=0), mp.nstr(p, 17, min_fixed=-1, max_fixed=0)]


out = [
    case("dw_A", rows, ["x1", "x2", "g"], True, "id"),
    case("dwx1_A", rows, ["x1", "x2", "g"], True, "x1"),
    case("dw_C", rows, ["x1", "x2", "g"], False, "id"),
    case("dwx1_C", rows, ["x1", "x2", "g"], False, "x1"),
    case("dw4", rows[:4], ["x1"], True, "id"),
    case("dw5", rows[:5], ["x1"], True, "id"),
    case("dw12_C", rows[:12], ["x1", "x2"], False, "id"),
]
with open("ref_dw_exact.csv", "w", newline="") as fh:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(["case", "n", "rank", "statistic", "p_value"])
    w.writerows(out)
