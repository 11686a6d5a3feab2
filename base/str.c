#define _GNU_SOURCE
#include "str.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
str_printf (char **out, hook_error_t **err, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vasprintf (out, fmt, ap);
  va_end (ap);
  if (n >= 0)
    return 0;
  *out = NULL;
  return make_error (err, ENOMEM, "allocate a string");
}

int
str_dup (char **out, const char *s, hook_error_t **err)
{
  *out = strdup (s);
  if (*out == NULL)
    return make_error (err, ENOMEM, "allocate a string");
  return 0;
}

void *
str_reserve (void *buf, size_t len, size_t *cap, size_t need)
{
  if (len + need <= *cap)
    return buf;
  size_t bigger = (*cap + need) * 2;
  void *p = realloc (buf, bigger);
  if (p != NULL)
    *cap = bigger;
  return p;
}
