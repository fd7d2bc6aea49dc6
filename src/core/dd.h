/*
 * dd.h — double-double arithmetic: a value is the unevaluated sum hi + lo of
 * two float64 numbers with |lo| <= ulp(hi)/2, which carries about 106 bits
 * (32 significant digits).
 *
 * The error-free transformations are the classic ones: TwoSum (Knuth) gives
 * the exact rounding error of an addition, and TwoProd with an FMA gives the
 * exact rounding error of a product.  Everything here must be compiled with
 * floating-point contraction off (-ffp-contract=off): a compiler that fuses
 * a*b+c on its own would break the exactness these formulas rely on.
 *
 * Algorithms: Dekker (1971), Knuth TAOCP vol. 2 §4.2.2, and the accurate
 * double-double addition of Joldes, Muller & Popescu (2017, "Tight and
 * rigorous error bounds for basic building blocks of double-word arithmetic").
 */
#ifndef FLINKML_DD_H
#define FLINKML_DD_H

#include <math.h>

/*
 * Functions whose loops do double-double arithmetic are compiled twice on
 * x86-64, for the baseline and for x86-64-v3 (AVX2 + FMA), and the loader
 * picks the clone the processor supports: on the baseline every fma() is a
 * library call.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define LR_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define LR_HOT
#endif

typedef struct dd
{
	double		hi;
	double		lo;
} dd;

static inline dd
dd_make(double hi, double lo)
{
	dd			r = {hi, lo};

	return r;
}

static inline dd
dd_from(double a)
{
	return dd_make(a, 0.0);
}

/* a + b exactly, as a double-double (TwoSum, no precondition on magnitudes). */
static inline dd
dd_two_sum(double a, double b)
{
	double		s = a + b;
	double		bb = s - a;
	double		err = (a - (s - bb)) + (b - bb);

	return dd_make(s, err);
}

/* a + b exactly when |a| >= |b| (FastTwoSum). */
static inline dd
dd_fast_two_sum(double a, double b)
{
	double		s = a + b;

	return dd_make(s, b - (s - a));
}

/* a * b exactly (TwoProd with FMA). */
static inline dd
dd_two_prod(double a, double b)
{
	double		p = a * b;

	return dd_make(p, fma(a, b, -p));
}

static inline dd
dd_neg(dd a)
{
	return dd_make(-a.hi, -a.lo);
}

/* Accurate double-double addition (relative error <= 3u^2). */
static inline dd
dd_add(dd a, dd b)
{
	dd			s = dd_two_sum(a.hi, b.hi);
	dd			t = dd_two_sum(a.lo, b.lo);

	s.lo += t.hi;
	s = dd_fast_two_sum(s.hi, s.lo);
	s.lo += t.lo;
	return dd_fast_two_sum(s.hi, s.lo);
}

static inline dd
dd_sub(dd a, dd b)
{
	return dd_add(a, dd_neg(b));
}

static inline dd
dd_add_d(dd a, double b)
{
	dd			s = dd_two_sum(a.hi, b);

	s.lo += a.lo;
	return dd_fast_two_sum(s.hi, s.lo);
}

static inline dd
dd_mul(dd a, dd b)
{
	dd			p = dd_two_prod(a.hi, b.hi);

	p.lo = fma(a.hi, b.lo, p.lo);
	p.lo = fma(a.lo, b.hi, p.lo);
	return dd_fast_two_sum(p.hi, p.lo);
}

static inline dd
dd_mul_d(dd a, double b)
{
	dd			p = dd_two_prod(a.hi, b);

	p.lo = fma(a.lo, b, p.lo);
	return dd_fast_two_sum(p.hi, p.lo);
}

/* a / b, accurate to about 2^-104 relative (one Newton correction). */
static inline dd
dd_div(dd a, dd b)
{
	double		q1 = a.hi / b.hi;
	dd			r = dd_sub(a, dd_mul_d(b, q1));
	double		q2 = r.hi / b.hi;
	dd			r2 = dd_sub(r, dd_mul_d(b, q2));
	double		q3 = r2.hi / b.hi;

	return dd_add_d(dd_fast_two_sum(q1, q2), q3);
}

/* sqrt(a) for a >= 0, accurate to about 2^-104 relative. */
static inline dd
dd_sqrt(dd a)
{
	double		x;
	dd			r;

	if (a.hi <= 0.0)
		return dd_from(0.0);
	x = sqrt(a.hi);
	/* one Newton step in double-double: x + (a - x^2) / (2x) */
	r = dd_sub(a, dd_two_prod(x, x));
	return dd_fast_two_sum(x, r.hi / (2.0 * x));
}

/*
 * sum of a[k*sa] * b[k*sb] for k < n, double-double inputs, accumulated as
 * in Ogita, Rump & Oishi's Dot2: as accurate as a dot product computed in
 * twice the working precision, at a third of the cost of dd_mul + dd_add.
 */
static inline dd
dd_dot(const dd *a, size_t sa, const dd *b, size_t sb, int n)
{
	double		s = 0.0,
				c = 0.0;

	for (int k = 0; k < n; k++)
	{
		dd			x = a[(size_t) k * sa];
		dd			y = b[(size_t) k * sb];
		double		p = x.hi * y.hi;
		double		e = fma(x.lo, y.hi, fma(x.hi, y.lo, fma(x.hi, y.hi, -p)));
		double		t = s + p;
		double		z = t - s;

		c += ((s - (t - z)) + (p - z)) + e;
		s = t;
	}
	return dd_two_sum(s, c);
}

static inline double
dd_to_double(dd a)
{
	return a.hi + a.lo;
}

#endif							/* FLINKML_DD_H */
