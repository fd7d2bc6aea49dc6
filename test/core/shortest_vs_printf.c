/*
 * shortest_vs_printf.c -- lr_format_double with PostgreSQL's Ryu as its
 * digit hook (what the extension installs) against the printf/strtod path
 * it replaces, byte for byte: random bit patterns, data-like values, powers
 * of two and of ten and their neighbours, short decimals k 10^e and their
 * neighbours (the ties and rounding boundaries), subnormals.
 *
 *   make -C test/core shortest-check PG_CONFIG=...   (links libpgcommon)
 *
 * Not part of `make check`: the core and its tests do not need PostgreSQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>
#include "core/lr_codec.h"
extern int double_to_shortest_decimal_buf(double f, char *result);
static uint64_t s = 88172645463325252ULL;
static uint64_t rnd(void){ s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
static long bad = 0, tot = 0;
static void chk(double v) {
	char a[64], b[64]; int la, lb;
	if (!isfinite(v)) return;
	lr_shortest_hook = double_to_shortest_decimal_buf; la = lr_format_double(v, a);
	lr_shortest_hook = NULL; lb = lr_format_double(v, b);
	tot++;
	if (la != lb || strcmp(a, b) != 0) { if (bad++ < 20) printf("%a: fast '%s' slow '%s'\n", v, a, b); }
}
int main(int argc, char **argv) {
	long N = argc > 1 ? atol(argv[1]) : 1000000;
	double specials[] = {0.0, -0.0, 1, -1, 0.1, 0.5, 1e15, 1e16, 1e17, 123456789012345678.0, 1e-4, 1e-5, 0.00012345, 1e22, 1e23, 5e-324, 2.2250738585072014e-308, 2.2250738585072009e-308, 1.7976931348623157e308, 9007199254740993.0, 0.3, 2.0/3, 100, 1e14, 99999999999999.9, 999999999999999.0, 9999999999999998.0};
	for (size_t i = 0; i < sizeof(specials)/sizeof(specials[0]); i++) { chk(specials[i]); chk(-specials[i]); chk(nextafter(specials[i], 1e300)); chk(nextafter(specials[i], -1e300)); }
	for (long i = 0; i < N; i++) {
		uint64_t b = rnd(); double v; memcpy(&v, &b, 8); chk(v);                 /* any bit pattern */
		double u = (double)(rnd() >> 11) * 0x1p-53; chk(u); chk(u * 1e6); chk(u - 0.5);   /* data-like */
		chk(ldexp(u, (int)(rnd() % 200) - 100)); chk((double)(rnd() % 100000000) / 1000.0); chk((double)(int64_t)(rnd() >> (rnd() % 64)));
		chk(nextafter(pow(10.0, (int)(rnd() % 600) - 300), 0)); chk(pow(10.0, (int)(rnd() % 600) - 300));
		chk(ldexp(1.0, (int)(rnd() % 2098) - 1074));
		{	/* short decimals and their neighbours: the ties and boundaries */
			char d[64]; double t;
			snprintf(d, sizeof d, "%llue%d", (unsigned long long)(rnd() % 1000000), (int)(rnd() % 660) - 340);
			t = strtod(d, NULL); chk(t); chk(nextafter(t, 0)); chk(nextafter(t, 1e308));
			snprintf(d, sizeof d, "%llu5e%d", (unsigned long long)(rnd() % 100000000000000ULL), (int)(rnd() % 60) - 40);
			t = strtod(d, NULL); chk(t); chk(nextafter(t, 0)); chk(nextafter(t, 1e308));
			chk(ldexp((double)(rnd() % 4503599627370496ULL), -1074));   /* subnormals */
		}
	}
	printf("%ld checked, %ld differ\n", tot, bad);
	return bad != 0;
}
