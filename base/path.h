/* Lexical path helpers: no system call, nothing resolved.  Container paths
 * are compared as the text the engine gave, never looked up on the host. */
#ifndef HOOK_PATH_H
#define HOOK_PATH_H

#include "error.h"

#include <stdbool.h>

/* Normalise an absolute container path lexically: collapse "//" and "/./",
 * drop a trailing '/', refuse ".." and relative paths.  Returns a malloc'd string. */
int normalize_dest (const char *path, char **out, hook_error_t **err);

/* PATH (normalised, absolute) is ROOT or below it. */
bool path_is_under (const char *path, const char *root);

#endif
