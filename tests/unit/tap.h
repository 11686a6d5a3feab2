/* A minimal TAP producer for the unit tests: ok/is_int/is_str/like, then
 * done_testing() prints the plan (unless plan() did) and gives the exit
 * status, non-zero if any test failed or the count did not match the plan.
 * Set tap_todo around tests of known bugs: they are reported, not counted.
 * Failure diagnostics go to stderr, as with Perl's Test::More. */
#ifndef TESTS_UNIT_TAP_H
#define TESTS_UNIT_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int tap_run, tap_failed, tap_planned = -1;

/* While set, results are marked "# TODO reason": a known bug, not a failure. */
static const char *tap_todo;

static inline void
plan (int n)
{
  tap_planned = n;
  printf ("1..%d\n", n);
}

/* Where failure diagnostics go: stdout for TODO tests, as Test::More does. */
static inline FILE *
tap_out (void)
{
  return tap_todo ? stdout : stderr;
}

static inline __attribute__ ((format (printf, 2, 0))) bool
tap_vresult (bool pass, const char *fmt, va_list ap)
{
  printf ("%sok %d - ", pass ? "" : "not ", ++tap_run);
  vprintf (fmt, ap);
  if (tap_todo)
    printf (" # TODO %s", tap_todo);
  putchar ('\n');
  fflush (stdout);
  if (!pass && !tap_todo)
    tap_failed++;
  return pass;
}

static inline __attribute__ ((format (printf, 2, 3))) bool
ok (bool pass, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  tap_vresult (pass, fmt, ap);
  va_end (ap);
  if (!pass)
    fprintf (tap_out (), "#   Failed test %d\n", tap_run);
  return pass;
}

static inline __attribute__ ((format (printf, 3, 4))) bool
is_int (long long got, long long expected, const char *fmt, ...)
{
  va_list ap;
  bool pass = got == expected;
  va_start (ap, fmt);
  tap_vresult (pass, fmt, ap);
  va_end (ap);
  if (!pass)
    fprintf (tap_out (), "#   Failed test %d\n#          got: %lld\n#     expected: %lld\n", tap_run, got, expected);
  return pass;
}

static inline __attribute__ ((format (printf, 3, 4))) bool
is_str (const char *got, const char *expected, const char *fmt, ...)
{
  va_list ap;
  bool pass = (got == NULL || expected == NULL) ? got == expected : strcmp (got, expected) == 0;
  va_start (ap, fmt);
  tap_vresult (pass, fmt, ap);
  va_end (ap);
  if (!pass)
    fprintf (tap_out (), "#   Failed test %d\n#          got: %s%s%s\n#     expected: %s%s%s\n", tap_run,
             got ? "'" : "", got ? got : "NULL", got ? "'" : "", expected ? "'" : "", expected ? expected : "NULL",
             expected ? "'" : "");
  return pass;
}

/* GOT contains the substring WANT. */
static inline __attribute__ ((format (printf, 3, 4))) bool
like (const char *got, const char *want, const char *fmt, ...)
{
  va_list ap;
  bool pass = got != NULL && strstr (got, want) != NULL;
  va_start (ap, fmt);
  tap_vresult (pass, fmt, ap);
  va_end (ap);
  if (!pass)
    fprintf (tap_out (), "#   Failed test %d\n#          got: %s%s%s\n#     expected to contain: '%s'\n", tap_run,
             got ? "'" : "", got ? got : "NULL", got ? "'" : "", want);
  return pass;
}

static inline __attribute__ ((format (printf, 1, 2))) void
diag (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("# ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
}

static inline int
done_testing (void)
{
  if (tap_planned < 0)
    printf ("1..%d\n", tap_run);
  else if (tap_planned != tap_run)
    {
      diag ("planned %d tests but ran %d", tap_planned, tap_run);
      return 255;
    }
  if (tap_failed)
    diag ("failed %d of %d tests", tap_failed, tap_run);
  return tap_failed ? (tap_failed < 254 ? tap_failed : 254) : 0;
}

#endif
