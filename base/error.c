#define _GNU_SOURCE
#include "error.h"
#include "cleanup.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

const char *program_name = "oci-idmap-hook";

static char *vformat (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    return NULL;
  return s;
}

int
make_error (hook_error_t **err, int errnum, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *msg = NULL;
  hook_error_t *e;

  va_start (ap, fmt);
  msg = vformat (fmt, ap);
  va_end (ap);

  e = calloc (1, sizeof *e);
  if (e == NULL)
    abort ();
  e->errnum = errnum;
  if (errnum != 0)
    {
      if (asprintf (&e->msg, "%s: %s", msg ? msg : "error", strerror (errnum)) < 0)
        abort ();
    }
  else
    e->msg = msg ? steal_pointer (&msg) : strdup ("error");
  if (e->msg == NULL)
    abort ();
  error_free (err);
  *err = e;
  return -1;
}

/* Replace the message with FMT applied to AP, where FMT has one %s for the old one. */
static int error_rewrite (hook_error_t **err, int prepend, const char *fmt, va_list ap)
    __attribute__ ((format (printf, 3, 0)));

static int
error_rewrite (hook_error_t **err, int prepend, const char *fmt, va_list ap)
{
  cleanup_free char *extra = vformat (fmt, ap);
  char *joined = NULL;

  if (*err == NULL || extra == NULL)
    return -1;
  if (asprintf (&joined, prepend ? "%2$s: %1$s" : "%1$s; %2$s", (*err)->msg, extra) < 0)
    abort ();
  free ((*err)->msg);
  (*err)->msg = joined;
  return -1;
}

int
error_prefix (hook_error_t **err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  error_rewrite (err, 1, fmt, ap);
  va_end (ap);
  return -1;
}

int
error_hint (hook_error_t **err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  error_rewrite (err, 0, fmt, ap);
  va_end (ap);
  return -1;
}

void
error_free (hook_error_t **err)
{
  if (*err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

void
error_report (hook_error_t **err)
{
  if (*err == NULL)
    return;
  /* log_line escapes it: a newline or a terminal escape from the input
   * stays inside the one line a runtime shows, as \xNN. */
  log_line ((*err)->msg);
  error_free (err);
}
