/* Strings that are allocated or fail: an allocation failure is an ENOMEM
 * error like any other (CONTRIBUTING.md, Conventions), never an abort or a
 * silent fallback. */
#ifndef HOOK_STR_H
#define HOOK_STR_H

#include "error.h"

#include <stddef.h>

/* *OUT = malloc'd FMT applied to the arguments; 0, or -1 with ENOMEM in *ERR
 * (and *OUT NULL). */
int str_printf (char **out, hook_error_t **err, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

/* *OUT = a malloc'd copy of S; 0, or -1 with ENOMEM in *ERR. */
int str_dup (char **out, const char *s, hook_error_t **err);

/* BUF (LEN bytes used of *CAP) with room for NEED more: BUF itself, or
 * BUF moved and *CAP grown (doubling); NULL when memory runs out (BUF is
 * kept, still to be freed). */
void *str_reserve (void *buf, size_t len, size_t *cap, size_t need);

#endif
