#!/usr/bin/python3
"""make_reference.py: the Python references of test/data/stats/, and an
independent high-precision check of the R references.

    cd test/data/stats && /usr/bin/python3 make_reference.py

(Debian's python3 with statsmodels/scipy/mpmath; run make_reference.R first.)

Every computation here works on the exact binary value of each float8 the
database reads from the CSV (Fraction(float(token))), in exact rational
arithmetic; square roots, logarithms and the Student t / F distribution
functions (regularised incomplete beta) in mpmath at 50 digits.

1. Checks every number of ref_summary.csv, ref_stats.csv, ref_vcov.csv,
   ref_predict.csv, ref_hc.csv and ref_score.csv (written by R) against the
   exact/50-digit values of the same quantities, and HC0..HC3 of the
   unweighted fits against statsmodels too.  Prints the largest relative
   difference; stops if it exceeds 1e-11 (then the R values are not good to
   the 1e-10 the tests use).
2. Writes
   ref_split.csv   linreg_in_train(key, fraction, seed) for bigint and text
                   keys: SplitMix64 / FNV-1a as in src/core/lr_split.h,
                   reimplemented here
   ref_split_count.csv  how many of the keys 1..10000 are in train
   ref_ridge.csv   ridge coefficients (closed form, exact rationals):
                   (Cxx + lambda diag(Cxx)) beta = Cxy, intercept
                   mean_y - mean_x.beta; Cxx the (weighted) centred
                   cross-products, uncentred without intercept
   ref_cv.csv      cross-validated MSE per lambda of cv.csv, folds by
                   lr_key_fold(id, 0, 5), reimplemented here
   ref_cv_model.csv  the chosen lambda and the ridge fit on all rows at it
   ref_nist_anova.csv  the NIST ANOVA ceilings: the LRE of the exact
                   least-squares ANOVA (regression SS = TSS - RSS, residual
                   SS, F) of the float8-rounded NIST data (polynomial
                   columns in float8, as sql/nist.sql computes them)
                   against the certified values (reg_ss_f8: the regression
                   SS as TSS - RSS of the float8 roundings of the exact TSS
                   and RSS, the most the float8 fields tss and rss of
                   linreg_fit_stats can express); and, to re-verify
                   test/data/nist/CEILING.md, the same for coefficient SDs,
                   residual SD and R^2.
"""
import csv, math, os, sys
from fractions import Fraction as Fr
import mpmath

mpmath.mp.dps = 50
D = os.path.dirname(os.path.abspath(__file__))
NIST = os.path.join(D, '..', 'nist')


def f8(tok):
    """Exact value of the float8 that PostgreSQL's float8in reads from tok."""
    return Fr(float(tok))


def mp(q):
    return mpmath.mpf(q.numerator) / q.denominator


def g17(v):
    """17 significant digits (round-trips a float8); '' for None."""
    return '' if v is None else repr(float(v)) if isinstance(v, float) else '%.17g' % float(v)


def read(name, folder=D):
    with open(os.path.join(folder, name)) as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------
# Exact linear algebra
# ---------------------------------------------------------------------------
def solve(A, b):
    n = len(A)
    M = [list(r) + [bb] for r, bb in zip(A, b)]
    for i in range(n):
        p = next(k for k in range(i, n) if M[k][i] != 0)
        M[i], M[p] = M[p], M[i]
        piv = M[i][i]
        M[i] = [v / piv for v in M[i]]
        for k in range(n):
            if k != i and M[k][i] != 0:
                f = M[k][i]
                M[k] = [a - f * c for a, c in zip(M[k], M[i])]
    return [M[i][n] for i in range(n)]


def inverse(A):
    n = len(A)
    cols = [solve(A, [Fr(int(i == j)) for i in range(n)]) for j in range(n)]
    return [[cols[j][i] for j in range(n)] for i in range(n)]


