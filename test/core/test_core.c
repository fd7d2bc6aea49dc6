/*
 * test_core.c -- harness, shared helpers and main() of the flinkml core
 * unit tests.  The tests themselves are in test_state.c, test_solve.c,
 * test_model.c and test_codec.c; their exact references come from
 * gen_refs.py (refs.h).
 */
#include "tests.h"

#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ harness */

static int	cur_failed;
static char cur_detail[400];
static int	n_passed,
			n_failed;

void
t_fail(const char *file, int line, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (cur_failed++)
		return;
	n = snprintf(cur_detail, sizeof(cur_detail), "%s:%d: ", file, line);
	va_start(ap, fmt);
	vsnprintf(cur_detail + n, sizeof(cur_detail) - (size_t) n, fmt, ap);
	va_end(ap);
}

int
t_failed(void)
{
	return cur_failed != 0;
}

void
t_run(const char *name, void (*fn) (void))
{
	cur_failed = 0;
	cur_detail[0] = '\0';
	fn();
	t_free_all();
	if (cur_failed)
	{
		/* one line per test: no control characters in the detail */
		for (char *q = cur_detail; *q; q++)
			if ((unsigned char) *q < 0x20)
				*q = *q == '\n' ? '|' : ' ';
		n_failed++;
		printf("not ok - %s: %s", name, cur_detail);
		if (cur_failed > 1)
			printf(" (and %d more failed checks)", cur_failed - 1);
		printf("\n");
	}
	else
	{
		n_passed++;
		printf("ok - %s\n", name);
	}
	fflush(stdout);
}

