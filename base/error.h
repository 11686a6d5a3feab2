/* One error type for the whole program: an errno, a message that callers
 * extend with context on the way up, and a fix, kept apart and joined only
 * when printed (log.h: error_report), so that nobody has to parse them back
 * out of a string.  main() prints it once. */
#ifndef HOOK_ERROR_H
#define HOOK_ERROR_H

#include <stdarg.h>

/* Opaque: read it with the accessors below. */
typedef struct hook_error hook_error_t;

/* Fill *err (freeing what it held) with MSG and ERRNUM (0 if no errno is the
 * cause).  Always returns -1 so that callers can write `return make_error (...)`. */
int make_error (hook_error_t **err, int errnum, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

/* Prefix the message with "CONTEXT: ".  Returns -1. */
int error_prefix (hook_error_t **err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Add a fix (what the user can do about it); a second one follows the first
 * after "; ".  Returns -1. */
int error_hint (hook_error_t **err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

void error_free (hook_error_t **err);

/* The errno that caused it, 0 if none. */
int error_errno (const hook_error_t *err);

/* "CONTEXT: what", without the cause (strerror) or the fix. */
const char *error_message (const hook_error_t *err);

/* The fix, or NULL if there is none. */
const char *error_hint_text (const hook_error_t *err);

/* Malloc'd "CONTEXT: what: strerror", without the fix. */
char *error_summary (const hook_error_t *err);

/* Malloc'd "CONTEXT: what: strerror; fix": the line as it is printed. */
char *error_string (const hook_error_t *err);

/* Set by main: the prefix of every line the program prints. */
extern const char *program_name;

#endif
