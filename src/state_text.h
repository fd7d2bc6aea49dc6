/*
 * state_text.h — a small reader and writer for the JSON text forms of the
 * aggregate states of linreg_cv and linreg_robust_se (cv.c, robust.c).
 *
 * The forms follow src/core/lr_codec.h: a JSON object with its keys in a
 * fixed order, every float64 in the shortest decimal that reads back to the
 * same bits (so output then input gives back the identical state), embedded
 * linreg_state / linreg values in their own text forms.  The reader accepts
 * exactly that shape (JSON whitespace between tokens) and raises
 * "invalid input syntax for type <type>: ..." naming the position of the
 * first problem.
 */
#ifndef FLINKML_STATE_TEXT_H
#define FLINKML_STATE_TEXT_H

#include "flinkml.h"
#include "lib/stringinfo.h"

typedef struct TextReader
{
	const char *start;
	const char *p;
	const char *type;			/* SQL type name, for messages */
} TextReader;

extern void st_init(TextReader *r, const char *text, const char *type);
extern void st_error(TextReader *r, const char *fmt,...) pg_attribute_printf(2, 3) pg_attribute_noreturn();
/* Skip whitespace, then require the literal tok. */
extern void st_expect(TextReader *r, const char *tok);
/* Skip whitespace; consume tok and return true if it comes next. */
extern bool st_accept(TextReader *r, const char *tok);
/* "key": (st_expect of the quoted key and a colon) */
extern void st_key(TextReader *r, const char *key);
/* An integer in [min, max]. */
extern int64 st_int(TextReader *r, int64 min, int64 max, const char *what);
/* A finite number. */
extern double st_double(TextReader *r, const char *what);
/* A JSON object {...} (strings skipped with their escapes), as a new NUL-terminated copy. */
extern char *st_object(TextReader *r, const char *what);
/* Only whitespace may remain. */
extern void st_end(TextReader *r);

/* Writers. */
extern void st_put_double(StringInfo buf, double v);

#endif							/* FLINKML_STATE_TEXT_H */