def ols(X, y, w):
    """Exact weighted least squares over the rows with w > 0."""
    rows = [(xr, yy, ww) for xr, yy, ww in zip(X, y, w) if ww > 0]
    k = len(X[0])
    A = [[sum(ww * xr[i] * xr[j] for xr, _, ww in rows) for j in range(k)] for i in range(k)]
    b = [sum(ww * xr[i] * yy for xr, yy, ww in rows) for i in range(k)]
    beta = solve(A, b)
    Ainv = inverse(A)
    res = [yy - sum(c * v for c, v in zip(beta, xr)) for xr, yy, _ in rows]
    rss = sum(ww * e * e for (_, _, ww), e in zip(rows, res))
    return dict(rows=rows, beta=beta, Ainv=Ainv, res=res, rss=rss, n=len(rows), k=k)


# ---------------------------------------------------------------------------
# Distribution functions at 50 digits
# ---------------------------------------------------------------------------
def t_two_sided(t, df):
    t, df = mpmath.mpf(t), mpmath.mpf(df)
    return mpmath.betainc(df / 2, mpmath.mpf(1) / 2, 0, df / (df + t * t), regularized=True)


def t_quantile(p, df):
    """The p quantile (p > 1/2) of Student t with df degrees of freedom."""
    target = 2 * (1 - mpmath.mpf(p))
    return mpmath.findroot(lambda t: t_two_sided(t, df) - target, mpmath.mpf(2), tol=1e-45)


def f_upper(F, d1, d2):
    F, d1, d2 = mpmath.mpf(F), mpmath.mpf(d1), mpmath.mpf(d2)
    return mpmath.betainc(d2 / 2, d1 / 2, 0, d2 / (d2 + d1 * F), regularized=True)


# ---------------------------------------------------------------------------
# 1. High-precision check of the R references
# ---------------------------------------------------------------------------
worst = [0.0, '']


def check(what, rval, exact):
    """Relative difference of an R value (text) against a high-precision one."""
    if rval == '' or exact is None:
        if not (rval == '' and exact is None):
            sys.exit('make_reference.py: %s: R gives %r, exact %r' % (what, rval, exact))
        return
    ex = mpmath.mpf(exact) if not isinstance(exact, Fr) else mp(exact)
    r = mpmath.mpf(rval)
    rel = float(abs(r - ex) / abs(ex)) if ex != 0 else float(abs(r))
    if rel > worst[0]:
        worst[0], worst[1] = rel, what
    if rel > 1e-11:
        sys.exit('make_reference.py: %s: R %s, exact %s (relative %.3g)'
                 % (what, rval, mpmath.nstr(ex, 20), rel))


synth = read('synth.csv')
FITS = {  # name: (columns, intercept, weighted)
    'A': (['x1', 'x2', 'g'], True, False),
    'B': (['x1', 'x2', 'g'], True, True),
    'C': (['x1', 'x2', 'g'], False, False),
    'D': (['x1', 'x2', 'g'], True, False),      # xa aliased: R drops it
    'E': (['x1', 'x2', 'g'], False, True),
}


def design(rows, cols, icpt):
    return [([Fr(1)] if icpt else []) + [f8(r[c]) for c in cols] for r in rows]


exact = {}
for name, (cols, icpt, wtd) in FITS.items():
    X = design(synth, cols, icpt)
    y = [f8(r['y']) for r in synth]
    w = [f8(r['w']) if wtd else Fr(1) for r in synth]
    e = ols(X, y, w)
    rows = e['rows']
    W = sum(ww for _, _, ww in rows)
    if icpt:
        my = sum(ww * yy for _, yy, ww in rows) / W
        tss = sum(ww * (yy - my) ** 2 for _, yy, ww in rows)
    else:
        tss = sum(ww * yy * yy for _, yy, ww in rows)
    e.update(tss=tss, df=e['n'] - e['k'], icpt=icpt, X=X, y=y, w=w)
    exact[name] = e

