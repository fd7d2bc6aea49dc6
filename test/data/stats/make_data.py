#!/usr/bin/python3
"""Generate the synthetic datasets of test/data/stats/ (deterministic).

The CSV files are the source of truth for the tests and for the references
(make_reference.R, make_reference.py); this script documents how they were
made and rewrites them identically: Python's random.Random(seed).random()
is reproducible across Python versions.

    synth.csv     60 rows: id, y, x1, x2, g (integer 1..4, categorical-like),
                  xa = x1 + x2 (an aliased column), w (weights, four of them 0)
    newpoints.csv 4 new points (pt, x1, x2, g) for prediction intervals
    holdout.csv   40 held-out rows (id, y, x1, x2, g) for scoring; rows
                  101 and 102 carry a NULL (empty field)
    cv.csv        80 rows: id (bigint key), y, x1..x5; noisy, with weak and
                  irrelevant features, so that cross-validation prefers a
                  ridge penalty over none
"""
import math, os, random

D = os.path.dirname(os.path.abspath(__file__))


def gauss(r):
    # Box-Muller from random() only (random.gauss's algorithm is not
    # documented as stable).
    u1, u2 = r.random(), r.random()
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def synth_row(r):
    x1 = round(10.0 * r.random(), 3)
    x2 = round(50.0 + 10.0 * gauss(r), 2)
    g = 1 + int(4 * r.random())
    y = round(3.0 + 1.5 * x1 - 0.2 * x2 + 0.8 * g + 1.5 * gauss(r), 4)
    return x1, x2, g, y


def main():
    r = random.Random(20261125)
    with open(os.path.join(D, 'synth.csv'), 'w') as f:
        f.write('id,y,x1,x2,g,xa,w\n')
        for i in range(1, 61):
            x1, x2, g, y = synth_row(r)
            w = round(0.5 + 2.5 * r.random(), 2)
            if i in (7, 23, 41, 58):
                w = 0.0
            xa = '%.3f' % (round(x1 * 1000) / 1000 + round(x2 * 100) / 100)
            f.write('%d,%.4f,%.3f,%.2f,%d,%s,%.2f\n' % (i, y, x1, x2, g, xa, w))
    with open(os.path.join(D, 'newpoints.csv'), 'w') as f:
        f.write('pt,x1,x2,g\n')
        for pt, (x1, x2, g) in enumerate([(5.0, 50.0, 2), (0.5, 35.25, 1),
                                          (9.75, 68.5, 4), (12.0, 20.0, 3)], 1):
            f.write('%d,%.3f,%.2f,%d\n' % (pt, x1, x2, g))
    with open(os.path.join(D, 'holdout.csv'), 'w') as f:
        f.write('id,y,x1,x2,g\n')
        for i in range(101, 141):
            x1, x2, g, y = synth_row(r)
            if i == 101:
                f.write('%d,,%.3f,%.2f,%d\n' % (i, x1, x2, g))
            elif i == 102:
                f.write('%d,%.4f,%.3f,,%d\n' % (i, y, x1, g))
            else:
                f.write('%d,%.4f,%.3f,%.2f,%d\n' % (i, y, x1, x2, g))
    r = random.Random(777)
    with open(os.path.join(D, 'cv.csv'), 'w') as f:
        f.write('id,y,x1,x2,x3,x4,x5\n')
        for i in range(80):
            key = 1000003 * i + 17
            x = [round(gauss(r), 3) for _ in range(5)]
            x[1] = round(0.7 * x[0] + 0.3 * x[1], 3)   # correlated with x1
            y = round(1.0 + 0.6 * x[0] + 0.3 * x[1] + 0.1 * x[2] + 2.0 * gauss(r), 3)
            f.write('%d,%.3f,%s\n' % (key, y, ','.join('%.3f' % v for v in x)))


if __name__ == '__main__':
    main()
