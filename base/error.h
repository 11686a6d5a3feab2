/* One error type for the whole program: an errno (0 if none) and a message
 * that callers extend with context on the way up.  main() prints it once. */
#ifndef HOOK_ERROR_H
#define HOOK_ERROR_H

#include <stdarg.h>

typedef struct hook_error
{
  int errnum;
  char *msg;
} hook_error_t;

/* Fill *err (which must be NULL) with MSG and, if ERRNUM is non-zero, ": strerror".
 * Always returns -1 so that callers can write `return make_error (...)`. */
int make_error (hook_error_t **err, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prefix the message with "CONTEXT: ".  Returns -1. */
int error_prefix (hook_error_t **err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Append "; HINT" (what the user can do about it).  Returns -1. */
int error_hint (hook_error_t **err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

void error_free (hook_error_t **err);

/* Print "PROGRAM: MESSAGE" on stderr (and the log file) as one line, then free the error. */
void error_report (hook_error_t **err);

/* Set by main: the prefix of every line the program prints. */
extern const char *program_name;

#endif