# terms: D has xa (aliased) in position 4 (intercept first)
def terms_of(name):
    k = exact[name]['k']
    idx = list(range(k))
    if name == 'D':
        return idx[:3] + [None] + idx[3:]
    return idx


for r in read('ref_summary.csv'):
    e = exact[r['fit']]
    j = terms_of(r['fit'])[int(r['ord']) - 1]
    tag = 'summary %s %s %s ' % (r['fit'], r['level'], r['term'])
    if j is None:
        for c in ('estimate', 'std_error', 't_value', 'p_value', 'conf_low', 'conf_high'):
            check(tag + c, r[c], None)
        continue
    s2 = e['rss'] / e['df']
    se = mpmath.sqrt(mp(s2 * e['Ainv'][j][j]))
    b = e['beta'][j]
    t = mp(b) / se
    q = t_quantile((1 + mpmath.mpf(r['level'])) / 2, e['df'])
    check(tag + 'estimate', r['estimate'], b)
    check(tag + 'std_error', r['std_error'], se)
    check(tag + 't_value', r['t_value'], t)
    check(tag + 'p_value', r['p_value'], t_two_sided(t, e['df']))
    check(tag + 'conf_low', r['conf_low'], mp(b) - q * se)
    check(tag + 'conf_high', r['conf_high'], mp(b) + q * se)

for r in read('ref_stats.csv'):
    e = exact[r['fit']]
    n, k, df = e['n'], e['k'], e['df']
    rss, tss = e['rss'], e['tss']
    sumlogw = sum(mpmath.log(mp(ww)) for _, _, ww in e['rows'])
    ll = (sumlogw - n * (mpmath.log(2 * mpmath.pi) + 1 - mpmath.log(n) + mpmath.log(mp(rss)))) / 2
    df1 = k - (1 if e['icpt'] else 0)
    F = ((tss - rss) / df1) / (rss / df)
    r2 = 1 - rss / tss
    dfint = 1 if e['icpt'] else 0
    tag = 'stats %s ' % r['fit']
    assert int(r['n']) == n and int(r['rank']) == k and float(r['df_resid']) == df
    check(tag + 'sigma', r['sigma'], mpmath.sqrt(mp(rss / df)))
    check(tag + 'r_squared', r['r_squared'], r2)
    check(tag + 'adj_r_squared', r['adj_r_squared'], 1 - (1 - r2) * Fr(n - dfint, df))
    check(tag + 'f_statistic', r['f_statistic'], F)
    check(tag + 'f_p_value', r['f_p_value'], f_upper(mp(F), df1, df))
    check(tag + 'log_lik', r['log_lik'], ll)
    check(tag + 'aic', r['aic'], -2 * ll + 2 * (k + 1))
    check(tag + 'bic', r['bic'], -2 * ll + mpmath.log(n) * (k + 1))
    check(tag + 'rss', r['rss'], rss)
    check(tag + 'tss', r['tss'], tss)

for r in read('ref_vcov.csv'):
    e = exact[r['fit']]
    t = terms_of(r['fit'])
    i, j = t[int(r['i']) - 1], t[int(r['j']) - 1]
    v = None if i is None or j is None else e['rss'] / e['df'] * e['Ainv'][i][j]
    check('vcov %s %s %s' % (r['fit'], r['i'], r['j']), r['value'], v)

newpts = {int(p['pt']): p for p in read('newpoints.csv')}
for r in read('ref_predict.csv'):
    e = exact[r['fit']]
    p = newpts[int(r['pt'])]
    x = ([Fr(1)] if e['icpt'] else []) + [f8(p[c]) for c in ('x1', 'x2', 'g')]
    fit = sum(b * v for b, v in zip(e['beta'], x))
    s2 = e['rss'] / e['df']
    v = sum(x[i] * e['Ainv'][i][j] * x[j] for i in range(len(x)) for j in range(len(x))) * s2
    se = mpmath.sqrt(mp(v))
    sp = mpmath.sqrt(mp(v + s2))
    q = t_quantile((1 + mpmath.mpf(r['level'])) / 2, e['df'])
    tag = 'predict %s %s %s ' % (r['fit'], r['level'], r['pt'])
    check(tag + 'fit', r['fitted'], fit)
    check(tag + 'se_fit', r['se_fit'], se)
    check(tag + 'conf_low', r['conf_low'], mp(fit) - q * se)
    check(tag + 'conf_high', r['conf_high'], mp(fit) + q * se)
    check(tag + 'pred_low', r['pred_low'], mp(fit) - q * sp)
    check(tag + 'pred_high', r['pred_high'], mp(fit) + q * sp)


