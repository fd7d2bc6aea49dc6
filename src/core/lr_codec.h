/*
 * lr_codec.h — the exact text forms of a state and of a model.
 *
 * Plain C, no PostgreSQL header.  Both forms are JSON objects, so that
 * `state::text::jsonb` works for inspection, and every float64 is written
 * in the shortest decimal that reads back to the same bits: text output
 * followed by input gives back the identical value.
 *
 * linreg_state:
 *   {"version":1,"features":2,"intercept":true,"rows":3,"skipped":0,
 *    "wsum":[hi,lo],"logw":[hi,lo],
 *    "shift":[...],"sum_hi":[...],"sum_lo":[...],
 *    "cross_hi":[...],"cross_lo":[...]}
 *   ("features" is null while no row has been seen; the arrays are then empty)
 * linreg:
 *   {"version":1,"features":2,"intercept":true,"rank":3,"rows":3,
 *    "skipped":0,"cond":1.5,"lambda":0,"method":"lapack",
 *    "names":["age","income"] (or null),"coef":[b0,b1,null],
 *    "state":{...}}
 *
 * The reader accepts exactly this shape (keys in this order, any JSON
 * whitespace between tokens), validates every value, and reports the first
 * problem with its position.
 */
#ifndef FLINKML_LR_CODEC_H
#define FLINKML_LR_CODEC_H

#include "lr_model.h"
#include "lr_state.h"

typedef void *(*lr_alloc_fn) (size_t size);

/* An upper bound on the text length (without the terminating NUL). */
size_t		lr_state_text_bound(int nfeat);
size_t		lr_model_text_bound(const LrModel *m);

/* Write the text form into buf (at least bound + 1 bytes); returns its length. */
size_t		lr_state_to_text(const LrState *s, char *buf);
size_t		lr_model_to_text(const LrModel *m, char *buf);

/*
 * Parse text into one new block from alloc (zeroed memory not required).
 * Returns NULL on success with *out set, or writes a message into
 * err[errlen] and returns err; *out is then the partly filled block, or
 * NULL if none was allocated, for callers whose allocator needs a free.
 * A model's block may be longer than *outsize (room reserved for names).
 */
const char *lr_state_from_text(const char *text, lr_alloc_fn alloc, LrState **out,
							   size_t *outsize, char *err, size_t errlen);
const char *lr_model_from_text(const char *text, lr_alloc_fn alloc, LrModel **out,
							   size_t *outsize, char *err, size_t errlen);

/*
 * Shortest round-trip decimal of a finite double; returns its length (<= 24).
 * The text is that of printf's %.*g at the smallest precision p >= 15 (any
 * p >= 1 for a subnormal) at which a p-digit decimal next to v reads back
 * as v (the nearest one when both do).
 */
int			lr_format_double(double v, char *buf);

/*
 * The digits by a faster routine, when the caller has one: a function that
 * writes a shortest round-trip decimal of a finite v (the closest to v of
 * the shortest; any of the forms 123.45, 0.00012, 1.2e+20, -1e-07) and
 * returns its length.  lr_format_double then lays those digits out as %.*g
 * does at the precision above, so the text is the same; without it (NULL)
 * the digits come from printf and strtod, several calls per number.  The
 * extension sets it to PostgreSQL's Ryu (double_to_shortest_decimal_buf).
 */
typedef int (*LrShortestFn) (double v, char *out);
extern LrShortestFn lr_shortest_hook;

/* lr_format_double without the hook (printf and strtod only). */
int			lr_format_double_printf(double v, char *buf);

#endif							/* FLINKML_LR_CODEC_H */
