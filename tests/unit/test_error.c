/* The error type keeps errno, message and fix apart; they meet only in the
 * printed line, which stays "PROGRAM: CONTEXT: what: strerror; fix". */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/error.h"
#include "base/log.h"
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static void
test_fields (void)
{
  hook_error_t *err = NULL;
  cleanup_free char *summary = NULL, *line = NULL;

  is_int (make_error (&err, ENOENT, "open '%s'", "/srv/a; b"), -1, "make_error returns -1");
  is_int (error_prefix (&err, "/data"), -1, "error_prefix returns -1");
  is_int (error_hint (&err, "create it"), -1, "error_hint returns -1");
  error_hint (&err, "or correct the mount's source");
  error_prefix (&err, "refused");
  is_int (error_errno (err), ENOENT, "the errno is kept");
  is_str (error_message (err), "refused: /data: open '/srv/a; b'", "the message holds the context, not the cause");
  is_str (error_hint_text (err), "create it; or correct the mount's source", "the fixes are kept apart, in order");
  summary = error_summary (err);
  is_str (summary, "refused: /data: open '/srv/a; b': No such file or directory", "the summary adds the cause");
  line = error_string (err);
  is_str (line, "refused: /data: open '/srv/a; b': No such file or directory; create it; or correct the mount's source",
          "the whole line adds the fix");
  error_free (&err);
  ok (err == NULL, "error_free clears the pointer");

  make_error (&err, 0, "no cause");
  ok (error_errno (err) == 0 && error_hint_text (err) == NULL, "no errno and no fix unless given");
  free (line);
  line = error_string (err);
  is_str (line, "no cause", "without a cause or a fix the line is the message");
  make_error (&err, EPERM, "replaced");
  is_str (error_message (err), "replaced", "make_error on a filled error replaces it");
  error_free (&err);
  ok (error_prefix (&err, "x") == -1 && error_hint (&err, "y") == -1 && err == NULL,
      "context and fix on no error do nothing");
}

/* error_report prints one escaped line on stderr and frees the error. */
static void
test_report (void)
{
  hook_error_t *err = NULL;
  char buf[512] = "";
  FILE *f = tmpfile ();
  int saved = dup (STDERR_FILENO);
  ssize_t n;

  if (f == NULL || saved < 0)
    abort ();
  make_error (&err, EACCES, "open '%s'", "/srv/x\ny");
  error_hint (&err, "chmod it");
  dup2 (fileno (f), STDERR_FILENO);
  error_report (&err);
  dup2 (saved, STDERR_FILENO);
  close (saved);
  n = pread (fileno (f), buf, sizeof buf - 1, 0);
  fclose (f);
  ok (n > 0, "error_report wrote something");
  is_str (buf, "oci-idmap-hook: open '/srv/x\\x0ay': Permission denied; chmod it\n",
          "one line: program, message, cause, fix, control bytes escaped");
  ok (err == NULL, "and freed the error");
  error_report (&err);
  ok (true, "error_report on no error does nothing");
}

int
main (void)
{
  test_fields ();
  test_report ();
  return done_testing ();
}