def hc_se(e, typ):
    rows, A, res = e['rows'], e['Ainv'], e['res']
    n, k = e['n'], e['k']
    M = [[Fr(0)] * k for _ in range(k)]
    for (xr, _, ww), r in zip(rows, res):
        h = ww * sum(xr[i] * A[i][j] * xr[j] for i in range(k) for j in range(k))
        om = ww * ww * r * r
        if typ == 'HC1':
            om *= Fr(n, n - k)
        elif typ == 'HC2':
            om /= (1 - h)
        elif typ == 'HC3':
            om /= (1 - h) ** 2
        for i in range(k):
            for j in range(k):
                M[i][j] += om * xr[i] * xr[j]
    V = [[sum(A[i][a] * M[a][b] * A[b][j] for a in range(k) for b in range(k))
          for j in range(k)] for i in range(k)]
    return [mpmath.sqrt(mp(V[i][i])) for i in range(k)]


hc_cache = {}
for r in read('ref_hc.csv'):
    key = (r['fit'], r['type'])
    if key not in hc_cache:
        hc_cache[key] = hc_se(exact[r['fit']], r['type'])
    j = terms_of(r['fit'])[int(r['ord']) - 1]
    check('hc %s %s %s' % (r['fit'], r['type'], r['term']), r['se'],
          None if j is None else hc_cache[key][j])

# statsmodels agrees for the unweighted fits (A, C)
import numpy as np
import statsmodels.api as sm
for name in ('A', 'C'):
    e = exact[name]
    Xf = np.array([[float(v) for v in xr] for xr in e['X']])
    yf = np.array([float(v) for v in e['y']])
    for typ in ('HC0', 'HC1', 'HC2', 'HC3'):
        bse = sm.OLS(yf, Xf).fit(cov_type=typ).bse
        for j, v in enumerate(bse):
            check('statsmodels %s %s %d' % (name, typ, j), repr(float(v)), hc_cache[(name, typ)][j])

# scoring fit A on the held-out rows; A_shift: 1e6 added to y in float8
ho = [r for r in read('holdout.csv') if all(r[c] != '' for c in ('y', 'x1', 'x2', 'g'))]
for sc in read('ref_score.csv'):
    shift = sc['case'] == 'A_shift'
    def yv(tok):
        return Fr(float(f8(tok)) + 1e6) if shift else f8(tok)
    ea = exact['A']
    if shift:
        ea = ols(ea['X'], [yv(r['y']) for r in synth], [Fr(1)] * len(synth))
    errs = [yv(r['y']) - sum(b * v for b, v in zip(ea['beta'], [Fr(1), f8(r['x1']), f8(r['x2']), f8(r['g'])]))
            for r in ho]
    hy = [yv(r['y']) for r in ho]
    mse = sum(x * x for x in errs) / len(errs)
    assert int(sc['n']) == len(ho) and int(sc['skipped']) == 2
    tag = 'score %s ' % sc['case']
    check(tag + 'mse', sc['mse'], mse)
    check(tag + 'rmse', sc['rmse'], mpmath.sqrt(mp(mse)))
    check(tag + 'mae', sc['mae'], sum(abs(x) for x in errs) / len(errs))
    check(tag + 'r2', sc['r2'], 1 - sum(x * x for x in errs) / sum((v - sum(hy) / len(hy)) ** 2 for v in hy))
