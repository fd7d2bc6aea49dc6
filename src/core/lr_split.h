/*
 * lr_split.h — deterministic, seedable assignment of rows to train/test
 * splits and cross-validation folds from a key.  The same key, seed and
 * fraction give the same answer on every machine and every run: the hash is
 * SplitMix64's finaliser (Steele, Lea & Flood 2014) over the key, or over
 * FNV-1a of a text key's bytes, written out here rather than borrowed from
 * a library whose hash may change between releases.
 *
 * Plain C, no PostgreSQL header.
 */
#ifndef FLINKML_LR_SPLIT_H
#define FLINKML_LR_SPLIT_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t
lr_mix64(uint64_t z)
{
	z += UINT64_C(0x9E3779B97F4A7C15);
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* A uniform number in [0, 1) from (key, seed). */
static inline double
lr_key_uniform(uint64_t key, int64_t seed)
{
	uint64_t	h = lr_mix64(key ^ lr_mix64((uint64_t) seed));

	return (double) (h >> 11) * 0x1.0p-53;
}

/* FNV-1a over bytes: how a text key becomes a 64-bit key. */
static inline uint64_t
lr_bytes_key(const unsigned char *p, size_t n)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

/* Fold 0..k-1 of a key: the same uniform number as the split, cut in k. */
static inline int
lr_key_fold(uint64_t key, int64_t seed, int k)
{
	int			f = (int) (lr_key_uniform(key, seed) * k);

	return f < k ? f : k - 1;
}

#endif							/* FLINKML_LR_SPLIT_H */