int
t_in_child(void (*fn) (void *), void *arg, char *what, size_t whatlen)
{
	int			fds[2];
	pid_t		pid;
	int			status = 0;
	char		buf[8192];
	size_t		got = 0;
	ssize_t		n;

	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) != 0)
	{
		snprintf(what, whatlen, "pipe failed");
		return 0;
	}
	pid = fork();
	if (pid < 0)
	{
		snprintf(what, whatlen, "fork failed");
		return 0;
	}
	if (pid == 0)
	{
		close(fds[0]);
		dup2(fds[1], 2);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
	{
		got += (size_t) n;
		if (got == sizeof(buf) - 1)
		{
			char		sink[4096];

			while (read(fds[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	buf[got] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 1;
	{
		/* the sanitizer's headline, if any */
		const char *e = strstr(buf, "ERROR: ");
		const char *s = e ? e : buf;
		size_t		len = strcspn(s, "\n");

		snprintf(what, whatlen, "child %s %d: %.*s",
				 WIFEXITED(status) ? "exited with" : "killed by signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
				 (int) (len > 200 ? 200 : len), s);
	}
	return 0;
}

/* ------------------------------------------------------------ random */

uint64_t
rng_u64(Rng *r)
{
	uint64_t	z = (r->s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

double
rng_unif(Rng *r)
{
	return (double) (rng_u64(r) >> 11) * 0x1.0p-53;
}

int
rng_int(Rng *r, int lo, int hi)
{
	return lo + (int) (rng_u64(r) % (uint64_t) (hi - lo + 1));
}

double
rng_normal(Rng *r)
{
	double		u = rng_unif(r),
				v = rng_unif(r);

	return sqrt(-2.0 * log(u + 0x1.0p-60)) * cos(6.283185307179586 * v);
}

/* ------------------------------------------------------------ states */

LrState *
st_new(int nfeat, int intercept)
{
	LrState    *s = malloc(lr_state_size(nfeat));

	if (!s)
		abort();
	memset(s, 0x5A, lr_state_size(nfeat));	/* "uninitialised" */
	lr_state_init(s, nfeat, intercept);
	s->vl_len_ = VL_SENTINEL;
	return s;
}

size_t
st_size(const LrState *s)
{
	return lr_state_size(s->nfeat);
}

LrState *
st_clone(const LrState *s)
{
	LrState    *c = malloc(st_size(s));

	if (!c)
		abort();
	memcpy(c, s, st_size(s));
	return c;
}

void
st_add_rows(LrState *s, int n, const double *X, const double *y, const double *w)
{
	int			p = s->nfeat;

	for (int i = 0; i < n; i++)
		lr_state_add_row(s, y[i], X + (size_t) i * p, w ? w[i] : 1.0);
}

int
st_same_bits(const LrState *a, const LrState *b)
{
	size_t		off = sizeof(int32_t);

	if (a->nfeat != b->nfeat)
		return 0;
	return memcmp((const char *) a + off, (const char *) b + off, st_size(a) - off) == 0;
}

void
st_moments(const LrState *s, dd *W, dd *mean, dd *C)
{
	int			d = lr_dim(s);
	const double *K = lr_cshift(s);
	dd			t[LR_MAX_FEATURES + 1];

	*W = dd_two_sum(s->wsum_hi, s->wsum_lo);
	for (int j = 0; j < d; j++)
	{
		dd			sj = dd_two_sum(lr_csum_hi(s)[j], lr_csum_lo(s)[j]);

		t[j] = W->hi != 0.0 ? dd_div(sj, *W) : dd_from(0.0);
		mean[j] = dd_add_d(t[j], K[j]);
	}
	for (int i = 0, k = 0; i < d; i++)
		for (int j = i; j < d; j++, k++)
		{
			dd			c = dd_two_sum(lr_ccross_hi(s)[k], lr_ccross_lo(s)[k]);

			if (s->intercept)
				c = dd_sub(c, dd_mul(t[i], dd_two_sum(lr_csum_hi(s)[j], lr_csum_lo(s)[j])));
			C[k] = c;
		}
}

double
moments_diff(const LrState *a, dd Wr, const dd *meanr, const dd *Cr)
{
	int			d = lr_dim(a);
	size_t		m = lr_tri_len(d);
	dd			W,
			   *mean = malloc(sizeof(dd) * (size_t) d),
			   *C = malloc(sizeof(dd) * m);
	double		worst = 0.0;

	st_moments(a, &W, mean, C);
	worst = fabs(dd_sub(W, Wr).hi) / fabs(Wr.hi);
	for (int i = 0, k = 0; i < d; i++)
		for (int j = i; j < d; j++, k++)
		{
			double		sc = sqrt(Cr[lr_tri_index(d, i, i)].hi * Cr[lr_tri_index(d, j, j)].hi);
			double		e = fabs(dd_sub(C[k], Cr[k]).hi);

			if (sc > 0.0)
				e /= sc;
			else if (e > 0.0)
				e = INFINITY;
			worst = fmax(worst, e);
		}
	for (int j = 0; j < d; j++)
	{
		double		sc = fabs(meanr[j].hi) + sqrt(Cr[lr_tri_index(d, j, j)].hi / Wr.hi);
		double		e = fabs(dd_sub(mean[j], meanr[j]).hi);

		worst = fmax(worst, sc > 0.0 ? e / sc : (e > 0.0 ? INFINITY : 0.0));
	}
	free(mean);
	free(C);
	return worst;
}

double
moments_diff_states(const LrState *a, const LrState *ref)
{
	int			d = lr_dim(ref);
	dd			W,
			   *mean = malloc(sizeof(dd) * (size_t) d),
			   *C = malloc(sizeof(dd) * lr_tri_len(d));
	double		r;

	if (a->nfeat != ref->nfeat || a->intercept != ref->intercept)
		r = INFINITY;
	else
	{
		st_moments(ref, &W, mean, C);
		r = moments_diff(a, W, mean, C);
	}
	free(mean);
	free(C);
	return r;
}

double
moments_diff_ref(const LrState *a, const double *W2, const double *mean2, const double *C2)
{
	int			d = lr_dim(a);
	size_t		m = lr_tri_len(d);
	dd			W = dd_make(W2[0], W2[1]),
			   *mean = malloc(sizeof(dd) * (size_t) d),
			   *C = malloc(sizeof(dd) * m);
	double		r;

	for (int j = 0; j < d; j++)
		mean[j] = dd_make(mean2[2 * j], mean2[2 * j + 1]);
	for (size_t k = 0; k < m; k++)
		C[k] = dd_make(C2[2 * k], C2[2 * k + 1]);
	r = moments_diff(a, W, mean, C);
	free(mean);
	free(C);
	return r;
}

/* ------------------------------------------------------------ solving */

Fit
fit_state(const LrState *s, double tol)
{
	Fit			f;
	LrSolution	sol;

	memset(&f, 0, sizeof(f));
	for (int j = 0; j < 64; j++)
	{
		f.coef[j] = NAN;
		f.aliased[j] = 0xEE;
	}
	sol.coef = f.coef;
	sol.aliased = f.aliased;
	sol.nterms = -1;
	sol.rank = -1;
	sol.method = -1;
	sol.cond = NAN;
	f.rc = lr_solve(s, tol, &sol);
	f.nterms = sol.nterms;
	f.rank = sol.rank;
	f.method = sol.method;
	f.cond = sol.cond;
	return f;
}

double
coef_diff(const double *a, const double *b, int n, double floor)
{
	double		worst = 0.0;

	for (int j = 0; j < n; j++)
	{
		double		e = fabs(a[j] - b[j]) / fmax(fabs(b[j]), floor);

		if (isnan(e))
			return INFINITY;
		worst = fmax(worst, e);
	}
	return worst;
}

static int64_t
ordered_bits(double v)
{
	int64_t		b;

	memcpy(&b, &v, sizeof(b));
	return b < 0 ? INT64_MIN - b : b;	/* monotone in v, -0 and +0 adjacent */
}

double
ulp_diff(double a, double ref)
{
	if (isnan(a) || isnan(ref))
		return INFINITY;
	return fabs((double) ordered_bits(a) - (double) ordered_bits(ref));
}

/* ------------------------------------------------------------ allocation */

static void **blocks;
static size_t nblocks,
			capblocks,
			total_allocs;

void *
t_alloc(size_t size)
{
	void	   *p;

	if (nblocks == capblocks)
	{
		capblocks = capblocks ? 2 * capblocks : 64;
		blocks = realloc(blocks, capblocks * sizeof(void *));
		if (!blocks)
			abort();
	}
	p = malloc(size ? size : 1);
	if (!p)
		return NULL;
	memset(p, 0xA5, size);		/* the codec must not rely on zeroed memory */
	blocks[nblocks++] = p;
	total_allocs++;
	return p;
}

void *
t_alloc_fail(size_t size)
{
	(void) size;
	return NULL;
}

void
t_free_all(void)
{
	for (size_t i = 0; i < nblocks; i++)
		free(blocks[i]);
	nblocks = 0;
}

size_t
t_mark(void)
{
	return nblocks;
}

void
t_release(size_t mark)
{
	while (nblocks > mark)
		free(blocks[--nblocks]);
}

size_t
t_alloc_count(void)
{
	return total_allocs;
}

/* ------------------------------------------------------------ main */

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	run_state_tests();
	run_batch_tests();
	run_solve_tests();
	run_diag_tests();
	run_model_tests();
	run_codec_tests();
	free(blocks);
	printf("core: %d passed, %d failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
