#define _GNU_SOURCE
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hook_error
{
  int errnum;
  char *msg;  /* "CONTEXT: what" */
  char *hint; /* NULL, or "fix; fix" */
};

const char *program_name = "oci-idmap-hook";

/* The error machinery is the one place that aborts when memory runs out:
 * it is how every other failure is reported, so it has nowhere to report
 * its own (CONTRIBUTING.md, Conventions). */
static char *vformat (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  return s;
}

static char *format (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static char *
format (const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start (ap, fmt);
  s = vformat (fmt, ap);
  va_end (ap);
  return s;
}

int
make_error (hook_error_t **err, int errnum, const char *fmt, ...)
{
  va_list ap;
  hook_error_t *e = calloc (1, sizeof *e);

  if (e == NULL)
    abort ();
  va_start (ap, fmt);
  e->msg = vformat (fmt, ap);
  va_end (ap);
  e->errnum = errnum;
  error_free (err);
  *err = e;
  return -1;
}

int
error_prefix (hook_error_t **err, const char *fmt, ...)
{
  va_list ap;
  char *context, *joined;

  if (*err == NULL)
    return -1;
  va_start (ap, fmt);
  context = vformat (fmt, ap);
  va_end (ap);
  joined = format ("%s: %s", context, (*err)->msg);
  free (context);
  free ((*err)->msg);
  (*err)->msg = joined;
  return -1;
}

int
error_hint (hook_error_t **err, const char *fmt, ...)
{
  va_list ap;
  char *fix, *joined;

  if (*err == NULL)
    return -1;
  va_start (ap, fmt);
  fix = vformat (fmt, ap);
  va_end (ap);
  if ((*err)->hint == NULL)
    {
      (*err)->hint = fix;
      return -1;
    }
  joined = format ("%s; %s", (*err)->hint, fix);
  free (fix);
  free ((*err)->hint);
  (*err)->hint = joined;
  return -1;
}

void
error_free (hook_error_t **err)
{
  if (*err == NULL)
    return;
  free ((*err)->msg);
  free ((*err)->hint);
  free (*err);
  *err = NULL;
}

int
error_errno (const hook_error_t *err)
{
  return err->errnum;
}

const char *
error_message (const hook_error_t *err)
{
  return err->msg;
}

const char *
error_hint_text (const hook_error_t *err)
{
  return err->hint;
}

char *
error_summary (const hook_error_t *err)
{
  if (err->errnum == 0)
    return format ("%s", err->msg);
  return format ("%s: %s", err->msg, strerror (err->errnum));
}

char *
error_string (const hook_error_t *err)
{
  char *what = error_summary (err), *line;

  if (err->hint == NULL)
    return what;
  line = format ("%s; %s", what, err->hint);
  free (what);
  return line;
}
