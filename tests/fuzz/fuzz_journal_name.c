/* journal_file_name: a container id and a destination (split at the first
 * NUL), whose escaped bytes take three each.  The name must hold exactly
 * the escaped bytes, and unescape back to both parts. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "hook/chown/journal.h"

#include <stdio.h>

static size_t
unescape (const char *s, size_t n, char *out)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i++)
    {
      unsigned int b;
      if (s[i] == '%' && i + 2 < n && sscanf (s + i + 1, "%2X", &b) == 1)
        {
          out[o++] = (char) b;
          i += 2;
        }
      else
        out[o++] = s[i];
    }
  out[o] = '\0';
  return o;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *in = fuzz_string (data, size);
  const char *container = in, *dest = in + strlen (in) + (strlen (in) < size);
  char *name = journal_file_name (container, dest), *at, *back;

  if (name == NULL)
    abort ();
  at = strchr (name, '@');
  if (at == NULL || strlen (name) < sizeof ".journal" || strcmp (name + strlen (name) - 8, ".journal") != 0)
    abort ();
  back = malloc (strlen (name) + 1);
  if (back == NULL)
    abort ();
  if (unescape (name, (size_t) (at - name), back) != strlen (container) || strcmp (back, container) != 0)
    abort ();
  if (unescape (at + 1, strlen (at + 1) - 8, back) != strlen (dest) || strcmp (back, dest) != 0)
    abort ();
  free (back);
  free (name);
  free (in);
  return 0;
}