print('make_reference.py: R references agree with the exact / 50-digit values: '
      'largest relative difference %.2e (%s)' % (worst[0], worst[1]))

# ---------------------------------------------------------------------------
# 2. Train/test split and folds (src/core/lr_split.h)
# ---------------------------------------------------------------------------
M64 = (1 << 64) - 1


def mix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def key_uniform(key, seed):
    h = mix64((key & M64) ^ mix64(seed & M64))
    return Fr(h >> 11, 1 << 53)


def bytes_key(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & M64
    return h


def key_fold(key, seed, k):
    f = int(key_uniform(key, seed) * k)     # exact: (h >> 11) * k / 2^53, floor
    return f if f < k else k - 1


def in_train(u, fraction):
    return u < Fr(float(fraction))


INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
bigkeys = list(range(-20, 181)) + [INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1,
                                    2 ** 32, 2 ** 32 - 1, -(2 ** 32), 10 ** 15 + 7,
                                    -987654321987654321, 1234567890123456789]
textkeys = ['', 'a', 'b', 'abc', 'ABC', 'hello world', 'user-0001', ' ', '0', '-1'] + \
           ['key%d' % i for i in range(150)] + \
           ['caf\u00e9', '\u00fcber', '\u65e5\u672c', 'na\u00efve \u2603', 'x' * 300]
SEEDS = [0, 42, -7, 2147483647, -2147483648]
FRACTIONS = ['0.8', '0.5', '0.1', '0', '1']
with open(os.path.join(D, 'ref_split.csv'), 'w', newline='') as f:
    wr = csv.writer(f, lineterminator='\n', quoting=csv.QUOTE_ALL)   # '' is a key, not NULL
    wr.writerow(['kind', 'key', 'seed', 'fraction', 'in_train'])
    n = 0
    for i, kk in enumerate(bigkeys):
        for j, seed in enumerate(SEEDS):
            if (i + j) % 2 and seed not in (0, 42):
                continue
            fr = FRACTIONS[(i + 2 * j) % len(FRACTIONS)]
            wr.writerow(['bigint', str(kk), seed, fr, 't' if in_train(key_uniform(kk, seed), fr) else 'f'])
            n += 1
    for i, s in enumerate(textkeys):
        for j, seed in enumerate(SEEDS):
            if (i + j) % 2 and seed not in (0, 42):
                continue
            fr = FRACTIONS[(i + 2 * j) % len(FRACTIONS)]
            wr.writerow(['text', s, seed, fr,
                         't' if in_train(key_uniform(bytes_key(s.encode('utf-8')), seed), fr) else 'f'])
            n += 1
with open(os.path.join(D, 'ref_split_count.csv'), 'w') as f:
    f.write('keys,seed,fraction,in_train_bigint,in_train_text\n')
    for seed, fr in ((42, '0.8'), (0, '0.8'), (7, '0.25')):
        cb = sum(in_train(key_uniform(k, seed), fr) for k in range(1, 10001))
        ct = sum(in_train(key_uniform(bytes_key(('id-%d' % k).encode()), seed), fr) for k in range(1, 10001))
        f.write('10000,%d,%s,%d,%d\n' % (seed, fr, cb, ct))

# ---------------------------------------------------------------------------
# 3. Ridge, closed form in exact rationals
# ---------------------------------------------------------------------------
def ridge(X, y, w, lam, icpt):
    """X without the intercept column; returns [b0] + beta (or beta)."""
    rows = [(xr, yy, ww) for xr, yy, ww in zip(X, y, w) if ww > 0]
    p = len(X[0])
    W = sum(ww for _, _, ww in rows)
    if icpt:
        mx = [sum(ww * xr[j] for xr, _, ww in rows) / W for j in range(p)]
        my = sum(ww * yy for _, yy, ww in rows) / W
    else:
        mx, my = [Fr(0)] * p, Fr(0)
    C = [[sum(ww * (xr[i] - mx[i]) * (xr[j] - mx[j]) for xr, _, ww in rows) for j in range(p)]
         for i in range(p)]
    c = [sum(ww * (xr[i] - mx[i]) * (yy - my) for xr, yy, ww in rows) for i in range(p)]
    A = [[C[i][j] + (lam * C[i][i] if i == j else 0) for j in range(p)] for i in range(p)]
    beta = solve(A, c)
    if icpt:
        return [my - sum(m * b for m, b in zip(mx, beta))] + beta
    return beta


LAMBDAS = ['0', '0.0001', '0.01', '0.1', '1', '10', '1000']
with open(os.path.join(D, 'ref_ridge.csv'), 'w') as f:
    f.write('fit,lambda,coefficients\n')
    Xs = [[f8(r[c]) for c in ('x1', 'x2', 'g')] for r in synth]
    ys = [f8(r['y']) for r in synth]
    ws = [f8(r['w']) for r in synth]
    ones = [Fr(1)] * len(synth)
    for name, w, icpt in (('A', ones, True), ('B', ws, True), ('C', ones, False)):
        for lam in LAMBDAS:
            b = ridge(Xs, ys, w, f8(lam), icpt)
            f.write('%s,%s,"{%s}"\n' % (name, lam, ','.join(g17(v) for v in b)))

cv = read('cv.csv')
FOLDS = 5
CV_LAMBDAS = ['0', '0.01', '0.1', '0.3', '1', '3', '10']
Xc = [[f8(r['x%d' % j]) for j in range(1, 6)] for r in cv]
yc = [f8(r['y']) for r in cv]
fold = [key_fold(int(r['id']), 0, FOLDS) for r in cv]
counts = [fold.count(k) for k in range(FOLDS)]
assert min(counts) > 0, counts
cvmse = []
for lam in CV_LAMBDAS:
    sse = Fr(0)
    for k in range(FOLDS):
        w = [Fr(0) if fk == k else Fr(1) for fk in fold]
        b = ridge(Xc, yc, w, f8(lam), True)
        for xr, yy, fk in zip(Xc, yc, fold):
            if fk == k:
                sse += (yy - b[0] - sum(bb * v for bb, v in zip(b[1:], xr))) ** 2
    cvmse.append(sse / len(cv))
best = min(range(len(CV_LAMBDAS)), key=lambda i: (cvmse[i], i))
srt = sorted(cvmse)
margin = float((srt[1] - srt[0]) / srt[0])
assert margin > 1e-6, margin
with open(os.path.join(D, 'ref_cv.csv'), 'w') as f:
    f.write('ord,lambda,cv_mse\n')
    for i, (lam, m) in enumerate(zip(CV_LAMBDAS, cvmse), 1):
        f.write('%d,%s,%s\n' % (i, lam, g17(m)))
with open(os.path.join(D, 'ref_cv_model.csv'), 'w') as f:
    f.write('folds,best_lambda,coefficients,fold_sizes\n')
    b = ridge(Xc, yc, [Fr(1)] * len(cv), f8(CV_LAMBDAS[best]), True)
    f.write('%d,%s,"{%s}","{%s}"\n' % (FOLDS, CV_LAMBDAS[best], ','.join(g17(v) for v in b),
                                       ','.join(map(str, counts))))
print('make_reference.py: CV folds of cv.csv %s; best lambda %s (next best %.2g%% worse)'
      % (counts, CV_LAMBDAS[best], 100 * margin))

# ---------------------------------------------------------------------------
# 4. NIST: ceilings of the ANOVA figures (and re-check of CEILING.md)
# ---------------------------------------------------------------------------
def lre(est, cert):
    est, cert = mpmath.mpf(est), mpmath.mpf(cert)
    if est == cert:
        return 15.0
    if cert == 0:
        return min(15.0, float(-mpmath.log10(abs(est))))
    return min(15.0, float(-mpmath.log10(abs(est - cert) / abs(cert))))


NAMES = ['Norris', 'Pontius', 'NoInt1', 'NoInt2', 'Filip', 'Longley',
         'Wampler1', 'Wampler2', 'Wampler3', 'Wampler4', 'Wampler5']
with open(os.path.join(D, 'ref_nist_anova.csv'), 'w') as out:
    out.write('dataset,sd,residual_sd,r_squared,reg_ss,res_ss,f,reg_ss_f8\n')
    for nm in NAMES:
        form, sds, cert = None, [], {}
        for line in open(os.path.join(NIST, nm + '.cert')):
            q = line.split()
            if not q or q[0].startswith('#'):
                continue
            if q[0] == 'model':
                form = q[1:]
            elif q[0].startswith('B'):
                sds.append(q[2])
            elif q[0] in ('residual_sd', 'r_squared'):
                cert[q[0]] = q[1]
            elif q[0].startswith('anova_'):
                for kv in q[1:]:
                    a, v = kv.split('=')
                    cert[q[0] + '_' + a] = v
        data = list(csv.reader(open(os.path.join(NIST, nm + '.csv'))))[1:]
        X, y = [], []
        for r in data:
            v = [float(t) for t in r]
            y.append(Fr(v[0]))
            if form[0] == 'linear':
                X.append([Fr(1), Fr(v[1])])
            elif form[0] == 'nointercept':
                X.append([Fr(v[1])])
            elif form[0] == 'longley':
                X.append([Fr(1)] + [Fr(t) for t in v[1:]])
            else:   # poly: x^k in float8, as PostgreSQL's float8 ^ (C pow)
                X.append([Fr(1), Fr(v[1])] + [Fr(math.pow(v[1], k)) for k in range(2, int(form[1]) + 1)])
        e = ols(X, y, [Fr(1)] * len(y))
        icpt = form[0] != 'nointercept'
        n, k = e['n'], e['k']
        my = sum(y) / n
        tss = sum((v - my) ** 2 for v in y) if icpt else sum(v * v for v in y)
        rss = e['rss']
        s2 = rss / (n - k)
        sd = min(lre(mpmath.sqrt(mp(s2 * e['Ainv'][j][j])), sds[j]) for j in range(k))
        rsd = lre(mpmath.sqrt(mp(s2)), cert['residual_sd'])
        r2 = lre(mp(1 - rss / tss), cert['r_squared'])
        reg = lre(mp(tss - rss), cert['anova_regression_ss'])
        res = lre(mp(rss), cert['anova_residual_ss'])
        if cert['anova_regression_F'] == 'Infinity':
            # certified perfect fit (Wampler1, 2): the float8 data give F =
            # Infinity (Wampler1, integers: RSS = 0 exactly) or a finite F
            # of order 1e30 (Wampler2, decimals rounded to float8)
            fl = 'inf' if rss == 0 else 'log10F=%.1f' % float(mpmath.log10(
                mp(((tss - rss) / (k - icpt)) / (rss / (n - k)))))
        else:
            fl = '%.1f' % lre(mp(((tss - rss) / (k - icpt)) / (rss / (n - k))), cert['anova_regression_F'])
        # what the linreg_fit_stats fields can express: TSS and RSS are
        # float8 each, so TSS - RSS carries their roundings (Wampler5: the
        # rounding of TSS ~ 8.4e15 is 0.5, relative 2.7e-14 of its
        # regression SS)
        reg8 = lre(mp(Fr(float(tss)) - Fr(float(rss))), cert['anova_regression_ss'])
        out.write('%s,%.1f,%.1f,%.1f,%.1f,%.1f,%s,%.1f\n' % (nm, sd, rsd, r2, reg, res, fl, reg8))
print('make_reference.py: wrote ref_split.csv ref_split_count.csv ref_ridge.csv ref_cv.csv '
      'ref_cv_model.csv ref_nist_anova.csv')
