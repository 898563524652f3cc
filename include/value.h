/* value: the small grammars of scenario-file values and command-line options: durations,
 * rates and sizes. Pure functions of their text; no allocation. */
#ifndef BLAST_VALUE_H
#define BLAST_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* The most requests per second one scenario may ask for (one machine offers far less; more is a
 * typo, or wants several load boxes). */
#define VALUE_MAX_RATE 10000000.0

/* Parses a duration: one or more <number><unit> parts with unit us, ms, s, m or h, e.g. "30s",
 * "1m30s", "500ms", "1.5s". Returns 0 and *ns, or -EINVAL (zero is allowed; negatives are not). */
int value_duration(const char *s, uint64_t *ns);

/* Parses a rate "<number>/<unit>" where unit is s, m, h or a duration ("167/s", "100/m",
 * "5000/30s", "0.5/s"). Returns 0 and *per_s (> 0), -EINVAL when it is not a rate (zero and
 * negatives included), or -ERANGE when it is more than VALUE_MAX_RATE per second. */
int value_rate(const char *s, double *per_s);

/* Parses a size: a number with an optional unit, B, KiB, MiB, GiB (powers of 1024) or KB, MB, GB
 * (powers of 1000), case-insensitive, e.g. "512", "64KiB", "1.5MiB", "2GB". Returns 0 and
 * *bytes, or -EINVAL (also when it does not fit in 64 bits). */
int value_size(const char *s, uint64_t *bytes);

/* Of n candidate words, the one nearest to word by edit distance (insertions, deletions,
 * substitutions and swaps of two neighbours, ASCII case ignored), if it is near enough to be a
 * typo: at most 1 edit for words up to 4 characters, 2 up to 8, 3 beyond. NULL when none is.
 * For "did you mean ...?" in messages. */
const char *value_suggest(const char *word, const char *const *cands, size_t n);

/* Writes "column N: <fmt ...>" into err (one line, truncated to errlen; err may be NULL when
 * errlen is 0) and returns -EINVAL: the error form of every small parser of scenario values
 * (checks, extractions, JSON paths). */
int value_col_error(char *err, size_t errlen, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
