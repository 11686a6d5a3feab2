/* Assertions on the hook's error type, and JSON written with single quotes. */
#ifndef TESTS_UNIT_HELPERS_H
#define TESTS_UNIT_HELPERS_H

#include "base/cleanup.h"
#include "base/error.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* E as it is printed ("no error" if NULL), in a buffer the next call
 * reuses: for diagnostics and substring checks. */
static inline const char *
error_shown (const hook_error_t *e)
{
  static char buf[8192];
  char *s;

  if (e == NULL)
    return "no error";
  s = error_string (e);
  snprintf (buf, sizeof buf, "%s", s);
  free (s);
  return buf;
}

/* RC is WANT_RC and *ERR names WANT_MSG; frees *ERR either way. */
static inline __attribute__ ((format (printf, 5, 6))) bool
is_error (long long rc, long long want_rc, hook_error_t **err, const char *want_msg, const char *fmt, ...)
{
  va_list ap;
  const char *msg = *err ? error_shown (*err) : NULL;
  bool pass = rc == want_rc && msg != NULL && strstr (msg, want_msg) != NULL;

  va_start (ap, fmt);
  tap_vresult (pass, fmt, ap);
  va_end (ap);
  if (!pass)
    fprintf (tap_out (),
             "#   Failed test %d\n#          got: %lld, %s%s%s\n#     expected: %lld, an error containing '%s'\n",
             tap_run, rc, msg ? "'" : "", msg ? msg : "no error", msg ? "'" : "", want_rc, want_msg);
  error_free (err);
  return pass;
}

/* RC is WANT_RC and no error was set; frees any error. */
static inline __attribute__ ((format (printf, 4, 5))) bool
is_success (long long rc, long long want_rc, hook_error_t **err, const char *fmt, ...)
{
  va_list ap;
  bool pass = rc == want_rc && *err == NULL;

  va_start (ap, fmt);
  tap_vresult (pass, fmt, ap);
  va_end (ap);
  if (!pass)
    fprintf (tap_out (), "#   Failed test %d\n#          got: %lld (%s)\n#     expected: %lld\n", tap_run, rc,
             error_shown (*err), want_rc);
  error_free (err);
  return pass;
}

/* JSON is easier to read in C with ' for ": "{'id':'x'}".  Returns a malloc'd copy. */
static inline char *
json_q (const char *text)
{
  char *s = strdup (text);
  if (s == NULL)
    abort ();
  for (char *p = s; *p; p++)
    if (*p == '\'')
      *p = '"';
  return s;
}

#endif
