#define _GNU_SOURCE
#include "path.h"
#include "cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
normalize_dest (const char *path, char **out, hook_error_t **err)
{
  size_t len = strlen (path);
  cleanup_free char *norm = malloc (len + 2);
  size_t o = 0;
  const char *p = path;

  if (norm == NULL)
    return make_error (err, ENOMEM, "normalize %s", path);
  if (path[0] != '/')
    return make_error (err, 0, "\"%s\" is not an absolute container path", path);
  while (*p)
    {
      const char *seg;
      size_t n;
      while (*p == '/')
        p++;
      seg = p;
      while (*p && *p != '/')
        p++;
      n = (size_t) (p - seg);
      if (n == 0 || (n == 1 && seg[0] == '.'))
        continue;
      if (n == 2 && seg[0] == '.' && seg[1] == '.')
        return make_error (err, 0, "\"%s\" contains \"..\"", path);
      norm[o++] = '/';
      memcpy (norm + o, seg, n);
      o += n;
    }
  if (o == 0)
    norm[o++] = '/';
  norm[o] = '\0';
  *out = steal_pointer (&norm);
  return 0;
}

bool
path_is_under (const char *path, const char *root)
{
  size_t n = strlen (root);
  if (strcmp (root, "/") == 0)
    return path[0] == '/';
  return strncmp (path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}
